//! `/Users` and `/Groups`: one handler per operation, shared by both resource types; and
//! `/Bulk`, which runs many of those operations in one request.

mod bulk;
mod create;
mod delete;
mod get;
mod list;
mod patch;
mod replace;

pub use bulk::bulk;
pub use create::create;
pub use delete::delete;
pub use get::get;
pub use list::{list, search, search_all};
pub use patch::patch;
pub use replace::replace;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::future::{ready, Ready};
use serde_json::Value;

use super::extract::{entity_tags, query_pairs, resource_id};
use super::principal::{Caller, Claimed};
use super::record::expect_success;
use super::record::note;
use super::AppState;
use crate::db::users::Locked;
use crate::directory::users::{Item, PageMember};
use crate::directory::write::member_update_as;
use crate::directory::{Context, Stored, Written};
use crate::error::{ScimError, ScimResult};
use crate::provisioning::summary;
use crate::scim::list::{parse_projection, Projection};
use crate::scim::resource::{meta_value, render, EntityTags, Rendered};
use crate::scim::schema::{
    normalize, Normalized, Projector, Registry, ResourceKind, TextView, View, ROSTER_USER_SCHEMA,
};

/// The resource type named by the `{endpoint}` segment of the route.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint(pub ResourceKind);

impl FromRequest for Endpoint {
    type Error = ScimError;
    type Future = Ready<Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.match_info().get("endpoint") {
            Some("Users") => Ok(Endpoint(ResourceKind::User)),
            Some("Groups") => Ok(Endpoint(ResourceKind::Group)),
            _ => Err(ScimError::not_found("no such endpoint")),
        })
    }
}

/// What a PUT or PATCH of one resource asks in its path and query: the id, and the projection
/// with `If-Match`. Read before the caller's token is checked, without recording anything.
struct WriteAsked {
    kind: ResourceKind,
    id: ScimResult<uuid::Uuid>,
    rest: ScimResult<(Projection, Option<EntityTags>)>,
}

impl WriteAsked {
    fn read(req: &HttpRequest, kind: ResourceKind, raw_id: &str) -> WriteAsked {
        let rest = (|| Ok((parse_projection(&query_pairs(req)?)?, entity_tags(req, header::IF_MATCH)?)))();
        WriteAsked { kind, id: resource_id(kind.name(), raw_id), rest }
    }

    /// A member write whose path and query are well formed: it checks the caller's token in the
    /// round trip that reads the member (`directory::write::member_update_as`).
    fn member(&self) -> Option<(uuid::Uuid, &Projection, Option<&EntityTags>)> {
        self.well_formed(ResourceKind::User)
    }

    /// A write of a resource of `kind` whose path and query are well formed.
    fn well_formed(&self, kind: ResourceKind) -> Option<(uuid::Uuid, &Projection, Option<&EntityTags>)> {
        match (&self.id, &self.rest) {
            (Ok(id), Ok((projection, if_match))) if self.kind == kind => {
                Some((*id, projection, if_match.as_ref()))
            }
            _ => None,
        }
    }

    /// Any other write: the token checked first ([`Claimed::confirm`]), then what was asked,
    /// noted for the provisioning log (`operation`), or its complaint.
    async fn confirm(
        self,
        req: &HttpRequest,
        claimed: Claimed,
        operation: &'static str,
    ) -> ScimResult<(Context, uuid::Uuid, Projection, Option<EntityTags>)> {
        let ctx = claimed.confirm().await?;
        let kind = self.kind;
        note(req, |r| {
            r.resource(kind, None);
            r.operation(operation);
        });
        let id = self.id?;
        note(req, |r| r.resource(kind, Some(id)));
        let (projection, if_match) = self.rest?;
        Ok((ctx, id, projection, if_match))
    }
}

