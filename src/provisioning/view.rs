//! How stored entries are shown: one JSON object (CLI `--json`, later the admin API) or one line
//! of text. Kept apart from the database row so the two can evolve separately.

use chrono::SecondsFormat;
use serde_json::{json, Value};

use crate::db::provisioning_log::Entry;

/// An entry as a JSON object.
pub fn json(entry: &Entry) -> Value {
    json!({
        "id": entry.id.to_string(),
        "at": entry.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "source": entry.source,
        "connection": entry.connection_id.map(|c| c.to_string()),
        "request_id": entry.request_id,
        "method": entry.method,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id.map(|id| id.to_string()),
        "operation": entry.operation,
        "status": entry.status,
        "outcome": if entry.failed() { "failure" } else { "success" },
        "scim_type": entry.scim_type,
        "detail": entry.detail,
        "latency_ms": (entry.latency_ms * 100.0).round() / 100.0,
        "rules": entry.rules,
    })
}

/// An entry as one line: time, status, method, resource, operation, latency, request id, then
/// rules and the error when there are any.
pub fn line(entry: &Entry) -> String {
    let resource = match (&entry.resource_type, entry.resource_id) {
        (Some(kind), Some(id)) => format!("{kind}/{id}"),
        (Some(kind), None) => kind.clone(),
        (None, _) => "-".to_string(),
    };
    let mut out = format!(
        "{}  {}  {:<6}  {}  {}  {:.1}ms  {} request={}",
        entry.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        entry.status,
        entry.method,
        resource,
        entry.operation,
        entry.latency_ms,
        match entry.connection_id {
            Some(c) => format!("connection={c}"),
            None => format!("source={}", entry.source),
        },
        entry.request_id,
    );
    if !entry.rules.is_empty() {
        out.push_str(&format!("  rules=[{}]", entry.rules.join(", ")));
    }
    match (&entry.scim_type, &entry.detail) {
        (Some(t), Some(d)) => out.push_str(&format!("  {t}: {d}")),
        (None, Some(d)) => out.push_str(&format!("  {d}")),
        (Some(t), None) => out.push_str(&format!("  {t}")),
        (None, None) => {}
    }
    out
}
