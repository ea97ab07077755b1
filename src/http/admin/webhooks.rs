//! `/admin/v1/tenants/{tenant}/webhooks`: a tenant's event receivers (signed JSON webhooks or
//! Security Event Tokens), their delivery state and deliveries, and a test event. Receivers are
//! added through the same [`receivers::add`] as `roster webhook add` (URL rules, egress control,
//! sealed secret). A secret is returned once, when Roster generated it; never afterwards, and a
//! URL is always shown without credentials.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::audit::{noted, AuditNote};
use super::{body, cursor, page_limit, path_id, TenantScope};
use crate::db::webhooks::{self as store, DeliveryFilter, DeliveryRow, DeliveryState, WebhookRow};
use crate::db::Conn;
use crate::error::{ScimError, ScimResult};
use crate::events::egress::display_url;
use crate::events::keys::EventKeys;
use crate::events::receivers::{self, AddError, AddReceiver, Format};
use crate::http::AppState;

/// A receiver's delivery state.
#[derive(Debug, Serialize)]
pub struct DeliveryStateView {
    /// `ok` (nothing waiting), `pending` (waiting, no failure yet) or `failing`.
    pub state: &'static str,
    /// Deliveries not yet settled.
    pub pending: i64,
    /// Of those, the ones that failed at least once.
    pub failing: i64,
    /// The latest error of a failing delivery.
    pub last_error: Option<String>,
    /// The earliest retry due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Deliveries the receiver refused for good.
    pub rejected: i64,
    /// Its reason for the latest refusal.
    pub last_rejection: Option<String>,
}

impl From<DeliveryState> for DeliveryStateView {
    fn from(s: DeliveryState) -> Self {
        let state = match (s.failing, s.pending) {
            (f, _) if f > 0 => "failing",
            (_, p) if p > 0 => "pending",
            _ => "ok",
        };
        DeliveryStateView {
            state,
            pending: s.pending,
            failing: s.failing,
            last_error: s.last_error,
            next_attempt_at: s.next_attempt_at,
            rejected: s.rejected,
            last_rejection: s.last_rejection,
        }
    }
}

/// A receiver as listed: never its secret, its URL without credentials. No `Debug`: the answer
/// to the POST that adds it holds the generated secret.
#[derive(Serialize)]
pub struct WebhookView {
    /// Receiver id.
    pub id: Uuid,
    /// Where events go (credentials removed).
    pub url: String,
    /// `webhook` or `set`.
    pub format: String,
    /// SET audience, when configured.
    pub audience: Option<String>,
    /// Whether events are delivered to it.
    pub active: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// Its delivery state.
    pub delivery: Option<DeliveryStateView>,
    /// Its circuit: `healthy`, `failing` or `paused` (see README "Isolated receivers").
    pub circuit: CircuitView,
    /// The HMAC secret Roster generated: in the answer to the POST that added it, only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A receiver's circuit.
#[derive(Debug, Serialize)]
pub struct CircuitView {
    /// `healthy`, `failing` or `paused`.
    pub state: &'static str,
    /// Dispatch rounds in a row in which every attempt failed.
    pub consecutive_failures: i32,
    /// While paused: nothing is sent before this time.
    pub paused_until: Option<DateTime<Utc>>,
    /// The last failure's reason.
    pub last_error: Option<String>,
    /// The last acknowledged delivery.
    pub last_success_at: Option<DateTime<Utc>>,
}

fn view(w: WebhookRow, state: Option<DeliveryState>, now: DateTime<Utc>) -> WebhookView {
    let circuit = CircuitView {
        state: w.circuit(now).as_str(),
        consecutive_failures: w.consecutive_failures,
        paused_until: w.paused_until,
        last_error: w.last_error.clone(),
        last_success_at: w.last_success_at,
    };
    WebhookView {
        circuit,
        id: w.id,
        url: display_url(&w.url),
        format: w.format,
        audience: w.audience,
        active: w.active,
        created_at: w.created_at,
        delivery: state.map(DeliveryStateView::from),
        secret: None,
    }
}

/// The listing.
#[derive(Serialize)]
pub struct WebhooksView {
    /// Oldest first.
    pub webhooks: Vec<WebhookView>,
}

/// One of the tenant's webhooks, or 404.
async fn webhook(conn: &mut Conn, tenant: Uuid, id: Uuid) -> ScimResult<WebhookRow> {
    store::find(conn, tenant, id)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("no webhook {id} in this tenant")))
}

