//! The admin API (`/admin/v1`, JSON): what an operator or an org admin does without an IdP —
//! tenants and their settings, connections and their tokens (rotation, quirk mode), the
//! provisioning log, the members view with invitation state, and the group tree. It has its own
//! credentials, never a SCIM connection token: the operator credential `ROSTER_ADMIN_TOKEN`
//! (every tenant) or a tenant admin token (one tenant). Errors use the same JSON error body as
//! SCIM. `openapi.json` describes every route of [`routes`]; a test keeps the two in step.
//!
//! Handlers under `/tenants/{tenant}/...` take a [`TenantScope`] (the caller, admitted to the
//! path's tenant, and that tenant); operator-only handlers take [`Operator`]. Every write is
//! recorded in the audit trail by the [`audit`] middleware.

mod admin_tokens;
pub mod audit;
mod categories;
mod connections;
mod exports;
pub(crate) mod groups;
mod imports;
mod join_links;
mod join_members;
pub(crate) mod log;
pub(crate) mod member_writes;
pub(crate) mod members;
mod memberships;
mod oauth_clients;
mod roles;
mod scope;
mod setup_links;
mod tenants;
pub(crate) mod webhooks;

pub(crate) use scope::admin_context;
pub use scope::TenantScope;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};

use super::AppState;
use crate::error::ScimError;

/// The configured operator credential, kept only as a digest and compared in constant time.
#[derive(Clone)]
pub struct OperatorKey([u8; 32]);

impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorKey(..)")
    }
}

impl OperatorKey {
    /// Digest a configured credential.
    pub fn new(token: &str) -> Self {
        OperatorKey(Sha256::digest(token.as_bytes()).into())
    }

    /// Whether `presented` is the credential (constant time).
    pub fn matches(&self, presented: &str) -> bool {
        let other: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Digests have a fixed length; fold the differences so timing does not depend on them.
        self.0.iter().zip(other.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// An authenticated operator (the `ROSTER_ADMIN_TOKEN` credential): every tenant, and the only
/// caller that may create tenants or admin tokens. As an extractor it admits the operator only;
/// a tenant admin token gets 403.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

/// Whoever calls the admin API: the operator (every tenant) or a tenant admin (one tenant,
/// through a token from `roster admin-token issue` / `POST .../admin-tokens`).
///
/// Handlers under `/tenants/{tenant}/...` take an `AdminCaller` and call
/// [`AdminCaller::for_tenant`] with the path's slug before anything else; operator-only handlers
/// keep taking [`Operator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCaller {
    /// The operator credential.
    Operator,
    /// A tenant admin token.
    TenantAdmin {
        /// The tenant it administers.
        tenant_id: uuid::Uuid,
        /// Its slug.
        slug: String,
        /// The admin token used.
        token_id: uuid::Uuid,
    },
}

impl AdminCaller {
    /// Admit the caller to tenant `slug`: the operator always, a tenant admin only for its own
    /// tenant. Another tenant answers 404 exactly like a slug that does not exist, so a tenant
    /// admin cannot learn which other tenants exist.
    pub fn for_tenant(&self, slug: &str) -> Result<(), ScimError> {
        match self {
            AdminCaller::TenantAdmin { slug: own, .. } if own != slug => Err(ScimError::not_found(format!(
                "no tenant with slug {} (see `roster tenant list`)",
                crate::text::quote(slug)
            ))),
            _ => Ok(()),
        }
    }

    /// The operator, or 403 for a tenant admin.
    pub fn operator(&self) -> Result<Operator, ScimError> {
        match self {
            AdminCaller::Operator => Ok(Operator),
            AdminCaller::TenantAdmin { .. } => Err(ScimError::forbidden(
                "only the operator credential (ROSTER_ADMIN_TOKEN) may do this; a tenant admin token may not",
            )),
        }
    }

    /// The rows the caller may reach at all (row-level security): every tenant's for the
    /// operator, its own tenant's for a tenant admin.
    pub fn rows(&self) -> crate::db::Scope {
        match self {
            AdminCaller::Operator => crate::db::Scope::All,
            AdminCaller::TenantAdmin { tenant_id, .. } => crate::db::Scope::Tenant(*tenant_id),
        }
    }

    /// The tenant a tenant admin is limited to (`None` for the operator).
    pub fn tenant_slug(&self) -> Option<&str> {
        match self {
            AdminCaller::Operator => None,
            AdminCaller::TenantAdmin { slug, .. } => Some(slug),
        }
    }
}

/// Who presents the request's bearer credential.
async fn authenticate_caller(req: HttpRequest) -> Result<AdminCaller, ScimError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ScimError::internal(anyhow::anyhow!("AppState missing")))?;
    let presented =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(|| {
            ScimError::unauthorized(
                "send `Authorization: Bearer <ROSTER_ADMIN_TOKEN>` or `Bearer <tenant admin token>`",
            )
        })?;
    let token = crate::auth::bearer_token(presented)?;
    authenticate_token(state, token).await
}

