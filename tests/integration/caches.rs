//! What Roster keeps in process (`roster::cache`: tenant settings and categories) is never
//! stale, and token checks are exact: a change made anywhere — this process, another
//! `roster serve` on the same database — is honoured by the next request. And the maintained
//! member count behind `totalResults`.

use chrono::Utc;
use serde_json::json;

use crate::support::requests::send;
use crate::support::serve::{self, Serving};
use crate::support::{TestApp, TEST_SECRET};

/// A second `roster serve` process on the test's database, killed when dropped.
struct Second {
    _serving: Serving,
    root: String,
}

impl Second {
    fn start(app: &TestApp) -> Second {
        let mut cmd = serve::command();
        cmd.env("DATABASE_URL", &app.db_url)
            .env("ROSTER_SIGNING_KEY", std::str::from_utf8(TEST_SECRET).unwrap())
            .env_remove("ROSTER_PUBLIC_URL");
        let (serving, _, root) = serve::start(cmd);
        Second { _serving: serving, root }
    }

    fn base(&self, app: &TestApp) -> String {
        format!("{}/scim/v2/{}", self.root, app.creds.connection)
    }
}

#[tokio::test]
async fn a_revocation_is_honoured_by_the_next_request_in_this_process_and_in_another() {
    let app = TestApp::spawn().await;
    let second = Second::start(&app);
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    let spare = app.spare_token("spare").await;
    let member = app.post("/Users", &json!({"userName": "kept.secret@example.com"})).await;
    assert_eq!(member.status, 201, "{}", member.body);
    let id = member.body["id"].as_str().unwrap().to_string();
    // A list, a member by id, and the IdPs' probe (the last two send the token check with their
    // own read: a revoked token must still get nothing but 401).
    let paths = [
        "/Users".to_string(),
        format!("/Users/{id}"),
        "/Users?filter=userName%20eq%20%22kept.secret@example.com%22".to_string(),
    ];
    let on = |root: &str, path: &str, token: &str| {
        app.client
            .get(format!("{root}/scim/v2/{}{path}", app.creds.connection))
            .bearer_auth(token.to_string())
    };
    // Both processes have now checked (and cached) both tokens.
    for root in [app.root.as_str(), second.root.as_str()] {
        for path in &paths {
            let r = send(on(root, path, &app.creds.token)).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            assert!(r.body.to_string().contains("kept.secret@example.com"), "{path}: {}", r.body);
            assert_eq!(send(on(root, path, &spare)).await.status, 200);
        }
    }
    roster::directory::tenants::revoke_token(&mut conn, &tenant, app.creds.token_id, Utc::now())
        .await
        .unwrap();
    // The very next request, in either process, is refused and shows nothing of the member; the
    // other token still works.
    for path in &paths {
        for root in [second.root.as_str(), app.root.as_str()] {
            let r = send(on(root, path, &app.creds.token)).await;
            r.assert_error(401, None);
            assert!(!r.body.to_string().contains("kept.secret"), "{path}: {}", r.body);
        }
        assert_eq!(send(on(&second.root, path, &spare)).await.status, 200);
    }

    // A strict-mode switch made by this process reaches the other one's next request too.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "Replace", "path": "displayName", "value": "X"}]});
    let created =
        send(app.client.post(format!("{}/Users", second.base(&app))).bearer_auth(&spare).json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "mode@example.com"})))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let user = format!("{}/Users/{}", second.base(&app), created.body["id"].as_str().unwrap());
    assert_eq!(send(app.client.patch(&user).bearer_auth(&spare).json(&patch)).await.status, 200);
    roster::directory::tenants::set_quirk_mode(&mut conn, &tenant, app.creds.connection, "strict")
        .await
        .unwrap();
    // Strict mode refuses the capitalised op Entra sends.
    send(app.client.patch(&user).bearer_auth(&spare).json(&patch))
        .await
        .assert_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn a_category_added_elsewhere_is_in_the_next_request_of_another_process() {
    let app = TestApp::spawn().await;
    let second = Second::start(&app);
    let schema =
        format!("{}/Schemas/urn:ietf:params:scim:schemas:extension:roster:2.0:User", second.base(&app));
    let attributes = || async {
        let r = send(app.client.get(&schema).bearer_auth(&app.creds.token)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(!attributes().await.contains(&"city".to_string()));
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    add_text_category(&mut conn, tenant.id, "city").await;
    assert!(attributes().await.contains(&"city".to_string()));
}

#[tokio::test]
async fn the_unfiltered_total_follows_creates_removals_and_restores() {
    let app = TestApp::spawn().await;
    let other = app.new_tenant("globex").await;
    let totals = || async {
        let all = app.get("/Users").await.body["totalResults"].as_u64().unwrap();
        // A filter is counted row by row: the maintained count must agree with it.
        let counted = app.get("/Users?filter=userName%20pr").await.body["totalResults"].as_u64().unwrap();
        assert_eq!(all, counted, "maintained count vs count(*)");
        all
    };
    assert_eq!(totals().await, 0);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(app.create_user(&format!("u{i}@example.com")).await);
    }
    // Another tenant's members are not counted.
    let r = send(app.client.post(format!("{}/Users", other.base)).bearer_auth(&other.token).json(
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x@example.com"}),
    ))
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(totals().await, 3);
    // Suspension keeps a member listed; removal does not; re-provisioning restores it.
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let r = send(app.req(reqwest::Method::PATCH, &format!("/Users/{}", ids[0])).json(&off)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(totals().await, 3);
    assert_eq!(app.delete(&format!("/Users/{}", ids[1])).await.status, 204);
    assert_eq!(totals().await, 2);
    let back = app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "u1@example.com"}),
        )
        .await;
    assert_eq!(back.status, 201);
    assert_eq!(back.body["id"], ids[1].as_str(), "restored under its old id");
    assert_eq!(totals().await, 3);
    // Pages read through the page's ids agree with the total and with each other.
    let page = app.get("/Users?startIndex=2&count=5").await;
    assert_eq!(page.body["itemsPerPage"], 2);
    assert_eq!(page.body["totalResults"], 3);
}

