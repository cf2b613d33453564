//! Reactions that keep the conversation record up to date, and complete the flows of messages
//! a dead request left behind.

use super::event::{BotTake, Event, Via};
use crate::ctx::system_actor;
use crate::domain::conversations::{self, Recorded};
use crate::error::ApiError;
use crate::ports::Platform;
use edgedesk_shared::model::{ActorKind, Message, SenderKind};

/// The record step of a message's flow (see [`conversations::touch_and_track`]): `None` when
/// another request already ran this message's flow, so the rest of it must not run again;
/// otherwise the flows of earlier messages a dead request left behind, to run now.
pub async fn message_added<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<Option<Vec<Event>>, ApiError> {
    let Event::MessageAdded {
        conversation,
        message,
        actor,
        redelivery: false,
        bot,
        ..
    } = event
    else {
        return Ok(Some(Vec::new()));
    };
    let turn = match bot {
        BotTake::Took(outcome) => Some(outcome),
        _ => None,
    };
    match conversations::touch_and_track(p, tactor, conversation, message, actor.clone(), turn)
        .await?
    {
        Recorded::AlreadyDone => Ok(None),
        Recorded::Done { left_behind } => {
            Ok(Some(left_behind.into_iter().map(recovered).collect()))
        }
    }
}

/// The flow of a message stored by a request that died before running it. A contact's
/// message counts as coming from their channel, so the bot answers it if it holds the
/// conversation and has not yet; a person's or a rule's as the team's.
pub fn recovered(message: Message) -> Event {
    let (kind, via) = match message.sender.kind {
        SenderKind::Contact if message.email.is_some() => (ActorKind::Contact, Via::Mail),
        SenderKind::Contact => (ActorKind::Contact, Via::Channel),
        SenderKind::Agent => (ActorKind::Agent, Via::Team),
        _ => (ActorKind::System, Via::Team),
    };
    let actor = system_actor(kind, message.sender.id.clone().unwrap_or_default());
    Event::MessageAdded {
        conversation: message.conversation_id,
        message,
        actor,
        via,
        redelivery: false,
        bot: BotTake::NotAsked,
    }
}
