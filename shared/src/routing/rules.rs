//! Routing rules: which conversations go where, tried in order when a conversation arrives.
//!
//! A [`RoutingRule`] has conditions on the conversation ([`RoutingFacts`]): channel, language,
//! keywords in the text, the intent and sentiment a classifier detected, business hours, and
//! contact attributes. All conditions a rule sets must hold; list alternatives in separate rules.
//! The first enabled rule that matches decides: its target (a team or an agent), strategy and
//! priority. If that target has no one free the conversation waits for it rather than falling
//! through to later rules, so rule order stays a plain reading of intent. When no rule matches
//! the conversation stays unassigned in the shared inbox.
//!
//! ```
//! use edgedesk_shared::model::{ChannelKind, Priority};
//! use edgedesk_shared::routing::*;
//!
//! let rules: Vec<RoutingRule> = serde_json::from_value(serde_json::json!([{
//!     "id": "refunds", "name": "Refunds to finance",
//!     "conditions": {"keywords": ["refund", "chargeback"]},
//!     "target": {"team": "finance"}, "strategy": {"type": "round_robin"}, "priority": "high"
//! }]))?;
//! let facts = RoutingFacts::new(ChannelKind::Web, "I want a refund", true);
//! let matched = first_match(&rules, &facts).expect("the refund rule matches");
//! assert_eq!(matched.id, "refunds");
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::agents::Team;
use super::assign::{
    assign, Placement, Roster, RoundRobinState, RouteTarget, RoutingDecision, RuleRef, Strategy,
    StrategyError,
};
use super::condition::{AttributeTest, ConditionError};
use super::names::{fold, is_slug, mentions, normalize_language, primary_language};
use crate::model::{Attributes, ChannelKind, Priority};

/// Most routing rules per tenant.
pub const MAX_ROUTING_RULES: usize = 200;
/// Most keywords (or intents, languages, contact tests) in one rule.
pub const MAX_RULE_LIST: usize = 100;
/// Longest keyword or intent label.
pub const MAX_KEYWORD_CHARS: usize = 100;
/// Longest rule name.
pub const MAX_RULE_NAME_CHARS: usize = 200;

/// What routing knows about an arriving conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingFacts {
    pub channel: ChannelKind,
    /// The visitor's language tag (widget locale, detected language), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The text keywords are searched in: subject and first message.
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub contact: Attributes,
    /// The intent label a classifier assigned, e.g. `refund_request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// Sentiment from -1 (angry) to 1 (happy), when a classifier scored the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<f64>,
    /// Whether the tenant's business calendar is open now (computed by the caller).
    pub within_business_hours: bool,
    /// The conversation's current priority, kept unless the rule sets one.
    #[serde(default)]
    pub priority: Priority,
}

impl RoutingFacts {
    /// Facts with only channel, text and business hours known.
    pub fn new(channel: ChannelKind, text: &str, within_business_hours: bool) -> Self {
        RoutingFacts {
            channel,
            language: None,
            text: text.to_owned(),
            contact: Attributes::new(),
            intent: None,
            sentiment: None,
            within_business_hours,
            priority: Priority::default(),
        }
    }
}

/// Business-hours condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusinessHours {
    Within,
    Outside,
}

/// An inclusive sentiment range; an open end is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl ScoreRange {
    pub fn contains(&self, score: f64) -> bool {
        score.is_finite()
            && self.min.is_none_or(|min| score >= min)
            && self.max.is_none_or(|max| score <= max)
    }

    fn is_valid(&self) -> bool {
        let bound_ok =
            |b: Option<f64>| b.is_none_or(|v| v.is_finite() && (-1.0..=1.0).contains(&v));
        bound_ok(self.min)
            && bound_ok(self.max)
            && (self.min.is_some() || self.max.is_some())
            && match (self.min, self.max) {
                (Some(min), Some(max)) => min <= max,
                _ => true,
            }
    }
}

