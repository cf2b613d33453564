//! SLA wiring: a tenant's business-hours calendars, SLA policies and escalation rules; the SLA
//! history kept beside every ticket and conversation; the timer job that acts on warnings and
//! breaches.
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
//!   the agents' realtime inbox) and queues signed webhooks ([`crate::webhooks`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::alarms::{schedule, Job};
use crate::ctx::{record_event, Ctx};
use crate::error::ApiError;
use crate::http::{body, json, json_versioned, path_id, Request, Response};
use crate::ports::{Platform, Scan, Storage};
use crate::records::Versioned;
use crate::store::{get_json, scan_json, tenant_actor, transact, Tx};
use edgedesk_shared::ids::{ConversationId, TenantId, TicketId};
use edgedesk_shared::model::{
    Actor, ActorKind, Attributes, Contact, Conversation, Message, SenderKind, Ticket,
};
use edgedesk_shared::rbac::Permission;
use edgedesk_shared::sla::escalation::Audience;
use edgedesk_shared::sla::{
    plan_escalations, validate_rules, Action, Calendar, EscalationRule, EscalationSubject,
    FiringLevel, SlaConfig, SlaEngine, SlaEvent, SlaEventKind, SlaFacts, SlaPolicy, SlaReport,
    SlaState, StateError, SubjectKind, TargetKind, TargetState,
};

/// Storage key of the tenant's SLA settings.
pub const CONFIG_KEY: &str = "sla_config";
/// Longest a policy or calendar list may get: the whole configuration is one record.
const MAX_ITEMS: usize = 200;
/// Open subjects recomputed synchronously after a configuration change.
const MAX_RECOMPUTE: usize = 2_000;

/// Where signed SLA webhooks go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookTarget {
    pub url: String,
    /// HMAC secret the receiver verifies `X-EdgeDesk-Signature` with.
    pub secret: String,
    pub updated_at: DateTime<Utc>,
}

/// A tenant's SLA configuration, stored as one record so it is validated as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SlaSettings {
    #[serde(default)]
    pub config: SlaConfig,
    #[serde(default)]
    pub escalations: Vec<EscalationRule>,
    #[serde(default)]
    pub webhook: Option<WebhookTarget>,
    /// Increases on every change; recorded with each recomputation.
    #[serde(default)]
    pub version: u64,
}

impl SlaSettings {
    fn engine(&self) -> Result<SlaEngine, ApiError> {
        // Stored settings were validated when written; failing now is a server fault.
        SlaEngine::new(self.config.clone()).map_err(|_| ApiError::internal())
    }

    fn validate(&self) -> Result<SlaEngine, ApiError> {
        let engine = SlaEngine::new(self.config.clone()).map_err(|e| invalid(e.to_string()))?;
        validate_rules(&self.escalations, &self.config).map_err(|e| invalid(e.to_string()))?;
        Ok(engine)
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        message,
    )
}

/// The facts and status the history last recorded, to turn record changes into events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub facts: SlaFacts,
    pub status: String,
}

/// One subject's SLA clocks and summary; its history is under [`history_key`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaRecord {
    pub subject_id: String,
    pub last: Snapshot,
    /// The start of the history in records written while it was kept inline; it no longer
    /// grows. The events after it are under [`history_key`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<SlaEvent>,
    /// How many events are stored under [`history_key`] (numbered from 0).
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

pub fn record_key(subject_id: &str) -> String {
    format!("sla:{subject_id}")
}

/// Storage key of the `n`-th event (from 0) of a subject's history; zero-padded so keys sort
/// in event order. The prefix `slah:` keeps them out of scans of `sla:` records.
pub fn history_key(subject_id: &str, n: u64) -> String {
    format!("slah:{subject_id}:{n:010}")
}

