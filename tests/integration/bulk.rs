//! /Bulk (RFC 7644 §3.7): bulkId references, cycles, failOnErrors, per-operation errors,
//! limits, request shape and tenant isolation.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::requests::{send, Reply};
use crate::support::{Credentials, TestApp};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn bulk_body(ops: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": ops})
}

async fn bulk_as(app: &TestApp, creds: &Credentials, body: &Value) -> Reply {
    send(
        app.req_as(creds, Method::POST, "/Bulk")
            .header("content-type", "application/scim+json")
            .body(body.to_string()),
    )
    .await
}

/// POST /Bulk and return the response's operations (asserting a 200 BulkResponse).
async fn bulk(app: &TestApp, body: &Value) -> Vec<Value> {
    let r = bulk_as(app, &app.creds, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("content-type").starts_with("application/scim+json"));
    assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]));
    r.body["Operations"].as_array().expect("Operations").clone()
}

fn statuses(ops: &[Value]) -> Vec<&str> {
    ops.iter().map(|o| o["status"].as_str().expect("status is a string")).collect()
}

fn id_of(op: &Value) -> String {
    op["location"].as_str().expect("location").rsplit('/').next().expect("id").to_string()
}

fn post_user(bulk_id: &str, user_name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id,
           "data": {"schemas": [USER], "userName": user_name}})
}

fn post_group(bulk_id: &str, name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"type": "User", "value": m})).collect();
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
           "data": {"schemas": [GROUP], "displayName": name, "members": members}})
}

