//! Routing wired to storage: teams, agent routing profiles, routing rules and settings, the
//! waiting queue, and the decisions made when a conversation arrives or capacity frees up.
//!
//! The decisions themselves are `shared::routing` (pure). This module loads what they need
//! from the tenant's actor and persists what comes out, inside one optimistic transaction per
//! decision, so concurrent arrivals never overfill an agent:
//!
//! - `routing:rr` holds the round-robin cursors; every assignment bumps its revision, so two
//!   arrivals that read the same state conflict and one of them decides again on fresh data.
//! - `routing:open:<agent>` lists the agent's open assigned conversations (their load). Entries
//!   are added in the transaction that assigns; closed ones are pruned lazily when a decision
//!   reads the list (a resolved, reassigned or deleted conversation no longer counts), which
//!   keeps every other writer of conversations free of routing bookkeeping.
//! - `routing:queue` holds the conversations waiting for capacity, in the order the pure queue
//!   module defines; [`drain`] places them when capacity frees up (a resolve, a transfer, an
//!   agent coming online, a raised capacity), oldest highest-priority first.
//!
//! Every assignment records a `conversation.assigned` event naming the rule that chose it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::ctx::{record_event, Ctx};
use crate::error::ApiError;
use crate::handlers::widget::{Presence as StoredPresence, PresenceStatus as StoredStatus};
use crate::http::{body, json, path_id, Request, Response};
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::{get_json, transact, Tx};
use edgedesk_shared::ids::{AgentId, ConversationId};
use edgedesk_shared::model::{
    Actor, ActorKind, Agent, ChannelKind, Contact, Conversation, ConversationStatus, Message,
    SenderKind,
};
use edgedesk_shared::routing::{
    drain_queue, first_match, queue_position, route, validate_routing_rules, validate_teams,
    waiting_targets, AgentProfile, AgentSnapshot, Assignment, AssignmentEvent, AssignmentSource,
    AutomationEvent, CsatSettings, EventKind, IdleTimeouts, Placement, Presence, PresenceStatus,
    QueuePosition, Roster, RoundRobinState, RouteTarget, RoutingDecision, RoutingFacts,
    RoutingRule, RuleRef, Strategy, Subject, Team, WaitingConversation,
};
use edgedesk_shared::sla::Calendar;

pub const SETTINGS_KEY: &str = "routing:settings";
pub const TEAMS_KEY: &str = "routing:teams";
pub const RULES_KEY: &str = "routing:rules";
const STATE_KEY: &str = "routing:rr";
const QUEUE_KEY: &str = "routing:queue";
const STATS_KEY: &str = "routing:stats";

fn profile_key(agent: &AgentId) -> String {
    format!("routing:profile:{agent}")
}

fn open_key(agent: &AgentId) -> String {
    format!("routing:open:{agent}")
}

fn conversation_key(id: &ConversationId) -> String {
    Conversation::storage_key(&id.to_string())
}

/// The tenant's routing options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    /// When an agent whose console went quiet counts as away, then offline.
    #[serde(default)]
    pub idle_timeouts: IdleTimeouts,
    /// The handle time used for wait estimates until real ones have been measured.
    #[serde(default = "RoutingSettings::default_handle_seconds")]
    pub average_handle_seconds: u64,
    /// Satisfaction ratings after a conversation is resolved.
    #[serde(default)]
    pub csat: CsatSettings,
    /// Business hours for the `business_hours` routing condition; absent means always open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<Calendar>,
}

impl RoutingSettings {
    fn default_handle_seconds() -> u64 {
        300
    }

    fn validate(&self) -> Result<(), ApiError> {
        self.idle_timeouts.validate().map_err(unprocessable)?;
        if !(1..=7 * 24 * 3600).contains(&self.average_handle_seconds) {
            return Err(unprocessable(
                "average_handle_seconds must be between 1 and 604800",
            ));
        }
        if self.csat.window_hours == 0 || self.csat.window_hours > 24 * 90 {
            return Err(unprocessable(
                "csat.window_hours must be between 1 and 2160",
            ));
        }
        if let Some(c) = &self.business_hours {
            c.validate().map_err(unprocessable)?;
        }
        Ok(())
    }

    fn within_business_hours(&self, now: DateTime<Utc>) -> bool {
        self.business_hours
            .as_ref()
            .and_then(|c| c.compile().ok())
            .is_none_or(|c| c.is_open(now))
    }
}

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            idle_timeouts: IdleTimeouts::default(),
            average_handle_seconds: Self::default_handle_seconds(),
            csat: CsatSettings::default(),
            business_hours: None,
        }
    }
}

/// An open assigned conversation counted against an agent's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct OpenEntry {
    channel: ChannelKind,
    /// When the agent got it: the start of the handle time measured on resolve.
    at: DateTime<Utc>,
}

type OpenList = BTreeMap<ConversationId, OpenEntry>;

/// Measured handle time (assignment to resolve), a moving average.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Stats {
    average_handle_seconds: Option<f64>,
    samples: u64,
}

pub(crate) fn unprocessable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        e.to_string(),
    )
}

pub async fn settings<P: Platform>(p: &P, tactor: &str) -> Result<RoutingSettings, ApiError> {
    Ok(get_json(p, tactor, SETTINGS_KEY).await?.unwrap_or_default())
}

fn routing_actor() -> Actor {
    Actor {
        kind: ActorKind::System,
        id: Some("routing".into()),
    }
}

/// The effective presence of an agent now, from the console's last report and the idle
/// timeouts. An agent who never reported is offline.
fn presence_now(
    stored: Option<StoredPresence>,
    timeouts: &IdleTimeouts,
    now: DateTime<Utc>,
) -> PresenceStatus {
    let Some(s) = stored else {
        return PresenceStatus::Offline;
    };
    let status = match s.status {
        StoredStatus::Online => PresenceStatus::Online,
        StoredStatus::Away => PresenceStatus::Away,
        StoredStatus::Offline => PresenceStatus::Offline,
    };
    Presence {
        status,
        last_seen: s.at,
    }
    .effective(now, timeouts)
}

