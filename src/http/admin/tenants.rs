//! `/admin/v1/tenants`: list and create tenants, read and change a tenant's settings (`sso`,
//! member retention, whether new members are invited).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{admin_error, body, tenant, AdminCaller, Operator};
use crate::db::{self, tenants as store, Conn};
use crate::directory::tenants;
use crate::error::ScimResult;
use crate::http::AppState;

/// A tenant as the admin API shows it.
fn view(t: &store::Tenant) -> serde_json::Value {
    json!({"slug": t.slug, "id": t.id.to_string(), "name": t.name, "created_at": t.created_at})
}

async fn view_with_settings(conn: &mut Conn, t: &store::Tenant) -> ScimResult<serde_json::Value> {
    let (retention, invite, sso) = store::member_settings(conn, t.id).await?;
    let mut v = view(t);
    v["sso"] = json!(sso);
    v["member_retention_days"] = json!(retention);
    v["invite_new_members"] = json!(invite);
    Ok(v)
}

/// GET /admin/v1/tenants — every tenant for the operator, its own for a tenant admin.
pub async fn list(caller: AdminCaller, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = db::checkout(&state.pool).await?;
    let all = store::list_tenants(&mut conn).await?;
    let visible = all.iter().filter(|t| caller.tenant_slug().is_none_or(|own| own == t.slug));
    Ok(HttpResponse::Ok().json(json!({"tenants": visible.map(view).collect::<Vec<_>>()})))
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
pub async fn get(
    caller: AdminCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path)?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path).await?;
    Ok(HttpResponse::Ok().json(view_with_settings(&mut conn, &tenant).await?))
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
    caller: AdminCaller,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path)?;
    let settings: Settings = body(&req, &bytes)?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path).await?;
    let change = tenants::MemberSettings {
        member_retention_days: settings.member_retention_days,
        invite_new_members: settings.invite_new_members,
        sso: settings.sso,
    };
    tenants::update_member_settings(&mut conn, &tenant, change).await.map_err(admin_error)?;
    Ok(HttpResponse::Ok().json(view_with_settings(&mut conn, &tenant).await?))
}
