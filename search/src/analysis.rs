//! Text analysis: turns article and query text into index terms.
//!
//! One analyser serves every locale, because knowledge bases mix scripts freely ("iPhone 退款",
//! a Chinese article quoting an English error message). The pipeline, per character:
//!
//! 1. Compatibility decomposition (NFKD) folds full-width forms (`ＲＥＦＵＮＤ`, `１２３`),
//!    ligatures and half-width katakana onto their ordinary forms; combining marks are then
//!    dropped so `café` and `cafe` meet.
//! 2. Lower-casing.
//! 3. Segmentation into *words* (runs of letters and digits, with inner apostrophes) and
//!    *CJK runs* (Han, Hiragana, Katakana: scripts written without spaces).
//!
//! Words lose English stop words and are stemmed with the Snowball English stemmer
//! (`refunds` → `refund`). CJK runs become overlapping character bigrams (`退款申请` →
//! `退款`, `款申`, `申请`) plus single characters, so a one-character query still finds its
//! articles without a dictionary-based segmenter.
//!
//! Every token keeps the byte range it came from in the original text, which the snippet
//! builder uses to mark matches in place.

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

use crate::fold::{fold, is_cjk};

/// Words longer than this (in characters) are not indexed: they are URLs, hashes or noise,
/// and would only bloat the term dictionary.
pub(crate) const MAX_WORD_CHARS: usize = 40;

/// English stop words: the Lucene English set plus the question words visitors type
/// ("how do I …"), which carry no topic and appear in almost every help article.
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for",
    "from", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on",
    "or", "our", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to",
    "was", "we", "what", "when", "where", "which", "will", "with", "you", "your",
];

/// Chinese function characters: frequent enough that their single-character postings would be
/// huge and meaningless. They still take part in bigrams.
const CJK_STOP_CHARS: &[char] = &[
    '的', '了', '是', '在', '和', '也', '就', '都', '而', '及', '与', '着', '或', '吗', '呢', '吧',
    '啊', '之', '其',
];

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

fn is_english_stop_word(word: &str) -> bool {
    ENGLISH_STOP_WORDS.binary_search(&word).is_ok()
}

/// Whether a term came from a CJK run (its first character is CJK); such terms are never
/// matched with typos.
pub(crate) fn is_cjk_term(term: &str) -> bool {
    term.chars().next().is_some_and(is_cjk)
}

/// A word after normalisation and stemming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    /// The index term (stemmed); empty for stop words.
    pub term: &'a str,
    /// The normalised form before stemming, without apostrophes: what typo tolerance and
    /// completion compare against, since visitors type words, not stems.
    pub surface: &'a str,
    /// A stop word: not indexed, but a query may still be typing a longer word with it.
    pub stop: bool,
    pub start: usize,
    pub end: usize,
}

/// One character of a CJK run, normalised, with its source range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CjkChar {
    pub ch: char,
    pub start: usize,
    pub end: usize,
}

/// What the segmenter yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Word(Word<'a>),
    Cjk(&'a [CjkChar]),
}

/// A term with the byte range of the original text it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub term: &'a str,
    /// The word as written (normalised), for word terms; `None` for CJK terms.
    pub surface: Option<&'a str>,
    pub start: usize,
    pub end: usize,
}

/// Which words to analyse, by the first letter of their normalised form. Stemming never
/// changes a word's first letter (Porter2 only rewrites suffixes; see the test below), so a
/// caller looking for particular terms can skip the stemmer for words that cannot be one.
pub(crate) type FirstLetterFilter<'f> = &'f dyn Fn(char) -> bool;

