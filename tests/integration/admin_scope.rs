//! Tenant admin tokens on the roles, categories and imports sections of the admin API: they
//! manage their own tenant's catalog, bindings, overrides, settings, categories and imports, and
//! another tenant's answer 404 (like a tenant that does not exist) without changing anything
//! there.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::requests::{send, Reply};
use crate::support::{Credentials, TestApp, TEST_ADMIN_TOKEN};

async fn admin_as(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut req = app.client.request(method, format!("{}/admin/v1{path}", app.root)).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    send(req).await
}

/// POST a SCIM resource through `creds`' connection, returning its id.
async fn scim_create(app: &TestApp, creds: &Credentials, path: &str, body: Value) -> String {
    let r = send(
        app.req_as(creds, Method::POST, path)
            .header("content-type", "application/scim+json")
            .body(body.to_string()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// A user and a group holding it, in `creds`' tenant.
async fn user_and_group(app: &TestApp, creds: &Credentials, user_name: &str) -> (String, String) {
    let user = scim_create(
        app,
        creds,
        "/Users",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name}),
    )
    .await;
    let group = scim_create(
        app,
        creds,
        "/Groups",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Stores", "members": [{"value": user}]}),
    )
    .await;
    (user, group)
}

/// Issue a tenant admin token for `slug` with the operator credential.
async fn tenant_token(app: &TestApp, slug: &str) -> String {
    let issued =
        admin_as(app, TEST_ADMIN_TOKEN, Method::POST, &format!("/tenants/{slug}/admin-tokens"), None).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    issued.body["token"].as_str().unwrap().to_string()
}

fn role_names(reply: &Reply) -> Vec<String> {
    reply.body["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_tenant_admin_manages_its_own_roles_and_categories() {
    let app = TestApp::spawn().await;
    let acme = app.creds.tenant.clone();
    let token = tenant_token(&app, &acme).await;
    let (user, group) = user_and_group(&app, &app.creds, "ada@acme.test").await;
    let call = |method: Method, rest: &str, body: Option<Value>| {
        let path = format!("/tenants/{acme}{rest}");
        let token = token.clone();
        let app = &app;
        async move { admin_as(app, &token, method, &path, body).await }
    };

    // The catalog.
    let r = call(Method::GET, "/roles", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(role_names(&r).contains(&"org_admin".to_string()), "{}", r.body);
    let r = call(Method::POST, "/roles", Some(json!({"name": "store_manager", "rank": 250}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = call(Method::PATCH, "/roles/store_manager", Some(json!({"display_name": "Store manager"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["display_name"], "Store manager");

    // A binding gives the group's member the role; an override beats it.
    let r = call(Method::PUT, &format!("/groups/{group}/roles/store_manager"), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = call(Method::GET, "/role-bindings", None).await;
    assert_eq!(r.body["bindings"], json!([{"group_id": group, "role_name": "store_manager"}]));
    let r = call(Method::GET, &format!("/members/{user}"), None).await;
    assert_eq!(r.body["role"], "store_manager", "{}", r.body);
    let r = call(Method::PUT, &format!("/members/{user}/role"), Some(json!({"role": "chief_editor"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["effective_role"], "chief_editor");
    let r = call(
        Method::PUT,
        &format!("/groups/{group}/members/{user}/group-role"),
        Some(json!({"groupRole": "manager"})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = call(Method::DELETE, &format!("/groups/{group}/roles/store_manager"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);

    // Settings and positions.
    let r = call(Method::PUT, "/settings", Some(json!({"default_role": "editor"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(call(Method::GET, "/settings", None).await.body["default_role"], "editor");
    assert_eq!(call(Method::GET, "/positions", None).await.status, 200);

    let r = call(Method::DELETE, "/roles/store_manager", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(!role_names(&call(Method::GET, "/roles", None).await).contains(&"store_manager".to_string()));

    // Categories.
    let city = json!({"name": "City", "kind": "dropdown", "allowed_values": ["Oslo"]});
    let r = call(Method::POST, "/categories", Some(city)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r =
        call(Method::PATCH, "/categories/city", Some(json!({"allowed_values": ["Oslo", "Bergen"]}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        call(Method::GET, "/categories/City", None).await.body["allowed_values"],
        json!(["Oslo", "Bergen"])
    );
    assert_eq!(call(Method::GET, "/categories", None).await.body["categories"][0]["name"], "City");
    let r = call(Method::DELETE, "/categories/City", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    call(Method::GET, "/categories/City", None).await.assert_error(404, None);
}

#[tokio::test]
async fn another_tenants_roles_and_categories_answer_404_to_a_tenant_admin() {
    let app = TestApp::spawn().await;
    let token = tenant_token(&app, &app.creds.tenant).await;
    let globex = app.new_tenant("globex").await;
    let other = globex.tenant.clone();
    let (user, group) = user_and_group(&app, &globex, "bob@globex.test").await;
    let operator = |method: Method, rest: &str, body: Option<Value>| {
        let path = format!("/tenants/{other}{rest}");
        let app = &app;
        async move { admin_as(app, TEST_ADMIN_TOKEN, method, &path, body).await }
    };
    let r = operator(Method::POST, "/categories", Some(json!({"name": "City", "kind": "text"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = operator(Method::PUT, &format!("/groups/{group}/roles/editor"), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let roles_before = operator(Method::GET, "/roles", None).await.body;
    let settings_before = operator(Method::GET, "/settings", None).await.body;

    // Every route, with resources that exist in globex and valid bodies: only the tenant differs.
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/roles".into(), None),
        (Method::POST, "/roles".into(), Some(json!({"name": "intruder", "rank": 999}))),
        (Method::PATCH, "/roles/editor".into(), Some(json!({"rank": 999}))),
        (Method::DELETE, "/roles/editor".into(), None),
        (Method::GET, "/role-bindings".into(), None),
        (Method::PUT, format!("/groups/{group}/roles/org_admin"), None),
        (Method::DELETE, format!("/groups/{group}/roles/editor"), None),
        (
            Method::PUT,
            format!("/groups/{group}/members/{user}/group-role"),
            Some(json!({"groupRole": "manager"})),
        ),
        (Method::PUT, format!("/members/{user}/role"), Some(json!({"role": "org_admin"}))),
        (Method::GET, "/settings".into(), None),
        (Method::PUT, "/settings".into(), Some(json!({"default_role": "editor"}))),
        (Method::GET, "/positions".into(), None),
        (Method::GET, "/categories".into(), None),
        (Method::POST, "/categories".into(), Some(json!({"name": "Planet", "kind": "text"}))),
        (Method::GET, "/categories/City".into(), None),
        (Method::PATCH, "/categories/City".into(), Some(json!({"display_name": "Town"}))),
        (Method::DELETE, "/categories/City".into(), None),
    ];
    for (method, rest, body) in attempts {
        let what = format!("{method} {rest}");
        let r = admin_as(&app, &token, method, &format!("/tenants/{other}{rest}"), body).await;
        assert_eq!(r.status, 404, "{what}: {}", r.body);
        assert!(r.body["detail"].as_str().unwrap().contains("no tenant"), "{what}: {}", r.body);
    }

    // Nothing changed in globex.
    assert_eq!(operator(Method::GET, "/roles", None).await.body, roles_before);
    assert_eq!(operator(Method::GET, "/settings", None).await.body, settings_before);
    let bindings = operator(Method::GET, "/role-bindings", None).await.body;
    assert_eq!(bindings["bindings"], json!([{"group_id": group, "role_name": "editor"}]));
    let member = operator(Method::GET, &format!("/members/{user}"), None).await.body;
    assert_eq!(member["role"], "editor", "{member}");
    let categories = operator(Method::GET, "/categories", None).await.body;
    let names: Vec<&str> =
        categories["categories"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["City"]);
    assert_eq!(categories["categories"][0]["display_name"], "City");
}

/// POST a CSV to `slug`'s imports as multipart/form-data with `token`.
async fn import_as(app: &TestApp, token: &str, slug: &str, csv: &str) -> Reply {
    let boundary = "roster-scope-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    send(
        app.client
            .post(format!("{}/admin/v1/tenants/{slug}/imports", app.root))
            .bearer_auth(token)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body),
    )
    .await
}

#[tokio::test]
async fn a_tenant_admin_imports_into_its_own_tenant_only() {
    let app = TestApp::spawn().await;
    let token = tenant_token(&app, &app.creds.tenant).await;
    let globex = app.new_tenant("globex").await;
    let csv = "firstname,lastname,email\nAda,Lovelace,ada@example.test\n";
    let r = import_as(&app, &token, &app.creds.tenant, csv).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["applied"], true, "{}", r.body);
    let members =
        admin_as(&app, &token, Method::GET, &format!("/tenants/{}/members", app.creds.tenant), None).await;
    assert_eq!(members.body["members"][0]["userName"], "ada@example.test", "{}", members.body);

    let r = import_as(&app, &token, &globex.tenant, csv).await;
    r.assert_error(404, None);
    let members =
        admin_as(&app, TEST_ADMIN_TOKEN, Method::GET, &format!("/tenants/{}/members", globex.tenant), None)
            .await;
    assert_eq!(members.body["members"], json!([]), "{}", members.body);
}
