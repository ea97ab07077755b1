//! The admin API's directory views: invitation state and the member lifecycle it drives, the
//! members view (filters, paging, effective groups), the group tree, and the OpenAPI document.

use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::requests::{send, Reply};
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

const EXT: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:Group";
const USER_EXT: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut req =
        app.client.request(method, format!("{}/admin/v1{path}", app.root)).bearer_auth(TEST_ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    send(req).await
}

fn tenant(app: &TestApp, rest: &str) -> String {
    format!("/tenants/{}{rest}", app.creds.tenant)
}

#[derive(QueryableByName)]
struct Kind {
    #[diesel(sql_type = Text)]
    kind: String,
}

/// The kinds of the outbox events about `subject`, in order.
async fn event_kinds(app: &TestApp, subject: &str) -> Vec<String> {
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let rows: Vec<Kind> =
        diesel::sql_query("SELECT kind FROM event_outbox WHERE subject_id = $1 ORDER BY id")
            .bind::<SqlUuid, _>(Uuid::parse_str(subject).unwrap())
            .load(&mut *conn)
            .await
            .unwrap();
    rows.into_iter().map(|r| r.kind).collect()
}

async fn set_active(app: &TestApp, id: &str, active: bool) {
    let body =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": active}]});
    let r = send(
        app.req(Method::PATCH, &format!("/Users/{id}"))
            .header("content-type", "application/scim+json")
            .body(body.to_string()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn status(app: &TestApp, id: &str) -> Value {
    let r = admin(app, Method::GET, &tenant(app, &format!("/members/{id}")), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["status"].clone()
}

#[tokio::test]
async fn invitations_and_logins_drive_the_member_lifecycle() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ada@example.com").await;
    assert_eq!(event_kinds(&app, &id).await, vec!["member.created", "member.invitation_needed"]);
    assert_eq!(status(&app, &id).await, "provisioned");
    let r = admin(&app, Method::POST, &tenant(&app, &format!("/members/{id}/invitations")), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["status"].clone(), r.body["invitation"]["count"].clone()),
        (json!("invited"), json!(1))
    );
    admin(&app, Method::POST, &tenant(&app, &format!("/members/{id}/invitations")), None).await;
    let m = admin(&app, Method::GET, &tenant(&app, &format!("/members/{id}")), None).await.body;
    assert_eq!(m["invitation"]["count"], 2);
    assert!(m["invitation"]["lastInvitedAt"].is_string() && m["invitation"]["joinedAt"].is_null());
    // A PUT of an invited member keeps it invited (the status is not reset by SCIM writes).
    let r = app.put(&format!("/Users/{id}"), &json!({"userName": "ada@example.com", "title": "CTO"})).await;
    assert_eq!(r.status, 200);
    assert_eq!(status(&app, &id).await, "invited");
    // Suspended: invitations and logins refused; reactivation returns to invited and asks again.
    set_active(&app, &id, false).await;
    assert_eq!(status(&app, &id).await, "suspended");
    for what in ["invitations", "logins"] {
        admin(&app, Method::POST, &tenant(&app, &format!("/members/{id}/{what}")), None)
            .await
            .assert_error(409, None);
    }
    set_active(&app, &id, true).await;
    assert_eq!(status(&app, &id).await, "invited");
    let kinds = event_kinds(&app, &id).await;
    assert_eq!(&kinds[kinds.len() - 2..], ["member.reactivated", "member.invitation_needed"], "{kinds:?}");
    // A login: active, joined once.
    let r = admin(&app, Method::POST, &tenant(&app, &format!("/members/{id}/logins")), None).await;
    assert_eq!(r.body["status"], "active");
    let joined = r.body["invitation"]["joinedAt"].clone();
    let r = admin(&app, Method::POST, &tenant(&app, &format!("/members/{id}/logins")), None).await;
    assert_eq!(r.body["invitation"]["joinedAt"], joined, "joined_at is set once");
    // Reactivating a member who joined goes back to active, with no invitation needed.
    set_active(&app, &id, false).await;
    set_active(&app, &id, true).await;
    assert_eq!(status(&app, &id).await, "active");
    assert_eq!(event_kinds(&app, &id).await.last().unwrap(), "member.reactivated");
    // Removed members: 409; unknown ids: 404.
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    admin(&app, Method::POST, &tenant(&app, &format!("/members/{id}/invitations")), None)
        .await
        .assert_error(409, None);
    assert_eq!(status(&app, &id).await, "removed");
    admin(&app, Method::POST, &tenant(&app, &format!("/members/{}/logins", Uuid::now_v7())), None)
        .await
        .assert_error(404, None);
    // Restored within retention: the invitation state and the status it implies come back, and
    // a member who joined needs no invitation.
    let again = app.create_user("ada@example.com").await;
    assert_eq!(again, id);
    assert_eq!(status(&app, &id).await, "active");
    assert_eq!(event_kinds(&app, &id).await.last().unwrap(), "member.created");
}

#[tokio::test]
async fn sso_tenants_get_no_invitations() {
    let app = TestApp::spawn().await;
    let r = admin(&app, Method::PATCH, &tenant(&app, ""), Some(json!({"sso": true}))).await;
    assert_eq!((r.status.as_u16(), r.body["sso"].clone()), (200, json!(true)), "{}", r.body);
    assert_eq!(admin(&app, Method::GET, &tenant(&app, ""), None).await.body["sso"], true);
    admin(&app, Method::PATCH, &tenant(&app, ""), Some(json!({"sso": "yes"})))
        .await
        .assert_error(400, Some("invalidValue"));
    let id = app.create_user("grace@example.com").await;
    assert_eq!(event_kinds(&app, &id).await, vec!["member.created"]);
    let r = admin(&app, Method::POST, &tenant(&app, &format!("/members/{id}/invitations")), None).await;
    assert!(r.assert_error(409, None).contains("SSO"));
    set_active(&app, &id, false).await;
    set_active(&app, &id, true).await;
    assert!(!event_kinds(&app, &id).await.contains(&"member.invitation_needed".to_string()));
    // Logins are still recorded.
    let r = admin(&app, Method::POST, &tenant(&app, &format!("/members/{id}/logins")), None).await;
    assert_eq!(r.body["status"], "active");
}

#[tokio::test]
async fn bulk_creations_ask_for_invitations_in_the_same_transaction() {
    let app = TestApp::spawn().await;
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a@example.com"}},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "b@example.com", "active": false}},
    ]});
    let r = app.post("/Bulk", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ids: Vec<String> = r.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["location"].as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(event_kinds(&app, &ids[0]).await, vec!["member.created", "member.invitation_needed"]);
    // Created inactive: nobody to invite yet.
    assert_eq!(event_kinds(&app, &ids[1]).await, vec!["member.created"]);
    assert_eq!(status(&app, &ids[1]).await, "suspended");
}

