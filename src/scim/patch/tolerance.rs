//! The named tolerance rules and the value coercions behind them (DESIGN.md §4.3).
//!
//! Every deviation from RFC 7644 that Roster accepts in [`Mode::Tolerant`] has a [`Rule`]; the
//! rule's [`Rule::name`] is what the provisioning log shows. In [`Mode::Strict`] the same input
//! is rejected with [`Rule::strict_error`].

use serde_json::{Map, Value};

use super::{fire, Mode};
use crate::error::{ScimError, ScimResult, ScimType};
use crate::scim::schema::{AttrType, Attribute};

/// A named tolerance rule: an IdP dialect the engine accepted (or an event worth logging).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// `"op": "Replace"` / `"ADD"`: op names in any case (Entra default dialect).
    CaseInsensitiveOp,
    /// `"operations"`, `"Op"`, `"Path"`, `"Value"`: message keys in another case.
    CaseInsensitiveKey,
    /// The PatchOp message has no `schemas`.
    MissingSchemas,
    /// `"False"` / `"true"` strings for boolean attributes (Entra default dialect).
    StringBoolean,
    /// Path-less value with keys such as `name.givenName` or `emails[type eq "work"].value`
    /// (Entra `aadOptscim062020`): each key is applied as the path it spells.
    DottedKeysInPathlessValue,
    /// Path-less value with URN-qualified attribute keys such as `urn:...:User:employeeNumber`.
    UrnKeysInPathlessValue,
    /// `id` (equal to the current id), `meta`, `schemas` or `groups` inside a path-less value
    /// (Okta group rename).
    ReadOnlyKeyIgnored,
    /// An unknown attribute inside a path-less value, ignored as POST/PUT ignore it.
    UnknownAttributeIgnored,
    /// `remove` of `members` with a `value` array: remove those members (Entra default dialect).
    RemoveMembersWithValueArray,
    /// `remove` of another attribute with a `value`: remove the listed values (or the attribute).
    RemoveWithValue,
    /// A filtered `remove` that matched nothing: nothing to do.
    RemoveNoMatchIgnored,
    /// `add` on `emails[type eq "work"].value` with no such element: the element is created.
    AddCreatesFilteredElement,
    /// Enterprise `manager` given as a bare id string.
    ManagerAsString,
    /// Enterprise `manager` given as a one-element array.
    ManagerAsArray,
    /// `roles` values carrying a JSON document inside a string (Entra app roles).
    RolesJsonString,
    /// `"$ref": null` inside a value, dropped (Entra member lists).
    NullRefIgnored,
    /// A path-less `replace` that sets `active` (Okta OIN deactivation). Logged in both modes:
    /// it is RFC-conformant, the rule only makes deactivations visible.
    PathlessActiveReplace,
}

impl Rule {
    /// The stable snake_case name written to the provisioning log.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::CaseInsensitiveOp => "case_insensitive_op",
            Rule::CaseInsensitiveKey => "case_insensitive_key",
            Rule::MissingSchemas => "missing_schemas",
            Rule::StringBoolean => "string_boolean",
            Rule::DottedKeysInPathlessValue => "dotted_keys_in_pathless_value",
            Rule::UrnKeysInPathlessValue => "urn_keys_in_pathless_value",
            Rule::ReadOnlyKeyIgnored => "read_only_key_ignored",
            Rule::UnknownAttributeIgnored => "unknown_attribute_ignored",
            Rule::RemoveMembersWithValueArray => "remove_members_with_value_array",
            Rule::RemoveWithValue => "remove_with_value",
            Rule::RemoveNoMatchIgnored => "remove_no_match_ignored",
            Rule::AddCreatesFilteredElement => "add_creates_filtered_element",
            Rule::ManagerAsString => "manager_as_string",
            Rule::ManagerAsArray => "manager_as_array",
            Rule::RolesJsonString => "roles_json_string",
            Rule::NullRefIgnored => "null_ref_ignored",
            Rule::PathlessActiveReplace => "pathless_active_replace",
        }
    }

    /// The scimType strict mode answers with; `None` for rules that strict mode does not reject
    /// (the input is RFC-conformant: [`Rule::RolesJsonString`] keeps the string verbatim,
    /// [`Rule::NullRefIgnored`] drops the null silently, [`Rule::PathlessActiveReplace`] logs).
    pub fn strict_error(&self) -> Option<ScimType> {
        Some(match self {
            Rule::CaseInsensitiveOp
            | Rule::CaseInsensitiveKey
            | Rule::MissingSchemas
            | Rule::RemoveMembersWithValueArray
            | Rule::RemoveWithValue => ScimType::InvalidSyntax,
            Rule::StringBoolean | Rule::ManagerAsString | Rule::ManagerAsArray => ScimType::InvalidValue,
            Rule::DottedKeysInPathlessValue
            | Rule::UrnKeysInPathlessValue
            | Rule::UnknownAttributeIgnored => ScimType::InvalidPath,
            Rule::ReadOnlyKeyIgnored => ScimType::Mutability,
            Rule::RemoveNoMatchIgnored | Rule::AddCreatesFilteredElement => ScimType::NoTarget,
            Rule::RolesJsonString | Rule::NullRefIgnored | Rule::PathlessActiveReplace => return None,
        })
    }
}

