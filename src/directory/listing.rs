//! Listing and searching members and groups: filter, sort, index or cursor paging, with the
//! data behind attributes the response won't show never read (`members`, `groups`).

use super::users::Item;
use super::{groups, users, Context};
use crate::auth::SigningKey;
use crate::db::search::{self, Window};
use crate::db::Conn;
use crate::error::{ScimError, ScimResult};
use crate::scim::cursor::{self, Direction, Position};
use crate::scim::list::{Cursors, ListQuery, Paging};
use crate::scim::schema::{Registry, ResourceKind};

/// A page of resources.
#[derive(Debug)]
pub struct Listed {
    /// Every matching resource.
    pub total: u64,
    /// The page.
    pub items: Vec<(ResourceKind, Item)>,
    /// `Some` for cursor paging.
    pub cursors: Option<Cursors>,
    /// `startIndex` for index paging.
    pub start_index: u64,
}

struct Rows {
    total: u64,
    items: Vec<(Item, Option<String>)>,
}

async fn fetch(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    kind: ResourceKind,
    query: &ListQuery,
    window: &Window,
) -> ScimResult<Rows> {
    let (filter, sort, tenant) = (query.filter.as_ref(), query.sort.as_ref(), ctx.tenant());
    match kind {
        ResourceKind::User => {
            let with_groups = query.projection.wants_user_groups();
            let found = search::users(conn, registry, tenant, filter, sort, window, with_groups).await?;
            let items = found
                .rows
                .into_iter()
                .map(|(row, key)| (Item::Member(users::listed(ctx, row)), key))
                .collect();
            Ok(Rows { total: found.total, items })
        }
        ResourceKind::Group => {
            let found = search::groups(conn, registry, tenant, filter, sort, window).await?;
            let (rows, keys): (Vec<_>, Vec<_>) = found.rows.into_iter().unzip();
            let want = query.projection.wants(kind.core_schema(), "members");
            let items = groups::with_members(conn, ctx, rows, want).await?;
            Ok(Rows { total: found.total, items: items.into_iter().map(Item::Stored).zip(keys).collect() })
        }
    }
}

fn boundary(item: &(Item, Option<String>)) -> Position {
    Position { key: item.1.clone(), id: item.0.id() }
}

/// List one resource type.
pub async fn list(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    key: &SigningKey,
    kind: ResourceKind,
    query: &ListQuery,
) -> ScimResult<Listed> {
    let count = i64::try_from(query.count).unwrap_or(i64::MAX);
    match &query.paging {
        Paging::Index { start_index } => {
            let offset = i64::try_from(start_index - 1).unwrap_or(i64::MAX);
            let rows =
                fetch(conn, ctx, registry, kind, query, &Window::Offset { offset, limit: count }).await?;
            Ok(Listed {
                total: rows.total,
                items: rows.items.into_iter().map(|(s, _)| (kind, s)).collect(),
                cursors: None,
                start_index: *start_index,
            })
        }
        Paging::Cursor(given) => {
            let fp =
                cursor::fingerprint(ctx.tenant(), kind.name(), query.filter.as_ref(), query.sort.as_ref());
            let (position, direction) = match given {
                None => (None, Direction::After),
                Some(c) => {
                    let (p, d) = cursor::decode(key, c, &fp)?;
                    (Some(p), d)
                }
            };
            let from_start = position.is_none();
            // One row more than asked says whether another page follows in that direction.
            let window = Window::Keyset { position, direction, limit: count.saturating_add(1) };
            let mut rows = fetch(conn, ctx, registry, kind, query, &window).await?;
            let more = rows.items.len() as u64 > query.count;
            if more {
                match direction {
                    Direction::After => drop(rows.items.pop()),
                    Direction::Before => drop(rows.items.remove(0)),
                }
            }
            let (has_next, has_previous) = match direction {
                Direction::After => (more, !from_start),
                Direction::Before => (true, more),
            };
            let mut cursors = Cursors::default();
            if query.count > 0 {
                if let (true, Some(last)) = (has_next, rows.items.last()) {
                    cursors.next = Some(cursor::encode(key, &fp, boundary(last), Direction::After, ctx.now)?);
                }
                if let (true, Some(first)) = (has_previous, rows.items.first()) {
                    cursors.previous =
                        Some(cursor::encode(key, &fp, boundary(first), Direction::Before, ctx.now)?);
                }
            }
            Ok(Listed {
                total: rows.total,
                items: rows.items.into_iter().map(|(s, _)| (kind, s)).collect(),
                cursors: Some(cursors),
                start_index: 1,
            })
        }
    }
}

/// The folded userName when a list of members is the IdPs' probe `userName eq "…"`
/// ([`search::user_name_probe`]): the list endpoint reads it with
/// [`crate::db::users::find_view_as`], in the statement that checks the token, and presents it
/// with [`probe_listed`].
pub fn user_name_probe(kind: ResourceKind, query: &ListQuery) -> Option<String> {
    if kind != ResourceKind::User || !matches!(query.paging, Paging::Index { start_index: 1 }) {
        return None;
    }
    let window = Window::Offset { offset: 0, limit: i64::try_from(query.count).unwrap_or(i64::MAX) };
    search::user_name_probe(query.filter.as_ref(), query.sort.as_ref(), &window)
}

/// The page [`list`] answers for the probe, from the member the probe found (if any).
pub fn probe_listed(ctx: &Context, found: Option<crate::db::users::UserView>) -> Listed {
    let found = search::probe_page(found);
    Listed {
        total: found.total,
        items: found
            .rows
            .into_iter()
            .map(|(row, _)| (ResourceKind::User, Item::Member(users::listed(ctx, row))))
            .collect(),
        cursors: None,
        start_index: 1,
    }
}

/// `POST /.search` at the root: Users then Groups, index paging over the concatenation. A filter
/// naming an attribute one type lacks simply matches nothing of that type; unknown to every
/// type, it is an error.
pub async fn search_all(
    conn: &mut Conn,
    ctx: &Context,
    registry: &Registry,
    query: &ListQuery,
) -> ScimResult<Listed> {
    let Paging::Index { start_index } = query.paging else {
        return Err(ScimError::invalid_value(
            "cursor paging works per resource type: use /Users/.search or /Groups/.search",
        ));
    };
    let mut skip = start_index - 1;
    let mut room = query.count;
    let mut total = 0;
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for kind in [ResourceKind::User, ResourceKind::Group] {
        // Count first (limit 0), then read only the part of the page this type fills.
        let counted =
            match fetch(conn, ctx, registry, kind, query, &Window::Offset { offset: 0, limit: 0 }).await {
                Ok(rows) => rows.total,
                Err(e) if e.scim_type().map(|t| t.as_str()) == Some("invalidFilter") => {
                    errors.push(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
        total += counted;
        if skip >= counted {
            skip -= counted;
            continue;
        }
        if room > 0 {
            let window = Window::Offset { offset: skip as i64, limit: room as i64 };
            let rows = fetch(conn, ctx, registry, kind, query, &window).await?;
            room -= rows.items.len() as u64;
            items.extend(rows.items.into_iter().map(|(s, _)| (kind, s)));
        }
        skip = 0;
    }
    if errors.len() == 2 {
        return Err(errors.remove(0));
    }
    Ok(Listed { total, items, cursors: None, start_index })
}
