//! The plan of an import: for every row, `create`, `update` (with the changed fields),
//! `unchanged`, `skipped` (a member the import does not own) or `error` (with the reason); the
//! categories to create; and with `--sync`, the imported members to suspend. Pure: the tenant's
//! state comes in as data, so a dry run and an apply compute exactly the same plan.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::catalog::{Category, Kind};
use super::mapping::{ColumnUse, Field};
use super::parse::Row;
use crate::db::imports::{ImportMember, TeamRow};
use crate::db::users::status::PROVISIONED;
use crate::scim::resource::fold_key;
use crate::text::quote;

/// Where category values live in a member's resource.
pub const USER_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

/// What the import does with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A new member.
    Create,
    /// An existing imported member changes.
    Update,
    /// An existing imported member already matches the row.
    Unchanged,
    /// A member the import does not own (provisioned over SCIM or by an admin).
    Skipped,
    /// The row cannot be imported.
    Error,
}

impl Action {
    /// The name in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Skipped => "skipped",
            Action::Error => "error",
        }
    }
}

/// The member state a row asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The SCIM resource to store.
    pub resource: Map<String, Value>,
    /// Identity key.
    pub personal_id: String,
    /// Tags.
    pub comment: Option<String>,
    /// Base role.
    pub base_role: Option<String>,
    /// Groups to join (not yet joined).
    pub join: Vec<Uuid>,
    /// Groups to leave: with `--sync` and a `teamid` column, the direct groups the row no
    /// longer lists.
    pub leave: Vec<Uuid>,
    /// The group role (`member` / `manager`) of the row's groups, from a `grouprole` cell;
    /// `None`: new memberships are `member`, existing ones keep theirs.
    pub group_role: Option<String>,
    /// Groups of the row the member is already in with another group role than `group_role`.
    pub regroup: Vec<Uuid>,
    /// Lifecycle status (kept for an active member, `provisioned` for a new or reactivated one).
    pub status: String,
}

/// A row's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct RowPlan {
    /// Line in the file.
    pub line: usize,
    /// The row's identity key, when it has one.
    pub personal_id: Option<String>,
    /// What happens.
    pub action: Action,
    /// The member it matched (set after apply for created members).
    pub member_id: Option<Uuid>,
    /// Changed fields (`update`) in import terms: `firstname`, `email`, `teams`, a category...
    pub changes: Vec<String>,
    /// Why the row is skipped or in error.
    pub reason: Option<String>,
    /// What to write for `create` and `update`.
    pub desired: Option<Desired>,
    /// SCIM attribute names that change (the `member.updated` payload), for `update`.
    pub changed_attributes: Vec<String>,
    /// Whether an `update` reactivates a suspended member.
    pub reactivates: bool,
    /// Whether an `update` restores a removed member (same id, within retention).
    pub restores: bool,
}

/// A member `--sync` suspends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    /// Member id.
    pub member_id: Uuid,
    /// Its identity key.
    pub personal_id: Option<String>,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One entry per data row, in file order.
    pub rows: Vec<RowPlan>,
    /// Categories created on apply (dropdowns with the values collected from the file).
    pub new_categories: Vec<Category>,
    /// Members suspended by `--sync`.
    pub suspend: Vec<Suspension>,
}

impl Plan {
    /// How many rows have this action.
    pub fn count(&self, action: Action) -> usize {
        self.rows.iter().filter(|r| r.action == action).count()
    }
}

/// The tenant's state a plan is computed against.
#[derive(Debug, Clone)]
pub struct Snapshot<'a> {
    /// Role catalog: (name, caseless key).
    pub roles: &'a [(String, String)],
    /// The role new members get.
    pub default_role: &'a str,
    /// The tenant's groups.
    pub teams: &'a [TeamRow],
    /// Members the import may match or suspend.
    pub members: &'a [ImportMember],
    /// Their direct groups: (member, group, group role).
    pub member_groups: &'a [(Uuid, Uuid, String)],
    /// Removed members from earlier imports still within retention, each with the status it
    /// gets back when restored.
    pub removed: &'a [ImportMember],
}

/// A row's values once read and checked.
#[derive(Debug, Default)]
struct Values {
    first: String,
    last: String,
    email: String,
    personal_id: String,
    comment: Option<Option<String>>,
    teams: Vec<Uuid>,
    group_role: Option<String>,
    role: Option<String>,
    position: Option<Option<String>>,
    categories: Vec<(String, String, Option<Value>)>,
}

