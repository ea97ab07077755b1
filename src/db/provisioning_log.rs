//! The provisioning log table: one row per authenticated SCIM request. Batched inserts, a
//! tenant's entries filtered and paged newest first (for the CLI now, the admin API later), and
//! the bounded retention delete.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{self, Bool};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::{provisioning_log, tenants};
use super::Conn;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = provisioning_log)]
struct Row {
    tenant_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
    connection_id: Option<Uuid>,
    request_id: String,
    method: String,
    resource_type: Option<String>,
    resource_id: Option<Uuid>,
    operation: String,
    status: i32,
    scim_type: Option<String>,
    detail: Option<String>,
    latency_ms: f64,
    rules: Vec<Option<String>>,
    source: String,
}

/// One entry: written by the recorder, and read back. As JSON (serde), a row of the table
/// (`jsonb_populate_record`), for a write that inserts its entry in its one SQL call. `Default`
/// is for tests: nil ids, the epoch, empty texts.
#[derive(Debug, Clone, PartialEq, Default, Insertable, serde::Serialize)]
#[diesel(table_name = provisioning_log)]
pub struct Entry {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Entry id.
    pub id: Uuid,
    /// When the request arrived.
    pub at: DateTime<Utc>,
    /// Connection (none for an import).
    pub connection_id: Option<Uuid>,
    /// `X-Request-Id`, or the import id for an import's entries.
    pub request_id: String,
    /// HTTP method.
    pub method: String,
    /// `User`, `Group`, or none.
    pub resource_type: Option<String>,
    /// Resource id, when known.
    pub resource_id: Option<Uuid>,
    /// Operation summary.
    pub operation: String,
    /// HTTP status.
    pub status: i32,
    /// `scimType` of an error.
    pub scim_type: Option<String>,
    /// `detail` of an error.
    pub detail: Option<String>,
    /// Latency in milliseconds.
    pub latency_ms: f64,
    /// Rules and notes.
    pub rules: Vec<String>,
    /// `scim` (a SCIM request), `import` (a member import, [`SOURCE_IMPORT`]) or `join` (a join
    /// API registration, [`SOURCE_JOIN`]).
    pub source: String,
}

/// The `source` of a SCIM request's entry.
pub const SOURCE_SCIM: &str = "scim";
/// The `source` of a member import's entries.
pub const SOURCE_IMPORT: &str = "import";
/// The `source` of a join API registration's entry.
pub const SOURCE_JOIN: &str = "join";

impl From<Row> for Entry {
    fn from(r: Row) -> Self {
        Entry {
            tenant_id: r.tenant_id,
            id: r.id,
            at: r.at,
            connection_id: r.connection_id,
            request_id: r.request_id,
            method: r.method,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
            operation: r.operation,
            status: r.status,
            scim_type: r.scim_type,
            detail: r.detail,
            latency_ms: r.latency_ms,
            rules: r.rules.into_iter().flatten().collect(),
            source: r.source,
        }
    }
}

impl Entry {
    /// Whether the request failed (status 400 or above).
    pub fn failed(&self) -> bool {
        self.status >= 400
    }

    /// The keyset position of this entry, to continue a listing after it.
    pub fn position(&self) -> Position {
        Position { at: self.at, id: self.id }
    }
}

/// Which outcomes to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Status below 400.
    Success,
    /// Status 400 or above.
    Failure,
}

/// A keyset position: list entries strictly older than this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The entry's time.
    pub at: DateTime<Utc>,
    /// The entry's id (tie-breaker).
    pub id: Uuid,
}

/// The largest page [`list`] returns.
pub const MAX_LIMIT: i64 = 1000;

/// What to list: every field narrows the result; the tenant is a separate, mandatory argument.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Only this connection.
    pub connection: Option<Uuid>,
    /// Only requests about this resource.
    pub resource_id: Option<Uuid>,
    /// Only successes or only failures.
    pub outcome: Option<Outcome>,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this time.
    pub until: Option<DateTime<Utc>>,
    /// Continue after this entry (the last one of the previous page).
    pub after: Option<Position>,
    /// Page size, clamped to 1..=[`MAX_LIMIT`].
    pub limit: i64,
}

/// Longest text each column takes, in characters (the table's CHECK constraints; `scim_type`,
/// `rules` and the source have none, these keep them short anyway).
mod column {
    pub const REQUEST_ID: usize = 64;
    pub const METHOD: usize = 16;
    pub const OPERATION: usize = 400;
    pub const DETAIL: usize = 2000;
    pub const SCIM_TYPE: usize = 64;
    pub const RULE: usize = 200;
    pub const RULES: usize = 64;
}

