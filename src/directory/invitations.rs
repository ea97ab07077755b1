//! Invitation state, recorded by the application that sends the messages (through the admin
//! API): an invitation sent moves `provisioned` to `invited`; a login moves the member to
//! `active` and sets `joined_at` once. Suspended and removed members record neither, and SSO
//! tenants send no invitations.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use uuid::Uuid;

use super::db_precision;
use crate::db::tenants::{self as tenant_store, Tenant};
use crate::db::users::{self as store, status, InvitationState};
use crate::db::Conn;
use crate::error::{ScimError, ScimResult};

/// What is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// An invitation was sent.
    Invitation,
    /// The member logged in.
    Login,
}

/// The state after recording `what` for a member in `state` at `now`, or why it is refused.
fn apply(
    what: Record,
    mut state: InvitationState,
    sso: bool,
    now: DateTime<Utc>,
) -> ScimResult<InvitationState> {
    match state.status.as_str() {
        status::REMOVED => {
            return Err(ScimError::conflict("the member was removed; it can no longer be invited or log in"))
        }
        status::SUSPENDED => return Err(ScimError::conflict(
            "the member is suspended (active=false); reactivate it before inviting it or recording a login",
        )),
        _ => {}
    }
    match what {
        Record::Invitation => {
            if sso {
                return Err(ScimError::conflict(
                    "this tenant signs members in with SSO (sso=true): invitations are not sent",
                ));
            }
            state.invitation_count += 1;
            state.last_invited_at = Some(now);
            if state.status == status::PROVISIONED {
                state.status = status::INVITED.into();
            }
        }
        Record::Login => {
            state.joined_at = state.joined_at.or(Some(now));
            state.last_login_at = Some(now);
            state.status = status::ACTIVE.into();
        }
    }
    Ok(state)
}

/// Record an invitation sent or a login of a member, in one transaction; returns the new state.
pub async fn record(
    conn: &mut Conn,
    tenant: &Tenant,
    member: Uuid,
    what: Record,
    now: DateTime<Utc>,
) -> ScimResult<InvitationState> {
    let now = db_precision(now);
    let tenant_id = tenant.id;
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let state = store::invitation_state_for_update(conn, tenant_id, member)
            .await?
            .ok_or_else(|| ScimError::not_found(format!("no member {member} in this tenant")))?;
        let sso = tenant_store::sso(conn, tenant_id).await?;
        let next = apply(what, state, sso, now)?;
        store::set_invitation_state(conn, tenant_id, member, &next).await?;
        Ok(next)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: &str) -> InvitationState {
        InvitationState {
            status: status.into(),
            invitation_count: 0,
            last_invited_at: None,
            joined_at: None,
            last_login_at: None,
        }
    }

    #[test]
    fn invitations_then_logins_walk_the_lifecycle() {
        let t0 = Utc::now();
        let invited = apply(Record::Invitation, state(status::PROVISIONED), false, t0).unwrap();
        assert_eq!((invited.status.as_str(), invited.invitation_count), (status::INVITED, 1));
        let again = apply(Record::Invitation, invited, false, t0).unwrap();
        assert_eq!(again.invitation_count, 2);
        let t1 = t0 + chrono::Duration::minutes(5);
        let joined = apply(Record::Login, again, false, t1).unwrap();
        assert_eq!((joined.status.as_str(), joined.joined_at), (status::ACTIVE, Some(t1)));
        let t2 = t1 + chrono::Duration::minutes(5);
        let later = apply(Record::Login, joined, false, t2).unwrap();
        assert_eq!((later.joined_at, later.last_login_at), (Some(t1), Some(t2)));
        // An invitation after joining counts but does not demote.
        assert_eq!(apply(Record::Invitation, later, false, t2).unwrap().status, status::ACTIVE);
    }

    #[test]
    fn refusals() {
        let now = Utc::now();
        for s in [status::SUSPENDED, status::REMOVED] {
            assert_eq!(apply(Record::Invitation, state(s), false, now).unwrap_err().status(), 409);
            assert_eq!(apply(Record::Login, state(s), false, now).unwrap_err().status(), 409);
        }
        let e = apply(Record::Invitation, state(status::PROVISIONED), true, now).unwrap_err();
        assert!(e.detail().contains("SSO"), "{}", e.detail());
        assert!(apply(Record::Login, state(status::PROVISIONED), true, now).is_ok(), "SSO members log in");
    }
}
