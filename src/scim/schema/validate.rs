//! Input normalisation of POST/PUT bodies: keys, extensions, `schemas` and required attributes.

use serde_json::{Map, Value};
use std::collections::HashSet;

use super::values::{claim, is_missing, is_unassigned, json_kind, normalize_attr, Notes};
use super::{strip_urn_prefix, Attribute, Registry, ResourceKind};
use crate::error::{ScimError, ScimResult};

/// A validated POST/PUT body.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// The resource with canonical attribute names, without `schemas`, readOnly values or password.
    pub resource: Map<String, Value>,
    /// The cleartext password, if one was sent.
    pub password: Option<String>,
    /// What was ignored or converted, as `tag: detail` strings.
    pub notes: Vec<String>,
}

/// Where a top-level input key belongs.
enum Target {
    /// Core or common attribute.
    Core(&'static Attribute),
    /// A whole extension object.
    Extension(&'static str),
    /// One attribute of an extension, written URN-qualified at the top level.
    ExtensionAttr(&'static str, &'static Attribute),
}

/// Validates a POST/PUT body against the schemas of `kind` and returns it in canonical form.
pub fn normalize(registry: &Registry, kind: ResourceKind, input: &Value) -> ScimResult<Normalized> {
    let Value::Object(body) = input else {
        return Err(ScimError::invalid_syntax(format!(
            "the request body must be a JSON object representing a {}, got {}",
            kind.name(),
            json_kind(input)
        )));
    };
    let mut notes = Notes::default();
    let mut slots: Vec<Slot> = Vec::new();
    let mut exts: Extensions = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut password = None;
    let mut saw_schemas = false;

    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            check_schemas(registry, kind, value, &mut notes)?;
            saw_schemas = true;
            continue;
        }
        let Some(target) = resolve_key(registry, kind, key) else {
            notes.push(format!("unknown_attribute: {key}"));
            continue;
        };
        match target {
            Target::Core(attr) => {
                claim(&mut seen, attr.name.to_string(), key)?;
                if let Some(v) = normalize_attr(attr, attr.name, value, &mut notes)? {
                    match (attr.name, v) {
                        ("password", Value::String(p)) => password = Some(p),
                        (_, v) => slots.push(Slot::Attr(attr.name.to_string(), v)),
                    }
                }
            }
            Target::Extension(urn) => {
                claim(&mut seen, urn.to_string(), key)?;
                let schema = registry.schema(urn).ok_or_else(|| missing_schema(urn))?;
                let obj = match value {
                    v if is_unassigned(v) => continue,
                    Value::Object(o) => o,
                    other => {
                        return Err(ScimError::invalid_value(format!(
                            "{urn}: expected an object holding the extension's attributes, got {}",
                            json_kind(other)
                        )))
                    }
                };
                for (sub_key, sub_value) in obj {
                    let Some(attr) = schema.attribute(sub_key) else {
                        notes.push(format!("unknown_attribute: {urn}:{sub_key}"));
                        continue;
                    };
                    let path = format!("{urn}:{}", attr.name);
                    claim(&mut seen, path.clone(), sub_key)?;
                    super::tenant::precheck(registry, urn, attr, sub_value)?;
                    if let Some(v) = normalize_attr(attr, &path, sub_value, &mut notes)? {
                        ext_map(&mut slots, &mut exts, urn).insert(attr.name.to_string(), v);
                    }
                }
            }
            Target::ExtensionAttr(urn, attr) => {
                let path = format!("{urn}:{}", attr.name);
                claim(&mut seen, path.clone(), key)?;
                super::tenant::precheck(registry, urn, attr, value)?;
                if let Some(v) = normalize_attr(attr, &path, value, &mut notes)? {
                    ext_map(&mut slots, &mut exts, urn).insert(attr.name.to_string(), v);
                }
            }
        }
    }
    if !saw_schemas {
        notes.push("missing_schemas".to_string());
    }

