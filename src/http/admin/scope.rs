//! [`TenantScope`], the extractor of every `/admin/v1/tenants/{tenant}/...` handler: it
//! authenticates the caller ([`AdminCaller`]), admits it to the path's tenant
//! ([`AdminCaller::for_tenant`]: a tenant admin's other tenants are 404, like tenants that do not
//! exist) and resolves the tenant, so handlers start from a tenant they may act on.

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::audit::AuditTenant;
use super::{authenticate, tenant, AdminCaller, Operator};
use crate::db::tenants::Tenant;
use crate::db::{self, Conn};
use crate::directory::{Context, TenantProfile};
use crate::error::{ScimError, ScimResult};
use crate::http::AppState;

/// The caller of a `/tenants/{tenant}/...` route, admitted to that tenant.
#[derive(Debug, Clone)]
pub struct TenantScope {
    /// Who calls.
    pub caller: AdminCaller,
    /// The path's tenant.
    pub tenant: Tenant,
}

impl TenantScope {
    /// The tenant's id.
    pub fn id(&self) -> Uuid {
        self.tenant.id
    }

    /// A connection that sees this tenant's rows only (row-level security, [`db::Scope`]).
    pub async fn conn(&self, state: &AppState) -> ScimResult<db::PooledConn> {
        db::checkout(&state.pool, db::Scope::Tenant(self.tenant.id)).await
    }

    /// The operator, or 403 for a tenant admin (operator-only routes under a tenant).
    pub fn operator(&self) -> Result<Operator, ScimError> {
        self.caller.operator()
    }

    /// The directory context of an admin write in this tenant (its profile read fresh).
    pub async fn context(&self, conn: &mut Conn, state: &AppState) -> ScimResult<Context> {
        admin_context(conn, state, &self.tenant).await
    }
}

/// The directory context of an administrator's write in `tenant` (admin API or console): no
/// connection, the tenant's profile read fresh, links under the tenant's admin API path.
pub(crate) async fn admin_context(conn: &mut Conn, state: &AppState, tenant: &Tenant) -> ScimResult<Context> {
    let profile = Arc::new(TenantProfile::load(conn, &state.registry, tenant.id).await?);
    let base_url = format!("{}/admin/v1/tenants/{}", state.public_url, tenant.slug);
    Ok(Context::admin(tenant.id, state.clock.now(), base_url, profile))
}

async fn admit(req: HttpRequest) -> ScimResult<TenantScope> {
    let caller = authenticate(req.clone()).await?;
    let slug = req
        .match_info()
        .get("tenant")
        .ok_or_else(|| ScimError::internal(anyhow::anyhow!("TenantScope on a route without {{tenant}}")))?
        .to_string();
    caller.for_tenant(&slug)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ScimError::internal(anyhow::anyhow!("AppState missing")))?;
    let tenant = {
        // The operator names any tenant; a tenant admin's own tenant is known from its token.
        let mut conn = db::checkout(&state.pool, caller.rows()).await?;
        tenant(&mut conn, &slug).await?
    };
    req.extensions_mut().insert(AuditTenant(tenant.id));
    Ok(TenantScope { caller, tenant })
}

impl FromRequest for TenantScope {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(admit(req.clone()))
    }
}
