//! Positions: a tenant's job positions, fed from a member attribute, matched caselessly.
//!
//! A position's name is the attribute's text, trimmed and cut to [`MAX_NAME_CHARS`] (the
//! table's CHECK): `title` is refused over that length when it is written, but a tenant may
//! feed positions from any string attribute, whose values may be longer; those name the
//! position by their first 200 characters rather than fail the member's write.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::Conn;

/// Longest position name, in characters (`positions.name` CHECK).
pub const MAX_NAME_CHARS: usize = 200;

/// The SQL expression of the position name a text expression gives: trimmed, cut to
/// [`MAX_NAME_CHARS`], trimmed again; NULL when empty.
fn name_of(text: &str) -> String {
    format!("nullif(btrim(left(btrim({text}), {MAX_NAME_CHARS})), '')")
}

/// Point a member at the position named `name` (created on first use; `name_key` is the
/// lower-cased name, see `name_of`), or at none.
pub async fn assign(
    conn: &mut Conn,
    tenant_id: Uuid,
    member: Uuid,
    name: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(format!(
        "WITH wanted AS (SELECT {} AS name), \
         ins AS ( \
             INSERT INTO positions (tenant_id, id, name, name_key, created_at) \
             SELECT $1, $4, w.name, lower(w.name), $5 FROM wanted w WHERE w.name IS NOT NULL \
             ON CONFLICT (tenant_id, name_key) DO NOTHING RETURNING id) \
         UPDATE users u SET position_id = coalesce( \
             (SELECT id FROM ins), \
             (SELECT p.id FROM positions p, wanted w WHERE p.tenant_id = $1 AND p.name_key = lower(w.name))) \
         WHERE u.tenant_id = $1 AND u.id = $2",
        name_of("$3")
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(member)
    .bind::<Nullable<Text>, _>(name)
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(drop)
}

/// Point many members at their positions (`None`: no position) in two statements, creating
/// the missing positions (an import's batch). Names are matched like [`assign`].
pub async fn assign_many(
    conn: &mut Conn,
    tenant_id: Uuid,
    members: &[(Uuid, Option<String>)],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    if members.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = members.iter().map(|(id, _)| *id).collect();
    let names: Vec<Option<&str>> = members.iter().map(|(_, n)| n.as_deref()).collect();
    diesel::sql_query(format!(
        "INSERT INTO positions (tenant_id, id, name, name_key, created_at) \
         SELECT DISTINCT ON (lower(v.name)) $1, gen_random_uuid(), v.name, lower(v.name), $3 \
         FROM (SELECT {} AS name FROM unnest($2::text[]) AS n) v \
         WHERE v.name IS NOT NULL ORDER BY lower(v.name), v.name \
         ON CONFLICT (tenant_id, name_key) DO NOTHING",
        name_of("n")
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<Nullable<Text>>, _>(&names)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await?;
    diesel::sql_query(format!(
        "UPDATE users u SET position_id = p.id \
         FROM unnest($2::uuid[], $3::text[]) AS v(id, name) \
         LEFT JOIN positions p ON p.tenant_id = $1 AND p.name_key = lower({}) \
         WHERE u.tenant_id = $1 AND u.id = v.id AND u.position_id IS DISTINCT FROM p.id",
        name_of("v.name")
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Nullable<Text>>, _>(&names)
    .execute(conn)
    .await
    .map(drop)
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
