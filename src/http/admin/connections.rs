//! `/admin/v1/tenants/{tenant}/connections` and tokens: create connections (with their first
//! token), switch quirk mode, issue and revoke tokens. Tokens are shown once, never listed.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{admin_error, body, path_id, tenant, AdminCaller};
use crate::config::token_expiry;
use crate::db::{self, tenants as store};
use crate::directory::oauth as oauth_clients;
use crate::directory::tenants::{self, IssuedToken};
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

fn connection_view(state: &AppState, c: &store::Connection, oauth: bool) -> Value {
    json!({
        "connection": c.id.to_string(),
        "name": c.name,
        "auth": if oauth { "oauth" } else { "bearer" },
        "quirk_mode": c.quirk_mode,
        "scim_base_url": state.scim_base_url(c.id),
        "created_at": c.created_at,
    })
}

fn credentials(state: &AppState, tenant: &str, connection: Uuid, token: &IssuedToken) -> Value {
    json!({
        "tenant": tenant,
        "connection": connection.to_string(),
        "scim_base_url": state.scim_base_url(connection),
        "token": token.token,
        "token_id": token.record.id.to_string(),
        "expires_at": token.record.expires_at,
    })
}

/// GET .../connections
pub async fn list(
    caller: AdminCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path)?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path).await?;
    let all = store::list_connections(&mut conn, tenant.id).await?;
    let oauth = db::oauth::oauth_connections(&mut conn, tenant.id).await?;
    let views: Vec<Value> = all.iter().map(|c| connection_view(&state, c, oauth.contains(&c.id))).collect();
    Ok(HttpResponse::Ok().json(json!({"connections": views})))
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
    caller: AdminCaller,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path)?;
    let new: NewConnection = body(&req, &bytes)?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path).await?;
    let now = state.clock.now();
    let key = oauth_clients::ClientKey { jwks_url: new.jwks_url, public_key: new.public_key };
    match new.auth.as_deref() {
        None | Some("bearer") if key == oauth_clients::ClientKey::default() => {}
        Some("oauth") => {
            let (c, client) = oauth_clients::create_connection(
                &mut conn,
                &tenant,
                &new.name,
                &key,
                state.oauth.egress,
                now,
            )
            .await
            .map_err(admin_error)?;
            let mut out = super::oauth_clients::client_view(&state, &tenant.slug, c.id, &client);
            out["name"] = json!(c.name);
            return Ok(HttpResponse::Created().json(out));
        }
        None | Some("bearer") => {
            return Err(ScimError::invalid_value("jwks_url and public_key need \"auth\": \"oauth\""))
        }
        Some(_) => return Err(ScimError::invalid_value("auth must be \"bearer\" or \"oauth\"")),
    }
    let expires = token_expiry(state.token_default_expiry_days, now);
    let (c, token) =
        tenants::create_connection(&mut conn, &state.signing_key, &tenant, &new.name, expires, now)
            .await
            .map_err(admin_error)?;
    Ok(HttpResponse::Created().json(credentials(&state, &tenant.slug, c.id, &token)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeChange {
    quirk_mode: String,
}

/// PATCH .../connections/{id} `{"quirk_mode": "tolerant" | "strict"}`.
pub async fn set_mode(
    caller: AdminCaller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path.0)?;
    let change: ModeChange = body(&req, &bytes)?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path.0).await?;
    let c = tenants::set_quirk_mode(&mut conn, &tenant, path_id("connection", &path.1)?, &change.quirk_mode)
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
    caller: AdminCaller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path.0)?;
    let new: NewToken = if bytes.is_empty() { NewToken::default() } else { body(&req, &bytes)? };
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path.0).await?;
    let c = tenants::connection(&mut conn, &tenant, path_id("connection", &path.1)?)
        .await
        .map_err(admin_error)?;
    oauth_clients::require_bearer(&mut conn, &c).await.map_err(admin_error)?;
    let now = state.clock.now();
    let expires = token_expiry(new.expires_in_days.or(state.token_default_expiry_days), now);
    let token = tenants::issue_token(&mut conn, &state.signing_key, &c, &new.label, expires, now)
        .await
        .map_err(admin_error)?;
    Ok(HttpResponse::Created().json(credentials(&state, &tenant.slug, c.id, &token)))
}

/// POST .../connections/{id}/rotate `{"label"?, "expires_in_days"?}` → 201: a new token (shown
/// once) and every other token of the connection revoked, in one transaction.
pub async fn rotate(
    caller: AdminCaller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path.0)?;
    let new: NewToken = if bytes.is_empty() { NewToken::default() } else { body(&req, &bytes)? };
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path.0).await?;
    let c = tenants::connection(&mut conn, &tenant, path_id("connection", &path.1)?)
        .await
        .map_err(admin_error)?;
    oauth_clients::require_bearer(&mut conn, &c).await.map_err(admin_error)?;
    let now = state.clock.now();
    let expires = token_expiry(new.expires_in_days.or(state.token_default_expiry_days), now);
    let label = if new.label.is_empty() { "rotated" } else { new.label.as_str() };
    let (token, revoked) = tenants::rotate_token(&mut conn, &state.signing_key, &c, label, expires, now)
        .await
        .map_err(admin_error)?;
    let mut out = credentials(&state, &tenant.slug, c.id, &token);
    out["revoked"] = json!(revoked.iter().map(Uuid::to_string).collect::<Vec<_>>());
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
    caller: AdminCaller,
    path: web::Path<String>,
    query: web::Query<TokenQuery>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path)?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path).await?;
    let now = state.clock.now();
    let all = store::list_tokens(&mut conn, tenant.id, query.connection).await?;
    let views: Vec<Value> = all
        .iter()
        .map(|r| {
            let status = match (r.revoked_at, r.expires_at) {
                (Some(_), _) => "revoked",
                (None, Some(e)) if e <= now => "expired",
                _ => "active",
            };
            json!({"token_id": r.id.to_string(), "connection": r.connection_id.to_string(), "label": r.label,
                   "state": status, "created_at": r.created_at, "expires_at": r.expires_at, "revoked_at": r.revoked_at})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"tokens": views})))
}

/// DELETE .../tokens/{id} — revoke; the token's next request gets 401.
pub async fn revoke_token(
    caller: AdminCaller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path.0)?;
    let token_id = path_id("token", &path.1)?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path.0).await?;
    tenants::revoke_token(&mut conn, &tenant, token_id, state.clock.now()).await.map_err(admin_error)?;
    Ok(HttpResponse::NoContent().finish())
}
