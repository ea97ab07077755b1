//! `/admin/v1/tenants/{tenant}/connections` and tokens: create connections (with their first
//! token), switch quirk mode, issue and revoke tokens. Tokens are shown once, never listed.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{admin_error, body, path_id, TenantScope};
use crate::config::token_expiry;
use crate::db::{self, tenants as store};
use crate::directory::oauth as oauth_clients;
use crate::directory::tenants::{self, IssuedToken};
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

/// A connection as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct ConnectionView {
    /// Connection id.
    pub connection: Uuid,
    /// Its name.
    pub name: String,
    /// `bearer` (connection tokens) or `oauth` (client credentials).
    pub auth: &'static str,
    /// `tolerant` or `strict`.
    pub quirk_mode: String,
    /// The SCIM base URL an IdP is given.
    pub scim_base_url: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

fn connection_view(state: &AppState, c: &store::Connection, oauth: bool) -> ConnectionView {
    ConnectionView {
        connection: c.id,
        name: c.name.clone(),
        auth: if oauth { "oauth" } else { "bearer" },
        quirk_mode: c.quirk_mode.clone(),
        scim_base_url: state.scim_base_url(c.id),
        created_at: c.created_at,
    }
}

/// The connections listing.
#[derive(Debug, Serialize)]
pub struct ConnectionsView {
    /// Oldest first.
    pub connections: Vec<ConnectionView>,
}

/// What an IdP needs, with a token shown this once (no `Debug`: it holds the token).
#[derive(Serialize)]
pub struct CredentialsView {
    /// The tenant's slug.
    pub tenant: String,
    /// Connection id.
    pub connection: Uuid,
    /// The SCIM base URL.
    pub scim_base_url: String,
    /// The bearer token (never shown again).
    pub token: String,
    /// Its id (to revoke it).
    pub token_id: Uuid,
    /// When it expires (null: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// Tokens a rotation revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Vec<Uuid>>,
}

fn credentials(state: &AppState, tenant: &str, connection: Uuid, token: IssuedToken) -> CredentialsView {
    CredentialsView {
        tenant: tenant.to_string(),
        connection,
        scim_base_url: state.scim_base_url(connection),
        token: token.token,
        token_id: token.record.id,
        expires_at: token.record.expires_at,
        revoked: None,
    }
}

