//! Outages: an unreachable, frozen or slow database answers 503 with `Retry-After` (never 500),
//! `/readyz` answers within a second, a lost connection is replaced, slow clients get 408.

use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::requests::send;
use crate::support::TestApp;

/// `/readyz`: status, `Retry-After`, body and how long it took.
async fn readyz(app: &TestApp) -> (u16, Option<String>, Value, Duration) {
    let started = Instant::now();
    let res = app.client.get(format!("{}/readyz", app.root)).send().await.unwrap();
    let status = res.status().as_u16();
    let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let body = res.json().await.unwrap();
    (status, retry, body, started.elapsed())
}

/// Pool timeouts far longer than the readiness check, so a quick 503 proves the check has its own bound.
fn patient_pool(s: &mut roster::config::Settings) {
    s.db_acquire_timeout_ms = 60_000;
    s.db_connect_timeout_ms = 60_000;
}

#[tokio::test]
async fn readyz_is_ready_with_its_checks_when_the_database_answers() {
    let app = TestApp::spawn().await;
    let (status, retry, body, _) = readyz(&app).await;
    assert_eq!((status, retry), (200, None));
    assert_eq!(
        body,
        json!({"status": "ready", "checks": {"database": "ok", "migrations": "ok", "dispatcher": "not_running"}})
    );
}

#[tokio::test]
async fn readyz_answers_503_with_retry_after_when_the_database_is_unreachable() {
    let (app, mut proxy) = TestApp::spawn_with_proxy(patient_pool).await;
    proxy.close().await;
    let (status, retry, body, took) = readyz(&app).await;
    assert_eq!((status, retry.as_deref()), (503, Some("5")), "{body}");
    assert_eq!(body["status"], "unavailable");
    assert!(body["checks"]["database"].is_string(), "{body}");
    // The check is bounded below a second; the margin absorbs a loaded machine.
    assert!(took < Duration::from_secs(3), "readyz took {took:?}");
}

#[tokio::test]
async fn readyz_answers_503_within_a_second_when_the_database_is_frozen() {
    let (app, proxy) = TestApp::spawn_with_proxy(patient_pool).await;
    assert_eq!(readyz(&app).await.0, 200);
    proxy.freeze();
    let (status, retry, body, took) = readyz(&app).await;
    assert_eq!((status, retry.as_deref()), (503, Some("5")), "{body}");
    assert_eq!(
        body,
        json!({"status": "unavailable", "checks": {"database": "timeout", "migrations": "unknown", "dispatcher": "not_running"}})
    );
    assert!(took < Duration::from_secs(3), "readyz took {took:?}");
}

#[tokio::test]
async fn a_statement_past_the_statement_timeout_answers_503_with_retry_after() {
    let app = TestApp::spawn_with(|s| s.db_statement_timeout_ms = 500).await;
    let id = app.create_user("blocked@example.com").await;
    // Another session holds the users table: the read waits on the lock until
    // statement_timeout cancels it.
    let mut holder = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    holder.batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let reply = app.get(&format!("/Users/{id}")).await;
    reply.assert_error(503, None);
    assert_eq!(reply.header("retry-after"), "5");
    holder.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);
}

#[tokio::test]
async fn a_lost_database_connection_answers_503_and_is_replaced() {
    let (app, proxy) = TestApp::spawn_with_proxy(|_| {}).await;
    let id = app.create_user("lost@example.com").await;
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);
    proxy.sever();
    // Each pooled connection that broke may fail the one request that meets it (503, never
    // 500); it is dropped rather than returned, so within the pool's size the service heals.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let reply = app.get(&format!("/Users/{id}")).await;
        if reply.status == 503 {
            reply.assert_error(503, None);
            assert_eq!(reply.header("retry-after"), "5");
        }
        statuses.push(reply.status.as_u16());
        if reply.status == 200 {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    assert!(statuses.iter().all(|s| [200, 503].contains(s)), "{statuses:?}");
    assert!(statuses.len() <= 5, "the pool (size 4) healed: {statuses:?}");
}

/// Send `head` on a raw connection, then stall; return what the server answers.
async fn stall_after(app: &TestApp, head: &str) -> String {
    let addr = app.root.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // The server answers and closes; the test's own bound only keeps a regression from hanging.
    let _ = tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_with_a_scim_error() {
    let app = TestApp::spawn_with(|s| s.http_body_timeout_ms = 300).await;
    let path = app.creds.base.trim_start_matches(&app.root).to_string();
    let head = format!(
        "POST {path}/Users HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 200\r\n\r\n{{\"userName\": ",
        app.creds.token
    );
    let answer = stall_after(&app, &head).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("content-type: application/scim+json"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("SCIM body: {answer}"));
    assert_eq!(body["status"], "408");
    assert!(body["detail"].as_str().unwrap().contains("ROSTER_HTTP_BODY_TIMEOUT_MS"), "{body}");
    // Nothing was written.
    let list = send(app.req(Method::GET, "/Users")).await;
    assert_eq!(list.body["totalResults"], 0, "{}", list.body);
}

#[tokio::test]
async fn headers_that_stall_get_408() {
    let app = TestApp::spawn_with(|s| s.http_header_timeout_ms = 300).await;
    let answer = stall_after(&app, "GET /healthz HTTP/1.1\r\nHost: te").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_body_sent_in_time_is_not_cut() {
    let app = TestApp::spawn_with(|s| s.http_body_timeout_ms = 10_000).await;
    let reply = app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ok@example.com"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn the_admin_api_answers_an_outage_503_too() {
    let app = TestApp::spawn_with(|s| s.db_statement_timeout_ms = 500).await;
    let mut holder = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    holder.batch_execute("BEGIN; LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let url = format!("{}/admin/v1/tenants/{}", app.root, app.creds.tenant);
    let reply = send(app.client.get(url.clone()).bearer_auth(crate::support::TEST_ADMIN_TOKEN)).await;
    reply.assert_error(503, None);
    assert_eq!(reply.header("retry-after"), "5");
    holder.batch_execute("ROLLBACK").await.unwrap();
    let reply = send(app.client.get(url).bearer_auth(crate::support::TEST_ADMIN_TOKEN)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_request_that_meets_a_frozen_database_answers_503_at_its_deadline() {
    let (app, proxy) = TestApp::spawn_with_proxy(|s| {
        patient_pool(s);
        s.http_request_timeout_ms = 1_500;
    })
    .await;
    let id = app.create_user("frozen@example.com").await;
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);
    // The pool holds a connection that works; the database behind it now stops answering.
    proxy.freeze();
    let started = std::time::Instant::now();
    let reply = app.get(&format!("/Users/{id}")).await;
    let took = started.elapsed();
    reply.assert_error(503, None);
    assert_eq!(reply.header("retry-after"), "5");
    assert!(took < Duration::from_secs(10), "answered at the deadline, not at the thaw: {took:?}");
    // A write meets the same deadline and commits nothing once the database answers again.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "displayName", "value": "Thawed"}]});
    let write = send(
        app.req(reqwest::Method::PATCH, &format!("/Users/{id}"))
            .header("content-type", "application/scim+json")
            .body(patch.to_string()),
    )
    .await;
    write.assert_error(503, None);
    proxy.thaw();
    let mut after = app.get(&format!("/Users/{id}")).await;
    for _ in 0..10 {
        if after.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        after = app.get(&format!("/Users/{id}")).await;
    }
    assert_eq!(after.status, 200, "the service heals after the thaw: {}", after.body);
    assert!(after.body["displayName"].is_null(), "the timed-out write was not committed: {}", after.body);
}
