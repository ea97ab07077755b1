//! Positions: a tenant's job positions, fed from a member attribute, matched caselessly.
//!
//! A position's name is the attribute's text, trimmed and cut to [`MAX_NAME_CHARS`] (the
//! table's CHECK): `title` is refused over that length when it is written, but a tenant may
//! feed positions from any string attribute, whose values may be longer; those name the
//! position by their first 200 characters rather than fail the member's write.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::Conn;

/// Longest position name, in characters (`positions.name` CHECK).
pub const MAX_NAME_CHARS: usize = 200;

/// The SQL expression of the position name a text expression gives: `roster_position_name`
/// (migration 000014: trimmed, cut to [`MAX_NAME_CHARS`], trimmed again; NULL when empty), the
/// one rule every writer of positions applies.
fn name_of(text: &str) -> String {
    format!("roster_position_name({text})")
}

/// Derive every member's position again from the attribute at `key_path` (a `jsonb` key path
/// into `resource`), creating missing positions: two statements, whatever the tenant's size.
pub async fn rederive_all(
    conn: &mut Conn,
    tenant_id: Uuid,
    key_path: &[String],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(format!(
        "INSERT INTO positions (tenant_id, id, name, name_key, created_at) \
         SELECT DISTINCT ON (lower(v.name)) $1, gen_random_uuid(), v.name, lower(v.name), $3 \
         FROM (SELECT {} AS name FROM users u \
               WHERE u.tenant_id = $1 AND u.status <> 'removed') v \
         WHERE v.name IS NOT NULL ORDER BY lower(v.name), v.name \
         ON CONFLICT (tenant_id, name_key) DO NOTHING",
        name_of("u.resource #>> $2")
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<Text>, _>(key_path)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    diesel::sql_query(format!(
        "UPDATE users u SET position_id = p.id \
         FROM users src LEFT JOIN positions p \
           ON p.tenant_id = src.tenant_id AND p.name_key = lower({}) \
         WHERE src.tenant_id = $1 AND src.id = u.id AND u.tenant_id = $1 AND u.status <> 'removed' \
           AND u.position_id IS DISTINCT FROM p.id",
        name_of("src.resource #>> $2")
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<Text>, _>(key_path)
    .execute(conn)
    .await
    .map(drop)
}

/// A position with how many members (not removed) hold it.
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct PositionCount {
    /// Position id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Name as first seen.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Members holding it.
    #[diesel(sql_type = BigInt)]
    pub members: i64,
}

/// The tenant's positions by name, with member counts.
pub async fn list(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<PositionCount>> {
    diesel::sql_query(
        "SELECT p.id, p.name, count(u.id) AS members FROM positions p \
         LEFT JOIN users u ON u.tenant_id = p.tenant_id AND u.position_id = p.id AND u.status <> 'removed' \
         WHERE p.tenant_id = $1 GROUP BY p.tenant_id, p.id ORDER BY p.name_key, p.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)
    .await
}
