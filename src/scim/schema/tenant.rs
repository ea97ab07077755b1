//! The per-tenant layer of the registry: a tenant's categories (DESIGN §2) as attributes of
//! Roster's User extension ([`ROSTER_USER_SCHEMA`]), their value rules, and their mapping from
//! another attribute of the member.
//!
//! A tenant's effective registry is the static one plus one attribute per category, built by
//! [`Registry::with_categories`] from the category rows loaded for the request. Every category
//! attribute is singular, readWrite, returned by default and not caseExact:
//!
//! | kind | SCIM type | values |
//! |---|---|---|
//! | `text` | string | any string |
//! | `dropdown` | string, `canonicalValues` = the allowed values | one allowed value, matched caselessly, stored in its canonical spelling |
//! | `number` | decimal | a JSON number |
//! | `date` | string | a calendar date `YYYY-MM-DD` (no time, no zone, so no day shifts between zones; ISO order is text order, so `gt`/`lt` and sorting work as text) |
//! | `boolean` | boolean | `true` / `false` (tolerant mode also takes `"True"` / `"false"`) |
//!
//! A category with a `source` mirrors that attribute: on every write its value is taken from the
//! source (converted to the category's kind and checked like a direct value), a value sent for
//! it directly is ignored (noted `mapped: <path>`), and it is cleared when the source is absent.
//! A mapped value that the category does not accept (a department that is not an allowed
//! dropdown value) rejects the write with 400 `invalidValue` naming the mapping, so the IT admin
//! sees it in the provisioning log and can add the value.
//!
//! The schema model is `'static` data (the protocol core shares attribute definitions by
//! reference). A tenant's category attributes are therefore built once per distinct category
//! set and kept for the life of the process (interned, see [`overlay`]): memory grows with the
//! number of distinct category configurations seen, a few hundred bytes per admin change, not
//! with requests.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::values::Notes;
use super::{AttrType, Attribute, Registry, ResourceKind, Returned, Schema, ROSTER_USER_SCHEMA};
use crate::error::{ScimError, ScimResult};
use crate::scim::filter::{eval, parse_path, AttrPath, PatchPath};

/// What values a category holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CategoryKind {
    /// Free text.
    Text,
    /// One of the category's allowed values.
    Dropdown,
    /// A number.
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// True or false.
    Boolean,
}

impl CategoryKind {
    /// Every kind, in documentation order.
    pub const ALL: [CategoryKind; 5] = [
        CategoryKind::Text,
        CategoryKind::Dropdown,
        CategoryKind::Number,
        CategoryKind::Date,
        CategoryKind::Boolean,
    ];

    /// The stored and API spelling (`text`, `dropdown`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Text => "text",
            CategoryKind::Dropdown => "dropdown",
            CategoryKind::Number => "number",
            CategoryKind::Date => "date",
            CategoryKind::Boolean => "boolean",
        }
    }

    /// The kind with this spelling, case-insensitively.
    pub fn parse(s: &str) -> Option<CategoryKind> {
        CategoryKind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    /// The SCIM type of the category's attribute.
    pub fn attr_type(self) -> AttrType {
        match self {
            CategoryKind::Text | CategoryKind::Dropdown | CategoryKind::Date => AttrType::String,
            CategoryKind::Number => AttrType::Decimal,
            CategoryKind::Boolean => AttrType::Boolean,
        }
    }
}

/// One category of a tenant, as the protocol core needs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Category {
    /// The attribute name (RFC 7643 ATTRNAME), canonical spelling.
    pub name: String,
    /// Human-readable name (the attribute's description).
    pub display_name: String,
    /// What values it holds.
    pub kind: CategoryKind,
    /// Dropdown values, in order (empty for other kinds).
    pub allowed_values: Vec<String>,
    /// The SCIM attribute path the value is copied from on every write, if mapped.
    pub source: Option<String>,
}

impl Category {
    /// The URN-qualified attribute path, e.g. `urn:…:roster:2.0:User:City`.
    pub fn path(&self) -> String {
        format!("{ROSTER_USER_SCHEMA}:{}", self.name)
    }

