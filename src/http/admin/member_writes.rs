//! `/admin/v1/tenants/{tenant}/members[/{member}]` writes: create, update, suspend, reactivate,
//! remove, restore and clear the role override — each one call into the directory's write
//! service (the same functions SCIM uses), with the same validation, guards and events.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::{path_id, TenantScope};
use crate::cache::TenantProfile;
use crate::db::Conn;
use crate::directory::{lifecycle, patch, role_admin, users, Context};
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;
use crate::scim::schema::{normalize, ResourceKind};

/// The member of the path, with the tenant's profile read fresh (the admin API does not go
/// through the SCIM profile cache).
async fn target(
    conn: &mut Conn,
    scope: &TenantScope,
    state: &AppState,
    member: &str,
) -> ScimResult<(TenantProfile, uuid::Uuid)> {
    let id = path_id("member", member)?;
    Ok((TenantProfile::load(conn, &state.registry, scope.id()).await?, id))
}

/// A write on one member that takes nothing but the member (the console's member actions too).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Write {
    Suspend,
    Reactivate,
    Remove,
    Restore,
    ClearOverride,
}

/// Run one [`Write`] through the directory: the member's new state, or `None` for a removal.
pub(crate) async fn run(
    c: &mut Conn,
    profile: TenantProfile,
    id: uuid::Uuid,
    what: Write,
    now: chrono::DateTime<chrono::Utc>,
) -> ScimResult<Option<Value>> {
    let done = match what {
        Write::Suspend => serde_json::to_value(lifecycle::set_active(c, &profile, id, false, now).await?),
        Write::Reactivate => serde_json::to_value(lifecycle::set_active(c, &profile, id, true, now).await?),
        Write::Restore => serde_json::to_value(lifecycle::restore(c, &profile, id, now).await?),
        Write::ClearOverride => {
            serde_json::to_value(role_admin::set_override(c, profile.id, id, None, now).await?)
        }
        Write::Remove => {
            users::remove(c, &Context::for_admin(Arc::new(profile), now), id, None).await?;
            return Ok(None);
        }
    };
    Ok(Some(done.map_err(ScimError::internal)?))
}

/// Run one [`Write`]: 200 with the member's new state, 204 for a removal.
async fn member_write(
    scope: TenantScope,
    path: (String, String),
    state: &AppState,
    what: Write,
) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(state).await?;
    let (profile, id) = target(&mut conn, &scope, state, &path.1).await?;
    Ok(match run(&mut conn, profile, id, what, state.clock.now()).await? {
        Some(state) => HttpResponse::Ok().json(state),
        None => HttpResponse::NoContent().finish(),
    })
}

/// POST .../members/{member}/suspend — access revoked, memberships and roles kept (403 for the
/// last org admin).
pub async fn suspend(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    member_write(scope, path.into_inner(), &state, Write::Suspend).await
}

/// POST .../members/{member}/reactivate — a suspended member active again.
pub async fn reactivate(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    member_write(scope, path.into_inner(), &state, Write::Reactivate).await
}

/// DELETE .../members/{member} → 204: removed as by SCIM DELETE (403 for the last org admin);
/// restorable within the tenant's retention period.
pub async fn remove(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    member_write(scope, path.into_inner(), &state, Write::Remove).await
}

/// POST .../members/{member}/restore — a removed member back under its id (409 past retention).
pub async fn restore(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    member_write(scope, path.into_inner(), &state, Write::Restore).await
}

/// DELETE .../members/{member}/role — clear the override: the computed role applies again
/// (403 when that would demote the last org admin).
pub async fn clear_override(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    member_write(scope, path.into_inner(), &state, Write::ClearOverride).await
}

/// POST .../members — a SCIM User resource (the tenant's schema, categories included) → 201
/// with the member view. `origin` is `admin`, there is no connection; a removed member with the
/// same userName within retention is restored under its id, as over SCIM.
pub async fn create(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let resource: Value = super::body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let id = create_member(&mut conn, state.get_ref(), scope.id(), &resource).await?;
    Ok(HttpResponse::Created().json(super::members::one(&mut conn, scope.id(), id).await?))
}

/// Create a member from a SCIM User resource for an admin (origin `admin`, no connection):
/// the SCIM create with its validation, restore rule, follow-up and events. The admin API's and
/// the console's member creation.
pub(crate) async fn create_member(
    conn: &mut Conn,
    state: &AppState,
    tenant: uuid::Uuid,
    resource: &Value,
) -> ScimResult<uuid::Uuid> {
    let profile = Arc::new(TenantProfile::load(conn, &state.registry, tenant).await?);
    let input = normalize(&profile.registry, ResourceKind::User, resource)?;
    let ctx = Context::for_admin(profile, state.clock.now());
    Ok(users::create_member(conn, &ctx, None, input, None).await?.id)
}

/// PATCH .../members/{member} — SCIM attributes to replace (a path-less PATCH `replace` with
/// this object as its value, strict RFC 7644): the same checks, events and follow-up as SCIM.
pub async fn update(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let changes: Value = super::body(&req, &bytes)?;
    if changes.as_object().is_none_or(|o| o.is_empty()) {
        return Err(ScimError::invalid_value(
            "request body: an object of SCIM User attributes to replace, e.g. {\"title\": \"Clerk\"}",
        ));
    }
    let mut conn = scope.conn(&state).await?;
    let (profile, id) = target(&mut conn, &scope, &state, &path.1).await?;
    let tenant = profile.id;
    update_member(&mut conn, profile, id, changes, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(super::members::one(&mut conn, tenant, id).await?))
}

/// Replace `changes` (SCIM User attributes) on a member for an admin: a path-less SCIM PATCH
/// `replace`, strict RFC 7644, with the same checks, events and follow-up as SCIM. The admin
/// API's and the console's member edit.
pub(crate) async fn update_member(
    conn: &mut Conn,
    profile: TenantProfile,
    id: uuid::Uuid,
    changes: Value,
    now: chrono::DateTime<chrono::Utc>,
) -> ScimResult<()> {
    let ctx = Context::for_admin(Arc::new(profile), now);
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": changes}],
    });
    let request = crate::scim::patch::parse_request(&body, patch::mode(&ctx))?;
    let profile = ctx.profile.clone();
    patch::patch_user(conn, &ctx, &profile.registry, id, &request, None).await.map(drop)
}
