//! Roles and positions as SCIM sees them, with no I/O: the role values a User resource names
//! (RFC 7643 `roles[].value`, in the forms Entra sends app roles), the tolerance that accepts
//! those forms in POST/PUT bodies, the position value at a configured attribute path, and the
//! `/Roles` resource representation.

use serde_json::{json, Map, Value};

use super::schema::{Registry, ResourceKind, ROLE_SCHEMA};

/// The values a `roles` attribute value names: a `value` string per element, where a value
/// that is itself a JSON document (Entra app roles: `"{\"value\":\"Admin\",..}"` or
/// `"[{\"value\":\"Admin\",..}]"`) names the `value`s inside it.
fn decode(text: &str, out: &mut Vec<String>) {
    let trimmed = text.trim();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        if let Ok(inner) = serde_json::from_str::<Value>(trimmed) {
            collect(&inner, out);
            return;
        }
    }
    if !trimmed.is_empty() {
        out.push(trimmed.to_string());
    }
}

fn collect(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => decode(s, out),
        Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        Value::Object(obj) => {
            if let Some((_, v)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")) {
                collect(v, out);
            }
        }
        _ => {}
    }
}

/// Every role value a User resource's `roles` names, in order, without duplicates (compared
/// case-insensitively; the catalog match is caseless too).
pub fn role_values(resource: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((_, roles)) = resource.iter().find(|(k, _)| k.eq_ignore_ascii_case("roles")) {
        collect(roles, &mut out);
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|v| seen.insert(v.to_lowercase()));
    out
}

/// One `roles` element from a JSON document Entra put in a string: `value` and `display`
/// (from `displayName`) of the inner object, `type`/`primary` of the outer element.
fn element_from(inner: &Map<String, Value>, outer: Option<&Map<String, Value>>) -> Option<Value> {
    let pick = |m: &Map<String, Value>, key: &str| {
        m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.clone())
    };
    let value = pick(inner, "value").filter(Value::is_string)?;
    let mut out = Map::new();
    out.insert("value".into(), value);
    if let Some(d) = pick(inner, "displayName").or_else(|| pick(inner, "display")).filter(Value::is_string) {
        out.insert("display".into(), d);
    }
    let outer_or_inner = |key| outer.and_then(|o| pick(o, key)).or_else(|| pick(inner, key));
    if let Some(t) = outer_or_inner("type").filter(Value::is_string) {
        out.insert("type".into(), t);
    }
    if let Some(p) = outer.and_then(|o| pick(o, "primary")) {
        out.insert("primary".into(), p);
    }
    Some(Value::Object(out))
}

/// The elements a string stands for: a JSON array or object of roles, or one plain value.
fn elements_of_string(text: &str, outer: Option<&Map<String, Value>>) -> Option<Vec<Value>> {
    let trimmed = text.trim();
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(|i| match i {
                    Value::Object(o) => element_from(o, outer),
                    Value::String(s) => Some(json!({"value": s})),
                    _ => None,
                })
                .collect(),
        ),
        Ok(Value::Object(o)) => element_from(&o, outer).map(|e| vec![e]),
        _ if outer.is_none() && !trimmed.is_empty() => Some(vec![json!({"value": trimmed})]),
        _ => None,
    }
}

/// Rewrite the Entra forms of `roles` in a User POST/PUT body into RFC 7643 form, as the PATCH
/// rule `roles_json_string` does: the whole attribute as a string (`"org_admin"` or a
/// stringified JSON array), elements given as strings, and element values holding a JSON
/// document. Returns whether anything was rewritten (the caller records the rule).
pub fn tolerate_roles(body: &mut Value) -> bool {
    let Value::Object(obj) = body else { return false };
    let Some((_, roles)) = obj.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case("roles")) else {
        return false;
    };
    let (items, mut changed) = match roles {
        Value::String(s) => match elements_of_string(s, None) {
            Some(items) => (items, true),
            None => return false,
        },
        Value::Array(items) => (std::mem::take(items), false),
        _ => return false,
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(s) => {
                changed = true;
                out.extend(elements_of_string(&s, None).unwrap_or_default());
            }
            Value::Object(o) => {
                let inner = o
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("value"))
                    .and_then(|(_, v)| v.as_str())
                    .filter(|s| matches!(s.trim_start().chars().next(), Some('[' | '{')))
                    .and_then(|s| elements_of_string(s, Some(&o)));
                match inner {
                    Some(expanded) => {
                        changed = true;
                        out.extend(expanded);
                    }
                    None => out.push(Value::Object(o)),
                }
            }
            other => out.push(other),
        }
    }
    *roles = Value::Array(out);
    changed
}

