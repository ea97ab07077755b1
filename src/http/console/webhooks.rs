//! *Webhooks*: the tenant's event receivers with their delivery state (pending, failing with the
//! last error, rejected), adding one (signed JSON or Security Event Tokens; a generated secret is
//! shown once, on the page that answers the form), removing one, and sending a test event. Thin
//! over the admin API's functions (`http::admin::webhooks`), so the rules — egress control, no
//! credentials in URLs, sealed secrets — are the same; each write leaves an audit entry.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::audit::{record, ConsoleWrite, Done};
use super::csrf::{NoFields, Protected};
use super::layout::{self, copyable, csrf, page, Frame};
use super::session::{Area, Session};
use super::{ConsoleError, ConsoleResult};
use crate::db::tenants::Tenant;
use crate::db::Conn;
use crate::error::ScimError;
use crate::http::admin::webhooks::{
    add_receiver, receivers_of, remove_receiver, send_test, FormatName, NewWebhook, WebhookView,
};
use crate::http::AppState;

/// What the page shows besides the list: a notice, an error, a secret shown once.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    error: Option<String>,
    added: Option<WebhookView>,
}

async fn render(
    conn: &mut Conn,
    session: &Session,
    t: &Tenant,
    outcome: Outcome,
    status: StatusCode,
    now: chrono::DateTime<chrono::Utc>,
) -> ConsoleResult<HttpResponse> {
    let hooks = receivers_of(conn, t.id, now).await?;
    let base = format!("/console/t/{}/webhooks", t.slug);
    let body: Markup = html! {
        h1 { "Webhooks" }
        @if let Some(e) = &outcome.error { div.error { (e) } }
        @if let Some(n) = &outcome.notice { div.notice { (n) } }
        @if let Some(added) = &outcome.added {
            @if let Some(secret) = &added.secret {
                section.card {
                    h2 { "Signing secret" }
                    p { "Verify each delivery's " code { "Roster-Signature" } " with this secret. It is shown only this once." }
                    (copyable("webhook-secret", "Secret", secret))
                }
            }
        }
        section.card {
            h2 { "Receivers" }
            @if hooks.is_empty() { p.muted { "No receivers: events stay in the outbox until one is added." } } @else {
                table {
                    tr { th { "URL" } th { "Format" } th { "Delivery" } th { "Rejected" } th {} }
                    @for h in &hooks {
                        tr {
                            td { code { (h.url) } br; span.muted { (layout::time(h.created_at)) } }
                            td { (h.format) }
                            td {
                                @if let Some(d) = &h.delivery {
                                    span.pill.ok[d.state == "ok"].warn[d.state == "pending"].bad[d.state == "failing"] { (d.state) }
                                    @if d.pending > 0 { " " (d.pending) " pending" }
                                    @if let Some(e) = &d.last_error { br; span.muted { "last error: " (e) } }
                                    @if d.next_attempt_at.is_some() { br; span.muted { "next attempt " (layout::maybe_time(d.next_attempt_at)) } }
                                }
                            }
                            td {
                                @if let Some(d) = &h.delivery {
                                    (d.rejected)
                                    @if let Some(r) = &d.last_rejection { br; span.muted { (r) } }
                                }
                            }
                            td {
                                form.inline method="post" action={ (base) "/" (h.id) "/test" } {
                                    (csrf(session)) button type="submit" class="secondary" { "Send test event" }
                                }
                                " "
                                form.inline method="post" action={ (base) "/" (h.id) "/remove" } {
                                    (csrf(session)) button type="submit" class="danger" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Add a receiver" }
            form method="post" action=(base) {
                (csrf(session))
                dl.facts {
                    dt { label for="url" { "URL" } }
                    dd { input #url type="url" name="url" size="60" required placeholder="https://app.example.com/roster-events"; }
                    dt { label for="format" { "Format" } }
                    dd { select #format name="format" {
                        option value="webhook" { "Signed JSON (Roster-Signature, HMAC-SHA256)" }
                        option value="set" { "Security Event Tokens (RFC 8417, signed ES256)" }
                    } }
                    dt { label for="secret" { "Secret" } }
                    dd { input #secret type="text" name="secret" size="40" placeholder="generated when empty (signed JSON only)"; }
                    dt { label for="audience" { "Audience" } }
                    dd { input #audience type="text" name="audience" size="40" placeholder="the URL when empty (SET only)"; }
                }
                p { button type="submit" { "Add receiver" } }
            }
        }
    };
    let html = page("Webhooks", Frame::tenant(session, &t.slug, "Webhooks"), body).into_string();
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html))
}

/// The tenant of a webhooks page, admitted for a directory session.
/// A refused write shows the page again with the reason (400, 404); anything else is an error page.
async fn refused(
    conn: &mut Conn,
    session: &Session,
    t: &Tenant,
    e: ScimError,
    what: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ConsoleResult<HttpResponse> {
    match e.status() {
        400 | 404 => {
            let outcome = Outcome { error: Some(format!("{what}: {}", e.detail())), ..Outcome::default() };
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            render(conn, session, t, outcome, status, now).await
        }
        _ => Err(ConsoleError::from(e)),
    }
}

/// GET /console/t/{t}/webhooks
pub async fn show(
    session: Session,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    render(&mut conn, &session, &t, Outcome::default(), StatusCode::OK, state.clock.now()).await
}

/// The add form.
#[derive(Deserialize)]
pub struct AddForm {
    url: String,
    format: FormatName,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    audience: String,
}

/// POST /console/t/{t}/webhooks — add a receiver; the answer shows a generated secret once.
pub async fn add(
    form: Protected<AddForm>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let non_empty = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let new = NewWebhook {
        url: form.url.trim().to_string(),
        format: Some(form.format),
        audience: non_empty(form.audience),
        secret: non_empty(form.secret),
    };
    let write = ConsoleWrite { tenant: t.id, route: "/console/t/{tenant}/webhooks", targets: Vec::new() };
    let result = add_receiver(&mut conn, &state, t.id, new).await;
    record(&mut conn, &state, &session, write, &result, |added| Done {
        summary: format!("added {} receiver {}", added.format, crate::text::truncate(&added.url, 200)),
        status: 201,
        targets: vec![("webhook", added.id.to_string())],
    })
    .await;
    match result {
        Ok(added) => {
            let notice = Some(format!("Receiver {} added.", added.url));
            let outcome = Outcome { notice, added: Some(added), ..Outcome::default() };
            render(&mut conn, &session, &t, outcome, StatusCode::OK, state.clock.now()).await
        }
        Err(e) => refused(&mut conn, &session, &t, e, "The receiver was not added", state.clock.now()).await,
    }
}

fn webhook_id(raw: &str) -> ConsoleResult<Uuid> {
    Ok(Uuid::parse_str(raw)
        .map_err(|_| ScimError::not_found(format!("no webhook {}", crate::text::quote(raw))))?)
}

/// POST /console/t/{t}/webhooks/{w}/test — queue a test event for this receiver.
pub async fn test(
    form: Protected<NoFields>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    let id = webhook_id(&path.1)?;
    let targets = vec![("webhook", id.to_string())];
    let write = ConsoleWrite { tenant: t.id, route: "/console/t/{tenant}/webhooks/{webhook}/test", targets };
    let result = send_test(&mut conn, &state, t.id, id).await;
    record(&mut conn, &state, &session, write, &result, |event| Done {
        summary: "sent a test event".into(),
        status: 202,
        targets: vec![("event", event.to_string())],
    })
    .await;
    match result {
        Ok(event) => {
            let notice = Some(format!("Test event {event} queued; its delivery shows below once attempted."));
            render(
                &mut conn,
                &session,
                &t,
                Outcome { notice, ..Outcome::default() },
                StatusCode::OK,
                state.clock.now(),
            )
            .await
        }
        Err(e) => refused(&mut conn, &session, &t, e, "No test event was sent", state.clock.now()).await,
    }
}

/// POST /console/t/{t}/webhooks/{w}/remove — remove a receiver and its pending deliveries.
pub async fn remove(
    form: Protected<NoFields>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    let id = webhook_id(&path.1)?;
    let targets = vec![("webhook", id.to_string())];
    let write =
        ConsoleWrite { tenant: t.id, route: "/console/t/{tenant}/webhooks/{webhook}/remove", targets };
    let result = remove_receiver(&mut conn, t.id, id).await;
    record(&mut conn, &state, &session, write, &result, |()| Done {
        summary: "removed webhook receiver".into(),
        status: 204,
        targets: Vec::new(),
    })
    .await;
    match result {
        Ok(()) => Ok(layout::see_other(&format!("/console/t/{}/webhooks", t.slug))),
        Err(e) => {
            refused(&mut conn, &session, &t, e, "The receiver was not removed", state.clock.now()).await
        }
    }
}
