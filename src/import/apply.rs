//! Writing a plan: one transaction for categories, members, memberships, suspensions (guarded:
//! never the last org admin), the write service's follow-up (positions, roles), events and
//! provisioning-log entries. Members are written through `directory::write`, like every other
//! entry point's. If anything fails, nothing is written.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use super::catalog;
use super::plan::{Action, Plan};
use crate::db::imports::{ImportedUpdate, NewMember};
use crate::db::provisioning_log::{self as log, Entry, SOURCE_IMPORT};
use crate::db::roles::FollowUp;
use crate::db::users::UserColumns;
use crate::db::{events, Conn};
use crate::directory::{db_precision, write, TenantProfile};
use crate::error::{ScimError, ScimResult};
use crate::events::NewEvent;
use crate::scim::schema::Registry;

/// What an apply wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// The import's id (subject of `import.completed`, `request_id` of its log entries).
    pub import_id: Uuid,
    /// Members created.
    pub created: usize,
    /// Members updated.
    pub updated: usize,
    /// Members suspended by `--sync`.
    pub suspended: usize,
    /// Group memberships added.
    pub memberships_added: usize,
    /// Group memberships removed by `--sync` (groups the file no longer lists).
    pub memberships_removed: usize,
    /// Removed members restored (same id).
    pub restored: usize,
    /// Categories created.
    pub categories_created: Vec<String>,
    /// Members whose effective role changed.
    pub roles_changed: usize,
}

impl Written {
    /// Whether the import wrote any change to the directory.
    pub fn changed_anything(&self) -> bool {
        self.created
            + self.updated
            + self.suspended
            + self.memberships_added
            + self.memberships_removed
            + self.restored
            > 0
            || !self.categories_created.is_empty()
    }

    /// The totals as JSON (the `import.completed` payload and the report's `written`).
    pub fn totals(&self) -> Value {
        json!({
            "created": self.created,
            "updated": self.updated,
            "suspended": self.suspended,
            "memberships_added": self.memberships_added,
            "memberships_removed": self.memberships_removed,
            "restored": self.restored,
            "categories_created": self.categories_created,
            "roles_changed": self.roles_changed,
        })
    }
}

