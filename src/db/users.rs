//! Members (SCIM Users): typed identity columns plus the full resource in `resource`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::schema::users;
use super::tenants::LiveToken;
use super::Conn;
use crate::scim::resource::fold_key;

/// Lifecycle status values (DESIGN §2).
pub mod status {
    /// Created by provisioning, not yet invited.
    pub const PROVISIONED: &str = "provisioned";
    /// Invited at least once, never joined.
    pub const INVITED: &str = "invited";
    /// Joined (logged in at least once).
    pub const ACTIVE: &str = "active";
    /// Deactivated (`active=false`): access revoked, memberships kept.
    pub const SUSPENDED: &str = "suspended";
    /// Deleted over SCIM: invisible to SCIM, row kept for the directory.
    pub const REMOVED: &str = "removed";
}

/// A member as read for SCIM.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Member id.
    pub id: Uuid,
    /// The canonical SCIM attributes (no id, meta, schemas or password).
    pub resource: Value,
    /// Lifecycle status.
    pub status: String,
    /// Argon2 hash of the password, if one was set.
    pub password_hash: Option<String>,
    /// Row version.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub last_modified: DateTime<Utc>,
}

/// The typed columns derived from a resource; written on every create and replace.
#[derive(Debug, Clone, AsChangeset, Insertable, serde::Serialize)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct UserColumns {
    /// userName as sent.
    pub user_name: String,
    /// Folded userName (unique per tenant among non-removed members).
    pub user_name_key: String,
    /// externalId.
    pub external_id: Option<String>,
    /// displayName.
    pub display_name: Option<String>,
    /// name.givenName.
    pub given_name: Option<String>,
    /// name.familyName.
    pub family_name: Option<String>,
    /// The primary (or first) email value.
    pub email: Option<String>,
    /// title.
    pub title: Option<String>,
    /// active.
    pub active: bool,
    /// Lifecycle status.
    pub status: String,
    /// Lower-cased values of every email (GIN-indexed for `emails` filters).
    pub email_keys: Vec<String>,
    /// The whole resource (a [`RowWrite`] takes it from the member written, not from here).
    #[serde(skip)]
    pub resource: Value,
}

/// A member row's new columns as the write's follow-up writes them (`roster_members_written`,
/// migration 000029): in the same UPDATE as its roles and position, with the version bumped and
/// `last_modified` set, or for a new member inserted whole with them, so that a POST, PUT or
/// PATCH writes one row version in one statement. Every column is sent; `password_hash` null
/// clears it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RowWrite<'a> {
    /// The columns derived from the resource.
    #[serde(flatten)]
    pub columns: &'a UserColumns,
    /// The resource stored.
    pub resource: &'a Map<String, Value>,
    /// The password's hash, or none.
    pub password_hash: Option<&'a str>,
    /// For a new member: inserted (version 1, created now) instead of updated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insert: Option<NewRow>,
    /// For an update computed from the member as read ([`Locked::seen`]): written only if the
    /// row is still that version; otherwise the statement fails with `serialization_failure`
    /// and writes nothing (`roster_members_written_logged`, migration 000034).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<&'a str>,
}

/// What only a new member's row has: who created it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewRow {
    /// The connection that provisioned it; none when an admin created it.
    pub connection_id: Option<Uuid>,
    /// `scim` with a connection, `admin` without.
    pub origin: &'static str,
}

impl NewRow {
    /// A member created over SCIM (with its connection) or by an admin (without).
    pub fn by(connection_id: Option<Uuid>) -> NewRow {
        NewRow { connection_id, origin: if connection_id.is_some() { "scim" } else { "admin" } }
    }
}

fn text(resource: &Map<String, Value>, key: &str) -> Option<String> {
    resource.get(key).and_then(Value::as_str).map(str::to_string)
}

fn primary_email(resource: &Map<String, Value>) -> Option<String> {
    let emails = resource.get("emails")?.as_array()?;
    let primary = emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| <[Value]>::first(emails))?;
    primary.get("value").and_then(Value::as_str).map(str::to_string)
}

