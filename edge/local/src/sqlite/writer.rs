//! The writer: owns the only writing connection and implements group commit.
//!
//! A session that holds the writer *lease* (see the parent module) runs its whole transaction
//! on its own task: `BEGIN`, its statements and `COMMIT` are calls on the connection
//! ([`WriterHandle::begin`], [`WriterHandle::execute`], [`WriterHandle::commit`]), made under a
//! mutex that nobody else takes while the lease is held. The writer keeps an outer
//! `BEGIN IMMEDIATE` transaction open while guest transactions run as savepoints inside it;
//! `COMMIT` of a guest transaction releases its savepoint and queues a durability waiter in the
//! current *group*.
//!
//! Only the fsync leaves the session's task: the group is committed by the **flusher** thread,
//! so a runtime thread never sleeps in `fsync` while it could run other requests. Whoever ends a
//! writer turn (commit, rollback, autocommit; not a single read) checks whether the group is
//! due — nobody waits for the writer (for the lease, for an actor's lock, or as a confined
//! transaction in flight), the oldest commit waited `max_delay`, or `max_batch` commits wait —
//! and if so hands its lease to the flusher instead of releasing it, so the group is committed
//! between guest transactions, never with one open. A group that is not due arms the flusher's
//! timer; at the deadline it commits the group if the lease is free and no confined transaction
//! is in flight (or the group is [`OVERDUE`] times late); otherwise the next turn's end sees the
//! deadline. Every waiter of the group then learns the outcome together.
//!
//! Before, `BEGIN` and `COMMIT` were commands to a writer thread and the session waited for its
//! reply: two thread wake-ups per transaction, and — worse — between the reply and the session's
//! next poll the lease was held by a task waiting in the runtime's queue behind other requests'
//! guest work. Now a transaction holds the lease only while it runs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use rusqlite::functions::FunctionFlags;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use tokio::sync::{oneshot, OwnedMutexGuard};

use super::{
    configure, guest_authorizer, partition, run_statement, Counters, GroupCommit, OpenError,
    QueryResult, SqlError, Value, HOST_SAVEPOINT,
};
use crate::changes::{ChangeFeed, ChangeKey};

/// The flusher's timer leaves a group to the transactions in flight until it is this many
/// `max_delay`s old.
const OVERDUE: u32 = 10;

/// Resolves when the group holding a commit is durable (or failed).
pub(super) type Durable = oneshot::Receiver<Result<(), SqlError>>;

pub(super) type Lease = OwnedMutexGuard<()>;

/// Messages to the flusher thread.
enum Signal {
    /// Commit the group now; the lease comes along and is released after the fsync.
    Flush { lease: Lease },
    /// A group started and is not due yet: wake up at its deadline.
    Arm,
    Shutdown {
        reply: oneshot::Sender<Result<(), SqlError>>,
    },
}

#[derive(Clone)]
pub(super) struct WriterHandle {
    flusher: mpsc::Sender<Signal>,
    writer: Arc<Mutex<Writer>>,
    lease: Arc<tokio::sync::Mutex<()>>,
    conflicts: Arc<Mutex<Conflicts>>,
}

/// Where a confined transaction started reading, for its conflict check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Start {
    seq: u64,
    generation: u64,
}

/// What a confined transaction (one that holds only its partition's lock while it reads) must
/// check before it writes or commits: whether a transaction *not* confined to that partition
/// wrote it since, or the group it read from was lost. EdgeDesk's adapter never writes that way,
/// so in practice this never fires; it keeps a mix of confined and unconfined writers
/// serialisable. Kept apart from the writer so that ending a transaction never waits for an
/// fsync in progress.
#[derive(Default)]
struct Conflicts {
    /// Guest commits that wrote, so far.
    seq: u64,
    /// Bumped whenever SQLite rolled back the outer transaction (undurable commits vanished).
    generation: u64,
    /// Partitions written by unconfined transactions, with the `seq` of that commit.
    foreign: HashMap<ChangeKey, u64>,
    /// Starts of confined transactions still open (`seq` → how many).
    open: BTreeMap<u64, usize>,
}

impl Conflicts {
    fn conflicted(&self, partition: &str, start: Start) -> bool {
        start.generation != self.generation
            || self
                .foreign
                .get(&ChangeKey::new(partition::TABLE, partition))
                .is_some_and(|&seq| seq > start.seq)
    }

    /// Forgets foreign writes no open confined transaction can conflict with.
    fn prune(&mut self) {
        match self.open.keys().next().copied() {
            Some(oldest) => self.foreign.retain(|_, seq| *seq > oldest),
            None => self.foreign.clear(),
        }
    }
}

