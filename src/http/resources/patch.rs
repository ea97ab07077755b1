//! PATCH /Users/{id}, PATCH /Groups/{id}: not offered yet (ServiceProviderConfig says so).

use actix_web::{web, HttpResponse};

use super::Endpoint;
use crate::error::{ScimError, ScimResult};
use crate::http::extract::resource_id;
use crate::http::principal::Caller;

/// 501 Not Implemented (RFC 7644 §3.12) until the PATCH engine lands; unknown ids still 404.
pub async fn patch(
    _caller: Caller,
    Endpoint(kind): Endpoint,
    path: web::Path<(String, String, String)>,
) -> ScimResult<HttpResponse> {
    resource_id(kind.name(), &path.2)?;
    Err(ScimError::not_implemented(
        "PATCH is not supported by this server yet (ServiceProviderConfig patch.supported is false); use PUT to replace the resource",
    ))
}
