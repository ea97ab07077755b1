//! Roles: the tenant's catalog, the role sources on members, group→role bindings, the
//! materialised effective role (`roster_recompute_roles`) and the tenant's role settings.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::{group_members, group_role_bindings, roles, tenants, users};
use super::Conn;

/// The catalog every tenant starts with: (name, display name, rank, grants admin).
pub const DEFAULT_ROLES: [(&str, &str, i32, bool); 4] = [
    ("org_admin", "Organization admin", 400, true),
    ("chief_editor", "Chief editor", 300, false),
    ("editor", "Editor", 200, false),
    ("member", "Member", 100, false),
];

/// Insert the default catalog for a new tenant (in the tenant's creation transaction: the
/// tenant's `default_role` refers to it, checked at commit).
pub async fn insert_default_catalog(conn: &mut Conn, tenant_id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    let rows: Vec<_> = DEFAULT_ROLES
        .iter()
        .map(|(name, display, rank, admin)| {
            (
                roles::tenant_id.eq(tenant_id),
                roles::name.eq(*name),
                roles::name_key.eq(*name),
                roles::display_name.eq(*display),
                roles::rank.eq(*rank),
                roles::grants_admin.eq(*admin),
                roles::created_at.eq(now),
            )
        })
        .collect();
    diesel::insert_into(roles::table).values(rows).execute(conn).await.map(drop)
}

/// A role of a tenant's catalog.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = roles)]
pub struct RoleRow {
    /// Name (SCIM `roles[].value`, admin API key).
    pub name: String,
    /// Human-readable name.
    pub display_name: String,
    /// Rank: the highest wins.
    pub rank: i32,
    /// Whether holders are the tenant's administrators.
    pub grants_admin: bool,
}

