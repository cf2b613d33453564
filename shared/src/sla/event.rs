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
/// JSON: `{"at": "2024-05-02T09:00:00Z", "type": "agent_reply"}`. Decoded by hand (see the
/// `Deserialize` impl below); the attributes here shape its encoding.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

crate::tag_set! {
    /// The event types, as `type` names them.
    enum EventType {
        Created = "created",
        StatusChanged = "status_changed",
        CustomerMessage = "customer_message",
        AgentReply = "agent_reply",
        PriorityChanged = "priority_changed",
        TeamChanged = "team_changed",
        TagsChanged = "tags_changed",
        ContactChanged = "contact_changed",
        PolicyChanged = "policy_changed",
        Fired = "fired",
    }
}

/// Every field an event has, whatever its type.
const EVENT_FIELDS: &[&str] = &[
    "at",
    "type",
    "facts",
    "status",
    "priority",
    "team",
    "tags",
    "attributes",
    "policy_id",
    "firing",
];

/// An event object's fields before its `type` picks which of them it needs.
#[derive(Default)]
struct EventFields {
    at: Option<Instant>,
    kind: Option<EventType>,
    facts: Option<SlaFacts>,
    status: Option<String>,
    priority: Option<Priority>,
    team: Option<Option<String>>,
    tags: Option<Vec<String>>,
    attributes: Option<Attributes>,
    policy_id: Option<Option<String>>,
    firing: Option<Firing>,
}

/// serde's derive for `at` plus a flattened, internally tagged kind buffers every field and then
/// decodes the kind from the buffer, about 18 KB of WebAssembly; every history read decodes
/// these. One pass over the fields takes what the derive takes: unknown fields are ignored, an
/// `Option` field may be absent, a missing field or unknown type is refused with the derive's
/// message. Two differences, in input nothing writes: a field of another type's event is decoded
/// too, so a value of the wrong type there is refused where the derive skipped it, and a type
/// must be a name (the derive also took the variant's index).
impl<'de> Deserialize<'de> for SlaEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor)
    }
}

struct EventVisitor;

impl<'de> serde::de::Visitor<'de> for EventVisitor {
    type Value = SlaEvent;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("struct SlaEvent")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SlaEvent, A::Error> {
        use serde::de::{Error, IgnoredAny};
        let mut f = EventFields::default();
        while let Some(key) = map.next_key::<String>()? {
            let Some(name) = crate::tagged::field(&key, EVENT_FIELDS) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let seen = match name {
                "at" => f.at.replace(map.next_value()?).is_some(),
                "type" => f.kind.replace(map.next_value()?).is_some(),
                "facts" => f.facts.replace(map.next_value()?).is_some(),
                "status" => f.status.replace(map.next_value()?).is_some(),
                "priority" => f.priority.replace(map.next_value()?).is_some(),
                "team" => f.team.replace(map.next_value()?).is_some(),
                "tags" => f.tags.replace(map.next_value()?).is_some(),
                "attributes" => f.attributes.replace(map.next_value()?).is_some(),
                "policy_id" => f.policy_id.replace(map.next_value()?).is_some(),
                _ => f.firing.replace(map.next_value()?).is_some(),
            };
            if seen {
                return Err(A::Error::duplicate_field(name));
            }
        }
        fn needs<T, E: Error>(value: Option<T>, name: &'static str) -> Result<T, E> {
            value.ok_or_else(|| E::missing_field(name))
        }
        let at = needs(f.at, "at")?;
        let kind = match needs(f.kind, "type")? {
            EventType::Created => SlaEventKind::Created {
                facts: needs(f.facts, "facts")?,
                status: needs(f.status, "status")?,
            },
            EventType::StatusChanged => SlaEventKind::StatusChanged {
                status: needs(f.status, "status")?,
            },
            EventType::CustomerMessage => SlaEventKind::CustomerMessage,
            EventType::AgentReply => SlaEventKind::AgentReply,
            EventType::PriorityChanged => SlaEventKind::PriorityChanged {
                priority: needs(f.priority, "priority")?,
            },
            EventType::TeamChanged => SlaEventKind::TeamChanged {
                team: f.team.flatten(),
            },
            EventType::TagsChanged => SlaEventKind::TagsChanged {
                tags: needs(f.tags, "tags")?,
            },
            EventType::ContactChanged => SlaEventKind::ContactChanged {
                attributes: needs(f.attributes, "attributes")?,
            },
            EventType::PolicyChanged => SlaEventKind::PolicyChanged {
                policy_id: f.policy_id.flatten(),
            },
            EventType::Fired => SlaEventKind::Fired {
                firing: needs(f.firing, "firing")?,
            },
        };
        Ok(SlaEvent { at, kind })
    }
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

