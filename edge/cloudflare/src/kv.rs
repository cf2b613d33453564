//! One actor's key-value storage inside its Durable Object, on the object's SQLite database.
//!
//! Table `kv(key, value, parts)` holds every key; a Durable Object's SQLite refuses values over
//! 2 MB, so a longer value (an attachment) keeps its first [`CHUNK`] bytes in `kv` and the rest
//! in numbered rows of `kv_part`. A commit runs inside `transactionSync`: its checks and writes
//! are one SQLite transaction, rolled back whole if any statement fails, and the object handles
//! nothing else until it returns.

use edgedesk_functions::ports::{Expect, Scan, StorageError, WriteBatch};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use worker::{SqlStorage, SqlStorageValue};

/// Bytes per stored row; below the 2 MB value limit of Durable Object SQLite.
pub const CHUNK: usize = 1 << 20;

/// Sorts after every key: keys are ASCII, and U+10FFFF's UTF-8 bytes exceed any ASCII byte.
const KEY_MAX: &str = "\u{10FFFF}";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    parts INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_part (
    key TEXT NOT NULL,
    part INTEGER NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (key, part)
) WITHOUT ROWID;";

fn unavailable(e: impl std::fmt::Display) -> StorageError {
    StorageError::Unavailable(e.to_string())
}

/// The object's table, created on first use.
#[derive(Clone)]
pub struct Kv {
    sql: SqlStorage,
}

impl Kv {
    pub fn open(sql: SqlStorage) -> Result<Kv, StorageError> {
        sql.exec(SCHEMA, None).map_err(unavailable)?;
        Ok(Kv { sql })
    }

    fn rows(
        &self,
        query: &str,
        params: Vec<SqlStorageValue>,
    ) -> Result<Vec<Vec<SqlStorageValue>>, StorageError> {
        let cursor = self.sql.exec(query, params).map_err(unavailable)?;
        cursor.raw().map(|r| r.map_err(unavailable)).collect()
    }

    /// Appends the overflow parts of `key` to `value`.
    fn complete(&self, key: &str, mut value: Vec<u8>, parts: i64) -> Result<Vec<u8>, StorageError> {
        if parts > 0 {
            for row in self.rows(
                "SELECT value FROM kv_part WHERE key = ? ORDER BY part",
                vec![key.into()],
            )? {
                value.extend(blob(row.into_iter().next())?);
            }
        }
        Ok(value)
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let Some(row) = self
            .rows(
                "SELECT value, parts FROM kv WHERE key = ?",
                vec![key.into()],
            )?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let mut cols = row.into_iter();
        let value = blob(cols.next())?;
        let parts = integer(cols.next());
        self.complete(key, value, parts).map(Some)
    }

    pub fn scan(&self, scan: &Scan) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let upper = format!("{}{KEY_MAX}", scan.prefix);
        let (bound, order) = if scan.reverse {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let mut params: Vec<SqlStorageValue> = vec![scan.prefix.as_str().into(), upper.into()];
        let mut query = String::from("SELECT key, value, parts FROM kv WHERE key >= ? AND key < ?");
        if let Some(after) = &scan.after {
            query.push_str(&format!(" AND key {bound} ?"));
            params.push(after.as_str().into());
        }
        query.push_str(&format!(" ORDER BY key {order} LIMIT ?"));
        params.push(SqlStorageValue::Integer(
            i64::try_from(scan.limit).unwrap_or(i64::MAX).min(1 << 40),
        ));
        self.rows(&query, params)?
            .into_iter()
            .map(|row| {
                let mut cols = row.into_iter();
                let key = match cols.next() {
                    Some(SqlStorageValue::String(k)) => k,
                    other => return Err(unavailable(format!("unexpected key column {other:?}"))),
                };
                let value = blob(cols.next())?;
                let parts = integer(cols.next());
                let value = self.complete(&key, value, parts)?;
                Ok((key, value))
            })
            .collect()
    }

    /// The greatest key under `prefix`, if any.
    fn newest_key(&self, prefix: &str) -> Result<Option<String>, StorageError> {
        let rows = self.rows(
            "SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key DESC LIMIT 1",
            vec![prefix.into(), format!("{prefix}{KEY_MAX}").into()],
        )?;
        Ok(rows
            .into_iter()
            .find_map(|row| match row.into_iter().next() {
                Some(SqlStorageValue::String(k)) => Some(k),
                _ => None,
            }))
    }

