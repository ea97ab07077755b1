//! The SCIM protocol core: pure data and functions, no HTTP framework and no database.
//!
//! Schemas and validation (`schema`), resource rendering and versions (`resource`), list and
//! query parameters (`list`), bulk messages (`bulk`), and the discovery documents (`discovery`).

pub mod bulk;
pub mod cursor;
pub mod discovery;
pub mod filter;
pub mod list;
pub mod patch;
pub mod resource;
pub mod roles;
pub mod schema;