/// Who presents `token`: the operator credential or a live tenant admin token (also the console's
/// sign-in).
pub(crate) async fn authenticate_token(state: &AppState, token: &str) -> Result<AdminCaller, ScimError> {
    if state.admin_token.as_ref().is_some_and(|key| key.matches(token)) {
        return Ok(AdminCaller::Operator);
    }
    let claims = state.signing_key.verify_admin(token, state.clock.now()).map_err(|e| {
        if state.admin_token.is_none() {
            ScimError::unauthorized(
                "the operator credential is disabled (set ROSTER_ADMIN_TOKEN to enable it) and this is \
                 not a tenant admin token",
            )
        } else {
            e
        }
    })?;
    let mut conn = crate::db::checkout(&state.pool, crate::db::Scope::Tenant(claims.tenant)).await?;
    let now = state.clock.now();
    let slug = crate::db::admin_tokens::live_tenant_slug(&mut conn, claims.tenant, claims.jti, now)
        .await?
        .ok_or_else(|| ScimError::unauthorized("this admin token was revoked or has expired"))?;
    tracing::Span::current().record("tenant.id", tracing::field::display(claims.tenant));
    Ok(AdminCaller::TenantAdmin { tenant_id: claims.tenant, slug, token_id: claims.jti })
}

/// [`authenticate_caller`], leaving the caller in the request's extensions for the audit entry.
async fn authenticate(req: HttpRequest) -> Result<AdminCaller, ScimError> {
    let caller = authenticate_caller(req.clone()).await?;
    req.extensions_mut().insert(caller.clone());
    Ok(caller)
}

impl FromRequest for AdminCaller {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

impl FromRequest for Operator {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(req).await?.operator() })
    }
}

/// Turn an operator-command error into the API's error.
pub(crate) fn admin_error(e: crate::directory::tenants::AdminError) -> ScimError {
    use crate::directory::tenants::AdminError;
    match e {
        AdminError::Invalid(d) => ScimError::invalid_value(d),
        AdminError::NotFound(d) => ScimError::not_found(d),
        AdminError::Unavailable(e) => ScimError::unavailable(e),
        AdminError::Internal(e) => ScimError::internal(e),
    }
}

/// The tenant a `/tenants/{slug}/...` path names (404 naming the slug when there is none).
pub(crate) async fn tenant(
    conn: &mut crate::db::Conn,
    slug: &str,
) -> Result<crate::db::tenants::Tenant, ScimError> {
    crate::directory::tenants::tenant(conn, slug).await.map_err(admin_error)
}

/// Refuses a URL holding `%00` (NUL) before any handler runs: no slug, id, name or query value
/// can hold it, and PostgreSQL cannot even compare it.
pub(crate) async fn refuse_nul_in_url(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let encoded_nul = |s: &str| s.contains('\0') || s.to_ascii_lowercase().contains("%00");
    if encoded_nul(req.path()) || encoded_nul(req.query_string()) {
        return Err(ScimError::bad_request(
            "the URL contains %00 (NUL), which no name, id or value can hold",
        )
        .into());
    }
    next.call(req).await
}

