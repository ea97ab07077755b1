//! Okta OIN request sequences (IDP-NOTES.md).

use super::*;

#[test]
fn group_rename_with_same_id() {
    let ops = json!([{"op": "replace", "value": {"id": ID, "displayName": "Tour Leads"}}]);
    let a = ok(Group, &group(), ops.clone());
    assert_eq!(value(&a), json!({"displayName": "Tour Leads", "externalId": "tg"}));
    assert_eq!(a.fired, [Rule::ReadOnlyKeyIgnored]);
    assert!(a.changed);
    assert_eq!(err_type(Group, &group(), ops, Mode::Strict), Some(ScimType::Mutability));
}

#[test]
fn group_rename_with_other_id_is_mutability() {
    let ops = json!([{"op": "replace", "value": {"id": "other", "displayName": "Tour Leads"}}]);
    assert_eq!(err_type(Group, &group(), ops, Mode::Tolerant), Some(ScimType::Mutability));
}

#[test]
fn membership_update_with_repeated_rename() {
    let ops = json!([
        {"op": "replace", "value": {"id": ID, "displayName": "Tour Guides"}},
        {"op": "remove", "path": "members[value eq \"u1\"]"},
        {"op": "add", "path": "members", "value": [{"value": "u2", "display": "Jane Doe"}]}
    ]);
    let a = ok(Group, &group(), ops);
    assert_eq!(
        changes(&a),
        [MemberChange::Remove(vec!["u1".into()]), MemberChange::Add(vec![user_ref("u2")])]
    );
    assert!(!a.changed);
    assert_eq!(value(&a), group());
}

#[test]
fn membership_without_rename_is_strict_clean() {
    let ops = json!([
        {"op": "remove", "path": "members[value eq \"u1\"]"},
        {"op": "add", "path": "members", "value": [{"value": "u2", "display": "Jane Doe"}]}
    ]);
    let a = strict_ok(Group, &group(), ops);
    assert_eq!(changes(&a).len(), 2);
    assert!(a.fired.is_empty());
}

#[test]
fn full_push_replaces_members() {
    let ops = json!([{"op": "replace", "path": "members", "value": [{"value": "u1", "display": "A"}, {"value": "u2"}]}]);
    let a = strict_ok(Group, &group(), ops);
    assert_eq!(changes(&a), [MemberChange::ReplaceAll(vec![user_ref("u1"), user_ref("u2")])]);
    let empty = strict_ok(Group, &group(), json!([{"op": "replace", "path": "members", "value": []}]));
    assert_eq!(changes(&empty), [MemberChange::ReplaceAll(vec![])]);
}

#[test]
fn pathless_active_false_deactivates() {
    let ops = json!([{"op": "replace", "value": {"active": false}}]);
    let a = ok(User, &user(), ops.clone());
    assert_eq!(a.resource["active"], false);
    assert!(a.changed);
    assert_eq!(a.fired, [Rule::PathlessActiveReplace]);
    // RFC-conformant: strict accepts it and still records the deactivation.
    let s = strict_ok(User, &user(), ops);
    assert_eq!(s, a);
}
