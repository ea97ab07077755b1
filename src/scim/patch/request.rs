//! Parsing the PatchOp message (RFC 7644 §3.5.2) into typed operations.

use serde_json::{Map, Value};

use super::tolerance::{Rule, Tolerance};
use super::{Mode, OpKind, PatchOp, PatchRequest};
use crate::error::{ScimError, ScimResult};
use crate::scim::filter::parse_path;

/// URN of the PatchOp message.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Parses a PATCH body. Which attributes the paths name is checked later, by [`apply`](super::apply).
///
/// Errors: `invalidSyntax` for a malformed message (no `Operations`, unknown `op`, add/replace
/// without `value`), `invalidPath` for an unparsable `path`, `noTarget` for `remove` without path.
pub fn parse_request(body: &Value, mode: Mode) -> ScimResult<PatchRequest> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax("the PATCH body must be a PatchOp JSON object"));
    };
    let mut tol = Tolerance::new(mode);
    match field(&mut tol, body, "schemas")? {
        None => tol.allow(Rule::MissingSchemas, || format!("schemas must contain {PATCH_OP_SCHEMA}"))?,
        Some(Value::Array(urns)) if urns.iter().any(is_patch_op_urn) => {}
        Some(_) => {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must be an array containing {PATCH_OP_SCHEMA}"
            )))
        }
    }
    let ops = match field(&mut tol, body, "Operations")? {
        Some(Value::Array(ops)) if !ops.is_empty() => ops,
        Some(Value::Array(_)) => return Err(ScimError::invalid_syntax("Operations must not be empty")),
        Some(_) => return Err(ScimError::invalid_syntax("Operations must be an array of operations")),
        None => return Err(ScimError::invalid_syntax("the PatchOp message has no Operations")),
    };
    let mut out = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        out.push(parse_op(&mut tol, op).map_err(|e| e.at(&format!("Operations[{i}]")))?);
    }
    Ok(PatchRequest { ops: out, fired: tol.fired })
}

/// Whether a `schemas` entry is the PatchOp URN (case-insensitively).
fn is_patch_op_urn(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
}

/// Parses one operation object.
fn parse_op(tol: &mut Tolerance, op: &Value) -> ScimResult<PatchOp> {
    let Value::Object(obj) = op else {
        return Err(ScimError::invalid_syntax("each operation must be a JSON object"));
    };
    let name = match field(tol, obj, "op")? {
        Some(Value::String(s)) => s,
        Some(_) => return Err(ScimError::invalid_syntax("op must be a string")),
        None => return Err(ScimError::invalid_syntax("the operation has no op")),
    };
    let kind = match name.to_ascii_lowercase().as_str() {
        "add" => OpKind::Add,
        "replace" => OpKind::Replace,
        "remove" => OpKind::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(format!(
                "op must be add, replace or remove, got \"{name}\""
            )))
        }
    };
    if name != kind.as_str() {
        tol.allow(Rule::CaseInsensitiveOp, || format!("op must be lower-case \"{}\"", kind.as_str()))?;
    }
    let path = match field(tol, obj, "path")? {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(parse_path(p)?),
        Some(_) => return Err(ScimError::invalid_path("path must be a string")),
    };
    let value = field(tol, obj, "value")?.cloned();
    match kind {
        OpKind::Remove if path.is_none() => {
            Err(ScimError::no_target("remove requires a path naming what to remove"))
        }
        OpKind::Add | OpKind::Replace if value.is_none() => {
            Err(ScimError::invalid_syntax(format!("{} requires a value", kind.as_str())))
        }
        _ => Ok(PatchOp { op: kind, path, value }),
    }
}

/// The member `name` of `obj`: exact spelling, or (tolerant, with a rule) any ASCII case.
fn field<'o>(tol: &mut Tolerance, obj: &'o Map<String, Value>, name: &str) -> ScimResult<Option<&'o Value>> {
    if let Some(v) = obj.get(name) {
        return Ok(Some(v));
    }
    let Some((key, v)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) else {
        return Ok(None);
    };
    tol.allow(Rule::CaseInsensitiveKey, || format!("\"{key}\" must be spelled \"{name}\""))?;
    Ok(Some(v))
}
