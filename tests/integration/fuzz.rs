//! An HTTP-level fuzz test: a few hundred random and hostile requests (generated from a fixed
//! seed, so every run sends the same ones) against a live server. None may be answered with a
//! 5xx, and every error must be a SCIM error body. (`/Me` is left out: it answers 501 on
//! purpose until it is implemented, see `errors::unsupported_features_answer_with_the_right_error`.)

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::support::requests::send;
use crate::support::TestApp;

/// How many requests one run sends.
const REQUESTS: usize = 300;

/// One generated request, described before the ids it may use are known.
#[derive(Debug, Clone)]
struct Plan {
    method: Method,
    /// A path template: `{user}` / `{group}` become real ids.
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        2 => (any::<String>(), any::<prop::sample::Index>()).prop_map(|(s, at)| {
            let mut chars: Vec<char> = s.chars().collect();
            chars.insert(at.index(chars.len() + 1), '\0');
            chars.into_iter().collect()
        }),
        2 => prop::sample::select(vec![
            "", "\u{0}", "a\u{0}b", "%00", "..", "../..", "true", "null", "bulkId:b1", "*", "W/\"1\"",
            "userName eq \"a\u{0}\"", "userName eq \"x\"", "emails[type eq \"work\"].value co \"@\"",
            "members[value eq \"x\"]", "((((((a pr))))))", "not (", "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            "meta.lastModified gt \"2020-01-01T00:00:00Z\"", "😀", "İ", "-1", "0", "99999999999999999999",
        ])
        .prop_map(str::to_string),
        1 => (prop::sample::select(vec!["x", "é", "\u{0}", "(", "["]), 100usize..5000).prop_map(|(s, n)| s.repeat(n)),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        3 => prop::sample::select(vec![
            "schemas", "userName", "displayName", "nickName", "title", "active", "emails", "value", "type",
            "members", "externalId", "password", "name", "givenName", "Operations", "op", "path", "method",
            "bulkId", "data", "filter", "startIndex", "count", "attributes", "sortBy", "failOnErrors",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "parent", "roles", "manager",
        ])
        .prop_map(str::to_string),
        1 => hostile_string(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// Plausible SCIM messages with hostile parts: (user, group, PatchOp, BulkRequest, SearchRequest).
#[allow(clippy::type_complexity)]
fn messages() -> (
    BoxedStrategy<Value>,
    BoxedStrategy<Value>,
    BoxedStrategy<Value>,
    BoxedStrategy<Value>,
    BoxedStrategy<Value>,
) {
    let user = (hostile_string(), json_value()).prop_map(|(name, extra)| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "title": extra})
    });
    let group = (hostile_string(), hostile_string()).prop_map(|(name, member)| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name,
               "members": [{"value": member}]})
    });
    let patch = (hostile_string(), hostile_string(), json_value()).prop_map(|(op, path, value)| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": op, "path": path, "value": value}, {"op": "add", "value": {path: value}}]})
    });
    let bulk = (json_value(), hostile_string(), hostile_string()).prop_map(|(data, path, method)| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
            {"method": method, "path": path, "bulkId": "b1", "data": data},
            {"method": "POST", "path": "/Users", "bulkId": "b2", "data": data},
            {"method": "PATCH", "path": "/Groups/bulkId:b1", "data": data},
        ]})
    });
    let search = (hostile_string(), json_value()).prop_map(|(filter, attrs)| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter,
               "attributes": attrs, "startIndex": attrs, "count": 2})
    });
    (user.boxed(), group.boxed(), patch.boxed(), bulk.boxed(), search.boxed())
}

/// Bodies: plausible SCIM messages with hostile parts, random JSON, or junk bytes.
fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    let (user, group, patch, bulk, search) = messages();
    prop_oneof![
        2 => user,
        1 => group,
        2 => patch,
        1 => bulk,
        1 => search,
        2 => json_value(),
    ]
    .prop_map(|v| Some(v.to_string().into_bytes()))
    .boxed()
    .prop_union(prop::collection::vec(any::<u8>(), 0..300).prop_map(Some).boxed())
    .or(Just(None).boxed())
}

/// A request whose method, path and body belong together, so that hostile values get past
/// routing and parsing to validation and the database.
fn coherent() -> impl Strategy<Value = Plan> {
    let (user, group, patch, bulk, search) = messages();
    let json = |method: Method, path: &'static str, body: BoxedStrategy<Value>| {
        body.prop_map(move |b| Plan {
            method: method.clone(),
            path: path.to_string(),
            query: Vec::new(),
            headers: vec![("content-type".into(), "application/scim+json".into())],
            body: Some(b.to_string().into_bytes()),
        })
    };
    let list = |path: &'static str| {
        (prop::sample::select(vec!["filter", "sortBy", "attributes", "excludedAttributes"]), hostile_string())
            .prop_map(move |(k, v)| Plan {
                method: Method::GET,
                path: path.to_string(),
                query: vec![(k.to_string(), v)],
                headers: Vec::new(),
                body: None,
            })
    };
    prop_oneof![
        json(Method::POST, "/Users", user.clone()),
        json(Method::PUT, "/Users/{user}", user),
        json(Method::PATCH, "/Users/{user}", patch.clone()),
        json(Method::POST, "/Groups", group.clone()),
        json(Method::PUT, "/Groups/{group}", group),
        json(Method::PATCH, "/Groups/{group}", patch),
        json(Method::POST, "/Bulk", bulk),
        json(Method::POST, "/Users/.search", search.clone()),
        json(Method::POST, "/.search", search),
        list("/Users"),
        list("/Groups"),
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    prop_oneof![1 => coherent(), 1 => random()]
}

