//! Authentication and tenant isolation: tokens are bound to one connection of one tenant.

use chrono::Utc;
use reqwest::Method;
use serde_json::json;

use crate::support::requests::send;
use crate::support::TestApp;

#[tokio::test]
async fn missing_or_malformed_tokens_get_401_with_www_authenticate() {
    let app = TestApp::spawn().await;
    let url = format!("{}/Users", app.creds.base);
    for req in [
        app.client.get(&url),
        app.client.get(&url).header("authorization", "Bearer not-a-jwt"),
        app.client.get(&url).header("authorization", "Basic dXNlcjpwYXNz"),
        app.client.get(&url).bearer_auth(format!("{}x", app.creds.token)),
    ] {
        let r = send(req).await;
        r.assert_error(401, None);
        assert!(r.header("www-authenticate").starts_with("Bearer"));
    }
    // A token signed with another key is refused even though it names a real connection.
    let other = roster::auth::SigningKey::from_secret(b"someone-elses-secret-0123456789abc");
    let forged = other
        .issue(uuid::Uuid::now_v7(), app.creds.connection, app.creds.token_id, Utc::now(), None)
        .unwrap();
    send(app.client.get(&url).bearer_auth(forged)).await.assert_error(401, None);
    // Discovery endpoints need the token too.
    send(app.client.get(format!("{}/ServiceProviderConfig", app.creds.base))).await.assert_error(401, None);
}

#[tokio::test]
async fn a_token_only_works_on_its_own_connection_url() {
    let app = TestApp::spawn().await;
    let second = app.add_connection(&app.creds.tenant, "Okta").await;
    // First connection's token against the second connection's URL.
    let r = send(app.client.get(format!("{}/Users", second.base)).bearer_auth(&app.creds.token)).await;
    let detail = r.assert_error(401, None);
    assert!(detail.contains("another connection"), "{detail}");
    // Same tenant: both connections see the tenant's users through their own URLs.
    app.create_user("shared@example.com").await;
    let r = send(app.req_as(&second, Method::GET, "/Users")).await;
    assert_eq!(r.body["totalResults"], 1);
}

#[tokio::test]
async fn tenants_are_isolated() {
    let app = TestApp::spawn().await;
    let other = app.new_tenant("globex").await;
    let alice = app.create_user("alice@example.com").await;
    let group = app.create_group("Finance", &[&alice]).await;

    // The other tenant cannot see, change or delete the first tenant's resources by id.
    for path in [format!("/Users/{alice}"), format!("/Groups/{group}")] {
        send(app.req_as(&other, Method::GET, &path)).await.assert_error(404, None);
        send(app.req_as(&other, Method::DELETE, &path)).await.assert_error(404, None);
        send(
            app.req_as(&other, Method::PUT, &path)
                .header("content-type", "application/scim+json")
                .body(json!({"userName": "x", "displayName": "x"}).to_string()),
        )
        .await
        .assert_error(404, None);
    }
    // Lists show nothing of the first tenant.
    for path in ["/Users", "/Groups"] {
        assert_eq!(send(app.req_as(&other, Method::GET, path)).await.body["totalResults"], 0);
    }
    // Names are unique per tenant, not globally.
    let r = send(
        app.req_as(&other, Method::POST, "/Users")
            .header("content-type", "application/scim+json")
            .body(json!({"userName": "alice@example.com"}).to_string()),
    )
    .await;
    assert_eq!(r.status, 201);
    // The other tenant cannot put the first tenant's user into its group.
    let r = send(
        app.req_as(&other, Method::POST, "/Groups")
            .header("content-type", "application/scim+json")
            .body(json!({"displayName": "Steal", "members": [{"value": alice}]}).to_string()),
    )
    .await;
    r.assert_error(400, Some("invalidValue"));
    // A token re-signed with the right key but naming the other tenant for this connection fails.
    let forged = app
        .key
        .issue(uuid::Uuid::now_v7(), app.creds.connection, app.creds.token_id, Utc::now(), None)
        .unwrap();
    send(app.client.get(format!("{}/Users", app.creds.base)).bearer_auth(forged))
        .await
        .assert_error(401, None);
    // The first tenant still sees exactly its own.
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
}

#[tokio::test]
async fn revoked_tokens_are_refused_on_the_next_request() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/Users").await.status, 200);
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    roster::directory::tenants::revoke_token(&mut conn, &tenant, app.creds.token_id, Utc::now())
        .await
        .unwrap();
    let detail = app.get("/Users").await.assert_error(401, None);
    assert!(detail.contains("revoked"), "{detail}");
}

