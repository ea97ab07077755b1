//! The keys of event delivery, all derived from Roster's token signing key (`ROSTER_SIGNING_KEY`
//! or `ROSTER_DATA_DIR/signing-key`) with HKDF-SHA256 under distinct labels, so nodes that share
//! the signing key share them and nothing new has to be kept:
//!
//! - the **sealing key** (`roster webhook secret seal v1`): ChaCha20-Poly1305 that encrypts
//!   webhook secrets at rest (`webhooks.secret_sealed` = nonce || ciphertext, the tenant and
//!   webhook ids as associated data, so a sealed secret copied to another row does not open);
//! - the **SET signing key** (`roster set signing key v1`): an ECDSA P-256 key that signs
//!   Security Event Tokens (ES256); its public half is published as a JWKS.
//!
//! Rotating the token signing key therefore rotates both: sealed secrets then no longer open
//! (their deliveries fail with an error saying so until the webhook is added again).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use jsonwebtoken::EncodingKey;
use p256::ecdsa::SigningKey as EcKey;
use p256::pkcs8::EncodePrivateKey;
use rand::RngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::SigningKey;

const SEAL_LABEL: &str = "roster webhook secret seal v1";
const SET_LABEL: &str = "roster set signing key v1";
const NONCE_LEN: usize = 12;

/// A sealed secret that does not open (wrong key, or tampered with).
#[derive(Debug, thiserror::Error)]
#[error(
    "the webhook secret cannot be unsealed: the token signing key changed since it was stored; \
     remove the webhook and add it again"
)]
pub struct UnsealError;

/// Sealing key and SET signing key. Its `Debug` shows only the public key id.
#[derive(Clone)]
pub struct EventKeys {
    sealer: ChaCha20Poly1305,
    set_key: EncodingKey,
    jwk: Value,
    kid: String,
}

impl std::fmt::Debug for EventKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventKeys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl EventKeys {
    /// Derive the keys from the token signing key.
    pub fn derive(signing: &SigningKey) -> Self {
        let sealer = ChaCha20Poly1305::new(&Key::from(signing.derive(SEAL_LABEL)));
        let ec = ec_key(signing);
        // A freshly derived key always encodes.
        let der = ec.to_pkcs8_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
        let point = ec.verifying_key().to_encoded_point(false);
        let x = URL_SAFE_NO_PAD.encode(point.x().map(|x| &x[..]).unwrap_or_default());
        let y = URL_SAFE_NO_PAD.encode(point.y().map(|y| &y[..]).unwrap_or_default());
        // RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let jwk =
            json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "use": "sig", "alg": "ES256", "kid": kid});
        EventKeys { sealer, set_key: EncodingKey::from_ec_der(&der), jwk, kid }
    }

    /// Encrypt a webhook secret for the row (`tenant`, `webhook`).
    pub fn seal(&self, tenant: Uuid, webhook: Uuid, secret: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(tenant, webhook);
        // Encryption with a valid key and a short message cannot fail.
        let sealed = self
            .sealer
            .encrypt(&Nonce::from(nonce), Payload { msg: secret.as_bytes(), aad: &aad })
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypt what [`EventKeys::seal`] produced for the same row.
    pub fn open(&self, tenant: Uuid, webhook: Uuid, sealed: &[u8]) -> Result<String, UnsealError> {
        if sealed.len() <= NONCE_LEN {
            return Err(UnsealError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| UnsealError)?;
        let aad = associated_data(tenant, webhook);
        let clear = self
            .sealer
            .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad: &aad })
            .map_err(|_| UnsealError)?;
        String::from_utf8(clear).map_err(|_| UnsealError)
    }

    /// The key that signs SETs (ES256).
    pub fn set_key(&self) -> &EncodingKey {
        &self.set_key
    }

    /// The id of the SET signing key (its RFC 7638 thumbprint), sent as the JWT `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public SET verification key as a JWK Set (`{"keys": [...]}`).
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }
}

fn associated_data(tenant: Uuid, webhook: Uuid) -> Vec<u8> {
    let mut aad = b"roster-webhook:".to_vec();
    aad.extend_from_slice(tenant.as_bytes());
    aad.extend_from_slice(webhook.as_bytes());
    aad
}

/// The P-256 key derived from the signing key. A derived 32-byte string is a valid scalar except
/// with negligible probability; should it not be, derive again under a counted label.
fn ec_key(signing: &SigningKey) -> EcKey {
    let mut bytes = signing.derive(SET_LABEL);
    for n in 1u32.. {
        if let Ok(key) = EcKey::from_slice(&bytes) {
            return key;
        }
        bytes = signing.derive(&format!("{SET_LABEL} #{n}"));
    }
    unreachable!("a valid P-256 scalar is found within a few tries")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &[u8]) -> EventKeys {
        EventKeys::derive(&SigningKey::from_secret(secret))
    }

    #[test]
    fn sealed_secrets_open_for_their_row_only() {
        let k = keys(b"0123456789abcdef0123456789abcdef");
        let (t, w) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = k.seal(t, w, "a-webhook-secret-value");
        assert!(!sealed.windows(6).any(|s| s == b"webhoo"), "ciphertext holds clear text");
        assert_eq!(k.open(t, w, &sealed).unwrap(), "a-webhook-secret-value");
        assert!(k.open(t, Uuid::now_v7(), &sealed).is_err(), "another row");
        assert!(keys(b"another-secret-another-secret-xx").open(t, w, &sealed).is_err(), "another key");
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert!(k.open(t, w, &tampered).is_err());
        assert_ne!(k.seal(t, w, "a-webhook-secret-value"), sealed, "fresh nonce each time");
    }

    #[test]
    fn the_set_key_is_stable_per_signing_key_and_published_as_a_p256_jwk() {
        let (a, b) = (keys(b"0123456789abcdef0123456789abcdef"), keys(b"0123456789abcdef0123456789abcdef"));
        assert_eq!(a.jwks(), b.jwks());
        assert_ne!(a.kid(), keys(b"another-secret-another-secret-xx").kid());
        let jwk = &a.jwks()["keys"][0];
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["alg"].as_str()),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap().len(), 32);
        assert!(jwk.get("d").is_none(), "no private part");
    }
}
