//! The admin API's audit trail: a middleware on the `/admin/v1` scope records every request
//! that is not a read (anything but GET, HEAD, OPTIONS) after its response is known — so a
//! refused or failed write is recorded with its status — and `GET .../audit` lists the entries.
//!
//! Who: the [`AdminCaller`] that [`super::authenticate`] left in the request's extensions
//! (none: `anonymous`). Which tenant: the one [`super::TenantScope`] admitted the caller to,
//! else a tenant admin's own tenant, else none. What: the method, the route template, the path
//! parameters, and what the handler noted ([`AuditNote`]: a created id, a short summary) — never
//! a body. A failed write's summary is its error (scimType and a bounded detail).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::log::{next_cursor, outcome, position};
use super::{page_limit, AdminCaller, Operator, TenantScope};
use crate::audit::{record_audit, target_value, Actor, AuditEntry, ACTOR_KINDS};
use crate::db::audit::{self as store, AuditQuery, AuditRow, Scope};
use crate::db::{self, Conn};
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

/// The tenant a request was admitted to (left in its extensions by [`super::TenantScope`]).
#[derive(Debug, Clone, Copy)]
pub struct AuditTenant(pub Uuid);

/// What a handler adds to its write's audit entry (in the response's extensions, see
/// [`noted`]): ids the path does not hold (a created resource's) and a short summary. Never a
/// secret.
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    /// Extra target ids, e.g. `("group", "<new id>")`.
    pub targets: Vec<(&'static str, String)>,
    /// A short sentence: `created group "Sales"`.
    pub summary: String,
}

/// `response` with `note` for the audit entry of its request.
pub fn noted(mut response: HttpResponse, note: AuditNote) -> HttpResponse {
    response.extensions_mut().insert(note);
    response
}

/// Whether a request is recorded: everything but reads.
fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Most characters of an error's detail a failed write's summary keeps.
const ERROR_DETAIL_CHARS: usize = 200;

fn error_summary(status: u16, error: Option<&ScimError>) -> String {
    match error {
        Some(e) => {
            let kind = e.scim_type().map(|t| format!(" {}", t.as_str())).unwrap_or_default();
            format!("refused ({status}{kind}): {}", crate::text::truncate(e.detail(), ERROR_DETAIL_CHARS))
        }
        None => format!("refused ({status})"),
    }
}

/// The entry of an answered request.
fn entry_of<B>(res: &ServiceResponse<B>, method: String, raw_path: String) -> AuditEntry {
    let req = res.request();
    let status = res.status().as_u16();
    let (caller, admitted) = {
        let ext = req.extensions();
        (ext.get::<AdminCaller>().cloned(), ext.get::<AuditTenant>().map(|t| t.0))
    };
    let (actor, own_tenant) = match caller {
        Some(AdminCaller::Operator) => (Actor::Operator, None),
        Some(AdminCaller::TenantAdmin { tenant_id, token_id, .. }) => {
            (Actor::AdminToken(token_id), Some(tenant_id))
        }
        None => (Actor::Anonymous, None),
    };
    let mut targets: Map<String, Value> =
        req.match_info().iter().map(|(k, v)| (k.to_string(), target_value(v))).collect();
    let note = res.response().extensions().get::<AuditNote>().cloned().unwrap_or_default();
    for (k, v) in &note.targets {
        targets.insert((*k).to_string(), target_value(v));
    }
    let summary = if status < 400 && !note.summary.is_empty() {
        note.summary
    } else if status < 400 {
        format!("{method} answered {status}")
    } else {
        error_summary(status, res.response().error().and_then(|e| e.as_error::<ScimError>()))
    };
    AuditEntry {
        tenant_id: admitted.or(own_tenant),
        actor,
        method,
        route: req.match_pattern().unwrap_or(raw_path),
        targets,
        summary,
        status,
    }
}

/// The middleware: run the request, then record it unless it was a read. A failure to record
/// is logged and does not change the response (the write itself has already happened).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !is_write(req.method()) {
        return next.call(req).await;
    }
    // Only owned copies are taken here: a clone of the request would stop the router from
    // writing the path parameters into it.
    let method = req.method().to_string();
    let raw_path = req.path().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let result = next.call(req).await;
    let entry = match &result {
        Ok(res) => entry_of(res, method, raw_path),
        // Refused before routing (e.g. a NUL in the URL): nobody known, no route.
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            AuditEntry {
                tenant_id: None,
                actor: Actor::Anonymous,
                method,
                route: raw_path,
                targets: Map::new(),
                summary: error_summary(status, e.as_error::<ScimError>()),
                status,
            }
        }
    };
    if let Some(state) = state {
        // An entry may name no tenant (the operator's actions, refused callers).
        let scope = entry.tenant_id.map_or(db::Scope::All, db::Scope::Tenant);
        let written = match db::checkout(&state.pool, scope).await {
            Ok(mut conn) => record_audit(&mut conn, &entry, state.clock.now()).await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            tracing::error!(error = ?e, route = %entry.route, status = entry.status, "could not record the audit entry");
        }
    }
    result
}

