//! Picking an agent: strategies (round robin, least busy, skill match), the round-robin state
//! the caller persists, and the decision a routing rule produces.
//!
//! # Fair round robin without shared memory
//!
//! Each team has a cursor: the agent who got its last conversation. The next conversation goes
//! to the first eligible member *after* the cursor in agent-id order, wrapping around. So the
//! cursor sweeps the team cyclically and can only pass over an agent who is ineligible at that
//! moment; two agents who stay eligible therefore alternate, and nobody gets two in a row while
//! another eligible member waits. The order is by id rather than by position in the member list,
//! so adding or removing members never makes the cursor jump.
//!
//! The cursor lives in [`RoundRobinState`], which the caller stores and passes back: restarts
//! and edge nodes share nothing else. Every decision that assigns bumps
//! [`RoundRobinState::revision`], so two concurrent arrivals that read the same state produce
//! the same revision and the caller's compare-and-swap lets only one commit; the other re-reads
//! state and loads and decides again. The agent loads must come from the same transaction, which
//! is also what keeps concurrent arrivals from overfilling an agent.
//!
//! # Eligibility
//!
//! An agent takes a new conversation only when online (away agents keep their conversations but
//! get no new ones), below capacity on the conversation's channel, speaking its language when the
//! rule asks for that, and holding the required skills for skill match. When nobody qualifies the
//! decision is [`RoutingDecision::Queued`], naming the filter that left nobody.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::agents::{AgentProfile, IdleTimeouts, Presence, PresenceStatus, Team, MAX_SKILL_LEVEL};
use super::names::is_slug;
use crate::ids::{AgentId, ConversationId};
use crate::model::{ChannelKind, Priority};
use crate::sort::sort_by_key;

/// Most skills a skill-match strategy may require.
pub const MAX_REQUIRED_SKILLS: usize = 10;

/// The rule (routing or automation) that made a decision, for the assignment event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    pub id: String,
    pub name: String,
}

/// A skill an agent must have, at `min_level` or better.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillRequirement {
    pub tag: String,
    #[serde(default = "SkillRequirement::any_level")]
    pub min_level: u8,
}

impl SkillRequirement {
    fn any_level() -> u8 {
        1
    }
}

/// How an agent is picked among the eligible members of a team:
/// `{"type": "skill_match", "skills": [...]}`. Decoded by hand (see the `Deserialize` impl
/// below); the attributes here shape its encoding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Strategy {
    /// The next eligible member after the last one assigned.
    #[default]
    RoundRobin,
    /// The member with the lowest load on the conversation's channel (open conversations
    /// relative to capacity), then the fewest open conversations overall; ties go round robin.
    LeastBusy,
    /// Only members holding every required skill; the highest total level among them wins,
    /// then the least busy; ties go round robin.
    SkillMatch { skills: Vec<SkillRequirement> },
}

crate::tag_set! {
    /// The strategy types, as `type` names them.
    enum StrategyType {
        RoundRobin = "round_robin",
        LeastBusy = "least_busy",
        SkillMatch = "skill_match",
    }
}

/// serde's derive for an internally tagged enum buffers the object and runs a decoder per
/// variant over the buffer; one pass over the fields takes what it took (unknown fields
/// ignored) with the same messages.
impl<'de> Deserialize<'de> for Strategy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(StrategyVisitor)
    }
}

struct StrategyVisitor;

impl<'de> serde::de::Visitor<'de> for StrategyVisitor {
    type Value = Strategy;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        // As the derived decoder said it.
        f.write_str("internally tagged enum Strategy")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Strategy, A::Error> {
        use serde::de::{Error, IgnoredAny};
        let mut kind = None;
        let mut skills = None;
        while let Some(key) = map.next_key::<String>()? {
            let seen = match key.as_str() {
                "type" => kind
                    .replace(map.next_value::<StrategyType>()?)
                    .map(|_| "type"),
                "skills" => skills.replace(map.next_value()?).map(|_| "skills"),
                _ => map.next_value::<IgnoredAny>().map(|_| None)?,
            };
            if let Some(name) = seen {
                return Err(A::Error::duplicate_field(name));
            }
        }
        Ok(match kind.ok_or_else(|| A::Error::missing_field("type"))? {
            StrategyType::RoundRobin => Strategy::RoundRobin,
            StrategyType::LeastBusy => Strategy::LeastBusy,
            StrategyType::SkillMatch => Strategy::SkillMatch {
                skills: skills.ok_or_else(|| A::Error::missing_field("skills"))?,
            },
        })
    }
}

