//! SLA wiring: a tenant's business-hours calendars, SLA policies and escalation rules; the SLA
//! history kept beside every ticket and conversation; the timer job that acts on warnings and
//! breaches (`sla_escalations`), and the lists' SLA columns (`sla_lists`).
//!
//! The clocks themselves are the pure engine in `edgedesk_shared::sla`. This module keeps its
//! inputs durable and acts on its outputs:
//!
//! - `sla_config` (tenant actor) holds the [`SlaSettings`]: calendars, policies, escalation rules
//!   and the webhook target. Every change is validated as a whole, so a policy can never refer
//!   to a missing calendar, and open tickets and conversations are recomputed afterwards.
//! - `sla:<subject id>` holds a subject's [`SlaRecord`]: the facts last seen (to turn record
//!   changes into history events), the engine's clocks after the last event ([`SlaState`]), and
//!   a summary (state, earliest deadline) for list filters and sorting. The SLA event history
//!   itself (what the engine replays, and what `GET …/sla` shows) is append-only, one key per
//!   event: `slah:<subject id>:<n>`. A change therefore writes its new events and feeds them to
//!   the stored clocks, instead of decoding, replaying and re-encoding a history that grows with
//!   every message; the history is replayed only when the settings changed since the clocks
//!   were saved, or an event arrives out of time order. All of it is written in the same
//!   transaction as the ticket or conversation change it follows.
//! - The next warning or deadline is a `Job::Sla` in the scheduler ([`crate::alarms`]). When it
//!   runs, [`fire`] records each new crossing once (`fired` events), applies the escalation
//!   actions, records `sla.warning` / `sla.breached` in the subject's event history (which feeds
//!   the agents' realtime inbox) and queues signed webhooks (`crate::domain::webhooks`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alarms::{schedule, Job};
use crate::error::ApiError;
use crate::keys;
use crate::ports::{Platform, Scan, Storage};
use crate::records::Versioned;
use crate::settings::settings_in;
use crate::store::{transact, Tx};
use edgedesk_shared::ids::{ConversationId, TenantId};
use edgedesk_shared::model::{
    Actor, ActorKind, Attributes, Contact, Conversation, Message, SenderKind, Ticket,
};
use edgedesk_shared::sla::{
    SlaEngine, SlaEvent, SlaEventKind, SlaFacts, SlaReport, SlaState, StateError, SubjectKind,
    TargetState,
};

/// Longest a policy or calendar list may get: the whole configuration is one record.
pub(crate) const MAX_ITEMS: usize = 200;
/// Open subjects recomputed synchronously after a configuration change.
pub(crate) const MAX_RECOMPUTE: usize = 2_000;

/// The facts and status the history last recorded, to turn record changes into events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub facts: SlaFacts,
    pub status: String,
}

/// One subject's SLA clocks and summary; its history is under
/// [`keys::tenant::sla_history_event`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaRecord {
    pub subject_id: String,
    pub last: Snapshot,
    /// The start of the history in records written while it was kept inline; it no longer
    /// grows. The events after it are under [`keys::tenant::sla_history_event`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<SlaEvent>,
    /// How many events are stored under [`keys::tenant::sla_history_event`] (numbered from 0).
    #[serde(default)]
    pub events: u64,
    /// Whether the last event other than `fired` is a customer message (a run of them needs
    /// one entry). `None` in records from before it was kept: the inline history tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_waiting: Option<bool>,
    /// The engine's clocks after the last event, computed under settings `state_version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SlaState>,
    #[serde(default)]
    pub state_version: u64,
    /// Summary at the last evaluation (see [`Summary::state_at`]).
    pub summary: Summary,
    /// The wake-up last scheduled.
    pub wakeup: Option<DateTime<Utc>>,
}

/// What list views need without replaying the history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub state: Option<TargetState>,
    pub policy_id: Option<String>,
    /// Earliest deadline among open targets.
    pub due_at: Option<DateTime<Utc>>,
    /// Earliest upcoming warning among running targets.
    pub warning_at: Option<DateTime<Utc>>,
}

impl Summary {
    fn of(report: &SlaReport) -> Self {
        let warning_at = report
            .targets
            .iter()
            .filter(|t| t.is_open() && t.state == TargetState::Running)
            .filter_map(|t| t.warning_at)
            .min();
        Summary {
            state: report.state(),
            policy_id: report.policy_id.clone(),
            due_at: report.next_due_at(),
            warning_at,
        }
    }

