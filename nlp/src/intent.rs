//! Intent classifier: a multinomial linear model over hashed word and character n-grams, trained
//! inside the crate from `(text, label)` examples.
//!
//! Training is averaged stochastic gradient descent (softmax cross-entropy or a multi-class hinge
//! loss) in a fixed example order drawn from a seeded generator, so the same examples and
//! configuration always give the same model bytes. After training, weights are quantised to one
//! byte per (feature, intent) pair with a scale per intent, and pairs whose weight rounds to zero
//! are dropped; the model in memory is that quantised model, so what is evaluated is exactly what
//! is stored.
//!
//! Out of scope is reported when the best intent's probability is below that intent's threshold,
//! or when the best intent is the configured out-of-scope label (tenants may give examples of
//! off-topic messages under it).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::features::{extract, extract_weighted, FeatureConfig, Features};

/// IDF values (1 … ~16) are stored in sixteenths in one byte.
fn quantize_idf(v: f32) -> u8 {
    (v * 16.0).round().clamp(1.0, 255.0) as u8
}

fn dequantize_idf(q: u8) -> f32 {
    q as f32 / 16.0
}
use crate::NlpError;

/// One labelled training phrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub text: String,
    pub label: String,
}

impl Example {
    pub fn new(text: impl Into<String>, label: impl Into<String>) -> Self {
        Example {
            text: text.into(),
            label: label.into(),
        }
    }
}

/// The training objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Multinomial logistic regression: calibrated probabilities.
    Softmax,
    /// Crammer–Singer multi-class hinge (a linear SVM trained by SGD): updates only the true and
    /// the strongest wrong intent.
    Hinge,
}

/// Training settings. The defaults are the ones tuned on BANKING77 (see the evaluation command).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub features: FeatureConfig,
    pub loss: Loss,
    pub epochs: u32,
    pub learning_rate: f32,
    /// Multiplicative weight decay per example, as an L2 penalty (0 disables).
    pub l2: f32,
    pub seed: u64,
    /// The label whose examples are off-topic messages; predicting it means out of scope.
    pub out_of_scope_label: Option<String>,
    /// Threshold given to every intent; tune single intents with [`IntentModel::set_threshold`].
    pub default_threshold: f32,
    /// Quantised weights with `|q| <= prune` (of 127) are dropped to shrink the model.
    pub prune: u8,
    /// Re-weights examples by `(mean count / count of their label)^class_balance`, so intents
    /// with many examples do not crowd out rare ones (0 disables, 1 fully balances).
    #[serde(default)]
    pub class_balance: f32,
    /// Number of SGD runs (seeds `seed`, `seed + 1`, …) whose weights are averaged (0 or 1: one).
    #[serde(default)]
    pub ensemble: u32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            features: FeatureConfig {
                char_min: 1,
                char_max: 5,
                idf: true,
                stems: true,
                symbols: true,
                ..FeatureConfig::default()
            },
            loss: Loss::Hinge,
            epochs: 20,
            learning_rate: 0.1,
            l2: 0.0,
            seed: 0x5eed,
            out_of_scope_label: Some("out_of_scope".into()),
            default_threshold: 0.3,
            prune: 4,
            class_balance: 0.5,
            ensemble: 1,
        }
    }
}

/// The result of classifying one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The recognised intent, or `None` when the message is out of scope.
    pub intent: Option<String>,
    /// The best-scoring label even when it fell below its threshold.
    pub best: String,
    /// Probability of `best`.
    pub confidence: f32,
    pub out_of_scope: bool,
    /// The three best labels with their probabilities, best first.
    pub ranking: Vec<(String, f32)>,
}

/// A trained, quantised model.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentModel {
    features: FeatureConfig,
    labels: Vec<String>,
    thresholds: Vec<f32>,
    oos: Option<usize>,
    bias: Vec<f32>,
    /// Dequantisation scale per label.
    scale: Vec<f32>,
    /// Scores are multiplied by this before the softmax; calibrated on the training data so
    /// probabilities (and thresholds) mean the same for either loss.
    temperature: f32,
    /// Quantised inverse document frequency per row (empty unless `features.idf`), and the one
    /// used for features the model has no row for.
    idf: Vec<u8>,
    idf_default: u8,
    /// Feature ids, ascending; row `i` holds the weights of `ids[i]`.
    ids: Vec<u32>,
    /// `row_start[i]..row_start[i + 1]` indexes `entries` for row `i`.
    row_start: Vec<u32>,
    /// (label index, quantised weight).
    entries: Vec<(u16, i8)>,
}

