//! Console sessions: opened by a sign-in (operator credential or tenant admin token) or a setup
//! link, kept server-side (`console_sessions`), named by a cookie holding 256 random bits of which
//! only the SHA-256 digest is stored. The cookie is HttpOnly, SameSite=Strict, limited to
//! `/console`, and Secure when the public URL is https. A session ends after its idle time
//! without a request, at its absolute expiry, at sign-out, and — for a tenant admin — as soon as
//! the admin token it was opened with is revoked or expires.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::{DateTime, Duration, Utc};
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{ConsoleError, ConsoleResult};
use crate::config::Settings;
use crate::db::console::{self as store, NewSession};
use crate::db::tenants::Tenant;
use crate::directory::setup_links::{digest, random_secret};
use crate::error::ScimError;
use crate::http::admin::AdminCaller;
use crate::http::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "roster_console";

/// How long sessions live and how their cookie is marked.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Time without a request after which a session ends.
    pub idle: Duration,
    /// Time after sign-in after which a session ends.
    pub absolute: Duration,
    /// Mark the cookie Secure (the public URL is https).
    pub secure_cookie: bool,
}

impl SessionPolicy {
    /// From `ROSTER_CONSOLE_IDLE_MINUTES`, `ROSTER_CONSOLE_SESSION_HOURS` and the public URL.
    pub fn from_settings(settings: &Settings, public_url: &str) -> Self {
        SessionPolicy {
            idle: Duration::minutes(i64::from(settings.console_idle_minutes)),
            absolute: Duration::hours(i64::from(settings.console_session_hours)),
            secure_cookie: public_url.starts_with("https://"),
        }
    }
}

/// What a session may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The operator credential: every tenant.
    Operator,
    /// A tenant admin token: its tenant.
    TenantAdmin {
        /// The admin token signed in with.
        token_id: Uuid,
    },
    /// A setup link: its tenant's connection pages only.
    SetupLink,
}

/// A live console session, extracted from the request's cookie (no session: sign in first).
#[derive(Debug, Clone)]
pub struct Session {
    /// Session id.
    pub id: Uuid,
    /// Operator, tenant admin or setup link.
    pub kind: Kind,
    /// The tenant of a tenant admin or setup-link session (id, slug).
    pub tenant: Option<(Uuid, String)>,
    /// The session's CSRF token (derived from its secret; see [`csrf_token`]).
    pub csrf: String,
    /// Set when the request's write recorded its own audit entry (`audit::record`); otherwise
    /// the console's audit middleware records it (`super::audit::audit_writes`).
    pub audited: std::rc::Rc<std::cell::Cell<bool>>,
}

/// What the console's audit middleware knows of a request's session (request extensions).
#[derive(Debug, Clone)]
pub struct SessionSeen {
    /// Session id.
    pub id: Uuid,
    /// The session's own tenant (tenant admin, setup link); `None` for the operator.
    pub tenant: Option<Uuid>,
    /// See [`Session::audited`].
    pub audited: std::rc::Rc<std::cell::Cell<bool>>,
}

impl Session {
    /// The rows the session may reach at all (row-level security): every tenant's for the
    /// operator, its tenant's for a tenant admin or a setup link.
    pub fn rows(&self) -> crate::db::Scope {
        self.tenant.as_ref().map_or(crate::db::Scope::All, |(id, _)| crate::db::Scope::Tenant(*id))
    }

    /// The admin API caller this session acts as: the operator, or the tenant's admin.
    pub fn caller(&self) -> AdminCaller {
        match (&self.kind, &self.tenant) {
            (Kind::Operator, _) => AdminCaller::Operator,
            (Kind::TenantAdmin { token_id }, Some((tenant_id, slug))) => {
                AdminCaller::TenantAdmin { tenant_id: *tenant_id, slug: slug.clone(), token_id: *token_id }
            }
            // A setup link acts for its tenant; which pages it may open is checked by `directory`.
            (_, Some((tenant_id, slug))) => {
                AdminCaller::TenantAdmin { tenant_id: *tenant_id, slug: slug.clone(), token_id: Uuid::nil() }
            }
            (_, None) => AdminCaller::TenantAdmin {
                tenant_id: Uuid::nil(),
                slug: String::new(),
                token_id: Uuid::nil(),
            },
        }
    }

    /// Admit the session to tenant `slug` (the admin API's rule: another tenant is 404).
    pub fn for_tenant(&self, slug: &str) -> ConsoleResult<()> {
        Ok(self.caller().for_tenant(slug)?)
    }

    /// Admit the session to the directory pages (members, groups, roles, settings): 403 for a
    /// setup link, which opens connection setup, tokens and the provisioning log only.
    pub fn directory(&self) -> ConsoleResult<()> {
        match self.kind {
            Kind::SetupLink => Err(ScimError::forbidden(
                "a setup link opens connection setup, tokens and the provisioning log only; \
                 sign in as a tenant admin for this page",
            )
            .into()),
            _ => Ok(()),
        }
    }

    /// Admit the session to tenant `slug`'s pages of `area` and load the tenant, with a database
    /// connection for the rest of the request: the first step of every tenant page.
    pub async fn open_tenant(
        &self,
        state: &AppState,
        slug: &str,
        area: Area,
    ) -> ConsoleResult<(crate::db::PooledConn, Tenant)> {
        self.for_tenant(slug)?;
        if area == Area::Directory {
            self.directory()?;
        }
        let mut conn = crate::db::checkout(&state.pool, self.rows()).await?;
        let t = crate::http::admin::tenant(&mut conn, slug).await?;
        crate::db::enter(&mut conn, crate::db::Scope::Tenant(t.id)).await?;
        Ok((conn, t))
    }
}

