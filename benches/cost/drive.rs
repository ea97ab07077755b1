//! Generating load: concurrent keep-alive HTTP clients against `roster serve` (inside the bench,
//! on its single-threaded runtime; [`Bare`] by default, reqwest with `--client reqwest`),
//! `pgbench` for the raw PostgreSQL side, and the CPU time of the server processes
//! (`/proc/<pid>/stat`) over each measurement window.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::future::join_all;
use reqwest::Method;

/// One request of a scenario.
#[derive(Debug, Clone)]
pub struct Req {
    /// HTTP method.
    pub method: Method,
    /// Path and query under the SCIM base (`/Users/…`).
    pub path: String,
    /// JSON body.
    pub body: Option<String>,
    /// Expected status.
    pub expect: u16,
    /// Text the response body must contain (e.g. `"totalResults":1,`).
    pub contains: Option<&'static str>,
}

impl Req {
    /// A GET expecting 200.
    pub fn get(path: String) -> Req {
        Req { method: Method::GET, path, body: None, expect: 200, contains: None }
    }

    /// A request with a JSON body.
    pub fn with_body(method: Method, path: String, body: String, expect: u16) -> Req {
        Req { method, path, body: Some(body), expect, contains: None }
    }
}

/// The requests of one client: request `seq` (0, 1, …), or `None` when it has no more.
pub type Gen<'a> = Box<dyn FnMut(u64) -> Option<Req> + 'a>;

/// CPU seconds (user + system) of the processes that serve requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// `roster serve`.
    pub roster: f64,
    /// The postmaster and all its children (backends, background workers), including children
    /// that exited (the postmaster's cutime/cstime).
    pub pg: f64,
    /// The load generator: this process and its finished children (pgbench). Not part of the
    /// cost per request; reported to show what the clients took from the 2 shared cores.
    pub client: f64,
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, o: Cpu) -> Cpu {
        Cpu { roster: self.roster - o.roster, pg: self.pg - o.pg, client: self.client - o.client }
    }
}

/// Reads [`Cpu`] of a roster process and a postmaster (either may be unknown).
#[derive(Debug, Clone, Copy)]
pub struct Meter {
    /// Pid of `roster serve`.
    pub roster: Option<u32>,
    /// Pid of the postmaster (`None` when the server is not on this machine).
    pub postmaster: Option<u32>,
    ticks: f64,
}

/// (ppid, utime, stime, cutime, cstime) of a `/proc/<pid>/stat` text.
fn stat_fields(text: &str) -> Option<(u32, u64, u64, u64, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    Some((
        f.get(1)?.parse().ok()?,
        f.get(11)?.parse().ok()?,
        f.get(12)?.parse().ok()?,
        f.get(13)?.parse().ok()?,
        f.get(14)?.parse().ok()?,
    ))
}

impl Meter {
    /// A meter for these processes.
    pub fn new(roster: Option<u32>, postmaster: Option<u32>) -> Meter {
        // /proc reports times in USER_HZ, which is 100 on every architecture Roster runs on.
        Meter { roster, postmaster, ticks: 100.0 }
    }

    /// The postmaster of a backend (its parent), if the backend is a local process.
    pub fn parent_of(pid: u32) -> Option<u32> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat_fields(&text).map(|f| f.0)
    }

    /// Current CPU seconds.
    pub fn read(&self) -> Cpu {
        let mut cpu = Cpu::default();
        if let Some((_, u, s, cu, cs)) =
            std::fs::read_to_string("/proc/self/stat").ok().as_deref().and_then(stat_fields)
        {
            cpu.client = (u + s + cu + cs) as f64 / self.ticks;
        }
        if let Some(pid) = self.roster {
            if let Some((_, u, s, _, _)) =
                std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().as_deref().and_then(stat_fields)
            {
                cpu.roster = (u + s) as f64 / self.ticks;
            }
        }
        let Some(pm) = self.postmaster else { return cpu };
        let mut ticks = 0u64;
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let name = entry.file_name();
                let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
                let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
                let Some((ppid, u, s, cu, cs)) = stat_fields(&text) else { continue };
                if pid == pm {
                    ticks += u + s + cu + cs;
                } else if ppid == pm {
                    ticks += u + s;
                }
            }
        }
        cpu.pg = ticks as f64 / self.ticks;
        cpu
    }
}

