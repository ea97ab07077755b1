//! The test harness: a real PostgreSQL (`DATABASE_URL`, or a private cluster under the target
//! directory), one migrated template per test process, one database per test cloned from it,
//! and a Roster server on port 0 talking real HTTP.

pub mod bomb;
pub mod browser;
pub mod console;
pub mod proxy;
pub mod requests;
pub mod serve;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::Utc;
use diesel::sql_types::{Integer, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use roster::auth::SigningKey;
use roster::clock::{Clock, SystemClock};
use roster::config::{LogFormat, Settings};
use roster::db;
use roster::directory::tenants;
use roster::local_pg::{ClusterOptions, LocalCluster};
use roster::startup::{Application, Parts};
use uuid::Uuid;

/// Where databases are created: the server URL without a database name, plus the template.
struct Shared {
    /// URL of a maintenance database on the server (`postgres`).
    admin_url: String,
    /// Builds the URL of a database on the same server.
    base: String,
    /// The migrated template of this test process.
    template: String,
    /// Keeps the private cluster alive for the whole process (never dropped; if the process
    /// dies, the cluster's parent-death signal stops it).
    _cluster: Option<std::sync::Mutex<LocalCluster>>,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The operator credential of test servers' admin API.
pub const TEST_ADMIN_TOKEN: &str = "test-admin-token-test-admin-token-0123";

/// The credential of test servers' `/metrics`.
pub const TEST_METRICS_TOKEN: &str = "test-metrics-token-test-metrics-token-01";

/// The signing secret of test servers.
pub const TEST_SECRET: &[u8] = b"test-secret-test-secret-test-secret";

fn split_url(url: &str) -> (String, String) {
    // postgres://user:pw@host:port/db?params -> ("postgres://user:pw@host:port/", "db")
    let (head, tail) = url.rsplit_once('/').unwrap_or((url, ""));
    (format!("{head}/"), tail.split('?').next().unwrap_or("").to_string())
}

#[derive(QueryableByName)]
struct DbName {
    #[diesel(sql_type = Text)]
    datname: String,
}

#[derive(QueryableByName)]
struct One {
    #[diesel(sql_type = Integer)]
    #[allow(dead_code)]
    one: i32,
}

fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Drop databases left behind by test processes that no longer run.
async fn sweep_stale(conn: &mut AsyncPgConnection) {
    let names: Vec<DbName> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'roster\\_t\\_%'")
            .load(conn)
            .await
            .unwrap_or_default();
    for DbName { datname } in names {
        let pid = datname.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !pid_alive(p)) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{datname}\" WITH (FORCE)"))
                .execute(conn)
                .await;
        }
    }
}

fn init_shared() -> Result<Shared, String> {
    let (admin_url, cluster) = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let (base, _) = split_url(&url);
            (format!("{base}postgres"), None)
        }
        _ => {
            let mut options =
                ClusterOptions::new(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("roster-test-pg"));
            options.ephemeral_tuning = true;
            let cluster = LocalCluster::start(&options).map_err(|e| e.to_string())?;
            (cluster.url("postgres"), Some(cluster))
        }
    };
    let (base, _) = split_url(&admin_url);
    let template = format!("roster_t_{}_template", std::process::id());
    // A private runtime: this runs once, from whichever test gets here first.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut conn = AsyncPgConnection::establish(&admin_url).await.map_err(|e| format!("connect {e}"))?;
        sweep_stale(&mut conn).await;
        diesel::sql_query(format!("CREATE DATABASE \"{template}\""))
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(())
    })?;
    let template_url = format!("{base}{template}");
    std::thread::spawn(move || {
        let rt =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(db::run_migrations(&template_url)).map_err(|e| format!("{e:#}"))
    })
    .join()
    .map_err(|_| "migration thread panicked".to_string())??;
    Ok(Shared { admin_url, base, template, _cluster: cluster.map(std::sync::Mutex::new) })
}