#[tokio::test]
async fn rfc_example_with_a_forward_reference_put_patch_and_delete() {
    let app = TestApp::spawn().await;
    let old = app.create_user("bjensen@example.com").await;
    let doomed = app.create_user("leaver@example.com").await;
    let ops = bulk(
        &app,
        &bulk_body(json!([
            // RFC 7644 §3.7.2: the group names a user POSTed later in the same request.
            post_group("ytrewq", "Tour Guides", &["bulkId:qwerty"]),
            post_user("qwerty", "alice@example.com"),
            {"method": "PUT", "path": format!("/Users/{old}"), "version": "W/\"1\"",
             "data": {"schemas": [USER], "userName": "bjensen@example.com", "nickName": "Babs"}},
            {"method": "patch", "path": "/Users/bulkId:qwerty",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title", "value": "Guide"}]}},
            {"method": "DELETE", "path": format!("/Users/{doomed}")},
            {"method": "PATCH", "path": "/Groups/bulkId:ytrewq",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": old}]}]}},
        ])),
    )
    .await;
    assert_eq!(statuses(&ops), ["201", "201", "200", "200", "204", "204"], "{ops:#?}");
    let methods: Vec<&str> = ops.iter().map(|o| o["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["POST", "POST", "PUT", "PATCH", "DELETE", "PATCH"]);
    assert_eq!((ops[0]["bulkId"].as_str(), ops[1]["bulkId"].as_str()), (Some("ytrewq"), Some("qwerty")));
    for op in &ops {
        assert!(op.get("response").is_none(), "no body on success: {op}");
        assert!(op["location"].as_str().unwrap().starts_with(&app.creds.base), "{op}");
    }
    let (group, alice) = (id_of(&ops[0]), id_of(&ops[1]));
    assert_eq!(ops[0]["location"], format!("{}/Groups/{group}", app.creds.base));
    assert_eq!(ops[1]["location"], format!("{}/Users/{alice}", app.creds.base));
    assert_eq!(id_of(&ops[2]), old);
    assert_eq!(id_of(&ops[3]), alice, "the bulkId in the path was resolved");
    assert!(ops[4].get("version").is_none());

    // Versions are the resources' ETags as they are now.
    let g = app.get(&format!("/Groups/{group}")).await;
    assert_eq!(ops[5]["version"], g.header("etag"));
    assert_eq!(ops[0]["version"], "W/\"1\"");
    assert_eq!(ops[5]["version"], "W/\"2\"");
    let a = app.get(&format!("/Users/{alice}")).await;
    assert_eq!(
        (ops[3]["version"].as_str(), a.body["title"].as_str()),
        (Some(a.header("etag")), Some("Guide"))
    );
    let b = app.get(&format!("/Users/{old}")).await;
    assert_eq!(
        (ops[2]["version"].as_str(), b.body["nickName"].as_str()),
        (Some(b.header("etag")), Some("Babs"))
    );
    app.get(&format!("/Users/{doomed}")).await.assert_error(404, None);

    // The group really contains the user created after it in the request, and the PATCHed one.
    let mut members: Vec<&str> =
        g.body["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    members.sort_unstable();
    let mut expected = [alice.as_str(), old.as_str()];
    expected.sort_unstable();
    assert_eq!(members, expected);
    let groups = &a.body["groups"];
    assert_eq!(groups[0]["value"], group.as_str(), "{}", a.body);
}

#[tokio::test]
async fn circular_references_fail_with_409_and_nothing_else_is_affected() {
    let app = TestApp::spawn().await;
    let ops = bulk(
        &app,
        &bulk_body(json!([
            post_user("free", "free@example.com"),
            post_group("A", "Group A", &["bulkId:B"]),
            post_group("B", "Group B", &["bulkId:A"]),
            post_group("fine", "Fine", &["bulkId:free"]),
        ])),
    )
    .await;
    assert_eq!(statuses(&ops), ["201", "409", "409", "201"], "{ops:#?}");
    for op in &ops[1..3] {
        let response = &op["response"];
        assert_eq!(response["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
        assert_eq!(response["status"], "409");
        let detail = response["detail"].as_str().unwrap();
        assert!(
            detail.contains("circular") && detail.contains("\"A\"") && detail.contains("\"B\""),
            "{detail}"
        );
        assert!(op.get("location").is_none(), "a failed POST has no location");
    }
    let groups = app.get("/Groups").await.body;
    assert_eq!(groups["totalResults"], 1, "only the group outside the cycle exists: {groups}");
    assert_eq!(groups["Resources"][0]["displayName"], "Fine");
    assert_eq!(groups["Resources"][0]["members"][0]["value"], id_of(&ops[0]).as_str());
}

#[tokio::test]
async fn fail_on_errors_stops_after_that_many_failures() {
    let app = TestApp::spawn().await;
    app.create_user("taken@example.com").await;
    let ops = json!([post_user("dup", "TAKEN@example.com"), post_user("new", "new@example.com")]);
    let mut body = bulk_body(ops.clone());
    body["failOnErrors"] = json!(1);
    let done = bulk(&app, &body).await;
    assert_eq!(done.len(), 1, "the operations not run are absent: {done:#?}");
    assert_eq!((done[0]["bulkId"].as_str(), done[0]["status"].as_str()), (Some("dup"), Some("409")));
    assert_eq!(app.get("/Users?filter=userName%20eq%20%22new@example.com%22").await.body["totalResults"], 0);

    // Without failOnErrors every operation runs despite the failure.
    let done = bulk(&app, &bulk_body(ops)).await;
    assert_eq!(statuses(&done), ["409", "201"]);
}

#[tokio::test]
async fn each_operation_carries_its_own_scim_error() {
    let app = TestApp::spawn().await;
    let existing = app.create_user("taken@example.com").await;
    let ghost = uuid::Uuid::now_v7();
    let ops = bulk(
        &app,
        &bulk_body(json!([
            post_user("dup", "taken@example.com"),
            {"method": "PUT", "path": format!("/Users/{ghost}"), "data": {"userName": "x@example.com"}},
            {"method": "DELETE", "path": format!("/Groups/{ghost}")},
            {"method": "DELETE", "path": format!("/Users/{existing}"), "version": "W/\"9\""},
            post_group("g", "Orphans", &["bulkId:nobody"]),
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"userName": 42}},
            {"method": "POST", "path": "/Printers", "bulkId": "p", "data": {}},
            post_user("ok", "ok@example.com"),
        ])),
    )
    .await;
    assert_eq!(statuses(&ops), ["409", "404", "404", "412", "409", "400", "404", "201"], "{ops:#?}");
    assert_eq!(ops[0]["response"]["scimType"], "uniqueness");
    assert!(ops[0].get("location").is_none());
    assert_eq!(
        ops[1]["location"],
        format!("{}/Users/{ghost}", app.creds.base),
        "failed PUT names its target"
    );
    assert_eq!(ops[1]["response"]["status"], "404");
    assert_eq!(ops[3]["response"]["status"], "412");
    assert_eq!(ops[4]["response"]["scimType"], "invalidValue");
    assert!(ops[4]["response"]["detail"].as_str().unwrap().contains("bulkId:nobody"));
    assert_eq!(ops[5]["response"]["scimType"], "invalidValue");
    // The failures wrote nothing: the user that was to be deleted is still there.
    assert_eq!(app.get(&format!("/Users/{existing}")).await.status, 200);
    assert_eq!(app.get("/Groups").await.body["totalResults"], 0);
}

#[tokio::test]
async fn a_reference_to_a_failed_post_is_409_invalid_value() {
    let app = TestApp::spawn().await;
    app.create_user("taken@example.com").await;
    let ops = bulk(
        &app,
        &bulk_body(json!([post_group("g", "Team", &["bulkId:u"]), post_user("u", "taken@example.com")])),
    )
    .await;
    assert_eq!(statuses(&ops), ["409", "409"]);
    assert_eq!(ops[0]["response"]["scimType"], "invalidValue");
    assert!(ops[0]["response"]["detail"].as_str().unwrap().contains("bulkId:u"), "{}", ops[0]);
    assert_eq!(ops[1]["response"]["scimType"], "uniqueness");
}

#[tokio::test]
async fn too_many_operations_is_413_naming_max_operations() {
    let app = TestApp::spawn().await;
    let ops: Vec<Value> =
        (0..1001).map(|i| post_user(&format!("u{i}"), &format!("u{i}@example.com"))).collect();
    let r = bulk_as(&app, &app.creds, &bulk_body(Value::Array(ops))).await;
    let detail = r.assert_error(413, None);
    assert!(detail.contains("maxOperations (1000"), "{detail}");
    assert_eq!(app.get("/Users").await.body["totalResults"], 0, "nothing was run");
}

#[tokio::test]
async fn bulk_has_its_own_payload_limit() {
    // Smaller than the global body limit: 413 naming the bulk limit.
    let app = TestApp::spawn_with(|s| s.bulk_max_payload_bytes = 4096).await;
    let big = bulk_body(json!([{"method": "POST", "path": "/Users", "bulkId": "b",
        "data": {"userName": "big@example.com", "displayName": "x".repeat(10_000)}}]));
    let detail = bulk_as(&app, &app.creds, &big).await.assert_error(413, None);
    assert!(detail.contains("maxPayloadSize (4096 bytes"), "{detail}");
    let spc = app.get("/ServiceProviderConfig").await.body;
    assert_eq!(spc["bulk"], json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 4096}));

    // Larger than the global body limit: the bulk limit applies on /Bulk, the global one elsewhere.
    let app = TestApp::spawn_with(|s| s.max_body_bytes = 4096).await;
    let ops = bulk(&app, &big).await;
    assert_eq!(statuses(&ops), ["201"]);
    app.post("/Users", &big["Operations"][0]["data"]).await.assert_error(413, None);
}

#[tokio::test]
async fn a_request_that_is_not_a_bulk_request_is_invalid_syntax() {
    let app = TestApp::spawn().await;
    for body in [
        json!({"Operations": []}),
        json!({"schemas": [BULK_REQUEST]}),
        json!({"schemas": [BULK_REQUEST], "Operations": {"method": "POST"}}),
        json!({"schemas": [BULK_REQUEST], "Operations": ["POST /Users"]}),
        json!({"schemas": [BULK_REQUEST], "failOnErrors": 0, "Operations": []}),
        bulk_body(json!([post_user("same", "a@example.com"), post_user("same", "b@example.com")])),
    ] {
        bulk_as(&app, &app.creds, &body).await.assert_error(400, Some("invalidSyntax"));
    }
    let r =
        send(app.req(Method::POST, "/Bulk").header("content-type", "application/scim+json").body("{\"sch"))
            .await;
    r.assert_error(400, Some("invalidSyntax"));
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
    // An empty bulk is a valid one.
    assert!(bulk(&app, &bulk_body(json!([]))).await.is_empty());
}

#[tokio::test]
async fn bulk_needs_a_token_and_only_takes_post() {
    let app = TestApp::spawn().await;
    let r = send(app.client.post(format!("{}/Bulk", app.creds.base)).body("{}")).await;
    r.assert_error(401, None);
    let r = app.get("/Bulk").await;
    r.assert_error(405, None);
    assert_eq!(r.header("allow"), "POST");
}

#[tokio::test]
async fn a_bulk_operation_cannot_touch_another_tenants_resources() {
    let app = TestApp::spawn().await;
    let other = app.new_tenant("globex").await;
    let theirs = app.req_as(&other, Method::POST, "/Users").header("content-type", "application/scim+json");
    let r = send(theirs.body(json!({"userName": "ceo@globex.example"}).to_string())).await;
    let user = r.body["id"].as_str().unwrap().to_string();
    let theirs = app.req_as(&other, Method::POST, "/Groups").header("content-type", "application/scim+json");
    let group = send(theirs.body(json!({"displayName": "Board"}).to_string())).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ops = bulk(
        &app,
        &bulk_body(json!([
            {"method": "PUT", "path": format!("/Users/{user}"), "data": {"userName": "pwned@example.com"}},
            {"method": "PATCH", "path": format!("/Users/{user}"),
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}},
            {"method": "DELETE", "path": format!("/Users/{user}")},
            {"method": "DELETE", "path": format!("/Groups/{group}")},
            post_group("g", "Mine", &[&user]),
        ])),
    )
    .await;
    assert_eq!(statuses(&ops), ["404", "404", "404", "404", "400"], "{ops:#?}");
    let r = send(app.req_as(&other, Method::GET, &format!("/Users/{user}"))).await;
    assert_eq!((r.body["userName"].as_str(), r.body["active"].as_bool()), (Some("ceo@globex.example"), None));
    assert_eq!(send(app.req_as(&other, Method::GET, &format!("/Groups/{group}"))).await.status, 200);
}

#[tokio::test]
async fn every_operation_has_its_own_provisioning_log_row() {
    use roster::db::provisioning_log::{self as store, LogQuery};
    let app = TestApp::spawn().await;
    app.create_user("taken@example.com").await;
    let ops = bulk(
        &app,
        &bulk_body(json!([post_user("a", "fresh@example.com"), post_user("b", "taken@example.com")])),
    )
    .await;
    assert_eq!(statuses(&ops), vec!["201", "409"]);
    let created = id_of(&ops[0]);
    app.flush_log().await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    let rows =
        store::list(&mut conn, tenant.id, &LogQuery { limit: 100, ..LogQuery::default() }).await.unwrap();
    let op0 =
        rows.iter().find(|r| r.operation.starts_with("bulk[0] POST /Users")).expect("row for operation 0");
    assert_eq!((op0.status, op0.resource_id.map(|u| u.to_string())), (201, Some(created)));
    let op1 =
        rows.iter().find(|r| r.operation.starts_with("bulk[1] POST /Users")).expect("row for operation 1");
    assert_eq!((op1.status, op1.scim_type.as_deref()), (409, Some("uniqueness")));
    assert_eq!(op0.request_id, op1.request_id, "rows of one bulk request share its request id");
    assert!(rows.iter().any(|r| r.operation.contains("/Bulk")), "and the request itself has its row");
}
