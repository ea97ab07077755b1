//! The `Caller` extractor: a verified, unrevoked connection token whose connection is the one in
//! the URL, turned into the request's directory [`Context`] (the tenant profile from the process's
//! cache, `crate::cache`, checked fresh by the token query). It also starts the request's
//! provisioning-log record: only authenticated requests are recorded for a tenant.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::middleware::RequestId;
use super::AppState;
use crate::auth::{bearer_token, Principal};
use crate::directory::Context;
use crate::error::ScimError;
use crate::provisioning::{Arrival, LogSlot, RequestRecord};

/// An authenticated SCIM caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Context);

async fn authenticate(req: HttpRequest) -> Result<Caller, ScimError> {
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
    let claims = state.signing_key.verify(bearer_token(header)?, state.clock.now())?;
    let in_url = req.match_info().get("connection").and_then(|c| Uuid::parse_str(c).ok());
    if in_url != Some(claims.connection) {
        return Err(ScimError::unauthorized(
            "this token belongs to another connection; use the SCIM base URL it was issued for",
        ));
    }
    let now = state.clock.now();
    let live = {
        let mut conn = crate::db::checkout(&state.pool, crate::db::Scope::Tenant(claims.tenant)).await?;
        crate::db::tenants::live_token(&mut conn, claims.tenant, claims.connection, claims.jti, now).await?
    }
    .ok_or_else(|| ScimError::unauthorized("this token has been revoked or has expired; issue a new one"))?;
    let span = tracing::Span::current();
    span.record("tenant.id", tracing::field::display(claims.tenant));
    span.record("connection.id", tracing::field::display(claims.connection));
    // From here on the request has a trusted tenant: it goes into the provisioning log.
    let log = LogSlot::start(RequestRecord::new(claims.tenant, claims.connection), arrival(&req, now));
    req.extensions_mut().insert(log.clone());
    state.throttle.admit_token(&req, claims.jti)?;
    let profile =
        state.caches.tenant(&state.pool, &state.registry, claims.tenant, live.settings_version).await?;
    Ok(Caller(Context {
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
    }))
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
        Box::pin(authenticate(req.clone()))
    }
}
