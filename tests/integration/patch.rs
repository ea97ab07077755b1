//! PATCH over HTTP: deprovisioning that is never silent, atomicity, group membership deltas,
//! and strict mode. (Dialect-by-dialect flows live in conformance/cases.)

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::requests::{send, Reply};
use crate::support::TestApp;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn patch(app: &TestApp, path: &str, ops: Value) -> Reply {
    let body = json!({"schemas": [PATCH_OP], "Operations": ops});
    send(app.req(Method::PATCH, path).header("content-type", "application/scim+json").body(body.to_string()))
        .await
}

async fn status_of(app: &TestApp, id: &str) -> String {
    use roster::db::schema::users;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    users::table
        .filter(users::id.eq(id.parse::<uuid::Uuid>().unwrap()))
        .select(users::status)
        .first(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_form_of_deactivation_suspends_and_reactivation_restores() {
    let app = TestApp::spawn().await;
    let forms = [
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
        json!([{"op": "replace", "path": "active", "value": false}]),
        json!([{"op": "replace", "value": {"active": false}}]),
        json!([{"op": "Replace", "value": {"active": "false"}}]),
    ];
    let reactivations = [
        json!([{"op": "Replace", "path": "active", "value": "True"}]),
        json!([{"op": "replace", "value": {"active": true}}]),
    ];
    for (i, form) in forms.iter().enumerate() {
        let id = app.create_user(&format!("leaver{i}@example.com")).await;
        let g = app.create_group(&format!("Team {i}"), &[&id]).await;
        let r = patch(&app, &format!("/Users/{id}"), form.clone()).await;
        assert_eq!(r.status, 200, "{form}: {}", r.body);
        assert_eq!(r.body["active"], false, "{form}");
        assert_eq!(status_of(&app, &id).await, "suspended", "{form}");
        assert_eq!(app.get(&format!("/Users/{id}")).await.body["active"], false);
        // Repeating it is fine: the state already matches.
        assert_eq!(patch(&app, &format!("/Users/{id}"), form.clone()).await.status, 200);
        let back = reactivations[i % 2].clone();
        let r = patch(&app, &format!("/Users/{id}"), back).await;
        assert_eq!(r.body["active"], true);
        assert_ne!(status_of(&app, &id).await, "suspended");
        let group = app.get(&format!("/Groups/{g}")).await.body;
        assert_eq!(group["members"][0]["value"], id, "memberships survive suspension");
    }
}

/// A member's PATCH reads the member without a lock and writes only the row version it read
/// (`directory::write::member_update_as`); one that finds the member changed meanwhile is made
/// again under the member's lock. Sixteen concurrent PATCHes, each adding its own phone number:
/// every one answers 200, none is lost, and each counts one version, one event and one log row.
#[tokio::test]
async fn concurrent_patches_of_one_member_each_land_once_with_version_event_and_log_row() {
    use roster::db::provisioning_log::{self as store, LogQuery};
    // Four connections per HTTP worker: PATCHes of one member in flight together.
    let app = TestApp::spawn_with(|s| s.db_pool_size = 8).await;
    let id = app.create_user("busy@example.com").await;
    let path = format!("/Users/{id}");
    let version = |body: &Value| body["meta"]["version"].as_str().unwrap().to_string();
    let before = version(&app.get(&path).await.body);
    let number = |i: usize| format!("+47 555 {i:05}");
    let add = |i: usize| {
        let ops =
            json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": number(i), "type": "work"}]}]);
        app.patch_ops(&path, ops)
    };
    let replies = futures_util::future::join_all((0..16).map(add)).await;
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let after = app.get(&path).await.body;
    let mut numbers: Vec<String> = after["phoneNumbers"]
        .as_array()
        .expect("phone numbers")
        .iter()
        .map(|p| p["value"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    assert_eq!(numbers, (0..16).map(number).collect::<Vec<_>>(), "no PATCH lost: {after}");
    let bumped = |v: &str| v.trim_start_matches("W/").trim_matches('"').parse::<i64>().unwrap();
    assert_eq!(bumped(&version(&after)), bumped(&before) + 16, "one version per PATCH");
    let updates = app.outbox().await.into_iter().filter(|e| e.kind == "member.updated").count();
    assert_eq!(updates, 16, "one event per PATCH");
    app.flush_log().await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    let query = LogQuery { resource_id: Some(id.parse().unwrap()), limit: 100, ..LogQuery::default() };
    let rows = store::list(&mut conn, tenant.id, &query).await.unwrap();
    let patches = rows.iter().filter(|r| r.method == "PATCH" && r.status == 200).count();
    assert_eq!(patches, 16, "one log row per PATCH: {rows:?}");
}

#[tokio::test]
async fn a_request_is_atomic() {
    let app = TestApp::spawn().await;
    let id = app.create_user("atomic@example.com").await;
    let before = app.get(&format!("/Users/{id}")).await.body;
    let r = patch(
        &app,
        &format!("/Users/{id}"),
        json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "emails[type eq \"nothing\"].value", "value": "x@y.z"}
        ]),
    )
    .await;
    r.assert_error(400, Some("noTarget"));
    assert_eq!(app.get(&format!("/Users/{id}")).await.body, before, "the first operation was not applied");
}

#[tokio::test]
async fn if_match_is_honoured() {
    let app = TestApp::spawn().await;
    let id = app.create_user("v@example.com").await;
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "V"}]});
    let r = send(
        app.req(Method::PATCH, &format!("/Users/{id}"))
            .header("if-match", "W/\"99\"")
            .header("content-type", "application/scim+json")
            .body(body.to_string()),
    )
    .await;
    r.assert_error(412, None);
    let current = app.get(&format!("/Users/{id}")).await.body;
    assert_eq!(current["displayName"], Value::Null, "a refused PATCH changes nothing");
    let mut version = current["meta"]["version"].as_str().unwrap().to_string();
    assert_ne!(version, "W/\"99\"", "the stale version must really be stale");
    // The current version (alone, or in a list) lets the same PATCH through; after it, the
    // version it named is stale.
    for (in_list, name) in [(false, "V"), (true, "W")] {
        let tag = if in_list { format!("W/\"0\", {version}") } else { version.clone() };
        let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": name}]});
        let with_tag = |tag: &str| {
            app.req(Method::PATCH, &format!("/Users/{id}"))
                .header("if-match", tag)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
        };
        let ok = send(with_tag(&tag)).await;
        assert_eq!(ok.status, 200, "If-Match {tag}: {}", ok.body);
        assert_eq!(ok.body["displayName"], name);
        let new_version = ok.body["meta"]["version"].as_str().unwrap().to_string();
        assert_ne!(new_version, version, "a PATCH moves the version");
        assert_eq!(ok.header("etag"), new_version);
        send(with_tag(&version)).await.assert_error(412, None);
        assert_eq!(app.get(&format!("/Users/{id}")).await.body["displayName"], name);
        version = new_version;
    }
}

