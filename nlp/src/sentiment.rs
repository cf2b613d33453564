//! Sentiment of one message, English or Chinese, as a score in [-1, 1].
//!
//! A lexicon scorer in the manner of VADER: each opinion word has a valence (−4 … +4); a negator
//! within the three preceding tokens flips and damps it, intensifiers and diminishers scale it,
//! words written in capitals and exclamation marks add emphasis, and after "but"/"但是" the later
//! clause counts more. Chinese text is segmented by longest match against the lexicon, so
//! "不满意" is one negative word while "不开心" is a negated positive one. The sum `s` is mapped
//! to `s / sqrt(s² + 15)`.
//!
//! Deterministic, allocation-light and dependency-free: it runs per message inside the request
//! handler, and routing rules compare the score with a tenant threshold.

use std::collections::HashMap;
use std::sync::OnceLock;

#[path = "sentiment_table.rs"]
mod table;

const EN: &[(&str, f32)] = &[
    ("good", 1.9),
    ("great", 3.1),
    ("excellent", 3.2),
    ("amazing", 2.8),
    ("awesome", 3.1),
    ("love", 3.2),
    ("loved", 2.9),
    ("lovely", 2.8),
    ("happy", 2.7),
    ("glad", 2.0),
    ("thanks", 1.9),
    ("thank", 1.5),
    ("appreciate", 1.7),
    ("appreciated", 2.3),
    ("helpful", 1.8),
    ("perfect", 2.7),
    ("nice", 1.8),
    ("wonderful", 2.7),
    ("fantastic", 2.6),
    ("best", 3.2),
    ("quick", 1.0),
    ("fast", 1.0),
    ("easy", 1.9),
    ("satisfied", 1.8),
    ("pleased", 1.9),
    ("resolved", 1.5),
    ("fixed", 1.0),
    ("recommend", 1.5),
    ("friendly", 2.2),
    ("brilliant", 2.8),
    ("cool", 1.3),
    ("fine", 0.8),
    ("smooth", 1.2),
    ("superb", 3.1),
    ("impressive", 2.2),
    ("delighted", 3.0),
    ("pleasant", 2.3),
    ("efficient", 1.8),
    ("reliable", 1.7),
    ("grateful", 2.2),
    ("enjoy", 2.2),
    ("enjoyed", 2.2),
    ("like", 1.5),
    ("liked", 1.8),
    ("works", 0.8),
    ("solved", 1.6),
    ("wow", 2.3),
    ("yay", 2.4),
    ("outstanding", 3.0),
    ("kind", 2.0),
    ("polite", 1.8),
    ("bad", -2.5),
    ("terrible", -3.2),
    ("awful", -3.1),
    ("horrible", -3.1),
    ("worst", -3.1),
    ("hate", -2.7),
    ("angry", -2.3),
    ("annoyed", -1.6),
    ("annoying", -1.9),
    ("frustrated", -2.0),
    ("frustrating", -2.2),
    ("disappointed", -1.9),
    ("disappointing", -2.2),
    ("useless", -1.8),
    ("broken", -1.6),
    ("rude", -2.0),
    ("slow", -1.2),
    ("scam", -2.8),
    ("fraud", -2.4),
    ("stolen", -1.7),
    ("ridiculous", -2.0),
    ("unacceptable", -2.6),
    ("poor", -2.1),
    ("wrong", -2.1),
    ("fail", -2.1),
    ("failed", -2.1),
    ("failure", -2.3),
    ("problem", -1.7),
    ("problems", -1.7),
    ("issue", -0.8),
    ("complaint", -1.5),
    ("complain", -1.4),
    ("sucks", -2.8),
    ("stupid", -2.4),
    ("pathetic", -2.7),
    ("incompetent", -2.5),
    ("furious", -2.9),
    ("upset", -1.6),
    ("unhappy", -1.8),
    ("disgusting", -3.0),
    ("nightmare", -2.8),
    ("ripoff", -2.6),
    ("misleading", -1.7),
    ("liar", -2.6),
    ("lied", -2.3),
    ("waste", -1.8),
    ("worse", -2.1),
    ("error", -1.4),
    ("declined", -1.0),
    ("blocked", -1.0),
    ("stuck", -1.5),
    ("delay", -1.3),
    ("delayed", -1.4),
    ("late", -0.8),
    ("missing", -1.2),
    ("lost", -1.3),
    ("mess", -1.9),
    ("confusing", -1.5),
    ("confused", -1.3),
    ("worried", -1.6),
    ("scared", -1.9),
    ("hopeless", -2.6),
    ("joke", -1.0),
    ("incorrect", -1.6),
    ("cheated", -2.6),
    ("shame", -2.1),
    ("shameful", -2.6),
    ("sad", -2.1),
    ("fed", -0.5),
    ("crap", -2.5),
    ("garbage", -2.4),
    ("trash", -2.3),
    ("damn", -1.7),
    ("wtf", -2.8),
    ("refuse", -1.2),
    ("ignored", -1.7),
    ("never", 0.0),
];