/// The mode plus the rules fired so far.
#[derive(Debug)]
pub(super) struct Tolerance {
    /// Tolerant or strict.
    pub mode: Mode,
    /// Rules fired, each once, in first-fired order.
    pub fired: Vec<Rule>,
}

impl Tolerance {
    /// A fresh context for `mode`.
    pub fn new(mode: Mode) -> Self {
        Tolerance { mode, fired: Vec::new() }
    }

    /// Tolerant: records `rule` and allows the input. Strict: the rule's error with `detail`.
    pub fn allow(&mut self, rule: Rule, detail: impl FnOnce() -> String) -> ScimResult<()> {
        match (self.mode, rule.strict_error()) {
            (Mode::Strict, Some(t)) => Err(error_of(t, format!("{} (strict mode)", detail()))),
            (Mode::Strict, None) => Ok(()),
            (Mode::Tolerant, _) => {
                fire(&mut self.fired, rule);
                Ok(())
            }
        }
    }

    /// Records `rule` whatever the mode (observations such as [`Rule::PathlessActiveReplace`]).
    pub fn record(&mut self, rule: Rule) {
        fire(&mut self.fired, rule);
    }

    /// Whether the mode is tolerant.
    pub fn tolerant(&self) -> bool {
        self.mode == Mode::Tolerant
    }
}

/// A 400 error with the given scimType.
pub(super) fn error_of(t: ScimType, detail: String) -> ScimError {
    match t {
        ScimType::InvalidSyntax => ScimError::invalid_syntax(detail),
        ScimType::InvalidPath => ScimError::invalid_path(detail),
        ScimType::NoTarget => ScimError::no_target(detail),
        ScimType::Mutability => ScimError::mutability(detail),
        _ => ScimError::invalid_value(detail),
    }
}

/// What a value is being coerced for: the attribute and whether it is the special
/// enterprise `manager` or core `roles` attribute.
#[derive(Debug, Clone, Copy)]
pub(super) struct Site<'a> {
    /// The attribute (or sub-attribute) definition.
    pub attr: &'a Attribute,
    /// Path for messages.
    pub path: &'a str,
    /// Enterprise `manager` (the whole attribute, not a sub-attribute).
    pub manager: bool,
    /// Core User `roles` (the whole attribute).
    pub roles: bool,
}

/// Applies the value-level rules to a whole attribute value (all elements of a multi-valued one).
pub(super) fn coerce(tol: &mut Tolerance, site: Site<'_>, value: Value) -> ScimResult<Value> {
    let attr = site.attr;
    if site.manager {
        return coerce_manager(tol, site, value);
    }
    match value {
        Value::Array(items) if attr.multi_valued => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(coerce_element(tol, site, item)?);
            }
            Ok(Value::Array(out))
        }
        other => coerce_element(tol, site, other),
    }
}

