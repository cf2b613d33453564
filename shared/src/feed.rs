//! The realtime feeds' answers as they travel: written by the functions (long-poll answers and
//! WebSocket frames) and read by the console, from one definition.
//!
//! Readers skip what they do not know: an event of a kind added later decodes as `Unknown`,
//! which the functions never write.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{Conversation, Ticket};

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbox_feed_reads_back_what_it_writes() {
        let feed = InboxFeed {
            events: Vec::new(),
            cursor: "activity:seq:00000000000000000007".into(),
            watch: vec!["t:ten_1".into()],
            next: "/v1/realtime?cursor=activity:seq:00000000000000000007".into(),
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
}
