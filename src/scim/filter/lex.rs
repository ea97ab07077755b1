//! A small tokeniser in front of `scim_v2`'s parser.
//!
//! It checks what `scim_v2` reports badly or not at all (string literals, unbalanced or over-deep
//! brackets, nested value paths, numbers out of range) with exact positions, and rewrites the
//! input into text `scim_v2` accepts: `not(` gets its space, `TRUE`/`False`/`NULL` values are
//! lower-cased, `)and(` gets its spaces, and the IdP form `emails[type eq "work"].value eq "x"`
//! becomes `emails[(type eq "work") and value eq "x"]`. Every byte of the rewritten text maps
//! back to a byte of the input so that errors from `scim_v2` name a position in what the client
//! sent.

use super::{CompareOp, MAX_FILTER_DEPTH};

/// What is being parsed: the rules differ slightly (the IdP form exists only in filters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// A `filter` query parameter.
    Filter,
    /// A PATCH `path`.
    Path,
}

/// A syntax error at a byte offset of the input.
#[derive(Debug)]
pub(super) struct SyntaxError {
    /// Byte offset into the original input.
    pub at: usize,
    /// What is wrong.
    pub msg: String,
}

impl SyntaxError {
    pub(super) fn new(at: usize, msg: impl Into<String>) -> Self {
        SyntaxError { at, msg: msg.into() }
    }
}

/// Token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Open,
    Close,
    LBracket,
    RBracket,
    /// A complete, valid JSON string literal (quotes included).
    Str,
    /// A run of name/number characters: attribute paths, keywords, operators, numbers.
    Word,
}

/// One token of the input.
#[derive(Debug, Clone, Copy)]
pub(super) struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
    /// Byte offset of the first character.
    pub start: usize,
    /// Whether whitespace precedes the token.
    pub ws_before: bool,
}

impl Token<'_> {
    pub(super) fn end(&self) -> usize {
        self.start + self.text.len()
    }
    /// A word equal to `kw`, ASCII case-insensitively.
    pub(super) fn is_word(&self, kw: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(kw)
    }
    /// The comparison operator this word is (`eq` … `le`, not `pr`).
    pub(super) fn compare_op(&self) -> Option<CompareOp> {
        CompareOp::ALL.into_iter().find(|op| self.is_word(op.keyword()))
    }
    /// A comparison operator word (`eq` … `le`, not `pr`).
    pub(super) fn is_compare_op(&self) -> bool {
        self.compare_op().is_some()
    }
    /// Something that can be a comparison value.
    pub(super) fn is_value(&self) -> bool {
        match self.kind {
            Kind::Str => true,
            Kind::Word => {
                self.text.starts_with(|c: char| c.is_ascii_digit() || c == '-')
                    || ["true", "false", "null"].iter().any(|k| self.is_word(k))
            }
            _ => false,
        }
    }
}

/// Whether token `i` is a number in value position (right after a comparison operator).
pub(super) fn is_number_literal(tokens: &[Token<'_>], i: usize) -> bool {
    let t = tokens[i];
    i > 0
        && tokens[i - 1].is_compare_op()
        && t.kind == Kind::Word
        && t.is_value()
        && !["true", "false", "null"].iter().any(|k| t.is_word(k))
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '+' | '$')
}

