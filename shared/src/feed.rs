//! The realtime feeds' answers as they travel: written by the functions (long-poll answers and
//! WebSocket frames) and read by the console, from one definition.
//!
//! Readers skip what they do not know: an event of a kind added later decodes as `Unknown`,
//! which the functions never write.
//!
//! A conversation's feed is generic over its messages: the functions write each as an
//! [`AgentMessage`] (the default), whose `sentiment` and `bot` only the agents' feed fills in,
//! and a reader decodes as much of a message as it uses (the console a plain
//! [`Message`](crate::model::Message): serde skips the fields a type does not have). The API
//! document describes what the functions write, so the message fields name `AgentMessage` as
//! their schema: utoipa would otherwise inline the argument's schema and name each use of a
//! generic type after its arguments (`LiveEvent_AgentMessage`).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{AgentMessage, Conversation, ConversationStatus, SenderKind, Ticket};
use crate::routing::QueuePosition;

/// A change in the inbox: the current record of a conversation or ticket that changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboxEvent {
    Conversation {
        kind: String,
        conversation: Conversation,
    },
    Ticket {
        kind: String,
        ticket: Ticket,
    },
    /// An event kind this reader does not know yet; skipped. Never written.
    #[serde(other)]
    Unknown,
}

/// `GET /v1/realtime`: the tenant-wide inbox stream for agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InboxFeed {
    pub events: Vec<InboxEvent>,
    /// Where the next read continues (`cursor=`).
    pub cursor: String,
    /// The storage actors whose changes may produce new events (for realtime bridges).
    #[serde(default)]
    pub watch: Vec<String>,
    /// Path and query to read the continuation from.
    #[serde(default)]
    pub next: String,
    /// Names what this answer's events are made of, for realtime bridges: sockets whose reads
    /// name the same room and stand at the same `next` get the same frame, so a bridge may read
    /// once and send that frame to all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// One realtime event, as the WebSocket and the long-poll deliver it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent<M = AgentMessage> {
    Message {
        #[schema(value_type = AgentMessage)]
        message: M,
    },
    Typing {
        from: SenderKind,
        typing: bool,
    },
    Seen {
        by: SenderKind,
        seq: u64,
    },
    /// The visitor's conversation changed status or place in the queue (visitor feeds that
    /// pass `state`; see [`VisitorState`]).
    State(VisitorState),
    /// What the widget shows from the tenant changed (visitor feeds that pass `public`; see
    /// [`PublicInfo`]).
    Public(PublicInfo),
    /// An event kind this reader does not know yet; skipped. Never written: writing it fails,
    /// and the API document leaves it out.
    #[serde(skip_serializing)]
    Unknown,
}

crate::tag_set! {
    /// The event kinds this reader knows, as `type` names them.
    enum EventType {
        Message = "message",
        Typing = "typing",
        Seen = "seen",
        State = "state",
        Public = "public",
    }
}

impl EventType {
    /// The fields of an event of this kind besides `type`.
    fn fields(self) -> &'static [&'static str] {
        match self {
            EventType::Message => &["message"],
            EventType::Typing => &["from", "typing"],
            EventType::Seen => &["by", "seq"],
            EventType::State => &["state", "status", "queue"],
            EventType::Public => &["rev", "online", "offline_email", "settings"],
        }
    }
}

/// The tag and every field any event kind has.
const EVENT_FIELDS: &[&str] = &[
    "type",
    "message",
    "from",
    "typing",
    "by",
    "seq",
    "state",
    "status",
    "queue",
    "rev",
    "online",
    "offline_email",
    "settings",
];

/// serde's derive for an internally tagged enum buffers each event and runs a decoder per kind
/// over the buffer: a second decoder for every type an event holds (the message, the visitor's
/// state and queue place) besides the one that reads it from the text, ≈ 7.4 KB gzip of the
/// console. One pass over the fields reads what the derive reads: a kind this reader does not
/// know is [`LiveEvent::Unknown`] whatever its fields, and a known kind ignores fields it does
/// not have. The differences, in input the functions never write (they write `type` first),
/// are named in the tests.
impl<'de, M: Deserialize<'de>> Deserialize<'de> for LiveEvent<M> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor(PhantomData))
    }
}

struct EventVisitor<M>(PhantomData<M>);

