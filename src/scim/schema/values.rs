//! Normalisation of single attribute values: type checks, sub-attributes, canonical values.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde_json::{Map, Value};
use std::collections::HashSet;

use super::{AttrType, Attribute, Mutability};
use crate::error::{ScimError, ScimResult};

/// Standard-alphabet base64 that accepts input with or without padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Collects notes without repeating one (multi-valued elements would otherwise repeat them).
#[derive(Default)]
pub(super) struct Notes(Vec<String>);

impl Notes {
    /// The notes collected, in order.
    pub(super) fn into_vec(self) -> Vec<String> {
        self.0
    }

    /// Adds a note unless it is already there.
    pub(super) fn push(&mut self, note: String) {
        if !self.0.contains(&note) {
            self.0.push(note);
        }
    }
}

/// Records that `canonical` has a value; a second input key folding to it is an error.
pub(super) fn claim(seen: &mut HashSet<String>, canonical: String, key: &str) -> ScimResult<()> {
    let folded = canonical.to_ascii_lowercase();
    if seen.insert(folded) {
        Ok(())
    } else {
        Err(ScimError::invalid_syntax(format!(
            "attribute {canonical} is given more than once (key '{key}' differs only in case)"
        )))
    }
}

/// Null, empty arrays and empty objects mean "unassigned".
pub(super) fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Normalises one attribute value; `Ok(None)` means it is dropped (unassigned or readOnly).
pub(super) fn normalize_attr(
    attr: &Attribute,
    path: &str,
    value: &Value,
    notes: &mut Notes,
) -> ScimResult<Option<Value>> {
    if is_unassigned(value) {
        return Ok(None);
    }
    if attr.mutability == Mutability::ReadOnly {
        notes.push(format!("read_only: {path}"));
        return Ok(None);
    }
    if !attr.multi_valued {
        return normalize_single(attr, path, value, notes);
    }
    let Value::Array(items) = value else {
        return Err(ScimError::invalid_value(format!(
            "{path}: expected an array (multi-valued attribute), got {}",
            json_kind(value)
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if attr.ty == AttrType::Complex && !(item.is_object() || item.is_null()) {
            return Err(ScimError::invalid_value(format!(
                "{path}: expected each element to be an object, got {}",
                json_kind(item)
            )));
        }
        if let Some(v) = normalize_single(attr, path, item, notes)? {
            out.push(v);
        }
    }
    let primaries = out.iter().filter(|v| v.get("primary") == Some(&Value::Bool(true))).count();
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!(
            "{path}: at most one element may have \"primary\": true, got {primaries}"
        )));
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// Normalises one single value (or one element of a multi-valued attribute).
fn normalize_single(
    attr: &Attribute,
    path: &str,
    value: &Value,
    notes: &mut Notes,
) -> ScimResult<Option<Value>> {
    let wrong = |expected: &str| {
        ScimError::invalid_value(format!("{path}: expected {expected}, got {}", json_kind(value)))
    };
    let out = match (attr.ty, value) {
        (_, Value::Null) => return Ok(None),
        (AttrType::String | AttrType::Reference, Value::String(s)) => {
            check_text(attr, path, s)?;
            Value::String(canonical_value(attr, path, s)?)
        }
        (AttrType::String | AttrType::Reference, _) => return Err(wrong("a string")),
        (AttrType::Binary, Value::String(s)) => {
            check_text(attr, path, s)?;
            if BASE64.decode(s.trim()).is_err() {
                return Err(ScimError::invalid_value(format!("{path}: expected base64-encoded binary data")));
            }
            value.clone()
        }
        (AttrType::Binary, _) => return Err(wrong("a base64 string")),
        (AttrType::Boolean, Value::Bool(_)) => value.clone(),
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            notes.push(format!("string_boolean: {path}"));
            Value::Bool(true)
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            notes.push(format!("string_boolean: {path}"));
            Value::Bool(false)
        }
        (AttrType::Boolean, _) => return Err(wrong("a boolean (true or false)")),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => value.clone(),
        (AttrType::Integer, _) => return Err(wrong("an integer")),
        (AttrType::Decimal, Value::Number(_)) => value.clone(),
        (AttrType::Decimal, _) => return Err(wrong("a number")),
        (AttrType::DateTime, Value::String(s)) if is_date_time(s) => value.clone(),
        (AttrType::DateTime, _) => return Err(wrong("an xsd:dateTime string such as 2015-09-21T12:00:00Z")),
        (AttrType::Complex, Value::Object(obj)) => {
            return normalize_complex(attr, path, obj, notes).map(|m| m.map(Value::Object))
        }
        (AttrType::Complex, _) => return Err(wrong("an object")),
    };
    Ok(Some(out))
}

/// Checks a closed canonical value and returns its canonical spelling; other strings pass as-is.
fn canonical_value(attr: &Attribute, path: &str, s: &str) -> ScimResult<String> {
    if !attr.canonical_closed {
        return Ok(s.to_string());
    }
    match attr.canonical_values.iter().find(|c| c.eq_ignore_ascii_case(s)) {
        Some(c) => Ok((*c).to_string()),
        None => Err(ScimError::invalid_value(format!(
            "{path}: '{}' is not one of {}",
            crate::text::excerpt(s),
            attr.canonical_values.join(", ")
        ))),
    }
}

/// Checks that a string value of `attr` can be stored: no NUL (PostgreSQL text cannot hold
/// it) and within the attribute's [`TextLimit`](super::TextLimit). The error names the
/// attribute and the limit, never the value.
pub fn check_text(attr: &Attribute, path: &str, s: &str) -> ScimResult<()> {
    if let Some(at) = crate::text::first_unstorable(s) {
        return Err(ScimError::invalid_value(format!(
            "{path}: the value contains the character U+0000 (NUL) at position {at}, which cannot be \
             stored; remove it"
        )));
    }
    let limit = attr.limit;
    let chars = s.chars().count();
    if chars > limit.chars {
        return Err(ScimError::invalid_value(format!(
            "{path}: the value is {chars} characters long; at most {} are accepted",
            limit.chars
        )));
    }
    if let Some(max) = limit.bytes {
        let bytes = s.len().max(crate::scim::resource::fold_key(s).len());
        if bytes > max {
            return Err(ScimError::invalid_value(format!(
                "{path}: the value is {bytes} bytes of UTF-8 long; at most {max} bytes are accepted \
                 (at most {} characters)",
                limit.chars
            )));
        }
    }
    Ok(())
}

/// Whether `s` is an RFC 3339 / xsd:dateTime value (the time zone may be omitted).
fn is_date_time(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

/// Normalises the sub-attributes of one complex value; `None` when nothing is left.
fn normalize_complex(
    attr: &Attribute,
    path: &str,
    obj: &Map<String, Value>,
    notes: &mut Notes,
) -> ScimResult<Option<Map<String, Value>>> {
    let mut out = Map::new();
    let mut seen = HashSet::new();
    let mut had_content = false;
    for (key, value) in obj {
        let Some(sub) = attr.sub_attribute(key) else {
            notes.push(format!("unknown_attribute: {path}.{key}"));
            had_content |= !value.is_null();
            continue;
        };
        let sub_path = format!("{path}.{}", sub.name);
        claim(&mut seen, sub_path.clone(), key)?;
        had_content |= !is_unassigned(value);
        if let Some(v) = normalize_attr(sub, &sub_path, value, notes)? {
            if !is_unassigned(&v) {
                out.insert(sub.name.to_string(), v);
            }
        }
    }
    if !had_content {
        return Ok(None);
    }
    for sub in attr.sub_attributes.iter().filter(|s| s.required) {
        if is_missing(out.get(sub.name)) {
            return Err(ScimError::invalid_value(format!(
                "{path}.{} is required in every {path} value",
                sub.name
            )));
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Absent, null or an empty string.
pub(super) fn is_missing(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(other) => is_unassigned(other),
    }
}

/// A short name of a JSON value's type, for error details.
pub(super) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
