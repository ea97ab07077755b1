//! A tenant's webhook endpoints (event receivers). Secrets are stored sealed
//! (`secret_sealed`, see `events::keys`); the clear `secret` column only holds rows written
//! before sealing existed, until a Roster start seals them ([`clear_secrets`], [`seal`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::webhooks;
use super::Conn;

/// A webhook as listed (no secret).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    /// Webhook id.
    pub id: Uuid,
    /// Where events are POSTed.
    pub url: String,
    /// Whether new events are delivered to it.
    pub active: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// `webhook` (signed JSON) or `set` (Security Event Tokens).
    pub format: String,
    /// The SET audience when configured.
    pub audience: Option<String>,
    /// Failed attempts in a row, across its deliveries (0 after any success).
    pub consecutive_failures: i32,
    /// While in the future: the circuit is open, nothing is sent to it until then.
    pub paused_until: Option<DateTime<Utc>>,
    /// The last failure's reason.
    pub last_error: Option<String>,
    /// The last acknowledged delivery.
    pub last_success_at: Option<DateTime<Utc>>,
}

/// A receiver's circuit as an operator reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    /// Deliveries go out normally.
    Healthy,
    /// Recent attempts failed; deliveries still go out, each with its backoff.
    Failing,
    /// Paused: nothing is sent until the pause ends, then one delivery probes it.
    Open,
}

impl WebhookRow {
    /// The receiver's circuit at `now`.
    pub fn circuit(&self, now: DateTime<Utc>) -> Circuit {
        match (self.paused_until, self.consecutive_failures) {
            (Some(until), _) if until > now => Circuit::Open,
            (_, 0) => Circuit::Healthy,
            _ => Circuit::Failing,
        }
    }
}

impl Circuit {
    /// `healthy`, `failing`, `paused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Circuit::Healthy => "healthy",
            Circuit::Failing => "failing",
            Circuit::Open => "paused",
        }
    }
}

/// A webhook about to be added.
#[derive(Clone)]
pub struct NewWebhook<'a> {
    /// Its id.
    pub id: Uuid,
    /// Where events are POSTed.
    pub url: &'a str,
    /// `webhook` or `set`.
    pub format: &'a str,
    /// SET audience (None: the URL).
    pub audience: Option<&'a str>,
    /// The sealed signing secret (None for SET receivers).
    pub secret_sealed: Option<Vec<u8>>,
}

