//! RFC 7644 §3.12 error cases of PATCH, and atomicity.

use super::*;

fn parse_err(body: Value, mode: Mode) -> Option<ScimType> {
    match parse_request(&body, mode) {
        Ok(r) => panic!("expected an error, got {r:?}"),
        Err(e) => e.scim_type(),
    }
}

#[test]
fn malformed_messages() {
    use ScimType::*;
    let cases: Vec<(Value, Mode, Option<ScimType>)> = vec![
        (json!([]), Mode::Tolerant, Some(InvalidSyntax)),
        (
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
            Mode::Tolerant,
            Some(InvalidSyntax),
        ),
        (msg(json!([])), Mode::Tolerant, Some(InvalidSyntax)),
        (msg(json!({"op": "add"})), Mode::Tolerant, Some(InvalidSyntax)),
        (msg(json!([{"op": "copy", "path": "title", "value": "x"}])), Mode::Tolerant, Some(InvalidSyntax)),
        (msg(json!([{"path": "title", "value": "x"}])), Mode::Tolerant, Some(InvalidSyntax)),
        (msg(json!([{"op": "add", "path": "title"}])), Mode::Tolerant, Some(InvalidSyntax)),
        (msg(json!([{"op": "replace", "path": "title"}])), Mode::Strict, Some(InvalidSyntax)),
        (msg(json!([{"op": "remove"}])), Mode::Tolerant, Some(NoTarget)),
        (msg(json!([{"op": "remove", "value": {"title": "x"}}])), Mode::Strict, Some(NoTarget)),
        (msg(json!([{"op": "add", "path": 7, "value": "x"}])), Mode::Tolerant, Some(InvalidPath)),
        (msg(json!(["add"])), Mode::Tolerant, Some(InvalidSyntax)),
        (
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": [{"op": "remove", "path": "title"}]}),
            Mode::Tolerant,
            Some(InvalidSyntax),
        ),
        (json!({"Operations": [{"op": "remove", "path": "title"}]}), Mode::Strict, Some(InvalidSyntax)),
        (
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "operations": [{"op": "remove", "path": "title"}]}),
            Mode::Strict,
            Some(InvalidSyntax),
        ),
        (msg(json!([{"op": "ADD", "path": "title", "value": "x"}])), Mode::Strict, Some(InvalidSyntax)),
        (msg(json!([{"Op": "add", "Path": "title", "Value": "x"}])), Mode::Strict, Some(InvalidSyntax)),
    ];
    for (body, mode, expected) in cases {
        assert_eq!(parse_err(body.clone(), mode), expected, "{body}");
    }
}

#[test]
fn tolerant_message_shapes() {
    let r = parse_request(&json!({"operations": [{"Op": "Remove", "Path": "title"}]}), Mode::Tolerant)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.ops, [PatchOp { op: OpKind::Remove, path: r.ops[0].path.clone(), value: None }]);
    assert_eq!(r.fired, [Rule::MissingSchemas, Rule::CaseInsensitiveKey, Rule::CaseInsensitiveOp]);
    // The request's rules are carried into the result.
    let a = apply(&registry(), User, &obj(user()), ID, &r, Mode::Tolerant).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.fired, r.fired);
}

#[test]
fn invalid_paths() {
    let paths = [
        "foo",
        "name.foo",
        "emails[foo eq \"x\"]",
        "emails[type eq \"work\"].foo",
        "members",
        "urn:example:unknown:2.0:User:x",
        "name[givenName eq \"Barbara\"]",
        "userName[value eq \"x\"]",
        "emails[type eq \"work\"",
        "emails[primary gt \"x\"]",
    ];
    for mode in [Mode::Tolerant, Mode::Strict] {
        for path in paths {
            for op in ["add", "replace", "remove"] {
                let ops = json!([{"op": op, "path": path, "value": "x"}]);
                let e = match run(User, &user(), &msg(ops), mode) {
                    Ok(a) => panic!("{op} {path}: expected invalidPath, got {:?}", a.resource),
                    Err(e) => e,
                };
                assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "{op} {path}: {e}");
            }
        }
    }
}