/// Applies the value-level rules to one value (one element of a multi-valued attribute).
pub(super) fn coerce_element(tol: &mut Tolerance, site: Site<'_>, value: Value) -> ScimResult<Value> {
    let attr = site.attr;
    match (attr.ty, value) {
        (AttrType::Boolean, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            b @ ("true" | "false") => {
                tol.allow(Rule::StringBoolean, || format!("{}: expected a boolean, got \"{s}\"", site.path))?;
                Ok(Value::Bool(b == "true"))
            }
            _ => Ok(Value::String(s)),
        },
        (AttrType::Complex, Value::Object(obj)) => {
            let obj = if site.roles { role_from_json_string(tol, obj)? } else { obj };
            let mut out = Map::new();
            for (key, v) in obj {
                let Some(sub) = attr.sub_attribute(&key) else {
                    out.insert(key, v); // unknown: normalize drops it with a note
                    continue;
                };
                if v.is_null() && sub.name == "$ref" {
                    if tol.tolerant() {
                        tol.record(Rule::NullRefIgnored);
                    }
                    continue;
                }
                let path = format!("{}.{}", site.path, sub.name);
                let sub_site = Site { attr: sub, path: &path, manager: false, roles: false };
                out.insert(sub.name.to_string(), coerce(tol, sub_site, v)?);
            }
            Ok(Value::Object(out))
        }
        (_, v) => Ok(v),
    }
}

/// `manager` as `"id"`, `{"value": "id"}` or `[{"value": "id", "$ref": ...}]` → `{"value": "id", ...}`.
fn coerce_manager(tol: &mut Tolerance, site: Site<'_>, value: Value) -> ScimResult<Value> {
    let plain = Site { manager: false, ..site };
    match value {
        Value::String(id) => {
            tol.allow(Rule::ManagerAsString, || {
                format!("{}: expected an object {{\"value\": id}}", site.path)
            })?;
            let mut obj = Map::new();
            obj.insert("value".to_string(), Value::String(id));
            Ok(Value::Object(obj))
        }
        Value::Array(mut items) if items.len() <= 1 => {
            tol.allow(Rule::ManagerAsArray, || format!("{}: expected an object, got an array", site.path))?;
            match items.pop() {
                Some(item @ Value::Object(_)) => coerce_element(tol, plain, item),
                Some(Value::String(id)) => coerce_manager(tol, site, Value::String(id)),
                Some(other) => Ok(other),
                None => Ok(Value::Null),
            }
        }
        other => coerce_element(tol, plain, other),
    }
}

/// An Entra app-role element `{"value": "{\"id\":..,\"value\":\"Admin\",\"displayName\":..}"}`
/// → `{"value": "Admin", "display": ..}`, keeping `type` and `primary` of the outer element.
/// Strict mode keeps the string verbatim: it is a valid `roles.value`.
fn role_from_json_string(tol: &mut Tolerance, obj: Map<String, Value>) -> ScimResult<Map<String, Value>> {
    let inner = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("value"))
        .and_then(|(_, v)| v.as_str())
        .filter(|s| s.trim_start().starts_with('{'))
        .and_then(|s| serde_json::from_str::<Map<String, Value>>(s).ok());
    let Some(inner) = inner.filter(|i| i.get("value").is_some_and(Value::is_string)) else {
        return Ok(obj);
    };
    if !tol.tolerant() {
        return Ok(obj);
    }
    tol.record(Rule::RolesJsonString);
    let mut out = Map::new();
    let pick = |m: &Map<String, Value>, key: &str| {
        m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.clone())
    };
    if let Some(v) = pick(&inner, "value") {
        out.insert("value".to_string(), v);
    }
    if let Some(d) = pick(&inner, "displayName").or_else(|| pick(&inner, "display")) {
        out.insert("display".to_string(), d);
    }
    if let Some(t) = pick(&obj, "type").or_else(|| pick(&inner, "type")) {
        out.insert("type".to_string(), t);
    }
    if let Some(p) = pick(&obj, "primary") {
        out.insert("primary".to_string(), p);
    }
    Ok(out)
}