/// How many history events one scan reads.
const HISTORY_PAGE: u64 = 500;

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
async fn load_history_in<S: Storage>(
    tx: &mut Tx<'_, S>,
    record: &SlaRecord,
) -> Result<Vec<SlaEvent>, ApiError> {
    let mut history = record.history.clone();
    let (store, actor) = tx.unchecked();
    stored_events(store, actor, record, &mut history).await?;
    // Events this transaction appended are not in storage yet; the transaction holds them.
    let want = record.history.len() + event_count(record)?;
    while history.len() < want {
        let n = u64::try_from(history.len() - record.history.len())
            .map_err(|_| ApiError::internal())?;
        let event = tx
            .get_json::<SlaEvent>(&history_key(&record.subject_id, n))
            .await?
            .ok_or_else(ApiError::internal)?;
        history.push(event);
    }
    Ok(history)
}

fn event_count(record: &SlaRecord) -> Result<usize, ApiError> {
    usize::try_from(record.events).map_err(|_| ApiError::internal())
}

/// Appends the stored events of `record` to `out`, stopping at the first missing one. The
/// scan is not checked at commit: the history is append-only and every append rewrites the
/// record, whose read is checked, so the first `events` keys cannot change underneath.
async fn stored_events<S: Storage>(
    store: &S,
    actor: &str,
    record: &SlaRecord,
    out: &mut Vec<SlaEvent>,
) -> Result<(), ApiError> {
    let prefix = format!("slah:{}:", record.subject_id);
    let mut after = None;
    let mut left = record.events;
    while left > 0 {
        let limit = left.min(HISTORY_PAGE);
        let scan = Scan {
            prefix: prefix.clone(),
            after: after.take(),
            limit: usize::try_from(limit).map_err(|_| ApiError::internal())?,
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
async fn ensure_state<S: Storage>(
    tx: &mut Tx<'_, S>,
    engine: &SlaEngine,
    version: u64,
    record: &mut SlaRecord,
) -> Result<(), ApiError> {
    if record.state.is_some() && record.state_version == version {
        return Ok(());
    }
    let history = load_history_in(tx, record).await?;
    record.state = Some(engine.state(&history).map_err(|_| ApiError::internal())?);
    record.state_version = version;
    Ok(())
}

/// Appends `events` to the subject's history and feeds them to its clocks. An event the
/// clocks cannot take in order (a crossing recorded after later events) drops them; they are
/// rebuilt from the history, whose replay sorts.
async fn append_events<S: Storage>(
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
        tx.put_json(history_key(&record.subject_id, record.events), &event)?;
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

/// Reads the tenant's settings inside a transaction (so a concurrent change conflicts).
pub async fn settings_in<S: Storage>(tx: &mut Tx<'_, S>) -> Result<SlaSettings, ApiError> {
    Ok(tx.get_json(CONFIG_KEY).await?.unwrap_or_default())
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

async fn contact_attributes<S: Storage>(
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
fn changes(before: &Snapshot, after: &Snapshot, at: DateTime<Utc>) -> Vec<SlaEvent> {
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
    let key = record_key(subject_id);
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
                .map_err(|_| ApiError::internal())?;
            tx.put_json(history_key(subject_id, 0), &created)?;
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
async fn assess<S: Storage>(
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
async fn evaluate_into<S: Storage>(
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

fn sla_actor() -> Actor {
    Actor {
        kind: ActorKind::System,
        id: Some("sla".into()),
    }
}

/// The `Job::Sla` timer: acts on every crossing not yet recorded for `subject`.
pub async fn fire<P: Platform>(p: &P, tenant_id: &TenantId, subject: &str) -> Result<(), ApiError> {
    let actor = tenant_actor(tenant_id);
    let now = p.now();
    let (wake, deliveries) = transact(p, &actor, async |tx| {
        let key = record_key(subject);
        let Some(mut record) = tx.get_json::<SlaRecord>(&key).await? else {
            return Ok((Wake::default(), Vec::new()));
        };
        let settings = settings_in(tx).await?;
        let engine = settings.engine()?;
        let (_, firings, _) = assess(tx, &engine, settings.version, &mut record, now).await?;
        let mut deliveries = Vec::new();
        if !firings.is_empty() {
            let planned = match apply_escalations(p, tx, subject, &settings, &firings).await? {
                Some(planned) => planned,
                // The subject is gone: nothing to escalate or time any more.
                None => {
                    tx.delete(key.clone());
                    for n in 0..record.events {
                        tx.delete(history_key(subject, n));
                    }
                    return Ok((Wake::default(), Vec::new()));
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
                    let id = crate::webhooks::enqueue(p, tx, tenant_id, target, kind, subject, payload)?;
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
        Ok((wake, deliveries))
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
    Ok(())
}

async fn current_snapshot<P: Platform>(
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
async fn apply_escalations<P: Platform>(
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

fn save_if_changed<P: Platform, T: Versioned + PartialEq>(
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

// ---- configuration routes ------------------------------------------------------------

/// Which list of the settings a route edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Calendars,
    Policies,
    Escalations,
}

impl Section {
    fn what(self) -> &'static str {
        match self {
            Section::Calendars => "calendar",
            Section::Policies => "policy",
            Section::Escalations => "escalation rule",
        }
    }

    fn items(self, s: &SlaSettings) -> Result<Vec<serde_json::Value>, ApiError> {
        Ok(match self {
            Section::Calendars => crate::http::to_value(&s.config.calendars)?,
            Section::Policies => crate::http::to_value(&s.config.policies)?,
            Section::Escalations => crate::http::to_value(&s.escalations)?,
        }
        .as_array()
        .cloned()
        .unwrap_or_default())
    }

    fn find(self, s: &SlaSettings, id: &str) -> Option<usize> {
        match self {
            Section::Calendars => s.config.calendars.iter().position(|c| c.id == id),
            Section::Policies => s.config.policies.iter().position(|c| c.id == id),
            Section::Escalations => s.escalations.iter().position(|c| c.id == id),
        }
    }

    fn len(self, s: &SlaSettings) -> usize {
        match self {
            Section::Calendars => s.config.calendars.len(),
            Section::Policies => s.config.policies.len(),
            Section::Escalations => s.escalations.len(),
        }
    }

    /// Puts `item` (parsed from JSON) at `at`, or appends it.
    fn put(
        self,
        s: &mut SlaSettings,
        item: serde_json::Value,
        at: Option<usize>,
    ) -> Result<String, ApiError> {
        fn set<T>(list: &mut Vec<T>, item: T, at: Option<usize>) {
            match at {
                Some(i) => list[i] = item,
                None => list.push(item),
            }
        }
        let bad = |e: serde_json::Error| ApiError::bad_request("invalid_body", e.to_string());
        Ok(match self {
            Section::Calendars => {
                let c: Calendar = crate::http::from_value(&item).map_err(bad)?;
                let id = c.id.clone();
                set(&mut s.config.calendars, c, at);
                id
            }
            Section::Policies => {
                let c: SlaPolicy = crate::http::from_value(&item).map_err(bad)?;
                let id = c.id.clone();
                set(&mut s.config.policies, c, at);
                id
            }
            Section::Escalations => {
                let c: EscalationRule = crate::http::from_value(&item).map_err(bad)?;
                let id = c.id.clone();
                set(&mut s.escalations, c, at);
                id
            }
        })
    }

    fn remove(self, s: &mut SlaSettings, at: usize) {
        match self {
            Section::Calendars => drop(s.config.calendars.remove(at)),
            Section::Policies => drop(s.config.policies.remove(at)),
            Section::Escalations => drop(s.escalations.remove(at)),
        }
    }
}

/// `GET /v1/sla/{section}`.
pub async fn list_items<P: Platform>(
    ctx: &Ctx<'_, P>,
    section: Section,
) -> Result<Response, ApiError> {
    let s: SlaSettings = get_json(ctx.p, &ctx.actor, CONFIG_KEY)
        .await?
        .unwrap_or_default();
    json(
        StatusCode::OK,
        &serde_json::json!({"data": section.items(&s)?, "version": s.version}),
    )
}

/// `GET /v1/sla/{section}/{id}`.
pub async fn get_item<P: Platform>(
    ctx: &Ctx<'_, P>,
    section: Section,
    id: &str,
) -> Result<Response, ApiError> {
    let s: SlaSettings = get_json(ctx.p, &ctx.actor, CONFIG_KEY)
        .await?
        .unwrap_or_default();
    let i = section
        .find(&s, id)
        .ok_or_else(|| ApiError::not_found(section.what()))?;
    json_versioned(StatusCode::OK, &section.items(&s)?[i], s.version)
}

/// What a configuration change does to one item.
enum Edit {
    Create(serde_json::Value),
    Replace(String, serde_json::Value),
    Delete(String),
}

/// `POST /v1/sla/{section}` (201), `PUT /v1/sla/{section}/{id}`, `DELETE /v1/sla/{section}/{id}`.
pub async fn edit_item<P: Platform>(
    ctx: &Ctx<'_, P>,
    section: Section,
    id: Option<&str>,
    req: &Request,
) -> Result<Response, ApiError> {
    let edit = match (req.method().clone(), id) {
        (http::Method::POST, None) => Edit::Create(body(req)?),
        (http::Method::PUT, Some(id)) => {
            let mut item: serde_json::Value = body(req)?;
            if let Some(obj) = item.as_object_mut() {
                match obj.get("id") {
                    None => drop(obj.insert("id".into(), id.into())),
                    Some(v) if v.as_str() == Some(id) => {}
                    Some(_) => {
                        return Err(invalid("id: must match the id in the path".into()));
                    }
                }
            }
            Edit::Replace(id.to_owned(), item)
        }
        (http::Method::DELETE, Some(id)) => Edit::Delete(id.to_owned()),
        _ => {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            ))
        }
    };
    let expected = crate::http::if_match(req.headers())?;
    let (settings, item_id, created) = transact(ctx.p, &ctx.actor, async |tx| {
        let mut s = settings_in(tx).await?;
        crate::http::check_version(expected, s.version)?;
        let (item_id, created) = match &edit {
            Edit::Create(item) => {
                if section.len(&s) >= MAX_ITEMS {
                    return Err(invalid(format!("at most {MAX_ITEMS} items")));
                }
                let id = section.put(&mut s, item.clone(), None)?;
                if section.find(&s, &id) != Some(section.len(&s) - 1) {
                    return Err(ApiError::conflict(
                        "already_exists",
                        format!("a {} with the id `{id}` exists", section.what()),
                    ));
                }
                (id, true)
            }
            Edit::Replace(id, item) => {
                let at = section
                    .find(&s, id)
                    .ok_or_else(|| ApiError::not_found(section.what()))?;
                section.put(&mut s, item.clone(), Some(at))?;
                (id.clone(), false)
            }
            Edit::Delete(id) => {
                let at = section
                    .find(&s, id)
                    .ok_or_else(|| ApiError::not_found(section.what()))?;
                section.remove(&mut s, at);
                (id.clone(), false)
            }
        };
        s.validate()?;
        s.version += 1;
        tx.put_json(CONFIG_KEY, &s)?;
        record_event(
            ctx.p,
            tx,
            "sla_config",
            "sla.config_changed",
            ctx.actor_ref(),
            serde_json::json!({"section": section.what(), "id": item_id, "version": s.version,
                "change": match &edit { Edit::Create(_) => "created", Edit::Replace(..) => "replaced", Edit::Delete(_) => "deleted" }}),
        )?;
        Ok((s, item_id, created))
    })
    .await?;
    let recomputed = if section == Section::Escalations {
        0
    } else {
        recompute_open(ctx.p, &ctx.tenant_id).await?
    };
    let item = section
        .find(&settings, &item_id)
        .map(|i| section.items(&settings).map(|v| v[i].clone()))
        .transpose()?;
    match item {
        Some(mut item) => {
            if let Some(o) = item.as_object_mut() {
                o.insert("recomputed".into(), recomputed.into());
            }
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            json_versioned(status, &item, settings.version)
        }
        None => Ok(crate::http::no_content()),
    }
}

/// Re-evaluates every open subject of the tenant under the current settings: summaries and
/// wake-ups follow the change, and a subject whose policy in force changed gets an
/// `sla.recomputed` event naming the old and new policy. Returns how many were recomputed.
pub async fn recompute_open<P: Platform>(p: &P, tenant_id: &TenantId) -> Result<usize, ApiError> {
    let actor = tenant_actor(tenant_id);
    let current: SlaSettings = get_json(p, &actor, CONFIG_KEY).await?.unwrap_or_default();
    let mut after = None;
    let mut done = 0;
    loop {
        let scan = Scan {
            prefix: "sla:".into(),
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

// ---- SLA of one subject --------------------------------------------------------------

/// `GET /v1/tickets/{id}/sla` and `GET /v1/conversations/{id}/sla`: the engine's report at now
/// (due times, remaining time, state and breach time per target, which policy applied when)
/// and the history it was computed from.
pub async fn subject_sla<P: Platform>(
    ctx: &Ctx<'_, P>,
    kind: SubjectKind,
    raw_id: &str,
) -> Result<Response, ApiError> {
    ctx.require(Permission::Read)?;
    let id = match kind {
        SubjectKind::Ticket => path_id::<TicketId>(raw_id, "ticket")?.to_string(),
        SubjectKind::Conversation => path_id::<ConversationId>(raw_id, "conversation")?.to_string(),
    };
    let exists = match kind {
        SubjectKind::Ticket => ctx.p.get(&ctx.actor, &Ticket::storage_key(&id)).await?,
        SubjectKind::Conversation => {
            ctx.p
                .get(&ctx.actor, &Conversation::storage_key(&id))
                .await?
        }
    };
    if exists.is_none() {
        return Err(ApiError::not_found(match kind {
            SubjectKind::Ticket => "ticket",
            SubjectKind::Conversation => "conversation",
        }));
    }
    let now = ctx.now();
    let record: Option<SlaRecord> = get_json(ctx.p, &ctx.actor, &record_key(&id)).await?;
    let settings: SlaSettings = get_json(ctx.p, &ctx.actor, CONFIG_KEY)
        .await?
        .unwrap_or_default();
    let Some(record) = record else {
        return json(
            StatusCode::OK,
            &serde_json::json!({"subject_id": id, "at": now, "state": null, "policy_id": null,
                "due_at": null, "policy_spans": [], "targets": [], "history": []}),
        );
    };
    let history = load_history(ctx.p, &ctx.actor, &record).await?;
    let report = settings
        .engine()?
        .evaluate(&history, now)
        .map_err(|_| ApiError::internal())?;
    json(
        StatusCode::OK,
        &serde_json::json!({
            "subject_id": id,
            "at": report.at,
            "state": report.state(),
            "policy_id": report.policy_id,
            "due_at": report.next_due_at(),
            "policy_spans": report.policy_spans,
            "targets": report.targets,
            "history": history,
        }),
    )
}

/// `GET /v1/tickets/{id}/sla`.
#[utoipa::path(get, path = "/v1/tickets/{id}/sla", tag = "sla", params(("id" = String, Path)),
    responses((status = 200, description = "`{subject_id, at, state, policy_id, due_at, policy_spans, targets, history}`"), (status = 404)))]
pub async fn ticket_sla<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    subject_sla(ctx, SubjectKind::Ticket, id).await
}

/// `GET /v1/conversations/{id}/sla`.
#[utoipa::path(get, path = "/v1/conversations/{id}/sla", tag = "sla", params(("id" = String, Path)),
    responses((status = 200, description = "as for tickets"), (status = 404)))]
pub async fn conversation_sla<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
) -> Result<Response, ApiError> {
    subject_sla(ctx, SubjectKind::Conversation, id).await
}

// ---- SLA of list rows ------------------------------------------------------------------

/// The policy a row's clock runs under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub id: String,
    pub name: String,
}

/// The `sla` field of each item of `GET /v1/tickets` and `GET /v1/conversations`: the most
/// urgent target now, so a list shows every row's clock without one `/sla` request per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowSla {
    pub state: TargetState,
    pub target: TargetKind,
    /// The deadline of an open target; `null` while paused or once completed.
    pub due_at: Option<DateTime<Utc>>,
    pub warning_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
    pub policy: Option<PolicyRef>,
}

/// The row clock of a report: among open targets the most severe, the earliest deadline
/// breaking ties; once nothing is open, the last breached target if any breached, else the
/// last target. `None` when no target ever applied.
pub fn row_sla(report: &SlaReport, config: &SlaConfig) -> Option<RowSla> {
    let pick = edgedesk_shared::sla::row_target(&report.targets)?;
    let policy = pick
        .policy_id
        .as_ref()
        .or(report.policy_id.as_ref())
        .map(|id| PolicyRef {
            id: id.clone(),
            name: config
                .policies
                .iter()
                .find(|p| &p.id == id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
        });
    Some(RowSla {
        state: pick.state,
        target: pick.target,
        due_at: if pick.is_open() { pick.due_at } else { None },
        warning_at: if pick.is_open() {
            pick.warning_at
        } else {
            None
        },
        breached_at: pick.breached_at,
        policy,
    })
}

/// A list page whose items carry their [`RowSla`] (or `null`) as `sla`, evaluated now with the
/// same engine as `GET .../sla`, from each subject's stored clocks (its history only when the
/// settings changed since). One storage read per row, none per row over HTTP.
pub async fn page_with_sla<P: Platform, T: Serialize>(
    ctx: &Ctx<'_, P>,
    page: crate::ctx::Page<T>,
    id_of: impl Fn(&T) -> String,
) -> Result<serde_json::Value, ApiError> {
    let settings: SlaSettings = get_json(ctx.p, &ctx.actor, CONFIG_KEY)
        .await?
        .unwrap_or_default();
    let now = ctx.now();
    let mut engine = None;
    let mut data = Vec::with_capacity(page.data.len());
    for item in &page.data {
        let record: Option<SlaRecord> =
            get_json(ctx.p, &ctx.actor, &record_key(&id_of(item))).await?;
        let sla = match record {
            None => None,
            Some(r) => {
                if engine.is_none() {
                    engine = Some(settings.engine()?);
                }
                let engine = engine.as_ref().ok_or_else(ApiError::internal)?;
                let from_state = r
                    .state
                    .as_ref()
                    .filter(|_| r.state_version == settings.version)
                    .and_then(|state| engine.evaluate_state(state, now).ok());
                let report = match from_state {
                    Some(report) => report,
                    None => {
                        let history = load_history(ctx.p, &ctx.actor, &r).await?;
                        engine
                            .evaluate(&history, now)
                            .map_err(|_| ApiError::internal())?
                    }
                };
                row_sla(&report, &settings.config)
            }
        };
        let mut value = crate::http::to_value(item).map_err(|_| ApiError::internal())?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert(
                "sla".to_owned(),
                crate::http::to_value(&sla).map_err(|_| ApiError::internal())?,
            );
        }
        data.push(value);
    }
    Ok(serde_json::json!({"data": data, "next_cursor": page.next_cursor}))
}

// ---- list filters ---------------------------------------------------------------------

/// `sla_state` filter of ticket and conversation lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaStateFilter {
    Breached,
    Warning,
}

impl SlaStateFilter {
    pub fn matches(self, state: Option<TargetState>) -> bool {
        match self {
            SlaStateFilter::Breached => state == Some(TargetState::Breached),
            SlaStateFilter::Warning => state == Some(TargetState::Warning),
        }
    }
}

/// The summaries of every subject whose id starts with `prefix` (`tkt_`, `cnv_`).
pub async fn summaries<P: Platform>(
    ctx: &Ctx<'_, P>,
    prefix: &str,
) -> Result<BTreeMap<String, Summary>, ApiError> {
    let mut out = BTreeMap::new();
    let mut after = None;
    loop {
        let scan = Scan {
            prefix: format!("sla:{prefix}"),
            after: after.clone(),
            limit: 500,
            reverse: false,
        };
        let rows = scan_json::<_, SlaRecord>(ctx.p, &ctx.actor, &scan).await?;
        let n = rows.len();
        for (k, r) in rows {
            after = Some(k);
            out.insert(r.subject_id, r.summary);
        }
        if n < 500 {
            return Ok(out);
        }
    }
}

/// Records sorted by SLA deadline, earliest first, with a cursor made of the last deadline
/// and id. Subjects without a running deadline are not listed in this order.
pub fn by_due(
    summaries: &BTreeMap<String, Summary>,
    cursor: Option<&str>,
) -> Result<Vec<(DateTime<Utc>, String)>, ApiError> {
    let after = match cursor {
        None => None,
        Some(c) => {
            let (ms, id) = c.split_once('.').ok_or_else(bad_cursor)?;
            let ms: i64 = ms.parse().map_err(|_| bad_cursor())?;
            Some((
                DateTime::from_timestamp_millis(ms).ok_or_else(bad_cursor)?,
                id.to_owned(),
            ))
        }
    };
    let mut order: Vec<(DateTime<Utc>, String)> = summaries
        .iter()
        .filter_map(|(id, s)| s.due_at.map(|d| (d, id.clone())))
        .filter(|k| after.as_ref().is_none_or(|a| k > a))
        .collect();
    edgedesk_shared::sort::sort(&mut order);
    Ok(order)
}

pub fn due_cursor(due: DateTime<Utc>, id: &str) -> String {
    format!("{}.{id}", due.timestamp_millis())
}

fn bad_cursor() -> ApiError {
    ApiError::bad_request("invalid_cursor", "cursor is not valid for this list")
}

/// Sorting of ticket and conversation lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListSort {
    /// Newest first (the default).
    Created,
    /// Earliest SLA deadline first; lists only subjects with a running deadline.
    SlaDue,
}

/// A page of subjects sorted by deadline: loads each record by key and keeps those `keep`
/// accepts.
pub async fn page_by_due<P: Platform, T: serde::de::DeserializeOwned>(
    ctx: &Ctx<'_, P>,
    key_of: fn(&str) -> String,
    summaries: &BTreeMap<String, Summary>,
    limit: Option<usize>,
    cursor: Option<&str>,
    keep: impl Fn(&T) -> bool,
) -> Result<crate::ctx::Page<T>, ApiError> {
    let limit = limit.unwrap_or(edgedesk_shared::api::limits::DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > edgedesk_shared::api::limits::MAX_PAGE_SIZE {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "limit must be 1 to {}",
                edgedesk_shared::api::limits::MAX_PAGE_SIZE
            ),
        ));
    }
    let mut data = Vec::new();
    let mut next_cursor = None;
    let order = by_due(summaries, cursor)?;
    let total = order.len();
    for (n, (due, id)) in order.into_iter().enumerate() {
        if let Some(item) = get_json::<_, T>(ctx.p, &ctx.actor, &key_of(&id)).await? {
            if keep(&item) {
                data.push(item);
            }
        }
        if data.len() == limit {
            if n + 1 < total {
                next_cursor = Some(due_cursor(due, &id));
            }
            break;
        }
    }
    Ok(crate::ctx::Page { data, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgedesk_shared::model::Priority;

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