/// The tenant's receivers with their delivery state (the admin API's and the console's listing).
pub(crate) async fn receivers_of(
    conn: &mut Conn,
    tenant: Uuid,
    now: DateTime<Utc>,
) -> ScimResult<Vec<WebhookView>> {
    let hooks = store::list(conn, tenant).await?;
    let mut states = store::delivery_states(conn, tenant, None).await?;
    Ok(hooks
        .into_iter()
        .map(|w| {
            let found = states.iter().position(|s| s.webhook_id == w.id).map(|i| states.swap_remove(i));
            view(w, found, now)
        })
        .collect())
}

/// GET .../webhooks — every receiver with its delivery state.
pub async fn list(scope: TenantScope, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    let mut conn = scope.conn(&state).await?;
    Ok(HttpResponse::Ok()
        .json(WebhooksView { webhooks: receivers_of(&mut conn, scope.id(), state.clock.now()).await? }))
}

/// A receiver's delivery format, as requests name it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum FormatName {
    /// Signed JSON.
    Webhook,
    /// Security Event Tokens.
    Set,
}

/// A receiver to add (the admin API's body, the console's form).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where events go.
    pub url: String,
    /// `webhook` (default) or `set`.
    pub format: Option<FormatName>,
    /// SET audience.
    pub audience: Option<String>,
    /// HMAC secret (generated when absent).
    pub secret: Option<String>,
}

/// Add a receiver to `tenant` with the CLI's rules; the view carries the secret when Roster
/// generated it (the only time it is ever shown).
pub(crate) async fn add_receiver(
    conn: &mut Conn,
    state: &AppState,
    tenant: Uuid,
    new: NewWebhook,
) -> ScimResult<WebhookView> {
    let format = match new.format {
        None | Some(FormatName::Webhook) => Format::Webhook,
        Some(FormatName::Set) => Format::Set,
    };
    let generated = new.secret.is_none();
    let receiver = AddReceiver { url: new.url, format, audience: new.audience, secret: new.secret };
    let keys = EventKeys::derive(&state.signing_key);
    let added = receivers::add(conn, &keys, tenant, receiver, state.webhook_egress, state.clock.now())
        .await
        .map_err(|e| match e {
            AddError::Invalid(detail) => ScimError::invalid_value(detail),
            AddError::Db(e) => ScimError::from(e),
        })?;
    let mut out = view(webhook(conn, tenant, added.id).await?, None, state.clock.now());
    out.secret = added.secret.filter(|_| generated);
    Ok(out)
}

/// Remove a receiver and its pending deliveries (404 when the tenant has none with that id).
pub(crate) async fn remove_receiver(conn: &mut Conn, tenant: Uuid, id: Uuid) -> ScimResult<()> {
    if store::delete(conn, tenant, id).await? {
        Ok(())
    } else {
        Err(ScimError::not_found(format!("no webhook {id} in this tenant")))
    }
}

/// Queue a `webhook.test` event for receiver `id` alone; returns the event id.
pub(crate) async fn send_test(conn: &mut Conn, state: &AppState, tenant: Uuid, id: Uuid) -> ScimResult<i64> {
    webhook(conn, tenant, id).await?;
    Ok(store::insert_test_event(conn, tenant, id, state.clock.now()).await?)
}

/// POST .../webhooks `{"url", "format"?: "webhook" | "set", "audience"?, "secret"?}` → 201 with
/// the receiver and, when Roster generated it, its secret (this once). A receiver on a private
/// network is 400 unless `ROSTER_WEBHOOK_ALLOW_PRIVATE=1`.
pub async fn add(
    scope: TenantScope,
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let new: NewWebhook = body(&req, &bytes)?;
    let mut conn = scope.conn(&state).await?;
    let out = add_receiver(&mut conn, &state, scope.id(), new).await?;
    let note = AuditNote {
        targets: vec![("webhook", out.id.to_string())],
        summary: format!("added {} receiver {}", out.format, crate::text::truncate(&out.url, 200)),
    };
    Ok(noted(HttpResponse::Created().json(out), note))
}

/// DELETE .../webhooks/{webhook} → 204; its pending deliveries are dropped.
pub async fn remove(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let id = path_id("webhook", &path.1)?;
    let mut conn = scope.conn(&state).await?;
    remove_receiver(&mut conn, scope.id(), id).await?;
    let note = AuditNote { targets: Vec::new(), summary: "removed webhook receiver".into() };
    Ok(noted(HttpResponse::NoContent().finish(), note))
}

