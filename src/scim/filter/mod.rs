//! SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (RFC 7644 §3.5.2): parsing into the typed
//! AST of [`ast`], canonical printing ([`Display`](std::fmt::Display)) and in-memory evaluation
//! ([`eval`]).
//!
//! # Parsing
//!
//! [`parse_filter`] and [`parse_path`] run `scim_v2`'s LALRPOP parser behind an adapter
//! (`parse.rs`, with a small tokeniser in `lex.rs`) that fixes what `scim_v2` gets wrong or does
//! not do:
//!
//! * **Positions and messages.** `scim_v2` reports LALRPOP terminals (`"\"eq\""`, `StringLit`)
//!   at byte offsets of a trimmed, rewritten string, and no position at all for bad attribute
//!   paths or literals. The adapter maps every offset back to the client's text and phrases
//!   the problem, e.g. `invalid filter at position 10: expected a comparison operator (eq, ne,
//!   co, sw, ew, gt, ge, lt, le, pr) after "userName", found "like"`. **Positions are 1-based
//!   character offsets** into the input as sent.
//! * **Checked before `scim_v2` runs**, with exact positions: length ([`MAX_FILTER_LEN`]),
//!   unterminated or invalid string literals (`"\q"`), characters that cannot start a token,
//!   unbalanced `(`/`)`/`[`/`]`, brackets nested deeper than [`MAX_FILTER_DEPTH`], a value path
//!   inside a value path, numbers out of range (`1e999`).
//! * **`not(` without a space** (`scim_v2`'s `not` token demands whitespace): a space is put in.
//!   Likewise `)and(` / `)or(`, which `scim_v2` cannot lex, get their spaces.
//! * **Upper-case literals** `TRUE`, `False`, `NULL` after an operator are lower-cased
//!   (`scim_v2` matches them case-sensitively; operators and `and`/`or`/`not`/`pr` it already
//!   matches case-insensitively).
//! * **The IdP form** `emails[type eq "work"].value eq "x"` (outside the RFC grammar, sent by
//!   Entra ID and others) is rewritten to `emails[(type eq "work") and value eq "x"]` before
//!   parsing, and so becomes `ValuePath { emails, And(type eq "work", value eq "x") }`. It works
//!   with `pr` and every operator, and inside and/or/not.
//! * **Stricter than `scim_v2`:** a value path on a path with a sub-attribute
//!   (`emails.value[type eq "x"]`) and dotted or URN paths inside brackets (`emails[type.x eq
//!   "y"]`) are rejected: the AST's value paths name a multi-valued attribute and its plain
//!   sub-attributes.
//! * **Depth.** Besides the bracket check, the parsed tree may nest at most
//!   [`MAX_FILTER_DEPTH`] levels, where `not`, a value path and an and/or chain each count one
//!   level and an attribute expression counts none. A flat chain `a or b or c …` is one level
//!   however long it is (its length is bounded by [`MAX_FILTER_LEN`]), so a batch lookup of a
//!   hundred ids parses.
//!
//! # AST shape
//!
//! `and` binds tighter than `or`. A chain `a and b and c` becomes the left-deep
//! `And(And(a, b), c)`; explicit grouping of the same operator (`a and (b and c)`) is not kept
//! (it means the same). Attribute names keep the client's spelling; URN paths split at the
//! last `:` (`urn:…:enterprise:2.0:User:manager.value` → urn `urn:…:enterprise:2.0:User`,
//! name `manager`, sub `value`).
//!
//! # Printing
//!
//! `Display` prints canonical text that parses back to the same AST: strings JSON-escaped,
//! keywords lower case, a nested and/or (and any right operand of the same operator) in
//! parentheses, `not (…)`, value paths as `attr[…]`.

pub mod ast;
mod display;
pub mod eval;
mod lex;
mod parse;

pub use ast::*;

use crate::error::ScimResult;

/// Longest accepted filter or PATCH path, in bytes; longer input is `invalidFilter` /
/// `invalidPath`.
pub const MAX_FILTER_LEN: usize = 4096;

/// Deepest accepted nesting: at most this many brackets (`(`, `not (`, `[`) open at once, and
/// at most this many levels of `not` / value path / and-or chain in the parsed tree. Deeper
/// input is `invalidFilter` / `invalidPath`, never a stack overflow.
pub const MAX_FILTER_DEPTH: usize = 32;

/// Parses a filter expression (RFC 7644 §3.4.2.2).
///
/// Errors are `400 invalidFilter` with a detail naming the 1-based character position.
pub fn parse_filter(input: &str) -> ScimResult<Filter> {
    parse::filter(input)
}

/// Parses the `path` of a PATCH operation (RFC 7644 §3.5.2): `attr`, `attr.sub`, `urn:…:attr`,
/// `attr[filter]` or `attr[filter].sub`.
///
/// Errors are `400 invalidPath` with a detail naming the 1-based character position.
pub fn parse_path(input: &str) -> ScimResult<PatchPath> {
    parse::path(input)
}

#[cfg(test)]
mod tests;
