//! What can be stored: NUL is refused in every string, and values longer than their attribute's
//! [`TextLimit`] are refused, each with a 400 `invalidValue` naming the attribute and the limit.

use super::*;
use serde_json::json;

const NUL: &str = "a\u{0}b";

fn long(n: usize) -> String {
    "x".repeat(n)
}

/// (resource kind, body, attribute the detail must name, fragment of the detail)
fn rejected() -> Vec<(ResourceKind, Value, &'static str, String)> {
    let ent = ENTERPRISE_USER_SCHEMA;
    let nul = "U+0000 (NUL)".to_string();
    let u = ResourceKind::User;
    let g = ResourceKind::Group;
    vec![
        (u, json!({"userName": NUL}), "userName", nul.clone()),
        (u, json!({"userName": "a", "nickName": NUL}), "nickName", nul.clone()),
        (u, json!({"userName": "a", "title": NUL}), "title", nul.clone()),
        (u, json!({"userName": "a", "name": {"givenName": NUL}}), "name.givenName", nul.clone()),
        (u, json!({"userName": "a", "emails": [{"value": NUL}]}), "emails.value", nul.clone()),
        (
            u,
            json!({"userName": "a", "emails": [{"value": "b@c.d", "type": NUL}]}),
            "emails.type",
            nul.clone(),
        ),
        (u, json!({"userName": "a", "profileUrl": NUL}), "profileUrl", nul.clone()),
        (u, json!({"userName": "a", "password": NUL}), "password", nul.clone()),
        (
            u,
            json!({"userName": "a", ent: {"department": NUL}}),
            "enterprise:2.0:User:department",
            nul.clone(),
        ),
        (
            u,
            json!({"userName": "a", "x509Certificates": [{"value": NUL}]}),
            "x509Certificates.value",
            nul.clone(),
        ),
        (g, json!({"displayName": NUL}), "displayName", nul.clone()),
        (g, json!({"displayName": "G", "externalId": NUL}), "externalId", nul.clone()),
        (u, json!({"userName": long(1025)}), "userName", "at most 1024".into()),
        (u, json!({"userName": long(3000)}), "userName", "3000 characters long".into()),
        (u, json!({"userName": "a", "externalId": long(3000)}), "externalId", "at most 1024".into()),
        (
            u,
            json!({"userName": "a", "emails": [{"value": long(1025)}]}),
            "emails.value",
            "at most 1024".into(),
        ),
        (u, json!({"userName": "ж".repeat(1025)}), "userName", "at most 1024".into()),
        (u, json!({"userName": "😀".repeat(600)}), "userName", "at most 2048 bytes".into()),
        (u, json!({"userName": "a", "title": long(201)}), "title", "at most 200".into()),
        (u, json!({"userName": "a", "nickName": long(16_385)}), "nickName", "at most 16384".into()),
        (
            u,
            json!({"userName": "a", ent: {"department": long(16_385)}}),
            "department",
            "at most 16384".into(),
        ),
        (g, json!({"displayName": long(3000)}), "displayName", "at most 1024".into()),
        (g, json!({"displayName": "G", "externalId": long(1025)}), "externalId", "at most 1024".into()),
    ]
}

#[test]
fn unstorable_and_overlong_values_are_invalid_value_naming_attribute_and_limit() {
    for (kind, body, attr, fragment) in rejected() {
        let err = match normalize(&registry(), kind, &body) {
            Ok(n) => panic!("{body}: expected an error, got {:?}", n.resource),
            Err(e) => e,
        };
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{err}");
        assert_eq!(err.status(), 400);
        let detail = err.detail();
        assert!(detail.contains(attr), "{detail:?} should name {attr}");
        assert!(detail.contains(&fragment), "{detail:?} should contain {fragment:?}");
        assert!(detail.len() < 300, "the detail never echoes the value: {detail}");
    }
}

#[test]
fn values_at_the_limit_are_accepted() {
    let ent = ENTERPRISE_USER_SCHEMA;
    let n = user(json!({
        "userName": long(1024),
        "externalId": "ж".repeat(1024),
        "title": long(200),
        "nickName": long(16_384),
        "emails": [{"value": long(1024)}],
        ent: {"department": "tab\tand\nnewline are fine"},
    }));
    assert_eq!(n.resource["title"].as_str().map(str::len), Some(200));
    group(json!({"displayName": long(1024)}));
}

#[test]
fn closed_canonical_values_quote_at_most_an_excerpt() {
    let long_type = long(5000);
    let body = json!({"displayName": "G", "members": [{"value": "m", "type": long_type}]});
    let err = group_err(body);
    assert!(err.detail().len() < 200, "{}", err.detail());
    assert!(err.detail().contains("5000 characters"), "{}", err.detail());
}

#[test]
fn limits_are_published_in_attribute_descriptions() {
    let reg = registry();
    let doc = schema_document(reg.schema(USER_SCHEMA).unwrap(), "https://x");
    let attr = |name: &str| {
        doc["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap().clone()
    };
    assert!(attr("userName")["description"]
        .as_str()
        .unwrap()
        .ends_with("at most 1024 characters (2048 bytes of UTF-8)."));
    assert!(attr("title")["description"].as_str().unwrap().ends_with("at most 200 characters."));
    assert!(!attr("nickName")["description"].as_str().unwrap().contains("at most"));
}