impl Entry {
    /// The entry as it can be stored whatever it holds: every text escaped (NUL and other
    /// control characters, see [`crate::text::storable`]) and cut to its column's limit with a
    /// `…` marker. A request's own text (a filter, a PATCH key, an id in the URL) reaches the
    /// log through the summary and the error detail, so this is what keeps one hostile request
    /// from failing the INSERT of a batch.
    pub fn storable(&self) -> Entry {
        use crate::text::storable;
        let rules = self.rules.iter().take(column::RULES).map(|r| storable(r, column::RULE)).collect();
        Entry {
            request_id: storable(&self.request_id, column::REQUEST_ID),
            method: storable(&self.method, column::METHOD),
            operation: storable(&self.operation, column::OPERATION),
            scim_type: self.scim_type.as_deref().map(|t| storable(t, column::SCIM_TYPE)),
            detail: self.detail.as_deref().map(|d| storable(d, column::DETAIL)),
            latency_ms: if self.latency_ms.is_finite() { self.latency_ms.max(0.0) } else { 0.0 },
            status: self.status.clamp(100, 599),
            rules,
            ..self.clone()
        }
    }
}

diesel::define_sql_function! {
    /// `roster_log_rows` (migration 000038): rows of `provisioning_log`, one array per column.
    #[allow(clippy::too_many_arguments)]
    fn roster_log_rows(
        tenant: sql_types::Array<sql_types::Uuid>,
        id: sql_types::Array<sql_types::Uuid>,
        at: sql_types::Array<sql_types::Timestamptz>,
        connection: sql_types::Array<sql_types::Nullable<sql_types::Uuid>>,
        request: sql_types::Array<sql_types::Text>,
        method: sql_types::Array<sql_types::Text>,
        resource_type: sql_types::Array<sql_types::Nullable<sql_types::Text>>,
        resource: sql_types::Array<sql_types::Nullable<sql_types::Uuid>>,
        operation: sql_types::Array<sql_types::Text>,
        status: sql_types::Array<sql_types::Integer>,
        scim_type: sql_types::Array<sql_types::Nullable<sql_types::Text>>,
        detail: sql_types::Array<sql_types::Nullable<sql_types::Text>>,
        latency: sql_types::Array<sql_types::Double>,
        rules: sql_types::Array<sql_types::Nullable<sql_types::Jsonb>>,
        source: sql_types::Array<sql_types::Text>,
    ) -> sql_types::Integer;
}

/// A batch of entries as `roster_log_rows` takes it: one array per column.
#[derive(Default)]
struct Columns {
    tenant: Vec<Uuid>,
    id: Vec<Uuid>,
    at: Vec<DateTime<Utc>>,
    connection: Vec<Option<Uuid>>,
    request: Vec<String>,
    method: Vec<String>,
    resource_type: Vec<Option<String>>,
    resource: Vec<Option<Uuid>>,
    operation: Vec<String>,
    status: Vec<i32>,
    scim_type: Vec<Option<String>>,
    detail: Vec<Option<String>>,
    latency: Vec<f64>,
    /// A JSON array of the row's rules, none when it has none.
    rules: Vec<Option<serde_json::Value>>,
    source: Vec<String>,
}

impl Columns {
    /// `entries`, each made [storable](Entry::storable).
    fn of(entries: &[Entry]) -> Columns {
        let mut c = Columns::default();
        for e in entries.iter().map(Entry::storable) {
            c.tenant.push(e.tenant_id);
            c.id.push(e.id);
            c.at.push(e.at);
            c.connection.push(e.connection_id);
            c.request.push(e.request_id);
            c.method.push(e.method);
            c.resource_type.push(e.resource_type);
            c.resource.push(e.resource_id);
            c.operation.push(e.operation);
            c.status.push(e.status);
            c.scim_type.push(e.scim_type);
            c.detail.push(e.detail);
            c.latency.push(e.latency_ms);
            c.rules.push((!e.rules.is_empty()).then(|| serde_json::Value::from(e.rules)));
            c.source.push(e.source);
        }
        c
    }
}

