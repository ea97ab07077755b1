//! Query parameters of list and get requests (RFC 7644 §3.4.2, §3.9) and the ListResponse message.

use serde_json::{json, Value};

use crate::error::{ScimError, ScimResult};

/// Page size limits, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Page size when the request gives no `count`.
    pub default_size: u32,
    /// Largest page returned; larger `count`s are reduced to it (RFC 7644 §3.4.2.4).
    pub max_size: u32,
}

/// `attributes` / `excludedAttributes` of a request (RFC 7644 §3.9).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    /// Attributes to return (plus those always returned).
    pub attributes: Vec<String>,
    /// Attributes to leave out.
    pub excluded: Vec<String>,
}

impl Projection {
    /// Whether a top-level attribute (by name, case-insensitive, optionally URN-qualified with the
    /// core schema) would appear in the response, so its data must be fetched at all.
    pub fn wants(&self, core_schema: &str, attribute: &str) -> bool {
        let top = |path: &str| -> String {
            let lower = path.to_ascii_lowercase();
            let core = format!("{}:", core_schema.to_ascii_lowercase());
            let rest = lower.strip_prefix(&core).unwrap_or(&lower).to_string();
            rest.split('.').next().unwrap_or_default().to_string()
        };
        let name = attribute.to_ascii_lowercase();
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(|a| top(a) == name);
        }
        !self.excluded.iter().any(|a| top(a) == name)
    }
}

/// Parsed parameters of a list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    /// 1-based index of the first result.
    pub start_index: u64,
    /// Number of results to return (0 returns only `totalResults`).
    pub count: u64,
    /// Which attributes to return.
    pub projection: Projection,
}

fn split_list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn parse_int(name: &str, value: &str) -> ScimResult<i64> {
    value.trim().parse::<i64>().map_err(|_| {
        ScimError::invalid_value(format!("query parameter {name} must be an integer, got {value:?}"))
    })
}

/// Parameters not yet supported; each answers with the error a client can act on.
fn reject_unsupported(name: &str) -> ScimResult<()> {
    match name {
        "filter" => Err(ScimError::invalid_filter(
            "filtering is not supported by this server yet (ServiceProviderConfig filter.supported is false)",
        )),
        "sortby" | "sortorder" => Err(ScimError::bad_request(
            "sorting is not supported by this server yet (ServiceProviderConfig sort.supported is false)",
        )),
        "cursor" => Err(ScimError::invalid_cursor(
            "cursor paging is not supported by this server yet (ServiceProviderConfig pagination.cursor is false)",
        )),
        _ => Ok(()),
    }
}

/// Parse the `attributes` / `excludedAttributes` pair from query pairs (names case-insensitive).
pub fn parse_projection(pairs: &[(String, String)]) -> ScimResult<Projection> {
    let mut projection = Projection::default();
    for (name, value) in pairs {
        match name.to_ascii_lowercase().as_str() {
            "attributes" => projection.attributes.extend(split_list(value)),
            "excludedattributes" => projection.excluded.extend(split_list(value)),
            other => reject_unsupported(other)?,
        }
    }
    Ok(projection)
}

/// Parse list parameters. `startIndex` below 1 is treated as 1 and a negative `count` as 0
/// (RFC 7644 §3.4.2.4); `count` above the maximum is reduced to it.
pub fn parse_list(pairs: &[(String, String)], limits: PageLimits) -> ScimResult<ListParams> {
    let mut start_index = 1u64;
    let mut count = u64::from(limits.default_size);
    let mut rest = Vec::new();
    for (name, value) in pairs {
        match name.to_ascii_lowercase().as_str() {
            "startindex" => start_index = parse_int("startIndex", value)?.max(1) as u64,
            "count" => count = parse_int("count", value)?.clamp(0, i64::from(limits.max_size)) as u64,
            _ => rest.push((name.clone(), value.clone())),
        }
    }
    Ok(ListParams { start_index, count, projection: parse_projection(&rest)? })
}

/// The ListResponse message (RFC 7644 §3.4.2); numbers are JSON numbers.
pub fn list_response(total_results: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total_results,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PageLimits = PageLimits { default_size: 100, max_size: 1000 };

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn defaults_and_clamping() {
        let p = parse_list(&[], LIMITS).unwrap();
        assert_eq!((p.start_index, p.count), (1, 100));
        let p = parse_list(&pairs(&[("startIndex", "0"), ("count", "-5")]), LIMITS).unwrap();
        assert_eq!((p.start_index, p.count), (1, 0));
        let p = parse_list(&pairs(&[("startindex", "101"), ("COUNT", "5000")]), LIMITS).unwrap();
        assert_eq!((p.start_index, p.count), (101, 1000));
    }

    #[test]
    fn non_integer_paging_is_invalid_value() {
        let err = parse_list(&pairs(&[("count", "ten")]), LIMITS).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidValue"));
    }

    #[test]
    fn unsupported_parameters_are_errors_not_ignored() {
        let err = parse_list(&pairs(&[("filter", "userName eq \"x\"")]), LIMITS).unwrap_err();
        assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidFilter"));
        let err = parse_list(&pairs(&[("sortBy", "userName")]), LIMITS).unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn projection_lists_are_split() {
        let p = parse_list(
            &pairs(&[("attributes", "userName, name.givenName"), ("excludedAttributes", "emails")]),
            LIMITS,
        )
        .unwrap();
        assert_eq!(p.projection.attributes, vec!["userName", "name.givenName"]);
        assert_eq!(p.projection.excluded, vec!["emails"]);
    }

    #[test]
    fn projection_wants_top_level_attributes() {
        const G: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
        let all = Projection::default();
        assert!(all.wants(G, "members"));
        let excl = Projection { excluded: vec!["Members".into()], ..Default::default() };
        assert!(!excl.wants(G, "members"));
        let only = Projection { attributes: vec!["displayName".into()], ..Default::default() };
        assert!(!only.wants(G, "members"));
        let sub = Projection { attributes: vec![format!("{G}:members.value")], ..Default::default() };
        assert!(sub.wants(G, "members"));
    }

    #[test]
    fn list_response_numbers_are_numbers() {
        let r = list_response(3, 2, vec![json!({"id": "a"})]);
        assert_eq!(r["totalResults"], json!(3));
        assert_eq!(r["startIndex"], json!(2));
        assert_eq!(r["itemsPerPage"], json!(1));
    }
}
