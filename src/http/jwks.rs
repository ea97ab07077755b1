//! `GET /.well-known/jwks.json`: the public key that verifies the Security Event Tokens Roster
//! pushes to `set` receivers (ES256, `kid` = RFC 7638 thumbprint). Unauthenticated: it is public.

use actix_web::{web, HttpResponse};

use super::AppState;
use crate::events::keys::EventKeys;

/// GET /.well-known/jwks.json.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header(("cache-control", "public, max-age=300"))
        .json(EventKeys::derive(&state.signing_key).jwks())
}