    /// The state at `now`: clocks keep running between evaluations, so a stored `running`
    /// becomes `warning` or `breached` once its instants pass.
    pub fn state_at(&self, now: DateTime<Utc>) -> Option<TargetState> {
        self.state
            .map(|s| edgedesk_shared::sla::state_at(s, self.due_at, self.warning_at, now))
    }
}

/// How many history events one scan reads.
pub(crate) const HISTORY_PAGE: u64 = 500;

/// A subject's whole history outside a transaction: the inline start, then the stored events.
pub async fn load_history<S: Storage>(
    store: &S,
    actor: &str,
    record: &SlaRecord,
) -> Result<Vec<SlaEvent>, ApiError> {
    let mut history = record.history.clone();
    stored_events(store, actor, record, &mut history).await?;
    if history.len() != record.history.len() + event_count(record)? {
        // The record counts events that are not there: storage lost a write.
        return Err(ApiError::internal());
    }
    Ok(history)
}

/// A subject's whole history inside `tx`, including events this transaction has written.
pub(crate) async fn load_history_in<S: Storage>(
    tx: &mut Tx<'_, S>,
    record: &SlaRecord,
) -> Result<Vec<SlaEvent>, ApiError> {
    let mut history = record.history.clone();
    let (store, actor) = tx.unchecked();
    stored_events(store, actor, record, &mut history).await?;
    // Events this transaction appended are not in storage yet; the transaction holds them.
    let want = record.history.len() + event_count(record)?;
    while history.len() < want {
        let n =
            u64::try_from(history.len() - record.history.len()).map_err(ApiError::internal_from)?;
        let event = tx
            .get_json::<SlaEvent>(&keys::tenant::sla_history_event(&record.subject_id, n))
            .await?
            .ok_or_else(ApiError::internal)?;
        history.push(event);
    }
    Ok(history)
}

pub(crate) fn event_count(record: &SlaRecord) -> Result<usize, ApiError> {
    usize::try_from(record.events).map_err(ApiError::internal_from)
}

/// Appends the stored events of `record` to `out`, stopping at the first missing one. The
/// scan is not checked at commit: the history is append-only and every append rewrites the
/// record, whose read is checked, so the first `events` keys cannot change underneath.
pub(crate) async fn stored_events<S: Storage>(
    store: &S,
    actor: &str,
    record: &SlaRecord,
    out: &mut Vec<SlaEvent>,
) -> Result<(), ApiError> {
    let prefix = keys::tenant::sla_history(&record.subject_id);
    let mut after = None;
    let mut left = record.events;
    while left > 0 {
        let limit = left.min(HISTORY_PAGE);
        let scan = Scan {
            prefix: prefix.clone(),
            after: after.take(),
            limit: usize::try_from(limit).map_err(ApiError::internal_from)?,
            reverse: false,
        };
        let rows = store.scan(actor, &scan).await?;
        for (_, value) in &rows {
            out.push(edgedesk_json::from_slice(value)?);
        }
        let got = rows.len() as u64;
        match rows.into_iter().last() {
            Some((last, _)) if got == limit => after = Some(last),
            // Fewer than asked for: the rest is not in storage (yet).
            _ => return Ok(()),
        }
        left -= limit;
    }
    Ok(())
}

/// Makes `record.state` the clocks of its whole history under the current settings,
/// replaying the history when it is missing or was computed under other settings.
pub(crate) async fn ensure_state<S: Storage>(
    tx: &mut Tx<'_, S>,
    engine: &SlaEngine,
    version: u64,
    record: &mut SlaRecord,
) -> Result<(), ApiError> {
    if record.state.is_some() && record.state_version == version {
        return Ok(());
    }
    let history = load_history_in(tx, record).await?;
    record.state = Some(engine.state(&history).map_err(ApiError::internal_from)?);
    record.state_version = version;
    Ok(())
}

/// Appends `events` to the subject's history and feeds them to its clocks. An event the
/// clocks cannot take in order (a crossing recorded after later events) drops them; they are
/// rebuilt from the history, whose replay sorts.
pub(crate) async fn append_events<S: Storage>(
    tx: &mut Tx<'_, S>,
    engine: &SlaEngine,
    version: u64,
    record: &mut SlaRecord,
    events: Vec<SlaEvent>,
) -> Result<(), ApiError> {
    if record.state_version != version {
        record.state = None;
    }
    for event in events {
        tx.put_json(
            keys::tenant::sla_history_event(&record.subject_id, record.events),
            &event,
        )?;
        record.events += 1;
        if !matches!(event.kind, SlaEventKind::Fired { .. }) {
            record.customer_waiting = Some(event.kind == SlaEventKind::CustomerMessage);
        }
        if let Some(state) = record.state.as_mut() {
            if engine.apply(state, &event).is_err() {
                record.state = None;
            }
        }
    }
    ensure_state(tx, engine, version, record).await
}

