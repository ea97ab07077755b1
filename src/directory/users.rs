//! Member lifecycle over SCIM: create, read, replace (PUT), remove (DELETE), list.
//!
//! `active=false` suspends a member (still returned, memberships kept); `active=true` on a
//! suspended member reactivates it. DELETE marks the member `removed`: 404 from then on, its
//! userName free for reuse, the row and id kept so the organization keeps the member's content.

use diesel_async::AsyncConnection;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::write::MemberRow;
use super::{
    db_precision, logged, object, password, roles, write, ActiveChange, Context, Stored, TenantProfile,
    Written,
};
use crate::db::users::{self, status, RestoreKey, UserColumns};
use crate::db::Conn;
use crate::error::{ScimError, ScimResult};
use crate::events::{changed_attributes, NewEvent};
use crate::scim::resource::{check_if_match, EntityTags, Meta, Version};
use crate::scim::schema::{check_immutable, Normalized, Registry, ResourceKind, ROSTER_USER_SCHEMA};

fn not_found(id: Uuid) -> ScimError {
    ScimError::not_found(format!("User {id} not found"))
}

/// The status of a member (DESIGN §2): `suspended` while inactive, otherwise what its
/// invitation state implies — `active` once it has joined, `invited` once an invitation was
/// sent, `provisioned` before that.
pub(crate) fn status_for(active: bool, invitation_count: i32, joined: bool) -> &'static str {
    match (active, joined, invitation_count > 0) {
        (false, _, _) => status::SUSPENDED,
        (true, true, _) => status::ACTIVE,
        (true, false, true) => status::INVITED,
        (true, false, false) => status::PROVISIONED,
    }
}

/// Whether the tenant wants `member.invitation_needed` for members who have not joined: not when
/// it signs in with SSO, nor when its "invite new members" setting is off.
pub(crate) fn invites(profile: &TenantProfile) -> bool {
    !profile.sso && profile.invite_new_members
}

/// The status after a write that leaves `active` at `active`, and whether the member now needs
/// an invitation (never in an SSO tenant). Only a reactivation looks at the invitation state
/// (read with the locked row): otherwise an active member keeps its status and an inactive one
/// is suspended.
pub(crate) fn status_after_write(
    profile: &TenantProfile,
    locked: &users::Locked,
    active: bool,
) -> (String, bool) {
    if !active {
        return (status::SUSPENDED.into(), false);
    }
    if locked.row.status != status::SUSPENDED {
        return (locked.row.status.clone(), false);
    }
    let invite = !locked.joined && invites(profile);
    (status_for(true, locked.invitation_count, locked.joined).into(), invite)
}

/// Create a member; re-provisioning a removed member (same externalId from this connection, or
/// same userName) within the tenant's retention period restores it under its old id. A new member
/// is two statements: the restore probe (none when `probed` answered it: see [`create_member`])
/// and the insert with everything that follows (`write::member_written`); a restore is a
/// transaction of its own.
pub async fn create(
    conn: &mut Conn,
    ctx: &Context,
    input: Normalized,
    probed: Option<(RestoreKey, Option<users::Restorable>)>,
) -> ScimResult<Stored> {
    create_member(conn, ctx, ctx.connection(), input, probed).await
}

/// The [`RestoreKey`] a SCIM create of `body` will most likely probe, guessed from the raw body
/// before the caller's token is checked (`http::resources::create` sends the probe with the
/// check): its `externalId` and folded `userName` as sent. Only a guess: the create compares it
/// with the key of the normalised member and probes again when they differ. `None` when the
/// body names no userName as a string, or a userName or externalId PostgreSQL cannot hold (NUL,
/// `crate::text::first_unstorable`): such a body gets its 400 from normalisation, after the token
/// check, and is never sent to the database.
pub fn restore_key_guess(connection: Option<Uuid>, body: &Value) -> Option<RestoreKey> {
    let body = body.as_object()?;
    let named =
        |name: &str| body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str());
    let (user_name, external_id) = (named("userName")?, named("externalId"));
    if [Some(user_name), external_id]
        .into_iter()
        .flatten()
        .any(|t| crate::text::first_unstorable(t).is_some())
    {
        return None;
    }
    Some(RestoreKey::of(connection, external_id, &crate::scim::resource::fold_key(user_name)))
}

