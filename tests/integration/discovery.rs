//! Discovery documents: truthful, and snapshotted so they do not drift unnoticed.

use serde_json::Value;

use crate::support::TestApp;

fn redact(mut v: Value, base: &str) -> Value {
    // Locations contain the per-test port and connection id.
    let text = v.to_string().replace(base, "{base}");
    v = serde_json::from_str(&text).unwrap();
    v
}

#[tokio::test]
async fn service_provider_config_tells_the_truth() {
    let app = TestApp::spawn().await;
    let r = app.get("/ServiceProviderConfig").await;
    assert_eq!(r.status, 200);
    let spc = &r.body;
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 1000);
    assert_eq!(spc["bulk"]["supported"], true);
    assert_eq!(spc["bulk"]["maxOperations"], 1000);
    assert_eq!(spc["bulk"]["maxPayloadSize"], 1_048_576);
    assert_eq!(spc["sort"]["supported"], true);
    assert_eq!(spc["pagination"]["cursor"], true);
    assert_eq!(spc["pagination"]["cursorTimeout"], 3600);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    insta::assert_json_snapshot!("service_provider_config", redact(r.body.clone(), &app.creds.base));
}

#[tokio::test]
async fn resource_types_and_schemas() {
    let app = TestApp::spawn().await;
    let rts = app.get("/ResourceTypes").await;
    assert_eq!(rts.body["totalResults"], 3, "User, Group and the read-only Role");
    let user = app.get("/ResourceTypes/User").await.body;
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(
        user["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    app.get("/ResourceTypes/Printer").await.assert_error(404, None);

    let schemas = app.get("/Schemas").await.body;
    let ids: Vec<&str> =
        schemas["Resources"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    for urn in [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:roster:2.0:User",
        "urn:ietf:params:scim:schemas:roster:2.0:Role",
    ] {
        assert!(ids.contains(&urn), "{urn} missing from /Schemas");
    }
    let user_schema = app.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    assert_eq!(user_schema.status, 200);
    let user_name =
        user_schema.body["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "userName").unwrap();
    assert_eq!(
        (user_name["uniqueness"].clone(), user_name["caseExact"].clone()),
        ("server".into(), false.into())
    );
    let password =
        user_schema.body["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap();
    assert_eq!(password["returned"], "never");
    app.get("/Schemas/urn:nope").await.assert_error(404, None);
    insta::assert_json_snapshot!("schemas", redact(schemas, &app.creds.base));
    insta::assert_json_snapshot!("resource_types", redact(rts.body, &app.creds.base));
}