    /// The allowed value equal to `s` caselessly (Unicode lower case), in its canonical spelling.
    pub fn allowed(&self, s: &str) -> Option<&str> {
        let key = s.to_lowercase();
        self.allowed_values.iter().find(|v| v.to_lowercase() == key).map(String::as_str)
    }

    /// Checks a value written for this category and returns it as stored (a dropdown value in
    /// its canonical spelling). The error says what the category accepts, never the value sent.
    pub fn check_value(&self, value: &Value) -> ScimResult<Value> {
        let wrong = |expected: &str| {
            ScimError::invalid_value(format!("category {} ({}): expected {expected}", self.name, self.path()))
        };
        match (self.kind, value) {
            (CategoryKind::Text, Value::String(_)) => Ok(value.clone()),
            (CategoryKind::Text, _) => Err(wrong("a string")),
            (CategoryKind::Dropdown, Value::String(s)) => match self.allowed(s) {
                Some(canonical) => Ok(Value::String(canonical.to_string())),
                None => Err(wrong(&format!("one of its allowed values: {}", self.allowed_list()))),
            },
            (CategoryKind::Dropdown, _) => {
                Err(wrong(&format!("a string, one of its allowed values: {}", self.allowed_list())))
            }
            (CategoryKind::Number, Value::Number(_)) => Ok(value.clone()),
            (CategoryKind::Number, _) => Err(wrong("a number")),
            (CategoryKind::Date, Value::String(s)) if is_date(s) => Ok(value.clone()),
            (CategoryKind::Date, _) => Err(wrong("a date written YYYY-MM-DD, such as 2026-11-23")),
            (CategoryKind::Boolean, Value::Bool(_)) => Ok(value.clone()),
            (CategoryKind::Boolean, _) => Err(wrong("a boolean (true or false)")),
        }
    }

    /// The allowed values for an error detail, quoted.
    fn allowed_list(&self) -> String {
        self.allowed_values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
    }

    /// A source attribute's value converted to this category's kind where the conversion is
    /// lossless (a number or a date sent as text, a boolean as `"true"`), then checked.
    fn convert_mapped(&self, value: &Value) -> ScimResult<Value> {
        let converted = match (self.kind, value) {
            (CategoryKind::Text | CategoryKind::Dropdown, Value::Number(n)) => Value::String(n.to_string()),
            (CategoryKind::Text | CategoryKind::Dropdown, Value::Bool(b)) => Value::String(b.to_string()),
            (CategoryKind::Number, Value::String(s)) => {
                match serde_json::from_str::<serde_json::Number>(s.trim()) {
                    Ok(n) => Value::Number(n),
                    Err(_) => value.clone(),
                }
            }
            (CategoryKind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            (CategoryKind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
                Value::Bool(false)
            }
            // A dateTime source (e.g. a hire date) gives its calendar date.
            (CategoryKind::Date, Value::String(s)) if s.len() > 10 && is_date(&s[..10]) => {
                Value::String(s[..10].to_string())
            }
            _ => value.clone(),
        };
        self.check_value(&converted).map_err(|e| {
            ScimError::invalid_value(format!(
                "{} (mapped from {}; change the source value or the category's allowed values)",
                e.detail(),
                self.source.as_deref().unwrap_or("")
            ))
        })
    }

    /// The attribute definition of this category (interned `'static` data).
    fn attribute(&self) -> Attribute {
        let mut description = self.display_name.clone();
        if self.kind == CategoryKind::Date {
            description.push_str(" (a date, YYYY-MM-DD)");
        }
        if let Some(source) = &self.source {
            description.push_str(&format!(". Copied from {source} on every write."));
        }
        let values: Vec<&'static str> = self.allowed_values.iter().map(|v| leak(v)).collect();
        Attribute::new(leak(&self.name), self.kind.attr_type(), leak(&description))
            .with_returned(Returned::Default)
            .with_canonical(Vec::leak(values))
    }
}

/// Whether `s` is a calendar date written `YYYY-MM-DD`.
pub fn is_date(s: &str) -> bool {
    s.len() == 10 && s.as_bytes()[4] == b'-' && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// The interned schemas: one per (static base attributes, category set).
type Interned = HashMap<(usize, Vec<Category>), &'static Schema>;

/// Roster's User extension for `base` (the static definition, when the registry has one) plus
/// the attributes of `categories`. Built once per distinct input and then shared: the schema
/// model is `'static`, and a few categories change rarely, so keeping each version costs little
/// and saves rebuilding it on every request.
pub fn overlay(base: Option<&Schema>, categories: &[Category]) -> &'static Schema {
    static INTERNED: OnceLock<Mutex<Interned>> = OnceLock::new();
    let key = (base.map_or(0, |b| b.attributes.as_ptr() as usize), categories.to_vec());
    let mut interned = INTERNED.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(schema) = interned.get(&key) {
        return schema;
    }
    let mut attributes: Vec<Attribute> = base.map(|b| b.attributes.to_vec()).unwrap_or_default();
    attributes.extend(categories.iter().map(Category::attribute));
    let schema: &'static Schema = Box::leak(Box::new(Schema {
        id: ROSTER_USER_SCHEMA,
        name: base.map_or("RosterUser", |b| b.name),
        description: base
            .map_or("Roster member attributes: the organization's categories", |b| b.description),
        attributes: Vec::leak(attributes),
    }));
    interned.insert(key, schema);
    schema
}

