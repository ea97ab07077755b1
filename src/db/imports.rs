//! The SQL of member imports: what a plan reads (members an import may match, their direct groups,
//! the tenant's groups, roles and default role) and what an apply writes (members in batches,
//! updates, suspensions, memberships; the directory's write service calls these).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::schema::{groups, roles, tenants, users};
use super::users::{status, UserColumns};
use super::Conn;

/// A member an import may match or suspend.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct ImportMember {
    /// Member id.
    pub id: Uuid,
    /// `scim`, `import` or `admin`.
    pub origin: String,
    /// The import identity key.
    pub personal_id: Option<String>,
    /// Folded userName.
    pub user_name_key: String,
    /// The SCIM resource.
    pub resource: Value,
    /// Free-text tags.
    pub comment: Option<String>,
    /// The member's base role.
    pub base_role: Option<String>,
    /// Whether it is active.
    pub active: bool,
    /// Lifecycle status.
    pub status: String,
    /// Lower-cased email values.
    pub email_keys: Vec<Option<String>>,
}

/// Non-removed members of the tenant that an import of these keys can touch: every member from
/// an import (for `--sync`), and any member holding one of the personal ids, or one of the
/// folded emails as its userName or among its emails.
pub async fn members(
    conn: &mut Conn,
    tenant_id: Uuid,
    personal_ids: &[String],
    user_name_keys: &[String],
) -> QueryResult<Vec<ImportMember>> {
    let email_keys: Vec<Option<&str>> = user_name_keys.iter().map(|k| Some(k.as_str())).collect();
    users::table
        .filter(super::users::visible(tenant_id))
        .filter(
            users::origin
                .eq("import")
                .or(users::personal_id.eq_any(personal_ids))
                .or(users::user_name_key.eq_any(user_name_keys))
                .or(users::email_keys.overlaps_with(&email_keys)),
        )
        .select(ImportMember::as_select())
        .order(users::id)
        .load(conn)
        .await
}

/// Serialise imports of one tenant: a transaction-level advisory lock, released at commit.
pub async fn lock_tenant_imports(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('roster-import:' || $1::text))")
        .bind::<SqlUuid, _>(tenant_id)
        .execute(conn)
        .await
        .map(drop)
}

/// (member, group, group role) of the direct group memberships of the given members.
pub async fn direct_groups(
    conn: &mut Conn,
    tenant_id: Uuid,
    member_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Uuid, String)>> {
    use super::schema::group_members as gm;
    gm::table
        .filter(gm::tenant_id.eq(tenant_id).and(gm::member_id.eq_any(member_ids)))
        .select((gm::member_id, gm::group_id, gm::group_role))
        .load(conn)
        .await
}

/// A group a `teamid` cell may name.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct TeamRow {
    /// Group id.
    pub id: Uuid,
    /// externalId.
    pub external_id: Option<String>,
    /// displayName.
    pub display_name: String,
    /// Folded displayName.
    pub display_name_key: String,
}