#[tokio::test]
async fn a_create_read_under_a_recalled_standing_is_read_again_under_the_new_one() {
    // A member's create reads its body under the standing this process recalls for the token and
    // writes in one statement that checks that standing (`directory::users::create_as`). When the
    // tenant's settings or the connection's mode changed since, it writes nothing and the create
    // is read again under the new standing.
    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
    let app = TestApp::spawn().await;
    // Tolerant: Entra's `roles` as a plain string is read as the role. This process now recalls
    // the token as tolerant, at the tenant's current settings.
    let first =
        app.post("/Users", &json!({"schemas": [USER], "userName": "first", "roles": "chief_editor"})).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body[EXT]["role"], "chief_editor");

    // A category added (the settings version moves): the next create is read with it, not
    // under the recalled profile, which would have ignored the value as unknown.
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    add_text_category(&mut conn, tenant.id, "City").await;
    let body = json!({"schemas": [USER, EXT], "userName": "second", EXT: {"City": "Bergen"}});
    let second = app.post("/Users", &body).await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_eq!(second.body[EXT]["City"], "Bergen", "{}", second.body);

    // Strict mode: the next create is read strictly, and the plain-string form is refused.
    roster::directory::tenants::set_quirk_mode(&mut conn, &tenant, app.creds.connection, "strict")
        .await
        .unwrap();
    let third =
        app.post("/Users", &json!({"schemas": [USER], "userName": "third", "roles": "chief_editor"})).await;
    third.assert_error(400, Some("invalidValue"));
    let probe = app.get("/Users?filter=userName%20eq%20%22third%22").await;
    assert_eq!(probe.body["totalResults"], 0, "nothing was written: {}", probe.body);
}

