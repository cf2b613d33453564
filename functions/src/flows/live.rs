//! Reactions that wake the realtime feeds which watch only their own actors: a visitor's feed
//! watches the visitor's doorbell and conversation, never the whole tenant, so what the visitor
//! must hear of from the tenant's records is written where the feed looks: the visitor's
//! doorbell, the conversation's own actor, the tenant's public channel.

use super::event::{Event, Via};
use crate::domain::{live, public};
use crate::error::ApiError;
use crate::keys::tenant_of_actor;
use crate::ports::Platform;
use edgedesk_shared::ids::ContactId;
use edgedesk_shared::model::SenderKind;

/// A contact's first message opened its conversation (a widget or API channel conversation
/// starts with the contact's own message): ring the contact's doorbell, so their open widget
/// starts following it.
pub async fn message_added<P: Platform>(p: &P, event: &Event) -> Result<(), ApiError> {
    let Event::MessageAdded {
        conversation,
        message,
        via: Via::Channel,
        redelivery: false,
        ..
    } = event
    else {
        return Ok(());
    };
    if message.seq != 1 || message.sender.kind != SenderKind::Contact {
        return Ok(());
    }
    let Some(contact) = message
        .sender
        .id
        .as_deref()
        .and_then(|id| id.parse::<ContactId>().ok())
    else {
        return Ok(());
    };
    live::ring_visitor(p, &contact, conversation).await
}

/// A conversation's status changed: copy it into the conversation's actor, whose watchers (the
/// visitor's widget) then read the new state.
pub async fn conversation_changed<P: Platform>(p: &P, event: &Event) -> Result<(), ApiError> {
    let Event::ConversationChanged { before, after, .. } = event else {
        return Ok(());
    };
    if before.status == after.status {
        return Ok(());
    }
    live::publish_status(p, &after.id, after.status).await
}

/// Presence or what the widget offers may have changed: bring the tenant's public channel up
/// to date (it writes only if what it says changed), which every open widget watches.
pub async fn public_changed<P: Platform>(p: &P, tactor: &str) -> Result<(), ApiError> {
    let Some(tenant) = tenant_of_actor(tactor) else {
        return Ok(());
    };
    public::refresh(p, &tenant).await
}