/// A member's PUT or PATCH with a well-formed path and query ([`WriteAsked::member`]), checking
/// the caller's token in the round trip that reads the member
/// (`directory::write::member_update_as`): the caller is admitted there, the write noted for the
/// provisioning log as `operation`, and the body read by `read` in the caller's dialect before
/// `write` writes the member as read (only that row version; under the member's lock when it
/// changed meanwhile or grants admin). Answers 200 with the member as stored.
async fn write_member<T: Clone>(
    claimed: Claimed,
    state: &AppState,
    id: uuid::Uuid,
    projection: &Projection,
    operation: &'static str,
    read: impl FnOnce(&Context) -> ScimResult<T>,
    write: impl AsyncFn(&mut crate::db::Conn, &Context, Option<Locked>, T) -> ScimResult<Written>,
) -> ScimResult<HttpResponse> {
    let kind = ResourceKind::User;
    let req = claimed.request().clone();
    let mut conn = crate::db::checkout(&state.pool, claimed.scope()).await?;
    let token = claimed.token();
    let admit = async |conn: &mut crate::db::Conn, live| {
        let ctx = claimed.admit_in(conn, live).await?;
        note(&req, |r| {
            r.resource(kind, Some(id));
            r.operation(operation);
        });
        let asked = read(&ctx)?;
        Ok((ctx, asked))
    };
    let (ctx, written) = member_update_as(&mut conn, token, id, admit, write).await?;
    drop(conn);
    note(&req, |r| {
        r.rules(&written.fired);
        r.active_change(written.active_change);
    });
    let registry = registry_for(state, &ctx, kind);
    Ok(resource_response(StatusCode::OK, registry, kind, &ctx, written.stored, projection))
}

/// Log and record what normalisation tolerated in a POST/PUT body (unknown or readOnly
/// attributes ignored, string booleans...), so an IT admin can see why a value sent did not stick.
fn log_notes(req: &HttpRequest, kind: ResourceKind, notes: &[String]) {
    if !notes.is_empty() {
        tracing::info!(scim.resource = kind.name(), notes = ?notes, "request body normalised");
        note(req, |r| r.notes(notes));
    }
}

/// The body of a POST or PUT (`read`, as `extract::json_body` read it) in the caller's dialect
/// (tolerant mode accepts the Entra forms of User `roles`: the PATCH rule `roles_json_string`,
/// recorded the same way), normalised against `registry`. What normalisation tolerated and the
/// write's summary (`operation`) are noted for the provisioning log, and `success` expected.
fn read_input(
    req: &HttpRequest,
    read: ScimResult<Value>,
    ctx: &Context,
    registry: &Registry,
    kind: ResourceKind,
    (operation, success): (&str, StatusCode),
) -> ScimResult<Normalized> {
    let mut body = read?;
    if kind == ResourceKind::User && !ctx.principal.strict && crate::scim::roles::tolerate_roles(&mut body) {
        let rule = crate::scim::patch::Rule::RolesJsonString;
        tracing::info!(scim.resource = kind.name(), rules = ?[rule.name()], "tolerance rules applied");
        note(req, |r| r.rules(&[rule]));
    }
    expect_success(req, success);
    let input = normalize(registry, kind, &body)?;
    log_notes(req, kind, &input.notes);
    note(req, |r| r.operation(summary::write(operation, &input.resource)));
    Ok(input)
}

/// The registry a request of this tenant works with: for Users the tenant's (the static one
/// plus its categories, from the tenant profile), for Groups the static one.
fn registry_for<'s>(state: &'s AppState, ctx: &'s Context, kind: ResourceKind) -> &'s Registry {
    match kind {
        ResourceKind::User => &ctx.profile.registry,
        ResourceKind::Group => &state.registry,
    }
}

/// A stored resource rendered for clients ([`render`]), to be written through a projection.
fn rendered(registry: &Registry, kind: ResourceKind, ctx: &Context, stored: Stored) -> Rendered {
    render(registry, kind, &stored.id.to_string(), stored.attributes, &stored.meta, &ctx.base_url)
}

/// A resource of a list page, parsed or read as text.
pub(super) enum Shown {
    Tree(Rendered),
    Text(MemberText),
}

