//! `/admin/v1/tenants/{tenant}/admin-tokens`: tenant admin tokens (operator only). A token is
//! shown once, on issue; lists carry ids, labels and state, never tokens.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{admin_error, body, path_id, TenantScope};
use crate::config::token_expiry;
use crate::db::{self, admin_tokens as store};
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

fn record_view(r: &store::AdminTokenRecord, now: chrono::DateTime<chrono::Utc>) -> Value {
    json!({"token_id": r.id.to_string(), "label": r.label, "state": r.state(now),
           "created_at": r.created_at, "expires_at": r.expires_at, "revoked_at": r.revoked_at})
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
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = &scope.tenant;
    let now = state.clock.now();
    let expires = token_expiry(new.expires_in_days.or(state.token_default_expiry_days), now);
    let issued = admin_tokens::issue(&mut conn, &state.signing_key, tenant, &new.label, expires, now)
        .await
        .map_err(admin_error)?;
    let mut out = record_view(&issued.record, now);
    out["tenant"] = json!(tenant.slug);
    out["token"] = json!(issued.token);
    Ok(HttpResponse::Created().json(out))
}

/// GET .../admin-tokens — ids, labels and state; never the tokens.
pub async fn list(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    scope.operator()?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = &scope.tenant;
    let now = state.clock.now();
    let all = store::list(&mut conn, tenant.id).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"admin_tokens": all.iter().map(|r| record_view(r, now)).collect::<Vec<_>>()})))
}

/// DELETE .../admin-tokens/{id} — revoke; the token's next request gets 401.
pub async fn revoke(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    scope.operator()?;
    let id = path_id("admin token", &path.1)?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = &scope.tenant;
    admin_tokens::revoke(&mut conn, tenant, id, state.clock.now()).await.map_err(admin_error)?;
    Ok(HttpResponse::NoContent().finish())
}