const ZH: &[(&str, f32)] = &[
    ("好", 1.9),
    ("很好", 2.5),
    ("不错", 2.0),
    ("满意", 2.0),
    ("非常满意", 3.0),
    ("喜欢", 2.4),
    ("爱", 2.6),
    ("谢谢", 1.9),
    ("感谢", 2.2),
    ("多谢", 2.0),
    ("棒", 2.8),
    ("优秀", 2.8),
    ("完美", 2.9),
    ("赞", 2.5),
    ("开心", 2.5),
    ("高兴", 2.5),
    ("快", 0.8),
    ("方便", 1.6),
    ("专业", 1.6),
    ("耐心", 1.6),
    ("及时", 1.5),
    ("解决了", 1.8),
    ("给力", 2.5),
    ("靠谱", 2.0),
    ("热情", 2.0),
    ("友好", 2.0),
    ("好用", 2.0),
    ("推荐", 1.5),
    ("厉害", 2.2),
    ("舒服", 2.0),
    ("顺利", 1.8),
    ("清楚", 1.2),
    ("好评", 2.5),
    ("值得", 1.5),
    ("差", -2.3),
    ("太差", -3.0),
    ("很差", -2.8),
    ("糟糕", -2.8),
    ("垃圾", -3.0),
    ("失望", -2.4),
    ("生气", -2.5),
    ("愤怒", -3.0),
    ("气死", -3.0),
    ("烦", -1.8),
    ("讨厌", -2.5),
    ("恶心", -2.9),
    ("骗子", -3.0),
    ("骗", -2.4),
    ("欺骗", -2.8),
    ("坑", -2.2),
    ("投诉", -1.8),
    ("不满", -2.2),
    ("不满意", -2.3),
    ("不行", -1.8),
    ("没用", -2.0),
    ("慢", -1.2),
    ("问题", -1.0),
    ("错误", -1.6),
    ("错", -1.4),
    ("失败", -2.0),
    ("丢失", -1.5),
    ("被盗", -1.8),
    ("延迟", -1.3),
    ("拖延", -1.8),
    ("敷衍", -2.3),
    ("态度差", -2.8),
    ("无语", -2.0),
    ("郁闷", -1.9),
    ("难过", -2.1),
    ("着急", -1.5),
    ("担心", -1.4),
    ("麻烦", -1.2),
    ("离谱", -2.4),
    ("过分", -2.2),
    ("坑人", -2.8),
    ("退款", -0.3),
    ("差评", -2.6),
    ("崩溃", -2.5),
    ("太慢", -2.0),
    ("乱扣", -2.5),
    ("乱收费", -2.6),
    ("卡住", -1.4),
    ("无法", -0.8),
    ("不能", -0.6),
    ("糟", -2.2),
    ("烂", -2.4),
    ("可恶", -2.6),
    ("受够", -2.6),
];

