//! The tenant profile cache: what the directory needs to know about a tenant on every request
//! (its settings, its categories as a schema registry) kept in process, so that a request
//! costs only the statements of its own operation plus its token check.
//!
//! Never stale, in any process: the token check ([`crate::db::tenants::live_token`]) — one
//! primary-key read every request makes anyway, since revocation must take effect on the very
//! next request — also reads the tenant's `settings_version`, which triggers move on every
//! change to a cached setting or category (migration 000014) and copy onto the tenant's tokens
//! in the same transaction (migration 000037). A cached profile is used only
//! while its version is the one just read; otherwise it is reloaded. So a change committed by
//! any process — the admin API, the CLI, another `roster serve` — is honoured by the next
//! request everywhere, with no invalidation message that could arrive late or be missed.
//! (Token checks themselves are not cached for the same reason: a cache invalidated by
//! LISTEN/NOTIFY lets another process serve a revoked token until the notification arrives, which
//! under load was measured to lose the race with the next request.)
//!
//! The cache is bounded ([`MAX_TENANTS`]): past the bound it is emptied and refilled by the
//! requests that follow, which bounds memory under a flood of tenants without bookkeeping on the
//! hot path.
//!
//! It also recalls the standing each token was last found live with ([`Caches::recall`]). That
//! is never taken for a check: it is the guess a `POST /Users` and a group's membership PATCH
//! write under, in one statement that checks the token and that standing itself and writes
//! nothing when either differs (`directory::users::create_as`, `directory::patch::patch_group_as`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use uuid::Uuid;

use crate::db::tenants::LiveToken;
use crate::db::{self, DbPool};
use crate::error::{ScimError, ScimResult};
use crate::scim::schema::Registry;

/// Most tenant profiles kept.
pub const MAX_TENANTS: usize = 10_000;
/// Most token standings recalled.
pub const MAX_TOKENS: usize = 10_000;

/// What the directory needs to know about a tenant on every write and read.
#[derive(Debug)]
pub struct TenantProfile {
    /// Tenant id.
    pub id: Uuid,
    /// The tenant's `settings_version` this profile was read at (or after).
    pub version: i64,
    /// Slug (for messages people read).
    pub slug: String,
    /// Sign-in is SSO: members need no invitation.
    pub sso: bool,
    /// New members get an invitation (a tenant setting; false: the application invites them itself).
    pub invite_new_members: bool,
    /// The attribute path positions are fed from.
    pub position_source: String,
    /// Days a removed member can be restored.
    pub member_retention_days: i32,
    /// The static registry plus the tenant's categories: what Users are checked against.
    pub registry: Registry,
}

impl TenantProfile {
    /// Read a tenant's profile (two indexed queries: the tenant row, then its categories);
    /// 404 when the tenant does not exist.
    pub async fn load(conn: &mut db::Conn, base: &Registry, tenant: Uuid) -> ScimResult<TenantProfile> {
        let row = db::tenants::profile(conn, tenant)
            .await?
            .ok_or_else(|| ScimError::not_found(format!("tenant {tenant} not found")))?;
        let registry = crate::directory::categories::tenant_registry(conn, base, tenant).await?;
        Ok(TenantProfile {
            id: tenant,
            // Read before the categories: the profile is at least this fresh.
            version: row.settings_version,
            slug: row.slug,
            sso: row.sso,
            invite_new_members: row.invite_new_members,
            position_source: row.position_source,
            member_retention_days: row.member_retention_days,
            registry,
        })
    }
}

/// The tenant profiles of one process.
#[derive(Debug, Default)]
pub struct Caches {
    tenants: RwLock<HashMap<Uuid, Arc<TenantProfile>>>,
    standings: RwLock<HashMap<Uuid, LiveToken>>,
}

impl Caches {
    /// The profile of `tenant` at settings version `version` (as just read with the token): the
    /// cached one when it is that fresh, otherwise read from the database and kept.
    pub async fn tenant(
        &self,
        pool: &DbPool,
        base: &Registry,
        tenant: Uuid,
        version: i64,
    ) -> ScimResult<Arc<TenantProfile>> {
        if let Some(profile) = self.fresh(tenant, version) {
            return Ok(profile);
        }
        let mut conn = db::checkout(pool, db::Scope::Tenant(tenant)).await?;
        self.reload(&mut conn, base, tenant).await
    }

    /// [`Caches::tenant`], read (when not cached that fresh) on `conn`, which acts for `tenant`:
    /// for a request already inside its write's transaction, which must not wait for a second
    /// connection while it holds a row lock.
    pub async fn tenant_on(
        &self,
        conn: &mut db::Conn,
        base: &Registry,
        tenant: Uuid,
        version: i64,
    ) -> ScimResult<Arc<TenantProfile>> {
        match self.fresh(tenant, version) {
            Some(profile) => Ok(profile),
            None => self.reload(conn, base, tenant).await,
        }
    }

