//! Where a `GET /Users/{id}` spends its CPU (`--only anatomy`, part of every full run).
//!
//! In the same run: PostgreSQL alone (`pgbench`) on Roster's member read with one part taken
//! away at a time (`ceiling::Cut`), the same read without row-level security, the raw statement,
//! and `GET /healthz` through the bench's own HTTP clients (what HTTP and the load generator cost
//! before Roster does anything). The report sets these against the CPU a GET may use for Roster
//! to reach its target, so that what stands between Roster and the target is a measurement, not
//! a guess.

use diesel_async::RunQueryDsl;

use super::ceiling::{self, Cut, Token};
use super::drive::{Outcome, Pgbench};
use super::med;

/// One statement measured by PostgreSQL alone.
pub struct Variant {
    /// What it is.
    pub name: &'static str,
    /// Script file name.
    pub file: &'static str,
    /// The pgbench script.
    pub script: String,
    /// Run as Roster's connections run (`roster_tenant`, row security on); otherwise as the
    /// bench's own role, which row security does not apply to.
    pub as_roster: bool,
    /// The windows.
    pub outs: Vec<Outcome>,
}

/// The variants, Roster's statement first. `raw` is the raw script of the GET scenario.
pub fn variants(users: u64, uid: &str, token: &Token<'_>, raw: &str) -> Vec<Variant> {
    let v = |name, file, cut, as_roster| Variant {
        name,
        file,
        script: ceiling::get_cut(users, uid, token, cut),
        as_roster,
        outs: Vec::new(),
    };
    vec![
        v("Roster's statement (as `roster_tenant`, row security on)", "anatomy_full", Cut::Nothing, true),
        v("the same, row security off", "anatomy_no_rls", Cut::Nothing, false),
        v(
            "without the groups' nesting check (direct memberships)",
            "anatomy_direct",
            Cut::NestingCheck,
            true,
        ),
        v("without the groups", "anatomy_no_groups", Cut::Groups, true),
        v("without the token check", "anatomy_no_token", Cut::TokenCheck, true),
        v("the member row and its position only", "anatomy_member", Cut::AllButMember, true),
        Variant {
            name: "raw `SELECT * FROM users` (the GET scenario's raw statement)",
            file: "anatomy_raw",
            script: raw.to_string(),
            as_roster: false,
            outs: Vec::new(),
        },
    ]
}

/// Fail unless every variant still reads the member (a cut that broke the statement would
/// return nothing, and look fast). Run as `roster_tenant`, rolled back.
pub async fn check(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: &str,
    variants: &[Variant],
) -> anyhow::Result<()> {
    use diesel_async::{AnsiTransactionManager, SimpleAsyncConnection, TransactionManager};
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    AnsiTransactionManager::begin_transaction(conn).await?;
    let result = async {
        conn.batch_execute(&format!("SET LOCAL ROLE roster_tenant; SET LOCAL roster.tenant = '{tenant}'"))
            .await?;
        for v in variants {
            let last = v.script.trim_end().lines().last().unwrap_or_default();
            let sql = format!(
                "SELECT count(*) AS n FROM ({}) s WHERE s.id IS NOT NULL",
                last.trim_end_matches(';').replace("(:i)", "(3)")
            );
            let found: N = diesel::sql_query(&sql).get_result(conn).await?;
            anyhow::ensure!(found.n == 1, "anatomy variant `{}` found {} members, not 1", v.name, found.n);
        }
        Ok(())
    }
    .await;
    AnsiTransactionManager::rollback_transaction(conn).await?;
    result
}

/// Run every variant once (one window each), in order.
pub fn run_once(
    variants: &mut [Variant],
    as_roster: &Pgbench,
    own: &Pgbench,
    clients: usize,
    secs: u64,
    meter: &super::drive::Meter,
) -> anyhow::Result<()> {
    for v in variants {
        let pg = if v.as_roster { as_roster } else { own };
        let path = pg.script(v.file, &v.script)?;
        let o = pg.run(&path, clients, secs, meter)?;
        println!("  {}: {:.0}/s, PG CPU {:.3} ms/tx", v.name, o.rate, o.pg_ms());
        v.outs.push(o);
    }
    Ok(())
}

