//! Which column feeds what: the standard columns by name, every other column through the mapping
//! file (a category, a new category, a standard field, or ignored) or, without a mapping entry,
//! an existing category of the same name. Pure.
//!
//! Mapping file (JSON):
//! ```json
//! {"columns": {
//!     "By":      {"category": "City", "create": {"kind": "dropdown"}},
//!     "Avdeling": {"category": "Department"},
//!     "Fornavn": "firstname",
//!     "Notes":   "ignore"
//! }}
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use super::catalog::{Category, Kind};

/// A standard import column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// `name.givenName`.
    FirstName,
    /// `name.familyName`.
    LastName,
    /// userName and the primary work email.
    Email,
    /// The member's identity key in imports (defaults to the email).
    PersonalId,
    /// Free-text tags.
    Comment,
    /// Group memberships: group ids, externalIds or displayNames.
    TeamId,
    /// A role of the tenant's catalog (the member's base role).
    Role,
    /// The member's `title`, from which positions are derived.
    Position,
    /// The member's group role (`member` or `manager`) in the groups of its `teamid` cell.
    GroupRole,
}

impl Field {
    /// Every field with its canonical column name.
    pub const ALL: [(Field, &'static str); 9] = [
        (Field::FirstName, "firstname"),
        (Field::LastName, "lastname"),
        (Field::Email, "email"),
        (Field::PersonalId, "personalid"),
        (Field::Comment, "comment"),
        (Field::TeamId, "teamid"),
        (Field::Role, "role"),
        (Field::Position, "position"),
        (Field::GroupRole, "grouprole"),
    ];

    /// The canonical column name (`firstname`, ...).
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(f, _)| *f == self).map_or("", |(_, n)| n)
    }

    /// The field a header names: caseless, ignoring spaces, `_` and `-` (`First Name`,
    /// `personal_id`).
    pub fn from_header(header: &str) -> Option<Field> {
        let key: String =
            header.chars().filter(|c| !matches!(c, ' ' | '_' | '-')).flat_map(char::to_lowercase).collect();
        Self::ALL.iter().find(|(_, n)| *n == key).map(|(f, _)| *f)
    }
}

/// A category that an import creates on apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCategory {
    /// SCIM attribute name.
    pub name: String,
    /// Display name (the column header unless the mapping gives one).
    pub display_name: String,
    /// Value type.
    pub kind: Kind,
}

/// What a column feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnUse {
    /// A standard field.
    Field(Field),
    /// An existing category.
    Category(Category),
    /// A category created by this import.
    NewCategory(NewCategory),
    /// Nothing; `reason` says why, for the report.
    Ignore {
        /// Why the column is not used.
        reason: &'static str,
    },
}

/// One entry of a mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Ignore,
    Field(Field),
    Category { name: String, create: Option<(Kind, Option<String>)> },
}

/// A parsed mapping file: entries by caseless, trimmed column name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    columns: BTreeMap<String, (String, Entry)>,
}

fn key(header: &str) -> String {
    header.trim().to_lowercase()
}

impl Mapping {
    /// Parse a mapping file; errors name the entry to fix.
    pub fn parse(bytes: &[u8]) -> Result<Mapping, String> {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("the mapping file is not valid JSON: {e}"))?;
        if let Some(at) = crate::text::first_unstorable_in_json(&doc) {
            return Err(format!(
                "the mapping file: the string at {at:?} contains the character U+0000 (NUL), which cannot be stored"
            ));
        }
        let columns = doc
            .get("columns")
            .and_then(Value::as_object)
            .ok_or("the mapping file must be a JSON object with a \"columns\" object")?;
        if let Some(other) = doc.as_object().and_then(|o| o.keys().find(|k| *k != "columns")) {
            return Err(format!("the mapping file has an unknown key {other:?} (only \"columns\")"));
        }
        let mut out = Mapping::default();
        for (column, spec) in columns {
            let entry = Self::entry(column, spec)?;
            if out.columns.insert(key(column), (column.trim().to_string(), entry)).is_some() {
                return Err(format!("the mapping file names column {column:?} twice"));
            }
        }
        Ok(out)
    }

    fn entry(column: &str, spec: &Value) -> Result<Entry, String> {
        match spec {
            Value::String(s) if s.eq_ignore_ascii_case("ignore") => Ok(Entry::Ignore),
            Value::String(s) => Field::from_header(s).map(Entry::Field).ok_or_else(|| {
                format!(
                    "mapping of column {column:?}: {s:?} is neither \"ignore\" nor a standard column ({})",
                    Field::ALL.map(|(_, n)| n).join(", ")
                )
            }),
            Value::Object(o) => {
                if let Some(k) = o.keys().find(|k| !matches!(k.as_str(), "category" | "create")) {
                    return Err(format!("mapping of column {column:?}: unknown key {k:?} (use \"category\", \"create\")"));
                }
                let name = o
                    .get("category")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("mapping of column {column:?}: \"category\" must name a category"))?;
                let create = match o.get("create") {
                    None | Some(Value::Null) | Some(Value::Bool(false)) => None,
                    Some(Value::Bool(true)) => Some((Kind::Text, None)),
                    Some(Value::Object(c)) => {
                        let kind = match c.get("kind") {
                            None => Kind::Text,
                            Some(k) => k.as_str().and_then(Kind::parse).ok_or_else(|| {
                                format!(
                                    "mapping of column {column:?}: \"kind\" must be one of text, dropdown, number, date, boolean"
                                )
                            })?,
                        };
                        let display = c.get("display_name").and_then(Value::as_str).map(str::to_string);
                        Some((kind, display))
                    }
                    Some(_) => {
                        return Err(format!(
                            "mapping of column {column:?}: \"create\" must be an object like {{\"kind\": \"dropdown\"}}"
                        ))
                    }
                };
                Ok(Entry::Category { name: name.trim().to_string(), create })
            }
            _ => Err(format!(
                "mapping of column {column:?}: use \"ignore\", a standard column name, or {{\"category\": ...}}"
            )),
        }
    }

    /// Mapping entries whose column is not in the file (reported as warnings).
    pub fn unused(&self, headers: &[String]) -> Vec<String> {
        let present: Vec<String> = headers.iter().map(|h| key(h)).collect();
        self.columns.iter().filter(|(k, _)| !present.contains(k)).map(|(_, (c, _))| c.clone()).collect()
    }
}

