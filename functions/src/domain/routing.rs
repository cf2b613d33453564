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
use serde::{Deserialize, Serialize};

use crate::ctx::record_event;
use crate::domain::presence::{Presence as StoredPresence, PresenceStatus as StoredStatus};
use crate::error::ApiError;
use crate::keys;
use crate::keys::tenant::{
    ROUTING_QUEUE, ROUTING_ROUND_ROBIN, ROUTING_RULES, ROUTING_SETTINGS, ROUTING_STATS,
    ROUTING_TEAMS,
};
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::{get_json, transact, Tx};
use edgedesk_shared::ids::{AgentId, ConversationId};
use edgedesk_shared::model::{
    Actor, ActorKind, Agent, ChannelKind, Contact, Conversation, ConversationStatus, SenderKind,
};
use edgedesk_shared::routing::{
    drain_queue, first_match, queue_position, route, waiting_targets, AgentProfile, AgentSnapshot,
    Assignment, AssignmentEvent, AssignmentSource, CsatSettings, IdleTimeouts, Placement, Presence,
    PresenceStatus, QueuePosition, Roster, RoundRobinState, RouteTarget, RoutingDecision,
    RoutingFacts, RoutingRule, RuleRef, Team, WaitingConversation,
};
use edgedesk_shared::sla::Calendar;

