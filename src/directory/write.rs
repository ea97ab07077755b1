//! The directory's one member write service (DESIGN §3 "One write path"). Every entry point —
//! SCIM create/PUT/PATCH/DELETE, `/Bulk` (through them), the member import — goes through
//! [`follow_up`] here, which owns every rule that follows a write, in one statement whatever the
//! batch size (`roster_members_written`, migrations 000014 and 000029). A SCIM create, PUT
//! or PATCH (and an admin's suspension) hands it the member's row too ([`MemberRow`]), which
//! that statement inserts or updates together with what follows, so the row is written once;
//! an import's batch and a restore write their rows first:
//!
//! * SCIM `roles` values matched against the tenant's catalog (none for an import, whose role
//!   column is the base role), the tenant's default role as base role of a new SCIM member;
//! * the position, from the tenant's position source ([`position_of`]), created on first use;
//! * the effective role recomputed, and `role.changed` for each member whose role changed —
//!   never for a member the write created (its first role is part of `member.created`);
//! * the write's events, then the role changes, to the outbox in the same transaction.
//!
//! The last-admin guard for suspensions and removals ([`guard_last_admin`]) is here too, for
//! one member (SCIM) or many (an import's `--sync`): nobody loses the tenant's last org admin.
//! `db/` keeps only the SQL.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Context, Stored, TenantProfile};
use crate::db::imports::{self, ImportedUpdate, NewMember};
use crate::db::roles::{self as store, FollowUp, FollowedUp};
use crate::db::users::{NewRow, RowWrite, UserColumns};
use crate::db::Conn;
use crate::error::{ScimError, ScimResult};
use crate::events::NewEvent;
use crate::scim::resource::fold_key;
use crate::scim::roles::{attribute_text, role_values};

/// The position a member's attributes give it under the tenant's position source.
pub fn position_of(profile: &TenantProfile, resource: &Map<String, Value>) -> Option<String> {
    attribute_text(resource, &profile.position_source)
}

/// How a member write's row is written.
#[derive(Debug, Clone, Copy)]
pub enum MemberRow<'a> {
    /// By the caller, before the follow-up (a restore).
    Written,
    /// By the follow-up's UPDATE (PUT, PATCH, an admin's suspension): the columns and password
    /// hash; the resource is the member's attributes. With the row version the write was
    /// computed from ([`crate::db::users::Locked::seen`]), only that version is written.
    Update(&'a UserColumns, Option<&'a str>, Option<&'a str>),
    /// By the follow-up's INSERT (a new member), for its connection (none: an admin's).
    Insert(&'a UserColumns, Option<&'a str>, Option<Uuid>),
}

