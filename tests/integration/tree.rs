//! The group tree (DESIGN §2): parents through Roster's Group extension, nesting through
//! members, no cycles, effective groups and effective members computed by the database.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::requests::{send, Reply};
use crate::support::TestApp;

const EXT: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:Group";

async fn group(app: &TestApp, name: &str, parent: Option<&str>) -> Reply {
    let mut body =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", EXT], "displayName": name});
    if let Some(p) = parent {
        body[EXT] = json!({"parent": p, "kind": "department"});
    }
    app.post("/Groups", &body).await
}

fn id(r: &Reply) -> String {
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn patch(app: &TestApp, path: &str, ops: Value) -> Reply {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    send(app.req(Method::PATCH, path).header("content-type", "application/scim+json").body(body.to_string()))
        .await
}

#[tokio::test]
async fn parents_are_set_shown_and_inherited_by_members() {
    let app = TestApp::spawn().await;
    let finance = id(&group(&app, "Finance", None).await);
    let accounting = group(&app, "Accounting", Some(&finance)).await;
    assert_eq!(
        accounting.body[EXT]["parent"],
        format!("{}/Groups/{finance}", app.creds.base),
        "a reference: the URL"
    );
    assert_eq!(accounting.body[EXT]["kind"], "department");
    assert!(accounting.body["schemas"].as_array().unwrap().contains(&json!(EXT)));
    let accounting = id(&accounting);
    let u = app.create_user("ledger@example.com").await;
    patch(
        &app,
        &format!("/Groups/{accounting}"),
        json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
    )
    .await;
    let user = app.get(&format!("/Users/{u}")).await.body;
    let mut groups: Vec<(String, String)> = user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["display"].as_str().unwrap().to_string(), g["type"].as_str().unwrap().to_string()))
        .collect();
    groups.sort();
    assert_eq!(groups, vec![("Accounting".into(), "direct".into()), ("Finance".into(), "indirect".into())]);
    // Filterable: members of Accounting are (indirectly) in Finance.
    let r =
        send(app.req(Method::GET, "/Users").query(&[("filter", format!("groups.value eq \"{finance}\""))]))
            .await;
    assert_eq!(r.body["totalResults"], 1);
}

#[tokio::test]
async fn cycles_and_unknown_parents_are_rejected() {
    let app = TestApp::spawn().await;
    let a = id(&group(&app, "A", None).await);
    let b = id(&group(&app, "B", Some(&a)).await);
    let c = id(&group(&app, "C", Some(&b)).await);
    // A under C would close A → B → C → A.
    let r = patch(
        &app,
        &format!("/Groups/{a}"),
        json!([{"op": "replace", "path": format!("{EXT}:parent"), "value": c}]),
    )
    .await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("cycle"), "{detail}");
    // The same cycle through nesting: C contains A.
    let r = patch(
        &app,
        &format!("/Groups/{c}"),
        json!([{"op": "add", "path": "members", "value": [{"value": a, "type": "Group"}]}]),
    )
    .await;
    r.assert_error(400, Some("invalidValue"));
    // A group cannot be its own parent; a parent must exist.
    let r = app.put(&format!("/Groups/{a}"), &json!({"displayName": "A", EXT: {"parent": a}})).await;
    r.assert_error(400, Some("invalidValue"));
    let ghost = uuid::Uuid::now_v7().to_string();
    group(&app, "D", Some(&ghost)).await.assert_error(400, Some("invalidValue"));
    group(&app, "E", Some("not-an-id")).await.assert_error(400, Some("invalidValue"));
    // Nothing changed.
    assert!(app.get(&format!("/Groups/{a}")).await.body.get(EXT).is_none());
}

