//! The embedded, persistent SQLite store behind the guest's `fermyon:spin/sqlite` imports.
//!
//! One database file, in WAL mode with `synchronous=FULL`, served by:
//! - a pool of **reader** connections (`query_only`), used for every statement a guest runs
//!   outside a transaction that SQLite reports as read-only; WAL lets them run concurrently and
//!   they only ever see committed, durable data;
//! - one **writer** connection ([`writer`]), used by one session at a time: the one holding the
//!   writer *lease*, a FIFO-fair `tokio::sync::Mutex` (waiting costs no thread and no SQLite
//!   busy-polling). The session runs its statements on the connection itself, on its own task;
//!   only the fsync of a commit group is left to the writer's flusher thread.
//!
//! **Transactions confined to one partition.** A transaction does not take the lease at
//! `BEGIN`. If its first statement is confined to one partition ([`partition`]: EdgeDesk's
//! `kv` rows of one actor), it takes that partition's lock instead, and the lease only for each
//! statement: reads run on the writer's connection (so they see the group's undurable commits)
//! and give the lease straight back. At its first write it keeps the lease and opens its
//! savepoint; its `COMMIT` follows at once. So a transaction holds the lease only while SQLite
//! works, never while the guest computes between statements (a locked handler's whole run, for
//! `Storage::lock`), and transactions of different actors — other tenants, other conversations
//! — never wait for each other's guest work. Transactions of one actor still run one at a time,
//! in FIFO order. A transaction whose statements are not all confined to one partition (any
//! other SQL) holds the lease from its first statement to its end, as a single writer does.
//! A confined transaction checks, before it writes or commits, that no unconfined write changed
//! its partition since it read and that the group it read from was not lost; if either
//! happened it fails with [`SqlError::Conflict`] instead of writing on stale reads. EdgeDesk's
//! adapter only issues confined statements, so this never fires there.
//!
//! **Group commit.** The writer keeps one outer SQLite transaction open; each guest transaction
//! is a savepoint inside it, released into it on `COMMIT`. The guest's `COMMIT` returns only
//! after the outer transaction containing it has been committed and fsynced, so an OK is never
//! given for data a crash could lose — but one fsync covers every transaction that committed
//! while the previous one was in flight. The outer transaction is committed as soon as nobody
//! waits for the lease, or when the oldest waiting commit is [`GroupCommit::max_delay`] old, or
//! when [`GroupCommit::max_batch`] commits wait. `GroupCommit::off()` makes every guest `COMMIT`
//! its own fsync (for measuring the difference).
//!
//! If the guest instance ends (returns, traps, times out) while its transaction is open, dropping
//! its [`Session`] rolls the transaction back and releases what it holds.
//!
//! No fsync runs on the async runtime: the flusher is its own thread. Reads and the statements
//! of a transaction run on the task that asks: on the memory-mapped WAL database they are short
//! CPU work, cheaper than a hand-off to another thread.

mod classify;
mod partition;
mod readers;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use tokio::sync::OwnedMutexGuard;

use crate::changes::ChangeFeed;
pub use classify::{classify, Control};
use partition::{PartitionGuard, PartitionLocks};
use readers::{ReadOutcome, ReaderPool};
use writer::{Lease, Read, Registered, WriterHandle};

/// A column value, as Spin's SQLite interface passes them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

/// The answer to one statement: column names and rows (empty for statements without rows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// Why a statement failed, as the guest will see it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SqlError {
    /// SQLite reported `SQLITE_FULL`.
    #[error("database or disk is full")]
    DatabaseFull,
    /// Any other SQLite error, with SQLite's message (bad SQL, constraint, I/O).
    #[error("{0}")]
    Sqlite(String),
    /// The statement failed and SQLite rolled the whole transaction back with it; the guest
    /// must `ROLLBACK` (or `COMMIT`, which then fails) before starting again.
    #[error("the transaction was rolled back: {0}")]
    TransactionRolledBack(String),
    /// The transaction's work was applied, but the fsync of the commit group failed, so it is
    /// not durable and has been rolled back.
    #[error("commit failed, nothing was saved: {0}")]
    CommitFailed(String),
    #[error("cannot start a transaction within a transaction")]
    NestedBegin,
    #[error("cannot {0} - no transaction is active")]
    NoTransaction(&'static str),
    #[error("SAVEPOINT, RELEASE and ROLLBACK TO are only supported inside BEGIN ... COMMIT")]
    SavepointOutsideTransaction,
    /// The database was shut down (the host is stopping) or its flusher thread is gone.
    #[error("the database is closed")]
    Closed,
    /// A transaction confined to one partition found, before writing or committing, that a
    /// write not confined to it changed that partition since it read (or that the commit group
    /// it read from was lost). Nothing of it was written; run it again.
    #[error("the data this transaction read changed under it; nothing was written, retry")]
    Conflict,
}