#[tokio::test]
async fn group_membership_changes_are_deltas_and_unknown_members_change_nothing() {
    let app = TestApp::spawn().await;
    let (a, b, c) = (
        app.create_user("a@x.com").await,
        app.create_user("b@x.com").await,
        app.create_user("c@x.com").await,
    );
    let g = app.create_group("Delta", &[&a]).await;
    let v1 = app.get(&format!("/Groups/{g}")).await.body["meta"]["version"].clone();
    let r = patch(
        &app,
        &format!("/Groups/{g}"),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": b}, {"value": c}]}]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.body, Value::Null, "204 has no body");
    let group = app.get(&format!("/Groups/{g}")).await.body;
    assert_eq!(group["members"].as_array().unwrap().len(), 3);
    assert_ne!(group["meta"]["version"], v1, "membership changes move the group's version");
    // Adding a member the group already has changes nothing, not even the version.
    let r = patch(
        &app,
        &format!("/Groups/{g}"),
        json!([{"op": "add", "path": "members", "value": [{"value": b}]}]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.get(&format!("/Groups/{g}")).await.body["meta"]["version"], group["meta"]["version"]);

    let ghost = uuid::Uuid::now_v7().to_string();
    let r = patch(
        &app,
        &format!("/Groups/{g}"),
        json!([{"op": "remove", "path": "members", "value": [{"value": a}]}, {"op": "add", "path": "members", "value": [{"value": ghost}]}]),
    )
    .await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains(&ghost), "{detail}");
    assert_eq!(
        app.get(&format!("/Groups/{g}")).await.body["members"].as_array().unwrap().len(),
        3,
        "nothing applied"
    );

    // Entra's flagged dialect carries `?aadOptscim062020` on its requests: still 204, no body.
    let r = patch(
        &app,
        &format!("/Groups/{g}?aadOptscim062020"),
        json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.body, Value::Null);
    let r = patch(
        &app,
        &format!("/Groups/{g}?attributes=members"),
        json!([{"op": "replace", "path": "members", "value": [{"value": c}]}]),
    )
    .await;
    assert_eq!(r.status, 200, "attributes asked for: a body");
    assert_eq!(
        r.body["members"],
        json!([{"value": c, "$ref": format!("{}/Users/{c}", app.creds.base), "type": "User"}])
    );
    let r = patch(&app, &format!("/Groups/{g}"), json!([{"op": "remove", "path": "members"}])).await;
    assert_eq!(r.status, 204);
    assert!(app.get(&format!("/Groups/{g}")).await.body.get("members").is_none());
}

#[tokio::test]
async fn strict_connections_reject_dialects_with_the_right_scim_type() {
    let app = TestApp::spawn().await;
    {
        use roster::db::schema::connections;
        let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
        diesel::update(connections::table.filter(connections::id.eq(app.creds.connection)))
            .set(connections::quirk_mode.eq("strict"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let id = app.create_user("strict@example.com").await;
    patch(&app, &format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": false}]))
        .await
        .assert_error(400, Some("invalidSyntax"));
    patch(&app, &format!("/Users/{id}"), json!([{"op": "replace", "path": "active", "value": "False"}]))
        .await
        .assert_error(400, Some("invalidValue"));
    // The RFC form still works.
    let r =
        patch(&app, &format!("/Users/{id}"), json!([{"op": "replace", "path": "active", "value": false}]))
            .await;
    assert_eq!((r.status.as_u16(), r.body["active"].clone()), (200, json!(false)));
}
