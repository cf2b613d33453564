//! Host-level tests of the SQLite semantics the guest relies on.

use std::time::Duration;

use super::*;

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

async fn exec(s: &mut Session, sql: &str, params: Vec<Value>) -> Result<QueryResult, SqlError> {
    s.execute(sql.to_owned(), params).await
}

async fn ok(s: &mut Session, sql: &str) -> QueryResult {
    exec(s, sql, vec![])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn count(s: &mut Session, table: &str) -> i64 {
    let r = ok(s, &format!("SELECT count(*) FROM {table}")).await;
    match r.rows.first().and_then(|row| row.first()) {
        Some(Value::Integer(n)) => *n,
        other => panic!("count returned {other:?}"),
    }
}

fn open_at(dir: &tempfile::TempDir, group_commit: GroupCommit) -> Database {
    Database::open(
        &dir.path().join("default.db"),
        &DbConfig {
            readers: 2,
            group_commit,
            actor_locks: true,
        },
    )
    .expect("the database opens")
}

async fn with_kv(group_commit: GroupCommit) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = open_at(&dir, group_commit);
    let mut s = db.session();
    ok(
        &mut s,
        "CREATE TABLE IF NOT EXISTS kv (actor TEXT NOT NULL, key TEXT NOT NULL, value BLOB, \
         PRIMARY KEY (actor, key)) WITHOUT ROWID",
    )
    .await;
    (dir, db)
}