/// A small deterministic generator (SplitMix64) for the example order.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

impl IntentModel {
    /// Trains a model on `examples`. Labels are ordered by first appearance.
    pub fn train(examples: &[Example], cfg: &TrainConfig) -> Result<IntentModel, NlpError> {
        cfg.features.validate().map_err(NlpError::InvalidConfig)?;
        if cfg.ensemble > 16 {
            return Err(NlpError::InvalidConfig(
                "ensemble must be at most 16".into(),
            ));
        }
        if cfg.epochs == 0 || cfg.epochs > 1000 {
            return Err(NlpError::InvalidConfig(
                "epochs must be within 1..=1000".into(),
            ));
        }
        if !(cfg.learning_rate.is_finite() && cfg.learning_rate > 0.0) {
            return Err(NlpError::InvalidConfig(
                "learning_rate must be positive".into(),
            ));
        }
        if !(cfg.l2.is_finite() && (0.0..1.0).contains(&cfg.l2)) {
            return Err(NlpError::InvalidConfig("l2 must be within [0, 1)".into()));
        }
        if !(0.0..=1.0).contains(&cfg.default_threshold) {
            return Err(NlpError::InvalidConfig(
                "default_threshold must be within [0, 1]".into(),
            ));
        }
        if examples.is_empty() {
            return Err(NlpError::NoExamples);
        }
        let mut labels: Vec<String> = Vec::new();
        let mut label_index: HashMap<&str, usize> = HashMap::new();
        let mut ys = Vec::with_capacity(examples.len());
        for ex in examples {
            let next = labels.len();
            let y = *label_index.entry(ex.label.as_str()).or_insert_with(|| {
                labels.push(ex.label.clone());
                next
            });
            ys.push(y);
        }
        if labels.len() < 2 {
            return Err(NlpError::TooFewLabels(labels.len()));
        }
        if labels.len() > u16::MAX as usize {
            return Err(NlpError::InvalidConfig("too many labels".into()));
        }
        let c = labels.len();
        if !(cfg.class_balance.is_finite() && (0.0..=2.0).contains(&cfg.class_balance)) {
            return Err(NlpError::InvalidConfig(
                "class_balance must be within [0, 2]".into(),
            ));
        }
        let mut counts = vec![0usize; c];
        for &y in &ys {
            counts[y] += 1;
        }
        let mean = examples.len() as f32 / c as f32;
        let class_weight: Vec<f32> = counts
            .iter()
            .map(|&n| (mean / n as f32).powf(cfg.class_balance))
            .collect();

        // Inverse document frequencies, quantised as they will be stored.
        let mut idf_of: HashMap<u32, u8> = HashMap::new();
        if cfg.features.idf {
            let mut df: HashMap<u32, u32> = HashMap::new();
            for ex in examples {
                for (id, _) in extract(&ex.text, &cfg.features) {
                    *df.entry(id).or_default() += 1;
                }
            }
            let n = examples.len() as f32;
            for (id, d) in df {
                idf_of.insert(id, quantize_idf(((1.0 + n) / (1.0 + d as f32)).ln() + 1.0));
            }
        }
        let idf_default = quantize_idf(((1.0 + examples.len() as f32) / 2.0).ln() + 1.0);
        let idf_lookup = |id: u32| dequantize_idf(*idf_of.get(&id).unwrap_or(&idf_default));

        // Map hashed ids to dense rows so training memory follows the vocabulary, not 2^bits.
        let mut row_of: HashMap<u32, u32> = HashMap::new();
        let mut row_ids: Vec<u32> = Vec::new();
        let xs: Vec<Vec<(u32, f32)>> = examples
            .iter()
            .map(|ex| {
                extract_weighted(&ex.text, &cfg.features, &idf_lookup)
                    .into_iter()
                    .map(|(id, v)| {
                        let next = row_ids.len() as u32;
                        let row = *row_of.entry(id).or_insert_with(|| {
                            row_ids.push(id);
                            next
                        });
                        (row, v)
                    })
                    .collect()
            })
            .collect();
        let n = row_ids.len();

        // One averaged-SGD run per seed; the runs' weights are averaged, which evens out the
        // noise of any single example order.
        let run = |seed: u64| -> (Vec<f32>, Vec<f32>) {
            let mut w = vec![0f32; n * c];
            let mut wsum = vec![0f32; n * c]; // Σ t·Δw for the averaged weights
            let mut b = vec![0f32; c];
            let mut bsum = vec![0f32; c];
            let mut scores = vec![0f32; c];
            let mut order: Vec<usize> = (0..examples.len()).collect();
            let mut rng = Rng(seed);
            let mut t: f32 = 1.0;
            // Weight decay is applied lazily through a global scale so each step stays sparse.
            let mut wscale: f32 = 1.0;
            let lr0 = cfg.learning_rate;
            let total = (cfg.epochs as f32) * examples.len() as f32;

            for _epoch in 0..cfg.epochs {
                rng.shuffle(&mut order);
                for &i in &order {
                    let x = &xs[i];
                    let y = ys[i];
                    // Linearly decaying step size: large early moves, fine adjustments late.
                    let lr = lr0 * (1.0 - 0.9 * (t - 1.0) / total) * class_weight[y];
                    scores.copy_from_slice(&b);
                    for &(row, v) in x {
                        let base = row as usize * c;
                        let vv = v * wscale;
                        for (s, wk) in scores.iter_mut().zip(&w[base..base + c]) {
                            *s += wk * vv;
                        }
                    }
                    let mut step = |k: usize, g: f32, w: &mut [f32], wsum: &mut [f32]| {
                        // g is the gradient of the loss with respect to score k.
                        let d = -lr * g;
                        b[k] += d;
                        bsum[k] += t * d;
                        let dw = d / wscale;
                        for &(row, v) in x {
                            let j = row as usize * c + k;
                            w[j] += dw * v;
                            wsum[j] += t * dw * v * wscale;
                        }
                    };
                    match cfg.loss {
                        Loss::Softmax => {
                            let max = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                            let mut z = 0.0;
                            for s in scores.iter_mut() {
                                *s = (*s - max).exp();
                                z += *s;
                            }
                            for k in 0..c {
                                let p = scores[k] / z;
                                let g = if k == y { p - 1.0 } else { p };
                                // Negligible gradients would only cost time.
                                if g.abs() > 1e-4 {
                                    step(k, g, &mut w, &mut wsum);
                                }
                            }
                        }
                        Loss::Hinge => {
                            let (mut best, mut best_s) = (usize::MAX, f32::NEG_INFINITY);
                            for (k, &s) in scores.iter().enumerate() {
                                if k != y && s > best_s {
                                    best = k;
                                    best_s = s;
                                }
                            }
                            if scores[y] - best_s < 1.0 {
                                step(y, -1.0, &mut w, &mut wsum);
                                step(best, 1.0, &mut w, &mut wsum);
                            }
                        }
                    }
                    if cfg.l2 > 0.0 {
                        wscale *= 1.0 - lr * cfg.l2;
                        if wscale < 1e-3 {
                            for v in w.iter_mut() {
                                *v *= wscale;
                            }
                            wscale = 1.0;
                        }
                    }
                    t += 1.0;
                }
            }
            if wscale != 1.0 {
                for v in w.iter_mut() {
                    *v *= wscale;
                }
            }
            // Averaged weights: w̄ = w − Σ t·Δw / T.
            (
                w.iter().zip(&wsum).map(|(w, s)| w - s / t).collect(),
                b.iter().zip(&bsum).map(|(b, s)| b - s / t).collect(),
            )
        };
        let runs = cfg.ensemble.max(1);
        let (mut avg, mut bias) = run(cfg.seed);
        for r in 1..runs {
            let (w, b) = run(cfg.seed.wrapping_add(r as u64));
            avg.iter_mut().zip(&w).for_each(|(a, v)| *a += v);
            bias.iter_mut().zip(&b).for_each(|(a, v)| *a += v);
        }
        if runs > 1 {
            let k = runs as f32;
            avg.iter_mut().for_each(|a| *a /= k);
            bias.iter_mut().for_each(|a| *a /= k);
        }

        let mut thresholds = vec![cfg.default_threshold; c];
        let oos = cfg
            .out_of_scope_label
            .as_deref()
            .and_then(|l| label_index.get(l).copied());
        if let Some(o) = oos {
            thresholds[o] = 0.0;
        }
        let mut model = Self::quantize(
            cfg.features.clone(),
            labels,
            thresholds,
            oos,
            bias,
            &row_ids,
            &avg,
            cfg.prune,
        );
        if cfg.features.idf {
            model.idf_default = idf_default;
            model.idf = model
                .ids
                .iter()
                .map(|id| *idf_of.get(id).unwrap_or(&idf_default))
                .collect();
        }
        // Softmax training already yields calibrated scores; hinge margins need a scale.
        if cfg.loss == Loss::Hinge {
            model.temperature = model.calibrate(examples, &ys);
        }
        Ok(model)
    }

