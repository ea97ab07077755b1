//! Import rules of issue #12: a removed member comes back under its id when a row matches it by
//! personalid or email within retention; `--sync` with a `teamid` column removes the memberships
//! of groups the file no longer lists; imports can run without invitations; members export to
//! CSV and XLSX files that import back with nothing to change.

use reqwest::Method;
use roster::db;
use serde_json::{json, Value};

use crate::support::requests::{send, Reply};
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    app.admin(method, path, body).await
}

/// Upload `file` (named `name`) to the admin API's import with `query`.
pub async fn import(app: &TestApp, query: &str, name: &str, file: &[u8]) -> Reply {
    let boundary = "roster-import-rules";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let url = format!("{}/admin/v1/tenants/{}/imports{query}", app.root, app.creds.tenant);
    send(
        app.client
            .post(url)
            .bearer_auth(TEST_ADMIN_TOKEN)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body),
    )
    .await
}

fn csv(lines: &[&str]) -> Vec<u8> {
    lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect()
}

/// The kinds of the tenant's events, oldest first.
async fn event_kinds(app: &TestApp) -> Vec<String> {
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    db::events::list(&mut conn, tenant.id).await.unwrap().into_iter().map(|e| e.kind).collect()
}

async fn member_by_pid(app: &TestApp, pid: &str) -> Value {
    let r = admin(app, Method::GET, "/members?status=removed", None).await;
    let live = admin(app, Method::GET, "/members", None).await;
    let all: Vec<Value> =
        [r.body["members"].as_array().unwrap().clone(), live.body["members"].as_array().unwrap().clone()]
            .concat();
    all.into_iter().find(|m| m["personalId"] == pid).unwrap_or_else(|| panic!("no member {pid}"))
}

#[tokio::test]
async fn a_removed_member_is_restored_by_personalid_or_email_with_its_content() {
    let app = TestApp::spawn().await;
    let file = csv(&[
        "firstname;lastname;email;personalid;comment",
        "Ada;Lovelace;ada@example.com;P-1;night shift",
        "Bo;Berg;bo@example.com;P-2;",
    ]);
    assert_eq!(import(&app, "", "m.csv", &file).await.status, 200);
    let ada = member_by_pid(&app, "P-1").await["id"].as_str().unwrap().to_string();
    let bo = member_by_pid(&app, "P-2").await["id"].as_str().unwrap().to_string();
    for id in [&ada, &bo] {
        assert_eq!(admin(&app, Method::DELETE, &format!("/members/{id}"), None).await.status, 204);
    }
    // Ada comes back by personalid (with a new email), Bo by email (with a new personalid).
    let again = csv(&[
        "firstname;lastname;email;personalid",
        "Ada;Lovelace;ada.l@example.com;P-1",
        "Bo;Berg;bo@example.com;P-9",
    ]);
    let dry = import(&app, "?dry_run=true", "m.csv", &again).await;
    assert_eq!(dry.body["totals"]["restore"], 2, "{}", dry.body);
    let r = import(&app, "", "m.csv", &again).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["written"]["restored"].clone(), r.body["written"]["created"].clone()),
        (json!(2), json!(0))
    );
    assert_eq!(r.body["rows"][0]["changes"][0], "restored");
    let a = member_by_pid(&app, "P-1").await;
    assert_eq!(
        (a["id"].as_str().unwrap(), a["status"].clone(), a["userName"].clone(), a["comment"].clone()),
        (ada.as_str(), json!("provisioned"), json!("ada.l@example.com"), json!("night shift"))
    );
    let b = member_by_pid(&app, "P-9").await;
    assert_eq!((b["id"].as_str().unwrap(), b["status"].clone()), (bo.as_str(), json!("provisioned")));
    let scim = app.get(&format!("/Users/{ada}")).await;
    assert_eq!(scim.status, 200, "visible to SCIM again: {}", scim.body);
    let kinds = event_kinds(&app).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "member.created").count(),
        4,
        "two creations, two restorations: {kinds:?}"
    );
    // A re-import of the same file changes nothing.
    let r = import(&app, "", "m.csv", &again).await;
    assert_eq!(r.body["totals"]["unchanged"], 2, "{}", r.body);
}

