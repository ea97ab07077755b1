//! Microsoft Entra ID request sequences (IDP-NOTES.md): the default dialect and `aadOptscim062020`.

use super::*;

const MGR: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

#[test]
fn default_dialect_user_update() {
    let ops = json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "barbara@contoso.com"},
        {"op": "Replace", "path": "name.familyName", "value": "Jensen-Smith"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "7"},
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
        {"op": "Replace", "path": "title", "value": "Guide"}
    ]);
    let a = ok(User, &user(), ops.clone());
    assert_eq!(
        a.resource["emails"][0],
        json!({"value": "barbara@contoso.com", "type": "work", "primary": true})
    );
    assert_eq!(a.resource["name"]["familyName"], "Jensen-Smith");
    assert_eq!(a.resource[ENT]["employeeNumber"], "7");
    assert_eq!(a.resource["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555 0100"}]));
    assert_eq!(a.resource["title"], "Guide");
    assert_eq!(a.fired, [Rule::CaseInsensitiveOp, Rule::AddCreatesFilteredElement]);
    assert_eq!(err_type(User, &user(), ops, Mode::Strict), Some(ScimType::InvalidSyntax));
    // Even with RFC op names, strict mode does not invent the missing mobile phone element.
    let lower =
        json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}]);
    assert_eq!(err_type(User, &user(), lower, Mode::Strict), Some(ScimType::NoTarget));
}

#[test]
fn default_dialect_add_email_when_none_exists() {
    let start = json!({"userName": "u"});
    let a = ok(
        User,
        &start,
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "u@x.org"}]),
    );
    assert_eq!(a.resource["emails"], json!([{"type": "work", "value": "u@x.org"}]));
}

#[test]
fn deactivate_with_string_false() {
    let ops = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    let a = ok(User, &user(), ops.clone());
    assert_eq!(a.resource["active"], false);
    assert!(a.changed);
    assert_eq!(a.fired, [Rule::CaseInsensitiveOp, Rule::StringBoolean]);
    // Deactivating an inactive user is accepted and changes nothing.
    let again = ok(User, &value(&a), ops.clone());
    assert_eq!(again.resource["active"], false);
    assert!(!again.changed);
    assert_eq!(err_type(User, &user(), ops, Mode::Strict), Some(ScimType::InvalidSyntax));
    let lower = json!([{"op": "replace", "path": "active", "value": "False"}]);
    assert_eq!(err_type(User, &user(), lower, Mode::Strict), Some(ScimType::InvalidValue));
}

#[test]
fn reactivate_with_string_true() {
    let mut inactive = user();
    inactive["active"] = json!(false);
    let a = ok(User, &inactive, json!([{"op": "Replace", "path": "active", "value": "True"}]));
    assert_eq!(a.resource["active"], true);
}

#[test]
fn string_booleans_only_for_boolean_attributes() {
    let a = ok(User, &user(), json!([{"op": "replace", "path": "title", "value": "true"}]));
    assert_eq!(a.resource["title"], "true");
    assert!(a.fired.is_empty());
}

#[test]
fn opt_dialect_pathless_replace_with_dotted_and_urn_keys() {
    let ops = json!([{"op": "replace", "value": {
        "name.givenName": "Barbara",
        "name.familyName": "J",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "m1",
        "active": false
    }}]);
    let a = ok(User, &user(), ops.clone());
    assert_eq!(
        a.resource["name"],
        json!({"formatted": "Ms. Barbara J Jensen III", "familyName": "J", "givenName": "Barbara"})
    );
    assert_eq!(
        a.resource[ENT],
        json!({"employeeNumber": "7", "department": "Tour Operations", "manager": {"value": "m1"}})
    );
    assert_eq!(a.resource["active"], false);
    assert!(!a.resource.keys().any(|k| k.starts_with("name.") || k.ends_with("employeeNumber")));
    assert_eq!(
        a.fired,
        [Rule::DottedKeysInPathlessValue, Rule::UrnKeysInPathlessValue, Rule::PathlessActiveReplace]
    );
    assert_eq!(err_type(User, &user(), ops, Mode::Strict), Some(ScimType::InvalidPath));
}

#[test]
fn opt_dialect_urn_object_is_rfc_form() {
    let ops = json!([{"op": "replace", "value": {ENT: {"department": "Finance"}}}]);
    let a = strict_ok(User, &user(), ops);
    assert_eq!(a.resource[ENT], json!({"employeeNumber": "701984", "department": "Finance"}));
    assert!(a.fired.is_empty());
}

