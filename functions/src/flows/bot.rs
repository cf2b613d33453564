//! The bot's turn: it answers what a contact wrote on a visitor-facing channel while it holds
//! the conversation, and hands off to a person when it cannot help.

use super::event::{Event, Via};
use crate::domain::bot_turn as bot;
use crate::error::ApiError;
use crate::ports::Platform;

pub async fn message_added<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<Vec<Event>, ApiError> {
    let Event::MessageAdded {
        conversation,
        message,
        via: Via::Channel,
        ..
    } = event
    else {
        return Ok(Vec::new());
    };
    let handed_off = bot::respond(p, tactor, conversation, message).await?;
    Ok(if handed_off {
        vec![Event::BotHandedOff {
            conversation: *conversation,
            text: message.body.clone(),
        }]
    } else {
        Vec::new()
    })
}
