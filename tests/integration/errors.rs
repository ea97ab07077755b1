//! Every error a client can see is an RFC 7644 §3.12 body with the right status and scimType.

use reqwest::Method;
use serde_json::json;

use crate::support::requests::send;
use crate::support::TestApp;

#[tokio::test]
async fn malformed_json_is_invalid_syntax_naming_the_position() {
    let app = TestApp::spawn().await;
    let r = send(
        app.req(Method::POST, "/Users")
            .header("content-type", "application/scim+json")
            .body("{\"userName\": "),
    )
    .await;
    let detail = r.assert_error(400, Some("invalidSyntax"));
    assert!(detail.contains("line 1"), "{detail}");
    let r = send(app.req(Method::POST, "/Users").header("content-type", "application/scim+json")).await;
    r.assert_error(400, Some("invalidSyntax"));
    app.post("/Users", &json!(["not", "an", "object"])).await.assert_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn wrong_types_are_invalid_value_naming_the_attribute() {
    let app = TestApp::spawn().await;
    for (body, attr) in [
        (json!({"userName": 42}), "userName"),
        (json!({"userName": "x", "active": "maybe"}), "active"),
        (json!({"userName": "x", "emails": {"value": "a@b.c"}}), "emails"),
        (json!({"userName": "x", "name": "Barbara"}), "name"),
        (
            json!({"userName": "x", "emails": [{"value": "a@b.c", "primary": true}, {"value": "d@e.f", "primary": true}]}),
            "emails",
        ),
    ] {
        let detail = app.post("/Users", &body).await.assert_error(400, Some("invalidValue"));
        assert!(detail.contains(attr), "{detail} should name {attr}");
    }
    let detail = app
        .post("/Users", &json!({"displayName": "no user name"}))
        .await
        .assert_error(400, Some("invalidValue"));
    assert!(detail.contains("userName"), "{detail}");
    app.post("/Groups", &json!({"members": []})).await.assert_error(400, Some("invalidValue"));
    assert_eq!(app.get("/Users").await.body["totalResults"], 0, "nothing partial was written");
}

#[tokio::test]
async fn string_booleans_are_accepted_for_boolean_attributes() {
    let app = TestApp::spawn().await;
    let r = app.post("/Users", &json!({"userName": "sb@example.com", "active": "False"})).await;
    assert_eq!((r.status.as_u16(), r.body["active"].clone()), (201, json!(false)));
}

#[tokio::test]
async fn unknown_routes_methods_and_media_types() {
    let app = TestApp::spawn().await;
    app.get("/Nope").await.assert_error(404, None);
    send(app.client.get(format!("{}/nothing/here", app.root))).await.assert_error(404, None);
    let r = send(app.req(Method::DELETE, "/Users")).await;
    r.assert_error(405, None);
    assert!(r.header("allow").contains("POST"));
    send(app.req(Method::POST, "/ServiceProviderConfig")).await.assert_error(405, None);
    let r =
        send(app.req(Method::POST, "/Users").header("content-type", "text/plain").body("userName=x")).await;
    r.assert_error(415, None);
    app.get("/Users/not-a-uuid").await.assert_error(404, None);
    app.get(&format!("/Users/{}", uuid::Uuid::now_v7())).await.assert_error(404, None);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = TestApp::spawn_with(|s| s.max_body_bytes = 4096).await;
    let big = json!({"userName": "big@example.com", "displayName": "x".repeat(10_000)});
    let detail = app.post("/Users", &big).await.assert_error(413, None);
    assert!(detail.contains("4096"), "{detail}");
}

#[tokio::test]
async fn unsupported_features_answer_with_the_right_error() {
    let app = TestApp::spawn().await;
    app.get("/Me").await.assert_error(501, None);
    app.get("/Schemas?filter=id%20pr").await.assert_error(403, None);
}

#[tokio::test]
async fn non_integer_paging_is_invalid_value() {
    let app = TestApp::spawn().await;
    app.get("/Users?count=ten").await.assert_error(400, Some("invalidValue"));
    app.get("/Users?startIndex=1.5").await.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn a_charset_other_than_utf8_is_415_with_a_scim_error() {
    let app = TestApp::spawn().await;
    let body = json!({"userName": "cs@example.com"}).to_string();
    for charset in ["utf-16", "UTF-16LE", "iso-8859-1"] {
        let ct = format!("application/scim+json; charset={charset}");
        let r = send(app.req(Method::POST, "/Users").header("content-type", ct).body(body.clone())).await;
        let detail = r.assert_error(415, None);
        assert!(detail.contains("UTF-8"), "{detail}");
    }
    let utf16: Vec<u8> = body.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let r = send(
        app.req(Method::POST, "/Users")
            .header("content-type", "application/json; charset=utf-16")
            .body(utf16),
    )
    .await;
    r.assert_error(415, None);
    let r = send(
        app.req(Method::POST, "/Users")
            .header("content-type", "application/scim+json; charset=UTF-8")
            .body(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
}
