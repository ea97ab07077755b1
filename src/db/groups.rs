//! Groups and direct memberships. Membership changes are row deltas computed in SQL, never a
//! read-modify-write of a member list.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::prepared::Prepared;
use super::schema::groups;
use super::Conn;
use crate::scim::resource::fold_key;

/// A group as read for SCIM (members come from [`members_of`]).
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = groups)]
pub struct GroupRow {
    /// Group id.
    pub id: Uuid,
    /// Canonical SCIM attributes without members, parent, id, meta or schemas.
    pub resource: Value,
    /// The parent group in the tree.
    pub parent_id: Option<Uuid>,
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
    /// The parent group in the tree.
    pub parent_id: Option<Uuid>,
    /// The resource without members and parent.
    pub resource: Value,
}

impl GroupColumns {
    /// Derive the columns from a normalised resource whose `members` and parent were taken out.
    pub fn from_resource(resource: Map<String, Value>, parent_id: Option<Uuid>) -> Self {
        let display_name =
            resource.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
        GroupColumns {
            display_name_key: fold_key(&display_name),
            display_name,
            external_id: resource.get("externalId").and_then(Value::as_str).map(str::to_string),
            parent_id,
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
    connection_id: Option<Uuid>,
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

/// A group locked for a write, with whether its tenant has any group→role binding (without one,
/// membership changes cannot change roles), read in the same statement.
#[derive(Debug, Clone)]
pub struct Locked {
    /// The group as stored.
    pub row: GroupRow,
    /// The tenant has at least one group→role binding.
    pub bound: bool,
}

/// Read a group and lock its row until the transaction ends (see [`Locked`]).
pub async fn lock(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Locked>> {
    use super::schema::group_role_bindings as bindings;
    let any_binding = diesel::dsl::exists(bindings::table.filter(bindings::tenant_id.eq(tenant_id)));
    let found: Option<(GroupRow, bool)> = groups::table
        .filter(groups::tenant_id.eq(tenant_id).and(groups::id.eq(id)))
        .select((GroupRow::as_select(), any_binding))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(row, bound)| Locked { row, bound }))
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

/// What deleting a group changed besides the group itself.
#[derive(Debug, Clone, Default)]
pub struct Deleted {
    /// Memberships that ended: the group's own members and the group's places in other groups.
    pub memberships: Vec<MemberRow>,
    /// Child groups that became roots.
    pub orphaned: Vec<Uuid>,
}

/// Delete a group: its own memberships go with it and so do the memberships that nest it in
/// other groups, whose versions are bumped; its child groups become roots. Returns what changed,
/// or `None` if it did not exist.
pub async fn delete(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<Deleted>> {
    let mut memberships = remove_all_members(conn, tenant_id, id).await?;
    memberships.extend(remove_member_everywhere(conn, tenant_id, id, now).await?);
    let orphaned =
        diesel::update(groups::table.filter(groups::tenant_id.eq(tenant_id).and(groups::parent_id.eq(id))))
            .set((
                groups::parent_id.eq(None::<Uuid>),
                groups::version.eq(groups::version + 1),
                groups::last_modified.eq(now),
            ))
            .returning(groups::id)
            .get_results(conn)
            .await?;
    let n = diesel::delete(groups::table.filter(groups::tenant_id.eq(tenant_id).and(groups::id.eq(id))))
        .execute(conn)
        .await?;
    Ok((n == 1).then_some(Deleted { memberships, orphaned }))
}

/// Which of `ids` are groups of the tenant.
pub async fn existing_ids(conn: &mut Conn, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    groups::table
        .filter(groups::tenant_id.eq(tenant_id).and(groups::id.eq_any(ids)))
        .select(groups::id)
        .load(conn)
        .await
}

/// What each requested member is in the tenant (`roster_member_kinds`, migration 000028, the
/// rule the one-statement membership PATCH resolves with too): `User`, `Group`, or `None` when
/// there is no such member with the type given (`types[i]`, if any). In request order.
pub async fn member_kinds(
    conn: &mut Conn,
    tenant_id: Uuid,
    ids: &[Uuid],
    types: &[Option<&str>],
) -> QueryResult<Vec<Option<String>>> {
    #[derive(QueryableByName)]
    struct Kind {
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        kind: Option<String>,
    }
    let rows: Vec<Kind> = Prepared(
        diesel::sql_query("SELECT kind FROM roster_member_kinds($1, $2, $3) ORDER BY n")
            .bind::<SqlUuid, _>(tenant_id)
            .bind::<Array<SqlUuid>, _>(ids)
            .bind::<Array<diesel::sql_types::Nullable<Text>>, _>(types),
    )
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.kind).collect())
}

/// Direct members of the given groups, ordered by group then member id.
pub async fn members_of(conn: &mut Conn, tenant_id: Uuid, group_ids: &[Uuid]) -> QueryResult<Vec<MemberRow>> {
    Prepared(
        diesel::sql_query(
            "SELECT gm.group_id, gm.member_id, gm.member_type FROM group_members gm \
         WHERE gm.tenant_id = $1 AND gm.group_id = ANY($2) \
         ORDER BY gm.group_id, gm.member_id",
        )
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(group_ids),
    )
    .load(conn)
    .await
}

/// The membership rows a change added and removed.
#[derive(Debug, Clone, Default)]
pub struct MemberDelta {
    /// Rows inserted.
    pub added: Vec<MemberRow>,
    /// Rows deleted.
    pub removed: Vec<MemberRow>,
}

impl MemberDelta {
    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// Make the group's direct members exactly `members` (id, type): rows not named are deleted,
/// new ones inserted, unchanged ones untouched. Returns the rows added and removed.
pub async fn set_members(
    conn: &mut Conn,
    tenant_id: Uuid,
    group_id: Uuid,
    members: &[(Uuid, &str)],
) -> QueryResult<MemberDelta> {
    let ids: Vec<Uuid> = members.iter().map(|(id, _)| *id).collect();
    let removed = Prepared(
        diesel::sql_query(
            "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_id <> ALL($3) \
         RETURNING group_id, member_id, member_type",
        )
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(group_id)
        .bind::<Array<SqlUuid>, _>(&ids),
    )
    .load(conn)
    .await?;
    let added = add_members(conn, tenant_id, group_id, members).await?;
    Ok(MemberDelta { added, removed })
}

/// The common table expressions that take member `$2` (user or group) out of every group of
/// tenant `$1`, bumping those groups' versions (`last_modified` `$3`): `gone` holds the
/// memberships that ended. After `WITH`, or after CTEs of the caller's own
/// ([`super::users::remove`]). A literal, so that each statement's text is fixed at compile time.
macro_rules! leave_everywhere {
    () => {
        "gone AS ( \
             DELETE FROM group_members WHERE tenant_id = $1 AND member_id = $2 \
             RETURNING group_id, member_id, member_type), \
         bumped AS ( \
             UPDATE groups SET version = version + 1, last_modified = $3 \
             WHERE tenant_id = $1 AND id IN (SELECT group_id FROM gone))"
    };
}
pub(crate) use leave_everywhere;

/// Remove a user or group from every group it is a direct member of, bumping those groups'
/// versions. Returns the memberships removed.
pub async fn remove_member_everywhere(
    conn: &mut Conn,
    tenant_id: Uuid,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Vec<MemberRow>> {
    Prepared(
        diesel::sql_query(concat!(
            "WITH ",
            leave_everywhere!(),
            " SELECT group_id, member_id, member_type FROM gone ORDER BY group_id"
        ))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(member_id)
        .bind::<Timestamptz, _>(now),
    )
    .load(conn)
    .await
}

/// Add direct members (already-present ones are left alone). Returns the rows added.
pub async fn add_members(
    conn: &mut Conn,
    tenant_id: Uuid,
    group_id: Uuid,
    members: &[(Uuid, &str)],
) -> QueryResult<Vec<MemberRow>> {
    let ids: Vec<Uuid> = members.iter().map(|(id, _)| *id).collect();
    let types: Vec<&str> = members.iter().map(|(_, t)| *t).collect();
    Prepared(
        diesel::sql_query(
            "INSERT INTO group_members (tenant_id, group_id, member_id, member_type) \
         SELECT $1, $2, m.id, m.kind FROM unnest($3::uuid[], $4::text[]) AS m(id, kind) \
         ON CONFLICT DO NOTHING RETURNING group_id, member_id, member_type",
        )
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(group_id)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Text>, _>(&types),
    )
    .load(conn)
    .await
}

/// Remove the given direct members (absent ones are ignored). Returns the rows removed.
pub async fn remove_members(
    conn: &mut Conn,
    tenant_id: Uuid,
    group_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<MemberRow>> {
    Prepared(
        diesel::sql_query(
            "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_id = ANY($3) \
         RETURNING group_id, member_id, member_type",
        )
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(group_id)
        .bind::<Array<SqlUuid>, _>(ids),
    )
    .load(conn)
    .await
}

/// Remove every direct member. Returns the rows removed.
pub async fn remove_all_members(
    conn: &mut Conn,
    tenant_id: Uuid,
    group_id: Uuid,
) -> QueryResult<Vec<MemberRow>> {
    Prepared(
        diesel::sql_query(
            "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 \
         RETURNING group_id, member_id, member_type",
        )
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(group_id),
    )
    .load(conn)
    .await
}

diesel::define_sql_function! {
    /// `roster_group_changed` (migration 000021).
    fn roster_group_changed(
        tenant: SqlUuid,
        group: SqlUuid,
        touch: diesel::sql_types::Bool,
        subjects: Array<SqlUuid>,
        kinds: Array<Text>,
        payloads: Array<diesel::sql_types::Jsonb>,
        now: Timestamptz,
    ) -> diesel::sql_types::Integer;
}

/// What follows a group write, in one prepared call: bump the group's version when `touch` (its
/// members changed but its attributes were not rewritten) and write `events` as
/// [`super::events::insert`] does.
pub async fn record_change(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    touch: bool,
    events: &[crate::events::NewEvent],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    if !touch {
        return super::events::insert(conn, tenant_id, events, now).await;
    }
    let (subjects, kinds, payloads) = super::events::columns(events);
    diesel::select(roster_group_changed(tenant_id, id, touch, subjects, kinds, payloads, now))
        .get_result::<i32>(conn)
        .await
        .map(drop)
}

diesel::define_sql_function! {
    /// `roster_group_members_patch` (migration 000036).
    #[allow(clippy::too_many_arguments)]
    fn roster_group_members_patch(
        tenant: SqlUuid,
        group: SqlUuid,
        display: diesel::sql_types::Nullable<Text>,
        remove: Array<SqlUuid>,
        removed_kind: Text,
        removed_user_payloads: Array<diesel::sql_types::Jsonb>,
        removed_group_payloads: Array<diesel::sql_types::Jsonb>,
        add: Array<SqlUuid>,
        types: Array<diesel::sql_types::Nullable<Text>>,
        added_kind: Text,
        added_payloads: Array<diesel::sql_types::Jsonb>,
        log: diesel::sql_types::Nullable<diesel::sql_types::Jsonb>,
        now: Timestamptz,
    ) -> diesel::sql_types::Jsonb;
}

/// A PATCH that removes direct members, then adds some, and at most names the group's current
/// `displayName` again (Okta's group push), for [`patch_members`].
#[derive(Debug)]
pub struct MembersPatch<'a> {
    /// The `displayName` the request leaves on the group, if it names one: the statement writes
    /// only when the group already has it ([`MembersPatched::Locked`] otherwise: a rename).
    pub display_name: Option<&'a str>,
    /// The members to remove, each once, in request order.
    pub remove: &'a [Uuid],
    /// The event kind of each membership removed.
    pub removed_kind: &'a str,
    /// Each member's removal event payload, if it is a User.
    pub removed_user_payloads: &'a [Value],
    /// Each member's removal event payload, if it is a Group.
    pub removed_group_payloads: &'a [Value],
    /// The members to add, after the removals, each once, in request order.
    pub add: &'a [Uuid],
    /// The type the client gave each member to add (`User`/`Group`), if any.
    pub types: &'a [Option<&'a str>],
    /// The event kind of each membership added.
    pub added_kind: &'a str,
    /// Each added member's event payload (only users are added here).
    pub added_payloads: &'a [Value],
    /// The provisioning-log row of the request's success, as JSON.
    pub log: Option<Value>,
}

/// What [`patch_members`] did.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MembersPatched {
    /// No such group; nothing written.
    NotFound,
    /// The write needs the locked path (a rename, a group to add, or a group to remove in a
    /// tenant with bindings); nothing written.
    Locked,
    /// These members to add do not exist with the type given; nothing written.
    Missing {
        /// Their ids.
        members: Vec<Uuid>,
    },
    /// Written (or nothing to change).
    Done {
        /// The group's version afterwards.
        version: i64,
        /// Whether any membership changed (and so the version, events and log row).
        changed: bool,
        /// The effective roles the change moved (written as `role.changed` events).
        role_changes: Vec<super::roles::RoleChanged>,
    },
}

/// The call of `roster_group_members_patch` for a [`MembersPatch`] (a macro: with and without
/// the token guard of [`patch_members_as`], the statements are of two types).
macro_rules! members_patch {
    ($tenant:expr, $id:expr, $patch:expr, $now:expr) => {{
        let patch: MembersPatch<'_> = $patch;
        diesel::select(roster_group_members_patch(
            $tenant,
            $id,
            patch.display_name,
            patch.remove,
            patch.removed_kind,
            patch.removed_user_payloads,
            patch.removed_group_payloads,
            patch.add,
            patch.types,
            patch.added_kind,
            patch.added_payloads,
            patch.log,
            $now,
        ))
    }};
}

/// Remove and add members in one statement (`roster_group_members_patch`): the group's row
/// locked first, its name and the members checked, the rows, the version bump, the events and
/// the log row written. Run it outside a transaction and the group stays locked only while it runs.
pub async fn patch_members(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    patch: MembersPatch<'_>,
    now: DateTime<Utc>,
) -> QueryResult<MembersPatched> {
    let answer: Value = members_patch!(tenant_id, id, patch, now).get_result(conn).await?;
    patched(answer)
}

/// [`patch_members`] as one statement that first checks the caller's token at the standing the
/// request was read under ([`super::tenants::live_at`]): the function runs, and writes, only
/// when it holds. `None` when it did not: nothing was written, and the caller checks its token
/// as usual.
pub async fn patch_members_as(
    conn: &mut Conn,
    token: &super::users::TokenKey,
    standing: &super::tenants::LiveToken,
    id: Uuid,
    patch: MembersPatch<'_>,
    now: DateTime<Utc>,
) -> QueryResult<Option<MembersPatched>> {
    let write = members_patch!(token.tenant, id, patch, now);
    let answer: Option<Value> =
        write.filter(super::tenants::live_at(token, standing)).get_result(conn).await.optional()?;
    answer.map(patched).transpose()
}

/// What `roster_group_members_patch` answered.
fn patched(answer: Value) -> QueryResult<MembersPatched> {
    serde_json::from_value(answer).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}

/// Whether `group` is `candidate` or lies below it in the tree (through parents or nesting), so
/// that making `candidate` a child of `group` would close a cycle.
pub async fn is_at_or_below(
    conn: &mut Conn,
    tenant_id: Uuid,
    group: Uuid,
    candidate: Uuid,
) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    if group == candidate {
        return Ok(true);
    }
    let row: Found = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM roster_group_ancestors($1, $2) a WHERE a.group_id = $3) AS found",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(group)
    .bind::<SqlUuid, _>(candidate)
    .get_result(conn)
    .await?;
    Ok(row.found)
}

