//! OAuth clients of connections, the access tokens they were issued and the `private_key_jwt`
//! assertion ids seen (issue #13). Secrets are stored as digests only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::{connection_tokens, oauth_access_tokens, oauth_assertion_jtis, oauth_clients};
use super::Conn;

/// An OAuth client row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_clients)]
pub struct ClientRecord {
    /// The public client identifier.
    pub client_id: String,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// The connection the client's access tokens act for.
    pub connection_id: Uuid,
    /// SHA-256 of the current secret.
    pub secret_hash: Vec<u8>,
    /// SHA-256 of the previous secret while a rotation's overlap lasts.
    pub previous_secret_hash: Option<Vec<u8>>,
    /// When the previous secret stops being accepted.
    pub previous_valid_until: Option<DateTime<Utc>>,
    /// JWKS URL for `private_key_jwt`.
    pub jwks_url: Option<String>,
    /// Inline public key (JWK, JWK Set or PEM) for `private_key_jwt`.
    pub public_key: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last secret rotation.
    pub rotated_at: Option<DateTime<Utc>>,
    /// Set when revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Insert a client.
pub async fn insert(conn: &mut Conn, client: &ClientRecord) -> QueryResult<()> {
    diesel::insert_into(oauth_clients::table).values(client).execute(conn).await.map(drop)
}

/// A client by its identifier (revoked or not).
pub async fn by_client_id(conn: &mut Conn, client_id: &str) -> QueryResult<Option<ClientRecord>> {
    oauth_clients::table
        .filter(oauth_clients::client_id.eq(client_id))
        .select(ClientRecord::as_select())
        .first(conn)
        .await
        .optional()
}

/// Lock the client's row against revocation for the rest of the transaction (`FOR SHARE`);
/// false when it is revoked (or gone) by now.
pub async fn lock_live(conn: &mut Conn, client_id: &str) -> QueryResult<bool> {
    oauth_clients::table
        .filter(oauth_clients::client_id.eq(client_id).and(oauth_clients::revoked_at.is_null()))
        .select(oauth_clients::client_id)
        .for_share()
        .first::<String>(conn)
        .await
        .optional()
        .map(|c| c.is_some())
}

/// The client of a connection, if it has one.
pub async fn of_connection(
    conn: &mut Conn,
    tenant_id: Uuid,
    connection_id: Uuid,
) -> QueryResult<Option<ClientRecord>> {
    oauth_clients::table
        .filter(oauth_clients::tenant_id.eq(tenant_id).and(oauth_clients::connection_id.eq(connection_id)))
        .select(ClientRecord::as_select())
        .first(conn)
        .await
        .optional()
}

/// The ids of a tenant's connections that authenticate with an OAuth client.
pub async fn oauth_connections(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<Uuid>> {
    oauth_clients::table
        .filter(oauth_clients::tenant_id.eq(tenant_id))
        .select(oauth_clients::connection_id)
        .load(conn)
        .await
}

/// Replace the secret: the current digest becomes the previous one, valid until `overlap_until`.
pub async fn rotate_secret(
    conn: &mut Conn,
    client_id: &str,
    new_hash: &[u8],
    overlap_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(
        oauth_clients::table
            .filter(oauth_clients::client_id.eq(client_id).and(oauth_clients::revoked_at.is_null())),
    )
    .set((
        oauth_clients::previous_secret_hash.eq(oauth_clients::secret_hash.nullable()),
        oauth_clients::previous_valid_until.eq(Some(overlap_until)),
        oauth_clients::secret_hash.eq(new_hash),
        oauth_clients::rotated_at.eq(Some(now)),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Set (or clear) the client's `private_key_jwt` key: a JWKS URL or an inline key, not both.
pub async fn set_key(
    conn: &mut Conn,
    client_id: &str,
    jwks_url: Option<&str>,
    public_key: Option<&str>,
) -> QueryResult<bool> {
    let n = diesel::update(
        oauth_clients::table
            .filter(oauth_clients::client_id.eq(client_id).and(oauth_clients::revoked_at.is_null())),
    )
    .set((oauth_clients::jwks_url.eq(jwks_url), oauth_clients::public_key.eq(public_key)))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Mark the client revoked; false when it was revoked already.
pub async fn revoke(conn: &mut Conn, client_id: &str, now: DateTime<Utc>) -> QueryResult<bool> {
    let n = diesel::update(
        oauth_clients::table
            .filter(oauth_clients::client_id.eq(client_id).and(oauth_clients::revoked_at.is_null())),
    )
    .set(oauth_clients::revoked_at.eq(Some(now)))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Link an issued access token (a connection token) to its client.
pub async fn link_access_token(
    conn: &mut Conn,
    tenant_id: Uuid,
    token_id: Uuid,
    client_id: &str,
) -> QueryResult<()> {
    diesel::insert_into(oauth_access_tokens::table)
        .values((
            oauth_access_tokens::tenant_id.eq(tenant_id),
            oauth_access_tokens::token_id.eq(token_id),
            oauth_access_tokens::client_id.eq(client_id),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// How [`end_access_tokens`] ends a client's live access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Revoke them now (the client is revoked).
    Revoke(DateTime<Utc>),
    /// Let them live until then at the latest (the secret they were obtained with ends then).
    ExpireBy(DateTime<Utc>),
}

/// End every live (unrevoked) access token of a client as `end` says; returns how many changed.
pub async fn end_access_tokens(
    conn: &mut Conn,
    tenant_id: Uuid,
    client_id: &str,
    end: End,
) -> QueryResult<usize> {
    use connection_tokens::{expires_at, revoked_at};
    let issued = oauth_access_tokens::table
        .filter(
            oauth_access_tokens::tenant_id.eq(tenant_id).and(oauth_access_tokens::client_id.eq(client_id)),
        )
        .select(oauth_access_tokens::token_id);
    let live = connection_tokens::tenant_id
        .eq(tenant_id)
        .and(connection_tokens::id.eq_any(issued))
        .and(revoked_at.is_null());
    match end {
        End::Revoke(now) => {
            diesel::update(connection_tokens::table.filter(live))
                .set(revoked_at.eq(Some(now)))
                .execute(conn)
                .await
        }
        End::ExpireBy(until) => {
            let later = expires_at.is_null().or(expires_at.gt(until));
            diesel::update(connection_tokens::table.filter(live.and(later)))
                .set(expires_at.eq(Some(until)))
                .execute(conn)
                .await
        }
    }
}

/// Remember an assertion id until `expires_at`; false when it was seen before (a replay).
pub async fn remember_jti(
    conn: &mut Conn,
    client_id: &str,
    jti: &str,
    expires_at: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::insert_into(oauth_assertion_jtis::table)
        .values((
            oauth_assertion_jtis::client_id.eq(client_id),
            oauth_assertion_jtis::jti.eq(jti),
            oauth_assertion_jtis::expires_at.eq(expires_at),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Delete assertion ids whose assertions have expired, and access tokens that expired before
/// `cutoff` (their rows are of no further use); returns the number of rows deleted.
pub async fn prune(conn: &mut Conn, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> QueryResult<usize> {
    let jtis = diesel::delete(oauth_assertion_jtis::table.filter(oauth_assertion_jtis::expires_at.lt(now)))
        .execute(conn)
        .await?;
    let expired = oauth_access_tokens::table.select(oauth_access_tokens::token_id);
    let tokens = diesel::delete(
        connection_tokens::table
            .filter(connection_tokens::id.eq_any(expired))
            .filter(connection_tokens::expires_at.lt(cutoff)),
    )
    .execute(conn)
    .await?;
    Ok(jtis + tokens)
}
