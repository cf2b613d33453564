//! The inbox's rules, free of the browser: which conversations a filter shows, the query the
//! server filters by, the order (last activity first, or SLA deadline first as the server
//! sorts), how a live update changes the list, and unread counts.
//!
//! The server filters too, but a live update carries a conversation whatever the filter, so
//! the console decides itself whether the changed conversation belongs in the list it shows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use edgedesk_shared::ids::{AgentId, ConversationId};
use edgedesk_shared::model::{Conversation, ConversationStatus};
use serde::{Deserialize, Serialize};

use crate::sla::{ListSort, StateFilter};

/// Whose conversations the inbox shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "view", content = "team", rename_all = "snake_case")]
pub enum View {
    Mine,
    Unassigned,
    /// A team by name; an empty name shows every conversation that has a team.
    Team(String),
    All,
}

/// The inbox filter: a view and, optionally, one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub view: View,
    pub status: Option<ConversationStatus>,
    /// Last activity first (the default), or earliest SLA deadline first.
    #[serde(default)]
    pub sort: ListSort,
    /// Only conversations whose SLA is breached, or in warning.
    #[serde(default)]
    pub sla: Option<StateFilter>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            view: View::Mine,
            status: Some(ConversationStatus::Open),
            sort: ListSort::Default,
            sla: None,
        }
    }
}

impl Filter {
    /// The query string for `GET /v1/conversations` (without `limit` and `cursor`).
    pub fn query(&self, me: &AgentId) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(s) = self.status {
            q.push(("status", s.as_str().to_owned()));
        }
        match &self.view {
            View::Mine => q.push(("assignee", me.to_string())),
            View::Unassigned => q.push(("assignee", "none".to_owned())),
            View::Team(t) if !t.trim().is_empty() => q.push(("team", t.trim().to_owned())),
            View::Team(_) | View::All => {}
        }
        if let Some(f) = self.sla {
            q.push(("sla_state", f.as_str().to_owned()));
        }
        q.extend(self.sort.query());
        q
    }

    /// Whether only the server knows which conversations belong in the list and in which
    /// order (the SLA order and filter rest on clocks the console does not keep).
    pub fn server_ordered(&self) -> bool {
        self.sort != ListSort::Default || self.sla.is_some()
    }

    /// Puts a list the server sent in this filter's order: by last activity, or as the
    /// server ordered it.
    pub fn order(&self, list: &mut [Conversation]) {
        if !self.server_ordered() {
            sort(list);
        }
    }

    /// Whether a conversation belongs in the list this filter shows.
    pub fn matches(&self, c: &Conversation, me: &AgentId) -> bool {
        let status_ok = self.status.is_none_or(|s| c.status == s);
        let view_ok = match &self.view {
            View::Mine => c.assignee_id.as_ref() == Some(me),
            View::Unassigned => c.assignee_id.is_none(),
            View::Team(t) if t.trim().is_empty() => c.team.is_some(),
            View::Team(t) => c.team.as_deref() == Some(t.trim()),
            View::All => true,
        };
        status_ok && view_ok
    }
}

/// When a conversation last saw activity: its newest message, or its creation.
pub fn activity(c: &Conversation) -> DateTime<Utc> {
    c.last_message_at.unwrap_or(c.created_at)
}

/// Orders conversations by last activity, newest first (ties: newest id first, so the
/// order is stable).
pub fn sort(list: &mut [Conversation]) {
    list.sort_by(|a, b| activity(b).cmp(&activity(a)).then_with(|| b.id.cmp(&a.id)));
}

/// What a live update did to the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Updated,
    Removed,
    /// Older than what the list shows, or not in the filter and not shown.
    Ignored,
}

/// Applies the current state of a conversation, as a live update delivered it, to a sorted
/// list shown under `filter`.
pub fn apply(
    list: &mut Vec<Conversation>,
    incoming: Conversation,
    filter: &Filter,
    me: &AgentId,
) -> Change {
    let position = list.iter().position(|c| c.id == incoming.id);
    if let Some(i) = position {
        if list[i].version > incoming.version {
            return Change::Ignored;
        }
    }
    let belongs = filter.matches(&incoming, me);
    if filter.server_ordered() {
        // The place of a conversation in SLA order (and whether its clock passes the SLA
        // filter) is the server's to say: update in place, leave additions to a reload.
        return match (position, belongs) {
            (Some(i), true) => {
                list[i] = incoming;
                Change::Updated
            }
            (Some(i), false) => {
                list.remove(i);
                Change::Removed
            }
            (None, _) => Change::Ignored,
        };
    }
    let change = match (position, belongs) {
        (Some(i), true) => {
            list[i] = incoming;
            Change::Updated
        }
        (Some(i), false) => {
            list.remove(i);
            Change::Removed
        }
        (None, true) => {
            list.push(incoming);
            Change::Added
        }
        (None, false) => Change::Ignored,
    };
    if matches!(change, Change::Added | Change::Updated) {
        sort(list);
    }
    change
}