/// Query of the audit listings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Operator listing only: a tenant slug, or `none` for entries on no tenant.
    pub tenant: Option<String>,
    /// operator | admin_token | console_session | setup_link | anonymous.
    pub actor_kind: Option<String>,
    /// An admin token, console session or setup link id.
    pub actor: Option<Uuid>,
    /// POST | PUT | PATCH | DELETE.
    pub method: Option<String>,
    /// `success` (status below 400) or `failure`.
    pub outcome: Option<String>,
    /// At or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
    /// Page size (default 50, 1 to 1000).
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
}

/// Who made an audited write, as listed.
#[derive(Debug, Serialize)]
pub struct ActorView {
    /// operator | admin_token | console_session | setup_link | anonymous.
    pub kind: String,
    /// The admin token, console session or setup link id.
    pub id: Option<Uuid>,
}

/// One audit entry as listed.
#[derive(Debug, Serialize)]
pub struct AuditView {
    /// Entry id.
    pub id: Uuid,
    /// The tenant acted on (null: none).
    pub tenant_id: Option<Uuid>,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: ActorView,
    /// HTTP method.
    pub method: String,
    /// Route template.
    pub route: String,
    /// Ids the write was about.
    pub targets: Value,
    /// What happened, in a sentence.
    pub summary: String,
    /// HTTP status.
    pub status: i32,
    /// `success` or `failure`.
    pub outcome: &'static str,
}

impl From<AuditRow> for AuditView {
    fn from(r: AuditRow) -> Self {
        AuditView {
            id: r.id,
            tenant_id: r.tenant_id,
            at: r.at,
            actor: ActorView { kind: r.actor_kind, id: r.actor_id },
            method: r.method,
            route: r.route,
            targets: r.targets,
            summary: r.summary,
            outcome: if r.status < 400 { "success" } else { "failure" },
            status: r.status,
        }
    }
}

/// A page of entries and where the next one starts.
#[derive(Debug, Serialize)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditView>,
    /// Pass as `after` for the next page (null: no more).
    pub next: Option<String>,
}

/// Check a listing's parameters and turn them into the query for `scope`.
pub(crate) fn query(scope: Scope, p: Params) -> ScimResult<AuditQuery> {
    if let Some(kind) = &p.actor_kind {
        if !ACTOR_KINDS.contains(&kind.as_str()) {
            return Err(ScimError::invalid_value(format!(
                "actor_kind must be one of {}, not {}",
                ACTOR_KINDS.join(", "),
                crate::text::quote(kind)
            )));
        }
    }
    let outcome = outcome(p.outcome.as_deref())?;
    let limit = page_limit(p.limit, 50, store::MAX_LIMIT)?;
    Ok(AuditQuery {
        scope,
        actor_kind: p.actor_kind,
        actor_id: p.actor,
        method: p.method.map(|m| m.to_ascii_uppercase()),
        outcome,
        since: p.since,
        until: p.until,
        after: p.after.as_deref().map(position).transpose()?,
        limit,
    })
}

/// A page of entries for `q` (the admin API's and the console's listing).
pub(crate) async fn entries(conn: &mut Conn, q: &AuditQuery) -> ScimResult<AuditPage> {
    let rows = store::list(conn, q).await?;
    let next = (rows.len() as i64 == q.limit).then(|| rows.last().map(|r| next_cursor(r.at, r.id))).flatten();
    Ok(AuditPage { entries: rows.into_iter().map(AuditView::from).collect(), next })
}

async fn page(state: &AppState, q: AuditQuery) -> ScimResult<HttpResponse> {
    let rows = match q.scope {
        Scope::Tenant(id) => db::Scope::Tenant(id),
        Scope::All | Scope::NoTenant => db::Scope::All,
    };
    let mut conn = db::checkout(&state.pool, rows).await?;
    Ok(HttpResponse::Ok().json(entries(&mut conn, &q).await?))
}

/// GET .../tenants/{tenant}/audit?actor_kind=&actor=&method=&outcome=&since=&until=&limit=&after=
/// — the tenant's audit trail, newest first.
pub async fn list(
    scope: TenantScope,
    query_params: web::Query<Params>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let p = query_params.into_inner();
    if p.tenant.is_some() {
        return Err(ScimError::invalid_value(
            "tenant: the tenant is the one in the path; omit this parameter",
        ));
    }
    page(&state, query(Scope::Tenant(scope.id()), p)?).await
}

/// GET /admin/v1/audit?tenant=<slug>|none&... — every tenant's trail and the operator's actions
/// on no tenant, newest first (operator only).
pub async fn list_all(
    _: Operator,
    query_params: web::Query<Params>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut p = query_params.into_inner();
    let scope = match p.tenant.take().as_deref() {
        None => Scope::All,
        Some("none") => Scope::NoTenant,
        Some(slug) => {
            let mut conn = db::checkout(&state.pool, db::Scope::All).await?;
            Scope::Tenant(super::tenant(&mut conn, slug).await?.id)
        }
    };
    page(&state, query(scope, p)?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_recorded_and_writes_are() {
        for m in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(!is_write(&m), "{m}");
        }
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_write(&m), "{m}");
        }
    }

    #[test]
    fn a_refusal_summary_names_the_status_and_bounds_the_detail() {
        let e = ScimError::invalid_value("x".repeat(3000));
        let s = error_summary(400, Some(&e));
        assert!(s.starts_with("refused (400 invalidValue): xxx"), "{s}");
        assert!(s.chars().count() < 250, "{}", s.len());
        assert_eq!(error_summary(401, None), "refused (401)");
    }
}