impl<'de, M: Deserialize<'de>> Visitor<'de> for EventVisitor<M> {
    type Value = LiveEvent<M>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // As the derived decoder said it.
        f.write_str("internally tagged enum LiveEvent")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LiveEvent<M>, A::Error> {
        use crate::tagged::{next_known, required, set_once, OpenTag};
        // Once `type` is read: the kind, `None` for one this reader does not know.
        let mut kind: Option<Option<EventType>> = None;
        let (mut message, mut from, mut typing, mut by, mut seq) = (None, None, None, None, None);
        let (mut state, mut status, mut queue) = (None, None, None);
        let (mut rev, mut online, mut offline_email, mut settings) = (None, None, None, None);
        while let Some(name) = next_known(&mut map, EVENT_FIELDS)? {
            if name == "type" {
                set_once(&mut kind, map.next_value_seed(OpenTag::new())?, name)?;
                continue;
            }
            // After the tag, only the kind's own fields are read, as the derive reads the
            // variant's; before it, a field is read as the kind that has it.
            if kind.is_some_and(|k| k.is_none_or(|k| !k.fields().contains(&name))) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            match name {
                "message" => set_once(&mut message, map.next_value()?, name)?,
                "from" => set_once(&mut from, map.next_value()?, name)?,
                "typing" => set_once(&mut typing, map.next_value()?, name)?,
                "by" => set_once(&mut by, map.next_value()?, name)?,
                "seq" => set_once(&mut seq, map.next_value()?, name)?,
                "state" => set_once(&mut state, map.next_value()?, name)?,
                "status" => set_once(&mut status, map.next_value()?, name)?,
                "rev" => set_once(&mut rev, map.next_value()?, name)?,
                "online" => set_once(&mut online, map.next_value()?, name)?,
                "offline_email" => set_once(&mut offline_email, map.next_value()?, name)?,
                "settings" => set_once(&mut settings, map.next_value()?, name)?,
                _ => set_once(&mut queue, map.next_value::<Option<QueuePosition>>()?, name)?,
            }
        }
        Ok(match required(kind, "type")? {
            None => LiveEvent::Unknown,
            Some(EventType::Message) => LiveEvent::Message {
                message: required(message, "message")?,
            },
            Some(EventType::Typing) => LiveEvent::Typing {
                from: required(from, "from")?,
                typing: required(typing, "typing")?,
            },
            Some(EventType::Seen) => LiveEvent::Seen {
                by: required(by, "by")?,
                seq: required(seq, "seq")?,
            },
            Some(EventType::State) => LiveEvent::State(VisitorState {
                state: required(state, "state")?,
                status: required(status, "status")?,
                queue: queue.flatten(),
            }),
            Some(EventType::Public) => LiveEvent::Public(PublicInfo {
                rev: required(rev, "rev")?,
                online: required(online, "online")?,
                offline_email: required(offline_email, "offline_email")?,
                settings: required(settings, "settings")?,
            }),
        })
    }
}

/// What the visitor's widget shows about their conversation besides messages: its status
/// (a resolved one may be rated) and, while it waits for an agent, its place in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VisitorState {
    /// Opaque; the client passes it back as `state=` so the feed reports only changes.
    pub state: String,
    pub status: ConversationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub queue: Option<QueuePosition>,
}

impl VisitorState {
    pub fn new(status: ConversationStatus, queue: Option<QueuePosition>) -> VisitorState {
        // Whole minutes of wait: the estimate moves with every assignment in the tenant, and
        // the visitor only sees minutes.
        let (position, minutes) = match &queue {
            Some(q) => (
                q.position,
                q.estimated_wait_seconds.map_or(0, |s| s.div_ceil(60) + 1),
            ),
            None => (0, 0),
        };
        VisitorState {
            state: format!("{}.{position}.{minutes}", status.as_str()),
            status,
            queue,
        }
    }
}

/// What every visitor's widget shows from the tenant rather than from its own conversation:
/// whether someone is online to answer, whether the team answers by email meanwhile, which
/// version of the widget settings is current. Kept as the tenant's public channel, one small
/// record that changes rarely, so a visitor's feed hears of it without watching the tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublicInfo {
    /// The channel's revision; the client passes it back as `public=` so the feed reports
    /// only changes.
    pub rev: u64,
    /// An agent is online.
    pub online: bool,
    /// The team answers by email while nobody is online.
    pub offline_email: bool,
    /// The widget settings' version (`WidgetConfig::version`): a widget showing an older one
    /// reads its config again.
    pub settings: u64,
}