/// Reads an agent's open list and drops entries that no longer count (the conversation is
/// gone, resolved, or held by someone else). Inside a decision (`tx` given) the list is read
/// in the transaction and written back pruned, and resolved entries feed the handle-time
/// average; without one (a position shown to a visitor) nothing is written.
async fn open_list<P: Platform>(
    p: &P,
    tactor: &str,
    tx: Option<&mut Tx<'_, P>>,
    agent: &AgentId,
) -> Result<OpenList, ApiError> {
    let key = open_key(agent);
    let list: OpenList = match &tx {
        Some(_) => Default::default(),
        None => get_json(p, tactor, &key).await?.unwrap_or_default(),
    };
    let (list, tx) = match tx {
        Some(tx) => (tx.get_json(&key).await?.unwrap_or_default(), Some(tx)),
        None => (list, None),
    };
    let mut kept = OpenList::new();
    let mut handled = Vec::new();
    for (cid, entry) in &list {
        // Read outside the transaction: a conversation closing concurrently only makes this
        // count conservative, and conversation writes stay free of conflicts with routing.
        let c: Option<Conversation> = get_json(p, tactor, &conversation_key(cid)).await?;
        match c {
            Some(c)
                if c.assignee_id == Some(*agent) && c.status != ConversationStatus::Resolved =>
            {
                kept.insert(*cid, *entry);
            }
            Some(c) if c.assignee_id == Some(*agent) => {
                handled.push((c.updated_at - entry.at).num_seconds().max(0) as f64);
            }
            _ => {}
        }
    }
    let Some(tx) = tx else {
        return Ok(kept);
    };
    if kept.len() != list.len() {
        tx.put_json(key, &kept)?;
    }
    if !handled.is_empty() {
        let mut stats: Stats = tx.get_json(STATS_KEY).await?.unwrap_or_default();
        for sample in handled {
            stats.average_handle_seconds = Some(match stats.average_handle_seconds {
                None => sample,
                Some(avg) => avg * 0.9 + sample * 0.1,
            });
            stats.samples += 1;
        }
        tx.put_json(STATS_KEY, &stats)?;
    }
    Ok(kept)
}

/// The agents a set of targets can reach, as routing sees them now.
async fn snapshots<P: Platform>(
    p: &P,
    tactor: &str,
    mut tx: Option<&mut Tx<'_, P>>,
    teams: &[Team],
    targets: &[RouteTarget],
    settings: &RoutingSettings,
    now: DateTime<Utc>,
) -> Result<Vec<AgentSnapshot>, ApiError> {
    let mut ids = BTreeSet::new();
    for target in targets {
        match target {
            RouteTarget::Agent(a) => {
                ids.insert(*a);
            }
            RouteTarget::Team(t) => {
                if let Some(team) = teams.iter().find(|x| &x.id == t) {
                    ids.extend(team.members.iter().copied());
                }
            }
        }
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(agent) =
            get_json::<_, Agent>(p, tactor, &Agent::storage_key(&id.to_string())).await?
        else {
            continue;
        };
        let profile: AgentProfile = get_json(p, tactor, &profile_key(&id))
            .await?
            .unwrap_or_else(|| AgentProfile::new(id));
        let presence = if agent.active {
            presence_now(
                get_json(p, tactor, &format!("presence:{id}")).await?,
                &settings.idle_timeouts,
                now,
            )
        } else {
            PresenceStatus::Offline
        };
        let mut open: BTreeMap<ChannelKind, u32> = BTreeMap::new();
        for entry in open_list(p, tactor, tx.as_deref_mut(), &id).await?.values() {
            *open.entry(entry.channel).or_insert(0) += 1;
        }
        out.push(AgentSnapshot {
            profile,
            presence,
            open,
        });
    }
    Ok(out)
}

/// Counts a conversation against its assignee's capacity (idempotent).
async fn count_open<P: Platform>(
    tx: &mut Tx<'_, P>,
    c: &Conversation,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(agent) = c.assignee_id else {
        return Ok(());
    };
    if c.status == ConversationStatus::Resolved {
        return Ok(());
    }
    let key = open_key(&agent);
    let mut list: OpenList = tx.get_json(&key).await?.unwrap_or_default();
    if !list.contains_key(&c.id) {
        list.insert(
            c.id,
            OpenEntry {
                channel: c.channel,
                at: now,
            },
        );
        tx.put_json(key, &list)?;
    }
    Ok(())
}

/// Hands the conversation to the assignment's agent, counts it, and records the event.
async fn apply_assignment<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    c: &mut Conversation,
    a: &Assignment,
    source: AssignmentSource,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let previous = c.assignee_id;
    c.assignee_id = Some(a.agent_id);
    if let Some(team) = &a.team {
        c.team = Some(team.clone());
    }
    c.priority = a.priority;
    c.touch(now);
    tx.put_json(conversation_key(&c.id), &*c)?;
    count_open(tx, c, now).await?;
    let event = AssignmentEvent::from_assignment(c.id, a, source, previous);
    record_event(
        p,
        tx,
        &c.id.to_string(),
        AssignmentEvent::KIND,
        actor,
        crate::http::to_value(&event)?,
    )
}

/// What a routing decision did, for callers and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// The conversation was already assigned, waiting, resolved or gone.
    Skipped,
    Decided(RoutingDecision),
}