/// What one measurement window gave.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Requests / transactions completed as expected.
    pub ok: u64,
    /// Failed ones (wrong status, transport error, unexpected body; pgbench: failed + aborted clients).
    pub errors: u64,
    /// Wall seconds of the window.
    pub secs: f64,
    /// Completed per second (pgbench: its tps without connection time).
    pub rate: f64,
    /// Latencies of the completed requests (ms; empty for pgbench).
    pub latencies: Vec<f64>,
    /// pgbench's average latency (ms).
    pub avg_latency: Option<f64>,
    /// CPU used in the window.
    pub cpu: Cpu,
    /// The first error, for the log.
    pub first_error: Option<String>,
    /// Some client ran out of requests before the window ended.
    pub exhausted: bool,
    /// Provisioning-log rows the window's requests left (Roster windows; one per request is
    /// expected, none lost under load).
    pub log_rows: Option<u64>,
}

impl Outcome {
    /// CPU milliseconds per completed request (Roster + PostgreSQL).
    pub fn cpu_ms(&self) -> f64 {
        if self.ok == 0 {
            return f64::NAN;
        }
        (self.cpu.roster + self.cpu.pg) * 1000.0 / self.ok as f64
    }

    /// The load generator's CPU milliseconds per completed request.
    pub fn client_ms(&self) -> f64 {
        self.per_request(self.cpu.client)
    }

    /// `roster serve`'s CPU milliseconds per completed request.
    pub fn roster_ms(&self) -> f64 {
        self.per_request(self.cpu.roster)
    }

    /// PostgreSQL's CPU milliseconds per completed request.
    pub fn pg_ms(&self) -> f64 {
        self.per_request(self.cpu.pg)
    }

    fn per_request(&self, secs: f64) -> f64 {
        secs * 1000.0 / self.ok.max(1) as f64
    }
}

/// The HTTP clients' side: one keep-alive client (one connection) per worker.
#[derive(Clone)]
pub struct Load {
    /// `http://127.0.0.1:PORT/scim/v2/<connection>`.
    pub base: String,
    /// Bearer token.
    pub token: String,
    /// The tenant of the connection.
    pub tenant: uuid::Uuid,
}

/// Which HTTP client generates the load (`--client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// [`Bare`]: one HTTP/1.1 keep-alive connection written and read by hand (the default):
    /// 0.022–0.026 ms of CPU per GET, against `pgbench`'s 0.014–0.020 per transaction.
    Bare,
    /// reqwest (hyper): the client of the bench before 2026-12-07; 0.040–0.050 ms of CPU per GET,
    /// about twice [`ClientKind::Bare`]'s, taken from the same two cores the server runs on.
    Reqwest,
}

/// One client: one keep-alive connection.
pub enum Client {
    /// See [`ClientKind::Bare`].
    Bare(tokio::sync::Mutex<Bare>),
    /// See [`ClientKind::Reqwest`].
    Reqwest(reqwest::Client),
}

/// `n` keep-alive clients of one kind.
pub fn clients(n: usize, kind: ClientKind) -> anyhow::Result<Vec<Client>> {
    (0..n)
        .map(|_| {
            Ok(match kind {
                ClientKind::Bare => Client::Bare(tokio::sync::Mutex::new(Bare::default())),
                ClientKind::Reqwest => Client::Reqwest(
                    reqwest::Client::builder()
                        .no_proxy()
                        .pool_max_idle_per_host(1)
                        .timeout(Duration::from_secs(120))
                        .build()?,
                ),
            })
        })
        .collect()
}

