//! The directory model on top of SCIM resources: lifecycle rules for members and groups, each
//! operation one database transaction. Handlers call these; these call `db`.

pub mod admin_tokens;
pub mod bulk;
pub mod categories;
pub mod group_admin;
pub mod groups;
pub mod invitations;
pub mod join;
pub mod lifecycle;
pub mod listing;
pub mod oauth;
pub mod password;
pub mod patch;
pub mod role_admin;
pub mod roles;
pub mod setup_links;
pub mod tenants;
pub mod users;
pub mod write;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::Principal;
pub use crate::cache::TenantProfile;
use crate::db::groups::MemberRow;
use crate::events::NewEvent;
use crate::scim::patch::Rule;
use crate::scim::resource::Meta;

/// Who acts, when, and under which SCIM base URL links are built.
#[derive(Debug, Clone)]
pub struct Context {
    /// The authenticated caller.
    pub principal: Principal,
    /// The request time (from the injected clock), truncated to what PostgreSQL stores.
    pub now: DateTime<Utc>,
    /// The connection's SCIM base URL, e.g. `https://host/scim/v2/<connection>`.
    pub base_url: String,
    /// The tenant's settings and schema registry.
    pub profile: Arc<TenantProfile>,
    /// The request's provisioning-log record: a successful write commits its row with it.
    pub log: crate::provisioning::LogSlot,
}

/// A SCIM write's events and its provisioning-log row (see [`crate::provisioning::slot`]), in
/// one statement of the write's transaction.
pub(crate) async fn commit_events(
    conn: &mut crate::db::Conn,
    ctx: &Context,
    events: &[crate::events::NewEvent],
    now: DateTime<Utc>,
    write: crate::provisioning::slot::Written<'_>,
) -> crate::error::ScimResult<()> {
    let log = ctx.log.success_json(write)?;
    let logged = log.is_some();
    crate::db::events::insert_logged(conn, ctx.tenant(), events, now, log).await?;
    if logged {
        ctx.log.mark_written();
    }
    Ok(())
}

/// What a write tells its in-transaction provisioning-log row (see [`crate::provisioning::slot`]).
pub(crate) fn logged(
    kind: crate::scim::schema::ResourceKind,
    id: Uuid,
    active_change: Option<ActiveChange>,
    fired: &[Rule],
) -> crate::provisioning::slot::Written<'_> {
    crate::provisioning::slot::Written { kind, id, active_change, fired }
}

impl Context {
    /// The context of a write by an administrator (admin API, console) rather than through a
    /// SCIM connection: no connection and no connection token (nil ids, which
    /// [`Context::connection`] reports as `None`), strict PATCH (admin requests are built by
    /// Roster, not by an IdP), links under `base_url`. The same directory functions serve both.
    pub fn admin(
        tenant_id: Uuid,
        now: DateTime<Utc>,
        base_url: String,
        profile: Arc<TenantProfile>,
    ) -> Context {
        Context {
            principal: Principal {
                tenant_id,
                connection_id: Uuid::nil(),
                token_id: Uuid::nil(),
                strict: true,
            },
            now,
            base_url,
            profile,
            log: Default::default(),
        }
    }

    /// [`Context::admin`] for the admin API's member writes, which show no links.
    pub fn for_admin(profile: Arc<TenantProfile>, now: DateTime<Utc>) -> Context {
        Context::admin(profile.id, now, String::new(), profile)
    }

    /// The caller's tenant.
    pub fn tenant(&self) -> Uuid {
        self.principal.tenant_id
    }

    /// The rows this request may reach (row-level security): its tenant's.
    pub fn rows(&self) -> crate::db::Scope {
        crate::db::Scope::Tenant(self.principal.tenant_id)
    }

    /// The SCIM connection the write comes through; `None` for an administrator's write.
    pub fn connection(&self) -> Option<Uuid> {
        Some(self.principal.connection_id).filter(|c| !c.is_nil())
    }
}

/// A stored resource ready to be rendered: its id, its SCIM attributes and its metadata.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Resource id.
    pub id: Uuid,
    /// Canonical attributes (no id/meta/schemas).
    pub attributes: Map<String, Value>,
    /// Server metadata.
    pub meta: Meta,
}

/// A change of a member's `active` state made by a write. Deactivation is never silent: the
/// provisioning log (and later the events) say when one happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveChange {
    /// `active` went from true to false: access revoked, memberships kept.
    Suspended,
    /// `active` went from false to true.
    Reactivated,
}

impl ActiveChange {
    /// The change between two `active` values, if they differ.
    pub fn between(was_active: bool, active: bool) -> Option<ActiveChange> {
        match (was_active, active) {
            (true, false) => Some(ActiveChange::Suspended),
            (false, true) => Some(ActiveChange::Reactivated),
            _ => None,
        }
    }

    /// `suspended` or `reactivated`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActiveChange::Suspended => "suspended",
            ActiveChange::Reactivated => "reactivated",
        }
    }
}

/// A member after a PUT or PATCH, with what the write did besides storing it.
#[derive(Debug, Clone)]
pub struct Written {
    /// The member as stored afterwards.
    pub stored: Stored,
    /// Whether the write suspended or reactivated the member.
    pub active_change: Option<ActiveChange>,
    /// Tolerance rules the request needed (PATCH only).
    pub fired: Vec<Rule>,
}

/// Truncate a timestamp to milliseconds, the precision SCIM clients see in `meta`, so that what
/// is stored is exactly what is shown and `meta.lastModified gt "<shown value>"` means what it says.
pub fn db_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{DurationRound, TimeDelta};
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Membership events for rows a change added or removed.
fn membership_events(events: &mut Vec<NewEvent>, added: bool, rows: &[MemberRow]) {
    events.extend(rows.iter().map(|m| NewEvent::membership(added, m.group_id, m.member_id, &m.member_type)));
}