const NEGATORS: &[&str] = &[
    "not",
    "no",
    "never",
    "dont",
    "doesnt",
    "didnt",
    "isnt",
    "wasnt",
    "arent",
    "werent",
    "cant",
    "cannot",
    "couldnt",
    "wont",
    "wouldnt",
    "shouldnt",
    "havent",
    "hasnt",
    "hadnt",
    "nothing",
    "nobody",
    "neither",
    "nor",
    "without",
    "hardly",
    "aint",
    "不",
    "没",
    "没有",
    "别",
    "未",
    "无",
    "非",
    "不是",
    "不太",
    "不怎么",
];

const INTENSIFIERS: &[(&str, f32)] = &[
    ("very", 1.3),
    ("really", 1.3),
    ("so", 1.3),
    ("extremely", 1.5),
    ("absolutely", 1.4),
    ("totally", 1.4),
    ("completely", 1.4),
    ("incredibly", 1.5),
    ("highly", 1.3),
    ("too", 1.2),
    ("most", 1.3),
    ("utterly", 1.5),
    ("super", 1.4),
    ("especially", 1.3),
    ("quite", 1.1),
    ("such", 1.2),
    ("slightly", 0.6),
    ("somewhat", 0.7),
    ("bit", 0.7),
    ("little", 0.7),
    ("kinda", 0.7),
    ("barely", 0.5),
    ("fairly", 0.8),
    ("很", 1.3),
    ("非常", 1.5),
    ("太", 1.4),
    ("特别", 1.4),
    ("超", 1.4),
    ("超级", 1.5),
    ("极", 1.5),
    ("极其", 1.5),
    ("十分", 1.4),
    ("真", 1.3),
    ("真的", 1.3),
    ("最", 1.4),
    ("更", 1.2),
    ("越来越", 1.3),
    ("实在", 1.3),
    ("有点", 0.7),
    ("有些", 0.7),
    ("稍微", 0.6),
    ("略", 0.6),
];

const CONTRAST: &[&str] = &["but", "however", "但是", "但", "可是", "不过"];

fn lookup<T: Copy>(table: &[(&str, T)], w: &str) -> Option<T> {
    table.iter().find(|(k, _)| *k == w).map(|(_, v)| *v)
}

fn longest_zh_entry() -> usize {
    ZH.iter()
        .map(|(k, _)| k.chars().count())
        .chain(NEGATORS.iter().chain(CONTRAST).map(|k| k.chars().count()))
        .chain(INTENSIFIERS.iter().map(|(k, _)| k.chars().count()))
        .max()
        .unwrap_or(1)
}

fn known_zh(w: &str) -> bool {
    lookup(ZH, w).is_some()
        || NEGATORS.contains(&w)
        || CONTRAST.contains(&w)
        || lookup(INTENSIFIERS, w).is_some()
}

/// Splits text into words: Latin words as tokenised, CJK runs by longest lexicon match.
fn words(text: &str) -> Vec<(String, bool)> {
    // (word, written in capitals)
    let mut out = Vec::new();
    let max = longest_zh_entry();
    let mut run: Vec<char> = Vec::new();
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<(String, bool)>| {
        let mut i = 0;
        while i < run.len() {
            let mut len = max.min(run.len() - i);
            while len > 1 && !known_zh(&run[i..i + len].iter().collect::<String>()) {
                len -= 1;
            }
            out.push((run[i..i + len].iter().collect(), false));
            i += len;
        }
        run.clear();
    };
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if crate::text::is_cjk(c) {
            if !word.is_empty() {
                push_word(&mut word, &mut out);
            }
            run.push(c);
            continue;
        }
        flush_run(&mut run, &mut out);
        if c.is_alphanumeric() {
            word.push(c);
        } else if (c == '\'' || c == '’') && matches!(chars.peek(), Some(n) if n.is_alphabetic())
        {
            // "don't" → "dont"
        } else if !word.is_empty() {
            push_word(&mut word, &mut out);
        }
    }
    flush_run(&mut run, &mut out);
    if !word.is_empty() {
        push_word(&mut word, &mut out);
    }
    out
}

