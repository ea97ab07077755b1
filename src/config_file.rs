//! The TOML configuration file (`--config roster.toml` or `ROSTER_CONFIG`): every setting of
//! [`Settings`] under its snake_case name (`listen = "0.0.0.0:8080"`, `db_pool_size = 32`,
//! `webhook_allow_private = true`). The file is read before the command line is parsed and each
//! of its values becomes the setting's environment variable unless that variable is already
//! set, so the precedence is: flag, then environment, then file, then default. A key that is
//! not a setting, or a value that is not a string, number or boolean, is an error.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::Args;

use crate::config::{ConfigError, Settings};

/// The environment variable naming the file when `--config` is not given.
pub const CONFIG_ENV: &str = "ROSTER_CONFIG";

/// Keys whose values came from the file in this process (for `roster config check`).
static FROM_FILE: OnceLock<Vec<String>> = OnceLock::new();

/// One setting: its key in the file and its environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key in the file (the field name).
    pub name: String,
    /// The environment variable.
    pub env: String,
}

/// Every setting that may appear in the file.
pub fn keys() -> Vec<Key> {
    let command = Settings::augment_args(clap::Command::new("roster"));
    command
        .get_arguments()
        .filter_map(|arg| {
            let env = arg.get_env()?.to_str()?.to_string();
            let name = arg.get_id().as_str().to_string();
            (name != "config").then_some(Key { name, env })
        })
        .collect()
}

/// The file named by `--config F` / `--config=F` in `args`, else by `ROSTER_CONFIG`.
pub fn path_from(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
        if text == "--" {
            break;
        }
    }
    std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Read a file into (key, value-as-text) pairs, refusing unknown keys and non-scalar values.
pub fn read(path: &Path) -> Result<Vec<(Key, String)>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read the configuration file {}: {e}", path.display())))?;
    parse(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
}

/// Parse the text of a configuration file (see [`read`]).
pub fn parse(text: &str) -> Result<Vec<(Key, String)>, ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError(format!("not valid TOML: {e}")))?;
    let known = keys();
    let mut out = Vec::new();
    for (name, value) in table {
        let key = known.iter().find(|k| k.name == name).cloned().ok_or_else(|| {
            let hint = if name == "config" { " (a file cannot name another file)" } else { "" };
            ConfigError(format!(
                "unknown setting {name:?}{hint}; settings are named like their flags with underscores, \
                 e.g. db_pool_size (see `roster --help`)"
            ))
        })?;
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => return Err(ConfigError(format!("{name} must be a string, a number or a boolean"))),
        };
        out.push((key, text));
    }
    Ok(out)
}

/// Load the file named in `args` (or by `ROSTER_CONFIG`), if any, into the environment: each
/// value becomes its setting's variable unless the environment already sets it. Call it before
/// parsing the command line and before any other thread starts (it sets environment variables).
/// Returns the file used.
pub fn apply(args: &[OsString]) -> Result<Option<PathBuf>, ConfigError> {
    let Some(path) = path_from(args) else { return Ok(None) };
    let mut applied = Vec::new();
    for (key, value) in read(&path)? {
        if std::env::var_os(&key.env).is_none() {
            std::env::set_var(&key.env, value);
            applied.push(key.name);
        }
    }
    let _ = FROM_FILE.set(applied);
    Ok(Some(path))
}

/// Whether the setting `name` took its value from the configuration file.
pub fn from_file(name: &str) -> bool {
    FROM_FILE.get().is_some_and(|keys| keys.iter().any(|k| k == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_a_key_and_values_become_text() {
        let names: Vec<String> = keys().into_iter().map(|k| k.name).collect();
        for name in ["listen", "database_url", "db_pool_size", "metrics_token", "oauth_token_lifetime_secs"] {
            assert!(names.contains(&name.to_string()), "{name}");
        }
        assert!(!names.contains(&"config".to_string()));
        let parsed =
            parse("listen = \"0.0.0.0:9\"\ndb_pool_size = 7\nwebhook_allow_private = true\n").unwrap();
        let pairs: Vec<(String, String)> = parsed.into_iter().map(|(k, v)| (k.env, v)).collect();
        assert!(pairs.contains(&("ROSTER_LISTEN".into(), "0.0.0.0:9".into())));
        assert!(pairs.contains(&("ROSTER_DB_POOL_SIZE".into(), "7".into())));
        assert!(pairs.contains(&("ROSTER_WEBHOOK_ALLOW_PRIVATE".into(), "true".into())));
    }

    #[test]
    fn unknown_keys_tables_and_bad_toml_are_errors() {
        assert!(parse("db_pool_sise = 3").unwrap_err().0.contains("unknown setting \"db_pool_sise\""));
        assert!(parse("config = \"x.toml\"").unwrap_err().0.contains("another file"));
        assert!(parse("[listen]\nx = 1").unwrap_err().0.contains("string, a number or a boolean"));
        assert!(parse("listen = ").unwrap_err().0.contains("not valid TOML"));
    }

    #[test]
    fn the_path_comes_from_the_flag() {
        let args: Vec<OsString> =
            ["roster", "--config", "a.toml", "serve"].iter().map(OsString::from).collect();
        assert_eq!(path_from(&args), Some(PathBuf::from("a.toml")));
        let args: Vec<OsString> = ["roster", "--config=b.toml"].iter().map(OsString::from).collect();
        assert_eq!(path_from(&args), Some(PathBuf::from("b.toml")));
    }
}
