//! Assignment fairness under simulated traffic: arrivals, closings, presence changes and the
//! waiting queue, checked against the guarantees the routing module documents.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::agents::{AgentProfile, Capacity, PresenceStatus, Team};
use super::assign::{
    AgentSnapshot, Placement, Roster, RoundRobinState, RouteTarget, RoutingDecision, Strategy,
};
use super::queue::{next_assignment, WaitingConversation};
use super::rules::{route, RoutingFacts, RoutingRule};
use crate::ids::{AgentId, ConversationId};
use crate::model::{ChannelKind, Priority};

/// SplitMix64: a small deterministic generator, so every run simulates the same traffic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn agent_id(n: u64) -> AgentId {
    AgentId::from_parts(1_700_000_000_000 + n, u128::from(n))
}

/// One assignment decision: who got it and who could have.
struct Decision {
    agent: usize,
    eligible: Vec<bool>,
}

struct Simulation {
    teams: Vec<Team>,
    agents: Vec<AgentSnapshot>,
    state: RoundRobinState,
    queue: Vec<WaitingConversation>,
    /// Open conversations: (agent index, channel).
    open: Vec<(usize, ChannelKind)>,
    decisions: Vec<Decision>,
    next_conversation: u64,
    now: DateTime<Utc>,
}

impl Simulation {
    fn new(capacities: &[(u32, u32)], strategy: Strategy) -> Self {
        let agents: Vec<AgentSnapshot> = capacities
            .iter()
            .enumerate()
            .map(|(i, &(web, email))| {
                let mut capacity = Capacity::uniform(web);
                capacity.per_channel.insert(ChannelKind::Email, email);
                AgentSnapshot {
                    profile: AgentProfile {
                        capacity,
                        ..AgentProfile::new(agent_id(i as u64 + 1))
                    },
                    presence: PresenceStatus::Online,
                    open: BTreeMap::new(),
                }
            })
            .collect();
        let teams = vec![Team {
            id: "support".into(),
            name: "Support".into(),
            members: agents.iter().map(AgentSnapshot::id).collect(),
            strategy,
        }];
        Simulation {
            teams,
            agents,
            state: RoundRobinState::default(),
            queue: Vec::new(),
            open: Vec::new(),
            decisions: Vec::new(),
            next_conversation: 0,
            now: "2024-05-13T09:00:00Z".parse().expect("start time"),
        }
    }

    fn index_of(&self, id: AgentId) -> usize {
        self.agents
            .iter()
            .position(|a| a.id() == id)
            .expect("assigned agent is in the roster")
    }

    fn eligible(&self, channel: ChannelKind) -> Vec<bool> {
        self.agents
            .iter()
            .map(|a| a.presence == PresenceStatus::Online && a.free_on(channel) > 0)
            .collect()
    }

    /// Records an assignment made while `eligible` held, and checks it on the spot.
    fn record(&mut self, agent: AgentId, channel: ChannelKind, eligible: Vec<bool>) {
        let i = self.index_of(agent);
        let snapshot = &self.agents[i];
        assert_eq!(
            snapshot.presence,
            PresenceStatus::Online,
            "assigned to an agent who is not online"
        );
        assert!(eligible[i], "assigned to an agent without free capacity");
        self.agents[i].take(channel);
        let snapshot = &self.agents[i];
        assert!(
            snapshot.open_on(channel) <= snapshot.profile.capacity.limit(channel),
            "capacity breach"
        );
        self.open.push((i, channel));
        self.decisions.push(Decision { agent: i, eligible });
    }

    fn arrive(&mut self, rules: &[RoutingRule], channel: ChannelKind, priority: Priority) {
        self.next_conversation += 1;
        let id = ConversationId::from_parts(1_700_000_000_000 + self.next_conversation, 0);
        let mut facts = RoutingFacts::new(channel, "hello", true);
        facts.priority = priority;
        let eligible = self.eligible(channel);
        let roster = Roster::new(&self.teams, &self.agents);
        let (decision, state) = route(rules, &facts, &roster, &self.state);
        self.state = state;
        match decision {
            RoutingDecision::Assigned(a) => self.record(a.agent_id, channel, eligible),
            RoutingDecision::Queued(q) => {
                assert!(
                    eligible.iter().all(|e| !e),
                    "queued while an agent was free"
                );
                self.queue.push(q.waiting(id, self.now));
            }
            RoutingDecision::Unmatched { .. } => panic!("the catch-all rule always matches"),
        }
    }

