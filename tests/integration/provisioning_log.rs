//! The provisioning log: one row per authenticated SCIM request, with the outcome and the rules
//! that fired, redacted, scoped to its tenant, pruned by retention, shown by `roster log`.

use std::process::Command;

use chrono::{Duration, Utc};
use reqwest::Method;
use roster::db::provisioning_log::{self as store, Entry, LogQuery, Outcome};
use roster::provisioning::{retention, view};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::requests::{send, Reply};
use crate::support::{Credentials, TestApp, TEST_SECRET};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const PASSWORD: &str = "Tr0ub4dor&3-never-logged";

async fn tenant_id(app: &TestApp, slug: &str) -> Uuid {
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    roster::directory::tenants::tenant(&mut conn, slug).await.unwrap().id
}

/// The tenant's entries, newest first, after every answered request has been written.
async fn entries(app: &TestApp, slug: &str, query: LogQuery) -> Vec<Entry> {
    app.flush_log().await;
    let tenant = tenant_id(app, slug).await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    store::list(&mut conn, tenant, &LogQuery { limit: 100, ..query }).await.unwrap()
}

async fn all_rows(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::provisioning_log;
    app.flush_log().await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    provisioning_log::table.count().get_result(&mut conn).await.unwrap()
}

async fn patch(app: &TestApp, creds: &Credentials, path: &str, ops: Value) -> Reply {
    let body = json!({"schemas": [PATCH_OP], "Operations": ops});
    send(
        app.req_as(creds, Method::PATCH, path)
            .header("content-type", "application/scim+json")
            .body(body.to_string()),
    )
    .await
}

fn user(user_name: &str) -> Value {
    json!({"schemas": [USER], "userName": user_name, "password": PASSWORD, "name": {"givenName": "Zygmunt"}})
}