fn push_word(word: &mut String, out: &mut Vec<(String, bool)>) {
    let caps = word.chars().count() > 1
        && word.chars().all(|c| !c.is_lowercase())
        && word.chars().any(|c| c.is_uppercase());
    out.push((word.to_lowercase(), caps));
    word.clear();
}

/// One opinion-bearing unit of a text for the learned table: its key and the factor negation,
/// intensifiers, capitals and clause position give it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub key: String,
    pub factor: f32,
}

/// What the scorer sees in a text: the weighted lexicon sum, the cues the learned table may add
/// to, and the count of exclamation marks.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub lexicon: f32,
    pub cues: Vec<Cue>,
    pub bangs: f32,
}

/// Whether `w` only modifies other words (never itself carries the learned weight).
fn is_modifier(w: &str) -> bool {
    NEGATORS.contains(&w) || CONTRAST.contains(&w) || lookup(INTENSIFIERS, w).is_some()
}

/// Splits `text` into lexicon hits and learned-table cues with their modifiers applied.
/// English cues are words; Chinese cues are the character bigrams of each CJK run (they cannot
/// collide with Latin words).
pub fn analyse(text: &str) -> Analysis {
    let words = words(text);
    let all_caps = words
        .iter()
        .all(|w| w.1 || w.0.chars().all(|c| !c.is_alphabetic()));
    let mut clause_weight = 1.0f32;
    let mut valences: Vec<(f32, f32)> = Vec::new(); // (valence, clause weight)
    let mut cues: Vec<(Cue, usize)> = Vec::new(); // (cue, index into valences' clause order)
    let mut cue_clause: Vec<f32> = Vec::new();
    for (i, (w, caps)) in words.iter().enumerate() {
        if CONTRAST.contains(&w.as_str()) {
            // Earlier clauses count half, later ones one and a half.
            for v in valences.iter_mut() {
                v.1 *= 0.5;
            }
            for c in cue_clause.iter_mut() {
                *c *= 0.5;
            }
            clause_weight = 1.5;
            continue;
        }
        let latin = !w.chars().any(crate::text::is_cjk);
        let lex = lookup(EN, w).or_else(|| lookup(ZH, w)).unwrap_or(0.0);
        let cue = latin && !is_modifier(w) && w.chars().any(|c| c.is_alphabetic());
        if lex == 0.0 && !cue {
            continue;
        }
        let mut factor = 1.0f32;
        if *caps && !all_caps {
            factor *= 1.25;
        }
        let from = i.saturating_sub(3);
        let mut negated = false;
        for (k, (p, _)) in words[from..i].iter().enumerate() {
            if NEGATORS.contains(&p.as_str()) {
                negated = !negated;
            }
            if let Some(m) = lookup(INTENSIFIERS, p) {
                // The nearer the intensifier, the stronger its effect.
                let dist = i - (from + k);
                factor *= 1.0 + (m - 1.0) * if dist == 1 { 1.0 } else { 0.8 };
            }
        }
        if negated {
            factor *= -0.74;
        }
        if lex != 0.0 {
            valences.push((lex * factor, clause_weight));
        }
        if cue {
            cues.push((
                Cue {
                    key: w.clone(),
                    factor,
                },
                cue_clause.len(),
            ));
            cue_clause.push(clause_weight);
        }
    }
    let mut cues: Vec<Cue> = cues
        .into_iter()
        .map(|(mut c, k)| {
            c.factor *= cue_clause[k];
            c
        })
        .collect();
    // Chinese: character bigrams of every CJK run ("不好", "好用", "差评"), which carry
    // negation and compounds themselves (single characters crowd them out of a small table).
    // They only speak when the lexicon found nothing: where it did, its negation and
    // intensifier rules are more precise than bigrams learned from shopping reviews.
    let mut run: Vec<char> = Vec::new();
    let lexicon_silent = valences.is_empty();
    for c in text.chars().chain(std::iter::once(' ')) {
        if !lexicon_silent {
            break;
        }
        if crate::text::is_cjk(c) {
            run.push(c);
            continue;
        }
        for pair in run.windows(2) {
            cues.push(Cue {
                key: pair.iter().collect(),
                factor: 1.0,
            });
        }
        run.clear();
    }
    let bangs = text
        .chars()
        .filter(|c| *c == '!' || *c == '！')
        .count()
        .min(4) as f32;
    Analysis {
        lexicon: valences.iter().map(|(v, w)| v * w).sum(),
        cues,
        bangs,
    }
}

