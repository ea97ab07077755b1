//! Applying parsed operations to a stored resource (RFC 7644 §3.5.2.1–3), atomically.

use serde_json::{Map, Value};

use super::members::{check_filter, member_change, MemberTarget};
use super::tolerance::{coerce, coerce_element, Rule, Site, Tolerance};
use super::{fire, Applied, MemberDelta, Mode, OpKind, PatchOp, PatchRequest};
use crate::error::{ScimError, ScimResult};
use crate::scim::filter::eval::element_matches;
use crate::scim::filter::parse_path;
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use crate::scim::schema::{
    check_immutable, normalize, AttrType, Attribute, Mutability, Registry, ResourceKind,
    ENTERPRISE_USER_SCHEMA,
};
use crate::text::excerpt;

/// Applies `request` to `resource` (the stored resource without id/meta/schemas/password and,
/// for Groups, without `members`) and returns the re-validated result.
///
/// `current_id` is the resource's id: an equal `id` inside a path-less value is ignored
/// ([`Rule::ReadOnlyKeyIgnored`]), a different one is 400 `mutability`. Atomic: on any error
/// nothing is returned. [`Applied::fired`] starts with `request.fired`.
pub fn apply(
    registry: &Registry,
    kind: ResourceKind,
    resource: &Map<String, Value>,
    current_id: &str,
    request: &PatchRequest,
    mode: Mode,
) -> ScimResult<Applied> {
    let mut tol = Tolerance::new(mode);
    for rule in &request.fired {
        fire(&mut tol.fired, *rule);
    }
    let mut engine = Engine {
        registry,
        kind,
        current_id,
        tol,
        res: resource.clone(),
        members: Vec::new(),
        password: None,
    };
    for (i, op) in request.ops.iter().enumerate() {
        engine.op(op).map_err(|e| e.at(&format!("Operations[{i}]")))?;
    }
    let Engine { res, members, password, tol, .. } = engine;
    let schemas = registry.resource_schemas(kind, &res).into_iter().map(Value::String).collect();
    let mut body = Map::new();
    body.insert("schemas".to_string(), Value::Array(schemas));
    body.extend(res);
    let normalized = normalize(registry, kind, &Value::Object(body))?;
    check_immutable(registry, kind, resource, &normalized.resource)?;
    let changed = normalized.resource != *resource;
    let members = (!members.is_empty()).then_some(MemberDelta { changes: members });
    Ok(Applied { resource: normalized.resource, members, password, fired: tol.fired, changed })
}

/// What [`apply_to_membership`] found: a request that changes only a group's membership.
#[derive(Debug)]
pub struct MembershipOnly {
    /// What [`apply`] gives on any stored group named [`Self::display_name`] (on any group at
    /// all when that is `None`): the membership changes and the rules fired; `changed` is false.
    pub applied: Applied,
    /// The `displayName` the request leaves on the group, when it names one (Okta's group push
    /// sends the name again with every membership update). The request changes only membership
    /// on a group that already has this name; on any other it is a rename.
    pub display_name: Option<String>,
}

