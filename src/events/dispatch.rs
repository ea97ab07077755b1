//! The dispatcher: claims due deliveries from the outbox, POSTs each event to its webhook, and
//! records the outcome. State lives only in the database, so nothing is lost across restarts and
//! several Roster processes can run dispatchers side by side (`FOR UPDATE SKIP LOCKED`).
//!
//! A delivery is done on a 2xx answer. A SET receiver's 400 with an RFC 8935 error object
//! (`err`, `description`) settles it as rejected: recorded (`rejected`, `last_error`), never
//! retried, and later events about the subject go on in order. Anything else (another status,
//! a timeout, a refused connection) is retried after 1 s, 2 s, 4 s, ... capped at 5 minutes,
//! forever; while a delivery is pending, later events about the same subject wait for it.
//!
//! Each receiver also has a circuit (`webhooks.consecutive_failures`, `paused_until`): after
//! [`store::CIRCUIT_THRESHOLD`] dispatch rounds in a row in which every attempt failed, the
//! receiver is paused — nothing at all is sent to it — for 30 s, 1 min, 2 min, 4 min, 5 min;
//! then one delivery probes it, and the first answer closes the circuit and resumes the rest.
//! Receivers are served each in a task of their own, so a dead one never holds up another.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use futures_util::future::join_all;
use serde_json::json;

use super::egress::{self, Egress};
use super::keys::EventKeys;
use super::set::{self, PushOutcome, SetInput};
use crate::auth::SigningKey;
use crate::clock::Clock;
use crate::db::events::{self as store, Attempt, DueDelivery};
use crate::db::{self, DbPool};
use crate::error::ScimError;

/// Most deliveries of one receiver claimed (and sent concurrently) at once.
pub const BATCH_SIZE: i64 = 100;
/// Most receivers served at once by one process.
pub const MAX_RECEIVERS: usize = 64;
/// Longest wait between two attempts of one delivery.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long one POST may take before it counts as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The wait before the next attempt after `failures` failed attempts (1 s, 2 s, 4 s, ... 5 min).
pub fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    Duration::from_secs(1u64 << exp).min(MAX_BACKOFF)
}

/// What one [`Dispatcher::dispatch_once`] (or [`Dispatcher::dispatch_receiver`]) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Deliveries acknowledged with a 2xx.
    pub delivered: usize,
    /// Deliveries that failed and were scheduled again.
    pub failed: usize,
    /// Deliveries the receiver refused for good (RFC 8935 §2.3); not retried.
    pub rejected: usize,
}

/// The HTTP client deliveries use, with the egress policy it enforces.
#[derive(Debug, Clone)]
pub struct DeliveryClient {
    http: reqwest::Client,
    egress: Egress,
}

/// The HTTP client deliveries use: no redirects, a bounded timeout, rustls with the webpki
/// roots plus, when given, the PEM certificates of `ca_file` (`ROSTER_WEBHOOK_CA_FILE`) for
/// receivers behind a private CA; under [`Egress::PublicOnly`], host names resolved by
/// [`egress::PublicResolver`] and no proxy (see [`egress`]).
pub fn client_with_ca(ca_file: Option<&std::path::Path>, egress: Egress) -> anyhow::Result<DeliveryClient> {
    let mut builder = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Roster/", env!("CARGO_PKG_VERSION")));
    if egress == Egress::PublicOnly {
        builder = builder.dns_resolver(Arc::new(egress::PublicResolver)).no_proxy();
    }
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read ROSTER_WEBHOOK_CA_FILE {}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            anyhow::anyhow!("ROSTER_WEBHOOK_CA_FILE {} holds no valid PEM certificate: {e}", path.display())
        })?;
        anyhow::ensure!(!certs.is_empty(), "ROSTER_WEBHOOK_CA_FILE {} holds no certificate", path.display());
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    Ok(DeliveryClient { http: builder.build()?, egress })
}

/// [`client_with_ca`] without extra roots.
pub fn client(egress: Egress) -> anyhow::Result<DeliveryClient> {
    client_with_ca(None, egress)
}

