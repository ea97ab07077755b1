//! *Groups*: the tree (expand/collapse, direct and effective member counts), creating, renaming,
//! deleting and moving a group (a parent picker; a refusal such as a cycle or a taken name is
//! shown on the tree page) and group→role bindings. Writes are the admin API's: `group_admin`
//! (the SCIM group create, PATCH and DELETE) and `role_admin::bind/unbind`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::csrf::{NoFields, Protected};
use super::layout::{self, csrf, page, Frame};
use super::session::{Area, Session};
use super::{ConsoleError, ConsoleResult};
use crate::db::groups::TreeNode;
use crate::db::roles::RoleRow;
use crate::db::tenants::Tenant;
use crate::db::{self, console as store, Conn};
use crate::directory::{group_admin, role_admin};
use crate::error::ScimError;
use crate::http::admin::admin_context;
use crate::http::admin::groups::move_group as move_in_tree;
use crate::http::AppState;

/// What the tree shows of each group besides its node.
struct Facts {
    effective: HashMap<Uuid, i64>,
    bindings: HashMap<Uuid, Vec<String>>,
    roles: Vec<RoleRow>,
}

fn node(
    session: &Session,
    slug: &str,
    g: &TreeNode,
    all: &[TreeNode],
    facts: &Facts,
    depth: usize,
) -> Markup {
    let children: Vec<&TreeNode> = all.iter().filter(|c| c.parent_id == Some(g.id)).collect();
    let bound = facts.bindings.get(&g.id).cloned().unwrap_or_default();
    let base = format!("/console/t/{slug}/groups/{}", g.id);
    html! {
        li.group data-group=(g.id) {
            details open[depth < 2] {
                summary {
                    strong.group-name { (g.display_name) }
                    @if let Some(kind) = &g.kind { " " span.muted { "(" (kind) ")" } }
                    " · " span.counts { (g.direct_members) " direct, "
                        (facts.effective.get(&g.id).copied().unwrap_or(0)) " effective" }
                    @for r in &bound { " " span.pill.ok { "role: " (r) } }
                    " · " a href={ "/console/t/" (slug) "/members?group=" (g.id) } { "members" }
                }
                div.group-actions {
                    form.inline.rename method="post" action={ (base) "/rename" } {
                        (csrf(session))
                        input type="text" name="name" value=(g.display_name) maxlength="1024" required;
                        " " button type="submit" class="secondary" { "Rename" }
                    }
                    " "
                    form.inline.delete method="post" action={ (base) "/delete" } {
                        (csrf(session))
                        button type="submit" class="danger" { "Delete" }
                    }
                    " "
                    form.inline.move method="post" action={ (base) "/parent" } {
                        (csrf(session))
                        label { "Parent " }
                        select name="parent" {
                            option value="" selected[g.parent_id.is_none()] { "(top level)" }
                            @for p in all.iter().filter(|p| p.id != g.id) {
                                option value=(p.id) selected[g.parent_id == Some(p.id)] { (p.display_name) }
                            }
                        }
                        " " button type="submit" class="secondary" { "Move" }
                    }
                    " "
                    form.inline.bind method="post" action={ (base) "/roles" } {
                        (csrf(session))
                        select name="role" {
                            @for r in &facts.roles { option value=(r.name) { (r.display_name) } }
                        }
                        " " button type="submit" class="secondary" { "Bind role" }
                    }
                    @for r in &bound {
                        " "
                        form.inline method="post" action={ (base) "/roles/" (r) "/unbind" } {
                            (csrf(session))
                            button type="submit" class="danger" { "Unbind " (r) }
                        }
                    }
                }
                @if !children.is_empty() {
                    ul.tree {
                        @for c in children { (node(session, slug, c, all, facts, depth + 1)) }
                    }
                }
            }
        }
    }
}

async fn render(
    conn: &mut Conn,
    session: &Session,
    t: &Tenant,
    error: Option<&str>,
    status: StatusCode,
) -> ConsoleResult<HttpResponse> {
    let all = db::groups::tree(conn, t.id, None).await?;
    let effective =
        store::effective_counts(conn, t.id).await?.into_iter().map(|c| (c.id, c.members)).collect();
    let mut bindings: HashMap<Uuid, Vec<String>> = HashMap::new();
    for b in role_admin::bindings(conn, t.id).await? {
        bindings.entry(b.group_id).or_default().push(b.role_name);
    }
    let roles = db::roles::catalog(conn, t.id).await?;
    let facts = Facts { effective, bindings, roles };
    let ids: Vec<Uuid> = all.iter().map(|g| g.id).collect();
    let roots: Vec<&TreeNode> =
        all.iter().filter(|g| g.parent_id.is_none_or(|p| !ids.contains(&p))).collect();
    let markup = page(
        "Groups",
        Frame::tenant(session, &t.slug, "Groups"),
        html! {
            h1 { "Groups" }
            @if let Some(e) = error { div.error #move-error { (e) } }
            p.muted { "A member of a group is an effective member of every group above it; a role bound to a \
                       group goes to its direct and effective members." }
            form.create method="post" action={ "/console/t/" (t.slug) "/groups" } {
                (csrf(session))
                label { "New group " input type="text" name="name" maxlength="1024" required; }
                " "
                label { "under "
                    select name="parent" {
                        option value="" { "(top level)" }
                        @for p in &all { option value=(p.id) { (p.display_name) } }
                    }
                }
                " " button type="submit" { "Create group" }
            }
            @if all.is_empty() { p.muted { "No groups yet: create one, or they arrive from your identity provider or an import." } }
            @else {
                ul.tree { @for g in roots { (node(session, &t.slug, g, &all, &facts, 0)) } }
            }
        },
    );
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(markup.into_string()))
}