/// Routes an arriving (or newly written-to, still unassigned) conversation: the first
/// matching rule's target, strategy and priority; waits in the queue when nobody can take it.
pub async fn route_conversation<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    text: &str,
) -> Result<Routed, ApiError> {
    let now = p.now();
    let settings = settings(p, tactor).await?;
    transact(p, tactor, async |tx| {
        let Some(mut c) = tx.get_json::<Conversation>(&conversation_key(id)).await? else {
            return Ok(Routed::Skipped);
        };
        if c.assignee_id.is_some() || c.status == ConversationStatus::Resolved {
            return Ok(Routed::Skipped);
        }
        let mut queue: Vec<WaitingConversation> = tx.get_json(QUEUE_KEY).await?.unwrap_or_default();
        if queue.iter().any(|w| w.conversation_id == *id) {
            return Ok(Routed::Skipped);
        }
        let rules: Vec<RoutingRule> = tx.get_json(RULES_KEY).await?.unwrap_or_default();
        if rules.is_empty() {
            return Ok(Routed::Skipped);
        }
        let teams: Vec<Team> = tx.get_json(TEAMS_KEY).await?.unwrap_or_default();
        let contact: Option<Contact> =
            get_json(p, tactor, &Contact::storage_key(&c.contact_id.to_string())).await?;
        let mut facts = routing_facts(&c, contact.as_ref(), text, &settings, now);
        // Rules on intents see what the tenant's bot model recognises in the message.
        if rules.iter().any(|r| !r.conditions.intents.is_empty()) {
            facts.intent = crate::handlers::bot::intent_of(p, tactor, text).await?;
        }
        let Some(rule) = first_match(&rules, &facts) else {
            return Ok(Routed::Decided(RoutingDecision::Unmatched {
                priority: c.priority,
            }));
        };
        let target = rule.target.clone();
        let agents =
            snapshots(p, tactor, Some(&mut *tx), &teams, &[target], &settings, now).await?;
        let state: RoundRobinState = tx.get_json(STATE_KEY).await?.unwrap_or_default();
        let (decision, next) = route(&rules, &facts, &Roster::new(&teams, &agents), &state);
        match &decision {
            RoutingDecision::Assigned(a) => {
                apply_assignment(
                    p,
                    tx,
                    &mut c,
                    a,
                    AssignmentSource::Routing,
                    routing_actor(),
                    now,
                )
                .await?;
                tx.put_json(STATE_KEY, &next)?;
            }
            RoutingDecision::Queued(q) => {
                queue.push(q.clone().waiting(*id, now));
                tx.put_json(QUEUE_KEY, &queue)?;
                let before = c.clone();
                c.priority = q.priority;
                if let RouteTarget::Team(t) = &q.placement.target {
                    c.team = Some(t.clone());
                }
                if c != before {
                    c.touch(now);
                    tx.put_json(conversation_key(id), &c)?;
                }
                record_event(
                    p,
                    tx,
                    &id.to_string(),
                    "conversation.queued",
                    routing_actor(),
                    serde_json::json!({"rule": q.rule, "reason": q.reason, "priority": q.priority,
                        "target": q.placement.target}),
                )?;
            }
            RoutingDecision::Unmatched { .. } => {}
        }
        Ok(Routed::Decided(decision))
    })
    .await
}

fn routing_facts(
    c: &Conversation,
    contact: Option<&Contact>,
    text: &str,
    settings: &RoutingSettings,
    now: DateTime<Utc>,
) -> RoutingFacts {
    let full_text = match &c.subject {
        Some(s) if !s.is_empty() => format!("{s}\n{text}"),
        _ => text.to_owned(),
    };
    let mut facts = RoutingFacts::new(c.channel, &full_text, settings.within_business_hours(now));
    facts.priority = c.priority;
    // The same score that is stored with the contact's message.
    facts.sentiment =
        crate::handlers::conversations::message_sentiment(SenderKind::Contact, text).map(f64::from);
    if let Some(contact) = contact {
        facts.contact = contact.attributes.clone();
        facts.language = ["language", "locale", "lang"]
            .iter()
            .find_map(|k| contact.attributes.get(*k).and_then(|v| v.as_str()))
            .map(str::to_owned);
    }
    facts
}

/// Places waiting conversations while capacity allows, oldest highest-priority first.
/// Returns the conversations placed.
pub async fn drain<P: Platform>(p: &P, tactor: &str) -> Result<Vec<ConversationId>, ApiError> {
    let waiting: Option<Vec<WaitingConversation>> = get_json(p, tactor, QUEUE_KEY).await?;
    if waiting.is_none_or(|q| q.is_empty()) {
        return Ok(Vec::new());
    }
    let now = p.now();
    let settings = settings(p, tactor).await?;
    transact(p, tactor, async |tx| {
        let mut queue: Vec<WaitingConversation> = tx.get_json(QUEUE_KEY).await?.unwrap_or_default();
        if queue.is_empty() {
            return Ok(Vec::new());
        }
        let original_len = queue.len();
        let teams: Vec<Team> = tx.get_json(TEAMS_KEY).await?.unwrap_or_default();
        let agents = snapshots(
            p,
            tactor,
            Some(&mut *tx),
            &teams,
            &waiting_targets(&queue),
            &settings,
            now,
        )
        .await?;
        let state: RoundRobinState = tx.get_json(STATE_KEY).await?.unwrap_or_default();
        // Conversations closed or taken by hand while waiting leave the queue here; the pure
        // drain is cheap, so it simply runs again without them.
        let (placed, next, conversations) = loop {
            let (placed, next) = drain_queue(&queue, &teams, &agents, &state);
            let mut gone = Vec::new();
            let mut conversations = Vec::new();
            for q in &placed {
                match tx
                    .get_json::<Conversation>(&conversation_key(&q.conversation_id))
                    .await?
                {
                    Some(c)
                        if c.assignee_id.is_none() && c.status != ConversationStatus::Resolved =>
                    {
                        conversations.push(c)
                    }
                    _ => gone.push(q.conversation_id),
                }
            }
            if gone.is_empty() {
                break (placed, next, conversations);
            }
            queue.retain(|w| !gone.contains(&w.conversation_id));
        };
        let mut done = Vec::new();
        for (q, mut c) in placed.iter().zip(conversations) {
            apply_assignment(
                p,
                tx,
                &mut c,
                &q.assignment,
                AssignmentSource::Queue,
                routing_actor(),
                now,
            )
            .await?;
            done.push(q.conversation_id);
        }
        queue.retain(|w| !done.contains(&w.conversation_id));
        if queue.len() != original_len {
            tx.put_json(QUEUE_KEY, &queue)?;
        }
        if !done.is_empty() {
            tx.put_json(STATE_KEY, &next)?;
        }
        Ok(done)
    })
    .await
}

