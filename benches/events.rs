//! Event latency benchmark (see benches/README.md): the real `roster serve` (default
//! `ROSTER_EVENTS_POLL_MS`, 500 ms) delivers to a local webhook receiver; for each of N SCIM
//! deactivations (PATCH active=false, reactivated in between) the time from sending the PATCH
//! to the `member.suspended` webhook arriving. Reports median and p99.
//! `cargo bench --bench events [-- --count 1000]`; `ROSTER_BENCH_QUICK=1` runs 50.

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
    database: String,
}

fn parse_args() -> anyhow::Result<Args> {
    let quick = std::env::var_os("ROSTER_BENCH_QUICK").is_some();
    let mut a = Args { count: if quick { 50 } else { 1000 }, database: DATABASE.into() };
    parse_options("--count N --database NAME", |arg, it| {
        match arg {
            "--count" => a.count = number(it, arg)?,
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
    println!("{} deactivations of one member, each followed by a reactivation ...", args.count);
    let mut latencies = Vec::with_capacity(args.count);
    let mut patch_rtt = Vec::with_capacity(args.count);
    for _ in 0..args.count {
        let t0 = Instant::now();
        send(off.clone()).await?;
        patch_rtt.push(ms(t0.elapsed()));
        let arrived = wait_for(&mut rx, &id, "member.suspended").await?;
        latencies.push(ms(arrived.duration_since(t0)));
        send(on.clone()).await?;
        wait_for(&mut rx, &id, "member.reactivated").await?;
    }
    latencies.sort_by(f64::total_cmp);
    patch_rtt.sort_by(f64::total_cmp);
    println!("{}", common::machine());
    println!(
        "PATCH active=false -> member.suspended webhook received: median {:.2} ms, p99 {:.2} ms, max {:.2} ms (n={})",
        pct(&latencies, 50.0),
        pct(&latencies, 99.0),
        latencies[latencies.len() - 1],
        latencies.len()
    );
    println!(
        "  (the PATCH round trip alone: median {:.2} ms, p99 {:.2} ms)",
        pct(&patch_rtt, 50.0),
        pct(&patch_rtt, 99.0)
    );
    server.stop()?;
    receiver_handle.stop(false).await;
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
