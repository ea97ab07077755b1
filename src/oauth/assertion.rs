//! `private_key_jwt` client assertions (RFC 7523 §2.2, §3): the client's registered public key
//! (a JWK, a JWK Set or a PEM public key, inline or fetched from a JWKS URL) verifies the
//! signature; `iss` and `sub` must be the client id, `aud` the token endpoint URL, `exp` in the
//! future (and at most [`MAX_LIFETIME_SECS`] ahead, which bounds how long its `jti` is kept),
//! `iat`/`nbf` not in the future, and a `jti` the caller checks it has never seen.

use chrono::{DateTime, TimeZone, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::OAuthError;
use crate::auth::CLOCK_LEEWAY_SECS;

/// The signature algorithms accepted: asymmetric only (never `none`, never HMAC).
pub const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
/// The furthest ahead an assertion's `exp` may be.
pub const MAX_LIFETIME_SECS: i64 = 3600;
/// Longest inline key or fetched JWK Set accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 64 * 1024;

/// A client's public keys.
#[derive(Debug, Clone)]
pub enum PublicKeys {
    /// One JWK or a JWK Set.
    Jwks(JwkSet),
    /// A PEM public key (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`).
    Pem(String),
}

/// Parse a public key as registered or fetched: a JWK object, a JWK Set, or PEM. Symmetric
/// (`oct`) keys are refused: a key anyone who reads the database could sign with is no key.
pub fn parse_keys(text: &str) -> Result<PublicKeys, String> {
    let text = text.trim();
    if text.len() > MAX_KEY_BYTES {
        return Err(format!("the public key is larger than {MAX_KEY_BYTES} bytes"));
    }
    if text.starts_with("-----BEGIN") {
        if !(text.contains("PUBLIC KEY-----")) {
            return Err("the PEM block must be a public key (BEGIN PUBLIC KEY), never a private key".into());
        }
        let usable = [DecodingKey::from_rsa_pem, DecodingKey::from_ec_pem, DecodingKey::from_ed_pem]
            .iter()
            .any(|f| f(text.as_bytes()).is_ok());
        return if usable {
            Ok(PublicKeys::Pem(text.to_string()))
        } else {
            Err("the PEM public key cannot be read".into())
        };
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| "the public key must be a JWK, a JWK Set or a PEM public key".to_string())?;
    let set: JwkSet = if value.get("keys").is_some() {
        serde_json::from_value(value).map_err(|e| format!("the JWK Set cannot be read: {e}"))?
    } else {
        let jwk: Jwk = serde_json::from_value(value).map_err(|e| format!("the JWK cannot be read: {e}"))?;
        JwkSet { keys: vec![jwk] }
    };
    if set.keys.is_empty() {
        return Err("the JWK Set holds no key".into());
    }
    for jwk in &set.keys {
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err("symmetric (kty \"oct\") keys are not accepted; register a public key".into());
        }
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Encryption)
        {
            continue;
        }
        DecodingKey::from_jwk(jwk).map_err(|e| format!("a JWK cannot be used: {e}"))?;
    }
    Ok(PublicKeys::Jwks(set))
}

/// What a verified assertion leaves to check and store: its id and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The `jti`.
    pub jti: String,
    /// The `exp`.
    pub expires_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Claims {
    exp: i64,
    jti: Option<String>,
    iat: Option<i64>,
    nbf: Option<i64>,
}

#[derive(Deserialize)]
struct IssuerOnly {
    iss: Option<String>,
}

/// The `iss` of an assertion before it is verified: it names the client whose key verifies it,
/// when the request has no `client_id`.
pub fn claimed_issuer(assertion: &str) -> Result<String, OAuthError> {
    jsonwebtoken::dangerous::insecure_decode::<IssuerOnly>(assertion)
        .ok()
        .and_then(|d| d.claims.iss)
        .filter(|iss| !iss.is_empty() && iss.len() <= 200)
        .ok_or_else(|| OAuthError::invalid_client("the client assertion is not a JWT with an iss claim"))
}

