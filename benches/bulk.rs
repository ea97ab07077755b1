//! Bulk benchmark: one `/Bulk` request of N user creations against N sequential single
//! `POST /Users`, on a real `roster serve` child process and a fresh database, each run in a
//! fresh tenant. Prints operations per second, the median of the runs.
//!
//! `cargo bench --bench bulk [-- --users 1000 --runs 5 --ephemeral]`. Uses `DATABASE_URL`'s
//! server when set, otherwise a private cluster under the target directory (durable settings
//! unless `--ephemeral`, which turns fsync and synchronous commit off).

#![allow(missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{json, Value};

use roster::auth::SigningKey;
use roster::db;
use roster::directory::tenants;
use roster::local_pg::{ClusterOptions, LocalCluster};

/// Signing secret shared by the token issuer (this process) and the server.
const SECRET: &str = "roster-bulk-benchmark-signing-secret-0001";
const DATABASE: &str = "roster_bench_bulk";

struct Args {
    users: usize,
    runs: usize,
    ephemeral: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args { users: 1000, runs: 5, ephemeral: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> anyhow::Result<usize> {
            Ok(it.next().with_context(|| format!("{name} needs a value"))?.parse()?)
        };
        match arg.as_str() {
            "--users" => a.users = number("--users")?,
            "--runs" => a.runs = number("--runs")?,
            "--ephemeral" => a.ephemeral = true,
            "--bench" => {} // passed by `cargo bench`
            other if other.starts_with("--") => {
                bail!("unknown option {other}; known: --users N --runs N --ephemeral")
            }
            _ => {}
        }
    }
    ensure!(a.users >= 1 && a.runs >= 1, "--users and --runs must be at least 1");
    Ok(a)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// `postgres://.../db?x` with another database name.
fn with_database(url: &str, database: &str) -> String {
    let (head, _) = url.rsplit_once('/').unwrap_or((url, ""));
    format!("{head}/{database}")
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let target = target_dir();
    let mut cluster = None;
    let admin_url = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => with_database(&url, "postgres"),
        _ => {
            let dir = target.join(if args.ephemeral { "bench-bulk-pg-ephemeral" } else { "bench-bulk-pg" });
            let opts = ClusterOptions { ephemeral_tuning: args.ephemeral, ..ClusterOptions::new(dir) };
            let c = LocalCluster::start(&opts).context("starting the embedded PostgreSQL cluster")?;
            let url = c.url("postgres");
            cluster = Some(c);
            url
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = rt.block_on(run(&args, &admin_url, &target));
    drop(rt);
    if let Some(mut c) = cluster {
        c.stop()?;
    }
    result
}

async fn run(args: &Args, admin_url: &str, target: &Path) -> anyhow::Result<()> {
    let url = with_database(admin_url, DATABASE);
    let mut admin = AsyncPgConnection::establish(admin_url).await?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{DATABASE}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    diesel::sql_query(format!("CREATE DATABASE \"{DATABASE}\"")).execute(&mut admin).await?;
    db::run_migrations(&url).await?;
    let pool = db::build_pool(&url, 2)?;
    let key = SigningKey::from_secret(SECRET.as_bytes());
    let server = Server::start(&url, &target.join("bench-bulk-data"))?;
    let client = reqwest::Client::new();
    let root = format!("http://127.0.0.1:{}", server.port);
    println!(
        "bulk benchmark: {} user creations per run, {} runs, {} PostgreSQL, server pid {}",
        args.users,
        args.runs,
        if args.ephemeral { "ephemeral (fsync off)" } else { "durable" },
        server.child.id()
    );
    let (mut bulk_rates, mut single_rates) = (Vec::new(), Vec::new());
    for run in 0..args.runs {
        let (base, token) = fresh_tenant(&pool, &key, &root, &format!("bulk-{run}")).await?;
        let bulk = time_bulk(&client, &base, &token, args.users).await?;
        let (base, token) = fresh_tenant(&pool, &key, &root, &format!("single-{run}")).await?;
        let single = time_singles(&client, &base, &token, args.users).await?;
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

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A tenant with one connection: its SCIM base URL and token.
async fn fresh_tenant(
    pool: &db::DbPool,
    key: &SigningKey,
    root: &str,
    slug: &str,
) -> anyhow::Result<(String, String)> {
    let mut conn = db::checkout(pool).await?;
    let tenant = tenants::create_tenant(&mut conn, slug, "Bench", Utc::now()).await?;
    let (c, token) = tenants::create_connection(&mut conn, key, &tenant, "Bench", Utc::now()).await?;
    Ok((format!("{root}/scim/v2/{}", c.id), token.token))
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

async fn time_bulk(client: &reqwest::Client, base: &str, token: &str, n: usize) -> anyhow::Result<Duration> {
    let ops: Vec<Value> = (0..n)
        .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": user(i)}))
        .collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})
        .to_string();
    let started = Instant::now();
    let res = client
        .post(format!("{base}/Bulk"))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(body)
        .send()
        .await?;
    let status = res.status();
    let reply: Value = res.json().await?;
    let elapsed = started.elapsed();
    ensure!(status == 200, "/Bulk answered {status}: {reply}");
    let created =
        reply["Operations"].as_array().map_or(0, |o| o.iter().filter(|o| o["status"] == "201").count());
    ensure!(created == n, "/Bulk created {created} of {n} users");
    Ok(elapsed)
}

async fn time_singles(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for i in 0..n {
        let res = client
            .post(format!("{base}/Users"))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(user(i).to_string())
            .send()
            .await?;
        let status = res.status();
        let _ = res.bytes().await?;
        ensure!(status == 201, "POST /Users answered {status}");
    }
    Ok(started.elapsed())
}

/// The `roster serve` child process; SIGTERM (then SIGKILL) when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(url: &str, data_dir: &Path) -> anyhow::Result<Server> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("ROSTER_SIGNING_KEY", SECRET)
            .env("ROSTER_LISTEN", "127.0.0.1:0")
            .env("ROSTER_LOG", "warn")
            .env("ROSTER_DATA_DIR", data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting roster serve")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child, port: 0 };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.port == 0 {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .map_err(|_| anyhow::anyhow!("roster serve did not say where it listens within 60s"))?;
            if let Some(rest) = line.strip_prefix("Roster is listening on http://127.0.0.1:") {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                server.port = digits.parse().with_context(|| format!("no port in {line:?}"))?;
            }
        }
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
