//! The adapter over `scim_v2`'s LALRPOP parser: pre-checks and rewriting (see [`super::lex`]),
//! error messages with positions, and conversion of its n-ary AST into ours.

use std::cell::Cell;

use scim_v2::filter as sv;
use serde_json::Number;

use super::lex::{self, Kind, Mode, SyntaxError, Token};
use super::{AttrPath, CompValue, CompareOp, Filter, PatchPath, MAX_FILTER_DEPTH, MAX_FILTER_LEN};
use crate::error::{ScimError, ScimResult};

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA` (RFC 7644 §3.4.2.2).
pub(super) fn is_attr_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// What the parse of one input needs to report errors against the client's text.
struct Ctx<'a> {
    input: &'a str,
    tokens: Vec<Token<'a>>,
    norm: lex::Normalized,
    mode: Mode,
    /// The number literals, in order, and how many the conversion has used (see [`number`]).
    numbers: Vec<&'a str>,
    next_number: Cell<usize>,
}

impl Ctx<'_> {
    fn noun(&self) -> &'static str {
        match self.mode {
            Mode::Filter => "filter",
            Mode::Path => "path",
        }
    }
    /// Index of the token at or after input byte `at`.
    fn token_at(&self, at: usize) -> Option<usize> {
        self.tokens.iter().position(|t| t.end() > at)
    }
    /// The first word token whose text is `text`, for errors `scim_v2` reports without position.
    fn find_word(&self, text: &str) -> usize {
        self.tokens.iter().find(|t| t.kind == Kind::Word && t.text.contains(text)).map_or(0, |t| t.start)
    }
}

/// Turns a syntax error into the ScimError of `mode`, naming a 1-based character position.
fn syntax_error(input: &str, mode: Mode, e: SyntaxError) -> ScimError {
    let at = e.at.min(input.len());
    let position = input.get(..at).map_or(0, |s| s.chars().count()) + 1;
    match mode {
        Mode::Filter => {
            ScimError::invalid_filter(format!("invalid filter at position {position}: {}", e.msg))
        }
        Mode::Path => ScimError::invalid_path(format!("invalid path at position {position}: {}", e.msg)),
    }
}

/// Tokenises, checks and rewrites `input`, then runs `run` (a `scim_v2` parser) on the result.
fn front_end<T>(
    input: &str,
    mode: Mode,
    run: impl FnOnce(&Ctx<'_>) -> Result<T, SyntaxError>,
) -> ScimResult<T> {
    if input.len() > MAX_FILTER_LEN {
        let e = SyntaxError::new(
            input.char_indices().nth(MAX_FILTER_LEN).map_or(input.len(), |(i, _)| i),
            format!("longer than {MAX_FILTER_LEN} bytes"),
        );
        return Err(syntax_error(input, mode, e));
    }
    if input.trim().is_empty() {
        let noun = if mode == Mode::Filter { "filter" } else { "path" };
        return Err(syntax_error(input, mode, SyntaxError::new(input.len(), format!("the {noun} is empty"))));
    }
    let staged = lex::tokenize(input).and_then(|tokens| {
        let matching = lex::check(&tokens, input.len())?;
        let norm = lex::normalize(&tokens, &matching, mode, input.len());
        let numbers =
            (0..tokens.len()).filter(|&i| lex::is_number_literal(&tokens, i)).map(|i| tokens[i].text);
        let numbers = numbers.collect();
        Ok(Ctx { input, tokens, norm, mode, numbers, next_number: Cell::new(0) })
    });
    let result = staged.and_then(|ctx| run(&ctx));
    result.map_err(|e| syntax_error(input, mode, e))
}

/// Parses a filter (RFC 7644 §3.4.2.2); see the module documentation for what is accepted.
pub(super) fn filter(input: &str) -> ScimResult<Filter> {
    front_end(input, Mode::Filter, |ctx| match simple_comparison(&ctx.tokens) {
        Some(simple) => Ok(simple),
        None => full_filter(ctx),
    })
}

/// [`filter`] through `scim_v2` always (the tests compare [`simple_comparison`] with it).
#[cfg(test)]
pub(super) fn filter_through_scim_v2(input: &str) -> ScimResult<Filter> {
    front_end(input, Mode::Filter, full_filter)
}

/// Whether [`filter`] reads `input` without `scim_v2` ([`simple_comparison`]).
#[cfg(test)]
pub(super) fn reads_as_simple_comparison(input: &str) -> bool {
    front_end(input, Mode::Filter, |ctx| Ok(simple_comparison(&ctx.tokens).is_some())).unwrap_or(false)
}

fn full_filter(ctx: &Ctx<'_>) -> Result<Filter, SyntaxError> {
    let parsed = ctx.norm.text.parse::<sv::Filter>().map_err(|e| describe(ctx, e))?;
    depth_ok(ctx, sv_filter_depth(&parsed))?;
    convert_filter(ctx, parsed)
}

/// `attr op "text"` with a plain attribute ([`plain_path`]) and a string without escapes: the
/// lookup IdPs send before every create (`userName eq "…"`, `externalId eq "…"`), read straight
/// from the tokens. `scim_v2`'s parser would give the same AST (the tests check it over every
/// shape this accepts) but costs a tenth of the CPU of a filtered GET, building its lexer's
/// automaton anew on every call (issue #10). Anything else: `None`, and `scim_v2` parses it.
fn simple_comparison(tokens: &[Token<'_>]) -> Option<Filter> {
    let [attr, op, value] = tokens else { return None };
    if value.kind != Kind::Str || !op.ws_before || !value.ws_before {
        return None;
    }
    let op = op.compare_op()?;
    let path = plain_path(attr)?;
    let text = value.text.strip_prefix('"')?.strip_suffix('"')?;
    if text.contains('\\') {
        return None;
    }
    Some(Filter::Compare { path, op, value: CompValue::String(text.to_string()) })
}

/// A word that is a plain attribute path, `attr` or `attr.sub` (no URN, no keyword), as
/// `scim_v2` would read it; `None` for anything else, which `scim_v2` then reads. The PATCH
/// paths IdPs send most (`active`, `name.givenName`) and the attribute of [`simple_comparison`].
fn plain_path(word: &Token<'_>) -> Option<AttrPath> {
    // Keywords as attribute names are left to scim_v2, whatever it makes of them.
    let keyword = |w: &str| {
        ["and", "or", "not", "pr", "true", "false", "null"].iter().any(|k| w.eq_ignore_ascii_case(k))
    };
    if word.kind != Kind::Word {
        return None;
    }
    let (name, sub) = match word.text.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (word.text, None),
    };
    let plain = |part: &str| is_attr_name(part) && !keyword(part);
    (plain(name) && sub.is_none_or(plain)).then(|| AttrPath {
        urn: None,
        name: name.to_string(),
        sub: sub.map(str::to_string),
    })
}

/// Parses a PATCH path (RFC 7644 §3.5.2).
pub(super) fn path(input: &str) -> ScimResult<PatchPath> {
    front_end(input, Mode::Path, |ctx| match ctx.tokens.as_slice() {
        [word] if let Some(plain) = plain_path(word) => Ok(PatchPath::Attr(plain)),
        _ => full_path(ctx),
    })
}

/// [`path`] through `scim_v2` always (the tests compare [`plain_path`] with it).
#[cfg(test)]
pub(super) fn path_through_scim_v2(input: &str) -> ScimResult<PatchPath> {
    front_end(input, Mode::Path, full_path)
}

/// Whether [`path`] reads `input` without `scim_v2` ([`plain_path`]).
#[cfg(test)]
pub(super) fn reads_as_plain_path(input: &str) -> bool {
    front_end(input, Mode::Path, |ctx| {
        Ok(matches!(ctx.tokens.as_slice(), [word] if plain_path(word).is_some()))
    })
    .unwrap_or(false)
}

fn full_path(ctx: &Ctx<'_>) -> Result<PatchPath, SyntaxError> {
    match ctx.norm.text.parse::<sv::PatchPath>().map_err(|e| describe(ctx, e))? {
        sv::PatchPath::Attr(a) => Ok(PatchPath::Attr(convert_path(a))),
        sv::PatchPath::Value(v) => {
            depth_ok(ctx, sv_val_depth(&v.filter) + 1)?;
            let path = value_path_attr(ctx, v.attr)?;
            let filter = convert_val(ctx, &path, v.filter)?;
            Ok(PatchPath::Filtered { path, filter, sub: v.sub_attr })
        }
    }
}

fn depth_ok(ctx: &Ctx<'_>, depth: usize) -> Result<(), SyntaxError> {
    if depth > MAX_FILTER_DEPTH {
        let msg = format!(
            "the {} nests deeper than {MAX_FILTER_DEPTH} levels (not, value paths, and/or groups)",
            ctx.noun()
        );
        return Err(SyntaxError::new(0, msg));
    }
    Ok(())
}

/// Nesting of a `scim_v2` filter: an attribute expression is 0; `not`, a value path and an
/// and/or chain (of any length) each add one.
fn sv_filter_depth(f: &sv::Filter) -> usize {
    match f {
        sv::Filter::Attr(_) => 0,
        sv::Filter::ValuePath(v) => 1 + sv_val_depth(&v.filter),
        sv::Filter::Not(inner) => 1 + sv_filter_depth(inner),
        sv::Filter::And(items) | sv::Filter::Or(items) => {
            1 + items.iter().map(sv_filter_depth).max().unwrap_or(0)
        }
    }
}

fn sv_val_depth(f: &sv::ValFilter) -> usize {
    match f {
        sv::ValFilter::Attr(_) => 0,
        sv::ValFilter::Not(inner) => 1 + sv_val_depth(inner),
        sv::ValFilter::And(items) | sv::ValFilter::Or(items) => {
            1 + items.iter().map(sv_val_depth).max().unwrap_or(0)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Error messages
// ---------------------------------------------------------------------------------------------

const OPERATORS: &str = "a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)";
const VALUE: &str = "a value (a quoted string, a number, true, false or null)";

/// Human phrases for LALRPOP's expected-terminal names.
fn expected_phrase(expected: &[String], mode: Mode) -> String {
    let has = |name: &str| expected.iter().any(|e| e.trim_matches('"') == name);
    let mut parts: Vec<&str> = Vec::new();
    if has("eq") || has("pr") {
        parts.push(OPERATORS);
    } else if has("[") {
        parts.push(match mode {
            Mode::Filter => "\"[\"",
            Mode::Path => "\"[\" or the end of the path",
        });
    }
    if has("StringLit") || has("NumberLit") {
        parts.push(VALUE);
    }
    if has("AttrNameTok") || has("AttrPathTok") {
        parts.push("an attribute name");
    }
    if has("not") {
        parts.push("\"not\"");
    }
    if has("(") {
        parts.push("\"(\"");
    }
    if has("and") || has("or") {
        parts.push("\"and\" or \"or\"");
    }
    for (name, phrase) in [(")", "\")\""), ("]", "\"]\""), (".", "\".\"")] {
        if has(name) {
            parts.push(phrase);
        }
    }
    match parts.len() {
        0 => "nothing more".to_string(),
        1 => parts[0].to_string(),
        n => format!("{}, or {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}

/// Describes a `scim_v2` parse error in terms of the client's input.
fn describe(ctx: &Ctx<'_>, e: sv::ParseError) -> SyntaxError {
    use scim_v2::filter::FilterActionError as A;
    let (at, expected) = match e {
        sv::ParseError::InvalidToken { location } => {
            let at = ctx.norm.original(location);
            let c = ctx.input.get(at..).and_then(|s| s.chars().next()).unwrap_or(' ');
            return SyntaxError::new(at, format!("unexpected character {c:?}"));
        }
        sv::ParseError::UnrecognizedEof { location, expected } => (ctx.norm.original(location), expected),
        sv::ParseError::UnrecognizedToken { token: (l, text, _), expected } => {
            let skip = text.len() - text.trim_start().len();
            (ctx.norm.original(l + skip), expected)
        }
        sv::ParseError::ExtraToken { token: (l, text, _) } => {
            let skip = text.len() - text.trim_start().len();
            (ctx.norm.original(l + skip), Vec::new())
        }
        sv::ParseError::User { error } => {
            return match error {
                A::InvalidAttrPath(p) => SyntaxError::new(
                    ctx.find_word(&p),
                    format!("attribute path {p:?} has more than one sub-attribute"),
                ),
                A::InvalidAttrName(p) => {
                    SyntaxError::new(ctx.find_word(&p), format!("{p:?} is not a valid attribute path"))
                }
                other => SyntaxError::new(0, other.to_string()),
            };
        }
    };
    let noun = ctx.noun();
    let Some(idx) = ctx.token_at(at) else {
        let after = ctx.tokens.last().map(|t| format!(" after {:?}", t.text)).unwrap_or_default();
        let msg = match ctx.tokens.last() {
            Some(t) if t.is_compare_op() => format!("missing value after {:?}", t.text),
            Some(t) if t.is_word("not") => format!("missing \"(\" after {:?}", t.text),
            _ => format!(
                "unexpected end of the {noun}{after}: expected {}",
                expected_phrase(&expected, ctx.mode)
            ),
        };
        return SyntaxError::new(ctx.input.len(), msg);
    };
    let found = ctx.tokens[idx];
    let prev = idx.checked_sub(1).map(|p| ctx.tokens[p]);
    let next = ctx.tokens.get(idx + 1);
    let after = prev.map(|p| format!(" after {:?}", p.text)).unwrap_or_default();
    let msg = if (found.is_word("and") || found.is_word("or")) && next.is_none() && prev.is_some() {
        format!("missing expression after {:?}", found.text)
    } else if found.is_compare_op() && next.is_none() && prev.is_some() {
        format!("missing value after {:?}", found.text)
    } else if found.is_compare_op() && next.is_some_and(|n| !n.ws_before) {
        format!("expected a space between {:?} and its value", found.text)
    } else if found.is_value() && prev.is_some_and(|p| p.is_word("pr")) {
        format!("unexpected value {:?}: \"pr\" takes no value", found.text)
    } else if ctx.mode == Mode::Filter
        && found.text.starts_with('.')
        && prev.is_some_and(|p| p.kind == Kind::RBracket)
    {
        format!(
            "{:?} after a value path must be followed by pr or a comparison, as in emails[type eq \"work\"].value eq \"x\"",
            found.text
        )
    } else if ctx.mode == Mode::Path
        && found.text.starts_with('.')
        && prev.is_some_and(|p| p.kind == Kind::RBracket)
    {
        format!(
            "{:?}: only one sub-attribute may follow a value filter, as in emails[type eq \"work\"].value",
            found.text
        )
    } else if ctx.mode == Mode::Path && expected.iter().all(|e| e == "\"[\"" || e == "\".\"") {
        format!(
            "unexpected {:?}{after}: a PATCH path is attr, attr.sub, urn:attr, attr[filter] or attr[filter].sub",
            found.text
        )
    } else {
        let hint = if found.kind == Kind::Word && expected.iter().any(|e| e == "StringLit") {
            " (strings must be in double quotes)"
        } else {
            ""
        };
        format!("expected {}{after}, found {:?}{hint}", expected_phrase(&expected, ctx.mode), found.text)
    };
    SyntaxError::new(found.start, msg)
}

// ---------------------------------------------------------------------------------------------
// Conversion
// ---------------------------------------------------------------------------------------------

fn convert_path(p: sv::AttrPath) -> AttrPath {
    AttrPath { urn: p.uri, name: p.name, sub: p.sub_attr }
}

fn convert_op(op: sv::CompareOp) -> CompareOp {
    match op {
        sv::CompareOp::Eq => CompareOp::Eq,
        sv::CompareOp::Ne => CompareOp::Ne,
        sv::CompareOp::Co => CompareOp::Co,
        sv::CompareOp::Sw => CompareOp::Sw,
        sv::CompareOp::Ew => CompareOp::Ew,
        sv::CompareOp::Gt => CompareOp::Gt,
        sv::CompareOp::Ge => CompareOp::Ge,
        sv::CompareOp::Lt => CompareOp::Lt,
        sv::CompareOp::Le => CompareOp::Le,
    }
}

fn convert_value(ctx: &Ctx<'_>, v: sv::CompValue) -> CompValue {
    match v {
        sv::CompValue::False => CompValue::Bool(false),
        sv::CompValue::True => CompValue::Bool(true),
        sv::CompValue::Null => CompValue::Null,
        sv::CompValue::Number(n) => CompValue::Number(number(ctx, n)),
        sv::CompValue::Str(s) => CompValue::String(s),
    }
}

/// `serde_json` (without its `float_roundtrip` feature) may parse a decimal one ulp off, so
/// `Display` → parse would drift. Decimals are re-parsed from the literal with the correctly
/// rounding `str::parse::<f64>`. The conversion meets the numbers in text order, the same
/// order as the number tokens.
fn number(ctx: &Ctx<'_>, parsed: Number) -> Number {
    let i = ctx.next_number.get();
    ctx.next_number.set(i + 1);
    match ctx.numbers.get(i) {
        Some(text) if text.contains(['.', 'e', 'E']) => match (text.parse::<f64>(), parsed.as_f64()) {
            // Same value up to rounding: the literal really is this number.
            (Ok(exact), Some(approx)) if (exact - approx).abs() <= approx.abs() * 1e-12 => {
                Number::from_f64(exact).unwrap_or(parsed)
            }
            _ => parsed,
        },
        _ => parsed,
    }
}

/// An attribute expression; `parent` is set inside a value path, whose paths must be plain
/// sub-attribute names.
fn convert_attr(ctx: &Ctx<'_>, parent: Option<&AttrPath>, e: sv::AttrExp) -> Result<Filter, SyntaxError> {
    let (path, rest) = match e {
        sv::AttrExp::Present(p) => (p, None),
        sv::AttrExp::Comparison(p, op, v) => (p, Some((convert_op(op), convert_value(ctx, v)))),
    };
    let path = convert_path(path);
    if let Some(parent) = parent {
        if path.urn.is_some() || path.sub.is_some() {
            let msg = format!(
                "inside {parent}[...], name a sub-attribute of {parent} (such as \"value\"), not {:?}",
                path.to_string()
            );
            return Err(SyntaxError::new(ctx.find_word(&path.to_string()), msg));
        }
    }
    Ok(match rest {
        None => Filter::Present(path),
        Some((op, value)) => Filter::Compare { path, op, value },
    })
}

/// The attribute of a value path: it must not have a sub-attribute.
fn value_path_attr(ctx: &Ctx<'_>, attr: sv::AttrPath) -> Result<AttrPath, SyntaxError> {
    let path = convert_path(attr);
    if path.sub.is_some() {
        let text = path.to_string();
        let msg = format!("{text:?} has a sub-attribute; a value filter applies to a multi-valued attribute");
        return Err(SyntaxError::new(ctx.find_word(&text), msg));
    }
    Ok(path)
}

/// Folds an n-ary chain into a left-deep binary tree (`a and b and c` = `(a and b) and c`).
fn chain(items: Vec<Filter>, join: fn(Box<Filter>, Box<Filter>) -> Filter) -> Result<Filter, SyntaxError> {
    items
        .into_iter()
        .reduce(|acc, f| join(Box::new(acc), Box::new(f)))
        .ok_or_else(|| SyntaxError::new(0, "an and/or without operands"))
}

fn convert_filter(ctx: &Ctx<'_>, f: sv::Filter) -> Result<Filter, SyntaxError> {
    Ok(match f {
        sv::Filter::Attr(e) => convert_attr(ctx, None, e)?,
        sv::Filter::ValuePath(v) => {
            let path = value_path_attr(ctx, v.attr)?;
            let filter = convert_val(ctx, &path, *v.filter)?;
            Filter::ValuePath { path, filter: Box::new(filter) }
        }
        sv::Filter::Not(inner) => Filter::Not(Box::new(convert_filter(ctx, *inner)?)),
        sv::Filter::And(items) => {
            chain(items.into_iter().map(|f| convert_filter(ctx, f)).collect::<Result<_, _>>()?, Filter::And)?
        }
        sv::Filter::Or(items) => {
            chain(items.into_iter().map(|f| convert_filter(ctx, f)).collect::<Result<_, _>>()?, Filter::Or)?
        }
    })
}

fn convert_val(ctx: &Ctx<'_>, parent: &AttrPath, f: sv::ValFilter) -> Result<Filter, SyntaxError> {
    Ok(match f {
        sv::ValFilter::Attr(e) => convert_attr(ctx, Some(parent), e)?,
        sv::ValFilter::Not(inner) => Filter::Not(Box::new(convert_val(ctx, parent, *inner)?)),
        sv::ValFilter::And(items) => chain(
            items.into_iter().map(|f| convert_val(ctx, parent, f)).collect::<Result<_, _>>()?,
            Filter::And,
        )?,
        sv::ValFilter::Or(items) => chain(
            items.into_iter().map(|f| convert_val(ctx, parent, f)).collect::<Result<_, _>>()?,
            Filter::Or,
        )?,
    })
}
