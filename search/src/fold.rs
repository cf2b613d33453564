//! Per-character folding for the analyser, from compact tables.
//!
//! [`fold`] gives a character's compatibility decomposition (NFKD) without its combining marks,
//! and [`is_cjk`] whether it belongs to a script written without spaces (Han, Hiragana,
//! Katakana). Both equal what `unicode-normalization` (`decompose_compatible`,
//! `is_combining_mark`) and `unicode-script` answer, for every code point: the tests check all
//! of them against those crates, and regenerate `fold_table.rs` from them. The tables only hold
//! what the analyser needs (the folded result, not the decomposition with its marks, and three
//! scripts out of all), which keeps the knowledge base's analyser small in WebAssembly builds;
//! the general tables cost several times as much.

#[rustfmt::skip]
mod table;

use table::{CJK, EMPTY, ENDS, KEY_RUNS, TEXT};

/// Hangul syllables decompose algorithmically (Unicode §3.12) rather than by table.
const S_BASE: u32 = 0xAC00;
const L_BASE: u32 = 0x1100;
const V_BASE: u32 = 0x1161;
const T_BASE: u32 = 0x11A7;
const T_COUNT: u32 = 28;
const N_COUNT: u32 = 21 * T_COUNT;
const S_COUNT: u32 = 19 * N_COUNT;

/// Calls `emit` with each character of `c`'s compatibility decomposition that is not a
/// combining mark, in order: nothing for a combining mark, `c` itself for most characters.
pub(crate) fn fold(c: char, mut emit: impl FnMut(char)) {
    let u = u32::from(c);
    if u < 0x80 {
        return emit(c);
    }
    if (S_BASE..S_BASE + S_COUNT).contains(&u) {
        let s = u - S_BASE;
        let jamo = [
            L_BASE + s / N_COUNT,
            V_BASE + (s % N_COUNT) / T_COUNT,
            T_BASE + s % T_COUNT,
        ];
        let n = if s % T_COUNT == 0 { 2 } else { 3 };
        for j in &jamo[..n] {
            // The jamo are valid scalar values by construction.
            emit(char::from_u32(*j).unwrap_or(c));
        }
        return;
    }
    if let Some(i) = key_index(u) {
        let start = if i == 0 { 0 } else { ENDS[i - 1] as usize };
        TEXT[start..ENDS[i] as usize].chars().for_each(emit);
        return;
    }
    if !in_ranges(EMPTY, u) {
        emit(c);
    }
}

/// Han, Hiragana or Katakana.
pub(crate) fn is_cjk(c: char) -> bool {
    // Nothing below the CJK Radicals Supplement is: Latin text skips the search.
    let u = u32::from(c);
    u >= 0x2E80 && in_ranges(CJK, u)
}

/// The index of `u` among the characters with a table entry.
fn key_index(u: u32) -> Option<usize> {
    let run = KEY_RUNS.partition_point(|&(first, _, _)| first <= u);
    let (first, len, index) = *KEY_RUNS.get(run.checked_sub(1)?)?;
    (u - first < u32::from(len)).then(|| usize::from(index) + (u - first) as usize)
}

