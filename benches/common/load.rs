//! The shared data generator: users with every column Roster writes, loaded with set-based
//! SQL, plus the database helpers the loaders use (index drop/rebuild, database creation).

use std::time::Instant;

use anyhow::Context as _;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use chrono::{DateTime, Utc};
use roster::auth::SigningKey;
use roster::directory::tenants;

/// Users per INSERT statement.
pub const CHUNK: u64 = 100_000;
/// Millisecond timestamp of user 1 (2025-01-01T00:00:00Z); user i is created at BASE_MS + i.
pub const BASE_MS: i64 = 1_735_689_600_000;

/// Given names (user i gets `FIRST[i % 50]`).
pub const FIRST: [&str; 50] = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Nancy",
    "Daniel",
    "Lisa",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "George",
    "Deborah",
    "Timothy",
    "Stephanie",
];
/// Family names (user i gets `LAST[(i / 50) % 50]`).
pub const LAST: [&str; 50] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
];
pub const TITLES: [&str; 10] = [
    "Engineer",
    "Senior Engineer",
    "Manager",
    "Director",
    "Analyst",
    "Designer",
    "Accountant",
    "Recruiter",
    "Support Specialist",
    "Sales Representative",
];
pub const DEPARTMENTS: [&str; 10] = [
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Support",
    "Legal",
    "Operations",
    "People",
    "Product",
    "Research",
];

/// Given and family name of user `i` (1-based).
pub fn names(i: u64) -> (&'static str, &'static str) {
    (FIRST[(i % 50) as usize], LAST[((i / 50) % 50) as usize])
}

/// The userName of user `i`, exactly as the loader writes it.
pub fn user_name(i: u64) -> String {
    let (first, last) = names(i);
    format!("{first}.{last}.{i}@example.com")
}

#[derive(QueryableByName)]
struct IndexDef {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    def: String,
}

/// `DATABASE_URL` with its database name replaced by `name` (the benchmark never writes into the
/// database the URL names).
pub fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).context("DATABASE_URL is not a postgres:// URL")?;
    let host_part = &base[scheme_end..];
    let prefix = match host_part.find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    Ok(match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    })
}

/// Create database `name` on the server of `admin_url` unless it exists.
pub async fn ensure_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = AsyncPgConnection::establish(admin_url).await.context("connecting to DATABASE_URL")?;
    let found: N = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .get_result(&mut conn)
        .await?;
    if found.n == 0 {
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await?;
    }
    Ok(())
}

pub async fn exec(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<usize> {
    diesel::sql_query(sql).execute(conn).await.with_context(|| format!("running: {}", first_line(sql)))
}

fn first_line(sql: &str) -> String {
    sql.trim().lines().next().unwrap_or_default().chars().take(120).collect()
}

pub fn sql_array(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{}'", s.replace('\'', "''"))).collect();
    format!("ARRAY[{}]", quoted.join(","))
}

/// SQL of a UUIDv7-shaped id: 48-bit millisecond timestamp `ms`, version 7, 12 bits and 62 bits
/// derived from `n`, variant 10. Distinct increasing `ms` give ids in the same order.
pub fn uuid7_sql(ms: &str, n: &str) -> String {
    format!(
        "(lpad(to_hex({ms}), 12, '0') || '7' || lpad(to_hex(({n}) & 4095), 3, '0') \
         || to_hex(8 + (({n}) & 3)) || substr(md5(({n})::text), 1, 15))::uuid"
    )
}

