//! What an admin changes about roles and positions (the admin API): the catalog, group→role
//! bindings, overrides, group roles and the tenant's role settings. Each change is one
//! transaction that recomputes the members it can affect and writes their `role.changed` events.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use uuid::Uuid;

use super::{db_precision, roles};
use crate::db::roles::{self as store, Binding, RoleRow, Settings};
use crate::db::{events, groups, positions, unique_violation, users, Conn};
use crate::error::{ScimError, ScimResult};
use crate::events::NewEvent;
use crate::scim::resource::fold_key;
use crate::scim::schema::Registry;

/// Check a role's fields: a name of 1–100 characters without spaces or slashes (it appears in
/// URLs and SCIM `roles` values), a display name of 1–200 characters, a rank of 0–1000000.
pub fn validate_role(role: &RoleRow) -> ScimResult<()> {
    let name = &role.name;
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(ScimError::invalid_value(format!(
            "name {name:?}: 1 to 100 characters, no spaces or slashes (e.g. \"store_manager\")"
        )));
    }
    let display = role.display_name.trim();
    if display.is_empty() || display.chars().count() > 200 {
        return Err(ScimError::invalid_value("display_name: 1 to 200 characters"));
    }
    if !(0..=1_000_000).contains(&role.rank) {
        return Err(ScimError::invalid_value(format!("rank {}: must be between 0 and 1000000", role.rank)));
    }
    Ok(())
}

/// Map the catalog's unique constraints to actionable conflicts.
fn catalog_error(err: diesel::result::Error, role: &RoleRow) -> ScimError {
    match unique_violation(&err) {
        Some("roles_tenant_id_rank_key") => ScimError::conflict(format!(
            "rank {} is already used by another role of this tenant; ranks must be unique (pick a free one)",
            role.rank
        )),
        Some(_) => ScimError::conflict(format!(
            "a role named {:?} already exists in this tenant (names are compared case-insensitively)",
            role.name
        )),
        None => err.into(),
    }
}

/// A role by name (caselessly), or 404 naming it.
pub async fn role(conn: &mut Conn, tenant: Uuid, name: &str) -> ScimResult<RoleRow> {
    store::find(conn, tenant, &fold_key(name)).await?.ok_or_else(|| {
        ScimError::not_found(format!("no role {name:?} in this tenant's catalog (GET .../roles lists it)"))
    })
}

async fn write_events(conn: &mut Conn, tenant: Uuid, out: &[NewEvent], now: DateTime<Utc>) -> ScimResult<()> {
    events::insert(conn, tenant, out, now).await?;
    Ok(())
}

/// Add a role to the catalog; members whose SCIM `roles` already named it get it.
pub async fn create_role(
    conn: &mut Conn,
    tenant: Uuid,
    role: RoleRow,
    now: DateTime<Utc>,
) -> ScimResult<RoleRow> {
    validate_role(&role)?;
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async |conn| {
        store::insert(conn, tenant, &role, &fold_key(&role.name), now)
            .await
            .map_err(|e| catalog_error(e, &role))?;
        store::rematch_scim_roles(conn, tenant).await?;
        let out = roles::recompute_all(conn, tenant).await?;
        write_events(conn, tenant, &out, now).await?;
        Ok(role)
    })
    .await
}

/// The fields of a role an admin may change.
#[derive(Debug, Clone, Default)]
pub struct RoleChanges {
    /// New display name.
    pub display_name: Option<String>,
    /// New rank.
    pub rank: Option<i32>,
    /// New admin flag.
    pub grants_admin: Option<bool>,
}

/// Change a role's display name, rank or admin flag, and recompute everyone.
pub async fn update_role(
    conn: &mut Conn,
    tenant: Uuid,
    name: &str,
    changes: RoleChanges,
    now: DateTime<Utc>,
) -> ScimResult<RoleRow> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async |conn| {
        let mut updated = role(conn, tenant, name).await?;
        if let Some(d) = changes.display_name {
            updated.display_name = d;
        }
        if let Some(r) = changes.rank {
            updated.rank = r;
        }
        if let Some(a) = changes.grants_admin {
            updated.grants_admin = a;
        }
        validate_role(&updated)?;
        store::update(conn, tenant, &updated).await.map_err(|e| catalog_error(e, &updated))?;
        let out = roles::recompute_all(conn, tenant).await?;
        write_events(conn, tenant, &out, now).await?;
        Ok(updated)
    })
    .await
}

/// Delete a role: refused while it is the tenant's default role; its bindings, overrides and
/// base roles go with it, and everyone is recomputed.
pub async fn delete_role(conn: &mut Conn, tenant: Uuid, name: &str, now: DateTime<Utc>) -> ScimResult<()> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async |conn| {
        let found = role(conn, tenant, name).await?;
        if store::settings(conn, tenant).await?.default_role == found.name {
            return Err(ScimError::conflict(format!(
                "role {:?} is the tenant's default role; set another default_role first (PUT .../settings)",
                found.name
            )));
        }
        store::delete(conn, tenant, &found.name).await?;
        let out = roles::recompute_all(conn, tenant).await?;
        write_events(conn, tenant, &out, now).await
    })
    .await
}

async fn group_exists(conn: &mut Conn, tenant: Uuid, group: Uuid) -> ScimResult<()> {
    if groups::existing_ids(conn, tenant, &[group]).await?.is_empty() {
        return Err(ScimError::not_found(format!("no group {group} in this tenant")));
    }
    Ok(())
}

