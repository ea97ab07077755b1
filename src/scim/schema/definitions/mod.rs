//! The schema data: RFC 7643 §3.1 common attributes, §8.7.1 User, Group and Enterprise User.
//!
//! Descriptions follow the RFC. Deviations are listed in the parent module's documentation.

mod meta;
mod roster;
mod user;

pub(crate) use meta::{RESOURCE_TYPE, SCHEMA, SERVICE_PROVIDER_CONFIG};
pub(crate) use roster::{ROLE, ROSTER_USER};
pub(crate) use user::USER;

use super::{
    AttrType, Attribute, Mutability, Returned, Schema, TextLimit, Uniqueness, ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA, ROSTER_GROUP_SCHEMA,
};

/// A string attribute with the default characteristics.
pub(super) const fn string(name: &'static str, description: &'static str) -> Attribute {
    Attribute::new(name, AttrType::String, description)
}

/// A boolean attribute with the default characteristics.
pub(super) const fn boolean(name: &'static str, description: &'static str) -> Attribute {
    Attribute::new(name, AttrType::Boolean, description)
}

/// A reference attribute pointing to `types`.
pub(super) const fn reference(
    name: &'static str,
    types: &'static [&'static str],
    description: &'static str,
) -> Attribute {
    Attribute::new(name, AttrType::Reference, description).with_reference_types(types)
}

/// A complex attribute with these sub-attributes.
pub(super) const fn complex(
    name: &'static str,
    subs: &'static [Attribute],
    description: &'static str,
) -> Attribute {
    Attribute::new(name, AttrType::Complex, description).with_sub_attributes(subs)
}

/// A readOnly dateTime attribute (only `meta` uses dateTime).
const fn read_only_date_time(name: &'static str, description: &'static str) -> Attribute {
    Attribute::new(name, AttrType::DateTime, description).read_only()
}

const META_SUBS: &[Attribute] = &[
    string("resourceType", "The name of the resource type of the resource.").case_exact().read_only(),
    read_only_date_time("created", "The DateTime that the resource was added to the service provider."),
    read_only_date_time(
        "lastModified",
        "The most recent DateTime that the details of this resource were updated at the service provider.",
    ),
    reference("location", &["uri"], "The URI of the resource being returned.").case_exact().read_only(),
    string("version", "The version of the resource being returned.").case_exact().read_only(),
];

/// The common attributes of every resource (RFC 7643 §3.1); not listed in schema documents.
pub(crate) const COMMON: &[Attribute] = &[
    string("id", "A unique identifier for a SCIM resource as defined by the service provider.")
        .case_exact()
        .read_only()
        .with_returned(Returned::Always)
        .with_uniqueness(Uniqueness::Server),
    string(
        "externalId",
        "A String that is an identifier for the resource as defined by the provisioning client.",
    )
    .case_exact()
    .with_limit(TextLimit::IDENTITY),
    complex("meta", META_SUBS, "A complex attribute containing resource metadata.").read_only(),
];

const MANAGER_SUBS: &[Attribute] = &[
    string("value", "The id of the SCIM resource representing the User's manager."),
    reference("$ref", &["User"], "The URI of the SCIM resource representing the User's manager."),
    string("displayName", "The displayName of the User's manager.").read_only(),
];

const ENTERPRISE_ATTRS: &[Attribute] = &[
    string(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person, typically based on order of \
         hire or association with an organization.",
    ),
    string("costCenter", "Identifies the name of a cost center."),
    string("organization", "Identifies the name of an organization."),
    string("division", "Identifies the name of a division."),
    string("department", "Identifies the name of a department."),
    complex(
        "manager",
        MANAGER_SUBS,
        "The User's manager. A complex type that optionally allows service providers to \
         represent organizational hierarchy by referencing the 'id' attribute of another User.",
    ),
];

/// The Enterprise User extension (RFC 7643 §4.3).
pub(crate) const ENTERPRISE_USER: Schema = Schema {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_ATTRS,
};

const MEMBER_SUBS: &[Attribute] = &[
    string("value", "Identifier of the member of this Group.")
        .required()
        .with_mutability(Mutability::Immutable),
    reference(
        "$ref",
        &["User", "Group"],
        "The URI corresponding to a SCIM resource that is a member of this Group.",
    )
    .with_mutability(Mutability::Immutable),
    string("type", "A label indicating the type of resource, e.g., 'User' or 'Group'.")
        .with_mutability(Mutability::Immutable)
        .with_closed_canonical(&["User", "Group"]),
    string("display", "A human-readable name for the member; Roster keeps none, so input is ignored.")
        .read_only(),
];

const GROUP_ATTRS: &[Attribute] = &[
    string("displayName", "A human-readable name for the Group. REQUIRED.")
        .required()
        .with_limit(TextLimit::IDENTITY),
    complex("members", MEMBER_SUBS, "A list of members of the Group.").multi(),
];

const ROSTER_GROUP_ATTRS: &[Attribute] = &[
    reference(
        "parent",
        &["Group"],
        "The parent group in the organization's group tree (its URL, or on input also its id); assignments to a group apply to all its descendants.",
    )
    .case_exact(),
    string("kind", "What the group is in the organization, e.g. department, team or store."),
];

/// Roster's Group extension: the group tree (DESIGN §2).
pub(crate) const ROSTER_GROUP: Schema = Schema {
    id: ROSTER_GROUP_SCHEMA,
    name: "RosterGroup",
    description: "Roster group tree",
    attributes: ROSTER_GROUP_ATTRS,
};

/// The core Group schema (RFC 7643 §4.2).
pub(crate) const GROUP: Schema =
    Schema { id: GROUP_SCHEMA, name: "Group", description: "Group", attributes: GROUP_ATTRS };
