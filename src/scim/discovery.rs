//! The ServiceProviderConfig document (RFC 7643 §5): what this server supports, truthfully.

use serde_json::{json, Value};

use crate::scim::bulk::BulkLimits;
use crate::scim::cursor::CURSOR_TIMEOUT_SECS;
use crate::scim::list::PageLimits;

/// Build `/ServiceProviderConfig` for a connection's base URL.
pub fn service_provider_config(base_url: &str, limits: PageLimits, bulk: BulkLimits) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": { "supported": true },
        "bulk": {
            "supported": true,
            "maxOperations": bulk.max_operations,
            "maxPayloadSize": bulk.max_payload_bytes
        },
        "filter": { "supported": true, "maxResults": limits.max_size },
        "changePassword": { "supported": true },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": limits.default_size,
            "maxPageSize": limits.max_size,
            "cursorTimeout": CURSOR_TIMEOUT_SECS
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A connection token issued by Roster (`roster connection create` or `roster token issue`), sent as `Authorization: Bearer <token>`.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig")
        }
    })
}
