//! The embedded, persistent SQLite store behind the guest's `fermyon:spin/sqlite` imports.
//!
//! One database file, in WAL mode with `synchronous=FULL`, served by:
//! - a pool of **reader** connections (`query_only`), used for every statement a guest runs
//!   outside a transaction that SQLite reports as read-only; WAL lets them run concurrently and
//!   they only ever see committed, durable data;
//! - one **writer** connection owned by a dedicated thread ([`writer`]). A guest's `BEGIN` takes
//!   the writer *lease* — a FIFO-fair `tokio::sync::Mutex`, so waiting costs no thread and no
//!   SQLite busy-polling — and every statement of that [`Session`] goes to the writer until
//!   `COMMIT`/`END`/`ROLLBACK`. A write statement outside a transaction runs on the writer as a
//!   transaction of its own.
//!
//! **Group commit.** The writer keeps one outer SQLite transaction open; each guest transaction
//! is a savepoint inside it, released into it on `COMMIT`. The guest's `COMMIT` returns only
//! after the outer transaction containing it has been committed and fsynced, so an OK is never
//! given for data a crash could lose — but one fsync covers every transaction that committed
//! while the previous one was in flight. The outer transaction is committed as soon as nobody
//! waits for the writer, or when the oldest waiting commit is [`GroupCommit::max_delay`] old, or
//! when [`GroupCommit::max_batch`] commits wait. `GroupCommit::off()` makes every guest `COMMIT`
//! its own fsync (for measuring the difference).
//!
//! If the guest instance ends (returns, traps, times out) while its transaction is open, dropping
//! its [`Session`] rolls the transaction back and releases the writer.
//!
//! Writes never run on the async runtime: the writer is its own thread, since a commit waits
//! for an fsync. Reads run on the task that asks (see [`readers`]): on the memory-mapped WAL
//! database they are short CPU work, cheaper than a hand-off to another thread.

mod classify;
mod readers;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

use crate::changes::ChangeFeed;
pub use classify::{classify, Control};
use readers::{ReadOutcome, ReaderPool};
use writer::{Command, WriterHandle};

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
    /// The database was shut down (the host is stopping) or its writer thread is gone.
    #[error("the database is closed")]
    Closed,
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
    #[error("cannot start the SQLite writer thread: {0}")]
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
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig {
            readers: 4,
            group_commit: GroupCommit::default(),
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
    lease: Arc<Mutex<()>>,
    /// Sessions queued for the lease; the writer commits its group when nobody is.
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
                lease: Arc::new(Mutex::new(())),
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
        let (reply, rx) = oneshot::channel();
        self.inner.writer.send(Command::Shutdown { reply })?;
        let result = rx.await.unwrap_or(Err(SqlError::Closed));
        self.inner.readers.close();
        result
    }

    async fn lease(&self) -> OwnedMutexGuard<()> {
        self.inner.waiting.fetch_add(1, Ordering::SeqCst);
        let guard = self.inner.lease.clone().lock_owned().await;
        self.inner.waiting.fetch_sub(1, Ordering::SeqCst);
        guard
    }
}

/// One guest connection: routes each statement to a reader or to the writer.
pub struct Session {
    db: Database,
    state: State,
}

enum State {
    Idle,
    /// Holds the writer lease from `BEGIN` until `COMMIT`/`ROLLBACK` (or drop).
    InTransaction {
        id: u64,
        lease: OwnedMutexGuard<()>,
        /// SQLite rolled the transaction back after a failed statement.
        rolled_back: bool,
    },
}

