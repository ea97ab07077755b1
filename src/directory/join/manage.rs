//! The admin side of the doors (through the admin API): join settings and the tenant invitation
//! link, access links and email invitations, pre-stored registrations (one by one or from a
//! CSV/XLSX file), and the decisions on access requests. Each operation is one transaction.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{digest, new_token, well_formed_email, Applicant, MAX_EMAIL, MAX_NAME};
use crate::db::join::{self as store, Link, Prestored, Request};
use crate::db::{events, unique_violation, Conn};
use crate::directory::write::{self, Registered, Registration};
use crate::directory::{db_precision, TenantProfile};
use crate::error::{ScimError, ScimResult};
use crate::events::NewEvent;
use crate::import::parse;
use crate::scim::resource::fold_key;

/// Most links, invitations, records or requests one list returns.
pub const MAX_LIST: i64 = 1000;
/// Most addresses one invitation call takes.
pub const MAX_INVITATIONS: usize = 500;
/// Longest expiry of a link, in days.
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// A change to the join settings (absent fields stay).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SettingsChange {
    /// Whether the tenant invitation link admits registrations.
    pub invitation_link_enabled: Option<bool>,
    /// Email domains the invitation link admits (replaces the list).
    pub allowed_domains: Option<Vec<String>>,
    /// Whether anyone may request access.
    pub requests_enabled: Option<bool>,
    /// Names of the categories registrants fill in themselves (replaces the set).
    pub self_editable_categories: Option<Vec<String>>,
}

/// A domain as stored: trimmed, lower-cased, without a leading `@`; 400 when it is not one.
pub fn domain(raw: &str) -> ScimResult<String> {
    let d = raw.trim().trim_start_matches('@').to_lowercase();
    let ok = d.len() <= 253
        && d.contains('.')
        && !d.starts_with(['.', '-'])
        && !d.ends_with(['.', '-'])
        && !d.contains("..")
        && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(d)
    } else {
        Err(ScimError::invalid_value(format!(
            "allowedDomains: {} is not a domain such as example.com",
            crate::text::quote(&crate::text::truncate(raw, 100))
        )))
    }
}

/// The settings as the admin API shows them.
pub async fn settings_view(conn: &mut Conn, tenant: Uuid, now: DateTime<Utc>) -> ScimResult<Value> {
    let s = store::settings(conn, tenant, now).await?;
    let live = store::links(conn, tenant, &["tenant"], 1).await?;
    let link = live.into_iter().find(|l| l.revoked_at.is_none());
    Ok(json!({
        "invitationLinkEnabled": s.invitation_link_enabled,
        "invitationLinkIssued": link.is_some(),
        "invitationLinkCreatedAt": link.map(|l| l.created_at),
        "allowedDomains": s.allowed_domains.into_iter().flatten().collect::<Vec<_>>(),
        "requestsEnabled": s.requests_enabled,
        "selfEditableCategories": store::self_editable(conn, tenant).await?,
    }))
}

/// Change the settings; answers them as [`settings_view`] does.
pub async fn update_settings(
    conn: &mut Conn,
    profile: &TenantProfile,
    change: SettingsChange,
    now: DateTime<Utc>,
) -> ScimResult<Value> {
    let now = db_precision(now);
    let domains = match change.allowed_domains {
        Some(list) if list.len() > 100 => {
            return Err(ScimError::invalid_value("allowedDomains: at most 100 domains"));
        }
        Some(list) => {
            let mut ds = list.iter().map(|d| domain(d)).collect::<ScimResult<Vec<_>>>()?;
            ds.sort();
            ds.dedup();
            Some(ds)
        }
        None => None,
    };
    let editable = match change.self_editable_categories {
        Some(names) => {
            let known = profile.registry.categories();
            let mut keys = Vec::new();
            for name in &names {
                let key = fold_key(name);
                if !known.iter().any(|c| fold_key(&c.name) == key) {
                    return Err(ScimError::invalid_value(format!(
                        "selfEditableCategories: the tenant has no category {} (see GET .../categories)",
                        crate::text::quote(&crate::text::truncate(name, 100))
                    )));
                }
                keys.push(key);
            }
            Some(keys)
        }
        None => None,
    };
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let mut s = store::settings(conn, profile.id, now).await?;
        if let Some(on) = change.invitation_link_enabled {
            s.invitation_link_enabled = on;
        }
        if let Some(ds) = domains {
            s.allowed_domains = ds.into_iter().map(Some).collect();
        }
        if let Some(on) = change.requests_enabled {
            s.requests_enabled = on;
        }
        s.updated_at = now;
        store::save_settings(conn, &s).await?;
        if let Some(keys) = editable {
            store::set_self_editable(conn, profile.id, &keys).await?;
        }
        settings_view(conn, profile.id, now).await
    })
    .await
}

