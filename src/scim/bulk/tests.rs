#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use uuid::Uuid;

use super::*;
use crate::scim::schema::ResourceKind;

fn request(ops: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": ops})
}

fn post_user(bulk_id: &str, extra: Value) -> Value {
    let mut data = json!({"userName": bulk_id});
    if let (Value::Object(d), Value::Object(e)) = (&mut data, extra) {
        d.extend(e);
    }
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data})
}

fn post_group(bulk_id: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": format!("bulkId:{m}")})).collect();
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
           "data": {"displayName": bulk_id, "members": members}})
}

/// (index, "run" | status) in execution order.
fn order(ops: Value) -> Vec<(usize, String)> {
    let parsed = parse(&request(ops), 10_000).unwrap();
    plan(&parsed.operations)
        .into_iter()
        .map(|s| match s {
            Step::Run(i) => (i, "run".to_string()),
            Step::Fail(i, e) => (i, format!("{}", e.status())),
        })
        .collect()
}

#[test]
fn whole_request_errors_are_invalid_syntax() {
    for body in [
        json!([]),
        json!({"Operations": []}),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}),
        json!({"schemas": [BULK_REQUEST]}),
        json!({"schemas": [BULK_REQUEST], "Operations": {}}),
        json!({"schemas": [BULK_REQUEST], "Operations": [42]}),
        json!({"schemas": [BULK_REQUEST], "failOnErrors": 0, "Operations": []}),
        json!({"schemas": [BULK_REQUEST], "failOnErrors": "1", "Operations": []}),
        json!({"schemas": [BULK_REQUEST], "failOnErrors": 1.5, "Operations": []}),
        request(json!([post_user("a", json!({})), post_user("a", json!({}))])),
    ] {
        let err = parse(&body, 10).unwrap_err();
        assert_eq!(
            (err.status(), err.scim_type()),
            (400, Some(crate::error::ScimType::InvalidSyntax)),
            "{body}"
        );
    }
}

#[test]
fn attribute_names_are_case_insensitive_and_failon_errors_is_read() {
    let body = json!({"SCHEMAS": [BULK_REQUEST.to_uppercase()], "failonerrors": 2,
                      "operations": [{"METHOD": "post", "Path": "/Users", "BULKID": "a", "Data": {}}]});
    let parsed = parse(&body, 10).unwrap();
    assert_eq!(parsed.fail_on_errors, Some(2));
    assert_eq!(parsed.operations[0].envelope.method.as_deref(), Some("POST"));
    assert!(matches!(parsed.operations[0].action, Ok(Action::Create { kind: ResourceKind::User, .. })));
}

#[test]
fn too_many_operations_is_413_naming_the_limit() {
    let ops: Vec<Value> = (0..4).map(|i| post_user(&format!("u{i}"), json!({}))).collect();
    let err = parse(&request(Value::Array(ops)), 3).unwrap_err();
    assert_eq!(err.status(), 413);
    assert!(err.detail().contains("maxOperations (3"), "{}", err.detail());
}

#[test]
fn operation_errors_are_answered_like_the_single_request() {
    let id = Uuid::now_v7();
    let cases = [
        (json!({"path": "/Users", "bulkId": "a", "data": {}}), 400),
        (json!({"method": "GET", "path": "/Users"}), 400),
        (json!({"method": "POST", "path": "/Users", "data": {}}), 400),
        (json!({"method": "POST", "path": "/Users", "bulkId": 7, "data": {}}), 400),
        (json!({"method": "POST", "bulkId": "a", "data": {}}), 400),
        (json!({"method": "POST", "path": "/Users", "bulkId": "a"}), 400),
        (json!({"method": "PUT", "path": format!("/Users/{id}")}), 400),
        (json!({"method": "DELETE", "path": format!("/Users/{id}"), "version": "3"}), 400),
        (json!({"method": "POST", "path": "/Printers", "bulkId": "a", "data": {}}), 404),
        (json!({"method": "DELETE", "path": "/Users/not-a-uuid"}), 404),
        (json!({"method": "DELETE", "path": format!("/Users/{id}/x")}), 404),
        (json!({"method": "DELETE", "path": "/Users"}), 405),
        (json!({"method": "POST", "path": format!("/Users/{id}"), "bulkId": "a", "data": {}}), 405),
    ];
    for (op, status) in cases {
        let parsed = parse(&request(json!([op])), 10).unwrap();
        let err = parsed.operations[0].action.as_ref().unwrap_err();
        assert_eq!(err.status(), status, "{op}: {err}");
    }
}

