//! *Members*: the list with the admin API's filters and keyset paging (the same parameter checks,
//! `http::admin::members::query`), and a member's page — attributes, groups direct and indirect,
//! the effective role with every source offering one, position, categories, invitation state and
//! history (its provisioning-log entries and events). Actions: set or clear the role override
//! (`role_admin::set_override`), record an invitation (`invitations::record`), and suspend,
//! reactivate or remove a member the IdP does not manage — through the admin API's member writes
//! (`http::admin::member_writes::run`), so the same guards (last org admin) and events apply.

use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::csrf::{NoFields, Protected};
use super::layout::{self, csrf, maybe_time, page, time, Frame};
use super::log::log_table;
use super::session::{Area, Session};
use super::ConsoleResult;
use crate::db::members::{self as store, MemberQuery, MemberView};
use crate::db::provisioning_log::{self as log_store, LogQuery};
use crate::db::{self, console as console_store, users};
use crate::directory::invitations::{self, Record};
use crate::directory::{group_admin, role_admin};
use crate::error::ScimError;
use crate::http::admin::members::{query, Params};
use crate::http::AppState;

/// Members per page.
const PAGE: i64 = 50;

/// The query string without empty values (an empty filter field means "any").
fn filled(raw: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_bytes())
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn invitation(m: &MemberView) -> String {
    match (m.invitation_count, m.last_login_at) {
        (_, Some(at)) => format!("last login {}", time(at)),
        (0, None) => "never invited".into(),
        (n, None) => format!("invited {n}×, never logged in"),
    }
}

/// GET /console/t/{t}/members?status=&role=&group=&never_invited=&never_logged_in=&origin=&q=&after=
pub async fn list(
    session: Session,
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let pairs = filled(req.query_string());
    let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let params = web::Query::<Params>::from_query(&encoded)
        .map_err(|e| ScimError::invalid_value(format!("filters: {e}")))?
        .into_inner();
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let mut q = query(&mut conn, t.id, Params { limit: Some(PAGE), ..params }).await?;
    q.limit = PAGE + 1;
    let mut members = store::list(&mut conn, t.id, &q).await?;
    let next = (members.len() as i64 > PAGE).then(|| {
        members.truncate(PAGE as usize);
        members.last().map(|m| m.id)
    });
    let roles = db::roles::catalog(&mut conn, t.id).await?;
    let groups = db::groups::tree(&mut conn, t.id, None).await?;
    let positions = db::positions::list(&mut conn, t.id).await?;
    let categories = db::categories::list(&mut conn, t.id).await?;
    let next_query = next.flatten().map(|after| {
        let mut p: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "after").cloned().collect();
        p.push(("after".into(), after.to_string()));
        serde_urlencoded::to_string(&p).unwrap_or_default()
    });
    let v = |k: &str| value(&pairs, k).to_string();
    Ok(layout::respond(page(
        "Members",
        Frame::tenant(&session, &t.slug, "Members"),
        html! {
            h1 { "Members" }
            details.add-member {
                summary { "Add a member without an identity provider" }
                form method="post" action={ "/console/t/" (t.slug) "/members" } {
                    (csrf(&session))
                    label { "userName " input type="text" name="user_name" maxlength="1024" required; }
                    label { " First name " input type="text" name="given_name" maxlength="1024"; }
                    label { " Last name " input type="text" name="family_name" maxlength="1024"; }
                    label { " Email " input type="email" name="email" maxlength="1024"; }
                    label { " Title " input type="text" name="title" maxlength="200"; }
                    " " button type="submit" { "Add member" }
                }
            }
            form.filters method="get" action={ "/console/t/" (t.slug) "/members" } {
                label { "Search" input type="text" name="q" value=(v("q")) placeholder="name, userName or email"; }
                label { "Status"
                    select name="status" {
                        option value="" { "all but removed" }
                        @for s in ["provisioned", "invited", "active", "suspended", "removed"] {
                            option value=(s) selected[v("status") == s] { (s) }
                        }
                    }
                }
                label { "Role"
                    select name="role" {
                        option value="" { "any" }
                        @for r in &roles { option value=(r.name) selected[v("role") == r.name] { (r.display_name) } }
                    }
                }
                label { "Group (with subgroups)"
                    select name="group" {
                        option value="" { "any" }
                        @for g in &groups {
                            option value=(g.id) selected[v("group") == g.id.to_string()] { (g.display_name) }
                        }
                    }
                }
                label { "Origin"
                    select name="origin" {
                        option value="" { "any" }
                        @for o in ["scim", "import", "admin", "registration"] { option value=(o) selected[v("origin") == o] { (o) } }
                    }
                }
                label { "Position"
                    select name="position" {
                        option value="" { "any" }
                        @for p in &positions { option value=(p.name) selected[v("position") == p.name] { (p.name) } }
                    }
                }
                @if !categories.is_empty() {
                    label { "Category"
                        select name="category" {
                            option value="" { "any" }
                            @for c in &categories { option value=(c.name) selected[v("category") == c.name] { (c.name) } }
                        }
                    }
                    label { "value" input type="text" name="category_value" value=(v("category_value")) size="12"; }
                }
                label { span { input type="checkbox" name="never_invited" value="true" checked[v("never_invited") == "true"]; " never invited" } }
                label { span { input type="checkbox" name="never_logged_in" value="true" checked[v("never_logged_in") == "true"]; " never logged in" } }
                button type="submit" { "Filter" }
            }
            @if members.is_empty() { p.muted { "No members match." } } @else {
                table.members {
                    tr { th { "userName" } th { "Name" } th { "Status" } th { "Role" } th { "Position" } th { "Origin" } th { "Invitation" } }
                    @for m in &members {
                        tr.member {
                            td { a href={ "/console/t/" (t.slug) "/members/" (m.id) } { (m.user_name) } }
                            td.display-name { (m.display_name.as_deref().unwrap_or("")) }
                            td { (m.status) }
                            td { (m.effective_role.as_deref().unwrap_or("—")) }
                            td { (m.position.as_deref().unwrap_or("—")) }
                            td { (m.origin) }
                            td { (invitation(m)) }
                        }
                    }
                }
            }
            @if let Some(q) = next_query {
                p { a href={ "/console/t/" (t.slug) "/members?" (q) } { "Next page →" } }
            }
        },
    )))
}

