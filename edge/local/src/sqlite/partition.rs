//! Which storage partition a statement is confined to, when the host can tell for certain.
//!
//! EdgeDesk keeps everything in one table, `kv(actor, key, value)`, and every statement its
//! storage adapter (`edge/spin`) runs names one actor: `… FROM kv WHERE actor = ? AND key …`,
//! `INSERT INTO kv (actor, key, value) VALUES (?, ?, ?), …`, `DELETE FROM kv WHERE actor = ? …`.
//! A transaction whose statements all stay in one actor only needs that actor's lock, not the
//! whole database, so transactions of unrelated actors (tenants, conversations) run side by side
//! (see the parent module).
//!
//! The check is deliberately narrow: a statement counts only if, after `actor = ?` (or in each
//! inserted row), every token comes from a short list that cannot widen the rows it reaches —
//! no `OR`, no sub-select, no literal, no other table or column. Anything else is "not confined"
//! and runs the way it always did, holding the whole writer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedMutexGuard;

use super::Value;

/// One FIFO-fair async lock per partition, created on first use and dropped when nobody holds
/// or waits for it.
#[derive(Default)]
pub(super) struct PartitionLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// A held partition lock; dropping it releases the lock.
pub(super) struct PartitionGuard {
    partition: String,
    guard: Option<OwnedMutexGuard<()>>,
    locks: Arc<PartitionLocks>,
}

impl PartitionLocks {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
        self.locks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) async fn lock(self: &Arc<Self>, partition: &str) -> PartitionGuard {
        let lock = self
            .table()
            .entry(partition.to_owned())
            .or_default()
            .clone();
        let guard = lock.lock_owned().await;
        PartitionGuard {
            partition: partition.to_owned(),
            guard: Some(guard),
            locks: self.clone(),
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.table().len()
    }
}

impl PartitionGuard {
    pub(super) fn partition(&self) -> &str {
        &self.partition
    }
}

impl Drop for PartitionGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut table = self.locks.table();
        // Every holder and waiter keeps a clone; the table's own is the last one left.
        if table
            .get(&self.partition)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            table.remove(&self.partition);
        }
    }
}

/// The one table whose first column partitions the data.
pub(super) const TABLE: &str = "kv";

/// Tokens allowed after `WHERE actor = ?` (besides integers): conditions on `key` joined by
/// `AND`, ordering and a limit — none of them can reach another actor's rows.
const CONDITION_TOKENS: &[&str] = &[
    "and", "key", "=", "<", ">", "<=", ">=", "?", "in", "(", ")", ",", "order", "by", "asc",
    "desc", "limit",
];

/// Columns a confined `SELECT` may return.
const SELECT_TOKENS: &[&str] = &["key", "value", "actor", ","];

/// The upsert tail the adapter writes after its rows.
const UPSERT_TAIL: &[&str] = &[
    "on",
    "conflict",
    "(",
    "actor",
    ",",
    "key",
    ")",
    "do",
    "update",
    "set",
    "value",
    "=",
    "excluded.value",
];

/// Splits into lower-case tokens; `None` for anything with quotes, comments, literals of any
/// kind or several statements, which the check never needs to understand.
fn tokens(sql: &str) -> Option<Vec<String>> {
    if sql.chars().any(|c| {
        matches!(
            c,
            '\'' | '"' | '`' | '[' | ';' | '/' | '-' | '|' | '@' | ':' | '$'
        )
    }) {
        return None;
    }
    let mut out = Vec::new();
    let mut word = String::new();
    for c in sql.chars() {
        if c.is_whitespace() || matches!(c, '(' | ')' | ',') {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        } else {
            word.push(c.to_ascii_lowercase());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    Some(out)
}

/// The actor every row a statement can read or write belongs to, or `None` when the statement
/// is not one of the confined shapes (then it needs the whole writer).
pub(super) fn partition_of<'p>(sql: &str, params: &'p [Value]) -> Option<&'p str> {
    let t = tokens(sql)?;
    let t: Vec<&str> = t.iter().map(String::as_str).collect();
    let Some(Value::Text(actor)) = params.first() else {
        return None;
    };
    let confined_where = |rest: &[&str]| {
        matches!(rest, ["where", "actor", "=", "?", tail @ ..]
            if tail.first().is_none_or(|first| *first == "and")
                && tail.iter().all(|tok| CONDITION_TOKENS.contains(tok) || is_number(tok)))
    };
    let confined = match t.as_slice() {
        ["select", rest @ ..] => {
            let from = rest.iter().position(|tok| *tok == "from")?;
            let (columns, after) = rest.split_at(from);
            !columns.is_empty()
                && columns.iter().all(|tok| SELECT_TOKENS.contains(tok))
                && after.get(1) == Some(&TABLE)
                && confined_where(&after[2..])
        }
        ["delete", "from", table, rest @ ..] => *table == TABLE && confined_where(rest),
        ["insert", "into", table, "(", "actor", ",", "key", ",", "value", ")", "values", rest @ ..] => {
            *table == TABLE && insert_rows(rest, params, actor)
        }
        _ => false,
    };
    confined.then_some(actor.as_str())
}

