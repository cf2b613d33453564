//! Highlighted, HTML-safe excerpts of a hit's title and body.
//!
//! The text is re-analysed with the index's own analyser, so what gets marked is exactly what
//! matched (stems, bigrams, typo corrections), at its original position and spelling. All text
//! is escaped; the only markup in the output is `<mark>…</mark>`.

use foldhash::HashSet;

use crate::analysis::{filtered_document_tokens, is_cjk_term};

/// Context kept before the first match of a body excerpt, in characters.
const LEAD_CHARS: usize = 30;
/// How far a cut may move to land on a space instead of inside a word, in characters.
const SNAP_CHARS: usize = 15;
/// Matches considered as window starts; bounded so huge bodies stay cheap.
const MAX_WINDOW_STARTS: usize = 64;

/// The index terms that matched a hit.
pub(crate) struct Matched<'a> {
    terms: HashSet<&'a str>,
    /// First letters of the word terms, so other words need not be stemmed.
    letters: Vec<char>,
}

impl<'a> Matched<'a> {
    pub fn new(terms: impl IntoIterator<Item = &'a str>) -> Self {
        let terms: HashSet<&str> = terms.into_iter().collect();
        let mut letters: Vec<char> = terms
            .iter()
            .filter(|t| !is_cjk_term(t))
            .filter_map(|t| t.chars().next())
            .collect();
        edgedesk_sort::sort(&mut letters);
        letters.dedup();
        Matched { terms, letters }
    }
}

