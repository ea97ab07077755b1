//! Runs the black-box cases of `conformance/cases/*.json` against a fresh server each.
//!
//! A case is data: `{"name", "source", "steps": [...]}`. A step is
//! `{"name"?, "request": {"method", "path", "headers"?, "body"?}, "expect": {"status", "body"?, "headers"?}, "save"?: {"var": "/json/pointer"}}`.
//! Strings may use `{{var}}` (saved values, and `{{uuid}}`: a fresh UUID per case). Expected
//! bodies are matched as a subset: objects need the listed keys (the value `"$absent"` means the
//! key must be missing, `"$any"` any value), arrays need the same length with each element
//! matching in order (`{"$contains": [...]}` instead: each listed element matches some element).
//! See conformance/README.md for the coverage matrix.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::Value;

use crate::support::requests::send;
use crate::support::TestApp;

fn substitute(value: &Value, vars: &HashMap<String, String>) -> Value {
    match value {
        Value::String(s) => {
            let mut out = s.clone();
            for (k, v) in vars {
                out = out.replace(&format!("{{{{{k}}}}}"), v);
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| substitute(i, vars)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), substitute(v, vars))).collect())
        }
        other => other.clone(),
    }
}

/// Where `actual` fails to match `expected`, as a path and reason.
fn mismatch(expected: &Value, actual: Option<&Value>, at: &str) -> Option<String> {
    match (expected, actual) {
        (Value::String(s), None) if s == "$absent" => None,
        (_, None) => Some(format!("{at}: missing, expected {expected}")),
        (Value::String(s), Some(a)) if s == "$absent" => Some(format!("{at}: expected absent, got {a}")),
        (Value::String(s), Some(_)) if s == "$any" => None,
        (Value::Object(e), Some(a)) if e.contains_key("$contains") => {
            // A malformed expectation is an error of the case file, never a vacuous match.
            let Some(wanted) = e["$contains"].as_array() else {
                return Some(format!(
                    "{at}: $contains must be an array in the case file, got {}",
                    e["$contains"]
                ));
            };
            if e.len() > 1 {
                return Some(format!("{at}: $contains must be the only key of its object in the case file"));
            }
            let Some(items) = a.as_array() else {
                return Some(format!("{at}: expected an array (for $contains), got {a}"));
            };
            wanted.iter().enumerate().find_map(|(i, w)| {
                if items.iter().any(|item| mismatch(w, Some(item), at).is_none()) {
                    None
                } else {
                    Some(format!("{at}: no element matches $contains[{i}] = {w}; got {a}"))
                }
            })
        }
        (Value::Object(e), Some(Value::Object(a))) => {
            e.iter().find_map(|(k, v)| mismatch(v, a.get(k), &format!("{at}/{k}")))
        }
        (Value::Array(e), Some(Value::Array(a))) => {
            if e.len() != a.len() {
                return Some(format!(
                    "{at}: expected {} elements, got {}: {}",
                    e.len(),
                    a.len(),
                    Value::Array(a.clone())
                ));
            }
            e.iter().zip(a).enumerate().find_map(|(i, (x, y))| mismatch(x, Some(y), &format!("{at}/{i}")))
        }
        (e, Some(a)) if e == a => None,
        (e, Some(a)) => Some(format!("{at}: expected {e}, got {a}")),
    }
}