impl SqlError {
    fn from_sqlite(e: &rusqlite::Error) -> SqlError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => SqlError::DatabaseFull,
            _ => SqlError::Sqlite(e.to_string()),
        }
    }
}

/// Failure to open the database.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open SQLite database {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("SQLite database {path} refused WAL mode (journal_mode is {mode})")]
    NoWal { path: String, mode: String },
    #[error("cannot prepare SQLite database {path}: {source}")]
    Setup { path: String, source: SqlError },
    #[error("cannot start the SQLite flusher thread: {0}")]
    Thread(std::io::Error),
}

/// When the writer commits its outer transaction (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// Commit once this many guest commits wait; 1 disables grouping.
    pub max_batch: usize,
    /// Commit once the oldest waiting guest commit is this old, even if others queue.
    pub max_delay: Duration,
}

impl GroupCommit {
    /// One fsync per guest transaction.
    pub fn off() -> GroupCommit {
        GroupCommit {
            max_batch: 1,
            max_delay: Duration::ZERO,
        }
    }
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            max_batch: 512,
            max_delay: Duration::from_millis(2),
        }
    }
}

/// How to open a [`Database`].
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// Reader connections (concurrent reads outside transactions).
    pub readers: usize,
    pub group_commit: GroupCommit,
    /// Transactions confined to one actor hold only its lock (see the module docs); off, every
    /// transaction holds the writer lease from its first statement to its end.
    pub actor_locks: bool,
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig {
            readers: 4,
            group_commit: GroupCommit::default(),
            actor_locks: true,
        }
    }
}

/// Counters for benchmarks and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DbStats {
    /// Guest transactions (and autocommit writes) that waited for durability.
    pub durable_commits: u64,
    /// Outer transactions committed (fsyncs of commit groups).
    pub groups: u64,
}

#[derive(Default)]
struct Counters {
    durable_commits: AtomicU64,
    groups: AtomicU64,
}

/// The name of the writer's per-guest-transaction savepoint. Guests may not touch it.
const HOST_SAVEPOINT: &str = "edgedesk_host_tx";

/// Pragmas a guest may read but not set: they decide durability and isolation.
const GUARDED_PRAGMAS: &[&str] = &[
    "journal_mode",
    "synchronous",
    "locking_mode",
    "query_only",
    "writable_schema",
    "temp_store_directory",
    "data_store_directory",
];

/// What the guest may do on a connection. The host's own statements run with the check off.
fn guest_authorizer(ctx: &AuthContext<'_>, allow_savepoints: bool) -> Authorization {
    match ctx.action {
        // Transaction control is the host's: the classifier routes the spellings it knows and
        // anything else is refused rather than silently committing the writer's outer
        // transaction.
        AuthAction::Transaction { .. } => Authorization::Deny,
        AuthAction::Savepoint { savepoint_name, .. } => {
            if allow_savepoints && !savepoint_name.eq_ignore_ascii_case(HOST_SAVEPOINT) {
                Authorization::Allow
            } else {
                Authorization::Deny
            }
        }
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => Authorization::Deny,
        AuthAction::Pragma {
            pragma_name,
            pragma_value: Some(_),
        } if GUARDED_PRAGMAS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(pragma_name)) =>
        {
            Authorization::Deny
        }
        _ => Authorization::Allow,
    }
}

/// Largest part of the database file read through a memory mapping.
const MMAP_SIZE: i64 = 1 << 30;

/// Settings every connection gets, before the guest authorizer is installed.
fn configure(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // Read database pages straight from the page cache through a mapping instead of a `pread`
    // per page. Only reads use it (writes still go through the WAL), so durability and crash
    // safety are unchanged; the size is address space, not memory.
    conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
    conn.set_prepared_statement_cache_capacity(128);
    conn.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    Ok(())
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
            Value::Null => ValueRef::Null,
        }))
    }
}

