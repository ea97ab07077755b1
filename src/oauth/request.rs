//! The token request (RFC 6749 §4.4.2) as it arrives: a form body, and the client's
//! authentication by HTTP Basic (`client_secret_basic`), by form fields (`client_secret_post`) or
//! by a signed assertion (`private_key_jwt`, RFC 7523 §2.2). Parsing checks everything that does
//! not need the database: one method only, no repeated parameters, the grant type, the scope.

use base64::Engine;

use super::{OAuthError, JWT_BEARER};

/// Longest parameter value accepted (an assertion with a certificate chain fits).
const MAX_VALUE: usize = 16 * 1024;

/// How the client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// A client secret, by HTTP Basic or in the form.
    Secret {
        /// The client identifier.
        client_id: String,
        /// The secret presented.
        secret: String,
        /// `client_secret_basic` or `client_secret_post`.
        method: &'static str,
    },
    /// A signed JWT (`private_key_jwt`); `client_id` when the form names it.
    Assertion {
        /// The `client_id` parameter, optional with an assertion.
        client_id: Option<String>,
        /// The compact JWT.
        assertion: String,
    },
}

/// A parsed token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The client's authentication.
    pub auth: ClientAuth,
    /// The scope asked for, when any (accepted when well formed; Roster grants `scim`).
    pub scope: Option<String>,
}

/// Parse a token request from its `Content-Type`, body and `Authorization` header.
pub fn parse(
    content_type: Option<&str>,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<TokenRequest, OAuthError> {
    let is_form = content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::invalid_request(
            "send the token request as Content-Type: application/x-www-form-urlencoded (RFC 6749 §4.4.2)",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        OAuthError::invalid_request("the request body is not a valid form (UTF-8, URL-encoded)")
    })?;
    let mut form = std::collections::BTreeMap::new();
    for (name, value) in pairs {
        if value.len() > MAX_VALUE || value.contains('\0') {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name:.40} is longer than {MAX_VALUE} bytes or contains a NUL byte"
            )));
        }
        if form.insert(name.clone(), value).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name:.40} is given more than once (RFC 6749 §3.2)"
            )));
        }
    }
    let take = |name: &str| form.get(name).filter(|v| !v.is_empty()).cloned();
    match take("grant_type").as_deref() {
        None => return Err(OAuthError::invalid_request("grant_type is missing; use client_credentials")),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::unsupported_grant_type(format!(
                "grant_type {other:.60} is not supported; Roster issues tokens for client_credentials only"
            )))
        }
    }
    let scope = take("scope");
    if let Some(scope) = &scope {
        check_scope(scope)?;
    }
    let auth = client_auth(
        authorization,
        take("client_id"),
        take("client_secret"),
        take("client_assertion"),
        take("client_assertion_type"),
    )?;
    Ok(TokenRequest { auth, scope })
}

/// RFC 6749 §3.3: space-separated tokens of `%x21 / %x23-5B / %x5D-7E`.
fn check_scope(scope: &str) -> Result<(), OAuthError> {
    let token_ok = |t: &str| {
        !t.is_empty()
            && t.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
    };
    if scope.split(' ').all(token_ok) {
        Ok(())
    } else {
        Err(OAuthError::invalid_scope(
            "scope must be space-separated tokens of printable ASCII (RFC 6749 §3.3)",
        ))
    }
}

