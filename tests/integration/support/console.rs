//! A console client over plain HTTP: keeps the session cookie by hand, follows no redirects, and
//! reads the CSRF token out of pages, as a browser's form would send it.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

use super::TestApp;

/// A response, read completely.
#[derive(Debug)]
pub struct Page {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body as text.
    pub body: String,
}

impl Page {
    /// The redirect target.
    pub fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The `_csrf` value of the page's first form.
    pub fn csrf(&self) -> String {
        let marker = r#"name="_csrf" value=""#;
        let start =
            self.body.find(marker).unwrap_or_else(|| panic!("no CSRF field in {}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap().to_string()
    }
}

/// A console user agent.
pub struct Console {
    root: String,
    client: reqwest::Client,
    /// The session cookie (`name=value`), once signed in.
    pub cookie: Option<String>,
}

impl Console {
    /// A client with no session.
    pub fn new(app: &TestApp) -> Console {
        let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        Console { root: app.root.clone(), client, cookie: None }
    }

    async fn finish(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header(COOKIE, c.clone()),
            None => req,
        };
        let res = req.send().await.expect("console request");
        for value in res.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap().trim().to_string();
            if pair.starts_with("roster_console=") {
                self.cookie = (pair != "roster_console=").then_some(pair);
            }
        }
        let (status, headers) = (res.status(), res.headers().clone());
        Page { status, headers, body: res.text().await.unwrap() }
    }

    /// GET a console path.
    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.client.get(format!("{}{path}", self.root));
        self.finish(req).await
    }

    /// POST a form to a console path.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.client.post(format!("{}{path}", self.root)).form(form);
        self.finish(req).await
    }

    /// POST a form with the CSRF token of the page at `from`.
    pub async fn submit(&mut self, from: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let token = self.get(from).await.csrf();
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("_csrf", &token));
        self.post(path, &fields).await
    }

    /// Sign in with a credential; panics unless a session opened.
    pub async fn sign_in(app: &TestApp, credential: &str) -> Console {
        let mut console = Console::new(app);
        let page = console.post("/console/sign-in", &[("credential", credential)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert!(console.cookie.is_some(), "no session cookie");
        console
    }
}
