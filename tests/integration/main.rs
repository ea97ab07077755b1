//! Integration tests: real HTTP against a server on port 0, backed by a real PostgreSQL
//! database that belongs to each test alone. All integration tests compile into this binary.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod admin;
mod admin_groups;
mod admin_members;
mod admin_scope;
mod admin_webhooks;
mod audit;
mod auth;
mod bulk;
mod caches;
mod categories;
mod cli;
mod column_rules;
mod conformance;
mod console;
mod console_browser;
mod console_webhooks;
mod discovery;
mod errors;
mod events;
mod filters;
mod fuzz;
mod groups;
mod hostile;
mod import;
mod import_rules;
mod isolation;
mod join;
mod limits;
mod member_rules;
mod metrics;
mod oauth;
mod oauth_jwt;
mod outage;
mod paging;
mod patch;
mod provisioning_log;
mod roles;
mod support;
mod tree;
mod users;
