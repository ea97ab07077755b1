//! Issue #13: OAuth 2.0 client credentials for connections, run the way Entra ID runs it (token
//! request by HTTP Basic or form post, SCIM calls with the access token, expiry and renewal,
//! revoked client, rotated secret with an overlap), bad requests, the CLI, the migration.
//! `private_key_jwt` is in `oauth_jwt`.

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::requests::{send, Reply};
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

/// A clock the test moves.
#[derive(Debug)]
struct ManualClock(Mutex<DateTime<Utc>>);

impl roster::clock::Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl ManualClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

/// An OAuth connection's credentials as the admin API shows them once.
pub(crate) struct Client {
    pub(crate) connection: String,
    pub(crate) base: String,
    pub(crate) client_id: String,
    pub(crate) secret: String,
}

pub(crate) fn admin(app: &TestApp, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.client
        .request(method, format!("{}/admin/v1/tenants/{}{path}", app.root, app.creds.tenant))
        .bearer_auth(TEST_ADMIN_TOKEN)
}

pub(crate) async fn oauth_connection(app: &TestApp, extra: Value) -> Client {
    let mut body = json!({"name": "Entra ID (OAuth)", "auth": "oauth"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let r = send(admin(app, Method::POST, "/connections").json(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["token_endpoint"], format!("{}/oauth/token", app.root));
    assert_eq!(r.body["auth"], "oauth");
    Client {
        connection: r.body["connection"].as_str().unwrap().into(),
        base: r.body["scim_base_url"].as_str().unwrap().into(),
        client_id: r.body["client_id"].as_str().unwrap().into(),
        secret: r.body["client_secret"].as_str().unwrap().into(),
    }
}

pub(crate) fn token_request(app: &TestApp) -> reqwest::RequestBuilder {
    app.client
        .post(format!("{}/oauth/token", app.root))
        .header("content-type", "application/x-www-form-urlencoded")
}

/// A token request by HTTP Basic (`client_secret_basic`), the way Entra ID sends it.
pub(crate) async fn by_basic(app: &TestApp, id: &str, secret: &str) -> Reply {
    let basic = STANDARD.encode(format!("{id}:{secret}"));
    send(
        token_request(app)
            .header("authorization", format!("Basic {basic}"))
            .body("grant_type=client_credentials"),
    )
    .await
}

/// A token request with the credentials in the form (`client_secret_post`).
async fn by_post(app: &TestApp, id: &str, secret: &str) -> Reply {
    let form = serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
        ("scope", "scim"),
    ])
    .unwrap();
    send(token_request(app).body(form)).await
}

pub(crate) fn access_token(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("pragma"), "no-cache");
    assert_eq!(r.body["token_type"], "Bearer");
    r.body["access_token"].as_str().unwrap().to_string()
}

/// An RFC 6749 §5.2 error with its status (and `WWW-Authenticate` on 401).
pub(crate) fn assert_oauth_error(r: &Reply, status: u16, code: &str) -> String {
    assert_eq!((r.status.as_u16(), r.body["error"].as_str()), (status, Some(code)), "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    if status == 401 {
        assert!(r.header("www-authenticate").starts_with("Basic"), "{}", r.header("www-authenticate"));
    }
    r.body["error_description"].as_str().unwrap().to_string()
}

pub(crate) async fn scim_status(app: &TestApp, base: &str, token: &str) -> u16 {
    send(app.client.get(format!("{base}/Users")).bearer_auth(token)).await.status.as_u16()
}