/// Where a conversation waits, with the estimated wait, if it is queued.
pub async fn position<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
) -> Result<Option<QueuePosition>, ApiError> {
    let queue: Vec<WaitingConversation> = get_json(p, tactor, QUEUE_KEY).await?.unwrap_or_default();
    let Some(me) = queue.iter().find(|w| w.conversation_id == *id) else {
        return Ok(None);
    };
    let settings = settings(p, tactor).await?;
    let teams: Vec<Team> = get_json(p, tactor, TEAMS_KEY).await?.unwrap_or_default();
    let target = me.placement.target.clone();
    let now = p.now();
    let agents = snapshots(p, tactor, None, &teams, &[target], &settings, now).await?;
    let stats: Stats = get_json(p, tactor, STATS_KEY).await?.unwrap_or_default();
    let handle = stats
        .average_handle_seconds
        .map_or(settings.average_handle_seconds, |s| s.round() as u64)
        .max(1);
    Ok(queue_position(
        &queue,
        *id,
        &Roster::new(&teams, &agents),
        handle,
    ))
}

/// Bookkeeping inside any transaction that changes a conversation: counts a new assignee's
/// load, records a manual assignment, and takes the conversation out of the queue once it is
/// assigned or resolved. `before` is `None` for a conversation being created.
pub async fn on_change<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    before: Option<&Conversation>,
    after: &Conversation,
    actor: Actor,
) -> Result<(), ApiError> {
    let now = p.now();
    let (was_assignee, was_status) = before.map_or((None, ConversationStatus::Open), |b| {
        (b.assignee_id, b.status)
    });
    if after.assignee_id != was_assignee || was_status == ConversationStatus::Resolved {
        count_open(tx, after, now).await?;
    }
    if let (Some(agent), true) = (after.assignee_id, after.assignee_id != was_assignee) {
        let event = AssignmentEvent::manual(
            after.id,
            agent,
            after.team.clone(),
            was_assignee,
            after.priority,
        );
        record_event(
            p,
            tx,
            &after.id.to_string(),
            AssignmentEvent::KIND,
            actor,
            crate::http::to_value(&event)?,
        )?;
    }
    let could_wait = was_assignee.is_none() && was_status != ConversationStatus::Resolved;
    let settled = after.assignee_id.is_some() || after.status == ConversationStatus::Resolved;
    if before.is_some() && could_wait && settled {
        let mut queue: Vec<WaitingConversation> = tx.get_json(QUEUE_KEY).await?.unwrap_or_default();
        let len = queue.len();
        queue.retain(|w| w.conversation_id != after.id);
        if queue.len() != len {
            tx.put_json(QUEUE_KEY, &queue)?;
        }
    }
    Ok(())
}

/// What happens when a conversation is created or a contact writes: waiting conversations
/// get freed places first, then an unassigned conversation is routed, then automation runs
/// `conversation_created` and `message_received`.
pub async fn on_arrival<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    message: Option<&Message>,
    created: bool,
) -> Result<(), ApiError> {
    route_arrival(p, tactor, id, message.map_or("", |m| m.body.as_str())).await?;
    automate_arrival(p, tactor, id, message, created).await
}

/// The routing half of [`on_arrival`]: freed places go to waiting conversations, then this
/// one is routed if unassigned. The bot calls it when it hands a conversation off.
pub async fn route_arrival<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    text: &str,
) -> Result<(), ApiError> {
    drain(p, tactor).await?;
    route_conversation(p, tactor, id, text).await?;
    Ok(())
}

/// The automation half of [`on_arrival`]: `conversation_created` (once) and
/// `message_received`. Runs also while the bot holds a conversation, so a rule can take it
/// from the bot (by assigning it).
pub async fn automate_arrival<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    message: Option<&Message>,
    created: bool,
) -> Result<(), ApiError> {
    // `conversation_created` fires once, however the conversation came about (created with
    // its first message, or opened by a channel and then written to).
    let marker = format!("routing:arrived:{id}");
    let created = created
        && transact(p, tactor, async |tx| {
            if tx.get(&conversation_key(id)).await?.is_none() || tx.get(&marker).await?.is_some() {
                return Ok(false);
            }
            tx.put(marker.clone(), b"1".to_vec());
            Ok(true)
        })
        .await?;
    let now = p.now();
    let subject = Subject::Conversation(*id);
    if created {
        let event = AutomationEvent::new(EventKind::ConversationCreated, subject, now);
        let extra = match message {
            Some(m) => vec![("message", crate::http::to_value(m)?)],
            None => Vec::new(),
        };
        crate::handlers::automation::run(p, tactor, event, extra).await?;
    }
    if let Some(m) = message.filter(|m| m.sender.kind == SenderKind::Contact) {
        let event = AutomationEvent::new(EventKind::MessageReceived, subject, now);
        // Rules may test `message.sentiment`, the score stored with the message.
        let mut fact = crate::http::to_value(m)?;
        if let (Some(obj), Some(score)) = (
            fact.as_object_mut(),
            crate::handlers::conversations::message_sentiment(m.sender.kind, &m.body),
        ) {
            obj.insert("sentiment".into(), serde_json::json!(score));
        }
        crate::handlers::automation::run(p, tactor, event, vec![("message", fact)]).await?;
    }
    Ok(())
}

