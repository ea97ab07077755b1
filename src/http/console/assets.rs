//! The console's static files, compiled into the binary: htmx (vendored from the npm registry,
//! `htmx.org` 2.0.11, Zero-Clause BSD licence in `assets/htmx.LICENSE`), the stylesheet and a few
//! lines of our own script (copy buttons). Pages link them with a digest of their content in the
//! query, so they can be cached for a year and still change with a new build.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use sha2::{Digest, Sha256};

use super::ConsoleResult;
use crate::error::ScimError;

/// One static file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: [Asset; 4] = [
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/htmx.min.js"),
    },
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/console.css"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/console.js"),
    },
    Asset {
        name: "htmx.LICENSE",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("assets/htmx.LICENSE"),
    },
];

/// A short digest of every asset's content, computed once.
static VERSIONS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| Sha256::digest(a.body).iter().take(6).map(|b| format!("{b:02x}")).collect())
        .collect()
});

/// The URL of asset `name`, with its content digest (for long caching).
pub fn url(name: &str) -> String {
    let version = ASSETS.iter().position(|a| a.name == name).map(|i| VERSIONS[i].as_str()).unwrap_or("");
    format!("/console/assets/{name}?v={version}")
}

/// GET /console/assets/{file}: served from the binary, cacheable for a year.
pub async fn serve(file: web::Path<String>) -> ConsoleResult<HttpResponse> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == file.as_str())
        .ok_or_else(|| ScimError::not_found("no such console asset"))?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(asset.body))
}
