//! The admin console in headless Chromium (issue #11): sign-in, the Entra wizard until a SCIM
//! request sent by the test turns the connection green, the rejected request's log entry and its
//! detail, a member filter, a hostile displayName that stays text, a tree move, and a role binding
//! that shows the effective role with its source. With `ROSTER_SCREENSHOTS_DIR` set, the tests
//! save the README's screenshots there.

use reqwest::Method;
use serde_json::json;

use crate::support::browser::Browser;
use crate::support::requests::send;
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

const HOSTILE: &str = "<img src=x onerror=alert(1)>";

async fn sign_in(app: &TestApp, browser: &Browser) {
    browser.goto(&format!("{}/console/sign-in", app.root)).await;
    let field = browser.find("#credential").await;
    browser.type_into(&field, TEST_ADMIN_TOKEN).await;
    browser.click(&browser.find("main button[type=submit]").await).await;
    browser.wait_for_text("h1", "Tenants").await;
}

#[tokio::test]
async fn the_entra_wizard_turns_green_on_the_first_scim_request_and_the_log_explains_a_rejection() {
    let app = TestApp::spawn().await;
    let browser = Browser::exclusive().await;
    sign_in(&app, &browser).await;
    browser.click(&browser.find("a[href='/console/t/acme/']").await).await;
    browser.click(&browser.find("a[href='/console/t/acme/connect']").await).await;
    browser.click(&browser.find("input[value=entra]").await).await;
    browser.type_into(&browser.find("input[name=name]").await, "Entra ID production").await;
    browser.click(&browser.find("main button[type=submit]").await).await;

    let steps = browser.wait_for_text("ol.steps", "Provisioning Mode").await;
    for words in ["Tenant URL", "Secret Token", "Automatic", "Test Connection", "Mappings"] {
        assert!(steps.contains(words), "{words} missing from the Entra steps: {steps}");
    }
    let base = browser.property(&browser.find("#scim-base-url").await, "value").await;
    let token = browser.property(&browser.find("#scim-token").await, "value").await;
    assert!(base.starts_with(&format!("{}/scim/v2/", app.root)), "{base}");
    browser.wait_for_text("#connection-status", "Waiting for the first request").await;
    browser.screenshot("console-wizard.png").await;

    // Entra's test connection: a filter on a random GUID, answered 200 with nothing.
    let probe = send(
        app.client
            .get(format!("{base}/Users"))
            .query(&[("filter", "userName eq \"0f3c2a55-6a5e-4b4e-9d1a-3f6f1f2e9b11\"")])
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(probe.status, 200, "{}", probe.body);
    app.flush_log().await;
    browser.wait_for_text("#connection-status", "Connected: first request at").await;
    // htmx keeps the old element's class for its settle delay (20 ms) after swapping the text in.
    browser.find("#connection-status.connected").await;

    // A request Roster rejects, then its entry in the log with the detail.
    let rejected = send(
        app.client
            .post(format!("{base}/Users"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "No userName"}).to_string()),
    )
    .await;
    assert_eq!(rejected.status, 400);
    let detail = rejected.body["detail"].as_str().unwrap().to_string();
    app.flush_log().await;
    browser.goto(&format!("{}/console/t/acme/log?outcome=failure", app.root)).await;
    browser.click(&browser.find("tr.log-entry details summary").await).await;
    let shown = browser.wait_for_text("tr.log-entry dd.detail", &detail).await;
    assert_eq!(shown, detail);
    let entry = browser.text(&browser.find("tr.log-entry dl.facts").await).await;
    assert!(entry.contains("400") && entry.contains("POST"), "{entry}");
}

