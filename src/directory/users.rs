//! Member lifecycle over SCIM: create, read, replace (PUT), remove (DELETE), list.
//!
//! `active=false` suspends a member (still returned, memberships kept); `active=true` on a
//! suspended member reactivates it. DELETE marks the member `removed`: 404 from then on, its
//! userName free for reuse, the row and id kept so the organization keeps the member's content.

use diesel_async::AsyncConnection;
use serde_json::Value;
use uuid::Uuid;

use super::{
    db_precision, membership_events, object, password, roles, ActiveChange, Context, Stored, Written,
};
use crate::db::users::{self, status, UserColumns, UserRow};
use crate::db::{events, groups, Conn};
use crate::error::{ScimError, ScimResult};
use crate::events::{changed_attributes, NewEvent};
use crate::scim::resource::{check_if_match, EntityTags, Meta, Version};
use crate::scim::schema::{check_immutable, Normalized, Registry, ResourceKind};

fn not_found(id: Uuid) -> ScimError {
    ScimError::not_found(format!("User {id} not found"))
}

/// A member row as a stored resource.
pub(crate) fn stored(row: UserRow) -> Stored {
    Stored {
        id: row.id,
        attributes: object(row.resource),
        meta: Meta {
            created: row.created_at,
            last_modified: row.last_modified,
            version: Version::new(row.version),
        },
    }
}

/// The status a member gets from its `active` flag. Reactivation starts over as `provisioned`
/// until invitation state exists to say more.
pub(crate) fn status_for(active: bool) -> &'static str {
    if active {
        status::PROVISIONED
    } else {
        status::SUSPENDED
    }
}

/// Create a member; re-provisioning a removed member (same externalId from this connection, or
/// same userName) within the tenant's retention period restores it under its old id.
pub async fn create(conn: &mut Conn, ctx: &Context, input: Normalized) -> ScimResult<Stored> {
    let password_hash = match input.password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    let now = db_precision(ctx.now);
    let (tenant, connection) = (ctx.tenant(), ctx.principal.connection_id);
    let active = input.resource.get("active").and_then(Value::as_bool).unwrap_or(true);
    let columns = UserColumns::from_resource(input.resource, status_for(active));
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let external_id = columns.external_id.as_deref();
        if let Some(old) =
            users::restorable(conn, tenant, connection, external_id, &columns.user_name_key, now).await?
        {
            if users::restore(conn, tenant, old.id, connection, &columns, password_hash.as_deref(), now)
                .await?
            {
                tracing::info!(member.id = %old.id, "removed member re-provisioned: same id restored");
                let resource = object(columns.resource);
                // A restored member keeps its base role and override; its SCIM roles are new.
                let mut out = vec![NewEvent::member_created(old.id, active, true)];
                out.extend(roles::member_written(conn, tenant, old.id, &resource, false, now).await?);
                events::insert(conn, tenant, &out, now).await?;
                let stored = Stored {
                    id: old.id,
                    attributes: resource,
                    meta: Meta {
                        created: old.created_at,
                        last_modified: now,
                        version: Version::new(old.version + 1),
                    },
                };
                return roles::decorate_one(conn, tenant, stored).await;
            }
        }
        let id = Uuid::now_v7();
        users::insert(conn, tenant, id, connection, &columns, password_hash.as_deref(), now).await?;
        let resource = object(columns.resource);
        let mut out = vec![NewEvent::member_created(id, active, false)];
        out.extend(roles::member_written(conn, tenant, id, &resource, true, now).await?);
        events::insert(conn, tenant, &out, now).await?;
        let stored = Stored {
            id,
            attributes: resource,
            meta: Meta { created: now, last_modified: now, version: Version::new(1) },
        };
        roles::decorate_one(conn, tenant, stored).await
    })
    .await
}

/// The events of a member write: `member.updated` when attributes other than `active` changed,
/// then `member.suspended` / `member.reactivated` when `active` did.
pub(crate) fn member_events(
    id: Uuid,
    changed: Vec<String>,
    active_change: Option<ActiveChange>,
) -> Vec<NewEvent> {
    let mut out = Vec::with_capacity(2);
    if !changed.is_empty() {
        out.push(NewEvent::member_updated(id, changed));
    }
    if let Some(change) = active_change {
        out.push(NewEvent::member_active(id, change == ActiveChange::Reactivated));
    }
    out
}

/// Scrub removed members past their tenant's retention period, in batches, until none is left.
pub async fn scrub_removed(conn: &mut Conn, now: chrono::DateTime<chrono::Utc>) -> ScimResult<usize> {
    let mut total = 0;
    loop {
        let n = users::scrub_removed(conn, now, 500).await?;
        total += n;
        if n < 500 {
            return Ok(total);
        }
    }
}