/// Bind a role to a group (its direct and inherited members get it). Returns whether the
/// binding is new.
pub async fn bind(
    conn: &mut Conn,
    tenant: Uuid,
    group: Uuid,
    role_name: &str,
    now: DateTime<Utc>,
) -> ScimResult<bool> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async |conn| {
        group_exists(conn, tenant, group).await?;
        let found = role(conn, tenant, role_name).await?;
        let created = store::bind(conn, tenant, group, &found.name, now).await?;
        let reached = roles::reached_by_group(conn, tenant, group).await?;
        let out = roles::recompute(conn, tenant, &reached).await?;
        write_events(conn, tenant, &out, now).await?;
        Ok(created)
    })
    .await
}

/// Remove a group→role binding (404 when there is none).
pub async fn unbind(
    conn: &mut Conn,
    tenant: Uuid,
    group: Uuid,
    role_name: &str,
    now: DateTime<Utc>,
) -> ScimResult<()> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async |conn| {
        group_exists(conn, tenant, group).await?;
        let found = role(conn, tenant, role_name).await?;
        if !store::unbind(conn, tenant, group, &found.name).await? {
            return Err(ScimError::not_found(format!(
                "group {group} has no binding to role {:?}",
                found.name
            )));
        }
        let reached = roles::reached_by_group(conn, tenant, group).await?;
        let out = roles::recompute(conn, tenant, &reached).await?;
        write_events(conn, tenant, &out, now).await
    })
    .await
}

/// The tenant's bindings.
pub async fn bindings(conn: &mut Conn, tenant: Uuid) -> ScimResult<Vec<Binding>> {
    Ok(store::bindings(conn, tenant).await?)
}

/// A member's role state after an override change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemberRole {
    /// The member.
    pub member_id: Uuid,
    /// The admin override, if any.
    pub role_override: Option<String>,
    /// The effective role.
    pub effective_role: Option<String>,
}

/// Set (`Some`) or clear (`None`) a member's admin override. An unknown role is 400.
pub async fn set_override(
    conn: &mut Conn,
    tenant: Uuid,
    member: Uuid,
    role_name: Option<&str>,
    now: DateTime<Utc>,
) -> ScimResult<MemberRole> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async |conn| {
        let name = match role_name {
            Some(n) => Some(
                store::find(conn, tenant, &fold_key(n))
                    .await?
                    .ok_or_else(|| {
                        ScimError::invalid_value(format!("role: no role {n:?} in this tenant's catalog"))
                    })?
                    .name,
            ),
            None => None,
        };
        if !store::set_override(conn, tenant, member, name.as_deref()).await? {
            return Err(ScimError::not_found(format!("no member {member} in this tenant")));
        }
        let out = roles::recompute(conn, tenant, &[member]).await?;
        write_events(conn, tenant, &out, now).await?;
        let derived = store::derived(conn, tenant, &[member]).await?;
        Ok(MemberRole {
            member_id: member,
            role_override: name,
            effective_role: derived.into_iter().next().and_then(|d| d.role),
        })
    })
    .await
}

/// Set the group role (`member` or `manager`) of a direct user membership.
pub async fn set_group_role(
    conn: &mut Conn,
    tenant: Uuid,
    group: Uuid,
    member: Uuid,
    group_role: &str,
) -> ScimResult<()> {
    if !matches!(group_role, "member" | "manager") {
        return Err(ScimError::invalid_value(format!(
            "groupRole {group_role:?}: must be \"member\" or \"manager\""
        )));
    }
    if users::existing_ids(conn, tenant, &[member]).await?.is_empty() {
        return Err(ScimError::not_found(format!("no member {member} in this tenant")));
    }
    if !store::set_group_role(conn, tenant, group, member, group_role).await? {
        return Err(ScimError::not_found(format!("member {member} is not a direct member of group {group}")));
    }
    Ok(())
}

/// New role and position settings of a tenant (absent fields stay).
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    /// The role new members get.
    pub default_role: Option<String>,
    /// The User attribute positions are fed from.
    pub position_source: Option<String>,
}

/// Change the default role (members on the old default follow) and the position source
/// (every member's position is derived again), recomputing roles.
pub async fn update_settings(
    conn: &mut Conn,
    registry: &Registry,
    tenant: Uuid,
    change: SettingsChange,
    now: DateTime<Utc>,
) -> ScimResult<Settings> {
    let now = db_precision(now);
    let key_path = match &change.position_source {
        Some(source) => {
            crate::scim::roles::check_position_source(registry, source).map_err(ScimError::invalid_value)?;
            crate::scim::roles::json_key_path(registry, source)
        }
        None => None,
    };
    conn.transaction::<_, ScimError, _>(async |conn| {
        let old = store::settings(conn, tenant).await?;
        if let Some(name) = &change.default_role {
            let found = store::find(conn, tenant, &fold_key(name)).await?.ok_or_else(|| {
                ScimError::invalid_value(format!("default_role: no role {name:?} in this tenant's catalog"))
            })?;
            if found.name != old.default_role {
                store::set_default_role(conn, tenant, &old.default_role, &found.name).await?;
                let out = roles::recompute_all(conn, tenant).await?;
                write_events(conn, tenant, &out, now).await?;
            }
        }
        if let (Some(source), Some(path)) = (&change.position_source, &key_path) {
            store::set_position_source(conn, tenant, source).await?;
            positions::rederive_all(conn, tenant, path, now).await?;
        }
        Ok(store::settings(conn, tenant).await?)
    })
    .await
}
