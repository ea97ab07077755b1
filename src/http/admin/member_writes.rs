//! `/admin/v1/tenants/{tenant}/members/{member}` writes: suspend, reactivate, remove, restore
//! and clear the role override — each one call into the directory's write service (the same
//! functions SCIM uses), with the same guards and events.

use actix_web::{web, HttpResponse};

use super::{path_id, tenant, AdminCaller};
use crate::cache::TenantProfile;
use crate::db::{self, Conn};
use crate::directory::{lifecycle, role_admin, users};
use crate::error::ScimResult;
use crate::http::AppState;

/// The tenant of the path (after the caller's admission) and the member id, with the tenant's
/// profile read fresh (the admin API does not go through the SCIM profile cache).
async fn target(
    conn: &mut Conn,
    caller: &AdminCaller,
    state: &AppState,
    path: &(String, String),
) -> ScimResult<(TenantProfile, uuid::Uuid)> {
    caller.for_tenant(&path.0)?;
    let id = path_id("member", &path.1)?;
    let tenant = tenant(conn, &path.0).await?;
    Ok((TenantProfile::load(conn, &state.registry, tenant.id).await?, id))
}

async fn set_active(
    caller: AdminCaller,
    path: (String, String),
    state: &AppState,
    active: bool,
) -> ScimResult<HttpResponse> {
    let mut conn = db::checkout(&state.pool).await?;
    let (profile, id) = target(&mut conn, &caller, state, &path).await?;
    let done = lifecycle::set_active(&mut conn, &profile, id, active, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(done))
}

/// POST .../members/{member}/suspend — access revoked, memberships and roles kept (403 for the
/// last org admin).
pub async fn suspend(
    caller: AdminCaller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    set_active(caller, path.into_inner(), &state, false).await
}

/// POST .../members/{member}/reactivate — a suspended member active again.
pub async fn reactivate(
    caller: AdminCaller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    set_active(caller, path.into_inner(), &state, true).await
}

/// DELETE .../members/{member} → 204: removed as by SCIM DELETE (403 for the last org admin);
/// restorable within the tenant's retention period.
pub async fn remove(
    caller: AdminCaller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut conn = db::checkout(&state.pool).await?;
    let (profile, id) = target(&mut conn, &caller, &state, &path).await?;
    users::remove_member(&mut conn, &profile, id, None, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// POST .../members/{member}/restore — a removed member back under its id (409 past retention).
pub async fn restore(
    caller: AdminCaller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut conn = db::checkout(&state.pool).await?;
    let (profile, id) = target(&mut conn, &caller, &state, &path).await?;
    let done = lifecycle::restore(&mut conn, &profile, id, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(done))
}

/// DELETE .../members/{member}/role — clear the override: the computed role applies again
/// (403 when that would demote the last org admin).
pub async fn clear_override(
    caller: AdminCaller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut conn = db::checkout(&state.pool).await?;
    let (profile, id) = target(&mut conn, &caller, &state, &path).await?;
    let done = role_admin::set_override(&mut conn, profile.id, id, None, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(done))
}
