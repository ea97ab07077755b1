//! GET /Users/{id}, GET /Groups/{id}.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::{item_response, registry_for, Endpoint};
use crate::db;
use crate::db::users::ViewKey;
use crate::directory::users::Item;
use crate::directory::{groups, users};
use crate::error::{ScimError, ScimResult};
use crate::http::extract::{entity_tags, query_pairs, resource_id};
use crate::http::principal::Claimed;
use crate::http::record::note;
use crate::http::AppState;
use crate::scim::list::parse_projection;
use crate::scim::schema::ResourceKind;

/// Read one resource; `If-None-Match` naming the current version answers 304. A member is read in
/// the same statement as the caller's token check ([`Claimed::admit`]).
#[tracing::instrument(name = "get", skip_all, fields(scim.resource = kind.name()))]
pub async fn get(
    req: HttpRequest,
    claimed: Claimed,
    Endpoint(kind): Endpoint,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    // What is asked, parsed before anything is read. A malformed request still answers 401
    // first when its token is not live.
    let asked = (|| {
        let id = resource_id(kind.name(), &path.2)?;
        Ok::<_, ScimError>((
            id,
            parse_projection(&query_pairs(&req)?)?,
            entity_tags(&req, header::IF_NONE_MATCH)?,
        ))
    })();
    let (ctx, member) = match (&asked, kind) {
        (Ok((id, projection, _)), ResourceKind::User) => {
            let mut conn = db::checkout(&state.pool, claimed.scope()).await?;
            let want = projection.wants_user_groups();
            let found = db::users::find_view_as(&mut conn, claimed.token(), ViewKey::Id(*id), want).await;
            drop(conn);
            let (ctx, found) = claimed.admit(found).await?;
            (ctx, Some(found))
        }
        _ => (claimed.confirm().await?, None),
    };
    note(&req, |r| {
        r.resource(kind, None);
        r.operation("get");
    });
    let (id, projection, if_none_match) = asked?;
    note(&req, |r| r.resource(kind, Some(id)));
    let registry = registry_for(&state, &ctx, kind);
    let item = match member {
        Some(found) => Item::Member(users::viewed(&ctx, id, found)?),
        None => {
            let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
            let want_members = projection.wants(kind.core_schema(), "members");
            Item::Stored(groups::get(&mut conn, &ctx, id, want_members).await?)
        }
    };
    let version = item.meta().version;
    if if_none_match.is_some_and(|tags| tags.matches(version)) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, version.etag())).finish());
    }
    Ok(item_response(StatusCode::OK, registry, kind, &ctx, item, &projection))
}