/// An integer literal (`LIMIT 1`).
fn is_number(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit())
}

/// `(?, ?, ?)` rows, comma-separated, optionally followed by the upsert tail; every row's
/// `actor` parameter must be `actor`.
fn insert_rows(mut rest: &[&str], params: &[Value], actor: &str) -> bool {
    let mut rows = 0;
    loop {
        match rest {
            ["(", "?", ",", "?", ",", "?", ")", more @ ..] => {
                rows += 1;
                rest = match more {
                    [",", next @ ..] => next,
                    other => {
                        rest = other;
                        break;
                    }
                };
            }
            _ => return false,
        }
    }
    if !(rest.is_empty() || rest == UPSERT_TAIL) || params.len() != rows * 3 {
        return false;
    }
    params
        .chunks(3)
        .all(|row| matches!(&row[0], Value::Text(a) if a == actor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    #[test]
    fn the_adapters_statements_are_confined_to_their_actor() {
        let key = [text("t:a"), text("k")];
        for sql in [
            "SELECT value FROM kv WHERE actor = ? AND key = ?",
            "SELECT key, value FROM kv WHERE actor = ? AND key IN (?)",
            "DELETE FROM kv WHERE actor = ? AND key IN (?)",
            "SELECT key FROM kv WHERE actor = ? AND key >= ? AND key < ? \
             ORDER BY key DESC LIMIT 1",
        ] {
            assert_eq!(partition_of(sql, &key), Some("t:a"), "{sql}");
        }
        let scan = [
            text("t:a"),
            text("p"),
            text("p~"),
            text("p5"),
            Value::Integer(9),
        ];
        assert_eq!(
            partition_of(
                "SELECT key, value FROM kv WHERE actor = ? AND key >= ? AND key < ? \
                 AND key > ? ORDER BY key DESC LIMIT ?",
                &scan
            ),
            Some("t:a")
        );
        let rows = [
            text("t:a"),
            text("k1"),
            Value::Blob(vec![1]),
            text("t:a"),
            text("k2"),
            Value::Blob(vec![2]),
        ];
        assert_eq!(
            partition_of(
                "INSERT INTO kv (actor, key, value) VALUES (?, ?, ?), (?, ?, ?) \
                 ON CONFLICT (actor, key) DO UPDATE SET value = excluded.value",
                &rows
            ),
            Some("t:a")
        );
    }

    #[test]
    fn statements_that_could_reach_another_actor_are_not_confined() {
        let key = [text("t:a"), text("k")];
        for sql in [
            "SELECT value FROM kv WHERE actor = ? OR key = ?",
            "SELECT value FROM kv WHERE key = ? AND actor = ?",
            "SELECT value FROM kv WHERE actor = ? AND key = (SELECT max(key) FROM kv)",
            "SELECT value FROM kv WHERE actor = ? AND key = 'x'",
            "SELECT value FROM other WHERE actor = ? AND key = ?",
            "SELECT count(*) FROM kv WHERE actor = ?",
            "SELECT value FROM kv WHERE actor = ?; DELETE FROM kv",
            "UPDATE kv SET value = ? WHERE actor = ?",
            "DELETE FROM kv WHERE actor = ? AND value = ?",
            "SELECT value FROM kv WHERE actor = ? -- AND key = ?",
        ] {
            assert_eq!(partition_of(sql, &key), None, "{sql}");
        }
        assert_eq!(
            partition_of("SELECT value FROM kv WHERE actor = ?", &[Value::Integer(1)]),
            None,
            "the partition is a text value"
        );
        let two_actors = [
            text("t:a"),
            text("k1"),
            Value::Blob(vec![1]),
            text("t:b"),
            text("k2"),
            Value::Blob(vec![2]),
        ];
        assert_eq!(
            partition_of(
                "INSERT INTO kv (actor, key, value) VALUES (?, ?, ?), (?, ?, ?)",
                &two_actors
            ),
            None
        );
    }
}
