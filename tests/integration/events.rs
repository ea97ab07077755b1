//! Events: the outbox is written with each change and delivered to webhooks in order per
//! subject, signed, exactly once per successful delivery, with retries driven by an explicit
//! `now` (no sleeps).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, RunQueryDsl};
use hmac::{Hmac, Mac};
use reqwest::Method;
use roster::db;
use roster::events::dispatch::{DispatchReport, Dispatcher};
use roster::events::egress::Egress;
use roster::events::keys::EventKeys;
use roster::events::receivers::{self, AddReceiver, Format};
use serde_json::{json, Value};
use sha2::Sha256;
use uuid::Uuid;

use crate::support::requests::{send, Reply};
use crate::support::TestApp;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub(crate) const SECRET: &str = "test-webhook-secret-0123456789";

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) event_id: String,
    signature: String,
    body: Vec<u8>,
    content_type: String,
    accept: String,
    /// Whether the receiver answered 2xx.
    accepted: bool,
}

impl Received {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone)]
struct ReceiverState {
    log: Arc<Mutex<Vec<Received>>>,
    fail_left: Arc<AtomicUsize>,
    reject_left: Arc<AtomicUsize>,
}

/// A local webhook receiver that records requests and fails the first N.
pub(crate) struct Receiver {
    pub(crate) url: String,
    state: ReceiverState,
    handle: actix_web::dev::ServerHandle,
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<ReceiverState>) -> HttpResponse {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let take =
        |n: &AtomicUsize| n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    let fail = take(&state.fail_left);
    let reject = !fail && take(&state.reject_left);
    let content_type = header("content-type");
    state.log.lock().unwrap().push(Received {
        event_id: header("roster-event-id"),
        signature: header("roster-signature"),
        body: body.to_vec(),
        content_type: content_type.clone(),
        accept: header("accept"),
        accepted: !fail && !reject,
    });
    if fail {
        HttpResponse::ServiceUnavailable().finish()
    } else if reject {
        // RFC 8935 §2.3 error response.
        HttpResponse::BadRequest()
            .json(json!({"err": "invalid_audience", "description": "The audience value was invalid."}))
    } else if content_type == "application/secevent+jwt" {
        HttpResponse::Accepted().finish()
    } else {
        HttpResponse::NoContent().finish()
    }
}

impl Receiver {
    pub(crate) async fn start(fail_first: usize) -> Receiver {
        Self::start_with(fail_first, 0).await
    }

    /// Fails the first `fail_first` requests with 503, then rejects `reject_first` with an RFC 8935
    /// 400 error object.
    pub(crate) async fn start_with(fail_first: usize, reject_first: usize) -> Receiver {
        let state = ReceiverState {
            log: Arc::default(),
            fail_left: Arc::new(AtomicUsize::new(fail_first)),
            reject_left: Arc::new(AtomicUsize::new(reject_first)),
        };
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).route("/hook", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver { url: format!("http://127.0.0.1:{port}/hook"), state, handle }
    }

    pub(crate) fn all(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().clone()
    }

    fn accepted(&self) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.accepted).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn tenant_id(app: &TestApp) -> Uuid {
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap().id
}

async fn add_receiver(app: &TestApp, url: &str, format: Format, audience: Option<&str>) -> Uuid {
    add_receiver_to(app, tenant_id(app).await, url, format, audience).await
}

async fn add_receiver_to(
    app: &TestApp,
    tenant: Uuid,
    url: &str,
    format: Format,
    audience: Option<&str>,
) -> Uuid {
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let secret = (format == Format::Webhook).then(|| SECRET.to_string());
    let r = AddReceiver { url: url.into(), format, audience: audience.map(Into::into), secret };
    // The test receivers listen on 127.0.0.1: private targets are allowed, as with
    // ROSTER_WEBHOOK_ALLOW_PRIVATE=1 (see `private_receivers_are_refused_unless_allowed`).
    receivers::add(&mut conn, &EventKeys::derive(&app.key), tenant, r, Egress::AllowPrivate, Utc::now())
        .await
        .unwrap()
        .id
}

async fn add_webhook(app: &TestApp, url: &str) -> Uuid {
    add_receiver(app, url, Format::Webhook, None).await
}

/// The public URL SET issuers are built from in these tests.
const PUBLIC: &str = "https://roster.example";

fn dispatcher(app: &TestApp) -> Dispatcher {
    Dispatcher::new(roster::events::dispatch::client(Egress::AllowPrivate).unwrap(), &app.key, PUBLIC)
}

/// A dispatcher as `roster serve` runs it, but polling only once an hour: only the NOTIFY of a
/// committed event wakes it. Stopped when the returned guard is dropped.
fn woken_dispatcher(app: &TestApp) -> roster::events::wake::AbortOnDrop {
    let clock: Arc<dyn roster::clock::Clock> = Arc::new(roster::clock::SystemClock);
    roster::events::wake::AbortOnDrop(roster::events::dispatch::spawn_dispatcher(
        app.pool.clone(),
        dispatcher(app),
        clock,
        std::time::Duration::from_secs(3600),
        Some(app.db_url.clone()),
    ))
}

pub(crate) async fn dispatch_once(app: &TestApp, now: DateTime<Utc>) -> DispatchReport {
    dispatcher(app).dispatch_once(&app.pool, now).await.unwrap()
}

async fn patch(app: &TestApp, path: &str, ops: Value) -> Reply {
    let body = json!({"schemas": [PATCH_OP], "Operations": ops});
    send(app.req(Method::PATCH, path).header("content-type", "application/scim+json").body(body.to_string()))
        .await
}

