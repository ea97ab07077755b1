//! Role resolution (DESIGN §2): a member's effective role is the highest-ranked of its SCIM
//! roles (Entra app roles), the group→role bindings of its groups (direct and inherited), its
//! base role (the tenant default, or an import's role column) and an admin override. Roster
//! keeps it materialised in `users.effective_role`; every write that changes a source calls
//! [`recompute`] in its own transaction, which writes a `role.changed` event per member whose
//! role changed.
//!
//! What follows a member write (roles, position, events) and the last-admin guard are the write
//! service's (`directory::write`).

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::db::groups::{self as group_store, MemberRow};
use crate::db::{roles as store, Conn};
use crate::error::ScimResult;
use crate::events::NewEvent;

/// Recompute the effective role of `members`; one `role.changed` event per member whose role
/// changed, to be written in the same transaction.
pub async fn recompute(conn: &mut Conn, tenant: Uuid, members: &[Uuid]) -> ScimResult<Vec<NewEvent>> {
    let mut members = members.to_vec();
    members.sort();
    members.dedup();
    let changed = store::recompute(conn, tenant, &members).await?;
    for c in &changed {
        tracing::info!(member.id = %c.member_id, from = ?c.old_role, to = ?c.new_role, "effective role changed");
    }
    Ok(changed
        .iter()
        .map(|c| NewEvent::role_changed(c.member_id, c.old_role.as_deref(), c.new_role.as_deref()))
        .collect())
}

/// Recompute every member of the tenant (catalog and default-role changes).
pub async fn recompute_all(conn: &mut Conn, tenant: Uuid) -> ScimResult<Vec<NewEvent>> {
    let all = store::all_members(conn, tenant).await?;
    recompute(conn, tenant, &all).await
}

/// The users whose groups changed with these membership rows: users added or removed directly,
/// and every user reached through a nested group added or removed.
async fn reached_by_rows(conn: &mut Conn, tenant: Uuid, rows: &[MemberRow]) -> ScimResult<Vec<Uuid>> {
    let mut out = Vec::new();
    for row in rows {
        if row.member_type == "Group" {
            out.extend(
                group_store::effective_members(conn, tenant, row.member_id)
                    .await?
                    .into_iter()
                    .map(|(id, _)| id),
            );
        } else {
            out.push(row.member_id);
        }
    }
    Ok(out)
}

/// After a group write: recompute the users whose inherited bindings may have changed — those
/// reached through membership rows added or removed, and, when the group moved in the tree
/// (or is about to be deleted), everyone the group reaches. Nothing to do when the tenant has
/// no bindings (`bound`: read with the group's lock, [`group_store::lock`], or [`any_binding`]).
pub async fn group_changed(
    conn: &mut Conn,
    tenant: Uuid,
    bound: bool,
    rows: &[MemberRow],
    moved: Option<Uuid>,
) -> ScimResult<Vec<NewEvent>> {
    if !bound || (rows.is_empty() && moved.is_none()) {
        return Ok(Vec::new());
    }
    let mut members = reached_by_rows(conn, tenant, rows).await?;
    if let Some(group) = moved {
        members.extend(reached_by_group(conn, tenant, group).await?);
    }
    recompute(conn, tenant, &members).await
}

/// Everyone a group's assignments reach.
pub async fn reached_by_group(conn: &mut Conn, tenant: Uuid, group: Uuid) -> ScimResult<Vec<Uuid>> {
    Ok(group_store::effective_members(conn, tenant, group).await?.into_iter().map(|(id, _)| id).collect())
}

/// The members whose role a group's deletion may change (read before deleting): everyone it
/// reaches, or nobody when the tenant has no bindings (`bound`).
pub async fn reached_before_delete(
    conn: &mut Conn,
    tenant: Uuid,
    bound: bool,
    group: Uuid,
) -> ScimResult<Vec<Uuid>> {
    if !bound {
        return Ok(Vec::new());
    }
    reached_by_group(conn, tenant, group).await
}

/// Whether the tenant has any group→role binding (for a write that holds no group lock).
pub async fn any_binding(conn: &mut Conn, tenant: Uuid) -> ScimResult<bool> {
    Ok(store::any_binding(conn, tenant).await?)
}

/// Set `groupRoles` in Roster's User extension from the member's groups as SQL gives them
/// (`[{value, display, type, role?}]`, `role` on direct memberships only); absent without any.
pub fn set_group_roles(ext: &mut Map<String, Value>, groups: &[Value]) {
    let roles: Vec<Value> = groups
        .iter()
        .filter_map(|g| {
            let role = g.get("role")?.as_str()?;
            Some(serde_json::json!({"value": g.get("value")?, "display": g.get("display")?, "role": role}))
        })
        .collect();
    if !roles.is_empty() {
        ext.insert("groupRoles".into(), Value::Array(roles));
    }
}

/// Set `role`, `status` and `position` in Roster's User extension of a member (`ext`); its other
/// attributes (tenant categories) are kept.
pub fn set_extension(
    ext: &mut Map<String, Value>,
    role: Option<String>,
    status: String,
    position: Option<String>,
) {
    for (key, value) in [("role", role), ("status", Some(status)), ("position", position)] {
        match value {
            Some(v) => ext.insert(key.into(), Value::String(v)),
            None => ext.remove(key),
        };
    }
}
