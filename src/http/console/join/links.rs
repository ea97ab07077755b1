//! The Join page's links: single-use access links (for a person or an email), the tenant
//! invitation link (rotate: the old one stops working) and email invitations (one single-use
//! link per address, `pending` until the person registers, then `joined`). A new link's URL is
//! shown on the page that answers the form, this once.

use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::{render, Issued};
use crate::db::join::Link;
use crate::db::tenants::Tenant;
use crate::directory::join::manage::{self, MAX_EXPIRY_DAYS, MAX_INVITATIONS};
use crate::error::ScimError;
use crate::http::console::csrf::{NoFields, Protected};
use crate::http::console::layout::{self, csrf, time};
use crate::http::console::session::{Area, Session};
use crate::http::console::ConsoleResult;
use crate::http::AppState;

/// The registration page's URL for a token just issued.
fn join_url(state: &AppState, t: &Tenant, token: &str) -> String {
    crate::http::join::page_url(&state.public_url, &t.slug, token)
}

/// A days field: empty is none; the directory checks the range.
fn days(raw: &str) -> ConsoleResult<Option<u32>> {
    match raw.trim() {
        "" => Ok(None),
        d => Ok(Some(d.parse::<u32>().map_err(|_| {
            ScimError::invalid_value(format!("expires in days: a whole number from 1 to {MAX_EXPIRY_DAYS}"))
        })?)),
    }
}

