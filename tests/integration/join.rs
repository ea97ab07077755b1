//! The join API (issue #12) end to end over HTTP: each of the four doors (pre-stored match and
//! mismatch, access links used twice and by ten concurrent registrations, the invitation link's
//! allowed domains, email invitations pending → joined, access requests approved and denied with
//! their events), answers that do not reveal existing members, 429 with `Retry-After`, tenant
//! admins kept to their own tenant, hostile input, and the hosted page's escaping.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::requests::{send, Reply};
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

async fn admin_as(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut req = app.client.request(method, format!("{}/admin/v1{path}", app.root)).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    send(req).await
}

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    admin_as(app, TEST_ADMIN_TOKEN, method, &format!("/tenants/acme{path}"), body).await
}

async fn public(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut req = app.client.request(method, format!("{}/join/v1/tenants/{path}", app.root));
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    send(req).await
}

fn person(given: &str, family: &str, email: &str) -> Value {
    json!({"givenName": given, "familyName": family, "email": email})
}

/// Create an access link (201) and return its token.
async fn access_link(app: &TestApp, body: Value) -> String {
    let r = admin(app, Method::POST, "/join/links", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["pageUrl"].as_str().unwrap().contains("/join/acme#link="), "{}", r.body);
    r.body["token"].as_str().unwrap().to_string()
}

