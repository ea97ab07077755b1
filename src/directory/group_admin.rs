//! Group writes an administrator makes (admin API, console): create, rename, move, delete,
//! membership add/remove with a group role. Each is the SCIM operation itself — the group
//! create, PATCH and DELETE of [`super::groups`] and [`super::patch`] — called with an admin
//! [`Context`] (no connection), so cycle checks, role recomputation, events and every other
//! follow-up are the ones SCIM writes get. Nothing here writes a group row of its own.

use diesel_async::AsyncConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{groups, patch, role_admin, Context, Stored};
use crate::db::groups::{self as store, GroupMemberRow};
use crate::db::{users, Conn};
use crate::error::{ScimError, ScimResult};
use crate::scim::patch::{parse_request, Mode};
use crate::scim::schema::{normalize, Registry, ResourceKind, GROUP_SCHEMA, ROSTER_GROUP_SCHEMA};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Apply PATCH operations to a group, as a SCIM client's PATCH would.
async fn patch_with(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    id: Uuid,
    operations: Vec<Value>,
) -> ScimResult<()> {
    let request = parse_request(&json!({"schemas": [PATCH_OP], "Operations": operations}), Mode::Strict)?;
    patch::patch_group(conn, ctx, registry, id, &request, None).await.map(drop)
}

/// Create a group named `display_name`, under `parent` when given (SCIM group create).
pub async fn create(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    display_name: &str,
    parent: Option<Uuid>,
) -> ScimResult<Stored> {
    let mut resource = json!({"schemas": [GROUP_SCHEMA], "displayName": display_name});
    if let Some(p) = parent {
        resource["schemas"] = json!([GROUP_SCHEMA, ROSTER_GROUP_SCHEMA]);
        resource[ROSTER_GROUP_SCHEMA] = json!({"parent": p.to_string()});
    }
    let input = normalize(registry, ResourceKind::Group, &resource)?;
    groups::create(conn, ctx, input).await
}

/// Rename a group (SCIM PATCH `replace displayName`).
pub async fn rename(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    id: Uuid,
    display_name: &str,
) -> ScimResult<()> {
    patch_with(
        conn,
        ctx,
        registry,
        id,
        vec![json!({"op": "replace", "path": "displayName", "value": display_name})],
    )
    .await
}

/// Move a group under `parent`, or to the top of the tree with `None` (SCIM PATCH of the
/// group extension's `parent`).
pub async fn set_parent(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    id: Uuid,
    parent: Option<Uuid>,
) -> ScimResult<()> {
    let path = format!("{ROSTER_GROUP_SCHEMA}:parent");
    let op = match parent {
        Some(p) => json!({"op": "replace", "path": path, "value": p.to_string()}),
        None => json!({"op": "remove", "path": path}),
    };
    patch_with(conn, ctx, registry, id, vec![op]).await
}

/// Delete a group (SCIM DELETE).
pub async fn delete(conn: &mut Conn, ctx: &Context, id: Uuid) -> ScimResult<()> {
    groups::delete(conn, ctx, id, None).await
}

/// Make user `member` a direct member of `group` (SCIM PATCH `add members`) with `group_role`
/// (`member` or `manager`; `None` keeps an existing membership's role, and a new one is a
/// `member`). Idempotent. A user that does not exist is 404, like a group that does not.
pub async fn add_member(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    group: Uuid,
    member: Uuid,
    group_role: Option<&str>,
) -> ScimResult<GroupMemberRow> {
    let tenant = ctx.tenant();
    conn.transaction::<_, ScimError, _>(async move |conn| {
        if users::existing_ids(conn, tenant, &[member]).await?.is_empty() {
            return Err(ScimError::not_found(format!("no member {member} in this tenant")));
        }
        let value = json!([{"value": member.to_string(), "type": "User"}]);
        patch_with(conn, ctx, registry, group, vec![json!({"op": "add", "path": "members", "value": value})])
            .await?;
        if let Some(role) = group_role {
            role_admin::set_group_role(conn, tenant, group, member, role).await?;
        }
        membership(conn, tenant, group, member).await
    })
    .await
}

/// End `member`'s direct membership of `group` (SCIM PATCH `remove members[value eq ...]`);
/// 404 when there is none.
pub async fn remove_member(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    group: Uuid,
    member: Uuid,
) -> ScimResult<()> {
    let tenant = ctx.tenant();
    conn.transaction::<_, ScimError, _>(async move |conn| {
        membership(conn, tenant, group, member).await?;
        let path = format!("members[value eq \"{member}\"]");
        patch_with(conn, ctx, registry, group, vec![json!({"op": "remove", "path": path})]).await
    })
    .await
}

/// A direct membership, or 404 naming the group and member.
pub async fn membership(
    conn: &mut Conn,
    tenant: Uuid,
    group: Uuid,
    member: Uuid,
) -> ScimResult<GroupMemberRow> {
    store::direct_member(conn, tenant, group, member)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("{member} is not a direct member of group {group}")))
}
