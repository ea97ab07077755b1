//! DELETE /Users/{id}, DELETE /Groups/{id}.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::Endpoint;
use crate::db;
use crate::directory::write::member_update_as;
use crate::directory::{groups, users, Context};
use crate::error::ScimResult;
use crate::http::extract::{entity_tags, resource_id};
use crate::http::principal::Claimed;
use crate::http::record::{expect_success, note};
use crate::http::AppState;
use crate::scim::schema::ResourceKind;

/// Delete a resource: 204. A user is marked removed (row and id kept); a group is deleted.
///
/// A member's DELETE with a well-formed id and `If-Match` takes two round trips, like a member's
/// PATCH and PUT (`directory::write::member_update_as`): the member is read with the caller's
/// token check, then removed by one statement that writes only the row version read (made
/// again under the member's lock when the member changed meanwhile, or grants admin). A
/// group's, and a malformed request, check the token first ([`Claimed::confirm`]). Either way a
/// token that is not live answers 401 before anything else about the request, and nothing is
/// written.
#[tracing::instrument(name = "delete", skip_all, fields(scim.resource = kind.name()))]
pub async fn delete(
    req: HttpRequest,
    claimed: Claimed,
    Endpoint(kind): Endpoint,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let id = resource_id(kind.name(), &path.2);
    let if_match = entity_tags(&req, header::IF_MATCH);
    let noted = |ctx: Context, id: Option<uuid::Uuid>| {
        note(&req, |r| {
            r.resource(kind, id);
            r.operation("delete");
        });
        ctx
    };
    if let (ResourceKind::User, Ok(id), Ok(if_match)) = (kind, &id, &if_match) {
        let id = *id;
        let mut conn = db::checkout(&state.pool, claimed.scope()).await?;
        let token = claimed.token();
        let admit = async |conn: &mut db::Conn, live| {
            let ctx = noted(claimed.admit_in(conn, live).await?, Some(id));
            expect_success(&req, StatusCode::NO_CONTENT);
            Ok((ctx, ()))
        };
        let write = async |conn: &mut db::Conn, ctx: &Context, found, ()| {
            users::remove_locked(conn, ctx, id, found, if_match.as_ref()).await
        };
        member_update_as(&mut conn, token, id, admit, write).await?;
        return Ok(HttpResponse::NoContent().finish());
    }
    // A group, or a malformed request: the token first, then the request's complaint.
    let ctx = noted(claimed.confirm().await?, None);
    let id = id?;
    note(&req, |r| r.resource(kind, Some(id)));
    let if_match = if_match?;
    expect_success(&req, StatusCode::NO_CONTENT);
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    match kind {
        ResourceKind::User => users::remove(&mut conn, &ctx, id, if_match.as_ref()).await?,
        ResourceKind::Group => groups::delete(&mut conn, &ctx, id, if_match.as_ref()).await?,
    }
    Ok(HttpResponse::NoContent().finish())
}