#[tokio::test]
async fn every_authenticated_request_is_recorded_with_its_outcome() {
    let app = TestApp::spawn().await;
    let created = app.post("/Users", &user("ada@example.com")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let duplicate = app.post("/Users", &user("ADA@example.com")).await;
    let duplicate_detail = duplicate.assert_error(409, Some("uniqueness"));
    let entra = patch(
        &app,
        &app.creds,
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;
    assert_eq!(entra.status, 200, "{}", entra.body);
    let bad_filter = app.get("/Users?filter=userName%20zz%20%22x%22").await;
    let filter_detail = bad_filter.assert_error(400, Some("invalidFilter"));
    let mut put_body = user("ada@example.com");
    put_body["active"] = json!(true);
    assert_eq!(app.put(&format!("/Users/{id}"), &put_body).await.status, 200);
    assert_eq!(app.get("/ServiceProviderConfig").await.status, 200);

    let rows = entries(&app, "acme", LogQuery::default()).await;
    assert_eq!(rows.len(), 6, "{rows:#?}");
    let [discovery, put, filter, entra_row, dup, create] = <[Entry; 6]>::try_from(rows.clone()).unwrap();
    for row in &rows {
        assert_eq!(row.connection_id, Some(app.creds.connection));
        assert!(row.latency_ms >= 0.0);
    }

    assert_eq!((create.method.as_str(), create.status, create.operation.as_str()), ("POST", 201, "create"));
    assert_eq!(create.resource_type.as_deref(), Some("User"));
    assert_eq!(create.resource_id, Some(id.parse().unwrap()));
    assert_eq!(create.request_id, created.header("x-request-id"));
    assert_eq!((create.scim_type.as_deref(), create.detail.as_deref()), (None, None));

    assert_eq!(dup.status, 409);
    assert_eq!(dup.scim_type.as_deref(), Some("uniqueness"));
    assert_eq!(dup.detail.as_deref(), Some(duplicate_detail.as_str()));
    assert_eq!(dup.resource_id, None);
    assert_eq!(dup.request_id, duplicate.header("x-request-id"));

    assert_eq!((entra_row.method.as_str(), entra_row.status), ("PATCH", 200));
    assert_eq!(entra_row.resource_id, Some(id.parse().unwrap()));
    assert!(entra_row.rules.contains(&"case_insensitive_op".to_string()), "{:?}", entra_row.rules);
    assert!(entra_row.rules.contains(&"string_boolean".to_string()), "{:?}", entra_row.rules);
    assert_eq!(entra_row.operation, "patch: replace active=false; member suspended");

    assert_eq!((filter.status, filter.scim_type.as_deref()), (400, Some("invalidFilter")));
    assert_eq!(filter.detail.as_deref(), Some(filter_detail.as_str()));
    assert_eq!(filter.operation, "list filter=userName zz \"x\"");
    assert_eq!(filter.resource_type.as_deref(), Some("User"));

    assert_eq!(put.operation, "replace active=true; member reactivated");
    assert_eq!(discovery.operation, "GET /ServiceProviderConfig");
    assert_eq!(discovery.resource_type, None);

    // Redaction: no token, no password, no body (the userName only ever travelled in bodies).
    // (Probes are chosen so that they cannot occur in hex ids: "ada" can.)
    let text = Value::Array(rows.iter().map(view::json).collect()).to_string();
    for secret in [app.creds.token.as_str(), PASSWORD, "ada@example.com", "Zygmunt", USER] {
        assert!(!text.to_lowercase().contains(&secret.to_lowercase()), "{secret:?} leaked into {text}");
    }
}

#[tokio::test]
async fn deactivations_are_visible_in_every_form() {
    let app = TestApp::spawn().await;
    let okta = app.create_user("okta@example.com").await;
    let r = patch(
        &app,
        &app.creds,
        &format!("/Users/{okta}"),
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let put = app.create_user("put@example.com").await;
    let body = json!({"schemas": [USER], "userName": "put@example.com", "active": false});
    assert_eq!(app.put(&format!("/Users/{put}"), &body).await.status, 200);
    // Already suspended: the request still shows active=false, without a state change.
    assert_eq!(app.put(&format!("/Users/{put}"), &body).await.status, 200);

    let okta_rows =
        entries(&app, "acme", LogQuery { resource_id: Some(okta.parse().unwrap()), ..LogQuery::default() })
            .await;
    assert_eq!(okta_rows[0].operation, "patch: replace {active=false}; member suspended");
    assert!(okta_rows[0].rules.contains(&"pathless_active_replace".to_string()), "{:?}", okta_rows[0].rules);
    let put_rows =
        entries(&app, "acme", LogQuery { resource_id: Some(put.parse().unwrap()), ..LogQuery::default() })
            .await;
    let ops: Vec<&str> = put_rows.iter().map(|e| e.operation.as_str()).collect();
    assert_eq!(ops, ["replace active=false", "replace active=false; member suspended", "create"]);
}

#[tokio::test]
async fn requests_with_a_bad_token_are_not_recorded() {
    let app = TestApp::spawn().await;
    let other = app.new_tenant("globex").await;
    let garbage = send(app.client.get(format!("{}/Users", app.creds.base)).bearer_auth("not-a-token")).await;
    garbage.assert_error(401, None);
    let missing = send(app.client.get(format!("{}/Users", app.creds.base))).await;
    missing.assert_error(401, None);
    // A valid token of another tenant's connection, on this connection's URL.
    let crossed = send(app.client.get(format!("{}/Users", app.creds.base)).bearer_auth(&other.token)).await;
    crossed.assert_error(401, None);
    let unknown_route = send(app.client.get(format!("{}/Nope", app.creds.base)).bearer_auth("x")).await;
    assert_eq!(unknown_route.status, 404);
    assert_eq!(all_rows(&app).await, 0);
}

#[tokio::test]
async fn a_tenant_never_sees_another_tenants_entries() {
    let app = TestApp::spawn().await;
    let b = app.new_tenant("globex").await;
    let a_user = app.create_user("a@example.com").await;
    let created = send(
        app.req_as(&b, Method::POST, "/Users")
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": [USER], "userName": "b@example.com"}).to_string()),
    )
    .await;
    assert_eq!(created.status, 201);
    let b_user: Uuid = created.body["id"].as_str().unwrap().parse().unwrap();
    send(app.req_as(&b, Method::GET, "/Users?filter=bogus")).await.assert_error(400, Some("invalidFilter"));

    let b_rows = entries(&app, "globex", LogQuery::default()).await;
    assert_eq!(b_rows.len(), 2);
    assert!(b_rows
        .iter()
        .all(|e| e.connection_id == Some(b.connection) && e.resource_id != Some(a_user.parse().unwrap())));
    let a_rows = entries(&app, "acme", LogQuery::default()).await;
    assert_eq!(a_rows.len(), 1);
    assert_eq!(a_rows[0].connection_id, Some(app.creds.connection));
    // Naming the other tenant's connection or resource yields nothing, not its rows.
    assert!(entries(&app, "acme", LogQuery { connection: Some(b.connection), ..LogQuery::default() })
        .await
        .is_empty());
    assert!(entries(&app, "acme", LogQuery { resource_id: Some(b_user), ..LogQuery::default() })
        .await
        .is_empty());
    // Outcome filter and keyset paging within a tenant.
    let failures =
        entries(&app, "globex", LogQuery { outcome: Some(Outcome::Failure), ..LogQuery::default() }).await;
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].status, 400);
    let successes =
        entries(&app, "globex", LogQuery { outcome: Some(Outcome::Success), ..LogQuery::default() }).await;
    assert_eq!(successes.iter().map(|e| e.status).collect::<Vec<_>>(), [201]);
    let tenant = tenant_id(&app, "globex").await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let first = store::list(&mut conn, tenant, &LogQuery { limit: 1, ..LogQuery::default() }).await.unwrap();
    let after = Some(first[0].position());
    let second =
        store::list(&mut conn, tenant, &LogQuery { limit: 1, after, ..LogQuery::default() }).await.unwrap();
    assert_eq!([first[0].id, second[0].id], [b_rows[0].id, b_rows[1].id]);
}

fn old_entry(tenant_id: Uuid, connection_id: Uuid, days_ago: i64) -> Entry {
    get_entry(tenant_id, connection_id, format!("r-{days_ago}"), Utc::now() - Duration::days(days_ago))
}

/// A successful `GET` of the tenant's connection, as the recorder receives it.
fn get_entry(tenant_id: Uuid, connection_id: Uuid, request_id: String, at: chrono::DateTime<Utc>) -> Entry {
    Entry {
        tenant_id,
        id: Uuid::now_v7(),
        at,
        connection_id: Some(connection_id),
        source: "scim".into(),
        request_id,
        method: "GET".into(),
        resource_type: None,
        resource_id: None,
        operation: "get".into(),
        status: 200,
        scim_type: None,
        detail: None,
        latency_ms: 1.0,
        rules: Vec::new(),
    }
}

#[tokio::test]
async fn a_batch_is_stored_column_for_column() {
    // The batch writer hands its rows over one array per column (migration 000038): every
    // column of every row must land where it belongs, NULLs and empty rules included.
    let app = TestApp::spawn().await;
    let tenant = tenant_id(&app, "acme").await;
    let at = Utc::now() - Duration::minutes(5);
    let plain = get_entry(tenant, app.creds.connection, "plain".into(), at);
    let full = Entry {
        id: Uuid::now_v7(),
        at: at + Duration::milliseconds(1),
        connection_id: None,
        source: "import".into(),
        request_id: "full".into(),
        method: "PATCH".into(),
        resource_type: Some("Group".into()),
        resource_id: Some(Uuid::now_v7()),
        operation: "patch Group (2 ops)".into(),
        status: 409,
        scim_type: Some("uniqueness".into()),
        detail: Some("displayName \"Sales\" is taken".into()),
        latency_ms: 12.5,
        rules: vec!["case_insensitive_op".into(), "a, \"quoted\" {rule}".into(), "x\u{0}y".into()],
        ..plain.clone()
    };
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    assert_eq!(store::insert_many(&mut conn, &[plain.clone(), full.clone()]).await.unwrap(), 2);
    let mut stored =
        store::list(&mut conn, tenant, &LogQuery { limit: 10, ..LogQuery::default() }).await.unwrap();
    stored.retain(|e| e.request_id == "plain" || e.request_id == "full");
    // Newest first; timestamps as PostgreSQL keeps them (microseconds).
    let micros = |e: &Entry| Entry {
        at: chrono::DateTime::from_timestamp_micros(e.at.timestamp_micros()).unwrap(),
        ..e.storable()
    };
    assert_eq!(stored, [micros(&full), micros(&plain)]);
    assert_eq!(stored[0].rules[2], "x\\u{0000}y", "stored as storable() makes it");
}

#[tokio::test]
async fn retention_deletes_old_entries_only_in_bounded_batches() {
    let app = TestApp::spawn().await;
    let b = app.new_tenant("globex").await;
    let (ta, tb) = (tenant_id(&app, "acme").await, tenant_id(&app, "globex").await);
    let mut rows = Vec::new();
    for days in [200, 120, 91] {
        rows.push(old_entry(ta, app.creds.connection, days));
    }
    rows.push(old_entry(ta, app.creds.connection, 89));
    rows.push(old_entry(ta, app.creds.connection, 0));
    rows.push(old_entry(tb, b.connection, 100));
    rows.push(old_entry(tb, b.connection, 1));
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    assert_eq!(store::insert_many(&mut conn, &rows).await.unwrap(), 7);
    let cutoff = Utc::now() - Duration::days(90);

    // The budget bounds one run: one batch of two rows.
    assert_eq!(retention::purge(&mut conn, cutoff, 2, 1).await.unwrap(), 2);
    assert_eq!(retention::purge(&mut conn, cutoff, 2, 100).await.unwrap(), 2);
    assert_eq!(retention::purge(&mut conn, cutoff, 2, 100).await.unwrap(), 0);

    drop(conn);
    let left = |rows: Vec<Entry>| rows.into_iter().map(|e| e.request_id).collect::<Vec<_>>();
    assert_eq!(left(entries(&app, "acme", LogQuery::default()).await), ["r-0", "r-89"]);
    assert_eq!(left(entries(&app, "globex", LogQuery::default()).await), ["r-1"]);
}

/// A retention batch costs in proportion to the rows it deletes, whatever the statistics say. The
/// statistics here are taken while the tenant has no rows, as when a tenant starts sending after
/// the last ANALYZE: the planner then believes the tenant has one row. Measured in buffer
/// accesses (EXPLAIN's counts), not time: the `id IN (SELECT … LIMIT)` form re-ran its sub-select
/// for every row of the tenant, 155,517 accesses for the 3,000 rows here.
#[tokio::test]
async fn a_retention_batch_costs_in_proportion_to_its_rows_whatever_the_statistics() {
    const ROWS: usize = 3_000;
    let app = TestApp::spawn().await;
    let b = app.new_tenant("globex").await;
    let tb = tenant_id(&app, "globex").await;
    app.create_user("stats@example.com").await;
    app.flush_log().await;
    crate::support::analyze_as_owner(&app.db_url, "provisioning_log").await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let rows: Vec<Entry> = (0..ROWS).map(|_| old_entry(tb, b.connection, 100)).collect();
    assert_eq!(store::insert_many(&mut conn, &rows).await.unwrap(), ROWS);
    let cutoff = Utc::now() - Duration::days(90);
    let accesses =
        crate::support::retention_accesses(&mut conn, store::DELETE_BATCH_BEFORE, tb, cutoff, 5_000).await;
    assert!(accesses < 20 * ROWS as u64, "{accesses} buffer accesses to delete {ROWS} rows");
    assert_eq!(retention::purge(&mut conn, cutoff, 5_000, 10).await.unwrap(), ROWS as u64);
}

#[tokio::test]
async fn the_cli_prints_the_log() {
    let app = TestApp::spawn().await;
    let id = app.create_user("cli@example.com").await;
    app.get("/Users?filter=nonsense%20eq").await.assert_error(400, Some("invalidFilter"));
    app.flush_log().await;
    let roster = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_roster"))
            .env("DATABASE_URL", &app.db_url)
            .env("ROSTER_SIGNING_KEY", std::str::from_utf8(TEST_SECRET).unwrap())
            .env("ROSTER_LOG", "warn")
            .args(args)
            .output()
            .expect("roster runs");
        assert!(out.status.success(), "roster failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let all: Value = serde_json::from_str(&roster(&["log", "--tenant", "acme", "--json"])).unwrap();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0]["status"], 400);
    assert_eq!(all[0]["outcome"], "failure");
    assert_eq!(all[0]["scim_type"], "invalidFilter");
    assert_eq!(all[1]["operation"], "create");
    assert_eq!(all[1]["resource_id"], id.as_str());
    assert_eq!(all[1]["connection"], app.creds.connection.to_string());
    let failures: Value =
        serde_json::from_str(&roster(&["log", "--tenant", "acme", "--failures", "--json"])).unwrap();
    assert_eq!(failures.as_array().unwrap().len(), 1);
    let by_resource: Value =
        serde_json::from_str(&roster(&["log", "--tenant", "acme", "--resource", &id, "--json"])).unwrap();
    assert_eq!(by_resource.as_array().unwrap().len(), 1);
    let future = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let none: Value =
        serde_json::from_str(&roster(&["log", "--tenant", "acme", "--since", &future, "--json"])).unwrap();
    assert!(none.as_array().unwrap().is_empty());
    let text = roster(&["log", "--tenant", "acme", "--limit", "1"]);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(" 400 ") && text.contains("invalidFilter"), "{text}");
}

#[tokio::test]
async fn hostile_requests_never_cost_another_request_its_row() {
    let app = TestApp::spawn().await;
    let id = app.create_user("target@example.com").await;
    app.flush_log().await;
    let before = all_rows(&app).await;
    let with_id = |rb: reqwest::RequestBuilder, n: usize| rb.header("x-request-id", format!("hostile-{n}"));
    let json_req = |method: Method, path: &str, body: Value| {
        app.req(method, path).header("content-type", "application/scim+json").body(body.to_string())
    };
    let requests = vec![
        app.req(Method::GET, "/Users/%00"),
        json_req(
            Method::PATCH,
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "add", "value": {"x\u{0}": "y"}}]}),
        ),
        json_req(
            Method::POST,
            "/Users",
            json!({"schemas": [USER], "userName": "k@example.com", "bad\u{0}key": 1}),
        ),
        json_req(
            Method::PATCH,
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "path": "nickName\u{0}", "value": "y"}]}),
        ),
        app.req(Method::GET, "/Users").query(&[("filter", "userName eq \"\u{0}\"")]),
        app.req(Method::GET, &format!("/Users/{}", "%00".repeat(2000))),
        app.req(Method::GET, &format!("/Users/{id}")),
        json_req(Method::POST, "/Users", json!({"schemas": [USER], "userName": "fine@example.com"})),
        app.req(Method::GET, "/Groups"),
    ];
    let n = requests.len();
    let replies =
        futures_util::future::join_all(requests.into_iter().enumerate().map(|(i, rb)| send(with_id(rb, i))))
            .await;
    for r in &replies {
        assert!(r.status.as_u16() < 500, "{}: {}", r.status, r.body);
    }
    assert_eq!(all_rows(&app).await, before + n as i64, "every request has its row");
    let rows = entries(&app, &app.creds.tenant, LogQuery::default()).await;
    for i in 0..n {
        let row = rows
            .iter()
            .find(|e| e.request_id == format!("hostile-{i}"))
            .unwrap_or_else(|| panic!("no row {i}"));
        let texts = [Some(row.operation.as_str()), row.detail.as_deref()];
        for text in texts.into_iter().flatten().chain(row.rules.iter().map(String::as_str)) {
            assert!(!text.contains('\0'), "{text:?}");
        }
    }
    let patched = rows.iter().find(|e| e.request_id == "hostile-1").unwrap();
    assert!(patched.operation.contains("x\\u{0000}"), "{}", patched.operation);
    let posted = rows.iter().find(|e| e.request_id == "hostile-2").unwrap();
    assert!(posted.rules.iter().any(|r| r == "unknown_attribute: bad\\u{0000}key"), "{:?}", posted.rules);
}

