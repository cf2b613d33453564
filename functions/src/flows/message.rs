//! The one way a message enters a conversation, from any channel: the bot's turn is decided
//! first (so it is written in the message's own batch), then the message is stored, then its
//! flow runs.

use super::dispatch::dispatch;
use super::event::{BotTake, Event, Via};
use crate::ctx::Idempotency;
use crate::domain::bot_turn;
use crate::domain::conversations::{append_with, Appended, Draft};
use crate::error::ApiError;
use crate::ports::Platform;
use edgedesk_shared::ids::ConversationId;
use edgedesk_shared::model::{Actor, SenderKind};

/// Stores `draft` in `conversation` and runs the message flow for it. A replayed idempotent
/// request answers what it answered the first time and runs nothing.
pub async fn add_message<P: Platform>(
    p: &P,
    tactor: &str,
    conversation: &ConversationId,
    draft: Draft,
    actor: Actor,
    via: Via,
    idem: Option<&Idempotency>,
) -> Result<Appended, ApiError> {
    let ask_bot = via == Via::Channel && draft.sender.kind == SenderKind::Contact;
    let planned = if ask_bot {
        bot_turn::plan(p, tactor, conversation, &draft.body).await?
    } else {
        None
    };
    let appended = append_with(p, conversation, draft, planned.as_ref(), idem).await?;
    if appended.replay.is_some() {
        return Ok(appended);
    }
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
