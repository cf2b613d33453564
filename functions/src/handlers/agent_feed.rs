//! The agents' side of a conversation's live feed: its poll (private notes included, the
//! visitor's typing and read receipts), and the agent's own typing and receipts.

use chrono::Duration;
use http::StatusCode;

use crate::ctx::Ctx;
use crate::domain::live::*;
use crate::domain::messages::newest_seq;
use crate::error::ApiError;
use crate::http::{body, json, path_id, query, Request, Response};
use crate::keys::conversation_actor;
use crate::ports::Platform;
use crate::realtime::{room, Audience, MAX_WAIT_SECONDS};
use edgedesk_shared::ids::ConversationId;
use edgedesk_shared::model::{Conversation, SenderKind};

/// The agent side of a conversation's feed (`GET /v1/conversations/{id}/poll`), including
/// private notes and the visitor's typing and receipts.
#[utoipa::path(get, path = "/v1/conversations/{id}/poll", tag = "realtime",
    params(("id" = String, Path, description = "conversation id"), ("after" = Option<u64>, Query, description = "the last message number seen"), ("rev" = Option<u64>, Query), ("wait" = Option<u64>, Query, description = "seconds to wait for news")),
    responses((status = 200, body = Feed, description = "What happened in the conversation after `after` (nothing when nothing did within `wait`), and the URL to poll next."), (status = 404)))]
pub async fn agent_poll<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let _: Conversation = crate::records::load(ctx, &id.to_string()).await?;
    let q: PollQuery = query(req)?;
    let wait = q.wait.unwrap_or(0).min(MAX_WAIT_SECONDS);
    let (after, rev) = (q.after.unwrap_or(0), q.rev.unwrap_or(0));
    let deadline = ctx.now() + Duration::seconds(wait as i64);
    loop {
        let (events, last_seq, new_rev) =
            conversation_feed(ctx.p, &id, after, rev, SenderKind::Agent).await?;
        if !events.is_empty() || ctx.now() >= deadline {
            let next = format!("/v1/conversations/{id}/poll?after={last_seq}&rev={new_rev}");
            return json(
                StatusCode::OK,
                &Feed {
                    events,
                    last_seq,
                    rev: new_rev,
                    watch: vec![conversation_actor(&id)],
                    next,
                    actions: format!("/v1/conversations/{id}"),
                    queue: None,
                    room: Some(room(&conversation_actor(&id), Audience::Agents)),
                },
            );
        }
        ctx.p.sleep_ms(250).await;
    }
}

/// `POST /v1/conversations/{id}/typing` and `/seen` for agents.
#[utoipa::path(post, path = "/v1/conversations/{id}/typing", tag = "realtime",
    params(("id" = String, Path, description = "conversation id")),
    request_body = Typing,
    responses((status = 204, description = "Passed on to the visitor."), (status = 404)))]
pub async fn agent_typing<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let _: Conversation = crate::records::load(ctx, &id.to_string()).await?;
    let input: Typing = body(req)?;
    let now = ctx.now();
    set_live(ctx.p, &id, |l| {
        l.agent_typing_at = input.typing.then_some(now)
    })
    .await?;
    Ok(crate::http::no_content())
}

#[utoipa::path(post, path = "/v1/conversations/{id}/seen", tag = "realtime",
    params(("id" = String, Path, description = "conversation id")),
    request_body = Seen,
    responses((status = 204, description = "Recorded."), (status = 404)))]
pub async fn agent_seen<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let c: Conversation = crate::records::load(ctx, &id.to_string()).await?;
    let input: Seen = body(req)?;
    let seq = input.seq.min(newest_seq(ctx.p, &c.id).await?);
    set_live(ctx.p, &id, |l| l.agent_seen_seq = l.agent_seen_seq.max(seq)).await?;
    Ok(crate::http::no_content())
}