/// Create a member for a connection (SCIM) or, without one, for an admin (`origin = admin`;
/// a removed member is then restored by userName only, externalIds being a connection's).
/// `probed`: what a probe for a removed member under a key already found (sent with the caller's
/// token check); used when the member's key is that one, otherwise the member is probed here.
pub async fn create_member(
    conn: &mut Conn,
    ctx: &Context,
    connection: Option<Uuid>,
    input: Normalized,
    probed: Option<(RestoreKey, Option<users::Restorable>)>,
) -> ScimResult<Stored> {
    let password_hash = password::hash_sent(input.password).await?;
    let tenant = ctx.tenant();
    let NewMember { mut columns, active, invite, now, cutoff, key } =
        NewMember::read(ctx, connection, input.resource);
    // The probe takes no lock, so it finds outside a transaction what it would inside one.
    let found = match probed {
        Some((probed_key, found)) if probed_key == key => found,
        _ => users::restorable(conn, tenant, &key).await?,
    };
    let Some(old) = found.filter(|old| old.within(cutoff)) else {
        // A new member is one statement (the row, its follow-up, events and log row), atomic by
        // itself: no transaction of its own (two round trips fewer, BEGIN and COMMIT).
        return insert_member(conn, ctx, connection, columns, password_hash.as_deref(), invite, now).await;
    };
    // Restoring: the restore and its follow-up commit together.
    conn.transaction::<_, ScimError, _>(async move |conn| {
        // A restored member keeps its invitation state, and the status it implies.
        columns.status = status_for(active, old.invitation_count, old.joined_at.is_some()).into();
        if !users::restore(conn, tenant, old.id, connection, &columns, password_hash.as_deref(), now).await? {
            // Restored concurrently by another request: this one creates a new member.
            columns.status = status_for(active, 0, false).into();
            return insert_member(conn, ctx, connection, columns, password_hash.as_deref(), invite, now)
                .await;
        }
        tracing::info!(member.id = %old.id, "removed member re-provisioned: same id restored");
        let mut out = vec![NewEvent::member_created(old.id, active, true)];
        if invite && old.joined_at.is_none() {
            out.push(NewEvent::invitation_needed(old.id));
        }
        let stored = Stored {
            id: old.id,
            attributes: object(columns.resource),
            meta: Meta {
                created: old.created_at,
                last_modified: now,
                version: Version::new(old.version + 1),
            },
        };
        // A restored member keeps its base role and override; its SCIM roles are new.
        let log = logged(ResourceKind::User, stored.id, None, &[]);
        write::member_written(conn, ctx, stored, MemberRow::Written, &out, now, log).await
    })
    .await
}

/// A member to create, as read from its normalised resource.
struct NewMember {
    columns: UserColumns,
    active: bool,
    /// It needs an invitation: it is active and the tenant invites (not SSO).
    invite: bool,
    now: chrono::DateTime<chrono::Utc>,
    /// The start of the tenant's retention period: a member removed before it is not restored.
    cutoff: chrono::DateTime<chrono::Utc>,
    /// Which removed member it would restore.
    key: RestoreKey,
}

impl NewMember {
    fn read(ctx: &Context, connection: Option<Uuid>, resource: serde_json::Map<String, Value>) -> NewMember {
        let now = db_precision(ctx.now);
        let active = resource.get("active").and_then(Value::as_bool).unwrap_or(true);
        let columns = UserColumns::from_resource(resource, status_for(active, 0, false));
        let key = RestoreKey::of(connection, columns.external_id.as_deref(), &columns.user_name_key);
        NewMember {
            // Members who never joined a non-SSO tenant need an invitation (inactive ones do not).
            invite: active && invites(&ctx.profile),
            cutoff: now - chrono::Duration::days(i64::from(ctx.profile.member_retention_days)),
            columns,
            active,
            now,
            key,
        }
    }

