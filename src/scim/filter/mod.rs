//! TEMPORARY placeholder until the filter parser lands (replaced by the real module).
mod ast;
pub use ast::*;
use crate::error::{ScimError, ScimResult};
/// Placeholder.
pub fn parse_filter(_input: &str) -> ScimResult<Filter> {
    Err(ScimError::invalid_filter("parser not available"))
}
/// Placeholder.
pub fn parse_path(input: &str) -> ScimResult<PatchPath> {
    let (name, sub) = match input.split_once('.') {
        Some((a, b)) => (a.to_string(), Some(b.to_string())),
        None => (input.to_string(), None),
    };
    Ok(PatchPath::Attr(AttrPath { urn: None, name, sub }))
}