#[tokio::test]
async fn an_entry_the_database_refuses_does_not_drop_its_batch() {
    let app = TestApp::spawn().await;
    let tenant = tenant_id(&app, &app.creds.tenant).await;
    let entry = |n: usize| get_entry(tenant, app.creds.connection, format!("batch-{n}"), Utc::now());
    // The writer takes whatever is queued as one batch; the second entry has the first one's id
    // (a unique violation), so the batch's INSERT fails and each entry is tried alone.
    app.flush_log().await;
    let (before, dropped) = (all_rows(&app).await, app.recorder.dropped());
    let first = entry(0);
    let twin = Entry { id: first.id, ..entry(1) };
    app.recorder.record(first).await;
    app.recorder.record(twin).await;
    for n in 2..5 {
        app.recorder.record(entry(n)).await;
    }
    assert_eq!(all_rows(&app).await, before + 4);
    assert_eq!(app.recorder.dropped(), dropped + 1);
    assert!(rows_of(&app, "batch-0").await.len() == 1 && rows_of(&app, "batch-1").await.is_empty());
}

#[tokio::test]
async fn an_entry_of_a_tenant_that_does_not_exist_is_dropped_and_counted_alone() {
    let app = TestApp::spawn().await;
    let tenant = tenant_id(&app, &app.creds.tenant).await;
    let entry = |tenant_id: Uuid, n: usize| {
        get_entry(tenant_id, app.creds.connection, format!("nowhere-{n}"), Utc::now())
    };
    app.flush_log().await;
    let (before, dropped) = (all_rows(&app).await, app.recorder.dropped());
    let nowhere = Uuid::now_v7();
    for n in 0..5 {
        app.recorder.record(entry(if n == 1 { nowhere } else { tenant }, n)).await;
    }
    assert_eq!(all_rows(&app).await, before + 4);
    assert_eq!(app.recorder.dropped(), dropped + 1);
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    assert_eq!(log_rows_of_tenant(&mut conn, nowhere).await, 0);
}