/// The name of a strategy, as recorded in assignment events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyKind {
    RoundRobin,
    LeastBusy,
    SkillMatch,
    /// The target was one named agent.
    Direct,
}

/// Why a strategy is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategyError {
    #[error("skill match needs at least one skill")]
    NoSkills,
    #[error("skill match takes at most {MAX_REQUIRED_SKILLS} skills")]
    TooManySkills,
    #[error("skill tag `{0}` must be 1-64 characters of a-z, 0-9, `-` and `_`")]
    InvalidSkillTag(String),
    #[error("skill `{tag}` requires level {level}; levels run from 1 to {MAX_SKILL_LEVEL}")]
    LevelOutOfRange { tag: String, level: u8 },
    #[error("skill `{0}` is required twice")]
    DuplicateSkill(String),
}

impl Strategy {
    pub fn validate(&self) -> Result<(), StrategyError> {
        let Strategy::SkillMatch { skills } = self else {
            return Ok(());
        };
        if skills.is_empty() {
            return Err(StrategyError::NoSkills);
        }
        if skills.len() > MAX_REQUIRED_SKILLS {
            return Err(StrategyError::TooManySkills);
        }
        let mut seen = BTreeSet::new();
        for skill in skills {
            if !is_slug(&skill.tag) {
                return Err(StrategyError::InvalidSkillTag(skill.tag.clone()));
            }
            if !(1..=MAX_SKILL_LEVEL).contains(&skill.min_level) {
                return Err(StrategyError::LevelOutOfRange {
                    tag: skill.tag.clone(),
                    level: skill.min_level,
                });
            }
            if !seen.insert(skill.tag.as_str()) {
                return Err(StrategyError::DuplicateSkill(skill.tag.clone()));
            }
        }
        Ok(())
    }

    pub fn kind(&self) -> StrategyKind {
        match self {
            Strategy::RoundRobin => StrategyKind::RoundRobin,
            Strategy::LeastBusy => StrategyKind::LeastBusy,
            Strategy::SkillMatch { .. } => StrategyKind::SkillMatch,
        }
    }

    fn required_skills(&self) -> &[SkillRequirement] {
        match self {
            Strategy::SkillMatch { skills } => skills,
            _ => &[],
        }
    }
}

/// Where a conversation goes: `{"team": "finance"}` or `{"agent": "agt_…"}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteTarget {
    Team(String),
    Agent(AgentId),
}

/// Everything needed to (re)try an assignment: kept with a queued conversation, so freeing
/// capacity later applies the same target and requirements without re-running the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub target: RouteTarget,
    #[serde(default)]
    pub strategy: Strategy,
    pub channel: ChannelKind,
    /// The language the agent must speak; set when the rule requires a language match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Placement {
    /// The placement for handing a conversation to `target` outside the routing rules (an
    /// automation rule's assign action, a manual "assign to team"): a team picks its member
    /// with the team's own strategy.
    pub fn for_target(target: &RouteTarget, teams: &[Team], channel: ChannelKind) -> Placement {
        let strategy = match target {
            RouteTarget::Team(id) => teams
                .iter()
                .find(|t| &t.id == id)
                .map(|t| t.strategy.clone())
                .unwrap_or_default(),
            RouteTarget::Agent(_) => Strategy::RoundRobin,
        };
        Placement {
            target: target.clone(),
            strategy,
            channel,
            language: None,
        }
    }
}

/// An agent as routing sees them at decision time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSnapshot {
    pub profile: AgentProfile,
    /// The effective presence now (see [`super::Presence::effective`]). Deactivated agents are
    /// left out of the roster or reported offline.
    pub presence: PresenceStatus,
    /// Open conversations assigned to the agent, per channel.
    #[serde(default)]
    pub open: BTreeMap<ChannelKind, u32>,
}

impl AgentSnapshot {
    /// The snapshot at `now`: presence after idle timeouts, and the given open counts.
    pub fn at(
        profile: AgentProfile,
        presence: &Presence,
        timeouts: &IdleTimeouts,
        open: BTreeMap<ChannelKind, u32>,
        now: DateTime<Utc>,
    ) -> Self {
        AgentSnapshot {
            profile,
            presence: presence.effective(now, timeouts),
            open,
        }
    }

    pub fn id(&self) -> AgentId {
        self.profile.agent_id
    }

    pub fn open_on(&self, channel: ChannelKind) -> u32 {
        self.open.get(&channel).copied().unwrap_or(0)
    }

    pub fn total_open(&self) -> u32 {
        self.open
            .values()
            .fold(0u32, |sum, n| sum.saturating_add(*n))
    }

