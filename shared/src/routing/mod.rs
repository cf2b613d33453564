//! Routing and automation (pure): who gets a conversation, what waits, and what happens
//! automatically when something changes.
//!
//! Nothing here reads a clock or storage. The functions layer loads the tenant's configuration
//! and the current state (teams, agent profiles, presence, loads, the round-robin state, the
//! waiting queue), calls these functions, and persists what comes out.
//!
//! - [`agents`]: teams, agent profiles (skills with levels, languages, capacity per channel) and
//!   presence with idle timeouts.
//! - [`rules`]: routing rules and [`route`], the decision for an arriving conversation.
//! - [`assign`](mod@assign): strategies (round robin, least busy, skill match), the persisted
//!   [`RoundRobinState`], decisions and assignment events.
//! - [`queue`]: queue order, position and estimated wait, and placing waiting conversations
//!   when capacity frees up.
//! - [`condition`]: comparisons, text and regex tests, time windows, and/or/not trees.
//! - [`automation`]: automation rules, the [`AutomationEngine`] with its loop guard, and the
//!   dry run behind `POST /v1/rules/test`.
//! - [`facts`]: the JSON fact snapshot conditions and templates read.
//! - [`template`], [`canned`]: templates with `{{variables}}` and canned responses.
//! - [`csat`]: satisfaction ratings.
//!
//! # Flow
//!
//! ```
//! use edgedesk_shared::ids::{AgentId, ConversationId};
//! use edgedesk_shared::model::{ChannelKind, Priority};
//! use edgedesk_shared::routing::*;
//!
//! let alice = AgentId::from_parts(1_700_000_000_000, 1);
//! let teams = vec![Team {
//!     id: "finance".into(), name: "Finance".into(), members: vec![alice],
//!     strategy: Strategy::RoundRobin,
//! }];
//! let mut agents = vec![AgentSnapshot {
//!     profile: AgentProfile { capacity: Capacity::uniform(1), ..AgentProfile::new(alice) },
//!     presence: PresenceStatus::Online,
//!     open: Default::default(),
//! }];
//! let rules: Vec<RoutingRule> = serde_json::from_value(serde_json::json!([{
//!     "id": "refunds", "name": "Refunds to finance",
//!     "conditions": {"keywords": ["refund"]},
//!     "target": {"team": "finance"}, "priority": "high"
//! }]))?;
//!
//! // The first refund request goes to Alice, and the event names the rule.
//! let facts = RoutingFacts::new(ChannelKind::Web, "I'd like a refund", true);
//! let state = RoundRobinState::default();
//! let (decision, state) = route(&rules, &facts, &Roster::new(&teams, &agents), &state);
//! let RoutingDecision::Assigned(assignment) = decision else { panic!("assigned") };
//! assert_eq!(assignment.agent_id, alice);
//! let first = ConversationId::from_parts(1_700_000_000_000, 1);
//! let event = AssignmentEvent::from_assignment(first, &assignment, AssignmentSource::Routing, None);
//! assert_eq!(event.rule.as_ref().map(|r| r.id.as_str()), Some("refunds"));
//! agents[0].take(ChannelKind::Web);
//!
//! // Alice is at capacity: the second one waits, with its position.
//! let (decision, state) = route(&rules, &facts, &Roster::new(&teams, &agents), &state);
//! let RoutingDecision::Queued(queued) = decision else { panic!("queued") };
//! assert_eq!(queued.reason, QueueReason::AllAtCapacity);
//! let second = ConversationId::from_parts(1_700_000_000_001, 2);
//! let queue = vec![queued.waiting(second, "2024-05-13T09:00:00Z".parse()?)];
//! let roster = Roster::new(&teams, &agents);
//! let position = queue_position(&queue, second, &roster, 300).expect("waiting");
//! assert_eq!((position.position, position.estimated_wait_seconds), (1, Some(300)));
//!
//! // Alice closes a conversation: the waiting one is hers.
//! agents[0].release(ChannelKind::Web);
//! let (placed, _state) = drain_queue(&queue, &teams, &agents, &state);
//! assert_eq!(placed[0].conversation_id, second);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod agents;
pub mod assign;
pub mod automation;
pub mod canned;
pub mod condition;
pub mod csat;
pub mod facts;
mod names;
pub mod queue;
pub mod rules;
pub mod template;

#[cfg(test)]
mod fairness_tests;

pub use agents::{
    validate_teams, AgentProfile, Capacity, IdleTimeouts, Presence, PresenceStatus, RosterError,
    Skill, Team,
};
pub use assign::{
    assign, AgentSnapshot, Assignment, AssignmentEvent, AssignmentSource, Placement, QueueReason,
    Queued, Roster, RoundRobinState, RouteTarget, RoutingDecision, RuleRef, SkillRequirement,
    Strategy, StrategyError, StrategyKind,
};
pub use automation::{
    test_rule, AutomationAction, AutomationEngine, AutomationError, AutomationEvent,
    AutomationRule, Causation, Effect, EventKind, Explanation, PlannedAction, RuleExplanation,
    RuleOutcome, RuleTestRequest, SkipReason, SkippedAction, Subject, WebhookDelivery,
};
pub use canned::{search_canned, validate_canned, CannedError, CannedResponse};
pub use condition::{
    AttributeTest, CompareOp, CompiledCondition, Condition, ConditionError, ConditionTrace,
    EvalScope, FieldTest, RegexTest, TextTest, TimeWindow,
};
pub use csat::{Csat, CsatError, CsatRating, CsatSettings, CsatSubmission, CsatSummary};
pub use facts::FactSnapshot;
pub use queue::{
    drain_queue, next_assignment, queue_order, queue_position, sort_queue, urgency,
    waiting_targets, QueueAssignment, QueuePosition, WaitingConversation,
};
pub use rules::{
    explain_routing, first_match, route, validate_routing_rules, BusinessHours, ConditionCheck,
    RoutingConditions, RoutingFacts, RoutingRule, RoutingRuleError, RoutingRuleTrace, ScoreRange,
};
pub use template::{Rendered, Template, TemplateError, Variables};
