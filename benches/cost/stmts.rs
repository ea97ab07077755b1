//! Statement counts from `pg_stat_statements`: which statements one operation costs.
//!
//! The cluster is started with `shared_preload_libraries = 'pg_stat_statements'` (see
//! [`ensure_preloaded`]); tracking is `none` while throughput is measured and `all` (top-level and
//! nested statements) while counting.

use diesel::sql_types::{BigInt, Bool, Double, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::common::load::exec;

/// Marker of the event dispatcher's claim statement (`db::events::claim_due`).
const DISPATCHER_CLAIM: &str = "FOR UPDATE OF d SKIP LOCKED";
/// Marker of the event dispatcher's probe for receivers with due deliveries, run on every wake
/// (`db::events::due_receivers`), before any claim.
const DISPATCHER_PROBE: &str = "GROUP BY d.tenant_id, d.webhook_id";

/// Whether pg_stat_statements is loaded; if not and `alter` is set, ask for it in
/// `postgresql.auto.conf` (effective after a restart). Returns whether it is loaded now.
pub async fn ensure_preloaded(url: &str, alter: bool) -> anyhow::Result<bool> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = Text)]
        s: String,
    }
    let s: S = diesel::sql_query("SELECT current_setting('shared_preload_libraries') AS s")
        .get_result(&mut conn)
        .await?;
    if s.s.split(',').any(|l| l.trim() == "pg_stat_statements") {
        exec(&mut conn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await?;
        return Ok(true);
    }
    if alter {
        let libs = if s.s.trim().is_empty() {
            "pg_stat_statements".to_string()
        } else {
            format!("{},pg_stat_statements", s.s)
        };
        exec(&mut conn, &format!("ALTER SYSTEM SET shared_preload_libraries = '{libs}'")).await?;
    }
    Ok(false)
}

/// Set `pg_stat_statements.track` (and `track_planning` on unless `none`) for every session
/// (ALTER SYSTEM + reload).
pub async fn track(conn: &mut AsyncPgConnection, what: &str) -> anyhow::Result<()> {
    exec(conn, &format!("ALTER SYSTEM SET pg_stat_statements.track = '{what}'")).await?;
    let planning = if what == "none" { "off" } else { "on" };
    exec(conn, &format!("ALTER SYSTEM SET pg_stat_statements.track_planning = {planning}")).await?;
    exec(conn, "SELECT pg_reload_conf()").await?;
    // Backends apply a reload between statements; give them a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    Ok(())
}

/// Forget all counts.
pub async fn reset(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    exec(conn, "SELECT pg_stat_statements_reset()").await.map(drop)
}

/// One normalised statement.
#[derive(Debug, Clone, QueryableByName)]
pub struct Stmt {
    /// Normalised text.
    #[diesel(sql_type = Text)]
    pub query: String,
    /// Executions.
    #[diesel(sql_type = BigInt)]
    pub calls: i64,
    /// Issued by a client (not from inside a function or trigger).
    #[diesel(sql_type = Bool)]
    pub toplevel: bool,
    /// Total planning time, ms.
    #[diesel(sql_type = Double)]
    pub plan_ms: f64,
    /// Total execution time, ms (of a top-level statement: including its nested ones).
    #[diesel(sql_type = Double)]
    pub exec_ms: f64,
}

/// The statements of the current database since the last reset, most called first, without
/// this bench's own monitoring statements.
pub async fn read(conn: &mut AsyncPgConnection) -> anyhow::Result<Vec<Stmt>> {
    Ok(diesel::sql_query(
        "SELECT query, calls, toplevel, total_plan_time AS plan_ms, total_exec_time AS exec_ms FROM pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_reload_conf%' \
         ORDER BY calls DESC, query",
    )
    .load(conn)
    .await?)
}

/// One statement of an operation.
#[derive(Debug, Clone)]
pub struct Line {
    /// Calls per request.
    pub calls: f64,
    /// Top-level (sent by Roster) or nested.
    pub toplevel: bool,
    /// Planning ms per call.
    pub plan_ms: f64,
    /// Execution ms per call.
    pub exec_ms: f64,
    /// Normalised text on one line; multi-row INSERTs of different row counts merged.
    pub text: String,
}

