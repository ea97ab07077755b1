//! `/admin/v1/tenants/{tenant}/join/...` (issue #12), the people half: pre-stored
//! registrations (CRUD, and import from a CSV/XLSX file sent as the request body) and access
//! requests (list with filters, approve, deny with a reason). The rules live in
//! `directory::join::manage`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::join_links::{open, open_profile};
use super::{body, path_id, TenantScope};
use crate::db::join::{self as store, Prestored, Request};
use crate::directory::join::manage::{self, PrestoredInput, MAX_LIST};
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

/// A pre-stored registration as the admin API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PrestoredView<'a> {
    id: Uuid,
    given_name: &'a str,
    family_name: &'a str,
    personal_number: &'a str,
    groups: Vec<Uuid>,
    categories: &'a Value,
    created_at: DateTime<Utc>,
    used: bool,
    used_at: Option<DateTime<Utc>>,
    member_id: Option<Uuid>,
}

fn prestored_view(p: &Prestored) -> PrestoredView<'_> {
    PrestoredView {
        id: p.id,
        given_name: &p.given_name,
        family_name: &p.family_name,
        personal_number: &p.personal_id,
        groups: p.groups.iter().flatten().copied().collect(),
        categories: &p.categories,
        created_at: p.created_at,
        used: p.used_at.is_some(),
        used_at: p.used_at,
        member_id: p.member_id,
    }
}

/// An access request as the admin API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestView<'a> {
    id: Uuid,
    state: &'a str,
    user_name: &'a str,
    email: Option<&'a str>,
    display_name: Option<&'a str>,
    given_name: Option<&'a Value>,
    family_name: Option<&'a Value>,
    categories: Option<&'a Value>,
    reason: Option<&'a str>,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    member_id: Option<Uuid>,
}

fn request_view(r: &Request) -> RequestView<'_> {
    let reg = &r.registration;
    RequestView {
        id: r.id,
        state: &r.state,
        user_name: &r.user_name,
        email: r.email.as_deref(),
        display_name: r.display_name.as_deref(),
        given_name: reg.get("given_name"),
        family_name: reg.get("family_name"),
        categories: reg.get("categories"),
        reason: r.reason.as_deref(),
        created_at: r.created_at,
        decided_at: r.decided_at,
        member_id: r.member_id,
    }
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
    let views: Vec<PrestoredView> = rows.iter().map(prestored_view).collect();
    Ok(HttpResponse::Ok().json(std::collections::BTreeMap::from([("prestored", views)])))
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
    let views: Vec<RequestView> = rows.iter().map(request_view).collect();
    Ok(HttpResponse::Ok().json(std::collections::BTreeMap::from([("requests", views)])))
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
