//! Typed pieces of a SCIM resource that the rest of Roster relies on: identifiers, versions
//! (ETags), the folded keys that make names unique case-insensitively, and the rendering of a
//! stored resource with `schemas`, `id` and `meta`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::error::{ScimError, ScimResult};
use crate::scim::schema::{Registry, ResourceKind};

/// The case-insensitive identity of a userName or group displayName: Unicode lower case of the
/// trimmed value. Two names with the same key cannot coexist in a tenant.
pub fn fold_key(value: &str) -> String {
    value.trim().to_lowercase()
}

/// A resource version, shown as the weak ETag `W/"<n>"` and in `meta.version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(i64);

impl Version {
    /// Wrap a row version.
    pub fn new(n: i64) -> Self {
        Version(n)
    }
    /// The row version number.
    pub fn get(self) -> i64 {
        self.0
    }
    /// The ETag / `meta.version` spelling.
    pub fn etag(self) -> String {
        format!("W/\"{}\"", self.0)
    }
    /// Whether an entity tag from a header names this version (weak comparison: `W/"3"` and `"3"`
    /// both name version 3).
    fn matches_tag(self, tag: &str) -> bool {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag.strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .is_some_and(|inner| inner == self.0.to_string())
    }
}

/// A parsed `If-Match` or `If-None-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityTags {
    /// `*`: any current representation.
    Any,
    /// A list of entity tags as sent.
    List(Vec<String>),
}

impl EntityTags {
    /// Parse a header value; an empty or malformed value is a 400 the client can fix.
    pub fn parse(header: &str) -> ScimResult<Self> {
        let header = header.trim();
        if header == "*" {
            return Ok(EntityTags::Any);
        }
        let tags: Vec<String> =
            header.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
        let well_formed = |t: &String| {
            let t = t.strip_prefix("W/").unwrap_or(t);
            t.len() >= 2 && t.starts_with('"') && t.ends_with('"')
        };
        if tags.is_empty() || !tags.iter().all(well_formed) {
            return Err(ScimError::bad_request(format!(
                "malformed entity tag list {}; expected e.g. W/\"3\" or *",
                crate::text::quote(header)
            )));
        }
        Ok(EntityTags::List(tags))
    }

    /// Whether the current version is named by these tags.
    pub fn matches(&self, current: Version) -> bool {
        match self {
            EntityTags::Any => true,
            EntityTags::List(tags) => tags.iter().any(|t| current.matches_tag(t)),
        }
    }
}

/// Check an `If-Match` precondition against the current version (RFC 7644 §3.14).
pub fn check_if_match(if_match: Option<&EntityTags>, current: Version) -> ScimResult<()> {
    match if_match {
        Some(tags) if !tags.matches(current) => Err(ScimError::precondition_failed(format!(
            "If-Match does not match the current version {}; fetch the resource again and retry",
            current.etag()
        ))),
        _ => Ok(()),
    }
}

/// Server-maintained metadata of a resource (RFC 7643 §3.1 `meta`).
#[derive(Debug, Clone)]
pub struct Meta {
    /// When the resource was created.
    pub created: DateTime<Utc>,
    /// When it last changed.
    pub last_modified: DateTime<Utc>,
    /// Its current version.
    pub version: Version,
}

/// Format a timestamp the way SCIM shows dateTime values.
pub fn format_datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A resource id from a URL or a bulk operation's path. Ids Roster did not issue cannot exist:
/// 404, not 400.
pub fn resource_id(kind_name: &str, raw: &str) -> ScimResult<uuid::Uuid> {
    uuid::Uuid::parse_str(raw)
        .map_err(|_| ScimError::not_found(format!("{kind_name} {} not found", crate::text::excerpt(raw))))
}

/// The URL of one resource below a SCIM base URL.
pub fn location(base_url: &str, kind: ResourceKind, id: &str) -> String {
    format!("{base_url}{}/{id}", kind.endpoint())
}

/// A stored resource as clients see it: `schemas` and `id` (its head), the stored attributes,
/// `meta` (its tail). `schemas` lists the core schema and each registered extension present in
/// the resource. Written through a [`crate::scim::schema::Projector`]'s view.
#[derive(Debug)]
pub struct Rendered {
    /// `schemas` and `id`.
    pub head: [(&'static str, Value); 2],
    /// The stored attributes, moved in: a page of members renders without cloning them.
    pub attributes: Map<String, Value>,
    /// `meta`.
    pub tail: [(&'static str, Value); 1],
}

/// Render a stored resource for clients: `schemas`, `id`, the stored attributes, `meta`.
pub fn render(
    registry: &Registry,
    kind: ResourceKind,
    id: &str,
    attributes: Map<String, Value>,
    meta: &Meta,
    base_url: &str,
) -> Rendered {
    let mut schemas = vec![Value::String(kind.core_schema().to_string())];
    for urn in registry.extensions(kind) {
        if attributes.contains_key(*urn) {
            schemas.push(Value::String((*urn).to_string()));
        }
    }
    Rendered {
        head: [("schemas", Value::Array(schemas)), ("id", Value::String(id.to_string()))],
        attributes,
        tail: [("meta", meta_value(kind, id, meta, base_url))],
    }
}

/// A resource's `meta` as clients see it.
pub fn meta_value(kind: ResourceKind, id: &str, meta: &Meta, base_url: &str) -> Value {
    serde_json::json!({
        "resourceType": kind.name(),
        "created": format_datetime(meta.created),
        "lastModified": format_datetime(meta.last_modified),
        "location": location(base_url, kind, id),
        "version": meta.version.etag(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_key_is_unicode_case_insensitive() {
        assert_eq!(fold_key("Ærlig.ØSTBY@Example.COM"), "ærlig.østby@example.com");
        assert_eq!(fold_key("  bjensen "), "bjensen");
        assert_ne!(fold_key("a"), fold_key("b"));
    }

    #[test]
    fn etag_round_trips_through_if_match() {
        let v = Version::new(7);
        assert_eq!(v.etag(), "W/\"7\"");
        let tags = EntityTags::parse(&v.etag()).unwrap();
        assert!(tags.matches(v));
        assert!(EntityTags::parse("\"7\"").unwrap().matches(v));
        assert!(!EntityTags::parse("W/\"6\"").unwrap().matches(v));
        assert!(EntityTags::parse("W/\"5\", W/\"7\"").unwrap().matches(v));
        assert!(EntityTags::parse("*").unwrap().matches(v));
    }

    #[test]
    fn malformed_entity_tags_are_rejected() {
        for bad in ["", "7", "W/7", "\"unterminated"] {
            let err = EntityTags::parse(bad).unwrap_err();
            assert_eq!(err.status(), 400, "{bad:?}");
        }
    }

    #[test]
    fn if_match_mismatch_is_412() {
        let tags = EntityTags::parse("W/\"1\"").unwrap();
        let err = check_if_match(Some(&tags), Version::new(2)).unwrap_err();
        assert_eq!(err.status(), 412);
        assert!(check_if_match(None, Version::new(2)).is_ok());
    }
}
