//! DELETE /Users/{id}, DELETE /Groups/{id}.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::Endpoint;
use crate::db;
use crate::directory::{groups, users};
use crate::error::ScimResult;
use crate::http::extract::{entity_tags, resource_id};
use crate::http::principal::Caller;
use crate::http::record::{expect_success, note};
use crate::http::AppState;
use crate::scim::schema::ResourceKind;

/// Delete a resource: 204. A user is marked removed (row and id kept); a group is deleted.
#[tracing::instrument(name = "delete", skip_all, fields(scim.resource = kind.name()))]
pub async fn delete(
    req: HttpRequest,
    Caller(ctx): Caller,
    Endpoint(kind): Endpoint,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    note(&req, |r| {
        r.resource(kind, None);
        r.operation("delete");
    });
    let id = resource_id(kind.name(), &path.2)?;
    note(&req, |r| r.resource(kind, Some(id)));
    let if_match = entity_tags(&req, header::IF_MATCH)?;
    expect_success(&req, actix_web::http::StatusCode::NO_CONTENT);
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    match kind {
        ResourceKind::User => users::remove(&mut conn, &ctx, id, if_match.as_ref()).await?,
        ResourceKind::Group => groups::delete(&mut conn, &ctx, id, if_match.as_ref()).await?,
    }
    Ok(HttpResponse::NoContent().finish())
}
