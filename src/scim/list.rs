//! Query parameters of list and get requests (RFC 7644 §3.4.2, §3.9) and the ListResponse message.

use serde_json::Value;

use crate::error::{ScimError, ScimResult};
use crate::scim::filter::{parse_filter, parse_path, AttrPath, Filter, PatchPath};

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

    /// Whether a User's `groups` must be read: the response shows them, or it asks (through
    /// `attributes`) for Roster's User extension or its `groupRoles`, which come from the same
    /// read (`groupRoles` is returned with the groups).
    pub fn wants_user_groups(&self) -> bool {
        use crate::scim::schema::{ROSTER_USER_SCHEMA, USER_SCHEMA};
        if self.wants(USER_SCHEMA, "groups") {
            return true;
        }
        let ext = ROSTER_USER_SCHEMA.to_ascii_lowercase();
        let group_roles = format!("{ext}:grouproles");
        self.attributes
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .any(|a| a == ext || a.starts_with(&group_roles))
    }
}

/// `sortBy` / `sortOrder`.
#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    /// The attribute to sort by.
    pub by: AttrPath,
    /// `sortOrder=descending`.
    pub descending: bool,
}

/// Which paging method a request uses (RFC 7644 §3.4.2.4 index, RFC 9865 cursor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// 1-based `startIndex`.
    Index {
        /// Index of the first result.
        start_index: u64,
    },
    /// `cursor`: `None` for the first page (`cursor` given empty), else the opaque cursor.
    Cursor(Option<String>),
}

/// A parsed list or search request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// `filter`, parsed.
    pub filter: Option<Filter>,
    /// `sortBy` / `sortOrder`.
    pub sort: Option<SortSpec>,
    /// Paging method and position.
    pub paging: Paging,
    /// Number of results to return (0 returns only `totalResults`).
    pub count: u64,
    /// Which attributes to return.
    pub projection: Projection,
}

/// The raw parameters, from a query string or a SearchRequest body.
#[derive(Debug, Default)]
struct Raw {
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    cursor: Option<String>,
    projection: Projection,
}

fn split_list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn parse_int(name: &str, value: &str) -> ScimResult<i64> {
    value.trim().parse::<i64>().map_err(|_| {
        ScimError::invalid_value(format!("query parameter {name} must be an integer, got {value:?}"))
    })
}

/// Parse the `attributes` / `excludedAttributes` pair from query pairs (names case-insensitive);
/// other parameters are not allowed where only a projection applies (GET of one resource).
pub fn parse_projection(pairs: &[(String, String)]) -> ScimResult<Projection> {
    let mut projection = Projection::default();
    for (name, value) in pairs {
        match name.to_ascii_lowercase().as_str() {
            "attributes" => projection.attributes.extend(split_list(value)),
            "excludedattributes" => projection.excluded.extend(split_list(value)),
            _ => {}
        }
    }
    Ok(projection)
}

/// Parse a list request's query string (parameter names case-insensitive).
pub fn parse_list(pairs: &[(String, String)], limits: PageLimits) -> ScimResult<ListQuery> {
    let mut raw = Raw::default();
    for (name, value) in pairs {
        match name.to_ascii_lowercase().as_str() {
            "filter" => raw.filter = Some(value.clone()),
            "sortby" => raw.sort_by = Some(value.clone()),
            "sortorder" => raw.sort_order = Some(value.clone()),
            "startindex" => raw.start_index = Some(parse_int("startIndex", value)?),
            "count" => raw.count = Some(parse_int("count", value)?),
            "cursor" => raw.cursor = Some(value.clone()),
            "attributes" => raw.projection.attributes.extend(split_list(value)),
            "excludedattributes" => raw.projection.excluded.extend(split_list(value)),
            _ => {}
        }
    }
    build(raw, limits)
}

