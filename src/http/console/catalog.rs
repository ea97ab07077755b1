//! *Roles, positions, categories, settings*: the tenant's role catalog, its positions with member
//! counts, its categories, and the settings an org admin changes here — default role and position
//! source (`role_admin::update_settings`), and SSO, invitations and the retention of removed
//! members (`tenants::update_member_settings`, as the admin API's `PATCH /tenants/{t}`).

use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::csrf::Protected;
use super::layout::{self, csrf, page, Frame};
use super::session::{Area, Session};
use super::ConsoleResult;
use crate::db;
use crate::directory::role_admin::{self, SettingsChange};
use crate::directory::tenants;
use crate::error::ScimError;
use crate::http::admin::admin_error;
use crate::http::AppState;

/// GET /console/t/{t}/roles
pub async fn show(
    session: Session,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let roles = db::roles::catalog(&mut conn, t.id).await?;
    let settings = db::roles::settings(&mut conn, t.id).await?;
    let positions = db::positions::list(&mut conn, t.id).await?;
    let categories = db::categories::list(&mut conn, t.id).await?;
    let (retention, invite, sso) = db::tenants::member_settings(&mut conn, t.id).await?;
    Ok(layout::respond(page(
        "Roles & settings",
        Frame::tenant(&session, &t.slug, "Roles & settings"),
        html! {
            h1 { "Roles & settings" }
            section.card {
                h2 { "Settings" }
                form method="post" action={ "/console/t/" (t.slug) "/settings" } {
                    (csrf(&session))
                    dl.facts {
                        dt { label for="default_role" { "Default role" } }
                        dd { select #default_role name="default_role" {
                            @for r in &roles { option value=(r.name) selected[r.name == settings.default_role] { (r.display_name) } }
                        } }
                        dt { label for="position_source" { "Position source" } }
                        dd { input #position_source type="text" name="position_source" value=(settings.position_source) size="60"; }
                        dt { label for="sso" { "Single sign-on" } }
                        dd { select #sso name="sso" {
                            option value="false" selected[!sso] { "off: members are invited" }
                            option value="true" selected[sso] { "on: members sign in with SSO, no invitations" }
                        } }
                        dt { label for="invite_new_members" { "Invitations" } }
                        dd { select #invite_new_members name="invite_new_members" {
                            option value="true" selected[invite] { "new members are invited" }
                            option value="false" selected[!invite] { "new members are not invited" }
                        } }
                        dt { label for="member_retention_days" { "Retention of removed members (days)" } }
                        dd { input #member_retention_days type="number" name="member_retention_days" min="0" max="3650" value=(retention); }
                    }
                    p { button type="submit" { "Save settings" } }
                }
            }
            section.card {
                h2 { "Roles" }
                table {
                    tr { th { "Name" } th { "Display name" } th { "Rank" } th { "Administrator" } }
                    @for r in &roles {
                        tr { td { code { (r.name) } } td { (r.display_name) } td { (r.rank) } td { @if r.grants_admin { "yes" } } }
                    }
                }
                p.muted { "The highest-ranked role any source offers is the member's role; an override replaces it." }
            }
            section.card {
                h2 { "Positions" }
                @if positions.is_empty() { p.muted { "No positions yet (fed from " code { (settings.position_source) } ")." } } @else {
                    table {
                        tr { th { "Position" } th { "Members" } }
                        @for p in &positions { tr { td { (p.name) } td { (p.members) } } }
                    }
                }
            }
            section.card {
                h2 { "Categories" }
                @if categories.is_empty() { p.muted { "No categories." } } @else {
                    table {
                        tr { th { "Name" } th { "Display name" } th { "Kind" } th { "Allowed values" } th { "Source" } }
                        @for c in &categories {
                            tr {
                                td { code { (c.name) } }
                                td { (c.display_name) }
                                td { (c.kind) }
                                td { (c.allowed_values.iter().flatten().cloned().collect::<Vec<_>>().join(", ")) }
                                td { (c.source.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
        },
    )))
}

/// The settings form.
#[derive(Deserialize)]
pub struct SettingsForm {
    default_role: String,
    position_source: String,
    sso: String,
    #[serde(default)]
    invite_new_members: String,
    #[serde(default)]
    member_retention_days: String,
}

/// POST /console/t/{t}/settings
pub async fn update_settings(
    form: Protected<SettingsForm>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let current = db::roles::settings(&mut conn, t.id).await?;
    let change = SettingsChange {
        default_role: Some(form.default_role.trim().to_string()).filter(|r| *r != current.default_role),
        position_source: Some(form.position_source.trim().to_string())
            .filter(|p| *p != current.position_source),
    };
    let retention =
        match form.member_retention_days.trim() {
            "" => None,
            days => Some(days.parse::<i32>().ok().filter(|d| (0..=3650).contains(d)).ok_or_else(|| {
                ScimError::invalid_value("retention: a whole number of days from 0 to 3650")
            })?),
        };
    role_admin::update_settings(&mut conn, &state.registry, t.id, change, state.clock.now()).await?;
    let members = tenants::MemberSettings {
        member_retention_days: retention,
        invite_new_members: Some(form.invite_new_members != "false"),
        sso: Some(form.sso == "true"),
    };
    tenants::update_member_settings(&mut conn, &t, members).await.map_err(admin_error)?;
    Ok(layout::see_other(&format!("/console/t/{}/roles", t.slug)))
}
