//! The stored records of EdgeDesk's domain: tenants, keys, agents, contacts, conversations,
//! messages, tickets, channels and their event history.
//!
//! Records carry a `version` that increases on every change; the HTTP layer exposes it as an
//! `ETag` and checks it against `If-Match`, so two agents editing one ticket never silently
//! overwrite each other.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::*;

/// Free-form attributes (contact attributes, ticket custom fields): JSON scalars or arrays.
pub type Attributes = BTreeMap<String, serde_json::Value>;

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        // Snake case on the wire through `rename_all`, which the API document's schema follows
        // too (utoipa does not see a `rename` whose text comes from a macro argument); `as_str`
        // gives the same spelling.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the wire spelling (as used in query filters).
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(/// An agent's role inside a tenant.
    Role { Owner = "owner", Admin = "admin", Agent = "agent", Viewer = "viewer" });
string_enum!(/// What an API key may do.
    KeyScope { Admin = "admin", Agent = "agent", ReadOnly = "read_only" });
string_enum!(/// Lifecycle of a conversation.
    ConversationStatus { Open = "open", Pending = "pending", Snoozed = "snoozed", Resolved = "resolved" });
string_enum!(/// Lifecycle of a ticket.
    TicketStatus { New = "new", Open = "open", Pending = "pending", OnHold = "on_hold", Solved = "solved", Closed = "closed" });
string_enum!(/// Urgency of a ticket or conversation.
    Priority { Urgent = "urgent", High = "high", Normal = "normal", Low = "low" });
string_enum!(/// Where a conversation came from.
    ChannelKind { Web = "web", Api = "api", Email = "email", Telegram = "telegram", Wechat = "wechat" });
string_enum!(/// Who wrote a message.
    SenderKind { Contact = "contact", Agent = "agent", Bot = "bot", System = "system" });
string_enum!(/// Who caused a change recorded in the event history.
    ActorKind { ApiKey = "api_key", Agent = "agent", Contact = "contact", Channel = "channel", System = "system" });

impl Default for Priority {
    fn default() -> Self {
        Priority::Normal
    }
}

/// A tenant (workspace): the unit of isolation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// A stored API key. Only a hash of the secret is kept; the full key is shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub scope: KeyScope,
    /// SHA-256 of the secret half, hex. Keys are 256 random bits, so a fast hash is enough:
    /// there is nothing to brute-force that a slow hash would protect.
    pub secret_sha256: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What the API shows of a key: never the secret or its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: String,
    pub scope: KeyScope,
    /// The first characters of the full key, enough to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKeyRecord {
    pub fn view(&self) -> ApiKeyView {
        ApiKeyView {
            id: self.id,
            name: self.name.clone(),
            scope: self.scope,
            prefix: crate::auth::key_prefix(&self.tenant_id, &self.id),
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        }
    }
}

/// A person who works in the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Agent {
    pub id: AgentId,
    pub tenant_id: TenantId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// A visitor or customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub id: ContactId,
    pub tenant_id: TenantId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The id the tenant's own systems (or a channel) know this contact by.
    pub external_id: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: Attributes,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// A chat conversation between a contact and the tenant's agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    pub id: ConversationId,
    pub tenant_id: TenantId,
    pub contact_id: ContactId,
    pub channel: ChannelKind,
    pub channel_id: Option<ChannelId>,
    pub subject: Option<String>,
    pub status: ConversationStatus,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub assignee_id: Option<AgentId>,
    pub team: Option<String>,
    pub priority: Priority,
    pub labels: Vec<String>,
    /// Sequence number of the newest message (0: none yet).
    pub last_message_seq: u64,
    pub last_message_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// Metadata of a file attached to a message; the blob itself is stored apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub url: Option<String>,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Sender {
    pub kind: SenderKind,
    /// Agent or contact id; absent for bot and system messages.
    pub id: Option<String>,
}

