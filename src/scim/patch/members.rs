//! Group membership operations → [`MemberChange`]s: `members` is never loaded or stored in the
//! resource, so its cost does not depend on the size of the group.

use serde_json::Value;

use super::tolerance::{Rule, Tolerance};
use super::{MemberChange, MemberRef, OpKind};
use crate::error::{ScimError, ScimResult};
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::schema::Attribute;

/// How an operation addresses `members`.
pub(super) enum MemberTarget<'f> {
    /// Path-less value key `members` or path `members`.
    Whole,
    /// `members.value` and other sub-attribute paths.
    Sub,
    /// `members[filter]` (with or without a trailing sub-attribute).
    Filtered(&'f Filter, bool),
}

/// The membership change for one operation on `members`; `None` when there is nothing to do.
pub(super) fn member_change(
    tol: &mut Tolerance,
    members: &Attribute,
    op: OpKind,
    target: MemberTarget<'_>,
    value: Option<&Value>,
) -> ScimResult<Option<MemberChange>> {
    let value = value.filter(|v| !v.is_null());
    match (op, target) {
        (OpKind::Add, MemberTarget::Whole) => {
            let refs = member_refs(tol, value)?;
            Ok((!refs.is_empty()).then_some(MemberChange::Add(refs)))
        }
        (OpKind::Replace, MemberTarget::Whole) => {
            Ok(Some(MemberChange::ReplaceAll(member_refs(tol, value)?)))
        }
        (OpKind::Remove, MemberTarget::Whole) => match value {
            None => Ok(Some(MemberChange::RemoveAll)),
            Some(v) => {
                tol.allow(Rule::RemoveMembersWithValueArray, || {
                    "remove takes no value: use the path members[value eq \"id\"]".to_string()
                })?;
                let ids: Vec<String> = member_refs(tol, Some(v))?.into_iter().map(|r| r.value).collect();
                Ok((!ids.is_empty()).then_some(MemberChange::Remove(ids)))
            }
        },
        (OpKind::Remove, MemberTarget::Filtered(filter, false)) => {
            check_filter(members, filter)?;
            let mut ids = Vec::new();
            Ok(Some(if value_eq_ids(filter, &mut ids) {
                MemberChange::Remove(ids)
            } else {
                MemberChange::RemoveWhere(filter.clone())
            }))
        }
        (OpKind::Add, MemberTarget::Filtered(..)) => {
            Err(ScimError::invalid_path("members are added with the path members, not a filtered path"))
        }
        (_, MemberTarget::Sub | MemberTarget::Filtered(..)) => Err(ScimError::mutability(
            "the sub-attributes of a member cannot be changed: remove the member and add it again",
        )),
    }
}

/// The member references of an add/replace value (an array of `{value, type?, $ref?}` or one object).
fn member_refs(tol: &mut Tolerance, value: Option<&Value>) -> ScimResult<Vec<MemberRef>> {
    let items: Vec<&Value> = match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        Some(_) => {
            return Err(ScimError::invalid_value("members: expected an array of {\"value\": id} objects"))
        }
    };
    let mut out: Vec<MemberRef> = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(obj) = item else {
            return Err(ScimError::invalid_value("members: each member must be an object {\"value\": id}"));
        };
        let get = |key: &str| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v);
        let id = match get("value") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            _ => return Err(ScimError::invalid_value("members.value is required: the id of the member")),
        };
        let kind = match get("type") {
            None | Some(Value::Null) => ref_kind(get("$ref")),
            Some(Value::String(t)) => Some(canonical_type(t)?),
            Some(_) => return Err(ScimError::invalid_value("members.type must be \"User\" or \"Group\"")),
        };
        if get("$ref").is_some_and(Value::is_null) && tol.tolerant() {
            tol.record(Rule::NullRefIgnored);
        }
        if !out.iter().any(|r| r.value == id) {
            out.push(MemberRef { value: id, kind });
        }
    }
    Ok(out)
}

/// `"user"` → `"User"`; anything but User/Group is invalid.
fn canonical_type(t: &str) -> ScimResult<String> {
    ["User", "Group"].into_iter().find(|c| c.eq_ignore_ascii_case(t)).map(str::to_string).ok_or_else(|| {
        ScimError::invalid_value(format!(
            "members.type: '{}' is not one of User, Group",
            crate::text::excerpt(t)
        ))
    })
}

/// The member type implied by a `$ref` URI (`.../Groups/<id>` → Group), if any.
fn ref_kind(r: Option<&Value>) -> Option<String> {
    let r = r?.as_str()?;
    let parent = r.trim_end_matches('/').rsplit('/').nth(1)?;
    canonical_type(parent.trim_end_matches('s')).ok()
}

/// Collects the ids of `value eq "id"` (or an `or`-chain of them); false for any other filter.
fn value_eq_ids(filter: &Filter, ids: &mut Vec<String>) -> bool {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::String(id) }
            if path.urn.is_none() && path.sub.is_none() && path.name.eq_ignore_ascii_case("value") =>
        {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
            true
        }
        Filter::Or(a, b) => value_eq_ids(a, ids) && value_eq_ids(b, ids),
        _ => false,
    }
}

/// Every attribute a value filter names must be a sub-attribute of `attr` (else `invalidPath`).
pub(super) fn check_filter(attr: &Attribute, filter: &Filter) -> ScimResult<()> {
    let check = |name: &str, sub: Option<&String>, urn: Option<&String>| {
        if urn.is_none() && sub.is_none() && attr.sub_attribute(name).is_some() {
            Ok(())
        } else {
            Err(ScimError::invalid_path(format!("{} has no sub-attribute '{name}'", attr.name)))
        }
    };
    match filter {
        Filter::Present(p) | Filter::Compare { path: p, .. } => {
            check(&p.name, p.sub.as_ref(), p.urn.as_ref())
        }
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_filter(attr, a)?;
            check_filter(attr, b)
        }
        Filter::Not(a) => check_filter(attr, a),
        Filter::ValuePath { .. } => {
            Err(ScimError::invalid_path(format!("{}: nested value filters are not allowed", attr.name)))
        }
    }
}