async fn put(s: &mut Session, actor: &str, key: &str) -> Result<QueryResult, SqlError> {
    exec(
        s,
        "INSERT INTO kv (actor, key, value) VALUES (?, ?, x'01')",
        vec![text(actor), text(key)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_outside_a_transaction_see_only_committed_data() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let mut writer = db.session();
    let mut reader = db.session();
    ok(&mut writer, "BEGIN IMMEDIATE").await;
    assert!(writer.in_transaction());
    put(&mut writer, "t:a", "k1").await.unwrap();
    // The writer sees its own write; a reader outside the transaction does not.
    assert_eq!(count(&mut writer, "kv").await, 1);
    assert_eq!(count(&mut reader, "kv").await, 0);
    ok(&mut writer, "COMMIT").await;
    assert!(!writer.in_transaction());
    assert_eq!(count(&mut reader, "kv").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_dropped_mid_transaction_rolls_back_and_frees_the_writer() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let mut doomed = db.session();
    ok(&mut doomed, "BEGIN").await;
    put(&mut doomed, "t:a", "lost").await.unwrap();
    drop(doomed);
    let mut next = db.session();
    // Would wait forever if the lease had leaked.
    tokio::time::timeout(Duration::from_secs(5), ok(&mut next, "BEGIN"))
        .await
        .expect("the writer is free again");
    assert_eq!(count(&mut next, "kv").await, 0);
    put(&mut next, "t:a", "kept").await.unwrap();
    ok(&mut next, "COMMIT").await;
    assert_eq!(count(&mut db.session(), "kv").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_discards_only_its_own_transaction() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let mut s = db.session();
    put(&mut s, "t:a", "before").await.unwrap();
    ok(&mut s, "BEGIN").await;
    put(&mut s, "t:a", "undone").await.unwrap();
    ok(&mut s, "ROLLBACK").await;
    assert!(!s.in_transaction());
    assert_eq!(count(&mut s, "kv").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_read_modify_write_transactions_serialise() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let mut s = db.session();
    ok(
        &mut s,
        "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
    )
    .await;
    ok(&mut s, "INSERT INTO counter VALUES (1, 0)").await;
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut s = db.session();
                ok(&mut s, "BEGIN IMMEDIATE").await;
                let r = ok(&mut s, "SELECT n FROM counter WHERE id = 1").await;
                let Some(Value::Integer(n)) = r.rows[0].first().cloned() else {
                    panic!("no counter")
                };
                // Give another task every chance to interleave, if it could.
                tokio::task::yield_now().await;
                exec(
                    &mut s,
                    "UPDATE counter SET n = ? WHERE id = 1",
                    vec![Value::Integer(n + 1)],
                )
                .await
                .unwrap();
                ok(&mut s, "COMMIT").await;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let r = ok(&mut s, "SELECT n FROM counter").await;
    assert_eq!(r.rows, vec![vec![Value::Integer(64)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_group_commits_are_on_disk_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_at(&dir, GroupCommit::default());
    let mut s = db.session();
    ok(
        &mut s,
        "CREATE TABLE kv (actor TEXT, key TEXT, value BLOB, PRIMARY KEY (actor, key))",
    )
    .await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut s = db.session();
                ok(&mut s, "BEGIN").await;
                put(&mut s, &format!("t:{}", i % 7), &format!("k{i}"))
                    .await
                    .unwrap();
                ok(&mut s, "COMMIT").await;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stats = db.stats();
    assert_eq!(stats.durable_commits, 201);
    assert!(
        stats.groups < stats.durable_commits,
        "concurrent commits should share fsyncs: {stats:?}"
    );

    // A crash right now: copy the files as they are on disk, with the writer still running.
    let crashed = tempfile::tempdir().unwrap();
    for name in ["default.db", "default.db-wal"] {
        std::fs::copy(dir.path().join(name), crashed.path().join(name)).unwrap();
    }
    let after_crash = open_at(&crashed, GroupCommit::default());
    assert_eq!(count(&mut after_crash.session(), "kv").await, 200);
    after_crash.shutdown().await.unwrap();

    db.shutdown().await.unwrap();
    let reopened = open_at(&dir, GroupCommit::default());
    assert_eq!(count(&mut reopened.session(), "kv").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_group_commit_every_transaction_is_its_own_fsync() {
    let (_dir, db) = with_kv(GroupCommit::off()).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut s = db.session();
                ok(&mut s, "BEGIN").await;
                put(&mut s, "t:a", &format!("k{i}")).await.unwrap();
                ok(&mut s, "COMMIT").await;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stats = db.stats();
    assert_eq!(stats.groups, stats.durable_commits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_outside_a_transaction_is_durable_before_it_returns() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let before = db.stats().durable_commits;
    put(&mut db.session(), "t:a", "k").await.unwrap();
    assert_eq!(db.stats().durable_commits, before + 1);
    assert_eq!(count(&mut db.session(), "kv").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_an_existing_table_again_stays_on_a_reader() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let before = db.stats().durable_commits;
    let mut s = db.session();
    ok(
        &mut s,
        "CREATE TABLE IF NOT EXISTS kv (actor TEXT NOT NULL, key TEXT NOT NULL, value BLOB, \
         PRIMARY KEY (actor, key)) WITHOUT ROWID",
    )
    .await;
    assert_eq!(db.stats().durable_commits, before, "no writer round trip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_statement_keeps_the_transaction_open() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let mut s = db.session();
    put(&mut s, "t:a", "dup").await.unwrap();
    ok(&mut s, "BEGIN").await;
    let err = put(&mut s, "t:a", "dup").await.unwrap_err();
    assert!(
        matches!(err, SqlError::Sqlite(ref m) if m.contains("UNIQUE")),
        "{err}"
    );
    put(&mut s, "t:a", "other").await.unwrap();
    ok(&mut s, "COMMIT").await;
    assert_eq!(count(&mut s, "kv").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_that_rolls_back_the_transaction_ends_it() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let mut s = db.session();
    put(&mut s, "t:a", "dup").await.unwrap();
    ok(&mut s, "BEGIN").await;
    put(&mut s, "t:a", "gone").await.unwrap();
    let err = exec(
        &mut s,
        "INSERT OR ROLLBACK INTO kv (actor, key, value) VALUES ('t:a', 'dup', x'00')",
        vec![],
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SqlError::TransactionRolledBack(_)), "{err}");
    assert!(exec(&mut s, "SELECT 1", vec![]).await.is_err());
    assert!(exec(&mut s, "COMMIT", vec![]).await.is_err());
    assert!(!s.in_transaction());
    assert_eq!(count(&mut s, "kv").await, 1);
    // The writer is usable again.
    ok(&mut s, "BEGIN").await;
    ok(&mut s, "COMMIT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_control_out_of_place_is_refused_like_sqlite() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let mut s = db.session();
    assert_eq!(
        exec(&mut s, "COMMIT", vec![]).await,
        Err(SqlError::NoTransaction("commit"))
    );
    assert_eq!(
        exec(&mut s, "ROLLBACK", vec![]).await,
        Err(SqlError::NoTransaction("rollback"))
    );
    assert_eq!(
        exec(&mut s, "SAVEPOINT a", vec![]).await,
        Err(SqlError::SavepointOutsideTransaction)
    );
    ok(&mut s, "BEGIN").await;
    assert_eq!(
        exec(&mut s, "BEGIN", vec![]).await,
        Err(SqlError::NestedBegin)
    );
    ok(&mut s, "ROLLBACK").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn savepoints_inside_a_transaction_work_as_in_sqlite() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let mut s = db.session();
    ok(&mut s, "BEGIN").await;
    put(&mut s, "t:a", "kept").await.unwrap();
    ok(&mut s, "SAVEPOINT inner").await;
    put(&mut s, "t:a", "undone").await.unwrap();
    ok(&mut s, "ROLLBACK TO inner").await;
    ok(&mut s, "RELEASE inner").await;
    ok(&mut s, "COMMIT").await;
    assert_eq!(count(&mut s, "kv").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guest_cannot_touch_durability_settings_or_other_files() {
    let (dir, db) = with_kv(GroupCommit::default()).await;
    let mut s = db.session();
    for sql in [
        "PRAGMA journal_mode = DELETE".to_owned(),
        "PRAGMA synchronous = OFF".to_owned(),
        format!(
            "ATTACH DATABASE '{}' AS other",
            dir.path().join("x.db").display()
        ),
        "RELEASE edgedesk_host_tx".to_owned(),
    ] {
        assert!(exec(&mut s, &sql, vec![]).await.is_err(), "{sql}");
    }
    ok(&mut s, "BEGIN").await;
    assert!(exec(&mut s, "RELEASE edgedesk_host_tx", vec![])
        .await
        .is_err());
    assert!(exec(&mut s, "COMMIT TRANSACTION x", vec![]).await.is_err());
    ok(&mut s, "ROLLBACK").await;
    // Reading pragmas is fine.
    let r = ok(&mut s, "PRAGMA journal_mode").await;
    assert_eq!(r.rows, vec![vec![text("wal")]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_commit_wakes_the_watchers_of_its_partition() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let mut watch_a = db.changes().watch("kv", "t:a");
    let watch_b = db.changes().watch("kv", "t:b");
    let mut s = db.session();

    ok(&mut s, "BEGIN").await;
    put(&mut s, "t:a", "k").await.unwrap();
    assert!(!watch_a.has_changed(), "nothing before it is durable");
    ok(&mut s, "COMMIT").await;
    assert!(watch_a.has_changed());
    assert!(!watch_b.has_changed());
    watch_a.mark_seen();

    ok(&mut s, "BEGIN").await;
    put(&mut s, "t:b", "k").await.unwrap();
    ok(&mut s, "ROLLBACK").await;
    assert!(!watch_b.has_changed(), "rolled back work is not news");

    exec(
        &mut s,
        "UPDATE kv SET value = x'02' WHERE actor = ?",
        vec![text("t:a")],
    )
    .await
    .unwrap();
    assert!(watch_a.has_changed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_created_later_report_changes_too() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_at(&dir, GroupCommit::default());
    let mut all = db.changes().subscribe_all();
    let mut s = db.session();
    ok(&mut s, "BEGIN").await;
    ok(&mut s, "CREATE TABLE notes (owner INTEGER, body TEXT)").await;
    ok(&mut s, "INSERT INTO notes VALUES (7, 'hi')").await;
    ok(&mut s, "COMMIT").await;
    let batch = all.recv().await.unwrap();
    assert_eq!(
        batch.keys,
        vec![crate::changes::ChangeKey::new("notes", "7")]
    );
    ok(&mut s, "DELETE FROM notes").await;
    let batch = all.recv().await.unwrap();
    assert_eq!(
        batch.keys,
        vec![crate::changes::ChangeKey::new("notes", "7")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_transaction_with_nothing_pending_does_not_wait_for_a_commit() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let before = db.stats();
    let mut s = db.session();
    ok(&mut s, "BEGIN").await;
    ok(&mut s, "SELECT * FROM kv").await;
    ok(&mut s, "COMMIT").await;
    assert_eq!(db.stats(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_shutdown_statements_fail_cleanly() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    db.shutdown().await.unwrap();
    let mut s = db.session();
    assert_eq!(
        exec(&mut s, "SELECT 1", vec![]).await,
        Err(SqlError::Closed)
    );
    assert_eq!(exec(&mut s, "BEGIN", vec![]).await, Err(SqlError::Closed));
}

/// The adapter's statements (`edge/spin`), which the host recognises as confined to one actor.
const GET: &str = "SELECT value FROM kv WHERE actor = ? AND key = ?";
const UPSERT: &str = "INSERT INTO kv (actor, key, value) VALUES (?, ?, ?) \
                      ON CONFLICT (actor, key) DO UPDATE SET value = excluded.value";

async fn get_n(s: &mut Session, actor: &str, key: &str) -> i64 {
    let r = exec(s, GET, vec![text(actor), text(key)]).await.unwrap();
    match r.rows.first().and_then(|row| row.first()) {
        Some(Value::Blob(b)) => i64::from_le_bytes(b.as_slice().try_into().unwrap()),
        None => 0,
        other => panic!("unexpected value {other:?}"),
    }
}

async fn set_n(s: &mut Session, actor: &str, key: &str, n: i64) -> Result<QueryResult, SqlError> {
    exec(
        s,
        UPSERT,
        vec![
            text(actor),
            text(key),
            Value::Blob(n.to_le_bytes().to_vec()),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_writers_do_not_wait_for_each_other() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    // Tenant a's transaction has read and is busy (its handler runs) — it holds a's lock only.
    let mut a = db.session();
    ok(&mut a, "BEGIN IMMEDIATE").await;
    assert_eq!(get_n(&mut a, "t:a", "n").await, 0);

    // Tenant b's whole transaction runs and is durable meanwhile.
    let mut b = db.session();
    tokio::time::timeout(Duration::from_secs(5), async {
        ok(&mut b, "BEGIN IMMEDIATE").await;
        assert_eq!(get_n(&mut b, "t:b", "n").await, 0);
        set_n(&mut b, "t:b", "n", 1).await.unwrap();
        ok(&mut b, "COMMIT").await;
    })
    .await
    .expect("tenant b did not wait for tenant a");

    set_n(&mut a, "t:a", "n", 1).await.unwrap();
    ok(&mut a, "COMMIT").await;
    assert_eq!(count(&mut db.session(), "kv").await, 2);
    assert_eq!(
        db.inner.partitions.len(),
        0,
        "idle partition locks are dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_of_one_actor_still_serialise() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let tasks: Vec<_> = (0..48)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut s = db.session();
                // Half of them on a second actor, which must not disturb the first.
                let actor = if i % 2 == 0 { "t:a" } else { "c:b" };
                ok(&mut s, "BEGIN IMMEDIATE").await;
                let n = get_n(&mut s, actor, "n").await;
                // Give another task every chance to interleave, if it could.
                tokio::task::yield_now().await;
                set_n(&mut s, actor, "n", n + 1).await.unwrap();
                ok(&mut s, "COMMIT").await;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let mut s = db.session();
    assert_eq!(get_n(&mut s, "t:a", "n").await, 24);
    assert_eq!(get_n(&mut s, "c:b", "n").await, 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confined_transaction_sees_commits_that_are_not_durable_yet() {
    let (_dir, db) = with_kv(GroupCommit {
        max_batch: 512,
        max_delay: Duration::from_secs(60),
    })
    .await;
    let before = db.stats().groups;
    let mut first = db.session();
    ok(&mut first, "BEGIN").await;
    set_n(&mut first, "t:a", "n", 7).await.unwrap();
    // Someone queues for the writer, so the commit's group is not due when it ends its turn.
    let waiter = {
        let db = db.clone();
        tokio::spawn(async move { drop(db.lease().await) })
    };
    while db.inner.waiting.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let committed = tokio::spawn(async move { ok(&mut first, "COMMIT").await });
    waiter.await.unwrap();

    assert_eq!(db.stats().groups, before, "nothing is durable yet");
    let mut next = db.session();
    ok(&mut next, "BEGIN").await;
    assert_eq!(get_n(&mut next, "t:a", "n").await, 7);
    // A transaction that read from a pending group answers only once that group is durable.
    ok(&mut next, "COMMIT").await;
    assert_eq!(db.stats().groups, before + 1);
    tokio::time::timeout(Duration::from_secs(5), committed)
        .await
        .expect("the group was committed")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_from_outside_the_partition_makes_a_confined_transaction_fail_instead_of_losing_it()
{
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let mut s = db.session();
    set_n(&mut s, "t:a", "n", 1).await.unwrap();
    ok(&mut s, "BEGIN").await;
    assert_eq!(get_n(&mut s, "t:a", "n").await, 1);
    // Not a confined statement: it takes the writer but not t:a's lock.
    exec(
        &mut db.session(),
        "UPDATE kv SET value = x'0500000000000000' WHERE actor = ?",
        vec![text("t:a")],
    )
    .await
    .unwrap();
    assert_eq!(set_n(&mut s, "t:a", "n", 2).await, Err(SqlError::Conflict));
    ok(&mut s, "ROLLBACK").await;
    assert_eq!(get_n(&mut s, "t:a", "n").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confined_transaction_can_widen_to_the_whole_database() {
    let (_dir, db) = with_kv(GroupCommit::default()).await;
    let mut s = db.session();
    ok(&mut s, "BEGIN").await;
    set_n(&mut s, "t:a", "n", 1).await.unwrap();
    set_n(&mut s, "t:b", "n", 1).await.unwrap();
    assert_eq!(count(&mut s, "kv").await, 2);
    ok(&mut s, "COMMIT").await;
    assert_eq!(count(&mut db.session(), "kv").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_actor_locks_a_transaction_holds_the_writer_from_its_first_statement() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(
        &dir.path().join("default.db"),
        &DbConfig {
            readers: 2,
            group_commit: GroupCommit::default(),
            actor_locks: false,
        },
    )
    .unwrap();
    let mut s = db.session();
    ok(
        &mut s,
        "CREATE TABLE kv (actor TEXT, key TEXT, value BLOB, PRIMARY KEY (actor, key))",
    )
    .await;
    let mut a = db.session();
    ok(&mut a, "BEGIN").await;
    assert_eq!(get_n(&mut a, "t:a", "n").await, 0);
    let mut b = db.session();
    ok(&mut b, "BEGIN").await;
    let waited = tokio::time::timeout(Duration::from_millis(200), get_n(&mut b, "t:b", "n")).await;
    assert!(waited.is_err(), "tenant b waits for tenant a's transaction");
    ok(&mut a, "COMMIT").await;
    assert_eq!(get_n(&mut b, "t:b", "n").await, 0);
    ok(&mut b, "COMMIT").await;
}
