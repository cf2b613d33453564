//! Sending one composed mail through a channel's transport.
//!
//! - **Mailgun** is an HTTP API, sent from here through the `OutboundHttp` port on every
//!   runtime: `POST {base}/v3/{domain}/messages.mime` with the raw message, so the headers
//!   that thread the conversation (Message-ID, In-Reply-To, References) go out as written
//!   (<https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages/post-v3--domain-name--messages-mime.md>).
//! - **SMTP** and **Cloudflare's `send_email` binding** need the host: a component cannot open
//!   SMTP sockets and only the Worker holds the binding. The runtime relays them: the mail is
//!   posted to the reserved address `http://mail-relay.invalid/v1/send` (`.invalid` never
//!   resolves, so on a runtime without a relay nothing leaves the machine), and the host
//!   sends it. A runtime says which kinds it relays in the `mail_relay` variable (`smtp` on
//!   the local host, `cloudflare` on the Worker).

use base64::Engine;
use serde::Deserialize;

use crate::ports::{OutboundRequest, Platform};
use edgedesk_shared::email::Transport;

/// Where a runtime's mail relay listens (see the module docs).
pub const RELAY_URL: &str = "http://mail-relay.invalid/v1/send";

/// Why a mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Trying again will not help (refused recipient, bad credentials, no way to send here).
    #[error("{0}")]
    Permanent(String),
    /// Worth another try later (a server that is down, a rate limit).
    #[error("{0}")]
    Transient(String),
}

/// One mail to send.
pub struct Envelope<'a> {
    pub from: &'a str,
    pub to: Vec<String>,
    pub raw: &'a [u8],
}

/// Sends `mail` through `transport`; answers what the receiving server said.
pub async fn send<P: Platform>(
    p: &P,
    transport: &Transport,
    mail: &Envelope<'_>,
) -> Result<String, SendError> {
    match transport {
        Transport::Mailgun {
            base_url,
            domain,
            api_key,
        } => mailgun(p, base_url, domain, api_key.as_deref(), mail).await,
        Transport::Smtp { .. } | Transport::Cloudflare { .. } => relay(p, transport, mail).await,
    }
}

/// Whether this runtime relays `kind` (its `mail_relay` variable lists the kinds).
pub fn relays<P: Platform>(p: &P, kind: &str) -> bool {
    p.var("mail_relay")
        .is_some_and(|v| v.split(',').any(|k| k.trim() == kind))
}

#[derive(Deserialize)]
struct RelayAnswer {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    error: Option<RelayError>,
}

#[derive(Deserialize)]
struct RelayError {
    #[serde(default)]
    message: String,
}

async fn relay<P: Platform>(
    p: &P,
    transport: &Transport,
    mail: &Envelope<'_>,
) -> Result<String, SendError> {
    let kind = transport.kind();
    if !relays(p, kind) {
        return Err(SendError::Permanent(match kind {
            "smtp" => "this runtime cannot send by SMTP (only the local host can): choose the Mailgun transport".into(),
            _ => "this runtime has no send_email binding (only the Worker has): choose another transport".into(),
        }));
    }
    let body = serde_json::json!({
        "transport": transport,
        "from": mail.from,
        "to": mail.to,
        "raw": base64::engine::general_purpose::STANDARD.encode(mail.raw),
    });
    let request = OutboundRequest {
        method: http::Method::POST,
        url: RELAY_URL.to_owned(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&body).unwrap_or_default(),
    };
    let (status, answer) = p
        .fetch(request)
        .await
        .map_err(|e| SendError::Transient(format!("the mail relay did not answer: {e}")))?;
    let parsed: Option<RelayAnswer> = serde_json::from_slice(&answer).ok();
    let message = parsed
        .as_ref()
        .and_then(|a| a.error.as_ref())
        .map(|e| e.message.clone())
        .unwrap_or_else(|| format!("the mail relay answered {status}"));
    match status {
        200..=299 => Ok(parsed.and_then(|a| a.id).unwrap_or_default()),
        422 | 400 | 501 => Err(SendError::Permanent(message)),
        _ => Err(SendError::Transient(message)),
    }
}

#[derive(Deserialize)]
struct MailgunAnswer {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Mailgun's raw-MIME send: a multipart form with one `to` field per recipient and the
/// message as the `message` file, authenticated as `api:<key>`.
async fn mailgun<P: Platform>(
    p: &P,
    base_url: &str,
    domain: &str,
    api_key: Option<&str>,
    mail: &Envelope<'_>,
) -> Result<String, SendError> {
    let Some(key) = api_key else {
        return Err(SendError::Permanent(
            "the channel has no Mailgun API key".into(),
        ));
    };
    let boundary = format!("edgedesk-{}", crate::ctx::random_hex(p, 12));
    let mut body = Vec::with_capacity(mail.raw.len() + 512);
    for to in &mail.to {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n{to}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"message\"; filename=\"message.eml\"\r\nContent-Type: message/rfc822\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(mail.raw);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("api:{key}"));
    let request = OutboundRequest {
        method: http::Method::POST,
        url: format!(
            "{}/v3/{}/messages.mime",
            base_url.trim_end_matches('/'),
            domain
        ),
        headers: vec![
            (
                "content-type".into(),
                format!("multipart/form-data; boundary={boundary}"),
            ),
            ("authorization".into(), format!("Basic {auth}")),
        ],
        body,
    };
    let (status, answer) = p
        .fetch(request)
        .await
        .map_err(|e| SendError::Transient(format!("Mailgun did not answer: {e}")))?;
    let parsed: Option<MailgunAnswer> = serde_json::from_slice(&answer).ok();
    let said = parsed
        .as_ref()
        .and_then(|a| a.message.clone())
        .unwrap_or_default();
    match status {
        200..=299 => Ok(parsed.and_then(|a| a.id).unwrap_or(said)),
        // Mailgun's documented answers: 400 bad request, 401 bad key, 402 account limits,
        // 404 unknown domain, 413 too large are the sender's to fix; 429 and 5xx pass.
        429 | 500..=599 => Err(SendError::Transient(format!(
            "Mailgun answered {status}: {said}"
        ))),
        _ => Err(SendError::Permanent(format!(
            "Mailgun answered {status}: {said}"
        ))),
    }
}
