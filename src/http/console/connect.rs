//! *Connect an IdP*: the tenant's connections at a glance, the IdP choice, and each IdP's own
//! numbered steps in its own field names (Entra ID, Okta, OneLogin, JumpCloud, generic SCIM 2.0)
//! with the SCIM base URL and the token (shown once) to copy, then a live "waiting for the first
//! request" box that htmx polls until a request arrives on the connection.

use actix_web::{web, HttpResponse};
use chrono::Duration;
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::csrf::Protected;
use super::layout::{self, copyable, csrf, maybe_time, page, time, Frame};
use super::session::{Area, Session};
use super::ConsoleResult;
use crate::config::token_expiry;
use crate::db::{self, console as store};
use crate::directory::tenants;
use crate::error::ScimError;
use crate::http::AppState;

/// An identity provider the wizard knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idp {
    /// Microsoft Entra ID.
    Entra,
    /// Okta.
    Okta,
    /// OneLogin.
    OneLogin,
    /// JumpCloud.
    JumpCloud,
    /// Any SCIM 2.0 client.
    Generic,
}

impl Idp {
    const ALL: [Idp; 5] = [Idp::Entra, Idp::Okta, Idp::OneLogin, Idp::JumpCloud, Idp::Generic];

    fn key(self) -> &'static str {
        match self {
            Idp::Entra => "entra",
            Idp::Okta => "okta",
            Idp::OneLogin => "onelogin",
            Idp::JumpCloud => "jumpcloud",
            Idp::Generic => "generic",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Idp::Entra => "Microsoft Entra ID",
            Idp::Okta => "Okta",
            Idp::OneLogin => "OneLogin",
            Idp::JumpCloud => "JumpCloud",
            Idp::Generic => "Generic SCIM 2.0",
        }
    }

    fn parse(key: &str) -> Option<Idp> {
        Idp::ALL.into_iter().find(|i| i.key() == key)
    }
}

/// GET /console/t/{t}/ — the tenant's connections with their activity, and the way to add one.
pub async fn home(
    session: Session,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Connections).await?;
    let all = db::tenants::list_connections(&mut conn, t.id).await?;
    let since = state.clock.now() - Duration::hours(24);
    let mut rows = Vec::with_capacity(all.len());
    for c in &all {
        rows.push((c, store::activity(&mut conn, t.id, c.id, since).await?));
    }
    Ok(layout::respond(page(
        "Connections",
        Frame::tenant(&session, &t.slug, "Connections"),
        html! {
            h1 { "Connections of " (t.name) }
            p { a.button href={ "/console/t/" (t.slug) "/connect" } { "Connect an IdP" } }
            @if rows.is_empty() {
                p.muted { "No connection yet: connect your identity provider to start provisioning." }
            } @else {
                table {
                    tr { th { "Connection" } th { "Mode" } th { "Last request" } th { "Requests 24 h" } th { "Failures 24 h" } }
                    @for (c, a) in &rows {
                        tr {
                            td { a href={ "/console/t/" (t.slug) "/connections/" (c.id) } { (c.name) } }
                            td { (c.quirk_mode) }
                            td { (maybe_time(a.last_at)) }
                            td { (a.requests) }
                            td { span class=[(a.failures > 0).then_some("status-bad")] { (a.failures) } }
                        }
                    }
                }
            }
        },
    )))
}

/// GET /console/t/{t}/connect — choose the IdP.
pub async fn choose(
    session: Session,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (_, t) = session.open_tenant(&state, &path, Area::Connections).await?;
    Ok(layout::respond(page(
        "Connect an IdP",
        Frame::tenant(&session, &t.slug, "Connections"),
        html! {
            h1 { "Connect an identity provider" }
            form method="post" action={ "/console/t/" (t.slug) "/connect" } {
                (csrf(&session))
                section.card {
                    h2 { "1. Which identity provider do you use?" }
                    div.idps {
                        @for (i, idp) in Idp::ALL.iter().enumerate() {
                            label {
                                input type="radio" name="idp" value=(idp.key()) checked[i == 0] required;
                                " " (idp.name())
                            }
                        }
                    }
                    h2 { "2. Name this connection" }
                    input type="text" name="name" placeholder="e.g. Entra ID production" maxlength="200";
                    p.muted { "Left empty, the connection is named after the identity provider." }
                    p { button type="submit" { "Create the connection" } }
                }
            }
        },
    )))
}

