//! Discovery endpoints (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::extract::query_pairs;
use super::principal::Caller;
use super::response::scim;
use super::AppState;
use crate::error::{ScimError, ScimResult};
use crate::scim::discovery::service_provider_config as spc_document;
use crate::scim::list::ListResponse;
use crate::scim::roles::role_resource_type;
use crate::scim::schema::{resource_type_document, schema_document, ResourceKind};

/// RFC 7644 §4: a filter on a discovery endpoint is answered 403, so that no client believes it
/// was applied.
fn refuse_filter(req: &HttpRequest) -> ScimResult<()> {
    if query_pairs(req)?.iter().any(|(k, _)| k.eq_ignore_ascii_case("filter")) {
        return Err(ScimError::forbidden("filtering is not supported on discovery endpoints (RFC 7644 §4)"));
    }
    Ok(())
}

/// GET /ServiceProviderConfig.
pub async fn service_provider_config(Caller(ctx): Caller, state: web::Data<AppState>) -> HttpResponse {
    scim(StatusCode::OK, &spc_document(&ctx.base_url, state.limits, state.bulk))
}

const KINDS: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

/// GET /ResourceTypes.
pub async fn resource_types(req: HttpRequest, Caller(ctx): Caller) -> ScimResult<HttpResponse> {
    refuse_filter(&req)?;
    let registry = &ctx.profile.registry;
    let mut docs: Vec<Value> =
        KINDS.iter().map(|k| resource_type_document(registry, *k, &ctx.base_url)).collect();
    docs.push(role_resource_type(&ctx.base_url));
    Ok(scim(StatusCode::OK, &ListResponse::index(docs.len() as u64, 1, docs)))
}

/// GET /ResourceTypes/{id}.
pub async fn resource_type(
    Caller(ctx): Caller,
    path: web::Path<(String, String)>,
) -> ScimResult<HttpResponse> {
    if path.1 == "Role" {
        return Ok(scim(StatusCode::OK, &role_resource_type(&ctx.base_url)));
    }
    let kind = KINDS
        .iter()
        .find(|k| k.name() == path.1)
        .ok_or_else(|| ScimError::not_found(format!("ResourceType {} not found", path.1)))?;
    let registry = &ctx.profile.registry;
    Ok(scim(StatusCode::OK, &resource_type_document(registry, *kind, &ctx.base_url)))
}

/// GET /Schemas.
pub async fn schemas(req: HttpRequest, Caller(ctx): Caller) -> ScimResult<HttpResponse> {
    refuse_filter(&req)?;
    let registry = &ctx.profile.registry;
    let docs: Vec<Value> = registry.schemas().map(|s| schema_document(s, &ctx.base_url)).collect();
    Ok(scim(StatusCode::OK, &ListResponse::index(docs.len() as u64, 1, docs)))
}

/// GET /Schemas/{urn}.
pub async fn schema(Caller(ctx): Caller, path: web::Path<(String, String)>) -> ScimResult<HttpResponse> {
    let registry = &ctx.profile.registry;
    let schema = registry
        .schema(&path.1)
        .ok_or_else(|| ScimError::not_found(format!("Schema {} not found", path.1)))?;
    Ok(scim(StatusCode::OK, &schema_document(schema, &ctx.base_url)))
}
