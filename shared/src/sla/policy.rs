//! SLA policies: which tickets and conversations a policy covers, what it promises, and when
//! its clocks stop.
//!
//! A tenant keeps several [`SlaPolicy`]s in an [`SlaConfig`] together with its calendars. The
//! first enabled policy (by `position`) whose [`Conditions`] match the subject's current
//! [`SlaFacts`] applies. A policy sets up to three [`Target`]s — first response, next response,
//! resolution — each measured in business or calendar time, with a warning threshold.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::calendar::{Calendar, CalendarError};
use crate::model::{Attributes, ChannelKind, Priority};

/// What an SLA is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Ticket,
    Conversation,
}

/// The promises a policy can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// From creation to the first agent reply.
    FirstResponse,
    /// From each customer message that follows an agent reply to the next agent reply.
    NextResponse,
    /// From creation until resolved.
    Resolution,
}

impl TargetKind {
    pub const ALL: [TargetKind; 3] = [
        TargetKind::FirstResponse,
        TargetKind::NextResponse,
        TargetKind::Resolution,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::FirstResponse => "first_response",
            TargetKind::NextResponse => "next_response",
            TargetKind::Resolution => "resolution",
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a target counts only business hours or every minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeBasis {
    /// Only the opening hours of the policy's calendar count.
    #[default]
    Business,
    /// Every minute counts (24/7).
    Calendar,
}

fn default_warning_percent() -> u8 {
    80
}

/// One promise, e.g. "answered within 15 business minutes, warn at 80%".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub minutes: u32,
    /// Extra seconds on top of `minutes`: lets short targets (tests, chat) be expressed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seconds: u32,
    #[serde(default)]
    pub basis: TimeBasis,
    /// Percentage of the target after which the target is in warning (1..=99).
    #[serde(default = "default_warning_percent")]
    pub warning_percent: u8,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Target {
    /// A target of `minutes` in the given basis, warning at 80%.
    pub fn minutes(minutes: u32, basis: TimeBasis) -> Self {
        Target {
            minutes,
            seconds: 0,
            basis,
            warning_percent: default_warning_percent(),
        }
    }

    /// The time allowed.
    pub fn duration(&self) -> TimeDelta {
        TimeDelta::seconds(i64::from(self.minutes) * 60 + i64::from(self.seconds))
    }

    /// The counted time after which the target is in warning.
    pub fn warning_after(&self) -> TimeDelta {
        // Millisecond precision keeps the threshold exact for any whole-second target.
        TimeDelta::milliseconds(
            self.duration().num_milliseconds() * i64::from(self.warning_percent) / 100,
        )
    }

    fn validate(&self, kind: TargetKind, has_calendar: bool) -> Result<(), PolicyError> {
        if self.duration() <= TimeDelta::zero() {
            return Err(PolicyError::ZeroTarget(kind));
        }
        if !(1..=99).contains(&self.warning_percent) {
            return Err(PolicyError::WarningPercentOutOfRange {
                target: kind,
                percent: self.warning_percent,
            });
        }
        if self.basis == TimeBasis::Business && !has_calendar {
            return Err(PolicyError::BusinessTargetWithoutCalendar(kind));
        }
        Ok(())
    }
}

/// The targets of a policy; a missing one is not measured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Target>,
}

impl Targets {
    pub fn get(&self, kind: TargetKind) -> Option<&Target> {
        match kind {
            TargetKind::FirstResponse => self.first_response.as_ref(),
            TargetKind::NextResponse => self.next_response.as_ref(),
            TargetKind::Resolution => self.resolution.as_ref(),
        }
    }
}

fn default_pause_statuses() -> Vec<String> {
    vec!["pending".into(), "on_hold".into()]
}

/// Statuses in which the policy's clocks stop; leaving them resumes the clocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseRule {
    #[serde(default = "default_pause_statuses")]
    pub statuses: Vec<String>,
}

impl Default for PauseRule {
    fn default() -> Self {
        PauseRule {
            statuses: default_pause_statuses(),
        }
    }
}

impl PauseRule {
    pub fn pauses(&self, status: &str) -> bool {
        contains_status(&self.statuses, status)
    }
}

