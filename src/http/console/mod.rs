//! The admin console (issue #11), served by `roster serve` at `/console/`: the IT admin's door
//! (connect an IdP, watch the first request arrive, tokens, the provisioning log) and the org
//! admin's (members, the group tree, roles, positions, categories, settings).
//!
//! **Why server-rendered maud pages with htmx.** Pages are built with [maud]: its `html!` macro is
//! checked and compiled with the crate, so there are no template files to ship or to find at run
//! time, a typo is a build error rather than a blank page, and every interpolated value is
//! HTML-escaped unless it is explicitly marked `PreEscaped` (nothing a member, an IdP or an import
//! supplied ever is). Partial updates (the wizard's "waiting for the first request" poll) use
//! htmx, vendored from the npm registry (`htmx.org` 2, licence next to it) and served from the
//! binary with a small CSS file and a few lines of our own script ([`assets`]) — no Node build
//! step, nothing fetched from the internet at run time. Every response carries a
//! `Content-Security-Policy` that allows this origin only (no inline script or style).
//!
//! **Sessions.** Sign-in with the operator credential or a tenant admin token opens a server-side
//! session ([`session`]); a setup link opens one limited to connection pages. State-changing
//! requests are POST forms carrying a synchronizer CSRF token bound to the session ([`csrf`]).
//!
//! **One write path.** Handlers here are thin over the same directory functions the admin API
//! handlers call (`directory::tenants`, `role_admin`, `invitations`, the group move of
//! `http::admin::groups`), never a write of their own.

pub mod assets;
pub mod audit;
mod catalog;
mod connect;
mod connection;
pub mod csrf;
mod groups;
mod import;
mod join;
pub mod layout;
mod log;
mod members;
pub mod session;
mod signin;
mod webhooks;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpResponse, ResponseError};

pub use session::{Session, SessionPolicy};

use crate::error::ScimError;

/// Why a console request was refused: sign in first, or a SCIM-style error shown as a page.
#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: go to the sign-in page.
    SignIn,
    /// Anything else, with the status and detail of the error.
    Scim(ScimError),
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsoleError::SignIn => f.write_str("sign in first"),
            ConsoleError::Scim(e) => e.fmt(f),
        }
    }
}

impl From<ScimError> for ConsoleError {
    fn from(e: ScimError) -> Self {
        ConsoleError::Scim(e)
    }
}

impl From<crate::directory::tenants::AdminError> for ConsoleError {
    fn from(e: crate::directory::tenants::AdminError) -> Self {
        ConsoleError::Scim(crate::http::admin::admin_error(e))
    }
}

impl From<diesel::result::Error> for ConsoleError {
    fn from(e: diesel::result::Error) -> Self {
        ConsoleError::Scim(e.into())
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn => StatusCode::SEE_OTHER,
            ConsoleError::Scim(e) => {
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::SignIn => {
                HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/sign-in")).finish()
            }
            ConsoleError::Scim(e) => {
                if let Some(cause) = e.cause() {
                    tracing::error!(error = %format!("{cause:#}"), "console request failed");
                }
                HttpResponse::build(self.status_code())
                    .content_type("text/html; charset=utf-8")
                    .body(layout::error_page(e.status(), e.detail()).into_string())
            }
        }
    }
}

/// Result alias of console handlers.
pub type ConsoleResult<T> = Result<T, ConsoleError>;

