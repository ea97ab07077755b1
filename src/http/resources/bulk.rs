//! POST /Bulk (RFC 7644 §3.7): many operations in one request, each answered in the
//! BulkResponse; the response itself is 200 whenever the request was a BulkRequest.

use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};

use crate::db;
use crate::directory::bulk::{execute, Executed};
use crate::directory::Context;
use crate::error::{ScimError, ScimResult};
use crate::http::extract::json_body;
use crate::http::middleware::RequestId;
use crate::http::principal::Caller;
use crate::http::response::scim;
use crate::http::AppState;
use crate::provisioning::{summary, Finished, RequestRecord};
use crate::scim::bulk::{parse, response, BulkLimits, Outcome};
use crate::scim::schema::ResourceKind;

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
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let registry = super::registry_for(&state, &ctx, ResourceKind::User);
    let executed = execute(&mut conn, &ctx, registry, request).await;
    record_operations(&req, &ctx, &state, &executed).await;
    Ok(scim(StatusCode::OK, &response(&ctx.base_url, &executed.entries)))
}

/// One provisioning-log row per operation that ran (the request itself gets its own row from
/// the middleware), so an IT admin sees each operation's outcome like a single request's.
/// Operations whose write succeeded committed their row with the write; the others (failed,
/// or refused before writing) are recorded here.
async fn record_operations(req: &HttpRequest, ctx: &Context, state: &AppState, executed: &Executed) {
    let request_id = req.extensions().get::<RequestId>().map(|r| r.id.clone()).unwrap_or_default();
    for (i, entry) in executed.entries.iter().enumerate() {
        let Some(outcome) = &entry.outcome else { continue };
        if executed.logged[i] {
            continue;
        }
        let method = entry.envelope.method.clone().unwrap_or_default().to_ascii_uppercase();
        let mut record = RequestRecord::new(ctx.tenant(), ctx.principal.connection_id);
        record.operation(summary::bulk_operation(i, &entry.envelope));
        let (status, error) = match outcome {
            Outcome::Done { status, kind, id, .. } => {
                record.resource(*kind, Some(*id));
                (*status, None)
            }
            Outcome::Failed { error, target } => {
                if let Some((kind, id)) = target {
                    record.resource(*kind, Some(*id));
                }
                (error.status(), Some(error))
            }
        };
        let finished = Finished {
            at: ctx.now,
            request_id: request_id.clone(),
            method,
            fallback_operation: String::new(),
            status,
            scim_type: None,
            detail: None,
            latency_ms: entry.latency_ms,
        };
        let finished = match error {
            Some(e) => finished.with_error(e),
            None => finished,
        };
        state.recorder.record(record.finish(uuid::Uuid::now_v7(), finished)).await;
    }
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
