//! Notification mails to agents: a conversation assigned to them, a mention (`@name`) in a
//! private note, an SLA warning on their ticket or conversation. Each agent chooses which
//! they get (`agent_notify:<agent>`); the mail leaves through the outbox by the tenant's
//! first email channel, marked `Auto-Submitted: auto-generated` so that auto-responders leave
//! it alone. A tenant without an email channel sends none.

use crate::alarms::schedule;
use crate::error::ApiError;
use crate::keys;
use crate::ports::{Platform, Scan};
use crate::records::Versioned;
use crate::store::{get_json, scan_json, transact};
use edgedesk_shared::email::NotificationPreferences;
use edgedesk_shared::ids::AgentId;
use edgedesk_shared::model::Agent;

/// What an agent is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Assigned,
    Mention,
    SlaWarning,
}

/// One notification mail.
pub struct Notice {
    pub kind: NoticeKind,
    pub subject: String,
    pub text: String,
}

/// An agent's choices (the defaults until they change them).
pub async fn preferences<P: Platform>(
    p: &P,
    tactor: &str,
    agent: &AgentId,
) -> Result<NotificationPreferences, ApiError> {
    Ok(
        get_json(p, tactor, &keys::tenant::agent_notifications(agent))
            .await?
            .unwrap_or_default(),
    )
}

/// Stores an agent's choices.
pub async fn set_preferences<P: Platform>(
    p: &P,
    tactor: &str,
    agent: &AgentId,
    prefs: &NotificationPreferences,
) -> Result<(), ApiError> {
    transact(p, tactor, async |tx| {
        tx.put_json(keys::tenant::agent_notifications(agent), prefs)
    })
    .await
}

/// Mails `notice` to agent `id`, if they are active, want this kind and the tenant can send.
pub async fn notify<P: Platform>(
    p: &P,
    tactor: &str,
    id: &AgentId,
    notice: Notice,
) -> Result<(), ApiError> {
    let agent: Option<Agent> = get_json(p, tactor, &Agent::storage_key(&id.to_string())).await?;
    let Some(agent) = agent.filter(|a| a.active) else {
        return Ok(());
    };
    let prefs = preferences(p, tactor, id).await?;
    let wanted = match notice.kind {
        NoticeKind::Assigned => prefs.assigned,
        NoticeKind::Mention => prefs.mention,
        NoticeKind::SlaWarning => prefs.sla_warning,
    };
    if !wanted {
        return Ok(());
    }
    let Some(channel) = super::channels::first(p, tactor).await? else {
        return Ok(());
    };
    let domain = channel.from_address.rsplit('@').next().unwrap_or_default();
    let mail = edgedesk_mail::Outgoing {
        from: edgedesk_mail::Address {
            address: channel.from_address.clone(),
            name: Some(
                channel
                    .from_name
                    .clone()
                    .unwrap_or_else(|| "EdgeDesk".to_owned()),
            ),
        },
        to: vec![edgedesk_mail::Address {
            address: agent.email.to_lowercase(),
            name: Some(agent.name.clone()),
        }],
        cc: Vec::new(),
        reply_to: None,
        subject: notice.subject,
        message_id: format!("notice.{}@{domain}", crate::ctx::random_hex(p, 12)),
        in_reply_to: None,
        references: Vec::new(),
        text: notice.text,
        html: None,
        attachments: Vec::new(),
        date: p.now().timestamp(),
        auto_submitted: true,
    };
    let raw = edgedesk_mail::compose(&mail);
    let to = vec![agent.email.to_lowercase()];
    let job = transact(p, tactor, async |tx| {
        super::outbox::queue_composed(p, tx, &channel, to.clone(), &raw)
    })
    .await?;
    schedule(p, p.now(), &job).await
}

/// The agents `text` mentions as `@name`: an agent's email before the `@`, or their name
/// without spaces, compared without case.
pub fn mentioned<'a>(text: &str, agents: &'a [Agent]) -> Vec<&'a Agent> {
    let handles: Vec<String> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '(' | ')'))
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    agents
        .iter()
        .filter(|a| {
            let local = a.email.split('@').next().unwrap_or_default().to_lowercase();
            let name: String = a
                .name
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_lowercase();
            handles.iter().any(|h| *h == local || *h == name)
        })
        .collect()
}

/// Every agent of the tenant.
pub async fn agents<P: Platform>(p: &P, tactor: &str) -> Result<Vec<Agent>, ApiError> {
    let scan = Scan {
        prefix: keys::tenant::AGENTS.into(),
        after: None,
        limit: 1000,
        reverse: false,
    };
    Ok(scan_json(p, tactor, &scan)
        .await?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str, email: &str) -> Agent {
        Agent {
            id: AgentId::from_parts(1, name.len() as u128),
            tenant_id: edgedesk_shared::ids::TenantId::from_parts(1, 1),
            email: email.into(),
            name: name.into(),
            role: edgedesk_shared::model::Role::Agent,
            active: true,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    #[test]
    fn a_mention_names_an_agent_by_email_handle_or_name() {
        let team = [
            agent("Grace Hopper", "grace@acme.example"),
            agent("Alan", "turing@acme.example"),
        ];
        let found = mentioned("ping @Turing, and @gracehopper: see above", &team);
        assert_eq!(found.len(), 2);
        assert!(mentioned("mail grace@acme.example", &team).is_empty());
    }
}
