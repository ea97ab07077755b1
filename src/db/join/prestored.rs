//! Pre-stored registration rows, matched on their three keys and claimed once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use crate::db::schema::join_prestored;
use crate::db::Conn;

/// A pre-stored registration.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = join_prestored)]
pub struct Prestored {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Record id.
    pub id: Uuid,
    /// First name as stored.
    pub given_name: String,
    /// Last name as stored.
    pub family_name: String,
    /// Personnel number as stored.
    pub personal_id: String,
    /// Matching key of the first name.
    pub given_name_key: String,
    /// Matching key of the last name.
    pub family_name_key: String,
    /// Matching key of the personnel number.
    pub personal_id_key: String,
    /// Groups the member joins.
    pub groups: Vec<Option<Uuid>>,
    /// Category values, `{name: value}`.
    pub categories: Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When a registration matched it.
    pub used_at: Option<DateTime<Utc>>,
    /// The member it became.
    pub member_id: Option<Uuid>,
}

/// Insert pre-stored registrations, or replace the unused ones with the same personnel number
/// (an import of an updated list); used ones are left alone. Returns how many rows were written.
/// One statement per row: PostgreSQL's `ON CONFLICT … DO UPDATE … WHERE` is per row anyway, and
/// an import is bounded by `ROSTER_IMPORT_MAX_ROWS`.
pub async fn upsert_prestored(conn: &mut Conn, rows: &[Prestored]) -> QueryResult<usize> {
    use diesel::query_dsl::methods::FilterDsl;
    use diesel::upsert::excluded;
    let mut written = 0;
    for row in rows {
        written += diesel::insert_into(join_prestored::table)
            .values(row)
            .on_conflict((join_prestored::tenant_id, join_prestored::personal_id_key))
            .do_update()
            .set((
                join_prestored::given_name.eq(excluded(join_prestored::given_name)),
                join_prestored::family_name.eq(excluded(join_prestored::family_name)),
                join_prestored::personal_id.eq(excluded(join_prestored::personal_id)),
                join_prestored::given_name_key.eq(excluded(join_prestored::given_name_key)),
                join_prestored::family_name_key.eq(excluded(join_prestored::family_name_key)),
                join_prestored::groups.eq(excluded(join_prestored::groups)),
                join_prestored::categories.eq(excluded(join_prestored::categories)),
            ))
            .filter(join_prestored::used_at.is_null())
            .execute(conn)
            .await?;
    }
    Ok(written)
}

/// Insert one pre-stored registration.
pub async fn insert_prestored(conn: &mut Conn, row: &Prestored) -> QueryResult<()> {
    diesel::insert_into(join_prestored::table).values(row).execute(conn).await.map(drop)
}

/// Pre-stored registrations, newest first; `used` filters on whether a registration matched.
pub async fn prestored(
    conn: &mut Conn,
    tenant_id: Uuid,
    used: Option<bool>,
    limit: i64,
) -> QueryResult<Vec<Prestored>> {
    let mut query = join_prestored::table
        .filter(join_prestored::tenant_id.eq(tenant_id))
        .select(Prestored::as_select())
        .order((join_prestored::created_at.desc(), join_prestored::id.asc()))
        .limit(limit)
        .into_boxed();
    match used {
        Some(true) => query = query.filter(join_prestored::used_at.is_not_null()),
        Some(false) => query = query.filter(join_prestored::used_at.is_null()),
        None => {}
    }
    query.load(conn).await
}

/// One pre-stored registration.
pub async fn prestored_one(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Prestored>> {
    join_prestored::table
        .filter(join_prestored::tenant_id.eq(tenant_id).and(join_prestored::id.eq(id)))
        .select(Prestored::as_select())
        .first(conn)
        .await
        .optional()
}

/// Replace an unused pre-stored registration's data; false when there is no unused one.
pub async fn update_prestored(conn: &mut Conn, row: &Prestored) -> QueryResult<bool> {
    let n = diesel::update(
        join_prestored::table.filter(
            join_prestored::tenant_id
                .eq(row.tenant_id)
                .and(join_prestored::id.eq(row.id))
                .and(join_prestored::used_at.is_null()),
        ),
    )
    .set((
        join_prestored::given_name.eq(&row.given_name),
        join_prestored::family_name.eq(&row.family_name),
        join_prestored::personal_id.eq(&row.personal_id),
        join_prestored::given_name_key.eq(&row.given_name_key),
        join_prestored::family_name_key.eq(&row.family_name_key),
        join_prestored::personal_id_key.eq(&row.personal_id_key),
        join_prestored::groups.eq(&row.groups),
        join_prestored::categories.eq(&row.categories),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Delete a pre-stored registration; false when there was none.
pub async fn delete_prestored(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    let n = diesel::delete(
        join_prestored::table.filter(join_prestored::tenant_id.eq(tenant_id).and(join_prestored::id.eq(id))),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Claim the unused pre-stored registration whose three keys all equal these: marks it used
/// and returns it (concurrent claims of one record: exactly one gets it).
pub async fn claim_prestored(
    conn: &mut Conn,
    tenant_id: Uuid,
    keys: (&str, &str, &str),
    now: DateTime<Utc>,
) -> QueryResult<Option<Prestored>> {
    let (given, family, personal) = keys;
    diesel::update(
        join_prestored::table.filter(
            join_prestored::tenant_id
                .eq(tenant_id)
                .and(join_prestored::personal_id_key.eq(personal))
                .and(join_prestored::given_name_key.eq(given))
                .and(join_prestored::family_name_key.eq(family))
                .and(join_prestored::used_at.is_null()),
        ),
    )
    .set(join_prestored::used_at.eq(now))
    .returning(Prestored::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Record which member a pre-stored registration became.
pub async fn set_prestored_member(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    member: Uuid,
) -> QueryResult<()> {
    diesel::update(
        join_prestored::table.filter(join_prestored::tenant_id.eq(tenant_id).and(join_prestored::id.eq(id))),
    )
    .set(join_prestored::member_id.eq(member))
    .execute(conn)
    .await
    .map(drop)
}