pub(crate) fn contains_status(list: &[String], status: &str) -> bool {
    list.iter()
        .any(|s| s.trim().eq_ignore_ascii_case(status.trim()))
}

/// How a contact attribute is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeOp {
    Equals,
    NotEquals,
    /// `value` is an array; the attribute equals one of its elements.
    OneOf,
    /// A string attribute contains `value` as a substring, or an array attribute has `value`
    /// as an element.
    Contains,
    Exists,
    Missing,
}

/// A test on one contact attribute, e.g. `{"attribute": "plan", "op": "equals", "value": "enterprise"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeCondition {
    pub attribute: String,
    pub op: AttributeOp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl AttributeCondition {
    pub fn matches(&self, attributes: &Attributes) -> bool {
        let actual = attributes.get(&self.attribute).filter(|v| !v.is_null());
        let expected = self.value.as_ref();
        match (self.op, actual, expected) {
            (AttributeOp::Exists, found, _) => found.is_some(),
            (AttributeOp::Missing, found, _) => found.is_none(),
            (AttributeOp::Equals, Some(a), Some(e)) => values_equal(a, e),
            (AttributeOp::NotEquals, Some(a), Some(e)) => !values_equal(a, e),
            (AttributeOp::NotEquals, None, Some(_)) => true,
            (AttributeOp::OneOf, Some(a), Some(Value::Array(options))) => {
                options.iter().any(|e| values_equal(a, e))
            }
            (AttributeOp::Contains, Some(Value::String(a)), Some(Value::String(e))) => {
                a.contains(e.as_str())
            }
            (AttributeOp::Contains, Some(Value::Array(items)), Some(e)) => {
                items.iter().any(|a| values_equal(a, e))
            }
            _ => false,
        }
    }

    fn validate(&self) -> Result<(), PolicyError> {
        if self.attribute.trim().is_empty() {
            return Err(PolicyError::EmptyAttributeName);
        }
        let needs_value = !matches!(self.op, AttributeOp::Exists | AttributeOp::Missing);
        let problem = match (&self.value, needs_value) {
            (None, true) => Some("needs a value"),
            (Some(_), false) => Some("takes no value"),
            (Some(v), true) if self.op == AttributeOp::OneOf && !v.is_array() => {
                Some("needs an array value")
            }
            _ => None,
        };
        match problem {
            Some(problem) => Err(PolicyError::BadAttributeCondition {
                attribute: self.attribute.clone(),
                problem,
            }),
            None => Ok(()),
        }
    }
}

/// JSON equality where `1` and `1.0` are the same number.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// What a subject must look like for a policy to apply. Empty lists do not restrict; all
/// non-empty lists must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<SubjectKind>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<Priority>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ChannelKind>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    /// At least one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_any: Vec<String>,
    /// All of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_all: Vec<String>,
    /// None of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_none: Vec<String>,
    /// Every one of these contact attribute tests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<AttributeCondition>,
}

impl Conditions {
    pub fn matches(&self, facts: &SlaFacts) -> bool {
        // Tags are compared case-insensitively: agents type them by hand.
        let tags: BTreeSet<String> = facts.tags.iter().map(|t| t.trim().to_lowercase()).collect();
        let has = |t: &String| tags.contains(&t.trim().to_lowercase());
        let team_matches = |team: &String| {
            facts
                .team
                .as_deref()
                .is_some_and(|f| f.eq_ignore_ascii_case(team.trim()))
        };
        (self.subjects.is_empty() || self.subjects.contains(&facts.subject))
            && (self.priorities.is_empty() || self.priorities.contains(&facts.priority))
            && (self.channels.is_empty()
                || facts.channel.is_some_and(|c| self.channels.contains(&c)))
            && (self.teams.is_empty() || self.teams.iter().any(team_matches))
            && (self.tags_any.is_empty() || self.tags_any.iter().any(has))
            && self.tags_all.iter().all(has)
            && !self.tags_none.iter().any(has)
            && self.contact.iter().all(|c| c.matches(&facts.contact))
    }

    fn validate(&self) -> Result<(), PolicyError> {
        let blank = |list: &[String]| list.iter().any(|s| s.trim().is_empty());
        if blank(&self.teams) {
            return Err(PolicyError::EmptyTeam);
        }
        if blank(&self.tags_any) || blank(&self.tags_all) || blank(&self.tags_none) {
            return Err(PolicyError::EmptyTag);
        }
        self.contact
            .iter()
            .try_for_each(AttributeCondition::validate)
    }
}