    /// Free places on `channel` (0 when at or over capacity).
    pub fn free_on(&self, channel: ChannelKind) -> u32 {
        self.profile
            .capacity
            .limit(channel)
            .saturating_sub(self.open_on(channel))
    }

    /// Counts one more open conversation on `channel`.
    pub fn take(&mut self, channel: ChannelKind) {
        let open = self.open.entry(channel).or_insert(0);
        *open = open.saturating_add(1);
    }

    /// Counts one conversation on `channel` as closed or transferred away.
    pub fn release(&mut self, channel: ChannelKind) {
        if let Some(open) = self.open.get_mut(&channel) {
            *open = open.saturating_sub(1);
        }
    }

    fn skill_score(&self, skills: &[SkillRequirement]) -> Option<u32> {
        skills.iter().try_fold(0u32, |score, req| {
            let level = self.profile.skill_level(&req.tag)?;
            (level >= req.min_level).then_some(score + u32::from(level))
        })
    }
}

/// The tenant's teams and agents at decision time.
#[derive(Debug, Clone, Copy)]
pub struct Roster<'a> {
    pub teams: &'a [Team],
    pub agents: &'a [AgentSnapshot],
}

impl<'a> Roster<'a> {
    pub fn new(teams: &'a [Team], agents: &'a [AgentSnapshot]) -> Self {
        Roster { teams, agents }
    }

    pub fn team(&self, id: &str) -> Option<&'a Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    pub fn agent(&self, id: AgentId) -> Option<&'a AgentSnapshot> {
        self.agents.iter().find(|a| a.id() == id)
    }
}

/// What the caller persists between decisions: one cursor per team, and a revision that
/// changes with every assignment (the compare-and-swap token).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundRobinState {
    #[serde(default)]
    pub revision: u64,
    /// Team id → the member who got the team's last conversation.
    #[serde(default)]
    pub cursors: BTreeMap<String, AgentId>,
}

/// Why a conversation waits instead of being assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueReason {
    /// The target team does not exist (deleted after the rule was written).
    UnknownTeam,
    /// The target agent is not in the roster.
    UnknownAgent,
    /// The team has no members.
    NoMembers,
    /// Nobody in the target is online.
    NobodyOnline,
    /// Nobody online speaks the conversation's language.
    NoLanguageMatch,
    /// Nobody online has the required skills.
    NoSkillMatch,
    /// Everyone who qualifies is at capacity on the channel.
    AllAtCapacity,
}

/// A conversation handed to an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub agent_id: AgentId,
    /// The team the agent was picked from, when the target was a team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub priority: Priority,
    pub rule: RuleRef,
    pub strategy: StrategyKind,
}

/// A conversation that has to wait for capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub placement: Placement,
    pub priority: Priority,
    pub rule: RuleRef,
    pub reason: QueueReason,
}

/// The outcome of routing one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RoutingDecision {
    Assigned(Assignment),
    Queued(Queued),
    /// No enabled rule matched: the conversation stays unassigned in the shared inbox.
    Unmatched {
        priority: Priority,
    },
}

impl RoutingDecision {
    /// The rule that decided, if any.
    pub fn rule(&self) -> Option<&RuleRef> {
        match self {
            RoutingDecision::Assigned(a) => Some(&a.rule),
            RoutingDecision::Queued(q) => Some(&q.rule),
            RoutingDecision::Unmatched { .. } => None,
        }
    }

    pub fn priority(&self) -> Priority {
        match self {
            RoutingDecision::Assigned(a) => a.priority,
            RoutingDecision::Queued(q) => q.priority,
            RoutingDecision::Unmatched { priority } => *priority,
        }
    }
}

/// Members of the target that could take the conversation if they had room, or why nobody
/// could. Shared by assignment and queue wait estimates.
pub(crate) fn qualified<'a>(
    placement: &Placement,
    roster: &Roster<'a>,
) -> Result<Vec<&'a AgentSnapshot>, QueueReason> {
    let candidates: Vec<&AgentSnapshot> = match &placement.target {
        RouteTarget::Team(id) => {
            let team = roster.team(id).ok_or(QueueReason::UnknownTeam)?;
            if team.members.is_empty() {
                return Err(QueueReason::NoMembers);
            }
            // Members without a snapshot are unknown to routing: treated like offline.
            team.members
                .iter()
                .filter_map(|m| roster.agent(*m))
                .collect()
        }
        RouteTarget::Agent(id) => vec![roster.agent(*id).ok_or(QueueReason::UnknownAgent)?],
    };
    let stage = |list: Vec<&'a AgentSnapshot>,
                 keep: &dyn Fn(&AgentSnapshot) -> bool,
                 reason: QueueReason| {
        let kept: Vec<_> = list.into_iter().filter(|a| keep(a)).collect();
        if kept.is_empty() {
            Err(reason)
        } else {
            Ok(kept)
        }
    };
    let online = stage(
        candidates,
        &|a| a.presence == PresenceStatus::Online,
        QueueReason::NobodyOnline,
    )?;
    let speaking = match &placement.language {
        Some(language) => stage(
            online,
            &|a| a.profile.speaks(language),
            QueueReason::NoLanguageMatch,
        )?,
        None => online,
    };
    let skills = placement.strategy.required_skills();
    stage(
        speaking,
        &|a| a.skill_score(skills).is_some(),
        QueueReason::NoSkillMatch,
    )
}