/// The string value at a singular attribute path of a stored User resource (`title`,
/// `name.givenName`, `urn:...:enterprise:2.0:User:department`), matched case-insensitively
/// against the resource's keys (an extension's attributes live under its URN key). `None` when
/// absent, blank or not a string.
pub fn attribute_text(resource: &Map<String, Value>, path: &str) -> Option<String> {
    let core = ResourceKind::User.core_schema();
    let path = match path.get(..core.len()) {
        Some(head) if head.eq_ignore_ascii_case(core) => path[core.len()..].trim_start_matches(':'),
        _ => path,
    };
    let extension = resource.iter().find(|(k, _)| {
        k.len() > 4
            && k[..4].eq_ignore_ascii_case("urn:")
            && path.get(..k.len()).is_some_and(|h| h.eq_ignore_ascii_case(k))
            && path[k.len()..].starts_with(':')
    });
    let (container, rest) = match extension {
        Some((k, v)) => (v.as_object()?, &path[k.len() + 1..]),
        None => (resource, path),
    };
    let mut parts = rest.split('.');
    let first = parts.next()?;
    let mut value = container.iter().find(|(k, _)| k.eq_ignore_ascii_case(first))?.1;
    for part in parts {
        value = value.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(part))?.1;
    }
    value.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The `jsonb` key path (`#>>`) of a User attribute path in stored resources: canonical
/// attribute names, the extension URN as the first key. `None` for unknown paths.
pub fn json_key_path(registry: &Registry, path: &str) -> Option<Vec<String>> {
    let core = ResourceKind::User.core_schema();
    let mut keys = Vec::new();
    let mut rest = match path.get(..core.len()) {
        Some(head) if head.eq_ignore_ascii_case(core) => path[core.len()..].trim_start_matches(':'),
        _ => path,
    };
    for urn in registry.extensions(ResourceKind::User) {
        if path.get(..urn.len()).is_some_and(|h| h.eq_ignore_ascii_case(urn))
            && path[urn.len()..].starts_with(':')
        {
            keys.push((*urn).to_string());
            rest = &path[urn.len() + 1..];
        }
    }
    let attr = registry.attribute(ResourceKind::User, path)?;
    match rest.split_once('.') {
        Some((top, _)) => {
            let parent =
                registry.attribute(ResourceKind::User, &path[..path.len() - rest.len() + top.len()])?;
            keys.push(parent.name.to_string());
            keys.push(attr.name.to_string());
        }
        None => keys.push(attr.name.to_string()),
    }
    Some(keys)
}

/// Check that `path` names a singular string attribute of User (core or an extension): the
/// only kind of attribute positions can be fed from. Returns the canonical spelling.
pub fn check_position_source(registry: &Registry, path: &str) -> Result<String, String> {
    use super::schema::AttrType;
    let attr = registry
        .attribute(ResourceKind::User, path)
        .ok_or_else(|| format!("position_source: {path:?} is not a User attribute"))?;
    if attr.multi_valued || attr.ty != AttrType::String {
        return Err(format!(
            "position_source: {path:?} is not a singular string attribute (it is {}{})",
            if attr.multi_valued { "multi-valued " } else { "" },
            attr.ty.as_str()
        ));
    }
    Ok(path.to_string())
}

/// A role of the catalog as a `/Roles` resource.
#[derive(Debug, Clone)]
pub struct RoleView<'a> {
    /// Name (also the id).
    pub name: &'a str,
    /// Human-readable name.
    pub display_name: &'a str,
    /// Rank.
    pub rank: i32,
    /// Whether holders are administrators.
    pub grants_admin: bool,
}

/// The `/Roles/{name}` representation (`id` = the role's name).
pub fn role_resource(role: &RoleView<'_>, base_url: &str) -> Value {
    let base = base_url.trim_end_matches('/');
    json!({
        "schemas": [ROLE_SCHEMA],
        "id": role.name,
        "name": role.name,
        "displayName": role.display_name,
        "rank": role.rank,
        "grantsAdmin": role.grants_admin,
        "meta": {"resourceType": "Role", "location": format!("{base}/Roles/{}", role.name)},
    })
}

