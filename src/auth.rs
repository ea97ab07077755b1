//! Connection tokens: JWTs signed by Roster that name a tenant, a connection and a token id.
//!
//! Only the token id is stored (table `connection_tokens`), so a database dump yields no usable
//! token; the signing secret lives in configuration or in the data directory, never in the
//! database. Revocation is checked against the database on every request.

use std::path::Path;

use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ScimError;

const ISSUER: &str = "roster";
/// Issuer of tenant admin tokens: a connection token (issuer `roster`) never verifies as one,
/// and an admin token never verifies as a connection token.
const ADMIN_ISSUER: &str = "roster-admin";
const KEY_FILE: &str = "signing-key";
/// How far in the future `iat` and `nbf` may lie, for clocks of several nodes that drift a little.
pub const CLOCK_LEEWAY_SECS: i64 = 60;

/// The token was issued (and is valid from) no later than `now`, give or take the leeway.
fn not_from_the_future(iat: i64, nbf: Option<i64>, now: DateTime<Utc>) -> Result<(), ScimError> {
    let limit = now.timestamp().saturating_add(CLOCK_LEEWAY_SECS);
    if iat > limit || nbf.is_some_and(|n| n > limit) {
        return Err(ScimError::unauthorized(
            "the bearer token is not valid yet (issued in the future); check the issuer's clock",
        ));
    }
    Ok(())
}

/// Claims of a connection token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Always `roster`.
    pub iss: String,
    /// The tenant the token belongs to.
    pub tenant: Uuid,
    /// The connection the token may act for.
    pub connection: Uuid,
    /// The token id; the only part stored in the database.
    pub jti: Uuid,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Optional expiry (seconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exp: Option<i64>,
    /// Optional not-before (seconds since the epoch); Roster never sets it but honours it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nbf: Option<i64>,
}

/// Claims of a tenant admin token (admin API, one tenant).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdminClaims {
    /// Always `roster-admin`.
    pub iss: String,
    /// Always `admin`: says what the token is for to anyone reading it.
    pub typ: String,
    /// The tenant the token administers.
    pub tenant: Uuid,
    /// The token id; the only part stored in the database (table `admin_tokens`).
    pub jti: Uuid,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Optional expiry (seconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exp: Option<i64>,
    /// Optional not-before (seconds since the epoch); Roster never sets it but honours it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nbf: Option<i64>,
}

/// Who is calling: established from a verified, unrevoked token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's tenant; every query is scoped to it.
    pub tenant_id: Uuid,
    /// The connection the caller acts for.
    pub connection_id: Uuid,
    /// The token used.
    pub token_id: Uuid,
    /// The connection is in strict mode (RFC only, no IdP dialect tolerance).
    pub strict: bool,
}

/// The HMAC secret that signs and verifies tokens.
#[derive(Clone)]
pub struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The secret itself, only ever used as HKDF input key material ([`SigningKey::derive`]).
    secret: std::sync::Arc<[u8]>,
    /// Connection tokens this key has verified ([`SigningKey::verify`]), with their claims.
    verified: std::sync::Arc<std::sync::Mutex<Verified>>,
}

/// The connection tokens a key has verified. A token's signature and issuer are properties of
/// its text and the key, so they are checked once per token instead of once per request (the
/// signature check, base64 and the claims' JSON were 6 % of a `GET /Users/{id}`'s CPU in
/// Roster, issue #10). Expiry and `iat`/`nbf` depend on the time, so they are checked on every
/// use; revocation is the database's, checked on every request as before.
///
/// Only tokens that verified are kept, so forged or malformed tokens add nothing; at most
/// [`VERIFIED_MAX`], all forgotten when it is full (a deployment has a few live tokens per
/// connection, so that is rare and costs one signature check per token). A token is kept by its
/// SHA-256 digest, never as its text: the process holds no token beyond the request carrying it.
#[derive(Default)]
struct Verified {
    tokens: std::collections::HashMap<[u8; 32], Claims>,
}

