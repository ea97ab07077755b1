//! Import benchmark: a generated file of N members (three categories, 200 teams named by
//! displayName or externalId, a position) planned (dry run) and applied through
//! `roster::import::run`, each run in a fresh tenant, beside a raw PostgreSQL `COPY` of the same
//! rows into a scratch table (`psql \copy`, the floor any importer is measured against).
//! Prints rows per second, the median of the runs.
//!
//! `cargo bench --bench import [-- --rows 10000 --runs 3]`. Uses `DATABASE_URL`'s server when set
//! (its own database `roster_bench_import`), otherwise the embedded cluster under the target
//! directory.

#![allow(missing_docs)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use chrono::Utc;
use diesel::sql_types::{Integer, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use common::{median, number, parse_options, run_on_database};
use roster::db::{self, tenants::Tenant};
use roster::directory::tenants;
use roster::import::catalog::{self, Category, Kind};
use roster::import::{self, Options, Report, Upload};

const TEAMS: i32 = 200;
const CITIES: [&str; 10] = [
    "Oslo",
    "Bergen",
    "Trondheim",
    "Stavanger",
    "Tromsø",
    "Bodø",
    "Ålesund",
    "Drammen",
    "Kristiansand",
    "Molde",
];

struct Args {
    rows: usize,
    runs: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args { rows: 10_000, runs: 3 };
    parse_options("--rows N --runs N", |arg, it| {
        match arg {
            "--rows" => a.rows = number(it, arg)?,
            "--runs" => a.runs = number(it, arg)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    ensure!(a.rows >= 1 && a.runs >= 1, "--rows and --runs must be at least 1");
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    run_on_database("roster_bench_import", |url, target| async move { run(&args, &url, &target).await })
}

/// The file: semicolons, as a Norwegian Excel writes it.
fn generate(rows: usize) -> String {
    let mut out = String::from("firstname;lastname;email;personalid;teamid;position;By;Score;Start\n");
    for i in 0..rows {
        let team = i % TEAMS as usize + 1;
        // Half the rows name their team by displayName, half by externalId.
        let team = if i % 2 == 0 { format!("Team {team}") } else { format!("T-{team}") };
        out.push_str(&format!(
            "First{i};Last{i};member{i}@example.com;{};{team};{};{};{};2024-{:02}-{:02}\n",
            100_000 + i,
            if i % 3 == 0 { "Selger" } else { "Butikkmedarbeider" },
            CITIES[i % CITIES.len()],
            i % 100,
            i % 12 + 1,
            i % 28 + 1
        ));
    }
    out
}

async fn fresh_tenant(conn: &mut AsyncPgConnection, label: &str) -> anyhow::Result<Tenant> {
    let slug = format!("{label}-{}", Uuid::now_v7().simple());
    let tenant = tenants::create_tenant(conn, &slug, "Import bench", None, Utc::now()).await?;
    diesel::sql_query(
        "INSERT INTO groups (tenant_id, id, display_name, display_name_key, external_id, resource, version, \
             created_at, last_modified) \
         SELECT $1, gen_random_uuid(), 'Team ' || n, 'team ' || n, 'T-' || n, \
             jsonb_build_object('displayName', 'Team ' || n, 'externalId', 'T-' || n), 1, now(), now() \
         FROM generate_series(1, $2) AS n",
    )
    .bind::<SqlUuid, _>(tenant.id)
    .bind::<Integer, _>(TEAMS)
    .execute(conn)
    .await?;
    for (name, kind, allowed) in [
        ("City", Kind::Dropdown, CITIES.iter().map(|c| c.to_string()).collect()),
        ("Score", Kind::Number, Vec::new()),
        ("Start", Kind::Date, Vec::new()),
    ] {
        let category = Category {
            name: name.into(),
            display_name: if name == "City" { "By".into() } else { name.into() },
            kind,
            allowed_values: allowed,
            source: None,
        };
        catalog::insert(conn, tenant.id, &category, Utc::now()).await?;
    }
    Ok(tenant)
}

async fn timed_import(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    file: &[u8],
    dry_run: bool,
) -> anyhow::Result<(Duration, Report)> {
    let upload = Upload { file_name: Some("members.csv"), bytes: file, mapping: None };
    let options = Options { dry_run, ..Options::default() };
    let started = Instant::now();
    let report = import::run(conn, tenant, upload, options, usize::MAX, Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("import failed: {e}"))?;
    Ok((started.elapsed(), report))
}

/// `psql \copy` of the same file into a fresh scratch table; returns the time of the copy
/// minus that of an empty psql session (process start and connection).
fn timed_copy(url: &str, file: &Path) -> anyhow::Result<Duration> {
    let psql = roster::local_pg::find_bin_dir(None).map(|d| d.join("psql")).unwrap_or_else(|_| "psql".into());
    let run = |sql: &str, stdin: Option<&Path>| -> anyhow::Result<Duration> {
        let mut cmd = Command::new(&psql);
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql]).stdout(Stdio::null());
        if let Some(f) = stdin {
            cmd.stdin(std::fs::File::open(f)?);
        }
        let started = Instant::now();
        let status = cmd.status().with_context(|| format!("running {}", psql.display()))?;
        let elapsed = started.elapsed();
        ensure!(status.success(), "psql failed: {sql}");
        Ok(elapsed)
    };
    run(
        "DROP TABLE IF EXISTS import_copy_scratch; CREATE TABLE import_copy_scratch (firstname text, \
         lastname text, email text, personalid text, teamid text, position text, city text, score text, start text)",
        None,
    )?;
    let empty = run("SELECT 1", None)?;
    let copy = run(
        "\\copy import_copy_scratch FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';')",
        Some(file),
    )?;
    run("DROP TABLE import_copy_scratch", None)?;
    Ok(copy.saturating_sub(empty))
}

async fn run(args: &Args, url: &str, target: &Path) -> anyhow::Result<()> {
    db::run_migrations(url).await?;
    let mut conn = AsyncPgConnection::establish(url).await?;
    let file = generate(args.rows);
    let path = target.join("bench-import.csv");
    std::fs::write(&path, &file)?;
    println!(
        "import benchmark: {} rows ({} KiB), 3 categories, {TEAMS} teams, {} runs",
        args.rows,
        file.len() / 1024,
        args.runs
    );
    let (mut dry, mut apply, mut again, mut copy) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let rate = |d: Duration| args.rows as f64 / d.as_secs_f64();
    for run in 0..args.runs {
        let tenant = fresh_tenant(&mut conn, "imp").await?;
        let (d, report) = timed_import(&mut conn, &tenant, file.as_bytes(), true).await?;
        let json = report.json();
        ensure!(
            json["totals"]["create"] == args.rows && json["totals"]["error"] == 0,
            "dry run: {}",
            json["totals"]
        );
        let (a, report) = timed_import(&mut conn, &tenant, file.as_bytes(), false).await?;
        ensure!(report.json()["written"]["created"] == args.rows, "apply: {}", report.json()["written"]);
        let (u, report) = timed_import(&mut conn, &tenant, file.as_bytes(), false).await?;
        ensure!(report.json()["totals"]["unchanged"] == args.rows, "re-import: {}", report.json()["totals"]);
        let c = timed_copy(url, &path)?;
        println!(
            "run {}: dry run {:>7.0} ms ({:>6.0} rows/s)   apply {:>7.0} ms ({:>6.0} rows/s)   \
             re-import (unchanged) {:>7.0} ms ({:>6.0} rows/s)   COPY {:>6.1} ms ({:>8.0} rows/s)",
            run + 1,
            d.as_secs_f64() * 1e3,
            rate(d),
            a.as_secs_f64() * 1e3,
            rate(a),
            u.as_secs_f64() * 1e3,
            rate(u),
            c.as_secs_f64() * 1e3,
            rate(c)
        );
        dry.push(rate(d));
        apply.push(rate(a));
        again.push(rate(u));
        copy.push(rate(c));
    }
    println!(
        "median rows/s: dry run {:.0}, apply {:.0}, re-import {:.0}, raw COPY {:.0}",
        median(&mut dry),
        median(&mut apply),
        median(&mut again),
        median(&mut copy)
    );
    std::fs::remove_file(&path).ok();
    Ok(())
}
