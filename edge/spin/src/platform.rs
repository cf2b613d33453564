//! The functions' ports on Spin: storage on the `default` SQLite database, configuration in
//! Spin variables, time and randomness from WASI.
//!
//! Storage layout: one table `kv(actor, key, value)`, keyed by `(actor, key)` without a rowid,
//! so a scan of one actor's prefix is a range read of the primary key. A batch commit is one
//! `BEGIN IMMEDIATE … COMMIT` transaction: its checks are read under the write lock, so they
//! cannot change before the writes land. A locked transaction (see `Storage::lock`) opens
//! that `BEGIN IMMEDIATE` before its reads instead, and its commit ends it.

use edgedesk_functions::ports::{
    Alarms, Clock, Config, Entropy, Expect, OutboundError, OutboundHttp, OutboundRequest, Scan,
    Storage, StorageError, WriteBatch,
};
use std::collections::HashMap;

use spin_sdk::sqlite::{Connection, Value};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv (
    actor TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (actor, key)
) WITHOUT ROWID";

/// Sorts after every key: keys are ASCII, and U+10FFFF's UTF-8 bytes exceed any ASCII byte.
const KEY_MAX: &str = "\u{10FFFF}";

/// Opens the database on first use, so routes that touch no storage (health, OpenAPI) pay
/// nothing for it.
#[derive(Default)]
pub struct SpinPlatform {
    db: std::cell::OnceCell<Connection>,
    /// The actor whose write lock this instance holds: an open `BEGIN IMMEDIATE`.
    locked: std::cell::RefCell<Option<String>>,
}

fn unavailable(e: impl std::fmt::Debug) -> StorageError {
    StorageError::Unavailable(format!("{e:?}"))
}

impl SpinPlatform {
    fn db(&self) -> Result<&Connection, StorageError> {
        if let Some(db) = self.db.get() {
            return Ok(db);
        }
        let db = Connection::open_default().map_err(unavailable)?;
        db.execute(SCHEMA, &[]).map_err(unavailable)?;
        Ok(self.db.get_or_init(|| db))
    }

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    /// The greatest key of `actor` under `prefix`, if any.
    fn newest_key(
        db: &Connection,
        actor: &str,
        prefix: &str,
    ) -> Result<Option<String>, StorageError> {
        let rows = db
            .execute(
                "SELECT key FROM kv WHERE actor = ? AND key >= ? AND key < ? \
                 ORDER BY key DESC LIMIT 1",
                &[
                    Self::text(actor),
                    Self::text(prefix),
                    Self::text(&format!("{prefix}{KEY_MAX}")),
                ],
            )
            .map_err(unavailable)?;
        Ok(rows
            .rows
            .into_iter()
            .find_map(|r| match r.values.into_iter().next() {
                Some(Value::Text(k)) => Some(k),
                _ => None,
            }))
    }

