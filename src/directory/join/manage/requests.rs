//! Decisions on access requests: approve (the member is written like any registration) or deny
//! with a reason; each with its `access_request.*` event.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde_json::Map;
use uuid::Uuid;

use crate::db::join::{self as store, Request};
use crate::db::{events, Conn};
use crate::directory::join::Applicant;
use crate::directory::write::{self, Registered, Registration};
use crate::directory::{db_precision, TenantProfile};
use crate::error::{ScimError, ScimResult};
use crate::events::NewEvent;

/// Approve a pending access request: the member is written (like any registration) and
/// `access_request.approved` follows. 409 when the request was decided already, or when a live
/// member holds its userName, email or personnel number (deny it instead).
pub async fn approve(
    conn: &mut Conn,
    profile: &TenantProfile,
    id: Uuid,
    now: DateTime<Utc>,
) -> ScimResult<Request> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let mut request = pending(conn, profile.id, id).await?;
        let applicant: Applicant =
            serde_json::from_value(request.registration.clone()).map_err(ScimError::internal)?;
        let reg = Registration {
            resource: applicant.resource(&Map::new()),
            personal_id: None,
            groups: Vec::new(),
            door: "access request",
        };
        let member = match write::register(conn, profile, &reg, now).await? {
            Registered::Joined { member, .. } => member,
            Registered::AlreadyMember(existing) => {
                return Err(ScimError::conflict(format!(
                    "member {existing} already has this userName or email; deny the request instead"
                )))
            }
        };
        store::decide_request(conn, profile.id, id, "approved", None, Some(member), now).await?;
        events::insert(conn, profile.id, &[NewEvent::access_request_approved(id, member)], now).await?;
        request.state = "approved".into();
        request.member_id = Some(member);
        request.decided_at = Some(now);
        Ok(request)
    })
    .await
}

/// Deny a pending access request with a reason the registrant is shown.
pub async fn deny(
    conn: &mut Conn,
    tenant: Uuid,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> ScimResult<Request> {
    let now = db_precision(now);
    let reason = reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 2000 || reason.chars().any(|c| c == '\0') {
        return Err(ScimError::invalid_value("reason: 1 to 2000 characters (the registrant is shown it)"));
    }
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let mut request = pending(conn, tenant, id).await?;
        store::decide_request(conn, tenant, id, "denied", Some(&reason), None, now).await?;
        events::insert(conn, tenant, &[NewEvent::access_request_denied(id)], now).await?;
        request.state = "denied".into();
        request.reason = Some(reason);
        request.decided_at = Some(now);
        Ok(request)
    })
    .await
}

async fn pending(conn: &mut Conn, tenant: Uuid, id: Uuid) -> ScimResult<Request> {
    let request = store::request_for_update(conn, tenant, id)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("no access request {id} in this tenant")))?;
    if request.state != "pending" {
        return Err(ScimError::conflict(format!("the request was already {}", request.state)));
    }
    Ok(request)
}
