//! Escalation rules: what happens when an SLA target warns or breaches.
//!
//! A tenant's [`EscalationRule`]s say, as data, which firings (warning or breach, of which
//! targets under which policies) trigger which actions: notify agents (realtime event plus signed
//! webhook), raise the priority, reassign to a team, add a tag. [`plan_escalations`] turns the
//! firings the engine reports into the concrete changes to make, skipping those that would
//! change nothing. Applying them (and appending the resulting events to the history, which may
//! select another policy) is up to the caller.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::engine::{Firing, FiringLevel};
use super::policy::{SlaConfig, SlaFacts, TargetKind};
use crate::model::Priority;

/// Who a notification is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The assigned agent (or the team when nobody is assigned).
    #[default]
    Assignee,
    /// Every agent of the subject's team.
    Team,
    /// Every agent of the tenant.
    AllAgents,
}

fn yes() -> bool {
    true
}

/// One configured action: `{"type": "raise_priority", "to": "urgent"}`. Decoded by hand (see
/// the `Deserialize` impl below); the attributes here shape its encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EscalationAction {
    /// A realtime event to agents and, with `webhook`, a signed outbound webhook.
    Notify {
        #[serde(default)]
        audience: Audience,
        #[serde(default = "yes")]
        webhook: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Raise to `to`, or one level when `to` is absent; never lowers the priority.
    RaisePriority {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Priority>,
    },
    AssignTeam {
        team: String,
    },
    AddTag {
        tag: String,
    },
}

crate::tag_set! {
    /// The action types, as `type` names them.
    enum ActionType {
        Notify = "notify",
        RaisePriority = "raise_priority",
        AssignTeam = "assign_team",
        AddTag = "add_tag",
    }
}

/// Every field an action has, whatever its type.
const ACTION_FIELDS: &[&str] = &[
    "type", "audience", "webhook", "message", "to", "team", "tag",
];

/// serde's derive for an internally tagged enum buffers the object and runs a decoder per
/// variant over the buffer (about 10 KB of WebAssembly for this enum); one pass over the fields
/// accepts and refuses the same objects with the same messages.
impl<'de> Deserialize<'de> for EscalationAction {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ActionVisitor)
    }
}

struct ActionVisitor;

impl<'de> serde::de::Visitor<'de> for ActionVisitor {
    type Value = EscalationAction;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        // As the derived decoder said it.
        f.write_str("internally tagged enum EscalationAction")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use crate::tagged::Strict;
        use serde::de::Error;
        let mut kind = None;
        let mut audience = None;
        let mut webhook = None;
        let mut message: Option<Option<String>> = None;
        let mut to: Option<Option<Priority>> = None;
        let mut team = None;
        let mut tag = None;
        let mut fields = Strict::new("type");
        while let Some(name) = fields.next(&mut map, ACTION_FIELDS)? {
            let again = match name {
                "type" => kind.replace(map.next_value::<ActionType>()?).is_some(),
                "audience" => audience.replace(map.next_value()?).is_some(),
                "webhook" => webhook.replace(map.next_value()?).is_some(),
                "message" => message.replace(map.next_value()?).is_some(),
                "to" => to.replace(map.next_value()?).is_some(),
                "team" => team.replace(map.next_value()?).is_some(),
                _ => tag.replace(map.next_value()?).is_some(),
            };
            fields.saw(name, again);
        }
        fields.no_duplicate()?;
        let kind = kind.ok_or_else(|| A::Error::missing_field("type"))?;
        fields.only(match kind {
            ActionType::Notify => &["audience", "webhook", "message"],
            ActionType::RaisePriority => &["to"],
            ActionType::AssignTeam => &["team"],
            ActionType::AddTag => &["tag"],
        })?;
        Ok(match kind {
            ActionType::Notify => EscalationAction::Notify {
                audience: audience.unwrap_or_default(),
                webhook: webhook.unwrap_or(true),
                message: message.flatten(),
            },
            ActionType::RaisePriority => EscalationAction::RaisePriority { to: to.flatten() },
            ActionType::AssignTeam => EscalationAction::AssignTeam {
                team: team.ok_or_else(|| A::Error::missing_field("team"))?,
            },
            ActionType::AddTag => EscalationAction::AddTag {
                tag: tag.ok_or_else(|| A::Error::missing_field("tag"))?,
            },
        })
    }
}