fn keys_for<'k>(
    keys: &'k PublicKeys,
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<Vec<DecodingKey>, OAuthError> {
    match keys {
        PublicKeys::Pem(pem) => {
            let pem = pem.as_bytes();
            let key = match alg {
                Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
                Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
                _ => DecodingKey::from_rsa_pem(pem),
            };
            Ok(key.into_iter().collect())
        }
        PublicKeys::Jwks(set) => {
            let chosen: Vec<&'k Jwk> = match kid {
                Some(kid) => set.find(kid).into_iter().collect(),
                None => set.keys.iter().collect(),
            };
            if chosen.is_empty() {
                return Err(OAuthError::invalid_client(format!(
                    "no registered key has kid {:?}; register the key or its JWKS URL",
                    kid.unwrap_or_default().chars().take(60).collect::<String>()
                )));
            }
            Ok(chosen.into_iter().filter_map(|jwk| DecodingKey::from_jwk(jwk).ok()).collect())
        }
    }
}

/// Verify `assertion` for `client_id` against `keys`, with `audience` the token endpoint URL.
pub fn verify(
    assertion: &str,
    client_id: &str,
    keys: &PublicKeys,
    audience: &str,
    now: DateTime<Utc>,
) -> Result<Verified, OAuthError> {
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| OAuthError::invalid_client("the client assertion is not a valid JWT"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(OAuthError::invalid_client(format!(
            "client assertions must be signed with an asymmetric algorithm (RS256, PS256, ES256, ...), not {:?}",
            header.alg
        )));
    }
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_string());
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    // Expiry and not-before are checked below against Roster's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let mut last = None;
    for key in keys_for(keys, header.alg, header.kid.as_deref())? {
        match jsonwebtoken::decode::<Claims>(assertion, &key, &validation) {
            Ok(data) => return check_times(data.claims, now),
            Err(e) => last = Some(e),
        }
    }
    Err(OAuthError::invalid_client(match last.as_ref().map(|e| e.kind()) {
        Some(ErrorKind::InvalidAudience) => {
            format!("the client assertion's aud must be the token endpoint {audience}")
        }
        Some(ErrorKind::InvalidIssuer) | Some(ErrorKind::InvalidSubject) => {
            "the client assertion's iss and sub must both be the client id".to_string()
        }
        Some(ErrorKind::MissingRequiredClaim(claim)) => format!("the client assertion has no {claim} claim"),
        _ => "the client assertion's signature does not verify with the client's registered key".to_string(),
    }))
}

