//! The dispatcher: each event's reactions, in order.

use std::collections::VecDeque;

use super::event::Event;
use super::{agent_mail, automation, bot, live, notify, record, routing, sla};
use crate::error::ApiError;
use crate::ports::Platform;

/// Events handled for one request at most (a rule that replies to its own replies, say, is
/// stopped by the automation engine's loop guard long before this).
pub const MAX_EVENTS: usize = 64;

/// Runs the reactions to `event` in the tenant actor `tactor`, then those to the events they
/// raise.
pub async fn dispatch<P: Platform>(p: &P, tactor: &str, event: Event) -> Result<(), ApiError> {
    let mut queue = VecDeque::from([event]);
    let mut handled = 0;
    while let Some(event) = queue.pop_front() {
        handled += 1;
        if handled > MAX_EVENTS {
            break;
        }
        let mut raised = Vec::new();
        match &event {
            Event::MessageAdded { .. } => {
                // The record step claims the message: if another request ran its flow, the
                // rest must not run twice.
                let Some(left_behind) = record::message_added(p, tactor, &event).await? else {
                    continue;
                };
                raised.extend(left_behind);
                routing::message_added(p, tactor, &event).await?;
                raised.extend(automation::message_added(p, tactor, &event).await?);
                raised.extend(bot::message_added(p, tactor, &event).await?);
                // After routing: the widget that wakes reads its queue place too.
                live::message_added(p, &event).await?;
                agent_mail::message_added(p, tactor, &event).await?;
                notify::subscribers(p, tactor, &event).await?;
            }
            Event::ConversationCreated { .. } => {
                routing::conversation_created(p, tactor, &event).await?;
                raised.extend(automation::conversation_created(p, tactor, &event).await?);
                sla::conversation_created(p, tactor, &event).await?;
                notify::subscribers(p, tactor, &event).await?;
            }
            Event::ConversationChanged { .. } => {
                live::conversation_changed(p, &event).await?;
                routing::conversation_changed(p, tactor, &event).await?;
                raised.extend(automation::conversation_changed(p, tactor, &event).await?);
                sla::conversation_changed(p, tactor, &event).await?;
                agent_mail::conversation_changed(p, tactor, &event).await?;
                notify::subscribers(p, tactor, &event).await?;
            }
            Event::BotHandedOff { .. } => {
                routing::bot_handed_off(p, tactor, &event).await?;
            }
            Event::CsatSubmitted { .. } => {
                raised.extend(automation::csat_submitted(p, tactor, &event).await?);
                notify::subscribers(p, tactor, &event).await?;
            }
            Event::ContactCreated { .. } => {
                notify::subscribers(p, tactor, &event).await?;
            }
            Event::TicketCreated { .. } | Event::TicketUpdated { .. } => {
                automation::ticket_changed(p, tactor, &event).await?;
                notify::subscribers(p, tactor, &event).await?;
            }
            Event::TicketMerged { .. } => {
                notify::subscribers(p, tactor, &event).await?;
            }
            Event::PresenceReported { .. } => {
                routing::presence_reported(p, tactor, &event).await?;
                live::public_changed(p, tactor).await?;
            }
            Event::WidgetChanged => {
                live::public_changed(p, tactor).await?;
            }
            Event::SlaCrossed { .. } => {
                raised.extend(automation::sla_crossed(p, tactor, &event).await?);
                agent_mail::sla_crossed(p, tactor, &event).await?;
                notify::subscribers(p, tactor, &event).await?;
            }
        }
        queue.extend(raised);
    }
    Ok(())
}