/// What policies are matched against: the subject's attributes at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaFacts {
    pub subject: SubjectKind,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The requester's contact attributes.
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub contact: Attributes,
}

impl SlaFacts {
    /// A subject with default priority and nothing else set.
    pub fn new(subject: SubjectKind) -> Self {
        SlaFacts {
            subject,
            priority: Priority::default(),
            channel: None,
            team: None,
            tags: Vec::new(),
            contact: Attributes::new(),
        }
    }
}

fn yes() -> bool {
    true
}

/// One SLA policy of a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Evaluation order: lower first; ties keep the configured order.
    #[serde(default)]
    pub position: i32,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub conditions: Conditions,
    /// The business-hours calendar business-time targets count in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_id: Option<String>,
    pub targets: Targets,
    #[serde(default)]
    pub pause: PauseRule,
}

/// Why a policy configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("a policy needs an id")]
    EmptyId,
    #[error("the policy sets no target")]
    NoTargets,
    #[error("the {0} target must be longer than zero")]
    ZeroTarget(TargetKind),
    #[error("the {target} warning threshold must be between 1 and 99 percent, not {percent}")]
    WarningPercentOutOfRange { target: TargetKind, percent: u8 },
    #[error("the {0} target counts business time but the policy has no calendar")]
    BusinessTargetWithoutCalendar(TargetKind),
    #[error("pause statuses cannot be blank")]
    EmptyPauseStatus,
    #[error("team conditions cannot be blank")]
    EmptyTeam,
    #[error("tag conditions cannot be blank")]
    EmptyTag,
    #[error("contact conditions need an attribute name")]
    EmptyAttributeName,
    #[error("the condition on contact attribute `{attribute}` {problem}")]
    BadAttributeCondition {
        attribute: String,
        problem: &'static str,
    },
}

impl SlaPolicy {
    /// Checks the policy on its own; calendar references are checked by [`SlaConfig::validate`].
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.id.trim().is_empty() {
            return Err(PolicyError::EmptyId);
        }
        let mut any = false;
        for kind in TargetKind::ALL {
            if let Some(target) = self.targets.get(kind) {
                target.validate(kind, self.calendar_id.is_some())?;
                any = true;
            }
        }
        if !any {
            return Err(PolicyError::NoTargets);
        }
        if self.pause.statuses.iter().any(|s| s.trim().is_empty()) {
            return Err(PolicyError::EmptyPauseStatus);
        }
        self.conditions.validate()
    }

    pub fn matches(&self, facts: &SlaFacts) -> bool {
        self.enabled && self.conditions.matches(facts)
    }
}

/// The first enabled policy, by `position` then list order, whose conditions match.
pub fn select_policy<'a>(policies: &'a [SlaPolicy], facts: &SlaFacts) -> Option<&'a SlaPolicy> {
    // min_by_key keeps the first of equal keys, so ties go to the earlier list entry.
    policies
        .iter()
        .filter(|p| p.matches(facts))
        .min_by_key(|p| p.position)
}

fn default_resolved_statuses() -> Vec<String> {
    vec!["solved".into(), "closed".into(), "resolved".into()]
}

/// A tenant's SLA configuration: calendars and policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    #[serde(default)]
    pub calendars: Vec<Calendar>,
    #[serde(default)]
    pub policies: Vec<SlaPolicy>,
    /// Statuses that mean "resolved": they complete the resolution target and stop every clock.
    #[serde(default = "default_resolved_statuses")]
    pub resolved_statuses: Vec<String>,
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            calendars: Vec::new(),
            policies: Vec::new(),
            resolved_statuses: default_resolved_statuses(),
        }
    }
}

/// Why an SLA configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("calendar `{id}`: {source}")]
    Calendar { id: String, source: CalendarError },
    #[error("policy `{id}`: {source}")]
    Policy { id: String, source: PolicyError },
    #[error("two calendars have the id `{0}`")]
    DuplicateCalendar(String),
    #[error("two policies have the id `{0}`")]
    DuplicatePolicy(String),
    #[error("policy `{policy}` uses the unknown calendar `{calendar}`")]
    UnknownCalendar { policy: String, calendar: String },
    #[error("at least one resolved status is needed")]
    NoResolvedStatuses,
    #[error("status `{0}` cannot both pause clocks and mean resolved")]
    PausedAndResolved(String),
}

