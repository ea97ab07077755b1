//! In-process caches of what every SCIM request reads before its own work: the token check
//! (token id → tenant, connection, mode, expiry) and the tenant's profile (settings, its
//! categories as a schema registry, whether it binds roles to groups). A cache hit costs no
//! statement, so a request costs only the statements of its operation.
//!
//! Never stale, also across processes: every change to the tables behind these entries fires a
//! trigger (migration 000014) that notifies the channel [`CHANNEL`] with the tenant id, at
//! commit, to every process on the database. A listener connection per process
//! ([`spawn_listener`]) drops the tenant's entries when one arrives. While that connection is
//! down (not yet connected, lost, reconnecting) nothing is served from the cache: every request
//! reads the database, as before this cache existed, and the cache is emptied when listening
//! resumes, so no missed notification can leave an entry behind. Writes made by this process
//! through the admin API drop the caches themselves as soon as they return, not waiting for
//! their own notification. A load that raced an invalidation is not kept (generation check).
//!
//! Sizes are bounded ([`MAX_TOKENS`], [`MAX_TENANTS`]): past the bound the map is emptied and
//! refilled by the requests that follow, which keeps memory bounded under a flood of tokens or
//! tenants without bookkeeping on the hot path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use uuid::Uuid;

use crate::db::{self, Conn, DbPool};
use crate::error::{ScimError, ScimResult};
use crate::scim::schema::Registry;

/// The PostgreSQL channel the cache triggers notify (payload: a tenant id).
pub const CHANNEL: &str = "roster_cache";
/// Most token checks kept.
pub const MAX_TOKENS: usize = 100_000;
/// Most tenant profiles kept.
pub const MAX_TENANTS: usize = 10_000;

/// A verified token's standing, as the database says: it is live until `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenGrant {
    /// The token's tenant.
    pub tenant: Uuid,
    /// The connection it acts for.
    pub connection: Uuid,
    /// The connection is in strict mode.
    pub strict: bool,
    /// When the token expires, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What the directory needs to know about a tenant on every write and read.
#[derive(Debug)]
pub struct TenantProfile {
    /// Tenant id.
    pub id: Uuid,
    /// Slug (for messages people read).
    pub slug: String,
    /// Sign-in is SSO: members need no invitation.
    pub sso: bool,
    /// The attribute path positions are fed from.
    pub position_source: String,
    /// Days a removed member can be restored.
    pub member_retention_days: i32,
    /// Whether any group→role binding exists (without one, memberships cannot change roles).
    pub any_binding: bool,
    /// The static registry plus the tenant's categories: what Users are checked against.
    pub registry: Registry,
}

impl TenantProfile {
    /// Read a tenant's profile (three indexed queries); 404 when the tenant does not exist.
    pub async fn load(conn: &mut Conn, base: &Registry, tenant: Uuid) -> ScimResult<TenantProfile> {
        let row = db::tenants::profile(conn, tenant)
            .await?
            .ok_or_else(|| ScimError::not_found(format!("tenant {tenant} not found")))?;
        let registry = crate::directory::categories::tenant_registry(conn, base, tenant).await?;
        let any_binding = db::roles::any_binding(conn, tenant).await?;
        Ok(TenantProfile {
            id: tenant,
            slug: row.slug,
            sso: row.sso,
            position_source: row.position_source,
            member_retention_days: row.member_retention_days,
            any_binding,
            registry,
        })
    }
}

/// The caches of one process. Cheap to share (`Arc`).
#[derive(Debug, Default)]
pub struct Caches {
    /// Set while the listener is connected and listening; the caches serve nothing otherwise.
    live: AtomicBool,
    /// Bumped by every invalidation; a load that saw another value does not store its result.
    generation: AtomicU64,
    tokens: RwLock<HashMap<Uuid, TokenGrant>>,
    tenants: RwLock<HashMap<Uuid, Arc<TenantProfile>>>,
}

impl Caches {
    /// Empty caches that serve nothing until a listener ([`spawn_listener`]) is listening.
    pub fn new() -> Arc<Caches> {
        Arc::new(Caches::default())
    }

    /// Whether entries may be served (the listener is listening).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The standing of token `jti` of `tenant`/`connection`: from the cache, or from the database
    /// (one primary-key lookup). `None` when it is revoked, expired or unknown (never cached).
    pub async fn token(
        &self,
        pool: &DbPool,
        tenant: Uuid,
        connection: Uuid,
        jti: Uuid,
        now: DateTime<Utc>,
    ) -> ScimResult<Option<TokenGrant>> {
        if self.is_live() {
            let hit = read(&self.tokens).get(&jti).copied();
            if let Some(grant) = hit.filter(|g| g.tenant == tenant && g.connection == connection) {
                return Ok(grant.expires_at.is_none_or(|t| t > now).then_some(grant));
            }
        }
        let seen = self.generation();
        let mut conn = db::checkout(pool).await?;
        let Some((mode, expires_at)) =
            db::tenants::live_token(&mut conn, tenant, connection, jti, now).await?
        else {
            return Ok(None);
        };
        let grant = TokenGrant { tenant, connection, strict: mode == "strict", expires_at };
        self.store(&self.tokens, seen, jti, grant, MAX_TOKENS);
        Ok(Some(grant))
    }

