//! The query engine: filters executed in PostgreSQL give exactly what the reference in-memory
//! evaluation (`scim::filter::eval`) gives over the same data; sorting; cursor and index paging;
//! /.search.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::support::requests::send;
use crate::support::TestApp;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A varied population: case variants, missing attributes, several emails, enterprise data.
async fn seed(app: &TestApp) -> Vec<String> {
    let people = [
        ("bjensen@example.com", "Barbara", "Jensen", "Tour Guide", true, "Employee", "Sales", Some("701984")),
        ("JSmith@Example.org", "John", "Smith", "Engineer", true, "Employee", "R&D", Some("1001")),
        ("o'malley@example.com", "Sean", "O'Malley", "", false, "Intern", "R&D", None),
        ("ærlig@example.no", "Ærlig", "Østby", "Manager", true, "Contractor", "Sales", Some("42")),
        ("alice_50%@example.com", "Alice", "Zed", "Tour Guide", true, "Employee", "Finance", None),
        ("zoe@foo.com", "Zoe", "Adams", "CTO", false, "Employee", "", Some("7")),
    ];
    let mut ids = Vec::new();
    for (i, (user_name, given, family, title, active, user_type, dept, employee)) in people.iter().enumerate()
    {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "externalId": format!("ext-{i}"),
            "name": {"givenName": given, "familyName": family, "formatted": format!("{given} {family}")},
            "displayName": format!("{given} {family}"),
            "active": active,
            "userType": user_type,
            "emails": [
                {"value": user_name.to_uppercase(), "type": "work", "primary": true},
                {"value": format!("{given}@home.example"), "type": "home"}
            ],
            "phoneNumbers": [{"value": format!("555-000{i}"), "type": if i % 2 == 0 { "mobile" } else { "work" }}],
            "ims": [{"value": format!("{given}@xmpp.foo.com"), "type": "xmpp"}],
            "addresses": [{"type": "work", "locality": if i < 3 { "Oslo" } else { "Paris" }, "country": "NO"}],
            "roles": [{"value": if i % 3 == 0 { "editor" } else { "member" }, "primary": true}],
            "entitlements": [{"value": format!("license-{}", i % 2)}],
        });
        if !title.is_empty() {
            body["title"] = json!(title);
        }
        let mut ext = Map::new();
        if !dept.is_empty() {
            ext.insert("department".into(), json!(dept));
        }
        if let Some(e) = employee {
            ext.insert("employeeNumber".into(), json!(e));
            ext.insert("manager".into(), json!({"value": format!("mgr-{}", i % 2)}));
        }
        if !ext.is_empty() {
            body[ENTERPRISE] = Value::Object(ext);
            body["schemas"].as_array_mut().unwrap().push(json!(ENTERPRISE));
        }
        let r = app.post("/Users", &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    // A user without emails or name at all.
    ids.push(app.create_user("bare@example.com").await);
    ids
}