/// When a rule applies and what it does, e.g. "on breach of first response: notify the team
/// and raise the priority".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRule {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The crossing that triggers the rule.
    pub on: FiringLevel,
    /// Targets the rule reacts to; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetKind>,
    /// Policies whose firings the rule reacts to; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    pub actions: Vec<EscalationAction>,
}

/// Why an escalation rule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscalationError {
    #[error("an escalation rule needs an id")]
    EmptyId,
    #[error("rule `{0}` has no actions")]
    NoActions(String),
    #[error("rule `{0}` assigns to a blank team")]
    EmptyTeam(String),
    #[error("rule `{0}` adds a blank tag")]
    EmptyTag(String),
    #[error("rule `{0}` notifies with a blank message")]
    EmptyMessage(String),
    #[error("two escalation rules have the id `{0}`")]
    DuplicateRule(String),
    #[error("rule `{rule}` refers to the unknown policy `{policy}`")]
    UnknownPolicy { rule: String, policy: String },
}

impl EscalationRule {
    /// Checks the rule on its own; policy references are checked by [`validate_rules`].
    pub fn validate(&self) -> Result<(), EscalationError> {
        if self.id.trim().is_empty() {
            return Err(EscalationError::EmptyId);
        }
        if self.actions.is_empty() {
            return Err(EscalationError::NoActions(self.id.clone()));
        }
        for action in &self.actions {
            match action {
                EscalationAction::AssignTeam { team } if team.trim().is_empty() => {
                    return Err(EscalationError::EmptyTeam(self.id.clone()))
                }
                EscalationAction::AddTag { tag } if tag.trim().is_empty() => {
                    return Err(EscalationError::EmptyTag(self.id.clone()))
                }
                EscalationAction::Notify {
                    message: Some(m), ..
                } if m.trim().is_empty() => {
                    return Err(EscalationError::EmptyMessage(self.id.clone()))
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub fn applies_to(&self, firing: &Firing) -> bool {
        self.enabled
            && self.on == firing.level
            && (self.targets.is_empty() || self.targets.contains(&firing.target))
            && (self.policies.is_empty() || self.policies.contains(&firing.policy_id))
    }
}

/// Validates a tenant's rules together: each rule, unique ids, known policies.
pub fn validate_rules(rules: &[EscalationRule], config: &SlaConfig) -> Result<(), EscalationError> {
    let mut ids = BTreeSet::new();
    for rule in rules {
        rule.validate()?;
        if !ids.insert(rule.id.as_str()) {
            return Err(EscalationError::DuplicateRule(rule.id.clone()));
        }
        if let Some(policy) = rule.policies.iter().find(|p| config.policy(p).is_none()) {
            return Err(EscalationError::UnknownPolicy {
                rule: rule.id.clone(),
                policy: policy.clone(),
            });
        }
    }
    Ok(())
}

/// The parts of a subject that escalation actions change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationSubject {
    pub priority: Priority,
    pub team: Option<String>,
    pub tags: Vec<String>,
}

impl From<&SlaFacts> for EscalationSubject {
    fn from(facts: &SlaFacts) -> Self {
        EscalationSubject {
            priority: facts.priority,
            team: facts.team.clone(),
            tags: facts.tags.clone(),
        }
    }
}

/// A concrete change to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    Notify {
        audience: Audience,
        webhook: bool,
        message: Option<String>,
    },
    SetPriority {
        from: Priority,
        to: Priority,
    },
    AssignTeam {
        from: Option<String>,
        to: String,
    },
    AddTag {
        tag: String,
    },
}

/// An action, with the rule and firing that caused it (for the audit trail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    pub rule_id: String,
    pub firing: Firing,
    pub action: Action,
}

