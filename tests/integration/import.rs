//! Member import from CSV and XLSX: the CLI and the admin API's multipart upload give the same
//! report; dry runs write nothing; applies are all-or-nothing; re-imports change nothing; sync
//! suspends only imported members; roles, teams, categories, events and the provisioning log.

use std::process::Command;

use reqwest::Method;
use roster::db::{self, imports::ImportMember};
use roster::import::catalog::{self, Category, Kind};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::requests::{send, Reply};
use crate::support::{TestApp, TEST_ADMIN_TOKEN, TEST_SECRET};

const HEADER: &str = "firstname;lastname;email;personalid;position";

/// A file as Excel writes "CSV UTF-8": BOM, semicolons, CRLF.
fn excel_csv(lines: &[&str]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    for l in lines {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

async fn upload(app: &TestApp, query: &str, name: &str, file: &[u8], mapping: Option<&str>) -> Reply {
    let boundary = "roster-test-boundary-7d1f";
    let mut body = Vec::new();
    let mut part = |field: &str, filename: &str, bytes: &[u8]| {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    };
    part("file", name, file);
    if let Some(m) = mapping {
        part("mapping", "mapping.json", m.as_bytes());
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let url = format!("{}/admin/v1/tenants/{}/imports{query}", app.root, app.creds.tenant);
    send(
        app.client
            .request(Method::POST, url)
            .bearer_auth(TEST_ADMIN_TOKEN)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body),
    )
    .await
}

fn roster(app: &TestApp) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env("DATABASE_URL", &app.db_url)
        .env("ROSTER_SIGNING_KEY", std::str::from_utf8(TEST_SECRET).unwrap())
        .env("ROSTER_PUBLIC_URL", &app.root)
        .env("ROSTER_LOG", "warn");
    cmd
}

/// Run `roster import members` on a file; returns (success, stdout, stderr).
fn cli_import(app: &TestApp, file: &[u8], ext: &str, args: &[&str]) -> (bool, String, String) {
    let dir = std::env::temp_dir().join(format!("roster-import-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("members.{ext}"));
    std::fs::write(&path, file).unwrap();
    let out = roster(app)
        .args(["import", "members", path.to_str().unwrap(), "--tenant", &app.creds.tenant])
        .args(args)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn tenant_id(app: &TestApp) -> Uuid {
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap().id
}

/// Every member of the tenant that an import owns or could match (all, for these tests).
async fn members(app: &TestApp) -> Vec<ImportMember> {
    let tenant = tenant_id(app).await;
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    db::imports::members(&mut conn, tenant, &[], &[]).await.unwrap()
}

fn by_pid<'a>(all: &'a [ImportMember], pid: &str) -> &'a ImportMember {
    all.iter().find(|m| m.personal_id.as_deref() == Some(pid)).unwrap_or_else(|| panic!("no member {pid}"))
}

async fn events(app: &TestApp) -> Vec<(String, Value)> {
    let tenant = tenant_id(app).await;
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    db::events::list(&mut conn, tenant).await.unwrap().into_iter().map(|e| (e.kind, e.payload)).collect()
}

/// A member's effective role and position name, by personal id.
async fn role_and_position(app: &TestApp, personal_id: &str) -> (Option<String>, Option<String>) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        role: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        position: Option<String>,
    }
    let tenant = tenant_id(app).await;
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let row: Row = diesel::sql_query(
        "SELECT u.effective_role AS role, p.name AS position FROM users u \
         LEFT JOIN positions p ON p.tenant_id = u.tenant_id AND p.id = u.position_id \
         WHERE u.tenant_id = $1 AND u.personal_id = $2 AND u.status <> 'removed'",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .bind::<diesel::sql_types::Text, _>(personal_id)
    .get_result(&mut conn)
    .await
    .unwrap();
    (row.role, row.position)
}

async fn version_sum(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use roster::db::schema::users;
    let tenant = tenant_id(app).await;
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let versions: Vec<i64> = users::table
        .filter(users::tenant_id.eq(tenant))
        .select(users::version)
        .load(&mut conn)
        .await
        .unwrap();
    versions.iter().sum()
}

fn totals(report: &Value) -> [u64; 6] {
    let t = &report["totals"];
    ["create", "update", "unchanged", "skipped", "error", "suspend"].map(|k| t[k].as_u64().unwrap())
}

fn actions(report: &Value) -> Vec<(u64, String)> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["action"].as_str().unwrap().to_string()))
        .collect()
}

