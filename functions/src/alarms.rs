//! Timers: work due at an instant (a snoozed conversation waking up, an SLA warning or
//! deadline, a webhook delivery or its retry).
//!
//! Due work is stored as `due:<ms>:<job id>` records in the scheduler actor, so it survives
//! restarts, and [`sweep`] runs every entry whose time has come. Deleting the entry and doing the
//! work are separate commits, but the delete is checked and every job is idempotent, so an entry
//! fires once even if two sweeps overlap or a host restarts mid-sweep. The [`Alarms`] port asks
//! the runtime to run a sweep at the next due time (a Durable Object alarm on Cloudflare); hosts
//! without alarms sweep on a short interval or from a scheduled call to `POST /v1/system/sweep`.
//!
//! [`Alarms`]: crate::ports::Alarms

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ctx::{id_parts, record_event};
use crate::error::ApiError;
use crate::ports::{Expect, Platform, Scan, WriteBatch};
use crate::records::Versioned;
use crate::store::{scan_json, tenant_actor, transact};
use edgedesk_shared::ids::{ConversationId, TenantId};
use edgedesk_shared::model::{Actor, ActorKind, Conversation, ConversationStatus};

/// The scheduler's storage actor.
pub const SCHEDULER: &str = "s";

/// Work to do at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Reopen a conversation snoozed until `until`, unless it was changed since.
    Unsnooze {
        tenant_id: TenantId,
        conversation_id: ConversationId,
        until: DateTime<Utc>,
    },
    /// Act on the SLA warnings and breaches of a ticket or conversation that are due.
    Sla {
        tenant_id: TenantId,
        /// The ticket or conversation id.
        subject: String,
    },
    /// Try to send a webhook from the outbox.
    Webhook {
        tenant_id: TenantId,
        delivery: String,
    },
}

fn due_key(at: DateTime<Utc>, id: &str) -> String {
    format!("due:{:015}:{id}", at.timestamp_millis().max(0))
}

/// Stores `job` to run at `at` and asks the runtime for a wake-up.
pub async fn schedule<P: Platform>(p: &P, at: DateTime<Utc>, job: &Job) -> Result<(), ApiError> {
    let (ms, r) = id_parts(p);
    let key = due_key(at, &format!("{ms:x}{r:x}"));
    transact(p, SCHEDULER, async |tx| tx.put_json(key.clone(), job)).await?;
    p.set_alarm(at).await?;
    Ok(())
}

/// Runs every job due at or before now. Returns how many ran.
pub async fn sweep<P: Platform>(p: &P) -> Result<usize, ApiError> {
    let now = p.now();
    let horizon = due_key(now, "~");
    let mut ran = 0;
    loop {
        let scan = Scan {
            prefix: "due:".into(),
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
                puts: Vec::new(),
                deletes: vec![key],
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
            prefix: "due:".into(),
            after: None,
            limit: 1,
            reverse: false,
        },
    )
    .await?
    .into_iter()
    .next()
    {
        if let Some(at) = next
            .get(4..19)
            .and_then(|ms| ms.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis)
        {
            p.set_alarm(at).await?;
        }
    }
    Ok(ran)
}

async fn run<P: Platform>(p: &P, job: &Job) -> Result<(), ApiError> {
    match job {
        Job::Sla { tenant_id, subject } => crate::handlers::sla::fire(p, tenant_id, subject).await,
        Job::Webhook {
            tenant_id,
            delivery,
        } => crate::webhooks::deliver(p, tenant_id, delivery).await,
        Job::Unsnooze {
            tenant_id,
            conversation_id,
            until,
        } => {
            let key = Conversation::storage_key(&conversation_id.to_string());
            let now = p.now();
            transact(p, &tenant_actor(tenant_id), async |tx| {
                let Some(mut c) = tx.get_json::<Conversation>(&key).await? else { return Ok(()) };
                if c.status != ConversationStatus::Snoozed || c.snoozed_until != Some(*until) {
                    return Ok(());
                }
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
                )
            })
            .await
        }
    }
}
