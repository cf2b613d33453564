//! The tenant's event subscriptions: each event they may subscribe to is queued, signed and
//! retried through the outbox (`crate::domain::webhooks`) for every active subscription.
//!
//! Payloads: `{"id", "event", "created_at", "data"}`, where `data` is the record the event is
//! about (`conversation`, `message`, `ticket`, `contact`, …) as the API returns it.

use serde_json::json;

use super::event::Event;
use crate::domain::webhooks::{publish, subscriptions};
use crate::error::ApiError;
use crate::http::to_value;
use crate::keys::tenant_of_actor;
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::get_json;
use edgedesk_shared::ids::ConversationId;
use edgedesk_shared::model::Conversation;
use edgedesk_shared::sla::FiringLevel;

async fn conversation<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
) -> Result<Option<Conversation>, ApiError> {
    get_json(p, tactor, &Conversation::storage_key(&id.to_string())).await
}

/// Queues the subscription deliveries `event` calls for. Storage is read only as needed: the
/// subscriptions when the event is one anybody may subscribe to, and a new conversation's
/// record when a subscription wants `conversation.created`.
pub async fn subscribers<P: Platform>(p: &P, tactor: &str, event: &Event) -> Result<(), ApiError> {
    let Some(tenant) = tenant_of_actor(tactor) else {
        return Ok(());
    };
    let mut out: Vec<(&str, String, serde_json::Value)> = Vec::new();
    // A conversation created by this event (`conversation.created` goes first).
    let mut created = None;
    match event {
        Event::MessageAdded {
            conversation: id,
            message,
            redelivery: false,
            ..
        } => {
            // A channel opened the conversation with this message.
            if message.seq == 1 {
                created = Some(id);
            }
            out.push(("message.created", id.to_string(), to_value(message)?));
        }
        Event::ConversationCreated {
            conversation: id,
            first_message,
        } => {
            created = Some(id);
            if let Some(m) = first_message {
                out.push(("message.created", id.to_string(), to_value(m)?));
            }
        }
        Event::ConversationChanged { before, after, .. } if before.status != after.status => {
            let data = json!({"conversation": to_value(after.as_ref())?,
                "status": {"from": before.status, "to": after.status}});
            out.push(("conversation.status_changed", after.id.to_string(), data));
        }
        Event::CsatSubmitted {
            conversation: id,
            csat,
        } => {
            let data = json!({"conversation_id": id, "csat": csat});
            out.push(("csat.submitted", id.to_string(), data));
        }
        Event::ContactCreated { contact } => {
            out.push((
                "contact.created",
                contact.id.to_string(),
                to_value(contact.as_ref())?,
            ));
        }
        Event::TicketCreated { ticket } => {
            out.push((
                "ticket.created",
                ticket.id.to_string(),
                to_value(ticket.as_ref())?,
            ));
        }
        Event::TicketUpdated { before, after } => {
            let data = json!({"ticket": to_value(after.as_ref())?,
                "changes": crate::ctx::diff(before.as_ref(), after.as_ref())});
            out.push(("ticket.updated", after.id.to_string(), data));
        }
        Event::TicketMerged { source, target } => {
            let data =
                json!({"source": to_value(source.as_ref())?, "target": to_value(target.as_ref())?});
            out.push(("ticket.merged", source.id.to_string(), data));
        }
        Event::SlaCrossed {
            subject,
            level,
            data,
        } => {
            let kind = match level {
                FiringLevel::Warning => "sla.warning",
                FiringLevel::Breach => "sla.breached",
            };
            let data = json!({"subject_id": subject, "sla": data});
            out.push((kind, subject.clone(), data));
        }
        _ => {}
    }
    if out.is_empty() && created.is_none() {
        return Ok(());
    }
    let subs = subscriptions(p, tactor).await?;
    if let Some(id) = created.filter(|_| subs.iter().any(|s| s.wants("conversation.created"))) {
        if let Some(c) = conversation(p, tactor, id).await? {
            out.insert(0, ("conversation.created", id.to_string(), to_value(&c)?));
        }
    }
    for (kind, subject, data) in out {
        publish(p, &tenant, &subs, kind, &subject, data).await?;
    }
    Ok(())
}