/// The changes to make for `firings` (in the given order), applying every matching enabled
/// rule in order. Actions see the effect of earlier ones, so an action that would change
/// nothing — a tag already present, a priority already as high — is left out; notifications
/// are always kept.
pub fn plan_escalations(
    rules: &[EscalationRule],
    firings: &[Firing],
    subject: &EscalationSubject,
) -> Vec<PlannedAction> {
    let mut state = subject.clone();
    let mut planned = Vec::new();
    for firing in firings {
        for rule in rules.iter().filter(|r| r.applies_to(firing)) {
            for action in &rule.actions {
                if let Some(action) = apply(action, &mut state) {
                    planned.push(PlannedAction {
                        rule_id: rule.id.clone(),
                        firing: firing.clone(),
                        action,
                    });
                }
            }
        }
    }
    planned
}

/// The concrete action for `action` on `state`, updating `state`; `None` if it changes nothing.
fn apply(action: &EscalationAction, state: &mut EscalationSubject) -> Option<Action> {
    match action {
        EscalationAction::Notify {
            audience,
            webhook,
            message,
        } => Some(Action::Notify {
            audience: *audience,
            webhook: *webhook,
            message: message.clone(),
        }),
        EscalationAction::RaisePriority { to } => {
            let from = state.priority;
            let to = to.or_else(|| one_level_up(from))?;
            // Priorities are declared most urgent first, so "higher" sorts lower.
            if to >= from {
                return None;
            }
            state.priority = to;
            Some(Action::SetPriority { from, to })
        }
        EscalationAction::AssignTeam { team } => {
            let team = team.trim();
            if state
                .team
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(team))
            {
                return None;
            }
            let from = state.team.replace(team.to_owned());
            Some(Action::AssignTeam {
                from,
                to: team.to_owned(),
            })
        }
        EscalationAction::AddTag { tag } => {
            let tag = tag.trim();
            if state
                .tags
                .iter()
                .any(|t| t.trim().eq_ignore_ascii_case(tag))
            {
                return None;
            }
            state.tags.push(tag.to_owned());
            Some(Action::AddTag {
                tag: tag.to_owned(),
            })
        }
    }
}

