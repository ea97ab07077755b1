//! Filter AST → one parameterised SQL condition, through an attribute map per resource type.
//!
//! Every value is a bind parameter; the only names spliced into SQL are canonical attribute
//! names from the schema registry (static strings), never client text. Each attribute resolves
//! to a typed column or a `jsonb` path; multi-valued attributes become `EXISTS` over their
//! elements (or over `group_members` for `members`, and over `roster_member_groups()` for a
//! user's `groups`). Semantics match `scim::filter::eval`: strings compare case-insensitively
//! unless the attribute is caseExact, an absent attribute satisfies `ne` and `not (...)`, and a
//! multi-valued attribute matches when any element does.

use chrono::DateTime;
use uuid::Uuid;

use crate::error::{ScimError, ScimResult};
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::resource::fold_key;
use crate::scim::schema::{AttrType, Attribute, Registry, ResourceKind, ROSTER_USER_SCHEMA};

/// A bind parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    /// `text`
    Text(String),
    /// `text[]`
    TextArray(Vec<String>),
    /// `uuid`
    Uuid(Uuid),
}

/// SQL text under construction with its bind parameters (`$1`, `$2`, ... in push order).
#[derive(Debug, Default)]
pub struct Sql {
    /// Parameters, in placeholder order.
    pub binds: Vec<Bind>,
    aliases: usize,
}

impl Sql {
    /// Add a parameter and return its placeholder.
    pub fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }
}

/// What an attribute is in SQL.
#[derive(Debug, Clone)]
pub enum Column {
    /// Text; `folded` columns hold `fold_key` of the value and are compared with folded input.
    Text {
        /// SQL expression.
        sql: String,
        /// Compare exactly (caseExact) instead of case-insensitively.
        case_exact: bool,
        /// The column stores the folded value already.
        folded: bool,
    },
    /// Boolean.
    Bool(String),
    /// Numeric.
    Number(String),
    /// timestamptz.
    Time(String),
    /// uuid (resource ids, member ids).
    Uuid(String),
    /// A complex value without a sub-attribute: only `pr` applies.
    Complex(String),
}

impl Column {
    /// The expression, for `ORDER BY`: text that is not caseExact sorts case-insensitively.
    pub fn order_expr(&self) -> String {
        match self {
            Column::Text { sql, case_exact: false, folded: false } => format!("lower({sql})"),
            Column::Text { sql, .. }
            | Column::Bool(sql)
            | Column::Number(sql)
            | Column::Time(sql)
            | Column::Uuid(sql)
            | Column::Complex(sql) => sql.clone(),
        }
    }

    /// The SQL type a cursor key of this column is cast back to.
    pub fn cast(&self) -> &'static str {
        match self {
            Column::Text { .. } | Column::Complex(_) => "text",
            Column::Bool(_) => "boolean",
            Column::Number(_) => "numeric",
            Column::Time(_) => "timestamptz",
            Column::Uuid(_) => "uuid",
        }
    }
}

fn path_text(path: &AttrPath) -> String {
    let mut text = path.urn.as_ref().map(|u| format!("{u}:")).unwrap_or_default();
    text.push_str(&path.name);
    if let Some(s) = &path.sub {
        text.push('.');
        text.push_str(s);
    }
    text
}

fn unknown(path: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!(
        "unknown attribute \"{}\": it is not in this resource type's schemas",
        path_text(path)
    ))
}

/// An attribute path resolved against the registry.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// Extension URN, `None` for core and common attributes.
    pub urn: Option<&'static str>,
    /// The attribute.
    pub attr: &'static Attribute,
    /// The sub-attribute, if the path names one.
    pub sub: Option<&'static Attribute>,
}

