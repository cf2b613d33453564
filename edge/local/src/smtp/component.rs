//! The listener's [`Backend`] on this host: the component decides.
//!
//! - At `RCPT TO`: `GET /v1/system/mailboxes/{address}` (the address percent-encoded). `200`
//!   accepts the recipient; `404` answers `550 5.1.1 <address>: no such mailbox here`; anything
//!   else, or no answer, `451 4.3.0 try again later`.
//! - After `DATA`, once per message: `POST /v1/system/mail` with `Content-Type:
//!   message/rfc822`, `X-Mail-From` (the envelope sender, empty for the null sender) and
//!   `X-Mail-To` (the accepted recipients, comma-separated), the body being the message as
//!   received with this host's `Received:` field in front. The answer becomes the reply to
//!   `DATA` ([`delivery_reply`]).
//!
//! Both carry `X-Platform-Token`, through the same path as the sweep ([`crate::system`]).
//! Addresses in the headers are UTF-8 as the client wrote them (`SMTPUTF8`).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::session::{Mail, Reply};
use super::Backend;
use crate::guest::Guest;
use crate::log;
use crate::system::{self, SystemRequest};

/// Everything but RFC 3986's unreserved characters is encoded in the address's path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The component, reached through its system routes.
pub struct ComponentMailboxes {
    pub guest: Arc<Guest>,
    /// The `Host` of the calls (the HTTP listener's address).
    pub authority: String,
    pub token: String,
}

/// The path that asks about one recipient.
pub fn mailbox_path(address: &str) -> String {
    format!(
        "/v1/system/mailboxes/{}",
        utf8_percent_encode(address, SEGMENT)
    )
}

/// The reply to `RCPT TO` for the component's answer (`None`: it gave none).
pub fn recipient_verdict(address: &str, status: Option<StatusCode>) -> Result<(), Reply> {
    match status {
        Some(StatusCode::OK) => Ok(()),
        Some(StatusCode::NOT_FOUND) => Err(Reply::no_such_mailbox(address)),
        _ => Err(Reply::try_later()),
    }
}

/// The reply to `DATA` for the component's answer to the delivery (`None`: it gave none).
pub fn delivery_reply(answer: Option<(StatusCode, &[u8])>) -> Reply {
    let Some((status, body)) = answer else {
        return Reply::try_later();
    };
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let message = || {
        json["error"]["message"]
            .as_str()
            .filter(|m| !m.is_empty())
            .unwrap_or("the message was refused")
            .to_owned()
    };
    match status.as_u16() {
        200..=299 => Reply::queued(json["id"].as_str()),
        413 => Reply::new(552, "5.3.4 message too big for this mailbox"),
        400 | 422 => Reply::new(554, format!("5.6.0 {}", message())),
        404 => Reply::new(550, "5.1.1 no such mailbox here"),
        429 => Reply::new(451, "4.7.1 rate limited"),
        _ => Reply::try_later(),
    }
}

impl ComponentMailboxes {
    async fn call(&self, request: SystemRequest<'_>) -> Option<system::Answer> {
        system::call_route(&self.guest, &self.authority, &self.token, request, false).await
    }
}

impl Backend for ComponentMailboxes {
    async fn recipient(&self, address: &str) -> Result<(), Reply> {
        let path = mailbox_path(address);
        let answer = self
            .call(SystemRequest {
                method: Method::GET,
                path: &path,
                headers: Vec::new(),
                body: Bytes::new(),
            })
            .await;
        if let Some((status, detail, _)) = &answer {
            if *status != StatusCode::OK && *status != StatusCode::NOT_FOUND {
                let mut fields = vec![("status", status.as_u16().into())];
                if let Some(detail) = detail {
                    fields.push(("detail", detail.clone().into()));
                }
                log::event("mailbox_lookup_failed", &fields);
            }
        }
        recipient_verdict(address, answer.map(|(status, _, _)| status))
    }

