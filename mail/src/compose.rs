//! Outbound mail: an agent's reply (or a notification) as RFC 5322 bytes, ready for whatever
//! sends it. `mail-builder` writes the MIME; this module decides the structure and headers.
//!
//! The output depends on the [`Outgoing`] alone: boundaries are derived from the Message-ID and
//! the Date is the one given, never the clock. The same reply composes to the same bytes, which
//! lets a retried send be recognised, and keeps the crate free of clocks and randomness.

use std::borrow::Cow;

use mail_builder::headers::address::Address as BuilderAddress;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::{BodyPart, MimePart};
use mail_builder::MessageBuilder;
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::html::text_to_html;
use crate::parse::{clean_id, Attachment};

/// A message to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    pub from: Address,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub reply_to: Option<Address>,
    pub subject: String,
    /// Message-ID, with or without angle brackets.
    pub message_id: String,
    /// The Message-ID answered, with or without angle brackets.
    pub in_reply_to: Option<String>,
    /// The thread's ids, oldest first, with or without angle brackets.
    pub references: Vec<String>,
    pub text: String,
    /// The HTML body; when `None`, one is made from `text` by [`text_to_html`].
    pub html: Option<String>,
    /// Files to send; those marked `inline` with a `content_id` go next to the HTML, for its
    /// `cid:` images.
    pub attachments: Vec<Attachment>,
    /// Date, as unix seconds.
    pub date: i64,
    /// Sent by the system rather than a person (an acknowledgement, a notification): marked
    /// `Auto-Submitted: auto-generated` (RFC 3834) so that other systems do not answer it.
    pub auto_submitted: bool,
}

/// `mail` as RFC 5322 bytes: `multipart/alternative` of the text and the HTML (the HTML in a
/// `multipart/related` with the inline images, if any), in a `multipart/mixed` with the other
/// attachments, if any. Non-ASCII headers are RFC 2047 encoded, bodies quoted-printable or
/// base64 as their content needs.
pub fn compose(mail: &Outgoing) -> Vec<u8> {
    let message_id = clean_id(&mail.message_id);
    let boundaries = Boundaries::new(mail, &message_id);

    let html = match &mail.html {
        Some(html) => html.clone(),
        None => html_document(&text_to_html(&mail.text)),
    };
    let text_part = MimePart::new(
        ContentType::new("text/plain").attribute("charset", "utf-8"),
        BodyPart::Text(Cow::Borrowed(mail.text.as_str())),
    );
    let html_part = MimePart::new(
        ContentType::new("text/html").attribute("charset", "utf-8"),
        BodyPart::Text(Cow::Owned(html)),
    );
    let (inline, files): (Vec<&Attachment>, Vec<&Attachment>) = mail
        .attachments
        .iter()
        .partition(|a| a.inline && a.content_id.is_some());
    let html_part = if inline.is_empty() {
        html_part
    } else {
        let mut parts = vec![html_part];
        parts.extend(inline.into_iter().map(attachment_part));
        multipart("multipart/related", &boundaries.related, parts)
    };
    let alternative = multipart(
        "multipart/alternative",
        &boundaries.alternative,
        vec![text_part, html_part],
    );
    let body = if files.is_empty() {
        alternative
    } else {
        let mut parts = vec![alternative];
        parts.extend(files.into_iter().map(attachment_part));
        multipart("multipart/mixed", &boundaries.mixed, parts)
    };

    let mut builder = MessageBuilder::new()
        .from(address(&mail.from))
        .subject(mail.subject.as_str())
        .date(Date::new(mail.date))
        .message_id(message_id);
    if !mail.to.is_empty() {
        builder = builder.to(address_list(&mail.to));
    }
    if !mail.cc.is_empty() {
        builder = builder.cc(address_list(&mail.cc));
    }
    if let Some(reply_to) = &mail.reply_to {
        builder = builder.reply_to(address(reply_to));
    }
    if let Some(id) = mail.in_reply_to.as_deref().map(clean_id) {
        if !id.is_empty() {
            builder = builder.in_reply_to(id);
        }
    }
    let references: Vec<String> = mail
        .references
        .iter()
        .map(|id| clean_id(id))
        .filter(|id| !id.is_empty())
        .collect();
    if !references.is_empty() {
        builder = builder.references(MessageId::new_list(references.into_iter()));
    }
    if mail.auto_submitted {
        builder = builder
            .header("Auto-Submitted", Raw::new("auto-generated"))
            // Exchange answers anything with an out-of-office reply unless told not to, and an
            // out-of-office reply to a notification is mail nobody wants.
            .header("X-Auto-Response-Suppress", Raw::new("All"));
    }
    // Writing to a Vec cannot fail.
    builder.body(body).write_to_vec().unwrap_or_default()
}

/// A minimal HTML document around a body fragment.
fn html_document(body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{body}</body></html>\n"
    )
}

fn address(a: &Address) -> BuilderAddress<'_> {
    BuilderAddress::new_address(a.name.as_deref(), a.address.as_str())
}

fn address_list(list: &[Address]) -> BuilderAddress<'_> {
    BuilderAddress::new_list(list.iter().map(address).collect())
}

fn multipart<'x>(
    content_type: &'x str,
    boundary: &'x str,
    parts: Vec<MimePart<'x>>,
) -> MimePart<'x> {
    MimePart::new(
        ContentType::new(content_type).attribute("boundary", boundary),
        BodyPart::Multipart(parts),
    )
}

fn attachment_part(a: &Attachment) -> MimePart<'_> {
    let content_type = if a.content_type.trim().is_empty() {
        "application/octet-stream"
    } else {
        a.content_type.as_str()
    };
    let part = MimePart::new(
        ContentType::new(content_type).attribute("name", a.filename.as_str()),
        BodyPart::Binary(Cow::Borrowed(a.bytes.as_slice())),
    );
    match &a.content_id {
        Some(cid) if a.inline => part
            .header(
                "Content-Disposition",
                ContentType::new("inline").attribute("filename", a.filename.as_str()),
            )
            .cid(clean_id(cid)),
        _ => part.attachment(a.filename.as_str()),
    }
}

/// The boundaries of the multiparts: from a hash of the Message-ID, so the output is
/// deterministic, and checked against the content, since a 7bit body or a binary attachment is
/// written as it is and must not contain one. (Quoted-printable never writes `=_`, base64
/// never writes `_`.)
struct Boundaries {
    mixed: String,
    alternative: String,
    related: String,
}

impl Boundaries {
    fn new(mail: &Outgoing, message_id: &str) -> Boundaries {
        let mut seed = fnv1a(message_id.as_bytes());
        loop {
            let make = |kind: &str| format!("=_{kind}_{seed:016x}");
            let b = Boundaries {
                mixed: make("mixed"),
                alternative: make("alt"),
                related: make("rel"),
            };
            let found_in = |content: &[u8]| {
                [&b.mixed, &b.alternative, &b.related]
                    .iter()
                    .any(|boundary| contains(content, boundary.as_bytes()))
            };
            let clash = found_in(mail.text.as_bytes())
                || mail.html.as_ref().is_some_and(|h| found_in(h.as_bytes()))
                || mail.attachments.iter().any(|a| found_in(&a.bytes));
            if !clash {
                return b;
            }
            seed = fnv1a(&seed.to_le_bytes());
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every boundary starts with `=_`; only where that pair occurs is the rest compared, so a
/// 25 MB attachment is one pass.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| *pair == b"=_")
        .any(|(i, _)| haystack[i..].starts_with(needle))
}
