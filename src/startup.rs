//! Building the running application: the database (external or the embedded private cluster),
//! migrations, shared state, and the HTTP server bound to its listener.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{middleware::from_fn, web, App, HttpServer};

use crate::auth::SigningKey;
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::http::{self, AppState, Shared};
use crate::local_pg::{ClusterOptions, LocalCluster};
use crate::provisioning::Recorder;
use crate::scim::list::PageLimits;
use crate::scim::schema::Registry;

/// The database Roster uses: `DATABASE_URL`, or the embedded cluster it started or joined.
pub struct Database {
    /// Connection URL (contains a password: never log it).
    pub url: String,
    /// The private cluster when one is in use; dropping it stops the cluster if we started it.
    pub cluster: Option<LocalCluster>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("embedded", &self.cluster.is_some()).finish()
    }
}

impl Database {
    /// Connect to `DATABASE_URL`, or start (or join) the private cluster under the data
    /// directory, then apply pending migrations.
    pub async fn open(settings: &Settings) -> anyhow::Result<Database> {
        let (url, cluster) = match &settings.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let options = ClusterOptions {
                    data_dir: settings.data_dir.clone(),
                    bin_dir: settings.pg_bindir.clone(),
                    os_user: "postgres".into(),
                    ephemeral_tuning: false,
                };
                let cluster = tokio::task::spawn_blocking(move || -> anyhow::Result<LocalCluster> {
                    let cluster = LocalCluster::start(&options)?;
                    cluster.ensure_database("roster")?;
                    Ok(cluster)
                })
                .await??;
                (cluster.url("roster"), Some(cluster))
            }
        };
        let applied = db::run_migrations(&url).await?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied database migrations");
        }
        Ok(Database { url, cluster })
    }

    /// Stop the private cluster if this process started it.
    pub fn close(mut self) {
        if let Some(mut cluster) = self.cluster.take() {
            if let Err(e) = cluster.stop() {
                tracing::warn!(error = %e, "stopping the private PostgreSQL cluster failed");
            }
        }
    }
}

/// Everything the HTTP server needs besides its listener.
pub struct Parts {
    /// Database pool.
    pub pool: DbPool,
    /// Token signing key.
    pub signing_key: SigningKey,
    /// Time source.
    pub clock: Arc<dyn Clock>,
}

impl Parts {
    /// Pool and key from settings, with the system clock.
    pub fn from_settings(settings: &Settings, database_url: &str) -> anyhow::Result<Parts> {
        Ok(Parts {
            pool: db::build_pool(database_url, &settings.pool_options())?,
            signing_key: SigningKey::load_or_create(settings.signing_key.as_deref(), &settings.data_dir)?,
            clock: Arc::new(SystemClock),
        })
    }
}

/// A bound, not yet running, HTTP server.
pub struct Application {
    server: Server,
    port: u16,
    public_url: String,
    recorder: Recorder,
    liveness: http::health::Liveness,
}

impl Application {
    /// Bind the listener (port 0 picks a free port) and build the server. Starts the
    /// provisioning log writer, so it must be called inside a tokio runtime.
    pub fn build(settings: &Settings, parts: Parts) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {} (ROSTER_LISTEN): {e}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let public_url = match &settings.public_url {
            Some(_) => settings.public_base_url(),
            None => format!("http://{}:{port}", settings.listen.ip()),
        };
        let recorder = Recorder::start(parts.pool.clone())?;
        let egress = crate::events::egress::Egress::from_allow_private(settings.webhook_allow_private);
        // actix's own default, stated so that the connections can be split between the workers.
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let shared = Arc::new(Shared {
            pools: db::WorkerPools::new(&parts.pool, workers, settings.db_pool_size),
            background: parts.pool,
            caches: crate::cache::Caches::default(),
            recorder: recorder.clone(),
            registry: Registry::standard(),
            signing_key: parts.signing_key,
            public_url: public_url.clone(),
            limits: PageLimits { default_size: settings.default_page_size, max_size: settings.max_page_size },
            bulk: settings.bulk_limits(),
            max_body_bytes: settings.max_body_bytes,
            clock: parts.clock,
            admin_token: settings.admin_token.as_deref().map(crate::http::admin::OperatorKey::new),
            import_max_rows: settings.import_max_rows,
            // Rate limits and token expiry (issue #14).
            throttle: crate::http::ratelimit::Throttle::from_settings(settings),
            token_default_expiry_days: settings.token_default_expiry_days,
            webhook_egress: crate::events::egress::Egress::from_allow_private(settings.webhook_allow_private),
            console: crate::http::console::SessionPolicy::from_settings(settings, &public_url),
            // OAuth client credentials, metrics and readiness (issue #13).
            oauth: http::oauth::OAuthSettings {
                token_lifetime: chrono::Duration::seconds(i64::from(settings.oauth_token_lifetime_secs)),
                secret_overlap: chrono::Duration::seconds(i64::from(settings.oauth_secret_overlap_secs)),
                http: crate::events::dispatch::client_with_ca(settings.webhook_ca_file.as_deref(), egress)?,
                egress,
            },
            metrics: http::metrics::Metrics::new(settings.metrics_token.as_deref())?,
            liveness: http::health::Liveness::default(),
        });
        let liveness = shared.liveness.clone();
        let max_body = settings.max_body_bytes;
        let bulk = settings.bulk_limits();
        let body_timeout =
            http::body_deadline::BodyTimeout(Duration::from_millis(settings.http_body_timeout_ms));
        let request_timeout =
            http::request_deadline::RequestTimeout(Duration::from_millis(settings.http_request_timeout_ms));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(AppState::for_worker(&shared)))
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(web::JsonConfig::default().limit(max_body).error_handler(http::extract::json_error))
                .app_data(web::QueryConfig::default().error_handler(http::extract::query_error))
                .app_data(web::PathConfig::default().error_handler(http::extract::path_error))
                .app_data(body_timeout)
                .app_data(request_timeout)
                .wrap(from_fn(http::body_deadline::body_deadline))
                .wrap(from_fn(http::middleware::observe))
                .configure(move |cfg| http::routes(cfg, bulk))
        })
        // A client has this long to send its headers, and to close after its response.
        .client_request_timeout(Duration::from_millis(settings.http_header_timeout_ms))
        .client_disconnect_timeout(Duration::from_secs(1))
        .keep_alive(Duration::from_secs(settings.http_keep_alive_secs))
        .workers(workers)
        .listen(listener)?
        .shutdown_timeout(30)
        .run();
        Ok(Application { server, port, public_url, recorder, liveness })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The public base URL links are built from (with the real port when bound to port 0).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// A handle that can stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// What `/readyz` watches: hand it the event dispatcher ([`http::health::Liveness::watch_dispatcher`]).
    pub fn liveness(&self) -> &http::health::Liveness {
        &self.liveness
    }

    /// The provisioning log recorder of this server (`flush` waits for queued entries).
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Serve until stopped (SIGINT/SIGTERM stop it gracefully), then write the provisioning
    /// log entries still queued.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if tokio::time::timeout(std::time::Duration::from_secs(10), self.recorder.flush()).await.is_err() {
            tracing::warn!("provisioning log entries still queued at shutdown were not written");
        }
        result
    }
}

