//! `GET /join/{tenant}`: the hosted registration page, for tenants without a front end of their
//! own. Server-rendered HTML with every value escaped ([`escape`]); its one inline script (allowed
//! by a per-response CSP nonce, nothing loaded from elsewhere) posts to the JSON join API with a
//! same-origin `fetch`. No CSRF token is needed: the page carries no credential, and the API
//! accepts only JSON bodies (a cross-site HTML form can only send form or text media types, which
//! get 415). A link token travels in the URL fragment (`/join/acme#link=<token>`), which browsers
//! never send to a server, so it reaches neither logs nor `Referer` headers.

use actix_web::{web, HttpRequest, HttpResponse};

use super::admit;
use crate::error::ScimResult;
use crate::http::AppState;

/// Escape text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const TEMPLATE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Join {NAME}</title>
<style nonce="{NONCE}">
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1f2933}
label{display:block;margin:.6rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}#result{margin-top:1rem;font-weight:600}.hidden{display:none}
</style></head>
<body data-tenant="{SLUG}">
<h1>Join {NAME}</h1>
<form id="join">
<label for="givenName">First name</label><input id="givenName" name="givenName" required maxlength="200">
<label for="familyName">Last name</label><input id="familyName" name="familyName" required maxlength="200">
<label for="email">Email</label><input id="email" name="email" type="email" maxlength="320">
<label for="userName">Username (if you have no email)</label><input id="userName" name="userName" maxlength="200">
<div id="personal"><label for="personalNumber">Personnel number (if your organization gave you one)</label>
<input id="personalNumber" name="personalNumber" maxlength="200"></div>
<button type="submit">Join</button>
</form>
<p id="result" role="status"></p>
<script nonce="{NONCE}">
(function () {
  var tenant = encodeURIComponent(document.body.dataset.tenant);
  var base = "/join/v1/tenants/" + tenant;
  var m = /(?:^#|&)link=([A-Za-z0-9_-]+)/.exec(location.hash);
  var link = m ? m[1] : null;
  var result = document.getElementById("result");
  if (link) { document.getElementById("personal").className = "hidden"; }
  document.getElementById("join").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = {};
    ["givenName", "familyName", "email", "userName", "personalNumber"].forEach(function (k) {
      var v = document.getElementById(k).value.trim();
      if (v && !(link && k === "personalNumber")) { body[k] = v; }
    });
    var url = link ? base + "/links/" + link : (body.personalNumber ? base + "/registrations" : base + "/requests");
    fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
                credentials: "omit"})
      .then(function (r) { return r.json(); })
      .then(function (a) {
        result.textContent = a.outcome === "joined" ? a.detail
          : a.outcome === "pending" ? a.detail
          : a.outcome === "refused" ? "Not admitted: " + a.reason
          : (a.detail || "Something went wrong; try again later.");
      })
      .catch(function () { result.textContent = "Something went wrong; try again later."; });
  });
})();
</script>
</body></html>
"#;

/// GET /join/{tenant} — the hosted registration page.
pub async fn page(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let (_, tenant, _) = admit(&req, &state, &path).await?;
    let nonce = crate::directory::join::new_token();
    let html = TEMPLATE
        .replace("{NONCE}", &nonce)
        .replace("{SLUG}", &escape(&tenant.slug))
        .replace("{NAME}", &escape(&tenant.name));
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; \
                 form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
            ),
        ))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(html))
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">O'Neil & co</a>"#),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;"
        );
    }
}