/// GET /console/t/{t}/groups
pub async fn tree(
    session: Session,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    render(&mut conn, &session, &t, None, StatusCode::OK).await
}

fn group_id(raw: &str) -> ConsoleResult<Uuid> {
    Ok(Uuid::parse_str(raw).map_err(|_| ScimError::not_found("no such group in this tenant"))?)
}

/// The move form.
#[derive(Deserialize)]
pub struct Parent {
    #[serde(default)]
    parent: String,
}

/// POST /console/t/{t}/groups/{g}/parent — move; a refused move (a cycle, an unknown parent) shows
/// the tree again with the reason.
pub async fn move_group(
    form: Protected<Parent>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let id = group_id(&path.1)?;
    let parent = parent_choice(&form.parent)?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    let moved = move_in_tree(&mut conn, &state, &t, id, parent).await.map(drop);
    settled(&mut conn, &session, &t, moved, "moved").await
}

/// Back to the tree after a group write; a refusal the person can act on (400 such as a cycle,
/// 409 such as a taken name) shows the tree again with the reason and that status.
async fn settled(
    conn: &mut Conn,
    session: &Session,
    t: &Tenant,
    result: crate::error::ScimResult<()>,
    what: &str,
) -> ConsoleResult<HttpResponse> {
    match result {
        Ok(()) => Ok(layout::see_other(&format!("/console/t/{}/groups", t.slug))),
        Err(e) if matches!(e.status(), 400 | 409) => {
            let detail = format!("The group was not {what}: {}", e.detail());
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            render(conn, session, t, Some(&detail), status).await
        }
        Err(e) => Err(ConsoleError::from(e)),
    }
}

/// The create and rename forms.
#[derive(Deserialize)]
pub struct Named {
    name: String,
    #[serde(default)]
    parent: String,
}

fn parent_choice(raw: &str) -> ConsoleResult<Option<Uuid>> {
    match raw.trim() {
        "" => Ok(None),
        p => Ok(Some(Uuid::parse_str(p).map_err(|_| ScimError::invalid_value("parent: no such group"))?)),
    }
}

/// POST /console/t/{t}/groups `name`, `parent` — create a group (the SCIM group create).
pub async fn create(
    form: Protected<Named>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let parent = parent_choice(&form.parent)?;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let ctx = admin_context(&mut conn, &state, &t).await?;
    let created =
        group_admin::create(&mut conn, &ctx, &state.registry, form.name.trim(), parent).await.map(drop);
    settled(&mut conn, &session, &t, created, "created").await
}

/// POST /console/t/{t}/groups/{g}/rename `name` (the SCIM PATCH of `displayName`).
pub async fn rename(
    form: Protected<Named>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let id = group_id(&path.1)?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    let ctx = admin_context(&mut conn, &state, &t).await?;
    let renamed = group_admin::rename(&mut conn, &ctx, &state.registry, id, form.name.trim()).await;
    settled(&mut conn, &session, &t, renamed, "renamed").await
}

/// POST /console/t/{t}/groups/{g}/delete (the SCIM DELETE: memberships end, children move up).
pub async fn delete(
    form: Protected<NoFields>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let id = group_id(&path.1)?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    let ctx = admin_context(&mut conn, &state, &t).await?;
    let deleted = group_admin::delete(&mut conn, &ctx, id).await;
    settled(&mut conn, &session, &t, deleted, "deleted").await
}

/// The bind form.
#[derive(Deserialize)]
pub struct Bind {
    role: String,
}

/// POST /console/t/{t}/groups/{g}/roles — bind a role to the group.
pub async fn bind(
    form: Protected<Bind>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let id = group_id(&path.1)?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    role_admin::bind(&mut conn, t.id, id, form.role.trim(), state.clock.now()).await?;
    Ok(layout::see_other(&format!("/console/t/{}/groups", t.slug)))
}

/// POST /console/t/{t}/groups/{g}/roles/{role}/unbind
pub async fn unbind(
    form: Protected<NoFields>,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let id = group_id(&path.1)?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    role_admin::unbind(&mut conn, t.id, id, &path.2, state.clock.now()).await?;
    Ok(layout::see_other(&format!("/console/t/{}/groups", t.slug)))
}
