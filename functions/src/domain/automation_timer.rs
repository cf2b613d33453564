//! Time-based automation: rules `on: ["time_elapsed"]` ("pending for 48 hours", "no reply for
//! three days"). While a tenant has such a rule, an hourly `Job::AutomationTick` evaluates them
//! over its open conversations and tickets, with how long things have lasted as facts
//! (`elapsed.hours_since_update`, `elapsed.hours_since_last_message`,
//! `elapsed.hours_since_created`).
//!
//! A rule fires once per state of its subject: after time rules fire on a subject, the
//! subject's `updated_at` is recorded (`automation:timed:<id>`), and time rules look at it again
//! only once it has changed since. So "pending for 48 hours → add a label" labels once, not
//! every hour; the engine's loop guard still bounds what the actions cause.

use chrono::{DateTime, Duration, Utc};

use crate::alarms::{schedule, Job};
use crate::domain::automation::{run_counted, Outcome};
use crate::error::ApiError;
use crate::keys::{self, tenant_actor};
use crate::ports::{Platform, Scan};
use crate::records::Versioned;
use crate::store::{get_json, scan_json, transact};
use edgedesk_shared::ids::TenantId;
use edgedesk_shared::model::{Conversation, ConversationStatus, Ticket, TicketStatus};
use edgedesk_shared::routing::{AutomationEvent, AutomationRule, EventKind, Subject};

/// How often time rules are evaluated.
const TICK_EVERY: Duration = Duration::hours(1);
/// Subjects of each kind looked at per tick, newest first.
const MAX_SUBJECTS: usize = 1_000;

async fn has_time_rules<P: Platform>(p: &P, tactor: &str) -> Result<bool, ApiError> {
    let rules: Vec<AutomationRule> = get_json(p, tactor, keys::tenant::AUTOMATION_RULES)
        .await?
        .unwrap_or_default();
    Ok(rules
        .iter()
        .any(|r| r.enabled && r.on.contains(&EventKind::TimeElapsed)))
}

/// Schedules the next tick if the tenant has time rules and none is pending (called when rules
/// change, and by each tick for the next one).
pub async fn schedule_tick<P: Platform>(p: &P, tenant: &TenantId) -> Result<(), ApiError> {
    let tactor = tenant_actor(tenant);
    if !has_time_rules(p, &tactor).await? {
        return Ok(());
    }
    let now = p.now();
    let at = now + TICK_EVERY;
    let claimed = transact(p, &tactor, async |tx| {
        if let Some(due) = tx
            .get_json::<DateTime<Utc>>(keys::tenant::AUTOMATION_TICK)
            .await?
        {
            if due > now {
                return Ok(false);
            }
        }
        tx.put_json(keys::tenant::AUTOMATION_TICK, &at)?;
        Ok(true)
    })
    .await?;
    if claimed {
        schedule(p, at, &Job::AutomationTick { tenant_id: *tenant }).await?;
    }
    Ok(())
}

fn hours(since: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    ((now - since).num_minutes().max(0) as f64 / 60.0 * 100.0).round() / 100.0
}

/// The `Job::AutomationTick` work: time rules over the tenant's open conversations and
/// tickets. Answers what the rules did that the flows follow up.
pub async fn tick<P: Platform>(p: &P, tenant: &TenantId) -> Result<Vec<Outcome>, ApiError> {
    let tactor = tenant_actor(tenant);
    transact(p, &tactor, async |tx| {
        tx.delete(keys::tenant::AUTOMATION_TICK);
        Ok(())
    })
    .await?;
    if !has_time_rules(p, &tactor).await? {
        return Ok(Vec::new());
    }
    let now = p.now();
    let mut appended = Vec::new();
    let conversations =
        scan_json::<_, Conversation>(p, &tactor, &prefix_scan(keys::tenant::CONVERSATIONS))
            .await?
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| c.status != ConversationStatus::Resolved);
    for c in conversations {
        let last = c.last_message_at.unwrap_or(c.created_at);
        let elapsed = serde_json::json!({
            "hours_since_update": hours(c.updated_at, now),
            "hours_since_last_message": hours(last, now),
            "hours_since_created": hours(c.created_at, now),
        });
        let subject = Subject::Conversation(c.id);
        let id = c.id.to_string();
        appended.extend(evaluate(p, &tactor, subject, &id, c.updated_at, elapsed).await?);
    }
    let tickets = scan_json::<_, Ticket>(p, &tactor, &prefix_scan(keys::tenant::TICKETS))
        .await?
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| !matches!(t.status, TicketStatus::Solved | TicketStatus::Closed));
    for t in tickets {
        let elapsed = serde_json::json!({
            "hours_since_update": hours(t.updated_at, now),
            "hours_since_created": hours(t.created_at, now),
        });
        let subject = Subject::Ticket(t.id);
        let id = t.id.to_string();
        appended.extend(evaluate(p, &tactor, subject, &id, t.updated_at, elapsed).await?);
    }
    schedule_tick(p, tenant).await?;
    Ok(appended)
}

fn prefix_scan(prefix: &str) -> Scan {
    Scan {
        prefix: prefix.into(),
        after: None,
        limit: MAX_SUBJECTS,
        reverse: true,
    }
}

/// Time rules on one subject, unless they already fired on it as it is now.
async fn evaluate<P: Platform>(
    p: &P,
    tactor: &str,
    subject: Subject,
    id: &str,
    updated_at: DateTime<Utc>,
    elapsed: serde_json::Value,
) -> Result<Vec<Outcome>, ApiError> {
    let marker = keys::tenant::automation_timed(id);
    if get_json::<_, DateTime<Utc>>(p, tactor, &marker).await? == Some(updated_at) {
        return Ok(Vec::new());
    }
    let event = AutomationEvent::new(EventKind::TimeElapsed, subject, p.now());
    let (appended, fired) = run_counted(p, tactor, event, vec![("elapsed", elapsed)]).await?;
    if fired == 0 {
        return Ok(appended);
    }
    // The subject as the rules left it: they fire again only once something changes it.
    let now_updated = match subject {
        Subject::Conversation(c) => {
            let key = Conversation::storage_key(&c.to_string());
            get_json::<_, Conversation>(p, tactor, &key)
                .await?
                .map(|c| c.updated_at)
        }
        Subject::Ticket(t) => {
            let key = Ticket::storage_key(&t.to_string());
            get_json::<_, Ticket>(p, tactor, &key)
                .await?
                .map(|t| t.updated_at)
        }
    };
    if let Some(at) = now_updated {
        transact(p, tactor, async |tx| tx.put_json(marker.clone(), &at)).await?;
    }
    Ok(appended)
}
