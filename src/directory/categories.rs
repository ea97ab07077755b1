//! Categories: a tenant's own member attributes (DESIGN §2) — the rules for defining them and the
//! tenant's effective schema registry. The value rules themselves are pure
//! ([`Category::check_value`], in `scim::schema`), so SCIM writes, the admin API and an importer
//! all apply the same ones.
//!
//! Decisions:
//! * A name is an RFC 7643 ATTRNAME (a letter, then letters, digits, `-`, `_`; at most 63), unique
//!   caselessly within the tenant, and not one of the static attributes of Roster's User
//!   extension (`role`, `status`, `position`).
//! * Name and kind never change (stored values and filters depend on them); display name,
//!   allowed values and source do. Removing an allowed value that members still hold is 409
//!   with their count; re-spelling one (`oslo` → `Oslo`) is not a removal.
//! * Deleting a category removes its values from every member in one statement (each changed
//!   member's version is bumped, so ETags stay truthful); no `member.updated` events are written
//!   for it: it is a schema change, not a member change.
//! * A new or changed `source` applies from each member's next write on; existing values are not
//!   recomputed (and a member whose source value the category does not accept gets 400 on its
//!   next write until the value is allowed).
//! * Writers check values against the categories read at the start of their request, outside
//!   their transaction: a value written concurrently with its removal from a dropdown can survive
//!   the removal's in-use check. It stays readable and filterable; that member's next write is
//!   rejected until the value is set again or re-allowed.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde_json::Value;
use uuid::Uuid;

use super::db_precision;
use crate::db::categories::{self as store, CategoryRow};
use crate::db::{unique_violation, Conn};
use crate::error::{ScimError, ScimResult};
use crate::scim::schema::{check_source, Category, CategoryKind, Registry, ROSTER_USER_SCHEMA};

/// Attributes of Roster's User extension that Roster computes itself; no category may take
/// their names (whether or not this build's static registry lists them).
pub const RESERVED_NAMES: [&str; 3] = ["role", "status", "position"];

/// Most allowed values a dropdown may have.
pub const MAX_ALLOWED_VALUES: usize = 1000;

/// A category as the directory knows it: its rules plus identity.
#[derive(Debug, Clone)]
pub struct CategoryRecord {
    /// Category id.
    pub id: Uuid,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Name, kind, allowed values, source.
    pub category: Category,
}

/// What a new category is.
#[derive(Debug, Clone)]
pub struct NewCategory {
    /// Attribute name (ATTRNAME).
    pub name: String,
    /// Human-readable name; the name when absent.
    pub display_name: Option<String>,
    /// `text`, `dropdown`, `number`, `date` or `boolean`.
    pub kind: String,
    /// Dropdown values (dropdown only).
    pub allowed_values: Vec<String>,
    /// SCIM attribute path to map from.
    pub source: Option<String>,
}

/// A change to a category; `None` leaves a field as it is (`source: Some(None)` removes it).
#[derive(Debug, Clone, Default)]
pub struct CategoryChange {
    /// New display name.
    pub display_name: Option<String>,
    /// New allowed values (dropdown only), in order.
    pub allowed_values: Option<Vec<String>>,
    /// New source, or `Some(None)` to stop mapping.
    pub source: Option<Option<String>>,
}

fn record(row: CategoryRow) -> ScimResult<CategoryRecord> {
    let kind = CategoryKind::parse(&row.kind).ok_or_else(|| {
        ScimError::internal(anyhow::anyhow!("category {} has unknown kind {}", row.name, row.kind))
    })?;
    Ok(CategoryRecord {
        id: row.id,
        created_at: row.created_at,
        category: Category {
            name: row.name,
            display_name: row.display_name,
            kind,
            allowed_values: row.allowed_values.into_iter().flatten().collect(),
            source: row.source,
        },
    })
}

/// The tenant's categories, ordered by name (caselessly).
pub async fn list_categories(conn: &mut Conn, tenant_id: Uuid) -> ScimResult<Vec<CategoryRecord>> {
    store::list(conn, tenant_id).await?.into_iter().map(record).collect()
}

/// One category by name (caselessly), or 404.
pub async fn get_category(conn: &mut Conn, tenant_id: Uuid, name: &str) -> ScimResult<CategoryRecord> {
    let row =
        store::find(conn, tenant_id, &name.to_lowercase(), false).await?.ok_or_else(|| not_found(name))?;
    record(row)
}

fn not_found(name: &str) -> ScimError {
    ScimError::not_found(format!("no category {name:?} in this tenant"))
}

/// The registry a request of this tenant works with: `base` plus the tenant's categories. One
/// indexed query per request, so every process sharing the database sees a change at once.
pub async fn tenant_registry(conn: &mut Conn, base: &Registry, tenant_id: Uuid) -> ScimResult<Registry> {
    let categories = list_categories(conn, tenant_id).await?.into_iter().map(|r| r.category).collect();
    Ok(base.with_categories(categories))
}

/// Checks a value for a category (as a SCIM write would) and returns it as stored: a dropdown
/// value in its canonical spelling. For importers and other writers outside SCIM.
pub fn validate_value(category: &Category, value: &Value) -> ScimResult<Value> {
    category.check_value(value)
}