/// Add an active webhook.
pub async fn insert(
    conn: &mut Conn,
    tenant_id: Uuid,
    hook: &NewWebhook<'_>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::tenant_id.eq(tenant_id),
            webhooks::id.eq(hook.id),
            webhooks::url.eq(hook.url),
            webhooks::format.eq(hook.format),
            webhooks::audience.eq(hook.audience),
            webhooks::secret_sealed.eq(hook.secret_sealed.as_deref()),
            webhooks::active.eq(true),
            webhooks::created_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The tenant's webhooks, oldest first.
pub async fn list(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table
        .filter(webhooks::tenant_id.eq(tenant_id))
        .order((webhooks::created_at, webhooks::id))
        .select(WebhookRow::as_select())
        .load(conn)
        .await
}

/// Delete a webhook and its pending deliveries. Returns false if it did not exist.
pub async fn delete(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    let n =
        diesel::delete(webhooks::table.filter(webhooks::tenant_id.eq(tenant_id).and(webhooks::id.eq(id))))
            .execute(conn)
            .await?;
    Ok(n == 1)
}

/// Webhooks whose secret is still stored in clear: (tenant, id, secret).
pub async fn clear_secrets(conn: &mut Conn) -> QueryResult<Vec<(Uuid, Uuid, String)>> {
    let rows: Vec<(Uuid, Uuid, Option<String>)> = webhooks::table
        .filter(webhooks::secret.is_not_null())
        .select((webhooks::tenant_id, webhooks::id, webhooks::secret))
        .load(conn)
        .await?;
    Ok(rows.into_iter().filter_map(|(t, id, s)| Some((t, id, s?))).collect())
}

/// Store a webhook's sealed secret and erase the clear one.
pub async fn seal(conn: &mut Conn, tenant_id: Uuid, id: Uuid, sealed: &[u8]) -> QueryResult<()> {
    diesel::update(webhooks::table.filter(webhooks::tenant_id.eq(tenant_id).and(webhooks::id.eq(id))))
        .set((webhooks::secret_sealed.eq(sealed), webhooks::secret.eq(None::<String>)))
        .execute(conn)
        .await
        .map(drop)
}

/// One webhook, if the tenant has it.
pub async fn find(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<WebhookRow>> {
    webhooks::table
        .filter(webhooks::tenant_id.eq(tenant_id).and(webhooks::id.eq(id)))
        .select(WebhookRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// A receiver's delivery state: what is waiting, what keeps failing and why, what it refused.
#[derive(Debug, Clone, QueryableByName)]
pub struct DeliveryState {
    /// The webhook.
    #[diesel(sql_type = SqlUuid)]
    pub webhook_id: Uuid,
    /// Deliveries not yet settled.
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    /// Of those, the ones that have failed at least once.
    #[diesel(sql_type = BigInt)]
    pub failing: i64,
    /// The latest error of a failing delivery.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    /// When the next retry of a failing delivery is due (the earliest).
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Deliveries the receiver refused for good (RFC 8935 §2.3).
    #[diesel(sql_type = BigInt)]
    pub rejected: i64,
    /// The receiver's reason for its latest refusal.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_rejection: Option<String>,
}

/// The delivery state of the tenant's webhooks (of `only` when given). Reads only unsettled and
/// rejected deliveries, through their partial indexes, never the delivered history.
pub async fn delivery_states(
    conn: &mut Conn,
    tenant_id: Uuid,
    only: Option<Uuid>,
) -> QueryResult<Vec<DeliveryState>> {
    diesel::sql_query(
        "SELECT w.id AS webhook_id, p.pending, p.failing, p.next_attempt_at, \
                (SELECT d.last_error FROM event_deliveries d \
                 WHERE d.tenant_id = w.tenant_id AND d.webhook_id = w.id AND d.delivered_at IS NULL \
                   AND d.attempts > 0 ORDER BY d.event_id DESC LIMIT 1) AS last_error, \
                r.rejected, \
                (SELECT d.last_error FROM event_deliveries d \
                 WHERE d.tenant_id = w.tenant_id AND d.webhook_id = w.id AND d.rejected \
                 ORDER BY d.event_id DESC LIMIT 1) AS last_rejection \
         FROM webhooks w \
         CROSS JOIN LATERAL (SELECT count(*) AS pending, count(*) FILTER (WHERE d.attempts > 0) AS failing, \
                                    min(d.next_attempt_at) FILTER (WHERE d.attempts > 0) AS next_attempt_at \
                             FROM event_deliveries d \
                             WHERE d.tenant_id = w.tenant_id AND d.webhook_id = w.id \
                               AND d.delivered_at IS NULL) p \
         CROSS JOIN LATERAL (SELECT count(*) AS rejected FROM event_deliveries d \
                             WHERE d.tenant_id = w.tenant_id AND d.webhook_id = w.id AND d.rejected) r \
         WHERE w.tenant_id = $1 AND ($2::uuid IS NULL OR w.id = $2) \
         ORDER BY w.created_at, w.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Nullable<SqlUuid>, _>(only)
    .load(conn)
    .await
}

/// One delivery of an event to a webhook, as the admin API lists it.
#[derive(Debug, Clone, QueryableByName)]
pub struct DeliveryRow {
    /// The event (outbox id).
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    /// Its kind.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// The member or group it is about.
    #[diesel(sql_type = SqlUuid)]
    pub subject_id: Uuid,
    /// When the change was made.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// Attempts so far.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// When the next attempt is due (unsettled deliveries).
    #[diesel(sql_type = Timestamptz)]
    pub next_attempt_at: DateTime<Utc>,
    /// When it was settled (delivered or rejected).
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The receiver refused it for good.
    #[diesel(sql_type = Bool)]
    pub rejected: bool,
    /// The last failure or the refusal's reason.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFilter {
    /// Not yet settled.
    Pending,
    /// Not yet settled and failed at least once.
    Failing,
    /// Refused for good.
    Rejected,
    /// Acknowledged.
    Delivered,
}

/// A webhook's deliveries, newest event first, before event `before` (keyset), at most `limit`.
pub async fn deliveries(
    conn: &mut Conn,
    tenant_id: Uuid,
    webhook_id: Uuid,
    filter: Option<DeliveryFilter>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    let condition = match filter {
        None => "TRUE",
        Some(DeliveryFilter::Pending) => "d.delivered_at IS NULL",
        Some(DeliveryFilter::Failing) => "d.delivered_at IS NULL AND d.attempts > 0",
        Some(DeliveryFilter::Rejected) => "d.rejected",
        Some(DeliveryFilter::Delivered) => "d.delivered_at IS NOT NULL AND NOT d.rejected",
    };
    diesel::sql_query(format!(
        "SELECT d.event_id, e.kind, d.subject_id, e.created_at, d.attempts, d.next_attempt_at, \
                d.delivered_at, d.rejected, d.last_error \
         FROM event_deliveries d JOIN event_outbox e ON e.tenant_id = d.tenant_id AND e.id = d.event_id \
         WHERE d.tenant_id = $1 AND d.webhook_id = $2 AND ($3::bigint IS NULL OR d.event_id < $3) \
           AND {condition} \
         ORDER BY d.event_id DESC LIMIT $4"
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(webhook_id)
    .bind::<Nullable<BigInt>, _>(before)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Queue a `webhook.test` event for one webhook only (not fanned out to the tenant's others),
/// due now, and wake the dispatchers at commit. Returns the event id.
pub async fn insert_test_event(
    conn: &mut Conn,
    tenant_id: Uuid,
    webhook_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = BigInt)]
        event_id: i64,
    }
    let payload = serde_json::json!({"webhook_id": webhook_id, "test": true});
    let inserted: Inserted = diesel::sql_query(
        "WITH e AS (INSERT INTO event_outbox (tenant_id, subject_id, kind, payload, created_at) \
                    VALUES ($1, $2, 'webhook.test', $3, $4) RETURNING id) \
         INSERT INTO event_deliveries (tenant_id, webhook_id, event_id, subject_id, next_attempt_at) \
         SELECT $1, $2, e.id, $2, $4 FROM e RETURNING event_id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(webhook_id)
    .bind::<diesel::sql_types::Jsonb, _>(payload)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    diesel::sql_query(format!("SELECT pg_notify('{}', '')", super::events::NOTIFY_CHANNEL))
        .execute(conn)
        .await?;
    Ok(inserted.event_id)
}
