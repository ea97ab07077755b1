//! Member lifecycle changes an admin makes without an IdP (the admin API): suspend, reactivate
//! and restore a removed member within the tenant's retention period. Removal is SCIM's own
//! [`super::users::remove_member`]. Each change is one transaction with the same rows, guards
//! and events as the SCIM write it mirrors: the member's `active` and status written through
//! the columns every SCIM write derives ([`UserColumns`]), the last-admin guard on suspension,
//! `member.suspended` / `member.reactivated` / `member.created` (restored), and the write
//! service's follow-up (role recomputed, position) — so an admin's action and an IdP's are
//! indistinguishable downstream.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde_json::Value;
use uuid::Uuid;

use super::users::{invites, member_events, status_after_write, status_for};
use super::{db_precision, object, write, ActiveChange, TenantProfile};
use crate::db::lifecycle as store;
use crate::db::roles::FollowUp;
use crate::db::users::{self as user_store, UserColumns};
use crate::db::Conn;
use crate::error::{ScimError, ScimResult};
use crate::events::NewEvent;

/// A member's lifecycle state after an admin's change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Lifecycle {
    /// The member.
    pub id: Uuid,
    /// Lifecycle status now.
    pub status: String,
    /// SCIM `active` now.
    pub active: bool,
    /// Effective role now.
    pub role: Option<String>,
}

fn not_found(id: Uuid) -> ScimError {
    ScimError::not_found(format!("no member {id} in this tenant"))
}

/// The follow-up of a lifecycle write: the member's role and position (kept from its stored
/// attributes), `events` and any `role.changed` written.
async fn followed(
    conn: &mut Conn,
    profile: &TenantProfile,
    id: Uuid,
    resource: &serde_json::Map<String, Value>,
    row: write::MemberRow<'_>,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> ScimResult<Lifecycle> {
    let item = FollowUp {
        id,
        created: false,
        default_base_role: false,
        role_keys: None,
        position: write::position_of(profile, resource),
        row: row.write(resource),
    };
    let done = write::follow_up(conn, profile.id, &[item], now, false, Some(events)).await?;
    let after = done.members.into_iter().next().ok_or_else(|| not_found(id))?;
    let active = resource.get("active").and_then(Value::as_bool).unwrap_or(true);
    Ok(Lifecycle { id, status: after.status, active, role: after.role })
}

/// Suspend (`active = false`) or reactivate (`true`) a member, as a SCIM `active` change would:
/// suspending the last org admin is refused; a reactivated member who never joined needs an
/// invitation (unless the tenant does not invite). Setting the state it already has changes
/// nothing and writes no event.
pub async fn set_active(
    conn: &mut Conn,
    profile: &TenantProfile,
    id: Uuid,
    active: bool,
    now: DateTime<Utc>,
) -> ScimResult<Lifecycle> {
    let now = db_precision(now);
    let tenant = profile.id;
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let locked = user_store::find_for_update(conn, tenant, id).await?.ok_or_else(|| not_found(id))?;
        let (status, invite) = status_after_write(profile, &locked, active);
        let user_store::Locked { row: old, holds_admin, .. } = locked;
        let was_active = old.resource.get("active").and_then(Value::as_bool).unwrap_or(true);
        let change = ActiveChange::between(was_active, active);
        if change == Some(ActiveChange::Suspended) {
            write::guard_member(conn, profile, id, holds_admin, "suspend").await?;
        }
        let mut resource = object(old.resource);
        if change.is_none() {
            return followed(conn, profile, id, &resource, write::MemberRow::Written, &[], now).await;
        }
        resource.insert("active".into(), Value::Bool(active));
        let mut columns = UserColumns::from_resource(resource, &status);
        let resource = object(std::mem::take(&mut columns.resource));
        let out = member_events(id, Vec::new(), change, invite);
        tracing::info!(member.id = %id, active, "member {} by an admin", change.map_or("", ActiveChange::as_str));
        let row = write::MemberRow::Update(&columns, old.password_hash.as_deref(), None);
        followed(conn, profile, id, &resource, row, &out, now).await
    })
    .await
}

/// Restore a removed member within the tenant's retention period: the same id and content, its
/// stored attributes and invitation state, `member.created` with `restored: true` (as a
/// re-provisioned member). Its memberships went with the removal and are not restored.
/// 404 for an unknown member, 409 when it is not removed, past retention (or scrubbed), or its
/// userName / personalId is now used by another member.
pub async fn restore(
    conn: &mut Conn,
    profile: &TenantProfile,
    id: Uuid,
    now: DateTime<Utc>,
) -> ScimResult<Lifecycle> {
    let now = db_precision(now);
    let tenant = profile.id;
    let cutoff = now - chrono::Duration::days(i64::from(profile.member_retention_days));
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let Some(removed) = store::removed_for_update(conn, tenant, id).await? else {
            return Err(if store::exists(conn, tenant, id).await? {
                ScimError::conflict(format!(
                    "member {id} is not removed; only a removed member can be restored"
                ))
            } else {
                not_found(id)
            });
        };
        if removed.scrubbed_at.is_some() || removed.removed_at.is_none_or(|at| at <= cutoff) {
            return Err(ScimError::conflict(format!(
                "member {id} was removed longer ago than the tenant's retention period ({} days) and can no \
                 longer be restored; create it again instead",
                profile.member_retention_days
            )));
        }
        restore_row(conn, profile, removed, now).await
    })
    .await
}

/// Bring a removed member's row back and follow the write up (inside the caller's transaction):
/// shared by the admin API's restore and an import's restore by personalid or email.
pub async fn restore_row(
    conn: &mut Conn,
    profile: &TenantProfile,
    removed: store::Removed,
    now: DateTime<Utc>,
) -> ScimResult<Lifecycle> {
    let id = removed.row.id;
    let resource = object(removed.row.resource);
    let active = resource.get("active").and_then(Value::as_bool).unwrap_or(true);
    let joined = removed.joined_at.is_some();
    let status = status_for(active, removed.invitation_count, joined);
    let restored = store::unremove(conn, profile.id, id, active, status, now).await.map_err(|e| {
        match crate::db::unique_violation(&e) {
            Some("users_user_name_key") => ScimError::conflict(format!(
                "member {id} cannot be restored: another member now has its userName; rename or remove that one first"
            )),
            Some("users_personal_id") => ScimError::conflict(format!(
                "member {id} cannot be restored: another member now has its personalId"
            )),
            _ => e.into(),
        }
    })?;
    if !restored {
        return Err(ScimError::conflict(format!("member {id} was restored concurrently")));
    }
    tracing::info!(member.id = %id, "removed member restored: same id");
    let mut out = vec![NewEvent::member_created(id, active, true)];
    if active && !joined && invites(profile) {
        out.push(NewEvent::invitation_needed(id));
    }
    followed(conn, profile, id, &resource, write::MemberRow::Written, &out, now).await
}
