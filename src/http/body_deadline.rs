//! A deadline on reading the request body. actix bounds the wait for headers
//! (`client_request_timeout`) but not for the body: a client that sends its headers and then
//! stalls would hold a connection and a handler for as long as it likes. This middleware wraps
//! the payload stream so that reading it fails once the deadline passes, and answers such a
//! request 408 with a SCIM error whatever the extractor made of the failed read.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_util::Stream;

use crate::error::ScimError;

/// How long a client has to send a whole request body (app data read by [`body_deadline`]).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// Fail the body read of requests that do not deliver their body within [`BodyTimeout`]
/// (counted from when the request reaches the application) and answer them 408.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(BodyTimeout(limit)) = req.app_data::<BodyTimeout>().copied() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let expired = Rc::new(Cell::new(false));
    let inner = req.take_payload();
    let stream = Deadline { inner, sleep: Box::pin(tokio::time::sleep(limit)), expired: expired.clone() };
    req.set_payload(Payload::Stream { payload: Box::pin(stream) });
    let res = next.call(req).await?;
    if !expired.get() {
        return Ok(res.map_into_boxed_body());
    }
    let (req, _) = res.into_parts();
    let err = ScimError::request_timeout(format!(
        "the request body was not received within {} ms (ROSTER_HTTP_BODY_TIMEOUT_MS)",
        limit.as_millis()
    ));
    Ok(ServiceResponse::from_err(err, req))
}

/// The request payload, failing with a timed-out read once `sleep` completes.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Rc<Cell<bool>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired.get() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.expired.set(true);
                let timed_out =
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "request body read timed out");
                Poll::Ready(Some(Err(PayloadError::Io(timed_out))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
