//! Group membership deltas: request order, never in `resource`.

use super::*;

#[test]
fn changes_keep_request_order() {
    let ops = json!([
        {"op": "add", "path": "members", "value": [{"value": "a"}]},
        {"op": "remove", "path": "members[value eq \"b\"]"},
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "remove", "path": "members"},
        {"op": "add", "value": {"members": [{"value": "c", "type": "User"}]}},
        {"op": "replace", "value": {"members": [{"value": "d"}], "externalId": "x"}},
        {"op": "remove", "path": "members[type eq \"Group\"]"}
    ]);
    let a = strict_ok(Group, &group(), ops);
    let where_group =
        crate::scim::filter::parse_filter("type eq \"Group\"").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        changes(&a),
        [
            MemberChange::Add(vec![user_ref("a")]),
            MemberChange::Remove(vec!["b".into()]),
            MemberChange::RemoveAll,
            MemberChange::Add(vec![MemberRef { value: "c".into(), kind: Some("User".into()) }]),
            MemberChange::ReplaceAll(vec![user_ref("d")]),
            MemberChange::RemoveWhere(where_group),
        ]
    );
    assert_eq!(value(&a), json!({"displayName": "Renamed", "externalId": "x"}));
    assert!(a.changed);
}

#[test]
fn or_chain_of_value_eq_is_remove_by_id() {
    let ops =
        json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\" or value eq \"a\"]"}]);
    let a = strict_ok(Group, &group(), ops);
    assert_eq!(changes(&a), [MemberChange::Remove(vec!["a".into(), "b".into()])]);
}

#[test]
fn other_filters_are_remove_where() {
    let ops = json!([{"op": "remove", "path": "members[value eq \"a\" and type eq \"User\"]"}]);
    let a = strict_ok(Group, &group(), ops);
    assert!(matches!(changes(&a).as_slice(), [MemberChange::RemoveWhere(_)]));
}

#[test]
fn no_member_ops_means_no_delta() {
    let a = strict_ok(Group, &group(), json!([{"op": "replace", "path": "displayName", "value": "X"}]));
    assert_eq!(a.members, None);
}