/// A bare HTTP/1.1 client: the request written in one buffer, the response read up to its
/// `Content-Length` (or its chunks), the connection kept open unless the server closes it. No
/// redirects, no TLS, no proxies: only what talking to `roster serve` on loopback needs, so that
/// the load generator takes little of the shared CPU per request ([`ClientKind::Bare`]).
#[derive(Default)]
pub struct Bare {
    stream: Option<tokio::net::TcpStream>,
    request: Vec<u8>,
    buf: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Bare {
    /// Send one request to `url` (`http://host:port/path`) and return its status and body.
    async fn exchange(&mut self, req: &Req, url: &str, token: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let rest = url.strip_prefix("http://").context("the bare client speaks plain http only")?;
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        self.request.clear();
        let body = req.body.as_deref().unwrap_or("");
        let head = format!(
            "{} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n",
            req.method.as_str()
        );
        self.request.extend_from_slice(head.as_bytes());
        if req.body.is_some() {
            let length = format!("Content-Type: application/scim+json\r\nContent-Length: {}\r\n", body.len());
            self.request.extend_from_slice(length.as_bytes());
        }
        self.request.extend_from_slice(b"\r\n");
        self.request.extend_from_slice(body.as_bytes());
        // A kept connection the server closed meanwhile fails on first use: one fresh try.
        let fresh = self.stream.is_none();
        let result = match self.once(host).await {
            Err(_) if !fresh => {
                self.stream = None;
                self.once(host).await
            }
            r => r,
        };
        match result {
            Ok((status, body, keep)) => {
                if !keep {
                    self.stream = None;
                }
                Ok((status, body))
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    async fn once(&mut self, host: &str) -> anyhow::Result<(u16, Vec<u8>, bool)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let stream = match &mut self.stream {
            Some(stream) => stream,
            slot @ None => {
                let stream = tokio::net::TcpStream::connect(host).await?;
                stream.set_nodelay(true)?;
                slot.insert(stream)
            }
        };
        stream.write_all(&self.request).await?;
        self.buf.clear();
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if stream.read_buf(&mut self.buf).await? == 0 {
                anyhow::bail!("connection closed before a response");
            }
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).context("response head is not UTF-8")?;
        let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).context("no status line")?;
        let (mut length, mut chunked, mut keep) = (None, false, true);
        for line in head.split("\r\n").skip(1) {
            let Some((name, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>()?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                keep = !value.eq_ignore_ascii_case("close");
            }
        }
        let mut body = Vec::new();
        let mut at = head_end;
        if chunked {
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf[at..], b"\r\n") {
                        break at + i;
                    }
                    if stream.read_buf(&mut self.buf).await? == 0 {
                        anyhow::bail!("connection closed inside a chunked body");
                    }
                };
                let size_text = std::str::from_utf8(&self.buf[at..line_end])?;
                let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
                let end = size.checked_add(line_end + 4).context("chunk size out of range")?;
                while self.buf.len() < end {
                    if stream.read_buf(&mut self.buf).await? == 0 {
                        anyhow::bail!("connection closed inside a chunk");
                    }
                }
                body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
                at = end;
                if size == 0 {
                    break;
                }
            }
        } else {
            let end = head_end.checked_add(length.unwrap_or(0)).context("Content-Length out of range")?;
            while self.buf.len() < end {
                if stream.read_buf(&mut self.buf).await? == 0 {
                    anyhow::bail!("connection closed inside a body");
                }
            }
            body.extend_from_slice(&self.buf[head_end..end]);
        }
        Ok((status, body, keep))
    }
}

struct WorkerResult {
    ok: u64,
    errors: u64,
    latencies: Vec<f64>,
    first_error: Option<String>,
    exhausted: bool,
}

/// One request through `client`: its status and body.
async fn send(client: &Client, load: &Load, req: &Req, url: &str) -> anyhow::Result<(u16, Vec<u8>)> {
    match client {
        Client::Bare(bare) => bare.lock().await.exchange(req, url, &load.token).await,
        Client::Reqwest(client) => {
            let mut builder = client.request(req.method.clone(), url).bearer_auth(&load.token);
            if let Some(body) = &req.body {
                builder =
                    builder.header(reqwest::header::CONTENT_TYPE, "application/scim+json").body(body.clone());
            }
            let response = builder.send().await?;
            let status = response.status().as_u16();
            Ok((status, response.bytes().await?.to_vec()))
        }
    }
}