impl DeliveryClient {
    /// GET `url` under the same egress policy as deliveries (an IP literal checked here, a host
    /// name by the resolver) and return its 2xx body, refused past `limit` bytes. Used for the
    /// JWKS URLs of OAuth clients (`private_key_jwt`).
    pub async fn fetch(&self, url: &str, limit: usize) -> Result<Vec<u8>, String> {
        egress::check_delivery_url(url, self.egress)?;
        let mut res =
            self.http.get(url).header("accept", "application/json").send().await.map_err(request_failed)?;
        if !res.status().is_success() {
            return Err(format!("answered {}", res.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(request_failed)? {
            if body.len() + chunk.len() > limit {
                return Err(format!("the body is larger than {limit} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// A failed request in words: reqwest's own message says little ("error sending request"),
/// the causes say why (a refused connection, a receiver resolving to no public address).
fn request_failed(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = format!("request failed: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        msg.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    msg
}

/// The JSON body POSTed for one event to a `webhook`-format receiver.
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

/// What delivers events: the HTTP client, the keys (secrets, SET signing) and the public URL
/// SET issuers are built from.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    client: DeliveryClient,
    keys: Arc<EventKeys>,
    public_url: String,
}

impl Dispatcher {
    /// A dispatcher sending with `client`, keys derived from `signing`, SET issuers under
    /// `public_url`.
    pub fn new(client: DeliveryClient, signing: &SigningKey, public_url: &str) -> Self {
        Dispatcher {
            client,
            keys: Arc::new(EventKeys::derive(signing)),
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    async fn deliver(&self, d: &DueDelivery, now: DateTime<Utc>) -> PushOutcome {
        if let Err(refused) = egress::check_delivery_url(&d.url, self.client.egress) {
            return PushOutcome::Retry(refused);
        }
        match d.format.as_str() {
            "set" => self.push_set(d, now).await,
            _ => self.post_webhook(d, now).await,
        }
    }

    fn secret(&self, d: &DueDelivery) -> Result<String, String> {
        match (&d.secret_sealed, &d.secret) {
            (Some(sealed), _) => self.keys.open(d.tenant_id, d.webhook_id, sealed).map_err(|e| e.to_string()),
            (None, Some(clear)) => Ok(clear.clone()),
            (None, None) => Err("the webhook has no secret".into()),
        }
    }

    async fn post_webhook(&self, d: &DueDelivery, now: DateTime<Utc>) -> PushOutcome {
        let secret = match self.secret(d) {
            Ok(s) => s,
            Err(e) => return PushOutcome::Retry(e),
        };
        let body = body(d);
        let signature = super::signature(&secret, now.timestamp(), &body);
        let sent = self
            .client
            .http
            .post(&d.url)
            .header("content-type", "application/json")
            .header("roster-event-id", d.event_id.to_string())
            .header("roster-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => PushOutcome::Accepted,
            Ok(r) => PushOutcome::Retry(format!("answered {}", r.status())),
            Err(e) => PushOutcome::Retry(request_failed(e)),
        }
    }

    async fn push_set(&self, d: &DueDelivery, now: DateTime<Utc>) -> PushOutcome {
        let input = SetInput {
            tenant_id: d.tenant_id,
            event_id: d.event_id,
            kind: &d.kind,
            subject_id: d.subject_id,
            payload: &d.payload,
            occurred_at: d.created_at,
        };
        let audience = d.audience.as_deref().unwrap_or(&d.url);
        let token = match set::encode(&self.keys, &input, &self.public_url, audience, now) {
            Ok(t) => t,
            Err(e) => return PushOutcome::Retry(format!("signing the SET failed: {e}")),
        };
        let sent = self
            .client
            .http
            .post(&d.url)
            .header("content-type", set::CONTENT_TYPE)
            .header("accept", "application/json")
            .body(token)
            .send()
            .await;
        match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                // Only a 400 body matters (the RFC 8935 error object); read at most what fits.
                let body =
                    if status == 400 { r.bytes().await.unwrap_or_default() } else { Default::default() };
                set::push_outcome(status, &body[..body.len().min(4096)])
            }
            Err(e) => PushOutcome::Retry(request_failed(e)),
        }
    }

    /// Serve every receiver with deliveries due at `now` (each as [`Dispatcher::dispatch_receiver`]
    /// does, concurrently) and add up what happened. The serving process's loop
    /// ([`spawn_dispatcher`]) does not wait like this: it serves each receiver in a task of its own.
    pub async fn dispatch_once(
        &self,
        pool: &DbPool,
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, ScimError> {
        let receivers = {
            let mut conn = db::checkout(pool, db::Scope::All).await?;
            store::due_receivers(&mut conn, now, MAX_RECEIVERS as i64).await?
        };
        let reports = join_all(receivers.iter().map(|r| self.dispatch_receiver(pool, *r, now))).await;
        let mut total = DispatchReport::default();
        for report in reports {
            let r = report?;
            total.delivered += r.delivered;
            total.failed += r.failed;
            total.rejected += r.rejected;
        }
        Ok(total)
    }

    /// Claim one receiver's due deliveries (at `now`), send them and record the outcomes, all in
    /// one transaction that keeps the claimed rows locked while they are sent. Only this
    /// receiver's deliveries wait for its answers (at most [`REQUEST_TIMEOUT`]).
    pub async fn dispatch_receiver(
        &self,
        pool: &DbPool,
        receiver: (uuid::Uuid, uuid::Uuid),
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, ScimError> {
        let mut conn = db::checkout(pool, db::Scope::Tenant(receiver.0)).await?;
        conn.transaction::<_, ScimError, _>(async move |conn| {
            // A receiver whose circuit opened is probed with one delivery when its pause ends.
            let probing = store::circuit_failures(conn, receiver).await? >= store::CIRCUIT_THRESHOLD;
            let limit = if probing { 1 } else { BATCH_SIZE };
            let due = store::claim_due(conn, now, receiver, limit).await?;
            let outcomes = join_all(due.iter().map(|d| self.deliver(d, now))).await;
            let mut report = DispatchReport::default();
            let mut last_error = None;
            for (d, outcome) in due.iter().zip(outcomes) {
                match outcome {
                    PushOutcome::Accepted => {
                        store::record_attempt(conn, d, Attempt::Delivered(now)).await?;
                        report.delivered += 1;
                    }
                    PushOutcome::Rejected(reason) => {
                        tracing::warn!(
                            event.id = d.event_id,
                            webhook.id = %d.webhook_id,
                            tenant.id = %d.tenant_id,
                            error = %reason,
                            "receiver rejected the event for good; not retried"
                        );
                        store::record_attempt(conn, d, Attempt::Rejected(now, &reason)).await?;
                        report.rejected += 1;
                    }
                    PushOutcome::Retry(error) => {
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
                        store::record_attempt(conn, d, Attempt::Failed(next, &error)).await?;
                        report.failed += 1;
                        last_error = Some(error);
                    }
                }
            }
            if !due.is_empty() {
                let alive = report.delivered + report.rejected > 0;
                let paused = store::record_round(conn, receiver, now, alive, last_error.as_deref()).await?;
                if let Some(until) = paused {
                    tracing::warn!(webhook.id = %receiver.1, tenant.id = %receiver.0, %until,
                        "receiver failed every attempt repeatedly: paused (circuit open) until then");
                } else if alive && probing {
                    tracing::info!(webhook.id = %receiver.1, tenant.id = %receiver.0,
                        "receiver answered again: circuit closed, deliveries resume");
                }
            }
            Ok(report)
        })
        .await
    }
}

/// Serve receivers whenever events were committed (any Roster process: a `LISTEN` on
/// [`store::NOTIFY_CHANNEL`], see [`super::wake`]) and at the latest every `poll` (the fallback,
/// and what brings retries due). Each receiver with due deliveries is served in a task of its own
/// ([`Dispatcher::dispatch_receiver`]), at most [`MAX_RECEIVERS`] at once and one per receiver:
/// a receiver that hangs or fails holds only its own task, while every other receiver — of this
/// tenant or any other — keeps being served at once. Abort the returned task to stop it; a batch
/// cut short is simply claimed again later (at least once).
pub fn spawn_dispatcher(
    pool: DbPool,
    dispatcher: Dispatcher,
    clock: Arc<dyn Clock>,
    poll: Duration,
    database_url: Option<String>,
) -> tokio::task::JoinHandle<()> {
    let dispatcher = Arc::new(dispatcher);
    tokio::spawn(async move {
        let wake = Arc::new(tokio::sync::Notify::new());
        let _listener =
            database_url.map(|url| super::wake::AbortOnDrop(super::wake::spawn_listener(url, wake.clone())));
        let busy: Arc<Busy> = Arc::default();
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            match serve_due(&pool, &dispatcher, &clock, &busy, &wake, &mut tasks).await {
                Ok(()) => {}
                Err(e) => tracing::warn!(error = ?e, "event dispatch failed"),
            }
            // Reap finished receiver tasks (their outcome is logged by the task itself).
            while tasks.try_join_next().is_some() {}
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    })
}

/// The receivers being served by this process.
type Busy = std::sync::Mutex<std::collections::HashSet<(uuid::Uuid, uuid::Uuid)>>;

fn lock(busy: &Busy) -> std::sync::MutexGuard<'_, std::collections::HashSet<(uuid::Uuid, uuid::Uuid)>> {
    busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Start a task for every receiver with due deliveries that is not being served already.
async fn serve_due(
    pool: &DbPool,
    dispatcher: &Arc<Dispatcher>,
    clock: &Arc<dyn Clock>,
    busy: &Arc<Busy>,
    wake: &Arc<tokio::sync::Notify>,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<(), ScimError> {
    let receivers = {
        let mut conn = db::checkout(pool, db::Scope::All).await?;
        store::due_receivers(&mut conn, clock.now(), MAX_RECEIVERS as i64).await?
    };
    for receiver in receivers {
        if tasks.len() >= MAX_RECEIVERS || !lock(busy).insert(receiver) {
            continue;
        }
        let (pool, dispatcher, clock, busy, wake) =
            (pool.clone(), dispatcher.clone(), clock.clone(), busy.clone(), wake.clone());
        tasks.spawn(async move {
            let result = dispatcher.dispatch_receiver(&pool, receiver, clock.now()).await;
            lock(&busy).remove(&receiver);
            match result {
                Ok(r) if r.delivered + r.rejected > 0 => {
                    tracing::debug!(
                        delivered = r.delivered,
                        failed = r.failed,
                        rejected = r.rejected,
                        "events dispatched"
                    );
                    // More may be waiting behind what was just delivered (per-subject order).
                    wake.notify_one();
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = ?e, webhook.id = %receiver.1, "event dispatch failed"),
            }
        });
    }
    Ok(())
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
