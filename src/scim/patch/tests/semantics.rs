//! RFC 7644 §3.5.2 semantics beyond the RFC's own examples, and the remaining tolerance rules.

use super::*;

#[test]
fn add_to_multi_valued_skips_duplicates() {
    let a = strict_ok(
        User,
        &user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home"}]}]),
    );
    assert!(!a.changed);
    assert_eq!(a.resource["emails"].as_array().map(Vec::len), Some(2));
}

#[test]
fn add_single_object_to_multi_valued() {
    let a = strict_ok(
        User,
        &user(),
        json!([{"op": "add", "path": "phoneNumbers", "value": {"value": "1", "type": "work"}}]),
    );
    assert_eq!(a.resource["phoneNumbers"], json!([{"value": "1", "type": "work"}]));
}

#[test]
fn primary_true_clears_other_primaries() {
    let cases = [
        json!({"op": "add", "path": "emails", "value": [{"value": "new@x.org", "type": "other", "primary": true}]}),
        json!({"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}),
        json!({"op": "add", "value": {"emails": [{"value": "new@x.org", "primary": "True"}]}}),
    ];
    for op in cases {
        let a = ok(User, &user(), json!([op]));
        let primaries: Vec<bool> = a.resource["emails"]
            .as_array()
            .map(|e| e.iter().map(|x| x["primary"] == true).collect())
            .unwrap_or_default();
        assert_eq!(primaries.iter().filter(|p| **p).count(), 1, "{op}");
        assert_eq!(a.resource["emails"][0]["primary"], false, "{op}");
    }
}

#[test]
fn single_valued_add_replace_remove() {
    let a = strict_ok(User, &user(), json!([{"op": "add", "path": "title", "value": "Guide"}]));
    assert_eq!(a.resource["title"], "Guide");
    let a = strict_ok(User, &value(&a), json!([{"op": "replace", "path": "TITLE", "value": "Lead"}]));
    assert_eq!(a.resource["title"], "Lead");
    let a = strict_ok(User, &value(&a), json!([{"op": "remove", "path": "title"}]));
    assert!(!a.resource.contains_key("title"));
    // Removing what is not there is fine.
    let again = strict_ok(User, &value(&a), json!([{"op": "remove", "path": "title"}]));
    assert!(!again.changed);
}

#[test]
fn complex_single_valued_merges() {
    let a = strict_ok(
        User,
        &user(),
        json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs", "middlename": "J"}}]),
    );
    assert_eq!(
        a.resource["name"],
        json!({"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Babs", "middleName": "J"})
    );
    let a = strict_ok(User, &user(), json!([{"op": "add", "path": "name.honorificPrefix", "value": "Ms."}]));
    assert_eq!(a.resource["name"]["honorificPrefix"], "Ms.");
    let start = json!({"userName": "u"});
    let a = strict_ok(User, &start, json!([{"op": "add", "path": "name.givenName", "value": "U"}]));
    assert_eq!(a.resource["name"], json!({"givenName": "U"}));
    let a = strict_ok(User, &value(&a), json!([{"op": "remove", "path": "name.givenName"}]));
    assert!(!a.resource.contains_key("name"));
}

#[test]
fn remove_filtered_sub_attribute() {
    let a =
        strict_ok(User, &user(), json!([{"op": "remove", "path": "addresses[type eq \"work\"].postalCode"}]));
    assert!(a.resource["addresses"][0].get("postalCode").is_none());
    assert_eq!(a.resource["addresses"][0]["locality"], "Hollywood");
}

#[test]
fn unfiltered_sub_attribute_of_multi_valued_addresses_every_element() {
    let a = strict_ok(User, &user(), json!([{"op": "remove", "path": "emails.type"}]));
    assert_eq!(
        a.resource["emails"],
        json!([{"value": "bjensen@example.com", "primary": true}, {"value": "babs@jensen.org"}])
    );
    let start = json!({"userName": "u"});
    let a = strict_ok(User, &start, json!([{"op": "replace", "path": "emails.value", "value": "u@x.org"}]));
    assert_eq!(a.resource["emails"], json!([{"value": "u@x.org"}]));
}

#[test]
fn replace_absent_attribute_adds_it() {
    let a = strict_ok(
        User,
        &json!({"userName": "u"}),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "u@x.org"}]}]),
    );
    assert_eq!(a.resource["emails"], json!([{"value": "u@x.org"}]));
}

#[test]
fn null_values_are_unassigned() {
    let a =
        strict_ok(User, &user(), json!([{"op": "replace", "value": {"displayName": null, "nickName": "B"}}]));
    assert!(!a.resource.contains_key("displayName"));
    let a = strict_ok(User, &user(), json!([{"op": "add", "value": {"displayName": null}}]));
    assert_eq!(a.resource["displayName"], "Babs Jensen");
    assert!(!a.changed);
    let a = strict_ok(User, &user(), json!([{"op": "replace", "path": "displayName", "value": null}]));
    assert!(!a.resource.contains_key("displayName"));
}

#[test]
fn remove_with_value_on_multi_valued_attribute() {
    let ops = json!([{"op": "remove", "path": "emails", "value": [{"value": "babs@jensen.org"}]}]);
    let a = ok(User, &user(), ops.clone());
    assert_eq!(
        a.resource["emails"],
        json!([{"value": "bjensen@example.com", "type": "work", "primary": true}])
    );
    assert_eq!(a.fired, [Rule::RemoveWithValue]);
    assert_eq!(err_type(User, &user(), ops, Mode::Strict), Some(ScimType::InvalidSyntax));
    let tags = format!("{TEST_EXT}:tags");
    let start = json!({"userName": "u", TEST_EXT: {"tags": ["a", "b", "c"]}});
    let a = ok(User, &start, json!([{"op": "remove", "path": tags, "value": ["a", "c"]}]));
    assert_eq!(a.resource[TEST_EXT], json!({"tags": ["b"]}));
}

