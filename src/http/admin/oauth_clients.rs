//! `/admin/v1/tenants/{tenant}/connections/{connection}/oauth`: the OAuth client of a connection
//! (issue #13): rotate its secret with an overlap, register its `private_key_jwt` key, revoke it.
//! Secrets are shown once, when created or rotated.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{admin_error, body, path_id, TenantScope};
use crate::directory::oauth::{self as clients, ClientKey, IssuedClient};
use crate::error::ScimResult;
use crate::http::AppState;

/// The credentials an IdP needs, as shown once (`name` when a connection was just created).
#[derive(Debug, Serialize)]
pub struct ClientView<'a> {
    tenant: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<String>,
    connection: Uuid,
    auth: &'static str,
    scim_base_url: String,
    token_endpoint: String,
    client_id: &'a str,
    client_secret: &'a str,
    previous_secret_valid_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// The view of a just-issued client.
pub fn client_view<'a>(
    state: &AppState,
    tenant: &'a str,
    connection: Uuid,
    client: &'a IssuedClient,
) -> ClientView<'a> {
    ClientView {
        tenant,
        name: None,
        connection,
        auth: "oauth",
        scim_base_url: state.scim_base_url(connection),
        token_endpoint: state.token_endpoint(),
        client_id: &client.client_id,
        client_secret: &client.client_secret,
        previous_secret_valid_until: client.previous_valid_until,
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rotation {
    overlap_seconds: Option<u32>,
}

/// POST .../connections/{id}/oauth/rotate `{"overlap_seconds"?}` → 201: a new secret (shown
/// once); the previous one stays valid for the overlap (default `ROSTER_OAUTH_SECRET_OVERLAP_SECS`).
pub async fn rotate(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let rotation: Rotation = if bytes.is_empty() { Rotation::default() } else { body(&req, &bytes)? };
    let connection = path_id("connection", &path.1)?;
    let overlap = rotation
        .overlap_seconds
        .map_or(state.oauth.secret_overlap, |s| chrono::Duration::seconds(i64::from(s)));
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let client = clients::rotate_secret(&mut conn, tenant, connection, overlap, state.clock.now())
        .await
        .map_err(admin_error)?;
    Ok(HttpResponse::Created().json(client_view(&state, &tenant.slug, connection, &client)))
}

/// The key a client's assertions are verified with, after a change.
#[derive(Debug, Serialize)]
struct KeySet {
    client_id: String,
    /// `jwks_url`, `public_key` or `none`.
    key: &'static str,
    jwks_url: Option<String>,
}

/// A revoked client.
#[derive(Debug, Serialize)]
struct Revoked {
    revoked_access_tokens: usize,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeyChange {
    jwks_url: Option<String>,
    public_key: Option<String>,
}

/// PUT .../connections/{id}/oauth/key `{"jwks_url"}` or `{"public_key"}` (`{}` removes it): the
/// key `private_key_jwt` assertions are verified with.
pub async fn set_key(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let change: KeyChange = body(&req, &bytes)?;
    let connection = path_id("connection", &path.1)?;
    let key = ClientKey { jwks_url: change.jwks_url, public_key: change.public_key };
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let client_id = clients::set_key(&mut conn, tenant, connection, &key, state.oauth.egress)
        .await
        .map_err(admin_error)?;
    let kind = match (&key.jwks_url, &key.public_key) {
        (Some(_), _) => "jwks_url",
        (None, Some(_)) => "public_key",
        (None, None) => "none",
    };
    Ok(HttpResponse::Ok().json(KeySet { client_id, key: kind, jwks_url: key.jwks_url }))
}

/// DELETE .../connections/{id}/oauth: revoke the client and every access token it was issued.
pub async fn revoke(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let connection = path_id("connection", &path.1)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let revoked = clients::revoke_client(&mut conn, tenant, connection, state.clock.now())
        .await
        .map_err(admin_error)?;
    Ok(HttpResponse::Ok().json(Revoked { revoked_access_tokens: revoked }))
}