/// Delete delivered (or never-subscribed) events older than `cutoff`, tenant by tenant, in
/// bounded batches. Events a webhook still waits for are kept however old.
pub async fn prune_events(
    conn: &mut db::Conn,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> diesel::QueryResult<usize> {
    let mut total = 0;
    for tenant in db::provisioning_log::tenant_ids(conn).await? {
        for _ in 0..100 {
            let n = db::events::delete_settled_before(conn, tenant, cutoff, 5_000).await?;
            total += n;
            if n < 5_000 {
                break;
            }
        }
    }
    Ok(total)
}

/// Delete the join data past each tenant's retention ([`db::join::prune_batch`]) in bounded
/// batches. Returns the rows deleted.
pub async fn prune_join(
    conn: &mut db::Conn,
    now: chrono::DateTime<chrono::Utc>,
) -> diesel::QueryResult<usize> {
    let mut total = 0;
    for _ in 0..100 {
        let n = db::join::prune_batch(conn, now, 1_000).await?;
        total += n;
        if n == 0 {
            break;
        }
    }
    Ok(total)
}

/// Background maintenance of a serving process, now and then hourly: prune the provisioning
/// log past `ROSTER_LOG_RETENTION_DAYS` and settled events past `ROSTER_EVENT_RETENTION_DAYS`,
/// scrub the personal data of members removed longer ago than their tenant's retention period
/// (DESIGN §2), delete decided access requests and ended join links past that same period, and
/// delete background import jobs and console sessions that ended a day ago. Several nodes may run it at once: member rows are claimed with
/// `FOR UPDATE SKIP LOCKED`, deletes are idempotent. Abort the returned task to stop it.
pub fn spawn_maintenance(
    pool: DbPool,
    log_retention_days: u32,
    event_retention_days: u32,
    clock: Arc<dyn Clock>,
) -> tokio::task::JoinHandle<()> {
    use crate::provisioning::retention;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(retention::INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Ok(mut conn) = db::checkout(&pool, db::Scope::All).await else {
                tracing::warn!("maintenance skipped: database unavailable");
                continue;
            };
            let now = clock.now();
            let cutoff = now - chrono::Duration::days(i64::from(log_retention_days));
            match retention::purge(&mut conn, cutoff, retention::BATCH_SIZE, retention::MAX_BATCHES_PER_RUN)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    deleted = n,
                    retention_days = log_retention_days,
                    "provisioning log pruned"
                ),
                Err(e) => tracing::warn!(error = %e, "pruning the provisioning log failed"),
            }
            let event_cutoff = now - chrono::Duration::days(i64::from(event_retention_days));
            match prune_events(&mut conn, event_cutoff).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(deleted = n, retention_days = event_retention_days, "event outbox pruned")
                }
                Err(e) => tracing::warn!(error = %e, "pruning the event outbox failed"),
            }
            // OAuth (issue #13): assertion ids past their expiry, access tokens expired a day ago.
            match db::oauth::prune(&mut conn, now, now - chrono::Duration::days(1)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "expired OAuth assertion ids and access tokens pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning expired OAuth rows failed"),
            }
            match crate::directory::users::scrub_removed(&mut conn, now).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(members = n, "scrubbed personal data of removed members past retention")
                }
                Err(e) => tracing::warn!(error = %e, "scrubbing removed members failed"),
            }
            // Join data past the tenant's retention: decided access requests, ended links (#12).
            match prune_join(&mut conn, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "join requests and links past retention deleted"),
                Err(e) => tracing::warn!(error = %e, "pruning join data failed"),
            }
            // Background imports that ended a day ago (their reports name members).
            if let Err(e) = db::import_jobs::prune(&mut conn, now - crate::import::jobs::KEPT_FOR).await {
                tracing::warn!(error = %e, "pruning import jobs failed");
            }
            // Console sessions that ended (expired or signed out) a day ago or more (issue #11).
            if let Err(e) =
                db::console::delete_ended_sessions(&mut conn, now - chrono::Duration::days(1)).await
            {
                tracing::warn!(error = %e, "deleting ended console sessions failed");
            }
        }
    })
}