/// Load on a channel as a fraction `open / limit`, compared exactly by cross-multiplying.
fn cmp_load(a: &AgentSnapshot, b: &AgentSnapshot, channel: ChannelKind) -> Ordering {
    let (oa, la) = (
        u64::from(a.open_on(channel)),
        u64::from(a.profile.capacity.limit(channel)),
    );
    let (ob, lb) = (
        u64::from(b.open_on(channel)),
        u64::from(b.profile.capacity.limit(channel)),
    );
    (oa * lb)
        .cmp(&(ob * la))
        .then_with(|| a.total_open().cmp(&b.total_open()))
}

/// Picks an agent for `placement`, or says why nobody can take it. Returns the agent and the
/// team they were picked from.
fn pick(placement: &Placement, roster: &Roster<'_>, state: &RoundRobinState) -> Pick {
    let qualified = match qualified(placement, roster) {
        Ok(q) => q,
        Err(reason) => return Pick::Wait(reason),
    };
    let channel = placement.channel;
    let mut free: Vec<&AgentSnapshot> = qualified
        .into_iter()
        .filter(|a| a.free_on(channel) > 0)
        .collect();
    if free.is_empty() {
        return Pick::Wait(QueueReason::AllAtCapacity);
    }
    let team = match &placement.target {
        RouteTarget::Team(id) => id,
        RouteTarget::Agent(id) => return Pick::Agent(*id, None),
    };
    // Rotate so the member after the cursor comes first; every strategy breaks its ties in
    // this order, which keeps even least-busy and skill-match assignments turn-fair.
    sort_by_key(&mut free, |a| a.id());
    if let Some(cursor) = state.cursors.get(team) {
        let after = free.partition_point(|a| a.id() <= *cursor);
        free.rotate_left(after);
    }
    let skills = placement.strategy.required_skills();
    let chosen = match placement.strategy {
        Strategy::RoundRobin => free.first(),
        Strategy::LeastBusy => free.iter().min_by(|a, b| cmp_load(a, b, channel)),
        Strategy::SkillMatch { .. } => free.iter().min_by(|a, b| {
            // Higher score first; `min_by` keeps the first of equal elements, so ties keep
            // the rotation order.
            b.skill_score(skills)
                .cmp(&a.skill_score(skills))
                .then_with(|| cmp_load(a, b, channel))
        }),
    };
    match chosen {
        Some(agent) => Pick::Agent(agent.id(), Some(team.clone())),
        None => Pick::Wait(QueueReason::AllAtCapacity),
    }
}

enum Pick {
    Agent(AgentId, Option<String>),
    Wait(QueueReason),
}

/// Assigns a conversation according to `placement`, on behalf of `rule`: the pure core of
/// routing. Queues when nobody eligible has room. The returned state is the input state
/// unchanged for a queue decision, and otherwise carries the moved cursor and a new revision.
pub fn assign(
    placement: &Placement,
    priority: Priority,
    rule: RuleRef,
    roster: &Roster<'_>,
    state: &RoundRobinState,
) -> (RoutingDecision, RoundRobinState) {
    match pick(placement, roster, state) {
        Pick::Wait(reason) => (
            RoutingDecision::Queued(Queued {
                placement: placement.clone(),
                priority,
                rule,
                reason,
            }),
            state.clone(),
        ),
        Pick::Agent(agent_id, team) => {
            let mut next = state.clone();
            next.revision = next.revision.wrapping_add(1);
            if let Some(team) = &team {
                next.cursors.insert(team.clone(), agent_id);
            }
            let strategy = match placement.target {
                RouteTarget::Agent(_) => StrategyKind::Direct,
                RouteTarget::Team(_) => placement.strategy.kind(),
            };
            (
                RoutingDecision::Assigned(Assignment {
                    agent_id,
                    team,
                    priority,
                    rule,
                    strategy,
                }),
                next,
            )
        }
    }
}

