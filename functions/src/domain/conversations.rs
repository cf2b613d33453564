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
use serde::{Deserialize, Serialize};

use crate::ctx::{record_event, Idempotency};
use crate::domain::bot_turn::{bookkeep_in, write_planned, Planned, TurnOutcome};
use crate::domain::live::LiveState;
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
    Actor, ActorKind, Attachment, ChannelKind, Contact, Conversation, ConversationStatus, Message,
    Priority, Sender, SenderKind,
};

/// A message about to be appended.
pub struct Draft {
    pub sender: Sender,
    pub body: String,
    pub private: bool,
    pub attachments: Vec<Attachment>,
    pub external_id: Option<String>,
    /// Subject, addresses and id of a message that travels by email.
    pub email: Option<edgedesk_shared::email::EmailMeta>,
}

impl Draft {
    /// The message this draft becomes as message `seq` of `conversation`.
    pub fn message(
        &self,
        id: MessageId,
        conversation: ConversationId,
        seq: u64,
        at: DateTime<Utc>,
    ) -> Message {
        Message {
            id,
            conversation_id: conversation,
            seq,
            sender: self.sender.clone(),
            body: self.body.clone(),
            private: self.private,
            attachments: self.attachments.clone(),
            external_id: self.external_id.clone(),
            created_at: at,
            delivery: self
                .email
                .as_ref()
                .filter(|_| self.sender.kind != SenderKind::Contact)
                .map(|_| edgedesk_shared::email::Delivery {
                    state: edgedesk_shared::email::DeliveryState::Queued,
                    reason: None,
                    attempts: 0,
                    updated_at: at,
                }),
            email: self.email.clone(),
        }
    }
}

/// The result of an append: the message, and whether it was already there (a redelivery).
pub struct Appended {
    pub message: Message,
    pub duplicate: bool,
    pub replay: Option<Response>,
    /// The bot's turn, when one was planned and written with the message.
    pub bot: Option<TurnOutcome>,
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

/// [`append`] with the bot's turn, decided beforehand, written in the same batch.
pub async fn append_with<P: Platform>(
    p: &P,
    conversation_id: &ConversationId,
    draft: Draft,
    turn: Option<&Planned>,
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
                return Ok(Ok((existing, true, None)));
            }
        }
        let mut head: Head = tx
            .get_json(keys::conversation::HEAD)
            .await?
            .unwrap_or_default();
        head.seq += 1;
        let id = MessageId::from_parts(mid_ms, mid_r);
        let message = draft.message(id, *conversation_id, head.seq, now);
        let mut stored = AgentMessage {
            message: message.clone(),
            sentiment,
            bot: None,
        };
        let bot = match turn {
            Some(planned) => write_planned(p, tx, planned, &mut stored, &mut head).await?,
            None => None,
        };
        tx.put_json(keys::conversation::HEAD, &head)?;
        tx.put_json(keys::conversation::message(message.seq), &stored)?;
        if message.sender.kind == SenderKind::Contact {
            stop_contact_typing(tx).await?;
        }
        if let Some(ext) = &draft.external_id {
            tx.put_json(
                keys::conversation::message_by_external_id(ext),
                &message.seq,
            )?;
        }
        if let Some(idem) = idem {
            idem.store(tx, now, StatusCode::CREATED, &message, None)?;
        }
        Ok(Ok((message, false, bot)))
    })
    .await?;
    let (message, duplicate, bot) = match appended {
        Ok(m) => m,
        Err(replay) => {
            return Ok(Appended {
                message: placeholder(conversation_id),
                duplicate: true,
                replay: Some(replay),
                bot: None,
            })
        }
    };
    Ok(Appended {
        message,
        duplicate,
        replay: None,
        bot,
    })
}

/// A contact's message ends their typing indicator, in the message's own batch.
async fn stop_contact_typing<P: Platform>(tx: &mut Tx<'_, P>) -> Result<(), ApiError> {
    let Some(mut live) = tx.get_json::<LiveState>(keys::conversation::LIVE).await? else {
        return Ok(());
    };
    if live.contact_typing_at.take().is_some() {
        live.rev += 1;
        tx.put_json(keys::conversation::LIVE, &live)?;
    }
    Ok(())
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
        email: None,
        delivery: None,
    }
}

/// How long a stored message may wait for its flow before another request completes it: a
/// request that stored a message runs its flow at once, so a message older than this whose
/// flow never ran was left by a host that died in between.
pub const ABANDONED_AFTER_SECS: i64 = 5;

/// How many left-behind messages one request completes (the rest wait for the next touch).
const MAX_RECOVERED: usize = 20;

/// Which of a conversation's messages have had their flow, in the tenant actor beside the
/// record: every message up to `through`, and those in `above`. The record step of a
/// message's flow marks it in the batch that touches the record, so a message is claimed
/// once, whoever runs its flow, and the gaps are messages a dead request left behind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Flowed {
    through: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    above: Vec<u64>,
}

