//! The service provider configuration schemas of RFC 7643 §8.7.2 (ServiceProviderConfig,
//! ResourceType, Schema), so that every schema URI Roster uses has its `/Schemas` resource
//! (RFC 7643 §7). All attributes are readOnly: these documents are served, never written.

use super::{boolean, complex, reference, string};
use crate::scim::schema::{AttrType, Attribute, Schema, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA};

/// The ServiceProviderConfig schema URN.
pub(crate) const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

const fn integer(name: &'static str, description: &'static str) -> Attribute {
    Attribute::new(name, AttrType::Integer, description).read_only()
}

const SUPPORTED: Attribute =
    boolean("supported", "A Boolean value specifying whether or not the operation is supported.")
        .required()
        .read_only();

const PATCH_SUBS: &[Attribute] = &[SUPPORTED];
const BULK_SUBS: &[Attribute] = &[
    SUPPORTED,
    integer("maxOperations", "An integer value specifying the maximum number of operations.").required(),
    integer("maxPayloadSize", "An integer value specifying the maximum payload size in bytes.").required(),
];
const FILTER_SUBS: &[Attribute] = &[
    SUPPORTED,
    integer(
        "maxResults",
        "An integer value specifying the maximum number of resources returned in a response.",
    )
    .required(),
];
const AUTH_SUBS: &[Attribute] = &[
    string("type", "The authentication scheme.").required().read_only(),
    string("name", "The common authentication scheme name, e.g., HTTP Basic.").required().read_only(),
    string("description", "A description of the authentication scheme.").required().read_only(),
    reference(
        "specUri",
        &["external"],
        "An HTTP-addressable URL pointing to the authentication scheme's specification.",
    )
    .read_only(),
    reference(
        "documentationUri",
        &["external"],
        "An HTTP-addressable URL pointing to the authentication scheme's usage documentation.",
    )
    .read_only(),
    boolean("primary", "Whether this is the preferred authentication scheme.").read_only(),
];
const PAGINATION_SUBS: &[Attribute] = &[
    boolean("cursor", "Whether cursor-based pagination is supported (RFC 9865).").read_only(),
    boolean("index", "Whether index-based pagination is supported.").read_only(),
    string("defaultPaginationMethod", "The pagination method used when a client names none.").read_only(),
    integer("defaultPageSize", "The page size used when a client gives no count."),
    integer("maxPageSize", "The largest page size the service provider returns."),
    integer("cursorTimeout", "Seconds a cursor stays valid."),
];

const SPC_ATTRS: &[Attribute] = &[
    reference(
        "documentationUri",
        &["external"],
        "An HTTP-addressable URL pointing to the service provider's human-consumable help documentation.",
    )
    .read_only(),
    complex("patch", PATCH_SUBS, "A complex type that specifies PATCH configuration options.")
        .required()
        .read_only(),
    complex("bulk", BULK_SUBS, "A complex type that specifies bulk configuration options.")
        .required()
        .read_only(),
    complex("filter", FILTER_SUBS, "A complex type that specifies FILTER options.").required().read_only(),
    complex(
        "changePassword",
        PATCH_SUBS,
        "A complex type that specifies configuration options related to changing a password.",
    )
    .required()
    .read_only(),
    complex("sort", PATCH_SUBS, "A complex type that specifies sort result options.").required().read_only(),
    complex("etag", PATCH_SUBS, "A complex type that specifies ETag configuration options.")
        .required()
        .read_only(),
    complex("pagination", PAGINATION_SUBS, "Pagination options (RFC 9865).").read_only(),
    complex(
        "authenticationSchemes",
        AUTH_SUBS,
        "A complex type that specifies supported authentication scheme properties.",
    )
    .multi()
    .required()
    .read_only(),
];

/// RFC 7643 §5.
pub(crate) const SERVICE_PROVIDER_CONFIG: Schema = Schema {
    id: SERVICE_PROVIDER_CONFIG_SCHEMA,
    name: "ServiceProviderConfig",
    description: "Schema for representing the service provider's configuration",
    attributes: SPC_ATTRS,
};

const EXTENSION_SUBS: &[Attribute] = &[
    reference("schema", &["uri"], "The URI of a schema extension.").case_exact().required().read_only(),
    boolean("required", "Whether a schema extension is required for the resource type.")
        .required()
        .read_only(),
];

const RESOURCE_TYPE_ATTRS: &[Attribute] = &[
    string("id", "The resource type's server unique id.").read_only(),
    string("name", "The resource type name.").required().read_only(),
    string("description", "The resource type's human-readable description.").read_only(),
    reference(
        "endpoint",
        &["uri"],
        "The resource type's HTTP-addressable endpoint relative to the Base URL.",
    )
    .required()
    .read_only(),
    reference("schema", &["uri"], "The resource type's primary/base schema URI.")
        .case_exact()
        .required()
        .read_only(),
    complex("schemaExtensions", EXTENSION_SUBS, "A list of URIs of the resource type's schema extensions.")
        .multi()
        .read_only(),
];

/// RFC 7643 §6.
pub(crate) const RESOURCE_TYPE: Schema = Schema {
    id: RESOURCE_TYPE_SCHEMA,
    name: "ResourceType",
    description: "Specifies the schema that describes a SCIM resource type",
    attributes: RESOURCE_TYPE_ATTRS,
};

const ATTRIBUTE_BASE: [Attribute; 11] = [
    string("name", "The attribute's name.").case_exact().required().read_only(),
    string("type", "The attribute's data type.").required().read_only(),
    boolean("multiValued", "A Boolean value indicating an attribute's plurality.").required().read_only(),
    string("description", "A human-readable description of the attribute.").read_only(),
    boolean("required", "A boolean value indicating whether or not the attribute is required.").read_only(),
    string("canonicalValues", "A collection of canonical values.").multi().read_only(),
    boolean("caseExact", "Whether a string attribute is case sensitive.").read_only(),
    string("mutability", "Whether an attribute is modifiable.").read_only(),
    string("returned", "When an attribute is returned in a response.").read_only(),
    string("uniqueness", "How the service provider enforces uniqueness of attribute values.").read_only(),
    string("referenceTypes", "The names of the resource types that may be referenced.").multi().read_only(),
];

const ATTRIBUTE_SUBS: &[Attribute] = &[
    ATTRIBUTE_BASE[0],
    ATTRIBUTE_BASE[1],
    ATTRIBUTE_BASE[2],
    ATTRIBUTE_BASE[3],
    ATTRIBUTE_BASE[4],
    ATTRIBUTE_BASE[5],
    ATTRIBUTE_BASE[6],
    ATTRIBUTE_BASE[7],
    ATTRIBUTE_BASE[8],
    ATTRIBUTE_BASE[9],
    ATTRIBUTE_BASE[10],
    complex(
        "subAttributes",
        &ATTRIBUTE_BASE,
        "Sub-attributes of a complex attribute, described like attributes.",
    )
    .multi()
    .read_only(),
];

const SCHEMA_ATTRS: &[Attribute] = &[
    reference("id", &["uri"], "The unique URI of the schema.").case_exact().required().read_only(),
    string("name", "The schema's human-readable name.").read_only(),
    string("description", "The schema's human-readable description.").read_only(),
    complex("attributes", ATTRIBUTE_SUBS, "A complex attribute that includes the attributes of a schema.")
        .multi()
        .required()
        .read_only(),
];

/// RFC 7643 §7.
pub(crate) const SCHEMA: Schema = Schema {
    id: SCHEMA_SCHEMA,
    name: "Schema",
    description: "Specifies the schema attribute structure",
    attributes: SCHEMA_ATTRS,
};