/// The registration of an open confined transaction's start; dropping it ends the registration.
pub(super) struct Registered {
    start: Start,
    conflicts: Arc<Mutex<Conflicts>>,
}

impl Registered {
    pub(super) fn start(&self) -> Start {
        self.start
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut c = self
            .conflicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = c.open.get_mut(&self.start.seq) {
            *n -= 1;
            if *n == 0 {
                c.open.remove(&self.start.seq);
            }
        }
        if c.foreign.len() > 1024 {
            c.prune();
        }
    }
}

/// The answer to a statement a confined transaction runs before it writes.
pub(super) enum Read {
    Done(QueryResult),
    /// The statement writes: the transaction must open its savepoint (it keeps the lease).
    Writes(Lease),
}

impl WriterHandle {
    /// The writer, for a session holding the lease (or the flusher, which holds it too).
    fn lock(&self) -> Result<MutexGuard<'_, Writer>, SqlError> {
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if writer.closed {
            return Err(SqlError::Closed);
        }
        Ok(writer)
    }

    pub(super) fn lease(&self) -> Arc<tokio::sync::Mutex<()>> {
        self.lease.clone()
    }

    /// Fails once the writer is closed (before a transaction starts, as `BEGIN` did).
    pub(super) fn check_open(&self) -> Result<(), SqlError> {
        self.lock().map(drop)
    }

    /// Opens guest transaction `id`. `foreign`: it is not confined to one partition.
    /// `confined`: the partition and start of a confined transaction that read before this,
    /// checked for conflicts first.
    pub(super) fn begin(
        &self,
        id: u64,
        foreign: bool,
        confined: Option<(&str, Start)>,
    ) -> Result<(), SqlError> {
        let mut writer = self.lock()?;
        if let Some((partition, start)) = confined {
            if self.conflicts().conflicted(partition, start) {
                return Err(SqlError::Conflict);
            }
        }
        writer.begin(id, foreign)
    }

    fn conflicts(&self) -> MutexGuard<'_, Conflicts> {
        self.conflicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers the start of a confined transaction; call with the lease held.
    pub(super) fn register(&self) -> Registered {
        let mut c = self.conflicts();
        let start = Start {
            seq: c.seq,
            generation: c.generation,
        };
        *c.open.entry(start.seq).or_default() += 1;
        Registered {
            start,
            conflicts: self.conflicts.clone(),
        }
    }

    /// Runs a statement of a confined transaction that has not written yet, on the writer's
    /// connection (which sees the group's undurable commits), if it only reads. With the lease.
    pub(super) fn read(&self, sql: &str, params: &[Value], lease: Lease) -> Result<Read, SqlError> {
        // A read gives the lease straight back and never starts a flush: the group is committed
        // at the end of a commit's turn (or by the flusher's timer), not in the middle of a
        // transaction that will need the writer again in a moment.
        match self.lock().and_then(|mut w| w.read(sql, params))? {
            Some(rows) => Ok(Read::Done(rows)),
            None => Ok(Read::Writes(lease)),
        }
    }

    /// Ends a confined transaction that only read: it fails if its partition changed under it,
    /// and waits for the pending group if there is one (it may have read from it).
    /// With the lease held; the caller then ends its turn.
    pub(super) fn finish_reads(
        &self,
        partition: &str,
        start: Start,
    ) -> Result<Option<Durable>, SqlError> {
        self.lock().and_then(|mut w| {
            if self.conflicts().conflicted(partition, start) {
                return Err(SqlError::Conflict);
            }
            Ok(w.wait_for_group())
        })
    }

    /// Runs a statement of the open guest transaction `id` on the calling thread. Only the
    /// session holding the lease calls this, between its `begin` and its `commit`/`rollback`.
    pub(super) fn execute(
        &self,
        id: u64,
        sql: &str,
        params: &[Value],
        foreign: bool,
    ) -> Result<QueryResult, SqlError> {
        self.lock()?.execute(id, sql, params, foreign)
    }

    /// Ends the writer turn with a commit; the caller waits on the answer for durability.
    pub(super) fn commit(&self, id: u64, lease: Lease) -> Result<Option<Durable>, SqlError> {
        let result = self.lock().and_then(|mut w| w.commit(id));
        self.end_turn(lease);
        result
    }

    pub(super) fn rollback(&self, id: u64, lease: Lease) -> Result<(), SqlError> {
        let result = self.lock().and_then(|mut w| w.rollback(id));
        self.end_turn(lease);
        result
    }

    /// A write statement outside a transaction: a transaction of its own.
    pub(super) fn autocommit(
        &self,
        sql: &str,
        params: &[Value],
        foreign: bool,
        lease: Lease,
    ) -> Result<(QueryResult, Option<Durable>), SqlError> {
        let result = self
            .lock()
            .and_then(|mut w| w.autocommit(sql, params, foreign));
        self.end_turn(lease);
        result
    }

    /// Gives the lease back, or to the flusher when the group is due.
    pub(super) fn end_turn(&self, lease: Lease) {
        let (due, arm) = self
            .lock()
            .map(|mut w| {
                let due = w.flush_due();
                // The flusher sleeps without a deadline while no group waits: tell it once
                // per group, so the group is committed by its deadline if no turn ends then.
                let arm = !due && w.group.since.is_some() && !std::mem::replace(&mut w.armed, true);
                (due, arm)
            })
            .unwrap_or((false, false));
        if due {
            // If the flusher is gone (shutdown) dropping the message releases the lease.
            let _ = self.flusher.send(Signal::Flush { lease });
        } else if arm {
            let _ = self.flusher.send(Signal::Arm);
        }
    }

    /// Commits the pending group and closes the writer; later statements get `Closed`.
    pub(super) async fn shutdown(&self) -> Result<(), SqlError> {
        let (reply, rx) = oneshot::channel();
        self.flusher
            .send(Signal::Shutdown { reply })
            .map_err(|_| SqlError::Closed)?;
        rx.await.unwrap_or(Err(SqlError::Closed))
    }
}

