//! The event outbox: events written in the directory's own transactions, fanned out to one
//! delivery row per active webhook of the tenant, and claimed by dispatchers with
//! `FOR UPDATE SKIP LOCKED` so several Roster processes share the work without double sends.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Bytea, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::Conn;
use crate::events::NewEvent;

/// The first key of the advisory locks that order events per subject ("RSEV"; spelled out as
/// 1381188950 in `roster_events_insert`).
pub const SUBJECT_LOCK_CLASS: i32 = 0x5253_4556;

/// Subjects share this many lock buckets (a power of two). A subject always maps to the same
/// bucket, which is all ordering needs; bounding the buckets bounds the locks one transaction
/// holds, so an import of 10,000 members cannot exhaust PostgreSQL's shared lock table
/// (`max_locks_per_transaction`), at the price of rare waits between unrelated writers.
pub const SUBJECT_LOCK_BUCKETS: i32 = 256;

/// The PostgreSQL channel notified (at commit) by every transaction that wrote events; the
/// dispatchers of every Roster process `LISTEN` on it to deliver at once instead of at their
/// next poll.
pub const NOTIFY_CHANNEL: &str = "roster_events";

diesel::define_sql_function! {
    /// `roster_events_logged` (migration 000028): [`insert`] after the request's log row.
    fn roster_events_logged(
        tenant: SqlUuid,
        subjects: Array<SqlUuid>,
        kinds: Array<Text>,
        payloads: Array<Jsonb>,
        now: Timestamptz,
        log: Nullable<Jsonb>,
    ) -> Integer;
}

diesel::define_sql_function! {
    /// `roster_events_insert` (migration 000014): [`insert`]'s statements in one call.
    fn roster_events_insert(
        tenant: SqlUuid,
        subjects: Array<SqlUuid>,
        kinds: Array<Text>,
        payloads: Array<Jsonb>,
        now: Timestamptz,
    ) -> Integer;
}

/// The parallel arrays `roster_events_insert` and `roster_member_written` take.
pub fn columns(events: &[NewEvent]) -> (Vec<Uuid>, Vec<&'static str>, Vec<&Value>) {
    (
        events.iter().map(|e| e.subject).collect(),
        events.iter().map(|e| e.kind.as_str()).collect(),
        events.iter().map(|e| &e.payload).collect(),
    )
}

/// Write events (in the caller's transaction) and a pending delivery for each of the tenant's
/// active webhooks, in one prepared call of `roster_events_insert`. Before drawing ids, it takes a
/// transaction-level advisory lock per subject's bucket ([`SUBJECT_LOCK_CLASS`],
/// [`SUBJECT_LOCK_BUCKETS`] buckets, in key order, so writers cannot deadlock on them): a later
/// transaction about the same subject waits for this one to commit, so per subject, id order is
/// commit order and a dispatcher never sees event N+1 committed while event N is still
/// invisible. When the events created deliveries (the tenant has an active receiver), it
/// also queues a notification on [`NOTIFY_CHANNEL`], which PostgreSQL delivers to
/// listeners only if and when the transaction commits.
pub async fn insert(
    conn: &mut Conn,
    tenant_id: Uuid,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let (subjects, kinds, payloads) = columns(events);
    diesel::select(roster_events_insert(tenant_id, subjects, kinds, payloads, now))
        .get_result::<i32>(conn)
        .await
        .map(drop)
}

/// [`insert`], with the request's provisioning-log row (a [`super::provisioning_log::Entry`] as
/// JSON) inserted by the same statement when there is one.
pub async fn insert_logged(
    conn: &mut Conn,
    tenant_id: Uuid,
    events: &[NewEvent],
    now: DateTime<Utc>,
    log: Option<Value>,
) -> QueryResult<()> {
    if log.is_none() {
        return insert(conn, tenant_id, events, now).await;
    }
    let (subjects, kinds, payloads) = columns(events);
    diesel::select(roster_events_logged(tenant_id, subjects, kinds, payloads, now, log))
        .get_result::<i32>(conn)
        .await
        .map(drop)
}