/// Medians of what the report needs from a GET window of Roster (the GET scenario's).
pub struct GetCost {
    /// Requests per second.
    pub rate: f64,
    /// CPU ms per request: roster serve, PostgreSQL, the load generator.
    pub roster: f64,
    pub pg: f64,
    pub client: f64,
    /// The raw statement's rate in the same runs.
    pub raw: f64,
    /// The target (Roster ÷ raw).
    pub target: f64,
}

/// The report section.
pub fn report(
    s: &mut String,
    variants: &[Variant],
    healthz: &[Outcome],
    get: Option<&GetCost>,
    cores: usize,
) {
    use std::fmt::Write;
    if variants.iter().all(|v| v.outs.is_empty()) {
        return;
    }
    let _ = writeln!(s, "\n### Anatomy of a GET /Users/{{id}}\n");
    let _ = writeln!(
        s,
        "PostgreSQL alone (`pgbench -M prepared`, same clients and windows) on Roster's member read with one \
         part taken away at a time (`benches/cost/anatomy.rs`), then `GET /healthz` through the bench's HTTP \
         clients. Medians of the runs.\n"
    );
    let _ = writeln!(s, "| Statement | tx/s | ÷ Roster's statement | PG CPU ms/tx |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    let full = variants.first().map_or(f64::NAN, |v| med(v.outs.iter().map(|o| o.rate)));
    for v in variants {
        let rate = med(v.outs.iter().map(|o| o.rate));
        let _ = writeln!(
            s,
            "| {} | {:.0} | {:.2} | {:.3} |",
            v.name,
            rate,
            rate / full,
            med(v.outs.iter().map(Outcome::pg_ms))
        );
    }
    let full_pg = variants.first().map_or(f64::NAN, |v| med(v.outs.iter().map(Outcome::pg_ms)));
    let h_rate = med(healthz.iter().map(|o| o.rate));
    let h_roster = med(healthz.iter().map(Outcome::roster_ms));
    let h_client = med(healthz.iter().map(Outcome::client_ms));
    let h_errors: u64 = healthz.iter().map(|o| o.errors).sum();
    let _ = writeln!(
        s,
        "\n`GET /healthz` (no token, no database): {h_rate:.0} req/s; CPU ms/req roster serve {h_roster:.4}, load \
         generator {h_client:.4}; {h_errors} transport errors.\n"
    );
    let Some(g) = get else { return };
    let budget = cores as f64 * 1000.0 / (g.target * g.raw);
    let floor = h_client + h_roster + full_pg;
    let _ = writeln!(
        s,
        "**Budget.** Roster's target for a GET is {:.2} × the raw rate ({:.0}/s) = {:.0} req/s: on {cores} cores the \
         whole machine (load generator included) may spend **{budget:.3} ms** of CPU per GET. Measured in the GET \
         windows: load generator {:.3} + roster serve {:.3} + PostgreSQL {:.3} = **{:.3} ms** ({:.0} req/s). \
         Floor with everything Roster does beyond HTTP costing nothing, and PostgreSQL costing only what it \
         costs pgbench to run the statement (no provisioning-log row): load generator {h_client:.3} (as for \
         /healthz) + HTTP {h_roster:.3} + statement {full_pg:.3} = **{floor:.3} ms**; what is left for Roster's \
         own work (token signature, the query round trip, JSON, the log row) is **{:.3} ms**, against \
         {:.3} ms it takes now.",
        g.target,
        g.raw,
        g.target * g.raw,
        g.client,
        g.roster,
        g.pg,
        g.client + g.roster + g.pg,
        g.rate,
        budget - floor,
        g.roster - h_roster + (g.pg - full_pg),
    );
}
