//! A tenant's categories (per-tenant attributes of Roster's User extension) and the member
//! values they govern.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::categories;
use super::Conn;
use crate::scim::schema::ROSTER_USER_SCHEMA;

/// A category row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = categories)]
pub struct CategoryRow {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Category id.
    pub id: Uuid,
    /// Attribute name, canonical spelling.
    pub name: String,
    /// Lower-cased name: unique per tenant.
    pub name_key: String,
    /// Human-readable name.
    pub display_name: String,
    /// `text`, `dropdown`, `number`, `date` or `boolean`.
    pub kind: String,
    /// Dropdown values, in order.
    pub allowed_values: Vec<Option<String>>,
    /// SCIM attribute path the value is mapped from.
    pub source: Option<String>,
    /// When the category was created.
    pub created_at: DateTime<Utc>,
}

/// The tenant's categories, by name (caselessly): one index scan on the primary key's tenant.
pub async fn list(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<CategoryRow>> {
    categories::table
        .filter(categories::tenant_id.eq(tenant_id))
        .order((categories::name_key.asc(), categories::id.asc()))
        .select(CategoryRow::as_select())
        .load(conn)
        .await
}

/// One category by caseless name, locked until the transaction ends when `lock` is set.
pub async fn find(
    conn: &mut Conn,
    tenant_id: Uuid,
    name_key: &str,
    lock: bool,
) -> QueryResult<Option<CategoryRow>> {
    let query = categories::table
        .filter(categories::tenant_id.eq(tenant_id).and(categories::name_key.eq(name_key)))
        .select(CategoryRow::as_select());
    if lock {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// Insert a category.
pub async fn insert(conn: &mut Conn, row: &CategoryRow) -> QueryResult<()> {
    diesel::insert_into(categories::table).values(row).execute(conn).await.map(drop)
}

/// Change what may change: display name, allowed values, source.
pub async fn update(conn: &mut Conn, row: &CategoryRow) -> QueryResult<()> {
    diesel::update(
        categories::table.filter(categories::tenant_id.eq(row.tenant_id).and(categories::id.eq(row.id))),
    )
    .set((
        categories::display_name.eq(&row.display_name),
        categories::allowed_values.eq(&row.allowed_values),
        categories::source.eq(&row.source),
    ))
    .execute(conn)
    .await
    .map(drop)
}

/// Delete a category (its member values are cleared separately, see [`clear_values`]).
pub async fn delete(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<()> {
    diesel::delete(categories::table.filter(categories::tenant_id.eq(tenant_id).and(categories::id.eq(id))))
        .execute(conn)
        .await
        .map(drop)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many members (not removed) hold one of `values` (compared lower-cased) in category `name`.
pub async fn count_holding(
    conn: &mut Conn,
    tenant_id: Uuid,
    name: &str,
    values: &[String],
) -> QueryResult<i64> {
    let lowered: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
    let row: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM users \
         WHERE tenant_id = $1 AND status <> 'removed' \
           AND lower(resource -> $2 ->> $3) = ANY($4)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Text, _>(ROSTER_USER_SCHEMA)
    .bind::<Text, _>(name)
    .bind::<Array<Text>, _>(&lowered)
    .get_result(conn)
    .await?;
    Ok(row.n)
}

/// Remove category `name`'s value from every member of the tenant (and the extension object when
/// it becomes empty), bumping each changed member's version. One statement; returns how many
/// members changed.
pub async fn clear_values(
    conn: &mut Conn,
    tenant_id: Uuid,
    name: &str,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE users SET \
             resource = CASE WHEN (resource -> $2) - $3 = '{}'::jsonb THEN resource - $2 \
                             ELSE jsonb_set(resource, ARRAY[$2], (resource -> $2) - $3) END, \
             version = version + 1, last_modified = $4 \
         WHERE tenant_id = $1 AND resource -> $2 ? $3",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Text, _>(ROSTER_USER_SCHEMA)
    .bind::<Text, _>(name)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}
