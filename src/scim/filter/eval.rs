//! In-memory evaluation of filters: the reference semantics that PATCH uses and that the SQL
//! translation is tested against.
//!
//! A filter is first resolved against the schema registry (every path, operator and literal is
//! checked, whatever the data), then evaluated. So an unknown attribute or an operator that
//! does not apply is an error even where the data would short-circuit it.
//!
//! # Paths
//! Names resolve case-insensitively. An unqualified name is a common attribute (`id`,
//! `externalId`, `meta`), a core attribute, or failing those the attribute of that name in
//! exactly one extension of the resource type (more than one → error). A URN path selects the
//! core schema or an extension; extension values are read from under the URN key.
//! `schemas` is known too (a multi-valued, case-insensitive string; if the resource map has no
//! `schemas` key, the value is derived from the extension keys present). Attributes that are
//! `returned: never` (the password) cannot be filtered on. Unknown names → `invalidFilter`.
//!
//! # Semantics (RFC 7644 §3.4.2.2)
//! * Strings (`string`, `reference`, `binary`) compare case-insensitively (Unicode lower case)
//!   unless the attribute is `caseExact`; `gt`/`ge`/`lt`/`le` order them by code point (of the
//!   lower-cased text when not caseExact).
//! * Numbers compare numerically (exactly for integers), dateTimes chronologically (both sides
//!   parsed; RFC 3339, or without offset meaning UTC; a stored value that does not parse
//!   matches nothing). `co`/`sw`/`ew` on a dateTime compare its text case-insensitively.
//! * `co`/`sw`/`ew` on booleans or numbers and `gt`/`ge`/`lt`/`le` on booleans are
//!   `invalidFilter`, and so is a literal of the wrong type (`userName eq 1`), except that a
//!   boolean attribute also accepts the strings `"true"`/`"false"` (case-insensitively).
//! * Multi-valued attributes match if ANY value matches (`emails.value co "x"`); on a
//!   multi-valued complex attribute without sub-attribute (`emails co "x"`) each element's
//!   `value` is compared. A single-valued complex attribute can only be tested with `pr`.
//! * `pr`: some value is present, where null, `""`, `[]` and `{}` are not present, an array is
//!   present when one of its elements is, and an object when one of its members is.
//! * `ne` is exactly `not eq`: true for an absent attribute, and on a multi-valued attribute
//!   true when NO value equals.
//! * `eq null` is "not present" (`not (attr pr)`), `ne null` is `attr pr`; other operators
//!   with `null` are `invalidFilter`.
//! * `attr[filter]` is true when one element (one object, for a single-valued complex
//!   attribute) satisfies `filter`, whose paths name sub-attributes of `attr`.

mod compare;

use serde_json::{Map, Value};

use self::compare::{is_present, leaf_matches, operand, Operand};
use super::display::chain_operands;
use super::{AttrPath, CompareOp, Filter};
use crate::error::{ScimError, ScimResult};
use crate::scim::schema::{AttrType, Attribute, Registry, ResourceKind, Returned};

/// The `schemas` attribute, known to every resource but absent from the schema documents.
static SCHEMAS: Attribute =
    Attribute::new("schemas", AttrType::Reference, "The schemas of the resource.").multi();

/// Does the whole resource (a rendered resource JSON object: core attributes at top level,
/// extension attributes under their URN key, plus id/externalId/meta) satisfy the filter?
///
/// Errors (`invalidFilter`) for unknown attributes and operators or literals that do not fit
/// the attribute, independently of the data.
pub fn matches(
    registry: &Registry,
    kind: ResourceKind,
    resource: &Map<String, Value>,
    filter: &Filter,
) -> ScimResult<bool> {
    let plan = Resolver { registry, kind, parent: None }.plan(filter)?;
    let schemas = Value::from(registry.resource_schemas(kind, resource));
    Ok(plan.eval(resource, &schemas))
}

/// Does one element of the multi-valued attribute `attr` satisfy a value filter (paths
/// relative to the element)? Used by PATCH `emails[type eq "work"]`.
///
/// `attr` must name a complex attribute (without sub-attribute); an element that is not a
/// JSON object matches nothing.
pub fn element_matches(
    registry: &Registry,
    kind: ResourceKind,
    attr: &AttrPath,
    element: &Value,
    filter: &Filter,
) -> ScimResult<bool> {
    let top = Resolver { registry, kind, parent: None };
    let target = top.value_path_target(attr)?;
    let plan = Resolver { registry, kind, parent: Some((attr, target.leaf)) }.plan(filter)?;
    Ok(element.as_object().is_some_and(|e| plan.eval(e, &Value::Null)))
}