/// Issue a new tenant invitation link (revoking the previous one): the token, shown only now.
pub async fn rotate_invitation_link(
    conn: &mut Conn,
    tenant: Uuid,
    now: DateTime<Utc>,
) -> ScimResult<(Link, String)> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async move |conn| {
        store::revoke_tenant_link(conn, tenant, now).await?;
        let draft = NewLink::default();
        insert(conn, tenant, "tenant", &draft, None, now).await
    })
    .await
}

/// A new access link or email invitation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewLink {
    /// Who it is for (a label the admin reads).
    pub person: Option<String>,
    /// The only address that may register through it.
    pub email: Option<String>,
    /// Days until it stops working (none: never).
    pub expires_in_days: Option<u32>,
    /// Groups the member joins.
    #[serde(default)]
    pub groups: Vec<Uuid>,
}

async fn checked_groups(conn: &mut Conn, tenant: Uuid, groups: &[Uuid]) -> ScimResult<Vec<Option<Uuid>>> {
    if groups.len() > 100 {
        return Err(ScimError::invalid_value("groups: at most 100"));
    }
    let found = crate::db::groups::existing_ids(conn, tenant, groups).await?;
    match groups.iter().find(|g| !found.contains(g)) {
        Some(missing) => Err(ScimError::invalid_value(format!("groups: no Group {missing} in this tenant"))),
        None => Ok(groups.iter().copied().map(Some).collect()),
    }
}

fn checked_email(raw: &str) -> ScimResult<String> {
    let e = raw.trim();
    if e.chars().count() > MAX_EMAIL || !well_formed_email(e) || e.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(format!(
            "{} is not an email address (name@example.com)",
            crate::text::quote(&crate::text::truncate(raw, 100))
        )));
    }
    Ok(e.to_string())
}

async fn insert(
    conn: &mut Conn,
    tenant: Uuid,
    kind: &str,
    draft: &NewLink,
    email: Option<String>,
    now: DateTime<Utc>,
) -> ScimResult<(Link, String)> {
    let person = draft.person.as_deref().map(str::trim).filter(|p| !p.is_empty());
    if person.is_some_and(|p| p.chars().count() > MAX_NAME || p.chars().any(char::is_control)) {
        return Err(ScimError::invalid_value(format!(
            "person: at most {MAX_NAME} characters, no control characters"
        )));
    }
    let expires_at = match draft.expires_in_days {
        Some(d) if d == 0 || d > MAX_EXPIRY_DAYS => {
            return Err(ScimError::invalid_value(format!(
                "expiresInDays must be between 1 and {MAX_EXPIRY_DAYS}"
            )));
        }
        Some(d) => Some(now + chrono::Duration::days(i64::from(d))),
        None => None,
    };
    let token = new_token();
    let link = Link {
        tenant_id: tenant,
        id: Uuid::now_v7(),
        kind: kind.into(),
        token_hash: digest(&token),
        person: person.map(str::to_string),
        email,
        groups: checked_groups(conn, tenant, &draft.groups).await?,
        created_at: now,
        expires_at,
        revoked_at: None,
        used_at: None,
        member_id: None,
    };
    store::insert_link(conn, &link).await?;
    Ok((link, token))
}

/// Create a single-use access link, for a person (a label) or an email address.
pub async fn create_link(
    conn: &mut Conn,
    tenant: Uuid,
    draft: NewLink,
    now: DateTime<Utc>,
) -> ScimResult<(Link, String)> {
    let now = db_precision(now);
    let email = draft.email.as_deref().map(checked_email).transpose()?;
    if email.is_none() && draft.person.as_deref().is_none_or(|p| p.trim().is_empty()) {
        return Err(ScimError::invalid_value(
            "name the person (`person`) or the email (`email`) the link is for",
        ));
    }
    conn.transaction::<_, ScimError, _>(async move |conn| {
        insert(conn, tenant, "access", &draft, email, now).await
    })
    .await
}

