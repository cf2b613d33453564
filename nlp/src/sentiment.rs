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

/// The sentiment of `text`: −1 (very negative) … 0 (neutral) … +1 (very positive).
pub fn sentiment(text: &str) -> f32 {
    let words = words(text);
    let all_caps = words
        .iter()
        .all(|w| w.1 || w.0.chars().all(|c| !c.is_alphabetic()));
    let mut sum = 0.0f32;
    let mut clause_weight = 1.0f32;
    let mut valences: Vec<(f32, f32)> = Vec::new(); // (valence, clause weight)
    for (i, (w, caps)) in words.iter().enumerate() {
        if CONTRAST.contains(&w.as_str()) {
            // Earlier clauses count half, later ones one and a half.
            for v in valences.iter_mut() {
                v.1 *= 0.5;
            }
            clause_weight = 1.5;
            continue;
        }
        let Some(mut v) = lookup(EN, w).or_else(|| lookup(ZH, w)) else {
            continue;
        };
        if v == 0.0 {
            continue;
        }
        if *caps && !all_caps {
            v *= 1.25;
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
                let m = 1.0 + (m - 1.0) * if dist == 1 { 1.0 } else { 0.8 };
                v *= m;
            }
        }
        if negated {
            v *= -0.74;
        }
        valences.push((v, clause_weight));
    }
    for (v, w) in valences {
        sum += v * w;
    }
    let bangs = text
        .chars()
        .filter(|c| *c == '!' || *c == '！')
        .count()
        .min(4) as f32;
    if sum != 0.0 {
        sum += sum.signum() * bangs * 0.292;
    }
    (sum / (sum * sum + 15.0).sqrt()).clamp(-1.0, 1.0)
}

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
        assert_eq!(sentiment("我想查一下余额"), 0.0);
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