impl From<ValueRef<'_>> for Value {
    fn from(v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            ValueRef::Null => Value::Null,
        }
    }
}

/// Runs a prepared statement to completion and collects its rows.
fn run_statement(
    stmt: &mut rusqlite::Statement<'_>,
    params: &[Value],
) -> rusqlite::Result<QueryResult> {
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let width = columns.len();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(Value::from(row.get_ref(i)?));
        }
        out.push(values);
    }
    Ok(QueryResult { columns, rows: out })
}

/// The database: shared by every request; cheap to clone.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    readers: Arc<ReaderPool>,
    writer: WriterHandle,
    partitions: Arc<PartitionLocks>,
    actor_locks: bool,
    /// Sessions queued for the lease or a partition lock; the writer commits its group when
    /// nobody is.
    waiting: Arc<AtomicUsize>,
    next_tx: AtomicU64,
    changes: ChangeFeed,
    counters: Arc<Counters>,
}

impl Database {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path, config: &DbConfig) -> Result<Database, OpenError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let changes = ChangeFeed::default();
        let waiting = Arc::new(AtomicUsize::new(0));
        let counters = Arc::new(Counters::default());
        // The writer first: it switches the file to WAL, which the readers then share.
        let writer = writer::spawn(
            path,
            config.group_commit,
            waiting.clone(),
            changes.clone(),
            counters.clone(),
        )?;
        let readers = Arc::new(ReaderPool::open(path, config.readers.max(1))?);
        Ok(Database {
            inner: Arc::new(Inner {
                readers,
                writer,
                partitions: Arc::default(),
                actor_locks: config.actor_locks,
                waiting,
                next_tx: AtomicU64::new(1),
                changes,
                counters,
            }),
        })
    }

    /// A new connection for one guest `open`.
    pub fn session(&self) -> Session {
        Session {
            db: self.clone(),
            state: State::Idle,
        }
    }

    /// Durable-change notifications (see [`crate::changes`]).
    pub fn changes(&self) -> &ChangeFeed {
        &self.inner.changes
    }

    pub fn stats(&self) -> DbStats {
        DbStats {
            durable_commits: self.inner.counters.durable_commits.load(Ordering::Relaxed),
            groups: self.inner.counters.groups.load(Ordering::Relaxed),
        }
    }

    /// Commits the pending group, stops the writer and closes every connection. Statements
    /// after this fail with [`SqlError::Closed`]. Call it once requests have drained.
    pub async fn shutdown(&self) -> Result<(), SqlError> {
        let result = self.inner.writer.shutdown().await;
        self.inner.readers.close();
        result
    }

    async fn lease(&self) -> OwnedMutexGuard<()> {
        let _waiting = Waiting::new(&self.inner.waiting);
        self.inner.writer.lease().lock_owned().await
    }

    /// A partition's lock. Its waiters count as waiting for the writer: they will write soon,
    /// so a commit meanwhile leaves its group open for them instead of paying an fsync alone
    /// (with one hot actor, an fsync per transaction while the next one waited for it).
    async fn partition(&self, partition: &str) -> PartitionGuard {
        let _waiting = Waiting::new(&self.inner.waiting);
        self.inner.partitions.lock(partition).await
    }
}

/// Counts a session as waiting while it exists; dropped also when a wait is abandoned (the
/// request ended), so the count never leaks.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One guest connection: routes each statement to a reader or to the writer.
pub struct Session {
    db: Database,
    state: State,
}

enum State {
    Idle,
    InTransaction { id: u64, tx: Tx },
}

/// The partition of a confined transaction: its lock, and where it started reading.
struct Confined {
    lock: PartitionGuard,
    start: Option<Registered>,
    /// It will need the writer again before it ends: a commit meanwhile keeps its group open
    /// for it (within `max_delay`) rather than fsync alone and make it wait for that fsync.
    _in_flight: InFlight,
}

/// Counts a transaction as waiting for the writer while it exists.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Confined {
    fn partition(&self) -> &str {
        self.lock.partition()
    }

    /// What the writer checks before this transaction writes or ends.
    fn check(&self) -> Option<(&str, writer::Start)> {
        self.start.as_ref().map(|r| (self.partition(), r.start()))
    }
}

