//! Liveness and readiness probes (no authentication, no SCIM).

use actix_web::{web, HttpResponse};
use diesel_async::RunQueryDsl;
use serde_json::json;

use super::AppState;
use crate::db;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The process can serve: the database answers.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ready = match db::checkout(&state.pool).await {
        Ok(mut conn) => diesel::sql_query("SELECT 1").execute(&mut conn).await.is_ok(),
        Err(_) => false,
    };
    if ready {
        HttpResponse::Ok().json(json!({"status": "ready", "database": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable", "database": "unreachable"}))
    }
}
