//! The provisioning log: one row per authenticated SCIM request, so that an IT admin can see
//! why any request succeeded or failed.
//!
//! * [`record`]: the [`RequestRecord`] a request carries in its extensions while it runs
//!   (tenant and connection from the `Caller` extractor; resource, operation summary, rules and
//!   lifecycle changes from the handlers), finished by the request middleware with the status,
//!   `scimType`, `detail` and latency.
//! * [`slot`]: the [`LogSlot`] that shares the record between handler, directory write and
//!   middleware; a successful write commits its row in its own transaction.
//! * [`summary`]: redacted operation summaries (pure).
//! * [`recorder`]: a bounded queue and a background writer with batched inserts, so recording
//!   never delays a response.
//! * [`retention`]: the hourly, bounded delete of entries older than the retention period.
//! * [`view`]: stored entries as JSON or one line of text.
//!
//! Redaction is by construction: a row holds ids, names of attributes and rules, a capped filter
//! text and the error detail the client was given; never a token, a password or a body.

pub mod record;
pub mod recorder;
pub mod retention;
pub mod slot;
pub mod summary;
pub mod view;

pub use record::{Finished, RequestRecord};
pub use recorder::Recorder;
pub use slot::{Arrival, LogSlot};