/// A connection token as listed: never the token.
#[derive(Debug, Serialize)]
pub struct TokenView {
    /// Token id.
    pub token_id: Uuid,
    /// Its connection.
    pub connection: Uuid,
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

/// The token listing.
#[derive(Debug, Serialize)]
pub struct TokensView {
    /// The tenant's tokens.
    pub tokens: Vec<TokenView>,
}

/// GET .../connections
pub async fn list(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let all = store::list_connections(&mut conn, tenant.id).await?;
    let oauth = db::oauth::oauth_connections(&mut conn, tenant.id).await?;
    let connections = all.iter().map(|c| connection_view(&state, c, oauth.contains(&c.id))).collect();
    Ok(HttpResponse::Ok().json(ConnectionsView { connections }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewConnection {
    name: String,
    /// `bearer` (default) or `oauth`.
    #[serde(default)]
    auth: Option<String>,
    /// `private_key_jwt` key of an `oauth` connection.
    #[serde(default)]
    jwks_url: Option<String>,
    #[serde(default)]
    public_key: Option<String>,
}

/// POST .../connections `{"name", "auth"?, "jwks_url"?, "public_key"?}` → 201 with the SCIM base
/// URL and the first token, or, with `"auth": "oauth"`, the token endpoint, client id and secret.
pub async fn create(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let new: NewConnection = body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let now = state.clock.now();
    let key = oauth_clients::ClientKey { jwks_url: new.jwks_url, public_key: new.public_key };
    match new.auth.as_deref() {
        None | Some("bearer") if key == oauth_clients::ClientKey::default() => {}
        Some("oauth") => {
            let (c, client) =
                oauth_clients::create_connection(&mut conn, tenant, &new.name, &key, state.oauth.egress, now)
                    .await
                    .map_err(admin_error)?;
            let mut out = super::oauth_clients::client_view(&state, &tenant.slug, c.id, &client);
            out.name = Some(c.name);
            return Ok(HttpResponse::Created().json(out));
        }
        None | Some("bearer") => {
            return Err(ScimError::invalid_value("jwks_url and public_key need \"auth\": \"oauth\""))
        }
        Some(_) => return Err(ScimError::invalid_value("auth must be \"bearer\" or \"oauth\"")),
    }
    let expires = token_expiry(state.token_default_expiry_days, now);
    let (c, token) =
        tenants::create_connection(&mut conn, &state.signing_key, tenant, &new.name, expires, now)
            .await
            .map_err(admin_error)?;
    Ok(HttpResponse::Created().json(credentials(&state, &tenant.slug, c.id, token)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeChange {
    quirk_mode: String,
}

/// PATCH .../connections/{id} `{"quirk_mode": "tolerant" | "strict"}`.
pub async fn set_mode(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let change: ModeChange = body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let c = tenants::set_quirk_mode(&mut conn, tenant, path_id("connection", &path.1)?, &change.quirk_mode)
        .await
        .map_err(admin_error)?;
    let oauth = db::oauth::of_connection(&mut conn, tenant.id, c.id).await?.is_some();
    Ok(HttpResponse::Ok().json(connection_view(&state, &c, oauth)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewToken {
    #[serde(default)]
    label: String,
    expires_in_days: Option<u32>,
}

/// POST .../connections/{id}/tokens `{"label"?, "expires_in_days"?}` → 201, the token shown once.
pub async fn issue_token(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let new: NewToken = if bytes.is_empty() { NewToken::default() } else { body(&req, &bytes)? };
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let c =
        tenants::connection(&mut conn, tenant, path_id("connection", &path.1)?).await.map_err(admin_error)?;
    oauth_clients::require_bearer(&mut conn, &c).await.map_err(admin_error)?;
    let now = state.clock.now();
    let expires = token_expiry(new.expires_in_days.or(state.token_default_expiry_days), now);
    let token = tenants::issue_token(&mut conn, &state.signing_key, &c, &new.label, expires, now)
        .await
        .map_err(admin_error)?;
    Ok(HttpResponse::Created().json(credentials(&state, &tenant.slug, c.id, token)))
}

/// POST .../connections/{id}/rotate `{"label"?, "expires_in_days"?}` → 201: a new token (shown
/// once) and every other token of the connection revoked, in one transaction.
pub async fn rotate(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let new: NewToken = if bytes.is_empty() { NewToken::default() } else { body(&req, &bytes)? };
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let c =
        tenants::connection(&mut conn, tenant, path_id("connection", &path.1)?).await.map_err(admin_error)?;
    oauth_clients::require_bearer(&mut conn, &c).await.map_err(admin_error)?;
    let now = state.clock.now();
    let expires = token_expiry(new.expires_in_days.or(state.token_default_expiry_days), now);
    let label = if new.label.is_empty() { "rotated" } else { new.label.as_str() };
    let (token, revoked) = tenants::rotate_token(&mut conn, &state.signing_key, &c, label, expires, now)
        .await
        .map_err(admin_error)?;
    let out = CredentialsView { revoked: Some(revoked), ..credentials(&state, &tenant.slug, c.id, token) };
    Ok(HttpResponse::Created().json(out))
}

#[derive(Deserialize)]
/// Query of the token list.
pub struct TokenQuery {
    /// Only tokens of this connection.
    pub connection: Option<Uuid>,
}

/// GET .../tokens[?connection=] — ids, labels and state; never the tokens.
pub async fn list_tokens(
    scope: TenantScope,
    query: web::Query<TokenQuery>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let now = state.clock.now();
    let all = store::list_tokens(&mut conn, tenant.id, query.connection).await?;
    let tokens = all
        .into_iter()
        .map(|r| TokenView {
            state: match (r.revoked_at, r.expires_at) {
                (Some(_), _) => "revoked",
                (None, Some(e)) if e <= now => "expired",
                _ => "active",
            },
            token_id: r.id,
            connection: r.connection_id,
            label: r.label,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(TokensView { tokens }))
}

/// DELETE .../tokens/{id} — revoke; the token's next request gets 401.
pub async fn revoke_token(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let token_id = path_id("token", &path.1)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    tenants::revoke_token(&mut conn, tenant, token_id, state.clock.now()).await.map_err(admin_error)?;
    Ok(HttpResponse::NoContent().finish())
}