async fn log_rows_of_tenant(conn: &mut roster::db::Conn, tenant: Uuid) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::provisioning_log;
    provisioning_log::table
        .filter(provisioning_log::tenant_id.eq(tenant))
        .count()
        .get_result(conn)
        .await
        .unwrap()
}

/// Deleting a tenant deletes its log rows (what the foreign key's ON DELETE CASCADE did), also
/// the rows of a batch written while the deletion is under way: the batch waits for the
/// deletion on its tenant's lock, then finds no tenant and drops its rows.
#[tokio::test]
async fn deleting_a_tenant_deletes_its_log_rows_and_a_batch_written_meanwhile_is_dropped() {
    use diesel_async::SimpleAsyncConnection;
    let app = TestApp::spawn().await;
    let tenant = tenant_id(&app, &app.creds.tenant).await;
    let entry = |n: usize| get_entry(tenant, app.creds.connection, format!("gone-{n}"), Utc::now());
    app.recorder.record(entry(0)).await;
    app.flush_log().await;
    let mut deleting = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    assert!(log_rows_of_tenant(&mut deleting, tenant).await > 0);
    let dropped = app.recorder.dropped();
    deleting.batch_execute(&format!("BEGIN; DELETE FROM tenants WHERE id = '{tenant}'")).await.unwrap();
    app.recorder.record(entry(1)).await;
    let recorder = app.recorder.clone();
    let flushed = tokio::spawn(async move { recorder.flush().await });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!flushed.is_finished(), "the batch must wait for the tenant's deletion");
    deleting.batch_execute("COMMIT").await.unwrap();
    flushed.await.unwrap();
    assert_eq!(app.recorder.dropped(), dropped + 1);
    assert_eq!(log_rows_of_tenant(&mut deleting, tenant).await, 0);
}

