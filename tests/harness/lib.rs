//! Test harness: starts the real local host (or targets `EDGEDESK_BASE_URL`) and talks HTTP
//! to it.
//!
//! The host binary and the component come from `EDGEDESK_HOST_BIN` / `EDGEDESK_COMPONENT`,
//! which `cargo xtask test` sets after building both; each [`Host`] gets its own data
//! directory and port, so tests run in parallel without sharing state.
//!
//! [`mail`]: a host with its SMTP listener, a capture server for the mail it sends, and an
//! SMTP client.

pub mod mail;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running EdgeDesk under test.
pub struct Host {
    pub base: String,
    child: Option<Child>,
    data_dir: Option<tempfile::TempDir>,
    port: u16,
    /// Extra host options.
    args: Vec<String>,
    /// Where the host takes mail, when started with its SMTP listener.
    smtp_port: Option<u16>,
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suites with `cargo xtask test`, which builds the host and the component")
    }))
}

impl Host {
    /// Starts a fresh host with an empty data directory, or uses `EDGEDESK_BASE_URL`.
    pub fn start() -> Host {
        if let Ok(base) = std::env::var("EDGEDESK_BASE_URL") {
            return Host::remote(&base);
        }
        let data_dir = tempfile::tempdir().expect("a temporary data directory");
        let mut host = Host {
            base: String::new(),
            child: None,
            data_dir: Some(data_dir),
            port: free_port(),
            args: Vec::new(),
            smtp_port: None,
        };
        host.spawn();
        host
    }

    /// A deployment this process does not control (another runtime, e.g. `wrangler dev`).
    pub fn remote(base: &str) -> Host {
        Host {
            base: base.trim_end_matches('/').to_owned(),
            child: None,
            data_dir: None,
            port: 0,
            args: Vec::new(),
            smtp_port: None,
        }
    }

