//! What a realtime scenario measured, and its printing: alone, or side by side with the same
//! scenario on other runtimes at the same sizes, one line per runtime under each label.

use std::collections::BTreeMap;

use super::client::{Opened, Post};
use crate::mail::percentile;

/// The server's CPU and this process's over a phase, in % of one core (`None`: unknown).
pub type Cpu = (Option<f64>, Option<f64>);

struct Row {
    count: usize,
    rate: f64,
    p50: Option<f64>,
    p99: Option<f64>,
    missed: usize,
    /// `None` where the row measures no CPU.
    cpu: Option<Cpu>,
}

enum Measure {
    Row(Row),
    /// `None`: the runtime gives no such figure.
    Figure(Option<String>),
}

struct Entry {
    label: String,
    measure: Measure,
    notes: Vec<String>,
}

#[derive(Default)]
pub struct Report {
    /// Notes before any entry (a scenario that failed).
    notes: Vec<String>,
    entries: Vec<Entry>,
}

impl Report {
    /// The report of a scenario that could not run.
    pub fn failed(e: anyhow::Error) -> Report {
        Report {
            notes: vec![format!("failed: {e:#}")],
            entries: Vec::new(),
        }
    }

    /// A row: `count` events over `secs`, `ms` their latencies (none: `-`).
    pub fn row(
        &mut self,
        label: &str,
        count: usize,
        secs: f64,
        ms: &mut [f64],
        missed: usize,
        cpu: Option<Cpu>,
    ) {
        ms.sort_by(f64::total_cmp);
        let at = |p| (!ms.is_empty()).then(|| percentile(ms, p));
        self.push(
            label,
            Measure::Row(Row {
                count,
                rate: if secs > 0.0 { count as f64 / secs } else { 0.0 },
                p50: at(0.5),
                p99: at(0.99),
                missed,
                cpu,
            }),
        );
    }

    /// A row for requests: the answered ones with `ok`, their latencies, the others as missed
    /// (counted by status in a note).
    pub fn posts(&mut self, label: &str, posts: &[Post], ok: u16, secs: f64, cpu: Option<Cpu>) {
        let mut ms: Vec<f64> = posts
            .iter()
            .filter(|p| p.status == ok)
            .map(|p| p.ms)
            .collect();
        let failed = posts.len() - ms.len();
        self.row(label, ms.len(), secs, &mut ms, failed, cpu);
        let mut statuses = BTreeMap::new();
        for p in posts.iter().filter(|p| p.status != ok) {
            *statuses.entry(p.status).or_insert(0usize) += 1;
        }
        if let Some(p) = posts.iter().find(|p| p.status != ok) {
            let counts: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} x {s}")).collect();
            self.note(&format!(
                "not {ok}: {}, status 0 being no answer; one said {}",
                counts.join(", "),
                p.answer
            ));
        }
    }

    /// A row for sockets opened: handshake to first frame.
    pub fn opened(&mut self, label: &str, opened: &mut Opened) {
        self.row(
            label,
            opened.ms.len(),
            opened.secs,
            &mut opened.ms,
            opened.failed,
            None,
        );
        if let Some(e) = &opened.first_error {
            self.note(&format!("a socket failed to open: {e}"));
        }
    }

    pub fn figure(&mut self, label: &str, value: Option<String>) {
        self.push(label, Measure::Figure(value));
    }

    /// A note under the last entry.
    pub fn note(&mut self, text: &str) {
        match self.entries.last_mut() {
            Some(e) => e.notes.push(text.to_owned()),
            None => self.notes.push(text.to_owned()),
        }
    }

    fn push(&mut self, label: &str, measure: Measure) {
        self.entries.push(Entry {
            label: label.to_owned(),
            measure,
            notes: Vec::new(),
        });
    }
}

