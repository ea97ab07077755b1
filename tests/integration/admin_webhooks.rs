//! Webhooks through the admin API: added with the CLI's rules (egress control, no credentials
//! in URLs), listed with their delivery state and never a secret, test events delivered to a
//! local receiver, failing and rejected deliveries visible.

use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};

use crate::events::{dispatch_once, drain, verify, Receiver, SECRET};
use crate::support::requests::Reply;
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

async fn op(app: &TestApp, method: Method, rest: &str, body: Option<Value>) -> Reply {
    let path = format!("/tenants/{}{rest}", app.creds.tenant);
    app.admin_call(TEST_ADMIN_TOKEN, method, &path, body.as_ref()).await
}

async fn add(app: &TestApp, body: Value) -> Value {
    let r = op(app, Method::POST, "/webhooks", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

#[tokio::test]
async fn a_test_event_reaches_a_local_receiver_signed() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(0).await;
    let hook = add(&app, json!({"url": receiver.url, "secret": SECRET})).await;
    // A secret the caller chose is not sent back.
    assert!(hook.get("secret").is_none(), "{hook}");
    assert_eq!(hook["format"], "webhook");
    let id = hook["id"].as_str().unwrap();

    let r = op(&app, Method::POST, &format!("/webhooks/{id}/test"), None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["kind"], "webhook.test");
    let event_id = r.body["event_id"].as_str().unwrap().to_string();
    let list = op(&app, Method::GET, "/webhooks", None).await;
    assert_eq!(list.body["webhooks"][0]["delivery"]["state"], "pending", "{}", list.body);

    drain(&app, Utc::now()).await;
    let got = receiver.all();
    assert_eq!(got.len(), 1, "{got:?}");
    verify(&got[0]);
    assert_eq!(got[0].event_id, event_id);
    assert_eq!(got[0].json()["type"], "webhook.test");
    assert_eq!(got[0].json()["data"]["webhook_id"], id);

    let d = op(&app, Method::GET, &format!("/webhooks/{id}/deliveries"), None).await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(d.body["deliveries"][0]["event_id"], event_id.as_str());
    assert_eq!(d.body["deliveries"][0]["state"], "delivered");
    assert_eq!(d.body["delivery"]["state"], "ok");
    let list = op(&app, Method::GET, "/webhooks", None).await;
    assert_eq!(list.body["webhooks"][0]["delivery"]["pending"], 0, "{}", list.body);
}

#[tokio::test]
async fn a_generated_secret_is_shown_once_and_never_listed() {
    let app = TestApp::spawn().await;
    let hook = add(&app, json!({"url": "https://hooks.example.com/roster"})).await;
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{hook}");
    let set =
        add(&app, json!({"url": "https://set.example.com/events", "format": "set", "audience": "urn:x"}))
            .await;
    assert!(set.get("secret").is_none(), "{set}");
    assert_eq!(set["audience"], "urn:x");

    let list = op(&app, Method::GET, "/webhooks", None).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["webhooks"].as_array().unwrap().len(), 2);
    assert!(!list.body.to_string().contains(&secret), "{}", list.body);
    assert!(list.body["webhooks"][0].get("secret").is_none());

    // Inputs the CLI refuses are refused here too.
    for bad in [
        json!({"url": "https://hooks.example.com/x", "format": "set", "secret": SECRET}),
        json!({"url": "https://hooks.example.com/x", "audience": "urn:x"}),
        json!({"url": "https://hooks.example.com/x", "secret": "short"}),
        json!({"url": "ftp://hooks.example.com/x"}),
        json!({"url": format!("https://hooks.example.com/{}", "a".repeat(3000))}),
        json!({"url": "https://hooks.example.com/x", "format": "xml"}),
        json!({"url": "https://hooks.example.com/\u{0}"}),
        json!({"url": "https://user:password@hooks.example.com/x"}),
    ] {
        let r = op(&app, Method::POST, "/webhooks", Some(bad.clone())).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let list = op(&app, Method::GET, "/webhooks", None).await;
    assert_eq!(list.body["webhooks"].as_array().unwrap().len(), 2);

    let id = hook["id"].as_str().unwrap();
    assert_eq!(op(&app, Method::DELETE, &format!("/webhooks/{id}"), None).await.status, 204);
    assert_eq!(op(&app, Method::DELETE, &format!("/webhooks/{id}"), None).await.status, 404);
    assert_eq!(op(&app, Method::POST, &format!("/webhooks/{id}/test"), None).await.status, 404);
    assert_eq!(op(&app, Method::GET, &format!("/webhooks/{id}/deliveries"), None).await.status, 404);
}

#[tokio::test]
async fn private_receivers_are_refused_unless_allowed() {
    let strict = TestApp::spawn_with(|s| s.webhook_allow_private = false).await;
    for url in
        ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "http://10.0.0.5/", "http://localhost/x"]
    {
        let r = op(&strict, Method::POST, "/webhooks", Some(json!({"url": url}))).await;
        assert_eq!(r.status, 400, "{url}: {}", r.body);
        assert!(r.body["detail"].as_str().unwrap().contains("ROSTER_WEBHOOK_ALLOW_PRIVATE"), "{}", r.body);
    }
    assert_eq!(op(&strict, Method::GET, "/webhooks", None).await.body["webhooks"], json!([]));

    let allowed = TestApp::spawn().await;
    add(&allowed, json!({"url": "http://127.0.0.1:9/hook"})).await;
}