/// Direct memberships by (member, group), with their group role.
type Groups<'a> = HashMap<(Uuid, Uuid), &'a str>;

/// The categories a row may write, with dropdown values collected for new dropdowns.
struct CategoryColumns {
    new: Vec<Category>,
}

/// Compute the plan.
pub fn plan(rows: &[Row], uses: &[ColumnUse], snapshot: &Snapshot<'_>, sync: bool) -> Plan {
    let mut cats = CategoryColumns {
        new: uses
            .iter()
            .filter_map(|u| match u {
                ColumnUse::NewCategory(n) => Some(Category {
                    name: n.name.clone(),
                    display_name: n.display_name.clone(),
                    kind: n.kind,
                    allowed_values: Vec::new(),
                    source: None,
                }),
                _ => None,
            })
            .collect(),
    };
    let by_pid: HashMap<&str, &ImportMember> =
        snapshot.members.iter().filter_map(|m| m.personal_id.as_deref().map(|p| (p, m))).collect();
    let by_key: HashMap<&str, &ImportMember> =
        snapshot.members.iter().map(|m| (m.user_name_key.as_str(), m)).collect();
    // Members the import does not own, by any of their emails (a SCIM member whose userName is
    // not its email is still the same person).
    let by_email: HashMap<&str, &ImportMember> = snapshot
        .members
        .iter()
        .filter(|m| m.origin != "import")
        .flat_map(|m| m.email_keys.iter().flatten().map(move |k| (k.as_str(), m)))
        .collect();
    let groups: Groups<'_> = snapshot.member_groups.iter().map(|(m, g, r)| ((*m, *g), r.as_str())).collect();
    let removed_pid: HashMap<&str, &ImportMember> =
        snapshot.removed.iter().filter_map(|m| m.personal_id.as_deref().map(|p| (p, m))).rev().collect();
    let removed_key: HashMap<&str, &ImportMember> =
        snapshot.removed.iter().map(|m| (m.user_name_key.as_str(), m)).rev().collect();
    let restorable = Restorable { by_pid: removed_pid, by_key: removed_key };
    // With `--sync`, a `teamid` column lists all of a member's groups: the others are left.
    let sync_teams = sync && uses.contains(&ColumnUse::Field(Field::TeamId));
    let mut seen_pid: HashMap<String, usize> = HashMap::new();
    let mut seen_key: HashMap<String, usize> = HashMap::new();
    let mut present: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let values = read_row(row, uses, snapshot, &mut cats);
        let plan = match values {
            Err((pid, reasons)) => {
                if let Some(p) = &pid {
                    present.insert(p.clone());
                }
                error_row(row.line, pid, reasons.join("; "))
            }
            Ok(v) => {
                present.insert(v.personal_id.clone());
                let key = fold_key(&v.email);
                if let Some(first) = seen_pid.get(&v.personal_id) {
                    error_row(row.line, Some(v.personal_id), format!("personalid is also on line {first}"))
                } else if let Some(first) = seen_key.get(&key) {
                    error_row(row.line, Some(v.personal_id), format!("email is also on line {first}"))
                } else {
                    seen_pid.insert(v.personal_id.clone(), row.line);
                    seen_key.insert(key.clone(), row.line);
                    let holder = by_key.get(key.as_str()).or_else(|| by_email.get(key.as_str())).copied();
                    let ctx = MatchContext {
                        by_pid: &by_pid,
                        groups: &groups,
                        restorable: &restorable,
                        sync_teams,
                    };
                    match_member(row.line, v, holder, &ctx, snapshot)
                }
            }
        };
        out.push(plan);
    }
    let suspend = if sync {
        snapshot
            .members
            .iter()
            .filter(|m| m.origin == "import" && m.active)
            .filter(|m| m.personal_id.as_ref().is_none_or(|p| !present.contains(p)))
            .map(|m| Suspension { member_id: m.id, personal_id: m.personal_id.clone() })
            .collect()
    } else {
        Vec::new()
    };
    Plan { rows: out, new_categories: cats.new, suspend }
}

fn error_row(line: usize, personal_id: Option<String>, reason: String) -> RowPlan {
    RowPlan {
        line,
        personal_id,
        action: Action::Error,
        member_id: None,
        changes: Vec::new(),
        reason: Some(reason),
        desired: None,
        changed_attributes: Vec::new(),
        reactivates: false,
        restores: false,
    }
}

