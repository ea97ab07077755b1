//! Retention: entries older than `ROSTER_LOG_RETENTION_DAYS` are deleted once an hour by a
//! background task of `roster serve`, tenant by tenant, in bounded batches so that no delete
//! holds locks or bloats a transaction for long.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::db::provisioning_log as store;
use crate::db::{self, Conn, DbPool};

/// Rows deleted per statement.
pub const BATCH_SIZE: i64 = 5_000;
/// Statements per run; what is left is deleted by the next run.
pub const MAX_BATCHES_PER_RUN: usize = 200;
/// How often the task runs.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// Delete entries older than `cutoff` across all tenants, at most `max_batches` statements of
/// `batch_size` rows. Returns how many rows were deleted.
pub async fn purge(
    conn: &mut Conn,
    cutoff: DateTime<Utc>,
    batch_size: i64,
    max_batches: usize,
) -> diesel::QueryResult<u64> {
    let mut deleted = 0u64;
    let mut budget = max_batches;
    for tenant in store::tenant_ids(conn).await? {
        while budget > 0 {
            budget -= 1;
            let n = store::delete_batch_before(conn, tenant, cutoff, batch_size).await?;
            deleted += n as u64;
            if (n as i64) < batch_size {
                break;
            }
        }
        if budget == 0 {
            break;
        }
    }
    Ok(deleted)
}

/// Run [`purge`] now and then every [`INTERVAL`], keeping `days` days of log. Abort the
/// returned task to stop it.
pub fn spawn(pool: DbPool, days: u32, clock: Arc<dyn Clock>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let cutoff = clock.now() - chrono::Duration::days(i64::from(days));
            let result = match db::checkout(&pool).await {
                Ok(mut conn) => {
                    purge(&mut conn, cutoff, BATCH_SIZE, MAX_BATCHES_PER_RUN).await.map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, retention_days = days, "provisioning log pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning the provisioning log failed"),
            }
        }
    })
}
