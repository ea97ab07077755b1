//! Roles and positions: the effective role from its sources (tenant default, SCIM roles in
//! Entra's forms, group bindings inherited down the tree, highest rank wins; an admin override
//! replaces them),
//! `role.changed` events exactly when it changes, the last org admin guard, `/Roles`, the role
//! filter, positions, and the admin API's validation.

use reqwest::Method;
use roster::db;
use serde_json::{json, Value};

use crate::support::requests::Reply;
use crate::support::TestApp;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const EXT: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
const GROUP_EXT: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    app.admin(method, path, body).await
}

async fn patch(app: &TestApp, path: &str, ops: Value) -> Reply {
    app.patch_ops(path, ops).await
}

async fn create(app: &TestApp, body: Value) -> String {
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn role_of(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body[EXT]["role"].clone()
}

/// `(from, to)` of the `role.changed` events about `member`, oldest first.
async fn role_events(app: &TestApp, member: &str) -> Vec<(Value, Value)> {
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    db::events::list(&mut conn, tenant.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "role.changed" && e.subject_id.to_string() == member)
        .map(|e| {
            assert_eq!(e.payload["member_id"], member);
            (e.payload["from"].clone(), e.payload["to"].clone())
        })
        .collect()
}

fn user(name: &str) -> Value {
    json!({"schemas": [USER], "userName": name})
}

#[tokio::test]
async fn a_new_member_gets_the_default_role_and_the_read_only_extension() {
    let app = TestApp::spawn().await;
    // Values sent for the readOnly extension are ignored (RFC 7643 §7).
    let body =
        json!({"schemas": [USER, EXT], "userName": "ada", EXT: {"role": "org_admin", "status": "active"}});
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body[EXT], json!({"role": "member", "status": "provisioned"}));
    assert!(r.body["schemas"].as_array().unwrap().contains(&json!(EXT)));
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(role_of(&app, &id).await, "member");
    assert_eq!(role_events(&app, &id).await, vec![], "a first role is part of the creation");

    // The default role is a tenant setting.
    let s = admin(&app, Method::PUT, "/settings", Some(json!({"default_role": "editor"}))).await;
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!(s.body["default_role"], "editor");
    // Members on the old default follow it, with an event.
    assert_eq!(role_of(&app, &id).await, "editor");
    assert_eq!(role_events(&app, &id).await.last().unwrap(), &(json!("member"), json!("editor")));
    let other = create(&app, user("bob")).await;
    assert_eq!(role_of(&app, &other).await, "editor");

    // Suspension shows in the extension's status.
    let p =
        patch(&app, &format!("/Users/{other}"), json!([{"op": "replace", "path": "active", "value": false}]))
            .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body[EXT]["status"], "suspended");
}

