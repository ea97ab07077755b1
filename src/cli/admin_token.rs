//! `roster admin-token issue|list|revoke --tenant <slug>`: tenant admin tokens for the admin API.
//! A token is printed once, on issue; Roster keeps only its id.

use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use crate::auth::SigningKey;
use crate::db::{admin_tokens as store, Conn};
use crate::directory::{admin_tokens, tenants};

/// `roster admin-token ...`
#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Issue an admin API token limited to one tenant; printed once.
    Issue {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Free-text label.
        #[arg(long, default_value = "")]
        label: String,
        /// Expire the token after this many days (default: no expiry).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        expires_in_days: Option<u32>,
        /// Print one JSON object (tenant, token_id, token, expires_at).
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's admin tokens (ids, labels and state; never tokens).
    List {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an admin token; its next request gets 401.
    Revoke {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Admin token id (from `roster admin-token list`).
        token_id: Uuid,
    },
}

/// Run `roster admin-token ...`.
pub async fn run(
    conn: &mut Conn,
    key: &SigningKey,
    command: AdminTokenCommand,
    default_expiry_days: Option<u32>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    match command {
        AdminTokenCommand::Issue { tenant, label, expires_in_days, json } => {
            let t = tenants::tenant(conn, &tenant).await?;
            let expires = crate::config::token_expiry(expires_in_days.or(default_expiry_days), now);
            let issued = admin_tokens::issue(conn, key, &t, &label, expires, now).await?;
            if json {
                println!(
                    "{}",
                    json!({"tenant": t.slug, "token_id": issued.record.id.to_string(), "token": issued.token,
                           "label": issued.record.label, "expires_at": issued.record.expires_at})
                );
            } else {
                println!("Tenant:        {}", t.slug);
                println!("Admin token:   {}", issued.token);
                println!("Token id:      {}", issued.record.id);
                println!("Use it as `Authorization: Bearer <token>` on /admin/v1/tenants/{}/...", t.slug);
                println!("The token is shown only this once; Roster keeps only its id.");
            }
        }
        AdminTokenCommand::List { tenant, json } => {
            let t = tenants::tenant(conn, &tenant).await?;
            let all = store::list(conn, t.id).await?;
            if json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|r| {
                        json!({"token_id": r.id.to_string(), "label": r.label, "state": r.state(now),
                        "created_at": r.created_at, "expires_at": r.expires_at, "revoked_at": r.revoked_at})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for r in &all {
                    println!("{}\t{}\t{}\t{}", r.id, r.state(now), r.created_at, r.label);
                }
            }
        }
        AdminTokenCommand::Revoke { tenant, token_id } => {
            let t = tenants::tenant(conn, &tenant).await?;
            admin_tokens::revoke(conn, &t, token_id, now).await?;
            println!("Revoked admin token {token_id}; requests using it are refused from now on.");
        }
    }
    Ok(())
}
