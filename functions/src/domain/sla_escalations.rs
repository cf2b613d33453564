//! SLA escalations: the `Job::Sla` timer that records each warning or deadline a ticket or
//! conversation crosses (once), applies the tenant's escalation rules, records `sla.warning` /
//! `sla.breached` and queues the SLA webhook; and recomputing open subjects after the settings
//! change. The clocks themselves are `crate::domain::sla`.

use chrono::{DateTime, Utc};

use crate::alarms::{schedule, Job};
use crate::ctx::record_event;
use crate::error::ApiError;
use crate::keys::{self, tenant_actor};
use crate::ports::{Platform, Scan};
use crate::records::Versioned;
use crate::settings::{settings_in, SlaSettings};
use crate::store::{get_json, scan_json, transact, Tx};
use edgedesk_shared::ids::{TenantId, TicketId};
use edgedesk_shared::model::{Conversation, Ticket};
use edgedesk_shared::sla::escalation::Audience;
use edgedesk_shared::sla::{plan_escalations, Action, EscalationSubject, FiringLevel, SlaEvent};

/// Longest a policy or calendar list may get: the whole configuration is one record.
use crate::domain::sla::*;

/// The `Job::Sla` timer: acts on every crossing not yet recorded for `subject`.
pub async fn fire<P: Platform>(
    p: &P,
    tenant_id: &TenantId,
    subject: &str,
) -> Result<Vec<Crossing>, ApiError> {
    let actor = tenant_actor(tenant_id);
    let now = p.now();
    let (wake, deliveries, crossings) = transact(p, &actor, async |tx| {
        let key = keys::tenant::sla_record(subject);
        let Some(mut record) = tx.get_json::<SlaRecord>(&key).await? else {
            return Ok((Wake::default(), Vec::new(), Vec::new()));
        };
        let settings = settings_in(tx).await?;
        let engine = settings.engine()?;
        let (_, firings, _) = assess(tx, &engine, settings.version, &mut record, now).await?;
        let mut deliveries = Vec::new();
        let mut crossings = Vec::new();
        if !firings.is_empty() {
            let planned = match apply_escalations(p, tx, subject, &settings, &firings).await? {
                Some(planned) => planned,
                // The subject is gone: nothing to escalate or time any more.
                None => {
                    tx.delete(key.clone());
                    for n in 0..record.events {
                        tx.delete(keys::tenant::sla_history_event(subject, n));
                    }
                    return Ok((Wake::default(), Vec::new(), Vec::new()));
                }
            };
            for firing in &firings {
                let actions: Vec<_> = planned
                    .iter()
                    .filter(|a| a.firing.key() == firing.key())
                    .collect();
                let kind = match firing.level {
                    FiringLevel::Warning => "sla.warning",
                    FiringLevel::Breach => "sla.breached",
                };
                let data = serde_json::json!({
                    "policy_id": firing.policy_id,
                    "target": firing.target,
                    "cycle": firing.cycle,
                    "level": firing.level,
                    "crossed_at": firing.at,
                    "actions": actions.iter().map(|a| serde_json::json!({"rule_id": a.rule_id, "action": a.action})).collect::<Vec<_>>(),
                });
                record_event(p, tx, subject, kind, sla_actor(), data.clone())?;
                crossings.push(Crossing {
                    subject: subject.to_owned(),
                    level: firing.level,
                    data: data.clone(),
                });
                let webhook = actions
                    .iter()
                    .any(|a| matches!(a.action, Action::Notify { webhook: true, .. }));
                if let (true, Some(target)) = (webhook, &settings.webhook) {
                    let audience: Vec<Audience> = actions
                        .iter()
                        .filter_map(|a| match &a.action {
                            Action::Notify { audience, .. } => Some(*audience),
                            _ => None,
                        })
                        .collect();
                    let payload = serde_json::json!({
                        "type": kind,
                        "tenant_id": tenant_id,
                        "subject_id": subject,
                        "firing": firing,
                        "audience": audience,
                        "actions": data["actions"],
                    });
                    let id = crate::domain::webhooks::enqueue(p, tx, tenant_id, target, kind, subject, payload)?;
                    deliveries.push(id);
                }
            }
            let mut events: Vec<SlaEvent> = firings.iter().cloned().map(SlaEvent::fired).collect();
            // The escalations changed the subject: bring the history up to date.
            if let Some(snapshot) = current_snapshot(tx, subject).await? {
                events.extend(changes(&record.last, &snapshot, now));
                record.last = snapshot;
            }
            append_events(tx, &engine, settings.version, &mut record, events).await?;
        }
        let wake = evaluate_into(tx, &engine, settings.version, &mut record, now).await?;
        tx.put_json(key, &record)?;
        Ok((wake, deliveries, crossings))
    })
    .await?;
    schedule_wake(p, *tenant_id, wake).await?;
    for delivery in deliveries {
        let job = Job::Webhook {
            tenant_id: *tenant_id,
            delivery,
        };
        schedule(p, now, &job).await?;
    }
    Ok(crossings)
}

/// A warning or deadline a subject crossed, as `fire` recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossing {
    /// The ticket or conversation id.
    pub subject: String,
    pub level: FiringLevel,
    /// Policy, target, cycle, level, time and escalation actions, as in the `sla.*` event.
    pub data: serde_json::Value,
}