/// The conditions of a routing rule; each one set must hold. Lists are alternatives: the
/// conversation's channel is one of `channels`, its text mentions one of `keywords`, and so on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConditions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ChannelKind>,
    /// Language tags, compared on the primary language (`pt` matches `pt-BR`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Words or phrases, matched case-insensitively at word starts (`refund` matches
    /// "refunds" but not "prerefund").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Intent labels (case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<ScoreRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
    /// Every one of these contact attribute tests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<AttributeTest>,
}

/// One condition's outcome in a routing explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionCheck {
    /// `channel`, `language`, `keywords`, `intent`, `sentiment`, `business_hours` or
    /// `contact.<attribute>`.
    pub condition: String,
    pub matched: bool,
}

impl RoutingConditions {
    /// Every condition the rule sets, with its outcome, in a fixed order.
    pub fn checks(&self, facts: &RoutingFacts) -> Vec<ConditionCheck> {
        let mut out = Vec::new();
        let mut check = |condition: &str, matched: bool| {
            out.push(ConditionCheck {
                condition: condition.to_owned(),
                matched,
            })
        };
        if !self.channels.is_empty() {
            check("channel", self.channels.contains(&facts.channel));
        }
        if !self.languages.is_empty() {
            let spoken = facts.language.as_deref().and_then(primary_language);
            check(
                "language",
                spoken.is_some_and(|s| {
                    self.languages
                        .iter()
                        .any(|l| primary_language(l).as_deref() == Some(s.as_str()))
                }),
            );
        }
        if !self.keywords.is_empty() {
            let text = fold(&facts.text);
            check(
                "keywords",
                self.keywords
                    .iter()
                    .any(|k| mentions(&text, &fold(k.trim()))),
            );
        }
        if !self.intents.is_empty() {
            check(
                "intent",
                facts.intent.as_deref().is_some_and(|intent| {
                    self.intents
                        .iter()
                        .any(|i| i.trim().eq_ignore_ascii_case(intent.trim()))
                }),
            );
        }
        if let Some(range) = &self.sentiment {
            check(
                "sentiment",
                facts.sentiment.is_some_and(|s| range.contains(s)),
            );
        }
        if let Some(hours) = self.business_hours {
            let want = hours == BusinessHours::Within;
            check("business_hours", facts.within_business_hours == want);
        }
        for test in &self.contact {
            check(
                &format!("contact.{}", test.attribute),
                test.matches(&facts.contact),
            );
        }
        out
    }

    pub fn matches(&self, facts: &RoutingFacts) -> bool {
        self.checks(facts).iter().all(|c| c.matched)
    }

    fn validate(&self) -> Result<(), RoutingRuleError> {
        let lists = [
            self.languages.len(),
            self.keywords.len(),
            self.intents.len(),
            self.contact.len(),
        ];
        if lists.iter().any(|&n| n > MAX_RULE_LIST) {
            return Err(RoutingRuleError::TooManyConditions);
        }
        if let Some(bad) = self
            .languages
            .iter()
            .find(|l| normalize_language(l).is_none())
        {
            return Err(RoutingRuleError::InvalidLanguage(bad.clone()));
        }
        let blank_or_long =
            |s: &String| s.trim().is_empty() || s.chars().count() > MAX_KEYWORD_CHARS;
        if let Some(bad) = self.keywords.iter().find(|k| blank_or_long(k)) {
            return Err(RoutingRuleError::InvalidKeyword(bad.clone()));
        }
        if let Some(bad) = self.intents.iter().find(|i| blank_or_long(i)) {
            return Err(RoutingRuleError::InvalidIntent(bad.clone()));
        }
        if self.sentiment.is_some_and(|r| !r.is_valid()) {
            return Err(RoutingRuleError::InvalidSentimentRange);
        }
        for test in &self.contact {
            test.validate()?;
        }
        Ok(())
    }
}

fn yes() -> bool {
    true
}

/// One routing rule of a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// A slug, unique per tenant; recorded in assignment events.
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub conditions: RoutingConditions,
    pub target: RouteTarget,
    #[serde(default)]
    pub strategy: Strategy,
    /// The priority matched conversations get; absent keeps theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Only agents who speak the conversation's language take it (a conversation of unknown
    /// language is not restricted).
    #[serde(default)]
    pub require_language: bool,
}