/// After a conversation was changed by a person (outside the routing and automation
/// transactions): freed capacity goes to the queue, and a status change runs automation.
pub async fn after_change<P: Platform>(
    p: &P,
    tactor: &str,
    before: &Conversation,
    after: &Conversation,
) -> Result<(), ApiError> {
    if frees_capacity(before, after) {
        drain(p, tactor).await?;
    }
    crate::handlers::automation::status_changed(p, tactor, before, after).await
}

/// Whether a change may have freed capacity someone waiting could use.
pub fn frees_capacity(before: &Conversation, after: &Conversation) -> bool {
    before.assignee_id.is_some()
        && (before.assignee_id != after.assignee_id
            || (before.status != ConversationStatus::Resolved
                && after.status == ConversationStatus::Resolved))
}

/// Hands a conversation to a target outside the routing rules (an automation rule or an
/// agent's "assign to team"): capacity and presence apply, and it waits when nobody can take it.
pub async fn assign_to<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    target: &RouteTarget,
    rule: RuleRef,
    source: AssignmentSource,
    actor: Actor,
) -> Result<Option<RoutingDecision>, ApiError> {
    let now = p.now();
    let settings = settings(p, tactor).await?;
    transact(p, tactor, async |tx| {
        let Some(mut c) = tx.get_json::<Conversation>(&conversation_key(id)).await? else {
            return Ok(None);
        };
        let teams: Vec<Team> = tx.get_json(TEAMS_KEY).await?.unwrap_or_default();
        if let RouteTarget::Team(t) = target {
            if !teams.iter().any(|x| &x.id == t) {
                return Err(unprocessable(format!("no team `{t}`")));
            }
        }
        let placement = Placement::for_target(target, &teams, c.channel);
        let agents = snapshots(
            p,
            tactor,
            Some(&mut *tx),
            &teams,
            &[target.clone()],
            &settings,
            now,
        )
        .await?;
        let state: RoundRobinState = tx.get_json(STATE_KEY).await?.unwrap_or_default();
        let (decision, next) = edgedesk_shared::routing::assign(
            &placement,
            c.priority,
            rule.clone(),
            &Roster::new(&teams, &agents),
            &state,
        );
        match &decision {
            RoutingDecision::Assigned(a) => {
                apply_assignment(p, tx, &mut c, a, source, actor.clone(), now).await?;
                tx.put_json(STATE_KEY, &next)?;
                let mut queue: Vec<WaitingConversation> =
                    tx.get_json(QUEUE_KEY).await?.unwrap_or_default();
                let len = queue.len();
                queue.retain(|w| w.conversation_id != *id);
                if queue.len() != len {
                    tx.put_json(QUEUE_KEY, &queue)?;
                }
            }
            RoutingDecision::Queued(q) => {
                let mut queue: Vec<WaitingConversation> =
                    tx.get_json(QUEUE_KEY).await?.unwrap_or_default();
                queue.retain(|w| w.conversation_id != *id);
                queue.push(q.clone().waiting(*id, now));
                tx.put_json(QUEUE_KEY, &queue)?;
                c.assignee_id = None;
                if let RouteTarget::Team(t) = target {
                    c.team = Some(t.clone());
                }
                c.touch(now);
                tx.put_json(conversation_key(id), &c)?;
                record_event(
                    p,
                    tx,
                    &id.to_string(),
                    "conversation.queued",
                    actor.clone(),
                    serde_json::json!({"rule": q.rule, "reason": q.reason, "priority": q.priority,
                        "target": q.placement.target}),
                )?;
            }
            RoutingDecision::Unmatched { .. } => {}
        }
        Ok(Some(decision))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// HTTP: teams, agent routing profiles, routing rules, settings, queue, assign.
// ---------------------------------------------------------------------------------------------

fn validation_conflict(e: impl std::fmt::Display) -> ApiError {
    ApiError::conflict("in_use", e.to_string())
}

/// `GET /v1/teams`
#[utoipa::path(get, path = "/v1/teams", tag = "routing",
    responses((status = 200, body = Object, description = "The tenant's teams: `{\"data\": [team]}`.")))]
pub async fn list_teams<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let teams: Vec<Team> = get_json(ctx.p, &ctx.actor, TEAMS_KEY)
        .await?
        .unwrap_or_default();
    json(StatusCode::OK, &serde_json::json!({ "data": teams }))
}

/// Checks that every member is an agent of this tenant.
async fn check_members<P: Platform>(
    tx: &mut Tx<'_, P>,
    members: &[AgentId],
) -> Result<(), ApiError> {
    for m in members {
        if tx.get(&Agent::storage_key(&m.to_string())).await?.is_none() {
            return Err(unprocessable(format!("members: no agent {m}")));
        }
    }
    Ok(())
}

/// `POST /v1/teams`
#[utoipa::path(post, path = "/v1/teams", tag = "routing",
    request_body(content = Object, description = "A team: `{\"id\": slug, \"name\", \"members\": [agent id], \"strategy\"?}`."),
    responses((status = 201, body = Object, description = "The team created."), (status = 409), (status = 422)))]
