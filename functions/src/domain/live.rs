//! A conversation's live state besides its messages (typing, read receipts; the `live` key in
//! the conversation's actor) and the conversation feed built from it and the messages, which
//! the widget's and the agents' polls and WebSockets deliver. The feed's types are
//! `edgedesk_shared::feed`'s, which the console reads.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::messages::AgentMessage;
use crate::error::ApiError;
use crate::keys::{self, conversation_actor};
use crate::ports::{Platform, Scan};
use crate::store::{get_json, scan_json, transact};
use edgedesk_shared::api::limits;
pub use edgedesk_shared::feed::{Feed, LiveEvent, VisitorState};
use edgedesk_shared::ids::{ContactId, ConversationId};
use edgedesk_shared::model::{ConversationStatus, Message, SenderKind};

/// Conversation state visible in real time besides messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    pub rev: u64,
    pub contact_typing_at: Option<DateTime<Utc>>,
    pub agent_typing_at: Option<DateTime<Utc>>,
    pub contact_seen_seq: u64,
    pub agent_seen_seq: u64,
}

/// Rings the contact's doorbell ([`keys::visitor_actor`]): their widget's feed, which
/// watches only that actor until the visitor has a conversation, wakes and finds `conversation`.
pub async fn ring_visitor<P: Platform>(
    p: &P,
    contact: &ContactId,
    conversation: &ConversationId,
) -> Result<(), ApiError> {
    // A write that reads nothing commits without checks: it never conflicts.
    transact(p, &keys::visitor_actor(contact), async |tx| {
        tx.put(keys::visitor::BELL, conversation.to_string().into_bytes());
        Ok(())
    })
    .await
}

/// Copies the conversation's status into its own actor ([`keys::conversation::STATUS`]), so
/// the feeds watching that actor, the visitor's among them, hear of it.
pub async fn publish_status<P: Platform>(
    p: &P,
    conversation: &ConversationId,
    status: ConversationStatus,
) -> Result<(), ApiError> {
    transact(p, &conversation_actor(conversation), async |tx| {
        tx.put(
            keys::conversation::STATUS,
            status.as_str().as_bytes().to_vec(),
        );
        Ok(())
    })
    .await
}

/// What a visitor sees of a message.
pub fn public(m: &Message) -> bool {
    !m.private
}

/// Updates the conversation's live state and bumps its revision.
pub async fn set_live<P: Platform>(
    p: &P,
    conversation: &ConversationId,
    change: impl Fn(&mut LiveState),
) -> Result<(), ApiError> {
    transact(p, &conversation_actor(conversation), async |tx| {
        let before: LiveState = tx
            .get_json(keys::conversation::LIVE)
            .await?
            .unwrap_or_default();
        let mut after = before.clone();
        change(&mut after);
        if after != before {
            after.rev = before.rev + 1;
            tx.put_json(keys::conversation::LIVE, &after)?;
        }
        Ok(())
    })
    .await
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Typing {
    pub typing: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    pub seq: u64,
}

/// Events after `(after, rev)` for one side of a conversation.
pub async fn conversation_feed<P: Platform>(
    p: &P,
    conversation: &ConversationId,
    after: u64,
    rev: u64,
    viewer: SenderKind,
) -> Result<(Vec<LiveEvent>, u64, u64), ApiError> {
    let include_private = viewer == SenderKind::Agent;
    let (messages, last_seq, _) = messages_after(
        p,
        conversation,
        after,
        limits::MAX_PAGE_SIZE,
        include_private,
    )
    .await?;
    let mut events: Vec<LiveEvent> = messages
        .into_iter()
        .map(|message| LiveEvent::Message { message })
        .collect();
    let live: LiveState = get_json(
        p,
        &conversation_actor(conversation),
        keys::conversation::LIVE,
    )
    .await?
    .unwrap_or_default();
    if live.rev > rev {
        let now = p.now();
        let fresh = |t: Option<DateTime<Utc>>| {
            t.is_some_and(|t| now - t < Duration::seconds(TYPING_TTL_SECONDS))
        };
        let (other, typing_at, seen_seq) = match viewer {
            SenderKind::Contact => (SenderKind::Agent, live.agent_typing_at, live.agent_seen_seq),
            _ => (
                SenderKind::Contact,
                live.contact_typing_at,
                live.contact_seen_seq,
            ),
        };
        // A message from the typist ends their typing, even if the signal is still fresh.
        let typing = fresh(typing_at) && !spoke_since(p, conversation, other, typing_at).await?;
        events.push(LiveEvent::Typing {
            from: other,
            typing,
        });
        events.push(LiveEvent::Seen {
            by: other,
            seq: seen_seq,
        });
    }
    Ok((events, last_seq, live.rev.max(rev)))
}

/// Messages looked at to tell whether a typist has spoken since they started typing.
pub const RECENT_MESSAGES: usize = 20;

/// Whether `party` posted one of the conversation's latest messages at or after `since`.
pub async fn spoke_since<P: Platform>(
    p: &P,
    conversation: &ConversationId,
    party: SenderKind,
    since: Option<DateTime<Utc>>,
) -> Result<bool, ApiError> {
    let Some(since) = since else {
        return Ok(false);
    };
    let scan = Scan {
        prefix: keys::conversation::MESSAGES.into(),
        after: None,
        limit: RECENT_MESSAGES,
        reverse: true,
    };
    let recent: Vec<(String, Message)> =
        scan_json(p, &conversation_actor(conversation), &scan).await?;
    Ok(recent
        .iter()
        .any(|(_, m)| m.sender.kind == party && m.created_at >= since))
}

/// The query of a conversation feed's poll, the widget's and the agents'.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollQuery {
    pub after: Option<u64>,
    pub rev: Option<u64>,
    pub wait: Option<u64>,
    pub token: Option<String>,
    /// The `state` of the last `state` event the client saw (empty: none yet). Without it
    /// the feed carries no `state` events.
    pub state: Option<String>,
    /// The `rev` of the last `public` event the client saw (0: none yet). Without it the feed
    /// carries no `public` events and does not watch the tenant's public channel.
    pub public: Option<u64>,
}

/// How long a typing signal stays true without a refresh.
pub const TYPING_TTL_SECONDS: i64 = 8;

/// Reads up to `limit` messages after `after`, in order. Returns them and the last seq scanned.
/// Agents (`include_private`) also get each message's sentiment and bot metadata; visitors
/// get the plain message.
pub async fn messages_after<P: Platform>(
    p: &P,
    conversation: &ConversationId,
    after: u64,
    limit: usize,
    include_private: bool,
) -> Result<(Vec<AgentMessage>, u64, bool), ApiError> {
    let scan = Scan {
        prefix: keys::conversation::MESSAGES.into(),
        after: Some(keys::conversation::message(after)),
        limit: limit + 1,
        reverse: false,
    };
    let mut rows: Vec<AgentMessage> = scan_json(p, &conversation_actor(conversation), &scan)
        .await?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let last = rows.last().map_or(after, |m| m.message.seq);
    rows.retain(|m| include_private || public(&m.message));
    if !include_private {
        for m in &mut rows {
            m.sentiment = None;
            m.bot = None;
        }
    }
    Ok((rows, last, has_more))
}
