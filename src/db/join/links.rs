//! Link rows: access links, email invitations and the tenant invitation link, looked up by token
//! digest and claimed once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::schema::join_links;
use crate::db::Conn;

/// A link row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = join_links)]
pub struct Link {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Link id.
    pub id: Uuid,
    /// `access`, `email` or `tenant`.
    pub kind: String,
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// Who it is for (a label).
    pub person: Option<String>,
    /// The only address that may register through it.
    pub email: Option<String>,
    /// Groups the member joins.
    pub groups: Vec<Option<Uuid>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Stops working then.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked by an admin (or rotated).
    pub revoked_at: Option<DateTime<Utc>>,
    /// Used (single-use kinds).
    pub used_at: Option<DateTime<Utc>>,
    /// The member who used it.
    pub member_id: Option<Uuid>,
}

/// Insert a link.
pub async fn insert_link(conn: &mut Conn, link: &Link) -> QueryResult<()> {
    diesel::insert_into(join_links::table).values(link).execute(conn).await.map(drop)
}

/// The link of a token digest in a tenant, whatever its state.
pub async fn link_by_hash(conn: &mut Conn, tenant_id: Uuid, hash: &[u8]) -> QueryResult<Option<Link>> {
    join_links::table
        .filter(join_links::tenant_id.eq(tenant_id).and(join_links::token_hash.eq(hash)))
        .select(Link::as_select())
        .first(conn)
        .await
        .optional()
}

/// Links of some kinds, newest first.
pub async fn links(conn: &mut Conn, tenant_id: Uuid, kinds: &[&str], limit: i64) -> QueryResult<Vec<Link>> {
    join_links::table
        .filter(join_links::tenant_id.eq(tenant_id).and(join_links::kind.eq_any(kinds)))
        .order((join_links::created_at.desc(), join_links::id.asc()))
        .limit(limit)
        .select(Link::as_select())
        .load(conn)
        .await
}

/// Revoke a link of some kinds; false when there is no such live link.
pub async fn revoke_link(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    kinds: &[&str],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(
        join_links::table.filter(
            join_links::tenant_id
                .eq(tenant_id)
                .and(join_links::id.eq(id))
                .and(join_links::kind.eq_any(kinds))
                .and(join_links::revoked_at.is_null()),
        ),
    )
    .set(join_links::revoked_at.eq(now))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Revoke the tenant's live invitation link, if any (before a new one is issued).
pub async fn revoke_tenant_link(conn: &mut Conn, tenant_id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(
        join_links::table.filter(
            join_links::tenant_id
                .eq(tenant_id)
                .and(join_links::kind.eq("tenant"))
                .and(join_links::revoked_at.is_null()),
        ),
    )
    .set(join_links::revoked_at.eq(now))
    .execute(conn)
    .await
    .map(drop)
}

/// Claim a single-use link: marks it used if it is still unused, unrevoked and unexpired, and
/// says whether this call did. Concurrent claims wait on the row lock and then see `used_at`
/// set, so exactly one succeeds.
pub async fn claim_link(conn: &mut Conn, tenant_id: Uuid, id: Uuid, now: DateTime<Utc>) -> QueryResult<bool> {
    let claimed: Option<Uuid> = diesel::update(
        join_links::table.filter(
            join_links::tenant_id
                .eq(tenant_id)
                .and(join_links::id.eq(id))
                .and(join_links::kind.ne("tenant"))
                .and(join_links::used_at.is_null())
                .and(join_links::revoked_at.is_null())
                .and(join_links::expires_at.is_null().or(join_links::expires_at.gt(now))),
        ),
    )
    .set(join_links::used_at.eq(now))
    .returning(join_links::id)
    .get_result(conn)
    .await
    .optional()?;
    Ok(claimed.is_some())
}

/// Record which member a claimed link admitted.
pub async fn set_link_member(conn: &mut Conn, tenant_id: Uuid, id: Uuid, member: Uuid) -> QueryResult<()> {
    diesel::update(join_links::table.filter(join_links::tenant_id.eq(tenant_id).and(join_links::id.eq(id))))
        .set(join_links::member_id.eq(member))
        .execute(conn)
        .await
        .map(drop)
}