#[tokio::test]
async fn sync_removes_memberships_of_groups_the_file_no_longer_lists() {
    let app = TestApp::spawn().await;
    let oslo = app.create_group("Oslo", &[]).await;
    app.create_group("Bergen", &[]).await;
    let scim_member = app.create_user("idp@example.com").await;
    let p = app.put(&format!("/Groups/{oslo}"), &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Oslo", "members": [{"value": scim_member}]})).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let both = csv(&["firstname;lastname;email;personalid;teamid", "Ada;L;ada@example.com;P-1;Oslo,Bergen"]);
    let r = import(&app, "", "m.csv", &both).await;
    assert_eq!(r.body["written"]["memberships_added"], 2, "{}", r.body);
    let ada = member_by_pid(&app, "P-1").await["id"].as_str().unwrap().to_string();
    // Without --sync, a narrower teamid adds nothing and removes nothing.
    let only_oslo = csv(&["firstname;lastname;email;personalid;teamid", "Ada;L;ada@example.com;P-1;Oslo"]);
    assert_eq!(import(&app, "", "m.csv", &only_oslo).await.body["totals"]["unchanged"], 1);
    let plan = import(&app, "?sync=true&dry_run=true", "m.csv", &only_oslo).await;
    assert_eq!(plan.body["rows"][0]["changes"], json!(["teams"]), "{}", plan.body);
    let r = import(&app, "?sync=true", "m.csv", &only_oslo).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["written"]["memberships_removed"], 1, "{}", r.body);
    let groups: Vec<String> = member_by_pid(&app, "P-1").await["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(groups, ["Oslo"]);
    let members = app.get(&format!("/Groups/{oslo}")).await.body["members"].clone();
    let ids: Vec<&str> = members.as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&scim_member.as_str()) && ids.contains(&ada.as_str()),
        "SCIM memberships untouched: {members}"
    );
    assert!(event_kinds(&app).await.contains(&"membership.removed".to_string()));
    // Without a teamid column, --sync leaves memberships alone.
    let no_teams = csv(&["firstname;lastname;email;personalid", "Ada;L;ada@example.com;P-1"]);
    assert_eq!(
        import(&app, "?sync=true", "m.csv", &no_teams).await.body["written"]["memberships_removed"],
        0
    );
}

#[tokio::test]
async fn an_import_can_run_without_invitations() {
    let app = TestApp::spawn().await;
    let file = csv(&["firstname;lastname;email", "Ada;L;ada@example.com"]);
    let r = import(&app, "?no_invitations=true", "m.csv", &file).await;
    assert_eq!((r.status.as_u16(), r.body["no_invitations"].clone()), (200, json!(true)), "{}", r.body);
    assert!(!event_kinds(&app).await.contains(&"member.invitation_needed".to_string()));
    let file = csv(&["firstname;lastname;email", "Ada;L;ada@example.com", "Bo;B;bo@example.com"]);
    assert_eq!(import(&app, "", "m.csv", &file).await.status, 200);
    assert_eq!(event_kinds(&app).await.iter().filter(|k| *k == "member.invitation_needed").count(), 1);
}

