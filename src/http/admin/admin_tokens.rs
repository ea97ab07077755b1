//! `/admin/v1/tenants/{tenant}/admin-tokens`: tenant admin tokens (operator only). A token is
//! shown once, on issue; lists carry ids, labels and state, never tokens.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{admin_error, body, path_id, TenantScope};
use crate::config::token_expiry;
use crate::db::admin_tokens as store;
use crate::directory::admin_tokens;
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewAdminToken {
    #[serde(default)]
    label: String,
    expires_in_days: Option<u32>,
}

/// A tenant admin token as listed: never the token itself.
#[derive(Debug, Serialize)]
pub struct AdminTokenView {
    /// Token id.
    pub token_id: Uuid,
    /// What it is for.
    pub label: String,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it expires (null: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

fn record_view(r: &store::AdminTokenRecord, now: DateTime<Utc>) -> AdminTokenView {
    AdminTokenView {
        token_id: r.id,
        label: r.label.clone(),
        state: r.state(now),
        created_at: r.created_at,
        expires_at: r.expires_at,
        revoked_at: r.revoked_at,
    }
}

/// A token just issued: its record, its tenant and the token, shown this once (no `Debug`, so
/// it cannot end up in a log line).
#[derive(Serialize)]
pub struct IssuedView {
    /// The token's record.
    #[serde(flatten)]
    pub record: AdminTokenView,
    /// The tenant's slug.
    pub tenant: String,
    /// The bearer token (never shown again).
    pub token: String,
}

/// The listing.
#[derive(Debug, Serialize)]
pub struct AdminTokensView {
    /// Oldest first.
    pub admin_tokens: Vec<AdminTokenView>,
}

/// POST .../admin-tokens `{"label"?, "expires_in_days"?}` → 201 with the token, shown once.
pub async fn issue(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    scope.operator()?;
    let new: NewAdminToken = if bytes.is_empty() { NewAdminToken::default() } else { body(&req, &bytes)? };
    if new.expires_in_days == Some(0) {
        return Err(ScimError::invalid_value("expires_in_days must be at least 1"));
    }
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let now = state.clock.now();
    let expires = token_expiry(new.expires_in_days.or(state.token_default_expiry_days), now);
    let issued = admin_tokens::issue(&mut conn, &state.signing_key, tenant, &new.label, expires, now)
        .await
        .map_err(admin_error)?;
    let out = IssuedView {
        record: record_view(&issued.record, now),
        tenant: tenant.slug.clone(),
        token: issued.token,
    };
    Ok(HttpResponse::Created().json(out))
}

/// GET .../admin-tokens — ids, labels and state; never the tokens.
pub async fn list(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    scope.operator()?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let now = state.clock.now();
    let all = store::list(&mut conn, tenant.id).await?;
    Ok(HttpResponse::Ok()
        .json(AdminTokensView { admin_tokens: all.iter().map(|r| record_view(r, now)).collect() }))
}

/// DELETE .../admin-tokens/{id} — revoke; the token's next request gets 401.
pub async fn revoke(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    scope.operator()?;
    let id = path_id("admin token", &path.1)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    admin_tokens::revoke(&mut conn, tenant, id, state.clock.now()).await.map_err(admin_error)?;
    Ok(HttpResponse::NoContent().finish())
}
