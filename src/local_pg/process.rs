//! Running the PostgreSQL binaries: initdb, the postmaster (under a keeper thread), readiness.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::{Pid, User};

use super::layout::{self, Layout};
use super::LocalPgError;

/// Role created by initdb and used in every URL.
pub(super) const ROLE: &str = "roster";

/// The name of the C.UTF-8 locale on this system, if it has one (`C.utf8` on Debian).
fn utf8_ctype() -> Option<String> {
    let out = Command::new("locale").arg("-a").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .find(|l| l.eq_ignore_ascii_case("c.utf8") || l.eq_ignore_ascii_case("c.utf-8"))
        .map(str::to_string)
}

/// A command for a PostgreSQL binary: inherited `PG*` variables removed (they would override our
/// explicit settings), C messages, and when `user` is given it runs as that user from `cwd`.
pub(super) fn command(program: &Path, user: Option<&User>, cwd: Option<&Path>) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
    cmd.env("LC_ALL", "C").stdin(Stdio::null());
    if let Some(user) = user {
        cmd.uid(user.uid.as_raw())
            .gid(user.gid.as_raw())
            .env("HOME", &user.dir)
            .env("USER", &user.name)
            .env("LOGNAME", &user.name);
    }
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    cmd
}

/// Gives the command's stdout and stderr the log file (appending).
fn to_log(cmd: &mut Command, log: &File, path: &Path) -> Result<(), LocalPgError> {
    let out = log.try_clone().map_err(LocalPgError::io("reopen", path))?;
    let err = log.try_clone().map_err(LocalPgError::io("reopen", path))?;
    cmd.stdout(out).stderr(err);
    Ok(())
}

/// Writes a marker line into the log so runs are easy to tell apart.
pub(super) fn note(log: &mut File, path: &Path, text: &str) -> Result<(), LocalPgError> {
    writeln!(log, "---- roster: {text} ----").map_err(LocalPgError::io("write", path))
}

/// Runs initdb into `layout.cluster` and appends Roster's settings to postgresql.conf.
pub(super) fn initdb(
    bin_dir: &Path,
    layout: &Layout,
    user: Option<&User>,
    password: &str,
    ephemeral: bool,
) -> Result<(), LocalPgError> {
    let cluster = &layout.cluster;
    layout::create_cluster_dir(cluster, user)?;
    let pwfile = PwFile::create(cluster, user, password)?;
    let mut log = layout::open_log(&layout.log)?;
    note(&mut log, &layout.log, &format!("initdb {}", cluster.display()))?;
    let mut cmd = command(&bin_dir.join("initdb"), user, Some(cluster));
    cmd.arg("-D")
        .arg(cluster)
        .arg(format!("--username={ROLE}"))
        .arg(format!("--pwfile={}", pwfile.0.display()))
        .args(["--auth-local=scram-sha-256", "--auth-host=scram-sha-256"])
        .args(["--encoding=UTF8", "--locale=C"]);
    // Byte-order collation (fast, index-friendly, the order SCIM filters compare in), but a
    // Unicode character classification so lower() folds "Æ" to "æ" like Roster does.
    if let Some(ctype) = utf8_ctype() {
        cmd.arg(format!("--lc-ctype={ctype}"));
    }
    to_log(&mut cmd, &log, &layout.log)?;
    let failed = |detail: String| LocalPgError::InitFailed {
        cluster: cluster.clone(),
        detail,
        log: layout.log.clone(),
        log_tail: layout::log_tail(&layout.log, 20),
    };
    match cmd.status() {
        Ok(status) if status.success() => {}
        Ok(status) => return Err(failed(format!("initdb {status}"))),
        Err(e) => return Err(failed(format!("could not run initdb: {e}"))),
    }
    drop(pwfile);
    let mut conf = String::from(
        "\n# Added by Roster (embedded cluster)\n\
         listen_addresses = '127.0.0.1'\n\
         unix_socket_directories = ''\n\
         max_connections = 300\n",
    );
    if ephemeral {
        conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
    }
    let path = cluster.join("postgresql.conf");
    OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(conf.as_bytes()))
        .map_err(LocalPgError::io("append settings to", &path))
}

/// initdb's password file: next to the cluster, readable only by the OS user, removed on drop.
struct PwFile(PathBuf);

impl PwFile {
    fn create(cluster: &Path, user: Option<&User>, password: &str) -> Result<Self, LocalPgError> {
        let dir = cluster.parent().unwrap_or(cluster);
        let path = dir.join(format!(".roster-pwfile-{}", layout::random_hex()));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(LocalPgError::io("create", &path))?;
        let pwfile = PwFile(path);
        file.write_all(password.as_bytes()).map_err(LocalPgError::io("write", &pwfile.0))?;
        if let Some(user) = user {
            layout::chown(&pwfile.0, user)?;
        }
        Ok(pwfile)
    }
}

impl Drop for PwFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A postmaster we spawned, watched by a keeper thread that forked it and reaps it.
#[derive(Debug)]
pub(super) struct Postmaster {
    pid: Pid,
    /// In a mutex only to make the handle `Sync`; always reached through `&mut self`.
    exit_rx: Mutex<Receiver<String>>,
    exit: Option<String>,
    keeper: Option<JoinHandle<()>>,
}

