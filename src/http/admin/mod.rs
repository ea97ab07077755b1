//! The admin API (`/admin/v1`, JSON): what an operator or an org admin does without an IdP —
//! tenants, connections and their tokens, quirk mode, and the provisioning log. It has its own
//! credential, never a SCIM connection token: the operator credential `ROSTER_ADMIN_TOKEN`.
//! Errors use the same JSON error body as SCIM.

mod connections;
mod imports;
mod log;
mod tenants;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, Ready};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::error::ScimError;

/// The configured operator credential, kept only as a digest and compared in constant time.
#[derive(Clone)]
pub struct OperatorKey([u8; 32]);

impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorKey(..)")
    }
}

impl OperatorKey {
    /// Digest a configured credential.
    pub fn new(token: &str) -> Self {
        OperatorKey(Sha256::digest(token.as_bytes()).into())
    }

    fn matches(&self, presented: &str) -> bool {
        let other: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Digests have a fixed length; fold the differences so timing does not depend on them.
        self.0.iter().zip(other.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// An authenticated operator.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

fn authenticate(req: &HttpRequest) -> Result<Operator, ScimError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ScimError::internal(anyhow::anyhow!("AppState missing")))?;
    let key = state.admin_token.as_ref().ok_or_else(|| {
        ScimError::unauthorized("the admin API is disabled: set ROSTER_ADMIN_TOKEN to enable it")
    })?;
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ScimError::unauthorized("send `Authorization: Bearer <ROSTER_ADMIN_TOKEN>`"))?;
    let token = crate::auth::bearer_token(presented)?;
    if key.matches(token) {
        Ok(Operator)
    } else {
        Err(ScimError::unauthorized("this is not the admin credential (ROSTER_ADMIN_TOKEN)"))
    }
}

impl FromRequest for Operator {
    type Error = ScimError;
    type Future = Ready<Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

/// Turn an operator-command error into the API's error.
fn admin_error(e: crate::directory::tenants::AdminError) -> ScimError {
    use crate::directory::tenants::AdminError;
    match e {
        AdminError::Invalid(d) => ScimError::invalid_value(d),
        AdminError::NotFound(d) => ScimError::not_found(d),
        AdminError::Internal(e) => ScimError::internal(e),
    }
}

/// Parse a JSON body for the admin API (same rules as SCIM bodies).
fn body<T: serde::de::DeserializeOwned>(req: &HttpRequest, bytes: &web::Bytes) -> Result<T, ScimError> {
    let value = super::extract::json_body(req, bytes)?;
    serde_json::from_value(value).map_err(|e| ScimError::invalid_value(format!("request body: {e}")))
}

/// The admin API's routes, under `/admin/v1`.
pub fn routes() -> actix_web::Scope {
    web::scope("/admin/v1")
        .route("/tenants", web::get().to(tenants::list))
        .route("/tenants", web::post().to(tenants::create))
        .route("/tenants/{tenant}/connections", web::get().to(connections::list))
        .route("/tenants/{tenant}/connections", web::post().to(connections::create))
        .route("/tenants/{tenant}/connections/{connection}", web::patch().to(connections::set_mode))
        .route("/tenants/{tenant}/connections/{connection}/tokens", web::post().to(connections::issue_token))
        .route("/tenants/{tenant}/tokens", web::get().to(connections::list_tokens))
        .route("/tenants/{tenant}/tokens/{token}", web::delete().to(connections::revoke_token))
        .route("/tenants/{tenant}/log", web::get().to(log::list))
        .route("/tenants/{tenant}/imports", web::post().to(imports::create))
}
