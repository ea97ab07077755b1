//! Group tree benchmark (see benches/README.md): a tree 10 levels deep of 10,000 groups with
//! 100,000 users spread over it (each user a direct member of one group), then
//! `roster_group_effective_members` for the root, a mid-level and a leaf group,
//! `roster_member_groups` for a user at the deepest level, `GET /Users/{id}` of that user (which
//! lists its groups) and the filter `groups.value eq "<root id>"` through the real server, each as
//! median/p99 and as a ratio to a raw SQL baseline that reads the same rows without walking the
//! tree; EXPLAIN of the tree walks checks that no sequential scan is used.
//! `cargo bench --bench tree [-- --groups 10000 --users 100000 --requests 100]`;
//! `ROSTER_BENCH_QUICK=1` uses 1,000 groups and 10,000 users.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use common::load::{self, exec, uuid7_sql, BASE_MS};
use common::{explain, ms, number, parse_options, pct, run_on_database, value, Http, Server, SECRET};
use roster::auth::SigningKey;

const DATABASE: &str = "roster_bench_tree";

struct Args {
    groups: u64,
    users: u64,
    requests: usize,
    database: String,
}

fn parse_args() -> anyhow::Result<Args> {
    let quick = std::env::var_os("ROSTER_BENCH_QUICK").is_some();
    let mut a = Args {
        groups: if quick { 1_000 } else { 10_000 },
        users: if quick { 10_000 } else { 100_000 },
        requests: if quick { 20 } else { 100 },
        database: DATABASE.into(),
    };
    parse_options("--groups N --users N --requests N --database NAME", |arg, it| {
        match arg {
            "--groups" => a.groups = number(it, arg)?,
            "--users" => a.users = number(it, arg)?,
            "--requests" => a.requests = number(it, arg)?,
            "--database" => a.database = value(it, arg)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    anyhow::ensure!(a.groups >= 100 && a.users >= a.groups, "--groups >= 100 and --users >= --groups");
    anyhow::ensure!(a.requests >= 5, "--requests must be at least 5");
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let database = args.database.clone();
    run_on_database(&database, |url, target| async move { run(&args, &url, &target).await })
}

/// The branching factor that makes groups 0..n a tree 10 levels deep: parent(g) = floor((g-1)/b).
fn branching(n: u64) -> f64 {
    (n as f64).powf(1.0 / 9.0)
}

fn parent(g: u64, b: f64) -> u64 {
    ((g - 1) as f64 / b).floor() as u64
}

/// The chain from `g` up to the root (g first).
fn chain(mut g: u64, b: f64) -> Vec<u64> {
    let mut out = vec![g];
    while g > 0 {
        g = parent(g, b);
        out.push(g);
    }
    out
}

/// SQL of the id of tree group `g` (an SQL expression), after `users` users.
fn gid_sql(users: u64, g: &str) -> String {
    uuid7_sql(&format!("{}::bigint + {g}", BASE_MS + users as i64 + 1000), &format!("{g} + 5000000000"))
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn id_of(conn: &mut AsyncPgConnection, sql: String) -> anyhow::Result<Uuid> {
    let row: Id = diesel::sql_query(format!("SELECT {sql} AS id")).get_result(conn).await?;
    Ok(row.id)
}

/// Median and p99 (ms) of `n` runs of the async expression `body` (an `i64` row count) after
/// 3 warm-ups, and its last value.
macro_rules! time {
    ($n:expr, $body:expr) => {{
        let mut v = Vec::with_capacity($n);
        let mut last: i64 = 0;
        for i in 0..($n + 3) {
            let t = Instant::now();
            last = $body;
            if i >= 3 {
                v.push(ms(t.elapsed()));
            }
        }
        v.sort_by(f64::total_cmp);
        (pct(&v, 50.0), pct(&v, 99.0), last)
    }};
}

fn report(what: &str, (median, p99): (f64, f64), rows: i64, baseline: Option<(f64, f64)>) {
    let ratio = baseline
        .map(|(b, _)| format!("  ratio {:.1}x of baseline median {:.3} ms", median / b, b))
        .unwrap_or_default();
    println!("{what:<58} median {median:>8.3} ms  p99 {p99:>8.3} ms  rows {rows:>7}{ratio}");
}

async fn run(args: &Args, url: &str, target: &std::path::Path) -> anyhow::Result<()> {
    roster::db::run_migrations(url).await?;
    let mut conn = load::connect_for_load(url).await?;
    let key = SigningKey::from_secret(SECRET.as_bytes());
    let (tenant, connection, token) =
        load::reset_tenant(&mut conn, &key, "tree", "Tree bench", Utc::now()).await?;
    let b = branching(args.groups);
    let t = Instant::now();
    load::load_users(&mut conn, tenant, connection, args.users).await?;
    let last = args.groups - 1;
    load::insert_groups(&mut conn, tenant, connection, args.users, "'Tree group ' || g", last).await?;
    let n = exec(
        &mut conn,
        &format!(
            "INSERT INTO group_members (tenant_id, group_id, member_id, member_type) \
             SELECT '{tenant}'::uuid, {}, {}, 'User' FROM generate_series(1::bigint, {}::bigint) AS u",
            gid_sql(args.users, &format!("(u % {})", args.groups)),
            load::user_id_sql("u"),
            args.users
        ),
    )
    .await?;
    load::finish_load(&mut conn).await?;
    exec(
        &mut conn,
        &format!(
            "UPDATE groups SET parent_id = {} FROM generate_series(1::bigint, {last}::bigint) AS g \
             WHERE tenant_id = '{tenant}' AND id = {}",
            gid_sql(args.users, &format!("floor((g - 1) / {b}::float8)::bigint")),
            gid_sql(args.users, "g")
        ),
    )
    .await?;
    exec(&mut conn, "VACUUM (ANALYZE) groups").await?;
    let deepest = (1..args.groups).max_by_key(|g| chain(*g, b).len()).unwrap_or(0);
    let path = chain(deepest, b);
    let levels = path.len();
    let mid = path[path.len() / 2];
    println!(
        "loaded {} groups ({levels} levels, branching {b:.2}), {} users, {n} memberships in {:.1}s",
        args.groups,
        args.users,
        t.elapsed().as_secs_f64()
    );
    let conn = &mut AsyncPgConnection::establish(url).await?;
    let root_id = id_of(conn, gid_sql(args.users, "0")).await?;
    let mid_id = id_of(conn, gid_sql(args.users, &mid.to_string())).await?;
    let leaf_id = id_of(conn, gid_sql(args.users, &deepest.to_string())).await?;
    // A user in the deepest group: u % groups == deepest.
    let user = id_of(conn, load::user_id_sql(&deepest.to_string())).await?;

    // The group ids under a group (known here from the generator), for the baselines.
    let below = |top: u64| -> Vec<u64> { (0..args.groups).filter(|g| chain(*g, b).contains(&top)).collect() };
    let ids_of = |gs: Vec<u64>| {
        let users = args.users;
        async move {
            let list = gs.iter().map(|g| gid_sql(users, &g.to_string())).collect::<Vec<_>>().join(", ");
            let rows: Vec<Id> = diesel::sql_query(format!("SELECT unnest(ARRAY[{list}]) AS id"))
                .load(&mut AsyncPgConnection::establish(url).await?)
                .await?;
            Ok::<Vec<Uuid>, anyhow::Error>(rows.into_iter().map(|r| r.id).collect())
        }
    };

    println!("\n(a) roster_group_effective_members (baseline: count the same groups' members by id list)");
    for (label, g, id) in [("root", 0, root_id), ("mid-level", mid, mid_id), ("leaf", deepest, leaf_id)] {
        let under = ids_of(below(g)).await?;
        let timed = time!(args.requests, {
            let c: Count =
                diesel::sql_query("SELECT count(*) AS n FROM roster_group_effective_members($1, $2)")
                    .bind::<SqlUuid, _>(tenant)
                    .bind::<SqlUuid, _>(id)
                    .get_result(conn)
                    .await?;
            c.n
        });
        let base = time!(args.requests, {
            let c: Count = diesel::sql_query(
                "SELECT count(DISTINCT member_id) AS n FROM group_members \
                 WHERE tenant_id = $1 AND group_id = ANY($2) AND member_type = 'User'",
            )
            .bind::<SqlUuid, _>(tenant)
            .bind::<Array<SqlUuid>, _>(&under)
            .get_result(conn)
            .await?;
            c.n
        });
        anyhow::ensure!(
            timed.2 == base.2,
            "{label}: {} effective members but {} in the subtree",
            timed.2,
            base.2
        );
        report(
            &format!("effective members of the {label} group ({} groups)", under.len()),
            (timed.0, timed.1),
            timed.2,
            Some((base.0, base.1)),
        );
    }

    println!("\n(b) roster_member_groups (baseline: read the same {levels} groups by id)");
    let ancestors = ids_of(path.clone()).await?;
    let timed = time!(args.requests, {
        let c: Count = diesel::sql_query("SELECT count(*) AS n FROM roster_member_groups($1, $2)")
            .bind::<SqlUuid, _>(tenant)
            .bind::<SqlUuid, _>(user)
            .get_result(conn)
            .await?;
        c.n
    });
    let base = time!(args.requests, {
        let c: Count = diesel::sql_query(
            "SELECT count(display_name) AS n FROM groups WHERE tenant_id = $1 AND id = ANY($2)",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Array<SqlUuid>, _>(&ancestors)
        .get_result(conn)
        .await?;
        c.n
    });
    anyhow::ensure!(timed.2 == levels as i64, "the deepest user is in {} groups, expected {levels}", timed.2);
    report("groups of a user at the deepest level", (timed.0, timed.1), timed.2, Some((base.0, base.1)));

    println!("\n(c) through the real server (baseline: GET /Users/{{id}} of a user in no group)");
    let data_dir = target.join(format!("bench-roster-data-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir)?;
    let mut server = Server::start(url, &data_dir)?;
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(120)).build()?;
    let root = format!("http://127.0.0.1:{}", server.port);
    let http = Http { client, base: format!("{root}/scim/v2/{connection}"), root, token };
    let loner = {
        let (_, status, body) = http
            .post(
                "/Users",
                serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "loner@example.com"})
                    .to_string(),
            )
            .await?;
        anyhow::ensure!(status == 201, "creating the baseline user answered {status}");
        let doc: serde_json::Value = serde_json::from_slice(&body)?;
        doc["id"].as_str().unwrap_or_default().to_string()
    };
    let get = |id: String| {
        let http = &http;
        async move {
            let (_, status, body) = http.get(&format!("/Users/{id}"), &[]).await?;
            anyhow::ensure!(status == 200, "GET /Users/{id} answered {status}");
            let doc: serde_json::Value = serde_json::from_slice(&body)?;
            Ok(doc["groups"].as_array().map_or(0, Vec::len) as i64)
        }
    };
    let base = time!(args.requests, get(loner.clone()).await?);
    let timed = time!(args.requests, get(user.to_string()).await?);
    anyhow::ensure!(timed.2 == levels as i64, "GET shows {} groups, expected {levels}", timed.2);
    report(
        "GET /Users/{id} of the deepest user (groups listed)",
        (timed.0, timed.1),
        timed.2,
        Some((base.0, base.1)),
    );
    let filter = [
        ("filter".to_string(), format!("groups.value eq \"{root_id}\"")),
        ("count".to_string(), "10".to_string()),
    ];
    let (_, status, body) = http.get("/Users", &filter).await?;
    if status == 200 {
        let timed = time!(args.requests.min(20), {
            let (_, status, body) = http.get("/Users", &filter).await?;
            anyhow::ensure!(status == 200, "filter answered {status}");
            let doc: serde_json::Value = serde_json::from_slice(&body)?;
            doc["totalResults"].as_i64().unwrap_or(-1)
        });
        report(
            "GET /Users?filter=groups.value eq root&count=10",
            (timed.0, timed.1),
            timed.2,
            Some((base.0, base.1)),
        );
    } else {
        println!("filter groups.value eq <root>: answered {status}: {}", String::from_utf8_lossy(&body));
    }
    server.stop()?;
    let _ = std::fs::remove_dir_all(&data_dir);

    println!("\nEXPLAIN of the tree walks (literal parameters):");
    let walks = [
        ("descendants of the root", format!(
            "WITH RECURSIVE down (group_id, depth, path) AS ( \
               SELECT '{root_id}'::uuid, 0, ARRAY['{root_id}'::uuid] \
             UNION ALL \
               SELECT e.down_id, down.depth + 1, down.path || e.down_id FROM down CROSS JOIN LATERAL ( \
                 SELECT g.id AS down_id FROM groups g WHERE g.tenant_id = '{tenant}' AND g.parent_id = down.group_id \
                 UNION SELECT gm.member_id FROM group_members gm \
                 WHERE gm.tenant_id = '{tenant}' AND gm.group_id = down.group_id AND gm.member_type = 'Group') e \
               WHERE NOT e.down_id = ANY (down.path) AND down.depth < 64) \
             SELECT gm.member_id, bool_or(d.depth = 0) FROM down d JOIN group_members gm \
               ON gm.tenant_id = '{tenant}' AND gm.group_id = d.group_id AND gm.member_type = 'User' GROUP BY gm.member_id")),
        ("ancestors of the leaf", format!(
            "SELECT * FROM (WITH RECURSIVE up (group_id, depth, path) AS ( \
               SELECT '{leaf_id}'::uuid, 0, ARRAY['{leaf_id}'::uuid] \
             UNION ALL \
               SELECT e.up_id, up.depth + 1, up.path || e.up_id FROM up CROSS JOIN LATERAL ( \
                 SELECT g.parent_id AS up_id FROM groups g WHERE g.tenant_id = '{tenant}' AND g.id = up.group_id AND g.parent_id IS NOT NULL \
                 UNION SELECT gm.group_id FROM group_members gm WHERE gm.tenant_id = '{tenant}' AND gm.member_id = up.group_id) e \
               WHERE NOT e.up_id = ANY (up.path) AND up.depth < 64) \
             SELECT group_id, min(depth) FROM up WHERE depth > 0 GROUP BY group_id) t")),
    ];
    for (label, sql) in walks {
        let plan = explain(conn, &sql).await?;
        let seq: Vec<&String> = plan.iter().filter(|l| l.contains("Seq Scan")).collect();
        let total = plan.iter().find(|l| l.contains("Execution Time")).cloned().unwrap_or_default();
        if seq.is_empty() {
            println!("  {label}: no sequential scan ({})", total.trim());
        } else {
            println!("  {label}: SEQUENTIAL SCAN: {seq:?}");
            for l in &plan {
                println!("    {l}");
            }
        }
    }
    Ok(())
}