const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Parse a `POST /.search` SearchRequest body (RFC 7644 §3.4.3).
pub fn parse_search(body: &Value, limits: PageLimits) -> ScimResult<ListQuery> {
    let obj =
        body.as_object().ok_or_else(|| ScimError::invalid_syntax("a SearchRequest must be a JSON object"))?;
    if let Some(schemas) = obj.get("schemas") {
        let ok = schemas.as_array().is_some_and(|a| a.iter().any(|s| s.as_str() == Some(SEARCH_REQUEST)));
        if !ok {
            return Err(ScimError::invalid_syntax(format!("schemas must contain {SEARCH_REQUEST}")));
        }
    }
    let text = |key: &str| -> ScimResult<Option<String>> {
        match obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ScimError::invalid_value(format!("{key} must be a string"))),
        }
    };
    let int = |key: &str| -> ScimResult<Option<i64>> {
        match obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| ScimError::invalid_value(format!("{key} must be an integer"))),
        }
    };
    let list = |key: &str| -> ScimResult<Vec<String>> {
        match obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(split_list(s)),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ScimError::invalid_value(format!("{key} must be an array of strings"))),
            Some(_) => Err(ScimError::invalid_value(format!("{key} must be an array of strings"))),
        }
    };
    let raw = Raw {
        filter: text("filter")?,
        sort_by: text("sortBy")?,
        sort_order: text("sortOrder")?,
        start_index: int("startIndex")?,
        count: int("count")?,
        cursor: text("cursor")?,
        projection: Projection { attributes: list("attributes")?, excluded: list("excludedAttributes")? },
    };
    build(raw, limits)
}

fn build(raw: Raw, limits: PageLimits) -> ScimResult<ListQuery> {
    let filter = match raw.filter.as_deref().map(str::trim) {
        None => None,
        Some("") => return Err(ScimError::invalid_filter("the filter is empty")),
        Some(text) => Some(parse_filter(text)?),
    };
    let descending = match raw.sort_order.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("ascending") => false,
        Some("descending") => true,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "sortOrder must be \"ascending\" or \"descending\", got {other:?}"
            )))
        }
    };
    let sort = match raw.sort_by.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match parse_path(text) {
            Ok(PatchPath::Attr(by)) => Some(SortSpec { by, descending }),
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "sortBy {} is not an attribute path",
                    crate::text::quote(text)
                )))
            }
        },
    };
    let paging = match (raw.cursor, raw.start_index) {
        (Some(_), Some(_)) => {
            return Err(ScimError::invalid_value("use either startIndex (index paging) or cursor, not both"))
        }
        (Some(c), None) if c.trim().is_empty() => Paging::Cursor(None),
        (Some(c), None) => Paging::Cursor(Some(c.trim().to_string())),
        (None, start) => Paging::Index { start_index: start.unwrap_or(1).max(1) as u64 },
    };
    let max = i64::from(limits.max_size);
    let count = match (raw.count, &paging) {
        (None, _) => u64::from(limits.default_size),
        (Some(c), Paging::Cursor(_)) if !(0..=max).contains(&c) => {
            return Err(ScimError::invalid_count(format!(
                "count must be between 0 and {max} for cursor paging"
            )))
        }
        (Some(c), _) => c.clamp(0, max) as u64,
    };
    Ok(ListQuery { filter, sort, paging, count, projection: raw.projection })
}

/// Cursors of a cursor-paged response (RFC 9865).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursors {
    /// Cursor of the next page, if there is one.
    pub next: Option<String>,
    /// Cursor of the previous page, if there is one.
    pub previous: Option<String>,
}

/// The ListResponse message (RFC 7644 §3.4.2), written as it is serialized: its resources in
/// any serializable form (stored resources as projected views, not copies). Numbers are JSON
/// numbers.
#[derive(Debug)]
pub struct ListResponse<R> {
    total_results: u64,
    paging: ListPaging,
    resources: Vec<R>,
}

/// How a ListResponse says where it is: `startIndex`, or (RFC 9865) the cursors.
#[derive(Debug)]
enum ListPaging {
    Index(u64),
    Cursor(Cursors),
}

impl<R> ListResponse<R> {
    /// An index-paged list (`startIndex`).
    pub fn index(total_results: u64, start_index: u64, resources: Vec<R>) -> Self {
        ListResponse { total_results, paging: ListPaging::Index(start_index), resources }
    }

    /// A cursor-paged list: `nextCursor` / `previousCursor` instead of `startIndex`.
    pub fn cursor(total_results: u64, cursors: Cursors, resources: Vec<R>) -> Self {
        ListResponse { total_results, paging: ListPaging::Cursor(cursors), resources }
    }
}

