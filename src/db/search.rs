//! List and search queries: one parameterised SQL statement per page (plus one exact count),
//! built from a filter, a sort and a window (offset, or a keyset position for cursors).

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::filter_sql::{column, resolve, Bind, Column, Sql, Translator};
use super::groups::GroupRow;
use super::prepared::Prepared;
use super::Conn;
use crate::error::{ScimError, ScimResult};
use crate::scim::cursor::{Direction, Position};
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::list::SortSpec;
use crate::scim::resource::fold_key;
use crate::scim::schema::{Registry, ResourceKind, USER_SCHEMA};

/// Which rows of the ordered result a page holds.
#[derive(Debug, Clone)]
pub enum Window {
    /// `OFFSET offset LIMIT limit` (index paging).
    Offset {
        /// Rows to skip.
        offset: i64,
        /// Rows to return.
        limit: i64,
    },
    /// Rows after / before a position (cursor paging), at most `limit`.
    Keyset {
        /// The boundary row, `None` for the first page.
        position: Option<Position>,
        /// Read forwards (after) or backwards (before) from it.
        direction: Direction,
        /// Rows to return.
        limit: i64,
    },
}

/// A page of rows with their sort keys, and the exact number of matching rows.
#[derive(Debug)]
pub struct Found<T> {
    /// All rows matching the filter.
    pub total: u64,
    /// The page, in result order, each with its sort key as text.
    pub rows: Vec<(T, Option<String>)>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A member as a list shows it: its row's columns a representation needs, plus what Roster's
/// User extension and `groups` need.
#[derive(Debug, QueryableByName)]
pub struct ListedUser {
    /// Member id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// The stored resource, as text (never parsed into a tree to be shown).
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub resource: MemberJson,
    /// Lifecycle status.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Row version.
    #[diesel(sql_type = BigInt)]
    pub version: i64,
    /// Creation time.
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub last_modified: chrono::DateTime<chrono::Utc>,
    /// Effective role.
    #[diesel(sql_type = Nullable<Text>)]
    pub role: Option<String>,
    /// Position name.
    #[diesel(sql_type = Nullable<Text>)]
    pub position: Option<String>,
    /// Effective groups `[{value, display, type}]`, when asked for and any.
    #[diesel(sql_type = Nullable<diesel::sql_types::Jsonb>)]
    pub groups: Option<serde_json::Value>,
}

/// A member's stored resource (a JSON object) as the text PostgreSQL sends for `jsonb`.
#[derive(Debug, diesel::deserialize::FromSqlRow)]
pub struct MemberJson(pub String);

impl diesel::deserialize::FromSql<diesel::sql_types::Jsonb, Pg> for MemberJson {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        // `jsonb`'s binary form is a version byte (1) and the text.
        match value.as_bytes().split_first() {
            Some((1, text)) => Ok(MemberJson(std::str::from_utf8(text)?.to_owned())),
            _ => Err("unsupported jsonb encoding version".into()),
        }
    }
}

#[derive(QueryableByName)]
struct KeyedUser {
    #[diesel(embed)]
    item: ListedUser,
    #[diesel(sql_type = Nullable<Text>)]
    sort_key: Option<String>,
}

#[derive(QueryableByName)]
struct KeyedGroup {
    #[diesel(embed)]
    item: GroupRow,
    #[diesel(sql_type = Nullable<Text>)]
    sort_key: Option<String>,
}

/// The sort column of a `sortBy` (singular attributes; `emails` sorts by the primary email).
fn sort_column(registry: &Registry, kind: ResourceKind, sort: &SortSpec) -> ScimResult<Column> {
    let target = resolve(registry, kind, &sort.by)
        .map_err(|e| ScimError::invalid_value(e.detail().replace("filter", "sortBy")))?;
    if target.attr.multi_valued {
        return match (kind, target.attr.name, target.sub.map(|s| s.name)) {
            (ResourceKind::User, "emails", None | Some("value")) => {
                Ok(Column::Text { sql: "r.email".into(), case_exact: false, folded: false })
            }
            _ => Err(ScimError::invalid_value(format!(
                "sortBy {} is multi-valued; sort by a singular attribute",
                target.attr.name
            ))),
        };
    }
    match column(kind, &target) {
        Ok(Column::Complex(_)) => {
            Err(ScimError::invalid_value("sortBy needs a sub-attribute of a complex attribute"))
        }
        Ok(c) => Ok(c),
        Err(e) => Err(ScimError::invalid_value(e.detail().to_string())),
    }
}

