//! The embedded default database: a private PostgreSQL cluster that Roster starts itself when
//! `DATABASE_URL` is unset.
//!
//! # Layout
//! Under `data_dir` (created with mode 0700 if missing):
//! - `pg/` — the cluster (`initdb -D`), role `roster`, scram-sha-256 auth, TCP on 127.0.0.1 only;
//! - `pg.log` — output of initdb and of the postmaster (appended);
//! - `pg-password` (0600) — the generated password of `roster` (32 hex characters);
//! - `pg-port` — the port used last time (reused when still free);
//! - `.lock` — flock'd for the whole start sequence, so concurrent starters end with one postmaster.
//!
//! # Running as root
//! PostgreSQL refuses to run as root, so when euid is 0 every server binary (initdb, postgres)
//! runs as [`ClusterOptions::os_user`]. If that user cannot traverse every ancestor of `data_dir`
//! or cannot write `data_dir` itself (mode bits only, ACLs ignored; a root-owned `data_dir` that
//! holds nothing but Roster's own files, e.g. one Roster just created, is first chowned to the
//! user, under the start lock), the cluster is kept in
//! `/var/lib/roster/clusters/<first 16 hex of sha256(canonical data_dir)>/pg` instead, which is
//! deterministic so the next start finds it (an initialised cluster in either place always wins).
//! The password, port and lock files stay in `data_dir`. So does `pg.log`: Roster opens it itself
//! and hands the open descriptor to the server as stdout/stderr, so the server never needs to
//! reach the path, and the operator finds the log where the rest of the state is.
//!
//! # Process lifetime
//! The postmaster is a direct child (no pg_ctl, no daemonising) in its own process group, so a
//! terminal Ctrl-C reaches only Roster, which then stops the cluster in order. It is forked by a
//! dedicated keeper thread that waits on it, and carries `PR_SET_PDEATHSIG(SIGINT)`: if Roster
//! dies without cleaning up, the keeper thread dies with it and the cluster shuts down.
//! A postmaster that is already running for the cluster is reused without being owned.

mod bins;
mod error;
mod layout;
mod process;
#[cfg(test)]
mod tests;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use bins::find_bin_dir;
pub use error::LocalPgError;
use nix::errno::Errno;
use nix::unistd::Pid;
use process::{NotReady, Postmaster, Watch};

/// How long a starting server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a fast shutdown may take before SIGQUIT.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// Lines of the server log quoted in error messages.
const TAIL_LINES: usize = 20;

/// Where and how to run the embedded cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Directory holding the cluster and its password, log, port and lock files.
    pub data_dir: PathBuf,
    /// Directory of the server binaries; `None` searches as [`find_bin_dir`] does.
    pub bin_dir: Option<PathBuf>,
    /// OS user that runs PostgreSQL when Roster runs as root (default `postgres`).
    pub os_user: String,
    /// Trade durability for speed (fsync, synchronous_commit, full_page_writes off): for test clusters.
    pub ephemeral_tuning: bool,
}

impl ClusterOptions {
    /// Options with defaults: binaries searched for, OS user `postgres`, durable settings.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ClusterOptions {
            data_dir: data_dir.into(),
            bin_dir: None,
            os_user: "postgres".to_string(),
            ephemeral_tuning: false,
        }
    }
}

/// A running embedded cluster; stops it on drop if this handle started it.
pub struct LocalCluster {
    port: u16,
    password: String,
    bin_dir: PathBuf,
    layout: layout::Layout,
    postmaster: Option<Postmaster>,
}

impl std::fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCluster")
            .field("port", &self.port)
            .field("cluster", &self.layout.cluster)
            .field("pid", &self.postmaster.as_ref().map(Postmaster::pid))
            .finish_non_exhaustive()
    }
}

impl LocalCluster {
    /// Initialises the cluster if needed and starts it, or attaches to its running postmaster (blocking).
    pub fn start(opts: &ClusterOptions) -> Result<LocalCluster, LocalPgError> {
        let bin_dir = find_bin_dir(opts.bin_dir.as_deref())?;
        let user = layout::os_user(&opts.os_user)?;
        let dir = layout::create_data_dir(&opts.data_dir)?;
        let _lock = layout::lock(&dir.join(".lock"))?;
        let layout = layout::resolve(&dir, user.as_ref())?;

        let initialised = layout.cluster.join("PG_VERSION").is_file();
        let password = layout::password(&layout, initialised)?;
        if !initialised {
            tracing::info!(cluster = %layout.cluster.display(), "initialising embedded PostgreSQL cluster");
            process::initdb(&bin_dir, &layout, user.as_ref(), &password, opts.ephemeral_tuning)?;
        }

        let mut cluster = LocalCluster { port: 0, password, bin_dir, layout, postmaster: None };
        if let Some((pid, port)) = running_postmaster(&cluster.layout.cluster) {
            cluster.port = port;
            match cluster.wait_ready(Some(pid)) {
                Ok(()) => {
                    tracing::info!(port, cluster = %cluster.layout.cluster.display(), "reusing running embedded PostgreSQL");
                    return Ok(cluster);
                }
                // It was shutting down and is gone now: start our own below.
                Err(LocalPgError::StartFailed { .. }) => {}
                Err(e) => return Err(e),
            }
        }

        cluster.port = layout::choose_port(&cluster.layout.port)?;
        let mut log = layout::open_log(&cluster.layout.log)?;
        let note = format!("starting postgres on 127.0.0.1:{}", cluster.port);
        process::note(&mut log, &cluster.layout.log, &note)?;
        let mut cmd =
            process::command(&cluster.bin_dir.join("postgres"), user.as_ref(), Some(&cluster.layout.cluster));
        cmd.arg("-D")
            .arg(&cluster.layout.cluster)
            .arg("-p")
            .arg(cluster.port.to_string())
            .stdout(log.try_clone().map_err(LocalPgError::io("reopen", &cluster.layout.log))?)
            .stderr(log)
            .process_group(0);
        let postmaster = Postmaster::spawn(cmd)
            .map_err(|e| cluster.start_failed(format!("could not run postgres: {e}")))?;
        cluster.postmaster = Some(postmaster);
        // On error `cluster` is dropped here, which stops the postmaster we just spawned.
        cluster.wait_ready(None)?;
        tracing::info!(port = cluster.port, cluster = %cluster.layout.cluster.display(), "embedded PostgreSQL started");
        Ok(cluster)
    }

