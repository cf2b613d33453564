//! The one way a message enters a conversation, from any channel: the bot's turn is decided
//! first (so it is written in the message's own batch), then the message is stored, then its
//! flow runs.

use super::dispatch::dispatch;
use super::event::{BotTake, Event, Via};
use super::record;
use crate::ctx::Idempotency;
use crate::domain::conversations::{self, append_with, Appended, Draft};
use crate::domain::{automation, bot_turn};
use crate::error::ApiError;
use crate::http::Response;
use crate::ports::Platform;
use edgedesk_shared::ids::{ConversationId, MessageId};
use edgedesk_shared::model::{Actor, SenderKind};

/// Stores `draft` in `conversation` and runs the message flow for it. A retry (a replayed
/// idempotent request, a channel's redelivery) stores nothing again, but completes the flow
/// of the message it repeats if the request that stored it died before running it.
pub async fn add_message<P: Platform>(
    p: &P,
    tactor: &str,
    conversation: &ConversationId,
    draft: Draft,
    actor: Actor,
    via: Via,
    idem: Option<&Idempotency>,
) -> Result<Appended, ApiError> {
    // Rules see the message before it is stored: its id and number are not known yet.
    let ask_bot = via == Via::Channel
        && draft.sender.kind == SenderKind::Contact
        && !automation::assigns_on_arrival(
            p,
            tactor,
            conversation,
            &draft.message(MessageId::from_parts(0, 0), *conversation, 0, p.now()),
        )
        .await?;
    let planned = if ask_bot {
        bot_turn::plan(p, tactor, conversation, &draft.body).await?
    } else {
        None
    };
    let appended = append_with(p, conversation, draft, planned.as_ref(), idem).await?;
    if let Some(replayed) = &appended.replay {
        if let Some(seq) = replayed_seq(replayed) {
            complete(p, tactor, conversation, seq).await?;
        }
        return Ok(appended);
    }
    if appended.duplicate {
        complete(p, tactor, conversation, appended.message.seq).await?;
    }
    // A rule that assigns the conversation on this message goes first: the bot, not asked,
    // then sees a person took over (its reaction records the handoff).
    let bot = match (&appended.bot, &planned) {
        (Some(outcome), _) => BotTake::Took(outcome.clone()),
        (None, None) if ask_bot && !appended.duplicate => BotTake::Declined,
        _ => BotTake::NotAsked,
    };
    let event = Event::MessageAdded {
        conversation: *conversation,
        message: appended.message.clone(),
        actor,
        via,
        redelivery: appended.duplicate,
        bot,
    };
    dispatch(p, tactor, event).await?;
    Ok(appended)
}

/// Runs the flows of the messages up to `seq` that a dead request left behind.
async fn complete<P: Platform>(
    p: &P,
    tactor: &str,
    conversation: &ConversationId,
    seq: u64,
) -> Result<(), ApiError> {
    for message in conversations::left_behind(p, tactor, conversation, seq).await? {
        dispatch(p, tactor, record::recovered(message)).await?;
    }
    Ok(())
}

/// The number of the message a replayed response answered with.
fn replayed_seq(response: &Response) -> Option<u64> {
    let body: serde_json::Value = serde_json::from_slice(response.body()).ok()?;
    body.get("seq")?.as_u64()
}