/// Opens the writer connection and starts the flusher thread.
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
    let conflicts = Arc::new(Mutex::new(Conflicts::default()));
    let writer = Writer {
        conflicts: conflicts.clone(),
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
        armed: false,
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
    let lease = Arc::new(tokio::sync::Mutex::new(()));
    let (shared, shared_lease, shared_conflicts) =
        (writer.clone(), lease.clone(), conflicts.clone());
    std::thread::Builder::new()
        .name("sqlite-flusher".to_owned())
        .spawn(move || Writer::flusher(&shared, &shared_lease, &shared_conflicts, rx))
        .map_err(OpenError::Thread)?;
    Ok(WriterHandle {
        flusher: tx,
        writer,
        lease,
        conflicts,
    })
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
    /// It ran a statement not confined to its partition (or has none): the partitions it
    /// writes are recorded for the conflict check of confined transactions.
    foreign: bool,
}

#[derive(Default)]
struct Group {
    waiters: Vec<oneshot::Sender<Result<(), SqlError>>>,
    changes: BTreeSet<ChangeKey>,
    since: Option<Instant>,
}

struct Writer {
    conflicts: Arc<Mutex<Conflicts>>,
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
    /// The flusher has been told about the pending group.
    armed: bool,
    open: Option<OpenTx>,
    group: Group,
}

