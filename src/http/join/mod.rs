//! The public join API (`/join/v1`, JSON, no credential; issue #12): what a SaaS front end
//! calls so that people without an IdP can become members through the four doors — look up
//! what a tenant or a link offers, register, learn the outcome — plus a minimal hosted
//! registration page (`/join/{tenant}`) for tenants without a front end of their own.
//!
//! Every route is rate-limited per client IP and per tenant before anything else runs
//! ([`crate::http::ratelimit::Throttle::admit_join`]; 429 with `Retry-After`). Tokens travel in
//! the path and are never logged (the request span records the route pattern, not the path).
//! `openapi.json` here describes this API on its own: it is a different audience (a public
//! front end, no credentials) from the admin API's, and a test keeps it in step with [`routes`].

mod page;
mod register;

pub use register::ANSWER_FLOOR;

use actix_web::{web, HttpRequest};

use super::AppState;
use crate::db::{self, tenants::Tenant};
use crate::directory::TenantProfile;
use crate::error::{ScimError, ScimResult};

/// The OpenAPI 3.1 description of the join API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The hosted registration page's URL for a link's token (every kind: access link, email
/// invitation, the tenant invitation link). The token travels in the fragment, which browsers
/// never send to a server, so it stays out of access logs; the page reads it from there.
pub fn page_url(public_url: &str, slug: &str, token: &str) -> String {
    format!("{public_url}/join/{slug}#link={token}")
}

/// GET /join/v1/openapi.json.
async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

/// Admit a join request for `slug` (rate limits), then find the tenant and its profile: 404
/// for a slug that names no tenant.
async fn admit(
    req: &HttpRequest,
    state: &AppState,
    slug: &str,
) -> ScimResult<(db::PooledConn, Tenant, TenantProfile)> {
    state.throttle.admit_join(req, slug)?;
    // The hosted page is outside the `/join/v1` scope and its NUL guard.
    if slug.contains('\0') {
        return Err(ScimError::bad_request("the URL contains %00 (NUL), which no name can hold"));
    }
    let mut conn = db::checkout(&state.pool, db::Scope::All).await?;
    let tenant = db::tenants::tenant_by_slug(&mut conn, slug).await?.ok_or_else(|| {
        ScimError::not_found("no organization with this name: check the link you were given")
    })?;
    db::enter(&mut conn, db::Scope::Tenant(tenant.id)).await?;
    let profile = TenantProfile::load(&mut conn, &state.registry, tenant.id).await?;
    tracing::Span::current().record("tenant.id", tracing::field::display(tenant.id));
    Ok((conn, tenant, profile))
}

/// The join API's routes, under `/join/v1`, and the hosted page.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/join/v1")
            .wrap(actix_web::middleware::from_fn(super::admin::refuse_nul_in_url))
            .route("/tenants/{tenant}", web::get().to(register::offer))
            .route("/tenants/{tenant}/registrations", web::post().to(register::prestored))
            .route("/tenants/{tenant}/requests", web::post().to(register::request))
            .route("/tenants/{tenant}/requests/{ticket}", web::get().to(register::outcome))
            .route("/tenants/{tenant}/links/{token}", web::get().to(register::link_offer))
            .route("/tenants/{tenant}/links/{token}", web::post().to(register::link_register))
            .route("/openapi.json", web::get().to(openapi)),
    )
    .route("/join/{tenant}", web::get().to(page::page));
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    fn registered() -> BTreeSet<(String, String)> {
        let source = include_str!("mod.rs");
        let start = source.find("web::scope(\"/join/v1\")").expect("route table");
        let end = source.find(".route(\"/join/{tenant}\"").expect("page route");
        source[start..end]
            .split(".route(")
            .skip(1)
            .map(|rest| {
                let rest = rest.trim_start().strip_prefix('"').expect("path literal");
                let (path, rest) = rest.split_once('"').expect("path literal");
                let method = rest.split("web::").nth(1).and_then(|m| m.split_once('(')).expect("method").0;
                (path.to_string(), method.to_string())
            })
            .collect()
    }

    #[test]
    fn every_join_route_is_in_the_openapi_document_and_nothing_else() {
        let doc: Value = serde_json::from_str(super::OPENAPI).expect("openapi.json is JSON");
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(p, item)| item.as_object().expect("item").keys().map(move |m| (p.clone(), m.clone())))
            .collect();
        let routes = registered();
        assert_eq!(routes.len(), 7, "{routes:?}");
        assert_eq!(routes, documented);
    }
}
