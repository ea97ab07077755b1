//! `/Roles`: the tenant's role catalog as a read-only SCIM resource type (so an IdP admin can
//! see which `roles` values Roster understands). Writes answer 405.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::query_pairs;
use super::principal::Caller;
use super::response::scim;
use super::AppState;
use crate::db::{self, roles as store};
use crate::error::{ScimError, ScimResult};
use crate::scim::list::ListResponse;
use crate::scim::resource::fold_key;
use crate::scim::roles::{role_resource, RoleView};

fn view(role: &store::RoleRow) -> RoleView<'_> {
    RoleView {
        name: &role.name,
        display_name: &role.display_name,
        rank: role.rank,
        grants_admin: role.grants_admin,
    }
}

/// GET /Roles: the whole catalog, highest rank first.
#[tracing::instrument(name = "roles.list", skip_all)]
pub async fn list(
    req: HttpRequest,
    Caller(ctx): Caller,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    if query_pairs(&req)?.iter().any(|(k, _)| k.eq_ignore_ascii_case("filter")) {
        return Err(ScimError::invalid_filter(
            "/Roles does not support filtering: the catalog is small, list it whole (GET /Roles)",
        ));
    }
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let catalog = store::catalog(&mut conn, ctx.tenant()).await?;
    let docs: Vec<_> = catalog.iter().map(|r| role_resource(&view(r), &ctx.base_url)).collect();
    Ok(scim(StatusCode::OK, &ListResponse::index(docs.len() as u64, 1, docs)))
}

/// GET /Roles/{name}: one role, its name matched case-insensitively.
#[tracing::instrument(name = "roles.get", skip_all)]
pub async fn get(
    Caller(ctx): Caller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let role = store::find(&mut conn, ctx.tenant(), &fold_key(&path.1)).await?.ok_or_else(|| {
        ScimError::not_found(format!("Role {} not found; GET /Roles lists the catalog", path.1))
    })?;
    Ok(scim(StatusCode::OK, &role_resource(&view(&role), &ctx.base_url)))
}
