//! A deadline on a whole SCIM request. The database's `statement_timeout` ends a statement that
//! runs or waits too long, but not one sent to a database that stopped answering altogether (a
//! frozen server, a network that drops packets): without this, such a request would hang for as
//! long as the freeze lasts. Past [`RequestTimeout`] the request is answered 503 with
//! `Retry-After` (IdPs retry) and its work is dropped — a transaction it had open is never
//! committed, and its connection, left mid-transaction, is discarded by the pool rather than
//! reused. It wraps the resource routes (`/Users`, `/Groups`, their ids and `.search`); `/Bulk`
//! is not wrapped: it may legitimately run long, and its operations are bounded by the statement
//! timeout and its own limits.

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::error::ScimError;

/// How long a SCIM request may take (app data read by [`request_deadline`]).
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeout(pub Duration);

/// Answer 503 (with `Retry-After`) a SCIM request that has not finished within
/// [`RequestTimeout`].
pub async fn request_deadline(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(RequestTimeout(limit)) = req.app_data::<RequestTimeout>().copied() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let http = req.request().clone();
    match tokio::time::timeout(limit, next.call(req)).await {
        Ok(res) => Ok(res?.map_into_boxed_body()),
        Err(_) => {
            let cause = anyhow::anyhow!(
                "the request did not finish within {} ms (ROSTER_HTTP_REQUEST_TIMEOUT_MS); \
                 the database may have stopped answering",
                limit.as_millis()
            );
            Ok(ServiceResponse::from_err(ScimError::unavailable(cause), http))
        }
    }
}
