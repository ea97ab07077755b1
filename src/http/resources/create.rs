//! POST /Users, POST /Groups.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::{read_input, registry_for, resource_response, Endpoint};
use crate::db;
use crate::directory::{groups, users};
use crate::error::ScimResult;
use crate::http::extract::{json_body, query_pairs};
use crate::http::principal::Claimed;
use crate::http::record::note;
use crate::http::AppState;
use crate::scim::list::{parse_projection, Projection};
use crate::scim::schema::ResourceKind;

/// What a POST writes, for the provisioning log, and answers when it succeeds.
const CREATE: (&str, StatusCode) = ("create", StatusCode::CREATED);

/// Create a resource: 201 with the resource, `Location` and `ETag`.
///
/// A member is created in one statement that checks the caller's token itself when this process
/// recalls how the token stood ([`create_as`]). Otherwise, when its body names its userName, the
/// token is checked in the same round trip as the probe for a removed member to restore
/// (`db::users::restorable_as`), under the key the body suggests
/// (`directory::users::restore_key_guess`; the create probes again if the member as normalised
/// has another). Anything else checks the token first ([`Claimed::confirm`]). Every way, a token
/// that is not live answers 401 before anything else about the request, and nothing is written.
#[tracing::instrument(name = "create", skip_all, fields(scim.resource = kind.name()))]
pub async fn create(
    req: HttpRequest,
    claimed: Claimed,
    Endpoint(kind): Endpoint,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    // Read before the token is checked; complained about only after.
    let projection = query_pairs(&req).and_then(|pairs| parse_projection(&pairs));
    let read = json_body(&req, &body);
    let guess = match (kind, &projection, &read) {
        (ResourceKind::User, Ok(projection), Ok(value)) => {
            if let Some(created) = create_as(&req, &claimed, &state, projection, value).await {
                return created;
            }
            users::restore_key_guess(Some(claimed.token().connection), value)
        }
        _ => None,
    };
    let (ctx, mut conn, probed) = match guess {
        Some(key) => {
            let mut conn = db::checkout(&state.pool, claimed.scope()).await?;
            let (live, found) = match db::users::restorable_as(&conn, claimed.token(), &key).await? {
                Some((live, found)) => (Some(live), found),
                None => (None, None),
            };
            (claimed.admit_in(&mut conn, live).await?, conn, Some((key, found)))
        }
        None => {
            let ctx = claimed.confirm().await?;
            let conn = db::checkout(&state.pool, ctx.rows()).await?;
            (ctx, conn, None)
        }
    };
    note(&req, |r| {
        r.resource(kind, None);
        r.operation("create");
    });
    let projection = projection?;
    let registry = registry_for(&state, &ctx, kind);
    let input = read_input(&req, read, &ctx, registry, kind, CREATE)?;
    let stored = match kind {
        ResourceKind::User => users::create(&mut conn, &ctx, input, probed).await?,
        ResourceKind::Group => groups::create(&mut conn, &ctx, input).await?,
    };
    note(&req, |r| r.resource(kind, Some(stored.id)));
    Ok(resource_response(StatusCode::CREATED, registry, kind, &ctx, stored, &projection))
}

/// A member's create in one statement, when this process recalls how the caller's token stood
/// when last found live ([`Claimed::recalled`]): the body is read under that standing, and the
/// statement writes only if the token is still live at it and no removed member is to be
/// restored (`directory::users::create_as`). `None` when anything says otherwise — the body
/// does not read under that standing (its complaint waits for the token check), a password is
/// sent, or the statement wrote nothing: then the request is as it was ([`Claimed::withdraw`])
/// and goes the usual way. An error of the statement itself comes after its token check passed.
async fn create_as(
    req: &HttpRequest,
    claimed: &Claimed,
    state: &AppState,
    projection: &Projection,
    body: &Value,
) -> Option<ScimResult<HttpResponse>> {
    let kind = ResourceKind::User;
    let (ctx, standing) = claimed.recalled()?;
    note(req, |r| {
        r.resource(kind, None);
        r.operation("create");
    });
    let registry = registry_for(state, &ctx, kind);
    let created = match read_input(req, Ok(body.clone()), &ctx, registry, kind, CREATE) {
        Ok(input) => match db::checkout(&state.pool, ctx.rows()).await {
            Ok(mut conn) => users::create_as(&mut conn, &ctx, input, claimed.token(), standing).await,
            Err(e) => Err(e),
        },
        Err(_) => Ok(None),
    };
    match created {
        Ok(Some(stored)) => {
            note(req, |r| r.resource(kind, Some(stored.id)));
            Some(Ok(resource_response(StatusCode::CREATED, registry, kind, &ctx, stored, projection)))
        }
        Ok(None) => {
            claimed.withdraw();
            None
        }
        Err(e) => Some(Err(e)),
    }
}
