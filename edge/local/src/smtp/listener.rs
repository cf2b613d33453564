//! The SMTP accept loop: one task per session, at most a fixed number at once (a client beyond
//! gets `421` and is disconnected), and a graceful stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use super::session::{self, SessionConfig};
use super::Backend;
use crate::log;

/// Sessions open at once by default.
pub const MAX_SESSIONS: usize = 100;

/// A running SMTP listener.
pub struct Listener {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    accepting: JoinHandle<()>,
    sessions: Arc<Semaphore>,
    max_sessions: u32,
}

impl Listener {
    /// Serves SMTP on `listener` with `backend` behind every session, at most `max_sessions`
    /// at once.
    pub fn spawn<B: Backend>(
        listener: TcpListener,
        config: Arc<SessionConfig>,
        backend: Arc<B>,
        max_sessions: usize,
    ) -> std::io::Result<Listener> {
        let addr = listener.local_addr()?;
        let max_sessions =
            u32::try_from(max_sessions.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
        let sessions = Arc::new(Semaphore::new(max_sessions as usize));
        let (stop, stopped) = watch::channel(false);
        let accepting = tokio::spawn(accept(listener, config, backend, sessions.clone(), stopped));
        Ok(Listener {
            addr,
            stop,
            accepting,
            sessions,
            max_sessions,
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting; each session ends at its next command with `421` (a message being read
    /// or delivered is finished first). Waits up to `grace` for the sessions to end.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let _ = self.accepting.await;
        let all = self.sessions.acquire_many(self.max_sessions);
        if tokio::time::timeout(grace, all).await.is_err() {
            log::event("smtp_drain_timeout", &[("seconds", grace.as_secs().into())]);
        }
    }
}

async fn accept<B: Backend>(
    listener: TcpListener,
    config: Arc<SessionConfig>,
    backend: Arc<B>,
    sessions: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: keep the sessions we have.
                    log::event("smtp_accept_failed", &[("error", e.to_string().into())]);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = super::stopping(&mut stop) => return,
        };
        // Replies are small and a pipelined batch is written at once: do not wait for Nagle.
        let _ = stream.set_nodelay(true);
        match sessions.clone().try_acquire_owned() {
            Ok(permit) => {
                let (config, backend, stop) = (config.clone(), backend.clone(), stop.clone());
                tokio::spawn(async move {
                    session::run(stream, peer, config, backend, stop).await;
                    drop(permit);
                });
            }
            Err(_) => {
                let hostname = config.hostname.clone();
                tokio::spawn(busy(stream, hostname));
            }
        }
    }
}

/// Tells a client over the session limit to come back later.
async fn busy(mut stream: TcpStream, hostname: String) {
    let line = format!("421 4.3.2 {hostname} too many connections, try again later\r\n");
    let write = async {
        stream.write_all(line.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), write).await;
}
