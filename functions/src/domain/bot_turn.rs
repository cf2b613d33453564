//! The bot's turn in a conversation it holds: answering a contact's message from the knowledge
//! base or an intent's dialogue (asking for slots, confirming, calling the tenant's webhook),
//! or handing off to a person. A turn writes its replies, the detected intent and entities on
//! the visitor's message, and the new dialogue state in one batch of the conversation actor,
//! so it is either entirely there or not at all, and a retried request finds the message
//! already answered. The intents, settings and training are `crate::domain::bot`.

use serde::{Deserialize, Serialize};

use crate::ctx::record_event;
use crate::ctx::system_actor;
use crate::domain::conversations::touch_summary_in;
use crate::domain::messages::{message_sentiment, AgentMessage};
use crate::error::ApiError;
use crate::keys::{self, conversation_actor};
use crate::ports::{OutboundRequest, Platform};
use crate::records::Versioned;
use crate::store::{get_json, transact};
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
    let s = settings(p, tactor).await?;
    if !s.enabled {
        return Ok(false);
    }
    let Some(c) =
        get_json::<_, Conversation>(p, tactor, &Conversation::storage_key(&id.to_string())).await?
    else {
        return Ok(false);
    };
    if !s.channels.contains(&c.channel)
        || c.assignee_id.is_some()
        || c.status == ConversationStatus::Resolved
    {
        return Ok(false);
    }
    let state: BotState = get_json(p, &conversation_actor(id), keys::conversation::BOT_STATE)
        .await?
        .unwrap_or_default();
    Ok(!state.handed_off)
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

/// What a turn decided, before it is written.
pub(crate) struct Turn {
    replies: Vec<Out>,
    state: BotState,
    handoff: Option<String>,
    detected: serde_json::Value,
}

/// Answers a contact's message while the bot holds the conversation: a knowledge-base
/// answer, an intent's dialogue (asking for slots, confirming, calling the tenant's webhook),
/// or a handoff to a person. Answers whether it handed off: then it is routing's turn (the
/// bot-turn flow).
pub async fn respond<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    message: &Message,
) -> Result<bool, ApiError> {
    if message.sender.kind != SenderKind::Contact {
        return Ok(false);
    }
    let cactor = conversation_actor(id);
    let state: BotState = get_json(p, &cactor, keys::conversation::BOT_STATE)
        .await?
        .unwrap_or_default();
    if state.last_seq >= message.seq {
        return Ok(false);
    }
    let turn = if holds(p, tactor, id).await? {
        let s = settings(p, tactor).await?;
        decide(p, tactor, &s, state.clone(), message).await?
    } else {
        match taken_over(p, tactor, id, &state, message).await? {
            Some(turn) => turn,
            None => return Ok(false),
        }
    };
    let handoff = turn.handoff.clone();
    // The turn commits whole, and only if no other turn got there first.
    let written = transact(p, &cactor, async |tx| {
        let now_state: BotState = tx
            .get_json(keys::conversation::BOT_STATE)
            .await?
            .unwrap_or_default();
        if now_state != state {
            return Ok(None);
        }
        let key = keys::conversation::message(message.seq);
        match tx.get_json::<AgentMessage>(&key).await? {
            Some(mut stored) if !turn.detected.is_null() => {
                stored.bot = Some(turn.detected.clone());
                tx.put_json(key.clone(), &stored)?;
            }
            _ => {}
        }
        let mut head: Head = tx
            .get_json(keys::conversation::HEAD)
            .await?
            .unwrap_or_default();
        let now = p.now();
        let mut last = None;
        for out in &turn.replies {
            head.seq += 1;
            let (ms, r) = crate::ctx::id_parts(p);
            let m = Message {
                id: MessageId::from_parts(ms, r),
                conversation_id: *id,
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
            };
            tx.put_json(
                keys::conversation::message(head.seq),
                &AgentMessage {
                    message: m.clone(),
                    sentiment: None,
                    bot: Some(out.meta.clone()),
                },
            )?;
            last = Some(m);
        }
        tx.put_json(keys::conversation::HEAD, &head)?;
        tx.put_json(keys::conversation::BOT_STATE, &turn.state)?;
        Ok(Some(last))
    })
    .await?;
    let Some(last) = written else {
        return Ok(false);
    };
    // Derived writes in the tenant actor, one batch: last activity, the report record, the
    // event.
    let now = p.now();
    let reason = handoff.clone();
    transact(p, tactor, async |tx| {
        if let Some(m) = &last {
            let bot = system_actor(ActorKind::System, "bot".into());
            touch_summary_in(p, tx, id, m, bot).await?;
        }
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
            rec.handoff_reason = reason.clone();
            if let Some(r) = &reason {
                record_event(
                    p,
                    tx,
                    &id.to_string(),
                    "conversation.bot_handoff",
                    system_actor(ActorKind::System, "bot".into()),
                    serde_json::json!({ "reason": r }),
                )?;
            }
        }
        tx.put_json(key, &rec)
    })
    .await?;
    Ok(handoff.is_some())
}

/// The bot was answering, and a rule or an agent has assigned the conversation since: that
/// is a handoff too, recorded with the visitor's next message.
pub(crate) async fn taken_over<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    state: &BotState,
    message: &Message,
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
    next.last_seq = message.seq;
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

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Head {
    seq: u64,
}

pub(crate) async fn decide<P: Platform>(
    p: &P,
    tactor: &str,
    s: &BotSettings,
    mut state: BotState,
    message: &Message,
) -> Result<Turn, ApiError> {
    let text = message.body.as_str();
    let u = understand(p, tactor, s, text).await?;
    let sentiment = message_sentiment(SenderKind::Contact, text).unwrap_or(u.sentiment);
    let detected = serde_json::json!({
        "intent": u.intent, "best": u.best, "confidence": u.confidence,
        "entities": u.entities, "sentiment": sentiment,
    });
    state.last_seq = message.seq;
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
