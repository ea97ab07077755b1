//! The `roster` binary: operator commands and the embedded default, run as a user would.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::requests::send;
use crate::support::serve::{self, Serving};
use crate::support::{TestApp, TEST_SECRET};

/// The built `roster` binary against this test's database.
pub fn roster(app: &TestApp) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env("DATABASE_URL", &app.db_url)
        .env("ROSTER_SIGNING_KEY", std::str::from_utf8(TEST_SECRET).unwrap())
        .env("ROSTER_PUBLIC_URL", &app.root)
        .env("ROSTER_LOG", "warn");
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("roster runs");
    assert!(out.status.success(), "roster failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn users_status(app: &TestApp, base: &str, token: &str) -> StatusCode {
    send(app.client.get(format!("{base}/Users")).bearer_auth(token)).await.status
}

#[tokio::test]
async fn cli_manages_tenants_connections_and_tokens() {
    let app = TestApp::spawn().await;
    let out = run_ok(roster(&app).args(["tenant", "create", "initech", "--name", "Initech"]));
    assert!(out.contains("initech"), "{out}");
    let dup = roster(&app).args(["tenant", "create", "initech", "--name", "Again"]).output().unwrap();
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

    let created: Value = serde_json::from_str(&run_ok(roster(&app).args([
        "connection",
        "create",
        "--tenant",
        "initech",
        "--name",
        "Entra ID",
        "--json",
    ])))
    .unwrap();
    for key in ["tenant", "connection", "scim_base_url", "token"] {
        assert!(created[key].is_string(), "{key} missing in {created}");
    }
    let base = created["scim_base_url"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    assert_eq!(base, format!("{}/scim/v2/{}", app.root, created["connection"].as_str().unwrap()));
    assert_eq!(users_status(&app, base, token).await, 200);

    let connection = created["connection"].as_str().unwrap();
    let second: Value = serde_json::from_str(&run_ok(roster(&app).args([
        "token",
        "issue",
        "--tenant",
        "initech",
        "--connection",
        connection,
        "--label",
        "rotation",
        "--json",
    ])))
    .unwrap();
    let second_token = second["token"].as_str().unwrap();
    assert_eq!(users_status(&app, base, second_token).await, 200);

    let list: Value =
        serde_json::from_str(&run_ok(roster(&app).args(["token", "list", "--tenant", "initech", "--json"])))
            .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(token), "token list must not reveal tokens");

    let first_id = created["token_id"].as_str().unwrap();
    run_ok(roster(&app).args(["token", "revoke", "--tenant", "initech", first_id]));
    assert_eq!(users_status(&app, base, token).await, 401);
    assert_eq!(users_status(&app, base, second_token).await, 200, "other tokens keep working");
    let list: Value =
        serde_json::from_str(&run_ok(roster(&app).args(["token", "list", "--tenant", "initech", "--json"])))
            .unwrap();
    let revoked = list.as_array().unwrap().iter().find(|t| t["token_id"] == first_id).unwrap();
    assert_eq!(revoked["state"], "revoked");

    // Unknown tenant: a clear message, non-zero exit.
    let out =
        roster(&app).args(["connection", "create", "--tenant", "nobody", "--name", "x"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tenant"));
}

#[test]
fn migrate_against_database_url() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(TestApp::spawn());
    let out = run_ok(roster(&app).arg("migrate"));
    assert!(out.contains("up to date"), "{out}");
}

#[test]
fn no_postgres_binaries_and_no_database_url_is_one_clear_message() {
    let data = tempdir("nobin");
    let out = Command::new(env!("CARGO_BIN_EXE_roster"))
        .env_remove("DATABASE_URL")
        .env("ROSTER_DATA_DIR", &data)
        .env("ROSTER_PG_BINDIR", "/nonexistent/postgresql/bin")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DATABASE_URL") && stderr.contains("PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
    let _ = std::fs::remove_dir_all(data);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("roster-cli-{name}-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Start `roster serve` on the embedded default and return it with the lines it printed up to
/// its "listening" line (the demo credentials when the database was empty) and its port.
fn start_embedded(data: &std::path::Path) -> (Serving, Vec<String>, u16) {
    let mut cmd = serve::command();
    cmd.env_remove("DATABASE_URL")
        .env_remove("ROSTER_SIGNING_KEY")
        .env_remove("ROSTER_PUBLIC_URL")
        .env("ROSTER_DATA_DIR", data);
    let (serving, lines, root) = serve::start(cmd);
    let port = root.rsplit(':').next().unwrap().parse().unwrap();
    (serving, lines, port)
}

fn stop(serving: Serving) {
    let mut child = serving.into_child();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "serve exited with {status}");
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "serve did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn field(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label} in {lines:?}"))
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_default_serves_restarts_and_stops_cleanly() {
    let data = tempdir("embedded");
    let client = reqwest::Client::new();

    let (child, lines, port) = tokio::task::spawn_blocking({
        let data = data.clone();
        move || start_embedded(&data)
    })
    .await
    .unwrap();
    let base = field(&lines, "SCIM base URL:");
    let token = field(&lines, "Bearer token:");
    assert!(base.starts_with(&format!("http://127.0.0.1:{port}/scim/v2/")), "{base}");
    let r = send(client.get(format!("{base}/Users")).bearer_auth(&token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.unwrap().status(), 200);
    let created = send(
        client
            .post(format!("{base}/Users"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .body(r#"{"userName":"persist@example.com"}"#),
    )
    .await;
    assert_eq!(created.status, 201);
    tokio::task::spawn_blocking(move || stop(child)).await.unwrap();

    // Second start: same cluster and data, no second demo, the old token still valid.
    let (child, lines, port2) = tokio::task::spawn_blocking({
        let data = data.clone();
        move || start_embedded(&data)
    })
    .await
    .unwrap();
    assert!(!lines.iter().any(|l| l.contains("Bearer token")), "demo credentials printed twice: {lines:?}");
    let base2 = base.replace(&format!(":{port}/"), &format!(":{port2}/"));
    let r = send(client.get(format!("{base2}/Users")).bearer_auth(&token)).await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    tokio::task::spawn_blocking(move || stop(child)).await.unwrap();
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn cli_manages_tenant_admin_tokens() {
    let app = TestApp::spawn().await;
    let tenant = app.creds.tenant.clone();
    let issued: Value = serde_json::from_str(&run_ok(roster(&app).args([
        "admin-token",
        "issue",
        "--tenant",
        &tenant,
        "--label",
        "hr app",
        "--expires-in-days",
        "30",
        "--json",
    ])))
    .unwrap();
    let (token, id) = (issued["token"].as_str().unwrap(), issued["token_id"].as_str().unwrap());
    assert!(issued["expires_at"].is_string(), "{issued}");
    let members = format!("{}/admin/v1/tenants/{tenant}/members", app.root);
    assert_eq!(send(app.client.get(&members).bearer_auth(token)).await.status, 200);
    let listed = run_ok(roster(&app).args(["admin-token", "list", "--tenant", &tenant, "--json"]));
    assert!(listed.contains(id) && listed.contains("\"active\"") && !listed.contains(token), "{listed}");
    run_ok(roster(&app).args(["admin-token", "revoke", "--tenant", &tenant, id]));
    assert_eq!(send(app.client.get(&members).bearer_auth(token)).await.status, 401);
    let listed = run_ok(roster(&app).args(["admin-token", "list", "--tenant", &tenant]));
    assert!(listed.contains("revoked"), "{listed}");
    let zero =
        roster(&app).args(["admin-token", "issue", "--tenant", &tenant, "--expires-in-days", "0"]).output();
    assert!(!zero.unwrap().status.success(), "a token that is expired at once is refused");
}
