//! `/admin/v1/tenants`: list and create tenants, read and change a tenant's settings (`sso`).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{admin_error, body, AdminCaller, Operator, TenantScope};
use crate::db::{self, tenants as store, Conn};
use crate::directory::tenants;
use crate::error::ScimResult;
use crate::http::AppState;

/// A tenant as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct TenantView {
    /// URL-safe unique name.
    pub slug: String,
    /// Tenant id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Whether members sign in with SSO (no invitations); shown on a single tenant only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso: Option<bool>,
}

fn view(t: &store::Tenant) -> TenantView {
    TenantView { slug: t.slug.clone(), id: t.id, name: t.name.clone(), created_at: t.created_at, sso: None }
}

async fn view_with_settings(conn: &mut Conn, t: &store::Tenant) -> ScimResult<TenantView> {
    Ok(TenantView { sso: Some(store::sso(conn, t.id).await?), ..view(t) })
}

/// The tenant listing.
#[derive(Debug, Serialize)]
pub struct TenantsView {
    /// By slug.
    pub tenants: Vec<TenantView>,
}

/// GET /admin/v1/tenants — every tenant for the operator, its own for a tenant admin.
pub async fn list(caller: AdminCaller, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = db::checkout(&state.pool).await?;
    let all = store::list_tenants(&mut conn).await?;
    let visible = all.iter().filter(|t| caller.tenant_slug().is_none_or(|own| own == t.slug));
    Ok(HttpResponse::Ok().json(TenantsView { tenants: visible.map(view).collect() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    slug: String,
    name: String,
    member_retention_days: Option<i32>,
}

/// POST /admin/v1/tenants `{"slug", "name", "member_retention_days"?}` → 201 (operator only).
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

/// GET /admin/v1/tenants/{slug} — the tenant with its settings.
pub async fn get(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = db::checkout(&state.pool).await?;
    Ok(HttpResponse::Ok().json(view_with_settings(&mut conn, &scope.tenant).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    sso: Option<bool>,
}

/// PATCH /admin/v1/tenants/{slug} `{"sso": bool}` — SSO tenants get no invitations.
pub async fn update(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let settings: Settings = body(&req, &bytes)?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = &scope.tenant;
    if let Some(sso) = settings.sso {
        store::set_sso(&mut conn, tenant.id, sso).await?;
    }
    Ok(HttpResponse::Ok().json(view_with_settings(&mut conn, tenant).await?))
}