/// One delivery as listed.
#[derive(Debug, Serialize)]
pub struct DeliveryView {
    /// The event id.
    pub event_id: String,
    /// Its kind.
    pub kind: String,
    /// What it is about.
    pub subject_id: Uuid,
    /// When the change was made.
    pub occurred_at: DateTime<Utc>,
    /// `pending`, `failing`, `delivered` or `rejected`.
    pub state: &'static str,
    /// Attempts so far.
    pub attempts: i32,
    /// When the next attempt is due (unsettled only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was settled.
    pub settled_at: Option<DateTime<Utc>>,
    /// The last failure, or the receiver's reason for refusing it.
    pub last_error: Option<String>,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(d: DeliveryRow) -> Self {
        let state = match (d.delivered_at, d.rejected, d.attempts) {
            (Some(_), true, _) => "rejected",
            (Some(_), false, _) => "delivered",
            (None, _, 0) => "pending",
            (None, _, _) => "failing",
        };
        DeliveryView {
            event_id: d.event_id.to_string(),
            kind: d.kind,
            subject_id: d.subject_id,
            occurred_at: d.created_at,
            state,
            attempts: d.attempts,
            next_attempt_at: d.delivered_at.is_none().then_some(d.next_attempt_at),
            settled_at: d.delivered_at,
            last_error: d.last_error,
        }
    }
}

/// A page of deliveries.
#[derive(Debug, Serialize)]
pub struct DeliveriesPage {
    /// The receiver's state.
    pub delivery: Option<DeliveryStateView>,
    /// Newest event first.
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `before` for the next page (null: no more).
    pub next: Option<String>,
}

/// Query of the deliveries listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// pending | failing | rejected | delivered.
    pub state: Option<String>,
    /// Page size (default 50, 1 to 1000).
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub before: Option<String>,
}

/// GET .../webhooks/{webhook}/deliveries?state=&limit=&before= — newest event first.
pub async fn deliveries(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    query: web::Query<DeliveryParams>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let id = path_id("webhook", &path.1)?;
    let p = query.into_inner();
    let filter = match p.state.as_deref() {
        None => None,
        Some("pending") => Some(DeliveryFilter::Pending),
        Some("failing") => Some(DeliveryFilter::Failing),
        Some("rejected") => Some(DeliveryFilter::Rejected),
        Some("delivered") => Some(DeliveryFilter::Delivered),
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "state must be pending, failing, rejected or delivered, not {}",
                crate::text::quote(other)
            )))
        }
    };
    let limit = page_limit(p.limit, 50, 1000)?;
    let before = cursor("before", p.before.as_deref(), |b| b.parse::<i64>().ok())?;
    let mut conn = scope.conn(&state).await?;
    webhook(&mut conn, scope.id(), id).await?;
    let rows = store::deliveries(&mut conn, scope.id(), id, filter, before, limit).await?;
    let next = (rows.len() as i64 == limit).then(|| rows.last().map(|d| d.event_id.to_string())).flatten();
    let delivery =
        store::delivery_states(&mut conn, scope.id(), Some(id)).await?.pop().map(DeliveryStateView::from);
    Ok(HttpResponse::Ok().json(DeliveriesPage {
        delivery,
        deliveries: rows.into_iter().map(DeliveryView::from).collect(),
        next,
    }))
}

/// The answer to a test event.
#[derive(Debug, Serialize)]
pub struct TestEventView {
    /// The queued event's id (see `.../deliveries`).
    pub event_id: String,
    /// Its kind, `webhook.test`.
    pub kind: &'static str,
}

/// POST .../webhooks/{webhook}/test → 202: a `webhook.test` event queued for this receiver only,
/// delivered (signed, retried) like any event.
pub async fn test(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let id = path_id("webhook", &path.1)?;
    let mut conn = scope.conn(&state).await?;
    let event = send_test(&mut conn, &state, scope.id(), id).await?;
    let note = AuditNote { targets: vec![("event", event.to_string())], summary: "sent a test event".into() };
    Ok(noted(
        HttpResponse::Accepted().json(TestEventView { event_id: event.to_string(), kind: "webhook.test" }),
        note,
    ))
}
