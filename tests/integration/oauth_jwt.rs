//! Issue #13: `private_key_jwt` client authentication (RFC 7523) with a key Roster has never
//! seen (inline JWK, PEM, JWKS URL under the egress policy), replayed assertions, wrong
//! audiences, expired assertions, keys of strangers.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::oauth::{
    access_token, admin, assert_oauth_error, assertion_request, by_basic, oauth_connection, scim_status,
    token_request,
};
use crate::support::requests::{send, Reply};
use crate::support::{TestApp, TEST_ADMIN_TOKEN};

/// A fresh P-256 key: its signing key, its public JWK (`kid` k1) and its PEM public key.
struct FreshKey {
    signing: jsonwebtoken::EncodingKey,
    jwk: Value,
    pem: String,
}

fn fresh_key() -> FreshKey {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let public = secret.public_key();
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&public, false);
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
                     "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()), "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())});
    let der = STANDARD.encode(public.to_public_key_der().unwrap().as_bytes());
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{der}\n-----END PUBLIC KEY-----\n");
    let signing = jsonwebtoken::EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes());
    FreshKey { signing, jwk, pem }
}

fn assertion(key: &FreshKey, client_id: &str, aud: &str, exp: DateTime<Utc>, jti: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k1".into());
    let claims = json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": exp.timestamp(),
                        "iat": Utc::now().timestamp(), "jti": jti});
    jsonwebtoken::encode(&header, &claims, &key.signing).unwrap()
}

async fn by_assertion(app: &TestApp, jwt: &str) -> Reply {
    send(token_request(app).body(assertion_request(jwt))).await
}

#[tokio::test]
async fn private_key_jwt_with_a_fresh_key_replays_and_wrong_audiences() {
    let app = TestApp::spawn().await;
    let key = fresh_key();
    let client = oauth_connection(&app, json!({"public_key": key.jwk.to_string()})).await;
    let aud = format!("{}/oauth/token", app.root);
    let soon = Utc::now() + Duration::seconds(120);

    let jwt = assertion(&key, &client.client_id, &aud, soon, "jti-1");
    let token = access_token(&by_assertion(&app, &jwt).await);
    assert_eq!(scim_status(&app, &client.base, &token).await, 200);

    let replay = assert_oauth_error(&by_assertion(&app, &jwt).await, 401, "invalid_client");
    assert!(replay.contains("used before"), "{replay}");
    let wrong_aud = assertion(&key, &client.client_id, &format!("{}/other", app.root), soon, "jti-2");
    let detail = assert_oauth_error(&by_assertion(&app, &wrong_aud).await, 401, "invalid_client");
    assert!(detail.contains("aud"), "{detail}");
    let expired = assertion(&key, &client.client_id, &aud, Utc::now() - Duration::seconds(10), "jti-3");
    assert_oauth_error(&by_assertion(&app, &expired).await, 401, "invalid_client");
    let stranger = assertion(&fresh_key(), &client.client_id, &aud, soon, "jti-4");
    assert_oauth_error(&by_assertion(&app, &stranger).await, 401, "invalid_client");
    // The client's secret still works alongside its key.
    access_token(&by_basic(&app, &client.client_id, &client.secret).await);

    // A PEM public key registered later replaces the JWK.
    let other = fresh_key();
    let path = format!("/connections/{}/oauth/key", client.connection);
    let set = send(admin(&app, Method::PUT, &path).json(&json!({"public_key": other.pem}))).await;
    assert_eq!((set.status.as_u16(), set.body["key"].as_str()), (200, Some("public_key")), "{}", set.body);
    access_token(&by_assertion(&app, &assertion(&other, &client.client_id, &aud, soon, "jti-5")).await);
    let old_key = assertion(&key, &client.client_id, &aud, soon, "jti-6");
    assert_oauth_error(&by_assertion(&app, &old_key).await, 401, "invalid_client");
    // Symmetric keys are refused when registered.
    let oct = json!({"public_key": json!({"kty": "oct", "k": "c2VjcmV0"}).to_string()});
    send(admin(&app, Method::PUT, &path).json(&oct)).await.assert_error(400, Some("invalidValue"));
}

/// A one-route HTTP server answering every request with `body` as JSON; its URL.
async fn serve_json(body: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/jwks.json")
}

#[tokio::test]
async fn private_key_jwt_with_a_jwks_url_under_the_egress_policy() {
    let app = TestApp::spawn().await;
    let key = fresh_key();
    let url = serve_json(json!({"keys": [key.jwk]}).to_string()).await;
    let client = oauth_connection(&app, json!({"jwks_url": url})).await;
    let aud = format!("{}/oauth/token", app.root);
    let jwt = assertion(&key, &client.client_id, &aud, Utc::now() + Duration::seconds(60), "jwks-1");
    let token = access_token(&by_assertion(&app, &jwt).await);
    assert_eq!(scim_status(&app, &client.base, &token).await, 200);

    // Without ROSTER_WEBHOOK_ALLOW_PRIVATE a JWKS URL on a private address is refused.
    let strict = TestApp::spawn_with(|s| s.webhook_allow_private = false).await;
    let r = send(
        strict
            .client
            .post(format!("{}/admin/v1/tenants/{}/connections", strict.root, strict.creds.tenant))
            .bearer_auth(TEST_ADMIN_TOKEN)
            .json(&json!({"name": "x", "auth": "oauth", "jwks_url": url})),
    )
    .await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("not a public address"), "{detail}");
}
