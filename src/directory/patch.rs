//! PATCH of members and groups: the pure engine (`scim::patch`) computes the new resource and
//! the membership delta; here they are applied in one transaction (for the IdPs' one add or one
//! removal of group members, in one statement). Group membership changes are row deltas whose
//! cost depends on the members named, never on the group's size.

use diesel_async::AsyncConnection;
use serde_json::Value;
use uuid::Uuid;

use super::{
    db_precision, groups, logged, membership_events, object, password, roles, users, write, ActiveChange,
    Context, Stored, Written,
};
use crate::db::groups::{self as group_store, MembersPatched};
use crate::db::users::{self as user_store, Locked, UserColumns};
use crate::db::{search, Conn};
use crate::error::{ScimError, ScimResult};
use crate::events::{changed_attributes, NewEvent};
use crate::scim::patch::{
    apply, apply_to_membership, MemberChange, MembershipOnly, Mode, PatchRequest, Rule,
};
use crate::scim::resource::{check_if_match, EntityTags, Meta, Version};
use crate::scim::schema::{Registry, ResourceKind};

/// The PATCH dialect the caller's connection accepts.
pub(crate) fn mode(ctx: &Context) -> Mode {
    if ctx.principal.strict {
        Mode::Strict
    } else {
        Mode::Tolerant
    }
}

fn log_rules(kind: ResourceKind, id: Uuid, fired: &[Rule]) {
    if !fired.is_empty() {
        let rules: Vec<&str> = fired.iter().map(|r| r.name()).collect();
        tracing::info!(scim.resource = kind.name(), resource.id = %id, rules = ?rules, "tolerance rules applied");
    }
}

/// PATCH a member; returns the member as stored afterwards, whether it was suspended or
/// reactivated, and the tolerance rules that fired.
pub async fn patch_user(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    id: Uuid,
    request: &PatchRequest,
    if_match: Option<&EntityTags>,
) -> ScimResult<Written> {
    let tenant = ctx.tenant();
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let locked = user_store::find_for_update(conn, tenant, id).await?;
        patch_locked(conn, ctx, registry, id, locked, request, if_match).await
    })
    .await
}

/// The member PATCH once the member is read (or found missing: 404): locked in the caller's
/// transaction ([`patch_user`]'s), or read without a lock, the write then made only on the row
/// version read ([`write::member_update_as`], the write step of a SCIM PATCH).
pub async fn patch_locked(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    id: Uuid,
    locked: Option<Locked>,
    request: &PatchRequest,
    if_match: Option<&EntityTags>,
) -> ScimResult<Written> {
    let now = db_precision(ctx.now);
    let mode = mode(ctx);
    let locked = locked.ok_or_else(|| ScimError::not_found(format!("User {id} not found")))?;
    let (old, holds_admin) = (&locked.row, locked.holds_admin);
    check_if_match(if_match, Version::new(old.version))?;
    let was_active = old.resource.get("active").and_then(Value::as_bool).unwrap_or(true);
    let applied =
        apply(registry, ResourceKind::User, &object(old.resource.clone()), &id.to_string(), request, mode)?;
    log_rules(ResourceKind::User, id, &applied.fired);
    let meta = |version, last_modified| Meta {
        created: old.created_at,
        last_modified,
        version: Version::new(version),
    };
    if !applied.changed && applied.password.is_none() {
        let stored = users::get(conn, ctx, id, true).await?;
        return Ok(Written { stored, active_change: None, fired: applied.fired });
    }
    // An absent `active` (never sent, or removed) leaves the member active.
    let active = applied.resource.get("active").and_then(Value::as_bool).unwrap_or(true);
    let mut changed = changed_attributes(&object(old.resource.clone()), &applied.resource, &["active"]);
    if applied.password.is_some() {
        changed.push("password".into());
    }
    let hash = password::hash_sent(applied.password).await?.or_else(|| old.password_hash.clone());
    let active_change = ActiveChange::between(was_active, active);
    if active_change == Some(ActiveChange::Suspended) {
        write::guard_member(conn, &ctx.profile, id, holds_admin, "suspend").await?;
    }
    let (status, invite) = users::status_after_write(&ctx.profile, &locked, active);
    let mut columns = UserColumns::from_resource(applied.resource, &status);
    let out = users::member_events(id, changed, active_change, invite);
    if let Some(change) = active_change {
        tracing::info!(member.id = %id, active, "member {}", change.as_str());
    }
    let attributes = object(std::mem::take(&mut columns.resource));
    let stored = Stored { id, attributes, meta: meta(old.version + 1, now) };
    let log = logged(ResourceKind::User, id, active_change, &applied.fired);
    let row = write::MemberRow::Update(&columns, hash.as_deref(), Some(&locked.seen));
    let stored = write::member_written(conn, ctx, stored, row, &out, now, log).await?;
    Ok(Written { stored, active_change, fired: applied.fired })
}