impl Flowed {
    fn key(id: &ConversationId) -> String {
        keys::tenant::conversation_flowed(id)
    }

    /// The marks of conversation `c`. A conversation without marks was last touched before
    /// they existed (or opened with its first message): its record's last message is done.
    async fn load<S: crate::ports::Storage>(
        tx: &mut Tx<'_, S>,
        c: &Conversation,
    ) -> Result<Self, ApiError> {
        Ok(tx.get_json(&Self::key(&c.id)).await?.unwrap_or(Flowed {
            through: c.last_message_seq,
            above: Vec::new(),
        }))
    }

    pub fn has(&self, seq: u64) -> bool {
        seq <= self.through || self.above.contains(&seq)
    }

    /// Marks `seq`; `false` if it already was.
    fn mark(&mut self, seq: u64) -> bool {
        if self.has(seq) {
            return false;
        }
        self.above.push(seq);
        self.above.sort_unstable();
        while self.above.first() == Some(&(self.through + 1)) {
            self.through += 1;
            self.above.remove(0);
        }
        true
    }

    /// Messages below `seq` whose flow has not run.
    fn gaps_below(&self, seq: u64) -> impl Iterator<Item = u64> + '_ {
        (self.through + 1..seq).filter(|s| !self.above.contains(s))
    }
}

/// What the record step of a message's flow found.
#[derive(Debug)]
pub enum Recorded {
    /// Another request ran this message's flow already: nothing more to do.
    AlreadyDone,
    /// The record, the SLA clocks and the bot's bookkeeping are up to date; `left_behind`
    /// are earlier messages whose flow a dead request never ran, for the caller to run now.
    Done { left_behind: Vec<Message> },
}

/// The record step of a message's flow, in one transaction of the tenant actor: the
/// message is marked as flowed, the record takes its last activity (a contact writing
/// reopens it), its SLA clocks see the message, and the tenant's part of the bot's turn
/// written with it is recorded.
pub async fn touch_and_track<P: Platform>(
    p: &P,
    tenant_actor: &str,
    conversation_id: &ConversationId,
    message: &Message,
    actor: Actor,
    turn: Option<&TurnOutcome>,
) -> Result<Recorded, ApiError> {
    let key = Conversation::storage_key(&conversation_id.to_string());
    let cactor = conversation_actor(conversation_id);
    let now = p.now();
    // What the transaction found: `None` without a record (nothing to bring up to date).
    let step = transact(p, tenant_actor, async |tx| {
        let Some(mut c) = tx.get_json::<Conversation>(&key).await? else {
            return Ok(None);
        };
        let mut flowed = Flowed::load(tx, &c).await?;
        if !flowed.mark(message.seq) {
            return Ok(Some(Step::AlreadyDone));
        }
        // A later message got here first: the record is up to date, but this message's SLA
        // event still counts.
        if c.last_message_seq < message.seq {
            touch_record(p, tx, &key, &mut c, message, actor.clone()).await?;
        }
        // SLA clocks see the record as the contact's message left it: no clock measures the
        // bot's replies, which the bot's part below adds.
        let wake = sla::track_conversation_in(p, tx, &c, Some(message)).await?;
        if let Some(turn) = turn {
            bot_turn_in(p, tx, &mut flowed, conversation_id, turn).await?;
        }
        // A reply on an email conversation is queued with the claim: sent exactly once.
        let mail = crate::domain::email::outbox::queue_in(p, tx, &c, message).await?;
        tx.put_json(Flowed::key(conversation_id), &flowed)?;
        let gaps = flowed.gaps_below(message.seq).take(MAX_RECOVERED).collect();
        Ok(Some(Step::Done(c.tenant_id, wake, mail, gaps)))
    })
    .await?;
    match step {
        None => Ok(Recorded::Done {
            left_behind: Vec::new(),
        }),
        Some(Step::AlreadyDone) => Ok(Recorded::AlreadyDone),
        Some(Step::Done(tenant_id, wake, mail, gaps)) => {
            sla::schedule_wake(p, tenant_id, wake).await?;
            if let Some((job, at)) = mail {
                crate::alarms::schedule(p, at, &job).await?;
            }
            Ok(Recorded::Done {
                left_behind: abandoned(p, &cactor, gaps, now).await?,
            })
        }
    }
}

/// What the record step's transaction did: the SLA wake-up to schedule and the gaps below the
/// message once it committed.
enum Step {
    AlreadyDone,
    Done(
        edgedesk_shared::ids::TenantId,
        sla::Wake,
        Option<(crate::alarms::Job, DateTime<Utc>)>,
        Vec<u64>,
    ),
}

