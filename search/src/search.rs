//! Query execution: expanding query terms (exact, prefix, typo) and ranking with BM25F.
//!
//! Each query token becomes a *group* of index terms: the exact term, completions of the last
//! word while the visitor types, or, when a word is not in the index at all, its near
//! neighbours within the typo budget. A document scores the best of a group's terms (so a
//! word and its completions never count twice), summed over groups.
//!
//! Scoring is BM25F (Robertson & Zaragoza): per-field frequencies are length-normalised and
//! weighted (title above tags above body) before one saturation, so a title match beats a body
//! match and a rare term outweighs a common one.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use serde::Serialize;

use crate::analysis::{query_tokens, QueryToken};
use crate::fuzzy;
use crate::index::{Index, Term};
use crate::records::NUM_FIELDS;
use crate::snippet;

/// BM25 term-frequency saturation.
const K1: f32 = 1.2;
/// Field weights: title, body, tags.
const FIELD_WEIGHT: [f32; NUM_FIELDS] = [3.0, 1.0, 2.0];
/// Field length normalisation: titles and tag lists vary little in length, bodies a lot.
const FIELD_B: [f32; NUM_FIELDS] = [0.4, 0.75, 0.3];
/// Score factor of a completion of the word being typed, relative to an exact match.
const PREFIX_WEIGHT: f32 = 0.85;
/// Score factor of a term one and two typos away.
const TYPO_WEIGHT: [f32; 3] = [1.0, 0.7, 0.5];
/// Query tokens beyond this are ignored (a pasted paragraph is not a query).
const MAX_GROUPS: usize = 32;
/// Completions kept per prefix (the most frequent ones).
const MAX_COMPLETIONS: usize = 16;
/// Dictionary entries examined per prefix, bounding one-letter prefixes.
const MAX_PREFIX_SCAN: usize = 4096;
/// Typo corrections kept per word.
const MAX_CORRECTIONS: usize = 6;
/// Largest page size served.
pub const MAX_LIMIT: usize = 100;
/// Default excerpt length in characters.
pub const DEFAULT_SNIPPET_CHARS: usize = 160;

/// A search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchRequest<'a> {
    pub query: &'a str,
    /// Only articles of this locale, or of this language (`zh` admits `zh-CN`).
    pub locale: Option<&'a str>,
    /// Page size, at most [`MAX_LIMIT`].
    pub limit: usize,
    pub offset: usize,
    /// Treat the last word as unfinished and complete it (type-ahead suggestions). It only
    /// counts as unfinished when the query does not end in a space or punctuation; then even a
    /// stop word ("a", on the way to "account") is completed.
    pub as_you_type: bool,
    /// Excerpt length in characters.
    pub snippet_chars: usize,
}

impl<'a> SearchRequest<'a> {
    /// The first ten hits for `query` in any locale.
    pub fn new(query: &'a str) -> Self {
        SearchRequest {
            query,
            locale: None,
            limit: 10,
            offset: 0,
            as_you_type: false,
            snippet_chars: DEFAULT_SNIPPET_CHARS,
        }
    }

    pub fn locale(self, locale: &'a str) -> Self {
        SearchRequest {
            locale: Some(locale),
            ..self
        }
    }

    pub fn page(self, limit: usize, offset: usize) -> Self {
        SearchRequest {
            limit,
            offset,
            ..self
        }
    }

    pub fn as_you_type(self) -> Self {
        SearchRequest {
            as_you_type: true,
            ..self
        }
    }

    pub fn snippet_chars(self, snippet_chars: usize) -> Self {
        SearchRequest {
            snippet_chars,
            ..self
        }
    }
}

/// One ranked article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: String,
    pub locale: String,
    pub score: f32,
    /// The title, HTML-escaped, matches wrapped in `<mark>`.
    pub title_html: String,
    /// An excerpt of the body around the matches, HTML-escaped, matches wrapped in `<mark>`.
    pub snippet_html: String,
}

/// A page of hits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// Matching articles in all pages.
    pub total: usize,
    pub hits: Vec<Hit>,
}

