//! The member rows a registration reads and writes (called by `directory::write::register` only):
//! the live member holding an identity, the removed member to restore, insert and restore.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::schema::users;
use crate::db::users::{status, UserColumns};
use crate::db::Conn;

/// The live member that holds this folded userName, this email (as userName or among its
/// emails) or this personnel number, if any.
pub async fn live_member(
    conn: &mut Conn,
    tenant_id: Uuid,
    user_name_key: &str,
    email_key: Option<&str>,
    personal_id: Option<&str>,
) -> QueryResult<Option<Uuid>> {
    let email_keys: Vec<Option<&str>> = email_key.into_iter().map(Some).collect();
    let mut keys = vec![user_name_key];
    keys.extend(email_key);
    users::table
        .filter(crate::db::users::visible(tenant_id))
        .filter(
            users::user_name_key
                .eq_any(keys)
                .or(users::email_keys.overlaps_with(email_keys))
                .or(users::personal_id.eq(personal_id).and(users::personal_id.is_not_null())),
        )
        .select(users::id)
        .order(users::id)
        .first(conn)
        .await
        .optional()
}

/// The removed, unscrubbed member with this folded userName removed after `cutoff` (within the
/// tenant's retention), which a registration restores.
pub async fn restorable(
    conn: &mut Conn,
    tenant_id: Uuid,
    user_name_key: &str,
    cutoff: DateTime<Utc>,
) -> QueryResult<Option<Uuid>> {
    users::table
        .filter(
            users::tenant_id
                .eq(tenant_id)
                .and(users::status.eq(status::REMOVED))
                .and(users::scrubbed_at.is_null())
                .and(users::removed_at.gt(cutoff))
                .and(users::user_name_key.eq(user_name_key)),
        )
        .order(users::removed_at.desc())
        .select(users::id)
        .first(conn)
        .await
        .optional()
}

/// What a registration writes to a member row.
#[derive(Debug, Clone)]
pub struct Registered<'a> {
    /// Derived columns and the resource.
    pub columns: &'a UserColumns,
    /// Personnel number (pre-stored registrations).
    pub personal_id: Option<&'a str>,
}

/// Insert a registered member: origin `registration`, joined now.
pub async fn insert_member(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    m: &Registered<'_>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values((
            users::tenant_id.eq(tenant_id),
            users::id.eq(id),
            m.columns,
            users::origin.eq("registration"),
            users::personal_id.eq(m.personal_id),
            users::joined_at.eq(now),
            users::version.eq(1),
            users::created_at.eq(now),
            users::last_modified.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Bring a removed member back as registered (same id, content kept); false when it is no
/// longer removed.
pub async fn restore_member(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    m: &Registered<'_>,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n =
        diesel::update(users::table.filter(
            users::tenant_id.eq(tenant_id).and(users::id.eq(id)).and(users::status.eq(status::REMOVED)),
        ))
        .set((
            m.columns,
            users::connection_id.eq(None::<Uuid>),
            users::password_hash.eq(None::<String>),
            users::origin.eq("registration"),
            users::personal_id.eq(m.personal_id),
            users::joined_at.eq(diesel::dsl::sql::<Nullable<Timestamptz>>("coalesce(joined_at, ")
                .bind::<Timestamptz, _>(now)
                .sql(")")),
            users::removed_at.eq(None::<DateTime<Utc>>),
            users::version.eq(users::version + 1),
            users::last_modified.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}
