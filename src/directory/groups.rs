//! Groups over SCIM: create, read, replace (PUT), delete, list, with direct members (users and
//! nested groups) kept as rows of `group_members`.

use std::collections::HashSet;

use diesel_async::AsyncConnection;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{commit_events, db_precision, logged, membership_events, object, roles, Context, Stored};
use crate::db::groups::{self, GroupColumns, GroupRow, MemberRow};
use crate::db::Conn;
use crate::error::{ScimError, ScimResult};
use crate::events::{changed_attributes, NewEvent};
use crate::scim::resource::{check_if_match, EntityTags, Meta, Version};
use crate::scim::schema::{check_immutable, Normalized, Registry, ResourceKind, ROSTER_GROUP_SCHEMA};

fn not_found(id: Uuid) -> ScimError {
    ScimError::not_found(format!("Group {id} not found"))
}

/// A member named in a request: its id and, when the client said, its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requested {
    pub(crate) id: Uuid,
    pub(crate) kind: Option<ResourceKind>,
}

/// Parse member references sent in a PATCH (ids and optional types); a value that is not an id
/// Roster issued cannot name a member.
pub(crate) fn requested(refs: &[crate::scim::patch::MemberRef]) -> ScimResult<Vec<Requested>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut malformed = Vec::new();
    for r in refs {
        let kind = match r.kind.as_deref() {
            Some("User") => Some(ResourceKind::User),
            Some("Group") => Some(ResourceKind::Group),
            _ => None,
        };
        match Uuid::parse_str(&r.value) {
            Ok(id) if seen.insert(id) => out.push(Requested { id, kind }),
            Ok(_) => {}
            Err(_) => malformed.push(r.value.clone()),
        }
    }
    if malformed.is_empty() {
        Ok(out)
    } else {
        Err(no_such_members(&malformed))
    }
}

/// The error for member values that are not ids: the first three quoted (bounded excerpts), then
/// how many more, so a hostile body cannot make the detail as large as itself.
fn no_such_members(values: &[String]) -> ScimError {
    let mut shown: Vec<String> = values.iter().take(3).map(|v| crate::text::quote(v)).collect();
    if values.len() > 3 {
        shown.push(format!("and {} more", values.len() - 3));
    }
    ScimError::invalid_value(format!("members: no such User or Group: {}", shown.join(", ")))
}

/// Take `members` out of a normalised group resource and parse the ids. The schema layer has
/// already checked that each element has a `value` and a canonical `type` if any.
fn take_members(resource: &mut Map<String, Value>) -> ScimResult<Vec<Requested>> {
    let Some(Value::Array(items)) = resource.remove("members") else { return Ok(Vec::new()) };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut malformed = Vec::new();
    for item in items {
        let value = item.get("value").and_then(Value::as_str).unwrap_or_default();
        let kind = match item.get("type").and_then(Value::as_str) {
            Some("User") => Some(ResourceKind::User),
            Some("Group") => Some(ResourceKind::Group),
            _ => None,
        };
        match Uuid::parse_str(value) {
            Ok(id) if seen.insert(id) => out.push(Requested { id, kind }),
            Ok(_) => {}
            Err(_) => malformed.push(value.to_string()),
        }
    }
    if !malformed.is_empty() {
        return Err(no_such_members(&malformed));
    }
    Ok(out)
}

