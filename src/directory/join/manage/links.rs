//! Join settings (invitation link on/off, allowed domains, access requests on/off, self-editable
//! categories), the tenant invitation link, single-use access links and email invitations.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{checked_groups, MAX_EXPIRY_DAYS, MAX_INVITATIONS, MAX_LIST};
use crate::db::join::{self as store, Link};
use crate::db::Conn;
use crate::directory::join::{digest, new_token, well_formed_email, MAX_EMAIL, MAX_NAME};
use crate::directory::{db_precision, TenantProfile};
use crate::error::{ScimError, ScimResult};
use crate::scim::resource::fold_key;

/// A change to the join settings (absent fields stay).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SettingsChange {
    /// Whether the tenant invitation link admits registrations.
    pub invitation_link_enabled: Option<bool>,
    /// Email domains the invitation link admits (replaces the list).
    pub allowed_domains: Option<Vec<String>>,
    /// Whether anyone may request access.
    pub requests_enabled: Option<bool>,
    /// Names of the categories registrants fill in themselves (replaces the set).
    pub self_editable_categories: Option<Vec<String>>,
}

/// A domain as stored: trimmed, lower-cased, without a leading `@`; 400 when it is not one.
pub fn domain(raw: &str) -> ScimResult<String> {
    let d = raw.trim().trim_start_matches('@').to_lowercase();
    let ok = d.len() <= 253
        && d.contains('.')
        && !d.starts_with(['.', '-'])
        && !d.ends_with(['.', '-'])
        && !d.contains("..")
        && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(d)
    } else {
        Err(ScimError::invalid_value(format!(
            "allowedDomains: {} is not a domain such as example.com",
            crate::text::quote(&crate::text::truncate(raw, 100))
        )))
    }
}

/// The settings as the admin API shows them.
pub async fn settings_view(conn: &mut Conn, tenant: Uuid, now: DateTime<Utc>) -> ScimResult<Value> {
    let s = store::settings(conn, tenant, now).await?;
    let live = store::links(conn, tenant, &["tenant"], 1).await?;
    let link = live.into_iter().find(|l| l.revoked_at.is_none());
    Ok(json!({
        "invitationLinkEnabled": s.invitation_link_enabled,
        "invitationLinkIssued": link.is_some(),
        "invitationLinkCreatedAt": link.map(|l| l.created_at),
        "allowedDomains": s.allowed_domains.into_iter().flatten().collect::<Vec<_>>(),
        "requestsEnabled": s.requests_enabled,
        "selfEditableCategories": store::self_editable(conn, tenant).await?,
    }))
}

/// Change the settings; answers them as [`settings_view`] does.
pub async fn update_settings(
    conn: &mut Conn,
    profile: &TenantProfile,
    change: SettingsChange,
    now: DateTime<Utc>,
) -> ScimResult<Value> {
    let now = db_precision(now);
    let domains = match change.allowed_domains {
        Some(list) if list.len() > 100 => {
            return Err(ScimError::invalid_value("allowedDomains: at most 100 domains"));
        }
        Some(list) => {
            let mut ds = list.iter().map(|d| domain(d)).collect::<ScimResult<Vec<_>>>()?;
            ds.sort();
            ds.dedup();
            Some(ds)
        }
        None => None,
    };
    let editable = match change.self_editable_categories {
        Some(names) => {
            let known = profile.registry.categories();
            let mut keys = Vec::new();
            for name in &names {
                let key = fold_key(name);
                if !known.iter().any(|c| fold_key(&c.name) == key) {
                    return Err(ScimError::invalid_value(format!(
                        "selfEditableCategories: the tenant has no category {} (see GET .../categories)",
                        crate::text::quote(&crate::text::truncate(name, 100))
                    )));
                }
                keys.push(key);
            }
            Some(keys)
        }
        None => None,
    };
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let mut s = store::settings(conn, profile.id, now).await?;
        if let Some(on) = change.invitation_link_enabled {
            s.invitation_link_enabled = on;
        }
        if let Some(ds) = domains {
            s.allowed_domains = ds.into_iter().map(Some).collect();
        }
        if let Some(on) = change.requests_enabled {
            s.requests_enabled = on;
        }
        s.updated_at = now;
        store::save_settings(conn, &s).await?;
        if let Some(keys) = editable {
            store::set_self_editable(conn, profile.id, &keys).await?;
        }
        settings_view(conn, profile.id, now).await
    })
    .await
}

