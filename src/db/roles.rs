//! The role catalog of a tenant.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::roles;
use super::Conn;

/// The catalog every tenant starts with: (name, display name, rank, grants admin).
pub const DEFAULT_ROLES: [(&str, &str, i32, bool); 4] = [
    ("org_admin", "Organization admin", 400, true),
    ("chief_editor", "Chief editor", 300, false),
    ("editor", "Editor", 200, false),
    ("member", "Member", 100, false),
];

/// Insert the default catalog for a new tenant (in the tenant's creation transaction: the
/// tenant's `default_role` refers to it, checked at commit).
pub async fn insert_default_catalog(conn: &mut Conn, tenant_id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    let rows: Vec<_> = DEFAULT_ROLES
        .iter()
        .map(|(name, display, rank, admin)| {
            (
                roles::tenant_id.eq(tenant_id),
                roles::name.eq(*name),
                roles::name_key.eq(*name),
                roles::display_name.eq(*display),
                roles::rank.eq(*rank),
                roles::grants_admin.eq(*admin),
                roles::created_at.eq(now),
            )
        })
        .collect();
    diesel::insert_into(roles::table).values(rows).execute(conn).await.map(drop)
}
