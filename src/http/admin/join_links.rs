//! `/admin/v1/tenants/{tenant}/join/...` (issue #12), the links half: join settings (invitation
//! link on/off, allowed domains, access requests on/off, self-editable categories), the tenant
//! invitation link (rotate), single-use access links and email invitations (create, list with
//! their state, revoke). Tokens are in the creation answer only. The rules live in
//! `directory::join::manage`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{body, path_id, TenantScope};
use crate::db::join::Link;
use crate::db::{tenants::Tenant, PooledConn};
use crate::directory::join::manage::{self, NewInvitations, NewLink, SettingsChange};
use crate::directory::TenantProfile;
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

/// A connection for the admitted caller's tenant.
pub(super) async fn open(scope: &TenantScope, state: &AppState) -> ScimResult<(PooledConn, Tenant)> {
    Ok((scope.conn(state).await?, scope.tenant.clone()))
}

/// As [`open`], with the tenant's profile (categories) for writes that check values.
pub(super) async fn open_profile(
    scope: &TenantScope,
    state: &AppState,
) -> ScimResult<(PooledConn, Tenant, TenantProfile)> {
    let (mut conn, tenant) = open(scope, state).await?;
    let profile = TenantProfile::load(&mut conn, &state.registry, tenant.id).await?;
    Ok((conn, tenant, profile))
}

/// A link as the admin API shows it; invitations say `pending`/`joined` for unused/used.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkView<'a> {
    id: Uuid,
    kind: &'a str,
    person: Option<&'a str>,
    email: Option<&'a str>,
    groups: Vec<Uuid>,
    state: &'static str,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    used_at: Option<DateTime<Utc>>,
    member_id: Option<Uuid>,
}

fn view(link: &Link, now: DateTime<Utc>) -> LinkView<'_> {
    LinkView {
        id: link.id,
        kind: &link.kind,
        person: link.person.as_deref(),
        email: link.email.as_deref(),
        groups: link.groups.iter().flatten().copied().collect(),
        state: manage::shown_state(link, now),
        created_at: link.created_at,
        expires_at: link.expires_at,
        revoked_at: link.revoked_at,
        used_at: link.used_at,
        member_id: link.member_id,
    }
}

/// A new link's view plus its token and the URLs to hand out (shown only now).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Issued<'a> {
    #[serde(flatten)]
    link: LinkView<'a>,
    token: &'a str,
    page_url: String,
    api_url: String,
}

fn issued<'a>(
    state: &AppState,
    slug: &str,
    link: &'a Link,
    token: &'a str,
    now: DateTime<Utc>,
) -> Issued<'a> {
    Issued {
        link: view(link, now),
        token,
        page_url: crate::http::join::page_url(&state.public_url, slug, token),
        api_url: format!("{}/join/v1/tenants/{slug}/links/{token}", state.public_url),
    }
}

/// GET .../join/settings
pub async fn settings(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let (mut conn, tenant) = open(&scope, &state).await?;
    Ok(HttpResponse::Ok().json(manage::settings_view(&mut conn, tenant.id, state.clock.now()).await?))
}

/// PATCH .../join/settings
pub async fn update_settings(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let change: SettingsChange = body(&req, &bytes)?;
    let (mut conn, _, profile) = open_profile(&scope, &state).await?;
    Ok(HttpResponse::Ok()
        .json(manage::update_settings(&mut conn, &profile, change, state.clock.now()).await?))
}

/// POST .../join/invitation-link — issue a new tenant invitation link (the old one stops working).
pub async fn rotate(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let (mut conn, tenant) = open(&scope, &state).await?;
    let now = state.clock.now();
    let (link, token) = manage::rotate_invitation_link(&mut conn, tenant.id, now).await?;
    Ok(HttpResponse::Created().json(issued(&state, &tenant.slug, &link, &token, now)))
}

/// Query of the link lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Links: unused | used | expired | revoked. Invitations: pending | joined | expired | revoked.
    pub state: Option<String>,
}

async fn list_of(
    scope: TenantScope,
    filter: Filter,
    state: &AppState,
    kind: &str,
    states: [&str; 4],
) -> ScimResult<HttpResponse> {
    let (mut conn, tenant) = open(&scope, state).await?;
    let wanted = match filter.state.as_deref() {
        Some(s) if !states.contains(&s) => {
            return Err(ScimError::invalid_value(format!("state must be one of {}", states.join(", "))))
        }
        // Invitations name two states differently.
        Some("pending") => Some("unused"),
        Some("joined") => Some("used"),
        other => other,
    };
    let now = state.clock.now();
    let links = manage::list_links(&mut conn, tenant.id, &[kind], wanted, now).await?;
    let key = if kind == "email" { "invitations" } else { "links" };
    let views: Vec<LinkView> = links.iter().map(|l| view(l, now)).collect();
    Ok(HttpResponse::Ok().json(std::collections::BTreeMap::from([(key, views)])))
}

/// GET .../join/links?state=
pub async fn links(
    scope: TenantScope,
    query: web::Query<Filter>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    list_of(scope, query.into_inner(), &state, "access", ["unused", "used", "expired", "revoked"]).await
}

/// POST .../join/links — a single-use access link for a person or an email.
pub async fn create_link(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let draft: NewLink = body(&req, &bytes)?;
    let (mut conn, tenant) = open(&scope, &state).await?;
    let now = state.clock.now();
    let (link, token) = manage::create_link(&mut conn, tenant.id, draft, now).await?;
    Ok(HttpResponse::Created().json(issued(&state, &tenant.slug, &link, &token, now)))
}

async fn revoke_of(
    scope: TenantScope,
    path: (String, String),
    state: &AppState,
    kind: &str,
) -> ScimResult<HttpResponse> {
    let (_, raw) = path;
    let (mut conn, tenant) = open(&scope, state).await?;
    let id = path_id("link", &raw)?;
    manage::revoke(&mut conn, tenant.id, id, &[kind], state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// DELETE .../join/links/{link} — revoke an access link.
pub async fn revoke_link(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    revoke_of(scope, path.into_inner(), &state, "access").await
}

/// GET .../join/invitations?state=
pub async fn invitations(
    scope: TenantScope,
    query: web::Query<Filter>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    list_of(scope, query.into_inner(), &state, "email", ["pending", "joined", "expired", "revoked"]).await
}

/// POST .../join/invitations — one single-use invitation per address.
pub async fn invite(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let new: NewInvitations = body(&req, &bytes)?;
    let (mut conn, tenant) = open(&scope, &state).await?;
    let now = state.clock.now();
    let made = manage::invite(&mut conn, tenant.id, new, now).await?;
    let views: Vec<Issued> = made.iter().map(|(l, t)| issued(&state, &tenant.slug, l, t, now)).collect();
    Ok(HttpResponse::Created().json(std::collections::BTreeMap::from([("invitations", views)])))
}

/// DELETE .../join/invitations/{link} — withdraw an invitation.
pub async fn revoke_invitation(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    revoke_of(scope, path.into_inner(), &state, "email").await
}
