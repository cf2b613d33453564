//! The pool of reader connections: statements outside a transaction that SQLite reports as
//! read-only run here, concurrently, each on the task that asked.
//!
//! A read runs right on the calling async worker rather than being handed to a blocking
//! thread: WAL readers never wait for the writer, the file is memory-mapped, and a point read
//! or a page of a scan is a few microseconds of CPU, like the guest code that asked for it
//! (which runs on that worker too). Handing it to another thread and back cost more than the
//! read itself (two thread wake-ups per statement, a quarter of the host's CPU on a `GET`).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use super::classify::{create_if_not_exists, SchemaKind};
use super::{configure, guest_authorizer, run_statement, OpenError, QueryResult, SqlError, Value};

pub(super) struct ReaderPool {
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection, so a task only takes a connection when one is idle, and
    /// waits without blocking a thread otherwise.
    permits: Arc<Semaphore>,
}

/// A reader either answers, or hands the statement back because it would write.
pub(super) enum ReadOutcome {
    Done(QueryResult),
    NeedsWriter { sql: String, params: Vec<Value> },
}

impl ReaderPool {
    pub(super) fn open(path: &Path, count: usize) -> Result<ReaderPool, OpenError> {
        let mut idle = Vec::with_capacity(count);
        for _ in 0..count {
            idle.push(open_reader(path).map_err(|source| OpenError::Sqlite {
                path: path.display().to_string(),
                source,
            })?);
        }
        Ok(ReaderPool {
            idle: Mutex::new(idle),
            permits: Arc::new(Semaphore::new(count)),
        })
    }

    pub(super) async fn execute(
        self: &Arc<Self>,
        sql: String,
        params: Vec<Value>,
    ) -> Result<ReadOutcome, SqlError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| SqlError::Closed)?;
        let conn = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .ok_or(SqlError::Closed)?;
        let outcome = read(&conn, sql, params);
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        drop(permit);
        outcome
    }

    /// Refuses new reads and closes idle connections (busy ones close when they come back and
    /// the pool is dropped).
    pub(super) fn close(&self) {
        self.permits.close();
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

fn read(conn: &Connection, sql: String, params: Vec<Value>) -> Result<ReadOutcome, SqlError> {
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(|e| SqlError::from_sqlite(&e))?;
    if !stmt.readonly() {
        drop(stmt);
        if let Some((kind, name)) = create_if_not_exists(&sql) {
            if exists(conn, kind, &name).map_err(|e| SqlError::from_sqlite(&e))? {
                // What SQLite would do: nothing, with an empty result.
                return Ok(ReadOutcome::Done(QueryResult::default()));
            }
        }
        return Ok(ReadOutcome::NeedsWriter { sql, params });
    }
    run_statement(&mut stmt, &params)
        .map(ReadOutcome::Done)
        .map_err(|e| SqlError::from_sqlite(&e))
}

/// Whether the committed schema has the object (names compare case-insensitively, as in SQLite).
fn exists(conn: &Connection, kind: SchemaKind, name: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT 1 FROM main.sqlite_schema WHERE type = ?1 AND name = ?2 COLLATE NOCASE",
    )?
    .exists([kind.as_str(), name])
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    // Belt and braces: the host only sends read-only statements here, but a reader must never
    // write outside the writer's transaction.
    conn.pragma_update(None, "query_only", true)?;
    conn.authorizer(Some(|ctx: rusqlite::hooks::AuthContext<'_>| {
        guest_authorizer(&ctx, false)
    }))?;
    Ok(conn)
}
