//! Change notifications: wake whoever watches a storage partition once a change to it is durable.
//!
//! The host records, for every row a guest inserts, updates or deletes, the pair
//! *(table, first column value)* — for EdgeDesk's `kv(actor, key, value)` table that is the
//! actor, i.e. the storage partition. When the group commit that contains the change has been
//! fsynced, the host publishes it here. Nothing is published for rolled-back work, and nothing
//! before it is durable, so a subscriber that re-reads after a wake-up always sees the change.
//!
//! Two ways to listen, both generic (no business rules):
//! - [`ChangeFeed::watch`]: one `tokio::sync::watch` per (table, key). The value is the sequence
//!   number of the last durable commit group that touched the key; waking coalesces, so a slow
//!   subscriber only learns "changed since you last looked", which is what a realtime layer
//!   needs to re-read and push.
//! - [`ChangeFeed::subscribe_all`]: a `tokio::sync::broadcast` of every durable group's changed
//!   keys, for a layer that fans out itself.
//!
//! Watches nobody holds any more are pruned on the next publish.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{broadcast, watch};

/// A storage partition: a table and the value of its first column, as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChangeKey {
    pub table: String,
    pub key: String,
}

impl ChangeKey {
    pub fn new(table: impl Into<String>, key: impl Into<String>) -> ChangeKey {
        ChangeKey {
            table: table.into(),
            key: key.into(),
        }
    }
}

/// The keys one durable commit group changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBatch {
    /// Increases by one per durable group with changes; never reused while the host runs.
    pub sequence: u64,
    pub keys: Vec<ChangeKey>,
}

/// The publish side lives in the database writer; any number of subscribers.
#[derive(Clone)]
pub struct ChangeFeed {
    inner: Arc<Inner>,
}

struct Inner {
    watches: Mutex<Watches>,
    all: broadcast::Sender<Arc<ChangeBatch>>,
}

#[derive(Default)]
struct Watches {
    sequence: u64,
    by_key: HashMap<ChangeKey, watch::Sender<u64>>,
}

/// How many batches a [`ChangeFeed::subscribe_all`] receiver may fall behind before it sees
/// `RecvError::Lagged` (it should then re-read everything it cares about).
const BROADCAST_CAPACITY: usize = 1024;

impl Default for ChangeFeed {
    fn default() -> Self {
        ChangeFeed {
            inner: Arc::new(Inner {
                watches: Mutex::new(Watches::default()),
                all: broadcast::channel(BROADCAST_CAPACITY).0,
            }),
        }
    }
}

impl ChangeFeed {
    /// Watches one partition. The receiver's current value is the sequence of the last durable
    /// group that changed it (0: none since the host started); `changed().await` wakes on the
    /// next one.
    pub fn watch(&self, table: &str, key: &str) -> watch::Receiver<u64> {
        let mut watches = self
            .inner
            .watches
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        watches
            .by_key
            .entry(ChangeKey::new(table, key))
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Every durable group's changed keys, in commit order.
    pub fn subscribe_all(&self) -> broadcast::Receiver<Arc<ChangeBatch>> {
        self.inner.all.subscribe()
    }

    /// Publishes the keys of one durable group. Called by the writer after the fsync.
    pub(crate) fn publish(&self, keys: BTreeSet<ChangeKey>) {
        if keys.is_empty() {
            return;
        }
        let mut watches = self
            .inner
            .watches
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        watches.sequence += 1;
        let sequence = watches.sequence;
        watches.by_key.retain(|_, tx| tx.receiver_count() > 0);
        for key in &keys {
            if let Some(tx) = watches.by_key.get(key) {
                tx.send_replace(sequence);
            }
        }
        drop(watches);
        // No receiver is not an error: nobody listens yet.
        let _ = self.inner.all.send(Arc::new(ChangeBatch {
            sequence,
            keys: keys.into_iter().collect(),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[(&str, &str)]) -> BTreeSet<ChangeKey> {
        list.iter().map(|(t, k)| ChangeKey::new(*t, *k)).collect()
    }

    #[tokio::test]
    async fn a_watcher_wakes_only_for_its_own_partition() {
        let feed = ChangeFeed::default();
        let mut a = feed.watch("kv", "t:a");
        let mut b = feed.watch("kv", "t:b");
        feed.publish(keys(&[("kv", "t:a")]));
        assert!(a.has_changed().unwrap());
        assert!(!b.has_changed().unwrap());
        assert_eq!(*a.borrow_and_update(), 1);
        feed.publish(keys(&[("kv", "t:b"), ("other", "t:a")]));
        assert!(!a.has_changed().unwrap());
        assert_eq!(*b.borrow_and_update(), 2);
    }

    #[tokio::test]
    async fn the_broadcast_carries_every_batch_in_order() {
        let feed = ChangeFeed::default();
        let mut all = feed.subscribe_all();
        feed.publish(keys(&[("kv", "x")]));
        feed.publish(BTreeSet::new());
        feed.publish(keys(&[("kv", "y"), ("kv", "z")]));
        let first = all.recv().await.unwrap();
        let second = all.recv().await.unwrap();
        assert_eq!(first.sequence, 1);
        assert_eq!(first.keys, vec![ChangeKey::new("kv", "x")]);
        assert_eq!(second.sequence, 2);
        assert_eq!(second.keys.len(), 2);
    }

    #[test]
    fn watches_nobody_holds_are_pruned_on_publish() {
        let feed = ChangeFeed::default();
        drop(feed.watch("kv", "gone"));
        let _kept = feed.watch("kv", "kept");
        feed.publish(keys(&[("kv", "kept")]));
        let watches = feed.inner.watches.lock().unwrap();
        assert_eq!(watches.by_key.len(), 1);
    }
}
