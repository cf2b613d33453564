//! Reactions that place conversations with people: freed capacity goes to the waiting queue
//! first, then an unassigned conversation is routed by the tenant's rules.

use super::event::{BotTake, Event};
use crate::domain::bot_turn as bot;
use crate::domain::presence::PresenceStatus;
use crate::domain::routing;
use crate::error::ApiError;
use crate::ports::Platform;
use edgedesk_shared::ids::ConversationId;
use edgedesk_shared::model::SenderKind;

async fn route<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    text: &str,
) -> Result<(), ApiError> {
    for placed in routing::drain(p, tactor).await? {
        notify_assignee(p, tactor, &placed).await?;
    }
    if let routing::Routed::Decided(edgedesk_shared::routing::RoutingDecision::Assigned(a)) =
        routing::route_conversation(p, tactor, id, text).await?
    {
        super::agent_mail::assigned(p, tactor, id, &a.agent_id).await?;
    }
    Ok(())
}

/// An agent came online: their capacity goes to the conversations waiting in the queue.
pub async fn presence_reported<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<(), ApiError> {
    let Event::PresenceReported { presence, .. } = event else {
        return Ok(());
    };
    if presence.status != PresenceStatus::Online {
        return Ok(());
    }
    for placed in routing::drain(p, tactor).await? {
        notify_assignee(p, tactor, &placed).await?;
    }
    Ok(())
}

/// Mails the agent a conversation placed from the queue went to.
async fn notify_assignee<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
) -> Result<(), ApiError> {
    use crate::records::Versioned;
    let c: Option<edgedesk_shared::model::Conversation> = crate::store::get_json(
        p,
        tactor,
        &edgedesk_shared::model::Conversation::storage_key(&id.to_string()),
    )
    .await?;
    match c.and_then(|c| c.assignee_id) {
        Some(agent) => super::agent_mail::assigned(p, tactor, id, &agent).await,
        None => Ok(()),
    }
}

/// A contact wrote: route the conversation, unless the bot holds it (then routing waits for
/// the bot's handoff). The bot was asked when the message was stored, unless the message came
/// from the team.
pub async fn message_added<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<(), ApiError> {
    let Event::MessageAdded {
        conversation,
        message,
        redelivery: false,
        bot: take,
        ..
    } = event
    else {
        return Ok(());
    };
    if message.sender.kind != SenderKind::Contact {
        return Ok(());
    }
    let bot_holds = match take {
        BotTake::Took(_) => true,
        BotTake::Declined => false,
        BotTake::NotAsked => bot::holds(p, tactor, conversation).await?,
    };
    if bot_holds {
        return Ok(());
    }
    route(p, tactor, conversation, &message.body).await
}

/// A conversation created through the API is routed on its first message.
pub async fn conversation_created<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<(), ApiError> {
    let Event::ConversationCreated {
        conversation,
        first_message,
    } = event
    else {
        return Ok(());
    };
    let text = first_message.as_ref().map_or("", |m| m.body.as_str());
    route(p, tactor, conversation, text).await
}

/// A resolve or a transfer may free a place someone waiting can take.
pub async fn conversation_changed<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<(), ApiError> {
    let Event::ConversationChanged {
        before,
        after,
        by_rule: false,
    } = event
    else {
        return Ok(());
    };
    if routing::frees_capacity(before, after) {
        routing::drain(p, tactor).await?;
    }
    Ok(())
}

/// Now a person's turn: routing rules (sentiment, keywords …) see the message that led to the
/// handoff. (Automation already ran for it when it was stored.)
pub async fn bot_handed_off<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<(), ApiError> {
    let Event::BotHandedOff { conversation, text } = event else {
        return Ok(());
    };
    route(p, tactor, conversation, text).await
}