pub async fn create_team<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let team: Team = body(req)?;
    team.validate().map_err(unprocessable)?;
    let team = transact(ctx.p, &ctx.actor, async |tx| {
        let mut teams: Vec<Team> = tx.get_json(TEAMS_KEY).await?.unwrap_or_default();
        if teams.iter().any(|t| t.id == team.id) {
            return Err(ApiError::conflict(
                "team_exists",
                format!("a team `{}` exists", team.id),
            ));
        }
        check_members(tx, &team.members).await?;
        teams.push(team.clone());
        validate_teams(&teams).map_err(unprocessable)?;
        tx.put_json(TEAMS_KEY, &teams)?;
        record_event(
            ctx.p,
            tx,
            &format!("team:{}", team.id),
            "team.created",
            ctx.actor_ref(),
            crate::http::to_value(&team)?,
        )?;
        Ok(team.clone())
    })
    .await?;
    json(StatusCode::CREATED, &team)
}

/// `GET /v1/teams/{id}`
#[utoipa::path(get, path = "/v1/teams/{id}", tag = "routing",
    params(("id" = String, Path, description = "team id")),
    responses((status = 200, body = Object, description = "The team."), (status = 404)))]
pub async fn get_team<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    let teams: Vec<Team> = get_json(ctx.p, &ctx.actor, TEAMS_KEY)
        .await?
        .unwrap_or_default();
    let team = teams
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::not_found("team"))?;
    json(StatusCode::OK, &team)
}

/// A change to a team; `add_members` / `remove_members` edit the list in place.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    name: Option<String>,
    members: Option<Vec<AgentId>>,
    #[serde(default)]
    add_members: Vec<AgentId>,
    #[serde(default)]
    remove_members: Vec<AgentId>,
    strategy: Option<Strategy>,
}

/// `PATCH /v1/teams/{id}`
#[utoipa::path(patch, path = "/v1/teams/{id}", tag = "routing",
    params(("id" = String, Path, description = "team id")),
    request_body(content = Object, description = "The fields to change: `name`, `members` (or `add_members` / `remove_members`), `strategy`."),
    responses((status = 200, body = Object, description = "The team as changed."), (status = 404), (status = 422)))]
pub async fn update_team<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: UpdateTeam = body(req)?;
    let team = transact(ctx.p, &ctx.actor, async |tx| {
        let mut teams: Vec<Team> = tx.get_json(TEAMS_KEY).await?.unwrap_or_default();
        let team = teams
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or_else(|| ApiError::not_found("team"))?;
        let before = team.clone();
        if let Some(name) = &input.name {
            team.name = name.trim().to_owned();
        }
        if let Some(members) = &input.members {
            team.members = members.clone();
        }
        for m in &input.add_members {
            if !team.members.contains(m) {
                team.members.push(*m);
            }
        }
        team.members.retain(|m| !input.remove_members.contains(m));
        if let Some(s) = &input.strategy {
            team.strategy = s.clone();
        }
        let after = team.clone();
        after.validate().map_err(unprocessable)?;
        let added: Vec<AgentId> = after
            .members
            .iter()
            .filter(|m| !before.members.contains(m))
            .copied()
            .collect();
        check_members(tx, &added).await?;
        if after != before {
            tx.put_json(TEAMS_KEY, &teams)?;
            record_event(
                ctx.p,
                tx,
                &format!("team:{id}"),
                "team.updated",
                ctx.actor_ref(),
                crate::ctx::diff(&before, &after),
            )?;
        }
        Ok(after)
    })
    .await?;
    drain(ctx.p, &ctx.actor).await?;
    json(StatusCode::OK, &team)
}

/// `DELETE /v1/teams/{id}`: refused while a routing rule routes to the team.
#[utoipa::path(delete, path = "/v1/teams/{id}", tag = "routing",
    params(("id" = String, Path, description = "team id")),
    responses((status = 204, description = "Deleted."), (status = 404), (status = 409, description = "A routing rule still sends work to the team.")))]
pub async fn delete_team<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    transact(ctx.p, &ctx.actor, async |tx| {
        let mut teams: Vec<Team> = tx.get_json(TEAMS_KEY).await?.unwrap_or_default();
        let len = teams.len();
        teams.retain(|t| t.id != id);
        if teams.len() == len {
            return Err(ApiError::not_found("team"));
        }
        let rules: Vec<RoutingRule> = tx.get_json(RULES_KEY).await?.unwrap_or_default();
        validate_routing_rules(&rules, &teams).map_err(validation_conflict)?;
        crate::handlers::automation::check_team_references(tx, &teams).await?;
        tx.put_json(TEAMS_KEY, &teams)?;
        record_event(
            ctx.p,
            tx,
            &format!("team:{id}"),
            "team.deleted",
            ctx.actor_ref(),
            serde_json::Value::Null,
        )
    })
    .await?;
    Ok(crate::http::no_content())
}

/// An agent's routing profile: skills, languages, capacity, and their presence now.
#[derive(Debug, Serialize)]
struct ProfileView {
    #[serde(flatten)]
    profile: AgentProfile,
    presence: PresenceStatus,
    open: BTreeMap<ChannelKind, u32>,
}

/// `GET /v1/agents/{id}/routing`
#[utoipa::path(get, path = "/v1/agents/{id}/routing", tag = "routing",
    params(("id" = String, Path, description = "agent id")),
    responses((status = 200, body = Object, description = "The agent's routing profile, presence and open conversations."), (status = 404)))]
pub async fn get_profile<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let id: AgentId = path_id(raw_id, "agent")?;
    let _: Agent = crate::records::load(ctx, &id.to_string()).await?;
    let settings = settings(ctx.p, &ctx.actor).await?;
    let now = ctx.now();
    let mut agents = snapshots(
        ctx.p,
        &ctx.actor,
        None,
        &[],
        &[RouteTarget::Agent(id)],
        &settings,
        now,
    )
    .await?;
    let s = agents.pop().ok_or_else(|| ApiError::not_found("agent"))?;
    json(
        StatusCode::OK,
        &ProfileView {
            profile: s.profile,
            presence: s.presence,
            open: s.open,
        },
    )
}

