//! The console's page shell (head, navigation, sign-out) and small shared pieces: the CSRF field,
//! times, copyable secrets. Everything interpolated here is escaped by maud.

use actix_web::HttpResponse;
use chrono::{DateTime, SecondsFormat, Utc};
use maud::{html, Markup, DOCTYPE};

use super::assets::url;
use super::csrf::FIELD;
use super::session::{Kind, Session};

/// The tenant pages' navigation entries: (path below `/console/t/{slug}`, label, directory page).
const NAV: [(&str, &str, bool); 9] = [
    ("", "Connections", false),
    ("/log", "Provisioning log", false),
    ("/members", "Members", true),
    ("/groups", "Groups", true),
    ("/join", "Join", true),
    ("/roles", "Roles & settings", true),
    ("/import", "Import", true),
    ("/webhooks", "Webhooks", true),
    ("/audit", "Audit log", true),
];

/// A page's context: who is signed in and which tenant it is about.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// The session (none on the sign-in pages).
    pub session: Option<&'a Session>,
    /// The tenant slug the page is about.
    pub tenant: Option<&'a str>,
    /// The navigation entry to mark.
    pub current: &'a str,
}

impl<'a> Frame<'a> {
    /// A tenant page.
    pub fn tenant(session: &'a Session, slug: &'a str, current: &'a str) -> Self {
        Frame { session: Some(session), tenant: Some(slug), current }
    }
}

/// The hidden CSRF field of a form.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name=(FIELD) value=(session.csrf); }
}

/// A time as the console shows it (UTC, seconds).
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true).replace('T', " ")
}

/// An optional time, or a dash.
pub fn maybe_time(t: Option<DateTime<Utc>>) -> String {
    t.map(time).unwrap_or_else(|| "—".into())
}

/// A read-only field with a copy button.
pub fn copyable(id: &str, label: &str, value: &str) -> Markup {
    html! {
        // The step around the field already names it; the label is for screen readers.
        label.visually-hidden for=(id) { (label) }
        div.secret {
            input type="text" id=(id) readonly value=(value);
            button type="button" class="secondary" data-copy=(id) { "Copy" }
        }
    }
}

/// The whole page around `body`.
pub fn page(title: &str, frame: Frame<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // htmx's indicator styles would be an inline <style>, which the CSP refuses.
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
                title { (title) " · Roster console" }
                link rel="stylesheet" href=(url("console.css"));
                script src=(url("htmx.min.js")) defer {}
                script src=(url("console.js")) defer {}
            }
            body {
                header.top {
                    a.brand href="/console/" { "Roster" }
                    @if let (Some(session), Some(slug)) = (frame.session, frame.tenant) {
                        nav {
                            @for (path, label, directory) in NAV {
                                @if !directory || session.kind != Kind::SetupLink {
                                    a href={ "/console/t/" (slug) (path) }
                                      class=[(frame.current == label).then_some("current")] { (label) }
                                }
                            }
                        }
                    }
                    @if let Some(session) = frame.session {
                        div.who {
                            span {
                                @match session.kind {
                                    Kind::Operator => "Operator",
                                    Kind::TenantAdmin { .. } => "Tenant admin",
                                    Kind::SetupLink => "Setup link",
                                }
                                @if let Some(slug) = frame.tenant { " · " strong { (slug) } }
                            }
                            @if session.kind == Kind::Operator {
                                a href="/console/tenants" { "Switch tenant" }
                            }
                            form.inline method="post" action="/console/sign-out" {
                                (csrf(session))
                                button type="submit" class="secondary" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A full HTML response.
pub fn respond(markup: Markup) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(markup.into_string())
}

/// A fragment for htmx (no shell).
pub fn fragment(markup: Markup) -> HttpResponse {
    respond(markup)
}

/// A 303 redirect after a successful POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, location)).finish()
}

/// The page of an error: its status and the detail a person can act on.
pub fn error_page(status: u16, detail: &str) -> Markup {
    let frame = Frame { session: None, tenant: None, current: "" };
    page(
        "Error",
        frame,
        html! {
            h1 { "Error " (status) }
            div.error { (detail) }
            p { a href="/console/" { "Console home" } }
        },
    )
}