#[tokio::test]
async fn members_filter_tree_move_role_binding_and_a_hostile_display_name_in_the_browser() {
    let app = TestApp::spawn().await;
    let alice = send(
        app.req_as(&app.creds, Method::POST, "/Users")
            .header("content-type", "application/scim+json")
            .body(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice@example.com",
                       "displayName": HOSTILE})
                .to_string(),
            ),
    )
    .await;
    assert_eq!(alice.status, 201, "{}", alice.body);
    let alice = alice.body["id"].as_str().unwrap().to_string();
    let bob = app.create_user("bob@example.com").await;
    let admins = app.create_group("IT-Admins", &[&alice]).await;
    let finance = app.create_group("Finance", &[&bob]).await;
    let accounting = app.create_group("Accounting", &[&alice]).await;

    let browser = Browser::exclusive().await;
    sign_in(&app, &browser).await;

    // The hostile displayName is text: no image element, no alert.
    browser.goto(&format!("{}/console/t/acme/members", app.root)).await;
    let names = browser
        .script("return Array.from(document.querySelectorAll('td.display-name')).map(e => e.textContent)")
        .await;
    assert!(names.as_array().unwrap().iter().any(|n| n == HOSTILE), "{names}");
    assert_eq!(browser.script("return document.querySelectorAll('main img').length").await, 0);
    assert_eq!(browser.alert_text().await, None, "an alert opened");

    // A member filter: the search narrows the list to bob.
    browser.type_into(&browser.find("input[name=q]").await, "bob").await;
    browser.click(&browser.find("form.filters button[type=submit]").await).await;
    browser.wait_for_text("h1", "Members").await;
    let rows = browser
        .script("return Array.from(document.querySelectorAll('tr.member')).map(e => e.textContent)")
        .await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].as_str().unwrap().contains("bob@example.com"));
    assert!(browser.url().await.contains("q=bob"));

    // A tree move: Accounting under Finance; the effective count of Finance grows.
    browser.goto(&format!("{}/console/t/acme/groups", app.root)).await;
    let picker = format!("li[data-group='{accounting}'] form.move select option[value='{finance}']");
    browser.click(&browser.find(&picker).await).await;
    browser.click(&browser.find(&format!("li[data-group='{accounting}'] form.move button")).await).await;
    browser.find(&format!("li[data-group='{finance}'] li[data-group='{accounting}']")).await;
    let counts = browser
        .text(&browser.find(&format!("li[data-group='{finance}'] > details > summary .counts")).await)
        .await;
    assert_eq!(counts, "1 direct, 2 effective");

    // A role binding: IT-Admins → org_admin; alice's page names the role and where it comes from.
    let option = format!("li[data-group='{admins}'] form.bind select option[value='org_admin']");
    browser.click(&browser.find(&option).await).await;
    browser.click(&browser.find(&format!("li[data-group='{admins}'] form.bind button")).await).await;
    browser.find(&format!("li[data-group='{admins}'] .pill")).await;
    browser.screenshot("console-groups.png").await;
    browser.goto(&format!("{}/console/t/acme/members/{alice}", app.root)).await;
    let role = browser.wait_for_text("p.effective-role", "org_admin").await;
    assert_eq!(role, "Effective role: org_admin, from binding of group IT-Admins");
    assert_eq!(browser.text(&browser.find("h1").await).await, HOSTILE);
    assert_eq!(browser.alert_text().await, None);
    browser.screenshot("console-member.png").await;
}

#[tokio::test]
async fn the_import_wizard_maps_a_new_category_previews_and_applies() {
    let app = TestApp::spawn().await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("console-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("people.csv");
    std::fs::write(
        &file,
        "email,firstname,lastname,Office\nada@example.com,Ada,Lovelace,London\ngrace@example.com,Grace,Hopper,Arlington\n",
    )
    .unwrap();

    let browser = Browser::exclusive().await;
    sign_in(&app, &browser).await;
    browser.goto(&format!("{}/console/t/acme/import", app.root)).await;
    browser.type_into(&browser.find("input[type=file]").await, file.to_str().unwrap()).await;
    browser.click(&browser.find("main button[type=submit]").await).await;

    // The columns with samples; standard fields chosen by name, Office made a new text category.
    let office = browser.wait_for_text("tr.column[data-column=Office]", "London").await;
    assert!(office.contains("Arlington"), "{office}");
    browser.click(&browser.find("tr.column[data-column=Office] option[value='new:text']").await).await;
    browser.click(&browser.find("main button[type=submit]").await).await;

    // The dry run: two creations and the new category, nothing written yet.
    let totals = browser.wait_for_text("p.totals", "create: 2").await;
    assert!(totals.contains("error: 0"), "{totals}");
    browser.wait_for_text("main", "New categories: Office (text)").await;
    let before = send(
        app.client.get(format!("{}/admin/v1/tenants/acme/members", app.root)).bearer_auth(TEST_ADMIN_TOKEN),
    )
    .await;
    assert_eq!(before.body["members"].as_array().unwrap().len(), 0, "a dry run writes nothing");

    browser.click(&browser.find("main button[type=submit]").await).await;
    browser.wait_for_text(".import-applied", "created: 2").await;
    let after = send(
        app.client.get(format!("{}/admin/v1/tenants/acme/members", app.root)).bearer_auth(TEST_ADMIN_TOKEN),
    )
    .await;
    let members = after.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{}", after.body);
    let ada = members.iter().find(|m| m["userName"] == "ada@example.com").unwrap();
    assert_eq!(ada["categories"]["Office"], "London", "{ada}");
    std::fs::remove_dir_all(&dir).unwrap();
}
