//! `/admin/v1/tenants/{tenant}/...`: the role catalog, group→role bindings, member overrides,
//! group roles, role and position settings, and positions. Every change recomputes the members
//! it affects and writes their `role.changed` events in the same transaction.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{body, path_id, TenantScope};
use crate::db::roles::{Binding, RoleRow, Settings};
use crate::db::{self, positions};
use crate::directory::role_admin::{self, RoleChanges, SettingsChange};
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

/// A role of the catalog.
#[derive(Debug, Serialize)]
pub struct RoleView {
    /// Name (SCIM `roles[].value`).
    pub name: String,
    /// Human-readable name.
    pub display_name: String,
    /// The highest rank wins.
    pub rank: i32,
    /// Whether holders are the tenant's administrators.
    pub grants_admin: bool,
}

fn role_view(r: RoleRow) -> RoleView {
    RoleView { name: r.name, display_name: r.display_name, rank: r.rank, grants_admin: r.grants_admin }
}

/// The catalog.
#[derive(Debug, Serialize)]
pub struct RolesView {
    /// Highest rank first.
    pub roles: Vec<RoleView>,
}

/// A tenant's role and position settings.
#[derive(Debug, Serialize)]
pub struct SettingsView {
    /// The role new members get.
    pub default_role: String,
    /// The User attribute positions are fed from.
    pub position_source: String,
}

fn settings_view(s: Settings) -> SettingsView {
    SettingsView { default_role: s.default_role, position_source: s.position_source }
}

/// A group→role binding.
#[derive(Debug, Serialize)]
pub struct BindingView {
    /// The group.
    pub group_id: Uuid,
    /// The role its direct and inherited members get.
    pub role_name: String,
}

impl From<Binding> for BindingView {
    fn from(b: Binding) -> Self {
        BindingView { group_id: b.group_id, role_name: b.role_name }
    }
}

/// The bindings.
#[derive(Debug, Serialize)]
pub struct BindingsView {
    /// By group, then role.
    pub bindings: Vec<BindingView>,
}

/// A position with how many members hold it.
#[derive(Debug, Serialize)]
pub struct PositionView {
    /// Position id.
    pub id: Uuid,
    /// Name as first seen.
    pub name: String,
    /// Members (not removed) holding it.
    pub members: i64,
}

/// The positions.
#[derive(Debug, Serialize)]
pub struct PositionsView {
    /// By name.
    pub positions: Vec<PositionView>,
}

/// GET .../roles: the catalog, highest rank first.
pub async fn list(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    let all = db::roles::catalog(&mut conn, tenant).await?;
    Ok(HttpResponse::Ok().json(RolesView { roles: all.into_iter().map(role_view).collect() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRole {
    name: String,
    display_name: Option<String>,
    rank: i32,
    #[serde(default)]
    grants_admin: bool,
}

/// POST .../roles `{"name", "display_name"?, "rank", "grants_admin"?}` → 201.
pub async fn create(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let new: NewRole = body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    let role = RoleRow {
        display_name: new.display_name.unwrap_or_else(|| new.name.clone()),
        name: new.name,
        rank: new.rank,
        grants_admin: new.grants_admin,
    };
    let role = role_admin::create_role(&mut conn, tenant, role, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(role_view(role)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolePatch {
    display_name: Option<String>,
    rank: Option<i32>,
    grants_admin: Option<bool>,
}

/// PATCH .../roles/{name} `{"display_name"?, "rank"?, "grants_admin"?}`.
pub async fn update(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let patch: RolePatch = body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    let changes =
        RoleChanges { display_name: patch.display_name, rank: patch.rank, grants_admin: patch.grants_admin };
    let role = role_admin::update_role(&mut conn, tenant, &path.1, changes, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(role_view(role)))
}

/// DELETE .../roles/{name} → 204 (409 while it is the default role).
pub async fn delete(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    role_admin::delete_role(&mut conn, tenant, &path.1, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// GET .../role-bindings
pub async fn bindings(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    let all = role_admin::bindings(&mut conn, tenant).await?;
    Ok(HttpResponse::Ok().json(BindingsView { bindings: all.into_iter().map(BindingView::from).collect() }))
}

/// PUT .../groups/{group}/roles/{role}: 201 when new, 200 when it existed.
pub async fn bind(
    scope: TenantScope,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    let group = path_id("group", &path.1)?;
    let created = role_admin::bind(&mut conn, tenant, group, &path.2, state.clock.now()).await?;
    let view = BindingView { group_id: group, role_name: path.2.clone() };
    Ok(if created { HttpResponse::Created().json(view) } else { HttpResponse::Ok().json(view) })
}

/// DELETE .../groups/{group}/roles/{role} → 204.
pub async fn unbind(
    scope: TenantScope,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    let group = path_id("group", &path.1)?;
    role_admin::unbind(&mut conn, tenant, group, &path.2, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Override {
    role: Option<String>,
}

/// PUT .../members/{member}/role `{"role": "editor"}` or `{"role": null}` (clear the override).
pub async fn set_override(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let value: serde_json::Value = super::body(&req, &bytes)?;
    if value.get("role").is_none() {
        return Err(ScimError::invalid_value(
            "request body: `role` is required (a role name, or null to clear)",
        ));
    }
    let wanted: Override =
        serde_json::from_value(value).map_err(|e| ScimError::invalid_value(format!("request body: {e}")))?;
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    let member = path_id("member", &path.1)?;
    let result =
        role_admin::set_override(&mut conn, tenant, member, wanted.role.as_deref(), state.clock.now())
            .await?;
    Ok(HttpResponse::Ok().json(result))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupRole {
    #[serde(rename = "groupRole", alias = "group_role")]
    group_role: String,
}

/// PUT .../groups/{group}/members/{member}/group-role `{"groupRole": "manager"}` → 204.
pub async fn set_group_role(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let wanted: GroupRole = body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    let (group, member) = (path_id("group", &path.1)?, path_id("member", &path.2)?);
    role_admin::set_group_role(&mut conn, tenant, group, member, &wanted.group_role).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// GET .../settings
pub async fn settings(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    let s = db::roles::settings(&mut conn, tenant).await?;
    Ok(HttpResponse::Ok().json(settings_view(s)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSettings {
    default_role: Option<String>,
    position_source: Option<String>,
}

/// PUT .../settings `{"default_role"?, "position_source"?}` (absent fields are kept).
pub async fn update_settings(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let new: NewSettings = body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    let change = SettingsChange { default_role: new.default_role, position_source: new.position_source };
    let s =
        role_admin::update_settings(&mut conn, &state.registry, tenant, change, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(settings_view(s)))
}

/// GET .../positions: positions with member counts.
pub async fn positions(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = scope.id();
    let all = positions::list(&mut conn, tenant).await?;
    let positions =
        all.into_iter().map(|p| PositionView { id: p.id, name: p.name, members: p.members }).collect();
    Ok(HttpResponse::Ok().json(PositionsView { positions }))
}