/// Of the messages numbered `seqs`, those old enough that no live request is still running
/// their flow.
async fn abandoned<P: Platform>(
    p: &P,
    cactor: &str,
    seqs: Vec<u64>,
    now: DateTime<Utc>,
) -> Result<Vec<Message>, ApiError> {
    let mut out = Vec::new();
    for seq in seqs {
        let stored: Option<AgentMessage> =
            crate::store::get_json(p, cactor, &keys::conversation::message(seq)).await?;
        if let Some(m) = stored {
            if (now - m.message.created_at).num_seconds() >= ABANDONED_AFTER_SECS {
                out.push(m.message);
            }
        }
    }
    Ok(out)
}

/// The messages of conversation `id` up to `seq` whose flow a dead request never ran: what a
/// client's retry (the same `Idempotency-Key`, a channel's redelivery) completes.
pub async fn left_behind<P: Platform>(
    p: &P,
    tenant_actor: &str,
    id: &ConversationId,
    seq: u64,
) -> Result<Vec<Message>, ApiError> {
    let key = Conversation::storage_key(&id.to_string());
    let gaps = transact(p, tenant_actor, async |tx| {
        let Some(c) = tx.get_json::<Conversation>(&key).await? else {
            return Ok(Vec::new());
        };
        let flowed = Flowed::load(tx, &c).await?;
        Ok(flowed
            .gaps_below(seq + 1)
            .take(MAX_RECOVERED)
            .collect::<Vec<_>>())
    })
    .await?;
    abandoned(p, &conversation_actor(id), gaps, p.now()).await
}

/// The tenant's part of a bot turn written in conversation `id`: the record's last activity
/// (the bot's last reply, whose flow is the turn's) and the bot's bookkeeping, in one batch.
pub async fn record_bot_turn<P: Platform>(
    p: &P,
    tenant_actor: &str,
    id: &ConversationId,
    turn: &TurnOutcome,
) -> Result<(), ApiError> {
    let key = Conversation::storage_key(&id.to_string());
    transact(p, tenant_actor, async |tx| {
        let Some(c) = tx.get_json::<Conversation>(&key).await? else {
            return Ok(());
        };
        let mut flowed = Flowed::load(tx, &c).await?;
        bot_turn_in(p, tx, &mut flowed, id, turn).await?;
        tx.put_json(Flowed::key(id), &flowed)
    })
    .await
}

async fn bot_turn_in<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    flowed: &mut Flowed,
    id: &ConversationId,
    turn: &TurnOutcome,
) -> Result<(), ApiError> {
    if let Some(m) = &turn.last_reply {
        for seq in turn.first_reply_seq..=m.seq {
            flowed.mark(seq);
        }
        let key = Conversation::storage_key(&id.to_string());
        if let Some(mut c) = tx.get_json::<Conversation>(&key).await? {
            if c.last_message_seq < m.seq {
                let bot = crate::ctx::system_actor(ActorKind::System, "bot".into());
                touch_record(p, tx, &key, &mut c, m, bot).await?;
            }
        }
    }
    bookkeep_in(p, tx, id, turn).await
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

/// A conversation a contact opens on a channel now: open, unassigned, no messages yet.
pub fn opened(
    id: ConversationId,
    tenant_id: edgedesk_shared::ids::TenantId,
    contact: &Contact,
    (channel, channel_id): (ChannelKind, &ChannelId),
    subject: Option<String>,
    now: DateTime<Utc>,
) -> Conversation {
    Conversation {
        id,
        tenant_id,
        contact_id: contact.id,
        channel,
        channel_id: Some(*channel_id),
        subject,
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
    }
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
        let c = opened(
            ConversationId::from_parts(ms, r),
            tenant_id,
            contact,
            (channel, channel_id),
            None,
            now,
        );
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

#[cfg(test)]
mod tests {
    use super::Flowed;

    #[test]
    fn marks_close_gaps_in_order_and_each_message_is_claimed_once() {
        let mut f = Flowed::default();
        assert!(f.mark(2));
        assert!(f.mark(4));
        assert_eq!(f.gaps_below(5).collect::<Vec<_>>(), [1, 3]);
        assert!(!f.mark(2), "a message is claimed once");
        assert!(f.mark(1));
        assert!(f.mark(3));
        assert_eq!(
            f,
            Flowed {
                through: 4,
                above: Vec::new()
            }
        );
        assert!(f.has(4) && !f.has(5));
        assert_eq!(f.gaps_below(5).count(), 0);
    }

    #[test]
    fn marks_of_a_conversation_read_back_as_written() {
        let f = Flowed {
            through: 7,
            above: vec![9, 12],
        };
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(text, r#"{"through":7,"above":[9,12]}"#);
        let again: Flowed = serde_json::from_str(&text).unwrap();
        assert_eq!(again, f);
        let plain: Flowed = serde_json::from_str(r#"{"through":3}"#).unwrap();
        assert_eq!(plain.gaps_below(5).collect::<Vec<_>>(), [4]);
    }
}
