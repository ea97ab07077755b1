//! Console setup links (issue #11): a single-use, expiring URL that signs its holder into the
//! console for one tenant, limited to connection setup, tokens and the provisioning log — what a
//! SaaS operator emails to a customer's IT admin. The link's token is 256 random bits; only its
//! SHA-256 digest is stored, and redeeming marks the link used in the same statement that finds it.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::db_precision;
use super::tenants::AdminError;
use crate::db::console::{self as store, NewSetupLink};
use crate::db::tenants::Tenant;
use crate::db::Conn;

/// Hours a setup link lives when no expiry is given.
pub const DEFAULT_HOURS: u32 = 72;
/// The longest a setup link may live (30 days).
pub const MAX_HOURS: u32 = 720;

/// A new setup link: its token is shown once (inside the URL), never stored.
#[derive(Debug)]
pub struct IssuedLink {
    /// Link id.
    pub id: Uuid,
    /// The URL to send, `<public URL>/console/setup/<token>`.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A random secret of 256 bits, URL-safe base64 (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored digest of a secret.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Create a setup link for `tenant` valid for `hours` (1 to [`MAX_HOURS`]; default
/// [`DEFAULT_HOURS`]).
pub async fn create(
    conn: &mut Conn,
    tenant: &Tenant,
    public_url: &str,
    hours: Option<u32>,
    now: DateTime<Utc>,
) -> Result<IssuedLink, AdminError> {
    let hours = hours.unwrap_or(DEFAULT_HOURS);
    if !(1..=MAX_HOURS).contains(&hours) {
        return Err(AdminError::Invalid(format!(
            "expires_in_hours must be between 1 and {MAX_HOURS} (30 days), not {hours}"
        )));
    }
    let now = db_precision(now);
    let token = random_secret();
    let link = NewSetupLink {
        tenant_id: tenant.id,
        id: Uuid::now_v7(),
        token_hash: digest(&token),
        created_at: now,
        expires_at: now + Duration::hours(i64::from(hours)),
    };
    store::insert_setup_link(conn, &link).await?;
    Ok(IssuedLink {
        id: link.id,
        url: format!("{}/console/setup/{token}", public_url.trim_end_matches('/')),
        expires_at: link.expires_at,
    })
}

/// Use a link: its tenant and link id, or `None` when the token is unknown, used or expired
/// (the three are not told apart, so a guess learns nothing).
pub async fn redeem(
    conn: &mut Conn,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<(Uuid, Uuid)>, AdminError> {
    if token.len() > 100 {
        return Ok(None);
    }
    Ok(store::redeem_setup_link(conn, &digest(token), db_precision(now)).await?)
}
