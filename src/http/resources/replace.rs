//! PUT /Users/{id}, PUT /Groups/{id}: a true replace.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{read_input, registry_for, resource_response, write_member, Endpoint, WriteAsked};
use crate::db;
use crate::directory::{groups, users, Context};
use crate::error::ScimResult;
use crate::http::extract::json_body;
use crate::http::principal::Claimed;
use crate::http::AppState;
use crate::scim::schema::Normalized;

/// What a PUT writes, for the provisioning log, and answers when it succeeds.
const REPLACE: (&str, StatusCode) = ("replace", StatusCode::OK);

/// Replace a resource: attributes not sent are cleared, readOnly ones ignored, immutable ones
/// checked; `If-Match` honoured. A member's PUT checks the caller's token in the round trip that
/// reads the member, like a member's PATCH (`super::patch::patch`).
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
        let read = |ctx: &Context| {
            read_input(&req, json_body(&req, &body), ctx, &ctx.profile.registry, kind, REPLACE)
        };
        let write = async |conn: &mut db::Conn, ctx: &Context, locked, input: Normalized| {
            users::replace_locked_as(conn, ctx, id, locked, input, if_match).await
        };
        return write_member(claimed, &state, id, projection, "replace", read, write).await;
    }
    // A group, or a malformed request: the token first, then the request's complaint.
    let (ctx, id, projection, if_match) = asked.confirm(&req, claimed, "replace").await?;
    // Only a group gets here with a well-formed path and query.
    let registry = registry_for(&state, &ctx, kind);
    let input = read_input(&req, json_body(&req, &body), &ctx, registry, kind, REPLACE)?;
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let stored = groups::replace(&mut conn, &ctx, registry, id, input, if_match.as_ref()).await?;
    Ok(resource_response(StatusCode::OK, registry, kind, &ctx, stored, &projection))
}
