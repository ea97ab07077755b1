//! The recorder: finished requests go into a bounded queue and a background task writes them in
//! batches, so recording does not wait for the database on a request's path. When the queue is
//! full (the writer is behind: a machine saturated by requests gives its database connection
//! little CPU), a request waits for room, up to [`QUEUE_WAIT`], before its response goes out:
//! the clients slow to the pace the log is written at, and every request keeps its row (issue
//! #10). Only a writer that makes no room for that long (the database is down or frozen) costs
//! rows: they are dropped with a warning rather than holding requests longer or growing memory
//! without bound. Entries are made storable before
//! they are inserted, and a batch the database refuses is written again entry by entry, so one
//! bad entry never drops the others; how many were dropped is logged. A batch that meets an
//! outage is kept and retried with backoff until the database is back. Rows of successful
//! writes do not come here at all: they are committed with the write (`super::slot`).

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::db::provisioning_log::{self as store, Entry};
use crate::db::{self, DbPool};

/// Entries waiting to be written before new ones wait for room.
pub const QUEUE_CAPACITY: usize = 10_000;
/// Longest a request waits for room in a full queue before its entry is dropped.
pub const QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// Most entries written by one INSERT.
const BATCH: usize = 500;
/// How long the writer waits for more entries before writing a batch.
const LINGER: std::time::Duration = std::time::Duration::from_millis(20);
/// Batches written at once, each on a connection of its own.
const WRITERS: usize = 3;

enum Message {
    Entry(Box<Entry>),
    Flush(oneshot::Sender<()>),
}

/// Hands finished requests to the background writer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Message>,
    /// Wakes the writer out of its linger when a flush is queued (entries do not wake it).
    flushing: std::sync::Arc<tokio::sync::Notify>,
    /// Entries dropped so far (queue full, writer stopped, or refused by the database).
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// [`QUEUE_WAIT`], shorter in tests.
    wait: std::time::Duration,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Entry(_) => "Entry",
            Message::Flush(_) => "Flush",
        })
    }
}

impl Recorder {
    /// Start the writer on the current tokio runtime; it runs until every `Recorder` is dropped.
    pub fn start(pool: DbPool) -> anyhow::Result<Recorder> {
        Recorder::start_with(pool, QUEUE_CAPACITY, QUEUE_WAIT)
    }

    fn start_with(pool: DbPool, capacity: usize, wait: std::time::Duration) -> anyhow::Result<Recorder> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| anyhow::anyhow!("the provisioning log writer needs a tokio runtime"))?;
        let (tx, rx) = mpsc::channel(capacity);
        let dropped = std::sync::Arc::default();
        let flushing = std::sync::Arc::new(tokio::sync::Notify::new());
        runtime.spawn(write_loop(
            pool,
            rx,
            std::sync::Arc::clone(&flushing),
            std::sync::Arc::clone(&dropped),
        ));
        Ok(Recorder { tx, flushing, dropped, wait })
    }

    /// Queue an entry: at once while the queue has room, otherwise after waiting for room (at
    /// most [`QUEUE_WAIT`]; then the entry is dropped, with a warning, and counted).
    pub async fn record(&self, entry: Entry) {
        use mpsc::error::{SendTimeoutError, TrySendError};
        let reason = match self.tx.try_send(Message::Entry(Box::new(entry))) {
            Ok(()) => return,
            Err(TrySendError::Closed(_)) => "writer stopped",
            Err(TrySendError::Full(message)) => match self.tx.send_timeout(message, self.wait).await {
                Ok(()) => return,
                Err(SendTimeoutError::Timeout(_)) => "queue full",
                Err(SendTimeoutError::Closed(_)) => "writer stopped",
            },
        };
        self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(reason, "provisioning log entry dropped");
    }

    /// Entries queued and not yet written (metrics).
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Entries dropped since the recorder started (metrics; should stay 0).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Wait until every entry queued before this call has been written (or failed to be).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            self.flushing.notify_one();
            let _ = wait.await;
        }
    }
}

