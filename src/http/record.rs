//! Access to the request's provisioning-log [`RequestRecord`] from handlers.

use actix_web::{HttpMessage, HttpRequest};

use crate::provisioning::RequestRecord;

/// Fill in the request's provisioning-log record. A no-op before authentication, when there is
/// no record (and no trusted tenant to record for).
pub fn note(req: &HttpRequest, fill: impl FnOnce(&mut RequestRecord)) {
    if let Some(record) = req.extensions_mut().get_mut::<RequestRecord>() {
        fill(record);
    }
}
