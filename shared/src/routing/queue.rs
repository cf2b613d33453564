//! Waiting conversations: order, position and estimated wait for the visitor, and who goes
//! first when capacity frees up.
//!
//! A conversation that routing could not place waits with the [`Placement`] its rule chose.
//! The queue is ordered by urgency, then by how long the conversation has waited, then by id
//! (a total order, so every edge node agrees). A queue here is per target: the conversations
//! waiting for one team, or for one agent.
//!
//! When an agent frees a place (a conversation closes, an agent comes online, a capacity is
//! raised), [`next_assignment`] offers the freed capacity to the waiting conversations in queue
//! order; the first one that can now be placed gets it. A conversation that still cannot be
//! placed (it needs a skill or language the free agent lacks) does not block those behind it.
//! [`drain_queue`] repeats this until nothing more fits. Drain whenever capacity changes, before
//! routing new arrivals, so a newcomer never takes a place a waiting conversation could have had.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::agents::Team;
use super::assign::{
    assign, qualified, AgentSnapshot, Assignment, Placement, Queued, Roster, RoundRobinState,
    RouteTarget, RoutingDecision, RuleRef,
};
use crate::ids::ConversationId;
use crate::model::Priority;
use crate::sort::{sort, sort_by};

/// How urgent a priority is: `low` 0 up to `urgent` 3.
pub fn urgency(priority: Priority) -> u8 {
    match priority {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

/// A conversation waiting for an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingConversation {
    pub conversation_id: ConversationId,
    pub placement: Placement,
    pub priority: Priority,
    /// The rule that routed it; named again in the assignment event once it is placed.
    pub rule: RuleRef,
    pub enqueued_at: DateTime<Utc>,
}

impl Queued {
    /// The queue entry for this decision.
    pub fn waiting(
        self,
        conversation_id: ConversationId,
        enqueued_at: DateTime<Utc>,
    ) -> WaitingConversation {
        WaitingConversation {
            conversation_id,
            placement: self.placement,
            priority: self.priority,
            rule: self.rule,
            enqueued_at,
        }
    }
}

/// Queue order: more urgent first, then longer waiting, then lower id.
pub fn queue_order(a: &WaitingConversation, b: &WaitingConversation) -> Ordering {
    urgency(b.priority)
        .cmp(&urgency(a.priority))
        .then_with(|| a.enqueued_at.cmp(&b.enqueued_at))
        .then_with(|| a.conversation_id.cmp(&b.conversation_id))
}

/// Sorts waiting conversations into queue order.
pub fn sort_queue(queue: &mut [WaitingConversation]) {
    sort_by(queue, queue_order);
}

/// Where a conversation stands in its queue, as shown to the visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePosition {
    /// 1 for the next conversation to be placed.
    pub position: u32,
    /// Conversations waiting for the same target, this one included.
    pub waiting: u32,
    /// Expected seconds until an agent takes it; `None` when nobody who could take it is
    /// online, so no estimate is honest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_wait_seconds: Option<u64>,
}

/// The position of `conversation_id` in its queue and its estimated wait.
///
/// `average_handle_seconds` is the recent average time an agent keeps a conversation of this
/// target (the caller measures it). With `s` places served by the qualified online agents, one
/// place frees up every `average_handle_seconds / s` on average, so the conversation at position
/// `p` waits about `p × average_handle_seconds / s` — less the places that are free right now.
pub fn queue_position(
    queue: &[WaitingConversation],
    conversation_id: ConversationId,
    roster: &Roster<'_>,
    average_handle_seconds: u64,
) -> Option<QueuePosition> {
    let me = queue
        .iter()
        .find(|w| w.conversation_id == conversation_id)?;
    let same_target = || {
        queue
            .iter()
            .filter(|w| w.placement.target == me.placement.target)
    };
    let ahead = same_target()
        .filter(|w| queue_order(w, me) == Ordering::Less)
        .count();
    let waiting = same_target().count();
    let position = u32::try_from(ahead + 1).unwrap_or(u32::MAX);
    let channel = me.placement.channel;
    let estimated_wait_seconds = qualified(&me.placement, roster).ok().and_then(|agents| {
        let places: u64 = agents
            .iter()
            .map(|a| u64::from(a.profile.capacity.limit(channel)))
            .sum();
        let free: u64 = agents.iter().map(|a| u64::from(a.free_on(channel))).sum();
        if places == 0 {
            return None;
        }
        let turns = u64::from(position).saturating_sub(free);
        Some(
            turns
                .saturating_mul(average_handle_seconds)
                .div_ceil(places),
        )
    });
    Some(QueuePosition {
        position,
        waiting: u32::try_from(waiting).unwrap_or(u32::MAX),
        estimated_wait_seconds,
    })
}