/// Whether a category name is a valid SCIM attribute name (as the `categories` table checks)
/// and not one of Roster's own User extension attributes.
pub fn valid_category_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !crate::directory::categories::RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name))
}

fn find_category<'a>(categories: &'a [Category], name: &str) -> Option<&'a Category> {
    let k = key(name);
    categories
        .iter()
        .find(|c| c.name.to_lowercase() == k)
        .or_else(|| categories.iter().find(|c| key(&c.display_name) == k))
}

/// Decide what every column feeds. Errors (file-level, nothing is written): a required column
/// missing, a column named twice, a mapping naming a category that does not exist without
/// `create`, an invalid new category name, or a `create` whose kind contradicts the existing
/// category.
pub fn resolve(
    headers: &[String],
    mapping: &Mapping,
    categories: &[Category],
) -> Result<Vec<ColumnUse>, String> {
    let mut uses = Vec::with_capacity(headers.len());
    for header in headers {
        let entry = mapping.columns.get(&key(header)).map(|(_, e)| e);
        let column_use = match entry {
            Some(Entry::Ignore) => ColumnUse::Ignore { reason: "ignored by the mapping" },
            Some(Entry::Field(f)) => ColumnUse::Field(*f),
            Some(Entry::Category { name, create }) => {
                category_use(header, name, create.as_ref(), categories)?
            }
            None => match Field::from_header(header) {
                Some(f) => ColumnUse::Field(f),
                None => match find_category(categories, header) {
                    Some(c) => ColumnUse::Category(c.clone()),
                    None => {
                        ColumnUse::Ignore { reason: "no category of this name (map it in a mapping file)" }
                    }
                },
            },
        };
        uses.push(column_use);
    }
    for (i, a) in uses.iter().enumerate() {
        let same = |b: &ColumnUse| match (a, b) {
            (ColumnUse::Field(x), ColumnUse::Field(y)) => x == y,
            (ColumnUse::Category(x), ColumnUse::Category(y)) => {
                x.name.to_lowercase() == y.name.to_lowercase()
            }
            (ColumnUse::NewCategory(x), ColumnUse::NewCategory(y)) => key(&x.name) == key(&y.name),
            _ => false,
        };
        if let Some(j) = uses[i + 1..].iter().position(same) {
            return Err(format!(
                "columns {:?} and {:?} feed the same field; keep one or ignore the other in the mapping",
                headers[i],
                headers[i + 1 + j]
            ));
        }
    }
    let missing: Vec<&str> = [Field::FirstName, Field::LastName, Field::Email]
        .into_iter()
        .filter(|f| !uses.contains(&ColumnUse::Field(*f)))
        .map(Field::name)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the file has no {} column (required: firstname, lastname, email; headers found: {})",
            missing.join(", "),
            headers.join(", ")
        ));
    }
    Ok(uses)
}