#[tokio::test]
async fn a_group_patch_read_under_a_recalled_standing_is_read_again_under_the_new_one() {
    // The IdPs' add of group members is written in one statement that checks the standing this
    // process recalls for the token (`directory::patch::patch_group_as`). When the connection's
    // mode changed since, it writes nothing, and the PATCH is read again under the new mode.
    let app = TestApp::spawn().await;
    let (first, second) = (app.create_user("first").await, app.create_user("second").await);
    let group = app.create_group("Readers", &[]).await;
    // Entra's `"op": "Add"`: tolerated in the connection's tolerant mode, refused in strict mode.
    let add = |member: &str| json!([{"op": "Add", "path": "members", "value": [{"value": member}]}]);
    let path = format!("/Groups/{group}");
    let r = app.patch_ops(&path, add(&first)).await;
    assert_eq!(r.status, 204, "{}", r.body);

    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    roster::directory::tenants::set_quirk_mode(&mut conn, &tenant, app.creds.connection, "strict")
        .await
        .unwrap();
    let refused = app.patch_ops(&path, add(&second)).await;
    refused.assert_error(400, Some("invalidSyntax"));
    let members = app.get(&path).await.body["members"].clone();
    let ids: Vec<&str> = members.as_array().unwrap().iter().filter_map(|m| m["value"].as_str()).collect();
    assert_eq!(ids, [first.as_str()], "only the tolerant-mode add was written: {members}");
}

#[tokio::test]
async fn a_tokens_standing_follows_its_connection_and_its_tenant() {
    // A token check reads the token's standing (its connection's mode, its tenant's settings
    // version) from the token's own row (migration 000037). Those copies must follow their
    // sources: for the tokens that exist when the mode or the settings change, and for a token
    // issued after.
    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
    let app = TestApp::spawn().await;
    let earlier = app.spare_token("earlier").await;
    let member = app.create_user("member").await;
    let path = format!("/Users/{member}");
    // Entra's capitalised op: tolerated only in tolerant mode.
    let entra = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "Replace", "path": "displayName", "value": "X"}]});
    let with = |method, path: &str, token: &str| {
        app.client.request(method, format!("{}{path}", app.creds.base)).bearer_auth(token.to_string())
    };
    let patch = |token: &str| with(reqwest::Method::PATCH, &path, token).json(&entra);
    assert_eq!(send(patch(&earlier)).await.status, 200);

    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    roster::directory::tenants::set_quirk_mode(&mut conn, &tenant, app.creds.connection, "strict")
        .await
        .unwrap();
    add_text_category(&mut conn, tenant.id, "City").await;
    let later = app.spare_token("later").await;
    for token in [&earlier, &later] {
        send(patch(token)).await.assert_error(400, Some("invalidSyntax"));
        let body = json!({"schemas": [USER, EXT], "userName": format!("in.{}", &token[token.len() - 8..]),
                          EXT: {"City": "Bergen"}});
        let created = send(with(reqwest::Method::POST, "/Users", token).json(&body)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body[EXT]["City"], "Bergen", "read with the new category: {}", created.body);
    }
    roster::directory::tenants::set_quirk_mode(&mut conn, &tenant, app.creds.connection, "tolerant")
        .await
        .unwrap();
    assert_eq!(send(patch(&later)).await.status, 200, "tolerant again");

    // Every token of every connection stands as its sources do.
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tokens: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        astray: i64,
    }
    let counted: Count = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT count(*) AS tokens, count(*) FILTER (WHERE k.quirk_mode <> c.quirk_mode \
             OR k.settings_version <> t.settings_version) AS astray \
             FROM connection_tokens k JOIN connections c ON c.tenant_id = k.tenant_id AND c.id = k.connection_id \
             JOIN tenants t ON t.id = k.tenant_id",
        ),
        &mut *conn,
    )
    .await
    .unwrap();
    assert!(counted.tokens >= 3, "{} tokens", counted.tokens);
    assert_eq!(counted.astray, 0);
}

/// Add a text category `name` to the tenant, as the admin API does.
async fn add_text_category(conn: &mut roster::db::Conn, tenant: uuid::Uuid, name: &str) {
    let new = roster::directory::categories::NewCategory {
        name: name.into(),
        display_name: None,
        kind: "text".into(),
        allowed_values: Vec::new(),
        source: None,
    };
    let registry = roster::scim::schema::Registry::standard();
    roster::directory::categories::create_category(conn, &registry, tenant, new, Utc::now()).await.unwrap();
}
