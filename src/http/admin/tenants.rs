//! `/admin/v1/tenants`: list and create tenants.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{admin_error, body, Operator};
use crate::db::{self, tenants as store};
use crate::directory::tenants;
use crate::error::ScimResult;
use crate::http::AppState;

/// A tenant as the admin API shows it.
fn view(t: &store::Tenant) -> serde_json::Value {
    json!({"slug": t.slug, "id": t.id.to_string(), "name": t.name, "created_at": t.created_at})
}

/// GET /admin/v1/tenants
pub async fn list(_: Operator, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = db::checkout(&state.pool).await?;
    let all = store::list_tenants(&mut conn).await?;
    Ok(HttpResponse::Ok().json(json!({"tenants": all.iter().map(view).collect::<Vec<_>>()})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    slug: String,
    name: String,
    member_retention_days: Option<i32>,
}

/// POST /admin/v1/tenants `{"slug", "name", "member_retention_days"?}` → 201.
pub async fn create(
    _: Operator,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let new: NewTenant = body(&req, &bytes)?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant =
        tenants::create_tenant(&mut conn, &new.slug, &new.name, new.member_retention_days, state.clock.now())
            .await
            .map_err(admin_error)?;
    Ok(HttpResponse::Created().json(view(&tenant)))
}