impl Postmaster {
    /// Spawns `cmd` from a new keeper thread. The child gets `PR_SET_PDEATHSIG(SIGINT)`, which
    /// fires when the forking thread exits; the keeper lives exactly as long as the child.
    pub(super) fn spawn(mut cmd: Command) -> std::io::Result<Postmaster> {
        let parent = nix::unistd::getpid();
        #[allow(unsafe_code)]
        // SAFETY: the closure runs between fork and exec and only makes two async-signal-safe
        // system calls (prctl, getppid); it allocates nothing and touches no locks.
        unsafe {
            cmd.pre_exec(move || {
                #[cfg(target_os = "linux")]
                nix::sys::prctl::set_pdeathsig(Signal::SIGINT)?;
                if nix::unistd::getppid() != parent {
                    // We died before prctl took effect: do not leave an orphan cluster behind.
                    return Err(Errno::ESRCH.into());
                }
                Ok(())
            });
        }
        let (pid_tx, pid_rx) = mpsc::channel();
        let (exit_tx, exit_rx) = mpsc::channel();
        let keeper = thread::Builder::new().name("roster-postmaster".into()).spawn(move || {
            let spawned = cmd.spawn();
            drop(cmd); // closes our copies of the log descriptors handed to the child
            match spawned {
                Err(e) => {
                    let _ = pid_tx.send(Err(e));
                }
                Ok(mut child) => {
                    let _ = pid_tx.send(Ok(child.id()));
                    let status = match child.wait() {
                        Ok(status) => status.to_string(),
                        Err(e) => format!("wait failed: {e}"),
                    };
                    let _ = exit_tx.send(status);
                }
            }
        })?;
        let pid = match pid_rx.recv() {
            Ok(Ok(pid)) => pid,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(std::io::Error::other("postmaster keeper thread died")),
        };
        let pid = i32::try_from(pid).map_err(std::io::Error::other)?;
        Ok(Postmaster {
            pid: Pid::from_raw(pid),
            exit_rx: Mutex::new(exit_rx),
            exit: None,
            keeper: Some(keeper),
        })
    }

    /// The postmaster's process id.
    pub(super) fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// The exit status, if it has exited (waiting at most `timeout`).
    pub(super) fn wait_exit(&mut self, timeout: Duration) -> Option<String> {
        if self.exit.is_none() {
            let exit_rx = self.exit_rx.get_mut().unwrap_or_else(PoisonError::into_inner);
            self.exit = match exit_rx.recv_timeout(timeout) {
                Ok(status) => Some(status),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some("exited (status unknown)".into()),
            };
            if self.exit.is_some() {
                if let Some(keeper) = self.keeper.take() {
                    let _ = keeper.join();
                }
            }
        }
        self.exit.clone()
    }

    /// Fast shutdown: SIGINT, up to `grace` to exit, then SIGQUIT (immediate shutdown), then SIGKILL.
    pub(super) fn shutdown(&mut self, grace: Duration) -> Result<(), LocalPgError> {
        let steps = [
            (Signal::SIGINT, grace),
            (Signal::SIGQUIT, Duration::from_secs(10)),
            (Signal::SIGKILL, Duration::from_secs(5)),
        ];
        for (signal, wait) in steps {
            if self.wait_exit(Duration::ZERO).is_some() {
                return Ok(());
            }
            if signal != Signal::SIGINT {
                tracing::warn!(
                    pid = self.pid(),
                    ?signal,
                    "embedded PostgreSQL did not stop in time; escalating"
                );
            }
            match kill(self.pid, signal) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(e) => {
                    return Err(LocalPgError::Stop {
                        pid: self.pid(),
                        detail: format!("could not send {signal}: {e}"),
                    })
                }
            }
            if self.wait_exit(wait).is_some() {
                return match signal {
                    Signal::SIGKILL => Err(LocalPgError::Stop {
                        pid: self.pid(),
                        detail: "it ignored SIGINT and SIGQUIT and had to be killed; check the log".into(),
                    }),
                    _ => Ok(()),
                };
            }
        }
        Err(LocalPgError::Stop { pid: self.pid(), detail: "it did not exit even after SIGKILL".into() })
    }
}

/// Why waiting for readiness failed.
pub(super) enum NotReady {
    /// The postmaster we spawned exited with this status.
    Exited(String),
    /// Time ran out.
    Timeout,
}

/// The process whose early exit ends a readiness wait.
pub(super) enum Watch<'a> {
    /// A postmaster we spawned.
    Child(&'a mut Postmaster),
    /// A postmaster someone else started.
    Pid(Pid),
}

/// Polls until the server on `port` accepts connections, the watched process exits, or `timeout` passes.
pub(super) fn wait_ready(
    bin_dir: &Path,
    port: u16,
    mut watch: Watch<'_>,
    timeout: Duration,
) -> Result<(), NotReady> {
    let deadline = Instant::now() + timeout;
    loop {
        if is_ready(bin_dir, port) {
            return Ok(());
        }
        let exited = match &mut watch {
            Watch::Child(child) => child.wait_exit(Duration::ZERO),
            Watch::Pid(pid) => {
                (kill(*pid, None) == Err(Errno::ESRCH)).then(|| format!("postmaster {pid} is gone"))
            }
        };
        if let Some(status) = exited {
            return Err(NotReady::Exited(status));
        }
        if Instant::now() >= deadline {
            return Err(NotReady::Timeout);
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// `pg_isready` if installed (it distinguishes "starting up" from "ready"), else a TCP connect.
fn is_ready(bin_dir: &Path, port: u16) -> bool {
    let pg_isready = bin_dir.join("pg_isready");
    if pg_isready.is_file() {
        return command(&pg_isready, None, None)
            .args(["-q", "-h", "127.0.0.1", "-t", "2", "-p", &port.to_string()])
            .args(["-U", ROLE, "-d", "postgres"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    }
    accepts_tcp(port)
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub(super) fn accepts_tcp(port: u16) -> bool {
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    TcpStream::connect_timeout(&addr.into(), Duration::from_secs(1)).is_ok()
}
