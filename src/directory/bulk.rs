//! Running a bulk request (RFC 7644 §3.7) against the directory: the operations in the order
//! [`plan`] gives, each one its own transaction through the same functions single requests use,
//! created ids substituted for `bulkId:` references as they become known, and execution
//! stopped after `failOnErrors` failures.
//!
//! Each operation answers with the status the same request alone would have had: POST 201,
//! PUT 200, PATCH 200 for a user and 204 for a group (with the new version either way), DELETE
//! 204. Bulk is not atomic as a whole: an operation that succeeded stays done when a later one
//! fails.

use uuid::Uuid;

use super::{groups, patch, users, Context};
use crate::db::Conn;
use crate::error::ScimResult;
use crate::provisioning::summary;
use crate::scim::bulk::{plan, Action, BulkRequest, Entry, Envelope, Outcome, Resolver, Step};
use crate::scim::patch::parse_request;
use crate::scim::schema::{normalize, Normalized, Registry, ResourceKind};

/// A bulk request's entries in request order (no outcome for those `failOnErrors` kept from
/// running), and for each whether its provisioning-log row was committed with its write.
#[derive(Debug)]
pub struct Executed {
    /// The entries.
    pub entries: Vec<Entry>,
    /// `logged[i]`: entry `i`'s row is in its committed transaction; record no other.
    pub logged: Vec<bool>,
}

/// Run every operation of a bulk request. Each operation that writes commits its own
/// provisioning-log row in its transaction (a [`LogSlot`](crate::provisioning::LogSlot) of its
/// own, child of the request's).
pub async fn execute(conn: &mut Conn, ctx: &Context, registry: &Registry, request: BulkRequest) -> Executed {
    let steps = plan(&request.operations);
    let mut entries = Vec::with_capacity(request.operations.len());
    let mut actions = Vec::with_capacity(request.operations.len());
    for op in request.operations {
        entries.push(Entry { envelope: op.envelope, outcome: None, latency_ms: 0.0 });
        actions.push(Some(op.action));
    }
    let mut logged = vec![false; entries.len()];
    let mut resolver = Resolver::default();
    let mut failures = 0;
    for step in steps {
        if request.fail_on_errors.is_some_and(|limit| failures >= limit) {
            break;
        }
        let i = step.index();
        let started = std::time::Instant::now();
        let outcome = match step {
            Step::Fail(_, error) => Outcome::Failed { error, target: None },
            Step::Run(_) => match actions[i].take() {
                Some(action) => {
                    let log = operation_log(ctx, i, &entries[i].envelope, &action);
                    let op_ctx = Context { log: log.clone(), ..ctx.clone() };
                    let outcome = run(conn, &op_ctx, registry, &resolver, action).await;
                    logged[i] = matches!(outcome, Outcome::Done { .. }) && log.written();
                    outcome
                }
                None => continue, // the plan names each operation once
            },
        };
        let entry = &mut entries[i];
        if let (Outcome::Done { status: 201, id, .. }, Some(bulk_id)) = (&outcome, &entry.envelope.bulk_id) {
            resolver.record(bulk_id, *id);
        }
        if matches!(outcome, Outcome::Failed { .. }) {
            failures += 1;
        }
        log_outcome(i, &entry.envelope, &outcome);
        entry.outcome = Some(outcome);
        entry.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    }
    Executed { entries, logged }
}

/// Operation `index`'s own log slot: its summary, and the status its success answers.
fn operation_log(
    ctx: &Context,
    index: usize,
    envelope: &Envelope,
    action: &ScimResult<Action>,
) -> crate::provisioning::LogSlot {
    let Ok(action) = action else { return Default::default() };
    let status = match action {
        Action::Create { .. } => 201,
        Action::Patch { kind: ResourceKind::Group, .. } | Action::Delete { .. } => 204,
        Action::Replace { .. } | Action::Patch { .. } => 200,
    };
    ctx.log.bulk_operation(summary::bulk_operation(index, envelope), status)
}