async fn set_active(app: &TestApp, id: &str, value: &str) {
    let r = patch(app, &format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": value}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn pending(app: &TestApp) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let row: N = diesel::sql_query("SELECT count(*) AS n FROM event_deliveries WHERE delivered_at IS NULL")
        .get_result(&mut conn)
        .await
        .unwrap();
    row.n
}

/// Dispatch until nothing is pending, moving the clock past every backoff. Returns the final `now`.
pub(crate) async fn drain(app: &TestApp, mut now: DateTime<Utc>) -> DateTime<Utc> {
    for _ in 0..200 {
        dispatch_once(app, now).await;
        if pending(app).await == 0 {
            return now;
        }
        now += Duration::minutes(6);
    }
    panic!("deliveries still pending after 200 rounds");
}

pub(crate) fn verify(r: &Received) {
    let (t, v1) = r.signature.split_once(",v1=").expect("signature has v1");
    let t = t.strip_prefix("t=").expect("signature has t");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&r.body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v1, expected, "bad signature on event {}", r.event_id);
    assert_eq!(r.json()["id"].as_str().unwrap(), r.event_id);
}

fn kinds_for(received: &[Received], subject: &str) -> Vec<String> {
    received
        .iter()
        .map(Received::json)
        .filter(|b| b["subject_id"] == subject)
        .map(|b| b["type"].as_str().unwrap().to_string())
        .collect()
}

fn assert_unique(received: &[Received]) {
    let mut ids: Vec<&str> = received.iter().map(|r| r.event_id.as_str()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "an event was delivered twice");
}

#[tokio::test]
async fn a_member_lifecycle_arrives_in_order_signed_and_once() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(0).await;
    add_webhook(&app, &receiver.url).await;

    let member = app.create_user("ada@example.com").await;
    set_active(&app, &member, "False").await;
    set_active(&app, &member, "True").await;
    let group = app.create_group("Engineering", &[]).await;
    let r = patch(
        &app,
        &format!("/Groups/{group}"),
        json!([{"op": "add", "path": "members", "value": [{"value": member}]}]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = patch(
        &app,
        &format!("/Groups/{group}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{member}\"]")}]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.delete(&format!("/Users/{member}")).await.status, 204);

    drain(&app, Utc::now()).await;
    let got = receiver.all();
    assert!(got.iter().all(|r| r.accepted));
    got.iter().for_each(verify);
    assert_unique(&got);
    assert_eq!(
        kinds_for(&got, &member),
        [
            "member.created",
            "member.invitation_needed",
            "member.suspended",
            "member.reactivated",
            "member.invitation_needed",
            "membership.added",
            "membership.removed",
            "member.removed"
        ]
    );
    assert_eq!(kinds_for(&got, &group), ["group.created"]);
    let added = got.iter().map(Received::json).find(|b| b["type"] == "membership.added").unwrap();
    assert_eq!(added["data"], json!({"group_id": group, "member_id": member, "member_type": "User"}));
    // A second pass finds nothing to do.
    let again = dispatch_once(&app, Utc::now() + Duration::days(1)).await;
    assert_eq!(again, DispatchReport::default());
}

#[tokio::test]
async fn a_receiver_down_for_three_attempts_gets_everything_once_in_order() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(3).await;
    add_webhook(&app, &receiver.url).await;
    let member = app.create_user("grace@example.com").await;
    set_active(&app, &member, "False").await;
    set_active(&app, &member, "True").await;

    let t0 = Utc::now() + Duration::seconds(1);
    let once = |now| dispatch_once(&app, now);
    let failed = DispatchReport { failed: 1, ..Default::default() };
    let idle = DispatchReport::default();
    // Attempt 1 fails; event 2 and 3 wait behind it. Retries come after 1 s, 2 s, 4 s.
    assert_eq!(once(t0).await, failed);
    assert_eq!(once(t0 + Duration::milliseconds(900)).await, idle);
    assert_eq!(once(t0 + Duration::seconds(1)).await, failed);
    assert_eq!(once(t0 + Duration::milliseconds(2900)).await, idle);
    assert_eq!(once(t0 + Duration::seconds(3)).await, failed);
    assert_eq!(once(t0 + Duration::milliseconds(6900)).await, idle);
    assert_eq!(once(t0 + Duration::seconds(7)).await, DispatchReport { delivered: 1, ..Default::default() });
    drain(&app, t0 + Duration::seconds(7)).await;

    let all = receiver.all();
    assert_eq!(all.iter().filter(|r| !r.accepted).count(), 3);
    assert!(all[..3].iter().all(|r| r.event_id == all[0].event_id), "retries are of the first event");
    let accepted = receiver.accepted();
    accepted.iter().for_each(verify);
    assert_unique(&accepted);
    assert_eq!(
        kinds_for(&accepted, &member),
        [
            "member.created",
            "member.invitation_needed",
            "member.suspended",
            "member.reactivated",
            "member.invitation_needed"
        ]
    );
}

#[tokio::test]
async fn failed_requests_and_rolled_back_transactions_write_no_event() {
    let app = TestApp::spawn().await;
    let tenant = tenant_id(&app).await;
    let count = || async {
        let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
        db::events::list(&mut conn, tenant).await.unwrap().len()
    };
    let member = app.create_user("linus@example.com").await;
    assert_eq!(count().await, 2, "member.created and member.invitation_needed");

    let dup = app
        .post("/Users", &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "LINUS@example.com"}))
        .await;
    dup.assert_error(409, Some("uniqueness"));
    let group = app.create_group("Kernel", &[]).await;
    assert_eq!(count().await, 3);
    let bad = patch(
        &app,
        &format!("/Groups/{group}"),
        json!([{"op": "add", "path": "members", "value": [{"value": member}, {"value": Uuid::now_v7().to_string()}]}]),
    )
    .await;
    bad.assert_error(400, Some("invalidValue"));
    assert_eq!(count().await, 3, "a rejected PATCH adds no membership event");

    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let subject = member.parse::<Uuid>().unwrap();
    let rolled_back = conn
        .transaction::<(), diesel::result::Error, _>(async move |conn| {
            let event = roster::events::NewEvent::member_removed(subject);
            db::events::insert(conn, tenant, &[event], Utc::now()).await?;
            Err(diesel::result::Error::RollbackTransaction)
        })
        .await;
    assert!(rolled_back.is_err());
    drop(conn);
    assert_eq!(count().await, 3);
}