/// Write the plan's `create` and `update` rows, its new categories and its suspensions, in one
/// transaction. Created members get their ids in the plan.
pub async fn apply(
    conn: &mut Conn,
    tenant: Uuid,
    plan: &mut Plan,
    options: super::Options,
    now: DateTime<Utc>,
    progress: &super::Progress,
) -> ScimResult<Written> {
    let now = db_precision(now);
    let import_id = Uuid::now_v7();
    for row in plan.rows.iter_mut().filter(|r| r.action == Action::Create) {
        row.member_id = Some(Uuid::now_v7());
    }
    let plan: &Plan = plan;
    let profile = TenantProfile::load(conn, &Registry::standard(), tenant).await?;
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let mut written = Written { import_id, ..Written::default() };
        for category in &plan.new_categories {
            catalog::insert(conn, tenant, category, now).await?;
            written.categories_created.push(category.name.clone());
        }
        let mut member_events = Vec::new();
        let mut log_rows = Vec::new();
        let mut new_members = Vec::new();
        let mut joins = Vec::new();
        let mut follow_ups = Vec::new();
        // The same rules as a SCIM write (invitations unless the tenant uses SSO or does not
        // invite, or this import asks for none; positions, roles and their events from the
        // write service's follow-up).
        let invite = crate::directory::users::invites(&profile) && !options.no_invitations;
        let restores: Vec<(Uuid, &str)> = plan
            .rows
            .iter()
            .filter(|r| r.restores)
            .filter_map(|r| Some((r.member_id?, r.desired.as_ref()?.status.as_str())))
            .collect();
        write::restore_imported(conn, tenant, &restores, now).await?;
        let mut leaves = Vec::new();
        let mut regroups = Vec::new();
        progress.phase("writing members", plan.rows.len());
        for row in &plan.rows {
            progress.step();
            let (Some(id), Some(d)) = (row.member_id, &row.desired) else { continue };
            let created = match row.action {
                Action::Create => true,
                Action::Update => false,
                _ => continue,
            };
            let columns = UserColumns::from_resource(d.resource.clone(), &d.status);
            let group_role = d.group_role.as_deref().unwrap_or("member");
            joins.extend(d.join.iter().map(|g| (*g, id, group_role)));
            regroups.extend(d.regroup.iter().map(|g| (*g, id, group_role)));
            leaves.extend(d.leave.iter().map(|g| (*g, id)));
            follow_ups.push(FollowUp {
                id,
                created,
                default_base_role: false,
                role_keys: None,
                position: write::position_of(&profile, &d.resource),
                row: None,
            });
            if created {
                new_members.push(NewMember {
                    tenant_id: tenant,
                    id,
                    columns,
                    origin: "import",
                    personal_id: d.personal_id.clone(),
                    comment: d.comment.clone(),
                    base_role: d.base_role.clone(),
                    version: 1,
                    created_at: now,
                    last_modified: now,
                });
                member_events.push(NewEvent::member_created(id, true, false));
                if invite {
                    member_events.push(NewEvent::invitation_needed(id));
                }
                log_rows.push(entry(tenant, import_id, now, Some(id), "import: create".into(), 201));
                written.created += 1;
            } else {
                let update = ImportedUpdate {
                    columns: &columns,
                    personal_id: &d.personal_id,
                    comment: d.comment.as_deref(),
                    base_role: d.base_role.as_deref(),
                };
                write::update_imported(conn, tenant, id, &update, now).await?;
                if row.restores {
                    member_events.push(NewEvent::member_created(id, true, true));
                    if invite && d.status == crate::db::users::status::PROVISIONED {
                        member_events.push(NewEvent::invitation_needed(id));
                    }
                    log_rows.push(entry(tenant, import_id, now, Some(id), "import: restore".into(), 200));
                    written.restored += 1;
                    continue;
                }
                if !row.changed_attributes.is_empty() {
                    member_events.push(NewEvent::member_updated(id, row.changed_attributes.clone()));
                }
                if row.reactivates {
                    member_events.push(NewEvent::member_active(id, true));
                }
                let op = format!("import: update {}", row.changes.join(","));
                log_rows.push(entry(tenant, import_id, now, Some(id), op, 200));
                written.updated += 1;
            }
        }
        progress.phase("inserting new members", 0);
        write::insert_imported(conn, &new_members).await?;
        let suspend: Vec<Uuid> = plan.suspend.iter().map(|s| s.member_id).collect();
        if !suspend.is_empty() {
            written.suspended = write::suspend_many(conn, &profile, &suspend, now).await?;
            for id in &suspend {
                member_events.push(NewEvent::member_active(*id, false));
                log_rows.push(entry(
                    tenant,
                    import_id,
                    now,
                    Some(*id),
                    "import: suspend (absent from the file)".into(),
                    200,
                ));
            }
        }
        progress.phase("memberships, roles and events", 0);
        let added = write::add_memberships(conn, tenant, &joins, now).await?;
        written.memberships_added = added.len();
        member_events
            .extend(added.iter().map(|a| NewEvent::membership(true, a.group_id, a.member_id, "User")));
        write::set_group_roles(conn, tenant, &regroups).await?;
        let removed = write::remove_memberships(conn, tenant, &leaves, now).await?;
        written.memberships_removed = removed.len();
        member_events
            .extend(removed.iter().map(|a| NewEvent::membership(false, a.group_id, a.member_id, "User")));
        let done = write::follow_up(conn, tenant, &follow_ups, now, false, None).await?;
        let role_events = write::role_events(&done);
        written.roles_changed = role_events.len();
        member_events.extend(role_events);
        // An import that changes nothing tells nobody anything.
        if written.changed_anything() {
            member_events.push(NewEvent::import_completed(import_id, written.totals()));
        }
        events::insert(conn, tenant, &member_events, now).await?;
        log_rows.push(entry(tenant, import_id, now, None, summary(&written, plan), 200));
        progress.phase("provisioning log", 0);
        for chunk in log_rows.chunks(2000) {
            log::insert_many(conn, chunk).await?;
        }
        Ok(written)
    })
    .await
}

/// The import's summary line in the provisioning log.
fn summary(w: &Written, plan: &Plan) -> String {
    format!(
        "import: {} created, {} updated, {} unchanged, {} skipped, {} errors, {} suspended",
        w.created,
        w.updated,
        plan.count(Action::Unchanged),
        plan.count(Action::Skipped),
        plan.count(Action::Error),
        w.suspended
    )
}

fn entry(
    tenant: Uuid,
    import_id: Uuid,
    at: DateTime<Utc>,
    member: Option<Uuid>,
    operation: String,
    status: i32,
) -> Entry {
    let mut operation = operation;
    if operation.chars().count() > 400 {
        operation = operation.chars().take(397).collect::<String>() + "...";
    }
    Entry {
        tenant_id: tenant,
        id: Uuid::now_v7(),
        at,
        connection_id: None,
        request_id: import_id.to_string(),
        method: "IMPORT".into(),
        resource_type: member.map(|_| "User".to_string()),
        resource_id: member,
        operation,
        status,
        scim_type: None,
        detail: None,
        latency_ms: 0.0,
        rules: Vec::new(),
        source: SOURCE_IMPORT.into(),
    }
}
