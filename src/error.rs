//! The one SCIM error type: an HTTP status, an optional `scimType` and a `detail` a person can act on.
//!
//! Everything that can fail on a request path returns [`ScimError`]. The type is pure (no actix);
//! `http::response` turns it into the RFC 7644 §3.12 body. Internal causes are kept for the log and
//! never serialised.

use std::fmt;

/// `scimType` values of RFC 7644 §3.12 (and RFC 9865 for cursors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    /// The filter syntax was invalid or the attribute is not filterable.
    InvalidFilter,
    /// The filter yields too many results.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The attempted modification is not compatible with the attribute's mutability.
    Mutability,
    /// The request body structure was invalid or did not conform to the schema.
    InvalidSyntax,
    /// The path attribute was invalid or malformed.
    InvalidPath,
    /// The specified path did not yield a target that could be operated on.
    NoTarget,
    /// A required value was missing or the value was not compatible with the attribute type.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// The request cannot be completed because it contains sensitive information in the URI.
    Sensitive,
    /// RFC 9865: the cursor is malformed or not valid for this query.
    InvalidCursor,
    /// RFC 9865: the cursor has expired.
    ExpiredCursor,
    /// RFC 9865: the count is not acceptable for cursor paging.
    InvalidCount,
}

impl ScimType {
    /// The wire spelling of the scimType.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
            ScimType::InvalidCount => "invalidCount",
        }
    }
}

/// What went wrong on a request, ready to be answered as a SCIM error.
#[derive(Debug)]
pub struct ScimError {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
    cause: Option<anyhow::Error>,
}

