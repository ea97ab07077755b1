//! Projector: attributes, excludedAttributes and returned, written from a tree and from text.

use super::*;
use serde_json::json;

fn stored() -> Map<String, Value> {
    obj(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, TEST_EXT],
        "id": "2819c223",
        "externalId": "bjensen",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "password": "should never leak",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "groups": [{"value": "e9e30dba", "display": "Tour Guides"}],
        "internalColumn": 7,
        ENTERPRISE_USER_SCHEMA: {"department": "Tour Operations", "manager": {"value": "26118915", "displayName": "John"}},
        TEST_EXT: {"badge": 1, "secretQuestion": "pet?"},
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
                 "lastModified": "2011-05-13T04:42:34Z", "location": "https://x/Users/2819c223"}
    }))
}

/// `resource` written through the projection of `attributes` / `excluded` (every entry in the
/// view's body, in stored order), read back.
fn project(
    registry: &Registry,
    kind: ResourceKind,
    resource: Map<String, Value>,
    a: &[String],
    e: &[String],
) -> Value {
    let projector = Projector::new(registry, kind, a, e);
    let written = serde_json::to_string(&projector.view(&[], &resource, &[])).unwrap();
    serde_json::from_str(&written).unwrap()
}

/// The projection of [`stored`] as a GET writes it (`schemas` and `id`, the attributes, `meta`),
/// checked to be written the same, keys in the same order, by the view that never parses the
/// attributes ([`Projector::view_text`]) and by the view of every entry in stored order.
fn run(attributes: &[&str], excluded: &[&str]) -> Value {
    let a: Vec<String> = attributes.iter().map(|s| s.to_string()).collect();
    let e: Vec<String> = excluded.iter().map(|s| s.to_string()).collect();
    let registry = test_registry();
    let projector = Projector::new(&registry, ResourceKind::User, &a, &e);
    let mut body = stored();
    let mut take = |key: &str| body.shift_remove(key).unwrap();
    let head = [("schemas", take("schemas")), ("id", take("id"))];
    let tail = [("meta", take("meta"))];
    let written = serde_json::to_string(&projector.view(&head, &body, &tail)).unwrap();
    let flat = project(&registry, ResourceKind::User, stored(), &a, &e);
    assert_eq!(written, serde_json::to_string(&flat).unwrap(), "attributes={a:?} excluded={e:?}");
    let copied: Value = serde_json::from_str(&written).unwrap();
    // The same attributes as text (spaced and broken over lines, as no writer of this server
    // would send them), never parsed into a tree: the same resource once read back.
    let text = serde_json::to_string_pretty(&body).unwrap();
    let id = [("id", head[1].1.clone())];
    let written = serde_json::to_string(&projector.view_text(&id, &text, &[], &tail)).unwrap();
    let read: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(
        serde_json::to_string(&read).unwrap(),
        serde_json::to_string(&copied).unwrap(),
        "as text: attributes={a:?} excluded={e:?}"
    );
    copied
}

#[test]
fn a_resource_read_as_text_takes_its_overrides_in_place_or_after() {
    let registry = test_registry();
    let projector = Projector::new(&registry, ResourceKind::User, &[], &[]);
    let body = r#"{"userName": "ann", "name": {"givenName": "Ann", "unknown": 1}, "displayName": "Ann", "emails": [{"value": "a@x"}, {"unknown": 2}, 3]}"#;
    let overrides = [("displayName", json!("Ann A.")), ("groups", json!([{"value": "g1", "display": "G"}]))];
    let out =
        serde_json::to_value(projector.view_text(&[("id", json!("1"))], body, &overrides, &[])).unwrap();
    assert_eq!(
        serde_json::to_string(&out).unwrap(),
        serde_json::to_string(&json!({
            "schemas": [USER_SCHEMA],
            "id": "1",
            "userName": "ann",
            "name": {"givenName": "Ann"},
            "displayName": "Ann A.",
            "emails": [{"value": "a@x"}],
            "groups": [{"value": "g1", "display": "G"}]
        }))
        .unwrap()
    );
    // Not an object: read as empty, the overrides still written.
    let out = serde_json::to_value(projector.view_text(&[], "[1]", &overrides, &[])).unwrap();
    assert_eq!(out["displayName"], "Ann A.");
    assert_eq!(out.as_object().unwrap().len(), 3, "{out}");
}