    /// Picks the score multiplier that minimises the log-loss on (a spread-out sample of) the
    /// training examples.
    fn calibrate(&self, examples: &[Example], ys: &[usize]) -> f32 {
        let step = (examples.len() / 2000).max(1);
        let scored: Vec<(Vec<f32>, usize)> = (0..examples.len())
            .step_by(step)
            .map(|i| (self.scores_of(&self.features_of(&examples[i].text)), ys[i]))
            .collect();
        let mut best = (f32::INFINITY, 1.0);
        // Capped: on small training sets the log-loss keeps falling with ever sharper scores.
        for t in [0.5f32, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0] {
            let mut nll = 0.0f64;
            for (scores, y) in &scored {
                let max = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                let z: f32 = scores.iter().map(|s| ((s - max) * t).exp()).sum();
                nll += (z.ln() - (scores[*y] - max) * t) as f64;
            }
            if nll < best.0 as f64 {
                best = (nll as f32, t);
            }
        }
        best.1
    }

    #[allow(clippy::too_many_arguments)]
    fn quantize(
        features: FeatureConfig,
        labels: Vec<String>,
        thresholds: Vec<f32>,
        oos: Option<usize>,
        bias: Vec<f32>,
        row_ids: &[u32],
        w: &[f32],
        prune: u8,
    ) -> IntentModel {
        let c = labels.len();
        let mut max = vec![0f32; c];
        for row in w.chunks(c) {
            for (m, v) in max.iter_mut().zip(row) {
                *m = m.max(v.abs());
            }
        }
        let scale: Vec<f32> = max
            .iter()
            .map(|m| if *m > 0.0 { m / 127.0 } else { 1.0 })
            .collect();
        let mut order: Vec<usize> = (0..row_ids.len()).collect();
        edgedesk_sort::sort_by_key(&mut order, |&r| row_ids[r]);
        let mut ids = Vec::new();
        let mut row_start = vec![0u32];
        let mut entries = Vec::new();
        for r in order {
            let before = entries.len();
            for k in 0..c {
                let q = (w[r * c + k] / scale[k]).round().clamp(-127.0, 127.0) as i8;
                if q.unsigned_abs() > prune {
                    entries.push((k as u16, q));
                }
            }
            if entries.len() > before {
                ids.push(row_ids[r]);
                row_start.push(entries.len() as u32);
            }
        }
        IntentModel {
            features,
            labels,
            thresholds,
            oos,
            bias,
            scale,
            temperature: 1.0,
            idf: Vec::new(),
            idf_default: 0,
            ids,
            row_start,
            entries,
        }
    }

