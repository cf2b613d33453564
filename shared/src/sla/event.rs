//! The SLA-relevant history of one ticket or conversation.
//!
//! The functions layer appends an [`SlaEvent`] whenever something happens that SLA timers care
//! about and stores the list as JSON next to the subject. The engine recomputes every timer from
//! this list, so the history alone explains (and audits) any SLA state. Events are plain facts:
//! which policy applies and what the clocks show is never stored, only derived.

use serde::{Deserialize, Serialize};

use super::engine::Firing;
use super::policy::SlaFacts;
use super::Instant;
use crate::model::{Attributes, Priority};

/// One entry of the history: what happened, and when.
///
/// JSON: `{"at": "2024-05-02T09:00:00Z", "type": "agent_reply"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaEvent {
    pub at: Instant,
    #[serde(flatten)]
    pub kind: SlaEventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SlaEventKind {
    /// The subject was created; starts the first-response and resolution clocks.
    Created {
        facts: SlaFacts,
        status: String,
    },
    /// A status change. Pause statuses stop the policy's clocks, resolved statuses complete the
    /// resolution target and stop all clocks; leaving them resumes (reopens).
    StatusChanged {
        status: String,
    },
    /// A public message from the customer. After an agent reply, it starts a next-response
    /// clock; while one is running, it changes nothing (the oldest unanswered message counts).
    CustomerMessage,
    /// A public reply from an agent (not a private note): completes the first response or the
    /// running next response.
    AgentReply,
    PriorityChanged {
        priority: Priority,
    },
    TeamChanged {
        team: Option<String>,
    },
    /// The full tag set after the change.
    TagsChanged {
        tags: Vec<String>,
    },
    /// The requester's attributes after the change.
    ContactChanged {
        attributes: Attributes,
    },
    /// An agent set the policy by hand; `None` returns to automatic selection.
    PolicyChanged {
        policy_id: Option<String>,
    },
    /// A warning or breach that the timer has already acted on. Not an input to the clocks; it
    /// lets [`super::engine::SlaEngine::unrecorded_firings`] fire each crossing exactly once.
    Fired {
        firing: Firing,
    },
}

impl SlaEvent {
    pub fn new(at: Instant, kind: SlaEventKind) -> Self {
        SlaEvent { at, kind }
    }

    pub fn created(at: Instant, facts: SlaFacts, status: impl Into<String>) -> Self {
        SlaEvent::new(
            at,
            SlaEventKind::Created {
                facts,
                status: status.into(),
            },
        )
    }

    pub fn status(at: Instant, status: impl Into<String>) -> Self {
        SlaEvent::new(
            at,
            SlaEventKind::StatusChanged {
                status: status.into(),
            },
        )
    }

    pub fn customer_message(at: Instant) -> Self {
        SlaEvent::new(at, SlaEventKind::CustomerMessage)
    }

    pub fn agent_reply(at: Instant) -> Self {
        SlaEvent::new(at, SlaEventKind::AgentReply)
    }

    pub fn priority(at: Instant, priority: Priority) -> Self {
        SlaEvent::new(at, SlaEventKind::PriorityChanged { priority })
    }

    pub fn policy(at: Instant, policy_id: Option<&str>) -> Self {
        SlaEvent::new(
            at,
            SlaEventKind::PolicyChanged {
                policy_id: policy_id.map(str::to_owned),
            },
        )
    }

    pub fn fired(firing: Firing) -> Self {
        SlaEvent::new(firing.at, SlaEventKind::Fired { firing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::engine::FiringLevel;
    use crate::sla::policy::{SubjectKind, TargetKind};
    use serde_json::json;

    fn at(s: &str) -> Instant {
        s.parse().expect("test instant")
    }

    #[test]
    fn events_serialize_as_flat_snake_case_objects() {
        let reply = SlaEvent::agent_reply(at("2024-05-02T09:00:00Z"));
        assert_eq!(
            serde_json::to_value(&reply).expect("json"),
            json!({"at": "2024-05-02T09:00:00Z", "type": "agent_reply"})
        );

        let status = SlaEvent::status(at("2024-05-02T09:00:00Z"), "on_hold");
        assert_eq!(
            serde_json::to_value(&status).expect("json"),
            json!({"at": "2024-05-02T09:00:00Z", "type": "status_changed", "status": "on_hold"})
        );
    }

    #[test]
    fn a_stored_history_round_trips_through_json() {
        let t = at("2024-05-02T09:00:00Z");
        let history = vec![
            SlaEvent::created(t, SlaFacts::new(SubjectKind::Conversation), "open"),
            SlaEvent::customer_message(t),
            SlaEvent::priority(t, Priority::Urgent),
            SlaEvent::new(
                t,
                SlaEventKind::TeamChanged {
                    team: Some("billing".into()),
                },
            ),
            SlaEvent::new(
                t,
                SlaEventKind::TagsChanged {
                    tags: vec!["vip".into()],
                },
            ),
            SlaEvent::new(
                t,
                SlaEventKind::ContactChanged {
                    attributes: Attributes::new(),
                },
            ),
            SlaEvent::policy(t, Some("p0")),
            SlaEvent::fired(Firing {
                target: TargetKind::FirstResponse,
                cycle: 0,
                level: FiringLevel::Breach,
                at: t,
                policy_id: "p0".into(),
            }),
        ];
        let text = serde_json::to_string(&history).expect("json");
        let back: Vec<SlaEvent> = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, history);
    }

    #[test]
    fn an_unknown_event_type_is_refused() {
        let bad = json!({"at": "2024-05-02T09:00:00Z", "type": "teleported"});
        assert!(serde_json::from_value::<SlaEvent>(bad).is_err());
    }
}