#[tokio::test]
async fn failing_and_rejected_deliveries_show_in_the_receiver_state() {
    let app = TestApp::spawn().await;
    let failing = Receiver::start(1).await;
    let hook = add(&app, json!({"url": failing.url})).await;
    let id = hook["id"].as_str().unwrap();
    assert_eq!(op(&app, Method::POST, &format!("/webhooks/{id}/test"), None).await.status, 202);
    let report = dispatch_once(&app, Utc::now()).await;
    assert_eq!(report.failed, 1, "{report:?}");

    let d = op(&app, Method::GET, &format!("/webhooks/{id}/deliveries?state=failing"), None).await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(d.body["delivery"]["state"], "failing", "{}", d.body);
    assert_eq!(d.body["delivery"]["failing"], 1);
    assert!(d.body["delivery"]["last_error"].as_str().unwrap().contains("503"), "{}", d.body);
    assert_eq!(d.body["deliveries"][0]["state"], "failing");
    assert_eq!(d.body["deliveries"][0]["attempts"], 1);
    let none = op(&app, Method::GET, &format!("/webhooks/{id}/deliveries?state=delivered"), None).await;
    assert_eq!(none.body["deliveries"], json!([]), "{}", none.body);
    let bad = op(&app, Method::GET, &format!("/webhooks/{id}/deliveries?state=lost"), None).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    // The receiver's circuit counts the failed round (paused only after several in a row).
    let listed = op(&app, Method::GET, "/webhooks", None).await;
    let circuit = &listed.body["webhooks"][0]["circuit"];
    assert_eq!(
        (circuit["state"].clone(), circuit["consecutive_failures"].clone()),
        (json!("failing"), json!(1))
    );
    assert!(circuit["last_error"].as_str().unwrap().contains("503"), "{}", listed.body);

    // A SET receiver that refuses the event for good (RFC 8935 §2.3).
    let refusing = Receiver::start_with(0, 1).await;
    let set = add(&app, json!({"url": refusing.url, "format": "set"})).await;
    let set_id = set["id"].as_str().unwrap();
    assert_eq!(op(&app, Method::POST, &format!("/webhooks/{set_id}/test"), None).await.status, 202);
    drain(&app, Utc::now()).await;
    let list = op(&app, Method::GET, "/webhooks", None).await;
    let state = &list.body["webhooks"][1]["delivery"];
    assert_eq!(state["rejected"], 1, "{}", list.body);
    assert!(state["last_rejection"].as_str().unwrap().contains("invalid_audience"), "{}", list.body);
    let d = op(&app, Method::GET, &format!("/webhooks/{set_id}/deliveries?state=rejected"), None).await;
    assert_eq!(d.body["deliveries"][0]["state"], "rejected", "{}", d.body);
    // The failing receiver got its event on the retry.
    assert_eq!(list.body["webhooks"][0]["delivery"]["state"], "ok", "{}", list.body);
    assert_eq!(list.body["webhooks"][0]["circuit"]["state"], "healthy", "{}", list.body);
}

#[tokio::test]
async fn a_tenant_admin_cannot_touch_another_tenants_webhooks() {
    let app = TestApp::spawn().await;
    let hook = add(&app, json!({"url": "https://hooks.example.com/roster"})).await;
    let id = hook["id"].as_str().unwrap();
    app.new_tenant("globex").await;
    let issued = app.admin_call(TEST_ADMIN_TOKEN, Method::POST, "/tenants/globex/admin-tokens", None).await;
    let token = issued.body["token"].as_str().unwrap();
    let acme = &app.creds.tenant;
    for (method, path) in [
        (Method::GET, format!("/tenants/{acme}/webhooks")),
        (Method::DELETE, format!("/tenants/{acme}/webhooks/{id}")),
        (Method::POST, format!("/tenants/{acme}/webhooks/{id}/test")),
        (Method::DELETE, format!("/tenants/globex/webhooks/{id}")),
    ] {
        let r = app.admin_call(token, method.clone(), &path, None).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
    }
    assert_eq!(op(&app, Method::GET, "/webhooks", None).await.body["webhooks"].as_array().unwrap().len(), 1);
}
