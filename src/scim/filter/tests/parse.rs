//! Table-driven parsing tests: RFC 7644 §3.4.2.2 examples, IdP filters, rejections, PATCH paths.

use super::*;
use CompareOp::*;

#[test]
fn rfc_7644_examples() {
    let emails_co = || cmp(p("emails"), Co, s("example.com"));
    let emails_value_co = || cmp(ps("emails", "value"), Co, s("example.org"));
    let work_example = || and(eq(p("type"), "work"), cmp(p("value"), Co, s("@example.com")));
    let table: Vec<(&str, Filter)> = vec![
        (r#"userName eq "bjensen""#, eq(p("userName"), "bjensen")),
        (r#"name.familyName co "O'Malley""#, cmp(ps("name", "familyName"), Co, s("O'Malley"))),
        (r#"userName sw "J""#, cmp(p("userName"), Sw, s("J"))),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            cmp(pu(CORE_USER, "userName", None), Sw, s("J")),
        ),
        ("title pr", pr(p("title"))),
        (
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            cmp(ps("meta", "lastModified"), Gt, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            cmp(ps("meta", "lastModified"), Ge, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            cmp(ps("meta", "lastModified"), Lt, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            cmp(ps("meta", "lastModified"), Le, s("2011-05-13T04:42:34Z")),
        ),
        (r#"title pr and userType eq "Employee""#, and(pr(p("title")), eq(p("userType"), "Employee"))),
        (r#"title pr or userType eq "Intern""#, or(pr(p("title")), eq(p("userType"), "Intern"))),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            eq(p("schemas"), ENTERPRISE),
        ),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            and(eq(p("userType"), "Employee"), or(emails_co(), emails_value_co())),
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            and(cmp(p("userType"), Ne, s("Employee")), not(or(emails_co(), emails_value_co()))),
        ),
        (
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            and(eq(p("userType"), "Employee"), eq(ps("emails", "type"), "work")),
        ),
        (
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            and(eq(p("userType"), "Employee"), vp(p("emails"), work_example())),
        ),
        (
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            or(
                vp(p("emails"), work_example()),
                vp(p("ims"), and(eq(p("type"), "xmpp"), cmp(p("value"), Co, s("@foo.com")))),
            ),
        ),
    ];
    for (input, want) in table {
        assert_eq!(parse_ok(input), want, "{input}");
    }
}

#[test]
fn idp_filters() {
    let table: Vec<(&str, Filter)> = vec![
        (r#"externalId eq "00u1abcd2EFGH3ijk4l5""#, eq(p("externalId"), "00u1abcd2EFGH3ijk4l5")),
        (
            r#"id eq "G" and members[value eq "U"]"#,
            and(eq(p("id"), "G"), vp(p("members"), eq(p("value"), "U"))),
        ),
        (
            r#"emails[type eq "work"].value eq "x""#,
            vp(p("emails"), and(eq(p("type"), "work"), eq(p("value"), "x"))),
        ),
        (r#"emails[type eq "work"].value pr"#, vp(p("emails"), and(eq(p("type"), "work"), pr(p("value"))))),
        (
            r#"emails[type eq "work"].value co "@example.com" and active eq true"#,
            and(
                vp(p("emails"), and(eq(p("type"), "work"), cmp(p("value"), Co, s("@example.com")))),
                cmp(p("active"), Eq, CompValue::Bool(true)),
            ),
        ),
        (
            r#"userName eq "a" or emails[type eq "work" or type eq "home"].value ew ".org""#,
            or(
                eq(p("userName"), "a"),
                vp(
                    p("emails"),
                    and(or(eq(p("type"), "work"), eq(p("type"), "home")), cmp(p("value"), Ew, s(".org"))),
                ),
            ),
        ),
        (
            r#"not (emails[type eq "work"].value eq "x")"#,
            not(vp(p("emails"), and(eq(p("type"), "work"), eq(p("value"), "x")))),
        ),
        (r#"userName EQ "x""#, eq(p("userName"), "x")),
        (r#"UserName Eq "x" AND Title PR"#, and(eq(p("UserName"), "x"), pr(p("Title")))),
        (r#"NOT(userName eq "x")"#, not(eq(p("userName"), "x"))),
        (r#"not(userName eq "x") Or not (title pr)"#, or(not(eq(p("userName"), "x")), not(pr(p("title"))))),
        (r#"(userName eq "x")and(title pr)"#, and(eq(p("userName"), "x"), pr(p("title")))),
        ("active eq TRUE", cmp(p("active"), Eq, CompValue::Bool(true))),
        ("active eq False", cmp(p("active"), Eq, CompValue::Bool(false))),
        ("title eq NULL", cmp(p("title"), Eq, CompValue::Null)),
        (r#"  userName eq "x"  "#, eq(p("userName"), "x")),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1""#,
            eq(pu(ENTERPRISE, "manager", Some("value")), "m1"),
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
            eq(pu(ENTERPRISE, "employeeNumber", None), "701984"),
        ),
    ];
    for (input, want) in table {
        assert_eq!(parse_ok(input), want, "{input}");
    }
}

#[test]
fn literals() {
    let num = |text: &str| -> CompValue { CompValue::Number(serde_json::from_str(text).unwrap()) };
    let table: Vec<(&str, CompValue)> = vec![
        (r#""a\"b""#, s("a\"b")),
        (r#""a\\b""#, s("a\\b")),
        (r#""\u00e9t\u00E9""#, s("été")),
        (r#""tab\there""#, s("tab\there")),
        (r#""""#, s("")),
        ("42", num("42")),
        ("-7", num("-7")),
        ("3.25", num("3.25")),
        ("1.5e3", num("1500.0")),
        ("2E-2", num("0.02")),
        ("true", CompValue::Bool(true)),
        ("false", CompValue::Bool(false)),
        ("null", CompValue::Null),
    ];
    for (lit, want) in table {
        let input = format!("x eq {lit}");
        assert_eq!(parse_ok(&input), cmp(p("x"), Eq, want), "{input}");
    }
}

#[test]
fn precedence_and_shape() {
    let (a, b, c, d) = (|| pr(p("a")), || pr(p("b")), || pr(p("c")), || pr(p("d")));
    assert_eq!(parse_ok("a pr and b pr or c pr and d pr"), or(and(a(), b()), and(c(), d())));
    assert_eq!(parse_ok("a pr or b pr and c pr"), or(a(), and(b(), c())));
    assert_eq!(parse_ok("(a pr or b pr) and c pr"), and(or(a(), b()), c()));
    // Chains are left-deep whatever the grouping of the same operator.
    assert_eq!(parse_ok("a pr and b pr and c pr"), and(and(a(), b()), c()));
    assert_eq!(parse_ok("a pr and (b pr and c pr)"), and(and(a(), b()), c()));
    assert_eq!(parse_ok("not (not (a pr))"), not(not(a())));
    assert_eq!(parse_ok("((a pr))"), a());
    // A long flat chain is one level of nesting.
    let ids: Vec<String> = (0..200).map(|i| format!("id eq \"{i}\"")).collect();
    assert!(parse_filter(&ids.join(" or ")).is_ok());
}

#[test]
fn canonical_text() {
    let table = [
        (
            r#"userName EQ "x" AND (title PR OR NOT(active eq TRUE))"#,
            r#"userName eq "x" and (title pr or not (active eq true))"#,
        ),
        (r#"a eq "q\"uote\\back""#, r#"a eq "q\"uote\\back""#),
        (r#"emails[type eq "work"].value eq "x""#, r#"emails[type eq "work" and value eq "x"]"#),
        (r#"a eq "\u0001""#, r#"a eq "\u0001""#),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr",
        ),
    ];
    for (input, want) in table {
        assert_eq!(parse_ok(input).to_string(), want, "{input}");
    }
}

#[test]
fn rejected_filters() {
    let long = format!("userName eq \"{}\"", "x".repeat(MAX_FILTER_LEN));
    let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
    let table: Vec<(&str, &str)> = vec![
        ("", "empty"),
        ("   ", "empty"),
        (r#"userName eq "bjensen"#, "position 13: unterminated string"),
        (r#"userName like "x""#, "position 10: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after \"userName\""),
        ("userName eq", "missing value"),
        ("userName eq ", "missing value"),
        ("userName", "position 9"),
        (r#"userName eq "x" garbage"#, "position 17"),
        (r#"userName eq "x")"#, "position 16: unbalanced \")\""),
        (r#"(userName eq "x""#, "position 1: unbalanced \"(\""),
        (r#"emails[type eq "work""#, "position 7: unbalanced \"[\""),
        (r#"emails[type eq "work")"#, "unbalanced"),
        (r#"emails[type eq "work"]]"#, "unbalanced"),
        (r#"emails[value[type eq "x"] pr]"#, "nested inside another value path"),
        (r#"title pr "x""#, "takes no value"),
        (r#"userName eq bjensen"#, "double quotes"),
        (r#"userName eq 'x'"#, "position 13: unexpected character"),
        (r#"userName eq "\q""#, "invalid string literal"),
        ("a eq 1e999", "invalid number"),
        ("a eq 01", "position"),
        ("a.b.c pr", "more than one sub-attribute"),
        ("1abc pr", "position 1"),
        (r#"emails.value[type eq "x"]"#, "has a sub-attribute"),
        (r#"emails[type.x eq "x"]"#, "sub-attribute"),
        (r#"emails[type eq "work"].value"#, "must be followed by pr or a comparison"),
        (r#"emails[type eq "work"].value.x eq "y""#, "position 23"),
        ("not title pr", "\"(\""),
        ("a pr and", "missing expression after \"and\""),
        ("a pr or or b pr", "position"),
        ("and", "position"),
        ("()", "position 2"),
        ("a pr ) (", "unbalanced"),
        ("a eq \"x\" and (b pr", "unbalanced"),
        (&long, "longer than 4096"),
        (&deep, "deeper than 32"),
        (r#"userName eq "a\u0000""#, "position 13: the string compared with userName contains the character U+0000"),
        (r#"title pr and emails[value co "\u0000"]"#, "position 30: the string compared with value contains"),
        (r#"emails[type eq "work"].value sw "x\u0000y""#, "compared with value contains the character U+0000"),
        ("userName eq \"a\0\"", "invalid string literal: control character"),
    ];
    for (input, fragment) in table {
        let detail = filter_err(input);
        assert!(detail.contains(fragment), "{input:?}: {detail:?} should contain {fragment:?}");
    }
}

#[test]
fn depth_limits() {
    let nested = |n: usize| format!("{}a pr{}", "not (".repeat(n), ")".repeat(n));
    assert!(parse_filter(&nested(MAX_FILTER_DEPTH)).is_ok());
    filter_err(&nested(MAX_FILTER_DEPTH + 1));
    let parens = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    assert!(parse_filter(&parens(MAX_FILTER_DEPTH)).is_ok());
    filter_err(&parens(MAX_FILTER_DEPTH + 1));
    // Groups that alternate and/or: each chain is a level.
    let alternating = |inner: &str| {
        let mut text = inner.to_string();
        for i in 0..MAX_FILTER_DEPTH {
            let op = if i % 2 == 0 { "and" } else { "or" };
            text = format!("b pr {op} ({text})");
        }
        text
    };
    assert!(parse_filter(&alternating("a pr")).is_ok());
    assert!(filter_err(&alternating("a pr or c pr")).contains("nests deeper than 32"));
}

#[test]
fn positions_are_one_based_characters() {
    // "é" is two bytes but one character.
    let detail = filter_err(r#"displayName eq "é" oops"#);
    assert!(detail.contains("position 20:"), "{detail}");
    let detail = filter_err("x");
    assert!(detail.contains("position 2:"), "{detail}");
}

#[test]
fn patch_paths() {
    let table: Vec<(&str, PatchPath)> = vec![
        ("members", PatchPath::Attr(p("members"))),
        ("name.familyName", PatchPath::Attr(ps("name", "familyName"))),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            PatchPath::Attr(pu(ENTERPRISE, "employeeNumber", None)),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            PatchPath::Attr(pu(ENTERPRISE, "manager", None)),
        ),
        (
            r#"emails[type eq "work"]"#,
            PatchPath::Filtered { path: p("emails"), filter: eq(p("type"), "work"), sub: None },
        ),
        (
            r#"emails[type eq "work"].value"#,
            PatchPath::Filtered {
                path: p("emails"),
                filter: eq(p("type"), "work"),
                sub: Some("value".into()),
            },
        ),
        (
            r#"addresses[type eq "work"].streetAddress"#,
            PatchPath::Filtered {
                path: p("addresses"),
                filter: eq(p("type"), "work"),
                sub: Some("streetAddress".into()),
            },
        ),
        (
            r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
            PatchPath::Filtered {
                path: p("members"),
                filter: eq(p("value"), "2819c223-7f76-453a-919d-413861904646"),
                sub: None,
            },
        ),
        (
            r#"emails[type eq "work" and not(primary eq TRUE)]"#,
            PatchPath::Filtered {
                path: p("emails"),
                filter: and(
                    eq(p("type"), "work"),
                    not(cmp(p("primary"), CompareOp::Eq, CompValue::Bool(true))),
                ),
                sub: None,
            },
        ),
    ];
    for (input, want) in table {
        let got = parse_path(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(got, want, "{input}");
        assert_eq!(parse_path(&got.to_string()).ok(), Some(got), "round trip of {input}");
    }
}

#[test]
fn rejected_paths() {
    let table = [
        (r#"emails[type eq "work"].value.x"#, "only one sub-attribute"),
        ("", "empty"),
        (r#"userName eq "x""#, "position 10"),
        (r#"emails[type eq "work"] and title pr"#, "position 24"),
        ("title pr", "position"),
        ("name.familyName.x", "more than one sub-attribute"),
        (r#"emails[type eq "work""#, "unbalanced"),
        (r#"emails[type eq "work"]."#, "position"),
        (r#"emails[value[type eq "x"] pr]"#, "nested"),
        (r#"emails.value[type eq "x"]"#, "sub-attribute"),
        ("(members)", "position 1"),
        (
            r#"emails[value eq "\u0000"]"#,
            "position 17: the string compared with value contains the character U+0000",
        ),
    ];
    for (input, fragment) in table {
        let detail = path_err(input);
        assert!(detail.contains(fragment), "{input:?}: {detail:?} should contain {fragment:?}");
        assert!(detail.starts_with("invalid path at position "), "{detail}");
    }
}

/// The lookups IdPs send (`attr op "text"`) are read without `scim_v2`; over every shape that
/// path accepts, and the near misses it leaves to `scim_v2`, both give the same answer.
#[test]
fn simple_comparisons_read_without_scim_v2_match_what_scim_v2_gives() {
    use crate::scim::filter::parse::{filter_through_scim_v2, reads_as_simple_comparison};
    let attrs = ATTRIBUTE_WORDS;
    let ops = ["eq", "EQ", "Eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "like", "eqq"];
    let values = [
        r#""x""#,
        r#""""#,
        r#""Jane.Doe@example.com""#,
        r#""a b""#,
        r#""ünï ✓""#,
        r#""a\"b""#,
        r#""tab\t""#,
        r#""u\u0041""#,
        r#""(x)""#,
        r#""[x]""#,
        r#""x" and id pr"#,
        "true",
        "1",
        r#""unterminated"#,
        "",
    ];
    let spacing = [(" ", " ", "", ""), ("  ", "\t", " ", " "), (" ", "", "", ""), ("", " ", "", "")];
    let mut simple = 0;
    for attr in attrs {
        for op in ops {
            for value in values {
                for (a, b, lead, trail) in spacing {
                    let input = format!("{lead}{attr}{a}{op}{b}{value}{trail}");
                    let fast = parse_filter(&input).map_err(|e| e.detail().to_string());
                    let full = filter_through_scim_v2(&input).map_err(|e| e.detail().to_string());
                    assert_eq!(fast, full, "{input:?}");
                    simple += usize::from(reads_as_simple_comparison(&input));
                }
            }
        }
    }
    assert!(simple > 1000, "the simple path was taken {simple} times");
    for lookup in
        [r#"userName eq "bjensen@example.com""#, r#"externalId eq "0a1b""#, r#"displayName eq "Sales""#]
    {
        assert!(reads_as_simple_comparison(lookup), "{lookup}");
    }
    for other in [r#"userName eq "a\"b""#, r#"userName pr"#, r#"emails[type eq "work"]"#, r#"active eq true"#]
    {
        assert!(!reads_as_simple_comparison(other), "{other}");
    }
}

/// Attribute paths and near misses, for the comparisons of the shortcuts with `scim_v2`.
const ATTRIBUTE_WORDS: [&str; 26] = [
    "userName",
    "externalId",
    "displayName",
    "name.givenName",
    "emails.value",
    "id",
    "a",
    "A1",
    "x-y",
    "x_y",
    "meta.lastModified",
    "pr",
    "and",
    "or",
    "not",
    "true",
    "NULL",
    "eq",
    "name.pr",
    "1abc",
    "name.",
    ".x",
    "a.b.c",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "emails[type",
    "-x",
];

/// The PATCH paths IdPs send most (`active`, `name.givenName`) are read without `scim_v2`; over
/// those and the near misses it leaves to `scim_v2`, both give the same answer.
#[test]
fn plain_patch_paths_read_without_scim_v2_match_what_scim_v2_gives() {
    use crate::scim::filter::parse::{path_through_scim_v2, reads_as_plain_path};
    let suffixes = ["", "[type eq \"work\"]", "[type eq \"work\"].value", ".", " x", "]", "\u{0}"];
    let mut plain_taken = 0;
    for word in ATTRIBUTE_WORDS.iter().chain(&["active", "members", "emails[type eq \"work\"]"]) {
        for suffix in suffixes {
            for (lead, trail) in [("", ""), (" ", "  "), ("\t", "")] {
                let input = format!("{lead}{word}{suffix}{trail}");
                let plain = parse_path(&input).map_err(|e| e.detail().to_string());
                let full = path_through_scim_v2(&input).map_err(|e| e.detail().to_string());
                assert_eq!(plain, full, "{input:?}");
                plain_taken += usize::from(reads_as_plain_path(&input));
            }
        }
    }
    assert!(plain_taken >= 30, "the plain path was taken {plain_taken} times");
    for taken in ["active", "name.givenName", " members "] {
        assert!(reads_as_plain_path(taken), "{taken}");
    }
    for other in
        ["emails[type eq \"work\"].value", "urn:ietf:params:scim:schemas:core:2.0:User:userName", "pr"]
    {
        assert!(!reads_as_plain_path(other), "{other}");
    }
}
