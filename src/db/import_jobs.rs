//! Background imports' progress and outcome (`import_jobs`, migration 000023).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::Conn;

/// A job as stored.
#[derive(Debug, Clone, QueryableByName)]
pub struct JobRow {
    /// Job id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// The uploaded file's name.
    #[diesel(sql_type = Nullable<Text>)]
    pub file_name: Option<String>,
    /// `running`, `done` or `failed`.
    #[diesel(sql_type = Text)]
    pub state: String,
    /// Where it is (or ended).
    #[diesel(sql_type = Text)]
    pub phase: String,
    /// Steps of the phase done.
    #[diesel(sql_type = Integer)]
    pub done: i32,
    /// Steps of the phase (0: not counted).
    #[diesel(sql_type = Integer)]
    pub total: i32,
    /// The import's report, once it ended with one.
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub report: Option<Value>,
    /// Why it failed.
    #[diesel(sql_type = Nullable<Text>)]
    pub error: Option<String>,
    /// The HTTP status the failure would have had.
    #[diesel(sql_type = Nullable<Integer>)]
    pub status: Option<i32>,
    /// Started.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// Last progress (twice a second while its process runs it).
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

/// The longest file name kept (the column's bound; a longer one is cut with `…`).
const MAX_FILE_NAME: usize = 400;
/// The longest failure reason kept (the column's bound).
const MAX_ERROR: usize = 4000;

/// Store a new running job. The file name is the client's: control characters escaped, cut to
/// [`MAX_FILE_NAME`].
pub async fn insert(
    conn: &mut Conn,
    tenant: Uuid,
    id: Uuid,
    file_name: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO import_jobs (tenant_id, id, file_name, state, phase, created_at, updated_at) \
         VALUES ($1, $2, $3, 'running', 'queued', $4, $4)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<Text>, _>(file_name.map(|n| crate::text::storable(n, MAX_FILE_NAME)))
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(drop)
}

/// Record a running job's progress.
pub async fn progress(
    conn: &mut Conn,
    tenant: Uuid,
    id: Uuid,
    (phase, done, total): (&str, i32, i32),
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE import_jobs SET phase = $3, done = $4, total = $5, updated_at = $6 \
         WHERE tenant_id = $1 AND id = $2 AND state = 'running'",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(phase)
    .bind::<Integer, _>(done)
    .bind::<Integer, _>(total)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(drop)
}

/// Record how a job ended: `done` with its report, or `failed` with the error (and the report,
/// when the import refused to write). The error is made storable and cut to [`MAX_ERROR`].
pub async fn finish(
    conn: &mut Conn,
    tenant: Uuid,
    id: Uuid,
    failed: Option<(&str, i32)>,
    report: Option<&Value>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE import_jobs SET state = $3, phase = 'finished', report = $4, error = $5, status = $6, \
         updated_at = $7 WHERE tenant_id = $1 AND id = $2",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(if failed.is_some() { "failed" } else { "done" })
    .bind::<Nullable<Jsonb>, _>(report)
    .bind::<Nullable<Text>, _>(failed.map(|(e, _)| crate::text::storable(e, MAX_ERROR)))
    .bind::<Nullable<Integer>, _>(failed.map(|(_, s)| s))
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(drop)
}

/// One job of the tenant.
pub async fn find(conn: &mut Conn, tenant: Uuid, id: Uuid) -> QueryResult<Option<JobRow>> {
    diesel::sql_query(
        "SELECT id, file_name, state, phase, done, total, report, error, status, created_at, updated_at \
         FROM import_jobs WHERE tenant_id = $1 AND id = $2",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await
    .optional()
}

/// Delete jobs that ended (or stopped moving) before `cutoff`: their reports name members.
pub async fn prune(conn: &mut Conn, cutoff: DateTime<Utc>) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM import_jobs WHERE updated_at < $1")
        .bind::<Timestamptz, _>(cutoff)
        .execute(conn)
        .await
}
