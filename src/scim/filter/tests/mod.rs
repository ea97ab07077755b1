//! Tests of the filter module: parsing tables, properties, evaluation.

mod eval;
mod parse;
mod props;

use super::*;
use crate::error::{ScimError, ScimType};

pub(super) const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(super) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

pub(super) fn p(name: &str) -> AttrPath {
    AttrPath { urn: None, name: name.into(), sub: None }
}
pub(super) fn ps(name: &str, sub: &str) -> AttrPath {
    AttrPath { urn: None, name: name.into(), sub: Some(sub.into()) }
}
pub(super) fn pu(urn: &str, name: &str, sub: Option<&str>) -> AttrPath {
    AttrPath { urn: Some(urn.into()), name: name.into(), sub: sub.map(Into::into) }
}
pub(super) fn s(v: &str) -> CompValue {
    CompValue::String(v.into())
}
pub(super) fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare { path, op, value }
}
pub(super) fn eq(path: AttrPath, v: &str) -> Filter {
    cmp(path, CompareOp::Eq, s(v))
}
pub(super) fn pr(path: AttrPath) -> Filter {
    Filter::Present(path)
}
pub(super) fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}
pub(super) fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}
pub(super) fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}
pub(super) fn vp(path: AttrPath, filter: Filter) -> Filter {
    Filter::ValuePath { path, filter: Box::new(filter) }
}

/// Parses, and checks that the canonical text parses back to the same AST.
pub(super) fn parse_ok(input: &str) -> Filter {
    let f = parse_filter(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
    let printed = f.to_string();
    assert_eq!(parse_filter(&printed).ok().as_ref(), Some(&f), "round trip of {input:?} via {printed:?}");
    f
}

fn assert_rejected(e: ScimError, ty: ScimType, input: &str) -> String {
    assert_eq!(e.status(), 400, "{input:?}: {e}");
    assert_eq!(e.scim_type(), Some(ty), "{input:?}: {e}");
    assert!(e.detail().contains(" at position "), "{input:?}: detail names no position: {}", e.detail());
    e.detail().to_string()
}

/// Asserts `input` is an invalidFilter whose detail names a position; returns the detail.
pub(super) fn filter_err(input: &str) -> String {
    match parse_filter(input) {
        Ok(f) => panic!("{input:?} should be rejected, parsed as {f:?}"),
        Err(e) => assert_rejected(e, ScimType::InvalidFilter, input),
    }
}

/// Asserts `input` is an invalidPath whose detail names a position; returns the detail.
pub(super) fn path_err(input: &str) -> String {
    match parse_path(input) {
        Ok(p) => panic!("{input:?} should be rejected, parsed as {p:?}"),
        Err(e) => assert_rejected(e, ScimType::InvalidPath, input),
    }
}
