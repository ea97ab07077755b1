//! Request parsing at the boundary: bodies, query strings, ids and preconditions become typed
//! values or SCIM errors. Also the error handlers that keep actix's own extractors from
//! answering in plain text.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use serde_json::Value;

use crate::error::{ScimError, ScimResult};
pub use crate::scim::resource::resource_id;
use crate::scim::resource::EntityTags;

/// Parse a request body as JSON. Accepts `application/scim+json`, `application/json` (Okta) and
/// a missing content type; anything else is 415.
pub fn json_body(req: &HttpRequest, body: &web::Bytes) -> ScimResult<Value> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        let essence = ct.split(';').next().unwrap_or_default().trim();
        if !(essence == "application/scim+json" || essence == "application/json") {
            return Err(ScimError::unsupported_media_type(format!(
                "Content-Type {essence:?} is not supported; send application/scim+json or application/json"
            )));
        }
    }
    if body.is_empty() {
        return Err(ScimError::invalid_syntax("the request body is empty; a JSON object is required"));
    }
    serde_json::from_slice(body).map_err(|e| {
        ScimError::invalid_syntax(format!(
            "the request body is not valid JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// A precondition header (`If-Match` / `If-None-Match`), if present.
pub fn entity_tags(req: &HttpRequest, name: header::HeaderName) -> ScimResult<Option<EntityTags>> {
    match req.headers().get(&name) {
        None => Ok(None),
        Some(v) => {
            let text = v.to_str().map_err(|_| ScimError::bad_request(format!("{name} must be ASCII")))?;
            EntityTags::parse(text).map(Some)
        }
    }
}

/// Query-string pairs; a malformed query string is a 400 SCIM error.
pub fn query_pairs(req: &HttpRequest) -> ScimResult<Vec<(String, String)>> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ScimError::bad_request(format!("malformed query string: {e}")))
}

/// Error handler for actix's `Query` extractor.
pub fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ScimError::bad_request(format!("malformed query string: {err}")).into()
}

/// Error handler for actix's `Path` extractor.
pub fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    ScimError::not_found(format!("no such resource: {err}")).into()
}

/// Error handler for actix's `Json` extractor (used by non-SCIM endpoints).
pub fn json_error(err: actix_web::error::JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { limit, .. } | E::Overflow { limit } => {
            ScimError::payload_too_large(format!("the request body exceeds the limit of {limit} bytes"))
                .into()
        }
        E::ContentType => {
            ScimError::unsupported_media_type("send application/scim+json or application/json").into()
        }
        other => ScimError::invalid_syntax(format!("the request body is not valid JSON: {other}")).into(),
    }
}
