//! The writer thread: owns the only writing connection and implements group commit.
//!
//! Commands arrive over a channel from the session holding the writer lease, so they are
//! processed strictly in order. The thread keeps an outer `BEGIN IMMEDIATE` transaction open
//! while guest transactions run as savepoints inside it; `COMMIT` of a guest transaction
//! releases its savepoint and queues a durability waiter in the current *group*. The group is
//! committed (one fsync) when nobody waits for the lease, when it is `max_delay` old, or when it
//! holds `max_batch` commits — and only ever between guest transactions, never with one open.
//! Every waiter of the group then learns the outcome together.
//!
//! Statements *inside* a guest transaction do not travel over the channel: the session holding
//! the lease runs them on the connection itself ([`WriterHandle::execute`]), under a mutex the
//! thread never holds then — after `BEGIN` the thread only waits for the next command, and it
//! commits a group only with no guest transaction open. A channel round trip per statement
//! (two thread wake-ups) cost more than the statement.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use rusqlite::functions::FunctionFlags;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use tokio::sync::{oneshot, OwnedMutexGuard};

use super::{
    configure, guest_authorizer, run_statement, Counters, GroupCommit, OpenError, QueryResult,
    SqlError, Value, HOST_SAVEPOINT,
};
use crate::changes::{ChangeFeed, ChangeKey};

/// Resolves when the group holding a commit is durable (or failed).
pub(super) type Durable = oneshot::Receiver<Result<(), SqlError>>;

type Reply<T> = oneshot::Sender<Result<T, SqlError>>;
type Lease = OwnedMutexGuard<()>;

/// Requests from sessions. Commands that end a writer turn carry the lease, so the writer
/// releases it exactly when it is done with the connection.
pub(super) enum Command {
    Begin {
        id: u64,
        reply: Reply<()>,
    },
    Commit {
        id: u64,
        lease: Lease,
        reply: Reply<Option<Durable>>,
    },
    Rollback {
        id: u64,
        lease: Lease,
        reply: Option<Reply<()>>,
    },
    /// A write statement outside a transaction: a transaction of its own.
    Autocommit {
        sql: String,
        params: Vec<Value>,
        lease: Lease,
        reply: Reply<(QueryResult, Option<Durable>)>,
    },
    Shutdown {
        reply: Reply<()>,
    },
}

#[derive(Clone)]
pub(super) struct WriterHandle {
    tx: mpsc::Sender<Command>,
    writer: Arc<Mutex<Writer>>,
}

impl WriterHandle {
    pub(super) fn send(&self, command: Command) -> Result<(), SqlError> {
        self.tx.send(command).map_err(|_| SqlError::Closed)
    }

    /// Runs a statement of the open guest transaction `id` on the calling thread. Only the
    /// session holding the lease calls this, between its `Begin` and its `Commit`/`Rollback`.
    pub(super) fn execute(
        &self,
        id: u64,
        sql: &str,
        params: &[Value],
    ) -> Result<QueryResult, SqlError> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if writer.closed {
            return Err(SqlError::Closed);
        }
        writer.execute(id, sql, params)
    }
}

/// Opens the writer connection and starts its thread.
pub(super) fn spawn(
    path: &Path,
    config: GroupCommit,
    waiting: Arc<AtomicUsize>,
    feed: ChangeFeed,
    counters: Arc<Counters>,
) -> Result<WriterHandle, OpenError> {
    let sqlite_err = |source| OpenError::Sqlite {
        path: path.display().to_string(),
        source,
    };
    let mut conn = Connection::open(path).map_err(sqlite_err)?;
    configure(&conn).map_err(sqlite_err)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
        .map_err(sqlite_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::NoWal {
            path: path.display().to_string(),
            mode,
        });
    }
    // FULL: in WAL mode every commit fsyncs the log before returning, which is what makes a
    // group's OK durable.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite_err)?;

    let host_mode = Arc::new(AtomicBool::new(false));
    let schema_changed = Arc::new(AtomicBool::new(false));
    let (check, ddl) = (host_mode.clone(), schema_changed.clone());
    conn.authorizer(Some(move |ctx: AuthContext<'_>| {
        if check.load(Ordering::Relaxed) {
            return Authorization::Allow;
        }
        if matches!(
            ctx.action,
            AuthAction::CreateTable { .. }
                | AuthAction::AlterTable { .. }
                | AuthAction::DropTable { .. }
        ) {
            // New tables need change triggers; see `install_change_triggers`.
            ddl.store(true, Ordering::Relaxed);
        }
        guest_authorizer(&ctx, true)
    }))
    .map_err(sqlite_err)?;

    let touched: Arc<Mutex<BTreeSet<ChangeKey>>> = Arc::default();
    let sink = touched.clone();
    conn.create_scalar_function(
        CHANGED_FN,
        2,
        FunctionFlags::SQLITE_UTF8,
        move |ctx: &rusqlite::functions::Context<'_>| {
            let table: String = ctx.get(0)?;
            if let Some(key) = partition_key(ctx.get_raw(1)) {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(ChangeKey::new(table, key));
            }
            Ok(rusqlite::types::Null)
        },
    )
    .map_err(sqlite_err)?;

    let (tx, rx) = mpsc::channel();
    let writer = Writer {
        closed: false,
        conn,
        host_mode,
        config,
        waiting,
        feed,
        counters,
        touched,
        schema_changed,
        outer: false,
        open: None,
        group: Group::default(),
    };
    writer
        .install_change_triggers()
        .map_err(|source| OpenError::Setup {
            path: path.display().to_string(),
            source,
        })?;
    let writer = Arc::new(Mutex::new(writer));
    let shared = writer.clone();
    std::thread::Builder::new()
        .name("sqlite-writer".to_owned())
        .spawn(move || Writer::run(&shared, rx))
        .map_err(OpenError::Thread)?;
    Ok(WriterHandle { tx, writer })
}

