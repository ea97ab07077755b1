//! Short, redacted summaries of SCIM operations for the provisioning log: what was asked, never
//! the values sent. The one value shown is `active` (deactivation must be visible); filter text
//! is shown, capped.

use serde_json::{Map, Value};

use crate::scim::filter::{AttrPath, PatchPath};
use crate::scim::patch::{PatchOp, PatchRequest};

/// Longest filter text kept in a summary, in characters.
pub const MAX_FILTER_CHARS: usize = 200;
/// Operations of one PATCH listed before the rest are counted.
const MAX_OPS: usize = 8;
/// Longest path or key list shown for one PATCH operation.
const MAX_TARGET_CHARS: usize = 80;

pub use crate::text::truncate;

/// A boolean as sent: `false`, `"False"`, `"true"`...; anything else is not a boolean.
fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// `active=<b>` when `resource` (a body or a path-less PATCH value) sets `active`.
fn active_in(resource: &Map<String, Value>) -> Option<bool> {
    resource.iter().find(|(k, _)| k.eq_ignore_ascii_case("active")).and_then(|(_, v)| as_bool(v))
}

fn is_attr(path: &AttrPath, name: &str) -> bool {
    path.sub.is_none() && path.name.eq_ignore_ascii_case(name)
}

/// `create` / `replace`, plus `active=false` (or `true`) when the body sets it.
pub fn write(verb: &str, resource: &Map<String, Value>) -> String {
    match active_in(resource) {
        Some(b) => format!("{verb} active={b}"),
        None => verb.to_string(),
    }
}

/// `list`, `search`... with the filter text (capped) when there is one.
pub fn query(verb: &str, filter: Option<&str>) -> String {
    match filter.map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => format!("{verb} filter={}", truncate(f, MAX_FILTER_CHARS)),
        None => verb.to_string(),
    }
}

/// `patch: replace active=false, add members(2), remove emails[type eq "work"]`.
pub fn patch(request: &PatchRequest) -> String {
    let mut parts: Vec<String> = request.ops.iter().take(MAX_OPS).map(op).collect();
    if request.ops.len() > MAX_OPS {
        parts.push(format!("… (+{} more)", request.ops.len() - MAX_OPS));
    }
    format!("patch: {}", parts.join(", "))
}

fn op(op: &PatchOp) -> String {
    let verb = op.op.as_str();
    let target = match (&op.path, &op.value) {
        (Some(PatchPath::Attr(p)), Some(v)) if is_attr(p, "active") => match as_bool(v) {
            Some(b) => format!("active={b}"),
            None => "active".to_string(),
        },
        (Some(PatchPath::Attr(p)), Some(Value::Array(items))) if is_attr(p, "members") => {
            format!("members({})", items.len())
        }
        (Some(path), _) => truncate(&path.to_string(), MAX_TARGET_CHARS),
        (None, Some(Value::Object(obj))) => pathless(obj),
        (None, _) => "(no path)".to_string(),
    };
    format!("{verb} {target}")
}

/// The keys of a path-less value, `active` with its value, nested extension keys flattened.
fn pathless(obj: &Map<String, Value>) -> String {
    let mut keys = Vec::new();
    for (key, value) in obj {
        match value {
            _ if key.eq_ignore_ascii_case("active") => match as_bool(value) {
                Some(b) => keys.push(format!("active={b}")),
                None => keys.push(key.clone()),
            },
            Value::Object(inner) if key.starts_with("urn:") => {
                keys.extend(inner.keys().map(|k| format!("{}:{k}", key.rsplit(':').next().unwrap_or(key))))
            }
            Value::Array(items) if key.eq_ignore_ascii_case("members") => {
                keys.push(format!("members({})", items.len()))
            }
            _ => keys.push(key.clone()),
        }
    }
    // `active` first, so a cut never hides a deactivation.
    keys.sort_by_key(|k| !k.starts_with("active="));
    truncate(&format!("{{{}}}", keys.join(", ")), MAX_TARGET_CHARS)
}

/// The operation summary of operation `index` of a bulk request: `bulk[2] PATCH /Users/…`.
pub fn bulk_operation(index: usize, envelope: &crate::scim::bulk::Envelope) -> String {
    let method = envelope.method.clone().unwrap_or_default().to_ascii_uppercase();
    let path = envelope.path.as_deref().unwrap_or_default();
    format!("bulk[{index}] {method} {}", truncate(path, 200))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;
    use crate::scim::patch::{parse_request, Mode};

    fn summary(ops: Value) -> String {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        patch(&parse_request(&body, Mode::Tolerant).unwrap())
    }

    #[test]
    fn patch_summaries_name_targets_and_deactivation_but_no_values() {
        assert_eq!(
            summary(json!([{"op": "Replace", "path": "active", "value": "False"}])),
            "patch: replace active=false"
        );
        assert_eq!(
            summary(json!([
                {"op": "replace", "path": "active", "value": false},
                {"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}
            ])),
            "patch: replace active=false, add members(2)"
        );
        let s =
            summary(json!([{"op": "replace", "value": {"displayName": "Secret Name", "active": "false"}}]));
        assert_eq!(s, "patch: replace {active=false, displayName}");
        let s = summary(json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "x@y.z"}]));
        assert_eq!(s, "patch: add emails[type eq \"work\"].value");
        let s = summary(json!([{"op": "replace", "path": "password", "value": "hunter2"}]));
        assert_eq!(s, "patch: replace password");
        let s = summary(json!([{"op": "replace", "value": {
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}}}]));
        assert_eq!(s, "patch: replace {User:department}");
    }

    #[test]
    fn long_requests_are_cut() {
        let ops: Vec<Value> =
            (0..12).map(|i| json!({"op": "remove", "path": format!("members[value eq \"{i}\"]")})).collect();
        let s = summary(Value::Array(ops));
        assert!(s.ends_with("… (+4 more)"), "{s}");
        let long = "x".repeat(500);
        let q = query("list", Some(&format!("userName eq \"{long}\"")));
        assert_eq!(q.chars().count(), "list filter=".len() + MAX_FILTER_CHARS);
        assert!(q.ends_with('…'));
        assert_eq!(query("list", Some("  ")), "list");
    }

    #[test]
    fn writes_show_active() {
        let body = json!({"userName": "a", "active": false, "password": "p"});
        assert_eq!(write("replace", body.as_object().unwrap()), "replace active=false");
        assert_eq!(write("create", json!({"userName": "a"}).as_object().unwrap()), "create");
    }

    #[test]
    fn truncate_respects_characters() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("äöüß", 3), "äö…");
    }
}
