//! Where the cluster's files live, who may reach them, and the small state files next to it.

use std::fs::{self, DirBuilder, File, Metadata, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use nix::unistd::User;
use sha2::{Digest, Sha256};

use super::LocalPgError;

/// Parent of the fallback cluster directories used when the OS user cannot reach `data_dir`.
pub(super) const FALLBACK_BASE: &str = "/var/lib/roster/clusters";

/// Resolved paths of one embedded cluster.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    /// The PostgreSQL data directory (`initdb -D`).
    pub cluster: PathBuf,
    /// Server log (initdb and postmaster output).
    pub log: PathBuf,
    /// Generated password of the `roster` role.
    pub password: PathBuf,
    /// Port used last time.
    pub port: PathBuf,
}

/// The OS user to run PostgreSQL as: `Some` only when we are root.
pub(super) fn os_user(name: &str) -> Result<Option<User>, LocalPgError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let fail = |detail: String| LocalPgError::UserLookup { user: name.to_string(), detail };
    match User::from_name(name) {
        Ok(Some(user)) if user.uid.is_root() => Err(fail("that user is root".into())),
        Ok(Some(user)) => Ok(Some(user)),
        Ok(None) => Err(fail("no such user".into())),
        Err(e) => Err(fail(format!("user lookup failed: {e}"))),
    }
}

/// Entries Roster keeps in `data_dir`; a directory holding nothing else is Roster's to chown.
const OWN_ENTRIES: [&str; 5] = [".lock", "pg", "pg.log", "pg-password", "pg-port"];

/// Creates `data_dir` (mode 0700) if missing and returns its canonical path.
pub(super) fn create_data_dir(data_dir: &Path) -> Result<PathBuf, LocalPgError> {
    if let Some(parent) = data_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(LocalPgError::io("create directory", parent))?;
    }
    match DirBuilder::new().mode(0o700).create(data_dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(LocalPgError::io("create directory", data_dir)(e));
        }
        _ => {}
    }
    data_dir.canonicalize().map_err(LocalPgError::io("resolve path", data_dir))
}

/// Decides where the cluster lives (call with the start lock held: it may chown `dir`).
pub(super) fn resolve(dir: &Path, user: Option<&User>) -> Result<Layout, LocalPgError> {
    let cluster = match user {
        None => dir.join("pg"),
        Some(user) => choose_cluster_dir(dir, user)?,
    };
    Ok(Layout {
        cluster,
        log: dir.join("pg.log"),
        password: dir.join("pg-password"),
        port: dir.join("pg-port"),
    })
}

/// `data_dir/pg` if the OS user can reach and write `data_dir`, else the fallback directory.
/// An already initialised cluster in either place wins, so the choice is stable across starts.
/// A root-owned `data_dir` holding only Roster's files is first chowned to the OS user.
fn choose_cluster_dir(dir: &Path, user: &User) -> Result<PathBuf, LocalPgError> {
    let direct = dir.join("pg");
    let fallback = fallback_root(dir).join("pg");
    if direct.join("PG_VERSION").is_file() {
        return Ok(direct);
    }
    if !fallback.join("PG_VERSION").is_file() && ancestors_traversable(dir, user) {
        let meta = fs::metadata(dir).map_err(LocalPgError::io("inspect", dir))?;
        if allows(&meta, user, 0o3) {
            return Ok(direct);
        }
        if meta.uid() == 0 && only_own_entries(dir)? {
            chown(dir, user)?;
            return Ok(direct);
        }
    }
    tracing::info!(
        data_dir = %dir.display(),
        cluster = %fallback.display(),
        user = %user.name,
        "OS user cannot reach the data directory; keeping the embedded PostgreSQL cluster in the fallback directory"
    );
    Ok(fallback)
}

