//! GET /Users, GET /Groups: index paging with exact totals.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::{present, Endpoint};
use crate::db;
use crate::directory::{groups, users};
use crate::error::ScimResult;
use crate::http::extract::query_pairs;
use crate::http::principal::Caller;
use crate::http::response::scim;
use crate::http::AppState;
use crate::scim::list::{list_response, parse_list};
use crate::scim::schema::ResourceKind;

/// List resources in a stable order (`startIndex`, `count`, `attributes`, `excludedAttributes`).
#[tracing::instrument(name = "list", skip_all, fields(scim.resource = kind.name()))]
pub async fn list(
    req: HttpRequest,
    Caller(ctx): Caller,
    Endpoint(kind): Endpoint,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let params = parse_list(&query_pairs(&req)?, state.limits)?;
    let mut conn = db::checkout(&state.pool).await?;
    let (total, items) = match kind {
        ResourceKind::User => users::list(&mut conn, &ctx, params.start_index, params.count).await?,
        ResourceKind::Group => {
            let want_members = params.projection.wants(kind.core_schema(), "members");
            groups::list(&mut conn, &ctx, params.start_index, params.count, want_members).await?
        }
    };
    let resources =
        items.iter().map(|s| Value::Object(present(&state, kind, &ctx, s, &params.projection))).collect();
    Ok(scim(StatusCode::OK, &list_response(total, params.start_index, resources)))
}
