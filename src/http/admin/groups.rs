//! `/admin/v1/tenants/{tenant}/groups`: the group tree, and creating, renaming, moving and
//! deleting groups. Every write is the SCIM operation itself ([`group_admin`]: group create,
//! PATCH, DELETE with an admin context), so the same cycle checks, events and role follow-ups
//! apply whichever door a change comes through.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::audit::{noted, AuditNote};
use super::scope::admin_context;
use super::{body, path_id, TenantScope};
use crate::db::tenants::Tenant;
use crate::db::{groups as store, Conn};
use crate::directory::group_admin;
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

/// A group as the tree lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    /// Group id.
    pub id: Uuid,
    /// displayName.
    pub display_name: String,
    /// Roster's group `kind`, if set.
    pub kind: Option<String>,
    /// The parent group (null: a root).
    pub parent_id: Option<Uuid>,
    /// Users that are direct members.
    pub direct_members: i64,
}

impl From<store::TreeNode> for NodeView {
    fn from(g: store::TreeNode) -> Self {
        NodeView {
            id: g.id,
            display_name: g.display_name,
            kind: g.kind,
            parent_id: g.parent_id,
            direct_members: g.direct_members,
        }
    }
}

/// The tree listing.
#[derive(Debug, Serialize)]
pub struct TreeView {
    /// Every group, by name.
    pub groups: Vec<NodeView>,
}

/// One group's node after a write.
async fn node(conn: &mut Conn, tenant: Uuid, id: Uuid) -> ScimResult<NodeView> {
    store::tree(conn, tenant, Some(id))
        .await?
        .pop()
        .map(NodeView::from)
        .ok_or_else(|| ScimError::not_found(format!("Group {id} not found")))
}

/// A group id given in a body (`parent`): text that is not an id names no group (400).
fn body_group_id(field: &str, raw: &str) -> ScimResult<Uuid> {
    Uuid::parse_str(raw)
        .map_err(|_| ScimError::invalid_value(format!("{field}: no such Group {}", crate::text::quote(raw))))
}

/// GET .../groups/tree — every group, flat, each with its `parentId` (null for roots), by name.
pub async fn tree(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    let groups = store::tree(&mut conn, scope.id(), None).await?.into_iter().map(NodeView::from).collect();
    Ok(HttpResponse::Ok().json(TreeView { groups }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewGroup {
    display_name: String,
    parent: Option<String>,
}

/// POST .../groups `{"displayName", "parent"?}` → 201 with the group's node. A duplicate name
/// is 409 `uniqueness`, an unknown parent 400 `invalidValue`.
pub async fn create(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let new: NewGroup = body(&req, &bytes)?;
    let parent = new.parent.as_deref().map(|p| body_group_id("parent", p)).transpose()?;
    let mut conn = scope.conn(&state).await?;
    let ctx = scope.context(&mut conn, &state).await?;
    let group = group_admin::create(&mut conn, &ctx, &state.registry, &new.display_name, parent).await?;
    let view = node(&mut conn, scope.id(), group.id).await?;
    let note = AuditNote {
        targets: vec![("group", group.id.to_string())],
        summary: format!("created group {}", crate::text::quote(&view.display_name)),
    };
    Ok(noted(HttpResponse::Created().json(view), note))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Rename {
    display_name: String,
}

/// PATCH .../groups/{group} `{"displayName"}` → 200 with the group's node.
pub async fn rename(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let id = path_id("group", &path.1)?;
    let change: Rename = body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let ctx = scope.context(&mut conn, &state).await?;
    group_admin::rename(&mut conn, &ctx, &state.registry, id, &change.display_name).await?;
    let view = node(&mut conn, scope.id(), id).await?;
    let note = AuditNote {
        targets: Vec::new(),
        summary: format!("renamed group to {}", crate::text::quote(&view.display_name)),
    };
    Ok(noted(HttpResponse::Ok().json(view), note))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewParent {
    parent: Option<String>,
}

/// PUT .../groups/{group}/parent `{"parent": "<group id>" | null}` — 200 with the group's node.
/// A cycle or an unknown parent is 400 `invalidValue`.
pub async fn set_parent(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let change: NewParent = body(&req, &bytes)?;
    let id = path_id("group", &path.1)?;
    let parent = change.parent.as_deref().map(|p| body_group_id("parent", p)).transpose()?;
    let mut conn = scope.conn(&state).await?;
    let ctx = scope.context(&mut conn, &state).await?;
    group_admin::set_parent(&mut conn, &ctx, &state.registry, id, parent).await?;
    let view = node(&mut conn, scope.id(), id).await?;
    let summary = match parent {
        Some(p) => format!("moved group {} under {p}", crate::text::quote(&view.display_name)),
        None => format!("moved group {} to the top of the tree", crate::text::quote(&view.display_name)),
    };
    Ok(noted(HttpResponse::Ok().json(view), AuditNote { targets: Vec::new(), summary }))
}

/// DELETE .../groups/{group} → 204. Its memberships end; its children move up to the top of the
/// tree (as a SCIM DELETE does).
pub async fn delete(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let id = path_id("group", &path.1)?;
    let mut conn = scope.conn(&state).await?;
    let ctx = scope.context(&mut conn, &state).await?;
    group_admin::delete(&mut conn, &ctx, id).await?;
    let note = AuditNote { targets: Vec::new(), summary: "deleted group".into() };
    Ok(noted(HttpResponse::NoContent().finish(), note))
}

/// Move group `id` under `parent` (`None`: to the top) as [`set_parent`] does, for the console;
/// returns its tree node.
pub(crate) async fn move_group(
    conn: &mut Conn,
    state: &AppState,
    tenant: &Tenant,
    id: Uuid,
    parent: Option<Uuid>,
) -> ScimResult<store::TreeNode> {
    let ctx = admin_context(conn, state, tenant).await?;
    group_admin::set_parent(conn, &ctx, &state.registry, id, parent).await?;
    store::tree(conn, tenant.id, Some(id))
        .await?
        .pop()
        .ok_or_else(|| ScimError::not_found(format!("Group {id} not found")))
}