    /// Applies a batch inside the open transaction with as few statements as possible: one
    /// read for all checks, one upsert for all puts, one delete for all deletes (each split
    /// into statements of [`ROWS_PER_STATEMENT`] rows). Every statement is a call into the
    /// host, which on the local host means a round trip to its writer thread, so a ticket's
    /// dozen keys cost three calls instead of a dozen.
    fn apply(&self, db: &Connection, actor: &str, batch: &WriteBatch) -> Result<(), StorageError> {
        if !batch.checks.is_empty() {
            let mut current: HashMap<String, Vec<u8>> = HashMap::new();
            for chunk in batch.checks.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "SELECT key, value FROM kv WHERE actor = ? AND key IN ({})",
                    placeholders(chunk.len(), "?")
                );
                let mut params = Vec::with_capacity(chunk.len() + 1);
                params.push(Self::text(actor));
                params.extend(chunk.iter().map(|(key, _)| Self::text(key)));
                let rows = db.execute(&sql, &params).map_err(unavailable)?;
                for row in rows.rows {
                    let mut values = row.values.into_iter();
                    if let (Some(Value::Text(k)), Some(Value::Blob(v))) =
                        (values.next(), values.next())
                    {
                        current.insert(k, v);
                    }
                }
            }
            for (key, expect) in &batch.checks {
                let now = current.get(key).map(Vec::as_slice);
                let holds = match expect {
                    Expect::Absent => now.is_none(),
                    Expect::Equals(v) => now == Some(v.as_slice()),
                };
                if !holds {
                    return Err(StorageError::Conflict);
                }
            }
        }
        // Read under the write lock, so no other commit can take the same numbers.
        let appended = batch.numbered_appends(|prefix| Self::newest_key(db, actor, prefix))?;
        let puts: Vec<(&str, &[u8])> = batch
            .puts
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .chain(appended.iter().map(|(k, v)| (k.as_str(), *v)))
            .collect();
        for chunk in puts.chunks(ROWS_PER_STATEMENT) {
            // Rows apply in order, so a key put twice ends with its last value, as before.
            let sql = format!(
                "INSERT INTO kv (actor, key, value) VALUES {} \
                 ON CONFLICT (actor, key) DO UPDATE SET value = excluded.value",
                placeholders(chunk.len(), "(?, ?, ?)")
            );
            let mut params = Vec::with_capacity(chunk.len() * 3);
            for (key, value) in chunk {
                params.push(Self::text(actor));
                params.push(Self::text(key));
                params.push(Value::Blob(value.to_vec()));
            }
            db.execute(&sql, &params).map_err(unavailable)?;
        }
        for chunk in batch.deletes.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "DELETE FROM kv WHERE actor = ? AND key IN ({})",
                placeholders(chunk.len(), "?")
            );
            let mut params = Vec::with_capacity(chunk.len() + 1);
            params.push(Self::text(actor));
            params.extend(chunk.iter().map(|key| Self::text(key)));
            db.execute(&sql, &params).map_err(unavailable)?;
        }
        Ok(())
    }
}

/// Rows per multi-row statement: 600 parameters at most, far below SQLite's limit (32,766).
const ROWS_PER_STATEMENT: usize = 200;

/// `n` copies of `row`, comma-separated.
fn placeholders(n: usize, row: &str) -> String {
    vec![row; n].join(", ")
}

impl Storage for SpinPlatform {
    async fn get(&self, actor: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let rows = self
            .db()?
            .execute(
                "SELECT value FROM kv WHERE actor = ? AND key = ?",
                &[Self::text(actor), Self::text(key)],
            )
            .map_err(unavailable)?;
        Ok(rows
            .rows
            .into_iter()
            .next()
            .and_then(|r| match r.values.into_iter().next() {
                Some(Value::Blob(b)) => Some(b),
                _ => None,
            }))
    }

    async fn scan(&self, actor: &str, scan: &Scan) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let upper = format!("{}{KEY_MAX}", scan.prefix);
        let (bound, order) = if scan.reverse {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let mut params = vec![
            Self::text(actor),
            Self::text(&scan.prefix),
            Self::text(&upper),
        ];
        let mut sql =
            String::from("SELECT key, value FROM kv WHERE actor = ? AND key >= ? AND key < ?");
        if let Some(after) = &scan.after {
            sql.push_str(&format!(" AND key {bound} ?"));
            params.push(Self::text(after));
        }
        sql.push_str(&format!(" ORDER BY key {order} LIMIT ?"));
        params.push(Value::Integer(
            i64::try_from(scan.limit).unwrap_or(i64::MAX),
        ));
        let rows = self.db()?.execute(&sql, &params).map_err(unavailable)?;
        Ok(rows
            .rows
            .into_iter()
            .filter_map(|r| {
                let mut values = r.values.into_iter();
                match (values.next(), values.next()) {
                    (Some(Value::Text(k)), Some(Value::Blob(v))) => Some((k, v)),
                    _ => None,
                }
            })
            .collect())
    }

