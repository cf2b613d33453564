//! The bot's turn in a conversation it holds: answering a contact's message from the knowledge
//! base or an intent's dialogue (asking for slots, confirming, calling the tenant's webhook),
//! or handing off to a person. A turn writes its replies, the detected intent and entities on
//! the visitor's message, and the new dialogue state in one batch of the conversation actor,
//! so it is either entirely there or not at all, and a retried request finds the message
//! already answered. The intents, settings and training are `crate::domain::bot`.

use crate::ctx::record_event;
use crate::ctx::system_actor;
use crate::domain::messages::{message_sentiment, AgentMessage, Head};
use crate::error::ApiError;
use crate::keys::{self, conversation_actor};
use crate::ports::{OutboundRequest, Platform};
use crate::records::Versioned;
use crate::store::{get_json, transact, Tx};
use edgedesk_nlp::dialogue::{DialogueSpec, DialogueState, Event as DialogueEvent};
use edgedesk_nlp::Action;
use edgedesk_shared::ids::{ConversationId, MessageId};
use edgedesk_shared::model::{
    ActorKind, Conversation, ConversationStatus, Message, Sender, SenderKind,
};

use crate::domain::bot::*;

// ---------------------------------------------------------------------------------------------
// The bot answering visitors.
// ---------------------------------------------------------------------------------------------

/// Whether the bot (not routing) takes a contact's message in this conversation: the bot is
/// on for the channel, nobody is assigned, and it has not handed off.
pub async fn holds<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
) -> Result<bool, ApiError> {
    let state: BotState = get_json(p, &conversation_actor(id), keys::conversation::BOT_STATE)
        .await?
        .unwrap_or_default();
    holds_in_state(p, tactor, id, &state).await
}

/// [`holds`] for a caller that has read the conversation's bot state.
async fn holds_in_state<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    state: &BotState,
) -> Result<bool, ApiError> {
    if state.handed_off {
        return Ok(false);
    }
    let s = settings(p, tactor).await?;
    if !s.enabled {
        return Ok(false);
    }
    let Some(c) =
        get_json::<_, Conversation>(p, tactor, &Conversation::storage_key(&id.to_string())).await?
    else {
        return Ok(false);
    };
    Ok(s.channels.contains(&c.channel)
        && c.assignee_id.is_none()
        && c.status != ConversationStatus::Resolved)
}

pub(crate) fn asks_for_human(text: &str) -> bool {
    let t = text.to_lowercase();
    HUMAN_WORDS.iter().any(|w| t.contains(w))
}

/// One bot message to post.
pub(crate) struct Out {
    kind: SenderKind,
    body: String,
    meta: serde_json::Value,
}

/// What a turn decided, before it is written. `state.last_seq` is set when it is written,
/// to the number the contact's message got.
pub(crate) struct Turn {
    replies: Vec<Out>,
    state: BotState,
    handoff: Option<String>,
    detected: serde_json::Value,
}

/// A turn decided before the contact's message is stored, so that the message, the bot's
/// replies and its dialogue state are one batch of the conversation actor: a crash cannot
/// leave a message the bot never answered, and a visitor message costs one conversation
/// batch, not two.
pub struct Planned {
    /// The dialogue state the turn was decided from: the turn is written only if the
    /// conversation is still there (another turn did not get there first).
    before: BotState,
    turn: Turn,
}

/// What a written turn did, for the tenant's bookkeeping and the flows that follow.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnOutcome {
    /// The bot's last reply (the record's last activity).
    pub last_reply: Option<Message>,
    /// The number of its first reply: the replies are numbered from it to the last one.
    pub first_reply_seq: u64,
    /// Why the bot handed off, if it did: then it is routing's turn.
    pub handoff: Option<String>,
}

/// Decides the bot's answer to `text`, which a contact is about to write into conversation
/// `id`, if the bot holds it (or was holding it until a person took over).
pub async fn plan<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    text: &str,
) -> Result<Option<Planned>, ApiError> {
    let before: BotState = get_json(p, &conversation_actor(id), keys::conversation::BOT_STATE)
        .await?
        .unwrap_or_default();
    let turn = if holds_in_state(p, tactor, id, &before).await? {
        let s = settings(p, tactor).await?;
        decide(p, tactor, &s, before.clone(), text).await?
    } else {
        match taken_over(p, tactor, id, &before).await? {
            Some(turn) => turn,
            None => return Ok(None),
        }
    };
    Ok(Some(Planned { before, turn }))
}

