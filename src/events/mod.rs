//! Events: what a directory change tells the outside world. The directory writes them to the
//! outbox (`db::events`) in the same transaction as the change; [`dispatch`] delivers them to
//! the tenant's receivers, at least once and in order per subject: as HMAC-signed JSON
//! (`webhook` format) or as Security Event Tokens ([`set`], RFC 8417/8935/9967). [`wake`] makes
//! delivery prompt; [`keys`] seals receiver secrets at rest and signs SETs; [`egress`] keeps
//! deliveries off private networks unless the operator allows them.
//!
//! Payloads carry ids and the changed facts only (attribute names, `active`, parent ids), never
//! personal data: a receiver that needs the member fetches it over its own API.

pub mod dispatch;
pub mod egress;
pub mod keys;
pub mod receivers;
pub mod set;
pub mod wake;

use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use uuid::Uuid;

/// What happened to a member, a group or a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A member was provisioned (or a removed member restored under its old id).
    MemberCreated,
    /// A member's attributes changed (other than `active`).
    MemberUpdated,
    /// `active` went from true to false.
    MemberSuspended,
    /// `active` went from false to true.
    MemberReactivated,
    /// The member was removed (DELETE).
    MemberRemoved,
    /// A group was created.
    GroupCreated,
    /// A group's attributes or its parent changed.
    GroupUpdated,
    /// A group was deleted.
    GroupDeleted,
    /// A user or group became a direct member of a group.
    MembershipAdded,
    /// A user or group stopped being a direct member of a group.
    MembershipRemoved,
    /// A member's effective role changed.
    RoleChanged,
    /// A member of a non-SSO tenant who never joined was created, restored or reactivated: the
    /// application that sends invitations should send one.
    MemberInvitationNeeded,
    /// A member import was applied (subject: the import id).
    ImportCompleted,
    /// Someone requested access through the join API (subject: the request id).
    AccessRequestCreated,
    /// An admin approved an access request; the member was created (subject: the request id).
    AccessRequestApproved,
    /// An admin denied an access request (subject: the request id).
    AccessRequestDenied,
}

impl EventKind {
    /// Every kind (the outbox's CHECK constraint must admit each; a test keeps them in step).
    pub const ALL: [EventKind; 16] = [
        EventKind::MemberCreated,
        EventKind::MemberUpdated,
        EventKind::MemberSuspended,
        EventKind::MemberReactivated,
        EventKind::MemberRemoved,
        EventKind::GroupCreated,
        EventKind::GroupUpdated,
        EventKind::GroupDeleted,
        EventKind::MembershipAdded,
        EventKind::MembershipRemoved,
        EventKind::RoleChanged,
        EventKind::MemberInvitationNeeded,
        EventKind::ImportCompleted,
        EventKind::AccessRequestCreated,
        EventKind::AccessRequestApproved,
        EventKind::AccessRequestDenied,
    ];

    /// The kind as sent to receivers (`member.created`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MemberCreated => "member.created",
            EventKind::MemberUpdated => "member.updated",
            EventKind::MemberSuspended => "member.suspended",
            EventKind::MemberReactivated => "member.reactivated",
            EventKind::MemberRemoved => "member.removed",
            EventKind::GroupCreated => "group.created",
            EventKind::GroupUpdated => "group.updated",
            EventKind::GroupDeleted => "group.deleted",
            EventKind::MembershipAdded => "membership.added",
            EventKind::MembershipRemoved => "membership.removed",
            EventKind::RoleChanged => "role.changed",
            EventKind::MemberInvitationNeeded => "member.invitation_needed",
            EventKind::ImportCompleted => "import.completed",
            EventKind::AccessRequestCreated => "access_request.created",
            EventKind::AccessRequestApproved => "access_request.approved",
            EventKind::AccessRequestDenied => "access_request.denied",
        }
    }
}

/// An event about to be written to the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The member or group it is about; for membership events, the member (so that a member's
    /// events arrive in order).
    pub subject: Uuid,
    /// What happened.
    pub kind: EventKind,
    /// Ids and changed facts.
    pub payload: Value,
}

impl NewEvent {
    fn new(kind: EventKind, subject: Uuid, payload: Value) -> Self {
        NewEvent { subject, kind, payload }
    }

    /// A member was created; `restored` when a removed member came back under its old id.
    pub fn member_created(member: Uuid, active: bool, restored: bool) -> Self {
        Self::new(
            EventKind::MemberCreated,
            member,
            json!({"member_id": member, "active": active, "restored": restored}),
        )
    }