#[tokio::test]
async fn concurrent_dispatchers_never_deliver_an_event_twice() {
    let app = TestApp::spawn_with(|s| s.db_pool_size = 8).await;
    let receiver = Receiver::start(0).await;
    add_webhook(&app, &receiver.url).await;
    let mut members = Vec::new();
    for i in 0..12 {
        let id = app.create_user(&format!("user{i}@example.com")).await;
        set_active(&app, &id, "False").await;
        set_active(&app, &id, "True").await;
        members.push(id);
    }
    let now = Utc::now() + Duration::seconds(1);
    let (one, two) = (dispatcher(&app), dispatcher(&app));
    for _ in 0..100 {
        let (a, b) = tokio::join!(one.dispatch_once(&app.pool, now), two.dispatch_once(&app.pool, now));
        a.unwrap();
        b.unwrap();
        if pending(&app).await == 0 {
            break;
        }
    }
    assert_eq!(pending(&app).await, 0);
    let got = receiver.all();
    assert_eq!(got.len(), 60);
    assert_unique(&got);
    for m in &members {
        assert_eq!(
            kinds_for(&got, m),
            [
                "member.created",
                "member.invitation_needed",
                "member.suspended",
                "member.reactivated",
                "member.invitation_needed"
            ]
        );
    }
}

#[tokio::test]
async fn payloads_carry_ids_and_changed_names_but_no_personal_data() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(0).await;
    add_webhook(&app, &receiver.url).await;
    let r = app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "margaret@hamilton.example",
                    "emails": [{"value": "mh@apollo.example", "primary": true}], "password": "Sup3r-secret-pw",
                    "displayName": "Margaret Hamilton"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = patch(
        &app,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "displayName", "value": "M. H."}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    drain(&app, Utc::now()).await;

    let got = receiver.all();
    assert_eq!(kinds_for(&got, &id), ["member.created", "member.invitation_needed", "member.updated"]);
    assert_eq!(got[1].json()["data"], json!({"member_id": id}));
    assert_eq!(got[2].json()["data"], json!({"member_id": id, "changed": ["displayName"]}));
    for r in &got {
        let text = String::from_utf8(r.body.clone()).unwrap();
        for secret in ["margaret", "hamilton", "apollo", "Sup3r", "Margaret", "M. H."] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
        let data = r.json()["data"].clone();
        for key in ["userName", "emails", "password", "displayName"] {
            assert!(data.get(key).is_none(), "{key} in {data}");
        }
    }
}

async fn events_of(app: &TestApp) -> Vec<(String, String, Value)> {
    app.outbox().await.into_iter().map(|e| (e.kind, e.subject_id.to_string(), e.payload)).collect()
}

