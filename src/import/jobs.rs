//! Imports in the background: the console wizard's larger files and the admin API's
//! `?background=true`. A job is the same [`super::run_watched`] as any import (so the same plan,
//! transaction, rules, events and log), run in a task of the process that took the request; its
//! progress and outcome are kept in `import_jobs`, so any process can show them.
//!
//! The task writes the import's [`Progress`] to the job's row twice a second. A running job whose
//! row has not moved for [`STALE_AFTER`] was interrupted: its process ended, and with it the
//! import's transaction, which never committed. Jobs are deleted a day after they end (their
//! reports name members).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{Options, Progress, Upload};
use crate::clock::Clock;
use crate::db::import_jobs::{self as store, JobRow};
use crate::db::tenants::Tenant;
use crate::db::{self, DbPool};
use crate::error::{ScimError, ScimResult};

/// How often a running job's progress is written.
const TICK: Duration = Duration::from_millis(500);

/// A running job whose progress has not moved for this long was interrupted.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::seconds(30);

/// How long an ended job is kept.
pub const KEPT_FOR: chrono::Duration = chrono::Duration::days(1);

/// Background imports one process runs at once. Each holds its file (up to the upload limit)
/// in memory and a database connection until it ends, past the request that started it; the
/// next one is refused with 429 and `Retry-After` ([`RETRY_AFTER_SECS`]) rather than queued.
pub const MAX_IN_PROCESS: usize = 4;

/// The `Retry-After` of a background import refused because [`MAX_IN_PROCESS`] are running.
pub const RETRY_AFTER_SECS: u64 = 30;

static IN_PROCESS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One of the [`MAX_IN_PROCESS`] places, held by a job's task until it ends.
struct Place;

impl Place {
    fn take() -> Option<Place> {
        use std::sync::atomic::Ordering::AcqRel;
        IN_PROCESS
            .fetch_update(AcqRel, std::sync::atomic::Ordering::Acquire, |n| {
                (n < MAX_IN_PROCESS).then_some(n + 1)
            })
            .ok()?;
        Some(Place)
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        IN_PROCESS.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Whether `err` is [`start`]'s refusal because the process runs [`MAX_IN_PROCESS`] jobs.
pub fn is_busy(err: &ScimError) -> bool {
    err.status() == 429
}

/// An import to run in the background: the upload, owned.
#[derive(Debug, Clone)]
pub struct Job {
    /// The tenant imported into.
    pub tenant: Tenant,
    /// The file's name as uploaded.
    pub file_name: Option<String>,
    /// The file.
    pub bytes: Vec<u8>,
    /// The mapping file (JSON), when given.
    pub mapping: Option<Vec<u8>>,
    /// How it runs.
    pub options: Options,
    /// `ROSTER_IMPORT_MAX_ROWS`.
    pub max_rows: usize,
}

/// Store the job as running and start it in a task of this process; returns its id. 429 when
/// the process already runs [`MAX_IN_PROCESS`] background imports (nothing is stored then).
///
/// `pool` is the background tasks' pool, not an HTTP worker's: the job holds a connection for its
/// whole run and writes its progress on another meanwhile, which must never wait behind the
/// worker's requests (a worker may have a single connection, `db::WorkerPools`), nor make them
/// wait.
pub async fn start(pool: &DbPool, clock: Arc<dyn Clock>, job: Job) -> ScimResult<Uuid> {
    let place = Place::take().ok_or_else(|| {
        ScimError::with_status(
            429,
            format!(
                "this server is already running {MAX_IN_PROCESS} background imports; retry after the Retry-After \
                 delay ({RETRY_AFTER_SECS} s), or import a smaller file directly"
            ),
        )
    })?;
    let id = Uuid::now_v7();
    let tenant = job.tenant.id;
    let mut conn = db::checkout(pool, db::Scope::Tenant(tenant)).await?;
    store::insert(&mut conn, tenant, id, job.file_name.as_deref(), clock.now()).await?;
    drop(conn);
    let pool = pool.clone();
    tokio::spawn(async move {
        let _place = place;
        let progress = Progress::default();
        let work = async {
            let mut conn = db::checkout(&pool, db::Scope::Tenant(tenant)).await?;
            let upload = Upload {
                file_name: job.file_name.as_deref(),
                bytes: &job.bytes,
                mapping: job.mapping.as_deref(),
            };
            super::run_watched(
                &mut conn,
                &job.tenant,
                upload,
                job.options,
                job.max_rows,
                clock.now(),
                &progress,
            )
            .await
        };
        tokio::pin!(work);
        let mut ticks = tokio::time::interval(TICK);
        let outcome = loop {
            tokio::select! {
                outcome = &mut work => break outcome,
                _ = ticks.tick() => record_progress(&pool, tenant, id, &progress, clock.now()).await,
            }
        };
        let (failed, report) = match &outcome {
            Ok(report) => {
                let json = report.json();
                let refused = report.refused.clone().map(|why| (why, 422));
                (refused, Some(json))
            }
            Err(e) => (Some((e.detail().to_string(), i32::from(e.status()))), None),
        };
        if let Err(e) = &outcome {
            tracing::warn!(tenant.id = %tenant, job.id = %id, error = ?e, "background import failed");
        }
        let finished = match db::checkout(&pool, db::Scope::Tenant(tenant)).await {
            Ok(mut conn) => {
                let failed = failed.as_ref().map(|(why, status)| (why.as_str(), *status));
                store::finish(&mut conn, tenant, id, failed, report.as_ref(), clock.now())
                    .await
                    .map_err(Into::into)
            }
            Err(e) => Err(e),
        };
        if let Err(e) = finished {
            tracing::error!(tenant.id = %tenant, job.id = %id, error = ?e, "could not record the end of a background import");
        }
    });
    Ok(id)
}

async fn record_progress(
    pool: &DbPool,
    tenant: Uuid,
    id: Uuid,
    progress: &Progress,
    now: chrono::DateTime<chrono::Utc>,
) {
    let (phase, done, total) = progress.now();
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let written = match db::checkout(pool, db::Scope::Tenant(tenant)).await {
        Ok(mut conn) => store::progress(&mut conn, tenant, id, (phase, count(done), count(total)), now)
            .await
            .map_err(ScimError::from),
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        tracing::warn!(job.id = %id, error = ?e, "could not record a background import's progress");
    }
}

/// A job as people read it: `state` is `running`, `done`, `failed` or `interrupted` (running,
/// but its progress stopped: its process ended and nothing was written).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView<'a> {
    id: Uuid,
    file_name: Option<&'a str>,
    state: &'static str,
    phase: &'a str,
    done: i32,
    total: i32,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    report: Option<&'a Value>,
    error: Option<&'a str>,
    status: Option<i32>,
}

/// The view of a job at `now`.
pub fn view(job: &JobRow, now: chrono::DateTime<chrono::Utc>) -> JobView<'_> {
    JobView {
        id: job.id,
        file_name: job.file_name.as_deref(),
        state: state(job, now),
        phase: &job.phase,
        done: job.done,
        total: job.total,
        created_at: job.created_at,
        updated_at: job.updated_at,
        report: job.report.as_ref(),
        error: job.error.as_deref(),
        status: job.status,
    }
}

