//! An SMTP server that keeps every message it receives, for tests of outgoing mail (the relay's
//! own tests and the end-to-end suites): real SMTP on a loopback port, spoken by the same
//! [`session`](super::session) as the host's listener, with the messages held in memory for the
//! test to wait for and read. A recipient can be set to be refused permanently (`550`) or for
//! now (`451`), so tests can see failures; STARTTLS, implicit TLS and `AUTH PLAIN` can be
//! turned on.
//!
//! It runs on a thread of its own with its own runtime, so synchronous tests use it as they are
//! and async tests are not blocked by it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::session::{Mail, Reply, SessionConfig};
use super::{Backend, Listener};

/// How a recipient is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `550 5.1.1`: no such mailbox.
    Permanent,
    /// `451 4.2.1`: try again later.
    Transient,
}

/// One message the server took.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The id in the server's `250 2.0.0 Ok: queued as <id>`.
    pub id: String,
    /// The envelope sender (empty for the null sender).
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message as the client sent it, after dot-unstuffing.
    pub raw: Vec<u8>,
    pub helo: String,
    pub tls: bool,
    /// The user name of `AUTH PLAIN`, if the client authenticated.
    pub auth: Option<String>,
}

impl Captured {
    /// The message as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The first header field called `name` (any case), unfolded, without its name.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let mut fields: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            match fields.last_mut() {
                Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
                _ => fields.push(line.to_owned()),
            }
        }
        fields.into_iter().find_map(|field| {
            let (field_name, value) = field.split_once(':')?;
            field_name
                .trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The body: what follows the blank line after the header.
    pub fn body(&self) -> String {
        let text = self.text();
        text.split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default()
    }
}

/// What a capture server offers besides plain SMTP.
#[derive(Debug, Clone, Default)]
pub struct CaptureOptions {
    /// STARTTLS with this configuration (or implicit TLS, below).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// TLS from the first byte instead of STARTTLS.
    pub implicit_tls: bool,
    /// Advertise `AUTH PLAIN` and take exactly this user and password.
    pub credentials: Option<(String, String)>,
    /// Largest message (default: the listener's).
    pub max_message_bytes: Option<usize>,
}

#[derive(Default)]
struct Store {
    messages: Vec<Captured>,
    refusals: HashMap<String, Refusal>,
    delivered: u64,
}

struct Shared {
    store: Mutex<Store>,
    arrived: Condvar,
    credentials: Option<(String, String)>,
}

impl Shared {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct CaptureBackend(Arc<Shared>);

impl Backend for CaptureBackend {
    async fn recipient(&self, address: &str) -> Result<(), Reply> {
        let refusal = self
            .0
            .store()
            .refusals
            .get(&address.to_lowercase())
            .copied();
        match refusal {
            None => Ok(()),
            Some(Refusal::Permanent) => Err(Reply::new(
                550,
                format!("5.1.1 <{address}>: mailbox unavailable"),
            )),
            Some(Refusal::Transient) => Err(Reply::new(
                451,
                format!("4.2.1 <{address}>: mailbox busy, try again later"),
            )),
        }
    }

    async fn deliver(&self, mail: Mail) -> Reply {
        let mut store = self.0.store();
        store.delivered += 1;
        let id = format!("cap{}", store.delivered);
        store.messages.push(Captured {
            id: id.clone(),
            from: mail.from,
            to: mail.to,
            raw: mail.data,
            helo: mail.helo,
            tls: mail.tls,
            auth: mail.auth,
        });
        drop(store);
        self.0.arrived.notify_all();
        Reply::queued(Some(&id))
    }

    async fn authenticate(&self, username: &str, password: &str) -> bool {
        self.0
            .credentials
            .as_ref()
            .is_some_and(|(u, p)| u == username && p == password)
    }
}

/// A running capture server on a loopback port; it stops when dropped.
pub struct CaptureServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CaptureServer {
    /// Plain SMTP, every recipient taken.
    pub fn start() -> CaptureServer {
        CaptureServer::start_with(CaptureOptions::default())
    }

    pub fn start_with(options: CaptureOptions) -> CaptureServer {
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            arrived: Condvar::new(),
            credentials: options.credentials.clone(),
        });
        let mut config = SessionConfig::new("capture.localhost");
        config.tls = options.tls.clone();
        config.implicit_tls = options.implicit_tls;
        config.auth = options.credentials.is_some();
        config.idle_timeout = Duration::from_secs(60);
        if let Some(max) = options.max_message_bytes {
            config.max_message_bytes = max;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking socket");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let backend = Arc::new(CaptureBackend(shared.clone()));
        let thread = std::thread::Builder::new()
            .name("smtp-capture".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the capture server");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                    let _running =
                        Listener::spawn(listener, Arc::new(config), backend, super::MAX_SESSIONS)
                            .expect("the capture listener");
                    let _ = stopped.await;
                });
            })
            .expect("the capture thread");
        CaptureServer {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// From now on, `address` (any case) is refused at `RCPT TO`.
    pub fn refuse(&self, address: &str, refusal: Refusal) {
        self.shared
            .store()
            .refusals
            .insert(address.to_lowercase(), refusal);
    }

    /// Every message so far, in the order they arrived.
    pub fn messages(&self) -> Vec<Captured> {
        self.shared.store().messages.clone()
    }

    /// Waits until `count` messages have arrived or `timeout` passed; returns those there are.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Captured> {
        let deadline = Instant::now() + timeout;
        let mut store = self.shared.store();
        while store.messages.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            store = self
                .shared
                .arrived
                .wait_timeout(store, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        store.messages.clone()
    }

    /// Waits for the first message that `matches`, up to `timeout`.
    pub fn wait_until(
        &self,
        timeout: Duration,
        matches: impl Fn(&Captured) -> bool,
    ) -> Option<Captured> {
        let deadline = Instant::now() + timeout;
        let mut store = self.shared.store();
        loop {
            if let Some(found) = store.messages.iter().find(|m| matches(m)) {
                return Some(found.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            store = self
                .shared
                .arrived
                .wait_timeout(store, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for CaptureServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
