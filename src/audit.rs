//! The audit trail of the admin API and the console: who changed what, when, and how it ended.
//!
//! The admin API records every request that is not a read in one place, a middleware on the
//! `/admin/v1` scope (`http::admin::audit`), after the response is known, so refused and failed
//! writes are recorded with their status too. The console records its own writes with
//! [`record_audit`]. An entry keeps ids, the route template and a short summary; never a request
//! body, so no secret (token, webhook secret, password) can reach it.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::db::audit::{self as store, AuditRow};
use crate::db::Conn;
use crate::error::ScimResult;

/// Longest summary kept (characters).
pub const SUMMARY_CHARS: usize = 500;
/// Longest route kept (characters).
pub const ROUTE_CHARS: usize = 300;
/// Longest target value kept (characters): ids are 36, slugs and names are cut.
pub const TARGET_CHARS: usize = 100;

/// Who made a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The operator credential (`ROSTER_ADMIN_TOKEN`).
    Operator,
    /// A tenant admin token, by id.
    AdminToken(Uuid),
    /// A console session, by id.
    ConsoleSession(Uuid),
    /// A console session opened with a setup link, by the link's id.
    SetupLink(Uuid),
    /// Nobody authenticated (a write refused with 401).
    Anonymous,
}

impl Actor {
    /// The stored kind and id.
    pub fn parts(self) -> (&'static str, Option<Uuid>) {
        match self {
            Actor::Operator => ("operator", None),
            Actor::AdminToken(id) => ("admin_token", Some(id)),
            Actor::ConsoleSession(id) => ("console_session", Some(id)),
            Actor::SetupLink(id) => ("setup_link", Some(id)),
            Actor::Anonymous => ("anonymous", None),
        }
    }
}

/// The actor kinds, as filters accept them.
pub const ACTOR_KINDS: [&str; 5] = ["operator", "admin_token", "console_session", "setup_link", "anonymous"];

/// One write to record.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// The tenant acted on (None: an operator action on no tenant).
    pub tenant_id: Option<Uuid>,
    /// Who.
    pub actor: Actor,
    /// HTTP method, or for the console the form's verb (`POST`).
    pub method: String,
    /// The route template (`/admin/v1/tenants/{tenant}/groups/{group}`) or console page.
    pub route: String,
    /// Ids the write was about (`{"group": "<id>"}`); values are cut to [`TARGET_CHARS`].
    pub targets: Map<String, Value>,
    /// A short summary; never a secret or a body.
    pub summary: String,
    /// The HTTP status it ended with.
    pub status: u16,
}

/// A target value as stored: control characters escaped, cut to [`TARGET_CHARS`].
pub fn target_value(text: &str) -> Value {
    Value::String(crate::text::storable(text, TARGET_CHARS))
}

/// Record one write (the console's entry point; the admin API's middleware uses it too). Text
/// is made storable and cut to the column limits, so any entry can be recorded.
pub async fn record_audit(conn: &mut Conn, entry: &AuditEntry, now: DateTime<Utc>) -> ScimResult<()> {
    let (actor_kind, actor_id) = entry.actor.parts();
    let targets: Map<String, Value> = entry
        .targets
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => target_value(s),
                other => target_value(&other.to_string()),
            };
            (crate::text::storable(k, 40), v)
        })
        .collect();
    let row = AuditRow {
        tenant_id: entry.tenant_id,
        id: Uuid::now_v7(),
        at: now,
        actor_kind: actor_kind.to_string(),
        actor_id,
        method: crate::text::storable(&entry.method, 16),
        route: crate::text::storable(&entry.route, ROUTE_CHARS),
        targets: Value::Object(targets),
        summary: crate::text::storable(&entry.summary, SUMMARY_CHARS),
        status: i32::from(entry.status.clamp(100, 599)),
    };
    Ok(store::insert(conn, &row).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_stored_as_kind_and_id() {
        let id = Uuid::now_v7();
        assert_eq!(Actor::Operator.parts(), ("operator", None));
        assert_eq!(Actor::AdminToken(id).parts(), ("admin_token", Some(id)));
        assert_eq!(Actor::ConsoleSession(id).parts(), ("console_session", Some(id)));
        assert_eq!(Actor::SetupLink(id).parts(), ("setup_link", Some(id)));
        assert_eq!(Actor::Anonymous.parts(), ("anonymous", None));
        for kind in ACTOR_KINDS {
            assert!(
                [
                    Actor::Operator,
                    Actor::AdminToken(id),
                    Actor::ConsoleSession(id),
                    Actor::SetupLink(id),
                    Actor::Anonymous
                ]
                .iter()
                .any(|a| a.parts().0 == kind),
                "{kind}"
            );
        }
    }

    #[test]
    fn target_values_are_storable_and_bounded() {
        let long = "x".repeat(3000);
        assert_eq!(target_value(&long).as_str().unwrap().chars().count(), TARGET_CHARS);
        assert_eq!(target_value("a\0b"), Value::String("a\\u{0000}b".into()));
    }
}
