//! Member import from CSV and Excel (DESIGN §3 `import/`): organizations without an IdP load
//! their people from a spreadsheet. One entry point, [`run`], shared by `roster import members`
//! and `POST /admin/v1/tenants/{slug}/imports`, so both give the same [`Report`].
//!
//! * [`parse`]: bytes → table (CSV with detected delimiter, or the first sheet of an XLSX).
//! * [`mapping`]: which column feeds which field or category (the mapping file).
//! * [`catalog`]: the categories an import reads and creates.
//! * [`plan`]: per row `create` / `update` / `unchanged` / `skipped` / `error`, and `--sync`
//!   suspensions — pure, so a dry run shows exactly what an apply would do.
//! * [`apply`]: the plan written in one transaction, with events and provisioning-log entries.
//! * [`export`]: members out in the same columns (CSV or XLSX), and the empty template.

pub mod apply;
pub mod catalog;
pub mod export;
pub mod jobs;
pub mod mapping;
pub mod parse;
pub mod plan;
mod report;

pub use report::Report;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use uuid::Uuid;

use crate::db::tenants::Tenant;
use crate::db::{imports as store, Conn};
use crate::error::{ScimError, ScimResult};
use crate::scim::resource::fold_key;

/// How an import runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Plan only; write nothing.
    pub dry_run: bool,
    /// Suspend imported members absent from the file.
    pub sync: bool,
    /// Apply the valid rows even when some rows have errors.
    pub skip_invalid: bool,
    /// Ask for no invitations (`member.invitation_needed`) for the members this import creates
    /// or restores, whatever the tenant's "invite new members" setting.
    pub no_invitations: bool,
}

/// An uploaded file and its optional mapping file.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    /// The file name as uploaded (its extension helps to detect the format).
    pub file_name: Option<&'a str>,
    /// The file.
    pub bytes: &'a [u8],
    /// The mapping file (JSON), when given.
    pub mapping: Option<&'a [u8]>,
}

/// How long one statement of an applied import (and the wait for another import of the tenant)
/// may run, in place of `ROSTER_DB_STATEMENT_TIMEOUT_MS`: a 10,000-row file has statements
/// that take longer than a request's 30 s on a small machine.
pub const APPLY_STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// Imports running in this process (the `roster_imports_running` gauge of `GET /metrics`).
static RUNNING: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// How many imports this process is running now.
pub fn running() -> i64 {
    RUNNING.load(std::sync::atomic::Ordering::Relaxed)
}

/// Counts one running import for as long as it lives.
struct Running;