#[tokio::test]
async fn entra_app_roles_in_every_form_set_the_role() {
    let app = TestApp::spawn().await;
    let cases = [
        ("array", json!([{"value": "Editor"}]), "editor"),
        (
            "stringified array",
            json!("[{\"id\":\"1\",\"value\":\"org_admin\",\"displayName\":\"Admin\"}]"),
            "org_admin",
        ),
        ("plain string", json!("chief_editor"), "chief_editor"),
        (
            "element holding an object",
            json!([{"value": "{\"value\":\"editor\"}", "primary": true}]),
            "editor",
        ),
        ("unknown value", json!([{"value": "superuser"}]), "member"),
    ];
    for (i, (form, roles, want)) in cases.into_iter().enumerate() {
        let r = app
            .post("/Users", &json!({"schemas": [USER], "userName": format!("u{i}"), "roles": roles}))
            .await;
        assert_eq!(r.status, 201, "{form}: {}", r.body);
        assert_eq!(r.body[EXT]["role"], want, "{form}");
        assert!(r.body["roles"].is_array(), "{form}: roles kept in the resource: {}", r.body);
    }
    // Unknown values stay in the resource.
    let unknown = app.get("/Users?filter=userName%20eq%20%22u4%22").await;
    assert_eq!(unknown.body["Resources"][0]["roles"], json!([{"value": "superuser"}]));

    // PATCH: Entra's stringified app role, as an object string and as an array string.
    let id = create(&app, user("pat")).await;
    let p = patch(
        &app,
        &format!("/Users/{id}"),
        json!([{"op": "Add", "path": "roles",
        "value": [{"value": "{\"id\":\"7\",\"value\":\"editor\",\"displayName\":\"Editor\"}"}]}]),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body[EXT]["role"], "editor");
    let p = patch(
        &app,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "roles",
        "value": [{"value": "[{\"value\":\"chief_editor\"}]"}]}]),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body[EXT]["role"], "chief_editor");
    // Removing the app role falls back to the default.
    let p = patch(&app, &format!("/Users/{id}"), json!([{"op": "remove", "path": "roles"}])).await;
    assert_eq!(p.body[EXT]["role"], "member");
    assert_eq!(
        role_events(&app, &id).await,
        vec![
            (json!("member"), json!("editor")),
            (json!("editor"), json!("chief_editor")),
            (json!("chief_editor"), json!("member")),
        ]
    );

    // PUT accepts the same forms.
    let put = app
        .put(&format!("/Users/{id}"), &json!({"schemas": [USER], "userName": "pat", "roles": "org_admin"}))
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body[EXT]["role"], "org_admin");
}

/// Okta's group push (the group's name again, a removal and an addition in one PATCH, one
/// statement) on a group with a role binding: the member removed loses the role, the member
/// added gains it, each with its `role.changed`, in the same request.
#[tokio::test]
async fn oktas_group_push_moves_a_bound_role_from_the_member_removed_to_the_member_added() {
    let app = TestApp::spawn().await;
    let leaver = create(&app, user("leaver")).await;
    let joiner = create(&app, user("joiner")).await;
    let group = app.create_group("Editors", &[&leaver]).await;
    let b = admin(&app, Method::PUT, &format!("/groups/{group}/roles/editor"), None).await;
    assert_eq!(b.status, 201, "{}", b.body);
    assert_eq!(role_of(&app, &leaver).await, "editor");
    let p = patch(
        &app,
        &format!("/Groups/{group}"),
        json!([
            {"op": "replace", "value": {"id": group, "displayName": "Editors"}},
            {"op": "remove", "path": format!("members[value eq \"{leaver}\"]")},
            {"op": "add", "path": "members", "value": [{"value": joiner, "display": "joiner"}]}
        ]),
    )
    .await;
    assert_eq!(p.status, 204, "{}", p.body);
    assert_eq!(role_of(&app, &leaver).await, "member");
    assert_eq!(role_of(&app, &joiner).await, "editor");
    assert_eq!(role_events(&app, &leaver).await.last(), Some(&(json!("editor"), json!("member"))));
    assert_eq!(role_events(&app, &joiner).await, vec![(json!("member"), json!("editor"))]);
}