impl<'a> MemberRow<'a> {
    /// The row as the follow-up writes it.
    pub(crate) fn write(self, resource: &'a Map<String, Value>) -> Option<RowWrite<'a>> {
        let (columns, password_hash, insert, seen) = match self {
            MemberRow::Written => return None,
            MemberRow::Update(columns, hash, seen) => (columns, hash, None, seen),
            MemberRow::Insert(columns, hash, connection) => {
                (columns, hash, Some(NewRow::by(connection)), None)
            }
        };
        Some(RowWrite { columns, resource, password_hash, insert, seen })
    }
}

/// The follow-up of a SCIM write of one member (create, restore, PUT, PATCH): its `roles` values
/// matched, a new member's default base role, its position, its effective role, and `events`
/// plus any `role.changed` written, with the request's provisioning-log row (`write`), all in
/// one statement, which writes the member's row too unless the caller did ([`MemberRow`]).
/// Returns the member as SCIM shows it now: with Roster's User extension and its read-only
/// `groups`.
pub async fn member_written(
    conn: &mut Conn,
    ctx: &Context,
    member: Stored,
    row: MemberRow<'_>,
    events: &[NewEvent],
    now: DateTime<Utc>,
    write: crate::provisioning::slot::Written<'_>,
) -> ScimResult<Stored> {
    let (item, log) = follow_up_of(ctx, &member, row, write)?;
    let logged = log.is_some();
    let done = store::members_written(conn, ctx.tenant(), &[item], now, true, Some(events), log).await?;
    member_after(ctx, member, done, logged)
}

/// [`member_written`] of a new member (`row` its insert), written only if `guard` holds in the
/// statement's own snapshot (`store::members_written_as`): `None` when it did not, and nothing
/// was written.
pub async fn member_created_as(
    conn: &mut Conn,
    ctx: &Context,
    member: Stored,
    row: MemberRow<'_>,
    events: &[NewEvent],
    now: DateTime<Utc>,
    guard: &store::CreateGuard,
) -> ScimResult<Option<Stored>> {
    let write = super::logged(crate::scim::schema::ResourceKind::User, member.id, None, &[]);
    let (item, log) = follow_up_of(ctx, &member, row, write)?;
    let logged = log.is_some();
    match store::members_written_as(conn, &item, now, events, log, guard).await? {
        Some(done) => member_after(ctx, member, done, logged).map(Some),
        None => Ok(None),
    }
}

/// The follow-up item of a member write, and its provisioning-log row.
fn follow_up_of<'a>(
    ctx: &Context,
    member: &'a Stored,
    row: MemberRow<'a>,
    write: crate::provisioning::slot::Written<'_>,
) -> ScimResult<(FollowUp<'a>, Option<Value>)> {
    let created = matches!(row, MemberRow::Insert(..));
    let item = FollowUp {
        id: member.id,
        created,
        default_base_role: created,
        role_keys: Some(role_values(&member.attributes).iter().map(|v| fold_key(v)).collect()),
        position: position_of(&ctx.profile, &member.attributes),
        row: row.write(&member.attributes),
    };
    Ok((item, ctx.log.success_json(write)?))
}

/// The member as SCIM shows it after its follow-up `done`, its log row marked written when the
/// statement wrote it.
fn member_after(ctx: &Context, member: Stored, done: store::FollowedUp, logged: bool) -> ScimResult<Stored> {
    if logged {
        ctx.log.mark_written();
    }
    log_role_changes(&done.role_changes);
    let after = done
        .members
        .into_iter()
        .next()
        .ok_or_else(|| ScimError::not_found(format!("User {} not found", member.id)))?;
    Ok(super::users::presented(ctx, member, after.role, after.status, after.position, after.groups))
}

