//! POST /Users, POST /Groups.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{read_input, registry_for, resource_response, Endpoint};
use crate::db;
use crate::directory::{groups, users};
use crate::error::ScimResult;
use crate::http::extract::{json_body, query_pairs};
use crate::http::principal::Claimed;
use crate::http::record::note;
use crate::http::AppState;
use crate::scim::list::parse_projection;
use crate::scim::schema::ResourceKind;

/// Create a resource: 201 with the resource, `Location` and `ETag`.
///
/// A member whose body names its userName has the caller's token checked in the same round trip
/// as the probe for a removed member to restore (`db::users::restorable_as`), under the key the
/// body suggests (`directory::users::restore_key_guess`; the create probes again if the member
/// as normalised has another). Anything else checks the token first ([`Claimed::confirm`]).
/// Either way a token that is not live answers 401 before anything else about the request, and
/// nothing is written.
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
        (ResourceKind::User, Ok(_), Ok(value)) => {
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
    let input = read_input(&req, read, &ctx, registry, kind, ("create", StatusCode::CREATED))?;
    let stored = match kind {
        ResourceKind::User => users::create(&mut conn, &ctx, input, probed).await?,
        ResourceKind::Group => groups::create(&mut conn, &ctx, input).await?,
    };
    note(&req, |r| r.resource(kind, Some(stored.id)));
    Ok(resource_response(StatusCode::CREATED, registry, kind, &ctx, stored, &projection))
}
