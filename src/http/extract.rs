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
/// a missing content type, in UTF-8 (RFC 8259 §8.1: the only encoding of JSON exchanged between
/// systems); another media type or a `charset` other than UTF-8 is 415.
pub fn json_body(req: &HttpRequest, body: &web::Bytes) -> ScimResult<Value> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        check_json_content_type(ct.to_str().unwrap_or_default())?;
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

/// A JSON media type in UTF-8, or 415 saying what to send instead.
fn check_json_content_type(value: &str) -> ScimResult<()> {
    let value = value.to_ascii_lowercase();
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !(essence == "application/scim+json" || essence == "application/json") {
        return Err(ScimError::unsupported_media_type(format!(
            "Content-Type {} is not supported; send application/scim+json or application/json",
            crate::text::quote(essence)
        )));
    }
    let charset = parts
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.trim() == "charset")
        .map(|(_, v)| v.trim().trim_matches('"'));
    match charset {
        None | Some("utf-8" | "utf8") => Ok(()),
        Some(other) => Err(ScimError::unsupported_media_type(format!(
            "charset {} is not supported; JSON bodies must be UTF-8 (charset=utf-8, or no charset)",
            crate::text::quote(other)
        ))),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types_in_utf8_only() {
        for ok in [
            "application/scim+json",
            "application/json",
            "Application/SCIM+JSON; charset=UTF-8",
            "application/json;charset=\"utf-8\"",
            "application/scim+json; charset=utf8",
            "application/json; profile=x",
        ] {
            assert!(check_json_content_type(ok).is_ok(), "{ok}");
        }
        for (bad, fragment) in [
            ("application/scim+json; charset=utf-16", "charset \"utf-16\""),
            ("application/json; charset=ISO-8859-1", "charset \"iso-8859-1\""),
            ("application/json; charset=", "charset \"\""),
            ("text/plain", "Content-Type \"text/plain\""),
            ("application/xml; charset=utf-8", "Content-Type \"application/xml\""),
        ] {
            let err = check_json_content_type(bad).unwrap_err();
            assert_eq!(err.status(), 415, "{bad}");
            assert!(err.detail().contains(fragment), "{bad}: {}", err.detail());
        }
    }
}
