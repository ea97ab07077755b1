//! Members without an IdP (issue #12, DESIGN §2): the four doors of the join API and their
//! admin side. Every door ends in [`super::write::register`], the same member write as SCIM and
//! import.
//!
//! * **Pre-stored registrations**: the admin stores first name, last name and personnel number
//!   (plus groups and category values). A registration with the same three values — compared
//!   after trimming surrounding whitespace and lower-casing ([`crate::scim::resource::fold_key`]);
//!   nothing else is forgiven: inner spaces, accents and punctuation must match — plus the
//!   person's own email or a username joins at once; anything else is refused with one reason
//!   that does not say which value differed or whether the personnel number exists.
//! * **Access links** (single use, for a person or an email, optional expiry) and **email
//!   invitations** (one single-use link per address, bound to it): pending until used, joined after.
//! * **The tenant invitation link**: reusable, on/off, rotatable; admits only emails of the
//!   tenant's allowed domains.
//! * **Access requests**: pending until an admin approves (the member is written then) or denies
//!   with a reason; the registrant polls the outcome with the ticket it was given.
//!
//! Abuse resistance: tokens and tickets are 256 random bits, URL-safe base64, stored only as
//! SHA-256 digests (a digest lookup is an index equality, so no timing reveals a near match).
//! Single use is a conditional update ([`crate::db::join::claim_link`]). No answer depends on
//! whether an email, username or personnel number already belongs to a member: a registration
//! whose identity is taken answers exactly like a new member's (`joined`, same body), writes
//! nothing, and still uses up a single-use link; an access request from an existing member is
//! stored and answered `pending` like any other.

pub mod doors;
pub mod manage;

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{ScimError, ScimResult};
use crate::scim::resource::fold_key;
use crate::scim::schema::{Registry, ROSTER_USER_SCHEMA};

/// Longest first or last name, username or personnel number a registration may hold.
pub const MAX_NAME: usize = 200;
/// Longest email address (RFC 5321's path limit, rounded up).
pub const MAX_EMAIL: usize = 320;

/// A new random token (256 bits, URL-safe base64 without padding, 43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored digest of a token or ticket.
pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// What a registrant learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// They are a member now (or already were: the answer is the same).
    Joined,
    /// An admin decides; poll with the ticket (shown only in the answer to the request itself).
    Pending {
        /// The ticket, when just issued.
        ticket: Option<String>,
    },
    /// Refused, with a reason a person can act on.
    Refused {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// The answer body: `{"outcome": "joined" | "pending" | "refused", ...}`.
    pub fn body(&self) -> Value {
        match self {
            Outcome::Joined => json!({
                "outcome": "joined",
                "detail": "You are a member now: sign in with your email address or username."
            }),
            Outcome::Pending { ticket } => {
                let mut body = json!({
                    "outcome": "pending",
                    "detail": "Your request waits for an administrator's approval."
                });
                if let Some(t) = ticket {
                    body["ticket"] = json!(t);
                }
                body
            }
            Outcome::Refused { reason } => json!({"outcome": "refused", "reason": reason}),
        }
    }
}

/// A registration as sent to the join API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Form {
    /// First name.
    pub given_name: Option<String>,
    /// Last name.
    pub family_name: Option<String>,
    /// The person's own email address.
    pub email: Option<String>,
    /// A username, for people without an email address.
    pub user_name: Option<String>,
    /// Personnel number (pre-stored registrations).
    pub personal_number: Option<String>,
    /// Values of the tenant's self-editable categories, `{name: value}`.
    #[serde(default)]
    pub categories: Map<String, Value>,
}

/// A registration checked at the boundary: trimmed, bounded, its email well formed, its
/// categories the tenant's self-editable ones with values they accept. Kept as JSON in a pending
/// access request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applicant {
    /// First name (trimmed).
    pub given_name: String,
    /// Last name (trimmed).
    pub family_name: String,
    /// Email (trimmed), if given.
    pub email: Option<String>,
    /// Username: the one given, else the email.
    pub user_name: String,
    /// Personnel number (trimmed), if given.
    pub personal_number: Option<String>,
    /// Category values as stored.
    pub categories: Map<String, Value>,
}