fn three_members() -> Vec<u8> {
    excel_csv(&[
        HEADER,
        "Kåre;Næss;kare@example.no;1001;Butikksjef",
        "\"Anne, Marie\";Berg;anne@example.no;1002;",
        "Per;Olsen;per@example.no;;\"Selger\"",
    ])
}

#[tokio::test]
async fn cli_and_admin_give_the_same_report_and_a_dry_run_writes_nothing() {
    let app = TestApp::spawn().await;
    let file = three_members();
    let api = upload(&app, "?dry_run=true", "members.csv", &file, None).await;
    assert_eq!(api.status, 200, "{}", api.body);
    let (ok, out, err) = cli_import(&app, &file, "csv", &["--dry-run", "--json"]);
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli, api.body);
    assert_eq!(totals(&api.body), [3, 0, 0, 0, 0, 0]);
    assert_eq!(api.body["applied"], false);
    assert_eq!(api.body["format"], "csv");
    // personalid defaults to the email.
    assert_eq!(api.body["rows"][2]["personalid"], "per@example.no");
    assert!(members(&app).await.is_empty());
    assert!(events(&app).await.is_empty());

    // The human report too.
    let (ok, text, _) = cli_import(&app, &file, "csv", &["--dry-run"]);
    assert!(ok);
    assert!(text.contains("line 2: create 1001"), "{text}");
    assert!(text.contains("Dry run: nothing was written."), "{text}");

    // Apply through the CLI: the same plan, now written.
    let (ok, out, err) = cli_import(&app, &file, "csv", &["--json"]);
    assert!(ok, "{err}");
    let applied: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(applied["applied"], true);
    assert_eq!(applied["written"]["created"], 3);
    let all = members(&app).await;
    let kare = by_pid(&all, "1001");
    assert_eq!(kare.origin, "import");
    assert_eq!(kare.status, "provisioned");
    assert_eq!(kare.resource["userName"], "kare@example.no");
    assert_eq!(kare.resource["name"]["givenName"], "Kåre");
    assert_eq!(kare.resource["emails"][0]["value"], "kare@example.no");
    assert_eq!(kare.resource["title"], "Butikksjef");
    assert_eq!(by_pid(&all, "1002").resource["name"]["givenName"], "Anne, Marie");
    assert_eq!(applied["rows"][0]["member_id"], kare.id.to_string());
    // Imported members are visible over SCIM like any member.
    let r = app.get("/Users?filter=userName%20eq%20%22kare@example.no%22").await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["title"], "Butikksjef");
}

#[tokio::test]
async fn apply_is_all_or_nothing_and_skip_invalid_applies_the_valid_rows() {
    let app = TestApp::spawn().await;
    let file = excel_csv(&[
        HEADER,
        "Ada;Lovelace;ada@example.com;1;",
        "Bad;Mail;not-an-email;2;",
        ";NoFirst;nofirst@example.com;3;",
        "Dup;Licate;dup@example.com;1;",
        "Alan;Turing;ada@EXAMPLE.com;4;",
        "Grace;Hopper;grace@example.com;5;",
    ]);
    let r = upload(&app, "", "m.csv", &file, None).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["applied"], false);
    assert!(r.body["refused"].as_str().unwrap().contains("4 row(s) have errors"));
    assert_eq!((r.body["status"].as_str(), r.body["scimType"].as_str()), (Some("422"), Some("invalidValue")));
    assert_eq!(r.body["written"]["created"], 0);
    let reasons: Vec<&str> =
        r.body["rows"].as_array().unwrap().iter().filter_map(|r| r["reason"].as_str()).collect();
    assert_eq!(
        reasons,
        [
            "malformed email \"not-an-email\"",
            "missing firstname",
            "personalid is also on line 2",
            "email is also on line 2"
        ]
    );
    assert!(members(&app).await.is_empty());
    assert!(events(&app).await.is_empty());
    // The CLI refuses the same way and fails.
    let (ok, out, err) = cli_import(&app, &file, "csv", &[]);
    assert!(!ok);
    assert!(err.contains("nothing was written"), "{err}");
    assert!(out.contains("line 3: error 2: malformed email"), "{out}");
    assert!(members(&app).await.is_empty());

    let r = upload(&app, "?skip_invalid=true", "m.csv", &file, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["applied"], true);
    assert_eq!(r.body["written"]["created"], 2);
    assert_eq!(totals(&r.body), [2, 0, 0, 0, 4, 0]);
    let all = members(&app).await;
    assert_eq!(all.len(), 2);
    by_pid(&all, "1");
    by_pid(&all, "5");
}