/// The body of `PUT /v1/agents/{id}/routing`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    #[serde(default)]
    skills: Vec<edgedesk_shared::routing::Skill>,
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default)]
    capacity: edgedesk_shared::routing::Capacity,
}

/// `PUT /v1/agents/{id}/routing`
#[utoipa::path(put, path = "/v1/agents/{id}/routing", tag = "routing",
    params(("id" = String, Path, description = "agent id")),
    request_body(content = Object, description = "`{\"skills\", \"languages\", \"capacity\"}`"),
    responses((status = 200, body = Object, description = "The profile as stored."), (status = 404), (status = 422)))]
pub async fn put_profile<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: AgentId = path_id(raw_id, "agent")?;
    let input: ProfileInput = body(req)?;
    let profile = AgentProfile {
        agent_id: id,
        skills: input.skills,
        languages: input.languages,
        capacity: input.capacity,
    }
    .normalized()
    .map_err(unprocessable)?;
    transact(ctx.p, &ctx.actor, async |tx| {
        if tx
            .get(&Agent::storage_key(&id.to_string()))
            .await?
            .is_none()
        {
            return Err(ApiError::not_found("agent"));
        }
        tx.put_json(profile_key(&id), &profile)?;
        record_event(
            ctx.p,
            tx,
            &id.to_string(),
            "agent.routing_updated",
            ctx.actor_ref(),
            crate::http::to_value(&profile)?,
        )
    })
    .await?;
    // A raised capacity may let someone waiting in.
    drain(ctx.p, &ctx.actor).await?;
    json(StatusCode::OK, &profile)
}

/// `GET /v1/routing/rules`: the rules in evaluation order.
#[utoipa::path(get, path = "/v1/routing/rules", tag = "routing",
    responses((status = 200, body = Object, description = "The routing rules in evaluation order: `{\"data\": [rule]}`.")))]
pub async fn list_rules<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let rules: Vec<RoutingRule> = get_json(ctx.p, &ctx.actor, RULES_KEY)
        .await?
        .unwrap_or_default();
    json(StatusCode::OK, &serde_json::json!({ "data": rules }))
}

/// Replaces the rule list after `change`, validating it against the teams.
async fn change_rules<P: Platform, T>(
    ctx: &Ctx<'_, P>,
    kind: &str,
    mut change: impl FnMut(&mut Vec<RoutingRule>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    transact(ctx.p, &ctx.actor, async |tx| {
        let before: Vec<RoutingRule> = tx.get_json(RULES_KEY).await?.unwrap_or_default();
        let mut rules = before.clone();
        let out = change(&mut rules)?;
        let teams: Vec<Team> = tx.get_json(TEAMS_KEY).await?.unwrap_or_default();
        validate_routing_rules(&rules, &teams).map_err(unprocessable)?;
        tx.put_json(RULES_KEY, &rules)?;
        record_event(
            ctx.p,
            tx,
            "routing_rules",
            kind,
            ctx.actor_ref(),
            serde_json::json!({ "rules": rules.iter().map(|r| &r.id).collect::<Vec<_>>() }),
        )?;
        Ok(out)
    })
    .await
}

/// `POST /v1/routing/rules`: appends a rule (or inserts it at `?position=N`, 0 first).
#[utoipa::path(post, path = "/v1/routing/rules", tag = "routing",
    request_body(content = Object, description = "A routing rule: conditions and where matching conversations go."),
    responses((status = 201, body = Object, description = "The rule created, appended to the order."), (status = 422)))]
pub async fn create_rule<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Q {
        position: Option<usize>,
    }
    let q: Q = crate::http::query(req)?;
    let rule: RoutingRule = body(req)?;
    let created = change_rules(ctx, "routing_rule.created", |rules| {
        if rules.iter().any(|r| r.id == rule.id) {
            return Err(ApiError::conflict(
                "rule_exists",
                format!("a routing rule `{}` exists", rule.id),
            ));
        }
        let at = q.position.unwrap_or(rules.len()).min(rules.len());
        rules.insert(at, rule.clone());
        Ok(rule.clone())
    })
    .await?;
    json(StatusCode::CREATED, &created)
}

/// `PUT /v1/routing/rules`: replaces the whole ordered list (reordering).
#[utoipa::path(put, path = "/v1/routing/rules", tag = "routing",
    request_body(content = Object, description = "`{\"data\": [rule]}`: every rule, in evaluation order."),
    responses((status = 200, body = Object, description = "The rules as stored."), (status = 422)))]
pub async fn replace_rules<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let new: Vec<RoutingRule> = body(req)?;
    let rules = change_rules(ctx, "routing_rules.replaced", |rules| {
        *rules = new.clone();
        Ok(new.clone())
    })
    .await?;
    json(StatusCode::OK, &serde_json::json!({ "data": rules }))
}

/// `GET /v1/routing/rules/{id}`
#[utoipa::path(get, path = "/v1/routing/rules/{id}", tag = "routing",
    params(("id" = String, Path, description = "routing rule id")),
    responses((status = 200, body = Object, description = "The rule."), (status = 404)))]
pub async fn get_rule<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    let rules: Vec<RoutingRule> = get_json(ctx.p, &ctx.actor, RULES_KEY)
        .await?
        .unwrap_or_default();
    let rule = rules
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found("routing rule"))?;
    json(StatusCode::OK, &rule)
}

/// `PUT /v1/routing/rules/{id}`: replaces a rule in place.
#[utoipa::path(put, path = "/v1/routing/rules/{id}", tag = "routing",
    params(("id" = String, Path, description = "routing rule id")),
    request_body(content = Object, description = "The whole rule."),
    responses((status = 200, body = Object, description = "The rule as stored."), (status = 404), (status = 422)))]
