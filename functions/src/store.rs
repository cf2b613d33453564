//! Typed access to actor storage, and optimistic transactions on top of it.
//!
//! A [`Tx`] records what it read; committing turns those reads into checks of the write
//! batch, so the commit applies only if nothing it read changed meanwhile (serialisable
//! per actor). On a conflict [`transact`] runs the closure again with fresh reads. This keeps
//! the storage port to get / scan / atomic batch, which every runtime offers.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;
use crate::ports::{ActorKey, Clock, Entropy, Expect, Scan, Storage, StorageError, WriteBatch};

/// How often a transaction is retried under contention before the client is told to retry.
const MAX_ATTEMPTS: usize = 200;
/// Longest pause between two attempts.
const MAX_BACKOFF_MS: u64 = 32;

pub async fn get_json<S: Storage, T: DeserializeOwned>(
    store: &S,
    actor: &ActorKey,
    key: &str,
) -> Result<Option<T>, ApiError> {
    match store.get(actor, key).await? {
        Some(bytes) => Ok(Some(decode(&bytes, actor, key)?)),
        None => Ok(None),
    }
}

/// Decodes a stored record; a failure is an internal error whose cause names the record.
fn decode<T: DeserializeOwned>(bytes: &[u8], actor: &ActorKey, key: &str) -> Result<T, ApiError> {
    edgedesk_json::from_slice(bytes)
        .map_err(|e| ApiError::from(e).context(format!("{actor}/{key}")))
}

/// Reads up to `limit` records under `prefix`, newest-key-first when `reverse`.
pub async fn scan_json<S: Storage, T: DeserializeOwned>(
    store: &S,
    actor: &ActorKey,
    scan: &Scan,
) -> Result<Vec<(String, T)>, ApiError> {
    store
        .scan(actor, scan)
        .await?
        .into_iter()
        .map(|(k, v)| {
            let value = decode(&v, actor, &k)?;
            Ok((k, value))
        })
        .collect()
}

/// An optimistic transaction against one actor.
pub struct Tx<'a, S> {
    store: &'a S,
    actor: &'a ActorKey,
    reads: BTreeMap<String, Option<Vec<u8>>>,
    writes: BTreeMap<String, Option<Vec<u8>>>,
    appends: Vec<(String, Vec<u8>)>,
}

impl<'a, S: Storage> Tx<'a, S> {
    fn new(store: &'a S, actor: &'a ActorKey) -> Self {
        Self {
            store,
            actor,
            reads: BTreeMap::new(),
            writes: BTreeMap::new(),
            appends: Vec::new(),
        }
    }

    /// The storage and actor this transaction runs against, for reads that need no check: a
    /// range of append-only keys whose extent a record read through [`Tx::get`] already pins.
    pub fn unchecked(&self) -> (&'a S, &'a ActorKey) {
        (self.store, self.actor)
    }

    /// Reads a key, seeing this transaction's own writes.
    pub async fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
        if let Some(w) = self.writes.get(key) {
            return Ok(w.clone());
        }
        if let Some(r) = self.reads.get(key) {
            return Ok(r.clone());
        }
        let value = self.store.get(self.actor, key).await?;
        self.reads.insert(key.to_owned(), value.clone());
        Ok(value)
    }

    pub async fn get_json<T: DeserializeOwned>(
        &mut self,
        key: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.get(key).await? {
            Some(bytes) => Ok(Some(decode(&bytes, self.actor, key)?)),
            None => Ok(None),
        }
    }

    pub fn put(&mut self, key: impl Into<String>, value: Vec<u8>) {
        self.writes.insert(key.into(), Some(value));
    }

    pub fn put_json<T: Serialize>(
        &mut self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), ApiError> {
        self.put(key, serde_json::to_vec(value)?);
        Ok(())
    }

    pub fn delete(&mut self, key: impl Into<String>) {
        self.writes.insert(key.into(), None);
    }

    /// Appends an entry to the commit-ordered log under `prefix` (see
    /// [`WriteBatch::appends`]); its key is assigned when the transaction commits, so the
    /// transaction cannot read it back.
    pub fn append_json<T: Serialize>(&mut self, prefix: &str, value: &T) -> Result<(), ApiError> {
        self.appends
            .push((prefix.to_owned(), serde_json::to_vec(value)?));
        Ok(())
    }

    fn into_batch(self) -> WriteBatch {
        let checks = self
            .reads
            .into_iter()
            .map(|(k, v)| (k, v.map_or(Expect::Absent, Expect::Equals)))
            .collect();
        let mut batch = WriteBatch {
            checks,
            appends: self.appends,
            ..WriteBatch::default()
        };
        for (k, v) in self.writes {
            match v {
                Some(v) => batch.puts.push((k, v)),
                None => batch.deletes.push(k),
            }
        }
        batch
    }
}

/// Runs `f` in an optimistic transaction on `actor`, retrying on conflicts.
///
/// `f` may run several times, so it must not have side effects outside the `Tx`. A
/// transaction that wrote nothing commits nothing. The first attempt is optimistic, since most
/// actors are not contended. After a conflict the retry takes the actor's write lock where the
/// runtime has one, so writers racing for one key (a busy conversation, a tenant's ticket
/// counter) queue behind each other instead of colliding again; where it has none, the retry
/// waits a random, growing pause so they take turns and reads catch up with commits still
/// being made durable.
pub async fn transact<S, T, F>(store: &S, actor: &ActorKey, f: F) -> Result<T, ApiError>
where
    S: Storage + Clock + Entropy,
    F: AsyncFnMut(&mut Tx<'_, S>) -> Result<T, ApiError>,
{
    run(store, actor, false, f).await
}

/// [`transact`] for a transaction that writes a key every writer of the actor writes (a
/// tenant's ticket counter): it takes the actor's write lock from the first attempt, where
/// the runtime has one. Under concurrency an optimistic first attempt would conflict almost
/// every time and run the whole closure twice; with the lock it runs once, and alone it costs
/// the same (the lock is the transaction the commit would have opened anyway).
pub async fn transact_hot<S, T, F>(store: &S, actor: &ActorKey, f: F) -> Result<T, ApiError>
where
    S: Storage + Clock + Entropy,
    F: AsyncFnMut(&mut Tx<'_, S>) -> Result<T, ApiError>,
{
    run(store, actor, true, f).await
}

async fn run<S, T, F>(store: &S, actor: &ActorKey, hot: bool, mut f: F) -> Result<T, ApiError>
where
    S: Storage + Clock + Entropy,
    F: AsyncFnMut(&mut Tx<'_, S>) -> Result<T, ApiError>,
{
    for attempt in 0..MAX_ATTEMPTS {
        let locked = (hot || attempt > 0) && store.lock(actor).await?;
        if attempt > 0 && !locked {
            let ceiling = (1u64 << attempt.min(5)).min(MAX_BACKOFF_MS);
            let mut r = [0u8; 1];
            store.fill(&mut r);
            store.sleep_ms(1 + u64::from(r[0]) * ceiling / 256).await;
        }
        let mut tx = Tx::new(store, actor);
        let out = match f(&mut tx).await {
            Ok(out) => out,
            Err(e) => {
                if locked {
                    store.release(actor).await;
                }
                return Err(e);
            }
        };
        if tx.writes.is_empty() && tx.appends.is_empty() {
            if locked {
                store.release(actor).await;
            }
            return Ok(out);
        }
        match store.commit(actor, tx.into_batch()).await {
            Ok(()) => return Ok(out),
            Err(StorageError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StorageError::Conflict.into())
}