    /// What `SlaEvent` was before its decoder was written by hand.
    #[derive(Debug, Serialize, Deserialize)]
    struct Derived {
        at: Instant,
        #[serde(flatten)]
        kind: SlaEventKind,
    }

    #[test]
    fn the_hand_written_decoder_accepts_and_refuses_what_the_derived_one_does() {
        let firing = r#"{"target":"first_response","cycle":0,"level":"breach","at":"2024-05-02T09:00:00Z","policy_id":"p0"}"#;
        let fired = format!(r#"{{"at":"2024-05-02T09:00:00Z","type":"fired","firing":{firing}}}"#);
        let facts = serde_json::to_string(&SlaFacts::new(SubjectKind::Ticket)).expect("json");
        let created = format!(
            r#"{{"type":"created","facts":{facts},"status":"open","at":"2024-05-02T09:00:00Z"}}"#
        );
        let cases = [
            created.as_str(),
            fired.as_str(),
            r#"{"at":"2024-05-02T09:00:00Z","type":"status_changed","status":"on_hold"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"customer_message"}"#,
            r#"{"type":"agent_reply","at":"2024-05-02T09:00:00+02:00"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"priority_changed","priority":"urgent"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"team_changed","team":"billing"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"team_changed","team":null}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"team_changed"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"tags_changed","tags":["vip"]}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"contact_changed","attributes":{"plan":"pro","seats":3}}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"policy_changed","policy_id":"p1"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"policy_changed"}"#,
            // Unknown fields are ignored, as the derive (flatten) had it.
            r#"{"at":"2024-05-02T09:00:00Z","type":"agent_reply","note":"from an older version"}"#,
            // Refused: no time, no type, an unknown type, a type that is not a string.
            r#"{"type":"agent_reply"}"#,
            r#"{"at":"2024-05-02T09:00:00Z"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"teleported"}"#,
            // Refused: an unknown type with the fields of the last one, or spelt differently.
            r#"{"at":"2024-05-02T09:00:00Z","type":"misfired","firing":null}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"AgentReply"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":true}"#,
            // Refused: a missing field, a value of the wrong type, a time that is not one.
            r#"{"at":"2024-05-02T09:00:00Z","type":"status_changed"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"created","status":"open"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"fired"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"priority_changed","priority":"whenever"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":"tags_changed","tags":"vip"}"#,
            r#"{"at":"yesterday","type":"agent_reply"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","at":"2024-05-03T09:00:00Z","type":"agent_reply"}"#,
            // Refused: not an object.
            r#""agent_reply""#,
            r#"null"#,
        ];
        crate::tagged::testing::assert_decodes_as_derived::<SlaEvent, Derived>("SlaEvent", &cases);
        // The differences, in input no version writes: another type's field with a value of the
        // wrong type, and a type given as the variant's index.
        for odd in [
            r#"{"at":"2024-05-02T09:00:00Z","type":"agent_reply","tags":"vip"}"#,
            r#"{"at":"2024-05-02T09:00:00Z","type":3}"#,
        ] {
            assert!(serde_json::from_str::<Derived>(odd).is_ok(), "{odd}");
            assert!(serde_json::from_str::<SlaEvent>(odd).is_err(), "{odd}");
        }
    }

    #[test]
    fn an_unknown_event_type_is_refused() {
        let bad = json!({"at": "2024-05-02T09:00:00Z", "type": "teleported"});
        assert!(serde_json::from_value::<SlaEvent>(bad).is_err());
    }
}
