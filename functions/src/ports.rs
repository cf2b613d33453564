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
}

impl WriteBatch {
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty()
    }
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
    /// Asks the runtime to run `crate::alarms::sweep` at or soon after `at`. Runtimes that
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
