//! Pieces shared by the benchmarks (`scale`, `patch`, `bulk`): where the database is, the real server as
//! a child process, the HTTP client side, percentiles, EXPLAIN, and the user generator
//! ([`load`]). Each bench uses a subset, hence `dead_code` is allowed here.
#![allow(dead_code)]

pub mod load;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use diesel::sql_types::Text;
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use roster::local_pg::{ClusterOptions, LocalCluster};

/// Fixed signing secret shared by the loaders (connection tokens) and the server.
pub const SECRET: &str = "roster-scale-benchmark-signing-secret-0001";

/// The value of a command-line option.
pub fn value(it: &mut impl Iterator<Item = String>, name: &str) -> anyhow::Result<String> {
    it.next().with_context(|| format!("{name} needs a value"))
}

/// `$CARGO_TARGET_DIR`, or `target/` of the crate.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The database a bench writes: database `name` on the server of `DATABASE_URL` (created if
/// missing; the database named in the URL is never written), or on Roster's embedded cluster
/// (started here, stopped by [`Database::close`]).
pub struct Database {
    /// Connection URL of the bench database.
    pub url: String,
    cluster: Option<LocalCluster>,
    /// Whether opening and closing are announced on stdout.
    announce: bool,
}

impl Database {
    /// Find or start the server (embedded cluster under `<target>/bench-pg`, fsync off) and make
    /// sure database `name` exists, saying where it is.
    pub fn open(target: &Path, name: &str) -> anyhow::Result<Database> {
        Database::open_in(target.join("bench-pg"), true, name, true)
    }

    /// [`Database::open`] with the embedded cluster in `cluster_dir`, `ephemeral` tuning (fsync
    /// and synchronous commit off) or durable settings, and `announce` saying whether the
    /// database and the cluster's stop are reported on stdout.
    pub fn open_in(
        cluster_dir: PathBuf,
        ephemeral: bool,
        name: &str,
        announce: bool,
    ) -> anyhow::Result<Database> {
        match std::env::var("DATABASE_URL") {
            Ok(given) if !given.is_empty() => {
                let url = load::with_database(&given, name)?;
                if announce {
                    println!("database: the server of DATABASE_URL, database {name}");
                }
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                rt.block_on(load::ensure_database(&given, name))?;
                Ok(Database { url, cluster: None, announce })
            }
            _ => {
                let opts = ClusterOptions { ephemeral_tuning: ephemeral, ..ClusterOptions::new(cluster_dir) };
                let started = Instant::now();
                let c = LocalCluster::start(&opts).context("starting the embedded PostgreSQL cluster")?;
                c.ensure_database(name)?;
                if announce {
                    println!(
                        "database: embedded cluster {} on port {}, database {name} (ready in {:.1}s)",
                        c.cluster_dir().display(),
                        c.port(),
                        started.elapsed().as_secs_f64()
                    );
                }
                Ok(Database { url: c.url(name), cluster: Some(c), announce })
            }
        }
    }

    /// Stop the embedded cluster if this process started it.
    pub fn close(self) -> anyhow::Result<()> {
        if let Some(mut c) = self.cluster {
            if self.announce && c.owns_process() {
                println!("stopping the embedded cluster");
            }
            c.stop()?;
        }
        Ok(())
    }
}

/// The body of a bench's `main`: open database `name` ([`Database::open`]), run `run(url,
/// target)` on a current-thread runtime, close the database.
pub fn run_on_database<F, Fut>(name: &str, run: F) -> anyhow::Result<()>
where
    F: FnOnce(String, PathBuf) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let target = target_dir();
    std::fs::create_dir_all(&target)?;
    let db = Database::open(&target, name)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = rt.block_on(run(db.url.clone(), target));
    drop(rt);
    db.close()?;
    result
}

/// Command-line options of a bench: `handle(option, rest)` takes the options the bench knows
/// (returning `false` for any other); `--bench` (passed by `cargo bench`) and non-options are
/// skipped, and an unknown option is an error listing `known`.
pub fn parse_options(
    known: &str,
    mut handle: impl FnMut(&str, &mut std::iter::Skip<std::env::Args>) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if arg == "--bench" || handle(&arg, &mut it)? {
            continue;
        }
        if arg.starts_with("--") {
            bail!("unknown option {arg}; known: {known}")
        }
    }
    Ok(())
}

/// A number-valued option.
pub fn number<T>(it: &mut impl Iterator<Item = String>, name: &str) -> anyhow::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    Ok(value(it, name)?.parse()?)
}

/// Median of values (the mean of the middle two for an even count); sorts them.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The server child process (`roster serve` on 127.0.0.1:0); SIGTERM (then SIGKILL after 15 s)
/// when stopped or dropped.
pub struct Server {
    child: Child,
    /// The port it reported.
    pub port: u16,
}

impl Server {
    /// Start the real binary against `url` and wait until it reports its port.
    pub fn start(url: &str, data_dir: &Path) -> anyhow::Result<Server> {
        Server::start_with(url, data_dir, &[])
    }

