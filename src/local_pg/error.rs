//! Errors of the embedded cluster, worded for the operator who reads them.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything that can go wrong while finding, initialising, starting or stopping the embedded cluster.
#[derive(Debug, thiserror::Error)]
pub enum LocalPgError {
    /// No directory holding both `initdb` and `postgres` was found.
    #[error(
        "no PostgreSQL server binaries (initdb and postgres) were found.\n\
         Roster starts its own private PostgreSQL cluster when DATABASE_URL is unset, and needs the server binaries for that.\n\
         Looked in:\n{}\n\
         To fix this, either:\n  \
         - install PostgreSQL, e.g. `apt-get install postgresql` (Debian/Ubuntu), `dnf install postgresql-server` (Fedora/RHEL) or `brew install postgresql@16` (macOS);\n    \
         if the binaries live somewhere unusual, put that directory on PATH or make `pg_config --bindir` print it; or\n  \
         - set DATABASE_URL to an existing PostgreSQL server, e.g. DATABASE_URL=postgres://user:password@host:5432/roster",
        list_paths(searched)
    )]
    NoBinaries {
        /// Every directory that was examined, in search order.
        searched: Vec<PathBuf>,
    },

    /// The OS account that must own and run the cluster (when running as root) is missing.
    #[error(
        "cannot run the embedded PostgreSQL as OS user `{user}`: {detail}.\n\
         PostgreSQL refuses to run as root, so when Roster runs as root it runs the cluster as this user.\n\
         Create the user (installing the `postgresql` package does; or `useradd --system --home /var/lib/postgresql postgres`), \
         run Roster as a non-root user, or set DATABASE_URL to an existing server"
    )]
    UserLookup {
        /// The OS user name that was looked up.
        user: String,
        /// Why the lookup failed.
        detail: String,
    },

    /// A file-system operation failed.
    #[error("could not {action} `{}`: {source}. Check that the path exists and that Roster (and, when running as root, the PostgreSQL OS user) may access it", path.display())]
    Io {
        /// What was being done, e.g. "create directory".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The cluster exists but the password file next to it is gone.
    #[error(
        "the embedded PostgreSQL cluster in `{}` exists but its password file `{}` is missing, so Roster cannot log in.\n\
         Restore the file, or delete the cluster directory to have a fresh (empty) cluster created on the next start",
        cluster.display(), password_file.display()
    )]
    PasswordMissing {
        /// The cluster directory.
        cluster: PathBuf,
        /// Where the password file was expected.
        password_file: PathBuf,
    },

    /// `initdb` failed.
    #[error(
        "initialising the embedded PostgreSQL cluster in `{}` failed: {detail}.\n\
         Full log: {}\nLast lines of the log:\n{log_tail}",
        cluster.display(), log.display()
    )]
    InitFailed {
        /// The cluster directory.
        cluster: PathBuf,
        /// Exit status or spawn error.
        detail: String,
        /// The log file holding initdb's output.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// The postmaster could not be spawned or exited during start-up.
    #[error(
        "starting the embedded PostgreSQL server for `{}` failed: {detail}.\n\
         Full log: {}\nLast lines of the log:\n{log_tail}",
        cluster.display(), log.display()
    )]
    StartFailed {
        /// The cluster directory.
        cluster: PathBuf,
        /// What happened.
        detail: String,
        /// The server log file.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// The server did not accept connections in time.
    #[error(
        "the embedded PostgreSQL server for `{}` did not accept connections on 127.0.0.1:{port} within {waited:?}.\n\
         Full log: {}\nLast lines of the log:\n{log_tail}",
        cluster.display(), log.display()
    )]
    NotReady {
        /// The cluster directory.
        cluster: PathBuf,
        /// The port it should listen on.
        port: u16,
        /// How long we waited.
        waited: Duration,
        /// The server log file.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// `createdb` failed for a reason other than "already exists".
    #[error("creating database `{name}` in the embedded PostgreSQL server failed: {detail}")]
    CreateDatabase {
        /// The database name.
        name: String,
        /// Exit status and output of createdb.
        detail: String,
    },

    /// Signalling the postmaster failed, or it did not exit even after SIGQUIT.
    #[error("stopping the embedded PostgreSQL server (pid {pid}) failed: {detail}")]
    Stop {
        /// The postmaster's process id.
        pid: i32,
        /// What happened.
        detail: String,
    },
}

impl LocalPgError {
    /// Shorthand for an [`LocalPgError::Io`] error.
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| LocalPgError::Io { action, path, source }
    }
}

fn list_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "  (nowhere: no pg_config, no candidate on PATH, nothing under /usr/lib/postgresql)"
            .to_string();
    }
    paths.iter().map(|p| format!("  - {}", p.display())).collect::<Vec<_>>().join("\n")
}