    /// Offers freed capacity to the queue until nothing more fits.
    fn drain(&mut self) {
        loop {
            let roster = Roster::new(&self.teams, &self.agents);
            let Some((placed, state)) = next_assignment(&self.queue, &roster, &self.state) else {
                break;
            };
            let position = self
                .queue
                .iter()
                .position(|w| w.conversation_id == placed.conversation_id)
                .expect("placed conversation was waiting");
            let waiting = self.queue.remove(position);
            // Nothing more urgent or older for the same channel was left waiting.
            for other in &self.queue {
                if other.placement.channel == waiting.placement.channel {
                    assert!(
                        super::queue::queue_order(&waiting, other).is_lt(),
                        "a younger or less urgent conversation went first"
                    );
                }
            }
            let channel = waiting.placement.channel;
            let eligible = self.eligible(channel);
            self.state = state;
            self.record(placed.assignment.agent_id, channel, eligible);
        }
    }

    fn close_some(&mut self, rng: &mut Rng, percent: u64) {
        let mut kept = Vec::with_capacity(self.open.len());
        for (agent, channel) in std::mem::take(&mut self.open) {
            if rng.chance(percent) {
                self.agents[agent].release(channel);
            } else {
                kept.push((agent, channel));
            }
        }
        self.open = kept;
    }
}

fn catch_all(strategy: Strategy) -> Vec<RoutingRule> {
    vec![RoutingRule {
        id: "everyone".into(),
        name: "Everyone to support".into(),
        enabled: true,
        conditions: Default::default(),
        target: RouteTarget::Team("support".into()),
        strategy,
        priority: None,
        require_language: false,
    }]
}

/// For every pair of agents, over every stretch of decisions during which both were eligible,
/// their assignment counts differ by at most one.
fn assert_pairwise_spread_within_one(decisions: &[Decision], agents: usize) {
    for x in 0..agents {
        for y in (x + 1)..agents {
            let mut diff: i64 = 0;
            for (n, d) in decisions.iter().enumerate() {
                if !(d.eligible[x] && d.eligible[y]) {
                    diff = 0;
                    continue;
                }
                if d.agent == x {
                    diff += 1;
                } else if d.agent == y {
                    diff -= 1;
                }
                assert!(
                    diff.abs() <= 1,
                    "agents {x} and {y} drifted apart by {diff} at decision {n} while both had room"
                );
            }
        }
    }
}

/// Nobody gets two in a row while another agent was eligible for the second one.
fn assert_no_double_turns(decisions: &[Decision]) {
    for (n, pair) in decisions.windows(2).enumerate() {
        if pair[0].agent == pair[1].agent {
            let others = pair[1]
                .eligible
                .iter()
                .enumerate()
                .filter(|&(i, &e)| e && i != pair[1].agent)
                .count();
            assert_eq!(
                others,
                0,
                "agent {} got decisions {n} and {} while others had room",
                pair[0].agent,
                n + 1
            );
        }
    }
}

#[test]
fn a_thousand_arrivals_never_breach_capacity_and_round_robin_stays_within_one() {
    // Mixed capacity: (web, email) limits per agent.
    let capacities = [(1, 2), (2, 4), (3, 1), (4, 6), (6, 3)];
    let rules = catch_all(Strategy::RoundRobin);
    let mut sim = Simulation::new(&capacities, Strategy::RoundRobin);
    let mut rng = Rng(0x5EED);
    let mut queued_arrivals = 0usize;
    for step in 0..1000u64 {
        sim.now += TimeDelta::seconds(30);
        sim.close_some(&mut rng, 5);
        // Presence churn: now and then an agent steps away and comes back.
        if step % 50 == 25 {
            let i = (step / 50 % 5) as usize;
            sim.agents[i].presence = PresenceStatus::Offline;
        }
        if step % 50 == 45 {
            for a in &mut sim.agents {
                a.presence = PresenceStatus::Online;
            }
        }
        sim.drain();
        let channel = if rng.chance(70) {
            ChannelKind::Web
        } else {
            ChannelKind::Email
        };
        let priority = match rng.next() % 10 {
            0 => Priority::Urgent,
            1 | 2 => Priority::High,
            3..=6 => Priority::Normal,
            _ => Priority::Low,
        };
        let waiting_before = sim.queue.len();
        sim.arrive(&rules, channel, priority);
        queued_arrivals += sim.queue.len() - waiting_before;
    }
    // Let everything close: the queue empties completely.
    for a in &mut sim.agents {
        a.presence = PresenceStatus::Online;
    }
    while !sim.queue.is_empty() {
        sim.close_some(&mut rng, 50);
        sim.drain();
    }

    assert_pairwise_spread_within_one(&sim.decisions, capacities.len());
    assert_no_double_turns(&sim.decisions);
    assert_eq!(
        sim.decisions.len(),
        1000,
        "every arrival was assigned eventually"
    );
    assert!(
        queued_arrivals >= 50,
        "the traffic should saturate capacity often, queued {queued_arrivals}"
    );
    let mut per_agent = [0usize; 5];
    for d in &sim.decisions {
        per_agent[d.agent] += 1;
    }
    assert!(
        per_agent.iter().all(|&n| n > 0),
        "everyone took part: {per_agent:?}"
    );
    eprintln!("assignments per agent {per_agent:?}, arrivals that had to wait {queued_arrivals}");
}