    /// The labels the model knows, in training order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The calibrated score multiplier applied before the softmax.
    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    /// Number of stored (feature, intent) weights.
    pub fn weight_count(&self) -> usize {
        self.entries.len()
    }

    /// Sets the probability below which `intent` is reported as out of scope (1 disables the
    /// intent).
    pub fn set_threshold(&mut self, intent: &str, threshold: f32) -> Result<(), NlpError> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(NlpError::InvalidConfig(
                "threshold must be within [0, 1]".into(),
            ));
        }
        let k = self
            .labels
            .iter()
            .position(|l| l == intent)
            .ok_or_else(|| NlpError::UnknownIntent(intent.to_string()))?;
        self.thresholds[k] = threshold;
        Ok(())
    }

    pub fn threshold(&self, intent: &str) -> Option<f32> {
        self.labels
            .iter()
            .position(|l| l == intent)
            .map(|k| self.thresholds[k])
    }

    /// Probabilities of every label for `text`, in label order.
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        self.probabilities_of(&self.features_of(text))
    }

    fn features_of(&self, text: &str) -> Features {
        if !self.features.idf {
            return extract(text, &self.features);
        }
        extract_weighted(text, &self.features, &|id| {
            let q = match self.ids.binary_search(&id) {
                Ok(r) => self.idf[r],
                Err(_) => self.idf_default,
            };
            dequantize_idf(q)
        })
    }

    fn probabilities_of(&self, x: &Features) -> Vec<f32> {
        let mut scores = self.scores_of(x);
        let max = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let mut z = 0.0;
        for s in scores.iter_mut() {
            *s = ((*s - max) * self.temperature).exp();
            z += *s;
        }
        for s in scores.iter_mut() {
            *s /= z;
        }
        scores
    }

    /// Raw linear scores, in label order.
    fn scores_of(&self, x: &Features) -> Vec<f32> {
        let mut scores = self.bias.clone();
        // Both lists are sorted: a merge walk beats a binary search per feature.
        let (mut i, mut j) = (0, 0);
        while i < x.len() && j < self.ids.len() {
            let (id, v) = x[i];
            match id.cmp(&self.ids[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => {
                    // Jump ahead: the model's rows are far denser than a message's features.
                    j += self.ids[j..].partition_point(|&m| m < id);
                }
                std::cmp::Ordering::Equal => {
                    let (s, e) = (self.row_start[j] as usize, self.row_start[j + 1] as usize);
                    for &(k, q) in &self.entries[s..e] {
                        scores[k as usize] += q as f32 * self.scale[k as usize] * v;
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        scores
    }

    /// Classifies `text`.
    pub fn predict(&self, text: &str) -> Prediction {
        let probs = self.probabilities(text);
        let mut ranked: Vec<usize> = (0..probs.len()).collect();
        edgedesk_sort::sort_by(&mut ranked, |&a, &b| {
            probs[b].total_cmp(&probs[a]).then(a.cmp(&b))
        });
        let top = ranked[0];
        // A threshold of 1 sends the intent out of scope always (probabilities round to 1.0).
        let t = self.thresholds[top];
        let out_of_scope = Some(top) == self.oos || probs[top] < t || t >= 1.0;
        Prediction {
            intent: (!out_of_scope).then(|| self.labels[top].clone()),
            best: self.labels[top].clone(),
            confidence: probs[top],
            out_of_scope,
            ranking: ranked
                .iter()
                .take(3)
                .map(|&k| (self.labels[k].clone(), probs[k]))
                .collect(),
        }
    }

    /// The best label for `text` ignoring thresholds (what accuracy is measured on).
    pub fn best_label(&self, text: &str) -> &str {
        let probs = self.probabilities(text);
        let mut top = 0;
        for (k, p) in probs.iter().enumerate() {
            if *p > probs[top] {
                top = k;
            }
        }
        &self.labels[top]
    }
}

// ---------------------------------------------------------------------------------------------
// Binary format
//
// "EDNLPv1\0", u32 LE header length, JSON header (feature config, labels, thresholds, oos, bias,
// scale), then varint row count, per row: varint id delta, varint entry count, and per entry:
// varint label-index delta and one i8 byte.

const MAGIC: &[u8; 8] = b"EDNLPv1\0";

#[derive(Serialize, Deserialize)]
struct Header {
    features: FeatureConfig,
    labels: Vec<String>,
    thresholds: Vec<f32>,
    oos: Option<usize>,
    bias: Vec<f32>,
    scale: Vec<f32>,
    #[serde(default = "one")]
    temperature: f32,
    #[serde(default)]
    idf_default: u8,
}

fn one() -> f32 {
    1.0
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, NlpError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| NlpError::BadModel("truncated".into()))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, NlpError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(NlpError::BadModel("varint too long".into()))
    }
}

impl IntentModel {
    /// Serialises the model compactly (about 2 bytes per stored weight).
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            features: self.features.clone(),
            labels: self.labels.clone(),
            thresholds: self.thresholds.clone(),
            oos: self.oos,
            bias: self.bias.clone(),
            scale: self.scale.clone(),
            temperature: self.temperature,
            idf_default: self.idf_default,
        };
        let json = serde_json::to_vec(&header).expect("header serialises");
        let mut out = Vec::with_capacity(json.len() + self.entries.len() * 2 + self.ids.len() * 3);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        put_varint(&mut out, self.ids.len() as u64);
        let mut prev_id = 0u32;
        for (r, &id) in self.ids.iter().enumerate() {
            put_varint(&mut out, (id - prev_id) as u64);
            prev_id = id;
            if self.features.idf {
                out.push(self.idf[r]);
            }
            let (s, e) = (self.row_start[r] as usize, self.row_start[r + 1] as usize);
            put_varint(&mut out, (e - s) as u64);
            let mut prev_k = 0u16;
            for &(k, q) in &self.entries[s..e] {
                put_varint(&mut out, (k - prev_k) as u64);
                prev_k = k;
                out.push(q as u8);
            }
        }
        out
    }

    /// Reads a model written by [`IntentModel::to_bytes`], checking every bound.
    pub fn from_bytes(bytes: &[u8]) -> Result<IntentModel, NlpError> {
        let bad = |m: &str| NlpError::BadModel(m.to_string());
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(bad("missing magic"));
        }
        let hlen = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
        let json = bytes
            .get(12..12 + hlen)
            .ok_or_else(|| bad("truncated header"))?;
        let h: Header =
            edgedesk_json::from_slice(json).map_err(|e| NlpError::BadModel(e.to_string()))?;
        h.features.validate().map_err(NlpError::BadModel)?;
        let c = h.labels.len();
        if c < 2
            || c > u16::MAX as usize
            || [h.thresholds.len(), h.bias.len(), h.scale.len()] != [c, c, c]
        {
            return Err(bad("inconsistent label tables"));
        }
        if !(h.temperature.is_finite() && h.temperature > 0.0) {
            return Err(bad("temperature must be positive"));
        }
        if h.oos.is_some_and(|o| o >= c) {
            return Err(bad("out-of-scope index out of range"));
        }
        let mut r = Reader {
            bytes,
            pos: 12 + hlen,
        };
        let rows = r.varint()? as usize;
        if rows > bytes.len() {
            return Err(bad("row count exceeds model size"));
        }
        let mut ids = Vec::with_capacity(rows);
        let mut idf = Vec::new();
        let mut row_start = Vec::with_capacity(rows + 1);
        row_start.push(0u32);
        let mut entries = Vec::new();
        let mut id = 0u64;
        for row in 0..rows {
            let delta = r.varint()?;
            if row > 0 && delta == 0 {
                return Err(bad("feature ids not ascending"));
            }
            id += delta;
            if id >= 1u64 << h.features.bits {
                return Err(bad("feature id out of range"));
            }
            ids.push(id as u32);
            if h.features.idf {
                idf.push(r.byte()?);
            }
            let count = r.varint()? as usize;
            if count == 0 || count > c {
                return Err(bad("bad row length"));
            }
            let mut k = 0u64;
            for e in 0..count {
                let dk = r.varint()?;
                if e > 0 && dk == 0 {
                    return Err(bad("label indexes not ascending"));
                }
                k += dk;
                if k >= c as u64 {
                    return Err(bad("label index out of range"));
                }
                entries.push((k as u16, r.byte()? as i8));
            }
            row_start.push(entries.len() as u32);
        }
        if r.pos != bytes.len() {
            return Err(bad("trailing bytes"));
        }
        Ok(IntentModel {
            features: h.features,
            labels: h.labels,
            thresholds: h.thresholds,
            oos: h.oos,
            bias: h.bias,
            scale: h.scale,
            temperature: h.temperature,
            idf,
            idf_default: h.idf_default,
            ids,
            row_start,
            entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vec<Example> {
        let data = [
            ("where is my card", "card_arrival"),
            ("my card has not arrived yet", "card_arrival"),
            ("when will my new card come", "card_arrival"),
            ("card still not delivered", "card_arrival"),
            ("how do I top up my account", "top_up"),
            ("add money to my balance", "top_up"),
            ("can I top up with a bank transfer", "top_up"),
            ("topping up failed", "top_up"),
            ("what is the exchange rate", "exchange_rate"),
            ("exchange rate for euros", "exchange_rate"),
            ("how much is a dollar in pounds", "exchange_rate"),
            (
                "which rate do you use to exchange currencies",
                "exchange_rate",
            ),
            ("我的卡还没到", "card_arrival"),
            ("新卡什么时候寄到", "card_arrival"),
            ("怎么充值", "top_up"),
            ("我想给账户充值", "top_up"),
            ("今天的汇率是多少", "exchange_rate"),
            ("美元兑人民币汇率", "exchange_rate"),
            ("tell me a joke", "out_of_scope"),
            ("what's the weather like", "out_of_scope"),
            ("who won the football game", "out_of_scope"),
            ("今天天气怎么样", "out_of_scope"),
        ];
        data.iter().map(|(t, l)| Example::new(*t, *l)).collect()
    }

    fn cfg() -> TrainConfig {
        TrainConfig {
            epochs: 30,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn classifier_learns_a_toy_set_in_english_and_chinese() {
        let m = IntentModel::train(&toy(), &cfg()).unwrap();
        assert_eq!(
            m.predict("my card hasn't arrived").intent.as_deref(),
            Some("card_arrival")
        );
        assert_eq!(
            m.predict("I want to top up").intent.as_deref(),
            Some("top_up")
        );
        assert_eq!(
            m.predict("what exchange rate do you give")
                .intent
                .as_deref(),
            Some("exchange_rate")
        );
        assert_eq!(
            m.predict("卡怎么还没到").intent.as_deref(),
            Some("card_arrival")
        );
        assert_eq!(
            m.predict("欧元汇率").intent.as_deref(),
            Some("exchange_rate")
        );
    }

    #[test]
    fn out_of_scope_examples_and_thresholds_both_yield_out_of_scope() {
        let mut m = IntentModel::train(&toy(), &cfg()).unwrap();
        let p = m.predict("tell me about the weather tomorrow");
        assert!(p.out_of_scope && p.intent.is_none(), "{p:?}");
        let p = m.predict("where is my card");
        assert!(!p.out_of_scope);
        m.set_threshold("card_arrival", 1.0).unwrap();
        let p = m.predict("where is my card");
        assert!(p.out_of_scope && p.best == "card_arrival", "{p:?}");
        assert_eq!(
            m.set_threshold("nope", 0.5),
            Err(NlpError::UnknownIntent("nope".into()))
        );
    }

    #[test]
    fn hinge_loss_also_learns_the_toy_set() {
        let m = IntentModel::train(
            &toy(),
            &TrainConfig {
                loss: Loss::Hinge,
                ..cfg()
            },
        )
        .unwrap();
        assert_eq!(m.best_label("my card has not come"), "card_arrival");
        assert_eq!(m.best_label("top up please"), "top_up");
    }

    #[test]
    fn model_round_trips_through_bytes_with_identical_predictions() {
        let mut m = IntentModel::train(&toy(), &cfg()).unwrap();
        m.set_threshold("top_up", 0.42).unwrap();
        let bytes = m.to_bytes();
        let back = IntentModel::from_bytes(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(
            back.probabilities("exchange rate please"),
            m.probabilities("exchange rate please")
        );
    }

    #[test]
    fn idf_weighted_models_learn_and_round_trip_too() {
        let mut c = cfg();
        c.features.idf = true;
        let m = IntentModel::train(&toy(), &c).unwrap();
        assert_eq!(m.best_label("my card has not come"), "card_arrival");
        let back = IntentModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.probabilities("汇率"), m.probabilities("汇率"));
    }

    #[test]
    fn training_is_deterministic_for_a_seed() {
        let a = IntentModel::train(&toy(), &cfg()).unwrap().to_bytes();
        let b = IntentModel::train(&toy(), &cfg()).unwrap().to_bytes();
        assert_eq!(a, b);
    }

    #[test]
    fn corrupt_model_bytes_are_rejected_not_panicked_on() {
        let bytes = IntentModel::train(&toy(), &cfg()).unwrap().to_bytes();
        for cut in [0, 5, 12, 40, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                IntentModel::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(IntentModel::from_bytes(&extra).is_err());
        let mut flipped = bytes.clone();
        let n = flipped.len();
        flipped[n - 2] = 0xff; // a label-index delta byte far out of range or a broken varint
        let _ = IntentModel::from_bytes(&flipped); // must not panic
    }

    #[test]
    fn training_rejects_degenerate_input() {
        assert_eq!(
            IntentModel::train(&[], &cfg()).unwrap_err(),
            NlpError::NoExamples
        );
        let one = vec![Example::new("a", "x"), Example::new("b", "x")];
        assert_eq!(
            IntentModel::train(&one, &cfg()).unwrap_err(),
            NlpError::TooFewLabels(1)
        );
        let bad = TrainConfig { epochs: 0, ..cfg() };
        assert!(matches!(
            IntentModel::train(&toy(), &bad),
            Err(NlpError::InvalidConfig(_))
        ));
    }
}