/// Non-constraint indexes of the loaded tables are dropped for the load and rebuilt after it
/// from their saved definitions (`pg_get_indexdef`), which is several times faster than
/// maintaining GIN and trigram indexes row by row. A run that dies mid-load repairs them next time.
pub async fn save_and_drop_indexes(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    exec(conn, "CREATE TABLE IF NOT EXISTS bench_saved_indexes (name text PRIMARY KEY, def text NOT NULL)")
        .await?;
    exec(
        conn,
        "INSERT INTO bench_saved_indexes (name, def) \
         SELECT i.indexname, i.indexdef FROM pg_indexes i \
         WHERE i.schemaname = 'public' AND i.tablename IN ('users', 'groups', 'group_members') \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = format('%I', i.indexname)::regclass) \
         ON CONFLICT (name) DO NOTHING",
    )
    .await?;
    let defs: Vec<IndexDef> =
        diesel::sql_query("SELECT name, def FROM bench_saved_indexes ORDER BY name").load(conn).await?;
    for d in defs {
        exec(conn, &format!("DROP INDEX IF EXISTS \"{}\"", d.name)).await?;
    }
    Ok(())
}

/// Rebuild every saved index that does not exist.
pub async fn restore_indexes(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    exec(conn, "CREATE TABLE IF NOT EXISTS bench_saved_indexes (name text PRIMARY KEY, def text NOT NULL)")
        .await?;
    let missing: Vec<IndexDef> = diesel::sql_query(
        "SELECT name, def FROM bench_saved_indexes WHERE to_regclass(format('%I', name)) IS NULL ORDER BY name",
    )
    .load(conn)
    .await?;
    for d in missing {
        let t = Instant::now();
        exec(conn, &d.def).await?;
        println!("  index {} rebuilt in {:.1}s", d.name, t.elapsed().as_secs_f64());
    }
    Ok(())
}

/// A connection for loading into the benchmark database (`maintenance_work_mem` 1 GB,
/// synchronous commit off).
pub async fn connect_for_load(url: &str) -> anyhow::Result<AsyncPgConnection> {
    let mut conn = AsyncPgConnection::establish(url).await.context("connecting to the benchmark database")?;
    exec(&mut conn, "SET maintenance_work_mem = '1GB'").await?;
    exec(&mut conn, "SET synchronous_commit = off").await?;
    Ok(conn)
}

