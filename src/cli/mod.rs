//! The command line: `serve`, `migrate`, `tenant`, `connection`, `token`, `admin-token`, `webhook`, `log`,
//! `import`, `setup-link`. Each command uses the same database as the server (starting the private cluster when
//! needed) and prints results for people, or one JSON object with `--json`.

mod admin_token;
mod config;
mod import;
mod log;
mod oauth;
mod setup_link;

pub use admin_token::AdminTokenCommand;
pub use config::ConfigCommand;
pub use import::{ImportCommand, MembersArgs};
pub use log::LogArgs;
pub use oauth::{KeyArgs, OAuthCommand};
pub use setup_link::SetupLinkArgs;

use chrono::Utc;
use clap::{Parser, Subcommand};
use serde_json::json;
use uuid::Uuid;

use crate::auth::SigningKey;
use crate::config::{token_expiry, Settings};
use crate::db::{self, tenants as store};
use crate::directory::tenants::{self, AdminError, IssuedToken};
use crate::events::egress::Egress;
use crate::startup::{Application, Database, Parts};

/// Roster: a SCIM 2.0 provisioning server.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub settings: Settings,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (on the embedded PostgreSQL unless DATABASE_URL is set).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage IdP connections of a tenant.
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// Manage connection tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage tenant admin tokens (admin API limited to one tenant).
    #[command(subcommand)]
    AdminToken(AdminTokenCommand),
    /// Manage a tenant's webhooks (where events are delivered).
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Show a tenant's provisioning log, newest first.
    Log(LogArgs),
    /// Import members from a spreadsheet (CSV or XLSX).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export members to a spreadsheet in the import's columns (CSV or XLSX).
    #[command(subcommand)]
    Export(import::ExportCommand),
    /// Print a single-use, expiring admin-console link for a tenant's IT contact.
    SetupLink(SetupLinkArgs),
    /// Check the configuration (file, environment, flags).
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `roster webhook ...`
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add a webhook; prints its signing secret once.
    Add {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Where events are POSTed (http:// or https://).
        #[arg(long)]
        url: String,
        /// `webhook`: Roster's JSON signed with Roster-Signature; `set`: Security Event Tokens
        /// (RFC 8417) pushed per RFC 8935, verifiable with /.well-known/jwks.json.
        #[arg(long, value_enum, default_value = "webhook")]
        format: crate::events::receivers::Format,
        /// The SET `aud` claim (`--format set` only; default: the URL).
        #[arg(long)]
        audience: Option<String>,
        /// Signing secret (16 to 200 characters; `--format webhook` only); generated when not given.
        #[arg(long)]
        secret: Option<String>,
        /// Print one JSON object (webhook, url, format, secret).
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's webhooks (never their secrets).
    List {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a webhook and its pending deliveries.
    Remove {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Webhook id (from `roster webhook list`).
        webhook_id: Uuid,
    },
}

/// `roster tenant ...`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// URL-safe unique name (a-z, 0-9, '-').
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Days a removed member can be re-provisioned under its old id before its personal
        /// data is scrubbed (default 30).
        #[arg(long, value_parser = clap::value_parser!(i32).range(0..=3650))]
        member_retention_days: Option<i32>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a tenant's member settings (only the options given change).
    Update {
        /// Tenant slug.
        slug: String,
        /// Days a removed member stays restorable before its personal data is scrubbed.
        #[arg(long, value_parser = clap::value_parser!(i32).range(0..=3650))]
        member_retention_days: Option<i32>,
        /// Whether new members get an invitation (`member.invitation_needed`): true or false.
        #[arg(long)]
        invite_new_members: Option<bool>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// `roster connection ...`
#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Create a connection and print its SCIM base URL and first token (or, with `--auth oauth`,
    /// its token endpoint, client id and client secret).
    Create {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Display name, e.g. "Entra ID".
        #[arg(long)]
        name: String,
        /// How the IdP authenticates: `bearer` (a static token) or `oauth` (client credentials).
        #[arg(long, value_parser = ["bearer", "oauth"], default_value = "bearer")]
        auth: String,
        /// `--auth oauth`: the client's key for private_key_jwt (optional).
        #[command(flatten)]
        key: KeyArgs,
        /// Print one JSON object (tenant, connection, scim_base_url, token).
        #[arg(long)]
        json: bool,
    },
    /// Manage the OAuth client of a connection created with `--auth oauth`.
    #[command(subcommand)]
    Oauth(OAuthCommand),
    /// Switch a connection between `tolerant` (accept IdP dialects, the default) and `strict`
    /// (RFC 7644 only: dialect inputs are rejected with the right scimType).
    Mode {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: Uuid,
        /// `tolerant` or `strict`.
        #[arg(value_parser = tenants::QUIRK_MODES)]
        mode: String,
    },
    /// List a tenant's connections.
    List {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `roster token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a new token for a connection.
    Issue {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Connection id.
        #[arg(long)]
        connection: Uuid,
        /// Free-text label.
        #[arg(long, default_value = "")]
        label: String,
        /// Expire the token after this many days (default: no expiry).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Print one JSON object (tenant, connection, scim_base_url, token).
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's tokens (ids and state only; tokens are never stored).
    List {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Only tokens of this connection.
        #[arg(long)]
        connection: Option<Uuid>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token; its next request is refused.
    Revoke {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Token id (from `roster token list`).
        token_id: Uuid,
    },
}

fn credentials_json(
    tenant: &str,
    connection: Uuid,
    base_url: &str,
    token: &IssuedToken,
) -> serde_json::Value {
    json!({
        "tenant": tenant,
        "connection": connection.to_string(),
        "scim_base_url": base_url,
        "token": token.token,
        "token_id": token.record.id.to_string(),
    })
}

fn print_credentials(json_out: bool, tenant: &str, connection: Uuid, base_url: &str, token: &IssuedToken) {
    if json_out {
        println!("{}", credentials_json(tenant, connection, base_url, token));
    } else {
        println!("Tenant:        {tenant}");
        println!("Connection:    {connection}");
        println!("SCIM base URL: {base_url}");
        println!("Bearer token:  {}", token.token);
        println!("Token id:      {}", token.record.id);
        println!("The token is shown only this once; Roster keeps only its id.");
    }
}

/// Run a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    if let Command::Config(command) = &cli.command {
        return config::run(&settings, command);
    }
    settings.validate()?;
    let database = Database::open(&settings).await?;
    seal_webhook_secrets(&settings, &database).await?;
    let result = match cli.command {
        Command::Serve => serve(&settings, &database).await,
        Command::Migrate => {
            println!("Migrations are up to date.");
            Ok(())
        }
        command => admin(&settings, &database, command).await,
    };
    database.close();
    result
}

/// Seal webhook secrets still stored in clear (written before they were sealed at rest).
async fn seal_webhook_secrets(settings: &Settings, database: &Database) -> anyhow::Result<()> {
    let key = SigningKey::load_or_create(settings.signing_key.as_deref(), &settings.data_dir)?;
    let keys = crate::events::keys::EventKeys::derive(&key);
    let pool = db::build_pool(&database.url, &db::PoolOptions { size: 1, ..settings.pool_options() })?;
    let mut conn = db::checkout(&pool, db::Scope::All).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let n = crate::events::receivers::seal_clear_secrets(&mut conn, &keys).await?;
    if n > 0 {
        tracing::info!(webhooks = n, "sealed webhook secrets stored in clear");
    }
    Ok(())
}

async fn serve(settings: &Settings, database: &Database) -> anyhow::Result<()> {
    let parts = Parts::from_settings(settings, &database.url)?;
    let pool = parts.pool.clone();
    let key = parts.signing_key.clone();
    let clock = parts.clock.clone();
    let app = Application::build(settings, parts)?;
    bootstrap_demo(app.public_url(), &pool, &key, settings.token_default_expiry_days).await?;
    let maintenance = crate::startup::spawn_maintenance(
        pool.clone(),
        settings.log_retention_days,
        settings.event_retention_days,
        clock.clone(),
    );
    let poll = std::time::Duration::from_millis(settings.events_poll_ms);
    let egress = Egress::from_allow_private(settings.webhook_allow_private);
    let client = crate::events::dispatch::client_with_ca(settings.webhook_ca_file.as_deref(), egress)?;
    let sender = crate::events::dispatch::Dispatcher::new(client, &key, app.public_url());
    let dispatcher = app.liveness().watch_dispatcher(crate::events::dispatch::spawn_dispatcher(
        pool,
        sender,
        clock,
        poll,
        Some(database.url.clone()),
    ));
    tracing::info!(port = app.port(), public_url = %app.public_url(), "Roster is listening");
    println!("Roster is listening on {} (Ctrl-C stops it).", app.public_url());
    let result = app.run_until_stopped().await;
    maintenance.abort();
    dispatcher.abort();
    result?;
    tracing::info!("Roster stopped");
    Ok(())
}

/// On an empty database, create a demo tenant and connection and print its credentials once.
async fn bootstrap_demo(
    public_url: &str,
    pool: &db::DbPool,
    key: &SigningKey,
    expiry_days: Option<u32>,
) -> anyhow::Result<()> {
    let mut conn = db::checkout(pool, db::Scope::All).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if store::any_tenant(&mut conn).await? {
        return Ok(());
    }
    let now = Utc::now();
    let tenant = match tenants::create_tenant(&mut conn, "demo", "Demo organization", None, now).await {
        Ok(t) => t,
        // Another process bootstrapped at the same moment.
        Err(AdminError::Invalid(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let (connection, token) = tenants::create_connection(
        &mut conn,
        key,
        &tenant,
        "Demo connection",
        token_expiry(expiry_days, now),
        now,
    )
    .await?;
    let base_url = format!("{public_url}/scim/v2/{}", connection.id);
    println!("Created a demo tenant and connection on this empty database.");
    print_credentials(false, &tenant.slug, connection.id, &base_url, &token);
    Ok(())
}

async fn admin(settings: &Settings, database: &Database, command: Command) -> anyhow::Result<()> {
    let key = SigningKey::load_or_create(settings.signing_key.as_deref(), &settings.data_dir)?;
    let pool = db::build_pool(&database.url, &db::PoolOptions { size: 1, ..settings.pool_options() })?;
    let mut conn = db::checkout(&pool, db::Scope::All).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let conn = &mut *conn;
    let now = Utc::now();
    let base = |c: Uuid| format!("{}/scim/v2/{c}", settings.public_base_url());
    match command {
        Command::Tenant(TenantCommand::Create { slug, name, member_retention_days, json }) => {
            let t = tenants::create_tenant(conn, &slug, &name, member_retention_days, now).await?;
            if json {
                println!("{}", json!({"tenant": t.slug, "id": t.id.to_string(), "name": t.name}));
            } else {
                println!("Created tenant {} ({}).", t.slug, t.name);
            }
        }
        Command::Tenant(TenantCommand::Update { slug, member_retention_days, invite_new_members, json }) => {
            let t = tenants::tenant(conn, &slug).await?;
            let change = tenants::MemberSettings { member_retention_days, invite_new_members, sso: None };
            let s = tenants::update_member_settings(conn, &t, change).await?;
            let (days, invite) =
                (s.member_retention_days.unwrap_or_default(), s.invite_new_members.unwrap_or(true));
            if json {
                println!(
                    "{}",
                    json!({"tenant": t.slug, "member_retention_days": days, "invite_new_members": invite})
                );
            } else {
                println!("Tenant {}: member retention {days} days, invite new members: {invite}.", t.slug);
            }
        }
        Command::Tenant(TenantCommand::List { json }) => {
            let all = store::list_tenants(conn).await?;
            if json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|t| json!({"tenant": t.slug, "id": t.id.to_string(), "name": t.name}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for t in all {
                    println!("{}\t{}\t{}", t.slug, t.id, t.name);
                }
            }
        }
        Command::Connection(ConnectionCommand::Create { tenant, name, auth, key, json })
            if auth == "oauth" =>
        {
            oauth::create(conn, settings, &tenant, &name, &key, json, now).await?
        }
        Command::Connection(ConnectionCommand::Create { tenant, name, key: client_key, json, .. }) => {
            anyhow::ensure!(
                client_key.jwks_url.is_none() && client_key.public_key_file.is_none(),
                "--jwks-url and --public-key-file need --auth oauth"
            );
            let t = tenants::tenant(conn, &tenant).await?;
            let expires = settings.token_expiry(None, now);
            let (c, token) = tenants::create_connection(conn, &key, &t, &name, expires, now).await?;
            print_credentials(json, &t.slug, c.id, &base(c.id), &token);
        }
        Command::Connection(ConnectionCommand::Oauth(command)) => {
            oauth::run(conn, settings, command, now).await?
        }
        Command::Connection(ConnectionCommand::Mode { tenant, connection, mode }) => {
            let t = tenants::tenant(conn, &tenant).await?;
            let c = tenants::set_quirk_mode(conn, &t, connection, &mode).await?;
            println!("Connection {} is now in {} mode.", c.id, c.quirk_mode);
        }
        Command::Connection(ConnectionCommand::List { tenant, json }) => {
            let t = tenants::tenant(conn, &tenant).await?;
            let all = store::list_connections(conn, t.id).await?;
            let oauth = db::oauth::oauth_connections(conn, t.id).await?;
            let auth = |c: &store::Connection| if oauth.contains(&c.id) { "oauth" } else { "bearer" };
            if json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|c| json!({"connection": c.id.to_string(), "name": c.name, "scim_base_url": base(c.id), "quirk_mode": c.quirk_mode, "auth": auth(c)}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for c in all {
                    println!("{}\t{}\t{}\t{}", c.id, c.name, auth(&c), base(c.id));
                }
            }
        }
        Command::Token(TokenCommand::Issue { tenant, connection, label, expires_in_days, json }) => {
            let t = tenants::tenant(conn, &tenant).await?;
            let c = tenants::connection(conn, &t, connection).await?;
            crate::directory::oauth::require_bearer(conn, &c).await?;
            let expires = settings.token_expiry(expires_in_days, now);
            let token = tenants::issue_token(conn, &key, &c, &label, expires, now).await?;
            print_credentials(json, &t.slug, c.id, &base(c.id), &token);
        }
        Command::Token(TokenCommand::List { tenant, connection, json }) => {
            let t = tenants::tenant(conn, &tenant).await?;
            let all = store::list_tokens(conn, t.id, connection).await?;
            let state = |r: &store::TokenRecord| match (r.revoked_at, r.expires_at) {
                (Some(_), _) => "revoked",
                (None, Some(e)) if e <= now => "expired",
                _ => "active",
            };
            if json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|r| json!({"token_id": r.id.to_string(), "connection": r.connection_id.to_string(), "label": r.label,
                        "state": state(r), "created_at": r.created_at, "expires_at": r.expires_at, "revoked_at": r.revoked_at}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for r in &all {
                    println!("{}\t{}\t{}\t{}\t{}", r.id, r.connection_id, state(r), r.created_at, r.label);
                }
            }
        }
        Command::Token(TokenCommand::Revoke { tenant, token_id }) => {
            let t = tenants::tenant(conn, &tenant).await?;
            tenants::revoke_token(conn, &t, token_id, now).await?;
            println!("Revoked token {token_id}; requests using it are refused from now on.");
        }
        Command::AdminToken(command) => {
            admin_token::run(conn, &key, command, settings.token_default_expiry_days, now).await?
        }
        Command::Webhook(command) => {
            let egress = Egress::from_allow_private(settings.webhook_allow_private);
            webhook(conn, &key, command, egress, now).await?
        }
        Command::Log(args) => log::run(conn, args).await?,
        Command::SetupLink(args) => setup_link::run(conn, args, &settings.public_base_url(), now).await?,
        Command::Import(command) => import::run(conn, command, settings.import_max_rows).await?,
        Command::Export(command) => import::export(conn, command).await?,
        Command::Serve | Command::Migrate | Command::Config(_) => {}
    }
    Ok(())
}

/// Run `roster webhook ...`. The secret is printed once, when added, and never again.
async fn webhook(
    conn: &mut db::Conn,
    key: &SigningKey,
    command: WebhookCommand,
    egress: Egress,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    use crate::db::webhooks as hooks;
    use crate::events::egress::display_url;
    use crate::events::receivers::{self, AddReceiver, Format};
    match command {
        WebhookCommand::Add { tenant, url, format, audience, secret, json } => {
            let t = tenants::tenant(conn, &tenant).await?;
            let keys = crate::events::keys::EventKeys::derive(key);
            let added = receivers::add(
                conn,
                &keys,
                t.id,
                AddReceiver { url: url.clone(), format, audience, secret },
                egress,
                now,
            )
            .await?;
            let id = added.id;
            if json {
                println!(
                    "{}",
                    json!({"tenant": t.slug, "webhook": id.to_string(), "url": url, "format": format.as_str(),
                           "secret": added.secret})
                );
            } else {
                println!("Webhook:  {id}");
                println!("URL:      {url}");
                println!("Format:   {}", format.as_str());
                match (&added.secret, format) {
                    (Some(secret), _) => {
                        println!("Secret:   {secret}");
                        println!("The secret is shown only this once; use it to verify Roster-Signature.");
                    }
                    (None, Format::Set | Format::Webhook) => {
                        println!(
                            "SETs are signed ES256; verify them with <public URL>/.well-known/jwks.json."
                        );
                    }
                }
            }
        }
        WebhookCommand::List { tenant, json } => {
            let t = tenants::tenant(conn, &tenant).await?;
            let all = hooks::list(conn, t.id).await?;
            if json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|w| {
                        json!({"webhook": w.id.to_string(), "url": display_url(&w.url), "format": w.format,
                        "audience": w.audience, "active": w.active, "created_at": w.created_at,
                        "circuit": w.circuit(now).as_str(), "consecutive_failures": w.consecutive_failures,
                        "paused_until": w.paused_until, "last_error": w.last_error,
                        "last_success_at": w.last_success_at})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for w in &all {
                    let state = if w.active { "active" } else { "inactive" };
                    let circuit = match (w.circuit(now), &w.last_error) {
                        (hooks::Circuit::Healthy, _) => "healthy".to_string(),
                        (c, error) => format!(
                            "{} ({} failed rounds; last error: {})",
                            c.as_str(),
                            w.consecutive_failures,
                            error.as_deref().unwrap_or("-")
                        ),
                    };
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        w.id,
                        state,
                        w.format,
                        w.created_at,
                        display_url(&w.url),
                        circuit
                    );
                }
            }
        }
        WebhookCommand::Remove { tenant, webhook_id } => {
            let t = tenants::tenant(conn, &tenant).await?;
            anyhow::ensure!(
                hooks::delete(conn, t.id, webhook_id).await?,
                "no webhook {webhook_id} in tenant {}",
                t.slug
            );
            println!("Removed webhook {webhook_id}; its pending deliveries are dropped.");
        }
    }
    Ok(())
}
