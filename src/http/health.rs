//! Liveness and readiness probes (no authentication, no SCIM): plain JSON bodies. Readiness
//! checks that the database answers within a deadline, that it has every migration this binary
//! embeds, and that the event dispatcher of this process (when it runs one) is alive.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use diesel_async::RunQueryDsl;
use serde_json::json;

use super::AppState;
use crate::db;
use crate::error::RETRY_AFTER_SECS;

/// How long the readiness check waits for the database: under a second, so `/readyz` answers
/// 503 within a second when the database is unreachable or frozen, however long the pool's
/// own acquire and statement timeouts are.
pub const READY_CHECK_TIMEOUT: Duration = Duration::from_millis(800);

const ALIVE: u8 = 1;
const STOPPED: u8 = 2;

/// Whether this process's background event dispatcher runs (readiness fails once it stopped).
#[derive(Debug, Clone, Default)]
pub struct Liveness {
    dispatcher: Arc<AtomicU8>,
}

impl Liveness {
    /// Watch the dispatcher task: alive until it ends (a panic, or being aborted). Returns the
    /// handle that stops it.
    pub fn watch_dispatcher(&self, task: tokio::task::JoinHandle<()>) -> tokio::task::AbortHandle {
        self.dispatcher.store(ALIVE, Ordering::Relaxed);
        let abort = task.abort_handle();
        let flag = self.dispatcher.clone();
        tokio::spawn(async move {
            if let Err(e) = task.await {
                if e.is_panic() {
                    tracing::error!("the event dispatcher panicked; /readyz now answers 503");
                }
            }
            flag.store(STOPPED, Ordering::Relaxed);
        });
        abort
    }

    /// `ok`, `stopped`, or `not_running` (this process runs no dispatcher, e.g. in tests).
    fn dispatcher(&self) -> &'static str {
        match AtomicU8::load(&self.dispatcher, Ordering::Relaxed) {
            ALIVE => "ok",
            STOPPED => "stopped",
            _ => "not_running",
        }
    }
}

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The process can serve: the database answers within [`READY_CHECK_TIMEOUT`] and has every
/// migration, and the dispatcher has not stopped. 200 `ready`, or 503 `unavailable` with
/// `Retry-After`; never another status.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let check = async {
        let mut conn =
            db::checkout(&state.pool, db::Scope::All).await.map_err(|_| ("unreachable", "unknown"))?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.map_err(|_| ("failing", "unknown"))?;
        match db::ops::pending_migrations(&mut conn).await {
            Ok(pending) if pending.is_empty() => Ok("ok"),
            Ok(_) => Ok("pending"),
            Err(_) => Ok("unknown"),
        }
    };
    let (database, migrations) = match tokio::time::timeout(READY_CHECK_TIMEOUT, check).await {
        Ok(Ok(migrations)) => ("ok", migrations),
        Ok(Err(problem)) => problem,
        Err(_) => ("timeout", "unknown"),
    };
    let dispatcher = state.liveness.dispatcher();
    let checks = json!({"database": database, "migrations": migrations, "dispatcher": dispatcher});
    if database == "ok" && migrations == "ok" && dispatcher != "stopped" {
        HttpResponse::Ok().json(json!({"status": "ready", "checks": checks}))
    } else {
        tracing::warn!(database, migrations, dispatcher, "readiness check failed");
        HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS))
            .json(json!({"status": "unavailable", "checks": checks}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dispatcher_that_stops_is_reported() {
        let liveness = Liveness::default();
        assert_eq!(liveness.dispatcher(), "not_running");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let _abort = liveness.watch_dispatcher(tokio::spawn(async move {
            let _ = rx.await;
            panic!("dispatcher failure");
        }));
        assert_eq!(liveness.dispatcher(), "ok");
        drop(tx);
        for _ in 0..1000 {
            if liveness.dispatcher() == "stopped" {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the stopped dispatcher was not noticed");
    }
}