/// Why a routing rule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingRuleError {
    #[error("rule id `{0}` must be 1-64 characters of a-z, 0-9, `-` and `_`")]
    InvalidId(String),
    #[error("rule names are at most {MAX_RULE_NAME_CHARS} characters")]
    NameTooLong,
    #[error("a condition list has more than {MAX_RULE_LIST} entries")]
    TooManyConditions,
    #[error("`{0}` is not a language tag such as `en` or `pt-BR`")]
    InvalidLanguage(String),
    #[error("keyword `{0}` is blank or longer than {MAX_KEYWORD_CHARS} characters")]
    InvalidKeyword(String),
    #[error("intent `{0}` is blank or longer than {MAX_KEYWORD_CHARS} characters")]
    InvalidIntent(String),
    #[error("a sentiment range needs a bound, bounds within -1..=1, and min <= max")]
    InvalidSentimentRange,
    #[error(transparent)]
    Condition(#[from] ConditionError),
    #[error("team id `{0}` must be 1-64 characters of a-z, 0-9, `-` and `_`")]
    InvalidTeam(String),
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    #[error("two routing rules have the id `{0}`")]
    DuplicateRule(String),
    #[error("rule `{rule}` routes to the unknown team `{team}`")]
    UnknownTeam { rule: String, team: String },
    #[error("a tenant may have at most {MAX_ROUTING_RULES} routing rules")]
    TooManyRules,
}

impl RoutingRule {
    /// Checks the rule on its own; team references are checked by [`validate_routing_rules`].
    pub fn validate(&self) -> Result<(), RoutingRuleError> {
        if !is_slug(&self.id) {
            return Err(RoutingRuleError::InvalidId(self.id.clone()));
        }
        if self.name.chars().count() > MAX_RULE_NAME_CHARS {
            return Err(RoutingRuleError::NameTooLong);
        }
        self.conditions.validate()?;
        if let RouteTarget::Team(team) = &self.target {
            if !is_slug(team) {
                return Err(RoutingRuleError::InvalidTeam(team.clone()));
            }
        }
        self.strategy.validate()?;
        Ok(())
    }

    /// The rule as named in decisions and events.
    pub fn reference(&self) -> RuleRef {
        RuleRef {
            id: self.id.clone(),
            name: self.name.clone(),
        }
    }

    /// Where conversations this rule matched go.
    pub fn placement(&self, facts: &RoutingFacts) -> Placement {
        Placement {
            target: self.target.clone(),
            strategy: self.strategy.clone(),
            channel: facts.channel,
            language: if self.require_language {
                facts.language.as_deref().and_then(normalize_language)
            } else {
                None
            },
        }
    }
}

/// Validates a tenant's rules together: each rule, unique ids, known teams.
pub fn validate_routing_rules(
    rules: &[RoutingRule],
    teams: &[Team],
) -> Result<(), RoutingRuleError> {
    if rules.len() > MAX_ROUTING_RULES {
        return Err(RoutingRuleError::TooManyRules);
    }
    let mut ids = BTreeSet::new();
    for rule in rules {
        rule.validate()?;
        if !ids.insert(rule.id.as_str()) {
            return Err(RoutingRuleError::DuplicateRule(rule.id.clone()));
        }
        if let RouteTarget::Team(team) = &rule.target {
            if !teams.iter().any(|t| &t.id == team) {
                return Err(RoutingRuleError::UnknownTeam {
                    rule: rule.id.clone(),
                    team: team.clone(),
                });
            }
        }
    }
    Ok(())
}

/// The first enabled rule matching the conversation.
pub fn first_match<'a>(rules: &'a [RoutingRule], facts: &RoutingFacts) -> Option<&'a RoutingRule> {
    rules
        .iter()
        .find(|r| r.enabled && r.conditions.matches(facts))
}

