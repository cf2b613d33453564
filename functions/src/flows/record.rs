//! Reactions that keep the conversation record up to date.

use super::event::Event;
use crate::domain::conversations;
use crate::error::ApiError;
use crate::ports::Platform;

/// The record's last activity (a contact writing reopens it) and the message's SLA event, in
/// one batch of the tenant actor.
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
        ..
    } = event
    else {
        return Ok(());
    };
    conversations::touch_and_track(p, tactor, conversation, message, actor.clone()).await
}