/// Writes a planned turn into the transaction that stores the contact's `message` (whose
/// number `head` holds): what the bot detected goes on the message, its replies follow it.
/// Writes nothing and answers `None` when another turn changed the dialogue meanwhile.
pub(crate) async fn write_planned<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    planned: &Planned,
    message: &mut AgentMessage,
    head: &mut Head,
) -> Result<Option<TurnOutcome>, ApiError> {
    let now_state: BotState = tx
        .get_json(keys::conversation::BOT_STATE)
        .await?
        .unwrap_or_default();
    if now_state != planned.before {
        return Ok(None);
    }
    if !planned.turn.detected.is_null() {
        message.bot = Some(planned.turn.detected.clone());
    }
    Ok(Some(write_replies(
        p,
        tx,
        &planned.turn,
        &message.message,
        head,
    )?))
}

/// Appends the turn's replies after the contact's `message` and stores the new dialogue state.
fn write_replies<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    turn: &Turn,
    message: &Message,
    head: &mut Head,
) -> Result<TurnOutcome, ApiError> {
    let now = p.now();
    let mut last_reply = None;
    let first_reply_seq = head.seq + 1;
    for out in &turn.replies {
        head.seq += 1;
        let (ms, r) = crate::ctx::id_parts(p);
        let m = Message {
            id: MessageId::from_parts(ms, r),
            conversation_id: message.conversation_id,
            seq: head.seq,
            sender: Sender {
                kind: out.kind,
                id: None,
            },
            body: out.body.clone(),
            private: false,
            attachments: Vec::new(),
            external_id: None,
            created_at: now,
            email: None,
            delivery: None,
        };
        tx.put_json(
            keys::conversation::message(head.seq),
            &AgentMessage {
                message: m.clone(),
                sentiment: None,
                bot: Some(out.meta.clone()),
            },
        )?;
        last_reply = Some(m);
    }
    let mut state = turn.state.clone();
    state.last_seq = message.seq;
    tx.put_json(keys::conversation::BOT_STATE, &state)?;
    Ok(TurnOutcome {
        last_reply,
        first_reply_seq,
        handoff: turn.handoff.clone(),
    })
}

/// Answers a contact's message already stored without a turn (a channel's redelivery of a
/// message whose turn did not happen, or a turn that lost a race): the turn is a batch of
/// its own in the conversation actor. Answers what it did, for the tenant's part
/// (`crate::domain::conversations::record_bot_turn`).
pub async fn respond<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    message: &Message,
) -> Result<Option<TurnOutcome>, ApiError> {
    if message.sender.kind != SenderKind::Contact {
        return Ok(None);
    }
    let cactor = conversation_actor(id);
    let state: BotState = get_json(p, &cactor, keys::conversation::BOT_STATE)
        .await?
        .unwrap_or_default();
    if state.last_seq >= message.seq {
        return Ok(None);
    }
    let Some(planned) = plan(p, tactor, id, &message.body).await? else {
        return Ok(None);
    };
    // The turn commits whole, and only if no other turn got there first.
    transact(p, &cactor, async |tx| {
        let key = keys::conversation::message(message.seq);
        let Some(mut stored) = tx.get_json::<AgentMessage>(&key).await? else {
            return Ok(None);
        };
        let mut head: Head = tx
            .get_json(keys::conversation::HEAD)
            .await?
            .unwrap_or_default();
        let Some(outcome) = write_planned(p, tx, &planned, &mut stored, &mut head).await? else {
            return Ok(None);
        };
        tx.put_json(key, &stored)?;
        tx.put_json(keys::conversation::HEAD, &head)?;
        Ok(Some(outcome))
    })
    .await
}

