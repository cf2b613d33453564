//! Notification mails to agents: a conversation assigned to them, a mention (`@name`) in a
//! private note, an SLA warning on their ticket or conversation. Each agent chooses which
//! they get (`agent_notify:<agent>`); the mail leaves through the outbox by the tenant's
//! first email channel, marked `Auto-Submitted: auto-generated` so that auto-responders leave
//! it alone. A tenant without an email channel sends none.

use chrono::{DateTime, TimeDelta, Utc};

use crate::alarms::{schedule, Job};
use crate::error::ApiError;
use crate::keys;
use crate::ports::{Platform, Scan};
use crate::records::Versioned;
use crate::store::{get_json, scan_json, transact};
use edgedesk_shared::email::NotificationPreferences;
use edgedesk_shared::ids::{AgentId, TenantId};
use edgedesk_shared::model::{Agent, Conversation, ConversationStatus, Ticket, TicketStatus};

/// What an agent is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Assigned,
    Mention,
    SlaWarning,
    Digest,
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

/// Stores an agent's choices; one who asks for the digest makes sure it is scheduled.
pub async fn set_preferences<P: Platform>(
    p: &P,
    tenant_id: &TenantId,
    agent: &AgentId,
    prefs: &NotificationPreferences,
) -> Result<(), ApiError> {
    let tactor = keys::tenant_actor(tenant_id);
    let next = next_digest(p.now());
    let schedule_now = transact(p, &tactor, async |tx| {
        tx.put_json(keys::tenant::agent_notifications(agent), prefs)?;
        if !prefs.digest {
            return Ok(false);
        }
        let due: Option<DateTime<Utc>> = tx.get_json(keys::tenant::MAIL_DIGEST_NEXT).await?;
        if due.is_some_and(|d| d > p.now()) {
            return Ok(false);
        }
        tx.put_json(keys::tenant::MAIL_DIGEST_NEXT, &next)?;
        Ok(true)
    })
    .await?;
    if schedule_now {
        schedule(
            p,
            next,
            &Job::MailDigest {
                tenant_id: *tenant_id,
            },
        )
        .await?;
    }
    Ok(())
}

/// The hour of the day (UTC) the digest goes out.
pub const DIGEST_HOUR_UTC: u32 = 7;

/// The next digest time after `now`.
fn next_digest(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now
        .date_naive()
        .and_hms_opt(DIGEST_HOUR_UTC, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(now);
    if today > now {
        today
    } else {
        today + TimeDelta::days(1)
    }
}

/// Most conversations or tickets a digest lists.
const DIGEST_ITEMS: usize = 20;

/// The `Job::MailDigest` work: each agent who asked for it gets their open conversations and
/// tickets; the next digest is scheduled while anyone still wants one.
pub async fn digest<P: Platform>(p: &P, tenant_id: &TenantId) -> Result<(), ApiError> {
    let tactor = keys::tenant_actor(tenant_id);
    let team = agents(p, &tactor).await?;
    let mut wanted = Vec::new();
    for a in team.into_iter().filter(|a| a.active) {
        if preferences(p, &tactor, &a.id).await?.digest {
            wanted.push(a);
        }
    }
    if wanted.is_empty() {
        return transact(p, &tactor, async |tx| {
            tx.delete(keys::tenant::MAIL_DIGEST_NEXT);
            Ok(())
        })
        .await;
    }
    let scan = |prefix: &str| Scan {
        prefix: prefix.into(),
        after: None,
        limit: 10_000,
        reverse: false,
    };
    let conversations: Vec<Conversation> =
        scan_json(p, &tactor, &scan(keys::tenant::CONVERSATIONS))
            .await?
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c: &Conversation| c.status != ConversationStatus::Resolved)
            .collect();
    let tickets: Vec<Ticket> = scan_json(p, &tactor, &scan(keys::tenant::TICKETS))
        .await?
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t: &Ticket| !matches!(t.status, TicketStatus::Solved | TicketStatus::Closed))
        .collect();
    for a in &wanted {
        let mine_c: Vec<&Conversation> = conversations
            .iter()
            .filter(|c| c.assignee_id == Some(a.id))
            .collect();
        let mine_t: Vec<&Ticket> = tickets
            .iter()
            .filter(|t| t.assignee_id == Some(a.id))
            .collect();
        let mut text = format!(
            "Good morning {}. You have {} open conversations and {} open tickets.\n",
            a.name,
            mine_c.len(),
            mine_t.len()
        );
        for c in mine_c.iter().take(DIGEST_ITEMS) {
            text.push_str(&format!(
                "\n- conversation \"{}\" ({}, {})",
                c.subject.as_deref().unwrap_or("(no subject)"),
                c.status,
                c.id
            ));
        }
        for t in mine_t.iter().take(DIGEST_ITEMS) {
            text.push_str(&format!(
                "\n- ticket #{} \"{}\" ({})",
                t.number, t.subject, t.status
            ));
        }
        let notice = Notice {
            kind: NoticeKind::Digest,
            subject: format!(
                "Your day: {} conversations, {} tickets",
                mine_c.len(),
                mine_t.len()
            ),
            text,
        };
        notify(p, &tactor, &a.id, notice).await?;
    }
    let next = next_digest(p.now());
    transact(p, &tactor, async |tx| {
        tx.put_json(keys::tenant::MAIL_DIGEST_NEXT, &next)
    })
    .await?;
    schedule(
        p,
        next,
        &Job::MailDigest {
            tenant_id: *tenant_id,
        },
    )
    .await
}

/// Mails `notice` to agent `id`, if they are active, want this kind and the tenant can send.
pub async fn notify<P: Platform>(
    p: &P,
    tactor: &str,
    id: &AgentId,
    notice: Notice,
) -> Result<(), ApiError> {
    // A tenant without an email channel sends nothing: asked first, it spares the other reads
    // on every assignment of such a tenant.
    let Some(channel) = super::channels::first(p, tactor).await? else {
        return Ok(());
    };
    let agent: Option<Agent> = get_json(p, tactor, &Agent::storage_key(&id.to_string())).await?;
    let Some(agent) = agent.filter(|a| a.active) else {
        return Ok(());
    };
    let prefs = preferences(p, tactor, id).await?;
    let wanted = match notice.kind {
        NoticeKind::Assigned => prefs.assigned,
        NoticeKind::Mention => prefs.mention,
        NoticeKind::SlaWarning => prefs.sla_warning,
        NoticeKind::Digest => prefs.digest,
    };
    if !wanted {
        return Ok(());
    }
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