/// Issue a new tenant invitation link (revoking the previous one): the token, shown only now.
pub async fn rotate_invitation_link(
    conn: &mut Conn,
    tenant: Uuid,
    now: DateTime<Utc>,
) -> ScimResult<(Link, String)> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async move |conn| {
        store::revoke_tenant_link(conn, tenant, now).await?;
        let draft = NewLink::default();
        insert(conn, tenant, "tenant", &draft, None, now).await
    })
    .await
}

/// A new access link or email invitation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewLink {
    /// Who it is for (a label the admin reads).
    pub person: Option<String>,
    /// The only address that may register through it.
    pub email: Option<String>,
    /// Days until it stops working (none: never).
    pub expires_in_days: Option<u32>,
    /// Groups the member joins.
    #[serde(default)]
    pub groups: Vec<Uuid>,
}

fn checked_email(raw: &str) -> ScimResult<String> {
    let e = raw.trim();
    if e.chars().count() > MAX_EMAIL || !well_formed_email(e) || e.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(format!(
            "{} is not an email address (name@example.com)",
            crate::text::quote(&crate::text::truncate(raw, 100))
        )));
    }
    Ok(e.to_string())
}

async fn insert(
    conn: &mut Conn,
    tenant: Uuid,
    kind: &str,
    draft: &NewLink,
    email: Option<String>,
    now: DateTime<Utc>,
) -> ScimResult<(Link, String)> {
    let person = draft.person.as_deref().map(str::trim).filter(|p| !p.is_empty());
    if person.is_some_and(|p| p.chars().count() > MAX_NAME || p.chars().any(char::is_control)) {
        return Err(ScimError::invalid_value(format!(
            "person: at most {MAX_NAME} characters, no control characters"
        )));
    }
    let expires_at = match draft.expires_in_days {
        Some(d) if d == 0 || d > MAX_EXPIRY_DAYS => {
            return Err(ScimError::invalid_value(format!(
                "expiresInDays must be between 1 and {MAX_EXPIRY_DAYS}"
            )));
        }
        Some(d) => Some(now + chrono::Duration::days(i64::from(d))),
        None => None,
    };
    let token = new_token();
    let link = Link {
        tenant_id: tenant,
        id: Uuid::now_v7(),
        kind: kind.into(),
        token_hash: digest(&token),
        person: person.map(str::to_string),
        email,
        groups: checked_groups(conn, tenant, &draft.groups).await?,
        created_at: now,
        expires_at,
        revoked_at: None,
        used_at: None,
        member_id: None,
    };
    store::insert_link(conn, &link).await?;
    Ok((link, token))
}

/// Create a single-use access link, for a person (a label) or an email address.
pub async fn create_link(
    conn: &mut Conn,
    tenant: Uuid,
    draft: NewLink,
    now: DateTime<Utc>,
) -> ScimResult<(Link, String)> {
    let now = db_precision(now);
    let email = draft.email.as_deref().map(checked_email).transpose()?;
    if email.is_none() && draft.person.as_deref().is_none_or(|p| p.trim().is_empty()) {
        return Err(ScimError::invalid_value(
            "name the person (`person`) or the email (`email`) the link is for",
        ));
    }
    conn.transaction::<_, ScimError, _>(async move |conn| {
        insert(conn, tenant, "access", &draft, email, now).await
    })
    .await
}

/// Email invitations to send.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewInvitations {
    /// Addresses to invite.
    pub emails: Vec<String>,
    /// Days until the invitations stop working.
    pub expires_in_days: Option<u32>,
    /// Groups the members join.
    #[serde(default)]
    pub groups: Vec<Uuid>,
}