/// Statement counts of one operation.
#[derive(Debug, Clone)]
pub struct Counted {
    /// Operation name.
    pub op: String,
    /// Requests counted.
    pub requests: u64,
    /// Top-level statements per request, without the dispatcher's.
    pub toplevel: f64,
    /// Nested statements (functions, triggers, foreign-key checks) per request.
    pub nested: f64,
    /// Planning + execution ms of the top-level statements per request (sequential requests).
    pub db_ms: f64,
    /// Event-dispatcher runs per request (a probe for receivers with due deliveries, then per
    /// receiver BEGIN, claim, COMMIT), woken by the operation's event notifications; not
    /// included in `toplevel`.
    pub dispatcher: f64,
    /// The statements, most called first; dispatcher's claim excluded (its BEGIN/COMMIT are
    /// subtracted from those rows).
    pub lines: Vec<Line>,
    /// Requests that failed.
    pub errors: u64,
}

/// One-line text; `INSERT … VALUES (…), (…)` cut at VALUES so batches of any size are one line.
fn normalise(query: &str) -> String {
    let text: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.find(" VALUES (") {
        Some(at) if text.starts_with("INSERT") => format!("{} VALUES (…) [batches of any size]", &text[..at]),
        _ => text,
    }
}

/// Turn raw counts of `requests` requests into per-request figures. Each dispatcher run is a
/// probe for receivers with due deliveries, then per receiver one transaction (BEGIN, the claim,
/// COMMIT); those are subtracted.
pub fn summarise(op: &str, requests: u64, errors: u64, stmts: &[Stmt]) -> Counted {
    let n = requests.max(1) as f64;
    let claims: i64 = stmts.iter().filter(|s| s.query.contains(DISPATCHER_CLAIM)).map(|s| s.calls).sum();
    let probes: i64 = stmts.iter().filter(|s| s.query.contains(DISPATCHER_PROBE)).map(|s| s.calls).sum();
    // (calls, toplevel, plan, exec) per text.
    let mut merged: Vec<(String, bool, i64, f64, f64)> = Vec::new();
    for s in stmts {
        if s.query.contains(DISPATCHER_CLAIM) || s.query.contains(DISPATCHER_PROBE) {
            continue;
        }
        let mut calls = s.calls;
        let (mut plan, mut exec) = (s.plan_ms, s.exec_ms);
        let word = s.query.trim().to_ascii_uppercase();
        if s.toplevel && (word == "BEGIN" || word == "COMMIT") && calls > 0 {
            let keep = calls - claims.min(calls);
            plan *= keep as f64 / calls as f64;
            exec *= keep as f64 / calls as f64;
            calls = keep;
        }
        if calls == 0 {
            continue;
        }
        let text = normalise(&s.query);
        match merged.iter_mut().find(|m| m.0 == text && m.1 == s.toplevel) {
            Some(m) => {
                m.2 += calls;
                m.3 += plan;
                m.4 += exec;
            }
            None => merged.push((text, s.toplevel, calls, plan, exec)),
        }
    }
    let mut c = Counted {
        op: op.to_string(),
        requests,
        toplevel: 0.0,
        nested: 0.0,
        db_ms: 0.0,
        dispatcher: probes.max(claims) as f64 / n,
        lines: Vec::new(),
        errors,
    };
    for (text, toplevel, calls, plan, exec) in merged {
        if toplevel {
            c.toplevel += calls as f64 / n;
            c.db_ms += (plan + exec) / n;
        } else {
            c.nested += calls as f64 / n;
        }
        c.lines.push(Line {
            calls: calls as f64 / n,
            toplevel,
            plan_ms: plan / calls as f64,
            exec_ms: exec / calls as f64,
            text,
        });
    }
    c.lines.sort_by(|a, b| b.calls.total_cmp(&a.calls).then(b.toplevel.cmp(&a.toplevel)));
    c
}