struct Statement {
    count_sql: String,
    count_binds: usize,
    page_sql: String,
    binds: Vec<Bind>,
    reverse: bool,
    /// Unsorted, and unfiltered (an IdP's full sync) or filtered by an IdP's probe ([`probe`]):
    /// the texts come from a small fixed set (kind, window, the probe's typed columns), so they
    /// are prepared once per connection instead of planned on every page. Any other filter's or
    /// a sort's text follows what the client sent (a sort or a filter may name any tenant's
    /// category attribute): planned every time, never kept on the connection.
    prepared: bool,
}

fn build(
    registry: &Registry,
    kind: ResourceKind,
    tenant: Uuid,
    filter: Option<&Filter>,
    sort: Option<&SortSpec>,
    window: &Window,
    select: &str,
) -> ScimResult<Statement> {
    let (table, visible) = match kind {
        ResourceKind::User => ("users", " AND r.status <> 'removed'"),
        ResourceKind::Group => ("groups", ""),
    };
    let mut sql = Sql::default();
    let t = sql.bind(Bind::Uuid(tenant));
    let select = select.replace("{tenant}", &t);
    let mut conditions = format!("r.tenant_id = {t}{visible}");
    let mut fixed_text = true;
    if let Some(f) = filter {
        let cond = Translator::new(registry, kind, &mut sql).with_tenant(&t).filter(f)?;
        // A typed column's text is fixed; an attribute read from the resource names it.
        fixed_text = probe(f) && !cond.contains("r.resource");
        conditions.push_str(&format!(" AND {cond}"));
    }
    // An unfiltered member list counts from the maintained per-tenant count (migration 000014).
    let count_sql = match (kind, filter) {
        (ResourceKind::User, None) => format!("SELECT roster_member_count({t}) AS n"),
        _ => format!("SELECT count(*) AS n FROM {table} r WHERE {conditions}"),
    };
    let count_binds = sql.binds.len();

    let sort_col = sort.map(|s| sort_column(registry, kind, s)).transpose()?;
    let key = sort_col.as_ref().map(Column::order_expr);
    let descending = sort.is_some_and(|s| s.descending);
    let (reverse, limit, offset) = match window {
        Window::Offset { offset, limit } => (false, *limit, Some(*offset)),
        Window::Keyset { direction, limit, .. } => (*direction == Direction::Before, *limit, None),
    };
    // Reading backwards flips the order; rows are put back in result order afterwards.
    let forward = descending == reverse;
    let (dir, nulls, gt) = if forward { ("ASC", "NULLS LAST", ">") } else { ("DESC", "NULLS FIRST", "<") };
    if let Window::Keyset { position: Some(pos), .. } = window {
        let id = sql.bind(Bind::Uuid(pos.id));
        let keyset = match (&key, &pos.key) {
            (None, _) => format!("r.id {gt} {id}"),
            (Some(k), Some(kv)) => {
                let cast = sort_col.as_ref().map_or("text", Column::cast);
                let kv = sql.bind(Bind::Text(kv.clone()));
                // NULL keys sort last in the forward order.
                let nulls_follow = if forward { format!(" OR {k} IS NULL") } else { String::new() };
                format!("(({k} {gt} {kv}::{cast}) OR ({k} = {kv}::{cast} AND r.id {gt} {id}){nulls_follow})")
            }
            (Some(k), None) if forward => format!("({k} IS NULL AND r.id {gt} {id})"),
            (Some(k), None) => format!("({k} IS NOT NULL OR r.id {gt} {id})"),
        };
        conditions.push_str(&format!(" AND {keyset}"));
    }
    let order = match &key {
        Some(k) => format!("{k} {dir} {nulls}, r.id {dir}"),
        None => format!("r.id {dir}"),
    };
    let key_select = key.as_ref().map_or("NULL::text".to_string(), |k| format!("({k})::text"));
    let l = sql.bind(Bind::Text(limit.to_string()));
    let page_sql = match offset.filter(|o| *o > 0) {
        // The first page (what every probe asks) without an OFFSET: PostgreSQL plans a
        // parameter OFFSET as if it skipped a tenth of the rows, and then re-plans the
        // prepared statement on every call instead of keeping its generic plan.
        None => format!(
            "SELECT {select}, {key_select} AS sort_key FROM {table} r WHERE {conditions} ORDER BY {order} LIMIT {l}::bigint"
        ),
        // An unfiltered, unsorted page of members (an IdP paging through the tenant): the
        // maintained counts per range of ids (migration 000041) say in which range of ids the
        // page begins and how many of that range's members come before it; only those are
        // skipped, not every member before the page.
        Some(o) if kind == ResourceKind::User && filter.is_none() && key.is_none() => {
            let o = sql.bind(Bind::Text(o.to_string()));
            format!(
                "WITH seek AS MATERIALIZED (SELECT first_id, skip FROM roster_member_seek({t}, {o}::bigint)) \
                 SELECT {select}, {key_select} AS sort_key FROM {table} r \
                 JOIN (SELECT r.id AS page_id FROM {table} r WHERE {conditions} \
                         AND r.id >= (SELECT first_id FROM seek) \
                       ORDER BY {order} LIMIT {l}::bigint OFFSET (SELECT skip FROM seek)) page \
                   ON r.tenant_id = {t} AND r.id = page.page_id \
                 ORDER BY {order}"
            )
        }
        // Index paging: find the page's ids first (for an unfiltered list an index-only scan over
        // the rows skipped), then read only those rows — not every skipped row from the table.
        Some(o) => {
            let o = sql.bind(Bind::Text(o.to_string()));
            format!(
                "SELECT {select}, {key_select} AS sort_key FROM {table} r \
                 JOIN (SELECT r.id AS page_id FROM {table} r WHERE {conditions} \
                       ORDER BY {order} LIMIT {l}::bigint OFFSET {o}::bigint) page \
                   ON r.tenant_id = {t} AND r.id = page.page_id \
                 ORDER BY {order}"
            )
        }
    };
    Ok(Statement {
        count_sql,
        count_binds,
        page_sql,
        binds: sql.binds,
        reverse,
        prepared: fixed_text && sort.is_none(),
    })
}