/// Messages in a conversation after the last one this agent has seen.
pub fn unread(c: &Conversation, seen_seq: u64) -> u64 {
    c.last_message_seq.saturating_sub(seen_seq)
}

/// How many conversations the browser remembers read positions for.
pub const SEEN_CAPACITY: usize = 2000;

/// The agent's read position per conversation, kept in the browser (the server records only
/// one shared position per conversation and does not hand it to agents).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenPositions(BTreeMap<ConversationId, u64>);

impl SeenPositions {
    pub fn get(&self, id: &ConversationId) -> u64 {
        self.0.get(id).copied().unwrap_or(0)
    }

    /// Records that the agent saw up to `seq`; returns whether the position moved.
    pub fn mark(&mut self, id: ConversationId, seq: u64) -> bool {
        let entry = self.0.entry(id).or_insert(0);
        if seq > *entry {
            *entry = seq;
            self.prune();
            true
        } else {
            false
        }
    }

    /// Forgets the oldest conversations beyond [`SEEN_CAPACITY`]. Ids sort by creation time,
    /// so the first keys are the oldest conversations.
    fn prune(&mut self) {
        while self.0.len() > SEEN_CAPACITY {
            self.0.pop_first();
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use edgedesk_shared::ids::{ChannelId, ContactId, TenantId};
    use edgedesk_shared::model::{ChannelKind, Priority};

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 4, 10, minute, 0)
            .single()
            .expect("valid time")
    }

    fn conversation(n: u64, minute: u32) -> Conversation {
        Conversation {
            id: ConversationId::from_parts(1_700_000_000_000 + n, u128::from(n)),
            tenant_id: TenantId::from_parts(1, 1),
            contact_id: ContactId::from_parts(1, u128::from(n)),
            channel: ChannelKind::Web,
            channel_id: Some(ChannelId::from_parts(1, 1)),
            subject: None,
            status: ConversationStatus::Open,
            snoozed_until: None,
            assignee_id: None,
            team: None,
            priority: Priority::Normal,
            labels: Vec::new(),
            last_message_seq: 1,
            last_message_at: Some(at(minute)),
            created_at: at(0),
            updated_at: at(minute),
            version: 1,
        }
    }

    fn me() -> AgentId {
        AgentId::from_parts(5, 5)
    }

    #[test]
    fn mine_asks_the_server_for_my_assignments_in_the_chosen_status() {
        let f = Filter::default();
        assert_eq!(
            f.query(&me()),
            vec![
                ("status", "open".to_owned()),
                ("assignee", me().to_string())
            ]
        );
        let f = Filter {
            view: View::Unassigned,
            status: None,
            ..Filter::default()
        };
        assert_eq!(f.query(&me()), vec![("assignee", "none".to_owned())]);
        let f = Filter {
            view: View::Team(" billing ".into()),
            status: Some(ConversationStatus::Snoozed),
            ..Filter::default()
        };
        assert_eq!(
            f.query(&me()),
            vec![
                ("status", "snoozed".to_owned()),
                ("team", "billing".to_owned())
            ]
        );
    }

    #[test]
    fn the_list_shows_the_most_recent_activity_first() {
        let mut list = vec![conversation(1, 5), conversation(2, 30), conversation(3, 10)];
        sort(&mut list);
        let order: Vec<u32> = list
            .iter()
            .map(|c| activity(c).format("%M").to_string().parse().unwrap_or(0))
            .collect();
        assert_eq!(order, vec![30, 10, 5]);
    }

    #[test]
    fn a_new_message_moves_a_conversation_to_the_top() {
        let all = Filter {
            view: View::All,
            status: None,
            ..Filter::default()
        };
        let mut list = vec![conversation(1, 20), conversation(2, 10)];
        let mut bumped = conversation(2, 40);
        bumped.version = 2;
        assert_eq!(
            apply(&mut list, bumped.clone(), &all, &me()),
            Change::Updated
        );
        assert_eq!(list[0].id, bumped.id);
    }

    #[test]
    fn a_conversation_assigned_away_leaves_the_unassigned_list() {
        let unassigned = Filter {
            view: View::Unassigned,
            status: Some(ConversationStatus::Open),
            ..Filter::default()
        };
        let mut list = vec![conversation(1, 20)];
        let mut taken = list[0].clone();
        taken.assignee_id = Some(AgentId::from_parts(9, 9));
        taken.version = 2;
        assert_eq!(apply(&mut list, taken, &unassigned, &me()), Change::Removed);
        assert!(list.is_empty());
    }