/// The key a token is remembered by.
fn digest(token: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// Most connection tokens a key remembers as verified.
const VERIFIED_MAX: usize = 4096;

/// Seconds of leeway on a connection token's expiry (as `jsonwebtoken` checks it).
const EXPIRY_LEEWAY_SECS: u64 = 5;

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// A key from secret bytes.
    pub fn from_secret(secret: &[u8]) -> Self {
        SigningKey {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            secret: secret.into(),
            verified: Default::default(),
        }
    }

    /// A 32-byte key for another purpose, derived from this secret with HKDF-SHA256 under a
    /// `label` naming that purpose (distinct labels give independent keys; the secret itself
    /// never leaves this type).
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        hkdf::Hkdf::<sha2::Sha256>::new(Some(b"roster"), &self.secret)
            .expand(label.as_bytes(), &mut out)
            .unwrap_or_else(|_| unreachable!());
        out
    }

    /// The configured secret if given, otherwise the one kept in `data_dir/signing-key`,
    /// generated (256 random bits, file mode 0600) the first time.
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(secret) = configured {
            return Ok(Self::from_secret(secret.as_bytes()));
        }
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let secret = base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|e| anyhow::anyhow!("{} is not valid base64: {e}", path.display()))?;
                anyhow::ensure!(secret.len() >= 32, "{} holds a key shorter than 32 bytes", path.display());
                Ok(Self::from_secret(&secret))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut secret);
                std::fs::create_dir_all(data_dir)?;
                write_private(&path, &base64::engine::general_purpose::STANDARD.encode(secret))?;
                Ok(Self::from_secret(&secret))
            }
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    }

    /// Sign a token for a connection.
    pub fn issue(
        &self,
        tenant: Uuid,
        connection: Uuid,
        token_id: Uuid,
        issued_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            iss: ISSUER.into(),
            tenant,
            connection,
            jti: token_id,
            iat: issued_at.timestamp(),
            exp: expires_at.map(|t| t.timestamp()),
            nbf: None,
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// Sign a tenant admin token (admin API, one tenant).
    pub fn issue_admin(
        &self,
        tenant: Uuid,
        token_id: Uuid,
        issued_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> anyhow::Result<String> {
        let claims = AdminClaims {
            iss: ADMIN_ISSUER.into(),
            typ: "admin".into(),
            tenant,
            jti: token_id,
            iat: issued_at.timestamp(),
            exp: expires_at.map(|t| t.timestamp()),
            nbf: None,
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// Verify a tenant admin token: signature, issuer `roster-admin`, `typ`, expiry, and `iat`
    /// and `nbf` not after `now` (with [`CLOCK_LEEWAY_SECS`]). A connection token fails here
    /// (other issuer), and an admin token fails [`SigningKey::verify`].
    pub fn verify_admin(&self, token: &str, now: DateTime<Utc>) -> Result<AdminClaims, ScimError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ADMIN_ISSUER]);
        validation.set_required_spec_claims(&["iss"]);
        validation.validate_exp = true;
        validation.leeway = EXPIRY_LEEWAY_SECS;
        match jsonwebtoken::decode::<AdminClaims>(token, &self.decoding, &validation) {
            Ok(data) if data.claims.typ == "admin" => {
                not_from_the_future(data.claims.iat, data.claims.nbf, now)?;
                Ok(data.claims)
            }
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(ScimError::unauthorized("the admin token has expired; ask the operator for a new one"))
            }
            _ => Err(ScimError::unauthorized(
                "send `Authorization: Bearer <token>` with ROSTER_ADMIN_TOKEN or a tenant admin token \
                 (`roster admin-token issue`); SCIM connection tokens are not accepted here",
            )),
        }
    }

    /// Sign arbitrary claims (used for opaque, tamper-evident paging cursors). The claims must
    /// carry their own `iss`, different from connection tokens', so neither passes for the other.
    pub fn sign<T: Serialize>(&self, claims: &T) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)?)
    }

    /// Verify claims signed with [`SigningKey::sign`] for issuer `iss` (expiry checked when present).
    pub fn open<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        iss: &str,
    ) -> Result<T, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[iss]);
        validation.set_required_spec_claims(&["iss"]);
        validation.leeway = 0;
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation).map(|d| d.claims)
    }

    /// Verify signature, issuer, (when present) expiry, and `iat` and `nbf` not after `now`
    /// (with [`CLOCK_LEEWAY_SECS`]). Every failure is a 401 whose detail says what to do, never
    /// which check failed internally beyond that.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, ScimError> {
        self.verify_at(token, now, jsonwebtoken::get_current_timestamp())
    }

    /// [`SigningKey::verify`], with `clock` (seconds since the epoch) for the expiry of a token
    /// verified before: the clock `jsonwebtoken` checks it against when it decodes one.
    fn verify_at(&self, token: &str, now: DateTime<Utc>, clock: u64) -> Result<Claims, ScimError> {
        let digest = digest(token);
        let known = self.remembered().tokens.get(&digest).cloned();
        let claims = match known {
            Some(claims) => {
                // As `jsonwebtoken` checks it: expired once `exp` is more than the leeway ago.
                let limit = clock.saturating_sub(EXPIRY_LEEWAY_SECS);
                if claims.exp.is_some_and(|exp| u64::try_from(exp).map_or(true, |exp| exp < limit)) {
                    return Err(expired());
                }
                claims
            }
            None => {
                let mut validation = Validation::new(Algorithm::HS256);
                validation.set_issuer(&[ISSUER]);
                validation.set_required_spec_claims(&["iss"]);
                validation.validate_exp = true;
                validation.leeway = EXPIRY_LEEWAY_SECS;
                let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
                    .map(|data| data.claims)
                    .map_err(|e| match e.kind() {
                        jsonwebtoken::errors::ErrorKind::ExpiredSignature => expired(),
                        _ => {
                            ScimError::unauthorized("the bearer token is not a valid Roster connection token")
                        }
                    })?;
                let mut verified = self.remembered();
                if verified.tokens.len() >= VERIFIED_MAX {
                    verified.tokens.clear();
                }
                verified.tokens.insert(digest, claims.clone());
                claims
            }
        };
        not_from_the_future(claims.iat, claims.nbf, now)?;
        Ok(claims)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, Verified> {
        // The map is always whole (a panic cannot leave half an insert), so a poisoned lock is
        // still usable.
        self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

fn expired() -> ScimError {
    ScimError::unauthorized("the bearer token has expired; issue a new one")
}

/// Extract the token from an `Authorization` header value (`Bearer <token>`, scheme case-insensitive).
pub fn bearer_token(header: &str) -> Result<&str, ScimError> {
    let (scheme, token) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| ScimError::unauthorized("the Authorization header must be `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ScimError::unauthorized("the Authorization header must be `Bearer <token>`"));
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_secret(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn issued_tokens_verify_and_carry_their_claims() {
        let (t, c, j) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let token = key().issue(t, c, j, Utc::now(), None).unwrap();
        let claims = key().verify(&token, Utc::now()).unwrap();
        assert_eq!((claims.tenant, claims.connection, claims.jti), (t, c, j));
    }

    #[test]
    fn tokens_from_another_key_or_tampered_are_rejected() {
        let token = key().issue(Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Utc::now(), None).unwrap();
        let other = SigningKey::from_secret(b"another-secret-another-secret-xx");
        assert_eq!(other.verify(&token, Utc::now()).unwrap_err().status(), 401);
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 3, 'x');
        assert_eq!(key().verify(&tampered, Utc::now()).unwrap_err().status(), 401);
    }

    #[test]
    fn a_verified_token_is_remembered_and_its_time_claims_still_checked_on_every_use() {
        let key = key();
        let issued = Utc::now();
        let expires = issued + chrono::Duration::minutes(10);
        let (t, c, j) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let token = key.issue(t, c, j, issued, Some(expires)).unwrap();
        let clock = u64::try_from(issued.timestamp()).unwrap();
        let first = key.verify_at(&token, issued, clock).unwrap();
        assert_eq!(key.remembered().tokens.len(), 1);
        // Remembered: the same claims, also through a clone of the key (the server's state).
        assert_eq!(key.clone().verify_at(&token, issued, clock).unwrap(), first);
        assert_eq!(key.remembered().tokens.len(), 1);
        // Expired since: refused although remembered, with the leeway jsonwebtoken gives.
        let exp = u64::try_from(expires.timestamp()).unwrap();
        assert!(key.verify_at(&token, issued, exp + EXPIRY_LEEWAY_SECS).is_ok());
        let err = key.verify_at(&token, issued, exp + EXPIRY_LEEWAY_SECS + 1).unwrap_err();
        assert!(err.detail().contains("expired"), "{}", err.detail());
        // Issued after `now` (beyond the clock leeway): refused although remembered.
        let before = issued - chrono::Duration::seconds(CLOCK_LEEWAY_SECS + 1);
        assert!(key.verify_at(&token, before, clock).unwrap_err().detail().contains("issued in the future"));
    }

    #[test]
    fn only_tokens_that_verify_are_remembered_and_only_by_their_key() {
        let key = key();
        let token = key.issue(Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Utc::now(), None).unwrap();
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 3, 'x');
        for _ in 0..2 {
            assert_eq!(key.verify(&tampered, Utc::now()).unwrap_err().status(), 401);
        }
        assert_eq!(key.remembered().tokens.len(), 0);
        key.verify(&token, Utc::now()).unwrap();
        let other = SigningKey::from_secret(b"another-secret-another-secret-xx");
        assert_eq!(other.verify(&token, Utc::now()).unwrap_err().status(), 401);
        assert_eq!(other.remembered().tokens.len(), 0);
    }

    #[test]
    fn the_remembered_tokens_are_bounded() {
        let key = key();
        for _ in 0..=VERIFIED_MAX {
            let token = key.issue(Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Utc::now(), None).unwrap();
            key.verify(&token, Utc::now()).unwrap();
            assert!(key.remembered().tokens.len() <= VERIFIED_MAX);
        }
        assert_eq!(key.remembered().tokens.len(), 1, "cleared when full, then the new one kept");
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let past = Utc::now() - chrono::Duration::hours(2);
        let token = key()
            .issue(
                Uuid::new_v4(),
                Uuid::new_v4(),
                Uuid::new_v4(),
                past,
                Some(past + chrono::Duration::minutes(1)),
            )
            .unwrap();
        let err = key().verify(&token, Utc::now()).unwrap_err();
        assert!(err.detail().contains("expired"), "{}", err.detail());
    }

    #[test]
    fn admin_and_connection_tokens_never_pass_for_each_other() {
        let (t, c, j) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let admin = key().issue_admin(t, j, Utc::now(), None).unwrap();
        let claims = key().verify_admin(&admin, Utc::now()).unwrap();
        assert_eq!((claims.tenant, claims.jti, claims.typ.as_str()), (t, j, "admin"));
        assert_eq!(key().verify(&admin, Utc::now()).unwrap_err().status(), 401);
        let connection = key().issue(t, c, j, Utc::now(), None).unwrap();
        assert_eq!(key().verify_admin(&connection, Utc::now()).unwrap_err().status(), 401);
        let past = Utc::now() - chrono::Duration::hours(2);
        let expired = key().issue_admin(t, j, past, Some(past + chrono::Duration::minutes(1))).unwrap();
        assert!(key().verify_admin(&expired, Utc::now()).unwrap_err().detail().contains("expired"));
    }

    #[test]
    fn tokens_issued_in_the_future_are_rejected_beyond_the_leeway() {
        let (t, c, j) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let now = Utc::now();
        let soon = now + chrono::Duration::seconds(CLOCK_LEEWAY_SECS - 5);
        let later = now + chrono::Duration::hours(1);
        assert!(key().verify(&key().issue(t, c, j, soon, None).unwrap(), now).is_ok(), "within the leeway");
        let future = key().issue(t, c, j, later, None).unwrap();
        assert!(key().verify(&future, now).unwrap_err().detail().contains("not valid yet"));
        assert!(key().verify_admin(&key().issue_admin(t, j, later, None).unwrap(), now).is_err());
        let mut claims = key().verify(&key().issue(t, c, j, now, None).unwrap(), now).unwrap();
        claims.nbf = Some(later.timestamp());
        assert_eq!(key().verify(&key().sign(&claims).unwrap(), now).unwrap_err().status(), 401);
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token("Bearer abc").unwrap(), "abc");
        assert_eq!(bearer_token("bearer  abc ").unwrap(), "abc");
        assert!(bearer_token("Basic abc").is_err());
        assert!(bearer_token("Bearer").is_err());
    }

    #[test]
    fn generated_key_is_persisted_and_reused() {
        let dir = std::env::temp_dir().join(format!("roster-key-{}", Uuid::new_v4()));
        let a = SigningKey::load_or_create(None, &dir).unwrap();
        let b = SigningKey::load_or_create(None, &dir).unwrap();
        let token = a.issue(Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Utc::now(), None).unwrap();
        assert!(b.verify(&token, Utc::now()).is_ok());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