#[test]
fn paths_and_versions_are_typed() {
    let id = Uuid::now_v7();
    let parsed = parse(
        &request(json!([
            {"method": "delete", "path": format!("/Groups/{id}"), "version": "W/\"3\""},
            {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {"Operations": []}},
        ])),
        10,
    )
    .unwrap();
    match &parsed.operations[0].action {
        Ok(Action::Delete { kind: ResourceKind::Group, id: Target::Id(got), if_match: Some(_) }) => {
            assert_eq!(*got, id)
        }
        other => panic!("{other:?}"),
    }
    match &parsed.operations[1].action {
        Ok(Action::Patch { id: Target::BulkId(b), .. }) => assert_eq!(b, "u1"),
        other => panic!("{other:?}"),
    }
    assert_eq!(parsed.operations[1].references, vec!["u1".to_string()]);
}

#[test]
fn references_are_found_anywhere_in_data_once_each() {
    let mut refs = Vec::new();
    collect_references(
        &json!({"members": [{"value": "bulkId:a"}, {"value": "bulkId:b"}, {"value": "bulkId:a"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "bulkId:c"}},
                "Operations": [{"op": "add", "value": ["bulkId:d"]}],
                "displayName": "bulkId:", "title": "see bulkId:x", "n": 3}),
        &mut refs,
    );
    assert_eq!(refs, ["a", "b", "c", "d"]);
}

#[test]
fn forward_references_run_after_the_post_they_need() {
    // RFC 7644 §3.7.2: the group refers to a user POSTed after it.
    let steps = order(json!([
        post_group("g", &["u"]),
        post_user("u", json!({})),
        {"method": "DELETE", "path": "/Users/bulkId:u2"},
        post_user("u2", json!({})),
    ]));
    let indexes: Vec<usize> = steps.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, [1, 0, 3, 2]);
    assert!(steps.iter().all(|(_, s)| s == "run"));
}

#[test]
fn without_references_request_order_is_kept() {
    let ops: Vec<Value> = (0..5).map(|i| post_user(&format!("u{i}"), json!({}))).collect();
    let indexes: Vec<usize> = order(Value::Array(ops)).iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4]);
}

#[test]
fn cycles_fail_with_409_naming_the_bulk_ids_and_spare_the_rest() {
    let ops = json!([
        post_user("before", json!({})),
        post_group("a", &["b"]),
        post_group("b", &["a"]),
        post_group("self", &["self"]),
        post_group("after", &["before"]),
        post_group("dependent", &["a"]),
    ]);
    let parsed = parse(&request(ops.clone()), 10).unwrap();
    let steps = plan(&parsed.operations);
    assert_eq!(steps.len(), 6, "every operation appears once");
    for step in &steps {
        match step {
            Step::Fail(i, e) if [1, 2].contains(i) => {
                assert_eq!((e.status(), e.scim_type()), (409, None));
                assert!(e.detail().contains("\"a\", \"b\"") && e.detail().contains("circular"), "{e}");
            }
            Step::Fail(3, e) => assert!(e.detail().contains("\"self\""), "{e}"),
            Step::Run(i) => assert!([0, 4, 5].contains(i), "{i} should not run"),
            other => panic!("unexpected {other:?}"),
        }
    }
    // The operation that depends on the cycle runs, and fails when it cannot resolve "a".
    let resolver = Resolver::default();
    let dependent = parse(&request(ops), 10).unwrap().operations.remove(5).action.unwrap();
    let err = resolver.resolve(dependent).unwrap_err();
    assert_eq!((err.status(), err.scim_type()), (409, Some(crate::error::ScimType::InvalidValue)));
}