fn field(name: &str, value: Option<String>, max: usize) -> ScimResult<Option<String>> {
    let Some(value) = value else { return Ok(None) };
    let trimmed = value.trim();
    if trimmed.chars().count() > max {
        return Err(ScimError::invalid_value(format!("{name} is longer than {max} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(format!("{name} contains a control character")));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_string()))
}

fn required(name: &str, value: Option<String>) -> ScimResult<String> {
    field(name, value, MAX_NAME)?.ok_or_else(|| ScimError::invalid_value(format!("{name} is required")))
}

/// Whether `email` looks like an address: one `@`, a local part, a dotted domain, no spaces.
pub fn well_formed_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// The lower-cased domain of an address.
pub fn email_domain(email: &str) -> String {
    email.rsplit_once('@').map(|(_, d)| d.to_lowercase()).unwrap_or_default()
}

impl Applicant {
    /// Check a form against the tenant's self-editable categories (`editable`, by name).
    pub fn parse(form: Form, registry: &Registry, editable: &[String]) -> ScimResult<Applicant> {
        let given_name = required("givenName", form.given_name)?;
        let family_name = required("familyName", form.family_name)?;
        let email = field("email", form.email, MAX_EMAIL)?;
        if let Some(e) = &email {
            if !well_formed_email(e) {
                return Err(ScimError::invalid_value("email is not an email address (name@example.com)"));
            }
        }
        let user_name = field("userName", form.user_name, MAX_NAME)?
            .or_else(|| email.clone())
            .ok_or_else(|| ScimError::invalid_value("email or userName is required"))?;
        let personal_number = field("personalNumber", form.personal_number, MAX_NAME)?;
        let mut categories = Map::new();
        for (name, value) in form.categories {
            let category = editable
                .iter()
                .any(|e| fold_key(e) == fold_key(&name))
                .then(|| registry.categories().iter().find(|c| fold_key(&c.name) == fold_key(&name)))
                .flatten()
                .ok_or_else(|| {
                    ScimError::invalid_value(format!(
                        "categories: {} is not a category members fill in themselves here",
                        crate::text::quote(&crate::text::truncate(&name, 100))
                    ))
                })?;
            if value.as_str().is_some_and(|s| s.chars().count() > MAX_NAME) {
                return Err(ScimError::invalid_value(format!(
                    "categories: the value of {} is longer than {MAX_NAME} characters",
                    category.name
                )));
            }
            categories.insert(category.name.clone(), category.check_value(&value)?);
        }
        Ok(Applicant { given_name, family_name, email, user_name, personal_number, categories })
    }

    /// The member's SCIM attributes, with `extra` category values (the door's) under the
    /// applicant's own.
    pub fn resource(&self, extra: &Map<String, Value>) -> Map<String, Value> {
        let full = format!("{} {}", self.given_name, self.family_name);
        let mut r = Map::new();
        r.insert("userName".into(), json!(self.user_name));
        r.insert(
            "name".into(),
            json!({"givenName": self.given_name, "familyName": self.family_name, "formatted": full}),
        );
        r.insert("displayName".into(), json!(full));
        if let Some(email) = &self.email {
            r.insert("emails".into(), json!([{"value": email, "type": "home", "primary": true}]));
        }
        r.insert("active".into(), json!(true));
        let mut ext = extra.clone();
        ext.extend(self.categories.clone());
        if !ext.is_empty() {
            r.insert(ROSTER_USER_SCHEMA.into(), Value::Object(ext));
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(v: Value) -> Form {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn tokens_are_long_url_safe_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{a}");
        assert_eq!(digest(&a).len(), 32);
    }

    #[test]
    fn applicants_are_trimmed_and_bounded() {
        let reg = Registry::standard();
        let a = Applicant::parse(
            form(json!({"givenName": " Ada ", "familyName": "Lovelace", "email": " ada@example.com "})),
            &reg,
            &[],
        )
        .unwrap();
        assert_eq!((a.given_name.as_str(), a.user_name.as_str()), ("Ada", "ada@example.com"));
        for bad in [
            json!({"givenName": "A", "familyName": "B"}),
            json!({"givenName": "", "familyName": "B", "email": "a@b.c"}),
            json!({"givenName": "A", "familyName": "B", "email": "not-an-address"}),
            json!({"givenName": "x".repeat(3000), "familyName": "B", "email": "a@b.c"}),
            json!({"givenName": "A\u{7}", "familyName": "B", "email": "a@b.c"}),
            json!({"givenName": "A", "familyName": "B", "email": "a@b.c", "categories": {"City": "Oslo"}}),
        ] {
            assert_eq!(Applicant::parse(form(bad.clone()), &reg, &[]).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn email_domains() {
        assert_eq!(email_domain("a@Example.COM"), "example.com");
        assert!(!well_formed_email("a@b"));
        assert!(!well_formed_email("a b@c.d"));
        assert!(well_formed_email("a.b+c@sub.example.org"));
    }
}
