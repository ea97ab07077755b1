//! `/admin/v1/tenants/{tenant}/log`: the provisioning log, filtered and paged.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{tenant, AdminCaller};
use crate::db::provisioning_log::{self as store, LogQuery, Outcome, Position};
use crate::db::{self};
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;
use crate::provisioning::view;

/// Query of the log listing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Only this connection.
    pub connection: Option<Uuid>,
    /// Only requests about this resource.
    pub resource: Option<Uuid>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// At or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
    /// Page size (default 50, at most 1000).
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
}

/// The keyset position a `next` value names.
pub(crate) fn position(after: &str) -> ScimResult<Position> {
    let bad = || ScimError::invalid_value("after must be the `next` value of a previous page");
    let (at, id) = after.split_once('_').ok_or_else(bad)?;
    Ok(Position {
        at: DateTime::parse_from_rfc3339(at).map_err(|_| bad())?.with_timezone(&Utc),
        id: Uuid::parse_str(id).map_err(|_| bad())?,
    })
}

/// GET .../log?connection=&resource=&outcome=failure&since=&until=&limit=&after= — newest first.
pub async fn list(
    caller: AdminCaller,
    path: web::Path<String>,
    query: web::Query<Params>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    caller.for_tenant(&path)?;
    let q = query.into_inner();
    let outcome = match q.outcome.as_deref() {
        None => None,
        Some("success") => Some(Outcome::Success),
        Some("failure") => Some(Outcome::Failure),
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "outcome must be success or failure, not {other:?}"
            )))
        }
    };
    let limit = q.limit.unwrap_or(50).clamp(1, store::MAX_LIMIT);
    let after = q.after.as_deref().map(position).transpose()?;
    let mut conn = db::checkout(&state.pool).await?;
    let tenant = tenant(&mut conn, &path).await?;
    let query = LogQuery {
        connection: q.connection,
        resource_id: q.resource,
        outcome,
        since: q.since,
        until: q.until,
        after,
        limit,
    };
    let entries = store::list(&mut conn, tenant.id, &query).await?;
    let next = next_page(&entries, limit);
    Ok(HttpResponse::Ok().json(json!({
        "entries": entries.iter().map(view::json).collect::<Vec<_>>(),
        "next": next,
    })))
}

/// The `next` value after a page of `limit` entries (none when the page was not full).
pub(crate) fn next_page(entries: &[store::Entry], limit: i64) -> Option<String> {
    (entries.len() as i64 == limit)
        .then(|| {
            entries
                .last()
                .map(|e| format!("{}_{}", e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), e.id))
        })
        .flatten()
}