fn member_id(raw: &str) -> ConsoleResult<Uuid> {
    Ok(Uuid::parse_str(raw).map_err(|_| ScimError::not_found("no such member in this tenant"))?)
}

fn source_label(source: &str, via: Option<&str>) -> Markup {
    html! {
        @match source {
            "override" => "admin override",
            "idp" => "the identity provider (SCIM roles)",
            "group" => { "binding of group " strong { (via.unwrap_or("?")) } },
            _ => "default / import role",
        }
    }
}

/// GET /console/t/{t}/members/{m}
pub async fn show(
    session: Session,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let id = member_id(&path.1)?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    let q = MemberQuery { id: Some(id), limit: 1, ..MemberQuery::default() };
    let m = store::list(&mut conn, t.id, &q)
        .await?
        .pop()
        .ok_or_else(|| ScimError::not_found(format!("no member {id} in this tenant")))?;
    let groups = users::groups_of(&mut conn, t.id, &[id]).await?;
    let all_groups = db::groups::tree(&mut conn, t.id, None).await?;
    let sources = console_store::role_sources(&mut conn, t.id, id).await?;
    let roles = db::roles::catalog(&mut conn, t.id).await?;
    let log = log_store::list(
        &mut conn,
        t.id,
        &LogQuery { resource_id: Some(id), limit: 20, ..LogQuery::default() },
    )
    .await?;
    let events = console_store::events_of(&mut conn, t.id, id, 20).await?;
    let override_role = sources.iter().find(|s| s.source == "override").map(|s| s.role.clone());
    let giving = sources.iter().find(|s| Some(&s.role) == m.effective_role.as_ref());
    let base = format!("/console/t/{}/members/{}", t.slug, m.id);
    let title = m.display_name.clone().unwrap_or_else(|| m.user_name.clone());
    Ok(layout::respond(page(
        &title,
        Frame::tenant(&session, &t.slug, "Members"),
        html! {
            h1 { (title) }
            @if m.origin == "scim" {
                div.notice { "This member is managed by your identity provider: its attributes, status and \
                              groups come from there. The role override and invitations below do not fight it." }
            }
            section.card {
                h2 { "Attributes" }
                dl.facts {
                    dt { "userName" } dd { (m.user_name) }
                    dt { "displayName" } dd.display-name { (m.display_name.as_deref().unwrap_or("—")) }
                    dt { "Name" } dd { (m.given_name.as_deref().unwrap_or("")) " " (m.family_name.as_deref().unwrap_or("")) }
                    dt { "Email" } dd { (m.email.as_deref().unwrap_or("—")) }
                    dt { "externalId" } dd { (m.external_id.as_deref().unwrap_or("—")) }
                    dt { "Status" } dd { (m.status) }
                    dt { "Origin" } dd { (m.origin) }
                    dt { "Position" } dd { (m.position.as_deref().unwrap_or("—")) }
                    dt { "Categories" } dd {
                        @if let Some(serde_json::Value::Object(c)) = &m.categories {
                            @for (k, v) in c { (k) ": " (category_value(v)) br; }
                        } @else { "—" }
                    }
                }
            }
            @if m.origin != "scim" {
                section.card #edit {
                    h2 { "Edit" }
                    form method="post" action={ (base) "/edit" } {
                        (csrf(&session))
                        label { "displayName " input type="text" name="display_name" value=(m.display_name.as_deref().unwrap_or("")) maxlength="1024"; }
                        label { " First name " input type="text" name="given_name" value=(m.given_name.as_deref().unwrap_or("")) maxlength="1024"; }
                        label { " Last name " input type="text" name="family_name" value=(m.family_name.as_deref().unwrap_or("")) maxlength="1024"; }
                        label { " Email " input type="email" name="email" value=(m.email.as_deref().unwrap_or("")) maxlength="1024"; }
                        " " button type="submit" class="secondary" { "Save" }
                    }
                    p.muted { "An empty field is left as it is." }
                }
                section.card #status {
                    h2 { "Status" }
                    p { "Status: " strong.member-status { (m.status) } }
                    form method="post" action={ (base) "/lifecycle" } {
                        (csrf(&session))
                        @if m.status == "suspended" {
                            button type="submit" name="action" value="reactivate" class="secondary" { "Reactivate" }
                        } @else {
                            button type="submit" name="action" value="suspend" class="secondary" { "Suspend" }
                        }
                        " "
                        button type="submit" name="action" value="remove" class="danger" { "Remove" }
                    }
                }
            } @else {
                p.muted { "Suspend or remove this member in your identity provider; Roster follows it." }
            }
            section.card #role {
                h2 { "Role" }
                p.effective-role {
                    "Effective role: " strong { (m.effective_role.as_deref().unwrap_or("none")) }
                    @if let Some(s) = giving { ", from " (source_label(&s.source, s.via.as_deref())) }
                }
                @if !sources.is_empty() {
                    table {
                        tr { th { "Source" } th { "Offers" } th { "Rank" } }
                        @for s in &sources {
                            tr { td { (source_label(&s.source, s.via.as_deref())) } td { (s.role) } td { (s.rank) } }
                        }
                    }
                }
                form method="post" action={ (base) "/role" } {
                    (csrf(&session))
                    label for="override" { "Role override " }
                    select #override name="role" {
                        option value="" { "— none (use the computed role) —" }
                        @for r in &roles { option value=(r.name) selected[override_role.as_deref() == Some(r.name.as_str())] { (r.display_name) } }
                    }
                    " " button type="submit" class="secondary" { "Save override" }
                }
            }
            section.card {
                h2 { "Groups" }
                @if groups.is_empty() { p.muted { "No groups." } } @else {
                    table {
                        tr { th { "Group" } th { "Membership" } th { "Group role" } th {} }
                        @for g in &groups {
                            tr {
                                td { (g.display) } td { (g.kind) } td { (g.group_role) }
                                td {
                                    @if m.origin != "scim" && g.kind == "direct" {
                                        form.inline method="post" action={ (base) "/groups/" (g.group_id) "/leave" } {
                                            (csrf(&session))
                                            button type="submit" class="danger" { "Leave" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if m.origin != "scim" && !all_groups.is_empty() {
                    form method="post" action={ (base) "/groups" } {
                        (csrf(&session))
                        label { "Add to group "
                            select name="group" {
                                @for g in &all_groups { option value=(g.id) { (g.display_name) } }
                            }
                        }
                        label { " as "
                            select name="group_role" {
                                option value="member" { "member" }
                                option value="manager" { "manager" }
                            }
                        }
                        " " button type="submit" class="secondary" { "Add" }
                    }
                }
            }
            section.card {
                h2 { "Invitation" }
                dl.facts {
                    dt { "Invitations sent" } dd { (m.invitation_count) }
                    dt { "Last invited" } dd { (maybe_time(m.last_invited_at)) }
                    dt { "Joined" } dd { (maybe_time(m.joined_at)) }
                    dt { "Last login" } dd { (maybe_time(m.last_login_at)) }
                }
                form method="post" action={ (base) "/invitations" } {
                    (csrf(&session))
                    button type="submit" class="secondary" { "Record an invitation sent" }
                }
            }
            section.card {
                h2 { "History" }
                h3 { "Provisioning log" }
                (log_table(&log))
                h3 { "Events" }
                @if events.is_empty() { p.muted { "No events." } } @else {
                    table {
                        tr { th { "Time (UTC)" } th { "Event" } }
                        @for e in &events { tr { td { (time(e.created_at)) } td { code { (e.kind) } } } }
                    }
                }
            }
        },
    )))
}

fn category_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The override form.
#[derive(Deserialize)]
pub struct Override {
    #[serde(default)]
    role: String,
}

/// POST /console/t/{t}/members/{m}/role — set the override, or clear it with an empty choice.
pub async fn set_override(
    form: Protected<Override>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let id = member_id(&path.1)?;
    let role = Some(form.role.trim()).filter(|r| !r.is_empty());
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    role_admin::set_override(&mut conn, t.id, id, role, state.clock.now()).await?;
    Ok(layout::see_other(&format!("/console/t/{}/members/{id}#role", t.slug)))
}

/// POST /console/t/{t}/members/{m}/invitations — one invitation was sent.
pub async fn record_invitation(
    form: Protected<NoFields>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let id = member_id(&path.1)?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    invitations::record(&mut conn, &t, id, Record::Invitation, state.clock.now()).await?;
    Ok(layout::see_other(&format!("/console/t/{}/members/{id}", t.slug)))
}

/// The status form: which action.
#[derive(Deserialize)]
pub struct LifecycleAction {
    action: String,
}

/// POST /console/t/{t}/members/{m}/lifecycle `action=suspend|reactivate|remove` — refused for a
/// member the IdP manages (the IdP would undo it) and, like every path, for the last org admin.
pub async fn lifecycle(
    form: Protected<LifecycleAction>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    use crate::http::admin::member_writes::{run, Write};
    let Protected { session, form } = form;
    let id = member_id(&path.1)?;
    let what = match form.action.as_str() {
        "suspend" => Write::Suspend,
        "reactivate" => Write::Reactivate,
        "remove" => Write::Remove,
        _ => return Err(ScimError::invalid_value("action must be suspend, reactivate or remove").into()),
    };
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    not_idp_managed(&mut conn, t.id, id, "suspend or remove it there").await?;
    let profile = crate::cache::TenantProfile::load(&mut conn, &state.registry, t.id).await?;
    let removed = run(&mut conn, profile, id, what, state.clock.now()).await?.is_none();
    Ok(layout::see_other(&if removed {
        format!("/console/t/{}/members", t.slug)
    } else {
        format!("/console/t/{}/members/{id}#status", t.slug)
    }))
}

/// The "add a member" form.
#[derive(Deserialize)]
pub struct NewMember {
    user_name: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    title: String,
}

/// POST /console/t/{t}/members — add a member without an IdP (origin `admin`): the admin API's
/// member create (the SCIM create: validation, a taken userName is 409, events).
pub async fn create(
    form: Protected<NewMember>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let mut resource = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": form.user_name.trim(),
    });
    let (given, family) = (form.given_name.trim(), form.family_name.trim());
    if !given.is_empty() || !family.is_empty() {
        resource["name"] = serde_json::json!({"givenName": given, "familyName": family});
        resource["displayName"] = serde_json::json!(format!("{given} {family}").trim());
    }
    if !form.email.trim().is_empty() {
        resource["emails"] =
            serde_json::json!([{"value": form.email.trim(), "type": "work", "primary": true}]);
    }
    if !form.title.trim().is_empty() {
        resource["title"] = serde_json::json!(form.title.trim());
    }
    let id = crate::http::admin::member_writes::create_member(&mut conn, &state, t.id, &resource).await?;
    Ok(layout::see_other(&format!("/console/t/{}/members/{id}", t.slug)))
}

/// The "add to group" form.
#[derive(Deserialize)]
pub struct Join {
    group: String,
    #[serde(default)]
    group_role: String,
}

fn group_choice(raw: &str) -> ConsoleResult<Uuid> {
    Ok(Uuid::parse_str(raw.trim()).map_err(|_| ScimError::not_found("no such group in this tenant"))?)
}

/// Refuse a change the IdP would undo for a member it manages (409, saying `where_instead`).
async fn not_idp_managed(
    conn: &mut db::Conn,
    tenant: Uuid,
    id: Uuid,
    where_instead: &str,
) -> ConsoleResult<()> {
    let q = MemberQuery { id: Some(id), limit: 1, ..MemberQuery::default() };
    let m = store::list(conn, tenant, &q)
        .await?
        .pop()
        .ok_or_else(|| ScimError::not_found(format!("no member {id} in this tenant")))?;
    if m.origin == "scim" {
        return Err(ScimError::conflict(format!(
            "this member is managed by your identity provider: {where_instead}"
        ))
        .into());
    }
    Ok(())
}

/// POST /console/t/{t}/members/{m}/groups `group`, `group_role` — a direct membership (the admin
/// API's `group_admin::add_member`: the SCIM PATCH `add members`, events, roles recomputed).
pub async fn add_to_group(
    form: Protected<Join>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let id = member_id(&path.1)?;
    let group = group_choice(&form.group)?;
    let role = match form.group_role.trim() {
        "" => None,
        r @ ("member" | "manager") => Some(r),
        _ => return Err(ScimError::invalid_value("group_role must be member or manager").into()),
    };
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    not_idp_managed(&mut conn, t.id, id, "change its groups there").await?;
    let ctx = crate::http::admin::admin_context(&mut conn, &state, &t).await?;
    group_admin::add_member(&mut conn, &ctx, &state.registry, group, id, role).await?;
    Ok(layout::see_other(&format!("/console/t/{}/members/{id}", t.slug)))
}

/// POST /console/t/{t}/members/{m}/groups/{g}/leave — end a direct membership (refused, like
/// every path, when it would take the tenant's last org admin).
pub async fn leave_group(
    form: Protected<NoFields>,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let id = member_id(&path.1)?;
    let group = group_choice(&path.2)?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    not_idp_managed(&mut conn, t.id, id, "change its groups there").await?;
    let ctx = crate::http::admin::admin_context(&mut conn, &state, &t).await?;
    group_admin::remove_member(&mut conn, &ctx, &state.registry, group, id).await?;
    Ok(layout::see_other(&format!("/console/t/{}/members/{id}", t.slug)))
}

/// The edit form (an empty field is left unchanged).
#[derive(Deserialize)]
pub struct Edit {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    email: String,
}

/// POST /console/t/{t}/members/{m}/edit — the admin API's member update (a SCIM PATCH
/// `replace`), for a member the IdP does not manage.
pub async fn update(
    form: Protected<Edit>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let id = member_id(&path.1)?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    not_idp_managed(&mut conn, t.id, id, "change its attributes there").await?;
    let mut changes = serde_json::Map::new();
    let given = form.given_name.trim();
    let family = form.family_name.trim();
    if !form.display_name.trim().is_empty() {
        changes.insert("displayName".into(), form.display_name.trim().into());
    }
    let mut name = serde_json::Map::new();
    if !given.is_empty() {
        name.insert("givenName".into(), given.into());
    }
    if !family.is_empty() {
        name.insert("familyName".into(), family.into());
    }
    if !name.is_empty() {
        changes.insert("name".into(), name.into());
    }
    if !form.email.trim().is_empty() {
        let email = serde_json::json!([{"value": form.email.trim(), "type": "work", "primary": true}]);
        changes.insert("emails".into(), email);
    }
    if changes.is_empty() {
        return Err(ScimError::invalid_value("nothing to change: every field is empty").into());
    }
    let profile = crate::cache::TenantProfile::load(&mut conn, &state.registry, t.id).await?;
    crate::http::admin::member_writes::update_member(
        &mut conn,
        profile,
        id,
        changes.into(),
        state.clock.now(),
    )
    .await?;
    Ok(layout::see_other(&format!("/console/t/{}/members/{id}", t.slug)))
}
