//! Tenant admin tokens (admin API, one tenant): only the JWT id is stored, never the token.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::{admin_tokens, tenants};
use super::Conn;

/// An admin token row: its id and lifecycle, never the token.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = admin_tokens)]
pub struct AdminTokenRecord {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Token id (the JWT `jti`).
    pub id: Uuid,
    /// Free-text label.
    pub label: String,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl AdminTokenRecord {
    /// `active`, `expired` or `revoked` at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        match (self.revoked_at, self.expires_at) {
            (Some(_), _) => "revoked",
            (None, Some(e)) if e <= now => "expired",
            _ => "active",
        }
    }
}

/// Record an issued admin token.
pub async fn insert(conn: &mut Conn, token: &AdminTokenRecord) -> QueryResult<()> {
    diesel::insert_into(admin_tokens::table).values(token).execute(conn).await.map(drop)
}

/// A tenant's admin tokens, newest first.
pub async fn list(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<AdminTokenRecord>> {
    admin_tokens::table
        .filter(admin_tokens::tenant_id.eq(tenant_id))
        .order((admin_tokens::created_at.desc(), admin_tokens::id))
        .select(AdminTokenRecord::as_select())
        .load(conn)
        .await
}

/// Revoke an admin token; false when no unrevoked token with that id exists in the tenant.
pub async fn revoke(conn: &mut Conn, tenant_id: Uuid, id: Uuid, now: DateTime<Utc>) -> QueryResult<bool> {
    let n = diesel::update(
        admin_tokens::table.filter(
            admin_tokens::tenant_id
                .eq(tenant_id)
                .and(admin_tokens::id.eq(id))
                .and(admin_tokens::revoked_at.is_null()),
        ),
    )
    .set(admin_tokens::revoked_at.eq(now))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// The slug of the tenant a token administers when the token is usable now: it exists, is not
/// revoked and not past its stored expiry.
pub async fn live_tenant_slug(
    conn: &mut Conn,
    tenant_id: Uuid,
    token_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<String>> {
    admin_tokens::table
        .inner_join(tenants::table)
        .filter(
            admin_tokens::tenant_id
                .eq(tenant_id)
                .and(admin_tokens::id.eq(token_id))
                .and(admin_tokens::revoked_at.is_null())
                .and(admin_tokens::expires_at.is_null().or(admin_tokens::expires_at.gt(now))),
        )
        .select(tenants::slug)
        .first(conn)
        .await
        .optional()
}