/// The answer of a feed read: events, the cursors to continue from, and what to watch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Feed<M = AgentMessage> {
    #[schema(value_type = Vec<LiveEvent>)]
    pub events: Vec<LiveEvent<M>>,
    pub last_seq: u64,
    pub rev: u64,
    // `watch`, `next` and `actions` are always written (the document says so), but a realtime
    // bridge takes them out of the frames it forwards, so readers do without them.
    /// The storage actors whose changes may produce new events (used by realtime bridges).
    #[serde(default)]
    #[schema(required = true)]
    pub watch: Vec<String>,
    /// Path and query to read the continuation from.
    #[serde(default)]
    #[schema(required = true)]
    pub next: String,
    /// Where client frames go: `{"type":"typing",…}` is `POST <actions>/typing`; a query in
    /// `actions` (the visitor token) goes after the action's name.
    #[serde(default)]
    #[schema(required = true)]
    pub actions: String,
    /// For the visitor: where their conversation waits for an agent, while it waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub queue: Option<QueuePosition>,
    /// Names what this answer's events are made of, for realtime bridges: sockets whose reads
    /// name the same room and stand at the same `next` get the same frame, so a bridge may read
    /// once and send that frame to all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Message;

    #[test]
    fn an_inbox_feed_reads_back_what_it_writes() {
        let feed = InboxFeed {
            events: Vec::new(),
            cursor: "activity:seq:00000000000000000007".into(),
            watch: vec!["t:ten_1".into()],
            next: "/v1/realtime?cursor=activity:seq:00000000000000000007".into(),
            room: Some("t:ten_1/inbox".into()),
        };
        let text = serde_json::to_string(&feed).unwrap();
        assert_eq!(serde_json::from_str::<InboxFeed>(&text).unwrap(), feed);
    }

    #[test]
    fn inbox_events_of_unknown_kinds_are_skipped_not_fatal() {
        let feed: InboxFeed = serde_json::from_str(
            r#"{"events":[{"type":"contact","kind":"updated","contact":{}}],"cursor":"c"}"#,
        )
        .unwrap();
        assert_eq!(feed.events, [InboxEvent::Unknown]);
        assert!(feed.watch.is_empty() && feed.next.is_empty());
    }

    const MESSAGE: &str = r#"{"id":"msg_01J8Z3Q4W5E6R7T8Y9V0A1B2C3","conversation_id":"cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C3","seq":7,"sender":{"kind":"contact","id":"ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2C3"},"body":"Where is my refund?","private":false,"attachments":[],"external_id":null,"created_at":"2026-11-24T10:00:00Z","sentiment":-0.5}"#;

    fn queue() -> QueuePosition {
        QueuePosition {
            position: 2,
            waiting: 3,
            estimated_wait_seconds: Some(90),
        }
    }

    #[test]
    fn a_conversation_feed_is_written_field_for_field_as_the_clients_read_it() {
        let feed = Feed {
            events: vec![
                LiveEvent::Message {
                    message: serde_json::from_str(MESSAGE).unwrap(),
                },
                LiveEvent::Typing {
                    from: SenderKind::Agent,
                    typing: true,
                },
                LiveEvent::Seen {
                    by: SenderKind::Agent,
                    seq: 7,
                },
                LiveEvent::State(VisitorState::new(
                    ConversationStatus::Pending,
                    Some(queue()),
                )),
                LiveEvent::Public(PublicInfo {
                    rev: 4,
                    online: true,
                    offline_email: false,
                    settings: 2,
                }),
            ],
            last_seq: 7,
            rev: 3,
            watch: vec!["c:cnv_1".into()],
            next: "/v1/widget/ten_1/poll?after=7&rev=3".into(),
            actions: "/v1/widget/ten_1?token=t".into(),
            queue: Some(queue()),
            room: None,
        };
        let text = serde_json::to_string(&feed).unwrap();
        assert_eq!(
            text,
            [
                r#"{"events":[{"type":"message","message":"#,
                MESSAGE,
                r#"},{"type":"typing","from":"agent","typing":true},"#,
                r#"{"type":"seen","by":"agent","seq":7},"#,
                r#"{"type":"state","state":"pending.2.3","status":"pending","#,
                r#""queue":{"position":2,"waiting":3,"estimated_wait_seconds":90}},"#,
                r#"{"type":"public","rev":4,"online":true,"offline_email":false,"settings":2}],"#,
                r#""last_seq":7,"rev":3,"watch":["c:cnv_1"],"#,
                r#""next":"/v1/widget/ten_1/poll?after=7&rev=3","actions":"/v1/widget/ten_1?token=t","#,
                r#""queue":{"position":2,"waiting":3,"estimated_wait_seconds":90}}"#,
            ]
            .concat()
        );
        assert_eq!(serde_json::from_str::<Feed>(&text).unwrap(), feed);
    }

    #[test]
    fn a_reader_decodes_only_the_plain_message_if_that_is_what_it_uses() {
        let text = format!(
            r#"{{"events":[{{"type":"message","message":{MESSAGE}}}],"last_seq":7,"rev":0}}"#
        );
        let feed: Feed<Message> = serde_json::from_str(&text).unwrap();
        let [LiveEvent::Message { message }] = feed.events.as_slice() else {
            panic!("one message: {:?}", feed.events);
        };
        assert_eq!(message.body, "Where is my refund?");
    }

    #[test]
    fn a_visitors_message_carries_no_sentiment_or_bot_and_no_queue_while_none() {
        let mut message: AgentMessage = serde_json::from_str(MESSAGE).unwrap();
        message.sentiment = None;
        let text = serde_json::to_string(&LiveEvent::Message { message }).unwrap();
        assert!(
            !text.contains("sentiment") && !text.contains("bot"),
            "{text}"
        );
        let state = serde_json::to_string(&VisitorState::new(ConversationStatus::Open, None));
        assert_eq!(state.unwrap(), r#"{"state":"open.0.0","status":"open"}"#);
    }

    #[test]
    fn live_events_of_unknown_kinds_are_skipped_not_fatal() {
        let feed: Feed = serde_json::from_str(
            r#"{"events":[{"type":"typing","from":"contact","typing":true},{"type":"reaction","x":1}],
                "last_seq":3,"rev":2,"watch":[],"next":"/x","actions":"/y"}"#,
        )
        .unwrap();
        assert_eq!(
            feed.events,
            [
                LiveEvent::Typing {
                    from: SenderKind::Contact,
                    typing: true
                },
                LiveEvent::Unknown
            ]
        );
    }

    #[test]
    fn an_unknown_event_is_never_written() {
        let unknown: LiveEvent = LiveEvent::Unknown;
        assert!(serde_json::to_string(&unknown).is_err());
    }

    #[test]
    fn a_bridges_frame_reads_without_the_fields_the_bridge_keeps() {
        let frame: Feed = serde_json::from_str(
            r#"{"events":[{"type":"seen","by":"contact","seq":4}],"last_seq":4,"rev":1}"#,
        )
        .unwrap();
        assert_eq!(frame.events.len(), 1);
        assert!(frame.watch.is_empty() && frame.next.is_empty() && frame.actions.is_empty());
        assert_eq!(frame.queue, None);
    }
}

