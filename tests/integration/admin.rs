//! The admin API: its own credential; tenants, connections, tokens, quirk mode, and the
//! provisioning log an IT admin reads to see why a request failed.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::requests::{send, Reply};
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut req =
        app.client.request(method, format!("{}/admin/v1{path}", app.root)).bearer_auth(TEST_ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    send(req).await
}

#[tokio::test]
async fn the_admin_api_has_its_own_credential() {
    let app = TestApp::spawn().await;
    let url = format!("{}/admin/v1/tenants", app.root);
    send(app.client.get(&url)).await.assert_error(401, None);
    send(app.client.get(&url).bearer_auth("x".repeat(40))).await.assert_error(401, None);
    // A SCIM connection token is not an admin credential.
    send(app.client.get(&url).bearer_auth(&app.creds.token)).await.assert_error(401, None);
    let r = admin(&app, Method::GET, "/tenants", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["tenants"][0]["slug"], app.creds.tenant.as_str());
    let disabled = TestApp::spawn_with(|s| s.admin_token = None).await;
    let r = send(
        disabled.client.get(format!("{}/admin/v1/tenants", disabled.root)).bearer_auth(TEST_ADMIN_TOKEN),
    )
    .await;
    let detail = r.assert_error(401, None);
    assert!(detail.contains("ROSTER_ADMIN_TOKEN"), "{detail}");
}

