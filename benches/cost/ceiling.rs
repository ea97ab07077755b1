//! PostgreSQL alone running Roster's own read statements (no HTTP, no Roster process): what a
//! read costs the database, and so the most Roster could reach against the raw statement.
//!
//! The texts are what `pg_stat_statements` shows Roster sending (`db::users::find_view_as` for
//! `GET /Users/{id}` and the `userName eq` filter; the token check, `roster_member_count` and
//! `db::users`' page for a page of 100), with the parameters written in: the caller's tenant,
//! connection and token, and the same random member or offset as the raw script. They run as
//! Roster's connections do, as `roster_tenant` with `roster.tenant` set (row-level security on).
//! When those statements change, these copies must change with them; the report names them.

/// `db::users::find_view_as`: the token check, the member, its position and its groups in one
/// statement. `key` is the member's predicate (`"users"."id" = …` or `"users"."user_name_key" = …`).
fn member_view(key: &str, token: &Token<'_>) -> String {
    member_view_cut(key, token, Cut::Nothing)
}

/// A part of Roster's member read, taken away to see what it costs (`anatomy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Roster's statement as it is.
    Nothing,
    /// The groups' nesting check: the direct memberships are the answer (what a tenant without
    /// a group tree gets).
    NestingCheck,
    /// The groups.
    Groups,
    /// The token check (the token's row, which carries its standing).
    TokenCheck,
    /// Everything but the member row and its position.
    AllButMember,
}

/// The direct memberships, and the rows they come from.
macro_rules! memberships {
    () => {
        r#"FROM group_members gm JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id WHERE gm.tenant_id = "users"."tenant_id" AND gm.member_id = "users"."id""#
    };
}

/// The member's groups as `find_view_as` reads them: one record per direct membership, with
/// whether its group has a parent or is nested (then a second statement, which the bench's
/// members never need, walks the tree).
const GROUPS: &str = concat!(
    "CASE WHEN true THEN (SELECT array_agg(ROW(g.id, g.display_name, gm.group_role, g.parent_id IS NOT NULL OR g.nested)) ",
    memberships!(),
    ") END"
);

/// [`GROUPS`] without the nesting flag.
const DIRECT_GROUPS: &str =
    concat!("(SELECT array_agg(ROW(g.id, g.display_name, gm.group_role)) ", memberships!(), ")");

/// [`member_view`] with `cut` taken away.
fn member_view_cut(key: &str, token: &Token<'_>, cut: Cut) -> String {
    let Token { tenant, connection, id } = token;
    let groups = match cut {
        Cut::Nothing | Cut::TokenCheck => GROUPS,
        Cut::NestingCheck => DIRECT_GROUPS,
        Cut::Groups | Cut::AllButMember => "NULL::record[]",
    };
    let member = r#""users"."id", "users"."resource", "users"."status", "users"."version", "users"."created_at", "users"."last_modified", "users"."effective_role", (SELECT "positions"."name" FROM "positions" WHERE (("positions"."tenant_id" = "users"."tenant_id") AND ("users"."position_id" = "positions"."id")) LIMIT 1)"#;
    if matches!(cut, Cut::TokenCheck | Cut::AllButMember) {
        return format!(
            r#"SELECT {member}, {groups} FROM "users" WHERE (("users"."tenant_id" = '{tenant}') AND "users"."status" <> 'removed') AND ({key}) LIMIT 1;"#
        );
    }
    format!(
        r#"SELECT "connection_tokens"."quirk_mode", "connection_tokens"."settings_version", {member}, {groups} FROM (("connection_tokens" LEFT OUTER JOIN "users" ON ((("users"."tenant_id" = '{tenant}') AND "users"."status" <> 'removed') AND ({key})))) WHERE ((((("connection_tokens"."tenant_id" = '{tenant}') AND ("connection_tokens"."id" = '{id}')) AND ("connection_tokens"."connection_id" = '{connection}')) AND ("connection_tokens"."revoked_at" IS NULL)) AND (("connection_tokens"."expires_at" IS NULL) OR ("connection_tokens"."expires_at" > now()))) LIMIT 1;"#
    )
}

/// The caller: a live token of the bench's connection.
pub struct Token<'a> {
    pub tenant: &'a str,
    pub connection: &'a str,
    pub id: &'a str,
}

/// Roster's `GET /Users/{id}`: one statement. `uid` is the raw script's member id SQL.
pub fn get(users: u64, uid: &str, token: &Token<'_>) -> String {
    get_cut(users, uid, token, Cut::Nothing)
}

