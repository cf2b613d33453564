//! Typo tolerance and completion: which words of the index lie within a small edit distance
//! of a query word, or start with it.
//!
//! The dictionary maps every word form seen in the articles (as written: visitors mistype
//! words, not stems), and every stem, to the slot of its index term, compiled into an `fst`
//! map. For
//! typos a Levenshtein automaton
//! (Schulz–Mihov, from `levenshtein_automata`, with a transposition costing one edit so
//! `refnud` is one typo from `refund`) walks it, visiting only the branches that can still
//! match. That keeps a lookup in the tens of microseconds however large the dictionary.

use std::sync::OnceLock;

use fst::automaton::Str;
use fst::{Automaton, IntoStreamer, Streamer};
use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder, DFA, SINK_STATE};

/// Most candidates a single fuzzy lookup collects before ranking them.
const MAX_CANDIDATES: usize = 256;

/// The edit distance tolerated for a term of `chars` characters: none below four characters
/// (too many short words are one edit apart), one up to seven, two beyond.
pub(crate) fn max_typos(chars: usize) -> u8 {
    match chars {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Parametric automata per distance; compiling them is the expensive part, so it happens once.
fn builder(distance: u8) -> Option<&'static LevenshteinAutomatonBuilder> {
    static ONE: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static TWO: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    match distance {
        1 => Some(ONE.get_or_init(|| LevenshteinAutomatonBuilder::new(1, true))),
        2 => Some(TWO.get_or_init(|| LevenshteinAutomatonBuilder::new(2, true))),
        _ => None,
    }
}

/// Compiles the automata ahead of the first query.
pub(crate) fn warm_up() {
    builder(1);
    builder(2);
}

/// Adapts a Levenshtein DFA to the `fst` automaton interface.
struct Lev<'a>(&'a DFA);

impl Automaton for Lev<'_> {
    type State = u32;

    fn start(&self) -> u32 {
        self.0.initial_state()
    }

    fn is_match(&self, state: &u32) -> bool {
        matches!(self.0.distance(*state), Distance::Exact(_))
    }

    fn can_match(&self, state: &u32) -> bool {
        *state != SINK_STATE
    }

    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

/// Builds the dictionary from `(word form, term slot)` pairs in any order. A form produced by
/// two terms (possible only through apostrophes: `don't` and `dont`) keeps the lower slot.
pub(crate) fn dictionary(mut entries: Vec<(&str, u64)>) -> fst::Map<Vec<u8>> {
    edgedesk_sort::sort(&mut entries);
    entries.dedup_by(|next, kept| next.0 == kept.0);
    // Sorted and unique, so building cannot fail; an empty dictionary (no typo tolerance) is
    // the safe answer if it ever did.
    fst::Map::from_iter(entries).unwrap_or_default()
}

/// Slots of the words within `distance` edits of `query` (or, with `prefix`, starting with a
/// string within that distance), each with its distance, nearest first, at most `limit`.
pub(crate) fn near(
    dict: &fst::Map<Vec<u8>>,
    query: &str,
    distance: u8,
    prefix: bool,
    limit: usize,
) -> Vec<(u64, u8)> {
    let Some(builder) = builder(distance) else {
        return Vec::new();
    };
    let dfa = if prefix {
        builder.build_prefix_dfa(query)
    } else {
        builder.build_dfa(query)
    };
    let mut stream = dict.search(Lev(&dfa)).into_stream();
    let mut found: Vec<(u8, Vec<u8>, u64)> = Vec::new();
    while let Some((key, slot)) = stream.next() {
        if let Distance::Exact(d) = dfa.eval(key) {
            found.push((d, key.to_vec(), slot));
        }
        if found.len() >= MAX_CANDIDATES {
            break;
        }
    }
    edgedesk_sort::sort(&mut found);
    let mut slots: Vec<(u64, u8)> = Vec::new();
    for (d, _, slot) in found {
        if !slots.iter().any(|(s, _)| *s == slot) {
            slots.push((slot, d));
            if slots.len() == limit {
                break;
            }
        }
    }
    slots
}

/// Slots of the words starting with `prefix`, in word order, from at most `max_scan` words.
pub(crate) fn completions(dict: &fst::Map<Vec<u8>>, prefix: &str, max_scan: usize) -> Vec<u64> {
    let mut stream = dict.search(Str::new(prefix).starts_with()).into_stream();
    let mut slots = Vec::new();
    while let Some((_, slot)) = stream.next() {
        slots.push(slot);
        if slots.len() >= max_scan {
            break;
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(words: &[&str]) -> fst::Map<Vec<u8>> {
        dictionary(
            words
                .iter()
                .enumerate()
                .map(|(i, w)| (*w, i as u64))
                .collect(),
        )
    }

    #[test]
    fn a_transposition_counts_as_one_typo() {
        let d = dict(&["refund", "return", "refuse"]);
        assert_eq!(near(&d, "refnud", 1, false, 10), [(0, 1)]);
    }

    #[test]
    fn two_typos_are_found_only_with_distance_two() {
        let d = dict(&["subscription"]);
        assert_eq!(near(&d, "subscriptoon", 1, false, 10), [(0, 1)]);
        assert!(near(&d, "sabscriptoon", 1, false, 10).is_empty());
        assert_eq!(near(&d, "sabscriptoon", 2, false, 10), [(0, 2)]);
    }

    #[test]
    fn prefix_automata_match_completions_of_a_mistyped_prefix() {
        let d = dict(&["password", "passport", "payment"]);
        assert_eq!(near(&d, "paswo", 1, true, 10), [(0, 1)]);
    }

    #[test]
    fn forms_of_one_term_are_reported_once_nearest_first() {
        let d = dictionary(vec![("shipping", 7), ("shipped", 7), ("ship", 7)]);
        assert_eq!(near(&d, "shiping", 2, false, 10), [(7, 1)]);
    }

    #[test]
    fn completions_list_the_words_with_the_prefix() {
        let d = dict(&["password", "passport", "payment"]);
        let mut got = completions(&d, "pass", 10);
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
        assert_eq!(completions(&d, "pa", 1).len(), 1);
    }

    #[test]
    fn a_form_shared_by_two_terms_keeps_the_first() {
        let d = dictionary(vec![("dont", 4), ("dont", 2)]);
        assert_eq!(d.get("dont"), Some(2));
    }

    #[test]
    fn short_terms_get_no_typo_tolerance() {
        assert_eq!(max_typos(3), 0);
        assert_eq!(max_typos(4), 1);
        assert_eq!(max_typos(7), 1);
        assert_eq!(max_typos(8), 2);
    }
}