impl Running {
    fn start() -> Running {
        RUNNING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Where a running import is, for whoever watches it ([`jobs`]): a phase, and within the phase
/// that counts rows, how many of how many.
#[derive(Debug, Default)]
pub struct Progress {
    phase: std::sync::Mutex<&'static str>,
    done: std::sync::atomic::AtomicUsize,
    total: std::sync::atomic::AtomicUsize,
}

impl Progress {
    /// Enter a phase of `total` steps (0: not counted).
    pub fn phase(&self, phase: &'static str, total: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        *self.phase.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = phase;
        self.done.store(0, Relaxed);
        self.total.store(total, Relaxed);
    }

    /// One step of the phase done.
    pub fn step(&self) {
        self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The phase and its steps (done, total).
    pub fn now(&self) -> (&'static str, usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        let phase = *self.phase.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (phase, self.done.load(Relaxed), self.total.load(Relaxed))
    }
}

/// Plan an import and, unless it is a dry run or has errors (without `skip_invalid`), apply it
/// in one transaction. File-level problems (unreadable file, bad mapping, missing columns, too
/// many rows) are errors before anything is read from or written to the tenant's members.
pub async fn run(
    conn: &mut Conn,
    tenant: &Tenant,
    upload: Upload<'_>,
    options: Options,
    max_rows: usize,
    now: DateTime<Utc>,
) -> ScimResult<Report> {
    run_watched(conn, tenant, upload, options, max_rows, now, &Progress::default()).await
}

/// [`run`], reporting where it is to `progress`.
pub async fn run_watched(
    conn: &mut Conn,
    tenant: &Tenant,
    upload: Upload<'_>,
    options: Options,
    max_rows: usize,
    now: DateTime<Utc>,
    progress: &Progress,
) -> ScimResult<Report> {
    let _running = Running::start();
    progress.phase("reading the file", 0);
    let format = parse::detect(upload.file_name, upload.bytes);
    let table =
        parse::parse(upload.bytes, format, &parse::Limits::with_rows(max_rows)).map_err(|e| match e {
            parse::ParseError::Invalid(m) => ScimError::invalid_value(m),
            parse::ParseError::TooLarge(m) => ScimError::payload_too_large(m),
        })?;
    let mapping = match upload.mapping {
        Some(bytes) => mapping::Mapping::parse(bytes).map_err(ScimError::invalid_value)?,
        None => mapping::Mapping::default(),
    };
    if options.dry_run {
        return plan_and_apply(conn, tenant, &table, format, &mapping, options, now, progress).await;
    }
    // An apply reads the tenant's state and writes in one transaction, behind a per-tenant lock,
    // so the plan it writes is the plan of the state it sees and two imports never interleave.
    conn.transaction::<_, ScimError, _>(async |conn| {
        crate::db::allow_long_statements(conn, APPLY_STATEMENT_TIMEOUT).await?;
        progress.phase("waiting for another import of the tenant", 0);
        store::lock_tenant_imports(conn, tenant.id).await?;
        plan_and_apply(conn, tenant, &table, format, &mapping, options, now, progress).await
    })
    .await
}

/// Read the tenant's state, plan, and apply unless it is a dry run or refused.
#[allow(clippy::too_many_arguments)]
async fn plan_and_apply(
    conn: &mut Conn,
    tenant: &Tenant,
    table: &parse::Table,
    format: parse::Format,
    mapping: &mapping::Mapping,
    options: Options,
    now: DateTime<Utc>,
    progress: &Progress,
) -> ScimResult<Report> {
    progress.phase("planning", 0);
    let categories = catalog::load(conn, tenant.id).await?;
    let uses = mapping::resolve(&table.headers, mapping, &categories).map_err(ScimError::invalid_value)?;

    let (pids, keys) = identity_keys(table, &uses);
    let members = store::members(conn, tenant.id, &pids, &keys).await?;
    let removed = restorable(conn, tenant.id, &pids, &keys, now).await?;
    let member_ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
    let member_groups = store::direct_groups(conn, tenant.id, &member_ids).await?;
    let teams = store::teams(conn, tenant.id).await?;
    let roles = store::roles(conn, tenant.id).await?;
    let default_role = store::default_role(conn, tenant.id).await?;
    let snapshot = plan::Snapshot {
        roles: &roles,
        default_role: &default_role,
        teams: &teams,
        members: &members,
        member_groups: &member_groups,
        removed: &removed,
    };
    let mut plan = plan::plan(&table.rows, &uses, &snapshot, options.sync);

    let mut report = Report::new(tenant, format, options, &table.headers, &uses, mapping);
    let errors = plan.count(plan::Action::Error);
    let written = if options.dry_run {
        None
    } else if errors > 0 && !options.skip_invalid {
        report.refused = Some(format!(
            "{errors} row(s) have errors; nothing was written (fix them, or apply the valid rows with skip_invalid)"
        ));
        None
    } else {
        Some(apply::apply(conn, tenant.id, &mut plan, options, now, progress).await?)
    };
    report.fill(&plan, written);
    Ok(report)
}

/// The removed members of earlier imports the file can restore (within the tenant's retention
/// period), each with the status it gets back: what its invitation state implies.
async fn restorable(
    conn: &mut Conn,
    tenant: Uuid,
    pids: &[String],
    keys: &[String],
    now: DateTime<Utc>,
) -> ScimResult<Vec<store::ImportMember>> {
    let (retention_days, _, _) = crate::db::tenants::member_settings(conn, tenant).await?;
    let cutoff = now - chrono::Duration::days(i64::from(retention_days));
    let found = store::removed_members(conn, tenant, pids, keys, cutoff).await?;
    Ok(found
        .into_iter()
        .map(|(mut m, invitations, joined)| {
            m.status = crate::directory::users::status_for(true, invitations, joined).into();
            m
        })
        .collect())
}

/// The personal ids and folded emails of the file, to read only the members it can match.
fn identity_keys(table: &parse::Table, uses: &[mapping::ColumnUse]) -> (Vec<String>, Vec<String>) {
    use mapping::{ColumnUse, Field};
    let col = |f: Field| uses.iter().position(|u| *u == ColumnUse::Field(f));
    let (pid, email) = (col(Field::PersonalId), col(Field::Email));
    let mut pids = Vec::new();
    let mut keys = Vec::new();
    for row in &table.rows {
        let e = email.map(|i| row.cells[i].trim()).unwrap_or_default();
        let p = pid.map(|i| row.cells[i].trim()).filter(|p| !p.is_empty()).unwrap_or(e);
        if !p.is_empty() {
            pids.push(p.to_string());
        }
        if !e.is_empty() {
            keys.push(fold_key(e));
        }
    }
    (pids, keys)
}