    /// The profile of `tenant`: from the cache, or read from the database.
    pub async fn tenant(
        &self,
        pool: &DbPool,
        base: &Registry,
        tenant: Uuid,
    ) -> ScimResult<Arc<TenantProfile>> {
        if self.is_live() {
            if let Some(profile) = read(&self.tenants).get(&tenant) {
                return Ok(profile.clone());
            }
        }
        let seen = self.generation();
        let mut conn = db::checkout(pool).await?;
        let profile = Arc::new(TenantProfile::load(&mut conn, base, tenant).await?);
        self.store(&self.tenants, seen, tenant, profile.clone(), MAX_TENANTS);
        Ok(profile)
    }

    /// Keep `value` unless an invalidation happened since `seen` or the listener is down.
    fn store<V>(&self, map: &RwLock<HashMap<Uuid, V>>, seen: u64, key: Uuid, value: V, max: usize) {
        if !self.is_live() {
            return;
        }
        let mut map = map.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Checked under the write lock: an invalidation bumps the generation before it takes
        // this lock, so either it already happened (and we skip) or it clears after we insert.
        if self.generation() != seen {
            return;
        }
        if map.len() >= max {
            map.clear();
        }
        map.insert(key, value);
    }

    /// Drop everything cached about `tenant`.
    pub fn invalidate_tenant(&self, tenant: Uuid) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        write(&self.tokens).retain(|_, g| g.tenant != tenant);
        write(&self.tenants).remove(&tenant);
    }

    /// Drop everything.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        write(&self.tokens).clear();
        write(&self.tenants).clear();
    }

    fn set_live(&self, live: bool) {
        if !live {
            self.live.store(false, Ordering::Release);
        }
        // Whatever was cached before (re)connecting may have missed notifications.
        self.invalidate_all();
        if live {
            self.live.store(true, Ordering::Release);
        }
    }
}

fn read<V>(lock: &RwLock<V>) -> std::sync::RwLockReadGuard<'_, V> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<V>(lock: &RwLock<V>) -> std::sync::RwLockWriteGuard<'_, V> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Listen on [`CHANNEL`] through a dedicated connection to `database_url` and invalidate
/// `caches` per notification, on a thread of its own (so that a busy request runtime never delays
/// an invalidation). Reconnects after a second when the connection is lost; the caches serve
/// nothing meanwhile. Stops once every other holder of `caches` has dropped it.
pub fn spawn_listener(database_url: String, caches: &Arc<Caches>) -> std::io::Result<()> {
    let caches = Arc::downgrade(caches);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name("roster-cache-listener".into()).spawn(move || {
        runtime.block_on(async move {
            while caches.strong_count() > 0 {
                match listen(&database_url, &caches).await {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "listening for cache notifications failed; retrying in 1 s")
                    }
                }
                if let Some(c) = caches.upgrade() {
                    c.set_live(false);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    })?;
    Ok(())
}

/// Listen until the connection fails or the caches are gone (checked every second).
async fn listen(database_url: &str, caches: &std::sync::Weak<Caches>) -> anyhow::Result<()> {
    use diesel_async::RunQueryDsl;
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn).await?;
    match caches.upgrade() {
        Some(c) => c.set_live(true),
        None => return Ok(()),
    }
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    loop {
        let next = tokio::time::timeout(Duration::from_secs(1), notifications.next()).await;
        let Some(caches) = caches.upgrade() else { return Ok(()) };
        match next {
            Err(_elapsed) => continue,
            Ok(None) => anyhow::bail!("the notification stream ended"),
            Ok(Some(n)) => match Uuid::parse_str(&n?.payload) {
                Ok(tenant) => caches.invalidate_tenant(tenant),
                Err(_) => caches.invalidate_all(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(tenant: Uuid) -> TokenGrant {
        TokenGrant { tenant, connection: Uuid::nil(), strict: false, expires_at: None }
    }

    #[test]
    fn nothing_is_kept_while_not_listening() {
        let caches = Caches::default();
        caches.store(&caches.tokens, caches.generation(), Uuid::nil(), grant(Uuid::nil()), 10);
        assert!(read(&caches.tokens).is_empty());
    }

    #[test]
    fn a_load_that_raced_an_invalidation_is_dropped() {
        let caches = Caches::default();
        caches.set_live(true);
        let seen = caches.generation();
        caches.invalidate_tenant(Uuid::now_v7());
        caches.store(&caches.tokens, seen, Uuid::nil(), grant(Uuid::nil()), 10);
        assert!(read(&caches.tokens).is_empty());
        caches.store(&caches.tokens, caches.generation(), Uuid::nil(), grant(Uuid::nil()), 10);
        assert_eq!(read(&caches.tokens).len(), 1);
    }

    #[test]
    fn invalidation_drops_only_the_tenants_tokens_and_losing_the_listener_drops_all() {
        let caches = Caches::default();
        caches.set_live(true);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        caches.store(&caches.tokens, caches.generation(), Uuid::now_v7(), grant(a), 10);
        caches.store(&caches.tokens, caches.generation(), Uuid::now_v7(), grant(b), 10);
        caches.invalidate_tenant(a);
        assert_eq!(read(&caches.tokens).values().map(|g| g.tenant).collect::<Vec<_>>(), vec![b]);
        caches.set_live(false);
        assert!(read(&caches.tokens).is_empty());
        assert!(!caches.is_live());
    }

    #[test]
    fn the_cache_is_bounded() {
        let caches = Caches::default();
        caches.set_live(true);
        for _ in 0..25 {
            caches.store(&caches.tokens, caches.generation(), Uuid::now_v7(), grant(Uuid::nil()), 10);
        }
        assert!(read(&caches.tokens).len() <= 10);
    }
}
