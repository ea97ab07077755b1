//! `/admin/v1/tenants/{tenant}/groups/{group}/members`: a group's direct members with their
//! group role, and adding or removing one. Writes are SCIM group PATCHes with an admin context
//! ([`group_admin`]), so events, role recomputation and the last-admin rules are SCIM's own.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::audit::{noted, AuditNote};
use super::{body, cursor, page_limit, path_id, TenantScope};
use crate::db::groups::{self as store, GroupMemberRow};
use crate::directory::group_admin;
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// One direct membership.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipView {
    /// The member (a user, or a nested group).
    pub member_id: Uuid,
    /// `User` or `Group`.
    #[serde(rename = "type")]
    pub member_type: String,
    /// A user's userName, a group's displayName.
    pub name: Option<String>,
    /// A user's displayName.
    pub display_name: Option<String>,
    /// `member` or `manager` (a manager administers the group and its subtree).
    pub group_role: String,
    /// When the membership began.
    pub since: DateTime<Utc>,
}

impl From<GroupMemberRow> for MembershipView {
    fn from(m: GroupMemberRow) -> Self {
        MembershipView {
            member_id: m.member_id,
            member_type: m.member_type,
            name: m.name,
            display_name: m.display_name,
            group_role: m.group_role,
            since: m.created_at,
        }
    }
}

/// A page of a group's direct members.
#[derive(Debug, Serialize)]
pub struct MembersPage {
    /// By member id.
    pub members: Vec<MembershipView>,
    /// Pass as `after` for the next page (null: no more).
    pub next: Option<Uuid>,
}

/// Query of the members listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Page size (default 100, 1 to 1000).
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
}

/// GET .../groups/{group}/members?limit=&after= — direct members with their group role.
pub async fn list(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    query: web::Query<Params>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let group = path_id("group", &path.1)?;
    let p = query.into_inner();
    let limit = page_limit(p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = cursor("after", p.after.as_deref(), |a| Uuid::parse_str(a).ok())?;
    let mut conn = scope.conn(&state).await?;
    if store::existing_ids(&mut conn, scope.id(), &[group]).await?.is_empty() {
        return Err(ScimError::not_found(format!("Group {group} not found")));
    }
    let rows = store::members_page(&mut conn, scope.id(), group, after, limit).await?;
    let next = (rows.len() as i64 == limit).then(|| rows.last().map(|m| m.member_id)).flatten();
    Ok(HttpResponse::Ok()
        .json(MembersPage { members: rows.into_iter().map(MembershipView::from).collect(), next }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Membership {
    group_role: Option<String>,
}

/// PUT .../groups/{group}/members/{member} `{"groupRole"?: "member" | "manager"}` → 200 with the
/// membership. Idempotent; without `groupRole` an existing membership keeps its role.
pub async fn add(
    scope: TenantScope,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let group = path_id("group", &path.1)?;
    let member = path_id("member", &path.2)?;
    let wanted: Membership = if bytes.is_empty() { Membership::default() } else { body(&req, &bytes)? };
    let mut conn = scope.conn(&state).await?;
    let ctx = scope.context(&mut conn, &state).await?;
    let row = group_admin::add_member(
        &mut conn,
        &ctx,
        &state.registry,
        group,
        member,
        wanted.group_role.as_deref(),
    )
    .await?;
    let view = MembershipView::from(row);
    let note =
        AuditNote { targets: Vec::new(), summary: format!("added member to group as {}", view.group_role) };
    Ok(noted(HttpResponse::Ok().json(view), note))
}

/// DELETE .../groups/{group}/members/{member} → 204; 404 when it is not a direct member.
pub async fn remove(
    scope: TenantScope,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let group = path_id("group", &path.1)?;
    let member = path_id("member", &path.2)?;
    let mut conn = scope.conn(&state).await?;
    let ctx = scope.context(&mut conn, &state).await?;
    group_admin::remove_member(&mut conn, &ctx, &state.registry, group, member).await?;
    let note = AuditNote { targets: Vec::new(), summary: "removed member from group".into() };
    Ok(noted(HttpResponse::NoContent().finish(), note))
}