/// Index terms standing for one query token, with their score factors.
type Group<'i> = Vec<(&'i str, &'i Term, f32)>;

/// Collection statistics fixed for the duration of a query.
struct Scorer {
    docs: f32,
    /// Per field: `1 - b` and `b / average length`.
    norm: [(f32, f32); NUM_FIELDS],
}

impl Scorer {
    fn new(index: &Index) -> Self {
        let docs = index.live.max(1) as f32;
        let mut norm = [(1.0, 0.0); NUM_FIELDS];
        for (f, n) in norm.iter_mut().enumerate() {
            let avg = index.totals[f] as f32 / docs;
            if avg > 0.0 {
                *n = (1.0 - FIELD_B[f], FIELD_B[f] / avg);
            }
        }
        Scorer { docs, norm }
    }

    fn idf(&self, df: usize) -> f32 {
        let df = df as f32;
        (1.0 + (self.docs - df + 0.5) / (df + 0.5)).ln()
    }

    /// Calls `add(doc, score)` for every posting of `p` in an admitted locale.
    fn score(
        &self,
        index: &Index,
        p: &Term,
        factor: f32,
        admitted: &[bool],
        mut add: impl FnMut(u32, f32),
    ) {
        let weight = factor * self.idf(p.docs.len()) * (K1 + 1.0);
        for (&doc, freqs) in p.docs.iter().zip(&p.freqs) {
            let i = doc as usize;
            let locale = index.doc_locale.get(i).copied().unwrap_or(0) as usize;
            if !admitted.get(locale).copied().unwrap_or(false) {
                continue;
            }
            let lens = index.lens.get(i).copied().unwrap_or([0; NUM_FIELDS]);
            let mut tf = 0.0;
            for f in 0..NUM_FIELDS {
                if freqs[f] > 0 {
                    let (a, c) = self.norm[f];
                    tf += FIELD_WEIGHT[f] * f32::from(freqs[f]) / (a + c * lens[f] as f32);
                }
            }
            add(doc, weight * tf / (tf + K1));
        }
    }
}