/// An id from the URL path: text that is not a UUID names nothing in the tenant (404).
fn path_id(kind: &str, raw: &str) -> Result<uuid::Uuid, ScimError> {
    uuid::Uuid::parse_str(raw).map_err(|_| ScimError::not_found(format!("no {kind} {raw} in this tenant")))
}

/// A page size from a listing's query: `default` when absent, else 1 to `max` (400 otherwise).
fn page_limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, ScimError> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ScimError::invalid_value(format!("limit must be between 1 and {max}")))
    }
}

/// A listing's keyset cursor (`after` / `before`): the `next` value of a previous page, parsed
/// with `parse` (400 when it is not one).
fn cursor<T>(
    name: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ScimError> {
    raw.map(|r| {
        parse(r).ok_or_else(|| {
            ScimError::invalid_value(format!("{name} must be the `next` value of a previous page"))
        })
    })
    .transpose()
}

/// Parse a JSON body for the admin API (same rules as SCIM bodies).
pub(crate) fn body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    bytes: &web::Bytes,
) -> Result<T, ScimError> {
    let value = super::extract::json_body(req, bytes)?;
    if let Some(at) = crate::text::first_unstorable_in_json(&value) {
        return Err(ScimError::invalid_value(format!(
            "request body: the string at {at:?} contains the character U+0000 (NUL), which cannot be stored"
        )));
    }
    serde_json::from_value(value).map_err(|e| ScimError::invalid_value(format!("request body: {e}")))
}

/// The OpenAPI 3.1 description of this API, hand-written next to the route table.
pub const OPENAPI: &str = include_str!("openapi.json");

/// GET /admin/v1/openapi.json (no credential: it describes the API, it holds no data).
async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