/// The wizard's form.
#[derive(Deserialize)]
pub struct NewConnection {
    idp: String,
    #[serde(default)]
    name: String,
}

/// POST /console/t/{t}/connect — create the connection and its first token (the admin API's
/// `POST .../connections`), then show that IdP's steps with the token, once.
pub async fn create(
    form: Protected<NewConnection>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let idp = Idp::parse(&form.idp).ok_or_else(|| {
        ScimError::invalid_value("idp must be one of entra, okta, onelogin, jumpcloud or generic")
    })?;
    let name = if form.name.trim().is_empty() { idp.name() } else { form.name.trim() };
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Connections).await?;
    let now = state.clock.now();
    let expires = token_expiry(state.token_default_expiry_days, now);
    let (c, token) =
        tenants::create_connection(&mut conn, &state.signing_key, &t, name, expires, now).await?;
    let base_url = state.scim_base_url(c.id);
    Ok(layout::respond(page(
        "Connect an IdP",
        Frame::tenant(&session, &t.slug, "Connections"),
        html! {
            h1 { "Connect " (idp.name()) }
            div.notice { "The token below is shown only on this page. Copy it into " (idp.name())
                         " now; if you lose it, issue a new one from the connection page." }
            section.card {
                ol.steps { (steps(idp, &base_url, &token.token)) }
            }
            section.card {
                h2 { "Status" }
                (waiting_box(&t.slug, c.id, None))
                p { a href={ "/console/t/" (t.slug) "/connections/" (c.id) } { "Open the connection page" } }
            }
        },
    )))
}

/// The base URL and token fields.
fn secrets(url_label: &str, token_label: &str, base_url: &str, token: &str) -> (Markup, Markup) {
    (copyable("scim-base-url", url_label, base_url), copyable("scim-token", token_label, token))
}

