//! Retention: entries older than `ROSTER_LOG_RETENTION_DAYS` are deleted once an hour by the
//! maintenance task of `roster serve` (`startup::spawn_maintenance`), tenant by tenant, in
//! bounded batches so that no delete holds locks or bloats a transaction for long.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::provisioning_log as store;
use crate::db::Conn;

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