/// The raw (unbounded) score of an analysis under a learned table `learned(key)`.
pub fn raw_score(a: &Analysis, learned: &dyn Fn(&str) -> f32) -> f32 {
    let mut sum = a.lexicon;
    for c in &a.cues {
        sum += c.factor * learned(&c.key);
    }
    if sum != 0.0 {
        sum += sum.signum() * a.bangs * 0.292;
    }
    sum
}

/// Maps a raw score to [-1, 1].
pub fn squash(sum: f32) -> f32 {
    (sum / (sum * sum + 15.0).sqrt()).clamp(-1.0, 1.0)
}

fn learned_table() -> &'static HashMap<&'static str, f32> {
    static TABLE: OnceLock<HashMap<&'static str, f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        table::KEYS
            .split('\n')
            .zip(table::WEIGHTS)
            .map(|(k, &w)| (k, w as f32 / table::SCALE))
            .collect()
    })
}

/// The sentiment of `text`: −1 (very negative) … 0 (neutral) … +1 (very positive).
pub fn sentiment(text: &str) -> f32 {
    let t = learned_table();
    squash(raw_score(&analyse(text), &|k| {
        t.get(k).copied().unwrap_or(0.0)
    }))
}

/// Settings for learning the cue table (see [`train_cues`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CueTraining {
    pub epochs: u32,
    pub learning_rate: f32,
    pub l2: f32,
    /// Cues seen in fewer training texts are not learned.
    pub min_count: u32,
    /// How many Latin-word cues and how many CJK-bigram cues are kept (largest weights first).
    pub keep_latin: usize,
    pub keep_cjk: usize,
}

impl Default for CueTraining {
    fn default() -> Self {
        CueTraining {
            epochs: 10,
            learning_rate: 0.05,
            l2: 1e-4,
            min_count: 5,
            // English cues learned on two of the UCI domains do not help on the third (see the
            // README): English stays lexicon-only.
            keep_latin: 0,
            keep_cjk: 1200,
        }
    }
}

/// Learns cue weights by logistic regression on `P(positive) = σ(raw score)`, with the lexicon
/// sum as a fixed offset so the table only learns what the lexicon misses. Returns the kept
/// cues, sorted by key, with weights quantised to `i8` in units of `1 / scale`.
pub fn train_cues(examples: &[(&str, bool)], cfg: &CueTraining, scale: f32) -> Vec<(String, i8)> {
    let analysed: Vec<(Analysis, bool)> = examples.iter().map(|(t, y)| (analyse(t), *y)).collect();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut count: Vec<u32> = Vec::new();
    let xs: Vec<Vec<(usize, f32)>> = analysed
        .iter()
        .map(|(a, _)| {
            let mut seen: Vec<usize> = Vec::new();
            let x = a
                .cues
                .iter()
                .map(|c| {
                    let next = index.len();
                    let k = *index.entry(c.key.clone()).or_insert(next);
                    if k == count.len() {
                        count.push(0);
                    }
                    if !seen.contains(&k) {
                        seen.push(k);
                        count[k] += 1;
                    }
                    (k, c.factor)
                })
                .collect();
            x
        })
        .collect();
    let mut w = vec![0f32; index.len()];
    // A fixed, seeded order (SplitMix64 shuffle) keeps the table reproducible.
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut state = 0x5eed_u64;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for _ in 0..cfg.epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, (next() % (i as u64 + 1)) as usize);
        }
        for &i in &order {
            let (a, y) = &analysed[i];
            let mut sum = a.lexicon;
            for &(k, f) in &xs[i] {
                if count[k] >= cfg.min_count {
                    sum += f * w[k];
                }
            }
            let p = 1.0 / (1.0 + (-sum).exp());
            let g = p - if *y { 1.0 } else { 0.0 };
            for &(k, f) in &xs[i] {
                if count[k] >= cfg.min_count {
                    w[k] -= cfg.learning_rate * (g * f + cfg.l2 * w[k]);
                }
            }
        }
    }
    let mut latin: Vec<(String, f32)> = Vec::new();
    let mut cjk: Vec<(String, f32)> = Vec::new();
    for (key, k) in index {
        let q = (w[k] * scale).round();
        if count[k] < cfg.min_count || q == 0.0 {
            continue;
        }
        if key.chars().any(crate::text::is_cjk) {
            cjk.push((key, w[k]));
        } else {
            latin.push((key, w[k]));
        }
    }
    let mut kept = Vec::new();
    for (mut v, keep) in [(latin, cfg.keep_latin), (cjk, cfg.keep_cjk)] {
        v.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        v.truncate(keep);
        kept.extend(
            v.into_iter()
                .map(|(k, w)| (k, (w * scale).round().clamp(-127.0, 127.0) as i8)),
        );
    }
    kept.sort();
    kept
}

