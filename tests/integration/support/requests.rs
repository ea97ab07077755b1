//! Small helpers for SCIM requests and responses.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{Credentials, TestApp};

/// A response, read completely.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body parsed as JSON (`Value::Null` when empty).
    pub body: Value,
}

impl Reply {
    /// A header as a string (panics if missing: tests use it on headers they expect).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .expect("ascii header")
    }

    /// Assert this is a SCIM error with the given status and scimType, and return its detail.
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) -> String {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert!(self.header("content-type").starts_with("application/scim+json"), "error content type");
        assert_eq!(self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{}", self.body);
        assert_eq!(self.body["status"], Value::String(status.to_string()), "status must be a string");
        assert_eq!(self.body["scimType"].as_str(), scim_type, "{}", self.body);
        let detail = self.body["detail"].as_str().expect("detail").to_string();
        assert!(!detail.is_empty());
        detail
    }
}

/// Send a request and read the reply.
pub async fn send(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body read");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("non-JSON body ({status}): {}", String::from_utf8_lossy(&bytes)))
    };
    Reply { status, headers, body }
}

impl TestApp {
    /// A request to the default connection, authenticated.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.req_as(&self.creds, method, path)
    }

    /// A request to a connection's base URL with its token.
    pub fn req_as(&self, creds: &Credentials, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", creds.base)).bearer_auth(&creds.token)
    }

    /// GET with the default credentials.
    pub async fn get(&self, path: &str) -> Reply {
        send(self.req(Method::GET, path)).await
    }

    /// POST a SCIM JSON body with the default credentials.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        send(
            self.req(Method::POST, path)
                .header("content-type", "application/scim+json")
                .body(body.to_string()),
        )
        .await
    }

    /// PUT a SCIM JSON body with the default credentials.
    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        send(
            self.req(Method::PUT, path)
                .header("content-type", "application/scim+json")
                .body(body.to_string()),
        )
        .await
    }

    /// DELETE with the default credentials.
    pub async fn delete(&self, path: &str) -> Reply {
        send(self.req(Method::DELETE, path)).await
    }

    /// A SCIM PATCH with these operations, with the default credentials.
    pub async fn patch_ops(&self, path: &str, ops: Value) -> Reply {
        let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        send(
            self.req(Method::PATCH, path)
                .header("content-type", "application/scim+json")
                .body(body.to_string()),
        )
        .await
    }

    /// An admin API request under the test tenant (`/admin/v1/tenants/<tenant><path>`) with the
    /// operator credential, and a JSON body when given.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let path = format!("/tenants/{}{path}", self.creds.tenant);
        self.admin_call(super::TEST_ADMIN_TOKEN, method, &path, body.as_ref()).await
    }

    /// An admin API request (`/admin/v1{path}`) with `token`, and a JSON body when given.
    pub async fn admin_call(&self, token: &str, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut req = self.client.request(method, format!("{}/admin/v1{path}", self.root)).bearer_auth(token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        send(req).await
    }

    /// Create a user with just a userName, returning its id.
    pub async fn create_user(&self, user_name: &str) -> String {
        let r = self
            .post("/Users", &serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }

    /// Create a group, returning its id.
    pub async fn create_group(&self, display_name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| serde_json::json!({"value": m})).collect();
        let r = self
            .post(
                "/Groups",
                &serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": display_name, "members": members}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }
}
