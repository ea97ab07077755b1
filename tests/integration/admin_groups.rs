//! Groups and memberships through the admin API: every write is the SCIM write (the SCIM API
//! sees it, the outbox has its event), memberships carry a group role, and bad input changes
//! nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::requests::{send, Reply};
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

/// An operator request under the default tenant (`/tenants/<acme>{rest}`).
async fn op(app: &TestApp, method: Method, rest: &str, body: Option<Value>) -> Reply {
    let path = format!("/tenants/{}{rest}", app.creds.tenant);
    app.admin_call(TEST_ADMIN_TOKEN, method, &path, body.as_ref()).await
}

/// The tenant's outbox as (kind, subject) pairs.
pub(crate) async fn outbox(app: &TestApp) -> Vec<(String, String)> {
    app.outbox().await.into_iter().map(|e| (e.kind, e.subject_id.to_string())).collect()
}

async fn create_group(app: &TestApp, name: &str, parent: Option<&str>) -> String {
    let r = op(app, Method::POST, "/groups", Some(json!({"displayName": name, "parent": parent}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_group_created_through_the_admin_api_is_a_scim_group_with_its_event() {
    let app = TestApp::spawn().await;
    let r = op(&app, Method::POST, "/groups", Some(json!({"displayName": "Sales"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["displayName"], "Sales");
    assert_eq!(r.body["parentId"], Value::Null);
    let id = r.body["id"].as_str().unwrap().to_string();

    let scim = app.get(&format!("/Groups/{id}")).await;
    assert_eq!(scim.status, 200, "{}", scim.body);
    assert_eq!(scim.body["displayName"], "Sales");
    assert!(outbox(&app).await.contains(&("group.created".to_string(), id.clone())));

    // The same uniqueness as SCIM (case-insensitive), and nothing else is written.
    let dup = op(&app, Method::POST, "/groups", Some(json!({"displayName": "SALES"}))).await;
    assert_eq!(dup.status, 409, "{}", dup.body);
    assert_eq!(dup.body["scimType"], "uniqueness");
    let unknown =
        op(&app, Method::POST, "/groups", Some(json!({"displayName": "X", "parent": "nope"}))).await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    let missing = uuid::Uuid::now_v7();
    let unknown =
        op(&app, Method::POST, "/groups", Some(json!({"displayName": "X", "parent": missing}))).await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert!(unknown.body["detail"].as_str().unwrap().contains("parent"), "{}", unknown.body);
    for bad in
        [json!({"displayName": "a\u{0}b"}), json!({"displayName": ""}), json!({"name": "x"}), json!([])]
    {
        let r = op(&app, Method::POST, "/groups", Some(bad.clone())).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let tree = op(&app, Method::GET, "/groups/tree", None).await;
    assert_eq!(tree.body["groups"].as_array().unwrap().len(), 1, "{}", tree.body);
}

#[tokio::test]
async fn rename_move_and_delete_are_the_scim_writes() {
    let app = TestApp::spawn().await;
    let finance = create_group(&app, "Finance", None).await;
    let audit = create_group(&app, "Audit", Some(&finance)).await;

    let r =
        op(&app, Method::PATCH, &format!("/groups/{audit}"), Some(json!({"displayName": "Internal audit"})))
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["displayName"], "Internal audit");
    assert_eq!(r.body["parentId"], finance.as_str());
    assert_eq!(app.get(&format!("/Groups/{audit}")).await.body["displayName"], "Internal audit");
    assert!(outbox(&app).await.contains(&("group.updated".to_string(), audit.clone())));

    // A cycle is refused, as over SCIM.
    let r = op(&app, Method::PUT, &format!("/groups/{finance}/parent"), Some(json!({"parent": audit}))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");

    let r = op(&app, Method::DELETE, &format!("/groups/{finance}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.get(&format!("/Groups/{finance}")).await.status, 404);
    assert!(outbox(&app).await.contains(&("group.deleted".to_string(), finance.clone())));
    let tree = op(&app, Method::GET, "/groups/tree", None).await;
    assert_eq!(
        tree.body["groups"],
        json!([{"id": audit, "displayName": "Internal audit", "kind": null,
                                            "parentId": null, "directMembers": 0}])
    );
    let again = op(&app, Method::DELETE, &format!("/groups/{finance}"), None).await;
    assert_eq!(again.status, 404, "{}", again.body);
    let r =
        op(&app, Method::PATCH, &format!("/groups/{finance}"), Some(json!({"displayName": "Back"}))).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn a_membership_added_through_the_admin_api_shows_in_the_member_view() {
    let app = TestApp::spawn().await;
    let ada = app.create_user("ada@example.com").await;
    let stores = create_group(&app, "Stores", None).await;

    let r = op(
        &app,
        Method::PUT,
        &format!("/groups/{stores}/members/{ada}"),
        Some(json!({"groupRole": "manager"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["memberId"], ada.as_str());
    assert_eq!(r.body["groupRole"], "manager");
    assert_eq!(r.body["name"], "ada@example.com");

    let member = op(&app, Method::GET, &format!("/members/{ada}"), None).await;
    assert_eq!(member.status, 200, "{}", member.body);
    let groups: Vec<&str> =
        member.body["groups"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(groups, [stores.as_str()], "{}", member.body);
    let scim = app.get(&format!("/Groups/{stores}")).await;
    assert_eq!(scim.body["members"][0]["value"], ada.as_str(), "{}", scim.body);
    assert!(outbox(&app).await.contains(&("membership.added".to_string(), ada.clone())));

    // Idempotent; without groupRole the role stays.
    let r = op(&app, Method::PUT, &format!("/groups/{stores}/members/{ada}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["groupRole"], "manager");
    let list = op(&app, Method::GET, &format!("/groups/{stores}/members"), None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["members"].as_array().unwrap().len(), 1, "{}", list.body);
    assert_eq!(list.body["members"][0]["groupRole"], "manager");
    assert_eq!(list.body["next"], Value::Null);

    let r = op(&app, Method::DELETE, &format!("/groups/{stores}/members/{ada}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(outbox(&app).await.contains(&("membership.removed".to_string(), ada.clone())));
    let again = op(&app, Method::DELETE, &format!("/groups/{stores}/members/{ada}"), None).await;
    assert_eq!(again.status, 404, "{}", again.body);
    let member = op(&app, Method::GET, &format!("/members/{ada}"), None).await;
    assert_eq!(member.body["groups"], json!([]), "{}", member.body);
}

#[tokio::test]
async fn a_refused_membership_writes_nothing() {
    let app = TestApp::spawn().await;
    let ada = app.create_user("ada@example.com").await;
    let stores = create_group(&app, "Stores", None).await;
    let before = outbox(&app).await.len();

    // A bad group role after the add: the whole write is rolled back.
    let r =
        op(&app, Method::PUT, &format!("/groups/{stores}/members/{ada}"), Some(json!({"groupRole": "boss"})))
            .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let nobody = uuid::Uuid::now_v7();
    let r = op(&app, Method::PUT, &format!("/groups/{stores}/members/{nobody}"), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = op(&app, Method::PUT, &format!("/groups/{nobody}/members/{ada}"), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = op(&app, Method::PUT, &format!("/groups/{stores}/members/not-an-id"), None).await;
    assert_eq!(r.status, 404, "{}", r.body);

    let list = op(&app, Method::GET, &format!("/groups/{stores}/members"), None).await;
    assert_eq!(list.body["members"], json!([]), "{}", list.body);
    assert_eq!(outbox(&app).await.len(), before);
    let r = op(&app, Method::GET, &format!("/groups/{stores}/members?limit=0"), None).await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn a_tenant_admin_writes_groups_of_its_own_tenant_only() {
    let app = TestApp::spawn().await;
    let globex = app.new_tenant("globex").await;
    let issued = app.admin_call(TEST_ADMIN_TOKEN, Method::POST, "/tenants/globex/admin-tokens", None).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let token = issued.body["token"].as_str().unwrap();

    let acme = &app.creds.tenant;
    let r = app
        .admin_call(
            token,
            Method::POST,
            &format!("/tenants/{acme}/groups"),
            Some(&json!({"displayName": "X"})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let tree = op(&app, Method::GET, "/groups/tree", None).await;
    assert_eq!(tree.body["groups"], json!([]));

    let r = app
        .admin_call(token, Method::POST, "/tenants/globex/groups", Some(&json!({"displayName": "X"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    let scim = send(app.req_as(&globex, Method::GET, &format!("/Groups/{id}"))).await;
    assert_eq!(scim.status, 200, "{}", scim.body);
}