/// Email invitations to send.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewInvitations {
    /// Addresses to invite.
    pub emails: Vec<String>,
    /// Days until the invitations stop working.
    pub expires_in_days: Option<u32>,
    /// Groups the members join.
    #[serde(default)]
    pub groups: Vec<Uuid>,
}

/// Create one single-use invitation per address (in one transaction); the tokens, shown only now.
pub async fn invite(
    conn: &mut Conn,
    tenant: Uuid,
    new: NewInvitations,
    now: DateTime<Utc>,
) -> ScimResult<Vec<(Link, String)>> {
    let now = db_precision(now);
    if new.emails.is_empty() || new.emails.len() > MAX_INVITATIONS {
        return Err(ScimError::invalid_value(format!("emails: between 1 and {MAX_INVITATIONS} addresses")));
    }
    let emails = new.emails.iter().map(|e| checked_email(e)).collect::<ScimResult<Vec<_>>>()?;
    let draft =
        NewLink { person: None, email: None, expires_in_days: new.expires_in_days, groups: new.groups };
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let mut out = Vec::with_capacity(emails.len());
        for email in emails {
            out.push(insert(conn, tenant, "email", &draft, Some(email), now).await?);
        }
        Ok(out)
    })
    .await
}

/// The state of a link: `revoked`, `used`, `expired` or `unused` (for invitations the admin API
/// says `joined` for used and `pending` for unused).
pub fn link_state(link: &Link, now: DateTime<Utc>) -> &'static str {
    if link.revoked_at.is_some() {
        "revoked"
    } else if link.used_at.is_some() {
        "used"
    } else if link.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "unused"
    }
}

/// Links of some kinds, optionally only those in `state` (see [`link_state`]).
pub async fn list_links(
    conn: &mut Conn,
    tenant: Uuid,
    kinds: &[&str],
    state: Option<&str>,
    now: DateTime<Utc>,
) -> ScimResult<Vec<Link>> {
    let all = store::links(conn, tenant, kinds, MAX_LIST).await?;
    Ok(all.into_iter().filter(|l| state.is_none_or(|s| link_state(l, now) == s)).collect())
}

/// Revoke a link of some kinds (404 when there is no live one).
pub async fn revoke(
    conn: &mut Conn,
    tenant: Uuid,
    id: Uuid,
    kinds: &[&str],
    now: DateTime<Utc>,
) -> ScimResult<()> {
    if store::revoke_link(conn, tenant, id, kinds, db_precision(now)).await? {
        Ok(())
    } else {
        Err(ScimError::not_found(format!("no unrevoked link {id} in this tenant")))
    }
}

/// A pre-stored registration as the admin sends it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrestoredInput {
    /// First name.
    pub given_name: String,
    /// Last name.
    pub family_name: String,
    /// Personnel number.
    pub personal_number: String,
    /// Groups the member joins.
    #[serde(default)]
    pub groups: Vec<Uuid>,
    /// Category values, `{name: value}`.
    #[serde(default)]
    pub categories: Map<String, Value>,
}

fn stored_text(name: &str, raw: &str) -> ScimResult<String> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > MAX_NAME || t.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(format!(
            "{name}: 1 to {MAX_NAME} characters, no control characters"
        )));
    }
    Ok(t.to_string())
}

fn record(
    profile: &TenantProfile,
    id: Uuid,
    input: &PrestoredInput,
    groups: Vec<Option<Uuid>>,
    now: DateTime<Utc>,
) -> ScimResult<Prestored> {
    let given = stored_text("givenName", &input.given_name)?;
    let family = stored_text("familyName", &input.family_name)?;
    let personal = stored_text("personalNumber", &input.personal_number)?;
    let mut categories = Map::new();
    for (name, value) in &input.categories {
        let c =
            profile.registry.categories().iter().find(|c| fold_key(&c.name) == fold_key(name)).ok_or_else(
                || {
                    ScimError::invalid_value(format!(
                        "categories: the tenant has no category {}",
                        crate::text::quote(&crate::text::truncate(name, 100))
                    ))
                },
            )?;
        categories.insert(c.name.clone(), c.check_value(value)?);
    }
    Ok(Prestored {
        tenant_id: profile.id,
        id,
        given_name_key: fold_key(&given),
        family_name_key: fold_key(&family),
        personal_id_key: fold_key(&personal),
        given_name: given,
        family_name: family,
        personal_id: personal,
        groups,
        categories: Value::Object(categories),
        created_at: now,
        used_at: None,
        member_id: None,
    })
}