/// Write queued entries in batches: after the first entry of a batch, wait out [`LINGER`] and
/// then take what has queued meanwhile (up to [`BATCH`]), so that under load one INSERT carries
/// many requests' rows instead of one statement per request. While it lingers the writer is not
/// waiting on the queue, so a request queuing its entry wakes nothing: one wake-up per batch, not
/// one per request (a thread woken per request cost ~18 % of Roster's CPU on a GET). A flush
/// wakes it at once. Up to [`WRITERS`] batches are written at once, each on its own connection:
/// one writer at a time fell behind ~10,000 requests a second on 2 cores (a 400-row batch took
/// ~30 ms there) and the queue dropped rows.
async fn write_loop(
    pool: DbPool,
    mut rx: mpsc::Receiver<Message>,
    flushing: std::sync::Arc<tokio::sync::Notify>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    let mut batch: Vec<Entry> = Vec::with_capacity(BATCH);
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut writing: JoinSet<Vec<Entry>> = JoinSet::new();
    let take =
        |message: Message, batch: &mut Vec<Entry>, waiting: &mut Vec<oneshot::Sender<()>>| match message {
            Message::Entry(entry) => batch.push(*entry),
            Message::Flush(done) => waiting.push(done),
        };
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + LINGER;
        take(first, &mut batch, &mut waiting);
        let mut lingered = false;
        loop {
            while batch.len() < BATCH && waiting.is_empty() {
                match rx.try_recv() {
                    Ok(message) => take(message, &mut batch, &mut waiting),
                    Err(_) => break,
                }
            }
            if lingered || batch.len() >= BATCH || !waiting.is_empty() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => lingered = true,
                _ = flushing.notified() => {}
            }
        }
        while writing.len() >= WRITERS {
            settle(writing.join_next().await, &pool, &dropped, &mut waiting).await;
        }
        let mut full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
        let (to, lost) = (pool.clone(), std::sync::Arc::clone(&dropped));
        writing.spawn(async move {
            // Handed back unwritten through an outage, for `settle` to retry.
            write(&to, &mut full, &lost).await;
            full
        });
        // A flush waits for every batch taken before it, including those already in flight.
        if !waiting.is_empty() {
            while !writing.is_empty() {
                settle(writing.join_next().await, &pool, &dropped, &mut waiting).await;
            }
            for done in waiting.drain(..) {
                let _ = done.send(());
            }
        }
    }
    while !writing.is_empty() {
        settle(writing.join_next().await, &pool, &dropped, &mut waiting).await;
    }
}

/// A batch back from its writer. Written (empty), or kept through a database outage: then
/// tried again here with backoff until the database is back; entries arriving meanwhile wait in
/// the bounded queue (and only its overflow is dropped), and flushes waiting are let go.
async fn settle(
    joined: Option<Result<Vec<Entry>, tokio::task::JoinError>>,
    pool: &DbPool,
    dropped: &std::sync::atomic::AtomicU64,
    waiting: &mut Vec<oneshot::Sender<()>>,
) {
    let mut batch = match joined {
        Some(Ok(batch)) => batch,
        Some(Err(e)) => {
            tracing::error!(error = %e, "a provisioning log writer failed; its batch is lost");
            return;
        }
        None => return,
    };
    let mut backoff = OUTAGE_BACKOFF_MIN;
    while !batch.is_empty() {
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(OUTAGE_BACKOFF_MAX);
        write(pool, &mut batch, dropped).await;
    }
}

