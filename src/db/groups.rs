//! Groups and direct memberships. Membership changes are row deltas computed in SQL, never a
//! read-modify-write of a member list.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::schema::groups;
use super::Conn;
use crate::scim::resource::fold_key;

/// A group as read for SCIM (members come from [`members_of`]).
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = groups)]
pub struct GroupRow {
    /// Group id.
    pub id: Uuid,
    /// Canonical SCIM attributes without members, id, meta or schemas.
    pub resource: Value,
    /// Row version.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub last_modified: DateTime<Utc>,
}

/// Typed columns derived from a group resource.
#[derive(Debug, Clone, AsChangeset, Insertable)]
#[diesel(table_name = groups, treat_none_as_null = true)]
pub struct GroupColumns {
    /// displayName as sent.
    pub display_name: String,
    /// Folded displayName (unique per tenant).
    pub display_name_key: String,
    /// externalId.
    pub external_id: Option<String>,
    /// The resource without members.
    pub resource: Value,
}

impl GroupColumns {
    /// Derive the columns from a normalised resource whose `members` were taken out.
    pub fn from_resource(resource: Map<String, Value>) -> Self {
        let display_name =
            resource.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
        GroupColumns {
            display_name_key: fold_key(&display_name),
            display_name,
            external_id: resource.get("externalId").and_then(Value::as_str).map(str::to_string),
            resource: Value::Object(resource),
        }
    }
}

/// One direct member of a group.
#[derive(Debug, Clone, QueryableByName)]
pub struct MemberRow {
    /// The group.
    #[diesel(sql_type = SqlUuid)]
    pub group_id: Uuid,
    /// The member (a user or a group).
    #[diesel(sql_type = SqlUuid)]
    pub member_id: Uuid,
    /// `User` or `Group`.
    #[diesel(sql_type = Text)]
    pub member_type: String,
}

