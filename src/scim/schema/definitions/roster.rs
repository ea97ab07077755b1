//! Roster's own schemas besides the Group extension: the User extension (`ROSTER_USER_SCHEMA`:
//! effective role, lifecycle status, position, group roles; tenant categories are added to it per tenant) and
//! the read-only `Role` resource type (`ROLE_SCHEMA`), the tenant's role catalog.

use super::{boolean, complex, string};
use crate::scim::schema::{AttrType, Attribute, Returned, Schema, ROLE_SCHEMA, ROSTER_USER_SCHEMA};

const ROSTER_USER_ATTRS: &[Attribute] = &[
    string(
        "role",
        "The member's effective role: an admin override when one is set, otherwise the highest-ranked \
         role of the tenant's catalog given by SCIM roles, group role bindings and the tenant default. \
         Computed by Roster.",
    )
    .read_only(),
    string("status", "The member's lifecycle state: provisioned, invited, active or suspended.")
        .read_only()
        .with_canonical(&["provisioned", "invited", "active", "suspended"]),
    string(
        "position",
        "The member's job position, fed from the tenant's position source attribute (title by default).",
    )
    .read_only(),
    complex(
        "groupRoles",
        GROUP_ROLE_SUBS,
        "The member's role in each group it belongs to directly: member, or manager (administers the \
         group and every group below it). Returned with groups.",
    )
    .multi()
    .read_only(),
];

const GROUP_ROLE_SUBS: &[Attribute] = &[
    string("value", "The id of the group.").read_only(),
    string("display", "The group's displayName.").read_only(),
    string("role", "The member's role in the group.").read_only().with_canonical(&["member", "manager"]),
];

/// Roster's User extension: what Roster derives for a member (DESIGN §2). All readOnly; client
/// values are ignored (RFC 7643 §7).
pub(crate) const ROSTER_USER: Schema = Schema {
    id: ROSTER_USER_SCHEMA,
    name: "RosterUser",
    description: "Roster member: effective role, status, position and group roles",
    attributes: ROSTER_USER_ATTRS,
};

const ROLE_ATTRS: &[Attribute] = &[
    string("name", "The role's name, as SCIM roles[].value names it; matched case-insensitively.")
        .read_only()
        .with_returned(Returned::Always),
    string("displayName", "A human-readable name for the role.").read_only(),
    Attribute::new(
        "rank",
        AttrType::Integer,
        "The role's rank: when several sources give a member roles, the highest rank wins.",
    )
    .read_only(),
    boolean("grantsAdmin", "Whether holders of this role are the tenant's administrators.").read_only(),
];

/// A role of the tenant's catalog, served read-only at `/Roles`.
pub(crate) const ROLE: Schema = Schema {
    id: ROLE_SCHEMA,
    name: "Role",
    description: "A role of the organization's catalog",
    attributes: ROLE_ATTRS,
};
