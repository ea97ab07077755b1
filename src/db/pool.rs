//! The connection pool and the tenant scope of every connection it hands out.
//!
//! Row-level security (migration 000024) shows a session acting as `roster_tenant` only the rows
//! of the tenant named by its `roster.tenant` setting, and one acting as `roster_service` every
//! tenant's. [`checkout`] takes the [`Scope`] the caller acts in and states it on the connection
//! before handing it out (`roster_enter`); each pooled connection remembers the scope it last
//! stated, so a process pays one round trip per change of scope on a connection, and none while
//! a connection keeps serving the same tenant.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use deadpool::managed::{Manager, Metrics, RecycleError, RecycleResult, Timeouts};
use deadpool::Runtime;
use diesel::sql_types::Text;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::{PoolError, PoolableConnection};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::MigrationHarness;
use uuid::Uuid;

use super::{map_error, MIGRATIONS};
use crate::error::ScimError;

/// Whose rows a connection may see and write (the `roster.tenant` setting row security reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One tenant's rows: every request that acts for a tenant.
    Tenant(Uuid),
    /// Every tenant's rows: operator commands, the event dispatcher, the provisioning-log
    /// writer, maintenance, and the lookups that find a request's tenant from a credential
    /// (an OAuth client id, a console session, a tenant's slug).
    All,
}

impl Scope {
    /// What `roster_enter` takes.
    fn setting(&self) -> String {
        match self {
            Scope::Tenant(id) => id.to_string(),
            Scope::All => "all".to_string(),
        }
    }
}

/// A pooled PostgreSQL connection and the scope it last stated.
pub struct ScopedConnection {
    conn: AsyncPgConnection,
    scope: Option<Scope>,
}

impl Deref for ScopedConnection {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        &self.conn
    }
}

impl DerefMut for ScopedConnection {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }
}

/// A pool of async PostgreSQL connections.
pub type DbPool = deadpool::managed::Pool<RosterManager>;
/// A connection checked out of the pool.
pub type PooledConn = deadpool::managed::Object<RosterManager>;

/// How the pool sizes and bounds its connections: every wait on the database has an end.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Most connections held at once.
    pub size: usize,
    /// Longest wait for a free connection before the request answers 503.
    pub acquire_timeout: Duration,
    /// Longest wait for a new connection to be established (and for a recycle check).
    pub connect_timeout: Duration,
    /// Server-side `statement_timeout` of every pooled connection; zero disables it.
    pub statement_timeout: Duration,
    /// Server-side `idle_in_transaction_session_timeout`; zero disables it.
    pub idle_in_transaction_timeout: Duration,
}

impl PoolOptions {
    /// `size` connections with the default timeouts (those of the configuration table).
    pub fn with_size(size: usize) -> PoolOptions {
        PoolOptions {
            size,
            acquire_timeout: Duration::from_millis(5_000),
            connect_timeout: Duration::from_millis(5_000),
            statement_timeout: Duration::from_millis(30_000),
            idle_in_transaction_timeout: Duration::from_millis(60_000),
        }
    }
}

/// Opens Roster's pooled connections: session timeouts, then `roster_tenant` with no tenant (a
/// fresh connection sees no tenant's rows until [`checkout`] states a scope).
pub struct RosterManager {
    url: String,
    session: String,
}

diesel::define_sql_function! {
    /// Migration 000024: act as `roster_service` ('all'), or as `roster_tenant` for a tenant's id
    /// ('' for none).
    fn roster_enter(scope: Text);
}

impl Manager for RosterManager {
    type Type = ScopedConnection;
    type Error = PoolError;

    async fn create(&self) -> Result<ScopedConnection, PoolError> {
        let mut conn = AsyncPgConnection::establish(&self.url).await.map_err(PoolError::ConnectionError)?;
        conn.batch_execute(&self.session).await.map_err(PoolError::QueryError)?;
        diesel::select(roster_enter(String::new()))
            .execute(&mut conn)
            .await
            .map_err(PoolError::QueryError)?;
        Ok(ScopedConnection { conn, scope: None })
    }