    /// Note the standing token `token` was just found live with.
    pub fn remember(&self, token: Uuid, live: &LiveToken) {
        let known = |map: &HashMap<Uuid, LiveToken>| map.get(&token) == Some(live);
        if known(&self.standings.read().unwrap_or_else(std::sync::PoisonError::into_inner)) {
            return;
        }
        let mut map = self.standings.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if known(&map) {
            return;
        }
        if map.len() >= MAX_TOKENS && !map.contains_key(&token) {
            map.clear();
        }
        map.insert(token, live.clone());
    }

    /// The standing `token` was last found live with, and its tenant's profile cached at that
    /// standing's settings version: a guess, to be confirmed by the statement that uses it.
    pub fn recall(&self, token: Uuid, tenant: Uuid) -> Option<(LiveToken, Arc<TenantProfile>)> {
        let live = {
            let map = self.standings.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            map.get(&token).cloned()?
        };
        let profile = self.fresh(tenant, live.settings_version)?;
        (profile.version == live.settings_version).then_some((live, profile))
    }

    /// The cached profile of `tenant`, if at least at settings version `version`.
    fn fresh(&self, tenant: Uuid, version: i64) -> Option<Arc<TenantProfile>> {
        let map = self.tenants.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(&tenant).filter(|p| p.version >= version).cloned()
    }

    /// Read the profile of `tenant` from the database and keep it.
    async fn reload(
        &self,
        conn: &mut db::Conn,
        base: &Registry,
        tenant: Uuid,
    ) -> ScimResult<Arc<TenantProfile>> {
        let profile = Arc::new(TenantProfile::load(conn, base, tenant).await?);
        self.keep(profile.clone());
        Ok(profile)
    }

    /// Keep a profile unless a fresher one is already kept.
    fn keep(&self, profile: Arc<TenantProfile>) {
        let mut map = self.tenants.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.get(&profile.id).is_some_and(|kept| kept.version > profile.version) {
            return;
        }
        if map.len() >= MAX_TENANTS && !map.contains_key(&profile.id) {
            map.clear();
        }
        map.insert(profile.id, profile);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: Uuid, version: i64) -> Arc<TenantProfile> {
        Arc::new(TenantProfile {
            id,
            version,
            slug: "t".into(),
            sso: false,
            invite_new_members: true,
            position_source: "title".into(),
            member_retention_days: 30,
            registry: Registry::standard(),
        })
    }

    #[test]
    fn an_older_profile_never_replaces_a_fresher_one() {
        let caches = Caches::default();
        let id = Uuid::now_v7();
        caches.keep(profile(id, 5));
        caches.keep(profile(id, 4));
        assert_eq!(caches.tenants.read().unwrap()[&id].version, 5);
        caches.keep(profile(id, 6));
        assert_eq!(caches.tenants.read().unwrap()[&id].version, 6);
    }

    #[test]
    fn a_token_is_recalled_only_with_a_profile_cached_at_its_standing() {
        let caches = Caches::default();
        let (tenant, token) = (Uuid::now_v7(), Uuid::now_v7());
        let standing = |mode: &str, version| LiveToken { quirk_mode: mode.into(), settings_version: version };
        assert!(caches.recall(token, tenant).is_none(), "never found live");
        caches.remember(token, &standing("tolerant", 3));
        assert!(caches.recall(token, tenant).is_none(), "no profile cached");
        caches.keep(profile(tenant, 3));
        let (live, recalled) = caches.recall(token, tenant).expect("recalled");
        assert_eq!((live, recalled.version), (standing("tolerant", 3), 3));
        // A newer profile cached (another token saw the settings move): not this standing's.
        caches.keep(profile(tenant, 4));
        assert!(caches.recall(token, tenant).is_none());
        // Found live again at the new standing, in strict mode: that is what is recalled.
        caches.remember(token, &standing("strict", 4));
        assert_eq!(caches.recall(token, tenant).map(|(live, _)| live), Some(standing("strict", 4)));
        assert!(
            caches.recall(token, Uuid::now_v7()).is_none(),
            "another tenant's profile is not this token's"
        );
        for _ in 0..(MAX_TOKENS + 5) {
            caches.remember(Uuid::now_v7(), &standing("tolerant", 0));
        }
        assert!(caches.standings.read().unwrap().len() <= MAX_TOKENS);
    }

    #[test]
    fn the_cache_is_bounded() {
        let caches = Caches::default();
        for _ in 0..(MAX_TENANTS + 5) {
            caches.keep(profile(Uuid::now_v7(), 0));
        }
        assert!(caches.tenants.read().unwrap().len() <= MAX_TENANTS);
    }
}
