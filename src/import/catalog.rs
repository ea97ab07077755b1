//! The categories an import reads and creates: the directory's own category model and rules
//! (`directory::categories`), so an import defines a category exactly as the admin API does.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::Conn;
use crate::directory::categories::{self, NewCategory};
use crate::error::ScimResult;
use crate::scim::schema::Registry;
pub use crate::scim::schema::{Category, CategoryKind as Kind};

/// A tenant's categories.
pub async fn load(conn: &mut Conn, tenant_id: Uuid) -> ScimResult<Vec<Category>> {
    Ok(categories::list_categories(conn, tenant_id).await?.into_iter().map(|r| r.category).collect())
}

/// Create a category (in the caller's transaction), validated like one the admin API creates.
pub async fn insert(
    conn: &mut Conn,
    tenant_id: Uuid,
    category: &Category,
    now: DateTime<Utc>,
) -> ScimResult<()> {
    let new = NewCategory {
        name: category.name.clone(),
        display_name: Some(category.display_name.clone()),
        kind: category.kind.as_str().to_string(),
        allowed_values: category.allowed_values.clone(),
        source: category.source.clone(),
    };
    categories::create_category(conn, &Registry::standard(), tenant_id, new, now).await.map(drop)
}