/// A wake-up to schedule once the transaction that computed it has committed.
#[derive(Debug, Clone, Default)]
pub struct Wake(Option<(String, DateTime<Utc>)>);

impl Wake {
    pub fn merge(&mut self, other: Wake) {
        if other.0.is_some() {
            self.0 = other.0;
        }
    }
}

/// Schedules the wake-up (after commit). Scheduling twice is harmless: the job only acts on
/// crossings not yet recorded.
pub async fn schedule_wake<P: Platform>(
    p: &P,
    tenant_id: TenantId,
    wake: Wake,
) -> Result<(), ApiError> {
    if let Some((subject, at)) = wake.0 {
        let job = Job::Sla { tenant_id, subject };
        schedule(p, at, &job).await?;
    }
    Ok(())
}

/// The team of a ticket: tickets keep it in the custom field `team`.
pub fn ticket_team(t: &Ticket) -> Option<String> {
    t.custom_fields
        .get("team")
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub(crate) async fn contact_attributes<S: Storage>(
    tx: &mut Tx<'_, S>,
    id: Option<String>,
) -> Result<Attributes, ApiError> {
    let Some(id) = id else {
        return Ok(Attributes::new());
    };
    Ok(tx
        .get_json::<Contact>(&Contact::storage_key(&id))
        .await?
        .map(|c| c.attributes)
        .unwrap_or_default())
}

pub async fn ticket_snapshot<S: Storage>(
    tx: &mut Tx<'_, S>,
    t: &Ticket,
) -> Result<Snapshot, ApiError> {
    let contact = contact_attributes(tx, t.requester_id.map(|c| c.to_string())).await?;
    Ok(Snapshot {
        facts: SlaFacts {
            subject: SubjectKind::Ticket,
            priority: t.priority,
            channel: None,
            team: ticket_team(t),
            tags: t.tags.clone(),
            contact,
        },
        status: t.status.as_str().to_owned(),
    })
}

pub async fn conversation_snapshot<S: Storage>(
    tx: &mut Tx<'_, S>,
    c: &Conversation,
) -> Result<Snapshot, ApiError> {
    let contact = contact_attributes(tx, Some(c.contact_id.to_string())).await?;
    Ok(Snapshot {
        facts: SlaFacts {
            subject: SubjectKind::Conversation,
            priority: c.priority,
            channel: Some(c.channel),
            team: c.team.clone(),
            tags: c.labels.clone(),
            contact,
        },
        status: c.status.as_str().to_owned(),
    })
}

/// Events that turn `before` into `after`.
pub(crate) fn changes(before: &Snapshot, after: &Snapshot, at: DateTime<Utc>) -> Vec<SlaEvent> {
    let mut out = Vec::new();
    if before.status != after.status {
        out.push(SlaEvent::status(at, after.status.clone()));
    }
    if before.facts.priority != after.facts.priority {
        out.push(SlaEvent::priority(at, after.facts.priority));
    }
    if before.facts.team != after.facts.team {
        out.push(SlaEvent::new(
            at,
            SlaEventKind::TeamChanged {
                team: after.facts.team.clone(),
            },
        ));
    }
    let norm = |tags: &[String]| {
        let mut v: Vec<String> = tags.iter().map(|t| t.trim().to_lowercase()).collect();
        edgedesk_shared::sort::sort(&mut v);
        v.dedup();
        v
    };
    if norm(&before.facts.tags) != norm(&after.facts.tags) {
        out.push(SlaEvent::new(
            at,
            SlaEventKind::TagsChanged {
                tags: after.facts.tags.clone(),
            },
        ));
    }
    if before.facts.contact != after.facts.contact {
        out.push(SlaEvent::new(
            at,
            SlaEventKind::ContactChanged {
                attributes: after.facts.contact.clone(),
            },
        ));
    }
    out
}

/// Something a message did to the clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Customer,
    AgentReply,
}