/// The state of a job (see [`view`]).
pub fn state(job: &JobRow, now: chrono::DateTime<chrono::Utc>) -> &'static str {
    match job.state.as_str() {
        "running" if now - job.updated_at > STALE_AFTER => "interrupted",
        "running" => "running",
        "done" => "done",
        _ => "failed",
    }
}

/// One job of the tenant (404 when there is none).
pub async fn find(conn: &mut db::Conn, tenant: Uuid, id: Uuid) -> ScimResult<JobRow> {
    store::find(conn, tenant, id)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("no import job {id} in this tenant")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, updated_ago: chrono::Duration, now: chrono::DateTime<chrono::Utc>) -> JobRow {
        JobRow {
            id: Uuid::nil(),
            file_name: None,
            state: state.into(),
            phase: "planning".into(),
            done: 0,
            total: 0,
            report: None,
            error: None,
            status: None,
            created_at: now - chrono::Duration::minutes(5),
            updated_at: now - updated_ago,
        }
    }

    #[test]
    fn a_running_job_whose_progress_stopped_was_interrupted() {
        let now = chrono::Utc::now();
        assert_eq!(state(&row("running", chrono::Duration::seconds(1), now), now), "running");
        assert_eq!(
            state(&row("running", STALE_AFTER + chrono::Duration::seconds(1), now), now),
            "interrupted"
        );
        // An ended job stays what it ended as, however old.
        assert_eq!(state(&row("done", chrono::Duration::hours(5), now), now), "done");
        assert_eq!(state(&row("failed", chrono::Duration::hours(5), now), now), "failed");
    }

    #[test]
    fn progress_counts_the_steps_of_its_phase() {
        let p = Progress::default();
        p.phase("writing members", 3);
        p.step();
        p.step();
        assert_eq!(p.now(), ("writing members", 2, 3));
        p.phase("provisioning log", 0);
        assert_eq!(p.now(), ("provisioning log", 0, 0));
    }

    #[test]
    fn a_process_holds_at_most_max_in_process_jobs_and_a_place_frees_when_its_job_ends() {
        // No other unit test starts a background import, so every place is free here.
        let mut held: Vec<Place> =
            (0..MAX_IN_PROCESS).map(|_| Place::take().expect("a free place")).collect();
        assert!(Place::take().is_none(), "one more than MAX_IN_PROCESS must be refused");
        held.pop();
        held.push(Place::take().expect("the ended job's place is free again"));
        assert!(Place::take().is_none());
        drop(held);
        assert!(Place::take().is_some(), "every place is free once the jobs end");
    }
}