#[tokio::test]
async fn a_revoked_token_reads_nothing_where_the_read_shares_the_token_checks_round_trip() {
    let app = TestApp::spawn().await;
    let member = app.post("/Users", &json!({"userName": "private.person@example.com"})).await;
    assert_eq!(member.status, 201, "{}", member.body);
    let id = member.body["id"].as_str().unwrap().to_string();
    let probe = "/Users?filter=userName%20eq%20%22private.person@example.com%22";
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);
    assert_eq!(app.get(probe).await.body["totalResults"], 1);
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    roster::directory::tenants::revoke_token(&mut conn, &tenant, app.creds.token_id, Utc::now())
        .await
        .unwrap();
    let unknown = format!("/Users/{}", uuid::Uuid::now_v7());
    // Found, not found, a miss of the probe, a malformed id and a malformed projection: all 401,
    // none of them says whether the member exists.
    for path in [
        format!("/Users/{id}"),
        unknown,
        probe.to_string(),
        "/Users?filter=userName%20eq%20%22nobody@example.com%22".to_string(),
        "/Users/not-an-id".to_string(),
        format!("/Users/{id}?attributes=%00"),
    ] {
        let r = app.get(&path).await;
        let detail = r.assert_error(401, None);
        assert!(detail.contains("revoked"), "{path}: {detail}");
        assert!(!r.body.to_string().contains("private.person"), "{path}: {}", r.body);
    }
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    let connection =
        roster::directory::tenants::connection(&mut conn, &tenant, app.creds.connection).await.unwrap();
    let past = Utc::now() - chrono::Duration::days(2);
    let issued = roster::directory::tenants::issue_token(
        &mut conn,
        &app.key,
        &connection,
        "old",
        Some(past + chrono::Duration::days(1)),
        past,
    )
    .await
    .unwrap();
    let r = send(app.client.get(format!("{}/Users", app.creds.base)).bearer_auth(&issued.token)).await;
    r.assert_error(401, None);
}

#[tokio::test]
async fn a_revoked_token_writes_nothing_where_the_write_checks_it_in_its_transaction() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::{event_outbox, provisioning_log};

    let app = TestApp::spawn().await;
    let id = app.create_user("kept.as.is@example.com").await;
    let member = format!("/Users/{id}");
    // Live, the member PATCH (which checks the token in its transaction's first round trip)
    // writes.
    let r =
        app.patch_ops(&member, json!([{"op": "replace", "path": "displayName", "value": "Before"}])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let before = app.get(&member).await.body;
    assert_eq!(before["displayName"], "Before");
    let (mut conn, rows_before, events_before) = revoke_after_counting(&app).await;

    // Right after the revocation: by PATCH, a change, a deactivation, an unknown member, a
    // malformed body and a malformed id; by PUT, a deactivation, an unknown member and a
    // malformed body. All 401 (a few more would meet the failed-credential backoff), and none
    // says anything of the member.
    let ops = |ops: serde_json::Value| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}).to_string()
    };
    let rename = ops(json!([{"op": "replace", "path": "displayName", "value": "After"}]));
    let deactivate = ops(json!([{"op": "replace", "path": "active", "value": false}]));
    let user = |fields: serde_json::Value| {
        let mut user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "kept.as.is@example.com"});
        user.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        user.to_string()
    };
    let unknown = format!("/Users/{}", uuid::Uuid::now_v7());
    let malformed = "{\"Operations\": [".to_string();
    for (method, path, body) in [
        (Method::PATCH, member.clone(), rename.clone()),
        (Method::PATCH, member.clone(), deactivate),
        (Method::PATCH, unknown.clone(), rename.clone()),
        (Method::PATCH, member.clone(), malformed.clone()),
        (Method::PATCH, "/Users/not-an-id".to_string(), rename.clone()),
        (Method::PUT, member.clone(), user(json!({"active": false}))),
        (Method::PUT, unknown, user(json!({}))),
        (Method::PUT, member.clone(), malformed),
    ] {
        let r =
            send(app.req(method.clone(), &path).header("content-type", "application/scim+json").body(body))
                .await;
        let detail = r.assert_error(401, None);
        assert!(detail.contains("revoked"), "{method} {path}: {detail}");
        assert!(!r.body.to_string().contains("kept.as.is"), "{method} {path}: {}", r.body);
    }

    // Nothing was written: the member as it was (read with a new token), no event, and no
    // provisioning-log row for the refused requests.
    let fresh = app.spare_token("fresh").await;
    let after = send(app.client.get(format!("{}{member}", app.creds.base)).bearer_auth(&fresh)).await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(after.body["displayName"], "Before");
    assert_eq!(after.body, before, "the member is as it was before the revocation");
    assert_eq!(event_outbox::table.count().get_result::<i64>(&mut conn).await.unwrap(), events_before);
    app.flush_log().await;
    // The GET just made with the new token is the only new row.
    assert_eq!(provisioning_log::table.count().get_result::<i64>(&mut conn).await.unwrap(), rows_before + 1);
}

