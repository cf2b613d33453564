//! The mail relay: the component cannot open SMTP connections, so it asks its host to send.
//!
//! The component makes an ordinary outgoing HTTP request to an authority that never resolves,
//! `mail-relay.invalid` ([`AUTHORITY`]); [`crate::guest`] recognises it and hands the request
//! here instead of to the network (with the relay off, such a request is refused like any host
//! not allowed). The host tells the component it may do so with the Spin variable
//! `mail_relay` = `smtp` ([`VARIABLE`]).
//!
//! `POST /v1/send`, JSON:
//!
//! ```json
//! {"transport": {"kind": "smtp", "host": "smtp.example", "port": 587,
//!                "security": "none" | "starttls" | "tls", "username": null, "password": null},
//!  "from": "support@acme.example", "to": ["a@b.example"], "raw": "<base64 of the message>"}
//! ```
//!
//! The message goes out once, as given (`raw` is the whole RFC 5322 message; `from` and `to`
//! are the envelope), over SMTP with lettre: plain for `none`, STARTTLS required for
//! `starttls` (no fallback to plain text), TLS from the first byte for `tls`; `AUTH` when a
//! username is given. The server's certificate is checked against the Mozilla roots compiled
//! in (and `--mail-relay-ca`). Answers, always JSON:
//!
//! | status | body | when |
//! |---|---|---|
//! | 200 | `{"id": "<the server's reply text>"}` | the server took the message |
//! | 422 | `{"error":{"code":"rejected","message":"<its 5xx reply>"}}` | refused for good |
//! | 503 | `{"error":{"code":"unavailable","message":"…"}}` | a 4xx reply, no connection, a TLS failure, or no answer within [`SEND_TIMEOUT`] |
//! | 400 | `{"error":{"code":"bad_request","message":"…"}}` | the body does not decode (JSON, addresses, base64) |
//! | 501 | `{"error":{"code":"unsupported_transport","message":"…"}}` | a `transport.kind` other than `smtp` |
//! | 404, 405, 413 | the same shape | another path, another method, a body over [`MAX_BODY`] |

use std::str::FromStr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::{Method, StatusCode};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::log;

/// The authority the component sends mail requests to; `.invalid` never resolves (RFC 2606).
pub const AUTHORITY: &str = "mail-relay.invalid";
/// The Spin variable that tells the component which relay its host offers.
pub const VARIABLE: &str = "mail_relay";
/// Its value: the host sends over SMTP.
pub const KIND: &str = "smtp";
/// Longest one send may take, connection and every command included. A send runs inside a
/// request of the component, which the host abandons after `--timeout-ms` (30 s by default).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest request: a 25 MiB message in base64, with room for the envelope.
pub const MAX_BODY: usize = 40 * 1024 * 1024;

/// Whether an outgoing request of the component is for the relay.
pub fn is_relay(uri: &http::Uri) -> bool {
    uri.host()
        .is_some_and(|host| host.eq_ignore_ascii_case(AUTHORITY))
}

/// Why the relay could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("cannot read the mail relay's CA file {path}: {reason}")]
    Roots { path: String, reason: String },
}

/// Sends mail for the component.
pub struct MailRelay {
    /// What the host calls itself in `EHLO`.
    hello: String,
    /// Certificates trusted besides the Mozilla roots (PEM).
    extra_roots: Option<Vec<u8>>,
    timeout: Duration,
}

impl std::fmt::Debug for MailRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailRelay")
            .field("hello", &self.hello)
            .field("extra_roots", &self.extra_roots.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Security {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Deserialize)]
