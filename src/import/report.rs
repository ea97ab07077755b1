//! The import report: the same JSON for the CLI (`--json`) and the admin API, and a text view.

use serde_json::{json, Value};

use super::apply::Written;
use super::mapping::{ColumnUse, Mapping};
use super::parse::Format;
use super::plan::{Action, Plan};
use super::Options;
use crate::db::tenants::Tenant;

/// What an import did or would do.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    tenant: String,
    format: Format,
    options: Options,
    columns: Vec<Value>,
    warnings: Vec<String>,
    /// Why an apply wrote nothing (rows with errors and no `skip_invalid`).
    pub refused: Option<String>,
    rows: Vec<Value>,
    totals: Value,
    suspend: Vec<Value>,
    new_categories: Vec<Value>,
    written: Option<Written>,
}

fn column_view(header: &str, use_: &ColumnUse) -> Value {
    match use_ {
        ColumnUse::Field(f) => json!({"column": header, "use": "field", "field": f.name()}),
        ColumnUse::Category(c) => {
            json!({"column": header, "use": "category", "category": c.name, "new": false})
        }
        ColumnUse::NewCategory(c) => {
            json!({"column": header, "use": "category", "category": c.name, "new": true})
        }
        ColumnUse::Ignore { reason } => json!({"column": header, "use": "ignored", "reason": reason}),
    }
}

impl Report {
    /// A report before the plan: the file, the options and how columns are used.
    pub(super) fn new(
        tenant: &Tenant,
        format: Format,
        options: Options,
        headers: &[String],
        uses: &[ColumnUse],
        mapping: &Mapping,
    ) -> Report {
        let warnings = mapping
            .unused(headers)
            .into_iter()
            .map(|c| format!("the mapping names column {c:?}, which the file does not have"))
            .collect();
        Report {
            tenant: tenant.slug.clone(),
            format,
            options,
            columns: headers.iter().zip(uses).map(|(h, u)| column_view(h, u)).collect(),
            warnings,
            refused: None,
            rows: Vec::new(),
            totals: Value::Null,
            suspend: Vec::new(),
            new_categories: Vec::new(),
            written: None,
        }
    }

    /// Add the plan's rows and totals and what was written.
    pub(super) fn fill(&mut self, plan: &Plan, written: Option<Written>) {
        self.rows = plan
            .rows
            .iter()
            .map(|r| {
                let mut row = json!({
                    "line": r.line,
                    "personalid": r.personal_id,
                    "action": r.action.as_str(),
                    "member_id": r.member_id.map(|id| id.to_string()),
                });
                if !r.changes.is_empty() {
                    row["changes"] = json!(r.changes);
                }
                if let Some(reason) = &r.reason {
                    row["reason"] = json!(reason);
                }
                row
            })
            .collect();
        // Created members have ids only once written.
        if written.is_none() {
            for (row, plan_row) in self.rows.iter_mut().zip(&plan.rows) {
                if plan_row.action == Action::Create {
                    row["member_id"] = Value::Null;
                }
            }
        }
        self.totals = json!({
            "rows": plan.rows.len(),
            "create": plan.count(Action::Create),
            "update": plan.count(Action::Update),
            "unchanged": plan.count(Action::Unchanged),
            "skipped": plan.count(Action::Skipped),
            "error": plan.count(Action::Error),
            "suspend": plan.suspend.len(),
            "restore": plan.rows.iter().filter(|r| r.restores).count(),
        });
        self.suspend = plan
            .suspend
            .iter()
            .map(|s| json!({"member_id": s.member_id.to_string(), "personalid": s.personal_id}))
            .collect();
        self.new_categories = plan
            .new_categories
            .iter()
            .map(|c| {
                json!({"name": c.name, "display_name": c.display_name, "kind": c.kind.as_str(), "allowed_values": c.allowed_values})
            })
            .collect();
        self.written = written;
    }

    /// Whether the import wrote anything (false for dry runs and refused applies).
    pub fn applied(&self) -> bool {
        self.written.is_some()
    }

    /// The report as JSON.
    pub fn json(&self) -> Value {
        let written = match &self.written {
            Some(w) => w.totals(),
            None => Written::default().totals(),
        };
        let mut out = json!({
            "tenant": self.tenant,
            "format": match self.format { Format::Csv => "csv", Format::Xlsx => "xlsx" },
            "dry_run": self.options.dry_run,
            "sync": self.options.sync,
            "no_invitations": self.options.no_invitations,
            "skip_invalid": self.options.skip_invalid,
            "applied": self.applied(),
            "import_id": self.written.as_ref().map(|w| w.import_id.to_string()),
            "refused": self.refused,
            "columns": self.columns,
            "warnings": self.warnings,
            "totals": self.totals,
            "written": written,
            "new_categories": self.new_categories,
            "suspend": self.suspend,
            "rows": self.rows,
        });
        // A refused apply is also an RFC 7644 §3.12 error body, so clients treat it as one.
        if let Some(why) = &self.refused {
            out["schemas"] = json!(["urn:ietf:params:scim:api:messages:2.0:Error"]);
            out["status"] = json!("422");
            out["scimType"] = json!("invalidValue");
            out["detail"] = json!(why);
        }
        out
    }

    /// The report for people: one line per row that is not unchanged, then the totals.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.columns {
            if c["use"] == "ignored" {
                out.push_str(&format!(
                    "column {}: ignored ({})\n",
                    c["column"],
                    c["reason"].as_str().unwrap_or("")
                ));
            }
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        for r in &self.rows {
            if r["action"] == "unchanged" {
                continue;
            }
            let mut line = format!(
                "line {}: {} {}",
                r["line"],
                r["action"].as_str().unwrap_or(""),
                r["personalid"].as_str().unwrap_or("-")
            );
            if let Some(changes) = r["changes"].as_array() {
                let names: Vec<&str> = changes.iter().filter_map(Value::as_str).collect();
                line.push_str(&format!(" ({})", names.join(", ")));
            }
            if let Some(reason) = r["reason"].as_str() {
                line.push_str(&format!(": {reason}"));
            }
            out.push_str(&line);
            out.push('\n');
        }
        for s in &self.suspend {
            out.push_str(&format!(
                "suspend {} {}\n",
                s["personalid"].as_str().unwrap_or("-"),
                s["member_id"].as_str().unwrap_or("")
            ));
        }
        for c in &self.new_categories {
            out.push_str(&format!(
                "new category {} ({})\n",
                c["name"].as_str().unwrap_or(""),
                c["kind"].as_str().unwrap_or("")
            ));
        }
        let t = &self.totals;
        out.push_str(&format!(
            "{} rows: {} create, {} update, {} unchanged, {} skipped, {} error; {} to suspend\n",
            t["rows"], t["create"], t["update"], t["unchanged"], t["skipped"], t["error"], t["suspend"]
        ));
        match (&self.written, &self.refused) {
            (Some(w), _) => out.push_str(&format!(
                "Applied (import {}): {} created, {} updated, {} restored, {} suspended, {} memberships added, {} \
                 removed.\n",
                w.import_id, w.created, w.updated, w.restored, w.suspended, w.memberships_added, w.memberships_removed
            )),
            (None, Some(why)) => out.push_str(&format!("Nothing was written: {why}.\n")),
            (None, None) => out.push_str("Dry run: nothing was written.\n"),
        }
        out
    }
}
