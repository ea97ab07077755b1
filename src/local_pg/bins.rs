//! Locating the PostgreSQL server binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::LocalPgError;

/// Finds a directory holding both `initdb` and `postgres`.
///
/// Search order: `explicit` (if given, it is the only candidate) → `pg_config --bindir` →
/// each `PATH` entry → `/usr/lib/postgresql/*/bin`, highest version first.
pub fn find_bin_dir(explicit: Option<&Path>) -> Result<PathBuf, LocalPgError> {
    match explicit {
        Some(dir) => first_with_binaries(vec![dir.to_path_buf()]),
        None => first_with_binaries(candidate_dirs()),
    }
}

/// Returns the first candidate holding both server binaries, or `NoBinaries` listing all of them.
pub(super) fn first_with_binaries(candidates: Vec<PathBuf>) -> Result<PathBuf, LocalPgError> {
    match candidates.iter().find(|dir| has_server_binaries(dir)) {
        Some(dir) => Ok(dir.clone()),
        None => Err(LocalPgError::NoBinaries { searched: candidates }),
    }
}

fn has_server_binaries(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

/// The implicit search list, deduplicated, in priority order.
fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = pg_config_bindir() {
        dirs.push(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path).filter(|d| d.is_absolute()));
    }
    dirs.extend(versioned_dirs(Path::new("/usr/lib/postgresql")));
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out =
        Command::new("pg_config").arg("--bindir").stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let dir = text.trim();
    (out.status.success() && !dir.is_empty()).then(|| PathBuf::from(dir))
}

/// `<root>/<version>/bin` for every version directory, highest version first.
fn versioned_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u64>, PathBuf)> = entries
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let key = name.split('.').map(|p| p.parse().unwrap_or(0)).collect();
            (key, e.path().join("bin"))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn explicit_missing_dir_reports_no_binaries() {
        let err = find_bin_dir(Some(Path::new("/nonexistent/pg/bin"))).unwrap_err();
        let LocalPgError::NoBinaries { searched } = &err else {
            panic!("unexpected error {err:?}");
        };
        assert_eq!(searched, &[PathBuf::from("/nonexistent/pg/bin")]);
        let msg = err.to_string();
        for needle in [
            "no PostgreSQL server binaries",
            "/nonexistent/pg/bin",
            "apt-get install postgresql",
            "brew install postgresql@16",
            "DATABASE_URL",
        ] {
            assert!(msg.contains(needle), "{needle:?} missing from:\n{msg}");
        }
    }

    #[test]
    fn empty_search_reports_no_binaries() {
        let err = first_with_binaries(Vec::new()).unwrap_err();
        assert!(matches!(&err, LocalPgError::NoBinaries { searched } if searched.is_empty()));
        assert!(err.to_string().contains("nowhere"));
    }

    #[test]
    fn search_skips_dirs_without_both_binaries() {
        let dirs = vec![PathBuf::from("/usr/bin"), PathBuf::from("/nonexistent")];
        assert!(first_with_binaries(dirs).is_err());
    }

    #[test]
    fn finds_installed_binaries() {
        let dir = find_bin_dir(None).unwrap();
        assert!(dir.join("initdb").is_file() && dir.join("postgres").is_file());
    }

    #[test]
    fn versions_sort_highest_first() {
        let root = std::env::temp_dir().join(format!("roster-pgtest-ver-{}", std::process::id()));
        for v in ["9.6", "15", "10", "16"] {
            std::fs::create_dir_all(root.join(v)).unwrap();
        }
        let got = versioned_dirs(&root);
        std::fs::remove_dir_all(&root).unwrap();
        let names: Vec<_> = got.iter().map(|p| p.parent().unwrap().to_owned()).collect();
        assert_eq!(names, ["16", "15", "10", "9.6"].map(|v| root.join(v)));
    }
}
