//! OAuth clients of connections (issue #13): the operator's side (create a connection that
//! authenticates with client credentials, rotate its secret with an overlap, register its
//! `private_key_jwt` key, revoke it) and the token endpoint's side (authenticate a client,
//! issue a short-lived access token). Access tokens are ordinary connection tokens with an
//! expiry, linked to their client, so SCIM accepts them exactly like static tokens and revoking
//! the client or rotating its secret ends them in the same statement.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncConnection;
use uuid::Uuid;

use super::db_precision;
use super::tenants::{self, AdminError};
use crate::auth::SigningKey;
use crate::db::oauth::{self as store, ClientRecord};
use crate::db::tenants::{self as connections, Connection, Tenant, TokenRecord};
use crate::db::Conn;
use crate::events::dispatch::DeliveryClient;
use crate::events::egress::{check_receiver_url, Egress};
use crate::oauth::assertion::{self, PublicKeys};
use crate::oauth::request::ClientAuth;
use crate::oauth::{self, OAuthError};

/// A client's credentials as shown once, when created or rotated.
#[derive(Debug)]
pub struct IssuedClient {
    /// The client identifier.
    pub client_id: String,
    /// The client secret (never stored; only its digest is).
    pub client_secret: String,
    /// After a rotation: until when the previous secret is still accepted.
    pub previous_valid_until: Option<DateTime<Utc>>,
}

/// The `private_key_jwt` key of a client as an operator gives it: a JWKS URL or an inline key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientKey {
    /// Where the client's JWK Set is fetched (under the webhook egress policy).
    pub jwks_url: Option<String>,
    /// A JWK, JWK Set or PEM public key.
    pub public_key: Option<String>,
}

impl ClientKey {
    /// Check the key: at most one of the two, a JWKS URL Roster may call, an inline key it can use.
    pub fn check(&self, egress: Egress) -> Result<(), AdminError> {
        match (&self.jwks_url, &self.public_key) {
            (Some(_), Some(_)) => {
                Err(AdminError::Invalid("give a JWKS URL or a public key, not both".into()))
            }
            (Some(url), None) => check_receiver_url(url, egress)
                .map(drop)
                .map_err(|e| AdminError::Invalid(format!("jwks_url: {}", e.trim_start_matches("--url ")))),
            (None, Some(key)) => assertion::parse_keys(key).map(drop).map_err(AdminError::Invalid),
            (None, None) => Ok(()),
        }
    }
}

/// Create a connection that authenticates with OAuth client credentials: no static token, a
/// client id and secret (and, optionally, a `private_key_jwt` key), in one transaction.
pub async fn create_connection(
    conn: &mut Conn,
    tenant: &Tenant,
    name: &str,
    key: &ClientKey,
    egress: Egress,
    now: DateTime<Utc>,
) -> Result<(Connection, IssuedClient), AdminError> {
    tenants::validate_name("connection", name)?;
    key.check(egress)?;
    let now = db_precision(now);
    let connection = Connection {
        tenant_id: tenant.id,
        id: Uuid::now_v7(),
        name: name.trim().into(),
        quirk_mode: "tolerant".into(),
        created_at: now,
    };
    let secret = oauth::new_secret();
    let client = ClientRecord {
        client_id: oauth::new_client_id(),
        tenant_id: tenant.id,
        connection_id: connection.id,
        secret_hash: oauth::secret_digest(&secret),
        previous_secret_hash: None,
        previous_valid_until: None,
        jwks_url: key.jwks_url.clone(),
        public_key: key.public_key.clone(),
        created_at: now,
        rotated_at: None,
        revoked_at: None,
    };
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        connections::insert_connection(conn, &connection).await?;
        store::insert(conn, &client).await
    })
    .await?;
    let issued =
        IssuedClient { client_id: client.client_id, client_secret: secret, previous_valid_until: None };
    Ok((connection, issued))
}