#[tokio::test]
async fn group_writes_name_every_membership_they_change() {
    let app = TestApp::spawn().await;
    let (a, b, c) = (
        app.create_user("a@x.example").await,
        app.create_user("b@x.example").await,
        app.create_user("c@x.example").await,
    );
    let group = app.create_group("Ops", &[&a, &b]).await;
    let child = app.create_group("Ops child", &[]).await;
    let r = patch(
        &app,
        &format!("/Groups/{child}"),
        json!([{"op": "replace", "value": {
        "urn:ietf:params:scim:schemas:extension:roster:2.0:Group": {"parent": group}}}]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let start = events_of(&app).await.len();
    // ReplaceAll: b stays, a leaves, c joins.
    let r = patch(
        &app,
        &format!("/Groups/{group}"),
        json!([{"op": "replace", "path": "members", "value": [{"value": b}, {"value": c}]}]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // RemoveAll, then delete the group (its child becomes a root).
    let r = patch(&app, &format!("/Groups/{group}"), json!([{"op": "remove", "path": "members"}])).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.delete(&format!("/Groups/{group}")).await.status, 204);

    let got: Vec<(String, String)> =
        events_of(&app).await[start..].iter().map(|(k, s, _)| (k.clone(), s.clone())).collect();
    let mut remove_all: Vec<(String, String)> = got[2..4].to_vec();
    remove_all.sort();
    let mut expected_remove_all =
        vec![("membership.removed".to_string(), b.clone()), ("membership.removed".to_string(), c.clone())];
    expected_remove_all.sort();
    assert_eq!(
        &got[..2],
        &[("membership.removed".into(), a.clone()), ("membership.added".into(), c.clone())]
    );
    assert_eq!(remove_all, expected_remove_all);
    assert_eq!(
        &got[4..],
        &[("group.updated".into(), child.clone()), ("group.deleted".into(), group.clone())]
    );
}

#[tokio::test]
async fn cli_adds_lists_and_removes_webhooks_without_showing_secrets_again() {
    let app = TestApp::spawn().await;
    let roster = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
        cmd.env("DATABASE_URL", &app.db_url)
            .env("ROSTER_SIGNING_KEY", std::str::from_utf8(crate::support::TEST_SECRET).unwrap())
            .env("ROSTER_WEBHOOK_ALLOW_PRIVATE", "1")
            .env("ROSTER_LOG", "warn");
        cmd
    };
    let out = roster()
        .args(["webhook", "add", "--tenant", &app.creds.tenant, "--url", "http://127.0.0.1:9/hook", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = added["secret"].as_str().unwrap();
    assert!(secret.len() >= 32, "{secret}");
    let id = added["webhook"].as_str().unwrap();

    let out = roster().args(["webhook", "list", "--tenant", &app.creds.tenant, "--json"]).output().unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(listed.contains(id) && !listed.contains(secret), "{listed}");

    let short = roster()
        .args([
            "webhook",
            "add",
            "--tenant",
            &app.creds.tenant,
            "--url",
            "http://x.example",
            "--secret",
            "short",
        ])
        .output()
        .unwrap();
    assert!(!short.status.success());

    let out = roster()
        .args(["webhook", "add", "--tenant", &app.creds.tenant, "--url", "https://r.example/events"])
        .args(["--format", "set", "--audience", "urn:example:aud", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let set: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((set["format"].as_str(), set["secret"].as_str()), (Some("set"), None));
    let out = roster().args(["webhook", "list", "--tenant", &app.creds.tenant, "--json"]).output().unwrap();
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[1]["format"], "set");
    assert_eq!(listed[1]["audience"], "urn:example:aud");
    let out = roster()
        .args(["webhook", "add", "--tenant", &app.creds.tenant, "--url", "https://r.example/events"])
        .args(["--format", "set", "--secret", "0123456789abcdef0123"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--secret applies to --format webhook only"));
    let set_id = set["webhook"].as_str().unwrap();
    let out = roster().args(["webhook", "remove", "--tenant", &app.creds.tenant, set_id]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = roster().args(["webhook", "remove", "--tenant", &app.creds.tenant, id]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = roster().args(["webhook", "list", "--tenant", &app.creds.tenant, "--json"]).output().unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), json!([]));
}

#[tokio::test]
async fn removing_a_member_ends_its_memberships_and_restoring_it_is_a_creation() {
    let app = TestApp::spawn().await;
    let member = app.create_user("rosa@x.example").await;
    let group = app.create_group("Team", &[&member]).await;
    assert_eq!(app.delete(&format!("/Users/{member}")).await.status, 204);
    let back = app.create_user("rosa@x.example").await;
    assert_eq!(back, member, "same id restored");

    let mine: Vec<(String, Value)> =
        events_of(&app).await.into_iter().filter(|(_, s, _)| *s == member).map(|(k, _, p)| (k, p)).collect();
    let kinds: Vec<&str> = mine.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "member.created",
            "member.invitation_needed",
            "membership.added",
            "membership.removed",
            "member.removed",
            "member.created",
            "member.invitation_needed"
        ]
    );
    assert_eq!(mine[3].1["group_id"], json!(group));
    assert_eq!(mine[5].1, json!({"member_id": member, "active": true, "restored": true}));
    assert_eq!(mine[6].1, json!({"member_id": member}));
}

#[tokio::test(flavor = "multi_thread")]
async fn roster_serve_runs_the_dispatcher() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(0).await;
    add_webhook(&app, &receiver.url).await;
    let mut cmd = crate::support::serve::command();
    cmd.env("DATABASE_URL", &app.db_url)
        .env("ROSTER_SIGNING_KEY", std::str::from_utf8(crate::support::TEST_SECRET).unwrap())
        .env("ROSTER_EVENTS_POLL_MS", "20")
        .env("ROSTER_WEBHOOK_ALLOW_PRIVATE", "1");
    let (_serving, _, _) = crate::support::serve::start(cmd);

    let member = app.create_user("serve@x.example").await;
    // The other process delivers on its own schedule: wait for it (bounded), never assert a time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while receiver.all().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let got = receiver.all();
    got.iter().for_each(verify);
    assert_eq!(kinds_for(&got, &member), ["member.created", "member.invitation_needed"]);
}

#[tokio::test]
async fn retention_prunes_settled_events_and_keeps_pending_ones() {
    let app = TestApp::spawn().await;
    let tenant = tenant_id(&app).await;
    app.create_user("before-webhook@example.com").await; // no webhook yet: settled at once
    add_webhook(&app, "http://127.0.0.1:9/unreachable").await;
    app.create_user("pending@example.com").await; // waits for the (down) webhook
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    assert_eq!(
        db::events::list(&mut conn, tenant).await.unwrap().len(),
        4,
        "created + invitation_needed, twice"
    );
    // Nothing is old enough yet.
    assert_eq!(roster::startup::prune_events(&mut conn, Utc::now() - Duration::days(1)).await.unwrap(), 0);
    let pruned = roster::startup::prune_events(&mut conn, Utc::now() + Duration::days(1)).await.unwrap();
    assert_eq!(pruned, 2, "only the settled events go");
    let left = db::events::list(&mut conn, tenant).await.unwrap();
    assert_eq!(left.len(), 2);
}

/// A SET as the receiver sees it: header and claims, verified with the published JWKS.
fn verify_set(token: &str, jwks: &Value, audience: &str) -> (jsonwebtoken::Header, Value) {
    use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
    assert_eq!(header.alg, Algorithm::ES256);
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk = set.find(header.kid.as_deref().unwrap()).expect("kid is in the JWKS");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["iss", "aud"]);
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("the SET verifies with the published key");
    (header, data.claims)
}

#[tokio::test]
async fn set_receivers_get_signed_security_event_tokens_in_order() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(0).await;
    let hook = add_receiver(&app, &receiver.url, Format::Set, Some("https://receiver.example/aud")).await;
    let tenant = tenant_id(&app).await;
    let member = app.create_user("set@example.com").await;
    set_active(&app, &member, "False").await;
    set_active(&app, &member, "True").await;
    let r = patch(
        &app,
        &format!("/Users/{member}"),
        json!([{"op": "replace", "path": "displayName", "value": "S"}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let group = app.create_group("Set group", &[&member]).await;
    assert_eq!(app.delete(&format!("/Users/{member}")).await.status, 204);
    drain(&app, Utc::now()).await;

    let jwks = app.client.get(format!("{}/.well-known/jwks.json", app.root)).send().await.unwrap();
    assert_eq!(jwks.status(), 200);
    let jwks: Value = jwks.json().await.unwrap();
    assert!(jwks["keys"][0].get("d").is_none(), "no private key material is published");
    let got = receiver.all();
    assert!(got.iter().all(|r| r.accepted && r.content_type == "application/secevent+jwt"));
    assert!(got.iter().all(|r| r.accept == "application/json"));
    let sets: Vec<Value> = got
        .iter()
        .map(|r| verify_set(std::str::from_utf8(&r.body).unwrap(), &jwks, "https://receiver.example/aud").1)
        .collect();
    let mut jtis: Vec<&str> = sets.iter().map(|c| c["jti"].as_str().unwrap()).collect();
    jtis.sort_unstable();
    jtis.dedup();
    assert_eq!(jtis.len(), sets.len(), "jti is unique per event");
    for c in &sets {
        assert_eq!(c["iss"], format!("{PUBLIC}/tenants/{tenant}"));
        assert!(c["iat"].is_i64() && c["toe"].is_i64());
    }
    let user_uri = format!("/Users/{member}");
    let uris: Vec<Vec<String>> = sets
        .iter()
        .filter(|c| c["sub_id"] == json!({"format": "scim", "uri": user_uri}))
        .map(|c| c["events"].as_object().unwrap().keys().cloned().collect())
        .collect();
    let p = "urn:ietf:params:scim:event:prov:";
    assert_eq!(
        uris,
        [
            vec![format!("{p}create:notice")],
            vec!["urn:ietf:params:scim:event:roster:member.invitation_needed".to_string()],
            vec![format!("{p}deactivate")],
            vec![format!("{p}activate")],
            vec!["urn:ietf:params:scim:event:roster:member.invitation_needed".to_string()],
            vec![format!("{p}patch:notice")],
            vec![format!("{p}delete")],
        ]
    );
    let patched = sets.iter().find(|c| c["events"].get(format!("{p}patch:notice")).is_some()).unwrap();
    assert_eq!(patched["events"][format!("{p}patch:notice")], json!({"attributes": ["displayName"]}));
    let joined = sets
        .iter()
        .find(|c| c["events"].get("urn:ietf:params:scim:event:roster:membership.added").is_some())
        .expect("membership SET");
    assert_eq!(joined["sub_id"], json!({"format": "scim", "uri": format!("/Groups/{group}")}));
    // Personal data never travels.
    for r in &got {
        let claims =
            verify_set(std::str::from_utf8(&r.body).unwrap(), &jwks, "https://receiver.example/aud").1;
        assert!(!claims.to_string().contains("set@example.com"));
    }
    // The webhook's row holds no secret at all.
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        format: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        no_secret: bool,
    }
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let row: Row = diesel::sql_query(
        "SELECT format, secret IS NULL AND secret_sealed IS NULL AS no_secret FROM webhooks WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(hook)
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!((row.format.as_str(), row.no_secret), ("set", true));
}

#[derive(QueryableByName, Debug)]
struct DeliveryRow {
    #[diesel(sql_type = BigInt)]
    event_id: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    rejected: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    settled: bool,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    last_error: Option<String>,
}

#[tokio::test]
async fn a_set_rejected_with_an_rfc_8935_error_is_recorded_not_retried_and_order_goes_on() {
    let app = TestApp::spawn().await;
    // Delivery mechanics only: an SSO tenant writes no invitation events to count around.
    single_sign_on(&app).await;
    let receiver = Receiver::start_with(0, 1).await;
    add_receiver(&app, &receiver.url, Format::Set, None).await;
    let member = app.create_user("rejected@example.com").await;
    set_active(&app, &member, "False").await;
    let now = drain(&app, Utc::now()).await;
    // Nothing is retried later, however long we wait.
    assert_eq!(dispatch_once(&app, now + Duration::days(1)).await, DispatchReport::default());

    let got = receiver.all();
    assert_eq!(got.len(), 2, "the rejected SET is sent once, the next one follows");
    assert!(!got[0].accepted && got[1].accepted);
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let rows: Vec<DeliveryRow> = diesel::sql_query(
        "SELECT event_id, rejected, delivered_at IS NOT NULL AS settled, attempts, last_error \
         FROM event_deliveries ORDER BY event_id, webhook_id",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].rejected && rows[0].settled && rows[0].attempts == 1, "{rows:?}");
    assert_eq!(
        rows[0].last_error.as_deref(),
        Some("rejected by receiver: invalid_audience: The audience value was invalid.")
    );
    assert!(!rows[1].rejected && rows[1].settled && rows[1].last_error.is_none(), "{rows:?}");
    assert!(rows[0].event_id < rows[1].event_id);
    let jwks = EventKeys::derive(&app.key).jwks();
    let second = verify_set(std::str::from_utf8(&got[1].body).unwrap(), &jwks, &receiver.url).1;
    assert!(second["events"].get("urn:ietf:params:scim:event:prov:deactivate").is_some());
}

#[tokio::test]
async fn webhook_secrets_are_sealed_in_the_database_and_clear_ones_are_sealed_at_start() {
    let app = TestApp::spawn().await;
    // Delivery mechanics only: an SSO tenant writes no invitation events to count around.
    single_sign_on(&app).await;
    let receiver = Receiver::start(0).await;
    let hook = add_webhook(&app, &receiver.url).await;
    let tenant = tenant_id(&app).await;
    // A row from before sealing existed: the secret in clear.
    let legacy = Uuid::now_v7();
    let legacy_secret = "legacy-clear-secret-0123456789";
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    diesel::sql_query(
        "INSERT INTO webhooks (tenant_id, id, url, secret, created_at) VALUES ($1, $2, $3, $4, now())",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .bind::<diesel::sql_types::Uuid, _>(legacy)
    .bind::<diesel::sql_types::Text, _>(&receiver.url)
    .bind::<diesel::sql_types::Text, _>(legacy_secret)
    .execute(&mut conn)
    .await
    .unwrap();
    let keys = EventKeys::derive(&app.key);
    assert_eq!(receivers::seal_clear_secrets(&mut conn, &keys).await.unwrap(), 1);
    assert_eq!(receivers::seal_clear_secrets(&mut conn, &keys).await.unwrap(), 0, "idempotent");

    #[derive(QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    for (id, secret) in [(hook, SECRET), (legacy, legacy_secret)] {
        let dump: Dump = diesel::sql_query(
            "SELECT row_to_json(w)::text || encode(secret_sealed, 'escape') AS row FROM webhooks w WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .get_result(&mut conn)
        .await
        .unwrap();
        assert!(
            !dump.row.contains(secret) && !dump.row.contains(&secret[..12]),
            "clear secret in {}",
            dump.row
        );
        assert!(dump.row.contains("\"secret\":null"), "{}", dump.row);
    }
    drop(conn);
    // Both still sign with their own secret.
    let member = app.create_user("sealed@example.com").await;
    drain(&app, Utc::now()).await;
    let got = receiver.all();
    assert_eq!(got.len(), 2);
    assert_eq!(kinds_for(&got, &member), ["member.created", "member.created"]);
    let verified_with = |secret: &str, r: &Received| {
        let (t, v1) = r.signature.split_once(",v1=").unwrap();
        roster::events::signature(secret, t.trim_start_matches("t=").parse().unwrap(), &r.body).ends_with(v1)
    };
    assert!(got.iter().any(|r| verified_with(SECRET, r)));
    assert!(got.iter().any(|r| verified_with(legacy_secret, r)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dispatcher_polling_once_an_hour_still_delivers_when_woken_by_notify() {
    let app = TestApp::spawn().await;
    // Delivery mechanics only: an SSO tenant writes no invitation events to count around.
    single_sign_on(&app).await;
    let receiver = Receiver::start(0).await;
    add_webhook(&app, &receiver.url).await;
    let _stop = woken_dispatcher(&app);
    // Let the first pass run (it finds nothing); from then on only a wake-up can deliver.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let receiver = &receiver;
    let wait_for = |n: usize| wait_until(move || receiver.all().len() >= n);
    let a = app.create_user("wake-a@example.com").await;
    wait_for(1).await;
    let b = app.create_user("wake-b@example.com").await;
    set_active(&app, &b, "False").await;
    wait_for(3).await;
    let got = receiver.all();
    assert_eq!(kinds_for(&got, &a), ["member.created"]);
    assert_eq!(kinds_for(&got, &b), ["member.created", "member.suspended"]);
}

/// A receiver that accepts connections and never answers; says how many it accepted and
/// whether the client has given up on every one of them.
struct BlackHole {
    url: String,
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    _task: roster::events::wake::AbortOnDrop,
}

impl BlackHole {
    async fn start() -> BlackHole {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (accepted, open) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (a, o) = (accepted.clone(), open.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                o.fetch_add(1, Ordering::SeqCst);
                let o = o.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    // Read until the client closes (it times out); never write a byte.
                    while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        BlackHole { url, accepted, open, _task: roster::events::wake::AbortOnDrop(task) }
    }

    /// Connections accepted so far.
    fn accepted(&self) -> usize {
        AtomicUsize::load(&self.accepted, Ordering::SeqCst)
    }

    /// Connections the client has not closed yet.
    fn open(&self) -> usize {
        AtomicUsize::load(&self.open, Ordering::SeqCst)
    }
}

async fn wait_until(what: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !what() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_never_answers_delays_only_its_own_deliveries() {
    let app = TestApp::spawn().await;
    let globex = app.new_tenant("globex").await;
    let hole = BlackHole::start().await;
    add_webhook(&app, &hole.url).await;
    let healthy = Receiver::start(0).await;
    let globex_id = {
        let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
        roster::directory::tenants::tenant(&mut conn, "globex").await.unwrap().id
    };
    add_receiver_to(&app, globex_id, &healthy.url, Format::Webhook, None).await;
    let _stop = woken_dispatcher(&app);
    // acme's receiver gets its event and hangs on it.
    app.create_user("stuck@example.com").await;
    wait_until(|| hole.accepted() >= 1).await;
    assert_eq!(hole.open(), 1, "the hanging delivery is in flight");
    // globex's event is delivered while acme's receiver still hangs (it would otherwise wait for
    // the hanging request's 10 s timeout).
    let r = send(
        app.req_as(&globex, Method::POST, "/Users").header("content-type", "application/scim+json").body(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ok@example.com"})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    wait_until(|| !healthy.accepted().is_empty() || hole.open() == 0).await;
    assert!(!healthy.accepted().is_empty(), "the healthy receiver got nothing");
    assert_eq!(hole.open(), 1, "the healthy receiver was served only after the hanging one gave up");
}

/// A one-shot-per-connection HTTPS receiver (self-signed certificate for 127.0.0.1) that records
/// request bodies and answers 204.
async fn https_receiver(
) -> (String, std::path::PathBuf, Arc<Mutex<Vec<Vec<u8>>>>, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let ca_file = std::env::temp_dir().join(format!("roster-test-ca-{}.pem", Uuid::now_v7()));
    std::fs::write(&ca_file, cert.cert.pem()).unwrap();
    let key = PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let log = bodies.clone();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(mut tls) = acceptor.accept(tcp).await else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then Content-Length bytes of body.
            let body = loop {
                let Ok(n) = tls.read(&mut chunk).await else { break None };
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break Some(buf[end + 4..end + 4 + len].to_vec());
                }
            };
            if let Some(body) = body {
                log.lock().unwrap().push(body);
                let _ = tls.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await;
                let _ = tls.shutdown().await;
            }
        }
    });
    (url, ca_file, bodies, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn https_receivers_are_delivered_to_when_their_ca_is_trusted() {
    let app = TestApp::spawn().await;
    let (url, ca_file, bodies, task) = https_receiver().await;
    let _stop = roster::events::wake::AbortOnDrop(task);
    add_webhook(&app, &url).await;
    let member = app.create_user("tls@example.com").await;
    let now = Utc::now();
    // Without the CA the certificate is refused: the delivery fails and is retried later.
    let untrusted = dispatcher(&app).dispatch_once(&app.pool, now).await.unwrap();
    assert_eq!(untrusted, DispatchReport { failed: 1, ..Default::default() });
    assert!(bodies.lock().unwrap().is_empty());
    // With ROSTER_WEBHOOK_CA_FILE's certificates trusted, it goes through.
    let client = roster::events::dispatch::client_with_ca(Some(&ca_file), Egress::AllowPrivate).unwrap();
    let trusted = Dispatcher::new(client, &app.key, PUBLIC);
    let report = trusted.dispatch_once(&app.pool, now + Duration::minutes(1)).await.unwrap();
    assert_eq!(report, DispatchReport { delivered: 1, ..Default::default() });
    let got = bodies.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let body: Value = serde_json::from_slice(&got[0]).unwrap();
    assert_eq!(
        (body["type"].as_str(), body["subject_id"].as_str()),
        (Some("member.created"), Some(member.as_str()))
    );
    // A CA file that holds no certificate is a configuration error, not a silent fallback.
    std::fs::write(&ca_file, "not a certificate").unwrap();
    assert!(roster::events::dispatch::client_with_ca(Some(&ca_file), Egress::AllowPrivate).is_err());
    let _ = std::fs::remove_file(&ca_file);
}

/// Mark the test tenant as signing in with SSO, so member creations write no
/// `member.invitation_needed` events.
async fn single_sign_on(app: &TestApp) {
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let changed = diesel::sql_query("UPDATE tenants SET sso = true WHERE slug = $1")
        .bind::<diesel::sql_types::Text, _>(&app.creds.tenant)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(changed, 1);
}

/// The `last_error` of every delivery, in event order.
async fn last_errors(app: &TestApp) -> Vec<Option<String>> {
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let rows: Vec<DeliveryRow> = diesel::sql_query(
        "SELECT event_id, rejected, delivered_at IS NOT NULL AS settled, attempts, last_error \
         FROM event_deliveries ORDER BY event_id, webhook_id",
    )
    .load(&mut conn)
    .await
    .unwrap();
    rows.into_iter().map(|r| r.last_error).collect()
}

/// A dispatcher as `roster serve` builds it without ROSTER_WEBHOOK_ALLOW_PRIVATE.
fn public_only_dispatcher(app: &TestApp) -> Dispatcher {
    Dispatcher::new(roster::events::dispatch::client(Egress::PublicOnly).unwrap(), &app.key, PUBLIC)
}

#[tokio::test]
async fn deliveries_to_private_addresses_are_refused_unless_allowed() {
    let app = TestApp::spawn().await;
    single_sign_on(&app).await;
    let receiver = Receiver::start(0).await;
    let port = receiver.url.trim_start_matches("http://127.0.0.1:").trim_end_matches("/hook").to_string();
    // Receivers added while private targets were allowed (or rows from before the check).
    add_webhook(&app, &receiver.url).await;
    add_webhook(&app, &format!("http://localhost:{port}/hook")).await;
    app.create_user("egress@example.com").await;
    let report = public_only_dispatcher(&app).dispatch_once(&app.pool, Utc::now()).await.unwrap();
    assert_eq!(report, DispatchReport { failed: 2, ..Default::default() });
    assert!(receiver.all().is_empty(), "nothing reached the private receiver");
    let errors = last_errors(&app).await;
    assert!(errors[0].as_deref().unwrap().contains("127.0.0.1 is not a public address"), "{errors:?}");
    assert!(errors[1].as_deref().unwrap().contains("localhost is this machine"), "{errors:?}");
    assert!(errors.iter().flatten().all(|e| e.contains("ROSTER_WEBHOOK_ALLOW_PRIVATE")), "{errors:?}");
    // With the operator's permission the same deliveries go through.
    let report = dispatcher(&app).dispatch_once(&app.pool, Utc::now() + Duration::minutes(10)).await.unwrap();
    assert_eq!(report, DispatchReport { delivered: 2, ..Default::default() });
    assert_eq!(receiver.accepted().len(), 2);
}

#[tokio::test]
async fn a_host_name_is_checked_on_the_address_actually_connected() {
    let app = TestApp::spawn().await;
    single_sign_on(&app).await;
    // This machine's own name: not `localhost`, so only the resolver can tell it is private.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let resolved: Vec<std::net::IpAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
        Ok(addrs) => addrs.map(|a| a.ip()).collect(),
        Err(_) => Vec::new(),
    };
    if resolved.is_empty() || resolved.iter().any(|ip| roster::events::egress::is_public(*ip)) {
        eprintln!("skipped: {host} does not resolve to private addresses only ({resolved:?})");
        return;
    }
    let receiver = Receiver::start(0).await;
    let url = receiver.url.replace("127.0.0.1", &host);
    add_webhook(&app, &url).await;
    app.create_user("rebind@example.com").await;
    let report = public_only_dispatcher(&app).dispatch_once(&app.pool, Utc::now()).await.unwrap();
    assert_eq!(report, DispatchReport { failed: 1, ..Default::default() });
    assert!(receiver.all().is_empty());
    let errors = last_errors(&app).await;
    let error = errors[0].as_deref().unwrap();
    assert!(error.contains(&format!("{host} resolves to no public address")), "{error}");
}

#[tokio::test]
async fn private_receivers_and_credentials_are_refused_when_added() {
    let app = TestApp::spawn().await;
    let roster = |allow: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
        cmd.env("DATABASE_URL", &app.db_url)
            .env("ROSTER_SIGNING_KEY", std::str::from_utf8(crate::support::TEST_SECRET).unwrap())
            .env("ROSTER_LOG", "warn")
            .env_remove("ROSTER_WEBHOOK_ALLOW_PRIVATE");
        if allow {
            cmd.env("ROSTER_WEBHOOK_ALLOW_PRIVATE", "1");
        }
        cmd
    };
    let add = |allow: bool, url: &str| {
        roster(allow).args(["webhook", "add", "--tenant", &app.creds.tenant, "--url", url]).output().unwrap()
    };
    for (url, fragment) in [
        ("http://127.0.0.1:9/hook", "127.0.0.1 is not a public address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is not a public address"),
        ("http://10.1.2.3/hook", "10.1.2.3 is not a public address"),
        ("http://[fd00::1]/hook", "fd00::1 is not a public address"),
        ("http://[::ffff:192.168.0.1]/hook", "is not a public address"),
        ("http://localhost:8080/hook", "this machine"),
    ] {
        let out = add(false, url);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url} was accepted");
        assert!(err.contains(fragment) && err.contains("ROSTER_WEBHOOK_ALLOW_PRIVATE=1"), "{url}: {err}");
    }
    for allow in [false, true] {
        let out = add(allow, "https://user:hunter2@r.example/events");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("must not contain credentials"));
    }
    assert!(add(false, "https://r.example/events").status.success());
    assert!(add(true, "http://127.0.0.1:9/hook").status.success());
    // A row written before credentials were refused is listed without them.
    let tenant = tenant_id(&app).await;
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let legacy = roster::db::webhooks::NewWebhook {
        id: Uuid::now_v7(),
        url: "https://olduser:oldpass@legacy.example/events",
        format: "set",
        audience: None,
        secret_sealed: None,
    };
    roster::db::webhooks::insert(&mut conn, tenant, &legacy, Utc::now()).await.unwrap();
    for json in [true, false] {
        let mut cmd = roster(false);
        cmd.args(["webhook", "list", "--tenant", &app.creds.tenant]);
        if json {
            cmd.arg("--json");
        }
        let listed = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
        assert!(listed.contains("https://legacy.example/events"), "{listed}");
        assert!(!listed.contains("oldpass") && !listed.contains("olduser"), "{listed}");
        assert_eq!(listed.matches("example/events").count(), 2, "{listed}");
    }
}

async fn webhook_row(app: &TestApp, id: Uuid) -> roster::db::webhooks::WebhookRow {
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let all = roster::db::webhooks::list(&mut conn, tenant_id(app).await).await.unwrap();
    all.into_iter().find(|w| w.id == id).unwrap()
}

#[tokio::test]
async fn a_receiver_failing_round_after_round_is_paused_then_probed_once_and_resumed() {
    use roster::db::events::CIRCUIT_THRESHOLD;
    use roster::db::webhooks::Circuit;
    let app = TestApp::spawn().await;
    let rounds = usize::try_from(CIRCUIT_THRESHOLD).unwrap();
    // Two members: two subjects, so every round sends two deliveries. Every request fails until
    // the threshold's rounds and one probe have failed.
    let receiver = Receiver::start(2 * rounds + 1).await;
    let hook = add_webhook(&app, &receiver.url).await;
    app.create_user("ada@example.com").await;
    app.create_user("grace@example.com").await;
    let t0 = Utc::now() + Duration::seconds(1);
    let failed_twice = DispatchReport { failed: 2, ..Default::default() };
    // Rounds at the deliveries' own backoff: 0 s, +1 s, +2 s, +4 s, +8 s ...
    let mut now = t0;
    let mut last_round = t0;
    for round in 0..rounds {
        last_round = now;
        assert_eq!(dispatch_once(&app, now).await, failed_twice, "round {round}");
        let row = webhook_row(&app, hook).await;
        assert_eq!(row.consecutive_failures, i32::try_from(round + 1).unwrap());
        let expect = if round + 1 < rounds { Circuit::Failing } else { Circuit::Open };
        assert_eq!(row.circuit(now), expect, "round {round}");
        now += Duration::seconds(1 << round);
    }
    let row = webhook_row(&app, hook).await;
    let paused_until = row.paused_until.expect("paused");
    assert!(row.last_error.as_deref().unwrap_or_default().contains("503"), "{:?}", row.last_error);
    // Paused: deliveries are due, yet nothing is sent.
    let before = receiver.all().len();
    assert_eq!(before, 2 * rounds);
    assert_eq!(dispatch_once(&app, paused_until - Duration::seconds(1)).await, DispatchReport::default());
    assert_eq!(receiver.all().len(), before);
    // The pause ends: one delivery probes (and fails: a longer pause).
    assert_eq!(dispatch_once(&app, paused_until).await, DispatchReport { failed: 1, ..Default::default() });
    assert_eq!(receiver.all().len(), before + 1);
    let row = webhook_row(&app, hook).await;
    let longer = row.paused_until.expect("paused again");
    assert!(longer - paused_until > paused_until - last_round, "the pause grows");
    // The next probe is answered: the circuit closes and everything pending goes out.
    assert_eq!(dispatch_once(&app, longer).await, DispatchReport { delivered: 1, ..Default::default() });
    let row = webhook_row(&app, hook).await;
    assert_eq!(
        (row.circuit(longer), row.consecutive_failures, row.paused_until),
        (Circuit::Healthy, 0, None)
    );
    let since_success = row.last_success_at.map(|t| (t - longer).num_milliseconds().abs());
    assert_eq!(since_success, Some(0), "last success recorded");
    drain(&app, longer).await;
    let accepted = receiver.accepted();
    assert_unique(&accepted);
    assert_eq!(accepted.iter().filter(|r| r.json()["type"] == "member.created").count(), 2);
}

#[tokio::test]
async fn the_outbox_admits_every_event_kind_the_code_writes() {
    // Migrations that widen the outbox's kind list one feature at a time once dropped another
    // feature's kinds; every kind must be storable.
    use roster::events::{EventKind, NewEvent};
    let app = TestApp::spawn().await;
    let tenant = tenant_id(&app).await;
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    for kind in EventKind::ALL {
        let event = NewEvent { subject: Uuid::now_v7(), kind, payload: json!({}) };
        roster::db::events::insert(&mut conn, tenant, &[event], Utc::now())
            .await
            .unwrap_or_else(|e| panic!("{} refused by the outbox: {e}", kind.as_str()));
    }
}

/// An event retention batch costs in proportion to the events it deletes, whatever the
/// statistics say (see `provisioning_log`'s test of the same name): statistics taken before the
/// tenant had events, 3,000 old settled events, the planner's join shortcuts off.
#[tokio::test]
async fn an_event_retention_batch_costs_in_proportion_to_its_rows_whatever_the_statistics() {
    const ROWS: usize = 3_000;
    let app = TestApp::spawn().await;
    let tenant = tenant_id(&app).await;
    crate::support::analyze_as_owner(&app.db_url, "event_outbox, event_deliveries").await;
    let mut conn = db::checkout(&app.pool, db::Scope::All).await.unwrap();
    let inserted = diesel::sql_query(
        "INSERT INTO event_outbox (tenant_id, subject_id, kind, payload, created_at) \
         SELECT $1, gen_random_uuid(), 'member.updated', '{}'::jsonb, now() - interval '100 days' \
         FROM generate_series(1, $2)",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .bind::<diesel::sql_types::Integer, _>(ROWS as i32)
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(inserted, ROWS);
    let cutoff = Utc::now() - Duration::days(90);
    let accesses = crate::support::retention_accesses(
        &mut conn,
        db::events::DELETE_SETTLED_BEFORE,
        tenant,
        cutoff,
        5_000,
    )
    .await;
    assert!(accesses < 20 * ROWS as u64, "{accesses} buffer accesses to delete {ROWS} events");
    assert_eq!(db::events::delete_settled_before(&mut conn, tenant, cutoff, 5_000).await.unwrap(), ROWS);
}