/// Resolve a path case-insensitively (core and common attributes unqualified, extension
/// attributes with their URN).
pub fn resolve(registry: &Registry, kind: ResourceKind, path: &AttrPath) -> ScimResult<Resolved> {
    let (urn, attr) = match &path.urn {
        Some(u) if u.eq_ignore_ascii_case(kind.core_schema()) => (None, registry.top_level(kind, &path.name)),
        Some(u) => {
            let urn = registry.extension_urn(kind, u).ok_or_else(|| unknown(path))?;
            (Some(urn), registry.schema(urn).and_then(|s| s.attribute(&path.name)))
        }
        None => match registry.top_level(kind, &path.name) {
            Some(a) => (None, Some(a)),
            // An unqualified name may name an extension attribute when exactly one extension has it.
            None => {
                let mut found = registry.extensions(kind).iter().filter_map(|urn| {
                    registry.schema(urn).and_then(|s| s.attribute(&path.name)).map(|a| (*urn, a))
                });
                match (found.next(), found.next()) {
                    (Some((urn, a)), None) => (Some(urn), Some(a)),
                    (Some(_), Some(_)) => {
                        return Err(ScimError::invalid_filter(format!(
                            "\"{}\" is ambiguous: qualify it with its schema URN",
                            path_text(path)
                        )))
                    }
                    _ => (None, None),
                }
            }
        },
    };
    let attr = attr.ok_or_else(|| unknown(path))?;
    if attr.returned == crate::scim::schema::Returned::Never {
        return Err(ScimError::invalid_filter(format!("{} cannot be used in a filter", attr.name)));
    }
    let sub = match &path.sub {
        None => None,
        Some(s) => Some(attr.sub_attribute(s).ok_or_else(|| unknown(path))?),
    };
    Ok(Resolved { urn, attr, sub })
}

fn json_text(base: &str, keys: &[&str]) -> String {
    let mut sql = format!("({base}");
    for (i, k) in keys.iter().enumerate() {
        let op = if i + 1 == keys.len() { "->>" } else { "->" };
        sql.push_str(&format!(" {op} '{}'", k.replace('\'', "''")));
    }
    sql.push(')');
    sql
}

fn json_column(base: &str, keys: &[&str], attr: &Attribute) -> Column {
    let text = json_text(base, keys);
    match attr.ty {
        AttrType::Boolean => Column::Bool(format!("{text}::boolean")),
        AttrType::Integer | AttrType::Decimal => Column::Number(format!("{text}::numeric")),
        AttrType::DateTime => Column::Time(format!("{text}::timestamptz")),
        AttrType::Complex => {
            let mut sql = format!("({base}");
            for k in keys {
                sql.push_str(&format!(" -> '{}'", k.replace('\'', "''")));
            }
            sql.push(')');
            Column::Complex(sql)
        }
        _ => Column::Text { sql: text, case_exact: attr.case_exact, folded: false },
    }
}

/// The SQL column of a singular attribute of a resource row aliased `r`.
pub fn column(kind: ResourceKind, target: &Resolved) -> ScimResult<Column> {
    let (name, sub) = (target.attr.name, target.sub.map(|s| s.name));
    let text = |sql: &str, case_exact| Column::Text { sql: sql.into(), case_exact, folded: false };
    let typed = match (target.urn, name, sub) {
        (None, "id", None) => Some(Column::Uuid("r.id".into())),
        (None, "externalId", None) => Some(text("r.external_id", true)),
        (None, "meta", Some("created")) => Some(Column::Time("r.created_at".into())),
        (None, "meta", Some("lastModified")) => Some(Column::Time("r.last_modified".into())),
        (None, "meta", Some("resourceType")) => Some(text(&format!("'{}'", kind.name()), false)),
        (None, "meta", _) => {
            return Err(ScimError::invalid_filter(format!(
                "meta.{} is not filterable; use meta.created, meta.lastModified or meta.resourceType",
                sub.unwrap_or("")
            )))
        }
        _ => None,
    };
    if let Some(c) = typed {
        return Ok(c);
    }
    let typed = match (kind, target.urn, name, sub) {
        (ResourceKind::User, None, "userName", None) => {
            Some(Column::Text { sql: "r.user_name_key".into(), case_exact: false, folded: true })
        }
        (ResourceKind::User, None, "displayName", None) => Some(text("r.display_name", false)),
        (ResourceKind::User, None, "title", None) => Some(text("r.title", false)),
        (ResourceKind::User, None, "name", Some("givenName")) => Some(text("r.given_name", false)),
        (ResourceKind::User, None, "name", Some("familyName")) => Some(text("r.family_name", false)),
        (ResourceKind::User, Some(ROSTER_USER_SCHEMA), "role", None) => Some(text("r.effective_role", false)),
        (ResourceKind::User, Some(ROSTER_USER_SCHEMA), "status", None) => Some(text("r.status", false)),
        (ResourceKind::User, Some(ROSTER_USER_SCHEMA), "position", None) => Some(text(
            "(SELECT p.name FROM positions p WHERE p.tenant_id = r.tenant_id AND p.id = r.position_id)",
            false,
        )),
        (ResourceKind::Group, None, "displayName", None) => {
            Some(Column::Text { sql: "r.display_name_key".into(), case_exact: false, folded: true })
        }
        _ => None,
    };
    if let Some(c) = typed {
        return Ok(c);
    }
    let mut keys: Vec<&str> = Vec::new();
    if let Some(u) = target.urn {
        keys.push(u);
    }
    keys.push(name);
    if let Some(s) = sub {
        keys.push(s);
    }
    Ok(json_column("r.resource", &keys, target.sub.unwrap_or(target.attr)))
}