/// How an assignment came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentSource {
    /// A routing rule on arrival.
    Routing,
    /// A routing rule's queued conversation, once capacity freed up.
    Queue,
    /// An automation rule's assign action.
    Automation,
    /// An agent or admin assigned or transferred it by hand; capacity does not apply.
    Manual,
}

/// The data of a `conversation.assigned` event: who got the conversation and which rule chose
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentEvent {
    pub conversation_id: ConversationId,
    pub agent_id: AgentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The agent it was taken from, for a transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_agent_id: Option<AgentId>,
    pub source: AssignmentSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<StrategyKind>,
    pub priority: Priority,
}

impl AssignmentEvent {
    /// The event kind to store it under.
    pub const KIND: &'static str = "conversation.assigned";

    /// The event for an assignment made by a rule.
    pub fn from_assignment(
        conversation_id: ConversationId,
        assignment: &Assignment,
        source: AssignmentSource,
        previous_agent_id: Option<AgentId>,
    ) -> Self {
        AssignmentEvent {
            conversation_id,
            agent_id: assignment.agent_id,
            team: assignment.team.clone(),
            previous_agent_id,
            source,
            rule: Some(assignment.rule.clone()),
            strategy: Some(assignment.strategy),
            priority: assignment.priority,
        }
    }

