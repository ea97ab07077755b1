//! `/admin/v1/tenants/{tenant}/setup-links`: a single-use, expiring console URL for a tenant's IT
//! contact (connection setup, tokens and the provisioning log only). The URL is shown once.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::audit::{noted, AuditNote};
use super::{admin_error, body, TenantScope};
use crate::directory::setup_links;
use crate::error::ScimResult;
use crate::http::AppState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewLink {
    expires_in_hours: Option<u32>,
}

/// A setup link just made: its URL (holding the link's secret) is shown this once; no `Debug`,
/// so it cannot end up in a log line.
#[derive(Serialize)]
pub struct SetupLinkView {
    /// Link id.
    pub id: Uuid,
    /// The tenant's slug.
    pub tenant: String,
    /// The console URL to send to the IT contact.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// POST .../setup-links `{"expires_in_hours"?}` → 201 `{"id", "url", "expires_at"}`.
pub async fn create(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let new: NewLink = if bytes.is_empty() { NewLink::default() } else { body(&req, &bytes)? };
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let link =
        setup_links::create(&mut conn, tenant, &state.public_url, new.expires_in_hours, state.clock.now())
            .await
            .map_err(admin_error)?;
    let view = SetupLinkView {
        id: link.id,
        tenant: tenant.slug.clone(),
        url: link.url,
        expires_at: link.expires_at,
    };
    let note = AuditNote {
        targets: vec![("setup_link", link.id.to_string())],
        summary: "created a setup link".into(),
    };
    Ok(noted(HttpResponse::Created().json(view), note))
}