/// Prints a scenario's reports, one per runtime; with several, each line of the first is
/// followed by the same line of the others, with their rate and p50 as ratios of the first's.
pub fn print(title: &str, reports: &[(&str, Report)]) {
    let beside = reports.len() > 1;
    println!();
    println!("{title}");
    if beside {
        println!(
            "{:<40} {:<12} {:>8} {:>9} {:>9} {:>9} {:>7} {:>8} {:>8} {:>7} {:>7}",
            "",
            "runtime",
            "count",
            "per s",
            "p50 ms",
            "p99 ms",
            "missed",
            "srv cpu",
            "own cpu",
            "per s x",
            "p50 x"
        );
    } else {
        println!(
            "{:<40} {:>8} {:>9} {:>9} {:>9} {:>7} {:>9} {:>8}",
            "", "count", "per s", "p50 ms", "p99 ms", "missed", "srv cpu", "own cpu"
        );
    }
    let runtime = |name: &str| beside.then(|| name.to_owned());
    for (name, report) in reports {
        notes(runtime(name).as_deref(), &report.notes);
    }
    let Some(((first_name, first), others)) = reports.split_first() else {
        return;
    };
    let mut used: Vec<Vec<bool>> = others
        .iter()
        .map(|(_, r)| vec![false; r.entries.len()])
        .collect();
    for entry in &first.entries {
        line(
            &entry.label,
            runtime(first_name).as_deref(),
            &entry.measure,
            None,
        );
        notes(runtime(first_name).as_deref(), &entry.notes);
        for ((name, report), used) in others.iter().zip(&mut used) {
            let same = report.entries.iter().enumerate().position(|(i, e)| {
                !used[i]
                    && e.label == entry.label
                    && matches!(
                        (&e.measure, &entry.measure),
                        (Measure::Row(_), Measure::Row(_))
                            | (Measure::Figure(_), Measure::Figure(_))
                    )
            });
            if let Some(i) = same {
                used[i] = true;
                let e = &report.entries[i];
                line("", Some(name), &e.measure, Some(&entry.measure));
                notes(Some(name), &e.notes);
            }
        }
    }
    for ((name, report), used) in others.iter().zip(&used) {
        for (entry, _) in report.entries.iter().zip(used).filter(|(_, u)| !**u) {
            line(&entry.label, Some(name), &entry.measure, None);
            notes(Some(name), &entry.notes);
        }
    }
}

fn notes(runtime: Option<&str>, notes: &[String]) {
    for n in notes {
        match runtime {
            Some(r) => println!("  ({r}: {n})"),
            None => println!("  ({n})"),
        }
    }
}

/// One line; `base` is the first runtime's measure of the same line, for the ratios.
fn line(label: &str, runtime: Option<&str>, measure: &Measure, base: Option<&Measure>) {
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    let share = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.0}%"));
    match measure {
        Measure::Row(r) => {
            let (server, own) = match r.cpu {
                Some((server, own)) => (share(server), share(own)),
                None => ("-".to_owned(), "-".to_owned()),
            };
            let cells = format!(
                "{:>8} {:>9.0} {:>9} {:>9} {:>7}",
                r.count,
                r.rate,
                ms(r.p50),
                ms(r.p99),
                r.missed
            );
            match runtime {
                None => println!("{label:<40} {cells} {server:>9} {own:>8}"),
                Some(runtime) => {
                    let base = match base {
                        Some(Measure::Row(b)) => Some(b),
                        _ => None,
                    };
                    let ratio = |of: Option<f64>, to: Option<f64>| match (of, to) {
                        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => format!("{:.2}", b / a),
                        _ => String::new(),
                    };
                    let rate = ratio(base.map(|b| b.rate), Some(r.rate));
                    let p50 = ratio(base.and_then(|b| b.p50), r.p50);
                    let line = format!(
                        "{label:<40} {runtime:<12} {cells} {server:>8} {own:>8} {rate:>7} {p50:>7}"
                    );
                    // The first runtime's lines have no ratios.
                    println!("{}", line.trim_end());
                }
            }
        }
        Measure::Figure(value) => {
            let value = value.as_deref().unwrap_or("n/a");
            match runtime {
                None => println!("{label:<40} {value:>12}"),
                Some(runtime) => println!("{label:<40} {runtime:<12} {value}"),
            }
        }
    }
}
