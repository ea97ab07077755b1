//! The audit trail: every admin API write, by the operator or a tenant admin token, refused or
//! not, is listed with its actor, route, targets and status; reads are not; tenant admins read
//! only their own tenant's trail; secrets never appear; the console's entry point records too.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::requests::Reply;
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

async fn op(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    app.admin_call(TEST_ADMIN_TOKEN, method, path, body.as_ref()).await
}

/// A tenant admin token for `slug`: (token, token id).
async fn tenant_token(app: &TestApp, slug: &str) -> (String, String) {
    let r = op(app, Method::POST, &format!("/tenants/{slug}/admin-tokens"), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (r.body["token"].as_str().unwrap().to_string(), r.body["token_id"].as_str().unwrap().to_string())
}

/// The tenant's trail as the operator reads it (newest first).
async fn trail(app: &TestApp, slug: &str, query: &str) -> Vec<Value> {
    let r = op(app, Method::GET, &format!("/tenants/{slug}/audit{query}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn writes_by_the_operator_and_by_a_tenant_admin_appear_with_their_actor() {
    let app = TestApp::spawn().await;
    let acme = app.creds.tenant.clone();
    let (token, token_id) = tenant_token(&app, &acme).await;

    let created =
        op(&app, Method::POST, &format!("/tenants/{acme}/groups"), Some(json!({"displayName": "Sales"})))
            .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let group = created.body["id"].as_str().unwrap().to_string();
    let renamed = app
        .admin_call(
            &token,
            Method::PATCH,
            &format!("/tenants/{acme}/groups/{group}"),
            Some(&json!({"displayName": "Sales EU"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    // Reads are not recorded.
    op(&app, Method::GET, &format!("/tenants/{acme}/groups/tree"), None).await;
    app.admin_call(&token, Method::GET, &format!("/tenants/{acme}/groups/tree"), None).await;

    let entries = trail(&app, &acme, "").await;
    // Newest first: the rename, the create, the admin token's issue.
    assert_eq!(entries.len(), 3, "{entries:#?}");
    let rename = &entries[0];
    assert_eq!(rename["actor"], json!({"kind": "admin_token", "id": token_id}));
    assert_eq!(rename["method"], "PATCH");
    assert_eq!(rename["route"], "/admin/v1/tenants/{tenant}/groups/{group}");
    assert_eq!(rename["targets"]["group"], group.as_str());
    assert_eq!(rename["status"], 200);
    assert_eq!(rename["outcome"], "success");
    assert!(rename["summary"].as_str().unwrap().contains("Sales EU"), "{rename}");
    let create = &entries[1];
    assert_eq!(create["actor"], json!({"kind": "operator", "id": null}));
    assert_eq!(create["route"], "/admin/v1/tenants/{tenant}/groups");
    assert_eq!(create["targets"]["group"], group.as_str());
    assert_eq!(create["status"], 201);
    assert_eq!(entries[2]["route"], "/admin/v1/tenants/{tenant}/admin-tokens");

    // Filters.
    let by_token = trail(&app, &acme, &format!("?actor_kind=admin_token&actor={token_id}")).await;
    assert_eq!(by_token.len(), 1);
    assert_eq!(trail(&app, &acme, "?method=post").await.len(), 2);
    assert_eq!(trail(&app, &acme, "?outcome=failure").await.len(), 0);
    for bad in ["?actor_kind=robot", "?outcome=maybe", "?limit=0", "?after=garbage", "?tenant=acme", "?x=1"] {
        let r = op(&app, Method::GET, &format!("/tenants/{acme}/audit{bad}"), None).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
}

#[tokio::test]
async fn refused_writes_are_recorded_with_their_status() {
    let app = TestApp::spawn().await;
    let acme = app.creds.tenant.clone();
    let (token, token_id) = tenant_token(&app, &acme).await;

    // Operator-only under a tenant: 403 for a tenant admin.
    let r = app.admin_call(&token, Method::POST, &format!("/tenants/{acme}/admin-tokens"), None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A duplicate group: 409.
    let body = json!({"displayName": "Sales"});
    assert_eq!(
        op(&app, Method::POST, &format!("/tenants/{acme}/groups"), Some(body.clone())).await.status,
        201
    );
    assert_eq!(op(&app, Method::POST, &format!("/tenants/{acme}/groups"), Some(body)).await.status, 409);

    let failures = trail(&app, &acme, "?outcome=failure").await;
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert_eq!(failures[0]["status"], 409);
    assert_eq!(failures[0]["actor"]["kind"], "operator");
    assert!(failures[0]["summary"].as_str().unwrap().contains("uniqueness"), "{}", failures[0]);
    assert_eq!(failures[1]["status"], 403);
    assert_eq!(failures[1]["outcome"], "failure");
    assert_eq!(failures[1]["actor"], json!({"kind": "admin_token", "id": token_id}));

    // Without a valid credential: recorded as anonymous, on no tenant (the operator sees it).
    let r = app.admin_call("not-a-token", Method::DELETE, &format!("/tenants/{acme}/groups/x"), None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = op(&app, Method::GET, "/audit?tenant=none&actor_kind=anonymous", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let anonymous = r.body["entries"].as_array().unwrap();
    assert_eq!(anonymous.len(), 1, "{}", r.body);
    assert_eq!(anonymous[0]["status"], 401);
    assert_eq!(anonymous[0]["tenant_id"], Value::Null);
    assert_eq!(anonymous[0]["route"], "/admin/v1/tenants/{tenant}/groups/{group}");
    assert!(!r.body.to_string().contains("not-a-token"));

    // An operator action on no tenant.
    let r = op(&app, Method::POST, "/tenants", Some(json!({"slug": "initech", "name": "Initech"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = op(&app, Method::GET, "/audit?tenant=none&actor_kind=operator", None).await;
    assert_eq!(r.body["entries"][0]["route"], "/admin/v1/tenants", "{}", r.body);
    assert_eq!(r.body["entries"][0]["status"], 201);
}

#[tokio::test]
async fn a_tenant_admin_reads_its_own_trail_only() {
    let app = TestApp::spawn().await;
    let acme = app.creds.tenant.clone();
    app.new_tenant("globex").await;
    let (globex_token, _) = tenant_token(&app, "globex").await;
    let (acme_token, _) = tenant_token(&app, &acme).await;
    let r = app
        .admin_call(&globex_token, Method::POST, "/tenants/globex/groups", Some(&json!({"displayName": "G"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let r = app.admin_call(&globex_token, Method::GET, &format!("/tenants/{acme}/audit"), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = app.admin_call(&globex_token, Method::GET, "/audit", None).await;
    assert_eq!(r.status, 403, "{}", r.body);

    // A write refused on another tenant is recorded in the caller's own tenant, not in that one.
    let r = app
        .admin_call(
            &globex_token,
            Method::POST,
            &format!("/tenants/{acme}/groups"),
            Some(&json!({"displayName": "X"})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);

    let own = app.admin_call(&globex_token, Method::GET, "/tenants/globex/audit", None).await;
    assert_eq!(own.status, 200, "{}", own.body);
    let entries = own.body["entries"].as_array().unwrap();
    let routes: Vec<&str> = entries.iter().map(|e| e["route"].as_str().unwrap()).collect();
    let (groups, tokens) = ("/admin/v1/tenants/{tenant}/groups", "/admin/v1/tenants/{tenant}/admin-tokens");
    assert_eq!(routes, [groups, groups, tokens]);
    assert_eq!(entries[0]["status"], 404);
    assert_eq!(entries[0]["targets"]["tenant"], acme.as_str());
    let acme_view = app.admin_call(&acme_token, Method::GET, &format!("/tenants/{acme}/audit"), None).await;
    assert_eq!(acme_view.body["entries"].as_array().unwrap().len(), 1, "{}", acme_view.body);
}

#[tokio::test]
async fn secrets_never_reach_the_trail() {
    let app = TestApp::spawn().await;
    let acme = app.creds.tenant.clone();
    let secret = "my-very-own-webhook-secret-42";
    let r = op(
        &app,
        Method::POST,
        &format!("/tenants/{acme}/webhooks"),
        Some(json!({"url": "https://h.example.com/x", "secret": secret})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (token, _) = tenant_token(&app, &acme).await;
    let r =
        op(&app, Method::POST, &format!("/tenants/{acme}/connections"), Some(json!({"name": "Entra"}))).await;
    let everything = op(&app, Method::GET, "/audit", None).await;
    assert_eq!(everything.status, 200);
    let text = everything.body.to_string();
    assert!(!text.contains(secret));
    assert!(!text.contains(&token));
    if let Some(scim_token) = r.body["token"].as_str() {
        assert!(!text.contains(scim_token));
    }
    assert_eq!(everything.body["entries"].as_array().unwrap().len(), 3, "{}", everything.body);
}

#[tokio::test]
async fn the_trail_pages_newest_first_and_records_console_writes() {
    let app = TestApp::spawn().await;
    let acme = app.creds.tenant.clone();
    for name in ["A", "B", "C"] {
        op(&app, Method::POST, &format!("/tenants/{acme}/groups"), Some(json!({"displayName": name}))).await;
    }
    let first = op(&app, Method::GET, &format!("/tenants/{acme}/audit?limit=2"), None).await;
    assert_eq!(first.body["entries"].as_array().unwrap().len(), 2);
    let next = first.body["next"].as_str().unwrap();
    let second = op(&app, Method::GET, &format!("/tenants/{acme}/audit?limit=2&after={next}"), None).await;
    let summaries: Vec<&str> = first.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second.body["entries"].as_array().unwrap())
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert_eq!(summaries, ["created group \"C\"", "created group \"B\"", "created group \"A\""]);

    // The console records through the same function.
    let session = uuid::Uuid::now_v7();
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &acme).await.unwrap();
    let entry = roster::audit::AuditEntry {
        tenant_id: Some(tenant.id),
        actor: roster::audit::Actor::ConsoleSession(session),
        method: "POST".into(),
        route: "/console/t/{tenant}/groups".into(),
        targets: serde_json::Map::new(),
        summary: "created group \"D\"".into(),
        status: 303,
    };
    roster::audit::record_audit(&mut conn, &entry, chrono::Utc::now()).await.unwrap();
    let console = trail(&app, &acme, "?actor_kind=console_session").await;
    assert_eq!(console.len(), 1);
    assert_eq!(console[0]["actor"], json!({"kind": "console_session", "id": session}));
}