/// Whether `u` lies in one of the sorted, inclusive `ranges`.
fn in_ranges(ranges: &[(u32, u32)], u: u32) -> bool {
    let i = ranges.partition_point(|&(first, _)| first <= u);
    i > 0 && u <= ranges[i - 1].1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;
    use unicode_normalization::char::{decompose_compatible, is_combining_mark};
    use unicode_script::{Script, UnicodeScript};

    fn reference_fold(c: char) -> Vec<char> {
        let mut out = Vec::new();
        decompose_compatible(c, |d| {
            if !is_combining_mark(d) {
                out.push(d);
            }
        });
        out
    }

    /// As the analyser asked before the tables: nothing below the CJK Radicals Supplement.
    fn reference_is_cjk(c: char) -> bool {
        u32::from(c) >= 0x2E80
            && matches!(
                c.script(),
                Script::Han | Script::Hiragana | Script::Katakana
            )
    }

    fn ours(c: char) -> Vec<char> {
        let mut out = Vec::new();
        fold(c, |d| out.push(d));
        out
    }

    #[test]
    fn folding_equals_nfkd_without_combining_marks_for_every_character() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(ours(c), reference_fold(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn cjk_test_equals_the_script_property_for_every_character() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(is_cjk(c), reference_is_cjk(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn examples_from_the_analyser_documentation_fold_as_described() {
        assert_eq!(ours('Ｒ'), ['R']);
        assert_eq!(ours('１'), ['1']);
        assert_eq!(ours('ﬁ'), ['f', 'i']);
        assert_eq!(ours('é'), ['e']);
        assert_eq!(ours('\u{301}'), [] as [char; 0]);
        assert_eq!(ours('ｶ'), ['カ']);
        assert_eq!(ours('한'), ['\u{1112}', '\u{1161}', '\u{11AB}']);
        assert!(is_cjk('退') && is_cjk('か') && is_cjk('カ') && !is_cjk('a'));
    }

    /// The table source as the reference crates give it.
    fn generated_table() -> String {
        let mut empty: Vec<(u32, u32)> = Vec::new();
        let mut cjk: Vec<(u32, u32)> = Vec::new();
        let mut runs: Vec<(u32, u16, u16)> = Vec::new();
        let mut ends: Vec<u16> = Vec::new();
        let mut text = String::new();
        let push_range = |ranges: &mut Vec<(u32, u32)>, u: u32| match ranges.last_mut() {
            Some(last) if last.1 + 1 == u => last.1 = u,
            _ => ranges.push((u, u)),
        };
        for c in (0x80..=0x10FFFF).filter_map(char::from_u32) {
            let u = u32::from(c);
            if reference_is_cjk(c) {
                push_range(&mut cjk, u);
            }
            if (S_BASE..S_BASE + S_COUNT).contains(&u) {
                continue;
            }
            let folded = reference_fold(c);
            if folded.is_empty() {
                push_range(&mut empty, u);
            } else if folded != [c] {
                let index = u16::try_from(ends.len()).expect("fewer than 65536 keys");
                match runs.last_mut() {
                    Some(run) if run.0 + u32::from(run.1) == u => run.1 += 1,
                    _ => runs.push((u, 1, index)),
                }
                text.extend(folded);
                ends.push(u16::try_from(text.len()).expect("text under 64 KiB"));
            }
        }
        // ASCII is handled before any lookup; CJK ranges never start there either.
        assert!(cjk.iter().all(|r| r.0 >= 0x80));
        let mut s = String::from(
            "//! Generated by `cargo test -p edgedesk-search` with `EDGEDESK_REGENERATE_FOLD_TABLE=1`\n\
             //! from `unicode-normalization` and `unicode-script` (see `fold.rs`); do not edit.\n\n",
        );
        let ranges = |s: &mut String, name: &str, doc: &str, r: &[(u32, u32)]| {
            let _ = writeln!(s, "/// {doc}\npub(super) const {name}: &[(u32, u32)] = &[");
            for (a, b) in r {
                let _ = writeln!(s, "    (0x{a:X}, 0x{b:X}),");
            }
            s.push_str("];\n\n");
        };
        ranges(
            &mut s,
            "EMPTY",
            "Inclusive ranges of characters that fold to nothing (combining marks).",
            &empty,
        );
        ranges(
            &mut s,
            "CJK",
            "Inclusive ranges of Han, Hiragana and Katakana characters.",
            &cjk,
        );
        s.push_str(
            "/// Runs of consecutive characters with a table entry: (first character, length, index\n\
             /// of its entry).\npub(super) const KEY_RUNS: &[(u32, u16, u16)] = &[\n",
        );
        for (u, n, i) in &runs {
            let _ = writeln!(s, "    (0x{u:X}, {n}, {i}),");
        }
        s.push_str(
            "];\n\n/// Where each entry's folded text ends in `TEXT`.\npub(super) const ENDS: &[u16] = &[\n",
        );
        for chunk in ends.chunks(16) {
            let line: Vec<String> = chunk.iter().map(u16::to_string).collect();
            let _ = writeln!(s, "    {},", line.join(", "));
        }
        s.push_str(
            "];\n\n/// The folded text of every entry, in order.\npub(super) const TEXT: &str = ",
        );
        let _ = writeln!(s, "{text:?};");
        s
    }

    #[test]
    fn the_fold_table_is_generated_from_the_reference_crates() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/fold/table.rs");
        let want = generated_table();
        if std::env::var_os("EDGEDESK_REGENERATE_FOLD_TABLE").is_some() {
            std::fs::write(path, &want).expect("writing the fold table");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "src/fold/table.rs is stale: run the tests with EDGEDESK_REGENERATE_FOLD_TABLE=1"
        );
    }
}
