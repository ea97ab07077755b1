//! Registry lookups and the schema data.

use super::*;

#[test]
fn resource_kind_names() {
    assert_eq!(ResourceKind::User.name(), "User");
    assert_eq!(ResourceKind::Group.name(), "Group");
    assert_eq!(ResourceKind::User.endpoint(), "/Users");
    assert_eq!(ResourceKind::Group.endpoint(), "/Groups");
    assert_eq!(ResourceKind::User.core_schema(), USER_SCHEMA);
    assert_eq!(ResourceKind::Group.core_schema(), GROUP_SCHEMA);
}

#[test]
fn schemas_and_extensions() {
    let r = registry();
    let ids: Vec<&str> = r.schemas().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [
            USER_SCHEMA,
            ENTERPRISE_USER_SCHEMA,
            ROSTER_USER_SCHEMA,
            GROUP_SCHEMA,
            ROSTER_GROUP_SCHEMA,
            ROLE_SCHEMA,
            "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
            "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
            "urn:ietf:params:scim:schemas:core:2.0:Schema",
        ]
    );
    assert_eq!(r.extensions(ResourceKind::User), [ENTERPRISE_USER_SCHEMA, ROSTER_USER_SCHEMA]);
    assert_eq!(r.extensions(ResourceKind::Group), [ROSTER_GROUP_SCHEMA]);
    let upper = ENTERPRISE_USER_SCHEMA.to_uppercase();
    assert_eq!(r.schema(&upper).map(|s| s.id), Some(ENTERPRISE_USER_SCHEMA));
    assert!(r.schema("urn:nope").is_none());
}

#[test]
fn attribute_lookup_table() {
    let r = registry();
    let ent = ENTERPRISE_USER_SCHEMA;
    let cases: Vec<(ResourceKind, String, Option<&str>)> = vec![
        (ResourceKind::User, "userName".into(), Some("userName")),
        (ResourceKind::User, "USERNAME".into(), Some("userName")),
        (ResourceKind::User, "name.givenName".into(), Some("givenName")),
        (ResourceKind::User, "NAME.GIVENNAME".into(), Some("givenName")),
        (ResourceKind::User, "emails.value".into(), Some("value")),
        (ResourceKind::User, "addresses.primary".into(), Some("primary")),
        (ResourceKind::User, "id".into(), Some("id")),
        (ResourceKind::User, "externalid".into(), Some("externalId")),
        (ResourceKind::User, "meta.lastModified".into(), Some("lastModified")),
        (ResourceKind::User, format!("{ent}:manager.value"), Some("value")),
        (ResourceKind::User, format!("{}:Department", ent.to_lowercase()), Some("department")),
        (ResourceKind::User, format!("{USER_SCHEMA}:userName"), Some("userName")),
        (ResourceKind::User, format!("{GROUP_SCHEMA}:displayName"), None),
        (ResourceKind::User, "department".into(), None),
        (ResourceKind::User, "name.nope".into(), None),
        (ResourceKind::User, "nope".into(), None),
        (ResourceKind::User, "members".into(), None),
        (ResourceKind::Group, "members.value".into(), Some("value")),
        (ResourceKind::Group, "DisplayName".into(), Some("displayName")),
        (ResourceKind::Group, "userName".into(), None),
        (ResourceKind::Group, format!("{ent}:department"), None),
    ];
    for (kind, path, want) in cases {
        assert_eq!(r.attribute(kind, &path).map(|a| a.name), want, "{kind:?} {path}");
    }
}

#[test]
fn user_schema_characteristics() {
    let r = registry();
    let a = |p: &str| r.attribute(ResourceKind::User, p).unwrap_or_else(|| panic!("{p}"));
    let user_name = a("userName");
    assert!(user_name.required && !user_name.case_exact);
    assert_eq!(user_name.uniqueness, Uniqueness::Server);
    let password = a("password");
    assert_eq!((password.mutability, password.returned), (Mutability::WriteOnly, Returned::Never));
    let groups = a("groups");
    assert!(groups.multi_valued && groups.mutability == Mutability::ReadOnly);
    assert_eq!(a("groups.$ref").reference_types, ["User", "Group"]);
    assert_eq!(a("groups.type").canonical_values, ["direct", "indirect"]);
    assert_eq!(a("profileUrl").ty, AttrType::Reference);
    assert_eq!(a("profileUrl").reference_types, ["external"]);
    assert_eq!(a("photos.value").reference_types, ["external"]);
    assert_eq!(a("x509Certificates.value").ty, AttrType::Binary);
    assert_eq!(a("active").ty, AttrType::Boolean);
    assert_eq!(a("emails.type").canonical_values, ["work", "home", "other"]);
    assert!(!a("emails.type").canonical_closed);
    assert_eq!(a("phoneNumbers.type").canonical_values.len(), 6);
    assert_eq!(a("ims.type").canonical_values.len(), 8);
    assert_eq!(a("photos.type").canonical_values, ["photo", "thumbnail"]);
    let id = a("id");
    assert_eq!((id.returned, id.mutability), (Returned::Always, Mutability::ReadOnly));
    assert!(id.case_exact && a("externalId").case_exact);
    assert_eq!(a("meta").mutability, Mutability::ReadOnly);
    for multi in ["emails", "phoneNumbers", "ims", "photos", "entitlements", "roles", "x509Certificates"] {
        let subs: Vec<&str> = a(multi).sub_attributes.iter().map(|s| s.name).collect();
        assert_eq!(subs, ["value", "display", "type", "primary"], "{multi}");
    }
    let name_subs: Vec<&str> = a("name").sub_attributes.iter().map(|s| s.name).collect();
    assert_eq!(
        name_subs,
        ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"]
    );
    let user = r.schema(USER_SCHEMA).map(|s| s.attributes.len());
    assert_eq!(user, Some(21));
    let ent = format!("{ENTERPRISE_USER_SCHEMA}:manager");
    let manager: Vec<&str> = a(&ent).sub_attributes.iter().map(|s| s.name).collect();
    assert_eq!(manager, ["value", "$ref", "displayName"]);
    assert_eq!(a(&format!("{ent}.displayName")).mutability, Mutability::ReadOnly);
    assert_eq!(a(&format!("{ent}.$ref")).reference_types, ["User"]);
}

#[test]
fn group_schema_characteristics() {
    let r = registry();
    let a = |p: &str| r.attribute(ResourceKind::Group, p).unwrap_or_else(|| panic!("{p}"));
    assert!(a("displayName").required);
    assert!(a("members").multi_valued && a("members").mutability == Mutability::ReadWrite);
    assert!(a("members.value").required);
    assert_eq!(a("members.value").mutability, Mutability::Immutable);
    assert_eq!(a("members.$ref").reference_types, ["User", "Group"]);
    assert!(a("members.type").canonical_closed);
    assert_eq!(a("members.display").mutability, Mutability::ReadOnly);
}

#[test]
fn resource_schemas_lists_present_extensions() {
    let r = registry();
    let with = obj(serde_json::json!({"userName": "a", ENTERPRISE_USER_SCHEMA: {"department": "x"}}));
    assert_eq!(r.resource_schemas(ResourceKind::User, &with), [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
    let without = obj(serde_json::json!({"userName": "a"}));
    assert_eq!(r.resource_schemas(ResourceKind::User, &without), [USER_SCHEMA]);
}