async fn run_case(file: &str, case: &Value) {
    let app = TestApp::spawn().await;
    let mut vars = HashMap::from([("uuid".to_string(), uuid::Uuid::new_v4().to_string())]);
    let name = case["name"].as_str().unwrap_or(file);
    for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
        let step = substitute(step, &vars);
        let label = format!("{file} / {name} / step {i} {}", step["name"].as_str().unwrap_or(""));
        let req = &step["request"];
        let method = Method::from_bytes(req["method"].as_str().expect("method").as_bytes()).unwrap();
        let mut builder = app.req(method, req["path"].as_str().expect("path"));
        let mut has_content_type = false;
        if let Some(headers) = req["headers"].as_object() {
            for (k, v) in headers {
                has_content_type |= k.eq_ignore_ascii_case("content-type");
                builder = builder.header(k, v.as_str().unwrap());
            }
        }
        if let Some(body) = req.get("body") {
            if !has_content_type {
                builder = builder.header("content-type", "application/scim+json");
            }
            builder = builder.body(body.to_string());
        }
        let reply = send(builder).await;
        let expect = &step["expect"];
        assert_eq!(
            reply.status.as_u16() as u64,
            expect["status"].as_u64().unwrap(),
            "{label}: status; body {}",
            reply.body
        );
        if let Some(body) = expect.get("body") {
            if let Some(why) = mismatch(body, Some(&reply.body), "") {
                panic!("{label}: {why}\nfull body: {}", reply.body);
            }
        }
        if let Some(headers) = expect["headers"].as_object() {
            for (k, v) in headers {
                let actual = reply.headers.get(k).and_then(|h| h.to_str().ok());
                match v.as_str() {
                    Some("$absent") => assert!(actual.is_none(), "{label}: header {k} should be absent"),
                    Some("$any") => assert!(actual.is_some(), "{label}: header {k} missing"),
                    Some(s) => assert_eq!(actual, Some(s), "{label}: header {k}"),
                    None => panic!("{label}: header expectations are strings"),
                }
            }
        }
        if let Some(save) = step["save"].as_object() {
            for (var, pointer) in save {
                let value = reply
                    .body
                    .pointer(pointer.as_str().unwrap())
                    .unwrap_or_else(|| panic!("{label}: nothing at {pointer}"));
                let text = value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string());
                vars.insert(var.clone(), text);
            }
        }
    }
}

#[tokio::test]
async fn conformance_cases() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/cases");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    assert!(!files.is_empty(), "no conformance cases found in {dir}");
    // Every case runs even when an earlier one fails; the failures are listed at the end.
    let mut failed = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let case: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(case["source"].is_string(), "{}: every case names its source", path.display());
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let outcome = tokio::spawn({
            let name = name.clone();
            async move { run_case(&name, &case).await }
        })
        .await;
        if outcome.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "failing conformance cases (details above): {failed:?}");
}

#[test]
fn the_matcher_can_fail() {
    let actual = serde_json::json!({"a": 1, "b": [1, 2], "c": {"d": "x"}});
    assert!(mismatch(&serde_json::json!({"a": 1}), Some(&actual), "").is_none());
    assert!(mismatch(&serde_json::json!({"a": 2}), Some(&actual), "").is_some());
    assert!(mismatch(&serde_json::json!({"z": "$absent"}), Some(&actual), "").is_none());
    assert!(mismatch(&serde_json::json!({"a": "$absent"}), Some(&actual), "").is_some());
    assert!(mismatch(&serde_json::json!({"b": [1]}), Some(&actual), "").is_some());
    assert!(mismatch(&serde_json::json!({"b": {"$contains": [2]}}), Some(&actual), "").is_none());
    assert!(mismatch(&serde_json::json!({"b": {"$contains": [3]}}), Some(&actual), "").is_some());
    assert!(mismatch(&serde_json::json!({"c": {"d": "$any"}}), Some(&actual), "").is_none());
    // Malformed `$contains` expectations fail instead of matching anything.
    for bad in [
        serde_json::json!({"b": {"$contains": 2}}),
        serde_json::json!({"b": {"$contains": {"x": 1}}}),
        serde_json::json!({"b": {"$contains": null}}),
        serde_json::json!({"b": {"$contains": [2], "extra": 1}}),
        serde_json::json!({"a": {"$contains": []}}),
        serde_json::json!({"z": {"$contains": [1]}}),
    ] {
        let why = mismatch(&bad, Some(&actual), "");
        assert!(why.is_some(), "{bad} must not match");
    }
    assert!(mismatch(&serde_json::json!({"b": {"$contains": 2}}), Some(&actual), "")
        .unwrap()
        .contains("case file"));
}
