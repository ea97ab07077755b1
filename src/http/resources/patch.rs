//! PATCH /Users/{id}, PATCH /Groups/{id} (RFC 7644 §3.5.2, with the IdP tolerance layer).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::{registry_for, resource_response, Endpoint};
use crate::db;
use crate::directory::{groups, patch};
use crate::error::ScimResult;
use crate::http::extract::{entity_tags, json_body, query_pairs, resource_id};
use crate::http::principal::Caller;
use crate::http::record::{expect_success, note};
use crate::http::AppState;
use crate::provisioning::summary;
use crate::scim::list::parse_projection;
use crate::scim::patch::{parse_request, Mode};
use crate::scim::schema::ResourceKind;

/// Apply a PatchOp: users answer 200 with the resource; groups answer 204 unless
/// `attributes`/`excludedAttributes` ask for a body (returning 100,000 members is not a reply).
#[tracing::instrument(name = "patch", skip_all, fields(scim.resource = kind.name()))]
pub async fn patch(
    req: HttpRequest,
    Caller(ctx): Caller,
    Endpoint(kind): Endpoint,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    note(&req, |r| {
        r.resource(kind, None);
        r.operation("patch");
    });
    let id = resource_id(kind.name(), &path.2)?;
    note(&req, |r| r.resource(kind, Some(id)));
    let projection = parse_projection(&query_pairs(&req)?)?;
    let if_match = entity_tags(&req, header::IF_MATCH)?;
    let mode = if ctx.principal.strict { Mode::Strict } else { Mode::Tolerant };
    let request = parse_request(&json_body(&req, &body)?, mode)?;
    note(&req, |r| {
        r.operation(summary::patch(&request));
        r.rules(&request.fired);
    });
    // Only `attributes`/`excludedAttributes` ask a group PATCH for a body; other parameters
    // (Entra's `aadOptscim062020` flag rides on every request of the flagged dialect) do not.
    let group_body = !(projection.attributes.is_empty() && projection.excluded.is_empty());
    let answer =
        if kind == ResourceKind::Group && !group_body { StatusCode::NO_CONTENT } else { StatusCode::OK };
    expect_success(&req, answer);
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let registry = registry_for(&state, &ctx, kind);
    match kind {
        ResourceKind::User => {
            let written =
                patch::patch_user(&mut conn, &ctx, registry, id, &request, if_match.as_ref()).await?;
            note(&req, |r| {
                r.rules(&written.fired);
                r.active_change(written.active_change);
            });
            Ok(resource_response(StatusCode::OK, registry, kind, &ctx, written.stored, &projection))
        }
        ResourceKind::Group => {
            let (_, fired) =
                patch::patch_group(&mut conn, &ctx, registry, id, &request, if_match.as_ref()).await?;
            note(&req, |r| r.rules(&fired));
            if !group_body {
                return Ok(HttpResponse::NoContent().finish());
            }
            let want_members = projection.wants(kind.core_schema(), "members");
            let group = groups::get(&mut conn, &ctx, id, want_members).await?;
            Ok(resource_response(StatusCode::OK, registry, kind, &ctx, group, &projection))
        }
    }
}
