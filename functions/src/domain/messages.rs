//! A conversation's stored messages: the sequence head, and the sentiment stored with a
//! contact's message. The stored form, which carries what the language models made of a
//! message, is [`AgentMessage`] (in `edgedesk_shared::model`: the console reads it too). A leaf
//! that every layer may read.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::keys::{self, conversation_actor};
use crate::ports::Platform;
use edgedesk_shared::ids::ConversationId;
pub use edgedesk_shared::model::AgentMessage;
use edgedesk_shared::model::SenderKind;

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

/// The sentiment stored with a message: contacts' messages are scored, others are not.
pub fn message_sentiment(sender: SenderKind, body: &str) -> Option<f32> {
    (sender == SenderKind::Contact && !body.trim().is_empty())
        .then(|| (edgedesk_nlp::sentiment(body) * 1000.0).round() / 1000.0)
}
