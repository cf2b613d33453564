//! Conversations and their messages.
//!
//! The conversation record (status, assignee, labels, last activity) lives in the tenant's
//! actor, where the inbox lists it; its messages live in the conversation's own actor, where
//! appends are serialised and numbered 1, 2, 3 … with no gaps, so clients catch up by `after`.

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ctx::{filter_fingerprint, paginate, record_event, Ctx, Idempotency};
use crate::error::ApiError;
use crate::handlers::tickets::{assignee_matches, check_refs};
use crate::http::{body, if_match, json, json_versioned, path_id, query, Request, Response};
use crate::ports::{Platform, Scan};
use crate::records::{self, Versioned};
use crate::store::{conversation_actor, scan_json, transact};
use edgedesk_shared::api::{limits, CreateConversation, NewMessage, UpdateConversation};
use edgedesk_shared::ids::{ChannelId, ContactId, ConversationId, MessageId};
use edgedesk_shared::model::{
    Actor, ActorKind, Agent, Attachment, ChannelKind, Contact, Conversation, ConversationStatus,
    Message, Priority, Sender, SenderKind,
};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Head {
    seq: u64,
}

/// The sequence number of the conversation's newest message, from the conversation's own
/// actor: a message is there (and on the live feeds) before the tenant's summary of the
/// conversation catches up in a second write.
pub async fn newest_seq<P: Platform>(p: &P, id: &ConversationId) -> Result<u64, ApiError> {
    let head: Option<Head> = crate::store::get_json(p, &conversation_actor(id), "head").await?;
    Ok(head.map_or(0, |h| h.seq))
}

pub fn message_key(seq: u64) -> String {
    format!("msg:{seq:020}")
}

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

/// Appends a message to a conversation's actor, then brings the tenant's conversation record
/// up to date (last activity; a contact writing reopens a resolved or snoozed conversation).
/// `summary` is the tenant actor holding the conversation record, or `None` while the record
/// is not written yet (a conversation created with its first message).
pub async fn append<P: Platform>(
    p: &P,
    summary: Option<&str>,
    conversation_id: &ConversationId,
    draft: Draft,
    idem: Option<&Idempotency>,
    actor: Actor,
) -> Result<Appended, ApiError> {
    append_with(p, summary, conversation_id, draft, None, idem, actor).await
}

/// [`append`] with the bot's metadata stored beside the message.
pub async fn append_with<P: Platform>(
    p: &P,
    summary: Option<&str>,
    conversation_id: &ConversationId,
    draft: Draft,
    bot: Option<serde_json::Value>,
    idem: Option<&Idempotency>,
    actor: Actor,
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
            if let Some(seq) = tx.get_json::<u64>(&format!("msg_ext:{ext}")).await? {
                let existing: Message = tx
                    .get_json(&message_key(seq))
                    .await?
                    .ok_or_else(ApiError::internal)?;
                return Ok(Ok((existing, true)));
            }
        }
        let mut head: Head = tx.get_json("head").await?.unwrap_or_default();
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
        tx.put_json("head", &head)?;
        tx.put_json(
            message_key(head.seq),
            &AgentMessage {
                message: message.clone(),
                sentiment,
                bot: bot.clone(),
            },
        )?;
        if let Some(ext) = &draft.external_id {
            tx.put_json(format!("msg_ext:{ext}"), &head.seq)?;
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
    if let (false, Some(tenant_actor)) = (duplicate, summary) {
        touch_and_track(p, tenant_actor, conversation_id, &message, actor).await?;
        // While the bot holds the conversation it answers, and routing waits for a handoff;
        // automation still runs, so a rule may take the conversation from the bot.
        if message.sender.kind == SenderKind::Contact
            && crate::handlers::bot::holds(p, tenant_actor, conversation_id).await?
        {
            crate::handlers::routing::automate_arrival(
                p,
                tenant_actor,
                conversation_id,
                Some(&message),
                message.seq == 1,
            )
            .await?;
        } else if message.sender.kind == SenderKind::Contact {
            crate::handlers::routing::on_arrival(
                p,
                tenant_actor,
                conversation_id,
                Some(&message),
                message.seq == 1,
            )
            .await?;
        }
    }
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
pub(crate) async fn touch_summary<P: Platform>(
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

/// [`touch_summary`] and the message's SLA follow-up in one transaction of the tenant actor:
/// one commit instead of two, and the SLA history always sees the record it commits with.
async fn touch_and_track<P: Platform>(
    p: &P,
    tenant_actor: &str,
    conversation_id: &ConversationId,
    message: &Message,
    actor: Actor,
) -> Result<(), ApiError> {
    if let Some((tenant_id, wake)) =
        touch(p, tenant_actor, conversation_id, message, actor, true).await?
    {
        crate::handlers::sla::schedule_wake(p, tenant_id, wake).await?;
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
) -> Result<Option<(edgedesk_shared::ids::TenantId, crate::handlers::sla::Wake)>, ApiError> {
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
        let wake = crate::handlers::sla::track_conversation_in(p, tx, &c, Some(message)).await?;
        Ok(Some((c.tenant_id, wake)))
    })
    .await
}

/// The record's part of a new message: last activity, and a contact writing reopens it.
async fn touch_record<P: Platform>(
    p: &P,
    tx: &mut crate::store::Tx<'_, P>,
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
        crate::handlers::routing::on_change(p, tx, Some(&before), c, actor.clone()).await?;
    }
    c.touch(message.created_at);
    crate::ctx::note_activity(tx, &c.id.to_string(), "conversation.message_added")?;
    tx.put_json(key, &*c)
}

