//! The admin console over plain HTTP (issue #11): sessions and their cookie, CSRF, tenant
//! scoping, setup links, escaping, assets and headers. The browser tests are in
//! `console_browser`.

use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::console::Console;
use crate::support::requests::{send, Reply};
use crate::support::{TestApp, TEST_ADMIN_TOKEN};
use roster::db;

const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// A tenant admin token for `slug`, issued through the directory as the CLI does.
async fn admin_token(app: &TestApp, slug: &str) -> (uuid::Uuid, String) {
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let t = roster::directory::tenants::tenant(&mut conn, slug).await.unwrap();
    let issued = roster::directory::admin_tokens::issue(&mut conn, &app.key, &t, "console", None, Utc::now())
        .await
        .unwrap();
    (issued.record.id, issued.token)
}

async fn setup_link(app: &TestApp, slug: &str) -> Value {
    let r = send(
        app.client
            .post(format!("{}/admin/v1/tenants/{slug}/setup-links", app.root))
            .bearer_auth(TEST_ADMIN_TOKEN)
            .header("content-type", "application/json")
            .body(json!({"expires_in_hours": 2}).to_string()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

#[tokio::test]
async fn sign_in_opens_a_server_side_session_with_a_hardened_cookie_and_sign_out_revokes_it() {
    let app = TestApp::spawn().await;
    let mut console = Console::new(&app);
    assert_eq!(console.get("/console/").await.location(), "/console/sign-in");

    let signed_in = console.post("/console/sign-in", &[("credential", TEST_ADMIN_TOKEN)]).await;
    assert_eq!(signed_in.status, 303);
    let set_cookie = signed_in.headers.get("set-cookie").unwrap().to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set_cookie.contains(attribute), "{attribute} missing: {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "http public URL: no Secure flag: {set_cookie}");
    let secret = console.cookie.clone().unwrap();
    let secret = secret.trim_start_matches("roster_console=");
    assert!(secret.len() >= 43, "at least 256 bits, base64: {secret}");

    // The session row holds a digest, never the cookie's secret.
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::console_sessions;
    let hashes: Vec<Vec<u8>> =
        console_sessions::table.select(console_sessions::secret_hash).load(&mut conn).await.unwrap();
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], secret.as_bytes());

    let tenants = console.get("/console/tenants").await;
    assert_eq!(tenants.status, 200);
    assert!(tenants.body.contains("/console/t/acme/"), "the operator sees every tenant");

    let out = console.submit("/console/tenants", "/console/sign-out", &[]).await;
    assert_eq!((out.status.as_u16(), out.location()), (303, "/console/sign-in"));
    // The old cookie no longer opens anything, even if a copy of it was kept.
    let mut replay = Console::new(&app);
    replay.cookie = Some(format!("roster_console={secret}"));
    assert_eq!(replay.get("/console/tenants").await.location(), "/console/sign-in");
    // Sign-in and sign-out are in the audit trail as that session's.
    let trail = app
        .admin_call(TEST_ADMIN_TOKEN, Method::GET, "/audit?tenant=none&actor_kind=console_session", None)
        .await;
    let routes: Vec<&str> =
        trail.body["entries"].as_array().unwrap().iter().map(|e| e["route"].as_str().unwrap()).collect();
    assert_eq!(routes, ["/console/sign-out", "/console/sign-in"], "{}", trail.body);
}

#[tokio::test]
async fn a_secure_cookie_when_the_public_url_is_https() {
    let app = TestApp::spawn_with(|s| s.public_url = Some("https://roster.example.com".into())).await;
    let mut console = Console::new(&app);
    let page = console.post("/console/sign-in", &[("credential", TEST_ADMIN_TOKEN)]).await;
    let set_cookie = page.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
}

#[tokio::test]
async fn a_wrong_credential_is_401_and_counts_toward_the_credential_back_off() {
    let app = TestApp::spawn_with(|s| s.auth_failures_per_min = 3).await;
    let mut console = Console::new(&app);
    for _ in 0..3 {
        let page = console.post("/console/sign-in", &[("credential", "not-a-credential")]).await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains("not valid"), "{}", page.body);
        assert!(console.cookie.is_none());
    }
    // Past the limit even the right credential waits.
    let page = console.post("/console/sign-in", &[("credential", TEST_ADMIN_TOKEN)]).await;
    assert_eq!(page.status, 429);
    assert!(page.headers.contains_key("retry-after"));
    // Each refusal is an anonymous audit entry on no tenant, naming no credential (read from the
    // database: this address is locked out of the admin API too for now).
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let query = db::audit::AuditQuery {
        scope: db::audit::Scope::NoTenant,
        actor_kind: Some("anonymous".into()),
        actor_id: None,
        method: None,
        outcome: None,
        since: None,
        until: None,
        after: None,
        limit: 100,
    };
    let rows = db::audit::list(&mut conn, &query).await.unwrap();
    let refused: Vec<_> = rows.iter().filter(|e| e.route == "/console/sign-in" && e.status == 401).collect();
    assert_eq!(refused.len(), 3, "{rows:?}");
    assert!(refused.iter().all(|e| e.tenant_id.is_none() && !e.summary.contains("not-a-credential")));
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused_with_403_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let member = app.create_user("csrf@example.com").await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let path = format!("/console/t/acme/members/{member}/invitations");

    let missing = console.post(&path, &[]).await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    assert!(missing.body.contains("CSRF"), "{}", missing.body);
    let wrong = console.post(&path, &[("_csrf", "0000")]).await;
    assert_eq!(wrong.status, 403);
    // Another session's token is no good either.
    let other = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let mut other = other;
    let foreign = other.get("/console/tenants").await.csrf();
    assert_eq!(console.post(&path, &[("_csrf", &foreign)]).await.status, 403);

    let page = console.get(&format!("/console/t/acme/members/{member}")).await;
    assert!(page.body.contains("Invitations sent</dt><dd>0"), "nothing recorded: {}", page.body);
    let ok = console.submit(&format!("/console/t/acme/members/{member}"), &path, &[]).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let page = console.get(&format!("/console/t/acme/members/{member}")).await;
    assert!(page.body.contains("Invitations sent</dt><dd>1"), "{}", page.body);
}