#[tokio::test]
async fn reimport_changes_nothing_and_edits_are_reported_field_by_field() {
    let app = TestApp::spawn().await;
    let file = three_members();
    assert_eq!(upload(&app, "", "m.csv", &file, None).await.status, 200);
    let events_before = events(&app).await.len();
    let versions = version_sum(&app).await;
    let again = upload(&app, "", "m.csv", &file, None).await;
    assert_eq!(again.status, 200);
    assert_eq!(totals(&again.body), [0, 0, 3, 0, 0, 0]);
    assert_eq!(events(&app).await.len(), events_before, "no events for an import that changes nothing");
    assert_eq!(version_sum(&app).await, versions, "no version bumps");

    // The same people, exported by Google Sheets (comma, LF, no BOM), with edits.
    let edited = b"firstname,lastname,email,personalid,position\n\
        K\xC3\xA5re,N\xC3\xA6ss,kare@example.no,1001,Regionsjef\n\
        \"Anne, Marie\",Berg-Hansen,anne.berg@example.no,1002,\n\
        Per,Olsen,per@example.no,,Selger\n";
    let r = upload(&app, "?dry_run=true", "m.csv", edited, None).await;
    let changes: Vec<Value> =
        r.body["rows"].as_array().unwrap().iter().map(|r| r["changes"].clone()).collect();
    assert_eq!(changes, [json!(["position"]), json!(["lastname", "email"]), Value::Null]);
    assert_eq!(
        actions(&r.body).into_iter().map(|a| a.1).collect::<Vec<_>>(),
        ["update", "update", "unchanged"]
    );
    let (_, before) = role_and_position(&app, "1001").await;
    let r = upload(&app, "", "m.csv", edited, None).await;
    assert_eq!(r.body["written"]["updated"], 2);
    // Positions follow the position column (through `title`) as they follow a SCIM write.
    let (_, after) = role_and_position(&app, "1001").await;
    assert_ne!(before, after);
    assert_eq!(after.as_deref(), Some("Regionsjef"));
    let all = members(&app).await;
    let anne = by_pid(&all, "1002");
    assert_eq!(anne.resource["userName"], "anne.berg@example.no");
    assert_eq!(anne.user_name_key, "anne.berg@example.no");
    let updated: Vec<Value> =
        events(&app).await.into_iter().filter(|(k, _)| k == "member.updated").map(|(_, p)| p).collect();
    assert_eq!(updated.len(), 2);
    assert_eq!(updated[1]["changed"], json!(["displayName", "emails", "name", "userName"]));
}