/// Where a transaction is (see the module docs).
enum Tx {
    /// `BEGIN` ran; no statement yet, nothing held.
    Pending,
    /// Only reads of one partition so far: holds its lock, and the writer lease only while
    /// each statement runs.
    Reading(Confined),
    /// Holds the writer lease with its savepoint open: it writes, or it is not confined.
    Writing {
        lease: Lease,
        confined: Option<Confined>,
        /// SQLite rolled the transaction back after a failed statement.
        rolled_back: bool,
    },
}

impl Session {
    /// Whether a transaction is open (between `BEGIN` and `COMMIT`/`ROLLBACK`).
    pub fn in_transaction(&self) -> bool {
        matches!(self.state, State::InTransaction { .. })
    }

    /// Runs one statement the way Spin's `connection.execute` does.
    pub async fn execute(
        &mut self,
        sql: String,
        params: Vec<Value>,
    ) -> Result<QueryResult, SqlError> {
        match (classify(&sql), self.in_transaction()) {
            (Control::Begin, false) => self.begin(),
            (Control::Begin, true) => Err(SqlError::NestedBegin),
            (Control::Commit, true) => self.commit().await,
            (Control::Commit, false) => Err(SqlError::NoTransaction("commit")),
            (Control::Rollback, true) => self.rollback(),
            (Control::Rollback, false) => Err(SqlError::NoTransaction("rollback")),
            (Control::Savepoint, true) => self.in_transaction_statement(sql, params, true).await,
            (Control::Other, true) => self.in_transaction_statement(sql, params, false).await,
            (Control::Savepoint, false) => Err(SqlError::SavepointOutsideTransaction),
            (Control::Other, false) => self.autocommit(sql, params).await,
        }
    }

    /// Takes nothing yet: the first statement decides between one partition's lock and the
    /// whole writer.
    fn begin(&mut self) -> Result<QueryResult, SqlError> {
        self.db.inner.writer.check_open()?;
        let id = self.db.inner.next_tx.fetch_add(1, Ordering::Relaxed);
        self.state = State::InTransaction {
            id,
            tx: Tx::Pending,
        };
        Ok(QueryResult::default())
    }

    async fn commit(&mut self) -> Result<QueryResult, SqlError> {
        let State::InTransaction { id, tx } = std::mem::replace(&mut self.state, State::Idle)
        else {
            return Err(SqlError::NoTransaction("commit"));
        };
        let durable = match tx {
            Tx::Pending => None,
            Tx::Reading(confined) => match confined.check() {
                None => None,
                Some((partition, start)) => {
                    let lease = self.db.lease().await;
                    let durable = self.db.inner.writer.finish_reads(partition, start)?;
                    // No longer in flight when the turn's end decides whether the group is due.
                    drop(confined);
                    self.db.inner.writer.end_turn(lease);
                    durable
                }
            },
            Tx::Writing {
                lease,
                rolled_back: true,
                ..
            } => {
                self.db.inner.writer.rollback(id, lease)?;
                return Err(SqlError::NoTransaction("commit"));
            }
            // The lease and the partition lock are released (or the lease handed to the
            // flusher) before the wait for durability, so the next transaction runs while this
            // one waits for its fsync.
            Tx::Writing {
                lease, confined, ..
            } => {
                // The partition first (safe: the lease, held until the savepoint is released,
                // keeps the next transaction of this actor out), so this one no longer counts as
                // in flight when the commit decides whether its group is due.
                drop(confined);
                self.db.inner.writer.commit(id, lease)?
            }
        };
        if let Some(durable) = durable {
            durable.await.unwrap_or(Err(SqlError::Closed))?;
        }
        Ok(QueryResult::default())
    }

    fn rollback(&mut self) -> Result<QueryResult, SqlError> {
        let State::InTransaction { id, tx } = std::mem::replace(&mut self.state, State::Idle)
        else {
            return Err(SqlError::NoTransaction("rollback"));
        };
        if let Tx::Writing { lease, .. } = tx {
            self.db.inner.writer.rollback(id, lease)?;
        }
        Ok(QueryResult::default())
    }

