//! A ticket's thread over HTTP: replies and notes (`/v1/tickets/{id}/messages`) and watchers.
//! A merged ticket's thread answers `409 ticket_merged` naming the ticket it went into.

use http::StatusCode;
use serde::Deserialize;

use crate::ctx::{record_event, Ctx};
use crate::domain::conversations::Draft;
use crate::domain::sla::{self, MessageKind};
use crate::domain::tickets::*;
use crate::error::ApiError;
use crate::flows::Via;
use crate::http::{body, json, path_id, Request, Response};
use crate::keys;
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::{get_json, transact};
use edgedesk_shared::api::limits;
use edgedesk_shared::ids::{ConversationId, MessageId, TicketId};
use edgedesk_shared::model::{Agent, ChannelKind, Conversation, Sender, SenderKind, Ticket};
use edgedesk_shared::sort::{sort, sort_by_key};

// ---- messages ---------------------------------------------------------------------------

/// Who a ticket message is from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The caller, answering (an agent, or an API key acting for the tenant's agents).
    #[default]
    Agent,
    /// The ticket's requester (a system relaying a customer's email, for instance).
    Requester,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    body: String,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    from: Author,
}

/// `POST /v1/tickets/{id}/messages`: a reply, a customer message or a private note. Public
/// agent replies meet the first and next response targets; requester messages start the next
/// response clock.
#[utoipa::path(post, path = "/v1/tickets/{id}/messages", tag = "tickets", params(("id" = String, Path)),
    description = "Body `{\"body\", \"private\": false, \"from\": \"agent\" | \"requester\"}`.",
    responses((status = 201, description = "the message"), (status = 409, description = "`ticket_merged`, with `merged_into`"), (status = 422)))]
pub async fn post_message<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    let input: NewMessage = body(req)?;
    if input.body.trim().is_empty() || input.body.len() > limits::MAX_MESSAGE_BYTES {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!(
                "body: must be 1 to {} bytes of text",
                limits::MAX_MESSAGE_BYTES
            ),
        ));
    }
    if input.from == Author::Requester && input.private {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "private: only agents write private notes",
        ));
    }
    if let Err(resp) = refuse_if_merged(ctx, &id).await {
        return Ok(resp);
    }
    let mid = ctx.mint(MessageId::from_parts);
    let now = ctx.now();
    let (message, wake, linked) = transact(ctx.p, &ctx.actor, async |tx| {
        let ticket = load_ticket(tx, &id).await?;
        let sender = match input.from {
            Author::Agent => Sender {
                kind: SenderKind::Agent,
                id: Some(ctx.principal.id.clone()),
            },
            Author::Requester => Sender {
                kind: SenderKind::Contact,
                id: Some(
                    ticket
                        .requester_id
                        .ok_or_else(|| {
                            ApiError::new(
                                StatusCode::UNPROCESSABLE_ENTITY,
                                "validation_failed",
                                "from: the ticket has no requester",
                            )
                        })?
                        .to_string(),
                ),
            },
        };
        let message = TicketMessage {
            id: mid,
            ticket_id: id,
            sender,
            body: input.body.clone(),
            private: input.private,
            created_at: now,
            merged_from: None,
        };
        tx.put_json(
            keys::tenant::ticket_message(&id.to_string(), &mid),
            &message,
        )?;
        record_event(
            ctx.p,
            tx,
            &id.to_string(),
            "ticket.message_added",
            ctx.actor_ref(),
            serde_json::json!({"message_id": mid, "private": input.private, "from": message.sender.kind}),
        )?;
        let kind = match (input.from, input.private) {
            (_, true) => None,
            (Author::Agent, false) => Some(MessageKind::AgentReply),
            (Author::Requester, false) => Some(MessageKind::Customer),
        };
        let snapshot = sla::ticket_snapshot(tx, &ticket).await?;
        let wake = sla::track(
            ctx.p,
            tx,
            &id.to_string(),
            ticket.created_at,
            snapshot,
            kind,
        )
        .await?;
        Ok((message, wake, ticket.conversation_id))
    })
    .await?;
    sla::schedule_wake(ctx.p, ctx.tenant_id, wake).await?;
    if input.from == Author::Agent && !input.private {
        if let Some(conversation) = linked {
            mail_reply(ctx, &conversation, &message).await?;
        }
    }
    json(StatusCode::CREATED, &message)
}

