//! GET /Users/{id}, GET /Groups/{id}.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::{registry_for, resource_response, Endpoint};
use crate::db;
use crate::directory::{groups, users};
use crate::error::ScimResult;
use crate::http::extract::{entity_tags, query_pairs, resource_id};
use crate::http::principal::Caller;
use crate::http::record::note;
use crate::http::AppState;
use crate::scim::list::parse_projection;
use crate::scim::schema::ResourceKind;

/// Read one resource; `If-None-Match` naming the current version answers 304.
#[tracing::instrument(name = "get", skip_all, fields(scim.resource = kind.name()))]
pub async fn get(
    req: HttpRequest,
    Caller(ctx): Caller,
    Endpoint(kind): Endpoint,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    note(&req, |r| {
        r.resource(kind, None);
        r.operation("get");
    });
    let id = resource_id(kind.name(), &path.2)?;
    note(&req, |r| r.resource(kind, Some(id)));
    let projection = parse_projection(&query_pairs(&req)?)?;
    let if_none_match = entity_tags(&req, header::IF_NONE_MATCH)?;
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let registry = registry_for(&state, &ctx, kind);
    let stored = match kind {
        ResourceKind::User => users::get(&mut conn, &ctx, id, projection.wants_user_groups()).await?,
        ResourceKind::Group => {
            let want_members = projection.wants(kind.core_schema(), "members");
            groups::get(&mut conn, &ctx, id, want_members).await?
        }
    };
    if if_none_match.is_some_and(|tags| tags.matches(stored.meta.version)) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, stored.meta.version.etag()))
            .finish());
    }
    Ok(resource_response(StatusCode::OK, registry, kind, &ctx, &stored, &projection))
}
