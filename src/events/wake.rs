//! Prompt delivery: a dedicated PostgreSQL connection `LISTEN`s on the channel every
//! transaction that writes events notifies at commit (`db::events::NOTIFY_CHANNEL`), and pokes
//! the dispatcher. Because the notification goes through PostgreSQL, it wakes the dispatchers of
//! every Roster process on the database, this one included, and only for committed events.
//! If the connection is lost it is re-established after a second; meanwhile polling
//! (`ROSTER_EVENTS_POLL_MS`) still delivers.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use tokio::sync::Notify;

use crate::db::events::NOTIFY_CHANNEL;

/// Aborts a task when dropped.
#[derive(Debug)]
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Listen for event notifications on `database_url` and `notify_one` `wake` for each (a permit
/// is kept while the dispatcher is busy, so none is lost). Runs until aborted.
pub fn spawn_listener(database_url: String, wake: Arc<Notify>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listen(&database_url, &wake).await {
                Ok(()) => tracing::warn!("event notification stream ended; reconnecting"),
                Err(e) => {
                    tracing::warn!(error = %e, "listening for event notifications failed; retrying in 1 s")
                }
            }
            // Whatever was committed meanwhile is picked up by the next dispatch.
            wake.notify_one();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

async fn listen(database_url: &str, wake: &Notify) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    diesel::sql_query(format!("LISTEN {NOTIFY_CHANNEL}")).execute(&mut conn).await?;
    // Events committed before the LISTEN took effect are found by this dispatch.
    wake.notify_one();
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(n) = notifications.next().await {
        n?;
        wake.notify_one();
    }
    Ok(())
}