/// An agent's public reply on a ticket whose conversation came by email is that
/// conversation's reply too: it goes out as a mail through the conversation's flow, which
/// shows its delivery.
async fn mail_reply<P: Platform>(
    ctx: &Ctx<'_, P>,
    conversation: &ConversationId,
    message: &TicketMessage,
) -> Result<(), ApiError> {
    let c: Option<Conversation> = get_json(
        ctx.p,
        &ctx.actor,
        &Conversation::storage_key(&conversation.to_string()),
    )
    .await?;
    let Some(c) = c.filter(|c| c.channel == ChannelKind::Email) else {
        return Ok(());
    };
    let random = crate::ctx::random_hex(ctx.p, 12);
    let email =
        crate::domain::email::threads::reply_for(ctx.p, &ctx.actor, &c, &random, &[], &[]).await?;
    if email.is_none() {
        return Ok(());
    }
    let draft = Draft {
        sender: message.sender.clone(),
        body: message.body.clone(),
        private: false,
        attachments: Vec::new(),
        // A retried ticket reply is not mailed twice.
        external_id: Some(format!("ticket-reply:{}", message.id)),
        email,
    };
    crate::flows::add_message(
        ctx.p,
        &ctx.actor,
        &c.id,
        draft,
        ctx.actor_ref(),
        Via::Team,
        None,
    )
    .await?;
    Ok(())
}

/// `GET /v1/tickets/{id}/messages`: oldest first.
#[utoipa::path(get, path = "/v1/tickets/{id}/messages", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, description = "`{\"data\": [message]}`, oldest first"), (status = 404)))]
pub async fn list_messages<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    _req: &Request,
) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    if let Some(into) = merged_into(ctx.p, &ctx.actor, &id).await? {
        return Ok(merged_response(&id, &into, StatusCode::CONFLICT));
    }
    if ctx
        .p
        .get(&ctx.actor, &Ticket::storage_key(&id.to_string()))
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("ticket"));
    }
    let mut messages: Vec<TicketMessage> = scan_all(
        ctx.p,
        &ctx.actor,
        &keys::tenant::ticket_messages(&id.to_string()),
    )
    .await?
    .into_iter()
    .map(|(_, m)| m)
    .collect();
    sort_by_key(&mut messages, |m| (m.created_at, m.id));
    json(StatusCode::OK, &serde_json::json!({ "data": messages }))
}

// ---- watchers ----------------------------------------------------------------------------

/// `GET /v1/tickets/{id}/watchers`.
#[utoipa::path(get, path = "/v1/tickets/{id}/watchers", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, description = "`{\"agent_ids\": [...]}`")))]
pub async fn watchers<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    if let Some(into) = merged_into(ctx.p, &ctx.actor, &id).await? {
        return Ok(merged_response(&id, &into, StatusCode::CONFLICT));
    }
    if ctx
        .p
        .get(&ctx.actor, &Ticket::storage_key(&id.to_string()))
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("ticket"));
    }
    let w: Watchers = get_json(
        ctx.p,
        &ctx.actor,
        &keys::tenant::ticket_watchers(&id.to_string()),
    )
    .await?
    .unwrap_or_default();
    json(StatusCode::OK, &w)
}

/// `PUT /v1/tickets/{id}/watchers` `{"agent_ids": [...]}`: replaces the watchers.
#[utoipa::path(put, path = "/v1/tickets/{id}/watchers", tag = "tickets", params(("id" = String, Path)),
    description = "Body `{\"agent_ids\": [...]}` replaces the watchers.",
    responses((status = 200, description = "the watchers"), (status = 422)))]
pub async fn set_watchers<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    let mut input: Watchers = body(req)?;
    sort(&mut input.agent_ids);
    input.agent_ids.dedup();
    if input.agent_ids.len() > MAX_WATCHERS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("agent_ids: at most {MAX_WATCHERS}"),
        ));
    }
    if let Err(resp) = refuse_if_merged(ctx, &id).await {
        return Ok(resp);
    }
    let saved = transact(ctx.p, &ctx.actor, async |tx| {
        load_ticket(tx, &id).await?;
        for agent in &input.agent_ids {
            if tx
                .get(&Agent::storage_key(&agent.to_string()))
                .await?
                .is_none()
            {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    format!("agent_ids: no such agent {agent}"),
                ));
            }
        }
        let key = keys::tenant::ticket_watchers(&id.to_string());
        let before: Watchers = tx.get_json(&key).await?.unwrap_or_default();
        if before != input {
            tx.put_json(key, &input)?;
            record_event(
                ctx.p,
                tx,
                &id.to_string(),
                "ticket.watchers_changed",
                ctx.actor_ref(),
                serde_json::json!({"agent_ids": {"from": before.agent_ids, "to": input.agent_ids}}),
            )?;
        }
        Ok(input.clone())
    })
    .await?;
    json(StatusCode::OK, &saved)
}
