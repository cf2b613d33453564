//! Duplicate ticket suggestions: when a ticket is created, which open tickets of the same
//! requester look like the same request.
//!
//! Texts become sparse term vectors and are compared by cosine similarity. Latin-script and
//! other space-separated text gives lowercase words (minus a few English stop words) plus
//! character trigrams of each word, so "charged" still meets "charge". Chinese, Japanese and
//! Korean text has no spaces, so runs of those scripts give character bigrams, the usual unit
//! for such text. The subject counts double. The final score damps similarity by age: a
//! look-alike from last week is more likely the same request than one from last quarter.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Instant;
use crate::ids::{ContactId, TenantId, TicketId};
use crate::model::{Ticket, TicketStatus};
use crate::sort::sort_by;

/// A ticket as the duplicate search sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateCandidate {
    pub id: TicketId,
    pub tenant_id: TenantId,
    pub requester_id: Option<ContactId>,
    /// Not solved or closed (merged tickets are closed).
    pub open: bool,
    pub subject: String,
    pub body: String,
    pub created_at: Instant,
}

impl From<&Ticket> for DuplicateCandidate {
    fn from(t: &Ticket) -> Self {
        DuplicateCandidate {
            id: t.id,
            tenant_id: t.tenant_id,
            requester_id: t.requester_id,
            open: !matches!(t.status, TicketStatus::Solved | TicketStatus::Closed),
            subject: t.subject.clone(),
            body: t.description.clone(),
            created_at: t.created_at,
        }
    }
}

fn default_min_similarity() -> f64 {
    0.3
}
fn default_half_life_days() -> f64 {
    14.0
}
fn default_max_age_days() -> u32 {
    90
}
fn default_max_results() -> usize {
    5
}

/// Tuning of the suggestions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateSettings {
    /// Cosine similarity a candidate needs, in (0, 1].
    #[serde(default = "default_min_similarity")]
    pub min_similarity: f64,
    /// Age at which the recency factor has dropped halfway from 1 towards 0.5.
    #[serde(default = "default_half_life_days")]
    pub half_life_days: f64,
    /// Older candidates are not considered.
    #[serde(default = "default_max_age_days")]
    pub max_age_days: u32,
    #[serde(default = "default_max_results")]
    pub max_results: usize,
}

impl Default for DuplicateSettings {
    fn default() -> Self {
        DuplicateSettings {
            min_similarity: default_min_similarity(),
            half_life_days: default_half_life_days(),
            max_age_days: default_max_age_days(),
            max_results: default_max_results(),
        }
    }
}

/// Why duplicate settings are refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DuplicateSettingsError {
    #[error("the minimum similarity must be above 0 and at most 1, not {0}")]
    MinSimilarity(f64),
    #[error("the half-life must be a positive number of days, not {0}")]
    HalfLife(f64),
    #[error("at least one result must be allowed")]
    NoResults,
}

impl DuplicateSettings {
    pub fn validate(&self) -> Result<(), DuplicateSettingsError> {
        if !(self.min_similarity > 0.0 && self.min_similarity <= 1.0) {
            return Err(DuplicateSettingsError::MinSimilarity(self.min_similarity));
        }
        if !(self.half_life_days.is_finite() && self.half_life_days > 0.0) {
            return Err(DuplicateSettingsError::HalfLife(self.half_life_days));
        }
        if self.max_results == 0 {
            return Err(DuplicateSettingsError::NoResults);
        }
        Ok(())
    }
}

/// A suggested duplicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateSuggestion {
    pub ticket_id: TicketId,
    /// Similarity damped by age: the ranking key.
    pub score: f64,
    /// Cosine similarity of the texts, 0..=1.
    pub similarity: f64,
}