/// Read a member visible to SCIM.
pub async fn get(conn: &mut Conn, ctx: &Context, id: Uuid) -> ScimResult<Stored> {
    let member = users::find(conn, ctx.tenant(), id).await?.map(stored).ok_or_else(|| not_found(id))?;
    roles::decorate_one(conn, ctx.tenant(), member).await
}

/// Replace a member (PUT): attributes not sent are cleared; the password is kept unless a new
/// one is sent (it is never returned, so a GET-then-PUT round trip cannot carry it). Reports
/// whether the member was suspended or reactivated.
pub async fn replace(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    id: Uuid,
    input: Normalized,
    if_match: Option<&EntityTags>,
) -> ScimResult<Written> {
    let new_hash = match input.password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    let now = db_precision(ctx.now);
    let tenant = ctx.tenant();
    let resource = input.resource;
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let old = users::find_for_update(conn, tenant, id).await?.ok_or_else(|| not_found(id))?;
        check_if_match(if_match, Version::new(old.version))?;
        check_immutable(registry, ResourceKind::User, &object(old.resource.clone()), &resource)?;
        let active = resource.get("active").and_then(Value::as_bool).unwrap_or(true);
        let was_active = old.resource.get("active").and_then(Value::as_bool).unwrap_or(true);
        let active_change = ActiveChange::between(was_active, active);
        if active_change == Some(ActiveChange::Suspended) {
            roles::guard_last_admin(conn, tenant, id, "suspend").await?;
        }
        let mut changed = changed_attributes(&object(old.resource.clone()), &resource, &["active"]);
        if new_hash.is_some() {
            changed.push("password".into());
        }
        let columns = UserColumns::from_resource(resource, status_for(active));
        let hash = new_hash.or(old.password_hash);
        users::update(conn, tenant, id, &columns, hash.as_deref(), now).await?;
        let resource = object(columns.resource);
        let mut out = member_events(id, changed, active_change);
        out.extend(roles::member_written(conn, tenant, id, &resource, false, now).await?);
        events::insert(conn, tenant, &out, now).await?;
        if let Some(change) = active_change {
            tracing::info!(member.id = %id, active, "member {}", change.as_str());
        }
        let stored = Stored {
            id,
            attributes: resource,
            meta: Meta {
                created: old.created_at,
                last_modified: now,
                version: Version::new(old.version + 1),
            },
        };
        let stored = roles::decorate_one(conn, tenant, stored).await?;
        Ok(Written { stored, active_change, fired: Vec::new() })
    })
    .await
}

/// Remove a member (DELETE): gone from SCIM and from every group; the row stays.
pub async fn remove(
    conn: &mut Conn,
    ctx: &Context,
    id: Uuid,
    if_match: Option<&EntityTags>,
) -> ScimResult<()> {
    let now = db_precision(ctx.now);
    let tenant = ctx.tenant();
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let old = users::find_for_update(conn, tenant, id).await?.ok_or_else(|| not_found(id))?;
        check_if_match(if_match, Version::new(old.version))?;
        roles::guard_last_admin(conn, tenant, id, "remove").await?;
        users::mark_removed(conn, tenant, id, now).await?;
        let left = groups::remove_member_everywhere(conn, tenant, id, now).await?;
        let mut out = Vec::with_capacity(left.len() + 1);
        membership_events(&mut out, false, &left);
        out.push(NewEvent::member_removed(id));
        events::insert(conn, tenant, &out, now).await?;
        Ok(())
    })
    .await
}

/// Add the read-only `groups` attribute (direct and inherited groups, RFC 7643 §4.1.2) to
/// members, with one query for all of them.
pub async fn attach_groups(conn: &mut Conn, ctx: &Context, members: &mut [Stored]) -> ScimResult<()> {
    if members.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
    let all = users::groups_of(conn, ctx.tenant(), &ids).await?;
    for member in members.iter_mut() {
        let groups: Vec<Value> = all
            .iter()
            .filter(|g| g.member_id == member.id)
            .map(|g| {
                serde_json::json!({
                    "value": g.group_id.to_string(),
                    "$ref": format!("{}/Groups/{}", ctx.base_url, g.group_id),
                    "display": g.display,
                    "type": g.kind,
                })
            })
            .collect();
        if !groups.is_empty() {
            member.attributes.insert("groups".into(), Value::Array(groups));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_flag_drives_status() {
        assert_eq!(status_for(true), status::PROVISIONED);
        assert_eq!(status_for(false), status::SUSPENDED);
    }
}