/// Who a message posted by this caller is from, checked against the tenant's records.
async fn resolve_sender<P: Platform>(
    ctx: &Ctx<'_, P>,
    conversation: &Conversation,
    input: &NewMessage,
) -> Result<Sender, ApiError> {
    let Some(s) = &input.sender else {
        return Ok(Sender {
            kind: SenderKind::Agent,
            id: Some(ctx.principal.id.clone()),
        });
    };
    match s.kind {
        SenderKind::Agent => {
            let id = s.id.as_deref().unwrap_or_default();
            let agent: Option<Agent> = match id.parse::<edgedesk_shared::ids::AgentId>() {
                Ok(aid) => {
                    crate::store::get_json(ctx.p, &ctx.actor, &Agent::storage_key(&aid.to_string()))
                        .await?
                }
                Err(_) => None,
            };
            match agent {
                Some(a) if a.active => Ok(Sender {
                    kind: SenderKind::Agent,
                    id: Some(a.id.to_string()),
                }),
                _ => Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "sender.id: no such active agent",
                )),
            }
        }
        SenderKind::Contact => {
            if s.id.as_deref() != Some(conversation.contact_id.to_string().as_str()) {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "sender.id: must be the conversation's contact",
                ));
            }
            Ok(Sender {
                kind: SenderKind::Contact,
                id: s.id.clone(),
            })
        }
        kind => Ok(Sender { kind, id: None }),
    }
}