impl<R: serde::Serialize> serde::Serialize for ListResponse<R> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schemas", &["urn:ietf:params:scim:api:messages:2.0:ListResponse"])?;
        map.serialize_entry("totalResults", &self.total_results)?;
        if let ListPaging::Index(start_index) = self.paging {
            map.serialize_entry("startIndex", &start_index)?;
        }
        map.serialize_entry("itemsPerPage", &self.resources.len())?;
        map.serialize_entry("Resources", &self.resources)?;
        if let ListPaging::Cursor(cursors) = &self.paging {
            if let Some(next) = &cursors.next {
                map.serialize_entry("nextCursor", next)?;
            }
            if let Some(previous) = &cursors.previous {
                map.serialize_entry("previousCursor", previous)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIMITS: PageLimits = PageLimits { default_size: 100, max_size: 1000 };

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    fn start_and_count(q: &ListQuery) -> (u64, u64) {
        match q.paging {
            Paging::Index { start_index } => (start_index, q.count),
            Paging::Cursor(_) => panic!("index paging expected"),
        }
    }

    #[test]
    fn defaults_and_clamping() {
        let q = parse_list(&[], LIMITS).unwrap();
        assert_eq!(start_and_count(&q), (1, 100));
        let q = parse_list(&pairs(&[("startIndex", "0"), ("count", "-5")]), LIMITS).unwrap();
        assert_eq!(start_and_count(&q), (1, 0));
        let q = parse_list(&pairs(&[("startindex", "101"), ("COUNT", "5000")]), LIMITS).unwrap();
        assert_eq!(start_and_count(&q), (101, 1000));
    }

    #[test]
    fn non_integer_paging_is_invalid_value() {
        let err = parse_list(&pairs(&[("count", "ten")]), LIMITS).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidValue"));
    }

    #[test]
    fn filter_sort_and_cursor_parameters() {
        let q = parse_list(
            &pairs(&[
                ("filter", "userName eq \"x\""),
                ("sortBy", "name.familyName"),
                ("sortOrder", "Descending"),
            ]),
            LIMITS,
        )
        .unwrap();
        assert!(q.filter.is_some());
        let sort = q.sort.unwrap();
        assert_eq!(
            (sort.by.name.as_str(), sort.by.sub.as_deref(), sort.descending),
            ("name", Some("familyName"), true)
        );
        let err = parse_list(&pairs(&[("filter", "userName zz \"x\"")]), LIMITS).unwrap_err();
        assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidFilter"));
        let err = parse_list(&pairs(&[("filter", "  ")]), LIMITS).unwrap_err();
        assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidFilter"));
        let err = parse_list(&pairs(&[("sortOrder", "sideways")]), LIMITS).unwrap_err();
        assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidValue"));
        assert_eq!(parse_list(&pairs(&[("cursor", "")]), LIMITS).unwrap().paging, Paging::Cursor(None));
        let err = parse_list(&pairs(&[("cursor", ""), ("count", "5000")]), LIMITS).unwrap_err();
        assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidCount"));
        let err = parse_list(&pairs(&[("cursor", "abc"), ("startIndex", "1")]), LIMITS).unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn search_request_bodies() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "attributes": ["displayName", "userName"],
            "filter": "displayName sw \"smith\"",
            "startIndex": 1,
            "count": 10
        });
        let q = parse_search(&body, LIMITS).unwrap();
        assert_eq!(q.projection.attributes, vec!["displayName", "userName"]);
        assert_eq!(start_and_count(&q), (1, 10));
        assert!(parse_search(&json!({"schemas": ["urn:wrong"]}), LIMITS).is_err());
        assert!(parse_search(&json!({"count": "ten"}), LIMITS).is_err());
        assert!(parse_search(&json!([]), LIMITS).is_err());
    }

    #[test]
    fn projection_lists_are_split() {
        let q = parse_list(
            &pairs(&[("attributes", "userName, name.givenName"), ("excludedAttributes", "emails")]),
            LIMITS,
        )
        .unwrap();
        assert_eq!(q.projection.attributes, vec!["userName", "name.givenName"]);
        assert_eq!(q.projection.excluded, vec!["emails"]);
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
        let r = serde_json::to_value(ListResponse::index(3, 2, vec![json!({"id": "a"})])).unwrap();
        assert_eq!(r["totalResults"], json!(3));
        assert_eq!(r["startIndex"], json!(2));
        assert_eq!(r["itemsPerPage"], json!(1));
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["schemas", "totalResults", "startIndex", "itemsPerPage", "Resources"]);
        let cursors = Cursors { next: Some("n".into()), previous: None };
        let c = serde_json::to_value(ListResponse::cursor(3, cursors, vec![json!({"id": "a"})])).unwrap();
        let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["schemas", "totalResults", "itemsPerPage", "Resources", "nextCursor"]);
        assert_eq!(c["Resources"][0]["id"], "a");
    }
}
