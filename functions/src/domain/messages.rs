//! A conversation's stored messages: the sequence head, and the stored form that
//! carries what the language models made of a message. A leaf that every layer may read.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::keys::{self, conversation_actor};
use crate::ports::Platform;
use edgedesk_shared::ids::ConversationId;
use edgedesk_shared::model::{Message, SenderKind};

/// The number of the conversation's newest message.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Head {
    pub seq: u64,
}

/// The sequence number of the conversation's newest message, from the conversation's own
/// actor: a message is there (and on the live feeds) before the tenant's summary of the
/// conversation catches up in a second write.
pub async fn newest_seq<P: Platform>(p: &P, id: &ConversationId) -> Result<u64, ApiError> {
    let head: Option<Head> =
        crate::store::get_json(p, &conversation_actor(id), keys::conversation::HEAD).await?;
    Ok(head.map_or(0, |h| h.seq))
}

/// A message as stored and as agents read it: the message plus what the language models made
/// of it. Readers that want the plain [`Message`] (the widget) simply ignore the extra fields.
///
/// Decoded by hand in one pass over the fields: the derive's `flatten` would buffer every
/// stored message and decode [`Message`] a second time from the buffer, which compiled a
/// decoder per field type for the buffer as well (WebAssembly size).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentMessage {
    #[serde(flatten)]
    pub message: Message,
    /// Sentiment of a contact's message, from -1 (angry) to 1 (happy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<f32>,
    /// What the bot detected (intent, confidence, entities) or why it handed off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub bot: Option<serde_json::Value>,
}

const AGENT_MESSAGE_FIELDS: &[&str] = &[
    "id",
    "conversation_id",
    "seq",
    "sender",
    "body",
    "private",
    "attachments",
    "external_id",
    "created_at",
    "sentiment",
    "bot",
];

impl<'de> Deserialize<'de> for AgentMessage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(AgentMessageVisitor)
    }
}

struct AgentMessageVisitor;

impl<'de> serde::de::Visitor<'de> for AgentMessageVisitor {
    type Value = AgentMessage;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("struct AgentMessage")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<AgentMessage, A::Error> {
        use edgedesk_shared::tagged::{next_known, required, set_once};
        let (mut id, mut conversation_id, mut seq, mut sender, mut body) =
            (None, None, None, None, None);
        let (mut private, mut attachments, mut external_id, mut created_at) =
            (None, None, None, None);
        let (mut sentiment, mut bot) = (None, None);
        while let Some(known) = next_known(&mut map, AGENT_MESSAGE_FIELDS)? {
            match known {
                "id" => set_once(&mut id, map.next_value()?, known)?,
                "conversation_id" => set_once(&mut conversation_id, map.next_value()?, known)?,
                "seq" => set_once(&mut seq, map.next_value()?, known)?,
                "sender" => set_once(&mut sender, map.next_value()?, known)?,
                "body" => set_once(&mut body, map.next_value()?, known)?,
                "private" => set_once(&mut private, map.next_value()?, known)?,
                "attachments" => set_once(&mut attachments, map.next_value()?, known)?,
                "external_id" => set_once(&mut external_id, map.next_value()?, known)?,
                "created_at" => set_once(&mut created_at, map.next_value()?, known)?,
                "sentiment" => set_once(&mut sentiment, map.next_value()?, known)?,
                _ => set_once(&mut bot, map.next_value()?, known)?,
            }
        }
        Ok(AgentMessage {
            message: Message {
                id: required(id, "id")?,
                conversation_id: required(conversation_id, "conversation_id")?,
                seq: required(seq, "seq")?,
                sender: required(sender, "sender")?,
                body: required(body, "body")?,
                private: required(private, "private")?,
                attachments: required(attachments, "attachments")?,
                external_id: external_id.flatten(),
                created_at: required(created_at, "created_at")?,
            },
            sentiment: sentiment.flatten(),
            bot: bot.flatten(),
        })
    }
}

/// The sentiment stored with a message: contacts' messages are scored, others are not.
pub fn message_sentiment(sender: SenderKind, body: &str) -> Option<f32> {
    (sender == SenderKind::Contact && !body.trim().is_empty())
        .then(|| (edgedesk_nlp::sentiment(body) * 1000.0).round() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derive this decoder replaced, kept as the reference it must agree with.
    #[derive(Debug, Serialize, Deserialize)]
    struct Derived {
        #[serde(flatten)]
        message: Message,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sentiment: Option<f32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bot: Option<serde_json::Value>,
    }

    const MESSAGE: &str = r#""id": "msg_01J8Z3Q4W5E6R7T8Y9V0A1B2C3", "conversation_id": "cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C3", "seq": 7, "sender": {"kind": "contact", "id": "ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2C3"}, "body": "Where is my refund?", "private": false, "attachments": [{"name": "a.png", "content_type": "image/png", "size": 12, "url": null}], "created_at": "2026-11-24T10:00:00Z""#;

    #[test]
    fn stored_messages_decode_as_the_derived_decoder_read_them() {
        let cases = [
            format!("{{{MESSAGE}}}"),
            format!(
                r#"{{{MESSAGE}, "external_id": "tg-1", "sentiment": -0.62, "bot": {{"intent": "refund", "confidence": 0.9}}}}"#
            ),
            format!(r#"{{"sentiment": 0.5, {MESSAGE}, "external_id": null, "bot": null}}"#),
            format!(r#"{{{MESSAGE}, "a_later_field": [1, {{"x": 2}}]}}"#),
            format!(r#"{{{MESSAGE}, "sentiment": "high"}}"#),
            format!(r#"{{{MESSAGE}, "bot": {{}}, "bot": {{}}}}"#),
            format!(r#"{{{MESSAGE}, "seq": 8}}"#),
            format!(
                "{{{}}}",
                MESSAGE.replace(r#""body": "Where is my refund?", "#, "")
            ),
            format!("{{{}}}", MESSAGE.replace(r#""seq": 7"#, r#""seq": "7""#)),
            format!(
                "{{{}}}",
                MESSAGE.replace(r#""private": false"#, r#""private": null"#)
            ),
            format!(
                "{{{}}}",
                MESSAGE.replace(r#""kind": "contact""#, r#""kind": "robot""#)
            ),
            "[]".to_owned(),
            "7".to_owned(),
        ];
        let cases: Vec<&str> = cases.iter().map(String::as_str).collect();
        edgedesk_shared::tagged::testing::assert_decodes_as_derived::<AgentMessage, Derived>(
            "AgentMessage",
            &cases,
        );
    }

    #[test]
    fn a_message_reads_back_as_it_was_written() {
        let text = format!(
            r#"{{{MESSAGE}, "external_id": "tg-1", "sentiment": -0.62, "bot": {{"intent": "refund"}}}}"#
        );
        let m: AgentMessage = edgedesk_json::from_slice(text.as_bytes()).unwrap();
        let again: AgentMessage =
            edgedesk_json::from_slice(&serde_json::to_vec(&m).unwrap()).unwrap();
        assert_eq!(again, m);
        assert_eq!(m.message.seq, 7);
        assert_eq!(m.message.external_id.as_deref(), Some("tg-1"));
        assert_eq!(m.sentiment, Some(-0.62));
    }
}