/// The admin API's routes, under `/admin/v1`.
pub fn routes() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/admin/v1")
        .wrap(actix_web::middleware::from_fn(refuse_nul_in_url))
        // Outermost: records writes refused by the NUL check too.
        .wrap(actix_web::middleware::from_fn(audit::record))
        .route("/tenants", web::get().to(tenants::list))
        .route("/tenants", web::post().to(tenants::create))
        .route("/tenants/{tenant}", web::get().to(tenants::get))
        .route("/tenants/{tenant}", web::patch().to(tenants::update))
        .route("/tenants/{tenant}/admin-tokens", web::get().to(admin_tokens::list))
        .route("/tenants/{tenant}/admin-tokens", web::post().to(admin_tokens::issue))
        .route("/tenants/{tenant}/admin-tokens/{token}", web::delete().to(admin_tokens::revoke))
        .route("/tenants/{tenant}/connections", web::get().to(connections::list))
        .route("/tenants/{tenant}/connections", web::post().to(connections::create))
        .route("/tenants/{tenant}/connections/{connection}", web::patch().to(connections::set_mode))
        .route("/tenants/{tenant}/connections/{connection}/tokens", web::post().to(connections::issue_token))
        .route("/tenants/{tenant}/connections/{connection}/rotate", web::post().to(connections::rotate))
        .route("/tenants/{tenant}/connections/{connection}/oauth", web::delete().to(oauth_clients::revoke))
        .route(
            "/tenants/{tenant}/connections/{connection}/oauth/rotate",
            web::post().to(oauth_clients::rotate),
        )
        .route("/tenants/{tenant}/connections/{connection}/oauth/key", web::put().to(oauth_clients::set_key))
        .route("/tenants/{tenant}/tokens", web::get().to(connections::list_tokens))
        .route("/tenants/{tenant}/tokens/{token}", web::delete().to(connections::revoke_token))
        .route("/tenants/{tenant}/log", web::get().to(log::list))
        .route("/tenants/{tenant}/roles", web::get().to(roles::list))
        .route("/tenants/{tenant}/roles", web::post().to(roles::create))
        .route("/tenants/{tenant}/roles/{role}", web::patch().to(roles::update))
        .route("/tenants/{tenant}/roles/{role}", web::delete().to(roles::delete))
        .route("/tenants/{tenant}/role-bindings", web::get().to(roles::bindings))
        .route("/tenants/{tenant}/groups/{group}/roles/{role}", web::put().to(roles::bind))
        .route("/tenants/{tenant}/groups/{group}/roles/{role}", web::delete().to(roles::unbind))
        .route(
            "/tenants/{tenant}/groups/{group}/members/{member}/group-role",
            web::put().to(roles::set_group_role),
        )
        .route("/tenants/{tenant}/members/{member}/role", web::put().to(roles::set_override))
        .route("/tenants/{tenant}/settings", web::get().to(roles::settings))
        .route("/tenants/{tenant}/settings", web::put().to(roles::update_settings))
        .route("/tenants/{tenant}/positions", web::get().to(roles::positions))
        .route("/tenants/{tenant}/categories", web::get().to(categories::list))
        .route("/tenants/{tenant}/categories", web::post().to(categories::create))
        .route("/tenants/{tenant}/categories/{name}", web::get().to(categories::get))
        .route("/tenants/{tenant}/categories/{name}", web::patch().to(categories::update))
        .route("/tenants/{tenant}/categories/{name}", web::delete().to(categories::delete))
        .route("/tenants/{tenant}/members", web::get().to(members::list))
        .route("/tenants/{tenant}/members", web::post().to(member_writes::create))
        .route("/tenants/{tenant}/members/{member}", web::get().to(members::get))
        .route("/tenants/{tenant}/members/{member}", web::patch().to(member_writes::update))
        .route("/tenants/{tenant}/members/{member}", web::delete().to(member_writes::remove))
        .route("/tenants/{tenant}/members/{member}/suspend", web::post().to(member_writes::suspend))
        .route("/tenants/{tenant}/members/{member}/reactivate", web::post().to(member_writes::reactivate))
        .route("/tenants/{tenant}/members/{member}/restore", web::post().to(member_writes::restore))
        .route("/tenants/{tenant}/members/{member}/role", web::delete().to(member_writes::clear_override))
        .route("/tenants/{tenant}/members/{member}/invitations", web::post().to(members::invited))
        .route("/tenants/{tenant}/members/{member}/logins", web::post().to(members::logged_in))
        .route("/tenants/{tenant}/groups/tree", web::get().to(groups::tree))
        .route("/tenants/{tenant}/groups", web::post().to(groups::create))
        .route("/tenants/{tenant}/groups/{group}", web::patch().to(groups::rename))
        .route("/tenants/{tenant}/groups/{group}", web::delete().to(groups::delete))
        .route("/tenants/{tenant}/groups/{group}/parent", web::put().to(groups::set_parent))
        .route("/tenants/{tenant}/groups/{group}/members", web::get().to(memberships::list))
        .route("/tenants/{tenant}/groups/{group}/members/{member}", web::put().to(memberships::add))
        .route("/tenants/{tenant}/groups/{group}/members/{member}", web::delete().to(memberships::remove))
        .route("/tenants/{tenant}/webhooks", web::get().to(webhooks::list))
        .route("/tenants/{tenant}/webhooks", web::post().to(webhooks::add))
        .route("/tenants/{tenant}/webhooks/{webhook}", web::delete().to(webhooks::remove))
        .route("/tenants/{tenant}/webhooks/{webhook}/deliveries", web::get().to(webhooks::deliveries))
        .route("/tenants/{tenant}/webhooks/{webhook}/test", web::post().to(webhooks::test))
        .route("/tenants/{tenant}/audit", web::get().to(audit::list))
        .route("/audit", web::get().to(audit::list_all))
        .route("/tenants/{tenant}/imports", web::post().to(imports::create))
        .route("/tenants/{tenant}/imports/jobs/{job}", web::get().to(imports::job))
        .route("/tenants/{tenant}/join/settings", web::get().to(join_links::settings))
        .route("/tenants/{tenant}/join/settings", web::patch().to(join_links::update_settings))
        .route("/tenants/{tenant}/join/invitation-link", web::post().to(join_links::rotate))
        .route("/tenants/{tenant}/join/links", web::get().to(join_links::links))
        .route("/tenants/{tenant}/join/links", web::post().to(join_links::create_link))
        .route("/tenants/{tenant}/join/links/{link}", web::delete().to(join_links::revoke_link))
        .route("/tenants/{tenant}/join/invitations", web::get().to(join_links::invitations))
        .route("/tenants/{tenant}/join/invitations", web::post().to(join_links::invite))
        .route("/tenants/{tenant}/join/invitations/{link}", web::delete().to(join_links::revoke_invitation))
        .route("/tenants/{tenant}/join/prestored", web::get().to(join_members::list_prestored))
        .route("/tenants/{tenant}/join/prestored", web::post().to(join_members::create_prestored))
        .route("/tenants/{tenant}/join/prestored/import", web::post().to(join_members::import_prestored))
        .route("/tenants/{tenant}/join/prestored/{record}", web::get().to(join_members::get_prestored))
        .route("/tenants/{tenant}/join/prestored/{record}", web::put().to(join_members::update_prestored))
        .route("/tenants/{tenant}/join/prestored/{record}", web::delete().to(join_members::delete_prestored))
        .route("/tenants/{tenant}/join/requests", web::get().to(join_members::requests))
        .route("/tenants/{tenant}/join/requests/{request}/approve", web::post().to(join_members::approve))
        .route("/tenants/{tenant}/join/requests/{request}/deny", web::post().to(join_members::deny))
        .route("/tenants/{tenant}/imports/template", web::get().to(exports::template))
        .route("/tenants/{tenant}/exports/members", web::get().to(exports::members))
        .route("/tenants/{tenant}/setup-links", web::post().to(setup_links::create))
        .route("/openapi.json", web::get().to(openapi))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    /// Every route (path and method) of this file's route table.
    fn registered() -> BTreeSet<(String, String)> {
        let source = include_str!("mod.rs");
        let start = source.find("pub fn routes()").expect("route table");
        let end = source.find("#[cfg(test)]").expect("tests module");
        let table = &source[start..end];
        table
            .split(".route(")
            .skip(1)
            .map(|rest| {
                // rustfmt puts a long route's path on its own line.
                let rest = rest.trim_start().strip_prefix('"').expect("path literal");
                let (path, rest) = rest.split_once('"').expect("path literal");
                let method =
                    rest.split("web::").nth(1).and_then(|m| m.split_once('(')).expect("web::<method>()").0;
                (path.to_string(), method.to_string())
            })
            .collect()
    }

    fn documented() -> BTreeSet<(String, String)> {
        let doc: Value = serde_json::from_str(super::OPENAPI).expect("openapi.json is JSON");
        let paths = doc["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object().expect("path item").keys().map(move |m| (path.clone(), m.clone()))
            })
            .collect()
    }

    #[test]
    fn every_admin_route_is_in_the_openapi_document_and_nothing_else() {
        let (routes, doc) = (registered(), documented());
        assert!(routes.len() >= 20, "the route table was not found: {routes:?}");
        let missing: Vec<_> = routes.difference(&doc).collect();
        assert!(missing.is_empty(), "routes missing from openapi.json: {missing:?}");
        let stale: Vec<_> = doc.difference(&routes).collect();
        assert!(stale.is_empty(), "openapi.json documents routes that do not exist: {stale:?}");
    }

    #[test]
    fn every_path_parameter_is_declared() {
        let doc: Value = serde_json::from_str(super::OPENAPI).unwrap();
        let params = &doc["components"]["parameters"];
        for (path, item) in doc["paths"].as_object().unwrap() {
            let names: Vec<&str> =
                path.split('{').skip(1).filter_map(|s| s.split_once('}')).map(|(n, _)| n).collect();
            for (method, op) in item.as_object().unwrap() {
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter_map(|p| p["$ref"].as_str())
                            .map(|r| &params[r.rsplit('/').next().unwrap()])
                            .filter(|p| p["in"] == "path")
                            .filter_map(|p| p["name"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                assert_eq!(declared, names, "{method} {path}");
            }
        }
    }
}