pub async fn put_rule<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let rule: RoutingRule = body(req)?;
    if rule.id != id {
        return Err(unprocessable("id: must match the path"));
    }
    let rule = change_rules(ctx, "routing_rule.updated", |rules| {
        let slot = rules
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| ApiError::not_found("routing rule"))?;
        *slot = rule.clone();
        Ok(rule.clone())
    })
    .await?;
    json(StatusCode::OK, &rule)
}

/// `DELETE /v1/routing/rules/{id}`
#[utoipa::path(delete, path = "/v1/routing/rules/{id}", tag = "routing",
    params(("id" = String, Path, description = "routing rule id")),
    responses((status = 204, description = "Deleted."), (status = 404)))]
pub async fn delete_rule<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    change_rules(ctx, "routing_rule.deleted", |rules| {
        let len = rules.len();
        rules.retain(|r| r.id != id);
        if rules.len() == len {
            return Err(ApiError::not_found("routing rule"));
        }
        Ok(())
    })
    .await?;
    Ok(crate::http::no_content())
}

/// `GET /v1/routing/settings`
#[utoipa::path(get, path = "/v1/routing/settings", tag = "routing",
    responses((status = 200, body = Object, description = "How conversations are offered to agents (mode, timeouts).")))]
pub async fn get_settings<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    json(StatusCode::OK, &settings(ctx.p, &ctx.actor).await?)
}

/// `PUT /v1/routing/settings`
#[utoipa::path(put, path = "/v1/routing/settings", tag = "routing",
    request_body(content = Object, description = "The routing settings."),
    responses((status = 200, body = Object, description = "The settings as stored."), (status = 422)))]
pub async fn put_settings<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let s: RoutingSettings = body(req)?;
    s.validate()?;
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.put_json(SETTINGS_KEY, &s)?;
        record_event(
            ctx.p,
            tx,
            "routing_settings",
            "routing_settings.updated",
            ctx.actor_ref(),
            crate::http::to_value(&s)?,
        )
    })
    .await?;
    // Longer idle timeouts can bring agents back.
    drain(ctx.p, &ctx.actor).await?;
    json(StatusCode::OK, &s)
}

/// One waiting conversation as agents see the queue.
#[derive(Debug, Serialize)]
struct QueueEntryView {
    #[serde(flatten)]
    waiting: WaitingConversation,
    position: Option<QueuePosition>,
}

/// `GET /v1/routing/queue`: waiting conversations in queue order with positions.
#[utoipa::path(get, path = "/v1/routing/queue", tag = "routing",
    responses((status = 200, body = Object, description = "Conversations waiting for an agent, oldest first, with queue figures.")))]
pub async fn get_queue<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let mut queue: Vec<WaitingConversation> = get_json(ctx.p, &ctx.actor, QUEUE_KEY)
        .await?
        .unwrap_or_default();
    edgedesk_shared::routing::sort_queue(&mut queue);
    let mut data = Vec::with_capacity(queue.len());
    for w in queue {
        let position = position(ctx.p, &ctx.actor, &w.conversation_id).await?;
        data.push(QueueEntryView {
            waiting: w,
            position,
        });
    }
    json(StatusCode::OK, &serde_json::json!({ "data": data }))
}

/// The body of `POST /v1/conversations/{id}/assign`: an agent (a manual assignment or
/// transfer; capacity does not apply) or a team (its strategy picks a member who has room).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    agent_id: Option<AgentId>,
    team: Option<String>,
}

/// `POST /v1/conversations/{id}/assign`
#[utoipa::path(post, path = "/v1/conversations/{id}/assign", tag = "routing",
    params(("id" = String, Path, description = "conversation id")),
    request_body(content = Object, description = "`{\"agent_id\"}` to hand the conversation to an agent, or `{\"team\"}` to a team (by its id)."),
    responses((status = 200, body = Object, description = "Where the conversation went."), (status = 404), (status = 409), (status = 422)))]
pub async fn assign_conversation<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let input: AssignInput = body(req)?;
    let now = ctx.now();
    let before: Conversation = crate::records::load(ctx, &id.to_string()).await?;
    let outcome = match (input.agent_id, input.team) {
        (Some(agent), None) => {
            let after = transact(ctx.p, &ctx.actor, async |tx| {
                let mut c: Conversation = tx
                    .get_json(&conversation_key(&id))
                    .await?
                    .ok_or_else(|| ApiError::not_found("conversation"))?;
                let agent_record: Agent = tx
                    .get_json(&Agent::storage_key(&agent.to_string()))
                    .await?
                    .filter(|a: &Agent| a.active)
                    .ok_or_else(|| unprocessable("agent_id: no such active agent"))?;
                let before = c.clone();
                if c.assignee_id == Some(agent_record.id) {
                    return Ok(c);
                }
                c.assignee_id = Some(agent_record.id);
                c.touch(now);
                tx.put_json(conversation_key(&id), &c)?;
                on_change(ctx.p, tx, Some(&before), &c, ctx.actor_ref()).await?;
                Ok(c)
            })
            .await?;
            serde_json::json!({ "outcome": "assigned", "conversation": after })
        }
        (None, Some(team)) => {
            let rule = RuleRef {
                id: "manual".into(),
                name: format!("Assigned to team {team} by hand"),
            };
            let decision = assign_to(
                ctx.p,
                &ctx.actor,
                &id,
                &RouteTarget::Team(team),
                rule,
                AssignmentSource::Manual,
                ctx.actor_ref(),
            )
            .await?
            .ok_or_else(|| ApiError::not_found("conversation"))?;
            crate::http::to_value(&decision)?
        }
        _ => return Err(unprocessable("send exactly one of `agent_id` and `team`")),
    };
    let after: Conversation = crate::records::load(ctx, &id.to_string()).await?;
    if frees_capacity(&before, &after) {
        drain(ctx.p, &ctx.actor).await?;
    }
    json(StatusCode::OK, &outcome)
}
