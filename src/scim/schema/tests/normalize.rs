//! normalize(): names, dropping, type checks, required, canonical values, primaries, password.

use super::*;
use serde_json::json;

#[test]
fn case_insensitive_names_are_canonicalised_in_input_order() {
    let ent_upper = ENTERPRISE_USER_SCHEMA.to_uppercase();
    let n = user(json!({
        "schemas": [USER_SCHEMA],
        "NAME": {"GIVENNAME": "Barbara", "familyname": "Jensen"},
        "USERNAME": "bjensen",
        "Emails": [{"VALUE": "b@example.com", "Primary": true, "TYPE": "work"}],
        ent_upper: {"Department": "Tour Operations", "MANAGER": {"VALUE": "26118915"}},
        "ACTIVE": true,
    }));
    assert_eq!(keys(&n.resource), ["name", "userName", "emails", ENTERPRISE_USER_SCHEMA, "active"]);
    assert_eq!(n.resource["name"], json!({"givenName": "Barbara", "familyName": "Jensen"}));
    assert_eq!(n.resource["emails"], json!([{"value": "b@example.com", "primary": true, "type": "work"}]));
    assert_eq!(
        n.resource[ENTERPRISE_USER_SCHEMA],
        json!({"department": "Tour Operations", "manager": {"value": "26118915"}})
    );
    assert!(!n.resource.contains_key("schemas"), "schemas is recomputed on output");
    assert!(n.notes.is_empty(), "{:?}", n.notes);
}

#[test]
fn urn_qualified_top_level_keys_are_accepted() {
    let n = user(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        format!("{USER_SCHEMA}:userName"): "bjensen",
        format!("{ENTERPRISE_USER_SCHEMA}:employeeNumber"): "701984",
        format!("{}:COSTCENTER", ENTERPRISE_USER_SCHEMA.to_lowercase()): "4130",
    }));
    assert_eq!(keys(&n.resource), ["userName", ENTERPRISE_USER_SCHEMA]);
    assert_eq!(n.resource[ENTERPRISE_USER_SCHEMA], json!({"employeeNumber": "701984", "costCenter": "4130"}));
}

#[test]
fn read_only_attributes_are_dropped_with_a_note() {
    let n = user(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "id": "2819c223",
        "userName": "bjensen",
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z"},
        "groups": [{"value": "e9e30dba", "display": "Tour Guides"}],
        ENTERPRISE_USER_SCHEMA: {"manager": {"value": "26118915", "displayName": "John Smith"}},
    }));
    assert_eq!(keys(&n.resource), ["userName", ENTERPRISE_USER_SCHEMA]);
    assert_eq!(n.resource[ENTERPRISE_USER_SCHEMA], json!({"manager": {"value": "26118915"}}));
    for note in ["read_only: id", "read_only: meta", "read_only: groups"] {
        assert!(has_note(&n, note), "missing {note}: {:?}", n.notes);
    }
    assert!(has_note(&n, &format!("read_only: {ENTERPRISE_USER_SCHEMA}:manager.displayName")));

    let g = group(json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": "Tour Guides",
        "members": [{"value": "a", "display": "Alice"}, {"value": "b", "display": "Bob"}],
    }));
    assert_eq!(g.resource["members"], json!([{"value": "a"}, {"value": "b"}]));
    assert_eq!(g.notes, ["read_only: members.display"], "noted once");
}

#[test]
fn unknown_attributes_are_dropped_with_a_note() {
    let n = user(json!({
        "schemas": [USER_SCHEMA],
        "userName": "bjensen",
        "favouriteColour": "blue",
        "name": {"givenName": "B", "nickname2": "x"},
        ENTERPRISE_USER_SCHEMA: {"shoeSize": 44, "division": "Sales"},
        "urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User": {"a": 1},
    }));
    assert_eq!(keys(&n.resource), ["userName", "name", ENTERPRISE_USER_SCHEMA]);
    assert_eq!(n.resource["name"], json!({"givenName": "B"}));
    assert_eq!(n.resource[ENTERPRISE_USER_SCHEMA], json!({"division": "Sales"}));
    for note in [
        "unknown_attribute: favouriteColour".to_string(),
        "unknown_attribute: name.nickname2".to_string(),
        format!("unknown_attribute: {ENTERPRISE_USER_SCHEMA}:shoeSize"),
        "unknown_attribute: urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User".to_string(),
    ] {
        assert!(has_note(&n, &note), "missing {note}: {:?}", n.notes);
    }
}

