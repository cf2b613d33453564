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
//!
//! The folding tables (32 KB) are compiled in with the `bundled-tables` feature (the default). A
//! build without it, whose size counts (the Cloudflare Worker), installs the same tables from a
//! file at start: [`export_fold_tables`] writes it, [`install_fold_tables`] checks and installs
//! it. The small CJK ranges are always compiled in.

use std::sync::OnceLock;

#[rustfmt::skip]
#[cfg_attr(not(feature = "bundled-tables"), allow(dead_code))]
mod table;

use table::CJK;

/// Hangul syllables decompose algorithmically (Unicode §3.12) rather than by table.
const S_BASE: u32 = 0xAC00;
const L_BASE: u32 = 0x1100;
const V_BASE: u32 = 0x1161;
const T_BASE: u32 = 0x11A7;
const T_COUNT: u32 = 28;
const N_COUNT: u32 = 21 * T_COUNT;
const S_COUNT: u32 = 19 * N_COUNT;

/// The folding tables, borrowed from the compiled-in copy or from installed ones.
#[derive(Clone, Copy)]
struct Tables<'a> {
    /// Inclusive ranges of characters that fold to nothing.
    empty: &'a [(u32, u32)],
    /// Runs of consecutive characters with an entry: (first character, length, first entry).
    key_runs: &'a [(u32, u16, u16)],
    /// Where each entry's folded text ends in `text`.
    ends: &'a [u16],
    text: &'a str,
}

/// Tables read from a file by [`install_fold_tables`].
struct Owned {
    empty: Vec<(u32, u32)>,
    key_runs: Vec<(u32, u16, u16)>,
    ends: Vec<u16>,
    text: String,
}

impl Owned {
    fn view(&self) -> Tables<'_> {
        Tables {
            empty: &self.empty,
            key_runs: &self.key_runs,
            ends: &self.ends,
            text: &self.text,
        }
    }
}

static INSTALLED: OnceLock<Owned> = OnceLock::new();

fn tables() -> Tables<'static> {
    if let Some(owned) = INSTALLED.get() {
        return owned.view();
    }
    #[cfg(feature = "bundled-tables")]
    return Tables {
        empty: table::EMPTY,
        key_runs: table::KEY_RUNS,
        ends: table::ENDS,
        text: table::TEXT,
    };
    // Builds without the tables install them before serving (the Worker on its first request);
    // reaching this is a broken runtime adapter.
    #[cfg(not(feature = "bundled-tables"))]
    panic!(
        "no folding tables: built without `bundled-tables` and install_fold_tables was not called"
    )
}

/// What a folding-tables file starts with: a name and the format's version.
const MAGIC: &[u8; 8] = b"EDFOLD\x00\x01";

/// Why a folding-tables file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldTablesError {
    #[error("not a folding-tables file (wrong header)")]
    Header,
    #[error("the file's length does not match its counts")]
    Length,
    #[error("the folded text is not UTF-8")]
    Text,
    #[error("the tables are not sorted or point outside the text")]
    Inconsistent,
    #[error("folding tables are already installed")]
    AlreadyInstalled,
}

/// The compiled-in folding tables as one file, for [`install_fold_tables`]: the header, four
/// counts (`u32`), then the empty ranges, the key runs, the entry ends and the text, all
/// little-endian.
#[cfg(feature = "bundled-tables")]
pub fn export_fold_tables() -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    for n in [
        table::EMPTY.len(),
        table::KEY_RUNS.len(),
        table::ENDS.len(),
        table::TEXT.len(),
    ] {
        out.extend(u32::try_from(n).expect("tables under 4 GiB").to_le_bytes());
    }
    for (first, last) in table::EMPTY {
        out.extend(first.to_le_bytes());
        out.extend(last.to_le_bytes());
    }
    for (first, len, index) in table::KEY_RUNS {
        out.extend(first.to_le_bytes());
        out.extend(len.to_le_bytes());
        out.extend(index.to_le_bytes());
    }
    for end in table::ENDS {
        out.extend(end.to_le_bytes());
    }
    out.extend(table::TEXT.as_bytes());
    out
}

/// Reads and checks a file written by [`export_fold_tables`]: every lookup it can answer stays
/// inside its text and on character boundaries.
fn parse(bytes: &[u8]) -> Result<Owned, FoldTablesError> {
    let rest = bytes.strip_prefix(MAGIC).ok_or(FoldTablesError::Header)?;
    let mut reader = Reader(rest);
    let mut count = || {
        reader
            .u32()
            .map(|n| n as usize)
            .ok_or(FoldTablesError::Length)
    };
    let (n_empty, n_runs, n_ends, n_text) = (count()?, count()?, count()?, count()?);
    let want = [(n_empty, 8), (n_runs, 8), (n_ends, 2)]
        .iter()
        .try_fold(n_text, |sum, (n, size)| {
            n.checked_mul(*size)?.checked_add(sum)
        });
    if want != Some(reader.0.len()) {
        return Err(FoldTablesError::Length);
    }
    let mut r = reader;
    let empty: Vec<(u32, u32)> = (0..n_empty)
        .map(|_| (r.u32().unwrap_or(0), r.u32().unwrap_or(0)))
        .collect();
    let key_runs: Vec<(u32, u16, u16)> = (0..n_runs)
        .map(|_| {
            (
                r.u32().unwrap_or(0),
                r.u16().unwrap_or(0),
                r.u16().unwrap_or(0),
            )
        })
        .collect();
    let ends: Vec<u16> = (0..n_ends).map(|_| r.u16().unwrap_or(0)).collect();
    let text = String::from_utf8(r.0.to_vec()).map_err(|_| FoldTablesError::Text)?;
    let ranges_sorted =
        empty.iter().all(|(a, b)| a <= b) && empty.windows(2).all(|w| w[0].1 < w[1].0);
    let runs_sorted = key_runs
        .windows(2)
        .all(|w| u64::from(w[0].0) + u64::from(w[0].1) <= u64::from(w[1].0));
    let runs_in_bounds = key_runs
        .iter()
        .all(|&(_, len, index)| usize::from(index) + usize::from(len) <= ends.len());
    let ends_ok = ends.windows(2).all(|w| w[0] <= w[1])
        && ends
            .iter()
            .all(|&e| usize::from(e) <= text.len() && text.is_char_boundary(usize::from(e)));
    if !(ranges_sorted && runs_sorted && runs_in_bounds && ends_ok) {
        return Err(FoldTablesError::Inconsistent);
    }
    Ok(Owned {
        empty,
        key_runs,
        ends,
        text,
    })
}

