//! Unit tests of the schema module.

mod documents;
mod immutable;
mod limits;
mod normalize;
mod project;
mod registry;
mod tenant;
mod vendors;

use serde_json::{Map, Value};

use super::*;
use crate::error::{ScimError, ScimType};

/// URN of the test-only extension that exercises the types the standard schemas lack.
const TEST_EXT: &str = "urn:example:params:scim:schemas:extension:test:2.0:User";

const TEST_ATTRS: &[Attribute] = &[
    Attribute::new("badge", AttrType::Integer, "An integer."),
    Attribute::new("score", AttrType::Decimal, "A decimal."),
    Attribute::new("hired", AttrType::DateTime, "A dateTime."),
    Attribute::new("photo", AttrType::Binary, "Binary data."),
    Attribute::new("employeeId", AttrType::String, "Set once.")
        .case_exact()
        .with_mutability(Mutability::Immutable),
    Attribute::new("secretQuestion", AttrType::String, "Returned on request.")
        .with_returned(Returned::Request),
    Attribute::new("tags", AttrType::String, "Multi-valued simple.").multi(),
];

const TEST_SCHEMA: Schema =
    Schema { id: TEST_EXT, name: "Test", description: "Test extension", attributes: TEST_ATTRS };

fn registry() -> Registry {
    Registry::standard()
}

/// The standard registry plus the test extension on User.
fn test_registry() -> Registry {
    let mut r = Registry::standard();
    r.add_extension(ResourceKind::User, TEST_SCHEMA);
    r
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn user(body: Value) -> Normalized {
    normalize(&registry(), ResourceKind::User, &body).unwrap_or_else(|e| panic!("normalize failed: {e}"))
}

fn group(body: Value) -> Normalized {
    normalize(&registry(), ResourceKind::Group, &body).unwrap_or_else(|e| panic!("normalize failed: {e}"))
}

fn user_err(body: Value) -> ScimError {
    match normalize(&test_registry(), ResourceKind::User, &body) {
        Ok(n) => panic!("expected an error, got {:?}", n.resource),
        Err(e) => e,
    }
}

fn group_err(body: Value) -> ScimError {
    match normalize(&registry(), ResourceKind::Group, &body) {
        Ok(n) => panic!("expected an error, got {:?}", n.resource),
        Err(e) => e,
    }
}

fn keys(m: &Map<String, Value>) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

fn has_note(n: &Normalized, note: &str) -> bool {
    n.notes.iter().any(|x| x == note)
}