fn client_auth(
    authorization: Option<&str>,
    client_id: Option<String>,
    client_secret: Option<String>,
    assertion: Option<String>,
    assertion_type: Option<String>,
) -> Result<ClientAuth, OAuthError> {
    let one_method = || {
        OAuthError::invalid_request(
            "use exactly one client authentication method (Basic, form secret or client assertion)",
        )
    };
    if let Some(header) = authorization {
        if client_secret.is_some() || assertion.is_some() {
            return Err(one_method());
        }
        let (id, secret) = basic(header)?;
        if client_id.as_ref().is_some_and(|c| *c != id) {
            return Err(OAuthError::invalid_request(
                "client_id in the form differs from the one in the Authorization header",
            ));
        }
        return Ok(ClientAuth::Secret { client_id: id, secret, method: "client_secret_basic" });
    }
    match (client_secret, assertion, assertion_type) {
        (Some(_), Some(_), _) => Err(one_method()),
        (None, Some(assertion), Some(kind)) if kind == JWT_BEARER => {
            Ok(ClientAuth::Assertion { client_id, assertion })
        }
        (None, Some(_), _) | (None, None, Some(_)) => Err(OAuthError::invalid_request(format!(
            "a client assertion needs client_assertion_type={JWT_BEARER} and client_assertion"
        ))),
        (Some(secret), None, _) => match client_id {
            Some(id) => Ok(ClientAuth::Secret { client_id: id, secret, method: "client_secret_post" }),
            None => Err(OAuthError::invalid_request("client_secret needs client_id")),
        },
        (None, None, None) => Err(OAuthError::invalid_client(
            "client authentication is missing: send the client id and secret with HTTP Basic, \
             as client_id and client_secret, or a private_key_jwt client assertion",
        )),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic(header: &str) -> Result<(String, String), OAuthError> {
    let bad = || {
        OAuthError::invalid_client("the Authorization header must be `Basic base64(client_id:client_secret)`")
    };
    let (scheme, value) = header.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(value.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| -> Result<String, OAuthError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&format!("v={s}")).map_err(|_| bad())?;
        pairs.into_iter().next().map(|(_, v)| v).ok_or_else(bad)
    };
    let (id, secret) = (unescape(id)?, unescape(secret)?);
    if id.is_empty() || id.len() > 200 || secret.len() > 200 || id.contains('\0') || secret.contains('\0') {
        return Err(bad());
    }
    Ok((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded; charset=UTF-8");

    /// Content type, body, Authorization header, expected error code.
    type Case<'a> = (Option<&'a str>, &'a [u8], Option<&'a str>, &'a str);

    fn b64(s: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s))
    }

    #[test]
    fn basic_and_post_and_assertion_are_recognised() {
        let r = parse(FORM, b"grant_type=client_credentials", Some(&b64("roster-a:s%2Bx"))).unwrap();
        assert_eq!(
            r.auth,
            ClientAuth::Secret {
                client_id: "roster-a".into(),
                secret: "s+x".into(),
                method: "client_secret_basic"
            }
        );
        let r = parse(FORM, b"grant_type=client_credentials&client_id=c&client_secret=s&scope=scim", None)
            .unwrap();
        assert_eq!(
            r.auth,
            ClientAuth::Secret { client_id: "c".into(), secret: "s".into(), method: "client_secret_post" }
        );
        assert_eq!(r.scope.as_deref(), Some("scim"));
        let body = format!(
            "grant_type=client_credentials&client_assertion_type={JWT_BEARER}&client_assertion=a.b.c"
        );
        let r = parse(FORM, body.as_bytes(), None).unwrap();
        assert_eq!(r.auth, ClientAuth::Assertion { client_id: None, assertion: "a.b.c".into() });
    }

    #[test]
    fn bad_requests_get_the_rfc_error_codes() {
        let cases: [Case<'_>; 10] = [
            (Some("application/json"), b"{}", None, "invalid_request"),
            (FORM, b"client_id=c&client_secret=s", None, "invalid_request"),
            (FORM, b"grant_type=password&client_id=c&client_secret=s", None, "unsupported_grant_type"),
            (FORM, b"grant_type=authorization_code", None, "unsupported_grant_type"),
            (FORM, b"grant_type=client_credentials&grant_type=client_credentials", None, "invalid_request"),
            (FORM, b"grant_type=client_credentials", None, "invalid_client"),
            (FORM, b"grant_type=client_credentials&client_id=c", None, "invalid_client"),
            (
                FORM,
                b"grant_type=client_credentials&client_id=c&client_secret=s&scope=a%22b",
                None,
                "invalid_scope",
            ),
            (
                FORM,
                b"grant_type=client_credentials&client_secret=s&client_assertion=x",
                None,
                "invalid_request",
            ),
            (FORM, b"grant_type=client_credentials&client_id=c&client_secret=s%00", None, "invalid_request"),
        ];
        for (ct, body, auth, code) in cases {
            let err = parse(ct, body, auth).unwrap_err();
            assert_eq!(err.error, code, "{}", String::from_utf8_lossy(body));
        }
        let both =
            parse(FORM, b"grant_type=client_credentials&client_secret=s", Some(&b64("c:s"))).unwrap_err();
        assert_eq!(both.error, "invalid_request");
        let bearer = parse(FORM, b"grant_type=client_credentials", Some("Bearer x")).unwrap_err();
        assert_eq!((bearer.error, bearer.status), ("invalid_client", 401));
    }
}
