//! Tenant admin tokens: issue (the JWT is shown once, only its id stored) and revoke.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::db_precision;
use super::tenants::AdminError;
use crate::auth::SigningKey;
use crate::db::admin_tokens::{self as store, AdminTokenRecord};
use crate::db::tenants::Tenant;
use crate::db::Conn;

/// A freshly issued admin token: the record and the JWT, which is shown once and never stored.
#[derive(Debug)]
pub struct IssuedAdminToken {
    /// What is stored.
    pub record: AdminTokenRecord,
    /// The bearer token itself.
    pub token: String,
}

/// Issue an admin token for a tenant.
pub async fn issue(
    conn: &mut Conn,
    key: &SigningKey,
    tenant: &Tenant,
    label: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<IssuedAdminToken, AdminError> {
    if label.len() > 200 {
        return Err(AdminError::Invalid("label must be at most 200 characters".into()));
    }
    let now = db_precision(now);
    if expires_at.is_some_and(|e| e <= now) {
        return Err(AdminError::Invalid("the expiry must be in the future".into()));
    }
    let record = AdminTokenRecord {
        tenant_id: tenant.id,
        id: Uuid::now_v7(),
        label: label.into(),
        created_at: now,
        expires_at: expires_at.map(db_precision),
        revoked_at: None,
    };
    let token = key.issue_admin(record.tenant_id, record.id, now, record.expires_at)?;
    store::insert(conn, &record).await?;
    Ok(IssuedAdminToken { record, token })
}

/// Revoke an admin token of the tenant; its next request gets 401.
pub async fn revoke(
    conn: &mut Conn,
    tenant: &Tenant,
    token_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    if store::revoke(conn, tenant.id, token_id, db_precision(now)).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "tenant {:?} has no unrevoked admin token {token_id} (see `roster admin-token list`)",
            tenant.slug
        )))
    }
}
