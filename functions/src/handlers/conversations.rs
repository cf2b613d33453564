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
use crate::domain::conversations::{append, Draft};
use crate::domain::live::messages_after;
use crate::domain::messages::AgentMessage;
use crate::domain::tickets::{assignee_matches, check_refs};
use crate::domain::{routing, sla_lists};
use crate::error::ApiError;
use crate::flows::{self, Event, Via};
use crate::http::{body, if_match, json, json_versioned, path_id, query, Request, Response};
use crate::keys::{self, conversation_actor};
use crate::ports::{Platform, Scan};
use crate::records::{self, Versioned};
use crate::store::transact;
use edgedesk_shared::api::{limits, CreateConversation, NewMessage, UpdateConversation};
use edgedesk_shared::ids::{ContactId, ConversationId};
use edgedesk_shared::model::{
    Agent, ChannelKind, Conversation, ConversationStatus, Message, Sender, SenderKind,
};

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
            email: None,
        };
        let appended = append(ctx.p, &id, draft, None).await?;
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
        routing::on_change(ctx.p, tx, None, &conversation, ctx.actor_ref()).await?;
        json_versioned(StatusCode::CREATED, &conversation, conversation.version)
    })
    .await?;
    if response.headers().get("idempotent-replayed").is_none() {
        let event = Event::ConversationCreated {
            conversation: id,
            first_message,
        };
        flows::dispatch(ctx.p, &ctx.actor, event).await?;
    }
    Ok(response)
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
    sla_state: Option<sla_lists::SlaStateFilter>,
    /// `created` (newest first, the default) or `sla_due` (earliest SLA deadline first).
    sort: Option<sla_lists::ListSort>,
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
    let by_due = q.sort == Some(sla_lists::ListSort::SlaDue);
    let summaries = if q.sla_state.is_some() || by_due {
        sla_lists::summaries(ctx, ConversationId::PREFIX).await?
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
        let page = sla_lists::page_by_due(
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
        let page = sla_lists::page_with_sla(ctx, page, |c: &Conversation| c.id.to_string()).await?;
        return json(StatusCode::OK, &page);
    }
    let page = paginate::<_, Conversation>(
        ctx,
        &ctx.actor,
        keys::tenant::CONVERSATIONS,
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
    let page = sla_lists::page_with_sla(ctx, page, |c: &Conversation| c.id.to_string()).await?;
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
            routing::on_change(ctx.p, tx, Some(&original), c, ctx.actor_ref()).await?;
            before = Some(original);
            Ok(())
        },
    )
    .await?;
    if let Some(before) = before {
        let event = Event::ConversationChanged {
            before: Box::new(before),
            after: Box::new(c.clone()),
            by_rule: false,
        };
        flows::dispatch(ctx.p, &ctx.actor, event).await?;
    }
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
                let pointer = keys::tenant::conversation_open_pointer(ch, &c.contact_id);
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
    routing::drain(ctx.p, &ctx.actor).await?;
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
    // A public reply of the team on an email conversation goes out as a mail.
    let email = if !input.private && sender.kind != SenderKind::Contact {
        let random = crate::ctx::random_hex(ctx.p, 12);
        crate::domain::email::threads::reply_for(
            ctx.p,
            &ctx.actor,
            &conversation,
            &random,
            &input.cc,
            &input.bcc,
        )
        .await?
    } else {
        None
    };
    if email.is_none() && !(input.cc.is_empty() && input.bcc.is_empty()) {
        return Err(ApiError::unprocessable(
            "cc, bcc: only a public reply on an email conversation has copies",
        ));
    }
    let draft = Draft {
        sender,
        body: input.body,
        private: input.private,
        attachments: input.attachments,
        external_id: None,
        email,
    };
    let appended = flows::add_message(
        ctx.p,
        &ctx.actor,
        &id,
        draft,
        ctx.actor_ref(),
        Via::Team,
        idem.as_ref(),
    )
    .await?;
    if let Some(replayed) = appended.replay {
        return Ok(replayed);
    }
    json(StatusCode::CREATED, &appended.message)
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
    let (rows, last_seq, has_more) = messages_after(ctx.p, &id, after, limit, true).await?;
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
    records::events::<_, Conversation>(ctx, &id.to_string(), req).await
}
