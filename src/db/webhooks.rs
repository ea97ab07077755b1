//! A tenant's webhook endpoints. The secret is read only by the dispatcher, to sign.

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
}

/// Add an active webhook.
pub async fn insert(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    url: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::tenant_id.eq(tenant_id),
            webhooks::id.eq(id),
            webhooks::url.eq(url),
            webhooks::secret.eq(secret),
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
