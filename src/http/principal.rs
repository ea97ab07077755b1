//! The `Caller` extractor: a verified, unrevoked connection token whose connection is the one in
//! the URL, turned into the request's directory [`Context`] (the tenant profile from the process's
//! cache, `crate::cache`, checked fresh by the token query). It also starts the request's
//! provisioning-log record: only authenticated requests are recorded for a tenant.
//!
//! [`Claimed`] is the same check in two steps, for the reads that check the token in their own
//! statement (one statement instead of two; a revocation still takes effect on the next request,
//! in every process, since the check still runs on every request).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::middleware::RequestId;
use super::AppState;
use crate::auth::{bearer_token, Claims, Principal};
use crate::db::tenants::{live_token, LiveToken};
use crate::db::users::TokenKey;
use crate::db::{Conn, Scope};
use crate::directory::Context;
use crate::error::ScimError;
use crate::provisioning::{Arrival, LogSlot, RequestRecord};

/// An authenticated SCIM caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Context);

/// A SCIM request whose bearer token Roster signed for the connection in the URL, not yet
/// checked against the database (revoked? expired?). Its tenant is trusted (the signature says
/// so), which is enough to scope a connection to it; nothing read may reach the caller before
/// [`Claimed::confirm`] or [`Claimed::admit`] has found the token live.
///
/// As an extractor it lets a read check the token in its own statement ([`Claimed::token`],
/// [`Claimed::admit`]); [`Caller`] confirms first, in a statement of its own, as every write must.
pub struct Claimed {
    req: HttpRequest,
    state: web::Data<AppState>,
    claims: Claims,
    now: DateTime<Utc>,
}

/// The token's signature, expiry and connection, from the request alone.
fn claim(req: HttpRequest) -> Result<Claimed, ScimError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ScimError::internal(anyhow::anyhow!("AppState missing")))?;
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ScimError::unauthorized("authentication required: send `Authorization: Bearer <token>`")
        })?
        .to_str()
        .map_err(|_| ScimError::unauthorized("the Authorization header is not valid ASCII"))?;
    let now = state.clock.now();
    let claims = state.signing_key.verify(bearer_token(header)?, now)?;
    let in_url = req.match_info().get("connection").and_then(|c| Uuid::parse_str(c).ok());
    if in_url != Some(claims.connection) {
        return Err(ScimError::unauthorized(
            "this token belongs to another connection; use the SCIM base URL it was issued for",
        ));
    }
    Ok(Claimed { req, state, claims, now })
}

impl Claimed {
    /// The rows this caller may read: its tenant's.
    pub fn scope(&self) -> Scope {
        Scope::Tenant(self.claims.tenant)
    }

    /// The request the caller made.
    pub fn request(&self) -> &HttpRequest {
        &self.req
    }

    /// The caller's tenant.
    pub fn tenant(&self) -> Uuid {
        self.claims.tenant
    }

    /// Check the token in a statement of its own.
    pub async fn confirm(self) -> Result<Context, ScimError> {
        let now = self.now;
        let live = {
            let conn = crate::db::checkout(&self.state.pool, self.scope()).await?;
            live_token(&conn, self.claims.tenant, self.claims.connection, self.claims.jti, now).await?
        };
        self.admitted(live.ok_or_else(not_live)?, now, None).await
    }

    /// The caller's token, for a read that checks it in its own statement
    /// (`crate::db::users::find_view_as`).
    pub fn token(&self) -> TokenKey {
        TokenKey {
            tenant: self.claims.tenant,
            connection: self.claims.connection,
            token: self.claims.jti,
            now: self.now,
        }
    }

    /// The caller and what its read found, given what a statement that checked the token itself
    /// returned: nothing when the token is not live (401), otherwise the token's standing and
    /// the read. Never for a write: a write is made only after [`Claimed::confirm`], or checks
    /// the token inside its own transaction ([`Claimed::admit_in`]).
    pub async fn admit<T>(
        self,
        read: diesel::QueryResult<Option<(LiveToken, T)>>,
    ) -> Result<(Context, T), ScimError> {
        let (live, found) = read?.ok_or_else(not_live)?;
        let now = self.now;
        Ok((self.admitted(live, now, None).await?, found))
    }

    /// The caller of a write that checked its token in the round trip that read the member, before
    /// writing anything (`crate::db::users::find_as`): 401 when the token is not live. A profile
    /// not cached that fresh is read on `conn`, the write's connection: a request never waits
    /// for a second one.
    pub async fn admit_in(self, conn: &mut Conn, live: Option<LiveToken>) -> Result<Context, ScimError> {
        let now = self.now;
        self.admitted(live.ok_or_else(not_live)?, now, Some(conn)).await
    }