/// Routes an arriving conversation: the first matching rule's target, strategy and priority,
/// applied to the roster and round-robin state. Returns the decision and the state to persist
/// (unchanged unless an agent was assigned).
pub fn route(
    rules: &[RoutingRule],
    facts: &RoutingFacts,
    roster: &Roster<'_>,
    state: &RoundRobinState,
) -> (RoutingDecision, RoundRobinState) {
    match first_match(rules, facts) {
        Some(rule) => assign(
            &rule.placement(facts),
            rule.priority.unwrap_or(facts.priority),
            rule.reference(),
            roster,
            state,
        ),
        None => (
            RoutingDecision::Unmatched {
                priority: facts.priority,
            },
            state.clone(),
        ),
    }
}

/// How each rule fared against a conversation, for the console's "why did this go there".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRuleTrace {
    pub rule: RuleRef,
    pub enabled: bool,
    pub matched: bool,
    /// Whether this rule decided (the first enabled match).
    pub chosen: bool,
    pub checks: Vec<ConditionCheck>,
}

/// Explains routing: every rule in order with each of its conditions' outcomes.
pub fn explain_routing(rules: &[RoutingRule], facts: &RoutingFacts) -> Vec<RoutingRuleTrace> {
    let mut chosen = false;
    rules
        .iter()
        .map(|rule| {
            let checks = rule.conditions.checks(facts);
            let matched = checks.iter().all(|c| c.matched);
            let this_one = rule.enabled && matched && !chosen;
            chosen |= this_one;
            RoutingRuleTrace {
                rule: rule.reference(),
                enabled: rule.enabled,
                matched,
                chosen: this_one,
                checks,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::agents::{PresenceStatus, Skill};
    use crate::routing::assign::tests::{agent_id, snapshot, team};
    use crate::routing::assign::{QueueReason, StrategyKind};
    use serde_json::json;

    fn rules() -> Vec<RoutingRule> {
        serde_json::from_value(json!([
            {"id": "vip-angry", "name": "Angry enterprise customers",
             "conditions": {"sentiment": {"max": -0.5},
                            "contact": [{"attribute": "plan", "op": "equals", "value": "enterprise"}]},
             "target": {"team": "emergency"}, "priority": "urgent"},
            {"id": "refunds", "name": "Refunds to finance",
             "conditions": {"keywords": ["refund", "money back"], "channels": ["web", "email"]},
             "target": {"team": "finance"},
             "strategy": {"type": "skill_match", "skills": [{"tag": "refunds", "min_level": 2}]},
             "priority": "high"},
            {"id": "intent-billing", "name": "Billing intent",
             "conditions": {"intents": ["billing_question"]}, "target": {"team": "finance"}},
            {"id": "german", "name": "German speakers",
             "conditions": {"languages": ["de"]}, "target": {"team": "support"},
             "require_language": true},
            {"id": "night", "name": "After hours", "enabled": true,
             "conditions": {"business_hours": "outside"}, "target": {"team": "night"},
             "strategy": {"type": "least_busy"}},
            {"id": "disabled", "name": "Never", "enabled": false,
             "target": {"team": "support"}}
        ]))
        .expect("rules json")
    }

    #[test]
    fn rule_matching_table() {
        let rules = rules();
        let base = RoutingFacts::new(ChannelKind::Web, "Hello there", true);
        let with = |f: &dyn Fn(&mut RoutingFacts)| {
            let mut facts = base.clone();
            f(&mut facts);
            facts
        };
        let cases: Vec<(&str, RoutingFacts, Option<&str>)> = vec![
            ("nothing special", base.clone(), None),
            (
                "refund keyword",
                with(&|f| f.text = "I want a Refund!".into()),
                Some("refunds"),
            ),
            (
                "phrase keyword",
                with(&|f| f.text = "give me my money back".into()),
                Some("refunds"),
            ),
            (
                "keyword inside a word",
                with(&|f| f.text = "prerefund".into()),
                None,
            ),
            (
                "refund on a channel the rule ignores",
                with(&|f| {
                    f.text = "refund".into();
                    f.channel = ChannelKind::Telegram;
                }),
                None,
            ),
            (
                "intent",
                with(&|f| f.intent = Some("Billing_Question".into())),
                Some("intent-billing"),
            ),
            (
                "language by primary tag",
                with(&|f| f.language = Some("de-AT".into())),
                Some("german"),
            ),
            (
                "outside business hours",
                with(&|f| f.within_business_hours = false),
                Some("night"),
            ),
            (
                "angry enterprise contact beats refunds",
                with(&|f| {
                    f.text = "refund now".into();
                    f.sentiment = Some(-0.8);
                    f.contact.insert("plan".into(), json!("enterprise"));
                }),
                Some("vip-angry"),
            ),
            (
                "angry but not enterprise",
                with(&|f| f.sentiment = Some(-0.9)),
                None,
            ),
            (
                "enterprise but calm",
                with(&|f| {
                    f.sentiment = Some(0.2);
                    f.contact.insert("plan".into(), json!("enterprise"));
                }),
                None,
            ),
            (
                "no sentiment score",
                with(&|f| {
                    f.contact.insert("plan".into(), json!("enterprise"));
                }),
                None,
            ),
        ];
        for (name, facts, expected) in cases {
            assert_eq!(
                first_match(&rules, &facts).map(|r| r.id.as_str()),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn a_refund_message_lands_with_the_finance_teams_online_agent() {
        let rules = rules();
        let teams = [team("finance", &[1, 2, 3]), team("support", &[4])];
        let mut agents = [
            snapshot(1, 3),
            snapshot(2, 3),
            snapshot(3, 3),
            snapshot(4, 3),
        ];
        for a in agents.iter_mut().take(3) {
            a.profile.skills = vec![Skill {
                tag: "refunds".into(),
                level: 3,
            }];
        }
        agents[0].presence = PresenceStatus::Offline;
        agents[2].presence = PresenceStatus::Away;
        let roster = Roster::new(&teams, &agents);
        let facts = RoutingFacts::new(ChannelKind::Web, "Can I get a refund?", true);
        let (decision, state) = route(&rules, &facts, &roster, &RoundRobinState::default());
        let RoutingDecision::Assigned(assignment) = decision else {
            panic!("expected an assignment, got {decision:?}");
        };
        assert_eq!(assignment.agent_id, agent_id(2));
        assert_eq!(assignment.team.as_deref(), Some("finance"));
        assert_eq!(assignment.priority, Priority::High);
        assert_eq!(assignment.strategy, StrategyKind::SkillMatch);
        assert_eq!(
            assignment.rule,
            RuleRef {
                id: "refunds".into(),
                name: "Refunds to finance".into()
            }
        );
        assert_eq!(state.cursors.get("finance"), Some(&agent_id(2)));
    }

    #[test]
    fn a_matched_rule_whose_team_is_busy_queues_instead_of_falling_through() {
        let rules = rules();
        let teams = [team("finance", &[1]), team("night", &[2])];
        let mut agents = [snapshot(1, 1), snapshot(2, 1)];
        agents[0].profile.skills = vec![Skill {
            tag: "refunds".into(),
            level: 5,
        }];
        agents[0].take(ChannelKind::Web);
        let roster = Roster::new(&teams, &agents);
        let facts = RoutingFacts::new(ChannelKind::Web, "refund", false);
        let (decision, state) = route(&rules, &facts, &roster, &RoundRobinState::default());
        match &decision {
            RoutingDecision::Queued(q) => {
                assert_eq!(q.reason, QueueReason::AllAtCapacity);
                assert_eq!(q.rule.id, "refunds");
                assert_eq!(q.placement.target, RouteTarget::Team("finance".into()));
            }
            other => panic!("expected a queue decision, got {other:?}"),
        }
        assert_eq!(state, RoundRobinState::default());
    }

    #[test]
    fn require_language_passes_the_normalized_language_to_the_placement() {
        let rules = rules();
        let mut facts = RoutingFacts::new(ChannelKind::Web, "Hallo", true);
        facts.language = Some("de-AT".into());
        let rule = first_match(&rules, &facts).expect("german rule");
        assert_eq!(rule.placement(&facts).language.as_deref(), Some("de-at"));
    }

    #[test]
    fn unmatched_conversations_keep_their_priority() {
        let mut facts = RoutingFacts::new(ChannelKind::Api, "hi", true);
        facts.priority = Priority::Low;
        let teams: [Team; 0] = [];
        let (decision, _) = route(
            &rules(),
            &facts,
            &Roster::new(&teams, &[]),
            &RoundRobinState::default(),
        );
        assert_eq!(
            decision,
            RoutingDecision::Unmatched {
                priority: Priority::Low
            }
        );
        assert!(decision.rule().is_none());
    }

    #[test]
    fn the_explanation_marks_the_chosen_rule_and_failed_conditions() {
        let mut facts = RoutingFacts::new(ChannelKind::Telegram, "refund please", false);
        facts.intent = Some("billing_question".into());
        let traces = explain_routing(&rules(), &facts);
        assert_eq!(traces.len(), 6);
        let refunds = &traces[1];
        assert!(!refunds.matched);
        assert_eq!(
            refunds.checks,
            [
                ConditionCheck {
                    condition: "channel".into(),
                    matched: false
                },
                ConditionCheck {
                    condition: "keywords".into(),
                    matched: true
                }
            ]
        );
        let chosen: Vec<&str> = traces
            .iter()
            .filter(|t| t.chosen)
            .map(|t| t.rule.id.as_str())
            .collect();
        assert_eq!(chosen, ["intent-billing"]);
        // The night rule matches too, but comes later.
        assert!(traces[4].matched && !traces[4].chosen);
        // A disabled rule with no conditions matches but is never chosen.
        assert!(traces[5].matched && !traces[5].chosen && !traces[5].enabled);
    }

    #[test]
    fn rule_validation_catches_bad_configuration() {
        let teams = [
            team("finance", &[1]),
            team("support", &[2]),
            team("emergency", &[3]),
            team("night", &[4]),
        ];
        assert_eq!(validate_routing_rules(&rules(), &teams), Ok(()));
        assert!(matches!(
            validate_routing_rules(&rules(), &teams[..2]),
            Err(RoutingRuleError::UnknownTeam { .. })
        ));
        let mut twice = rules();
        twice.push(twice[0].clone());
        assert_eq!(
            validate_routing_rules(&twice, &teams),
            Err(RoutingRuleError::DuplicateRule("vip-angry".into()))
        );
        let bad = |f: &dyn Fn(&mut RoutingRule)| {
            let mut rule = rules()[1].clone();
            f(&mut rule);
            rule.validate()
        };
        assert!(matches!(
            bad(&|r| r.id = "Refunds!".into()),
            Err(RoutingRuleError::InvalidId(_))
        ));
        assert!(matches!(
            bad(&|r| r.conditions.keywords.push("  ".into())),
            Err(RoutingRuleError::InvalidKeyword(_))
        ));
        assert!(matches!(
            bad(&|r| r.conditions.languages.push("xx-".into())),
            Err(RoutingRuleError::InvalidLanguage(_))
        ));
        assert_eq!(
            bad(&|r| r.conditions.sentiment = Some(ScoreRange {
                min: Some(0.5),
                max: Some(-0.5)
            })),
            Err(RoutingRuleError::InvalidSentimentRange)
        );
        assert_eq!(
            bad(&|r| r.conditions.sentiment = Some(ScoreRange {
                min: Some(f64::NAN),
                max: None
            })),
            Err(RoutingRuleError::InvalidSentimentRange)
        );
        assert!(matches!(
            bad(&|r| r.strategy = Strategy::SkillMatch { skills: vec![] }),
            Err(RoutingRuleError::Strategy(StrategyError::NoSkills))
        ));
        assert!(matches!(
            bad(&|r| r.conditions.contact.push(AttributeTest {
                attribute: "plan".into(),
                op: crate::routing::condition::CompareOp::OneOf,
                value: Some(json!("x"))
            })),
            Err(RoutingRuleError::Condition(_))
        ));
    }

    #[test]
    fn unknown_fields_in_a_rule_are_refused() {
        let result: Result<RoutingRule, _> = serde_json::from_value(json!({
            "id": "x", "target": {"team": "t"}, "priorty": "high"
        }));
        assert!(result.is_err());
    }
}
