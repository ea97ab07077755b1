//! RFC 9865 cursors: opaque, tamper-evident keyset positions, bound to the tenant, the resource
//! type, the filter and the sort of the query that issued them, and valid for a limited time.
//!
//! A cursor is a JWT signed with Roster's key whose claims hold the position (the sort value
//! and id of the row next to the page boundary) and which way to read from it. It names no
//! offset, so rows inserted or deleted elsewhere never make a walk skip or repeat a row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::SigningKey;
use crate::error::{ScimError, ScimResult};
use crate::scim::filter::Filter;
use crate::scim::list::SortSpec;

const ISSUER: &str = "roster-cursor";

/// How long a cursor stays valid, in seconds (advertised as `cursorTimeout`).
pub const CURSOR_TIMEOUT_SECS: i64 = 3600;

/// Which side of the position a page lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Rows after the position (`nextCursor`).
    #[serde(rename = "a")]
    After,
    /// Rows before the position (`previousCursor`).
    #[serde(rename = "b")]
    Before,
}

/// A position in a sorted result: the sort key (as text; `None` when the row has no value) and
/// the id that breaks ties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Sort value of the boundary row (`None` for unassigned, or when sorting by id only).
    pub key: Option<String>,
    /// Id of the boundary row.
    pub id: Uuid,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// Tenant and query fingerprint: a cursor only works for the query that made it.
    q: String,
    p: Position,
    d: Direction,
    exp: i64,
}

/// The fingerprint of a query: tenant, resource scope, filter and sort.
pub fn fingerprint(tenant: Uuid, scope: &str, filter: Option<&Filter>, sort: Option<&SortSpec>) -> String {
    let text = format!("{tenant}|{scope}|{filter:?}|{sort:?}");
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Issue a cursor for a position.
pub fn encode(
    key: &SigningKey,
    fingerprint: &str,
    position: Position,
    direction: Direction,
    now: DateTime<Utc>,
) -> ScimResult<String> {
    let claims = Claims {
        iss: ISSUER.into(),
        q: fingerprint.into(),
        p: position,
        d: direction,
        exp: now.timestamp() + CURSOR_TIMEOUT_SECS,
    };
    key.sign(&claims).map_err(ScimError::internal)
}

/// Read a cursor back: `invalidCursor` when it is malformed, forged or made for another query,
/// `expiredCursor` when its time is up.
pub fn decode(key: &SigningKey, cursor: &str, fingerprint: &str) -> ScimResult<(Position, Direction)> {
    let claims: Claims = key.open(cursor, ISSUER).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => ScimError::expired_cursor(format!(
            "the cursor has expired (cursors are valid for {CURSOR_TIMEOUT_SECS} seconds); start again without a cursor value"
        )),
        _ => ScimError::invalid_cursor("the cursor is not one this server issued; start again with cursor="),
    })?;
    if claims.q != fingerprint {
        return Err(ScimError::invalid_cursor(
            "the cursor belongs to a different query (filter, sort or resource type changed); start again with cursor=",
        ));
    }
    Ok((claims.p, claims.d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_secret(b"cursor-test-secret-cursor-test-secret")
    }

    #[test]
    fn round_trip_and_binding() {
        let t = Uuid::now_v7();
        let fp = fingerprint(t, "Users", None, None);
        let pos = Position { key: Some("alice".into()), id: Uuid::now_v7() };
        let c = encode(&key(), &fp, pos.clone(), Direction::After, Utc::now()).unwrap();
        assert_eq!(decode(&key(), &c, &fp).unwrap(), (pos, Direction::After));
        let other = fingerprint(Uuid::now_v7(), "Users", None, None);
        assert_eq!(
            decode(&key(), &c, &other).unwrap_err().scim_type().map(|s| s.as_str()),
            Some("invalidCursor")
        );
        let other_key = SigningKey::from_secret(b"another-secret-another-secret-xxxxx");
        assert_eq!(
            decode(&other_key, &c, &fp).unwrap_err().scim_type().map(|s| s.as_str()),
            Some("invalidCursor")
        );
        assert!(decode(&key(), "garbage", &fp).is_err());
    }

    #[test]
    fn expired_cursors_say_so() {
        let fp = fingerprint(Uuid::now_v7(), "Users", None, None);
        let long_ago = Utc::now() - chrono::Duration::seconds(CURSOR_TIMEOUT_SECS + 60);
        let c = encode(&key(), &fp, Position { key: None, id: Uuid::now_v7() }, Direction::After, long_ago)
            .unwrap();
        assert_eq!(
            decode(&key(), &c, &fp).unwrap_err().scim_type().map(|s| s.as_str()),
            Some("expiredCursor")
        );
    }

    #[test]
    fn connection_tokens_are_not_cursors() {
        let token = key().issue(Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Utc::now(), None).unwrap();
        let fp = fingerprint(Uuid::now_v7(), "Users", None, None);
        assert!(decode(&key(), &token, &fp).is_err());
    }
}