/// Where a path's values are read from.
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// A key of the resource (core or common attribute).
    Top,
    /// A key of the object under this extension URN.
    Ext(&'static str),
    /// A key of a multi-valued attribute's element (inside a value filter).
    Element,
    /// The `schemas` attribute (or its derived value).
    Schemas,
}

/// A resolved attribute path.
#[derive(Debug, Clone, Copy)]
struct Target {
    scope: Scope,
    /// Canonical name of the attribute in its container.
    name: &'static str,
    /// Sub-attribute to read from each value (explicit, or `value` for `emails eq "x"`).
    sub: Option<&'static str>,
    /// The attribute whose values are compared.
    leaf: &'static Attribute,
}

impl Target {
    /// The values the path designates, arrays flattened.
    fn values<'v>(&self, container: &'v Map<String, Value>, schemas: &'v Value) -> Vec<&'v Value> {
        let root = match self.scope {
            Scope::Top | Scope::Element => get_ci(container, self.name),
            Scope::Ext(urn) => {
                get_ci(container, urn).and_then(Value::as_object).and_then(|o| get_ci(o, self.name))
            }
            Scope::Schemas => get_ci(container, "schemas").or(Some(schemas)),
        };
        let mut out = Vec::new();
        let items: Vec<&Value> = match root {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(v) => vec![v],
            None => Vec::new(),
        };
        for item in items {
            let v = match self.sub {
                Some(sub) => match item.as_object().and_then(|o| get_ci(o, sub)) {
                    Some(v) => v,
                    None => continue,
                },
                None => item,
            };
            match v {
                Value::Array(inner) if self.sub.is_some() => out.extend(inner.iter()),
                v => out.push(v),
            }
        }
        out
    }
}

/// A resolved filter: evaluation cannot fail.
#[derive(Debug)]
enum Plan {
    Present(Target),
    /// `op` is never `Ne` (that is `Not(Compare Eq)`).
    Compare(Target, CompareOp, Operand),
    ValuePath(Target, Box<Plan>),
    And(Vec<Plan>),
    Or(Vec<Plan>),
    Not(Box<Plan>),
}

impl Plan {
    fn eval(&self, container: &Map<String, Value>, schemas: &Value) -> bool {
        match self {
            Plan::Present(t) => t.values(container, schemas).into_iter().any(is_present),
            Plan::Compare(t, op, operand) => {
                t.values(container, schemas).into_iter().any(|v| leaf_matches(v, *op, operand))
            }
            Plan::ValuePath(t, inner) => t
                .values(container, schemas)
                .into_iter()
                .filter_map(Value::as_object)
                .any(|element| inner.eval(element, &Value::Null)),
            Plan::And(items) => items.iter().all(|p| p.eval(container, schemas)),
            Plan::Or(items) => items.iter().any(|p| p.eval(container, schemas)),
            Plan::Not(inner) => !inner.eval(container, schemas),
        }
    }
}

/// Looks `key` up exactly, then ASCII case-insensitively.
fn get_ci<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn unknown(kind: ResourceKind, path: &dyn std::fmt::Display) -> ScimError {
    ScimError::invalid_filter(format!("unknown attribute \"{path}\" for resource type {}", kind.name()))
}

/// Resolves paths against the registry; `parent` is set inside a value filter.
struct Resolver<'r> {
    registry: &'r Registry,
    kind: ResourceKind,
    parent: Option<(&'r AttrPath, &'static Attribute)>,
}