async fn download(app: &TestApp, path: &str) -> (u16, String, Vec<u8>) {
    let url = format!("{}/admin/v1/tenants/{}{path}", app.root, app.creds.tenant);
    let r = app.client.get(url).bearer_auth(TEST_ADMIN_TOKEN).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn an_export_imports_back_with_no_changes_in_both_formats() {
    let app = TestApp::spawn().await;
    let r = admin(
        &app,
        Method::POST,
        "/categories",
        Some(json!({"name": "City", "kind": "dropdown", "allowed_values": ["Oslo", "Bergen"]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = admin(&app, Method::POST, "/categories", Some(json!({"name": "Score", "kind": "number"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    app.create_group("Sales, North", &[]).await;
    app.create_group("Ops", &[]).await;
    let file = csv(&[
        "firstname;lastname;email;personalid;comment;position;role;teamid;City;Score",
        "Ada;Lovelace;ada@example.com;P-1;\"night; shift\";Clerk;editor;Ops;Oslo;12",
        "Bo;Berg;bo@example.com;;;;;;Bergen;",
        "Cy;Chan;cy@example.com;P-3;;;;Ops;;2.5",
    ]);
    let r = import(&app, "", "m.csv", &file).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sales = app.get("/Groups?filter=displayName%20eq%20%22Sales,%20North%22").await.body["Resources"][0]
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cy = member_by_pid(&app, "P-3").await["id"].as_str().unwrap().to_string();
    let p = app.put(&format!("/Groups/{sales}"), &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales, North", "members": [{"value": cy}]})).await;
    assert_eq!(p.status, 200, "{}", p.body);
    // A member from the IdP is exported too, and skipped on the way back.
    let idp = app.post("/Users", &json!({"userName": "idp@example.com", "name": {"givenName": "Id", "familyName": "P"}, "emails": [{"value": "idp@example.com"}]})).await;
    assert_eq!(idp.status, 201);

    let (status, ct, template) = download(&app, "/imports/template").await;
    assert_eq!((status, ct.as_str()), (200, "text/csv; charset=utf-8"));
    assert_eq!(
        String::from_utf8(template).unwrap(),
        "\u{feff}firstname;lastname;email;personalid;comment;position;role;teamid;grouprole;City;Score\r\n"
    );
    let (status, ct, _) = download(&app, "/imports/template?format=xlsx").await;
    assert_eq!(
        (status, ct.as_str()),
        (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    assert_eq!(download(&app, "/exports/members?format=pdf").await.0, 400);

    for (format, name) in [("csv", "export.csv"), ("xlsx", "export.xlsx")] {
        let (status, _, bytes) = download(&app, &format!("/exports/members?format={format}")).await;
        assert_eq!(status, 200);
        if format == "csv" {
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert!(
                text.contains(&format!("Cy;Chan;cy@example.com;P-3;;;member;{sales}, Ops;member;;2.5")),
                "{text}"
            );
            assert!(text.contains("\"night; shift\""), "{text}");
        }
        let dry = import(&app, "?dry_run=true", name, &bytes).await;
        assert_eq!(dry.status, 200, "{format}: {}", dry.body);
        let t = &dry.body["totals"];
        assert_eq!(
            (
                t["unchanged"].clone(),
                t["skipped"].clone(),
                t["create"].clone(),
                t["update"].clone(),
                t["error"].clone()
            ),
            (json!(3), json!(1), json!(0), json!(0), json!(0)),
            "{format}: {}",
            dry.body
        );
        // Applied with --sync: nothing is written at all.
        let applied = import(&app, "?sync=true", name, &bytes).await;
        assert_eq!(applied.body["written"]["suspended"], 0, "{format}: {}", applied.body);
        assert_eq!(applied.body["written"]["memberships_removed"], 0, "{format}: {}", applied.body);
    }
    let only_import = download(&app, "/exports/members?origin=import").await;
    assert_eq!(
        String::from_utf8(only_import.2).unwrap().lines().count(),
        4,
        "header and three imported members"
    );
}

#[tokio::test]
async fn a_grouprole_column_sets_the_group_role_of_the_rows_groups() {
    let app = TestApp::spawn().await;
    app.create_group("Ops", &[]).await;
    app.create_group("Desk", &[]).await;
    let file = |role: &str| {
        csv(&["firstname;lastname;email;teamid;grouprole", &format!("Ada;L;ada@example.com;Ops,Desk;{role}")])
    };
    let r = import(&app, "", "m.csv", &file("Manager")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let roles = |m: &Value| -> Vec<String> {
        m["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| format!("{}={}", g["displayName"].as_str().unwrap(), g["groupRole"].as_str().unwrap()))
            .collect()
    };
    let ada = member_by_pid(&app, "ada@example.com").await;
    assert_eq!(roles(&ada), ["Desk=manager", "Ops=manager"]);
    assert_eq!(ada["manages"].as_array().unwrap().len(), 2);
    // Changing it back is a change of the row; an empty cell keeps the roles.
    let r = import(&app, "", "m.csv", &file("member")).await;
    assert_eq!(r.body["rows"][0]["changes"], json!(["grouprole"]), "{}", r.body);
    assert_eq!(roles(&member_by_pid(&app, "ada@example.com").await), ["Desk=member", "Ops=member"]);
    assert_eq!(import(&app, "", "m.csv", &file("")).await.body["totals"]["unchanged"], 1);
    let r = import(&app, "?dry_run=true", "m.csv", &file("boss")).await;
    assert_eq!(r.body["rows"][0]["reason"], "grouprole \"boss\" must be member or manager", "{}", r.body);
}

#[tokio::test]
async fn the_cli_writes_the_template_and_the_export_and_changes_tenant_settings() {
    let app = TestApp::spawn().await;
    let file = csv(&["firstname;lastname;email", "Ada;L;ada@example.com"]);
    assert_eq!(import(&app, "?no_invitations=true", "m.csv", &file).await.status, 200);
    let dir = std::env::temp_dir().join(format!("roster-export-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let (template, export) = (dir.join("template.xlsx"), dir.join("members.csv"));
    let run = |args: &[&str]| {
        let out = crate::cli::roster(&app).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let tenant = app.creds.tenant.clone();
    run(&["import", "template", "--tenant", &tenant, "--output", template.to_str().unwrap()]);
    assert!(std::fs::read(&template).unwrap().starts_with(b"PK\x03\x04"), "an XLSX by its extension");
    let out = run(&["export", "members", "--tenant", &tenant, "--output", export.to_str().unwrap()]);
    assert!(out.contains("Wrote 1 member(s)"), "{out}");
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(text.contains("Ada;L;ada@example.com;ada@example.com;;;member;;\r\n"), "{text}");
    let bad = crate::cli::roster(&app)
        .args([
            "export",
            "members",
            "--tenant",
            &tenant,
            "--output",
            export.to_str().unwrap(),
            "--format",
            "pdf",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("csv or xlsx"));
    let out = run(&[
        "tenant",
        "update",
        &tenant,
        "--member-retention-days",
        "90",
        "--invite-new-members",
        "false",
        "--json",
    ]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["member_retention_days"].clone(), v["invite_new_members"].clone()),
        (json!(90), json!(false))
    );
    assert_eq!(admin(&app, Method::GET, "", None).await.body["member_retention_days"], 90);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn sync_cannot_remove_the_membership_that_makes_the_last_admin() {
    let app = TestApp::spawn().await;
    let admins = app.create_group("Admins", &[]).await;
    assert_eq!(
        admin(&app, Method::PUT, &format!("/groups/{admins}/roles/org_admin"), None).await.status,
        201
    );
    let file = csv(&["firstname;lastname;email;teamid", "Ada;L;ada@example.com;Admins"]);
    assert_eq!(import(&app, "", "m.csv", &file).await.status, 200);
    let ada = member_by_pid(&app, "ada@example.com").await;
    assert_eq!((ada["role"].clone(), ada["roleSource"].clone()), (json!("org_admin"), json!("group:Admins")));
    // The file no longer lists the group: with --sync that would drop the only admin.
    let without = csv(&["firstname;lastname;email;teamid", "Ada;L;ada@example.com;"]);
    let r = import(&app, "?sync=true", "m.csv", &without).await;
    let d = r.assert_error(403, None);
    assert!(d.contains("org_admin first"), "{d}");
    assert_eq!(
        member_by_pid(&app, "ada@example.com").await["groups"][0]["displayName"],
        "Admins",
        "nothing written"
    );
}