#[tokio::test]
async fn a_tenant_admin_sees_only_its_tenant_and_another_tenant_answers_404() {
    let app = TestApp::spawn().await;
    app.new_tenant("globex").await;
    let (token_id, token) = admin_token(&app, "acme").await;
    let mut console = Console::sign_in(&app, &token).await;
    assert_eq!(console.get("/console/").await.location(), "/console/t/acme/");
    assert_eq!(console.get("/console/tenants").await.location(), "/console/t/acme/");
    assert_eq!(console.get("/console/t/acme/members").await.status, 200);
    for path in ["/console/t/globex/", "/console/t/globex/members", "/console/t/globex/log"] {
        assert_eq!(console.get(path).await.status, 404, "{path}");
    }
    // A write into the other tenant is refused too, with a valid CSRF token.
    let bind = console.submit(
        "/console/t/acme/groups",
        "/console/t/globex/settings",
        &[("default_role", "org_admin"), ("position_source", "title"), ("sso", "true")],
    );
    assert_eq!(bind.await.status, 404);

    // Revoking the admin token ends the session it opened.
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let t = roster::directory::tenants::tenant(&mut conn, "acme").await.unwrap();
    roster::db::admin_tokens::revoke(&mut conn, t.id, token_id, Utc::now()).await.unwrap();
    assert_eq!(console.get("/console/t/acme/members").await.location(), "/console/sign-in");
}

#[tokio::test]
async fn an_idle_session_ends_and_must_sign_in_again() {
    let app = TestApp::spawn().await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    assert_eq!(console.get("/console/tenants").await.status, 200);
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::console_sessions;
    // 31 minutes without a request (the idle limit is 30).
    diesel::update(console_sessions::table)
        .set(console_sessions::last_seen_at.eq(Utc::now() - chrono::Duration::minutes(31)))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(console.get("/console/tenants").await.location(), "/console/sign-in");

    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    diesel::update(console_sessions::table)
        .set(console_sessions::expires_at.eq(Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(console.get("/console/tenants").await.location(), "/console/sign-in", "absolute expiry");
}

#[tokio::test]
async fn a_setup_link_works_once_for_its_tenants_connection_pages_only() {
    let app = TestApp::spawn().await;
    app.new_tenant("globex").await;
    let link = setup_link(&app, "acme").await;
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/console/setup/", app.root)), "{url}");
    let path = url.trim_start_matches(&app.root).to_string();

    let mut holder = Console::new(&app);
    // Opening the link (a mail scanner would) does not use it up.
    assert_eq!(holder.get(&path).await.status, 200);
    let used = holder.post(&path, &[]).await;
    assert_eq!((used.status.as_u16(), used.location()), (303, "/console/"));
    assert_eq!(holder.get("/console/").await.location(), "/console/t/acme/");
    assert_eq!(holder.get("/console/t/acme/").await.status, 200);
    assert_eq!(holder.get("/console/t/acme/log").await.status, 200);
    assert_eq!(
        holder.get(&format!("/console/t/acme/connections/{}", app.creds.connection)).await.status,
        200
    );
    for page in ["members", "groups", "roles"] {
        assert_eq!(holder.get(&format!("/console/t/acme/{page}")).await.status, 403, "{page}");
    }
    assert_eq!(holder.get("/console/t/globex/").await.status, 404);

    let mut again = Console::new(&app);
    let second = again.post(&path, &[]).await;
    assert_eq!(second.status, 401, "single use");
    assert!(again.cookie.is_none());

    // An unknown tenant, a bad expiry.
    let r = send(
        app.client
            .post(format!("{}/admin/v1/tenants/acme/setup-links", app.root))
            .bearer_auth(TEST_ADMIN_TOKEN)
            .header("content-type", "application/json")
            .body(json!({"expires_in_hours": 0}).to_string()),
    )
    .await;
    r.assert_error(400, Some("invalidValue"));
    let r = send(
        app.client
            .post(format!("{}/admin/v1/tenants/nope/setup-links", app.root))
            .bearer_auth(TEST_ADMIN_TOKEN),
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn an_expired_setup_link_does_not_open_a_session() {
    let app = TestApp::spawn().await;
    let link = setup_link(&app, "acme").await;
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::console_setup_links;
    diesel::update(console_setup_links::table)
        .set(console_setup_links::expires_at.eq(Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    let path = link["url"].as_str().unwrap().trim_start_matches(&app.root).to_string();
    let mut holder = Console::new(&app);
    assert_eq!(holder.post(&path, &[]).await.status, 401);
    let audit =
        app.admin_call(TEST_ADMIN_TOKEN, Method::GET, "/audit?tenant=none&actor_kind=anonymous", None).await;
    let entries = audit.body["entries"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["route"] == "/console/setup/{token}" && e["status"] == 401),
        "the refused setup link is an audit entry: {}",
        audit.body
    );
}

#[tokio::test]
async fn a_hostile_display_name_is_shown_as_text() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "mallory@example.com",
                    "displayName": HOSTILE}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    for path in ["/console/t/acme/members".to_string(), format!("/console/t/acme/members/{id}")] {
        let page = console.get(&path).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("&lt;img src=x onerror=alert(1)&gt;"), "{path}: {}", page.body);
        assert!(!page.body.contains("<img"), "{path} holds markup from the member");
    }
}

#[tokio::test]
async fn pages_carry_a_self_only_csp_and_assets_come_from_the_binary_with_long_caching() {
    let app = TestApp::spawn().await;
    let mut console = Console::new(&app);
    let page = console.get("/console/sign-in").await;
    assert_eq!(page.status, 200);
    let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(page.headers.get("cache-control").unwrap(), "no-store");
    assert!(!page.body.contains("https://"), "nothing loaded from elsewhere: {}", page.body);
    for asset in ["htmx.min.js", "console.css", "console.js", "htmx.LICENSE"] {
        let r = console.get(&format!("/console/assets/{asset}")).await;
        assert_eq!(r.status, 200, "{asset}");
        assert!(r.headers.get("cache-control").unwrap().to_str().unwrap().contains("max-age=31536000"));
        assert!(!r.body.is_empty());
    }
    assert!(console.get("/console/assets/htmx.min.js").await.body.contains("htmx"));
    assert_eq!(console.get("/console/assets/../Cargo.toml").await.status, 404);
    assert_eq!(console.get("/console/no-such-page").await.status, 404);
}

#[tokio::test]
async fn a_rejected_scim_request_shows_in_the_log_with_its_detail() {
    let app = TestApp::spawn().await;
    let bad = send(
        app.req_as(&app.creds, Method::POST, "/Users")
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}).to_string()),
    )
    .await;
    assert_eq!(bad.status, 400);
    let detail = bad.body["detail"].as_str().unwrap().to_string();
    app.flush_log().await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let page = console.get("/console/t/acme/log?outcome=failure").await;
    assert_eq!(page.status, 200);
    let escaped =
        detail.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    assert!(page.body.contains(&escaped), "{detail} not in {}", page.body);
    assert!(page.body.contains("invalidValue") || page.body.contains("invalidSyntax"), "{}", page.body);
    let ok_only = console.get("/console/t/acme/log?outcome=success").await;
    assert!(!ok_only.body.contains(&escaped));
    let bad_filter = console.get("/console/t/acme/log?since=yesterday").await;
    assert_eq!(bad_filter.status, 400);
    assert!(bad_filter.body.contains("since must be"), "{}", bad_filter.body);
}