impl Resolver<'_> {
    fn plan(&self, filter: &Filter) -> ScimResult<Plan> {
        if let Some((is_and, operands)) = chain_operands(filter) {
            let plans = operands.into_iter().map(|f| self.plan(f)).collect::<ScimResult<Vec<_>>>()?;
            return Ok(if is_and { Plan::And(plans) } else { Plan::Or(plans) });
        }
        match filter {
            Filter::Present(path) => Ok(Plan::Present(self.target(path)?)),
            Filter::Compare { path, op, value } => {
                let mut target = self.target(path)?;
                if target.leaf.ty == AttrType::Complex {
                    let value_sub = target.leaf.sub_attribute("value");
                    match (target.leaf.multi_valued && target.sub.is_none(), value_sub) {
                        (true, Some(v)) => {
                            target.sub = Some(v.name);
                            target.leaf = v;
                        }
                        _ => {
                            return Err(ScimError::invalid_filter(format!(
                                "\"{path}\" is a complex attribute: compare one of its sub-attributes \
                                 (such as \"{path}.{}\") or use pr",
                                target.leaf.sub_attributes.first().map_or("value", |a| a.name)
                            )))
                        }
                    }
                }
                let text = path.to_string();
                match (op, operand(target.leaf, *op, value, &text)?) {
                    (CompareOp::Eq, None) => Ok(Plan::Not(Box::new(Plan::Present(target)))),
                    (_, None) => Ok(Plan::Present(target)),
                    (CompareOp::Ne, Some(o)) => {
                        Ok(Plan::Not(Box::new(Plan::Compare(target, CompareOp::Eq, o))))
                    }
                    (op, Some(o)) => Ok(Plan::Compare(target, *op, o)),
                }
            }
            Filter::ValuePath { path, filter } => {
                if let Some((parent, _)) = self.parent {
                    return Err(ScimError::invalid_filter(format!(
                        "a value filter inside {parent}[...] cannot contain another value path ({path}[...])"
                    )));
                }
                let target = self.value_path_target(path)?;
                let inner = Resolver { parent: Some((path, target.leaf)), ..*self }.plan(filter)?;
                Ok(Plan::ValuePath(target, Box::new(inner)))
            }
            Filter::Not(inner) => Ok(Plan::Not(Box::new(self.plan(inner)?))),
            // Handled by `chain_operands` above.
            Filter::And(..) | Filter::Or(..) => Ok(Plan::And(Vec::new())),
        }
    }

    /// The target of `attr[...]`: a complex attribute without sub-attribute.
    fn value_path_target(&self, path: &AttrPath) -> ScimResult<Target> {
        let target = self.target(path)?;
        if target.leaf.ty != AttrType::Complex || target.sub.is_some() {
            return Err(ScimError::invalid_filter(format!(
                "\"{path}\" is not a complex attribute, so it cannot have a value filter \"[...]\""
            )));
        }
        Ok(target)
    }

    fn target(&self, path: &AttrPath) -> ScimResult<Target> {
        let target = match self.parent {
            Some((parent, attr)) => {
                let sub = match (&path.urn, &path.sub) {
                    (None, None) => attr.sub_attribute(&path.name),
                    _ => None,
                };
                let sub = sub.ok_or_else(|| unknown(self.kind, &format!("{parent}.{path}")))?;
                Target { scope: Scope::Element, name: sub.name, sub: None, leaf: sub }
            }
            None => self.top_target(path)?,
        };
        if target.leaf.returned == Returned::Never {
            return Err(ScimError::invalid_filter(format!("\"{path}\" cannot be used in a filter")));
        }
        Ok(target)
    }

    fn top_target(&self, path: &AttrPath) -> ScimResult<Target> {
        let (registry, kind) = (self.registry, self.kind);
        let (scope, attr) = match &path.urn {
            None if path.sub.is_none() && path.name.eq_ignore_ascii_case("schemas") => {
                (Scope::Schemas, Some(&SCHEMAS))
            }
            Some(urn) if urn.eq_ignore_ascii_case(kind.core_schema()) => {
                (Scope::Top, registry.top_level(kind, &path.name))
            }
            Some(urn) => {
                let ext = registry.extension_urn(kind, urn).ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "unknown schema \"{urn}\" for resource type {} in \"{path}\"",
                        kind.name()
                    ))
                })?;
                (Scope::Ext(ext), registry.schema(ext).and_then(|s| s.attribute(&path.name)))
            }
            None => match registry.top_level(kind, &path.name) {
                Some(a) => (Scope::Top, Some(a)),
                None => {
                    let found: Vec<(&'static str, &'static Attribute)> = registry
                        .extensions(kind)
                        .iter()
                        .filter_map(|urn| Some((*urn, registry.schema(urn)?.attribute(&path.name)?)))
                        .collect();
                    match found.as_slice() {
                        [(urn, a)] => (Scope::Ext(urn), Some(*a)),
                        [] => (Scope::Top, None),
                        _ => {
                            return Err(ScimError::invalid_filter(format!(
                                "\"{path}\" is ambiguous: several extensions of {} define it; qualify it with the schema URN",
                                kind.name()
                            )))
                        }
                    }
                }
            },
        };
        let attr = attr.ok_or_else(|| unknown(kind, path))?;
        if attr.returned == Returned::Never {
            return Err(ScimError::invalid_filter(format!("\"{path}\" cannot be used in a filter")));
        }
        match &path.sub {
            None => Ok(Target { scope, name: attr.name, sub: None, leaf: attr }),
            Some(sub) => {
                let sub = attr.sub_attribute(sub).ok_or_else(|| unknown(kind, path))?;
                Ok(Target { scope, name: attr.name, sub: Some(sub.name), leaf: sub })
            }
        }
    }
}
