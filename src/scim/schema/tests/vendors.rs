//! Realistic POST bodies from Microsoft Entra ID and Okta.

use super::*;
use serde_json::json;

#[test]
fn entra_user_post() {
    let n = user(json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@contoso.com",
        "active": "True",
        "displayName": "Test User",
        "title": null,
        "preferredLanguage": null,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "addresses": [{"type": "work", "streetAddress": null, "locality": "Redmond", "country": "US", "primary": false}],
        "phoneNumbers": [{"type": "mobile", "value": null}],
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "department": "Finance",
            "manager": {"value": "26118915"}
        }
    }));
    assert_eq!(
        Value::Object(n.resource),
        json!({
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee@contoso.com",
            "active": true,
            "displayName": "Test User",
            "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}],
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "addresses": [{"type": "work", "locality": "Redmond", "country": "US", "primary": false}],
            "phoneNumbers": [{"type": "mobile"}],
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "701984", "department": "Finance", "manager": {"value": "26118915"}}
        })
    );
    assert_eq!(n.password, None);
    assert_eq!(n.notes, ["string_boolean: active", "read_only: meta"]);
}

#[test]
fn entra_group_post() {
    let n = group(json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
        ],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Finance",
        "meta": {"resourceType": "Group"},
        "members": [{"value": "2819c223-7f76-453a-919d-413861904646"}]
    }));
    assert_eq!(
        Value::Object(n.resource),
        json!({
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Finance",
            "members": [{"value": "2819c223-7f76-453a-919d-413861904646"}]
        })
    );
    assert_eq!(
        n.notes,
        [
            "unknown_schema: http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            "read_only: meta"
        ]
    );
}

#[test]
fn okta_user_post() {
    let n = user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User", "middleName": null},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "nickName": null,
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true,
        "meta": {"resourceType": "User", "created": null}
    }));
    assert_eq!(
        Value::Object(n.resource),
        json!({
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "active": true
        })
    );
    assert_eq!(n.password.as_deref(), Some("1mz050nq"));
    assert_eq!(n.notes, ["read_only: meta"], "empty groups is unassigned, not a readOnly write");
}

#[test]
fn okta_group_post() {
    let n = group(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering",
        "id": null,
        "members": [
            {"value": "00u1f96ECLNVOKVMUSEA", "display": "test.user@okta.local", "$ref": null},
            {"value": "00u1f9cMYQZFMPVXIDIZ", "display": "another@okta.local", "type": "user"}
        ]
    }));
    assert_eq!(
        Value::Object(n.resource),
        json!({
            "displayName": "Engineering",
            "members": [
                {"value": "00u1f96ECLNVOKVMUSEA"},
                {"value": "00u1f9cMYQZFMPVXIDIZ", "type": "User"}
            ]
        })
    );
    assert_eq!(n.notes, ["read_only: members.display"]);
}
