//! Evaluation command: trains the intent classifier on a `text,label` CSV and scores it on another.
//!
//! ```text
//! nlp-eval TRAIN.csv TEST.csv [--epochs N] [--lr X] [--loss softmax|hinge] [--l2 X]
//!          [--bits B] [--word-ngrams N] [--skip-bigrams] [--idf] [--char MIN-MAX] [--word-weight W] [--char-weight W]
//!          [--prune P] [--class-balance X] [--ensemble K] [--seed S] [--save MODEL.bin]
//!          [--[no-]stems] [--[no-]symbols] [--char-across|--char-within]
//! ```
//!
//! Prints accuracy, macro-F1, model size, training time and per-query latency (mean, p50, p99).
//! Built for `wasm32-wasip2` the same command measures those figures inside WebAssembly.

use std::process::ExitCode;
use std::time::Instant;

use edgedesk_nlp::eval::{examples_from_csv, score};
use edgedesk_nlp::intent::Loss;
use edgedesk_nlp::{IntentModel, TrainConfig};

fn parse<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse()
        .map_err(|_| format!("{flag}: invalid value {v:?}"))
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut paths = Vec::new();
    let mut cfg = TrainConfig::default();
    let mut save = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--epochs" => cfg.epochs = parse(&a, args.next())?,
            "--lr" => cfg.learning_rate = parse(&a, args.next())?,
            "--l2" => cfg.l2 = parse(&a, args.next())?,
            "--seed" => cfg.seed = parse(&a, args.next())?,
            "--class-balance" => cfg.class_balance = parse(&a, args.next())?,
            "--ensemble" => cfg.ensemble = parse(&a, args.next())?,
            "--prune" => cfg.prune = parse(&a, args.next())?,
            "--bits" => cfg.features.bits = parse(&a, args.next())?,
            "--word-ngrams" => cfg.features.word_ngrams = parse(&a, args.next())?,
            "--word-weight" => cfg.features.word_weight = parse(&a, args.next())?,
            "--idf" => cfg.features.idf = true,
            "--skip-bigrams" => cfg.features.skip_bigrams = true,
            "--char-across" => cfg.features.char_across_words = true,
            "--stems" => cfg.features.stems = true,
            "--no-stems" => cfg.features.stems = false,
            "--symbols" => cfg.features.symbols = true,
            "--no-symbols" => cfg.features.symbols = false,
            "--char-within" => cfg.features.char_across_words = false,
            "--char-weight" => cfg.features.char_weight = parse(&a, args.next())?,
            "--char" => {
                let v: String = parse(&a, args.next())?;
                let (lo, hi) = v.split_once('-').ok_or("--char takes MIN-MAX")?;
                cfg.features.char_min = lo.parse().map_err(|_| "--char: bad MIN")?;
                cfg.features.char_max = hi.parse().map_err(|_| "--char: bad MAX")?;
            }
            "--loss" => {
                cfg.loss = match args.next().as_deref() {
                    Some("softmax") => Loss::Softmax,
                    Some("hinge") => Loss::Hinge,
                    _ => return Err("--loss takes softmax or hinge".into()),
                }
            }
            "--save" => save = Some(parse::<String>(&a, args.next())?),
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ => paths.push(a),
        }
    }
    let [train_path, test_path] = paths.as_slice() else {
        return Err("usage: nlp-eval TRAIN.csv TEST.csv [options]".into());
    };
    let read = |p: &str| -> Result<_, String> {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"))?;
        examples_from_csv(&text).map_err(|e| format!("{p}: {e}"))
    };
    let train = read(train_path)?;
    let test = read(test_path)?;

    let started = Instant::now();
    let model = IntentModel::train(&train, &cfg).map_err(|e| e.to_string())?;
    let train_secs = started.elapsed().as_secs_f64();
    let bytes = model.to_bytes();
    let started = Instant::now();
    let model = IntentModel::from_bytes(&bytes).map_err(|e| e.to_string())?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;

    let mut predicted = Vec::with_capacity(test.len());
    let mut micros = Vec::with_capacity(test.len());
    for ex in &test {
        let t = Instant::now();
        let p = model.predict(&ex.text);
        micros.push(t.elapsed().as_secs_f64() * 1e6);
        predicted.push(p.best);
    }
    let gold: Vec<&str> = test.iter().map(|e| e.label.as_str()).collect();
    let pred: Vec<&str> = predicted.iter().map(|s| s.as_str()).collect();
    let s = score(&gold, &pred);
    micros.sort_by(f64::total_cmp);
    let pct = |q: f64| micros[((micros.len() as f64 - 1.0) * q).round() as usize];
    let mean = micros.iter().sum::<f64>() / micros.len().max(1) as f64;

    println!(
        "train examples   {} ({} labels)",
        train.len(),
        model.labels().len()
    );
    println!("test examples    {}", test.len());
    println!(
        "config           {}",
        serde_json::to_string(&cfg).map_err(|e| e.to_string())?
    );
    println!("accuracy         {:.2}%", s.accuracy * 100.0);
    println!("macro-F1         {:.2}%", s.macro_f1 * 100.0);
    println!(
        "model bytes      {} ({} weights)",
        bytes.len(),
        model.weight_count()
    );
    println!("temperature      {}", model.temperature());
    println!("train seconds    {train_secs:.2}");
    println!("load ms          {load_ms:.2}");
    println!(
        "latency us/query mean {mean:.1}  p50 {:.1}  p99 {:.1}",
        pct(0.5),
        pct(0.99)
    );
    if let Some(path) = save {
        std::fs::write(&path, &bytes).map_err(|e| format!("{path}: {e}"))?;
        println!("saved            {path}");
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nlp-eval: {e}");
            ExitCode::from(2)
        }
    }
}