#[test]
fn nulls_and_empty_values_are_unassigned() {
    let n = user(json!({
        "userName": "bjensen",
        "displayName": null,
        "emails": [],
        "phoneNumbers": [null],
        "name": {"givenName": null},
        "addresses": [{}],
        "title": "",
        ENTERPRISE_USER_SCHEMA: {"department": null, "manager": {"value": null}},
    }));
    assert_eq!(keys(&n.resource), ["userName", "title"], "empty strings are values; the rest is unassigned");
    assert!(has_note(&n, "missing_schemas"));
}

#[test]
fn type_checks_fail_with_invalid_value_naming_the_path() {
    let ext = TEST_EXT;
    let cases: Vec<(Value, String)> = vec![
        (json!({"userName": 5}), "userName".into()),
        (json!({"userName": "u", "displayName": ["x"]}), "displayName".into()),
        (json!({"userName": "u", "profileUrl": 3}), "profileUrl".into()),
        (json!({"userName": "u", "active": "yes"}), "active".into()),
        (json!({"userName": "u", "active": 1}), "active".into()),
        (json!({"userName": "u", "name": "Barbara"}), "name".into()),
        (json!({"userName": "u", "name": {"givenName": 7}}), "name.givenName".into()),
        (json!({"userName": "u", "emails": {"value": "a@b"}}), "emails".into()),
        (json!({"userName": "u", "emails": ["a@b"]}), "emails".into()),
        (json!({"userName": "u", "emails": [{"primary": "maybe"}]}), "emails.primary".into()),
        (json!({"userName": "u", "photos": [{"value": false}]}), "photos.value".into()),
        (
            json!({"userName": "u", "x509Certificates": [{"value": "not base64!"}]}),
            "x509Certificates.value".into(),
        ),
        (json!({"userName": "u", "x509Certificates": [{"value": 12}]}), "x509Certificates.value".into()),
        (json!({"userName": "u", ENTERPRISE_USER_SCHEMA: "Sales"}), ENTERPRISE_USER_SCHEMA.into()),
        (
            json!({"userName": "u", ENTERPRISE_USER_SCHEMA: {"manager": "bob"}}),
            format!("{ENTERPRISE_USER_SCHEMA}:manager"),
        ),
        (json!({"userName": "u", ext: {"badge": 1.5}}), format!("{ext}:badge")),
        (json!({"userName": "u", ext: {"badge": "3"}}), format!("{ext}:badge")),
        (json!({"userName": "u", ext: {"score": "high"}}), format!("{ext}:score")),
        (json!({"userName": "u", ext: {"hired": "yesterday"}}), format!("{ext}:hired")),
        (json!({"userName": "u", ext: {"hired": 1_700_000_000}}), format!("{ext}:hired")),
        (json!({"userName": "u", ext: {"photo": "%%%"}}), format!("{ext}:photo")),
        (json!({"userName": "u", ext: {"tags": "one"}}), format!("{ext}:tags")),
        (json!({"userName": "u", ext: {"tags": [1]}}), format!("{ext}:tags")),
    ];
    for (body, path) in cases {
        let err = user_err(body.clone());
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{body}: {err}");
        assert_eq!(err.status(), 400);
        assert!(err.detail().contains(&path), "{body}: detail {:?} lacks {path}", err.detail());
        assert!(err.detail().contains("expected"), "{body}: {}", err.detail());
    }
}

#[test]
fn valid_values_of_every_type_are_accepted() {
    let n = normalize(
        &test_registry(),
        ResourceKind::User,
        &json!({
            "userName": "u",
            "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}],
            TEST_EXT: {"badge": 42, "score": 4.5, "hired": "2015-09-21T12:00:00+02:00",
                       "photo": "aGVsbG8", "tags": ["a", "b"]},
        }),
    );
    let n = n.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        n.resource[TEST_EXT],
        json!({"badge": 42, "score": 4.5, "hired": "2015-09-21T12:00:00+02:00", "photo": "aGVsbG8", "tags": ["a", "b"]})
    );
    let local = json!({"userName": "u", TEST_EXT: {"hired": "2015-09-21T12:00:00"}});
    assert!(normalize(&test_registry(), ResourceKind::User, &local).is_ok(), "xsd:dateTime without zone");
}

#[test]
fn string_booleans_are_converted_with_a_note() {
    for (input, want) in [("False", false), ("true", true), ("TRUE", true), ("false", false)] {
        let n = user(json!({"userName": "u", "active": input}));
        assert_eq!(n.resource["active"], Value::Bool(want), "{input}");
        assert!(has_note(&n, "string_boolean: active"), "{:?}", n.notes);
    }
    let n = user(json!({"userName": "u", "emails": [{"value": "a@b", "primary": "True"}]}));
    assert_eq!(n.resource["emails"], json!([{"value": "a@b", "primary": true}]));
    assert!(has_note(&n, "string_boolean: emails.primary"));
    let real = user(json!({"userName": "u", "active": false}));
    assert!(!real.notes.iter().any(|x| x.starts_with("string_boolean")));
}

