//! `/admin/v1/tenants`: list and create tenants, read and change a tenant's settings (`sso`,
//! member retention, whether new members are invited).

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
    /// Days a removed member stays restorable; shown on a single tenant only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_retention_days: Option<i32>,
    /// Whether new members get `member.invitation_needed`; shown on a single tenant only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_new_members: Option<bool>,
}

fn view(t: &store::Tenant) -> TenantView {
    TenantView {
        slug: t.slug.clone(),
        id: t.id,
        name: t.name.clone(),
        created_at: t.created_at,
        sso: None,
        member_retention_days: None,
        invite_new_members: None,
    }
}

async fn view_with_settings(conn: &mut Conn, t: &store::Tenant) -> ScimResult<TenantView> {
    let (retention, invite, sso) = store::member_settings(conn, t.id).await?;
    Ok(TenantView {
        sso: Some(sso),
        member_retention_days: Some(retention),
        invite_new_members: Some(invite),
        ..view(t)
    })
}

/// The tenant listing.
#[derive(Debug, Serialize)]
pub struct TenantsView {
    /// By slug.
    pub tenants: Vec<TenantView>,
}

/// GET /admin/v1/tenants — every tenant for the operator, its own for a tenant admin.
pub async fn list(caller: AdminCaller, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = db::checkout(&state.pool, caller.rows()).await?;
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
    let mut conn = db::checkout(&state.pool, db::Scope::All).await?;
    let tenant =
        tenants::create_tenant(&mut conn, &new.slug, &new.name, new.member_retention_days, state.clock.now())
            .await
            .map_err(admin_error)?;
    Ok(HttpResponse::Created().json(view(&tenant)))
}

/// GET /admin/v1/tenants/{slug} — the tenant with its settings.
pub async fn get(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    Ok(HttpResponse::Ok().json(view_with_settings(&mut conn, &scope.tenant).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    sso: Option<bool>,
    member_retention_days: Option<i32>,
    invite_new_members: Option<bool>,
}

/// PATCH /admin/v1/tenants/{slug} `{"sso"?, "member_retention_days"?, "invite_new_members"?}` —
/// SSO tenants get no invitations; retention (0–3650 days) is how long removed members stay
/// restorable; `invite_new_members: false` stops `member.invitation_needed`.
pub async fn update(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let settings: Settings = body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let change = tenants::MemberSettings {
        member_retention_days: settings.member_retention_days,
        invite_new_members: settings.invite_new_members,
        sso: settings.sso,
    };
    tenants::update_member_settings(&mut conn, tenant, change).await.map_err(admin_error)?;
    Ok(HttpResponse::Ok().json(view_with_settings(&mut conn, tenant).await?))
}
