//! `roster serve` as a child process, for tests that need a second process or the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `roster serve`, killed when dropped (a private cluster it started then stops
/// through its parent-death signal). [`Serving::into_child`] hands it over for a graceful stop.
pub struct Serving(Option<Child>);

impl Serving {
    /// The child process, no longer killed on drop.
    pub fn into_child(mut self) -> Child {
        self.0.take().expect("a serving child")
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `roster serve` command of the binary under test, listening on a free port of 127.0.0.1.
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env("ROSTER_LISTEN", "127.0.0.1:0").env("ROSTER_LOG", "warn").arg("serve");
    cmd
}

/// Start `cmd` (from [`command`], further configured) and wait until it reports that it listens.
/// Returns it, the lines it printed before that line (the demo credentials on an empty database),
/// and its root URL (`http://127.0.0.1:<port>`).
pub fn start(mut cmd: Command) -> (Serving, Vec<String>, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("roster serve starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let serving = Serving(Some(child));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx.recv_timeout(Duration::from_secs(120)).expect("server did not report that it listens");
        if let Some(rest) = line.strip_prefix("Roster is listening on ") {
            let root = rest.split(' ').next().expect("a URL").to_string();
            return (serving, lines, root);
        }
        lines.push(line);
    }
}
