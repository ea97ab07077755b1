//! The member-model rules of issue #12: the admin override sets the role up or down (and its
//! source is shown), the last org admin survives every path that could lose it — override,
//! SCIM `roles`, bindings, memberships, the catalog, imports, the admin API, concurrently — and
//! the admin API's member lifecycle writes (suspend, reactivate, remove, restore) behave as the
//! SCIM writes they mirror.

use reqwest::Method;
use roster::db;
use serde_json::{json, Value};

use crate::support::requests::Reply;
use crate::support::TestApp;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const EXT: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    app.admin(method, path, body).await
}

async fn patch(app: &TestApp, path: &str, ops: Value) -> Reply {
    app.patch_ops(path, ops).await
}

async fn create(app: &TestApp, name: &str, roles: &[&str]) -> String {
    let roles: Vec<Value> = roles.iter().map(|r| json!({"value": r})).collect();
    let r = app.post("/Users", &json!({"schemas": [USER], "userName": name, "roles": roles})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn member(app: &TestApp, id: &str) -> Value {
    let r = admin(app, Method::GET, &format!("/members/{id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn set_override(app: &TestApp, id: &str, role: Value) -> Reply {
    admin(app, Method::PUT, &format!("/members/{id}/role"), Some(json!({"role": role}))).await
}

/// The kinds of the events about `subject`, oldest first.
async fn event_kinds(app: &TestApp, subject: &str) -> Vec<String> {
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    db::events::list(&mut conn, tenant.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.subject_id.to_string() == subject)
        .map(|e| e.kind)
        .collect()
}

/// A refusal of the last-admin rule: 403 with a detail that says how to add another admin.
fn assert_last_admin_refusal(r: &Reply) {
    let d = r.assert_error(403, None);
    assert!(d.contains("org admin") && d.contains("org_admin first"), "{d}");
}

/// The tenant's only admin (through SCIM roles) and an ordinary member.
async fn sole_admin(app: &TestApp) -> (String, String) {
    (create(app, "boss", &["org_admin"]).await, create(app, "staff", &[]).await)
}

#[tokio::test]
async fn the_override_sets_the_role_up_or_down_and_clearing_it_returns_the_computed_role() {
    let app = TestApp::spawn().await;
    let a = create(&app, "ada", &["org_admin"]).await;
    let b = create(&app, "bob", &["org_admin"]).await;
    let m = member(&app, &a).await;
    assert_eq!(
        (&m["role"], &m["roleSource"], &m["roleOverride"]),
        (&json!("org_admin"), &json!("scim"), &Value::Null)
    );

    // Down: an org admin (through SCIM roles) lowered to member by an override.
    let o = set_override(&app, &a, json!("member")).await;
    assert_eq!(o.status, 200, "{}", o.body);
    assert_eq!(o.body, json!({"member_id": a, "role_override": "member", "effective_role": "member"}));
    let m = member(&app, &a).await;
    assert_eq!(
        (&m["role"], &m["roleSource"], &m["roleOverride"]),
        (&json!("member"), &json!("override"), &json!("member"))
    );
    assert_eq!(app.get(&format!("/Users/{a}")).await.body[EXT]["role"], "member");
    // A SCIM write that repeats the admin role does not undo the override.
    let p = patch(
        &app,
        &format!("/Users/{a}"),
        json!([{"op": "replace", "path": "roles", "value": [{"value": "org_admin"}]}]),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body[EXT]["role"], "member");
    // Clearing (DELETE, or PUT null) returns to the computed role.
    let c = admin(&app, Method::DELETE, &format!("/members/{a}/role"), None).await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["effective_role"], "org_admin");
    // Up: an ordinary member raised above every source.
    let s = create(&app, "sue", &["editor"]).await;
    assert_eq!(member(&app, &s).await["roleSource"], "scim");
    let o = set_override(&app, &s, json!("chief_editor")).await;
    assert_eq!(o.body["effective_role"], "chief_editor");
    let o = set_override(&app, &s, Value::Null).await;
    assert_eq!(o.body["effective_role"], "editor");
    assert_eq!(member(&app, &b).await["role"], "org_admin");

    // Sources: the tenant default, and a group binding named by the group.
    let d = create(&app, "dan", &[]).await;
    assert_eq!(member(&app, &d).await["roleSource"], "default");
    let g = app.create_group("Editors", &[&d]).await;
    assert_eq!(admin(&app, Method::PUT, &format!("/groups/{g}/roles/editor"), None).await.status, 201);
    let m = member(&app, &d).await;
    assert_eq!((&m["role"], &m["roleSource"]), (&json!("editor"), &json!("group:Editors")));
    let changes: Vec<String> =
        event_kinds(&app, &a).await.into_iter().filter(|k| k == "role.changed").collect();
    assert_eq!(changes.len(), 2, "down and back up");
}

#[tokio::test]
async fn an_override_cannot_demote_the_last_admin() {
    let app = TestApp::spawn().await;
    let (a, _) = sole_admin(&app).await;
    assert_last_admin_refusal(&set_override(&app, &a, json!("editor")).await);
    let m = member(&app, &a).await;
    assert_eq!((&m["role"], &m["roleOverride"]), (&json!("org_admin"), &Value::Null), "nothing written");
    assert!(!event_kinds(&app, &a).await.contains(&"role.changed".to_string()));
}

#[tokio::test]
async fn clearing_the_override_that_made_the_last_admin_is_refused() {
    let app = TestApp::spawn().await;
    let (a, b) = sole_admin(&app).await;
    assert_eq!(set_override(&app, &b, json!("org_admin")).await.status, 200);
    // a stops being an admin while b is one; then b's override is all that makes an admin.
    assert_eq!(set_override(&app, &a, json!("member")).await.status, 200);
    assert_last_admin_refusal(&admin(&app, Method::DELETE, &format!("/members/{b}/role"), None).await);
    assert_eq!(member(&app, &b).await["role"], "org_admin");
}

#[tokio::test]
async fn a_scim_roles_change_cannot_demote_the_last_admin() {
    let app = TestApp::spawn().await;
    let (a, _) = sole_admin(&app).await;
    let path = format!("/Users/{a}");
    let p =
        patch(&app, &path, json!([{"op": "replace", "path": "roles", "value": [{"value": "member"}]}])).await;
    assert_last_admin_refusal(&p);
    let p = patch(&app, &path, json!([{"op": "remove", "path": "roles"}])).await;
    assert_last_admin_refusal(&p);
    let put = app.put(&path, &json!({"schemas": [USER], "userName": "boss"})).await;
    assert_last_admin_refusal(&put);
    let got = app.get(&path).await;
    assert_eq!(
        (got.body[EXT]["role"].clone(), got.body["meta"]["version"].clone()),
        (json!("org_admin"), json!("W/\"1\""))
    );
}

/// The only admin holds the role through a binding on group `Admins`; returns (admin, group).
async fn admin_through_a_group(app: &TestApp) -> (String, String) {
    let a = create(app, "boss", &[]).await;
    let g = app.create_group("Admins", &[&a]).await;
    assert_eq!(admin(app, Method::PUT, &format!("/groups/{g}/roles/org_admin"), None).await.status, 201);
    assert_eq!(member(app, &a).await["roleSource"], "group:Admins");
    (a, g)
}

#[tokio::test]
async fn removing_the_binding_that_makes_the_last_admin_is_refused() {
    let app = TestApp::spawn().await;
    let (a, g) = admin_through_a_group(&app).await;
    assert_last_admin_refusal(
        &admin(&app, Method::DELETE, &format!("/groups/{g}/roles/org_admin"), None).await,
    );
    assert_eq!(member(&app, &a).await["role"], "org_admin");
    // With another admin, the binding can go.
    let other = create(&app, "second", &["org_admin"]).await;
    assert_eq!(admin(&app, Method::DELETE, &format!("/groups/{g}/roles/org_admin"), None).await.status, 204);
    assert_eq!(member(&app, &a).await["role"], "member");
    assert_eq!(member(&app, &other).await["role"], "org_admin");
}

#[tokio::test]
async fn leaving_the_group_that_makes_the_last_admin_is_refused() {
    let app = TestApp::spawn().await;
    let (a, g) = admin_through_a_group(&app).await;
    let p = patch(
        &app,
        &format!("/Groups/{g}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]),
    )
    .await;
    assert_last_admin_refusal(&p);
    let put = app.put(&format!("/Groups/{g}"), &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Admins", "members": []})).await;
    assert_last_admin_refusal(&put);
    assert_last_admin_refusal(&app.delete(&format!("/Groups/{g}")).await);
    let got = app.get(&format!("/Groups/{g}")).await;
    assert_eq!(got.body["members"][0]["value"], a.as_str(), "membership kept: {}", got.body);
    assert_eq!(member(&app, &a).await["role"], "org_admin");
}

#[tokio::test]
async fn the_admin_role_cannot_stop_granting_admin_or_go_while_it_holds_the_last_admin() {
    let app = TestApp::spawn().await;
    let (a, _) = sole_admin(&app).await;
    assert_last_admin_refusal(
        &admin(&app, Method::PATCH, "/roles/org_admin", Some(json!({"grants_admin": false}))).await,
    );
    assert_last_admin_refusal(&admin(&app, Method::DELETE, "/roles/org_admin", None).await);
    // Re-ranking so that another role outranks it changes nobody's role here (SCIM roles hold
    // only org_admin), so it is allowed.
    let roles = admin(&app, Method::GET, "/roles", None).await;
    let org =
        roles.body["roles"].as_array().unwrap().iter().find(|r| r["name"] == "org_admin").unwrap().clone();
    assert_eq!(org["grants_admin"], true);
    // Another admin role held by a live member makes it possible.
    let r = admin(
        &app,
        Method::POST,
        "/roles",
        Some(json!({"name": "owner", "rank": 500, "grants_admin": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    create(&app, "owner", &["owner"]).await;
    let r = admin(&app, Method::PATCH, "/roles/org_admin", Some(json!({"grants_admin": false}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(member(&app, &a).await["role"], "org_admin");
}

#[tokio::test]
async fn an_import_role_column_cannot_demote_the_last_admin() {
    let app = TestApp::spawn().await;
    let file =
        |role: &str| format!("firstname;lastname;email;role\r\nA;A;a@example.com;{role}\r\n").into_bytes();
    let r = import(&app, &file("org_admin")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = import(&app, &file("editor")).await;
    assert_last_admin_refusal(&r);
}

async fn import(app: &TestApp, file: &[u8]) -> Reply {
    crate::import_rules::import(app, "", "m.csv", file).await
}

#[tokio::test]
async fn the_admin_api_cannot_suspend_or_remove_the_last_admin() {
    let app = TestApp::spawn().await;
    let (a, b) = sole_admin(&app).await;
    assert_last_admin_refusal(&admin(&app, Method::POST, &format!("/members/{a}/suspend"), None).await);
    assert_last_admin_refusal(&admin(&app, Method::DELETE, &format!("/members/{a}"), None).await);
    assert_eq!(member(&app, &a).await["status"], "provisioned");
    // Others can be.
    assert_eq!(admin(&app, Method::POST, &format!("/members/{b}/suspend"), None).await.status, 200);
    assert_eq!(admin(&app, Method::DELETE, &format!("/members/{b}"), None).await.status, 204);
}

#[tokio::test]
async fn concurrent_demotions_of_the_last_two_admins_cannot_both_succeed() {
    let app = TestApp::spawn().await;
    let a = create(&app, "a1", &["org_admin"]).await;
    let b = create(&app, "a2", &["org_admin"]).await;
    // One by override, one by SCIM roles: different paths, one rule.
    let path_b = format!("/Users/{b}");
    let (ra, rb) = tokio::join!(
        set_override(&app, &a, json!("member")),
        patch(&app, &path_b, json!([{"op": "replace", "path": "roles", "value": [{"value": "editor"}]}])),
    );
    let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 403], "{} / {}", ra.body, rb.body);
    let roles = [member(&app, &a).await["role"].clone(), member(&app, &b).await["role"].clone()];
    assert!(roles.contains(&json!("org_admin")), "one admin is left: {roles:?}");
}

#[tokio::test]
async fn the_admin_api_suspends_reactivates_removes_and_restores_like_scim() {
    let app = TestApp::spawn().await;
    let _admin = create(&app, "boss", &["org_admin"]).await;
    let m = create(&app, "mia", &["editor"]).await;
    let s = admin(&app, Method::POST, &format!("/members/{m}/suspend"), None).await;
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!(s.body, json!({"id": m, "status": "suspended", "active": false, "role": "editor"}));
    let scim = app.get(&format!("/Users/{m}")).await;
    assert_eq!(
        (scim.body["active"].clone(), scim.body[EXT]["status"].clone()),
        (json!(false), json!("suspended"))
    );
    // Again: nothing changes, no second event.
    assert_eq!(
        admin(&app, Method::POST, &format!("/members/{m}/suspend"), None).await.body["status"],
        "suspended"
    );
    let r = admin(&app, Method::POST, &format!("/members/{m}/reactivate"), None).await;
    assert_eq!(r.body, json!({"id": m, "status": "provisioned", "active": true, "role": "editor"}));
    let g = app.create_group("Team", &[&m]).await;
    assert_eq!(admin(&app, Method::DELETE, &format!("/members/{m}"), None).await.status, 204);
    app.get(&format!("/Users/{m}")).await.assert_error(404, None);
    assert_eq!(member(&app, &m).await["status"], "removed");
    let r = admin(&app, Method::POST, &format!("/members/{m}/restore"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"id": m, "status": "provisioned", "active": true, "role": "editor"}));
    let scim = app.get(&format!("/Users/{m}")).await;
    assert_eq!(
        (scim.body["userName"].clone(), scim.body["roles"].clone()),
        (json!("mia"), json!([{"value": "editor"}]))
    );
    assert_eq!(
        app.get(&format!("/Groups/{g}")).await.body["members"],
        Value::Null,
        "memberships went with the removal"
    );
    assert_eq!(
        event_kinds(&app, &m).await,
        [
            "member.created",
            "member.invitation_needed",
            "member.suspended",
            "member.reactivated",
            "member.invitation_needed",
            "membership.added",
            "membership.removed",
            "member.removed",
            "member.created",
            "member.invitation_needed"
        ]
    );
    // Restoring what is not removed, or an unknown member.
    admin(&app, Method::POST, &format!("/members/{m}/restore"), None).await.assert_error(409, None);
    admin(&app, Method::POST, &format!("/members/{}/restore", uuid::Uuid::now_v7()), None)
        .await
        .assert_error(404, None);
    // Removed by the admin API, re-provisioned over SCIM: the same member comes back, as always.
    assert_eq!(admin(&app, Method::DELETE, &format!("/members/{m}"), None).await.status, 204);
    assert_eq!(create(&app, "MIA", &[]).await, m);
}

/// The raw columns the scrub must clear, by member id.
async fn scrubbable(app: &TestApp, id: &str) -> (Option<String>, Option<String>, Value) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::users;
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    users::table
        .filter(users::id.eq(id.parse::<uuid::Uuid>().unwrap()))
        .select((users::personal_id, users::comment, users::resource))
        .first(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn retention_and_invitations_are_tenant_settings_and_the_scrub_clears_import_fields() {
    let app = TestApp::spawn().await;
    let t = admin(
        &app,
        Method::PATCH,
        "",
        Some(json!({"member_retention_days": 7, "invite_new_members": false})),
    )
    .await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(
        (
            t.body["member_retention_days"].clone(),
            t.body["invite_new_members"].clone(),
            t.body["sso"].clone()
        ),
        (json!(7), json!(false), json!(false))
    );
    let d = admin(&app, Method::PATCH, "", Some(json!({"member_retention_days": 5000})))
        .await
        .assert_error(400, Some("invalidValue"));
    assert!(d.contains("3650"), "{d}");
    // Without invitations, a new member gets no member.invitation_needed (the SCIM profile cache
    // sees the change at once: the setting moves the tenant's settings version).
    let quiet = create(&app, "quiet", &[]).await;
    assert_eq!(event_kinds(&app, &quiet).await, ["member.created"]);

    let r = admin(&app, Method::POST, "/categories", Some(json!({"name": "City", "kind": "text"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let file = b"firstname;lastname;email;personalid;comment;City\r\nAda;Lovelace;ada@example.com;P-1;night shift;Oslo\r\n";
    let r = import(&app, file).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let listed = admin(&app, Method::GET, "/members?origin=import", None).await;
    let id = listed.body["members"][0]["id"].as_str().unwrap().to_string();
    let (pid, comment, resource) = scrubbable(&app, &id).await;
    assert_eq!((pid.as_deref(), comment.as_deref()), (Some("P-1"), Some("night shift")));
    assert_eq!(resource[EXT]["City"], "Oslo");
    assert_eq!(admin(&app, Method::DELETE, &format!("/members/{id}"), None).await.status, 204);
    // Within retention nothing is scrubbed; past it, the import's fields go too.
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let now = chrono::Utc::now();
    assert_eq!(
        roster::directory::users::scrub_removed(&mut conn, now + chrono::Duration::days(6)).await.unwrap(),
        0
    );
    assert_eq!(
        roster::directory::users::scrub_removed(&mut conn, now + chrono::Duration::days(8)).await.unwrap(),
        1
    );
    assert_eq!(scrubbable(&app, &id).await, (None, None, json!({})));
    let d = admin(&app, Method::POST, &format!("/members/{id}/restore"), None).await.assert_error(409, None);
    assert!(d.contains("retention"), "{d}");
}

#[tokio::test]
async fn group_roles_show_in_the_member_view_the_group_list_and_scim_and_filter() {
    let app = TestApp::spawn().await;
    let (m, other) = (create(&app, "mona", &[]).await, create(&app, "olle", &[]).await);
    let finance = app.create_group("Finance", &[&m, &other]).await;
    let audit = app.post("/Groups", &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "urn:ietf:params:scim:schemas:extension:roster:2.0:Group"], "displayName": "Audit", "urn:ietf:params:scim:schemas:extension:roster:2.0:Group": {"parent": finance}})).await;
    assert_eq!(audit.status, 201, "{}", audit.body);
    let audit = audit.body["id"].as_str().unwrap().to_string();
    let r = admin(
        &app,
        Method::PUT,
        &format!("/groups/{finance}/members/{m}/group-role"),
        Some(json!({"groupRole": "manager"})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);

    // The member view: each membership's role, and the manager's scope (the group and below).
    let view = member(&app, &m).await;
    assert_eq!(
        view["groups"],
        json!([{"id": finance, "displayName": "Finance", "type": "direct", "groupRole": "manager"}])
    );
    let mut manages: Vec<(String, bool)> = view["manages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["displayName"].as_str().unwrap().to_string(), g["direct"].as_bool().unwrap()))
        .collect();
    manages.sort();
    assert_eq!(manages, [("Audit".to_string(), false), ("Finance".to_string(), true)]);
    assert_eq!(member(&app, &other).await["manages"], json!([]));
    // The group's member list (members view filtered by group) shows the roles too.
    let listed = admin(&app, Method::GET, &format!("/members?group={finance}"), None).await;
    let roles: Vec<(String, String)> = listed.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["userName"].as_str().unwrap().to_string(),
                x["groups"][0]["groupRole"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [("mona".to_string(), "manager".to_string()), ("olle".to_string(), "member".to_string())]
    );

    // SCIM: a readOnly attribute of Roster's User extension, with the groups.
    let got = app.get(&format!("/Users/{m}")).await;
    assert_eq!(
        got.body[EXT]["groupRoles"],
        json!([{"value": finance, "display": "Finance", "role": "manager"}])
    );
    let only = app.get(&format!("/Users/{m}?attributes={EXT}:groupRoles")).await;
    assert_eq!(only.body[EXT]["groupRoles"][0]["role"], "manager", "{}", only.body);
    // Filterable, in PostgreSQL.
    let q = |f: &str| format!("/Users?filter={}", url_encode(f));
    let managers =
        app.get(&q(&format!("{EXT}:groupRoles[role eq \"manager\" and value eq \"{finance}\"]"))).await;
    assert_eq!(managers.status, 200, "{}", managers.body);
    assert_eq!(managers.body["totalResults"], 1);
    assert_eq!(managers.body["Resources"][0]["id"], m.as_str());
    let plain = app.get(&q(&format!("{EXT}:groupRoles.role eq \"member\""))).await;
    assert_eq!(plain.body["Resources"][0]["id"], other.as_str());
    assert_eq!(
        app.get(&q(&format!("{EXT}:groupRoles.display eq \"finance\""))).await.body["totalResults"],
        2
    );
    app.get(&q(&format!("{EXT}:groupRoles.type eq \"direct\"")))
        .await
        .assert_error(400, Some("invalidFilter"));
    // A readOnly value sent by a client is ignored.
    let put = app.put(&format!("/Users/{other}"), &json!({"schemas": [USER, EXT], "userName": "olle", EXT: {"groupRoles": [{"value": finance, "role": "manager"}]}})).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body[EXT]["groupRoles"][0]["role"], "member");
    assert!(
        view["manages"].as_array().unwrap().iter().any(|g| g["id"] == audit.as_str()),
        "the scope: {view}"
    );
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_admin_api_creates_and_updates_members_through_the_scim_write_path() {
    let app = TestApp::spawn().await;
    let r = admin(&app, Method::POST, "/categories", Some(json!({"name": "City", "kind": "text"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let body = json!({"schemas": [USER, EXT], "userName": "Nora@example.com", "name": {"givenName": "Nora", "familyName": "N"},
                      "title": "Clerk", "roles": [{"value": "editor"}], EXT: {"City": "Oslo"}});
    let c = admin(&app, Method::POST, "/members", Some(body)).await;
    assert_eq!(c.status, 201, "{}", c.body);
    let id = c.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        (
            c.body["origin"].clone(),
            c.body["role"].clone(),
            c.body["roleSource"].clone(),
            c.body["position"].clone(),
            c.body["categories"]["City"].clone()
        ),
        (json!("admin"), json!("editor"), json!("scim"), json!("Clerk"), json!("Oslo"))
    );
    assert_eq!(app.get(&format!("/Users/{id}")).await.body["userName"], "Nora@example.com");
    // The same validation and uniqueness as SCIM.
    admin(&app, Method::POST, "/members", Some(json!({"schemas": [USER], "userName": "nora@EXAMPLE.com"})))
        .await
        .assert_error(409, Some("uniqueness"));
    admin(&app, Method::POST, "/members", Some(json!({"schemas": [USER]})))
        .await
        .assert_error(400, Some("invalidValue"));
    admin(
        &app,
        Method::POST,
        "/members",
        Some(json!({"schemas": [USER], "userName": "x", EXT: {"City": 5}})),
    )
    .await
    .assert_error(400, Some("invalidValue"));

    let u = admin(
        &app,
        Method::PATCH,
        &format!("/members/{id}"),
        Some(json!({"title": "Manager", "active": false})),
    )
    .await;
    assert_eq!(u.status, 200, "{}", u.body);
    assert_eq!(
        (u.body["position"].clone(), u.body["status"].clone()),
        (json!("Manager"), json!("suspended"))
    );
    admin(&app, Method::PATCH, &format!("/members/{id}"), Some(json!({})))
        .await
        .assert_error(400, Some("invalidValue"));
    admin(&app, Method::PATCH, &format!("/members/{id}"), Some(json!({"id": "other"})))
        .await
        .assert_error(400, Some("mutability"));
    admin(&app, Method::PATCH, &format!("/members/{}", uuid::Uuid::now_v7()), Some(json!({"title": "x"})))
        .await
        .assert_error(404, None);
    assert_eq!(
        event_kinds(&app, &id).await,
        ["member.created", "member.invitation_needed", "member.updated", "member.suspended"]
    );
}
