//! PUT /Users/{id}, PUT /Groups/{id}: a true replace.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::{log_notes, registry_for, resource_response, write_body, Endpoint};
use crate::db;
use crate::directory::{groups, users};
use crate::error::ScimResult;
use crate::http::extract::{entity_tags, query_pairs, resource_id};
use crate::http::principal::Caller;
use crate::http::record::{expect_success, note};
use crate::http::AppState;
use crate::provisioning::summary;
use crate::scim::list::parse_projection;
use crate::scim::schema::{normalize, ResourceKind};

/// Replace a resource: attributes not sent are cleared, readOnly ones ignored, immutable ones
/// checked; `If-Match` honoured.
#[tracing::instrument(name = "replace", skip_all, fields(scim.resource = kind.name()))]
pub async fn replace(
    req: HttpRequest,
    Caller(ctx): Caller,
    Endpoint(kind): Endpoint,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    note(&req, |r| {
        r.resource(kind, None);
        r.operation("replace");
    });
    let id = resource_id(kind.name(), &path.2)?;
    note(&req, |r| r.resource(kind, Some(id)));
    let projection = parse_projection(&query_pairs(&req)?)?;
    let if_match = entity_tags(&req, header::IF_MATCH)?;
    let body = write_body(&req, &ctx, kind, &body)?;
    expect_success(&req, StatusCode::OK);
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let registry = registry_for(&state, &ctx, kind);
    let input = normalize(registry, kind, &body)?;
    log_notes(&req, kind, &input.notes);
    note(&req, |r| r.operation(summary::write("replace", &input.resource)));
    let stored = match kind {
        ResourceKind::User => {
            let written = users::replace(&mut conn, &ctx, registry, id, input, if_match.as_ref()).await?;
            note(&req, |r| r.active_change(written.active_change));
            written.stored
        }
        ResourceKind::Group => {
            groups::replace(&mut conn, &ctx, registry, id, input, if_match.as_ref()).await?
        }
    };
    Ok(resource_response(StatusCode::OK, registry, kind, &ctx, stored, &projection))
}