/// Brings a subject's SLA history up to date inside the transaction that changes the subject:
/// creates it on first sight, appends the changes since the last snapshot and `message`, and
/// re-evaluates the summary. Returns the wake-up to schedule after commit.
pub async fn track<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    subject_id: &str,
    created_at: DateTime<Utc>,
    snapshot: Snapshot,
    message: Option<MessageKind>,
) -> Result<Wake, ApiError> {
    let now = p.now().max(created_at);
    let key = keys::tenant::sla_record(subject_id);
    let settings = settings_in(tx).await?;
    let engine = settings.engine()?;
    let (mut record, mut events) = match tx.get_json::<SlaRecord>(&key).await? {
        Some(mut r) => {
            let events = changes(&r.last, &snapshot, now);
            r.last = snapshot;
            (r, events)
        }
        None => {
            let created =
                SlaEvent::created(created_at, snapshot.facts.clone(), snapshot.status.clone());
            let state = engine
                .state(std::slice::from_ref(&created))
                .map_err(ApiError::internal_from)?;
            tx.put_json(keys::tenant::sla_history_event(subject_id, 0), &created)?;
            let record = SlaRecord {
                subject_id: subject_id.to_owned(),
                history: Vec::new(),
                events: 1,
                customer_waiting: Some(false),
                state: Some(state),
                state_version: settings.version,
                last: snapshot,
                summary: Summary::default(),
                wakeup: None,
            };
            (record, Vec::new())
        }
    };
    match message {
        Some(MessageKind::AgentReply) => events.push(SlaEvent::agent_reply(now)),
        Some(MessageKind::Customer) => {
            // Only the oldest unanswered message matters; a run of them needs one entry.
            let waiting = match events.last() {
                Some(e) => e.kind == SlaEventKind::CustomerMessage,
                None => record.customer_waiting.unwrap_or_else(|| {
                    record
                        .history
                        .iter()
                        .rev()
                        .find(|e| !matches!(e.kind, SlaEventKind::Fired { .. }))
                        .is_some_and(|e| e.kind == SlaEventKind::CustomerMessage)
                }),
            };
            if !waiting {
                events.push(SlaEvent::customer_message(now));
            }
        }
        None => {}
    }
    append_events(tx, &engine, settings.version, &mut record, events).await?;
    let wake = evaluate_into(tx, &engine, settings.version, &mut record, now).await?;
    tx.put_json(key, &record)?;
    Ok(wake)
}

/// Follows a conversation change or message into its SLA history. Runs after the change has
/// committed, as its own transaction: the SLA record is derived, so a retry completes it.
pub async fn track_conversation<P: Platform>(
    p: &P,
    tenant_actor: &str,
    id: &ConversationId,
    message: Option<&Message>,
) -> Result<(), ApiError> {
    let key = Conversation::storage_key(&id.to_string());
    let found = transact(p, tenant_actor, async |tx| {
        let Some(c) = tx.get_json::<Conversation>(&key).await? else {
            return Ok(None);
        };
        let wake = track_conversation_in(p, tx, &c, message).await?;
        Ok(Some((c.tenant_id, wake)))
    })
    .await?;
    if let Some((tenant_id, wake)) = found {
        schedule_wake(p, tenant_id, wake).await?;
    }
    Ok(())
}

/// The report, whether a crossing is unrecorded, and the next wake-up at `now`: from the
/// stored clocks, or from a replay of the history when `now` lies before their last event
/// (a clock that went back), which a replay answers by leaving later events out.
pub(crate) async fn assess<S: Storage>(
    tx: &mut Tx<'_, S>,
    engine: &SlaEngine,
    version: u64,
    record: &mut SlaRecord,
    now: DateTime<Utc>,
) -> Result<
    (
        SlaReport,
        Vec<edgedesk_shared::sla::Firing>,
        Option<DateTime<Utc>>,
    ),
    ApiError,
> {
    ensure_state(tx, engine, version, record).await?;
    let state = record.state.as_ref().ok_or_else(ApiError::internal)?;
    match engine.assess_state(state, now) {
        Ok(a) => Ok((a.report, a.unrecorded, a.next_wakeup)),
        Err(StateError::Behind { .. }) => {
            let history = load_history_in(tx, record).await?;
            let fail = |_| ApiError::internal();
            Ok((
                engine.evaluate(&history, now).map_err(fail)?,
                engine.unrecorded_firings(&history, now).map_err(fail)?,
                engine.next_wakeup(&history, now).map_err(fail)?,
            ))
        }
        Err(_) => Err(ApiError::internal()),
    }
}