/// The follow-up of writing member rows, for one member or a batch (an import): one statement.
/// With `events`, they and the role changes are written; without, the caller writes the returned
/// role changes (after its own events) itself.
pub async fn follow_up(
    conn: &mut Conn,
    tenant: Uuid,
    items: &[FollowUp<'_>],
    now: DateTime<Utc>,
    with_groups: bool,
    events: Option<&[NewEvent]>,
) -> ScimResult<FollowedUp> {
    let done = store::members_written(conn, tenant, items, now, with_groups, events, None).await?;
    log_role_changes(&done.role_changes);
    Ok(done)
}

/// Trace the effective roles a write moved.
pub(crate) fn log_role_changes(changes: &[store::RoleChanged]) {
    for c in changes {
        tracing::info!(member.id = %c.member_id, from = ?c.from, to = ?c.to, "effective role changed");
    }
}

/// The `role.changed` events of a follow-up whose events the caller writes.
pub fn role_events(done: &FollowedUp) -> Vec<NewEvent> {
    done.role_changes
        .iter()
        .map(|c| NewEvent::role_changed(c.member_id, c.from.as_deref(), c.to.as_deref()))
        .collect()
}

/// Insert an import's new members (in batches; their follow-up is [`follow_up`]).
pub async fn insert_imported(conn: &mut Conn, members: &[NewMember]) -> ScimResult<()> {
    Ok(imports::insert_members(conn, members).await?)
}

/// Write an import's changes to a member (its follow-up is [`follow_up`]).
pub async fn update_imported(
    conn: &mut Conn,
    tenant: Uuid,
    id: Uuid,
    update: &ImportedUpdate<'_>,
    now: DateTime<Utc>,
) -> ScimResult<()> {
    Ok(imports::update_member(conn, tenant, id, update, now).await?)
}

/// Suspend many members at once (an import's `--sync`), refused when that would suspend the
/// tenant's last org admin. Returns how many were suspended.
pub async fn suspend_many(
    conn: &mut Conn,
    profile: &TenantProfile,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> ScimResult<usize> {
    guard_last_admin(conn, profile, ids, "suspend").await?;
    Ok(imports::suspend(conn, profile.id, ids, now).await?)
}

/// Add (group, member, group role) user memberships; returns the rows added.
pub async fn add_memberships(
    conn: &mut Conn,
    tenant: Uuid,
    rows: &[(Uuid, Uuid, &str)],
    now: DateTime<Utc>,
) -> ScimResult<Vec<imports::Added>> {
    Ok(imports::add_memberships(conn, tenant, rows, now).await?)
}

/// Set the group role (`member` / `manager`) of existing (group, member) memberships (an
/// import's `grouprole` column); returns how many changed.
pub async fn set_group_roles(
    conn: &mut Conn,
    tenant: Uuid,
    rows: &[(Uuid, Uuid, &str)],
) -> ScimResult<usize> {
    Ok(imports::set_group_roles(conn, tenant, rows).await?)
}

/// Remove (group, member) user memberships (an import's `--sync`); returns the rows removed.
/// Their members' roles are recomputed by the batch's [`follow_up`].
pub async fn remove_memberships(
    conn: &mut Conn,
    tenant: Uuid,
    pairs: &[(Uuid, Uuid)],
    now: DateTime<Utc>,
) -> ScimResult<Vec<imports::Added>> {
    Ok(imports::remove_memberships(conn, tenant, pairs, now).await?)
}

/// Bring removed members back before an import rewrites them (same id, content kept); `status`
/// per member from its invitation state. A userName or personalId another member now holds is
/// a 409.
pub async fn restore_imported(
    conn: &mut Conn,
    tenant: Uuid,
    members: &[(Uuid, &str)],
    now: DateTime<Utc>,
) -> ScimResult<()> {
    for (id, status) in members {
        let restored = crate::db::lifecycle::unremove(conn, tenant, *id, true, status, now).await.map_err(|e| {
            match crate::db::unique_violation(&e) {
                Some(_) => ScimError::conflict(format!(
                    "removed member {id} cannot be restored: another member now has its userName or personalid"
                )),
                None => e.into(),
            }
        })?;
        if !restored {
            return Err(ScimError::conflict(format!(
                "member {id} was restored concurrently; run the import again"
            )));
        }
    }
    Ok(())
}

/// Refuse to suspend or remove `members` when that would leave the tenant without a live org
/// admin (DESIGN §2). One statement; it locks the members' rows, and only when one of them is a
/// live admin does it take the tenant's admin lock, so concurrent suspensions of the last two
/// admins are serialised and the second one sees the first, while deactivations of other
/// members neither lock the tenant nor scan it.
pub async fn guard_last_admin(
    conn: &mut Conn,
    profile: &TenantProfile,
    members: &[Uuid],
    action: &str,
) -> ScimResult<()> {
    if members.is_empty() || store::leaves_an_admin(conn, profile.id, members).await? {
        return Ok(());
    }
    let who = match members {
        [one] => format!("User {one}: it is"),
        many => format!("{} members: they include", many.len()),
    };
    Err(ScimError::forbidden(format!(
        "cannot {action} {who} the last org admin of tenant {:?}; make another member org_admin first \
         (e.g. through a group bound to the role, or the admin API)",
        profile.slug
    )))
}

/// [`guard_last_admin`] for one member read with its row lock ([`crate::db::users::find_for_update`],
/// which says whether its effective role grants admin, `holds_admin`): a member whose role
/// grants no admin cannot be the last org admin, so nothing is asked of the database (the
/// answer would be the same: the guard locks the row, which is locked already, and finds no
/// admin). Deactivating an ordinary member costs no statement here.
pub async fn guard_member(
    conn: &mut Conn,
    profile: &TenantProfile,
    member: Uuid,
    holds_admin: bool,
    action: &str,
) -> ScimResult<()> {
    if !holds_admin {
        return Ok(());
    }
    guard_last_admin(conn, profile, &[member], action).await
}

/// A registration the join API admitted through one of its doors, ready to be written.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The member's SCIM attributes (userName, name, displayName, emails, active, categories).
    pub resource: Map<String, Value>,
    /// Personnel number (a pre-stored registration's), kept as the member's `personal_id`.
    pub personal_id: Option<String>,
    /// Groups the door assigns (ids that no longer exist are skipped).
    pub groups: Vec<Uuid>,
    /// Which door, for the provisioning log (`access link`, `pre-stored registration`, ...).
    pub door: &'static str,
}

/// What [`register`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// A member was created, or a removed one restored (same id), joined now.
    Joined {
        /// The member.
        member: Uuid,
        /// Whether a removed member came back.
        restored: bool,
    },
    /// A live member already holds this userName, email or personnel number; nothing was written.
    AlreadyMember(Uuid),
}