async fn all(app: &TestApp, endpoint: &str) -> Vec<Map<String, Value>> {
    let r = app.get(&format!("/{endpoint}?count=1000")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["Resources"].as_array().unwrap().iter().map(|v| v.as_object().unwrap().clone()).collect()
}

async fn sql_ids(app: &TestApp, endpoint: &str, filter: &str) -> Result<BTreeSet<String>, Value> {
    let r =
        send(app.req(Method::GET, &format!("/{endpoint}")).query(&[("filter", filter), ("count", "1000")]))
            .await;
    if r.status != 200 {
        return Err(r.body);
    }
    let found: BTreeSet<String> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(r.body["totalResults"].as_u64().unwrap() as usize, found.len(), "{filter}: totalResults");
    Ok(found)
}

fn reference_ids(
    kind: roster::scim::schema::ResourceKind,
    resources: &[Map<String, Value>],
    filter: &str,
) -> BTreeSet<String> {
    let registry = roster::scim::schema::Registry::standard();
    let parsed = roster::scim::filter::parse_filter(filter).unwrap();
    resources
        .iter()
        .filter(|r| roster::scim::filter::eval::matches(&registry, kind, r, &parsed).unwrap())
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn user_filters_match_the_reference_evaluation() {
    let app = TestApp::spawn().await;
    let ids = seed(&app).await;
    let g = app.create_group("Tour Guides", &[&ids[0], &ids[4]]).await;
    app.create_group("All Guides", &[&g]).await;
    let users = all(&app, "Users").await;
    let created_mid = users[3]["meta"]["created"].as_str().unwrap().to_string();
    let filters = [
        // RFC 7644 §3.4.2.2 examples
        r#"userName eq "bjensen@example.com""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"title pr"#,
        &format!(r#"meta.lastModified gt "{created_mid}""#),
        &format!(r#"meta.lastModified ge "{created_mid}""#),
        &format!(r#"meta.created lt "{created_mid}""#),
        &format!(r#"meta.created le "{created_mid}""#),
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        // What IdPs send
        r#"userName eq "JSMITH@example.ORG""#,
        r#"externalId eq "ext-2""#,
        r#"externalId eq "EXT-2""#,
        &format!(r#"id eq "{}""#, ids[1]),
        r#"id eq "not-a-uuid""#,
        r#"emails[type eq "work"].value eq "bjensen@example.com""#,
        r#"emails[value eq "ZOE@FOO.COM"]"#,
        r#"emails.value eq "barbara@home.example""#,
        // Every operator, case rules, unicode, LIKE metacharacters
        r#"userName ew ".no""#,
        r#"userName co "_50%""#,
        r#"userName co "%""#,
        r#"name.givenName eq "ærlig""#,
        r#"displayName sw "ZO""#,
        r#"userName gt "m""#,
        r#"userName le "bjensen@example.com""#,
        r#"active eq false"#,
        r#"active ne true"#,
        r#"not (active eq true)"#,
        r#"title ne "Tour Guide""#,
        r#"title eq null"#,
        r#"nickName pr"#,
        r#"name pr"#,
        r#"emails pr"#,
        r#"phoneNumbers[type eq "mobile"]"#,
        r#"addresses[locality eq "oslo" and country eq "NO"]"#,
        r#"addresses.locality eq "Paris""#,
        r#"roles[primary eq true and value eq "editor"]"#,
        r#"entitlements.value eq "license-1""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "r&d""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "mgr-1""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr"#,
        r#"not (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales") and userType eq "Employee""#,
        r#"USERNAME EQ "zoe@foo.com" OR TITLE EQ "cto""#,
        &format!(r#"groups.value eq "{g}""#),
        r#"groups[display eq "all guides" and type eq "indirect"]"#,
        r#"groups pr"#,
        r#"meta.resourceType eq "User""#,
    ];
    let mut nonempty = 0;
    for filter in filters {
        let expected = reference_ids(roster::scim::schema::ResourceKind::User, &users, filter);
        let got =
            sql_ids(&app, "Users", filter).await.unwrap_or_else(|e| panic!("{filter} was rejected: {e}"));
        assert_eq!(got, expected, "filter {filter}");
        nonempty += usize::from(!got.is_empty());
    }
    assert!(nonempty > 40, "the data set must make most filters match something ({nonempty})");
}

#[tokio::test]
async fn group_filters_and_the_membership_probe() {
    let app = TestApp::spawn().await;
    let u1 = app.create_user("u1@example.com").await;
    let u2 = app.create_user("u2@example.com").await;
    let sub = app.create_group("Accounting", &[&u2]).await;
    let g = app.create_group("Finance", &[&u1, &sub]).await;
    app.create_group("Empty", &[]).await;
    let groups = all(&app, "Groups").await;
    for filter in [
        r#"displayName eq "FINANCE""#,
        r#"displayName sw "acc""#,
        &format!(r#"id eq "{g}" and members[value eq "{u1}"]"#),
        &format!(r#"id eq "{g}" and members[value eq "{u2}"]"#),
        &format!(r#"members[value eq "{sub}" and type eq "Group"]"#),
        &format!(r#"members.value eq "{u2}""#),
        r#"members[display eq "u1@example.com"]"#,
        r#"members pr"#,
        r#"not (members pr)"#,
    ] {
        let expected = reference_ids(roster::scim::schema::ResourceKind::Group, &groups, filter);
        assert_eq!(sql_ids(&app, "Groups", filter).await.unwrap(), expected, "filter {filter}");
    }
    // The Entra probe answers with the group only when the user is a direct member.
    let probe = format!(r#"id eq "{g}" and members[value eq "{u1}"]"#);
    let r = send(
        app.req(Method::GET, "/Groups")
            .query(&[("filter", probe.as_str()), ("excludedAttributes", "members")]),
    )
    .await;
    assert_eq!(r.body["totalResults"], 1);
    assert!(r.body["Resources"][0].get("members").is_none());
    let probe = format!(r#"id eq "{g}" and members[value eq "{u2}"]"#);
    assert_eq!(
        send(app.req(Method::GET, "/Groups").query(&[("filter", probe.as_str())])).await.body["totalResults"],
        0
    );
}

#[tokio::test]
async fn entra_test_connection_gets_an_empty_list() {
    let app = TestApp::spawn().await;
    let r = send(
        app.req(Method::GET, "/Users")
            .query(&[("filter", "userName eq \"8a3d2f0e-1b9c-4b6e-9e1f-2a7c5d4b3e21\"")]),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
}

#[tokio::test]
async fn bad_filters_are_invalid_filter_never_an_empty_list() {
    let app = TestApp::spawn().await;
    app.create_user("x@example.com").await;
    for (endpoint, filter) in [
        ("Users", r#"shoeSize eq "42""#),
        ("Users", r#"userName eq"#),
        ("Users", r#"userName like "x""#),
        ("Users", r#"(userName eq "x""#),
        ("Users", r#"active co "t""#),
        ("Users", r#"meta.lastModified gt "last tuesday""#),
        ("Users", r#"urn:example:unknown:1.0:thing eq "x""#),
        ("Users", r#"members[value eq "x"]"#),
        ("Groups", r#"userName eq "x""#),
        ("Groups", r#"emails[type eq "work"]"#),
    ] {
        let r = send(app.req(Method::GET, &format!("/{endpoint}")).query(&[("filter", filter)])).await;
        r.assert_error(400, Some("invalidFilter"));
    }
    let deep = format!("{}userName eq \"x\"{}", "(".repeat(5000), ")".repeat(5000));
    let r = send(
        app.req(Method::POST, "/Users/.search")
            .header("content-type", "application/scim+json")
            .body(json!({"filter": deep}).to_string()),
    )
    .await;
    r.assert_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn sorting_by_singular_attributes() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let sorted = |by: &str, order: &str| {
        let app = &app;
        let (by, order) = (by.to_string(), order.to_string());
        async move {
            let r = send(
                app.req(Method::GET, "/Users")
                    .query(&[("sortBy", by.as_str()), ("sortOrder", order.as_str())]),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["Resources"].as_array().unwrap().clone()
        }
    };
    let names: Vec<String> = sorted("userName", "ascending")
        .await
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_lowercase())
        .collect();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(names, expected, "case-insensitive ascending");
    let desc: Vec<String> = sorted("USERNAME", "descending")
        .await
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_lowercase())
        .collect();
    expected.reverse();
    assert_eq!(desc, expected);
    // Unassigned values sort last ascending.
    let family: Vec<Option<String>> = sorted("name.familyName", "ascending")
        .await
        .iter()
        .map(|u| u["name"]["familyName"].as_str().map(str::to_lowercase))
        .collect();
    assert_eq!(family.last().unwrap(), &None);
    let present: Vec<&String> = family.iter().flatten().collect();
    let mut sorted_present = present.clone();
    sorted_present.sort();
    assert_eq!(present, sorted_present);
    let dept = sorted(&format!("{ENTERPRISE}:department"), "ascending").await;
    assert_eq!(dept[0][ENTERPRISE]["department"], "Finance");
    let created: Vec<String> = sorted("meta.created", "descending")
        .await
        .iter()
        .map(|u| u["meta"]["created"].as_str().unwrap().into())
        .collect();
    let mut c = created.clone();
    c.sort();
    c.reverse();
    assert_eq!(created, c);
    let r = send(app.req(Method::GET, "/Users").query(&[("sortBy", "phoneNumbers.value")])).await;
    r.assert_error(400, Some("invalidValue"));
    let r = send(app.req(Method::GET, "/Users").query(&[("sortBy", "shoeSize")])).await;
    r.assert_error(400, Some("invalidValue"));
}

async fn cursor_page(app: &TestApp, params: &[(&str, &str)]) -> Value {
    let r = send(app.req(Method::GET, "/Users").query(params)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test]
async fn cursor_walks_are_complete_stable_and_reversible() {
    let app = TestApp::spawn().await;
    let mut expected = Vec::new();
    for i in 0..10 {
        expected.push(app.create_user(&format!("walker{i:02}@example.com")).await);
    }
    // Forward walk, with inserts and a delete happening between pages.
    let mut seen = Vec::new();
    let mut page = cursor_page(&app, &[("cursor", ""), ("count", "3"), ("sortBy", "userName")]).await;
    assert!(page.get("startIndex").is_none());
    assert!(page.get("previousCursor").is_none(), "first page has no previous");
    let mut pages = vec![page.clone()];
    let mut inserted = 0;
    loop {
        seen.extend(
            page["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_string()),
        );
        app.create_user(&format!("a-new-{inserted}@example.com")).await; // sorts before every walker
        app.create_user(&format!("zz-new-{inserted}@example.com")).await; // sorts after
        inserted += 1;
        let Some(next) = page["nextCursor"].as_str() else { break };
        page = cursor_page(&app, &[("cursor", next), ("count", "3"), ("sortBy", "userName")]).await;
        pages.push(page.clone());
        if inserted > 20 {
            panic!("walk does not end");
        }
    }
    let walkers: Vec<String> = seen.iter().filter(|id| expected.contains(id)).cloned().collect();
    assert_eq!(walkers, expected, "every pre-existing row exactly once, in order");
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no row repeated");
    // Going back from the second page gives the first page again.
    let back = pages[1]["previousCursor"].as_str().unwrap();
    let first_again = cursor_page(&app, &[("cursor", back), ("count", "3"), ("sortBy", "userName")]).await;
    let ids = |p: &Value| -> Vec<String> {
        p["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_string()).collect()
    };
    let first_now = ids(&first_again);
    assert_eq!(first_now.len(), 3);
    assert_eq!(first_now.last(), ids(&pages[0]).last(), "previous page ends where the first page ended");
}

#[tokio::test]
async fn cursor_errors() {
    let app = TestApp::spawn().await;
    for i in 0..4 {
        app.create_user(&format!("c{i}@example.com")).await;
    }
    let page = cursor_page(&app, &[("cursor", ""), ("count", "2")]).await;
    let next = page["nextCursor"].as_str().unwrap().to_string();
    let mut tampered = next.clone();
    tampered.insert(tampered.len() / 2, 'A');
    let r =
        send(app.req(Method::GET, "/Users").query(&[("cursor", tampered.as_str()), ("count", "2")])).await;
    r.assert_error(400, Some("invalidCursor"));
    let r =
        send(app.req(Method::GET, "/Users").query(&[("cursor", next.as_str()), ("filter", "userName pr")]))
            .await;
    r.assert_error(400, Some("invalidCursor"));
    let r = send(app.req(Method::GET, "/Groups").query(&[("cursor", next.as_str())])).await;
    r.assert_error(400, Some("invalidCursor"));
    let other = app.new_tenant("other").await;
    let r = send(app.req_as(&other, Method::GET, "/Users").query(&[("cursor", next.as_str())])).await;
    r.assert_error(400, Some("invalidCursor"));
    let r = send(app.req(Method::GET, "/Users").query(&[("cursor", ""), ("count", "100000")])).await;
    r.assert_error(400, Some("invalidCount"));
}

#[tokio::test]
async fn search_endpoints() {
    let app = TestApp::spawn().await;
    let ids = seed(&app).await;
    app.create_group("Sales team", &[&ids[0]]).await;
    let search = |path: &'static str, body: Value| {
        let app = &app;
        async move {
            send(
                app.req(Method::POST, path)
                    .header("content-type", "application/scim+json")
                    .body(body.to_string()),
            )
            .await
        }
    };
    let r = search(
        "/Users/.search",
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userType eq \"Employee\"",
               "attributes": ["userName"], "sortBy": "userName", "count": 2}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["itemsPerPage"], 2);
    assert!(r.body["Resources"][0].get("emails").is_none());
    // Root search spans both types.
    let r = search("/.search", json!({"filter": "meta.created pr", "count": 100})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 8);
    let types: BTreeSet<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, BTreeSet::from(["Group", "User"]));
    // displayName exists in both; userName only in users.
    let r = search("/.search", json!({"filter": "userName sw \"z\""})).await;
    assert_eq!(r.body["totalResults"], 1);
    let r = search("/.search", json!({"filter": "shoeSize pr"})).await;
    r.assert_error(400, Some("invalidFilter"));
    // Root paging crosses from users into groups.
    let r = search("/.search", json!({"startIndex": 7, "count": 2})).await;
    let page: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(page, vec!["User", "Group"]);
}

#[tokio::test]
async fn user_groups_attribute_lists_direct_and_inherited_groups() {
    let app = TestApp::spawn().await;
    let u = app.create_user("nested@example.com").await;
    let team = app.create_group("Accounting", &[&u]).await;
    let dept = app.create_group("Finance", &[&team]).await;
    let user = app.get(&format!("/Users/{u}")).await.body;
    let mut groups: Vec<(String, String)> = user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["value"].as_str().unwrap().to_string(), g["type"].as_str().unwrap().to_string()))
        .collect();
    groups.sort();
    let mut expected = vec![(team.clone(), "direct".to_string()), (dept.clone(), "indirect".to_string())];
    expected.sort();
    assert_eq!(groups, expected);
    let r = app.get(&format!("/Users/{u}?excludedAttributes=groups")).await.body;
    assert!(r.get("groups").is_none());
}

/// The IdPs' probe `userName eq "…"` is answered by its own prepared statement; whatever the
/// spelling of the attribute and the case of the value, it answers exactly what the general
/// filter path answers (the same filter with a clause that is always true), groups included, and
/// finds no removed member.
#[tokio::test]
async fn the_user_name_probe_answers_what_the_general_filter_answers() {
    let app = TestApp::spawn().await;
    let ids = seed(&app).await;
    app.create_group("Guides", &[&ids[0]]).await;
    let list = |filter: String| {
        let app = &app;
        async move {
            let r = send(app.req(Method::GET, "/Users").query(&[("filter", filter)])).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body
        }
    };
    for (probe, general) in [
        ("userName eq \"bjensen@example.com\"", "userName eq \"bjensen@example.com\" and id pr"),
        ("USERNAME eq \"BJENSEN@example.COM\"", "userName eq \"bjensen@example.com\" and id pr"),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"jsmith@example.org\"",
            "userName eq \"JSmith@Example.org\" and id pr",
        ),
        ("userName eq \"nobody@example.com\"", "userName eq \"nobody@example.com\" and id pr"),
    ] {
        let (fast, slow) = (list(probe.to_string()).await, list(general.to_string()).await);
        assert_eq!(fast, slow, "{probe}");
    }
    let one = list("userName eq \"bjensen@example.com\"".into()).await;
    assert_eq!(one["totalResults"], 1);
    assert!(one["Resources"][0]["groups"].is_array(), "groups are shown: {one}");
    // Removed: the probe no longer finds the member.
    let id = one["Resources"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(id, ids[0]);
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    assert_eq!(list("userName eq \"bjensen@example.com\"".into()).await["totalResults"], 0);
}