/// An IdP's probe: `attr eq value` (Entra ID's `externalId eq`, its groups' `displayName eq`,
/// `id eq`), or Entra ID's membership probe `id eq "…" and members[value eq "…"]`. With typed
/// columns only (checked on the translated text), these filters' statements are drawn from a
/// small fixed set of texts (a typed column each, one operator, the membership form), so
/// [`Statement::prepared`] keeps them prepared without letting a client fill a connection with
/// statements; `and` is taken only in the membership probe's form, which bounds the pairs.
fn probe(filter: &Filter) -> bool {
    let eq = |f: &Filter| matches!(f, Filter::Compare { op: CompareOp::Eq, .. });
    let members_eq = |f: &Filter| {
        matches!(f, Filter::ValuePath { path, filter }
            if path.urn.is_none() && path.sub.is_none() && path.name.eq_ignore_ascii_case("members") && eq(filter))
    };
    match filter {
        Filter::And(a, b) => (eq(a) && members_eq(b)) || (members_eq(a) && eq(b)),
        f => eq(f),
    }
}

fn bound<'a>(
    sql: String,
    binds: &[Bind],
) -> diesel::query_builder::BoxedSqlQuery<'a, Pg, diesel::query_builder::SqlQuery> {
    let mut q = diesel::sql_query(sql).into_boxed::<Pg>();
    for b in binds {
        q = match b.clone() {
            Bind::Text(s) => q.bind::<Text, _>(s),
            Bind::TextArray(v) => q.bind::<Array<Text>, _>(v),
            Bind::Uuid(u) => q.bind::<SqlUuid, _>(u),
        };
    }
    q
}

async fn total(conn: &mut Conn, st: &Statement) -> ScimResult<u64> {
    let count = bound(st.count_sql.clone(), &st.binds[..st.count_binds]);
    let counted: Count =
        if st.prepared { Prepared(count).get_result(conn).await? } else { count.get_result(conn).await? };
    Ok(counted.n.max(0) as u64)
}

/// A row read with its sort key.
trait Keyed: QueryableByName<Pg> + Send + 'static {
    /// The row without the key.
    type Item;
    /// Split off the sort key.
    fn split(self) -> (Self::Item, Option<String>);
}