/// Byte ranges of `text` to mark: tokens of matched terms, overlapping ones merged.
fn marks(text: &str, matched: &Matched<'_>) -> Vec<(usize, usize)> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let admits = |c: char| matched.letters.contains(&c);
    filtered_document_tokens(text, Some(&admits), |t| {
        if matched.terms.contains(t.term) {
            spans.push((t.start, t.end));
        }
    });
    edgedesk_sort::sort(&mut spans);
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// The whole of `text`, escaped and marked (for titles).
pub(crate) fn highlight(text: &str, matched: &Matched<'_>) -> String {
    let spans = marks(text, matched);
    let mut out = String::with_capacity(text.len() + spans.len() * 13);
    write_marked(&mut out, text, 0, text.len(), &spans);
    out
}

/// An excerpt of about `max_chars` characters of `text` around its densest cluster of matches,
/// escaped and marked, with `…` where it was cut.
pub(crate) fn excerpt(text: &str, matched: &Matched<'_>, max_chars: usize) -> String {
    let text = text.trim();
    let spans = marks(text, matched);
    let (start, end) = window(text, &spans, max_chars.max(1));
    let mut out = String::with_capacity(end - start + spans.len() * 13 + 8);
    if start > 0 {
        out.push('…');
    }
    write_marked(&mut out, text, start, end, &spans);
    if end < text.len() {
        out.push('…');
    }
    out
}

/// Byte offset `n` characters after `from` (or the end).
fn chars_forward(text: &str, from: usize, n: usize) -> usize {
    text[from..]
        .char_indices()
        .nth(n)
        .map_or(text.len(), |(i, _)| from + i)
}

/// Byte offset `n` characters before `from` (or the start).
fn chars_back(text: &str, from: usize, n: usize) -> usize {
    if n == 0 {
        return from;
    }
    text[..from]
        .char_indices()
        .rev()
        .nth(n - 1)
        .map_or(0, |(i, _)| i)
}

fn window(text: &str, spans: &[(usize, usize)], max_chars: usize) -> (usize, usize) {
    if text.chars().nth(max_chars).is_none() {
        return (0, text.len());
    }
    // The window start (a match) whose following `max_chars` characters hold the most matches.
    let mut best: Option<(usize, usize)> = None; // (count, span index)
    for (i, &(s, _)) in spans.iter().enumerate().take(MAX_WINDOW_STARTS) {
        let limit = chars_forward(text, s, max_chars - LEAD_CHARS.min(max_chars / 4));
        let count = spans[i..].iter().take_while(|&&(_, e)| e <= limit).count();
        if best.is_none_or(|(c, _)| count > c) {
            best = Some((count, i));
        }
    }
    let Some((_, i)) = best else {
        return (0, snap_end(text, 0, chars_forward(text, 0, max_chars)));
    };
    let first = spans[i].0;
    let mut start = chars_back(text, first, LEAD_CHARS.min(max_chars / 4));
    // Do not begin mid-word: move to just after the next space before the match.
    if start > 0 {
        if let Some(sp) = text[start..first].find(char::is_whitespace) {
            let after = start + sp + 1;
            if text[start..after].chars().count() <= SNAP_CHARS {
                start = after;
            }
        }
    }
    let end = chars_forward(text, start, max_chars).max(spans[i].1);
    (start, snap_end(text, start, end))
}

/// Pulls a cut that falls inside a word back to the preceding space, if one is close.
fn snap_end(text: &str, start: usize, end: usize) -> usize {
    if end >= text.len() {
        return text.len();
    }
    let inside_word = text[end..].starts_with(|c: char| c.is_alphanumeric())
        && text[..end].ends_with(|c: char| c.is_alphanumeric());
    if !inside_word {
        return end;
    }
    let floor = chars_back(text, end, SNAP_CHARS).max(start);
    match text[floor..end].rfind(char::is_whitespace) {
        Some(sp) if floor + sp > start => floor + sp,
        _ => end,
    }
}

/// Appends `text[start..end]` escaped, with the parts inside `spans` wrapped in `<mark>`, and
/// runs of whitespace collapsed to one space.
fn write_marked(out: &mut String, text: &str, start: usize, end: usize, spans: &[(usize, usize)]) {
    let mut at = start;
    let mut last_space = false;
    for &(s, e) in spans {
        let (s, e) = (s.max(start), e.min(end));
        if s >= e || s < at {
            continue;
        }
        escape_into(out, &text[at..s], &mut last_space);
        out.push_str("<mark>");
        escape_into(out, &text[s..e], &mut last_space);
        out.push_str("</mark>");
        at = e;
    }
    escape_into(out, &text[at..end], &mut last_space);
}

fn escape_into(out: &mut String, text: &str, last_space: &mut bool) {
    for c in text.chars() {
        if c.is_whitespace() {
            if !*last_space {
                out.push(' ');
            }
            *last_space = true;
            continue;
        }
        *last_space = false;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refund() -> Matched<'static> {
        Matched::new(["refund"])
    }

    #[test]
    fn matches_are_marked_in_their_original_spelling() {
        assert_eq!(
            highlight("Refunds & Returns", &refund()),
            "<mark>Refunds</mark> &amp; Returns"
        );
    }

    #[test]
    fn markup_in_the_text_is_escaped_never_passed_through() {
        let html = highlight("<script>alert('refund')</script>", &refund());
        assert_eq!(
            html,
            "&lt;script&gt;alert(&#39;<mark>refund</mark>&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn overlapping_chinese_bigrams_merge_into_one_mark() {
        let m = Matched::new(["退款", "款申"]);
        assert_eq!(highlight("我要退款申请", &m), "我要<mark>退款申</mark>请");
    }

    #[test]
    fn a_long_body_is_cut_around_its_matches_on_word_boundaries() {
        let body = format!(
            "{} To get a refund open the order page. {}",
            "Lorem ipsum dolor sit amet. ".repeat(20),
            "Consectetur adipiscing elit. ".repeat(20)
        );
        let out = excerpt(&body, &refund(), 80);
        assert!(out.starts_with('…') && out.ends_with('…'), "{out}");
        assert!(out.contains("<mark>refund</mark>"), "{out}");
        let inner = out
            .trim_matches('…')
            .replace("<mark>", "")
            .replace("</mark>", "");
        assert!(inner.chars().count() <= 80, "{out}");
        assert!(!inner.starts_with(' ') && inner.split(' ').all(|w| !w.is_empty()));
    }

    #[test]
    fn a_body_without_matches_yields_its_opening() {
        let body = "word ".repeat(100);
        let out = excerpt(&body, &refund(), 40);
        assert!(out.starts_with("word word") && out.ends_with('…'));
        assert!(!out.contains("<mark>"));
    }

    #[test]
    fn whitespace_runs_collapse_to_one_space() {
        assert_eq!(
            excerpt("a\n\n  refund\tnow", &refund(), 100),
            "a <mark>refund</mark> now"
        );
    }

    #[test]
    fn chinese_bodies_are_cut_by_characters() {
        let body = format!("{}退款{}", "无关内容".repeat(50), "其他文字".repeat(50));
        let m = Matched::new(["退款"]);
        let out = excerpt(&body, &m, 40);
        assert!(out.contains("<mark>退款</mark>"));
        assert!(out.chars().count() <= 40 + 2 + 13);
    }
}