#[tokio::test]
async fn a_tree_move_into_its_own_subtree_shows_the_cycle_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let parent = app.create_group("Finance", &[]).await;
    let child = app.create_group("Accounting", &[]).await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let moved = console
        .submit(
            "/console/t/acme/groups",
            &format!("/console/t/acme/groups/{child}/parent"),
            &[("parent", &parent)],
        )
        .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let cycle = console
        .submit(
            "/console/t/acme/groups",
            &format!("/console/t/acme/groups/{parent}/parent"),
            &[("parent", &child)],
        )
        .await;
    assert_eq!(cycle.status, 400);
    assert!(cycle.body.contains("move-error"), "{}", cycle.body);
    assert!(cycle.body.to_lowercase().contains("cycle"), "{}", cycle.body);
    let tree = app
        .client
        .get(format!("{}/admin/v1/tenants/acme/groups/tree", app.root))
        .bearer_auth(TEST_ADMIN_TOKEN);
    let tree = send(tree).await;
    let finance =
        tree.body["groups"].as_array().unwrap().iter().find(|g| g["id"] == parent.as_str()).unwrap();
    assert_eq!(finance["parentId"], Value::Null);
    // Both console writes are in the audit trail as the session's, the refused one with its status.
    let audit = app.admin(Method::GET, "/audit?actor_kind=console_session", None).await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let moves: Vec<(i64, String)> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["route"] == "/console/t/{tenant}/groups/{group}/parent")
        .map(|e| (e["status"].as_i64().unwrap(), e["targets"]["group"].as_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(moves, vec![(400, parent.clone()), (303, child.clone())], "{}", audit.body);
}

#[tokio::test]
async fn the_setup_link_command_prints_a_link_that_signs_in_once() {
    let app = TestApp::spawn().await;
    let roster = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
        cmd.env("DATABASE_URL", &app.db_url)
            .env("ROSTER_SIGNING_KEY", std::str::from_utf8(crate::support::TEST_SECRET).unwrap())
            .env("ROSTER_PUBLIC_URL", &app.root)
            .env("ROSTER_LOG", "warn");
        cmd
    };
    let out = roster()
        .args(["setup-link", "--tenant", "acme", "--expires-in-hours", "1", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let link: Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = link["url"].as_str().unwrap().trim_start_matches(&app.root).to_string();
    let mut holder = Console::new(&app);
    assert_eq!(holder.post(&path, &[]).await.status, 303);
    assert_eq!(holder.get("/console/").await.location(), "/console/t/acme/");
    assert_eq!(Console::new(&app).post(&path, &[]).await.status, 401);

    let bad = roster().args(["setup-link", "--tenant", "acme", "--expires-in-hours", "0"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("between 1 and 720"));
    let unknown = roster().args(["setup-link", "--tenant", "nope"]).output().unwrap();
    assert!(!unknown.status.success());
}

/// A multipart body with the given text fields and one file.
fn multipart(fields: &[(&str, &str)], file: &str) -> (String, Vec<u8>) {
    let boundary = "console-test-boundary-7f3a";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
    ));
    (format!("multipart/form-data; boundary={boundary}"), body.into_bytes())
}

#[tokio::test]
async fn the_import_upload_needs_the_csrf_token_and_the_template_names_the_tenants_columns() {
    let app = TestApp::spawn().await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let csv = "email,firstname\nada@example.com,Ada\n";
    let upload = |fields: Vec<(&'static str, String)>| {
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        multipart(&borrowed, csv)
    };
    let cookie = console.cookie.clone().unwrap();
    let post = |(content_type, body): (String, Vec<u8>)| {
        app.client
            .post(format!("{}/console/t/acme/import/columns", app.root))
            .header("cookie", cookie.clone())
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_eq!(post(upload(vec![])).await.unwrap().status(), 403);
    assert_eq!(post(upload(vec![("_csrf", "nope".into())])).await.unwrap().status(), 403);
    let token = console.get("/console/t/acme/import").await.csrf();
    let ok = post(upload(vec![("_csrf", token)])).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("ada@example.com"), "samples shown");

    let template = console.get("/console/t/acme/import/template.csv").await;
    assert_eq!(template.status, 200);
    assert!(template.body.starts_with("firstname,lastname,email,personalid"), "{}", template.body);
}

#[tokio::test]
async fn hostile_form_values_are_refused_with_a_reason_not_a_500() {
    let app = TestApp::spawn().await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let long = "x".repeat(3000);
    let too_long = console
        .submit("/console/t/acme/connect", "/console/t/acme/connect", &[("idp", "okta"), ("name", &long)])
        .await;
    assert_eq!(too_long.status, 400, "{}", too_long.body);
    let nul = console
        .submit("/console/t/acme/connect", "/console/t/acme/connect", &[("idp", "okta"), ("name", "a\0b")])
        .await;
    assert_eq!(nul.status, 400, "{}", nul.body);
    assert!(nul.body.contains("NUL"), "{}", nul.body);
    let unknown =
        console.submit("/console/t/acme/connect", "/console/t/acme/connect", &[("idp", "ldap")]).await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("idp must be one of"), "{}", unknown.body);
    let bad_filter = console.get("/console/t/acme/members?status=gone").await;
    assert_eq!(bad_filter.status, 400);
    assert!(bad_filter.body.contains("status must be one of"), "{}", bad_filter.body);
    let bad_override = console
        .submit(
            "/console/t/acme/roles",
            &format!("/console/t/acme/members/{}/role", app.create_user("eve@example.com").await),
            &[("role", "emperor")],
        )
        .await;
    assert_eq!(bad_override.status, 400);
    assert!(bad_override.body.contains("emperor"), "{}", bad_override.body);
}