impl Keyed for KeyedUser {
    type Item = ListedUser;
    fn split(self) -> (ListedUser, Option<String>) {
        (self.item, self.sort_key)
    }
}

impl Keyed for KeyedGroup {
    type Item = GroupRow;
    fn split(self) -> (GroupRow, Option<String>) {
        (self.item, self.sort_key)
    }
}

/// Count, then read the page (unless it is empty), in result order.
async fn find<K: Keyed>(conn: &mut Conn, mut st: Statement, window: &Window) -> ScimResult<Found<K::Item>> {
    let mut rows: Vec<K> = if window_is_empty(window) {
        Vec::new()
    } else {
        let page = bound(std::mem::take(&mut st.page_sql), &st.binds);
        if st.prepared {
            Prepared(page).load(conn).await?
        } else {
            page.load(conn).await?
        }
    };
    let total = match known_total(window, rows.len()) {
        Some(n) => n,
        None => total(conn, &st).await?,
    };
    if st.reverse {
        rows.reverse();
    }
    Ok(Found { total, rows: rows.into_iter().map(K::split).collect() })
}

/// The total a page already tells, without counting: a page that is not full and starts inside
/// the result (or at its start) ends the result, so the total is the rows before it plus its own.
/// This is the common IdP probe (`filter=userName eq "…"`: zero or one row); a full page, an
/// empty page past the start, or a keyset page after the first needs the count.
fn known_total(window: &Window, got: usize) -> Option<u64> {
    let got_i = i64::try_from(got).ok()?;
    match window {
        Window::Offset { offset, limit } if got_i < *limit && (got > 0 || *offset == 0) => {
            u64::try_from(offset.checked_add(got_i)?).ok()
        }
        Window::Keyset { position: None, direction: Direction::After, limit } if got_i < *limit => {
            Some(got as u64)
        }
        _ => None,
    }
}

/// The effective groups of each member of a page, in the shape of `roster_member_groups_json`.
/// When the tenant's groups are flat (no group has a parent or is nested in another — what IdPs
/// push; two index probes, evaluated once per page), a member's groups are its direct ones and
/// are read by a correlated subquery, with no function call per row; otherwise each member's
/// groups come from the function's tree walk. `{tenant}` is the tenant's parameter.
const PAGE_GROUPS: &str = concat!(
    "CASE WHEN NOT EXISTS (SELECT 1 FROM groups tg WHERE tg.tenant_id = {tenant} AND tg.parent_id IS NOT NULL) \
       AND NOT EXISTS (SELECT 1 FROM group_members tn WHERE tn.tenant_id = {tenant} AND tn.member_type = 'Group') \
     THEN (SELECT ",
    super::users::direct_groups_json!(),
    " FROM group_members gm JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id \
           WHERE gm.tenant_id = r.tenant_id AND gm.member_id = r.id) \
     ELSE roster_member_groups_json(r.tenant_id, r.id, true) END"
);

/// The folded userName of the IdPs' probe `userName eq "…"` (what Entra ID and Okta send before
/// every create), when the page asked for is the probe's: the first, unsorted, at least one row.
/// [`users`] answers it with one prepared statement ([`super::users::find_view`]) instead of a
/// planned one; the list endpoint folds the token check into it (`users::find_view_as`).
pub fn user_name_probe(filter: Option<&Filter>, sort: Option<&SortSpec>, window: &Window) -> Option<String> {
    if sort.is_some() || !matches!(window, Window::Offset { offset: 0, limit: 1.. }) {
        return None;
    }
    match filter? {
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::String(v) }
            if path.sub.is_none()
                && path.name.eq_ignore_ascii_case("userName")
                && path.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(USER_SCHEMA)) =>
        {
            Some(fold_key(v))
        }
        _ => None,
    }
}

/// The probe's page: the member found, if any (userName is unique), its total the rows it has.
pub fn probe_page(found: Option<super::users::UserView>) -> Found<ListedUser> {
    let rows: Vec<_> = found.map(|v| (ListedUser::from(v), None)).into_iter().collect();
    Found { total: rows.len() as u64, rows }
}

impl From<super::users::UserView> for ListedUser {
    fn from(v: super::users::UserView) -> Self {
        let row = v.row;
        ListedUser {
            id: row.id,
            resource: row.resource,
            status: row.status,
            version: row.version,
            created_at: row.created_at,
            last_modified: row.last_modified,
            role: v.role,
            position: v.position,
            groups: v.groups,
        }
    }
}