impl Index {
    /// Ranked search with highlighted excerpts.
    pub fn search(&self, req: &SearchRequest<'_>) -> SearchResults {
        let groups = self.groups(req);
        let admitted = self.locale_mask(req.locale);
        let scorer = Scorer::new(self);

        // Dense accumulator: allocation and zeroing are cheaper than hashing every posting.
        let mut acc = vec![0f32; self.docs.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut best: HashMap<u32, f32> = HashMap::new();
        for group in &groups {
            if let [(_, p, factor)] = group.as_slice() {
                scorer.score(self, p, *factor, &admitted, |d, s| {
                    let slot = &mut acc[d as usize];
                    if *slot == 0.0 {
                        touched.push(d);
                    }
                    *slot += s;
                });
                continue;
            }
            best.clear();
            for (_, p, factor) in group {
                scorer.score(self, p, *factor, &admitted, |d, s| {
                    let b = best.entry(d).or_insert(0.0);
                    *b = b.max(s);
                });
            }
            for (&d, &s) in &best {
                let slot = &mut acc[d as usize];
                if *slot == 0.0 {
                    touched.push(d);
                }
                *slot += s;
            }
        }

        let total = touched.len();
        let limit = req.limit.min(MAX_LIMIT);
        let wanted = req.offset.saturating_add(limit).min(total);
        let order = |a: &u32, b: &u32| {
            acc[*b as usize]
                .total_cmp(&acc[*a as usize])
                .then_with(|| self.doc_id(*a).cmp(self.doc_id(*b)))
        };
        // Only the requested page and what precedes it need ordering.
        if wanted == 0 {
            touched.clear();
        } else if wanted < touched.len() {
            touched.select_nth_unstable_by(wanted - 1, order);
            touched.truncate(wanted);
        }
        edgedesk_sort::sort_by(&mut touched, order);

        let hits = touched
            .iter()
            .skip(req.offset)
            .take(limit)
            .filter_map(|&d| self.hit(d, acc[d as usize], &groups, req.snippet_chars))
            .collect();
        SearchResults { total, hits }
    }

    fn hit(&self, doc: u32, score: f32, groups: &[Group<'_>], snippet_chars: usize) -> Option<Hit> {
        let article = self.docs.get(doc as usize)?.as_ref()?;
        let matched = snippet::Matched::new(
            groups
                .iter()
                .flatten()
                .filter(|(_, p, _)| p.contains(doc))
                .map(|(t, _, _)| *t),
        );
        Some(Hit {
            id: article.id.clone(),
            locale: article.locale.clone(),
            score,
            title_html: snippet::highlight(&article.title, &matched),
            snippet_html: snippet::excerpt(&article.body, &matched, snippet_chars),
        })
    }

    /// Expands the query into term groups.
    fn groups<'i>(&'i self, req: &SearchRequest<'_>) -> Vec<Group<'i>> {
        let mut seen = HashSet::new();
        let mut groups = Vec::new();
        for token in query_tokens(req.query) {
            if groups.len() >= MAX_GROUPS {
                break;
            }
            let group = match token {
                QueryToken::Cjk(term) => {
                    if !seen.insert(term.clone()) {
                        continue;
                    }
                    self.term(&term)
                        .map(|t| (t.name.as_str(), t, 1.0))
                        .into_iter()
                        .collect()
                }
                QueryToken::Word {
                    term,
                    surface,
                    last,
                } => {
                    let typing = last && req.as_you_type;
                    if !seen.insert(format!("{term}\u{0}{surface}\u{0}{typing}")) {
                        continue;
                    }
                    if term.is_empty() && !typing {
                        continue;
                    }
                    self.word_group(&term, &surface, typing)
                }
            };
            if !group.is_empty() {
                groups.push(group);
            }
        }
        groups
    }

    /// The terms for one query word: the word itself; while typing, its most frequent
    /// completions; and only if neither exists, its nearest spellings in the index.
    fn word_group(&self, term: &str, surface: &str, typing: bool) -> Group<'_> {
        let mut group: Group<'_> = Vec::new();
        if let Some(t) = self.term(term).filter(|_| !term.is_empty()) {
            group.push((t.name.as_str(), t, 1.0));
        }
        if typing {
            let mut completions: Vec<&Term> =
                fuzzy::completions(self.dictionary(), surface, MAX_PREFIX_SCAN)
                    .into_iter()
                    .filter_map(|slot| self.term_at(slot))
                    .filter(|t| t.name != term)
                    .collect();
            edgedesk_sort::sort_by(&mut completions, |a, b| {
                b.docs
                    .len()
                    .cmp(&a.docs.len())
                    .then_with(|| a.name.cmp(&b.name))
            });
            completions.dedup_by(|a, b| a.name == b.name);
            completions.truncate(MAX_COMPLETIONS);
            group.extend(
                completions
                    .into_iter()
                    .map(|t| (t.name.as_str(), t, PREFIX_WEIGHT)),
            );
        }
        if !group.is_empty() || term.is_empty() || surface.chars().any(char::is_numeric) {
            return group;
        }
        // Not in the index at all: look for what the visitor probably meant.
        let typos = fuzzy::max_typos(surface.chars().count());
        for (slot, d) in fuzzy::near(self.dictionary(), surface, typos, typing, MAX_CORRECTIONS) {
            let factor =
                TYPO_WEIGHT[usize::from(d).min(2)] * if typing { PREFIX_WEIGHT } else { 1.0 };
            if let Some(t) = self.term_at(slot) {
                group.push((t.name.as_str(), t, factor));
            }
        }
        group
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::art;
    use crate::Change;

    fn index(articles: Vec<crate::Article>) -> Index {
        let mut index = Index::new("kb:");
        index
            .apply(articles.into_iter().map(Change::Upsert))
            .expect("valid articles");
        index
    }

    fn ids(index: &Index, req: SearchRequest<'_>) -> Vec<String> {
        index.search(&req).hits.into_iter().map(|h| h.id).collect()
    }

    fn kb() -> Index {
        index(vec![
            art(
                "refund-policy",
                "en",
                "Refund policy",
                "We return the money to the original payment method within five days.",
                &["billing"],
            ),
            art(
                "shipping",
                "en",
                "Shipping times",
                "Orders ship within two days. If a parcel is lost, ask for a refund.",
                &["delivery"],
            ),
            art(
                "password",
                "en",
                "Reset your password",
                "Open the sign-in page and choose Forgot password to get a reset link.",
                &["account"],
            ),
            art(
                "tuikuan",
                "zh-CN",
                "如何申请退款",
                "在订单页面点击申请退款，款项将在五个工作日内退回原支付账户。",
                &["账单"],
            ),
            art(
                "fahuo",
                "zh-CN",
                "发货时间",
                "订单通常在两天内发货。iPhone 配件由仓库直接发出。",
                &["物流"],
            ),
        ])
    }

    #[test]
    fn a_title_match_ranks_above_a_body_match() {
        assert_eq!(
            ids(&kb(), SearchRequest::new("refund")),
            ["refund-policy", "shipping"]
        );
    }

    #[test]
    fn a_rarer_term_weighs_more_than_a_common_one() {
        // "order" is in three articles, "chargeback" in one; each matching article holds its
        // term once in an equally long body, so only rarity separates them.
        let index = index(vec![
            art("o1", "en", "Notes", "order", &[]),
            art("o2", "en", "Notes", "order", &[]),
            art("o3", "en", "Notes", "order", &[]),
            art("c", "en", "Notes", "chargeback", &[]),
            art("x", "en", "Notes", "unrelated", &[]),
        ]);
        assert_eq!(ids(&index, SearchRequest::new("order chargeback"))[0], "c");
    }

    #[test]
    fn a_chinese_query_finds_the_chinese_article() {
        let results = kb().search(&SearchRequest::new("怎么退款"));
        assert_eq!(results.hits[0].id, "tuikuan");
        assert_eq!(results.hits[0].title_html, "如何申请<mark>退款</mark>");
        assert!(results.hits[0].snippet_html.contains("<mark>退款</mark>"));
    }

    #[test]
    fn a_single_chinese_character_finds_articles_containing_it() {
        assert_eq!(ids(&kb(), SearchRequest::new("货")), ["fahuo"]);
    }

    #[test]
    fn a_stemmed_query_finds_other_forms_of_the_word() {
        let index = index(vec![art("a", "en", "Policy", "We offer a refund.", &[])]);
        assert_eq!(ids(&index, SearchRequest::new("refunds")), ["a"]);
        assert_eq!(ids(&index, SearchRequest::new("REFUNDING")), ["a"]);
    }

    #[test]
    fn a_mistyped_word_still_finds_its_article() {
        let results = kb().search(&SearchRequest::new("refnud"));
        assert_eq!(results.hits[0].id, "refund-policy");
        assert_eq!(results.hits[0].title_html, "<mark>Refund</mark> policy");
        assert_eq!(ids(&kb(), SearchRequest::new("pasword")), ["password"]);
    }

    #[test]
    fn short_words_are_not_typo_corrected() {
        let index = index(vec![art("a", "en", "Cart", "", &[])]);
        assert!(ids(&index, SearchRequest::new("car")).is_empty());
    }

    #[test]
    fn an_unfinished_last_word_is_completed_while_typing() {
        let kb = kb();
        assert!(ids(&kb, SearchRequest::new("passw")).is_empty());
        assert_eq!(
            ids(&kb, SearchRequest::new("passw").as_you_type()),
            ["password"]
        );
        assert_eq!(
            ids(&kb, SearchRequest::new("reset pa").as_you_type())[0],
            "password"
        );
        // A finished word (followed by a space) is not completed.
        assert!(ids(&kb, SearchRequest::new("passw ").as_you_type()).is_empty());
    }

    #[test]
    fn a_mistyped_prefix_is_completed_while_typing() {
        assert_eq!(
            ids(&kb(), SearchRequest::new("paswo").as_you_type()),
            ["password"]
        );
    }

    #[test]
    fn the_locale_filter_keeps_only_that_locale_or_language() {
        let kb = kb();
        assert_eq!(
            ids(&kb, SearchRequest::new("iphone 订单").locale("en")),
            Vec::<String>::new()
        );
        let zh = ids(&kb, SearchRequest::new("订单 refund").locale("zh"));
        assert_eq!(zh.len(), 2);
        assert!(zh.iter().all(|id| id == "tuikuan" || id == "fahuo"));
        assert_eq!(
            ids(&kb, SearchRequest::new("refund").locale("zh-CN")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn mixed_script_queries_match_both_scripts() {
        assert_eq!(ids(&kb(), SearchRequest::new("iPhone配件"))[0], "fahuo");
    }

    #[test]
    fn full_width_queries_match_ascii_text() {
        assert_eq!(
            ids(&kb(), SearchRequest::new("ＲＥＦＵＮＤ ＰＯＬＩＣＹ"))[0],
            "refund-policy"
        );
    }

    #[test]
    fn a_removed_article_is_no_longer_found() {
        let mut kb = kb();
        kb.remove("refund-policy").unwrap();
        assert_eq!(ids(&kb, SearchRequest::new("refund")), ["shipping"]);
        // Its words are gone from the typo dictionary too.
        kb.remove("shipping").unwrap();
        assert!(ids(&kb, SearchRequest::new("refnud")).is_empty());
    }

    #[test]
    fn an_updated_article_is_found_by_its_new_words_only() {
        let mut kb = kb();
        kb.upsert(art(
            "password",
            "en",
            "Two-factor login",
            "Use an authenticator app.",
            &[],
        ))
        .unwrap();
        assert!(ids(&kb, SearchRequest::new("password")).is_empty());
        assert_eq!(ids(&kb, SearchRequest::new("authenticator")), ["password"]);
    }

    #[test]
    fn pages_partition_the_ranking() {
        let kb = kb();
        let all = ids(
            &kb,
            SearchRequest::new("refund 退款 订单 password").page(10, 0),
        );
        let first = ids(
            &kb,
            SearchRequest::new("refund 退款 订单 password").page(2, 0),
        );
        let second = ids(
            &kb,
            SearchRequest::new("refund 退款 订单 password").page(2, 2),
        );
        assert_eq!([first, second].concat(), all[..4]);
        let results = kb.search(&SearchRequest::new("refund 退款 订单 password").page(1, 0));
        assert_eq!(results.total, all.len());
    }

    #[test]
    fn a_page_past_the_end_is_empty_but_still_counts_the_matches() {
        let r = kb().search(&SearchRequest::new("refund").page(10, 50));
        assert_eq!((r.total, r.hits.len()), (2, 0));
        let r = kb().search(&SearchRequest::new("refund").page(0, 0));
        assert_eq!((r.total, r.hits.len()), (2, 0));
    }

    #[test]
    fn empty_and_unmatched_queries_return_nothing() {
        let kb = kb();
        for q in ["", "   ", "the of and", "zzzzzzzzzz", "!!!"] {
            let r = kb.search(&SearchRequest::new(q));
            assert_eq!((r.total, r.hits.len()), (0, 0), "{q:?}");
        }
    }

    #[test]
    fn snippets_escape_html_in_the_article() {
        let index = index(vec![art(
            "a",
            "en",
            "<b>Refund</b>",
            "Click <Refund> & wait",
            &[],
        )]);
        let hit = &index.search(&SearchRequest::new("refund")).hits[0];
        assert_eq!(hit.title_html, "&lt;b&gt;<mark>Refund</mark>&lt;/b&gt;");
        assert_eq!(
            hit.snippet_html,
            "Click &lt;<mark>Refund</mark>&gt; &amp; wait"
        );
    }

    #[test]
    fn equal_scores_are_ordered_by_id() {
        let index = index(vec![
            art("b", "en", "Same", "", &[]),
            art("a", "en", "Same", "", &[]),
        ]);
        assert_eq!(ids(&index, SearchRequest::new("same")), ["a", "b"]);
    }
}
