//! Request bodies for the changes an agent makes, built so that only the changed fields are
//! sent.
//!
//! The API's PATCH bodies treat `null` as "clear this field", so serialising the shared
//! `UpdateConversation` with its unset fields would wipe the assignee and team. These builders
//! emit exactly the fields of one change; tests check the server's own types accept them.
//!
//! A change says what the agent meant ("add these labels"), not the resulting record, so
//! when the record moved on meanwhile (a new message bumps its version) the body can be
//! built again from the fresh record and sent once more without losing the other change.

use chrono::{DateTime, SecondsFormat, Utc};
use edgedesk_shared::ids::AgentId;
use edgedesk_shared::model::{Conversation, ConversationStatus, Priority, Ticket, TicketStatus};
use serde_json::{json, Map, Value};

/// One change to a conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum ConversationChange {
    Status(ConversationStatus),
    SnoozeUntil(DateTime<Utc>),
    Assign(Option<AgentId>),
    Team(Option<String>),
    Priority(Priority),
    /// Adds labels the conversation does not have yet.
    AddLabels(Vec<String>),
    RemoveLabel(String),
}

impl ConversationChange {
    /// The `PATCH /v1/conversations/{id}` body that makes this change to `current`.
    pub fn body(&self, current: &Conversation) -> Value {
        match self {
            ConversationChange::Status(s) => json!({ "status": s }),
            ConversationChange::SnoozeUntil(t) => json!({
                "status": ConversationStatus::Snoozed,
                "snoozed_until": t.to_rfc3339_opts(SecondsFormat::Secs, true),
            }),
            ConversationChange::Assign(a) => json!({ "assignee_id": a }),
            ConversationChange::Team(t) => {
                json!({ "team": t.as_deref().map(str::trim).filter(|t| !t.is_empty()) })
            }
            ConversationChange::Priority(p) => json!({ "priority": p }),
            ConversationChange::AddLabels(add) => {
                let mut labels = current.labels.clone();
                for l in add {
                    if !labels.contains(l) {
                        labels.push(l.clone());
                    }
                }
                json!({ "labels": labels })
            }
            ConversationChange::RemoveLabel(gone) => {
                let labels: Vec<&String> = current.labels.iter().filter(|l| *l != gone).collect();
                json!({ "labels": labels })
            }
        }
    }
}

/// The fields of a ticket an agent edits in the detail view.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketForm {
    pub subject: String,
    pub description: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub assignee_id: Option<AgentId>,
    pub tags: Vec<String>,
}

impl TicketForm {
    pub fn from_ticket(t: &Ticket) -> TicketForm {
        TicketForm {
            subject: t.subject.clone(),
            description: t.description.clone(),
            status: t.status,
            priority: t.priority,
            assignee_id: t.assignee_id,
            tags: t.tags.clone(),
        }
    }

    /// The `PATCH /v1/tickets/{id}` body with the fields that differ from `original`;
    /// `None` when nothing changed.
    pub fn diff(&self, original: &Ticket) -> Option<Value> {
        let mut m = Map::new();
        if self.subject.trim() != original.subject {
            m.insert("subject".into(), json!(self.subject.trim()));
        }
        if self.description != original.description {
            m.insert("description".into(), json!(self.description));
        }
        if self.status != original.status {
            m.insert("status".into(), json!(self.status));
        }
        if self.priority != original.priority {
            m.insert("priority".into(), json!(self.priority));
        }
        if self.assignee_id != original.assignee_id {
            m.insert("assignee_id".into(), json!(self.assignee_id));
        }
        if self.tags != original.tags {
            m.insert("tags".into(), json!(self.tags));
        }
        (!m.is_empty()).then_some(Value::Object(m))
    }
}