#[tokio::test]
async fn moving_and_deleting_in_the_tree() {
    let app = TestApp::spawn().await;
    let root = id(&group(&app, "Root", None).await);
    let other = id(&group(&app, "Other", None).await);
    let leaf = id(&group(&app, "Leaf", Some(&root)).await);
    let r = patch(
        &app,
        &format!("/Groups/{leaf}"),
        json!([{"op": "replace", "path": format!("{EXT}:parent"), "value": other}]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        app.get(&format!("/Groups/{leaf}")).await.body[EXT]["parent"],
        format!("{}/Groups/{other}", app.creds.base)
    );
    // The URL form is accepted on input too.
    let url = format!("{}/Groups/{root}", app.creds.base);
    let r = patch(
        &app,
        &format!("/Groups/{leaf}"),
        json!([{"op": "replace", "path": format!("{EXT}:parent"), "value": url}]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.get(&format!("/Groups/{leaf}")).await.body[EXT]["parent"], url);
    patch(&app, &format!("/Groups/{leaf}"), json!([{"op": "remove", "path": format!("{EXT}:parent")}])).await;
    let body = app.get(&format!("/Groups/{leaf}")).await.body;
    assert!(body[EXT].get("parent").is_none(), "a root again");
    assert_eq!(body[EXT]["kind"], "department", "the rest of the extension stays");
    patch(
        &app,
        &format!("/Groups/{leaf}"),
        json!([{"op": "replace", "path": format!("{EXT}:parent"), "value": root}]),
    )
    .await;
    assert_eq!(app.delete(&format!("/Groups/{root}")).await.status, 204);
    let leaf_now = app.get(&format!("/Groups/{leaf}")).await;
    assert_eq!(leaf_now.status, 200);
    assert!(leaf_now.body[EXT].get("parent").is_none(), "children of a deleted group become roots");
}

#[tokio::test]
async fn effective_members_cover_every_descendant() {
    let app = TestApp::spawn().await;
    let top = id(&group(&app, "Top", None).await);
    let mid = id(&group(&app, "Mid", Some(&top)).await);
    let nested = app.create_group("Nested", &[]).await;
    let (u1, u2, u3) = (
        app.create_user("u1@x.com").await,
        app.create_user("u2@x.com").await,
        app.create_user("u3@x.com").await,
    );
    for (g, members) in
        [(&top, vec![u1.clone()]), (&mid, vec![u2.clone(), nested.clone()]), (&nested, vec![u3.clone()])]
    {
        let values: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        assert_eq!(
            patch(&app, &format!("/Groups/{g}"), json!([{"op": "add", "path": "members", "value": values}]))
                .await
                .status,
            204
        );
    }
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let mut tenant_conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut tenant_conn, &app.creds.tenant).await.unwrap();
    let effective = |g: &str| g.parse::<uuid::Uuid>().unwrap();
    let top_members =
        roster::db::groups::effective_members(&mut conn, tenant.id, effective(&top)).await.unwrap();
    let mut got: Vec<(String, bool)> = top_members.iter().map(|(m, d)| (m.to_string(), *d)).collect();
    got.sort();
    let mut want = vec![(u1.clone(), true), (u2.clone(), false), (u3.clone(), false)];
    want.sort();
    assert_eq!(got, want);
    let mid_members =
        roster::db::groups::effective_members(&mut conn, tenant.id, effective(&mid)).await.unwrap();
    assert_eq!(mid_members.len(), 2);
}

/// A member's `groups` as a page of /Users shows them, by member id.
async fn listed_groups(app: &TestApp) -> std::collections::BTreeMap<String, Value> {
    let page = app.get("/Users?count=100").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), u["groups"].clone()))
        .collect()
}

#[tokio::test]
async fn a_page_shows_each_members_groups_as_a_read_does_flat_or_tree() {
    let app = TestApp::spawn().await;
    let sales = id(&group(&app, "Sales", None).await);
    let nordic = id(&group(&app, "Nordic", None).await);
    let both = app.create_user("both@example.com").await;
    let one = app.create_user("one@example.com").await;
    let none = app.create_user("none@example.com").await;
    for (g, members) in [(&sales, vec![&both, &one]), (&nordic, vec![&both])] {
        let value: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let r =
            patch(&app, &format!("/Groups/{g}"), json!([{"op": "add", "path": "members", "value": value}]))
                .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let read = |m: String| {
        let app = &app;
        async move { app.get(&format!("/Users/{m}")).await.body["groups"].clone() }
    };
    // Flat: every group is direct; the page reads them without the tree walk.
    let flat = listed_groups(&app).await;
    assert_eq!(flat[&both].as_array().map(Vec::len), Some(2), "{}", flat[&both]);
    assert_eq!(flat[&one][0]["display"], "Sales");
    assert_eq!(flat[&one][0]["type"], "direct");
    assert!(flat[&none].is_null(), "a member of no group shows none: {}", flat[&none]);
    for m in [&both, &one, &none] {
        assert_eq!(flat[m], read(m.to_string()).await, "the page and a read agree for {m}");
    }
    // A tree: Sales moves under a new group Company, so Sales' members are in Company too.
    let company = id(&group(&app, "Company", None).await);
    let r = patch(
        &app,
        &format!("/Groups/{sales}"),
        json!([{"op": "replace", "path": format!("{EXT}:parent"), "value": company}]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let tree = listed_groups(&app).await;
    let displays = |v: &Value| -> Vec<(String, String)> {
        let mut d: Vec<(String, String)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["display"].as_str().unwrap().into(), g["type"].as_str().unwrap().into()))
            .collect();
        d.sort();
        d
    };
    assert_eq!(
        displays(&tree[&one]),
        vec![("Company".into(), "indirect".into()), ("Sales".into(), "direct".into())]
    );
    for m in [&both, &one, &none] {
        assert_eq!(tree[m], read(m.to_string()).await, "the page and a read agree for {m}");
    }
}
