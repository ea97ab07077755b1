//! The SCIM schema registry and resource validation (RFC 7643), with no I/O.
//!
//! * [`Registry`] knows the schemas (User, Enterprise User, Group) and answers attribute lookups
//!   by path, case-insensitively, including the common attributes `id`, `externalId` and `meta`
//!   (RFC 7643 §3.1), which are known here but, as in the RFC, not listed in the schema documents.
//! * [`normalize`] turns a POST/PUT body into a canonical resource map (canonical attribute
//!   spelling, unassigned values dropped, types checked, the password taken out).
//! * [`check_immutable`] enforces `mutability: immutable` on PUT.
//! * [`Projector`] applies `attributes` / `excludedAttributes` and `returned` (RFC 7644 §3.4.2.5).
//! * [`schema_document`] and [`resource_type_document`] render `/Schemas` and `/ResourceTypes`.
//! * [`Registry::with_categories`] adds a tenant's categories to Roster's User extension
//!   ([`ROSTER_USER_SCHEMA`]); [`normalize`] then checks their values, canonicalises dropdown
//!   values and fills mapped categories from their source (see `tenant.rs`).
//!
//! The schema data is RFC 7643 §8.7.1 with these deliberate deviations:
//! * Group `displayName` is required (RFC 7643 §4.2 says REQUIRED; the §8.7.1 JSON says false).
//! * Group `members.value` is required: a member without an id cannot be stored.
//! * Group `members` has a `display` sub-attribute (string, readOnly): IdPs such as Okta send it,
//!   the server computes it itself, so input values are dropped with a note.
//! * User `addresses` has a `primary` sub-attribute (RFC 7643 §4.1.2 lists it; the JSON omits it).
//! * User `password` is writeOnly and returned never (as in the RFC) and is additionally never kept
//!   in the normalised resource: [`normalize`] hands it back separately.
//! * Only Group `members.type` has a closed set of canonical values that is enforced; all other
//!   canonical values (e.g. `emails.type`) are advisory.
//!
//! Notes returned by [`normalize`] are short `tag: detail` strings: `missing_schemas`,
//! `unknown_schema: <urn>`, `read_only: <path>`, `unknown_attribute: <path>`,
//! `string_boolean: <path>`.

mod definitions;
mod documents;
mod immutable;
mod model;
mod project;
mod tenant;
mod validate;
mod values;

#[cfg(test)]
mod tests;

pub use documents::{resource_type_document, schema_document};
pub use immutable::check_immutable;
pub use model::{AttrType, Attribute, Mutability, Returned, Schema, TextLimit, Uniqueness};
pub use project::{Projector, TextView, View};
pub use tenant::{check_source, is_date, Category, CategoryKind};
pub use validate::{normalize, Normalized};
pub use values::check_text;

use model::find;

/// URN of the core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// URN of the Enterprise User extension schema.
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of Roster's Group extension (group tree: `parent`, `kind`).
pub const ROSTER_GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:Group";
/// URN of Roster's User extension (readOnly `role`, `status`, `position`; tenant categories).
pub const ROSTER_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
/// URN of the schema of `/Roles` resources (the tenant's role catalog).
pub const ROLE_SCHEMA: &str = "urn:ietf:params:scim:schemas:roster:2.0:Role";
/// URN of the schema that describes schema documents (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// URN of the schema that describes resource type documents (RFC 7643 §6).
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// The resource types this server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `/Users`, core schema [`USER_SCHEMA`].
    User,
    /// `/Groups`, core schema [`GROUP_SCHEMA`].
    Group,
}

impl ResourceKind {
    /// Every resource kind, in `/ResourceTypes` order.
    pub const ALL: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

    /// The resource type name (`"User"` / `"Group"`), also its `meta.resourceType`.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }
    /// The endpoint relative to the base URL (`"/Users"` / `"/Groups"`).
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }
    /// The URN of the core schema of this resource type.
    pub fn core_schema(self) -> &'static str {
        match self {
            ResourceKind::User => USER_SCHEMA,
            ResourceKind::Group => GROUP_SCHEMA,
        }
    }
    /// The human-readable description used in the resource type document.
    pub fn description(self) -> &'static str {
        match self {
            ResourceKind::User => "User Account",
            ResourceKind::Group => "Group",
        }
    }
}

/// Strips `prefix` followed by `:` from `s`, ASCII case-insensitively.
fn strip_urn_prefix<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    s[prefix.len()..].strip_prefix(':')
}

/// The schemas this server knows and which extensions each resource type has.
#[derive(Debug, Clone)]
pub struct Registry {
    schemas: Vec<Schema>,
    user_extensions: Vec<&'static str>,
    group_extensions: Vec<&'static str>,
    /// The tenant's categories, when built by [`Registry::with_categories`].
    categories: Vec<Category>,
}

