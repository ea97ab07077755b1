//! OAuth 2.0 client credentials (RFC 6749 §4.4) for connections, the protocol side: client
//! secrets (generated, digested, compared in constant time), the token request as sent to
//! `POST /oauth/token` ([`request`]), `private_key_jwt` client assertions (RFC 7523,
//! [`assertion`]) and the RFC 6749 §5.2 error ([`OAuthError`]). Nothing here knows actix or
//! diesel; `directory::oauth` stores clients and issues access tokens, `http::oauth` serves them.

pub mod assertion;
pub mod request;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The path of the token endpoint below the public URL.
pub const TOKEN_PATH: &str = "/oauth/token";
/// `client_assertion_type` of RFC 7523 §2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The client authentication methods the token endpoint supports (RFC 8414 names).
pub const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "private_key_jwt"];
/// The only scope Roster grants: the connection's SCIM API.
pub const SCOPE: &str = "scim";

/// An RFC 6749 §5.2 error: the `error` code, a description a person can act on, and the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// HTTP status: 401 for `invalid_client`, 400 otherwise.
    pub status: u16,
    /// The `error` code.
    pub error: &'static str,
    /// The `error_description`.
    pub description: String,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError { status, error, description: description.into() }
    }

    /// `invalid_request` (400): a parameter is missing, repeated or malformed.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", description)
    }

    /// `invalid_client` (401): client authentication failed.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(401, "invalid_client", description)
    }

    /// `unsupported_grant_type` (400).
    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(400, "unsupported_grant_type", description)
    }

    /// `invalid_scope` (400).
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_scope", description)
    }

    /// `server_error` (500, or 503 when the database is unavailable).
    pub fn server_error(status: u16, description: impl Into<String>) -> Self {
        Self::new(status, "server_error", description)
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": self.error, "error_description": self.description})
    }
}

/// A new client secret: 256 random bits, base64url without padding (43 characters).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new client identifier: `roster-` and 128 random bits in hex.
pub fn new_client_id() -> String {
    format!("roster-{}", uuid::Uuid::new_v4().simple())
}

/// The stored digest of a secret (SHA-256: secrets are random, a slow hash adds nothing).
pub fn secret_digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Whether `presented` is the secret of `digest`, compared in constant time.
pub fn secret_matches(digest: &[u8], presented: &str) -> bool {
    let other = Sha256::digest(presented.as_bytes());
    digest.len() == other.len() && digest.iter().zip(other.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_only_their_digest_matches() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        let digest = secret_digest(&a);
        assert!(secret_matches(&digest, &a));
        assert!(!secret_matches(&digest, &b));
        assert!(!secret_matches(&digest, ""));
        assert!(!secret_matches(&[], &a));
        assert!(new_client_id().starts_with("roster-"));
    }
}