/// The scale the shipped table's weights are stored in.
pub const TABLE_SCALE: f32 = table::SCALE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_praise_is_positive_and_complaints_negative() {
        assert!(sentiment("Thanks, the support was great and very helpful") > 0.5);
        assert!(sentiment("This is terrible, the worst service ever. I hate it") < -0.5);
    }

    #[test]
    fn neutral_questions_score_near_zero() {
        assert_eq!(sentiment("How do I change my PIN?"), 0.0);
        // Chinese text without lexicon words gets the learned bigram cues: weak, never near
        // the bot's handoff threshold (-0.5).
        let s = sentiment("我想查一下余额");
        assert!(s.abs() < 0.25, "{s}");
    }

    #[test]
    fn negation_flips_polarity() {
        assert!(sentiment("not good") < 0.0);
        assert!(sentiment("I'm not happy with this") < 0.0);
        assert!(sentiment("not bad at all") > 0.0);
        assert!(sentiment("我不开心") < 0.0);
        assert!(sentiment("没有问题") > 0.0);
    }

    #[test]
    fn intensifiers_and_emphasis_strengthen_the_score() {
        assert!(sentiment("very good") > sentiment("good"));
        assert!(sentiment("slightly annoying") > sentiment("annoying"));
        assert!(sentiment("this is BAD") < sentiment("this is bad"));
        assert!(sentiment("terrible!!!") < sentiment("terrible"));
        assert!(sentiment("非常满意") > sentiment("满意"));
        assert!(sentiment("太差了") < sentiment("差"));
    }

    #[test]
    fn chinese_compound_words_are_matched_whole() {
        assert!(
            sentiment("我很不满意") < -0.4,
            "不满意 is negative, not negated 满意"
        );
        assert!(sentiment("服务不错，谢谢") > 0.4, "不错 is positive");
        assert!(sentiment("客服态度差，我要投诉！") < -0.5);
        assert!(sentiment("你们就是骗子，垃圾银行") < -0.7);
        assert!(sentiment("问题解决了，非常感谢") > 0.3);
    }

    #[test]
    fn the_clause_after_but_dominates() {
        assert!(sentiment("The app is nice but the support is awful") < 0.0);
        assert!(sentiment("虽然有点慢，但是服务很好") > 0.0);
    }

    #[test]
    fn scores_stay_within_bounds() {
        let rant = "TERRIBLE AWFUL WORST HORRIBLE SCAM FRAUD!!!! ".repeat(20);
        let s = sentiment(&rant);
        assert!((-1.0..=-0.9).contains(&s), "{s}");
        assert!(sentiment(&"great ".repeat(50)) <= 1.0);
        assert_eq!(sentiment(""), 0.0);
    }
}