    async fn recycle(&self, obj: &mut ScopedConnection, _: &Metrics) -> RecycleResult<PoolError> {
        // `Fast` recycling: no `SELECT 1` on every checkout. A connection whose socket broke
        // reports itself broken and is dropped here, so the next checkout opens a fresh one.
        if std::thread::panicking() || obj.conn.is_broken() {
            return Err(RecycleError::Message("broken connection".into()));
        }
        Ok(())
    }
}

/// Build a pool for `url`. Connections are opened lazily; each one gets the session timeouts
/// of `options` and acts as `roster_tenant` with no tenant until a checkout states a scope. The
/// query that meets a broken socket answers 503.
pub fn build_pool(url: &str, options: &PoolOptions) -> anyhow::Result<DbPool> {
    let manager = RosterManager { url: url.to_string(), session: session_setup(options) };
    let timeouts = Timeouts {
        wait: Some(options.acquire_timeout),
        create: Some(options.connect_timeout),
        recycle: Some(options.connect_timeout),
    };
    Ok(DbPool::builder(manager).max_size(options.size).timeouts(timeouts).runtime(Runtime::Tokio1).build()?)
}

/// The request pools of one process: one per HTTP worker, splitting the configured number of
/// connections between them.
///
/// Why not one pool for every worker: a connection's socket is driven by a task on the runtime
/// that opened it, and each HTTP worker is a runtime on a thread of its own. With one pool, a
/// request on one worker often used a connection another worker had opened, so every query
/// crossed threads twice (a wake-up of the other worker to send it, one back with the answer),
/// and a worker busy with a long request delayed the other worker's queries. With a pool per
/// worker, a request's queries are sent and read on the thread that runs it: on a GET this was
/// 9–13 % of Roster's CPU per request (issue #10).
#[derive(Clone)]
pub struct WorkerPools {
    /// The background tasks' pool: its database, session setup and timeouts are copied.
    like: DbPool,
    /// Connections of each worker's pool.
    each: usize,
    /// The pools handed out, while their worker lives (metrics add them up).
    handed: std::sync::Arc<std::sync::Mutex<Vec<deadpool::managed::WeakPool<RosterManager>>>>,
}

impl std::fmt::Debug for WorkerPools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPools").field("each", &self.each).finish_non_exhaustive()
    }
}

impl WorkerPools {
    /// Pools like `like` (same database, session setup and timeouts) for `workers` workers,
    /// splitting `total` connections between them (each at least one). Connections are opened
    /// lazily, by the worker that uses them.
    pub fn new(like: &DbPool, workers: usize, total: usize) -> WorkerPools {
        WorkerPools {
            like: like.clone(),
            each: total.div_ceil(workers.max(1)).max(1),
            handed: Default::default(),
        }
    }

    /// A pool for the worker starting now: a new one, so that a worker actix restarts after a
    /// panic never shares another's (nor inherits connections its dead runtime drove). The pool
    /// closes when its worker stops. If it cannot be built, the worker uses the background pool.
    pub fn take(&self) -> DbPool {
        let manager = self.like.manager();
        let manager = RosterManager { url: manager.url.clone(), session: manager.session.clone() };
        let built = DbPool::builder(manager)
            .max_size(self.each)
            .timeouts(self.like.timeouts())
            .runtime(Runtime::Tokio1)
            .build();
        match built {
            Ok(pool) => {
                let mut handed = self.handed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                handed.retain(|p| p.upgrade().is_some());
                handed.push(pool.weak());
                pool
            }
            Err(e) => {
                tracing::warn!(error = %e, "an HTTP worker's database pool could not be built; it uses the background pool");
                self.like.clone()
            }
        }
    }