    let mut resource = Map::new();
    for slot in slots {
        let (key, value) = match slot {
            Slot::Attr(k, v) => (k, v),
            Slot::Ext(urn) => {
                let pos = exts.iter().position(|(u, _)| *u == urn);
                let map = pos.map(|i| std::mem::take(&mut exts[i].1)).unwrap_or_default();
                (urn.to_string(), Value::Object(map))
            }
        };
        if !is_unassigned(&value) {
            resource.insert(key, value);
        }
    }
    super::tenant::apply_categories(registry, kind, &mut resource, &mut notes)?;
    check_required(registry, kind, &resource)?;
    Ok(Normalized { resource, password, notes: notes.into_vec() })
}

/// The internal-error for a registered extension whose schema is missing (cannot happen via the API).
fn missing_schema(urn: &str) -> ScimError {
    ScimError::internal(anyhow::anyhow!("extension {urn} is registered without a schema"))
}

/// One top-level output slot, in input order; extension objects are filled separately.
enum Slot {
    /// A core or common attribute with its normalised value.
    Attr(String, Value),
    /// The position of an extension object (its content lives in [`Extensions`]).
    Ext(&'static str),
}

/// The extension objects being built, by canonical URN.
type Extensions = Vec<(&'static str, Map<String, Value>)>;

/// The object for extension `urn`, creating it (and its slot) on first use.
fn ext_map<'e>(
    slots: &mut Vec<Slot>,
    exts: &'e mut Extensions,
    urn: &'static str,
) -> &'e mut Map<String, Value> {
    let idx = match exts.iter().position(|(u, _)| *u == urn) {
        Some(i) => i,
        None => {
            slots.push(Slot::Ext(urn));
            exts.push((urn, Map::new()));
            exts.len() - 1
        }
    };
    &mut exts[idx].1
}

/// Decides what a top-level input key refers to, or `None` if it is unknown.
fn resolve_key(registry: &Registry, kind: ResourceKind, key: &str) -> Option<Target> {
    if let Some(urn) = registry.extension_urn(kind, key) {
        return Some(Target::Extension(urn));
    }
    if let Some(name) = strip_urn_prefix(key, kind.core_schema()) {
        return registry.top_level(kind, name).map(Target::Core);
    }
    for urn in registry.extensions(kind) {
        if let Some(name) = strip_urn_prefix(key, urn) {
            let attr = registry.schema(urn)?.attribute(name)?;
            return Some(Target::ExtensionAttr(urn, attr));
        }
    }
    registry.top_level(kind, key).map(Target::Core)
}

/// Validates `schemas`: an array of strings; URNs that don't apply to `kind` are noted.
fn check_schemas(
    registry: &Registry,
    kind: ResourceKind,
    value: &Value,
    notes: &mut Notes,
) -> ScimResult<()> {
    let invalid = || ScimError::invalid_syntax("schemas must be an array of schema URN strings");
    let Value::Array(items) = value else {
        return Err(invalid());
    };
    for item in items {
        let urn = item.as_str().ok_or_else(invalid)?;
        let known =
            urn.eq_ignore_ascii_case(kind.core_schema()) || registry.extension_urn(kind, urn).is_some();
        if !known {
            notes.push(format!("unknown_schema: {urn}"));
        }
    }
    Ok(())
}

/// Required top-level attributes of the core schema and of each extension present.
fn check_required(registry: &Registry, kind: ResourceKind, resource: &Map<String, Value>) -> ScimResult<()> {
    let core = registry.schema(kind.core_schema()).ok_or_else(|| missing_schema(kind.core_schema()))?;
    for attr in core.attributes.iter().filter(|a| a.required) {
        if is_missing(resource.get(attr.name)) {
            return Err(ScimError::invalid_value(format!("{} is required and must not be empty", attr.name)));
        }
    }
    for urn in registry.extensions(kind) {
        let (Some(schema), Some(Value::Object(ext))) = (registry.schema(urn), resource.get(*urn)) else {
            continue;
        };
        for attr in schema.attributes.iter().filter(|a| a.required) {
            if is_missing(ext.get(attr.name)) {
                return Err(ScimError::invalid_value(format!(
                    "{urn}:{} is required and must not be empty",
                    attr.name
                )));
            }
        }
    }
    Ok(())
}
