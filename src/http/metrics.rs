//! `GET /metrics`: Prometheus text exposition (issue #13), behind its own credential
//! (`ROSTER_METRICS_TOKEN`, `Authorization: Bearer <it>`). Each server has its own registry.
//!
//! Per request the middleware only bumps in-process counters and a histogram ([`Metrics::observe`]);
//! gauges that need the database or other parts of the process (pool, provisioning-log queue,
//! outbox backlog, imports) are read when Prometheus scrapes ([`Metrics::render`]).

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use super::admin::OperatorKey;
use super::AppState;
use crate::error::ScimError;

/// How long a scrape waits for the database-backed gauges.
const SCRAPE_DB_TIMEOUT: Duration = Duration::from_secs(2);

/// The process's metric families.
pub struct Metrics {
    registry: Registry,
    token: Option<OperatorKey>,
    requests: IntCounterVec,
    latency: HistogramVec,
    tolerance: IntCounterVec,
    scim_errors: IntCounterVec,
    auth_failures: IntCounterVec,
    pool: IntGaugeVec,
    log_queue: IntGauge,
    log_dropped: IntGauge,
    outbox_pending: IntGauge,
    outbox_oldest: Gauge,
    outbox_failing: IntGaugeVec,
    imports: IntGauge,
    database_up: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("protected", &self.token.is_some()).finish_non_exhaustive()
    }
}

/// What the middleware knows about a finished request.
#[derive(Debug)]
pub struct Observed<'a> {
    /// The route template (`/scim/v2/{connection}/Users/{id}`), or `unmatched`.
    pub route: &'a str,
    /// The method.
    pub method: &'a str,
    /// The status.
    pub status: u16,
    /// The authenticated connection, if any (never taken from an unauthenticated URL).
    pub connection: Option<uuid::Uuid>,
    /// Seconds from the request's start to its response.
    pub seconds: f64,
    /// The SCIM error's `scimType` (or `none`) when the response is an error.
    pub scim_type: Option<&'a str>,
    /// Tolerance rules (and notes) recorded for the request.
    pub rules: &'a [String],
}