/// Every group of the tenant (id, externalId, displayName).
pub async fn teams(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<TeamRow>> {
    groups::table
        .filter(groups::tenant_id.eq(tenant_id))
        .select((groups::id, groups::external_id, groups::display_name, groups::display_name_key))
        .order(groups::id)
        .load(conn)
        .await
}

/// The tenant's role names with their caseless keys, by rank (highest first).
pub async fn roles(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<(String, String)>> {
    roles::table
        .filter(roles::tenant_id.eq(tenant_id))
        .select((roles::name, roles::name_key))
        .order(roles::rank.desc())
        .load(conn)
        .await
}

/// The role new members get.
pub async fn default_role(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<String> {
    tenants::table.filter(tenants::id.eq(tenant_id)).select(tenants::default_role).first(conn).await
}

/// A member to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewMember {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Member id.
    pub id: Uuid,
    /// Derived columns and the resource.
    #[diesel(embed)]
    pub columns: UserColumns,
    /// Always `import`.
    pub origin: &'static str,
    /// Identity key.
    pub personal_id: String,
    /// Tags.
    pub comment: Option<String>,
    /// Base role.
    pub base_role: Option<String>,
    /// 1.
    pub version: i64,
    /// Now.
    pub created_at: DateTime<Utc>,
    /// Now.
    pub last_modified: DateTime<Utc>,
}

/// Insert members in batches (bounded by PostgreSQL's 65,535 bind parameters).
pub async fn insert_members(conn: &mut Conn, members: &[NewMember]) -> QueryResult<()> {
    for chunk in members.chunks(2000) {
        diesel::insert_into(users::table).values(chunk).execute(conn).await?;
    }
    Ok(())
}

/// What an import writes to a member it updates.
#[derive(Debug, Clone)]
pub struct ImportedUpdate<'a> {
    /// Derived columns and the resource.
    pub columns: &'a UserColumns,
    /// Identity key.
    pub personal_id: &'a str,
    /// Tags.
    pub comment: Option<&'a str>,
    /// Base role (the role column, or the default).
    pub base_role: Option<&'a str>,
}

/// Write an imported member's new attributes, identity key, tags and base role, bumping its version.
pub async fn update_member(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    update: &ImportedUpdate<'_>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(users::table.filter(users::tenant_id.eq(tenant_id).and(users::id.eq(id))))
        .set((
            update.columns,
            users::personal_id.eq(update.personal_id),
            users::comment.eq(update.comment),
            users::base_role.eq(update.base_role),
            users::version.eq(users::version + 1),
            users::last_modified.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Suspend members (`active` false in the columns and the resource), bumping their versions.
pub async fn suspend(
    conn: &mut Conn,
    tenant_id: Uuid,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE users SET active = false, status = $3, \
             resource = jsonb_set(resource, '{active}', 'false'::jsonb, true), \
             version = version + 1, last_modified = $4 \
         WHERE tenant_id = $1 AND id = ANY($2) AND status <> 'removed'",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Text, _>(status::SUSPENDED)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}

/// One membership row added.
#[derive(Debug, Clone, QueryableByName)]
pub struct Added {
    /// Group.
    #[diesel(sql_type = SqlUuid)]
    pub group_id: Uuid,
    /// Member.
    #[diesel(sql_type = SqlUuid)]
    pub member_id: Uuid,
}

/// Add (group, member, group role) user memberships (present ones are left alone), bumping the
/// versions of the groups that changed. Returns the rows added, in input order.
pub async fn add_memberships(
    conn: &mut Conn,
    tenant_id: Uuid,
    rows: &[(Uuid, Uuid, &str)],
    now: DateTime<Utc>,
) -> QueryResult<Vec<Added>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let groups: Vec<Uuid> = rows.iter().map(|p| p.0).collect();
    let members: Vec<Uuid> = rows.iter().map(|p| p.1).collect();
    let roles: Vec<&str> = rows.iter().map(|p| p.2).collect();
    diesel::sql_query(
        "WITH added AS ( \
             INSERT INTO group_members (tenant_id, group_id, member_id, member_type, created_at, group_role) \
             SELECT $1, p.g, p.m, 'User', $4, p.r \
             FROM unnest($2::uuid[], $3::uuid[], $5::text[]) WITH ORDINALITY AS p(g, m, r, n) \
             ORDER BY p.n ON CONFLICT DO NOTHING RETURNING group_id, member_id), \
         bumped AS ( \
             UPDATE groups SET version = version + 1, last_modified = $4 \
             WHERE tenant_id = $1 AND id IN (SELECT group_id FROM added)) \
         SELECT group_id, member_id FROM added",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(&groups)
    .bind::<Array<SqlUuid>, _>(&members)
    .bind::<Timestamptz, _>(now)
    .bind::<Array<Text>, _>(&roles)
    .load(conn)
    .await
}

/// Set the group role of existing (group, member) user memberships; returns how many changed.
pub async fn set_group_roles(
    conn: &mut Conn,
    tenant_id: Uuid,
    rows: &[(Uuid, Uuid, &str)],
) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let groups: Vec<Uuid> = rows.iter().map(|p| p.0).collect();
    let members: Vec<Uuid> = rows.iter().map(|p| p.1).collect();
    let roles: Vec<&str> = rows.iter().map(|p| p.2).collect();
    diesel::sql_query(
        "UPDATE group_members gm SET group_role = p.r FROM unnest($2::uuid[], $3::uuid[], $4::text[]) AS p(g, m, r) \
         WHERE gm.tenant_id = $1 AND gm.group_id = p.g AND gm.member_id = p.m AND gm.group_role <> p.r",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(&groups)
    .bind::<Array<SqlUuid>, _>(&members)
    .bind::<Array<Text>, _>(&roles)
    .execute(conn)
    .await
}

/// Removed members an import may restore (DESIGN §2): from an import, removed after `cutoff`
/// (the start of the tenant's retention period) and not scrubbed, holding one of the personal
/// ids or one of the folded emails as userName; with their invitation count and whether they
/// ever joined (their status once restored).
pub async fn removed_members(
    conn: &mut Conn,
    tenant_id: Uuid,
    personal_ids: &[String],
    user_name_keys: &[String],
    cutoff: DateTime<Utc>,
) -> QueryResult<Vec<(ImportMember, i32, bool)>> {
    users::table
        .filter(
            users::tenant_id
                .eq(tenant_id)
                .and(users::status.eq(status::REMOVED))
                .and(users::origin.eq("import"))
                .and(users::scrubbed_at.is_null())
                .and(users::removed_at.gt(cutoff)),
        )
        .filter(users::personal_id.eq_any(personal_ids).or(users::user_name_key.eq_any(user_name_keys)))
        .select((ImportMember::as_select(), users::invitation_count, users::joined_at.is_not_null()))
        .order((users::removed_at.desc(), users::id))
        .load(conn)
        .await
}

/// Remove (group, member) user memberships, bumping the versions of the groups that changed.
/// Returns the rows removed.
pub async fn remove_memberships(
    conn: &mut Conn,
    tenant_id: Uuid,
    pairs: &[(Uuid, Uuid)],
    now: DateTime<Utc>,
) -> QueryResult<Vec<Added>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let groups: Vec<Uuid> = pairs.iter().map(|p| p.0).collect();
    let members: Vec<Uuid> = pairs.iter().map(|p| p.1).collect();
    diesel::sql_query(
        "WITH gone AS ( \
             DELETE FROM group_members gm USING unnest($2::uuid[], $3::uuid[]) AS p(g, m) \
             WHERE gm.tenant_id = $1 AND gm.group_id = p.g AND gm.member_id = p.m AND gm.member_type = 'User' \
             RETURNING gm.group_id, gm.member_id), \
         bumped AS ( \
             UPDATE groups SET version = version + 1, last_modified = $4 \
             WHERE tenant_id = $1 AND id IN (SELECT group_id FROM gone)) \
         SELECT group_id, member_id FROM gone ORDER BY member_id, group_id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(&groups)
    .bind::<Array<SqlUuid>, _>(&members)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await
}

/// A member as the export writes it: the import's columns.
#[derive(Debug, Clone, Queryable)]
pub struct ExportRow {
    /// Member id (for its groups).
    pub id: Uuid,
    /// name.givenName.
    pub given_name: Option<String>,
    /// name.familyName.
    pub family_name: Option<String>,
    /// The primary email.
    pub email: Option<String>,
    /// The import identity key.
    pub personal_id: Option<String>,
    /// Free-text tags.
    pub comment: Option<String>,
    /// title (the position source of an import).
    pub title: Option<String>,
    /// The base role (what an import's role column sets).
    pub base_role: Option<String>,
    /// The whole resource (category values under Roster's User extension).
    pub resource: Value,
}

/// The tenant's live members (neither suspended nor removed), optionally of one origin, in
/// creation order, for the export.
pub async fn export_rows(
    conn: &mut Conn,
    tenant_id: Uuid,
    origin: Option<&str>,
) -> QueryResult<Vec<ExportRow>> {
    let mut q = users::table
        .filter(
            users::tenant_id.eq(tenant_id).and(users::status.ne_all([status::REMOVED, status::SUSPENDED])),
        )
        .into_boxed();
    if let Some(origin) = origin {
        q = q.filter(users::origin.eq(origin));
    }
    q.select((
        users::id,
        users::given_name,
        users::family_name,
        users::email,
        users::personal_id,
        users::comment,
        users::title,
        users::base_role,
        users::resource,
    ))
    .order(users::id)
    .load(conn)
    .await
}
