//! `roster setup-link --tenant SLUG [--expires-in-hours N]`: a single-use, expiring console URL
//! for a tenant's IT contact (connection setup, tokens and the provisioning log only), printed
//! once.

use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::json;

use crate::db::Conn;
use crate::directory::{setup_links, tenants};

/// `roster setup-link ...`
#[derive(Debug, Args)]
pub struct SetupLinkArgs {
    /// Tenant slug.
    #[arg(long)]
    pub tenant: String,
    /// Hours until the link stops working (1 to 720; default 72).
    #[arg(long)]
    pub expires_in_hours: Option<u32>,
    /// Print one JSON object (id, tenant, url, expires_at).
    #[arg(long)]
    pub json: bool,
}

/// Run `roster setup-link`.
pub async fn run(
    conn: &mut Conn,
    args: SetupLinkArgs,
    public_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let t = tenants::tenant(conn, &args.tenant).await?;
    let link = setup_links::create(conn, &t, public_url, args.expires_in_hours, now).await?;
    if args.json {
        println!(
            "{}",
            json!({"id": link.id.to_string(), "tenant": t.slug, "url": link.url, "expires_at": link.expires_at})
        );
    } else {
        println!("Setup link for {}: {}", t.slug, link.url);
        println!(
            "It works once, until {} (UTC), and opens the console's connection pages only.",
            link.expires_at
        );
        println!("It is shown only this once; Roster keeps only a digest of it.");
    }
    Ok(())
}
