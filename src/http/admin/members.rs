//! `/admin/v1/tenants/{tenant}/members`: the members view (filters, keyset paging, effective
//! groups) and the invitation state the application that sends invitations records.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{path_id, TenantScope};
use crate::db::members::{self as store, ManagedGroup, MemberQuery, MemberView};
use crate::db::users::{self as users, status, MemberGroup};
use crate::db::{groups, Conn};
use crate::directory::invitations::{self, Record};
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;
const STATUSES: [&str; 5] =
    [status::PROVISIONED, status::INVITED, status::ACTIVE, status::SUSPENDED, status::REMOVED];
const ORIGINS: [&str; 4] = ["scim", "import", "admin", "registration"];

/// Query of the members list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// provisioned | invited | active | suspended | removed (default: all but removed).
    pub status: Option<String>,
    /// Effective role (catalog name).
    pub role: Option<String>,
    /// A group id: its effective members (direct, or through groups below it).
    pub group: Option<String>,
    /// Only members never invited.
    #[serde(default)]
    pub never_invited: bool,
    /// Only members who never logged in.
    #[serde(default)]
    pub never_logged_in: bool,
    /// scim | import | admin | registration.
    pub origin: Option<String>,
    /// Prefix of userName, displayName, givenName, familyName or email (caseless).
    pub q: Option<String>,
    /// A position name (caseless).
    pub position: Option<String>,
    /// A category name (caseless); with `category_value`, members holding that value.
    pub category: Option<String>,
    /// The value of `category` (as text: `Oslo`, `42`, `true`, `2026-12-05`).
    pub category_value: Option<String>,
    /// Page size (default 100, 1 to 1000).
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
}

fn one_of(name: &str, value: Option<String>, allowed: &[&str]) -> ScimResult<Option<String>> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => {
            Err(ScimError::invalid_value(format!("{name} must be one of {}, not {v:?}", allowed.join(", "))))
        }
        v => Ok(v),
    }
}

fn parse_uuid(name: &str, raw: &str) -> ScimResult<Uuid> {
    Uuid::parse_str(raw)
        .map_err(|_| ScimError::invalid_value(format!("{name} must be a member or group id, not {raw:?}")))
}

/// Check the list parameters and turn them into the members query (also the console's filters).
pub(crate) async fn query(conn: &mut Conn, tenant_id: Uuid, p: Params) -> ScimResult<MemberQuery> {
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ScimError::invalid_value(format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    let group = p.group.as_deref().map(|g| parse_uuid("group", g)).transpose()?;
    if let Some(g) = group {
        if groups::existing_ids(conn, tenant_id, &[g]).await?.is_empty() {
            return Err(ScimError::invalid_value(format!("group: no Group {g} in this tenant")));
        }
    }
    let after = p
        .after
        .as_deref()
        .map(|a| {
            Uuid::parse_str(a)
                .map_err(|_| ScimError::invalid_value("after must be the `next` value of a previous page"))
        })
        .transpose()?;
    let category = match (p.category.filter(|c| !c.trim().is_empty()), p.category_value) {
        (None, None) => None,
        (Some(name), Some(value)) => {
            let known = crate::db::categories::list(conn, tenant_id).await?;
            let key = crate::scim::resource::fold_key(&name);
            let found = known.into_iter().find(|c| c.name_key == key).ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "category: the tenant has no category {} (see GET .../categories)",
                    crate::text::quote(&crate::text::truncate(&name, 100))
                ))
            })?;
            Some((found.name, value))
        }
        (None, Some(v)) if v.is_empty() => None,
        (None, Some(_)) => {
            return Err(ScimError::invalid_value("category_value needs category (the category's name)"))
        }
        (Some(_), None) => {
            return Err(ScimError::invalid_value("category needs category_value (the value to match)"))
        }
    };
    Ok(MemberQuery {
        id: None,
        position: p.position.filter(|p| !p.trim().is_empty()),
        category,
        status: one_of("status", p.status, &STATUSES)?,
        role: p.role,
        group,
        never_invited: p.never_invited,
        never_logged_in: p.never_logged_in,
        origin: one_of("origin", p.origin, &ORIGINS)?,
        prefix: p.q.filter(|q| !q.trim().is_empty()),
        after,
        limit,
    })
}

/// A member's invitation state, as the members view and the invitation records show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Invitation {
    count: i32,
    last_invited_at: Option<DateTime<Utc>>,
    joined_at: Option<DateTime<Utc>>,
    last_login_at: Option<DateTime<Utc>>,
}

/// One of a member's effective groups.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupOf {
    id: Uuid,
    display_name: String,
    /// `direct` or `indirect`.
    #[serde(rename = "type")]
    kind: String,
    group_role: String,
}

/// A group a member manages (directly, or through a managed parent).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Managed {
    id: Uuid,
    display_name: String,
    direct: bool,
}