/// The live (unrevoked) client of a tenant's connection, or an error saying what to do.
pub async fn client(
    conn: &mut Conn,
    tenant: &Tenant,
    connection_id: Uuid,
) -> Result<ClientRecord, AdminError> {
    let c = tenants::connection(conn, tenant, connection_id).await?;
    match store::of_connection(conn, tenant.id, c.id).await? {
        Some(client) if client.revoked_at.is_none() => Ok(client),
        Some(_) => Err(AdminError::Invalid(format!(
            "the OAuth client of connection {connection_id} is revoked; create a new connection"
        ))),
        None => Err(AdminError::Invalid(format!(
            "connection {connection_id} authenticates with bearer tokens, not OAuth (create it with --auth oauth)"
        ))),
    }
}

/// Refuse static tokens for a connection that authenticates with OAuth.
pub async fn require_bearer(conn: &mut Conn, connection: &Connection) -> Result<(), AdminError> {
    match store::of_connection(conn, connection.tenant_id, connection.id).await? {
        None => Ok(()),
        Some(_) => Err(AdminError::Invalid(format!(
            "connection {} authenticates with OAuth client credentials; it gets access tokens from the \
             token endpoint, not static tokens (rotate its client secret instead)",
            connection.id
        ))),
    }
}

/// Rotate the client secret: a new secret (shown once); the old one stays valid for `overlap`,
/// and access tokens obtained with it end with it at the latest.
pub async fn rotate_secret(
    conn: &mut Conn,
    tenant: &Tenant,
    connection_id: Uuid,
    overlap: Duration,
    now: DateTime<Utc>,
) -> Result<IssuedClient, AdminError> {
    if overlap < Duration::zero() || overlap > Duration::days(30) {
        return Err(AdminError::Invalid("the overlap must be between 0 seconds and 30 days".into()));
    }
    let current = client(conn, tenant, connection_id).await?;
    let now = db_precision(now);
    let until = now + overlap;
    let secret = oauth::new_secret();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        store::rotate_secret(conn, &current.client_id, &oauth::secret_digest(&secret), until, now).await?;
        store::end_access_tokens(conn, tenant.id, &current.client_id, store::End::ExpireBy(until))
            .await
            .map(drop)
    })
    .await?;
    Ok(IssuedClient {
        client_id: current.client_id,
        client_secret: secret,
        previous_valid_until: Some(until),
    })
}

/// Set (or, with an empty [`ClientKey`], remove) the client's `private_key_jwt` key.
pub async fn set_key(
    conn: &mut Conn,
    tenant: &Tenant,
    connection_id: Uuid,
    key: &ClientKey,
    egress: Egress,
) -> Result<String, AdminError> {
    key.check(egress)?;
    let current = client(conn, tenant, connection_id).await?;
    store::set_key(conn, &current.client_id, key.jwks_url.as_deref(), key.public_key.as_deref()).await?;
    Ok(current.client_id)
}

/// Revoke the client: its secrets and keys stop working and every access token it was issued
/// is revoked at once. Returns how many tokens were revoked.
pub async fn revoke_client(
    conn: &mut Conn,
    tenant: &Tenant,
    connection_id: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, AdminError> {
    let current = client(conn, tenant, connection_id).await?;
    let now = db_precision(now);
    let n = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            store::revoke(conn, &current.client_id, now).await?;
            store::end_access_tokens(conn, tenant.id, &current.client_id, store::End::Revoke(now)).await
        })
        .await?;
    Ok(n)
}

/// An access token issued by the token endpoint.
#[derive(Debug)]
pub struct AccessToken {
    /// The bearer token.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The connection it acts for.
    pub connection_id: Uuid,
}

fn db_failure(e: diesel::result::Error) -> OAuthError {
    if crate::db::is_outage(&e) {
        OAuthError::server_error(503, "the database is unavailable; retry shortly")
    } else {
        tracing::error!(error = %e, "token endpoint query failed");
        OAuthError::server_error(500, "internal error")
    }
}

/// What the token endpoint needs besides the request.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    /// Signs the access token.
    pub key: &'a SigningKey,
    /// Fetches JWKS URLs under the egress policy.
    pub http: &'a DeliveryClient,
    /// The token endpoint URL (`aud` of client assertions).
    pub audience: &'a str,
    /// Lifetime of an access token.
    pub lifetime: Duration,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Authenticate the client of a token request and issue an access token for its connection.
