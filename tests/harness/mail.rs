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