#[tokio::test]
async fn the_members_view_filters_and_pages_without_skips_or_repeats() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let r = app
            .post(
                "/Users",
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("user{i}@example.com"), "name": {"givenName": format!("G{i}"), "familyName": "Lovelace"},
                        "emails": [{"value": format!("u{i}@mail.example"), "primary": true}], "externalId": format!("x{i}")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let other = app.new_tenant("globex").await;
    let theirs = send(app.req_as(&other, Method::POST, "/Users").header("content-type", "application/scim+json").body(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "user9@example.com"}).to_string(),
    ))
    .await
    .body;
    // What other parts of the model write (roles, positions, categories, imports), set directly.
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    diesel::sql_query(
        "WITH p AS (INSERT INTO positions (tenant_id, id, name, name_key, created_at) \
                    SELECT tenant_id, gen_random_uuid(), 'Engineer', 'engineer', now() FROM users WHERE id = $1 \
                    RETURNING tenant_id, id) \
         UPDATE users u SET effective_role = 'editor', position_id = p.id, personal_id = 'P-5', comment = 'night shift', \
             resource = u.resource || jsonb_build_object($2::text, '{\"shoeSize\": 42}'::jsonb) \
         FROM p WHERE u.tenant_id = p.tenant_id AND u.id = $1",
    )
    .bind::<SqlUuid, _>(Uuid::parse_str(&ids[5]).unwrap())
    .bind::<Text, _>(USER_EXT)
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    // Groups: dept > team; user0 in team (indirect in dept), user1 in dept.
    let dept = app.create_group("Dept", &[&ids[1]]).await;
    let team = app.create_group("Team", &[&ids[0]]).await;
    let r = admin(
        &app,
        Method::PUT,
        &tenant(&app, &format!("/groups/{team}/parent")),
        Some(json!({"parent": dept})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Invite user2, log user3 in, suspend user4.
    admin(&app, Method::POST, &tenant(&app, &format!("/members/{}/invitations", ids[2])), None).await;
    admin(&app, Method::POST, &tenant(&app, &format!("/members/{}/logins", ids[3])), None).await;
    set_active(&app, &ids[4], false).await;

    // Paging: limit 3 walks all 7 in creation order, each once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => tenant(&app, &format!("/members?limit=3&after={a}")),
            None => tenant(&app, "/members?limit=3"),
        };
        let page = admin(&app, Method::GET, &path, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let members = page.body["members"].as_array().unwrap();
        assert!(members.len() <= 3);
        seen.extend(members.iter().map(|m| m["id"].as_str().unwrap().to_string()));
        match page.body["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every member once, in creation order, none of the other tenant's");
    assert!(!seen.contains(&theirs["id"].as_str().unwrap_or("").to_string()));

    let list = |q: String| {
        let app = &app;
        async move {
            let r = admin(app, Method::GET, &tenant(app, &format!("/members?{q}")), None).await;
            assert_eq!(r.status, 200, "{q}: {}", r.body);
            r.body["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("status=invited".into()).await, vec![ids[2].clone()]);
    assert_eq!(list("status=active".into()).await, vec![ids[3].clone()]);
    assert_eq!(list("status=suspended".into()).await, vec![ids[4].clone()]);
    assert_eq!(
        list(format!("group={dept}")).await,
        vec![ids[0].clone(), ids[1].clone()],
        "descendants included"
    );
    assert_eq!(list(format!("group={team}")).await, vec![ids[0].clone()]);
    assert_eq!(list("never_invited=true".into()).await.len(), 6);
    assert_eq!(list("never_logged_in=true".into()).await.len(), 6);
    assert_eq!(list("role=editor".into()).await, vec![ids[5].clone()]);
    assert!(list("role=org_admin".into()).await.is_empty());
    assert_eq!(list("origin=scim".into()).await.len(), 7);
    assert!(list("origin=import".into()).await.is_empty());
    assert_eq!(list("q=USER5".into()).await, vec![ids[5].clone()], "userName prefix, caseless");
    assert_eq!(list("q=g6".into()).await, vec![ids[6].clone()], "givenName prefix");
    assert_eq!(list("q=u1%40mail".into()).await, vec![ids[1].clone()], "email prefix");
    assert_eq!(list("q=lovelace&status=invited".into()).await, vec![ids[2].clone()], "filters combine");
    assert!(list("q=%25".into()).await.is_empty(), "LIKE wildcards are literal");
    // Bad input: 400 invalidValue naming the problem.
    for q in [
        "status=gone",
        "origin=ldap",
        "limit=0",
        "limit=1001",
        "after=nope",
        "group=nope",
        "never_invited=yes",
        "colour=red",
    ] {
        let r = admin(&app, Method::GET, &tenant(&app, &format!("/members?{q}")), None).await;
        let detail = r.assert_error(400, Some("invalidValue"));
        let name = q.split('=').next().unwrap();
        assert!(detail.contains(name), "{q}: {detail}");
    }
    admin(&app, Method::GET, &tenant(&app, &format!("/members?group={}", Uuid::now_v7())), None)
        .await
        .assert_error(400, Some("invalidValue"));

    // One member, with everything the view shows.
    let m = admin(&app, Method::GET, &tenant(&app, &format!("/members/{}", ids[0])), None).await.body;
    assert_eq!(m["userName"], "user0@example.com");
    assert_eq!((m["givenName"].clone(), m["familyName"].clone()), (json!("G0"), json!("Lovelace")));
    assert_eq!((m["email"].clone(), m["externalId"].clone()), (json!("u0@mail.example"), json!("x0")));
    assert_eq!((m["status"].clone(), m["active"].clone()), (json!("provisioned"), json!(true)));
    assert_eq!((m["origin"].clone(), m["categories"].clone()), (json!("scim"), json!({})));
    assert_eq!(
        m["invitation"],
        json!({"count": 0, "lastInvitedAt": null, "joinedAt": null, "lastLoginAt": null})
    );
    let mut groups: Vec<(String, String)> = m["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["id"].as_str().unwrap().to_string(), g["type"].as_str().unwrap().to_string()))
        .collect();
    groups.sort();
    let mut expected = vec![(team.clone(), "direct".to_string()), (dept.clone(), "indirect".to_string())];
    expected.sort();
    assert_eq!(groups, expected);
    let m5 = admin(&app, Method::GET, &tenant(&app, &format!("/members/{}", ids[5])), None).await.body;
    assert_eq!((m5["role"].clone(), m5["position"].clone()), (json!("editor"), json!("Engineer")));
    assert_eq!((m5["personalId"].clone(), m5["comment"].clone()), (json!("P-5"), json!("night shift")));
    assert_eq!(m5["categories"], json!({"shoeSize": 42}));
    assert_eq!(m5["groups"], json!([]));
    admin(&app, Method::GET, &tenant(&app, &format!("/members/{}", Uuid::now_v7())), None)
        .await
        .assert_error(404, None);
    let theirs_id = theirs["id"].as_str().unwrap();
    admin(&app, Method::GET, &tenant(&app, &format!("/members/{theirs_id}")), None)
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn the_tree_shows_every_group_and_moves_reject_cycles() {
    let app = TestApp::spawn().await;
    let u = app.create_user("ada@example.com").await;
    let root = app.create_group("Root", &[]).await;
    let r =
        app.post("/Groups", &json!({"displayName": "Child", EXT: {"parent": root, "kind": "team"}})).await;
    let child = r.body["id"].as_str().unwrap().to_string();
    let leaf = app.create_group("Leaf", &[&u]).await;
    let tree = admin(&app, Method::GET, &tenant(&app, "/groups/tree"), None).await;
    assert_eq!(tree.status, 200, "{}", tree.body);
    let nodes = tree.body["groups"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    let node = |id: &str| nodes.iter().find(|n| n["id"] == id).unwrap().clone();
    assert_eq!(node(&child)["parentId"], root.as_str());
    assert_eq!(node(&child)["kind"], "team");
    assert!(node(&root)["parentId"].is_null());
    assert_eq!(node(&leaf)["directMembers"], 1);

    // Move leaf under child: the same rules and event as a SCIM PATCH of parent.
    let r = admin(
        &app,
        Method::PUT,
        &tenant(&app, &format!("/groups/{leaf}/parent")),
        Some(json!({"parent": child})),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.body["parentId"].clone()), (200, json!(child)), "{}", r.body);
    assert_eq!(event_kinds(&app, &leaf).await.last().unwrap(), "group.updated");
    let scim = app.get(&format!("/Groups/{leaf}")).await;
    assert!(scim.body[EXT]["parent"].as_str().unwrap().ends_with(&child));
    let user = app.get(&format!("/Users/{u}")).await;
    assert_eq!(user.body["groups"].as_array().unwrap().len(), 3, "leaf direct, child and root indirect");
    // Cycles and unknown parents: 400 invalidValue, nothing changed.
    for bad in [json!({"parent": leaf}), json!({"parent": Uuid::now_v7()}), json!({"parent": "nope"})] {
        admin(&app, Method::PUT, &tenant(&app, &format!("/groups/{root}/parent")), Some(bad))
            .await
            .assert_error(400, Some("invalidValue"));
    }
    admin(
        &app,
        Method::PUT,
        &tenant(&app, &format!("/groups/{child}/parent")),
        Some(json!({"parent": leaf})),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    assert!(node(&root)["parentId"].is_null());
    // Back to a root.
    let r = admin(
        &app,
        Method::PUT,
        &tenant(&app, &format!("/groups/{leaf}/parent")),
        Some(json!({"parent": null})),
    )
    .await;
    assert!(r.body["parentId"].is_null(), "{}", r.body);
    admin(
        &app,
        Method::PUT,
        &tenant(&app, &format!("/groups/{}/parent", Uuid::now_v7())),
        Some(json!({"parent": null})),
    )
    .await
    .assert_error(404, None);
}

#[tokio::test]
async fn the_openapi_document_is_served_without_a_credential() {
    let app = TestApp::spawn().await;
    let r = send(app.client.get(format!("{}/admin/v1/openapi.json", app.root))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["openapi"], "3.1.0");
    assert!(r.body["paths"]["/tenants/{tenant}/members"]["get"].is_object());
}
