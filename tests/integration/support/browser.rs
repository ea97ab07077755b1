//! Headless Chromium driven over W3C WebDriver (Debian's `chromium` and `chromedriver`, which
//! `.ci/run` installs). The handful of WebDriver calls the console tests need are plain JSON
//! over HTTP, so they are made with reqwest, already a dependency, rather than a WebDriver crate
//! (fantoccini would pull in a second TLS stack with a C build, aws-lc-sys, for localhost HTTP).
//!
//! Each [`Browser`] starts its own chromedriver on a free port and a Chromium with a fresh
//! profile directory, and stops both when dropped. Browser tests take [`Browser::exclusive`]
//! first, so only one Chromium runs at a time on a small machine.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a wait for the page may take before the test fails.
const WAIT: Duration = Duration::from_secs(30);

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A headless Chromium session.
pub struct Browser {
    driver: Child,
    base: String,
    client: reqwest::Client,
    profile: std::path::PathBuf,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// An element on the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Start chromedriver and a headless Chromium (waits for the browser's turn).
    pub async fn exclusive() -> Browser {
        let turn = ONE_AT_A_TIME.lock().await;
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver must be installed for the browser tests (apt-get install chromium chromium-driver)");
        let profile = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("chromium-profile-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let base = format!("http://127.0.0.1:{port}");
        // A WebDriver call that hangs fails the test instead.
        let client = reqwest::Client::builder().timeout(WAIT).build().unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = client.get(format!("{base}/status")).send().await.ok();
            if let Some(r) = ready {
                let status: Value = r.json().await.unwrap_or(Value::Null);
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1100,800",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let created: Value =
            client.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}"));
        let base = format!("{base}/session/{id}");
        Browser { driver, base, client, profile, _turn: turn }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let reply: Value = req.send().await.unwrap().json().await.unwrap();
        reply["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let v = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!(v.get("error").is_none(), "WebDriver {path}: {v}");
        v
    }

    /// Open a URL.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or("").to_string()
    }

    async fn find_now(&self, css: &str) -> Option<Element> {
        let v = self
            .call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css})))
            .await;
        v[ELEMENT].as_str().map(|id| Element(id.to_string()))
    }

    /// Wait until an element matching `css` is on the page.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(e) = self.find_now(css).await {
                return e;
            }
            assert!(Instant::now() < deadline, "no element {css} on {}", self.url().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Click an element.
    pub async fn click(&self, e: &Element) {
        self.post(&format!("/element/{}/click", e.0), json!({})).await;
    }

    /// Type into an element.
    pub async fn type_into(&self, e: &Element, text: &str) {
        self.post(&format!("/element/{}/value", e.0), json!({"text": text})).await;
    }

    /// An element's visible text.
    pub async fn text(&self, e: &Element) -> String {
        let v = self.call(reqwest::Method::GET, &format!("/element/{}/text", e.0), None).await;
        v.as_str().unwrap_or("").to_string()
    }

    /// An element's property (e.g. `value`).
    pub async fn property(&self, e: &Element, name: &str) -> String {
        let v = self.call(reqwest::Method::GET, &format!("/element/{}/property/{name}", e.0), None).await;
        v.as_str().unwrap_or("").to_string()
    }

    /// Run a script in the page and return its result.
    pub async fn script(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []})).await
    }

    /// Wait until the text of the element matching `css` contains `wanted`.
    pub async fn wait_for_text(&self, css: &str, wanted: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(e) = self.find_now(css).await {
                let text = self.text(&e).await;
                if text.contains(wanted) {
                    return text;
                }
            }
            if Instant::now() >= deadline {
                let page = self.script("return document.documentElement.outerHTML").await;
                panic!("{css} never showed {wanted:?} on {}: {page}", self.url().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of an open alert, if one is open.
    pub async fn alert_text(&self) -> Option<String> {
        let v = self.call(reqwest::Method::GET, "/alert/text", None).await;
        v.as_str().map(str::to_string)
    }

    /// Save a PNG of the viewport to `$ROSTER_SCREENSHOTS_DIR/<name>` when that variable is set.
    pub async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("ROSTER_SCREENSHOTS_DIR") else { return };
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session stops Chromium; then chromedriver.
        // A client of its own: the test's client belongs to the test's (unwinding) runtime.
        let base = self.base.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            let client = reqwest::Client::builder().timeout(WAIT).build().ok()?;
            rt.block_on(async { client.delete(base).send().await.ok() })
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