/// First and longest wait before a batch is tried again after an outage.
const OUTAGE_BACKOFF_MIN: std::time::Duration = std::time::Duration::from_millis(100);
const OUTAGE_BACKOFF_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// Write a batch, counting in `lost` the entries the database refused. The batch is emptied once
/// written; through an outage (the database cannot be reached) it keeps what is not written yet.
async fn write(pool: &DbPool, batch: &mut Vec<Entry>, lost: &std::sync::atomic::AtomicU64) {
    if batch.is_empty() {
        return;
    }
    // A batch of one tenant's rows is written in that tenant's scope, as its requests were (no
    // change of scope on a connection the requests share); a batch of several tenants' in `all`.
    let first = batch[0].tenant_id;
    let scope =
        if batch.iter().all(|e| e.tenant_id == first) { db::Scope::Tenant(first) } else { db::Scope::All };
    let mut conn = match db::checkout(pool, scope).await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %format!("{e}: {:?}", e.cause()), entries = batch.len(),
                "the provisioning log cannot reach the database; its entries are kept and retried");
            return;
        }
    };
    let dropped = match insert_batch(&mut conn, batch).await {
        Some(dropped) => dropped,
        None => return,
    };
    if dropped > 0 {
        lost.fetch_add(dropped as u64, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(dropped, of = batch.len(), "provisioning log entries dropped");
    }
    batch.clear();
}

/// Insert a batch in one statement; if the database refuses it, insert its entries one by one,
/// so that one entry the database refuses never takes the others with it. Returns how many were
/// dropped: entries of a tenant that does not exist (the statement leaves them out) and entries
/// the database refuses (none unless something is wrong: each is made storable before it is
/// inserted); or `None` when the connection failed (an outage: nothing is dropped, and the
/// batch keeps only the entries not written yet).
async fn insert_batch(conn: &mut db::Conn, batch: &mut Vec<Entry>) -> Option<usize> {
    let e = match store::insert_many(conn, batch).await {
        Ok(written) => return Some(batch.len().saturating_sub(written)),
        Err(e) => e,
    };
    if db::is_outage(&e) {
        tracing::warn!(error = %e, entries = batch.len(), "writing the provisioning log met an outage; retrying");
        return None;
    }
    tracing::warn!(entries = batch.len(), error = %e, "a provisioning log batch failed; writing it entry by entry");
    let mut dropped = 0;
    for (i, entry) in batch.iter().enumerate() {
        match store::insert_many(conn, std::slice::from_ref(entry)).await {
            Ok(0) => dropped += 1,
            Ok(_) => {}
            Err(e) if db::is_outage(&e) => {
                // Keep only what is not written yet.
                batch.drain(..i);
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, request_id = %entry.request_id, "a provisioning log entry could not be written");
                dropped += 1;
            }
        }
    }
    tracing::warn!(dropped, of = batch.len(), "provisioning log batch written entry by entry");
    Some(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn entry() -> Entry {
        let id = uuid::Uuid::now_v7();
        Entry { tenant_id: id, id, status: 200, source: store::SOURCE_SCIM.into(), ..Entry::default() }
    }

    /// A full queue holds the request for room instead of dropping its entry at once; only a
    /// writer that makes no room within the wait costs the entry, counted.
    #[tokio::test]
    async fn a_full_queue_makes_the_request_wait_and_drops_only_after_the_wait() {
        // A writer that cannot write: nothing listens on port 1, so every batch it takes meets
        // an outage and is retried, and it stops taking entries off the queue.
        let options = db::PoolOptions::with_size(1);
        let pool = db::build_pool("postgres://nobody@127.0.0.1:1/none", &options).unwrap();
        let wait = Duration::from_millis(300);
        let recorder = Recorder::start_with(pool, 4, wait).unwrap();
        let mut first_drop = None;
        for n in 0..(WRITERS + 1) * BATCH + 100 {
            let started = Instant::now();
            recorder.record(entry()).await;
            if recorder.dropped() > 0 {
                first_drop = Some((n, started.elapsed()));
                break;
            }
        }
        let (n, waited) = first_drop.expect("the queue never filled");
        assert!(waited >= wait, "entry {n} was dropped after {waited:?}, without waiting {wait:?} for room");
        assert_eq!(recorder.dropped(), 1);
    }
}
