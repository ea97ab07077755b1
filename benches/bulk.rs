//! Bulk benchmark: one `/Bulk` request of N user creations against N sequential single
//! `POST /Users`, on a real `roster serve` child process and a fresh database, each run in a
//! fresh tenant. Prints operations per second, the median of the runs.
//!
//! `cargo bench --bench bulk [-- --users 1000 --runs 5 --ephemeral]`. Uses `DATABASE_URL`'s
//! server when set, otherwise a private cluster under the target directory (durable settings
//! unless `--ephemeral`, which turns fsync and synchronous commit off).

#![allow(missing_docs)]

mod common;

use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{json, Value};

use common::load::with_database;
use common::{median, number, parse_options, target_dir, Database, Http, Server, SECRET};
use roster::auth::SigningKey;
use roster::db;
use roster::directory::tenants;

const DATABASE: &str = "roster_bench_bulk";

struct Args {
    users: usize,
    runs: usize,
    ephemeral: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args { users: 1000, runs: 5, ephemeral: false };
    parse_options("--users N --runs N --ephemeral", |arg, it| {
        match arg {
            "--users" => a.users = number(it, arg)?,
            "--runs" => a.runs = number(it, arg)?,
            "--ephemeral" => a.ephemeral = true,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    ensure!(a.users >= 1 && a.runs >= 1, "--users and --runs must be at least 1");
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let target = target_dir();
    let dir = target.join(if args.ephemeral { "bench-bulk-pg-ephemeral" } else { "bench-bulk-pg" });
    // The bench database is dropped and created again below, from the server's `postgres`.
    let db = Database::open_in(dir, args.ephemeral, "postgres", false)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = rt.block_on(run(&args, &db.url, &target));
    drop(rt);
    db.close()?;
    result
}

async fn run(args: &Args, admin_url: &str, target: &std::path::Path) -> anyhow::Result<()> {
    let url = with_database(admin_url, DATABASE)?;
    let mut admin = AsyncPgConnection::establish(admin_url).await?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{DATABASE}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    diesel::sql_query(format!("CREATE DATABASE \"{DATABASE}\"")).execute(&mut admin).await?;
    db::run_migrations(&url).await?;
    let pool = db::build_pool(&url, &db::PoolOptions::with_size(2))?;
    let key = SigningKey::from_secret(SECRET.as_bytes());
    let server = Server::start(&url, &target.join("bench-bulk-data"))?;
    let client = reqwest::Client::new();
    let root = format!("http://127.0.0.1:{}", server.port);
    println!(
        "bulk benchmark: {} user creations per run, {} runs, {} PostgreSQL, server pid {}",
        args.users,
        args.runs,
        if args.ephemeral { "ephemeral (fsync off)" } else { "durable" },
        server.pid()
    );
    let (mut bulk_rates, mut single_rates) = (Vec::new(), Vec::new());
    for run in 0..args.runs {
        let http = fresh_tenant(&pool, &key, &client, &root, &format!("bulk-{run}")).await?;
        let bulk = time_bulk(&http, args.users).await?;
        let http = fresh_tenant(&pool, &key, &client, &root, &format!("single-{run}")).await?;
        let single = time_singles(&http, args.users).await?;
        let (b, s) = (args.users as f64 / bulk.as_secs_f64(), args.users as f64 / single.as_secs_f64());
        println!(
            "run {}: /Bulk {:>8.1} ms ({b:>7.0} ops/s)   single POSTs {:>8.1} ms ({s:>7.0} ops/s)",
            run + 1,
            bulk.as_secs_f64() * 1e3,
            single.as_secs_f64() * 1e3
        );
        bulk_rates.push(b);
        single_rates.push(s);
    }
    let (b, s) = (median(&mut bulk_rates), median(&mut single_rates));
    println!("median: /Bulk {b:.0} ops/s, single POSTs {s:.0} ops/s, ratio {:.2}x", b / s);
    drop(server);
    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{DATABASE}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    Ok(())
}

/// A tenant with one connection: the HTTP side of its SCIM base URL and token.
async fn fresh_tenant(
    pool: &db::DbPool,
    key: &SigningKey,
    client: &reqwest::Client,
    root: &str,
    slug: &str,
) -> anyhow::Result<Http> {
    let mut conn = db::checkout(pool, roster::db::Scope::All).await?;
    let tenant = tenants::create_tenant(&mut conn, slug, "Bench", None, Utc::now()).await?;
    let (c, token) = tenants::create_connection(&mut conn, key, &tenant, "Bench", None, Utc::now()).await?;
    Ok(Http {
        client: client.clone(),
        root: root.to_string(),
        base: format!("{root}/scim/v2/{}", c.id),
        token: token.token,
    })
}

fn user(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{i}@example.com"),
        "name": {"givenName": "User", "familyName": format!("Number {i}")},
        "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
        "active": true
    })
}

async fn time_bulk(http: &Http, n: usize) -> anyhow::Result<Duration> {
    let ops: Vec<Value> = (0..n)
        .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": user(i)}))
        .collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})
        .to_string();
    let started = Instant::now();
    let (_, status, reply) = http.post("/Bulk", body).await?;
    let reply: Value = serde_json::from_slice(&reply).with_context(|| format!("/Bulk answered {status}"))?;
    let elapsed = started.elapsed();
    ensure!(status == 200, "/Bulk answered {status}: {reply}");
    let created =
        reply["Operations"].as_array().map_or(0, |o| o.iter().filter(|o| o["status"] == "201").count());
    ensure!(created == n, "/Bulk created {created} of {n} users");
    Ok(elapsed)
}

async fn time_singles(http: &Http, n: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for i in 0..n {
        let (_, status, _) = http.post("/Users", user(i).to_string()).await?;
        ensure!(status == 201, "POST /Users answered {status}");
    }
    Ok(started.elapsed())
}
