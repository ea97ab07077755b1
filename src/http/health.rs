//! Liveness and readiness probes (no authentication, no SCIM): plain JSON bodies.

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

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The process can serve: the database answers `SELECT 1` within [`READY_CHECK_TIMEOUT`].
/// 200 `ready`, or 503 `unavailable` with `Retry-After`; never another status.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let check = async {
        let mut conn = db::checkout(&state.pool).await.map_err(|_| "unreachable")?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.map(drop).map_err(|_| "failing")
    };
    let database = match tokio::time::timeout(READY_CHECK_TIMEOUT, check).await {
        Ok(Ok(())) => "ok",
        Ok(Err(problem)) => problem,
        Err(_) => "timeout",
    };
    if database == "ok" {
        HttpResponse::Ok().json(json!({"status": "ready", "checks": {"database": database}}))
    } else {
        tracing::warn!(database, "readiness check failed");
        HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS))
            .json(json!({"status": "unavailable", "checks": {"database": database}}))
    }
}