/// Which part of the console a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// Connections, tokens and the provisioning log (setup links too).
    Connections,
    /// Members, groups, roles and settings (not setup links).
    Directory,
}

/// The CSRF token of the session whose cookie secret is `secret`: a digest of it, so it is bound
/// to the session, needs no storage, and cannot be computed without the (HttpOnly) secret.
pub fn csrf_token(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"roster-console-csrf\0");
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Who a new session is for.
#[derive(Debug, Clone)]
pub struct Opening {
    /// Its kind.
    pub kind: Kind,
    /// Its tenant (none for the operator).
    pub tenant_id: Option<Uuid>,
    /// The setup link it came from.
    pub setup_link_id: Option<Uuid>,
}

/// Open a session; returns the cookie to set. The sign-in is an audit entry of the new session
/// (a setup link's names the link).
pub async fn open(state: &AppState, opening: Opening) -> ConsoleResult<Cookie<'static>> {
    let now = crate::directory::db_precision(state.clock.now());
    let secret = random_secret();
    let (kind, admin_token_id) = match opening.kind {
        Kind::Operator => ("operator", None),
        Kind::TenantAdmin { token_id } => ("tenant_admin", Some(token_id)),
        Kind::SetupLink => ("setup_link", None),
    };
    let row = NewSession {
        id: Uuid::now_v7(),
        secret_hash: digest(&secret),
        kind: kind.to_string(),
        tenant_id: opening.tenant_id,
        admin_token_id,
        setup_link_id: opening.setup_link_id,
        created_at: now,
        last_seen_at: now,
        expires_at: now + state.console.absolute,
    };
    let mut conn = crate::db::checkout(
        &state.pool,
        opening.tenant_id.map_or(crate::db::Scope::All, crate::db::Scope::Tenant),
    )
    .await?;
    store::insert_session(&mut conn, &row).await?;
    let (route, mut targets) = match opening.setup_link_id {
        Some(link) => (
            "/console/setup/{token}",
            serde_json::Map::from_iter([("setup_link".to_string(), link.to_string().into())]),
        ),
        None => ("/console/sign-in", serde_json::Map::new()),
    };
    targets.insert("session".into(), row.id.to_string().into());
    let entry = crate::audit::AuditEntry {
        tenant_id: opening.tenant_id,
        actor: crate::audit::Actor::ConsoleSession(row.id),
        method: "POST".into(),
        route: route.into(),
        targets,
        summary: format!("signed in to the console ({kind})"),
        status: 303,
    };
    if let Err(e) = crate::audit::record_audit(&mut conn, &entry, now).await {
        tracing::error!(error = ?e, "could not record the console sign-in in the audit trail");
    }
    Ok(cookie(state, secret))
}

/// Record a refused attempt to open a session (a wrong credential, an unusable setup link) as an
/// anonymous audit entry on no tenant, which the operator sees: nothing the request claimed is
/// trusted, so it names no tenant and no credential. A failure to record is logged, not answered.
pub async fn record_refused(state: &AppState, route: &str, summary: &str) {
    let entry = crate::audit::AuditEntry {
        tenant_id: None,
        actor: crate::audit::Actor::Anonymous,
        method: "POST".into(),
        route: route.into(),
        targets: serde_json::Map::new(),
        summary: summary.into(),
        status: 401,
    };
    let written = match crate::db::checkout(&state.pool, crate::db::Scope::All).await {
        Ok(mut conn) => crate::audit::record_audit(&mut conn, &entry, state.clock.now()).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        tracing::error!(error = ?e, route, "could not record the refused console sign-in in the audit trail");
    }
}

/// The session cookie carrying `secret`.
pub fn cookie(state: &AppState, secret: String) -> Cookie<'static> {
    Cookie::build(COOKIE, secret)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.console.secure_cookie)
        .finish()
}

/// A cookie that clears the session cookie.
pub fn cleared(state: &AppState) -> Cookie<'static> {
    let mut c = cookie(state, String::new());
    c.make_removal();
    c
}

async fn load(req: HttpRequest) -> ConsoleResult<Session> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ScimError::internal(anyhow::anyhow!("AppState missing")))?;
    let secret = req.cookie(COOKIE).map(|c| c.value().to_string()).ok_or(ConsoleError::SignIn)?;
    if secret.is_empty() || secret.len() > 100 {
        return Err(ConsoleError::SignIn);
    }
    let now: DateTime<Utc> = state.clock.now();
    // The session's tenant is what the lookup finds.
    let mut conn = crate::db::checkout(&state.pool, crate::db::Scope::All).await?;
    let live = store::touch_session(&mut conn, &digest(&secret), now, now - state.console.idle)
        .await?
        .ok_or(ConsoleError::SignIn)?;
    let kind = match (live.kind.as_str(), live.admin_token_id) {
        ("operator", _) => Kind::Operator,
        ("tenant_admin", Some(token_id)) => Kind::TenantAdmin { token_id },
        _ => Kind::SetupLink,
    };
    let tenant = live.tenant_id.zip(live.slug);
    let audited = std::rc::Rc::new(std::cell::Cell::new(false));
    let seen = SessionSeen { id: live.id, tenant: live.tenant_id, audited: audited.clone() };
    actix_web::HttpMessage::extensions_mut(&req).insert(seen);
    Ok(Session { id: live.id, kind, tenant, csrf: csrf_token(&secret), audited })
}

impl FromRequest for Session {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(load(req.clone()))
    }
}