#[test]
fn required_attributes() {
    for body in [json!({"displayName": "no user name"}), json!({"userName": ""}), json!({"userName": null})] {
        let err = user_err(body.clone());
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{body}");
        assert!(err.detail().contains("userName"), "{}", err.detail());
    }
    for body in [
        json!({"schemas": [GROUP_SCHEMA]}),
        json!({"displayName": "  "}),
        json!({"displayName": "g", "members": [{"type": "User"}]}),
        json!({"displayName": "g", "members": [{"value": "", "type": "User"}]}),
        json!({"displayName": "g", "members": [{"display": "Alice"}]}),
    ] {
        let err = group_err(body.clone());
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{body}");
        assert!(
            err.detail().contains("displayName") || err.detail().contains("members.value"),
            "{}",
            err.detail()
        );
    }
}

#[test]
fn member_type_is_a_closed_canonical_set() {
    let g = group(json!({"displayName": "g", "members": [
        {"value": "1", "type": "user"}, {"value": "2", "type": "GROUP"}, {"value": "3"}
    ]}));
    assert_eq!(
        g.resource["members"],
        json!([{"value": "1", "type": "User"}, {"value": "2", "type": "Group"}, {"value": "3"}])
    );
    let err = group_err(json!({"displayName": "g", "members": [{"value": "1", "type": "Robot"}]}));
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    assert!(err.detail().contains("members.type") && err.detail().contains("Robot"), "{}", err.detail());
    // Advisory canonical values are not enforced.
    let n = user(json!({"userName": "u", "emails": [{"value": "a@b", "type": "Pager-ish"}]}));
    assert_eq!(n.resource["emails"][0]["type"], "Pager-ish");
}

#[test]
fn at_most_one_primary() {
    let err = user_err(json!({"userName": "u", "emails": [
        {"value": "a@b", "primary": true}, {"value": "c@d", "primary": "true"}
    ]}));
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    assert!(err.detail().contains("emails") && err.detail().contains("primary"), "{}", err.detail());
    let ok = user(json!({"userName": "u", "emails": [
        {"value": "a@b", "primary": true}, {"value": "c@d", "primary": false}
    ]}));
    assert_eq!(ok.resource["emails"].as_array().map(Vec::len), Some(2));
}

#[test]
fn password_is_extracted() {
    let n = user(json!({"userName": "u", "PASSWORD": "t1meMa$heen", "active": true}));
    assert_eq!(n.password.as_deref(), Some("t1meMa$heen"));
    assert_eq!(keys(&n.resource), ["userName", "active"]);
    let none = user(json!({"userName": "u"}));
    assert_eq!(none.password, None);
    let err = user_err(json!({"userName": "u", "password": 1234}));
    assert!(err.detail().contains("password"), "{}", err.detail());
}

#[test]
fn keys_that_fold_together_are_rejected() {
    let ent = ENTERPRISE_USER_SCHEMA;
    let cases = [
        json!({"userName": "a", "USERNAME": "b"}),
        json!({"userName": "a", "name": {"givenName": "x", "GivenName": "y"}}),
        json!({"userName": "a", ent: {"department": "x"}, format!("{ent}:Department"): "y"}),
        json!({"userName": "a", ent: {"department": "x"}, ent.to_lowercase(): {"division": "y"}}),
        json!({"userName": "a", "emails": [{"value": "x", "VALUE": "y"}]}),
    ];
    for body in cases {
        let err = user_err(body.clone());
        assert_eq!(err.scim_type(), Some(ScimType::InvalidSyntax), "{body}: {err}");
    }
}

#[test]
fn body_and_schemas_shape() {
    for body in [json!([]), json!("user"), json!(null)] {
        let err = user_err(body.clone());
        assert_eq!(err.scim_type(), Some(ScimType::InvalidSyntax), "{body}");
        assert!(err.detail().contains("JSON object"), "{}", err.detail());
    }
    for schemas in [json!(USER_SCHEMA), json!([1]), json!({"a": USER_SCHEMA})] {
        let err = user_err(json!({"schemas": schemas, "userName": "u"}));
        assert_eq!(err.scim_type(), Some(ScimType::InvalidSyntax), "{schemas}");
        assert!(err.detail().contains("schemas"));
    }
    let n = user(json!({"schemas": [USER_SCHEMA.to_lowercase(), GROUP_SCHEMA, "urn:x"], "userName": "u"}));
    assert_eq!(n.notes, [format!("unknown_schema: {GROUP_SCHEMA}"), "unknown_schema: urn:x".into()]);
}