/// [`track_conversation`] inside a transaction of the tenant actor that already holds the
/// conversation record `c` as it will be committed: the message's other tenant-side write
/// (last activity) and its SLA follow-up then commit together. Returns the wake-up to
/// schedule after commit.
pub async fn track_conversation_in<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    c: &Conversation,
    message: Option<&Message>,
) -> Result<Wake, ApiError> {
    let kind = message.and_then(|m| match (m.sender.kind, m.private) {
        (SenderKind::Contact, _) => Some(MessageKind::Customer),
        (SenderKind::Agent, false) => Some(MessageKind::AgentReply),
        _ => None,
    });
    let snapshot = conversation_snapshot(tx, c).await?;
    track(p, tx, &c.id.to_string(), c.created_at, snapshot, kind).await
}

/// Re-evaluates `record` at `now`: updates the summary and decides the next wake-up.
pub(crate) async fn evaluate_into<S: Storage>(
    tx: &mut Tx<'_, S>,
    engine: &SlaEngine,
    version: u64,
    record: &mut SlaRecord,
    now: DateTime<Utc>,
) -> Result<Wake, ApiError> {
    let (report, unrecorded, next_wakeup) = assess(tx, engine, version, record, now).await?;
    record.summary = Summary::of(&report);
    // A change can put a crossing at this very instant (a tighter policy); act on it now.
    let next = if unrecorded.is_empty() {
        next_wakeup
    } else {
        Some(now)
    };
    if next.is_some() && next != record.wakeup {
        record.wakeup = next;
        return Ok(Wake(next.map(|at| (record.subject_id.clone(), at))));
    }
    record.wakeup = next;
    Ok(Wake::default())
}

pub(crate) fn sla_actor() -> Actor {
    Actor {
        kind: ActorKind::System,
        id: Some("sla".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sla_lists::{by_due, due_cursor};
    use edgedesk_shared::model::Priority;
    use std::collections::BTreeMap;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    #[test]
    fn a_stored_running_state_turns_into_warning_then_breach_as_time_passes() {
        let s = Summary {
            state: Some(TargetState::Running),
            policy_id: Some("p".into()),
            due_at: Some(t("2024-05-13T14:00:00Z")),
            warning_at: Some(t("2024-05-13T13:48:00Z")),
        };
        assert_eq!(
            s.state_at(t("2024-05-13T13:00:00Z")),
            Some(TargetState::Running)
        );
        assert_eq!(
            s.state_at(t("2024-05-13T13:50:00Z")),
            Some(TargetState::Warning)
        );
        assert_eq!(
            s.state_at(t("2024-05-13T14:00:00Z")),
            Some(TargetState::Breached)
        );
    }

    #[test]
    fn record_changes_become_history_events() {
        let at = t("2024-05-13T13:00:00Z");
        let before = Snapshot {
            facts: SlaFacts::new(SubjectKind::Ticket),
            status: "new".into(),
        };
        let mut after = before.clone();
        after.status = "pending".into();
        after.facts.priority = Priority::Urgent;
        after.facts.tags = vec!["VIP".into()];
        let events = changes(&before, &after, at);
        assert_eq!(events.len(), 3);
        assert_eq!(events[0], SlaEvent::status(at, "pending"));
        assert_eq!(events[1], SlaEvent::priority(at, Priority::Urgent));
        // Tag case and order changes are no change.
        let mut same = after.clone();
        same.facts.tags = vec!["vip".into()];
        assert!(changes(&after, &same, at).is_empty());
    }

    #[test]
    fn sorting_by_due_resumes_after_the_cursor() {
        let mut m = BTreeMap::new();
        for (id, due) in [
            ("b", "2024-05-13T14:00:00Z"),
            ("a", "2024-05-13T15:00:00Z"),
            ("c", "2024-05-13T13:00:00Z"),
        ] {
            m.insert(
                id.to_string(),
                Summary {
                    due_at: Some(t(due)),
                    ..Summary::default()
                },
            );
        }
        m.insert("none".into(), Summary::default());
        let all = by_due(&m, None).expect("order");
        let ids: Vec<&str> = all.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "a"]);
        let cursor = due_cursor(all[0].0, &all[0].1);
        let rest = by_due(&m, Some(&cursor)).expect("order");
        assert_eq!(rest.len(), 2);
        assert!(by_due(&m, Some("garbage")).is_err());
    }
}