fn duplicate(e: diesel::result::Error) -> ScimError {
    if unique_violation(&e).is_some() {
        ScimError::uniqueness("personalNumber")
    } else {
        e.into()
    }
}

/// Store a pre-stored registration (409 when its personnel number is stored already).
pub async fn create_prestored(
    conn: &mut Conn,
    profile: &TenantProfile,
    input: PrestoredInput,
    now: DateTime<Utc>,
) -> ScimResult<Prestored> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let groups = checked_groups(conn, profile.id, &input.groups).await?;
        let row = record(profile, Uuid::now_v7(), &input, groups, now)?;
        store::insert_prestored(conn, &row).await.map_err(duplicate)?;
        Ok(row)
    })
    .await
}

/// One pre-stored registration (404 when there is none).
pub async fn prestored(conn: &mut Conn, tenant: Uuid, id: Uuid) -> ScimResult<Prestored> {
    store::prestored_one(conn, tenant, id)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("no pre-stored registration {id} in this tenant")))
}

/// Replace an unused pre-stored registration (409 once a registration matched it).
pub async fn update_prestored(
    conn: &mut Conn,
    profile: &TenantProfile,
    id: Uuid,
    input: PrestoredInput,
    now: DateTime<Utc>,
) -> ScimResult<Prestored> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let old = prestored(conn, profile.id, id).await?;
        let groups = checked_groups(conn, profile.id, &input.groups).await?;
        let mut row = record(profile, id, &input, groups, now)?;
        row.created_at = old.created_at;
        if !store::update_prestored(conn, &row).await.map_err(duplicate)? {
            return Err(ScimError::conflict(
                "a registration already matched this record; it can no longer change (delete it instead)",
            ));
        }
        Ok(row)
    })
    .await
}

/// Delete a pre-stored registration (used or not; the member it became stays).
pub async fn delete_prestored(conn: &mut Conn, tenant: Uuid, id: Uuid) -> ScimResult<()> {
    if store::delete_prestored(conn, tenant, id).await? {
        Ok(())
    } else {
        Err(ScimError::not_found(format!("no pre-stored registration {id} in this tenant")))
    }
}

/// Which column a header names: the member import's keys (`firstname`, `lastname`,
/// `personalid`) and their spellings (`givenName`, `familyName`, `personalNumber`,
/// `personnel number`), caseless, ignoring spaces, `_` and `-`.
fn column(header: &str) -> Option<&'static str> {
    let key: String =
        header.chars().filter(|c| !matches!(c, ' ' | '_' | '-')).flat_map(char::to_lowercase).collect();
    match key.as_str() {
        "firstname" | "givenname" => Some("given"),
        "lastname" | "familyname" | "surname" => Some("family"),
        "personalid" | "personalnumber" | "personnelnumber" | "employeenumber" => Some("personal"),
        _ => None,
    }
}