fn email_keys(resource: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<String> = resource
        .get("emails")
        .and_then(Value::as_array)
        .map(|emails| {
            emails
                .iter()
                .filter_map(|e| e.get("value").and_then(Value::as_str))
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default();
    keys.sort();
    keys.dedup();
    keys
}

impl UserColumns {
    /// Derive the columns from a normalised resource (which has a userName: the schema requires it).
    pub fn from_resource(resource: Map<String, Value>, status: &str) -> Self {
        let user_name = text(&resource, "userName").unwrap_or_default();
        let name = resource.get("name").and_then(Value::as_object);
        let name_part = |k: &str| name.and_then(|n| n.get(k)).and_then(Value::as_str).map(str::to_string);
        UserColumns {
            user_name_key: fold_key(&user_name),
            user_name,
            external_id: text(&resource, "externalId"),
            display_name: text(&resource, "displayName"),
            given_name: name_part("givenName"),
            family_name: name_part("familyName"),
            email: primary_email(&resource),
            title: text(&resource, "title"),
            active: resource.get("active").and_then(Value::as_bool).unwrap_or(true),
            status: status.to_string(),
            email_keys: email_keys(&resource),
            resource: Value::Object(resource),
        }
    }
}

/// The diesel traits of an expression whose SQL is fixed text naming `"users"` columns (its
/// `QueryFragment` is written by hand): of type `$sql_type`, usable wherever `users` is in the
/// query, never an aggregate.
macro_rules! static_sql_expression {
    ($name:ty, $sql_type:ty) => {
        impl diesel::expression::Expression for $name {
            type SqlType = $sql_type;
        }
        impl<QS> diesel::expression::AppearsOnTable<QS> for $name where
            users::id: diesel::expression::AppearsOnTable<QS>
        {
        }
        impl<QS> diesel::expression::SelectableExpression<QS> for $name where
            $name: diesel::expression::AppearsOnTable<QS>
        {
        }
        impl diesel::expression::ValidGrouping<()> for $name {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }
    };
}

/// An expression on `users` written as fixed text (`$sql`), no parameter: the unit struct
/// `$name`, a condition unless another SQL type is named. Unlike diesel's `sql()`, it keeps the
/// statement prepared.
macro_rules! literal_condition {
    ($(#[$doc:meta])* $name:ident = $sql:ident) => {
        literal_condition! { $(#[$doc])* $name: diesel::sql_types::Bool = $sql }
    };
    ($(#[$doc:meta])* $name:ident: $sql_type:ty = $sql:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
        pub(crate) struct $name;

        static_sql_expression!($name, $sql_type);

        impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for $name {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
            ) -> QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }
    };
}

literal_condition! {
    /// `users.status <> 'removed'`, with the value in the statement's text rather than a bind
    /// parameter: only then can PostgreSQL's generic plan of a prepared statement prove the
    /// predicate of the partial indexes (`users_user_name_key`, `users_visible_id`, … `WHERE
    /// status <> 'removed'`). With a parameter it could not, so the `userName eq` probe was
    /// either planned again on every call or, generic, searched the trigram index (180 ms at 1M
    /// members).
    NotRemoved = NOT_REMOVED_SQL
}

/// The SQL of [`NotRemoved`]; a test checks it names [`status::REMOVED`].
const NOT_REMOVED_SQL: &str = "\"users\".\"status\" <> 'removed'";

literal_condition! {
    /// `users.status = 'removed' AND users.scrubbed_at IS NULL` in the statement's text, for the
    /// same reason as [`NotRemoved`]: the predicate of the partial indexes the restore probe
    /// reads (`users_removed`, `users_removed_name`, migration 000033).
    RemovedUnscrubbed = REMOVED_UNSCRUBBED_SQL
}

/// The SQL of [`RemovedUnscrubbed`]; a test checks it names [`status::REMOVED`].
const REMOVED_UNSCRUBBED_SQL: &str =
    "(\"users\".\"status\" = 'removed' AND \"users\".\"scrubbed_at\" IS NULL)";

literal_condition! {
    /// The row version of a member as read (`xmin`, as text): what a write computed from a
    /// member read without a lock writes only ([`RowWrite::seen`]).
    RowVersion: diesel::sql_types::Text = ROW_VERSION_SQL
}

/// The SQL of [`RowVersion`].
const ROW_VERSION_SQL: &str = "\"users\".\"xmin\"::text";

/// Members of the tenant visible to SCIM (not removed).
pub(crate) fn visible(
    tenant_id: Uuid,
) -> diesel::dsl::And<diesel::dsl::Eq<users::tenant_id, Uuid>, NotRemoved> {
    users::tenant_id.eq(tenant_id).and(NotRemoved)
}

/// A member visible to SCIM (not removed).
pub async fn find(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(visible(tenant_id).and(users::id.eq(id)))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The JSON array SCIM shows as a member's direct groups, aggregated over `group_members gm JOIN
/// groups g` (the same shape as `roster_member_groups_json`, migration 000027), in no order:
/// `directory::users` sorts a member's groups (an aggregate's `ORDER BY` sets up a sort on every
/// execution, rows or not: 15 % of PostgreSQL's CPU on a member read, issue #10). A macro, so
/// that the statements that embed it stay literal (and prepared once per connection).
macro_rules! direct_groups_json {
    () => {
        "jsonb_agg(jsonb_build_object('value', g.id, 'display', g.display_name, 'type', 'direct', \
                                      'role', gm.group_role))"
    };
}
pub(crate) use direct_groups_json;

/// The `groups` of the row of `users` a statement reads, when `want`: its direct groups, one
/// record each ([`DirectGroup`]), with whether the group has a parent or is itself a member of a
/// group (`groups.nested`, migration 000042); when one is, the reader asks
/// `roster_member_groups_json` for the tree walk in a second statement ([`walked`]). Records, in
/// no order, not JSON: PostgreSQL sets up every expression of the statement on every execution,
/// whether the member has groups or not, and a `jsonb_agg` of `jsonb_build_object`s, an
/// aggregate's `ORDER BY`, a `bool_or` and an `EXISTS` per group cost more to set up than the
/// rest of the read (issue #10; `benches/README.md`, "A member's groups read as records"). No
/// function in the statement either: a function call's set-up was 14 % of the read's PostgreSQL
/// CPU. A fixed text with a static query id, so diesel keeps it prepared.
#[derive(Debug, Clone, Copy)]
struct MemberGroups {
    want: bool,
}

impl diesel::query_builder::QueryId for MemberGroups {
    type QueryId = MemberGroups;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// One direct group of a member as [`MemberGroups`] reads it: id, name, the member's role in it,
/// and whether the group has a parent or is nested in another.
type DirectGroup = (Uuid, String, String, bool);

static_sql_expression!(
    MemberGroups,
    diesel::sql_types::Nullable<
        diesel::sql_types::Array<
            diesel::sql_types::Record<(
                diesel::sql_types::Uuid,
                diesel::sql_types::Text,
                diesel::sql_types::Text,
                diesel::sql_types::Bool,
            )>,
        >,
    >
);

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for MemberGroups {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql("CASE WHEN ");
        out.push_bind_param::<diesel::sql_types::Bool, _>(&self.want)?;
        out.push_sql(concat!(
            " THEN (SELECT array_agg(ROW(g.id, g.display_name, gm.group_role, ",
            "g.parent_id IS NOT NULL OR g.nested)) ",
            "FROM group_members gm JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id ",
            "WHERE gm.tenant_id = \"users\".\"tenant_id\" AND gm.member_id = \"users\".\"id\") END"
        ));
        Ok(())
    }
}

diesel::define_sql_function! {
    /// `roster_member_groups_json` (migration 000027): a member's effective groups, the tree walked.
    fn roster_member_groups_json(tenant: diesel::sql_types::Uuid, member: diesel::sql_types::Uuid, want: diesel::sql_types::Bool) -> diesel::sql_types::Nullable<diesel::sql_types::Jsonb>;
}

/// The member's groups as [`MemberGroups`] read them, in the shape of `roster_member_groups_json`
/// (`[{value, display, type, role}]`), the tree walked (a second statement) when one of them has
/// a parent or is nested.
async fn walked(
    conn: &mut Conn,
    tenant: Uuid,
    member: Uuid,
    groups: Option<Vec<DirectGroup>>,
) -> QueryResult<Option<Value>> {
    let Some(groups) = groups else { return Ok(None) };
    if groups.iter().any(|g| g.3) {
        return diesel::select(roster_member_groups_json(tenant, member, true)).get_result(conn).await;
    }
    let direct = groups.into_iter().map(|(id, display, role, _)| {
        serde_json::json!({"value": id, "display": display, "type": "direct", "role": role})
    });
    Ok(Some(Value::Array(direct.collect())))
}

/// The columns of a member's row its representation needs, its stored resource as the text
/// PostgreSQL sends (written through without being parsed into a tree, or parsed where a write
/// needs it).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct ViewRow {
    /// Member id.
    pub id: Uuid,
    /// The canonical SCIM attributes (no id, meta, schemas or password).
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub resource: super::search::MemberJson,
    /// Lifecycle status.
    pub status: String,
    /// Row version.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub last_modified: DateTime<Utc>,
}

/// A member as SCIM shows it: the row, its effective role, its position, and (when asked) its
/// effective groups as `[{value, display, type}]`.
#[derive(Debug)]
pub struct UserView {
    /// The row.
    pub row: ViewRow,
    /// Effective role.
    pub role: Option<String>,
    /// Position name.
    pub position: Option<String>,
    /// Effective groups, when asked for and the member has any.
    pub groups: Option<Value>,
}

/// Which member [`find_view`] reads.
#[derive(Debug, Clone, Copy)]
pub enum ViewKey<'a> {
    /// By id.
    Id(Uuid),
    /// By folded userName (`user_name_key`, unique among visible members): the IdPs'
    /// `filter=userName eq "…"` probe.
    UserNameKey(&'a str),
}

/// The statement of [`find_view`] and [`find_view_as`]: `$from` (the members, or the caller's
/// token left-joined with them) filtered by `$filter`, read as the `$lead` columns, then the
/// member's row, role, position (its name, by primary key) and groups.
macro_rules! member_view {
    ($from:expr, $filter:expr, ($($lead:expr,)*) $row:expr, $role:expr, $want:expr, $conn:expr) => {{
        use super::schema::positions;
        // A scalar sub-select by primary key, not a join: the join was planned as a scan of the
        // tenant's positions behind a join filter, 7 % of the read (issue #10).
        let position = positions::table
            .filter(positions::tenant_id.eq(users::tenant_id).and(users::position_id.eq(positions::id.nullable())))
            .select(positions::name)
            .single_value();
        $from
            .filter($filter)
            .select(($($lead,)* $row, $role, position, MemberGroups { want: $want }))
            .first($conn)
            .await
            .optional()?
    }};
}

/// A member visible to SCIM with everything its representation needs, in one prepared statement
/// (one per [`ViewKey`] kind, so PostgreSQL plans each once per connection); a member of a nested
/// group takes a second, for the tree walk ([`MemberGroups`]).
pub async fn find_view(
    conn: &mut Conn,
    tenant_id: Uuid,
    key: ViewKey<'_>,
    want_groups: bool,
) -> QueryResult<Option<UserView>> {
    type Found = (ViewRow, Option<String>, Option<String>, Option<Vec<DirectGroup>>);
    let found: Option<Found> = match key {
        ViewKey::Id(id) => {
            let filter = visible(tenant_id).and(users::id.eq(id));
            member_view!(users::table, filter, () ViewRow::as_select(), users::effective_role, want_groups, conn)
        }
        ViewKey::UserNameKey(k) => {
            let filter = visible(tenant_id).and(users::user_name_key.eq(k));
            member_view!(users::table, filter, () ViewRow::as_select(), users::effective_role, want_groups, conn)
        }
    };
    let Some((row, role, position, groups)) = found else { return Ok(None) };
    let groups = walked(conn, tenant_id, row.id, groups).await?;
    Ok(Some(UserView { row, role, position, groups }))
}

/// The caller's token, for the reads that check it in their own statement ([`find_view_as`]).
#[derive(Debug, Clone, Copy)]
pub struct TokenKey {
    /// The tenant the token names (its rows are the only ones read).
    pub tenant: Uuid,
    /// The connection it names.
    pub connection: Uuid,
    /// Its id.
    pub token: Uuid,
    /// When it is checked (an expired token is not live).
    pub now: DateTime<Utc>,
}

/// [`find_view`] and the token check of [`super::tenants::live_token`] in one statement: the
/// token's row, joined with the member when there is one. `None` when the token is not live (and
/// then nothing of the member is read out); otherwise the token's standing and the member, if
/// visible: one statement for an IdP's `GET /Users/{id}` and its `userName eq` probe, found or
/// not (two for a member of a nested group, [`MemberGroups`]).
pub async fn find_view_as(
    conn: &mut Conn,
    token: TokenKey,
    key: ViewKey<'_>,
    want_groups: bool,
) -> QueryResult<Option<(LiveToken, Option<UserView>)>> {
    use super::schema::connection_tokens;
    use super::tenants::{token_is_live, STANDING};
    type Found = ((String, i64), Option<ViewRow>, Option<String>, Option<String>, Option<Vec<DirectGroup>>);
    let live = token_is_live(token.tenant, token.connection, token.token, token.now);
    let found: Option<Found> = match key {
        ViewKey::Id(id) => {
            let member = users::table.on(visible(token.tenant).and(users::id.eq(id)));
            member_view!(connection_tokens::table.left_join(member), live, (STANDING,) Option::<ViewRow>::as_select(),
                         users::effective_role.nullable(), want_groups, conn)
        }
        ViewKey::UserNameKey(k) => {
            let member = users::table.on(visible(token.tenant).and(users::user_name_key.eq(k.to_string())));
            member_view!(connection_tokens::table.left_join(member), live, (STANDING,) Option::<ViewRow>::as_select(),
                         users::effective_role.nullable(), want_groups, conn)
        }
    };
    let Some(((quirk_mode, settings_version), row, role, position, groups)) = found else { return Ok(None) };
    let live = LiveToken { quirk_mode, settings_version };
    let Some(row) = row else { return Ok(Some((live, None))) };
    let groups = walked(conn, token.tenant, row.id, groups).await?;
    Ok(Some((live, Some(UserView { row, role, position, groups }))))
}

/// A member read for a write: its row locked until the transaction ends ([`find_for_update`]),
/// or read without a lock, the write then made only on the version read ([`find_as`],
/// [`Locked::seen`]).
#[derive(Debug, Clone)]
pub struct Locked {
    /// The member as stored.
    pub row: UserRow,
    /// Its effective role grants admin: only then can suspending or removing it leave the
    /// tenant without a live org admin (`directory::write::guard_member`).
    pub holds_admin: bool,
    /// Invitations sent so far (what a reactivated member's status follows).
    pub invitation_count: i32,
    /// It has joined (logged in once).
    pub joined: bool,
    /// The row version read (its `xmin`): a write computed from a member read without a lock
    /// writes only this version ([`RowWrite::seen`]).
    pub seen: String,
}

/// The member as a write reads it ([`Locked`]): the row, whether its effective role grants
/// admin, its invitation state and its row version (a macro: with and without `FOR UPDATE` the
/// statements are of two types).
macro_rules! member_for_write {
    ($tenant:expr, $id:expr) => {{
        users::table.filter(visible($tenant).and(users::id.eq($id))).select((
            UserRow::as_select(),
            HoldsAdmin,
            users::invitation_count,
            users::joined_at,
            RowVersion,
        ))
    }};
}

/// Like [`find`], locking the row until the transaction ends, with whether the member's
/// effective role grants admin and its invitation state (read in the same statement; the lock
/// keeps them so).
pub async fn find_for_update(conn: &Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Locked>> {
    let mut conn = conn;
    let found = member_for_write!(tenant_id, id).for_update().first(&mut conn).await.optional()?;
    Ok(found.map(Locked::from_row))
}

/// [`find_for_update`] without the lock: the member as it stands, for a write that writes only
/// the row version it read ([`Locked::seen`]), and the caller's token check, in one statement:
/// the token's row, left-joined with the member (as [`find_view_as`] reads it for GET). `None`
/// when the token is not live, and then nothing of the member is read out.
pub async fn find_as(
    conn: &Conn,
    token: TokenKey,
    id: Uuid,
) -> QueryResult<Option<(LiveToken, Option<Locked>)>> {
    use super::schema::connection_tokens;
    use super::tenants::{token_is_live, STANDING};
    type Found = ((String, i64), Option<UserRow>, bool, Option<i32>, Option<DateTime<Utc>>, Option<String>);
    let mut conn = conn;
    let member = users::table.on(visible(token.tenant).and(users::id.eq(id)));
    let found: Option<Found> = connection_tokens::table
        .left_join(member)
        .filter(token_is_live(token.tenant, token.connection, token.token, token.now))
        .select((
            STANDING,
            Option::<UserRow>::as_select(),
            HoldsAdmin,
            users::invitation_count.nullable(),
            users::joined_at.nullable(),
            RowVersion.nullable(),
        ))
        .first(&mut conn)
        .await
        .optional()?;
    Ok(found.map(|((quirk_mode, settings_version), row, holds_admin, invitation_count, joined_at, seen)| {
        let live = LiveToken { quirk_mode, settings_version };
        let member = match (row, invitation_count, seen) {
            (Some(row), Some(invitation_count), Some(seen)) => {
                Some(Locked::from_row((row, holds_admin, invitation_count, joined_at, seen)))
            }
            _ => None,
        };
        (live, member)
    }))
}

literal_condition! {
    /// Whether the member's effective role grants admin ([`Locked::holds_admin`]); false where
    /// a left join found no member ([`find_as`]).
    HoldsAdmin = HOLDS_ADMIN_SQL
}

/// The SQL of [`HoldsAdmin`].
const HOLDS_ADMIN_SQL: &str =
    "EXISTS (SELECT 1 FROM \"roles\" WHERE \"roles\".\"tenant_id\" = \"users\".\"tenant_id\" \
     AND \"roles\".\"name\" = \"users\".\"effective_role\" AND \"roles\".\"grants_admin\")";

impl Locked {
    fn from_row((row, holds_admin, invitation_count, joined_at, seen): ForWrite) -> Locked {
        Locked { row, holds_admin, invitation_count, joined: joined_at.is_some(), seen }
    }
}

/// A row of [`member_for_write`].
type ForWrite = (UserRow, bool, i32, Option<DateTime<Utc>>, String);

/// `read` and the token check of `token` ([`super::tenants::live_token`]) in one round trip:
/// both statements are sent before either answer is read (diesel-async pipelines the queries of
/// futures polled together on one connection). `None` when the token is not live, and then
/// nothing `read` found is handed out; otherwise the token's standing and what `read` found.
async fn with_token_check<T>(
    conn: &Conn,
    token: TokenKey,
    read: impl std::future::Future<Output = QueryResult<T>>,
) -> QueryResult<Option<(LiveToken, T)>> {
    let TokenKey { tenant, connection, token: token_id, now } = token;
    // Both answered before either is looked at: the connection reads every answer in order.
    let (live, found) =
        futures_util::future::join(super::tenants::live_token(conn, tenant, connection, token_id, now), read)
            .await;
    match live? {
        Some(live) => Ok(Some((live, found?))),
        None => Ok(None),
    }
}

/// [`remove`]'s statement: the member is locked only if it is still the row version read (`$4`)
/// and no other transaction holds it (`SKIP LOCKED`: the statement never waits, so what it reads
/// is never older than a lock it took); then marked removed and taken out of every group
/// ([`super::groups::leave_everywhere`]), and its events and log row written: a membership
/// event per group left (the template `$6` with its `group_id` filled, in group order), then
/// `$8`. When the member was not locked, `roster_member_changed_since_read` (migration 000035)
/// fails the statement, and nothing it did is kept.
const REMOVE: &str = concat!(
    "WITH target AS ( \
         SELECT tenant_id, id FROM users \
         WHERE tenant_id = $1 AND id = $2 AND status <> 'removed' AND xmin::text = $4 \
         FOR UPDATE SKIP LOCKED), \
     removed AS ( \
         UPDATE users u SET status = 'removed', active = false, removed_at = $3, version = u.version + 1, \
                            last_modified = $3 \
         FROM target t WHERE u.tenant_id = t.tenant_id AND u.id = t.id RETURNING u.id), ",
    super::groups::leave_everywhere!(),
    ", ev AS ( \
         SELECT 0 AS ord, g.group_id, $5::text AS kind, \
                jsonb_set($6::jsonb, '{group_id}', to_jsonb(g.group_id)) AS payload \
         FROM gone g \
         UNION ALL SELECT 1, NULL, $7::text, $8::jsonb FROM removed) \
     SELECT CASE WHEN bool_or(ord = 1) \
                 THEN roster_events_logged($1, array_agg($2::uuid ORDER BY ord, group_id), \
                                           array_agg(kind ORDER BY ord, group_id), \
                                           array_agg(payload ORDER BY ord, group_id), $3, $9) \
                 ELSE roster_member_changed_since_read($2) END \
     FROM ev"
);

/// The events of a member's removal, as [`remove`] writes them.
#[derive(Debug, Clone)]
pub struct Removal<'a> {
    /// The event of each membership that ends, with any group id: the statement sets the
    /// payload's `group_id` to each group's (a unit test checks the key).
    pub membership: &'a crate::events::NewEvent,
    /// The member's own event, written after the memberships'.
    pub removed: &'a crate::events::NewEvent,
}

/// Remove a member in one statement, if it is still the row version `seen` ([`Locked::seen`])
/// and not held by another transaction: marked removed (invisible to SCIM, userName free, row
/// and id kept, version bumped), out of every group (their versions bumped), its events and the
/// request's log row (`log`, when there is one) written. Otherwise it fails with the refusal
/// [`super::changed_since_read`] recognises, having written nothing; a caller that holds the
/// member's lock never meets that.
pub async fn remove(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    seen: &str,
    now: DateTime<Utc>,
    events: Removal<'_>,
    log: Option<Value>,
) -> QueryResult<()> {
    use diesel::sql_types::{Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    // 'removed' is `status::REMOVED` (a unit test keeps the two equal).
    let statement = diesel::sql_query(REMOVE)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(id)
        .bind::<Timestamptz, _>(now)
        .bind::<Text, _>(seen)
        .bind::<Text, _>(events.membership.kind.as_str())
        .bind::<Jsonb, _>(&events.membership.payload)
        .bind::<Text, _>(events.removed.kind.as_str())
        .bind::<Jsonb, _>(&events.removed.payload)
        .bind::<Nullable<Jsonb>, _>(log);
    super::prepared::Prepared(statement).execute(conn).await.map(drop)
}

/// Which of `ids` are members visible to SCIM in the tenant.
pub async fn existing_ids(conn: &mut Conn, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    users::table.filter(visible(tenant_id).and(users::id.eq_any(ids))).select(users::id).load(conn).await
}

/// One group a member belongs to, directly or through nested groups.
#[derive(Debug, Clone, QueryableByName)]
pub struct MemberGroup {
    /// The member.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub member_id: Uuid,
    /// The group.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub group_id: Uuid,
    /// Its displayName.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub display: String,
    /// `direct` or `indirect`.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: String,
    /// The group role of a direct membership (`member` or `manager`); `member` for an inherited one.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub group_role: String,
}

/// The effective groups (direct and inherited) of the given members, one query for all.
pub async fn groups_of(
    conn: &mut Conn,
    tenant_id: Uuid,
    member_ids: &[Uuid],
) -> QueryResult<Vec<MemberGroup>> {
    diesel::sql_query(
        "SELECT m.id AS member_id, g.group_id, g.display, g.type AS kind, \
                coalesce(gm.group_role, 'member') AS group_role \
         FROM unnest($2::uuid[]) AS m(id) CROSS JOIN LATERAL roster_member_groups($1, m.id) AS g \
         LEFT JOIN group_members gm ON gm.tenant_id = $1 AND gm.group_id = g.group_id AND gm.member_id = m.id \
         ORDER BY m.id, g.display, g.group_id",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(member_ids)
    .load(conn)
    .await
}

/// A member's invitation state and status, read (and locked) whatever its status.
#[derive(Debug, Clone, Queryable)]
pub struct InvitationState {
    /// Lifecycle status.
    pub status: String,
    /// Invitations sent so far.
    pub invitation_count: i32,
    /// When the last invitation was sent.
    pub last_invited_at: Option<DateTime<Utc>>,
    /// When it first logged in.
    pub joined_at: Option<DateTime<Utc>>,
    /// When it last logged in.
    pub last_login_at: Option<DateTime<Utc>>,
}

/// The invitation state of a member (removed ones included), locking its row.
pub async fn invitation_state_for_update(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<InvitationState>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id).and(users::id.eq(id)))
        .select((
            users::status,
            users::invitation_count,
            users::last_invited_at,
            users::joined_at,
            users::last_login_at,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Store a member's invitation state and status (not a SCIM attribute: the version is kept).
pub async fn set_invitation_state(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    state: &InvitationState,
) -> QueryResult<()> {
    diesel::update(users::table.filter(users::tenant_id.eq(tenant_id).and(users::id.eq(id))))
        .set((
            users::status.eq(&state.status),
            users::invitation_count.eq(state.invitation_count),
            users::last_invited_at.eq(state.last_invited_at),
            users::joined_at.eq(state.joined_at),
            users::last_login_at.eq(state.last_login_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A removed member that re-provisioning restores: its id, creation time and version.
#[derive(Debug, Clone, Queryable)]
pub struct Restorable {
    /// The member id to restore.
    pub id: Uuid,
    /// When it was first created.
    pub created_at: DateTime<Utc>,
    /// Its row version.
    pub version: i64,
    /// Invitations sent so far (kept while removed).
    pub invitation_count: i32,
    /// When it first logged in, if ever.
    pub joined_at: Option<DateTime<Utc>>,
    /// When it was removed.
    pub removed_at: Option<DateTime<Utc>>,
}

impl Restorable {
    /// Still restorable: removed after `cutoff`, the start of the tenant's retention period.
    pub fn within(&self, cutoff: DateTime<Utc>) -> bool {
        self.removed_at.is_some_and(|at| at > cutoff)
    }
}

/// Which removed member a create would bring back (DESIGN §2): the one with the same externalId
/// from the same connection when one is sent (externalId is scoped to its provisioning domain),
/// otherwise the one with the same userName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreKey {
    /// Same externalId, same connection.
    External {
        /// The connection creating the member.
        connection: Uuid,
        /// Its externalId.
        external_id: String,
    },
    /// Same folded userName (`user_name_key`).
    UserName(String),
}

impl RestoreKey {
    /// The key of a member created by `connection` (none: an admin) with these columns.
    pub fn of(connection: Option<Uuid>, external_id: Option<&str>, user_name_key: &str) -> RestoreKey {
        match connection.zip(external_id) {
            Some((connection, external_id)) => {
                RestoreKey::External { connection, external_id: external_id.to_string() }
            }
            None => RestoreKey::UserName(user_name_key.to_string()),
        }
    }
}

/// `$body`, with `$removed` the condition on `users` naming the removed, unscrubbed members of
/// tenant `$tenant` under restore key `$key` (a [`RestoreKey`]): the one statement of which
/// removed member a create brings back, for [`restorable`] and the guard of a one-statement
/// create (`super::roles::members_written_as`). A macro: the two keys are conditions of two
/// types, each kept a prepared statement of its own.
macro_rules! removed_under {
    ($tenant:expr, $key:expr, |$removed:ident| $body:expr) => {{
        use $crate::db::schema::users;
        use $crate::db::users::{RemovedUnscrubbed, RestoreKey};
        let removed = users::tenant_id.eq($tenant).and(RemovedUnscrubbed);
        match $key {
            RestoreKey::External { connection, external_id } => {
                let $removed =
                    removed.and(users::external_id.eq(external_id)).and(users::connection_id.eq(connection));
                $body
            }
            RestoreKey::UserName(user_name_key) => {
                let $removed = removed.and(users::user_name_key.eq(user_name_key));
                $body
            }
        }
    }};
}
pub(crate) use removed_under;

/// The most recently removed member under `key` that is not yet scrubbed, however long ago it
/// was removed: whether it is still restorable is the tenant's retention period's to say
/// ([`Restorable::within`]), so the probe needs nothing of the tenant's settings (and can be sent
/// with the caller's token check, [`restorable_as`]). The most recent one is the only candidate:
/// if it is too old, so is every other.
pub async fn restorable(conn: &Conn, tenant_id: Uuid, key: &RestoreKey) -> QueryResult<Option<Restorable>> {
    let mut conn = conn;
    let columns = (
        users::id,
        users::created_at,
        users::version,
        users::invitation_count,
        users::joined_at,
        users::removed_at,
    );
    removed_under!(tenant_id, key, |removed| {
        users::table
            .filter(removed)
            .order(users::removed_at.desc())
            .select(columns)
            .first(&mut conn)
            .await
            .optional()
    })
}

/// [`restorable`] and the caller's token check in one round trip ([`with_token_check`]): `None`
/// when the token is not live, otherwise its standing and what the probe found. Both only read,
/// so nothing is held when the token is dead.
pub async fn restorable_as(
    conn: &Conn,
    token: TokenKey,
    key: &RestoreKey,
) -> QueryResult<Option<(LiveToken, Option<Restorable>)>> {
    with_token_check(conn, token, restorable(conn, token.tenant, key)).await
}

/// Bring a removed member back with new attributes; false if it is no longer removed (a
/// concurrent request restored it first).
pub async fn restore(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    connection_id: Option<Uuid>,
    columns: &UserColumns,
    password_hash: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n =
        diesel::update(users::table.filter(
            users::tenant_id.eq(tenant_id).and(users::id.eq(id)).and(users::status.eq(status::REMOVED)),
        ))
        .set((
            columns,
            users::connection_id.eq(connection_id),
            users::password_hash.eq(password_hash),
            users::removed_at.eq(None::<DateTime<Utc>>),
            users::version.eq(users::version + 1),
            users::last_modified.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Scrub the personal data of up to `batch` members removed longer ago than their tenant's
/// retention period; the row and id stay. Returns how many were scrubbed.
pub async fn scrub_removed(conn: &mut Conn, now: DateTime<Utc>, batch: i64) -> QueryResult<usize> {
    use diesel::sql_types::{BigInt, Timestamptz};
    diesel::sql_query(
        "WITH doomed AS ( \
             SELECT u.tenant_id, u.id FROM users u JOIN tenants t ON t.id = u.tenant_id \
             WHERE u.status = 'removed' AND u.scrubbed_at IS NULL \
               AND u.removed_at <= $1 - make_interval(days => t.member_retention_days) \
             LIMIT $2 FOR UPDATE OF u SKIP LOCKED) \
         UPDATE users u SET user_name = 'removed:' || u.id, user_name_key = 'removed:' || u.id, \
             external_id = NULL, display_name = NULL, given_name = NULL, family_name = NULL, email = NULL, \
             title = NULL, email_keys = '{}', password_hash = NULL, resource = '{}'::jsonb, scrubbed_at = $1, \
             personal_id = NULL, comment = NULL \
         FROM doomed WHERE u.tenant_id = doomed.tenant_id AND u.id = doomed.id",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(batch)
    .execute(conn)
    .await
}

#[cfg(test)]
mod visibility_tests {
    use super::*;

    #[test]
    fn removed_states_are_in_the_statement_text_so_generic_plans_can_use_the_partial_indexes() {
        let query = users::table.filter(visible(Uuid::nil())).select(users::id);
        let shown = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
        let (sql, binds) = shown.split_once("-- binds:").expect("debug_query lists the binds");
        assert!(sql.contains(&format!("\"users\".\"status\" <> '{}'", status::REMOVED)), "{sql}");
        assert!(!binds.contains(status::REMOVED), "the status must not be a parameter: {binds}");
        assert_eq!(NOT_REMOVED_SQL, format!("\"users\".\"status\" <> '{}'", status::REMOVED));
        let query =
            users::table.filter(users::tenant_id.eq(Uuid::nil()).and(RemovedUnscrubbed)).select(users::id);
        let shown = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
        assert!(shown.contains(&format!("\"users\".\"status\" = '{}' AND", status::REMOVED)), "{shown}");
    }

    #[test]
    fn a_member_read_for_a_write_stays_prepared_with_its_row_version() {
        // diesel's `sql()` literal makes a statement unsafe to cache: it was parsed and planned
        // again on every PATCH (+25 % of PostgreSQL's CPU per PATCH, measured).
        use diesel::pg::Pg;
        use diesel::query_builder::QueryFragment;
        fn cached<Q: QueryFragment<Pg>>(query: &Q) -> bool {
            query.is_safe_to_cache_prepared(&Pg).unwrap()
        }
        let read = || member_for_write!(Uuid::nil(), Uuid::nil());
        assert!(cached(&read()));
        assert!(cached(&read().for_update()));
        let shown = diesel::debug_query::<diesel::pg::Pg, _>(&read()).to_string();
        assert!(shown.contains(ROW_VERSION_SQL), "{shown}");
    }

    #[test]
    fn the_removal_writes_the_removed_status() {
        assert!(REMOVE.contains(&format!("SET status = '{}'", status::REMOVED)), "{REMOVE}");
        assert!(REMOVE.contains("DELETE FROM group_members"), "{REMOVE}");
        // The key of the membership template it fills (`directory::users`' unit test checks the
        // events name their group by it).
        assert!(REMOVE.contains("jsonb_set($6::jsonb, '{group_id}', "), "{REMOVE}");
    }
}