#[tokio::test]
async fn client_credentials_flow_as_entra_runs_it() {
    let app = TestApp::spawn().await;
    let client = oauth_connection(&app, json!({})).await;

    let r = by_basic(&app, &client.client_id, &client.secret).await;
    let token = access_token(&r);
    assert_eq!(r.body["expires_in"], 3600);
    let created = send(
        app.client
            .post(format!("{}/Users", client.base))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .body(json!({"userName": "oauth@example.com"}).to_string()),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let listed = send(app.client.get(format!("{}/Users", client.base)).bearer_auth(&token)).await;
    assert_eq!(listed.body["totalResults"], 1);

    // The form post works as well, and both tokens are valid at once.
    let second = access_token(&by_post(&app, &client.client_id, &client.secret).await);
    assert_eq!(scim_status(&app, &client.base, &second).await, 200);
    assert_eq!(scim_status(&app, &client.base, &token).await, 200);
    // The access token is bound to its connection.
    assert_eq!(scim_status(&app, &app.creds.base, &token).await, 401);

    // The secret is stored as a digest only and never shown again.
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let row = roster::db::oauth::by_client_id(&mut conn, &client.client_id).await.unwrap().unwrap();
    assert_ne!(row.secret_hash, client.secret.as_bytes());
    let listed = send(admin(&app, Method::GET, "/connections")).await;
    assert!(!listed.body.to_string().contains(&client.secret));
    let oauth_row = listed.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connection"] == client.connection.as_str());
    assert_eq!(oauth_row.unwrap()["auth"], "oauth");

    // An OAuth connection gets no static tokens.
    let path = format!("/connections/{}/tokens", client.connection);
    send(admin(&app, Method::POST, &path)).await.assert_error(400, Some("invalidValue"));

    // The authorization server metadata (RFC 8414) names the endpoint and the methods.
    let meta = send(app.client.get(format!("{}/.well-known/oauth-authorization-server", app.root))).await;
    assert_eq!(meta.body["token_endpoint"], format!("{}/oauth/token", app.root));
    assert_eq!(meta.body["grant_types_supported"], json!(["client_credentials"]));
    let methods = meta.body["token_endpoint_auth_methods_supported"].to_string();
    for m in ["client_secret_basic", "client_secret_post", "private_key_jwt"] {
        assert!(methods.contains(m), "{methods}");
    }
}

#[tokio::test]
async fn bad_token_requests_get_rfc_6749_errors() {
    let app = TestApp::spawn().await;
    let client = oauth_connection(&app, json!({})).await;
    let wrong_grant =
        send(token_request(&app).body(format!(
            "grant_type=password&client_id={}&client_secret={}",
            client.client_id, client.secret
        )))
        .await;
    assert_oauth_error(&wrong_grant, 400, "unsupported_grant_type");
    assert_oauth_error(&by_basic(&app, &client.client_id, "wrong-secret").await, 401, "invalid_client");
    assert_oauth_error(&by_post(&app, "roster-nobody", &client.secret).await, 401, "invalid_client");
    let no_auth = send(token_request(&app).body("grant_type=client_credentials")).await;
    assert_oauth_error(&no_auth, 401, "invalid_client");
    let json_body = send(
        app.client
            .post(format!("{}/oauth/token", app.root))
            .json(&json!({"grant_type": "client_credentials"})),
    )
    .await;
    assert_oauth_error(&json_body, 400, "invalid_request");
    let twice =
        send(token_request(&app).body("grant_type=client_credentials&grant_type=client_credentials")).await;
    assert_oauth_error(&twice, 400, "invalid_request");
    let get = send(app.client.get(format!("{}/oauth/token", app.root))).await;
    assert_eq!(get.status, 405);
    // Hostile values get a clear error, never a 500.
    let long_id = "x".repeat(3000);
    assert_oauth_error(&by_post(&app, &long_id, &client.secret).await, 401, "invalid_client");
    let nul =
        send(token_request(&app).body(format!(
            "grant_type=client_credentials&client_id={}&client_secret=a%00b",
            client.client_id
        )))
        .await;
    assert_oauth_error(&nul, 400, "invalid_request");
    let garbage = assertion_request("not.a.jwt");
    assert_oauth_error(&send(token_request(&app).body(garbage)).await, 401, "invalid_client");
    let huge =
        send(token_request(&app).body(format!("grant_type=client_credentials&pad={}", "x".repeat(100_000))))
            .await;
    assert_eq!(huge.status, 413);
    // A static connection token is not a client credential.
    let bearer =
        send(token_request(&app).bearer_auth(&app.creds.token).body("grant_type=client_credentials")).await;
    assert_oauth_error(&bearer, 401, "invalid_client");
}

#[tokio::test]
async fn failed_client_authentications_are_rate_limited() {
    let app = TestApp::spawn_with(|s| s.auth_failures_per_min = 3).await;
    let client = oauth_connection(&app, json!({})).await;
    for _ in 0..3 {
        assert_oauth_error(&by_basic(&app, &client.client_id, "guess").await, 401, "invalid_client");
    }
    // Past the failures the right secret from the same address is refused too, until the window ends.
    let refused = by_basic(&app, &client.client_id, &client.secret).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.header("retry-after").parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn access_tokens_expire_and_are_renewed() {
    let clock = Arc::new(ManualClock(Mutex::new(Utc::now())));
    let app = TestApp::spawn_with_clock(|_| {}, clock.clone()).await;
    let client = oauth_connection(&app, json!({})).await;
    let token = access_token(&by_basic(&app, &client.client_id, &client.secret).await);
    assert_eq!(scim_status(&app, &client.base, &token).await, 200);
    clock.advance(Duration::seconds(3601));
    assert_eq!(scim_status(&app, &client.base, &token).await, 401, "an hour later the token has expired");
    // Entra renews with the same credentials.
    let renewed = access_token(&by_basic(&app, &client.client_id, &client.secret).await);
    assert_eq!(scim_status(&app, &client.base, &renewed).await, 200);
}

#[tokio::test]
async fn a_short_configured_lifetime_is_what_tokens_get() {
    let app = TestApp::spawn_with(|s| s.oauth_token_lifetime_secs = 120).await;
    let client = oauth_connection(&app, json!({})).await;
    assert_eq!(by_post(&app, &client.client_id, &client.secret).await.body["expires_in"], 120);
}

#[tokio::test]
async fn a_revoked_client_and_its_tokens_are_refused_at_once() {
    let app = TestApp::spawn().await;
    let client = oauth_connection(&app, json!({})).await;
    let token = access_token(&by_basic(&app, &client.client_id, &client.secret).await);
    assert_eq!(scim_status(&app, &client.base, &token).await, 200);
    let r = send(admin(&app, Method::DELETE, &format!("/connections/{}/oauth", client.connection))).await;
    assert_eq!((r.status.as_u16(), r.body["revoked_access_tokens"].as_u64()), (200, Some(1)), "{}", r.body);
    assert_eq!(scim_status(&app, &client.base, &token).await, 401);
    assert_oauth_error(&by_basic(&app, &client.client_id, &client.secret).await, 401, "invalid_client");
}

#[tokio::test]
async fn a_rotated_secret_overlaps_then_the_old_one_and_its_tokens_end() {
    let clock = Arc::new(ManualClock(Mutex::new(Utc::now())));
    let app = TestApp::spawn_with_clock(|_| {}, clock.clone()).await;
    let client = oauth_connection(&app, json!({})).await;
    let before = access_token(&by_basic(&app, &client.client_id, &client.secret).await);

    let path = format!("/connections/{}/oauth/rotate", client.connection);
    let rotated = send(admin(&app, Method::POST, &path).json(&json!({"overlap_seconds": 600}))).await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    assert_eq!(rotated.body["client_id"], client.client_id.as_str());
    let new_secret = rotated.body["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, client.secret);

    // During the overlap both secrets work; a token from the old one lives no longer than it.
    let old = by_basic(&app, &client.client_id, &client.secret).await;
    let during = access_token(&old);
    assert!(old.body["expires_in"].as_i64().unwrap() <= 600, "{}", old.body);
    let fresh = access_token(&by_basic(&app, &client.client_id, &new_secret).await);
    for token in [&before, &during, &fresh] {
        assert_eq!(scim_status(&app, &client.base, token).await, 200);
    }

    clock.advance(Duration::seconds(601));
    assert_oauth_error(&by_basic(&app, &client.client_id, &client.secret).await, 401, "invalid_client");
    assert_eq!(scim_status(&app, &client.base, &before).await, 401, "old-secret tokens end with the overlap");
    assert_eq!(scim_status(&app, &client.base, &during).await, 401);
    assert_eq!(scim_status(&app, &client.base, &fresh).await, 200);
    access_token(&by_post(&app, &client.client_id, &new_secret).await);
}

pub(crate) fn assertion_request(jwt: &str) -> String {
    serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", jwt),
    ])
    .unwrap()
}

fn roster_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .env("DATABASE_URL", &app.db_url)
        .env("ROSTER_SIGNING_KEY", std::str::from_utf8(crate::support::TEST_SECRET).unwrap())
        .env("ROSTER_PUBLIC_URL", &app.root)
        .env("ROSTER_LOG", "warn")
        .args(args)
        .output()
        .expect("roster runs")
}