/// The `/ResourceTypes/Role` document.
pub fn role_resource_type(base_url: &str) -> Value {
    let base = base_url.trim_end_matches('/');
    json!({
        "schemas": [super::schema::RESOURCE_TYPE_SCHEMA],
        "id": "Role",
        "name": "Role",
        "endpoint": "/Roles",
        "description": "The organization's role catalog (read-only)",
        "schema": ROLE_SCHEMA,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Role")},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn role_values_in_every_form() {
        let cases = [
            (json!({"roles": [{"value": "editor"}]}), vec!["editor"]),
            (json!({"roles": [{"value": "{\"value\":\"org_admin\",\"id\":\"1\"}"}]}), vec!["org_admin"]),
            (json!({"roles": [{"value": "[{\"value\":\"a\"},{\"value\":\"B\"}]"}]}), vec!["a", "B"]),
            (json!({"ROLES": [{"value": "x"}, {"value": "X"}]}), vec!["x"]),
            (json!({"roles": [{"value": "   "}]}), vec![]),
            (json!({}), vec![]),
        ];
        for (resource, want) in cases {
            assert_eq!(role_values(&obj(resource.clone())), want, "{resource}");
        }
    }

    #[test]
    fn post_bodies_accept_entra_role_forms() {
        let mut plain = json!({"roles": "org_admin"});
        assert!(tolerate_roles(&mut plain));
        assert_eq!(plain, json!({"roles": [{"value": "org_admin"}]}));

        let mut stringified = json!({"roles": "[{\"value\":\"org_admin\",\"displayName\":\"Admin\"}]"});
        assert!(tolerate_roles(&mut stringified));
        assert_eq!(stringified, json!({"roles": [{"value": "org_admin", "display": "Admin"}]}));

        let mut nested = json!({"roles": [{"value": "{\"value\":\"editor\"}", "primary": true, "type": "WindowsAzureActiveDirectoryRole"}]});
        assert!(tolerate_roles(&mut nested));
        assert_eq!(
            nested,
            json!({"roles": [{"value": "editor", "type": "WindowsAzureActiveDirectoryRole", "primary": true}]})
        );

        let mut strings = json!({"roles": ["editor"]});
        assert!(tolerate_roles(&mut strings));
        assert_eq!(strings, json!({"roles": [{"value": "editor"}]}));

        let mut rfc = json!({"roles": [{"value": "editor"}]});
        assert!(!tolerate_roles(&mut rfc));
        assert_eq!(rfc, json!({"roles": [{"value": "editor"}]}));
    }

    #[test]
    fn attribute_text_follows_paths_caselessly() {
        let ent = crate::scim::schema::ENTERPRISE_USER_SCHEMA;
        let res = obj(
            json!({"title": " Store manager ", "name": {"givenName": "Ada"}, ent: {"department": "Sales"}}),
        );
        assert_eq!(attribute_text(&res, "title").as_deref(), Some("Store manager"));
        assert_eq!(attribute_text(&res, "NAME.givenname").as_deref(), Some("Ada"));
        assert_eq!(attribute_text(&res, &format!("{ent}:department")).as_deref(), Some("Sales"));
        assert_eq!(
            attribute_text(&res, &format!("{}:department", ent.to_uppercase())).as_deref(),
            Some("Sales")
        );
        assert_eq!(attribute_text(&res, "nickName"), None);
        let r = Registry::standard();
        assert_eq!(json_key_path(&r, "TITLE"), Some(vec!["title".to_string()]));
        assert_eq!(
            json_key_path(&r, "name.givenname"),
            Some(vec!["name".to_string(), "givenName".to_string()])
        );
        assert_eq!(
            json_key_path(&r, &format!("{ent}:Department")),
            Some(vec![ent.to_string(), "department".to_string()])
        );
    }

    #[test]
    fn position_source_must_be_a_singular_string() {
        let r = Registry::standard();
        assert!(check_position_source(&r, "title").is_ok());
        assert!(check_position_source(
            &r,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
        )
        .is_ok());
        assert!(check_position_source(&r, "emails").unwrap_err().contains("multi-valued"));
        assert!(check_position_source(&r, "active").unwrap_err().contains("boolean"));
        assert!(check_position_source(&r, "nope").unwrap_err().contains("not a User attribute"));
    }
}
