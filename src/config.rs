//! Typed settings, read from flags and environment variables and validated once at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::scim::bulk::BulkLimits;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Settings shared by every command. Each flag has an environment variable of the same meaning,
/// and a key of the same name in the configuration file (`crate::config_file`).
#[derive(Debug, Clone, Args, serde::Serialize)]
pub struct Settings {
    /// TOML file of settings (keys named like the flags, with underscores). The environment
    /// and flags override it. Unknown keys are an error.
    #[arg(long, env = "ROSTER_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Address the HTTP server listens on.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080", global = true)]
    pub listen: SocketAddr,

    /// Public base URL used in links (`meta.location`, `Location`, SCIM base URLs).
    /// Defaults to `http://<listen address>`.
    #[arg(long, env = "ROSTER_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Directory for the embedded PostgreSQL cluster and the generated signing key.
    #[arg(long, env = "ROSTER_DATA_DIR", default_value = ".roster", global = true)]
    pub data_dir: PathBuf,

    /// An existing PostgreSQL to use instead of the embedded private cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// Directory holding the PostgreSQL server binaries (initdb, postgres) for the embedded cluster.
    #[arg(long, env = "ROSTER_PG_BINDIR", global = true)]
    pub pg_bindir: Option<PathBuf>,

    /// Secret (at least 32 bytes) that signs connection tokens. Generated and kept in the data
    /// directory when unset; set it explicitly when several Roster nodes share one database.
    #[arg(long, env = "ROSTER_SIGNING_KEY", hide_env_values = true, global = true)]
    pub signing_key: Option<String>,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "ROSTER_MAX_BODY_BYTES", default_value_t = 1_048_576, global = true)]
    pub max_body_bytes: usize,

    /// Most operations one `/Bulk` request may carry (advertised as `bulk.maxOperations`).
    #[arg(long, env = "ROSTER_BULK_MAX_OPERATIONS", default_value_t = 1000, global = true)]
    pub bulk_max_operations: usize,

    /// Largest `/Bulk` request body in bytes (advertised as `bulk.maxPayloadSize`); it replaces
    /// `ROSTER_MAX_BODY_BYTES` on that endpoint.
    #[arg(long, env = "ROSTER_BULK_MAX_PAYLOAD_BYTES", default_value_t = 1_048_576, global = true)]
    pub bulk_max_payload_bytes: usize,

    /// Most data rows one member import may have; larger files are refused before anything
    /// is written.
    #[arg(long, env = "ROSTER_IMPORT_MAX_ROWS", default_value_t = 10_000, global = true)]
    pub import_max_rows: usize,

    /// Page size used when a list request gives no `count`.
    #[arg(long, env = "ROSTER_DEFAULT_PAGE_SIZE", default_value_t = 100, global = true)]
    pub default_page_size: u32,

    /// Largest page size a list request may ask for (larger counts are reduced to it).
    #[arg(long, env = "ROSTER_MAX_PAGE_SIZE", default_value_t = 1000, global = true)]
    pub max_page_size: u32,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "ROSTER_DB_POOL_SIZE", default_value_t = 16, global = true)]
    pub db_pool_size: usize,

    /// Milliseconds a request waits for a free database connection before answering 503.
    #[arg(long, env = "ROSTER_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 5_000, global = true)]
    pub db_acquire_timeout_ms: u64,

    /// Milliseconds allowed to open a database connection.
    #[arg(long, env = "ROSTER_DB_CONNECT_TIMEOUT_MS", default_value_t = 5_000, global = true)]
    pub db_connect_timeout_ms: u64,

    /// PostgreSQL `statement_timeout` of every connection, in milliseconds (0: none). A statement
    /// cancelled by it answers 503. The default leaves room for a 10,000-row import.
    #[arg(long, env = "ROSTER_DB_STATEMENT_TIMEOUT_MS", default_value_t = 30_000, global = true)]
    pub db_statement_timeout_ms: u64,

    /// PostgreSQL `idle_in_transaction_session_timeout` of every connection, in milliseconds (0: none).
    #[arg(long, env = "ROSTER_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", default_value_t = 60_000, global = true)]
    pub db_idle_in_transaction_timeout_ms: u64,

    /// Milliseconds a client has to send a request's headers (408 after).
    #[arg(long, env = "ROSTER_HTTP_HEADER_TIMEOUT_MS", default_value_t = 5_000, global = true)]
    pub http_header_timeout_ms: u64,

    /// Milliseconds a client has to send a request's whole body (408 with a SCIM error after).
    #[arg(long, env = "ROSTER_HTTP_BODY_TIMEOUT_MS", default_value_t = 30_000, global = true)]
    pub http_body_timeout_ms: u64,

    /// Milliseconds a SCIM request (other than /Bulk) may take before it is answered 503 with
    /// `Retry-After`: bounds requests that meet a database that stopped answering, where the
    /// statement timeout cannot fire. Keep it above ROSTER_DB_STATEMENT_TIMEOUT_MS.
    #[arg(long, env = "ROSTER_HTTP_REQUEST_TIMEOUT_MS", default_value_t = 45_000, global = true)]
    pub http_request_timeout_ms: u64,

    /// Seconds an idle keep-alive connection is kept open.
    #[arg(long, env = "ROSTER_HTTP_KEEP_ALIVE_SECS", default_value_t = 60, global = true)]
    pub http_keep_alive_secs: u64,

    /// Days of provisioning log to keep; `roster serve` deletes older entries once an hour.
    #[arg(long, env = "ROSTER_LOG_RETENTION_DAYS", default_value_t = 90, global = true)]
    pub log_retention_days: u32,

    /// Operator credential for the admin API (`/admin/v1`, `Authorization: Bearer <it>`), at
    /// least 32 characters. Unset: the admin API answers 401 to everyone.
    #[arg(long, env = "ROSTER_ADMIN_TOKEN", hide_env_values = true, global = true)]
    pub admin_token: Option<String>,

    /// Days delivered events are kept in the outbox (events a webhook still waits for are kept
    /// until delivered).
    #[arg(long, env = "ROSTER_EVENT_RETENTION_DAYS", default_value_t = 30, global = true)]
    pub event_retention_days: u32,

    /// Milliseconds between two polls of the event outbox by `roster serve`'s dispatcher.
    #[arg(long, env = "ROSTER_EVENTS_POLL_MS", default_value_t = 500, global = true)]
    pub events_poll_ms: u64,

    /// PEM file of extra CA certificates trusted for https:// event receivers (besides the
    /// built-in webpki roots), e.g. a private CA.
    #[arg(long, env = "ROSTER_WEBHOOK_CA_FILE", global = true)]
    pub webhook_ca_file: Option<PathBuf>,

    /// Allow event receivers on loopback, private, link-local and other non-public addresses
    /// (`1`, `true`, `yes`, `on`). Off by default: deliveries connect only to public addresses.
    #[arg(
        long,
        env = "ROSTER_WEBHOOK_ALLOW_PRIVATE",
        global = true,
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub webhook_allow_private: bool,

    /// Requests per second one connection token may make (SCIM); bursts up to
    /// `ROSTER_RATE_LIMIT_TOKEN_BURST`. Over it: 429 with `Retry-After`. `0` turns it off.
    #[arg(long, env = "ROSTER_RATE_LIMIT_TOKEN_PER_SEC", default_value_t = 5000, global = true)]
    pub rate_limit_token_per_sec: u32,

    /// Burst size of the per-token limit (requests admitted at once before the rate applies).
    #[arg(long, env = "ROSTER_RATE_LIMIT_TOKEN_BURST", default_value_t = 10000, global = true)]
    pub rate_limit_token_burst: u32,

    /// Requests per second one client IP may make on any route (burst: twice that). `0` (the
    /// default) turns it off: behind a load balancer every IdP shares the balancer's address.
    #[arg(long, env = "ROSTER_RATE_LIMIT_IP_PER_SEC", default_value_t = 0, global = true)]
    pub rate_limit_ip_per_sec: u32,

    /// Failed credentials (401 on `/admin/v1` or SCIM) one client IP may send per minute; past
    /// that, its requests there get 429 until the minute has passed. `0` turns it off.
    #[arg(long, env = "ROSTER_AUTH_FAILURES_PER_MIN", default_value_t = 10, global = true)]
    pub auth_failures_per_min: u32,

    /// Join API requests (`/join/v1`, lookups and registrations) one client IP may send per
    /// minute; past that, 429 with `Retry-After`. `0` turns it off.
    #[arg(long, env = "ROSTER_JOIN_RATE_IP_PER_MIN", default_value_t = 30, global = true)]
    pub join_rate_ip_per_min: u32,

    /// Join API requests per minute for one tenant, from all addresses together. `0` turns it off.
    #[arg(long, env = "ROSTER_JOIN_RATE_TENANT_PER_MIN", default_value_t = 600, global = true)]
    pub join_rate_tenant_per_min: u32,

    /// Take the client IP from the last `X-Forwarded-For` entry (set by your own reverse proxy)
    /// instead of the peer address. Off by default: the header is client-controlled.
    #[arg(
        long,
        env = "ROSTER_TRUST_FORWARDED_FOR",
        global = true,
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub trust_forwarded_for: bool,

    /// Days until a new connection or admin token expires when it is issued without an explicit
    /// expiry. Unset: such tokens never expire.
    #[arg(long, env = "ROSTER_TOKEN_DEFAULT_EXPIRY_DAYS", global = true)]
    pub token_default_expiry_days: Option<u32>,

    /// Minutes a console session may sit unused before it ends (issue #11).
    #[arg(long, env = "ROSTER_CONSOLE_IDLE_MINUTES", default_value_t = 30, global = true)]
    pub console_idle_minutes: u32,

    /// Hours after sign-in when a console session ends however busy it is (issue #11).
    #[arg(long, env = "ROSTER_CONSOLE_SESSION_HOURS", default_value_t = 12, global = true)]
    pub console_session_hours: u32,
    /// Seconds an OAuth access token from `POST /oauth/token` is valid (1 to 86400).
    #[arg(long, env = "ROSTER_OAUTH_TOKEN_LIFETIME_SECS", default_value_t = 3600, global = true)]
    pub oauth_token_lifetime_secs: u32,

    /// Seconds the previous client secret stays valid after a rotation, unless the rotation says
    /// otherwise (0 to 2592000).
    #[arg(long, env = "ROSTER_OAUTH_SECRET_OVERLAP_SECS", default_value_t = 86_400, global = true)]
    pub oauth_secret_overlap_secs: u32,

    /// Credential (at least 32 characters) Prometheus sends as `Authorization: Bearer <it>` to
    /// scrape `GET /metrics`. Unset: `/metrics` answers 401 to everyone.
    #[arg(long, env = "ROSTER_METRICS_TOKEN", hide_env_values = true, global = true)]
    pub metrics_token: Option<String>,

    /// Log format: `pretty` for a terminal, `json` for collectors.
    #[arg(long, env = "ROSTER_LOG_FORMAT", value_enum, default_value = "pretty", global = true)]
    pub log_format: LogFormat,

    /// Log filter in `tracing` syntax, e.g. `info` or `roster=debug,actix_web=info`.
    #[arg(long, env = "ROSTER_LOG", default_value = "info", global = true)]
    pub log_filter: String,
}