struct Transport {
    host: String,
    port: u16,
    security: Security,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SendRequest {
    transport: Transport,
    from: String,
    to: Vec<String>,
    raw: String,
}

/// An answer for the component: status and JSON body.
pub type Answer = (StatusCode, Value);

/// `{"error":{"code","message"}}` with `status`.
pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Answer {
    (
        status,
        json!({ "error": { "code": code, "message": message.into() } }),
    )
}

fn bad_request(message: impl Into<String>) -> Answer {
    error(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// A decoded send: the transport and the envelope with the message.
struct Send {
    transport: Transport,
    envelope: lettre::address::Envelope,
    message: Vec<u8>,
}

impl MailRelay {
    /// A relay that names itself `hello` and trusts the certificates in the PEM file
    /// `extra_roots` besides the Mozilla roots.
    pub fn new(hello: String, extra_roots: Option<&std::path::Path>) -> Result<Self, RelayError> {
        let extra_roots = match extra_roots {
            None => None,
            Some(path) => {
                let err = |reason: String| RelayError::Roots {
                    path: path.display().to_string(),
                    reason,
                };
                let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
                Certificate::from_pem(&pem).map_err(|e| err(e.to_string()))?;
                Some(pem)
            }
        };
        Ok(MailRelay {
            hello,
            extra_roots,
            timeout: SEND_TIMEOUT,
        })
    }

    /// The same relay trusting `pem` besides the Mozilla roots.
    pub fn trusting(mut self, pem: Vec<u8>) -> Self {
        self.extra_roots = Some(pem);
        self
    }

    /// The same relay giving up after `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Answers one request of the component to the relay.
    pub async fn answer(&self, method: &Method, path: &str, body: &[u8]) -> Answer {
        if path != "/v1/send" {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                "the mail relay has no such path",
            );
        }
        if method != Method::POST {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "the mail relay takes POST",
            );
        }
        let send = match decode(body) {
            Ok(send) => send,
            Err(answer) => return answer,
        };
        let started = Instant::now();
        let (host, port, security) = (
            send.transport.host.clone(),
            send.transport.port,
            send.transport.security,
        );
        let (recipients, bytes) = (send.envelope.to().len(), send.message.len());
        let answer = self.send(send).await;
        log::event(
            "mail_relayed",
            &[
                ("host", host.into()),
                ("port", port.into()),
                ("security", format!("{security:?}").to_lowercase().into()),
                ("recipients", recipients.into()),
                ("bytes", bytes.into()),
                ("status", answer.0.as_u16().into()),
                ("ms", (started.elapsed().as_millis() as u64).into()),
            ],
        );
        answer
    }

    async fn send(&self, send: Send) -> Answer {
        let Send {
            transport,
            envelope,
            message,
        } = send;
        let mailer = match self.transport(&transport) {
            Ok(mailer) => mailer,
            Err(e) => {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    format!("cannot prepare TLS: {e}"),
                )
            }
        };
        // lettre ends the data with CRLF "." CRLF after the message, so a message that already
        // ends with a line break would gain an empty line: it goes without its last CRLF.
        let wire = message.strip_suffix(b"\r\n").unwrap_or(&message);
        let sent = tokio::time::timeout(self.timeout, mailer.send_raw(&envelope, wire)).await;
        match sent {
            Ok(Ok(response)) => {
                let text = response.message().collect::<Vec<_>>().join(" ");
                (StatusCode::OK, json!({ "id": text }))
            }
            Ok(Err(e)) => failure(&e),
            Err(_) => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!(
                    "{}:{} did not finish within {} s",
                    transport.host,
                    transport.port,
                    self.timeout.as_secs()
                ),
            ),
        }
    }

    fn transport(
        &self,
        t: &Transport,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(t.host.as_str())
            .port(t.port)
            .timeout(Some(self.timeout))
            .hello_name(ClientId::Domain(self.hello.clone()));
        if t.security != Security::None {
            let mut params = TlsParameters::builder(t.host.clone());
            if let Some(pem) = &self.extra_roots {
                params = params.add_root_certificate(Certificate::from_pem(pem)?);
            }
            let params = params.build_rustls()?;
            builder = builder.tls(match t.security {
                Security::Tls => Tls::Wrapper(params),
                _ => Tls::Required(params),
            });
        }
        if let Some(user) = &t.username {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                t.password.clone().unwrap_or_default(),
            ));
        }
        Ok(builder.build())
    }
}

/// Decodes a send request, or answers why not.
fn decode(body: &[u8]) -> Result<Send, Answer> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the body is not JSON: {e}")))?;
    match value["transport"]["kind"].as_str() {
        Some(KIND) => {}
        Some(kind) => {
            return Err(error(
                StatusCode::NOT_IMPLEMENTED,
                "unsupported_transport",
                format!("this host sends mail by smtp, not {kind}"),
            ))
        }
        None => return Err(bad_request("transport.kind is required")),
    }
    let request: SendRequest = serde_json::from_value(value)
        .map_err(|e| bad_request(format!("the body does not decode: {e}")))?;
    if request.transport.host.trim().is_empty() {
        return Err(bad_request("transport.host is empty"));
    }
    let address = |a: &str| {
        Address::from_str(a).map_err(|e| bad_request(format!("{a:?} is not an address: {e}")))
    };
    let from = match request.from.as_str() {
        "" => None,
        a => Some(address(a)?),
    };
    let to = request
        .to
        .iter()
        .map(|a| address(a))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = lettre::address::Envelope::new(from, to)
        .map_err(|e| bad_request(format!("no envelope: {e}")))?;
    let message = base64::engine::general_purpose::STANDARD
        .decode(request.raw.as_bytes())
        .map_err(|e| bad_request(format!("raw is not standard base64: {e}")))?;
    if message.is_empty() {
        return Err(bad_request("raw is empty"));
    }
    Ok(Send {
        transport: request.transport,
        envelope,
        message,
    })
}

/// The answer for a failed send: a 5xx reply is a refusal; everything else may pass.
fn failure(e: &lettre::transport::smtp::Error) -> Answer {
    let detail = std::error::Error::source(e)
        .map(|s| s.to_string())
        .unwrap_or_default();
    match e.status() {
        Some(code) if e.is_permanent() => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rejected",
            format!("{code} {detail}").trim_end().to_owned(),
        ),
        Some(code) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("{code} {detail}").trim_end().to_owned(),
        ),
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            e.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests;