#[test]
fn remove_with_filter_matching_nothing() {
    let ops = json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]);
    let a = ok(User, &user(), ops.clone());
    assert!(!a.changed);
    assert_eq!(a.fired, [Rule::RemoveNoMatchIgnored]);
    assert_eq!(err_type(User, &user(), ops, Mode::Strict), Some(ScimType::NoTarget));
}

#[test]
fn add_filtered_without_sub_creates_or_merges() {
    let a = ok(
        User,
        &user(),
        json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"display": "Home"}}]),
    );
    assert_eq!(
        a.resource["emails"][1],
        json!({"value": "babs@jensen.org", "type": "home", "display": "Home"})
    );
    let a = ok(
        User,
        &user(),
        json!([{"op": "add", "path": "phoneNumbers[type eq \"work\"]", "value": {"value": "1"}}]),
    );
    assert_eq!(a.resource["phoneNumbers"], json!([{"type": "work", "value": "1"}]));
    assert_eq!(a.fired, [Rule::AddCreatesFilteredElement]);
}

#[test]
fn whole_extension_paths() {
    let a = strict_ok(User, &user(), json!([{"op": "remove", "path": ENT}]));
    assert!(!a.resource.contains_key(ENT));
    let a = strict_ok(User, &user(), json!([{"op": "add", "path": ENT, "value": {"costCenter": "4130"}}]));
    assert_eq!(a.resource[ENT]["costCenter"], "4130");
    assert_eq!(a.resource[ENT]["employeeNumber"], "701984");
}

#[test]
fn extension_attribute_removal_leaves_no_empty_object() {
    let start = json!({"userName": "u", ENT: {"department": "X"}});
    let a = strict_ok(User, &start, json!([{"op": "remove", "path": format!("{ENT}:department")}]));
    assert_eq!(value(&a), json!({"userName": "u"}));
}

#[test]
fn password_is_handed_out_not_stored() {
    let a = strict_ok(User, &user(), json!([{"op": "replace", "path": "password", "value": "s3cret!"}]));
    assert_eq!(a.password.as_deref(), Some("s3cret!"));
    assert!(!a.resource.contains_key("password"));
    assert!(!a.changed);
    let a = strict_ok(User, &user(), json!([{"op": "replace", "value": {"password": "p2", "title": "T"}}]));
    assert_eq!(a.password.as_deref(), Some("p2"));
    assert_eq!(a.resource["title"], "T");
}

#[test]
fn unknown_keys_in_pathless_value() {
    let ops = json!([{"op": "add", "value": {"favoriteColor": "blue", "title": "T"}}]);
    let a = ok(User, &user(), ops.clone());
    assert_eq!(a.resource["title"], "T");
    assert!(!a.resource.contains_key("favoriteColor"));
    assert_eq!(a.fired, [Rule::UnknownAttributeIgnored]);
    assert_eq!(err_type(User, &user(), ops, Mode::Strict), Some(ScimType::InvalidPath));
}

#[test]
fn read_only_keys_in_pathless_value() {
    let ops = json!([{"op": "replace", "value": {"meta": {"resourceType": "User"}, "groups": [], "schemas": [], "title": "T"}}]);
    let a = ok(User, &user(), ops.clone());
    assert_eq!(a.resource["title"], "T");
    assert_eq!(a.fired, [Rule::ReadOnlyKeyIgnored]);
    assert_eq!(err_type(User, &user(), ops, Mode::Strict), Some(ScimType::Mutability));
}

#[test]
fn case_insensitive_attribute_names_are_canonicalised() {
    let a = strict_ok(
        User,
        &user(),
        json!([{"op": "replace", "path": "NAME.GIVENNAME", "value": "B"}, {"op": "add", "value": {"EMAILS": [{"VALUE": "c@x.org", "Type": "other"}]}}]),
    );
    assert_eq!(a.resource["name"]["givenName"], "B");
    assert_eq!(a.resource["emails"][2], json!({"value": "c@x.org", "type": "other"}));
}

#[test]
fn rule_names_are_stable_and_distinct() {
    let all = [
        Rule::CaseInsensitiveOp,
        Rule::CaseInsensitiveKey,
        Rule::MissingSchemas,
        Rule::StringBoolean,
        Rule::DottedKeysInPathlessValue,
        Rule::UrnKeysInPathlessValue,
        Rule::ReadOnlyKeyIgnored,
        Rule::UnknownAttributeIgnored,
        Rule::RemoveMembersWithValueArray,
        Rule::RemoveWithValue,
        Rule::RemoveNoMatchIgnored,
        Rule::AddCreatesFilteredElement,
        Rule::ManagerAsString,
        Rule::ManagerAsArray,
        Rule::RolesJsonString,
        Rule::NullRefIgnored,
        Rule::PathlessActiveReplace,
    ];
    let names: std::collections::HashSet<&str> = all.iter().map(Rule::name).collect();
    assert_eq!(names.len(), all.len());
    assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    assert_eq!(Rule::StringBoolean.name(), "string_boolean");
    assert_eq!(Rule::PathlessActiveReplace.name(), "pathless_active_replace");
}