    #[test]
    fn a_resolved_conversation_leaves_the_open_list_and_a_new_one_joins() {
        let open_all = Filter {
            view: View::All,
            status: Some(ConversationStatus::Open),
            ..Filter::default()
        };
        let mut list = vec![conversation(1, 20)];
        let mut resolved = list[0].clone();
        resolved.status = ConversationStatus::Resolved;
        resolved.version = 3;
        assert_eq!(
            apply(&mut list, resolved, &open_all, &me()),
            Change::Removed
        );
        assert_eq!(
            apply(&mut list, conversation(2, 50), &open_all, &me()),
            Change::Added
        );
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn an_update_older_than_the_shown_version_is_ignored() {
        let all = Filter {
            view: View::All,
            status: None,
            ..Filter::default()
        };
        let mut current = conversation(1, 20);
        current.version = 5;
        current.labels = vec!["vip".into()];
        let mut list = vec![current];
        let stale = conversation(1, 20);
        assert_eq!(apply(&mut list, stale, &all, &me()), Change::Ignored);
        assert_eq!(list[0].labels, vec!["vip".to_owned()]);
    }

    #[test]
    fn a_team_view_without_a_name_shows_every_team_conversation() {
        let f = Filter {
            view: View::Team(String::new()),
            status: None,
            ..Filter::default()
        };
        let mut c = conversation(1, 1);
        assert!(!f.matches(&c, &me()));
        c.team = Some("billing".into());
        assert!(f.matches(&c, &me()));
        let named = Filter {
            view: View::Team("support".into()),
            status: None,
            ..Filter::default()
        };
        assert!(!named.matches(&c, &me()));
    }

    #[test]
    fn unread_counts_messages_after_the_last_seen_one() {
        let mut c = conversation(1, 1);
        c.last_message_seq = 7;
        assert_eq!(unread(&c, 0), 7);
        assert_eq!(unread(&c, 5), 2);
        assert_eq!(unread(&c, 9), 0);
    }

    #[test]
    fn a_read_position_only_moves_forward() {
        let id = conversation(1, 1).id;
        let mut seen = SeenPositions::default();
        assert!(seen.mark(id, 4));
        assert!(!seen.mark(id, 2));
        assert_eq!(seen.get(&id), 4);
    }

    #[test]
    fn read_positions_forget_the_oldest_conversations_first() {
        let mut seen = SeenPositions::default();
        for n in 0..(SEEN_CAPACITY as u64 + 3) {
            seen.mark(ConversationId::from_parts(1000 + n, 0), 1);
        }
        assert_eq!(seen.len(), SEEN_CAPACITY);
        assert_eq!(seen.get(&ConversationId::from_parts(1000, 0)), 0);
        assert_eq!(
            seen.get(&ConversationId::from_parts(
                1000 + SEEN_CAPACITY as u64 + 2,
                0
            )),
            1
        );
    }

    #[test]
    fn a_saved_filter_reads_back_the_same() {
        let f = Filter {
            view: View::Team("billing".into()),
            status: None,
            ..Filter::default()
        };
        let text = serde_json::to_string(&f).unwrap_or_default();
        assert_eq!(serde_json::from_str::<Filter>(&text).ok(), Some(f));
    }

    #[test]
    fn a_filter_saved_before_sla_sorting_existed_still_reads() {
        let old = r#"{"view":{"view":"all"},"status":"open"}"#;
        let f = serde_json::from_str::<Filter>(old).expect("old filter");
        assert_eq!(f.sort, ListSort::Default);
        assert_eq!(f.sla, None);
    }

    #[test]
    fn sla_order_and_filter_go_to_the_server_and_keep_its_order() {
        let f = Filter {
            view: View::All,
            status: None,
            sort: ListSort::SlaDue,
            sla: Some(StateFilter::Breached),
        };
        assert_eq!(
            f.query(&me()),
            vec![
                ("sla_state", "breached".to_owned()),
                ("sort", "sla_due".to_owned())
            ]
        );
        // The server's order (older activity first here) stays as it is.
        let mut list = vec![conversation(1, 1), conversation(2, 9)];
        f.order(&mut list);
        assert_eq!(list[0].id, conversation(1, 1).id);
        // A live update changes a listed conversation in place and adds nothing.
        let mut newer = conversation(1, 20);
        newer.version = 2;
        assert_eq!(apply(&mut list, newer, &f, &me()), Change::Updated);
        assert_eq!(list[0].last_message_at, Some(at(20)));
        assert_eq!(
            apply(&mut list, conversation(3, 30), &f, &me()),
            Change::Ignored
        );
        assert_eq!(list.len(), 2);
        // Under the default order the same list sorts by last activity.
        Filter::default().order(&mut list);
        assert_eq!(list[0].id, conversation(1, 1).id);
        list.reverse();
        Filter::default().order(&mut list);
        assert_eq!(list[0].last_message_at, Some(at(20)));
    }
}