#[test]
fn duplicate_ids_in_one_add_are_collapsed() {
    let a = strict_ok(
        Group,
        &group(),
        json!([{"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "a"}]}]),
    );
    assert_eq!(changes(&a), [MemberChange::Add(vec![user_ref("a")])]);
}

#[test]
fn single_member_object_is_accepted() {
    let a = strict_ok(
        Group,
        &group(),
        json!([{"op": "add", "path": "members", "value": {"value": "a", "type": "group"}}]),
    );
    assert_eq!(
        changes(&a),
        [MemberChange::Add(vec![MemberRef { value: "a".into(), kind: Some("Group".into()) }])]
    );
}

#[test]
fn bad_member_values() {
    use ScimType::*;
    let cases = [
        (json!({"op": "add", "path": "members", "value": [{"display": "no id"}]}), InvalidValue),
        (json!({"op": "add", "path": "members", "value": [{"value": ""}]}), InvalidValue),
        (json!({"op": "add", "path": "members", "value": ["u1"]}), InvalidValue),
        (json!({"op": "add", "path": "members", "value": [{"value": "u1", "type": "Robot"}]}), InvalidValue),
        (json!({"op": "add", "path": "members", "value": "u1"}), InvalidValue),
        (json!({"op": "replace", "path": "members[value eq \"u1\"]", "value": {"value": "u2"}}), Mutability),
        (json!({"op": "replace", "path": "members.value", "value": "u2"}), Mutability),
        (json!({"op": "remove", "path": "members[value eq \"u1\"].display"}), Mutability),
        (json!({"op": "add", "path": "members[value eq \"u1\"]", "value": {"value": "u1"}}), InvalidPath),
        (json!({"op": "remove", "path": "members[foo eq \"u1\"]"}), InvalidPath),
    ];
    for (op, expected) in cases {
        assert_eq!(err_type(Group, &group(), json!([op]), Mode::Tolerant), Some(expected), "{op}");
    }
}

#[test]
fn group_resource_never_gets_members() {
    for ops in [
        json!([{"op": "add", "value": {"members": [{"value": "a"}], "displayName": "N"}}]),
        json!([{"op": "replace", "path": "members", "value": [{"value": "a"}]}]),
        json!([{"op": "remove", "path": "members"}]),
    ] {
        let a = ok(Group, &group(), ops.clone());
        assert!(!a.resource.contains_key("members"), "{ops}");
        assert!(a.members.is_some(), "{ops}");
    }
}

/// `apply_to_membership` answers for requests that only touch `members`, exactly as `apply` on a
/// stored group would (changes, rules, errors), and declines every other request.
#[test]
fn members_only_requests_need_no_stored_group() {
    let members_only = [
        json!([{"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b", "type": "User"}]}]),
        json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}]}]),
        json!([{"op": "remove", "path": "members[value eq \"a\"]"}]),
        json!([{"op": "add", "value": {"members": [{"value": "c"}]}}]),
        json!([{"op": "add", "value": {"urn:ietf:params:scim:schemas:core:2.0:Group:members": [{"value": "c"}]}}]),
        json!([{"op": "replace", "path": "members", "value": [{"value": "d"}]}, {"op": "remove", "path": "members"}]),
    ];
    for mode in [Mode::Tolerant, Mode::Strict] {
        for ops in &members_only {
            // Strict mode refuses "Add" before any group is involved.
            let Ok(request) = parse_request(&msg(ops.clone()), mode) else { continue };
            let stored = apply(&registry(), Group, &obj(group()), ID, &request, mode);
            let alone = apply_to_membership(&registry(), ID, &request, mode)
                .map(|a| a.expect("members only: {ops}"))
                .map(|only| {
                    assert_eq!(only.display_name, None, "{ops}");
                    only.applied
                });
            match (stored, alone) {
                (Ok(stored), Ok(alone)) => {
                    assert_eq!(changes(&alone), changes(&stored), "{ops}");
                    assert_eq!(alone.fired, stored.fired, "{ops}");
                    assert!(!alone.changed && !stored.changed, "{ops}");
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{ops}"),
                (a, b) => panic!("{ops} in {mode:?}: stored {:?} vs alone {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }
    let others = [
        json!([{"op": "add", "path": "members", "value": [{"value": "a"}]}, {"op": "remove", "path": "externalId"}]),
        json!([{"op": "add", "value": {"members": [{"value": "c"}], "externalId": "x"}}]),
        json!([{"op": "replace", "value": {"id": ID, "displayName": "x", "externalId": "x"}}]),
        json!([{"op": "remove", "path": "displayName"}]),
        json!([{"op": "replace", "path": "displayName.value", "value": "x"}]),
        json!([{"op": "replace", "path": "members.value", "value": "x"}]),
        json!([{"op": "add", "value": {"members.value": "x"}}]),
        json!([{"op": "add", "value": {}}]),
        json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:roster:2.0:Group": {"parent": "p"}}}]),
    ];
    for ops in others {
        let request = parse_request(&msg(ops.clone()), Mode::Tolerant).unwrap();
        assert!(apply_to_membership(&registry(), ID, &request, Mode::Tolerant).unwrap().is_none(), "{ops}");
    }
}

/// Okta's group push names the group again with every membership update. Such a request changes
/// only membership on a group that already has the name it leaves: `apply_to_membership` answers
/// as `apply` does on that stored group (changes, rules, not changed) and says the name, and on
/// a group with another name the same request is a rename (which the statement must refuse).
#[test]
fn membership_with_the_groups_own_name_needs_no_stored_group() {
    let pushes = [
        json!([
            {"op": "replace", "value": {"id": ID, "displayName": "Tour Guides"}},
            {"op": "remove", "path": "members[value eq \"a\"]"},
            {"op": "add", "path": "members", "value": [{"value": "b", "display": "B"}]}
        ]),
        json!([{"op": "replace", "value": {"id": ID, "displayName": "Tour Guides"}}]),
        json!([
            {"op": "replace", "path": "displayName", "value": "Tour Guides"},
            {"op": "add", "path": "members", "value": [{"value": "c"}]}
        ]),
        json!([{"op": "add", "value": {"displayName": "Tour Guides", "members": [{"value": "d"}]}}]),
        json!([
            {"op": "Replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:Group:displayName": "Tour Guides"}},
            {"op": "Remove", "path": "members", "value": [{"value": "e"}]}
        ]),
    ];
    let renamed = json!({"displayName": "Old Name", "externalId": "tg"});
    for ops in &pushes {
        let request = parse_request(&msg(ops.clone()), Mode::Tolerant).unwrap();
        let only = apply_to_membership(&registry(), ID, &request, Mode::Tolerant)
            .unwrap()
            .unwrap_or_else(|| panic!("membership with the name: {ops}"));
        assert_eq!(only.display_name.as_deref(), Some("Tour Guides"), "{ops}");
        let stored = apply(&registry(), Group, &obj(group()), ID, &request, Mode::Tolerant).unwrap();
        assert_eq!(changes(&only.applied), changes(&stored), "{ops}");
        assert_eq!(only.applied.fired, stored.fired, "{ops}");
        assert!(!only.applied.changed && !stored.changed, "{ops}");
        let rename = apply(&registry(), Group, &obj(renamed.clone()), ID, &request, Mode::Tolerant).unwrap();
        assert!(rename.changed, "on a group with another name it renames: {ops}");
    }
    // Another group's id in the value: the same 400 as on the stored group.
    let other = json!([{"op": "replace", "value": {"id": "another", "displayName": "Tour Guides"}}]);
    let request = parse_request(&msg(other), Mode::Tolerant).unwrap();
    let alone = apply_to_membership(&registry(), ID, &request, Mode::Tolerant).unwrap_err();
    let stored = apply(&registry(), Group, &obj(group()), ID, &request, Mode::Tolerant).unwrap_err();
    assert_eq!(alone.to_string(), stored.to_string());
    // Two names in one request: the last one is what it leaves.
    let twice = json!([
        {"op": "replace", "path": "displayName", "value": "First"},
        {"op": "replace", "value": {"displayName": "Tour Guides"}}
    ]);
    let request = parse_request(&msg(twice), Mode::Tolerant).unwrap();
    let only = apply_to_membership(&registry(), ID, &request, Mode::Tolerant).unwrap().unwrap();
    assert_eq!(only.display_name.as_deref(), Some("Tour Guides"));
}
