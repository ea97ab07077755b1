//! Output projection: `attributes`, `excludedAttributes` and `returned` (RFC 7644 §3.4.2.5).

use serde_json::{Map, Value};
use std::collections::HashMap;

use super::{strip_urn_prefix, AttrType, Attribute, Registry, ResourceKind, Returned};

/// A tree of requested (or excluded) attribute names, keyed by lowercase name.
#[derive(Debug, Default)]
struct Selection {
    /// The whole attribute (with its default sub-attributes) was named.
    whole: bool,
    /// Named sub-attributes (or, at the root, top-level attributes and extension URNs).
    children: HashMap<String, Selection>,
}

impl Selection {
    /// Adds the path `segments` (already lowercase) to the tree.
    fn add(&mut self, segments: &[String]) {
        match segments.split_first() {
            None => self.whole = true,
            Some((first, rest)) => self.children.entry(first.clone()).or_default().add(rest),
        }
    }

    /// The selection for a child, by canonical name.
    fn child(&self, name: &str) -> Option<&Selection> {
        self.children.get(&name.to_ascii_lowercase())
    }
}

/// How one level of attributes is filtered.
#[derive(Clone, Copy)]
enum Mode<'s> {
    /// Neither list applies: `always` and `default` attributes.
    Default,
    /// Only the selected attributes plus `always` ones.
    Include(&'s Selection),
    /// `always` and `default` attributes minus the selected ones.
    Exclude(&'s Selection),
}

/// Builds the selection tree from attribute names; names of other schemas never match anything.
fn parse(registry: &Registry, kind: ResourceKind, names: &[String]) -> Selection {
    let mut root = Selection::default();
    for raw in names {
        let name = raw.trim();
        if name.is_empty() {
            continue;
        }
        if name.eq_ignore_ascii_case(kind.core_schema()) {
            // The bare core URN selects every core attribute.
            for attr in registry.schema(kind.core_schema()).map(|s| s.attributes).unwrap_or_default() {
                root.add(&[attr.name.to_ascii_lowercase()]);
            }
            continue;
        }
        if let Some(urn) = registry.extension_urn(kind, name) {
            root.add(&[urn.to_ascii_lowercase()]);
            continue;
        }
        let mut segments: Vec<String> = Vec::new();
        let mut rest = name;
        if let Some(r) = strip_urn_prefix(name, kind.core_schema()) {
            rest = r;
        } else if let Some((urn, r)) =
            registry.extensions(kind).iter().find_map(|u| strip_urn_prefix(name, u).map(|r| (u, r)))
        {
            segments.push(urn.to_ascii_lowercase());
            rest = r;
        }
        segments.extend(rest.split('.').map(str::to_ascii_lowercase));
        root.add(&segments);
    }
    root
}

/// Applies RFC 7644 §3.4.2.5 to a stored representation (which includes `id`, `schemas`, `meta`).
///
/// `attributes` wins over `excluded`; unknown names are ignored; attributes not in the schemas
/// are never output; key order is kept. The values kept are moved out of `resource`.
pub fn project(
    registry: &Registry,
    kind: ResourceKind,
    resource: Map<String, Value>,
    attributes: &[String],
    excluded: &[String],
) -> Map<String, Value> {
    let included = parse(registry, kind, attributes);
    let excluded_sel = parse(registry, kind, excluded);
    let mode = if !attributes.is_empty() {
        Mode::Include(&included)
    } else if !excluded.is_empty() {
        Mode::Exclude(&excluded_sel)
    } else {
        Mode::Default
    };

    let mut out = Map::with_capacity(resource.len());
    for (key, value) in resource {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert("schemas".to_string(), value);
            continue;
        }
        if let Some(urn) = registry.extension_urn(kind, &key) {
            let (Some(schema), Value::Object(obj)) = (registry.schema(urn), value) else {
                continue;
            };
            let child = selection_child(mode, urn);
            let sub_mode = match (mode, child) {
                (Mode::Default, _) => Mode::Default,
                (Mode::Include(_), None) => continue,
                (Mode::Include(_), Some(c)) if c.whole => Mode::Default,
                (Mode::Include(_), Some(c)) => Mode::Include(c),
                (Mode::Exclude(_), Some(c)) if c.whole => continue,
                (Mode::Exclude(_), Some(c)) => Mode::Exclude(c),
                (Mode::Exclude(_), None) => Mode::Default,
            };
            let projected = project_map(schema.attributes, obj, sub_mode);
            if !projected.is_empty() {
                out.insert(urn.to_string(), Value::Object(projected));
            }
            continue;
        }
        let Some(attr) = registry.top_level(kind, &key) else {
            continue;
        };
        if let Some(v) = project_attr(attr, value, mode) {
            out.insert(attr.name.to_string(), v);
        }
    }
    out
}

/// The selection node for `name` under the current mode's selection.
fn selection_child<'s>(mode: Mode<'s>, name: &str) -> Option<&'s Selection> {
    match mode {
        Mode::Default => None,
        Mode::Include(s) | Mode::Exclude(s) => s.child(name),
    }
}

/// Projects the attributes of one object level (a schema's or a complex value's).
fn project_map(attrs: &'static [Attribute], obj: Map<String, Value>, mode: Mode<'_>) -> Map<String, Value> {
    let mut out = Map::with_capacity(obj.len());
    for (key, value) in obj {
        let Some(attr) = attrs.iter().find(|a| a.name.eq_ignore_ascii_case(&key)) else {
            continue;
        };
        if let Some(v) = project_attr(attr, value, mode) {
            out.insert(attr.name.to_string(), v);
        }
    }
    out
}

/// Decides whether `attr` is output under `mode`, and projects its sub-attributes.
fn project_attr(attr: &Attribute, value: Value, mode: Mode<'_>) -> Option<Value> {
    let child = selection_child(mode, attr.name);
    let sub_mode = match attr.returned {
        Returned::Never => return None,
        Returned::Always => match child {
            Some(c) if !c.whole && matches!(mode, Mode::Include(_)) => Mode::Include(c),
            _ => Mode::Default,
        },
        Returned::Default | Returned::Request => match (mode, child) {
            (Mode::Default, _) if attr.returned == Returned::Request => return None,
            (Mode::Default, _) => Mode::Default,
            (Mode::Include(_), None) => return None,
            (Mode::Include(_), Some(c)) if c.whole => Mode::Default,
            (Mode::Include(_), Some(c)) => Mode::Include(c),
            (Mode::Exclude(_), _) if attr.returned == Returned::Request => return None,
            (Mode::Exclude(_), Some(c)) if c.whole => return None,
            (Mode::Exclude(_), Some(c)) => Mode::Exclude(c),
            (Mode::Exclude(_), None) => Mode::Default,
        },
    };
    if attr.ty != AttrType::Complex {
        return Some(value);
    }
    match value {
        Value::Object(obj) => {
            let m = project_map(attr.sub_attributes, obj, sub_mode);
            (!m.is_empty()).then_some(Value::Object(m))
        }
        Value::Array(items) => {
            let kept: Vec<Value> = items
                .into_iter()
                .filter_map(|item| match item {
                    Value::Object(obj) => {
                        let m = project_map(attr.sub_attributes, obj, sub_mode);
                        (!m.is_empty()).then_some(Value::Object(m))
                    }
                    _ => None,
                })
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => None,
    }
}
