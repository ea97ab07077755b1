//! Security Event Tokens (RFC 8417) for SCIM events (RFC 9967, formerly draft-ietf-scim-events),
//! pushed to receivers per RFC 8935.
//!
//! One SET per outbox event, signed ES256 (`typ: secevent+jwt`, `kid` of the published key):
//! `iss` is `<ROSTER_PUBLIC_URL>/tenants/<tenant id>`, `aud` the receiver's audience (its URL by
//! default), `jti` `<tenant id>:<event id>` (unique per event, the same on every retry so a
//! receiver can deduplicate), `iat` the sending time, `toe` the time of the change, `sub_id` an
//! RFC 9493 subject identifier (`scim` format with `/Users/<id>` or `/Groups/<id>`, `opaque`
//! for other subjects), and `events` keyed by event URIs:
//!
//! | Roster kind | event URI(s) |
//! | --- | --- |
//! | member.created, group.created | `urn:ietf:params:scim:event:prov:create:notice` |
//! | member.updated, group.updated | `urn:ietf:params:scim:event:prov:patch:notice` (`attributes`: the changed names) |
//! | member.suspended / member.reactivated | `urn:ietf:params:scim:event:prov:deactivate` / `...:activate` |
//! | member.removed, group.deleted | `urn:ietf:params:scim:event:prov:delete` |
//! | membership.added / removed | `...:prov:patch:notice` on the Group (`attributes: ["members"]`) plus `urn:ietf:params:scim:event:roster:membership.added` / `removed` with the ids |
//! | anything else (role.changed, member.invitation_needed, import.completed, ...) | `urn:ietf:params:scim:event:roster:<kind>` with Roster's payload |
//!
//! Roster's events never carry attribute values, so the `notice` variants fit (not `full`).

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::keys::EventKeys;

/// Media type of a pushed SET (RFC 8935 §2).
pub const CONTENT_TYPE: &str = "application/secevent+jwt";
/// JOSE `typ` of a SET (RFC 8417 §2.3).
pub const TYP: &str = "secevent+jwt";
/// Prefix of the event URIs RFC 9967 does not define.
pub const ROSTER_EVENT_PREFIX: &str = "urn:ietf:params:scim:event:roster:";

const CREATE: &str = "urn:ietf:params:scim:event:prov:create:notice";
const PATCH: &str = "urn:ietf:params:scim:event:prov:patch:notice";
const DELETE: &str = "urn:ietf:params:scim:event:prov:delete";
const ACTIVATE: &str = "urn:ietf:params:scim:event:prov:activate";
const DEACTIVATE: &str = "urn:ietf:params:scim:event:prov:deactivate";

/// One outbox event as a SET is built from it.
#[derive(Debug, Clone, Copy)]
pub struct SetInput<'a> {
    /// Tenant.
    pub tenant_id: Uuid,
    /// Outbox id.
    pub event_id: i64,
    /// Roster kind (`member.suspended`, ...).
    pub kind: &'a str,
    /// The event's subject.
    pub subject_id: Uuid,
    /// Roster's payload (ids and changed names).
    pub payload: &'a Value,
    /// When the change was made.
    pub occurred_at: DateTime<Utc>,
}

/// The `iss` of a tenant's SETs.
pub fn issuer(public_url: &str, tenant: Uuid) -> String {
    format!("{}/tenants/{tenant}", public_url.trim_end_matches('/'))
}

fn scim_subject(resource: &str, id: impl std::fmt::Display) -> Value {
    json!({"format": "scim", "uri": format!("/{resource}/{id}")})
}

/// `sub_id` and `events` of an event.
pub fn subject_and_events(e: &SetInput<'_>) -> (Value, Map<String, Value>) {
    let user = || scim_subject("Users", e.subject_id);
    let group = || scim_subject("Groups", e.subject_id);
    let roster = || format!("{ROSTER_EVENT_PREFIX}{}", e.kind);
    let changed = || json!({"attributes": e.payload.get("changed").cloned().unwrap_or_else(|| json!([]))});
    let mut events = Map::new();
    let subject = match e.kind {
        "member.created" => {
            events.insert(CREATE.into(), json!({}));
            user()
        }
        "member.updated" => {
            events.insert(PATCH.into(), changed());
            user()
        }
        "member.suspended" => {
            events.insert(DEACTIVATE.into(), json!({}));
            user()
        }
        "member.reactivated" => {
            events.insert(ACTIVATE.into(), json!({}));
            user()
        }
        "member.removed" => {
            events.insert(DELETE.into(), json!({}));
            user()
        }
        "group.created" => {
            events.insert(CREATE.into(), json!({}));
            group()
        }
        "group.updated" => {
            events.insert(PATCH.into(), changed());
            group()
        }
        "group.deleted" => {
            events.insert(DELETE.into(), json!({}));
            group()
        }
        "membership.added" | "membership.removed" => {
            events.insert(PATCH.into(), json!({"attributes": ["members"]}));
            events.insert(roster(), e.payload.clone());
            match e.payload.get("group_id").and_then(Value::as_str) {
                Some(g) => scim_subject("Groups", g),
                None => user(),
            }
        }
        kind if kind.starts_with("member.") || kind == "role.changed" => {
            events.insert(roster(), e.payload.clone());
            user()
        }
        _ => {
            events.insert(roster(), e.payload.clone());
            json!({"format": "opaque", "id": e.subject_id.to_string()})
        }
    };
    (subject, events)
}

