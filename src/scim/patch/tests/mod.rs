//! Unit tests of the PATCH engine: RFC 7644 §3.5.2 examples, IdP dialects, errors.

mod entra;
mod errors;
mod members;
mod okta;
mod rfc;
mod semantics;

use serde_json::{json, Map, Value};

use super::*;
use crate::error::{ScimError, ScimType};
use crate::scim::schema::{AttrType, Attribute, Mutability, Registry, ResourceKind, Schema};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The id of the resource being patched.
const ID: &str = "2819c223-7f76-453a-919d-413861904646";
/// A test-only extension with an immutable attribute.
const TEST_EXT: &str = "urn:example:params:scim:schemas:extension:test:2.0:User";
const TEST_ATTRS: &[Attribute] = &[
    Attribute::new("employeeId", AttrType::String, "Set once.").with_mutability(Mutability::Immutable),
    Attribute::new("tags", AttrType::String, "Multi-valued simple.").multi(),
];
const TEST_SCHEMA: Schema =
    Schema { id: TEST_EXT, name: "Test", description: "Test extension", attributes: TEST_ATTRS };

fn registry() -> Registry {
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

/// A PatchOp message with these operations.
fn msg(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// Parses and applies `body` to `resource` in `mode`.
fn run(kind: ResourceKind, resource: &Value, body: &Value, mode: Mode) -> Result<Applied, ScimError> {
    let request = parse_request(body, mode)?;
    apply(&registry(), kind, &obj(resource.clone()), ID, &request, mode)
}

/// Tolerant success.
fn ok(kind: ResourceKind, resource: &Value, ops: Value) -> Applied {
    run(kind, resource, &msg(ops), Mode::Tolerant).unwrap_or_else(|e| panic!("tolerant PATCH failed: {e}"))
}

/// Strict success.
fn strict_ok(kind: ResourceKind, resource: &Value, ops: Value) -> Applied {
    run(kind, resource, &msg(ops), Mode::Strict).unwrap_or_else(|e| panic!("strict PATCH failed: {e}"))
}

/// The error of a PATCH expected to fail.
fn err(kind: ResourceKind, resource: &Value, ops: Value, mode: Mode) -> ScimError {
    match run(kind, resource, &msg(ops), mode) {
        Ok(a) => panic!("expected an error, got {:?}", a.resource),
        Err(e) => e,
    }
}

/// The scimType of a PATCH expected to fail.
fn err_type(kind: ResourceKind, resource: &Value, ops: Value, mode: Mode) -> Option<ScimType> {
    err(kind, resource, ops, mode).scim_type()
}

/// The stored user most tests start from.
fn user() -> Value {
    json!({
        "userName": "bjensen@example.com",
        "externalId": "bjensen",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
             "region": "CA", "postalCode": "91608", "country": "USA", "primary": true}
        ],
        ENT: {"employeeNumber": "701984", "department": "Tour Operations"}
    })
}

/// The stored group most tests start from (no `members`: they live in their own table).
fn group() -> Value {
    json!({"displayName": "Tour Guides", "externalId": "tg"})
}

fn value(a: &Applied) -> Value {
    Value::Object(a.resource.clone())
}

fn changes(a: &Applied) -> Vec<MemberChange> {
    a.members.clone().map(|d| d.changes).unwrap_or_default()
}

fn user_ref(id: &str) -> MemberRef {
    MemberRef { value: id.to_string(), kind: None }
}

use ResourceKind::{Group, User};
