//! Conversations and their messages in storage: appending a message to the conversation's
//! own actor (numbered 1, 2, 3 … with no gaps), the stored message with what the language
//! models made of it, the conversation record's part of a new message, and the channel
//! pointer that finds a contact's open conversation.
//!
//! Appending writes only the authoritative record; what follows from a new message (the
//! record's last activity, SLA clocks, routing, automation, the bot) is the message flow's
//! (`crate::flows`).

use chrono::{DateTime, Utc};
use http::StatusCode;

use crate::ctx::{record_event, Idempotency};
use crate::domain::messages::{message_sentiment, AgentMessage, Head};
use crate::domain::{routing, sla};
use crate::error::ApiError;
use crate::http::Response;
use crate::keys::{self, conversation_actor};
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::{transact, Tx};
use edgedesk_shared::ids::{ChannelId, ConversationId, MessageId};
use edgedesk_shared::model::{
    Actor, Attachment, ChannelKind, Contact, Conversation, ConversationStatus, Message, Priority,
    Sender, SenderKind,
};

/// A message about to be appended.
pub struct Draft {
    pub sender: Sender,
    pub body: String,
    pub private: bool,
    pub attachments: Vec<Attachment>,
    pub external_id: Option<String>,
}

/// The result of an append: the message, and whether it was already there (a redelivery).
pub struct Appended {
    pub message: Message,
    pub duplicate: bool,
    pub replay: Option<Response>,
}

/// Appends a message to a conversation's actor: the authoritative write of a new message.
/// What follows from it (the record's last activity, reopening, SLA clocks, routing,
/// automation, the bot) is the message flow's, `crate::flows`.
pub async fn append<P: Platform>(
    p: &P,
    conversation_id: &ConversationId,
    draft: Draft,
    idem: Option<&Idempotency>,
) -> Result<Appended, ApiError> {
    append_with(p, conversation_id, draft, None, idem).await
}

/// [`append`] with the bot's metadata stored beside the message.
pub async fn append_with<P: Platform>(
    p: &P,
    conversation_id: &ConversationId,
    draft: Draft,
    bot: Option<serde_json::Value>,
    idem: Option<&Idempotency>,
) -> Result<Appended, ApiError> {
    let sentiment = message_sentiment(draft.sender.kind, &draft.body);
    let cactor = conversation_actor(conversation_id);
    let now = p.now();
    let (mid_ms, mid_r) = crate::ctx::id_parts(p);
    let appended = transact(p, &cactor, async |tx| {
        if let Some(idem) = idem {
            if let Some(replayed) = idem.replay(tx, now).await? {
                return Ok(Err(replayed));
            }
        }
        if let Some(ext) = &draft.external_id {
            if let Some(seq) = tx
                .get_json::<u64>(&keys::conversation::message_by_external_id(ext))
                .await?
            {
                let existing: Message = tx
                    .get_json(&keys::conversation::message(seq))
                    .await?
                    .ok_or_else(ApiError::internal)?;
                return Ok(Ok((existing, true)));
            }
        }
        let mut head: Head = tx
            .get_json(keys::conversation::HEAD)
            .await?
            .unwrap_or_default();
        head.seq += 1;
        let message = Message {
            id: MessageId::from_parts(mid_ms, mid_r),
            conversation_id: *conversation_id,
            seq: head.seq,
            sender: draft.sender.clone(),
            body: draft.body.clone(),
            private: draft.private,
            attachments: draft.attachments.clone(),
            external_id: draft.external_id.clone(),
            created_at: now,
        };
        tx.put_json(keys::conversation::HEAD, &head)?;
        tx.put_json(
            keys::conversation::message(head.seq),
            &AgentMessage {
                message: message.clone(),
                sentiment,
                bot: bot.clone(),
            },
        )?;
        if let Some(ext) = &draft.external_id {
            tx.put_json(keys::conversation::message_by_external_id(ext), &head.seq)?;
        }
        if let Some(idem) = idem {
            idem.store(tx, now, StatusCode::CREATED, &message, None)?;
        }
        Ok(Ok((message, false)))
    })
    .await?;
    let (message, duplicate) = match appended {
        Ok(m) => m,
        Err(replay) => {
            return Ok(Appended {
                message: placeholder(conversation_id),
                duplicate: true,
                replay: Some(replay),
            })
        }
    };
    Ok(Appended {
        message,
        duplicate,
        replay: None,
    })
}

// A replayed idempotent request answers with the stored response; the message value is unused.
fn placeholder(conversation_id: &ConversationId) -> Message {
    Message {
        id: MessageId::from_parts(0, 0),
        conversation_id: *conversation_id,
        seq: 0,
        sender: Sender {
            kind: SenderKind::System,
            id: None,
        },
        body: String::new(),
        private: false,
        attachments: Vec::new(),
        external_id: None,
        created_at: DateTime::<Utc>::MIN_UTC,
    }
}