/// Create a conversation, optionally with its first message.
#[utoipa::path(post, path = "/v1/conversations", tag = "conversations",
    request_body(content = CreateConversation, example = json!({"contact_id": "ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2D4", "channel": "api", "subject": "Where is order 1042?", "priority": "high", "labels": ["orders"], "message": {"body": "Hello, my order has not arrived yet."}})),
    responses((status = 201, body = Conversation, description = "The conversation created, with its first message if one was given."),
        (status = 422, description = "The body fails validation, or the contact does not exist.")))]
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let input: CreateConversation = body(req)?;
    input.validate()?;
    let idem = Idempotency::from_request(req, &ctx.principal)?;
    let now = ctx.now();
    let id = ctx.mint(ConversationId::from_parts);
    let mut conversation = Conversation {
        id,
        tenant_id: ctx.tenant_id,
        contact_id: input.contact_id,
        channel: input.channel.unwrap_or(ChannelKind::Api),
        channel_id: None,
        subject: input.subject.as_ref().map(|s| s.trim().to_owned()),
        status: ConversationStatus::Open,
        snoozed_until: None,
        assignee_id: input.assignee_id,
        team: input.team.clone(),
        priority: input.priority.unwrap_or_default(),
        labels: input.labels.clone(),
        last_message_seq: 0,
        last_message_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    // Check references before the first message is written, so a refused request leaves
    // nothing behind; the transaction below checks them again against concurrent deletes.
    transact(ctx.p, &ctx.actor, async |tx| {
        check_refs(
            tx,
            Some(&input.contact_id),
            input.assignee_id.as_ref(),
            None,
        )
        .await
    })
    .await?;
    // The message goes first, into the new conversation's own actor: until the record below
    // is committed nothing can reach it, so a failure in between leaves nothing visible.
    let mut first_message = None;
    if let Some(m) = &input.message {
        let sender = resolve_sender(ctx, &conversation, m).await?;
        let draft = Draft {
            sender,
            body: m.body.clone(),
            private: m.private,
            attachments: m.attachments.clone(),
            external_id: None,
        };
        let appended = append(ctx.p, None, &id, draft, None, ctx.actor_ref()).await?;
        conversation.last_message_seq = appended.message.seq;
        conversation.last_message_at = Some(appended.message.created_at);
        first_message = Some(appended.message);
    }
    let response = transact(ctx.p, &ctx.actor, async |tx| {
        if let Some(idem) = &idem {
            if let Some(replayed) = idem.replay(tx, now).await? {
                return Ok(replayed);
            }
            idem.store(
                tx,
                now,
                StatusCode::CREATED,
                &conversation,
                Some(conversation.version),
            )?;
        }
        check_refs(
            tx,
            Some(&input.contact_id),
            input.assignee_id.as_ref(),
            None,
        )
        .await?;
        tx.put_json(Conversation::storage_key(&id.to_string()), &conversation)?;
        record_event(
            ctx.p,
            tx,
            &id.to_string(),
            "conversation.created",
            ctx.actor_ref(),
            crate::http::to_value(&conversation)?,
        )?;
        crate::handlers::routing::on_change(ctx.p, tx, None, &conversation, ctx.actor_ref())
            .await?;
        json_versioned(StatusCode::CREATED, &conversation, conversation.version)
    })
    .await?;
    if response.headers().get("idempotent-replayed").is_none() {
        crate::handlers::routing::on_arrival(ctx.p, &ctx.actor, &id, first_message.as_ref(), true)
            .await?;
    }
    if response.status() == StatusCode::CREATED {
        crate::handlers::sla::track_conversation(ctx.p, &ctx.actor, &id, None).await?;
    }
    Ok(response)
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
    let pointer = format!("conv_open:{channel_id}:{}", contact.id);
    let (ms, r) = crate::ctx::id_parts(p);
    let now = p.now();
    transact(p, tenant_actor, async |tx| {
        if let Some(raw) = tx.get(&pointer).await? {
            let key = Conversation::storage_key(
                std::str::from_utf8(&raw).map_err(|_| ApiError::internal())?,
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

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(skip_serializing)]
    limit: Option<usize>,
    #[serde(skip_serializing)]
    cursor: Option<String>,
    status: Option<ConversationStatus>,
    /// An agent id, or `none` for unassigned.
    assignee: Option<String>,
    /// A label.
    tag: Option<String>,
    team: Option<String>,
    channel: Option<ChannelKind>,
    contact_id: Option<ContactId>,
    updated_since: Option<DateTime<Utc>>,
    /// `breached` or `warning`: conversations whose SLA is in that state now.
    sla_state: Option<crate::handlers::sla::SlaStateFilter>,
    /// `created` (newest first, the default) or `sla_due` (earliest SLA deadline first).
    sort: Option<crate::handlers::sla::ListSort>,
}

/// List conversations, newest first, with filters.
#[utoipa::path(get, path = "/v1/conversations", tag = "conversations",
    params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query), ("status" = Option<ConversationStatus>, Query),
        ("assignee" = Option<String>, Query, description = "agent id or `none`"), ("tag" = Option<String>, Query, description = "a label"),
        ("team" = Option<String>, Query), ("channel" = Option<ChannelKind>, Query), ("contact_id" = Option<String>, Query),
        ("updated_since" = Option<DateTime<Utc>>, Query)),
    responses((status = 200, body = crate::ctx::Page<Conversation>, description = "Each item also carries `sla`: the most urgent SLA target now, `{state: breached|warning|running|paused|met, target: first_response|next_response|resolution, due_at, warning_at, breached_at, policy: {id, name}}`, or `null` when no policy applies")))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: ListQuery = query(req)?;
    assignee_matches(q.assignee.as_deref(), None)?;
    use crate::handlers::sla;
    let by_due = q.sort == Some(sla::ListSort::SlaDue);
    let summaries = if q.sla_state.is_some() || by_due {
        sla::summaries(ctx, ConversationId::PREFIX).await?
    } else {
        Default::default()
    };
    let now = ctx.now();
    let sla_keep = |c: &Conversation| {
        q.sla_state.is_none_or(|f| {
            f.matches(
                summaries
                    .get(&c.id.to_string())
                    .and_then(|s| s.state_at(now)),
            )
        })
    };
    if by_due {
        let page = sla::page_by_due(
            ctx,
            Conversation::storage_key,
            &summaries,
            q.limit,
            q.cursor.as_deref(),
            |c: &Conversation| {
                sla_keep(c)
                    && q.status.is_none_or(|s| c.status == s)
                    && assignee_matches(q.assignee.as_deref(), c.assignee_id.as_ref())
                        .unwrap_or(false)
                    && q.team.as_ref().is_none_or(|t| c.team.as_ref() == Some(t))
            },
        )
        .await?;
        let page = sla::page_with_sla(ctx, page, |c: &Conversation| c.id.to_string()).await?;
        return json(StatusCode::OK, &page);
    }
    let page = paginate::<_, Conversation>(
        ctx,
        &ctx.actor,
        "conversation:",
        true,
        q.limit,
        q.cursor.as_deref(),
        &filter_fingerprint(&q),
        |c| {
            sla_keep(c)
                && q.status.is_none_or(|s| c.status == s)
                && assignee_matches(q.assignee.as_deref(), c.assignee_id.as_ref()).unwrap_or(false)
                && q.tag.as_ref().is_none_or(|t| c.labels.contains(t))
                && q.team.as_ref().is_none_or(|t| c.team.as_ref() == Some(t))
                && q.channel.is_none_or(|ch| c.channel == ch)
                && q.contact_id.is_none_or(|id| c.contact_id == id)
                && q.updated_since.is_none_or(|t| c.updated_at >= t)
        },
    )
    .await?;
    let page = sla::page_with_sla(ctx, page, |c: &Conversation| c.id.to_string()).await?;
    json(StatusCode::OK, &page)
}

