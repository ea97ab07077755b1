//! Text at the edges: what PostgreSQL can store, and client input quoted back in messages.
//!
//! PostgreSQL `text` and `jsonb` hold any Unicode scalar value except U+0000 (NUL): a NUL in a
//! bound parameter is an encoding error, and `\u0000` in `jsonb` is "unsupported". Rust strings
//! cannot hold anything else PostgreSQL rejects (unpaired surrogates never get past UTF-8
//! decoding), so [`first_unstorable`] looks for NUL only. Input is checked with it at the
//! boundary (schema validation, filter literals, import cells) so that the database never sees
//! such a value; text Roster writes on its own account (the provisioning log) is escaped with
//! [`storable`] instead.
//!
//! [`excerpt`] bounds whatever of the client's input an error detail quotes.

use std::borrow::Cow;

/// How many characters of a client's value an error detail quotes at most.
pub const EXCERPT_CHARS: usize = 40;

/// The 1-based character position of the first character PostgreSQL text cannot hold (NUL).
pub fn first_unstorable(s: &str) -> Option<usize> {
    if !s.contains('\0') {
        return None;
    }
    s.chars().position(|c| c == '\0').map(|i| i + 1)
}

/// `text` cut to at most `max` characters, marked with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some(_) => {
            let kept: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{kept}…")
        }
    }
}

/// `text` with NUL and other control characters (except tab and line breaks) written as
/// `\u{…}` escapes, so that it can be stored and read.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    let needs = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs(c) {
            out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` made storable in a column of at most `max` characters: control characters escaped
/// (see [`escape_controls`]), then cut with a `…` marker.
pub fn storable(text: &str, max: usize) -> String {
    truncate(&escape_controls(text), max)
}

/// A client's value as an error detail may quote it: control characters escaped and at most
/// [`EXCERPT_CHARS`] characters, with `…` when cut, and the length when it was cut.
pub fn excerpt(text: &str) -> String {
    let n = text.chars().count();
    let short = storable(text, EXCERPT_CHARS);
    if n > EXCERPT_CHARS {
        format!("{short} ({n} characters)")
    } else {
        short
    }
}

/// [`excerpt`] in double quotes, with Rust's escapes (`"Oslo"`, `"a\u{0}b"`), for details that
/// quote a value among other words.
pub fn quote(text: &str) -> String {
    let n = text.chars().count();
    let quoted = format!("{:?}", truncate(text, EXCERPT_CHARS));
    if n > EXCERPT_CHARS {
        format!("{quoted} ({n} characters)")
    } else {
        quoted
    }
}

/// The JSON pointer of the first string (value or key) in `value` that holds NUL, if any:
/// for documents whose strings are stored as they are (admin API bodies, mapping files).
pub fn first_unstorable_in_json(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match value {
        Value::String(s) => first_unstorable(s).map(|_| String::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_unstorable_in_json(v).map(|p| format!("/{i}{p}"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if first_unstorable(k).is_some() {
                return Some(format!("/{}", excerpt(&escape(k))));
            }
            first_unstorable_in_json(v).map(|p| format!("/{}{p}", excerpt(&escape(k))))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_by_character_position() {
        assert_eq!(first_unstorable("abc"), None);
        assert_eq!(first_unstorable("\0"), Some(1));
        assert_eq!(first_unstorable("æø\0x\0"), Some(3));
        assert_eq!(first_unstorable(""), None);
    }

    #[test]
    fn truncation_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ææææ", 2), "æ…");
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn storable_text_has_no_nul_and_fits() {
        for (input, max, want) in [
            ("plain", 10, "plain"),
            ("a\0b", 10, "a\\u{0000}b"),
            ("tab\tand\nline", 20, "tab\tand\nline"),
            ("bell\u{7}", 20, "bell\\u{0007}"),
            ("\0\0\0\0", 8, "\\u{0000…"),
        ] {
            let got = storable(input, max);
            assert_eq!(got, want, "{input:?}");
            assert!(!got.contains('\0'));
            assert!(got.chars().count() <= max);
        }
    }

    #[test]
    fn excerpts_are_short_and_say_how_long_the_value_was() {
        assert_eq!(excerpt("bjensen"), "bjensen");
        let long = excerpt(&"x".repeat(100_000));
        assert!(long.chars().count() < 70, "{long}");
        assert!(long.ends_with("… (100000 characters)"), "{long}");
        assert_eq!(excerpt("a\0"), "a\\u{0000}");
        assert_eq!(quote("Oslo"), "\"Oslo\"");
        assert_eq!(quote("a\0"), "\"a\\0\"");
        assert!(quote(&"y".repeat(5000)).ends_with("…\" (5000 characters)"));
    }

    #[test]
    fn nul_is_found_anywhere_in_a_json_document() {
        use serde_json::json;
        assert_eq!(first_unstorable_in_json(&json!({"a": [1, "x", {"b": "\u{0}"}]})), Some("/a/2/b".into()));
        assert_eq!(first_unstorable_in_json(&json!({"k\u{0}": 1})), Some("/k\\u{0000}".into()));
        assert_eq!(first_unstorable_in_json(&json!("\u{0}")), Some(String::new()));
        assert_eq!(first_unstorable_in_json(&json!({"a/b": ["ok", null, true]})), None);
    }
}