    /// A member's attributes changed; `changed` names them (never their values).
    pub fn member_updated(member: Uuid, changed: Vec<String>) -> Self {
        Self::new(EventKind::MemberUpdated, member, json!({"member_id": member, "changed": changed}))
    }

    /// A member was suspended (`active` false) or reactivated.
    pub fn member_active(member: Uuid, active: bool) -> Self {
        let kind = if active { EventKind::MemberReactivated } else { EventKind::MemberSuspended };
        Self::new(kind, member, json!({"member_id": member, "active": active}))
    }

    /// A member was removed.
    pub fn member_removed(member: Uuid) -> Self {
        Self::new(EventKind::MemberRemoved, member, json!({"member_id": member}))
    }

    /// A group was created.
    pub fn group_created(group: Uuid, parent: Option<Uuid>) -> Self {
        Self::new(EventKind::GroupCreated, group, json!({"group_id": group, "parent_id": parent}))
    }

    /// A group's attributes (or parent) changed.
    pub fn group_updated(group: Uuid, changed: Vec<String>, parent: Option<Uuid>) -> Self {
        Self::new(
            EventKind::GroupUpdated,
            group,
            json!({"group_id": group, "changed": changed, "parent_id": parent}),
        )
    }

    /// A group was deleted.
    pub fn group_deleted(group: Uuid) -> Self {
        Self::new(EventKind::GroupDeleted, group, json!({"group_id": group}))
    }

    /// A member needs an invitation (created, restored or reactivated without ever having joined,
    /// in a tenant that does not use SSO).
    pub fn invitation_needed(member: Uuid) -> Self {
        Self::new(EventKind::MemberInvitationNeeded, member, json!({"member_id": member}))
    }

    /// `member` (a `User` or a `Group`) joined (`added`) or left `group`.
    pub fn membership(added: bool, group: Uuid, member: Uuid, member_type: &str) -> Self {
        let kind = if added { EventKind::MembershipAdded } else { EventKind::MembershipRemoved };
        Self::new(kind, member, json!({"group_id": group, "member_id": member, "member_type": member_type}))
    }
}

impl NewEvent {
    /// A member's effective role changed from `from` to `to` (either may be none).
    pub fn role_changed(member: Uuid, from: Option<&str>, to: Option<&str>) -> Self {
        Self::new(EventKind::RoleChanged, member, json!({"member_id": member, "from": from, "to": to}))
    }

    /// A member import was applied; `totals` counts what it wrote.
    pub fn import_completed(import: Uuid, totals: Value) -> Self {
        Self::new(EventKind::ImportCompleted, import, json!({"import_id": import, "totals": totals}))
    }

    /// An access request was created (no personal data: admins fetch it over the admin API).
    pub fn access_request_created(request: Uuid) -> Self {
        Self::new(EventKind::AccessRequestCreated, request, json!({"request_id": request}))
    }

    /// An access request was approved and became `member`.
    pub fn access_request_approved(request: Uuid, member: Uuid) -> Self {
        Self::new(
            EventKind::AccessRequestApproved,
            request,
            json!({"request_id": request, "member_id": member}),
        )
    }

    /// An access request was denied (the reason stays in the admin API: it may name the person).
    pub fn access_request_denied(request: Uuid) -> Self {
        Self::new(EventKind::AccessRequestDenied, request, json!({"request_id": request}))
    }
}

/// The top-level attributes whose values differ between two versions of a resource, sorted,
/// leaving out `skip` (e.g. `active`, which has events of its own).
pub fn changed_attributes(old: &Map<String, Value>, new: &Map<String, Value>, skip: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = old
        .keys()
        .chain(new.keys())
        .filter(|k| !skip.contains(&k.as_str()))
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The `Roster-Signature` header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_an_independent_hmac() {
        // Computed with Python: hmac.new(b"Jefe", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            signature("Jefe", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a"
        );
    }

    #[test]
    fn changed_attributes_names_differences_only() {
        let old = json!({"userName": "a", "active": true, "title": "x"});
        let new = json!({"userName": "a", "active": false, "nickName": "n"});
        let (Value::Object(old), Value::Object(new)) = (old, new) else { unreachable!() };
        assert_eq!(changed_attributes(&old, &new, &["active"]), vec!["nickName", "title"]);
    }

    #[test]
    fn membership_events_are_about_the_member() {
        let (g, m) = (Uuid::now_v7(), Uuid::now_v7());
        let e = NewEvent::membership(true, g, m, "User");
        assert_eq!(e.subject, m);
        assert_eq!(e.kind.as_str(), "membership.added");
    }
}