/// The claims of the SET for `e`, sent at `now` to `audience`.
pub fn claims(e: &SetInput<'_>, public_url: &str, audience: &str, now: DateTime<Utc>) -> Value {
    let (sub_id, events) = subject_and_events(e);
    json!({
        "iss": issuer(public_url, e.tenant_id),
        "iat": now.timestamp(),
        "jti": format!("{}:{}", e.tenant_id, e.event_id),
        "aud": audience,
        "toe": e.occurred_at.timestamp(),
        "sub_id": sub_id,
        "events": events,
    })
}

/// Sign the SET for `e` (compact JWS).
pub fn encode(
    keys: &EventKeys,
    e: &SetInput<'_>,
    public_url: &str,
    audience: &str,
    now: DateTime<Utc>,
) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some(TYP.into());
    header.kid = Some(keys.kid().to_string());
    jsonwebtoken::encode(&header, &claims(e, public_url, audience, now), keys.set_key())
}

/// What a receiver's answer to a pushed SET means (RFC 8935 §2.2–2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// 202 Accepted (any 2xx is taken as accepted).
    Accepted,
    /// 400 with an RFC 8935 error object: the SET is refused for good.
    Rejected(String),
    /// Anything else: try again later.
    Retry(String),
}

/// Classify a receiver's answer.
pub fn push_outcome(status: u16, body: &[u8]) -> PushOutcome {
    if (200..300).contains(&status) {
        return PushOutcome::Accepted;
    }
    if status == 400 {
        if let Ok(doc) = serde_json::from_slice::<Value>(body) {
            if let Some(err) = doc.get("err").and_then(Value::as_str) {
                let description = doc.get("description").and_then(Value::as_str).unwrap_or("");
                let err: String = err.chars().take(100).collect();
                let description: String = description.chars().take(300).collect();
                return PushOutcome::Rejected(format!("rejected by receiver: {err}: {description}"));
            }
        }
    }
    PushOutcome::Retry(format!("answered {status}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(kind: &'a str, payload: &'a Value, subject: Uuid) -> SetInput<'a> {
        SetInput {
            tenant_id: Uuid::nil(),
            event_id: 7,
            kind,
            subject_id: subject,
            payload,
            occurred_at: Utc::now(),
        }
    }

    #[test]
    fn roster_kinds_map_to_rfc_9967_event_uris() {
        let m = Uuid::now_v7();
        let empty = json!({});
        let cases = [
            ("member.created", CREATE),
            ("member.updated", PATCH),
            ("member.suspended", DEACTIVATE),
            ("member.reactivated", ACTIVATE),
            ("member.removed", DELETE),
        ];
        for (kind, uri) in cases {
            let (sub, events) = subject_and_events(&input(kind, &empty, m));
            assert_eq!(sub, json!({"format": "scim", "uri": format!("/Users/{m}")}), "{kind}");
            assert_eq!(events.keys().collect::<Vec<_>>(), [uri], "{kind}");
        }
        let (sub, events) = subject_and_events(&input("group.deleted", &empty, m));
        assert_eq!(sub["uri"], format!("/Groups/{m}"));
        assert!(events.contains_key(DELETE));
    }

    #[test]
    fn updates_name_changed_attributes_and_memberships_patch_the_group() {
        let (m, g) = (Uuid::now_v7(), Uuid::now_v7());
        let p = json!({"member_id": m, "changed": ["displayName"]});
        let (_, events) = subject_and_events(&input("member.updated", &p, m));
        assert_eq!(events[PATCH], json!({"attributes": ["displayName"]}));
        let p = json!({"group_id": g, "member_id": m, "member_type": "User"});
        let (sub, events) = subject_and_events(&input("membership.added", &p, m));
        assert_eq!(sub["uri"], format!("/Groups/{g}"));
        assert_eq!(events[PATCH], json!({"attributes": ["members"]}));
        assert_eq!(events["urn:ietf:params:scim:event:roster:membership.added"], p);
    }

    #[test]
    fn kinds_without_an_rfc_uri_get_a_roster_urn() {
        let s = Uuid::now_v7();
        let p = json!({"old_role": "member", "new_role": "admin"});
        let (sub, events) = subject_and_events(&input("role.changed", &p, s));
        assert_eq!(sub["uri"], format!("/Users/{s}"));
        assert_eq!(events["urn:ietf:params:scim:event:roster:role.changed"], p);
        let (sub, _) = subject_and_events(&input("import.completed", &p, s));
        assert_eq!(sub, json!({"format": "opaque", "id": s.to_string()}));
    }

    #[test]
    fn only_a_400_with_an_err_code_is_a_permanent_rejection() {
        assert_eq!(push_outcome(202, b""), PushOutcome::Accepted);
        let body = br#"{"err": "invalid_key", "description": "Key ID 12345 has been revoked."}"#;
        assert_eq!(
            push_outcome(400, body),
            PushOutcome::Rejected("rejected by receiver: invalid_key: Key ID 12345 has been revoked.".into())
        );
        assert!(matches!(push_outcome(400, b"<html>bad gateway</html>"), PushOutcome::Retry(_)));
        assert!(matches!(push_outcome(503, body), PushOutcome::Retry(_)));
    }
}
