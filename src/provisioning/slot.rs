//! [`LogSlot`]: the provisioning-log record of one request (or one bulk operation), shared by
//! the three parties that fill it in — the handler (through `http::record::note`), the
//! directory write, which commits the row **in the write's own transaction** (DESIGN §3: data,
//! outbox and provisioning log in one transaction), and the request middleware, which hands every
//! other row (reads, refusals, failed writes) to the batching [`super::Recorder`].
//!
//! So a committed change can never lack its row, whatever happens after the commit (kill -9, a
//! database outage that swallows the recorder's next batch): the row is part of the commit. A
//! write that fails rolls its row back with it and gets its row from the middleware, with the
//! error. The in-transaction row's latency runs to just before the commit.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Finished, RequestRecord};
use crate::db::provisioning_log as store;
use crate::db::Conn;
use crate::directory::ActiveChange;
use crate::error::{ScimError, ScimResult};
use crate::scim::patch::Rule;
use crate::scim::schema::ResourceKind;

/// When and how a request arrived: what its rows share.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The request's `X-Request-Id`.
    pub request_id: String,
    /// HTTP method.
    pub method: String,
    /// Arrival time (from the injected clock).
    pub at: DateTime<Utc>,
    /// Arrival instant, for latency.
    pub started: Instant,
}

#[derive(Debug)]
struct Slot {
    record: RequestRecord,
    arrival: Arrival,
    /// The status the write answers with when it succeeds; `None`: no row in the transaction.
    success: Option<u16>,
    /// The row was inserted in the write's transaction (and is committed if the write succeeded).
    written: bool,
}

/// A request's (or a bulk operation's) provisioning-log record, shared between its handler,
/// the directory write and the middleware. Empty for writes that no SCIM request made (admin
/// API, import, join): those have their own trails. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LogSlot(Option<Arc<Mutex<Slot>>>);

/// What the directory knows of a write when it commits its row.
#[derive(Debug, Clone, Copy)]
pub struct Written<'a> {
    /// The resource type written.
    pub kind: ResourceKind,
    /// Its id (new for a create).
    pub id: Uuid,
    /// A suspension or reactivation.
    pub active_change: Option<ActiveChange>,
    /// Tolerance rules that fired while the write was applied.
    pub fired: &'a [Rule],
}

impl LogSlot {
    /// A slot for an authenticated request.
    pub fn start(record: RequestRecord, arrival: Arrival) -> Self {
        LogSlot(Some(Arc::new(Mutex::new(Slot { record, arrival, success: None, written: false }))))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Slot) -> T) -> Option<T> {
        // A panic while the lock was held left plain data behind; keep recording.
        self.0.as_ref().map(|slot| f(&mut slot.lock().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Read the record (the request metrics take its connection and rules).
    pub fn peek<T>(&self, read: impl FnOnce(&RequestRecord) -> T) -> Option<T> {
        self.with(|s| read(&s.record))
    }

    /// Fill in the record (resource, operation, rules, ...).
    pub fn note(&self, fill: impl FnOnce(&mut RequestRecord)) {
        self.with(|s| fill(&mut s.record));
    }

    /// The write this request makes answers `status` when it succeeds: its row is then written
    /// in the write's transaction.
    pub fn expect_success(&self, status: u16) {
        self.with(|s| s.success = Some(status));
    }

    /// A slot for operation `index` of a bulk request carried by this slot, whose successful
    /// write answers `status`: its own row, committed with the operation.
    pub fn bulk_operation(&self, operation: String, status: u16) -> LogSlot {
        self.with(|s| {
            let mut record = RequestRecord::new(s.record.tenant_id, s.record.connection_id);
            record.operation(operation);
            let arrival = Arrival { started: Instant::now(), ..s.arrival.clone() };
            LogSlot(Some(Arc::new(Mutex::new(Slot {
                record,
                arrival,
                success: Some(status),
                written: false,
            }))))
        })
        .unwrap_or_default()
    }

    /// Whether this slot's row went into its write's transaction.
    pub fn written(&self) -> bool {
        self.with(|s| s.written).unwrap_or(false)
    }

    /// Insert the row of a successful write, on the write's connection inside its transaction.
    /// Does nothing for an empty slot or a request that expects no in-transaction row.
    pub async fn commit_with(&self, conn: &mut Conn, write: Written<'_>) -> ScimResult<()> {
        let Some(entry) = self.success_row(write) else { return Ok(()) };
        store::insert_many(conn, std::slice::from_ref(&entry)).await.map_err(ScimError::from)?;
        self.mark_written();
        Ok(())
    }

    /// The row of a successful write, for a write that inserts it itself in its one statement
    /// (`directory::patch`'s membership PATCH); call [`LogSlot::mark_written`] once that
    /// statement has inserted it. `None` for an empty slot or a request that expects no
    /// in-transaction row.
    pub fn success_row(&self, write: Written<'_>) -> Option<store::Entry> {
        self.with(|s| {
            let status = s.success?;
            // On a copy: if the statement carrying the row fails (a duplicate userName raised by
            // the insert in the same statement), the middleware's row for the error must not
            // name a resource that was never written.
            let mut record = s.record.clone();
            record.resource(write.kind, Some(write.id));
            record.active_change(write.active_change);
            record.rules(write.fired);
            let finished = Finished {
                at: s.arrival.at,
                request_id: s.arrival.request_id.clone(),
                method: s.arrival.method.clone(),
                fallback_operation: String::new(),
                status,
                scim_type: None,
                detail: None,
                latency_ms: s.arrival.started.elapsed().as_secs_f64() * 1000.0,
            };
            Some(record.finish(Uuid::now_v7(), finished))
        })
        .flatten()
    }

    /// [`LogSlot::success_row`] as JSON (a row of `provisioning_log`), for a SQL function that
    /// inserts it (`roster_log_row`, migration 000028).
    pub fn success_json(&self, write: Written<'_>) -> ScimResult<Option<serde_json::Value>> {
        self.success_row(write).map(|row| store::row_json(&row).map_err(ScimError::internal)).transpose()
    }

    /// The row from [`LogSlot::success_row`] is in the write's transaction: the middleware
    /// writes none for the success.
    pub fn mark_written(&self) {
        self.with(|s| s.written = true);
    }

    /// The record the middleware finishes, unless the row is already in a committed write's
    /// transaction and the response is that write's success. Empties the slot's record.
    pub fn take_unwritten(&self, status: u16) -> Option<RequestRecord> {
        self.with(|s| {
            if s.written && s.success == Some(status) {
                None
            } else {
                let empty = RequestRecord::new(s.record.tenant_id, s.record.connection_id);
                Some(std::mem::replace(&mut s.record, empty))
            }
        })
        .flatten()
    }
}
