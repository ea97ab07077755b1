//! Fuzzing of the pure boundary with a fixed budget (a fixed seed and a fixed number of cases,
//! so a run is repeatable and its cost known): hostile JSON through resource validation and
//! the PATCH engine, hostile text through the filter and path parsers, hostile bytes through
//! the import parser. None may panic, every error must be a client error, and whatever is
//! accepted must be storable (no NUL, within the length limits).

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{Map, Value};

use crate::import::parse::{self, Format, Limits};
use crate::scim::filter::{parse_filter, parse_path};
use crate::scim::patch::{self, Mode};
use crate::scim::schema::{normalize, Registry, ResourceKind, TextLimit};

/// The budget: cases per property, and a fixed seed.
fn budget(cases: u32) -> Config {
    Config { cases, rng_seed: RngSeed::Fixed(0x5c1a_2026), failure_persistence: None, ..Config::default() }
}

/// Strings a hostile client sends: NUL, control characters, long runs, near-keywords.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => (any::<String>(), any::<prop::sample::Index>()).prop_map(|(s, at)| {
            let mut chars: Vec<char> = s.chars().collect();
            chars.insert(at.index(chars.len() + 1), '\0');
            chars.into_iter().collect()
        }),
        2 => prop::sample::select(vec![
            "", "\u{0}", "a\u{0}b", "true", "False", "null", "User", "Group", "work", "bulkId:x",
            "urn:ietf:params:scim:schemas:core:2.0:User", "emails[type eq \"work\"].value",
            "members[value eq \"x\"]", "\u{202e}", "\u{feff}", "😀", "İ", "ß",
        ])
        .prop_map(str::to_string),
        1 => (prop::sample::select(vec!["x", "é", "😀", "\u{0}"]), 190usize..3000)
            .prop_map(|(s, n)| s.repeat(n)),
    ]
}