#[test]
fn unknown_bulk_ids_fail_with_409_invalid_value() {
    let steps =
        order(json!([post_group("g", &["nobody"]), {"method": "DELETE", "path": "/Users/bulkId:ghost"}]));
    assert_eq!(steps, [(0, "409".to_string()), (1, "409".to_string())]);
}

#[test]
fn a_failed_operation_waits_for_nothing() {
    // The POST has a bad path, so its reference does not count; it runs (and fails) in place.
    let steps = order(json!([
        {"method": "POST", "path": "/Nope", "bulkId": "x", "data": {"value": "bulkId:y"}},
        post_user("y", json!({})),
    ]));
    assert_eq!(steps, [(0, "run".to_string()), (1, "run".to_string())]);
}

#[test]
fn long_reference_chains_do_not_exhaust_the_stack() {
    let n = 5000;
    let ops: Vec<Value> = (0..n)
        .map(|i| post_user(&format!("u{i}"), json!({"manager": format!("bulkId:u{}", i + 1)})))
        .chain([post_user(&format!("u{n}"), json!({}))])
        .collect();
    let indexes: Vec<usize> = order(Value::Array(ops)).iter().map(|(i, _)| *i).collect();
    let expected: Vec<usize> = (0..=n).rev().collect();
    assert_eq!(indexes, expected);
}

#[test]
fn resolver_substitutes_created_ids_in_path_and_data() {
    let (u, g) = (Uuid::now_v7(), Uuid::now_v7());
    let mut resolver = Resolver::default();
    resolver.record("u", u);
    resolver.record("g", g);
    let parsed = parse(
        &request(json!([{"method": "PATCH", "path": "/Groups/bulkId:g", "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u"}]}]}}])),
        10,
    )
    .unwrap();
    let action = parsed.operations.into_iter().next().unwrap().action.unwrap();
    match resolver.resolve(action).unwrap() {
        Action::Patch { id, data, .. } => {
            assert_eq!(id, g);
            assert_eq!(data["Operations"][0]["value"][0]["value"], u.to_string());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_response_lists_run_operations_in_request_order() {
    let id = Uuid::now_v7();
    let env = |m: &str, b: Option<&str>| Envelope {
        method: Some(m.into()),
        bulk_id: b.map(str::to_string),
        path: None,
    };
    let entries = vec![
        Entry {
            envelope: env("POST", Some("q")),
            outcome: Some(Outcome::Done {
                status: 201,
                kind: ResourceKind::User,
                id,
                version: Some(crate::scim::resource::Version::new(1)),
            }),
            latency_ms: 1.0,
        },
        Entry {
            envelope: env("POST", Some("r")),
            outcome: Some(Outcome::Failed {
                error: crate::error::ScimError::uniqueness("userName"),
                target: None,
            }),
            latency_ms: 1.0,
        },
        Entry { envelope: env("DELETE", None), outcome: None, latency_ms: 0.0 },
    ];
    let body = response("https://x/scim/v2/c", &entries);
    assert_eq!(
        body,
        json!({"schemas": [BULK_RESPONSE], "Operations": [
            {"method": "POST", "bulkId": "q", "version": "W/\"1\"",
             "location": format!("https://x/scim/v2/c/Users/{id}"), "status": "201"},
            {"method": "POST", "bulkId": "r", "status": "409", "response": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409",
                "scimType": "uniqueness",
                "detail": "userName is already in use by another resource of this tenant"}}
        ]})
    );
}
