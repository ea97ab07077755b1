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
use crate::scim::list::Projection;
use crate::scim::patch::{parse_request, Mode, PatchRequest, Rule};
use crate::scim::schema::{Registry, ResourceKind};

/// Apply a PatchOp: users answer 200 with the resource; groups answer 204 unless
/// `attributes`/`excludedAttributes` ask for a body (returning 100,000 members is not a reply).
///
/// A member's PATCH checks the caller's token in the round trip that reads the member, and
/// writes in a second one (`super::write_member`). A group's add or removal of members is one
/// statement that checks the token itself when this process recalls how it stood
/// ([`patch_group_as`]). Other group PATCHes, and a request whose path or query is malformed,
/// check it first in a statement of its own ([`Claimed::confirm`]). Every way, a token that is
/// not live answers 401 before anything else about the request, and nothing is written.
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
    if let Some((id, projection, None)) = asked.well_formed(ResourceKind::Group) {
        if let Some(patched) = patch_group_as(&req, &claimed, &state, id, projection, &body).await {
            return patched;
        }
    }
    // A group, or a malformed request: the token first, then the request's complaint.
    let (ctx, id, projection, if_match) = asked.confirm(&req, claimed, "patch").await?;
    // Only a group gets here with a well-formed path and query.
    let request = read_group_request(&req, &body, &ctx, &projection)?;
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let registry = registry_for(&state, &ctx, kind);
    let (_, fired) = patch::patch_group(&mut conn, &ctx, registry, id, &request, if_match.as_ref()).await?;
    group_patched(&req, &mut conn, &ctx, registry, id, &projection, &fired).await
}

/// A group's PATCH in one statement, when this process recalls how the caller's token stood
/// when last found live ([`Claimed::recalled`]) and the request is the IdPs' one add of members
/// or one removal by id, without `If-Match`: the body is read under that standing, and the
/// membership statement writes only if the token is still live at it
/// (`directory::patch::patch_group_as`). `None` when anything says otherwise — the body does not
/// read under that standing (its complaint waits for the token check), the request needs the
/// locked path, or the statement wrote nothing: then the request is as it was
/// ([`Claimed::withdraw`]) and goes the usual way. An error of the statement itself (no such
/// group, no such member) comes after its token check passed.
async fn patch_group_as(
    req: &HttpRequest,
    claimed: &Claimed,
    state: &AppState,
    id: uuid::Uuid,
    projection: &Projection,
    body: &web::Bytes,
) -> Option<ScimResult<HttpResponse>> {
    let kind = ResourceKind::Group;
    let (ctx, standing) = claimed.recalled()?;
    note(req, |r| {
        r.resource(kind, Some(id));
        r.operation("patch");
    });
    let registry = registry_for(state, &ctx, kind);
    let patched = match read_group_request(req, body, &ctx, projection) {
        Ok(request) => match db::checkout(&state.pool, ctx.rows()).await {
            Ok(mut conn) => {
                let token = claimed.token();
                match patch::patch_group_as(&mut conn, &ctx, registry, id, &request, &token, &standing).await
                {
                    Ok(Some((_, fired))) => Ok(Some((conn, fired))),
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        },
        Err(_) => Ok(None),
    };
    match patched {
        Ok(Some((mut conn, fired))) => {
            Some(group_patched(req, &mut conn, &ctx, registry, id, projection, &fired).await)
        }
        Ok(None) => {
            claimed.withdraw();
            None
        }
        Err(e) => Some(Err(e)),
    }
}

/// A group's PatchOp ([`read_request`]), and the answer it expects: 204, unless
/// `attributes`/`excludedAttributes` ask for a body. Other parameters (Entra's
/// `aadOptscim062020` flag rides on every request of the flagged dialect) do not.
fn read_group_request(
    req: &HttpRequest,
    body: &web::Bytes,
    ctx: &Context,
    projection: &Projection,
) -> ScimResult<PatchRequest> {
    let request = read_request(req, body, ctx)?;
    expect_success(req, if group_body(projection) { StatusCode::OK } else { StatusCode::NO_CONTENT });
    Ok(request)
}

/// Whether a group's PATCH answers with the group: only when `attributes`/`excludedAttributes`
/// ask for it (returning 100,000 members is not a reply).
fn group_body(projection: &Projection) -> bool {
    !(projection.attributes.is_empty() && projection.excluded.is_empty())
}

/// The answer to a group's PATCH that took effect: its rules noted, then 204, or the group as
/// the projection asks.
async fn group_patched(
    req: &HttpRequest,
    conn: &mut db::Conn,
    ctx: &Context,
    registry: &Registry,
    id: uuid::Uuid,
    projection: &Projection,
    fired: &[Rule],
) -> ScimResult<HttpResponse> {
    note(req, |r| r.rules(fired));
    if !group_body(projection) {
        return Ok(HttpResponse::NoContent().finish());
    }
    let kind = ResourceKind::Group;
    let want_members = projection.wants(kind.core_schema(), "members");
    let group = groups::get(conn, ctx, id, want_members).await?;
    Ok(resource_response(StatusCode::OK, registry, kind, ctx, group, projection))
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
