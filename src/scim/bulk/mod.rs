//! `/Bulk` messages (RFC 7644 §3.7): a BulkRequest parsed into typed operations, the bulkId
//! references between them and the order that honours them ([`plan`]), and the BulkResponse
//! ([`response`]). Pure: running the operations against the directory is `directory::bulk`.
//!
//! What is an error of the whole request and what is an error of one operation:
//! * The whole request is answered 400 `invalidSyntax` when it is not a BulkRequest: not an
//!   object, `schemas` without the BulkRequest URN, `Operations` missing or not an array, an
//!   operation that is not an object, `failOnErrors` not an integer ≥ 1, or two POSTs declaring
//!   the same bulkId (every reference to it would be ambiguous). More operations than
//!   `maxOperations` is 413.
//! * Anything else is that operation's own error, answered as the same request sent alone
//!   would be: an unknown endpoint is 404, a method the path does not take is 405, an id
//!   Roster did not issue is 404, a malformed `version` is 400, and a missing `method`, `path`,
//!   `data` or (for POST) `bulkId` is 400 `invalidSyntax`.
//!
//! Decisions where RFC 7644 is silent are documented on [`plan`] and in `plan.rs`.

mod plan;
mod response;
#[cfg(test)]
mod tests;

pub use plan::{plan, Resolver, Step};
pub use response::{response, Entry, Outcome};

use std::collections::HashMap;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{ScimError, ScimResult};
use crate::scim::resource::{resource_id, EntityTags};
use crate::scim::schema::ResourceKind;

/// Schema URN of a bulk request.
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// Schema URN of a bulk response.
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The prefix that turns a string value into a reference to a POST of the same request.
pub const BULK_ID_PREFIX: &str = "bulkId:";

/// Limits on one bulk request, advertised in ServiceProviderConfig and enforced (413).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    /// Most operations in one request.
    pub max_operations: usize,
    /// Largest request body, in bytes.
    pub max_payload_bytes: usize,
}

/// The HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Create.
    Post,
    /// Replace.
    Put,
    /// Modify.
    Patch,
    /// Delete.
    Delete,
}

impl Method {
    /// Parse a method name, in any case.
    pub fn parse(raw: &str) -> Option<Method> {
        [Method::Post, Method::Put, Method::Patch, Method::Delete]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(raw))
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// The resource a PUT, PATCH or DELETE addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A resource id.
    Id(Uuid),
    /// The resource created by the POST of this request that declared this bulkId.
    BulkId(String),
}

/// What an operation does. `T` is the target: a [`Target`] as parsed, a [`Uuid`] once the
/// bulkId references have been resolved.
#[derive(Debug, Clone)]
pub enum Action<T = Target> {
    /// POST to `/Users` or `/Groups`.
    Create {
        /// Resource type.
        kind: ResourceKind,
        /// The resource, as in a single POST.
        data: Value,
    },
    /// PUT to a resource.
    Replace {
        /// Resource type.
        kind: ResourceKind,
        /// The resource replaced.
        id: T,
        /// `version`, used as `If-Match`.
        if_match: Option<EntityTags>,
        /// The resource, as in a single PUT.
        data: Value,
    },
    /// PATCH of a resource.
    Patch {
        /// Resource type.
        kind: ResourceKind,
        /// The resource modified.
        id: T,
        /// `version`, used as `If-Match`.
        if_match: Option<EntityTags>,
        /// The PatchOp message, as in a single PATCH.
        data: Value,
    },
    /// DELETE of a resource.
    Delete {
        /// Resource type.
        kind: ResourceKind,
        /// The resource deleted.
        id: T,
        /// `version`, used as `If-Match`.
        if_match: Option<EntityTags>,
    },
}

impl<T> Action<T> {
    /// The resource type the operation addresses.
    pub fn kind(&self) -> ResourceKind {
        match self {
            Action::Create { kind, .. }
            | Action::Replace { kind, .. }
            | Action::Patch { kind, .. }
            | Action::Delete { kind, .. } => *kind,
        }
    }