    /// The caller, once the database has answered for its token. The profile, when not cached
    /// that fresh, is read on `on` if given, otherwise on a connection of the pool.
    async fn admitted(
        self,
        live: LiveToken,
        now: DateTime<Utc>,
        on: Option<&mut Conn>,
    ) -> Result<Context, ScimError> {
        let (state, tenant, version) = (&self.state, self.claims.tenant, live.settings_version);
        let profile = match on {
            Some(conn) => state.caches.tenant_on(conn, &state.registry, tenant, version).await?,
            None => state.caches.tenant(&state.pool, &state.registry, tenant, version).await?,
        };
        state.caches.remember(self.claims.jti, &live);
        self.context(&live, profile, now)
    }

    /// The caller as it stood when its token was last found live, with the profile cached at
    /// that standing (`crate::cache::Caches::recall`), if this process remembers both. A guess,
    /// not a check: only for a write whose own statement checks the token at that standing and
    /// writes nothing otherwise (`directory::users::create_as`, `directory::patch::patch_group_as`).
    /// If it writes nothing, the request must [`withdraw`](Claimed::withdraw) before the token is
    /// checked.
    ///
    /// `None` too when the caller is over its token's rate: that is said only once the token is
    /// known to be live, so the request goes the usual way (already withdrawn).
    pub fn recalled(&self) -> Option<(Context, LiveToken)> {
        let (live, profile) = self.state.caches.recall(self.claims.jti, self.claims.tenant)?;
        match self.context(&live, profile, self.now) {
            Ok(ctx) => Some((ctx, live)),
            Err(_) => {
                self.withdraw();
                None
            }
        }
    }

    /// Undo [`recalled`](Claimed::recalled): the request is not (yet) known to be a live
    /// caller's, so it has no provisioning-log record.
    pub fn withdraw(&self) {
        self.req.extensions_mut().remove::<LogSlot>();
    }

    /// The request's context for a token standing `live` and its tenant's `profile`; from here on
    /// the request is recorded in the provisioning log, and counted against the token's rate.
    fn context(
        &self,
        live: &LiveToken,
        profile: std::sync::Arc<crate::cache::TenantProfile>,
        now: DateTime<Utc>,
    ) -> Result<Context, ScimError> {
        let Claimed { req, state, claims, .. } = self;
        let span = tracing::Span::current();
        span.record("tenant.id", tracing::field::display(claims.tenant));
        span.record("connection.id", tracing::field::display(claims.connection));
        // From here on the request has a trusted tenant: it goes into the provisioning log.
        let log = LogSlot::start(RequestRecord::new(claims.tenant, claims.connection), arrival(req, now));
        req.extensions_mut().insert(log.clone());
        // Once per request, though a recalled caller may be admitted again after withdrawing.
        if req.extensions().get::<RateCounted>().is_none() {
            state.throttle.admit_token(req, claims.jti)?;
            req.extensions_mut().insert(RateCounted);
        }
        Ok(Context {
            principal: Principal {
                tenant_id: claims.tenant,
                connection_id: claims.connection,
                token_id: claims.jti,
                strict: live.quirk_mode == "strict",
            },
            now,
            base_url: state.scim_base_url(claims.connection),
            profile,
            log,
        })
    }
}

/// The request has been counted against its token's rate ([`Claimed::recalled`] and a later
/// admission count it once).
#[derive(Debug, Clone, Copy)]
struct RateCounted;

/// The token is signed but revoked, expired, or no longer in the database.
fn not_live() -> ScimError {
    ScimError::unauthorized("this token has been revoked or has expired; issue a new one")
}

/// How the request arrived, as the request middleware noted it.
fn arrival(req: &HttpRequest, now: chrono::DateTime<chrono::Utc>) -> Arrival {
    let ext = req.extensions();
    let (request_id, at, started) = match ext.get::<RequestId>() {
        Some(r) => (r.id.clone(), r.at, r.started),
        None => (String::new(), now, std::time::Instant::now()),
    };
    Arrival { request_id, method: req.method().to_string(), at, started }
}

impl FromRequest for Caller {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let claimed = claim(req.clone());
        Box::pin(async move { Ok(Caller(claimed?.confirm().await?)) })
    }
}

impl FromRequest for Claimed {
    type Error = ScimError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(claim(req.clone()))
    }
}