/// Translates filters for one resource type into SQL conditions on a row aliased `r`.
pub struct Translator<'a> {
    registry: &'a Registry,
    kind: ResourceKind,
    sql: &'a mut Sql,
    /// The placeholder of the tenant id, when the statement binds it: lets a condition walk the
    /// group tree once instead of once per row.
    tenant: Option<String>,
}

/// Where attribute paths are looked up: the resource, or one element of a multi-valued attribute.
#[derive(Clone, Copy)]
enum Scope<'s> {
    Resource,
    /// A `jsonb` element aliased `.0` of attribute `.1`.
    Json(&'s str, &'static Attribute),
    /// A `group_members` row aliased `mN`.
    Members(&'s str),
    /// A row of `roster_member_groups()` aliased `gN`.
    Groups(&'s str),
    /// A user's direct `group_members` row aliased `grN` (Roster's `groupRoles`).
    GroupRoles(&'s str),
}

fn is_string(v: &CompValue) -> Option<&str> {
    match v {
        CompValue::String(s) => Some(s),
        _ => None,
    }
}

fn like_pattern(op: CompareOp, value: &str) -> String {
    let escaped: String = value
        .chars()
        .flat_map(|c| match c {
            '\\' | '%' | '_' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    match op {
        CompareOp::Co => format!("%{escaped}%"),
        CompareOp::Sw => format!("{escaped}%"),
        _ => format!("%{escaped}"),
    }
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "LIKE",
    }
}

impl<'a> Translator<'a> {
    /// A translator writing binds into `sql`.
    pub fn new(registry: &'a Registry, kind: ResourceKind, sql: &'a mut Sql) -> Self {
        Translator { registry, kind, sql, tenant: None }
    }

    /// Tell the translator the placeholder holding the statement's tenant id (`r.tenant_id`).
    pub fn with_tenant(mut self, placeholder: &str) -> Self {
        self.tenant = Some(placeholder.to_string());
        self
    }

    /// Translate a whole filter into a condition on `r`.
    pub fn filter(&mut self, f: &Filter) -> ScimResult<String> {
        self.node(f, Scope::Resource)
    }

    /// Translate a filter on one member of a group (paths `value`, `type`, `display`) into a
    /// condition on a `group_members` row; returns the row's alias and the condition.
    pub fn member_filter(&mut self, f: &Filter) -> ScimResult<(String, String)> {
        let m = self.sql.alias("m");
        let cond = self.node(f, Scope::Members(&m))?;
        Ok((m, cond))
    }

    fn node(&mut self, f: &Filter, scope: Scope<'_>) -> ScimResult<String> {
        match f {
            Filter::And(a, b) => Ok(format!("({} AND {})", self.node(a, scope)?, self.node(b, scope)?)),
            Filter::Or(a, b) => Ok(format!("({} OR {})", self.node(a, scope)?, self.node(b, scope)?)),
            // Unknown (NULL) counts as false under `not`, so an absent attribute satisfies it.
            Filter::Not(a) => Ok(format!("(NOT COALESCE({}, false))", self.node(a, scope)?)),
            Filter::Present(path) => self.leaf(path, scope, None),
            Filter::Compare { path, op, value } => self.leaf(path, scope, Some((*op, value))),
            Filter::ValuePath { path, filter } => match scope {
                Scope::Resource => self.value_path(path, filter),
                _ => Err(ScimError::invalid_filter(
                    "a value filter cannot be nested inside another value filter",
                )),
            },
        }
    }

    /// `attr[filter]` on the resource.
    fn value_path(&mut self, path: &AttrPath, inner: &Filter) -> ScimResult<String> {
        if path.sub.is_some() {
            return Err(ScimError::invalid_filter(
                "a value filter applies to an attribute, not a sub-attribute",
            ));
        }
        let target = resolve(self.registry, self.kind, path)?;
        if !target.attr.multi_valued {
            return Err(ScimError::invalid_filter(format!(
                "{} is not multi-valued; value filters [..] apply to multi-valued attributes",
                target.attr.name
            )));
        }
        self.exists(&target, inner)
    }

    /// `EXISTS` over the elements of a multi-valued attribute, with `cond` on one element.
    fn exists(&mut self, target: &Resolved, cond: &Filter) -> ScimResult<String> {
        match (self.kind, target.urn, target.attr.name) {
            (ResourceKind::Group, None, "members") => {
                let m = self.sql.alias("m");
                let inner = self.node(cond, Scope::Members(&m))?;
                Ok(format!(
                    "EXISTS (SELECT 1 FROM group_members {m} \
                     WHERE {m}.tenant_id = r.tenant_id AND {m}.group_id = r.id AND {inner})"
                ))
            }
            (ResourceKind::User, None, "groups") => {
                // `groups.value eq "<id>"` (the membership probe): everyone the group's
                // assignments reach, computed once by walking down the tree, rather than every
                // user's groups walked up. Same set: a user is in G's effective members exactly
                // when G is among the user's direct or indirect groups.
                if let (Some(t), Some(group)) = (self.tenant.clone(), group_id_equality(cond)) {
                    let p = self.sql.bind(Bind::Uuid(group));
                    return Ok(format!(
                        "r.id IN (SELECT em.member_id FROM roster_group_effective_members({t}, {p}) em)"
                    ));
                }
                let g = self.sql.alias("g");
                let inner = self.node(cond, Scope::Groups(&g))?;
                Ok(format!(
                    "EXISTS (SELECT 1 FROM roster_member_groups(r.tenant_id, r.id) {g} WHERE {inner})"
                ))
            }
            (ResourceKind::User, Some(ROSTER_USER_SCHEMA), "groupRoles") => {
                // The member's direct memberships (index group_members_member).
                let gr = self.sql.alias("gr");
                let inner = self.node(cond, Scope::GroupRoles(&gr))?;
                Ok(format!(
                    "EXISTS (SELECT 1 FROM group_members {gr} WHERE {gr}.tenant_id = r.tenant_id \
                     AND {gr}.member_id = r.id AND {gr}.member_type = 'User' AND {inner})"
                ))
            }
            _ => {
                let e = self.sql.alias("e");
                let inner = self.node(cond, Scope::Json(&e, target.attr))?;
                let mut base = String::from("r.resource");
                if let Some(u) = target.urn {
                    base = format!("({base} -> '{u}')");
                }
                let arr = format!("({base} -> '{}')", target.attr.name);
                let exists = format!(
                    "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof({arr}) = 'array' THEN {arr} ELSE '[]'::jsonb END) AS {e}(v) WHERE {inner})"
                );
                // An indexable pre-check for email equality (users.email_keys, GIN). Under
                // row-level security the GIN condition cannot drive the index (`@>` is not
                // leakproof), so the candidates come from `roster_user_ids_by_email` (migration
                // 000026) when the statement binds its tenant.
                match (self.kind, target.attr.name, email_equality(cond)) {
                    (ResourceKind::User, "emails", Some(value)) => {
                        let p = self.sql.bind(Bind::TextArray(vec![value.to_lowercase()]));
                        let candidates = self.tenant.as_ref().map_or(String::new(), |t| {
                            format!(" AND r.id IN (SELECT roster_user_ids_by_email({t}, {p}::text[]))")
                        });
                        Ok(format!("(r.email_keys @> {p}::text[]{candidates} AND {exists})"))
                    }
                    _ => Ok(exists),
                }
            }
        }
    }

    /// A comparison (`Some`) or presence test (`None`) on a path in a scope.
    fn leaf(
        &mut self,
        path: &AttrPath,
        scope: Scope<'_>,
        cmp: Option<(CompareOp, &CompValue)>,
    ) -> ScimResult<String> {
        let column = match scope {
            Scope::Resource => {
                if path.urn.is_none() && path.sub.is_none() && path.name.eq_ignore_ascii_case("schemas") {
                    return self.schemas_leaf(cmp);
                }
                let target = resolve(self.registry, self.kind, path)?;
                if target.attr.multi_valued {
                    // `emails.value eq x`, `emails eq x` (the element's value), `emails pr`.
                    let sub = AttrPath {
                        urn: None,
                        name: target.sub.map_or("value", |s| s.name).to_string(),
                        sub: None,
                    };
                    let cond = match cmp {
                        None if target.sub.is_none() => {
                            return self.exists(&target, &Filter::Present(any_element()))
                        }
                        None => Filter::Present(sub),
                        Some((CompareOp::Ne, v)) => {
                            let eq = Filter::Compare { path: sub, op: CompareOp::Eq, value: v.clone() };
                            return Ok(format!("(NOT COALESCE({}, false))", self.exists(&target, &eq)?));
                        }
                        Some((op, v)) => Filter::Compare { path: sub, op, value: v.clone() },
                    };
                    return self.exists(&target, &cond);
                }
                column(self.kind, &target)?
            }
            Scope::Json(e, attr) => {
                if path.urn.is_some() || path.sub.is_some() {
                    return Err(ScimError::invalid_filter(
                        "inside [..] use the sub-attribute name alone, e.g. type",
                    ));
                }
                if path.name == ANY_ELEMENT {
                    return Ok("true".into());
                }
                let sub = if attr.ty == AttrType::Complex {
                    attr.sub_attribute(&path.name).ok_or_else(|| {
                        ScimError::invalid_filter(format!(
                            "{} has no sub-attribute {:?}",
                            attr.name, path.name
                        ))
                    })?
                } else if path.name.eq_ignore_ascii_case("value") {
                    attr
                } else {
                    return Err(ScimError::invalid_filter(format!("{} has no sub-attributes", attr.name)));
                };
                if attr.ty == AttrType::Complex {
                    json_column(&format!("{e}.v"), &[sub.name], sub)
                } else {
                    json_column(&format!("jsonb_build_object('value', {e}.v)"), &["value"], sub)
                }
            }
            Scope::Members(m) => match path.name.to_ascii_lowercase().as_str() {
                n if n == ANY_ELEMENT => return Ok("true".into()),
                "value" => Column::Uuid(format!("{m}.member_id")),
                "type" => Column::Text { sql: format!("{m}.member_type"), case_exact: false, folded: false },
                // Roster keeps no per-membership display (see directory::groups): never present.
                "display" => Column::Text { sql: "NULL::text".into(), case_exact: false, folded: false },
                _ => {
                    return Err(ScimError::invalid_filter(format!("members.{} is not filterable", path.name)))
                }
            },
            Scope::Groups(g) => match path.name.to_ascii_lowercase().as_str() {
                n if n == ANY_ELEMENT => return Ok("true".into()),
                "value" => Column::Uuid(format!("{g}.group_id")),
                "type" => Column::Text { sql: format!("{g}.type"), case_exact: false, folded: false },
                "display" => Column::Text { sql: format!("{g}.display"), case_exact: false, folded: false },
                _ => {
                    return Err(ScimError::invalid_filter(format!("groups.{} is not filterable", path.name)))
                }
            },
            Scope::GroupRoles(gr) => match path.name.to_ascii_lowercase().as_str() {
                n if n == ANY_ELEMENT => return Ok("true".into()),
                "value" => Column::Uuid(format!("{gr}.group_id")),
                "role" => Column::Text { sql: format!("{gr}.group_role"), case_exact: false, folded: false },
                "display" => Column::Text {
                    sql: format!(
                        "(SELECT g.display_name FROM groups g WHERE g.tenant_id = {gr}.tenant_id AND g.id = {gr}.group_id)"
                    ),
                    case_exact: false,
                    folded: false,
                },
                _ => {
                    return Err(ScimError::invalid_filter(format!(
                        "groupRoles.{} is not filterable; use value, display or role",
                        path.name
                    )))
                }
            },
        };
        match cmp {
            None => Ok(present(&column)),
            Some((op, value)) => self.compare(&column, op, value),
        }
    }

    /// `schemas eq "urn"`: which schemas a resource has (core always, extensions when present).
    fn schemas_leaf(&mut self, cmp: Option<(CompareOp, &CompValue)>) -> ScimResult<String> {
        let Some((op, value)) = cmp else { return Ok("true".into()) };
        let urn = is_string(value)
            .ok_or_else(|| ScimError::invalid_filter("schemas compares with a string URN"))?;
        let has = if urn.eq_ignore_ascii_case(self.kind.core_schema()) {
            "true".to_string()
        } else if let Some(ext) = self.registry.extension_urn(self.kind, urn) {
            format!("(r.resource ? '{ext}')")
        } else {
            "false".to_string()
        };
        match op {
            CompareOp::Eq => Ok(has),
            CompareOp::Ne => Ok(format!("(NOT {has})")),
            _ => Err(ScimError::invalid_filter("schemas supports only eq and ne")),
        }
    }

    fn compare(&mut self, column: &Column, op: CompareOp, value: &CompValue) -> ScimResult<String> {
        if let CompValue::Null = value {
            return match op {
                CompareOp::Eq => Ok(format!("(NOT {})", present(column))),
                CompareOp::Ne => Ok(present(column)),
                _ => Err(ScimError::invalid_filter(format!(
                    "null can only be compared with eq or ne, not {}",
                    op
                ))),
            };
        }
        if op == CompareOp::Ne {
            let eq = self.compare(column, CompareOp::Eq, value)?;
            return Ok(format!("(NOT COALESCE({eq}, false))"));
        }
        let mismatch = |expected: &str| ScimError::invalid_filter(format!("{} needs {expected} here", op));
        match column {
            Column::Text { sql, case_exact, folded } => {
                let v = is_string(value).ok_or_else(|| mismatch("a string value"))?;
                let (lhs, v) = match (case_exact, folded) {
                    (_, true) => (sql.clone(), fold_key(v)),
                    (true, false) => (sql.clone(), v.to_string()),
                    (false, false) => (format!("lower({sql})"), v.to_lowercase()),
                };
                match op {
                    CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                        let p = self.sql.bind(Bind::Text(like_pattern(op, &v)));
                        // The prefix and trigram indexes of userName, which LIKE cannot drive
                        // under row-level security: candidates from `roster_user_ids_by_name`
                        // (migration 000026).
                        let candidates = match &self.tenant {
                            Some(t) if self.kind == ResourceKind::User && lhs == "r.user_name_key" => {
                                format!(" AND r.id IN (SELECT roster_user_ids_by_name({t}, {p}))")
                            }
                            _ => String::new(),
                        };
                        Ok(format!("({lhs} LIKE {p} ESCAPE '\\'{candidates})"))
                    }
                    _ => {
                        let p = self.sql.bind(Bind::Text(v));
                        Ok(format!("({lhs} {} {p})", sql_op(op)))
                    }
                }
            }
            Column::Bool(sql) => match (op, value) {
                (CompareOp::Eq, CompValue::Bool(b)) => Ok(format!("({sql} = {b})")),
                (CompareOp::Eq, CompValue::String(t))
                    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") =>
                {
                    Ok(format!("({sql} = {})", t.to_ascii_lowercase()))
                }
                _ => Err(ScimError::invalid_filter(format!(
                    "boolean attributes support eq and ne with true or false, not {}",
                    op
                ))),
            },
            Column::Number(sql) => match (op, value) {
                (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, _) => Err(mismatch("a string attribute")),
                (_, CompValue::Number(n)) => {
                    let p = self.sql.bind(Bind::Text(n.to_string()));
                    Ok(format!("({sql} {} {p}::numeric)", sql_op(op)))
                }
                _ => Err(mismatch("a number")),
            },
            Column::Time(sql) => {
                let v = is_string(value).ok_or_else(|| mismatch("a dateTime string"))?;
                if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                    return Err(mismatch(
                        "a string attribute (dateTime attributes support eq ne gt ge lt le)",
                    ));
                }
                let t = DateTime::parse_from_rfc3339(v).map_err(|_| {
                    ScimError::invalid_filter(format!("{v:?} is not a dateTime (e.g. 2011-05-13T04:42:34Z)"))
                })?;
                let p = self.sql.bind(Bind::Text(t.to_rfc3339()));
                Ok(format!("({sql} {} {p}::timestamptz)", sql_op(op)))
            }
            Column::Uuid(sql) => {
                let v = is_string(value).ok_or_else(|| mismatch("a string value"))?;
                match (op, Uuid::parse_str(v)) {
                    (CompareOp::Eq, Ok(id)) => {
                        let p = self.sql.bind(Bind::Uuid(id));
                        Ok(format!("({sql} = {p})"))
                    }
                    // No resource has an id that is not a UUID.
                    (CompareOp::Eq, Err(_)) => Ok("false".into()),
                    _ => {
                        let text =
                            Column::Text { sql: format!("{sql}::text"), case_exact: false, folded: false };
                        self.compare(&text, op, value)
                    }
                }
            }
            Column::Complex(_) => Err(ScimError::invalid_filter(
                "a complex attribute can only be tested with pr; compare one of its sub-attributes",
            )),
        }
    }
}

/// Marker path meaning "any element" (for `emails pr`).
const ANY_ELEMENT: &str = "\u{0}any";

fn any_element() -> AttrPath {
    AttrPath { urn: None, name: ANY_ELEMENT.into(), sub: None }
}

fn present(column: &Column) -> String {
    match column {
        Column::Text { sql, .. } => format!("({sql} IS NOT NULL AND {sql} <> '')"),
        Column::Complex(sql) => {
            format!("({sql} IS NOT NULL AND jsonb_typeof({sql}) <> 'null' AND {sql} <> '{{}}'::jsonb AND {sql} <> '[]'::jsonb)")
        }
        Column::Bool(sql) | Column::Number(sql) | Column::Time(sql) | Column::Uuid(sql) => {
            format!("({sql} IS NOT NULL)")
        }
    }
}

/// The value of a top-level `value eq "..."` conjunct of an element filter, if there is one.
/// `value eq "<uuid>"` inside `groups`: the group id it names.
fn group_id_equality(f: &Filter) -> Option<Uuid> {
    match f {
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::String(v) }
            if path.sub.is_none() && path.urn.is_none() && path.name.eq_ignore_ascii_case("value") =>
        {
            Uuid::parse_str(v).ok()
        }
        _ => None,
    }
}

