//! Property tests: printing round-trips, and no input panics, overflows the stack or yields an
//! error other than invalidFilter / invalidPath.

use proptest::prelude::*;

use super::*;

const KEYWORDS: [&str; 16] =
    ["and", "or", "not", "pr", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "true", "false", "null"];

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,7}"
        .prop_filter("not a keyword", |n| !KEYWORDS.iter().any(|k| n.eq_ignore_ascii_case(k)))
}

fn urn() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(CORE_USER.to_string())),
        1 => Just(Some(ENTERPRISE.to_string())),
        1 => Just(Some("urn:example:params:ext:1.0:Thing".to_string())),
    ]
}

fn top_path() -> impl Strategy<Value = AttrPath> {
    (urn(), name(), proptest::option::of(name())).prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
}

fn value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        // NUL cannot be stored or compared: such literals are rejected (see `nul_in_a_string_is_rejected`).
        any::<String>().prop_map(|s| CompValue::String(s.replace('\0', ""))),
        "[ -~]{0,12}".prop_map(CompValue::String),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        any::<f64>().prop_filter_map("finite", serde_json::Number::from_f64).prop_map(CompValue::Number),
        any::<bool>().prop_map(CompValue::Bool),
        Just(CompValue::Null),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    use CompareOp::*;
    prop::sample::select(vec![Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le])
}

/// Attribute expressions over `path`s.
fn attr_exp(path: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        path.clone().prop_map(Filter::Present),
        (path, op(), value()).prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
    ]
}

/// and/or/not trees over `leaf`.
fn tree(leaf: BoxedStrategy<Filter>, depth: u32) -> BoxedStrategy<Filter> {
    leaf.prop_recursive(depth, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| and(a, b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| or(a, b)),
            inner.prop_map(not),
        ]
    })
    .boxed()
}

/// A value filter: paths are plain sub-attribute names.
fn element_filter() -> BoxedStrategy<Filter> {
    let element_path = name().prop_map(|n| p(&n)).boxed();
    tree(attr_exp(element_path).boxed(), 3)
}

fn filter() -> BoxedStrategy<Filter> {
    let value_path = ((urn(), name()), element_filter())
        .prop_map(|((urn, name), f)| vp(AttrPath { urn, name, sub: None }, f));
    let leaf = prop_oneof![3 => attr_exp(top_path().boxed()), 1 => value_path].boxed();
    tree(leaf, 5)
}

/// The shape the parser gives: same-operator chains flattened and folded to the left.
fn canonical(f: &Filter) -> Filter {
    fn operands(f: &Filter, is_and: bool, out: &mut Vec<Filter>) {
        match (f, is_and) {
            (Filter::And(a, b), true) | (Filter::Or(a, b), false) => {
                operands(a, is_and, out);
                operands(b, is_and, out);
            }
            _ => out.push(canonical(f)),
        }
    }
    match f {
        Filter::And(..) | Filter::Or(..) => {
            let is_and = matches!(f, Filter::And(..));
            let mut items = Vec::new();
            operands(f, is_and, &mut items);
            let join = if is_and { and } else { or };
            let mut items = items.into_iter();
            let first = items.next().expect("an and/or has two operands");
            items.fold(first, join)
        }
        Filter::Not(inner) => not(canonical(inner)),
        Filter::ValuePath { path, filter } => vp(path.clone(), canonical(filter)),
        leaf => leaf.clone(),
    }
}

/// Fragments that make random input likely to reach deep into the grammar.
fn fragment_soup() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "(", ")", "[", "]", " ", "and", " and ", " or ", "not", "not ", " eq ", " pr", "\"x\"", "\"", "\\",
        "a", "emails", ".value", ".", ":", "urn:x:y", "1", "-2.5e3", "true", "NULL", "é", "\u{0}",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