/// Brings the conversation record up to date after `message` (last activity; a contact
/// writing reopens it). Its SLA history is left alone: for bot replies, which no SLA clock
/// measures.
pub async fn touch_summary<P: Platform>(
    p: &P,
    tenant_actor: &str,
    conversation_id: &ConversationId,
    message: &Message,
    actor: Actor,
) -> Result<(), ApiError> {
    touch(p, tenant_actor, conversation_id, message, actor, false)
        .await
        .map(|_| ())
}

/// [`touch_summary`] inside the caller's transaction of the tenant actor, for writers that
/// commit other tenant records in the same batch.
pub async fn touch_summary_in<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    conversation_id: &ConversationId,
    message: &Message,
    actor: Actor,
) -> Result<(), ApiError> {
    let key = Conversation::storage_key(&conversation_id.to_string());
    let Some(mut c) = tx.get_json::<Conversation>(&key).await? else {
        return Ok(());
    };
    if c.last_message_seq < message.seq {
        touch_record(p, tx, &key, &mut c, message, actor).await?;
    }
    Ok(())
}

/// [`touch_summary`] and the message's SLA follow-up in one transaction of the tenant actor:
/// one commit instead of two, and the SLA history always sees the record it commits with.
pub async fn touch_and_track<P: Platform>(
    p: &P,
    tenant_actor: &str,
    conversation_id: &ConversationId,
    message: &Message,
    actor: Actor,
) -> Result<(), ApiError> {
    if let Some((tenant_id, wake)) =
        touch(p, tenant_actor, conversation_id, message, actor, true).await?
    {
        sla::schedule_wake(p, tenant_id, wake).await?;
    }
    Ok(())
}

async fn touch<P: Platform>(
    p: &P,
    tenant_actor: &str,
    conversation_id: &ConversationId,
    message: &Message,
    actor: Actor,
    sla: bool,
) -> Result<Option<(edgedesk_shared::ids::TenantId, sla::Wake)>, ApiError> {
    let key = Conversation::storage_key(&conversation_id.to_string());
    transact(p, tenant_actor, async |tx| {
        let Some(mut c) = tx.get_json::<Conversation>(&key).await? else {
            return Ok(None);
        };
        // A later message got here first (or this is a retry): the record is up to date,
        // but this message's SLA event still counts.
        if c.last_message_seq < message.seq {
            touch_record(p, tx, &key, &mut c, message, actor.clone()).await?;
        }
        if !sla {
            return Ok(None);
        }
        let wake = sla::track_conversation_in(p, tx, &c, Some(message)).await?;
        Ok(Some((c.tenant_id, wake)))
    })
    .await
}

/// The record's part of a new message: last activity, and a contact writing reopens it.
async fn touch_record<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    key: &str,
    c: &mut Conversation,
    message: &Message,
    actor: Actor,
) -> Result<(), ApiError> {
    let before = c.clone();
    c.last_message_seq = message.seq;
    c.last_message_at = Some(message.created_at);
    let reopen = message.sender.kind == SenderKind::Contact && c.status != ConversationStatus::Open;
    if reopen {
        let from = c.status;
        c.status = ConversationStatus::Open;
        c.snoozed_until = None;
        record_event(
            p,
            tx,
            &c.id.to_string(),
            "conversation.updated",
            actor.clone(),
            serde_json::json!({"status": {"from": from, "to": c.status}}),
        )?;
        routing::on_change(p, tx, Some(&before), c, actor.clone()).await?;
    }
    c.touch(message.created_at);
    crate::ctx::note_activity(tx, &c.id.to_string(), "conversation.message_added")?;
    tx.put_json(key, &*c)
}

/// Finds the contact's open conversation on a channel, or starts one.
pub async fn find_or_open<P: Platform>(
    p: &P,
    tenant_actor: &str,
    tenant_id: edgedesk_shared::ids::TenantId,
    contact: &Contact,
    channel: ChannelKind,
    channel_id: &ChannelId,
    actor: Actor,
) -> Result<Conversation, ApiError> {
    let pointer = keys::tenant::conversation_open_pointer(channel_id, &contact.id);
    let (ms, r) = crate::ctx::id_parts(p);
    let now = p.now();
    transact(p, tenant_actor, async |tx| {
        if let Some(raw) = tx.get(&pointer).await? {
            let key = Conversation::storage_key(
                std::str::from_utf8(&raw).map_err(ApiError::internal_from)?,
            );
            if let Some(c) = tx.get_json::<Conversation>(&key).await? {
                if c.status != ConversationStatus::Resolved {
                    return Ok(c);
                }
            }
        }
        let c = Conversation {
            id: ConversationId::from_parts(ms, r),
            tenant_id,
            contact_id: contact.id,
            channel,
            channel_id: Some(*channel_id),
            subject: None,
            status: ConversationStatus::Open,
            snoozed_until: None,
            assignee_id: None,
            team: None,
            priority: Priority::Normal,
            labels: Vec::new(),
            last_message_seq: 0,
            last_message_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        tx.put(pointer.clone(), c.id.to_string().into_bytes());
        tx.put_json(Conversation::storage_key(&c.id.to_string()), &c)?;
        record_event(
            p,
            tx,
            &c.id.to_string(),
            "conversation.created",
            actor.clone(),
            crate::http::to_value(&c)?,
        )?;
        Ok(c)
    })
    .await
}
