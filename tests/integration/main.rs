//! Integration tests: real HTTP against a server on port 0, backed by a real PostgreSQL
//! database that belongs to each test alone. All integration tests compile into this binary.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod admin;
mod admin_members;
mod admin_scope;
mod auth;
mod bulk;
mod caches;
mod categories;
mod cli;
mod conformance;
mod console;
mod console_browser;
mod discovery;
mod errors;
mod events;
mod filters;
mod fuzz;
mod groups;
mod hostile;
mod import;
mod limits;
mod outage;
mod patch;
mod provisioning_log;
mod roles;
mod support;
mod tree;
mod users;
