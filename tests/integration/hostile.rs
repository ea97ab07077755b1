//! No input produces a 5xx: values PostgreSQL cannot store (NUL) and values over the length
//! limits are 400s naming the attribute and the limit, on every write path (POST, PUT, PATCH,
//! `/Bulk`) and in filters, and nothing is written.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::requests::{send, Reply};
use crate::support::TestApp;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const NUL: &str = "a\u{0}b";

fn long(n: usize) -> String {
    "x".repeat(n)
}

/// Assert a 400 `invalidValue` whose short detail names `attr` and contains `fragment`.
fn assert_refused(r: &Reply, attr: &str, fragment: &str) {
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains(attr), "{detail:?} should name {attr}");
    assert!(detail.contains(fragment), "{detail:?} should contain {fragment:?}");
    assert!(detail.len() < 300, "the detail must not echo the value: {detail}");
}

/// User bodies that cannot be stored: (body, attribute named, fragment of the detail).
fn bad_users() -> Vec<(Value, &'static str, &'static str)> {
    vec![
        (json!({"schemas": [USER], "userName": NUL}), "userName", "U+0000"),
        (json!({"schemas": [USER], "userName": "n@x.io", "nickName": NUL}), "nickName", "U+0000"),
        (json!({"schemas": [USER], "userName": "t@x.io", "title": NUL}), "title", "U+0000"),
        (
            json!({"schemas": [USER], "userName": "e@x.io", "emails": [{"value": NUL}]}),
            "emails.value",
            "U+0000",
        ),
        (
            json!({"schemas": [USER], "userName": "d@x.io", ENTERPRISE: {"department": NUL}}),
            "department",
            "U+0000",
        ),
        (json!({"schemas": [USER], "userName": long(3000)}), "userName", "at most 1024"),
        (
            json!({"schemas": [USER], "userName": "x@x.io", "externalId": long(3000)}),
            "externalId",
            "at most 1024",
        ),
        (
            json!({"schemas": [USER], "userName": "m@x.io", "emails": [{"value": long(3000)}]}),
            "emails.value",
            "at most 1024",
        ),
        (json!({"schemas": [USER], "userName": "p@x.io", "title": long(201)}), "title", "at most 200"),
        (
            json!({"schemas": [USER], "userName": "g@x.io", "nickName": long(16_385)}),
            "nickName",
            "at most 16384",
        ),
    ]
}

fn bad_groups() -> Vec<(Value, &'static str, &'static str)> {
    vec![
        (json!({"schemas": [GROUP], "displayName": NUL}), "displayName", "U+0000"),
        (json!({"schemas": [GROUP], "displayName": long(3000)}), "displayName", "at most 1024"),
        (
            json!({"schemas": [GROUP], "displayName": "G", "externalId": long(3000)}),
            "externalId",
            "at most 1024",
        ),
    ]
}

async fn totals(app: &TestApp) -> (Value, Value) {
    (
        app.get("/Users").await.body["totalResults"].clone(),
        app.get("/Groups").await.body["totalResults"].clone(),
    )
}

#[tokio::test]
async fn post_and_put_of_unstorable_or_overlong_values_are_400_and_write_nothing() {
    let app = TestApp::spawn_with(|s| s.max_body_bytes = 1_048_576).await;
    let existing = app.create_user("existing@x.io").await;
    let group = app.create_group("Existing", &[]).await;
    let before = app.get(&format!("/Users/{existing}")).await.body;
    for (body, attr, fragment) in bad_users() {
        assert_refused(&app.post("/Users", &body).await, attr, fragment);
        assert_refused(&app.put(&format!("/Users/{existing}"), &body).await, attr, fragment);
    }
    for (body, attr, fragment) in bad_groups() {
        assert_refused(&app.post("/Groups", &body).await, attr, fragment);
        assert_refused(&app.put(&format!("/Groups/{group}"), &body).await, attr, fragment);
    }
    assert_eq!(totals(&app).await, (json!(1), json!(1)), "nothing was created");
    assert_eq!(app.get(&format!("/Users/{existing}")).await.body, before, "nothing was replaced");
}

async fn patch(app: &TestApp, path: &str, ops: Value) -> Reply {
    send(
        app.req(Method::PATCH, path)
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": [PATCH_OP], "Operations": ops}).to_string()),
    )
    .await
}

