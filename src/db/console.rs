//! The admin console's own tables — sign-in sessions and single-use setup links, looked up by the
//! SHA-256 digest of their secret — and the read-only summaries its pages show that no other
//! module computes: a connection's activity, the sources of a member's role, and the group tree's
//! effective member counts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::{console_sessions, console_setup_links};
use super::Conn;

/// A new session row (the secret itself is never stored).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = console_sessions)]
pub struct NewSession {
    /// Session id (not secret; used in the audit of its actions).
    pub id: Uuid,
    /// SHA-256 of the cookie's secret.
    pub secret_hash: Vec<u8>,
    /// `operator`, `tenant_admin` or `setup_link`.
    pub kind: String,
    /// The tenant (the chosen one for the operator).
    pub tenant_id: Option<Uuid>,
    /// The admin token a tenant admin signed in with.
    pub admin_token_id: Option<Uuid>,
    /// The setup link a setup session came from.
    pub setup_link_id: Option<Uuid>,
    /// Sign-in time.
    pub created_at: DateTime<Utc>,
    /// Last request time.
    pub last_seen_at: DateTime<Utc>,
    /// Absolute expiry.
    pub expires_at: DateTime<Utc>,
}

/// A live session as a request sees it.
#[derive(Debug, Clone, QueryableByName)]
pub struct LiveSession {
    /// Session id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// `operator`, `tenant_admin` or `setup_link`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// Its tenant (none for the operator, who may open any).
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub tenant_id: Option<Uuid>,
    /// That tenant's slug.
    #[diesel(sql_type = Nullable<Text>)]
    pub slug: Option<String>,
    /// The admin token of a tenant admin's session.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub admin_token_id: Option<Uuid>,
}

/// Store a new session.
pub async fn insert_session(conn: &mut Conn, session: &NewSession) -> QueryResult<()> {
    diesel::insert_into(console_sessions::table).values(session).execute(conn).await.map(drop)
}

/// The live session with this secret digest, touched (its idle clock restarts): not revoked,
/// before its absolute expiry, seen after `idle_since`, and — for a tenant admin — its admin
/// token still live. One statement.
pub async fn touch_session(
    conn: &mut Conn,
    secret_hash: &[u8],
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
) -> QueryResult<Option<LiveSession>> {
    diesel::sql_query(
        "UPDATE console_sessions s SET last_seen_at = $2 \
         WHERE s.secret_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.last_seen_at > $3 \
           AND (s.kind <> 'tenant_admin' OR EXISTS ( \
                SELECT 1 FROM admin_tokens a WHERE a.tenant_id = s.tenant_id AND a.id = s.admin_token_id \
                AND a.revoked_at IS NULL AND (a.expires_at IS NULL OR a.expires_at > $2))) \
         RETURNING s.id, s.kind, s.tenant_id, (SELECT t.slug FROM tenants t WHERE t.id = s.tenant_id) AS slug, \
                   s.admin_token_id",
    )
    .bind::<Bytea, _>(secret_hash)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(idle_since)
    .get_result(conn)
    .await
    .optional()
}

/// Revoke a session (sign-out).
pub async fn revoke_session(conn: &mut Conn, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(console_sessions::table.filter(console_sessions::id.eq(id)))
        .set(console_sessions::revoked_at.eq(now))
        .execute(conn)
        .await
        .map(drop)
}

/// Delete sessions past their absolute expiry (or revoked) before `before`.
pub async fn delete_ended_sessions(conn: &mut Conn, before: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(
        console_sessions::table
            .filter(console_sessions::expires_at.lt(before).or(console_sessions::revoked_at.lt(before))),
    )
    .execute(conn)
    .await
}