/// A waiting conversation placed once capacity freed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAssignment {
    pub conversation_id: ConversationId,
    pub assignment: Assignment,
}

/// The first waiting conversation, in queue order, that can be assigned now, with its
/// assignment and the new round-robin state. `None` when nothing fits.
pub fn next_assignment(
    queue: &[WaitingConversation],
    roster: &Roster<'_>,
    state: &RoundRobinState,
) -> Option<(QueueAssignment, RoundRobinState)> {
    let mut order: Vec<&WaitingConversation> = queue.iter().collect();
    sort_by(&mut order, |a, b| queue_order(a, b));
    order.into_iter().find_map(|waiting| {
        match assign(
            &waiting.placement,
            waiting.priority,
            waiting.rule.clone(),
            roster,
            state,
        ) {
            (RoutingDecision::Assigned(assignment), next) => Some((
                QueueAssignment {
                    conversation_id: waiting.conversation_id,
                    assignment,
                },
                next,
            )),
            _ => None,
        }
    })
}

/// Places waiting conversations until nothing more fits, counting each placement against the
/// chosen agent's capacity. Returns the placements in the order they were made and the final
/// round-robin state; the caller removes the placed conversations from the queue.
pub fn drain_queue(
    queue: &[WaitingConversation],
    teams: &[Team],
    agents: &[AgentSnapshot],
    state: &RoundRobinState,
) -> (Vec<QueueAssignment>, RoundRobinState) {
    let mut remaining = queue.to_vec();
    let mut agents = agents.to_vec();
    let mut state = state.clone();
    let mut placed = Vec::new();
    loop {
        let roster = Roster::new(teams, &agents);
        let Some((done, next)) = next_assignment(&remaining, &roster, &state) else {
            break;
        };
        let channel = remaining
            .iter()
            .find(|w| w.conversation_id == done.conversation_id)
            .map(|w| w.placement.channel);
        remaining.retain(|w| w.conversation_id != done.conversation_id);
        if let (Some(agent), Some(channel)) = (
            agents
                .iter_mut()
                .find(|a| a.id() == done.assignment.agent_id),
            channel,
        ) {
            agent.take(channel);
        }
        state = next;
        placed.push(done);
    }
    (placed, state)
}

