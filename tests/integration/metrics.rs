//! Issue #13, the operations surface: a Prometheus scrape before and after a provisioning burst
//! (requests by route, status and connection, SCIM errors, tolerance rules, auth failures,
//! scrape-time gauges), the metrics credential, and `/readyz` with its checks while the database
//! is down. The configuration file and `roster config check` are in `cli` tests below.

use std::process::Command;

use reqwest::Method;
use serde_json::json;

use crate::support::requests::send;
use crate::support::{serve, TestApp, TEST_METRICS_TOKEN};

async fn scrape(app: &TestApp) -> String {
    let res =
        app.client.get(format!("{}/metrics", app.root)).bearer_auth(TEST_METRICS_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    res.text().await.unwrap()
}

/// The value of one series (`name{labels}` exactly as exposed), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn a_scrape_before_and_after_a_provisioning_burst_shows_the_counters_moving() {
    let app = TestApp::spawn().await;
    let c = app.creds.connection;
    let created = format!(
        r#"roster_http_requests_total{{connection="{c}",method="POST",route="/scim/v2/{{connection}}/{{endpoint:Users|Groups}}",status="201"}}"#
    );
    let conflicts = r#"roster_scim_errors_total{scim_type="uniqueness"}"#;
    let tolerated = r#"roster_tolerance_rules_total{rule="case_insensitive_op"}"#;
    let failures = r#"roster_auth_failures_total{surface="scim"}"#;
    let latency = r#"roster_http_request_duration_seconds_count{method="POST",route="/scim/v2/{connection}/{endpoint:Users|Groups}"}"#;

    let before = scrape(&app).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.create_user(&format!("burst{i}@example.com")).await);
    }
    let dup = app.post("/Users", &json!({"userName": "burst0@example.com"})).await;
    assert_eq!(dup.status, 409);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "Replace", "path": "displayName", "value": "Burst"}]});
    let patched = send(
        app.req(Method::PATCH, &format!("/Users/{}", ids[0]))
            .header("content-type", "application/scim+json")
            .body(patch.to_string()),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let forged = send(app.client.get(format!("{}/Users", app.creds.base)).bearer_auth("not-a-token")).await;
    assert_eq!(forged.status, 401);
    app.flush_log().await;
    let after = scrape(&app).await;

    assert_eq!(sample(&after, &created) - sample(&before, &created), 5.0, "{after}");
    assert_eq!(sample(&after, latency) - sample(&before, latency), 6.0);
    assert_eq!(sample(&after, conflicts) - sample(&before, conflicts), 1.0);
    assert_eq!(sample(&after, tolerated) - sample(&before, tolerated), 1.0);
    assert_eq!(sample(&after, failures) - sample(&before, failures), 1.0);
    // An unauthenticated request is counted without a connection (no label from the URL).
    assert!(after.contains(
        r#"connection="none",method="GET",route="/scim/v2/{connection}/{endpoint:Users|Groups}",status="401""#
    ));
    // Scrape-time gauges: the pool, the provisioning log (nothing dropped), the outbox, imports.
    for gauge in [
        r#"roster_db_pool_connections{state="in_use"}"#,
        "roster_provisioning_log_queue_depth",
        "roster_outbox_pending_deliveries",
        "roster_outbox_oldest_pending_age_seconds",
        "roster_imports_running",
    ] {
        assert!(after.lines().any(|l| l.starts_with(gauge)), "{gauge} missing:\n{after}");
    }
    assert_eq!(sample(&after, "roster_provisioning_log_dropped_total"), 0.0);
    assert_eq!(sample(&after, "roster_metrics_database_up"), 1.0);
}

#[tokio::test]
async fn metrics_need_their_own_credential() {
    let app = TestApp::spawn().await;
    let url = format!("{}/metrics", app.root);
    send(app.client.get(&url)).await.assert_error(401, None);
    // Neither a connection token nor the admin credential opens it.
    send(app.client.get(&url).bearer_auth(&app.creds.token)).await.assert_error(401, None);
    send(app.client.get(&url).bearer_auth(crate::support::TEST_ADMIN_TOKEN)).await.assert_error(401, None);
    let unset = TestApp::spawn_with(|s| s.metrics_token = None).await;
    let detail = send(unset.client.get(format!("{}/metrics", unset.root)).bearer_auth(TEST_METRICS_TOKEN))
        .await
        .assert_error(401, None);
    assert!(detail.contains("ROSTER_METRICS_TOKEN"), "{detail}");
}