/// The SQL function the change triggers call: `edgedesk_changed(table, partition)`.
const CHANGED_FN: &str = "edgedesk_changed";
const TRIGGER_PREFIX: &str = "edgedesk_changes_";

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The partition a row belongs to: its first column, as text.
fn partition_key(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Blob(b) => Some(hex::encode(b)),
        ValueRef::Null => None,
    }
}

struct OpenTx {
    id: u64,
    /// A statement that may write ran: the commit must wait for durability.
    wrote: bool,
    /// SQLite rolled the outer transaction back under it.
    lost: bool,
}

#[derive(Default)]
struct Group {
    waiters: Vec<oneshot::Sender<Result<(), SqlError>>>,
    changes: BTreeSet<ChangeKey>,
    since: Option<Instant>,
}

struct Writer {
    /// The thread has shut down: no statement may run any more.
    closed: bool,
    conn: Connection,
    /// While set, the authorizer lets the host's own transaction control through.
    host_mode: Arc<AtomicBool>,
    config: GroupCommit,
    waiting: Arc<AtomicUsize>,
    feed: ChangeFeed,
    counters: Arc<Counters>,
    /// Keys the open guest transaction changed (filled by the change triggers).
    touched: Arc<Mutex<BTreeSet<ChangeKey>>>,
    /// A guest statement created, altered or dropped a table since the triggers were installed.
    schema_changed: Arc<AtomicBool>,
    /// The outer transaction is open.
    outer: bool,
    open: Option<OpenTx>,
    group: Group,
}

