//! The console's webhooks and audit log pages: a receiver added through the form shows its
//! generated secret once and is then listed without it, a test event reaches a local receiver,
//! refused input is shown on the page, and every console write lands in the audit log with the
//! console session as its actor.

use chrono::Utc;
use reqwest::Method;

use crate::events::{drain, Receiver};
use crate::support::console::Console;
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

const PAGE: &str = "/console/t/acme/webhooks";

/// The first receiver's id in the admin API's listing.
async fn first_webhook(app: &TestApp) -> String {
    let r = app.admin_call(TEST_ADMIN_TOKEN, Method::GET, "/tenants/acme/webhooks", None).await;
    r.body["webhooks"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_receiver_added_in_the_console_gets_a_test_event_and_every_write_is_audited() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(0).await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;

    let added = console.submit(PAGE, PAGE, &[("url", &receiver.url), ("format", "webhook")]).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.body.contains("shown only this once"), "{}", added.body);
    let secret_at = added.body.find("whsec_").expect("the generated secret is shown");
    let secret: String = added.body[secret_at..].chars().take_while(|c| *c != '"').collect();
    let listed = console.get(PAGE).await;
    assert_eq!(listed.status, 200);
    assert!(listed.body.contains(&receiver.url), "{}", listed.body);
    assert!(!listed.body.contains(&secret), "the secret is shown again");

    let id = first_webhook(&app).await;
    let sent = console.submit(PAGE, &format!("{PAGE}/{id}/test"), &[]).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.body.contains("Test event"), "{}", sent.body);
    drain(&app, Utc::now()).await;
    let got = receiver.all();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].json()["type"], "webhook.test");

    let removed = console.submit(PAGE, &format!("{PAGE}/{id}/remove"), &[]).await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    let again = console.submit(PAGE, &format!("{PAGE}/{id}/remove"), &[]).await;
    assert_eq!(again.status, 404, "{}", again.body);
    assert!(again.body.contains("The receiver was not removed"), "{}", again.body);

    let trail = app
        .admin_call(TEST_ADMIN_TOKEN, Method::GET, "/tenants/acme/audit?actor_kind=console_session", None)
        .await;
    let entries = trail.body["entries"].as_array().unwrap();
    let routes: Vec<(&str, i64)> =
        entries.iter().map(|e| (e["route"].as_str().unwrap(), e["status"].as_i64().unwrap())).collect();
    assert_eq!(
        routes,
        [
            ("/console/t/{tenant}/webhooks/{webhook}/remove", 404),
            ("/console/t/{tenant}/webhooks/{webhook}/remove", 204),
            ("/console/t/{tenant}/webhooks/{webhook}/test", 202),
            ("/console/t/{tenant}/webhooks", 201),
        ],
        "{}",
        trail.body
    );
    assert!(!trail.body.to_string().contains(&secret));

    let page = console.get("/console/t/acme/audit").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("/console/t/{tenant}/webhooks/{webhook}/test"), "{}", page.body);
    let failures = console.get("/console/t/acme/audit?actor_kind=&outcome=failure").await;
    assert_eq!(failures.status, 200, "{}", failures.body);
    assert!(!failures.body.contains("sent a test event"), "{}", failures.body);
    assert!(failures.body.contains("refused (404)"), "{}", failures.body);
}

#[tokio::test]
async fn refused_receivers_are_explained_on_the_page_and_forged_forms_change_nothing() {
    let app = TestApp::spawn_with(|s| s.webhook_allow_private = false).await;
    let mut console = Console::sign_in(&app, TEST_ADMIN_TOKEN).await;
    let refused =
        console.submit(PAGE, PAGE, &[("url", "http://127.0.0.1:9/hook"), ("format", "webhook")]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("ROSTER_WEBHOOK_ALLOW_PRIVATE"), "{}", refused.body);
    let hostile = "https://h.example.com/<script>alert(1)</script>";
    let page = console.submit(PAGE, PAGE, &[("url", hostile), ("format", "set")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert(1)"), "{}", page.body);
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    let r = app.admin_call(TEST_ADMIN_TOKEN, Method::GET, "/tenants/acme/webhooks", None).await;
    assert_eq!(r.body["webhooks"].as_array().unwrap().len(), 1, "{}", r.body);

    // Without the form's CSRF token nothing is added.
    let forged = console.post(PAGE, &[("url", "https://h.example.com/x"), ("format", "webhook")]).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
}