#[test]
fn with_room_for_everyone_round_robin_splits_arrivals_evenly() {
    let capacities = [(100, 100); 5];
    let rules = catch_all(Strategy::RoundRobin);
    let mut sim = Simulation::new(&capacities, Strategy::RoundRobin);
    let mut rng = Rng(42);
    for _ in 0..1000 {
        sim.close_some(&mut rng, 20);
        sim.arrive(&rules, ChannelKind::Web, Priority::Normal);
    }
    let mut per_agent = [0usize; 5];
    for d in &sim.decisions {
        per_agent[d.agent] += 1;
    }
    assert_eq!(per_agent, [200; 5]);
}

#[test]
fn least_busy_also_respects_capacity_and_presence_under_load() {
    let capacities = [(1, 1), (2, 2), (3, 3), (2, 1), (5, 2)];
    let rules = catch_all(Strategy::LeastBusy);
    let mut sim = Simulation::new(&capacities, Strategy::LeastBusy);
    let mut rng = Rng(7);
    for step in 0..1000u64 {
        sim.close_some(&mut rng, 15);
        sim.agents[(step % 5) as usize].presence = if step % 40 < 10 {
            PresenceStatus::Away
        } else {
            PresenceStatus::Online
        };
        sim.drain();
        let channel = if rng.chance(50) {
            ChannelKind::Web
        } else {
            ChannelKind::Email
        };
        sim.arrive(&rules, channel, Priority::Normal);
    }
    // Capacity and presence are checked on every assignment inside the simulation.
    assert!(
        sim.decisions.len() > 500,
        "{} assigned",
        sim.decisions.len()
    );
}

#[test]
fn a_restart_with_persisted_state_continues_the_rotation() {
    let capacities = [(10, 10); 3];
    let rules = catch_all(Strategy::RoundRobin);
    let mut sim = Simulation::new(&capacities, Strategy::RoundRobin);
    sim.arrive(&rules, ChannelKind::Web, Priority::Normal);
    sim.arrive(&rules, ChannelKind::Web, Priority::Normal);
    // "Restart": the state goes through its stored JSON form.
    let stored = serde_json::to_string(&sim.state).expect("state json");
    sim.state = serde_json::from_str(&stored).expect("state back");
    sim.arrive(&rules, ChannelKind::Web, Priority::Normal);
    sim.arrive(&rules, ChannelKind::Web, Priority::Normal);
    let order: Vec<usize> = sim.decisions.iter().map(|d| d.agent).collect();
    assert_eq!(order, [0, 1, 2, 0]);
}

#[test]
fn queued_conversations_keep_their_placement_for_later() {
    let mut sim = Simulation::new(&[(1, 1)], Strategy::RoundRobin);
    let rules = catch_all(Strategy::RoundRobin);
    sim.arrive(&rules, ChannelKind::Web, Priority::Normal);
    sim.arrive(&rules, ChannelKind::Web, Priority::Low);
    sim.arrive(&rules, ChannelKind::Web, Priority::Urgent);
    assert_eq!(sim.queue.len(), 2);
    assert_eq!(
        sim.queue[0].placement,
        Placement {
            target: RouteTarget::Team("support".into()),
            strategy: Strategy::RoundRobin,
            channel: ChannelKind::Web,
            language: None,
        }
    );
    let mut rng = Rng(1);
    sim.close_some(&mut rng, 100);
    sim.drain();
    // The urgent one, though it arrived last.
    assert_eq!(sim.queue.len(), 1);
    assert_eq!(sim.queue[0].priority, Priority::Low);
}
