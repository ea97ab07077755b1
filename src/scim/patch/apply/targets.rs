//! The operations on one resolved target: a plain attribute, a sub-attribute, or the elements
//! of a multi-valued attribute selected by a value filter.

use serde_json::{Map, Value};

use super::{check_filter, coerce, coerce_element, member_change, MemberTarget, Rule};
use super::{element_matches, Engine, Target};
use super::{AttrPath, AttrType, Attribute, CompValue, CompareOp, Filter, Mutability, OpKind, ResourceKind};
use crate::error::{ScimError, ScimResult, ScimType};

impl Engine<'_> {
    /// add/replace/remove on an attribute path (no filter) or one key of a path-less value.
    pub(super) fn at_target(&mut self, op: OpKind, t: Target, value: Option<Value>) -> ScimResult<()> {
        if self.is_members(&t) {
            let target = if t.sub.is_some() { MemberTarget::Sub } else { MemberTarget::Whole };
            return self.push_member_change(op, target, value.as_ref());
        }
        let path = t.path();
        if t.read_only() {
            return Err(ScimError::mutability(format!("{path} is readOnly")));
        }
        if t.attr.mutability == Mutability::WriteOnly && t.ext.is_none() && t.attr.name == "password" {
            return self.password_op(op, value);
        }
        let mut value = value.filter(|v| !v.is_null());
        if op == OpKind::Remove {
            if let Some(v) = value.take() {
                self.tol.allow(Rule::RemoveWithValue, || format!("remove {path} takes no value"))?;
                if t.attr.multi_valued && t.sub.is_none() {
                    let listed = coerce(&mut self.tol, t.site(&path), v)?;
                    return self.remove_listed(t, listed);
                }
            }
        }
        let value = match value {
            Some(v) => Some(coerce(&mut self.tol, t.site(&path), v)?),
            None => None,
        };
        let map = slot(&mut self.res, t.ext);
        let key = t.attr.name;
        match (t.sub, t.attr.multi_valued, op, value) {
            (None, _, OpKind::Remove, _) | (None, _, OpKind::Replace, None) => {
                map.shift_remove(key);
            }
            (None, _, OpKind::Add, None) => {}
            (None, false, _, Some(v)) if t.attr.ty == AttrType::Complex => {
                let Value::Object(obj) = v else {
                    return Err(ScimError::invalid_value(format!("{path}: expected an object")));
                };
                merge(object_at(map, key), obj);
            }
            (None, false, _, Some(v)) => {
                map.insert(key.to_string(), v);
            }
            (None, true, OpKind::Add, Some(v)) => {
                let mut arr = take_array(map, key);
                let start = arr.len();
                for item in as_items(v) {
                    if !arr.contains(&item) {
                        arr.push(item);
                    }
                }
                let touched: Vec<usize> = (start..arr.len()).collect();
                fix_primary(&mut arr, &touched);
                put_array(map, key, arr);
            }
            (None, true, _, Some(v)) => put_array(map, key, as_items(v)),
            (Some(sub), false, op, value) => {
                let parent = object_at(map, key);
                match (op, value) {
                    (OpKind::Remove, _) | (_, None) => {
                        parent.shift_remove(sub.name);
                    }
                    (_, Some(v)) => {
                        parent.insert(sub.name.to_string(), v);
                    }
                }
                if parent.is_empty() {
                    map.shift_remove(key);
                }
            }
            (Some(sub), true, op, value) => return self.elements(op, t, None, Some(sub), value),
        }
        Ok(())
    }

    /// add/replace/remove on `attr[filter]` or `attr[filter].sub`.
    pub(super) fn filtered(
        &mut self,
        op: OpKind,
        t: Target,
        path: &AttrPath,
        filter: &Filter,
        value: Option<Value>,
    ) -> ScimResult<()> {
        if !(t.attr.multi_valued && t.attr.ty == AttrType::Complex) {
            return Err(ScimError::invalid_path(format!(
                "{}: a value filter needs a multi-valued complex attribute",
                t.attr.name
            )));
        }
        check_filter(t.attr, filter)?;
        // The evaluator checks operators and literals against the schema independently of the
        // data: run it once on an empty element so a bad filter fails even when nothing is stored.
        element_matches(self.registry, self.kind, path, &Value::Object(Map::new()), filter)
            .map_err(as_path)?;
        if self.is_members(&t) {
            return self.push_member_change(
                op,
                MemberTarget::Filtered(filter, t.sub.is_some()),
                value.as_ref(),
            );
        }
        let shown = t.path();
        if t.read_only() {
            return Err(ScimError::mutability(format!("{shown} is readOnly")));
        }
        let value = value.filter(|v| !v.is_null());
        if op == OpKind::Remove && value.is_some() {
            self.tol.allow(Rule::RemoveWithValue, || format!("remove {shown} takes no value"))?;
        }
        let value = match (op, value) {
            (OpKind::Remove, _) | (_, None) => None,
            (_, Some(v)) if t.sub.is_some() => Some(coerce(&mut self.tol, t.site(&shown), v)?),
            (_, Some(v)) => Some(coerce_element(&mut self.tol, t.site(&shown), v)?),
        };
        self.elements(op, t, Some((path, filter)), t.sub, value)
    }

    /// The element-wise core: select elements (all, or those matching `selector`), then change
    /// them, their sub-attribute `sub`, or create one when nothing matched.
    fn elements(
        &mut self,
        op: OpKind,
        t: Target,
        selector: Option<(&AttrPath, &Filter)>,
        sub: Option<&Attribute>,
        value: Option<Value>,
    ) -> ScimResult<()> {
        let (registry, kind, shown) = (self.registry, self.kind, t.path());
        let map = slot(&mut self.res, t.ext);
        let mut arr = take_array(map, t.attr.name);
        let mut matches = Vec::new();
        for (i, el) in arr.iter().enumerate() {
            if selector
                .map_or(Ok(true), |(p, f)| element_matches(registry, kind, p, el, f))
                .map_err(as_path)?
            {
                matches.push(i);
            }
        }
        let mut touched = Vec::new();
        if matches.is_empty() {
            match (op, selector, value.clone()) {
                (OpKind::Remove, Some(_), _) => self
                    .tol
                    .allow(Rule::RemoveNoMatchIgnored, || format!("{shown}: the filter matched no value"))?,
                (OpKind::Replace, Some(_), _) => {
                    return Err(ScimError::no_target(format!("{shown}: the filter matched no value")))
                }
                (OpKind::Remove, None, _) | (_, _, None) => {}
                (_, selector, Some(v)) => {
                    let mut el = match selector {
                        None => Map::new(),
                        Some((_, f)) => {
                            let el = eq_values(t.attr, f).ok_or_else(|| {
                                ScimError::no_target(format!("{shown}: the filter matched no value"))
                            })?;
                            self.tol.allow(Rule::AddCreatesFilteredElement, || {
                                format!("{shown}: the filter matched no value")
                            })?;
                            el
                        }
                    };
                    set_in_element(&mut el, sub, v, &shown)?;
                    arr.push(Value::Object(el));
                    touched.push(arr.len() - 1);
                }
            }
        }
        let mut removed = Vec::new();
        for &i in &matches {
            let Some(Value::Object(el)) = arr.get_mut(i) else { continue };
            match (op, sub, &value) {
                (OpKind::Remove, None, _) | (OpKind::Replace, None, None) => removed.push(i),
                (OpKind::Remove, Some(s), _) | (_, Some(s), None) => {
                    el.shift_remove(s.name);
                }
                (OpKind::Replace, None, Some(Value::Object(new))) => {
                    *el = new.clone();
                    touched.push(i);
                }
                (_, _, Some(v)) => {
                    set_in_element(el, sub, v.clone(), &shown)?;
                    touched.push(i);
                }
                (OpKind::Add, None, None) => {}
            }
        }
        fix_primary(&mut arr, &touched);
        let arr = arr.into_iter().enumerate().filter(|(i, _)| !removed.contains(i)).map(|(_, v)| v).collect();
        put_array(slot(&mut self.res, t.ext), t.attr.name, arr);
        Ok(())
    }

    /// Tolerant `remove` with a value on a multi-valued attribute: drop the elements that
    /// contain every sub-attribute value given (for simple attributes: equal values).
    fn remove_listed(&mut self, t: Target, listed: Value) -> ScimResult<()> {
        let listed = as_items(listed);
        let map = slot(&mut self.res, t.ext);
        let arr = take_array(map, t.attr.name);
        let keep = arr.into_iter().filter(|el| !listed.iter().any(|l| contains(el, l))).collect();
        put_array(map, t.attr.name, keep);
        Ok(())
    }

    /// `password` through PATCH: handed out in [`Applied::password`](super::Applied), never stored.
    fn password_op(&mut self, op: OpKind, value: Option<Value>) -> ScimResult<()> {
        match (op, value) {
            (OpKind::Remove, _) => Err(ScimError::mutability("password cannot be removed, only replaced")),
            (_, None | Some(Value::Null)) => Ok(()),
            (_, Some(Value::String(p))) => {
                self.password = Some(p);
                Ok(())
            }
            (_, Some(_)) => Err(ScimError::invalid_value("password: expected a string")),
        }
    }

    /// Whether `t` is the Group `members` attribute (or one of its sub-attributes).
    fn is_members(&self, t: &Target) -> bool {
        self.kind == ResourceKind::Group && t.ext.is_none() && t.attr.name == "members"
    }

    /// Records the membership change of one operation on `members`.
    fn push_member_change(
        &mut self,
        op: OpKind,
        target: MemberTarget<'_>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let Some(members) = self.registry.top_level(self.kind, "members") else {
            return Err(ScimError::invalid_path("members is not an attribute of this resource type"));
        };
        if let Some(change) = member_change(&mut self.tol, members, op, target, value)? {
            self.members.push(change);
        }
        Ok(())
    }
}

