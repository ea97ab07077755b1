//! The SQL of the join API's doors (issue #12): join settings, links (access links, email
//! invitations, the tenant invitation link), pre-stored registrations and access requests. Link
//! tokens and request tickets are looked up by their SHA-256 digest only; single use is a
//! conditional `UPDATE … WHERE used_at IS NULL RETURNING`, so of concurrent registrations
//! through one link exactly one claims it. The members themselves are written by
//! `directory::write` (and [`insert_member`] / [`restore_member`] here, which it calls).

mod links;
mod members;
mod prestored;
mod requests;

pub use links::*;
pub use members::*;
pub use prestored::*;
pub use requests::*;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::{categories, join_settings};
use super::Conn;

/// A tenant's join settings.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = join_settings)]
pub struct Settings {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Whether the tenant invitation link admits registrations.
    pub invitation_link_enabled: bool,
    /// Lower-case email domains the invitation link admits.
    pub allowed_domains: Vec<Option<String>>,
    /// Whether anyone may request access.
    pub requests_enabled: bool,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The tenant's join settings (all doors closed when never set).
pub async fn settings(conn: &mut Conn, tenant_id: Uuid, now: DateTime<Utc>) -> QueryResult<Settings> {
    let found = join_settings::table
        .filter(join_settings::tenant_id.eq(tenant_id))
        .select(Settings::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(found.unwrap_or(Settings {
        tenant_id,
        invitation_link_enabled: false,
        allowed_domains: Vec::new(),
        requests_enabled: false,
        updated_at: now,
    }))
}

/// Store a tenant's join settings.
pub async fn save_settings(conn: &mut Conn, s: &Settings) -> QueryResult<()> {
    diesel::insert_into(join_settings::table)
        .values(s)
        .on_conflict(join_settings::tenant_id)
        .do_update()
        .set(s)
        .execute(conn)
        .await
        .map(drop)
}

/// Mark exactly the categories with these caseless names self-editable; returns how many are.
pub async fn set_self_editable(conn: &mut Conn, tenant_id: Uuid, name_keys: &[String]) -> QueryResult<usize> {
    diesel::update(categories::table.filter(categories::tenant_id.eq(tenant_id)))
        .set(categories::self_editable.eq(categories::name_key.eq_any(name_keys)))
        .execute(conn)
        .await?;
    self_editable(conn, tenant_id).await.map(|c| c.len())
}

/// Names of the tenant's self-editable categories, by name.
pub async fn self_editable(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<String>> {
    categories::table
        .filter(categories::tenant_id.eq(tenant_id).and(categories::self_editable))
        .order((categories::name_key.asc(), categories::id.asc()))
        .select(categories::name)
        .load(conn)
        .await
}