    /// The event for a manual assignment or transfer.
    pub fn manual(
        conversation_id: ConversationId,
        agent_id: AgentId,
        team: Option<String>,
        previous_agent_id: Option<AgentId>,
        priority: Priority,
    ) -> Self {
        AssignmentEvent {
            conversation_id,
            agent_id,
            team,
            previous_agent_id,
            source: AssignmentSource::Manual,
            rule: None,
            strategy: None,
            priority,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::routing::agents::{Capacity, Skill};

    pub(crate) fn agent_id(n: u64) -> AgentId {
        AgentId::from_parts(1_700_000_000_000 + n, u128::from(n))
    }

    pub(crate) fn snapshot(n: u64, capacity: u32) -> AgentSnapshot {
        let mut profile = AgentProfile::new(agent_id(n));
        profile.capacity = Capacity::uniform(capacity);
        AgentSnapshot {
            profile,
            presence: PresenceStatus::Online,
            open: BTreeMap::new(),
        }
    }

    pub(crate) fn team(id: &str, members: &[u64]) -> Team {
        Team {
            id: id.into(),
            name: id.into(),
            members: members.iter().map(|&n| agent_id(n)).collect(),
            strategy: Strategy::RoundRobin,
        }
    }

    pub(crate) fn rule_ref() -> RuleRef {
        RuleRef {
            id: "r1".into(),
            name: "Rule one".into(),
        }
    }

    fn placement(strategy: Strategy) -> Placement {
        Placement {
            target: RouteTarget::Team("support".into()),
            strategy,
            channel: ChannelKind::Web,
            language: None,
        }
    }

    fn assigned_to(decision: &RoutingDecision) -> Option<AgentId> {
        match decision {
            RoutingDecision::Assigned(a) => Some(a.agent_id),
            _ => None,
        }
    }

    fn queue_reason(decision: &RoutingDecision) -> Option<QueueReason> {
        match decision {
            RoutingDecision::Queued(q) => Some(q.reason),
            _ => None,
        }
    }

    #[test]
    fn round_robin_cycles_through_the_team_in_id_order() {
        let teams = [team("support", &[3, 1, 2])];
        let agents = [snapshot(1, 5), snapshot(2, 5), snapshot(3, 5)];
        let roster = Roster::new(&teams, &agents);
        let mut state = RoundRobinState::default();
        let mut order = Vec::new();
        for _ in 0..6 {
            let (decision, next) = assign(
                &placement(Strategy::RoundRobin),
                Priority::Normal,
                rule_ref(),
                &roster,
                &state,
            );
            order.push(assigned_to(&decision).expect("assigned"));
            state = next;
        }
        let ids: Vec<AgentId> = [1, 2, 3, 1, 2, 3].map(agent_id).to_vec();
        assert_eq!(order, ids);
        assert_eq!(state.revision, 6);
    }

    #[test]
    fn round_robin_skips_agents_who_are_away_offline_or_full() {
        let teams = [team("support", &[1, 2, 3, 4])];
        let mut agents = [
            snapshot(1, 5),
            snapshot(2, 5),
            snapshot(3, 1),
            snapshot(4, 5),
        ];
        agents[1].presence = PresenceStatus::Away;
        agents[2].open.insert(ChannelKind::Web, 1);
        agents[3].presence = PresenceStatus::Offline;
        let roster = Roster::new(&teams, &agents);
        let mut state = RoundRobinState::default();
        state.cursors.insert("support".into(), agent_id(1));
        let (decision, _) = assign(
            &placement(Strategy::RoundRobin),
            Priority::Normal,
            rule_ref(),
            &roster,
            &state,
        );
        assert_eq!(assigned_to(&decision), Some(agent_id(1)));
    }

    #[test]
    fn a_departed_cursor_agent_does_not_break_the_rotation() {
        let teams = [team("support", &[1, 3])];
        let agents = [snapshot(1, 5), snapshot(3, 5)];
        let roster = Roster::new(&teams, &agents);
        let mut state = RoundRobinState::default();
        state.cursors.insert("support".into(), agent_id(2));
        let (decision, next) = assign(
            &placement(Strategy::RoundRobin),
            Priority::Normal,
            rule_ref(),
            &roster,
            &state,
        );
        assert_eq!(assigned_to(&decision), Some(agent_id(3)));
        assert_eq!(next.cursors.get("support"), Some(&agent_id(3)));
    }

    #[test]
    fn the_queue_reason_names_the_filter_that_left_nobody() {
        let mut agents = [snapshot(1, 1), snapshot(2, 1)];
        agents[0].profile.languages = vec!["de".into()];
        agents[1].profile.languages = vec!["de".into()];
        agents[0].profile.skills = vec![Skill {
            tag: "refunds".into(),
            level: 2,
        }];
        let teams = [team("support", &[1, 2]), team("empty", &[])];
        let state = RoundRobinState::default();
        let run = |agents: &[AgentSnapshot], placement: &Placement| {
            let roster = Roster::new(&teams, agents);
            queue_reason(&assign(placement, Priority::Normal, rule_ref(), &roster, &state).0)
        };

        let mut french = placement(Strategy::RoundRobin);
        french.language = Some("fr".into());
        assert_eq!(run(&agents, &french), Some(QueueReason::NoLanguageMatch));

        let expert = placement(Strategy::SkillMatch {
            skills: vec![SkillRequirement {
                tag: "refunds".into(),
                min_level: 3,
            }],
        });
        assert_eq!(run(&agents, &expert), Some(QueueReason::NoSkillMatch));

        let mut gone = placement(Strategy::RoundRobin);
        gone.target = RouteTarget::Team("billing".into());
        assert_eq!(run(&agents, &gone), Some(QueueReason::UnknownTeam));
        gone.target = RouteTarget::Team("empty".into());
        assert_eq!(run(&agents, &gone), Some(QueueReason::NoMembers));
        gone.target = RouteTarget::Agent(agent_id(9));
        assert_eq!(run(&agents, &gone), Some(QueueReason::UnknownAgent));

        let mut busy = agents.clone();
        for a in &mut busy {
            a.take(ChannelKind::Web);
        }
        assert_eq!(
            run(&busy, &placement(Strategy::RoundRobin)),
            Some(QueueReason::AllAtCapacity)
        );
        for a in &mut busy {
            a.presence = PresenceStatus::Offline;
        }
        assert_eq!(
            run(&busy, &placement(Strategy::RoundRobin)),
            Some(QueueReason::NobodyOnline)
        );
    }

    #[test]
    fn a_queue_decision_leaves_the_state_untouched() {
        let teams = [team("support", &[1])];
        let mut agents = [snapshot(1, 1)];
        agents[0].take(ChannelKind::Web);
        let roster = Roster::new(&teams, &agents);
        let state = RoundRobinState::default();
        let (decision, next) = assign(
            &placement(Strategy::RoundRobin),
            Priority::High,
            rule_ref(),
            &roster,
            &state,
        );
        assert_eq!(queue_reason(&decision), Some(QueueReason::AllAtCapacity));
        assert_eq!(decision.priority(), Priority::High);
        assert_eq!(next, state);
    }

    #[test]
    fn least_busy_prefers_the_lowest_relative_load() {
        let teams = [team("support", &[1, 2, 3])];
        let mut agents = [snapshot(1, 2), snapshot(2, 10), snapshot(3, 4)];
        agents[0].open.insert(ChannelKind::Web, 1); // 50 %
        agents[1].open.insert(ChannelKind::Web, 3); // 30 %
        agents[2].open.insert(ChannelKind::Web, 2); // 50 %
        let roster = Roster::new(&teams, &agents);
        let (decision, _) = assign(
            &placement(Strategy::LeastBusy),
            Priority::Normal,
            rule_ref(),
            &roster,
            &RoundRobinState::default(),
        );
        assert_eq!(assigned_to(&decision), Some(agent_id(2)));
    }

    #[test]
    fn least_busy_ties_rotate_instead_of_favouring_one_agent() {
        let teams = [team("support", &[1, 2])];
        let agents = [snapshot(1, 5), snapshot(2, 5)];
        let roster = Roster::new(&teams, &agents);
        let mut state = RoundRobinState::default();
        let mut got = Vec::new();
        for _ in 0..4 {
            let (decision, next) = assign(
                &placement(Strategy::LeastBusy),
                Priority::Normal,
                rule_ref(),
                &roster,
                &state,
            );
            got.push(assigned_to(&decision).expect("assigned"));
            state = next;
        }
        assert_eq!(got, [1, 2, 1, 2].map(agent_id));
    }

    #[test]
    fn skill_match_picks_the_most_skilled_qualified_agent() {
        let teams = [team("finance", &[1, 2, 3])];
        let mut agents = [snapshot(1, 3), snapshot(2, 3), snapshot(3, 3)];
        let skill = |tag: &str, level| Skill {
            tag: tag.into(),
            level,
        };
        agents[0].profile.skills = vec![skill("refunds", 2)];
        agents[1].profile.skills = vec![skill("refunds", 5), skill("billing", 1)];
        agents[2].profile.skills = vec![skill("refunds", 4), skill("billing", 4)];
        let roster = Roster::new(&teams, &agents);
        let mut placement = placement(Strategy::SkillMatch {
            skills: vec![
                SkillRequirement {
                    tag: "refunds".into(),
                    min_level: 2,
                },
                SkillRequirement {
                    tag: "billing".into(),
                    min_level: 1,
                },
            ],
        });
        placement.target = RouteTarget::Team("finance".into());
        let (decision, _) = assign(
            &placement,
            Priority::Normal,
            rule_ref(),
            &roster,
            &RoundRobinState::default(),
        );
        // Agent 3 scores 8, agent 2 scores 6, agent 1 lacks billing.
        assert_eq!(assigned_to(&decision), Some(agent_id(3)));
        match decision {
            RoutingDecision::Assigned(a) => assert_eq!(a.strategy, StrategyKind::SkillMatch),
            other => panic!("expected an assignment, got {other:?}"),
        }
    }

    #[test]
    fn a_direct_target_is_assigned_only_when_online_with_room() {
        let teams: [Team; 0] = [];
        let mut agents = [snapshot(7, 1)];
        let direct = Placement {
            target: RouteTarget::Agent(agent_id(7)),
            strategy: Strategy::RoundRobin,
            channel: ChannelKind::Email,
            language: None,
        };
        let state = RoundRobinState::default();
        let roster = Roster::new(&teams, &agents);
        let (decision, next) = assign(&direct, Priority::Normal, rule_ref(), &roster, &state);
        assert_eq!(assigned_to(&decision), Some(agent_id(7)));
        assert!(next.cursors.is_empty());
        assert_eq!(next.revision, 1);

        agents[0].presence = PresenceStatus::Away;
        let roster = Roster::new(&teams, &agents);
        let (decision, _) = assign(&direct, Priority::Normal, rule_ref(), &roster, &state);
        assert_eq!(queue_reason(&decision), Some(QueueReason::NobodyOnline));
    }

    #[test]
    fn concurrent_decisions_from_one_state_share_a_revision_so_only_one_commits() {
        let teams = [team("support", &[1, 2])];
        let agents = [snapshot(1, 5), snapshot(2, 5)];
        let roster = Roster::new(&teams, &agents);
        let state = RoundRobinState::default();
        let p = placement(Strategy::RoundRobin);
        let (first, a) = assign(&p, Priority::Normal, rule_ref(), &roster, &state);
        let (second, b) = assign(&p, Priority::Normal, rule_ref(), &roster, &state);
        // Deterministic: the same inputs give the same decision and the same new revision, so
        // a compare-and-swap on the revision refuses the second writer.
        assert_eq!(first, second);
        assert_eq!(a.revision, b.revision);
        assert_ne!(a.revision, state.revision);
    }

    #[test]
    fn strategies_and_decisions_use_snake_case_json() {
        let strategy: Strategy = serde_json::from_value(serde_json::json!({
            "type": "skill_match", "skills": [{"tag": "refunds"}]
        }))
        .expect("strategy");
        assert_eq!(
            strategy,
            Strategy::SkillMatch {
                skills: vec![SkillRequirement {
                    tag: "refunds".into(),
                    min_level: 1
                }]
            }
        );
        let target: RouteTarget =
            serde_json::from_value(serde_json::json!({"team": "finance"})).expect("target");
        assert_eq!(target, RouteTarget::Team("finance".into()));
        let decision = RoutingDecision::Unmatched {
            priority: Priority::Low,
        };
        assert_eq!(
            serde_json::to_value(&decision).expect("json"),
            serde_json::json!({"outcome": "unmatched", "priority": "low"})
        );
    }

    #[test]
    fn strategy_validation_refuses_empty_or_bad_skill_lists() {
        assert_eq!(
            Strategy::SkillMatch { skills: vec![] }.validate(),
            Err(StrategyError::NoSkills)
        );
        let req = |tag: &str, min_level| SkillRequirement {
            tag: tag.into(),
            min_level,
        };
        assert!(matches!(
            Strategy::SkillMatch {
                skills: vec![req("refunds", 6)]
            }
            .validate(),
            Err(StrategyError::LevelOutOfRange { .. })
        ));
        assert_eq!(
            Strategy::SkillMatch {
                skills: vec![req("refunds", 1), req("refunds", 2)]
            }
            .validate(),
            Err(StrategyError::DuplicateSkill("refunds".into()))
        );
    }

    #[test]
    fn a_team_target_outside_the_rules_uses_the_teams_own_strategy() {
        let mut finance = team("finance", &[1, 2]);
        finance.strategy = Strategy::LeastBusy;
        let teams = [finance];
        let placement = Placement::for_target(
            &RouteTarget::Team("finance".into()),
            &teams,
            ChannelKind::Email,
        );
        assert_eq!(placement.strategy, Strategy::LeastBusy);
        assert_eq!(placement.channel, ChannelKind::Email);
        let unknown =
            Placement::for_target(&RouteTarget::Team("gone".into()), &teams, ChannelKind::Web);
        assert_eq!(unknown.strategy, Strategy::RoundRobin);
    }

    #[test]
    fn a_snapshot_applies_idle_timeouts_to_the_stored_presence() {
        let presence = Presence {
            status: PresenceStatus::Online,
            last_seen: "2024-05-13T09:00:00Z".parse().expect("time"),
        };
        let snapshot = AgentSnapshot::at(
            AgentProfile::new(agent_id(1)),
            &presence,
            &IdleTimeouts::default(),
            BTreeMap::new(),
            "2024-05-13T09:10:00Z".parse().expect("time"),
        );
        assert_eq!(snapshot.presence, PresenceStatus::Away);
    }

    #[test]
    fn a_manual_transfer_event_names_no_rule() {
        let conversation = ConversationId::from_parts(1, 1);
        let event = AssignmentEvent::manual(
            conversation,
            agent_id(2),
            None,
            Some(agent_id(1)),
            Priority::Normal,
        );
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(json["source"], "manual");
        assert!(json.get("rule").is_none());
        assert_eq!(json["previous_agent_id"], agent_id(1).to_string());
    }
}

#[cfg(test)]
mod decode_tests {
    //! The hand-written decoder against the decoder serde derives for the same enum.

    use super::*;

    /// What `Strategy` was before its decoder was written by hand.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Derived {
        RoundRobin,
        LeastBusy,
        SkillMatch { skills: Vec<SkillRequirement> },
    }

    #[test]
    fn the_hand_written_decoder_accepts_and_refuses_what_the_derived_one_does() {
        let cases = [
            r#"{"type":"round_robin"}"#,
            r#"{"type":"least_busy"}"#,
            r#"{"type":"least_busy","note":"ignored"}"#,
            r#"{"type":"skill_match","skills":[{"tag":"billing","min_level":2}]}"#,
            r#"{"skills":[{"tag":"de"}],"type":"skill_match"}"#,
            r#"{"type":"skill_match","skills":[]}"#,
            // Refused: no type, an unknown type, a type that is not a string.
            r#"{"skills":[]}"#,
            r#"{"type":"random"}"#,
            // Refused: an unknown type with the fields of the last one, or spelt differently.
            r#"{"type":"random","skills":[{"tag":"billing","min_level":1}]}"#,
            r#"{"type":"SkillMatch","skills":[]}"#,
            r#"{"type":true}"#,
            r#"{"type":1}"#,
            // Refused: a missing field, a value of the wrong type, a field twice.
            r#"{"type":"skill_match"}"#,
            r#"{"type":"skill_match","skills":"billing"}"#,
            r#"{"type":"skill_match","skills":[{"tag":"de","colour":"red"}]}"#,
            r#"{"type":"round_robin","type":"least_busy"}"#,
            // Refused: not an object.
            r#""round_robin""#,
            r#"null"#,
        ];
        crate::tagged::testing::assert_decodes_as_derived::<Strategy, Derived>("Strategy", &cases);
    }
}