fn email_equality(f: &Filter) -> Option<&str> {
    match f {
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::String(v) }
            if path.sub.is_none() && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(v)
        }
        Filter::And(a, b) => email_equality(a).or_else(|| email_equality(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath { urn: None, name: name.into(), sub: sub.map(str::to_string) }
    }

    fn translate(kind: ResourceKind, f: &Filter) -> ScimResult<(String, Vec<Bind>)> {
        let registry = Registry::standard();
        let mut sql = Sql::default();
        let text = Translator::new(&registry, kind, &mut sql).filter(f)?;
        Ok((text, sql.binds))
    }

    #[test]
    fn user_name_eq_uses_the_folded_indexed_column_and_binds_the_value() {
        let f = Filter::Compare {
            path: path("USERNAME", None),
            op: CompareOp::Eq,
            value: CompValue::String("BJensen'; DROP TABLE users; --".into()),
        };
        let (sql, binds) = translate(ResourceKind::User, &f).unwrap();
        assert_eq!(sql, "(r.user_name_key = $1)");
        assert_eq!(binds, vec![Bind::Text("bjensen'; drop table users; --".into())]);
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(like_pattern(CompareOp::Co, "50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(like_pattern(CompareOp::Sw, "ab"), "ab%");
        assert_eq!(like_pattern(CompareOp::Ew, "ab"), "%ab");
    }

    #[test]
    fn unknown_attributes_and_type_mismatches_are_invalid_filter() {
        for f in [
            Filter::Present(path("shoeSize", None)),
            Filter::Present(path("name", Some("nickname"))),
            Filter::Compare { path: path("active", None), op: CompareOp::Co, value: CompValue::Bool(true) },
            Filter::Compare {
                path: path("active", None),
                op: CompareOp::Eq,
                value: CompValue::String("x".into()),
            },
            Filter::Compare {
                path: path("meta", Some("lastModified")),
                op: CompareOp::Gt,
                value: CompValue::String("yesterday".into()),
            },
            Filter::Compare {
                path: path("name", None),
                op: CompareOp::Eq,
                value: CompValue::String("x".into()),
            },
            Filter::ValuePath {
                path: path("userName", None),
                filter: Box::new(Filter::Present(path("value", None))),
            },
        ] {
            let err = translate(ResourceKind::User, &f).unwrap_err();
            assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidFilter"), "{f:?}");
        }
        let err = translate(ResourceKind::Group, &Filter::Present(path("userName", None))).unwrap_err();
        assert!(err.detail().contains("userName"), "{}", err.detail());
    }

    #[test]
    fn membership_probe_is_an_indexed_exists() {
        let g = Uuid::now_v7();
        let u = Uuid::now_v7();
        let f = Filter::And(
            Box::new(Filter::Compare {
                path: path("id", None),
                op: CompareOp::Eq,
                value: CompValue::String(g.to_string()),
            }),
            Box::new(Filter::ValuePath {
                path: path("members", None),
                filter: Box::new(Filter::Compare {
                    path: path("value", None),
                    op: CompareOp::Eq,
                    value: CompValue::String(u.to_string()),
                }),
            }),
        );
        let (sql, binds) = translate(ResourceKind::Group, &f).unwrap();
        assert!(sql.starts_with("((r.id = $1) AND EXISTS (SELECT 1 FROM group_members m1"), "{sql}");
        assert!(sql.contains("(m1.member_id = $2)"), "{sql}");
        assert_eq!(binds, vec![Bind::Uuid(g), Bind::Uuid(u)]);
    }

    #[test]
    fn work_email_equality_gets_the_gin_precheck() {
        let f = Filter::ValuePath {
            path: path("emails", None),
            filter: Box::new(Filter::And(
                Box::new(Filter::Compare {
                    path: path("type", None),
                    op: CompareOp::Eq,
                    value: CompValue::String("work".into()),
                }),
                Box::new(Filter::Compare {
                    path: path("value", None),
                    op: CompareOp::Eq,
                    value: CompValue::String("A@X.com".into()),
                }),
            )),
        };
        let (sql, binds) = translate(ResourceKind::User, &f).unwrap();
        assert!(sql.starts_with("(r.email_keys @> $3::text[] AND EXISTS"), "{sql}");
        assert_eq!(binds[2], Bind::TextArray(vec!["a@x.com".into()]));
    }
}