/// Splits what an agent typed into tags or labels: separated by spaces or commas, each
/// kept once, in order.
pub fn split_tags(input: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in input.split([' ', ',', '\n', '\t']).map(str::trim) {
        if !t.is_empty() && !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    out
}

/// Whether a ticket matches the search box: its number (`42` or `#42`) or words of its
/// subject, case-insensitively. The API has no ticket search, so the console filters the
/// loaded page.
pub fn ticket_matches(t: &Ticket, query: &str) -> bool {
    let q = query.trim();
    if q.is_empty() {
        return true;
    }
    if let Ok(n) = q.trim_start_matches('#').parse::<u64>() {
        if t.number == n {
            return true;
        }
    }
    let subject = t.subject.to_lowercase();
    q.to_lowercase()
        .split_whitespace()
        .all(|word| subject.contains(word))
}

/// One field an event changed, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// Reads the `{field: {from, to}}` data of an `*.updated` event; anything else gives nothing.
pub fn field_changes(data: &Value) -> Vec<FieldChange> {
    let Some(fields) = data.as_object() else {
        return Vec::new();
    };
    fields
        .iter()
        .filter_map(|(field, change)| {
            let change = change.as_object()?;
            Some(FieldChange {
                field: field.clone(),
                from: value_text(change.get("from")?),
                to: value_text(change.get("to")?),
            })
        })
        .collect()
}

/// A JSON value as a person reads it: text unquoted, lists joined, nothing as a dash.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::String(s) if s.is_empty() => "—".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "—".to_owned(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use edgedesk_shared::api::{UpdateConversation, UpdateTicket};
    use edgedesk_shared::ids::{ContactId, ConversationId, TenantId, TicketId};
    use edgedesk_shared::model::ChannelKind;

    fn conversation(labels: &[&str]) -> Conversation {
        let at = Utc
            .with_ymd_and_hms(2025, 3, 4, 10, 0, 0)
            .single()
            .expect("valid time");
        Conversation {
            id: ConversationId::from_parts(1, 1),
            tenant_id: TenantId::from_parts(1, 1),
            contact_id: ContactId::from_parts(1, 1),
            channel: ChannelKind::Web,
            channel_id: None,
            subject: None,
            status: ConversationStatus::Open,
            snoozed_until: None,
            assignee_id: Some(AgentId::from_parts(1, 9)),
            team: Some("billing".into()),
            priority: Priority::Normal,
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            last_message_seq: 2,
            last_message_at: Some(at),
            created_at: at,
            updated_at: at,
            version: 4,
        }
    }

    fn server_accepts(body: &Value) -> UpdateConversation {
        let u: UpdateConversation =
            serde_json::from_value(body.clone()).expect("the server's type decodes it");
        u.validate().expect("the server's validation passes");
        u
    }

    #[test]
    fn resolving_touches_nothing_but_the_status() {
        let body =
            ConversationChange::Status(ConversationStatus::Resolved).body(&conversation(&[]));
        assert_eq!(body, json!({"status": "resolved"}));
        let u = server_accepts(&body);
        assert_eq!(u.assignee_id, None, "the assignee must not be cleared");
        assert_eq!(u.team, None);
    }

    #[test]
    fn unassigning_sends_an_explicit_null() {
        let body = ConversationChange::Assign(None).body(&conversation(&[]));
        assert_eq!(server_accepts(&body).assignee_id, Some(None));
        let me = AgentId::from_parts(1, 2);
        let body = ConversationChange::Assign(Some(me)).body(&conversation(&[]));
        assert_eq!(server_accepts(&body).assignee_id, Some(Some(me)));
    }

    #[test]
    fn snoozing_sends_the_status_with_the_wake_up_time() {
        let t = Utc
            .with_ymd_and_hms(2030, 1, 2, 9, 0, 0)
            .single()
            .expect("valid time");
        let body = ConversationChange::SnoozeUntil(t).body(&conversation(&[]));
        let u = server_accepts(&body);
        assert_eq!(u.status, Some(ConversationStatus::Snoozed));
        assert_eq!(u.snoozed_until, Some(Some(t)));
    }

    #[test]
    fn a_blank_team_clears_the_team() {
        let body = ConversationChange::Team(Some("  ".into())).body(&conversation(&[]));
        assert_eq!(server_accepts(&body).team, Some(None));
        let body = ConversationChange::Team(Some(" billing ".into())).body(&conversation(&[]));
        assert_eq!(server_accepts(&body).team, Some(Some("billing".into())));
    }

    #[test]
    fn labels_are_added_to_and_removed_from_the_current_record() {
        // Someone else added "refund" since the agent's view was loaded: it survives.
        let current = conversation(&["vip", "refund"]);
        let body =
            ConversationChange::AddLabels(vec!["shipping".into(), "vip".into()]).body(&current);
        assert_eq!(body, json!({"labels": ["vip", "refund", "shipping"]}));
        assert_eq!(
            server_accepts(&body).labels,
            Some(vec!["vip".into(), "refund".into(), "shipping".into()])
        );
        let body = ConversationChange::RemoveLabel("vip".into()).body(&current);
        assert_eq!(body, json!({"labels": ["refund"]}));
        server_accepts(&body);
    }

    fn ticket() -> Ticket {
        let at = Utc
            .with_ymd_and_hms(2025, 3, 4, 10, 0, 0)
            .single()
            .expect("valid time");
        Ticket {
            id: TicketId::from_parts(1, 1),
            tenant_id: TenantId::from_parts(1, 1),
            number: 42,
            subject: "Refund for order 1009".into(),
            description: "Customer asks for a refund".into(),
            status: TicketStatus::Open,
            priority: Priority::Normal,
            requester_id: None,
            assignee_id: None,
            tags: vec!["billing".into()],
            custom_fields: Default::default(),
            conversation_id: None,
            created_at: at,
            updated_at: at,
            version: 3,
        }
    }

    #[test]
    fn a_ticket_edit_sends_only_the_changed_fields() {
        let t = ticket();
        let mut form = TicketForm::from_ticket(&t);
        assert_eq!(form.diff(&t), None);
        form.status = TicketStatus::Solved;
        form.tags = vec!["billing".into(), "refund".into()];
        let body = form.diff(&t).expect("a change");
        assert_eq!(
            body,
            json!({"status": "solved", "tags": ["billing", "refund"]})
        );
        let u: UpdateTicket = serde_json::from_value(body).expect("the server's type decodes it");
        u.validate().expect("valid");
    }

    #[test]
    fn tags_split_on_spaces_and_commas_without_duplicates() {
        assert_eq!(
            split_tags(" vip, billing  vip,,refund "),
            vec!["vip", "billing", "refund"]
        );
        assert!(split_tags("  ").is_empty());
    }

    #[test]
    fn an_update_event_reads_as_field_changes() {
        let data = json!({
            "status": {"from": "open", "to": "solved"},
            "tags": {"from": [], "to": ["vip", "refund"]},
            "assignee_id": {"from": null, "to": "agt_1"},
        });
        let mut changes = field_changes(&data);
        changes.sort_by(|a, b| a.field.cmp(&b.field));
        let texts: Vec<(String, String, String)> = changes
            .into_iter()
            .map(|c| (c.field, c.from, c.to))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("assignee_id".into(), "—".into(), "agt_1".into()),
                ("status".into(), "open".into(), "solved".into()),
                ("tags".into(), "—".into(), "vip, refund".into()),
            ]
        );
        assert!(field_changes(&json!({"subject": "created"})).is_empty());
        assert!(field_changes(&Value::Null).is_empty());
    }

    #[test]
    fn the_search_box_finds_tickets_by_number_or_subject_words() {
        let t = ticket();
        assert!(ticket_matches(&t, ""));
        assert!(ticket_matches(&t, "#42"));
        assert!(ticket_matches(&t, "42"));
        assert!(ticket_matches(&t, "REFUND 1009"));
        assert!(!ticket_matches(&t, "refund shipping"));
        assert!(!ticket_matches(&t, "#41"));
    }
}