    async fn commit(&self, actor: &str, batch: WriteBatch) -> Result<(), StorageError> {
        let db = self.db()?;
        let held = self.locked.borrow_mut().take();
        match held {
            Some(held) if held == actor => {}
            Some(held) => {
                // SQLite cannot nest the two transactions, and committing into the held one
                // would make this write's fate depend on another actor's.
                let _ = db.execute("ROLLBACK", &[]);
                return Err(StorageError::Unavailable(format!(
                    "commit to {actor} while the lock of {held} is held"
                )));
            }
            None => {
                db.execute("BEGIN IMMEDIATE", &[]).map_err(unavailable)?;
            }
        }
        match self.apply(db, actor, &batch) {
            Ok(()) => match db.execute("COMMIT", &[]) {
                Ok(_) => Ok(()),
                Err(e) => {
                    let _ = db.execute("ROLLBACK", &[]);
                    Err(unavailable(e))
                }
            },
            Err(e) => {
                // Nothing of a refused batch may survive.
                let _ = db.execute("ROLLBACK", &[]);
                Err(e)
            }
        }
    }

    async fn lock(&self, actor: &str) -> Result<bool, StorageError> {
        if self.locked.borrow().is_some() {
            return Ok(false);
        }
        self.db()?
            .execute("BEGIN IMMEDIATE", &[])
            .map_err(unavailable)?;
        *self.locked.borrow_mut() = Some(actor.to_owned());
        Ok(true)
    }

    async fn release(&self, actor: &str) {
        let mut held = self.locked.borrow_mut();
        if held.as_deref() == Some(actor) {
            *held = None;
            if let Ok(db) = self.db() {
                let _ = db.execute("ROLLBACK", &[]);
            }
        }
    }
}

impl Clock for SpinPlatform {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }

    async fn sleep_ms(&self, ms: u64) {
        // A fresh instance serves one request, so blocking it on WASI's clock is the wait itself;
        // the host suspends the instance without holding a thread.
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

impl Entropy for SpinPlatform {
    fn fill(&self, buf: &mut [u8]) {
        // WASI random is the host's CSPRNG; without it no id or secret can be minted safely.
        getrandom::fill(buf).expect("the host provides wasi:random");
    }
}

impl Config for SpinPlatform {
    fn var(&self, name: &str) -> Option<String> {
        spin_sdk::variables::get(name).ok()
    }
}

impl Alarms for SpinPlatform {
    async fn set_alarm(&self, _at: chrono::DateTime<chrono::Utc>) -> Result<(), StorageError> {
        // Spin has no alarms: the local host sweeps every second, and a Spin deployment runs
        // `POST /v1/system/sweep` from a scheduler. The due entry is already stored.
        Ok(())
    }
}

impl OutboundHttp for SpinPlatform {
    async fn send(&self, request: OutboundRequest) -> Result<u16, OutboundError> {
        self.fetch(request).await.map(|(status, _)| status)
    }

    async fn fetch(&self, request: OutboundRequest) -> Result<(u16, Vec<u8>), OutboundError> {
        let mut builder = http::Request::builder()
            .method(request.method)
            .uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let outgoing = builder
            .body(request.body)
            .map_err(|e| OutboundError::Failed(e.to_string()))?;
        match spin_sdk::http::send::<_, http::Response<Vec<u8>>>(outgoing).await {
            Ok(response) => Ok((response.status().as_u16(), response.into_body())),
            // Spin (and the local host) refuse hosts missing from `allowed_outbound_hosts`.
            Err(spin_sdk::http::SendError::Http(spin_sdk::http::ErrorCode::HttpRequestDenied)) => {
                Err(OutboundError::Denied(request.url))
            }
            Err(e) => Err(OutboundError::Failed(e.to_string())),
        }
    }
}
