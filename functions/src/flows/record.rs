//! Reactions that keep the conversation record up to date.

use super::event::{BotTake, Event};
use crate::domain::conversations;
use crate::error::ApiError;
use crate::ports::Platform;

/// The record's last activity (a contact writing reopens it), the message's SLA event and the
/// tenant's part of the bot's turn written with it, in one batch of the tenant actor.
pub async fn message_added<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<(), ApiError> {
    let Event::MessageAdded {
        conversation,
        message,
        actor,
        redelivery: false,
        bot,
        ..
    } = event
    else {
        return Ok(());
    };
    let turn = match bot {
        BotTake::Took(outcome) => Some(outcome),
        _ => None,
    };
    conversations::touch_and_track(p, tactor, conversation, message, actor.clone(), turn).await
}
