//! What the operations surface reads from the database at scrape or probe time (issue #13):
//! the event outbox's backlog and whether every migration has been applied.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::Conn;

/// The outbox backlog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outbox {
    /// Deliveries not yet made.
    pub pending: i64,
    /// When the oldest event still waiting for a delivery was written.
    pub oldest_pending: Option<DateTime<Utc>>,
    /// Per receiver (webhook id): deliveries that have failed at least once and are still pending.
    pub failing: Vec<(Uuid, i64)>,
}

/// Read the outbox backlog (three aggregate queries over undelivered rows).
pub async fn outbox(conn: &mut Conn) -> diesel::QueryResult<Outbox> {
    #[derive(QueryableByName)]
    struct Pending {
        #[diesel(sql_type = BigInt)]
        pending: i64,
        #[diesel(sql_type = Nullable<Timestamptz>)]
        oldest: Option<DateTime<Utc>>,
    }
    #[derive(QueryableByName)]
    struct Failing {
        #[diesel(sql_type = SqlUuid)]
        webhook_id: Uuid,
        #[diesel(sql_type = BigInt)]
        failing: i64,
    }
    let p: Pending = diesel::sql_query(
        "SELECT count(*) AS pending, min(o.created_at) AS oldest FROM event_deliveries d \
         JOIN event_outbox o ON o.tenant_id = d.tenant_id AND o.id = d.event_id \
         WHERE d.delivered_at IS NULL AND NOT d.rejected",
    )
    .get_result(conn)
    .await?;
    let failing: Vec<Failing> = diesel::sql_query(
        "SELECT webhook_id, count(*) AS failing FROM event_deliveries \
         WHERE delivered_at IS NULL AND NOT rejected AND attempts > 0 GROUP BY webhook_id",
    )
    .load(conn)
    .await?;
    Ok(Outbox {
        pending: p.pending,
        oldest_pending: p.oldest,
        failing: failing.into_iter().map(|f| (f.webhook_id, f.failing)).collect(),
    })
}

/// The migrations embedded in this binary that the database has not applied (empty: current).
pub async fn pending_migrations(conn: &mut Conn) -> diesel::QueryResult<Vec<String>> {
    use diesel::migration::MigrationSource;
    #[derive(QueryableByName)]
    struct Applied {
        #[diesel(sql_type = Text)]
        version: String,
    }
    let applied: Vec<Applied> =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations").load(conn).await?;
    let applied: std::collections::HashSet<String> = applied.into_iter().map(|a| a.version).collect();
    let embedded = MigrationSource::<diesel::pg::Pg>::migrations(&super::MIGRATIONS)
        .map_err(diesel::result::Error::QueryBuilderError)?;
    Ok(embedded.iter().map(|m| m.name().version().to_string()).filter(|v| !applied.contains(v)).collect())
}