/// The tenant's catalog, highest rank first.
pub async fn catalog(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<RoleRow>> {
    roles::table
        .filter(roles::tenant_id.eq(tenant_id))
        .order((roles::rank.desc(), roles::name.asc()))
        .select(RoleRow::as_select())
        .load(conn)
        .await
}

/// A role by its caseless key.
pub async fn find(conn: &mut Conn, tenant_id: Uuid, name_key: &str) -> QueryResult<Option<RoleRow>> {
    roles::table
        .filter(roles::tenant_id.eq(tenant_id).and(roles::name_key.eq(name_key)))
        .select(RoleRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Add a role to the catalog.
pub async fn insert(
    conn: &mut Conn,
    tenant_id: Uuid,
    role: &RoleRow,
    name_key: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(roles::table)
        .values((
            roles::tenant_id.eq(tenant_id),
            roles::name.eq(&role.name),
            roles::name_key.eq(name_key),
            roles::display_name.eq(&role.display_name),
            roles::rank.eq(role.rank),
            roles::grants_admin.eq(role.grants_admin),
            roles::created_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Change a role's display name, rank and admin flag (its name is its identity and stays).
pub async fn update(conn: &mut Conn, tenant_id: Uuid, role: &RoleRow) -> QueryResult<()> {
    diesel::update(roles::table.filter(roles::tenant_id.eq(tenant_id).and(roles::name.eq(&role.name))))
        .set((
            roles::display_name.eq(&role.display_name),
            roles::rank.eq(role.rank),
            roles::grants_admin.eq(role.grants_admin),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Delete a role: bindings go with it (cascade), members' base role and override that named it
/// become NULL (foreign keys), and it is dropped from every member's matched SCIM roles.
pub async fn delete(conn: &mut Conn, tenant_id: Uuid, name: &str) -> QueryResult<bool> {
    diesel::sql_query(
        "UPDATE users SET scim_roles = array_remove(scim_roles, $2) WHERE tenant_id = $1 AND $2 = ANY (scim_roles)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Text, _>(name)
    .execute(conn)
    .await?;
    let n = diesel::delete(roles::table.filter(roles::tenant_id.eq(tenant_id).and(roles::name.eq(name))))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// The tenant's role and position settings.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct Settings {
    /// The role new members get.
    pub default_role: String,
    /// The attribute path positions are fed from.
    pub position_source: String,
}

/// The tenant's role and position settings.
pub async fn settings(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Settings> {
    tenants::table.find(tenant_id).select(Settings::as_select()).first(conn).await
}

/// Set the default role; members whose base role was the old default (and did not come from an
/// import, whose role column is explicit) follow it.
pub async fn set_default_role(conn: &mut Conn, tenant_id: Uuid, old: &str, new: &str) -> QueryResult<()> {
    diesel::update(tenants::table.find(tenant_id)).set(tenants::default_role.eq(new)).execute(conn).await?;
    diesel::sql_query(
        "UPDATE users SET base_role = $3 \
         WHERE tenant_id = $1 AND base_role = $2 AND origin <> 'import' AND status <> 'removed'",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Text, _>(old)
    .bind::<Text, _>(new)
    .execute(conn)
    .await
    .map(drop)
}

/// Set the attribute positions are fed from.
pub async fn set_position_source(conn: &mut Conn, tenant_id: Uuid, source: &str) -> QueryResult<()> {
    diesel::update(tenants::table.find(tenant_id))
        .set(tenants::position_source.eq(source))
        .execute(conn)
        .await
        .map(drop)
}

/// Set or clear an admin override; false when the member does not exist (or is removed).
pub async fn set_override(
    conn: &mut Conn,
    tenant_id: Uuid,
    member: Uuid,
    role: Option<&str>,
) -> QueryResult<bool> {
    let n = diesel::update(users::table.filter(super::users::visible(tenant_id).and(users::id.eq(member))))
        .set(users::role_override.eq(role))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// A member whose effective role a recomputation changed.
#[derive(Debug, Clone, QueryableByName)]
pub struct RoleChange {
    /// The member.
    #[diesel(sql_type = SqlUuid)]
    pub member_id: Uuid,
    /// Effective role before.
    #[diesel(sql_type = Nullable<Text>)]
    pub old_role: Option<String>,
    /// Effective role after.
    #[diesel(sql_type = Nullable<Text>)]
    pub new_role: Option<String>,
}

/// Recompute and store the effective role of `members` (`roster_recompute_roles`); returns the
/// ones that changed, in member id order.
pub async fn recompute(conn: &mut Conn, tenant_id: Uuid, members: &[Uuid]) -> QueryResult<Vec<RoleChange>> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(
        "SELECT member_id, old_role, new_role FROM roster_recompute_roles($1, $2) ORDER BY member_id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(members)
    .load(conn)
    .await
}

/// Every member of the tenant visible to SCIM (for catalog-wide recomputations).
pub async fn all_members(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<Uuid>> {
    users::table.filter(super::users::visible(tenant_id)).order(users::id).select(users::id).load(conn).await
}

/// Whether the tenant has any group→role binding (without one, memberships cannot change roles).
pub async fn any_binding(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        group_role_bindings::table.filter(group_role_bindings::tenant_id.eq(tenant_id)),
    ))
    .get_result(conn)
    .await
}

/// The first key of the per-tenant advisory lock that serialises "last org admin" checks ("RSAD";
/// spelled out as 1381187908 in `roster_guard_last_admin`).
pub const ADMIN_LOCK_CLASS: i32 = 0x5253_4144;

diesel::define_sql_function! {
    /// `roster_guard_last_admin` (migration 000014).
    fn roster_guard_last_admin(tenant: SqlUuid, members: Array<SqlUuid>) -> Bool;
}

/// Whether suspending or removing `members` leaves the tenant a live admin, in one prepared call.
/// Locks the members' rows; only when one of them is a live admin does it take the tenant's admin
/// lock ([`ADMIN_LOCK_CLASS`]) and probe for another admin (an index lookup that stops at the
/// first), so deactivations of ordinary members never serialise.
pub async fn leaves_an_admin(conn: &mut Conn, tenant_id: Uuid, members: &[Uuid]) -> QueryResult<bool> {
    diesel::select(roster_guard_last_admin(tenant_id, members)).get_result(conn).await
}

diesel::define_sql_function! {
    /// `roster_members_written` (migration 000014) after inserting the request's log row, if
    /// any (`roster_members_written_logged`, migration 000028).
    #[allow(clippy::too_many_arguments)]
    fn roster_members_written_logged(
        tenant: SqlUuid,
        items: diesel::sql_types::Jsonb,
        now: diesel::sql_types::Timestamptz,
        with_groups: Bool,
        write_events: Bool,
        subjects: Array<SqlUuid>,
        kinds: Array<Text>,
        payloads: Array<diesel::sql_types::Jsonb>,
        log: diesel::sql_types::Nullable<diesel::sql_types::Jsonb>,
    ) -> diesel::sql_types::Jsonb;
}

/// One member whose row was just written, or is written by the follow-up itself (`row`), for
/// [`members_written`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct FollowUp<'a> {
    /// The member.
    pub id: Uuid,
    /// Created by this write (no `role.changed` for its first role).
    pub created: bool,
    /// Give it the tenant's default role as base role.
    pub default_base_role: bool,
    /// Folded SCIM `roles` values to match against the catalog; `None` keeps its SCIM roles.
    pub role_keys: Option<Vec<String>>,
    /// The value of the tenant's position source, if any.
    pub position: Option<String>,
    /// The member's row, written by the follow-up's own statement (migration 000029): updated
    /// with the version bumped, or inserted for a new member; `None` when the caller wrote it
    /// (an import's batch, a restore).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<super::users::RowWrite<'a>>,
}

/// A member after its follow-up, as `roster_members_written` reports it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AfterWrite {
    /// The member.
    pub id: Uuid,
    /// The effective role now.
    pub role: Option<String>,
    /// Lifecycle status.
    pub status: String,
    /// Position name.
    pub position: Option<String>,
    /// Effective groups `[{value, display, type}]`, when asked for and any (a member the write
    /// created is in none, and its groups are not read: migration 000039).
    pub groups: Option<serde_json::Value>,
}

/// A `role.changed` the follow-up found (or wrote).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RoleChanged {
    /// The member.
    pub member_id: Uuid,
    /// Effective role before.
    pub from: Option<String>,
    /// Effective role after.
    pub to: Option<String>,
}

/// What [`members_written`] did.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct FollowedUp {
    /// The members, in input order.
    pub members: Vec<AfterWrite>,
    /// Role changes of members that were not created by the write.
    pub role_changes: Vec<RoleChanged>,
}

/// Everything that follows writing member rows, in one prepared call (`roster_members_written`):
/// SCIM roles, base role, position, effective role; with `events`, those events and the role
/// changes are written too (without, the caller writes them); with `log`, the request's
/// provisioning-log row (a [`super::provisioning_log::Entry`] as JSON) too.
pub async fn members_written(
    conn: &mut Conn,
    tenant_id: Uuid,
    items: &[FollowUp<'_>],
    now: DateTime<Utc>,
    with_groups: bool,
    events: Option<&[crate::events::NewEvent]>,
    log: Option<serde_json::Value>,
) -> QueryResult<FollowedUp> {
    let items = items_json(items)?;
    let (subjects, kinds, payloads) = super::events::columns(events.unwrap_or_default());
    let value: serde_json::Value = diesel::select(roster_members_written_logged(
        tenant_id,
        items,
        now,
        with_groups,
        events.is_some(),
        subjects,
        kinds,
        payloads,
        log,
    ))
    .get_result(conn)
    .await?;
    followed_up(value)
}

/// The `items` argument of `roster_members_written_logged`.
fn items_json(items: &[FollowUp<'_>]) -> QueryResult<serde_json::Value> {
    serde_json::to_value(items).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

/// What `roster_members_written_logged` answered.
fn followed_up(value: serde_json::Value) -> QueryResult<FollowedUp> {
    serde_json::from_value(value).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}

/// What a create written under a recalled token standing ([`members_written_as`]) must find in
/// its own snapshot to write anything: the token live at that standing, and no removed member
/// the create should restore instead.
#[derive(Debug, Clone)]
pub struct CreateGuard {
    /// The caller's token.
    pub token: super::users::TokenKey,
    /// The standing the request was read under.
    pub standing: super::tenants::LiveToken,
    /// The new member's restore key.
    pub key: super::users::RestoreKey,
    /// The start of the tenant's retention period: a member removed before it is not restored.
    pub cutoff: DateTime<Utc>,
}

/// [`members_written`] of one new member as one statement that first checks `guard`: the
/// follow-up (and the row's insert, its events and log row) runs only when the caller's token is
/// live at the standing the request was read under and no removed member is to be restored
/// (`users.removed_at` after the cutoff, under the member's restore key). `None` when it was
/// not: then nothing was written, and the caller checks the token and probes as usual. The
/// token's rule is [`super::tenants::token_is_live`], the probe's [`super::users::restorable`].
pub async fn members_written_as(
    conn: &mut Conn,
    item: &FollowUp<'_>,
    now: DateTime<Utc>,
    events: &[crate::events::NewEvent],
    log: Option<serde_json::Value>,
    guard: &CreateGuard,
) -> QueryResult<Option<FollowedUp>> {
    use diesel::dsl::{exists, not};
    let items = items_json(std::slice::from_ref(item))?;
    let (subjects, kinds, payloads) = super::events::columns(events);
    let CreateGuard { token, standing, key, cutoff } = guard;
    let tenant = token.tenant;
    let write = diesel::select(roster_members_written_logged(
        tenant, items, now, true, true, subjects, kinds, payloads, log,
    ));
    let live = super::tenants::live_at(token, standing);
    let value: Option<serde_json::Value> = super::users::removed_under!(tenant, key, |removed| {
        let restorable = exists(users::table.filter(removed.and(users::removed_at.gt(*cutoff))));
        write.filter(live.and(not(restorable))).get_result(conn).await.optional()?
    });
    value.map(followed_up).transpose()
}

/// What Roster's User extension shows for a member.
#[derive(Debug, Clone, QueryableByName)]
pub struct Derived {
    /// The member.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Effective role.
    #[diesel(sql_type = Nullable<Text>)]
    pub role: Option<String>,
    /// Lifecycle status.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Position name.
    #[diesel(sql_type = Nullable<Text>)]
    pub position: Option<String>,
}

/// Role, status and position of the given members, one query for all.
pub async fn derived(conn: &mut Conn, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<Derived>> {
    diesel::sql_query(
        "SELECT u.id, u.effective_role AS role, u.status, p.name AS position FROM users u \
         LEFT JOIN positions p ON p.tenant_id = u.tenant_id AND p.id = u.position_id \
         WHERE u.tenant_id = $1 AND u.id = ANY ($2)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

/// A group→role binding.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = group_role_bindings)]
pub struct Binding {
    /// The group.
    pub group_id: Uuid,
    /// The role its members (direct and inherited) get.
    pub role_name: String,
}

/// The tenant's bindings, by group then role.
pub async fn bindings(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<Binding>> {
    group_role_bindings::table
        .filter(group_role_bindings::tenant_id.eq(tenant_id))
        .order((group_role_bindings::group_id, group_role_bindings::role_name))
        .select(Binding::as_select())
        .load(conn)
        .await
}

/// Bind a role to a group; false when the binding already existed.
pub async fn bind(
    conn: &mut Conn,
    tenant_id: Uuid,
    group: Uuid,
    role: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::insert_into(group_role_bindings::table)
        .values((
            group_role_bindings::tenant_id.eq(tenant_id),
            group_role_bindings::group_id.eq(group),
            group_role_bindings::role_name.eq(role),
            group_role_bindings::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Remove a binding; false when there was none.
pub async fn unbind(conn: &mut Conn, tenant_id: Uuid, group: Uuid, role: &str) -> QueryResult<bool> {
    let n = diesel::delete(
        group_role_bindings::table.filter(
            group_role_bindings::tenant_id
                .eq(tenant_id)
                .and(group_role_bindings::group_id.eq(group))
                .and(group_role_bindings::role_name.eq(role)),
        ),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Set the group role (`member` / `manager`) of a direct membership; false when there is no
/// such membership.
pub async fn set_group_role(
    conn: &mut Conn,
    tenant_id: Uuid,
    group: Uuid,
    member: Uuid,
    group_role: &str,
) -> QueryResult<bool> {
    let n = diesel::update(
        group_members::table.filter(
            group_members::tenant_id
                .eq(tenant_id)
                .and(group_members::group_id.eq(group))
                .and(group_members::member_id.eq(member)),
        ),
    )
    .set(group_members::group_role.eq(group_role))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Match every member's stored SCIM `roles` values against the catalog again (after a role is
/// added, members that already named it get it).
pub async fn rematch_scim_roles(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE users u SET scim_roles = ARRAY( \
             SELECT r.name FROM roles r WHERE r.tenant_id = u.tenant_id AND r.name_key IN ( \
                 SELECT lower(btrim(e ->> 'value')) FROM jsonb_array_elements(u.resource -> 'roles') e) \
             ORDER BY r.rank DESC) \
         WHERE u.tenant_id = $1 AND u.status <> 'removed' AND jsonb_typeof(u.resource -> 'roles') = 'array'",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .execute(conn)
    .await
    .map(drop)
}