    async fn deliver(&self, mail: Mail) -> Reply {
        let started = Instant::now();
        let header = |value: &str| HeaderValue::from_bytes(value.as_bytes());
        let (Ok(from), Ok(to)) = (header(&mail.from), header(&mail.to.join(","))) else {
            return Reply::try_later();
        };
        let bytes = Bytes::from(mail.with_received());
        let size = bytes.len();
        let answer = self
            .call(SystemRequest {
                method: Method::POST,
                path: "/v1/system/mail",
                headers: vec![
                    (
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("message/rfc822"),
                    ),
                    (HeaderName::from_static("x-mail-from"), from),
                    (HeaderName::from_static("x-mail-to"), to),
                ],
                body: bytes,
            })
            .await;
        let reply = delivery_reply(
            answer
                .as_ref()
                .map(|(status, _, body)| (*status, body.as_ref())),
        );
        let mut fields = vec![
            ("peer", super::peer_ip(mail.peer).into()),
            ("recipients", mail.to.len().into()),
            ("bytes", size.into()),
            ("reply", reply.code.into()),
            ("ms", (started.elapsed().as_millis() as u64).into()),
        ];
        if let Some((status, detail, _)) = &answer {
            fields.push(("status", status.as_u16().into()));
            if let Some(detail) = detail {
                fields.push(("detail", detail.clone().into()));
            }
        }
        log::event("mail_received", &fields);
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_one_percent_encoded_path_segment() {
        assert_eq!(
            mailbox_path("support+t0k@acme.example"),
            "/v1/system/mailboxes/support%2Bt0k%40acme.example"
        );
        assert_eq!(
            mailbox_path("a/b?c#d@x"),
            "/v1/system/mailboxes/a%2Fb%3Fc%23d%40x"
        );
        assert_eq!(
            mailbox_path("jürgen@bücher.example"),
            "/v1/system/mailboxes/j%C3%BCrgen%40b%C3%BCcher.example"
        );
    }

    #[test]
    fn a_recipient_is_taken_on_200_refused_on_404_and_deferred_otherwise() {
        assert_eq!(recipient_verdict("a@x", Some(StatusCode::OK)), Ok(()));
        assert_eq!(
            recipient_verdict("a@x", Some(StatusCode::NOT_FOUND)),
            Err(Reply::new(550, "5.1.1 <a@x>: no such mailbox here"))
        );
        for status in [
            Some(StatusCode::UNAUTHORIZED),
            Some(StatusCode::SERVICE_UNAVAILABLE),
            Some(StatusCode::TOO_MANY_REQUESTS),
            None,
        ] {
            assert_eq!(
                recipient_verdict("a@x", status),
                Err(Reply::new(451, "4.3.0 try again later"))
            );
        }
    }

    #[test]
    fn the_components_answer_to_a_delivery_becomes_the_reply_to_data() {
        let reply = |status: u16, body: &str| {
            delivery_reply(Some((
                StatusCode::from_u16(status).unwrap(),
                body.as_bytes(),
            )))
        };
        assert_eq!(
            reply(202, r#"{"id":"em_1","results":[]}"#),
            Reply::new(250, "2.0.0 Ok: queued as em_1")
        );
        assert_eq!(reply(200, ""), Reply::new(250, "2.0.0 Ok: queued"));
        assert_eq!(reply(413, "{}").code, 552);
        assert_eq!(
            reply(
                422,
                r#"{"error":{"code":"invalid_message","message":"no From header"}}"#
            ),
            Reply::new(554, "5.6.0 no From header")
        );
        assert_eq!(
            reply(400, "not json"),
            Reply::new(554, "5.6.0 the message was refused")
        );
        assert_eq!(reply(404, "{}").code, 550);
        assert_eq!(reply(429, "{}"), Reply::new(451, "4.7.1 rate limited"));
        for status in [500, 503, 401] {
            assert_eq!(
                reply(status, "{}"),
                Reply::new(451, "4.3.0 try again later")
            );
        }
        assert_eq!(
            delivery_reply(None),
            Reply::new(451, "4.3.0 try again later")
        );
    }
}
