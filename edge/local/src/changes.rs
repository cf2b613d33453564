//! Change notifications: wake whoever watches a storage partition once a change to it is durable.
//!
//! The host records, for every row a guest inserts, updates or deletes, the pair
//! *(table, first column value)* — for EdgeDesk's `kv(actor, key, value)` table that is the
//! actor, i.e. the storage partition. When the group commit that contains the change has been
//! fsynced, the host publishes it here. Nothing is published for rolled-back work, and nothing
//! before it is durable, so a subscriber that re-reads after a wake-up always sees the change.
//!
//! Two ways to listen, both generic (no business rules):
//! - [`ChangeFeed::watch`]: one [`Signal`] per (table, key): the sequence number of the last
//!   durable commit group that touched the key, and a `Notify`. Waking coalesces, so a slow
//!   subscriber only learns "changed since you last looked", which is what a realtime layer
//!   needs to re-read and push. (Not `tokio::sync::watch`: its channel carries eight `Notify`s
//!   for fairness among many receivers, ≈ 400 bytes per key; a host with 10,000 open widgets
//!   holds one key per widget.)
//! - [`ChangeFeed::subscribe_all`]: a `tokio::sync::broadcast` of every durable group's changed
//!   keys, for a layer that fans out itself.
//!
//! Watches nobody holds any more are pruned on the next publish.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{broadcast, Notify};

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
    by_key: HashMap<ChangeKey, Arc<Signal>>,
}

/// One partition's changes: the sequence of the last durable group that touched it, and who
/// waits for the next.
#[derive(Default)]
pub struct Signal {
    sequence: AtomicU64,
    notify: Notify,
}

/// A watcher of one partition ([`ChangeFeed::watch`]): what it has seen, and the signal.
pub struct ChangeWatch {
    signal: Arc<Signal>,
    seen: u64,
}

impl ChangeWatch {
    /// Whether a change came since [`ChangeWatch::mark_seen`] (or since the watch was taken).
    pub fn has_changed(&self) -> bool {
        self.signal.sequence.load(Ordering::Acquire) != self.seen
    }

    /// Marks every change so far as seen; returns the sequence of the last one (0: none).
    pub fn mark_seen(&mut self) -> u64 {
        self.seen = self.signal.sequence.load(Ordering::Acquire);
        self.seen
    }

    /// Resolves at the first change not yet seen (at once if one came already), and marks it
    /// seen.
    pub async fn changed(&mut self) {
        let signal = self.signal.clone();
        loop {
            // Registered before the check, so a publish between the two is not missed.
            let notified = signal.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.has_changed() {
                self.mark_seen();
                return;
            }
            notified.await;
        }
    }
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
    /// Watches one partition from now on: changes already published count as seen, and
    /// `changed().await` wakes on the next one.
    pub fn watch(&self, table: &str, key: &str) -> ChangeWatch {
        let mut watches = self
            .inner
            .watches
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let signal = watches
            .by_key
            .entry(ChangeKey::new(table, key))
            .or_default()
            .clone();
        let seen = signal.sequence.load(Ordering::Acquire);
        ChangeWatch { signal, seen }
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
        // Only the map holds a signal nobody watches any more.
        watches
            .by_key
            .retain(|_, signal| Arc::strong_count(signal) > 1);
        for key in &keys {
            if let Some(signal) = watches.by_key.get(key) {
                signal.sequence.store(sequence, Ordering::Release);
                signal.notify.notify_waiters();
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
        assert!(a.has_changed());
        assert!(!b.has_changed());
        assert_eq!(a.mark_seen(), 1);
        feed.publish(keys(&[("kv", "t:b"), ("other", "t:a")]));
        assert!(!a.has_changed());
        assert_eq!(b.mark_seen(), 2);
    }

    #[tokio::test]
    async fn a_waiting_watcher_wakes_once_per_change_and_a_late_one_at_once() {
        let feed = ChangeFeed::default();
        let mut early = feed.watch("kv", "c:1");
        let waiting = tokio::spawn(async move {
            early.changed().await;
            early
        });
        tokio::task::yield_now().await;
        let mut late = feed.watch("kv", "c:1");
        feed.publish(keys(&[("kv", "c:1")]));
        let mut early = tokio::time::timeout(std::time::Duration::from_secs(1), waiting)
            .await
            .expect("woken by the change")
            .unwrap();
        assert!(
            !early.has_changed(),
            "the change it woke for counts as seen"
        );
        tokio::time::timeout(std::time::Duration::from_secs(1), late.changed())
            .await
            .expect("a change published before it waited wakes it at once");
        let nothing =
            tokio::time::timeout(std::time::Duration::from_millis(50), early.changed()).await;
        assert!(nothing.is_err(), "nothing new");
        let watched_later = feed.watch("kv", "c:1");
        assert!(!watched_later.has_changed(), "a new watch starts from now");
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
