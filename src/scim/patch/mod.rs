//! The SCIM PATCH engine (RFC 7644 §3.5.2): parse a PatchOp message, apply it to a stored
//! resource, and report what the IdP-tolerance layer had to accept to get there.
//!
//! The engine is pure: [`parse_request`] turns the body into typed [`PatchOp`]s, [`apply`] runs
//! them against a copy of the stored resource (atomically: any failing operation fails the whole
//! request) and re-validates the result with [`normalize`](crate::scim::schema::normalize).
//!
//! * Group membership is never materialised: every operation that targets `members` becomes a
//!   [`MemberChange`] in [`Applied::members`], in request order, for the storage layer to apply
//!   as row deltas, so the cost of a PATCH is independent of the group's size.
//! * In [`Mode::Tolerant`] the dialects of Microsoft Entra ID and Okta are accepted and each
//!   deviation from the RFC is recorded as a [`Rule`]; in [`Mode::Strict`] the same inputs are
//!   rejected with the scimType named on each rule.
//!
//! Decisions where RFC 7644 is silent (see also [`Rule`]):
//! * `"value": null` and nulls inside values mean "unassigned" (RFC 7643 §2.5) in both modes:
//!   `replace` with null clears the target, `add` with null adds nothing; `"$ref": null` is
//!   dropped (rule [`Rule::NullRefIgnored`] in tolerant mode, silently in strict mode).
//! * `replace` on a single-valued complex attribute merges the given sub-attributes (RFC 7644
//!   §3.5.2.3); `replace` on a multi-valued attribute replaces the whole set; `replace` of an
//!   absent attribute adds it.
//! * A path `emails.value` (sub-attribute of a multi-valued attribute, no filter) addresses that
//!   sub-attribute in every element (creating one element when there is none).
//! * Unknown attributes: in a `path` always 400 `invalidPath`; as keys of a path-less value they
//!   are ignored in tolerant mode (rule [`Rule::UnknownAttributeIgnored`], as POST/PUT ignore them)
//!   and rejected with `invalidPath` in strict mode.
//! * Path-less keys: the RFC 7643 form `{"urn:...:User": {...}}` is accepted in both modes;
//!   dotted (`name.givenName`), filtered (`emails[type eq "work"].value`) and URN-qualified
//!   attribute keys are paths, not attribute names: tolerant mode applies them (with a rule),
//!   strict mode answers `invalidPath`.
//! * `id` inside a path-less value equal to the resource's id is ignored (tolerant, with a rule);
//!   a different id is `mutability` in both modes; strict rejects any `id`/`meta`/`groups`/
//!   `schemas` key with `mutability`.
//! * `remove` with a `value` (outside the RFC): tolerant removes the listed elements of a
//!   multi-valued attribute (elements holding every given sub-attribute value) or the single
//!   value; strict answers `invalidSyntax`. A filtered `remove` that matches nothing is
//!   `noTarget` in strict mode and a no-op (with a rule) in tolerant mode; removing an absent
//!   attribute without a filter is a no-op in both.
//! * `roles` values carrying JSON in a string are kept verbatim in strict mode (a valid string).
//! * `primary: true` on an added or changed element clears `primary` on the other elements; two
//!   new primaries in one value are 400 `invalidValue`.
//! * `password` is taken out into [`Applied::password`]; removing it is 400 `mutability`.
//! * readOnly targets (`id`, `meta`, `meta.*`, `groups`, `manager.displayName`, ...) in a path are
//!   400 `mutability`. Immutable attributes may be added when absent; changing or removing them
//!   is 400 `mutability` (checked on the final resource, as PUT does).
//! * Group `members`: the sub-attributes of a member cannot be changed (`replace` of
//!   `members[...]` or `members.x` is `mutability`); `add` with a filtered members path is
//!   `invalidPath`. A member's `type` is taken from `type` or else from a `$ref` ending in
//!   `/Users/<id>` or `/Groups/<id>`; `display` is ignored.
//! * [`Applied::changed`] compares resources only; membership deltas and passwords are reported
//!   separately and are not "changes" of the resource.

mod apply;
mod members;
mod request;
mod tolerance;

#[cfg(test)]
mod tests;

pub use apply::{apply, apply_to_membership, MembershipOnly};
pub use request::parse_request;
pub use tolerance::Rule;

use serde_json::{Map, Value};

use crate::scim::filter::{Filter, PatchPath};

/// How forgiving the engine is: per connection, tolerant by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Accept the known IdP dialects and record each [`Rule`] that was needed.
    #[default]
    Tolerant,
    /// RFC 7644 only (interoperability-profile mode): dialect inputs are rejected.
    Strict,
}

/// The three PATCH operations of RFC 7644 §3.5.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `add`
    Add,
    /// `replace`
    Replace,
    /// `remove`
    Remove,
}

impl OpKind {
    /// The RFC (lower-case) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Replace => "replace",
            OpKind::Remove => "remove",
        }
    }
}

/// One parsed operation of a PatchOp message.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    /// add / replace / remove.
    pub op: OpKind,
    /// The target; `None` for path-less add/replace.
    pub path: Option<PatchPath>,
    /// The value as sent (`None` when absent; `Some(Null)` when sent as null).
    pub value: Option<Value>,
}

/// A parsed PatchOp message.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, in request order.
    pub ops: Vec<PatchOp>,
    /// Tolerance rules needed to parse the message itself (op case, missing schemas, ...).
    pub fired: Vec<Rule>,
}

/// A reference to a group member, as sent by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    /// The member's id (a User or Group id of this tenant; not checked here).
    pub value: String,
    /// `"User"` or `"Group"` when the client said so (canonical spelling), else `None`.
    pub kind: Option<String>,
}

/// One change to a group's membership.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberChange {
    /// Add these members (already-present ones are no-ops).
    Add(Vec<MemberRef>),
    /// Remove the members with these ids (absent ones are no-ops).
    Remove(Vec<String>),
    /// Remove the members matching this filter (paths relative to a member element).
    RemoveWhere(Filter),
    /// Remove every member.
    RemoveAll,
    /// Make the membership exactly this set.
    ReplaceAll(Vec<MemberRef>),
}

/// The membership changes of one request, in request order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemberDelta {
    /// The changes, in the order of the operations that produced them.
    pub changes: Vec<MemberChange>,
}

/// The outcome of applying a PATCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The new resource, normalised (canonical names, no id/meta/schemas/password/members).
    pub resource: Map<String, Value>,
    /// Group membership changes, when any operation targeted `members`.
    pub members: Option<MemberDelta>,
    /// A new password, when one was set (never part of `resource`).
    pub password: Option<String>,
    /// Every rule that fired for this request (parse and apply), each once, first-fired first.
    pub fired: Vec<Rule>,
    /// Whether `resource` differs from the stored one (membership and password not counted).
    pub changed: bool,
}

/// Pushes `rule` onto `fired` unless it is already there.
fn fire(fired: &mut Vec<Rule>, rule: Rule) {
    if !fired.contains(&rule) {
        fired.push(rule);
    }
}
