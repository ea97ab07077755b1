//! Categories: per-tenant attributes of Roster's User extension — schema per tenant, validation
//! on every write path, filters and sorting (SQL against the reference evaluator), mapping from
//! another attribute, the admin API, and isolation between tenants.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::support::requests::{send, Reply};
use crate::support::{Credentials, TestApp, TEST_ADMIN_TOKEN};
use roster::scim::schema::{Category, CategoryKind, Registry, ResourceKind};

const EXT: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut req =
        app.client.request(method, format!("{}/admin/v1{path}", app.root)).bearer_auth(TEST_ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    send(req).await
}

async fn define(app: &TestApp, tenant: &str, body: Value) {
    let r = admin(app, Method::POST, &format!("/tenants/{tenant}/categories"), Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// City (dropdown), Age (number), Start (date), Remote (boolean), Note (text).
async fn define_all(app: &TestApp) {
    let t = app.creds.tenant.clone();
    define(
        app,
        &t,
        json!({"name": "City", "kind": "dropdown", "allowed_values": ["Oslo", "Bergen", "Ålesund"]}),
    )
    .await;
    define(app, &t, json!({"name": "Age", "kind": "number", "display_name": "Age in years"})).await;
    define(app, &t, json!({"name": "Start", "kind": "date"})).await;
    define(app, &t, json!({"name": "Remote", "kind": "boolean"})).await;
    define(app, &t, json!({"name": "Note", "kind": "text"})).await;
}

fn categories() -> Vec<Category> {
    let cat = |name: &str, kind, values: &[&str]| Category {
        name: name.into(),
        display_name: name.into(),
        kind,
        allowed_values: values.iter().map(|v| v.to_string()).collect(),
        source: None,
    };
    // The order the server lists them in (by name).
    vec![
        cat("Age", CategoryKind::Number, &[]),
        cat("City", CategoryKind::Dropdown, &["Oslo", "Bergen", "Ålesund"]),
        cat("Note", CategoryKind::Text, &[]),
        cat("Remote", CategoryKind::Boolean, &[]),
        cat("Start", CategoryKind::Date, &[]),
    ]
}

async fn patch(app: &TestApp, path: &str, ops: Value) -> Reply {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    send(app.req(Method::PATCH, path).header("content-type", "application/scim+json").body(body.to_string()))
        .await
}

fn user(name: &str, ext: Value) -> Value {
    json!({"schemas": [USER, EXT], "userName": name, EXT: ext})
}

#[tokio::test]
async fn schemas_show_each_tenants_own_categories() {
    let app = TestApp::spawn().await;
    define_all(&app).await;
    let r = app.get(&format!("/Schemas/{EXT}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let attrs = r.body["attributes"].as_array().unwrap();
    let attr = |n: &str| attrs.iter().find(|a| a["name"] == n).unwrap_or_else(|| panic!("{n} in {attrs:?}"));
    assert_eq!(attr("City")["type"], "string");
    assert_eq!(attr("City")["canonicalValues"], json!(["Oslo", "Bergen", "Ålesund"]));
    assert_eq!(attr("Age")["type"], "decimal");
    assert_eq!(attr("Age")["description"], "Age in years");
    assert_eq!(attr("Start")["type"], "string");
    assert_eq!(attr("Remote")["type"], "boolean");
    for a in ["City", "Age", "Start", "Remote", "Note"] {
        assert_eq!(attr(a)["multiValued"], false);
        assert_eq!(attr(a)["mutability"], "readWrite");
        assert_eq!(attr(a)["returned"], "default");
        assert_eq!(attr(a)["caseExact"], false);
    }
    // The list and the User resource type name it too.
    let all = app.get("/Schemas").await;
    assert!(all.body["Resources"].as_array().unwrap().iter().any(|s| s["id"] == EXT));
    let rt = app.get("/ResourceTypes/User").await;
    assert!(
        rt.body["schemaExtensions"].as_array().unwrap().iter().any(|e| e["schema"] == EXT),
        "{}",
        rt.body
    );

    // Another tenant sees none of them.
    let other = app.new_tenant("globex").await;
    let r = send(app.req_as(&other, Method::GET, "/Schemas")).await;
    assert_eq!(r.status, 200);
    let text = r.body.to_string();
    assert!(!text.contains("\"City\"") && !text.contains("Ålesund"), "{text}");
}

#[tokio::test]
async fn writes_are_validated_for_every_kind() {
    let app = TestApp::spawn().await;
    define_all(&app).await;
    let good = json!({"City": "oslo", "Age": 42.5, "Start": "2026-11-23", "Remote": true, "Note": "hi", "Planet": "Mars"});
    let r = app.post("/Users", &user("ada@example.com", good)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Dropdown matched caselessly, stored in its canonical spelling; unknown sub-attribute dropped.
    assert_eq!(
        categories_of(&r.body),
        json!({"City": "Oslo", "Age": 42.5, "Start": "2026-11-23", "Remote": true, "Note": "hi"})
    );
    assert!(r.body["schemas"].as_array().unwrap().contains(&json!(EXT)));
    let id = r.body["id"].as_str().unwrap().to_string();
    app.flush_log().await;

    let bad = [
        (json!({"City": "Paris"}), "City", Some("\"Bergen\"")),
        (json!({"City": 7}), "City", Some("\"Oslo\"")),
        (json!({"Age": "forty"}), "Age", None),
        (json!({"Start": "2026-13-01"}), "Start", Some("YYYY-MM-DD")),
        (json!({"Start": "23.11.2026"}), "Start", Some("YYYY-MM-DD")),
        (json!({"Remote": "maybe"}), "Remote", None),
        (json!({"Note": 5}), "Note", None),
    ];
    for (i, (ext, name, mention)) in bad.iter().enumerate() {
        let r = app.post("/Users", &user(&format!("bad{i}@example.com"), ext.clone())).await;
        let detail = r.assert_error(400, Some("invalidValue"));
        assert!(detail.contains(name), "{ext}: {detail}");
        if let Some(m) = mention {
            assert!(detail.contains(m), "{ext}: {detail}");
        }
        // PUT validates the same way.
        let r = app.put(&format!("/Users/{id}"), &user("ada@example.com", ext.clone())).await;
        r.assert_error(400, Some("invalidValue"));
    }
    // PUT canonicalises too.
    let r = app.put(&format!("/Users/{id}"), &user("ada@example.com", json!({"City": "ÅLESUND"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(categories_of(&r.body), json!({"City": "Ålesund"}));

    // PATCH: by path and path-less; a bad value changes nothing.
    let r = patch(
        &app,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": format!("{EXT}:City"), "value": "bergen"}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[EXT]["City"], "Bergen");
    let r = patch(&app, &format!("/Users/{id}"), json!([{"op": "add", "value": {format!("{EXT}:Age"): 7}}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[EXT]["Age"], 7);
    let r = patch(
        &app,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": format!("{EXT}:City"), "value": "Paris"}]),
    )
    .await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("City") && detail.contains("\"Oslo\""), "{detail}");
    assert_eq!(app.get(&format!("/Users/{id}")).await.body[EXT]["City"], "Bergen");

    // Bulk operations go through the same rules.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("b1@example.com", json!({"City": "bergen"}))},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("b2@example.com", json!({"City": "Paris"}))},
            {"method": "PATCH", "path": format!("/Users/{id}"), "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": format!("{EXT}:Start"), "value": "yesterday"}]}}
        ]
    });
    let r = app.post("/Bulk", &bulk).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops[0]["status"], "201");
    assert_eq!(ops[1]["status"], "400");
    assert_eq!(ops[1]["response"]["scimType"], "invalidValue");
    assert_eq!(ops[2]["status"], "400");
    let created = users_query(&app, &[("filter", "userName eq \"b1@example.com\"")]).await;
    assert_eq!(created.body["Resources"][0][EXT]["City"], "Bergen");

    // The dropped sub-attribute is noted in the provisioning log.
    app.flush_log().await;
    let log = admin(&app, Method::GET, &format!("/tenants/{}/log?limit=1000", app.creds.tenant), None).await;
    assert!(log.body.to_string().contains(&format!("unknown_attribute: {EXT}:Planet")), "{}", log.body);
}

async fn users_query(app: &TestApp, params: &[(&str, &str)]) -> Reply {
    send(app.req(Method::GET, "/Users").query(params)).await
}

async fn sql_ids(app: &TestApp, filter: &str) -> Result<BTreeSet<String>, Value> {
    let r = send(app.req(Method::GET, "/Users").query(&[("filter", filter), ("count", "1000")])).await;
    if r.status != 200 {
        return Err(r.body);
    }
    Ok(r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect())
}

#[tokio::test]
async fn filters_and_sorting_on_categories_match_the_reference() {
    let app = TestApp::spawn().await;
    define_all(&app).await;
    let people = [
        (
            "a@x.com",
            json!({"City": "Oslo", "Age": 30, "Start": "2024-01-15", "Remote": true, "Note": "Likes ski"}),
        ),
        ("b@x.com", json!({"City": "bergen", "Age": 41.5, "Start": "2025-06-01", "Remote": false})),
        ("c@x.com", json!({"City": "ålesund", "Age": 9, "Note": "SKIING"})),
        ("d@x.com", json!({"Age": 100, "Start": "2023-12-31", "Note": "50% off_"})),
        ("e@x.com", json!({})),
    ];
    for (name, ext) in &people {
        let r = app.post("/Users", &user(name, ext.clone())).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let all = app.get("/Users?count=100").await;
    let resources: Vec<Map<String, Value>> =
        all.body["Resources"].as_array().unwrap().iter().map(|v| v.as_object().unwrap().clone()).collect();
    let registry = Registry::standard().with_categories(categories());
    let filters = [
        format!(r#"{EXT}:City eq "Oslo""#),
        format!(r#"{EXT}:City eq "OSLO""#),
        format!(r#"{EXT}:City eq "Ålesund""#),
        format!(r#"{EXT}:City ne "Oslo""#),
        format!(r#"{EXT}:City co "er""#),
        format!(r#"{EXT}:City sw "B""#),
        format!(r#"{EXT}:City ew "UND""#),
        format!(r#"{EXT}:City pr"#),
        format!(r#"not ({EXT}:City pr)"#),
        r#"City eq "bergen""#.to_string(),
        format!(r#"{EXT}:Age gt 30"#),
        format!(r#"{EXT}:Age ge 30"#),
        format!(r#"{EXT}:Age lt 41.5"#),
        format!(r#"{EXT}:Age le 9"#),
        format!(r#"{EXT}:Age eq 100"#),
        format!(r#"{EXT}:Start gt "2024-01-15""#),
        format!(r#"{EXT}:Start le "2024-01-15""#),
        format!(r#"{EXT}:Start sw "2025""#),
        format!(r#"{EXT}:Start pr"#),
        format!(r#"{EXT}:Remote eq true"#),
        format!(r#"{EXT}:Remote eq false"#),
        format!(r#"{EXT}:Remote ne true"#),
        format!(r#"{EXT}:Note co "ski""#),
        format!(r#"{EXT}:Note co "%""#),
        format!(r#"{EXT}:Note ew "_""#),
        format!(r#"{EXT}:City eq "Oslo" or ({EXT}:Age gt 40 and not ({EXT}:Remote eq true))"#),
        format!(r#"userName sw "a" and {EXT}:City pr"#),
    ];
    for filter in &filters {
        let sql = sql_ids(&app, filter).await.unwrap_or_else(|e| panic!("{filter}: {e}"));
        let parsed = roster::scim::filter::parse_filter(filter).unwrap();
        let reference: BTreeSet<String> = resources
            .iter()
            .filter(|r| {
                roster::scim::filter::eval::matches(&registry, ResourceKind::User, r, &parsed).unwrap()
            })
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(sql, reference, "{filter}");
    }
    // Spot checks that the comparison is not vacuous.
    assert_eq!(sql_ids(&app, &format!(r#"{EXT}:City eq "oslo""#)).await.unwrap().len(), 1);
    assert_eq!(sql_ids(&app, &format!(r#"{EXT}:Age gt 30"#)).await.unwrap().len(), 2);

    // Unknown categories and type mismatches are invalidFilter.
    for bad in [
        format!(r#"{EXT}:Planet eq "Mars""#),
        format!(r#"{EXT}:Age eq "x""#),
        format!(r#"{EXT}:Remote gt true"#),
    ] {
        let e = sql_ids(&app, &bad).await.expect_err(&bad);
        assert_eq!(e["scimType"], "invalidFilter", "{bad}: {e}");
    }

    // Sorting: text caselessly, numbers numerically; absent values last ascending.
    let order = |params: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = users_query(app, &params).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["userName"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let by_city = order(vec![("sortBy", format!("{EXT}:City")), ("filter", format!("{EXT}:City pr"))]).await;
    assert_eq!(by_city, ["b@x.com", "a@x.com", "c@x.com"]);
    let by_age = order(vec![
        ("sortBy", format!("{EXT}:Age")),
        ("sortOrder", "descending".into()),
        ("filter", format!("{EXT}:Age pr")),
    ])
    .await;
    assert_eq!(by_age, ["d@x.com", "b@x.com", "a@x.com", "c@x.com"]);
    let by_start =
        order(vec![("sortBy", format!("{EXT}:Start")), ("filter", format!("{EXT}:Start pr"))]).await;
    assert_eq!(by_start, ["d@x.com", "a@x.com", "b@x.com"]);
}

#[tokio::test]
async fn mapped_categories_follow_their_source() {
    let app = TestApp::spawn().await;
    let t = app.creds.tenant.clone();
    define(
        &app,
        &t,
        json!({"name": "Department", "kind": "dropdown", "allowed_values": ["Sales", "R&D"],
        "source": format!("{ENTERPRISE}:department")}),
    )
    .await;
    define(
        &app,
        &t,
        json!({"name": "WorkCity", "kind": "text", "source": "addresses[type eq \"work\"].locality"}),
    )
    .await;
    let body = json!({
        "schemas": [USER, ENTERPRISE], "userName": "m@x.com",
        ENTERPRISE: {"department": "sales"},
        "addresses": [{"type": "home", "locality": "Bergen"}, {"type": "work", "locality": "Oslo"}],
        EXT: {"Department": "R&D"}
    });
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // The source wins over a direct value, canonically spelled; the value filter picks the element.
    assert_eq!(categories_of(&r.body), json!({"Department": "Sales", "WorkCity": "Oslo"}));
    let id = r.body["id"].as_str().unwrap().to_string();

    let r = patch(
        &app,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "r&d"}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[EXT]["Department"], "R&D");

    // A source value that is not an allowed value rejects the write, naming the mapping.
    let r = patch(
        &app,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Finance"}]),
    )
    .await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(
        detail.contains("Department") && detail.contains("mapped from") && detail.contains("\"Sales\""),
        "{detail}"
    );
    let mut put = body.clone();
    put[ENTERPRISE]["department"] = json!("Finance");
    app.put(&format!("/Users/{id}"), &put).await.assert_error(400, Some("invalidValue"));

    // Without a source value the category is cleared.
    let r = patch(
        &app,
        &format!("/Users/{id}"),
        json!([
        {"op": "remove", "path": format!("{ENTERPRISE}:department")},
        {"op": "remove", "path": "addresses[type eq \"work\"]"}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(categories_of(&r.body), json!({}), "{}", r.body);

    // Bulk maps too.
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"schemas": [USER, ENTERPRISE], "userName": "n@x.com", ENTERPRISE: {"department": "SALES"}}}]});
    let r = app.post("/Bulk", &bulk).await;
    assert_eq!(r.body["Operations"][0]["status"], "201", "{}", r.body);
    let found = sql_ids(&app, &format!(r#"{EXT}:Department eq "Sales""#)).await.unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn admin_api_defines_changes_and_deletes_categories() {
    let app = TestApp::spawn().await;
    let t = app.creds.tenant.clone();
    let base = format!("/tenants/{t}/categories");
    let r = admin(&app, Method::POST, &base, Some(json!({"name": "City", "kind": "dropdown", "display_name": "City", "allowed_values": ["Oslo", "Bergen", "Trondheim"]}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["scim_path"], format!("{EXT}:City"));
    assert_eq!(r.body["allowed_values"], json!(["Oslo", "Bergen", "Trondheim"]));

    // Errors.
    let cases = [
        (json!({"name": "city", "kind": "text"}), 409, Some("uniqueness")),
        (json!({"name": "1City", "kind": "text"}), 400, Some("invalidValue")),
        (json!({"name": "Ci ty", "kind": "text"}), 400, Some("invalidValue")),
        (json!({"name": "Role", "kind": "text"}), 400, Some("invalidValue")),
        (json!({"name": "position", "kind": "text"}), 400, Some("invalidValue")),
        (json!({"name": "X", "kind": "colour"}), 400, Some("invalidValue")),
        (json!({"name": "X", "kind": "dropdown"}), 400, Some("invalidValue")),
        (json!({"name": "X", "kind": "dropdown", "allowed_values": ["a", "A"]}), 400, Some("invalidValue")),
        (json!({"name": "X", "kind": "text", "allowed_values": ["a"]}), 400, Some("invalidValue")),
        (json!({"name": "X", "kind": "text", "source": "noSuchAttribute"}), 400, Some("invalidValue")),
        (json!({"name": "X", "kind": "text", "source": "name"}), 400, Some("invalidValue")),
        (json!({"name": "X", "kind": "text", "source": "password"}), 400, Some("invalidValue")),
        (json!({"name": "X", "kind": "text", "source": format!("{EXT}:City")}), 400, Some("invalidValue")),
        (json!({"name": "X", "kind": "text", "extra": 1}), 400, Some("invalidValue")),
    ];
    for (body, status, scim_type) in cases {
        admin(&app, Method::POST, &base, Some(body.clone())).await.assert_error(status, scim_type);
    }
    admin(&app, Method::POST, "/tenants/nope/categories", Some(json!({"name": "X", "kind": "text"})))
        .await
        .assert_error(404, None);
    admin(&app, Method::GET, &format!("{base}/Nope"), None).await.assert_error(404, None);
    let r = send(app.client.get(format!("{}/admin/v1{base}", app.root)).bearer_auth(&app.creds.token)).await;
    r.assert_error(401, None);

    let list = admin(&app, Method::GET, &base, None).await;
    assert_eq!(list.body["categories"].as_array().unwrap().len(), 1);
    let one = admin(&app, Method::GET, &format!("{base}/city"), None).await;
    assert_eq!(one.body["name"], "City");

    // Members hold Oslo (twice) and Bergen.
    let mut ids = Vec::new();
    for (n, c) in [("a@x.com", "Oslo"), ("b@x.com", "oslo"), ("c@x.com", "Bergen")] {
        let r = app.post("/Users", &user(n, json!({"City": c}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let r = admin(
        &app,
        Method::PATCH,
        &format!("{base}/City"),
        Some(json!({"allowed_values": ["Bergen", "Trondheim"]})),
    )
    .await;
    let detail = r.assert_error(409, None);
    assert!(detail.contains("2 member") && detail.contains("\"Oslo\""), "{detail}");
    // Dropping an unused value, re-spelling and re-ordering, display name, source.
    let r = admin(
        &app,
        Method::PATCH,
        &format!("{base}/City"),
        Some(json!({
        "allowed_values": ["bergen", "Oslo", "Stavanger"], "display_name": "Home city",
        "source": "addresses[type eq \"home\"].locality"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["allowed_values"], json!(["bergen", "Oslo", "Stavanger"]));
    assert_eq!(r.body["display_name"], "Home city");
    let r = admin(&app, Method::PATCH, &format!("{base}/City"), Some(json!({"source": null}))).await;
    assert_eq!(r.body["source"], Value::Null);
    admin(&app, Method::PATCH, &format!("{base}/City"), Some(json!({"kind": "text"})))
        .await
        .assert_error(400, Some("invalidValue"));
    let schema = app.get(&format!("/Schemas/{EXT}")).await;
    assert_eq!(
        schema_attribute(&schema.body, "City")["canonicalValues"],
        json!(["bergen", "Oslo", "Stavanger"])
    );

    // Delete clears the values (versions bumped) and the attribute disappears.
    let before = app.get(&format!("/Users/{}", ids[0])).await;
    let r = admin(&app, Method::DELETE, &format!("{base}/CITY"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["members_cleared"], 3);
    let after = app.get(&format!("/Users/{}", ids[0])).await;
    assert_eq!(categories_of(&after.body), json!({}), "{}", after.body);
    assert_ne!(before.header("etag"), after.header("etag"));
    admin(&app, Method::GET, &format!("{base}/City"), None).await.assert_error(404, None);
    let e = sql_ids(&app, &format!(r#"{EXT}:City eq "Oslo""#)).await.expect_err("unknown now");
    assert_eq!(e["scimType"], "invalidFilter");
    // The name is free again, with another kind.
    define(&app, &t, json!({"name": "City", "kind": "number"})).await;
}

#[tokio::test]
async fn tenants_do_not_share_categories() {
    let app = TestApp::spawn().await;
    define_all(&app).await;
    let other: Credentials = app.new_tenant("globex").await;
    let r = send(
        app.req_as(&other, Method::POST, "/Users")
            .header("content-type", "application/scim+json")
            .body(user("x@globex.com", json!({"City": "Paris"})).to_string()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Unknown to this tenant: dropped, not validated against the other tenant's values.
    assert_eq!(categories_of(&r.body), json!({}), "{}", r.body);
    let f = format!(r#"{EXT}:City eq "Oslo""#);
    let r = send(app.req_as(&other, Method::GET, "/Users").query(&[("filter", f.as_str())])).await;
    r.assert_error(400, Some("invalidFilter"));
    let r = admin(&app, Method::GET, "/tenants/globex/categories", None).await;
    assert_eq!(r.body["categories"], json!([]));
}

/// The category values of a member: Roster's User extension without its readOnly attributes
/// (`role`, `status`, `position`), which every member has.
fn categories_of(user: &Value) -> Value {
    let mut ext = user.get(EXT).cloned().unwrap_or_else(|| json!({}));
    if let Some(o) = ext.as_object_mut() {
        for own in ["role", "status", "position"] {
            o.remove(own);
        }
    }
    ext
}

/// One attribute of a schema document, by name.
fn schema_attribute<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no attribute {name} in {schema}"))
}