/// An IdP's numbered steps, in its own words.
fn steps(idp: Idp, base_url: &str, token: &str) -> Markup {
    match idp {
        Idp::Entra => {
            let (url, secret) = secrets("Tenant URL", "Secret Token", base_url, token);
            html! {
                li { "In the Microsoft Entra admin center open " strong { "Enterprise applications → New application → Create your own application" }
                     ", name it and choose " em { "Integrate any other application you don't find in the gallery (Non-gallery)" } "." }
                li { "Open " strong { "Provisioning" } " and set " strong { "Provisioning Mode" } " to " strong { "Automatic" } "." }
                li { "Under " strong { "Admin Credentials" } ", paste the " strong { "Tenant URL" } ":" (url)
                     span.muted { "Roster understands both of Entra's PATCH dialects; appending ?aadOptscim062020 is optional." } }
                li { "Paste the " strong { "Secret Token" } ":" (secret) }
                li { "Click " strong { "Test Connection" } ". Entra sends a " code { "GET /Users?filter=…" }
                     "; the status below turns green when it arrives." }
                li { "Under " strong { "Mappings" } ", check the attribute mappings: "
                     code { "userPrincipalName → userName" } " (matching precedence 1), "
                     code { "objectId → externalId" } ", " code { "Switch([IsSoftDeleted], …) → active" } ", "
                     code { "mail → emails[type eq \"work\"].value" } ", " code { "givenName → name.givenName" } ", "
                     code { "surname → name.familyName" } ", " code { "jobTitle → title" } " (Roster's position by default), "
                     code { "department" } " and " code { "manager" } " → the enterprise extension." }
                li { "Save, set " strong { "Scope" } " to " em { "Sync only assigned users and groups" }
                     ", assign users and groups, and switch " strong { "Provisioning Status" } " to " strong { "On" } "." }
            }
        }
        Idp::Okta => {
            let (url, secret) =
                secrets("SCIM connector base URL", "Authorization (Bearer token)", base_url, token);
            html! {
                li { "In the Okta Admin Console open " strong { "Applications → Create App Integration" }
                     " (SAML 2.0 or SWA), then on " strong { "General → App Settings" } " select "
                     strong { "Provisioning: SCIM" } " and save." }
                li { "On the " strong { "Provisioning" } " tab, " strong { "Integration → Edit" } ", paste the "
                     strong { "SCIM connector base URL" } ":" (url) }
                li { strong { "Unique identifier field for users" } ": " code { "userName" } }
                li { strong { "Supported provisioning actions" } ": " em { "Import New Users and Profile Updates" } ", "
                     em { "Push New Users" } ", " em { "Push Profile Updates" } ", " em { "Push Groups" } "." }
                li { strong { "Authentication Mode" } ": " strong { "HTTP Header" } "; paste the token as the "
                     strong { "Authorization" } " bearer token:" (secret) }
                li { "Click " strong { "Test Connector Configuration" } " — the status below turns green — then " strong { "Save" } "." }
                li { "Under " strong { "Provisioning → To App" } ", enable " em { "Create Users" } ", "
                     em { "Update User Attributes" } " and " em { "Deactivate Users" } "; assign people and push groups." }
            }
        }
        Idp::OneLogin => {
            let (url, secret) = secrets("SCIM Base URL", "SCIM Bearer Token", base_url, token);
            html! {
                li { "In OneLogin open " strong { "Applications → Add App" } " and add "
                     strong { "SCIM Provisioner with SAML (SCIM v2 Enterprise)" } "." }
                li { "On the " strong { "Configuration" } " tab paste the " strong { "SCIM Base URL" } ":" (url) }
                li { "Paste the " strong { "SCIM Bearer Token" } ":" (secret) }
                li { "Keep the default " strong { "SCIM JSON Template" } " and click " strong { "Enable" }
                     " under " strong { "API Connection" } " — the status below turns green." }
                li { "On the " strong { "Provisioning" } " tab tick " strong { "Enable provisioning" }
                     " and choose " em { "Suspend" } " for deleted and suspended users; save and assign users." }
            }
        }
        Idp::JumpCloud => {
            let (url, secret) = secrets("Base URL", "Token Key", base_url, token);
            html! {
                li { "In the JumpCloud Admin Portal open " strong { "SSO Applications → Add New Application → Custom Application" }
                     " and select " em { "Manage Identities" } "." }
                li { "On the " strong { "Identity Management" } " tab choose " strong { "API Type: SCIM API" }
                     " and " strong { "SCIM Version: SCIM 2.0" } "." }
                li { "Paste the " strong { "Base URL" } ":" (url) }
                li { "Paste the " strong { "Token Key" } ":" (secret) }
                li { "Enter a " strong { "Test User Email" } ", click " strong { "Test Connection" }
                     " — the status below turns green — then " strong { "Activate" } "." }
                li { "Bind user groups to the application; enable " em { "Group Management" } " to push groups." }
            }
        }
        Idp::Generic => {
            let (url, secret) = secrets("SCIM base URL", "Bearer token", base_url, token);
            html! {
                li { "Point your SCIM 2.0 client at the base URL:" (url)
                     span.muted { "Endpoints: /Users, /Groups, /Bulk, /.search, /ServiceProviderConfig, /Schemas, /ResourceTypes." } }
                li { "Authenticate every request with the header " code { "Authorization: Bearer <token>" } ":" (secret) }
                li { "Match users by " code { "userName eq \"…\"" } " or " code { "externalId eq \"…\"" }
                     "; update with PATCH or PUT; deactivate with " code { "active: false" } "." }
                li { "Send a first request, e.g. " code { "GET /Users?count=1" } " — the status below turns green." }
            }
        }
    }
}

/// The status box: waiting (polled every 2 s by htmx) or connected (polling stops).
pub(super) fn waiting_box(
    slug: &str,
    connection: Uuid,
    first: Option<chrono::DateTime<chrono::Utc>>,
) -> Markup {
    match first {
        Some(at) => html! {
            div.connected #connection-status { "Connected: first request at " (time(at)) " UTC" }
        },
        None => html! {
            div.waiting #connection-status
                hx-get={ "/console/t/" (slug) "/connections/" (connection) "/waiting" }
                hx-trigger="every 2s" hx-swap="outerHTML" {
                "Waiting for the first request from your identity provider…"
            }
        },
    }
}

/// GET /console/t/{t}/connections/{c}/waiting — the status box (htmx fragment).
pub async fn waiting(
    session: Session,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Connections).await?;
    let id =
        Uuid::parse_str(&path.1).map_err(|_| ScimError::not_found("no such connection in this tenant"))?;
    let c = tenants::connection(&mut conn, &t, id).await?;
    let a = store::activity(&mut conn, t.id, c.id, state.clock.now()).await?;
    Ok(layout::fragment(waiting_box(&t.slug, c.id, a.first_at)))
}