#[tokio::test]
async fn tenants_connections_and_tokens_end_to_end() {
    let app = TestApp::spawn().await;
    let r = admin(&app, Method::POST, "/tenants", Some(json!({"slug": "initech", "name": "Initech"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    admin(&app, Method::POST, "/tenants", Some(json!({"slug": "initech", "name": "Again"})))
        .await
        .assert_error(400, Some("invalidValue"));
    admin(&app, Method::POST, "/tenants", Some(json!({"slug": "Bad Slug", "name": "x"})))
        .await
        .assert_error(400, Some("invalidValue"));
    let c = admin(&app, Method::POST, "/tenants/initech/connections", Some(json!({"name": "Okta"}))).await;
    assert_eq!(c.status, 201, "{}", c.body);
    let (base, token) = (c.body["scim_base_url"].as_str().unwrap(), c.body["token"].as_str().unwrap());
    assert_eq!(send(app.client.get(format!("{base}/Users")).bearer_auth(token)).await.status, 200);
    let connection = c.body["connection"].as_str().unwrap();
    // Quirk mode.
    let r = admin(
        &app,
        Method::PATCH,
        &format!("/tenants/initech/connections/{connection}"),
        Some(json!({"quirk_mode": "strict"})),
    )
    .await;
    assert_eq!(r.body["quirk_mode"], "strict");
    admin(
        &app,
        Method::PATCH,
        &format!("/tenants/initech/connections/{connection}"),
        Some(json!({"quirk_mode": "lax"})),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    // A second token, the list (no secrets), revocation.
    let t2 = admin(
        &app,
        Method::POST,
        &format!("/tenants/initech/connections/{connection}/tokens"),
        Some(json!({"label": "rotation"})),
    )
    .await;
    assert_eq!(t2.status, 201);
    let list = admin(&app, Method::GET, "/tenants/initech/tokens", None).await;
    assert_eq!(list.body["tokens"].as_array().unwrap().len(), 2);
    assert!(!list.body.to_string().contains(token), "tokens are never listed");
    let first_id = c.body["token_id"].as_str().unwrap();
    assert_eq!(
        admin(&app, Method::DELETE, &format!("/tenants/initech/tokens/{first_id}"), None).await.status,
        204
    );
    assert_eq!(send(app.client.get(format!("{base}/Users")).bearer_auth(token)).await.status, 401);
    let second = t2.body["token"].as_str().unwrap();
    assert_eq!(send(app.client.get(format!("{base}/Users")).bearer_auth(second)).await.status, 200);
    admin(&app, Method::GET, "/tenants/nobody/connections", None).await.assert_error(404, None);
}

#[tokio::test]
async fn the_log_explains_failures_per_tenant() {
    let app = TestApp::spawn().await;
    app.create_user("dup@example.com").await;
    app.post("/Users", &json!({"userName": "dup@example.com"})).await.assert_error(409, Some("uniqueness"));
    let other = app.new_tenant("globex").await;
    send(app.req_as(&other, Method::GET, "/Users")).await;
    app.flush_log().await;
    let r =
        admin(&app, Method::GET, &format!("/tenants/{}/log?outcome=failure", app.creds.tenant), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let entries = r.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0]["status"].clone(), entries[0]["scim_type"].clone()),
        (json!(409), json!("uniqueness"))
    );
    let all = admin(&app, Method::GET, &format!("/tenants/{}/log", app.creds.tenant), None).await;
    let connections: Vec<&str> =
        all.body["entries"].as_array().unwrap().iter().map(|e| e["connection"].as_str().unwrap()).collect();
    assert!(connections.iter().all(|c| *c == app.creds.connection.to_string()), "only this tenant's rows");
    // Paging with `next`.
    let page = admin(&app, Method::GET, &format!("/tenants/{}/log?limit=1", app.creds.tenant), None).await;
    let next = page.body["next"].as_str().unwrap();
    let page2 =
        admin(&app, Method::GET, &format!("/tenants/{}/log?limit=1&after={next}", app.creds.tenant), None)
            .await;
    assert_ne!(page.body["entries"][0]["id"], page2.body["entries"][0]["id"]);
    admin(&app, Method::GET, &format!("/tenants/{}/log?outcome=maybe", app.creds.tenant), None)
        .await
        .assert_error(400, Some("invalidValue"));
}

async fn admin_as(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut req = app.client.request(method, format!("{}/admin/v1{path}", app.root)).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    send(req).await
}

#[tokio::test]
async fn tenant_admin_tokens_are_limited_to_their_tenant() {
    let app = TestApp::spawn().await;
    let other = app.new_tenant("globex").await;
    let acme = app.creds.tenant.clone();
    let issued =
        admin(&app, Method::POST, &format!("/tenants/{acme}/admin-tokens"), Some(json!({"label": "hr app"})))
            .await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let token = issued.body["token"].as_str().unwrap().to_string();
    let token_id = issued.body["token_id"].as_str().unwrap().to_string();
    // It works on its own tenant...
    let r = admin_as(&app, &token, Method::GET, &format!("/tenants/{acme}/connections"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin_as(&app, &token, Method::GET, "/tenants", None).await;
    let slugs: Vec<&str> =
        r.body["tenants"].as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, vec![acme.as_str()], "a tenant admin sees only its tenant");
    // ...and another tenant looks like one that does not exist.
    for path in ["/connections", "/tokens", "/log", "/members", "/groups/tree", ""] {
        admin_as(&app, &token, Method::GET, &format!("/tenants/{}{path}", other.tenant), None)
            .await
            .assert_error(404, None);
    }
    // Operator-only actions are forbidden to it.
    admin_as(&app, &token, Method::POST, "/tenants", Some(json!({"slug": "x", "name": "X"})))
        .await
        .assert_error(403, None);
    admin_as(&app, &token, Method::POST, &format!("/tenants/{acme}/admin-tokens"), None)
        .await
        .assert_error(403, None);
    admin_as(&app, &token, Method::GET, &format!("/tenants/{acme}/admin-tokens"), None)
        .await
        .assert_error(403, None);
    // The list shows ids and state, never tokens.
    let list = admin(&app, Method::GET, &format!("/tenants/{acme}/admin-tokens"), None).await;
    assert_eq!(list.body["admin_tokens"][0]["token_id"], token_id.as_str());
    assert_eq!(list.body["admin_tokens"][0]["state"], "active");
    assert!(!list.body.to_string().contains(&token));
    // An admin token is not a SCIM token, and a SCIM token is not an admin token.
    send(app.client.get(format!("{}/Users", app.creds.base)).bearer_auth(&token))
        .await
        .assert_error(401, None);
    admin_as(&app, &app.creds.token, Method::GET, &format!("/tenants/{acme}/connections"), None)
        .await
        .assert_error(401, None);
    // Revoked: 401 on the next request.
    let r = admin(&app, Method::DELETE, &format!("/tenants/{acme}/admin-tokens/{token_id}"), None).await;
    assert_eq!(r.status, 204);
    admin_as(&app, &token, Method::GET, &format!("/tenants/{acme}/connections"), None)
        .await
        .assert_error(401, None);
    let list = admin(&app, Method::GET, &format!("/tenants/{acme}/admin-tokens"), None).await;
    assert_eq!(list.body["admin_tokens"][0]["state"], "revoked");
    admin(&app, Method::DELETE, &format!("/tenants/{acme}/admin-tokens/{token_id}"), None)
        .await
        .assert_error(404, None);
    // Admin tokens work even when the operator credential is disabled.
    let bare = TestApp::spawn_with(|s| s.admin_token = None).await;
    let mut conn = roster::db::checkout(&bare.pool, roster::db::Scope::All).await.unwrap();
    let t = roster::directory::tenants::tenant(&mut conn, "acme").await.unwrap();
    let issued =
        roster::directory::admin_tokens::issue(&mut conn, &bare.key, &t, "", None, chrono::Utc::now())
            .await
            .unwrap();
    let r = admin_as(&bare, &issued.token, Method::GET, "/tenants/acme/members", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn rotation_replaces_every_token_of_the_connection_at_once() {
    let app = TestApp::spawn().await;
    let (acme, connection) = (app.creds.tenant.clone(), app.creds.connection);
    let second =
        admin(&app, Method::POST, &format!("/tenants/{acme}/connections/{connection}/tokens"), None).await;
    let second = second.body["token"].as_str().unwrap().to_string();
    let other = app.add_connection(&acme, "Okta").await;
    let r = admin(
        &app,
        Method::POST,
        &format!("/tenants/{acme}/connections/{connection}/rotate"),
        Some(json!({"label": "2026 rotation"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["revoked"].as_array().unwrap().len(), 2);
    let new = r.body["token"].as_str().unwrap();
    let users = |t: &str| app.client.get(format!("{}/Users", app.creds.base)).bearer_auth(t.to_string());
    assert_eq!(send(users(new)).await.status, 200);
    send(users(&app.creds.token)).await.assert_error(401, None);
    send(users(&second)).await.assert_error(401, None);
    // The other connection's token is untouched.
    assert_eq!(
        send(app.client.get(format!("{}/Users", other.base)).bearer_auth(&other.token)).await.status,
        200
    );
    let list =
        admin(&app, Method::GET, &format!("/tenants/{acme}/tokens?connection={connection}"), None).await;
    let states: Vec<&str> =
        list.body["tokens"].as_array().unwrap().iter().map(|t| t["state"].as_str().unwrap()).collect();
    assert_eq!(states.iter().filter(|s| **s == "active").count(), 1, "{states:?}");
    admin(&app, Method::POST, &format!("/tenants/{acme}/connections/{}/rotate", uuid::Uuid::now_v7()), None)
        .await
        .assert_error(404, None);
}
