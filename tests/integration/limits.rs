//! Issue #14: rate limits per connection token and per client IP (429 + `Retry-After` + SCIM
//! body), back-off after failed credentials, `iat` in the future refused, default token expiry.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;

use crate::support::requests::{send, Reply};
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

/// A 429 with a SCIM body and a `Retry-After` of whole seconds within `1..=max`.
fn assert_too_many(reply: &Reply, max: u64) {
    reply.assert_error(429, None);
    let secs: u64 = reply.header("retry-after").parse().expect("Retry-After is whole seconds");
    assert!((1..=max).contains(&secs), "Retry-After {secs}");
}

/// Send `request` until it is refused (at most `tries` times); the refusal, if any.
async fn until_refused(tries: usize, request: impl Fn() -> reqwest::RequestBuilder) -> Option<Reply> {
    for _ in 0..tries {
        let reply = send(request()).await;
        if reply.status == 429 {
            return Some(reply);
        }
        assert!(reply.status.is_success() || reply.status == 401, "{}: {}", reply.status, reply.body);
    }
    None
}

#[tokio::test]
async fn a_token_over_its_limit_gets_429_and_another_token_of_the_tenant_does_not() {
    let app = token_burst_of_3().await;
    let other = app.add_connection(&app.creds.tenant, "Okta").await;
    // The burst is admitted whole; past it one request a second is, so 20 quick requests are
    // refused at least once whatever the machine's speed (they would need 17 s otherwise).
    for _ in 0..3 {
        assert_eq!(app.get("/Users").await.status, 200);
    }
    let refused = until_refused(17, || app.req(Method::GET, "/Users")).await.expect("a 429");
    assert_too_many(&refused, 2);
    assert_eq!(send(app.req_as(&other, Method::GET, "/Users")).await.status, 200);

    // The refused request was authenticated: it is in the tenant's provisioning log.
    app.flush_log().await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    let query = roster::db::provisioning_log::LogQuery { limit: 100, ..Default::default() };
    let rows = roster::db::provisioning_log::list(&mut conn, tenant.id, &query).await.unwrap();
    assert!(rows.iter().any(|r| r.status == 429 && r.connection_id == Some(app.creds.connection)));
}

#[tokio::test]
async fn a_client_ip_over_its_limit_gets_429_on_any_route() {
    let app = TestApp::spawn_with(|s| s.rate_limit_ip_per_sec = 1).await;
    let healthz = format!("{}/healthz", app.root);
    let refused = until_refused(20, || app.client.get(&healthz)).await.expect("a 429");
    assert_too_many(&refused, 2);
    // The same address is refused on SCIM too, whatever its token.
    let refused = until_refused(20, || app.req(Method::GET, "/Users")).await.expect("a 429");
    assert_too_many(&refused, 2);
}

#[tokio::test]
async fn the_default_limits_do_not_throttle_a_busy_client() {
    let app = TestApp::spawn().await;
    for _ in 0..60 {
        assert_eq!(app.get("/Users").await.status, 200);
    }
}

#[tokio::test]
async fn failed_admin_credentials_back_off_even_the_right_one() {
    let app = TestApp::spawn().await;
    let tenants = format!("{}/admin/v1/tenants", app.root);
    for i in 0..10 {
        let wrong = format!("{TEST_ADMIN_TOKEN}-wrong-{i}");
        send(app.client.get(&tenants).bearer_auth(wrong)).await.assert_error(401, None);
    }
    assert_too_many(&send(app.client.get(&tenants).bearer_auth(TEST_ADMIN_TOKEN)).await, 60);
    // The back-off is per address, not per API: SCIM from it waits too.
    assert_too_many(&app.get("/Users").await, 60);
    // Unauthenticated routes are not part of it.
    assert_eq!(send(app.client.get(format!("{}/healthz", app.root))).await.status, 200);
}

#[tokio::test]
async fn failed_connection_tokens_back_off() {
    let app = TestApp::spawn_with(|s| s.auth_failures_per_min = 3).await;
    let users = format!("{}/Users", app.creds.base);
    for _ in 0..3 {
        send(app.client.get(&users).bearer_auth("not-a-token")).await.assert_error(401, None);
    }
    assert_too_many(&app.get("/Users").await, 60);
}