#[test]
fn default_drops_never_request_and_unknown_keeping_order() {
    let out = run(&[], &[]);
    let m = obj(out.clone());
    assert_eq!(
        keys(&m),
        [
            "schemas",
            "id",
            "externalId",
            "userName",
            "name",
            "emails",
            "groups",
            ENTERPRISE_USER_SCHEMA,
            TEST_EXT,
            "meta"
        ]
    );
    assert_eq!(out[TEST_EXT], json!({"badge": 1}), "returned:request is omitted");
    assert_eq!(out["emails"], stored()["emails"]);
}

#[test]
fn attributes_select_paths() {
    let ent = ENTERPRISE_USER_SCHEMA;
    let dept = format!("{ent}:department");
    let manager_value = format!("{}:MANAGER.VALUE", ent.to_uppercase());
    let secret = format!("{TEST_EXT}:secretQuestion");
    let cases: Vec<(Vec<&str>, Value)> = vec![
        (vec!["userName"], json!({"userName": "bjensen@example.com"})),
        (
            vec!["USERNAME", "Name.GivenName"],
            json!({"userName": "bjensen@example.com", "name": {"givenName": "Barbara"}}),
        ),
        (
            vec!["emails.value"],
            json!({"emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]}),
        ),
        (vec!["emails"], json!({"emails": stored()["emails"]})),
        (vec!["emails.primary"], json!({"emails": [{"primary": true}]})),
        (vec![ent], json!({ent: stored()[ent]})),
        (vec![dept.as_str()], json!({ent: {"department": "Tour Operations"}})),
        (vec![manager_value.as_str()], json!({ent: {"manager": {"value": "26118915"}}})),
        (vec!["meta.lastModified"], json!({"meta": {"lastModified": "2011-05-13T04:42:34Z"}})),
        (vec![secret.as_str()], json!({TEST_EXT: {"secretQuestion": "pet?"}})),
        (vec!["password", "nope", "name.nope", "internalColumn"], json!({})),
        (
            vec!["urn:ietf:params:scim:schemas:core:2.0:User:userName"],
            json!({"userName": "bjensen@example.com"}),
        ),
    ];
    for (attrs, extra) in cases {
        let mut want = obj(json!({"schemas": stored()["schemas"], "id": "2819c223"}));
        let extra = obj(extra);
        // Expected keys follow the stored order.
        let mut ordered = Map::new();
        for (k, _) in stored() {
            if let Some(x) = want.remove(&k).or_else(|| extra.get(&k).cloned()) {
                ordered.insert(k, x);
            }
        }
        assert_eq!(run(&attrs, &[]), Value::Object(ordered), "attributes={attrs:?}");
    }
}

#[test]
fn excluded_attributes() {
    let out = run(&[], &["emails", "name.familyName", "id", "password", "meta", "unknownThing"]);
    let m = obj(out.clone());
    assert_eq!(
        keys(&m),
        ["schemas", "id", "externalId", "userName", "name", "groups", ENTERPRISE_USER_SCHEMA, TEST_EXT]
    );
    assert_eq!(out["name"], json!({"givenName": "Barbara"}));

    let ext_out = run(&[], &[ENTERPRISE_USER_SCHEMA, &format!("{TEST_EXT}:badge")]);
    let m = obj(ext_out);
    assert!(!m.contains_key(ENTERPRISE_USER_SCHEMA));
    assert!(!m.contains_key(TEST_EXT), "an extension left empty is omitted");
    assert!(m.contains_key("userName"));
}

#[test]
fn attributes_win_over_excluded() {
    let out = run(&["userName"], &["userName"]);
    assert_eq!(obj(out).get("userName"), Some(&json!("bjensen@example.com")));
}

#[test]
fn group_projection_keeps_members() {
    let g = obj(json!({"schemas": [GROUP_SCHEMA], "id": "g", "displayName": "G",
                       "members": [{"value": "a", "display": "Alice", "type": "User"}]}));
    let out = project(&registry(), ResourceKind::Group, g.clone(), &["members.display".to_string()], &[]);
    assert_eq!(out, json!({"schemas": [GROUP_SCHEMA], "id": "g", "members": [{"display": "Alice"}]}));
    let all = project(&registry(), ResourceKind::Group, g.clone(), &[], &[]);
    assert_eq!(all, Value::Object(g));
}
