//! How SCIM errors and resources become HTTP responses (RFC 7644 §3.12, §3.14).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};

use crate::error::ScimError;

/// The SCIM media type every response carries.
pub const SCIM_JSON: &str = "application/scim+json";

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        // The one place an internal cause is logged: where it becomes a response.
        if let Some(cause) = self.cause() {
            tracing::error!(status = self.status(), error = %format!("{cause:#}"), "request failed");
        }
        let mut builder = HttpResponse::build(self.status_code());
        if self.status() == 401 {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"roster\""));
        }
        if self.status() == 503 {
            builder.insert_header((header::RETRY_AFTER, crate::error::RETRY_AFTER_SECS));
        }
        scim_body(&mut builder, &self.body())
    }
}

/// Finish a response with a SCIM JSON body (serializing a `Value`, or a projected view of one,
/// cannot fail: its keys are strings).
pub fn scim_body<T: serde::Serialize + ?Sized>(builder: &mut HttpResponseBuilder, body: &T) -> HttpResponse {
    builder
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)))
        .body(serde_json::to_vec(body).unwrap_or_default())
}

/// A SCIM JSON response with the given status.
pub fn scim<T: serde::Serialize + ?Sized>(status: StatusCode, body: &T) -> HttpResponse {
    scim_body(&mut HttpResponse::build(status), body)
}
