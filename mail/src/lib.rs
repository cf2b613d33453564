//! EdgeDesk's email channel, without I/O.
//!
//! Inbound mail arrives as raw RFC 5322 bytes and leaves as an [`Inbound`]: who sent it, how it
//! threads (Message-ID, In-Reply-To, References, a `[#1234]` ticket number in the subject, a
//! plus-address token), what an agent is shown (the new text only, quoted history and signature
//! removed, HTML turned into plain text) and what kind of mail it is (a person, an auto-reply,
//! bulk mail or a bounce), so the channel can refuse to open tickets for machines and mark
//! deliveries that failed. Outbound replies are composed by [`compose`] from an [`Outgoing`].
//!
//! The crate does no I/O, keeps no state and spawns nothing: it builds for
//! `wasm32-unknown-unknown` and `wasm32-wasip2` like the functions that call it. MIME, transfer
//! encodings, RFC 2047/2231 and legacy charsets are `mail-parser`'s and `mail-builder`'s work;
//! HTML to text is `html2text`'s (an HTML5 parser, so `<script>` and `<style>` never leak).

mod address;
mod classify;
mod compose;
mod error;
mod html;
mod parse;
mod subject;
mod visible;

pub use address::{normalize_address, plus_address, reply_token, Address};
pub use classify::{Bounce, Kind};
pub use compose::{compose, Outgoing};
pub use error::MailError;
pub use html::text_to_html;
pub use parse::{parse, Attachment, Inbound, Limits};
pub use subject::{reply_subject, ticket_number};
