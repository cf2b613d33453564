//! Sparse features of a text for the intent classifier: hashed word n-grams and character n-grams.
//!
//! Word n-grams capture phrasing ("top up", "exchange rate"); character n-grams inside words make
//! the model robust to typos and inflection ("transfered", "transfers"). CJK characters are
//! tokens of their own, so word bi- and trigrams over them are the character n-grams that stand in
//! for words in Chinese. Each group is L2-normalised separately and scaled by its weight, so long
//! words do not drown the word features.
//!
//! Feature names are hashed (FNV-1a, stable across platforms and releases) into `2^bits` ids, so
//! no vocabulary has to be stored with the model beyond the ids it actually uses.

use serde::{Deserialize, Serialize};

use crate::text::{normalize, tokenize};

/// How features are extracted. Stored with a model so prediction uses the training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Size of the hashed feature space, `2^bits` (10..=28).
    pub bits: u8,
    /// Longest word n-gram (1..=3).
    pub word_ngrams: u8,
    /// Shortest and longest character n-gram inside a word padded with `<` and `>`; 0 disables.
    pub char_min: u8,
    pub char_max: u8,
    /// Weight of the word group and of the character group after normalisation.
    pub word_weight: f32,
    pub char_weight: f32,
    /// Weight n-grams by inverse document frequency in the training data (stored per feature).
    #[serde(default)]
    pub idf: bool,
    /// Also word pairs one word apart ("card … arrived"), which bridge inserted words.
    #[serde(default)]
    pub skip_bigrams: bool,
    /// Character n-grams run over the whole message (words joined by one space) instead of
    /// inside each word, so they also span word boundaries ("y ca" in "my card"), which carries
    /// word-pair evidence that survives typos.
    #[serde(default)]
    pub char_across_words: bool,
    /// Also word uni- and bigrams over crudely stemmed words ("topped up" → "top up"), a view
    /// that generalises across inflections without the noise of all character n-grams.
    #[serde(default)]
    pub stems: bool,
    /// Currency signs ($ £ € ¥) are word tokens ("£ 0" differs from "€ 0").
    #[serde(default)]
    pub symbols: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            bits: 20,
            word_ngrams: 2,
            char_min: 2,
            char_max: 5,
            word_weight: 1.0,
            char_weight: 1.0,
            skip_bigrams: false,
            idf: false,
            char_across_words: false,
            stems: false,
            symbols: false,
        }
    }
}

impl FeatureConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(10..=28).contains(&self.bits) {
            return Err(format!("bits must be within 10..=28, got {}", self.bits));
        }
        if !(1..=3).contains(&self.word_ngrams) {
            return Err(format!(
                "word_ngrams must be within 1..=3, got {}",
                self.word_ngrams
            ));
        }
        if self.char_min > self.char_max || self.char_max > 8 {
            return Err("char n-gram range must satisfy char_min <= char_max <= 8".into());
        }
        if !(self.word_weight.is_finite() && self.char_weight.is_finite())
            || self.word_weight < 0.0
            || self.char_weight < 0.0
        {
            return Err("group weights must be finite and non-negative".into());
        }
        Ok(())
    }
}

pub(crate) const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

pub(crate) fn fnv(seed: u32, bytes: &[u8]) -> u32 {
    let mut h = seed;
    for &b in bytes {
        h ^= b as u32;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Pushes the bucket of every run of 1 to `max_n` consecutive words of `seq` (boundary marks
/// alone are not words), hashed under `tag` so different views never share buckets.
fn push_windows(seq: &[&str], max_n: usize, tag: u8, mask: u32, out: &mut Vec<u32>) {
    for n in 1..=max_n {
        for win in seq.windows(n) {
            if n == 1 && (win[0] == "\u{2}" || win[0] == "\u{3}") {
                continue;
            }
            let mut h = fnv(FNV_OFFSET, &[tag, n as u8]);
            for (k, w) in win.iter().enumerate() {
                if k > 0 {
                    h = fnv(h, b" ");
                }
                h = fnv(h, w.as_bytes());
            }
            out.push(mix(h) & mask);
        }
    }
}

/// A final avalanche so low bits (used for the modulo) depend on every input byte.
pub(crate) fn mix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x7feb_352d);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846c_a68b);
    h ^ (h >> 16)
}

