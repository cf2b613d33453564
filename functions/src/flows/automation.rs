//! Reactions that run the tenant's automation rules. What a rule appends (a canned reply, a
//! private note) is a new message, raised as an event of its own.

use super::event::{BotTake, Event, Via};
use crate::ctx::system_actor;
use crate::domain::automation::{self, Outcome};
use crate::error::ApiError;
use crate::ports::Platform;
use edgedesk_shared::ids::{ConversationId, TicketId};
use edgedesk_shared::model::{ActorKind, SenderKind};
use edgedesk_shared::routing::{AutomationEvent, EventKind, Subject};
use edgedesk_shared::sla::FiringLevel;

/// What rules did, as the events the flows follow up: the messages they appended and the
/// conversations they changed.
pub(super) fn appended(outcomes: Vec<Outcome>) -> Vec<Event> {
    outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Appended(m) => Event::MessageAdded {
                conversation: m.conversation_id,
                actor: system_actor(ActorKind::System, m.sender.id.clone().unwrap_or_default()),
                message: m,
                via: Via::Team,
                redelivery: false,
                bot: BotTake::NotAsked,
            },
            Outcome::Changed(before, after) => Event::ConversationChanged {
                before,
                after,
                by_rule: true,
            },
        })
        .collect()
}

/// A contact wrote: `message_received`, and `conversation_created` on the first message of a
/// conversation a channel opened.
pub async fn message_added<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<Vec<Event>, ApiError> {
    let Event::MessageAdded {
        conversation,
        message,
        redelivery: false,
        ..
    } = event
    else {
        return Ok(Vec::new());
    };
    if message.sender.kind != SenderKind::Contact {
        return Ok(Vec::new());
    }
    let created = message.seq == 1;
    Ok(appended(
        automation::arrival(p, tactor, conversation, Some(message), created).await?,
    ))
}

/// `conversation_created` (and `message_received` for a first message from the contact).
pub async fn conversation_created<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<Vec<Event>, ApiError> {
    let Event::ConversationCreated {
        conversation,
        first_message,
    } = event
    else {
        return Ok(Vec::new());
    };
    Ok(appended(
        automation::arrival(p, tactor, conversation, first_message.as_ref(), true).await?,
    ))
}

/// `status_changed` for a status a person or a channel changed.
pub async fn conversation_changed<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<Vec<Event>, ApiError> {
    let Event::ConversationChanged {
        before,
        after,
        by_rule: false,
    } = event
    else {
        return Ok(Vec::new());
    };
    Ok(appended(
        automation::status_changed(p, tactor, before, after).await?,
    ))
}

/// `csat_received`, with the rating as the `csat` fact.
pub async fn csat_submitted<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<Vec<Event>, ApiError> {
    let Event::CsatSubmitted { conversation, csat } = event else {
        return Ok(Vec::new());
    };
    let trigger = AutomationEvent::new(
        EventKind::CsatReceived,
        Subject::Conversation(*conversation),
        p.now(),
    );
    Ok(appended(
        automation::run(p, tactor, trigger, vec![("csat", csat.clone())]).await?,
    ))
}

/// `ticket_created`, or `ticket_updated` (and `status_changed` for a new status).
pub async fn ticket_changed<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<(), ApiError> {
    match event {
        Event::TicketCreated { ticket } => {
            automation::ticket_event(p, tactor, EventKind::TicketCreated, &ticket.id, vec![]).await
        }
        Event::TicketUpdated { before, after } => {
            let changes = crate::ctx::diff(before.as_ref(), after.as_ref());
            let extra = vec![("changes", changes.clone())];
            automation::ticket_event(p, tactor, EventKind::TicketUpdated, &after.id, extra).await?;
            if before.status != after.status {
                let extra = vec![("changes", changes)];
                automation::ticket_event(p, tactor, EventKind::StatusChanged, &after.id, extra)
                    .await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `sla_warning` or `sla_breach` on the ticket or conversation that crossed it, with the
/// crossing as the `sla` fact.
pub async fn sla_crossed<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<Vec<Event>, ApiError> {
    let Event::SlaCrossed {
        subject,
        level,
        data,
    } = event
    else {
        return Ok(Vec::new());
    };
    let kind = match level {
        FiringLevel::Warning => EventKind::SlaWarning,
        FiringLevel::Breach => EventKind::SlaBreach,
    };
    let extra = vec![("sla", data.clone())];
    if let Ok(ticket) = subject.parse::<TicketId>() {
        automation::ticket_event(p, tactor, kind, &ticket, extra).await?;
        return Ok(Vec::new());
    }
    let Ok(conversation) = subject.parse::<ConversationId>() else {
        return Ok(Vec::new());
    };
    let trigger = AutomationEvent::new(kind, Subject::Conversation(conversation), p.now());
    Ok(appended(automation::run(p, tactor, trigger, extra).await?))
}