    /// The addressed resource, for everything but a POST.
    pub fn id(&self) -> Option<&T> {
        match self {
            Action::Create { .. } => None,
            Action::Replace { id, .. } | Action::Patch { id, .. } | Action::Delete { id, .. } => Some(id),
        }
    }
}

/// What the response and the log repeat of an operation, whatever became of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The method: canonical when recognised, as sent otherwise.
    pub method: Option<String>,
    /// The bulkId, as sent.
    pub bulk_id: Option<String>,
    /// The path, as sent (logged, not echoed).
    pub path: Option<String>,
}

/// One operation of a bulk request.
#[derive(Debug)]
pub struct Operation {
    /// Method, bulkId and path as sent.
    pub envelope: Envelope,
    /// What to do, or why it cannot be done (this operation's error response).
    pub action: ScimResult<Action>,
    /// bulkIds this operation refers to (in `path` and anywhere in `data`), each once.
    pub references: Vec<String>,
}

impl Operation {
    /// Whether this operation is a POST that declares a bulkId (even one that will fail).
    fn declares(&self) -> Option<&str> {
        let post = self.envelope.method.as_deref().and_then(Method::parse) == Some(Method::Post);
        self.envelope.bulk_id.as_deref().filter(|id| post && !id.is_empty())
    }
}

/// A parsed bulk request.
#[derive(Debug)]
pub struct BulkRequest {
    /// Stop after this many failed operations (`failOnErrors`); `None` runs everything.
    pub fail_on_errors: Option<usize>,
    /// The operations in request order.
    pub operations: Vec<Operation>,
}

/// A member of a JSON object, name compared case-insensitively (RFC 7643 §2.1).
fn member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
}

/// Parse a BulkRequest body. More than `max_operations` operations is 413.
pub fn parse(body: &Value, max_operations: usize) -> ScimResult<BulkRequest> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax("the request body must be a BulkRequest JSON object"));
    };
    let is_bulk = |v: &Value| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST));
    if !member(body, "schemas").and_then(Value::as_array).is_some_and(|s| s.iter().any(is_bulk)) {
        return Err(ScimError::invalid_syntax(format!("schemas must contain {BULK_REQUEST}")));
    }
    let fail_on_errors = match member(body, "failOnErrors") {
        None => None,
        Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) if n >= 1 => Some(n),
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "failOnErrors must be an integer of at least 1, got {v}"
                )))
            }
        },
    };
    let Some(Value::Array(raw)) = member(body, "Operations") else {
        return Err(ScimError::invalid_syntax("Operations is required and must be an array of operations"));
    };
    if raw.len() > max_operations {
        return Err(ScimError::payload_too_large(format!(
            "The bulk request has {} operations, more than maxOperations ({max_operations}, \
             ROSTER_BULK_MAX_OPERATIONS); split it into several requests",
            raw.len()
        )));
    }
    let mut operations = Vec::with_capacity(raw.len());
    for (i, op) in raw.iter().enumerate() {
        let Value::Object(op) = op else {
            return Err(ScimError::invalid_syntax(format!("Operations[{i}] must be an object")));
        };
        operations.push(operation(op));
    }
    check_unique_bulk_ids(&operations)?;
    Ok(BulkRequest { fail_on_errors, operations })
}

fn check_unique_bulk_ids(operations: &[Operation]) -> ScimResult<()> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, op) in operations.iter().enumerate() {
        if let Some(id) = op.declares() {
            if let Some(j) = first.insert(id, i) {
                return Err(ScimError::invalid_syntax(format!(
                    "bulkId {id:?} is declared by Operations[{j}] and Operations[{i}]; bulkIds must be \
                     unique within a request"
                )));
            }
        }
    }
    Ok(())
}