/// Open tickets of the same tenant and requester as `new` that look like the same request,
/// best first, at most `settings.max_results`. A ticket without a requester gets none.
pub fn suggest_duplicates(
    new: &DuplicateCandidate,
    candidates: &[DuplicateCandidate],
    settings: &DuplicateSettings,
) -> Vec<DuplicateSuggestion> {
    let Some(requester) = new.requester_id else {
        return Vec::new();
    };
    let query = TermVector::of_ticket(&new.subject, &new.body);
    let max_age_days = f64::from(settings.max_age_days);
    let mut found: Vec<(DuplicateSuggestion, Instant)> = candidates
        .iter()
        .filter(|c| {
            c.id != new.id
                && c.open
                && c.tenant_id == new.tenant_id
                && c.requester_id == Some(requester)
        })
        .filter_map(|c| {
            let age_days =
                (new.created_at - c.created_at).num_seconds().unsigned_abs() as f64 / 86_400.0;
            if age_days > max_age_days {
                return None;
            }
            let similarity = query.cosine(&TermVector::of_ticket(&c.subject, &c.body));
            if similarity < settings.min_similarity {
                return None;
            }
            let recency = 0.5 + 0.5 * 0.5f64.powf(age_days / settings.half_life_days);
            Some((
                DuplicateSuggestion {
                    ticket_id: c.id,
                    score: similarity * recency,
                    similarity,
                },
                c.created_at,
            ))
        })
        .collect();
    sort_by(&mut found, |(a, a_at), (b, b_at)| {
        b.score
            .total_cmp(&a.score)
            .then(b_at.cmp(a_at))
            .then(a.ticket_id.cmp(&b.ticket_id))
    });
    found
        .into_iter()
        .take(settings.max_results)
        .map(|(s, _)| s)
        .collect()
}

/// Cosine similarity of two texts, 0..=1 (exposed for callers that compare other texts).
pub fn text_similarity(a: &str, b: &str) -> f64 {
    TermVector::of_text(a, 1.0).cosine(&TermVector::of_text(b, 1.0))
}

/// Weight of a character trigram relative to a whole word: enough to bridge inflections
/// without letting shared fragments of unrelated words dominate.
const TRIGRAM_WEIGHT: f64 = 0.3;

/// Words too common in support requests to say anything about the topic.
const STOP_WORDS: &[&str] = &[
    "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "did", "do", "does", "for", "from", "get", "got", "had", "has", "have", "hello", "hi",
    "how", "i", "if", "in", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our",
    "please", "so", "thanks", "that", "the", "their", "there", "this", "to", "up", "was", "we",
    "what", "when", "why", "will", "with", "would", "you", "your",
];

/// Single CJK characters too common to count on their own (they still count in bigrams).
const CJK_STOP_CHARS: &[char] = &[
    '的', '了', '是', '我', '你', '在', '吗', '呢', '吧', '啊', '和', '有', '也', '就', '都', '请',
];

/// Sparse term weights with their norm.
#[derive(Debug, Default)]
struct TermVector {
    weights: BTreeMap<String, f64>,
}

impl TermVector {
    fn of_ticket(subject: &str, body: &str) -> Self {
        let mut v = TermVector::of_text(subject, 2.0);
        v.extend(&TermVector::of_text(body, 1.0));
        v.finish()
    }

    /// Raw term counts of `text`, each occurrence weighing `weight`.
    fn of_text(text: &str, weight: f64) -> Self {
        let mut v = TermVector::default();
        let lower = text.to_lowercase();
        let mut word = String::new();
        let mut run: Vec<char> = Vec::new();
        for ch in lower.chars().chain(std::iter::once(' ')) {
            if is_cjk(ch) {
                v.add_word(&word, weight);
                word.clear();
                run.push(ch);
            } else if ch.is_alphanumeric() {
                v.add_cjk_run(&run, weight);
                run.clear();
                word.push(ch);
            } else {
                v.add_word(&word, weight);
                word.clear();
                v.add_cjk_run(&run, weight);
                run.clear();
            }
        }
        v
    }

    fn add(&mut self, term: String, weight: f64) {
        *self.weights.entry(term).or_insert(0.0) += weight;
    }

    fn add_word(&mut self, word: &str, weight: f64) {
        if word.chars().count() < 2 || STOP_WORDS.contains(&word) {
            return;
        }
        self.add(format!("w:{word}"), weight);
        let padded: Vec<char> = std::iter::once('^')
            .chain(word.chars())
            .chain(std::iter::once('$'))
            .collect();
        for gram in padded.windows(3) {
            self.add(
                format!("t:{}", gram.iter().collect::<String>()),
                weight * TRIGRAM_WEIGHT,
            );
        }
    }

