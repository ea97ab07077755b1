//! *Import*: the member import as a wizard — upload a CSV or XLSX file, choose per column
//! (standard field, existing category, new category of a kind, ignore) with sample values, see
//! the dry-run report as a table (create / update / unchanged / skipped / error with reasons,
//! filterable), apply, see the result. Every step runs `import::run`, the function behind
//! `roster import members` and the admin API's imports; the choices become its mapping file.
//!
//! The wizard keeps no server-side state between steps: the uploaded file travels in the form
//! (base64, at most [`MAX_FILE_BYTES`]); larger files go through the CLI or the admin API.

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use base64::Engine;
use futures_util::TryStreamExt;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::csrf::{self, Protected};
use super::layout::{self, csrf as csrf_field, page, time, Frame};
use super::session::{Area, Session};
use super::ConsoleResult;
use crate::db::tenants::Tenant;
use crate::error::ScimError;
use crate::http::AppState;
use crate::import::mapping::Field;
use crate::import::{self, jobs, parse, Options, Upload};

/// Largest file the wizard takes (the CLI and the admin API take larger ones).
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
/// Largest body of the wizard's later steps (the file, base64, plus the choices).
pub const MAX_FORM_BYTES: usize = MAX_FILE_BYTES / 3 * 4 + 256 * 1024;
/// Sample values shown per column.
const SAMPLES: usize = 3;
/// Category kinds a new category may have.
const KINDS: [&str; 5] = ["text", "dropdown", "number", "date", "boolean"];

/// A page of the wizard.
fn step(session: &Session, t: &Tenant, body: Markup) -> HttpResponse {
    layout::respond(page(
        "Import members",
        Frame::tenant(session, &t.slug, "Import"),
        html! { h1 { "Import members" } (body) },
    ))
}

fn base(t: &Tenant) -> String {
    format!("/console/t/{}/import", t.slug)
}

/// GET /console/t/{t}/import — the upload form.
pub async fn start(
    session: Session,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (_, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    Ok(step(
        &session,
        &t,
        html! {
            section.card {
                h2 { "1. Upload a CSV or XLSX file" }
                form method="post" action={ (base(&t)) "/columns" } enctype="multipart/form-data" {
                    (csrf_field(&session))
                    input type="file" name="file" accept=".csv,.txt,.xlsx" required;
                    " " button type="submit" { "Upload" }
                }
                p { a href={ (base(&t)) "/template.csv" } download { "Download a template" }
                    " with the standard columns and this tenant's categories." }
                p.muted { "The first row names the columns. Up to " (MAX_FILE_BYTES / 1024 / 1024) " MiB here; larger files go through "
                          code { "roster import members" } " or the admin API." }
            }
        },
    ))
}

/// The uploaded file as the wizard carries it between steps.
#[derive(Deserialize)]
pub struct Carried {
    file_name: String,
    file: String,
}

impl Carried {
    fn bytes(&self) -> ConsoleResult<Vec<u8>> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.file.as_bytes())
            .map_err(|_| ScimError::invalid_value("the carried file is damaged; upload it again"))?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(ScimError::payload_too_large("the file is larger than the wizard takes").into());
        }
        Ok(bytes)
    }
}