/// A member as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Member {
    pub(crate) id: Uuid,
    user_name: String,
    display_name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
    status: String,
    active: bool,
    role: Option<String>,
    role_override: Option<String>,
    role_source: Option<String>,
    position: Option<String>,
    origin: String,
    personal_id: Option<String>,
    comment: Option<String>,
    categories: Value,
    invitation: Invitation,
    groups: Vec<GroupOf>,
    manages: Vec<Managed>,
}

fn view(m: MemberView, groups: &[MemberGroup], managed: &[ManagedGroup]) -> Member {
    let groups = groups
        .iter()
        .filter(|g| g.member_id == m.id)
        .map(|g| GroupOf {
            id: g.group_id,
            display_name: g.display.clone(),
            kind: g.kind.clone(),
            group_role: g.group_role.clone(),
        })
        .collect();
    let manages = managed
        .iter()
        .filter(|g| g.member_id == m.id)
        .map(|g| Managed { id: g.group_id, display_name: g.display.clone(), direct: g.direct })
        .collect();
    Member {
        id: m.id,
        user_name: m.user_name,
        display_name: m.display_name,
        given_name: m.given_name,
        family_name: m.family_name,
        email: m.email,
        external_id: m.external_id,
        status: m.status,
        active: m.active,
        role: m.effective_role,
        role_override: m.role_override,
        role_source: m.role_source,
        position: m.position,
        origin: m.origin,
        personal_id: m.personal_id,
        comment: m.comment,
        categories: m.categories.unwrap_or_else(|| Value::Object(serde_json::Map::new())),
        invitation: Invitation {
            count: m.invitation_count,
            last_invited_at: m.last_invited_at,
            joined_at: m.joined_at,
            last_login_at: m.last_login_at,
        },
        groups,
        manages,
    }
}

/// One member as the members view shows it (removed ones too), or 404.
pub(super) async fn one(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> ScimResult<Member> {
    let q = MemberQuery { id: Some(id), limit: 1, ..MemberQuery::default() };
    load(conn, tenant_id, &q)
        .await?
        .pop()
        .ok_or_else(|| ScimError::not_found(format!("no member {id} in this tenant")))
}

/// Members with their effective groups: one query for the members, one for all their groups.
pub(super) async fn load(conn: &mut Conn, tenant_id: Uuid, q: &MemberQuery) -> ScimResult<Vec<Member>> {
    let rows = store::list(conn, tenant_id, q).await?;
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let all_groups = users::groups_of(conn, tenant_id, &ids).await?;
    let managed = store::managed_groups(conn, tenant_id, &ids).await?;
    Ok(rows.into_iter().map(|m| view(m, &all_groups, &managed)).collect())
}

/// GET .../members?status=&role=&group=&never_invited=&never_logged_in=&origin=&q=&limit=&after=
/// — in creation order; `next` (when present) is the `after` of the next page.
pub async fn list(
    scope: TenantScope,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    // Parsed here rather than by the extractor, so a bad parameter gets a detail that names it.
    let params = web::Query::<Params>::from_query(req.query_string()).map_err(|e| {
        ScimError::invalid_value(format!(
            "query: {e}; parameters are status, role, group, never_invited=true|false, \
                 never_logged_in=true|false, origin, q, limit and after"
        ))
    })?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    let mut q = query(&mut conn, tenant.id, params.into_inner()).await?;
    // One row more than asked says whether another page follows.
    let limit = q.limit;
    q.limit += 1;
    let mut members = load(&mut conn, tenant.id, &q).await?;
    let next = if members.len() as i64 > limit {
        members.truncate(limit as usize);
        members.last().map(|m| m.id.to_string())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(Page { members, next }))
}

/// GET .../members/{id} — one member (removed ones too: their status says so).
pub async fn get(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let id = path_id("member", &path.1)?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
    Ok(HttpResponse::Ok().json(one(&mut conn, tenant.id, id).await?))
}

/// A page of the members view; `next` is the `after` of the next page.
#[derive(Debug, Serialize)]
struct Page {
    members: Vec<Member>,
    next: Option<String>,
}

/// A member's invitation state after a record.
#[derive(Debug, Serialize)]
struct Recorded {
    id: Uuid,
    status: String,
    invitation: Invitation,
}

async fn record(
    scope: TenantScope,
    path: (String, String),
    state: &AppState,
    what: Record,
) -> ScimResult<HttpResponse> {
    let id = path_id("member", &path.1)?;
    let mut conn = scope.conn(state).await?;
    let s = invitations::record(&mut conn, &scope.tenant, id, what, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(Recorded {
        id,
        status: s.status,
        invitation: Invitation {
            count: s.invitation_count,
            last_invited_at: s.last_invited_at,
            joined_at: s.joined_at,
            last_login_at: s.last_login_at,
        },
    }))
}

/// POST .../members/{id}/invitations — one invitation was sent (409 for SSO tenants, suspended
/// or removed members).
pub async fn invited(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    record(scope, path.into_inner(), &state, Record::Invitation).await
}

/// POST .../members/{id}/logins — the member logged in (409 for suspended or removed members).
pub async fn logged_in(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    record(scope, path.into_inner(), &state, Record::Login).await
}
