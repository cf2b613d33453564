//! Raw inbound mail to an [`Inbound`]: the headers the channel threads and routes by, the text an
//! agent is shown, the attachments, and the kind of mail. MIME structure, transfer encodings,
//! RFC 2047 words, RFC 2231 parameters and charsets are `mail-parser`'s; this module picks what
//! the channel needs out of its `Message`.

use mail_parser::{
    Encoding, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::classify::{classify, Kind};
use crate::error::MailError;
use crate::{html, visible};

/// What [`parse`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// The largest raw message, in bytes, checked before anything is parsed.
    pub max_bytes: usize,
    /// The most attachments (inline images included) a message may carry.
    pub max_attachments: usize,
}

impl Default for Limits {
    /// 25 MiB, the size most providers cap outgoing mail at, and 50 attachments.
    fn default() -> Self {
        Limits {
            max_bytes: 25 * 1024 * 1024,
            max_attachments: 50,
        }
    }
}

/// An inbound message as the channel uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inbound {
    /// Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The ids in In-Reply-To, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// The ids in References, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// The first address of From. `None` when there is none or it is not an address (a bounce
    /// from `MAILER-DAEMON` without a domain): the message is still parsed and classified, and
    /// the channel refuses to open a conversation for it.
    pub from: Option<Address>,
    /// The first address of Reply-To.
    pub reply_to: Option<Address>,
    /// Return-Path is `<>`: the message was sent with the null sender, as bounces and many
    /// auto-replies are. (Only when the receiving server recorded the envelope sender.)
    pub sender_is_null: bool,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// The subject, decoded; `""` if there is none.
    pub subject: String,
    /// Date, as unix seconds.
    pub date: Option<i64>,
    /// What an agent is shown: the text body (or the HTML converted to text) without quoted
    /// history and signature, trimmed. Never empty when `full_text` is not.
    pub visible_text: String,
    /// The whole text body: the text parts, or the HTML parts converted when there is no text.
    pub full_text: String,
    /// The message has an HTML body.
    pub has_html: bool,
    pub attachments: Vec<Attachment>,
    pub kind: Kind,
}

/// A file carried by a message, or one to send with a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file's name as the sender gave it (Content-Disposition `filename`, else Content-Type
    /// `name`, RFC 2231 and RFC 2047 decoded); made up from the content type when there is none.
    pub filename: String,
    /// `type/subtype`, lowercase; `application/octet-stream` when the part has none.
    pub content_type: String,
    /// The decoded content. Text attachments are converted to UTF-8.
    pub bytes: Vec<u8>,
    /// Shown in the body (an image the HTML refers to) rather than offered as a file.
    pub inline: bool,
    /// Content-ID, without angle brackets: what `cid:` URLs in the HTML refer to.
    pub content_id: Option<String>,
}

/// Parses raw RFC 5322 bytes.
///
/// Refuses messages over `limits.max_bytes` before parsing, messages with more than
/// `limits.max_attachments` attachments, and bytes that are not email at all (empty, or without a
/// single header). Anything else, however broken, gives an `Inbound`: a missing closing
/// boundary ends the part at the end of the message, undecodable base64 or an unknown charset
/// keeps the bytes as they are, lines of any length and any nesting are read. A message without
/// a usable From is parsed with `from: None`.
pub fn parse(raw: &[u8], limits: &Limits) -> Result<Inbound, MailError> {
    if raw.len() > limits.max_bytes {
        return Err(MailError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(MailError::Malformed("the message is empty".into()));
    }
    // Bytes that are not mail still parse, into headers with made-up names; mail has at least
    // one header RFC 5322 or MIME defines.
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| m.headers().iter().any(|h| !h.name.is_other()))
        .ok_or_else(|| MailError::Malformed("no email header could be read".into()))?;

    let (full_text, has_html, body_part) = body_text(&message);
    let attachments = attachments(&message, body_part);
    if attachments.len() > limits.max_attachments {
        return Err(MailError::TooManyAttachments {
            limit: limits.max_attachments,
        });
    }

    let subject = message.subject().unwrap_or_default().trim().to_string();
    let visible_text = visible::visible_text(&full_text, &subject);
    let from = first_address(message.from());
    let sender_is_null = message
        .header_raw("Return-Path")
        .is_some_and(|r| r.trim().trim_matches(['<', '>']).trim().is_empty());
    let kind = classify(&message, &subject, &full_text, sender_is_null);

    Ok(Inbound {
        message_id: message
            .message_id()
            .map(clean_id)
            .filter(|id| !id.is_empty()),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        from,
        reply_to: first_address(message.reply_to()),
        sender_is_null,
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        subject,
        date: message.date().map(|d| d.to_timestamp()),
        visible_text,
        full_text,
        has_html,
        attachments,
        kind,
    })
}

