//! [`RequestRecord`]: what an authenticated request tells the provisioning log while it runs.
//! The `Caller` extractor creates it (tenant, connection), handlers fill it in (resource,
//! operation, rules, lifecycle), and the request middleware finishes it with the outcome.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::provisioning_log::Entry;
use crate::directory::ActiveChange;
use crate::error::ScimError;
use crate::scim::patch::Rule;
use crate::scim::schema::ResourceKind;
use crate::text::storable;

/// Longest operation summary stored, in characters.
pub const MAX_OPERATION_CHARS: usize = 300;
/// Longest error detail stored, in characters.
pub const MAX_DETAIL_CHARS: usize = 1000;
/// Most rules and notes stored for one request.
pub const MAX_RULES: usize = 32;
/// Longest single rule or note stored, in characters.
const MAX_RULE_CHARS: usize = 200;

/// The provisioning-log facts of one authenticated request, gathered while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// The caller's tenant (from a verified token).
    pub tenant_id: Uuid,
    /// The caller's connection.
    pub connection_id: Uuid,
    resource_type: Option<ResourceKind>,
    resource_id: Option<Uuid>,
    operation: Option<String>,
    active_change: Option<ActiveChange>,
    rules: Vec<String>,
}

/// How a request ended, as the middleware sees it.
#[derive(Debug, Clone)]
pub struct Finished {
    /// When the request arrived.
    pub at: DateTime<Utc>,
    /// The `X-Request-Id` of the request.
    pub request_id: String,
    /// HTTP method.
    pub method: String,
    /// Operation to record when no handler named one (e.g. `GET /Schemas`).
    pub fallback_operation: String,
    /// Response status.
    pub status: u16,
    /// `scimType` of an error response.
    pub scim_type: Option<String>,
    /// `detail` of an error response.
    pub detail: Option<String>,
    /// Time from request to response, in milliseconds.
    pub latency_ms: f64,
}

impl Finished {
    /// Take `scimType` and `detail` from the error a response was built from.
    pub fn with_error(mut self, err: &ScimError) -> Self {
        self.scim_type = err.scim_type().map(|t| t.as_str().to_string());
        self.detail = Some(err.detail().to_string());
        self
    }
}

impl RequestRecord {
    /// A record for a request authenticated as this tenant and connection.
    pub fn new(tenant_id: Uuid, connection_id: Uuid) -> Self {
        RequestRecord {
            tenant_id,
            connection_id,
            resource_type: None,
            resource_id: None,
            operation: None,
            active_change: None,
            rules: Vec::new(),
        }
    }

    /// The resource type the request is about, and its id when known.
    pub fn resource(&mut self, kind: ResourceKind, id: Option<Uuid>) {
        self.resource_type = Some(kind);
        if id.is_some() {
            self.resource_id = id;
        }
    }

    /// The operation summary (see [`super::summary`]); the last one set wins.
    pub fn operation(&mut self, summary: impl Into<String>) {
        self.operation = Some(summary.into());
    }

    /// The write suspended or reactivated a member.
    pub fn active_change(&mut self, change: Option<ActiveChange>) {
        self.active_change = change;
    }

    /// The tolerance rules and notes recorded so far (metrics count them by name).
    pub fn fired(&self) -> &[String] {
        &self.rules
    }

    /// Tolerance rules that fired, by name; each kept once.
    pub fn rules(&mut self, fired: &[Rule]) {
        for rule in fired {
            self.push_rule(rule.name());
        }
    }

    /// Normalisation notes of a POST/PUT body (`unknown_attribute: x`, `string_boolean: active`).
    pub fn notes(&mut self, notes: &[String]) {
        for note in notes {
            self.push_rule(note);
        }
    }

    fn push_rule(&mut self, text: &str) {
        let text = storable(text, MAX_RULE_CHARS);
        if self.rules.len() < MAX_RULES && !self.rules.contains(&text) {
            self.rules.push(text);
        }
    }