/// Insert entries in one prepared call, each made [storable](Entry::storable) first: one array
/// per column whatever the batch size, planned once per connection (a multi-row INSERT of 500
/// rows × 15 parameters was parsed and planned for every batch), and nothing for PostgreSQL to
/// parse but a row's rules, when it has any. Returns how many were inserted: entries of a tenant
/// that does not exist (or no longer does) are left out, not refused (migration 000043).
pub async fn insert_many(conn: &mut Conn, entries: &[Entry]) -> QueryResult<usize> {
    if entries.is_empty() {
        return Ok(0);
    }
    let c = Columns::of(entries);
    let call = roster_log_rows(
        c.tenant,
        c.id,
        c.at,
        c.connection,
        c.request,
        c.method,
        c.resource_type,
        c.resource,
        c.operation,
        c.status,
        c.scim_type,
        c.detail,
        c.latency,
        c.rules,
        c.source,
    );
    let n: i32 = diesel::select(call).get_result(conn).await?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// One entry, [storable](Entry::storable), as a row of `provisioning_log` in JSON: what a write
/// hands its own statement to insert (`roster_log_row`, migration 000028).
pub fn row_json(entry: &Entry) -> serde_json::Result<serde_json::Value> {
    serde_json::to_value(entry.storable())
}

/// A tenant's entries matching `query`, newest first (ties broken by id), one page.
pub async fn list(conn: &mut Conn, tenant_id: Uuid, query: &LogQuery) -> QueryResult<Vec<Entry>> {
    use provisioning_log::dsl as l;
    let mut q = l::provisioning_log.filter(l::tenant_id.eq(tenant_id)).select(Row::as_select()).into_boxed();
    if let Some(c) = query.connection {
        q = q.filter(l::connection_id.eq(c));
    }
    if let Some(r) = query.resource_id {
        q = q.filter(l::resource_id.eq(r));
    }
    // Literals, not bind parameters, so the planner can use the partial failures index.
    match query.outcome {
        Some(Outcome::Failure) => q = q.filter(diesel::dsl::sql::<Bool>("status >= 400")),
        Some(Outcome::Success) => q = q.filter(diesel::dsl::sql::<Bool>("status < 400")),
        None => {}
    }
    if let Some(since) = query.since {
        q = q.filter(l::at.ge(since));
    }
    if let Some(until) = query.until {
        q = q.filter(l::at.lt(until));
    }
    if let Some(p) = query.after {
        q = q.filter(l::at.lt(p.at).or(l::at.eq(p.at).and(l::id.lt(p.id))));
    }
    let rows: Vec<Row> =
        q.order((l::at.desc(), l::id.desc())).limit(query.limit.clamp(1, MAX_LIMIT)).load(conn).await?;
    Ok(rows.into_iter().map(Entry::from).collect())
}

/// [`delete_batch_before`]'s statement. The rows are gathered first, oldest first through
/// `provisioning_log_at`, into one array of their addresses (an init-plan, run once), and deleted
/// by address (a TID scan, the only way the outer statement can go): a batch costs one index range
/// and `limit` row fetches whatever the planner believes. Log rows are never updated, and the
/// statement's snapshot keeps a row it saw from being vacuumed away, so an address still names
/// the row it was read from. As `id IN (SELECT … LIMIT $3)` the planner, misled by statistics
/// taken before the tenant had rows, re-ran the sub-select for each of the tenant's rows: 30 s and
/// 92 million buffer accesses for a tenant of 9,650 rows, quadratic beyond; as `id = ANY (ARRAY(…))`
/// it still scanned all the tenant's rows, comparing each with every id.
/// (Self-referencing; diesel's DSL cannot name the same table twice without an alias.)
pub const DELETE_BATCH_BEFORE: &str = "DELETE FROM provisioning_log WHERE ctid = ANY (ARRAY(\
     SELECT ctid FROM provisioning_log WHERE tenant_id = $1 AND at < $2 ORDER BY at LIMIT $3))";

/// Delete at most `limit` of a tenant's entries older than `cutoff`, oldest first; returns how
/// many went.
pub async fn delete_batch_before(
    conn: &mut Conn,
    tenant_id: Uuid,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    diesel::sql_query(DELETE_BATCH_BEFORE)
        .bind::<sql_types::Uuid, _>(tenant_id)
        .bind::<sql_types::Timestamptz, _>(cutoff)
        .bind::<sql_types::BigInt, _>(limit)
        .execute(conn)
        .await
}

/// Every tenant id (the retention delete walks tenants so each delete uses a tenant-first index).
pub async fn tenant_ids(conn: &mut Conn) -> QueryResult<Vec<Uuid>> {
    tenants::table.select(tenants::id).order(tenants::id).load(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storable_entry_fits_every_column_and_holds_no_nul() {
        let long = |c: &str, n: usize| c.repeat(n);
        let entry = Entry {
            tenant_id: Uuid::nil(),
            id: Uuid::nil(),
            at: Utc::now(),
            connection_id: None,
            request_id: long("\0", 100),
            method: long("M", 100),
            resource_type: Some("User".into()),
            resource_id: None,
            operation: format!("x\0{}", long("o", 1000)),
            status: 1000,
            scim_type: Some(long("t", 100)),
            detail: Some(long("\0", 5000)),
            latency_ms: f64::NAN,
            rules: vec![long("r\0", 500); 100],
            source: SOURCE_SCIM.into(),
        };
        let s = entry.storable();
        let texts = [
            &s.request_id,
            &s.method,
            &s.operation,
            s.scim_type.as_ref().unwrap(),
            s.detail.as_ref().unwrap(),
        ];
        for (text, max) in texts.into_iter().zip([64, 16, 400, 64, 2000]) {
            assert!(text.chars().count() <= max && !text.contains('\0'), "{text}");
            assert!(text.ends_with('…'), "{text}");
        }
        assert!(s.operation.starts_with("x\\u{0000}ooo"));
        assert_eq!(s.rules.len(), 64);
        assert!(s.rules.iter().all(|r| r.chars().count() <= 200 && !r.contains('\0')));
        assert_eq!((s.status, s.latency_ms), (599, 0.0));
    }
}