#[tokio::test]
async fn patch_of_unstorable_or_overlong_values_is_400_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let user = app.create_user("patched@x.io").await;
    let group = app.create_group("Patched", &[]).await;
    let before = app.get(&format!("/Users/{user}")).await.body;
    let user_ops = [
        (json!([{"op": "replace", "path": "userName", "value": NUL}]), "userName", "U+0000"),
        (json!([{"op": "replace", "path": "nickName", "value": NUL}]), "nickName", "U+0000"),
        (json!([{"op": "add", "path": "title", "value": NUL}]), "title", "U+0000"),
        (json!([{"op": "add", "value": {"title": long(201)}}]), "title", "at most 200"),
        (json!([{"op": "replace", "path": "userName", "value": long(3000)}]), "userName", "at most 1024"),
        (json!([{"op": "add", "path": "emails", "value": [{"value": NUL}]}]), "emails.value", "U+0000"),
        (
            json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": long(1025)}]),
            "emails.value",
            "at most 1024",
        ),
    ];
    for (ops, attr, fragment) in user_ops {
        assert_refused(&patch(&app, &format!("/Users/{user}"), ops).await, attr, fragment);
    }
    assert_eq!(app.get(&format!("/Users/{user}")).await.body, before);
    for (ops, attr, fragment) in [
        (json!([{"op": "replace", "path": "displayName", "value": NUL}]), "displayName", "U+0000"),
        (json!([{"op": "replace", "value": {"displayName": long(3000)}}]), "displayName", "at most 1024"),
    ] {
        assert_refused(&patch(&app, &format!("/Groups/{group}"), ops).await, attr, fragment);
    }
    // A NUL inside a PATCH path's filter is a path error, not a stored value.
    let r = patch(
        &app,
        &format!("/Users/{user}"),
        json!([{"op": "remove", "path": "emails[value eq \"\\u0000\"]"}]),
    )
    .await;
    let detail = r.assert_error(400, Some("invalidPath"));
    assert!(detail.contains("U+0000"), "{detail}");
}

