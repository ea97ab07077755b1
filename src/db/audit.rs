//! The audit trail's rows (`audit_log`, migration 000019): one per admin API or console write,
//! listed newest first with keyset paging. `tenant_id` is NULL for operator actions on no tenant.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::provisioning_log::{Outcome, Position};
use super::schema::audit_log;
use super::Conn;

/// One stored audit entry.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    /// The tenant acted on (None: no tenant).
    pub tenant_id: Option<Uuid>,
    /// Entry id.
    pub id: Uuid,
    /// When the write was answered.
    pub at: DateTime<Utc>,
    /// `operator`, `admin_token`, `console_session`, `setup_link` or `anonymous`.
    pub actor_kind: String,
    /// The admin token, console session or setup link id.
    pub actor_id: Option<Uuid>,
    /// HTTP method (or the console's action verb).
    pub method: String,
    /// Route template.
    pub route: String,
    /// Ids the write was about.
    pub targets: Value,
    /// A short summary, never a secret.
    pub summary: String,
    /// The HTTP status it ended with.
    pub status: i32,
}

/// Store one entry.
pub async fn insert(conn: &mut Conn, row: &AuditRow) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::tenant_id.eq(row.tenant_id),
            audit_log::id.eq(row.id),
            audit_log::at.eq(row.at),
            audit_log::actor_kind.eq(&row.actor_kind),
            audit_log::actor_id.eq(row.actor_id),
            audit_log::method.eq(&row.method),
            audit_log::route.eq(&row.route),
            audit_log::targets.eq(&row.targets),
            audit_log::summary.eq(&row.summary),
            audit_log::status.eq(row.status),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Which tenants' entries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One tenant's.
    Tenant(Uuid),
    /// Only entries on no tenant.
    NoTenant,
    /// Every entry (the operator's listing).
    All,
}

/// The largest page [`list`] returns.
pub const MAX_LIMIT: i64 = 1000;

/// What to list: every field narrows the result.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    /// Whose entries.
    pub scope: Scope,
    /// Only this actor kind.
    pub actor_kind: Option<String>,
    /// Only this actor (token, session or link id).
    pub actor_id: Option<Uuid>,
    /// Only this HTTP method.
    pub method: Option<String>,
    /// Only successes or failures.
    pub outcome: Option<Outcome>,
    /// At or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
    /// Strictly older than this entry.
    pub after: Option<Position>,
    /// Page size (1 to [`MAX_LIMIT`]).
    pub limit: i64,
}

/// Entries matching `q`, newest first (`at`, then `id`, descending).
pub async fn list(conn: &mut Conn, q: &AuditQuery) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
    query = match q.scope {
        Scope::Tenant(t) => query.filter(audit_log::tenant_id.eq(t)),
        Scope::NoTenant => query.filter(audit_log::tenant_id.is_null()),
        Scope::All => query,
    };
    if let Some(kind) = &q.actor_kind {
        query = query.filter(audit_log::actor_kind.eq(kind.clone()));
    }
    if let Some(actor) = q.actor_id {
        query = query.filter(audit_log::actor_id.eq(actor));
    }
    if let Some(method) = &q.method {
        query = query.filter(audit_log::method.eq(method.clone()));
    }
    query = match q.outcome {
        Some(Outcome::Success) => query.filter(audit_log::status.lt(400)),
        Some(Outcome::Failure) => query.filter(audit_log::status.ge(400)),
        None => query,
    };
    if let Some(since) = q.since {
        query = query.filter(audit_log::at.ge(since));
    }
    if let Some(until) = q.until {
        query = query.filter(audit_log::at.lt(until));
    }
    if let Some(p) = q.after {
        query = query.filter(audit_log::at.lt(p.at).or(audit_log::at.eq(p.at).and(audit_log::id.lt(p.id))));
    }
    query
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .limit(q.limit.clamp(1, MAX_LIMIT))
        .load(conn)
        .await
}