/// The transaction id that wrote the current version of a row: `xmin`.
async fn xmin(app: &TestApp, sql: &str, bind: &str) -> Option<String> {
    #[derive(diesel::QueryableByName)]
    struct Xid {
        #[diesel(sql_type = diesel::sql_types::Text)]
        xid: String,
    }
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    diesel::sql_query(sql).bind::<Text, _>(bind).get_result::<Xid>(&mut conn).await.ok().map(|x| x.xid)
}

async fn log_xmin(app: &TestApp, request_id: &str) -> Option<String> {
    xmin(app, "SELECT xmin::text AS xid FROM provisioning_log WHERE request_id = $1", request_id).await
}

async fn user_xmin(app: &TestApp, id: &str) -> Option<String> {
    xmin(app, "SELECT xmin::text AS xid FROM users WHERE id = $1::uuid", id).await
}

async fn group_xmin(app: &TestApp, id: &str) -> Option<String> {
    xmin(app, "SELECT xmin::text AS xid FROM groups WHERE id = $1::uuid", id).await
}

async fn rows_of(app: &TestApp, request_id: &str) -> Vec<Entry> {
    entries(app, &app.creds.tenant, LogQuery::default())
        .await
        .into_iter()
        .filter(|e| e.request_id == request_id)
        .collect()
}

