//! The visitor's message list as an ordered set keyed by sequence number.
//!
//! Messages reach the widget along several paths that may overlap: the history page, the
//! realtime stream (replayed after every reconnect), and the answer to the visitor's own
//! `POST`. Each message carries its conversation's `seq`, so the list keeps one entry per
//! `seq`, in `seq` order, whatever the arrival order.
//!
//! The *cursor* is what the widget asks the server to continue after. Only ordered sources
//! (history pages, the stream, long-poll answers) move it: the answer to the visitor's own
//! `POST` can overtake an agent message still in flight, and moving the cursor past that
//! message would lose it on the next reconnect.

use alloc::vec::Vec;

/// Where a newly arrived message belongs.
#[derive(Debug, PartialEq, Eq)]
pub enum Insert<'a, T> {
    /// Already shown: drop it.
    Duplicate,
    /// Goes right before this already shown item.
    Before(&'a T),
    /// Goes after every shown item.
    End,
}

/// An ordered set of shown items (DOM nodes in the widget) keyed by `seq`.
#[derive(Debug)]
pub struct Timeline<T> {
    items: Vec<(u64, T)>,
    cursor: u64,
}

impl<T> Default for Timeline<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            cursor: 0,
        }
    }
}

impl<T> Timeline<T> {
    /// Records `item` under `seq` unless that `seq` is already shown, and says where it goes.
    pub fn insert(&mut self, seq: u64, item: T) -> Insert<'_, T> {
        match self.items.binary_search_by_key(&seq, |(s, _)| *s) {
            Ok(_) => Insert::Duplicate,
            Err(at) => {
                self.items.insert(at, (seq, item));
                match self.items.get(at + 1) {
                    Some((_, next)) => Insert::Before(next),
                    None => Insert::End,
                }
            }
        }
    }

    /// Whether `seq` is shown.
    pub fn contains(&self, seq: u64) -> bool {
        self.items.binary_search_by_key(&seq, |(s, _)| *s).is_ok()
    }

    /// The item shown under `seq`.
    pub fn get(&self, seq: u64) -> Option<&T> {
        self.items
            .binary_search_by_key(&seq, |(s, _)| *s)
            .ok()
            .and_then(|i| self.items.get(i))
            .map(|(_, item)| item)
    }

    /// The ordered stream got as far as `seq` (a message or a server's `last_seq`).
    pub fn advance(&mut self, seq: u64) {
        self.cursor = self.cursor.max(seq);
    }

    /// What to pass as `after=` on the next fetch or reconnect.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The highest shown `seq` (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.items.last().map_or(0, |(s, _)| *s)
    }

    /// Shown `seq`s, oldest first.
    pub fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.items.iter().map(|(s, _)| *s)
    }

    /// Forgets everything (another visitor, or a reset).
    pub fn clear(&mut self) {
        self.items.clear();
        self.cursor = 0;
    }
}

/// A read receipt on the visitor's own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// The server stored it (it has a `seq`).
    Delivered,
    /// An agent has read up to or past it.
    Seen,
}

/// The receipt a stored message shows, given how far the agents have read.
pub fn receipt(seq: u64, agent_seen_seq: u64) -> Receipt {
    if seq <= agent_seen_seq {
        Receipt::Seen
    } else {
        Receipt::Delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn messages_are_kept_in_seq_order_whatever_the_arrival_order() {
        let mut t = Timeline::default();
        assert_eq!(t.insert(5, "e"), Insert::End);
        assert_eq!(t.insert(2, "b"), Insert::Before(&"e"));
        assert_eq!(t.insert(3, "c"), Insert::Before(&"e"));
        assert_eq!(t.insert(9, "i"), Insert::End);
        assert_eq!(t.insert(1, "a"), Insert::Before(&"b"));
        assert_eq!(t.seqs().collect::<Vec<_>>(), vec![1, 2, 3, 5, 9]);
        assert_eq!(t.last_seq(), 9);
    }

    #[test]
    fn a_replayed_message_is_shown_once() {
        let mut t = Timeline::default();
        assert_eq!(t.insert(1, 'x'), Insert::End);
        assert_eq!(t.insert(1, 'y'), Insert::Duplicate);
        assert_eq!(t.get(1), Some(&'x'));
        assert!(t.contains(1));
        assert!(!t.contains(2));
    }

    #[test]
    fn only_the_ordered_stream_moves_the_cursor() {
        let mut t = Timeline::default();
        // The visitor's own POST answered with seq 4 before agent message 3 arrived.
        t.insert(4, ());
        assert_eq!(t.cursor(), 0, "a reconnect must still ask for 3");
        t.insert(3, ());
        t.advance(3);
        t.advance(4);
        t.advance(2);
        assert_eq!(t.cursor(), 4);
    }

    #[test]
    fn clearing_forgets_items_and_cursor() {
        let mut t = Timeline::default();
        t.insert(7, ());
        t.advance(7);
        t.clear();
        assert_eq!(t.cursor(), 0);
        assert_eq!(t.last_seq(), 0);
        assert_eq!(t.insert(7, ()), Insert::End);
    }

    #[test]
    fn a_message_is_seen_once_agents_read_up_to_it() {
        assert_eq!(receipt(3, 2), Receipt::Delivered);
        assert_eq!(receipt(3, 3), Receipt::Seen);
        assert_eq!(receipt(3, 10), Receipt::Seen);
        assert_eq!(receipt(1, 0), Receipt::Delivered);
    }
}
