//! Literal checking and value comparison for [`super`].

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Number, Value};

use crate::error::{ScimError, ScimResult};
use crate::scim::filter::{CompValue, CompareOp};
use crate::scim::schema::{AttrType, Attribute};

/// A comparison literal checked against the attribute's type and prepared for comparing.
#[derive(Debug)]
pub(super) enum Operand {
    /// Text; lower-cased already unless `case_exact`.
    Str {
        text: String,
        case_exact: bool,
    },
    Bool(bool),
    Num(Number),
    Time(DateTime<Utc>),
}

fn op_name(op: CompareOp) -> String {
    op.to_string()
}

/// Checks `value` (and `op`) against the leaf attribute. `None` for `null` (only with eq/ne).
pub(super) fn operand(
    leaf: &Attribute,
    op: CompareOp,
    value: &CompValue,
    path: &str,
) -> ScimResult<Option<Operand>> {
    use CompareOp::{Co, Eq, Ew, Ne, Sw};
    let type_name = leaf.ty.as_str();
    let not_for = || {
        ScimError::invalid_filter(format!(
            "operator {} is not defined for {type_name} attribute \"{path}\"",
            op_name(op)
        ))
    };
    let wrong_literal = |want: &str| {
        ScimError::invalid_filter(format!(
            "\"{path}\" is a {type_name} attribute: compare it with {want}, not {value}"
        ))
    };
    let textual = matches!(op, Co | Sw | Ew);
    let operand = match (leaf.ty, value) {
        (_, CompValue::Null) if matches!(op, Eq | Ne) => return Ok(None),
        (_, CompValue::Null) => {
            return Err(ScimError::invalid_filter(format!(
                "operator {} cannot compare \"{path}\" with null (only eq and ne can)",
                op_name(op)
            )))
        }
        (AttrType::Boolean, _) if !matches!(op, Eq | Ne) => return Err(not_for()),
        (AttrType::Boolean, CompValue::Bool(b)) => Operand::Bool(*b),
        (AttrType::Boolean, CompValue::String(s)) if s.eq_ignore_ascii_case("true") => Operand::Bool(true),
        (AttrType::Boolean, CompValue::String(s)) if s.eq_ignore_ascii_case("false") => Operand::Bool(false),
        (AttrType::Boolean, _) => return Err(wrong_literal("true or false")),
        (AttrType::Integer | AttrType::Decimal, _) if textual => return Err(not_for()),
        (AttrType::Integer | AttrType::Decimal, CompValue::Number(n)) => Operand::Num(n.clone()),
        (AttrType::Integer | AttrType::Decimal, _) => return Err(wrong_literal("a number")),
        (AttrType::DateTime, CompValue::String(s)) if textual => {
            Operand::Str { text: s.to_lowercase(), case_exact: false }
        }
        (AttrType::DateTime, CompValue::String(s)) => match parse_time(s) {
            Some(t) => Operand::Time(t),
            None => {
                return Err(ScimError::invalid_filter(format!(
                    "\"{path}\" is a dateTime attribute and {value} is not a dateTime (such as \"2011-05-13T04:42:34Z\")"
                )))
            }
        },
        (AttrType::DateTime, _) => return Err(wrong_literal("a quoted dateTime")),
        (AttrType::String | AttrType::Reference | AttrType::Binary, CompValue::String(s)) => {
            let text = if leaf.case_exact { s.clone() } else { s.to_lowercase() };
            Operand::Str { text, case_exact: leaf.case_exact }
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => {
            return Err(wrong_literal("a quoted string"))
        }
        (AttrType::Complex, _) => return Err(not_for()),
    };
    Ok(Some(operand))
}

/// RFC 3339, or an xsd:dateTime without offset (taken as UTC).
pub(super) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    s.parse::<NaiveDateTime>().ok().map(|t| t.and_utc())
}

fn num_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn ordering_matches(op: CompareOp, ord: Option<Ordering>) -> bool {
    match (op, ord) {
        (_, None) => false,
        (CompareOp::Eq, Some(o)) => o == Ordering::Equal,
        (CompareOp::Ne, Some(o)) => o != Ordering::Equal,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
        (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, Some(_)) => false,
    }
}

/// Does one stored value satisfy `op operand`? Values of another JSON type match nothing.
pub(super) fn leaf_matches(value: &Value, op: CompareOp, operand: &Operand) -> bool {
    match (operand, value) {
        (Operand::Str { text, case_exact }, Value::String(s)) => {
            let lowered;
            let s = if *case_exact {
                s.as_str()
            } else {
                lowered = s.to_lowercase();
                lowered.as_str()
            };
            match op {
                CompareOp::Co => s.contains(text.as_str()),
                CompareOp::Sw => s.starts_with(text.as_str()),
                CompareOp::Ew => s.ends_with(text.as_str()),
                _ => ordering_matches(op, Some(s.cmp(text.as_str()))),
            }
        }
        (Operand::Bool(b), Value::Bool(v)) => ordering_matches(op, Some(v.cmp(b))),
        (Operand::Num(n), Value::Number(v)) => ordering_matches(op, num_cmp(v, n)),
        (Operand::Time(t), Value::String(s)) => ordering_matches(op, parse_time(s).map(|v| v.cmp(t))),
        _ => false,
    }
}

/// `pr`: not null, not `""`, not an empty array or object; an array is present when one of its
/// elements is, an object when one of its members is.
pub(super) fn is_present(value: &Value) -> bool {
    // Iterative, so that no stored document can make this recurse deeply.
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(members) => stack.extend(members.values()),
            _ => return true,
        }
    }
    false
}