    fn apply(&self, batch: &WriteBatch) -> Result<(), StorageError> {
        for (key, expect) in &batch.checks {
            let current = self.get(key)?;
            let holds = match expect {
                Expect::Absent => current.is_none(),
                Expect::Equals(v) => current.as_deref() == Some(v.as_slice()),
            };
            if !holds {
                return Err(StorageError::Conflict);
            }
        }
        // The object runs nothing else inside `transactionSync`, so no other commit can take
        // the same numbers.
        let appended = batch.numbered_appends(|prefix| self.newest_key(prefix))?;
        let puts = batch
            .puts
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .chain(appended.iter().map(|(k, v)| (k.as_str(), *v)));
        for (key, value) in puts {
            self.sql
                .exec("DELETE FROM kv_part WHERE key = ?", vec![key.into()])
                .map_err(unavailable)?;
            let mut chunks = value.chunks(CHUNK);
            let first = chunks.next().unwrap_or_default();
            let rest: Vec<&[u8]> = chunks.collect();
            self.sql
                .exec(
                    "INSERT INTO kv (key, value, parts) VALUES (?, ?, ?) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, parts = excluded.parts",
                    vec![
                        key.into(),
                        SqlStorageValue::Blob(first.to_vec()),
                        SqlStorageValue::Integer(rest.len() as i64),
                    ],
                )
                .map_err(unavailable)?;
            for (i, part) in rest.into_iter().enumerate() {
                self.sql
                    .exec(
                        "INSERT INTO kv_part (key, part, value) VALUES (?, ?, ?)",
                        vec![
                            key.into(),
                            SqlStorageValue::Integer(i as i64 + 1),
                            SqlStorageValue::Blob(part.to_vec()),
                        ],
                    )
                    .map_err(unavailable)?;
            }
        }
        for key in &batch.deletes {
            for table in ["kv", "kv_part"] {
                self.sql
                    .exec(
                        &format!("DELETE FROM {table} WHERE key = ?"),
                        vec![key.as_str().into()],
                    )
                    .map_err(unavailable)?;
            }
        }
        Ok(())
    }

    /// Applies `batch` in one storage transaction: all of it, or (on a failed check or a
    /// failed statement) none of it.
    pub fn commit(
        &self,
        storage: &worker::Storage,
        batch: &WriteBatch,
    ) -> Result<(), StorageError> {
        let outcome = std::rc::Rc::new(std::cell::RefCell::new(Ok(())));
        let seen = outcome.clone();
        let kv = self.clone();
        let batch = batch.clone();
        let body = Closure::<dyn FnMut() -> Result<JsValue, JsValue>>::once(move || {
            match kv.apply(&batch) {
                Ok(()) => Ok(JsValue::UNDEFINED),
                Err(e) => {
                    *seen.borrow_mut() = Err(e);
                    // Throwing makes `transactionSync` roll back what the batch wrote so far.
                    Err(JsValue::from_str("batch refused"))
                }
            }
        });
        let raw: &JsValue = storage.as_raw().as_ref();
        let run = js_sys::Reflect::get(raw, &JsValue::from_str("transactionSync"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or_else(|| unavailable("this runtime has no transactionSync"))?;
        let result = run.call1(raw, body.as_ref().unchecked_ref());
        let recorded = outcome.replace(Ok(()));
        match (result, recorded) {
            (Ok(_), _) => Ok(()),
            (Err(_), Err(e)) => Err(e),
            (Err(e), Ok(())) => Err(unavailable(format!("{e:?}"))),
        }
    }
}

fn blob(v: Option<SqlStorageValue>) -> Result<Vec<u8>, StorageError> {
    match v {
        Some(SqlStorageValue::Blob(b)) => Ok(b),
        Some(SqlStorageValue::String(s)) => Ok(s.into_bytes()),
        Some(SqlStorageValue::Null) => Ok(Vec::new()),
        other => Err(unavailable(format!("unexpected value column {other:?}"))),
    }
}

fn integer(v: Option<SqlStorageValue>) -> i64 {
    match v {
        Some(SqlStorageValue::Integer(i)) => i,
        Some(SqlStorageValue::Float(f)) => f as i64,
        _ => 0,
    }
}