#[tokio::test]
async fn tokens_issued_in_the_future_are_refused() {
    let app = TestApp::spawn().await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    let later = Utc::now() + Duration::hours(1);
    // The token id is live in the database: only the claim is wrong.
    let token = app.key.issue(tenant.id, app.creds.connection, app.creds.token_id, later, None).unwrap();
    let reply = send(app.client.get(format!("{}/Users", app.creds.base)).bearer_auth(&token)).await;
    assert!(reply.assert_error(401, None).contains("not valid yet"));

    let admin = roster::directory::admin_tokens::issue(&mut conn, &app.key, &tenant, "", None, Utc::now())
        .await
        .unwrap();
    let future = app.key.issue_admin(tenant.id, admin.record.id, later, None).unwrap();
    let url = format!("{}/admin/v1/tenants/{}/connections", app.root, tenant.slug);
    assert_eq!(send(app.client.get(&url).bearer_auth(&admin.token)).await.status, 200);
    send(app.client.get(&url).bearer_auth(&future)).await.assert_error(401, None);
}

#[tokio::test]
async fn new_tokens_carry_the_default_expiry_unless_one_is_given() {
    let app = TestApp::spawn_with(|s| s.token_default_expiry_days = Some(30)).await;
    let admin = |method: Method, path: &str| {
        app.client
            .request(method, format!("{}/admin/v1/tenants/{}{path}", app.root, app.creds.tenant))
            .bearer_auth(TEST_ADMIN_TOKEN)
    };
    let exp_days = |token: &str| {
        let claims = app.key.verify(token, Utc::now()).unwrap();
        let exp = claims.exp.expect("an expiry");
        (exp - claims.iat) / 86_400
    };
    let created = send(admin(Method::POST, "/connections").json(&json!({"name": "Okta"}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(exp_days(created.body["token"].as_str().unwrap()), 30);
    assert!(created.body["expires_at"].is_string(), "{}", created.body);

    let connection = created.body["connection"].as_str().unwrap();
    let issued =
        send(admin(Method::POST, &format!("/connections/{connection}/tokens")).json(&json!({}))).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    assert_eq!(exp_days(issued.body["token"].as_str().unwrap()), 30);
    let explicit = json!({"expires_in_days": 7});
    let rotated =
        send(admin(Method::POST, &format!("/connections/{connection}/rotate")).json(&explicit)).await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    assert_eq!(exp_days(rotated.body["token"].as_str().unwrap()), 7, "an explicit expiry wins");

    let admin_token = send(admin(Method::POST, "/admin-tokens").json(&json!({}))).await;
    assert_eq!(admin_token.status, 201, "{}", admin_token.body);
    let claims = app.key.verify_admin(admin_token.body["token"].as_str().unwrap(), Utc::now()).unwrap();
    assert_eq!((claims.exp.expect("an expiry") - claims.iat) / 86_400, 30);
}

#[tokio::test]
async fn the_cli_applies_the_default_expiry_too() {
    let app = TestApp::spawn().await;
    let roster = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .env("DATABASE_URL", &app.db_url)
            .env("ROSTER_SIGNING_KEY", std::str::from_utf8(crate::support::TEST_SECRET).unwrap())
            .env("ROSTER_LOG", "warn")
            .env("ROSTER_TOKEN_DEFAULT_EXPIRY_DAYS", "30")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let days = |claims: (Option<i64>, i64)| (claims.0.expect("an expiry") - claims.1) / 86_400;
    let connection_days = |token: &serde_json::Value| {
        let claims = app.key.verify(token.as_str().unwrap(), Utc::now()).unwrap();
        days((claims.exp, claims.iat))
    };
    let tenant = app.creds.tenant.as_str();
    let created = roster(&["connection", "create", "--tenant", tenant, "--name", "Okta", "--json"]);
    assert_eq!(connection_days(&created["token"]), 30);
    let connection = created["connection"].as_str().unwrap();
    let issued = roster(&["token", "issue", "--tenant", tenant, "--connection", connection, "--json"]);
    assert_eq!(connection_days(&issued["token"]), 30);
    let explicit = roster(&[
        "token",
        "issue",
        "--tenant",
        tenant,
        "--connection",
        connection,
        "--expires-in-days",
        "2",
        "--json",
    ]);
    assert_eq!(connection_days(&explicit["token"]), 2);
    let admin = roster(&["admin-token", "issue", "--tenant", tenant, "--json"]);
    let claims = app.key.verify_admin(admin["token"].as_str().unwrap(), Utc::now()).unwrap();
    assert_eq!(days((claims.exp, claims.iat)), 30);
}

#[tokio::test]
async fn x_forwarded_for_names_the_client_only_when_trusted() {
    let fail_as = |app: &TestApp, ip: &'static str| {
        app.client.get(format!("{}/Users", app.creds.base)).header("x-forwarded-for", ip).bearer_auth("wrong")
    };
    let trusting = TestApp::spawn_with(|s| {
        s.auth_failures_per_min = 2;
        s.trust_forwarded_for = true;
    })
    .await;
    for _ in 0..2 {
        send(fail_as(&trusting, "192.0.2.1")).await.assert_error(401, None);
    }
    // Our proxy appends the real client last; what the client wrote before it is not believed.
    let blocked = trusting.req(Method::GET, "/Users").header("x-forwarded-for", "198.51.100.7, 192.0.2.1");
    assert_too_many(&send(blocked).await, 60);
    let other = trusting.req(Method::GET, "/Users").header("x-forwarded-for", "192.0.2.1, 192.0.2.2");
    assert_eq!(send(other).await.status, 200);

    let default = TestApp::spawn_with(|s| s.auth_failures_per_min = 2).await;
    for _ in 0..2 {
        send(fail_as(&default, "192.0.2.1")).await.assert_error(401, None);
    }
    // Untrusted, the header changes nothing: the peer address is what failed.
    let spoofed = default.req(Method::GET, "/Users").header("x-forwarded-for", "192.0.2.2");
    assert_too_many(&send(spoofed).await, 60);
}

#[tokio::test]
async fn a_create_that_goes_the_usual_way_after_its_one_statement_counts_once() {
    // A create first tries the one statement under the token's recalled standing; a
    // re-provisioning makes that statement write nothing and goes the usual way. It is still one
    // request against the token's rate: the burst of 3 admits create, delete and re-create.
    let app = token_burst_of_3().await;
    let body = json!({"userName": "counted.once@example.com"});
    let first = app.post("/Users", &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let id = first.body["id"].as_str().unwrap().to_string();
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    let back = app.post("/Users", &body).await;
    assert_eq!(back.status, 201, "{}", back.body);
    assert_eq!(back.body["id"], id.as_str(), "restored");
}

#[tokio::test]
async fn a_group_patch_that_goes_the_usual_way_after_its_one_statement_counts_once() {
    // A group's add of members first tries the one statement under the token's recalled
    // standing; once the connection's mode has changed, that statement writes nothing and the
    // PATCH goes the usual way. It is still one request against the token's rate: the burst of 3
    // admits the member's create, the group's create and the PATCH.
    let app = token_burst_of_3().await;
    let member = app.create_user("counted.once@example.com").await;
    let group = app.create_group("Counted", &[]).await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    roster::directory::tenants::set_quirk_mode(&mut conn, &tenant, app.creds.connection, "strict")
        .await
        .unwrap();
    let added = app
        .patch_ops(
            &format!("/Groups/{group}"),
            json!([{"op": "add", "path": "members", "value": [{"value": member}]}]),
        )
        .await;
    assert_eq!(added.status, 204, "{}", added.body);
}

/// A server whose tokens may make 3 requests at once, then one a second.
async fn token_burst_of_3() -> TestApp {
    TestApp::spawn_with(|s| {
        s.rate_limit_token_per_sec = 1;
        s.rate_limit_token_burst = 3;
    })
    .await
}