/// Register `collector` in `registry` and hand it back (collectors are shared handles).
fn registered<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: prometheus::Result<C>,
) -> prometheus::Result<C> {
    let collector = collector?;
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

fn counter(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    registered(registry, IntCounterVec::new(Opts::new(name, help), labels))
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    registered(registry, IntGauge::new(name, help))
}

fn gauge_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntGaugeVec> {
    registered(registry, IntGaugeVec::new(Opts::new(name, help), labels))
}

impl Metrics {
    /// Register every family; `token` protects the endpoint (unset: every scrape gets 401).
    pub fn new(token: Option<&str>) -> prometheus::Result<Metrics> {
        let r = Registry::new_custom(Some("roster".into()), None)?;
        let buckets = vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
        let latency = registered(
            &r,
            HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "Request latency by route template and method",
                )
                .buckets(buckets),
                &["route", "method"],
            ),
        )?;
        let outbox_oldest = registered(
            &r,
            Gauge::new(
                "outbox_oldest_pending_age_seconds",
                "Age of the oldest event still waiting for a delivery (0 when none)",
            ),
        )?;
        Ok(Metrics {
            token: token.map(OperatorKey::new),
            requests: counter(
                &r,
                "http_requests_total",
                "Requests by route template, method, status and authenticated connection",
                &["route", "method", "status", "connection"],
            )?,
            latency,
            tolerance: counter(&r, "tolerance_rules_total", "IdP tolerance rules fired, by rule", &["rule"])?,
            scim_errors: counter(
                &r,
                "scim_errors_total",
                "Error responses by scimType (none: no scimType)",
                &["scim_type"],
            )?,
            auth_failures: counter(
                &r,
                "auth_failures_total",
                "Failed credentials (401) by surface: scim, admin, oauth, metrics",
                &["surface"],
            )?,
            pool: gauge_vec(
                &r,
                "db_pool_connections",
                "Database pool connections by state (in_use, idle, waiting)",
                &["state"],
            )?,
            log_queue: gauge(
                &r,
                "provisioning_log_queue_depth",
                "Provisioning-log entries queued, not yet written",
            )?,
            log_dropped: gauge(
                &r,
                "provisioning_log_dropped_total",
                "Provisioning-log entries dropped (should stay 0)",
            )?,
            outbox_pending: gauge(&r, "outbox_pending_deliveries", "Event deliveries not yet made")?,
            outbox_oldest,
            outbox_failing: gauge_vec(
                &r,
                "outbox_failing_deliveries",
                "Pending deliveries that failed at least once, per receiver (webhook id)",
                &["receiver"],
            )?,
            imports: gauge(&r, "imports_running", "Member imports running in this process")?,
            database_up: gauge(
                &r,
                "metrics_database_up",
                "1 when the scrape could read the database-backed gauges",
            )?,
            registry: r,
        })
    }

    /// Count one finished request (in-process only; no I/O). Every label comes from a bounded
    /// set: route templates, standard methods (others are `other`), statuses, connection ids of
    /// authenticated requests, rule names.
    pub fn observe(&self, o: &Observed<'_>) {
        let connection = o.connection.map_or_else(|| "none".to_string(), |c| c.to_string());
        let status = o.status.to_string();
        let method = match o.method {
            m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
            _ => "other",
        };
        self.requests.with_label_values(&[o.route, method, &status, &connection]).inc();
        self.latency.with_label_values(&[o.route, method]).observe(o.seconds);
        if let Some(scim_type) = o.scim_type {
            self.scim_errors.with_label_values(&[scim_type]).inc();
        }
        for rule in o.rules {
            // Notes carry a value after the name ("unknown_attribute: foo"); count by name only.
            let name = rule.split(':').next().unwrap_or(rule).trim();
            let known = name.len() <= 40 && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            self.tolerance.with_label_values(&[if known { name } else { "other" }]).inc();
        }
        if o.status == 401 {
            let surface = match o.route.split('/').nth(1) {
                Some("scim") => "scim",
                Some("admin") => "admin",
                Some("oauth") => "oauth",
                Some("metrics") => "metrics",
                _ => "other",
            };
            self.auth_failures.with_label_values(&[surface]).inc();
        }
    }

    /// Read the scrape-time gauges and encode every family.
    async fn render(&self, state: &AppState) -> Result<String, ScimError> {
        // Every worker's pool and the background tasks' one.
        let (mut size, mut idle, mut waiting) = (0, 0, 0);
        for pool in state.pools.live().iter().chain([&state.background]) {
            let status = pool.status();
            (size, idle, waiting) = (size + status.size, idle + status.available, waiting + status.waiting);
        }
        let in_use = size.saturating_sub(idle);
        for (label, value) in [("in_use", in_use), ("idle", idle), ("waiting", waiting)] {
            self.pool.with_label_values(&[label]).set(value as i64);
        }
        self.log_queue.set(state.recorder.queue_depth() as i64);
        self.log_dropped.set(i64::try_from(state.recorder.dropped()).unwrap_or(i64::MAX));
        self.imports.set(crate::import::running());
        let outbox = async {
            let mut conn = crate::db::checkout(&state.pool, crate::db::Scope::All).await.ok()?;
            crate::db::ops::outbox(&mut conn).await.ok()
        };
        match tokio::time::timeout(SCRAPE_DB_TIMEOUT, outbox).await.ok().flatten() {
            Some(o) => {
                self.database_up.set(1);
                self.outbox_pending.set(o.pending);
                let age = o
                    .oldest_pending
                    .map_or(0.0, |t| (state.clock.now() - t).num_milliseconds() as f64 / 1000.0);
                self.outbox_oldest.set(age.max(0.0));
                self.outbox_failing.reset();
                for (receiver, n) in o.failing {
                    self.outbox_failing.with_label_values(&[&receiver.to_string()]).set(n);
                }
            }
            None => self.database_up.set(0),
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| ScimError::internal(anyhow::anyhow!(e)))?;
        String::from_utf8(out).map_err(|e| ScimError::internal(anyhow::anyhow!(e)))
    }

    fn admit(&self, req: &HttpRequest) -> Result<(), ScimError> {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| crate::auth::bearer_token(h).ok());
        match (&self.token, presented) {
            (Some(key), Some(p)) if key.matches(p) => Ok(()),
            (None, _) => Err(ScimError::unauthorized(
                "metrics are disabled: set ROSTER_METRICS_TOKEN and scrape with it as a bearer token",
            )),
            _ => Err(ScimError::unauthorized("send `Authorization: Bearer <ROSTER_METRICS_TOKEN>`")),
        }
    }
}

/// GET /metrics.
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ScimError> {
    state.metrics.admit(&req)?;
    let body = state.metrics.render(&state).await?;
    Ok(HttpResponse::Ok()
        .content_type(TextEncoder::new().format_type())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observing_moves_the_counters() {
        let m = Metrics::new(Some("x")).unwrap();
        let rules = vec!["case_insensitive_op".to_string(), "unknown_attribute: foo".to_string()];
        m.observe(&Observed {
            route: "/scim/v2/{connection}/Users",
            method: "GET",
            status: 401,
            connection: None,
            seconds: 0.01,
            scim_type: Some("none"),
            rules: &rules,
        });
        let text = {
            let mut out = Vec::new();
            TextEncoder::new().encode(&m.registry.gather(), &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert!(text.contains(r#"roster_http_requests_total{connection="none",method="GET",route="/scim/v2/{connection}/Users",status="401"} 1"#), "{text}");
        assert!(text.contains(r#"roster_auth_failures_total{surface="scim"} 1"#));
        assert!(text.contains(r#"roster_tolerance_rules_total{rule="unknown_attribute"} 1"#));
        assert!(text.contains(r#"roster_scim_errors_total{scim_type="none"} 1"#));
    }
}