/// [`patch_group`] for a caller as it stood when its token was last found live
/// (`http::principal::Claimed::recalled`), when the request is what the membership statement
/// writes ([`MembershipOnly`], no `If-Match`): that statement checks the
/// token at `standing` first, and writes only when it holds. `None` when it wrote nothing for
/// that reason, or the request needs more than the statement (the locked path, after the token
/// is checked as usual). An error comes after the statement found the token live: the group is
/// missing, or members to add are.
pub async fn patch_group_as(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    id: Uuid,
    request: &PatchRequest,
    token: &user_store::TokenKey,
    standing: &crate::db::tenants::LiveToken,
) -> ScimResult<Option<(Version, Vec<Rule>)>> {
    let Ok(Some(only)) = apply_to_membership(registry, &id.to_string(), request, mode(ctx)) else {
        return Ok(None);
    };
    let now = db_precision(ctx.now);
    match membership_statement(conn, ctx, id, &only, now, Some((token, standing))).await? {
        Statement::Done(version) => {
            log_rules(ResourceKind::Group, id, &only.applied.fired);
            Ok(Some((version, only.applied.fired)))
        }
        Statement::Locked | Statement::NotLive => Ok(None),
    }
}

/// PATCH a group: attributes and membership in one transaction. Returns the group's version
/// afterwards and the tolerance rules that fired.
///
/// What IdPs send on every assignment (removals by id, then an add of members, at most with
/// the group's unchanged name: [`MembershipOnly`]), without `If-Match`, is one statement
/// ([`membership_statement`]); the rest, and those the statement hands back, lock the group for
/// a transaction.
pub async fn patch_group(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    id: Uuid,
    request: &PatchRequest,
    if_match: Option<&EntityTags>,
) -> ScimResult<(Version, Vec<Rule>)> {
    let now = db_precision(ctx.now);
    let tenant = ctx.tenant();
    let mode = mode(ctx);
    if if_match.is_none() {
        // A request the statement would refuse takes the locked path too, which answers as it
        // always has: 404 for a missing group before any complaint about the request.
        if let Ok(Some(only)) = apply_to_membership(registry, &id.to_string(), request, mode) {
            if let Statement::Done(version) = membership_statement(conn, ctx, id, &only, now, None).await? {
                log_rules(ResourceKind::Group, id, &only.applied.fired);
                return Ok((version, only.applied.fired));
            }
        }
    }
    let (version, fired) = conn
        .transaction::<_, ScimError, _>(async move |conn| {
            let group_store::Locked { row: old, bound } = group_store::lock(conn, tenant, id)
                .await?
                .ok_or_else(|| ScimError::not_found(format!("Group {id} not found")))?;
            check_if_match(if_match, Version::new(old.version))?;
            let (old_parent, old_version) = (old.parent_id, old.version);
            let old_resource = object(old.resource.clone());
            let mut out = Vec::new();
            let mut touched_rows = Vec::new();
            let mut moved = None;
            // The engine sees the group as clients do: with its parent in Roster's extension.
            let current = groups::stored(old, None, &ctx.base_url).attributes;
            let applied = apply(registry, ResourceKind::Group, &current, &id.to_string(), request, mode)?;
            // Attributes (and the tree position) first, so member cycle checks see the new parent.
            if applied.changed {
                let mut resource = applied.resource;
                let parent = groups::take_parent(&mut resource)?;
                if parent != old_parent {
                    groups::check_parent(conn, tenant, id, parent).await?;
                }
                let mut changed = changed_attributes(&old_resource, &resource, &[]);
                if parent != old_parent {
                    changed.push("parent".into());
                    moved = Some(id);
                }
                let columns = group_store::GroupColumns::from_resource(resource, parent);
                group_store::update(conn, tenant, id, &columns, now).await?;
                if !changed.is_empty() {
                    out.push(NewEvent::group_updated(id, changed, parent));
                }
            }
            let mut members_changed = false;
            for change in applied.members.map(|d| d.changes).unwrap_or_default() {
                let (added, removed) = match change {
                    MemberChange::Add(refs) => {
                        let resolved =
                            groups::resolve_members(conn, tenant, id, &groups::requested(&refs)?).await?;
                        (group_store::add_members(conn, tenant, id, &resolved).await?, Vec::new())
                    }
                    MemberChange::Remove(values) => {
                        let ids = groups::removal_ids(&values);
                        (Vec::new(), group_store::remove_members(conn, tenant, id, &ids).await?)
                    }
                    MemberChange::RemoveWhere(filter) => {
                        (Vec::new(), search::remove_members_where(conn, registry, tenant, id, &filter).await?)
                    }
                    MemberChange::RemoveAll => {
                        (Vec::new(), group_store::remove_all_members(conn, tenant, id).await?)
                    }
                    MemberChange::ReplaceAll(refs) => {
                        let resolved =
                            groups::resolve_members(conn, tenant, id, &groups::requested(&refs)?).await?;
                        let delta = group_store::set_members(conn, tenant, id, &resolved).await?;
                        (delta.added, delta.removed)
                    }
                };
                membership_events(&mut out, false, &removed);
                membership_events(&mut out, true, &added);
                members_changed |= !(added.is_empty() && removed.is_empty());
                touched_rows.extend(added);
                touched_rows.extend(removed);
            }
            out.extend(roles::group_changed(conn, tenant, bound, &touched_rows, moved).await?);
            let touch = !applied.changed && members_changed;
            group_store::record_change(conn, tenant, id, touch, &out, now).await?;
            let bumped = i64::from(applied.changed || members_changed);
            if bumped == 1 {
                ctx.log.commit_with(conn, logged(ResourceKind::Group, id, None, &applied.fired)).await?;
            }
            Ok((Version::new(old_version + bumped), applied.fired))
        })
        .await?;
    log_rules(ResourceKind::Group, id, &fired);
    Ok((version, fired))
}