/// Splits `text` into words and CJK runs, in order.
pub(crate) fn pieces(
    text: &str,
    filter: Option<FirstLetterFilter<'_>>,
    mut emit: impl FnMut(Piece<'_>),
) {
    let mut seg = Segmenter {
        filter,
        ..Segmenter::default()
    };
    for (at, c) in text.char_indices() {
        let end = at + c.len_utf8();
        if c.is_ascii() {
            seg.push(c.to_ascii_lowercase(), at, end, &mut emit);
            continue;
        }
        let mut produced = false;
        fold(c, |d| {
            produced = true;
            for l in d.to_lowercase() {
                seg.push(l, at, end, &mut emit);
            }
        });
        if !produced {
            // A lone combining mark belongs to the word it decorates.
            seg.extend_word(end);
        }
    }
    seg.finish(&mut emit);
}

/// Segmentation state; the buffers are reused across words so analysis allocates little.
#[derive(Default)]
struct Segmenter<'f> {
    filter: Option<FirstLetterFilter<'f>>,
    word: String,
    word_start: usize,
    word_end: usize,
    surface: String,
    term: String,
    cjk: Vec<CjkChar>,
}

impl Segmenter<'_> {
    fn push(&mut self, c: char, start: usize, end: usize, emit: &mut impl FnMut(Piece<'_>)) {
        if is_cjk(c) {
            self.flush_word(emit);
            self.cjk.push(CjkChar { ch: c, start, end });
        } else if c.is_alphanumeric() {
            self.flush_cjk(emit);
            if self.word.is_empty() {
                self.word_start = start;
            }
            self.word.push(c);
            self.word_end = end;
        } else if (c == '\'' || c == '\u{2019}') && !self.word.is_empty() {
            // Inner apostrophes stay so the stemmer can strip possessives ("customer's"); the
            // word's span still ends at its last letter.
            self.word.push('\'');
        } else {
            self.flush_word(emit);
            self.flush_cjk(emit);
        }
    }

    fn extend_word(&mut self, end: usize) {
        if !self.word.is_empty() {
            self.word_end = end;
        }
    }

    fn flush_word(&mut self, emit: &mut impl FnMut(Piece<'_>)) {
        if self.word.is_empty() {
            return;
        }
        if let Some(stop) = self.analyse_word() {
            emit(Piece::Word(Word {
                term: &self.term,
                surface: &self.surface,
                stop,
                start: self.word_start,
                end: self.word_end,
            }));
        }
        self.word.clear();
    }

    /// Fills `surface` and `term` from `word`. `None` for noise and filtered words, else
    /// whether it is a stop word (left unstemmed, with an empty term).
    fn analyse_word(&mut self) -> Option<bool> {
        let word = self.word.trim_end_matches('\'');
        let first = word.chars().next()?;
        if self.filter.is_some_and(|keep| !keep(first)) || word.chars().count() > MAX_WORD_CHARS {
            return None;
        }
        self.surface.clear();
        self.surface.extend(word.chars().filter(|&c| c != '\''));
        self.term.clear();
        if is_english_stop_word(&self.surface) {
            return Some(true);
        }
        let stemmed = stemmer().stem(word);
        self.term.extend(stemmed.chars().filter(|&c| c != '\''));
        (!self.term.is_empty()).then_some(false)
    }

    fn flush_cjk(&mut self, emit: &mut impl FnMut(Piece<'_>)) {
        if !self.cjk.is_empty() {
            emit(Piece::Cjk(&self.cjk));
            self.cjk.clear();
        }
    }

    fn finish(&mut self, emit: &mut impl FnMut(Piece<'_>)) {
        self.flush_word(emit);
        self.flush_cjk(emit);
    }
}

fn cjk_unigram_indexed(c: char) -> bool {
    !CJK_STOP_CHARS.contains(&c)
}

/// Index-side expansion: every word, and for CJK runs every bigram and every character.
pub(crate) fn document_tokens(text: &str, emit: impl FnMut(Token<'_>)) {
    filtered_document_tokens(text, None, emit)
}

/// [`document_tokens`], analysing only the words `filter` admits.
pub(crate) fn filtered_document_tokens(
    text: &str,
    filter: Option<FirstLetterFilter<'_>>,
    mut emit: impl FnMut(Token<'_>),
) {
    let mut buf = [0u8; 8];
    pieces(text, filter, |piece| match piece {
        Piece::Word(w) if w.stop => {}
        Piece::Word(w) => emit(Token {
            term: w.term,
            surface: Some(w.surface),
            start: w.start,
            end: w.end,
        }),
        Piece::Cjk(run) => {
            for (i, c) in run.iter().enumerate() {
                if cjk_unigram_indexed(c.ch) {
                    emit(Token {
                        term: c.ch.encode_utf8(&mut buf),
                        surface: None,
                        start: c.start,
                        end: c.end,
                    });
                }
                if let Some(next) = run.get(i + 1) {
                    let n = c.ch.encode_utf8(&mut buf).len();
                    let m = next.ch.encode_utf8(&mut buf[n..]).len();
                    // Two encoded chars are valid UTF-8.
                    if let Ok(term) = std::str::from_utf8(&buf[..n + m]) {
                        emit(Token {
                            term,
                            surface: None,
                            start: c.start,
                            end: next.end,
                        });
                    }
                }
            }
        }
    });
}

/// What one query token asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueryToken {
    /// A word: its stemmed term (empty for a stop word), its form as typed, and whether it
    /// is the last thing typed (so may be incomplete).
    Word {
        term: String,
        surface: String,
        last: bool,
    },
    /// A CJK bigram or single character, matched exactly.
    Cjk(String),
}

/// Query-side analysis. A CJK run of two or more characters is searched by its bigrams only
/// (single characters would drown the ranking); a lone CJK character by itself.
pub(crate) fn query_tokens(text: &str) -> Vec<QueryToken> {
    let mut out = Vec::new();
    pieces(text, None, |piece| match piece {
        Piece::Word(w) => {
            let last = w.end == text.len();
            // A stop word is dropped unless it may be the start of a word still being typed
            // ("a" on the way to "account").
            if !w.stop || last {
                out.push(QueryToken::Word {
                    term: w.term.to_owned(),
                    surface: w.surface.to_owned(),
                    last,
                });
            }
        }
        Piece::Cjk(run) => {
            if let [only] = run {
                if cjk_unigram_indexed(only.ch) {
                    out.push(QueryToken::Cjk(only.ch.to_string()));
                }
            } else {
                for pair in run.windows(2) {
                    let mut term = String::with_capacity(8);
                    term.push(pair[0].ch);
                    term.push(pair[1].ch);
                    out.push(QueryToken::Cjk(term));
                }
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        let mut v = Vec::new();
        document_tokens(text, |t| v.push(t.term.to_owned()));
        v
    }

    fn tokens(text: &str) -> Vec<(String, usize, usize)> {
        let mut v = Vec::new();
        document_tokens(text, |t| v.push((t.term.to_owned(), t.start, t.end)));
        v
    }

    #[test]
    fn stop_word_list_is_sorted_for_binary_search() {
        let mut sorted = ENGLISH_STOP_WORDS.to_vec();
        edgedesk_sort::sort(&mut sorted);
        assert_eq!(sorted, ENGLISH_STOP_WORDS);
    }

    #[test]
    fn english_words_are_lowercased_stemmed_and_stripped_of_stop_words() {
        assert_eq!(
            terms("How do I get REFUNDS for my Orders?"),
            ["get", "refund", "order"]
        );
    }

    #[test]
    fn full_width_letters_and_digits_fold_to_ascii() {
        assert_eq!(terms("ＲＥＦＵＮＤ １２３"), ["refund", "123"]);
    }

    #[test]
    fn accents_are_folded_so_cafe_matches_cafe_with_accent() {
        assert_eq!(terms("Café"), terms("cafe"));
        // Decomposed input: the combining mark stays inside the word's span.
        let toks = tokens("cafe\u{301} ok");
        assert_eq!(toks[0], ("cafe".to_string(), 0, "cafe\u{301}".len()));
    }

    #[test]
    fn possessives_and_contractions_become_one_term() {
        assert_eq!(terms("customer's"), ["custom"]);
        assert_eq!(terms("don’t"), ["dont"]);
    }

    #[test]
    fn chinese_text_becomes_bigrams_and_characters_with_source_ranges() {
        let toks = tokens("申请退款");
        let got: Vec<(&str, usize, usize)> =
            toks.iter().map(|(t, s, e)| (t.as_str(), *s, *e)).collect();
        assert_eq!(
            got,
            [
                ("申", 0, 3),
                ("申请", 0, 6),
                ("请", 3, 6),
                ("请退", 3, 9),
                ("退", 6, 9),
                ("退款", 6, 12),
                ("款", 9, 12)
            ]
        );
    }

    #[test]
    fn chinese_function_characters_are_not_indexed_alone_but_stay_in_bigrams() {
        let t = terms("我的订单");
        assert!(!t.contains(&"的".to_string()));
        assert!(t.contains(&"我的".to_string()));
        assert!(t.contains(&"的订".to_string()));
    }

    #[test]
    fn mixed_script_text_splits_at_script_changes() {
        assert_eq!(terms("iPhone退款"), ["iphon", "退", "退款", "款"]);
    }

    #[test]
    fn queries_use_bigrams_for_runs_and_the_character_for_a_lone_one() {
        assert_eq!(
            query_tokens("退款 账"),
            [QueryToken::Cjk("退款".into()), QueryToken::Cjk("账".into())]
        );
    }

    #[test]
    fn the_last_query_word_is_flagged_only_when_nothing_follows_it() {
        let toks = query_tokens("reset pass");
        assert!(
            matches!(&toks[1], QueryToken::Word { last: true, surface, .. } if surface == "pass")
        );
        let toks = query_tokens("reset pass ");
        assert!(matches!(&toks[1], QueryToken::Word { last: false, .. }));
    }

    #[test]
    fn stemming_keeps_the_first_letter_so_filtering_by_it_is_sound() {
        // Porter2's exceptions and suffix rules, including the cases that rewrite most.
        for word in [
            "skies",
            "dying",
            "lying",
            "tying",
            "idly",
            "gently",
            "ugly",
            "early",
            "only",
            "singly",
            "news",
            "ies",
            "yes",
            "ying",
            "says",
            "eed",
            "ing",
            "aed",
            "ye",
            "generously",
            "communication",
            "arguing",
            "agreed",
            "ties",
            "cries",
            "gas",
            "us",
            "y's",
            "o'clock",
            "refunds",
            "ability",
        ] {
            let stemmed = stemmer().stem(word);
            assert_eq!(
                stemmed.chars().next(),
                word.chars().next(),
                "{word} -> {stemmed}"
            );
        }
    }

    #[test]
    fn a_first_letter_filter_skips_other_words() {
        let keep = |c: char| c == 'r';
        let mut v = Vec::new();
        filtered_document_tokens("refunds and returns take days 退款", Some(&keep), |t| {
            v.push(t.term.to_owned())
        });
        assert_eq!(v, ["refund", "return", "退", "退款", "款"]);
    }

    #[test]
    fn word_tokens_carry_their_written_form() {
        let mut v = Vec::new();
        document_tokens("Shipping 发货", |t| {
            v.push((t.term.to_owned(), t.surface.map(str::to_owned)))
        });
        assert_eq!(v[0], ("ship".to_string(), Some("shipping".to_string())));
        assert_eq!(v[1], ("发".to_string(), None));
    }

    #[test]
    fn a_trailing_stop_word_is_kept_in_queries_as_a_possible_prefix() {
        assert_eq!(
            query_tokens("the a"),
            [QueryToken::Word {
                term: String::new(),
                surface: "a".into(),
                last: true
            }]
        );
    }

    #[test]
    fn overlong_words_are_dropped() {
        let long = "x".repeat(MAX_WORD_CHARS + 1);
        assert!(terms(&long).is_empty());
    }
}
