//! /Users: create, read, list, replace, delete, uniqueness, versions.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::requests::send;
use crate::support::TestApp;

fn entra_user(user_name: &str) -> Value {
    // As Entra ID sends it (IDP-NOTES): enterprise schema, meta, empty roles, top-level nulls.
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "5e0bd0b4-3fd0-4d4b-9f6c-1d1e6f4a1c11",
        "userName": user_name,
        "active": true,
        "displayName": "Barbara Jensen",
        "name": {"formatted": "Barbara Jensen", "givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "roles": [],
        "title": null,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "department": "Tour Operations"}
    })
}

#[tokio::test]
async fn create_returns_201_with_location_etag_and_meta() {
    let app = TestApp::spawn().await;
    let r = app.post("/Users", &entra_user("bjensen@example.com")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(r.header("location"), format!("{}/Users/{id}", app.creds.base));
    assert_eq!(r.body["meta"]["location"], r.header("location"));
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert_eq!(r.header("etag"), r.body["meta"]["version"].as_str().unwrap());
    assert!(r.header("content-type").starts_with("application/scim+json"));
    assert_eq!(r.body["userName"], "bjensen@example.com");
    assert_eq!(r.body["name"]["familyName"], "Jensen");
    assert_eq!(
        r.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
        "701984"
    );
    let schemas = r.body["schemas"].as_array().unwrap();
    assert!(schemas.contains(&json!("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")));
    // The null title and the readOnly meta sent by the client are not stored as such.
    assert!(r.body.get("title").is_none());
    assert_eq!(r.body["meta"]["created"], r.body["meta"]["lastModified"]);

    let g = app.get(&format!("/Users/{id}")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body, r.body, "GET returns what POST returned");
}

#[tokio::test]
async fn every_core_attribute_survives_a_round_trip() {
    let app = TestApp::spawn().await;
    let full = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
                 "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                       "region": "CA", "postalCode": "91608", "country": "USA",
                       "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true}],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
        "userType": "Employee",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "entitlements": [{"value": "license-a", "display": "License A", "type": "license", "primary": true}],
        "roles": [{"value": "editor", "display": "Editor", "type": "app", "primary": false}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
            "division": "Theme Park", "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    });
    let r = app.post("/Users", &full).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = app.get(&format!("/Users/{}", r.body["id"].as_str().unwrap())).await.body;
    for (key, value) in full.as_object().unwrap() {
        if key == "schemas" {
            continue;
        }
        assert_eq!(&got[key], value, "attribute {key} changed in the round trip");
    }
}

#[tokio::test]
async fn password_is_stored_only_as_an_argon2_hash_and_never_returned() {
    let app = TestApp::spawn().await;
    let r = app.post("/Users", &json!({"userName": "pw@example.com", "password": "t1meMa$heen"})).await;
    assert_eq!(r.status, 201);
    assert!(r.body.get("password").is_none());
    let id: uuid::Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    assert!(app.get(&format!("/Users/{id}")).await.body.get("password").is_none());
    assert!(app.get(&format!("/Users/{id}?attributes=password")).await.body.get("password").is_none());
    use roster::db::schema::users;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let (hash, resource): (Option<String>, Value) = users::table
        .filter(users::id.eq(id))
        .select((users::password_hash, users::resource))
        .first(&mut conn)
        .await
        .unwrap();
    let hash = hash.unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("t1meMa$heen"));
    assert!(!resource.to_string().contains("t1meMa$heen"), "password leaked into the stored resource");
}

#[tokio::test]
async fn user_name_is_unique_case_insensitively() {
    let app = TestApp::spawn().await;
    app.create_user("Bjensen@Example.com").await;
    for variant in ["bjensen@example.com", "BJENSEN@EXAMPLE.COM", " bjensen@example.com "] {
        let r = app.post("/Users", &json!({"userName": variant})).await;
        let detail = r.assert_error(409, Some("uniqueness"));
        assert!(detail.contains("userName"), "{detail}");
    }
    // Unicode case folding, not just ASCII.
    app.create_user("Ærlig@example.no").await;
    app.post("/Users", &json!({"userName": "ærlig@EXAMPLE.no"})).await.assert_error(409, Some("uniqueness"));
}

#[tokio::test]
async fn concurrent_identical_posts_give_one_201_and_the_rest_409() {
    let app = TestApp::spawn().await;
    let body = json!({"userName": "race@example.com"});
    let n = 12;
    let replies = futures_util::future::join_all((0..n).map(|_| app.post("/Users", &body))).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts = replies.iter().filter(|r| r.status == 409 && r.body["scimType"] == "uniqueness").count();
    assert_eq!(
        (created, conflicts),
        (1, n - 1),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
}

#[tokio::test]
async fn list_pages_are_stable_exact_and_one_based() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(app.create_user(&format!("user{i}@example.com")).await);
    }
    let mut seen = Vec::new();
    for start in [1, 4, 7] {
        let r = app.get(&format!("/Users?startIndex={start}&count=3")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["totalResults"], 7);
        assert_eq!(r.body["startIndex"], start);
        assert_eq!(r.body["itemsPerPage"], r.body["Resources"].as_array().unwrap().len());
        seen.extend(
            r.body["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(seen, ids, "pages in creation order, no gaps, no repeats");
    // count=0 returns only the total; startIndex<1 is 1; negative count is 0.
    let r = app.get("/Users?count=0").await;
    assert_eq!(
        (r.body["totalResults"].clone(), r.body["Resources"].as_array().unwrap().len()),
        (json!(7), 0)
    );
    let r = app.get("/Users?startIndex=0&count=1").await;
    assert_eq!(r.body["Resources"][0]["id"], ids[0]);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(app.get("/Users?count=-4").await.body["itemsPerPage"], 0);
    // Past the end: an empty page with the exact total.
    let r = app.get("/Users?startIndex=50").await;
    assert_eq!((r.body["totalResults"].clone(), r.body["itemsPerPage"].clone()), (json!(7), json!(0)));
}

#[tokio::test]
async fn count_above_the_maximum_is_reduced_to_it() {
    let app = TestApp::spawn_with(|s| {
        s.max_page_size = 2;
        s.default_page_size = 2;
    })
    .await;
    for i in 0..3 {
        app.create_user(&format!("u{i}@example.com")).await;
    }
    let r = app.get("/Users?count=100").await;
    assert_eq!((r.body["totalResults"].clone(), r.body["itemsPerPage"].clone()), (json!(3), json!(2)));
}

#[tokio::test]
async fn put_is_a_true_replace() {
    let app = TestApp::spawn().await;
    let created = app.post("/Users", &entra_user("replace@example.com")).await.body;
    let id = created["id"].as_str().unwrap();
    // Okta style: the whole object back, with id, meta and groups, minus what should go.
    let mut body = created.clone();
    body.as_object_mut().unwrap().remove("displayName");
    body.as_object_mut().unwrap().remove("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    body["name"] = json!({"givenName": "Babs"});
    body["groups"] = json!([]);
    let r = app.put(&format!("/Users/{id}"), &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("displayName").is_none(), "omitted attributes are cleared");
    assert!(r.body.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").is_none());
    assert_eq!(r.body["name"], json!({"givenName": "Babs"}), "complex attributes are replaced, not merged");
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["meta"]["created"], created["meta"]["created"]);
    assert_ne!(r.body["meta"]["version"], created["meta"]["version"]);
    assert_eq!(app.get(&format!("/Users/{id}")).await.body, r.body);
}

#[tokio::test]
async fn get_then_put_round_trip_changes_nothing_but_the_version() {
    let app = TestApp::spawn().await;
    let created = app.post("/Users", &entra_user("okta@example.com")).await.body;
    let id = created["id"].as_str().unwrap();
    let got = app.get(&format!("/Users/{id}")).await.body;
    let put = app.put(&format!("/Users/{id}"), &got).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let put = put.body;
    assert_ne!(put["meta"]["version"], got["meta"]["version"], "the version changes");
    assert_eq!(put["meta"]["created"], got["meta"]["created"]);
    assert_eq!(put["meta"]["location"], got["meta"]["location"]);
    assert_eq!(put["meta"]["resourceType"], got["meta"]["resourceType"]);
    let strip = |mut v: Value| {
        let meta = v["meta"].as_object_mut().unwrap();
        meta.remove("version");
        meta.remove("lastModified");
        v
    };
    assert_eq!(strip(put), strip(got), "nothing but the version (and lastModified) changes");
}

#[tokio::test]
async fn put_active_false_suspends_and_the_user_is_still_returned() {
    let app = TestApp::spawn().await;
    let created = app.post("/Users", &entra_user("leaver@example.com")).await.body;
    let id = created["id"].as_str().unwrap();
    let gid = app.create_group("Finance", &[id]).await;
    let mut body = created.clone();
    body["active"] = json!(false);
    let r = app.put(&format!("/Users/{id}"), &body).await;
    assert_eq!((r.status.as_u16(), r.body["active"].clone()), (200, json!(false)));
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!((got.status.as_u16(), got.body["active"].clone()), (200, json!(false)));
    let status: String = {
        use roster::db::schema::users;
        let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
        users::table
            .filter(users::id.eq(id.parse::<uuid::Uuid>().unwrap()))
            .select(users::status)
            .first(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(status, "suspended");
    // Memberships are kept while suspended.
    let g = app.get(&format!("/Groups/{gid}")).await;
    assert_eq!(g.body["members"][0]["value"], id);
    // Reactivation.
    body["active"] = json!(true);
    assert_eq!(app.put(&format!("/Users/{id}"), &body).await.body["active"], true);
}

#[tokio::test]
async fn delete_removes_from_scim_frees_the_user_name_and_keeps_the_row() {
    let app = TestApp::spawn().await;
    let id = app.create_user("gone@example.com").await;
    let gid = app.create_group("Team", &[&id]).await;
    let r = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.body, Value::Null);
    app.get(&format!("/Users/{id}")).await.assert_error(404, None);
    app.delete(&format!("/Users/{id}")).await.assert_error(404, None);
    app.put(&format!("/Users/{id}"), &json!({"userName": "gone@example.com"})).await.assert_error(404, None);
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
    assert!(app.get(&format!("/Groups/{gid}")).await.body.get("members").is_none(), "removed from groups");
    // Re-provisioning the same userName restores the member under its old id (DESIGN §2).
    let again = app.create_user("GONE@example.com").await;
    assert_eq!(again, id);
    app.delete(&format!("/Users/{id}")).await;
    use roster::db::schema::users;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let status: String = users::table
        .filter(users::id.eq(id.parse::<uuid::Uuid>().unwrap()))
        .select(users::status)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(status, "removed", "the member row survives for the directory");
}

#[tokio::test]
async fn etags_and_preconditions() {
    let app = TestApp::spawn().await;
    let created = app.post("/Users", &json!({"userName": "etag@example.com"})).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let v1 = created.header("etag").to_string();
    let path = format!("/Users/{id}");

    let r = send(app.req(Method::GET, &path).header("if-none-match", &v1)).await;
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), v1);
    let r = send(app.req(Method::GET, &path).header("if-none-match", "W/\"999\"")).await;
    assert_eq!(r.status, 200);

    let body = json!({"userName": "etag@example.com", "displayName": "E"});
    let put = |tag: &str| {
        send(
            app.req(Method::PUT, &path)
                .header("if-match", tag)
                .header("content-type", "application/scim+json")
                .body(body.to_string()),
        )
    };
    let r = put(&v1).await;
    assert_eq!(r.status, 200);
    let v2 = r.header("etag").to_string();
    assert_ne!(v1, v2);
    put(&v1).await.assert_error(412, None);
    send(app.req(Method::DELETE, &path).header("if-match", &v1)).await.assert_error(412, None);
    assert_eq!(app.get(&path).await.status, 200, "a failed precondition changes nothing");
    let r = send(app.req(Method::DELETE, &path).header("if-match", &v2)).await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn attributes_and_excluded_attributes_shape_the_response() {
    let app = TestApp::spawn().await;
    let id =
        app.post("/Users", &entra_user("proj@example.com")).await.body["id"].as_str().unwrap().to_string();
    let r = app.get(&format!("/Users/{id}?attributes=userName,name.givenName")).await;
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert!(keys.contains(&&"id".to_string()) && keys.contains(&&"userName".to_string()));
    assert_eq!(r.body["name"], json!({"givenName": "Barbara"}));
    assert!(r.body.get("emails").is_none() && r.body.get("displayName").is_none());
    let r = app.get("/Users?excludedAttributes=emails,name").await;
    let user = &r.body["Resources"][0];
    assert!(user.get("emails").is_none() && user.get("name").is_none());
    assert_eq!(user["userName"], "proj@example.com");
}

#[tokio::test]
async fn okta_create_with_groups_and_password_is_accepted() {
    let app = TestApp::spawn().await;
    let r = send(
        app.req(Method::POST, "/Users")
            .header("content-type", "application/json")
            .header("user-agent", "Okta SCIM Client 1.0.0")
            .body(
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "isabella@okta.local",
                    "name": {"givenName": "Isabella", "familyName": "Doe"},
                    "emails": [{"primary": true, "value": "isabella@okta.local", "type": "work"}],
                    "displayName": "Isabella Doe", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
                    "groups": [], "password": "1mz050nq", "active": true
                })
                .to_string(),
            ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(r.body["active"], true);
}

#[tokio::test]
async fn immutable_and_read_only_rules_on_put() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ro@example.com").await;
    // readOnly id/meta in the body are ignored, even when they disagree with the URL.
    let r = app
        .put(
            &format!("/Users/{id}"),
            &json!({"id": "00000000-0000-0000-0000-000000000000", "meta": {"version": "W/\"77\""}, "userName": "ro@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], id);
    // A required attribute missing in PUT is invalidValue, not a silent keep.
    app.put(&format!("/Users/{id}"), &json!({"displayName": "x"}))
        .await
        .assert_error(400, Some("invalidValue"));
}

async fn set_retention(app: &TestApp, days: i32) {
    use roster::db::schema::tenants;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    diesel::update(tenants::table.filter(tenants::slug.eq(&app.creds.tenant)))
        .set(tenants::member_retention_days.eq(days))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn reprovisioning_a_removed_member_restores_its_id() {
    let app = TestApp::spawn().await;
    let body = |user_name: &str| json!({"userName": user_name, "externalId": "aad-object-1", "displayName": "Rehired"});
    let first = app.post("/Users", &body("rehire@example.com")).await;
    let id = first.body["id"].as_str().unwrap().to_string();
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    // Same externalId from the same connection, even with a new userName: same member.
    let back = app.post("/Users", &body("rehired.name@example.com")).await;
    assert_eq!(back.status, 201, "{}", back.body);
    assert_eq!(back.body["id"], id.as_str());
    assert_eq!(back.body["meta"]["created"], first.body["meta"]["created"]);
    assert_eq!(back.body["userName"], "rehired.name@example.com");
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);
    // The same externalId from another connection is another provisioning domain.
    app.delete(&format!("/Users/{id}")).await;
    let okta = app.add_connection(&app.creds.tenant, "Okta").await;
    let r = send(
        app.req_as(&okta, Method::POST, "/Users")
            .header("content-type", "application/scim+json")
            .body(body("other.domain@example.com").to_string()),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_ne!(r.body["id"], id.as_str());
}

#[tokio::test]
async fn a_create_probed_under_the_key_its_body_suggested_probes_again_under_its_own() {
    // The SCIM create sends its restore probe with the token check, under the key the raw body
    // suggests: here the userName, since the externalId comes under its URN-qualified name. As
    // normalised the member has an externalId, so the create must probe again by it.
    let app = TestApp::spawn().await;
    let first = app
        .post("/Users", &json!({"userName": "first.name@example.com", "externalId": "aad-object-2"}))
        .await;
    let id = first.body["id"].as_str().unwrap().to_string();
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    let qualified = json!({
        "userName": "second.name@example.com",
        "urn:ietf:params:scim:schemas:core:2.0:User:externalId": "aad-object-2",
    });
    let back = app.post("/Users", &qualified).await;
    assert_eq!(back.status, 201, "{}", back.body);
    assert_eq!(back.body["id"], id.as_str(), "restored by its externalId");
    assert_eq!(back.body["externalId"], "aad-object-2");

    // Removed longer ago than the retention period (here 0 days) but not scrubbed yet: the probe
    // still finds it, and the retention rule says it is not restorable: a new member.
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    set_retention(&app, 0).await;
    let again = app.post("/Users", &qualified).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_ne!(again.body["id"], id.as_str());
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 404, "the old member stays removed");
}

#[tokio::test]
async fn removed_members_are_scrubbed_after_retention_and_then_not_restored() {
    let app = TestApp::spawn().await;
    set_retention(&app, 0).await;
    let id = app.post("/Users", &json!({"userName": "scrub@example.com", "password": "pw-123456", "emails": [{"value": "scrub@example.com"}]})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.delete(&format!("/Users/{id}")).await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let scrubbed =
        roster::directory::users::scrub_removed(&mut conn, chrono::Utc::now() + chrono::Duration::seconds(1))
            .await
            .unwrap();
    assert_eq!(scrubbed, 1);
    use roster::db::schema::users;
    let (user_name, email, hash, resource, status): (String, Option<String>, Option<String>, Value, String) =
        users::table
            .filter(users::id.eq(id.parse::<uuid::Uuid>().unwrap()))
            .select((users::user_name, users::email, users::password_hash, users::resource, users::status))
            .first(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        (user_name.starts_with("removed:"), email, hash, resource, status.as_str()),
        (true, None, None, json!({}), "removed")
    );
    // Past retention the userName is just free: a new member.
    let again = app.create_user("scrub@example.com").await;
    assert_ne!(again, id);
    // Active members are never scrubbed.
    assert_eq!(
        roster::directory::users::scrub_removed(&mut conn, chrono::Utc::now() + chrono::Duration::days(400))
            .await
            .unwrap(),
        0
    );
}

/// The ids of `group`'s SCIM members.
async fn member_ids(app: &TestApp, group: &str) -> Vec<Value> {
    let body = app.get(&format!("/Groups/{group}")).await.body;
    body.get("members")
        .and_then(Value::as_array)
        .map(|m| m.iter().map(|m| m["value"].clone()).collect())
        .unwrap_or_default()
}

/// A member's DELETE reads the member without a lock and removes it with one statement
/// (`db::users::remove`), which writes the membership events itself: one per group left, in
/// group order, each naming its group, then `member.removed`; every group's version moves, and
/// the request has its one log row.
#[tokio::test]
async fn a_members_delete_leaves_every_group_with_an_event_each_in_order_and_one_log_row() {
    use roster::db::provisioning_log::{self as store, LogQuery};
    let app = TestApp::spawn().await;
    let id = app.create_user("leaver@example.com").await;
    let mut groups = Vec::new();
    for name in ["North", "South", "East"] {
        groups.push(app.create_group(name, &[&id]).await);
    }
    let versions = |bodies: &[Value]| bodies.iter().map(|b| b["meta"]["version"].clone()).collect::<Vec<_>>();
    let mut before = Vec::new();
    for g in &groups {
        before.push(app.get(&format!("/Groups/{g}")).await.body);
    }
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    let mut after = Vec::new();
    for g in &groups {
        assert!(member_ids(&app, g).await.is_empty(), "the member left {g}");
        after.push(app.get(&format!("/Groups/{g}")).await.body);
    }
    for (b, a) in versions(&before).iter().zip(versions(&after)) {
        assert_ne!(*b, a, "each group's version moves");
    }
    let events: Vec<_> = app.outbox().await.into_iter().filter(|e| e.subject_id.to_string() == id).collect();
    let tail: Vec<(String, Value)> =
        events.iter().rev().take(4).rev().map(|e| (e.kind.clone(), e.payload.clone())).collect();
    let mut sorted = groups.clone();
    sorted.sort_by_key(|g| g.parse::<uuid::Uuid>().unwrap());
    let mut expected: Vec<(String, Value)> = sorted
        .iter()
        .map(|g| {
            ("membership.removed".into(), json!({"group_id": g, "member_id": id, "member_type": "User"}))
        })
        .collect();
    expected.push(("member.removed".into(), json!({"member_id": id})));
    assert_eq!(tail, expected);
    assert_eq!(events.iter().filter(|e| e.kind == "member.removed").count(), 1);
    app.flush_log().await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    let query = LogQuery { resource_id: Some(id.parse().unwrap()), limit: 100, ..LogQuery::default() };
    let rows = store::list(&mut conn, tenant.id, &query).await.unwrap();
    let deletes: Vec<_> = rows.iter().filter(|r| r.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1, "{rows:?}");
    assert_eq!(deletes[0].status, 204);
}

/// The removal's one statement removes only the row version the member was read at, and never
/// waits for another transaction's hold on the member: a member changed since it was read, or
/// held, is refused with the "changed since it was read" serialization failure (what sends a
/// DELETE the locked way) and nothing is written; once the hold is gone, the same read removes it.
#[tokio::test]
async fn a_removal_refuses_a_member_changed_or_held_since_it_was_read_and_writes_nothing() {
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    use roster::events::NewEvent;
    let app = TestApp::spawn().await;
    let id = app.create_user("held@example.com").await;
    let group = app.create_group("Held", &[&id]).await;
    let member: uuid::Uuid = id.parse().unwrap();
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap().id;
    let read = async |conn: &mut roster::db::Conn| {
        roster::db::users::find_for_update(conn, tenant, member).await.unwrap().expect("member")
    };
    let (membership, removed) =
        (NewEvent::membership(false, uuid::Uuid::nil(), member, "User"), NewEvent::member_removed(member));
    let events = roster::db::users::Removal { membership: &membership, removed: &removed };
    let refused = |r: diesel::QueryResult<()>| match r {
        Err(DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, info)) => {
            assert!(info.message().contains("changed since it was read"), "{}", info.message())
        }
        other => panic!("not refused: {other:?}"),
    };
    let unchanged = async |app: &TestApp| {
        app.get(&format!("/Users/{id}")).await.body["id"] == json!(id)
            && member_ids(app, &group).await == [json!(id)]
            && !app
                .outbox()
                .await
                .iter()
                .any(|e| e.kind == "member.removed" || e.kind == "membership.removed")
    };

    // Changed since it was read: refused.
    let stale = read(&mut conn).await;
    let r = app
        .patch_ops(&format!("/Users/{id}"), json!([{"op": "replace", "path": "displayName", "value": "New"}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    refused(
        roster::db::users::remove(
            &mut conn,
            tenant,
            member,
            &stale.seen,
            chrono::Utc::now(),
            events.clone(),
            None,
        )
        .await,
    );
    assert!(unchanged(&app).await, "nothing written");

    // Held by another transaction (a key-share lock, as a foreign-key check takes): refused at
    // once, not waited for.
    let fresh = read(&mut conn).await;
    let mut holder = app.hold_key_share("users", &member.to_string()).await;
    let removal = roster::db::users::remove(
        &mut conn,
        tenant,
        member,
        &fresh.seen,
        chrono::Utc::now(),
        events.clone(),
        None,
    );
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), removal)
        .await
        .expect("the removal waited for the hold");
    refused(r);
    assert!(unchanged(&app).await, "nothing written");
    diesel_async::SimpleAsyncConnection::batch_execute(&mut holder, "ROLLBACK").await.unwrap();

    // The hold gone, the same read removes the member, with its events.
    roster::db::users::remove(&mut conn, tenant, member, &fresh.seen, chrono::Utc::now(), events, None)
        .await
        .unwrap();
    app.get(&format!("/Users/{id}")).await.assert_error(404, None);
    assert!(member_ids(&app, &group).await.is_empty());
    let kinds: Vec<String> =
        app.outbox().await.into_iter().filter(|e| e.subject_id == member).map(|e| e.kind).collect();
    assert_eq!(kinds[kinds.len() - 2..], ["membership.removed", "member.removed"]);
}

/// Concurrent DELETEs and PATCHes of one member: the member is removed once (one 204, one
/// `member.removed`, one membership event per group), every other DELETE answers 404, and each
/// request has its log row.
#[tokio::test]
async fn concurrent_deletes_and_patches_of_one_member_remove_it_once() {
    use roster::db::provisioning_log::{self as store, LogQuery};
    let app = TestApp::spawn_with(|s| s.db_pool_size = 8).await;
    let id = app.create_user("raced@example.com").await;
    let (a, b) = (app.create_group("Race A", &[&id]).await, app.create_group("Race B", &[&id]).await);
    let path = format!("/Users/{id}");
    let deletes = futures_util::future::join_all((0..8).map(|_| app.delete(&path)));
    let patches = futures_util::future::join_all((0..8).map(|i| {
        app.patch_ops(&path, json!([{"op": "replace", "path": "displayName", "value": format!("Name {i}")}]))
    }));
    let (deleted, patched) = futures_util::future::join(deletes, patches).await;
    let mut statuses: Vec<u16> = deleted.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [204, 404, 404, 404, 404, 404, 404, 404],
        "{:?}",
        deleted.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in &patched {
        assert!(r.status == 200 || r.status == 404, "{} {}", r.status, r.body);
    }
    app.get(&path).await.assert_error(404, None);
    assert!(member_ids(&app, &a).await.is_empty() && member_ids(&app, &b).await.is_empty());
    let events: Vec<String> =
        app.outbox().await.into_iter().filter(|e| e.subject_id.to_string() == id).map(|e| e.kind).collect();
    assert_eq!(events.iter().filter(|k| *k == "member.removed").count(), 1, "{events:?}");
    assert_eq!(events.iter().filter(|k| *k == "membership.removed").count(), 2, "{events:?}");
    assert_eq!(
        events.last().map(String::as_str),
        Some("member.removed"),
        "nothing after the removal: {events:?}"
    );
    app.flush_log().await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    let query = LogQuery { resource_id: Some(id.parse().unwrap()), limit: 100, ..LogQuery::default() };
    let rows = store::list(&mut conn, tenant.id, &query).await.unwrap();
    assert_eq!(rows.iter().filter(|r| r.method == "DELETE").count(), 8, "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r.method == "DELETE" && r.status == 204).count(), 1);
    assert_eq!(rows.iter().filter(|r| r.method == "PATCH").count(), 8);
}