impl Writer {
    /// The flusher thread: commits groups handed to it with the lease, and groups whose
    /// deadline passed while the lease was free.
    fn flusher(
        shared: &Mutex<Writer>,
        lease: &Arc<tokio::sync::Mutex<()>>,
        conflicts: &Mutex<Conflicts>,
        rx: mpsc::Receiver<Signal>,
    ) {
        let lock = || shared.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let deadline = {
                let w = lock();
                w.group.since.map(|since| since + w.config.max_delay)
            };
            let next = match deadline {
                Some(deadline) => {
                    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                        Ok(signal) => Some(signal),
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            let flushed = match lease.clone().try_lock_owned() {
                                Ok(guard) => {
                                    let mut w = lock();
                                    let may = Self::timer_may_flush(&w, conflicts);
                                    if may {
                                        // A failed flush has already told its waiters.
                                        let _ = w.flush();
                                    }
                                    drop(w);
                                    drop(guard);
                                    may
                                }
                                Err(_) => false,
                            };
                            if !flushed {
                                // A turn's end sees the deadline and hands the group over;
                                // meanwhile wait for that (or look again later), not in a spin.
                                let wait = lock().config.max_delay;
                                if let Ok(signal) = rx.recv_timeout(wait) {
                                    Self::signal(shared, signal);
                                }
                            }
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => None,
                    }
                }
                None => rx.recv().ok(),
            };
            match next {
                Some(Signal::Shutdown { reply }) => {
                    let mut w = lock();
                    w.abandon_open();
                    let result = w.flush();
                    w.closed = true;
                    let _ = reply.send(result);
                    return;
                }
                Some(signal) => Self::signal(shared, signal),
                None => {
                    // Every handle is gone: commit what waits and close.
                    let mut w = lock();
                    w.abandon_open();
                    let _ = w.flush();
                    w.closed = true;
                    return;
                }
            }
        }
    }

    fn signal(shared: &Mutex<Writer>, signal: Signal) {
        let lock = || shared.lock().unwrap_or_else(PoisonError::into_inner);
        match signal {
            Signal::Flush { lease } => {
                let _ = lock().flush();
                drop(lease);
            }
            // The loop computes the new deadline.
            Signal::Arm => {}
            Signal::Shutdown { reply } => {
                let mut w = lock();
                w.abandon_open();
                let result = w.flush();
                w.closed = true;
                let _ = reply.send(result);
            }
        }
    }

    /// Whether the timer may commit the overdue group now that the lease is free. Not while a
    /// confined transaction is between its reads and its commit — it would wait for the fsync
    /// in the middle of its work, and with one hot actor every transaction then did — unless
    /// the group is long overdue (a transaction may compute for a long time).
    fn timer_may_flush(w: &Writer, conflicts: &Mutex<Conflicts>) -> bool {
        let idle = conflicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .open
            .is_empty();
        idle || w
            .group
            .since
            .is_some_and(|since| since.elapsed() >= w.config.max_delay * OVERDUE)
    }

    /// Whether the group should be committed now, at the end of a writer turn.
    fn flush_due(&self) -> bool {
        match self.group.since {
            Some(since) => {
                self.open.is_none()
                    && (self.group.waiters.len() >= self.config.max_batch
                        || self.waiting.load(Ordering::SeqCst) == 0
                        || since.elapsed() >= self.config.max_delay)
            }
            None => false,
        }
    }

    /// Runs the host's own statements (transaction control), bypassing the guest authorizer.
    fn host(&self, sql: &str) -> Result<(), SqlError> {
        self.host_mode.store(true, Ordering::Relaxed);
        let result = self.conn.execute_batch(sql);
        self.host_mode.store(false, Ordering::Relaxed);
        result.map_err(|e| SqlError::from_sqlite(&e))
    }

    fn begin(&mut self, id: u64, foreign: bool) -> Result<(), SqlError> {
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
            foreign,
        });
        Ok(())
    }

    fn execute(
        &mut self,
        id: u64,
        sql: &str,
        params: &[Value],
        foreign: bool,
    ) -> Result<QueryResult, SqlError> {
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
            open.foreign |= foreign;
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
        if open.wrote {
            let mut c = self
                .conflicts
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            c.seq += 1;
            if open.foreign {
                let seq = c.seq;
                c.foreign
                    .extend(changes.iter().map(|key| (key.clone(), seq)));
                c.prune();
            }
        }
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
        self.group.since.get_or_insert_with(Instant::now);
        // The group is committed by the flusher when this turn ends (see `flush_due`).
        Ok(Some(rx))
    }

    /// Runs `sql` outside any guest savepoint if it only reads; `None` if it would write.
    fn read(&mut self, sql: &str, params: &[Value]) -> Result<Option<QueryResult>, SqlError> {
        if self.open.is_some() {
            // The lease makes this impossible.
            return Err(SqlError::Sqlite(
                "the writer already runs another transaction".to_owned(),
            ));
        }
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| SqlError::from_sqlite(&e))?;
        if !stmt.readonly() {
            return Ok(None);
        }
        run_statement(&mut stmt, params)
            .map(Some)
            .map_err(|e| SqlError::from_sqlite(&e))
    }

    /// A durability waiter in the pending group, if there is one.
    fn wait_for_group(&mut self) -> Option<Durable> {
        self.group.since?;
        let (tx, rx) = oneshot::channel();
        self.group.waiters.push(tx);
        Some(rx)
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
        foreign: bool,
    ) -> Result<(QueryResult, Option<Durable>), SqlError> {
        // Transaction ids from sessions start at 1.
        const AUTOCOMMIT: u64 = 0;
        self.begin(AUTOCOMMIT, foreign)?;
        match self.execute(AUTOCOMMIT, sql, params, foreign) {
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
        self.armed = false;
        if !group.waiters.is_empty() {
            self.counters.groups.fetch_add(1, Ordering::Relaxed);
            self.counters
                .durable_commits
                .fetch_add(group.waiters.len() as u64, Ordering::Relaxed);
        }
        // Published before the writers hear back, so a watcher has its wake-up by the time the
        // commit's OK is out.
        self.feed.publish(group.changes);
        for waiter in group.waiters {
            let _ = waiter.send(Ok(()));
        }
        Ok(())
    }

    fn fail_group(&mut self, error: &SqlError) {
        self.armed = false;
        // Whatever confined transactions read from the lost commits is gone too.
        self.conflicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .generation += 1;
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
