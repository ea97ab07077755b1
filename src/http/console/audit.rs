//! *Audit log*: the tenant's audit trail (every admin API and console write, refused ones too),
//! newest first with the admin API's filters and paging ([`admin::audit::query`] and
//! [`admin::audit::entries`]), and [`record`], which the console's own writes call to leave their
//! entry (the console's side of `roster::audit::record_audit`).
//!
//! [`admin::audit::query`]: crate::http::admin::audit::query
//! [`admin::audit::entries`]: crate::http::admin::audit::entries

use actix_web::{web, HttpResponse};
use maud::html;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::layout::{self, page, Frame};
use super::session::{Session, SessionSeen};
use super::ConsoleResult;
use crate::audit::{record_audit, Actor, AuditEntry, ACTOR_KINDS};
use crate::db::audit::Scope;
use crate::db::{self, Conn};
use crate::error::ScimResult;
use crate::http::admin::audit::{entries, query, Params};
use crate::http::admin::tenant;
use crate::http::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpMessage;

/// Entries per page.
const PAGE: i64 = 50;

/// A console write about to be recorded: where it happened and what it was about.
#[derive(Debug, Clone)]
pub struct ConsoleWrite<'a> {
    /// The tenant written to.
    pub tenant: Uuid,
    /// The console route template (`/console/t/{tenant}/webhooks`).
    pub route: &'a str,
    /// Ids the write was about.
    pub targets: Vec<(&'static str, String)>,
}

/// What a successful console write did: a short summary (never a secret), the status it is
/// recorded with, and ids only known afterwards (a created resource's).
#[derive(Debug, Clone)]
pub struct Done {
    /// A short sentence.
    pub summary: String,
    /// The status recorded (the admin API's for the same write: 200, 201, 202, 204).
    pub status: u16,
    /// Extra target ids.
    pub targets: Vec<(&'static str, String)>,
}

/// Record the outcome of a console write of `session`: `done` says what a success did; a refusal
/// is recorded with its status and detail. A failure to record is logged; the write has
/// already happened.
pub async fn record<T>(
    conn: &mut Conn,
    state: &AppState,
    session: &Session,
    write: ConsoleWrite<'_>,
    result: &ScimResult<T>,
    done: impl FnOnce(&T) -> Done,
) {
    let mut targets = write.targets;
    let (summary, status) = match result {
        Ok(value) => {
            let d = done(value);
            targets.extend(d.targets);
            (d.summary, d.status)
        }
        Err(e) => {
            (format!("refused ({}): {}", e.status(), crate::text::truncate(e.detail(), 200)), e.status())
        }
    };
    let entry = AuditEntry {
        tenant_id: Some(write.tenant),
        actor: Actor::ConsoleSession(session.id),
        method: "POST".into(),
        route: write.route.into(),
        targets: targets.into_iter().map(|(k, v)| (k.to_string(), Value::String(v))).collect::<Map<_, _>>(),
        summary,
        status,
    };
    session.audited.set(true);
    if let Err(e) = record_audit(conn, &entry, state.clock.now()).await {
        tracing::error!(error = ?e, route = write.route, "could not record the audit entry");
    }
}

/// Every console POST made in a session leaves an audit entry, refused ones too: the pages that
/// describe their write ([`record`]) leave theirs; for the others this middleware records the
/// route template, the ids in the path, and the status after the response. Sign-in has no
/// session yet and is not recorded (its failures count toward the credential back-off).
pub async fn audit_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() != actix_web::http::Method::POST {
        return next.call(req).await;
    }
    let res = next.call(req).await?;
    let seen = res.request().extensions().get::<SessionSeen>().cloned();
    let Some(seen) = seen.filter(|s| !s.audited.get()) else { return Ok(res) };
    let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned() else { return Ok(res) };
    let route = res.request().match_pattern().unwrap_or_else(|| res.request().path().to_string());
    let info = res.request().match_info();
    let slug = info.get("tenant").map(str::to_string);
    let targets: Map<String, Value> = info
        .iter()
        .filter(|(k, _)| *k != "tenant")
        .map(|(k, v)| (k.to_string(), crate::audit::target_value(v)))
        .collect();
    let status = res.status().as_u16();
    let outcome = if res.status().is_success() || res.status().is_redirection() { "done" } else { "refused" };
    let summary = format!("console {route}: {outcome} ({status})");
    let recorded = async {
        // The entry's tenant is found from the path; an entry may name none.
        let mut conn = db::checkout(&state.pool, db::Scope::All).await?;
        let tenant_id = match (seen.tenant, slug) {
            (Some(own), _) => Some(own),
            (None, Some(slug)) => crate::db::tenants::tenant_by_slug(&mut conn, &slug).await?.map(|t| t.id),
            (None, None) => None,
        };
        let entry = AuditEntry {
            tenant_id,
            actor: Actor::ConsoleSession(seen.id),
            method: "POST".into(),
            route,
            targets,
            summary,
            status,
        };
        record_audit(&mut conn, &entry, state.clock.now()).await
    };
    if let Err(e) = recorded.await {
        tracing::error!(error = ?e, "could not record the console audit entry");
    }
    Ok(res)
}