    /// Its id, the events of its creation, and the member as stored; its resource moves out of
    /// `columns` into the stored member.
    fn created(
        columns: &mut UserColumns,
        invite: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> (Stored, Vec<NewEvent>) {
        let id = Uuid::now_v7();
        let mut out = vec![NewEvent::member_created(id, columns.active, false)];
        if invite {
            out.push(NewEvent::invitation_needed(id));
        }
        let stored = Stored {
            id,
            attributes: object(std::mem::take(&mut columns.resource)),
            meta: Meta { created: now, last_modified: now, version: Version::new(1) },
        };
        (stored, out)
    }
}

/// Insert a new member with `columns`, and its follow-up, in one statement.
async fn insert_member(
    conn: &mut Conn,
    ctx: &Context,
    connection: Option<Uuid>,
    mut columns: UserColumns,
    password_hash: Option<&str>,
    invite: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> ScimResult<Stored> {
    let (stored, out) = NewMember::created(&mut columns, invite, now);
    let log = logged(ResourceKind::User, stored.id, None, &[]);
    let row = MemberRow::Insert(&columns, password_hash, connection);
    write::member_written(conn, ctx, stored, row, &out, now, log).await
}

/// `POST /Users` in one statement, for a caller as it stood when its token was last found live
/// (`http::principal::Claimed::recalled`): the statement checks the token at that standing and
/// that no removed member is to be restored, and only then inserts the member with its
/// follow-up, events and log row (`write::member_created_as`). `None` when it wrote nothing —
/// the token is no longer live at that standing, or a removed member is to be restored — and for
/// a member sent with a password, which is hashed only for a caller known to be live: the caller
/// then checks the token and creates as usual ([`create`]).
pub async fn create_as(
    conn: &mut Conn,
    ctx: &Context,
    input: Normalized,
    token: users::TokenKey,
    standing: crate::db::tenants::LiveToken,
) -> ScimResult<Option<Stored>> {
    if input.password.is_some() {
        return Ok(None);
    }
    let connection = ctx.connection();
    let NewMember { mut columns, invite, now, cutoff, key, .. } =
        NewMember::read(ctx, connection, input.resource);
    let guard = crate::db::roles::CreateGuard { token, standing, key, cutoff };
    let (stored, out) = NewMember::created(&mut columns, invite, now);
    let row = MemberRow::Insert(&columns, None, connection);
    write::member_created_as(conn, ctx, stored, row, &out, now, &guard).await
}

/// The events of a member write: `member.updated` when attributes other than `active` changed,
/// then `member.suspended` / `member.reactivated` when `active` did.
/// `invite` adds `member.invitation_needed` last (a reactivated member who never joined).
pub(crate) fn member_events(
    id: Uuid,
    changed: Vec<String>,
    active_change: Option<ActiveChange>,
    invite: bool,
) -> Vec<NewEvent> {
    let mut out = Vec::with_capacity(3);
    if !changed.is_empty() {
        out.push(NewEvent::member_updated(id, changed));
    }
    if let Some(change) = active_change {
        out.push(NewEvent::member_active(id, change == ActiveChange::Reactivated));
    }
    if invite {
        out.push(NewEvent::invitation_needed(id));
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

/// Read a member visible to SCIM, with Roster's User extension and, when `with_groups`, its
/// read-only `groups` — one statement — parsed, for a write to work on.
pub async fn get(conn: &mut Conn, ctx: &Context, id: Uuid, with_groups: bool) -> ScimResult<Stored> {
    let found = users::find_view(conn, ctx.tenant(), users::ViewKey::Id(id), with_groups).await?;
    let m = crate::db::search::ListedUser::from(found.ok_or_else(|| not_found(id))?);
    let resource: Value = serde_json::from_str(&m.resource.0)
        .map_err(|e| ScimError::internal(anyhow::anyhow!("member {id}: stored resource unreadable: {e}")))?;
    let meta = listed_meta(&m);
    let member = Stored { id: m.id, attributes: object(resource), meta };
    Ok(presented(ctx, member, m.role, m.status, m.position, m.groups))
}

/// The member [`users::find_view`] found by id (`found`), as a GET answers it: 404 when absent.
pub fn viewed(ctx: &Context, id: Uuid, found: Option<users::UserView>) -> ScimResult<PageMember> {
    let view = found.ok_or_else(|| not_found(id))?;
    Ok(listed(ctx, view.into()))
}

/// A member as a list or a GET shows it: its stored resource as text, written through without
/// being parsed into a tree ([`PageMember`]), and its derived attributes.
pub(crate) fn listed(ctx: &Context, m: crate::db::search::ListedUser) -> PageMember {
    let meta = listed_meta(&m);
    let resource = m.resource.0;
    let (mut ext, shown) = match stored_extension(&resource) {
        StoredExtension::Object(ext) => (ext, true),
        StoredExtension::Absent => (Map::new(), true),
        StoredExtension::NotAnObject => (Map::new(), false),
    };
    let groups = derive(ctx, &mut ext, m.role, m.status, m.position, m.groups);
    PageMember { id: m.id, meta, resource, ext: shown.then_some(ext), groups }
}

/// The server metadata of a member as read.
fn listed_meta(m: &crate::db::search::ListedUser) -> Meta {
    Meta { created: m.created_at, last_modified: m.last_modified, version: Version::new(m.version) }
}

/// A member of a page as read: its stored resource as JSON text, not parsed into a tree, and what
/// its representation adds to it (written in place of, or after, the stored entries of the same
/// name, as [`presented`] sets them).
#[derive(Debug)]
pub struct PageMember {
    /// Member id.
    pub id: Uuid,
    /// Server metadata.
    pub meta: Meta,
    /// The stored resource (a JSON object), as text.
    pub resource: String,
    /// Roster's User extension with the derived attributes set; `None` when the stored one is not
    /// an object, which is then shown as stored (as [`presented`] leaves it).
    pub ext: Option<Map<String, Value>>,
    /// The member's groups, when read and any.
    pub groups: Option<Value>,
}

/// A resource as a list or a GET shows it.
#[derive(Debug)]
pub enum Item {
    /// Parsed (and presented) as a tree.
    Stored(Stored),
    /// A member read as text.
    Member(PageMember),
}

impl Item {
    /// The resource id.
    pub fn id(&self) -> Uuid {
        match self {
            Item::Stored(s) => s.id,
            Item::Member(m) => m.id,
        }
    }

    /// Its server metadata.
    pub fn meta(&self) -> &Meta {
        match self {
            Item::Stored(s) => &s.meta,
            Item::Member(m) => &m.meta,
        }
    }
}

/// Roster's User extension in a stored resource's text.
enum StoredExtension {
    Absent,
    Object(Map<String, Value>),
    NotAnObject,
}

fn stored_extension(resource: &str) -> StoredExtension {
    #[derive(serde::Deserialize)]
    struct Ext {
        #[serde(rename = "urn:ietf:params:scim:schemas:extension:roster:2.0:User")]
        ext: Option<Value>,
    }
    match serde_json::from_str::<Ext>(resource).map(|e| e.ext) {
        Ok(None) | Err(_) => StoredExtension::Absent,
        Ok(Some(Value::Object(ext))) => StoredExtension::Object(ext),
        Ok(Some(_)) => StoredExtension::NotAnObject,
    }
}

/// A member with its derived attributes (Roster's User extension) and its groups
/// (`[{value, display, type}]` as SQL gives them; `$ref` added here).
pub(crate) fn presented(
    ctx: &Context,
    mut member: Stored,
    role: Option<String>,
    status: String,
    position: Option<String>,
    groups: Option<Value>,
) -> Stored {
    let ext = member.attributes.entry(ROSTER_USER_SCHEMA).or_insert_with(|| Value::Object(Map::new()));
    let groups = match ext {
        Value::Object(ext) => derive(ctx, ext, role, status, position, groups),
        _ => derive(ctx, &mut Map::new(), role, status, position, groups),
    };
    if let Some(groups) = groups {
        member.attributes.insert("groups".into(), groups);
    }
    member
}

/// Set the derived attributes in Roster's User extension of a member (`ext`) and return its
/// groups as shown, with `$ref`: the one rule of both [`presented`] and a [`PageMember`].
fn derive(
    ctx: &Context,
    ext: &mut Map<String, Value>,
    role: Option<String>,
    status: String,
    position: Option<String>,
    groups: Option<Value>,
) -> Option<Value> {
    roles::set_extension(ext, role, status, position);
    let Some(Value::Array(mut groups)) = groups else { return None };
    // By name, then id, as bytes: the order is the same whatever the database's collation, and
    // the statements that read the groups need not sort them.
    fn key(g: &Value) -> (&str, &str) {
        let text = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or_default();
        (text("display"), text("value"))
    }
    groups.sort_by(|a, b| key(a).cmp(&key(b)));
    roles::set_group_roles(ext, &groups);
    let groups = groups
        .iter()
        .filter_map(|g| {
            let id = g.get("value")?.as_str()?;
            Some(group_ref(ctx, id, g.get("display")?.as_str()?, g.get("type")?.as_str()?))
        })
        .collect();
    Some(Value::Array(groups))
}

/// One element of a member's read-only `groups`.
fn group_ref(ctx: &Context, id: &str, display: &str, kind: &str) -> Value {
    serde_json::json!({
        "value": id,
        "$ref": format!("{}/Groups/{}", ctx.base_url, id),
        "display": display,
        "type": kind,
    })
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
    let new_hash = password::hash_sent(input.password).await?;
    let tenant = ctx.tenant();
    let resource = input.resource;
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let locked = users::find_for_update(conn, tenant, id).await?;
        replace_locked(conn, ctx, registry, id, locked, resource, new_hash, if_match).await
    })
    .await
}

/// The write step of a member PUT ([`write::member_update_as`]): [`replace`] once the member is
/// read (without a lock, the write then made only on the row version read; or locked), against
/// the caller's tenant's registry.
pub async fn replace_locked_as(
    conn: &mut Conn,
    ctx: &Context,
    id: Uuid,
    locked: Option<users::Locked>,
    input: Normalized,
    if_match: Option<&EntityTags>,
) -> ScimResult<Written> {
    let new_hash = password::hash_sent(input.password).await?;
    replace_locked(conn, ctx, &ctx.profile.registry, id, locked, input.resource, new_hash, if_match).await
}

/// The member PUT once the member is locked (or found missing: 404), in the caller's
/// transaction, with the new password's hash if one was sent.
#[allow(clippy::too_many_arguments)]
async fn replace_locked(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    id: Uuid,
    locked: Option<users::Locked>,
    resource: serde_json::Map<String, Value>,
    new_hash: Option<String>,
    if_match: Option<&EntityTags>,
) -> ScimResult<Written> {
    let now = db_precision(ctx.now);
    let locked = locked.ok_or_else(|| not_found(id))?;
    let (old, holds_admin) = (&locked.row, locked.holds_admin);
    check_if_match(if_match, Version::new(old.version))?;
    check_immutable(registry, ResourceKind::User, &object(old.resource.clone()), &resource)?;
    let active = resource.get("active").and_then(Value::as_bool).unwrap_or(true);
    let was_active = old.resource.get("active").and_then(Value::as_bool).unwrap_or(true);
    let active_change = ActiveChange::between(was_active, active);
    if active_change == Some(ActiveChange::Suspended) {
        write::guard_member(conn, &ctx.profile, id, holds_admin, "suspend").await?;
    }
    let mut changed = changed_attributes(&object(old.resource.clone()), &resource, &["active"]);
    if new_hash.is_some() {
        changed.push("password".into());
    }
    let (status, invite) = status_after_write(&ctx.profile, &locked, active);
    let mut columns = UserColumns::from_resource(resource, &status);
    let hash = new_hash.or_else(|| old.password_hash.clone());
    let out = member_events(id, changed, active_change, invite);
    if let Some(change) = active_change {
        tracing::info!(member.id = %id, active, "member {}", change.as_str());
    }
    let stored = Stored {
        id,
        attributes: object(std::mem::take(&mut columns.resource)),
        meta: Meta { created: old.created_at, last_modified: now, version: Version::new(old.version + 1) },
    };
    let log = logged(ResourceKind::User, id, active_change, &[]);
    let row = MemberRow::Update(&columns, hash.as_deref(), Some(&locked.seen));
    let stored = write::member_written(conn, ctx, stored, row, &out, now, log).await?;
    Ok(Written { stored, active_change, fired: Vec::new() })
}

/// Remove a member, whoever asks (SCIM DELETE, the admin API with [`Context::for_admin`]):
/// refused for the last org admin; its memberships go (with their events), then
/// `member.removed`; the row stays.
pub async fn remove(
    conn: &mut Conn,
    ctx: &Context,
    id: Uuid,
    if_match: Option<&EntityTags>,
) -> ScimResult<()> {
    let tenant = ctx.tenant();
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let locked = users::find_for_update(conn, tenant, id).await?;
        remove_locked(conn, ctx, id, locked, if_match).await
    })
    .await
}