#[tokio::test]
async fn a_revoked_token_creates_and_removes_nothing_where_the_check_shares_a_round_trip() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::{event_outbox, provisioning_log, users};

    let app = TestApp::spawn().await;
    // A removed member that a create with its userName would restore.
    let removed = app.create_user("gone.for.now@example.com").await;
    assert_eq!(app.delete(&format!("/Users/{removed}")).await.status, 204);
    let staying = app.create_user("staying@example.com").await;
    // A group with one member: a PATCH adding the other, or removing this one, writes nothing.
    let kept = app.create_user("kept@example.com").await;
    let group = app.create_group("Assigned", &[&kept]).await;
    let group_version = app.get(&format!("/Groups/{group}")).await.body["meta"]["version"].clone();
    let members_before: i64 = {
        let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
        users::table.count().get_result(&mut conn).await.unwrap()
    };
    let (mut conn, rows_before, events_before) = revoke_after_counting(&app).await;

    // Right after the revocation: by POST, a new member and a re-provisioning (both checked
    // with the restore probe), a malformed body and a group (both checked first); by DELETE, a
    // member and an unknown member (checked with the member's lock); by PATCH, an add and a
    // removal of group members (the membership statement checks the token itself: the token
    // is recalled, it created members above). All 401.
    let user = |name: &str| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}).to_string()
    };
    let membership = |op: &str, member: &str| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": op, "path": "members", "value": [{"value": member}]}]})
        .to_string()
    };
    for (method, path, body) in [
        (Method::PATCH, format!("/Groups/{group}"), membership("add", &staying)),
        (Method::PATCH, format!("/Groups/{group}"), membership("remove", &kept)),
        (Method::POST, "/Users".to_string(), user("brand.new@example.com")),
        (Method::POST, "/Users".to_string(), user("gone.for.now@example.com")),
        (Method::POST, "/Users".to_string(), "{\"userName\": ".to_string()),
        (Method::POST, "/Groups".to_string(), json!({"displayName": "Never made"}).to_string()),
        (Method::DELETE, format!("/Users/{staying}"), String::new()),
        (Method::DELETE, format!("/Users/{}", uuid::Uuid::now_v7()), String::new()),
    ] {
        let r = send(
            app.req(method.clone(), &path).header("content-type", "application/scim+json").body(body.clone()),
        )
        .await;
        let detail = r.assert_error(401, None);
        assert!(detail.contains("revoked"), "{method} {path} {body}: {detail}");
    }

    // Nothing was written: no member, the removed one still removed, the other still there, no
    // event, no log row.
    assert_eq!(users::table.count().get_result::<i64>(&mut conn).await.unwrap(), members_before);
    let fresh = app.spare_token("fresh").await;
    let gone = send(app.client.get(format!("{}/Users/{removed}", app.creds.base)).bearer_auth(&fresh)).await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    let stayed =
        send(app.client.get(format!("{}/Users/{staying}", app.creds.base)).bearer_auth(&fresh)).await;
    assert_eq!(stayed.status, 200, "{}", stayed.body);
    let assigned =
        send(app.client.get(format!("{}/Groups/{group}", app.creds.base)).bearer_auth(&fresh)).await;
    let members: Vec<&str> =
        assigned.body["members"].as_array().unwrap().iter().filter_map(|m| m["value"].as_str()).collect();
    assert_eq!(members, [kept.as_str()], "{}", assigned.body);
    assert_eq!(assigned.body["meta"]["version"], group_version);
    assert_eq!(event_outbox::table.count().get_result::<i64>(&mut conn).await.unwrap(), events_before);
    app.flush_log().await;
    // The GETs just made with the new token are the only new rows.
    assert_eq!(provisioning_log::table.count().get_result::<i64>(&mut conn).await.unwrap(), rows_before + 3);
}

/// Revoke the test token, after counting the provisioning-log rows (all written) and the events:
/// a connection of the pool, and both counts.
async fn revoke_after_counting(app: &TestApp) -> (roster::db::PooledConn, i64, i64) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::{event_outbox, provisioning_log};
    app.flush_log().await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let rows: i64 = provisioning_log::table.count().get_result(&mut conn).await.unwrap();
    let events: i64 = event_outbox::table.count().get_result(&mut conn).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    roster::directory::tenants::revoke_token(&mut conn, &tenant, app.creds.token_id, Utc::now())
        .await
        .unwrap();
    (conn, rows, events)
}
