//! Member lifecycle rows beyond SCIM's own: finding a removed member by id and bringing it back
//! (the admin API's restore and an import's restore by personalid or email).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::users;
use super::users::{status, UserRow};
use super::Conn;

/// A removed member as a restore sees it (locked until the transaction ends).
#[derive(Debug, Clone, Queryable)]
pub struct Removed {
    /// The row.
    pub row: UserRow,
    /// When it was removed.
    pub removed_at: Option<DateTime<Utc>>,
    /// When its personal data was scrubbed, if it was.
    pub scrubbed_at: Option<DateTime<Utc>>,
    /// Invitations sent so far (kept while removed).
    pub invitation_count: i32,
    /// When it first logged in, if ever.
    pub joined_at: Option<DateTime<Utc>>,
}

/// A removed member by id, locked; `None` when there is no such member or it is not removed.
pub async fn removed_for_update(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Removed>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id).and(users::id.eq(id)).and(users::status.eq(status::REMOVED)))
        .select((
            UserRow::as_select(),
            users::removed_at,
            users::scrubbed_at,
            users::invitation_count,
            users::joined_at,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Whether a member with this id exists in the tenant, whatever its status.
pub async fn exists(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::tenant_id.eq(tenant_id).and(users::id.eq(id))),
    ))
    .get_result(conn)
    .await
}

/// Bring a removed member back with its stored attributes: `status`, `active` as its resource
/// says, no removal time, version bumped. False if it is no longer removed.
pub async fn unremove(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    active: bool,
    new_status: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n =
        diesel::update(users::table.filter(
            users::tenant_id.eq(tenant_id).and(users::id.eq(id)).and(users::status.eq(status::REMOVED)),
        ))
        .set((
            users::status.eq(new_status),
            users::active.eq(active),
            users::removed_at.eq(None::<DateTime<Utc>>),
            users::version.eq(users::version + 1),
            users::last_modified.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}
