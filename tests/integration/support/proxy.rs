//! A TCP proxy between a test server and PostgreSQL that a test can freeze (bytes stop
//! flowing, sockets stay open: a hung database; `thaw` resumes it), sever (every open connection is cut, new
//! ones still pass: a restarted database or a dropped network path) or close (connections
//! are refused: a database that is down), or refuse new connections for a while (`refuse`,
//! undone by `admit`: a database that is down and then comes back).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Control {
    frozen: bool,
    /// Connections opened before the current epoch are cut.
    epoch: u64,
    /// New connections are closed at once.
    refusing: bool,
}

/// A running proxy; dropping it stops it and cuts its connections.
pub struct Proxy {
    /// Port it listens on (127.0.0.1).
    pub port: u16,
    control: watch::Sender<Control>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Forward 127.0.0.1:{port} to `target` (`host:port`).
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let (control, rx) = watch::channel(Control { frozen: false, epoch: 0, refusing: false });
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if rx.borrow().refusing {
                    drop(client);
                    continue;
                }
                let rx = rx.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&target).await {
                        pipe(client, server, rx).await;
                    }
                });
            }
        });
        Proxy { port, control, accept }
    }

    /// Stop forwarding bytes; connections stay open and new ones are accepted (and hang).
    pub fn freeze(&self) {
        self.control.send_modify(|c| c.frozen = true);
    }

    /// Let bytes flow again after [`Proxy::freeze`] (what was sent meanwhile is delivered).
    pub fn thaw(&self) {
        self.control.send_modify(|c| c.frozen = false);
    }

    /// Cut every open connection; new ones pass.
    pub fn sever(&self) {
        self.control.send_modify(|c| c.epoch += 1);
    }

    /// Cut every open connection and close new ones at once, until [`Proxy::admit`].
    pub fn refuse(&self) {
        self.control.send_modify(|c| {
            c.refusing = true;
            c.epoch += 1;
        });
    }

    /// Let new connections pass again after [`Proxy::refuse`].
    pub fn admit(&self) {
        self.control.send_modify(|c| c.refusing = false);
    }

    /// Cut every open connection and refuse new ones.
    pub async fn close(&mut self) {
        self.accept.abort();
        let _ = (&mut self.accept).await;
        self.sever();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn pipe(mut client: TcpStream, mut server: TcpStream, mut control: watch::Receiver<Control>) {
    let born = control.borrow().epoch;
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    loop {
        let now = *control.borrow_and_update();
        if now.epoch != born {
            return;
        }
        if now.frozen {
            if control.changed().await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            r = cr.read(&mut up) => match r {
                Ok(n) if n > 0 => if sw.write_all(&up[..n]).await.is_err() { return },
                _ => return,
            },
            r = sr.read(&mut down) => match r {
                Ok(n) if n > 0 => if cw.write_all(&down[..n]).await.is_err() { return },
                _ => return,
            },
            changed = control.changed() => if changed.is_err() { return },
        }
    }
}
