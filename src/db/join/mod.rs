//! The SQL of the join API's doors (issue #12): join settings, links (access links, email
//! invitations, the tenant invitation link), pre-stored registrations and access requests. Link
//! tokens and request tickets are looked up by their SHA-256 digest only; single use is a
//! conditional `UPDATE … WHERE used_at IS NULL RETURNING`, so of concurrent registrations
//! through one link exactly one claims it. The members themselves are written by
//! `directory::write` (and [`insert_member`] / [`restore_member`] here, which it calls).

mod links;
mod members;
mod prestored;
mod requests;

pub use links::*;
pub use members::*;
pub use prestored::*;
pub use requests::*;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::{categories, join_settings};
use super::Conn;

/// A tenant's join settings.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = join_settings)]
pub struct Settings {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Whether the tenant invitation link admits registrations.
    pub invitation_link_enabled: bool,
    /// Lower-case email domains the invitation link admits.
    pub allowed_domains: Vec<Option<String>>,
    /// Whether anyone may request access.
    pub requests_enabled: bool,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The tenant's join settings (all doors closed when never set).
pub async fn settings(conn: &mut Conn, tenant_id: Uuid, now: DateTime<Utc>) -> QueryResult<Settings> {
    let found = join_settings::table
        .filter(join_settings::tenant_id.eq(tenant_id))
        .select(Settings::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(found.unwrap_or(Settings {
        tenant_id,
        invitation_link_enabled: false,
        allowed_domains: Vec::new(),
        requests_enabled: false,
        updated_at: now,
    }))
}

/// Store a tenant's join settings.
pub async fn save_settings(conn: &mut Conn, s: &Settings) -> QueryResult<()> {
    diesel::insert_into(join_settings::table)
        .values(s)
        .on_conflict(join_settings::tenant_id)
        .do_update()
        .set(s)
        .execute(conn)
        .await
        .map(drop)
}

/// Mark exactly the categories with these caseless names self-editable; returns how many are.
pub async fn set_self_editable(conn: &mut Conn, tenant_id: Uuid, name_keys: &[String]) -> QueryResult<usize> {
    diesel::update(categories::table.filter(categories::tenant_id.eq(tenant_id)))
        .set(categories::self_editable.eq(categories::name_key.eq_any(name_keys)))
        .execute(conn)
        .await?;
    self_editable(conn, tenant_id).await.map(|c| c.len())
}

/// Names of the tenant's self-editable categories, by name.
pub async fn self_editable(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<String>> {
    categories::table
        .filter(categories::tenant_id.eq(tenant_id).and(categories::self_editable))
        .order((categories::name_key.asc(), categories::id.asc()))
        .select(categories::name)
        .load(conn)
        .await
}

/// Delete one bounded batch of join data past its tenant's retention (`member_retention_days`,
/// the same period removed members' personal data is kept): access requests decided longer ago
/// than that (their registration data), and links that ended longer ago (used, revoked or
/// expired; an access link or invitation names a person or an address). Pending requests and
/// live links stay however old. Returns the rows deleted.
pub async fn prune_batch(conn: &mut Conn, now: DateTime<Utc>, batch: i64) -> QueryResult<usize> {
    use diesel::sql_types::{BigInt, Timestamptz};
    let requests = diesel::sql_query(
        "DELETE FROM join_requests r WHERE (r.tenant_id, r.id) IN ( \
           SELECT q.tenant_id, q.id FROM join_requests q JOIN tenants t ON t.id = q.tenant_id \
           WHERE q.decided_at < $1 - make_interval(days => t.member_retention_days) LIMIT $2)",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(batch)
    .execute(conn)
    .await?;
    // LEAST ignores NULLs: a link ended at its first of used, revoked, expired; a live one
    // (none of them, or an expiry still ahead) is never older than the cutoff.
    let links = diesel::sql_query(
        "DELETE FROM join_links l WHERE (l.tenant_id, l.id) IN ( \
           SELECT k.tenant_id, k.id FROM join_links k JOIN tenants t ON t.id = k.tenant_id \
           WHERE least(k.used_at, k.revoked_at, k.expires_at) < $1 - make_interval(days => t.member_retention_days) \
           LIMIT $2)",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(batch)
    .execute(conn)
    .await?;
    Ok(requests + links)
}