/// Insert a new group.
pub async fn insert(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    connection_id: Uuid,
    columns: &GroupColumns,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(groups::table)
        .values((
            groups::tenant_id.eq(tenant_id),
            groups::id.eq(id),
            groups::connection_id.eq(connection_id),
            columns,
            groups::version.eq(1),
            groups::created_at.eq(now),
            groups::last_modified.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A group by id.
pub async fn find(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<GroupRow>> {
    groups::table
        .filter(groups::tenant_id.eq(tenant_id).and(groups::id.eq(id)))
        .select(GroupRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Like [`find`], locking the row until the transaction ends.
pub async fn find_for_update(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<GroupRow>> {
    groups::table
        .filter(groups::tenant_id.eq(tenant_id).and(groups::id.eq(id)))
        .select(GroupRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Replace a group's attributes, bumping its version.
pub async fn update(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    columns: &GroupColumns,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(groups::table.filter(groups::tenant_id.eq(tenant_id).and(groups::id.eq(id))))
        .set((columns, groups::version.eq(groups::version + 1), groups::last_modified.eq(now)))
        .execute(conn)
        .await
        .map(drop)
}

/// Delete a group: its own memberships go with it (cascade) and so do the memberships that
/// nest it in other groups, whose versions are bumped. Returns false if it did not exist.
pub async fn delete(conn: &mut Conn, tenant_id: Uuid, id: Uuid, now: DateTime<Utc>) -> QueryResult<bool> {
    remove_member_everywhere(conn, tenant_id, id, now).await?;
    let n = diesel::delete(groups::table.filter(groups::tenant_id.eq(tenant_id).and(groups::id.eq(id))))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Number of groups in the tenant.
pub async fn count(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<i64> {
    groups::table.filter(groups::tenant_id.eq(tenant_id)).count().get_result(conn).await
}

/// One page of groups in id order.
pub async fn page(conn: &mut Conn, tenant_id: Uuid, offset: i64, limit: i64) -> QueryResult<Vec<GroupRow>> {
    groups::table
        .filter(groups::tenant_id.eq(tenant_id))
        .order(groups::id)
        .offset(offset)
        .limit(limit)
        .select(GroupRow::as_select())
        .load(conn)
        .await
}

/// Which of `ids` are groups of the tenant.
pub async fn existing_ids(conn: &mut Conn, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    groups::table
        .filter(groups::tenant_id.eq(tenant_id).and(groups::id.eq_any(ids)))
        .select(groups::id)
        .load(conn)
        .await
}

/// Direct members of the given groups, ordered by group then member id.
pub async fn members_of(conn: &mut Conn, tenant_id: Uuid, group_ids: &[Uuid]) -> QueryResult<Vec<MemberRow>> {
    diesel::sql_query(
        "SELECT gm.group_id, gm.member_id, gm.member_type FROM group_members gm \
         WHERE gm.tenant_id = $1 AND gm.group_id = ANY($2) \
         ORDER BY gm.group_id, gm.member_id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(group_ids)
    .load(conn)
    .await
}

/// Make the group's direct members exactly `members` (id, type): rows not named are deleted,
/// new ones inserted, unchanged ones untouched. Returns whether anything changed.
pub async fn set_members(
    conn: &mut Conn,
    tenant_id: Uuid,
    group_id: Uuid,
    members: &[(Uuid, &str)],
) -> QueryResult<bool> {
    let ids: Vec<Uuid> = members.iter().map(|(id, _)| *id).collect();
    let types: Vec<&str> = members.iter().map(|(_, t)| *t).collect();
    let removed = diesel::sql_query(
        "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_id <> ALL($3)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(group_id)
    .bind::<Array<SqlUuid>, _>(&ids)
    .execute(conn)
    .await?;
    let added = diesel::sql_query(
        "INSERT INTO group_members (tenant_id, group_id, member_id, member_type) \
         SELECT $1, $2, m.id, m.kind FROM unnest($3::uuid[], $4::text[]) AS m(id, kind) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(group_id)
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Text>, _>(&types)
    .execute(conn)
    .await?;
    Ok(removed + added > 0)
}

/// Remove a user or group from every group it is a direct member of, bumping those groups'
/// versions.
pub async fn remove_member_everywhere(
    conn: &mut Conn,
    tenant_id: Uuid,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "WITH gone AS ( \
             DELETE FROM group_members WHERE tenant_id = $1 AND member_id = $2 RETURNING group_id) \
         UPDATE groups SET version = version + 1, last_modified = $3 \
         WHERE tenant_id = $1 AND id IN (SELECT group_id FROM gone)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(member_id)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(drop)
}

/// Add direct members (already-present ones are left alone). Returns how many were added.
pub async fn add_members(
    conn: &mut Conn,
    tenant_id: Uuid,
    group_id: Uuid,
    members: &[(Uuid, &str)],
) -> QueryResult<usize> {
    let ids: Vec<Uuid> = members.iter().map(|(id, _)| *id).collect();
    let types: Vec<&str> = members.iter().map(|(_, t)| *t).collect();
    diesel::sql_query(
        "INSERT INTO group_members (tenant_id, group_id, member_id, member_type) \
         SELECT $1, $2, m.id, m.kind FROM unnest($3::uuid[], $4::text[]) AS m(id, kind) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(group_id)
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Text>, _>(&types)
    .execute(conn)
    .await
}

/// Remove the given direct members (absent ones are ignored). Returns how many were removed.
pub async fn remove_members(
    conn: &mut Conn,
    tenant_id: Uuid,
    group_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_id = ANY($3)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(group_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .execute(conn)
    .await
}

/// Remove every direct member. Returns how many were removed.
pub async fn remove_all_members(conn: &mut Conn, tenant_id: Uuid, group_id: Uuid) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2")
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(group_id)
        .execute(conn)
        .await
}

/// Mark a group changed (membership only): new version and lastModified.
pub async fn touch(conn: &mut Conn, tenant_id: Uuid, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(groups::table.filter(groups::tenant_id.eq(tenant_id).and(groups::id.eq(id))))
        .set((groups::version.eq(groups::version + 1), groups::last_modified.eq(now)))
        .execute(conn)
        .await
        .map(drop)
}
