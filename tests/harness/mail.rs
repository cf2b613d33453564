//! Mail for the suites: the capture server that stands in for the recipients' mail servers
//! (the host's own SMTP session code over real SMTP, see `edgedesk_local::smtp::capture`), an
//! SMTP client (lettre) to hand the host mail as a customer's provider would, and messages as a
//! customer's mail program writes them.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::{Address, SmtpTransport, Transport};

pub use edgedesk_local::smtp::capture::{CaptureOptions, CaptureServer, Captured, Refusal};

/// Sends `raw` over SMTP to `127.0.0.1:port` with this envelope (`from` empty: the null
/// sender). `Ok`: the server's reply to the message; `Err`: the reply that refused it, as
/// `"<code> <text>"` (e.g. `550 5.1.1 …`), or why there was none.
pub fn send(port: u16, from: &str, to: &[&str], raw: &str) -> Result<String, String> {
    let address = |a: &str| a.parse::<Address>().map_err(|e| format!("{a}: {e}"));
    let from = match from {
        "" => None,
        a => Some(address(a)?),
    };
    let to = to
        .iter()
        .map(|a| address(a))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = Envelope::new(from, to).map_err(|e| e.to_string())?;
    let client = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(60)))
        .build();
    // lettre ends the data with CRLF "." CRLF itself.
    let wire = raw.strip_suffix("\r\n").unwrap_or(raw);
    match client.send_raw(&envelope, wire.as_bytes()) {
        Ok(response) => Ok(format!(
            "{} {}",
            response.code(),
            response.message().collect::<Vec<_>>().join(" ")
        )),
        Err(e) => Err(match e.status() {
            Some(code) => format!(
                "{code} {}",
                std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            ),
            None => e.to_string(),
        }),
    }
}

/// A message as a customer's mail program writes it.
pub struct CustomerMail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    /// More header fields (`In-Reply-To`, `References`, `Auto-Submitted`, …).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl CustomerMail {
    /// A new message from `from` to `to`; `id` becomes `<id>` in `Message-ID`.
    pub fn new(from: &str, to: &str, subject: &str, id: &str, body: &str) -> CustomerMail {
        CustomerMail {
            from: from.to_owned(),
            to: to.to_owned(),
            subject: subject.to_owned(),
            message_id: format!("<{id}>"),
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }

    /// The same message with one more header field.
    pub fn header(mut self, name: &str, value: &str) -> CustomerMail {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The message text (CRLF line ends, a plain-text body).
    pub fn raw(&self) -> String {
        let mut raw = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
            self.from, self.to, self.subject, self.message_id
        );
        for (name, value) in &self.headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str("\r\n");
        for line in self.body.lines() {
            raw.push_str(line);
            raw.push_str("\r\n");
        }
        raw
    }

    /// Sends it to the host's SMTP listener on `port`, with `from` and `to` as the envelope.
    pub fn send(&self, port: u16) -> Result<String, String> {
        send(port, &self.from, &[&self.to], &self.raw())
    }
}

/// The address in a header value like `"Name" <a@b>` or `a@b`.
pub fn address_in(value: &str) -> &str {
    match (value.rfind('<'), value.rfind('>')) {
        (Some(start), Some(end)) if start < end => &value[start + 1..end],
        _ => value.trim(),
    }
}

/// One send a [`MailgunStandIn`] accepted: the recipients of its `to` fields and the message.
pub struct MailgunSend {
    pub to: Vec<String>,
    pub raw: String,
}

/// A stand-in for Mailgun's raw-MIME send, written from its published reference
/// (<https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages/post-v3--domain-name--messages-mime.md>):
/// `POST /v3/{domain}/messages.mime`, HTTP Basic auth as `api:<key>`, a `multipart/form-data`
/// body with one or more `to` fields and the message as the `message` file. It answers as
/// Mailgun does: `200 {"id": "<…>", "message": "Queued. Thank you."}`, `401 Forbidden` for a
/// wrong key, `404 {"message": "Domain not found: …"}` for another domain, `400 {"message":
/// "'to' parameter is missing"}` without recipients.
pub struct MailgunStandIn {
    pub port: u16,
    pub sent: std::sync::mpsc::Receiver<MailgunSend>,
}

impl MailgunStandIn {
    pub fn start(domain: &'static str, key: &'static str) -> MailgunStandIn {
        use base64::Engine;
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("an address").port();
        let (tx, sent) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let (mut length, mut auth, mut ctype) = (0usize, String::new(), String::new());
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim().split_once(':') {
                        match k.trim().to_ascii_lowercase().as_str() {
                            "content-length" => length = v.trim().parse().unwrap_or(0),
                            "authorization" => auth = v.trim().to_owned(),
                            "content-type" => ctype = v.trim().to_owned(),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let expected = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("api:{key}"))
                );
                let (status, answer) = if auth != expected {
                    (401, "Forbidden".to_owned())
                } else if path != format!("/v3/{domain}/messages.mime") {
                    (404, format!(r#"{{"message":"Domain not found: {path}"}}"#))
                } else {
                    let form = multipart_fields(&ctype, &body);
                    let to: Vec<String> = form
                        .iter()
                        .filter(|(n, _)| n == "to")
                        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                        .collect();
                    let raw = form
                        .iter()
                        .find(|(n, _)| n == "message")
                        .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
                    match raw {
                        Some(raw) if !to.is_empty() => {
                            let _ = tx.send(MailgunSend { to, raw });
                            (
                                200,
                                format!(
                                    r#"{{"id":"<{}@{domain}>","message":"Queued. Thank you."}}"#,
                                    length
                                ),
                            )
                        }
                        _ => (400, r#"{"message":"'to' parameter is missing"}"#.to_owned()),
                    }
                };
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        MailgunStandIn { port, sent }
    }
}

/// The fields of a `multipart/form-data` body: each part's `name` and bytes.
fn multipart_fields(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return Vec::new();
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let text = body;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let content = &rest[head_end + 4..];
        let end = find(content, format!("\r\n{delimiter}").as_bytes()).unwrap_or(content.len());
        let name = head
            .split("name=\"")
            .nth(1)
            .and_then(|n| n.split('"').next())
            .unwrap_or_default()
            .to_owned();
        out.push((name, content[..end].to_vec()));
        rest = &content[end..];
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
