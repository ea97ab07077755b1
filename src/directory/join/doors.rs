//! The public side of the four doors: what a link or a tenant offers, registering through each
//! door (one transaction each), and the outcome of an access request.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{digest, email_domain, new_token, Applicant, Form, Outcome};
use crate::db::join::{self as store, Link, Request};
use crate::db::tenants::Tenant;
use crate::db::{events, Conn};
use crate::directory::write::{self, Registration};
use crate::directory::{db_precision, TenantProfile};
use crate::error::{ScimError, ScimResult};
use crate::events::NewEvent;
use crate::scim::resource::fold_key;

/// The one refusal of a pre-stored registration: it says neither which value differed nor
/// whether the personnel number exists.
pub const NO_MATCH: &str =
    "these details do not match a registration stored by your organization: check first \
     name, last name and personnel number exactly as your organization has them, or ask your administrator";

/// The link kinds, as the join API names them.
fn door_of(kind: &str) -> &'static str {
    match kind {
        "access" => "access_link",
        "email" => "email_invitation",
        _ => "invitation_link",
    }
}

/// What a registrant sees before registering: the tenant, the door, what to fill in.
pub async fn offer(
    conn: &mut Conn,
    tenant: &Tenant,
    link: Option<&Link>,
    now: DateTime<Utc>,
) -> ScimResult<Value> {
    let settings = store::settings(conn, tenant.id, now).await?;
    let categories = editable_categories(conn, tenant.id).await?;
    let mut body = json!({
        "tenant": {"slug": tenant.slug, "displayName": tenant.name},
        "categories": categories,
    });
    match link {
        Some(link) => {
            body["door"] = json!(door_of(&link.kind));
            let required = if link.kind == "tenant" || link.email.is_some() {
                json!(["givenName", "familyName", "email"])
            } else {
                json!(["givenName", "familyName", ["email", "userName"]])
            };
            body["required"] = required;
            if let Some(email) = &link.email {
                body["email"] = json!(email);
            }
            if link.kind == "tenant" {
                body["allowedDomains"] = json!(settings.allowed_domains);
            }
            body["expiresAt"] = json!(link.expires_at);
        }
        None => {
            body["doors"] = json!({
                "prestored": {
                    "open": true,
                    "required": ["givenName", "familyName", "personalNumber", ["email", "userName"]],
                },
                "requests": {
                    "open": settings.requests_enabled,
                    "required": ["givenName", "familyName", ["email", "userName"]],
                },
            });
        }
    }
    Ok(body)
}

async fn editable_categories(conn: &mut Conn, tenant: Uuid) -> ScimResult<Vec<Value>> {
    let names = store::self_editable(conn, tenant).await?;
    let all = crate::db::categories::list(conn, tenant).await?;
    Ok(all
        .into_iter()
        .filter(|c| names.contains(&c.name))
        .map(|c| {
            json!({
                "name": c.name,
                "displayName": c.display_name,
                "kind": c.kind,
                "allowedValues": c.allowed_values.into_iter().flatten().collect::<Vec<_>>(),
            })
        })
        .collect())
}

/// The live link of `token` in the tenant: 404 when it was never issued here, 410 when it was
/// used, revoked, rotated, switched off or has expired (its holder learns only about the link).
pub async fn live_link(conn: &mut Conn, tenant: Uuid, token: &str, now: DateTime<Utc>) -> ScimResult<Link> {
    let link = store::link_by_hash(conn, tenant, &digest(token)).await?.ok_or_else(|| {
        ScimError::not_found("this link is not valid here: check that it was copied completely")
    })?;
    let gone = |why: &str| {
        Err(ScimError::with_status(410, format!("this link {why}; ask your administrator for a new one")))
    };
    if link.revoked_at.is_some() {
        return gone("was withdrawn");
    }
    if link.used_at.is_some() {
        return gone("was already used (each link works once)");
    }
    if link.expires_at.is_some_and(|e| e <= now) {
        return gone("has expired");
    }
    if link.kind == "tenant" && !store::settings(conn, tenant, now).await?.invitation_link_enabled {
        return gone("is switched off");
    }
    Ok(link)
}