async fn member(app: &TestApp, id: &str) -> crate::support::requests::Reply {
    app.admin(Method::GET, &format!("/members/{id}"), None).await
}

#[tokio::test]
async fn a_member_without_an_idp_is_suspended_reactivated_and_removed_from_its_page() {
    let app = TestApp::spawn().await;
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "frontline@example.com"});
    let created = app.admin(Method::POST, "/members", Some(user)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let scim_member = app.create_user("from-idp@example.com").await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let page = format!("/console/t/acme/members/{id}");
    let suspended = console.submit(&page, &format!("{page}/lifecycle"), &[("action", "suspend")]).await;
    assert_eq!(suspended.status, 303, "{}", suspended.body);
    assert_eq!(member(&app, &id).await.body["status"], "suspended");
    let back = console.submit(&page, &format!("{page}/lifecycle"), &[("action", "reactivate")]).await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert_ne!(member(&app, &id).await.body["status"], "suspended");
    // A member the IdP manages offers no such buttons, and a forged form is refused.
    let idp_page = format!("/console/t/acme/members/{scim_member}");
    assert!(!console.get(&idp_page).await.body.contains("/lifecycle"));
    let forged = console.submit(&idp_page, &format!("{idp_page}/lifecycle"), &[("action", "suspend")]).await;
    assert_eq!(forged.status, 409, "{}", forged.body);
    assert_ne!(member(&app, &scim_member).await.body["status"], "suspended");
    let bad = console.submit(&page, &format!("{page}/lifecycle"), &[("action", "explode")]).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let removed = console.submit(&page, &format!("{page}/lifecycle"), &[("action", "remove")]).await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(member(&app, &id).await.body["status"], "removed");
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 404, "gone from SCIM");
}