/// Members who joined through the join API, as the admin API shows them.
async fn registered(app: &TestApp) -> Vec<Value> {
    let r = admin(app, Method::GET, "/members?origin=registration", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["members"].as_array().unwrap().clone()
}

/// The kinds of the tenant's outbox events, in order.
async fn event_kinds(app: &TestApp) -> Vec<String> {
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::db::tenants::tenant_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    roster::db::events::list(&mut conn, tenant.id).await.unwrap().into_iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn a_prestored_registration_joins_on_an_exact_match_and_a_mismatch_is_refused() {
    let app = TestApp::spawn().await;
    let group = app.create_group("Night shift", &[]).await;
    let stored = admin(
        &app,
        Method::POST,
        "/join/prestored",
        Some(json!({"givenName": "Ada", "familyName": "Lovelace", "personalNumber": "E-1001", "groups": [group]})),
    )
    .await;
    assert_eq!(stored.status, 201, "{}", stored.body);
    let offer = public(&app, Method::GET, "acme", None).await;
    assert_eq!(offer.status, 200, "{}", offer.body);
    assert_eq!(offer.body["tenant"]["displayName"], "Test tenant");

    // Case and surrounding whitespace are forgiven; nothing else is.
    let mismatch = json!({"givenName": "Ada", "familyName": "Lovelace", "personalNumber": "E-1002", "email": "ada@home.example"});
    let refused = public(&app, Method::POST, "acme/registrations", Some(mismatch)).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.body["outcome"], "refused");
    let inner = json!({"givenName": "A da", "familyName": "Lovelace", "personalNumber": "E-1001", "email": "ada@home.example"});
    let refused_inner = public(&app, Method::POST, "acme/registrations", Some(inner)).await;
    assert_eq!(refused_inner.body, refused.body, "one refusal, whichever value differs");
    assert!(registered(&app).await.is_empty());

    let exact = json!({"givenName": "  ada ", "familyName": "LOVELACE", "personalNumber": " e-1001", "email": "ada@home.example"});
    let joined = public(&app, Method::POST, "acme/registrations", Some(exact.clone())).await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    assert_eq!(joined.body["outcome"], "joined");
    let members = registered(&app).await;
    assert_eq!(members.len(), 1);
    let m = &members[0];
    assert_eq!((m["status"].as_str(), m["role"].as_str()), (Some("active"), Some("member")), "{m}");
    assert_eq!(m["personalId"], "E-1001");
    assert!(m["invitation"]["joinedAt"].is_string(), "{m}");
    assert_eq!(m["groups"][0]["id"], group.as_str());
    // The record is used now: the same data is refused exactly like a mismatch.
    let again = public(&app, Method::POST, "acme/registrations", Some(exact)).await;
    assert_eq!((again.status, &again.body), (refused.status, &refused.body));
    let used = admin(&app, Method::GET, "/join/prestored?used=true", None).await;
    assert_eq!(used.body["prestored"][0]["memberId"], m["id"]);
    let kinds = event_kinds(&app).await;
    assert!(
        kinds.contains(&"member.created".to_string()) && kinds.contains(&"membership.added".to_string()),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn an_access_link_works_once_and_lists_as_used() {
    let app = TestApp::spawn().await;
    let token = access_link(&app, json!({"person": "Bo at the depot", "expiresInDays": 7})).await;
    let offer = public(&app, Method::GET, &format!("acme/links/{token}"), None).await;
    assert_eq!(
        (offer.status.as_u16(), offer.body["door"].as_str()),
        (200, Some("access_link")),
        "{}",
        offer.body
    );
    let path = format!("acme/links/{token}");
    let first = public(
        &app,
        Method::POST,
        &path,
        Some(json!({"givenName": "Bo", "familyName": "Berg", "userName": "bo.berg"})),
    )
    .await;
    assert_eq!(
        (first.status.as_u16(), first.body["outcome"].as_str()),
        (200, Some("joined")),
        "{}",
        first.body
    );
    let second = public(&app, Method::POST, &path, Some(person("Eve", "Evil", "eve@evil.example"))).await;
    assert!(second.assert_error(410, None).contains("already used"));
    public(&app, Method::GET, &path, None).await.assert_error(410, None);
    assert_eq!(registered(&app).await.len(), 1);
    let used = admin(&app, Method::GET, "/join/links?state=used", None).await;
    assert_eq!(used.body["links"].as_array().unwrap().len(), 1, "{}", used.body);
    assert!(used.body["links"][0]["memberId"].is_string());
    assert!(used.body["links"][0].get("token").is_none(), "the token is shown only at creation");
    let unused = admin(&app, Method::GET, "/join/links?state=unused", None).await;
    assert_eq!(unused.body["links"], json!([]));

    // Revoked links and unknown tokens are refused too.
    let revoked = access_link(&app, json!({"email": "cy@home.example"})).await;
    let listed = admin(&app, Method::GET, "/join/links?state=unused", None).await;
    let id = listed.body["links"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(admin(&app, Method::DELETE, &format!("/join/links/{id}"), None).await.status, 204);
    let r = public(
        &app,
        Method::POST,
        &format!("acme/links/{revoked}"),
        Some(person("Cy", "C", "cy@home.example")),
    )
    .await;
    r.assert_error(410, None);
    let unknown =
        public(&app, Method::GET, "acme/links/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", None).await;
    unknown.assert_error(404, None);
}

#[tokio::test]
async fn ten_concurrent_registrations_through_one_link_admit_exactly_one() {
    let app = TestApp::spawn().await;
    let token = access_link(&app, json!({"person": "Shared by mistake"})).await;
    let path = format!("acme/links/{token}");
    let attempts = (0..10).map(|i| {
        let body = person("Racer", &format!("No{i}"), &format!("racer{i}@home.example"));
        public(&app, Method::POST, &path, Some(body))
    });
    let replies = futures_util::future::join_all(attempts).await;
    let joined = replies.iter().filter(|r| r.status == 200 && r.body["outcome"] == "joined").count();
    let gone = replies.iter().filter(|r| r.status == 410).count();
    assert_eq!(
        (joined, gone),
        (1, 9),
        "{:?}",
        replies.iter().map(|r| (r.status, &r.body)).collect::<Vec<_>>()
    );
    assert_eq!(registered(&app).await.len(), 1);
}

#[tokio::test]
async fn the_invitation_link_admits_only_the_allowed_domains() {
    let app = TestApp::spawn().await;
    let settings = admin(
        &app,
        Method::PATCH,
        "/join/settings",
        Some(json!({"invitationLinkEnabled": true, "allowedDomains": ["@Example.com"]})),
    )
    .await;
    assert_eq!(settings.body["allowedDomains"], json!(["example.com"]), "{}", settings.body);
    let issued = admin(&app, Method::POST, "/join/invitation-link", None).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let token = issued.body["token"].as_str().unwrap().to_string();
    let path = format!("acme/links/{token}");
    let offer = public(&app, Method::GET, &path, None).await;
    assert_eq!(offer.body["door"], "invitation_link");
    assert_eq!(offer.body["allowedDomains"], json!(["example.com"]));

    let outside = public(&app, Method::POST, &path, Some(person("Out", "Sider", "out@other.example"))).await;
    assert_eq!((outside.status.as_u16(), outside.body["outcome"].as_str()), (403, Some("refused")));
    assert!(outside.body["reason"].as_str().unwrap().contains("example.com"));
    for (i, email) in ["in@example.com", "also@EXAMPLE.com"].iter().enumerate() {
        let r = public(&app, Method::POST, &path, Some(person("In", &format!("Sider{i}"), email))).await;
        assert_eq!(r.body["outcome"], "joined", "the link is reusable: {}", r.body);
    }
    assert_eq!(registered(&app).await.len(), 2);

    // Rotating retires the old token; switching off stops the new one.
    let rotated = admin(&app, Method::POST, "/join/invitation-link", None).await;
    let new_path = format!("acme/links/{}", rotated.body["token"].as_str().unwrap());
    public(&app, Method::GET, &path, None).await.assert_error(410, None);
    assert_eq!(public(&app, Method::GET, &new_path, None).await.status, 200);
    admin(&app, Method::PATCH, "/join/settings", Some(json!({"invitationLinkEnabled": false}))).await;
    public(&app, Method::GET, &new_path, None).await.assert_error(410, None);
}

#[tokio::test]
async fn email_invitations_are_pending_until_the_person_registers() {
    let app = TestApp::spawn().await;
    let made = admin(
        &app,
        Method::POST,
        "/join/invitations",
        Some(json!({"emails": ["kim@home.example", "lee@home.example"], "expiresInDays": 14})),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let token_of = |i: usize| made.body["invitations"][i]["token"].as_str().unwrap().to_string();
    let pending = admin(&app, Method::GET, "/join/invitations?state=pending", None).await;
    assert_eq!(pending.body["invitations"].as_array().unwrap().len(), 2);

    // Kim registers without typing the address: the invitation's is used.
    let kim = public(
        &app,
        Method::POST,
        &format!("acme/links/{}", token_of(0)),
        Some(json!({"givenName": "Kim", "familyName": "K"})),
    )
    .await;
    assert_eq!(kim.body["outcome"], "joined", "{}", kim.body);
    let members = registered(&app).await;
    assert_eq!(members[0]["email"], "kim@home.example");
    // Lee's invitation does not admit another address.
    let other = public(
        &app,
        Method::POST,
        &format!("acme/links/{}", token_of(1)),
        Some(person("Lee", "L", "someone@else.example")),
    )
    .await;
    assert_eq!(other.body["outcome"], "refused", "{}", other.body);

    let joined = admin(&app, Method::GET, "/join/invitations?state=joined", None).await;
    let joined = joined.body["invitations"].as_array().unwrap().clone();
    assert_eq!(joined.len(), 1);
    assert_eq!(
        (joined[0]["email"].as_str(), &joined[0]["memberId"]),
        (Some("kim@home.example"), &members[0]["id"])
    );
    let still = admin(&app, Method::GET, "/join/invitations?state=pending", None).await;
    assert_eq!(still.body["invitations"][0]["email"], "lee@home.example");
}

#[tokio::test]
async fn access_requests_are_approved_or_denied_with_their_events() {
    let app = TestApp::spawn().await;
    let closed =
        public(&app, Method::POST, "acme/requests", Some(person("Ann", "A", "ann@home.example"))).await;
    closed.assert_error(403, None);
    admin(&app, Method::PATCH, "/join/settings", Some(json!({"requestsEnabled": true}))).await;
    let ann = public(&app, Method::POST, "acme/requests", Some(person("Ann", "A", "ann@home.example"))).await;
    let ben = public(&app, Method::POST, "acme/requests", Some(person("Ben", "B", "ben@home.example"))).await;
    for r in [&ann, &ben] {
        assert_eq!((r.status.as_u16(), r.body["outcome"].as_str()), (200, Some("pending")), "{}", r.body);
    }
    let ticket = |r: &Reply| format!("acme/requests/{}", r.body["ticket"].as_str().unwrap());
    assert_eq!(public(&app, Method::GET, &ticket(&ann), None).await.body["outcome"], "pending");
    assert!(registered(&app).await.is_empty(), "nobody joins before an admin decides");

    let listed = admin(&app, Method::GET, "/join/requests?state=pending&q=ANN", None).await;
    let list = listed.body["requests"].as_array().unwrap().clone();
    assert_eq!(list.len(), 1, "{}", listed.body);
    let ann_id = list[0]["id"].as_str().unwrap().to_string();
    let all = admin(&app, Method::GET, "/join/requests?state=pending", None).await;
    let ben_id =
        all.body["requests"].as_array().unwrap().iter().find(|r| r["email"] == "ben@home.example").unwrap()
            ["id"]
            .as_str()
            .unwrap()
            .to_string();

    let approved = admin(&app, Method::POST, &format!("/join/requests/{ann_id}/approve"), None).await;
    assert_eq!(
        (approved.status.as_u16(), approved.body["state"].as_str()),
        (200, Some("approved")),
        "{}",
        approved.body
    );
    let denied = admin(
        &app,
        Method::POST,
        &format!("/join/requests/{ben_id}/deny"),
        Some(json!({"reason": "Not on staff"})),
    )
    .await;
    assert_eq!(denied.body["state"], "denied", "{}", denied.body);
    admin(&app, Method::POST, &format!("/join/requests/{ben_id}/approve"), None)
        .await
        .assert_error(409, None);

    assert_eq!(public(&app, Method::GET, &ticket(&ann), None).await.body["outcome"], "joined");
    let ben_outcome = public(&app, Method::GET, &ticket(&ben), None).await;
    assert_eq!(
        (ben_outcome.body["outcome"].as_str(), ben_outcome.body["reason"].as_str()),
        (Some("refused"), Some("Not on staff"))
    );
    let members = registered(&app).await;
    assert_eq!(members.len(), 1);
    assert_eq!(
        (members[0]["email"].as_str(), &members[0]["id"]),
        (Some("ann@home.example"), &approved.body["memberId"])
    );

    let kinds = event_kinds(&app).await;
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    assert_eq!(
        (
            count("access_request.created"),
            count("access_request.approved"),
            count("access_request.denied"),
            count("member.created")
        ),
        (2, 1, 1, 1),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn answers_do_not_reveal_who_is_already_a_member() {
    let app = TestApp::spawn().await;
    app.create_user("known@home.example").await;
    let (a, b) =
        (access_link(&app, json!({"person": "A"})).await, access_link(&app, json!({"person": "B"})).await);
    let started = std::time::Instant::now();
    let known = public(
        &app,
        Method::POST,
        &format!("acme/links/{a}"),
        Some(person("K", "Nown", "known@home.example")),
    )
    .await;
    let known_took = started.elapsed();
    let started = std::time::Instant::now();
    let new =
        public(&app, Method::POST, &format!("acme/links/{b}"), Some(person("N", "Ew", "new@home.example")))
            .await;
    let new_took = started.elapsed();
    assert_eq!((known.status, &known.body), (new.status, &new.body), "same status and body");
    // Neither answers before the floor, so the existing member's (which writes nothing) is not
    // the quick one.
    for took in [known_took, new_took] {
        assert!(took >= roster::http::join::ANSWER_FLOOR, "answered after {took:?}");
    }
    // Nothing was written for the existing member: one registration.
    assert_eq!(registered(&app).await.len(), 1);

    // Pre-stored: an unknown personnel number and a wrong name for a known one answer alike.
    admin(
        &app,
        Method::POST,
        "/join/prestored",
        Some(json!({"givenName": "P", "familyName": "Q", "personalNumber": "77"})),
    )
    .await;
    let wrong_name =
        json!({"givenName": "X", "familyName": "Q", "personalNumber": "77", "email": "x@home.example"});
    let unknown =
        json!({"givenName": "P", "familyName": "Q", "personalNumber": "78", "email": "x@home.example"});
    let r1 = public(&app, Method::POST, "acme/registrations", Some(wrong_name)).await;
    let r2 = public(&app, Method::POST, "acme/registrations", Some(unknown)).await;
    assert_eq!((r1.status, &r1.body), (r2.status, &r2.body));

    // Access requests: an existing member's request is pending like anyone's.
    admin(&app, Method::PATCH, "/join/settings", Some(json!({"requestsEnabled": true}))).await;
    let k =
        public(&app, Method::POST, "acme/requests", Some(person("K", "Nown", "known@home.example"))).await;
    let n = public(&app, Method::POST, "acme/requests", Some(person("N", "Ew2", "new2@home.example"))).await;
    let shape = |r: &Reply| {
        let mut keys: Vec<String> = r.body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (r.status, r.body["outcome"].clone(), r.body["detail"].clone(), keys)
    };
    assert_eq!(shape(&k), shape(&n));
}

#[tokio::test]
async fn the_join_api_answers_429_with_retry_after_per_ip_and_per_tenant() {
    let app = TestApp::spawn_with(|s| s.join_rate_ip_per_min = 3).await;
    for _ in 0..3 {
        assert_eq!(public(&app, Method::GET, "acme", None).await.status, 200);
    }
    let limited =
        public(&app, Method::POST, "acme/registrations", Some(person("A", "B", "a@b.example"))).await;
    limited.assert_error(429, None);
    assert!(limited.header("retry-after").parse::<u64>().unwrap() >= 1);

    let app = TestApp::spawn_with(|s| s.join_rate_tenant_per_min = 2).await;
    app.new_tenant("beta").await;
    for _ in 0..2 {
        assert_eq!(public(&app, Method::GET, "acme", None).await.status, 200);
    }
    let limited = public(&app, Method::GET, "acme/links/whatever", None).await;
    limited.assert_error(429, None);
    assert!(limited.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert_eq!(public(&app, Method::GET, "beta", None).await.status, 200, "another tenant is not limited");
}

#[tokio::test]
async fn a_tenant_admin_of_another_tenant_can_neither_see_nor_act() {
    let app = TestApp::spawn().await;
    app.new_tenant("beta").await;
    let issued = admin_as(&app, TEST_ADMIN_TOKEN, Method::POST, "/tenants/beta/admin-tokens", None).await;
    let beta = issued.body["token"].as_str().unwrap().to_string();
    admin(&app, Method::PATCH, "/join/settings", Some(json!({"requestsEnabled": true}))).await;
    public(&app, Method::POST, "acme/requests", Some(person("Ann", "A", "ann@home.example"))).await;
    let pending = admin(&app, Method::GET, "/join/requests", None).await;
    let id = pending.body["requests"][0]["id"].as_str().unwrap().to_string();
    access_link(&app, json!({"person": "P"})).await;
    let links = admin(&app, Method::GET, "/join/links", None).await;
    let link_id = links.body["links"][0]["id"].as_str().unwrap().to_string();

    for (method, path, body) in [
        (Method::GET, "/join/settings".to_string(), None),
        (Method::PATCH, "/join/settings".to_string(), Some(json!({"requestsEnabled": false}))),
        (Method::GET, "/join/links".to_string(), None),
        (Method::POST, "/join/links".to_string(), Some(json!({"person": "X"}))),
        (Method::DELETE, format!("/join/links/{link_id}"), None),
        (Method::GET, "/join/prestored".to_string(), None),
        (Method::GET, "/join/requests".to_string(), None),
        (Method::POST, format!("/join/requests/{id}/approve"), None),
        (Method::POST, format!("/join/requests/{id}/deny"), Some(json!({"reason": "x"}))),
        (Method::POST, "/join/invitation-link".to_string(), None),
    ] {
        let r = admin_as(&app, &beta, method.clone(), &format!("/tenants/acme{path}"), body).await;
        r.assert_error(404, None);
    }
    // Nothing changed in acme.
    let after = admin(&app, Method::GET, "/join/requests?state=pending", None).await;
    assert_eq!(after.body["requests"].as_array().unwrap().len(), 1);
    assert_eq!(
        admin(&app, Method::GET, "/join/links?state=unused", None).await.body["links"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(admin(&app, Method::GET, "/join/settings", None).await.body["requestsEnabled"], true);
    // Beta's own token works on beta.
    assert_eq!(admin_as(&app, &beta, Method::GET, "/tenants/beta/join/settings", None).await.status, 200);
}

#[tokio::test]
async fn hostile_input_is_refused_with_400() {
    let app = TestApp::spawn().await;
    admin(&app, Method::PATCH, "/join/settings", Some(json!({"requestsEnabled": true}))).await;
    let long = "x".repeat(3000);
    for body in [
        json!({"givenName": "A\u{0}B", "familyName": "C", "email": "a@b.example"}),
        json!({"givenName": long, "familyName": "C", "email": "a@b.example"}),
        json!({"givenName": "A", "familyName": "C", "email": format!("{long}@b.example")}),
        json!({"givenName": "A", "familyName": "C", "email": "a@b.example", "isAdmin": true}),
        json!({"givenName": "A", "familyName": "C", "email": "a@b.example", "categories": {"Secret": "x"}}),
        json!({"givenName": "A", "familyName": "C"}),
    ] {
        let r = public(&app, Method::POST, "acme/requests", Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
    let not_json = send(
        app.client
            .post(format!("{}/join/v1/tenants/acme/requests", app.root))
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    not_json.assert_error(400, Some("invalidSyntax"));
    let nul_path = send(app.client.get(format!("{}/join/v1/tenants/acme/links/ab%00cd", app.root))).await;
    nul_path.assert_error(400, None);
    let nul_page = send(app.client.get(format!("{}/join/ac%00me", app.root))).await;
    nul_page.assert_error(400, None);
    let long_token = public(&app, Method::GET, &format!("acme/links/{}", "A".repeat(3000)), None).await;
    long_token.assert_error(404, None);
    let form_post = send(
        app.client
            .post(format!("{}/join/v1/tenants/acme/requests", app.root))
            .header("content-type", "text/plain")
            .body(person("A", "B", "a@b.example").to_string()),
    )
    .await;
    form_post.assert_error(415, None);
    // The admin side too.
    for (path, body) in [
        ("/join/prestored", json!({"givenName": long, "familyName": "B", "personalNumber": "1"})),
        ("/join/prestored", json!({"givenName": "A\u{0}", "familyName": "B", "personalNumber": "1"})),
        ("/join/links", json!({"person": long})),
        ("/join/links", json!({"email": "not an address"})),
        ("/join/invitations", json!({"emails": []})),
    ] {
        let r = admin(&app, Method::POST, path, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{path} {body}: {}", r.body);
    }
    let r =
        admin(&app, Method::PATCH, "/join/settings", Some(json!({"allowedDomains": ["exa mple.com"]}))).await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn prestored_registrations_import_from_csv_matching_on_the_personnel_number() {
    let app = TestApp::spawn().await;
    let csv = "firstname,lastname,personalid,email\nAda,Lovelace,E-1,ada@x.example\nBo,Berg,E-2,\n";
    let r = send(
        app.client
            .post(format!("{}/admin/v1/tenants/acme/join/prestored/import", app.root))
            .bearer_auth(TEST_ADMIN_TOKEN)
            .header("content-type", "text/csv")
            .body(csv),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["written"].as_u64(), &r.body["ignoredColumns"]), (Some(2), &json!(["email"])));
    // A second file replaces E-2's name (matched on the personnel number) and adds nothing.
    let again = send(
        app.client
            .post(format!("{}/admin/v1/tenants/acme/join/prestored/import", app.root))
            .bearer_auth(TEST_ADMIN_TOKEN)
            .body("First Name;Last Name;Personal ID\nBob;Berg;e-2\n"),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
    let all = admin(&app, Method::GET, "/join/prestored", None).await;
    let names: Vec<&str> =
        all.body["prestored"].as_array().unwrap().iter().map(|p| p["givenName"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{}", all.body);
    assert!(names.contains(&"Bob") && !names.contains(&"Bo"), "{names:?}");
    let joined = public(
        &app,
        Method::POST,
        "acme/registrations",
        Some(json!({"givenName": "bob", "familyName": "berg", "personalNumber": "E-2", "userName": "bob.berg"})),
    )
    .await;
    assert_eq!(joined.body["outcome"], "joined", "{}", joined.body);
}

#[tokio::test]
async fn the_hosted_page_escapes_the_tenant_name_and_loads_nothing_from_elsewhere() {
    let app = TestApp::spawn().await;
    let created = admin_as(
        &app,
        TEST_ADMIN_TOKEN,
        Method::POST,
        "/tenants",
        Some(json!({"slug": "evil", "name": "<script>alert('x')</script> & \"Co\""})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let res = app.client.get(format!("{}/join/evil", app.root)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;"), "{html}");
    assert!(!html.contains("<script>alert"), "unescaped name");
    assert!(!html.contains("http://") && !html.contains("https://"), "no assets from elsewhere");
    assert_eq!(app.client.get(format!("{}/join/nobody", app.root)).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_registration_restores_a_removed_member_and_takes_self_editable_categories() {
    let app = TestApp::spawn().await;
    let city = admin(
        &app,
        Method::POST,
        "/categories",
        Some(json!({"name": "City", "kind": "dropdown", "allowed_values": ["Oslo", "Bergen"]})),
    )
    .await;
    assert_eq!(city.status, 201, "{}", city.body);
    let s =
        admin(&app, Method::PATCH, "/join/settings", Some(json!({"selfEditableCategories": ["city"]}))).await;
    assert_eq!(s.body["selfEditableCategories"], json!(["City"]), "{}", s.body);
    let old = app.create_user("back@home.example").await;
    assert_eq!(app.delete(&format!("/Users/{old}")).await.status, 204);

    let token = access_link(&app, json!({"email": "back@home.example"})).await;
    let offer = public(&app, Method::GET, &format!("acme/links/{token}"), None).await;
    assert_eq!(offer.body["categories"][0]["name"], "City", "{}", offer.body);
    assert_eq!(offer.body["email"], "back@home.example");
    let body = json!({"givenName": "Bea", "familyName": "Back", "categories": {"city": "oslo"}});
    let r = public(&app, Method::POST, &format!("acme/links/{token}"), Some(body)).await;
    assert_eq!(r.body["outcome"], "joined", "{}", r.body);
    let members = registered(&app).await;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["id"], old.as_str(), "the removed member came back under its id");
    assert_eq!(members[0]["status"], "active");
    assert_eq!(members[0]["categories"]["City"], "Oslo", "{}", members[0]);
    assert_eq!(app.get(&format!("/Users/{old}")).await.status, 200, "visible to SCIM again");
}

#[tokio::test]
async fn decided_requests_and_ended_links_are_deleted_after_the_tenants_retention() {
    let app = TestApp::spawn().await;
    admin(&app, Method::PATCH, "/join/settings", Some(json!({"requestsEnabled": true}))).await;
    for who in [("Ann", "ann@home.example"), ("Ben", "ben@home.example")] {
        let r = public(&app, Method::POST, "acme/requests", Some(person(who.0, "X", who.1))).await;
        assert_eq!(r.body["outcome"], "pending", "{}", r.body);
    }
    let pending = admin(&app, Method::GET, "/join/requests?state=pending&q=ann", None).await;
    let ann = pending.body["requests"][0]["id"].as_str().unwrap().to_string();
    let denied =
        admin(&app, Method::POST, &format!("/join/requests/{ann}/deny"), Some(json!({"reason": "no"}))).await;
    assert_eq!(denied.status, 200, "{}", denied.body);
    access_link(&app, json!({"person": "Cy at the kiosk"})).await;
    let links = admin(&app, Method::GET, "/join/links", None).await;
    let cy = links.body["links"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(admin(&app, Method::DELETE, &format!("/join/links/{cy}"), None).await.status, 204);
    let invited =
        admin(&app, Method::POST, "/join/invitations", Some(json!({"emails": ["dee@home.example"]}))).await;
    assert_eq!(invited.status, 201, "{}", invited.body);

    let count = |path: &'static str, key: &'static str| {
        let app = &app;
        async move { admin(app, Method::GET, path, None).await.body[key].as_array().map_or(0, Vec::len) }
    };
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let now = chrono::Utc::now();
    // Within the tenant's retention (30 days by default): nothing goes.
    assert_eq!(roster::startup::prune_join(&mut conn, now + chrono::Duration::days(29)).await.unwrap(), 0);
    assert_eq!(count("/join/requests", "requests").await, 2);
    // Past it: the denied request (Ann's data) and the revoked link go; Ben's pending request and
    // Dee's live invitation stay however old.
    assert_eq!(roster::startup::prune_join(&mut conn, now + chrono::Duration::days(31)).await.unwrap(), 2);
    let left = admin(&app, Method::GET, "/join/requests", None).await;
    let left = left.body["requests"].as_array().unwrap().clone();
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0]["email"].as_str(), left[0]["state"].as_str()),
        (Some("ben@home.example"), Some("pending"))
    );
    assert_eq!(count("/join/links", "links").await, 0, "the revoked access link is gone");
    assert_eq!(count("/join/invitations?state=pending", "invitations").await, 1, "a live invitation stays");
    assert_eq!(roster::startup::prune_join(&mut conn, now + chrono::Duration::days(400)).await.unwrap(), 0);
}

#[tokio::test]
async fn concurrent_registrations_of_one_identity_all_answer_joined_and_make_one_member() {
    let app = TestApp::spawn().await;
    admin(
        &app,
        Method::PATCH,
        "/join/settings",
        Some(json!({"invitationLinkEnabled": true, "allowedDomains": ["home.example"]})),
    )
    .await;
    let issued = admin(&app, Method::POST, "/join/invitation-link", None).await;
    let path = format!("acme/links/{}", issued.body["token"].as_str().unwrap());
    // Rounds of eight at once: each round races its registrations past the "already a member"
    // probe into the insert, where all but one meet the unique index.
    for round in 0..3 {
        let email = format!("twin{round}@home.example");
        let attempts = (0..8).map(|_| public(&app, Method::POST, &path, Some(person("Twin", "T", &email))));
        let replies = futures_util::future::join_all(attempts).await;
        for r in &replies {
            assert_eq!(
                (r.status.as_u16(), &r.body),
                (replies[0].status.as_u16(), &replies[0].body),
                "every answer alike, whoever won: {:?}",
                replies.iter().map(|r| (r.status, &r.body)).collect::<Vec<_>>()
            );
        }
        assert_eq!(replies[0].body["outcome"], "joined", "{}", replies[0].body);
    }
    let members = registered(&app).await;
    assert_eq!(members.len(), 3, "one member per identity: {members:?}");
}
