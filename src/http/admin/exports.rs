//! Spreadsheets out: `GET .../exports/members?format=csv|xlsx&origin=` (the tenant's live
//! members in the import's columns; the file imports back unchanged) and
//! `GET .../imports/template?format=csv|xlsx` (the same columns, no rows).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::TenantScope;
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;
use crate::import::export::{self, Sheet};

/// Query of an export or the template.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// csv (default) or xlsx.
    pub format: Option<String>,
    /// Only members of this origin: scim, import or admin (exports only).
    pub origin: Option<String>,
}

fn file(sheet: &Sheet, params: &Params, name: &str) -> ScimResult<HttpResponse> {
    let format = export::format(params.format.as_deref().unwrap_or("csv"))?;
    let bytes = export::write(sheet, format)?;
    let ext = params.format.as_deref().unwrap_or("csv").to_ascii_lowercase();
    Ok(HttpResponse::Ok()
        .content_type(export::content_type(format))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.{ext}\"")))
        .body(bytes))
}

fn params(query: &str) -> ScimResult<Params> {
    let p = web::Query::<Params>::from_query(query)
        .map_err(|e| {
            ScimError::invalid_value(format!("query: {e}; parameters are format (csv or xlsx) and origin"))
        })?
        .into_inner();
    if let Some(o) = &p.origin {
        if !["scim", "import", "admin"].contains(&o.as_str()) {
            return Err(ScimError::invalid_value(format!("origin must be scim, import or admin, not {o:?}")));
        }
    }
    export::format(p.format.as_deref().unwrap_or("csv"))?;
    Ok(p)
}

/// GET .../exports/members — the live members (not suspended, not removed) as a file.
pub async fn members(
    scope: TenantScope,
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let p = params(req.query_string())?;
    let t = &scope.tenant;
    let mut conn = scope.conn(&state).await?;
    let sheet = export::members(&mut conn, t.id, p.origin.as_deref()).await?;
    file(&sheet, &p, &format!("{}-members", t.slug))
}

/// GET .../imports/template — the tenant's import columns, no rows.
pub async fn template(
    scope: TenantScope,
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let p = params(req.query_string())?;
    if p.origin.is_some() {
        return Err(ScimError::invalid_value("the template takes only format"));
    }
    let t = &scope.tenant;
    let mut conn = scope.conn(&state).await?;
    let sheet = export::template(&mut conn, t.id).await?;
    file(&sheet, &p, &format!("{}-import-template", t.slug))
}
