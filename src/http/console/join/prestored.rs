//! The Join page's pre-stored registrations: what the admin knows about a person (first and last
//! name, personnel number); the person who registers with exactly that data (normalised for case
//! and surrounding whitespace) becomes a member at once. Added one by one or from a CSV/XLSX
//! file (the member importer's parser, matched on the personnel number), deleted while unused or
//! after (the member it became stays).

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::{profile, render, Issued};
use crate::db::join as store;
use crate::db::tenants::Tenant;
use crate::directory::join::manage::{self, PrestoredInput};
use crate::error::ScimError;
use crate::http::console::csrf::{NoFields, Protected};
use crate::http::console::import::read_upload;
use crate::http::console::layout::{self, csrf, time};
use crate::http::console::session::{Area, Session};
use crate::http::console::ConsoleResult;
use crate::http::AppState;

/// Records shown (newest first).
const SHOWN: i64 = 200;

/// The pre-stored section of the Join page.
pub(super) async fn section(
    conn: &mut crate::db::Conn,
    session: &Session,
    t: &Tenant,
    issued: &Issued,
) -> ConsoleResult<Markup> {
    let base = super::base(t);
    let records = store::prestored(conn, t.id, None, SHOWN).await?;
    Ok(html! {
        section.card #prestored {
            h2 { "Pre-stored registrations" }
            p.muted { "A person who registers with exactly these first name, last name and personnel number \
                       (case and surrounding spaces aside) becomes a member at once; anything else is refused." }
            @if let Issued::Imported(report) = issued {
                div.notice.import-report {
                    "Imported: " (report["rows"]) " rows, " (report["written"]) " stored, "
                    (report["unchangedBecauseUsed"]) " left as they were (already used)."
                    @if let Some(ignored) = report["ignoredColumns"].as_array().filter(|a| !a.is_empty()) {
                        " Ignored columns: "
                        (ignored.iter().filter_map(|c| c.as_str()).collect::<Vec<_>>().join(", "))
                    }
                }
            }
            form method="post" action={ (base) "/prestored" } {
                (csrf(session))
                label { "First name " input type="text" name="given_name" maxlength="200" required; }
                label { " Last name " input type="text" name="family_name" maxlength="200" required; }
                label { " Personnel number " input type="text" name="personal_number" maxlength="200" required; }
                " " button type="submit" { "Store" }
            }
            form method="post" action={ (base) "/prestored/import" } enctype="multipart/form-data" {
                (csrf(session))
                label { "Or a CSV/XLSX file with the columns firstname, lastname, personalid (and any category) "
                    input type="file" name="file" accept=".csv,.xlsx,text/csv" required; }
                " " button type="submit" { "Import" }
            }
            @if !records.is_empty() {
                table.prestored {
                    tr { th { "Stored (UTC)" } th { "First name" } th { "Last name" } th { "Personnel number" } th { "State" } th {} }
                    @for r in &records {
                        tr data-record=(r.id) {
                            td { (time(r.created_at)) }
                            td { (r.given_name) }
                            td { (r.family_name) }
                            td { (r.personal_id) }
                            td.state {
                                @match r.used_at { Some(at) => { "registered " (time(at)) } None => { "waiting" } }
                            }
                            td {
                                form.inline method="post" action={ (base) "/prestored/" (r.id) "/delete" } {
                                    (csrf(session))
                                    button type="submit" class="danger" { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// The record form.
#[derive(Deserialize)]
pub struct NewRecord {
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    personal_number: String,
}

/// POST /console/t/{t}/join/prestored — store one record (409 when the number is stored).
pub async fn create(
    form: Protected<NewRecord>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let profile = profile(&mut conn, &state, t.id).await?;
    let input = PrestoredInput {
        given_name: form.given_name,
        family_name: form.family_name,
        personal_number: form.personal_number,
        ..PrestoredInput::default()
    };
    manage::create_prestored(&mut conn, &profile, input, state.clock.now()).await?;
    Ok(layout::see_other(&format!("{}#prestored", super::base(&t))))
}

/// POST /console/t/{t}/join/prestored/{r}/delete
pub async fn delete(
    form: Protected<NoFields>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let session = form.session;
    let id = Uuid::parse_str(&path.1).map_err(|_| ScimError::not_found("no such pre-stored registration"))?;
    let (mut conn, t) = session.open_tenant(&state, &path.0, Area::Directory).await?;
    manage::delete_prestored(&mut conn, t.id, id).await?;
    Ok(layout::see_other(&format!("{}#prestored", super::base(&t))))
}

/// POST /console/t/{t}/join/prestored/import (multipart, CSRF field inside) — records from a
/// CSV/XLSX file, all or none; the page shows the report.
pub async fn import(
    session: Session,
    path: web::Path<String>,
    body: Multipart,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (_, bytes) = read_upload(&session, body).await?;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let profile = profile(&mut conn, &state, t.id).await?;
    let report =
        manage::import_prestored(&mut conn, &profile, &bytes, state.import_max_rows, state.clock.now())
            .await?;
    render(&mut conn, &state, &session, &t, Issued::Imported(report)).await
}
