//! The ports: what the functions need from a runtime, as small platform-neutral traits.
//!
//! Each runtime adapter (`edge/spin` for Spin and the local host, `edge/cloudflare`) implements
//! these and nothing else; no business rule lives in an adapter. See docs/ARCHITECTURE.md for
//! how each maps onto Durable Objects, Spin's SQLite and the local host.
//!
//! Storage is partitioned into *actors* (one per tenant, one per conversation, one global
//! directory), like Durable Objects: every write is an atomic batch against one actor, and a
//! batch carries *checks* (the bytes a key must still hold) so optimistic transactions
//! ([`crate::store::transact`]) can run on top of any of them.

use chrono::{DateTime, Utc};

/// A storage partition, e.g. `t:ten_…` (a tenant) or `c:cnv_…` (a conversation).
pub type ActorKey = str;

/// What a key must hold for a batch to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Absent,
    Equals(Vec<u8>),
}

/// An atomic write against one actor: either every check holds and every write applies,
/// durably, or nothing changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    pub checks: Vec<(String, Expect)>,
    pub puts: Vec<(String, Vec<u8>)>,
    pub deletes: Vec<String>,
    /// Entries of commit-ordered logs, as `(prefix, value)`: each is stored under
    /// [`log_key`]`(prefix, n)`, where `n` is one past the newest entry of that log, assigned
    /// while the batch applies. Appends never conflict, and an entry's number is greater than
    /// that of every entry committed before it, so a reader that has seen entry `n` has seen
    /// every entry below it: a cursor over the log never skips one that commits later.
    pub appends: Vec<(String, Vec<u8>)>,
}

impl WriteBatch {
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty() && self.appends.is_empty()
    }

    /// The keys and values of this batch's appends. `newest` answers the newest key stored
    /// under a log prefix, as the transaction the batch applies in sees it; adapters call this
    /// under their write lock and store the result like puts.
    pub fn numbered_appends(
        &self,
        mut newest: impl FnMut(&str) -> Result<Option<String>, StorageError>,
    ) -> Result<Vec<(String, &[u8])>, StorageError> {
        let mut next: Vec<(&str, u64)> = Vec::new();
        let mut out = Vec::with_capacity(self.appends.len());
        for (prefix, value) in &self.appends {
            let n = match next.iter_mut().find(|(p, _)| p == prefix) {
                Some((_, n)) => n,
                None => {
                    let first = match newest(prefix)? {
                        Some(key) => log_number(prefix, &key)? + 1,
                        None => 1,
                    };
                    next.push((prefix, first));
                    &mut next.last_mut().expect("just pushed").1
                }
            };
            out.push((log_key(prefix, *n), value.as_slice()));
            *n += 1;
        }
        Ok(out)
    }
}

/// The key of entry `n` of the log under `prefix`: fixed-width decimal, so keys sort as their
/// numbers do.
pub fn log_key(prefix: &str, n: u64) -> String {
    format!("{prefix}{n:020}")
}

fn log_number(prefix: &str, key: &str) -> Result<u64, StorageError> {
    key.strip_prefix(prefix)
        .filter(|digits| digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(|| {
            StorageError::Unavailable(format!("`{key}` is not an entry of the log `{prefix}`"))
        })
}

/// An ordered range read inside one actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Only keys starting with this.
    pub prefix: String,
    /// Resume strictly past this key (in scan direction).
    pub after: Option<String>,
    pub limit: usize,
    /// Descending key order.
    pub reverse: bool,
}

/// Storage failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// A check of the batch did not hold; nothing was written.
    #[error("write conflict")]
    Conflict,
    /// The store failed; the write did not happen.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Durable, actor-partitioned key-value storage.
