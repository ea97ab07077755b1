//! Signing in and out: the sign-in form (operator credential or tenant admin token, checked by
//! the admin API's own authentication and counted by its credential back-off), setup links, and
//! the operator's tenant list. The two forms that open a session have no session to bind a CSRF
//! token to; they refuse a cross-origin `Origin` instead (login CSRF).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::layout::{self, page, Frame};
use super::session::{self, Kind, Opening, Session};
use super::{csrf, ConsoleError, ConsoleResult};
use crate::db;
use crate::directory::setup_links;
use crate::error::ScimError;
use crate::http::admin::{authenticate_token, AdminCaller};
use crate::http::AppState;

/// Where a session lands: the operator's tenant list, or its tenant's first page.
fn landing(session: &Session) -> String {
    match (&session.kind, &session.tenant) {
        (Kind::Operator, _) | (_, None) => "/console/tenants".into(),
        (_, Some((_, slug))) => format!("/console/t/{slug}/"),
    }
}

/// GET /console/ — to the landing page, or to sign-in.
pub async fn index(session: Session) -> HttpResponse {
    layout::see_other(&landing(&session))
}

fn sign_in_page(error: Option<&str>) -> maud::Markup {
    page(
        "Sign in",
        Frame { session: None, tenant: None, current: "" },
        html! {
            section.card.signin {
                h1 { "Sign in to the Roster console" }
                @if let Some(e) = error { div.error { (e) } }
                form method="post" action="/console/sign-in" {
                    label for="credential" { "Operator credential or tenant admin token" }
                    input type="password" id="credential" name="credential" autocomplete="off" required;
                    button type="submit" { "Sign in" }
                }
                p.muted { "Operators use ROSTER_ADMIN_TOKEN; a tenant admin uses a token from "
                          code { "roster admin-token issue" } "." }
            }
        },
    )
}

/// GET /console/sign-in
pub async fn form() -> HttpResponse {
    layout::respond(sign_in_page(None))
}

/// Refuse a session-opening POST sent from another origin.
fn same_origin(req: &HttpRequest, state: &AppState) -> ConsoleResult<()> {
    match req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) if origin != state.public_url.trim_end_matches('/') => Err(ScimError::forbidden(
            "this form was sent from another site; open the console at its own address",
        )
        .into()),
        _ => Ok(()),
    }
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct Credential {
    credential: String,
}

/// POST /console/sign-in — a session for the operator or a tenant admin; 401 (counted by the
/// credential back-off) for anything else.
pub async fn sign_in(
    req: HttpRequest,
    form: web::Form<Credential>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    same_origin(&req, &state)?;
    let credential = form.credential.trim();
    let caller = match authenticate_token(&state, credential).await {
        Ok(caller) => caller,
        Err(e) if e.status() == 401 || e.status() == 400 => {
            session::record_refused(
                &state,
                "/console/sign-in",
                "console sign-in refused: the credential is not valid",
            )
            .await;
            return Ok(HttpResponse::Unauthorized().content_type("text/html; charset=utf-8").body(
                sign_in_page(Some("That credential is not valid (or was revoked or has expired)."))
                    .into_string(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let opening = match caller {
        AdminCaller::Operator => Opening { kind: Kind::Operator, tenant_id: None, setup_link_id: None },
        AdminCaller::TenantAdmin { tenant_id, token_id, .. } => {
            Opening { kind: Kind::TenantAdmin { token_id }, tenant_id: Some(tenant_id), setup_link_id: None }
        }
    };
    let cookie = session::open(&state, opening).await?;
    Ok(HttpResponse::SeeOther().cookie(cookie).insert_header((header::LOCATION, "/console/")).finish())
}

/// POST /console/sign-out — revokes the session and clears its cookie.
pub async fn sign_out(
    form: csrf::Protected<csrf::NoFields>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let mut conn = db::checkout(&state.pool, db::Scope::All).await?;
    db::console::revoke_session(&mut conn, form.session.id, state.clock.now()).await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::cleared(&state))
        .insert_header((header::LOCATION, "/console/sign-in"))
        .finish())
}

/// GET /console/setup/{token} — a button, not the redemption itself: mail scanners that fetch
/// links must not use up a single-use link.
pub async fn setup_form(token: web::Path<String>) -> HttpResponse {
    layout::respond(page(
        "Set up your identity provider",
        Frame { session: None, tenant: None, current: "" },
        html! {
            section.card.signin {
                h1 { "Set up provisioning" }
                p { "This link opens the Roster console for your organization, limited to connecting \
                     your identity provider, its tokens and the provisioning log. It works once." }
                form method="post" action={ "/console/setup/" (token.as_str()) } {
                    button type="submit" { "Continue" }
                }
            }
        },
    ))
}

/// POST /console/setup/{token} — use the link: a setup session for its tenant.
pub async fn setup_redeem(
    req: HttpRequest,
    token: web::Path<String>,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    same_origin(&req, &state)?;
    // The link's tenant is what the redemption finds.
    let mut conn = db::checkout(&state.pool, db::Scope::All).await?;
    let Some((tenant_id, link_id)) = setup_links::redeem(&mut conn, &token, state.clock.now()).await? else {
        drop(conn);
        session::record_refused(
            &state,
            "/console/setup/{token}",
            "console setup link refused: used, expired or unknown",
        )
        .await;
        return Ok(HttpResponse::Unauthorized().content_type("text/html; charset=utf-8").body(
            layout::error_page(
                401,
                "This setup link is not valid: it was already used, has expired, or was mistyped. \
                 Ask whoever sent it for a new one.",
            )
            .into_string(),
        ));
    };
    drop(conn);
    let opening = Opening { kind: Kind::SetupLink, tenant_id: Some(tenant_id), setup_link_id: Some(link_id) };
    let cookie = session::open(&state, opening).await?;
    Ok(HttpResponse::SeeOther().cookie(cookie).insert_header((header::LOCATION, "/console/")).finish())
}

/// GET /console/tenants — the operator's tenant list (the way to switch tenants).
pub async fn tenants(session: Session, state: web::Data<AppState>) -> ConsoleResult<HttpResponse> {
    if session.kind != Kind::Operator {
        return Ok(layout::see_other(&landing(&session)));
    }
    let mut conn = db::checkout(&state.pool, session.rows()).await?;
    let all = db::tenants::list_tenants(&mut conn).await.map_err(ConsoleError::from)?;
    Ok(layout::respond(page(
        "Tenants",
        Frame { session: Some(&session), tenant: None, current: "" },
        html! {
            h1 { "Tenants" }
            @if all.is_empty() {
                p.muted { "No tenants yet. Create one with " code { "roster tenant create" } "." }
            } @else {
                table {
                    tr { th { "Tenant" } th { "Name" } }
                    @for t in &all {
                        tr {
                            td { a href={ "/console/t/" (t.slug) "/" } { (t.slug) } }
                            td { (t.name) }
                        }
                    }
                }
            }
        },
    )))
}