/// Every authentication failure is `invalid_client` (unknown client, wrong secret, previous
/// secret past its overlap, bad assertion, replayed `jti`, revoked client).
pub async fn grant(conn: &mut Conn, auth: &ClientAuth, grant: Grant<'_>) -> Result<AccessToken, OAuthError> {
    let client_id = match auth {
        ClientAuth::Secret { client_id, .. } => client_id.clone(),
        ClientAuth::Assertion { client_id: Some(id), .. } => id.clone(),
        ClientAuth::Assertion { client_id: None, assertion } => assertion::claimed_issuer(assertion)?,
    };
    let unknown = || OAuthError::invalid_client("unknown client, wrong secret or revoked client");
    let client = store::by_client_id(conn, &client_id)
        .await
        .map_err(db_failure)?
        .filter(|c| c.revoked_at.is_none())
        .ok_or_else(unknown)?;
    let now = db_precision(grant.now);
    let mut cap = None;
    let mut seen_jti = None;
    match auth {
        ClientAuth::Secret { secret, .. } => {
            if !oauth::secret_matches(&client.secret_hash, secret) {
                let previous_ok = match (&client.previous_secret_hash, client.previous_valid_until) {
                    (Some(hash), Some(until)) if until > now => {
                        oauth::secret_matches(hash, secret).then_some(until)
                    }
                    _ => None,
                };
                cap = Some(previous_ok.ok_or_else(unknown)?);
            }
        }
        ClientAuth::Assertion { assertion, .. } => {
            let keys = client_keys(&client, grant.http).await?;
            seen_jti = Some(assertion::verify(assertion, &client.client_id, &keys, grant.audience, now)?);
        }
    }
    let expires_at =
        db_precision(cap.map_or(now + grant.lifetime, |c: DateTime<Utc>| c.min(now + grant.lifetime)));
    let record = TokenRecord {
        tenant_id: client.tenant_id,
        id: Uuid::now_v7(),
        connection_id: client.connection_id,
        label: "oauth access token".into(),
        created_at: now,
        expires_at: Some(expires_at),
        revoked_at: None,
    };
    let token = grant
        .key
        .issue(record.tenant_id, record.connection_id, record.id, now, record.expires_at)
        .map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            OAuthError::server_error(500, "internal error")
        })?;
    // The client row is locked first: a revocation that commits meanwhile either is seen here or
    // waits, and then revokes this token with the others.
    let refused = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            if !store::lock_live(conn, &client.client_id).await? {
                return Ok(Some("unknown client, wrong secret or revoked client"));
            }
            if let Some(v) = &seen_jti {
                if !store::remember_jti(conn, &client.client_id, &v.jti, v.expires_at).await? {
                    return Ok(Some("this client assertion was used before (jti replayed); sign a new one"));
                }
            }
            connections::insert_token(conn, &record).await?;
            store::link_access_token(conn, record.tenant_id, record.id, &client.client_id).await?;
            Ok(None)
        })
        .await
        .map_err(db_failure)?;
    if let Some(reason) = refused {
        return Err(OAuthError::invalid_client(reason));
    }
    Ok(AccessToken {
        token,
        expires_in: (expires_at - now).num_seconds().max(0),
        connection_id: client.connection_id,
    })
}

/// The client's `private_key_jwt` keys: the inline key, or its JWKS URL fetched now.
async fn client_keys(client: &ClientRecord, http: &DeliveryClient) -> Result<PublicKeys, OAuthError> {
    let text = match (&client.public_key, &client.jwks_url) {
        (Some(key), _) => key.clone(),
        (None, Some(url)) => {
            let body = http.fetch(url, assertion::MAX_KEY_BYTES).await.map_err(|e| {
                tracing::warn!(client_id = %client.client_id, error = %e, "fetching a client's JWKS failed");
                OAuthError::invalid_client("the client's JWKS URL could not be fetched")
            })?;
            String::from_utf8(body)
                .map_err(|_| OAuthError::invalid_client("the client's JWKS is not UTF-8"))?
        }
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "this client has no registered public key or JWKS URL; authenticate with its secret",
            ))
        }
    };
    assertion::parse_keys(&text)
        .map_err(|e| OAuthError::invalid_client(format!("the client's key cannot be used: {e}")))
}
