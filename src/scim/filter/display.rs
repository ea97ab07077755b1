//! Canonical text of the AST: `parse_filter(&f.to_string()) == Ok(f)` for every filter the
//! parser produces (and the same for paths).

use std::fmt;

use super::{AttrPath, CompValue, CompareOp, Filter, PatchPath};

/// The operands of an and/or chain, walking the left spine without recursion: for
/// `And(And(a, b), c)` → `(true, [a, b, c])`. `None` if `f` is not an and/or.
pub(super) fn chain_operands(f: &Filter) -> Option<(bool, Vec<&Filter>)> {
    let is_and = match f {
        Filter::And(..) => true,
        Filter::Or(..) => false,
        _ => return None,
    };
    let mut rights = Vec::new();
    let mut cur = f;
    while let (Filter::And(l, r), true) | (Filter::Or(l, r), false) = (cur, is_and) {
        rights.push(r.as_ref());
        cur = l;
    }
    rights.push(cur);
    rights.reverse();
    Some((is_and, rights))
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::String(s) => write_json_string(f, s),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

/// Writes `s` as a JSON string literal (what `serde_json` writes, without its `Result`).
fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((is_and, operands)) = chain_operands(self) {
            for (i, operand) in operands.into_iter().enumerate() {
                if i > 0 {
                    f.write_str(if is_and { " and " } else { " or " })?;
                }
                if matches!(operand, Filter::And(..) | Filter::Or(..)) {
                    write!(f, "({operand})")?;
                } else {
                    write!(f, "{operand}")?;
                }
            }
            return Ok(());
        }
        match self {
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            // Handled by `chain_operands` above.
            Filter::And(..) | Filter::Or(..) => Ok(()),
        }
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attr(path) => write!(f, "{path}"),
            PatchPath::Filtered { path, filter, sub } => {
                write!(f, "{path}[{filter}]")?;
                if let Some(sub) = sub {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}