    /// Creates database `name` (owned by `roster`) unless it already exists.
    pub fn ensure_database(&self, name: &str) -> Result<(), LocalPgError> {
        let out = process::command(&self.bin_dir.join("createdb"), None, None)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", process::ROLE])
            .args(["--maintenance-db=postgres", "--", name])
            .env("PGPASSWORD", &self.password)
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .map_err(LocalPgError::io("run", &self.bin_dir.join("createdb")))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || stderr.contains("already exists") {
            return Ok(());
        }
        Err(LocalPgError::CreateDatabase {
            name: name.to_string(),
            detail: format!("createdb {}: {}", out.status, stderr.trim()),
        })
    }

    /// Connection URL for `database`: `postgres://roster:<password>@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{}",
            process::ROLE,
            self.password,
            self.port,
            percent_encode(database)
        )
    }

    /// TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// True when this handle started the postmaster (and so stops it).
    pub fn owns_process(&self) -> bool {
        self.postmaster.is_some()
    }

    /// The cluster's data directory (`data_dir/pg`, or the fallback directory when root).
    pub fn cluster_dir(&self) -> &Path {
        &self.layout.cluster
    }

    /// The server log file.
    pub fn log_path(&self) -> &Path {
        &self.layout.log
    }

    /// Stops the postmaster if this handle owns it (fast shutdown, bounded wait). Idempotent.
    pub fn stop(&mut self) -> Result<(), LocalPgError> {
        match self.postmaster.take() {
            Some(mut postmaster) => {
                let result = postmaster.shutdown(STOP_GRACE);
                tracing::info!(pid = postmaster.pid(), "embedded PostgreSQL stopped");
                result
            }
            None => Ok(()),
        }
    }

    /// Waits for readiness, watching our child, or `foreign` (a postmaster someone else started).
    fn wait_ready(&mut self, foreign: Option<Pid>) -> Result<(), LocalPgError> {
        let watch = match (self.postmaster.as_mut(), foreign) {
            (Some(child), _) => Watch::Child(child),
            (None, Some(pid)) => Watch::Pid(pid),
            (None, None) => return Err(self.start_failed("no postmaster to wait for".into())),
        };
        match process::wait_ready(&self.bin_dir, self.port, watch, READY_TIMEOUT) {
            Ok(()) => Ok(()),
            Err(NotReady::Exited(status)) => {
                Err(self.start_failed(format!("postgres exited during start-up ({status})")))
            }
            Err(NotReady::Timeout) => Err(LocalPgError::NotReady {
                cluster: self.layout.cluster.clone(),
                port: self.port,
                waited: READY_TIMEOUT,
                log: self.layout.log.clone(),
                log_tail: layout::log_tail(&self.layout.log, TAIL_LINES),
            }),
        }
    }

    fn start_failed(&self, detail: String) -> LocalPgError {
        LocalPgError::StartFailed {
            cluster: self.layout.cluster.clone(),
            detail,
            log: self.layout.log.clone(),
            log_tail: layout::log_tail(&self.layout.log, TAIL_LINES),
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Pid and port of a live postmaster recorded in `postmaster.pid`, if any. A file naming a live
/// process that is not PostgreSQL (pid reused after a crash or reboot) is removed as stale.
fn running_postmaster(cluster: &Path) -> Option<(Pid, u16)> {
    let pid_file = cluster.join("postmaster.pid");
    let text = std::fs::read_to_string(&pid_file).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let pid: i32 = lines.first()?.trim().parse().ok()?;
    let port: u16 = lines.get(3)?.trim().parse().ok()?;
    match nix::sys::signal::kill(Pid::from_raw(pid), None) {
        Ok(()) | Err(Errno::EPERM) => {}
        Err(_) => return None,
    }
    if let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        if !comm.contains("postgres") && !comm.contains("postmaster") {
            tracing::warn!(pid, file = %pid_file.display(), "removing stale postmaster.pid naming an unrelated process");
            let _ = std::fs::remove_file(&pid_file);
            return None;
        }
    }
    Some((Pid::from_raw(pid), port))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