#[cfg(test)]
mod decode_tests {
    //! The hand-written decoder of [`LiveEvent`] against the decoder serde derives for it.

    use super::*;
    use crate::model::Message;

    /// What `LiveEvent<Message>` was before its decoder was written by hand.
    #[derive(Debug, Deserialize)]
    // Its values are compared through `Debug`, which the dead-code lint does not count.
    #[allow(dead_code)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Derived {
        Message {
            message: Message,
        },
        Typing {
            from: SenderKind,
            typing: bool,
        },
        Seen {
            by: SenderKind,
            seq: u64,
        },
        State(VisitorState),
        Public(PublicInfo),
        #[serde(other)]
        Unknown,
    }

    const MESSAGE: &str = r#"{"id":"msg_01J8Z3Q4W5E6R7T8Y9V0A1B2C3","conversation_id":"cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C3","seq":7,"sender":{"kind":"contact","id":"ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2C3"},"body":"Where is my refund?","private":false,"attachments":[],"created_at":"2026-11-24T10:00:00Z"}"#;

    #[test]
    fn the_hand_written_decoder_reads_and_refuses_what_the_derived_one_does() {
        let with_message = |text: &str| text.replace("MESSAGE", MESSAGE);
        let cases = [
            // Every kind, its fields in any order after the tag.
            with_message(r#"{"type":"message","message":MESSAGE}"#),
            r#"{"type":"typing","from":"agent","typing":true}"#.to_owned(),
            r#"{"type":"typing","typing":false,"from":"contact"}"#.to_owned(),
            r#"{"type":"seen","by":"contact","seq":12}"#.to_owned(),
            r#"{"type":"state","state":"open.0.0","status":"open"}"#.to_owned(),
            r#"{"type":"state","state":"pending.2.3","status":"pending","queue":{"position":2,"waiting":3,"estimated_wait_seconds":90}}"#.to_owned(),
            r#"{"type":"state","queue":null,"status":"pending","state":"pending.0.0"}"#.to_owned(),
            r#"{"type":"public","rev":3,"online":true,"offline_email":false,"settings":2}"#.to_owned(),
            r#"{"type":"public","settings":0,"offline_email":true,"online":false,"rev":1}"#.to_owned(),
            // The tag after the fields.
            r#"{"from":"agent","typing":true,"type":"typing"}"#.to_owned(),
            r#"{"seq":3,"type":"seen","by":"agent"}"#.to_owned(),
            // A message's fields the reader's message type does not have are ignored.
            with_message(r#"{"type":"message","message":MESSAGE}"#).replace(
                r#"Z"}}"#,
                r#"Z","sentiment":-0.5,"bot":{"intent":"refund"}}}"#,
            ),
            // A kind this reader does not know, whatever its fields.
            r#"{"type":"reaction","emoji":"+1"}"#.to_owned(),
            r#"{"type":"reaction","message":5,"seq":"x","seq":1,"from":null}"#.to_owned(),
            r#"{"type":"Seen","by":"agent","seq":1}"#.to_owned(),
            // A known kind ignores other kinds' fields and fields no kind has.
            r#"{"type":"seen","by":"agent","seq":2,"typing":"yes","message":{},"colour":"red"}"#
                .to_owned(),
            r#"{"type":"typing","from":"agent","typing":true,"typing_at":null}"#.to_owned(),
            // Refused: no type, a type twice, a type that is not a string.
            r#"{"by":"agent","seq":1}"#.to_owned(),
            r#"{}"#.to_owned(),
            r#"{"type":"seen","by":"agent","seq":1,"type":"seen"}"#.to_owned(),
            r#"{"type":"reaction","type":"typing"}"#.to_owned(),
            r#"{"type":null}"#.to_owned(),
            r#"{"type":true,"by":"agent","seq":1}"#.to_owned(),
            r#"{"type":{"kind":"seen"}}"#.to_owned(),
            // Refused: a missing field, a field twice, a value of the wrong type.
            r#"{"type":"message"}"#.to_owned(),
            r#"{"type":"typing","from":"agent"}"#.to_owned(),
            r#"{"type":"typing","typing":true}"#.to_owned(),
            r#"{"type":"seen"}"#.to_owned(),
            r#"{"type":"state","status":"open"}"#.to_owned(),
            r#"{"type":"state","state":"open.0.0"}"#.to_owned(),
            r#"{"type":"public","rev":3,"online":true,"offline_email":false}"#.to_owned(),
            r#"{"type":"public","rev":-1,"online":true,"offline_email":false,"settings":2}"#.to_owned(),
            r#"{"type":"public","rev":1,"online":"yes","offline_email":false,"settings":2}"#.to_owned(),
            r#"{"type":"seen","by":"agent","seq":2,"seq":3}"#.to_owned(),
            r#"{"type":"seen","by":"agent","seq":"7"}"#.to_owned(),
            r#"{"type":"seen","by":"robot","seq":7}"#.to_owned(),
            r#"{"type":"typing","from":"agent","typing":1}"#.to_owned(),
            r#"{"type":"state","state":"x","status":"archived"}"#.to_owned(),
            r#"{"type":"state","state":"x","status":"open","queue":{"position":1}}"#.to_owned(),
            r#"{"type":"message","message":{"seq":1}}"#.to_owned(),
            r#"{"type":"message","message":null}"#.to_owned(),
            // Refused: not an object.
            r#""typing""#.to_owned(),
            r#"null"#.to_owned(),
            r#"7"#.to_owned(),
        ];
        let cases: Vec<&str> = cases.iter().map(String::as_str).collect();
        crate::tagged::testing::assert_reads_as_derived::<LiveEvent<Message>, Derived>(
            "LiveEvent",
            &cases,
        );
    }

    /// Where the two differ, in input the functions never write: they write an object, its
    /// `type` first. The derive also read an event from an array (the tag first), and it
    /// buffered the fields before the tag, so it skipped them whatever their values when the
    /// kind turned out not to have them; one pass reads such a field as the kind that has it.
    #[test]
    fn fields_before_the_type_are_read_as_the_kind_that_has_them_and_arrays_are_refused() {
        for case in [
            r#"["seen","agent",3]"#,
            r#"["reaction"]"#,
            r#"{"message":5,"type":"reaction"}"#,
            r#"{"seq":"x","type":"typing","from":"agent","typing":true}"#,
            r#"{"seq":1,"seq":2,"type":"typing","from":"agent","typing":true}"#,
        ] {
            assert!(serde_json::from_str::<Derived>(case).is_ok(), "{case}");
            assert!(
                serde_json::from_str::<LiveEvent<Message>>(case).is_err(),
                "{case}"
            );
        }
    }
}