/// Little-endian reads from the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }
}

/// Installs the folding tables from a file written by [`export_fold_tables`], in a build without
/// the `bundled-tables` feature (the Worker, before it serves its first request).
pub fn install_fold_tables(bytes: &[u8]) -> Result<(), FoldTablesError> {
    let owned = parse(bytes)?;
    INSTALLED
        .set(owned)
        .map_err(|_| FoldTablesError::AlreadyInstalled)
}

/// Whether the folding tables are available (compiled in, or installed).
pub fn fold_tables_ready() -> bool {
    cfg!(feature = "bundled-tables") || INSTALLED.get().is_some()
}

/// Calls `emit` with each character of `c`'s compatibility decomposition that is not a
/// combining mark, in order: nothing for a combining mark, `c` itself for most characters.
pub(crate) fn fold(c: char, emit: impl FnMut(char)) {
    fold_with(tables(), c, emit)
}

fn fold_with(t: Tables<'_>, c: char, mut emit: impl FnMut(char)) {
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
    if let Some(i) = key_index(t.key_runs, u) {
        let start = if i == 0 { 0 } else { t.ends[i - 1] as usize };
        t.text[start..t.ends[i] as usize].chars().for_each(emit);
        return;
    }
    if !in_ranges(t.empty, u) {
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
fn key_index(key_runs: &[(u32, u16, u16)], u: u32) -> Option<usize> {
    let run = key_runs.partition_point(|&(first, _, _)| first <= u);
    let (first, len, index) = *key_runs.get(run.checked_sub(1)?)?;
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

    fn fold_from(t: Tables<'_>, c: char) -> Vec<char> {
        let mut out = Vec::new();
        fold_with(t, c, |d| out.push(d));
        out
    }

    #[test]
    fn exported_tables_read_back_and_fold_every_character_as_the_compiled_in_ones() {
        let file = export_fold_tables();
        let read = parse(&file).expect("the exported file parses");
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(fold_from(read.view(), c), ours(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn damaged_table_files_are_refused_with_a_reason() {
        let file = export_fold_tables();
        let header = |bytes: &mut Vec<u8>| bytes[0] = b'X';
        let truncated = |bytes: &mut Vec<u8>| {
            bytes.pop();
        };
        let longer = |bytes: &mut Vec<u8>| bytes.push(b'a');
        // The text starts with spaces (NBSP folds to one); 0xFF is never UTF-8.
        let text = |bytes: &mut Vec<u8>| {
            let at = bytes.len() - table::TEXT.len();
            bytes[at] = 0xFF;
        };
        // The last entry ends one byte into the text's final (multi-byte) character.
        let mid_character = |bytes: &mut Vec<u8>| {
            let at = bytes.len() - table::TEXT.len() - 2;
            let end = u16::from_le_bytes([bytes[at], bytes[at + 1]]) - 1;
            bytes[at..at + 2].copy_from_slice(&end.to_le_bytes());
        };
        // The first key run claims more entries than there are.
        let past_the_entries = |bytes: &mut Vec<u8>| {
            let at = 8 + 16 + 8 * table::EMPTY.len() + 4;
            bytes[at..at + 2].copy_from_slice(&u16::MAX.to_le_bytes());
        };
        // The first empty range ends before it starts.
        let backwards = |bytes: &mut Vec<u8>| {
            let at = 8 + 16 + 4;
            bytes[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
        };
        let cases: [(&str, &dyn Fn(&mut Vec<u8>), FoldTablesError); 7] = [
            ("header", &header, FoldTablesError::Header),
            ("truncated", &truncated, FoldTablesError::Length),
            ("longer", &longer, FoldTablesError::Length),
            ("text", &text, FoldTablesError::Text),
            (
                "mid character",
                &mid_character,
                FoldTablesError::Inconsistent,
            ),
            (
                "past the entries",
                &past_the_entries,
                FoldTablesError::Inconsistent,
            ),
            ("backwards", &backwards, FoldTablesError::Inconsistent),
        ];
        for (name, damage, want) in cases {
            let mut bytes = file.clone();
            damage(&mut bytes);
            assert_eq!(parse(&bytes).err(), Some(want), "{name}");
            assert!(install_fold_tables(&bytes).is_err(), "{name}");
        }
        assert_eq!(parse(b"EDFOLD").err(), Some(FoldTablesError::Header));
    }

    #[test]
    fn tables_install_once_and_a_second_install_is_refused() {
        assert!(fold_tables_ready());
        let file = export_fold_tables();
        // Other tests run meanwhile; the installed tables equal the compiled-in ones.
        let first = install_fold_tables(&file);
        let second = install_fold_tables(&file);
        assert!(first.is_ok() || first == Err(FoldTablesError::AlreadyInstalled));
        assert_eq!(second, Err(FoldTablesError::AlreadyInstalled));
        assert_eq!(ours('ﬁ'), ['f', 'i']);
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
