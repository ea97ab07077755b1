//! PATCH benchmark of Roster (see benches/README.md): group membership PATCH as Entra sends it
//! (one member per request) against groups of 0, 10,000 and 100,000 members, and the Entra
//! attribute PATCH of a user, beside the same SQL run directly and a minimal HTTP round trip.
//! `cargo bench --bench patch [-- --members 10000 --requests 100]`.

mod common;
#[path = "patch/data.rs"]
mod data;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::join_all;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use common::{memory, ms, number, parse_options, pct, run_on_database, value, Http, Server, SECRET};
use roster::auth::SigningKey;
use roster::db::{groups as group_store, users as user_store};

const DATABASE: &str = "roster_bench_patch";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Target for median(largest group) / median(empty group).
const FLAT_TARGET: f64 = 1.5;

struct Args {
    members: u64,
    requests: usize,
    warmup: usize,
    clients: usize,
    seed: u64,
    database: String,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a =
        Args { members: 100_000, requests: 300, warmup: 30, clients: 4, seed: 7, database: DATABASE.into() };
    let known = "--members N --requests N --warmup N --clients N --seed N --database NAME";
    parse_options(known, |arg, it| {
        match arg {
            "--members" => a.members = number(it, arg)?,
            "--requests" => a.requests = number(it, arg)?,
            "--warmup" => a.warmup = number(it, arg)?,
            "--clients" => a.clients = number(it, arg)?,
            "--seed" => a.seed = number(it, arg)?,
            "--database" => a.database = value(it, arg)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    anyhow::ensure!(a.members >= 1000, "--members must be at least 1000");
    anyhow::ensure!(a.requests >= 10, "--requests must be at least 10");
    anyhow::ensure!((1..=16).contains(&a.clients), "--clients must be 1..=16");
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let database = args.database.clone();
    run_on_database(&database, |url, target| async move { run(&args, &url, &target).await })
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// (all direct members of the group, how many of `ids` are among them).
async fn member_counts(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    group: Uuid,
    ids: &[Uuid],
) -> anyhow::Result<(i64, i64)> {
    let all: Count =
        diesel::sql_query("SELECT count(*) AS n FROM group_members WHERE tenant_id = $1 AND group_id = $2")
            .bind::<SqlUuid, _>(tenant)
            .bind::<SqlUuid, _>(group)
            .get_result(conn)
            .await?;
    let of: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_id = ANY($3)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(group)
    .bind::<Array<SqlUuid>, _>(ids)
    .get_result(conn)
    .await?;
    Ok((all.n, of.n))
}

async fn exec(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<()> {
    diesel::sql_query(sql).execute(conn).await.with_context(|| sql.to_string())?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemberOp {
    /// `{"op":"Add","path":"members","value":[{"$ref":null,"value":id}]}`
    Add,
    /// `{"op":"Remove","path":"members","value":[{"value":id}]}`
    RemoveValue,
    /// `{"op":"remove","path":"members[value eq \"id\"]"}`
    RemoveFilter,
}

impl MemberOp {
    fn label(self) -> &'static str {
        match self {
            MemberOp::Add => "Add members [{$ref:null,value}]",
            MemberOp::RemoveValue => "Remove members [{value}]",
            MemberOp::RemoveFilter => "remove members[value eq \"id\"] (aadOpt)",
        }
    }

    fn body(self, user: Uuid) -> Value {
        let op = match self {
            MemberOp::Add => {
                json!({"op": "Add", "path": "members", "value": [{"$ref": null, "value": user.to_string()}]})
            }
            MemberOp::RemoveValue => {
                json!({"op": "Remove", "path": "members", "value": [{"value": user.to_string()}]})
            }
            MemberOp::RemoveFilter => {
                json!({"op": "remove", "path": format!("members[value eq \"{user}\"]")})
            }
        };
        json!({"schemas": [PATCH_OP], "Operations": [op]})
    }
}

/// Timings of one membership phase.
struct MemberMeasured {
    op: MemberOp,
    group: String,
    size: i64,
    n: usize,
    roster: Vec<f64>,
    raw: Vec<f64>,
    raw_lock: Vec<f64>,
    raw_resolve: Vec<f64>,
    raw_write: Vec<f64>,
    raw_touch: Vec<f64>,
    http: Vec<f64>,
    before: i64,
    after: i64,
}

impl MemberMeasured {
    fn p50(&self) -> f64 {
        pct(&self.roster, 50.0)
    }
    fn ratio(&self) -> f64 {
        self.p50() / (pct(&self.raw, 50.0) + pct(&self.http, 50.0))
    }
}

/// The statements of the locked path of a one-member PATCH of a group (`directory::patch::patch_group`
/// with `db::groups`; IdP requests without `If-Match` take one statement instead,
/// `db::groups::patch_members`), in a transaction that is rolled back so the group is unchanged. Returns
/// (total, lock, resolve, write, version bump + rollback).
async fn raw_member_txn(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    group: Uuid,
    user: Uuid,
    op: MemberOp,
) -> anyhow::Result<[Duration; 5]> {
    let now = Utc::now();
    let t0 = Instant::now();
    exec(conn, "BEGIN").await?;
    group_store::lock(conn, tenant, group).await?.context("group vanished")?;
    let t1 = Instant::now();
    let written = if op == MemberOp::Add {
        // groups::resolve_members: which ids are users, which are groups.
        let found = group_store::member_kinds(conn, tenant, &[user], &[None]).await?;
        anyhow::ensure!(found == [Some("User".to_string())], "raw: {user} is not a user");
        let t2 = Instant::now();
        let n = group_store::add_members(conn, tenant, group, &[(user, "User")]).await?.len();
        (t2, n)
    } else {
        // Both remove forms become MemberChange::Remove(ids) → db::groups::remove_members.
        let t2 = Instant::now();
        (t2, group_store::remove_members(conn, tenant, group, &[user]).await?.len())
    };
    let (t2, n) = written;
    let t3 = Instant::now();
    anyhow::ensure!(n == 1, "raw {op:?} of {user} changed {n} rows, not 1");
    group_store::record_change(conn, tenant, group, true, &[], now).await?;
    exec(conn, "ROLLBACK").await?;
    let t4 = Instant::now();
    Ok([t4 - t0, t1 - t0, t2 - t1, t3 - t2, t4 - t3])
}

/// One membership form against every group, interleaved: request k goes to each group in turn
/// (so drift on a shared machine hits every size alike), naming spare user k. Member counts are
/// checked with SQL before and after.
async fn measure_members(
    http: &Http,
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    groups: &[data::Group],
    op: MemberOp,
    spare: &[Uuid],
    warmup: usize,
) -> anyhow::Result<Vec<MemberMeasured>> {
    let mut out = Vec::with_capacity(groups.len());
    for group in groups {
        let (before, of_spare) = member_counts(conn, tenant, group.id, spare).await?;
        let expected_spare = if op == MemberOp::Add { 0 } else { spare.len() as i64 };
        anyhow::ensure!(
            of_spare == expected_spare,
            "{}: {of_spare} of the {} spare users are members before {op:?}, expected {expected_spare}",
            group.name,
            spare.len()
        );
        out.push(MemberMeasured {
            op,
            group: group.name.clone(),
            size: group.size,
            n: 0,
            roster: Vec::new(),
            raw: Vec::new(),
            raw_lock: Vec::new(),
            raw_resolve: Vec::new(),
            raw_write: Vec::new(),
            raw_touch: Vec::new(),
            http: Vec::new(),
            before,
            after: 0,
        });
    }
    for (k, &user) in spare.iter().enumerate() {
        for (group, m) in groups.iter().zip(out.iter_mut()) {
            let h = http.healthz().await?;
            let raw = raw_member_txn(conn, tenant, group.id, user, op).await?;
            let (d, status, body) = http.patch(&format!("/Groups/{}", group.id), &op.body(user)).await?;
            anyhow::ensure!(
                status == 204 && body.is_empty(),
                "{} {op:?} {user}: {status} {}",
                group.name,
                String::from_utf8_lossy(&body)
            );
            if k >= warmup {
                m.n += 1;
                m.roster.push(ms(d));
                m.http.push(ms(h));
                m.raw.push(ms(raw[0]));
                m.raw_lock.push(ms(raw[1]));
                m.raw_resolve.push(ms(raw[2]));
                m.raw_write.push(ms(raw[3]));
                m.raw_touch.push(ms(raw[4]));
            }
        }
    }
    for (group, m) in groups.iter().zip(out.iter_mut()) {
        let (after, of_spare) = member_counts(conn, tenant, group.id, spare).await?;
        let (want_after, want_spare) = if op == MemberOp::Add {
            (m.before + spare.len() as i64, spare.len() as i64)
        } else {
            (m.before - spare.len() as i64, 0)
        };
        anyhow::ensure!(
            after == want_after && of_spare == want_spare,
            "{} after {op:?}: {after} members ({of_spare} spare), expected {want_after} ({want_spare})",
            group.name
        );
        m.after = after;
        for v in [
            &mut m.roster,
            &mut m.raw,
            &mut m.raw_lock,
            &mut m.raw_resolve,
            &mut m.raw_write,
            &mut m.raw_touch,
            &mut m.http,
        ] {
            v.sort_by(f64::total_cmp);
        }
    }
    Ok(out)
}

/// Throughput and latencies of one user-PATCH-side case.
struct Rate {
    name: String,
    clients: usize,
    n: usize,
    secs: f64,
    lat: Vec<f64>,
    /// The groups_of part (Roster's transaction only), ms, sorted.
    groups_of: Vec<f64>,
}

impl Rate {
    fn per_sec(&self) -> f64 {
        self.n as f64 / self.secs
    }
    fn p50(&self) -> f64 {
        pct(&self.lat, 50.0)
    }
}

fn rate(name: &str, clients: usize, secs: f64, lats: Vec<Vec<f64>>) -> Rate {
    let mut lat: Vec<f64> = lats.into_iter().flatten().collect();
    lat.sort_by(f64::total_cmp);
    Rate { name: name.into(), clients, n: lat.len(), secs, lat, groups_of: Vec::new() }
}

/// The attribute values of write `k` in `phase` (each write changes both values).
fn values(phase: &str, k: usize) -> (String, String) {
    (format!("{phase}-family-{k}"), format!("{phase}-dept-{k}"))
}

fn user_body(family: &str, department: &str) -> Value {
    json!({
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": "name.familyName", "value": family},
            {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": department}
        ]
    })
}

/// The resource with the two attributes replaced, as Roster's PATCH makes it.
fn patched(resource: &Map<String, Value>, family: &str, department: &str) -> Map<String, Value> {
    let mut r = resource.clone();
    if let Some(Value::Object(name)) = r.get_mut("name") {
        name.insert("familyName".into(), json!(family));
    }
    if let Some(Value::Object(ext)) = r.get_mut(ENTERPRISE) {
        ext.insert("department".into(), json!(department));
    }
    r
}

/// Roster: `per_client` PATCHes per client, client c on its own users.
async fn roster_user_patches(
    http: &Http,
    users: &[Vec<data::UserSnapshot>],
    phase: &str,
    warmup: usize,
) -> anyhow::Result<(f64, Vec<Vec<f64>>)> {
    let one = |client: usize| async move {
        let mut lat = Vec::new();
        for (k, u) in users[client].iter().enumerate() {
            let (family, dept) = values(phase, k);
            let (d, status, body) =
                http.patch(&format!("/Users/{}", u.id), &user_body(&family, &dept)).await?;
            anyhow::ensure!(
                status == 200,
                "PATCH /Users/{}: {status} {}",
                u.id,
                String::from_utf8_lossy(&body)
            );
            let json: Value = serde_json::from_slice(&body)?;
            let got_family = json.pointer("/name/familyName").and_then(Value::as_str);
            let got_dept = json.get(ENTERPRISE).and_then(|e| e.get("department")).and_then(Value::as_str);
            anyhow::ensure!(
                got_family == Some(family.as_str()) && got_dept == Some(dept.as_str()),
                "PATCH /Users/{}: response shows {got_family:?} / {got_dept:?}",
                u.id
            );
            if k >= warmup {
                lat.push(ms(d));
            }
        }
        Ok::<_, anyhow::Error>(lat)
    };
    let start = Instant::now();
    let results = join_all((0..users.len()).map(one)).await;
    let secs = start.elapsed().as_secs_f64();
    Ok((secs, results.into_iter().collect::<anyhow::Result<Vec<_>>>()?))
}

/// The member's columns written by a plain UPDATE, version bumped (Roster writes them in its
/// follow-up's statement since migration 000029; this is the raw side).
async fn raw_update(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    id: Uuid,
    columns: &user_store::UserColumns,
) -> anyhow::Result<()> {
    use diesel::{BoolExpressionMethods, ExpressionMethods, QueryDsl};
    use roster::db::schema::users;
    diesel::update(users::table.filter(users::tenant_id.eq(tenant).and(users::id.eq(id))))
        .set((
            columns,
            users::password_hash.eq(None::<String>),
            users::version.eq(users::version + 1),
            users::last_modified.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Raw SQL: per client its own connection; `full` runs what Roster's transaction runs
/// (BEGIN, SELECT … FOR UPDATE, the UPDATE, COMMIT, then groups_of for the response), otherwise
/// the UPDATE alone (autocommit).
async fn raw_user_updates(
    conns: &mut [AsyncPgConnection],
    tenant: Uuid,
    users: &[Vec<data::UserSnapshot>],
    phase: &str,
    warmup: usize,
    full: bool,
) -> anyhow::Result<(f64, Vec<Vec<f64>>, Vec<f64>)> {
    let start = Instant::now();
    let futures = conns.iter_mut().zip(users).map(|(conn, mine)| async move {
        let mut lat = Vec::new();
        let mut parts = Vec::new();
        for (k, u) in mine.iter().enumerate() {
            let (family, dept) = values(phase, k);
            let columns = user_store::UserColumns::from_resource(
                patched(&u.resource, &family, &dept),
                user_store::status::PROVISIONED,
            );
            let t = Instant::now();
            if full {
                exec(conn, "BEGIN").await?;
                user_store::find_for_update(conn, tenant, u.id).await?.context("user vanished")?;
            }
            raw_update(conn, tenant, u.id, &columns).await?;
            let mut groups_of = Duration::ZERO;
            if full {
                exec(conn, "COMMIT").await?;
                let g = Instant::now();
                user_store::groups_of(conn, tenant, &[u.id]).await?;
                groups_of = g.elapsed();
            }
            if k >= warmup {
                lat.push(ms(t.elapsed()));
                parts.push(ms(groups_of));
            }
        }
        Ok::<_, anyhow::Error>((lat, parts))
    });
    let results = join_all(futures).await;
    let secs = start.elapsed().as_secs_f64();
    let (lat, parts): (Vec<_>, Vec<_>) =
        results.into_iter().collect::<anyhow::Result<Vec<_>>>()?.into_iter().unzip();
    let mut parts: Vec<f64> = parts.into_iter().flatten().collect();
    parts.sort_by(f64::total_cmp);
    Ok((secs, lat, parts))
}

async fn healthz_rounds(
    http: &Http,
    clients: usize,
    per_client: usize,
    warmup: usize,
) -> anyhow::Result<(f64, Vec<Vec<f64>>)> {
    let one = |_c: usize| async move {
        let mut lat = Vec::new();
        for k in 0..per_client {
            let d = http.healthz().await?;
            if k >= warmup {
                lat.push(ms(d));
            }
        }
        Ok::<_, anyhow::Error>(lat)
    };
    let start = Instant::now();
    let results = join_all((0..clients).map(one)).await;
    let secs = start.elapsed().as_secs_f64();
    Ok((secs, results.into_iter().collect::<anyhow::Result<Vec<_>>>()?))
}

/// Check with SQL that every user of `users` holds the values of the last write of `phase`.
async fn verify_users(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    users: &[Vec<data::UserSnapshot>],
    phase: &str,
) -> anyhow::Result<()> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        family: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        dept: Option<String>,
    }
    let mut want = std::collections::HashMap::new();
    for mine in users {
        for (k, u) in mine.iter().enumerate() {
            want.insert(u.id, values(phase, k));
        }
    }
    let ids: Vec<Uuid> = want.keys().copied().collect();
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT id, family_name AS family, resource -> '{ENTERPRISE}' ->> 'department' AS dept \
         FROM users WHERE tenant_id = $1 AND id = ANY($2)"
    ))
    .bind::<SqlUuid, _>(tenant)
    .bind::<Array<SqlUuid>, _>(&ids)
    .load(conn)
    .await?;
    anyhow::ensure!(rows.len() == ids.len(), "{} of {} patched users found", rows.len(), ids.len());
    for r in rows {
        let (family, dept) = &want[&r.id];
        anyhow::ensure!(
            r.family.as_ref() == Some(family) && r.dept.as_ref() == Some(dept),
            "user {} holds {:?} / {:?} after {phase}, expected {family} / {dept}",
            r.id,
            r.family,
            r.dept
        );
    }
    Ok(())
}

fn print_rate(r: &Rate) {
    println!(
        "{:<48} clients {}  n={:<5} {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        r.name,
        r.clients,
        r.n,
        r.per_sec(),
        r.p50(),
        pct(&r.lat, 99.0)
    );
}

async fn run(args: &Args, url: &str, target: &std::path::Path) -> anyhow::Result<()> {
    let applied = roster::db::run_migrations(url).await?;
    if !applied.is_empty() {
        println!("migrations applied: {}", applied.join(", "));
    }
    let key = SigningKey::from_secret(SECRET.as_bytes());
    let per_phase = args.warmup + args.requests;
    let spec = data::Spec {
        members: args.members,
        spare: per_phase as u64,
        patched: (args.clients * per_phase) as u64,
    };
    let loaded = data::load(url, spec, &key).await?;
    let tenant = loaded.tenant;
    let mut conn = AsyncPgConnection::establish(url).await?;
    let pg_version = common::pg_version(&mut conn).await?;
    let spare = data::spare_users(&mut conn, tenant, spec).await?;
    let patch_users =
        data::user_snapshots(&mut conn, tenant, spec, args.clients, per_phase, args.seed).await?;

    let data_dir = target.join(format!("bench-roster-data-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir)?;
    let mut server = Server::start(url, &data_dir)?;
    println!("roster serve pid {} on 127.0.0.1:{}", server.pid(), server.port);
    let (rss_start, _) = memory(server.pid())?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(args.clients.max(4))
        .build()?;
    let root = format!("http://127.0.0.1:{}", server.port);
    let http =
        Http { client, base: format!("{root}/scim/v2/{}", loaded.connection), root, token: loaded.token };

    // Warm-up of the server (pool connections, statement caches) and of the bench's connection:
    // add and remove spare users on a filler group, counts checked like the measured phases.
    let warm = &spare[..spare.len().min(100)];
    for op in [MemberOp::Add, MemberOp::RemoveValue] {
        measure_members(
            &http,
            &mut conn,
            tenant,
            std::slice::from_ref(&loaded.warm_group),
            op,
            warm,
            warm.len(),
        )
        .await?;
    }

    // 1. Membership: add, remove (value array), put back with SQL, remove (aadOpt filter).
    let mut member_results = Vec::new();
    let groups = &loaded.groups;
    let t = Instant::now();
    member_results
        .extend(measure_members(&http, &mut conn, tenant, groups, MemberOp::Add, &spare, args.warmup).await?);
    member_results.extend(
        measure_members(&http, &mut conn, tenant, groups, MemberOp::RemoveValue, &spare, args.warmup).await?,
    );
    // Put the spare users back (untimed, one statement per group) for the aadOpt removal.
    let back: Vec<(Uuid, &str)> = spare.iter().map(|id| (*id, "User")).collect();
    for group in groups {
        let n = group_store::add_members(&mut conn, tenant, group.id, &back).await?.len();
        anyhow::ensure!(n == spare.len(), "re-adding the spare users to {} added {n}", group.name);
    }
    member_results.extend(
        measure_members(&http, &mut conn, tenant, groups, MemberOp::RemoveFilter, &spare, args.warmup)
            .await?,
    );
    for m in &member_results {
        println!(
            "{:<14} {:<42} n={:<4} roster p50 {:>6.2} ms p99 {:>6.2}  raw p50 {:>6.2}  http p50 {:>5.2}  ratio {:>5.2}  members {} → {}",
            m.group,
            m.op.label(),
            m.n,
            m.p50(),
            pct(&m.roster, 99.0),
            pct(&m.raw, 50.0),
            pct(&m.http, 50.0),
            m.ratio(),
            m.before,
            m.after
        );
    }
    println!("  membership cases took {:.0}s", t.elapsed().as_secs_f64());

    // 2. User attribute PATCH: throughput and latency, sequential and concurrent.
    let mut rates = Vec::new();
    let mut raw_conns = Vec::new();
    for _ in 0..args.clients {
        raw_conns.push(AsyncPgConnection::establish(url).await?);
    }
    let seq_users = &patch_users[..1];
    let all_users = &patch_users[..];
    for (users, clients) in [(seq_users, 1usize), (all_users, args.clients)] {
        let phase = format!("roster{clients}");
        let (secs, lat) = roster_user_patches(&http, users, &phase, args.warmup).await?;
        verify_users(&mut conn, tenant, users, &phase).await?;
        rates.push(rate("Roster PATCH /Users/{id} (Entra Replace ×2)", clients, secs, lat));
        print_rate(&rates[rates.len() - 1]);
        let phase = format!("raw{clients}");
        let (secs, lat, _) =
            raw_user_updates(&mut raw_conns[..clients], tenant, users, &phase, args.warmup, false).await?;
        verify_users(&mut conn, tenant, users, &phase).await?;
        rates.push(rate("Raw SQL: the UPDATE of the users row", clients, secs, lat));
        print_rate(&rates[rates.len() - 1]);
        let phase = format!("txn{clients}");
        let (secs, lat, groups_of) =
            raw_user_updates(&mut raw_conns[..clients], tenant, users, &phase, args.warmup, true).await?;
        verify_users(&mut conn, tenant, users, &phase).await?;
        let mut r = rate("Raw SQL: Roster's transaction + groups_of", clients, secs, lat);
        r.groups_of = groups_of;
        rates.push(r);
        print_rate(&rates[rates.len() - 1]);
        let (secs, lat) = healthz_rounds(&http, clients, per_phase, args.warmup).await?;
        rates.push(rate("GET /healthz", clients, secs, lat));
        print_rate(&rates[rates.len() - 1]);
    }
    let (rss_end, hwm) = memory(server.pid())?;

    // 3. Plans of the statements of a membership PATCH on the biggest group, and of the UPDATE.
    let big = loaded.groups.last().context("no groups")?;
    let probe = spare[0];
    let u = &patch_users[0][0];
    let plans_of = [
        (
            "lock the group (find_for_update)",
            format!(
                "SELECT id, resource, parent_id, version, created_at, last_modified FROM groups \
                 WHERE tenant_id = '{tenant}' AND id = '{}' FOR UPDATE",
                big.id
            ),
        ),
        (
            "resolve: users::existing_ids",
            format!(
                "SELECT id FROM users WHERE tenant_id = '{tenant}' AND status <> 'removed' AND id = ANY(ARRAY['{probe}'::uuid])"
            ),
        ),
        (
            "add_members (INSERT … ON CONFLICT DO NOTHING)",
            format!(
                "INSERT INTO group_members (tenant_id, group_id, member_id, member_type) \
                 SELECT '{tenant}', '{}', m.id, m.kind FROM unnest(ARRAY['{probe}']::uuid[], ARRAY['User']::text[]) AS m(id, kind) \
                 ON CONFLICT DO NOTHING",
                big.id
            ),
        ),
        (
            "remove_members (DELETE)",
            format!(
                "DELETE FROM group_members WHERE tenant_id = '{tenant}' AND group_id = '{}' AND member_id = ANY(ARRAY['{}'::uuid])",
                big.id, loaded.big_member
            ),
        ),
        (
            "touch the group (UPDATE version)",
            format!(
                "UPDATE groups SET version = version + 1, last_modified = now() WHERE tenant_id = '{tenant}' AND id = '{}'",
                big.id
            ),
        ),
        (
            "user PATCH response: groups_of (a member of Medium and Big group)",
            format!(
                "SELECT m.id AS member_id, g.group_id, g.display, g.type AS kind \
                 FROM unnest(ARRAY['{}'::uuid]) AS m(id) CROSS JOIN LATERAL roster_member_groups('{tenant}'::uuid, m.id) AS g \
                 ORDER BY m.id, g.display, g.group_id",
                loaded.medium_member
            ),
        ),
        (
            "user PATCH: UPDATE users (all columns + resource)",
            format!(
                "UPDATE users SET family_name = 'x', resource = jsonb_set(resource, '{{name,familyName}}', '\"x\"'), \
                 version = version + 1, last_modified = now() WHERE tenant_id = '{tenant}' AND id = '{}'",
                u.id
            ),
        ),
    ];
    let mut plans = String::new();
    let mut plan_rows = Vec::new();
    for (what, sql) in &plans_of {
        exec(&mut conn, "BEGIN").await?;
        let lines = common::explain(&mut conn, sql).await;
        exec(&mut conn, "ROLLBACK").await?;
        let lines = lines?;
        let scans: Vec<String> = lines
            .iter()
            .filter(|l| {
                l.contains(" Scan")
                    || l.contains("Insert on")
                    || l.contains("Delete on")
                    || l.contains("Update on")
            })
            .map(|l| {
                l.trim().trim_start_matches("->").trim().split("  (").next().unwrap_or_default().to_string()
            })
            .collect();
        let time = lines.iter().find(|l| l.contains("Execution Time")).map_or("", |l| l.trim());
        let seq = lines.iter().any(|l| l.contains("Seq Scan"));
        plan_rows.push(format!(
            "| {what} | {} | {} | {} |",
            if seq { "**YES**" } else { "no" },
            scans.join("; "),
            time.trim_start_matches("Execution Time: ")
        ));
        writeln!(plans, "-- {what}\n{sql};\n{}\n", lines.join("\n"))?;
    }
    println!("\nEXPLAIN (ANALYZE, BUFFERS), group of {} members:\n\n{plans}", big.size);

    // Report.
    let mut md = String::new();
    writeln!(md, "## Roster PATCH benchmark\n")?;
    writeln!(md, "- Machine: {}; {pg_version}", common::machine())?;
    writeln!(
        md,
        "- Data: {} users; groups of {} members (plus {} groups of 3); load took {:.0}s",
        loaded.users,
        loaded.groups.iter().map(|g| g.size.to_string()).collect::<Vec<_>>().join(", "),
        data::FILLER_GROUPS,
        loaded.load_secs
    )?;
    writeln!(
        md,
        "- Membership: per group and form, {} warm-up + {} timed sequential PATCHes, each naming one \
         user not yet in the group (add) or added by the add phase (remove); the three groups take turns \
         request by request; every response 204; member counts checked with SQL before and after every phase",
        args.warmup, args.requests
    )?;
    writeln!(
        md,
        "- Raw SQL (membership) = the statements Roster runs (`find_for_update`, `users/groups::existing_ids` \
         for adds, `add_members`/`remove_members`, `touch`) through Roster's own `db` functions from the bench \
         process, in a transaction rolled back just before the Roster request for the same user"
    )?;
    writeln!(md, "- Ratio = Roster p50 / (raw SQL p50 + GET /healthz p50)\n")?;
    writeln!(md, "### Group membership PATCH (Entra, one member per request)\n")?;
    writeln!(md, "| Operation | Group size | n | Roster p50 ms | Roster p99 ms | Raw SQL p50 ms | of which lock | of which resolve | of which INSERT/DELETE | of which touch+end | /healthz p50 ms | Ratio | Members before → after |")?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")?;
    for m in &member_results {
        writeln!(
            md,
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} → {} |",
            m.op.label().replace('|', "\\|"),
            m.size,
            m.n,
            m.p50(),
            pct(&m.roster, 99.0),
            pct(&m.raw, 50.0),
            pct(&m.raw_lock, 50.0),
            pct(&m.raw_resolve, 50.0),
            pct(&m.raw_write, 50.0),
            pct(&m.raw_touch, 50.0),
            pct(&m.http, 50.0),
            m.ratio(),
            m.before,
            m.after
        )?;
    }
    writeln!(md, "\n#### Largest vs empty group (median)\n")?;
    let smallest = <[data::Group]>::first(&loaded.groups).map_or(0, |g| g.size);
    let largest = big.size;
    for op in [MemberOp::Add, MemberOp::RemoveValue, MemberOp::RemoveFilter] {
        let at = |size: i64| member_results.iter().find(|m| m.op == op && m.size == size);
        match (at(smallest), at(largest)) {
            (Some(a), Some(b)) => {
                let r = b.p50() / a.p50();
                let verdict = if r <= FLAT_TARGET { "met" } else { "**missed**" };
                writeln!(
                    md,
                    "- {}: {:.2} ms ({smallest}) → {:.2} ms ({largest}) = **{r:.2}×** (target ≤ {FLAT_TARGET}×: {verdict})",
                    op.label(),
                    a.p50(),
                    b.p50()
                )?;
            }
            _ => writeln!(md, "- {}: not measured", op.label())?,
        }
    }
    writeln!(md, "\n### User attribute PATCH (Entra: Replace name.familyName + enterprise department)\n")?;
    writeln!(
        md,
        "- {} warm-up + {} timed PATCHes per client; each client patches its own {} users (values change on \
         every write; the stored values are checked with SQL after every case); responses 200 with the new values",
        args.warmup, args.requests, per_phase
    )?;
    writeln!(
        md,
        "- Raw UPDATE = `db::users::update` (the statement Roster runs: every `UserColumns` column, the resource \
         jsonb, version, last_modified) by primary key, autocommit, one connection per client; Roster's transaction \
         = BEGIN, `find_for_update`, the UPDATE, COMMIT, then `groups_of` for the response's `groups`\n"
    )?;
    writeln!(md, "| Case | Clients | n | Requests/s | p50 ms | p99 ms | of which groups_of p50 ms |")?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|")?;
    for r in &rates {
        writeln!(
            md,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
            r.name,
            r.clients,
            r.n,
            r.per_sec(),
            r.p50(),
            pct(&r.lat, 99.0),
            if r.groups_of.is_empty() { String::new() } else { format!("{:.2}", pct(&r.groups_of, 50.0)) }
        )?;
    }
    writeln!(md)?;
    for clients in [1, args.clients] {
        let find = |prefix: &str| rates.iter().find(|r| r.clients == clients && r.name.starts_with(prefix));
        if let (Some(ro), Some(raw), Some(txn), Some(h)) =
            (find("Roster"), find("Raw SQL: the UPDATE"), find("Raw SQL: Roster's"), find("GET /healthz"))
        {
            writeln!(
                md,
                "- {clients} client{}: Roster p50 / (raw UPDATE p50 + /healthz p50) = **{:.2}**; / (Roster's transaction p50 + /healthz p50) = **{:.2}**; throughput Roster {:.0}/s = {:.2}× raw UPDATE, {:.2}× Roster's transaction, {:.2}× /healthz",
                if clients == 1 { "" } else { "s" },
                ro.p50() / (raw.p50() + h.p50()),
                ro.p50() / (txn.p50() + h.p50()),
                ro.per_sec(),
                ro.per_sec() / raw.per_sec(),
                ro.per_sec() / txn.per_sec(),
                ro.per_sec() / h.per_sec()
            )?;
        }
    }
    writeln!(md, "\n### Server memory (roster serve)\n")?;
    writeln!(md, "- RSS after start: {rss_start:.1} MiB; after all cases: {rss_end:.1} MiB; peak (VmHWM): **{hwm:.1} MiB**")?;
    writeln!(md, "\n### EXPLAIN (ANALYZE, BUFFERS) on the group of {} members (rolled back)\n", big.size)?;
    writeln!(md, "| Statement | Seq Scan | Nodes | Execution time |")?;
    writeln!(md, "|---|---|---|---|")?;
    for row in &plan_rows {
        writeln!(md, "{row}")?;
    }
    let mut full = md.clone();
    writeln!(full, "\n<details><summary>Plans</summary>\n\n```\n{plans}```\n</details>")?;
    println!("\n{md}");
    let out = target.join("bench-patch.md");
    std::fs::write(&out, full)?;
    println!("written to {}", out.display());

    server.stop()?;
    println!("roster serve stopped (SIGTERM)");
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
