//! PATCH /Users/{id}, PATCH /Groups/{id} (RFC 7644 §3.5.2, with the IdP tolerance layer).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{registry_for, resource_response, write_member, Endpoint, WriteAsked};
use crate::db;
use crate::directory::{groups, patch, Context};
use crate::error::ScimResult;
use crate::http::extract::json_body;
use crate::http::principal::Claimed;
use crate::http::record::{expect_success, note};
use crate::http::AppState;
use crate::provisioning::summary;
use crate::scim::patch::{parse_request, Mode, PatchRequest};

/// Apply a PatchOp: users answer 200 with the resource; groups answer 204 unless
/// `attributes`/`excludedAttributes` ask for a body (returning 100,000 members is not a reply).
///
/// A member's PATCH checks the caller's token inside its transaction, in the same round trip as
/// the member's lock (`super::write_member`); a group's, and a request whose path or query is
/// malformed, check it first in a statement of its own ([`Claimed::confirm`]). Either way a
/// token that is not live answers 401 before anything else about the request, and nothing is
/// written.
#[tracing::instrument(name = "patch", skip_all, fields(scim.resource = kind.name()))]
pub async fn patch(
    req: HttpRequest,
    claimed: Claimed,
    Endpoint(kind): Endpoint,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let asked = WriteAsked::read(&req, kind, &path.2);
    if let Some((id, projection, if_match)) = asked.member() {
        let read = |ctx: &Context| {
            let request = read_request(&req, &body, ctx)?;
            expect_success(&req, StatusCode::OK);
            Ok(request)
        };
        let write = async |conn: &mut db::Conn, ctx: &Context, locked, request: PatchRequest| {
            patch::patch_locked(conn, ctx, &ctx.profile.registry, id, locked, &request, if_match).await
        };
        return write_member(claimed, &state, id, projection, "patch", read, write).await;
    }
    // A group, or a malformed request: the token first, then the request's complaint.
    let (ctx, id, projection, if_match) = asked.confirm(&req, claimed, "patch").await?;
    // Only a group gets here with a well-formed path and query.
    let request = read_request(&req, &body, &ctx)?;
    // Only `attributes`/`excludedAttributes` ask a group PATCH for a body; other parameters
    // (Entra's `aadOptscim062020` flag rides on every request of the flagged dialect) do not.
    let group_body = !(projection.attributes.is_empty() && projection.excluded.is_empty());
    expect_success(&req, if group_body { StatusCode::OK } else { StatusCode::NO_CONTENT });
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let registry = registry_for(&state, &ctx, kind);
    let (_, fired) = patch::patch_group(&mut conn, &ctx, registry, id, &request, if_match.as_ref()).await?;
    note(&req, |r| r.rules(&fired));
    if !group_body {
        return Ok(HttpResponse::NoContent().finish());
    }
    let want_members = projection.wants(kind.core_schema(), "members");
    let group = groups::get(&mut conn, &ctx, id, want_members).await?;
    Ok(resource_response(StatusCode::OK, registry, kind, &ctx, group, &projection))
}

/// The PatchOp of the body, read in the caller's dialect, its summary and tolerance rules noted
/// for the provisioning log.
fn read_request(req: &HttpRequest, body: &web::Bytes, ctx: &Context) -> ScimResult<PatchRequest> {
    let mode = if ctx.principal.strict { Mode::Strict } else { Mode::Tolerant };
    let request = parse_request(&json_body(req, body)?, mode)?;
    note(req, |r| {
        r.operation(summary::patch(&request));
        r.rules(&request.fired);
    });
    Ok(request)
}
