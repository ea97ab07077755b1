//! `/admin/v1/tenants/{tenant}/log`: the provisioning log, filtered and paged.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::TenantScope;
use crate::db::provisioning_log::{self as store, LogQuery, Outcome, Position};
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

/// Parse a listing's `after` cursor (`<time>_<id>`, see [`next_cursor`]).
pub(crate) fn position(after: &str) -> ScimResult<Position> {
    let bad = || ScimError::invalid_value("after must be the `next` value of a previous page");
    let (at, id) = after.split_once('_').ok_or_else(bad)?;
    Ok(Position {
        at: DateTime::parse_from_rfc3339(at).map_err(|_| bad())?.with_timezone(&Utc),
        id: Uuid::parse_str(id).map_err(|_| bad())?,
    })
}

/// A page of the log.
#[derive(Debug, Serialize)]
pub struct LogPage {
    /// Newest first, each as `roster log --json` shows it.
    pub entries: Vec<serde_json::Value>,
    /// Pass as `after` for the next page (null: no more).
    pub next: Option<String>,
}

/// A listing's `outcome` filter: `success` (status below 400) or `failure`.
pub(super) fn outcome(raw: Option<&str>) -> ScimResult<Option<Outcome>> {
    match raw {
        None => Ok(None),
        Some("success") => Ok(Some(Outcome::Success)),
        Some("failure") => Ok(Some(Outcome::Failure)),
        Some(other) => Err(ScimError::invalid_value(format!(
            "outcome must be success or failure, not {}",
            crate::text::quote(other)
        ))),
    }
}

/// The `after` cursor that continues a newest-first listing after the entry (`at`, `id`).
pub(super) fn next_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}_{id}", at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// GET .../log?connection=&resource=&outcome=failure&since=&until=&limit=&after= — newest first.
pub async fn list(
    scope: TenantScope,
    query: web::Query<Params>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let q = query.into_inner();
    let outcome = outcome(q.outcome.as_deref())?;
    let limit = q.limit.unwrap_or(50).clamp(1, store::MAX_LIMIT);
    let after = q.after.as_deref().map(position).transpose()?;
    let mut conn = scope.conn(&state).await?;
    let tenant = &scope.tenant;
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
    Ok(HttpResponse::Ok().json(LogPage { entries: entries.iter().map(view::json).collect(), next }))
}

/// The `next` value after a page of `limit` entries (none when the page was not full).
pub(crate) fn next_page(entries: &[store::Entry], limit: i64) -> Option<String> {
    (entries.len() as i64 == limit).then(|| entries.last().map(|e| next_cursor(e.at, e.id))).flatten()
}
