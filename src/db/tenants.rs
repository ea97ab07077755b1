//! Tenants, their connections and connection tokens.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::{connection_tokens, connections, tenants};
use super::Conn;

/// A tenant row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    /// Tenant id.
    pub id: Uuid,
    /// URL-safe unique name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A connection row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = connections)]
pub struct Connection {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Connection id (appears in the SCIM base URL).
    pub id: Uuid,
    /// Display name ("Entra ID production").
    pub name: String,
    /// `tolerant` or `strict`.
    pub quirk_mode: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A token row: its id and lifecycle, never the token.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = connection_tokens)]
pub struct TokenRecord {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Token id (the JWT `jti`).
    pub id: Uuid,
    /// Connection the token acts for.
    pub connection_id: Uuid,
    /// Free-text label.
    pub label: String,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Insert a tenant.
pub async fn insert_tenant(conn: &mut Conn, tenant: &Tenant) -> QueryResult<()> {
    diesel::insert_into(tenants::table).values(tenant).execute(conn).await.map(drop)
}

/// Find a tenant by slug.
pub async fn tenant_by_slug(conn: &mut Conn, slug: &str) -> QueryResult<Option<Tenant>> {
    tenants::table.filter(tenants::slug.eq(slug)).select(Tenant::as_select()).first(conn).await.optional()
}

/// Set how many days removed members stay restorable before their data is scrubbed.
pub async fn set_member_retention(conn: &mut Conn, tenant_id: Uuid, days: i32) -> QueryResult<()> {
    diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
        .set(tenants::member_retention_days.eq(days))
        .execute(conn)
        .await
        .map(drop)
}

/// Set whether new members get an invitation (`member.invitation_needed`).
pub async fn set_invite_new_members(conn: &mut Conn, tenant_id: Uuid, invite: bool) -> QueryResult<()> {
    diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
        .set(tenants::invite_new_members.eq(invite))
        .execute(conn)
        .await
        .map(drop)
}

/// A tenant's member settings: `(member_retention_days, invite_new_members, sso)`.
pub async fn member_settings(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<(i32, bool, bool)> {
    tenants::table
        .filter(tenants::id.eq(tenant_id))
        .select((tenants::member_retention_days, tenants::invite_new_members, tenants::sso))
        .first(conn)
        .await
}

/// All tenants, oldest first.
pub async fn list_tenants(conn: &mut Conn) -> QueryResult<Vec<Tenant>> {
    tenants::table.order((tenants::created_at, tenants::id)).select(Tenant::as_select()).load(conn).await
}

/// Whether any tenant exists.
pub async fn any_tenant(conn: &mut Conn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(tenants::table.select(tenants::id))).get_result(conn).await
}

/// Insert a connection.
pub async fn insert_connection(conn: &mut Conn, connection: &Connection) -> QueryResult<()> {
    diesel::insert_into(connections::table).values(connection).execute(conn).await.map(drop)
}

/// A tenant's connection by id.
pub async fn connection(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Connection>> {
    connections::table
        .filter(connections::tenant_id.eq(tenant_id).and(connections::id.eq(id)))
        .select(Connection::as_select())
        .first(conn)
        .await
        .optional()
}

/// A tenant's connections, oldest first.
pub async fn list_connections(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<Connection>> {
    connections::table
        .filter(connections::tenant_id.eq(tenant_id))
        .order((connections::created_at, connections::id))
        .select(Connection::as_select())
        .load(conn)
        .await
}

/// Set a connection's quirk mode (`tolerant` / `strict`); returns false if it does not exist.
pub async fn set_quirk_mode(conn: &mut Conn, tenant_id: Uuid, id: Uuid, mode: &str) -> QueryResult<bool> {
    let n = diesel::update(
        connections::table.filter(connections::tenant_id.eq(tenant_id).and(connections::id.eq(id))),
    )
    .set(connections::quirk_mode.eq(mode))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Record an issued token.
pub async fn insert_token(conn: &mut Conn, token: &TokenRecord) -> QueryResult<()> {
    diesel::insert_into(connection_tokens::table).values(token).execute(conn).await.map(drop)
}

/// A tenant's tokens (optionally of one connection), newest first.
pub async fn list_tokens(
    conn: &mut Conn,
    tenant_id: Uuid,
    connection_id: Option<Uuid>,
) -> QueryResult<Vec<TokenRecord>> {
    let mut query = connection_tokens::table
        .filter(connection_tokens::tenant_id.eq(tenant_id))
        .select(TokenRecord::as_select())
        .order((connection_tokens::created_at.desc(), connection_tokens::id))
        .into_boxed();
    if let Some(c) = connection_id {
        query = query.filter(connection_tokens::connection_id.eq(c));
    }
    query.load(conn).await
}

/// Revoke a token; returns false when no unrevoked token with that id exists in the tenant.
pub async fn revoke_token(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(
        connection_tokens::table.filter(
            connection_tokens::tenant_id
                .eq(tenant_id)
                .and(connection_tokens::id.eq(id))
                .and(connection_tokens::revoked_at.is_null()),
        ),
    )
    .set(connection_tokens::revoked_at.eq(now))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// What the token check of a SCIM request learns, in one prepared statement.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct LiveToken {
    /// The connection's mode, `tolerant` or `strict`.
    pub quirk_mode: String,
    /// The tenant's settings version (`crate::cache`).
    pub settings_version: i64,
}

/// The standing a token check reads out ([`LiveToken`]), from the token's own row: its
/// connection's mode and its tenant's settings version are kept there, in the same transaction
/// as their sources (migration 000037), so [`live_token`] (and the reads and writes that check
/// the token in their own statement, `super::users::find_view_as`, [`live_at`]) read one row of
/// one table.
pub(crate) const STANDING: (connection_tokens::quirk_mode, connection_tokens::settings_version) =
    (connection_tokens::quirk_mode, connection_tokens::settings_version);

/// Token `token_id` exists, belongs to that tenant and connection, and is neither revoked nor
/// expired at `now`. The one statement of this rule ([`live_token`] and `users::find_view_as`).
#[diesel::dsl::auto_type]
pub(crate) fn token_is_live(tenant_id: Uuid, connection_id: Uuid, token_id: Uuid, now: DateTime<Utc>) -> _ {
    let unexpired = connection_tokens::expires_at.is_null().or(connection_tokens::expires_at.gt(now));
    connection_tokens::tenant_id
        .eq(tenant_id)
        .and(connection_tokens::id.eq(token_id))
        .and(connection_tokens::connection_id.eq(connection_id))
        .and(connection_tokens::revoked_at.is_null())
        .and(unexpired)
}

/// Token `token` is live ([`token_is_live`]) and stands as `standing` says: its connection in
/// that mode, its tenant's settings at that version. The guard of a write sent for a caller as
/// it stood when last found live, before its token is checked (`super::roles::members_written_as`,
/// `super::groups::patch_members_as`): the write happens only when this holds, in the write's
/// own snapshot.
pub(crate) fn live_at(token: &super::users::TokenKey, standing: &LiveToken) -> token_live_at {
    let super::users::TokenKey { tenant, connection, token, now } = *token;
    token_live_at(tenant, connection, token, now, standing.quirk_mode.clone(), standing.settings_version)
}

/// [`live_at`], as an expression type.
#[diesel::dsl::auto_type]
fn token_live_at(
    tenant_id: Uuid,
    connection_id: Uuid,
    token_id: Uuid,
    now: DateTime<Utc>,
    quirk_mode: String,
    settings_version: i64,
) -> _ {
    let live: token_is_live = token_is_live(tenant_id, connection_id, token_id, now);
    diesel::dsl::exists(
        connection_tokens::table
            .filter(live)
            .filter(connection_tokens::quirk_mode.eq(quirk_mode))
            .filter(connection_tokens::settings_version.eq(settings_version)),
    )
}

/// The standing of token `token_id`, when it exists, belongs to that tenant and connection, and
/// is neither revoked nor expired: its connection's mode and its tenant's settings version.
///
/// On a shared connection, so that a write can send it together with its first statement
/// (`super::users::find_as`).
pub async fn live_token(
    conn: &Conn,
    tenant_id: Uuid,
    connection_id: Uuid,
    token_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<LiveToken>> {
    let mut conn = conn;
    connection_tokens::table
        .filter(token_is_live(tenant_id, connection_id, token_id, now))
        .select(STANDING)
        .first(&mut conn)
        .await
        .optional()
}

/// The settings of a tenant the directory reads on every request.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct ProfileRow {
    /// Slug.
    pub slug: String,
    /// SSO tenant (no invitations).
    pub sso: bool,
    /// The attribute positions are fed from.
    pub position_source: String,
    /// Days a removed member can be restored.
    pub member_retention_days: i32,
    /// Moves with every change of what the profile holds (migration 000014).
    pub settings_version: i64,
    /// New members get an invitation (`member.invitation_needed`).
    pub invite_new_members: bool,
}

/// A tenant's [`ProfileRow`].
pub async fn profile(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Option<ProfileRow>> {
    tenants::table.find(tenant_id).select(ProfileRow::as_select()).first(conn).await.optional()
}

/// A tenant's slug (for messages people read).
pub async fn slug(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<String> {
    tenants::table.filter(tenants::id.eq(tenant_id)).select(tenants::slug).first(conn).await
}

/// Whether the tenant signs its members in with SSO (then Roster never asks for invitations).
pub async fn sso(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<bool> {
    tenants::table.filter(tenants::id.eq(tenant_id)).select(tenants::sso).first(conn).await
}

/// Set whether the tenant signs its members in with SSO.
pub async fn set_sso(conn: &mut Conn, tenant_id: Uuid, sso: bool) -> QueryResult<()> {
    diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
        .set(tenants::sso.eq(sso))
        .execute(conn)
        .await
        .map(drop)
}

/// Revoke every unrevoked token of a connection; returns their ids.
pub async fn revoke_connection_tokens(
    conn: &mut Conn,
    tenant_id: Uuid,
    connection_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Uuid>> {
    diesel::update(
        connection_tokens::table.filter(
            connection_tokens::tenant_id
                .eq(tenant_id)
                .and(connection_tokens::connection_id.eq(connection_id))
                .and(connection_tokens::revoked_at.is_null()),
        ),
    )
    .set(connection_tokens::revoked_at.eq(now))
    .returning(connection_tokens::id)
    .get_results(conn)
    .await
}
