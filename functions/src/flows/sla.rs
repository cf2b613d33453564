//! Reactions that keep SLA clocks running: a conversation's clocks follow its record.

use super::event::Event;
use crate::domain::sla;
use crate::error::ApiError;
use crate::ports::Platform;

/// A new conversation's clocks start.
pub async fn conversation_created<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<(), ApiError> {
    let Event::ConversationCreated { conversation, .. } = event else {
        return Ok(());
    };
    sla::track_conversation(p, tactor, conversation, None).await
}

/// A changed status, priority or assignee may pause, resume or retarget the clocks. (A rule's
/// change moved them in its own batch.)
pub async fn conversation_changed<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<(), ApiError> {
    let Event::ConversationChanged {
        after,
        by_rule: false,
        ..
    } = event
    else {
        return Ok(());
    };
    sla::track_conversation(p, tactor, &after.id, None).await
}