/// The Content-Security-Policy of every console response: this origin only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Security headers on every console response; pages are never cached.
async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let is_asset = req.path().starts_with("/console/assets/");
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A setup link's token is in its path: never send it to another site as a referrer. (Not
    // `no-referrer`: that makes browsers send `Origin: null`, which the sign-in forms refuse.)
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// The console's routes, under `/console`.
pub fn routes() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/console")
        .wrap(from_fn(audit::audit_writes))
        .wrap(from_fn(security_headers))
        .route("", web::get().to(signin::index))
        .route("/", web::get().to(signin::index))
        .route("/assets/{file}", web::get().to(assets::serve))
        .route("/sign-in", web::get().to(signin::form))
        .route("/sign-in", web::post().to(signin::sign_in))
        .route("/sign-out", web::post().to(signin::sign_out))
        .route("/setup/{token}", web::get().to(signin::setup_form))
        .route("/setup/{token}", web::post().to(signin::setup_redeem))
        .route("/tenants", web::get().to(signin::tenants))
        .route("/t/{tenant}", web::get().to(connect::home))
        .route("/t/{tenant}/", web::get().to(connect::home))
        .route("/t/{tenant}/connect", web::get().to(connect::choose))
        .route("/t/{tenant}/connect", web::post().to(connect::create))
        .route("/t/{tenant}/connections/{connection}", web::get().to(connection::show))
        .route("/t/{tenant}/connections/{connection}/waiting", web::get().to(connect::waiting))
        .route("/t/{tenant}/connections/{connection}/tokens", web::post().to(connection::issue_token))
        .route("/t/{tenant}/connections/{connection}/rotate", web::post().to(connection::rotate))
        .route("/t/{tenant}/connections/{connection}/mode", web::post().to(connection::set_mode))
        .route("/t/{tenant}/tokens/{token}/revoke", web::post().to(connection::revoke_token))
        .route("/t/{tenant}/log", web::get().to(log::list))
        .route("/t/{tenant}/members", web::get().to(members::list))
        .route("/t/{tenant}/members", web::post().to(members::create))
        .route("/t/{tenant}/members/{member}", web::get().to(members::show))
        .route("/t/{tenant}/members/{member}/role", web::post().to(members::set_override))
        .route("/t/{tenant}/members/{member}/invitations", web::post().to(members::record_invitation))
        .route("/t/{tenant}/members/{member}/lifecycle", web::post().to(members::lifecycle))
        .route("/t/{tenant}/members/{member}/edit", web::post().to(members::update))
        .route("/t/{tenant}/members/{member}/groups", web::post().to(members::add_to_group))
        .route("/t/{tenant}/members/{member}/groups/{group}/leave", web::post().to(members::leave_group))
        .route("/t/{tenant}/groups", web::get().to(groups::tree))
        .route("/t/{tenant}/groups", web::post().to(groups::create))
        .route("/t/{tenant}/groups/{group}/rename", web::post().to(groups::rename))
        .route("/t/{tenant}/groups/{group}/delete", web::post().to(groups::delete))
        .route("/t/{tenant}/groups/{group}/parent", web::post().to(groups::move_group))
        .route("/t/{tenant}/groups/{group}/roles", web::post().to(groups::bind))
        .route("/t/{tenant}/groups/{group}/roles/{role}/unbind", web::post().to(groups::unbind))
        .route("/t/{tenant}/import", web::get().to(import::start))
        .route("/t/{tenant}/import/template.csv", web::get().to(import::template))
        .route("/t/{tenant}/import/columns", web::post().to(import::columns))
        .service(
            web::resource("/t/{tenant}/import/plan")
                .app_data(web::PayloadConfig::new(import::MAX_FORM_BYTES))
                .route(web::post().to(import::plan)),
        )
        .service(
            web::resource("/t/{tenant}/import/apply")
                .app_data(web::PayloadConfig::new(import::MAX_FORM_BYTES))
                .route(web::post().to(import::apply)),
        )
        .route("/t/{tenant}/import/jobs/{job}", web::get().to(import::job))
        .route("/t/{tenant}/import/jobs/{job}/status", web::get().to(import::job_status))
        .route("/t/{tenant}/join", web::get().to(join::show))
        .route("/t/{tenant}/join/settings", web::post().to(join::update_settings))
        .route("/t/{tenant}/join/links", web::post().to(join::links::create_link))
        .route("/t/{tenant}/join/links/{link}/revoke", web::post().to(join::links::revoke_link))
        .route("/t/{tenant}/join/invitation-link/rotate", web::post().to(join::links::rotate_invitation_link))
        .route("/t/{tenant}/join/invitations", web::post().to(join::links::invite))
        .route("/t/{tenant}/join/prestored", web::post().to(join::prestored::create))
        .route("/t/{tenant}/join/prestored/import", web::post().to(join::prestored::import))
        .route("/t/{tenant}/join/prestored/{record}/delete", web::post().to(join::prestored::delete))
        .route("/t/{tenant}/join/requests/{request}/approve", web::post().to(join::approve))
        .route("/t/{tenant}/join/requests/{request}/deny", web::post().to(join::deny))
        .route("/t/{tenant}/roles", web::get().to(catalog::show))
        .route("/t/{tenant}/settings", web::post().to(catalog::update_settings))
        .route("/t/{tenant}/webhooks", web::get().to(webhooks::show))
        .route("/t/{tenant}/webhooks", web::post().to(webhooks::add))
        .route("/t/{tenant}/webhooks/{webhook}/test", web::post().to(webhooks::test))
        .route("/t/{tenant}/webhooks/{webhook}/remove", web::post().to(webhooks::remove))
        .route("/t/{tenant}/audit", web::get().to(audit::show))
        .default_service(web::to(not_found))
}

/// Any other console path.
async fn not_found() -> ConsoleResult<HttpResponse> {
    Err(ScimError::not_found("no such console page").into())
}