/// Resolve requested members against the tenant's users and groups: every one must exist with
/// the type given (if any). Nothing is written when one is missing.
pub(crate) async fn resolve_members(
    conn: &mut Conn,
    tenant: Uuid,
    group_id: Uuid,
    requested: &[Requested],
) -> ScimResult<Vec<(Uuid, &'static str)>> {
    not_itself(group_id, requested)?;
    let (ids, types) = columns(requested);
    let kinds = groups::member_kinds(conn, tenant, &ids, &types).await?;
    let mut resolved = Vec::with_capacity(requested.len());
    let mut missing = Vec::new();
    for (m, kind) in requested.iter().zip(kinds) {
        match kind.as_deref() {
            Some("User") => resolved.push((m.id, "User")),
            Some("Group") => resolved.push((m.id, "Group")),
            _ => missing.push(m.id),
        }
    }
    if !missing.is_empty() {
        return Err(missing_members(requested, &missing));
    }
    for (id, kind) in &resolved {
        if *kind == "Group" && groups::is_at_or_below(conn, tenant, group_id, *id).await? {
            return Err(ScimError::invalid_value(format!(
                "members: Group {id} is above this group in the tree; nesting it here would make a cycle"
            )));
        }
    }
    Ok(resolved)
}

/// Requested members as the SQL of group writes takes them: ids, and each one's type if given.
pub(crate) fn columns(requested: &[Requested]) -> (Vec<Uuid>, Vec<Option<&'static str>>) {
    requested.iter().map(|m| (m.id, m.kind.map(ResourceKind::name))).unzip()
}

/// The members a removal names: its values that are ids, each once, in request order (a value
/// that is not an id cannot be a member: nothing to remove).
pub(crate) fn removal_ids(values: &[String]) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    values.iter().filter_map(|v| Uuid::parse_str(v).ok()).filter(|id| seen.insert(*id)).collect()
}

/// A group cannot be its own member.
pub(crate) fn not_itself(group_id: Uuid, requested: &[Requested]) -> ScimResult<()> {
    if requested.iter().any(|m| m.id == group_id) {
        return Err(ScimError::invalid_value("members: a group cannot be a member of itself"));
    }
    Ok(())
}

/// The error for requested members (`missing`, by id) that do not exist with the type given:
/// the first three named, then how many more (bounded, like [`no_such_members`]).
pub(crate) fn missing_members(requested: &[Requested], missing: &[Uuid]) -> ScimError {
    let missing: HashSet<&Uuid> = missing.iter().collect();
    let mut named: Vec<String> = requested
        .iter()
        .filter(|m| missing.contains(&m.id))
        .take(3)
        .map(|m| match m.kind {
            Some(k) => format!("{} {}", k.name(), m.id),
            None => m.id.to_string(),
        })
        .collect();
    if missing.len() > 3 {
        named.push(format!("and {} more", missing.len() - 3));
    }
    ScimError::invalid_value(format!("members: no such User or Group in this tenant: {}", named.join(", ")))
}

/// Take the tree parent out of Roster's Group extension (it lives in a column, like members).
pub(crate) fn take_parent(resource: &mut Map<String, Value>) -> ScimResult<Option<Uuid>> {
    let Some(Value::Object(ext)) = resource.get_mut(ROSTER_GROUP_SCHEMA) else { return Ok(None) };
    let parent = ext.remove("parent");
    if ext.is_empty() {
        resource.remove(ROSTER_GROUP_SCHEMA);
    }
    match parent.as_ref().and_then(Value::as_str) {
        None => Ok(None),
        // A reference is the group's URL (`.../Groups/<id>`); its bare id is accepted too.
        Some(text) => {
            let id = text.trim_end_matches('/').rsplit_once("/Groups/").map_or(text, |(_, id)| id);
            Uuid::parse_str(id).map(Some).map_err(|_| {
                ScimError::invalid_value(format!("parent: no such Group {}", crate::text::quote(text)))
            })
        }
    }
}

/// Check a new parent: it exists in the tenant and is not the group itself or below it.
pub(crate) async fn check_parent(
    conn: &mut Conn,
    tenant: Uuid,
    group_id: Uuid,
    parent: Option<Uuid>,
) -> ScimResult<()> {
    let Some(parent) = parent else { return Ok(()) };
    if groups::existing_ids(conn, tenant, &[parent]).await?.is_empty() {
        return Err(ScimError::invalid_value(format!("parent: no such Group {parent} in this tenant")));
    }
    if groups::is_at_or_below(conn, tenant, parent, group_id).await? {
        return Err(ScimError::invalid_value(format!(
            "parent: Group {parent} is this group or below it in the tree; that would make a cycle"
        )));
    }
    Ok(())
}