/// [`remove`] of the member as read (`None`: not found, 404): locked in the caller's
/// transaction, or read without a lock (`directory::write::member_update_as`, SCIM DELETE), when
/// the one statement of the removal writes only the row version read
/// ([`crate::db::changed_since_read`] otherwise, with nothing written).
pub async fn remove_locked(
    conn: &mut Conn,
    ctx: &Context,
    id: Uuid,
    locked: Option<users::Locked>,
    if_match: Option<&EntityTags>,
) -> ScimResult<()> {
    let now = db_precision(ctx.now);
    let users::Locked { row: old, holds_admin, seen, .. } = locked.ok_or_else(|| not_found(id))?;
    check_if_match(if_match, Version::new(old.version))?;
    write::guard_member(conn, &ctx.profile, id, holds_admin, "remove").await?;
    let log = ctx.log.success_json(logged(ResourceKind::User, id, None, &[]))?;
    let logged = log.is_some();
    let (membership, removed) = removal_events(id);
    let events = users::Removal { membership: &membership, removed: &removed };
    users::remove(conn, ctx.tenant(), id, &seen, now, events, log).await?;
    if logged {
        ctx.log.mark_written();
    }
    Ok(())
}

/// What [`users::remove`] writes for member `id`: the event of a membership that ends (its group
/// id filled in by the statement), and `member.removed`.
fn removal_events(id: Uuid) -> (NewEvent, NewEvent) {
    (NewEvent::membership(false, Uuid::nil(), id, "User"), NewEvent::member_removed(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restore_key_guess_reads_the_body_as_sent_and_never_guesses_unstorable_text() {
        let c = Uuid::now_v7();
        let guess = |body: Value| restore_key_guess(Some(c), &body);
        assert_eq!(
            guess(serde_json::json!({"USERNAME": "Ann@Example.com"})),
            Some(RestoreKey::UserName("ann@example.com".into()))
        );
        assert_eq!(
            guess(serde_json::json!({"userName": "ann@example.com", "externalid": "aad-1"})),
            Some(RestoreKey::External { connection: c, external_id: "aad-1".into() })
        );
        assert_eq!(
            restore_key_guess(None, &serde_json::json!({"userName": "a", "externalId": "x"})),
            Some(RestoreKey::UserName("a".into()))
        );
        // Not guessed: no userName string, or text PostgreSQL cannot hold (normalisation answers).
        assert_eq!(guess(serde_json::json!({"userName": 7})), None);
        assert_eq!(guess(serde_json::json!(["userName"])), None);
        assert_eq!(guess(serde_json::json!({"userName": "a\0b"})), None);
        assert_eq!(guess(serde_json::json!({"userName": "a", "externalId": "x\0"})), None);
    }

    /// The removal statement sets the membership template's `group_id` (`db::users::remove`): that
    /// key must be the one the event's payload names the group by, so the filled template is the
    /// event itself.
    #[test]
    fn the_removal_membership_template_names_its_group_by_the_key_the_statement_fills() {
        let (member, group) = (Uuid::now_v7(), Uuid::now_v7());
        let (mut template, removed) = removal_events(member);
        assert_eq!(template.payload["group_id"], serde_json::json!(Uuid::nil()), "{}", template.payload);
        template.payload["group_id"] = serde_json::json!(group);
        assert_eq!(template, NewEvent::membership(false, group, member, "User"));
        assert_eq!(removed, NewEvent::member_removed(member));
    }

    #[test]
    fn status_follows_active_and_invitation_state() {
        assert_eq!(status_for(true, 0, false), status::PROVISIONED);
        assert_eq!(status_for(true, 2, false), status::INVITED);
        assert_eq!(status_for(true, 1, true), status::ACTIVE);
        assert_eq!(status_for(true, 0, true), status::ACTIVE);
        assert_eq!(status_for(false, 3, true), status::SUSPENDED);
    }
}