/// GET /console/t/{t}/audit?actor_kind=&outcome=&after=
pub async fn show(
    session: Session,
    path: web::Path<String>,
    query_params: web::Query<Params>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    session.for_tenant(&path)?;
    session.directory()?;
    let mut p = query_params.into_inner();
    // The tenant is the page's; empty filter fields mean "any".
    p.tenant = None;
    p.limit = Some(PAGE);
    p.actor_kind = p.actor_kind.filter(|k| !k.is_empty());
    p.outcome = p.outcome.filter(|o| !o.is_empty());
    let (kind, outcome) = (p.actor_kind.clone().unwrap_or_default(), p.outcome.clone().unwrap_or_default());
    let mut conn = db::checkout(&state.pool, session.rows()).await?;
    let t = tenant(&mut conn, &path).await?;
    db::enter(&mut conn, db::Scope::Tenant(t.id)).await?;
    let found = entries(&mut conn, &query(Scope::Tenant(t.id), p)?).await?;
    let base = format!("/console/t/{}/audit", t.slug);
    Ok(layout::respond(page(
        "Audit log",
        Frame::tenant(&session, &t.slug, "Audit log"),
        html! {
            h1 { "Audit log" }
            p.muted { "Every write through the admin API or this console, refused ones included: who, what, when, and how it ended." }
            form.filters method="get" action=(base) {
                label { "Actor" select name="actor_kind" {
                    option value="" selected[kind.is_empty()] { "any" }
                    @for k in ACTOR_KINDS { option value=(k) selected[kind == k] { (k) } }
                } }
                label { "Outcome" select name="outcome" {
                    option value="" selected[outcome.is_empty()] { "any" }
                    option value="success" selected[outcome == "success"] { "success" }
                    option value="failure" selected[outcome == "failure"] { "failure" }
                } }
                button type="submit" class="secondary" { "Filter" }
            }
            @if found.entries.is_empty() { p.muted { "No entries." } } @else {
                table {
                    tr { th { "When" } th { "Actor" } th { "Request" } th { "What" } th { "Status" } }
                    @for e in &found.entries {
                        tr {
                            td { (layout::time(e.at)) }
                            td { (e.actor.kind) @if let Some(id) = e.actor.id { br; code.muted { (id) } } }
                            td { code { (e.method) " " (e.route) } }
                            td { (e.summary) }
                            td { span.pill.ok[e.status < 400].bad[e.status >= 400] { (e.status) } }
                        }
                    }
                }
            }
            @if let Some(next) = &found.next {
                p { a href={ (base) "?actor_kind=" (kind) "&outcome=" (outcome) "&after=" (next) } { "Older entries →" } }
            }
        },
    )))
}