/// Splits `input` into tokens, validating string literals.
pub(super) fn tokenize(input: &str) -> Result<Vec<Token<'_>>, SyntaxError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    let mut ws_before = false;
    while let Some((start, c)) = chars.next() {
        let kind = match c {
            c if c.is_whitespace() => {
                ws_before = true;
                continue;
            }
            '(' => Kind::Open,
            ')' => Kind::Close,
            '[' => Kind::LBracket,
            ']' => Kind::RBracket,
            '"' => Kind::Str,
            c if is_word_char(c) => Kind::Word,
            other => return Err(SyntaxError::new(start, format!("unexpected character {other:?}"))),
        };
        let mut end = start + c.len_utf8();
        match kind {
            Kind::Str => {
                let mut escaped = false;
                let mut closed = false;
                for (i, c) in chars.by_ref() {
                    end = i + c.len_utf8();
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            closed = true;
                            break;
                        }
                        _ => {}
                    }
                }
                if !closed {
                    return Err(SyntaxError::new(start, "unterminated string (no closing '\"')"));
                }
                match serde_json::from_str::<String>(&input[start..end]) {
                    Err(e) => {
                        return Err(SyntaxError::new(
                            start,
                            format!("invalid string literal: {}", serde_msg(&e)),
                        ))
                    }
                    Ok(value) if crate::text::first_unstorable(&value).is_some() => {
                        return Err(unstorable_literal(&tokens, start))
                    }
                    Ok(_) => {}
                }
            }
            Kind::Word => {
                while let Some(&(i, c)) = chars.peek() {
                    if !is_word_char(c) {
                        break;
                    }
                    end = i + c.len_utf8();
                    chars.next();
                }
            }
            _ => {}
        }
        tokens.push(Token { kind, text: &input[start..end], start, ws_before });
        ws_before = false;
    }
    Ok(tokens)
}

