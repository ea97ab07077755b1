//! The admin side of the doors (through the admin API), one transaction per operation:
//! [`links`] (join settings, the tenant invitation link, access links, email invitations),
//! [`prestored`] (pre-stored registrations, one by one or from a CSV/XLSX file) and
//! [`requests`] (decisions on access requests).

pub mod links;
pub mod prestored;
pub mod requests;

pub use links::*;
pub use prestored::*;
pub use requests::*;

use uuid::Uuid;

use crate::db::Conn;
use crate::error::{ScimError, ScimResult};

/// Most links, invitations, records or requests one list returns.
pub const MAX_LIST: i64 = 1000;
/// Most addresses one invitation call takes.
pub const MAX_INVITATIONS: usize = 500;
/// Longest expiry of a link, in days.
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// The groups a link or record assigns, each of which must exist in the tenant (400 otherwise).
async fn checked_groups(conn: &mut Conn, tenant: Uuid, groups: &[Uuid]) -> ScimResult<Vec<Option<Uuid>>> {
    if groups.len() > 100 {
        return Err(ScimError::invalid_value("groups: at most 100"));
    }
    let found = crate::db::groups::existing_ids(conn, tenant, groups).await?;
    match groups.iter().find(|g| !found.contains(g)) {
        Some(missing) => Err(ScimError::invalid_value(format!("groups: no Group {missing} in this tenant"))),
        None => Ok(groups.iter().copied().map(Some).collect()),
    }
}