impl Registry {
    /// User, Enterprise User (an optional extension of User) and Group, plus the service
    /// provider configuration schemas (ServiceProviderConfig, ResourceType, Schema).
    pub fn standard() -> Registry {
        Registry {
            schemas: vec![
                definitions::USER,
                definitions::ENTERPRISE_USER,
                definitions::ROSTER_USER,
                definitions::GROUP,
                definitions::ROSTER_GROUP,
                definitions::ROLE,
                definitions::SERVICE_PROVIDER_CONFIG,
                definitions::RESOURCE_TYPE,
                definitions::SCHEMA,
            ],
            user_extensions: vec![ENTERPRISE_USER_SCHEMA, ROSTER_USER_SCHEMA],
            group_extensions: vec![ROSTER_GROUP_SCHEMA],
            categories: Vec::new(),
        }
    }

    /// Registers `schema` as an optional extension of `kind` (replacing a schema with the same id).
    pub fn add_extension(&mut self, kind: ResourceKind, schema: Schema) {
        self.schemas.retain(|s| !s.id.eq_ignore_ascii_case(schema.id));
        self.schemas.push(schema);
        let list = match kind {
            ResourceKind::User => &mut self.user_extensions,
            ResourceKind::Group => &mut self.group_extensions,
        };
        list.retain(|u| !u.eq_ignore_ascii_case(schema.id));
        list.push(schema.id);
    }

    /// The schema with this URN, case-insensitively.
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Every known schema, core schemas first.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        self.schemas.iter()
    }

    /// URNs of the extension schemas of `kind`; every extension is optional (`required: false`).
    pub fn extensions(&self, kind: ResourceKind) -> &[&'static str] {
        match kind {
            ResourceKind::User => &self.user_extensions,
            ResourceKind::Group => &self.group_extensions,
        }
    }

    /// The canonical URN of the extension of `kind` equal (case-insensitively) to `urn`.
    pub fn extension_urn(&self, kind: ResourceKind, urn: &str) -> Option<&'static str> {
        self.extensions(kind).iter().copied().find(|u| u.eq_ignore_ascii_case(urn))
    }

    /// The common attributes `id`, `externalId` and `meta` (RFC 7643 §3.1).
    pub fn common_attributes(&self) -> &'static [Attribute] {
        definitions::COMMON
    }

    /// A top-level attribute of `kind` (common or core schema), by unqualified name.
    pub fn top_level(&self, kind: ResourceKind, name: &str) -> Option<&'static Attribute> {
        find(definitions::COMMON, name)
            .or_else(|| self.schema(kind.core_schema()).and_then(|s| s.attribute(name)))
    }

    /// Resolves an attribute path such as `userName`, `name.givenName`, `emails.value`,
    /// `meta.lastModified` or `urn:...:enterprise:2.0:User:manager.value`, case-insensitively.
    pub fn attribute(&self, kind: ResourceKind, path: &str) -> Option<&Attribute> {
        let (schema, rest) = self.split_urn(kind, path)?;
        let (top, sub) = match rest.split_once('.') {
            Some((t, s)) => (t, Some(s)),
            None => (rest, None),
        };
        let attr = match schema {
            Some(s) => s.attribute(top)?,
            None => self.top_level(kind, top)?,
        };
        match sub {
            None => Some(attr),
            Some(s) => attr.sub_attribute(s),
        }
    }

    /// Splits an optional schema URN prefix off `path`: `None` schema means "core or common".
    /// Returns `None` if the path names an unrelated URN.
    fn split_urn<'p>(&self, kind: ResourceKind, path: &'p str) -> Option<(Option<&Schema>, &'p str)> {
        if let Some(rest) = strip_urn_prefix(path, kind.core_schema()) {
            return Some((None, rest));
        }
        for urn in self.extensions(kind) {
            if let Some(rest) = strip_urn_prefix(path, urn) {
                return Some((Some(self.schema(urn)?), rest));
            }
        }
        if path.to_ascii_lowercase().starts_with("urn:") {
            return None;
        }
        Some((None, path))
    }

    /// The `schemas` value for a stored resource: the core URN plus each extension it holds.
    pub fn resource_schemas(
        &self,
        kind: ResourceKind,
        resource: &serde_json::Map<String, serde_json::Value>,
    ) -> Vec<String> {
        let mut out = vec![kind.core_schema().to_string()];
        for urn in self.extensions(kind) {
            if resource.keys().any(|k| k.eq_ignore_ascii_case(urn)) {
                out.push((*urn).to_string());
            }
        }
        out
    }
}