fn shared() -> &'static Shared {
    match SHARED.get_or_init(|| {
        std::thread::spawn(init_shared).join().unwrap_or_else(|_| Err("harness init panicked".into()))
    }) {
        Ok(s) => s,
        Err(e) => panic!("test database unavailable: {e}"),
    }
}

/// A database that belongs to one test; dropped when the test ends.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    name: String,
}

impl TestDb {
    /// Clone the migrated template into a fresh database.
    pub async fn create() -> TestDb {
        let shared = shared();
        let name = format!("roster_t_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
        let mut conn = AsyncPgConnection::establish(&shared.admin_url).await.expect("connect to admin db");
        diesel::sql_query(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{}\"", shared.template))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _: Vec<One> = diesel::sql_query("SELECT 1 AS one").load(&mut conn).await.expect("ping");
        TestDb { url: format!("{}{name}", shared.base), name }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = shared().admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn = AsyncPgConnection::establish(&admin).await.ok()?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Buffer accesses (shared blocks hit and read, from `EXPLAIN (ANALYZE, BUFFERS)`) of a retention
/// statement taking (tenant, cutoff, limit), run and rolled back, with the planner's hashing,
/// sorting, memoizing and materializing off: a semi-join can then only re-run its inner side per
/// outer row, as plans misled by statistics do. What a statement costs, counted, not timed.
pub async fn retention_accesses(
    conn: &mut roster::db::Conn,
    sql: &str,
    tenant: uuid::Uuid,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> u64 {
    use diesel::sql_types::{BigInt, Json, Timestamptz, Uuid};
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = Json, column_name = "QUERY PLAN")]
        plan: serde_json::Value,
    }
    conn.batch_execute(
        "BEGIN; SET LOCAL enable_hashagg = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_sort = off; \
         SET LOCAL enable_memoize = off; SET LOCAL enable_material = off; SET LOCAL enable_mergejoin = off",
    )
    .await
    .unwrap();
    let explained: Plan = diesel::sql_query(format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"))
        .bind::<Uuid, _>(tenant)
        .bind::<Timestamptz, _>(cutoff)
        .bind::<BigInt, _>(limit)
        .get_result(conn)
        .await
        .unwrap();
    conn.batch_execute("ROLLBACK").await.unwrap();
    let top = &explained.plan[0]["Plan"];
    ["Shared Hit Blocks", "Shared Read Blocks"].iter().map(|k| top[*k].as_u64().unwrap()).sum()
}

/// `ANALYZE` the tables as their owner (a plain connection, which states no scope).
pub async fn analyze_as_owner(db_url: &str, tables: &str) {
    use diesel_async::{AsyncConnection, SimpleAsyncConnection};
    let mut owner = roster::db::Conn::establish(db_url).await.unwrap();
    owner.batch_execute(&format!("ANALYZE {tables}")).await.unwrap();
}

/// Settings for a test server: port 0, test limits, test secret.
pub fn test_settings(db_url: &str) -> Settings {
    Settings {
        config: None,
        listen: "127.0.0.1:0".parse().expect("literal address"),
        public_url: None,
        data_dir: std::env::temp_dir().join("roster-tests-unused"),
        database_url: Some(db_url.to_string()),
        pg_bindir: None,
        signing_key: None,
        max_body_bytes: 64 * 1024,
        bulk_max_operations: 1000,
        bulk_max_payload_bytes: 1_048_576,
        import_max_rows: 50,
        default_page_size: 100,
        max_page_size: 1000,
        // One connection per HTTP worker (`db::WorkerPools` splits the pool between them): a
        // request or job that needed two of its worker's at once would wait out the acquire
        // timeout and fail here, as it would in production on a machine with more CPUs.
        db_pool_size: 2,
        db_acquire_timeout_ms: 5_000,
        db_connect_timeout_ms: 5_000,
        db_statement_timeout_ms: 30_000,
        db_idle_in_transaction_timeout_ms: 60_000,
        http_header_timeout_ms: 5_000,
        http_body_timeout_ms: 30_000,
        http_request_timeout_ms: 45_000,
        http_keep_alive_secs: 60,
        log_retention_days: 90,
        admin_token: Some(TEST_ADMIN_TOKEN.into()),
        events_poll_ms: 500,
        event_retention_days: 30,
        webhook_ca_file: None,
        // Test receivers listen on 127.0.0.1.
        webhook_allow_private: true,
        rate_limit_token_per_sec: 5000,
        rate_limit_token_burst: 10_000,
        rate_limit_ip_per_sec: 0,
        auth_failures_per_min: 10,
        join_rate_ip_per_min: 0,
        join_rate_tenant_per_min: 0,
        trust_forwarded_for: false,
        token_default_expiry_days: None,
        console_idle_minutes: 30,
        console_session_hours: 12,
        oauth_token_lifetime_secs: 3600,
        oauth_secret_overlap_secs: 86_400,
        metrics_token: Some(TEST_METRICS_TOKEN.into()),
        log_format: LogFormat::Pretty,
        log_filter: "warn".into(),
    }
}

/// Credentials of one connection.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Tenant slug.
    pub tenant: String,
    /// Connection id.
    pub connection: Uuid,
    /// Token id.
    pub token_id: Uuid,
    /// SCIM base URL of the connection.
    pub base: String,
    /// Bearer token.
    pub token: String,
}

