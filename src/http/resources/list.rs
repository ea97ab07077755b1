//! GET /Users, GET /Groups, and POST /.search (per type and at the root).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::{registry_for, rendered, Endpoint, MemberText, Shown, ShownView};
use crate::db;
use crate::db::users::ViewKey;
use crate::directory::listing::{self, Listed};
use crate::directory::users::Item;
use crate::directory::Context;
use crate::error::ScimResult;
use crate::http::extract::{json_body, query_pairs};
use crate::http::principal::{Caller, Claimed};
use crate::http::record::note;
use crate::http::response::scim;
use crate::http::AppState;
use crate::provisioning::summary;
use crate::scim::list::{parse_list, parse_search, ListQuery, ListResponse};
use crate::scim::schema::{Projector, Registry, ResourceKind};

/// Record what a list or search asked for, before parsing it, so a rejected filter is visible.
fn note_query(req: &HttpRequest, kind: Option<ResourceKind>, verb: &str, filter: Option<&str>) {
    note(req, |r| {
        if let Some(kind) = kind {
            r.resource(kind, None);
        }
        r.operation(summary::query(verb, filter));
    });
}

/// The `filter` member of a SearchRequest body, if it is a string.
fn body_filter(body: &Value) -> Option<&str> {
    body.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case("filter")).and_then(|(_, v)| v.as_str())
}

fn respond(registry: &Registry, ctx: &Context, query: &ListQuery, listed: Listed) -> HttpResponse {
    let projection = &query.projection;
    let projectors: Vec<(ResourceKind, Projector<'_>)> = [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .filter(|kind| listed.items.iter().any(|(k, _)| k == kind))
        .map(|kind| (kind, Projector::new(registry, kind, &projection.attributes, &projection.excluded)))
        .collect();
    let shown: Vec<(ResourceKind, Shown)> = listed
        .items
        .into_iter()
        .map(|(kind, item)| match item {
            Item::Stored(s) => (kind, Shown::Tree(rendered(registry, kind, ctx, s))),
            Item::Member(m) => (kind, Shown::Text(MemberText::new(ctx, m))),
        })
        .collect();
    let resources: Vec<ShownView<'_>> = shown
        .iter()
        .filter_map(|(kind, r)| {
            let (_, projector) = projectors.iter().find(|(k, _)| k == kind)?;
            Some(match r {
                Shown::Tree(r) => ShownView::Tree(projector.view(&r.head, &r.attributes, &r.tail)),
                Shown::Text(m) => {
                    ShownView::Text(projector.view_text(&m.head, &m.resource, &m.overrides, &m.tail))
                }
            })
        })
        .collect();
    let body = match listed.cursors {
        Some(cursors) => ListResponse::cursor(listed.total, cursors, resources),
        None => ListResponse::index(listed.total, listed.start_index, resources),
    };
    scim(StatusCode::OK, &body)
}

/// List resources: filter, sortBy/sortOrder, startIndex/count or cursor/count, projection. The
/// IdPs' probe `userName eq "…"` is read in the same statement as the token check
/// ([`Claimed::admit`]).
#[tracing::instrument(name = "list", skip_all, fields(scim.resource = kind.name()))]
pub async fn list(
    req: HttpRequest,
    claimed: Claimed,
    Endpoint(kind): Endpoint,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    // What is asked, parsed before anything is read. A malformed request still answers 401
    // first when its token is not live.
    let asked = query_pairs(&req).map(|pairs| {
        let query = parse_list(&pairs, state.limits);
        (pairs, query)
    });
    let probe = match &asked {
        Ok((_, Ok(query))) => {
            listing::user_name_probe(kind, query).map(|key| (key, query.projection.wants_user_groups()))
        }
        _ => None,
    };
    let (ctx, probed) = match probe {
        Some((key, with_groups)) => {
            let mut conn = db::checkout(&state.pool, claimed.scope()).await?;
            let found =
                db::users::find_view_as(&mut conn, claimed.token(), ViewKey::UserNameKey(&key), with_groups)
                    .await;
            drop(conn);
            let (ctx, found) = claimed.admit(found).await?;
            (ctx, Some(found))
        }
        None => (claimed.confirm().await?, None),
    };
    let (pairs, query) = asked?;
    let filter = pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case("filter")).map(|(_, v)| v.as_str());
    note_query(&req, Some(kind), "list", filter);
    let query = query?;
    let registry = registry_for(&state, &ctx, kind);
    let listed = match probed {
        Some(found) => listing::probe_listed(&ctx, found),
        None => {
            let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
            listing::list(&mut conn, &ctx, registry, &state.signing_key, kind, &query).await?
        }
    };
    Ok(respond(registry, &ctx, &query, listed))
}

/// POST /Users/.search, /Groups/.search: the same query in a SearchRequest body.
#[tracing::instrument(name = "search", skip_all, fields(scim.resource = kind.name()))]
pub async fn search(
    req: HttpRequest,
    Caller(ctx): Caller,
    Endpoint(kind): Endpoint,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let body = json_body(&req, &body)?;
    note_query(&req, Some(kind), "search", body_filter(&body));
    let query = parse_search(&body, state.limits)?;
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let registry = registry_for(&state, &ctx, kind);
    let listed = listing::list(&mut conn, &ctx, registry, &state.signing_key, kind, &query).await?;
    Ok(respond(registry, &ctx, &query, listed))
}

/// POST /.search at the root: Users and Groups.
#[tracing::instrument(name = "search_all", skip_all)]
pub async fn search_all(
    req: HttpRequest,
    Caller(ctx): Caller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let body = json_body(&req, &body)?;
    note_query(&req, None, "search", body_filter(&body));
    let query = parse_search(&body, state.limits)?;
    let mut conn = db::checkout(&state.pool, ctx.rows()).await?;
    let registry = registry_for(&state, &ctx, ResourceKind::User);
    let listed = listing::search_all(&mut conn, &ctx, registry, &query).await?;
    Ok(respond(registry, &ctx, &query, listed))
}