/// Removed members a row may restore, by personal id and by folded email (the most recently
/// removed first).
struct Restorable<'a> {
    by_pid: HashMap<&'a str, &'a ImportMember>,
    by_key: HashMap<&'a str, &'a ImportMember>,
}

/// What matching a row needs besides the row.
struct MatchContext<'a, 'b> {
    by_pid: &'b HashMap<&'a str, &'a ImportMember>,
    groups: &'b Groups<'a>,
    restorable: &'b Restorable<'a>,
    sync_teams: bool,
}

/// A plausible email address: one `@`, a local part, a dotted domain, no spaces.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn read_row(
    row: &Row,
    uses: &[ColumnUse],
    snapshot: &Snapshot<'_>,
    cats: &mut CategoryColumns,
) -> Result<Values, (Option<String>, Vec<String>)> {
    let mut v = Values::default();
    let mut errors = Vec::new();
    if let Some(n) = row.extra_fields {
        errors.push(format!("the row has {n} fields but the header has {}", uses.len()));
    }
    let mut pid_cell = None;
    for (use_, cell) in uses.iter().zip(&row.cells) {
        let cell = cell.trim();
        let opt = (!cell.is_empty()).then(|| cell.to_string());
        match use_ {
            ColumnUse::Field(Field::FirstName) => v.first = cell.into(),
            ColumnUse::Field(Field::LastName) => v.last = cell.into(),
            ColumnUse::Field(Field::Email) => v.email = cell.into(),
            ColumnUse::Field(Field::PersonalId) => pid_cell = opt,
            ColumnUse::Field(Field::Comment) => v.comment = Some(opt),
            ColumnUse::Field(Field::Position) => v.position = Some(opt),
            ColumnUse::Field(Field::Role) if cell.is_empty() => {}
            ColumnUse::Field(Field::Role) => {
                match snapshot.roles.iter().find(|(_, k)| *k == fold_key(cell)) {
                    Some((name, _)) => v.role = Some(name.clone()),
                    None => errors.push(format!(
                        "unknown role {} (roles: {})",
                        quote(cell),
                        snapshot.roles.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            ColumnUse::Field(Field::GroupRole) => match cell.to_ascii_lowercase().as_str() {
                "" => {}
                r @ ("member" | "manager") => v.group_role = Some(r.to_string()),
                _ => errors.push(format!("grouprole {} must be member or manager", quote(cell))),
            },
            ColumnUse::Field(Field::TeamId) => match resolve_teams(cell, snapshot.teams) {
                Ok(ids) => v.teams = ids,
                Err(e) => errors.push(e),
            },
            ColumnUse::Category(c) => match category_value(c, cell) {
                Ok(value) => v.categories.push((c.name.clone(), c.display_name.clone(), value)),
                Err(e) => errors.push(e),
            },
            ColumnUse::NewCategory(n) => {
                let Some(c) = cats.new.iter_mut().find(|c| c.name == n.name) else { continue };
                let value = if c.kind == Kind::Dropdown {
                    collect_dropdown(c, cell)
                } else {
                    category_value(c, cell)
                };
                match value {
                    Ok(value) => v.categories.push((c.name.clone(), c.display_name.clone(), value)),
                    Err(e) => errors.push(e),
                }
            }
            ColumnUse::Ignore { .. } => {}
        }
    }
    if v.first.is_empty() {
        errors.push("missing firstname".into());
    }
    if v.last.is_empty() {
        errors.push("missing lastname".into());
    }
    if v.email.is_empty() {
        errors.push("missing email".into());
    } else if !valid_email(&v.email) {
        errors.push(format!("malformed email {}", quote(&v.email)));
    }
    for (what, text, max) in [
        ("firstname", Some(v.first.as_str()), 200),
        ("lastname", Some(v.last.as_str()), 200),
        ("personalid", pid_cell.as_deref(), 200),
        ("comment", v.comment.as_ref().and_then(|c| c.as_deref()), 2000),
        ("position", v.position.as_ref().and_then(|c| c.as_deref()), 200),
    ] {
        if text.is_some_and(|t| t.chars().count() > max) {
            errors.push(format!("{what} is longer than {max} characters"));
        }
    }
    let pid = pid_cell.or_else(|| (!v.email.is_empty()).then(|| v.email.clone()));
    if !errors.is_empty() {
        return Err((pid, errors));
    }
    v.personal_id = pid.unwrap_or_default();
    Ok(v)
}

/// The groups a `teamid` cell names: the whole cell first (a displayName may hold commas), else
/// its comma-separated parts; each a group id, an externalId or a displayName (caseless).
pub fn resolve_teams(cell: &str, teams: &[TeamRow]) -> Result<Vec<Uuid>, String> {
    if cell.is_empty() {
        return Ok(Vec::new());
    }
    if let Ok(Some(id)) = resolve_team(cell, teams) {
        return Ok(vec![id]);
    }
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for part in cell.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match resolve_team(part, teams)? {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => unknown.push(quote(part)),
        }
    }
    if unknown.is_empty() {
        Ok(ids)
    } else {
        Err(format!("unknown team {} (use a group id, externalId or displayName)", unknown.join(", ")))
    }
}

fn resolve_team(name: &str, teams: &[TeamRow]) -> Result<Option<Uuid>, String> {
    if let Ok(id) = name.parse::<Uuid>() {
        if teams.iter().any(|t| t.id == id) {
            return Ok(Some(id));
        }
    }
    let by_external: Vec<&TeamRow> =
        teams.iter().filter(|t| t.external_id.as_deref() == Some(name)).collect();
    match by_external.as_slice() {
        [one] => return Ok(Some(one.id)),
        [] => {}
        _ => {
            return Err(format!("team {} is the externalId of several groups; use the group id", quote(name)))
        }
    }
    let key = fold_key(name);
    Ok(teams.iter().find(|t| t.display_name_key == key).map(|t| t.id))
}

/// A new dropdown accepts any value; its allowed values are the distinct ones of the file
/// (caseless, first spelling kept).
fn collect_dropdown(category: &mut Category, cell: &str) -> Result<Option<Value>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    if let Some(v) = category.allowed_values.iter().find(|v| fold_key(v) == fold_key(cell)) {
        return Ok(Some(Value::String(v.clone())));
    }
    if cell.chars().count() > 200 {
        return Err(format!("{}: a dropdown value is at most 200 characters", category.display_name));
    }
    category.allowed_values.push(cell.to_string());
    Ok(Some(Value::String(cell.to_string())))
}

/// A cell as the value of a category of its kind (`None` for an empty cell: no value).
pub fn category_value(category: &Category, cell: &str) -> Result<Option<Value>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    let name = &category.display_name;
    let value = match category.kind {
        Kind::Text if cell.chars().count() > 1000 => {
            return Err(format!("{name}: text is longer than 1000 characters"));
        }
        Kind::Text => Value::String(cell.into()),
        Kind::Dropdown => match category.allowed_values.iter().find(|v| fold_key(v) == fold_key(cell)) {
            Some(v) => Value::String(v.clone()),
            None => {
                return Err(format!(
                    "{name}: {} is not one of the allowed values ({})",
                    quote(cell),
                    category.allowed_values.join(", ")
                ))
            }
        },
        Kind::Number => number(cell).ok_or_else(|| format!("{name}: {} is not a number", quote(cell)))?,
        Kind::Date => date(cell)
            .map(Value::String)
            .ok_or_else(|| format!("{name}: {} is not a date (use YYYY-MM-DD)", quote(cell)))?,
        Kind::Boolean => boolean(cell)
            .map(Value::Bool)
            .ok_or_else(|| format!("{name}: {} is not a boolean (use true or false)", quote(cell)))?,
    };
    Ok(Some(value))
}

/// A number: `12`, `-3.5`, or with a decimal comma (`3,5`). Whole numbers stay integers.
fn number(cell: &str) -> Option<Value> {
    let text =
        if cell.contains(',') && !cell.contains('.') { cell.replacen(',', ".", 1) } else { cell.into() };
    if let Ok(i) = text.parse::<i64>() {
        return Some(json!(i));
    }
    let f = text.parse::<f64>().ok().filter(|f| f.is_finite())?;
    if f.fract() == 0.0 && f.abs() < 1e15 {
        Some(json!(f as i64))
    } else {
        serde_json::Number::from_f64(f).map(Value::Number)
    }
}

/// An ISO date; `DD.MM.YYYY` (common in Europe) is accepted and rewritten.
fn date(cell: &str) -> Option<String> {
    use chrono::NaiveDate;
    NaiveDate::parse_from_str(cell, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(cell, "%d.%m.%Y"))
        .ok()
        .map(|d| d.format("%Y-%m-%d").to_string())
}

fn boolean(cell: &str) -> Option<bool> {
    match cell.to_lowercase().as_str() {
        "true" | "yes" | "1" | "y" | "x" | "ja" => Some(true),
        "false" | "no" | "0" | "n" | "nei" | "nej" => Some(false),
        _ => None,
    }
}

fn match_member(
    line: usize,
    v: Values,
    holder: Option<&ImportMember>,
    ctx: &MatchContext<'_, '_>,
    snapshot: &Snapshot<'_>,
) -> RowPlan {
    let pid = Some(v.personal_id.clone());
    let existing = match ctx.by_pid.get(v.personal_id.as_str()).copied() {
        Some(m) => Some(m),
        None => match holder {
            Some(m) if m.origin == "import" => {
                return error_row(
                    line,
                    pid,
                    format!(
                        "email is the userName of an imported member with personalid {:?}",
                        m.personal_id.as_deref().unwrap_or("")
                    ),
                )
            }
            other => other,
        },
    };
    if let Some(m) = existing {
        if m.origin != "import" {
            let by = if m.origin == "scim" { "provisioned over SCIM" } else { "created by an admin" };
            return RowPlan {
                action: Action::Skipped,
                member_id: Some(m.id),
                reason: Some(format!("member {by}; imports never change it")),
                ..error_row(line, pid, String::new())
            };
        }
        if holder.is_some_and(|h| h.id != m.id) {
            return error_row(line, pid, "email already belongs to another member".into());
        }
        return update(line, v, m, ctx.groups, ctx.sync_teams);
    }
    // A removed member of an earlier import, within retention: restored under its id.
    let key = fold_key(&v.email);
    let removed =
        ctx.restorable.by_pid.get(v.personal_id.as_str()).or_else(|| ctx.restorable.by_key.get(key.as_str()));
    if let Some(m) = removed.copied() {
        let mut row = update(line, v, m, ctx.groups, ctx.sync_teams);
        row.action = Action::Update;
        row.reactivates = false;
        row.restores = true;
        row.changes.retain(|c| c != "active");
        row.changes.insert(0, "restored".into());
        if let Some(d) = row.desired.as_mut() {
            d.status = m.status.clone();
        } else {
            row.desired = Some(restored_as_is(m));
        }
        return row;
    }
    let base_role = Some(v.role.clone().unwrap_or_else(|| snapshot.default_role.to_string()));
    let desired = Desired {
        resource: build_resource(Map::new(), &v),
        personal_id: v.personal_id.clone(),
        comment: v.comment.clone().flatten(),
        base_role,
        join: v.teams.clone(),
        leave: Vec::new(),
        group_role: v.group_role.clone(),
        regroup: Vec::new(),
        status: PROVISIONED.into(),
    };
    RowPlan {
        action: Action::Create,
        desired: Some(desired),
        reason: None,
        ..error_row(line, pid, String::new())
    }
}

/// The resource with the row's fields written over `base` (the old resource on update, so
/// attributes the import does not manage are kept).
fn build_resource(mut r: Map<String, Value>, v: &Values) -> Map<String, Value> {
    let full = format!("{} {}", v.first, v.last);
    r.insert("userName".into(), Value::String(v.email.clone()));
    r.insert("name".into(), json!({"givenName": v.first, "familyName": v.last, "formatted": full}));
    r.insert("displayName".into(), Value::String(full));
    r.insert("emails".into(), json!([{"value": v.email, "type": "work", "primary": true}]));
    r.insert("active".into(), Value::Bool(true));
    match &v.position {
        Some(Some(title)) => {
            r.insert("title".into(), Value::String(title.clone()));
        }
        Some(None) => {
            r.remove("title");
        }
        None => {}
    }
    if !v.categories.is_empty() {
        let mut ext = r.remove(USER_EXTENSION).and_then(|e| e.as_object().cloned()).unwrap_or_default();
        for (name, _, value) in &v.categories {
            match value {
                Some(value) => ext.insert(name.clone(), value.clone()),
                None => ext.remove(name),
            };
        }
        if !ext.is_empty() {
            r.insert(USER_EXTENSION.into(), Value::Object(ext));
        }
    }
    r
}

fn text_at<'a>(r: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(r.get(*first)?, |v, k| v.get(k))
}

