//! The join API's handlers: what a tenant or a link offers, registering through each door, and
//! the outcome of an access request. Outcomes answer `{"outcome": ...}`: 200 for `joined` and
//! `pending`, 403 for `refused` (a SCIM error body with `outcome` and `reason` added).

use std::future::Future;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};

use super::admit;
use crate::directory::join::{doors, Form, Outcome};
use crate::error::{ScimError, ScimResult};
use crate::http::admin::body;
use crate::http::response::scim_body;
use crate::http::AppState;

/// A registration is answered no sooner than this after it was admitted, whatever its outcome:
/// registering an identity that is already a member writes nothing and would otherwise answer
/// sooner than a new member's registration, telling the two apart by time where the bodies are
/// identical. (A registration that takes longer than this on a loaded server is not padded.)
pub const ANSWER_FLOOR: Duration = Duration::from_millis(250);

/// Run `work`, then wait until [`ANSWER_FLOOR`] has passed since it started.
async fn no_sooner<T>(work: impl Future<Output = T>) -> T {
    let until = tokio::time::Instant::now() + ANSWER_FLOOR;
    let out = work.await;
    tokio::time::sleep_until(until).await;
    out
}

/// An outcome as the answer: a refusal is a 403 SCIM error body (like every error Roster
/// sends) that also carries `outcome` and `reason`.
fn answer(outcome: &Outcome) -> HttpResponse {
    match outcome {
        Outcome::Refused { reason } => {
            let mut body = ScimError::forbidden(reason.clone()).body();
            if let (Some(b), Some(extra)) = (body.as_object_mut(), outcome.body().as_object()) {
                b.extend(extra.clone());
            }
            scim_body(&mut HttpResponse::Forbidden(), &body)
        }
        _ => HttpResponse::Ok().json(outcome.body()),
    }
}

/// GET /join/v1/tenants/{tenant} — the tenant's doors and what they need.
pub async fn offer(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (mut conn, tenant, _) = admit(&req, &state, &path).await?;
    Ok(HttpResponse::Ok().json(doors::offer(&mut conn, &tenant, None, state.clock.now()).await?))
}

/// GET /join/v1/tenants/{tenant}/links/{token} — what a link offers.
pub async fn link_offer(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (slug, token) = path.into_inner();
    let (mut conn, tenant, _) = admit(&req, &state, &slug).await?;
    let now = state.clock.now();
    let link = doors::live_link(&mut conn, tenant.id, &token, now).await?;
    Ok(HttpResponse::Ok().json(doors::offer(&mut conn, &tenant, Some(&link), now).await?))
}

/// POST /join/v1/tenants/{tenant}/links/{token} — register through a link.
pub async fn link_register(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (slug, token) = path.into_inner();
    let (mut conn, _, profile) = admit(&req, &state, &slug).await?;
    no_sooner(async {
        let form: Form = body(&req, &bytes)?;
        Ok(answer(&doors::register_with_link(&mut conn, &profile, &token, form, state.clock.now()).await?))
    })
    .await
}

/// POST /join/v1/tenants/{tenant}/registrations — register against a pre-stored registration.
pub async fn prestored(
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (mut conn, _, profile) = admit(&req, &state, &path).await?;
    no_sooner(async {
        let form: Form = body(&req, &bytes)?;
        Ok(answer(&doors::register_prestored(&mut conn, &profile, form, state.clock.now()).await?))
    })
    .await
}

/// POST /join/v1/tenants/{tenant}/requests — request access (answers `pending` with a ticket).
pub async fn request(
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (mut conn, _, profile) = admit(&req, &state, &path).await?;
    no_sooner(async {
        let form: Form = body(&req, &bytes)?;
        Ok(answer(&doors::request_access(&mut conn, &profile, form, state.clock.now()).await?))
    })
    .await
}

/// GET /join/v1/tenants/{tenant}/requests/{ticket} — the outcome of an access request.
pub async fn outcome(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (slug, ticket) = path.into_inner();
    let (mut conn, tenant, _) = admit(&req, &state, &slug).await?;
    let outcome = doors::request_outcome(&mut conn, tenant.id, &ticket).await?;
    // Reading an outcome succeeds whatever it is.
    Ok(HttpResponse::Ok().json(outcome.body()))
}