    fn add_cjk_run(&mut self, run: &[char], weight: f64) {
        match run {
            [] => {}
            [single] if CJK_STOP_CHARS.contains(single) => {}
            [single] => self.add(format!("c:{single}"), weight),
            _ => {
                for pair in run.windows(2) {
                    self.add(format!("c:{}{}", pair[0], pair[1]), weight);
                }
            }
        }
    }

    fn extend(&mut self, other: &TermVector) {
        for (term, w) in &other.weights {
            self.add(term.clone(), *w);
        }
    }

    /// Sublinear term frequency: the tenth "refund" says less than the first.
    fn finish(mut self) -> Self {
        for w in self.weights.values_mut() {
            *w = if *w > 1.0 { 1.0 + w.ln() } else { *w };
        }
        self
    }

    fn norm(&self) -> f64 {
        self.weights.values().map(|w| w * w).sum::<f64>().sqrt()
    }

    fn cosine(&self, other: &TermVector) -> f64 {
        let (small, large) = if self.weights.len() <= other.weights.len() {
            (self, other)
        } else {
            (other, self)
        };
        let dot: f64 = small
            .weights
            .iter()
            .filter_map(|(t, w)| large.weights.get(t).map(|v| w * v))
            .sum();
        let norms = self.norm() * other.norm();
        if norms > 0.0 {
            (dot / norms).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// Scripts written without spaces between words: Han, kana, Hangul (and their punctuation-free
/// extensions), which get character bigrams instead of words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // Hiragana, Katakana
        | 0x3400..=0x4DBF   // CJK Extension A
        | 0x4E00..=0x9FFF   // CJK Unified Ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF   // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F // CJK Extensions B.. and supplement
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn tenant() -> TenantId {
        TenantId::from_parts(1_700_000_000_000, 1)
    }

    fn requester(n: u128) -> ContactId {
        ContactId::from_parts(1_700_000_000_000, n)
    }

    fn now() -> Instant {
        "2024-05-13T12:00:00Z".parse().expect("instant")
    }

    fn candidate(n: u128, subject: &str, body: &str, days_ago: i64) -> DuplicateCandidate {
        DuplicateCandidate {
            id: TicketId::from_parts(1_700_000_000_000, n),
            tenant_id: tenant(),
            requester_id: Some(requester(1)),
            open: true,
            subject: subject.into(),
            body: body.into(),
            created_at: now() - TimeDelta::days(days_ago),
        }
    }

    fn ids(suggestions: &[DuplicateSuggestion]) -> Vec<TicketId> {
        suggestions.iter().map(|s| s.ticket_id).collect()
    }

    #[test]
    fn a_similar_english_request_is_suggested_and_unrelated_ones_are_not() {
        let new = candidate(
            100,
            "Charged twice for my subscription",
            "My card was charged two times this month.",
            0,
        );
        let candidates = [
            candidate(
                1,
                "Double charge on subscription",
                "I see two charges for the subscription on my card.",
                2,
            ),
            candidate(
                2,
                "How do I reset my password?",
                "I forgot my password and cannot log in.",
                1,
            ),
            candidate(
                3,
                "Feature request: dark mode",
                "Would love a dark theme.",
                3,
            ),
        ];
        let found = suggest_duplicates(&new, &candidates, &DuplicateSettings::default());
        assert_eq!(ids(&found), vec![candidates[0].id]);
        assert!(found[0].similarity > 0.3 && found[0].score <= found[0].similarity);
    }

    #[test]
    fn a_similar_chinese_request_is_suggested_and_unrelated_ones_are_not() {
        let new = candidate(
            100,
            "订单还没有发货",
            "我的订单已经付款三天了，还没有发货，请帮忙查一下。",
            0,
        );
        let candidates = [
            candidate(1, "订单一直没发货", "付款以后订单一直没有发货。", 1),
            candidate(2, "如何修改密码", "我忘记了登录密码，怎么重置？", 1),
            candidate(3, "发票问题", "请问可以开发票吗？", 2),
        ];
        let found = suggest_duplicates(&new, &candidates, &DuplicateSettings::default());
        assert_eq!(ids(&found), vec![candidates[0].id]);
    }

    #[test]
    fn mixed_chinese_and_english_text_is_compared_on_both() {
        let a = "App 登录失败 error 403";
        let b = "登录失败，app 提示 error 403";
        let c = "退款什么时候到账";
        assert!(text_similarity(a, b) > 0.5, "{}", text_similarity(a, b));
        assert!(text_similarity(a, c) < 0.05, "{}", text_similarity(a, c));
    }

    #[test]
    fn only_open_tickets_of_the_same_tenant_and_requester_count() {
        let new = candidate(100, "Refund for order 5521", "Please refund order 5521", 0);
        let same = |n| candidate(n, "Refund for order 5521", "Refund order 5521 please", 1);
        let closed = DuplicateCandidate {
            open: false,
            ..same(1)
        };
        let other_requester = DuplicateCandidate {
            requester_id: Some(requester(2)),
            ..same(2)
        };
        let other_tenant = DuplicateCandidate {
            tenant_id: TenantId::from_parts(1, 9),
            ..same(3)
        };
        let itself = new.clone();
        let good = same(4);
        let found = suggest_duplicates(
            &new,
            &[closed, other_requester, other_tenant, itself, good.clone()],
            &DuplicateSettings::default(),
        );
        assert_eq!(ids(&found), vec![good.id]);

        let anonymous = DuplicateCandidate {
            requester_id: None,
            ..new
        };
        assert!(suggest_duplicates(&anonymous, &[good], &DuplicateSettings::default()).is_empty());
    }

    #[test]
    fn recent_look_alikes_rank_above_old_ones_and_very_old_ones_drop_out() {
        let new = candidate(
            100,
            "Cannot log in to the dashboard",
            "Login fails with an error",
            0,
        );
        let recent = candidate(
            1,
            "Cannot log in to the dashboard",
            "Login fails with an error",
            1,
        );
        let older = candidate(
            2,
            "Cannot log in to the dashboard",
            "Login fails with an error",
            40,
        );
        let ancient = candidate(
            3,
            "Cannot log in to the dashboard",
            "Login fails with an error",
            200,
        );
        let found = suggest_duplicates(
            &new,
            &[older.clone(), ancient, recent.clone()],
            &DuplicateSettings::default(),
        );
        assert_eq!(ids(&found), vec![recent.id, older.id]);
        assert!(found[0].score > found[1].score);
        assert!((found[0].similarity - 1.0).abs() < 1e-9);
    }

    #[test]
    fn results_are_capped() {
        let new = candidate(100, "Printer offline", "The printer is offline again", 0);
        let many: Vec<_> = (1..=9)
            .map(|n| candidate(n, "Printer offline", "The printer is offline", n as i64))
            .collect();
        let settings = DuplicateSettings {
            max_results: 3,
            ..DuplicateSettings::default()
        };
        let found = suggest_duplicates(&new, &many, &settings);
        assert_eq!(ids(&found), vec![many[0].id, many[1].id, many[2].id]);
    }

    #[test]
    fn empty_or_punctuation_only_texts_are_never_similar() {
        assert_eq!(text_similarity("", ""), 0.0);
        assert_eq!(text_similarity("?!", "..."), 0.0);
        assert_eq!(text_similarity("the and of", "the and of"), 0.0);
    }

    #[test]
    fn invalid_settings_are_refused() {
        let bad = |s: DuplicateSettings| s.validate().is_err();
        assert!(bad(DuplicateSettings {
            min_similarity: 0.0,
            ..DuplicateSettings::default()
        }));
        assert!(bad(DuplicateSettings {
            min_similarity: 1.5,
            ..DuplicateSettings::default()
        }));
        assert!(bad(DuplicateSettings {
            min_similarity: f64::NAN,
            ..DuplicateSettings::default()
        }));
        assert!(bad(DuplicateSettings {
            half_life_days: 0.0,
            ..DuplicateSettings::default()
        }));
        assert!(bad(DuplicateSettings {
            max_results: 0,
            ..DuplicateSettings::default()
        }));
        assert!(DuplicateSettings::default().validate().is_ok());
    }
}