/// A stored event, as listed for a tenant.
#[derive(Debug, Clone, QueryableByName)]
pub struct EventRow {
    /// Outbox id (increasing).
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// The member or group it is about.
    #[diesel(sql_type = SqlUuid)]
    pub subject_id: Uuid,
    /// `member.created`, ...
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// Ids and changed facts.
    #[diesel(sql_type = Jsonb)]
    pub payload: Value,
    /// When the change was made.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// A tenant's events in id order.
pub async fn list(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<EventRow>> {
    diesel::sql_query(
        "SELECT id, subject_id, kind, payload, created_at FROM event_outbox WHERE tenant_id = $1 ORDER BY id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)
    .await
}

/// A pending delivery claimed by a dispatcher, with what it needs to send it. Its `Debug` leaves
/// the secret out.
#[derive(Clone, QueryableByName)]
pub struct DueDelivery {
    /// Tenant.
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    /// The webhook it goes to.
    #[diesel(sql_type = SqlUuid)]
    pub webhook_id: Uuid,
    /// The event.
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    /// The event's subject.
    #[diesel(sql_type = SqlUuid)]
    pub subject_id: Uuid,
    /// Failed attempts so far.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// Event kind.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// Event payload.
    #[diesel(sql_type = Jsonb)]
    pub payload: Value,
    /// When the change was made.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// Webhook URL.
    #[diesel(sql_type = Text)]
    pub url: String,
    /// `webhook` (signed JSON) or `set` (Security Event Token).
    #[diesel(sql_type = Text)]
    pub format: String,
    /// The SET audience, when configured (else the URL).
    #[diesel(sql_type = Nullable<Text>)]
    pub audience: Option<String>,
    /// The signing secret in clear: only on rows written before secrets were sealed and not yet
    /// sealed by a start of Roster.
    #[diesel(sql_type = Nullable<Text>)]
    pub secret: Option<String>,
    /// The sealed signing secret (see `events::keys`).
    #[diesel(sql_type = Nullable<Bytea>)]
    pub secret_sealed: Option<Vec<u8>>,
}

impl std::fmt::Debug for DueDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DueDelivery")
            .field("tenant_id", &self.tenant_id)
            .field("webhook_id", &self.webhook_id)
            .field("event_id", &self.event_id)
            .field("subject_id", &self.subject_id)
            .field("attempts", &self.attempts)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The receivers (tenant, webhook) that have deliveries due at `now`, at most `limit`, the most
/// overdue first; a receiver whose circuit is open (paused) is left out until its pause ends. Each is then served on its own ([`claim_due`]), so one that hangs delays only
/// its own deliveries.
pub async fn due_receivers(
    conn: &mut Conn,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<(Uuid, Uuid)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        tenant_id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        webhook_id: Uuid,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT d.tenant_id, d.webhook_id FROM event_deliveries d \
         JOIN webhooks w ON w.tenant_id = d.tenant_id AND w.id = d.webhook_id \
         WHERE d.delivered_at IS NULL AND d.next_attempt_at <= $1 AND w.active \
           AND (w.paused_until IS NULL OR w.paused_until <= $1) \
         GROUP BY d.tenant_id, d.webhook_id ORDER BY min(d.next_attempt_at) LIMIT $2",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.tenant_id, r.webhook_id)).collect())
}

/// Claim up to `limit` deliveries of one receiver that are due at `now`: not yet delivered, not
/// locked by another dispatcher, and not waiting behind an earlier undelivered event about the
/// same subject (per-subject order). The rows stay locked until the caller's transaction ends.
pub async fn claim_due(
    conn: &mut Conn,
    now: DateTime<Utc>,
    receiver: (Uuid, Uuid),
    limit: i64,
) -> QueryResult<Vec<DueDelivery>> {
    diesel::sql_query(
        "SELECT d.tenant_id, d.webhook_id, d.event_id, d.subject_id, d.attempts, \
                e.kind, e.payload, e.created_at, w.url, w.format, w.audience, w.secret, w.secret_sealed \
         FROM event_deliveries d \
         JOIN event_outbox e ON e.tenant_id = d.tenant_id AND e.id = d.event_id \
         JOIN webhooks w ON w.tenant_id = d.tenant_id AND w.id = d.webhook_id \
         WHERE d.tenant_id = $3 AND d.webhook_id = $4 \
           AND d.delivered_at IS NULL AND d.next_attempt_at <= $1 AND w.active \
           AND NOT EXISTS (SELECT 1 FROM event_deliveries p \
                           WHERE p.tenant_id = d.tenant_id AND p.webhook_id = d.webhook_id \
                             AND p.subject_id = d.subject_id AND p.event_id < d.event_id \
                             AND p.delivered_at IS NULL) \
         ORDER BY d.event_id \
         LIMIT $2 \
         FOR UPDATE OF d SKIP LOCKED",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(limit)
    .bind::<SqlUuid, _>(receiver.0)
    .bind::<SqlUuid, _>(receiver.1)
    .load(conn)
    .await
}

/// Dispatch rounds in a row in which a receiver failed every attempt; at
/// [`CIRCUIT_THRESHOLD`] its circuit opens.
pub async fn circuit_failures(conn: &mut Conn, receiver: (Uuid, Uuid)) -> QueryResult<i32> {
    use super::schema::webhooks;
    use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
    webhooks::table
        .filter(webhooks::tenant_id.eq(receiver.0).and(webhooks::id.eq(receiver.1)))
        .select(webhooks::consecutive_failures)
        .first(conn)
        .await
        .optional()
        .map(Option::unwrap_or_default)
}

/// Failed rounds in a row after which a receiver is paused (its circuit opens).
pub const CIRCUIT_THRESHOLD: i32 = 5;

/// Record a dispatch round of one receiver in its circuit: any answer (`alive`) closes it;
/// a round in which every attempt failed counts, and from [`CIRCUIT_THRESHOLD`] rounds on
/// pauses the receiver for 30 s, 1 min, 2 min, 4 min, then 5 minutes each time. Returns the pause, if one
/// began.
pub async fn record_round(
    conn: &mut Conn,
    receiver: (Uuid, Uuid),
    now: DateTime<Utc>,
    alive: bool,
    error: Option<&str>,
) -> QueryResult<Option<DateTime<Utc>>> {
    #[derive(QueryableByName)]
    struct Paused {
        #[diesel(sql_type = Nullable<Timestamptz>)]
        paused_until: Option<DateTime<Utc>>,
    }
    let row: Option<Paused> = diesel::sql_query(
        "UPDATE webhooks SET \
             consecutive_failures = CASE WHEN $4 THEN 0 ELSE consecutive_failures + 1 END, \
             last_success_at = CASE WHEN $4 THEN $3 ELSE last_success_at END, \
             last_error = CASE WHEN $4 THEN last_error ELSE left($5, 500) END, \
             paused_until = CASE \
                 WHEN $4 THEN NULL \
                 WHEN consecutive_failures + 1 >= $6 THEN $3 + make_interval(secs => \
                     least(300, 30 * power(2, least(4, consecutive_failures + 1 - $6)))) \
                 ELSE paused_until END \
         WHERE tenant_id = $1 AND id = $2 \
         RETURNING paused_until",
    )
    .bind::<SqlUuid, _>(receiver.0)
    .bind::<SqlUuid, _>(receiver.1)
    .bind::<Timestamptz, _>(now)
    .bind::<Bool, _>(alive)
    .bind::<Nullable<Text>, _>(error)
    .bind::<diesel::sql_types::Integer, _>(CIRCUIT_THRESHOLD)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.and_then(|r| r.paused_until))
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt<'a> {
    /// Acknowledged at this time.
    Delivered(DateTime<Utc>),
    /// Refused for good at this time (RFC 8935 §2.3), with the receiver's reason: settled, marked
    /// `rejected`, never retried; later events about the subject go on.
    Rejected(DateTime<Utc>, &'a str),
    /// Failed: try again at this time.
    Failed(DateTime<Utc>, &'a str),
}

/// Record the outcome of one attempt.
pub async fn record_attempt(conn: &mut Conn, d: &DueDelivery, attempt: Attempt<'_>) -> QueryResult<()> {
    let (delivered_at, next_attempt_at, error, rejected) = match attempt {
        Attempt::Delivered(at) => (Some(at), at, None, false),
        Attempt::Rejected(at, why) => (Some(at), at, Some(why), true),
        Attempt::Failed(next, why) => (None, next, Some(why), false),
    };
    diesel::sql_query(
        "UPDATE event_deliveries SET attempts = attempts + 1, delivered_at = $4, \
                next_attempt_at = $5, last_error = left($6, 500), rejected = $7 \
         WHERE tenant_id = $1 AND webhook_id = $2 AND event_id = $3",
    )
    .bind::<SqlUuid, _>(d.tenant_id)
    .bind::<SqlUuid, _>(d.webhook_id)
    .bind::<BigInt, _>(d.event_id)
    .bind::<Nullable<Timestamptz>, _>(delivered_at)
    .bind::<Timestamptz, _>(next_attempt_at)
    .bind::<Nullable<Text>, _>(error)
    .bind::<Bool, _>(rejected)
    .execute(conn)
    .await
    .map(drop)
}

/// [`delete_settled_before`]'s statement: the events gathered first, oldest first, into one array
/// of row addresses (an init-plan, run once), then deleted by address, so that a batch costs its
/// rows whatever the statistics say (as `e.id IN (SELECT … LIMIT $3)` the planner could re-run the
/// sub-select for every event of the tenant; see `provisioning_log::DELETE_BATCH_BEFORE`). Events
/// are never updated, and the statement's snapshot keeps a row it saw from being vacuumed away.
pub const DELETE_SETTLED_BEFORE: &str = "DELETE FROM event_outbox WHERE ctid = ANY (ARRAY( \
     SELECT o.ctid FROM event_outbox o \
     WHERE o.tenant_id = $1 AND o.created_at < $2 \
       AND NOT EXISTS (SELECT 1 FROM event_deliveries d \
                       WHERE d.tenant_id = o.tenant_id AND d.event_id = o.id AND d.delivered_at IS NULL) \
     ORDER BY o.created_at LIMIT $3))";

/// Retention: delete up to `batch` events of a tenant written before `cutoff` that no webhook
/// still waits for (their delivery rows go with them). Returns how many were deleted.
pub async fn delete_settled_before(
    conn: &mut Conn,
    tenant_id: Uuid,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> QueryResult<usize> {
    diesel::sql_query(DELETE_SETTLED_BEFORE)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Timestamptz, _>(cutoff)
        .bind::<BigInt, _>(batch)
        .execute(conn)
        .await
}
