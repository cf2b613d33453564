//! Reactions that mail agents (see `domain::email::notices`): a conversation assigned to
//! them by a person, a rule or routing; a mention in a private note; an SLA warning on their
//! ticket or conversation.

use super::event::Event;
use crate::domain::email::notices::{self, Notice, NoticeKind};
use crate::error::ApiError;
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::get_json;
use edgedesk_shared::ids::{AgentId, ConversationId, TicketId};
use edgedesk_shared::model::{Conversation, SenderKind, Ticket};
use edgedesk_shared::sla::FiringLevel;

/// Mails `agent` that conversation `id` is theirs now.
pub async fn assigned<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    agent: &AgentId,
) -> Result<(), ApiError> {
    let c: Option<Conversation> =
        get_json(p, tactor, &Conversation::storage_key(&id.to_string())).await?;
    let subject = c
        .and_then(|c| c.subject)
        .unwrap_or_else(|| "a conversation".to_owned());
    let notice = Notice {
        kind: NoticeKind::Assigned,
        subject: format!("Assigned to you: {subject}"),
        text: format!(
            "The conversation \"{subject}\" ({id}) is assigned to you. Open it in the EdgeDesk console."
        ),
    };
    notices::notify(p, tactor, agent, notice).await
}

/// A person or a rule changed the assignee.
pub async fn conversation_changed<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<(), ApiError> {
    let Event::ConversationChanged { before, after, .. } = event else {
        return Ok(());
    };
    match after.assignee_id {
        Some(a) if before.assignee_id != Some(a) => assigned(p, tactor, &after.id, &a).await,
        _ => Ok(()),
    }
}

/// A private note that mentions agents (`@name`).
pub async fn message_added<P: Platform>(
    p: &P,
    tactor: &str,
    event: &Event,
) -> Result<(), ApiError> {
    let Event::MessageAdded {
        conversation,
        message,
        redelivery: false,
        ..
    } = event
    else {
        return Ok(());
    };
    if !message.private || !message.body.contains('@') {
        return Ok(());
    }
    let team = notices::agents(p, tactor).await?;
    let author = message
        .sender
        .id
        .as_deref()
        .filter(|_| message.sender.kind == SenderKind::Agent);
    let by = author
        .and_then(|id| team.iter().find(|a| a.id.to_string() == id))
        .map(|a| a.name.clone())
        .unwrap_or_else(|| "Someone".to_owned());
    for agent in notices::mentioned(&message.body, &team) {
        if Some(agent.id.to_string().as_str()) == author {
            continue;
        }
        let notice = Notice {
            kind: NoticeKind::Mention,
            subject: format!("{by} mentioned you"),
            text: format!(
                "{by} mentioned you in a private note on conversation {conversation}:\n\n{}",
                message.body
            ),
        };
        notices::notify(p, tactor, &agent.id, notice).await?;
    }
    Ok(())
}

/// An SLA warning: the assignee of the ticket or conversation hears of it.
pub async fn sla_crossed<P: Platform>(p: &P, tactor: &str, event: &Event) -> Result<(), ApiError> {
    let Event::SlaCrossed {
        subject,
        level: FiringLevel::Warning,
        ..
    } = event
    else {
        return Ok(());
    };
    let (assignee, what) = if subject.parse::<TicketId>().is_ok() {
        let t: Option<Ticket> = get_json(p, tactor, &Ticket::storage_key(subject)).await?;
        match t {
            Some(t) => (
                t.assignee_id,
                format!("ticket #{} \"{}\"", t.number, t.subject),
            ),
            None => return Ok(()),
        }
    } else {
        let c: Option<Conversation> =
            get_json(p, tactor, &Conversation::storage_key(subject)).await?;
        match c {
            Some(c) => (
                c.assignee_id,
                format!(
                    "conversation \"{}\"",
                    c.subject.unwrap_or_else(|| c.id.to_string())
                ),
            ),
            None => return Ok(()),
        }
    };
    let Some(agent) = assignee else {
        return Ok(());
    };
    let notice = Notice {
        kind: NoticeKind::SlaWarning,
        subject: format!("SLA warning: {what}"),
        text: format!(
            "Your {what} is close to breaching its SLA target. Open it in the EdgeDesk console."
        ),
    };
    notices::notify(p, tactor, &agent, notice).await
}