impl Registered {
    /// The member the registration ended at.
    pub fn member(self) -> Uuid {
        match self {
            Registered::Joined { member, .. } | Registered::AlreadyMember(member) => member,
        }
    }
}

/// Write a registration (inside the caller's transaction): a new member, or a removed member
/// restored within retention, with origin `registration`, status `active` and `joinedAt` now,
/// the tenant's default role, the door's groups, then the same follow-up, events
/// (`member.created`, `membership.added`) and provisioning-log entry as any other write.
pub async fn register(
    conn: &mut Conn,
    profile: &TenantProfile,
    reg: &Registration,
    now: DateTime<Utc>,
) -> ScimResult<Registered> {
    use crate::db::join as store_join;
    use crate::db::users::{status, UserColumns};
    let tenant = profile.id;
    let columns = UserColumns::from_resource(reg.resource.clone(), status::ACTIVE);
    let email_key = columns.email.as_deref().map(str::to_lowercase);
    let personal_id = reg.personal_id.as_deref();
    let already = |existing: Uuid| {
        // Logged (without the identity) so operators can see it; the registrant is not told.
        tracing::info!(tenant.id = %tenant, door = reg.door, "registration of an existing member: nothing written");
        Registered::AlreadyMember(existing)
    };
    if let Some(existing) =
        store_join::live_member(conn, tenant, &columns.user_name_key, email_key.as_deref(), personal_id)
            .await?
    {
        return Ok(already(existing));
    }
    let row = store_join::Registered { columns: &columns, personal_id };
    let cutoff = now - chrono::Duration::days(i64::from(profile.member_retention_days));
    let restored = match store_join::restorable(conn, tenant, &columns.user_name_key, cutoff).await? {
        Some(id) if store_join::restore_member(conn, tenant, id, &row, now).await? => Some(id),
        _ => None,
    };
    let member = match restored {
        Some(id) => id,
        None => {
            // In a savepoint: when a concurrent registration of the same identity commits first,
            // the unique index refuses this one, which is then answered as any registration of
            // an existing member — not a 409 that would tell the identity exists.
            let id = Uuid::now_v7();
            let inserted = conn
                .transaction::<_, diesel::result::Error, _>(async |c| {
                    store_join::insert_member(c, tenant, id, &row, now).await
                })
                .await;
            match inserted {
                Ok(()) => id,
                Err(e) if crate::db::unique_violation(&e).is_some() => {
                    let existing = store_join::live_member(
                        conn,
                        tenant,
                        &columns.user_name_key,
                        email_key.as_deref(),
                        personal_id,
                    )
                    .await?;
                    return existing.map(already).ok_or_else(|| e.into());
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let groups = crate::db::groups::existing_ids(conn, tenant, &reg.groups).await?;
    let pairs: Vec<(Uuid, Uuid, &str)> = groups.iter().map(|g| (*g, member, "member")).collect();
    let added = add_memberships(conn, tenant, &pairs, now).await?;
    let mut events = vec![NewEvent::member_created(member, true, restored.is_some())];
    events.extend(added.iter().map(|a| NewEvent::membership(true, a.group_id, a.member_id, "User")));
    let item = FollowUp {
        id: member,
        created: true,
        default_base_role: true,
        role_keys: Some(Vec::new()),
        position: position_of(profile, &reg.resource),
        row: None,
    };
    follow_up(conn, tenant, &[item], now, false, Some(&events)).await?;
    let operation =
        format!("join: {} ({})", reg.door, if restored.is_some() { "restored" } else { "created" });
    crate::db::provisioning_log::insert_many(conn, &[join_log_entry(tenant, member, operation, now)]).await?;
    tracing::info!(tenant.id = %tenant, member.id = %member, door = reg.door, restored = restored.is_some(), "member joined");
    Ok(Registered::Joined { member, restored: restored.is_some() })
}

/// The provisioning-log entry of a join API write.
fn join_log_entry(
    tenant: Uuid,
    member: Uuid,
    operation: String,
    at: DateTime<Utc>,
) -> crate::db::provisioning_log::Entry {
    crate::db::provisioning_log::Entry {
        tenant_id: tenant,
        id: Uuid::now_v7(),
        at,
        connection_id: None,
        request_id: Uuid::now_v7().to_string(),
        method: "JOIN".into(),
        resource_type: Some("User".into()),
        resource_id: Some(member),
        operation,
        status: 201,
        scim_type: None,
        detail: None,
        latency_ms: 0.0,
        rules: Vec::new(),
        source: crate::db::provisioning_log::SOURCE_JOIN.into(),
    }
}

/// A member's PATCH, PUT or DELETE in two round trips, without a transaction of its own: the member is
/// read without a lock, with the caller's token check ([`crate::db::users::find_as`]); `admit`
/// turns the token's standing into the caller and what it asks (401, with nothing written, when
/// the token is not live); `write` computes the write from the member as read and writes only
/// that row version, in one statement (`MemberRow::Update` with [`Locked::seen`]).
///
/// When the row changed in between ([`crate::db::changed_since_read`]: nothing was written),
/// and for a member whose effective role grants admin (suspending it takes the last-admin guard,
/// which wants the member locked), `write` runs again in a transaction on the member locked
/// ([`crate::db::users::find_for_update`]), from the row as it is then.
///
/// [`Locked::seen`]: crate::db::users::Locked::seen
pub async fn member_update_as<T: Clone, R>(
    conn: &mut Conn,
    token: crate::db::users::TokenKey,
    id: Uuid,
    admit: impl AsyncFnOnce(&mut Conn, Option<crate::db::tenants::LiveToken>) -> ScimResult<(Context, T)>,
    write: impl AsyncFn(&mut Conn, &Context, Option<crate::db::users::Locked>, T) -> ScimResult<R>,
) -> ScimResult<(Context, R)> {
    let (live, found) = match crate::db::users::find_as(conn, token, id).await? {
        Some((live, found)) => (Some(live), found),
        None => (None, None),
    };
    let (ctx, asked) = admit(conn, live).await?;
    match found {
        Some(member) if !member.holds_admin => match write(conn, &ctx, Some(member), asked.clone()).await {
            Err(e) if crate::db::changed_since_read(&e) => {
                tracing::debug!(member.id = %id, "member changed since it was read; written under its lock");
            }
            done => return done.map(|written| (ctx, written)),
        },
        // Not found: nothing to lock (404).
        None => return write(conn, &ctx, None, asked).await.map(|written| (ctx, written)),
        Some(_) => {}
    }
    let tenant = ctx.tenant();
    let written = crate::db::transaction_local(conn, async |conn| {
        let locked = crate::db::users::find_for_update(conn, tenant, id).await?;
        write(conn, &ctx, locked, asked).await
    })
    .await?;
    Ok((ctx, written))
}