#[tokio::test]
async fn a_binding_on_a_parent_group_reaches_members_of_child_groups() {
    let app = TestApp::spawn().await;
    let u = create(&app, user("ulla")).await;
    let nested_user = create(&app, user("nils")).await;
    let parent = app.create_group("Finance", &[]).await;
    let child = app
        .post("/Groups", &json!({"schemas": [GROUP, GROUP_EXT], "displayName": "Audit", GROUP_EXT: {"parent": parent}, "members": [{"value": u}]}))
        .await;
    assert_eq!(child.status, 201, "{}", child.body);
    let child = child.body["id"].as_str().unwrap().to_string();
    // A group nested through SCIM members under the child.
    let nested = app.create_group("Audit EU", &[&nested_user]).await;
    let p = patch(
        &app,
        &format!("/Groups/{child}"),
        json!([{"op": "add", "path": "members", "value": [{"value": nested, "type": "Group"}]}]),
    )
    .await;
    assert_eq!(p.status, 204, "{}", p.body);

    let b = admin(&app, Method::PUT, &format!("/groups/{parent}/roles/editor"), None).await;
    assert_eq!(b.status, 201, "{}", b.body);
    assert_eq!(role_of(&app, &u).await, "editor", "inherited through the parent");
    assert_eq!(role_of(&app, &nested_user).await, "editor", "inherited through nesting");
    let listed = admin(&app, Method::GET, "/role-bindings", None).await;
    assert_eq!(listed.body["bindings"], json!([{"group_id": parent, "role_name": "editor"}]));

    // Leaving the child group drops the role; joining again gives it back.
    let p = patch(
        &app,
        &format!("/Groups/{child}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{u}\"]")}]),
    )
    .await;
    assert_eq!(p.status, 204, "{}", p.body);
    assert_eq!(role_of(&app, &u).await, "member");
    let p = patch(
        &app,
        &format!("/Groups/{child}"),
        json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
    )
    .await;
    assert_eq!(p.status, 204);
    assert_eq!(role_of(&app, &u).await, "editor");

    // Removing the nested group drops its members' role.
    let p = patch(
        &app,
        &format!("/Groups/{child}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{nested}\"]")}]),
    )
    .await;
    assert_eq!(p.status, 204);
    assert_eq!(role_of(&app, &nested_user).await, "member");

    // Moving the child out of the tree (PUT without a parent) drops it too.
    let put = app
        .put(
            &format!("/Groups/{child}"),
            &json!({"schemas": [GROUP], "displayName": "Audit", "members": [{"value": u}]}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(role_of(&app, &u).await, "member");
    // Back under the parent by PATCH, then the parent is deleted.
    let p = patch(
        &app,
        &format!("/Groups/{child}"),
        json!([{"op": "replace", "path": format!("{GROUP_EXT}:parent"), "value": parent}]),
    )
    .await;
    assert_eq!(p.status, 204, "{}", p.body);
    assert_eq!(role_of(&app, &u).await, "editor");
    assert_eq!(app.delete(&format!("/Groups/{parent}")).await.status, 204);
    assert_eq!(role_of(&app, &u).await, "member");
    assert_eq!(
        role_events(&app, &u).await,
        vec![
            (json!("member"), json!("editor")),
            (json!("editor"), json!("member")),
            (json!("member"), json!("editor")),
            (json!("editor"), json!("member")),
            (json!("member"), json!("editor")),
            (json!("editor"), json!("member")),
        ]
    );

    // Unbinding: a direct binding on a group, then removed.
    let b = admin(&app, Method::PUT, &format!("/groups/{child}/roles/chief_editor"), None).await;
    assert_eq!(b.status, 201);
    assert_eq!(role_of(&app, &u).await, "chief_editor");
    assert_eq!(
        admin(&app, Method::PUT, &format!("/groups/{child}/roles/chief_editor"), None).await.status,
        200
    );
    assert_eq!(
        admin(&app, Method::DELETE, &format!("/groups/{child}/roles/chief_editor"), None).await.status,
        204
    );
    assert_eq!(role_of(&app, &u).await, "member");
    admin(&app, Method::DELETE, &format!("/groups/{child}/roles/chief_editor"), None)
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn the_override_replaces_the_computed_role_and_ranks_decide_the_rest() {
    let app = TestApp::spawn().await;
    let id =
        create(&app, json!({"schemas": [USER], "userName": "rank", "roles": [{"value": "editor"}]})).await;
    assert_eq!(role_of(&app, &id).await, "editor");
    // An override replaces the computed role: below the SCIM role it lowers it, above it raises it.
    let o = admin(&app, Method::PUT, &format!("/members/{id}/role"), Some(json!({"role": "member"}))).await;
    assert_eq!(o.status, 200, "{}", o.body);
    assert_eq!(o.body["effective_role"], "member");
    let o =
        admin(&app, Method::PUT, &format!("/members/{id}/role"), Some(json!({"role": "Chief_Editor"}))).await;
    assert_eq!(
        o.body,
        json!({"member_id": id, "role_override": "chief_editor", "effective_role": "chief_editor"})
    );
    // A write that does not touch role sources changes no role and writes no event.
    let p =
        patch(&app, &format!("/Users/{id}"), json!([{"op": "replace", "path": "title", "value": "Clerk"}]))
            .await;
    assert_eq!(p.status, 200);
    assert_eq!(p.body[EXT]["role"], "chief_editor");
    let o = admin(&app, Method::PUT, &format!("/members/{id}/role"), Some(json!({"role": null}))).await;
    assert_eq!(o.body["effective_role"], "editor");
    // Ranks decide between the other sources: a binding's chief_editor outranks the SCIM editor
    // until the catalog is re-ranked; an override wins whatever the ranks.
    let g = app.create_group("Desk", &[&id]).await;
    assert_eq!(admin(&app, Method::PUT, &format!("/groups/{g}/roles/chief_editor"), None).await.status, 201);
    assert_eq!(role_of(&app, &id).await, "chief_editor");
    let r = admin(&app, Method::PATCH, "/roles/editor", Some(json!({"rank": 350}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(role_of(&app, &id).await, "editor");
    let o =
        admin(&app, Method::PUT, &format!("/members/{id}/role"), Some(json!({"role": "chief_editor"}))).await;
    assert_eq!(o.body["effective_role"], "chief_editor");
    assert_eq!(
        role_events(&app, &id).await,
        vec![
            (json!("editor"), json!("member")),
            (json!("member"), json!("chief_editor")),
            (json!("chief_editor"), json!("editor")),
            (json!("editor"), json!("chief_editor")),
            (json!("chief_editor"), json!("editor")),
            (json!("editor"), json!("chief_editor")),
        ]
    );
    // Admin API errors: unknown member 404, unknown role 400, missing field 400.
    let missing = uuid::Uuid::now_v7();
    admin(&app, Method::PUT, &format!("/members/{missing}/role"), Some(json!({"role": "editor"})))
        .await
        .assert_error(404, None);
    let d = admin(&app, Method::PUT, &format!("/members/{id}/role"), Some(json!({"role": "wizard"})))
        .await
        .assert_error(400, Some("invalidValue"));
    assert!(d.contains("wizard"), "{d}");
    admin(&app, Method::PUT, &format!("/members/{id}/role"), Some(json!({})))
        .await
        .assert_error(400, Some("invalidValue"));
}

async fn org_admin_and_member(app: &TestApp) -> (String, String) {
    let a =
        create(app, json!({"schemas": [USER], "userName": "admin", "roles": [{"value": "org_admin"}]})).await;
    let b = create(app, user("bea")).await;
    (a, b)
}

#[tokio::test]
async fn the_last_org_admin_cannot_be_suspended_or_removed() {
    let app = TestApp::spawn().await;
    let (a, b) = org_admin_and_member(&app).await;
    let path = format!("/Users/{a}");

    let p = patch(&app, &path, json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    let d = p.assert_error(403, None);
    assert!(d.contains("last org admin") && d.contains("make another member org_admin first"), "{d}");
    assert!(d.contains(&format!("tenant {:?}", app.creds.tenant)), "names the tenant by its slug: {d}");
    let p = patch(&app, &path, json!([{"op": "replace", "value": {"active": false}}])).await;
    p.assert_error(403, None);
    let put = app.put(&path, &json!({"schemas": [USER], "userName": "admin", "active": false, "roles": [{"value": "org_admin"}]})).await;
    put.assert_error(403, None);
    app.delete(&path).await.assert_error(403, None);
    let bulk = app
        .post("/Bulk", &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
            {"method": "PATCH", "path": path, "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}},
            {"method": "DELETE", "path": path},
        ]}))
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    for op in bulk.body["Operations"].as_array().unwrap() {
        assert_eq!(op["status"], "403", "{op}");
    }
    // Nothing changed.
    let got = app.get(&path).await;
    assert_eq!(got.status, 200);
    assert_ne!(got.body["active"], false);
    assert_eq!(got.body[EXT]["status"], "provisioned");
    assert_eq!(got.body["meta"]["version"], "W/\"1\"");

    // With a second admin (an override), the first one can be suspended; then the second is the last.
    let o = admin(&app, Method::PUT, &format!("/members/{b}/role"), Some(json!({"role": "org_admin"}))).await;
    assert_eq!(o.body["effective_role"], "org_admin");
    let p = patch(&app, &path, json!([{"op": "replace", "path": "active", "value": false}])).await;
    assert_eq!(p.status, 200, "{}", p.body);
    app.delete(&format!("/Users/{b}")).await.assert_error(403, None);
    // A suspended admin does not count; reactivated, it does.
    let p = patch(&app, &path, json!([{"op": "replace", "path": "active", "value": true}])).await;
    assert_eq!(p.status, 200);
    assert_eq!(app.delete(&format!("/Users/{b}")).await.status, 204);
}

#[tokio::test]
async fn concurrent_suspensions_of_the_last_two_admins_cannot_both_succeed() {
    let app = TestApp::spawn().await;
    let a =
        create(&app, json!({"schemas": [USER], "userName": "a1", "roles": [{"value": "org_admin"}]})).await;
    let b =
        create(&app, json!({"schemas": [USER], "userName": "a2", "roles": [{"value": "org_admin"}]})).await;
    let off = json!([{"op": "replace", "path": "active", "value": false}]);
    let (path_a, path_b) = (format!("/Users/{a}"), format!("/Users/{b}"));
    let (pa, pb) = tokio::join!(patch(&app, &path_a, off.clone()), patch(&app, &path_b, off));
    let mut statuses = [pa.status.as_u16(), pb.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 403], "{} / {}", pa.body, pb.body);
}

#[tokio::test]
async fn roles_are_a_read_only_resource_type() {
    let app = TestApp::spawn().await;
    let list = app.get("/Roles").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["totalResults"], 4);
    let names: Vec<&str> =
        list.body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(names, ["org_admin", "chief_editor", "editor", "member"]);
    let one = app.get("/Roles/ORG_ADMIN").await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["schemas"], json!(["urn:ietf:params:scim:schemas:roster:2.0:Role"]));
    assert_eq!(one.body["grantsAdmin"], true);
    assert_eq!(one.body["rank"], 400);
    assert_eq!(one.body["displayName"], "Organization admin");
    app.get("/Roles/nope").await.assert_error(404, None);
    app.post("/Roles", &json!({"name": "x"})).await.assert_error(405, None);
    app.put("/Roles/member", &json!({"name": "x"})).await.assert_error(405, None);
    app.delete("/Roles/member").await.assert_error(405, None);
    app.get("/Roles?filter=name%20eq%20%22x%22").await.assert_error(400, Some("invalidFilter"));

    let types = app.get("/ResourceTypes/Role").await;
    assert_eq!(types.body["endpoint"], "/Roles");
    let schema = app.get("/Schemas/urn:ietf:params:scim:schemas:roster:2.0:Role").await;
    assert_eq!(schema.status, 200);
    let ext = app.get(&format!("/Schemas/{EXT}")).await;
    let attrs: Vec<(&str, &str)> = ext.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), a["mutability"].as_str().unwrap()))
        .collect();
    assert_eq!(
        attrs,
        [("role", "readOnly"), ("status", "readOnly"), ("position", "readOnly"), ("groupRoles", "readOnly")]
    );
    let user_type = app.get("/ResourceTypes/User").await;
    assert!(user_type.body["schemaExtensions"]
        .as_array()
        .unwrap()
        .contains(&json!({"schema": EXT, "required": false})));

    // A role added by the admin appears, and members that already named it get it.
    let id =
        create(&app, json!({"schemas": [USER], "userName": "sm", "roles": [{"value": "store_manager"}]}))
            .await;
    assert_eq!(role_of(&app, &id).await, "member");
    let r = admin(
        &app,
        Method::POST,
        "/roles",
        Some(json!({"name": "store_manager", "display_name": "Store manager", "rank": 250})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(app.get("/Roles").await.body["totalResults"], 5);
    assert_eq!(role_of(&app, &id).await, "store_manager");
    // Deleting it recomputes its holders.
    assert_eq!(admin(&app, Method::DELETE, "/roles/store_manager", None).await.status, 204);
    assert_eq!(role_of(&app, &id).await, "member");
}

#[tokio::test]
async fn members_can_be_filtered_by_role() {
    let app = TestApp::spawn().await;
    create(&app, json!({"schemas": [USER], "userName": "e1", "roles": [{"value": "editor"}]})).await;
    create(&app, user("m1")).await;
    let q = |f: &str| format!("/Users?filter={}", urlencoding(f));
    let r = app.get(&q(&format!("{EXT}:role eq \"Editor\""))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["userName"], "e1");
    let r = app.get(&q("role eq \"member\"")).await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["userName"], "m1");
    let r = app.get(&q(&format!("{EXT}:status eq \"provisioned\" and {EXT}:role pr"))).await;
    assert_eq!(r.body["totalResults"], 2);
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn positions_come_from_title_or_a_configured_attribute() {
    let app = TestApp::spawn().await;
    let a = create(&app, json!({"schemas": [USER, ENTERPRISE], "userName": "p1", "title": "Store manager", ENTERPRISE: {"department": "Sales"}})).await;
    let b = create(&app, json!({"schemas": [USER], "userName": "p2", "title": "store MANAGER"})).await;
    let c = create(
        &app,
        json!({"schemas": [USER, ENTERPRISE], "userName": "p3", ENTERPRISE: {"department": "Ops"}}),
    )
    .await;
    let pos = |id: String| {
        let app = &app;
        async move { app.get(&format!("/Users/{id}")).await.body[EXT]["position"].clone() }
    };
    assert_eq!(pos(a.clone()).await, "Store manager");
    assert_eq!(pos(b.clone()).await, "Store manager", "positions match caselessly");
    assert_eq!(pos(c.clone()).await, Value::Null);
    let list = admin(&app, Method::GET, "/positions", None).await;
    assert_eq!(list.body["positions"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["positions"][0]["name"], "Store manager");
    assert_eq!(list.body["positions"][0]["members"], 2);

    // Another source re-derives everyone's position.
    let source = format!("{ENTERPRISE}:department");
    let s = admin(&app, Method::PUT, "/settings", Some(json!({"position_source": source}))).await;
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!(pos(a.clone()).await, "Sales");
    assert_eq!(pos(b.clone()).await, Value::Null);
    assert_eq!(pos(c.clone()).await, "Ops");
    let r = app.get(&format!("/Users?filter={}", urlencoding(&format!("{EXT}:position eq \"sales\"")))).await;
    assert_eq!(r.body["totalResults"], 1);
    // ... and member writes follow the new source.
    let p = patch(
        &app,
        &format!("/Users/{b}"),
        json!([{"op": "add", "path": format!("{ENTERPRISE}:department"), "value": "Ops"}]),
    )
    .await;
    assert_eq!(p.body[EXT]["position"], "Ops");
    let list = admin(&app, Method::GET, "/positions", None).await;
    let counts: Vec<(String, i64)> = list.body["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["members"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts, [("Ops".to_string(), 2), ("Sales".to_string(), 1), ("Store manager".to_string(), 0)]);

    let bad = admin(&app, Method::PUT, "/settings", Some(json!({"position_source": "emails"}))).await;
    let d = bad.assert_error(400, Some("invalidValue"));
    assert!(d.contains("singular string"), "{d}");
}

#[tokio::test]
async fn the_admin_api_validates_the_catalog() {
    let app = TestApp::spawn().await;
    let dup_rank = admin(&app, Method::POST, "/roles", Some(json!({"name": "reader", "rank": 100}))).await;
    let d = dup_rank.assert_error(409, None);
    assert!(d.contains("rank 100"), "{d}");
    let dup_name = admin(&app, Method::POST, "/roles", Some(json!({"name": "EDITOR", "rank": 150}))).await;
    let d = dup_name.assert_error(409, None);
    assert!(d.contains("already exists"), "{d}");
    admin(&app, Method::POST, "/roles", Some(json!({"name": "a b", "rank": 1})))
        .await
        .assert_error(400, Some("invalidValue"));
    admin(&app, Method::POST, "/roles", Some(json!({"name": "x", "rank": -1})))
        .await
        .assert_error(400, Some("invalidValue"));
    admin(&app, Method::PATCH, "/roles/editor", Some(json!({"rank": 300}))).await.assert_error(409, None);
    admin(&app, Method::PATCH, "/roles/nope", Some(json!({"rank": 5}))).await.assert_error(404, None);
    let d = admin(&app, Method::DELETE, "/roles/member", None).await.assert_error(409, None);
    assert!(d.contains("default role"), "{d}");
    let group = app.create_group("G", &[]).await;
    admin(&app, Method::PUT, &format!("/groups/{group}/roles/nope"), None).await.assert_error(404, None);
    let missing = uuid::Uuid::now_v7();
    admin(&app, Method::PUT, &format!("/groups/{missing}/roles/editor"), None).await.assert_error(404, None);
    admin(&app, Method::PUT, "/settings", Some(json!({"default_role": "nope"})))
        .await
        .assert_error(400, Some("invalidValue"));
    // Group role per membership.
    let u = create(&app, user("gm")).await;
    let p = patch(
        &app,
        &format!("/Groups/{group}"),
        json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
    )
    .await;
    assert_eq!(p.status, 204);
    let gr = admin(
        &app,
        Method::PUT,
        &format!("/groups/{group}/members/{u}/group-role"),
        Some(json!({"groupRole": "manager"})),
    )
    .await;
    assert_eq!(gr.status, 204, "{}", gr.body);
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::group_members;
    let stored: String = group_members::table
        .filter(group_members::member_id.eq(uuid::Uuid::parse_str(&u).unwrap()))
        .select(group_members::group_role)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, "manager");
    admin(
        &app,
        Method::PUT,
        &format!("/groups/{group}/members/{u}/group-role"),
        Some(json!({"groupRole": "boss"})),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    admin(
        &app,
        Method::PUT,
        &format!("/groups/{group}/members/{missing}/group-role"),
        Some(json!({"groupRole": "member"})),
    )
    .await
    .assert_error(404, None);
}

#[tokio::test]
async fn bulk_creates_take_app_roles_and_a_restored_member_keeps_its_roles() {
    let app = TestApp::spawn().await;
    let bulk = app
        .post("/Bulk", &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "bulky", "roles": "[{\"value\":\"editor\"}]"}},
        ]}))
        .await;
    assert_eq!(bulk.body["Operations"][0]["status"], "201", "{}", bulk.body);
    let id = bulk.body["Operations"][0]["location"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    assert_eq!(role_of(&app, &id).await, "editor");

    // An admin override survives removal and re-provisioning under the same id.
    let o =
        admin(&app, Method::PUT, &format!("/members/{id}/role"), Some(json!({"role": "chief_editor"}))).await;
    assert_eq!(o.body["effective_role"], "chief_editor");
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    let again = app.post("/Users", &user("bulky")).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["id"], id.as_str(), "same member restored");
    assert_eq!(again.body[EXT]["role"], "chief_editor");
}