/// Parsing never panics and fails only with the module's own error type.
fn total(input: &str) {
    match parse_filter(input) {
        Ok(f) => assert_eq!(parse_filter(&f.to_string()).ok(), Some(f), "round trip of {input:?}"),
        Err(e) => assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{input:?}: {e}"),
    }
    match parse_path(input) {
        Ok(p) => assert_eq!(parse_path(&p.to_string()).ok(), Some(p), "round trip of {input:?}"),
        Err(e) => assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "{input:?}: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_then_parse_is_identity(f in filter()) {
        let text = f.to_string();
        let parsed = parse_filter(&text);
        prop_assert!(parsed.is_ok(), "{text:?} did not parse: {:?}", parsed.err().map(|e| e.to_string()));
        prop_assert_eq!(parsed.ok(), Some(canonical(&f)), "text: {}", text);
    }

    #[test]
    fn paths_round_trip(path in top_path(), f in element_filter(), sub in proptest::option::of(name())) {
        let attr = PatchPath::Attr(path.clone());
        prop_assert_eq!(parse_path(&attr.to_string()).ok(), Some(attr));
        let filtered = PatchPath::Filtered { path: AttrPath { sub: None, ..path }, filter: f, sub };
        let expected = match &filtered {
            PatchPath::Filtered { path, filter, sub } => {
                PatchPath::Filtered { path: path.clone(), filter: canonical(filter), sub: sub.clone() }
            }
            other => other.clone(),
        };
        prop_assert_eq!(parse_path(&filtered.to_string()).ok(), Some(expected));
    }

    #[test]
    fn nul_in_a_string_is_rejected(f in filter(), before in "[ -~]{0,5}", after in "[ -~]{0,5}") {
        let literal = CompValue::String(format!("{before}\0{after}"));
        let with_nul = and(f, cmp(p("userName"), CompareOp::Eq, literal));
        let err = parse_filter(&with_nul.to_string()).expect_err("NUL is rejected");
        prop_assert_eq!(err.scim_type(), Some(ScimType::InvalidFilter));
        prop_assert!(err.detail().contains("U+0000"), "{}", err.detail());
    }

    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        total(&input);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        total(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_never_panics(input in fragment_soup()) {
        total(&input);
    }

    #[test]
    fn mutated_valid_filters_never_panic(f in filter(), cut in any::<prop::sample::Index>(), insert in fragment_soup()) {
        let text = f.to_string();
        let chars: Vec<char> = text.chars().collect();
        let at = cut.index(chars.len() + 1);
        let mutated: String = chars[..at].iter().collect::<String>() + &insert + &chars[at..].iter().collect::<String>();
        total(&mutated);
    }
}

/// Runs `check` on a thread with a small stack: deep input must not recurse deeply.
fn on_small_stack(check: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(check)
        .expect("spawn")
        .join()
        .expect("no panic or overflow");
}

#[test]
fn deeply_nested_input_is_rejected_not_overflowed() {
    on_small_stack(|| {
        let inputs = [
            "(".repeat(10_000),
            format!("{}a pr{}", "(".repeat(10_000), ")".repeat(10_000)),
            format!("{}a pr{}", "(".repeat(2_000), ")".repeat(2_000)),
            "not (".repeat(10_000),
            format!("{}a pr{}", "not (".repeat(800), ")".repeat(800)),
            format!("{}a pr{}", "not(".repeat(1_000), ")".repeat(1_000)),
            "a[b[c[".repeat(1_000),
            "a[b[c[".to_string(),
            "[".repeat(3_000),
            ")".repeat(3_000),
            format!("{}\"", "\\".repeat(4_000)),
        ];
        for input in inputs {
            let e = parse_filter(&input).expect_err("over-deep or over-long");
            assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter));
            let e = parse_path(&input).expect_err("over-deep or over-long");
            assert_eq!(e.scim_type(), Some(ScimType::InvalidPath));
        }
    });
}

#[test]
fn longest_flat_chain_is_shallow_to_walk() {
    on_small_stack(|| {
        let mut text = String::from("a pr");
        while text.len() + 8 <= MAX_FILTER_LEN {
            text.push_str(" or a pr");
        }
        let f = parse_filter(&text).expect("a flat chain within the length limit parses");
        assert_eq!(f.to_string(), text);
        let registry = crate::scim::schema::Registry::standard();
        let resource = serde_json::Map::new();
        let kind = crate::scim::schema::ResourceKind::User;
        assert!(
            crate::scim::filter::eval::matches(&registry, kind, &resource, &f).is_err(),
            "`a` is not an attribute"
        );
    });
}