impl Writer {
    /// The thread: takes the writer only to handle a command or a group's deadline, never
    /// while waiting.
    fn run(shared: &Mutex<Writer>, rx: mpsc::Receiver<Command>) {
        let lock = || shared.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let deadline = {
                let w = lock();
                match (w.group.since, &w.open) {
                    // A group waits and no guest transaction is open: wait for more only until
                    // the group's deadline.
                    (Some(since), None) => Some(since + w.config.max_delay),
                    _ => None,
                }
            };
            let next = match deadline {
                Some(deadline) => {
                    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                        Ok(cmd) => Some(cmd),
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            // A failed flush has already told its waiters.
                            let _ = lock().flush();
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => None,
                    }
                }
                None => rx.recv().ok(),
            };
            let mut w = lock();
            match next {
                Some(Command::Shutdown { reply }) => {
                    w.abandon_open();
                    let result = w.flush();
                    w.closed = true;
                    let _ = reply.send(result);
                    return;
                }
                Some(cmd) => w.handle(cmd),
                None => {
                    // Every handle is gone: commit what waits and close.
                    w.abandon_open();
                    let _ = w.flush();
                    w.closed = true;
                    return;
                }
            }
        }
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Begin { id, reply } => {
                let _ = reply.send(self.begin(id));
            }
            Command::Commit { id, lease, reply } => {
                let result = self.commit(id);
                drop(lease);
                let _ = reply.send(result);
            }
            Command::Rollback { id, lease, reply } => {
                let result = self.rollback(id);
                drop(lease);
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
            Command::Autocommit {
                sql,
                params,
                lease,
                reply,
            } => {
                let result = self.autocommit(&sql, &params);
                drop(lease);
                let _ = reply.send(result);
            }
            Command::Shutdown { reply } => {
                // Handled in `run`; kept total for the match.
                let _ = reply.send(Err(SqlError::Closed));
            }
        }
    }

    /// Runs the host's own statements (transaction control), bypassing the guest authorizer.
    fn host(&self, sql: &str) -> Result<(), SqlError> {
        self.host_mode.store(true, Ordering::Relaxed);
        let result = self.conn.execute_batch(sql);
        self.host_mode.store(false, Ordering::Relaxed);
        result.map_err(|e| SqlError::from_sqlite(&e))
    }

    fn begin(&mut self, id: u64) -> Result<(), SqlError> {
        if self.open.is_some() {
            // The lease makes this impossible; refusing keeps another session's work intact.
            return Err(SqlError::Sqlite(
                "the writer already runs another transaction".to_owned(),
            ));
        }
        if !self.outer {
            self.host("BEGIN IMMEDIATE")?;
            self.outer = true;
        }
        if let Err(e) = self.host(&format!("SAVEPOINT {HOST_SAVEPOINT}")) {
            self.end_outer_if_idle();
            return Err(e);
        }
        self.touched_keys().clear();
        self.open = Some(OpenTx {
            id,
            wrote: false,
            lost: false,
        });
        Ok(())
    }

    fn execute(&mut self, id: u64, sql: &str, params: &[Value]) -> Result<QueryResult, SqlError> {
        match &self.open {
            Some(open) if open.id == id && open.lost => {
                return Err(SqlError::TransactionRolledBack(
                    "an earlier statement failed; ROLLBACK first".to_owned(),
                ))
            }
            Some(open) if open.id == id => {}
            _ => return Err(SqlError::NoTransaction("run a statement in a transaction")),
        }
        let mut wrote = false;
        let result = self.conn.prepare_cached(sql).and_then(|mut stmt| {
            wrote = !stmt.readonly();
            run_statement(&mut stmt, params)
        });
        if let Some(open) = self.open.as_mut() {
            open.wrote |= wrote;
        }
        if self.schema_changed.swap(false, Ordering::Relaxed) {
            if let Err(e) = self.install_change_triggers() {
                crate::log::event("change_triggers_failed", &[("error", e.to_string().into())]);
            }
        }
        match result {
            Ok(rows) => Ok(rows),
            Err(e) if self.conn.is_autocommit() => {
                // The error took the outer transaction with it (e.g. ON CONFLICT ROLLBACK, an
                // I/O error): this guest's work and every undurable commit of the group are gone.
                let message = e.to_string();
                self.outer = false;
                if let Some(open) = self.open.as_mut() {
                    open.lost = true;
                }
                self.touched_keys().clear();
                self.fail_group(&SqlError::CommitFailed(message.clone()));
                Err(SqlError::TransactionRolledBack(message))
            }
            Err(e) => Err(SqlError::from_sqlite(&e)),
        }
    }

    fn commit(&mut self, id: u64) -> Result<Option<Durable>, SqlError> {
        let Some(open) = self.open.take_if(|o| o.id == id) else {
            return Err(SqlError::NoTransaction("commit"));
        };
        if open.lost {
            return Err(SqlError::NoTransaction("commit"));
        }
        if let Err(e) = self.host(&format!("RELEASE {HOST_SAVEPOINT}")) {
            self.undo_savepoint();
            return Err(e);
        }
        let changes = std::mem::take(&mut *self.touched_keys());
        if !open.wrote && self.group.waiters.is_empty() {
            // Read-only, and it read nothing undurable: nothing to wait for.
            self.end_outer_if_idle();
            return Ok(None);
        }
        // A read-only transaction inside a pending group still waits: it may have read the
        // group's writes, and must not answer before they are durable.
        self.group.changes.extend(changes);
        let (tx, rx) = oneshot::channel();
        self.group.waiters.push(tx);
        let since = *self.group.since.get_or_insert_with(Instant::now);
        if self.group.waiters.len() >= self.config.max_batch
            || self.waiting.load(Ordering::SeqCst) == 0
            || since.elapsed() >= self.config.max_delay
        {
            let _ = self.flush();
        }
        Ok(Some(rx))
    }

    fn rollback(&mut self, id: u64) -> Result<(), SqlError> {
        let Some(open) = self.open.take_if(|o| o.id == id) else {
            // Nothing of this transaction is open (its BEGIN failed, or it was already ended).
            return Ok(());
        };
        self.touched_keys().clear();
        if !open.lost {
            self.undo_savepoint();
        }
        self.end_outer_if_idle();
        Ok(())
    }

    fn autocommit(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<(QueryResult, Option<Durable>), SqlError> {
        // Transaction ids from sessions start at 1.
        const AUTOCOMMIT: u64 = 0;
        self.begin(AUTOCOMMIT)?;
        match self.execute(AUTOCOMMIT, sql, params) {
            Ok(rows) => Ok((rows, self.commit(AUTOCOMMIT)?)),
            Err(e) => {
                let _ = self.rollback(AUTOCOMMIT);
                Err(e)
            }
        }
    }

    /// Discards the open guest savepoint, keeping the rest of the group.
    fn undo_savepoint(&mut self) {
        let undone = self.host(&format!(
            "ROLLBACK TO {HOST_SAVEPOINT}; RELEASE {HOST_SAVEPOINT}"
        ));
        if undone.is_err() && self.conn.is_autocommit() {
            self.outer = false;
            self.fail_group(&SqlError::CommitFailed(
                "the transaction was rolled back by SQLite".to_owned(),
            ));
        }
    }

    /// Ends an outer transaction with nothing in it, so the file is unlocked while idle.
    fn end_outer_if_idle(&mut self) {
        if self.outer && self.open.is_none() && self.group.waiters.is_empty() {
            let _ = self.host("ROLLBACK");
            self.outer = !self.conn.is_autocommit();
        }
    }

    /// Rolls back a guest transaction still open when the writer stops.
    fn abandon_open(&mut self) {
        if let Some(open) = self.open.take() {
            if !open.lost {
                self.undo_savepoint();
            }
        }
    }

    /// Commits the outer transaction: one fsync for the whole group.
    fn flush(&mut self) -> Result<(), SqlError> {
        if !self.outer {
            return Ok(());
        }
        let result = self.host("COMMIT");
        if let Err(e) = &result {
            if !self.conn.is_autocommit() {
                let _ = self.host("ROLLBACK");
            }
            self.outer = false;
            self.fail_group(&SqlError::CommitFailed(e.to_string()));
            return result;
        }
        self.outer = false;
        let group = std::mem::take(&mut self.group);
        if !group.waiters.is_empty() {
            self.counters.groups.fetch_add(1, Ordering::Relaxed);
            self.counters
                .durable_commits
                .fetch_add(group.waiters.len() as u64, Ordering::Relaxed);
        }
        for waiter in group.waiters {
            let _ = waiter.send(Ok(()));
        }
        self.feed.publish(group.changes);
        Ok(())
    }

    fn fail_group(&mut self, error: &SqlError) {
        let group = std::mem::take(&mut self.group);
        for waiter in group.waiters {
            let _ = waiter.send(Err(error.clone()));
        }
    }

    /// Makes every user table report its changed partitions: temporary (connection-local)
    /// triggers call [`CHANGED_FN`] with the table name and the row's first column, old and new.
    /// Idempotent; run at start and after a guest changes the schema. Temporary triggers live
    /// only in this connection, so the file stays exactly what the guest made.
    fn install_change_triggers(&self) -> Result<(), SqlError> {
        self.host_mode.store(true, Ordering::Relaxed);
        let result = self.install_change_triggers_inner();
        self.host_mode.store(false, Ordering::Relaxed);
        result.map_err(|e| SqlError::from_sqlite(&e))
    }

    fn install_change_triggers_inner(&self) -> rusqlite::Result<()> {
        let tables: Vec<String> = self
            .conn
            .prepare(
                "SELECT name FROM main.sqlite_schema \
                 WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            )?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for table in tables {
            let first: Option<String> = self
                .conn
                .prepare(&format!("PRAGMA main.table_info({})", quote_ident(&table)))?
                .query_map([], |row| row.get::<_, String>(1))?
                .next()
                .transpose()?;
            let Some(column) = first else { continue };
            let (t, c, lit) = (
                quote_ident(&table),
                quote_ident(&column),
                quote_literal(&table),
            );
            let name = |kind: &str| quote_ident(&format!("{TRIGGER_PREFIX}{kind}_{table}"));
            self.conn.execute_batch(&format!(
                "CREATE TEMP TRIGGER IF NOT EXISTS {ins} AFTER INSERT ON main.{t} \
                   BEGIN SELECT {CHANGED_FN}({lit}, NEW.{c}); END;
                 CREATE TEMP TRIGGER IF NOT EXISTS {upd} AFTER UPDATE ON main.{t} \
                   BEGIN SELECT {CHANGED_FN}({lit}, OLD.{c}), {CHANGED_FN}({lit}, NEW.{c}); END;
                 CREATE TEMP TRIGGER IF NOT EXISTS {del} AFTER DELETE ON main.{t} \
                   BEGIN SELECT {CHANGED_FN}({lit}, OLD.{c}); END;",
                ins = name("ins"),
                upd = name("upd"),
                del = name("del"),
            ))?;
        }
        Ok(())
    }

    fn touched_keys(&self) -> std::sync::MutexGuard<'_, BTreeSet<ChangeKey>> {
        self.touched.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
