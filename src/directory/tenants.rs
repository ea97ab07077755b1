//! Tenants, connections and connection tokens: the operator's side of the directory, used by
//! the CLI (and later the admin API).

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use uuid::Uuid;

use super::db_precision;
use crate::auth::SigningKey;
use crate::db::tenants::{self as store, Connection, Tenant, TokenRecord};
use crate::db::{unique_violation, Conn};

/// A freshly issued token: the record and the JWT, which is shown once and never stored.
#[derive(Debug)]
pub struct IssuedToken {
    /// What is stored.
    pub record: TokenRecord,
    /// The bearer token itself.
    pub token: String,
}

/// Why an operator command failed, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The database is unreachable, timed out or lost the connection: retry later.
    #[error("the database is unavailable: {0}")]
    Unavailable(anyhow::Error),
    /// Storage or signing failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        if crate::db::is_outage(&e) {
            AdminError::Unavailable(e.into())
        } else {
            AdminError::Internal(e.into())
        }
    }
}

/// Check a tenant slug: 1–63 characters of a-z, 0-9 and '-', starting with a letter or digit.
pub fn validate_slug(slug: &str) -> Result<(), AdminError> {
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "invalid tenant slug {slug:?}: use 1-63 characters a-z, 0-9 and '-', not starting with '-'"
        )))
    }
}

pub(crate) fn validate_name(what: &str, name: &str) -> Result<(), AdminError> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(AdminError::Invalid(format!("{what} name must be 1-200 characters")));
    }
    Ok(())
}

/// Create a tenant; `member_retention_days` (0–3650, default 30) is how long removed members
/// stay restorable before their personal data is scrubbed.
pub async fn create_tenant(
    conn: &mut Conn,
    slug: &str,
    name: &str,
    member_retention_days: Option<i32>,
    now: DateTime<Utc>,
) -> Result<Tenant, AdminError> {
    validate_slug(slug)?;
    validate_name("tenant", name)?;
    if member_retention_days.is_some_and(|d| !(0..=3650).contains(&d)) {
        return Err(AdminError::Invalid("member retention must be between 0 and 3650 days".into()));
    }
    let tenant = Tenant {
        id: Uuid::now_v7(),
        slug: slug.into(),
        name: name.trim().into(),
        created_at: db_precision(now),
    };
    let result = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            store::insert_tenant(conn, &tenant).await?;
            crate::db::roles::insert_default_catalog(conn, tenant.id, tenant.created_at).await?;
            if let Some(days) = member_retention_days {
                store::set_member_retention(conn, tenant.id, days).await?;
            }
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(tenant),
        Err(e) if unique_violation(&e).is_some() => {
            Err(AdminError::Invalid(format!("a tenant with slug {slug:?} already exists")))
        }
        Err(e) => Err(e.into()),
    }
}

/// A tenant's member settings, as the admin API and the CLI show and change them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberSettings {
    /// Days a removed member stays restorable before its personal data is scrubbed (0–3650).
    pub member_retention_days: Option<i32>,
    /// Whether new (and reactivated, never-joined) members get `member.invitation_needed`.
    pub invite_new_members: Option<bool>,
    /// Sign-in is SSO: no invitations at all.
    pub sso: Option<bool>,
}

/// Change a tenant's member settings (absent fields stay), in one transaction; returns them all
/// as they are now. Shortening retention takes effect at the next scrub run: members removed
/// longer ago than the new period are scrubbed then.
pub async fn update_member_settings(
    conn: &mut Conn,
    tenant: &Tenant,
    change: MemberSettings,
) -> Result<MemberSettings, AdminError> {
    if change.member_retention_days.is_some_and(|d| !(0..=3650).contains(&d)) {
        return Err(AdminError::Invalid("member_retention_days must be between 0 and 3650 days".into()));
    }
    let id = tenant.id;
    let (days, invite, sso) = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            if let Some(days) = change.member_retention_days {
                store::set_member_retention(conn, id, days).await?;
            }
            if let Some(invite) = change.invite_new_members {
                store::set_invite_new_members(conn, id, invite).await?;
            }
            if let Some(sso) = change.sso {
                store::set_sso(conn, id, sso).await?;
            }
            store::member_settings(conn, id).await
        })
        .await?;
    Ok(MemberSettings { member_retention_days: Some(days), invite_new_members: Some(invite), sso: Some(sso) })
}