/// [`get`] with `cut` taken away.
pub fn get_cut(users: u64, uid: &str, token: &Token<'_>, cut: Cut) -> String {
    format!(
        "\\set i random(3, {users})\n{}\n",
        member_view_cut(&format!(r#""users"."id" = {uid}"#), token, cut)
    )
}

/// Roster's `GET /Users?filter=userName eq "…"`: the same statement by userName key. `name` is
/// the raw script's userName key SQL.
pub fn filter(users: u64, name: &str, token: &Token<'_>) -> String {
    format!(
        "\\set i random(3, {users})\n{}\n",
        member_view(&format!(r#""users"."user_name_key" = {name}"#), token)
    )
}

/// Roster's page of 100 members at a random offset: the token check, the member count and the
/// page (its start sought among the member counts, its ids, then the rows with their positions
/// and groups).
pub fn page(users: u64, token: &Token<'_>) -> String {
    let Token { tenant, connection, id } = token;
    format!(
        r#"\set r random(0, {last})
SELECT "connection_tokens"."quirk_mode", "connection_tokens"."settings_version" FROM "connection_tokens" WHERE ((((("connection_tokens"."tenant_id" = '{tenant}') AND ("connection_tokens"."id" = '{id}')) AND ("connection_tokens"."connection_id" = '{connection}')) AND ("connection_tokens"."revoked_at" IS NULL)) AND (("connection_tokens"."expires_at" IS NULL) OR ("connection_tokens"."expires_at" > now()))) LIMIT 1;
SELECT roster_member_count('{tenant}') AS n;
WITH seek AS MATERIALIZED (SELECT first_id, skip FROM roster_member_seek('{tenant}', :r::bigint)) SELECT r.id, r.resource, r.status, r.version, r.created_at, r.last_modified, r.effective_role AS role, (SELECT p.name FROM positions p WHERE p.tenant_id = r.tenant_id AND p.id = r.position_id) AS position, CASE WHEN NOT EXISTS (SELECT 1 FROM groups tg WHERE tg.tenant_id = '{tenant}' AND tg.parent_id IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM group_members tn WHERE tn.tenant_id = '{tenant}' AND tn.member_type = 'Group') THEN (SELECT jsonb_agg(jsonb_build_object('value', g.id, 'display', g.display_name, 'type', 'direct', 'role', gm.group_role)) FROM group_members gm JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id WHERE gm.tenant_id = r.tenant_id AND gm.member_id = r.id) ELSE roster_member_groups_json(r.tenant_id, r.id, true) END AS groups, NULL::text AS sort_key FROM users r JOIN (SELECT r.id AS page_id FROM users r WHERE r.tenant_id = '{tenant}' AND r.status <> 'removed' AND r.id >= (SELECT first_id FROM seek) ORDER BY r.id ASC LIMIT 100 OFFSET (SELECT skip FROM seek)) page ON r.tenant_id = '{tenant}' AND r.id = page.page_id ORDER BY r.id ASC;
"#,
        last = users - 100
    )
}

/// The connection URI of `url` acting as Roster's connections do for `tenant`.
pub fn as_tenant(url: &str, tenant: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20role%3Droster_tenant%20-c%20roster.tenant%3D{tenant}")
}

/// Fail unless the scripts find what Roster's requests find: the member for a GET and a filter
/// (a stale token id would make the statement return nothing, and look fast), 100 rows for a
/// page. Run as `roster_tenant`, in a transaction that is rolled back.
pub async fn check(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: &str,
    scripts: [&str; 3],
) -> anyhow::Result<()> {
    use diesel_async::{AnsiTransactionManager, RunQueryDsl, SimpleAsyncConnection, TransactionManager};
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let [get, filter, page] = scripts;
    // The last statement of a script, with its random variable (`(:i)`, ` :r`) fixed.
    let statement = |script: &str, var: &str, value: &str| -> String {
        let last = script.trim_end().lines().last().unwrap_or_default();
        last.trim_end_matches(';').replace(var, value)
    };
    let checks = [
        (
            "GET",
            format!("SELECT count(*) AS n FROM ({}) s WHERE s.id IS NOT NULL", statement(get, "(:i)", "(3)")),
            1,
        ),
        (
            "filter",
            format!(
                "SELECT count(*) AS n FROM ({}) s WHERE s.id IS NOT NULL",
                statement(filter, "(:i)", "(3)")
            ),
            1,
        ),
        ("page", format!("SELECT count(*) AS n FROM ({}) s", statement(page, " :r", " 0")), 100),
    ];
    AnsiTransactionManager::begin_transaction(conn).await?;
    let result = async {
        conn.batch_execute(&format!("SET LOCAL ROLE roster_tenant; SET LOCAL roster.tenant = '{tenant}'"))
            .await?;
        for (what, sql, want) in &checks {
            let found: N = diesel::sql_query(sql).get_result(conn).await?;
            anyhow::ensure!(
                found.n == *want,
                "Roster's {what} statement in benches/cost/ceiling.rs found {} rows, not {want}: \
                 is it still what Roster sends?",
                found.n
            );
        }
        Ok(())
    }
    .await;
    AnsiTransactionManager::rollback_transaction(conn).await?;
    result
}