/// [`apply`] for a Group PATCH whose operations target `members` (path `members` or
/// `members[...]`, or a path-less value of `members`), and at most `displayName` (a path
/// `displayName` set, or a path-less value's `displayName`, beside the group's own `id`), without
/// the stored group: such operations read nothing else of it and change nothing else, so the
/// result holds for any stored group with the name the request leaves (see [`MembershipOnly`]).
/// `None` for any other request, and for one whose name is not a name (the stored group is
/// needed for its answer). `id` is the group's id, as for [`apply`].
pub fn apply_to_membership(
    registry: &Registry,
    id: &str,
    request: &PatchRequest,
    mode: Mode,
) -> ScimResult<Option<MembershipOnly>> {
    if request.ops.is_empty() {
        return Ok(None);
    }
    let kind = ResourceKind::Group;
    let core = |urn: Option<&str>, name: &str| {
        resolve(registry, kind, urn, name, None).filter(|t| t.ext.is_none()).map(|t| t.attr.name)
    };
    let mut names_group = false;
    // Whether an operation `op` on this attribute stays within membership: `members`, or setting
    // `displayName` (removing it changes the group).
    let mut within = |urn: Option<&str>, name: &str, op: OpKind| match core(urn, name) {
        Some("members") => true,
        Some("displayName") if op != OpKind::Remove => {
            names_group = true;
            true
        }
        _ => false,
    };
    for op in &request.ops {
        let only = match (&op.path, &op.value) {
            (Some(PatchPath::Attr(p)), _) => p.sub.is_none() && within(p.urn.as_deref(), &p.name, op.op),
            (Some(PatchPath::Filtered { path, .. }), _) => {
                core(path.urn.as_deref(), &path.name) == Some("members")
            }
            (None, Some(Value::Object(obj))) if !obj.is_empty() => {
                obj.keys().all(|key| match split_urn_key(registry, kind, key) {
                    Some((None, rest)) => within(None, rest, op.op),
                    Some((Some(_), _)) => false,
                    None if key.contains(['.', '[', ':']) => false,
                    // The group's own id is ignored by `apply` (another is its 400).
                    None => key.eq_ignore_ascii_case("id") || within(None, key, op.op),
                })
            }
            _ => false,
        };
        if !only {
            return Ok(None);
        }
    }
    // Any valid group: the operations above neither read nor write its other attributes.
    let group = Map::from_iter([("displayName".to_string(), Value::String("members".to_string()))]);
    let applied = apply(registry, kind, &group, id, request, mode)?;
    if !names_group {
        return Ok(Some(MembershipOnly { applied, display_name: None }));
    }
    // The name the request leaves on any group. They write nothing else, so on a group that has
    // this name already they change membership alone.
    let Some(name) = applied.resource.get("displayName").and_then(Value::as_str).map(str::to_string) else {
        return Ok(None);
    };
    Ok(Some(MembershipOnly { applied: Applied { changed: false, ..applied }, display_name: Some(name) }))
}

/// A resolved attribute: where it lives and its definition.
#[derive(Debug, Clone, Copy)]
struct Target {
    /// The extension URN holding the attribute; `None` for core and common attributes.
    ext: Option<&'static str>,
    /// The attribute.
    attr: &'static Attribute,
    /// The sub-attribute, for `name.givenName`-style targets.
    sub: Option<&'static Attribute>,
}

impl Target {
    /// The canonical path, for messages.
    fn path(&self) -> String {
        let base = match self.ext {
            Some(urn) => format!("{urn}:{}", self.attr.name),
            None => self.attr.name.to_string(),
        };
        match self.sub {
            Some(s) => format!("{base}.{}", s.name),
            None => base,
        }
    }

    /// Whether a path names a readOnly attribute or sub-attribute.
    fn read_only(&self) -> bool {
        self.attr.mutability == Mutability::ReadOnly
            || self.sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
    }

    /// The coercion site of a whole value for this target.
    fn site<'p>(&self, path: &'p str) -> Site<'p> {
        let whole = self.sub.is_none();
        Site {
            attr: self.sub.unwrap_or(self.attr),
            path,
            manager: whole && self.ext == Some(ENTERPRISE_USER_SCHEMA) && self.attr.name == "manager",
            roles: whole && self.ext.is_none() && self.attr.name == "roles",
        }
    }
}

