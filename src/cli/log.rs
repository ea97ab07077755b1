//! `roster log`: a tenant's provisioning log, newest first, filtered by connection, resource,
//! outcome and time.

use chrono::{DateTime, Utc};
use clap::Args;
use uuid::Uuid;

use crate::db::provisioning_log::{self as store, LogQuery, Outcome, MAX_LIMIT};
use crate::db::Conn;
use crate::directory::tenants;
use crate::provisioning::view;

/// `roster log ...`
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Tenant slug.
    #[arg(long)]
    pub tenant: String,
    /// Only requests of this connection.
    #[arg(long)]
    pub connection: Option<Uuid>,
    /// Only requests about this resource (User or Group id).
    #[arg(long)]
    pub resource: Option<Uuid>,
    /// Only failed requests (status 400 and above).
    #[arg(long, conflicts_with = "successes")]
    pub failures: bool,
    /// Only successful requests.
    #[arg(long)]
    pub successes: bool,
    /// Only requests at or after this time (RFC 3339, e.g. 2026-11-23T08:00:00Z).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only requests before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// How many entries to print (at most 1000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=MAX_LIMIT))]
    pub limit: i64,
    /// Print a JSON array.
    #[arg(long)]
    pub json: bool,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("expected an RFC 3339 time such as 2026-11-23T08:00:00Z: {e}"))
}

/// Print the entries `args` select.
pub async fn run(conn: &mut Conn, args: LogArgs) -> anyhow::Result<()> {
    let tenant = tenants::tenant(conn, &args.tenant).await?;
    let outcome = match (args.failures, args.successes) {
        (true, _) => Some(Outcome::Failure),
        (_, true) => Some(Outcome::Success),
        _ => None,
    };
    let query = LogQuery {
        connection: args.connection,
        resource_id: args.resource,
        outcome,
        since: args.since,
        until: args.until,
        after: None,
        limit: args.limit,
    };
    let entries = store::list(conn, tenant.id, &query).await?;
    if args.json {
        println!("{}", serde_json::Value::Array(entries.iter().map(view::json).collect()));
    } else {
        for entry in &entries {
            println!("{}", view::line(entry));
        }
    }
    Ok(())
}