/// A page of members matching a filter, in sort order, with the exact total; each with its
/// effective role, position and (when `with_groups`) effective groups.
#[allow(clippy::too_many_arguments)]
pub async fn users(
    conn: &mut Conn,
    registry: &Registry,
    tenant: Uuid,
    filter: Option<&Filter>,
    sort: Option<&SortSpec>,
    window: &Window,
    with_groups: bool,
) -> ScimResult<Found<ListedUser>> {
    if let Some(key) = user_name_probe(filter, sort, window) {
        let key = super::users::ViewKey::UserNameKey(&key);
        return Ok(probe_page(super::users::find_view(conn, tenant, key, with_groups).await?));
    }
    let groups = if with_groups { PAGE_GROUPS } else { "NULL::jsonb" };
    let select = format!(
        "r.id, r.resource, r.status, r.version, r.created_at, r.last_modified, \
         r.effective_role AS role, \
         (SELECT p.name FROM positions p WHERE p.tenant_id = r.tenant_id AND p.id = r.position_id) AS position, \
         {groups} AS groups"
    );
    let st = build(registry, ResourceKind::User, tenant, filter, sort, window, &select)?;
    find::<KeyedUser>(conn, st, window).await
}

/// A page of groups matching a filter, in sort order, with the exact total.
pub async fn groups(
    conn: &mut Conn,
    registry: &Registry,
    tenant: Uuid,
    filter: Option<&Filter>,
    sort: Option<&SortSpec>,
    window: &Window,
) -> ScimResult<Found<GroupRow>> {
    let select = "r.id, r.resource, r.parent_id, r.version, r.created_at, r.last_modified";
    let st = build(registry, ResourceKind::Group, tenant, filter, sort, window, select)?;
    find::<KeyedGroup>(conn, st, window).await
}

fn window_is_empty(window: &Window) -> bool {
    match window {
        Window::Offset { limit, .. } | Window::Keyset { limit, .. } => *limit <= 0,
    }
}

