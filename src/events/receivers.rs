//! Adding receivers (webhooks) with their rules, and sealing secrets left in clear.

use chrono::{DateTime, Utc};
use rand::RngCore;
use uuid::Uuid;

use super::egress::{check_receiver_url, Egress};
use super::keys::EventKeys;
use crate::db::{self, webhooks::NewWebhook};

/// How events are delivered to a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Roster's JSON body, signed with `Roster-Signature` (HMAC-SHA256 with the webhook secret).
    Webhook,
    /// RFC 8417 Security Event Tokens pushed per RFC 8935, signed ES256 (JWKS at
    /// `/.well-known/jwks.json`).
    Set,
}

impl Format {
    /// As stored in `webhooks.format`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Webhook => "webhook",
            Format::Set => "set",
        }
    }
}

/// A receiver to add.
#[derive(Clone)]
pub struct AddReceiver {
    /// http:// or https:// URL, at most 2000 characters.
    pub url: String,
    /// Delivery format.
    pub format: Format,
    /// SET `aud` (SET receivers only; default the URL).
    pub audience: Option<String>,
    /// HMAC secret for `webhook` receivers (16 to 200 characters); generated when None.
    pub secret: Option<String>,
}

/// An added receiver: its id and, for `webhook` receivers, the secret (shown once).
#[derive(Debug, Clone)]
pub struct Added {
    /// Receiver id.
    pub id: Uuid,
    /// The HMAC secret (None for SET receivers).
    pub secret: Option<String>,
}

/// A receiver that cannot be added, and why (an actionable sentence).
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// A random 256-bit secret: `whsec_` and base64url.
pub fn generate_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Validate and add a receiver; its secret is stored sealed. `egress` decides whether a
/// receiver on a private network may be added (see [`super::egress`]).
pub async fn add(
    conn: &mut db::Conn,
    keys: &EventKeys,
    tenant_id: Uuid,
    r: AddReceiver,
    egress: Egress,
    now: DateTime<Utc>,
) -> Result<Added, AddError> {
    let invalid = |m: &str| AddError::Invalid(m.to_string());
    if !(r.url.starts_with("http://") || r.url.starts_with("https://")) || r.url.len() > 2000 {
        return Err(invalid("--url must be an http:// or https:// URL of at most 2000 characters"));
    }
    check_receiver_url(&r.url, egress).map_err(AddError::Invalid)?;
    if let Some(a) = &r.audience {
        if r.format != Format::Set {
            return Err(invalid("--audience applies to --format set only"));
        }
        if a.is_empty() || a.len() > 2000 || crate::text::first_unstorable(a).is_some() {
            return Err(invalid("--audience must be 1 to 2000 characters, without NUL"));
        }
    }
    let id = Uuid::now_v7();
    let secret = match (r.format, r.secret) {
        (Format::Set, Some(_)) => {
            return Err(invalid(
                "--secret applies to --format webhook only (SETs are signed with Roster's key)",
            ))
        }
        (Format::Set, None) => None,
        (Format::Webhook, Some(s)) if !(16..=200).contains(&s.len()) => {
            return Err(invalid("--secret must be 16 to 200 characters"))
        }
        (Format::Webhook, s) => Some(s.unwrap_or_else(generate_secret)),
    };
    let hook = NewWebhook {
        id,
        url: &r.url,
        format: r.format.as_str(),
        audience: r.audience.as_deref(),
        secret_sealed: secret.as_deref().map(|s| keys.seal(tenant_id, id, s)),
    };
    db::webhooks::insert(conn, tenant_id, &hook, now).await?;
    Ok(Added { id, secret })
}

/// Seal every secret still stored in clear (rows from before secrets were sealed), erasing the
/// clear value. Idempotent; several processes may run it at once (each row ends sealed).
/// Returns how many were sealed.
pub async fn seal_clear_secrets(conn: &mut db::Conn, keys: &EventKeys) -> diesel::QueryResult<usize> {
    let clear = db::webhooks::clear_secrets(conn).await?;
    for (tenant, id, secret) in &clear {
        db::webhooks::seal(conn, *tenant, *id, &keys.seal(*tenant, *id, secret)).await?;
    }
    Ok(clear.len())
}
