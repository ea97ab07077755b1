//! A tenant's webhook endpoints (event receivers). Secrets are stored sealed
//! (`secret_sealed`, see `events::keys`); the clear `secret` column only holds rows written
//! before sealing existed, until a Roster start seals them ([`clear_secrets`], [`seal`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
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