#[tokio::test]
async fn sync_suspends_absent_imported_members_and_never_scim_members() {
    let app = TestApp::spawn().await;
    let scim_id = app.create_user("scim@example.com").await;
    let file =
        excel_csv(&[HEADER, "A;A;a@example.com;a;", "B;B;b@example.com;b;", "S;S;scim@example.com;s;"]);
    let r = upload(&app, "", "m.csv", &file, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(actions(&r.body)[2].1, "skipped");
    assert_eq!(r.body["rows"][2]["member_id"], scim_id.as_str());
    assert!(r.body["rows"][2]["reason"].as_str().unwrap().contains("SCIM"));

    let only_a = excel_csv(&[HEADER, "A;A;a@example.com;a;"]);
    let plan = upload(&app, "?sync=true&dry_run=true", "m.csv", &only_a, None).await;
    assert_eq!(plan.body["suspend"].as_array().unwrap().len(), 1);
    assert_eq!(plan.body["suspend"][0]["personalid"], "b");
    let r = upload(&app, "?sync=true", "m.csv", &only_a, None).await;
    assert_eq!(r.body["written"]["suspended"], 1);
    let all = members(&app).await;
    let b = by_pid(&all, "b");
    assert!(!b.active);
    assert_eq!(b.status, "suspended");
    assert_eq!(b.resource["active"], false);
    assert!(by_pid(&all, "a").active);
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = tenant_id(&app).await;
    let found = db::imports::members(&mut conn, tenant, &[], &["scim@example.com".into()]).await.unwrap();
    let scim = found.iter().find(|m| m.id.to_string() == scim_id).unwrap();
    assert!(scim.active && scim.origin == "scim", "SCIM members are never suspended by an import");
    let ev = events(&app).await;
    assert!(ev.iter().any(|(k, p)| k == "member.suspended" && p["member_id"] == b.id.to_string()));
    // Sync again: nothing more to suspend.
    let r = upload(&app, "?sync=true", "m.csv", &only_a, None).await;
    assert_eq!(r.body["written"]["suspended"], 0);
    // B back in a file: reactivated.
    let r = upload(&app, "", "m.csv", &file, None).await;
    assert_eq!(r.body["rows"][1]["changes"], json!(["active"]));
    assert!(by_pid(&members(&app).await, "b").active);
    assert!(events(&app).await.iter().any(|(k, _)| k == "member.reactivated"));
}

#[tokio::test]
async fn sync_never_suspends_the_last_org_admin() {
    let app = TestApp::spawn().await;
    let file = excel_csv(&[
        "firstname;lastname;email;role",
        "A;A;a@example.com;org_admin",
        "B;B;b@example.com;org_admin",
        "C;C;c@example.com;",
    ]);
    assert_eq!(upload(&app, "", "m.csv", &file, None).await.status, 200);
    // Dropping one admin is fine: the other stays.
    let without_b =
        excel_csv(&["firstname;lastname;email;role", "A;A;a@example.com;org_admin", "C;C;c@example.com;"]);
    let r = upload(&app, "?sync=true", "m.csv", &without_b, None).await;
    assert_eq!(r.body["written"]["suspended"], 1, "{}", r.body);
    // Dropping the last one is refused, and nothing of that import is written.
    let only_c = excel_csv(&["firstname;lastname;email;role", "C;C;c@example.com;editor"]);
    let events_before = events(&app).await.len();
    let r = upload(&app, "?sync=true", "m.csv", &only_c, None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("last org admin") && detail.contains("acme"), "{detail}");
    let all = members(&app).await;
    assert!(by_pid(&all, "a@example.com").active);
    assert_eq!(by_pid(&all, "c@example.com").base_role.as_deref(), Some("member"), "all or nothing");
    assert_eq!(events(&app).await.len(), events_before);
}

#[tokio::test]
async fn default_role_and_role_column() {
    let app = TestApp::spawn().await;
    let file = excel_csv(&[
        "firstname;lastname;email;role",
        "A;A;a@example.com;Editor",
        "B;B;b@example.com;",
        "C;C;c@example.com;wizard",
    ]);
    let r = upload(&app, "?skip_invalid=true", "m.csv", &file, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["rows"][2]["reason"]
        .as_str()
        .unwrap()
        .starts_with("unknown role \"wizard\" (roles: org_admin"));
    let all = members(&app).await;
    assert_eq!(by_pid(&all, "a@example.com").base_role.as_deref(), Some("editor"));
    assert_eq!(by_pid(&all, "b@example.com").base_role.as_deref(), Some("member"));
    let roles: Vec<Value> =
        events(&app).await.into_iter().filter(|(k, _)| k == "role.changed").map(|(_, p)| p).collect();
    // A new member's first role is part of its `member.created`, as over SCIM.
    assert!(roles.is_empty(), "{roles:?}");
    assert_eq!(role_and_position(&app, "a@example.com").await.0.as_deref(), Some("editor"));
    // Changing the role column updates the base role and the effective role.
    let file = excel_csv(&["firstname;lastname;email;role", "B;B;b@example.com;chief_editor"]);
    let r = upload(&app, "", "m.csv", &file, None).await;
    assert_eq!(r.body["rows"][0]["changes"], json!(["role"]));
    let ev = events(&app).await;
    let last_role = ev.iter().rev().find(|(k, _)| k == "role.changed").unwrap();
    assert_eq!(
        (last_role.1["from"].as_str(), last_role.1["to"].as_str()),
        (Some("member"), Some("chief_editor"))
    );
}

#[tokio::test]
async fn a_member_whose_only_role_is_deleted_has_none_and_the_change_is_an_event() {
    let app = TestApp::spawn().await;
    let file = excel_csv(&["firstname;lastname;email;role", "A;A;a@example.com;Editor"]);
    let r = upload(&app, "", "m.csv", &file, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(role_and_position(&app, "a@example.com").await.0.as_deref(), Some("editor"));
    // The import's role column is explicit: deleting the role takes the member's base role with
    // it, and nothing else gives it one (no SCIM roles, no group bindings).
    assert_eq!(app.admin(Method::DELETE, "/roles/editor", None).await.status, 204);
    assert_eq!(role_and_position(&app, "a@example.com").await.0, None);
    let member = by_pid(&members(&app).await, "a@example.com").id.to_string();
    let changed: Vec<Value> = events(&app)
        .await
        .into_iter()
        .filter(|(k, p)| k == "role.changed" && p["member_id"] == member.as_str())
        .map(|(_, p)| p)
        .collect();
    // A change to no role is a change like any other: stored, and reported from → to.
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!((changed[0]["from"].as_str(), changed[0]["to"].clone()), (Some("editor"), Value::Null));
}

#[tokio::test]
async fn teams_by_id_external_id_and_display_name() {
    let app = TestApp::spawn().await;
    let sales = app.create_group("Sales", &[]).await;
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Oslo store", "externalId": "T-42"}),
        )
        .await;
    let oslo = r.body["id"].as_str().unwrap().to_string();
    let audit = app.create_group("Audit, North", &[]).await;
    let file = format!(
        "firstname,lastname,email,teamid\nA,A,a@example.com,{sales}\nB,B,b@example.com,T-42\n\
         C,C,c@example.com,\"sales, oslo STORE\"\nD,D,d@example.com,\"Audit, North\"\nE,E,e@example.com,Nowhere\n"
    );
    let r = upload(&app, "?skip_invalid=true", "m.csv", file.as_bytes(), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["rows"][4]["reason"],
        "unknown team \"Nowhere\" (use a group id, externalId or displayName)"
    );
    assert_eq!(r.body["written"]["memberships_added"], 5);
    let id_of = |line: usize| r.body["rows"][line]["member_id"].as_str().unwrap().to_string();
    let members_of = |id: String| {
        let app = &app;
        async move {
            let r = app.get(&format!("/Groups/{id}")).await;
            let mut ids: Vec<String> = r.body["members"]
                .as_array()
                .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            ids.sort();
            ids
        }
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(members_of(sales.clone()).await, sorted(vec![id_of(0), id_of(2)]));
    assert_eq!(members_of(oslo).await, sorted(vec![id_of(1), id_of(2)]));
    assert_eq!(members_of(audit).await, [id_of(3)]);
    let added = events(&app).await.into_iter().filter(|(k, _)| k == "membership.added").count();
    assert_eq!(added, 5);
    // Re-import: memberships already there, nothing changes.
    let r = upload(&app, "?skip_invalid=true", "m.csv", file.as_bytes(), None).await;
    assert_eq!(totals(&r.body), [0, 0, 4, 0, 1, 0]);
}

#[tokio::test]
async fn categories_existing_created_from_the_file_and_ignored() {
    let app = TestApp::spawn().await;
    let tenant = tenant_id(&app).await;
    {
        let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
        for (name, kind, allowed) in
            [("City", Kind::Dropdown, vec!["Oslo", "Bergen"]), ("Score", Kind::Number, vec![])]
        {
            let c = Category {
                name: name.into(),
                display_name: name.into(),
                kind,
                allowed_values: allowed.into_iter().map(String::from).collect(),
                source: None,
            };
            catalog::insert(&mut conn, tenant, &c, chrono::Utc::now()).await.unwrap();
        }
    }
    let file = excel_csv(&[
        "firstname;lastname;email;city;Score;Avdeling;Notes",
        "A;A;a@example.com;oslo;12;Salg;x",
        "B;B;b@example.com;Bergen;2,5;Lager;y",
        "C;C;c@example.com;Trondheim;abc;Salg;z",
        "D;D;d@example.com;;;salg;",
    ]);
    // Without a mapping: City and Score are used (caseless), the rest ignored.
    let r = upload(&app, "?dry_run=true", "m.csv", &file, None).await;
    let uses: Vec<&str> =
        r.body["columns"].as_array().unwrap().iter().map(|c| c["use"].as_str().unwrap()).collect();
    assert_eq!(uses, ["field", "field", "field", "category", "category", "ignored", "ignored"]);
    assert_eq!(
        r.body["rows"][2]["reason"],
        "City: \"Trondheim\" is not one of the allowed values (Oslo, Bergen); Score: \"abc\" is not a number"
    );
    // With a mapping: Avdeling becomes a new dropdown with the file's values; Notes ignored.
    let mapping = r#"{"columns": {"Avdeling": {"category": "Department", "create": {"kind": "dropdown"}}, "Notes": "ignore"}}"#;
    let r = upload(&app, "?skip_invalid=true", "m.csv", &file, Some(mapping)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["new_categories"],
        json!([{"name": "Department", "display_name": "Avdeling", "kind": "dropdown", "allowed_values": ["Salg", "Lager"]}])
    );
    assert_eq!(r.body["written"]["categories_created"], json!(["Department"]));
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let cats = catalog::load(&mut conn, tenant).await.unwrap();
    let dept = cats.iter().find(|c| c.name == "Department").unwrap();
    assert_eq!(
        (dept.kind, dept.allowed_values.clone()),
        (Kind::Dropdown, vec!["Salg".to_string(), "Lager".to_string()])
    );
    let all = members(&app).await;
    let ext = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
    assert_eq!(
        by_pid(&all, "a@example.com").resource[ext],
        json!({"City": "Oslo", "Score": 12, "Department": "Salg"})
    );
    assert_eq!(
        by_pid(&all, "b@example.com").resource[ext],
        json!({"City": "Bergen", "Score": 2.5, "Department": "Lager"})
    );
    assert_eq!(by_pid(&all, "d@example.com").resource[ext], json!({"Department": "Salg"}));
    // A mapping to a category that does not exist, without create: a file-level error.
    let bad = r#"{"columns": {"Avdeling": {"category": "Division"}}}"#;
    let r = upload(&app, "", "m.csv", &file, Some(bad)).await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("no category \"Division\""), "{detail}");
}

#[tokio::test]
async fn row_limit_and_file_errors_come_before_anything_is_written() {
    let app = TestApp::spawn().await;
    let mut lines = vec!["firstname,lastname,email".to_string()];
    lines.extend((0..51).map(|i| format!("F{i},L{i},u{i}@example.com")));
    let file = lines.join("\n");
    let r = upload(&app, "", "m.csv", file.as_bytes(), None).await;
    let detail = r.assert_error(413, None);
    assert!(detail.contains("51 rows") && detail.contains("ROSTER_IMPORT_MAX_ROWS"), "{detail}");
    let (ok, _, err) =
        cli_import(&app, b"firstname,lastname,email\na,b,a@x.io\nc,d,c@x.io\nd,e,d@x.io\n", "csv", &[]);
    assert!(ok, "{err}");
    let mut cmd = roster(&app);
    cmd.env("ROSTER_IMPORT_MAX_ROWS", "2");
    let out =
        cmd.args(["import", "members", "/nonexistent.csv", "--tenant", &app.creds.tenant]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent.csv"));

    let detail = upload(&app, "", "m.csv", b"firstname;email\r\nA;a@x.io\r\n", None)
        .await
        .assert_error(400, Some("invalidValue"));
    assert!(detail.contains("no lastname column"), "{detail}");
    let detail = upload(&app, "", "m.csv", b"firstname;lastname;email\nK\xE5re;N;k@x.io\n", None)
        .await
        .assert_error(400, Some("invalidValue"));
    assert!(detail.contains("line 2"), "{detail}");
    let r = send(
        app.client
            .post(format!("{}/admin/v1/tenants/{}/imports", app.root, app.creds.tenant))
            .bearer_auth(TEST_ADMIN_TOKEN)
            .header("content-type", "text/csv")
            .body("firstname,lastname,email\n"),
    )
    .await;
    r.assert_error(415, None);
    let r = send(
        app.client.post(format!("{}/admin/v1/tenants/{}/imports", app.root, app.creds.tenant)).body("x"),
    )
    .await;
    r.assert_error(401, None);
    assert_eq!(members(&app).await.len(), 3);
}

#[tokio::test]
async fn cli_row_limit_from_the_environment() {
    let app = TestApp::spawn().await;
    let dir = std::env::temp_dir().join(format!("roster-import-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.csv");
    std::fs::write(&path, "firstname,lastname,email\na,b,a@x.io\nc,d,c@x.io\nd,e,d@x.io\n").unwrap();
    let out = roster(&app)
        .env("ROSTER_IMPORT_MAX_ROWS", "2")
        .args(["import", "members", path.to_str().unwrap(), "--tenant", &app.creds.tenant])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("3 rows") && err.contains("at most 2"), "{err}");
    assert!(members(&app).await.is_empty());
}

#[tokio::test]
async fn xlsx_upload_reads_numbers_as_text() {
    use rust_xlsxwriter::Workbook;
    let app = TestApp::spawn().await;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Firstname", "Lastname", "Email", "PersonalID"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "Ada").unwrap();
    sheet.write_string(1, 1, "Lovelace").unwrap();
    sheet.write_string(1, 2, "ada@example.com").unwrap();
    sheet.write_number(1, 3, 12345.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    // No .xlsx name: detected from the zip signature.
    let r = upload(&app, "", "upload.bin", &bytes, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["format"], "xlsx");
    assert_eq!(r.body["rows"][0]["personalid"], "12345");
    by_pid(&members(&app).await, "12345");
}

#[tokio::test]
async fn events_and_provisioning_log_entries_are_written() {
    let app = TestApp::spawn().await;
    let team = app.create_group("Sales", &[]).await;
    let file = format!("firstname,lastname,email,teamid\nA,A,a@example.com,{team}\nB,B,b@example.com,\n");
    let r = upload(&app, "", "m.csv", file.as_bytes(), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let import_id = r.body["import_id"].as_str().unwrap().to_string();
    let a = r.body["rows"][0]["member_id"].as_str().unwrap().to_string();
    let ev = events(&app).await;
    let kinds: Vec<&str> = ev.iter().map(|(k, _)| k.as_str()).collect();
    // The group's creation, then the import's events.
    assert_eq!(
        kinds,
        [
            "group.created",
            "member.created",
            "member.invitation_needed",
            "member.created",
            "member.invitation_needed",
            "membership.added",
            "import.completed"
        ]
    );
    assert_eq!(ev[2].1["member_id"], a.as_str());
    assert_eq!(ev[5].1["member_id"], a.as_str());
    let done = &ev[6].1;
    assert_eq!(done["import_id"], import_id.as_str());
    assert_eq!(done["totals"]["created"], 2);
    assert_eq!(done["totals"]["memberships_added"], 1);

    let out = roster(&app).args(["log", "--tenant", &app.creds.tenant, "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let imports: Vec<&Value> = rows.iter().filter(|r| r["source"] == "import").collect();
    assert_eq!(imports.len(), 3, "{rows:#?}");
    assert!(imports.iter().all(|r| r["request_id"] == import_id.as_str() && r["connection"].is_null()));
    let ops: Vec<&str> = imports.iter().map(|r| r["operation"].as_str().unwrap()).collect();
    assert!(ops.contains(&"import: create"));
    assert!(
        ops.contains(&"import: 2 created, 0 updated, 0 unchanged, 0 skipped, 0 errors, 0 suspended"),
        "{ops:?}"
    );
    assert!(imports.iter().any(|r| r["resource_id"] == a.as_str()));
    let out = roster(&app).args(["log", "--tenant", &app.creds.tenant]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("IMPORT") && text.contains("source=import"), "{text}");
    // The admin API's log shows them too.
    let r = send(
        app.client
            .get(format!("{}/admin/v1/tenants/{}/log", app.root, app.creds.tenant))
            .bearer_auth(TEST_ADMIN_TOKEN),
    )
    .await;
    assert!(r.body["entries"].as_array().unwrap().iter().any(|e| e["operation"] == "import: create"));
    // An update is logged with its changed fields.
    let file = format!("firstname,lastname,email,teamid\nA,Aa,a@example.com,{team}\nB,B,b@example.com,\n");
    upload(&app, "", "m.csv", file.as_bytes(), None).await;
    let out = roster(&app).args(["log", "--tenant", &app.creds.tenant, "--json"]).output().unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows.iter().any(|r| r["operation"] == "import: update lastname"));
}

#[tokio::test]
async fn zip_bombs_are_refused_before_they_are_read() {
    use crate::support::bomb::{xlsx_bomb, Declared};
    let app = TestApp::spawn().await;
    // One cell of 1 GB, declared honestly: refused from the zip's directory.
    let honest = xlsx_bomb(1 << 30, Declared::Truly);
    assert!(honest.len() < 8 << 20, "{}", honest.len());
    let detail = upload(&app, "", "bomb.xlsx", &honest, None).await.assert_error(413, None);
    assert!(detail.contains("decompresses to more than") && detail.len() < 200, "{detail}");
    // One cell of 100 MB whose size the zip understates: refused while it is measured.
    let liar = xlsx_bomb(100 << 20, Declared::Lie(1000));
    let detail = upload(&app, "", "bomb.xlsx", &liar, None).await.assert_error(413, None);
    assert!(detail.contains("decompresses to more than") && !detail.contains("xxx"), "{detail}");
    // Under the limits, a long cell is refused by length, not echoed.
    let long = xlsx_bomb(100_000, Declared::Truly);
    let detail = upload(&app, "", "long.xlsx", &long, None).await.assert_error(400, Some("invalidValue"));
    assert_eq!(detail, "line 2, column 1: the cell is longer than 4096 characters");
    assert!(members(&app).await.is_empty());
}

#[tokio::test]
async fn nul_in_a_csv_cell_is_400_naming_the_cell() {
    let app = TestApp::spawn().await;
    let file = excel_csv(&[HEADER, "Ada;Love\u{0}lace;ada@example.com;1;Boss"]);
    let detail = upload(&app, "", "m.csv", &file, None).await.assert_error(400, Some("invalidValue"));
    assert!(detail.starts_with("line 2, column 2: the cell contains the character U+0000"), "{detail}");
    let (ok, _, err) = cli_import(&app, &file, "csv", &[]);
    assert!(!ok && err.contains("U+0000"), "{err}");
    let long = excel_csv(&[HEADER, &format!("Ada;Lovelace;ada@example.com;1;{}", "x".repeat(5000))]);
    let detail = upload(&app, "", "m.csv", &long, None).await.assert_error(400, Some("invalidValue"));
    assert_eq!(detail, "line 2, column 5: the cell is longer than 4096 characters");
    let fine = excel_csv(&[HEADER, "Ada;Lovelace;ada@example.com;1;Boss"]);
    let mapping = r#"{"columns": {"position": {"category": "Pos", "create": {"kind": "text", "display_name": "P\u0000"}}}}"#;
    let detail =
        upload(&app, "", "m.csv", &fine, Some(mapping)).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("U+0000"), "{detail}");
    assert!(members(&app).await.is_empty());
}

/// Poll a background import job until it is no longer running; returns every view seen.
async fn follow_job(app: &TestApp, location: &str) -> Vec<Value> {
    let path = location.trim_start_matches(&app.root).to_string();
    let mut seen = Vec::new();
    for _ in 0..600 {
        let r = send(app.client.get(format!("{}{path}", app.root)).bearer_auth(TEST_ADMIN_TOKEN)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let running = r.body["state"] == "running";
        seen.push(r.body);
        if !running {
            return seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the job did not end: {:?}", seen.last());
}

#[tokio::test]
async fn a_background_import_answers_202_then_shows_its_progress_and_report() {
    let app = TestApp::spawn_with(|s| s.import_max_rows = 2_000).await;
    let mut lines = vec![HEADER.to_string()];
    lines.extend((0..1200).map(|i| format!("Bulk;Person{i};bulk{i}@example.com;B{i};Clerk")));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let started = upload(&app, "?background=true", "people.csv", &excel_csv(&refs), None).await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(started.body["state"], "running");
    assert_eq!(started.body["fileName"], "people.csv");
    let location = started.header("location");
    assert!(
        location.ends_with(&format!("/imports/jobs/{}", started.body["id"].as_str().unwrap())),
        "{location}"
    );

    let seen = follow_job(&app, location).await;
    let last = seen.last().unwrap();
    assert_eq!(last["state"], "done", "{last}");
    assert_eq!(last["report"]["applied"], true, "{last}");
    assert_eq!(last["report"]["totals"]["create"], 1200, "{last}");
    // The same import as a synchronous one: the members are there.
    let mut conn = db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = db::tenants::tenant_by_slug(&mut conn, &app.creds.tenant).await.unwrap().unwrap();
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let imported: N = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT count(*) AS n FROM users WHERE tenant_id = $1 AND origin = 'import'")
            .bind::<diesel::sql_types::Uuid, _>(tenant.id),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(imported.n, 1200);

    // Rows with errors: the job fails with the report (422), nothing written.
    let bad = excel_csv(&[HEADER, "No;Email;;X1;Clerk"]);
    let refused = upload(&app, "?background=true", "bad.csv", &bad, None).await;
    assert_eq!(refused.status, 202, "{}", refused.body);
    let last = follow_job(&app, refused.header("location")).await.pop().unwrap();
    assert_eq!((last["state"].as_str(), last["status"].as_i64()), (Some("failed"), Some(422)), "{last}");
    assert_eq!(last["report"]["totals"]["error"], 1, "{last}");

    // Another tenant's job, or none: 404.
    let id = started.body["id"].as_str().unwrap();
    let other = app
        .admin_call(TEST_ADMIN_TOKEN, Method::GET, &format!("/tenants/nope/imports/jobs/{id}"), None)
        .await;
    assert_eq!(other.status, 404);
    let none = app.admin(Method::GET, &format!("/imports/jobs/{}", Uuid::now_v7()), None).await;
    assert_eq!(none.status, 404);
}