#[tokio::test]
async fn groups_are_created_renamed_and_deleted_from_the_tree_and_refusals_are_explained() {
    let app = TestApp::spawn().await;
    let finance = app.create_group("Finance", &[]).await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let tree = "/console/t/acme/groups";
    let created = console.submit(tree, tree, &[("name", "Audit"), ("parent", &finance)]).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let listed = app.get("/Groups?filter=displayName%20eq%20%22Audit%22").await;
    assert_eq!(listed.body["totalResults"], 1, "{}", listed.body);
    let audit = listed.body["Resources"][0]["id"].as_str().unwrap().to_string();
    // A taken name (caseless) is refused on the page with the reason; nothing is written.
    let taken = console.submit(tree, tree, &[("name", "finance"), ("parent", "")]).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert!(taken.body.contains("was not created"), "{}", taken.body);
    assert_eq!(app.get("/Groups").await.body["totalResults"], 2);
    let renamed = console
        .submit(tree, &format!("/console/t/acme/groups/{audit}/rename"), &[("name", "Internal audit")])
        .await;
    assert_eq!(renamed.status, 303, "{}", renamed.body);
    assert_eq!(app.get(&format!("/Groups/{audit}")).await.body["displayName"], "Internal audit");
    let deleted = console.submit(tree, &format!("/console/t/acme/groups/{audit}/delete"), &[]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert_eq!(app.get(&format!("/Groups/{audit}")).await.status, 404);
}

#[tokio::test]
async fn access_requests_are_switched_on_approved_and_denied_in_the_console() {
    let app = TestApp::spawn().await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let page = "/console/t/acme/join";
    let on = console
        .submit(page, &format!("{page}/settings"), &[("requests", "on"), ("domains", "example.com")])
        .await;
    assert_eq!(on.status, 303, "{}", on.body);
    let settings = app.admin(Method::GET, "/join/settings", None).await;
    assert_eq!(
        (settings.body["requestsEnabled"].clone(), settings.body["allowedDomains"].clone()),
        (json!(true), json!(["example.com"])),
        "{}",
        settings.body
    );
    let ask = |given: &str, email: &str| {
        let body = json!({"givenName": given, "familyName": HOSTILE, "email": email});
        app.client
            .post(format!("{}/join/v1/tenants/acme/requests", app.root))
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    for (given, email) in [("Ann", "ann@home.example"), ("Ben", "ben@home.example")] {
        let r = send(ask(given, email)).await;
        assert_eq!(r.body["outcome"], "pending", "{}", r.body);
    }
    let listed = console.get(page).await;
    assert!(listed.body.contains("ann@home.example") && listed.body.contains("ben@home.example"));
    assert!(!listed.body.contains(HOSTILE), "the registrant's name is escaped");
    let pending = app.admin(Method::GET, "/join/requests?state=pending", None).await;
    let id_of = |email: &str| {
        pending.body["requests"].as_array().unwrap().iter().find(|r| r["email"] == email).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (ann, ben) = (id_of("ann@home.example"), id_of("ben@home.example"));
    let approved = console.submit(page, &format!("{page}/requests/{ann}/approve"), &[]).await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let no_reason = console.submit(page, &format!("{page}/requests/{ben}/deny"), &[("reason", " ")]).await;
    assert_eq!(no_reason.status, 400, "{}", no_reason.body);
    let denied =
        console.submit(page, &format!("{page}/requests/{ben}/deny"), &[("reason", "Not on staff")]).await;
    assert_eq!(denied.status, 303, "{}", denied.body);
    let decided = app.admin(Method::GET, "/join/requests", None).await;
    let state_of = |email: &str| {
        decided.body["requests"].as_array().unwrap().iter().find(|r| r["email"] == email).unwrap()["state"]
            .clone()
    };
    assert_eq!(
        (state_of("ann@home.example"), state_of("ben@home.example")),
        (json!("approved"), json!("denied"))
    );
    let members = app.admin(Method::GET, "/members?origin=registration", None).await;
    let joined: Vec<&str> =
        members.body["members"].as_array().unwrap().iter().filter_map(|m| m["email"].as_str()).collect();
    assert_eq!(joined, ["ann@home.example"], "{}", members.body);
}

#[tokio::test]
async fn a_member_is_added_in_the_console_through_the_scim_create_and_bad_values_are_refused() {
    let app = TestApp::spawn().await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let list = "/console/t/acme/members";
    let fields = [
        ("user_name", "kiosk.ann"),
        ("given_name", "Ann"),
        ("family_name", HOSTILE),
        ("email", "ann@home.example"),
        ("title", "Cashier"),
    ];
    let added = console.submit(list, list, &fields).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let id = added.location().rsplit('/').next().unwrap().to_string();
    let m = member(&app, &id).await;
    assert_eq!(
        (m.body["origin"].clone(), m.body["userName"].clone(), m.body["position"].clone()),
        (json!("admin"), json!("kiosk.ann"), json!("Cashier")),
        "{}",
        m.body
    );
    let page = console.get(&format!("{list}/{id}")).await;
    assert!(!page.body.contains(HOSTILE), "the name is escaped on the member page");
    // userName is unique per tenant, caseless: 409, and nothing more is written.
    let taken = console.submit(list, list, &[("user_name", "KIOSK.ann")]).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    let nul = console.submit(list, list, &[("user_name", "a\u{0}b")]).await;
    assert_eq!(nul.status, 400, "{}", nul.body);
    let all = app.admin(Method::GET, "/members?origin=admin", None).await;
    assert_eq!(all.body["members"].as_array().unwrap().len(), 1, "{}", all.body);
}

#[tokio::test]
async fn a_member_without_an_idp_joins_and_leaves_groups_from_its_page() {
    let app = TestApp::spawn().await;
    let group = app.create_group("Night shift", &[]).await;
    let user =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "night@example.com"});
    let id = app.admin(Method::POST, "/members", Some(user)).await.body["id"].as_str().unwrap().to_string();
    let scim_member = app.create_user("idp@example.com").await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let page = format!("/console/t/acme/members/{id}");
    let joined = console
        .submit(&page, &format!("{page}/groups"), &[("group", &group), ("group_role", "manager")])
        .await;
    assert_eq!(joined.status, 303, "{}", joined.body);
    let members = app.admin(Method::GET, &format!("/groups/{group}/members"), None).await;
    let row = &members.body["members"][0];
    assert_eq!(
        (row["memberId"].clone(), row["groupRole"].clone()),
        (json!(id), json!("manager")),
        "{}",
        members.body
    );
    let scim_group = app.get(&format!("/Groups/{group}")).await;
    assert_eq!(scim_group.body["members"][0]["value"], id.as_str(), "SCIM sees the membership");
    let bad_role =
        console.submit(&page, &format!("{page}/groups"), &[("group", &group), ("group_role", "owner")]).await;
    assert_eq!(bad_role.status, 400, "{}", bad_role.body);
    // The IdP's member: no forms, and a forged one is refused.
    let idp_page = format!("/console/t/acme/members/{scim_member}");
    let forged = console.submit(&idp_page, &format!("{idp_page}/groups"), &[("group", &group)]).await;
    assert_eq!(forged.status, 409, "{}", forged.body);
    let left = console.submit(&page, &format!("{page}/groups/{group}/leave"), &[]).await;
    assert_eq!(left.status, 303, "{}", left.body);
    let after = app.admin(Method::GET, &format!("/groups/{group}/members"), None).await;
    assert_eq!(after.body["members"], json!([]), "{}", after.body);
}

#[tokio::test]
async fn a_member_without_an_idp_is_edited_from_its_page_and_only_filled_fields_change() {
    let app = TestApp::spawn().await;
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "edit@example.com",
                      "name": {"givenName": "Eda", "familyName": "Old"}, "displayName": "Eda Old"});
    let id = app.admin(Method::POST, "/members", Some(user)).await.body["id"].as_str().unwrap().to_string();
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let page = format!("/console/t/acme/members/{id}");
    let saved = console
        .submit(&page, &format!("{page}/edit"), &[("family_name", "New"), ("email", "eda@home.example")])
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let scim = app.get(&format!("/Users/{id}")).await;
    assert_eq!(
        (
            scim.body["name"]["givenName"].clone(),
            scim.body["name"]["familyName"].clone(),
            scim.body["emails"][0]["value"].clone()
        ),
        (json!("Eda"), json!("New"), json!("eda@home.example")),
        "{}",
        scim.body
    );
    assert_eq!(scim.body["displayName"], "Eda Old", "an empty field is left as it is");
    let nothing = console.submit(&page, &format!("{page}/edit"), &[]).await;
    assert_eq!(nothing.status, 400, "{}", nothing.body);
    let hostile = console.submit(&page, &format!("{page}/edit"), &[("display_name", "a\u{0}b")]).await;
    assert_eq!(hostile.status, 400, "{}", hostile.body);
    assert_eq!(app.get(&format!("/Users/{id}")).await.body["displayName"], "Eda Old", "nothing written");
}

