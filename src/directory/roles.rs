//! Role resolution (DESIGN §2): a member's effective role is the highest-ranked of its SCIM
//! roles (Entra app roles), the group→role bindings of its groups (direct and inherited), its
//! base role (the tenant default, or an import's role column) and an admin override. Roster
//! keeps it materialised in `users.effective_role`; every write that changes a source calls
//! [`recompute`] in its own transaction, which writes a `role.changed` event per member whose
//! role changed. Positions are derived here too, on every member write.
//!
//! The last org admin of a tenant (the last member holding a `grants_admin` role who is not
//! suspended) cannot be suspended or removed through SCIM: [`guard_last_admin`].

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Context, Stored};
use crate::db::groups::{self as group_store, MemberRow};
use crate::db::{roles as store, Conn};
use crate::error::{ScimError, ScimResult};
use crate::events::NewEvent;
use crate::scim::resource::fold_key;
use crate::scim::roles::{attribute_text, role_values};
use crate::scim::schema::ROSTER_USER_SCHEMA;

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

/// After a SCIM write of a member (create, restore, PUT, PATCH), in one statement: match its
/// `roles` against the catalog, give a new member the tenant's default role as base role, derive
/// its position from the tenant's position source, recompute its effective role, and write the
/// write's `events` — followed by `role.changed` when the role changed, except for a new member
/// (its first role is part of `member.created`; the receiver reads the member). Returns the
/// member as SCIM shows it now: with Roster's User extension and its read-only `groups`.
pub async fn member_written(
    conn: &mut Conn,
    ctx: &Context,
    member: Stored,
    created: bool,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> ScimResult<Stored> {
    let keys: Vec<String> = role_values(&member.attributes).iter().map(|v| fold_key(v)).collect();
    let position = attribute_text(&member.attributes, &ctx.profile.position_source);
    let after = store::member_written(
        conn,
        ctx.tenant(),
        member.id,
        &keys,
        created,
        position.as_deref(),
        now,
        !created,
        events,
    )
    .await?;
    if after.role != after.role_before && !created {
        tracing::info!(member.id = %member.id, from = ?after.role_before, to = ?after.role, "effective role changed");
    }
    Ok(super::users::presented(ctx, member, after.role, after.status, after.position, after.groups))
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
/// no bindings.
pub async fn group_changed(
    conn: &mut Conn,
    tenant: Uuid,
    rows: &[MemberRow],
    moved: Option<Uuid>,
) -> ScimResult<Vec<NewEvent>> {
    if !store::any_binding(conn, tenant).await? {
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
/// reaches, or nobody when the tenant has no bindings.
pub async fn reached_before_delete(conn: &mut Conn, tenant: Uuid, group: Uuid) -> ScimResult<Vec<Uuid>> {
    if !store::any_binding(conn, tenant).await? {
        return Ok(Vec::new());
    }
    reached_by_group(conn, tenant, group).await
}

/// Refuse to suspend or remove the tenant's last org admin (DESIGN §2). One statement: only when
/// the member is a live admin does it take the tenant's admin lock, so concurrent suspensions of
/// the last two admins are serialised and the second one sees the first, while deactivations of
/// other members neither lock nor scan anything. The caller holds the member's row lock.
pub async fn guard_last_admin(conn: &mut Conn, tenant: Uuid, member: Uuid, action: &str) -> ScimResult<()> {
    if store::leaves_an_admin(conn, tenant, member).await? {
        return Ok(());
    }
    let slug = crate::db::tenants::slug(conn, tenant).await?;
    Err(ScimError::forbidden(format!(
        "cannot {action} User {member}: it is the last org admin of tenant {slug:?}; make another member \
         org_admin first (e.g. through a group bound to the role, or the admin API)"
    )))
}

/// Set Roster's User extension (`role`, `status`, `position`) of a member; other attributes of
/// the extension (tenant categories) are kept.
pub fn set_extension(member: &mut Stored, role: Option<String>, status: String, position: Option<String>) {
    let ext = member.attributes.entry(ROSTER_USER_SCHEMA).or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(ext) = ext {
        for (key, value) in [("role", role), ("status", Some(status)), ("position", position)] {
            match value {
                Some(v) => ext.insert(key.into(), Value::String(v)),
                None => ext.remove(key),
            };
        }
    }
}