fn random() -> impl Strategy<Value = Plan> {
    let method = prop::sample::select(vec![
        Method::GET,
        Method::GET,
        Method::POST,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
    ]);
    let path = prop_oneof![
        4 => prop::sample::select(vec![
            "/Users", "/Users/{user}", "/Groups", "/Groups/{group}", "/Bulk", "/.search", "/Users/.search",
            "/Groups/.search", "/Schemas", "/ResourceTypes", "/ResourceTypes/User", "/ServiceProviderConfig",
            "/Roles", "/Roles/org_admin", "/Users/%00", "/Groups/%00/", "/Schemas/%00",
            "/Users/{user}/x", "//Users", "/Users/..%2F..",
        ])
        .prop_map(str::to_string),
        1 => hostile_string().prop_map(|s| {
            let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            format!("/Users/{encoded}")
        }),
    ];
    let query_key = prop::sample::select(vec![
        "filter",
        "attributes",
        "excludedAttributes",
        "sortBy",
        "sortOrder",
        "startIndex",
        "count",
        "cursor",
        "aadOptscim062020",
    ]);
    let query = prop::collection::vec((query_key.prop_map(str::to_string), hostile_string()), 0..3);
    let header = prop_oneof![
        (
            Just("content-type".to_string()),
            prop::sample::select(vec![
                "application/scim+json",
                "application/json",
                "application/scim+json; charset=utf-16",
                "text/plain",
                "application/json; charset=\"latin1\"",
                "multipart/form-data; boundary=x",
                "",
            ])
            .prop_map(str::to_string)
        ),
        (Just("if-match".to_string()), hostile_string()),
        (Just("if-none-match".to_string()), hostile_string()),
        (Just("x-request-id".to_string()), hostile_string()),
    ];
    let headers = prop::collection::vec(header, 0..3);
    (method, path, query, headers, body()).prop_map(|(method, path, query, headers, body)| Plan {
        method,
        path,
        query,
        headers,
        body,
    })
}

/// The plans of one run, always the same ones.
fn plans() -> Vec<Plan> {
    let config = Config { rng_seed: RngSeed::Fixed(0x2026_1204), ..Config::default() };
    let mut runner = TestRunner::new(config);
    let strategy = plan();
    (0..REQUESTS).map(|_| strategy.new_tree(&mut runner).expect("a plan").current()).collect()
}

#[tokio::test]
async fn hostile_requests_never_get_a_5xx() {
    let app = TestApp::spawn().await;
    let user = app.create_user("fuzz@example.com").await;
    let group = app.create_group("Fuzzers", &[&user]).await;
    let mut failures = Vec::new();
    for (i, p) in plans().into_iter().enumerate() {
        let path = p.path.replace("{user}", &user).replace("{group}", &group);
        let mut rb = app.req(p.method.clone(), &path).query(&p.query);
        for (name, value) in &p.headers {
            // Header values that HTTP cannot carry (control characters) are not sent at all.
            if reqwest::header::HeaderValue::from_str(value).is_ok() {
                rb = rb.header(name.as_str(), value.as_str());
            }
        }
        if let Some(body) = p.body.clone() {
            rb = rb.body(body);
        }
        let res = match rb.send().await {
            Ok(res) => res,
            // A request reqwest itself refuses to build (e.g. an invalid URL) never reached us.
            Err(e) if e.is_builder() => continue,
            Err(e) => panic!("request {i} failed: {e} ({} {})", p.method, roster::text::excerpt(&path)),
        };
        let status = res.status();
        let is_scim = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/scim+json"));
        let bytes = res.bytes().await.unwrap_or_default();
        if status.is_server_error() {
            failures.push(format!("{i}: {status} for {} {}", p.method, roster::text::excerpt(&path)));
        } else if status.is_client_error() && p.method != Method::HEAD {
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let scim_error = is_scim
                && body["schemas"][0] == "urn:ietf:params:scim:api:messages:2.0:Error"
                && body["status"] == status.as_str();
            if !scim_error {
                let path = roster::text::excerpt(&path);
                failures.push(format!("{i}: {status} without a SCIM error body for {} {path}", p.method));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {REQUESTS} requests went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The server still answers afterwards (the user may have been deleted by one of them).
    assert_eq!(send(app.req(Method::GET, "/ServiceProviderConfig")).await.status, 200);
}
