//! Sentiment evaluation command: scores [`edgedesk_nlp::sentiment`] on public labelled sentence
//! sets and prints accuracy per set, per language and overall.
//!
//! ```text
//! sentiment-eval DATA_DIR
//! ```
//!
//! `DATA_DIR` is what `scripts/fetch-sentiment-data.sh` prepares (nothing of it is in the
//! repository): `en/{amazon,imdb,yelp}.json` (`[{"text", "class": 0|1}]`) and `zh/{pos,neg}.txt`
//! (one review per line). A score above 0 counts as positive and below 0 as negative. A score of
//! exactly 0 (no opinion found) is reported separately: `acc` counts it as negative (the rule
//! "score > 0 ⇒ positive"), `strict` counts it as a miss, and `zero` is the share of such texts.

use std::process::ExitCode;

#[derive(Default, Clone, Copy)]
struct Tally {
    n: usize,
    /// Correct under "score > 0 ⇒ positive, otherwise negative".
    correct: usize,
    /// Correct with a non-zero score of the right sign.
    strict: usize,
    zero: usize,
}

impl Tally {
    fn add(&mut self, score: f32, positive: bool) {
        self.n += 1;
        if (score > 0.0) == positive {
            self.correct += 1;
        }
        if score != 0.0 && (score > 0.0) == positive {
            self.strict += 1;
        }
        if score == 0.0 {
            self.zero += 1;
        }
    }

    fn merge(&mut self, o: Tally) {
        self.n += o.n;
        self.correct += o.correct;
        self.strict += o.strict;
        self.zero += o.zero;
    }

    fn line(&self, name: &str) -> String {
        let pct = |k: usize| 100.0 * k as f64 / self.n.max(1) as f64;
        format!(
            "{name:<10} n {:>6}  acc {:>6.2}%  strict {:>6.2}%  zero {:>5.2}%",
            self.n,
            pct(self.correct),
            pct(self.strict),
            pct(self.zero)
        )
    }
}

#[derive(serde::Deserialize)]
struct Labelled {
    text: String,
    /// The files end with an empty row whose class is null; it is skipped.
    class: Option<u8>,
}

fn read(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        return Err("usage: sentiment-eval DATA_DIR".into());
    };
    let dir = std::path::Path::new(dir);
    let mut en = Tally::default();
    for set in ["amazon", "imdb", "yelp"] {
        let path = dir.join("en").join(format!("{set}.json"));
        let rows: Vec<Labelled> = serde_json::from_str(&read(&path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut t = Tally::default();
        for r in &rows {
            let class = match r.class {
                None if r.text.trim().is_empty() => continue,
                Some(c @ (0 | 1)) => c,
                _ => return Err(format!("{}: class must be 0 or 1", path.display())),
            };
            t.add(edgedesk_nlp::sentiment(&r.text), class == 1);
        }
        println!("{}", t.line(&format!("en/{set}")));
        en.merge(t);
    }
    let mut zh = Tally::default();
    for (file, positive) in [("pos.txt", true), ("neg.txt", false)] {
        for line in read(&dir.join("zh").join(file))?.lines() {
            let text = line.trim();
            if !text.is_empty() {
                zh.add(edgedesk_nlp::sentiment(text), positive);
            }
        }
    }
    println!("{}", en.line("en"));
    println!("{}", zh.line("zh"));
    let mut all = en;
    all.merge(zh);
    println!("{}", all.line("all"));
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sentiment-eval: {e}");
            ExitCode::from(2)
        }
    }
}