impl Registry {
    /// This registry with a tenant's categories: Roster's User extension gains one attribute per
    /// category (and is added to User's extensions if the static registry lacks it). Categories
    /// are listed in the order given.
    pub fn with_categories(&self, categories: Vec<Category>) -> Registry {
        let mut out = self.clone();
        if categories.is_empty() {
            return out;
        }
        let schema = *overlay(self.schema(ROSTER_USER_SCHEMA), &categories);
        match out.schemas.iter().position(|s| s.id == ROSTER_USER_SCHEMA) {
            Some(i) => out.schemas[i] = schema,
            None => {
                // Next to the other User schemas, so /Schemas keeps User's schemas together.
                let last_user = out
                    .schemas
                    .iter()
                    .rposition(|s| s.id == super::USER_SCHEMA || out.user_extensions.contains(&s.id));
                out.schemas.insert(last_user.map_or(out.schemas.len(), |i| i + 1), schema);
            }
        }
        if !out.user_extensions.contains(&ROSTER_USER_SCHEMA) {
            out.user_extensions.push(ROSTER_USER_SCHEMA);
        }
        out.categories = categories;
        out
    }

    /// The tenant's categories this registry was built with (none for the static registry).
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }
}

/// Checks a source path for a category: a path that names a value of a User (not a complex
/// value, not the password, not Roster's User extension). Returns the problem, if any.
pub fn check_source(registry: &Registry, source: &str) -> Result<(), String> {
    let path = parse_path(source).map_err(|e| format!("source: {}", e.detail()))?;
    let (attr_path, sub) =
        match &path {
            PatchPath::Attr(p) => (p, p.sub.as_deref()),
            PatchPath::Filtered { path, sub: Some(sub), .. } => (path, Some(sub.as_str())),
            PatchPath::Filtered { sub: None, .. } => return Err(
                "source: a value filter must name a sub-attribute, e.g. addresses[type eq \"work\"].locality"
                    .into(),
            ),
        };
    if attr_path.urn.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(ROSTER_USER_SCHEMA)) {
        return Err("source: a category cannot be fed from Roster's own User extension".into());
    }
    let (_, attr) = resolve(registry, attr_path)
        .ok_or_else(|| format!("source: {source} is not an attribute of User"))?;
    let leaf = match sub {
        Some(s) => {
            attr.sub_attribute(s).ok_or_else(|| format!("source: {source} is not an attribute of User"))?
        }
        None => attr,
    };
    if matches!(&path, PatchPath::Filtered { .. }) && !attr.multi_valued {
        return Err(format!("source: {} is not multi-valued; drop the value filter", attr.name));
    }
    if leaf.ty == AttrType::Complex {
        return Err(format!("source: {source} is a complex attribute; name one of its sub-attributes"));
    }
    if leaf.returned == Returned::Never {
        return Err(format!("source: {source} cannot be read"));
    }
    if let PatchPath::Filtered { path, filter, .. } = &path {
        eval::element_matches(registry, ResourceKind::User, path, &Value::Object(Map::new()), filter)
            .map_err(|e| format!("source: {}", e.detail()))?;
    }
    Ok(())
}