/// Everyone a group's assignments reach: its direct user members and those of every group
/// below it (by parent or nesting), with whether the membership is direct. One query.
pub async fn effective_members(
    conn: &mut Conn,
    tenant_id: Uuid,
    group_id: Uuid,
) -> QueryResult<Vec<(Uuid, bool)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        member_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        direct: bool,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT member_id, direct FROM roster_group_effective_members($1, $2) ORDER BY member_id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(group_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.member_id, r.direct)).collect())
}

/// One group of a tenant's tree: id, name, kind, parent and its direct user members.
#[derive(Debug, Clone, QueryableByName)]
pub struct TreeNode {
    /// Group id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// displayName.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub display_name: String,
    /// `kind` from Roster's Group extension (department, team, store...).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub kind: Option<String>,
    /// The parent group.
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    pub parent_id: Option<Uuid>,
    /// Users that are direct members.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub direct_members: i64,
}

/// Every group of a tenant (or only `only`) with its parent and direct user member count, by
/// displayName. One query.
pub async fn tree(conn: &mut Conn, tenant_id: Uuid, only: Option<Uuid>) -> QueryResult<Vec<TreeNode>> {
    diesel::sql_query(
        "SELECT g.id, g.display_name, \
                g.resource -> 'urn:ietf:params:scim:schemas:extension:roster:2.0:Group' ->> 'kind' AS kind, \
                g.parent_id, \
                (SELECT count(*) FROM group_members gm \
                 WHERE gm.tenant_id = g.tenant_id AND gm.group_id = g.id AND gm.member_type = 'User') \
                    AS direct_members \
         FROM groups g WHERE g.tenant_id = $1 AND ($2::uuid IS NULL OR g.id = $2) \
         ORDER BY g.display_name_key, g.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(only)
    .load(conn)
    .await
}

/// One direct member of a group as the admin API lists it.
#[derive(Debug, Clone, QueryableByName)]
pub struct GroupMemberRow {
    /// The member (a user or a group).
    #[diesel(sql_type = SqlUuid)]
    pub member_id: Uuid,
    /// `User` or `Group`.
    #[diesel(sql_type = Text)]
    pub member_type: String,
    /// `member` or `manager`.
    #[diesel(sql_type = Text)]
    pub group_role: String,
    /// A user's userName, a group's displayName.
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub name: Option<String>,
    /// A user's displayName.
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub display_name: Option<String>,
    /// When the membership was added.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// The select list and joins of [`GroupMemberRow`] queries (`gm`: the membership rows).
const MEMBER_VIEW: &str = "SELECT gm.member_id, gm.member_type, gm.group_role, gm.created_at, \
        COALESCE(u.user_name, g.display_name) AS name, u.display_name \
    FROM group_members gm \
    LEFT JOIN users u ON gm.member_type = 'User' AND u.tenant_id = gm.tenant_id AND u.id = gm.member_id \
    LEFT JOIN groups g ON gm.member_type = 'Group' AND g.tenant_id = gm.tenant_id AND g.id = gm.member_id";

/// A page of a group's direct members, by member id, after `after` (keyset).
pub async fn members_page(
    conn: &mut Conn,
    tenant_id: Uuid,
    group_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<GroupMemberRow>> {
    diesel::sql_query(format!(
        "{MEMBER_VIEW} WHERE gm.tenant_id = $1 AND gm.group_id = $2 AND ($3::uuid IS NULL OR gm.member_id > $3) \
         ORDER BY gm.member_id LIMIT $4"
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(group_id)
    .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(after)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}

/// One direct membership of `member` in `group`, if there is one.
pub async fn direct_member(
    conn: &mut Conn,
    tenant_id: Uuid,
    group_id: Uuid,
    member_id: Uuid,
) -> QueryResult<Option<GroupMemberRow>> {
    diesel::sql_query(format!(
        "{MEMBER_VIEW} WHERE gm.tenant_id = $1 AND gm.group_id = $2 AND gm.member_id = $3"
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(group_id)
    .bind::<SqlUuid, _>(member_id)
    .get_result(conn)
    .await
    .optional()
}