fn operation(op: &Map<String, Value>) -> Operation {
    let text = |name| member(op, name).and_then(Value::as_str).map(str::to_string);
    let raw_method = text("method");
    let method = raw_method.as_deref().and_then(Method::parse);
    let envelope = Envelope {
        method: method.map(|m| m.as_str().to_string()).or(raw_method),
        bulk_id: text("bulkId"),
        path: text("path"),
    };
    let data = member(op, "data");
    let mut references = Vec::new();
    if let Some(id) = envelope.path.as_deref().and_then(path_reference) {
        references.push(id.to_string());
    }
    if let Some(data) = data {
        collect_references(data, &mut references);
    }
    let action = method
        .ok_or_else(|| {
            ScimError::invalid_syntax("method is required and must be one of POST, PUT, PATCH, DELETE")
        })
        .and_then(|m| action(m, op, &envelope, data));
    Operation { envelope, action, references }
}

fn action(
    method: Method,
    op: &Map<String, Value>,
    env: &Envelope,
    data: Option<&Value>,
) -> ScimResult<Action> {
    if member(op, "bulkId").is_some() && env.bulk_id.as_deref().is_none_or(str::is_empty) {
        return Err(ScimError::invalid_value("bulkId must be a non-empty string"));
    }
    let path = env.path.as_deref().ok_or_else(|| ScimError::invalid_syntax("path is required"))?;
    let (kind, target) = parse_path(path)?;
    let if_match = match member(op, "version") {
        None => None,
        Some(Value::String(v)) => Some(EntityTags::parse(v)?),
        Some(_) => return Err(ScimError::invalid_value("version must be a string (an ETag)")),
    };
    let data = || {
        data.cloned()
            .ok_or_else(|| ScimError::invalid_syntax(format!("data is required for {}", method.as_str())))
    };
    let not_allowed =
        || ScimError::method_not_allowed(format!("{} is not allowed on {path}", method.as_str()));
    match (method, target) {
        (Method::Post, None) => {
            if env.bulk_id.is_none() {
                return Err(ScimError::invalid_syntax("bulkId is required for POST (RFC 7644 §3.7)"));
            }
            Ok(Action::Create { kind, data: data()? })
        }
        (Method::Put, Some(id)) => Ok(Action::Replace { kind, id, if_match, data: data()? }),
        (Method::Patch, Some(id)) => Ok(Action::Patch { kind, id, if_match, data: data()? }),
        (Method::Delete, Some(id)) => Ok(Action::Delete { kind, id, if_match }),
        _ => Err(not_allowed()),
    }
}

/// `/Users`, `/Groups`, `/Users/{id}`, `/Groups/{id}`, `/Users/bulkId:{id}`, `/Groups/bulkId:{id}`.
fn parse_path(path: &str) -> ScimResult<(ResourceKind, Option<Target>)> {
    let no_endpoint = || {
        ScimError::not_found(format!(
            "path {path:?} names no endpoint; use /Users, /Groups, /Users/{{id}} or /Groups/{{id}}"
        ))
    };
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let mut parts = trimmed.splitn(2, '/');
    let kind = match parts.next() {
        Some("Users") => ResourceKind::User,
        Some("Groups") => ResourceKind::Group,
        _ => return Err(no_endpoint()),
    };
    let target = match parts.next() {
        None => None,
        Some(rest) if rest.is_empty() || rest.contains('/') => return Err(no_endpoint()),
        Some(rest) => Some(match rest.strip_prefix(BULK_ID_PREFIX) {
            Some(id) if !id.is_empty() => Target::BulkId(id.to_string()),
            _ => Target::Id(resource_id(kind.name(), rest)?),
        }),
    };
    Ok((kind, target))
}

/// The bulkId a path refers to, if any.
fn path_reference(path: &str) -> Option<&str> {
    path.rsplit('/').next().and_then(as_reference)
}

/// The bulkId a string value refers to: the value is exactly `bulkId:<id>`.
pub(crate) fn as_reference(s: &str) -> Option<&str> {
    s.strip_prefix(BULK_ID_PREFIX).filter(|id| !id.is_empty())
}

/// Every bulkId referenced anywhere in a JSON value, each once, in order of appearance.
pub fn collect_references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = as_reference(s) {
                if !out.iter().any(|o| o == id) {
                    out.push(id.to_string());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}
