//! The examples of RFC 7644 §3.5.2.1–3, in both modes (none of them needs a tolerance rule).

use super::*;

const BJ: &str = "2819c223-7f76-453a-919d-413861904646";
const JS: &str = "08e1d05d-121c-4561-8b96-473d93df9210";

/// Runs `ops` in both modes, checks they agree and no rule fired, and returns the result.
fn both(kind: ResourceKind, resource: &Value, ops: Value) -> Applied {
    let tolerant = ok(kind, resource, ops.clone());
    let strict = strict_ok(kind, resource, ops);
    assert_eq!(tolerant, strict);
    assert_eq!(tolerant.fired, Vec::<Rule>::new());
    tolerant
}

#[test]
fn add_members() {
    let a = both(
        Group,
        &group(),
        json!([{"op": "add", "path": "members", "value": [
            {"display": "Babs Jensen", "$ref": format!("https://example.com/v2/Users/{BJ}"), "value": BJ}
        ]}]),
    );
    assert_eq!(
        changes(&a),
        [MemberChange::Add(vec![MemberRef { value: BJ.into(), kind: Some("User".into()) }])]
    );
    assert_eq!(value(&a), group());
    assert!(!a.changed);
}

#[test]
fn add_emails_and_nickname_without_path() {
    let a = both(
        User,
        &user(),
        json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"},
            {"value": "b@example.org", "type": "other"}], "nickname": "Babs"}}]),
    );
    assert_eq!(a.resource["nickName"], "Babs");
    assert_eq!(
        a.resource["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"},
            {"value": "b@example.org", "type": "other"}
        ])
    );
    assert!(a.changed);
}

#[test]
fn remove_single_member() {
    let a = both(Group, &group(), json!([{"op": "remove", "path": format!("members[value eq \"{BJ}\"]")}]));
    assert_eq!(changes(&a), [MemberChange::Remove(vec![BJ.into()])]);
}

#[test]
fn remove_all_members() {
    let a = both(Group, &group(), json!([{"op": "remove", "path": "members"}]));
    assert_eq!(changes(&a), [MemberChange::RemoveAll]);
    assert!(!a.resource.contains_key("members"));
}

#[test]
fn remove_work_emails_by_complex_filter() {
    let a = both(
        User,
        &user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
    );
    assert_eq!(a.resource["emails"], json!([{"value": "babs@jensen.org", "type": "home"}]));
}

#[test]
fn remove_a_member_and_add_another() {
    let a = both(
        Group,
        &group(),
        json!([
            {"op": "remove", "path": format!("members[value eq \"{BJ}\"]")},
            {"op": "add", "path": "members", "value": [
                {"display": "James Smith", "$ref": format!("https://example.com/v2/Users/{JS}"), "value": JS}
            ]}
        ]),
    );
    assert_eq!(
        changes(&a),
        [
            MemberChange::Remove(vec![BJ.into()]),
            MemberChange::Add(vec![MemberRef { value: JS.into(), kind: Some("User".into()) }])
        ]
    );
}

#[test]
fn replace_all_members_by_remove_then_add() {
    let a = both(
        Group,
        &group(),
        json!([
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"value": BJ}, {"value": JS}]}
        ]),
    );
    assert_eq!(changes(&a), [MemberChange::RemoveAll, MemberChange::Add(vec![user_ref(BJ), user_ref(JS)])]);
}

#[test]
fn replace_all_members() {
    let a = both(
        Group,
        &group(),
        json!([{"op": "replace", "path": "members", "value": [{"value": BJ}, {"value": JS, "type": "group"}]}]),
    );
    assert_eq!(
        changes(&a),
        [MemberChange::ReplaceAll(vec![
            user_ref(BJ),
            MemberRef { value: JS.into(), kind: Some("Group".into()) }
        ])]
    );
}

#[test]
fn replace_work_address_element() {
    let new = json!({"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
        "region": "CA", "postalCode": "91608", "country": "US", "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
        "primary": true});
    let a =
        both(User, &user(), json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": new}]));
    assert_eq!(a.resource["addresses"], json!([new]));
}

#[test]
fn replace_sub_attribute_of_filtered_element() {
    let a = both(
        User,
        &user(),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
    );
    assert_eq!(a.resource["addresses"][0]["streetAddress"], "1010 Broadway Ave");
    assert_eq!(a.resource["addresses"][0]["locality"], "Hollywood");
}

#[test]
fn replace_emails_and_nickname_without_path() {
    let emails = json!([{"value": "bjensen@example.com", "type": "work", "primary": true},
        {"value": "babs@jensen.org", "type": "home"}]);
    let start = json!({"userName": "bjensen", "emails": [{"value": "old@example.com", "type": "work"}]});
    let a = both(User, &start, json!([{"op": "replace", "value": {"emails": emails, "nickName": "Babs"}}]));
    assert_eq!(a.resource["emails"], emails);
    assert_eq!(a.resource["nickName"], "Babs");
}

#[test]
fn replace_emails_with_path() {
    let a = both(
        User,
        &user(),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "only@example.com", "type": "work"}]}]),
    );
    assert_eq!(a.resource["emails"], json!([{"value": "only@example.com", "type": "work"}]));
}