    async fn in_transaction_statement(
        &mut self,
        sql: String,
        params: Vec<Value>,
        savepoint: bool,
    ) -> Result<QueryResult, SqlError> {
        let writer = self.db.inner.writer.clone();
        let confined_to = if savepoint || !self.db.inner.actor_locks {
            None
        } else {
            partition::partition_of(&sql, &params)
        };
        loop {
            let State::InTransaction { id, tx } = &mut self.state else {
                return Err(SqlError::NoTransaction("run a statement in a transaction"));
            };
            let id = *id;
            // Every await below leaves `tx` whole: a request that ends while waiting just drops
            // what it holds.
            match tx {
                Tx::Pending => match confined_to {
                    Some(partition) => {
                        let lock = self.db.partition(partition).await;
                        *tx = Tx::Reading(Confined {
                            lock,
                            start: None,
                            _in_flight: InFlight::new(&self.db.inner.waiting),
                        });
                    }
                    None => {
                        let lease = self.db.lease().await;
                        writer.begin(id, true, None)?;
                        *tx = Tx::Writing {
                            lease,
                            confined: None,
                            rolled_back: false,
                        };
                    }
                },
                Tx::Reading(confined) if confined_to == Some(confined.partition()) => {
                    let lease = self.db.lease().await;
                    let Tx::Reading(confined) = tx else {
                        unreachable!("only this session changes its state")
                    };
                    if confined.start.is_none() {
                        confined.start = Some(writer.register());
                    }
                    match writer.read(&sql, &params, lease)? {
                        Read::Done(rows) => return Ok(rows),
                        Read::Writes(lease) => {
                            // The first write: open the savepoint, unless the partition changed
                            // under the reads (then the lease just goes back).
                            writer.begin(id, false, confined.check())?;
                            let Tx::Reading(confined) = std::mem::replace(tx, Tx::Pending) else {
                                unreachable!("matched above")
                            };
                            *tx = Tx::Writing {
                                lease,
                                confined: Some(confined),
                                rolled_back: false,
                            };
                        }
                    }
                }
                Tx::Reading(_) => {
                    // Another partition, or a statement that is not confined: the whole writer
                    // from here on.
                    let lease = self.db.lease().await;
                    let Tx::Reading(confined) = std::mem::replace(tx, Tx::Pending) else {
                        unreachable!("only this session changes its state")
                    };
                    if let Err(e) = writer.begin(id, false, confined.check()) {
                        *tx = Tx::Reading(confined);
                        return Err(e);
                    }
                    *tx = Tx::Writing {
                        lease,
                        confined: Some(confined),
                        rolled_back: false,
                    };
                }
                Tx::Writing {
                    rolled_back: true, ..
                } => {
                    return Err(SqlError::TransactionRolledBack(
                        "an earlier statement failed; ROLLBACK first".to_owned(),
                    ))
                }
                Tx::Writing {
                    confined,
                    rolled_back,
                    ..
                } => {
                    // Statements outside the transaction's partition are recorded for the
                    // conflict check of confined transactions.
                    let foreign = !savepoint
                        && confined
                            .as_ref()
                            .is_none_or(|c| confined_to != Some(c.partition()));
                    // Runs right here: this session holds the lease, so nobody else uses the
                    // writer.
                    let result = writer.execute(id, &sql, &params, foreign);
                    if matches!(result, Err(SqlError::TransactionRolledBack(_))) {
                        *rolled_back = true;
                    }
                    return result;
                }
            }
        }
    }

    async fn autocommit(
        &mut self,
        sql: String,
        params: Vec<Value>,
    ) -> Result<QueryResult, SqlError> {
        let (sql, params) = match self.db.inner.readers.execute(sql, params).await? {
            ReadOutcome::Done(result) => return Ok(result),
            ReadOutcome::NeedsWriter { sql, params } => (sql, params),
        };
        // A confined write waits for its partition's lock, so it cannot land between a confined
        // transaction's reads and its writes.
        let confined_to = partition::partition_of(&sql, &params);
        let lock = match confined_to {
            Some(partition) => Some(self.db.partition(partition).await),
            None => None,
        };
        let lease = self.db.lease().await;
        let (result, durable) =
            self.db
                .inner
                .writer
                .autocommit(&sql, &params, confined_to.is_none(), lease)?;
        drop(lock);
        if let Some(durable) = durable {
            durable.await.unwrap_or(Err(SqlError::Closed))?;
        }
        Ok(result)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let State::InTransaction {
            id,
            tx: Tx::Writing { lease, .. },
        } = std::mem::replace(&mut self.state, State::Idle)
        {
            // The instance ended (or trapped) mid-transaction: roll back, then give the lease
            // back, so the next session starts clean. If the writer is already closed there is
            // nothing left to roll back.
            let _ = self.db.inner.writer.rollback(id, lease);
        }
    }
}

#[cfg(test)]
mod tests;
