//! The SQL of the join API's doors (issue #12): join settings, links (access links, email
//! invitations, the tenant invitation link), pre-stored registrations and access requests. Link
//! tokens and request tickets are looked up by their SHA-256 digest only; single use is a
//! conditional `UPDATE … WHERE used_at IS NULL RETURNING`, so of concurrent registrations
//! through one link exactly one claims it. The members themselves are written by
//! `directory::write` (and [`insert_member`] / [`restore_member`] here, which it calls).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::schema::{categories, join_links, join_prestored, join_requests, join_settings, users};
use super::users::{status, UserColumns};
use super::Conn;

/// A tenant's join settings.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = join_settings)]
pub struct Settings {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Whether the tenant invitation link admits registrations.
    pub invitation_link_enabled: bool,
    /// Lower-case email domains the invitation link admits.
    pub allowed_domains: Vec<Option<String>>,
    /// Whether anyone may request access.
    pub requests_enabled: bool,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The tenant's join settings (all doors closed when never set).
pub async fn settings(conn: &mut Conn, tenant_id: Uuid, now: DateTime<Utc>) -> QueryResult<Settings> {
    let found = join_settings::table
        .filter(join_settings::tenant_id.eq(tenant_id))
        .select(Settings::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(found.unwrap_or(Settings {
        tenant_id,
        invitation_link_enabled: false,
        allowed_domains: Vec::new(),
        requests_enabled: false,
        updated_at: now,
    }))
}

/// Store a tenant's join settings.
pub async fn save_settings(conn: &mut Conn, s: &Settings) -> QueryResult<()> {
    diesel::insert_into(join_settings::table)
        .values(s)
        .on_conflict(join_settings::tenant_id)
        .do_update()
        .set(s)
        .execute(conn)
        .await
        .map(drop)
}

/// Mark exactly the categories with these caseless names self-editable; returns how many are.
pub async fn set_self_editable(conn: &mut Conn, tenant_id: Uuid, name_keys: &[String]) -> QueryResult<usize> {
    diesel::update(categories::table.filter(categories::tenant_id.eq(tenant_id)))
        .set(categories::self_editable.eq(categories::name_key.eq_any(name_keys)))
        .execute(conn)
        .await?;
    self_editable(conn, tenant_id).await.map(|c| c.len())
}

/// Names of the tenant's self-editable categories, by name.
pub async fn self_editable(conn: &mut Conn, tenant_id: Uuid) -> QueryResult<Vec<String>> {
    categories::table
        .filter(categories::tenant_id.eq(tenant_id).and(categories::self_editable))
        .order((categories::name_key.asc(), categories::id.asc()))
        .select(categories::name)
        .load(conn)
        .await
}

/// A link row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = join_links)]
pub struct Link {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Link id.
    pub id: Uuid,
    /// `access`, `email` or `tenant`.
    pub kind: String,
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// Who it is for (a label).
    pub person: Option<String>,
    /// The only address that may register through it.
    pub email: Option<String>,
    /// Groups the member joins.
    pub groups: Vec<Option<Uuid>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Stops working then.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked by an admin (or rotated).
    pub revoked_at: Option<DateTime<Utc>>,
    /// Used (single-use kinds).
    pub used_at: Option<DateTime<Utc>>,
    /// The member who used it.
    pub member_id: Option<Uuid>,
}

/// Insert a link.
pub async fn insert_link(conn: &mut Conn, link: &Link) -> QueryResult<()> {
    diesel::insert_into(join_links::table).values(link).execute(conn).await.map(drop)
}

/// The link of a token digest in a tenant, whatever its state.
pub async fn link_by_hash(conn: &mut Conn, tenant_id: Uuid, hash: &[u8]) -> QueryResult<Option<Link>> {
    join_links::table
        .filter(join_links::tenant_id.eq(tenant_id).and(join_links::token_hash.eq(hash)))
        .select(Link::as_select())
        .first(conn)
        .await
        .optional()
}

/// Links of some kinds, newest first.
pub async fn links(conn: &mut Conn, tenant_id: Uuid, kinds: &[&str], limit: i64) -> QueryResult<Vec<Link>> {
    join_links::table
        .filter(join_links::tenant_id.eq(tenant_id).and(join_links::kind.eq_any(kinds)))
        .order((join_links::created_at.desc(), join_links::id.asc()))
        .limit(limit)
        .select(Link::as_select())
        .load(conn)
        .await
}

/// Revoke a link of some kinds; false when there is no such live link.
pub async fn revoke_link(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    kinds: &[&str],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(
        join_links::table.filter(
            join_links::tenant_id
                .eq(tenant_id)
                .and(join_links::id.eq(id))
                .and(join_links::kind.eq_any(kinds))
                .and(join_links::revoked_at.is_null()),
        ),
    )
    .set(join_links::revoked_at.eq(now))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Revoke the tenant's live invitation link, if any (before a new one is issued).
pub async fn revoke_tenant_link(conn: &mut Conn, tenant_id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(
        join_links::table.filter(
            join_links::tenant_id
                .eq(tenant_id)
                .and(join_links::kind.eq("tenant"))
                .and(join_links::revoked_at.is_null()),
        ),
    )
    .set(join_links::revoked_at.eq(now))
    .execute(conn)
    .await
    .map(drop)
}

/// Claim a single-use link: marks it used if it is still unused, unrevoked and unexpired, and
/// says whether this call did. Concurrent claims wait on the row lock and then see `used_at`
/// set, so exactly one succeeds.
pub async fn claim_link(conn: &mut Conn, tenant_id: Uuid, id: Uuid, now: DateTime<Utc>) -> QueryResult<bool> {
    let claimed: Option<Uuid> = diesel::update(
        join_links::table.filter(
            join_links::tenant_id
                .eq(tenant_id)
                .and(join_links::id.eq(id))
                .and(join_links::kind.ne("tenant"))
                .and(join_links::used_at.is_null())
                .and(join_links::revoked_at.is_null())
                .and(join_links::expires_at.is_null().or(join_links::expires_at.gt(now))),
        ),
    )
    .set(join_links::used_at.eq(now))
    .returning(join_links::id)
    .get_result(conn)
    .await
    .optional()?;
    Ok(claimed.is_some())
}

/// Record which member a claimed link admitted.
pub async fn set_link_member(conn: &mut Conn, tenant_id: Uuid, id: Uuid, member: Uuid) -> QueryResult<()> {
    diesel::update(join_links::table.filter(join_links::tenant_id.eq(tenant_id).and(join_links::id.eq(id))))
        .set(join_links::member_id.eq(member))
        .execute(conn)
        .await
        .map(drop)
}

/// A pre-stored registration.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = join_prestored)]
pub struct Prestored {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Record id.
    pub id: Uuid,
    /// First name as stored.
    pub given_name: String,
    /// Last name as stored.
    pub family_name: String,
    /// Personnel number as stored.
    pub personal_id: String,
    /// Matching key of the first name.
    pub given_name_key: String,
    /// Matching key of the last name.
    pub family_name_key: String,
    /// Matching key of the personnel number.
    pub personal_id_key: String,
    /// Groups the member joins.
    pub groups: Vec<Option<Uuid>>,
    /// Category values, `{name: value}`.
    pub categories: Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When a registration matched it.
    pub used_at: Option<DateTime<Utc>>,
    /// The member it became.
    pub member_id: Option<Uuid>,
}

/// Insert pre-stored registrations, or replace the unused ones with the same personnel number
/// (an import of an updated list); used ones are left alone. Returns how many rows were written.
/// One statement per row: PostgreSQL's `ON CONFLICT … DO UPDATE … WHERE` is per row anyway, and
/// an import is bounded by `ROSTER_IMPORT_MAX_ROWS`.
pub async fn upsert_prestored(conn: &mut Conn, rows: &[Prestored]) -> QueryResult<usize> {
    use diesel::query_dsl::methods::FilterDsl;
    use diesel::upsert::excluded;
    let mut written = 0;
    for row in rows {
        written += diesel::insert_into(join_prestored::table)
            .values(row)
            .on_conflict((join_prestored::tenant_id, join_prestored::personal_id_key))
            .do_update()
            .set((
                join_prestored::given_name.eq(excluded(join_prestored::given_name)),
                join_prestored::family_name.eq(excluded(join_prestored::family_name)),
                join_prestored::personal_id.eq(excluded(join_prestored::personal_id)),
                join_prestored::given_name_key.eq(excluded(join_prestored::given_name_key)),
                join_prestored::family_name_key.eq(excluded(join_prestored::family_name_key)),
                join_prestored::groups.eq(excluded(join_prestored::groups)),
                join_prestored::categories.eq(excluded(join_prestored::categories)),
            ))
            .filter(join_prestored::used_at.is_null())
            .execute(conn)
            .await?;
    }
    Ok(written)
}

/// Insert one pre-stored registration.
pub async fn insert_prestored(conn: &mut Conn, row: &Prestored) -> QueryResult<()> {
    diesel::insert_into(join_prestored::table).values(row).execute(conn).await.map(drop)
}

/// Pre-stored registrations, newest first; `used` filters on whether a registration matched.
pub async fn prestored(
    conn: &mut Conn,
    tenant_id: Uuid,
    used: Option<bool>,
    limit: i64,
) -> QueryResult<Vec<Prestored>> {
    let mut query = join_prestored::table
        .filter(join_prestored::tenant_id.eq(tenant_id))
        .select(Prestored::as_select())
        .order((join_prestored::created_at.desc(), join_prestored::id.asc()))
        .limit(limit)
        .into_boxed();
    match used {
        Some(true) => query = query.filter(join_prestored::used_at.is_not_null()),
        Some(false) => query = query.filter(join_prestored::used_at.is_null()),
        None => {}
    }
    query.load(conn).await
}

/// One pre-stored registration.
pub async fn prestored_one(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Prestored>> {
    join_prestored::table
        .filter(join_prestored::tenant_id.eq(tenant_id).and(join_prestored::id.eq(id)))
        .select(Prestored::as_select())
        .first(conn)
        .await
        .optional()
}

/// Replace an unused pre-stored registration's data; false when there is no unused one.
pub async fn update_prestored(conn: &mut Conn, row: &Prestored) -> QueryResult<bool> {
    let n = diesel::update(
        join_prestored::table.filter(
            join_prestored::tenant_id
                .eq(row.tenant_id)
                .and(join_prestored::id.eq(row.id))
                .and(join_prestored::used_at.is_null()),
        ),
    )
    .set((
        join_prestored::given_name.eq(&row.given_name),
        join_prestored::family_name.eq(&row.family_name),
        join_prestored::personal_id.eq(&row.personal_id),
        join_prestored::given_name_key.eq(&row.given_name_key),
        join_prestored::family_name_key.eq(&row.family_name_key),
        join_prestored::personal_id_key.eq(&row.personal_id_key),
        join_prestored::groups.eq(&row.groups),
        join_prestored::categories.eq(&row.categories),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Delete a pre-stored registration; false when there was none.
pub async fn delete_prestored(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    let n = diesel::delete(
        join_prestored::table.filter(join_prestored::tenant_id.eq(tenant_id).and(join_prestored::id.eq(id))),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Claim the unused pre-stored registration whose three keys all equal these: marks it used
/// and returns it (concurrent claims of one record: exactly one gets it).
pub async fn claim_prestored(
    conn: &mut Conn,
    tenant_id: Uuid,
    keys: (&str, &str, &str),
    now: DateTime<Utc>,
) -> QueryResult<Option<Prestored>> {
    let (given, family, personal) = keys;
    diesel::update(
        join_prestored::table.filter(
            join_prestored::tenant_id
                .eq(tenant_id)
                .and(join_prestored::personal_id_key.eq(personal))
                .and(join_prestored::given_name_key.eq(given))
                .and(join_prestored::family_name_key.eq(family))
                .and(join_prestored::used_at.is_null()),
        ),
    )
    .set(join_prestored::used_at.eq(now))
    .returning(Prestored::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Record which member a pre-stored registration became.
pub async fn set_prestored_member(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    member: Uuid,
) -> QueryResult<()> {
    diesel::update(
        join_prestored::table.filter(join_prestored::tenant_id.eq(tenant_id).and(join_prestored::id.eq(id))),
    )
    .set(join_prestored::member_id.eq(member))
    .execute(conn)
    .await
    .map(drop)
}

/// An access request.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = join_requests)]
pub struct Request {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Request id.
    pub id: Uuid,
    /// SHA-256 of the registrant's ticket.
    pub ticket_hash: Vec<u8>,
    /// Email given.
    pub email: Option<String>,
    /// The userName the member will have.
    pub user_name: String,
    /// "First Last".
    pub display_name: Option<String>,
    /// The registration, kept until the decision.
    pub registration: Value,
    /// `pending`, `approved` or `denied`.
    pub state: String,
    /// Why it was denied.
    pub reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// The member an approval created.
    pub member_id: Option<Uuid>,
}

/// Insert an access request.
pub async fn insert_request(conn: &mut Conn, r: &Request) -> QueryResult<()> {
    diesel::insert_into(join_requests::table).values(r).execute(conn).await.map(drop)
}

/// Access requests, newest first, optionally in one state and/or whose email or userName
/// starts with `prefix` (caseless).
pub async fn requests(
    conn: &mut Conn,
    tenant_id: Uuid,
    state: Option<&str>,
    prefix: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Request>> {
    let mut query = join_requests::table
        .filter(join_requests::tenant_id.eq(tenant_id))
        .select(Request::as_select())
        .order((join_requests::created_at.desc(), join_requests::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(join_requests::state.eq(state.to_string()));
    }
    if let Some(prefix) = prefix {
        let pattern = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        query = query
            .filter(join_requests::user_name.ilike(pattern.clone()).or(join_requests::email.ilike(pattern)));
    }
    query.load(conn).await
}

/// The request of a ticket digest in a tenant.
pub async fn request_by_ticket(
    conn: &mut Conn,
    tenant_id: Uuid,
    hash: &[u8],
) -> QueryResult<Option<Request>> {
    join_requests::table
        .filter(join_requests::tenant_id.eq(tenant_id).and(join_requests::ticket_hash.eq(hash)))
        .select(Request::as_select())
        .first(conn)
        .await
        .optional()
}

/// A request, locked until the transaction ends.
pub async fn request_for_update(conn: &mut Conn, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Request>> {
    join_requests::table
        .filter(join_requests::tenant_id.eq(tenant_id).and(join_requests::id.eq(id)))
        .select(Request::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Record the decision on a pending request.
pub async fn decide_request(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    state: &str,
    reason: Option<&str>,
    member: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        join_requests::table.filter(join_requests::tenant_id.eq(tenant_id).and(join_requests::id.eq(id))),
    )
    .set((
        join_requests::state.eq(state),
        join_requests::reason.eq(reason),
        join_requests::member_id.eq(member),
        join_requests::decided_at.eq(now),
    ))
    .execute(conn)
    .await
    .map(drop)
}

/// The live member that holds this folded userName, this email (as userName or among its
/// emails) or this personnel number, if any.
pub async fn live_member(
    conn: &mut Conn,
    tenant_id: Uuid,
    user_name_key: &str,
    email_key: Option<&str>,
    personal_id: Option<&str>,
) -> QueryResult<Option<Uuid>> {
    let email_keys: Vec<Option<&str>> = email_key.into_iter().map(Some).collect();
    let mut keys = vec![user_name_key];
    keys.extend(email_key);
    users::table
        .filter(users::tenant_id.eq(tenant_id).and(users::status.ne(status::REMOVED)))
        .filter(
            users::user_name_key
                .eq_any(keys)
                .or(users::email_keys.overlaps_with(email_keys))
                .or(users::personal_id.eq(personal_id).and(users::personal_id.is_not_null())),
        )
        .select(users::id)
        .order(users::id)
        .first(conn)
        .await
        .optional()
}

/// The removed, unscrubbed member with this folded userName removed after `cutoff` (within the
/// tenant's retention), which a registration restores.
pub async fn restorable(
    conn: &mut Conn,
    tenant_id: Uuid,
    user_name_key: &str,
    cutoff: DateTime<Utc>,
) -> QueryResult<Option<Uuid>> {
    users::table
        .filter(
            users::tenant_id
                .eq(tenant_id)
                .and(users::status.eq(status::REMOVED))
                .and(users::scrubbed_at.is_null())
                .and(users::removed_at.gt(cutoff))
                .and(users::user_name_key.eq(user_name_key)),
        )
        .order(users::removed_at.desc())
        .select(users::id)
        .first(conn)
        .await
        .optional()
}

/// What a registration writes to a member row.
#[derive(Debug, Clone)]
pub struct Registered<'a> {
    /// Derived columns and the resource.
    pub columns: &'a UserColumns,
    /// Personnel number (pre-stored registrations).
    pub personal_id: Option<&'a str>,
}

/// Insert a registered member: origin `registration`, joined now.
pub async fn insert_member(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    m: &Registered<'_>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values((
            users::tenant_id.eq(tenant_id),
            users::id.eq(id),
            m.columns,
            users::origin.eq("registration"),
            users::personal_id.eq(m.personal_id),
            users::joined_at.eq(now),
            users::version.eq(1),
            users::created_at.eq(now),
            users::last_modified.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Bring a removed member back as registered (same id, content kept); false when it is no
/// longer removed.
pub async fn restore_member(
    conn: &mut Conn,
    tenant_id: Uuid,
    id: Uuid,
    m: &Registered<'_>,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n =
        diesel::update(users::table.filter(
            users::tenant_id.eq(tenant_id).and(users::id.eq(id)).and(users::status.eq(status::REMOVED)),
        ))
        .set((
            m.columns,
            users::connection_id.eq(None::<Uuid>),
            users::password_hash.eq(None::<String>),
            users::origin.eq("registration"),
            users::personal_id.eq(m.personal_id),
            users::joined_at.eq(diesel::dsl::sql::<Nullable<Timestamptz>>("coalesce(joined_at, ")
                .bind::<Timestamptz, _>(now)
                .sql(")")),
            users::removed_at.eq(None::<DateTime<Utc>>),
            users::version.eq(users::version + 1),
            users::last_modified.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}
