//! Pre-stored registrations: what the admin knows about a person, stored one by one or from a
//! CSV/XLSX file read by the member importer's parser.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::checked_groups;
use crate::db::join::{self as store, Prestored};
use crate::db::{unique_violation, Conn};
use crate::directory::join::MAX_NAME;
use crate::directory::{db_precision, TenantProfile};
use crate::error::{ScimError, ScimResult};
use crate::import::parse;
use crate::scim::resource::fold_key;

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

#[cfg(test)]
mod tests {
    use super::column;

    #[test]
    fn import_headers_match_the_member_import_keys_and_their_spellings() {
        for (header, role) in [
            ("firstname", Some("given")),
            ("First Name", Some("given")),
            ("givenName", Some("given")),
            ("last_name", Some("family")),
            ("Family-Name", Some("family")),
            ("personalid", Some("personal")),
            ("Personnel number", Some("personal")),
            ("personalNumber", Some("personal")),
            ("email", None),
        ] {
            assert_eq!(column(header), role, "{header}");
        }
    }
}
