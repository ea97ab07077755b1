//! Evaluation against rendered resources.

use serde_json::{json, Map, Value};

use super::*;
use crate::scim::filter::eval::{element_matches, matches};
use crate::scim::schema::{AttrType, Attribute, Registry, ResourceKind, Schema};

fn user() -> Map<String, Value> {
    let v = json!({
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Ext-1",
        "userName": "BJensen",
        "name": { "familyName": "O'Malley", "givenName": "Barbara" },
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "ims": [ { "value": "someaimhandle", "type": "aim" } ],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z"
        },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith" }
        }
    });
    v.as_object().cloned().unwrap()
}

fn group() -> Map<String, Value> {
    let v = json!({
        "id": "G",
        "displayName": "Tour Guides",
        "members": [
            { "value": "U", "display": "Babs Jensen", "type": "User" },
            { "value": "V", "type": "User" }
        ],
        "meta": { "resourceType": "Group" }
    });
    v.as_object().cloned().unwrap()
}

fn eval_on(
    registry: &Registry,
    kind: ResourceKind,
    resource: &Map<String, Value>,
    filter: &str,
) -> ScimResult<bool> {
    matches(registry, kind, resource, &parse_filter(filter).unwrap_or_else(|e| panic!("{filter:?}: {e}")))
}

fn check_user(resource: &Map<String, Value>, table: &[(&str, bool)]) {
    let registry = Registry::standard();
    for (filter, want) in table {
        match eval_on(&registry, ResourceKind::User, resource, filter) {
            Ok(got) => assert_eq!(got, *want, "{filter}"),
            Err(e) => panic!("{filter}: {e}"),
        }
    }
}

fn user_error(filter: &str) -> String {
    let err = eval_on(&Registry::standard(), ResourceKind::User, &user(), filter).expect_err(filter);
    assert_eq!(err.scim_type(), Some(ScimType::InvalidFilter), "{filter}: {err}");
    err.detail().to_string()
}