/// [`patch_group`] for a request that removes members by id, then adds members (either or
/// both), and at most names the group's current `displayName` again ([`MembershipOnly`]: Entra
/// ID's one add or one removal, Okta's group push), in one statement
/// (`db::groups::patch_members`, outside any transaction of ours): the group's row is locked for
/// that statement alone, so concurrent assignments to one group do not queue for a transaction
/// of several round trips. With group→role bindings, the statement recomputes the roles of the
/// users added or removed too. [`Statement::Locked`], with nothing written, when the request is
/// another one, is malformed, or needs the locked path (a rename; a group added needs the cycle
/// check; a group removed in a tenant with bindings reaches its members' roles). With a
/// `guard` (the caller's token and the standing the request was read under), the statement
/// checks the token first and writes nothing unless it is live at that standing
/// ([`Statement::NotLive`]).
async fn membership_statement(
    conn: &mut Conn,
    ctx: &Context,
    id: Uuid,
    only: &MembershipOnly,
    now: chrono::DateTime<chrono::Utc>,
    guard: Option<(&user_store::TokenKey, &crate::db::tenants::LiveToken)>,
) -> ScimResult<Statement> {
    let applied = &only.applied;
    let changes = applied.members.as_ref().map(|d| d.changes.as_slice()).unwrap_or_default();
    // Removals by id, then at most one addition: what the statement writes in that order.
    let mut removals: Vec<String> = Vec::new();
    let mut requested: Option<Vec<groups::Requested>> = None;
    for change in changes {
        match change {
            MemberChange::Remove(values) if requested.is_none() => removals.extend_from_slice(values),
            MemberChange::Add(refs) if requested.is_none() => match groups::requested(refs) {
                Ok(wanted) if groups::not_itself(id, &wanted).is_ok() => requested = Some(wanted),
                _ => return Ok(Statement::Locked),
            },
            _ => return Ok(Statement::Locked),
        }
    }
    // A value that is not an id cannot be a member: nothing to remove.
    let remove = groups::removal_ids(&removals);
    let requested = requested.unwrap_or_default();
    let (add, types) = groups::columns(&requested);
    let removal = |member, kind| NewEvent::membership(false, id, member, kind);
    let addition = |member| NewEvent::membership(true, id, member, "User");
    let removed_user_payloads: Vec<Value> = remove.iter().map(|m| removal(*m, "User").payload).collect();
    let removed_group_payloads: Vec<Value> = remove.iter().map(|m| removal(*m, "Group").payload).collect();
    let added_payloads: Vec<Value> = add.iter().map(|m| addition(*m).payload).collect();
    let log = ctx.log.success_json(logged(ResourceKind::Group, id, None, &applied.fired))?;
    let patch = group_store::MembersPatch {
        display_name: only.display_name.as_deref(),
        remove: &remove,
        removed_kind: removal(id, "User").kind.as_str(),
        removed_user_payloads: &removed_user_payloads,
        removed_group_payloads: &removed_group_payloads,
        add: &add,
        types: &types,
        added_kind: addition(id).kind.as_str(),
        added_payloads: &added_payloads,
        log,
    };
    let patched = match guard {
        None => group_store::patch_members(conn, ctx.tenant(), id, patch, now).await?,
        Some((token, standing)) => {
            match group_store::patch_members_as(conn, token, standing, id, patch, now).await? {
                Some(patched) => patched,
                None => return Ok(Statement::NotLive),
            }
        }
    };
    match patched {
        MembersPatched::NotFound => Err(ScimError::not_found(format!("Group {id} not found"))),
        MembersPatched::Locked => Ok(Statement::Locked),
        MembersPatched::Missing { members } => Err(groups::missing_members(&requested, &members)),
        MembersPatched::Done { version, changed, role_changes } => {
            if changed {
                ctx.log.mark_written();
            }
            write::log_role_changes(&role_changes);
            Ok(Statement::Done(Version::new(version)))
        }
    }
}

/// What [`membership_statement`] did.
enum Statement {
    /// Written (or nothing to change): the group's version now.
    Done(Version),
    /// Nothing written: the request needs the locked path.
    Locked,
    /// Nothing written: the caller's token was not live at the standing the request was read
    /// under ([`patch_group_as`]).
    NotLive,
}
