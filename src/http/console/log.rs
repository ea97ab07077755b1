//! *Provisioning log*: a tenant's log with filters (connection, outcome, resource, time), keyset
//! paging (the admin API's `next` values), and each entry's detail — operation, status,
//! `scimType`, detail, the tolerance rules that fired.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{self, page, time, Frame};
use super::session::{Area, Session};
use super::ConsoleResult;
use crate::db;
use crate::db::provisioning_log::{self as log_store, Entry, LogQuery, Outcome};
use crate::error::ScimError;
use crate::http::admin::log::{next_page, position};
use crate::http::AppState;

/// Log entries per page.
const PAGE: i64 = 50;

/// The log page's filters.
#[derive(Deserialize, Default)]
pub struct LogFilters {
    #[serde(default)]
    connection: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    after: String,
}

/// A time filter: RFC 3339, or a browser's `datetime-local` value taken as UTC.
fn when(name: &str, raw: &str) -> ConsoleResult<Option<DateTime<Utc>>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Ok(Some(t.and_utc()));
        }
    }
    Err(ScimError::invalid_value(format!("{name} must be a date and time such as 2026-12-05T09:30 (UTC)"))
        .into())
}

fn optional_id(name: &str, raw: &str) -> ConsoleResult<Option<Uuid>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    Ok(Some(Uuid::parse_str(raw).map_err(|_| ScimError::invalid_value(format!("{name} must be an id")))?))
}

impl LogFilters {
    fn query(&self) -> ConsoleResult<LogQuery> {
        let outcome = match self.outcome.as_str() {
            "" => None,
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            _ => return Err(ScimError::invalid_value("outcome must be success or failure").into()),
        };
        let after = if self.after.is_empty() { None } else { Some(position(&self.after)?) };
        Ok(LogQuery {
            connection: optional_id("connection", &self.connection)?,
            resource_id: optional_id("resource", &self.resource)?,
            outcome,
            since: when("since", &self.since)?,
            until: when("until", &self.until)?,
            after,
            limit: PAGE,
        })
    }

    /// This page's query string with `after` replaced.
    fn with_after(&self, after: &str) -> String {
        serde_urlencoded::to_string([
            ("connection", self.connection.as_str()),
            ("outcome", self.outcome.as_str()),
            ("resource", self.resource.as_str()),
            ("since", self.since.as_str()),
            ("until", self.until.as_str()),
            ("after", after),
        ])
        .unwrap_or_default()
    }
}

/// GET /console/t/{t}/log?connection=&outcome=&resource=&since=&until=&after=
pub async fn list(
    session: Session,
    path: web::Path<String>,
    filters: web::Query<LogFilters>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let query = filters.query()?;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Connections).await?;
    let connections = db::tenants::list_connections(&mut conn, t.id).await?;
    let entries = log_store::list(&mut conn, t.id, &query).await?;
    let next = next_page(&entries, PAGE);
    let f = &*filters;
    Ok(layout::respond(page(
        "Provisioning log",
        Frame::tenant(&session, &t.slug, "Provisioning log"),
        html! {
            h1 { "Provisioning log" }
            form.filters method="get" action={ "/console/t/" (t.slug) "/log" } {
                label { "Connection"
                    select name="connection" {
                        option value="" { "all" }
                        @for c in &connections {
                            option value=(c.id) selected[f.connection == c.id.to_string()] { (c.name) }
                        }
                    }
                }
                label { "Outcome"
                    select name="outcome" {
                        option value="" { "all" }
                        option value="success" selected[f.outcome == "success"] { "success" }
                        option value="failure" selected[f.outcome == "failure"] { "failure" }
                    }
                }
                label { "Resource id" input type="text" name="resource" value=(f.resource) size="36"; }
                label { "Since (UTC)" input type="datetime-local" name="since" value=(f.since); }
                label { "Until (UTC)" input type="datetime-local" name="until" value=(f.until); }
                button type="submit" { "Filter" }
            }
            (log_table(&entries))
            @if let Some(next) = next {
                p { a href={ "/console/t/" (t.slug) "/log?" (f.with_after(&next)) } { "Older entries →" } }
            }
        },
    )))
}

/// Log entries, each with its detail behind a disclosure.
pub fn log_table(entries: &[Entry]) -> Markup {
    html! {
        @if entries.is_empty() { p.muted { "No requests logged." } } @else {
            table.log {
                tr { th { "Time (UTC)" } th { "Request" } th { "Status" } th { "Detail" } }
                @for e in entries {
                    tr.log-entry {
                        td { (time(e.at)) }
                        td { code { (e.method) } " " (e.operation) }
                        td { span.pill.ok[!e.failed()].bad[e.failed()] { (e.status) } }
                        td {
                            details {
                                summary { @if let Some(d) = &e.detail { (truncate(d, 80)) } @else { "details" } }
                                dl.facts {
                                    dt { "Operation" } dd { code { (e.method) } " " (e.operation) }
                                    dt { "Status" } dd { (e.status) }
                                    dt { "scimType" } dd { (e.scim_type.as_deref().unwrap_or("—")) }
                                    dt { "Detail" } dd.detail { (e.detail.as_deref().unwrap_or("—")) }
                                    dt { "Resource" } dd {
                                        (e.resource_type.as_deref().unwrap_or("—")) " "
                                        @if let Some(id) = e.resource_id { code { (id) } }
                                    }
                                    dt { "Tolerance rules" } dd {
                                        @if e.rules.is_empty() { "none" } @else {
                                            @for r in &e.rules { code { (r) } " " }
                                        }
                                    }
                                    dt { "Request id" } dd { code { (e.request_id) } }
                                    dt { "Latency" } dd { (format!("{:.1}", e.latency_ms)) " ms" }
                                    dt { "Source" } dd { (e.source) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_filters_take_rfc3339_or_a_browsers_local_time_as_utc() {
        let at = |s: &str| when("since", s).unwrap().map(|t| t.to_rfc3339());
        assert_eq!(at(""), None);
        assert_eq!(at("2026-12-05T09:30").as_deref(), Some("2026-12-05T09:30:00+00:00"));
        assert_eq!(at("2026-12-05T09:30:15").as_deref(), Some("2026-12-05T09:30:15+00:00"));
        assert_eq!(at("2026-12-05T10:30:00+01:00").as_deref(), Some("2026-12-05T09:30:00+00:00"));
        assert!(when("since", "yesterday").is_err());
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("ab", 3), "ab");
    }
}
