//! Access request rows: pending until decided, found by ticket digest for the registrant.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use crate::db::schema::join_requests;
use crate::db::Conn;

/// An access request.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = join_requests)]
pub struct Request {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Request id.
    pub id: Uuid,
    /// SHA-256 of the registrant's ticket.
    pub ticket_hash: Vec<u8>,
    /// Email given.
    pub email: Option<String>,
    /// The userName the member will have.
    pub user_name: String,
    /// "First Last".
    pub display_name: Option<String>,
    /// The registration, kept until the decision.
    pub registration: Value,
    /// `pending`, `approved` or `denied`.
    pub state: String,
    /// Why it was denied.
    pub reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// The member an approval created.
    pub member_id: Option<Uuid>,
}

/// Insert an access request.
pub async fn insert_request(conn: &mut Conn, r: &Request) -> QueryResult<()> {
    diesel::insert_into(join_requests::table).values(r).execute(conn).await.map(drop)
}

/// Access requests, newest first, optionally in one state and/or whose email or userName
/// starts with `prefix` (caseless).
pub async fn requests(
    conn: &mut Conn,
    tenant_id: Uuid,
    state: Option<&str>,
    prefix: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Request>> {
    let mut query = join_requests::table
        .filter(join_requests::tenant_id.eq(tenant_id))
        .select(Request::as_select())
        .order((join_requests::created_at.desc(), join_requests::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(join_requests::state.eq(state.to_string()));
    }
    if let Some(prefix) = prefix {
        let pattern = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        query = query
            .filter(join_requests::user_name.ilike(pattern.clone()).or(join_requests::email.ilike(pattern)));
    }
    query.load(conn).await
}

/// The request of a ticket digest in a tenant.
pub async fn request_by_ticket(
    conn: &mut Conn,
    tenant_id: Uuid,
    hash: &[u8],
) -> QueryResult<Option<Request>> {
    join_requests::table
        .filter(join_requests::tenant_id.eq(tenant_id).and(join_requests::ticket_hash.eq(hash)))
        .select(Request::as_select())
        .first(conn)
        .await
        .optional()
}

/// A request, locked until the transaction ends.
pub async fn request_for_update(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Request>> {
    join_requests::table
        .filter(join_requests::tenant_id.eq(tenant_id).and(join_requests::id.eq(id)))
        .select(Request::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Record the decision on a pending request.
pub async fn decide_request(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    state: &str,
    reason: Option<&str>,
    member: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        join_requests::table.filter(join_requests::tenant_id.eq(tenant_id).and(join_requests::id.eq(id))),
    )
    .set((
        join_requests::state.eq(state),
        join_requests::reason.eq(reason),
        join_requests::member_id.eq(member),
        join_requests::decided_at.eq(now),
    ))
    .execute(conn)
    .await
    .map(drop)
}