fn category_use(
    header: &str,
    name: &str,
    create: Option<&(Kind, Option<String>)>,
    categories: &[Category],
) -> Result<ColumnUse, String> {
    if let Some(existing) = find_category(categories, name) {
        if let Some((kind, _)) = create {
            if *kind != existing.kind {
                return Err(format!(
                    "mapping of column {header:?}: category {:?} exists as {}, not {}",
                    existing.name,
                    existing.kind.as_str(),
                    kind.as_str()
                ));
            }
        }
        return Ok(ColumnUse::Category(existing.clone()));
    }
    let Some((kind, display)) = create else {
        return Err(format!(
            "mapping of column {header:?}: there is no category {name:?}; add \"create\": {{\"kind\": \"text\"}} to create it"
        ));
    };
    if !valid_category_name(name) {
        return Err(format!(
            "mapping of column {header:?}: {name:?} is not a valid category name (a letter, then up to 62 letters, digits, '_' or '-'; not role, status or position)"
        ));
    }
    let display_name = display.clone().unwrap_or_else(|| header.trim().to_string());
    Ok(ColumnUse::NewCategory(NewCategory { name: name.to_string(), display_name, kind: *kind }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn city() -> Category {
        Category {
            name: "City".into(),
            display_name: "City".into(),
            kind: Kind::Dropdown,
            allowed_values: vec!["Oslo".into(), "Bergen".into()],
            source: None,
        }
    }

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn standard_columns_are_caseless_and_tolerate_separators() {
        let uses = resolve(
            &headers(&["First Name", " LASTNAME ", "e-mail", "personal_id"]),
            &Mapping::default(),
            &[],
        )
        .unwrap();
        assert_eq!(
            uses,
            [
                ColumnUse::Field(Field::FirstName),
                ColumnUse::Field(Field::LastName),
                ColumnUse::Field(Field::Email),
                ColumnUse::Field(Field::PersonalId)
            ]
        );
    }

    #[test]
    fn without_mapping_existing_categories_match_and_the_rest_is_ignored() {
        let uses = resolve(
            &headers(&["firstname", "lastname", "email", "CITY", "Shoe size"]),
            &Mapping::default(),
            &[city()],
        )
        .unwrap();
        assert_eq!(uses[3], ColumnUse::Category(city()));
        assert!(matches!(uses[4], ColumnUse::Ignore { .. }));
    }

    #[test]
    fn mapping_maps_creates_renames_and_ignores() {
        let m = Mapping::parse(
            br#"{"columns": {"By": {"category": "City"}, "Avd": {"category": "Department", "create": {"kind": "dropdown"}},
                "Fornavn": "firstname", "notes": "ignore"}}"#,
        )
        .unwrap();
        let uses = resolve(&headers(&["Fornavn", "lastname", "email", "by", "Avd", "Notes"]), &m, &[city()])
            .unwrap();
        assert_eq!(uses[0], ColumnUse::Field(Field::FirstName));
        assert_eq!(uses[3], ColumnUse::Category(city()));
        assert_eq!(
            uses[4],
            ColumnUse::NewCategory(NewCategory {
                name: "Department".into(),
                display_name: "Avd".into(),
                kind: Kind::Dropdown
            })
        );
        assert!(matches!(uses[5], ColumnUse::Ignore { .. }));
        assert_eq!(m.unused(&headers(&["Fornavn"])), ["Avd", "By", "notes"]);
    }

    #[test]
    fn file_level_errors() {
        let none = Mapping::default();
        let err = resolve(&headers(&["firstname", "email"]), &none, &[]).unwrap_err();
        assert!(err.contains("no lastname column"), "{err}");
        let err = resolve(&headers(&["firstname", "lastname", "email", "E-Mail"]), &none, &[]).unwrap_err();
        assert!(err.contains("same field"), "{err}");
        let m = Mapping::parse(br#"{"columns": {"By": {"category": "Town"}}}"#).unwrap();
        let err = resolve(&headers(&["firstname", "lastname", "email", "By"]), &m, &[]).unwrap_err();
        assert!(err.contains("no category \"Town\""), "{err}");
        let m = Mapping::parse(br#"{"columns": {"By": {"category": "9lives", "create": true}}}"#).unwrap();
        let err = resolve(&headers(&["firstname", "lastname", "email", "By"]), &m, &[]).unwrap_err();
        assert!(err.contains("not a valid category name"), "{err}");
        let m = Mapping::parse(br#"{"columns": {"Rolle": {"category": "Role", "create": true}}}"#).unwrap();
        let err = resolve(&headers(&["firstname", "lastname", "email", "Rolle"]), &m, &[]).unwrap_err();
        assert!(err.contains("not a valid category name"), "Roster's own attribute: {err}");
        let m = Mapping::parse(br#"{"columns": {"By": {"category": "City", "create": {"kind": "number"}}}}"#)
            .unwrap();
        let err = resolve(&headers(&["firstname", "lastname", "email", "By"]), &m, &[city()]).unwrap_err();
        assert!(err.contains("exists as dropdown"), "{err}");
    }

    #[test]
    fn malformed_mapping_files() {
        for (doc, needle) in [
            (&b"nope"[..], "not valid JSON"),
            (br#"{"cols": {}}"#, "\"columns\""),
            (br#"{"columns": {"x": "frobnicate"}}"#, "neither"),
            (br#"{"columns": {"x": {"category": "A", "create": {"kind": "blob"}}}}"#, "kind"),
            (br#"{"columns": {"x": {"cat": "A"}}}"#, "unknown key"),
            (br#"{"columns": {"x": 3}}"#, "use \"ignore\""),
            (br#"{"columns": {"X": "ignore", "x ": "ignore"}}"#, "twice"),
        ] {
            let err = Mapping::parse(doc).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }
}
