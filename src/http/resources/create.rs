//! POST /Users, POST /Groups.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{log_notes, registry_for, resource_response, write_body, Endpoint};
use crate::db;
use crate::directory::{groups, users};
use crate::error::ScimResult;
use crate::http::extract::query_pairs;
use crate::http::principal::Caller;
use crate::http::record::{expect_success, note};
use crate::http::AppState;
use crate::provisioning::summary;
use crate::scim::list::parse_projection;
use crate::scim::schema::{normalize, ResourceKind};

/// Create a resource: 201 with the resource, `Location` and `ETag`.
#[tracing::instrument(name = "create", skip_all, fields(scim.resource = kind.name()))]
pub async fn create(
    req: HttpRequest,
    Caller(ctx): Caller,
    Endpoint(kind): Endpoint,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    note(&req, |r| {
        r.resource(kind, None);
        r.operation("create");
    });
    let projection = parse_projection(&query_pairs(&req)?)?;
    let body = write_body(&req, &ctx, kind, &body)?;
    expect_success(&req, StatusCode::CREATED);
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let registry = registry_for(&state, &ctx, kind);
    let input = normalize(registry, kind, &body)?;
    log_notes(&req, kind, &input.notes);
    note(&req, |r| r.operation(summary::write("create", &input.resource)));
    let stored = match kind {
        ResourceKind::User => users::create(&mut conn, &ctx, input).await?,
        ResourceKind::Group => groups::create(&mut conn, &ctx, input).await?,
    };
    note(&req, |r| r.resource(kind, Some(stored.id)));
    Ok(resource_response(StatusCode::CREATED, registry, kind, &ctx, stored, &projection))
}
