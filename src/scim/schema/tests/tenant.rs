//! The per-tenant overlay: category attributes, value rules, mapping.

use serde_json::json;

use super::*;

fn cat(name: &str, kind: CategoryKind, values: &[&str], source: Option<&str>) -> Category {
    Category {
        name: name.into(),
        display_name: format!("{name} shown"),
        kind,
        allowed_values: values.iter().map(|v| v.to_string()).collect(),
        source: source.map(str::to_string),
    }
}

fn tenant() -> Registry {
    Registry::standard().with_categories(vec![
        cat("City", CategoryKind::Dropdown, &["Oslo", "Ålesund"], None),
        cat("Age", CategoryKind::Number, &[], None),
        cat("Start", CategoryKind::Date, &[], None),
        cat("Remote", CategoryKind::Boolean, &[], None),
        cat("Note", CategoryKind::Text, &[], None),
        cat(
            "Dept",
            CategoryKind::Dropdown,
            &["Sales", "R&D"],
            Some(&format!("{ENTERPRISE_USER_SCHEMA}:department")),
        ),
    ])
}

fn user(ext: Value) -> Value {
    json!({"schemas": [USER_SCHEMA], "userName": "u", ROSTER_USER_SCHEMA: ext})
}

#[test]
fn categories_become_attributes_of_the_roster_user_extension() {
    let r = tenant();
    assert_eq!(r.extension_urn(ResourceKind::User, ROSTER_USER_SCHEMA), Some(ROSTER_USER_SCHEMA));
    let schema = r.schema(ROSTER_USER_SCHEMA).unwrap();
    let city = schema.attribute("city").unwrap();
    assert_eq!(
        (city.name, city.ty, city.multi_valued, city.case_exact),
        ("City", AttrType::String, false, false)
    );
    assert_eq!(city.canonical_values, ["Oslo", "Ålesund"]);
    assert_eq!((city.mutability, city.returned), (Mutability::ReadWrite, Returned::Default));
    assert_eq!(schema.attribute("Age").unwrap().ty, AttrType::Decimal);
    assert_eq!(schema.attribute("Start").unwrap().ty, AttrType::String);
    assert!(schema.attribute("Start").unwrap().description.contains("YYYY-MM-DD"));
    assert_eq!(schema.attribute("Remote").unwrap().ty, AttrType::Boolean);
    assert!(schema.attribute("Dept").unwrap().description.contains("department"));
    assert_eq!(
        r.attribute(ResourceKind::User, &format!("{ROSTER_USER_SCHEMA}:Note")).map(|a| a.ty),
        Some(AttrType::String)
    );
    // Next to the User schemas, listed once.
    let ids: Vec<&str> = r.schemas().map(|s| s.id).collect();
    let at = ids.iter().position(|i| *i == ROSTER_USER_SCHEMA).unwrap();
    assert_eq!(ids[at - 1], ENTERPRISE_USER_SCHEMA);
    assert_eq!(ids.iter().filter(|i| **i == ROSTER_USER_SCHEMA).count(), 1);
    // The static registry is untouched, and no categories means no change.
    assert!(Registry::standard().schema(ROSTER_USER_SCHEMA).and_then(|s| s.attribute("City")).is_none());
    let plain = Registry::standard().with_categories(Vec::new());
    assert_eq!(plain.schemas().count(), Registry::standard().schemas().count());
}

#[test]
fn the_same_categories_share_one_schema() {
    let a = tenant();
    let b = tenant();
    assert!(std::ptr::eq(
        a.schema(ROSTER_USER_SCHEMA).unwrap().attributes,
        b.schema(ROSTER_USER_SCHEMA).unwrap().attributes
    ));
    let other = Registry::standard().with_categories(vec![cat("City", CategoryKind::Text, &[], None)]);
    assert_eq!(
        other.schema(ROSTER_USER_SCHEMA).unwrap().attribute("City").unwrap().canonical_values.len(),
        0
    );
}

#[test]
fn an_existing_static_extension_keeps_its_attributes() {
    static STATIC_ATTRS: &[Attribute] = &[Attribute::new("role", AttrType::String, "computed").read_only()];
    let mut base = Registry::standard();
    base.add_extension(
        ResourceKind::User,
        Schema {
            id: ROSTER_USER_SCHEMA,
            name: "RosterUser",
            description: "static",
            attributes: STATIC_ATTRS,
        },
    );
    let r = base.with_categories(vec![cat("City", CategoryKind::Text, &[], None)]);
    let schema = r.schema(ROSTER_USER_SCHEMA).unwrap();
    let names: Vec<&str> = schema.attributes.iter().map(|a| a.name).collect();
    assert_eq!(names, ["role", "City"]);
    assert_eq!(schema.description, "static");
    assert_eq!(r.extensions(ResourceKind::User).iter().filter(|u| **u == ROSTER_USER_SCHEMA).count(), 1);
}

