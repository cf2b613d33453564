//! A timer fired: the scheduler's due jobs (a snoozed conversation waking up, an SLA warning or
//! deadline, a webhook delivery or its retry) run here, and what they change goes through the
//! same flows as a change made by a person.

use super::event::Event;
use crate::alarms::Job;
use crate::ctx::record_event;
use crate::domain::{automation_timer, sla_escalations, webhooks};
use crate::error::ApiError;
use crate::keys::{self, tenant_actor, SCHEDULER};
use crate::ports::{Expect, Platform, Scan, WriteBatch};
use crate::records::Versioned;
use crate::store::{scan_json, transact};
use edgedesk_shared::model::{Actor, ActorKind, Conversation, ConversationStatus};

/// Runs every job due at or before now. Returns how many ran.
pub async fn sweep<P: Platform>(p: &P) -> Result<usize, ApiError> {
    let now = p.now();
    let horizon = keys::scheduler::due_job(now, "~");
    let mut ran = 0;
    loop {
        let scan = Scan {
            prefix: keys::scheduler::DUE_JOBS.into(),
            after: None,
            limit: 100,
            reverse: false,
        };
        let due: Vec<(String, Job)> = scan_json(p, SCHEDULER, &scan)
            .await?
            .into_iter()
            .filter(|(k, _)| k.as_str() <= horizon.as_str())
            .collect();
        if due.is_empty() {
            break;
        }
        for (key, job) in due {
            let raw = serde_json::to_vec(&job)?;
            // Claim the entry: only the sweep whose delete succeeds runs the job.
            let claim = WriteBatch {
                checks: vec![(key.clone(), Expect::Equals(raw))],
                deletes: vec![key],
                ..WriteBatch::default()
            };
            match p.commit(SCHEDULER, claim).await {
                Ok(()) => {
                    run(p, &job).await?;
                    ran += 1;
                }
                Err(crate::ports::StorageError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
    if let Some((next, _)) = scan_json::<_, Job>(
        p,
        SCHEDULER,
        &Scan {
            prefix: keys::scheduler::DUE_JOBS.into(),
            after: None,
            limit: 1,
            reverse: false,
        },
    )
    .await?
    .into_iter()
    .next()
    {
        if let Some(at) = keys::scheduler::due_at(&next) {
            p.set_alarm(at).await?;
        }
    }
    Ok(ran)
}

async fn run<P: Platform>(p: &P, job: &Job) -> Result<(), ApiError> {
    match job {
        Job::Sla { tenant_id, subject } => {
            // Each crossing goes through the flows: automation rules, subscriptions.
            let tactor = tenant_actor(tenant_id);
            for crossing in sla_escalations::fire(p, tenant_id, subject).await? {
                let event = Event::SlaCrossed {
                    subject: crossing.subject,
                    level: crossing.level,
                    data: crossing.data,
                };
                super::dispatch::dispatch(p, &tactor, event).await?;
            }
            Ok(())
        }
        Job::Webhook {
            tenant_id,
            delivery,
        } => webhooks::deliver(p, tenant_id, delivery).await,
        Job::Mail {
            tenant_id,
            delivery,
        } => crate::domain::email::outbox::send(p, tenant_id, delivery).await,
        Job::MailDigest { tenant_id } => crate::domain::email::notices::digest(p, tenant_id).await,
        Job::PublicRecheck { tenant_id, until } => {
            crate::domain::public::recheck(p, tenant_id, *until).await
        }
        Job::AutomationTick { tenant_id } => {
            // What the rules did goes through the flows like any other change.
            let tactor = tenant_actor(tenant_id);
            let outcomes = automation_timer::tick(p, tenant_id).await?;
            for event in super::automation::appended(outcomes) {
                super::dispatch::dispatch(p, &tactor, event).await?;
            }
            Ok(())
        }
        Job::Unsnooze {
            tenant_id,
            conversation_id,
            until,
        } => {
            let key = Conversation::storage_key(&conversation_id.to_string());
            let now = p.now();
            let tactor = tenant_actor(tenant_id);
            let woken = transact(p, &tactor, async |tx| {
                let Some(mut c) = tx.get_json::<Conversation>(&key).await? else { return Ok(None) };
                if c.status != ConversationStatus::Snoozed || c.snoozed_until != Some(*until) {
                    return Ok(None);
                }
                let before = c.clone();
                c.status = ConversationStatus::Open;
                c.snoozed_until = None;
                c.touch(now);
                tx.put_json(key.clone(), &c)?;
                record_event(
                    p,
                    tx,
                    &c.id.to_string(),
                    "conversation.updated",
                    Actor { kind: ActorKind::System, id: Some("snooze".into()) },
                    serde_json::json!({"status": {"from": "snoozed", "to": "open"}, "reason": "snooze ended"}),
                )?;
                Ok(Some((before, c)))
            })
            .await?;
            match woken {
                // Open again: automation sees the status change, the SLA clocks resume.
                Some((before, after)) => {
                    let event = Event::ConversationChanged {
                        before: Box::new(before),
                        after: Box::new(after),
                        by_rule: false,
                    };
                    super::dispatch::dispatch(p, &tactor, event).await
                }
                None => Ok(()),
            }
        }
    }
}