#[tokio::test]
async fn nul_in_a_filter_is_invalid_filter_naming_the_attribute() {
    let app = TestApp::spawn().await;
    app.create_user("f@x.io").await;
    for filter in
        [r#"userName eq "a\u0000""#, r#"emails[value co "\u0000"]"#, r#"title sw "\u0000" or active eq true"#]
    {
        let r = send(app.req(Method::GET, "/Users").query(&[("filter", filter)])).await;
        let detail = r.assert_error(400, Some("invalidFilter"));
        assert!(detail.contains("U+0000"), "{detail}");
        let search =
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter});
        let r = app.post("/Users/.search", &search).await;
        r.assert_error(400, Some("invalidFilter"));
    }
    let r = send(app.req(Method::GET, "/Users").query(&[("filter", r#"userName eq "a\u0000""#)])).await;
    assert!(r.body["detail"].as_str().unwrap().contains("userName"), "{}", r.body);
    let r = send(
        app.req(Method::GET, "/Groups").query(&[("filter", format!("displayName eq \"{}\"", long(5000)))]),
    )
    .await;
    let detail = r.assert_error(400, Some("invalidFilter"));
    assert!(detail.contains("longer than 4096"), "{detail}");
}

#[tokio::test]
async fn bulk_operations_with_unstorable_or_overlong_values_fail_alone() {
    let app = TestApp::spawn().await;
    let target = app.create_user("bulk-target@x.io").await;
    let mut ops = Vec::new();
    for (i, (data, _, _)) in bad_users().into_iter().chain(bad_groups()).enumerate() {
        let path = if data["schemas"][0] == USER { "/Users" } else { "/Groups" };
        ops.push(json!({"method": "POST", "path": path, "bulkId": format!("b{i}"), "data": data}));
    }
    ops.push(json!({"method": "PATCH", "path": format!("/Users/{target}"),
        "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": long(201)}]}}));
    ops.push(json!({"method": "POST", "path": "/Users", "bulkId": "ok", "data": {"schemas": [USER], "userName": "fine@x.io"}}));
    let n = ops.len();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops});
    let r = send(
        app.req(Method::POST, "/Bulk").header("content-type", "application/scim+json").body(body.to_string()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let results = r.body["Operations"].as_array().unwrap();
    assert_eq!(results.len(), n);
    for op in &results[..n - 1] {
        assert_eq!(op["status"], "400", "{op}");
        assert_eq!(op["response"]["scimType"], "invalidValue", "{op}");
        assert!(op["response"]["detail"].as_str().unwrap().len() < 300, "{op}");
    }
    assert_eq!(results[n - 1]["status"], "201", "the valid operation still runs");
    assert_eq!(totals(&app).await, (json!(2), json!(0)));
}

#[tokio::test]
async fn admin_api_inputs_with_nul_or_overlong_text_are_4xx() {
    use crate::support::TEST_ADMIN_TOKEN;
    let app = TestApp::spawn().await;
    let admin = |method: Method, path: &str| {
        app.client.request(method, format!("{}/admin/v1{path}", app.root)).bearer_auth(TEST_ADMIN_TOKEN)
    };
    let t = app.creds.tenant.clone();
    let member = app.create_user("admin-nul@x.io").await;
    let json_requests: Vec<(Method, String, Value)> = vec![
        (Method::POST, "/tenants".into(), json!({"slug": "nul", "name": NUL})),
        (Method::POST, "/tenants".into(), json!({"slug": NUL, "name": "x"})),
        (Method::POST, format!("/tenants/{t}/connections"), json!({"name": NUL})),
        (Method::POST, format!("/tenants/{t}/admin-tokens"), json!({"label": NUL})),
        (Method::POST, format!("/tenants/{t}/roles"), json!({"name": "r", "display_name": NUL, "rank": 5})),
        (Method::POST, format!("/tenants/{t}/roles"), json!({"name": NUL, "rank": 6})),
        (
            Method::POST,
            format!("/tenants/{t}/categories"),
            json!({"name": "City", "kind": "text", "display_name": NUL}),
        ),
        (
            Method::POST,
            format!("/tenants/{t}/categories"),
            json!({"name": "Dd", "kind": "dropdown", "allowed_values": [NUL]}),
        ),
        (Method::PUT, format!("/tenants/{t}/settings"), json!({"position_source": NUL})),
        (Method::PUT, format!("/tenants/{t}/members/{member}/role"), json!({"role": NUL})),
        (Method::POST, "/tenants".into(), json!({"slug": "long", "name": long(100_000)})),
    ];
    for (method, path, body) in json_requests {
        let r = send(
            admin(method.clone(), &path).header("content-type", "application/json").body(body.to_string()),
        )
        .await;
        assert!(r.status.is_client_error(), "{method} {path}: {} {}", r.status, r.body);
    }
    for path in [
        "/tenants/%00".to_string(),
        format!("/tenants/{t}/roles/%00"),
        format!("/tenants/{t}/categories/%00"),
        format!("/tenants/{t}/members?q=%00"),
        format!("/tenants/{t}/members?role=%00"),
        format!("/tenants/{t}/members?origin=%00&status=%00"),
        format!("/tenants/{t}/log?connection=%00"),
    ] {
        let r = send(admin(Method::GET, &path)).await;
        assert!(r.status.is_client_error(), "GET {path}: {} {}", r.status, r.body);
    }
}

#[tokio::test]
async fn a_long_value_of_another_position_source_names_a_position_cut_to_200_characters() {
    use crate::support::TEST_ADMIN_TOKEN;
    let app = TestApp::spawn().await;
    let settings = format!("{}/admin/v1/tenants/{}/settings", app.root, app.creds.tenant);
    let source = format!("{ENTERPRISE}:department");
    let r = send(
        app.client.put(settings).bearer_auth(TEST_ADMIN_TOKEN).json(&json!({"position_source": source})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let department = format!("{}{}", "d".repeat(199), "é".repeat(300));
    let body =
        json!({"schemas": [USER], "userName": "longdept@x.io", ENTERPRISE: {"department": department}});
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let position = &r.body["urn:ietf:params:scim:schemas:extension:roster:2.0:User"]["position"];
    assert_eq!(position.as_str().map(|p| p.chars().count()), Some(200), "{position}");
    assert!(position.as_str().unwrap().starts_with(&"d".repeat(199)));
    assert_eq!(r.body[ENTERPRISE]["department"], json!(department), "the attribute itself is kept whole");
}
