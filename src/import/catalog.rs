//! The minimal category catalog access an import needs: read a tenant's categories and create
//! new ones. Kept in this one file so it can be replaced by
//! the directory's category module (`db::categories`) when both exist.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::schema::categories;
use crate::db::Conn;

/// The value type of a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// One of `allowed_values`.
    Dropdown,
    /// A number.
    Number,
    /// An ISO date (`YYYY-MM-DD`).
    Date,
    /// true / false.
    Boolean,
}

impl Kind {
    /// The kind from its stored name.
    pub fn parse(s: &str) -> Option<Kind> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Some(Kind::Text),
            "dropdown" => Some(Kind::Dropdown),
            "number" => Some(Kind::Number),
            "date" => Some(Kind::Date),
            "boolean" => Some(Kind::Boolean),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Dropdown => "dropdown",
            Kind::Number => "number",
            Kind::Date => "date",
            Kind::Boolean => "boolean",
        }
    }
}

/// A category of the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// SCIM attribute name under the Roster user extension.
    pub name: String,
    /// Caseless key.
    pub name_key: String,
    /// Display name.
    pub display_name: String,
    /// Value type.
    pub kind: Kind,
    /// Dropdown values.
    pub allowed_values: Vec<String>,
}

/// A category row: name, name key, display name, kind, allowed values.
type Row = (String, String, String, String, Vec<Option<String>>);

/// A tenant's categories.
pub async fn load(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<Category>> {
    let rows: Vec<Row> = categories::table
        .filter(categories::tenant_id.eq(tenant_id))
        .select((
            categories::name,
            categories::name_key,
            categories::display_name,
            categories::kind,
            categories::allowed_values,
        ))
        .order(categories::name_key)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(name, name_key, display_name, kind, allowed)| Category {
            name,
            name_key,
            display_name,
            kind: Kind::parse(&kind).unwrap_or(Kind::Text),
            allowed_values: allowed.into_iter().flatten().collect(),
        })
        .collect())
}

/// Create a category (in the caller's transaction).
pub async fn insert(
    conn: &mut Conn,
    tenant_id: Uuid,
    category: &Category,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(categories::table)
        .values((
            categories::tenant_id.eq(tenant_id),
            categories::id.eq(Uuid::now_v7()),
            categories::name.eq(&category.name),
            categories::name_key.eq(&category.name_key),
            categories::display_name.eq(&category.display_name),
            categories::kind.eq(category.kind.as_str()),
            categories::allowed_values.eq(&category.allowed_values),
            categories::created_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}