#[tokio::test]
async fn retention_invitations_and_sso_are_set_on_the_settings_page() {
    let app = TestApp::spawn().await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let page = "/console/t/acme/roles";
    let form = |retention: &'static str| {
        [
            ("default_role", "member"),
            ("position_source", "title"),
            ("sso", "false"),
            ("invite_new_members", "false"),
            ("member_retention_days", retention),
        ]
    };
    let saved = console.submit(page, "/console/t/acme/settings", &form("7")).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let tenant = app.admin(Method::GET, "", None).await;
    assert_eq!(
        (
            tenant.body["member_retention_days"].clone(),
            tenant.body["invite_new_members"].clone(),
            tenant.body["sso"].clone()
        ),
        (json!(7), json!(false), json!(false)),
        "{}",
        tenant.body
    );
    let refused = console.submit(page, "/console/t/acme/settings", &form("99999")).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(app.admin(Method::GET, "", None).await.body["member_retention_days"], 7);
    assert!(console.get(page).await.body.contains("value=\"7\""));
}

#[tokio::test]
async fn members_are_filtered_by_position_and_category_value_in_the_api_and_the_console() {
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
    let app = TestApp::spawn().await;
    let city = app.admin(Method::POST, "/categories", Some(json!({"name": "City", "kind": "text"}))).await;
    assert_eq!(city.status, 201, "{}", city.body);
    for (name, title, town) in
        [("ann", "Cashier", "Oslo"), ("ben", "Cashier", "Bergen"), ("cy", "Clerk", "Oslo")]
    {
        let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
                          "userName": format!("{name}@example.com"), "title": title, EXT: {"City": town}});
        assert_eq!(app.post("/Users", &user).await.status, 201);
    }
    let names = |r: &crate::support::requests::Reply| {
        let mut v: Vec<String> = r.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["userName"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let cashiers = app.admin(Method::GET, "/members?position=cashier", None).await;
    assert_eq!(names(&cashiers), ["ann@example.com", "ben@example.com"], "{}", cashiers.body);
    let oslo = app.admin(Method::GET, "/members?category=city&category_value=Oslo", None).await;
    assert_eq!(names(&oslo), ["ann@example.com", "cy@example.com"], "{}", oslo.body);
    let both =
        app.admin(Method::GET, "/members?position=Cashier&category=City&category_value=Oslo", None).await;
    assert_eq!(names(&both), ["ann@example.com"], "{}", both.body);
    let unknown = app.admin(Method::GET, "/members?category=Shoe&category_value=42", None).await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    let half = app.admin(Method::GET, "/members?category_value=Oslo", None).await;
    assert_eq!(half.status, 400, "{}", half.body);
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let page =
        console.get("/console/t/acme/members?position=Cashier&category=City&category_value=Oslo").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("ann@example.com")
            && !page.body.contains("ben@example.com")
            && !page.body.contains("cy@example.com")
    );
}

