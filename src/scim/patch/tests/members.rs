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

/// `apply_to_members` answers for requests that only touch `members`, exactly as `apply` on a
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
            let alone =
                apply_to_members(&registry(), &request, mode).map(|a| a.expect("members only: {ops}"));
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
        json!([{"op": "replace", "path": "displayName", "value": "x"}]),
        json!([{"op": "add", "path": "members", "value": [{"value": "a"}]}, {"op": "remove", "path": "externalId"}]),
        json!([{"op": "add", "value": {"members": [{"value": "c"}], "displayName": "x"}}]),
        json!([{"op": "replace", "path": "members.value", "value": "x"}]),
        json!([{"op": "add", "value": {"members.value": "x"}}]),
        json!([{"op": "add", "value": {}}]),
        json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:roster:2.0:Group": {"parent": "p"}}}]),
    ];
    for ops in others {
        let request = parse_request(&msg(ops.clone()), Mode::Tolerant).unwrap();
        assert!(apply_to_members(&registry(), &request, Mode::Tolerant).unwrap().is_none(), "{ops}");
    }
}
