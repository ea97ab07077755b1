//! The HTTP layer: the route table, shared state, and one handler per operation. Handlers are
//! thin: extract, parse into typed values, call the directory, build the response.

pub mod admin;
pub mod body_deadline;
pub mod console;
pub mod discovery;
pub mod extract;
pub mod health;
pub mod join;
pub mod jwks;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod principal;
pub mod ratelimit;
pub mod record;
pub mod request_deadline;
pub mod resources;
pub mod response;
pub mod roles;

use std::sync::Arc;

use actix_web::web;
use uuid::Uuid;

use crate::auth::SigningKey;
use crate::clock::Clock;
use crate::db::DbPool;
use crate::provisioning::Recorder;
use crate::scim::bulk::BulkLimits;
use crate::scim::list::PageLimits;
use crate::scim::schema::Registry;

/// What one HTTP worker's handlers have: the worker's own database pool, and (through `Deref`)
/// what every worker of the process shares.
pub struct AppState {
    /// This worker's pool, one of [`Shared::pools`]: a request's queries go out and come back on
    /// the thread that runs it.
    pub pool: DbPool,
    shared: Arc<Shared>,
}

impl AppState {
    /// The state of a worker starting now, with a pool of its own.
    pub fn for_worker(shared: &Arc<Shared>) -> AppState {
        AppState { pool: shared.pools.take(), shared: Arc::clone(shared) }
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

/// Everything the HTTP workers of one process share, built once at start.
pub struct Shared {
    /// One database pool per HTTP worker.
    pub pools: crate::db::WorkerPools,
    /// The pool of the process's background tasks (the provisioning-log writer, the event
    /// dispatcher, background imports); metrics count its connections with the workers'.
    pub background: DbPool,
    /// The schema registry behind validation and `/Schemas`.
    pub registry: Registry,
    /// Verifies connection tokens.
    pub signing_key: SigningKey,
    /// Public base URL without a trailing slash.
    pub public_url: String,
    /// Page size limits.
    pub limits: PageLimits,
    /// `/Bulk` limits.
    pub bulk: BulkLimits,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Writes the provisioning log.
    pub recorder: Recorder,
    /// The operator credential of the admin API, when configured.
    pub admin_token: Option<admin::OperatorKey>,
    /// Most data rows one member import may have.
    pub import_max_rows: usize,
    /// Tenant profiles, reloaded when their settings version moves.
    pub caches: crate::cache::Caches,
    /// Rate limits and credential back-off.
    pub throttle: ratelimit::Throttle,
    /// Days until a token issued without an explicit expiry expires (`None`: never).
    pub token_default_expiry_days: Option<u32>,
    /// Where event receivers added through the admin API may point (`ROSTER_WEBHOOK_ALLOW_PRIVATE`).
    pub webhook_egress: crate::events::egress::Egress,
    /// Console session lifetimes (issue #11).
    pub console: console::SessionPolicy,
    /// The OAuth token endpoint's settings (issue #13).
    pub oauth: oauth::OAuthSettings,
    /// Prometheus metrics (issue #13).
    pub metrics: metrics::Metrics,
    /// Background tasks readiness watches (issue #13).
    pub liveness: health::Liveness,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("public_url", &self.public_url).finish_non_exhaustive()
    }
}

impl Shared {
    /// The SCIM base URL of a connection.
    pub fn scim_base_url(&self, connection: Uuid) -> String {
        format!("{}/scim/v2/{connection}", self.public_url)
    }
}

/// A GET-only endpoint; other methods get 405.
fn read_only(path: &str, get: actix_web::Route) -> actix_web::Resource {
    web::resource(path).route(get).default_service(web::to(resources::method_not_allowed))
}

/// The whole API surface. `/Bulk` reads bodies up to its own limit, not the global one.
pub fn routes(cfg: &mut web::ServiceConfig, bulk: BulkLimits) {
    use resources::{
        bulk as bulk_request, create, delete, get, list, not_supported, patch, replace, search, search_all,
    };
    let method_not_allowed = || web::to(resources::method_not_allowed);
    // On resources, not the scope: the middleware keeps a handle on the request, and the scope
    // still needs it unshared while it routes.
    let deadline = || actix_web::middleware::from_fn(request_deadline::request_deadline);
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .service(read_only("/.well-known/jwks.json", web::get().to(jwks::jwks)))
        .service(read_only("/.well-known/oauth-authorization-server", web::get().to(oauth::metadata)))
        .service(
            web::resource(crate::oauth::TOKEN_PATH)
                .route(web::post().to(oauth::token))
                .default_service(web::to(oauth::token_method_not_allowed)),
        )
        .service(read_only("/metrics", web::get().to(metrics::metrics)))
        .service(admin::routes())
        .configure(join::routes)
        .service(console::routes())
        .service(
            web::scope("/scim/v2/{connection}")
                .service(read_only(
                    "/ServiceProviderConfig",
                    web::get().to(discovery::service_provider_config),
                ))
                .service(read_only("/ResourceTypes", web::get().to(discovery::resource_types)))
                .service(read_only("/ResourceTypes/{id}", web::get().to(discovery::resource_type)))
                .service(read_only("/Schemas", web::get().to(discovery::schemas)))
                .service(read_only("/Schemas/{id}", web::get().to(discovery::schema)))
                .service(read_only("/Roles", web::get().to(roles::list)))
                .service(read_only("/Roles/{name}", web::get().to(roles::get)))
                .service(
                    web::resource("/Bulk")
                        .app_data(web::PayloadConfig::new(bulk.max_payload_bytes))
                        .route(web::post().to(bulk_request))
                        .default_service(method_not_allowed()),
                )
                .route("/Me", web::to(not_supported))
                .service(
                    web::resource("/.search")
                        .wrap(deadline())
                        .route(web::post().to(search_all))
                        .default_service(method_not_allowed()),
                )
                .service(
                    web::resource("/{endpoint:Users|Groups}/.search")
                        .wrap(deadline())
                        .route(web::post().to(search))
                        .default_service(method_not_allowed()),
                )
                .service(
                    web::resource("/{endpoint:Users|Groups}")
                        .wrap(deadline())
                        .route(web::get().to(list))
                        .route(web::post().to(create))
                        .default_service(method_not_allowed()),
                )
                .service(
                    web::resource("/{endpoint:Users|Groups}/{id}")
                        .wrap(deadline())
                        .route(web::get().to(get))
                        .route(web::put().to(replace))
                        .route(web::patch().to(patch))
                        .route(web::delete().to(delete))
                        .default_service(method_not_allowed()),
                ),
        );
}
