//! How fast `parse` is: every corpus message parsed N times (the first argument, 200 by
//! default), then the median and 99th percentile time of one parse, per message and over all,
//! and messages per second. Run it optimised: `cargo run --release -p edgedesk-mail --example
//! parse_bench`.

use std::path::Path;
use std::time::{Duration, Instant};

use edgedesk_mail::{parse, Limits};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus"));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the corpus")
        .map(|e| e.expect("a corpus file").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    let messages: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(p).expect("a corpus file"))
        })
        .collect();
    let limits = Limits::default();

    let mut all = Vec::with_capacity(messages.len() * rounds);
    println!(
        "{:<40} {:>8} {:>10} {:>10}",
        "message", "bytes", "p50 µs", "p99 µs"
    );
    let started = Instant::now();
    for (name, raw) in &messages {
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            let parsed = parse(raw, &limits);
            times.push(t.elapsed());
            std::hint::black_box(parsed).ok();
        }
        times.sort();
        println!(
            "{:<40} {:>8} {:>10.1} {:>10.1}",
            name,
            raw.len(),
            micros(percentile(&times, 50)),
            micros(percentile(&times, 99))
        );
        all.extend(times);
    }
    let total = started.elapsed();
    all.sort();
    println!(
        "\nall {} parses: p50 {:.1} µs, p99 {:.1} µs, {:.0} messages/s",
        all.len(),
        micros(percentile(&all, 50)),
        micros(percentile(&all, 99)),
        all.len() as f64 / total.as_secs_f64()
    );
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() - 1) * p / 100]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