    /// The row to store: the gathered facts plus the outcome, with control characters (NUL
    /// above all, which PostgreSQL cannot store) escaped and capped to the column limits.
    pub fn finish(self, id: Uuid, outcome: Finished) -> Entry {
        let mut operation = self.operation.unwrap_or(outcome.fallback_operation);
        if let Some(change) = self.active_change {
            // Appended after the cut so that a long summary never hides a deactivation.
            operation = storable(&operation, MAX_OPERATION_CHARS - 24);
            operation.push_str(&format!("; member {}", change.as_str()));
        }
        Entry {
            tenant_id: self.tenant_id,
            id,
            at: outcome.at,
            connection_id: Some(self.connection_id),
            source: crate::db::provisioning_log::SOURCE_SCIM.into(),
            request_id: outcome.request_id,
            method: outcome.method,
            resource_type: self.resource_type.map(|k| k.name().to_string()),
            resource_id: self.resource_id,
            operation: storable(&operation, MAX_OPERATION_CHARS),
            status: i32::from(outcome.status),
            scim_type: outcome.scim_type,
            detail: outcome.detail.map(|d| storable(&d, MAX_DETAIL_CHARS)),
            latency_ms: outcome.latency_ms.max(0.0),
            rules: self.rules,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(status: u16) -> Finished {
        Finished {
            at: Utc::now(),
            request_id: "r-1".into(),
            method: "PATCH".into(),
            fallback_operation: "PATCH /Users/{id}".into(),
            status,
            scim_type: None,
            detail: None,
            latency_ms: 1.5,
        }
    }

    #[test]
    fn a_record_becomes_a_capped_row() {
        let (tenant, connection, user) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut r = RequestRecord::new(tenant, connection);
        r.resource(ResourceKind::User, Some(user));
        r.operation("x".repeat(1000));
        r.active_change(Some(ActiveChange::Suspended));
        r.rules(&[Rule::CaseInsensitiveOp, Rule::StringBoolean, Rule::CaseInsensitiveOp]);
        r.notes(&["unknown_attribute: foo".to_string()]);
        let err = ScimError::invalid_filter("y".repeat(5000));
        let row = r.finish(Uuid::now_v7(), finished(400).with_error(&err));
        assert_eq!(row.tenant_id, tenant);
        assert_eq!(row.resource_type.as_deref(), Some("User"));
        assert_eq!(row.resource_id, Some(user));
        assert!(row.operation.chars().count() <= MAX_OPERATION_CHARS);
        assert!(row.operation.ends_with("; member suspended"), "{}", row.operation);
        assert_eq!(row.rules, ["case_insensitive_op", "string_boolean", "unknown_attribute: foo"]);
        assert_eq!(row.scim_type.as_deref(), Some("invalidFilter"));
        assert_eq!(row.detail.map(|d| d.chars().count()), Some(MAX_DETAIL_CHARS));
    }

    #[test]
    fn nul_and_control_characters_are_escaped_before_the_cut() {
        let mut r = RequestRecord::new(Uuid::nil(), Uuid::nil());
        r.operation("patch: add {x\u{0}}");
        r.notes(&[format!("unknown_attribute: a\u{0}{}", "b".repeat(500))]);
        let err = ScimError::not_found(format!("User \u{0}{} not found", "\u{0}".repeat(3000)));
        let row = r.finish(Uuid::nil(), finished(404).with_error(&err));
        assert_eq!(row.operation, "patch: add {x\\u{0000}}");
        let texts = [row.operation.as_str(), row.detail.as_deref().unwrap(), row.rules[0].as_str()];
        for text in texts {
            assert!(!text.contains('\0'), "{text}");
        }
        assert!(row.rules[0].starts_with("unknown_attribute: a\\u{0000}bbb") && row.rules[0].ends_with('…'));
        assert_eq!(row.rules[0].chars().count(), MAX_RULE_CHARS);
        assert_eq!(row.detail.map(|d| d.chars().count()), Some(MAX_DETAIL_CHARS));
    }

    #[test]
    fn without_a_handler_summary_the_route_is_recorded() {
        let row = RequestRecord::new(Uuid::nil(), Uuid::nil()).finish(Uuid::nil(), finished(200));
        assert_eq!(row.operation, "PATCH /Users/{id}");
        assert_eq!(row.resource_type, None);
        assert!(row.rules.is_empty());
    }
}