#[allow(async_fn_in_trait)]
pub trait Storage {
    async fn get(&self, actor: &ActorKey, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    async fn scan(
        &self,
        actor: &ActorKey,
        scan: &Scan,
    ) -> Result<Vec<(String, Vec<u8>)>, StorageError>;
    /// Applies the batch atomically and durably, or returns [`StorageError::Conflict`].
    async fn commit(&self, actor: &ActorKey, batch: WriteBatch) -> Result<(), StorageError>;
    /// Takes `actor`'s write lock for the reads that follow and the next [`Storage::commit`]
    /// of that actor, which then cannot conflict (the commit ends the lock). Answers `false`
    /// where the runtime has no such lock or one is already held: the caller stays optimistic.
    async fn lock(&self, _actor: &ActorKey) -> Result<bool, StorageError> {
        Ok(false)
    }
    /// Gives up a lock taken by [`Storage::lock`] without writing anything.
    async fn release(&self, _actor: &ActorKey) {}
}

/// Wall-clock time, and waiting (long-poll).
#[allow(async_fn_in_trait)]
pub trait Clock {
    fn now(&self) -> DateTime<Utc>;
    /// Suspends this request for about `ms` milliseconds without blocking other requests.
    async fn sleep_ms(&self, ms: u64);
}

/// Cryptographically secure random bytes (ids, secrets).
pub trait Entropy {
    fn fill(&self, buf: &mut [u8]);
}

/// Deployment configuration and secrets (Spin variables, Worker vars/secrets).
pub trait Config {
    fn var(&self, name: &str) -> Option<String>;
}

/// Wake-ups for due work (see `crate::alarms`).
#[allow(async_fn_in_trait)]
pub trait Alarms {
    /// Asks the runtime to run `crate::flows::sweep` at or soon after `at`. Runtimes that
    /// sweep on an interval anyway may do nothing here.
    async fn set_alarm(&self, at: DateTime<Utc>) -> Result<(), StorageError>;
}

/// An outgoing HTTP request (a signed webhook delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    pub method: http::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why an outgoing request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The runtime does not allow requests to this host (Spin's `allowed_outbound_hosts`).
    #[error("outbound request to this host is not allowed: {0}")]
    Denied(String),
    /// Connecting, sending or reading failed.
    #[error("outbound request failed: {0}")]
    Failed(String),
}

/// Outgoing HTTP: webhooks to the tenant's own systems.
#[allow(async_fn_in_trait)]
pub trait OutboundHttp {
    /// Sends the request and returns the response status (the body is not needed).
    async fn send(&self, request: OutboundRequest) -> Result<u16, OutboundError>;
    /// Sends the request and returns the response status and body: a bot webhook answers
    /// with what the bot tells the visitor. Runtimes cap the body (the local host at 64 KiB).
    async fn fetch(&self, request: OutboundRequest) -> Result<(u16, Vec<u8>), OutboundError>;
}

/// Everything a request handler may use.
pub trait Platform: Storage + Clock + Entropy + Config + Alarms + OutboundHttp {}

impl<T: Storage + Clock + Entropy + Config + Alarms + OutboundHttp> Platform for T {}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(appends: &[(&str, &str)]) -> WriteBatch {
        WriteBatch {
            appends: appends
                .iter()
                .map(|(p, v)| (p.to_string(), v.as_bytes().to_vec()))
                .collect(),
            ..WriteBatch::default()
        }
    }

    #[test]
    fn appends_continue_each_log_one_past_its_newest_entry() {
        let b = batch(&[("a:", "1"), ("b:", "2"), ("a:", "3")]);
        let mut asked = Vec::new();
        let keys = b
            .numbered_appends(|prefix| {
                asked.push(prefix.to_owned());
                Ok((prefix == "a:").then(|| log_key("a:", 41)))
            })
            .unwrap();
        assert_eq!(
            keys,
            vec![
                ("a:00000000000000000042".to_owned(), &b"1"[..]),
                ("b:00000000000000000001".to_owned(), &b"2"[..]),
                ("a:00000000000000000043".to_owned(), &b"3"[..]),
            ]
        );
        assert_eq!(asked, ["a:", "b:"], "each log's newest entry is read once");
    }

    #[test]
    fn log_keys_sort_as_their_numbers() {
        let mut keys: Vec<String> = [10, 9, 100, 1, u64::MAX]
            .iter()
            .map(|n| log_key("l:", *n))
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [1, 9, 10, 100, u64::MAX].map(|n| log_key("l:", n)).to_vec()
        );
    }

    #[test]
    fn a_foreign_key_under_a_log_prefix_refuses_the_batch() {
        let b = batch(&[("a:", "1")]);
        for bad in ["a:12", "a:0000000000000000000x", "a:999999999999999999999"] {
            let err = b
                .numbered_appends(|_| Ok(Some(bad.to_owned())))
                .unwrap_err();
            assert!(
                matches!(err, StorageError::Unavailable(_)),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn a_batch_with_only_appends_is_not_empty() {
        assert!(WriteBatch::default().is_empty());
        assert!(!batch(&[("a:", "1")]).is_empty());
    }
}