#[tokio::test]
async fn a_successful_write_commits_its_row_in_its_own_transaction() {
    let app = TestApp::spawn().await;
    let json_req = |method: Method, path: &str, body: Value, rid: &str| {
        app.req(method, path)
            .header("content-type", "application/scim+json")
            .header("x-request-id", rid)
            .body(body.to_string())
    };
    let created = send(json_req(Method::POST, "/Users", user("ada@example.com"), "w-post")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    // Same transaction: the row and the member's version carry the same xmin, whatever the
    // recorder does (it is not flushed before this check).
    assert_eq!(log_xmin(&app, "w-post").await, user_xmin(&app, &id).await, "POST");

    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]});
    let r = send(json_req(Method::PATCH, &format!("/Users/{id}"), body, "w-patch")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(log_xmin(&app, "w-patch").await, user_xmin(&app, &id).await, "PATCH");

    let r = send(json_req(Method::PUT, &format!("/Users/{id}"), user("ada@example.com"), "w-put")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(log_xmin(&app, "w-put").await, user_xmin(&app, &id).await, "PUT");

    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops"});
    let g = send(json_req(Method::POST, "/Groups", group, "w-group")).await;
    assert_eq!(g.status, 201, "{}", g.body);
    let gid = g.body["id"].as_str().unwrap().to_string();
    assert_eq!(log_xmin(&app, "w-group").await, group_xmin(&app, &gid).await, "POST /Groups");
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]});
    let r = send(json_req(Method::PATCH, &format!("/Groups/{gid}"), add, "w-members")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(log_xmin(&app, "w-members").await, group_xmin(&app, &gid).await, "PATCH /Groups");

    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "b1", "data": user("bulk@example.com")},
        {"method": "POST", "path": "/Users", "bulkId": "b2", "data": user("ada@example.com")}
    ]});
    let r = send(json_req(Method::POST, "/Bulk", bulk, "w-bulk")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bulk_id =
        r.body["Operations"][0]["location"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    assert_eq!(r.body["Operations"][1]["status"], "409", "{}", r.body);

    let r = send(app.req(Method::DELETE, &format!("/Users/{id}")).header("x-request-id", "w-delete")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(log_xmin(&app, "w-delete").await, user_xmin(&app, &id).await, "DELETE");

    // Each request has exactly one row (the middleware did not record the committed ones
    // again); the bulk request has its own row plus one per operation, the failed one too.
    for rid in ["w-post", "w-patch", "w-put", "w-group", "w-members", "w-delete"] {
        let rows = rows_of(&app, rid).await;
        assert_eq!(rows.len(), 1, "{rid}: {rows:?}");
    }
    let rows = rows_of(&app, "w-bulk").await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    let done = rows.iter().find(|e| e.operation.starts_with("bulk[0]")).expect("bulk[0] row");
    assert_eq!((done.status, done.resource_id.map(|u| u.to_string())), (201, Some(bulk_id.clone())));
    let tx = {
        let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
        #[derive(diesel::QueryableByName)]
        struct Same {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            same: bool,
        }
        use diesel_async::RunQueryDsl;
        diesel::sql_query(
            "SELECT l.xmin = u.xmin AS same FROM provisioning_log l JOIN users u ON u.id = l.resource_id \
             WHERE l.request_id = 'w-bulk' AND l.operation LIKE 'bulk[0]%'",
        )
        .get_result::<Same>(&mut conn)
        .await
        .unwrap()
        .same
    };
    assert!(tx, "a bulk operation's row is committed with the operation");
    let failed = rows.iter().find(|e| e.operation.starts_with("bulk[1]")).expect("bulk[1] row");
    assert_eq!((failed.status, failed.scim_type.as_deref()), (409, Some("uniqueness")));
    let deactivation = rows_of(&app, "w-patch").await.remove(0);
    assert!(deactivation.operation.ends_with("; member suspended"), "{}", deactivation.operation);
}

#[tokio::test]
async fn a_failed_write_is_recorded_once_with_its_error() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com").await;
    let r = send(
        app.req(Method::POST, "/Users")
            .header("content-type", "application/scim+json")
            .header("x-request-id", "dup")
            .body(user("ada@example.com").to_string()),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let rows = rows_of(&app, "dup").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].status, rows[0].scim_type.as_deref()), (409, Some("uniqueness")));
}

#[tokio::test]
async fn entries_queued_during_a_database_outage_are_written_when_it_ends() {
    let (app, proxy) = crate::support::TestApp::spawn_with_proxy(|_| {}).await;
    let tenant = tenant_id(&app, &app.creds.tenant).await;
    let before = all_rows(&app).await;
    proxy.refuse();
    for n in 0..3 {
        app.recorder.record(get_entry(tenant, app.creds.connection, format!("outage-{n}"), Utc::now())).await;
    }
    // The writer meets the outage (flush returns after each failed attempt) ...
    app.flush_log().await;
    proxy.admit();
    // ... keeps the entries, and writes them once the database answers again.
    assert_eq!(all_rows(&app).await, before + 3);
}