#[test]
fn rfc_examples_on_bjensen() {
    check_user(
        &user(),
        &[
            (r#"userName eq "bjensen""#, true),
            (r#"name.familyName co "O'Malley""#, true),
            (r#"userName sw "J""#, false),
            (r#"userName sw "b""#, true),
            (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "BJ""#, true),
            ("title pr", true),
            (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
            (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
            (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
            (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true),
            (r#"title pr and userType eq "Employee""#, true),
            (r#"title pr or userType eq "Intern""#, true),
            (r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, true),
            (
                r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
                true,
            ),
            (
                r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
                false,
            ),
            (r#"userType eq "Employee" and (emails.type eq "work")"#, true),
            (r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#, true),
            (
                r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
                true,
            ),
        ],
    );
}

#[test]
fn case_sensitivity_follows_case_exact() {
    check_user(
        &user(),
        &[
            (r#"userName eq "BJENSEN""#, true),
            (r#"USERNAME eq "bjensen""#, true),
            (r#"externalId eq "Ext-1""#, true),
            (r#"externalId eq "ext-1""#, false),
            (r#"externalId sw "ext""#, false),
            (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false),
            (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true),
            (r#"meta.resourceType eq "User""#, true),
            (r#"meta.resourceType eq "user""#, false),
            (r#"emails.type eq "WORK""#, true),
            (r#"title gt "tour""#, true),
            (r#"title lt "TOUR GUIDE""#, false),
            (r#"title le "TOUR GUIDE""#, true),
        ],
    );
}

#[test]
fn multi_valued_and_value_paths() {
    check_user(
        &user(),
        &[
            (r#"emails.value eq "babs@jensen.org""#, true),
            (r#"emails eq "BABS@jensen.org""#, true),
            (r#"emails.value ew ".net""#, false),
            (r#"emails.type eq "home" and emails.value co "@example.com""#, true),
            // A value path needs ONE element satisfying the whole condition.
            (r#"emails[type eq "home" and value co "@example.com"]"#, false),
            (r#"emails[type eq "home" and value co "@jensen.org"]"#, true),
            (r#"emails[type eq "work"].value eq "bjensen@example.com""#, true),
            (r#"emails[type eq "home"].value eq "bjensen@example.com""#, false),
            (r#"emails[type eq "work"].primary eq true"#, true),
            (r#"emails[not (type eq "work")].primary eq true"#, false),
            (r#"emails[primary pr]"#, true),
            (r#"ims[type eq "xmpp"]"#, false),
            (r#"phoneNumbers[type eq "work"]"#, false),
            (r#"name[givenName sw "barb"]"#, true),
        ],
    );
}

#[test]
fn ne_and_null() {
    check_user(
        &user(),
        &[
            (r#"userType ne "Employee""#, false),
            (r#"userType ne "Intern""#, true),
            (r#"nickName ne "x""#, true),
            (r#"emails.type ne "work""#, false),
            (r#"emails.type ne "other""#, true),
            ("nickName eq null", true),
            ("title eq null", false),
            ("title ne null", true),
            ("nickName ne null", false),
        ],
    );
    assert!(user_error("title co null").contains("null"));
}

#[test]
fn presence_rules() {
    let mut u = user();
    u.insert("nickName".into(), json!(""));
    u.insert("displayName".into(), Value::Null);
    u.insert("phoneNumbers".into(), json!([]));
    u.insert("photos".into(), json!([{}]));
    u.insert("addresses".into(), json!([{ "type": "work", "formatted": "" }]));
    check_user(
        &u,
        &[
            ("title pr", true),
            ("nickName pr", false),
            ("displayName pr", false),
            ("locale pr", false),
            ("emails pr", true),
            ("phoneNumbers pr", false),
            ("photos pr", false),
            ("addresses pr", true),
            ("addresses.formatted pr", false),
            ("addresses.type pr", true),
            ("name pr", true),
            ("name.middleName pr", false),
            ("active pr", true),
            ("meta.created pr", true),
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr", true),
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter pr", false),
        ],
    );
    u.insert("name".into(), json!({}));
    check_user(&u, &[("name pr", false), ("not (name pr)", true)]);
}

#[test]
fn date_times() {
    check_user(
        &user(),
        &[
            (r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, true),
            (r#"meta.lastModified gt "2011-05-13T06:42:33+02:00""#, true),
            (r#"meta.lastModified lt "2011-05-13T04:42:34.001Z""#, true),
            (r#"meta.lastModified gt "2011-05-13T04:42:33""#, true),
            (r#"meta.created lt "2011-05-13T04:42:34Z""#, true),
            (r#"meta.created sw "2010-01""#, true),
            (r#"meta.created gt "2010-01-23T04:56:22Z""#, false),
        ],
    );
    assert!(user_error(r#"meta.created gt "yesterday""#).contains("dateTime"));
    assert!(user_error("meta.created gt 5").contains("dateTime"));
}

#[test]
fn extension_attributes() {
    check_user(
        &user(),
        &[
            (r#"employeeNumber eq "701984""#, true),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
                true,
            ),
            (
                r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EMPLOYEENUMBER eq "701984""#,
                true,
            ),
            (r#"manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#, true),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName co "smith""#,
                true,
            ),
            (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr"#, false),
        ],
    );
    assert!(user_error(r#"urn:example:Foo:bar eq "x""#).contains("unknown schema"));
    assert!(user_error(r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x""#)
        .contains("unknown schema"));
}

#[test]
fn schemas_attribute() {
    let mut u = user();
    check_user(&u, &[(r#"schemas eq "URN:ietf:params:scim:schemas:core:2.0:User""#, true)]);
    u.remove("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    check_user(&u, &[(r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, false)]);
    u.insert("schemas".into(), json!([CORE_USER, ENTERPRISE]));
    check_user(&u, &[(r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, true)]);
}

#[test]
fn errors_do_not_depend_on_data() {
    let unknown = [
        r#"foo eq "x""#,
        r#"userName eq "bjensen" or foo pr"#,
        r#"userName eq "nobody" and foo pr"#,
        r#"phoneNumbers[foo eq "x"]"#,
        r#"emails.foo eq "x""#,
        r#"userName.x eq "x""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:foo pr"#,
    ];
    for filter in unknown {
        assert!(user_error(filter).contains("unknown attribute"), "{filter}");
    }
    let misuse = [
        (r#"active co "t""#, "not defined for boolean"),
        ("active gt true", "not defined for boolean"),
        (r#"userName eq 1"#, "quoted string"),
        (r#"userName eq true"#, "quoted string"),
        ("active eq 1", "true or false"),
        (r#"name eq "Barbara""#, "complex attribute"),
        (r#"password eq "secret""#, "cannot be used in a filter"),
        (r#"userName[value eq "x"]"#, "not a complex attribute"),
        (r#"title[value pr]"#, "not a complex"),
    ];
    for (filter, fragment) in misuse {
        let detail = user_error(filter);
        assert!(detail.contains(fragment), "{filter}: {detail}");
    }
}

#[test]
fn boolean_literal_leniency() {
    check_user(
        &user(),
        &[
            ("active eq true", true),
            ("active eq false", false),
            (r#"active eq "TRUE""#, true),
            ("active ne true", false),
        ],
    );
}

#[test]
fn entra_membership_probe_on_group() {
    let registry = Registry::standard();
    let g = group();
    let run = |f: &str| eval_on(&registry, ResourceKind::Group, &g, f).unwrap();
    assert!(run(r#"id eq "G" and members[value eq "U"]"#));
    assert!(!run(r#"id eq "G" and members[value eq "W"]"#));
    assert!(!run(r#"id eq "H" and members[value eq "U"]"#));
    assert!(run(r#"members[value eq "V" and type eq "user"]"#));
    assert!(run(r#"members.value eq "V""#));
    assert!(run(r#"members eq "U""#));
    assert!(run(r#"displayName eq "tour guides""#));
    assert!(run(r#"members[display pr] and not (members[display pr and value eq "V"])"#));
    let err =
        eval_on(&registry, ResourceKind::Group, &g, r#"userName eq "x""#).expect_err("not a Group attribute");
    assert!(err.detail().contains("unknown attribute"), "{err}");
}

#[test]
fn element_matching_for_patch() {
    let registry = Registry::standard();
    let user = ResourceKind::User;
    let work = json!({ "value": "bjensen@example.com", "type": "work", "primary": true });
    let run = |attr: &AttrPath, element: &Value, f: &str| {
        element_matches(&registry, user, attr, element, &parse_filter(f).unwrap())
    };
    assert!(run(&p("emails"), &work, r#"type eq "WORK""#).unwrap());
    assert!(run(&p("Emails"), &work, r#"type eq "work" and primary eq true"#).unwrap());
    assert!(!run(&p("emails"), &work, r#"type eq "home""#).unwrap());
    assert!(!run(&p("emails"), &json!("not an object"), r#"type eq "work""#).unwrap());
    assert!(!run(&p("emails"), &work, "display pr").unwrap());
    let err = run(&p("emails"), &work, r#"foo eq "x""#).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidFilter));
    assert!(err.detail().contains("unknown attribute \"emails.foo\""), "{err}");
    assert!(run(&p("userName"), &work, r#"type eq "work""#).is_err());
    assert!(run(&p("nothing"), &work, r#"type eq "work""#).is_err());
    // The path of a parsed PATCH operation drives it directly.
    let PatchPath::Filtered { path, filter, .. } = parse_path(r#"members[value eq "U"]"#).unwrap() else {
        panic!("a filtered path");
    };
    let member = json!({ "value": "U", "type": "User" });
    assert!(element_matches(&registry, ResourceKind::Group, &path, &member, &filter).unwrap());
}

const LEVELS_A: &[Attribute] = &[
    Attribute::new("level", AttrType::Integer, "A level."),
    Attribute::new("score", AttrType::Decimal, "A score."),
];
const LEVELS_B: &[Attribute] = &[Attribute::new("level", AttrType::Integer, "Another level.")];
const EXT_A: &str = "urn:example:params:scim:schemas:extension:a:2.0:User";
const EXT_B: &str = "urn:example:params:scim:schemas:extension:b:2.0:User";

#[test]
fn numbers_and_ambiguous_extensions() {
    let mut registry = Registry::standard();
    registry.add_extension(
        ResourceKind::User,
        Schema { id: EXT_A, name: "A", description: "A", attributes: LEVELS_A },
    );
    let mut u = user();
    u.insert(EXT_A.into(), json!({ "level": 3, "score": 2.5 }));
    u.insert(EXT_B.into(), json!({ "level": 7 }));
    let run = |registry: &Registry, f: &str| eval_on(registry, ResourceKind::User, &u, f);
    for (f, want) in [
        ("level eq 3", true),
        ("level eq 3.0", true),
        ("level gt 2.99", true),
        ("level ge 4", false),
        ("score le 2.5", true),
        ("score lt 2.5", false),
        ("score gt -1e3", true),
        ("level ne 3", false),
    ] {
        assert_eq!(run(&registry, f).ok(), Some(want), "{f}");
    }
    assert!(run(&registry, "level co 3").unwrap_err().detail().contains("not defined for integer"));
    assert!(run(&registry, r#"level eq "3""#).unwrap_err().detail().contains("a number"));
    registry.add_extension(
        ResourceKind::User,
        Schema { id: EXT_B, name: "B", description: "B", attributes: LEVELS_B },
    );
    assert!(run(&registry, "level eq 3").unwrap_err().detail().contains("ambiguous"));
    assert_eq!(run(&registry, &format!("{EXT_B}:level eq 7")).ok(), Some(true));
    assert_eq!(run(&registry, &format!("{EXT_A}:level eq 7")).ok(), Some(false));
}
