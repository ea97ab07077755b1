//! The `/Schemas` (RFC 7643 §7) and `/ResourceTypes` (RFC 7643 §6) documents.

use serde_json::{json, Map, Value};

use super::{
    AttrType, Attribute, Registry, ResourceKind, Schema, TextLimit, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA,
};

/// `base_url` without trailing slashes.
fn trim_base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// The attribute's description, plus its length limit when it is tighter than
/// [`TextLimit::GENERAL`] (the general limit is in the README, not repeated on every attribute).
fn description(attr: &Attribute) -> String {
    if attr.limit == TextLimit::GENERAL {
        return attr.description.to_string();
    }
    format!("{} {}", attr.description, attr.limit.describe())
}

/// One attribute definition in RFC 7643 §7 form.
fn attribute_document(attr: &Attribute) -> Value {
    let mut doc = Map::new();
    doc.insert("name".into(), json!(attr.name));
    doc.insert("type".into(), json!(attr.ty.as_str()));
    doc.insert("multiValued".into(), json!(attr.multi_valued));
    doc.insert("description".into(), json!(description(attr)));
    doc.insert("required".into(), json!(attr.required));
    if !attr.canonical_values.is_empty() {
        doc.insert("canonicalValues".into(), json!(attr.canonical_values));
    }
    doc.insert("caseExact".into(), json!(attr.case_exact));
    doc.insert("mutability".into(), json!(attr.mutability.as_str()));
    doc.insert("returned".into(), json!(attr.returned.as_str()));
    doc.insert("uniqueness".into(), json!(attr.uniqueness.as_str()));
    if attr.ty == AttrType::Reference {
        doc.insert("referenceTypes".into(), json!(attr.reference_types));
    }
    if attr.ty == AttrType::Complex {
        let subs: Vec<Value> = attr.sub_attributes.iter().map(attribute_document).collect();
        doc.insert("subAttributes".into(), Value::Array(subs));
    }
    Value::Object(doc)
}

/// The RFC 7643 §7 representation of `schema`, with `meta.location` under `base_url`.
pub fn schema_document(schema: &Schema, base_url: &str) -> Value {
    let attributes: Vec<Value> = schema.attributes.iter().map(attribute_document).collect();
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", trim_base(base_url), schema.id),
        },
    })
}

/// The RFC 7643 §6 representation of the resource type `kind`; `schemaExtensions` is omitted
/// when the type has none (as in the RFC's Group example).
pub fn resource_type_document(registry: &Registry, kind: ResourceKind, base_url: &str) -> Value {
    let mut doc = json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": kind.endpoint(),
        "description": kind.description(),
        "schema": kind.core_schema(),
    });
    let extensions: Vec<Value> =
        registry.extensions(kind).iter().map(|urn| json!({ "schema": urn, "required": false })).collect();
    if let Value::Object(map) = &mut doc {
        if !extensions.is_empty() {
            map.insert("schemaExtensions".into(), Value::Array(extensions));
        }
        map.insert(
            "meta".into(),
            json!({
                "resourceType": "ResourceType",
                "location": format!("{}/ResourceTypes/{}", trim_base(base_url), kind.name()),
            }),
        );
    }
    doc
}
