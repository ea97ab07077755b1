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

/// The first key of the advisory locks that order events per subject ("RSEV").
const SUBJECT_LOCK_CLASS: i32 = 0x5253_4556;

/// The PostgreSQL channel notified (at commit) by every transaction that wrote events; the
/// dispatchers of every Roster process `LISTEN` on it to deliver at once instead of at their
/// next poll.
pub const NOTIFY_CHANNEL: &str = "roster_events";

/// Write events (in the caller's transaction) and a pending delivery for each of the tenant's
/// active webhooks. Before drawing ids, take a transaction-level advisory lock per subject (in
/// key order, so writers cannot deadlock on them): a later transaction about the same subject
/// waits for this one to commit, so per subject, id order is commit order and a dispatcher never
/// sees event N+1 committed while event N is still invisible. Also queues a notification on
/// [`NOTIFY_CHANNEL`], which PostgreSQL delivers to listeners only if and when the transaction
/// commits.
pub async fn insert(
    conn: &mut Conn,
    tenant_id: Uuid,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let subjects: Vec<Uuid> = events.iter().map(|e| e.subject).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let payloads: Vec<&Value> = events.iter().map(|e| &e.payload).collect();
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock($1, k) FROM \
         (SELECT DISTINCT hashtext($2::text || s::text) AS k FROM unnest($3::uuid[]) AS s ORDER BY k) AS keys",
    )
    .bind::<Integer, _>(SUBJECT_LOCK_CLASS)
    .bind::<Text, _>(tenant_id.to_string())
    .bind::<Array<SqlUuid>, _>(&subjects)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "WITH ev AS ( \
             INSERT INTO event_outbox (tenant_id, subject_id, kind, payload, created_at) \
             SELECT $1, e.subject, e.kind, e.payload, $5 \
             FROM unnest($2::uuid[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS e(subject, kind, payload, n) \
             ORDER BY e.n \
             RETURNING id, subject_id) \
         INSERT INTO event_deliveries (tenant_id, webhook_id, event_id, subject_id, next_attempt_at) \
         SELECT $1, w.id, ev.id, ev.subject_id, $5 FROM ev CROSS JOIN webhooks w \
         WHERE w.tenant_id = $1 AND w.active",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(&subjects)
    .bind::<Array<Text>, _>(&kinds)
    .bind::<Array<Jsonb>, _>(&payloads)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    diesel::sql_query("SELECT pg_notify($1, '')")
        .bind::<Text, _>(NOTIFY_CHANNEL)
        .execute(conn)
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

/// Claim up to `limit` due deliveries, locking them until the caller's transaction ends. Rows
/// another dispatcher holds are skipped, and a delivery waits while an earlier one for the same
/// webhook and subject is still pending (being delivered elsewhere, or failing and backing off).
pub async fn claim_due(conn: &mut Conn, now: DateTime<Utc>, limit: i64) -> QueryResult<Vec<DueDelivery>> {
    diesel::sql_query(
        "SELECT d.tenant_id, d.webhook_id, d.event_id, d.subject_id, d.attempts, \
                e.kind, e.payload, e.created_at, w.url, w.format, w.audience, w.secret, w.secret_sealed \
         FROM event_deliveries d \
         JOIN event_outbox e ON e.tenant_id = d.tenant_id AND e.id = d.event_id \
         JOIN webhooks w ON w.tenant_id = d.tenant_id AND w.id = d.webhook_id \
         WHERE d.delivered_at IS NULL AND d.next_attempt_at <= $1 AND w.active \
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
    .load(conn)
    .await
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

/// Retention: delete up to `batch` events of a tenant written before `cutoff` that no webhook
/// still waits for (their delivery rows go with them). Returns how many were deleted.
pub async fn delete_settled_before(
    conn: &mut Conn,
    tenant_id: Uuid,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM event_outbox e WHERE e.tenant_id = $1 AND e.id IN ( \
             SELECT o.id FROM event_outbox o \
             WHERE o.tenant_id = $1 AND o.created_at < $2 \
               AND NOT EXISTS (SELECT 1 FROM event_deliveries d \
                               WHERE d.tenant_id = o.tenant_id AND d.event_id = o.id AND d.delivered_at IS NULL) \
             ORDER BY o.created_at LIMIT $3)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(batch)
    .execute(conn)
    .await
}