/// A new setup link row (the token itself is never stored).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = console_setup_links)]
pub struct NewSetupLink {
    /// The tenant it opens.
    pub tenant_id: Uuid,
    /// Link id.
    pub id: Uuid,
    /// SHA-256 of the link's token.
    pub token_hash: Vec<u8>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// Store a new setup link.
pub async fn insert_setup_link(conn: &mut Conn, link: &NewSetupLink) -> QueryResult<()> {
    diesel::insert_into(console_setup_links::table).values(link).execute(conn).await.map(drop)
}

/// Use the unused, unexpired link with this token digest: marks it used and returns its tenant
/// and id, in one statement, so two redemptions of one link cannot both succeed.
pub async fn redeem_setup_link(
    conn: &mut Conn,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<(Uuid, Uuid)>> {
    diesel::update(
        console_setup_links::table.filter(
            console_setup_links::token_hash
                .eq(token_hash)
                .and(console_setup_links::used_at.is_null())
                .and(console_setup_links::expires_at.gt(now)),
        ),
    )
    .set(console_setup_links::used_at.eq(now))
    .returning((console_setup_links::tenant_id, console_setup_links::id))
    .get_result(conn)
    .await
    .optional()
}

/// A connection's activity as the console shows it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Activity {
    /// The first request ever logged for the connection.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub first_at: Option<DateTime<Utc>>,
    /// The latest one.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_at: Option<DateTime<Utc>>,
    /// Requests since `since`.
    #[diesel(sql_type = BigInt)]
    pub requests: i64,
    /// Failed requests (status ≥ 400) since `since`.
    #[diesel(sql_type = BigInt)]
    pub failures: i64,
}

/// First and last request of a connection, and its requests and failures since `since`.
pub async fn activity(
    conn: &mut Conn,
    tenant_id: Uuid,
    connection_id: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<Activity> {
    diesel::sql_query(
        "SELECT (SELECT min(at) FROM provisioning_log WHERE tenant_id = $1 AND connection_id = $2) AS first_at, \
                (SELECT max(at) FROM provisioning_log WHERE tenant_id = $1 AND connection_id = $2) AS last_at, \
                count(*) AS requests, count(*) FILTER (WHERE status >= 400) AS failures \
         FROM provisioning_log WHERE tenant_id = $1 AND connection_id = $2 AND at >= $3",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Timestamptz, _>(since)
    .get_result(conn)
    .await
}

/// One source that offers a member a role.
#[derive(Debug, Clone, QueryableByName)]
pub struct RoleSource {
    /// `override`, `idp` (SCIM `roles`), `group` (a binding) or `default` (import/default role).
    #[diesel(sql_type = Text)]
    pub source: String,
    /// The role it offers.
    #[diesel(sql_type = Text)]
    pub role: String,
    /// The role's rank.
    #[diesel(sql_type = Integer)]
    pub rank: i32,
    /// For a binding: the bound group's displayName.
    #[diesel(sql_type = Nullable<Text>)]
    pub via: Option<String>,
}

/// Every source offering the member a role in the catalog, highest rank first (an override
/// first at equal rank), by the same candidates as `roster_effective_role`.
pub async fn role_sources(conn: &mut Conn, tenant_id: Uuid, member: Uuid) -> QueryResult<Vec<RoleSource>> {
    diesel::sql_query(
        "WITH candidates AS ( \
            SELECT 'override' AS source, u.role_override AS role, NULL::text AS via, 0 AS pref \
              FROM users u WHERE u.tenant_id = $1 AND u.id = $2 AND u.role_override IS NOT NULL \
            UNION ALL \
            SELECT 'idp', r.value, NULL, 1 FROM users u CROSS JOIN LATERAL unnest(u.scim_roles) AS r(value) \
              WHERE u.tenant_id = $1 AND u.id = $2 AND r.value IS NOT NULL \
            UNION ALL \
            SELECT 'group', b.role_name, mg.display, 2 FROM roster_member_groups($1, $2) mg \
              JOIN group_role_bindings b ON b.tenant_id = $1 AND b.group_id = mg.group_id \
            UNION ALL \
            SELECT 'default', u.base_role, NULL, 3 \
              FROM users u WHERE u.tenant_id = $1 AND u.id = $2 AND u.base_role IS NOT NULL) \
         SELECT c.source, r.name AS role, r.rank, c.via FROM candidates c \
         JOIN roles r ON r.tenant_id = $1 AND r.name = c.role \
         ORDER BY r.rank DESC, c.pref, c.via NULLS FIRST",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(member)
    .load(conn)
    .await
}

/// A group's effective member count (direct members and those of groups below it, once each).
#[derive(Debug, Clone, QueryableByName)]
pub struct EffectiveCount {
    /// The group.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Distinct users in its subtree.
    #[diesel(sql_type = BigInt)]
    pub members: i64,
}

/// Effective member counts of every group of a tenant.
pub async fn effective_counts(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<EffectiveCount>> {
    diesel::sql_query(
        "SELECT g.id, (SELECT count(DISTINCT e.member_id) FROM roster_group_effective_members($1, g.id) e \
                       JOIN users u ON u.tenant_id = $1 AND u.id = e.member_id) AS members \
         FROM groups g WHERE g.tenant_id = $1 ORDER BY g.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)
    .await
}

/// The latest events about one member or group, newest first.
pub async fn events_of(
    conn: &mut Conn,
    tenant_id: Uuid,
    subject: Uuid,
    limit: i64,
) -> QueryResult<Vec<super::events::EventRow>> {
    diesel::sql_query(
        "SELECT id, subject_id, kind, payload, created_at FROM event_outbox \
         WHERE tenant_id = $1 AND subject_id = $2 ORDER BY id DESC LIMIT $3",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(subject)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