impl Session {
    /// Whether a transaction is open (the session holds the writer).
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
            (Control::Begin, false) => self.begin().await,
            (Control::Begin, true) => Err(SqlError::NestedBegin),
            (Control::Commit, true) => self.commit().await,
            (Control::Commit, false) => Err(SqlError::NoTransaction("commit")),
            (Control::Rollback, true) => self.rollback().await,
            (Control::Rollback, false) => Err(SqlError::NoTransaction("rollback")),
            (Control::Savepoint | Control::Other, true) => {
                self.in_transaction_statement(sql, params).await
            }
            (Control::Savepoint, false) => Err(SqlError::SavepointOutsideTransaction),
            (Control::Other, false) => self.autocommit(sql, params).await,
        }
    }

    async fn begin(&mut self) -> Result<QueryResult, SqlError> {
        let lease = self.db.lease().await;
        let id = self.db.inner.next_tx.fetch_add(1, Ordering::Relaxed);
        // Recorded before the writer is asked, so that if this future is dropped halfway the
        // session's drop still rolls back whatever the writer opened.
        self.state = State::InTransaction {
            id,
            lease,
            rolled_back: false,
        };
        let (reply, rx) = oneshot::channel();
        let result = match self.db.inner.writer.send(Command::Begin { id, reply }) {
            Ok(()) => rx.await.unwrap_or(Err(SqlError::Closed)),
            Err(e) => Err(e),
        };
        if result.is_err() {
            // The writer opened nothing: just give the lease back.
            self.state = State::Idle;
        }
        result.map(|()| QueryResult::default())
    }

    async fn commit(&mut self) -> Result<QueryResult, SqlError> {
        let State::InTransaction {
            id,
            lease,
            rolled_back,
        } = std::mem::replace(&mut self.state, State::Idle)
        else {
            return Err(SqlError::NoTransaction("commit"));
        };
        if rolled_back {
            self.db.inner.writer.send(Command::Rollback {
                id,
                lease,
                reply: None,
            })?;
            return Err(SqlError::NoTransaction("commit"));
        }
        let (reply, rx) = oneshot::channel();
        // The lease goes with the command: the writer hands it on as soon as the savepoint is
        // released, so the next transaction runs while this one waits for its fsync.
        self.db
            .inner
            .writer
            .send(Command::Commit { id, lease, reply })?;
        let durable = rx.await.unwrap_or(Err(SqlError::Closed))?;
        if let Some(durable) = durable {
            durable.await.unwrap_or(Err(SqlError::Closed))?;
        }
        Ok(QueryResult::default())
    }

    async fn rollback(&mut self) -> Result<QueryResult, SqlError> {
        let State::InTransaction { id, lease, .. } =
            std::mem::replace(&mut self.state, State::Idle)
        else {
            return Err(SqlError::NoTransaction("rollback"));
        };
        let (reply, rx) = oneshot::channel();
        self.db.inner.writer.send(Command::Rollback {
            id,
            lease,
            reply: Some(reply),
        })?;
        rx.await.unwrap_or(Err(SqlError::Closed))?;
        Ok(QueryResult::default())
    }

    async fn in_transaction_statement(
        &mut self,
        sql: String,
        params: Vec<Value>,
    ) -> Result<QueryResult, SqlError> {
        let State::InTransaction {
            id, rolled_back, ..
        } = &mut self.state
        else {
            return Err(SqlError::NoTransaction("run a statement in a transaction"));
        };
        if *rolled_back {
            return Err(SqlError::TransactionRolledBack(
                "an earlier statement failed; ROLLBACK first".to_owned(),
            ));
        }
        // Runs right here: this session holds the lease, so nobody else uses the writer.
        let result = self.db.inner.writer.execute(*id, &sql, &params);
        if matches!(result, Err(SqlError::TransactionRolledBack(_))) {
            *rolled_back = true;
        }
        result
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
        let lease = self.db.lease().await;
        let (reply, rx) = oneshot::channel();
        self.db.inner.writer.send(Command::Autocommit {
            sql,
            params,
            lease,
            reply,
        })?;
        let (result, durable) = rx.await.unwrap_or(Err(SqlError::Closed))?;
        if let Some(durable) = durable {
            durable.await.unwrap_or(Err(SqlError::Closed))?;
        }
        Ok(result)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let State::InTransaction { id, lease, .. } =
            std::mem::replace(&mut self.state, State::Idle)
        {
            // The instance ended (or trapped) mid-transaction. The writer rolls back, then
            // drops the lease, so the next session starts clean. If the writer is already gone
            // there is nothing left to roll back.
            let _ = self.db.inner.writer.send(Command::Rollback {
                id,
                lease,
                reply: None,
            });
        }
    }
}

#[cfg(test)]
mod tests;
