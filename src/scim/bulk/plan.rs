//! bulkId references: the order operations run in, and the substitution of created ids.
//!
//! An operation refers to a bulkId with the string `bulkId:<id>` in its `path` or anywhere in
//! its `data` (a group's `members[].value`, a PATCH `value`, a manager `value`...). It runs
//! after the POST that declares that bulkId, wherever that POST stands in the request
//! (forward references are allowed, RFC 7644 §3.7.2).
//!
//! Decisions (RFC 7644 §3.7.1 lets a provider answer 409 instead of resolving a cycle; it says
//! nothing about references that cannot be resolved):
//! * Operations whose references form a cycle (A refers to B and B to A, or a POST to itself)
//!   are not run: each answers 409 without a scimType, its detail naming the bulkIds of the
//!   cycle. Roster does not break cycles by creating resources in two steps.
//! * A reference to a bulkId no POST of the request declares, or to a POST that failed (or is
//!   itself in a cycle), makes the referring operation answer 409 `invalidValue` naming the
//!   bulkId: the request is well formed, but the resource it points at does not exist.
//! * Otherwise operations run in request order, except that a POST another operation refers to
//!   is brought forward to just before the first operation that needs it.

use std::collections::HashMap;

use serde_json::Value;
use uuid::Uuid;

use super::{as_reference, Action, Operation, Target};
use crate::error::{ScimError, ScimResult};

/// One step of a bulk execution, in execution order.
#[derive(Debug)]
pub enum Step {
    /// Run the operation with this index.
    Run(usize),
    /// Answer the operation with this index with an error, without running it.
    Fail(usize, ScimError),
}

impl Step {
    /// The index of the operation in the request.
    pub fn index(&self) -> usize {
        match self {
            Step::Run(i) | Step::Fail(i, _) => *i,
        }
    }
}

/// The execution order of a request's operations: every operation after the POSTs it refers
/// to, cycles and unknown bulkIds answered without running. Each operation appears once.
pub fn plan(operations: &[Operation]) -> Vec<Step> {
    let declared: HashMap<&str, usize> =
        operations.iter().enumerate().filter_map(|(i, op)| op.declares().map(|id| (id, i))).collect();
    let mut unknown: Vec<Option<String>> = vec![None; operations.len()];
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); operations.len()];
    for (i, op) in operations.iter().enumerate() {
        if op.action.is_err() {
            continue; // answered with its own error; it waits for nothing
        }
        match op.references.iter().find(|r| !declared.contains_key(r.as_str())) {
            Some(r) => unknown[i] = Some(r.clone()),
            None => {
                edges[i] = op.references.iter().filter_map(|r| declared.get(r.as_str()).copied()).collect()
            }
        }
    }
    let mut steps = Vec::with_capacity(operations.len());
    for component in strongly_connected(&edges) {
        let circular = component.len() > 1 || edges[component[0]].contains(&component[0]);
        if circular {
            let names: Vec<String> = component
                .iter()
                .filter_map(|&i| operations[i].envelope.bulk_id.as_deref())
                .map(|b| format!("{b:?}"))
                .collect();
            for &i in &component {
                steps.push(Step::Fail(
                    i,
                    ScimError::conflict(format!(
                        "the bulkIds {} form a circular reference; none of these operations was run \
                         (RFC 7644 §3.7.1): create the resources first, then link them with PATCH",
                        names.join(", ")
                    )),
                ));
            }
        } else {
            let i = component[0];
            steps.push(match unknown[i].take() {
                Some(r) => Step::Fail(
                    i,
                    ScimError::unresolved_bulk_id(format!(
                        "bulkId:{r} refers to no POST operation of this request"
                    )),
                ),
                None => Step::Run(i),
            });
        }
    }
    steps
}

/// Tarjan's strongly connected components, iteratively (a chain of references as long as
/// `maxOperations` must not exhaust the stack). Roots are taken in index order and edges in
/// their order, so components come out dependencies first and otherwise in request order.
/// Each component is sorted by index.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = edges.len();
    let mut order: Vec<Option<usize>> = vec![None; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if order[root].is_some() {
            continue;
        }
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        order[root] = Some(next);
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut pos)) = calls.last_mut() {
            if let Some(&w) = edges[v].get(*pos) {
                *pos += 1;
                match order[w] {
                    None => {
                        order[w] = Some(next);
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        calls.push((w, 0));
                    }
                    Some(ow) if on_stack[w] => low[v] = low[v].min(ow),
                    Some(_) => {}
                }
                continue;
            }
            calls.pop();
            if let Some(&(u, _)) = calls.last() {
                low[u] = low[u].min(low[v]);
            }
            if Some(low[v]) == order[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.sort_unstable();
                out.push(component);
            }
        }
    }
    out
}

/// The ids created so far, by bulkId; substitutes them into the operations that refer to them.
#[derive(Debug, Default)]
pub struct Resolver {
    created: HashMap<String, Uuid>,
}

impl Resolver {
    /// Record the id a POST with this bulkId created.
    pub fn record(&mut self, bulk_id: &str, id: Uuid) {
        self.created.insert(bulk_id.to_string(), id);
    }

    fn lookup(&self, bulk_id: &str) -> ScimResult<Uuid> {
        self.created.get(bulk_id).copied().ok_or_else(|| {
            ScimError::unresolved_bulk_id(format!(
                "bulkId:{bulk_id} cannot be resolved: the POST operation that declares it failed"
            ))
        })
    }

    /// Replace every `bulkId:<id>` in the target and the data by the created resource's id;
    /// 409 `invalidValue` when a referenced POST did not create anything.
    pub fn resolve(&self, action: Action) -> ScimResult<Action<Uuid>> {
        let id = |target: Target| match target {
            Target::Id(id) => Ok(id),
            Target::BulkId(b) => self.lookup(&b),
        };
        Ok(match action {
            Action::Create { kind, mut data } => {
                self.substitute(&mut data)?;
                Action::Create { kind, data }
            }
            Action::Replace { kind, id: target, if_match, mut data } => {
                let id = id(target)?;
                self.substitute(&mut data)?;
                Action::Replace { kind, id, if_match, data }
            }
            Action::Patch { kind, id: target, if_match, mut data } => {
                let id = id(target)?;
                self.substitute(&mut data)?;
                Action::Patch { kind, id, if_match, data }
            }
            Action::Delete { kind, id: target, if_match } => {
                Action::Delete { kind, id: id(target)?, if_match }
            }
        })
    }

    fn substitute(&self, value: &mut Value) -> ScimResult<()> {
        match value {
            Value::String(s) => {
                if let Some(b) = as_reference(s) {
                    *s = self.lookup(b)?.to_string();
                }
            }
            Value::Array(items) => items.iter_mut().try_for_each(|v| self.substitute(v))?,
            Value::Object(map) => map.values_mut().try_for_each(|v| self.substitute(v))?,
            _ => {}
        }
        Ok(())
    }
}
