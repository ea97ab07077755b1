//! Three request-wide concerns: one tracing span per request (request id, tenant, connection,
//! route, status, latency); a last line of defence that turns any non-SCIM error response
//! (actix's own 404s, payload overflows, ...) into an RFC 7644 §3.12 body; and finishing the
//! provisioning-log record of an authenticated request once its response is known. It also asks
//! `ratelimit` first whether the client may be served at all, and counts its 401s.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use chrono::Utc;
use tracing::{field, Instrument};

use super::ratelimit::RetryAfter;
use super::response::SCIM_JSON;
use super::AppState;
use crate::error::ScimError;
use crate::provisioning::{Finished, LogSlot};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The request's id (`X-Request-Id`) and arrival, for the rows of its provisioning log.
#[derive(Debug, Clone)]
pub struct RequestId {
    /// The id.
    pub id: String,
    /// Arrival time (from the injected clock).
    pub at: chrono::DateTime<Utc>,
    /// Arrival instant, for latency.
    pub started: Instant,
}

/// Wrap a request in its span, log its outcome once, and make sure error bodies are SCIM errors.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = %route,
        tenant.id = field::Empty,
        connection.id = field::Empty,
        status = field::Empty,
        latency_ms = field::Empty,
    );
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let max_body = state.as_ref().map(|s| s.max_body_bytes);
    let at = state.as_ref().map_or_else(Utc::now, |s| s.clock.now());
    let fallback_operation = format!("{} {}", req.method(), scim_route(&route));
    let method = req.method().to_string();
    req.extensions_mut().insert(RequestId { id: id.clone(), at, started });
    async move {
        let refused = state.as_ref().and_then(|s| s.throttle.admit_request(req.request()).err());
        let res = match refused {
            Some(err) => ServiceResponse::from_err(err, req.into_parts().0),
            None => next.call(req).await?.map_into_boxed_body(),
        };
        // Probes and the OAuth endpoints answer their own bodies (a 503 from `/readyz` is not a
        // SCIM error, nor is an RFC 6749 error).
        let mut res = if is_probe(&route) { res } else { scim_error_body(res, max_body) };
        if let Ok(v) = HeaderValue::from_str(&id) {
            res.headers_mut().insert(REQUEST_ID, v);
        }
        if let Some(state) = &state {
            state.throttle.after_response(res.request(), res.status().as_u16());
        }
        RetryAfter::apply(&mut res);
        let span = tracing::Span::current();
        let status = res.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.record("status", status);
        span.record("latency_ms", latency_ms);
        if status >= 500 {
            tracing::warn!("request finished");
        } else {
            tracing::info!("request finished");
        }
        if let Some(state) = &state {
            observe_metrics(state, &res, &route, &method, latency_ms / 1000.0);
        }
        if let Some(state) = state {
            let finished = Finished {
                at,
                request_id: id,
                method,
                fallback_operation,
                status,
                scim_type: None,
                detail: None,
                latency_ms,
            };
            record(&state, &res, finished).await;
        }
        Ok(res)
    }
    .instrument(span)
    .await
}

/// The route below the connection's base URL: `/scim/v2/{connection}/Schemas` → `/Schemas`.
fn scim_route(pattern: &str) -> &str {
    pattern.strip_prefix("/scim/v2/{connection}").filter(|r| !r.is_empty()).unwrap_or(pattern)
}

/// Hand the finished record of an authenticated request to the recorder (which waits only when
/// its queue is full: then the response waits with it). Unauthenticated requests carry no
/// record and are only traced. A write whose row went into its own committed transaction is not
/// recorded again.
async fn record(state: &AppState, res: &ServiceResponse<BoxBody>, finished: Finished) {
    let Some(slot) = res.request().extensions_mut().remove::<LogSlot>() else { return };
    let Some(record) = slot.take_unwritten(finished.status) else { return };
    let finished = match res.response().error().and_then(|e| e.as_error::<ScimError>()) {
        Some(err) => finished.with_error(err),
        None => finished,
    };
    state.recorder.record(record.finish(uuid::Uuid::now_v7(), finished)).await;
}

fn is_probe(route: &str) -> bool {
    matches!(route, "/healthz" | "/readyz" | "/oauth/token" | "/.well-known/oauth-authorization-server")
}

/// Count the request in the metrics (before the provisioning log takes its record).
fn observe_metrics(
    state: &AppState,
    res: &ServiceResponse<BoxBody>,
    route: &str,
    method: &str,
    seconds: f64,
) {
    let extensions = res.request().extensions();
    let record = extensions.get::<LogSlot>().and_then(|s| s.peek(|r| (r.connection_id, r.fired().to_vec())));
    let error = res.response().error().and_then(|e| e.as_error::<ScimError>());
    let status = res.status().as_u16();
    let scim_type = (status >= 400).then(|| error.and_then(|e| e.scim_type()).map_or("none", |t| t.as_str()));
    state.metrics.observe(&crate::http::metrics::Observed {
        route,
        method,
        status,
        connection: record.as_ref().map(|r| r.0),
        seconds,
        scim_type,
        rules: record.as_ref().map_or(&[], |r| &r.1),
    });
}

fn is_scim(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(SCIM_JSON))
}

/// The console's error pages are HTML and stay so.
fn is_html(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// Replace the body of an error response that did not come from a `ScimError`.
fn scim_error_body(res: ServiceResponse<BoxBody>, max_body: Option<usize>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || is_scim(&res) || is_html(&res) {
        return res;
    }
    let err = match status.as_u16() {
        404 => ScimError::not_found("no such endpoint; SCIM endpoints live under /scim/v2/{connection}/"),
        405 => ScimError::method_not_allowed("this endpoint does not support the request method"),
        413 => ScimError::payload_too_large(match max_body {
            Some(limit) => {
                format!("the request body exceeds the limit of {limit} bytes (ROSTER_MAX_BODY_BYTES)")
            }
            None => "the request body is too large".into(),
        }),
        400 => ScimError::invalid_syntax("the request could not be read"),
        408 => ScimError::request_timeout("the request was not received in time"),
        503 => ScimError::unavailable(anyhow::anyhow!("non-SCIM 503 response from the framework")),
        s if s >= 500 => ScimError::internal(anyhow::anyhow!("non-SCIM {s} response from the framework")),
        s => ScimError::with_status(
            s,
            format!("request rejected: {}", status.canonical_reason().unwrap_or("error")),
        ),
    };
    let (req, _) = res.into_parts();
    // `from_err` keeps the error on the response, where the provisioning log finds it.
    ServiceResponse::from_err(err, req)
}