/// A filter the evaluator rejects (e.g. `gt` on a boolean) is, in a PATCH path, `invalidPath`.
fn as_path(e: ScimError) -> ScimError {
    match e.scim_type() {
        Some(ScimType::InvalidFilter) => ScimError::invalid_path(e.detail()),
        _ => e,
    }
}

/// The map holding the attribute: the resource itself or its extension object (created).
fn slot<'m>(res: &'m mut Map<String, Value>, ext: Option<&str>) -> &'m mut Map<String, Value> {
    match ext {
        None => res,
        Some(urn) => object_at(res, urn),
    }
}

/// The object under `key`, created (or replacing a non-object) when needed.
fn object_at<'m>(map: &'m mut Map<String, Value>, key: &str) -> &'m mut Map<String, Value> {
    let entry = map.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    match entry {
        Value::Object(m) => m,
        // Cannot happen: the entry was made an object just above (a conditional early return
        // of the borrow would not pass today's borrow checker).
        _ => unreachable!("just made an object"),
    }
}

/// Takes the array under `key` (empty when absent), leaving the key in place.
fn take_array(map: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match map.get_mut(key).map(Value::take) {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// Stores `arr` under `key` (keeping the key's position); an empty array removes the key.
fn put_array(map: &mut Map<String, Value>, key: &str, arr: Vec<Value>) {
    if arr.is_empty() {
        map.shift_remove(key);
    } else {
        map.insert(key.to_string(), Value::Array(arr));
    }
}

/// A multi-valued value as elements: an array, or one element.
fn as_items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Merges sub-attributes into an object; a null removes the sub-attribute.
fn merge(target: &mut Map<String, Value>, new: Map<String, Value>) {
    for (k, v) in new {
        if v.is_null() {
            target.shift_remove(&k);
        } else {
            target.insert(k, v);
        }
    }
}

/// Sets `sub` (or merges a whole element object) inside one element.
fn set_in_element(
    el: &mut Map<String, Value>,
    sub: Option<&Attribute>,
    v: Value,
    shown: &str,
) -> ScimResult<()> {
    match (sub, v) {
        (Some(s), v) => {
            el.insert(s.name.to_string(), v);
        }
        (None, Value::Object(obj)) => merge(el, obj),
        (None, _) => return Err(ScimError::invalid_value(format!("{shown}: expected an object"))),
    }
    Ok(())
}

/// The element a filter of `eq` comparisons joined by `and` describes, or `None`.
fn eq_values(attr: &Attribute, filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value } => {
            let sub = attr.sub_attribute(&path.name)?;
            let v = match value {
                CompValue::String(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return None,
            };
            let mut m = Map::new();
            m.insert(sub.name.to_string(), v);
            Some(m)
        }
        Filter::And(a, b) => {
            let mut m = eq_values(attr, a)?;
            m.extend(eq_values(attr, b)?);
            Some(m)
        }
        _ => None,
    }
}

/// Whether `element` holds every sub-attribute value of `given` (or equals it, if not objects).
fn contains(element: &Value, given: &Value) -> bool {
    match (element, given) {
        (Value::Object(el), Value::Object(g)) => !g.is_empty() && g.iter().all(|(k, v)| el.get(k) == Some(v)),
        (a, b) => a == b,
    }
}

/// `primary: true` on a touched element clears it on the other elements (RFC 7643 §2.4).
fn fix_primary(arr: &mut [Value], touched: &[usize]) {
    let is_primary = |v: &Value| v.get("primary") == Some(&Value::Bool(true));
    if !touched.iter().any(|&i| arr.get(i).is_some_and(is_primary)) {
        return;
    }
    for (i, el) in arr.iter_mut().enumerate() {
        if !touched.contains(&i) && is_primary(el) {
            el["primary"] = Value::Bool(false);
        }
    }
}