/// Normalises digits so "2 weeks" and "3 weeks" share features.
fn shape(word: &str) -> String {
    word.chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

/// A crude English stemmer: strips one common inflectional suffix and a doubled final consonant
/// ("transferred" → "transfer", "topping" → "top", "charges" → "charg", "quickly" → "quick").
/// Consistency matters, not linguistic correctness: training and prediction stem alike.
fn stem(word: &str) -> &str {
    if !word.is_ascii() || word.len() <= 4 {
        return word;
    }
    let mut w = word;
    for suffix in ["ing", "ed", "es", "ly", "s"] {
        if let Some(rest) = w.strip_suffix(suffix) {
            if rest.len() >= 3 && !(suffix == "s" && rest.ends_with('s')) {
                w = rest;
                break;
            }
        }
    }
    let b = w.as_bytes();
    if w.len() != word.len() && b.len() >= 4 && b[b.len() - 1] == b[b.len() - 2] {
        let c = b[b.len() - 1];
        if !b"aeiouls".contains(&c) {
            w = &w[..w.len() - 1];
        }
    }
    w
}

fn is_currency(c: char) -> bool {
    matches!(c, '$' | '£' | '€' | '¥' | '￥')
}

/// Sparse feature vector: ids sorted ascending, each once.
pub type Features = Vec<(u32, f32)>;

/// Extracts the features of `text` under `cfg`.
pub fn extract(text: &str, cfg: &FeatureConfig) -> Features {
    extract_weighted(text, cfg, &|_| 1.0)
}

/// Like [`extract`], multiplying each feature's term weight by `idf(id)` before normalising.
pub fn extract_weighted(text: &str, cfg: &FeatureConfig, idf: &dyn Fn(u32) -> f32) -> Features {
    let norm = normalize(text);
    let tokens = tokenize(&norm);
    let mask = if cfg.bits >= 32 {
        u32::MAX
    } else {
        (1u32 << cfg.bits) - 1
    };
    let words: Vec<String> = tokens.iter().map(|t| shape(&t.text)).collect();
    // Currency signs join the word sequence (not the character n-grams) at their position.
    let mut word_seq: Vec<String> = Vec::new();
    if cfg.symbols && norm.chars().any(is_currency) {
        let mut next = tokens.iter().zip(&words).peekable();
        for (i, c) in norm.char_indices() {
            while let Some((t, w)) = next.peek() {
                if t.start > i {
                    break;
                }
                word_seq.push((*w).clone());
                next.next();
            }
            if is_currency(c) {
                word_seq.push(if c == '￥' { '¥' } else { c }.to_string());
            }
        }
        word_seq.extend(next.map(|(_, w)| w.clone()));
    }
    let seq: &[String] = if word_seq.is_empty() {
        &words
    } else {
        &word_seq
    };

    let mut word_ids: Vec<u32> = Vec::with_capacity(words.len() * cfg.word_ngrams as usize + 2);
    // Word n-grams with sentence boundary markers, so "how do i" at the start differs from inside.
    let mut padded: Vec<&str> = Vec::with_capacity(words.len() + 2);
    padded.push("\u{2}");
    padded.extend(seq.iter().map(|w| w.as_str()));
    padded.push("\u{3}");
    push_windows(&padded, cfg.word_ngrams as usize, b'w', mask, &mut word_ids);
    if cfg.stems {
        let stems: Vec<&str> = padded.iter().map(|w| stem(w)).collect();
        push_windows(&stems, 2, b'S', mask, &mut word_ids);
    }

    if cfg.skip_bigrams {
        for win in padded.windows(3) {
            let mut h = fnv(FNV_OFFSET, b"s");
            h = fnv(h, win[0].as_bytes());
            h = fnv(h, b" _ ");
            h = fnv(h, win[2].as_bytes());
            word_ids.push(mix(h) & mask);
        }
    }

    let mut char_ids: Vec<u32> = Vec::new();
    if cfg.char_max > 0 && cfg.char_weight > 0.0 {
        let mut buf: Vec<char> = Vec::new();
        let grams = |buf: &[char], char_ids: &mut Vec<u32>| {
            for n in cfg.char_min.max(1) as usize..=cfg.char_max as usize {
                if buf.len() < n {
                    break;
                }
                for win in buf.windows(n) {
                    let mut h = fnv(FNV_OFFSET, &[b'c', n as u8]);
                    let mut tmp = [0u8; 4];
                    for c in win {
                        h = fnv(h, c.encode_utf8(&mut tmp).as_bytes());
                    }
                    char_ids.push(mix(h) & mask);
                }
            }
        };
        if cfg.char_across_words {
            // One run per stretch of non-CJK words, padded at both ends.
            for (tok, w) in tokens.iter().zip(&words) {
                if tok.cjk {
                    if !buf.is_empty() {
                        buf.push('>');
                        grams(&buf, &mut char_ids);
                        buf.clear();
                    }
                    continue; // CJK n-grams are the word n-grams above.
                }
                buf.push(if buf.is_empty() { '<' } else { ' ' });
                buf.extend(w.chars());
            }
            if !buf.is_empty() {
                buf.push('>');
                grams(&buf, &mut char_ids);
            }
        } else {
            for (tok, w) in tokens.iter().zip(&words) {
                if tok.cjk {
                    continue; // CJK n-grams are the word n-grams above.
                }
                buf.clear();
                buf.push('<');
                buf.extend(w.chars());
                buf.push('>');
                grams(&buf, &mut char_ids);
            }
        }
    }

    let mut out = Vec::with_capacity(word_ids.len() + char_ids.len());
    push_group(&mut out, word_ids, cfg.word_weight, idf);
    push_group(&mut out, char_ids, cfg.char_weight, idf);
    edgedesk_sort::sort_by_key(&mut out, |f| f.0);
    // Two groups may hash to the same id: add their values.
    let mut merged: Features = Vec::with_capacity(out.len());
    for (id, v) in out {
        match merged.last_mut() {
            Some(last) if last.0 == id => last.1 += v,
            _ => merged.push((id, v)),
        }
    }
    merged
}

/// Counts ids, weights each by `1 + ln(count)`, L2-normalises the group and scales it.
fn push_group(out: &mut Features, mut ids: Vec<u32>, weight: f32, idf: &dyn Fn(u32) -> f32) {
    if ids.is_empty() || weight == 0.0 {
        return;
    }
    edgedesk_sort::sort(&mut ids);
    let start = out.len();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j < ids.len() && ids[j] == ids[i] {
            j += 1;
        }
        out.push((ids[i], (1.0 + ((j - i) as f32).ln()) * idf(ids[i])));
        i = j;
    }
    let norm = out[start..].iter().map(|f| f.1 * f.1).sum::<f32>().sqrt();
    if norm > 0.0 {
        for f in &mut out[start..] {
            f.1 *= weight / norm;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_sorted_unique_and_deterministic() {
        let cfg = FeatureConfig::default();
        let a = extract("Where is my card? My card!", &cfg);
        assert!(a.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(a, extract("where is MY card?  my card", &cfg));
    }

    #[test]
    fn each_group_has_the_configured_norm() {
        let cfg = FeatureConfig {
            char_max: 0,
            char_min: 0,
            ..FeatureConfig::default()
        };
        let f = extract("top up my account", &cfg);
        let norm: f32 = f.iter().map(|x| x.1 * x.1).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }

    #[test]
    fn typos_share_character_ngrams() {
        let cfg = FeatureConfig {
            word_weight: 0.0,
            ..FeatureConfig::default()
        };
        let a: Vec<u32> = extract("transfer", &cfg).into_iter().map(|f| f.0).collect();
        let b: Vec<u32> = extract("transfered", &cfg)
            .into_iter()
            .map(|f| f.0)
            .collect();
        let shared = a.iter().filter(|id| b.contains(id)).count();
        assert!(shared * 2 > a.len(), "{shared} of {}", a.len());
    }

    #[test]
    fn chinese_text_yields_character_bigrams() {
        let cfg = FeatureConfig::default();
        assert!(
            extract("明天", &cfg).len() >= 3,
            "two unigrams and at least one bigram"
        );
        assert!(extract("我的卡", &cfg) != extract("卡的我", &cfg));
    }

    #[test]
    fn the_stemmer_strips_one_inflection_and_a_doubled_consonant() {
        assert_eq!(stem("transferred"), "transfer");
        assert_eq!(stem("topping"), "top");
        assert_eq!(stem("cards"), "card");
        assert_eq!(stem("charged"), "charg");
        assert_eq!(stem("charges"), "charg");
        assert_eq!(stem("class"), "class", "a double s is not a plural");
        assert_eq!(stem("pin"), "pin");
        assert_eq!(stem("überweisung"), "überweisung");
    }

    #[test]
    fn stems_make_inflections_share_word_features() {
        let cfg = FeatureConfig {
            char_max: 0,
            char_min: 0,
            stems: true,
            ..FeatureConfig::default()
        };
        let ids = |t: &str| -> Vec<u32> { extract(t, &cfg).into_iter().map(|f| f.0).collect() };
        let (a, b) = (ids("i topped up"), ids("topping up"));
        assert!(
            a.iter().any(|id| b.contains(id)),
            "the stem bigram \"top up\" is shared"
        );
        let plain = FeatureConfig {
            stems: false,
            ..cfg.clone()
        };
        let shared = |c: &FeatureConfig| {
            let b: Vec<u32> = extract("topping up", c).into_iter().map(|f| f.0).collect();
            extract("i topped up", c)
                .iter()
                .filter(|f| b.contains(&f.0))
                .count()
        };
        assert!(shared(&cfg) > shared(&plain));
    }

    #[test]
    fn currency_signs_are_tokens_only_when_asked() {
        let plain = FeatureConfig::default();
        assert_eq!(extract("top up £10", &plain), extract("top up €10", &plain));
        let cfg = FeatureConfig {
            symbols: true,
            ..FeatureConfig::default()
        };
        assert_ne!(extract("top up £10", &cfg), extract("top up €10", &cfg));
        assert_eq!(extract("top up ￥10", &cfg), extract("top up ¥10", &cfg));
        assert_eq!(extract("top up 10", &cfg), extract("top up 10", &plain));
    }

    #[test]
    fn character_ngrams_can_span_word_boundaries() {
        let within = FeatureConfig {
            word_weight: 0.0,
            ..FeatureConfig::default()
        };
        let across = FeatureConfig {
            char_across_words: true,
            ..within.clone()
        };
        assert!(extract("my card", &across).len() > extract("my card", &within).len());
        assert_eq!(extract("card", &across), extract("card", &within));
    }
}
