//! The scale data set: the shared user generator (`common::load`) plus 10,000 groups and
//! "Big group", loaded once and reused while its sizes match.

use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::common::load::{
    connect_for_load, exec, finish_load, insert_groups, insert_members, insert_spread_members, load_users,
    reset_tenant, restore_indexes,
};
use roster::auth::SigningKey;
use roster::directory::tenants;

/// Bumped whenever the generated data changes shape, so an old load is replaced.
const GENERATOR: i64 = 3;
/// Tenant slug of the benchmark data.
pub const TENANT_SLUG: &str = "bench";

/// Sizes of one data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Users.
    pub users: u64,
    /// Groups (one of them is "Big group").
    pub groups: u64,
    /// Direct user members of "Big group" (every 10th user).
    pub big_members: u64,
}

impl Sizes {
    /// The sizes for `users` users.
    pub fn for_users(users: u64) -> Sizes {
        Sizes { users, groups: 10_000.min(users.max(20) / 2), big_members: users / 10 }
    }
}

/// The loaded tenant, its connection and a fresh bearer token.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Tenant id.
    pub tenant: Uuid,
    /// Connection id (in the SCIM base URL).
    pub connection: Uuid,
    /// Bearer token for the connection.
    pub token: String,
    /// "Big group".
    pub big_group: Uuid,
    /// "Group 1", which has exactly 10 members.
    pub small_group: Uuid,
    /// Seconds the load took (0 when reused).
    pub load_secs: f64,
}

#[derive(QueryableByName)]
struct Meta {
    #[diesel(sql_type = BigInt)]
    users: i64,
    #[diesel(sql_type = BigInt)]
    groups: i64,
    #[diesel(sql_type = BigInt)]
    big_members: i64,
    #[diesel(sql_type = BigInt)]
    generator: i64,
    #[diesel(sql_type = SqlUuid)]
    connection_id: Uuid,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Load the data set unless the same size is already there; return the ids the cases need.
pub async fn load(url: &str, sizes: Sizes, key: &SigningKey) -> anyhow::Result<Loaded> {
    let mut conn = connect_for_load(url).await?;
    exec(
        &mut conn,
        "CREATE TABLE IF NOT EXISTS bench_meta (users bigint NOT NULL, groups bigint NOT NULL, \
         big_members bigint NOT NULL, generator bigint NOT NULL, connection_id uuid NOT NULL)",
    )
    .await?;
    restore_indexes(&mut conn).await?;
    let meta: Vec<Meta> =
        diesel::sql_query("SELECT users, groups, big_members, generator, connection_id FROM bench_meta")
            .load(&mut conn)
            .await?;
    let reuse = <[Meta]>::first(&meta).filter(|m| {
        m.users == sizes.users as i64
            && m.groups == sizes.groups as i64
            && m.big_members == sizes.big_members as i64
            && m.generator == GENERATOR
    });
    let started = Instant::now();
    let now = Utc::now();
    let (tenant, connection, token, load_secs) = match reuse {
        Some(m) => {
            let tenant = tenants::tenant(&mut conn, TENANT_SLUG).await?;
            let connection = tenants::connection(&mut conn, &tenant, m.connection_id).await?;
            let token = tenants::issue_token(&mut conn, key, &connection, "scale bench", None, now).await?;
            println!("data set of {} users already loaded; reusing it", sizes.users);
            (tenant.id, connection.id, token.token, 0.0)
        }
        None => {
            println!(
                "loading {} users, {} groups, {} members of \"Big group\" ...",
                sizes.users, sizes.groups, sizes.big_members
            );
            exec(&mut conn, "TRUNCATE bench_meta").await?;
            let (tenant, connection, token) =
                reset_tenant(&mut conn, key, TENANT_SLUG, "Scale benchmark", now).await?;
            load_users(&mut conn, tenant, connection, sizes.users).await?;
            load_groups(&mut conn, tenant, connection, sizes).await?;
            println!("rebuilding indexes ...");
            finish_load(&mut conn).await?;
            diesel::sql_query(
                "INSERT INTO bench_meta (users, groups, big_members, generator, connection_id) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind::<BigInt, _>(sizes.users as i64)
            .bind::<BigInt, _>(sizes.groups as i64)
            .bind::<BigInt, _>(sizes.big_members as i64)
            .bind::<BigInt, _>(GENERATOR)
            .bind::<SqlUuid, _>(connection)
            .execute(&mut conn)
            .await?;
            let secs = started.elapsed().as_secs_f64();
            println!("loaded in {secs:.1}s");
            (tenant, connection, token, secs)
        }
    };
    let group_id = |name: &'static str| {
        diesel::sql_query("SELECT id FROM groups WHERE tenant_id = $1 AND display_name_key = $2")
            .bind::<SqlUuid, _>(tenant)
            .bind::<Text, _>(name)
    };
    let big: IdRow = group_id("big group").get_result(&mut conn).await.context("finding Big group")?;
    let small: IdRow = group_id("group 1").get_result(&mut conn).await.context("finding Group 1")?;
    Ok(Loaded { tenant, connection, token, big_group: big.id, small_group: small.id, load_secs })
}

async fn load_groups(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    connection: Uuid,
    sizes: Sizes,
) -> anyhow::Result<()> {
    let t = Instant::now();
    // Group 0 is "Big group".
    let name = "CASE WHEN g = 0 THEN 'Big group' ELSE 'Group ' || g END";
    insert_groups(conn, tenant, connection, sizes.users, name, sizes.groups - 1).await?;
    println!("  {} groups in {:.1}s", sizes.groups, t.elapsed().as_secs_f64());

    insert_members(conn, tenant, "big group", sizes.big_members, "(k * 10)", |start, end, n, secs| {
        println!("  Big group members {start}..={end}: {n} rows in {secs:.1}s")
    })
    .await?;
    // Every other group: 3 members spread over the users; "Group 1" exactly 10.
    let t = Instant::now();
    let extra = "CASE WHEN g = 1 THEN 9 ELSE 2 END";
    let n =
        insert_spread_members(conn, tenant, sizes.users, (1, sizes.groups - 1), extra, sizes.users).await?;
    println!("  {n} memberships of the other groups in {:.1}s", t.elapsed().as_secs_f64());
    Ok(())
}

/// Ids of "Group g" for the given g.
pub async fn sample_groups(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    numbers: &[u64],
) -> anyhow::Result<Vec<(String, Uuid)>> {
    #[derive(QueryableByName)]
    struct G {
        #[diesel(sql_type = Text)]
        display_name: String,
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let keys: Vec<String> = numbers.iter().map(|g| format!("group {g}")).collect();
    let rows: Vec<G> = diesel::sql_query(
        "SELECT display_name, id FROM groups WHERE tenant_id = $1 AND display_name_key = ANY($2)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Array<Text>, _>(&keys)
    .load(conn)
    .await?;
    anyhow::ensure!(rows.len() == numbers.len(), "sampled {} groups, found {}", numbers.len(), rows.len());
    Ok(rows.into_iter().map(|g| (g.display_name, g.id)).collect())
}
