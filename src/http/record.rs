//! Access to the request's provisioning-log [`RequestRecord`] from handlers.

use actix_web::{HttpMessage, HttpRequest};

use crate::provisioning::{LogSlot, RequestRecord};

/// Fill in the request's provisioning-log record. A no-op before authentication, when there is
/// no record (and no trusted tenant to record for).
pub fn note(req: &HttpRequest, fill: impl FnOnce(&mut RequestRecord)) {
    if let Some(slot) = req.extensions().get::<LogSlot>() {
        slot.note(fill);
    }
}

/// The write this request makes answers `status` when it succeeds: its provisioning-log row is
/// then committed in the write's transaction (see `provisioning::slot`).
pub fn expect_success(req: &HttpRequest, status: actix_web::http::StatusCode) {
    if let Some(slot) = req.extensions().get::<LogSlot>() {
        slot.expect_success(status.as_u16());
    }
}