pub(crate) async fn current_snapshot<P: Platform>(
    tx: &mut Tx<'_, P>,
    subject: &str,
) -> Result<Option<Snapshot>, ApiError> {
    if subject.starts_with(TicketId::PREFIX) {
        match tx.get_json::<Ticket>(&Ticket::storage_key(subject)).await? {
            Some(t) => Ok(Some(ticket_snapshot(tx, &t).await?)),
            None => Ok(None),
        }
    } else {
        match tx
            .get_json::<Conversation>(&Conversation::storage_key(subject))
            .await?
        {
            Some(c) => Ok(Some(conversation_snapshot(tx, &c).await?)),
            None => Ok(None),
        }
    }
}

/// Plans the escalation actions for `firings` and applies them to the ticket or conversation.
/// `None` when the subject no longer exists.
pub(crate) async fn apply_escalations<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    subject: &str,
    settings: &SlaSettings,
    firings: &[edgedesk_shared::sla::Firing],
) -> Result<Option<Vec<edgedesk_shared::sla::PlannedAction>>, ApiError> {
    let now = p.now();
    if subject.starts_with(TicketId::PREFIX) {
        let key = Ticket::storage_key(subject);
        let Some(before) = tx.get_json::<Ticket>(&key).await? else {
            return Ok(None);
        };
        let current = EscalationSubject {
            priority: before.priority,
            team: ticket_team(&before),
            tags: before.tags.clone(),
        };
        let planned = plan_escalations(&settings.escalations, firings, &current);
        let mut after = before.clone();
        for a in &planned {
            match &a.action {
                Action::SetPriority { to, .. } => after.priority = *to,
                Action::AssignTeam { to, .. } => {
                    after
                        .custom_fields
                        .insert("team".into(), serde_json::Value::String(to.clone()));
                }
                Action::AddTag { tag } => after.tags.push(tag.clone()),
                Action::Notify { .. } => {}
            }
        }
        save_if_changed(p, tx, &key, subject, &before, after, now)?;
        Ok(Some(planned))
    } else {
        let key = Conversation::storage_key(subject);
        let Some(before) = tx.get_json::<Conversation>(&key).await? else {
            return Ok(None);
        };
        let current = EscalationSubject {
            priority: before.priority,
            team: before.team.clone(),
            tags: before.labels.clone(),
        };
        let planned = plan_escalations(&settings.escalations, firings, &current);
        let mut after = before.clone();
        for a in &planned {
            match &a.action {
                Action::SetPriority { to, .. } => after.priority = *to,
                Action::AssignTeam { to, .. } => after.team = Some(to.clone()),
                Action::AddTag { tag } => after.labels.push(tag.clone()),
                Action::Notify { .. } => {}
            }
        }
        save_if_changed(p, tx, &key, subject, &before, after, now)?;
        Ok(Some(planned))
    }
}

pub(crate) fn save_if_changed<P: Platform, T: Versioned + PartialEq>(
    p: &P,
    tx: &mut Tx<'_, P>,
    key: &str,
    subject: &str,
    before: &T,
    mut after: T,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if *before == after {
        return Ok(());
    }
    let diff = crate::ctx::diff(before, &after);
    after.touch(now);
    tx.put_json(key.to_owned(), &after)?;
    record_event(
        p,
        tx,
        subject,
        &format!("{}.updated", T::KIND),
        sla_actor(),
        serde_json::json!({"changes": diff, "reason": "sla escalation"}),
    )
}

/// Re-evaluates every open subject of the tenant under the current settings: summaries and
/// wake-ups follow the change, and a subject whose policy in force changed gets an
/// `sla.recomputed` event naming the old and new policy. Returns how many were recomputed.
pub async fn recompute_open<P: Platform>(p: &P, tenant_id: &TenantId) -> Result<usize, ApiError> {
    let actor = tenant_actor(tenant_id);
    let current: SlaSettings = get_json(p, &actor, keys::tenant::SLA_SETTINGS)
        .await?
        .unwrap_or_default();
    let mut after = None;
    let mut done = 0;
    loop {
        let scan = Scan {
            prefix: keys::tenant::SLA_RECORDS.into(),
            after: after.clone(),
            limit: 200,
            reverse: false,
        };
        let rows = scan_json::<_, SlaRecord>(p, &actor, &scan).await?;
        let n = rows.len();
        for (key, row) in rows {
            after = Some(key.clone());
            if done >= MAX_RECOMPUTE {
                return Ok(done);
            }
            // Resolved subjects keep their final figures until they reopen.
            let resolved = current.config.is_resolved(&row.last.status);
            if resolved {
                continue;
            }
            let now = p.now();
            let wake = transact(p, &actor, async |tx| {
                let Some(mut record) = tx.get_json::<SlaRecord>(&key).await? else {
                    return Ok(Wake::default());
                };
                let settings = settings_in(tx).await?;
                let before = record.summary.policy_id.clone();
                let wake =
                    evaluate_into(tx, &settings.engine()?, settings.version, &mut record, now)
                        .await?;
                if record.summary.policy_id != before {
                    record_event(
                        p,
                        tx,
                        &record.subject_id,
                        "sla.recomputed",
                        sla_actor(),
                        serde_json::json!({"policy_id": {"from": before, "to": record.summary.policy_id},
                            "config_version": settings.version}),
                    )?;
                }
                tx.put_json(key.clone(), &record)?;
                Ok(wake)
            })
            .await?;
            schedule_wake(p, *tenant_id, wake).await?;
            done += 1;
        }
        if n < 200 {
            return Ok(done);
        }
    }
}