fn only_own_entries(dir: &Path) -> Result<bool, LocalPgError> {
    for entry in fs::read_dir(dir).map_err(LocalPgError::io("list", dir))? {
        let entry = entry.map_err(LocalPgError::io("list", dir))?;
        if !OWN_ENTRIES.iter().any(|own| entry.file_name() == *own) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `/var/lib/roster/clusters/<first 16 hex digits of sha256(canonical data_dir)>`.
pub(super) fn fallback_root(canonical_data_dir: &Path) -> PathBuf {
    let digest = Sha256::digest(canonical_data_dir.as_os_str().as_bytes());
    Path::new(FALLBACK_BASE).join(hex(&digest[..8]))
}

fn ancestors_traversable(dir: &Path, user: &User) -> bool {
    dir.ancestors().skip(1).all(|a| fs::metadata(a).is_ok_and(|m| allows(&m, user, 0o1)))
}

/// Whether the mode bits grant `want` (rwx = 4/2/1) to the user (primary group only: that is all
/// a child started with `CommandExt::uid/gid` has). ACLs are ignored.
fn allows(meta: &Metadata, user: &User, want: u32) -> bool {
    let mode = meta.mode();
    let bits = if meta.uid() == user.uid.as_raw() {
        mode >> 6
    } else if meta.gid() == user.gid.as_raw() {
        mode >> 3
    } else {
        mode
    };
    bits & want == want
}

pub(super) fn chown(path: &Path, user: &User) -> Result<(), LocalPgError> {
    std::os::unix::fs::chown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
        .map_err(LocalPgError::io("change owner of", path))
}

/// Creates the (empty) cluster directory with mode 0700, owned by the OS user when root.
pub(super) fn create_cluster_dir(cluster: &Path, user: Option<&User>) -> Result<(), LocalPgError> {
    if let Some(parent) = cluster.parent() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .map_err(LocalPgError::io("create directory", parent))?;
    }
    if cluster.exists() {
        // Left behind by an initdb that was killed: PG_VERSION is missing, so nothing usable is in it.
        tracing::warn!(cluster = %cluster.display(), "removing half-initialised cluster directory");
        fs::remove_dir_all(cluster).map_err(LocalPgError::io("remove directory", cluster))?;
    }
    DirBuilder::new().mode(0o700).create(cluster).map_err(LocalPgError::io("create directory", cluster))?;
    match user {
        Some(user) => chown(cluster, user),
        None => Ok(()),
    }
}

/// Reads the stored password, or generates and stores one for a cluster about to be created.
pub(super) fn password(layout: &Layout, initialised: bool) -> Result<String, LocalPgError> {
    match fs::read_to_string(&layout.password) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(LocalPgError::io("read", &layout.password)(e))
        }
        _ => {}
    }
    if initialised {
        return Err(LocalPgError::PasswordMissing {
            cluster: layout.cluster.clone(),
            password_file: layout.password.clone(),
        });
    }
    let password = random_hex();
    write_private(&layout.password, &password)?;
    Ok(password)
}

/// 32 random hex characters.
pub(super) fn random_hex() -> String {
    hex(&rand::random::<[u8; 16]>())
}

/// Writes `contents` to `path` with mode 0600 (replacing an existing file).
pub(super) fn write_private(path: &Path, contents: &str) -> Result<(), LocalPgError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(LocalPgError::io("create", path))?;
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(contents.as_bytes()))
        .map_err(LocalPgError::io("write", path))
}

/// The port recorded last time if it is free now, else a fresh free port; records the choice.
pub(super) fn choose_port(port_file: &Path) -> Result<u16, LocalPgError> {
    let recorded = fs::read_to_string(port_file)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .filter(|&p| p != 0 && TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok());
    let port = match recorded {
        Some(port) => port,
        None => TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(LocalPgError::io("find a free TCP port on", Path::new("127.0.0.1")))?
            .port(),
    };
    write_private(port_file, &port.to_string())?;
    Ok(port)
}

/// Takes the exclusive start lock (blocking until any other starter is done).
pub(super) fn lock(path: &Path) -> Result<Flock<File>, LocalPgError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(LocalPgError::io("open lock file", path))?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, errno)| LocalPgError::io("lock", path)(errno.into()))
}

/// Opens the log for appending (mode 0600).
pub(super) fn open_log(path: &Path) -> Result<File, LocalPgError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(LocalPgError::io("open log file", path))
}

/// The last `lines` lines of the log, indented, for error messages.
pub(super) fn log_tail(path: &Path, lines: usize) -> String {
    const MAX: u64 = 64 * 1024;
    let read = || -> std::io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(MAX)))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            let tail = &all[all.len().saturating_sub(lines)..];
            if tail.is_empty() {
                return "  | (log is empty)".to_string();
            }
            tail.iter().map(|l| format!("  | {l}")).collect::<Vec<_>>().join("\n")
        }
        Err(e) => format!("  | (could not read log: {e})"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
