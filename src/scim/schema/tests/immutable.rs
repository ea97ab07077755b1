//! check_immutable() for PUT.

use super::*;
use serde_json::json;

fn check(kind: ResourceKind, old: Value, new: Value) -> ScimResult<()> {
    check_immutable(&test_registry(), kind, &obj(old), &obj(new))
}

use crate::error::ScimResult;

#[test]
fn group_members_may_be_replaced() {
    let old = json!({"id": "g1", "displayName": "Tour Guides",
                     "members": [{"value": "a", "type": "User"}, {"value": "b", "type": "User"}]});
    let new = json!({"displayName": "Guides", "members": [{"value": "c", "type": "Group"}]});
    assert!(check(ResourceKind::Group, old.clone(), new).is_ok());
    assert!(check(ResourceKind::Group, old, json!({"displayName": "Guides"})).is_ok());
}

#[test]
fn immutable_extension_attribute_cannot_change_or_vanish() {
    let old = json!({"userName": "u", TEST_EXT: {"employeeId": "E-1"}});
    let same = json!({"userName": "renamed", TEST_EXT: {"employeeId": "E-1", "badge": 3}});
    assert!(check(ResourceKind::User, old.clone(), same).is_ok());

    let cases = [
        json!({"userName": "u", TEST_EXT: {"employeeId": "E-2"}}),
        json!({"userName": "u", TEST_EXT: {"employeeId": "e-1"}}),
        json!({"userName": "u", TEST_EXT: {"badge": 3}}),
        json!({"userName": "u"}),
    ];
    for new in cases {
        let err = match check(ResourceKind::User, old.clone(), new.clone()) {
            Ok(()) => panic!("{new} should be rejected"),
            Err(e) => e,
        };
        assert_eq!(err.scim_type(), Some(ScimType::Mutability), "{new}");
        assert!(err.detail().contains(&format!("{TEST_EXT}:employeeId")), "{}", err.detail());
    }
}

#[test]
fn immutable_attribute_may_be_set_when_it_was_unset() {
    let old = json!({"userName": "u"});
    let new = json!({"userName": "u", TEST_EXT: {"employeeId": "E-1"}});
    assert!(check(ResourceKind::User, old, new).is_ok());
}

#[test]
fn read_write_attributes_may_change() {
    let old = json!({"userName": "u", "name": {"givenName": "A"}, ENTERPRISE_USER_SCHEMA: {"manager": {"value": "m1"}}});
    let new = json!({"userName": "v", "name": {"givenName": "B"}, ENTERPRISE_USER_SCHEMA: {"manager": {"value": "m2"}}});
    assert!(check(ResourceKind::User, old, new).is_ok());
}