/// Remove the direct members of a group that match a member filter (`members[type eq "Group"]`,
/// `members[display sw "a"]`). Returns the rows removed.
pub async fn remove_members_where(
    conn: &mut Conn,
    registry: &Registry,
    tenant: Uuid,
    group: Uuid,
    filter: &Filter,
) -> ScimResult<Vec<super::groups::MemberRow>> {
    let mut sql = Sql::default();
    let t = sql.bind(Bind::Uuid(tenant));
    let g = sql.bind(Bind::Uuid(group));
    let (alias, cond) = Translator::new(registry, ResourceKind::Group, &mut sql).member_filter(filter)?;
    let text = format!(
        "DELETE FROM group_members d WHERE d.tenant_id = {t} AND d.group_id = {g} AND d.member_id IN (\
         SELECT {alias}.member_id FROM group_members {alias} WHERE {alias}.tenant_id = {t} AND {alias}.group_id = {g} AND {cond}) \
         RETURNING d.group_id, d.member_id, d.member_type"
    );
    Ok(bound(text, &sql.binds).load(conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_that_ends_the_result_gives_the_total() {
        let offset = |offset, limit| Window::Offset { offset, limit };
        assert_eq!(known_total(&offset(0, 100), 0), Some(0));
        assert_eq!(known_total(&offset(0, 100), 1), Some(1));
        assert_eq!(known_total(&offset(40, 100), 7), Some(47));
        // Full pages, and empty pages past the start, cannot tell.
        assert_eq!(known_total(&offset(0, 100), 100), None);
        assert_eq!(known_total(&offset(40, 100), 0), None);
        assert_eq!(known_total(&offset(0, 0), 0), None);
        let first = |limit| Window::Keyset { position: None, direction: Direction::After, limit };
        assert_eq!(known_total(&first(101), 3), Some(3));
        assert_eq!(known_total(&first(101), 101), None);
        let later = Window::Keyset {
            position: Some(Position { key: None, id: Uuid::nil() }),
            direction: Direction::After,
            limit: 101,
        };
        assert_eq!(known_total(&later, 3), None);
    }

    /// Only the IdPs' probes on typed columns are kept prepared: their texts come from a small
    /// fixed set. A category attribute (a name the tenant chose, written into the text), another
    /// operator, a second condition outside the membership probe's form, or a sort is planned
    /// every time and never kept on the connection. A first page carries no OFFSET.
    #[test]
    fn only_probes_on_typed_columns_are_kept_prepared() {
        use crate::scim::filter::parse_filter;
        use crate::scim::schema::{Category, CategoryKind};
        let city = Category {
            name: "City".into(),
            display_name: "City".into(),
            kind: CategoryKind::Text,
            allowed_values: Vec::new(),
            source: None,
        };
        let registry = Registry::standard().with_categories(vec![city]);
        let first = Window::Offset { offset: 0, limit: 100 };
        let build = |kind, filter: &str, window: &Window| {
            let filter = parse_filter(filter).unwrap();
            build(&registry, kind, Uuid::nil(), Some(&filter), None, window, "r.id").unwrap()
        };
        let (user, group) = (ResourceKind::User, ResourceKind::Group);
        let group_id = Uuid::now_v7();
        let kept = [
            (user, "externalId eq \"00aa-object-id\"".to_string()),
            (user, "USERNAME eq \"Ann@Example.com\"".into()),
            (user, "urn:ietf:params:scim:schemas:extension:roster:2.0:User:role eq \"member\"".into()),
            (group, "displayName eq \"Sales\"".into()),
            (group, format!("id eq \"{group_id}\" and members[value eq \"{}\"]", Uuid::now_v7())),
        ];
        for (kind, filter) in &kept {
            let st = build(*kind, filter, &first);
            assert!(st.prepared, "{filter}");
            assert!(!st.page_sql.contains("OFFSET"), "a first page: {}", st.page_sql);
        }
        let planned = [
            (user, "urn:ietf:params:scim:schemas:extension:roster:2.0:User:City eq \"Oslo\""),
            (user, "externalId co \"00aa\""),
            (user, "externalId eq \"a\" and title eq \"b\""),
            (user, "externalId eq \"a\" or title eq \"b\""),
            (user, "not (externalId eq \"a\")"),
            (user, "emails[value eq \"a@example.com\"]"),
            (user, "nickName eq \"Ann\""),
        ];
        for (kind, filter) in planned {
            assert!(!build(kind, filter, &first).prepared, "{filter}");
        }
        let by = crate::scim::filter::AttrPath { urn: None, name: "userName".into(), sub: None };
        let sort = SortSpec { by, descending: false };
        let probe = parse_filter("externalId eq \"a\"").unwrap();
        let sorted =
            super::build(&registry, user, Uuid::nil(), Some(&probe), Some(&sort), &first, "r.id").unwrap();
        assert!(!sorted.prepared);
        let later = build(user, "externalId eq \"a\"", &Window::Offset { offset: 100, limit: 100 });
        assert!(later.prepared && later.page_sql.contains("OFFSET"), "{}", later.page_sql);
    }

    /// Only an unfiltered, unsorted page of members past the first seeks its start among the
    /// maintained counts (`roster_member_seek`); a filter, a sort or groups skip row by row.
    #[test]
    fn an_unfiltered_unsorted_member_page_seeks_its_start() {
        use crate::scim::filter::parse_filter;
        let registry = Registry::standard();
        let later = Window::Offset { offset: 5000, limit: 100 };
        let page = |kind, filter: Option<&Filter>, sort: Option<&SortSpec>, window: &Window| {
            build(&registry, kind, Uuid::nil(), filter, sort, window, "r.id").unwrap()
        };
        let seeks = |st: &Statement| st.page_sql.contains("roster_member_seek");
        let unfiltered = page(ResourceKind::User, None, None, &later);
        assert!(seeks(&unfiltered) && unfiltered.prepared, "{}", unfiltered.page_sql);
        assert!(!seeks(&page(ResourceKind::User, None, None, &Window::Offset { offset: 0, limit: 100 })));
        assert!(!seeks(&page(ResourceKind::Group, None, None, &later)));
        let filter = parse_filter("title eq \"Engineer\"").unwrap();
        assert!(!seeks(&page(ResourceKind::User, Some(&filter), None, &later)));
        let by = crate::scim::filter::AttrPath { urn: None, name: "userName".into(), sub: None };
        let sort = SortSpec { by, descending: false };
        assert!(!seeks(&page(ResourceKind::User, None, Some(&sort), &later)));
    }
}
