//! `roster config check [--config F]`: validate the settings (file, environment, flags) and
//! print the effective values with their source, secrets masked.

use clap::{CommandFactory, Subcommand};

use crate::config::Settings;
use crate::config_file;

/// `roster config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective settings (secrets masked).
    Check,
}

/// Settings whose values are secrets: shown as set or not, never as they are.
const SECRETS: [&str; 3] = ["signing_key", "admin_token", "metrics_token"];
/// Shown for a secret that is set.
pub const MASK: &str = "********";

/// A database URL with its password masked.
fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(MASK));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => MASK.to_string(),
    }
}

/// The effective settings as `key = value  # source` lines, secrets masked.
pub fn effective(settings: &Settings) -> anyhow::Result<Vec<String>> {
    let values = serde_json::to_value(settings)?;
    let matches = super::Cli::command().ignore_errors(true).get_matches();
    let mut lines = Vec::new();
    for key in config_file::keys() {
        let value = values.get(&key.name).cloned().unwrap_or_default();
        let shown = match (key.name.as_str(), &value) {
            (_, serde_json::Value::Null) => "(not set)".to_string(),
            (name, _) if SECRETS.contains(&name) => format!("\"{MASK}\""),
            ("database_url", serde_json::Value::String(url)) => format!("\"{}\"", mask_url(url)),
            (_, v) => v.to_string(),
        };
        let source = match matches.value_source(&key.name) {
            Some(clap::parser::ValueSource::CommandLine) => "flag".to_string(),
            _ if config_file::from_file(&key.name) => "file".to_string(),
            Some(clap::parser::ValueSource::EnvVariable) => format!("environment {}", key.env),
            _ => "default".to_string(),
        };
        lines.push(format!("{} = {shown}  # {source}", key.name));
    }
    Ok(lines)
}

/// Run `roster config check`.
pub fn run(settings: &Settings, command: &ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Check => {
            match &settings.config {
                Some(path) => {
                    println!("# configuration file: {} (environment and flags override it)", path.display())
                }
                None => println!("# no configuration file (give one with --config or ROSTER_CONFIG)"),
            }
            for line in effective(settings)? {
                println!("{line}");
            }
            settings.validate()?;
            println!("# the configuration is valid");
        }
    }
    Ok(())
}