impl ScimError {
    fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into(), cause: None }
    }

    /// 400 `invalidSyntax`: the body is not JSON or not shaped like the resource.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidSyntax), detail)
    }
    /// 400 `invalidValue`: a value is missing or has the wrong type.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidValue), detail)
    }
    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidFilter), detail)
    }
    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidPath), detail)
    }
    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::NoTarget), detail)
    }
    /// 400 `mutability`: a readOnly or immutable attribute was changed.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::Mutability), detail)
    }
    /// 400 `tooMany`.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::TooMany), detail)
    }
    /// 400 `invalidVers`.
    pub fn invalid_version(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidVers), detail)
    }
    /// 400 `invalidCursor` (RFC 9865).
    pub fn invalid_cursor(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidCursor), detail)
    }
    /// 400 `expiredCursor` (RFC 9865).
    pub fn expired_cursor(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::ExpiredCursor), detail)
    }
    /// 400 `invalidCount` (RFC 9865).
    pub fn invalid_count(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidCount), detail)
    }
    /// 400 without a scimType, for malformed query parameters and similar.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, None, detail)
    }
    /// 409 `uniqueness` naming the attribute whose value is taken.
    pub fn uniqueness(attribute: &str) -> Self {
        Self::new(
            409,
            Some(ScimType::Uniqueness),
            format!("{attribute} is already in use by another resource of this tenant"),
        )
    }
    /// 401: missing, malformed, expired or revoked credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }
    /// 403: authenticated but not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, None, detail)
    }
    /// 404: no such resource (or route).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }
    /// 405: the route exists but not with this method.
    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(405, None, detail)
    }
    /// 409 without a scimType (e.g. a version conflict not tied to an attribute).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, None, detail)
    }
    /// 409 without a scimType, keeping what the database said (`crate::db::map_error` of a
    /// serialization failure; `crate::db::changed_since_read` looks at it).
    pub fn conflict_from(detail: impl Into<String>, cause: impl Into<anyhow::Error>) -> Self {
        ScimError { cause: Some(cause.into()), ..Self::new(409, None, detail) }
    }
    /// 409 `invalidValue`: a bulk operation refers to a `bulkId:` that no POST of the request
    /// created (RFC 7644 §3.7.2): the request is well formed, the resource does not exist.
    pub fn unresolved_bulk_id(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::InvalidValue), detail)
    }
    /// 408: the client did not send the request body within the body read timeout.
    pub fn request_timeout(detail: impl Into<String>) -> Self {
        Self::new(408, None, detail)
    }
    /// 412: `If-Match` did not match the current version.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }
    /// 413: the body is larger than the configured limit.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }
    /// 415: the body is not JSON.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(415, None, detail)
    }
    /// 501: an operation this server does not support (yet).
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(501, None, detail)
    }
    /// Any other status without a scimType, for statuses that have no named constructor.
    pub fn with_status(status: u16, detail: impl Into<String>) -> Self {
        Self::new(status, None, detail)
    }
    /// 503: a dependency (the database) is unavailable; answered with `Retry-After`.
    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        ScimError {
            status: 503,
            scim_type: None,
            detail: "The service is temporarily unavailable; retry later.".into(),
            cause: Some(cause.into()),
        }
    }
    /// 500: something went wrong inside; the cause is logged, never shown.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        ScimError {
            status: 500,
            scim_type: None,
            detail: "An internal error occurred; it has been logged.".into(),
            cause: Some(cause.into()),
        }
    }

    /// HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The `scimType`, if one applies.
    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }
    /// The human-readable detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }
    /// The internal cause, for logging only.
    pub fn cause(&self) -> Option<&anyhow::Error> {
        self.cause.as_ref()
    }

    /// Prefix the detail with where the problem is (e.g. an attribute path).
    pub fn at(mut self, location: &str) -> Self {
        self.detail = format!("{location}: {}", self.detail);
        self
    }

    /// The RFC 7644 §3.12 error body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = serde_json::Value::String(t.as_str().to_string());
        }
        body
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(t) => write!(f, "{} {}: {}", self.status, t.as_str(), self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl std::error::Error for ScimError {}

/// Seconds a client is asked to wait (`Retry-After`) before retrying a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

/// Result alias for request-path code.
pub type ScimResult<T> = Result<T, ScimError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constructor_has_its_status_and_scim_type() {
        use ScimType as T;
        let table: Vec<(ScimError, u16, Option<ScimType>)> = vec![
            (ScimError::invalid_syntax("x"), 400, Some(T::InvalidSyntax)),
            (ScimError::invalid_value("x"), 400, Some(T::InvalidValue)),
            (ScimError::invalid_filter("x"), 400, Some(T::InvalidFilter)),
            (ScimError::invalid_path("x"), 400, Some(T::InvalidPath)),
            (ScimError::no_target("x"), 400, Some(T::NoTarget)),
            (ScimError::mutability("x"), 400, Some(T::Mutability)),
            (ScimError::too_many("x"), 400, Some(T::TooMany)),
            (ScimError::invalid_version("x"), 400, Some(T::InvalidVers)),
            (ScimError::invalid_cursor("x"), 400, Some(T::InvalidCursor)),
            (ScimError::expired_cursor("x"), 400, Some(T::ExpiredCursor)),
            (ScimError::invalid_count("x"), 400, Some(T::InvalidCount)),
            (ScimError::bad_request("x"), 400, None),
            (ScimError::uniqueness("userName"), 409, Some(T::Uniqueness)),
            (ScimError::unauthorized("x"), 401, None),
            (ScimError::forbidden("x"), 403, None),
            (ScimError::not_found("x"), 404, None),
            (ScimError::method_not_allowed("x"), 405, None),
            (ScimError::conflict("x"), 409, None),
            (ScimError::unresolved_bulk_id("x"), 409, Some(T::InvalidValue)),
            (ScimError::request_timeout("x"), 408, None),
            (ScimError::precondition_failed("x"), 412, None),
            (ScimError::payload_too_large("x"), 413, None),
            (ScimError::unsupported_media_type("x"), 415, None),
            (ScimError::not_implemented("x"), 501, None),
            (ScimError::with_status(429, "x"), 429, None),
            (ScimError::unavailable(anyhow::anyhow!("down")), 503, None),
            (ScimError::internal(anyhow::anyhow!("boom")), 500, None),
        ];
        for (err, status, scim_type) in table {
            assert_eq!((err.status(), err.scim_type()), (status, scim_type), "{err}");
            let body = err.body();
            assert_eq!(body["status"], status.to_string(), "status is a string");
            assert_eq!(body["scimType"].as_str(), scim_type.map(ScimType::as_str));
            assert!(!body.to_string().contains("boom"), "causes never reach the body");
        }
    }
}