/// A settings value that failed validation.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Check cross-field rules that clap cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError(format!(
                    "ROSTER_PUBLIC_URL must start with http:// or https://, got {url:?}"
                )));
            }
        }
        if self.default_page_size == 0 || self.default_page_size > self.max_page_size {
            return Err(ConfigError(format!(
                "ROSTER_DEFAULT_PAGE_SIZE ({}) must be between 1 and ROSTER_MAX_PAGE_SIZE ({})",
                self.default_page_size, self.max_page_size
            )));
        }
        if self.db_pool_size == 0 {
            return Err(ConfigError("ROSTER_DB_POOL_SIZE must be at least 1".into()));
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError("ROSTER_MAX_BODY_BYTES must be at least 1024".into()));
        }
        for (name, value) in [
            ("ROSTER_DB_ACQUIRE_TIMEOUT_MS", self.db_acquire_timeout_ms),
            ("ROSTER_DB_CONNECT_TIMEOUT_MS", self.db_connect_timeout_ms),
            ("ROSTER_HTTP_HEADER_TIMEOUT_MS", self.http_header_timeout_ms),
            ("ROSTER_HTTP_BODY_TIMEOUT_MS", self.http_body_timeout_ms),
            ("ROSTER_HTTP_REQUEST_TIMEOUT_MS", self.http_request_timeout_ms),
        ] {
            if !(10..=3_600_000).contains(&value) {
                return Err(ConfigError(format!("{name} must be between 10 and 3600000")));
            }
        }
        if self.db_statement_timeout_ms > i32::MAX as u64
            || self.db_idle_in_transaction_timeout_ms > i32::MAX as u64
        {
            return Err(ConfigError("PostgreSQL timeouts must be at most 2147483647 ms".into()));
        }
        if !(1..=36_500).contains(&self.log_retention_days) {
            return Err(ConfigError("ROSTER_LOG_RETENTION_DAYS must be between 1 and 36500".into()));
        }
        if self.bulk_max_operations == 0 {
            return Err(ConfigError("ROSTER_BULK_MAX_OPERATIONS must be at least 1".into()));
        }
        if self.import_max_rows == 0 {
            return Err(ConfigError("ROSTER_IMPORT_MAX_ROWS must be at least 1".into()));
        }
        if self.bulk_max_payload_bytes < 1024 {
            return Err(ConfigError("ROSTER_BULK_MAX_PAYLOAD_BYTES must be at least 1024".into()));
        }
        if self.admin_token.as_ref().is_some_and(|t| t.len() < 32) {
            return Err(ConfigError("ROSTER_ADMIN_TOKEN must be at least 32 characters long".into()));
        }
        if !(1..=36_500).contains(&self.event_retention_days) {
            return Err(ConfigError("ROSTER_EVENT_RETENTION_DAYS must be between 1 and 36500".into()));
        }
        if !(10..=3_600_000).contains(&self.events_poll_ms) {
            return Err(ConfigError("ROSTER_EVENTS_POLL_MS must be between 10 and 3600000".into()));
        }
        if self.rate_limit_token_per_sec > 0 && self.rate_limit_token_burst == 0 {
            return Err(ConfigError("ROSTER_RATE_LIMIT_TOKEN_BURST must be at least 1".into()));
        }
        if !(1..=10_080).contains(&self.console_idle_minutes) {
            return Err(ConfigError(
                "ROSTER_CONSOLE_IDLE_MINUTES must be between 1 and 10080 (a week)".into(),
            ));
        }
        if !(1..=720).contains(&self.console_session_hours) {
            return Err(ConfigError(
                "ROSTER_CONSOLE_SESSION_HOURS must be between 1 and 720 (30 days)".into(),
            ));
        }
        if self.token_default_expiry_days.is_some_and(|d| !(1..=36_500).contains(&d)) {
            return Err(ConfigError("ROSTER_TOKEN_DEFAULT_EXPIRY_DAYS must be between 1 and 36500".into()));
        }
        if !(1..=86_400).contains(&self.oauth_token_lifetime_secs) {
            return Err(ConfigError("ROSTER_OAUTH_TOKEN_LIFETIME_SECS must be between 1 and 86400".into()));
        }
        if self.oauth_secret_overlap_secs > 2_592_000 {
            return Err(ConfigError(
                "ROSTER_OAUTH_SECRET_OVERLAP_SECS must be at most 2592000 (30 days)".into(),
            ));
        }
        if self.metrics_token.as_ref().is_some_and(|t| t.len() < 32) {
            return Err(ConfigError("ROSTER_METRICS_TOKEN must be at least 32 characters long".into()));
        }
        if let Some(key) = &self.signing_key {
            if key.len() < 32 {
                return Err(ConfigError("ROSTER_SIGNING_KEY must be at least 32 bytes long".into()));
            }
        }
        Ok(())
    }

    /// The database pool's size and timeouts.
    pub fn pool_options(&self) -> crate::db::PoolOptions {
        use std::time::Duration;
        crate::db::PoolOptions {
            size: self.db_pool_size,
            acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
            connect_timeout: Duration::from_millis(self.db_connect_timeout_ms),
            statement_timeout: Duration::from_millis(self.db_statement_timeout_ms),
            idle_in_transaction_timeout: Duration::from_millis(self.db_idle_in_transaction_timeout_ms),
        }
    }

    /// The `/Bulk` limits.
    pub fn bulk_limits(&self) -> BulkLimits {
        BulkLimits {
            max_operations: self.bulk_max_operations,
            max_payload_bytes: self.bulk_max_payload_bytes,
        }
    }

    /// The public base URL without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The expiry of a token issued at `now`: the explicit number of days if given, otherwise
    /// `ROSTER_TOKEN_DEFAULT_EXPIRY_DAYS`, otherwise none.
    pub fn token_expiry(
        &self,
        explicit_days: Option<u32>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        token_expiry(explicit_days.or(self.token_default_expiry_days), now)
    }
}

/// `now` plus `days`, when there are days.
pub fn token_expiry(
    days: Option<u32>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    days.map(|d| now + chrono::Duration::days(i64::from(d)))
}