fn member_json(base_url: &str, m: &MemberRow) -> Value {
    let endpoint = if m.member_type == "Group" { "Groups" } else { "Users" };
    // No `display`: RFC 7643 §2.4 makes it an immutable sub-attribute the client may set, and
    // Roster does not keep one per membership; inventing one would contradict what was sent.
    json!({
        "value": m.member_id.to_string(),
        "$ref": format!("{base_url}/{endpoint}/{}", m.member_id),
        "type": m.member_type,
    })
}

pub(crate) fn stored(row: GroupRow, members: Option<Vec<Value>>, base_url: &str) -> Stored {
    let mut attributes = object(row.resource);
    if let Some(parent) = row.parent_id {
        let ext = attributes.entry(ROSTER_GROUP_SCHEMA).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(ext) = ext {
            ext.insert("parent".into(), Value::String(format!("{base_url}/Groups/{parent}")));
        }
    }
    if let Some(members) = members.filter(|m| !m.is_empty()) {
        attributes.insert("members".into(), Value::Array(members));
    }
    Stored {
        id: row.id,
        attributes,
        meta: Meta {
            created: row.created_at,
            last_modified: row.last_modified,
            version: Version::new(row.version),
        },
    }
}

/// Attach members to rows (one query for the whole page) unless the response won't show them.
pub(crate) async fn with_members(
    conn: &mut Conn,
    ctx: &Context,
    rows: Vec<GroupRow>,
    want_members: bool,
) -> ScimResult<Vec<Stored>> {
    if !want_members || rows.is_empty() {
        return Ok(rows.into_iter().map(|r| stored(r, None, &ctx.base_url)).collect());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let members = groups::members_of(conn, ctx.tenant(), &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mine = members
                .iter()
                .filter(|m| m.group_id == row.id)
                .map(|m| member_json(&ctx.base_url, m))
                .collect();
            stored(row, Some(mine), &ctx.base_url)
        })
        .collect())
}

pub(crate) async fn read_back(conn: &mut Conn, ctx: &Context, id: Uuid) -> ScimResult<Stored> {
    let row = groups::find(conn, ctx.tenant(), id).await?.ok_or_else(|| not_found(id))?;
    Ok(with_members(conn, ctx, vec![row], true).await?.remove(0))
}

/// Create a group with its initial members.
pub async fn create(conn: &mut Conn, ctx: &Context, input: Normalized) -> ScimResult<Stored> {
    let mut resource = input.resource;
    let requested = take_members(&mut resource)?;
    let parent = take_parent(&mut resource)?;
    let id = Uuid::now_v7();
    let now = db_precision(ctx.now);
    let tenant = ctx.tenant();
    let connection = ctx.connection();
    let columns = GroupColumns::from_resource(resource, parent);
    conn.transaction::<_, ScimError, _>(async move |conn| {
        // Place the group in the tree first, so that member cycle checks see its parent.
        check_parent(conn, tenant, id, parent).await?;
        groups::insert(conn, tenant, id, connection, &columns, now).await?;
        let members = resolve_members(conn, tenant, id, &requested).await?;
        let delta = groups::set_members(conn, tenant, id, &members).await?;
        let mut out = vec![NewEvent::group_created(id, parent)];
        membership_events(&mut out, true, &delta.added);
        // A new group placed under a bound parent passes the binding to its members.
        let bound = roles::any_binding(conn, tenant).await?;
        out.extend(roles::group_changed(conn, tenant, bound, &delta.added, None).await?);
        commit_events(conn, ctx, &out, now, logged(ResourceKind::Group, id, None, &[])).await?;
        read_back(conn, ctx, id).await
    })
    .await
}