    /// [`Server::start`] with extra environment variables (e.g. `ROSTER_EVENTS_POLL_MS`).
    pub fn start_with(url: &str, data_dir: &Path, extra_env: &[(&str, &str)]) -> anyhow::Result<Server> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("ROSTER_SIGNING_KEY", SECRET)
            .env("ROSTER_LISTEN", "127.0.0.1:0")
            .env("ROSTER_LOG", "warn")
            .env("ROSTER_WEBHOOK_ALLOW_PRIVATE", "1")
            .env("ROSTER_DATA_DIR", data_dir)
            // The per-token limit stays on (its check is part of a request's cost) but so high
            // that a bench driving one token as hard as it can is never throttled.
            .env("ROSTER_RATE_LIMIT_TOKEN_PER_SEC", "1000000")
            .env("ROSTER_RATE_LIMIT_TOKEN_BURST", "1000000")
            .envs(extra_env.iter().copied())
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
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .map_err(|_| anyhow::anyhow!("roster serve did not report its port in 60s"))?;
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                server.port = digits.parse().with_context(|| format!("no port in {line:?}"))?;
            }
        }
        Ok(server)
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM and wait (SIGKILL after 15 s).
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id())?);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("roster serve ignored SIGTERM for 15s and was killed")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// (VmRSS, VmHWM) of a process, in MiB.
pub fn memory(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status.lines().find(|l| l.starts_with(name)).with_context(|| format!("no {name}"))?;
        let kb: f64 = line.split_whitespace().nth(1).context("bad status line")?.parse()?;
        Ok(kb / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// "N cores (CPU model)".
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores ({cpu})")
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    t: String,
}

/// "PostgreSQL 15.x (...)" of the server.
pub async fn pg_version(conn: &mut AsyncPgConnection) -> anyhow::Result<String> {
    let v: TextRow = diesel::sql_query("SELECT version() AS t").get_result(conn).await?;
    Ok(v.t.split(" on ").next().unwrap_or(&v.t).to_string())
}

/// Percentile `p` (0..=100) of sorted values (nearest rank).
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The HTTP side.
pub struct Http {
    /// Client (keep-alive, loopback only).
    pub client: reqwest::Client,
    /// `http://127.0.0.1:PORT`.
    pub root: String,
    /// `http://127.0.0.1:PORT/scim/v2/<connection>`.
    pub base: String,
    /// Bearer token.
    pub token: String,
}

impl Http {
    /// GET under the SCIM base; (elapsed until the whole body arrived, status, body).
    pub async fn get(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> anyhow::Result<(Duration, u16, Vec<u8>)> {
        let url = format!("{}{}", self.base, path);
        let start = Instant::now();
        let response = self.client.get(&url).query(query).bearer_auth(&self.token).send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        Ok((start.elapsed(), status, body.to_vec()))
    }

    /// PATCH under the SCIM base with a JSON body (serialised before the clock starts);
    /// (elapsed until the whole body arrived, status, body).
    pub async fn patch(&self, path: &str, body: &Value) -> anyhow::Result<(Duration, u16, Vec<u8>)> {
        let url = format!("{}{}", self.base, path);
        let payload = serde_json::to_vec(body)?;
        let start = Instant::now();
        let response = self
            .client
            .patch(&url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/scim+json")
            .body(payload)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        Ok((start.elapsed(), status, body.to_vec()))
    }

    /// POST under the SCIM base with a JSON body already serialised; (elapsed until the whole
    /// body arrived, status, body).
    pub async fn post(&self, path: &str, body: String) -> anyhow::Result<(Duration, u16, Vec<u8>)> {
        let url = format!("{}{}", self.base, path);
        let start = Instant::now();
        let response = self
            .client
            .post(&url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/scim+json")
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        Ok((start.elapsed(), status, body.to_vec()))
    }

    /// GET /healthz.
    pub async fn healthz(&self) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let response = self.client.get(format!("{}/healthz", self.root)).send().await?;
        anyhow::ensure!(response.status().is_success(), "/healthz answered {}", response.status());
        response.bytes().await?;
        Ok(start.elapsed())
    }

    /// GET and parse JSON, requiring 200.
    pub async fn json(&self, path: &str, query: &[(String, String)]) -> anyhow::Result<Value> {
        let (_, status, body) = self.get(path, query).await?;
        anyhow::ensure!(status == 200, "GET {path} {query:?}: {status} {}", String::from_utf8_lossy(&body));
        Ok(serde_json::from_slice(&body)?)
    }
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text)]
    line: String,
}

/// EXPLAIN (ANALYZE, BUFFERS) of a statement (parameters written as literals), through a helper
/// function because EXPLAIN's output column cannot be renamed.
pub async fn explain(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<Vec<String>> {
    diesel::sql_query(
        "CREATE OR REPLACE FUNCTION bench_explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $f$ \
         DECLARE l text; BEGIN FOR l IN EXECUTE 'EXPLAIN (ANALYZE, BUFFERS) ' || q LOOP RETURN NEXT l; END LOOP; END $f$",
    )
    .execute(conn)
    .await?;
    let lines: Vec<PlanLine> =
        diesel::sql_query("SELECT bench_explain($1) AS line").bind::<Text, _>(sql).load(conn).await?;
    Ok(lines.into_iter().map(|l| l.line).collect())
}