/// Keys: real attribute names in odd spellings, URNs, paths and junk.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "schemas", "userName", "USERNAME", "externalId", "id", "meta", "displayName", "nickName",
            "title", "active", "password", "name", "givenName", "emails", "value", "type", "primary",
            "members", "roles", "groups", "phoneNumbers", "addresses", "x509Certificates",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:extension:roster:2.0:Group", "parent", "kind", "manager",
            "name.givenName", "emails[type eq \"work\"].value", "op", "path", "Operations",
        ])
        .prop_map(str::to_string),
        1 => hostile_string(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", serde_json::Number::from_f64).prop_map(Value::Number),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// A value that is often of the right shape: a string, or anything.
fn attribute_value() -> impl Strategy<Value = Value> {
    prop_oneof![2 => hostile_string().prop_map(Value::String), 1 => json_value()]
}

/// A valid resource of `kind` with a few keys added or overwritten by hostile ones, so that
/// most bodies get past the required attributes to the values.
fn resource_body(kind: ResourceKind) -> impl Strategy<Value = Value> {
    prop::collection::vec((key(), attribute_value()), 0..4).prop_map(move |kv| {
        let mut body = match kind {
            ResourceKind::User => serde_json::json!({"userName": "bjensen", "emails": [{"value": "b@x.io"}]}),
            ResourceKind::Group => serde_json::json!({"displayName": "Guides"}),
        };
        if let Value::Object(map) = &mut body {
            map.extend(kv);
        }
        body
    })
}

/// A PatchOp body: operations with real and hostile `op`s, paths and values.
fn patch_body() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        prop::sample::select(vec!["add", "replace", "remove", "Add", "REPLACE", "delete"])
            .prop_map(Value::from),
        json_value(),
    ];
    let path = prop_oneof![
        2 => key().prop_map(Value::from),
        1 => json_value(),
        1 => Just(Value::Null),
    ];
    let operation = (op, path, attribute_value()).prop_map(|(op, path, value)| {
        let mut o = Map::new();
        o.insert("op".into(), op);
        if !path.is_null() {
            o.insert("path".into(), path);
        }
        o.insert("value".into(), value);
        Value::Object(o)
    });
    // Well-formed operations on real attributes, so that values reach validation.
    let plain = (
        prop::sample::select(vec!["add", "replace"]),
        prop::sample::select(vec![
            "nickName",
            "title",
            "displayName",
            "userName",
            "externalId",
            "name.givenName",
            "emails[type eq \"work\"].value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        ]),
        attribute_value(),
    )
        .prop_map(|(op, path, value)| serde_json::json!({"op": op, "path": path, "value": value}));
    let operation = prop_oneof![1 => operation, 1 => plain];
    prop::collection::vec(operation, 0..5).prop_map(|ops| {
        serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
    })
}

fn kind() -> impl Strategy<Value = ResourceKind> {
    prop::sample::select(vec![ResourceKind::User, ResourceKind::Group])
}

/// Every string of an accepted resource can be stored: no NUL, within the general limit.
fn assert_storable(value: &Value) {
    match value {
        Value::String(s) => {
            assert!(!s.contains('\0'), "NUL accepted: {s:?}");
            assert!(s.chars().count() <= TextLimit::GENERAL.chars, "overlong value accepted");
        }
        Value::Array(items) => items.iter().for_each(assert_storable),
        Value::Object(map) => {
            for (k, v) in map {
                assert!(!k.contains('\0'), "NUL key accepted: {k:?}");
                assert_storable(v);
            }
        }
        _ => {}
    }
}

fn assert_client_error(e: &crate::error::ScimError) {
    assert!((400..500).contains(&e.status()), "not a client error: {e}");
}

/// A stored resource to PATCH: normalised, so it is what the engine really gets.
fn stored(registry: &Registry, kind: ResourceKind) -> Map<String, Value> {
    let body = match kind {
        ResourceKind::User => serde_json::json!({
            "userName": "bjensen", "displayName": "Babs", "title": "Guide",
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
            "name": {"givenName": "Barbara"}
        }),
        ResourceKind::Group => serde_json::json!({"displayName": "Tour Guides"}),
    };
    normalize(registry, kind, &body).map(|n| n.resource).unwrap_or_default()
}

/// A real workbook whose first sheet holds `texts`, three to a row (rust_xlsxwriter escapes
/// control characters as `_xHHHH_`, which the reader decodes again).
fn workbook(texts: &[String]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (i, t) in texts.iter().enumerate() {
        // Cells over Excel's own limit (32,767 characters) are refused by the writer; skip them.
        let _ = sheet.write_string((i / 3) as u32, (i % 3) as u16, t);
    }
    book.save_to_buffer().unwrap_or_default()
}

proptest! {
    #![proptest_config(budget(384))]

    #[test]
    fn resource_validation_never_panics_and_accepts_only_storable_values(
        (kind, body) in kind().prop_flat_map(|k| (Just(k), prop_oneof![4 => resource_body(k), 1 => json_value()]))
    ) {
        let registry = Registry::standard();
        match normalize(&registry, kind, &body) {
            Ok(n) => assert_storable(&Value::Object(n.resource)),
            Err(e) => assert_client_error(&e),
        }
    }

    #[test]
    fn the_patch_engine_never_panics_and_accepts_only_storable_values(
        kind in kind(), body in prop_oneof![3 => patch_body(), 1 => json_value()], strict in any::<bool>()
    ) {
        let registry = Registry::standard();
        let mode = if strict { Mode::Strict } else { Mode::Tolerant };
        let request = match patch::parse_request(&body, mode) {
            Ok(r) => r,
            Err(e) => {
                assert_client_error(&e);
                return Ok(());
            }
        };
        let resource = stored(&registry, kind);
        match patch::apply(&registry, kind, &resource, "2819c223-7f76-453a-919d-413861904646", &request, mode) {
            Ok(applied) => assert_storable(&Value::Object(applied.resource)),
            Err(e) => assert_client_error(&e),
        }
    }

    #[test]
    fn filters_and_paths_never_panic(input in prop_oneof![hostile_string(), key()]) {
        for result in [parse_filter(&input).map(drop), parse_path(&input).map(drop)] {
            if let Err(e) = result {
                assert_client_error(&e);
            }
        }
    }

    #[test]
    fn the_import_parser_never_panics_and_keeps_only_storable_cells(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        text in prop::collection::vec(hostile_string(), 0..12),
        separator in prop::sample::select(vec![",", ";", "\t", "\n", "\r\n", "\""]),
        zip in any::<bool>(),
    ) {
        let limits = Limits { max_rows: 20, max_columns: 8, ..Limits::with_rows(20) };
        let csv = text.join(separator);
        let mut inputs = vec![(bytes.clone(), Format::Csv), (csv.into_bytes(), Format::Csv)];
        if zip {
            let mut fake = b"PK\x03\x04".to_vec();
            fake.extend_from_slice(&bytes);
            inputs.push((fake, Format::Xlsx));
            inputs.push((workbook(&text), Format::Xlsx));
        }
        for (input, format) in inputs {
            if let Ok(table) = parse::parse(&input, format, &limits) {
                prop_assert!(table.rows.len() <= limits.max_rows);
                let cells = table.headers.iter().chain(table.rows.iter().flat_map(|r| r.cells.iter()));
                for cell in cells {
                    prop_assert!(!cell.contains('\0'));
                    prop_assert!(cell.chars().count() <= limits.max_cell_chars);
                }
            }
        }
    }
}
