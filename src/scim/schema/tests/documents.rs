//! /Schemas and /ResourceTypes documents.

use super::*;
use serde_json::json;

const BASE: &str = "https://scim.example.com/scim/v2/";

/// Asserts the RFC 7643 §7 shape of one attribute definition, recursively; returns how many.
fn assert_attribute_shape(attr: &Value, path: &str) -> usize {
    let m = attr.as_object().unwrap_or_else(|| panic!("{path}: not an object"));
    for key in [
        "name",
        "type",
        "multiValued",
        "description",
        "required",
        "caseExact",
        "mutability",
        "returned",
        "uniqueness",
    ] {
        assert!(m.contains_key(key), "{path}: missing {key}");
    }
    assert!(m["name"].is_string() && m["description"].is_string());
    assert!(m["multiValued"].is_boolean() && m["required"].is_boolean() && m["caseExact"].is_boolean());
    let ty = m["type"].as_str().unwrap_or_default();
    assert!(
        ["string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex"]
            .contains(&ty),
        "{path}: type {ty}"
    );
    assert!(["readOnly", "readWrite", "immutable", "writeOnly"]
        .contains(&m["mutability"].as_str().unwrap_or_default()));
    assert!(["always", "never", "default", "request"].contains(&m["returned"].as_str().unwrap_or_default()));
    assert!(["none", "server", "global"].contains(&m["uniqueness"].as_str().unwrap_or_default()));
    assert_eq!(ty == "reference", m.contains_key("referenceTypes"), "{path}: referenceTypes");
    assert_eq!(ty == "complex", m.contains_key("subAttributes"), "{path}: subAttributes");
    if let Some(cv) = m.get("canonicalValues") {
        assert!(cv.as_array().is_some_and(|a| !a.is_empty()), "{path}: canonicalValues");
    }
    let mut count = 1;
    if let Some(Value::Array(subs)) = m.get("subAttributes") {
        assert!(!subs.is_empty(), "{path}: empty subAttributes");
        for sub in subs {
            count += assert_attribute_shape(sub, &format!("{path}.{}", sub["name"]));
        }
    }
    count
}

fn find<'v>(doc: &'v Value, name: &str) -> &'v Value {
    doc["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no attribute {name}"))
}

fn sub<'v>(attr: &'v Value, name: &str) -> &'v Value {
    attr["subAttributes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no sub-attribute {name}"))
}

#[test]
fn every_schema_document_has_the_rfc_shape() {
    let r = registry();
    for schema in r.schemas() {
        let doc = schema_document(schema, BASE);
        assert_eq!(doc["schemas"], json!([SCHEMA_SCHEMA]));
        assert_eq!(doc["id"], schema.id);
        assert!(doc["name"].is_string() && doc["description"].is_string());
        assert_eq!(doc["meta"]["resourceType"], "Schema");
        assert_eq!(
            doc["meta"]["location"],
            format!("https://scim.example.com/scim/v2/Schemas/{}", schema.id)
        );
        let attrs = doc["attributes"].as_array().unwrap_or_else(|| panic!("attributes"));
        assert_eq!(attrs.len(), schema.attributes.len());
        for attr in attrs {
            assert_attribute_shape(attr, attr["name"].as_str().unwrap_or_default());
            // Resource schemas leave out the common attributes; the RFC 7643 §8.7.2 service
            // provider schemas (ResourceType, Schema) do list their own `id`.
            if [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA].contains(&schema.id) {
                for common in ["id", "externalId", "meta"] {
                    assert_ne!(attr["name"], common, "common attributes are not listed");
                }
            }
        }
    }
}

#[test]
fn user_schema_document_details() {
    let doc = schema_document(registry().schema(USER_SCHEMA).unwrap_or_else(|| panic!("user")), BASE);
    let total: usize =
        doc["attributes"].as_array().map_or(0, |a| a.iter().map(|x| assert_attribute_shape(x, "")).sum());
    assert_eq!(total, 21 + 6 + 4 * 7 + 8 + 4, "attributes plus sub-attributes");
    let user_name = find(&doc, "userName");
    assert_eq!(
        user_name,
        &json!({"name": "userName", "type": "string", "multiValued": false,
                "description": user_name["description"], "required": true, "caseExact": false,
                "mutability": "readWrite", "returned": "default", "uniqueness": "server"})
    );
    let password = find(&doc, "password");
    assert_eq!((&password["mutability"], &password["returned"]), (&json!("writeOnly"), &json!("never")));
    assert_eq!(sub(find(&doc, "emails"), "type")["canonicalValues"], json!(["work", "home", "other"]));
    assert_eq!(find(&doc, "profileUrl")["referenceTypes"], json!(["external"]));
    assert_eq!(find(&doc, "groups")["mutability"], "readOnly");
    assert_eq!(sub(find(&doc, "groups"), "$ref")["referenceTypes"], json!(["User", "Group"]));
    assert_eq!(sub(find(&doc, "x509Certificates"), "value")["type"], "binary");
    assert_eq!(find(&doc, "emails")["multiValued"], true);
}

#[test]
fn group_and_enterprise_documents() {
    let r = registry();
    let group = schema_document(r.schema(GROUP_SCHEMA).unwrap_or_else(|| panic!("group")), BASE);
    assert_eq!(find(&group, "displayName")["required"], true);
    let members = find(&group, "members");
    let names: Vec<&Value> = members["subAttributes"]
        .as_array()
        .map(|a| a.iter().map(|x| &x["name"]).collect())
        .unwrap_or_default();
    assert_eq!(names, [&json!("value"), &json!("$ref"), &json!("type"), &json!("display")]);
    assert_eq!(sub(members, "value")["mutability"], "immutable");
    assert_eq!(sub(members, "type")["canonicalValues"], json!(["User", "Group"]));
    assert_eq!(sub(members, "display")["mutability"], "readOnly");

    let ent = schema_document(r.schema(ENTERPRISE_USER_SCHEMA).unwrap_or_else(|| panic!("ent")), "https://x");
    assert_eq!(ent["meta"]["location"], format!("https://x/Schemas/{ENTERPRISE_USER_SCHEMA}"));
    let names: Vec<&str> = ent["attributes"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["employeeNumber", "costCenter", "organization", "division", "department", "manager"]);
    assert_eq!(sub(find(&ent, "manager"), "$ref")["referenceTypes"], json!(["User"]));
}

#[test]
fn resource_type_documents() {
    let r = registry();
    let user = resource_type_document(&r, ResourceKind::User, BASE);
    assert_eq!(
        user,
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
            "schema": USER_SCHEMA,
            "schemaExtensions": [
                {"schema": ENTERPRISE_USER_SCHEMA, "required": false},
                {"schema": ROSTER_USER_SCHEMA, "required": false}
            ],
            "meta": {"resourceType": "ResourceType", "location": "https://scim.example.com/scim/v2/ResourceTypes/User"}
        })
    );
    let group = resource_type_document(&r, ResourceKind::Group, "https://x");
    assert_eq!(group["id"], "Group");
    assert_eq!(group["endpoint"], "/Groups");
    assert_eq!(group["schema"], GROUP_SCHEMA);
    assert_eq!(group["schemaExtensions"], json!([{"schema": ROSTER_GROUP_SCHEMA, "required": false}]));
    assert_eq!(group["meta"]["location"], "https://x/ResourceTypes/Group");
}