    /// The pools of the workers that live now.
    pub fn live(&self) -> Vec<DbPool> {
        let handed = self.handed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        handed.iter().filter_map(|p| p.upgrade()).collect()
    }
}

/// The `SET` statements every pooled connection runs once, when it is opened.
fn session_setup(options: &PoolOptions) -> String {
    format!(
        "SET statement_timeout = {}; SET idle_in_transaction_session_timeout = {}",
        options.statement_timeout.as_millis(),
        options.idle_in_transaction_timeout.as_millis()
    )
}

/// Apply pending migrations. Runs the synchronous migration harness on a blocking thread, as
/// the user of `url` (the tables' owner, whom row security does not bind).
pub async fn run_migrations(url: &str) -> anyhow::Result<Vec<String>> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        use diesel::Connection;
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("applying migrations failed: {e}"))?;
        Ok(applied.iter().map(|v| v.to_string()).collect())
    })
    .await?
}

/// Check a connection out of the pool for `scope`; an unreachable database or a pool that
/// stays exhausted past the acquire timeout is a 503.
pub async fn checkout(pool: &DbPool, scope: Scope) -> Result<PooledConn, ScimError> {
    let mut conn =
        pool.get().await.map_err(|e| ScimError::unavailable(anyhow::anyhow!("database pool: {e}")))?;
    enter(&mut conn, scope).await?;
    Ok(conn)
}

/// Move a checked-out connection to `scope` (a request that first had to find its tenant in
/// the `all` scope). Never inside a transaction: a rollback would undo the role and setting.
pub async fn enter(conn: &mut PooledConn, scope: Scope) -> Result<(), ScimError> {
    if conn.scope != Some(scope) {
        // Forget the old scope first: if stating the new one fails, the next checkout states
        // it again rather than trusting a setting that may not have taken.
        conn.scope = None;
        diesel::select(roster_enter(scope.setting())).execute(&mut conn.conn).await.map_err(map_error)?;
        conn.scope = Some(scope);
    }
    Ok(())
}

/// Raise `statement_timeout` and `idle_in_transaction_session_timeout` to `limit` for the rest
/// of the caller's transaction only (`SET LOCAL`), for the few operations known to run long.
pub async fn allow_long_statements(conn: &mut AsyncPgConnection, limit: Duration) -> diesel::QueryResult<()> {
    let ms = limit.as_millis().min(i32::MAX as u128);
    conn.batch_execute(&format!(
        "SET LOCAL statement_timeout = {ms}; SET LOCAL idle_in_transaction_session_timeout = {ms}"
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like() -> DbPool {
        // No connection is opened: pools open theirs when first asked for one.
        build_pool("postgres://nobody@127.0.0.1:1/none", &PoolOptions::with_size(3)).unwrap()
    }

    #[test]
    fn each_worker_gets_a_pool_of_its_own_with_its_share_of_the_connections() {
        let pools = WorkerPools::new(&like(), 3, 16);
        let mut taken: Vec<DbPool> = (0..3).map(|_| pools.take()).collect();
        let sizes: Vec<usize> = taken.iter().map(|p| p.status().max_size).collect();
        assert_eq!(sizes, [6, 6, 6], "16 connections over 3 workers, rounded up");
        assert_eq!(taken[0].timeouts().wait, like().timeouts().wait, "the same timeouts");
        assert!(!std::ptr::eq(taken[0].manager(), taken[1].manager()), "no two workers share a pool");
        assert_eq!(pools.live().len(), 3);
        // A worker that stops (actix restarts one after a panic) drops its pool; the one that
        // replaces it gets a new pool, and metrics count only the live ones.
        drop(taken.remove(0));
        assert_eq!(pools.live().len(), 2);
        let _replacement = pools.take();
        assert_eq!(pools.live().len(), 3);
        // Fewer connections than workers: each worker still has one.
        assert_eq!(WorkerPools::new(&like(), 4, 2).take().status().max_size, 1);
    }
}