/// A member read as text ([`PageMember`]): its id, stored resource, what is written over it, its
/// `meta`.
pub(super) struct MemberText {
    head: [(&'static str, Value); 1],
    resource: String,
    overrides: Vec<(&'static str, Value)>,
    tail: [(&'static str, Value); 1],
}

impl MemberText {
    pub(super) fn new(ctx: &Context, m: PageMember) -> Self {
        let id = m.id.to_string();
        let tail = [("meta", meta_value(ResourceKind::User, &id, &m.meta, &ctx.base_url))];
        let mut overrides = Vec::with_capacity(2);
        if let Some(ext) = m.ext {
            overrides.push((ROSTER_USER_SCHEMA, Value::Object(ext)));
        }
        if let Some(groups) = m.groups {
            overrides.push(("groups", groups));
        }
        MemberText { head: [("id", Value::String(id))], resource: m.resource, overrides, tail }
    }
}

impl Shown {
    /// This resource written through `projector`.
    pub(super) fn view<'a>(&'a self, projector: &'a Projector<'a>) -> ShownView<'a> {
        match self {
            Shown::Tree(r) => ShownView::Tree(projector.view(&r.head, &r.attributes, &r.tail)),
            Shown::Text(m) => {
                ShownView::Text(projector.view_text(&m.head, &m.resource, &m.overrides, &m.tail))
            }
        }
    }
}

/// A [`Shown`] resource written through its type's projection.
pub(super) enum ShownView<'a> {
    Tree(View<'a>),
    Text(TextView<'a>),
}

impl serde::Serialize for ShownView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ShownView::Tree(v) => v.serialize(serializer),
            ShownView::Text(v) => v.serialize(serializer),
        }
    }
}

/// Render a resource, apply the projection, and answer with `ETag` (and `Location` when asked,
/// as for 201 Created).
fn resource_response(
    status: StatusCode,
    registry: &Registry,
    kind: ResourceKind,
    ctx: &Context,
    stored: Stored,
    projection: &Projection,
) -> HttpResponse {
    item_response(status, registry, kind, ctx, Item::Stored(stored), projection)
}

/// [`resource_response`] for a resource parsed or read as text.
fn item_response(
    status: StatusCode,
    registry: &Registry,
    kind: ResourceKind,
    ctx: &Context,
    item: Item,
    projection: &Projection,
) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::ETAG, item.meta().version.etag()));
    if status == StatusCode::CREATED {
        let location = crate::scim::resource::location(&ctx.base_url, kind, &item.id().to_string());
        builder.insert_header((header::LOCATION, location));
    }
    let projector = Projector::new(registry, kind, &projection.attributes, &projection.excluded);
    let shown = match item {
        Item::Stored(s) => Shown::Tree(rendered(registry, kind, ctx, s)),
        Item::Member(m) => Shown::Text(MemberText::new(ctx, m)),
    };
    super::response::scim_body(&mut builder, &shown.view(&projector))
}

/// Operations this server does not offer yet answer 501 with a SCIM body (RFC 7644 §3.12),
/// after authentication so that probing without a token still gets 401.
pub async fn not_supported(req: HttpRequest, _caller: Caller) -> ScimResult<HttpResponse> {
    Err(ScimError::not_implemented(format!(
        "{} {} is not supported by this server yet; see /ServiceProviderConfig",
        req.method(),
        req.match_pattern().unwrap_or_default().rsplit('/').next().unwrap_or_default()
    )))
}

/// 405 for a known endpoint with an unsupported method.
pub async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let err = ScimError::method_not_allowed(format!("{} is not allowed on {}", req.method(), req.path()));
    let mut res = actix_web::ResponseError::error_response(&err);
    let pattern = req.match_pattern().unwrap_or_default();
    let allow = match req.match_info().get("endpoint") {
        _ if pattern.ends_with("/Bulk") || pattern.ends_with(".search") => "POST",
        Some(_) if req.match_info().get("id").is_some() => "GET, PUT, PATCH, DELETE",
        Some(_) => "GET, POST",
        None => "GET",
    };
    if let Ok(v) = header::HeaderValue::from_str(allow) {
        res.headers_mut().insert(header::ALLOW, v);
    }
    res
}