/// One message of a conversation. `seq` is dense and gap-free per conversation, so a
/// client that has seen `seq = n` asks for `after = n` and misses nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub seq: u64,
    pub sender: Sender,
    pub body: String,
    /// A private note: visible to agents only.
    pub private: bool,
    pub attachments: Vec<Attachment>,
    /// The id the channel gave this message, used to drop redelivered webhooks.
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Subject, addresses and message id of a message that travelled by email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<crate::email::EmailMeta>,
    /// Where a message the team sent by email stands (queued, sent, failed and why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<crate::email::Delivery>,
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
    "email",
    "delivery",
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
        use crate::tagged::{next_known, required, set_once};
        let (mut id, mut conversation_id, mut seq, mut sender, mut body) =
            (None, None, None, None, None);
        let (mut private, mut attachments, mut external_id, mut created_at) =
            (None, None, None, None);
        let (mut sentiment, mut bot) = (None, None);
        let (mut email, mut delivery) = (None, None);
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
                "email" => set_once(&mut email, map.next_value()?, known)?,
                "delivery" => set_once(&mut delivery, map.next_value()?, known)?,
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
                email: email.flatten(),
                delivery: delivery.flatten(),
            },
            sentiment: sentiment.flatten(),
            bot: bot.flatten(),
        })
    }
}

/// A support ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    pub id: TicketId,
    pub tenant_id: TenantId,
    /// Per-tenant sequential number, starting at 1.
    pub number: u64,
    pub subject: String,
    pub description: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub requester_id: Option<ContactId>,
    pub assignee_id: Option<AgentId>,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub custom_fields: Attributes,
    pub conversation_id: Option<ConversationId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// An API channel: a tenant's own system posting chat messages through a signed webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiChannelRecord {
    pub id: ChannelId,
    pub tenant_id: TenantId,
    pub name: String,
    /// Shared HMAC secret. It has to be kept readable to verify signatures.
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

/// What the API shows of a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiChannelView {
    pub id: ChannelId,
    pub name: String,
    pub inbound_url: String,
    pub created_at: DateTime<Utc>,
}

impl ApiChannelRecord {
    pub fn view(&self) -> ApiChannelView {
        ApiChannelView {
            id: self.id,
            name: self.name.clone(),
            inbound_url: format!("/v1/channels/api/{}/inbound", self.id),
            created_at: self.created_at,
        }
    }
}

/// Who caused a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
}

/// One entry of an entity's history: what changed, who did it, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: EventId,
    /// The entity the event belongs to (a ticket, conversation, contact ... id).
    pub subject: String,
    /// e.g. `ticket.created`, `ticket.updated`, `conversation.message_added`.
    pub kind: String,
    pub actor: Actor,
    pub at: DateTime<Utc>,
    /// Changed fields as `{field: {from, to}}`, or the created record.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derive [`AgentMessage`]'s decoder replaced, kept as the reference it must agree with.
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
        crate::tagged::testing::assert_decodes_as_derived::<AgentMessage, Derived>(
            "AgentMessage",
            &cases,
        );
    }

    #[test]
    fn a_message_reads_back_as_it_was_written() {
        let text = format!(
            r#"{{{MESSAGE}, "external_id": "tg-1", "sentiment": -0.62, "bot": {{"intent": "refund"}}}}"#
        );
        let m: AgentMessage = serde_json::from_str(&text).unwrap();
        let again: AgentMessage = serde_json::from_slice(&serde_json::to_vec(&m).unwrap()).unwrap();
        assert_eq!(again, m);
        assert_eq!(m.message.seq, 7);
        assert_eq!(m.message.external_id.as_deref(), Some("tg-1"));
        assert_eq!(m.sentiment, Some(-0.62));
    }

    fn same_spelling<
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + Copy,
    >(
        all: &[T],
        text: fn(&T) -> &'static str,
    ) {
        for v in all {
            let wire = serde_json::to_value(v).unwrap();
            assert_eq!(wire, serde_json::Value::from(text(v)), "{v:?}");
            assert_eq!(serde_json::from_value::<T>(wire).unwrap(), *v);
        }
    }

    #[test]
    fn every_string_enum_is_spelt_on_the_wire_as_its_as_str() {
        same_spelling(Role::ALL, Role::as_str);
        same_spelling(KeyScope::ALL, KeyScope::as_str);
        same_spelling(ConversationStatus::ALL, ConversationStatus::as_str);
        same_spelling(TicketStatus::ALL, TicketStatus::as_str);
        same_spelling(Priority::ALL, Priority::as_str);
        same_spelling(ChannelKind::ALL, ChannelKind::as_str);
        same_spelling(SenderKind::ALL, SenderKind::as_str);
        same_spelling(ActorKind::ALL, ActorKind::as_str);
    }
}
