//! Roster: a SCIM 2.0 service provider (RFC 7643, RFC 7644, RFC 9865) that maps identity
//! providers' users and groups onto an organization's directory in PostgreSQL.
//!
//! Module map (see DESIGN.md §3): `scim` is the pure protocol core; `directory` holds the
//! lifecycle rules, one transaction per operation; `db` is the only place that speaks SQL;
//! `http` is the thin actix-web layer; `provisioning` records every SCIM request in the
//! provisioning log; `events` delivers the outbox of directory changes to webhooks;
//! `cache` keeps tenant settings in process, checked fresh by every token check; `startup`,
//! `config`, `telemetry`, `local_pg` and `cli` run the process; `text` checks and quotes text at
//! the edges (what PostgreSQL can store, what error details may echo).

pub mod audit;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod config_file;
pub mod db;
pub mod directory;
pub mod error;
pub mod events;
pub mod http;
pub mod import;
pub mod local_pg;
pub mod oauth;
pub mod provisioning;
pub mod scim;
pub mod startup;
pub mod telemetry;
pub mod text;

#[cfg(test)]
mod fuzz;