/// Resolves `urn:name.sub` against the schemas of `kind`; `None` when unknown.
fn resolve(
    registry: &Registry,
    kind: ResourceKind,
    urn: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> Option<Target> {
    let (ext, attr) = match urn {
        None => (None, registry.top_level(kind, name)?),
        Some(u) if u.eq_ignore_ascii_case(kind.core_schema()) => (None, registry.top_level(kind, name)?),
        Some(u) => {
            let urn = registry.extension_urn(kind, u)?;
            (Some(urn), registry.schema(urn)?.attribute(name)?)
        }
    };
    let sub = match sub {
        None => None,
        Some(s) => Some(attr.sub_attribute(s)?),
    };
    Some(Target { ext, attr, sub })
}

/// Strips a `urn:...:` prefix naming the core schema or an extension of `kind` from a value key.
fn split_urn_key<'k>(
    registry: &Registry,
    kind: ResourceKind,
    key: &'k str,
) -> Option<(Option<&'static str>, &'k str)> {
    let core = kind.core_schema();
    let strip = |urn: &str| {
        let head = key.get(..urn.len())?;
        head.eq_ignore_ascii_case(urn).then(|| key[urn.len()..].strip_prefix(':')).flatten()
    };
    if let Some(rest) = strip(core) {
        return Some((None, rest));
    }
    registry.extensions(kind).iter().find_map(|urn| strip(urn).map(|rest| (Some(*urn), rest)))
}

/// The working state of one request.
struct Engine<'a> {
    registry: &'a Registry,
    kind: ResourceKind,
    current_id: &'a str,
    tol: Tolerance,
    res: Map<String, Value>,
    members: Vec<super::MemberChange>,
    password: Option<String>,
}