/// Read a group; members are read only when `want_members`.
pub async fn get(conn: &mut Conn, ctx: &Context, id: Uuid, want_members: bool) -> ScimResult<Stored> {
    let row = groups::find(conn, ctx.tenant(), id).await?.ok_or_else(|| not_found(id))?;
    Ok(with_members(conn, ctx, vec![row], want_members).await?.remove(0))
}

/// Replace a group (PUT), members included: the membership delta is applied as row changes.
pub async fn replace(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    id: Uuid,
    input: Normalized,
    if_match: Option<&EntityTags>,
) -> ScimResult<Stored> {
    let mut resource = input.resource;
    let requested = take_members(&mut resource)?;
    let parent = take_parent(&mut resource)?;
    let now = db_precision(ctx.now);
    let tenant = ctx.tenant();
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let groups::Locked { row: old, bound } =
            groups::lock(conn, tenant, id).await?.ok_or_else(|| not_found(id))?;
        check_if_match(if_match, Version::new(old.version))?;
        check_immutable(registry, ResourceKind::Group, &object(old.resource.clone()), &resource)?;
        if parent != old.parent_id {
            check_parent(conn, tenant, id, parent).await?;
        }
        let mut changed = changed_attributes(&object(old.resource.clone()), &resource, &[]);
        if parent != old.parent_id {
            changed.push("parent".into());
        }
        groups::update(conn, tenant, id, &GroupColumns::from_resource(resource, parent), now).await?;
        let members = resolve_members(conn, tenant, id, &requested).await?;
        let delta = groups::set_members(conn, tenant, id, &members).await?;
        let mut out = Vec::new();
        if !changed.is_empty() {
            out.push(NewEvent::group_updated(id, changed, parent));
        }
        membership_events(&mut out, false, &delta.removed);
        membership_events(&mut out, true, &delta.added);
        let rows: Vec<MemberRow> = delta.removed.into_iter().chain(delta.added).collect();
        let moved = (parent != old.parent_id).then_some(id);
        out.extend(roles::group_changed(conn, tenant, bound, &rows, moved).await?);
        commit_events(conn, ctx, &out, now, logged(ResourceKind::Group, id, None, &[])).await?;
        read_back(conn, ctx, id).await
    })
    .await
}

/// Delete a group and every membership that involves it.
pub async fn delete(
    conn: &mut Conn,
    ctx: &Context,
    id: Uuid,
    if_match: Option<&EntityTags>,
) -> ScimResult<()> {
    let now = db_precision(ctx.now);
    let tenant = ctx.tenant();
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let groups::Locked { row: old, bound } =
            groups::lock(conn, tenant, id).await?.ok_or_else(|| not_found(id))?;
        check_if_match(if_match, Version::new(old.version))?;
        let reached = roles::reached_before_delete(conn, tenant, bound, id).await?;
        let deleted = groups::delete(conn, tenant, id, now).await?.unwrap_or_default();
        let mut out = Vec::new();
        membership_events(&mut out, false, &deleted.memberships);
        out.extend(
            deleted.orphaned.iter().map(|child| NewEvent::group_updated(*child, vec!["parent".into()], None)),
        );
        out.push(NewEvent::group_deleted(id));
        out.extend(roles::recompute(conn, tenant, &reached).await?);
        commit_events(conn, ctx, &out, now, logged(ResourceKind::Group, id, None, &[])).await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_parsed_deduplicated_and_typed() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let mut r = object(json!({"displayName": "x", "members": [
            {"value": a.to_string(), "type": "User"}, {"value": a.to_string()}, {"value": b.to_string()}
        ]}));
        let m = take_members(&mut r).unwrap();
        assert_eq!(
            m,
            vec![Requested { id: a, kind: Some(ResourceKind::User) }, Requested { id: b, kind: None }]
        );
        assert!(!r.contains_key("members"));
    }

    #[test]
    fn non_uuid_members_are_named_in_the_error() {
        let mut r = object(json!({"members": [{"value": "not-a-user"}]}));
        let err = take_members(&mut r).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.detail().contains("not-a-user"));
    }
}