/// Empty the loaded tables, drop their indexes for the load ([`save_and_drop_indexes`]) and
/// create tenant `slug` ("`name`") with one connection ("`name` IdP"); (tenant id, connection
/// id, bearer token).
pub async fn reset_tenant(
    conn: &mut AsyncPgConnection,
    key: &SigningKey,
    slug: &str,
    name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(Uuid, Uuid, String)> {
    exec(conn, "TRUNCATE tenants, connections, connection_tokens, users, groups, group_members CASCADE")
        .await?;
    save_and_drop_indexes(conn).await?;
    let tenant = tenants::create_tenant(conn, slug, name, None, now).await?;
    let (connection, token) =
        tenants::create_connection(conn, key, &tenant, &format!("{name} IdP"), None, now).await?;
    Ok((tenant.id, connection.id, token.token))
}

/// After a load: rebuild the indexes ([`restore_indexes`]) and VACUUM (ANALYZE) the tables.
pub async fn finish_load(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    let t = Instant::now();
    restore_indexes(conn).await?;
    println!("indexes rebuilt in {:.1}s; VACUUM ANALYZE ...", t.elapsed().as_secs_f64());
    for table in ["users", "groups", "group_members", "connection_tokens", "connections", "tenants"] {
        exec(conn, &format!("VACUUM (ANALYZE) {table}")).await?;
    }
    Ok(())
}

/// SQL of the id of generated user `n` (an SQL expression).
pub fn user_id_sql(n: &str) -> String {
    uuid7_sql(&format!("{BASE_MS}::bigint + {n}"), n)
}

/// SQL of the id and creation millisecond of generated group `g`, when there are `users` users:
/// groups come after every user in id order.
fn group_sql(users: u64) -> (String, String) {
    let group_ms = format!("{}::bigint + g", BASE_MS + users as i64 + 1000);
    (uuid7_sql(&group_ms, "g + 5000000000"), group_ms)
}

/// Insert groups 0..=`last` (after `users` users); `name` is the SQL of group `g`'s displayName.
pub async fn insert_groups(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    connection: Uuid,
    users: u64,
    name: &str,
    last: u64,
) -> anyhow::Result<usize> {
    let (gid, group_ms) = group_sql(users);
    exec(
        conn,
        &format!(
            "INSERT INTO groups (tenant_id, id, connection_id, display_name, display_name_key, external_id, resource, \
                 version, created_at, last_modified) \
             SELECT '{tenant}'::uuid, {gid}, '{connection}'::uuid, s.name, lower(trim(s.name)), s.ext, \
                 jsonb_build_object('displayName', s.name, 'externalId', s.ext), 1, s.ts, s.ts \
             FROM generate_series(0::bigint, {last}::bigint) AS g \
             CROSS JOIN LATERAL (SELECT {name} AS name, \
                 md5('group' || g)::uuid::text AS ext, to_timestamp(({group_ms}) / 1000.0) AS ts) s"
        ),
    )
    .await
}

/// Add users `member(k)` for k in 1..=`count` to the group whose display_name_key is `key`, in
/// chunks of [`CHUNK`]; `done(start, end, rows, seconds)` after each chunk.
pub async fn insert_members(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    key: &str,
    count: u64,
    member: &str,
    mut done: impl FnMut(u64, u64, usize, f64),
) -> anyhow::Result<()> {
    let group =
        format!("(SELECT id FROM groups WHERE tenant_id = '{tenant}' AND display_name_key = '{key}')");
    let uid = user_id_sql(member);
    let mut start = 1u64;
    while start <= count {
        let end = (start + CHUNK - 1).min(count);
        let t = Instant::now();
        let n = exec(
            conn,
            &format!(
                "INSERT INTO group_members (tenant_id, group_id, member_id, member_type) \
                 SELECT '{tenant}'::uuid, {group}, {uid}, 'User' FROM generate_series({start}::bigint, {end}::bigint) AS k"
            ),
        )
        .await?;
        done(start, end, n, t.elapsed().as_secs_f64());
        start = end + 1;
    }
    Ok(())
}

/// Give groups `first..=last` (after `users` users) `extra + 1` members each (k in 0..=extra, an
/// SQL expression of g), spread over users 1..=`among`.
pub async fn insert_spread_members(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    users: u64,
    (first, last): (u64, u64),
    extra: &str,
    among: u64,
) -> anyhow::Result<usize> {
    let (gid, _) = group_sql(users);
    exec(
        conn,
        &format!(
            "INSERT INTO group_members (tenant_id, group_id, member_id, member_type) \
             SELECT DISTINCT '{tenant}'::uuid, {gid}, {}, 'User' \
             FROM generate_series({first}::bigint, {last}::bigint) AS g \
             CROSS JOIN LATERAL generate_series(0::bigint, {extra}) AS k \
             CROSS JOIN LATERAL (SELECT ((g * 7919 + k * 104729) % {among}) + 1 AS u) m \
             ON CONFLICT DO NOTHING",
            user_id_sql("m.u")
        ),
    )
    .await
}

/// Insert users 1..=`users` of the generator in chunks of [`CHUNK`] (see benches/README.md).
pub async fn load_users(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    connection: Uuid,
    users: u64,
) -> anyhow::Result<()> {
    let first = sql_array(&FIRST);
    let last = sql_array(&LAST);
    let titles = sql_array(&TITLES);
    let departments = sql_array(&DEPARTMENTS);
    let id = user_id_sql("i");
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let mut start = 1u64;
    while start <= users {
        let end = (start + CHUNK - 1).min(users);
        let t = Instant::now();
        let sql = format!(
            "INSERT INTO users (tenant_id, id, connection_id, user_name, user_name_key, external_id, display_name, \
                 given_name, family_name, email, title, active, status, resource, version, created_at, last_modified, \
                 email_keys) \
             SELECT '{tenant}'::uuid, {id}, '{connection}'::uuid, s.user_name, lower(trim(s.user_name)), s.ext, \
                 s.display, s.first, s.last, s.work, s.title, true, 'provisioned', \
                 jsonb_build_object( \
                     'userName', s.user_name, \
                     'externalId', s.ext, \
                     'name', jsonb_build_object('givenName', s.first, 'familyName', s.last, 'formatted', s.display), \
                     'displayName', s.display, \
                     'title', s.title, \
                     'active', true, \
                     'emails', jsonb_build_array( \
                         jsonb_build_object('value', s.work, 'type', 'work', 'primary', true), \
                         jsonb_build_object('value', s.home, 'type', 'home'), \
                         jsonb_build_object('value', s.other, 'type', 'other')), \
                     'phoneNumbers', jsonb_build_array(jsonb_build_object('value', s.phone, 'type', 'work')), \
                     '{enterprise}', jsonb_build_object('employeeNumber', i::text, 'department', s.dept)), \
                 1, s.ts, s.ts, \
                 ARRAY(SELECT DISTINCT lower(x) COLLATE \"C\" FROM unnest(ARRAY[s.work, s.home, s.other]) AS x ORDER BY 1) \
             FROM generate_series({start}::bigint, {end}::bigint) AS i \
             CROSS JOIN LATERAL ( \
                 SELECT n.first, n.last, n.first || ' ' || n.last AS display, \
                     n.first || '.' || n.last || '.' || i || '@example.com' AS user_name, \
                     n.first || '.' || n.last || '.' || i || '@example.com' AS work, \
                     lower(n.first || '.' || n.last || '.' || i) || '@home.example.net' AS home, \
                     lower(n.last || '.' || i) || '@other.example.org' AS other, \
                     md5('ext' || i)::uuid::text AS ext, \
                     ({titles})[1 + (i % 10)::int] AS title, \
                     ({departments})[1 + ((i / 7) % 10)::int] AS dept, \
                     '+1 555 ' || lpad((i % 10000000)::text, 7, '0') AS phone, \
                     to_timestamp(({BASE_MS}::bigint + i) / 1000.0) AS ts \
                 FROM (SELECT ({first})[1 + (i % 50)::int] AS first, ({last})[1 + ((i / 50) % 50)::int] AS last) n \
             ) s"
        );
        let n = exec(conn, &sql).await?;
        println!("  users {start}..={end}: {n} rows in {:.1}s", t.elapsed().as_secs_f64());
        start = end + 1;
    }
    Ok(())
}

/// A sample of existing users: (index, id, userName, externalId, work email).
#[derive(Debug, Clone)]
pub struct UserSample {
    /// 1-based generator index.
    pub index: u64,
    /// Id.
    pub id: Uuid,
    /// userName.
    pub user_name: String,
    /// externalId.
    pub external_id: String,
    /// Work (primary) email.
    pub email: String,
}

#[derive(QueryableByName)]
struct SampleRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    user_name: String,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Text)]
    email: String,
}

/// Read the rows of the users with the given generator indexes.
pub async fn sample_users(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    indexes: &[u64],
) -> anyhow::Result<Vec<UserSample>> {
    let keys: Vec<String> = indexes.iter().map(|&i| user_name(i).to_lowercase()).collect();
    let rows: Vec<SampleRow> = diesel::sql_query(
        "SELECT id, user_name, external_id, email FROM users \
         WHERE tenant_id = $1 AND status <> 'removed' AND user_name_key = ANY($2)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Array<Text>, _>(&keys)
    .load(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let index = r
            .user_name
            .rsplit('@')
            .nth(1)
            .and_then(|local| local.rsplit('.').next())
            .and_then(|n| n.parse().ok())
            .context("unexpected userName in the data set")?;
        out.push(UserSample {
            index,
            id: r.id,
            user_name: r.user_name,
            external_id: r.external_id,
            email: r.email,
        });
    }
    anyhow::ensure!(out.len() == indexes.len(), "sampled {} users, found {}", indexes.len(), out.len());
    out.sort_by_key(|s| s.index);
    Ok(out)
}