/// What a restored member whose row changes nothing is written back as: its stored state.
fn restored_as_is(m: &ImportMember) -> Desired {
    Desired {
        resource: m.resource.as_object().cloned().unwrap_or_default(),
        personal_id: m.personal_id.clone().unwrap_or_default(),
        comment: m.comment.clone(),
        base_role: m.base_role.clone(),
        join: Vec::new(),
        leave: Vec::new(),
        group_role: None,
        regroup: Vec::new(),
        status: m.status.clone(),
    }
}

fn update(line: usize, v: Values, m: &ImportMember, groups: &Groups<'_>, sync_teams: bool) -> RowPlan {
    let old = m.resource.as_object().cloned().unwrap_or_default();
    let new = build_resource(old.clone(), &v);
    let mut changes = Vec::new();
    let differs = |path: &[&str]| text_at(&old, path) != text_at(&new, path);
    for (field, path) in [
        ("firstname", &["name", "givenName"][..]),
        ("lastname", &["name", "familyName"][..]),
        ("email", &["userName"][..]),
        ("position", &["title"][..]),
    ] {
        if differs(path) {
            changes.push(field.to_string());
        }
    }
    for (name, display, _) in &v.categories {
        if differs(&[USER_EXTENSION, name]) {
            changes.push(display.clone());
        }
    }
    let comment = match &v.comment {
        Some(c) => c.clone(),
        None => m.comment.clone(),
    };
    if comment != m.comment {
        changes.push("comment".into());
    }
    let base_role = v.role.clone().or_else(|| m.base_role.clone());
    if base_role != m.base_role {
        changes.push("role".into());
    }
    let join: Vec<Uuid> = v.teams.iter().copied().filter(|g| !groups.contains_key(&(m.id, *g))).collect();
    // The row's group role for the groups it lists and already has, where it differs.
    let regroup: Vec<Uuid> = match &v.group_role {
        Some(role) => {
            v.teams.iter().copied().filter(|g| groups.get(&(m.id, *g)).is_some_and(|r| r != role)).collect()
        }
        None => Vec::new(),
    };
    if !regroup.is_empty() {
        changes.push("grouprole".into());
    }
    let leave: Vec<Uuid> = if sync_teams {
        let mut gone: Vec<Uuid> = groups
            .keys()
            .filter(|(member, g)| *member == m.id && !v.teams.contains(g))
            .map(|(_, g)| *g)
            .collect();
        gone.sort();
        gone
    } else {
        Vec::new()
    };
    if !join.is_empty() || !leave.is_empty() {
        changes.push("teams".into());
    }
    let reactivates = !m.active;
    if reactivates {
        changes.push("active".into());
    }
    let mut changed_attributes = crate::events::changed_attributes(&old, &new, &["active"]);
    if comment != m.comment {
        changed_attributes.push("comment".into());
    }
    if changes.is_empty() && !changed_attributes.is_empty() {
        // Only derived attributes differ (e.g. a member stored before `formatted` was written).
        changes.clone_from(&changed_attributes);
    }
    let action = if changes.is_empty() { Action::Unchanged } else { Action::Update };
    let desired = (action == Action::Update).then(|| Desired {
        resource: new,
        personal_id: v.personal_id.clone(),
        comment,
        base_role,
        join,
        leave,
        group_role: v.group_role.clone(),
        regroup,
        status: if m.active { m.status.clone() } else { PROVISIONED.into() },
    });
    RowPlan {
        line,
        personal_id: Some(v.personal_id),
        action,
        member_id: Some(m.id),
        changes,
        reason: None,
        desired,
        changed_attributes,
        reactivates,
        restores: false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::import::mapping::{resolve, Mapping};

    fn cat(kind: Kind, allowed: &[&str]) -> Category {
        Category {
            name: "C".into(),
            display_name: "C".into(),
            kind,
            allowed_values: allowed.iter().map(|s| s.to_string()).collect(),
            source: None,
        }
    }

    fn team(id: u128, ext: Option<&str>, name: &str) -> TeamRow {
        TeamRow {
            id: Uuid::from_u128(id),
            external_id: ext.map(str::to_string),
            display_name: name.into(),
            display_name_key: fold_key(name),
        }
    }

    fn member(id: u128, origin: &str, pid: &str, email: &str, active: bool) -> ImportMember {
        ImportMember {
            id: Uuid::from_u128(id),
            origin: origin.into(),
            personal_id: Some(pid.into()),
            user_name_key: fold_key(email),
            resource: json!({
                "userName": email, "name": {"givenName": "A", "familyName": "B", "formatted": "A B"},
                "displayName": "A B", "emails": [{"value": email, "type": "work", "primary": true}], "active": active
            }),
            comment: None,
            base_role: Some("member".into()),
            active,
            status: if active { "provisioned".into() } else { "suspended".into() },
            email_keys: vec![Some(fold_key(email))],
        }
    }

    fn rows(lines: &[&[&str]]) -> Vec<Row> {
        lines
            .iter()
            .enumerate()
            .map(|(i, cells)| Row {
                line: i + 2,
                cells: cells.iter().map(|c| c.to_string()).collect(),
                extra_fields: None,
            })
            .collect()
    }

    fn run(headers: &[&str], lines: &[&[&str]], members: &[ImportMember], sync: bool) -> Plan {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let uses = resolve(&headers, &Mapping::default(), &[]).unwrap();
        let roles =
            vec![("editor".to_string(), "editor".to_string()), ("member".to_string(), "member".to_string())];
        let teams = vec![team(1, Some("T-1"), "Sales")];
        let snapshot = Snapshot {
            roles: &roles,
            default_role: "member",
            teams: &teams,
            members,
            member_groups: &[],
            removed: &[],
        };
        plan(&rows(lines), &uses, &snapshot, sync)
    }

    #[test]
    fn category_values_by_kind() {
        assert_eq!(category_value(&cat(Kind::Text, &[]), "x").unwrap(), Some(json!("x")));
        assert_eq!(category_value(&cat(Kind::Text, &[]), "").unwrap(), None);
        assert_eq!(category_value(&cat(Kind::Dropdown, &["Oslo"]), "OSLO").unwrap(), Some(json!("Oslo")));
        assert!(category_value(&cat(Kind::Dropdown, &["Oslo"]), "Rome")
            .unwrap_err()
            .contains("allowed values (Oslo)"));
        assert_eq!(category_value(&cat(Kind::Number, &[]), "12").unwrap(), Some(json!(12)));
        assert_eq!(category_value(&cat(Kind::Number, &[]), "2,5").unwrap(), Some(json!(2.5)));
        assert_eq!(category_value(&cat(Kind::Number, &[]), "3.0").unwrap(), Some(json!(3)));
        assert!(category_value(&cat(Kind::Number, &[]), "NaN").is_err());
        assert!(category_value(&cat(Kind::Number, &[]), "12 kg").is_err());
        assert_eq!(category_value(&cat(Kind::Date, &[]), "2024-02-29").unwrap(), Some(json!("2024-02-29")));
        assert_eq!(category_value(&cat(Kind::Date, &[]), "01.03.2024").unwrap(), Some(json!("2024-03-01")));
        assert!(category_value(&cat(Kind::Date, &[]), "2023-02-29").is_err());
        assert_eq!(category_value(&cat(Kind::Boolean, &[]), "Yes").unwrap(), Some(json!(true)));
        assert_eq!(category_value(&cat(Kind::Boolean, &[]), "0").unwrap(), Some(json!(false)));
        assert!(category_value(&cat(Kind::Boolean, &[]), "maybe").unwrap_err().contains("not a boolean"));
    }

    #[test]
    fn teams_by_id_external_id_and_name() {
        let teams = vec![
            team(1, Some("T-1"), "Sales"),
            team(2, None, "Audit, North"),
            team(3, Some("X"), "A"),
            team(4, Some("X"), "B"),
        ];
        let id1 = Uuid::from_u128(1).to_string();
        assert_eq!(resolve_teams(&id1, &teams).unwrap(), [Uuid::from_u128(1)]);
        assert_eq!(resolve_teams("T-1", &teams).unwrap(), [Uuid::from_u128(1)]);
        assert_eq!(resolve_teams("audit, north", &teams).unwrap(), [Uuid::from_u128(2)]);
        assert_eq!(resolve_teams("sales, a, T-1", &teams).unwrap(), [Uuid::from_u128(1), Uuid::from_u128(3)]);
        assert!(resolve_teams("X", &teams).unwrap_err().contains("several groups"));
        assert!(resolve_teams("Sales, Nope", &teams).unwrap_err().contains("unknown team \"Nope\""));
        assert!(resolve_teams("", &teams).unwrap().is_empty());
    }

    #[test]
    fn emails() {
        for ok in ["a@b.no", "first.last+tag@sub.example.com"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in ["", "a", "a@b", "@b.no", "a@@b.no", "a b@c.no", "a@b.no.", "a@.no"] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn rows_are_created_updated_unchanged_skipped_or_in_error() {
        let existing = [
            member(10, "import", "p1", "one@x.no", true),
            member(11, "scim", "s1", "scim@x.no", true),
            member(12, "import", "p2", "two@x.no", true),
            member(15, "import", "p5", "five@x.no", true),
        ];
        let p = run(
            &["firstname", "lastname", "email", "personalid", "role", "teamid"],
            &[
                &["A", "B", "one@x.no", "p1", "", ""],
                &["A", "C", "two@x.no", "p2", "", ""],
                &["N", "N", "new@x.no", "", "Editor", "Sales"],
                &["S", "S", "scim@x.no", "x9", "", ""],
                &["E", "E", "e@x.no", "", "boss", "Nowhere"],
                &["D", "D", "new@x.no", "other", "", ""],
                &["T", "T", "five@x.no", "p3", "", ""],
            ],
            &existing,
            false,
        );
        let actions: Vec<&str> = p.rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["unchanged", "update", "create", "skipped", "error", "error", "error"]);
        assert_eq!(p.rows[1].changes, ["lastname"]);
        assert_eq!(p.rows[1].changed_attributes, ["displayName", "name"]);
        let created = p.rows[2].desired.as_ref().unwrap();
        assert_eq!(created.base_role.as_deref(), Some("editor"));
        assert_eq!(created.join, [Uuid::from_u128(1)]);
        assert_eq!(created.personal_id, "new@x.no");
        assert_eq!(p.rows[3].member_id, Some(Uuid::from_u128(11)));
        assert_eq!(
            p.rows[4].reason.as_deref(),
            Some("unknown role \"boss\" (roles: editor, member); unknown team \"Nowhere\" (use a group id, externalId or displayName)")
        );
        assert_eq!(p.rows[5].reason.as_deref(), Some("email is also on line 4"));
        assert_eq!(
            p.rows[6].reason.as_deref(),
            Some("email is the userName of an imported member with personalid \"p5\"")
        );
    }

    #[test]
    fn sync_suspends_only_active_imported_members_absent_from_the_file() {
        let existing = [
            member(10, "import", "p1", "one@x.no", true),
            member(11, "scim", "s1", "scim@x.no", true),
            member(12, "import", "p2", "two@x.no", true),
            member(13, "import", "p3", "three@x.no", false),
            member(14, "import", "p4", "four@x.no", true),
        ];
        // p4's row is in error but present: a typo must not suspend anyone.
        let p = run(
            &["firstname", "lastname", "email", "personalid"],
            &[&["A", "B", "one@x.no", "p1"], &["", "B", "four@x.no", "p4"]],
            &existing,
            true,
        );
        assert_eq!(
            p.suspend,
            [Suspension { member_id: Uuid::from_u128(12), personal_id: Some("p2".into()) }]
        );
        let p = run(
            &["firstname", "lastname", "email", "personalid"],
            &[&["A", "B", "one@x.no", "p1"]],
            &existing,
            false,
        );
        assert!(p.suspend.is_empty());
    }

    #[test]
    fn new_dropdowns_collect_the_values_of_the_file() {
        let headers: Vec<String> =
            ["firstname", "lastname", "email", "By"].iter().map(|s| s.to_string()).collect();
        let mapping =
            Mapping::parse(br#"{"columns": {"By": {"category": "City", "create": {"kind": "dropdown"}}}}"#)
                .unwrap();
        let uses = resolve(&headers, &mapping, &[]).unwrap();
        let snapshot = Snapshot {
            roles: &[],
            default_role: "member",
            teams: &[],
            members: &[],
            member_groups: &[],
            removed: &[],
        };
        let lines: &[&[&str]] = &[
            &["A", "A", "a@x.no", "Oslo"],
            &["B", "B", "b@x.no", "oslo"],
            &["C", "C", "c@x.no", "Bergen"],
            &["D", "D", "d@x.no", ""],
        ];
        let p = plan(&rows(lines), &uses, &snapshot, false);
        assert_eq!(p.new_categories[0].allowed_values, ["Oslo", "Bergen"]);
        let city = |i: usize| p.rows[i].desired.as_ref().unwrap().resource.get(USER_EXTENSION).cloned();
        assert_eq!(city(1), Some(json!({"City": "Oslo"})));
        assert_eq!(city(3), None);
    }
}