/// The bot's own part of a written turn, in the caller's transaction of the tenant actor: the
/// containment report's record and the handoff event. (The record's last activity is the
/// conversation's part: `crate::domain::conversations::record_bot_turn`.)
pub async fn bookkeep_in<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    id: &ConversationId,
    outcome: &TurnOutcome,
) -> Result<(), ApiError> {
    let bot = system_actor(ActorKind::System, "bot".into());
    let now = p.now();
    let key = keys::tenant::bot_conversation(id);
    let mut rec: BotConversation = tx.get_json(&key).await?.unwrap_or(BotConversation {
        conversation_id: *id,
        turns: 0,
        handoff_reason: None,
        updated_at: now,
    });
    rec.turns += 1;
    rec.updated_at = now;
    if rec.handoff_reason.is_none() {
        rec.handoff_reason = outcome.handoff.clone();
        if let Some(r) = &outcome.handoff {
            record_event(
                p,
                tx,
                &id.to_string(),
                "conversation.bot_handoff",
                bot,
                serde_json::json!({ "reason": r }),
            )?;
        }
    }
    tx.put_json(key, &rec)
}

/// The bot was answering, and a rule or an agent has assigned the conversation since: that
/// is a handoff too, recorded with the visitor's next message.
pub(crate) async fn taken_over<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    state: &BotState,
) -> Result<Option<Turn>, ApiError> {
    if state.last_seq == 0 || state.handed_off {
        return Ok(None);
    }
    let c: Option<Conversation> =
        get_json(p, tactor, &Conversation::storage_key(&id.to_string())).await?;
    if c.is_none_or(|c| c.assignee_id.is_none()) {
        return Ok(None);
    }
    let reason = "assigned by a rule or an agent".to_owned();
    let mut next = state.clone();
    next.handed_off = true;
    Ok(Some(Turn {
        replies: vec![Out {
            kind: SenderKind::System,
            body: format!("The bot handed this conversation to a person: {reason}."),
            meta: serde_json::json!({"handoff": {"reason": reason}}),
        }],
        state: next,
        handoff: Some(reason),
        detected: serde_json::Value::Null,
    }))
}

pub(crate) async fn decide<P: Platform>(
    p: &P,
    tactor: &str,
    s: &BotSettings,
    mut state: BotState,
    text: &str,
) -> Result<Turn, ApiError> {
    let u = understand(p, tactor, s, text).await?;
    let sentiment = message_sentiment(SenderKind::Contact, text).unwrap_or(u.sentiment);
    let detected = serde_json::json!({
        "intent": u.intent, "best": u.best, "confidence": u.confidence,
        "entities": u.entities, "sentiment": sentiment,
    });
    let mut replies = Vec::new();
    let mut handoff: Option<String> = None;
    let all = intents(p, tactor).await?;

    let active = state
        .dialogue
        .as_ref()
        .filter(|d| !d.is_finished())
        .and_then(|d| {
            all.iter()
                .find(|i| i.id == d.intent)
                .map(|i| (d.clone(), i))
        });
    if asks_for_human(text) {
        handoff = Some("visitor asked for a person".into());
    } else if sentiment < s.negative_sentiment {
        handoff = Some("negative sentiment".into());
    } else if let Some((d, intent)) = active {
        let spec = intent.spec();
        let (next, actions) = spec.step(
            &d,
            DialogueEvent::Message {
                text,
                entities: &u.entities,
            },
        );
        state.misses = 0;
        handoff = run_actions(p, tactor, &spec, next, actions, &mut state, &mut replies).await?;
    } else if let Some(intent) = u
        .intent
        .as_deref()
        .and_then(|name| all.iter().find(|i| i.id == name))
    {
        let spec = intent.spec();
        let (next, actions) = spec.start(text, &u.entities);
        state.misses = 0;
        handoff = run_actions(p, tactor, &spec, next, actions, &mut state, &mut replies).await?;
        if intent.handoff && handoff.is_none() {
            handoff = Some(format!("intent {}", intent.id));
        }
    } else if let Some(hit) = kb_answer(p, tactor, s, text).await? {
        state.misses = 0;
        replies.push(Out {
            kind: SenderKind::Bot,
            body: format!("This article may help: {}\n{}", hit.0, hit.1),
            meta: serde_json::json!({"answer": "kb", "article_id": hit.2, "url": hit.1, "score": hit.3}),
        });
    } else {
        state.misses += 1;
        if state.misses >= 2 {
            handoff = Some("low confidence twice".into());
        } else {
            replies.push(Out {
                kind: SenderKind::Bot,
                body: s.fallback_message.clone(),
                meta: serde_json::json!({"answer": "fallback"}),
            });
        }
    }
    if let Some(reason) = &handoff {
        state.handed_off = true;
        replies.push(Out {
            kind: SenderKind::Bot,
            body: s.handoff_message.clone(),
            meta: serde_json::json!({"answer": "handoff"}),
        });
        replies.push(Out {
            kind: SenderKind::System,
            body: format!("The bot handed this conversation to a person: {reason}."),
            meta: serde_json::json!({"handoff": {"reason": reason, "detected": detected}}),
        });
    }
    Ok(Turn {
        replies,
        state,
        handoff,
        detected,
    })
}

