//! `POST /admin/v1/tenants/{tenant}/imports?dry_run=&sync=&skip_invalid=&no_invitations=`: a member import as a
//! multipart upload (`file`, optional `mapping`), answering the same report as
//! `roster import members --json`: 200, or 422 when rows have errors and nothing was written.
//! With `background=true` it answers 202 at once with a job (`import::jobs`) whose progress and
//! report `GET .../imports/jobs/{job}` shows.

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::{web, HttpMessage, HttpResponse};
use futures_util::TryStreamExt;
use serde::Deserialize;

use super::TenantScope;
use crate::error::{ScimError, ScimResult};
use crate::http::response::scim_body;
use crate::http::AppState;
use crate::import::{self, jobs, Options, Upload};

/// Largest uploaded file (10,000 rows of a wide sheet fit many times over).
const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;
/// Largest mapping file.
const MAX_MAPPING_BYTES: usize = 256 * 1024;

/// Query of an import.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Plan only.
    #[serde(default)]
    pub dry_run: bool,
    /// Suspend imported members absent from the file.
    #[serde(default)]
    pub sync: bool,
    /// Apply the valid rows even when others have errors.
    #[serde(default)]
    pub skip_invalid: bool,
    /// No invitations for the members this import creates or restores.
    #[serde(default)]
    pub no_invitations: bool,
    /// Run as a background job: 202 with the job, its progress at `.../imports/jobs/{job}`.
    #[serde(default)]
    pub background: bool,
}

fn multipart_error(e: MultipartError) -> ScimError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => {
            ScimError::unsupported_media_type("send the file as multipart/form-data with a `file` field")
        }
        other => ScimError::invalid_syntax(format!("the multipart body is malformed: {other}")),
    }
}

async fn read_field(field: &mut Field, limit: usize, what: &str) -> ScimResult<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.try_next().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > limit {
            return Err(ScimError::payload_too_large(format!("the {what} is larger than {limit} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// POST .../imports — multipart `file` (CSV or XLSX) and optional `mapping` (JSON).
pub async fn create(
    scope: TenantScope,
    req: actix_web::HttpRequest,
    query: web::Query<Params>,
    mut body: Multipart,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let mut file: Option<(Option<String>, Vec<u8>)> = None;
    let mut mapping = None;
    while let Some(mut field) = body.try_next().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                let name = field.content_disposition().and_then(|d| d.get_filename()).map(str::to_string);
                file = Some((name, read_field(&mut field, MAX_FILE_BYTES, "file").await?));
            }
            Some("mapping") => {
                mapping = Some(read_field(&mut field, MAX_MAPPING_BYTES, "mapping file").await?)
            }
            other => {
                return Err(ScimError::invalid_value(format!(
                    "unknown form field {:?}: send `file` and optionally `mapping`",
                    other.unwrap_or("")
                )))
            }
        }
    }
    let (name, bytes) = file.ok_or_else(|| ScimError::invalid_value("the form has no `file` field"))?;
    let q = query.into_inner();
    let options = Options {
        dry_run: q.dry_run,
        sync: q.sync,
        skip_invalid: q.skip_invalid,
        no_invitations: q.no_invitations,
    };
    let tenant = &scope.tenant;
    if q.background {
        let job = jobs::Job {
            tenant: tenant.clone(),
            file_name: name,
            bytes,
            mapping,
            options,
            max_rows: state.import_max_rows,
        };
        let id = jobs::start(&state.background, state.clock.clone(), job).await.inspect_err(|e| {
            if jobs::is_busy(e) {
                req.extensions_mut().insert(crate::http::ratelimit::RetryAfter(jobs::RETRY_AFTER_SECS));
            }
        })?;
        let mut conn = scope.conn(&state).await?;
        let row = jobs::find(&mut conn, tenant.id, id).await?;
        let location = format!("{}/admin/v1/tenants/{}/imports/jobs/{id}", state.public_url, tenant.slug);
        return Ok(HttpResponse::Accepted()
            .insert_header((actix_web::http::header::LOCATION, location))
            .json(jobs::view(&row, state.clock.now())));
    }
    let mut conn = scope.conn(&state).await?;
    let upload = Upload { file_name: name.as_deref(), bytes: &bytes, mapping: mapping.as_deref() };
    let report =
        import::run(&mut conn, tenant, upload, options, state.import_max_rows, state.clock.now()).await?;
    if report.refused.is_some() {
        // The report, which is then also a SCIM error body (status, scimType, detail).
        return Ok(scim_body(&mut HttpResponse::UnprocessableEntity(), &report.json()));
    }
    Ok(HttpResponse::Ok().json(report.json()))
}

/// GET .../imports/jobs/{job} — a background import's state, phase and progress; its report
/// once it ended.
pub async fn job(
    scope: TenantScope,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let id = super::path_id("import job", &path.1)?;
    let mut conn = scope.conn(&state).await?;
    let row = jobs::find(&mut conn, scope.id(), id).await?;
    Ok(HttpResponse::Ok().json(jobs::view(&row, state.clock.now())))
}