pub(crate) fn conversation_key(id: &ConversationId) -> String {
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

    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        self.idle_timeouts
            .validate()
            .map_err(ApiError::unprocessable)?;
        if !(1..=7 * 24 * 3600).contains(&self.average_handle_seconds) {
            return Err(ApiError::unprocessable(
                "average_handle_seconds must be between 1 and 604800",
            ));
        }
        if self.csat.window_hours == 0 || self.csat.window_hours > 24 * 90 {
            return Err(ApiError::unprocessable(
                "csat.window_hours must be between 1 and 2160",
            ));
        }
        if let Some(c) = &self.business_hours {
            c.validate().map_err(ApiError::unprocessable)?;
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
pub(crate) struct OpenEntry {
    channel: ChannelKind,
    /// When the agent got it: the start of the handle time measured on resolve.
    at: DateTime<Utc>,
}

type OpenList = BTreeMap<ConversationId, OpenEntry>;

/// Measured handle time (assignment to resolve), a moving average.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct Stats {
    average_handle_seconds: Option<f64>,
    samples: u64,
}

pub async fn settings<P: Platform>(p: &P, tactor: &str) -> Result<RoutingSettings, ApiError> {
    Ok(get_json(p, tactor, ROUTING_SETTINGS)
        .await?
        .unwrap_or_default())
}

pub(crate) fn routing_actor() -> Actor {
    Actor {
        kind: ActorKind::System,
        id: Some("routing".into()),
    }
}

/// The effective presence of an agent now, from the console's last report and the idle
/// timeouts. An agent who never reported is offline.
pub(crate) fn presence_now(
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
pub(crate) async fn open_list<P: Platform>(
    p: &P,
    tactor: &str,
    tx: Option<&mut Tx<'_, P>>,
    agent: &AgentId,
) -> Result<OpenList, ApiError> {
    let key = keys::tenant::routing_open_conversations(agent);
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
        let mut stats: Stats = tx.get_json(ROUTING_STATS).await?.unwrap_or_default();
        for sample in handled {
            stats.average_handle_seconds = Some(match stats.average_handle_seconds {
                None => sample,
                Some(avg) => avg * 0.9 + sample * 0.1,
            });
            stats.samples += 1;
        }
        tx.put_json(ROUTING_STATS, &stats)?;
    }
    Ok(kept)
}

/// The agents a set of targets can reach, as routing sees them now.
pub(crate) async fn snapshots<P: Platform>(
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
        let profile: AgentProfile = get_json(p, tactor, &keys::tenant::routing_profile(&id))
            .await?
            .unwrap_or_else(|| AgentProfile::new(id));
        let presence = if agent.active {
            presence_now(
                get_json(p, tactor, &keys::tenant::presence(&id)).await?,
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
pub(crate) async fn count_open<P: Platform>(
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
    let key = keys::tenant::routing_open_conversations(&agent);
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
pub(crate) async fn apply_assignment<P: Platform>(
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
        let mut queue: Vec<WaitingConversation> =
            tx.get_json(ROUTING_QUEUE).await?.unwrap_or_default();
        if queue.iter().any(|w| w.conversation_id == *id) {
            return Ok(Routed::Skipped);
        }
        let rules: Vec<RoutingRule> = tx.get_json(ROUTING_RULES).await?.unwrap_or_default();
        if rules.is_empty() {
            return Ok(Routed::Skipped);
        }
        let teams: Vec<Team> = tx.get_json(ROUTING_TEAMS).await?.unwrap_or_default();
        let contact: Option<Contact> =
            get_json(p, tactor, &Contact::storage_key(&c.contact_id.to_string())).await?;
        let mut facts = routing_facts(&c, contact.as_ref(), text, &settings, now);
        // Rules on intents see what the tenant's bot model recognises in the message.
        if rules.iter().any(|r| !r.conditions.intents.is_empty()) {
            facts.intent = crate::domain::intents::intent_of(p, tactor, text).await?;
        }
        let Some(rule) = first_match(&rules, &facts) else {
            return Ok(Routed::Decided(RoutingDecision::Unmatched {
                priority: c.priority,
            }));
        };
        let target = rule.target.clone();
        let agents =
            snapshots(p, tactor, Some(&mut *tx), &teams, &[target], &settings, now).await?;
        let state: RoundRobinState = tx.get_json(ROUTING_ROUND_ROBIN).await?.unwrap_or_default();
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
                tx.put_json(ROUTING_ROUND_ROBIN, &next)?;
            }
            RoutingDecision::Queued(q) => {
                queue.push(q.clone().waiting(*id, now));
                tx.put_json(ROUTING_QUEUE, &queue)?;
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

pub(crate) fn routing_facts(
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
        crate::domain::messages::message_sentiment(SenderKind::Contact, text).map(f64::from);
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
    let waiting: Option<Vec<WaitingConversation>> = get_json(p, tactor, ROUTING_QUEUE).await?;
    if waiting.is_none_or(|q| q.is_empty()) {
        return Ok(Vec::new());
    }
    let now = p.now();
    let settings = settings(p, tactor).await?;
    transact(p, tactor, async |tx| {
        let mut queue: Vec<WaitingConversation> =
            tx.get_json(ROUTING_QUEUE).await?.unwrap_or_default();
        if queue.is_empty() {
            return Ok(Vec::new());
        }
        let original_len = queue.len();
        let teams: Vec<Team> = tx.get_json(ROUTING_TEAMS).await?.unwrap_or_default();
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
        let state: RoundRobinState = tx.get_json(ROUTING_ROUND_ROBIN).await?.unwrap_or_default();
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
            tx.put_json(ROUTING_QUEUE, &queue)?;
        }
        if !done.is_empty() {
            tx.put_json(ROUTING_ROUND_ROBIN, &next)?;
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
    let queue: Vec<WaitingConversation> = get_json(p, tactor, ROUTING_QUEUE)
        .await?
        .unwrap_or_default();
    let Some(me) = queue.iter().find(|w| w.conversation_id == *id) else {
        return Ok(None);
    };
    let settings = settings(p, tactor).await?;
    let teams: Vec<Team> = get_json(p, tactor, ROUTING_TEAMS)
        .await?
        .unwrap_or_default();
    let target = me.placement.target.clone();
    let now = p.now();
    let agents = snapshots(p, tactor, None, &teams, &[target], &settings, now).await?;
    let stats: Stats = get_json(p, tactor, ROUTING_STATS)
        .await?
        .unwrap_or_default();
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
        let mut queue: Vec<WaitingConversation> =
            tx.get_json(ROUTING_QUEUE).await?.unwrap_or_default();
        let len = queue.len();
        queue.retain(|w| w.conversation_id != after.id);
        if queue.len() != len {
            tx.put_json(ROUTING_QUEUE, &queue)?;
        }
    }
    Ok(())
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
        let teams: Vec<Team> = tx.get_json(ROUTING_TEAMS).await?.unwrap_or_default();
        if let RouteTarget::Team(t) = target {
            if !teams.iter().any(|x| &x.id == t) {
                return Err(ApiError::unprocessable(format!("no team `{t}`")));
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
        let state: RoundRobinState = tx.get_json(ROUTING_ROUND_ROBIN).await?.unwrap_or_default();
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
                tx.put_json(ROUTING_ROUND_ROBIN, &next)?;
                let mut queue: Vec<WaitingConversation> =
                    tx.get_json(ROUTING_QUEUE).await?.unwrap_or_default();
                let len = queue.len();
                queue.retain(|w| w.conversation_id != *id);
                if queue.len() != len {
                    tx.put_json(ROUTING_QUEUE, &queue)?;
                }
            }
            RoutingDecision::Queued(q) => {
                let mut queue: Vec<WaitingConversation> =
                    tx.get_json(ROUTING_QUEUE).await?.unwrap_or_default();
                queue.retain(|w| w.conversation_id != *id);
                queue.push(q.clone().waiting(*id, now));
                tx.put_json(ROUTING_QUEUE, &queue)?;
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