#[tokio::test]
async fn an_access_link_is_created_in_the_console_shown_once_works_once_and_can_be_revoked() {
    let app = TestApp::spawn().await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let page = "/console/t/acme/join";
    let created = console.submit(page, &format!("{page}/links"), &[("person", "Ann at the kiosk")]).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let marker = "/join/acme#link=";
    let at = created.body.find(marker).expect("the new link is shown");
    let token: String = created.body[at + marker.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(token.len() >= 43, "{token}");
    assert!(!console.get(page).await.body.contains(&token), "shown only once");
    let register = |token: &str, user: &str| {
        let body = json!({"givenName": "Ann", "familyName": "K", "userName": user});
        app.client
            .post(format!("{}/join/v1/tenants/acme/links/{token}", app.root))
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let joined = send(register(&token, "ann.kiosk")).await;
    assert_eq!(joined.body["outcome"], "joined", "{}", joined.body);
    assert_eq!(send(register(&token, "ann.again")).await.status, 410, "single use");
    // A second link, revoked before use, admits nobody.
    let second = console.submit(page, &format!("{page}/links"), &[("email", "ben@home.example")]).await;
    let links = app.admin(Method::GET, "/join/links?state=unused", None).await;
    let id = links.body["links"][0]["id"].as_str().unwrap().to_string();
    let revoked = console.submit(page, &format!("{page}/links/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let at = second.body.find(marker).unwrap();
    let token: String = second.body[at + marker.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(send(register(&token, "ben")).await.status, 410);
    let neither = console.submit(page, &format!("{page}/links"), &[]).await;
    assert_eq!(neither.status, 400, "{}", neither.body);
}

/// The tokens of the registration URLs a console page shows, in page order.
fn shown_tokens(body: &str) -> Vec<String> {
    let marker = "/join/acme#link=";
    body.match_indices(marker)
        .map(|(at, _)| {
            body[at + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .collect()
}

/// Register through a link's token with the join API.
async fn register_with(app: &TestApp, token: &str, body: Value) -> Reply {
    send(
        app.client
            .post(format!("{}/join/v1/tenants/acme/links/{token}", app.root))
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

#[tokio::test]
async fn email_invitations_and_the_invitation_link_are_run_from_the_join_page() {
    let app = TestApp::spawn().await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let page = "/console/t/acme/join";
    let invited = console
        .submit(page, &format!("{page}/invitations"), &[("emails", "kim@home.example,\n lee@home.example")])
        .await;
    assert_eq!(invited.status, 200, "{}", invited.body);
    let tokens = shown_tokens(&invited.body);
    assert_eq!(tokens.len(), 2, "one link per address: {}", invited.body);
    assert!(invited.body.contains("kim@home.example") && invited.body.contains("lee@home.example"));
    let listed = console.get(page).await.body;
    assert!(tokens.iter().all(|t| !listed.contains(t.as_str())), "links are shown only once");
    assert_eq!(listed.matches(r#"<td class="state">pending</td>"#).count(), 2, "{listed}");

    let kim = register_with(&app, &tokens[0], json!({"givenName": "Kim", "familyName": "K"})).await;
    assert_eq!(kim.body["outcome"], "joined", "{}", kim.body);
    let listed = console.get(page).await.body;
    assert_eq!(listed.matches(r#"<td class="state">joined</td>"#).count(), 1, "{listed}");
    // Lee's invitation, withdrawn from the page, admits nobody.
    let pending = app.admin(Method::GET, "/join/invitations?state=pending", None).await;
    let lee = pending.body["invitations"][0]["id"].as_str().unwrap().to_string();
    let revoked = console.submit(page, &format!("{page}/links/{lee}/revoke"), &[]).await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let refused = register_with(&app, &tokens[1], json!({"givenName": "Lee", "familyName": "L"})).await;
    assert_eq!(refused.status, 410, "{}", refused.body);
    let bad = console
        .submit(page, &format!("{page}/invitations"), &[("emails", "<b>x</b> max@home.example")])
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body.contains("&lt;b&gt;x&lt;/b&gt;") && !bad.body.contains("<b>x</b>"),
        "named, escaped: {}",
        bad.body
    );
    let invited = app.admin(Method::GET, "/join/invitations", None).await;
    assert_eq!(
        invited.body["invitations"].as_array().map(Vec::len),
        Some(2),
        "all or none: {}",
        invited.body
    );

    // The tenant invitation link: enabled for one domain, issued, rotated; only the new one works.
    let saved = console
        .submit(page, &format!("{page}/settings"), &[("invitation_link", "on"), ("domains", "home.example")])
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(console.get(page).await.body.contains("No live invitation link."));
    let first =
        shown_tokens(&console.submit(page, &format!("{page}/invitation-link/rotate"), &[]).await.body);
    let second =
        shown_tokens(&console.submit(page, &format!("{page}/invitation-link/rotate"), &[]).await.body);
    assert_eq!((first.len(), second.len()), (1, 1));
    assert_ne!(first, second);
    assert!(console.get(page).await.body.contains("is live."));
    let person = json!({"givenName": "Mo", "familyName": "M", "email": "mo@home.example"});
    let old = register_with(&app, &first[0], person.clone()).await;
    assert!(
        old.status == 404 || old.status == 410,
        "the rotated-out link is dead: {} {}",
        old.status,
        old.body
    );
    let joined = register_with(&app, &second[0], person).await;
    assert_eq!(joined.body["outcome"], "joined", "{}", joined.body);
}

#[tokio::test]
async fn prestored_registrations_are_stored_imported_and_deleted_from_the_join_page() {
    let app = TestApp::spawn().await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let page = "/console/t/acme/join";
    let record = [("given_name", "Ada"), ("family_name", "Lovelace"), ("personal_number", "E-1001")];
    let stored = console.submit(page, &format!("{page}/prestored"), &record).await;
    assert_eq!(stored.status, 303, "{}", stored.body);
    let twice = console.submit(page, &format!("{page}/prestored"), &record).await;
    assert_eq!(twice.status, 409, "a personnel number is stored once: {}", twice.body);
    let empty = console.submit(page, &format!("{page}/prestored"), &[("given_name", "Ada")]).await;
    assert_eq!(empty.status, 400, "{}", empty.body);

    // A file: one new record and a hostile value shown as text.
    let csv = "firstname,lastname,personalid,shoe size\n<img src=x onerror=alert(1)>,Berg,E-2002,44\n";
    let token = console.get(page).await.csrf();
    let (content_type, body) = multipart(&[("_csrf", token.as_str())], csv);
    let imported = app
        .client
        .post(format!("{}{page}/prestored/import", app.root))
        .header("cookie", console.cookie.clone().unwrap())
        .header("content-type", content_type.clone())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 200);
    let report = imported.text().await.unwrap();
    assert!(report.contains("Imported: 1 rows, 1 stored"), "{report}");
    assert!(report.contains("Ignored columns: shoe size"), "{report}");
    assert!(
        report.contains("&lt;img src=x onerror=alert(1)&gt;") && !report.contains("<img src=x"),
        "escaped"
    );
    let (_, no_token) = multipart(&[], csv);
    let forged = app
        .client
        .post(format!("{}{page}/prestored/import", app.root))
        .header("cookie", console.cookie.clone().unwrap())
        .header("content-type", content_type)
        .body(no_token)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "an upload without the CSRF token is refused");

    // Ada registers with her own address: joined, and the page says registered.
    let ada = json!({"givenName": "ada", "familyName": "Lovelace", "personalNumber": "E-1001", "email": "ada@home.example"});
    let joined = send(
        app.client
            .post(format!("{}/join/v1/tenants/acme/registrations", app.root))
            .header("content-type", "application/json")
            .body(ada.to_string()),
    )
    .await;
    assert_eq!(joined.body["outcome"], "joined", "{}", joined.body);
    let listed = console.get(page).await.body;
    assert_eq!(listed.matches(r#"<td class="state">registered "#).count(), 1, "{listed}");
    assert_eq!(listed.matches(r#"<td class="state">waiting</td>"#).count(), 1, "{listed}");

    // Deleting the unused record: it is gone from the page and from the admin API.
    let all = app.admin(Method::GET, "/join/prestored?used=false", None).await;
    let berg = all.body["prestored"][0]["id"].as_str().unwrap().to_string();
    let deleted = console.submit(page, &format!("{page}/prestored/{berg}/delete"), &[]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert!(!console.get(page).await.body.contains("E-2002"));
    let none = app.admin(Method::GET, "/join/prestored?used=false", None).await;
    assert_eq!(none.body["prestored"].as_array().map(Vec::len), Some(0), "{}", none.body);
}

#[tokio::test]
async fn a_large_import_is_applied_in_the_background_with_a_progress_page() {
    use base64::Engine;
    let app = TestApp::spawn_with(|s| s.import_max_rows = 2_000).await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let mut csv = String::from("firstname,lastname,email\n");
    for i in 0..800 {
        csv.push_str(&format!("Many,Person{i},many{i}@example.com\n"));
    }
    let file = base64::engine::general_purpose::STANDARD.encode(csv.as_bytes());
    let applied = console
        .submit(
            "/console/t/acme/import",
            "/console/t/acme/import/apply",
            &[("file_name", "many.csv"), ("file", &file)],
        )
        .await;
    assert_eq!(applied.status, 303, "{}", applied.body);
    let job_page = applied.location();
    assert!(job_page.starts_with("/console/t/acme/import/jobs/"), "{job_page}");
    let page = console.get(job_page).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("4. Applying"), "{}", page.body);
    // The box polls its status until the import ended, then shows the result and stops polling.
    let mut status = String::new();
    for _ in 0..600 {
        let fragment = console.get(&format!("{job_page}/status")).await;
        assert_eq!(fragment.status, 200, "{}", fragment.body);
        status = fragment.body;
        if !status.contains("hx-trigger") {
            break;
        }
        assert!(status.contains("Importing many.csv"), "{status}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(status.contains("Applied."), "{status}");
    assert!(status.contains("create: 800"), "{status}");
    let members = app.admin(Method::GET, "/members?q=many&limit=5", None).await;
    assert_eq!(members.body["members"].as_array().map(Vec::len), Some(5), "{}", members.body);
    // A job that does not exist (or is another tenant's) is 404.
    let unknown = console.get(&format!("/console/t/acme/import/jobs/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn a_background_import_with_a_3000_character_file_name_runs_and_shows_it_escaped_and_cut() {
    use base64::Engine;
    let app = TestApp::spawn_with(|s| s.import_max_rows = 2_000).await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let mut csv = String::from("firstname,lastname,email\n");
    for i in 0..501 {
        csv.push_str(&format!("Odd,Name{i},odd{i}@example.com\n"));
    }
    let file = base64::engine::general_purpose::STANDARD.encode(csv.as_bytes());
    // (A NUL in any console form field is refused with 400 before this; see the CSRF tests.)
    let name = format!("<b>x</b>{}.csv", "n".repeat(3_000));
    let applied = console
        .submit(
            "/console/t/acme/import",
            "/console/t/acme/import/apply",
            &[("file_name", &name), ("file", &file)],
        )
        .await;
    assert_eq!(applied.status, 303, "{}", applied.body);
    let job_page = applied.location().to_string();
    let mut status = String::new();
    for _ in 0..600 {
        status = console.get(&format!("{job_page}/status")).await.body;
        if !status.contains("hx-trigger") {
            break;
        }
        assert!(status.contains("&lt;b&gt;x&lt;/b&gt;nnn") && !status.contains("<b>x</b>"), "{status}");
        assert!(!status.contains(&"n".repeat(500)), "the name is cut: {status}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(status.contains("create: 501"), "{status}");
    // The job keeps the name cut to its column, marked as cut.
    let id = job_page.rsplit('/').next().unwrap();
    let job = app.admin(Method::GET, &format!("/imports/jobs/{id}"), None).await;
    let kept = job.body["fileName"].as_str().unwrap();
    assert!(kept.starts_with("<b>x</b>nnn") && kept.ends_with('…'), "{kept}");
    assert_eq!(kept.chars().count(), 400);
}