/// Create one single-use invitation per address (in one transaction); the tokens, shown only now.
pub async fn invite(
    conn: &mut Conn,
    tenant: Uuid,
    new: NewInvitations,
    now: DateTime<Utc>,
) -> ScimResult<Vec<(Link, String)>> {
    let now = db_precision(now);
    if new.emails.is_empty() || new.emails.len() > MAX_INVITATIONS {
        return Err(ScimError::invalid_value(format!("emails: between 1 and {MAX_INVITATIONS} addresses")));
    }
    let emails = new.emails.iter().map(|e| checked_email(e)).collect::<ScimResult<Vec<_>>>()?;
    let draft =
        NewLink { person: None, email: None, expires_in_days: new.expires_in_days, groups: new.groups };
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let mut out = Vec::with_capacity(emails.len());
        for email in emails {
            out.push(insert(conn, tenant, "email", &draft, Some(email), now).await?);
        }
        Ok(out)
    })
    .await
}

/// The state of a link: `revoked`, `used`, `expired` or `unused` (for invitations the admin API
/// says `joined` for used and `pending` for unused).
pub fn link_state(link: &Link, now: DateTime<Utc>) -> &'static str {
    if link.revoked_at.is_some() {
        "revoked"
    } else if link.used_at.is_some() {
        "used"
    } else if link.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "unused"
    }
}

/// The state of a link as people read it: an email invitation is `pending` while unused and
/// `joined` once used; other links say [`link_state`].
pub fn shown_state(link: &Link, now: DateTime<Utc>) -> &'static str {
    match (link.kind.as_str(), link_state(link, now)) {
        ("email", "unused") => "pending",
        ("email", "used") => "joined",
        (_, s) => s,
    }
}

/// Links of some kinds, optionally only those in `state` (see [`link_state`]).
pub async fn list_links(
    conn: &mut Conn,
    tenant: Uuid,
    kinds: &[&str],
    state: Option<&str>,
    now: DateTime<Utc>,
) -> ScimResult<Vec<Link>> {
    let all = store::links(conn, tenant, kinds, MAX_LIST).await?;
    Ok(all.into_iter().filter(|l| state.is_none_or(|s| link_state(l, now) == s)).collect())
}

/// Revoke a link of some kinds (404 when there is no live one).
pub async fn revoke(
    conn: &mut Conn,
    tenant: Uuid,
    id: Uuid,
    kinds: &[&str],
    now: DateTime<Utc>,
) -> ScimResult<()> {
    if store::revoke_link(conn, tenant, id, kinds, db_precision(now)).await? {
        Ok(())
    } else {
        Err(ScimError::not_found(format!("no unrevoked link {id} in this tenant")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_or_refused() {
        assert_eq!(domain(" @Example.COM ").unwrap(), "example.com");
        assert_eq!(domain("sub.example-shop.no").unwrap(), "sub.example-shop.no");
        for bad in ["localhost", "exa mple.com", ".example.com", "example..com", "ex@mple.com", "-x.com", ""]
        {
            assert_eq!(domain(bad).unwrap_err().status(), 400, "{bad:?}");
        }
    }

    #[test]
    fn link_states() {
        let now = Utc::now();
        let mut link = Link {
            tenant_id: Uuid::nil(),
            id: Uuid::nil(),
            kind: "access".into(),
            token_hash: vec![0; 32],
            person: None,
            email: None,
            groups: Vec::new(),
            created_at: now,
            expires_at: Some(now + chrono::Duration::days(1)),
            revoked_at: None,
            used_at: None,
            member_id: None,
        };
        assert_eq!(link_state(&link, now), "unused");
        assert_eq!(link_state(&link, now + chrono::Duration::days(1)), "expired");
        link.used_at = Some(now);
        assert_eq!(link_state(&link, now), "used");
        link.revoked_at = Some(now);
        assert_eq!(link_state(&link, now), "revoked", "revocation wins");
    }
}