#[test]
fn read_only_targets_are_mutability_errors() {
    let cases = [
        json!({"op": "replace", "path": "id", "value": "x"}),
        json!({"op": "remove", "path": "id"}),
        json!({"op": "remove", "path": "meta"}),
        json!({"op": "replace", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z"}),
        json!({"op": "add", "path": "groups", "value": [{"value": "g1"}]}),
        json!({"op": "remove", "path": "groups[value eq \"g1\"]"}),
        json!({"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", "value": "x"}),
        json!({"op": "replace", "value": {"id": "other"}}),
        json!({"op": "remove", "path": "password"}),
    ];
    for op in cases {
        for mode in [Mode::Tolerant, Mode::Strict] {
            assert_eq!(err_type(User, &user(), json!([op]), mode), Some(ScimType::Mutability), "{op}");
        }
    }
}

#[test]
fn immutable_attributes() {
    let path = format!("{TEST_EXT}:employeeId");
    let a = strict_ok(User, &user(), json!([{"op": "add", "path": path, "value": "E1"}]));
    assert_eq!(a.resource[TEST_EXT]["employeeId"], "E1");
    let set = value(&a);
    let same = strict_ok(User, &set, json!([{"op": "replace", "path": path, "value": "E1"}]));
    assert!(!same.changed);
    for op in [
        json!({"op": "replace", "path": path, "value": "E2"}),
        json!({"op": "add", "path": path, "value": "E2"}),
        json!({"op": "remove", "path": path}),
        json!({"op": "replace", "value": {TEST_EXT: {"employeeId": "E2"}}}),
    ] {
        assert_eq!(err_type(User, &set, json!([op]), Mode::Tolerant), Some(ScimType::Mutability), "{op}");
    }
}

#[test]
fn invalid_values() {
    let cases = [
        json!({"op": "replace", "path": "active", "value": 5}),
        json!({"op": "replace", "path": "active", "value": "yes"}),
        json!({"op": "replace", "path": "userName", "value": 7}),
        json!({"op": "replace", "path": "emails", "value": "a@b.c"}),
        json!({"op": "add", "path": "emails", "value": ["a@b.c"]}),
        json!({"op": "replace", "path": "name", "value": "Barbara"}),
        json!({"op": "replace", "path": "emails[type eq \"work\"].primary", "value": "maybe"}),
        json!({"op": "add", "path": "emails", "value": [{"value": "x@y.z", "primary": true}, {"value": "z@y.z", "primary": true}]}),
        json!({"op": "remove", "path": "userName"}),
        json!({"op": "replace", "path": "userName", "value": null}),
        json!({"op": "replace", "path": "userName", "value": ""}),
        json!({"op": "add", "value": "not an object"}),
        json!({"op": "replace", "path": "password", "value": 12345}),
    ];
    for op in cases {
        for mode in [Mode::Tolerant, Mode::Strict] {
            assert_eq!(err_type(User, &user(), json!([op]), mode), Some(ScimType::InvalidValue), "{op}");
        }
    }
}

#[test]
fn required_group_display_name() {
    for op in [
        json!({"op": "remove", "path": "displayName"}),
        json!({"op": "replace", "value": {"displayName": null}}),
    ] {
        assert_eq!(
            err_type(Group, &group(), json!([op]), Mode::Strict),
            Some(ScimType::InvalidValue),
            "{op}"
        );
    }
}

#[test]
fn replace_with_filter_that_matches_nothing_is_no_target() {
    for mode in [Mode::Tolerant, Mode::Strict] {
        for path in
            ["emails[type eq \"other\"].value", "emails[type eq \"other\"]", "ims[type eq \"aim\"].value"]
        {
            let ops = json!([{"op": "replace", "path": path, "value": {"value": "x"}}]);
            assert_eq!(err_type(User, &user(), ops, mode), Some(ScimType::NoTarget), "{path}");
        }
    }
}

#[test]
fn add_that_cannot_create_an_element_is_no_target() {
    let ops =
        json!([{"op": "add", "path": "emails[type eq \"other\" or type eq \"home2\"].value", "value": "x"}]);
    assert_eq!(err_type(User, &user(), ops, Mode::Tolerant), Some(ScimType::NoTarget));
}

#[test]
fn atomic_second_op_fails() {
    let ops = json!([
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
        {"op": "replace", "path": "id", "value": "x"}
    ]);
    let e = err(Group, &group(), ops, Mode::Tolerant);
    assert_eq!(e.scim_type(), Some(ScimType::Mutability));
    assert!(e.detail().starts_with("Operations[2]"), "{}", e.detail());
    let ops = json!([
        {"op": "replace", "path": "active", "value": false},
        {"op": "replace", "path": "emails[type eq \"other\"].value", "value": "x"}
    ]);
    assert_eq!(err(User, &user(), ops, Mode::Tolerant).scim_type(), Some(ScimType::NoTarget));
}

#[test]
fn error_body_shape() {
    let e = err(User, &user(), json!([{"op": "replace", "path": "nope", "value": 1}]), Mode::Tolerant);
    assert_eq!(e.status(), 400);
    assert_eq!(e.body()["scimType"], "invalidPath");
}