/// The targets that have conversations waiting (for the caller to re-check after a change).
pub fn waiting_targets(queue: &[WaitingConversation]) -> Vec<RouteTarget> {
    let mut targets: Vec<RouteTarget> = queue.iter().map(|w| w.placement.target.clone()).collect();
    sort(&mut targets);
    targets.dedup();
    targets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChannelKind;
    use crate::routing::agents::{PresenceStatus, Skill};
    use crate::routing::assign::tests::{agent_id, rule_ref, snapshot, team};
    use crate::routing::assign::{SkillRequirement, Strategy};

    fn at(minute: u32) -> DateTime<Utc> {
        format!("2024-05-13T09:{minute:02}:00Z")
            .parse()
            .expect("test timestamp")
    }

    fn waiting(n: u64, priority: Priority, minute: u32) -> WaitingConversation {
        WaitingConversation {
            conversation_id: ConversationId::from_parts(1_700_000_000_000 + n, u128::from(n)),
            placement: Placement {
                target: RouteTarget::Team("support".into()),
                strategy: Strategy::RoundRobin,
                channel: ChannelKind::Web,
                language: None,
            },
            priority,
            rule: rule_ref(),
            enqueued_at: at(minute),
        }
    }

    #[test]
    fn the_queue_orders_by_priority_then_age() {
        let mut queue = vec![
            waiting(1, Priority::Normal, 1),
            waiting(2, Priority::Urgent, 5),
            waiting(3, Priority::Low, 0),
            waiting(4, Priority::Normal, 0),
            waiting(5, Priority::Urgent, 2),
            waiting(6, Priority::High, 9),
        ];
        sort_queue(&mut queue);
        let order: Vec<u64> = queue
            .iter()
            .map(|w| w.conversation_id.timestamp_ms() - 1_700_000_000_000)
            .collect();
        assert_eq!(order, [5, 2, 6, 4, 1, 3]);
    }

    #[test]
    fn equal_priority_and_age_fall_back_to_the_id() {
        let a = waiting(1, Priority::High, 3);
        let b = waiting(2, Priority::High, 3);
        assert_eq!(queue_order(&a, &b), Ordering::Less);
        assert_eq!(queue_order(&b, &a), Ordering::Greater);
    }

    #[test]
    fn freed_capacity_goes_to_the_oldest_most_urgent_conversation() {
        let teams = [team("support", &[1])];
        let agents = [snapshot(1, 1)];
        let queue = vec![
            waiting(1, Priority::Normal, 0),
            waiting(2, Priority::High, 8),
            waiting(3, Priority::High, 4),
        ];
        let roster = Roster::new(&teams, &agents);
        let (first, _) =
            next_assignment(&queue, &roster, &RoundRobinState::default()).expect("placed");
        assert_eq!(first.conversation_id, queue[2].conversation_id);
        assert_eq!(first.assignment.rule, rule_ref());
    }

    #[test]
    fn a_conversation_that_still_cannot_be_placed_does_not_block_the_queue() {
        let teams = [team("support", &[1])];
        let agents = [snapshot(1, 1)];
        let mut needs_skill = waiting(1, Priority::Urgent, 0);
        needs_skill.placement.strategy = Strategy::SkillMatch {
            skills: vec![SkillRequirement {
                tag: "refunds".into(),
                min_level: 1,
            }],
        };
        let queue = vec![needs_skill, waiting(2, Priority::Low, 5)];
        let roster = Roster::new(&teams, &agents);
        let (placed, _) =
            next_assignment(&queue, &roster, &RoundRobinState::default()).expect("placed");
        assert_eq!(placed.conversation_id, queue[1].conversation_id);
    }

    #[test]
    fn draining_fills_free_capacity_and_no_more() {
        let teams = [team("support", &[1, 2])];
        let mut agents = [snapshot(1, 2), snapshot(2, 1)];
        agents[0].take(ChannelKind::Web);
        let queue: Vec<_> = (1..=5)
            .map(|n| waiting(n, Priority::Normal, n as u32))
            .collect();
        let (placed, state) = drain_queue(&queue, &teams, &agents, &RoundRobinState::default());
        // One place left with agent 1, one with agent 2: the two oldest go.
        assert_eq!(placed.len(), 2);
        assert_eq!(placed[0].conversation_id, queue[0].conversation_id);
        assert_eq!(placed[1].conversation_id, queue[1].conversation_id);
        let mut got: Vec<_> = placed.iter().map(|p| p.assignment.agent_id).collect();
        got.sort();
        assert_eq!(got, [agent_id(1), agent_id(2)]);
        assert_eq!(state.revision, 2);
    }

    #[test]
    fn the_estimated_wait_follows_position_and_serving_capacity() {
        let teams = [team("support", &[1, 2])];
        let mut agents = [snapshot(1, 2), snapshot(2, 2)];
        for a in &mut agents {
            a.take(ChannelKind::Web);
            a.take(ChannelKind::Web);
        }
        let queue = vec![
            waiting(1, Priority::Normal, 0),
            waiting(2, Priority::Normal, 1),
            waiting(3, Priority::Urgent, 2),
        ];
        let roster = Roster::new(&teams, &agents);
        // 4 places, 6 minutes average handling: a place frees every 90 s.
        let pos = queue_position(&queue, queue[1].conversation_id, &roster, 360).expect("queued");
        assert_eq!(
            pos,
            QueuePosition {
                position: 3,
                waiting: 3,
                estimated_wait_seconds: Some(270)
            }
        );
        let first = queue_position(&queue, queue[2].conversation_id, &roster, 360).expect("queued");
        assert_eq!(first.position, 1);
        assert_eq!(first.estimated_wait_seconds, Some(90));

        // Nobody online: position is known, the wait is not.
        let mut offline = agents.clone();
        for a in &mut offline {
            a.presence = PresenceStatus::Offline;
        }
        let roster = Roster::new(&teams, &offline);
        let pos = queue_position(&queue, queue[0].conversation_id, &roster, 360).expect("queued");
        assert_eq!(pos.position, 2);
        assert_eq!(pos.estimated_wait_seconds, None);
    }

    #[test]
    fn positions_count_only_conversations_waiting_for_the_same_target() {
        let teams = [team("support", &[1]), team("finance", &[2])];
        let mut agents = [snapshot(1, 1), snapshot(2, 1)];
        agents[1].profile.skills = vec![Skill {
            tag: "refunds".into(),
            level: 1,
        }];
        let mut other = waiting(1, Priority::Urgent, 0);
        other.placement.target = RouteTarget::Team("finance".into());
        let queue = vec![other, waiting(2, Priority::Low, 5)];
        let roster = Roster::new(&teams, &agents);
        let pos = queue_position(&queue, queue[1].conversation_id, &roster, 60).expect("queued");
        assert_eq!(pos.position, 1);
        assert_eq!(pos.waiting, 1);
        assert_eq!(
            pos.estimated_wait_seconds,
            Some(0),
            "agent 1 has a free place"
        );
        assert_eq!(waiting_targets(&queue).len(), 2);
        assert!(queue_position(&queue, ConversationId::from_parts(9, 9), &roster, 60).is_none());
    }
}
