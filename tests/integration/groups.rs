//! /Groups: create with members, read, list, replace, delete, uniqueness.

use serde_json::{json, Value};

use crate::support::TestApp;

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| m.iter().map(|x| x["value"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn create_group_with_user_and_group_members() {
    let app = TestApp::spawn().await;
    let u = app.create_user("alice@example.com").await;
    let sub = app.create_group("Accounting", &[]).await;
    let r = app
        .post(
            "/Groups",
            &json!({
                // Entra adds a non-standard schema URN; it is ignored, not an error.
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "displayName": "Finance",
                "externalId": "fin-1",
                "members": [{"value": u, "$ref": null}, {"value": sub, "type": "Group"}]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:Group"]));
    let members = r.body["members"].as_array().unwrap();
    let user = members.iter().find(|m| m["value"] == u.as_str()).unwrap();
    assert_eq!(user["type"], "User");
    assert!(user.get("display").is_none(), "no invented display (RFC 7643 §2.4: client-set, immutable)");
    assert_eq!(user["$ref"], format!("{}/Users/{u}", app.creds.base));
    let group = members.iter().find(|m| m["value"] == sub.as_str()).unwrap();
    assert_eq!(group["type"], "Group");
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(r.header("location"), format!("{}/Groups/{id}", app.creds.base));
    assert_eq!(app.get(&format!("/Groups/{id}")).await.body, r.body);
}

#[tokio::test]
async fn unknown_members_are_named_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let u = app.create_user("bob@example.com").await;
    let ghost = uuid::Uuid::now_v7().to_string();
    let r = app
        .post(
            "/Groups",
            &json!({"displayName": "Ghosts", "members": [{"value": u}, {"value": ghost}, {"value": "nope"}]}),
        )
        .await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("nope") || detail.contains(&ghost), "{detail}");
    assert_eq!(app.get("/Groups").await.body["totalResults"], 0, "no group was created");
    // A user id given as type Group does not exist as a Group.
    let r = app
        .post("/Groups", &json!({"displayName": "Typed", "members": [{"value": u, "type": "Group"}]}))
        .await;
    r.assert_error(400, Some("invalidValue"));
    let r = app
        .post("/Groups", &json!({"displayName": "Typed", "members": [{"value": u, "type": "Robot"}]}))
        .await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn display_name_is_unique_case_insensitively_even_under_races() {
    let app = TestApp::spawn().await;
    app.create_group("Sales", &[]).await;
    app.post("/Groups", &json!({"displayName": "SALES"})).await.assert_error(409, Some("uniqueness"));
    let body = json!({"displayName": "Support"});
    let replies = futures_util::future::join_all((0..8).map(|_| app.post("/Groups", &body))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 7, "{statuses:?}");
}

#[tokio::test]
async fn put_replaces_attributes_and_members() {
    let app = TestApp::spawn().await;
    let (a, b, c) = (
        app.create_user("a@x.com").await,
        app.create_user("b@x.com").await,
        app.create_user("c@x.com").await,
    );
    let g = app.create_group("Ops", &[&a, &b]).await;
    let r = app
        .put(
            &format!("/Groups/{g}"),
            &json!({"displayName": "Operations", "members": [{"value": b}, {"value": c}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["displayName"], "Operations");
    let mut expected = vec![b.clone(), c.clone()];
    expected.sort();
    assert_eq!(member_ids(&r.body), expected);
    assert_eq!(member_ids(&app.get(&format!("/Groups/{g}")).await.body), expected);
    // PUT without members empties the group.
    let r = app.put(&format!("/Groups/{g}"), &json!({"displayName": "Operations"})).await;
    assert!(r.body.get("members").is_none());
    // A group cannot contain itself.
    app.put(&format!("/Groups/{g}"), &json!({"displayName": "Operations", "members": [{"value": g}]}))
        .await
        .assert_error(400, Some("invalidValue"));
    // Renaming onto another group's name is a uniqueness conflict.
    app.create_group("Legal", &[]).await;
    app.put(&format!("/Groups/{g}"), &json!({"displayName": "legal"}))
        .await
        .assert_error(409, Some("uniqueness"));
}

#[tokio::test]
async fn excluded_members_are_not_returned_and_lists_page() {
    let app = TestApp::spawn().await;
    let u = app.create_user("m@x.com").await;
    let g = app.create_group("Big", &[&u]).await;
    app.create_group("Small", &[]).await;
    let r = app.get(&format!("/Groups/{g}?excludedAttributes=members")).await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["displayName"], "Big");
    let r = app.get("/Groups?excludedAttributes=members&count=1").await;
    assert_eq!((r.body["totalResults"].clone(), r.body["itemsPerPage"].clone()), (json!(2), json!(1)));
    assert!(r.body["Resources"][0].get("members").is_none());
    let r = app.get("/Groups").await;
    assert_eq!(r.body["Resources"][0]["members"][0]["value"], u);
}

#[tokio::test]
async fn delete_group_removes_it_and_its_nesting() {
    let app = TestApp::spawn().await;
    let child = app.create_group("Child", &[]).await;
    let parent = app.create_group("Parent", &[&child]).await;
    let before = app.get(&format!("/Groups/{parent}")).await.body["meta"]["version"].clone();
    assert_eq!(app.delete(&format!("/Groups/{child}")).await.status, 204);
    app.get(&format!("/Groups/{child}")).await.assert_error(404, None);
    let p = app.get(&format!("/Groups/{parent}")).await.body;
    assert!(p.get("members").is_none());
    assert_ne!(p["meta"]["version"], before, "the parent's version moves when its members change");
    // The name is free again.
    app.create_group("child", &[]).await;
}