async fn worker(client: &Client, load: &Load, mut gen: Gen<'_>, deadline: Option<Instant>) -> WorkerResult {
    let mut r = WorkerResult { ok: 0, errors: 0, latencies: Vec::new(), first_error: None, exhausted: false };
    let mut seq = 0u64;
    let mut url = String::new();
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let Some(req) = gen(seq) else {
            r.exhausted = deadline.is_some();
            break;
        };
        seq += 1;
        url.clear();
        url.push_str(&load.base);
        url.push_str(&req.path);
        let start = Instant::now();
        let result = send(client, load, &req, &url).await;
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        let failure = match result {
            Ok((status, _)) if status != req.expect => {
                Some(format!("{} {}: status {status}, expected {}", req.method, req.path, req.expect))
            }
            Ok((_, body)) => match req.contains {
                Some(text) if find(&body, text.as_bytes()).is_none() => {
                    Some(format!("{} {}: body lacks {text}", req.method, req.path))
                }
                _ => None,
            },
            Err(e) => Some(format!("{} {}: {e}", req.method, req.path)),
        };
        match failure {
            None => {
                r.ok += 1;
                r.latencies.push(elapsed);
            }
            Some(f) => {
                r.errors += 1;
                r.first_error.get_or_insert(f);
            }
        }
    }
    r
}

/// Run one generator per client until `duration` has passed (or every generator is exhausted
/// when `duration` is `None`), measuring CPU with `meter`.
pub async fn http(
    clients: &[Client],
    load: &Load,
    gens: Vec<Gen<'_>>,
    duration: Option<Duration>,
    meter: &Meter,
) -> Outcome {
    let before = meter.read();
    let start = Instant::now();
    let deadline = duration.map(|d| start + d);
    let results = join_all(clients.iter().zip(gens).map(|(c, g)| worker(c, load, g, deadline))).await;
    let secs = start.elapsed().as_secs_f64();
    let cpu = meter.read() - before;
    let mut out = Outcome { secs, cpu, ..Outcome::default() };
    for r in results {
        out.ok += r.ok;
        out.errors += r.errors;
        out.latencies.extend(r.latencies);
        out.exhausted |= r.exhausted;
        if out.first_error.is_none() {
            out.first_error = r.first_error;
        }
    }
    out.rate = out.ok as f64 / secs;
    out
}

/// pgbench and where its scripts go.
pub struct Pgbench {
    /// The pgbench binary.
    pub bin: PathBuf,
    /// Connection URI of the bench database.
    pub url: String,
    /// Directory of the script files.
    pub dir: PathBuf,
}

fn number_after(text: &str, prefix: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.trim_start().starts_with(prefix))?;
    let rest = line.trim_start()[prefix.len()..].trim_start();
    let num: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    num.parse().ok()
}

impl Pgbench {
    /// Write script `name` (the file is kept for the report and for reruns by hand).
    pub fn script(&self, name: &str, text: &str) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(format!("{name}.sql"));
        std::fs::write(&path, text)?;
        Ok(path)
    }

    /// `pgbench -n -M prepared -c clients -j 2 -T secs -f script`, measuring CPU with `meter`.
    pub fn run(&self, script: &Path, clients: usize, secs: u64, meter: &Meter) -> anyhow::Result<Outcome> {
        let before = meter.read();
        let start = Instant::now();
        let out = Command::new(&self.bin)
            .args(["-n", "-M", "prepared", "-c", &clients.to_string(), "-j", &clients.min(2).to_string()])
            .args(["-T", &secs.to_string(), "-f"])
            .arg(script)
            .arg(&self.url)
            .output()
            .with_context(|| format!("running {}", self.bin.display()))?;
        let elapsed = start.elapsed().as_secs_f64();
        let cpu = meter.read() - before;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let processed = number_after(&stdout, "number of transactions actually processed:");
        let Some(processed) = processed else {
            anyhow::bail!(
                "pgbench {} gave no result ({}):\n{stdout}\n{stderr}",
                script.display(),
                out.status
            );
        };
        let failed = number_after(&stdout, "number of failed transactions:").unwrap_or(0.0);
        let aborted = stderr.lines().filter(|l| l.contains("aborted")).count() as u64;
        let tps = stdout
            .lines()
            .find(|l| l.starts_with("tps = ") && l.contains("without initial connection time"))
            .and_then(|l| number_after(l, "tps ="));
        let first_error =
            stderr.lines().find(|l| l.contains("ERROR") || l.contains("aborted")).map(str::to_string);
        Ok(Outcome {
            ok: processed as u64,
            errors: failed as u64 + aborted,
            secs: elapsed,
            rate: tps.unwrap_or(processed / secs as f64),
            latencies: Vec::new(),
            avg_latency: number_after(&stdout, "latency average ="),
            cpu,
            first_error,
            exhausted: false,
            log_rows: None,
        })
    }
}
