//! `/admin/v1/tenants/{tenant}/categories`: define a tenant's categories (its own member
//! attributes), change their display name, dropdown values or mapping, and delete them. The
//! rules live in `directory::categories`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{body, TenantScope};
use crate::directory::categories::{self, CategoryChange, CategoryRecord, NewCategory};
use crate::error::ScimResult;
use crate::http::AppState;

/// A category as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct CategoryView {
    /// Name (the attribute's name in the tenant's SCIM extension).
    pub name: String,
    /// Human-readable name.
    pub display_name: String,
    /// text, dropdown, number, date or boolean.
    pub kind: &'static str,
    /// A dropdown's values.
    pub allowed_values: Vec<String>,
    /// The User attribute it is mapped from, if any.
    pub source: Option<String>,
    /// Its SCIM attribute path (for filters).
    pub scim_path: String,
    /// Category id.
    pub id: Uuid,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

fn view(r: &CategoryRecord) -> CategoryView {
    let c = &r.category;
    CategoryView {
        name: c.name.clone(),
        display_name: c.display_name.clone(),
        kind: c.kind.as_str(),
        allowed_values: c.allowed_values.clone(),
        source: c.source.clone(),
        scim_path: c.path(),
        id: r.id,
        created_at: r.created_at,
    }
}

/// The categories.
#[derive(Debug, Serialize)]
pub struct CategoriesView {
    /// The tenant's categories.
    pub categories: Vec<CategoryView>,
}

/// What deleting a category did.
#[derive(Debug, Serialize)]
pub struct DeletedView {
    /// The category's name.
    pub deleted: String,
    /// Members whose value was cleared.
    pub members_cleared: usize,
}

/// GET .../categories
pub async fn list(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let all = categories::list_categories(&mut conn, tenant.id).await?;
    Ok(HttpResponse::Ok().json(CategoriesView { categories: all.iter().map(view).collect() }))
}

/// GET .../categories/{name}
pub async fn get(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let record = categories::get_category(&mut conn, tenant.id, &path.1).await?;
    Ok(HttpResponse::Ok().json(view(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBody {
    name: String,
    display_name: Option<String>,
    kind: String,
    #[serde(default)]
    allowed_values: Vec<String>,
    source: Option<String>,
}

/// POST .../categories `{"name","kind","display_name"?,"allowed_values"?,"source"?}` → 201.
pub async fn create(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let new: NewBody = body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let new = NewCategory {
        name: new.name,
        display_name: new.display_name,
        kind: new.kind,
        allowed_values: new.allowed_values,
        source: new.source,
    };
    let record =
        categories::create_category(&mut conn, &state.registry, tenant.id, new, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(view(&record)))
}

/// `Some(None)` for an explicit `null`, `None` for an absent member.
fn explicit_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    display_name: Option<String>,
    allowed_values: Option<Vec<String>>,
    #[serde(default, deserialize_with = "explicit_null")]
    source: Option<Option<String>>,
}

/// PATCH .../categories/{name} `{"display_name"?,"allowed_values"?,"source"? (null: unmapped)}`.
pub async fn update(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let change: ChangeBody = body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let change = CategoryChange {
        display_name: change.display_name,
        allowed_values: change.allowed_values,
        source: change.source,
    };
    let record = categories::update_category(&mut conn, &state.registry, tenant.id, &path.1, change).await?;
    Ok(HttpResponse::Ok().json(view(&record)))
}

/// DELETE .../categories/{name}: the category and its values on every member.
pub async fn delete(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let cleared = categories::delete_category(&mut conn, tenant.id, &path.1, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(DeletedView { deleted: path.1.clone(), members_cleared: cleared }))
}