impl SlaConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut calendar_ids = BTreeSet::new();
        for calendar in &self.calendars {
            calendar
                .validate()
                .map_err(|source| ConfigError::Calendar {
                    id: calendar.id.clone(),
                    source,
                })?;
            if !calendar_ids.insert(calendar.id.as_str()) {
                return Err(ConfigError::DuplicateCalendar(calendar.id.clone()));
            }
        }
        if self.resolved_statuses.iter().all(|s| s.trim().is_empty()) {
            return Err(ConfigError::NoResolvedStatuses);
        }
        let mut policy_ids = BTreeSet::new();
        for policy in &self.policies {
            policy.validate().map_err(|source| ConfigError::Policy {
                id: policy.id.clone(),
                source,
            })?;
            if !policy_ids.insert(policy.id.as_str()) {
                return Err(ConfigError::DuplicatePolicy(policy.id.clone()));
            }
            if let Some(calendar) = &policy.calendar_id {
                if !calendar_ids.contains(calendar.as_str()) {
                    return Err(ConfigError::UnknownCalendar {
                        policy: policy.id.clone(),
                        calendar: calendar.clone(),
                    });
                }
            }
            if let Some(status) = policy
                .pause
                .statuses
                .iter()
                .find(|s| contains_status(&self.resolved_statuses, s))
            {
                return Err(ConfigError::PausedAndResolved(status.clone()));
            }
        }
        Ok(())
    }

    pub fn policy(&self, id: &str) -> Option<&SlaPolicy> {
        self.policies.iter().find(|p| p.id == id)
    }

    pub fn is_resolved(&self, status: &str) -> bool {
        contains_status(&self.resolved_statuses, status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(priority: Priority) -> SlaFacts {
        SlaFacts {
            priority,
            ..SlaFacts::new(SubjectKind::Ticket)
        }
    }

    fn policy(id: &str, position: i32, conditions: Conditions) -> SlaPolicy {
        SlaPolicy {
            id: id.into(),
            name: String::new(),
            position,
            enabled: true,
            conditions,
            calendar_id: None,
            targets: Targets {
                first_response: Some(Target::minutes(60, TimeBasis::Calendar)),
                ..Targets::default()
            },
            pause: PauseRule::default(),
        }
    }

    #[test]
    fn the_first_matching_policy_by_position_applies() {
        let urgent = Conditions {
            priorities: vec![Priority::Urgent],
            ..Conditions::default()
        };
        let policies = vec![
            policy("catch-all", 10, Conditions::default()),
            policy("urgent", 1, urgent),
            policy("also-catch-all", 10, Conditions::default()),
        ];
        assert_eq!(
            select_policy(&policies, &facts(Priority::Urgent)).map(|p| p.id.as_str()),
            Some("urgent")
        );
        assert_eq!(
            select_policy(&policies, &facts(Priority::Low)).map(|p| p.id.as_str()),
            Some("catch-all")
        );
    }

    #[test]
    fn a_disabled_policy_never_applies() {
        let mut only = policy("p", 0, Conditions::default());
        only.enabled = false;
        assert!(select_policy(&[only], &facts(Priority::Normal)).is_none());
    }

    #[test]
    fn conditions_combine_priority_channel_team_tags_and_contact() {
        let conditions: Conditions = serde_json::from_value(json!({
            "subjects": ["ticket"],
            "priorities": ["urgent", "high"],
            "channels": ["email"],
            "teams": ["Billing"],
            "tags_any": ["vip", "enterprise"],
            "tags_all": ["paid"],
            "tags_none": ["spam"],
            "contact": [
                {"attribute": "plan", "op": "one_of", "value": ["gold", "platinum"]},
                {"attribute": "seats", "op": "equals", "value": 10},
                {"attribute": "blocked", "op": "missing"}
            ]
        }))
        .expect("parses");
        let mut f = SlaFacts {
            subject: SubjectKind::Ticket,
            priority: Priority::High,
            channel: Some(ChannelKind::Email),
            team: Some("billing".into()),
            tags: vec!["VIP".into(), "paid".into()],
            contact: [
                ("plan".to_string(), json!("gold")),
                ("seats".to_string(), json!(10.0)),
            ]
            .into_iter()
            .collect(),
        };
        assert!(conditions.matches(&f));

        type Change = fn(&mut SlaFacts);
        let variations: [(&str, Change); 9] = [
            ("a conversation", |f| f.subject = SubjectKind::Conversation),
            ("normal priority", |f| f.priority = Priority::Normal),
            ("another channel", |f| f.channel = Some(ChannelKind::Web)),
            ("no channel", |f| f.channel = None),
            ("another team", |f| f.team = Some("sales".into())),
            ("no vip tag", |f| f.tags = vec!["paid".into()]),
            ("a spam tag", |f| f.tags.push("Spam".into())),
            ("a silver plan", |f| {
                drop(f.contact.insert("plan".into(), json!("silver")))
            }),
            ("a blocked contact", |f| {
                drop(f.contact.insert("blocked".into(), json!(true)))
            }),
        ];
        for (name, change) in variations {
            let mut changed = f.clone();
            change(&mut changed);
            assert!(!conditions.matches(&changed), "{name} must not match");
        }
        f.contact.insert("blocked".into(), Value::Null);
        assert!(conditions.matches(&f), "a null attribute counts as missing");
    }

    #[test]
    fn contains_works_on_strings_and_arrays() {
        let cond = |value: Value| AttributeCondition {
            attribute: "x".into(),
            op: AttributeOp::Contains,
            value: Some(value),
        };
        let attrs =
            |value: Value| -> Attributes { [("x".to_string(), value)].into_iter().collect() };
        assert!(cond(json!("corp")).matches(&attrs(json!("acme-corp.com"))));
        assert!(cond(json!("beta")).matches(&attrs(json!(["alpha", "beta"]))));
        assert!(!cond(json!("gamma")).matches(&attrs(json!(["alpha", "beta"]))));
        assert!(!cond(json!("corp")).matches(&Attributes::new()));
    }

    #[test]
    fn warning_threshold_is_a_share_of_the_target() {
        let target = Target {
            minutes: 15,
            seconds: 0,
            basis: TimeBasis::Business,
            warning_percent: 80,
        };
        assert_eq!(target.warning_after(), TimeDelta::minutes(12));
        let short = Target {
            minutes: 0,
            seconds: 10,
            basis: TimeBasis::Calendar,
            warning_percent: 25,
        };
        assert_eq!(short.duration(), TimeDelta::seconds(10));
        assert_eq!(short.warning_after(), TimeDelta::milliseconds(2500));
    }

    #[test]
    fn invalid_policies_are_refused_with_a_reason() {
        let base = || policy("p", 0, Conditions::default());
        let with_target = |target: Target| SlaPolicy {
            targets: Targets {
                resolution: Some(target),
                ..Targets::default()
            },
            ..base()
        };
        let cases: Vec<(SlaPolicy, PolicyError)> = vec![
            (
                SlaPolicy {
                    id: "".into(),
                    ..base()
                },
                PolicyError::EmptyId,
            ),
            (
                SlaPolicy {
                    targets: Targets::default(),
                    ..base()
                },
                PolicyError::NoTargets,
            ),
            (
                with_target(Target {
                    minutes: 0,
                    seconds: 0,
                    basis: TimeBasis::Calendar,
                    warning_percent: 80,
                }),
                PolicyError::ZeroTarget(TargetKind::Resolution),
            ),
            (
                with_target(Target {
                    minutes: 60,
                    seconds: 0,
                    basis: TimeBasis::Calendar,
                    warning_percent: 0,
                }),
                PolicyError::WarningPercentOutOfRange {
                    target: TargetKind::Resolution,
                    percent: 0,
                },
            ),
            (
                with_target(Target {
                    minutes: 60,
                    seconds: 0,
                    basis: TimeBasis::Calendar,
                    warning_percent: 100,
                }),
                PolicyError::WarningPercentOutOfRange {
                    target: TargetKind::Resolution,
                    percent: 100,
                },
            ),
            (
                with_target(Target::minutes(60, TimeBasis::Business)),
                PolicyError::BusinessTargetWithoutCalendar(TargetKind::Resolution),
            ),
            (
                SlaPolicy {
                    pause: PauseRule {
                        statuses: vec![" ".into()],
                    },
                    ..base()
                },
                PolicyError::EmptyPauseStatus,
            ),
            (
                policy(
                    "p",
                    0,
                    Conditions {
                        teams: vec!["".into()],
                        ..Conditions::default()
                    },
                ),
                PolicyError::EmptyTeam,
            ),
            (
                policy(
                    "p",
                    0,
                    Conditions {
                        tags_none: vec!["".into()],
                        ..Conditions::default()
                    },
                ),
                PolicyError::EmptyTag,
            ),
            (
                policy(
                    "p",
                    0,
                    Conditions {
                        contact: vec![AttributeCondition {
                            attribute: "plan".into(),
                            op: AttributeOp::Equals,
                            value: None,
                        }],
                        ..Conditions::default()
                    },
                ),
                PolicyError::BadAttributeCondition {
                    attribute: "plan".into(),
                    problem: "needs a value",
                },
            ),
            (
                policy(
                    "p",
                    0,
                    Conditions {
                        contact: vec![AttributeCondition {
                            attribute: "plan".into(),
                            op: AttributeOp::OneOf,
                            value: Some(json!("gold")),
                        }],
                        ..Conditions::default()
                    },
                ),
                PolicyError::BadAttributeCondition {
                    attribute: "plan".into(),
                    problem: "needs an array value",
                },
            ),
            (
                policy(
                    "p",
                    0,
                    Conditions {
                        contact: vec![AttributeCondition {
                            attribute: "plan".into(),
                            op: AttributeOp::Exists,
                            value: Some(json!(1)),
                        }],
                        ..Conditions::default()
                    },
                ),
                PolicyError::BadAttributeCondition {
                    attribute: "plan".into(),
                    problem: "takes no value",
                },
            ),
        ];
        for (policy, expected) in cases {
            assert_eq!(policy.validate(), Err(expected.clone()), "{expected}");
        }
    }

    #[test]
    fn a_config_refuses_unknown_calendars_and_duplicate_ids() {
        let mut p = policy("p", 0, Conditions::default());
        p.calendar_id = Some("office".into());
        let config = SlaConfig {
            policies: vec![p.clone()],
            ..SlaConfig::default()
        };
        assert_eq!(
            config.validate(),
            Err(ConfigError::UnknownCalendar {
                policy: "p".into(),
                calendar: "office".into()
            })
        );

        let config = SlaConfig {
            policies: vec![policy("p", 0, Conditions::default()); 2],
            ..SlaConfig::default()
        };
        assert_eq!(
            config.validate(),
            Err(ConfigError::DuplicatePolicy("p".into()))
        );

        let mut pauses_on_solved = policy("p", 0, Conditions::default());
        pauses_on_solved.pause.statuses.push("Solved".into());
        let config = SlaConfig {
            policies: vec![pauses_on_solved],
            ..SlaConfig::default()
        };
        assert_eq!(
            config.validate(),
            Err(ConfigError::PausedAndResolved("Solved".into()))
        );
    }

    #[test]
    fn a_policy_parses_from_json_with_defaults() {
        let p: SlaPolicy = serde_json::from_value(json!({
            "id": "p0",
            "name": "P0 answered within 15 minutes",
            "conditions": {"priorities": ["urgent"]},
            "calendar_id": "office",
            "targets": {
                "first_response": {"minutes": 15},
                "resolution": {"minutes": 480, "basis": "calendar", "warning_percent": 90}
            }
        }))
        .expect("parses");
        assert!(p.enabled);
        assert_eq!(
            p.pause.statuses,
            vec!["pending".to_string(), "on_hold".to_string()]
        );
        let fr = p.targets.first_response.expect("first response");
        assert_eq!((fr.basis, fr.warning_percent), (TimeBasis::Business, 80));
        assert!(p.validate().is_ok());
        assert!(serde_json::from_value::<SlaPolicy>(
            json!({"id": "x", "targets": {}, "colour": "red"})
        )
        .is_err());
    }
}