#[tokio::test]
async fn readyz_reports_each_check_and_503_while_the_database_is_down() {
    let (app, mut proxy) = TestApp::spawn_with_proxy(|_| {}).await;
    let ready = send(app.client.get(format!("{}/readyz", app.root))).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["checks"]["migrations"], "ok");
    proxy.close().await;
    let down = send(app.client.get(format!("{}/readyz", app.root))).await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(down.body["status"], "unavailable");
    assert_ne!(down.body["checks"]["database"], "ok");
    assert_eq!(down.body["checks"]["migrations"], "unknown");
    assert_eq!(down.header("retry-after"), "5");
    // Liveness does not depend on the database.
    assert_eq!(send(app.client.get(format!("{}/healthz", app.root))).await.status, 200);
}

fn config_check(file: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("ROSTER_") || k == "DATABASE_URL") {
        cmd.env_remove(name);
    }
    cmd.args(["config", "check", "--config"]).arg(file);
    cmd
}

fn write_config(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("roster-{name}-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_check_prints_effective_settings_with_env_over_file_and_secrets_masked() {
    let admin = "file-admin-token-file-admin-token-0123456";
    let file = write_config(
        "check",
        &format!(
            "listen = \"0.0.0.0:9999\"\ndb_pool_size = 7\nadmin_token = \"{admin}\"\n\
             database_url = \"postgres://roster:hunter2-secret@db.example/roster\"\noauth_token_lifetime_secs = 600\n"
        ),
    );
    let out = config_check(&file).env("ROSTER_DB_POOL_SIZE", "9").output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("listen = \"0.0.0.0:9999\"  # file"), "{stdout}");
    assert!(stdout.contains("db_pool_size = 9  # environment ROSTER_DB_POOL_SIZE"), "{stdout}");
    assert!(stdout.contains("oauth_token_lifetime_secs = 600  # file"), "{stdout}");
    assert!(stdout.contains("max_page_size = 1000  # default"), "{stdout}");
    assert!(stdout.contains("admin_token = \"********\"  # file"), "{stdout}");
    assert!(stdout.contains("postgres://roster:********@db.example/roster"), "{stdout}");
    assert!(!stdout.contains(admin) && !stdout.contains("hunter2"), "a secret leaked:\n{stdout}");
    assert!(stdout.contains("the configuration is valid"));
    // A flag overrides both.
    let flagged =
        config_check(&file).env("ROSTER_DB_POOL_SIZE", "9").args(["--db-pool-size", "3"]).output().unwrap();
    assert!(String::from_utf8(flagged.stdout).unwrap().contains("db_pool_size = 3  # flag"));
    std::fs::remove_file(file).unwrap();
}

#[test]
fn config_check_refuses_unknown_keys_and_invalid_values() {
    for (text, fragment) in [
        ("db_pool_sise = 3\n", "unknown setting \"db_pool_sise\""),
        ("metrics_token = \"short\"\n", "ROSTER_METRICS_TOKEN must be at least 32"),
        ("oauth_token_lifetime_secs = 0\n", "ROSTER_OAUTH_TOKEN_LIFETIME_SECS"),
        ("listen = [\"a\", \"b\"]\n", "string, a number or a boolean"),
    ] {
        let file = write_config("bad", text);
        let out = config_check(&file).output().unwrap();
        assert!(!out.status.success(), "{text} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(fragment), "{text}: {stderr}");
        std::fs::remove_file(file).unwrap();
    }
}

#[tokio::test]
async fn roster_serve_reads_the_config_file_and_its_dispatcher_is_ready() {
    let app = TestApp::spawn().await;
    let file = write_config(
        "serve",
        &format!(
            "database_url = \"{}\"\nmetrics_token = \"{TEST_METRICS_TOKEN}\"\nsigning_key = \"{}\"\n",
            app.db_url,
            std::str::from_utf8(crate::support::TEST_SECRET).unwrap()
        ),
    );
    let mut cmd = serve::command();
    cmd.arg("--config").arg(&file);
    let (_serving, _, root) = serve::start(cmd);
    let ready = send(app.client.get(format!("{root}/readyz"))).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.body["checks"], json!({"database": "ok", "migrations": "ok", "dispatcher": "ok"}));
    let scraped =
        app.client.get(format!("{root}/metrics")).bearer_auth(TEST_METRICS_TOKEN).send().await.unwrap();
    assert_eq!(scraped.status(), 200, "the metrics token came from the file");
    std::fs::remove_file(file).unwrap();
}