fn log_outcome(index: usize, envelope: &Envelope, outcome: &Outcome) {
    let method = envelope.method.as_deref().unwrap_or("-");
    let path = envelope.path.as_deref().unwrap_or("-");
    match outcome {
        Outcome::Done { status, .. } => {
            tracing::info!(bulk.operation = index, method, path, status, "bulk operation done");
        }
        Outcome::Failed { error, .. } => {
            let scim_type = error.scim_type().map(|t| t.as_str()).unwrap_or("-");
            // The one place an internal cause inside a bulk request is logged.
            if let Some(cause) = error.cause() {
                tracing::error!(bulk.operation = index, method, path, status = error.status(),
                    error = %format!("{cause:#}"), "bulk operation failed");
            } else {
                tracing::info!(
                    bulk.operation = index,
                    method,
                    path,
                    status = error.status(),
                    scim_type,
                    detail = error.detail(),
                    "bulk operation failed"
                );
            }
        }
    }
}

/// Resolve an operation's references and run it; every error becomes its outcome.
async fn run(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    resolver: &Resolver,
    action: ScimResult<Action>,
) -> Outcome {
    let action = match action.and_then(|a| resolver.resolve(a)) {
        Ok(a) => a,
        Err(error) => return Outcome::Failed { error, target: None },
    };
    let target = action.id().map(|id| (action.kind(), *id));
    apply(conn, ctx, registry, action).await.unwrap_or_else(|error| Outcome::Failed { error, target })
}

/// Validate a POST/PUT `data`, accepting the Entra forms of User `roles` in tolerant mode.
fn normalize_data(
    ctx: &Context,
    registry: &Registry,
    kind: ResourceKind,
    data: &serde_json::Value,
) -> ScimResult<Normalized> {
    if kind == ResourceKind::User && !ctx.principal.strict {
        let mut data = data.clone();
        if crate::scim::roles::tolerate_roles(&mut data) {
            tracing::info!(scim.resource = kind.name(), rules = ?["roles_json_string"], "tolerance rules applied");
        }
        return normalize(registry, kind, &data);
    }
    normalize(registry, kind, data)
}

fn log_notes(kind: ResourceKind, notes: &[String]) {
    if !notes.is_empty() {
        tracing::info!(scim.resource = kind.name(), notes = ?notes, "request body normalised");
    }
}

async fn apply(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    action: Action<Uuid>,
) -> ScimResult<Outcome> {
    let done = |status, kind, id, version| Outcome::Done { status, kind, id, version };
    Ok(match action {
        Action::Create { kind, data } => {
            let input = normalize_data(ctx, registry, kind, &data)?;
            log_notes(kind, &input.notes);
            let stored = match kind {
                ResourceKind::User => users::create(conn, ctx, input, None).await?,
                ResourceKind::Group => groups::create(conn, ctx, input).await?,
            };
            done(201, kind, stored.id, Some(stored.meta.version))
        }
        Action::Replace { kind, id, if_match, data } => {
            let input = normalize_data(ctx, registry, kind, &data)?;
            log_notes(kind, &input.notes);
            let version = match kind {
                ResourceKind::User => {
                    users::replace(conn, ctx, registry, id, input, if_match.as_ref())
                        .await?
                        .stored
                        .meta
                        .version
                }
                ResourceKind::Group => {
                    groups::replace(conn, ctx, registry, id, input, if_match.as_ref()).await?.meta.version
                }
            };
            done(200, kind, id, Some(version))
        }
        Action::Patch { kind, id, if_match, data } => {
            let request = parse_request(&data, patch::mode(ctx))?;
            match kind {
                ResourceKind::User => {
                    let written =
                        patch::patch_user(conn, ctx, registry, id, &request, if_match.as_ref()).await?;
                    done(200, kind, id, Some(written.stored.meta.version))
                }
                ResourceKind::Group => {
                    let (version, _) =
                        patch::patch_group(conn, ctx, registry, id, &request, if_match.as_ref()).await?;
                    done(204, kind, id, Some(version))
                }
            }
        }
        Action::Delete { kind, id, if_match } => {
            match kind {
                ResourceKind::User => users::remove(conn, ctx, id, if_match.as_ref()).await?,
                ResourceKind::Group => groups::delete(conn, ctx, id, if_match.as_ref()).await?,
            }
            done(204, kind, id, None)
        }
    })
}
