//! `/admin/v1/tenants/{tenant}/groups`: the group tree, and moving a group in it. The move goes
//! through the same directory operation as a SCIM PATCH of the group's `parent` (same cycle
//! checks, same `group.updated` event, and whatever else that operation does).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{body, path_id, tenant, AdminCaller};
use crate::auth::Principal;
use crate::db::{self, groups as store};
use crate::directory::{patch, Context, TenantProfile};
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;
use crate::scim::patch::{parse_request, Mode};
use crate::scim::schema::ROSTER_GROUP_SCHEMA;

fn node_view(g: &store::TreeNode) -> Value {
    json!({"id": g.id.to_string(), "displayName": g.display_name, "kind": g.kind,
           "parentId": g.parent_id.map(|p| p.to_string()), "directMembers": g.direct_members})
}

/// GET .../groups/tree — every group, flat, each with its `parentId` (null for roots), by name.
pub async fn tree(
    caller: AdminCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path)?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path).await?;
    let nodes: Vec<Value> =
        store::tree(&mut conn, tenant.id, None).await?.into_iter().map(|g| node_view(&g)).collect();
    Ok(HttpResponse::Ok().json(json!({"groups": nodes})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewParent {
    parent: Option<String>,
}

/// PUT .../groups/{id}/parent `{"parent": "<group id>" | null}` — 200 with the group's node.
/// A cycle or an unknown parent is 400 `invalidValue`.
pub async fn set_parent(
    caller: AdminCaller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path.0)?;
    let change: NewParent = body(&req, &bytes)?;
    let id = path_id("group", &path.1)?;
    let parent = change
        .parent
        .map(|p| {
            Uuid::parse_str(&p).map_err(|_| ScimError::invalid_value(format!("parent: no such Group {p:?}")))
        })
        .transpose()?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path.0).await?;
    let node = move_group(&mut conn, &state, &tenant, id, parent).await?;
    Ok(HttpResponse::Ok().json(node_view(&node)))
}

/// Move group `id` under `parent` (`None`: to the top) through the same directory operation as a
/// SCIM PATCH of its `parent` (cycle checks, event); returns its tree node. The admin API and the
/// console both move groups with this.
pub(crate) async fn move_group(
    conn: &mut db::Conn,
    state: &AppState,
    tenant: &crate::db::tenants::Tenant,
    id: Uuid,
    parent: Option<Uuid>,
) -> ScimResult<store::TreeNode> {
    let profile = std::sync::Arc::new(TenantProfile::load(conn, &state.registry, tenant.id).await?);
    let op = match parent {
        Some(p) => {
            json!({"op": "replace", "path": format!("{ROSTER_GROUP_SCHEMA}:parent"), "value": p.to_string()})
        }
        None => json!({"op": "remove", "path": format!("{ROSTER_GROUP_SCHEMA}:parent")}),
    };
    let request = parse_request(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]}),
        Mode::Strict,
    )?;
    // The admin API acts for no connection: no token and no connection id.
    let ctx = Context {
        principal: Principal {
            tenant_id: tenant.id,
            connection_id: Uuid::nil(),
            token_id: Uuid::nil(),
            strict: true,
        },
        now: state.clock.now(),
        base_url: format!("{}/admin/v1/tenants/{}", state.public_url, tenant.slug),
        profile,
    };
    patch::patch_group(conn, &ctx, &state.registry, id, &request, None).await?;
    store::tree(conn, tenant.id, Some(id))
        .await?
        .pop()
        .ok_or_else(|| ScimError::not_found(format!("Group {id} not found")))
}
