//! The PUT immutability check.

use serde_json::{Map, Value};

use super::{AttrType, Attribute, Mutability, Registry, ResourceKind};
use crate::error::{ScimError, ScimResult};

/// Rejects a PUT that changes an immutable attribute already set in `old`.
///
/// Sub-attributes of multi-valued complex attributes are not checked: replacing a set of values
/// (e.g. Group members) is allowed.
pub fn check_immutable(
    registry: &Registry,
    kind: ResourceKind,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> ScimResult<()> {
    let core = registry.schema(kind.core_schema()).map(|s| s.attributes).unwrap_or_default();
    for attr in registry.common_attributes().iter().chain(core) {
        check_attr(attr, attr.name, get_ci(old, attr.name), get_ci(new, attr.name))?;
    }
    for urn in registry.extensions(kind) {
        let Some(schema) = registry.schema(urn) else {
            continue;
        };
        let old_ext = get_ci(old, urn).and_then(Value::as_object);
        let new_ext = get_ci(new, urn).and_then(Value::as_object);
        for attr in schema.attributes {
            let path = format!("{urn}:{}", attr.name);
            let o = old_ext.and_then(|m| get_ci(m, attr.name));
            let n = new_ext.and_then(|m| get_ci(m, attr.name));
            check_attr(attr, &path, o, n)?;
        }
    }
    Ok(())
}

/// Checks one attribute (recursing into single-valued complex values).
fn check_attr(attr: &Attribute, path: &str, old: Option<&Value>, new: Option<&Value>) -> ScimResult<()> {
    let Some(old) = old.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    if attr.mutability == Mutability::Immutable {
        if new.is_some_and(|n| same_value(attr, old, n)) {
            return Ok(());
        }
        return Err(ScimError::mutability(format!(
            "{path} is immutable: it cannot be changed or removed once set"
        )));
    }
    if attr.ty == AttrType::Complex && !attr.multi_valued && attr.mutability != Mutability::ReadOnly {
        let new_obj = new.and_then(Value::as_object);
        if let Some(old_obj) = old.as_object() {
            for sub in attr.sub_attributes {
                let sub_path = format!("{path}.{}", sub.name);
                let n = new_obj.and_then(|m| get_ci(m, sub.name));
                check_attr(sub, &sub_path, get_ci(old_obj, sub.name), n)?;
            }
        }
    }
    Ok(())
}

/// Equality under the attribute's `caseExact`.
fn same_value(attr: &Attribute, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if !attr.case_exact => x.to_lowercase() == y.to_lowercase(),
        _ => a == b,
    }
}

/// Map lookup by key, ASCII case-insensitively (exact match first).
fn get_ci<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}
