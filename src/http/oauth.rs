//! The OAuth 2.0 authorization server of connections (issue #13): `POST /oauth/token` (client
//! credentials grant, RFC 6749 §4.4, with `client_secret_basic`, `client_secret_post` and
//! `private_key_jwt` client authentication) and its RFC 8414 metadata. Answers are RFC 6749 §5
//! JSON, never SCIM errors, and never cached.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde_json::json;

use super::AppState;
use crate::directory::oauth::{self as clients, Grant};
use crate::events::dispatch::DeliveryClient;
use crate::oauth::{self, assertion, OAuthError};

/// Token endpoint settings and the client that fetches JWKS URLs.
#[derive(Debug)]
pub struct OAuthSettings {
    /// Lifetime of an access token (`ROSTER_OAUTH_TOKEN_LIFETIME_SECS`).
    pub token_lifetime: chrono::Duration,
    /// Default overlap of a secret rotation (`ROSTER_OAUTH_SECRET_OVERLAP_SECS`).
    pub secret_overlap: chrono::Duration,
    /// Fetches JWKS URLs under the webhook egress policy.
    pub http: DeliveryClient,
    /// Whether JWKS URLs may point at private addresses (`ROSTER_WEBHOOK_ALLOW_PRIVATE`).
    pub egress: crate::events::egress::Egress,
}

impl AppState {
    /// The token endpoint URL (also the `aud` client assertions must carry).
    pub fn token_endpoint(&self) -> String {
        format!("{}{}", self.public_url, oauth::TOKEN_PATH)
    }
}

fn no_store(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
    builder
}

fn error_response(err: &OAuthError) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(err.status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = no_store(HttpResponse::build(status));
    if err.status == 401 {
        builder.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="roster", error="invalid_client""#));
    }
    if err.status == 503 {
        builder.insert_header((header::RETRY_AFTER, crate::error::RETRY_AFTER_SECS));
    }
    builder.json(err.body())
}

/// POST /oauth/token. A body that cannot be read (too large, cut off) is an `invalid_request`
/// with the body read error's status, in the RFC 6749 form like every other answer here.
pub async fn token(
    req: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            let mut err = OAuthError::invalid_request(match status {
                413 => format!("the request body is larger than {} bytes", state.max_body_bytes),
                _ => "the request body could not be read".to_string(),
            });
            err.status = status;
            return error_response(&err);
        }
    };
    let header_text = |name| req.headers().get(name).and_then(|v: &header::HeaderValue| v.to_str().ok());
    let parsed =
        oauth::request::parse(header_text(header::CONTENT_TYPE), &body, header_text(header::AUTHORIZATION));
    let request = match parsed {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    let audience = state.token_endpoint();
    let grant = Grant {
        key: &state.signing_key,
        http: &state.oauth.http,
        audience: &audience,
        lifetime: state.oauth.token_lifetime,
        now: state.clock.now(),
    };
    // The client id names the tenant; the lookup finds it.
    let issued = match crate::db::checkout(&state.pool, crate::db::Scope::All).await {
        Ok(mut conn) => clients::grant(&mut conn, &request.auth, grant).await,
        Err(_) => Err(OAuthError::server_error(503, "the database is unavailable; retry shortly")),
    };
    match issued {
        Ok(t) => {
            tracing::Span::current().record("connection.id", tracing::field::display(t.connection_id));
            no_store(HttpResponse::Ok()).json(json!({
                "access_token": t.token,
                "token_type": "Bearer",
                "expires_in": t.expires_in,
                "scope": oauth::SCOPE,
            }))
        }
        Err(e) => {
            if e.status == 401 {
                tracing::info!(reason = %e.description, "client authentication failed at the token endpoint");
            }
            error_response(&e)
        }
    }
}

/// Any other method on /oauth/token.
pub async fn token_method_not_allowed() -> HttpResponse {
    let mut res = error_response(&OAuthError::invalid_request("the token endpoint accepts POST only"));
    *res.status_mut() = actix_web::http::StatusCode::METHOD_NOT_ALLOWED;
    res.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    res
}

/// GET /.well-known/oauth-authorization-server (RFC 8414).
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let algs: Vec<String> = assertion::ALGORITHMS.iter().map(|a| format!("{a:?}")).collect();
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=300")).json(json!({
        "issuer": state.public_url,
        "token_endpoint": state.token_endpoint(),
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "scopes_supported": [oauth::SCOPE],
        "token_endpoint_auth_methods_supported": oauth::AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": algs,
    }))
}