/// A table of links (nothing when there are none): when made, for whom, state, expiry; a link in
/// the `revocable` state gets a Revoke button. `class` and the first two headings name the kind.
fn link_table(
    session: &Session,
    base: &str,
    links: &[Link],
    now: chrono::DateTime<chrono::Utc>,
    revocable: &str,
    (class, made, whom): (&str, &str, &str),
) -> Markup {
    if links.is_empty() {
        return html! {};
    }
    html! {
        table class=(class) {
            tr { th { (made) " (UTC)" } th { (whom) } th { "State" } th { "Expires (UTC)" } th {} }
            @for l in links {
                @let shown = manage::shown_state(l, now);
                tr data-link=(l.id) {
                    td { (time(l.created_at)) }
                    td { (l.person.as_deref().or(l.email.as_deref()).unwrap_or("—")) }
                    td.state { (shown) }
                    td { (l.expires_at.map(time).unwrap_or_else(|| "never".into())) }
                    td {
                        @if shown == revocable {
                            form.inline method="post" action={ (base) "/links/" (l.id) "/revoke" } {
                                (csrf(session))
                                button type="submit" class="danger" { "Revoke" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The links' sections of the Join page.
pub(super) async fn sections(
    conn: &mut crate::db::Conn,
    state: &AppState,
    session: &Session,
    t: &Tenant,
    issued: &Issued,
) -> ConsoleResult<Markup> {
    let now = state.clock.now();
    let base = &super::base(t);
    let all = manage::list_links(conn, t.id, &["access", "email", "tenant"], None, now).await?;
    let access: Vec<Link> = all.iter().filter(|l| l.kind == "access").cloned().collect();
    let invitations: Vec<Link> = all.iter().filter(|l| l.kind == "email").cloned().collect();
    let live_tenant_link = all.iter().find(|l| l.kind == "tenant" && manage::link_state(l, now) == "unused");
    Ok(html! {
        section.card #links {
            h2 { "Single-use access links" }
            @if let Issued::AccessLink(url) = issued {
                div.notice.issued-link {
                    "New link (shown only now; send it to the person): "
                    code.link-url { (url) }
                }
            }
            form method="post" action={ (base) "/links" } {
                (csrf(session))
                label { "For (name) " input type="text" name="person" maxlength="200"; }
                label { " or email " input type="email" name="email" maxlength="320"; }
                label { " expires in days " input type="number" name="expires_in_days" min="1" max=(MAX_EXPIRY_DAYS); }
                " " button type="submit" { "Create link" }
            }
            (link_table(session, base, &access, now, "unused", ("links", "Created", "For")))
        }
        section.card #invitation-link {
            h2 { "Tenant invitation link" }
            p.muted { "One link anyone may register with, limited to the allowed email domains (see Doors)." }
            @if let Issued::InvitationLink(url) = issued {
                div.notice.issued-link {
                    "New invitation link (shown only now; the previous one no longer works): "
                    code.link-url { (url) }
                }
            }
            p.link-state {
                @match live_tenant_link {
                    Some(l) => { "A link issued " (time(l.created_at)) " is live." }
                    None => { "No live invitation link." }
                }
            }
            form method="post" action={ (base) "/invitation-link/rotate" } {
                (csrf(session))
                button type="submit" {
                    @if live_tenant_link.is_some() { "Rotate (the current link stops working)" } @else { "Issue a link" }
                }
            }
        }
        section.card #invitations {
            h2 { "Email invitations" }
            p.muted { "One single-use link per address: pending until the person registers with that address, then joined. \
                       Send each link to its address (Roster sends no email)." }
            @if let Issued::Invitations(made) = issued {
                div.notice.issued-invitations {
                    "New invitations (links shown only now):"
                    table {
                        @for (email, url) in made {
                            tr { td { (email) } td { code.link-url { (url) } } }
                        }
                    }
                }
            }
            form method="post" action={ (base) "/invitations" } {
                (csrf(session))
                label { "Email addresses (one per line or comma-separated, at most " (MAX_INVITATIONS) ")" br;
                    textarea name="emails" rows="4" cols="60" required {} }
                br;
                label { "expires in days " input type="number" name="expires_in_days" min="1" max=(MAX_EXPIRY_DAYS); }
                " " button type="submit" { "Invite" }
            }
            (link_table(session, base, &invitations, now, "pending", ("invitations", "Invited", "Email")))
        }
    })
}

/// The access-link form.
#[derive(Deserialize)]
pub struct NewAccessLink {
    #[serde(default)]
    person: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    expires_in_days: String,
}

fn filled(v: &str) -> Option<String> {
    Some(v.trim().to_string()).filter(|v| !v.is_empty())
}

/// POST /console/t/{t}/join/links — a single-use access link for a person or an email; the page
/// shows its URL this once (only its digest is stored).
pub async fn create_link(
    form: Protected<NewAccessLink>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let draft = manage::NewLink {
        person: filled(&form.person),
        email: filled(&form.email),
        expires_in_days: days(&form.expires_in_days)?,
        groups: Vec::new(),
    };
    let (_, token) = manage::create_link(&mut conn, t.id, draft, state.clock.now()).await?;
    let url = join_url(&state, &t, &token);
    render(&mut conn, &state, &session, &t, Issued::AccessLink(url)).await
}

/// POST /console/t/{t}/join/links/{l}/revoke — an access link or an email invitation.
pub async fn revoke_link(
    form: Protected<NoFields>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let id = Uuid::parse_str(&path.1).map_err(|_| ScimError::not_found("no such link"))?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    manage::revoke(&mut conn, t.id, id, &["access", "email"], state.clock.now()).await?;
    Ok(layout::see_other(&format!("{}#links", super::base(&t))))
}

/// POST /console/t/{t}/join/invitation-link/rotate — a new tenant invitation link, shown once;
/// the previous one stops working.
pub async fn rotate_invitation_link(
    form: Protected<NoFields>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let (_, token) = manage::rotate_invitation_link(&mut conn, t.id, state.clock.now()).await?;
    let url = join_url(&state, &t, &token);
    render(&mut conn, &state, &session, &t, Issued::InvitationLink(url)).await
}

/// The email-invitation form.
#[derive(Deserialize)]
pub struct NewInvitations {
    #[serde(default)]
    emails: String,
    #[serde(default)]
    expires_in_days: String,
}

/// POST /console/t/{t}/join/invitations — one single-use invitation per address (all or none);
/// the page lists each address with its link, this once.
pub async fn invite(
    form: Protected<NewInvitations>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let emails: Vec<String> =
        form.emails.split(|c: char| c == ',' || c == ';' || c.is_whitespace()).filter_map(filled).collect();
    let new =
        manage::NewInvitations { emails, expires_in_days: days(&form.expires_in_days)?, groups: Vec::new() };
    let made = manage::invite(&mut conn, t.id, new, state.clock.now()).await?;
    let shown = made
        .iter()
        .map(|(link, token)| (link.email.clone().unwrap_or_default(), join_url(&state, &t, token)))
        .collect();
    render(&mut conn, &state, &session, &t, Issued::Invitations(shown)).await
}