/// Resolves a User attribute path (without sub-attribute) to its container key (`None` for top
/// level, else the extension URN) and attribute.
fn resolve(registry: &Registry, path: &AttrPath) -> Option<(Option<&'static str>, &'static Attribute)> {
    let kind = ResourceKind::User;
    match &path.urn {
        Some(u) if u.eq_ignore_ascii_case(kind.core_schema()) => {
            registry.top_level(kind, &path.name).map(|a| (None, a))
        }
        Some(u) => {
            let urn = registry.extension_urn(kind, u)?;
            registry.schema(urn)?.attribute(&path.name).map(|a| (Some(urn), a))
        }
        None => registry.top_level(kind, &path.name).map(|a| (None, a)),
    }
}

/// The value `source` designates in a normalised User resource: for a multi-valued attribute the
/// primary element's (else the first's), for a value filter the first matching element's.
fn source_value(registry: &Registry, resource: &Map<String, Value>, source: &str) -> Option<Value> {
    let path = parse_path(source).ok()?;
    let (attr_path, sub, filter) = match &path {
        PatchPath::Attr(p) => (p, p.sub.as_deref(), None),
        PatchPath::Filtered { path, filter, sub } => (path, sub.as_deref(), Some(filter)),
    };
    let (urn, attr) = resolve(registry, attr_path)?;
    let container = match urn {
        Some(u) => resource.get(u)?.as_object()?,
        None => resource,
    };
    let value = container.get(attr.name)?;
    let element = match (value, filter) {
        (Value::Array(items), Some(f)) => items.iter().find(|el| {
            eval::element_matches(registry, ResourceKind::User, attr_path, el, f).unwrap_or(false)
        })?,
        (Value::Array(items), None) => {
            items.iter().find(|el| el.get("primary") == Some(&Value::Bool(true))).or_else(|| items.first())?
        }
        (v, _) => v,
    };
    let leaf = match sub.and_then(|s| attr.sub_attribute(s)) {
        Some(s) => element.get(s.name)?,
        None => element,
    };
    match leaf {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        v => Some(v.clone()),
    }
}

/// Before the generic type check of an extension attribute: a dropdown category given a
/// non-string gets the category's own error, which lists the allowed values.
pub(super) fn precheck(registry: &Registry, urn: &str, attr: &Attribute, value: &Value) -> ScimResult<()> {
    if urn != ROSTER_USER_SCHEMA || value.is_null() || value.is_string() {
        return Ok(());
    }
    match registry.categories.iter().find(|c| c.name == attr.name) {
        Some(c) if c.kind == CategoryKind::Dropdown => c.check_value(value).map(drop),
        _ => Ok(()),
    }
}

/// Applies the registry's categories to a normalised User: checks and canonicalises the values
/// written directly, and sets mapped categories from their sources. Other resource types and
/// registries without categories are left alone.
pub(super) fn apply_categories(
    registry: &Registry,
    kind: ResourceKind,
    resource: &mut Map<String, Value>,
    notes: &mut Notes,
) -> ScimResult<()> {
    if kind != ResourceKind::User || registry.categories.is_empty() {
        return Ok(());
    }
    let mut mapped = Vec::new();
    for category in &registry.categories {
        if let Some(source) = &category.source {
            let value =
                source_value(registry, resource, source).map(|v| category.convert_mapped(&v)).transpose()?;
            mapped.push((category, value));
        }
    }
    let mut ext = match resource.remove(ROSTER_USER_SCHEMA) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for category in &registry.categories {
        if category.source.is_some() {
            continue;
        }
        if let Some(value) = ext.get_mut(&category.name) {
            *value = category.check_value(value)?;
        }
    }
    for (category, value) in mapped {
        // A value sent for a mapped category is overwritten; the stored one coming back through
        // a PATCH is not worth a note unless it changes.
        if ext.get(&category.name).is_some_and(|sent| Some(sent) != value.as_ref()) {
            notes.push(format!("mapped: {}", category.path()));
        }
        match value {
            Some(v) => ext.insert(category.name.clone(), v),
            None => ext.remove(&category.name),
        };
    }
    if !ext.is_empty() {
        resource.insert(ROSTER_USER_SCHEMA.to_string(), Value::Object(ext));
    }
    Ok(())
}