impl Engine<'_> {
    /// Applies one operation.
    fn op(&mut self, op: &PatchOp) -> ScimResult<()> {
        match &op.path {
            None => self.pathless(op.op, op.value.as_ref()),
            Some(PatchPath::Attr(p)) => {
                if let Some(urn) = self.whole_extension(p) {
                    return self.extension_op(op.op, urn, op.value.as_ref());
                }
                let t = self.resolve_path(p, p.sub.as_deref())?;
                self.at_target(op.op, t, op.value.clone())
            }
            Some(PatchPath::Filtered { path, filter, sub }) => {
                let t = self.resolve_path(path, sub.as_deref())?;
                self.filtered(op.op, t, path, filter, op.value.clone())
            }
        }
    }

    /// Resolves a path's attribute or answers `invalidPath`.
    fn resolve_path(&self, p: &AttrPath, sub: Option<&str>) -> ScimResult<Target> {
        resolve(self.registry, self.kind, p.urn.as_deref(), &p.name, sub).ok_or_else(|| {
            let mut full = p.urn.as_ref().map(|u| format!("{u}:")).unwrap_or_default();
            full.push_str(&p.name);
            if let Some(s) = sub {
                full = format!("{full}.{s}");
            }
            ScimError::invalid_path(format!("'{full}' is not an attribute of {}", self.kind.name()))
        })
    }

    /// The extension URN when the path is a whole extension (`urn:...:enterprise:2.0:User`).
    fn whole_extension(&self, p: &AttrPath) -> Option<&'static str> {
        let urn = p.urn.as_ref().filter(|_| p.sub.is_none())?;
        self.registry.extension_urn(self.kind, &format!("{urn}:{}", p.name))
    }

    /// add/replace/remove of a whole extension object.
    fn extension_op(&mut self, op: OpKind, urn: &'static str, value: Option<&Value>) -> ScimResult<()> {
        match (op, value) {
            (OpKind::Remove, _) | (OpKind::Replace, Some(Value::Null)) => {
                self.res.shift_remove(urn);
                Ok(())
            }
            (_, Some(v)) => {
                let mut wrapped = Map::new();
                wrapped.insert(urn.to_string(), v.clone());
                self.pathless(op, Some(&Value::Object(wrapped)))
            }
            (_, None) => Ok(()),
        }
    }

    /// Path-less add/replace: each key of the value object is one assignment.
    fn pathless(&mut self, op: OpKind, value: Option<&Value>) -> ScimResult<()> {
        let Some(Value::Object(obj)) = value else {
            return Err(ScimError::invalid_value(format!(
                "{} without a path needs an object of attributes as value",
                op.as_str()
            )));
        };
        let mut assignments = Vec::new();
        let mut filtered = Vec::new();
        for (key, v) in obj {
            if key.eq_ignore_ascii_case("schemas") {
                self.tol.allow(Rule::ReadOnlyKeyIgnored, || "schemas cannot be changed by PATCH".into())?;
                continue;
            }
            if let Some(urn) = self.registry.extension_urn(self.kind, key) {
                match v {
                    Value::Object(ext) => {
                        for (k, v) in ext {
                            self.assignment(Some(urn), k, key, v, &mut assignments)?;
                        }
                    }
                    Value::Null if op == OpKind::Replace => {
                        self.res.shift_remove(urn);
                    }
                    Value::Null => {}
                    _ => return Err(ScimError::invalid_value(format!("{urn}: expected an object"))),
                }
                continue;
            }
            if key.contains('[') {
                self.tol.allow(Rule::DottedKeysInPathlessValue, || {
                    format!("'{}': a filtered path is not an attribute name", excerpt(key))
                })?;
                if let PatchPath::Filtered { path, filter, sub } = parse_path(key)? {
                    let t = self.resolve_path(&path, sub.as_deref())?;
                    filtered.push((t, path, filter, v.clone()));
                    continue;
                }
            }
            match split_urn_key(self.registry, self.kind, key) {
                Some((ext, rest)) => {
                    self.tol.allow(Rule::UrnKeysInPathlessValue, || {
                        format!(
                            "'{}': use a path, or nest extension attributes under the schema URN",
                            excerpt(key)
                        )
                    })?;
                    self.assignment(ext, rest, key, v, &mut assignments)?;
                }
                None => self.assignment(None, key, key, v, &mut assignments)?,
            }
        }
        for (t, v) in assignments {
            if op == OpKind::Replace
                && self.kind == ResourceKind::User
                && t.ext.is_none()
                && t.attr.name == "active"
            {
                self.tol.record(Rule::PathlessActiveReplace);
            }
            self.at_target(op, t, Some(v))?;
        }
        for (t, path, filter, v) in filtered {
            // Path-less replace adds where nothing existed (RFC 7644 §3.5.2.3), so a filtered
            // key with a sub-attribute creates its element like `add` does.
            let op = if op == OpKind::Replace && t.sub.is_some() { OpKind::Add } else { op };
            self.filtered(op, t, &path, &filter, Some(v))?;
        }
        Ok(())
    }

    /// Resolves one key of a path-less value (`name`, `name.sub`) into an assignment.
    fn assignment(
        &mut self,
        ext: Option<&'static str>,
        key: &str,
        original: &str,
        value: &Value,
        out: &mut Vec<(Target, Value)>,
    ) -> ScimResult<()> {
        let (name, sub) = match key.split_once('.') {
            Some((n, s)) => {
                self.tol.allow(Rule::DottedKeysInPathlessValue, || {
                    format!("'{}': a dotted key is a path, not an attribute name", excerpt(original))
                })?;
                (n, Some(s))
            }
            None => (key, None),
        };
        let Some(t) = resolve(self.registry, self.kind, ext.or(Some(self.kind.core_schema())), name, sub)
        else {
            return self.tol.allow(Rule::UnknownAttributeIgnored, || {
                format!("'{}' is not an attribute of {}", excerpt(original), self.kind.name())
            });
        };
        if t.ext.is_none() && t.attr.name == "id" && t.sub.is_none() {
            if value.as_str() != Some(self.current_id) {
                return Err(ScimError::mutability("id is readOnly and differs from the resource's id"));
            }
            return self.tol.allow(Rule::ReadOnlyKeyIgnored, || "id is readOnly".into());
        }
        if t.read_only() {
            return self.tol.allow(Rule::ReadOnlyKeyIgnored, || format!("{} is readOnly", t.path()));
        }
        out.push((t, value.clone()));
        Ok(())
    }
}

mod targets;
