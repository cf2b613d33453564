//! A conversation's message thread as the console keeps it: merging messages that arrive
//! from several places (history, the live feed, the answer to a send) into one ordered list,
//! read receipts, and the text a new ticket starts from.

use edgedesk_shared::api::limits;
use edgedesk_shared::model::{Message, SenderKind};

/// Adds a message to a thread ordered by `seq`, once: the same message may come back from
/// the send request and from the live feed.
pub fn merge(thread: &mut Vec<Message>, message: Message) {
    match thread.binary_search_by_key(&message.seq, |m| m.seq) {
        Ok(i) => thread[i] = message,
        Err(i) => thread.insert(i, message),
    }
}

/// The agent message the visitor's read receipt belongs under: the newest public agent
/// message at or before the seq the visitor has seen.
pub fn seen_marker(thread: &[Message], visitor_seen_seq: u64) -> Option<u64> {
    thread
        .iter()
        .rev()
        .filter(|m| m.seq <= visitor_seen_seq)
        .find(|m| m.sender.kind == SenderKind::Agent && !m.private)
        .map(|m| m.seq)
}

/// The subject and description a ticket made from this conversation starts with: the
/// conversation's subject (or the visitor's first words) and a transcript of the last public
/// messages. `name_of` names each sender.
pub fn ticket_draft(
    subject: Option<&str>,
    thread: &[Message],
    name_of: impl Fn(&Message) -> String,
) -> (String, String) {
    let public: Vec<&Message> = thread.iter().filter(|m| !m.private).collect();
    let first_words = public
        .iter()
        .find(|m| m.sender.kind == SenderKind::Contact && !m.body.trim().is_empty())
        .map(|m| m.body.split_whitespace().collect::<Vec<_>>().join(" "));
    let subject = subject
        .map(str::to_owned)
        .or(first_words)
        .map(|s| truncate_chars(&s, 80))
        .unwrap_or_default();
    let start = public.len().saturating_sub(20);
    let mut description = String::new();
    for m in &public[start..] {
        let line = format!("{}: {}\n", name_of(m), m.body.trim());
        if description.len() + line.len() > limits::MAX_DESCRIPTION_BYTES {
            break;
        }
        description.push_str(&line);
    }
    (subject, description.trim_end().to_owned())
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use edgedesk_shared::ids::{ConversationId, MessageId};
    use edgedesk_shared::model::Sender;

    fn msg(seq: u64, kind: SenderKind, body: &str, private: bool) -> Message {
        Message {
            id: MessageId::from_parts(seq, u128::from(seq)),
            conversation_id: ConversationId::from_parts(1, 1),
            seq,
            sender: Sender { kind, id: None },
            body: body.into(),
            private,
            attachments: Vec::new(),
            external_id: None,
            created_at: Utc
                .with_ymd_and_hms(2025, 3, 4, 10, 0, 0)
                .single()
                .expect("valid time"),
            email: None,
            delivery: None,
        }
    }

    #[test]
    fn a_message_delivered_twice_appears_once_and_in_order() {
        let mut t = vec![msg(1, SenderKind::Contact, "hi", false)];
        merge(&mut t, msg(3, SenderKind::Agent, "c", false));
        merge(&mut t, msg(2, SenderKind::Agent, "b", false));
        merge(&mut t, msg(3, SenderKind::Agent, "c", false));
        let seqs: Vec<u64> = t.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
    }

    #[test]
    fn the_read_receipt_sits_under_the_last_public_agent_message_seen() {
        let t = vec![
            msg(1, SenderKind::Contact, "hi", false),
            msg(2, SenderKind::Agent, "hello", false),
            msg(3, SenderKind::Agent, "internal", true),
            msg(4, SenderKind::Agent, "anything else?", false),
        ];
        assert_eq!(seen_marker(&t, 3), Some(2));
        assert_eq!(seen_marker(&t, 4), Some(4));
        assert_eq!(seen_marker(&t, 1), None);
    }

    #[test]
    fn a_ticket_starts_from_the_visitors_first_words_and_leaves_notes_out() {
        let t = vec![
            msg(
                1,
                SenderKind::Contact,
                "My order   1009 never arrived",
                false,
            ),
            msg(2, SenderKind::Agent, "secret note", true),
            msg(3, SenderKind::Agent, "Sorry! Checking.", false),
        ];
        let (subject, description) = ticket_draft(None, &t, |m| format!("{:?}", m.sender.kind));
        assert_eq!(subject, "My order 1009 never arrived");
        assert_eq!(
            description,
            "Contact: My order   1009 never arrived\nAgent: Sorry! Checking."
        );
        let (subject, _) = ticket_draft(Some("Refund"), &t, |_| String::new());
        assert_eq!(subject, "Refund");
    }

    #[test]
    fn long_first_words_are_shortened_for_the_subject() {
        let long = "word ".repeat(40);
        let t = vec![msg(1, SenderKind::Contact, &long, false)];
        let (subject, _) = ticket_draft(None, &t, |_| String::new());
        assert!(subject.chars().count() <= 80);
        assert!(subject.ends_with('…'));
    }
}