/// A tenant by slug, or a not-found error naming it.
pub async fn tenant(conn: &mut Conn, slug: &str) -> Result<Tenant, AdminError> {
    store::tenant_by_slug(conn, slug).await?.ok_or_else(|| {
        AdminError::NotFound(format!("no tenant with slug {slug:?} (see `roster tenant list`)"))
    })
}

/// A tenant's connection by id, or a not-found error.
pub async fn connection(conn: &mut Conn, tenant: &Tenant, id: Uuid) -> Result<Connection, AdminError> {
    store::connection(conn, tenant.id, id).await?.ok_or_else(|| {
        AdminError::NotFound(format!(
            "tenant {:?} has no connection {id} (see `roster connection list`)",
            tenant.slug
        ))
    })
}

/// The quirk modes a connection can be in: `tolerant` (accept the IdP dialects, the default)
/// and `strict` (RFC 7644 only).
pub const QUIRK_MODES: [&str; 2] = ["tolerant", "strict"];

/// Switch a connection's quirk mode; returns the connection as it is now.
pub async fn set_quirk_mode(
    conn: &mut Conn,
    tenant: &Tenant,
    connection_id: Uuid,
    mode: &str,
) -> Result<Connection, AdminError> {
    if !QUIRK_MODES.contains(&mode) {
        return Err(AdminError::Invalid(format!(
            "quirk mode must be \"tolerant\" or \"strict\", not {mode:?}"
        )));
    }
    let mut c = connection(conn, tenant, connection_id).await?;
    store::set_quirk_mode(conn, tenant.id, c.id, mode).await?;
    c.quirk_mode = mode.to_string();
    Ok(c)
}

/// Create a connection and issue its first token (expiring at `expires_at`, if given).
pub async fn create_connection(
    conn: &mut Conn,
    key: &SigningKey,
    tenant: &Tenant,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(Connection, IssuedToken), AdminError> {
    validate_name("connection", name)?;
    let connection = Connection {
        tenant_id: tenant.id,
        id: Uuid::now_v7(),
        name: name.trim().into(),
        quirk_mode: "tolerant".into(),
        created_at: db_precision(now),
    };
    store::insert_connection(conn, &connection).await?;
    let token = issue_token(conn, key, &connection, "initial", expires_at, now).await?;
    Ok((connection, token))
}

/// Issue a new token for a connection; only its id is stored.
pub async fn issue_token(
    conn: &mut Conn,
    key: &SigningKey,
    connection: &Connection,
    label: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<IssuedToken, AdminError> {
    let now = db_precision(now);
    let record = TokenRecord {
        tenant_id: connection.tenant_id,
        id: Uuid::now_v7(),
        connection_id: connection.id,
        label: label.into(),
        created_at: now,
        expires_at: expires_at.map(db_precision),
        revoked_at: None,
    };
    let token = key.issue(record.tenant_id, record.connection_id, record.id, now, record.expires_at)?;
    store::insert_token(conn, &record).await?;
    Ok(IssuedToken { record, token })
}

/// Rotate a connection's credential in one transaction: issue a new token and revoke every
/// other token of the connection. Returns the new token and the ids of the revoked ones.
pub async fn rotate_token(
    conn: &mut Conn,
    key: &SigningKey,
    connection: &Connection,
    label: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(IssuedToken, Vec<Uuid>), AdminError> {
    conn.transaction::<_, AdminError, _>(async |conn| {
        let revoked =
            store::revoke_connection_tokens(conn, connection.tenant_id, connection.id, db_precision(now))
                .await?;
        let token = issue_token(conn, key, connection, label, expires_at, now).await?;
        Ok((token, revoked))
    })
    .await
}

/// Revoke a token of the tenant.
pub async fn revoke_token(
    conn: &mut Conn,
    tenant: &Tenant,
    token_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    if store::revoke_token(conn, tenant.id, token_id, db_precision(now)).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "tenant {:?} has no unrevoked token {token_id} (see `roster token list`)",
            tenant.slug
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["demo", "acme-corp", "a1"] {
            assert!(validate_slug(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "Acme", "a_b", "a b", &"x".repeat(64)] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }
}
