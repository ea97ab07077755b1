//! *Join*: the doors for members without an IdP, as an org admin runs them — the access requests
//! waiting for a decision (approve, or deny with a reason the registrant is shown), the tenant's
//! join settings (access requests on/off, the invitation link on/off and its allowed email
//! domains), and, in their own modules, the links ([`links`]: single-use access links, the
//! tenant invitation link, email invitations) and pre-stored registrations ([`prestored`]).
//! Each action is the admin API's directory call (`directory::join::manage`): an approval writes
//! the member through the one write path, with its events. A token is shown once, on the page
//! that answers the form that made it; only its digest is stored.

pub mod links;
pub mod prestored;

use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::csrf::{NoFields, Protected};
use super::layout::{self, csrf, page, time, Frame};
use super::session::{Area, Session};
use super::ConsoleResult;
use crate::cache::TenantProfile;
use crate::db::join as store;
use crate::directory::join::manage;
use crate::error::ScimError;
use crate::http::AppState;

/// Requests shown.
const SHOWN: i64 = 200;

/// GET /console/t/{t}/join
pub async fn show(
    session: Session,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    render(&mut conn, &state, &session, &t, Issued::Nothing).await
}

/// The Join page's path.
fn base(t: &crate::db::tenants::Tenant) -> String {
    format!("/console/t/{}/join", t.slug)
}

/// What the page shows once, above its sections: the URLs of tokens just issued (never stored),
/// or the report of a pre-stored import.
pub(super) enum Issued {
    /// Nothing new.
    Nothing,
    /// A new single-use access link.
    AccessLink(String),
    /// The tenant invitation link, rotated.
    InvitationLink(String),
    /// Email invitations: (address, URL).
    Invitations(Vec<(String, String)>),
    /// A pre-stored import's report (rows, written, left unchanged because used, ignored columns).
    Imported(serde_json::Value),
}

/// The Join page.
pub(super) async fn render(
    conn: &mut crate::db::Conn,
    state: &AppState,
    session: &Session,
    t: &crate::db::tenants::Tenant,
    issued: Issued,
) -> ConsoleResult<HttpResponse> {
    let now = state.clock.now();
    let settings = store::settings(conn, t.id, now).await?;
    let pending = store::requests(conn, t.id, Some("pending"), None, SHOWN).await?;
    let domains: Vec<String> = settings.allowed_domains.iter().flatten().cloned().collect();
    let base = base(t);
    let links = links::sections(conn, state, session, t, &issued).await?;
    let prestored = prestored::section(conn, session, t, &issued).await?;
    Ok(layout::respond(page(
        "Join",
        Frame::tenant(session, &t.slug, "Join"),
        html! {
            h1 { "Members without an identity provider" }
            p.muted { "Registrants use the page /join/" (t.slug) " (or the application's own front end through the join API)." }
            section.card #requests {
                h2 { "Access requests waiting for a decision" }
                @if pending.is_empty() { p.muted { "No pending requests." } } @else {
                    table.requests {
                        tr { th { "Requested (UTC)" } th { "Name" } th { "userName" } th { "Email" } th { "Decision" } }
                        @for r in &pending {
                            tr.request data-request=(r.id) {
                                td { (time(r.created_at)) }
                                td { (r.display_name.as_deref().unwrap_or("—")) }
                                td { (r.user_name) }
                                td { (r.email.as_deref().unwrap_or("—")) }
                                td {
                                    form.inline method="post" action={ (base) "/requests/" (r.id) "/approve" } {
                                        (csrf(session))
                                        button type="submit" { "Approve" }
                                    }
                                    " "
                                    form.inline method="post" action={ (base) "/requests/" (r.id) "/deny" } {
                                        (csrf(session))
                                        input type="text" name="reason" placeholder="reason (shown to them)" maxlength="2000" required;
                                        " " button type="submit" class="danger" { "Deny" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (links)
            (prestored)
            section.card #settings {
                h2 { "Doors" }
                form method="post" action={ (base) "/settings" } {
                    (csrf(session))
                    label { input type="checkbox" name="requests" value="on" checked[settings.requests_enabled];
                        " Anyone may request access (an admin approves)" }
                    br;
                    label { input type="checkbox" name="invitation_link" value="on" checked[settings.invitation_link_enabled];
                        " The tenant invitation link admits registrations" }
                    br;
                    label { "Allowed email domains for the invitation link (comma-separated) "
                        input type="text" name="domains" value=(domains.join(", ")) size="60"; }
                    br;
                    button type="submit" { "Save" }
                }
            }
        },
    )))
}

async fn profile(conn: &mut crate::db::Conn, state: &AppState, tenant: Uuid) -> ConsoleResult<TenantProfile> {
    Ok(TenantProfile::load(conn, &state.registry, tenant).await?)
}

fn request_id(raw: &str) -> ConsoleResult<Uuid> {
    Ok(Uuid::parse_str(raw).map_err(|_| ScimError::not_found("no such access request"))?)
}

/// POST /console/t/{t}/join/requests/{r}/approve — the member is written, `access_request.approved`.
pub async fn approve(
    form: Protected<NoFields>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let id = request_id(&path.1)?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    let profile = profile(&mut conn, &state, t.id).await?;
    manage::approve(&mut conn, &profile, id, state.clock.now()).await?;
    Ok(layout::see_other(&format!("/console/t/{}/join#requests", t.slug)))
}

/// The denial form.
#[derive(Deserialize)]
pub struct Denial {
    #[serde(default)]
    reason: String,
}

/// POST /console/t/{t}/join/requests/{r}/deny `reason` — `access_request.denied`.
pub async fn deny(
    form: Protected<Denial>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let id = request_id(&path.1)?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    manage::deny(&mut conn, t.id, id, &form.reason, state.clock.now()).await?;
    Ok(layout::see_other(&format!("/console/t/{}/join#requests", t.slug)))
}

/// The settings form (an unchecked box is absent).
#[derive(Deserialize)]
pub struct Doors {
    #[serde(default)]
    requests: Option<String>,
    #[serde(default)]
    invitation_link: Option<String>,
    #[serde(default)]
    domains: String,
}

/// POST /console/t/{t}/join/settings
pub async fn update_settings(
    form: Protected<Doors>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let profile = profile(&mut conn, &state, t.id).await?;
    let domains: Vec<String> =
        form.domains.split(',').map(str::trim).filter(|d| !d.is_empty()).map(str::to_string).collect();
    let change = manage::SettingsChange {
        invitation_link_enabled: Some(form.invitation_link.is_some()),
        allowed_domains: Some(domains),
        requests_enabled: Some(form.requests.is_some()),
        self_editable_categories: None,
    };
    manage::update_settings(&mut conn, &profile, change, state.clock.now()).await?;
    Ok(layout::see_other(&format!("/console/t/{}/join#settings", t.slug)))
}