fn one_level_up(p: Priority) -> Option<Priority> {
    match p {
        Priority::Low => Some(Priority::Normal),
        Priority::Normal => Some(Priority::High),
        Priority::High => Some(Priority::Urgent),
        Priority::Urgent => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn firing(target: TargetKind, level: FiringLevel, policy: &str) -> Firing {
        Firing {
            target,
            cycle: 0,
            level,
            at: "2024-05-13T14:00:00Z".parse().expect("instant"),
            policy_id: policy.into(),
        }
    }

    fn subject(priority: Priority) -> EscalationSubject {
        EscalationSubject {
            priority,
            team: Some("tier1".into()),
            tags: vec!["billing".into()],
        }
    }

    fn rules() -> Vec<EscalationRule> {
        serde_json::from_value(json!([
            {
                "id": "fr-breach", "on": "breach", "targets": ["first_response"],
                "actions": [
                    {"type": "notify", "audience": "team"},
                    {"type": "raise_priority"},
                    {"type": "add_tag", "tag": "sla-breached"}
                ]
            },
            {
                "id": "any-breach", "on": "breach",
                "actions": [{"type": "add_tag", "tag": "SLA-Breached"}, {"type": "assign_team", "team": "tier2"}]
            },
            {
                "id": "warn-vip", "on": "warning", "policies": ["vip"],
                "actions": [{"type": "notify", "webhook": false, "message": "VIP ticket close to its SLA"}]
            },
            {
                "id": "off", "enabled": false, "on": "breach",
                "actions": [{"type": "raise_priority", "to": "urgent"}]
            }
        ]))
        .expect("valid rules JSON")
    }

    #[test]
    fn a_first_response_breach_notifies_raises_tags_and_reassigns() {
        let plan = plan_escalations(
            &rules(),
            &[firing(
                TargetKind::FirstResponse,
                FiringLevel::Breach,
                "normal",
            )],
            &subject(Priority::Normal),
        );
        let actions: Vec<(&str, &Action)> = plan
            .iter()
            .map(|p| (p.rule_id.as_str(), &p.action))
            .collect();
        assert_eq!(
            actions,
            vec![
                (
                    "fr-breach",
                    &Action::Notify {
                        audience: Audience::Team,
                        webhook: true,
                        message: None
                    }
                ),
                (
                    "fr-breach",
                    &Action::SetPriority {
                        from: Priority::Normal,
                        to: Priority::High
                    }
                ),
                (
                    "fr-breach",
                    &Action::AddTag {
                        tag: "sla-breached".into()
                    }
                ),
                // The second rule's tag differs only in case: already there.
                (
                    "any-breach",
                    &Action::AssignTeam {
                        from: Some("tier1".into()),
                        to: "tier2".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn rules_filter_by_level_target_and_policy() {
        let rules = rules();
        let warning_normal = plan_escalations(
            &rules,
            &[firing(
                TargetKind::FirstResponse,
                FiringLevel::Warning,
                "normal",
            )],
            &subject(Priority::Normal),
        );
        assert!(warning_normal.is_empty());

        let warning_vip = plan_escalations(
            &rules,
            &[firing(TargetKind::Resolution, FiringLevel::Warning, "vip")],
            &subject(Priority::Normal),
        );
        assert_eq!(warning_vip.len(), 1);
        assert_eq!(warning_vip[0].rule_id, "warn-vip");

        let resolution_breach = plan_escalations(
            &rules,
            &[firing(TargetKind::Resolution, FiringLevel::Breach, "vip")],
            &subject(Priority::Normal),
        );
        assert!(
            resolution_breach.iter().all(|p| p.rule_id == "any-breach"),
            "disabled and first-response rules stay out"
        );
    }

    #[test]
    fn raising_never_lowers_and_stops_at_urgent() {
        let raise_to = |to: Option<Priority>, from: Priority| {
            let mut state = subject(from);
            apply(&EscalationAction::RaisePriority { to }, &mut state)
        };
        assert_eq!(
            raise_to(None, Priority::Low),
            Some(Action::SetPriority {
                from: Priority::Low,
                to: Priority::Normal
            })
        );
        assert_eq!(
            raise_to(None, Priority::High),
            Some(Action::SetPriority {
                from: Priority::High,
                to: Priority::Urgent
            })
        );
        assert_eq!(raise_to(None, Priority::Urgent), None);
        assert_eq!(
            raise_to(Some(Priority::High), Priority::Low),
            Some(Action::SetPriority {
                from: Priority::Low,
                to: Priority::High
            })
        );
        assert_eq!(raise_to(Some(Priority::Normal), Priority::High), None);
        assert_eq!(raise_to(Some(Priority::High), Priority::High), None);
    }

    #[test]
    fn repeated_firings_do_not_repeat_changes_that_are_already_made() {
        let firings = [
            firing(TargetKind::FirstResponse, FiringLevel::Breach, "normal"),
            firing(TargetKind::Resolution, FiringLevel::Breach, "normal"),
        ];
        let plan = plan_escalations(&rules(), &firings, &subject(Priority::Normal));
        let changes: Vec<&Action> = plan
            .iter()
            .map(|p| &p.action)
            .filter(|a| !matches!(a, Action::Notify { .. }))
            .collect();
        assert_eq!(
            changes,
            vec![
                &Action::SetPriority {
                    from: Priority::Normal,
                    to: Priority::High
                },
                &Action::AddTag {
                    tag: "sla-breached".into()
                },
                &Action::AssignTeam {
                    from: Some("tier1".into()),
                    to: "tier2".into()
                },
            ]
        );
    }

    #[test]
    fn invalid_rules_are_refused_with_a_reason() {
        let rule = |id: &str, actions: Vec<EscalationAction>| EscalationRule {
            id: id.into(),
            name: String::new(),
            enabled: true,
            on: FiringLevel::Breach,
            targets: vec![],
            policies: vec![],
            actions,
        };
        let cases = [
            (
                rule(" ", vec![EscalationAction::AddTag { tag: "x".into() }]),
                EscalationError::EmptyId,
            ),
            (rule("r", vec![]), EscalationError::NoActions("r".into())),
            (
                rule("r", vec![EscalationAction::AssignTeam { team: "".into() }]),
                EscalationError::EmptyTeam("r".into()),
            ),
            (
                rule("r", vec![EscalationAction::AddTag { tag: " ".into() }]),
                EscalationError::EmptyTag("r".into()),
            ),
            (
                rule(
                    "r",
                    vec![EscalationAction::Notify {
                        audience: Audience::Team,
                        webhook: true,
                        message: Some("".into()),
                    }],
                ),
                EscalationError::EmptyMessage("r".into()),
            ),
        ];
        for (rule, expected) in cases {
            assert_eq!(rule.validate(), Err(expected.clone()), "{expected}");
        }

        let config = SlaConfig::default();
        let twice = vec![rule("r", vec![EscalationAction::AddTag { tag: "x".into() }]); 2];
        assert_eq!(
            validate_rules(&twice, &config),
            Err(EscalationError::DuplicateRule("r".into()))
        );
        let mut unknown = rule("r", vec![EscalationAction::AddTag { tag: "x".into() }]);
        unknown.policies = vec!["gone".into()];
        assert_eq!(
            validate_rules(&[unknown], &config),
            Err(EscalationError::UnknownPolicy {
                rule: "r".into(),
                policy: "gone".into()
            })
        );
        assert!(serde_json::from_value::<EscalationAction>(json!({"type": "teleport"})).is_err());
    }

    #[test]
    fn planned_actions_serialize_for_the_audit_trail() {
        let plan = plan_escalations(
            &rules(),
            &[firing(
                TargetKind::FirstResponse,
                FiringLevel::Breach,
                "normal",
            )],
            &subject(Priority::Normal),
        );
        let json = serde_json::to_value(&plan[1]).expect("json");
        assert_eq!(
            json["action"],
            json!({"type": "set_priority", "from": "normal", "to": "high"})
        );
        assert_eq!(json["firing"]["target"], "first_response");
    }
}

#[cfg(test)]
mod decode_tests {
    //! The hand-written decoder against the decoder serde derives for the same enum.

    use super::*;

    /// What `EscalationAction` was before its decoder was written by hand.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
    enum Derived {
        Notify {
            #[serde(default)]
            audience: Audience,
            #[serde(default = "yes")]
            webhook: bool,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            message: Option<String>,
        },
        RaisePriority {
            #[serde(default, skip_serializing_if = "Option::is_none")]
            to: Option<Priority>,
        },
        AssignTeam {
            team: String,
        },
        AddTag {
            tag: String,
        },
    }

    #[test]
    fn the_hand_written_decoder_accepts_and_refuses_what_the_derived_one_does() {
        let cases = [
            r#"{"type":"notify"}"#,
            r#"{"type":"notify","audience":"team","webhook":false,"message":"Breached"}"#,
            r#"{"message":null,"type":"notify","audience":"all_agents"}"#,
            r#"{"type":"raise_priority"}"#,
            r#"{"type":"raise_priority","to":"urgent"}"#,
            r#"{"type":"raise_priority","to":null}"#,
            r#"{"type":"assign_team","team":"tier2"}"#,
            r#"{"team":"tier2","type":"assign_team"}"#,
            r#"{"type":"add_tag","tag":"escalated"}"#,
            // Refused: no type, an unknown type, a type that is not a string.
            r#"{"tag":"x"}"#,
            r#"{"type":"teleport"}"#,
            // Refused: an unknown type with the fields of the last one, or spelt differently.
            r#"{"type":"teleport","tag":"x"}"#,
            r#"{"type":"AddTag","tag":"x"}"#,
            r#"{"type":true}"#,
            r#"{"type":3,"tag":"x"}"#,
            // Refused: a missing field, another type's field, a field no type has.
            r#"{"type":"assign_team"}"#,
            r#"{"type":"add_tag","tag":"x","team":"y"}"#,
            r#"{"type":"notify","to":"high"}"#,
            r#"{"type":"raise_priority","to":"high","colour":"red"}"#,
            // Refused: a field twice, a value of the wrong type.
            r#"{"type":"add_tag","tag":"x","tag":"y"}"#,
            r#"{"type":"notify","audience":"everyone"}"#,
            r#"{"type":"notify","webhook":"yes"}"#,
            r#"{"type":"raise_priority","to":"whenever"}"#,
            r#"{"type":"assign_team","team":5}"#,
            // Refused: not an object.
            r#""notify""#,
            r#"null"#,
        ];
        crate::tagged::testing::assert_decodes_as_derived::<EscalationAction, Derived>(
            "EscalationAction",
            &cases,
        );
    }
}
