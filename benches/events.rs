//! Event latency benchmark (see benches/README.md): the real `roster serve` (default
//! `ROSTER_EVENTS_POLL_MS`, 500 ms) delivers to a local webhook receiver; for each of N SCIM
//! deactivations (PATCH active=false, reactivated in between) the time from sending the PATCH
//! to the `member.suspended` webhook arriving. Reports median and p99 — first with the healthy
//! receiver alone, then with `--dead N` (default 10) receivers of another tenant that accept
//! connections and never answer, kept busy with events throughout: the isolation check of
//! issue #14 (the healthy receiver's p99 with dead ones present within 2× of its p99 alone).
//! `cargo bench --bench events [-- --count 1000 --dead 10]`; `ROSTER_BENCH_QUICK=1` runs 50.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use common::{ms, number, parse_options, pct, value, Database, Server, SECRET};
use roster::auth::SigningKey;
use roster::events::keys::EventKeys;
use roster::events::receivers::{self, AddReceiver, Format};

const DATABASE: &str = "roster_bench_events";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Args {
    count: usize,
    dead: usize,
    database: String,
}

fn parse_args() -> anyhow::Result<Args> {
    let quick = std::env::var_os("ROSTER_BENCH_QUICK").is_some();
    let mut a = Args { count: if quick { 50 } else { 1000 }, dead: 10, database: DATABASE.into() };
    parse_options("--count N --dead N --database NAME", |arg, it| {
        match arg {
            "--count" => a.count = number(it, arg)?,
            "--dead" => a.dead = number(it, arg)?,
            "--database" => a.database = value(it, arg)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    anyhow::ensure!(a.count >= 10, "--count must be at least 10");
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let target = common::target_dir();
    std::fs::create_dir_all(&target)?;
    let db = Database::open(&target, &args.database)?;
    // Two threads: the receiver records arrivals while the client waits.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let result = rt.block_on(run(&args, &db.url, &target));
    drop(rt);
    db.close()?;
    result
}

/// (kind, subject, arrival) of each webhook the receiver got.
type Arrival = (String, String, Instant);

async fn receive(body: web::Bytes, tx: web::Data<mpsc::UnboundedSender<Arrival>>) -> HttpResponse {
    let at = Instant::now();
    let doc: Value = serde_json::from_slice(&body).unwrap_or_default();
    let kind = doc["type"].as_str().unwrap_or("").to_string();
    let subject = doc["subject_id"].as_str().unwrap_or("").to_string();
    let _ = tx.send((kind, subject, at));
    HttpResponse::NoContent().finish()
}

/// The arrival of the next `kind` webhook about `id` (others are skipped).
async fn wait_for(
    rx: &mut mpsc::UnboundedReceiver<Arrival>,
    id: &str,
    kind: &str,
) -> anyhow::Result<Instant> {
    loop {
        let (k, s, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .map_err(|_| anyhow::anyhow!("no {kind} webhook within 30 s"))?
            .ok_or_else(|| anyhow::anyhow!("receiver stopped"))?;
        if k == kind && s == id {
            return Ok(at);
        }
    }
}

/// Latencies of one phase.
struct Phase {
    latencies: Vec<f64>,
    patch_rtt: Vec<f64>,
}

impl Phase {
    fn median(&self) -> f64 {
        pct(&self.latencies, 50.0)
    }

    fn p99(&self) -> f64 {
        pct(&self.latencies, 99.0)
    }

    fn print(&self, what: &str) {
        println!(
            "{what}: PATCH active=false -> member.suspended webhook received: median {:.2} ms, p99 {:.2} ms, max {:.2} ms (n={})",
            self.median(),
            self.p99(),
            self.latencies[self.latencies.len() - 1],
            self.latencies.len()
        );
        println!(
            "  (the PATCH round trip alone: median {:.2} ms, p99 {:.2} ms)",
            pct(&self.patch_rtt, 50.0),
            pct(&self.patch_rtt, 99.0)
        );
    }
}

/// `count` timed deactivations (each followed by an untimed reactivation).
async fn measure<F, Fut>(
    count: usize,
    rx: &mut mpsc::UnboundedReceiver<Arrival>,
    id: &str,
    send: &F,
    off: &Arc<String>,
    on: &Arc<String>,
) -> anyhow::Result<Phase>
where
    F: Fn(Arc<String>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut latencies = Vec::with_capacity(count);
    let mut patch_rtt = Vec::with_capacity(count);
    for _ in 0..count {
        let t0 = Instant::now();
        send(off.clone()).await?;
        patch_rtt.push(ms(t0.elapsed()));
        let arrived = wait_for(rx, id, "member.suspended").await?;
        latencies.push(ms(arrived.duration_since(t0)));
        send(on.clone()).await?;
        wait_for(rx, id, "member.reactivated").await?;
    }
    latencies.sort_by(f64::total_cmp);
    patch_rtt.sort_by(f64::total_cmp);
    Ok(Phase { latencies, patch_rtt })
}

/// Receivers of another tenant that accept connections and never answer (each connection is
/// held open until the bench ends).
struct DeadReceivers {
    connection: uuid::Uuid,
    token: String,
    held: Arc<std::sync::Mutex<Vec<tokio::net::TcpStream>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl DeadReceivers {
    async fn start(
        conn: &mut AsyncPgConnection,
        key: &SigningKey,
        n: usize,
        now: chrono::DateTime<Utc>,
    ) -> anyhow::Result<DeadReceivers> {
        use roster::directory::tenants;
        let tenant = tenants::create_tenant(conn, "events-dead", "Dead receivers", None, now).await?;
        let (connection, token) =
            tenants::create_connection(conn, key, &tenant, "Dead IdP", None, now).await?;
        let held: Arc<std::sync::Mutex<Vec<tokio::net::TcpStream>>> = Arc::default();
        let mut tasks = Vec::new();
        for _ in 0..n {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let url = format!("http://127.0.0.1:{}/hook", listener.local_addr()?.port());
            let held = held.clone();
            tasks.push(tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(socket);
                }
            }));
            let r = AddReceiver { url, format: Format::Webhook, audience: None, secret: None };
            let egress = roster::events::egress::Egress::AllowPrivate;
            receivers::add(conn, &EventKeys::derive(key), tenant.id, r, egress, now).await?;
        }
        Ok(DeadReceivers { connection: connection.id, token: token.token, held, tasks })
    }

    /// Create 20 members in the dead receivers' tenant and toggle them for as long as the
    /// returned task runs, so that every dead receiver always has deliveries due.
    async fn keep_busy(
        &self,
        client: reqwest::Client,
        base: String,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let auth = format!("Bearer {}", self.token);
        let mut ids = Vec::new();
        for n in 0..20 {
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("dead-{n}@example.com")});
            let created: Value = client
                .post(format!("{base}/Users"))
                .header("authorization", &auth)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await?
                .json()
                .await?;
            ids.push(
                created["id"].as_str().ok_or_else(|| anyhow::anyhow!("no id in {created}"))?.to_string(),
            );
        }
        Ok(tokio::spawn(async move {
            for round in 0u64.. {
                let active = round % 2 == 1;
                for id in &ids {
                    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": active}]});
                    let _ = client
                        .patch(format!("{base}/Users/{id}"))
                        .header("authorization", &auth)
                        .header("content-type", "application/scim+json")
                        .body(body.to_string())
                        .send()
                        .await;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }))
    }

    fn connections(&self) -> usize {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

async fn run(args: &Args, url: &str, target: &std::path::Path) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    roster::db::run_migrations(url).await?;
    common::load::exec(&mut conn, "TRUNCATE tenants CASCADE").await?;
    let key = SigningKey::from_secret(SECRET.as_bytes());
    let now = Utc::now();
    let tenant =
        roster::directory::tenants::create_tenant(&mut conn, "events-bench", "Events bench", None, now)
            .await?;
    let (connection, token) =
        roster::directory::tenants::create_connection(&mut conn, &key, &tenant, "Bench IdP", None, now)
            .await?;

    let (tx, mut rx) = mpsc::unbounded_channel::<Arrival>();
    let data = web::Data::new(tx);
    let receiver =
        HttpServer::new(move || App::new().app_data(data.clone()).route("/hook", web::post().to(receive)))
            .workers(1)
            .disable_signals()
            .bind("127.0.0.1:0")?;
    let hook_url = format!("http://127.0.0.1:{}/hook", receiver.addrs()[0].port());
    let receiver = receiver.run();
    let receiver_handle = receiver.handle();
    tokio::spawn(receiver);
    let r = AddReceiver { url: hook_url, format: Format::Webhook, audience: None, secret: None };
    // The receiver is on 127.0.0.1: allowed as with ROSTER_WEBHOOK_ALLOW_PRIVATE=1, which the
    // server below is started with.
    let egress = roster::events::egress::Egress::AllowPrivate;
    receivers::add(&mut conn, &EventKeys::derive(&key), tenant.id, r, egress, now).await?;

    let data_dir = target.join(format!("bench-roster-data-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir)?;
    let mut server = Server::start(url, &data_dir)?;
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build()?;
    let base = format!("http://127.0.0.1:{}/scim/v2/{}", server.port, connection.id);
    let auth = format!("Bearer {}", token.token);
    let created: Value = client
        .post(format!("{base}/Users"))
        .header("authorization", &auth)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "latency@example.com"}).to_string())
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().ok_or_else(|| anyhow::anyhow!("no id in {created}"))?.to_string();
    let patch = |active: bool| {
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": active}]})
            .to_string()
    };
    let (off, on) = (Arc::new(patch(false)), Arc::new(patch(true)));
    wait_for(&mut rx, &id, "member.created").await?;
    let send = |body: Arc<String>| {
        let (client, auth, url) = (client.clone(), auth.clone(), format!("{base}/Users/{id}"));
        async move {
            let r = client
                .patch(url)
                .header("authorization", auth)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await?;
            anyhow::ensure!(r.status() == 200, "PATCH answered {}", r.status());
            Ok::<(), anyhow::Error>(())
        }
    };
    println!("{}", common::machine());
    println!("{} deactivations of one member, each followed by a reactivation ...", args.count);
    let alone = measure(args.count, &mut rx, &id, &send, &off, &on).await?;
    alone.print("healthy receiver alone");
    if args.dead > 0 {
        let mut dead = DeadReceivers::start(&mut conn, &key, args.dead, now).await?;
        let other_base = format!("http://127.0.0.1:{}/scim/v2/{}", server.port, dead.connection);
        let load = dead.keep_busy(client.clone(), other_base).await?;
        println!(
            "... again, with {} receivers of another tenant that never answer, each sent events throughout ...",
            args.dead
        );
        let with_dead = measure(args.count, &mut rx, &id, &send, &off, &on).await?;
        load.abort();
        with_dead.print(&format!("healthy receiver beside {} dead ones", args.dead));
        println!(
            "ratio with dead / alone: median {:.2}x, p99 {:.2}x (target: p99 within 2x); the dead receivers held {} connections",
            with_dead.median() / alone.median(),
            with_dead.p99() / alone.p99(),
            dead.connections()
        );
        dead.stop();
    }
    server.stop()?;
    receiver_handle.stop(false).await;
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
