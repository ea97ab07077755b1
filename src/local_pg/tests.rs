//! Tests against real PostgreSQL binaries; each uses its own temporary data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};

use super::*;

/// Handles are shared between threads (e.g. in a `static OnceLock`).
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<LocalCluster>();
};

const HELPER_ENV: &str = "ROSTER_LOCAL_PG_PDEATHSIG_HELPER_DIR";

/// A directory removed (with everything in it) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(base: &str) -> Self {
        let dir = Path::new(base).join(format!("roster-pgtest-{}", layout::random_hex()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn data(&self) -> PathBuf {
        self.0.join("data")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn opts(data_dir: &Path) -> ClusterOptions {
    ClusterOptions { ephemeral_tuning: true, ..ClusterOptions::new(data_dir) }
}

fn pid_of(cluster: &LocalCluster) -> Pid {
    Pid::from_raw(cluster.postmaster.as_ref().unwrap().pid())
}

/// Whether `pid` runs (a zombie awaiting an absent reaper counts as gone).
fn alive(pid: Pid) -> bool {
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')));
    kill(pid, None) != Err(Errno::ESRCH) && !zombie
}

fn wait_dead(pid: Pid, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Runs `sql` through psql (as the current user, password in PGPASSWORD) and returns its output.
fn psql(cluster: &LocalCluster, db: &str, sql: &str) -> String {
    let out = Command::new(cluster.bin_dir.join("psql"))
        .args(["-X", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .arg(cluster.url(db))
        .env("PGPASSWORD", &cluster.password)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "psql {sql:?} failed: {stderr}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn fresh_start_serves_queries_and_creates_databases() {
    let tmp = TempDir::new("/tmp");
    let mut cluster = LocalCluster::start(&opts(&tmp.data())).unwrap();
    assert!(cluster.owns_process());
    assert_eq!(psql(&cluster, "postgres", "select 1"), "1");
    let url = cluster.url("postgres");
    let password = std::fs::read_to_string(tmp.data().join("pg-password")).unwrap();
    assert!(password.len() == 32 && password.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(url, format!("postgres://roster:{password}@127.0.0.1:{}/postgres", cluster.port()));

    cluster.ensure_database("roster").unwrap();
    cluster.ensure_database("roster").unwrap();
    assert_eq!(psql(&cluster, "roster", "select current_database()"), "roster");
    cluster.ensure_database("odd name-1").unwrap();
    assert_eq!(psql(&cluster, "odd name-1", "select current_database()"), "odd name-1");
    assert_eq!(psql(&cluster, "roster", "show fsync"), "off");
    assert_eq!(psql(&cluster, "roster", "show max_connections"), "300");

    let mode = |p: &str| std::fs::metadata(tmp.data().join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(""), 0o700);
    assert_eq!(mode("pg-password"), 0o600);
    assert_eq!(cluster.cluster_dir(), tmp.data().canonicalize().unwrap().join("pg"));
    assert!(std::fs::read_to_string(cluster.log_path()).unwrap().contains("ready to accept connections"));
    let pid = pid_of(&cluster);
    cluster.stop().unwrap();
    assert!(!alive(pid));
}

#[test]
fn second_start_attaches_and_first_handle_stops() {
    let tmp = TempDir::new("/tmp");
    let options = opts(&tmp.data());
    // Started from a short-lived thread: the postmaster must outlive it (PDEATHSIG is per thread).
    let first = std::thread::spawn({
        let options = options.clone();
        move || LocalCluster::start(&options).unwrap()
    });
    let mut first = first.join().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let pid = pid_of(&first);
    assert!(alive(pid));
    assert_eq!(psql(&first, "postgres", "select 1"), "1");

    let mut second = LocalCluster::start(&options).unwrap();
    assert!(!second.owns_process());
    assert_eq!(second.port(), first.port());
    assert_eq!(psql(&second, "postgres", "select 2"), "2");
    second.stop().unwrap();
    assert!(alive(pid));

    first.stop().unwrap();
    assert!(!alive(pid));
    first.stop().unwrap();
    drop(second);
}

#[test]
fn concurrent_starts_end_with_one_postmaster() {
    let tmp = TempDir::new("/tmp");
    let options = opts(&tmp.data());
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let options = options.clone();
            std::thread::spawn(move || LocalCluster::start(&options).unwrap())
        })
        .collect();
    let clusters: Vec<LocalCluster> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(clusters.iter().filter(|c| c.owns_process()).count(), 1);
    assert!(clusters.iter().all(|c| c.port() == clusters[0].port()));
    assert_eq!(psql(&clusters[2], "postgres", "select 1"), "1");

    // Many threads creating the same and different databases at once.
    std::thread::scope(|scope| {
        for (i, cluster) in clusters.iter().cycle().take(12).enumerate() {
            scope.spawn(move || {
                cluster.ensure_database("shared").unwrap();
                cluster.ensure_database(&format!("db{i}")).unwrap();
            });
        }
    });
    assert_eq!(
        psql(&clusters[0], "shared", "select count(*) from pg_database where datname like 'db%'"),
        "12"
    );
}

#[test]
fn restart_keeps_data_and_port() {
    let tmp = TempDir::new("/tmp");
    let mut cluster = LocalCluster::start(&opts(&tmp.data())).unwrap();
    let port = cluster.port();
    cluster.ensure_database("roster").unwrap();
    psql(&cluster, "roster", "create table kept (v int); insert into kept values (42)");
    cluster.stop().unwrap();
    drop(cluster);

    let cluster = LocalCluster::start(&opts(&tmp.data())).unwrap();
    assert!(cluster.owns_process());
    assert_eq!(cluster.port(), port);
    assert_eq!(psql(&cluster, "roster", "select v from kept"), "42");
}

#[test]
fn unreachable_parent_uses_fallback_dir() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let tmp = TempDir::new("/root");
    let data = tmp.0.join("nested").join("data");
    let fallback = layout::fallback_root(&tmp.0.canonicalize().unwrap().join("nested/data"));
    let cleanup = TempDir(fallback.clone());

    let mut cluster = LocalCluster::start(&opts(&data)).unwrap();
    assert_eq!(cluster.cluster_dir(), fallback.join("pg"));
    assert!(cluster.cluster_dir().starts_with(layout::FALLBACK_BASE));
    let postgres = nix::unistd::User::from_name("postgres").unwrap().unwrap();
    assert_eq!(std::fs::metadata(cluster.cluster_dir()).unwrap().uid(), postgres.uid.as_raw());
    assert_eq!(std::fs::metadata(&fallback).unwrap().permissions().mode() & 0o777, 0o755);
    assert!(data.join("pg-password").is_file() && data.join("pg.log").is_file());
    assert!(!data.join("pg").exists());
    psql(&cluster, "postgres", "create table kept (v int); insert into kept values (7)");
    cluster.stop().unwrap();

    let cluster = LocalCluster::start(&opts(&data)).unwrap();
    assert_eq!(cluster.cluster_dir(), fallback.join("pg"));
    assert_eq!(psql(&cluster, "postgres", "select v from kept"), "7");
    drop(cluster);
    drop(cleanup);
    for dir in [layout::FALLBACK_BASE, "/var/lib/roster"] {
        let _ = std::fs::remove_dir(dir); // only if empty: leaves other users' clusters alone
    }
}

#[test]
fn foreign_root_owned_data_dir_is_left_alone() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let tmp = TempDir::new("/tmp");
    std::fs::create_dir(tmp.data()).unwrap();
    std::fs::set_permissions(tmp.data(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(tmp.data().join("operator-notes"), "mine").unwrap();
    let fallback = layout::fallback_root(&tmp.data().canonicalize().unwrap());
    let _cleanup = TempDir(fallback.clone());

    let cluster = LocalCluster::start(&opts(&tmp.data())).unwrap();
    assert_eq!(cluster.cluster_dir(), fallback.join("pg"));
    assert_eq!(std::fs::metadata(tmp.data()).unwrap().uid(), 0);
    assert_eq!(psql(&cluster, "postgres", "select 1"), "1");
}

#[test]
fn failed_start_reports_log_tail() {
    let tmp = TempDir::new("/tmp");
    let mut cluster = LocalCluster::start(&opts(&tmp.data())).unwrap();
    let conf = cluster.cluster_dir().join("postgresql.conf");
    cluster.stop().unwrap();
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("roster_bogus_setting = 1\n");
    std::fs::write(&conf, text).unwrap();

    let err = LocalCluster::start(&opts(&tmp.data())).unwrap_err();
    assert!(matches!(err, LocalPgError::StartFailed { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("roster_bogus_setting") && msg.contains("pg.log"), "{msg}");
}

/// Not a test on its own: the body of [`postmaster_stops_when_owner_is_killed`]'s child process.
#[test]
fn pdeathsig_helper() {
    let Some(dir) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let cluster = LocalCluster::start(&opts(Path::new(&dir))).unwrap();
    println!("READY {}", pid_of(&cluster));
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

#[test]
fn postmaster_stops_when_owner_is_killed() {
    let tmp = TempDir::new("/tmp");
    let module = module_path!().split_once("::").map_or(module_path!(), |(_, m)| m);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &format!("{module}::pdeathsig_helper"), "--nocapture"])
        .args(["--test-threads=1"])
        .env(HELPER_ENV, tmp.data())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let pid = stdout
        .lines()
        .map_while(Result::ok)
        // libtest prints "test <name> ... " before the helper's own output on the same line.
        .find_map(|l| l.split_once("READY ").map(|(_, p)| p.trim().parse().unwrap()))
        .map(Pid::from_raw)
        .expect("helper did not start the cluster");
    assert!(alive(pid));
    child.kill().unwrap(); // SIGKILL: no destructors run
    child.wait().unwrap();
    let stopped = wait_dead(pid, Duration::from_secs(20));
    if !stopped {
        let _ = kill(pid, Signal::SIGQUIT);
    }
    assert!(stopped, "postmaster {pid} survived its owner");
    let log = std::fs::read_to_string(tmp.data().join("pg.log")).unwrap();
    assert!(log.contains("received fast shutdown request"), "{log}");
}
