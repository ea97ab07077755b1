//! Members out, in the import's own columns: the export (CSV or XLSX) of a tenant's live
//! members, and the empty template an organization fills in. The columns are the standard ones
//! followed by the tenant's categories, so an exported file imports back with every row
//! `unchanged` (members an import manages) or `skipped` (members from an IdP or an admin).
//!
//! What each column holds is what the import's column sets: `role` is the base role (not the
//! effective role, which overrides and bindings also feed), `position` the `title`, `teamid`
//! the direct groups by displayName (by id when a name holds a comma, the cell's separator),
//! `grouprole` the group role they share (empty when they differ: an import then keeps them).
//! Suspended members are left out: importing them back would reactivate them.

use std::collections::HashMap;

use serde_json::Value;
use uuid::Uuid;

use super::catalog::{self, Category};
use super::mapping::Field;
use super::parse::Format;
use super::plan::USER_EXTENSION;
use crate::db::{imports as store, Conn};
use crate::error::{ScimError, ScimResult};

/// A table to write: a header row and data rows of the same width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// Column names.
    pub headers: Vec<String>,
    /// One row per member.
    pub rows: Vec<Vec<String>>,
}

/// The standard columns, in export order.
const COLUMNS: [Field; 9] = [
    Field::FirstName,
    Field::LastName,
    Field::Email,
    Field::PersonalId,
    Field::Comment,
    Field::Position,
    Field::Role,
    Field::TeamId,
    Field::GroupRole,
];

fn headers(categories: &[Category]) -> Vec<String> {
    COLUMNS.iter().map(|f| f.name().to_string()).chain(categories.iter().map(|c| c.name.clone())).collect()
}

/// The empty template: the tenant's columns, no rows.
pub async fn template(conn: &mut Conn, tenant: Uuid) -> ScimResult<Sheet> {
    Ok(Sheet { headers: headers(&catalog::load(conn, tenant).await?), rows: Vec::new() })
}

/// The tenant's live members (of `origin`, when given) in the template's columns. Three
/// queries: categories, members, their groups.
pub async fn members(conn: &mut Conn, tenant: Uuid, origin: Option<&str>) -> ScimResult<Sheet> {
    let categories = catalog::load(conn, tenant).await?;
    let members = store::export_rows(conn, tenant, origin).await?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
    let teams: HashMap<Uuid, String> = store::teams(conn, tenant)
        .await?
        .into_iter()
        .map(|t| {
            let cell = if t.display_name.contains(',') { t.id.to_string() } else { t.display_name };
            (t.id, cell)
        })
        .collect();
    let mut groups: HashMap<Uuid, Vec<&str>> = HashMap::new();
    let mut group_roles: HashMap<Uuid, Vec<&str>> = HashMap::new();
    let direct = if ids.is_empty() { Vec::new() } else { store::direct_groups(conn, tenant, &ids).await? };
    for (member, group, role) in &direct {
        if let Some(name) = teams.get(group) {
            groups.entry(*member).or_default().push(name);
            group_roles.entry(*member).or_default().push(role);
        }
    }
    let rows = members
        .into_iter()
        .map(|m| {
            let mut names = groups.remove(&m.id).unwrap_or_default();
            names.sort_unstable();
            let text = |v: Option<String>| v.unwrap_or_default();
            let ext = m.resource.get(USER_EXTENSION);
            let mut row = vec![
                text(m.given_name),
                text(m.family_name),
                text(m.email),
                text(m.personal_id),
                text(m.comment),
                text(m.title),
                text(m.base_role),
                names.join(", "),
                common_role(group_roles.remove(&m.id).unwrap_or_default()),
            ];
            row.extend(
                categories.iter().map(|c| ext.and_then(|e| e.get(&c.name)).map(cell).unwrap_or_default()),
            );
            row
        })
        .collect();
    Ok(Sheet { headers: headers(&categories), rows })
}

/// The `grouprole` cell: the member's group role when all its groups share it (an import gives
/// every group of a row the same role); empty otherwise, which an import leaves alone.
fn common_role(roles: Vec<&str>) -> String {
    match roles.split_first() {
        Some((first, rest)) if rest.iter().all(|r| r == first) => first.to_string(),
        _ => String::new(),
    }
}

/// A category value as the import reads it back.
fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The file of a sheet: CSV as Excel writes "CSV UTF-8" (byte order mark, `;`, CRLF), which
/// spreadsheet programs open in any locale and the import reads back; or an XLSX workbook with
/// one sheet of text cells (never formulas).
pub fn write(sheet: &Sheet, format: Format) -> ScimResult<Vec<u8>> {
    match format {
        Format::Csv => {
            let mut out = b"\xEF\xBB\xBF".to_vec();
            let mut w = csv::WriterBuilder::new()
                .delimiter(b';')
                .terminator(csv::Terminator::CRLF)
                .from_writer(&mut out);
            let failed = |e: csv::Error| ScimError::internal(anyhow::anyhow!("writing CSV: {e}"));
            w.write_record(&sheet.headers).map_err(failed)?;
            for row in &sheet.rows {
                w.write_record(row).map_err(failed)?;
            }
            w.flush().map_err(|e| ScimError::internal(anyhow::anyhow!("writing CSV: {e}")))?;
            drop(w);
            Ok(out)
        }
        Format::Xlsx => {
            let failed =
                |e: rust_xlsxwriter::XlsxError| ScimError::internal(anyhow::anyhow!("writing XLSX: {e}"));
            let mut book = rust_xlsxwriter::Workbook::new();
            let ws = book.add_worksheet();
            ws.set_name("Members").map_err(failed)?;
            for (c, h) in sheet.headers.iter().enumerate() {
                ws.write_string(0, c as u16, h).map_err(failed)?;
            }
            for (r, row) in sheet.rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    if !v.is_empty() {
                        ws.write_string(r as u32 + 1, c as u16, v).map_err(failed)?;
                    }
                }
            }
            book.save_to_buffer().map_err(failed)
        }
    }
}

/// `csv` or `xlsx` (caseless) as a file format; anything else is a 400 naming both.
pub fn format(name: &str) -> ScimResult<Format> {
    match name.to_ascii_lowercase().as_str() {
        "csv" => Ok(Format::Csv),
        "xlsx" => Ok(Format::Xlsx),
        _ => Err(ScimError::invalid_value(format!(
            "format must be csv or xlsx, not {}",
            crate::text::quote(name)
        ))),
    }
}

/// The media type of a format.
pub fn content_type(format: Format) -> &'static str {
    match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::import::parse::{parse, Limits};

    #[test]
    fn both_formats_read_back_as_written() {
        let sheet = Sheet {
            headers: vec!["firstname".into(), "comment".into(), "City".into()],
            rows: vec![
                vec!["Åse".into(), "a; \"quoted\"\nline".into(), "Oslo".into()],
                vec!["Bo".into(), String::new(), "=1+1".into()],
            ],
        };
        for format in [Format::Csv, Format::Xlsx] {
            let bytes = write(&sheet, format).unwrap();
            let table = parse(&bytes, format, &Limits::with_rows(10)).unwrap();
            assert_eq!(table.headers, sheet.headers, "{format:?}");
            let rows: Vec<Vec<String>> = table.rows.iter().map(|r| r.cells.clone()).collect();
            assert_eq!(rows, sheet.rows, "{format:?}");
        }
        assert!(format("XLSX").is_ok());
        assert_eq!(format("pdf").unwrap_err().status(), 400);
    }
}