/// Store pre-stored registrations from a CSV or XLSX file (read by the member importer's
/// parser). Matched on the personnel number: a row whose number is stored already replaces that
/// record while unused; used records are left alone. Other columns naming a tenant category
/// give category values; the rest are reported as ignored. Any invalid row: 400 naming its
/// line, nothing written.
pub async fn import_prestored(
    conn: &mut Conn,
    profile: &TenantProfile,
    bytes: &[u8],
    max_rows: usize,
    now: DateTime<Utc>,
) -> ScimResult<Value> {
    let now = db_precision(now);
    let format = parse::detect(None, bytes);
    let table = parse::parse(bytes, format, &parse::Limits::with_rows(max_rows)).map_err(|e| match e {
        parse::ParseError::TooLarge(m) => ScimError::payload_too_large(m),
        parse::ParseError::Invalid(m) => ScimError::invalid_value(m),
    })?;
    let roles: Vec<Option<&str>> = table.headers.iter().map(|h| column(h)).collect();
    for needed in ["given", "family", "personal"] {
        if !roles.contains(&Some(needed)) {
            return Err(ScimError::invalid_value(
                "the file needs the columns firstname, lastname and personalid (or givenName, familyName, \
                 personalNumber)",
            ));
        }
    }
    let categories = profile.registry.categories();
    let mut ignored = Vec::new();
    let mut category_of = Vec::new();
    for (h, role) in table.headers.iter().zip(&roles) {
        let c = categories.iter().find(|c| fold_key(&c.name) == fold_key(h));
        if role.is_none() && c.is_none() {
            ignored.push(h.clone());
        }
        category_of.push(if role.is_none() { c } else { None });
    }
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut input = PrestoredInput::default();
        for ((cell, role), category) in row.cells.iter().zip(&roles).zip(&category_of) {
            match (role, category) {
                (Some("given"), _) => input.given_name.clone_from(cell),
                (Some("family"), _) => input.family_name.clone_from(cell),
                (Some("personal"), _) => input.personal_number.clone_from(cell),
                (None, Some(c)) if !cell.trim().is_empty() => {
                    input.categories.insert(c.name.clone(), Value::String(cell.trim().to_string()));
                }
                _ => {}
            }
        }
        let r = record(profile, Uuid::now_v7(), &input, Vec::new(), now)
            .map_err(|e| ScimError::invalid_value(format!("line {}: {}", row.line, e.detail())))?;
        rows.push(r);
    }
    let written = conn
        .transaction::<_, ScimError, _>(async move |conn| Ok(store::upsert_prestored(conn, &rows).await?))
        .await?;
    Ok(json!({
        "rows": table.rows.len(),
        "written": written,
        "unchangedBecauseUsed": table.rows.len() - written,
        "matchedOn": "personalNumber",
        "ignoredColumns": ignored,
    }))
}

/// Approve a pending access request: the member is written (like any registration) and
/// `access_request.approved` follows. 409 when the request was decided already, or when a live
/// member holds its userName, email or personnel number (deny it instead).
pub async fn approve(
    conn: &mut Conn,
    profile: &TenantProfile,
    id: Uuid,
    now: DateTime<Utc>,
) -> ScimResult<Request> {
    let now = db_precision(now);
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let mut request = pending(conn, profile.id, id).await?;
        let applicant: Applicant =
            serde_json::from_value(request.registration.clone()).map_err(ScimError::internal)?;
        let reg = Registration {
            resource: applicant.resource(&Map::new()),
            personal_id: None,
            groups: Vec::new(),
            door: "access request",
        };
        let member = match write::register(conn, profile, &reg, now).await? {
            Registered::Joined { member, .. } => member,
            Registered::AlreadyMember(existing) => {
                return Err(ScimError::conflict(format!(
                    "member {existing} already has this userName or email; deny the request instead"
                )))
            }
        };
        store::decide_request(conn, profile.id, id, "approved", None, Some(member), now).await?;
        events::insert(conn, profile.id, &[NewEvent::access_request_approved(id, member)], now).await?;
        request.state = "approved".into();
        request.member_id = Some(member);
        request.decided_at = Some(now);
        Ok(request)
    })
    .await
}

/// Deny a pending access request with a reason the registrant is shown.
pub async fn deny(
    conn: &mut Conn,
    tenant: Uuid,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> ScimResult<Request> {
    let now = db_precision(now);
    let reason = reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 2000 || reason.chars().any(|c| c == '\0') {
        return Err(ScimError::invalid_value("reason: 1 to 2000 characters (the registrant is shown it)"));
    }
    conn.transaction::<_, ScimError, _>(async move |conn| {
        let mut request = pending(conn, tenant, id).await?;
        store::decide_request(conn, tenant, id, "denied", Some(&reason), None, now).await?;
        events::insert(conn, tenant, &[NewEvent::access_request_denied(id)], now).await?;
        request.state = "denied".into();
        request.reason = Some(reason);
        request.decided_at = Some(now);
        Ok(request)
    })
    .await
}

async fn pending(conn: &mut Conn, tenant: Uuid, id: Uuid) -> ScimResult<Request> {
    let request = store::request_for_update(conn, tenant, id)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("no access request {id} in this tenant")))?;
    if request.state != "pending" {
        return Err(ScimError::conflict(format!("the request was already {}", request.state)));
    }
    Ok(request)
}
