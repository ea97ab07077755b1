//! *Connection*: a connection's status (first and last request, requests and failures over 24 h),
//! its tokens (issue, rotate, revoke — a new token shown once), tolerant/strict mode and its
//! latest requests. The writes are the admin API's directory functions (`directory::tenants`).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::connect::waiting_box;
use super::csrf::{NoFields, Protected};
use super::layout::{self, copyable, csrf, maybe_time, page, time, Frame};
use super::log::log_table;
use super::session::{Area, Session};
use super::ConsoleResult;
use crate::config::token_expiry;
use crate::db::provisioning_log::{self as log_store, LogQuery};
use crate::db::tenants::{Connection, Tenant};
use crate::db::{self, console as store, Conn};
use crate::directory::tenants::{self, IssuedToken};
use crate::error::ScimError;
use crate::http::AppState;

fn connection_id(raw: &str) -> ConsoleResult<Uuid> {
    Ok(Uuid::parse_str(raw).map_err(|_| ScimError::not_found("no such connection in this tenant"))?)
}

async fn connection(conn: &mut Conn, t: &Tenant, raw: &str) -> ConsoleResult<Connection> {
    Ok(tenants::connection(conn, t, connection_id(raw)?).await?)
}

/// GET /console/t/{t}/connections/{c}
pub async fn show(
    session: Session,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Connections).await?;
    let c = connection(&mut conn, &t, &path.1).await?;
    let now = state.clock.now();
    let activity = store::activity(&mut conn, t.id, c.id, now - Duration::hours(24)).await?;
    let tokens = db::tenants::list_tokens(&mut conn, t.id, Some(c.id)).await?;
    let query = LogQuery { connection: Some(c.id), limit: 10, ..LogQuery::default() };
    let recent = log_store::list(&mut conn, t.id, &query).await?;
    let base = format!("/console/t/{}", t.slug);
    Ok(layout::respond(page(
        &c.name,
        Frame::tenant(&session, &t.slug, "Connections"),
        html! {
            h1 { (c.name) }
            section.card {
                h2 { "Status" }
                (waiting_box(&t.slug, c.id, activity.first_at))
                dl.facts {
                    dt { "SCIM base URL" } dd { code { (state.scim_base_url(c.id)) } }
                    dt { "Last request" } dd { (maybe_time(activity.last_at)) }
                    dt { "Requests (24 h)" } dd { (activity.requests) }
                    dt { "Failures (24 h)" } dd { span class=[(activity.failures > 0).then_some("status-bad")] { (activity.failures) } }
                }
            }
            section.card {
                h2 { "Mode" }
                form method="post" action={ (base) "/connections/" (c.id) "/mode" } {
                    (csrf(&session))
                    select name="quirk_mode" {
                        @for m in tenants::QUIRK_MODES {
                            option value=(m) selected[c.quirk_mode == m] { (m) }
                        }
                    }
                    " " button type="submit" class="secondary" { "Save mode" }
                }
                p.muted { "Tolerant accepts the IdPs' known dialects and records which rule fired; strict accepts RFC 7644 only." }
            }
            section.card {
                h2 { "Tokens" }
                (token_table(&session, &base, &tokens, now))
                form method="post" action={ (base) "/connections/" (c.id) "/tokens" } {
                    (csrf(&session))
                    input type="text" name="label" placeholder="label (optional)" maxlength="200";
                    " " input type="number" name="expires_in_days" min="1" max="36500" placeholder="expires in days";
                    " " button type="submit" { "Issue a token" }
                }
                form method="post" action={ (base) "/connections/" (c.id) "/rotate" } {
                    (csrf(&session))
                    p { button type="submit" class="secondary" { "Rotate: issue a new token and revoke all others" } }
                }
            }
            section.card {
                h2 { "Latest requests" }
                (log_table(&recent))
                p { a href={ (base) "/log?connection=" (c.id) } { "The whole provisioning log of this connection" } }
            }
        },
    )))
}