/// Get a conversation.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "conversation id", example = "cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2E5")),
    responses((status = 200, body = Conversation, description = "The conversation."), (status = 404)))]
pub async fn get<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    records::get::<_, Conversation>(ctx, &id.to_string()).await
}

/// Update a conversation: status, snooze, assignment, team, priority, labels.
#[utoipa::path(patch, path = "/v1/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "conversation id", example = "cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2E5"),
        ("If-Match" = Option<String>, Header, description = "the `ETag` last read; the change is refused if the conversation changed since")),
    request_body(content = UpdateConversation, description = "The fields to change; `null` clears one.", example = json!({"status": "pending", "priority": "normal", "labels": ["orders", "courier"]})),
    responses((status = 200, body = Conversation, description = "The conversation as changed."), (status = 404),
        (status = 412, description = "`If-Match` does not name the current version.")))]
pub async fn update<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let input: UpdateConversation = body(req)?;
    input.validate()?;
    let now = ctx.now();
    let mut before = None;
    let c = records::update::<_, Conversation, _>(
        ctx,
        &id.to_string(),
        if_match(req.headers())?,
        async |tx, c| {
            let original = c.clone();
            if let Some(Some(a)) = &input.assignee_id {
                check_refs(tx, None, Some(a), None).await?;
            }
            if let Some(status) = input.status {
                c.status = status;
                if status != ConversationStatus::Snoozed {
                    c.snoozed_until = None;
                }
            }
            if let Some(until) = input.snoozed_until {
                if let Some(t) = until {
                    if t <= now {
                        return Err(ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "validation_failed",
                            "snoozed_until: must be in the future",
                        ));
                    }
                    if c.status != ConversationStatus::Snoozed {
                        return Err(ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "validation_failed",
                            "snoozed_until: the conversation is not snoozed",
                        ));
                    }
                }
                c.snoozed_until = until;
            }
            if let Some(v) = input.assignee_id {
                c.assignee_id = v;
            }
            if let Some(v) = &input.team {
                c.team = v.clone();
            }
            if let Some(v) = &input.subject {
                c.subject = v.as_ref().map(|s| s.trim().to_owned());
            }
            if let Some(v) = input.priority {
                c.priority = v;
            }
            if let Some(v) = &input.labels {
                c.labels = v.clone();
            }
            crate::handlers::routing::on_change(ctx.p, tx, Some(&original), c, ctx.actor_ref())
                .await?;
            before = Some(original);
            Ok(())
        },
    )
    .await?;
    if let Some(before) = &before {
        crate::handlers::routing::after_change(ctx.p, &ctx.actor, before, &c).await?;
    }
    crate::handlers::sla::track_conversation(ctx.p, &ctx.actor, &c.id, None).await?;
    if let (ConversationStatus::Snoozed, Some(until)) = (c.status, c.snoozed_until) {
        if matches!(input.snoozed_until, Some(Some(_))) {
            let job = crate::alarms::Job::Unsnooze {
                tenant_id: ctx.tenant_id,
                conversation_id: c.id,
                until,
            };
            crate::alarms::schedule(ctx.p, until, &job).await?;
        }
    }
    json_versioned(StatusCode::OK, &c, c.version)
}

