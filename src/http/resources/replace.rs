//! PUT /Users/{id}, PUT /Groups/{id}: a true replace.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{log_notes, registry_for, resource_response, write_body, write_member, Endpoint, WriteAsked};
use crate::db;
use crate::directory::{groups, users, Context};
use crate::error::ScimResult;
use crate::http::principal::Claimed;
use crate::http::record::{expect_success, note};
use crate::http::AppState;
use crate::provisioning::summary;
use crate::scim::schema::{normalize, Normalized, Registry, ResourceKind};

/// Replace a resource: attributes not sent are cleared, readOnly ones ignored, immutable ones
/// checked; `If-Match` honoured. A member's PUT checks the caller's token inside its
/// transaction, like a member's PATCH (`super::patch::patch`).
#[tracing::instrument(name = "replace", skip_all, fields(scim.resource = kind.name()))]
pub async fn replace(
    req: HttpRequest,
    claimed: Claimed,
    Endpoint(kind): Endpoint,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let asked = WriteAsked::read(&req, kind, &path.2);
    if let Some((id, projection, if_match)) = asked.member() {
        let read = |ctx: &Context| read_input(&req, &body, ctx, &ctx.profile.registry, kind);
        let write = async |conn: &mut db::Conn, ctx: &Context, locked, input: Normalized| {
            users::replace_locked_as(conn, ctx, id, locked, input, if_match).await
        };
        return write_member(claimed, &state, id, projection, "replace", read, write).await;
    }
    // A group, or a malformed request: the token first, then the request's complaint.
    let (ctx, id, projection, if_match) = asked.confirm(&req, claimed, "replace").await?;
    // Only a group gets here with a well-formed path and query.
    let registry = registry_for(&state, &ctx, kind);
    let input = read_input(&req, &body, &ctx, registry, kind)?;
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let stored = groups::replace(&mut conn, &ctx, registry, id, input, if_match.as_ref()).await?;
    Ok(resource_response(StatusCode::OK, registry, kind, &ctx, stored, &projection))
}

/// The body of a PUT, read in the caller's dialect and normalized against `registry`; what
/// normalisation tolerated and the write's summary noted for the provisioning log.
fn read_input(
    req: &HttpRequest,
    body: &web::Bytes,
    ctx: &Context,
    registry: &Registry,
    kind: ResourceKind,
) -> ScimResult<Normalized> {
    let body = write_body(req, ctx, kind, body)?;
    expect_success(req, StatusCode::OK);
    let input = normalize(registry, kind, &body)?;
    log_notes(req, kind, &input.notes);
    note(req, |r| r.operation(summary::write("replace", &input.resource)));
    Ok(input)
}