/// A string literal holding `\u0000` (NUL), which no attribute can hold and PostgreSQL cannot
/// compare: the error names the attribute it is compared with (`userName eq "a\u0000"`).
fn unstorable_literal(before: &[Token<'_>], at: usize) -> SyntaxError {
    let attribute = match before {
        [.., attr, op] if op.is_compare_op() && attr.kind == Kind::Word => {
            format!(" compared with {}", crate::text::excerpt(attr.text.trim_start_matches('.')))
        }
        _ => String::new(),
    };
    SyntaxError::new(
        at,
        format!("the string{attribute} contains the character U+0000 (NUL), which no value can hold"),
    )
}

/// serde_json's message without its "at line 1 column N" suffix (positions are ours).
fn serde_msg(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Checks brackets (balance, depth, no value path inside a value path) and numbers in value
/// position. Returns, for each token, the index of its matching bracket (if it is one).
pub(super) fn check(tokens: &[Token<'_>], input_len: usize) -> Result<Vec<Option<usize>>, SyntaxError> {
    let mut matching = vec![None; tokens.len()];
    let mut stack: Vec<usize> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            Kind::Open | Kind::LBracket => {
                if t.kind == Kind::LBracket && stack.iter().any(|&o| tokens[o].kind == Kind::LBracket) {
                    return Err(SyntaxError::new(
                        t.start,
                        "a value path cannot be nested inside another value path",
                    ));
                }
                if stack.len() >= MAX_FILTER_DEPTH {
                    return Err(SyntaxError::new(
                        t.start,
                        format!("brackets nest deeper than {MAX_FILTER_DEPTH} levels"),
                    ));
                }
                stack.push(i);
            }
            Kind::Close | Kind::RBracket => {
                let (want, name) =
                    if t.kind == Kind::Close { (Kind::Open, "(") } else { (Kind::LBracket, "[") };
                match stack.pop() {
                    Some(o) if tokens[o].kind == want => {
                        matching[o] = Some(i);
                        matching[i] = Some(o);
                    }
                    Some(o) => {
                        return Err(SyntaxError::new(
                            t.start,
                            format!(
                                "unbalanced {:?}: the innermost open bracket is {:?}",
                                t.text, tokens[o].text
                            ),
                        ))
                    }
                    None => {
                        return Err(SyntaxError::new(
                            t.start,
                            format!("unbalanced {:?}: no {name:?} is open", t.text),
                        ))
                    }
                }
            }
            Kind::Word if is_number_literal(tokens, i) => {
                if let Err(e) = serde_json::from_str::<serde_json::Number>(t.text) {
                    return Err(SyntaxError::new(
                        t.start,
                        format!("invalid number {:?}: {}", t.text, serde_msg(&e)),
                    ));
                }
            }
            _ => {}
        }
    }
    match stack.last() {
        Some(&o) => Err(SyntaxError::new(
            tokens[o].start,
            format!("unbalanced {:?}: it is never closed", tokens[o].text),
        )),
        None if tokens.is_empty() => Err(SyntaxError::new(input_len, "the expression is empty")),
        None => Ok(matching),
    }
}

/// The rewritten text and, for each of its bytes (plus one past the end), the byte offset in
/// the input it came from.
pub(super) struct Normalized {
    pub text: String,
    pub map: Vec<usize>,
}

impl Normalized {
    fn push(&mut self, s: &str, from: usize, contiguous: bool) {
        for (i, _) in s.bytes().enumerate() {
            self.map.push(if contiguous { from + i } else { from });
        }
        self.text.push_str(s);
    }
    /// The input offset of a byte offset in `text`.
    pub(super) fn original(&self, at: usize) -> usize {
        self.map.get(at).or(self.map.last()).copied().unwrap_or(0)
    }
}

/// For a `]` at `close`, the last token of `.sub pr` / `.sub op value` right after it (IdP form).
fn idp_suffix_end(tokens: &[Token<'_>], close: usize) -> Option<usize> {
    let sub = tokens.get(close + 1)?;
    let name = sub.text.strip_prefix('.')?;
    if sub.kind != Kind::Word || sub.ws_before || !super::parse::is_attr_name(name) {
        return None;
    }
    let op = tokens.get(close + 2)?;
    if op.is_word("pr") && op.ws_before {
        return Some(close + 2);
    }
    let value = tokens.get(close + 3)?;
    (op.is_compare_op() && op.ws_before && value.ws_before && value.is_value()).then_some(close + 3)
}

/// Rewrites the tokens into text `scim_v2` parses (see the module documentation).
pub(super) fn normalize(
    tokens: &[Token<'_>],
    matching: &[Option<usize>],
    mode: Mode,
    input_len: usize,
) -> Normalized {
    let mut out = Normalized { text: String::new(), map: Vec::new() };
    // For each `[` of an IdP-form value path, the `]`; for that `]`, the end of the suffix.
    let mut idp_end = vec![None; tokens.len()];
    let mut idp_open = vec![false; tokens.len()];
    if mode == Mode::Filter {
        for (i, t) in tokens.iter().enumerate() {
            if let (Kind::RBracket, Some(open)) = (t.kind, matching[i]) {
                if let Some(end) = idp_suffix_end(tokens, i) {
                    idp_end[i] = Some(end);
                    idp_open[open] = true;
                }
            }
        }
    }
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        let prev = i.checked_sub(1).map(|p| tokens[p]);
        let glued_keyword = match prev {
            Some(p) if !t.ws_before => {
                (matches!(p.kind, Kind::Close | Kind::RBracket | Kind::Str)
                    && (t.is_word("and") || t.is_word("or")))
                    || (t.kind == Kind::Open && (p.is_word("and") || p.is_word("or") || p.is_word("not")))
            }
            _ => false,
        };
        if (t.ws_before || glued_keyword) && !out.text.is_empty() {
            out.push(" ", t.start, false);
        }
        if t.kind == Kind::Word && prev.is_some_and(|p| p.is_compare_op()) && t.is_value() {
            out.push(&t.text.to_ascii_lowercase(), t.start, true);
        } else if idp_open[i] {
            out.push("[(", t.start, false);
        } else if let Some(end) = idp_end[i] {
            let sub = tokens[i + 1];
            out.push(") and ", sub.start, false);
            out.push(&sub.text[1..], sub.start + 1, true);
            for (k, t) in tokens.iter().enumerate().take(end + 1).skip(i + 2) {
                out.push(" ", t.start, false);
                let lower = t.is_value() && tokens[k - 1].is_compare_op() && t.kind == Kind::Word;
                let text = if lower { t.text.to_ascii_lowercase() } else { t.text.to_string() };
                out.push(&text, t.start, true);
            }
            out.push("]", tokens[end].end(), false);
            i = end + 1;
            continue;
        } else {
            out.push(t.text, t.start, true);
        }
        i += 1;
    }
    out.map.push(input_len);
    out
}