/// Read a console upload: the CSRF field (checked) and the `file` field, bounded in size.
pub(super) async fn read_upload(session: &Session, mut body: Multipart) -> ConsoleResult<(String, Vec<u8>)> {
    let (mut token, mut file) = (None, None);
    while let Some(mut field) =
        body.try_next().await.map_err(|e| ScimError::invalid_syntax(format!("upload: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.content_disposition().and_then(|d| d.get_filename()).map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) =
            field.try_next().await.map_err(|e| ScimError::invalid_syntax(format!("upload: {e}")))?
        {
            if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                return Err(ScimError::payload_too_large(format!(
                    "the file is larger than {} MiB; import it with `roster import members` or the admin API",
                    MAX_FILE_BYTES / 1024 / 1024
                ))
                .into());
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            csrf::FIELD => token = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" => file = Some((file_name.unwrap_or_default(), bytes)),
            other => return Err(ScimError::invalid_value(format!("unknown form field {other:?}")).into()),
        }
    }
    csrf::verify(session, token.as_deref())?;
    file.ok_or_else(|| ScimError::invalid_value("choose a file to upload").into())
}

fn table_of(file_name: &str, bytes: &[u8], max_rows: usize) -> ConsoleResult<parse::Table> {
    let format = parse::detect(Some(file_name), bytes);
    parse::parse(bytes, format, &parse::Limits::with_rows(max_rows)).map_err(|e| {
        match e {
            parse::ParseError::Invalid(m) => ScimError::invalid_value(m),
            parse::ParseError::TooLarge(m) => ScimError::payload_too_large(m),
        }
        .into()
    })
}

fn carried(file_name: &str, bytes: &[u8]) -> Markup {
    html! {
        input type="hidden" name="file_name" value=(file_name);
        input type="hidden" name="file" value=(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
}

/// POST /console/t/{t}/import/columns (multipart) — the columns with samples and a choice each.
pub async fn columns(
    session: Session,
    path: web::Path<String>,
    body: Multipart,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (file_name, bytes) = read_upload(&session, body).await?;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let table = table_of(&file_name, &bytes, state.import_max_rows)?;
    let categories = crate::db::categories::list(&mut conn, t.id).await?;
    Ok(step(
        &session,
        &t,
        html! {
            form method="post" action={ (base(&t)) "/plan" } {
                (csrf_field(&session))
                (carried(&file_name, &bytes))
                section.card {
                    h2 { "2. What is each column?" }
                    p.muted { (table.rows.len()) " rows in " (file_name) "." }
                    table.columns {
                        tr { th { "Column" } th { "Sample values" } th { "Use as" } th { "New category name" } }
                        @for (i, header) in table.headers.iter().enumerate() {
                            tr.column data-column=(header) {
                                td { strong { (header) } }
                                td.muted { (table.rows.iter().take(SAMPLES).map(|r| r.cells.get(i).map(String::as_str).unwrap_or("")).collect::<Vec<_>>().join(" · ")) }
                                td {
                                    select name={ "use_" (i) } {
                                        option value="auto" { "automatic (by the column's name)" }
                                        optgroup label="Standard field" {
                                            @for (_, name) in Field::ALL {
                                                option value={ "field:" (name) } selected[Field::from_header(header).is_some_and(|f| f.name() == name)] { (name) }
                                            }
                                        }
                                        @if !categories.is_empty() {
                                            optgroup label="Existing category" {
                                                @for c in &categories {
                                                    option value={ "category:" (c.name) } selected[c.name_key == header.trim().to_lowercase()] { (c.display_name) }
                                                }
                                            }
                                        }
                                        optgroup label="New category" {
                                            @for k in KINDS { option value={ "new:" (k) } { "new " (k) " category" } }
                                        }
                                        option value="ignore" { "ignore" }
                                    }
                                }
                                td { input type="text" name={ "name_" (i) } value=(header.trim()) maxlength="100"; }
                            }
                        }
                    }
                    p { label { input type="checkbox" name="sync" value="true"; " Sync: suspend imported members missing from this file" } }
                    p { button type="submit" { "Preview (dry run)" } }
                }
            }
        },
    ))
}

/// The choices form (also the apply form).
#[derive(Deserialize)]
pub struct Choices {
    #[serde(flatten)]
    carried: Carried,
    #[serde(default)]
    sync: String,
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

/// The mapping file the choices make.
fn mapping(headers: &[String], choices: &Choices) -> ConsoleResult<Value> {
    let mut columns = Map::new();
    for (i, header) in headers.iter().enumerate() {
        let choice = choices.rest.get(&format!("use_{i}")).map(String::as_str).unwrap_or("auto");
        let name = choices.rest.get(&format!("name_{i}")).map(|n| n.trim()).unwrap_or("");
        let entry = match choice.split_once(':') {
            None if choice == "auto" => continue,
            None if choice == "ignore" => json!("ignore"),
            Some(("field", f)) => json!(f),
            Some(("category", c)) => json!({"category": c}),
            Some(("new", kind)) if KINDS.contains(&kind) => {
                if name.is_empty() {
                    return Err(ScimError::invalid_value(format!(
                        "column {header:?}: name the new category"
                    ))
                    .into());
                }
                json!({"category": name, "create": {"kind": kind, "display_name": header.trim()}})
            }
            _ => {
                return Err(
                    ScimError::invalid_value(format!("column {header:?}: unknown choice {choice:?}")).into()
                )
            }
        };
        columns.insert(header.clone(), entry);
    }
    Ok(json!({"columns": columns}))
}

/// The wizard's file, its row count and the mapping file its choices make.
fn prepared(state: &AppState, choices: &Choices) -> ConsoleResult<(Vec<u8>, usize, Vec<u8>)> {
    let bytes = choices.carried.bytes()?;
    let table = table_of(&choices.carried.file_name, &bytes, state.import_max_rows)?;
    let mapping = serde_json::to_vec(&mapping(&table.headers, choices)?)
        .map_err(|e| ScimError::internal(anyhow::anyhow!("mapping: {e}")))?;
    Ok((bytes, table.rows.len(), mapping))
}

fn options(choices: &Choices, dry_run: bool) -> Options {
    Options { dry_run, sync: choices.sync == "true", skip_invalid: false, no_invitations: false }
}

async fn run(
    state: &AppState,
    conn: &mut crate::db::Conn,
    t: &Tenant,
    choices: &Choices,
    dry_run: bool,
) -> ConsoleResult<Value> {
    let (bytes, _, mapping) = prepared(state, choices)?;
    let upload =
        Upload { file_name: Some(&choices.carried.file_name), bytes: &bytes, mapping: Some(&mapping) };
    let options = options(choices, dry_run);
    let report = import::run(conn, t, upload, options, state.import_max_rows, state.clock.now()).await?;
    Ok(report.json())
}

fn report_table(report: &Value) -> Markup {
    let rows = report["rows"].as_array().cloned().unwrap_or_default();
    html! {
        @if let Some(totals) = report["totals"].as_object() {
            p.totals {
                @for key in ["create", "update", "unchanged", "skipped", "error", "suspend"] {
                    span.pill.bad[key == "error" && totals[key] != 0] { (key) ": " (totals.get(key).cloned().unwrap_or(json!(0))) } " "
                }
            }
        }
        @if let Some(new) = report["new_categories"].as_array().filter(|n| !n.is_empty()) {
            p { "New categories: " @for c in new { code { (c["name"].as_str().unwrap_or("")) } " (" (c["kind"].as_str().unwrap_or("")) ") " } }
        }
        @for w in report["warnings"].as_array().cloned().unwrap_or_default() { div.notice { (w.as_str().unwrap_or("")) } }
        label { "Show "
            select data-filter-table="import-rows" {
                option value="" { "all rows" }
                @for a in ["create", "update", "unchanged", "skipped", "error"] { option value=(a) { (a) } }
            }
        }
        table #import-rows {
            tr { th { "Line" } th { "personalid" } th { "Action" } th { "Changes / reason" } }
            @for r in &rows {
                @let action = r["action"].as_str().unwrap_or("");
                tr.import-row data-action=(action) {
                    td { (r["line"]) }
                    td { (r["personalid"].as_str().unwrap_or("")) }
                    td { span.pill.bad[action == "error"].ok[action == "create" || action == "update"] { (action) } }
                    td {
                        @if let Some(reason) = r["reason"].as_str() { (reason) }
                        @if let Some(changes) = r["changes"].as_array() {
                            (changes.iter().map(|c| c.as_str().map(str::to_string).unwrap_or_else(|| c.to_string())).collect::<Vec<_>>().join(", "))
                        }
                    }
                }
            }
        }
    }
}

/// Run the import of a choices form (a dry run or not): its session, tenant, form and report.
async fn report_of(
    form: Protected<Choices, MAX_FORM_BYTES>,
    slug: &str,
    state: &AppState,
    dry_run: bool,
) -> ConsoleResult<(Session, Tenant, Choices, Value)> {
    let Protected { session, form } = form;
    let (mut conn, t) = session.open_tenant(state, slug, Area::Directory).await?;
    let report = run(state, &mut conn, &t, &form, dry_run).await?;
    Ok((session, t, form, report))
}

/// POST /console/t/{t}/import/plan — the dry run as a table, and the apply button.
pub async fn plan(
    form: Protected<Choices, MAX_FORM_BYTES>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (session, t, form, report) = report_of(form, &path, &state, true).await?;
    let errors = report["totals"]["error"].as_u64().unwrap_or(0);
    Ok(step(
        &session,
        &t,
        html! {
            section.card {
                h2 { "3. Preview" }
                (report_table(&report))
                @if errors > 0 {
                    div.error { (errors) " rows have errors: fix the file (or the column choices) and upload it again; nothing is written while rows have errors." }
                } @else {
                    form method="post" action={ (base(&t)) "/apply" } {
                        (csrf_field(&session))
                        (carried(&form.carried.file_name, &form.carried.bytes()?))
                        @if form.sync == "true" { input type="hidden" name="sync" value="true"; }
                        @for (k, v) in &form.rest {
                            @if k.starts_with("use_") || k.starts_with("name_") { input type="hidden" name=(k) value=(v); }
                        }
                        p { button type="submit" { "Apply the import" } }
                    }
                }
            }
        },
    ))
}

/// Files with more rows than this are applied in the background, with a progress page.
pub const BACKGROUND_ROWS: usize = 500;

/// POST /console/t/{t}/import/apply — apply in one transaction and show the result; a file of
/// more than [`BACKGROUND_ROWS`] rows is applied as a background job (the admin API's
/// `?background=true`) and answered with its progress page.
pub async fn apply(
    form: Protected<Choices, MAX_FORM_BYTES>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let Protected { session, form } = form;
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let (bytes, rows, mapping) = prepared(&state, &form)?;
    if rows > BACKGROUND_ROWS {
        drop(conn);
        let job = jobs::Job {
            tenant: t.clone(),
            file_name: Some(form.carried.file_name.clone()),
            bytes,
            mapping: Some(mapping),
            options: options(&form, false),
            max_rows: state.import_max_rows,
        };
        let id = jobs::start(&state.background, state.clock.clone(), job).await?;
        return Ok(layout::see_other(&format!("{}/jobs/{id}", base(&t))));
    }
    let upload = Upload { file_name: Some(&form.carried.file_name), bytes: &bytes, mapping: Some(&mapping) };
    let report =
        import::run(&mut conn, &t, upload, options(&form, false), state.import_max_rows, state.clock.now())
            .await?
            .json();
    Ok(step(&session, &t, result(&t, &report)))
}

/// The result step: applied (with what was written) or refused, and the report.
fn result(t: &Tenant, report: &Value) -> Markup {
    html! {
        section.card #import-result {
            h2 { "4. Result" }
            @if report["applied"] == true {
                div.notice.import-applied { "Applied. " @if let Some(w) = report["written"].as_object() {
                    @for (k, v) in w { (k) ": " (v) " " }
                } }
            } @else {
                div.error { (report["refused"].as_str().unwrap_or("Nothing was written.")) }
            }
            (report_table(report))
            p { a href={ "/console/t/" (t.slug) "/members" } { "Go to the members" } }
        }
    }
}

/// A background import's progress box: polled every second by htmx while it runs; its result
/// (or why it failed) once it ended, and polling stops.
fn job_box(t: &Tenant, job: &crate::db::import_jobs::JobRow, now: chrono::DateTime<chrono::Utc>) -> Markup {
    let state = jobs::state(job, now);
    html! {
        @match state {
            "running" => {
                div.job-running #import-job
                    hx-get={ (base(t)) "/jobs/" (job.id) "/status" } hx-trigger="every 1s" hx-swap="outerHTML" {
                    p { "Importing " (job.file_name.as_deref().unwrap_or("the file")) " — " (job.phase)
                        @if job.total > 0 { ": " (job.done) " of " (job.total) " rows" } "…" }
                    @if job.total > 0 { progress max=(job.total) value=(job.done) {} }
                    p.muted { "Started " (time(job.created_at)) " UTC. You can leave this page; the import goes on." }
                }
            }
            "done" | "failed" if job.report.is_some() => {
                div #import-job { (result(t, job.report.as_ref().unwrap_or(&Value::Null))) }
            }
            "interrupted" => {
                div.error #import-job { "The import was interrupted (the server running it stopped); nothing of it was written. Apply it again." }
            }
            _ => {
                div.error #import-job { "The import failed: " (job.error.as_deref().unwrap_or("unknown error")) ". Nothing was written." }
            }
        }
    }
}

/// The tenant of the path and its background import the path names (404 for none, or another
/// tenant's).
async fn job_of(
    session: &Session,
    path: &(String, String),
    state: &AppState,
) -> ConsoleResult<(Tenant, crate::db::import_jobs::JobRow)> {
    let (mut conn, t) = session.open_tenant(state, &path.0, Area::Directory).await?;
    let id = Uuid::parse_str(&path.1).map_err(|_| ScimError::not_found("no such import job"))?;
    let row = jobs::find(&mut conn, t.id, id).await?;
    Ok((t, row))
}

/// GET /console/t/{t}/import/jobs/{job} — a background import's progress page.
pub async fn job(
    session: Session,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (t, row) = job_of(&session, &path, &state).await?;
    let progress = job_box(&t, &row, state.clock.now());
    Ok(step(&session, &t, html! { section.card { h2 { "4. Applying" } (progress) } }))
}

/// GET /console/t/{t}/import/jobs/{job}/status — the progress box (htmx fragment).
pub async fn job_status(
    session: Session,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (t, row) = job_of(&session, &path, &state).await?;
    Ok(layout::fragment(job_box(&t, &row, state.clock.now())))
}

/// GET /console/t/{t}/import/template.csv — a header row: the standard columns, then the
/// tenant's categories.
pub async fn template(
    session: Session,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let (mut conn, t) = session.open_tenant(&state, &path, Area::Directory).await?;
    let categories = crate::db::categories::list(&mut conn, t.id).await?;
    let headers: Vec<&str> =
        Field::ALL.iter().map(|(_, n)| *n).chain(categories.iter().map(|c| c.name.as_str())).collect();
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&headers).map_err(|e| ScimError::internal(anyhow::anyhow!("template: {e}")))?;
    let body = out.into_inner().map_err(|e| ScimError::internal(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-members.csv\"", t.slug),
        ))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices(pairs: &[(&str, &str)]) -> Choices {
        let mut body = vec![("file_name", "f.csv"), ("file", "")];
        body.extend_from_slice(pairs);
        serde_urlencoded::from_str(&serde_urlencoded::to_string(&body).unwrap()).unwrap()
    }

    #[test]
    fn the_choices_become_the_import_mapping() {
        let headers: Vec<String> =
            ["E-mail", "Office", "Notes", "Team"].iter().map(|s| s.to_string()).collect();
        let c = choices(&[
            ("use_0", "field:email"),
            ("use_1", "new:dropdown"),
            ("name_1", "office"),
            ("use_2", "ignore"),
            ("use_3", "auto"),
            ("sync", "true"),
        ]);
        assert_eq!(c.sync, "true");
        let m = mapping(&headers, &c).unwrap();
        assert_eq!(
            m,
            json!({"columns": {
                "E-mail": "email",
                "Office": {"category": "office", "create": {"kind": "dropdown", "display_name": "Office"}},
                "Notes": "ignore",
            }})
        );
        for bad in [
            vec![("use_0", "new:colour")],
            vec![("use_0", "new:text"), ("name_0", " ")],
            vec![("use_0", "x:y")],
        ] {
            assert!(mapping(&headers, &choices(&bad)).is_err(), "{bad:?}");
        }
    }
}
