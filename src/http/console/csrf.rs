//! CSRF protection of every state-changing console request: a synchronizer token bound to the
//! session ([`super::session::csrf_token`]) that each form carries in a hidden `_csrf` field.
//! [`Protected`] is the only way a console POST handler gets its form: it extracts the session,
//! reads the urlencoded body, and refuses the request with 403 unless `_csrf` matches (compared
//! in constant time). The SameSite=Strict cookie is a second line, not the only one.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::session::Session;
use super::{ConsoleError, ConsoleResult};
use crate::error::ScimError;

/// The hidden field every console form carries.
pub const FIELD: &str = "_csrf";

/// Largest console form body by default (a form holds names and choices; the import wizard's
/// forms, which carry a file, allow more).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// A POST's session and its form (at most `MAX` bytes), admitted only with the session's CSRF
/// token.
#[derive(Debug)]
pub struct Protected<T, const MAX: usize = MAX_FORM_BYTES> {
    /// The session.
    pub session: Session,
    /// The form's fields (without `_csrf`).
    pub form: T,
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuse (403) a token that is missing or is not the session's.
pub fn verify(session: &Session, presented: Option<&str>) -> ConsoleResult<()> {
    match presented {
        Some(token) if same(token, &session.csrf) => Ok(()),
        _ => Err(ScimError::forbidden(
            "this form is missing its CSRF token or it does not match your session; reload the page and try again",
        )
        .into()),
    }
}

/// Check a form body's `_csrf` against the session and parse the rest into `T`.
pub fn check<T: DeserializeOwned>(session: &Session, body: &[u8]) -> ConsoleResult<T> {
    let presented = url::form_urlencoded::parse(body).find(|(k, _)| k == FIELD).map(|(_, v)| v.into_owned());
    verify(session, presented.as_deref())?;
    if url::form_urlencoded::parse(body).any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(ScimError::invalid_value("a form field contains the character U+0000 (NUL)").into());
    }
    // Form types do not deny unknown fields, so `_csrf` is simply not one of theirs.
    serde_urlencoded::from_bytes(body).map_err(|e| ScimError::invalid_value(format!("form: {e}")).into())
}

async fn extract<T: DeserializeOwned, const MAX: usize>(
    req: HttpRequest,
    mut payload: Payload,
) -> ConsoleResult<Protected<T, MAX>> {
    let session = Session::from_request(&req, &mut Payload::None).await?;
    let body = web::Bytes::from_request(&req, &mut payload)
        .await
        .map_err(|e| ConsoleError::Scim(ScimError::bad_request(format!("form body: {e}"))))?;
    // This form's own bound (the import wizard's forms carry the file), not the default one.
    if body.len() > MAX {
        return Err(ScimError::payload_too_large(format!("a console form is at most {MAX} bytes")).into());
    }
    let form = check(&session, &body)?;
    Ok(Protected { session, form })
}

impl<T: DeserializeOwned + 'static, const MAX: usize> FromRequest for Protected<T, MAX> {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        Box::pin(extract(req.clone(), payload.take()))
    }
}

/// A form with no fields of its own (sign-out, rotate, record an invitation).
#[derive(Debug, serde::Deserialize)]
pub struct NoFields {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::console::session::{csrf_token, Kind};

    fn session(secret: &str) -> Session {
        Session {
            id: uuid::Uuid::nil(),
            kind: Kind::Operator,
            tenant: None,
            csrf: csrf_token(secret),
            audited: Default::default(),
        }
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Form {
        name: String,
    }

    #[test]
    fn a_form_needs_its_sessions_token() {
        let s = session("secret-one");
        let token = csrf_token("secret-one");
        assert_ne!(token, csrf_token("secret-two"), "bound to the session");
        let ok: Form = check(&s, format!("name=x&_csrf={token}").as_bytes()).unwrap();
        assert_eq!(ok, Form { name: "x".into() });
        for body in [
            "name=x".to_string(),
            "name=x&_csrf=".into(),
            format!("name=x&_csrf={}", csrf_token("secret-two")),
        ] {
            let err = check::<Form>(&s, body.as_bytes()).unwrap_err();
            assert!(matches!(err, ConsoleError::Scim(ref e) if e.status() == 403), "{body}: {err}");
        }
        let nul = check::<Form>(&s, format!("name=a%00b&_csrf={token}").as_bytes()).unwrap_err();
        assert!(matches!(nul, ConsoleError::Scim(ref e) if e.status() == 400));
    }
}