/// An id as the channel stores it: no brackets, no spaces.
pub(crate) fn clean_id(id: &str) -> String {
    id.trim().trim_matches(['<', '>']).trim().to_string()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match value {
        HeaderValue::Text(id) => vec![id.as_ref()],
        HeaderValue::TextList(ids) => ids.iter().map(|id| id.as_ref()).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .map(clean_id)
        .filter(|id| !id.is_empty())
        .collect()
}

fn first_address(value: Option<&mail_parser::Address<'_>>) -> Option<Address> {
    addresses(value).into_iter().next()
}

/// Every address of a header, groups flattened, the ones that are not addresses left out.
fn addresses(value: Option<&mail_parser::Address<'_>>) -> Vec<Address> {
    let Some(value) = value else {
        return Vec::new();
    };
    value
        .iter()
        .filter_map(|a| Address::new(a.address()?, a.name()))
        .collect()
}

/// The text of the body, whether it has HTML, and the part that was read as the body although
/// `mail-parser` took it for an attachment (see [`recovered_text`]). The text parts are used when
/// there is text in them; otherwise the HTML parts converted, since a client that sends an empty
/// text part next to its HTML means the HTML.
fn body_text(message: &Message<'_>) -> (String, bool, Option<u32>) {
    let has_html = message
        .html_bodies()
        .any(|p| matches!(p.body, PartType::Html(_)));
    let texts: Vec<&str> = message
        .text_bodies()
        .filter_map(|p| match &p.body {
            PartType::Text(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect();
    let text = normalize_newlines(&texts.join("\n"));
    if !text.trim().is_empty() {
        return (text.trim_end().to_string(), has_html, None);
    }
    if !has_html {
        return match recovered_text(message) {
            Some((id, text)) => (
                normalize_newlines(&text).trim_end().to_string(),
                false,
                Some(id),
            ),
            None => (String::new(), false, None),
        };
    }
    let converted: Vec<String> = message
        .html_bodies()
        .filter_map(|p| match &p.body {
            PartType::Html(h) => Some(html::html_to_text(h)),
            _ => None,
        })
        .collect();
    (converted.join("\n\n"), has_html, None)
}

/// The text of a message whose body `mail-parser` could not read as one: a multipart without a
/// boundary, or a text part whose base64 is broken. It keeps such a part's undecoded bytes as an
/// attachment; the first text part that names no file is the body. Broken base64 is decoded up
/// to the first character that cannot be in it, which recovers what the sender wrote before the
/// damage; the rest is dropped rather than shown as base64.
fn recovered_text(message: &Message<'_>) -> Option<(u32, String)> {
    message.attachments.iter().find_map(|&id| {
        let part = message.parts.get(id as usize)?;
        let names_a_file = part.attachment_name().is_some()
            || part
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
        let textual = part.content_type().is_none_or(|ct| {
            matches!(
                ct.ctype().to_ascii_lowercase().as_str(),
                "text" | "multipart"
            )
        });
        if names_a_file || !textual {
            return None;
        }
        let decode_charset = |bytes: &[u8]| {
            let charset = part
                .content_type()
                .and_then(|ct| ct.attribute("charset"))
                .and_then(|c| mail_parser::decoders::charsets::map::charset_decoder(c.as_bytes()));
            match charset {
                Some(decode) => decode(bytes),
                None => String::from_utf8_lossy(bytes).into_owned(),
            }
        };
        let text = match &part.body {
            // A multipart without a boundary: its body is text nobody encoded.
            PartType::Binary(bytes) => decode_charset(bytes),
            PartType::Text(text) if part.is_encoding_problem && is_base64(part) => {
                let valid: Vec<u8> = text
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || b"+/=\r\n\t ".contains(b))
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                let whole = &valid[..valid.len() / 4 * 4];
                decode_charset(&mail_parser::decoders::base64::base64_decode(whole)?)
            }
            PartType::Text(text) => text.to_string(),
            _ => return None,
        };
        Some((id, text))
    })
}

fn is_base64(part: &MessagePart<'_>) -> bool {
    part.content_transfer_encoding()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"))
}

/// `\n` line ends, and no trailing spaces except on the signature separator `-- `.
fn normalize_newlines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(if line == "-- " { line } else { line.trim_end() });
    }
    out
}

/// The attachments, but for the part read as the body.
fn attachments(message: &Message<'_>, body_part: Option<u32>) -> Vec<Attachment> {
    message
        .attachments
        .iter()
        .filter(|&&id| Some(id) != body_part)
        .filter_map(|&id| message.parts.get(id as usize))
        .enumerate()
        .map(|(i, part)| attachment(message, part, i + 1))
        .collect()
}

fn attachment(message: &Message<'_>, part: &MessagePart<'_>, number: usize) -> Attachment {
    let content_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| "application/octet-stream".into())
        .to_ascii_lowercase();
    let filename = part
        .attachment_name()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| default_filename(&content_type, number));
    let bytes = match &part.body {
        // A nested message that was base64 or quoted-printable encoded was parsed from the
        // decoded bytes, which it keeps.
        PartType::Message(nested) if part.encoding != Encoding::None => {
            nested.raw_message().to_vec()
        }
        // Otherwise its own `raw_message` may be the whole outer message; its bytes are the
        // part's body.
        PartType::Message(_) => message
            .raw_message()
            .get(part.raw_body_offset() as usize..part.raw_end_offset() as usize)
            .unwrap_or_default()
            .to_vec(),
        _ => part.contents().to_vec(),
    };
    let disposition = part.content_disposition();
    let content_id = part.content_id().map(clean_id).filter(|id| !id.is_empty());
    let inline = match disposition {
        Some(d) => d.ctype().eq_ignore_ascii_case("inline"),
        // Without a disposition an image with a Content-ID is there for the HTML to show.
        None => content_id.is_some() && content_type.starts_with("image/"),
    };
    Attachment {
        filename,
        content_type,
        bytes,
        inline,
        content_id,
    }
}

/// A name for a part that has none, so the agent can still download it: `message.eml` for a
/// returned or forwarded message, `attachment-3.pdf` otherwise.
fn default_filename(content_type: &str, number: usize) -> String {
    let ext = match content_type {
        "message/rfc822" | "message/global" => return "message.eml".into(),
        "message/delivery-status" | "message/global-delivery-status" => {
            return "delivery-status.txt".into()
        }
        "text/rfc822-headers" | "message/global-headers" => return "headers.txt".into(),
        "message/disposition-notification" | "message/global-disposition-notification" => {
            return "disposition-notification.txt".into()
        }
        "text/plain" => "txt",
        "text/html" => "html",
        "text/calendar" => "ics",
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "bin",
    };
    format!("attachment-{number}.{ext}")
}
