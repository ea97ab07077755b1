//! POST /Bulk (RFC 7644 §3.7): many operations in one request, each answered in the
//! BulkResponse; the response itself is 200 whenever the request was a BulkRequest.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::db;
use crate::directory::bulk::execute;
use crate::error::{ScimError, ScimResult};
use crate::http::extract::json_body;
use crate::http::principal::Caller;
use crate::http::response::scim;
use crate::http::AppState;
use crate::scim::bulk::{parse, response, BulkLimits};

/// Run a bulk request. The body limit is the route's own (`maxPayloadSize`); too many
/// operations or too large a body is 413 naming the limit.
#[tracing::instrument(name = "bulk", skip_all)]
pub async fn bulk(
    req: HttpRequest,
    Caller(ctx): Caller,
    body: Result<web::Bytes, actix_web::Error>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let body = body.map_err(|e| unreadable(&e, state.bulk))?;
    let request = parse(&json_body(&req, &body)?, state.bulk.max_operations)?;
    tracing::info!(
        operations = request.operations.len(),
        fail_on_errors = request.fail_on_errors,
        "bulk request"
    );
    let mut conn = db::checkout(&state.pool).await?;
    let entries = execute(&mut conn, &ctx, &state.registry, request).await;
    Ok(scim(StatusCode::OK, &response(&ctx.base_url, &entries)))
}

/// Why the body could not be read: over the route's payload limit (413), or broken.
fn unreadable(err: &actix_web::Error, limits: BulkLimits) -> ScimError {
    if err.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
        ScimError::payload_too_large(format!(
            "The size of the bulk operation exceeds the maxPayloadSize ({} bytes, \
             ROSTER_BULK_MAX_PAYLOAD_BYTES); split it into several requests",
            limits.max_payload_bytes
        ))
    } else {
        ScimError::invalid_syntax(format!("the request body could not be read: {err}"))
    }
}
