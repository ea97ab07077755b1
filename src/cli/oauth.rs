//! `roster connection create --auth oauth` and `roster connection oauth ...` (issue #13): a
//! connection's OAuth client — its credentials shown once, secret rotation with an overlap, the
//! `private_key_jwt` key, revocation.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use crate::config::Settings;
use crate::db::Conn;
use crate::directory::oauth::{self as clients, ClientKey, IssuedClient};
use crate::directory::tenants;
use crate::events::egress::Egress;

/// `roster connection oauth ...`
#[derive(Debug, Subcommand)]
pub enum OAuthCommand {
    /// Issue a new client secret (printed once); the previous one stays valid for the overlap.
    RotateSecret {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: Uuid,
        /// Seconds the previous secret stays valid (default ROSTER_OAUTH_SECRET_OVERLAP_SECS).
        #[arg(long)]
        overlap_secs: Option<u32>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Register the key `private_key_jwt` assertions are verified with (or remove it).
    SetKey {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: Uuid,
        /// The key; neither option removes it (the client then authenticates by secret only).
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Revoke the client: its secrets stop working and every access token it holds is revoked.
    Revoke {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: Uuid,
    },
}

/// Where a client's `private_key_jwt` public key comes from.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArgs {
    /// JWKS URL of the client (fetched under the webhook egress policy).
    #[arg(long, conflicts_with = "public_key_file")]
    pub jwks_url: Option<String>,
    /// File holding the client's public key: a JWK, a JWK Set or PEM.
    #[arg(long)]
    pub public_key_file: Option<PathBuf>,
}

impl KeyArgs {
    fn read(&self) -> anyhow::Result<ClientKey> {
        let public_key = match &self.public_key_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read --public-key-file {}: {e}", path.display()))?,
            ),
            None => None,
        };
        Ok(ClientKey { jwks_url: self.jwks_url.clone(), public_key })
    }
}

fn print_client(json_out: bool, settings: &Settings, tenant: &str, connection: Uuid, client: &IssuedClient) {
    let public = settings.public_base_url();
    let base_url = format!("{public}/scim/v2/{connection}");
    let token_endpoint = format!("{public}{}", crate::oauth::TOKEN_PATH);
    if json_out {
        println!(
            "{}",
            json!({"tenant": tenant, "connection": connection.to_string(), "auth": "oauth", "scim_base_url": base_url,
                   "token_endpoint": token_endpoint, "client_id": client.client_id, "client_secret": client.client_secret,
                   "previous_secret_valid_until": client.previous_valid_until})
        );
        return;
    }
    println!("Tenant:          {tenant}");
    println!("Connection:      {connection}");
    println!("SCIM base URL:   {base_url}   (Entra: Tenant URL)");
    println!("Token endpoint:  {token_endpoint}");
    println!("Client id:       {}", client.client_id);
    println!("Client secret:   {}", client.client_secret);
    if let Some(until) = client.previous_valid_until {
        println!("The previous secret stays valid until {until}.");
    }
    println!("The secret is shown only this once; Roster keeps only its digest.");
}

/// `roster connection create --auth oauth`.
pub async fn create(
    conn: &mut Conn,
    settings: &Settings,
    tenant: &str,
    name: &str,
    key: &KeyArgs,
    json_out: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let t = tenants::tenant(conn, tenant).await?;
    let egress = Egress::from_allow_private(settings.webhook_allow_private);
    let (c, client) = clients::create_connection(conn, &t, name, &key.read()?, egress, now).await?;
    print_client(json_out, settings, &t.slug, c.id, &client);
    Ok(())
}

/// Run `roster connection oauth ...`.
pub async fn run(
    conn: &mut Conn,
    settings: &Settings,
    command: OAuthCommand,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    match command {
        OAuthCommand::RotateSecret { tenant, connection, overlap_secs, json } => {
            let t = tenants::tenant(conn, &tenant).await?;
            let overlap = chrono::Duration::seconds(i64::from(
                overlap_secs.unwrap_or(settings.oauth_secret_overlap_secs),
            ));
            let client = clients::rotate_secret(conn, &t, connection, overlap, now).await?;
            print_client(json, settings, &t.slug, connection, &client);
        }
        OAuthCommand::SetKey { tenant, connection, key } => {
            let t = tenants::tenant(conn, &tenant).await?;
            let egress = Egress::from_allow_private(settings.webhook_allow_private);
            let key = key.read()?;
            let client_id = clients::set_key(conn, &t, connection, &key, egress).await?;
            match (&key.jwks_url, &key.public_key) {
                (None, None) => println!("Client {client_id} has no private_key_jwt key now (secret only)."),
                _ => {
                    println!("Client {client_id} now verifies private_key_jwt assertions with the given key.")
                }
            }
        }
        OAuthCommand::Revoke { tenant, connection } => {
            let t = tenants::tenant(conn, &tenant).await?;
            let n = clients::revoke_client(conn, &t, connection, now).await?;
            println!("Revoked the OAuth client of connection {connection} and {n} access token(s).");
        }
    }
    Ok(())
}
