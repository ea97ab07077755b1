//! The BulkResponse (RFC 7644 §3.7.3): one entry per operation that was run, in request order.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{Envelope, BULK_RESPONSE};
use crate::error::ScimError;
use crate::scim::resource::{location, Version};
use crate::scim::schema::ResourceKind;

/// What became of one operation.
#[derive(Debug)]
pub enum Outcome {
    /// It succeeded.
    Done {
        /// HTTP status the same request alone would have had (201, 200 or 204).
        status: u16,
        /// Resource type.
        kind: ResourceKind,
        /// The resource created or changed.
        id: Uuid,
        /// Its version afterwards (none after DELETE).
        version: Option<Version>,
    },
    /// It failed; `target` is the resource it addressed, when that is known.
    Failed {
        /// The error, answered as the operation's `response`.
        error: ScimError,
        /// Resource type and id addressed.
        target: Option<(ResourceKind, Uuid)>,
    },
}

impl Outcome {
    /// The HTTP status of the operation.
    pub fn status(&self) -> u16 {
        match self {
            Outcome::Done { status, .. } => *status,
            Outcome::Failed { error, .. } => error.status(),
        }
    }
}

/// An operation's envelope and, when it was run, its outcome (`None`: not run because
/// `failOnErrors` stopped the request first).
#[derive(Debug)]
pub struct Entry {
    /// Method, bulkId and path as sent.
    pub envelope: Envelope,
    /// What became of it.
    pub outcome: Option<Outcome>,
    /// How long it took to run, in milliseconds (0 when it was not run).
    pub latency_ms: f64,
}

/// Build the BulkResponse. Operations that were not run are absent (RFC 7644 §3.7.3);
/// successes carry `location` and `version` and no body; failures carry the SCIM error as
/// `response` and, unless a POST failed, the `location` of the resource addressed.
pub fn response(base_url: &str, entries: &[Entry]) -> Value {
    let operations: Vec<Value> =
        entries.iter().filter_map(|e| e.outcome.as_ref().map(|o| entry(base_url, &e.envelope, o))).collect();
    json!({ "schemas": [BULK_RESPONSE], "Operations": operations })
}

fn entry(base_url: &str, envelope: &Envelope, outcome: &Outcome) -> Value {
    let mut out = Map::new();
    if let Some(m) = &envelope.method {
        out.insert("method".into(), Value::String(m.clone()));
    }
    if let Some(b) = &envelope.bulk_id {
        out.insert("bulkId".into(), Value::String(b.clone()));
    }
    let (target, version) = match outcome {
        Outcome::Done { kind, id, version, .. } => (Some((*kind, *id)), *version),
        Outcome::Failed { target, .. } => (*target, None),
    };
    if let Some(v) = version {
        out.insert("version".into(), Value::String(v.etag()));
    }
    if let Some((kind, id)) = target {
        out.insert("location".into(), Value::String(location(base_url, kind, &id.to_string())));
    }
    out.insert("status".into(), Value::String(outcome.status().to_string()));
    if let Outcome::Failed { error, .. } = outcome {
        out.insert("response".into(), error.body());
    }
    Value::Object(out)
}