    /// Starts a fresh host with extra command-line options (e.g. `--reuse 1000`), or uses
    /// `EDGEDESK_BASE_URL`.
    pub fn start_with(args: &[&str]) -> Host {
        if std::env::var("EDGEDESK_BASE_URL").is_ok() {
            return Host::start();
        }
        let data_dir = tempfile::tempdir().expect("a temporary data directory");
        let mut host = Host {
            base: String::new(),
            child: None,
            data_dir: Some(data_dir),
            port: free_port(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            smtp_port: None,
        };
        host.spawn();
        host
    }

    /// Starts a fresh host that also takes mail over SMTP on a free loopback port
    /// ([`Host::smtp_port`]), with extra options. A remote deployment has no SMTP listener
    /// here: then [`Host::smtp_port`] is `None`.
    pub fn start_with_smtp(args: &[&str]) -> Host {
        if std::env::var("EDGEDESK_BASE_URL").is_ok() {
            return Host::start();
        }
        let smtp_port = free_port();
        let smtp = format!("127.0.0.1:{smtp_port}");
        let mut all = vec!["--smtp", smtp.as_str()];
        all.extend_from_slice(args);
        let mut host = Host::start_with(&all);
        host.smtp_port = Some(smtp_port);
        host
    }

    /// The port of the host's SMTP listener, if it was started with one.
    pub fn smtp_port(&self) -> Option<u16> {
        self.smtp_port
    }

    /// The platform token the host made for itself (it calls the system routes with it).
    pub fn platform_token(&self) -> Option<String> {
        let data_dir = self.data_dir.as_ref()?.path();
        let token = std::fs::read_to_string(data_dir.join("platform-token")).ok()?;
        Some(token.trim().to_owned())
    }

    /// Runs the timers that are due now (`POST /v1/system/sweep`), as the host does every
    /// second by itself.
    pub fn sweep(&self) -> Resp {
        let token = self
            .platform_token()
            .expect("a local host, whose platform token is in its data directory");
        self.anon().call(
            "POST",
            "/v1/system/sweep",
            None,
            &[("x-platform-token", &token)],
        )
    }

    /// The host process's id, when this suite started it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether this suite controls the host process (restart tests need it).
    pub fn is_local(&self) -> bool {
        self.data_dir.is_some()
    }

    fn spawn(&mut self) {
        let data_dir = self.data_dir.as_ref().expect("a local host").path();
        let child = Command::new(env_path("EDGEDESK_HOST_BIN"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--component")
            .arg(env_path("EDGEDESK_COMPONENT"))
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the host binary starts");
        self.child = Some(child);
        self.base = format!("http://127.0.0.1:{}", self.port);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(resp) = ureq::get(format!("{}/health", self.base)).call() {
                if resp.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "host did not become healthy within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the host abruptly (no graceful shutdown) and starts it again on the same data.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The first-run setup link the host printed, if it did.
    pub fn setup_link(&self) -> Option<String> {
        let data_dir = self.data_dir.as_ref()?.path();
        let text = std::fs::read_to_string(data_dir.join("setup-link.txt")).ok()?;
        Some(text.trim().to_owned())
    }

    /// An API client without a key.
    pub fn anon(&self) -> Api {
        Api {
            base: self.base.clone(),
            key: None,
        }
    }

    /// Creates a tenant and returns a client holding its admin key.
    pub fn tenant(&self, name: &str) -> Api {
        let (status, body) = self
            .anon()
            .post("/v1/tenants", &serde_json::json!({ "name": name }));
        assert_eq!(status, 201, "tenant creation: {body}");
        let key = body["api_key"]["key"]
            .as_str()
            .expect("the admin key is returned")
            .to_owned();
        Api {
            base: self.base.clone(),
            key: Some(key),
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A response: status, headers of interest, JSON body (or `Null`).
pub struct Resp {
    pub status: u16,
    pub etag: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A client for one API key.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub key: Option<String>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

impl Api {
    pub fn with_key(&self, key: &str) -> Api {
        Api {
            base: self.base.clone(),
            key: Some(key.to_owned()),
        }
    }

    /// Sends a request with a raw body and extra headers.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Resp {
        self.try_send(method, path, body, headers)
            .unwrap_or_else(|e| panic!("{method} {path}: transport error {e}"))
    }

    /// [`Api::send`] that answers a transport failure (a host that went away) instead of
    /// panicking.
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<Resp, ureq::Error> {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(k) = &self.key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body.map(<[u8]>::to_vec).unwrap_or_default())
            .expect("a valid request");
        let mut resp = agent().run(req)?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Resp {
            status,
            etag,
            headers,
            body,
        })
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let bytes = body.map(|b| serde_json::to_vec(b).expect("JSON"));
        self.send(method, path, bytes.as_deref(), headers)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self.call("GET", path, None, &[]);
        (r.status, r.body)
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.call("POST", path, Some(body), &[]);
        (r.status, r.body)
    }

    pub fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.call("PATCH", path, Some(body), &[]);
        (r.status, r.body)
    }

    pub fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.call("PUT", path, Some(body), &[]);
        (r.status, r.body)
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        let r = self.call("DELETE", path, None, &[]);
        (r.status, r.body)
    }

    /// The id of the tenant this key belongs to.
    pub fn tenant_id(&self) -> String {
        let (s, t) = self.get("/v1/tenant");
        assert_eq!(s, 200, "{t}");
        t["id"].as_str().expect("a tenant id").to_owned()
    }
}

/// A widget visitor of one tenant: a session token and the calls the widget makes with it.
pub struct Visitor {
    anon: Api,
    pub tenant: String,
    pub token: String,
}

impl Visitor {
    /// Opens a widget session for a visitor who gives their name.
    pub fn new(host: &Host, tenant: &str, name: &str) -> Visitor {
        let anon = host.anon();
        let (s, sess) = anon.post(
            &format!("/v1/widget/{tenant}/session"),
            &serde_json::json!({ "name": name }),
        );
        assert_eq!(s, 200, "{sess}");
        Visitor {
            anon,
            tenant: tenant.to_owned(),
            token: sess["token"].as_str().expect("a visitor token").to_owned(),
        }
    }

    /// Calls `/v1/widget/{tenant}{path}` as this visitor.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let auth = format!("Visitor {}", self.token);
        let r = self.anon.call(
            method,
            &format!("/v1/widget/{}{path}", self.tenant),
            body,
            &[("authorization", &auth)],
        );
        (r.status, r.body)
    }

    /// Sends a message; returns the conversation id.
    pub fn say(&self, text: &str) -> String {
        let (s, m) = self.call(
            "POST",
            "/messages",
            Some(&serde_json::json!({ "body": text })),
        );
        assert_eq!(s, 201, "{m}");
        m["conversation_id"]
            .as_str()
            .expect("a conversation id")
            .to_owned()
    }

    /// Every message the visitor can see, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let (s, page) = self.call("GET", "/messages?limit=100", None);
        assert_eq!(s, 200, "{page}");
        page["data"].as_array().expect("messages").clone()
    }

    /// One answer of the long-poll feed.
    pub fn poll(&self) -> Value {
        let (s, feed) = self.call("GET", "/poll", None);
        assert_eq!(s, 200, "{feed}");
        feed
    }

    /// The `state` events of one immediate feed read for a client that last saw `state`
    /// (`""`: none yet), as the widget follows its conversation's status and queue place.
    pub fn states_after(&self, state: &str) -> Vec<Value> {
        let (s, feed) = self.call("GET", &format!("/poll?wait=0&state={state}"), None);
        assert_eq!(s, 200, "{feed}");
        let events = feed["events"].as_array().expect("events");
        events
            .iter()
            .filter(|e| e["type"] == "state")
            .cloned()
            .collect()
    }
}

/// Asserts the error shape `{"error":{"code","message"}}` and returns the code.
pub fn error_code(body: &Value) -> &str {
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"));
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error without message: {body}"
    );
    code
}

/// Signs a webhook body the way the API channel expects.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One request a [`WebhookReceiver`] got: lower-cased header names with their values, and the body.
pub struct Delivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Delivery {
    /// The value of header `name` (lower case), or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// An HTTP server on a loopback port standing in for a tenant's service: answers every request
/// with `200` and a fixed JSON body, and hands each request it got to the test.
pub struct WebhookReceiver {
    pub port: u16,
    pub got: std::sync::mpsc::Receiver<Delivery>,
}

impl WebhookReceiver {
    pub fn start(answer: &'static str) -> WebhookReceiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("address").port();
        let (tx, got) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut headers = Vec::new();
                let mut length = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim().split_once(':') {
                        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
                        if k == "content-length" {
                            length = v.parse().unwrap_or(0);
                        }
                        headers.push((k, v));
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = stream.write_all(reply.as_bytes());
                let _ = tx.send(Delivery { headers, body });
            }
        });
        WebhookReceiver { port, got }
    }

    /// Starts a host that may call this receiver (the host reads the allow-list at start-up;
    /// every host a suite starts afterwards may reach every receiver of that suite).
    pub fn host(&self) -> Host {
        let mut hosts: Vec<String> = std::env::var("EDGEDESK_OUTBOUND_HOSTS")
            .unwrap_or_default()
            .split(',')
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
        hosts.push(format!("127.0.0.1:{}", self.port));
        std::env::set_var("EDGEDESK_OUTBOUND_HOSTS", hosts.join(","));
        Host::start()
    }
}

/// Whether `header` (`t=<unix seconds>,v1=<hex>`) is a fresh HMAC-SHA256 signature of `body`
/// with `secret`, as EdgeDesk signs its outbound webhooks.
pub fn signed_by(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = Some(x.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    (unix_now() - t).abs() < 300 && sign(secret, t, body).ends_with(&v1)
}