fn cli_json(app: &TestApp, args: &[&str]) -> Value {
    let out = roster_cli(app, args);
    assert!(out.status.success(), "roster {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn cli_creates_an_oauth_connection_and_rotates_its_secret() {
    let app = TestApp::spawn().await;
    let tenant = app.creds.tenant.clone();
    let created = cli_json(
        &app,
        &["connection", "create", "--tenant", &tenant, "--name", "Okta", "--auth", "oauth", "--json"],
    );
    assert_eq!(created["token_endpoint"], format!("{}/oauth/token", app.root));
    let (id, secret) = (created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap());
    let base = created["scim_base_url"].as_str().unwrap();
    let token = access_token(&by_post(&app, id, secret).await);
    assert_eq!(scim_status(&app, base, &token).await, 200);

    let connection = created["connection"].as_str().unwrap();
    let listed = cli_json(&app, &["connection", "list", "--tenant", &tenant, "--json"]);
    let auth: Vec<&str> = listed.as_array().unwrap().iter().map(|c| c["auth"].as_str().unwrap()).collect();
    assert_eq!(auth, ["bearer", "oauth"]);
    let issue = roster_cli(&app, &["token", "issue", "--tenant", &tenant, "--connection", connection]);
    assert!(!issue.status.success());
    assert!(String::from_utf8_lossy(&issue.stderr).contains("OAuth client credentials"));

    let rotated = cli_json(
        &app,
        &[
            "connection",
            "oauth",
            "rotate-secret",
            "--tenant",
            &tenant,
            "--connection",
            connection,
            "--overlap-secs",
            "0",
            "--json",
        ],
    );
    let new_secret = rotated["client_secret"].as_str().unwrap();
    // No overlap: the old secret and its token end now, the new one works.
    assert_oauth_error(&by_post(&app, id, secret).await, 401, "invalid_client");
    assert_eq!(scim_status(&app, base, &token).await, 401);
    access_token(&by_basic(&app, id, new_secret).await);

    let revoked =
        roster_cli(&app, &["connection", "oauth", "revoke", "--tenant", &tenant, "--connection", connection]);
    assert!(revoked.status.success());
    assert_oauth_error(&by_basic(&app, id, new_secret).await, 401, "invalid_client");
}

#[tokio::test]
async fn the_oauth_migration_reverts_and_applies_again() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let app = TestApp::spawn().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/2026-12-05-000017_oauth_clients");
    let (up, down) = (
        std::fs::read_to_string(format!("{dir}/up.sql")).unwrap(),
        std::fs::read_to_string(format!("{dir}/down.sql")).unwrap(),
    );
    oauth_connection(&app, json!({})).await;
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    conn.batch_execute(&down).await.unwrap();
    let left = conn.batch_execute("SELECT 1 FROM oauth_clients").await;
    assert!(left.is_err(), "oauth_clients survived down.sql");
    conn.batch_execute(&up).await.unwrap();
    conn.batch_execute("SELECT client_id FROM oauth_clients").await.unwrap();
}