#[test]
fn values_are_checked_and_dropdowns_canonicalised() {
    let r = tenant();
    let n = normalize(&r, ResourceKind::User, &user(json!({"City": "ålesund", "Age": 3.5, "Start": "2026-02-28", "Remote": "True", "Note": "x", "Other": 1}))).unwrap();
    assert_eq!(
        n.resource[ROSTER_USER_SCHEMA],
        json!({"City": "Ålesund", "Age": 3.5, "Start": "2026-02-28", "Remote": true, "Note": "x"})
    );
    assert!(n.notes.contains(&format!("unknown_attribute: {ROSTER_USER_SCHEMA}:Other")), "{:?}", n.notes);
    // URN-qualified top-level keys work too.
    let n = normalize(
        &r,
        ResourceKind::User,
        &json!({"userName": "u", format!("{ROSTER_USER_SCHEMA}:city"): "OSLO"}),
    )
    .unwrap();
    assert_eq!(n.resource[ROSTER_USER_SCHEMA], json!({"City": "Oslo"}));

    for (ext, needle) in [
        (json!({"City": "Bergen"}), "\"Oslo\", \"Ålesund\""),
        (json!({"City": ["Oslo"]}), "\"Oslo\", \"Ålesund\""),
        (json!({"City": true}), "\"Oslo\", \"Ålesund\""),
        (json!({"Age": "3"}), "Age"),
        (json!({"Start": "2026-02-30"}), "YYYY-MM-DD"),
        (json!({"Start": "2026-2-3"}), "YYYY-MM-DD"),
        (json!({"Start": "2026-02-28T00:00:00Z"}), "YYYY-MM-DD"),
        (json!({"Remote": "yes"}), "Remote"),
        (json!({"Note": {"a": 1}}), "Note"),
    ] {
        let e = normalize(&r, ResourceKind::User, &user(ext.clone())).unwrap_err();
        assert_eq!((e.status(), e.scim_type()), (400, Some(ScimType::InvalidValue)), "{ext}");
        assert!(e.detail().contains(needle), "{ext}: {}", e.detail());
        assert!(!e.detail().contains("Bergen"), "details never echo the value: {}", e.detail());
    }
    // Null clears; groups are not affected.
    let n = normalize(&r, ResourceKind::User, &user(json!({"City": null}))).unwrap();
    assert!(!n.resource.contains_key(ROSTER_USER_SCHEMA));
    assert!(normalize(&r, ResourceKind::Group, &json!({"displayName": "g"})).is_ok());
}

#[test]
fn mapped_categories_mirror_their_source() {
    let r = tenant();
    let body = json!({"userName": "u", ENTERPRISE_USER_SCHEMA: {"department": "r&d"}, ROSTER_USER_SCHEMA: {"Dept": "Sales"}});
    let n = normalize(&r, ResourceKind::User, &body).unwrap();
    assert_eq!(n.resource[ROSTER_USER_SCHEMA], json!({"Dept": "R&D"}));
    assert!(n.notes.contains(&format!("mapped: {ROSTER_USER_SCHEMA}:Dept")), "{:?}", n.notes);
    // No source value: cleared, even if sent directly.
    let n = normalize(&r, ResourceKind::User, &user(json!({"Dept": "Sales"}))).unwrap();
    assert!(!n.resource.contains_key(ROSTER_USER_SCHEMA));
    // A source value the category does not accept.
    let e = normalize(
        &r,
        ResourceKind::User,
        &json!({"userName": "u", ENTERPRISE_USER_SCHEMA: {"department": "Finance"}}),
    )
    .unwrap_err();
    assert!(e.detail().contains("mapped from") && e.detail().contains("\"Sales\""), "{}", e.detail());
}

#[test]
fn mapped_values_are_converted_to_the_kind() {
    let r = Registry::standard().with_categories(vec![
        cat("Badge", CategoryKind::Number, &[], Some(&format!("{ENTERPRISE_USER_SCHEMA}:employeeNumber"))),
        cat("Town", CategoryKind::Text, &[], Some("addresses[type eq \"work\"].locality")),
        cat("Mail", CategoryKind::Text, &[], Some("emails.value")),
        cat("On", CategoryKind::Boolean, &[], Some("active")),
    ]);
    let body = json!({
        "userName": "u", "active": false,
        ENTERPRISE_USER_SCHEMA: {"employeeNumber": " 701984 "},
        "addresses": [{"type": "home", "locality": "Bergen"}, {"type": "Work", "locality": "Oslo"}],
        "emails": [{"value": "a@x"}, {"value": "b@x", "primary": true}],
    });
    let n = normalize(&r, ResourceKind::User, &body).unwrap();
    assert_eq!(
        n.resource[ROSTER_USER_SCHEMA],
        json!({"Badge": 701984, "Town": "Oslo", "Mail": "b@x", "On": false})
    );
    let mut bad = body.clone();
    bad[ENTERPRISE_USER_SCHEMA]["employeeNumber"] = json!("E-1");
    let e = normalize(&r, ResourceKind::User, &bad).unwrap_err();
    assert!(e.detail().contains("Badge") && e.detail().contains("employeeNumber"), "{}", e.detail());
}

#[test]
fn sources_are_checked() {
    let r = Registry::standard();
    for ok in [
        "title",
        "name.givenName",
        "emails.value",
        "addresses[type eq \"work\"].locality",
        &format!("{ENTERPRISE_USER_SCHEMA}:department"),
        &format!("{ENTERPRISE_USER_SCHEMA}:manager.value"),
    ] {
        assert_eq!(check_source(&r, ok), Ok(()), "{ok}");
    }
    for bad in [
        "nope",
        "name",
        "password",
        "title[value eq \"x\"].a",
        "addresses[type eq \"work\"]",
        "addresses[nope eq \"work\"].locality",
        &format!("{ROSTER_USER_SCHEMA}:City"),
        "emails[",
        "urn:x:y:z",
    ] {
        assert!(check_source(&r, bad).is_err(), "{bad}");
    }
}

#[test]
fn kinds_and_dates() {
    for k in CategoryKind::ALL {
        assert_eq!(CategoryKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(CategoryKind::parse("Dropdown"), Some(CategoryKind::Dropdown));
    assert_eq!(CategoryKind::parse("list"), None);
    assert!(is_date("2024-02-29"));
    assert!(!is_date("2023-02-29"));
    assert!(!is_date("20240-1-01"));
    assert!(!is_date("2024/02/01"));
}