/// Register through a link (access link, email invitation or the tenant invitation link).
pub async fn register_with_link(
    conn: &mut Conn,
    profile: &TenantProfile,
    token: &str,
    form: Form,
    now: DateTime<Utc>,
) -> ScimResult<Outcome> {
    let now = db_precision(now);
    let token = token.to_string();
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let link = live_link(conn, profile.id, &token, now).await?;
        let editable = store::self_editable(conn, profile.id).await?;
        let mut form = form;
        if form.email.is_none() {
            form.email.clone_from(&link.email);
        }
        let applicant = Applicant::parse(form, &profile.registry, &editable)?;
        if let (Some(bound), Some(given)) = (&link.email, &applicant.email) {
            if fold_key(given) != fold_key(bound) {
                return Ok(Outcome::Refused {
                    reason:
                        "this link is for another email address; register with the address it was sent to"
                            .into(),
                });
            }
        }
        if link.kind == "tenant" {
            let settings = store::settings(conn, profile.id, now).await?;
            let Some(email) = &applicant.email else {
                return Err(ScimError::invalid_value(
                    "email is required when registering through the invitation link",
                ));
            };
            let domain = email_domain(email);
            if !settings.allowed_domains.iter().flatten().any(|d| *d == domain) {
                let allowed: Vec<String> = settings.allowed_domains.into_iter().flatten().collect();
                return Ok(Outcome::Refused {
                    reason: format!(
                        "this invitation link admits only addresses at {}; use such an address or ask your \
                         administrator for a personal link",
                        if allowed.is_empty() { "no domain yet".to_string() } else { allowed.join(", ") }
                    ),
                });
            }
        } else if !store::claim_link(conn, profile.id, link.id, now).await? {
            // A concurrent registration claimed it between our read and our update.
            return Err(ScimError::with_status(
                410,
                "this link was already used (each link works once); ask your administrator for a new one",
            ));
        }
        let reg = Registration {
            resource: applicant.resource(&Map::new()),
            personal_id: None,
            groups: link.groups.iter().flatten().copied().collect(),
            door: door_of(&link.kind),
        };
        let done = write::register(conn, profile, &reg, now).await?;
        if link.kind != "tenant" {
            store::set_link_member(conn, profile.id, link.id, done.member()).await?;
        }
        Ok(Outcome::Joined)
    })
    .await
}

/// Register against a pre-stored registration: exactly matching names and personnel number.
pub async fn register_prestored(
    conn: &mut Conn,
    profile: &TenantProfile,
    form: Form,
    now: DateTime<Utc>,
) -> ScimResult<Outcome> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let editable = store::self_editable(conn, profile.id).await?;
        let applicant = Applicant::parse(form, &profile.registry, &editable)?;
        let personal = applicant.personal_number.clone().ok_or_else(|| {
            ScimError::invalid_value("personalNumber is required for a pre-stored registration")
        })?;
        let keys = (fold_key(&applicant.given_name), fold_key(&applicant.family_name), fold_key(&personal));
        let Some(record) = store::claim_prestored(conn, profile.id, (&keys.0, &keys.1, &keys.2), now).await?
        else {
            return Ok(Outcome::Refused { reason: NO_MATCH.into() });
        };
        let stored = record.categories.as_object().cloned().unwrap_or_default();
        let reg = Registration {
            resource: applicant.resource(&stored),
            personal_id: Some(record.personal_id.clone()),
            groups: record.groups.iter().flatten().copied().collect(),
            door: "prestored",
        };
        let done = write::register(conn, profile, &reg, now).await?;
        store::set_prestored_member(conn, profile.id, record.id, done.member()).await?;
        Ok(Outcome::Joined)
    })
    .await
}

/// Request access: stored as pending (with `access_request.created`), answered with a ticket.
pub async fn request_access(
    conn: &mut Conn,
    profile: &TenantProfile,
    form: Form,
    now: DateTime<Utc>,
) -> ScimResult<Outcome> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async move |conn| {
        if !store::settings(conn, profile.id, now).await?.requests_enabled {
            return Err(ScimError::forbidden(
                "this organization does not take access requests; ask your administrator for a link",
            ));
        }
        let editable = store::self_editable(conn, profile.id).await?;
        let applicant = Applicant::parse(form, &profile.registry, &editable)?;
        let ticket = new_token();
        let request = Request {
            tenant_id: profile.id,
            id: Uuid::now_v7(),
            ticket_hash: digest(&ticket),
            email: applicant.email.clone(),
            user_name: applicant.user_name.clone(),
            display_name: Some(format!("{} {}", applicant.given_name, applicant.family_name)),
            registration: serde_json::to_value(&applicant).map_err(ScimError::internal)?,
            state: "pending".into(),
            reason: None,
            created_at: now,
            decided_at: None,
            member_id: None,
        };
        store::insert_request(conn, &request).await?;
        events::insert(conn, profile.id, &[NewEvent::access_request_created(request.id)], now).await?;
        Ok(Outcome::Pending { ticket: Some(ticket) })
    })
    .await
}

/// The outcome of the access request a ticket was issued for.
pub async fn request_outcome(conn: &mut Conn, tenant: Uuid, ticket: &str) -> ScimResult<Outcome> {
    let request = store::request_by_ticket(conn, tenant, &digest(ticket))
        .await?
        .ok_or_else(|| ScimError::not_found("no access request with this ticket here"))?;
    Ok(match request.state.as_str() {
        "approved" => Outcome::Joined,
        "denied" => Outcome::Refused {
            reason: request.reason.unwrap_or_else(|| "an administrator denied the request".into()),
        },
        _ => Outcome::Pending { ticket: None },
    })
}
