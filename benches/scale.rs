//! Scale benchmark of Roster (see benches/README.md): loads 1,000,000 users and 10,000 groups
//! into PostgreSQL with set-based SQL, starts the real `roster serve` binary, and measures the
//! filters IdPs send, paging and group reads against the same SQL run directly and against a
//! minimal HTTP round trip. `cargo bench --bench scale [-- --users 20000]`.

#[path = "scale/cases.rs"]
mod cases;
mod common;
#[path = "scale/load.rs"]
mod load;

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use cases::{Case, Check, Measured, Step, Window};
use common::{memory, number, parse_options, pct, run_on_database, value, Http, Server, SECRET};
use roster::auth::SigningKey;
use roster::scim::cursor::{self, Direction, Position};
use roster::scim::filter::CompareOp;
use roster::scim::schema::{Registry, ResourceKind};

const DATABASE: &str = "roster_bench";

struct Args {
    users: u64,
    requests: usize,
    warmup: usize,
    budget: Duration,
    seed: u64,
    database: String,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        users: 1_000_000,
        requests: 300,
        warmup: 30,
        budget: Duration::from_secs(60),
        seed: 7,
        database: DATABASE.into(),
    };
    let known = "--users N --requests N --warmup N --case-seconds S --seed N --database NAME";
    parse_options(known, |arg, it| {
        match arg {
            "--users" => a.users = number(it, arg)?,
            "--requests" => a.requests = number(it, arg)?,
            "--warmup" => a.warmup = number(it, arg)?,
            "--case-seconds" => a.budget = Duration::from_secs(number(it, arg)?),
            "--seed" => a.seed = number(it, arg)?,
            "--database" => a.database = value(it, arg)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    anyhow::ensure!(a.users >= 20_000, "--users must be at least 20000");
    anyhow::ensure!(a.requests >= 1, "--requests must be at least 1");
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let database = args.database.clone();
    run_on_database(&database, |url, target| async move { run(&args, &url, &target).await })
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Id of the `row`-th (1-based) visible user in id order.
async fn user_at(conn: &mut AsyncPgConnection, tenant: Uuid, row: u64) -> anyhow::Result<Uuid> {
    let r: IdRow = diesel::sql_query(
        "SELECT id FROM users WHERE tenant_id = $1 AND status <> 'removed' ORDER BY id OFFSET $2 LIMIT 1",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<BigInt, _>(i64::try_from(row)? - 1)
    .get_result(conn)
    .await?;
    Ok(r.id)
}

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn run(args: &Args, url: &str, target: &Path) -> anyhow::Result<()> {
    let applied = roster::db::run_migrations(url).await?;
    if !applied.is_empty() {
        println!("migrations applied: {}", applied.join(", "));
    }
    let key = SigningKey::from_secret(SECRET.as_bytes());
    let sizes = load::Sizes::for_users(args.users);
    let loaded = load::load(url, sizes, &key).await?;
    let mut conn = AsyncPgConnection::establish(url).await?;
    let pg_version = common::pg_version(&mut conn).await?;

    // Samples: random existing users (a third of them members of "Big group") and groups.
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut indexes: Vec<u64> = (0..600).map(|_| rng.gen_range(1..=sizes.users)).collect();
    indexes.extend((0..300).map(|_| rng.gen_range(1..=sizes.big_members) * 10));
    indexes.sort_unstable();
    indexes.dedup();
    let users = common::load::sample_users(&mut conn, loaded.tenant, &indexes).await?;
    let big_members: Vec<&common::load::UserSample> = users.iter().filter(|u| u.index % 10 == 0).collect();
    let mut numbers: Vec<u64> = (0..300).map(|_| rng.gen_range(1..sizes.groups)).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let groups = load::sample_groups(&mut conn, loaded.tenant, &numbers).await?;

    let data_dir = target.join(format!("bench-roster-data-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir)?;
    let server = Server::start(url, &data_dir)?;
    println!("roster serve pid {} on 127.0.0.1:{}", server.pid(), server.port);
    let (rss_start, _) = memory(server.pid())?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(4)
        .build()?;
    let root = format!("http://127.0.0.1:{}", server.port);
    let http = Http {
        client,
        base: format!("{root}/scim/v2/{}", loaded.connection),
        root,
        token: loaded.token.clone(),
    };

    let registry = Registry::standard();
    let tenant = loaded.tenant;
    let total_steps = args.warmup + args.requests;
    let mut cases: Vec<Case> = Vec::new();
    let pick = |rng: &mut StdRng, n: usize| rng.gen_range(0..n);
    let list_step = |kind: ResourceKind,
                     filter: Option<roster::scim::filter::Filter>,
                     text: String,
                     window: Window,
                     extra: &[(&str, &str)],
                     check: Check|
     -> anyhow::Result<Step> {
        // The raw side translates what Roster's own parser makes of the text; the hand-built
        // AST only cross-checks the parser.
        let parsed = if text.is_empty() {
            None
        } else {
            Some(
                roster::scim::filter::parse_filter(&text)
                    .map_err(|e| anyhow::anyhow!("parsing {text:?}: {}", e.detail()))?,
            )
        };
        if parsed != filter {
            println!("note: Roster parses {text:?} as {parsed:?}, not as {filter:?}");
        }
        let raw = cases::list_sql(&registry, kind, tenant, parsed.as_ref(), window)?;
        let mut query = q(extra);
        if !text.is_empty() {
            query.push(("filter".into(), text));
        }
        let path = if kind == ResourceKind::User { "/Users" } else { "/Groups" };
        Ok(Step { path: path.into(), query, raw, check })
    };
    let first10 = Window::Offset { offset: 0, limit: 10 };
    let one = Window::Offset { offset: 0, limit: 100 };

    let mut steps = Vec::new();
    for _ in 0..total_steps {
        let u = &users[pick(&mut rng, users.len())];
        steps.push(list_step(
            ResourceKind::User,
            Some(cases::cmp("userName", CompareOp::Eq, &u.user_name)),
            format!("userName eq \"{}\"", u.user_name),
            one,
            &[],
            Check::Total(1),
        )?);
    }
    cases.push(Case { name: "userName eq".into(), steps, explain: true });

    let mut steps = Vec::new();
    for _ in 0..total_steps {
        let u = &users[pick(&mut rng, users.len())];
        steps.push(list_step(
            ResourceKind::User,
            Some(cases::cmp("externalId", CompareOp::Eq, &u.external_id)),
            format!("externalId eq \"{}\"", u.external_id),
            one,
            &[],
            Check::Total(1),
        )?);
    }
    cases.push(Case { name: "externalId eq".into(), steps, explain: true });

    let mut steps = Vec::new();
    for _ in 0..total_steps {
        let u = &users[pick(&mut rng, users.len())];
        steps.push(list_step(
            ResourceKind::User,
            Some(cases::work_email(&u.email)),
            format!("emails[type eq \"work\"].value eq \"{}\"", u.email),
            one,
            &[],
            Check::Total(1),
        )?);
    }
    cases.push(Case { name: "emails[type eq \"work\"].value eq".into(), steps, explain: true });

    let mut steps = Vec::new();
    for _ in 0..total_steps {
        let (name, _) = &groups[pick(&mut rng, groups.len())];
        steps.push(list_step(
            ResourceKind::Group,
            Some(cases::cmp("displayName", CompareOp::Eq, name)),
            format!("displayName eq \"{name}\""),
            one,
            &[("excludedAttributes", "members")],
            Check::Total(1),
        )?);
    }
    cases.push(Case {
        name: "Groups: displayName eq (excludedAttributes=members)".into(),
        steps,
        explain: true,
    });

    let mut steps = Vec::new();
    for _ in 0..total_steps {
        let u = big_members[pick(&mut rng, big_members.len())];
        steps.push(list_step(
            ResourceKind::Group,
            Some(cases::membership(loaded.big_group, u.id)),
            format!("id eq \"{}\" and members[value eq \"{}\"]", loaded.big_group, u.id),
            one,
            &[("excludedAttributes", "members")],
            Check::Total(1),
        )?);
    }
    cases.push(Case {
        name: "Groups: id eq big and members[value eq user] (excl. members)".into(),
        steps,
        explain: true,
    });

    let mut steps = Vec::new();
    for _ in 0..total_steps {
        let u = &users[pick(&mut rng, users.len())];
        let (first, last) = common::load::names(u.index);
        let prefix = format!("{first}.{last}.{}", &u.index.to_string()[..1]);
        steps.push(list_step(
            ResourceKind::User,
            Some(cases::cmp("userName", CompareOp::Sw, &prefix)),
            format!("userName sw \"{prefix}\""),
            first10,
            &[("count", "10")],
            Check::AtLeast(1),
        )?);
    }
    cases.push(Case { name: "userName sw \"first.last.D\" (count=10)".into(), steps, explain: true });

    let mut steps = Vec::new();
    for _ in 0..total_steps {
        let u = &users[pick(&mut rng, users.len())];
        let (_, last) = common::load::names(u.index);
        let digits = u.index.to_string();
        let sub = format!("{}.{}", last.to_lowercase(), &digits[..digits.len().min(4)]);
        steps.push(list_step(
            ResourceKind::User,
            Some(cases::cmp("userName", CompareOp::Co, &sub)),
            format!("userName co \"{sub}\""),
            first10,
            &[("count", "10")],
            Check::AtLeast(1),
        )?);
    }
    cases.push(Case { name: "userName co \"last.NNNN\" (count=10)".into(), steps, explain: true });

    // Index paging.
    let deep_index = sizes.users * 9 / 10;
    let deep_first_id = user_at(&mut conn, tenant, deep_index).await?;
    let first_id = user_at(&mut conn, tenant, 1).await?;
    for (name, start, id) in
        [("index paging startIndex=1&count=100", 1u64, first_id), ("", deep_index, deep_first_id)]
    {
        let name = if name.is_empty() {
            format!("index paging startIndex={deep_index}&count=100")
        } else {
            name.into()
        };
        let s = start.to_string();
        let window = Window::Offset { offset: i64::try_from(start)? - 1, limit: 100 };
        let step = list_step(
            ResourceKind::User,
            None,
            String::new(),
            window,
            &[("startIndex", &s), ("count", "100")],
            Check::FirstId(id),
        )?;
        cases.push(Case { name, steps: vec![step; total_steps], explain: true });
    }

    // Cursor paging: check that a cursor built from a row id is the one the server issues, then
    // build one 1,000 rows before page 9,001 and follow nextCursor 10 times to reach it.
    let fp = cursor::fingerprint(tenant, ResourceKind::User.name(), None, None);
    let first_page = http.json("/Users", &q(&[("cursor", ""), ("count", "100")])).await?;
    let next =
        first_page.get("nextCursor").and_then(|v| v.as_str()).context("first page has no nextCursor")?;
    let (pos, dir) = cursor::decode(&key, next, &fp)
        .map_err(|e| anyhow::anyhow!("decoding nextCursor: {}", e.detail()))?;
    let row100 = user_at(&mut conn, tenant, 100).await?;
    anyhow::ensure!(
        pos == Position { key: None, id: row100 } && dir == Direction::After,
        "the server's nextCursor is not (row 100, after): {pos:?} {dir:?}"
    );
    let deep_rows = sizes.users * 9 / 10; // rows before the deep page: it is page deep_rows/100 + 1
    let start_row = deep_rows - 1000;
    let start_id = user_at(&mut conn, tenant, start_row).await?;
    let mut c = cursor::encode(&key, &fp, Position { key: None, id: start_id }, Direction::After, Utc::now())
        .map_err(|e| anyhow::anyhow!("encoding a cursor: {}", e.detail()))?;
    for _ in 0..10 {
        let page = http.json("/Users", &q(&[("cursor", &c), ("count", "100")])).await?;
        c = page
            .get("nextCursor")
            .and_then(|v| v.as_str())
            .context("no nextCursor while walking")?
            .to_string();
    }
    let boundary = user_at(&mut conn, tenant, deep_rows).await?;
    let (deep_pos, _) =
        cursor::decode(&key, &c, &fp).map_err(|e| anyhow::anyhow!("decoding: {}", e.detail()))?;
    anyhow::ensure!(deep_pos.id == boundary, "walking did not end at row {deep_rows}");
    let deep_page_no = deep_rows / 100 + 1;
    let cursor_first = list_step(
        ResourceKind::User,
        None,
        String::new(),
        Window::After { id: None, count: 100 },
        &[("cursor", ""), ("count", "100")],
        Check::CursorPage(100),
    )?;
    cases.push(Case {
        name: "cursor paging: first page (count=100)".into(),
        steps: vec![cursor_first; total_steps],
        explain: true,
    });
    let mut cursor_deep = list_step(
        ResourceKind::User,
        None,
        String::new(),
        Window::After { id: Some(boundary), count: 100 },
        &[("count", "100")],
        Check::CursorPage(100),
    )?;
    cursor_deep.query.push(("cursor".into(), c.clone()));
    cases.push(Case {
        name: format!("cursor paging: page {deep_page_no} (after {} nextCursor hops)", deep_page_no - 1),
        steps: vec![cursor_deep; total_steps],
        explain: true,
    });

    // GET of the big group vs a 10-member group, members excluded.
    for (name, id) in [
        ("GET Big group (100,000 members; excl. members)", loaded.big_group),
        ("GET Group 1 (10 members; excl. members)", loaded.small_group),
    ] {
        let name = if id == loaded.big_group {
            format!("GET Big group ({} members; excl. members)", sizes.big_members)
        } else {
            name.to_string()
        };
        let step = Step {
            path: format!("/Groups/{id}"),
            query: q(&[("excludedAttributes", "members")]),
            raw: cases::group_get_sql(tenant, id),
            check: Check::Resource(id),
        };
        cases.push(Case { name, steps: vec![step; total_steps], explain: false });
    }

    // Print the SQL of each case.
    let mut sql_text = String::new();
    for case in &cases {
        if let Some(step) = <[Step]>::first(&case.steps) {
            writeln!(sql_text, "-- {}", case.name)?;
            if let Some(c) = &step.raw.count {
                writeln!(sql_text, "{};", c.inlined())?;
            }
            writeln!(sql_text, "{};", step.raw.page.inlined())?;
            if step.raw.users {
                writeln!(sql_text, "-- then roster::db::users::groups_of(tenant, <page ids>)")?;
            }
            writeln!(sql_text)?;
        }
    }
    println!("\nSQL run for each case (Roster's statements; parameters shown inline):\n\n{sql_text}");

    // Measure.
    let mut results: Vec<Measured> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for case in &cases {
        let t = Instant::now();
        let m = match cases::measure(case, &http, &mut conn, args.warmup, args.budget).await {
            Ok(m) => m,
            Err(e) => {
                println!("{:<70} FAILED: {e:#}", case.name);
                failures.push(format!(
                    "- {}: {}",
                    case.name,
                    format!("{e:#}").chars().take(300).collect::<String>()
                ));
                continue;
            }
        };
        println!(
            "{:<70} n={:<4} roster p50 {:>8.2} ms  p99 {:>8.2}  raw p50 {:>8.2}  http p50 {:>6.2}  ratio {:>5.2}  ({:.0}s)",
            m.name,
            m.n,
            m.p50(),
            pct(&m.roster, 99.0),
            pct(&m.raw, 50.0),
            pct(&m.http, 50.0),
            m.ratio(),
            t.elapsed().as_secs_f64()
        );
        results.push(m);
    }
    let (rss_end, hwm) = memory(server.pid())?;

    // One bare SQL round trip from the bench process, to price the extra statements Roster runs
    // per request (pool checkout pings, the token check).
    let mut round_trips = Vec::with_capacity(args.requests);
    for _ in 0..args.requests {
        let t = Instant::now();
        diesel::sql_query("SELECT 1").execute(&mut conn).await?;
        round_trips.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    round_trips.sort_by(f64::total_cmp);
    let round_trip = pct(&round_trips, 50.0);

    // EXPLAIN the IdP filters.
    let mut plans = String::new();
    let mut findings = Vec::new();
    for case in cases.iter().filter(|c| c.explain) {
        let Some(step) = case.steps.get(args.warmup) else { continue };
        let mut stmts = vec![("page", &step.raw.page)];
        if let Some(c) = &step.raw.count {
            stmts.insert(0, ("count", c));
        }
        for (what, stmt) in stmts {
            let lines = cases::explain(&mut conn, stmt).await?;
            let seq: Vec<&String> = lines.iter().filter(|l| l.contains("Seq Scan")).collect();
            let scans: Vec<String> = lines
                .iter()
                .filter(|l| l.contains(" Scan") && !l.contains("Buffers"))
                .map(|l| {
                    l.trim()
                        .trim_start_matches("->")
                        .trim()
                        .split("  (")
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect();
            findings.push(format!(
                "| {} | {what} | {} | {} |",
                case.name,
                if seq.is_empty() { "no" } else { "**YES**" },
                scans.join("; ").replace('|', "\\|")
            ));
            writeln!(plans, "-- {} ({what})\n{}\n", case.name, lines.join("\n"))?;
        }
    }
    // And the effective-groups lookup Roster runs for every page of users.
    #[derive(QueryableByName)]
    struct Ids {
        #[diesel(sql_type = diesel::sql_types::Array<SqlUuid>)]
        ids: Vec<Uuid>,
    }
    let page_ids: Ids = diesel::sql_query(
        "SELECT array_agg(id) AS ids FROM (SELECT id FROM users WHERE tenant_id = $1 ORDER BY id LIMIT 100) s",
    )
    .bind::<SqlUuid, _>(tenant)
    .get_result(&mut conn)
    .await?;
    let id_list: Vec<String> = page_ids.ids.iter().map(|id| format!("'{id}'::uuid")).collect();
    let groups_of = cases::Stmt {
        sql: format!(
            "SELECT m.id AS member_id, g.group_id, g.display, g.type AS kind \
             FROM unnest(ARRAY[{}]) AS m(id) CROSS JOIN LATERAL roster_member_groups('{tenant}'::uuid, m.id) AS g \
             ORDER BY m.id, g.display, g.group_id",
            id_list.join(", ")
        ),
        binds: Vec::new(),
    };
    let lines = cases::explain(&mut conn, &groups_of).await?;
    let seq = lines.iter().any(|l| l.contains("Seq Scan"));
    let top = lines.iter().find(|l| l.contains("Execution Time")).map_or("", |l| l.trim());
    findings.push(format!(
        "| groups_of (100 users of a page) | groups_of | {} | {top} |",
        if seq { "**YES**" } else { "no" }
    ));
    writeln!(plans, "-- groups_of for the 100 users of the first page\n{}\n", lines.join("\n"))?;
    println!("\nEXPLAIN (ANALYZE, BUFFERS) of the filters and paging:\n\n{plans}");

    // Report.
    let by = |prefix: &str| results.iter().find(|m| m.name.starts_with(prefix));
    let ratio_line =
        |a: Option<&Measured>, b: Option<&Measured>, what: &str, target: Option<f64>| -> String {
            match (a, b) {
                (Some(a), Some(b)) => {
                    let r = b.p50() / a.p50();
                    let verdict = target.map_or(String::new(), |t| {
                        if r <= t {
                            format!(" (target ≤ {t}×: met)")
                        } else {
                            format!(" (target ≤ {t}×: **missed**)")
                        }
                    });
                    format!("- {what}: {:.2} ms → {:.2} ms = **{r:.2}×**{verdict}", a.p50(), b.p50())
                }
                _ => format!("- {what}: not measured"),
            }
        };
    let mut md = String::new();
    writeln!(md, "## Roster scale benchmark\n")?;
    writeln!(md, "- Machine: {}; {pg_version}", common::machine())?;
    writeln!(
        md,
        "- Data: {} users, {} groups, \"Big group\" with {} user members (load {})",
        sizes.users,
        sizes.groups,
        sizes.big_members,
        if loaded.load_secs > 0.0 { format!("took {:.0}s", loaded.load_secs) } else { "reused".into() }
    )?;
    writeln!(
        md,
        "- {} sequential requests per case after {} warm-up (time budget {}s per case), seed {}; values vary per request",
        args.requests,
        args.warmup,
        args.budget.as_secs(),
        args.seed
    )?;
    writeln!(md, "- Raw SQL = the statements Roster runs for the request (count + page, plus groups_of for user pages), from the bench process over its own connection")?;
    writeln!(md, "- Ratio = Roster p50 / (raw SQL p50 + GET /healthz p50)\n")?;
    writeln!(md, "| Case | n | Roster p50 ms | Roster p99 ms | Raw SQL p50 ms | of which count(*) | of which groups_of | /healthz p50 ms | Ratio |")?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for m in &results {
        writeln!(
            md,
            "| {}{} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            m.name.replace('|', "\\|"),
            if m.cut { " ⏱" } else { "" },
            m.n,
            m.p50(),
            pct(&m.roster, 99.0),
            pct(&m.raw, 50.0),
            pct(&m.raw_count, 50.0),
            pct(&m.raw_groups, 50.0),
            pct(&m.http, 50.0),
            m.ratio()
        )?;
    }
    if results.iter().any(|m| m.cut) {
        writeln!(md, "\n⏱ = stopped by the per-case time budget before {} requests.", args.requests)?;
    }
    if !failures.is_empty() {
        writeln!(md, "\nFailed cases (not in the table):\n\n{}", failures.join("\n"))?;
    }
    writeln!(md, "\n### Deep vs first\n")?;
    let deep_index_name = format!("index paging startIndex={deep_index}");
    let index_what = format!("Index paging, startIndex=1 → startIndex={deep_index}");
    writeln!(
        md,
        "{}",
        ratio_line(by("index paging startIndex=1&"), by(&deep_index_name), &index_what, None)
    )?;
    writeln!(
        md,
        "{}",
        ratio_line(
            by("cursor paging: first"),
            by("cursor paging: page"),
            &format!("Cursor paging, first page → page {deep_page_no}"),
            Some(1.5)
        )
    )?;
    writeln!(
        md,
        "{}",
        ratio_line(
            by("GET Group 1"),
            by("GET Big group"),
            "GET group (excludedAttributes=members), 10 members → big group",
            None
        )
    )?;
    writeln!(
        md,
        "- One bare SQL statement (`SELECT 1` through diesel-async sql_query) from the bench: p50 {round_trip:.3} ms"
    )?;
    writeln!(md, "\n### Server memory (roster serve)\n")?;
    writeln!(md, "- RSS after start: {rss_start:.1} MiB; RSS after all cases: {rss_end:.1} MiB; peak (VmHWM): **{hwm:.1} MiB**")?;
    writeln!(md, "\n### EXPLAIN (ANALYZE, BUFFERS) of the filters and paging\n")?;
    writeln!(md, "| Case | Statement | Seq Scan | Scans |")?;
    writeln!(md, "|---|---|---|---|")?;
    for f in &findings {
        writeln!(md, "{f}")?;
    }
    let mut full = md.clone();
    writeln!(full, "\n<details><summary>SQL per case</summary>\n\n```sql\n{sql_text}```\n</details>")?;
    writeln!(full, "\n<details><summary>Plans</summary>\n\n```\n{plans}```\n</details>")?;
    println!("\n{md}");
    let out = target.join("bench-scale.md");
    std::fs::write(&out, full)?;
    println!("written to {}", out.display());

    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