/// Checks an attribute name: RFC 7643 ATTRNAME, at most 63 characters, not reserved.
pub fn validate_name(base: &Registry, name: &str) -> ScimResult<()> {
    let mut chars = name.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= 63;
    if !well_formed {
        return Err(ScimError::invalid_value(format!(
            "category name {name:?}: use 1-63 characters, a letter first, then letters, digits, '-' or '_' (a SCIM attribute name)"
        )));
    }
    let static_attr = base.schema(ROSTER_USER_SCHEMA).and_then(|s| s.attribute(name)).is_some();
    if static_attr || RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(ScimError::invalid_value(format!(
            "category name {name:?} is taken by Roster's own User attributes ({})",
            RESERVED_NAMES.join(", ")
        )));
    }
    Ok(())
}

fn validate_display_name(display_name: &str) -> ScimResult<String> {
    let trimmed = display_name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 200 {
        return Err(ScimError::invalid_value("display_name must be 1-200 characters"));
    }
    Ok(trimmed.to_string())
}

/// Checks dropdown values: for a dropdown at least one, each 1-200 characters, no two equal
/// caselessly; for other kinds none.
fn validate_allowed(kind: CategoryKind, values: &[String]) -> ScimResult<Vec<String>> {
    if kind != CategoryKind::Dropdown {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        return Err(ScimError::invalid_value(format!(
            "allowed_values apply to dropdown categories only, not to {}",
            kind.as_str()
        )));
    }
    if values.is_empty() || values.len() > MAX_ALLOWED_VALUES {
        return Err(ScimError::invalid_value(format!(
            "a dropdown category needs 1-{MAX_ALLOWED_VALUES} allowed_values"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let v = v.trim();
        if v.is_empty() || v.chars().count() > 200 {
            return Err(ScimError::invalid_value("each allowed value must be 1-200 characters"));
        }
        if out.iter().any(|o| o.to_lowercase() == v.to_lowercase()) {
            return Err(ScimError::invalid_value(format!(
                "allowed value {v:?} is listed twice (caselessly)"
            )));
        }
        out.push(v.to_string());
    }
    Ok(out)
}

fn validate_source(base: &Registry, source: Option<&str>) -> ScimResult<Option<String>> {
    match source.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.len() > 300 => Err(ScimError::invalid_value("source: at most 300 characters")),
        Some(s) => check_source(base, s).map(|()| Some(s.to_string())).map_err(ScimError::invalid_value),
    }
}

/// Create a category. `base` is the static registry (sources and reserved names are checked
/// against it). A name already used caselessly is 409 `uniqueness`.
pub async fn create_category(
    conn: &mut Conn,
    base: &Registry,
    tenant_id: Uuid,
    new: NewCategory,
    now: DateTime<Utc>,
) -> ScimResult<CategoryRecord> {
    validate_name(base, &new.name)?;
    let kind = CategoryKind::parse(&new.kind).ok_or_else(|| {
        ScimError::invalid_value(format!(
            "kind {:?}: use one of {}",
            new.kind,
            CategoryKind::ALL.map(CategoryKind::as_str).join(", ")
        ))
    })?;
    let row = CategoryRow {
        tenant_id,
        id: Uuid::now_v7(),
        name_key: new.name.to_lowercase(),
        display_name: validate_display_name(new.display_name.as_deref().unwrap_or(&new.name))?,
        kind: kind.as_str().to_string(),
        allowed_values: validate_allowed(kind, &new.allowed_values)?.into_iter().map(Some).collect(),
        source: validate_source(base, new.source.as_deref())?,
        created_at: db_precision(now),
        name: new.name,
    };
    match store::insert(conn, &row).await {
        Ok(()) => record(row),
        Err(e) if unique_violation(&e).is_some() => Err(ScimError::uniqueness("category name")),
        Err(e) => Err(e.into()),
    }
}

/// Change a category's display name, allowed values or source, in one transaction. Removing
/// allowed values that members hold is 409 naming the values and the number of members.
pub async fn update_category(
    conn: &mut Conn,
    base: &Registry,
    tenant_id: Uuid,
    name: &str,
    change: CategoryChange,
) -> ScimResult<CategoryRecord> {
    let key = name.to_lowercase();
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let mut row = store::find(conn, tenant_id, &key, true).await?.ok_or_else(|| not_found(name))?;
        let current = record(row.clone())?.category;
        if let Some(d) = &change.display_name {
            row.display_name = validate_display_name(d)?;
        }
        if let Some(values) = &change.allowed_values {
            let values = validate_allowed(current.kind, values)?;
            let removed: Vec<String> = current
                .allowed_values
                .iter()
                .filter(|old| !values.iter().any(|v| v.to_lowercase() == old.to_lowercase()))
                .cloned()
                .collect();
            if !removed.is_empty() {
                let holding = store::count_holding(conn, tenant_id, &current.name, &removed).await?;
                if holding > 0 {
                    return Err(ScimError::conflict(format!(
                        "{holding} member(s) still hold {} in category {}: change their values first",
                        removed.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", "),
                        current.name
                    )));
                }
            }
            row.allowed_values = values.into_iter().map(Some).collect();
        }
        if let Some(source) = &change.source {
            row.source = validate_source(base, source.as_deref())?;
        }
        store::update(conn, &row).await?;
        record(row)
    })
    .await
}

/// Delete a category and remove its values from every member (one statement, versions bumped).
/// Returns how many members held a value.
pub async fn delete_category(
    conn: &mut Conn,
    tenant_id: Uuid,
    name: &str,
    now: DateTime<Utc>,
) -> ScimResult<usize> {
    let key = name.to_lowercase();
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let row = store::find(conn, tenant_id, &key, true).await?.ok_or_else(|| not_found(name))?;
        let cleared = store::clear_values(conn, tenant_id, &row.name, now).await?;
        store::delete(conn, tenant_id, row.id).await?;
        Ok(cleared)
    })
    .await
}
