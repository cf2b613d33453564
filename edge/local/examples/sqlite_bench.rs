//! Durable write transactions per second through the host's SQLite layer, with and without
//! group commit: `--concurrency` tasks each run `BEGIN IMMEDIATE; INSERT …; COMMIT` back to
//! back on their own session (as concurrent requests do), for `--seconds`. The database lives in
//! a fresh directory under `--dir` (default: the system temp dir); it must be on a real disk for
//! the fsync cost to show.

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use edgedesk_local::sqlite::{Database, DbConfig, GroupCommit, Value};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Group commit: longest a commit waits for others to join its fsync (µs).
    #[arg(long, default_value_t = GroupCommit::default().max_delay.as_micros() as u64)]
    delay_us: u64,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv (actor TEXT NOT NULL, key TEXT NOT NULL, \
                      value BLOB NOT NULL, PRIMARY KEY (actor, key)) WITHOUT ROWID";

async fn run(label: &str, group_commit: GroupCommit, args: &Args) -> Result<()> {
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(parent)?;
    let db = Database::open(
        &dir.path().join("default.db"),
        &DbConfig {
            readers: 4,
            group_commit,
            actor_locks: true,
        },
    )?;
    db.session().execute(SCHEMA.into(), vec![]).await?;
    let end = Instant::now() + Duration::from_secs(args.seconds);
    let start = Instant::now();
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|worker| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while Instant::now() < end {
                    let t0 = Instant::now();
                    let mut s = db.session();
                    s.execute("BEGIN IMMEDIATE".into(), vec![]).await?;
                    s.execute(
                        "INSERT INTO kv (actor, key, value) VALUES (?, ?, ?)".into(),
                        vec![
                            Value::Text(format!("c:{worker}")),
                            Value::Text(format!("msg:{n:010}")),
                            Value::Blob(vec![7; 200]),
                        ],
                    )
                    .await?;
                    s.execute("COMMIT".into(), vec![]).await?;
                    latencies.push(t0.elapsed().as_micros() as u64);
                    n += 1;
                }
                Ok::<_, edgedesk_local::sqlite::SqlError>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let stats = db.stats();
    println!(
        "{label:<17} {:>8.0} tx/s  p50 {:>6.2} ms  p99 {:>6.2} ms  fsyncs {:>6}  ({:.1} tx per fsync)",
        all.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        stats.groups,
        stats.durable_commits as f64 / stats.groups.max(1) as f64,
    );
    db.shutdown().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let on = GroupCommit {
        max_delay: Duration::from_micros(args.delay_us),
        ..GroupCommit::default()
    };
    run("group commit on", on, &args).await?;
    run("group commit off", GroupCommit::off(), &args).await?;
    Ok(())
}