#[test]
fn manager_shapes() {
    let cases = [
        (json!("m1"), Some(Rule::ManagerAsString), json!({"value": "m1"})),
        (json!({"value": "m1"}), None, json!({"value": "m1"})),
        (
            json!([{"$ref": "https://x/Users/m1", "value": "m1"}]),
            Some(Rule::ManagerAsArray),
            json!({"$ref": "https://x/Users/m1", "value": "m1"}),
        ),
        (json!([{"$ref": null, "value": "m1"}]), Some(Rule::ManagerAsArray), json!({"value": "m1"})),
    ];
    for (sent, rule, stored) in cases {
        let ops = json!([{"op": "add", "path": MGR, "value": sent}]);
        let a = ok(User, &user(), ops.clone());
        assert_eq!(a.resource[ENT]["manager"], stored, "{sent}");
        assert_eq!(a.fired.first().copied(), rule, "{sent}");
        match rule {
            Some(_) => assert_eq!(err_type(User, &user(), ops, Mode::Strict), Some(ScimType::InvalidValue)),
            None => assert_eq!(strict_ok(User, &user(), ops).resource[ENT]["manager"], stored),
        }
    }
}

#[test]
fn manager_replace_default_dialect_then_remove() {
    let a = ok(User, &user(), json!([{"op": "Replace", "path": MGR, "value": "m2"}]));
    assert_eq!(a.resource[ENT]["manager"], json!({"value": "m2"}));
    assert_eq!(a.fired, [Rule::CaseInsensitiveOp, Rule::ManagerAsString]);
    let removed = ok(User, &value(&a), json!([{"op": "Remove", "path": MGR}]));
    assert!(!removed.resource[ENT].as_object().is_some_and(|e| e.contains_key("manager")));
    assert_eq!(removed.resource[ENT]["employeeNumber"], "701984");
    // Entra sometimes repeats the value on the remove.
    let with_value = ok(User, &value(&a), json!([{"op": "Remove", "path": MGR, "value": "m2"}]));
    assert!(!with_value.resource[ENT].as_object().is_some_and(|e| e.contains_key("manager")));
}

#[test]
fn roles_json_string() {
    let role =
        r#"{"id":"7a1c6c5e-0000-4000-8000-000000000001","value":"Admin","displayName":"Administrator"}"#;
    let ops = json!([{"op": "Add", "path": "roles", "value": [{"value": role, "primary": "True", "type": "WindowsAzureActiveDirectoryRole"}]}]);
    let a = ok(User, &user(), ops);
    assert_eq!(
        a.resource["roles"],
        json!([{"value": "Admin", "display": "Administrator", "type": "WindowsAzureActiveDirectoryRole", "primary": true}])
    );
    assert_eq!(a.fired, [Rule::CaseInsensitiveOp, Rule::RolesJsonString, Rule::StringBoolean]);
    // Strict mode keeps the string: it is a valid roles.value.
    let strict =
        strict_ok(User, &user(), json!([{"op": "add", "path": "roles", "value": [{"value": role}]}]));
    assert_eq!(strict.resource["roles"], json!([{"value": role}]));
    assert!(strict.fired.is_empty());
}

#[test]
fn group_member_add_default_dialect() {
    let ops = json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}, {"$ref": null, "value": "u2"}]}]);
    let a = ok(Group, &group(), ops);
    assert_eq!(changes(&a), [MemberChange::Add(vec![user_ref("u1"), user_ref("u2")])]);
    assert_eq!(a.fired, [Rule::CaseInsensitiveOp, Rule::NullRefIgnored]);
    assert!(!a.resource.contains_key("members"));
    assert!(!a.changed);
    let strict = strict_ok(
        Group,
        &group(),
        json!([{"op": "add", "path": "members", "value": [{"$ref": null, "value": "u1"}]}]),
    );
    assert_eq!(changes(&strict), [MemberChange::Add(vec![user_ref("u1")])]);
}

#[test]
fn group_member_remove_default_dialect() {
    let ops = json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "u1"}]}]);
    let a = ok(Group, &group(), ops);
    assert_eq!(changes(&a), [MemberChange::Remove(vec!["u1".into()])]);
    assert_eq!(a.fired, [Rule::CaseInsensitiveOp, Rule::RemoveMembersWithValueArray, Rule::NullRefIgnored]);
    let lower = json!([{"op": "remove", "path": "members", "value": [{"value": "u1"}]}]);
    assert_eq!(err_type(Group, &group(), lower, Mode::Strict), Some(ScimType::InvalidSyntax));
}

#[test]
fn group_member_remove_opt_dialect() {
    let ops = json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]);
    let a = strict_ok(Group, &group(), ops.clone());
    assert_eq!(changes(&a), [MemberChange::Remove(vec!["u1".into()])]);
    assert_eq!(ok(Group, &group(), ops), a);
}

#[test]
fn opt_dialect_filtered_keys_in_pathless_value() {
    let ops = json!([{"op": "replace", "value": {
        "emails[type eq \"work\"].value": "barbara@contoso.com",
        "phoneNumbers[type eq \"mobile\"].value": "+1 555 0100"
    }}]);
    let a = ok(User, &user(), ops.clone());
    assert_eq!(
        a.resource["emails"][0],
        json!({"value": "barbara@contoso.com", "type": "work", "primary": true})
    );
    assert_eq!(a.resource["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555 0100"}]));
    assert_eq!(a.fired, [Rule::DottedKeysInPathlessValue, Rule::AddCreatesFilteredElement]);
    assert_eq!(err_type(User, &user(), ops, Mode::Strict), Some(ScimType::InvalidPath));
}
