//! `/admin/v1/tenants/{tenant}/setup-links`: a single-use, expiring console URL for a tenant's IT
//! contact (connection setup, tokens and the provisioning log only). The URL is shown once.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{admin_error, body, tenant, AdminCaller};
use crate::db;
use crate::directory::setup_links;
use crate::error::ScimResult;
use crate::http::AppState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewLink {
    expires_in_hours: Option<u32>,
}

/// POST .../setup-links `{"expires_in_hours"?}` → 201 `{"id", "url", "expires_at"}`.
pub async fn create(
    caller: AdminCaller,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path)?;
    let new: NewLink = if bytes.is_empty() { NewLink::default() } else { body(&req, &bytes)? };
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path).await?;
    let link =
        setup_links::create(&mut conn, &tenant, &state.public_url, new.expires_in_hours, state.clock.now())
            .await
            .map_err(admin_error)?;
    Ok(HttpResponse::Created().json(json!({
        "id": link.id.to_string(),
        "tenant": tenant.slug,
        "url": link.url,
        "expires_at": link.expires_at,
    })))
}