fn token_table(
    session: &Session,
    base: &str,
    tokens: &[db::tenants::TokenRecord],
    now: DateTime<Utc>,
) -> Markup {
    html! {
        @if tokens.is_empty() { p.muted { "No tokens." } } @else {
            table {
                tr { th { "Token id" } th { "Label" } th { "State" } th { "Issued" } th { "Expires" } th {} }
                @for r in tokens {
                    @let state = match (r.revoked_at, r.expires_at) {
                        (Some(_), _) => "revoked",
                        (None, Some(e)) if e <= now => "expired",
                        _ => "active",
                    };
                    tr {
                        td.mono { (r.id) }
                        td { (r.label) }
                        td { span.pill.ok[state == "active"].bad[state != "active"] { (state) } }
                        td { (time(r.created_at)) }
                        td { (maybe_time(r.expires_at)) }
                        td {
                            @if state == "active" {
                                form.inline method="post" action={ (base) "/tokens/" (r.id) "/revoke" } {
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
}

/// The form of a new token.
#[derive(Deserialize, Default)]
pub struct NewToken {
    #[serde(default)]
    label: String,
    #[serde(default)]
    expires_in_days: String,
}

impl NewToken {
    fn days(&self) -> ConsoleResult<Option<u32>> {
        let raw = self.expires_in_days.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        match raw.parse::<u32>() {
            Ok(d) if (1..=36_500).contains(&d) => Ok(Some(d)),
            _ => {
                Err(ScimError::invalid_value("expires in days must be a whole number from 1 to 36500").into())
            }
        }
    }
}

fn token_shown_once(
    session: &Session,
    t: &Tenant,
    c: &Connection,
    state: &AppState,
    token: &IssuedToken,
) -> HttpResponse {
    layout::respond(page(
        "New token",
        Frame::tenant(session, &t.slug, "Connections"),
        html! {
            h1 { "New token for " (c.name) }
            div.notice { "This token is shown only now. Copy it into your identity provider; Roster keeps only its id." }
            section.card {
                (copyable("scim-base-url", "SCIM base URL", &state.scim_base_url(c.id)))
                (copyable("scim-token", "Token", &token.token))
                p.muted { "Token id " code { (token.record.id) } }
            }
            p { a href={ "/console/t/" (t.slug) "/connections/" (c.id) } { "Back to the connection" } }
        },
    ))
}

/// POST /console/t/{t}/connections/{c}/tokens — a new token, shown once.
pub async fn issue_token(
    form: Protected<NewToken>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let days = form.days()?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Connections).await?;
    let c = connection(&mut conn, &t, &path.1).await?;
    let now = state.clock.now();
    let expires = token_expiry(days.or(state.token_default_expiry_days), now);
    let token =
        tenants::issue_token(&mut conn, &state.signing_key, &c, form.label.trim(), expires, now).await?;
    Ok(token_shown_once(&session, &t, &c, &state, &token))
}

/// POST /console/t/{t}/connections/{c}/rotate — a new token, every other one revoked.
pub async fn rotate(
    form: Protected<NoFields>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Connections).await?;
    let c = connection(&mut conn, &t, &path.1).await?;
    let now = state.clock.now();
    let expires = token_expiry(state.token_default_expiry_days, now);
    let (token, _) =
        tenants::rotate_token(&mut conn, &state.signing_key, &c, "rotated", expires, now).await?;
    Ok(token_shown_once(&session, &t, &c, &state, &token))
}

/// POST /console/t/{t}/tokens/{token}/revoke
pub async fn revoke_token(
    form: Protected<NoFields>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let id = Uuid::parse_str(&path.1).map_err(|_| ScimError::not_found("no such token in this tenant"))?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Connections).await?;
    let record = db::tenants::list_tokens(&mut conn, t.id, None).await?.into_iter().find(|r| r.id == id);
    tenants::revoke_token(&mut conn, &t, id, state.clock.now()).await?;
    Ok(layout::see_other(&match record {
        Some(r) => format!("/console/t/{}/connections/{}", t.slug, r.connection_id),
        None => format!("/console/t/{}/", t.slug),
    }))
}

/// The mode form.
#[derive(Deserialize)]
pub struct Mode {
    quirk_mode: String,
}

/// POST /console/t/{t}/connections/{c}/mode
pub async fn set_mode(
    form: Protected<Mode>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Connections).await?;
    let c = connection(&mut conn, &t, &path.1).await?;
    tenants::set_quirk_mode(&mut conn, &t, c.id, &form.quirk_mode).await?;
    Ok(layout::see_other(&format!("/console/t/{}/connections/{}", t.slug, c.id)))
}
