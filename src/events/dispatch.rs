//! The dispatcher: claims due deliveries from the outbox, POSTs each event to its webhook, and
//! records the outcome. State lives only in the database, so nothing is lost across restarts and
//! several Roster processes can run dispatchers side by side (`FOR UPDATE SKIP LOCKED`).
//!
//! A delivery is done on a 2xx answer. Anything else (another status, a timeout, a refused
//! connection) is retried after 1 s, 2 s, 4 s, ... capped at 5 minutes, forever; while a
//! delivery is pending, later events about the same subject wait for it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use futures_util::future::join_all;
use serde_json::json;

use crate::clock::Clock;
use crate::db::events::{self as store, DueDelivery};
use crate::db::{self, DbPool};
use crate::error::ScimError;

/// Most deliveries claimed (and sent concurrently) by one [`dispatch_once`].
pub const BATCH_SIZE: i64 = 100;
/// Longest wait between two attempts of one delivery.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long one POST may take before it counts as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The wait before the next attempt after `failures` failed attempts (1 s, 2 s, 4 s, ... 5 min).
pub fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    Duration::from_secs(1u64 << exp).min(MAX_BACKOFF)
}

/// What one [`dispatch_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Deliveries acknowledged with a 2xx.
    pub delivered: usize,
    /// Deliveries that failed and were scheduled again.
    pub failed: usize,
}

/// The HTTP client deliveries use (no redirects, a bounded timeout).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Roster/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// The JSON body POSTed for one event.
pub fn body(d: &DueDelivery) -> Vec<u8> {
    let doc = json!({
        "id": d.event_id.to_string(),
        "type": d.kind,
        "tenant_id": d.tenant_id,
        "subject_id": d.subject_id,
        "occurred_at": d.created_at,
        "data": d.payload,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

async fn deliver(client: &reqwest::Client, d: &DueDelivery, now: DateTime<Utc>) -> Result<(), String> {
    let body = body(d);
    let signature = super::signature(&d.secret, now.timestamp(), &body);
    let response = client
        .post(&d.url)
        .header("content-type", "application/json")
        .header("roster-event-id", d.event_id.to_string())
        .header("roster-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {}", e.without_url()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered {status}"))
    }
}

/// Claim the due deliveries (at `now`), send them and record the outcomes, all in one
/// transaction that keeps the claimed rows locked while they are sent. Returns what happened.
pub async fn dispatch_once(
    pool: &DbPool,
    client: &reqwest::Client,
    now: DateTime<Utc>,
) -> Result<DispatchReport, ScimError> {
    let mut conn = db::checkout(pool).await?;
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let due = store::claim_due(conn, now, BATCH_SIZE).await?;
        let outcomes = join_all(due.iter().map(|d| deliver(client, d, now))).await;
        let mut report = DispatchReport::default();
        for (d, outcome) in due.iter().zip(outcomes) {
            match outcome {
                Ok(()) => {
                    store::record_attempt(conn, d, Some(now), now, None).await?;
                    report.delivered += 1;
                }
                Err(error) => {
                    let failures = u32::try_from(d.attempts).unwrap_or(0).saturating_add(1);
                    let wait = backoff(failures);
                    let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                    tracing::warn!(
                        event.id = d.event_id,
                        webhook.id = %d.webhook_id,
                        tenant.id = %d.tenant_id,
                        attempts = failures,
                        retry_in_s = wait.as_secs(),
                        error = %error,
                        "webhook delivery failed"
                    );
                    store::record_attempt(conn, d, None, next, Some(&error)).await?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    })
    .await
}

/// Run [`dispatch_once`] every `poll` (immediately again while there is work). Abort the
/// returned task to stop it; a batch cut short is simply claimed again later (at least once).
pub fn spawn_dispatcher(pool: DbPool, clock: Arc<dyn Clock>, poll: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = client();
        loop {
            match dispatch_once(&pool, &client, clock.now()).await {
                Ok(r) if r.delivered + r.failed > 0 => {
                    tracing::debug!(delivered = r.delivered, failed = r.failed, "events dispatched");
                    if r.delivered > 0 {
                        continue;
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = ?e, "event dispatch failed"),
            }
            tokio::time::sleep(poll).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let secs: Vec<u64> = [1, 2, 3, 4, 9, 10, 50].iter().map(|n| backoff(*n).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 256, 300, 300]);
    }
}