fn check_times(claims: Claims, now: DateTime<Utc>) -> Result<Verified, OAuthError> {
    let now_s = now.timestamp();
    if claims.exp <= now_s {
        return Err(OAuthError::invalid_client("the client assertion has expired; sign a new one"));
    }
    if claims.exp > now_s + MAX_LIFETIME_SECS + CLOCK_LEEWAY_SECS {
        return Err(OAuthError::invalid_client(format!(
            "the client assertion's exp is more than {MAX_LIFETIME_SECS} seconds away; use short-lived assertions"
        )));
    }
    let limit = now_s + CLOCK_LEEWAY_SECS;
    if claims.iat.is_some_and(|t| t > limit) || claims.nbf.is_some_and(|t| t > limit) {
        return Err(OAuthError::invalid_client(
            "the client assertion is not valid yet; check the client's clock",
        ));
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 256 && !j.contains('\0'))
        .ok_or_else(|| OAuthError::invalid_client("the client assertion needs a jti (1-256 characters)"))?;
    let expires_at = Utc.timestamp_opt(claims.exp, 0).single().unwrap_or(now);
    Ok(Verified { jti, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::{EncodingKey, Header};
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};

    const AUD: &str = "https://roster.example/oauth/token";

    struct Key {
        signing: EncodingKey,
        pem: String,
        jwk: String,
    }

    fn key() -> Key {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let der = secret.to_pkcs8_der().unwrap();
        let public = secret.public_key();
        let der64 =
            base64::engine::general_purpose::STANDARD.encode(public.to_public_key_der().unwrap().as_bytes());
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{der64}\n-----END PUBLIC KEY-----\n");
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&public, false);
        let (x, y) = (URL_SAFE_NO_PAD.encode(point.x().unwrap()), URL_SAFE_NO_PAD.encode(point.y().unwrap()));
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": "k1"}).to_string();
        Key { signing: EncodingKey::from_ec_der(der.as_bytes()), pem, jwk }
    }

    fn sign(key: &Key, claims: serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, &claims, &key.signing).unwrap()
    }

    fn claims(exp: i64) -> serde_json::Value {
        serde_json::json!({"iss": "c1", "sub": "c1", "aud": AUD, "exp": exp, "jti": "j1", "iat": Utc::now().timestamp()})
    }

    #[test]
    fn a_good_assertion_verifies_with_a_jwk_or_pem() {
        let k = key();
        let now = Utc::now();
        let jwt = sign(&k, claims(now.timestamp() + 60));
        for keys in [parse_keys(&k.jwk).unwrap(), parse_keys(&k.pem).unwrap()] {
            let v = verify(&jwt, "c1", &keys, AUD, now).unwrap();
            assert_eq!(v.jti, "j1");
        }
        assert_eq!(claimed_issuer(&jwt).unwrap(), "c1");
    }

    #[test]
    fn wrong_audience_issuer_key_expiry_or_algorithm_fail() {
        let (k, other) = (key(), key());
        let now = Utc::now();
        let keys = parse_keys(&k.jwk).unwrap();
        let exp = now.timestamp() + 60;
        let mut wrong_aud = claims(exp);
        wrong_aud["aud"] = "https://elsewhere/token".into();
        let mut wrong_sub = claims(exp);
        wrong_sub["sub"] = "c2".into();
        let mut no_jti = claims(exp);
        no_jti.as_object_mut().unwrap().remove("jti");
        let cases = [
            (sign(&k, wrong_aud), "aud"),
            (sign(&k, wrong_sub), "iss and sub"),
            (sign(&k, claims(now.timestamp() - 1)), "expired"),
            (sign(&k, claims(now.timestamp() + 7200)), "more than"),
            (sign(&k, no_jti), "jti"),
            (sign(&other, claims(exp)), "signature"),
        ];
        for (jwt, fragment) in cases {
            let err = verify(&jwt, "c1", &keys, AUD, now).unwrap_err();
            assert_eq!(err.error, "invalid_client");
            assert!(err.description.contains(fragment), "{fragment}: {}", err.description);
        }
        let hmac = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(exp),
            &EncodingKey::from_secret(b"x"),
        )
        .unwrap();
        assert!(verify(&hmac, "c1", &keys, AUD, now).unwrap_err().description.contains("asymmetric"));
    }

    #[test]
    fn rs256_assertions_verify_with_a_pem_public_key() {
        // A test-only RSA key pair (openssl genpkey), used by nothing else.
        let private = include_str!("testdata/rsa-test-key.pem");
        let public = parse_keys(include_str!("testdata/rsa-test-key.pub.pem")).unwrap();
        let signing = EncodingKey::from_rsa_pem(private.as_bytes()).unwrap();
        let now = Utc::now();
        let jwt =
            jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(now.timestamp() + 60), &signing)
                .unwrap();
        assert_eq!(verify(&jwt, "c1", &public, AUD, now).unwrap().jti, "j1");
        let ps =
            jsonwebtoken::encode(&Header::new(Algorithm::PS256), &claims(now.timestamp() + 60), &signing)
                .unwrap();
        assert!(verify(&ps, "c1", &public, AUD, now).is_ok(), "PS256 with the same key");
        // An EC key registered for the client does not verify an RSA signature.
        let ec = parse_keys(&key().pem).unwrap();
        assert_eq!(verify(&jwt, "c1", &ec, AUD, now).unwrap_err().error, "invalid_client");
    }

    #[test]
    fn registered_keys_are_checked() {
        assert!(parse_keys(r#"{"kty":"oct","k":"c2VjcmV0"}"#).unwrap_err().contains("symmetric"));
        assert!(parse_keys("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----").is_err());
        assert!(parse_keys("not a key").is_err());
        assert!(parse_keys(r#"{"keys":[]}"#).is_err());
        let k = key();
        assert!(matches!(parse_keys(&format!(r#"{{"keys":[{}]}}"#, k.jwk)).unwrap(), PublicKeys::Jwks(_)));
    }
}