/// Delete a conversation and its messages.
#[utoipa::path(delete, path = "/v1/conversations/{id}", tag = "conversations", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn delete<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let removed = records::delete::<_, Conversation, _>(
        ctx,
        &id.to_string(),
        if_match(req.headers())?,
        async |tx, c| {
            if let Some(ch) = &c.channel_id {
                let pointer = format!("conv_open:{ch}:{}", c.contact_id);
                if tx.get(&pointer).await?.as_deref() == Some(c.id.to_string().as_bytes()) {
                    tx.delete(pointer);
                }
            }
            Ok(())
        },
    )
    .await?;
    // Once the record is gone nothing reaches the messages; clear them in batches.
    let cactor = conversation_actor(&removed.id);
    loop {
        let rows = ctx
            .p
            .scan(
                &cactor,
                &Scan {
                    prefix: String::new(),
                    after: None,
                    limit: 500,
                    reverse: false,
                },
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        let batch = crate::ports::WriteBatch {
            deletes: rows.into_iter().map(|(k, _)| k).collect(),
            ..Default::default()
        };
        ctx.p.commit(&cactor, batch).await?;
    }
    // Its assignee has a place free now.
    crate::handlers::routing::drain(ctx.p, &ctx.actor).await?;
    Ok(crate::http::no_content())
}

/// Post a message or a private note.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = String, Path, description = "conversation id", example = "cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2E5"),
        ("Idempotency-Key" = Option<String>, Header, description = "a retried post with the same key returns the first result")),
    request_body(content = NewMessage, example = json!({"body": "Sorry about that: it ships today, tracking number to follow.", "private": false})),
    responses((status = 201, body = Message, description = "The message, numbered in the conversation."), (status = 404),
        (status = 422)))]
pub async fn post_message<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let input: NewMessage = body(req)?;
    input.validate("")?;
    let conversation: Conversation = records::load(ctx, &id.to_string()).await?;
    let sender = resolve_sender(ctx, &conversation, &input).await?;
    let idem = Idempotency::from_request(req, &ctx.principal)?;
    let draft = Draft {
        sender,
        body: input.body,
        private: input.private,
        attachments: input.attachments,
        external_id: None,
    };
    let appended = append(
        ctx.p,
        Some(&ctx.actor),
        &id,
        draft,
        idem.as_ref(),
        ctx.actor_ref(),
    )
    .await?;
    match appended.replay {
        Some(r) => Ok(r),
        None => json(StatusCode::CREATED, &appended.message),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    /// Only messages with `seq` greater than this.
    after: Option<u64>,
    limit: Option<usize>,
}

/// A page of messages, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub data: Vec<AgentMessage>,
    /// The `seq` of the last message returned: pass it as `after` to continue.
    pub last_seq: u64,
    pub has_more: bool,
}

/// List messages in order; `after` resumes from a sequence number.
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = String, Path, description = "conversation id", example = "cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2E5"),
        ("after" = Option<u64>, Query, description = "the last message number seen"), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = MessagePage, description = "The messages after `after`, oldest first."), (status = 404)))]
pub async fn list_messages<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let _: Conversation = records::load(ctx, &id.to_string()).await?;
    let q: MessagesQuery = query(req)?;
    let limit = q.limit.unwrap_or(limits::MAX_PAGE_SIZE);
    if limit == 0 || limit > limits::MAX_PAGE_SIZE {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {}", limits::MAX_PAGE_SIZE),
        ));
    }
    let after = q.after.unwrap_or(0);
    let scan = Scan {
        prefix: "msg:".into(),
        after: Some(message_key(after)),
        limit: limit + 1,
        reverse: false,
    };
    let mut rows: Vec<AgentMessage> = scan_json(ctx.p, &conversation_actor(&id), &scan)
        .await?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let last_seq = rows.last().map_or(after, |m| m.message.seq);
    json(
        StatusCode::OK,
        &MessagePage {
            data: rows,
            last_seq,
            has_more,
        },
    )
}

/// The event history of a conversation.
#[utoipa::path(get, path = "/v1/conversations/{id}/events", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = crate::ctx::Page<edgedesk_shared::model::Event>)))]
pub async fn events<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    crate::handlers::contacts::events::<_, Conversation>(ctx, &id.to_string(), req).await
}

pub fn system_actor(kind: ActorKind, id: String) -> Actor {
    Actor { kind, id: Some(id) }
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