/// Performs a dialogue's actions: messages become replies, a webhook is called and its
/// answer fed back into the machine. Returns the handoff reason, if any.
pub(crate) async fn run_actions<P: Platform>(
    p: &P,
    tactor: &str,
    spec: &DialogueSpec,
    mut current: DialogueState,
    mut actions: Vec<Action>,
    state: &mut BotState,
    replies: &mut Vec<Out>,
) -> Result<Option<String>, ApiError> {
    // A webhook answer leads to one more transition at most; the bound keeps a bad spec finite.
    for _ in 0..4 {
        let mut next_event = None;
        for action in actions.drain(..) {
            match action {
                Action::Ask { slot, text } => replies.push(Out {
                    kind: SenderKind::Bot,
                    body: text,
                    meta: serde_json::json!({"intent": spec.intent, "asks": slot}),
                }),
                Action::Confirm { text } => replies.push(Out {
                    kind: SenderKind::Bot,
                    body: text,
                    meta: serde_json::json!({"intent": spec.intent, "confirm": true}),
                }),
                Action::Reply { text } => replies.push(Out {
                    kind: SenderKind::Bot,
                    body: text,
                    meta: serde_json::json!({"intent": spec.intent, "answer": "intent", "slots": current.slots}),
                }),
                Action::Handoff { reason } => {
                    state.dialogue = Some(current);
                    return Ok(Some(reason));
                }
                Action::CallWebhook { url, payload } => {
                    next_event = Some(call_webhook(p, tactor, &url, &payload).await?);
                }
            }
        }
        match next_event {
            Some(result) => {
                let (n, a) = spec.step(&current, DialogueEvent::Webhook(result));
                current = n;
                actions = a;
            }
            None => break,
        }
    }
    state.dialogue = Some(current);
    Ok(None)
}

/// Calls an intent's webhook, signed like every outbound webhook; its answer must be a JSON
/// object.
pub(crate) async fn call_webhook<P: Platform>(
    p: &P,
    tactor: &str,
    url: &str,
    payload: &serde_json::Value,
) -> Result<Result<serde_json::Map<String, serde_json::Value>, String>, ApiError> {
    let secret = crate::settings::automation_webhook_secret(p, tactor).await?;
    let body = serde_json::to_vec(payload)?;
    let signature =
        edgedesk_shared::signature::sign_webhook(secret.as_bytes(), p.now().timestamp(), &body);
    let request = OutboundRequest {
        method: http::Method::POST,
        url: url.to_owned(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-edgedesk-signature".into(), signature),
            ("x-edgedesk-event".into(), "bot.intent".into()),
        ],
        body,
    };
    Ok(match p.fetch(request).await {
        Ok((status, bytes)) if (200..300).contains(&status) => {
            match edgedesk_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(serde_json::Value::Object(map)) => Ok(map),
                _ => Err("the webhook did not answer with a JSON object".into()),
            }
        }
        Ok((status, _)) => Err(format!("the webhook answered {status}")),
        Err(e) => Err(e.to_string()),
    })
}

/// The best published article for a question, when it scores high enough: (title, link,
/// id, score).
pub(crate) async fn kb_answer<P: Platform>(
    p: &P,
    tactor: &str,
    s: &BotSettings,
    text: &str,
) -> Result<Option<(String, String, String, f32)>, ApiError> {
    let Some(tenant) = crate::keys::tenant_of_actor(tactor) else {
        return Ok(None);
    };
    let found = crate::kb::run_search(p, &tenant, text, None, 1, 0, false).await?;
    Ok(found
        .hits
        .into_iter()
        .next()
        .filter(|h| h.score >= s.kb_min_score)
        .map(|h| (h.title, h.url, h.id, h.score)))
}