/// A running Roster with its own database and one tenant + connection.
pub struct TestApp {
    /// Server root, e.g. `http://127.0.0.1:40123`.
    pub root: String,
    /// The default connection's credentials.
    pub creds: Credentials,
    /// HTTP client.
    pub client: reqwest::Client,
    /// Pool on the test database, for direct checks.
    pub pool: db::DbPool,
    /// Key the server verifies tokens with.
    pub key: SigningKey,
    /// URL of the test database.
    pub db_url: String,
    /// The server's provisioning log recorder.
    pub recorder: roster::provisioning::Recorder,
    handle: actix_web::dev::ServerHandle,
    _db: TestDb,
}

impl TestApp {
    /// Start a server on a fresh database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Start a server with adjusted settings.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        Self::start(adjust, false, Arc::new(SystemClock)).await.0
    }

    /// Start a server with adjusted settings and a clock the test controls.
    pub async fn spawn_with_clock(adjust: impl FnOnce(&mut Settings), clock: Arc<dyn Clock>) -> TestApp {
        Self::start(adjust, false, clock).await.0
    }

    /// Start a server with adjusted settings whose database connections (the server's and
    /// [`TestApp::pool`]'s; not [`TestApp::db_url`]) pass through a proxy the test controls.
    pub async fn spawn_with_proxy(adjust: impl FnOnce(&mut Settings)) -> (TestApp, proxy::Proxy) {
        let (app, proxy) = Self::start(adjust, true, Arc::new(SystemClock)).await;
        (app, proxy.expect("proxy started"))
    }

    async fn start(
        adjust: impl FnOnce(&mut Settings),
        proxied: bool,
        clock: Arc<dyn Clock>,
    ) -> (TestApp, Option<proxy::Proxy>) {
        let test_db = TestDb::create().await;
        let (url, proxy) = if proxied {
            let mut via = url::Url::parse(&test_db.url).expect("database URL");
            let target = format!("{}:{}", via.host_str().expect("TCP database"), via.port().unwrap_or(5432));
            let proxy = proxy::Proxy::start(target).await;
            via.set_host(Some("127.0.0.1")).expect("host");
            via.set_port(Some(proxy.port)).expect("port");
            (via.to_string(), Some(proxy))
        } else {
            (test_db.url.clone(), None)
        };
        let mut settings = test_settings(&url);
        adjust(&mut settings);
        // The background tasks' pool, which the tests' own checkouts share: as many connections
        // as the workers have between them, and two more for what a test holds meanwhile.
        let background = db::PoolOptions { size: settings.db_pool_size + 2, ..settings.pool_options() };
        let pool = db::build_pool(&url, &background).expect("pool");
        let key = SigningKey::from_secret(TEST_SECRET);
        let parts = Parts { pool: pool.clone(), signing_key: key.clone(), clock };
        let app = Application::build(&settings, parts).expect("build app");
        let root = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        let recorder = app.recorder().clone();
        tokio::spawn(app.run_until_stopped());
        let mut test_app = TestApp {
            root,
            creds: Credentials {
                tenant: String::new(),
                connection: Uuid::nil(),
                token_id: Uuid::nil(),
                base: String::new(),
                token: String::new(),
            },
            client: reqwest::Client::new(),
            pool,
            key,
            db_url: test_db.url.clone(),
            recorder,
            handle,
            _db: test_db,
        };
        test_app.creds = test_app.new_tenant("acme").await;
        (test_app, proxy)
    }

    /// Another live token of the test connection (without expiry), issued now: its JWT.
    pub async fn spare_token(&self, label: &str) -> String {
        let mut conn = db::checkout(&self.pool, roster::db::Scope::All).await.expect("checkout");
        let tenant = roster::directory::tenants::tenant(&mut conn, &self.creds.tenant).await.expect("tenant");
        let connection = roster::directory::tenants::connection(&mut conn, &tenant, self.creds.connection)
            .await
            .expect("connection");
        roster::directory::tenants::issue_token(&mut conn, &self.key, &connection, label, None, Utc::now())
            .await
            .expect("issue a token")
            .token
    }

    /// A connection of its own holding a key-share lock on the row of `table` with this `id` (the
    /// lock another transaction's foreign-key check takes), in a transaction left open: end it
    /// (`COMMIT` or `ROLLBACK`) to release the row.
    pub async fn hold_key_share(&self, table: &str, id: &str) -> AsyncPgConnection {
        let mut holder = AsyncPgConnection::establish(&self.db_url).await.expect("connect");
        let hold = format!("BEGIN; SELECT 1 FROM {table} WHERE id = '{id}' FOR KEY SHARE");
        holder.batch_execute(&hold).await.expect("hold the row");
        holder
    }

    /// Wait until the provisioning log entries of every request answered so far are written.
    pub async fn flush_log(&self) {
        self.recorder.flush().await;
    }

    /// The test tenant's event outbox, in id order.
    pub async fn outbox(&self) -> Vec<roster::db::events::EventRow> {
        let mut conn = db::checkout(&self.pool, roster::db::Scope::All).await.expect("checkout");
        let tenant = roster::directory::tenants::tenant(&mut conn, &self.creds.tenant).await.expect("tenant");
        roster::db::events::list(&mut conn, tenant.id).await.expect("events")
    }

    /// Create a tenant with one connection and return its credentials.
    pub async fn new_tenant(&self, slug: &str) -> Credentials {
        let mut conn = db::checkout(&self.pool, roster::db::Scope::All).await.expect("checkout");
        let tenant =
            tenants::create_tenant(&mut conn, slug, "Test tenant", None, Utc::now()).await.expect("tenant");
        self.add_connection(&tenant.slug, "Entra ID").await
    }

    /// Add a connection to an existing tenant.
    pub async fn add_connection(&self, slug: &str, name: &str) -> Credentials {
        let mut conn = db::checkout(&self.pool, roster::db::Scope::All).await.expect("checkout");
        let tenant = tenants::tenant(&mut conn, slug).await.expect("tenant exists");
        let (c, token) = tenants::create_connection(&mut conn, &self.key, &tenant, name, None, Utc::now())
            .await
            .expect("connection");
        Credentials {
            tenant: tenant.slug,
            connection: c.id,
            token_id: token.record.id,
            base: format!("{}/scim/v2/{}", self.root, c.id),
            token: token.token,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server without waiting; its database is dropped next (WITH FORCE).
        drop(self.handle.stop(false));
    }
}
