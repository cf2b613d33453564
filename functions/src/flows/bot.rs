//! The bot's turn: it answers what a contact wrote on a visitor-facing channel while it holds
//! the conversation, and hands off to a person when it cannot help. The turn is normally
//! written with the message (`super::message`); this reaction follows up its handoff, and
//! takes the turn itself when the message was stored without one.

use super::event::{BotTake, Event, Via};
use crate::domain::bot_turn as bot;
use crate::domain::conversations;
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
        bot: take,
        ..
    } = event
    else {
        return Ok(Vec::new());
    };
    let handed_off = match take {
        BotTake::Took(outcome) => outcome.handoff.is_some(),
        BotTake::Declined => false,
        BotTake::NotAsked => match bot::respond(p, tactor, conversation, message).await? {
            Some(outcome) => {
                conversations::record_bot_turn(p, tactor, conversation, &outcome).await?;
                outcome.handoff.is_some()
            }
            None => false,
        },
    };
    Ok(if handed_off {
        vec![Event::BotHandedOff {
            conversation: *conversation,
            text: message.body.clone(),
        }]
    } else {
        Vec::new()
    })
}
