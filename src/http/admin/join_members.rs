//! `/admin/v1/tenants/{tenant}/join/...` (issue #12), the people half: pre-stored
//! registrations (CRUD, and import from a CSV/XLSX file sent as the request body) and access
//! requests (list with filters, approve, deny with a reason). The rules live in
//! `directory::join::manage`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::join_links::{open, open_profile};
use super::{body, path_id, TenantScope};
use crate::db::join::{self as store, Prestored, Request};
use crate::directory::join::manage::{self, PrestoredInput, MAX_LIST};
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

fn prestored_view(p: &Prestored) -> Value {
    json!({
        "id": p.id.to_string(),
        "givenName": p.given_name,
        "familyName": p.family_name,
        "personalNumber": p.personal_id,
        "groups": p.groups.iter().flatten().map(ToString::to_string).collect::<Vec<_>>(),
        "categories": p.categories,
        "createdAt": p.created_at,
        "used": p.used_at.is_some(),
        "usedAt": p.used_at,
        "memberId": p.member_id.map(|m| m.to_string()),
    })
}

fn request_view(r: &Request) -> Value {
    let reg = &r.registration;
    json!({
        "id": r.id.to_string(),
        "state": r.state,
        "userName": r.user_name,
        "email": r.email,
        "displayName": r.display_name,
        "givenName": reg.get("given_name"),
        "familyName": reg.get("family_name"),
        "categories": reg.get("categories"),
        "reason": r.reason,
        "createdAt": r.created_at,
        "decidedAt": r.decided_at,
        "memberId": r.member_id.map(|m| m.to_string()),
    })
}

/// Query of the pre-stored list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrestoredFilter {
    /// Only those a registration matched (`true`) or not (`false`).
    pub used: Option<bool>,
}

/// GET .../join/prestored?used=
pub async fn list_prestored(
    scope: TenantScope,
    query: web::Query<PrestoredFilter>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (mut conn, tenant) = open(&scope, &state).await?;
    let rows = store::prestored(&mut conn, tenant.id, query.used, MAX_LIST).await?;
    Ok(HttpResponse::Ok().json(json!({"prestored": rows.iter().map(prestored_view).collect::<Vec<_>>()})))
}

/// POST .../join/prestored
pub async fn create_prestored(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let input: PrestoredInput = body(&req, &bytes)?;
    let (mut conn, _, profile) = open_profile(&scope, &state).await?;
    let row = manage::create_prestored(&mut conn, &profile, input, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(prestored_view(&row)))
}

/// POST .../join/prestored/import — a CSV or XLSX file as the body.
pub async fn import_prestored(
    scope: TenantScope,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (mut conn, _, profile) = open_profile(&scope, &state).await?;
    if bytes.is_empty() {
        return Err(ScimError::invalid_value("send the CSV or XLSX file as the request body"));
    }
    let report =
        manage::import_prestored(&mut conn, &profile, &bytes, state.import_max_rows, state.clock.now())
            .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// GET .../join/prestored/{record}
pub async fn get_prestored(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (_, raw) = path.into_inner();
    let (mut conn, tenant) = open(&scope, &state).await?;
    let row = manage::prestored(&mut conn, tenant.id, path_id("pre-stored registration", &raw)?).await?;
    Ok(HttpResponse::Ok().json(prestored_view(&row)))
}

/// PUT .../join/prestored/{record}
pub async fn update_prestored(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (_, raw) = path.into_inner();
    let input: PrestoredInput = body(&req, &bytes)?;
    let (mut conn, _, profile) = open_profile(&scope, &state).await?;
    let id = path_id("pre-stored registration", &raw)?;
    let row = manage::update_prestored(&mut conn, &profile, id, input, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(prestored_view(&row)))
}

/// DELETE .../join/prestored/{record}
pub async fn delete_prestored(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (_, raw) = path.into_inner();
    let (mut conn, tenant) = open(&scope, &state).await?;
    manage::delete_prestored(&mut conn, tenant.id, path_id("pre-stored registration", &raw)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Query of the access request list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFilter {
    /// pending | approved | denied.
    pub state: Option<String>,
    /// Prefix of the email or userName (caseless).
    pub q: Option<String>,
}

/// GET .../join/requests?state=&q=
pub async fn requests(
    scope: TenantScope,
    query: web::Query<RequestFilter>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let f = query.into_inner();
    if let Some(s) = f.state.as_deref().filter(|s| !["pending", "approved", "denied"].contains(s)) {
        return Err(ScimError::invalid_value(format!(
            "state must be one of pending, approved, denied, not {}",
            crate::text::quote(&crate::text::truncate(s, 50))
        )));
    }
    if f.q.as_deref().is_some_and(|q| q.chars().count() > 320) {
        return Err(ScimError::invalid_value("q: at most 320 characters"));
    }
    let (mut conn, tenant) = open(&scope, &state).await?;
    let prefix = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let rows = store::requests(&mut conn, tenant.id, f.state.as_deref(), prefix, MAX_LIST).await?;
    Ok(HttpResponse::Ok().json(json!({"requests": rows.iter().map(request_view).collect::<Vec<_>>()})))
}

/// POST .../join/requests/{request}/approve
pub async fn approve(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (_, raw) = path.into_inner();
    let (mut conn, _, profile) = open_profile(&scope, &state).await?;
    let id = path_id("access request", &raw)?;
    let request = manage::approve(&mut conn, &profile, id, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(request_view(&request)))
}

/// A denial.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Denial {
    /// Why (shown to the registrant).
    pub reason: String,
}

/// POST .../join/requests/{request}/deny — `{"reason": "..."}`.
pub async fn deny(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (_, raw) = path.into_inner();
    let denial: Denial = body(&req, &bytes)?;
    let (mut conn, tenant) = open(&scope, &state).await?;
    let id = path_id("access request", &raw)?;
    let request = manage::deny(&mut conn, tenant.id, id, &denial.reason, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(request_view(&request)))
}
