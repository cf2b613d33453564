//! HTML and plain text, both ways: the text an agent is shown for an HTML-only message, and the
//! HTML part of a reply an agent wrote as text.
//!
//! HTML to text is `html2text`'s: it parses with html5ever, the HTML5 algorithm browsers use, so
//! what is inside `<script>`, `<style>`, `<head>` and `<template>` is dropped however the tags
//! are written (attributes, case, unclosed), entities are decoded, and block elements end lines.
//! (`mail-parser`'s own converter keeps the content of `<script type="…">` and runs the text of
//! consecutive `<div>`s together.) The agent only ever sees the text this produces, never HTML.

use std::fmt::Write as _;

#[cfg(feature = "html-render")]
use html2text::render::TextDecorator;

/// Lines are wrapped only past this width: wide enough that no paragraph a person writes is
/// broken, small enough that a `<hr>` (drawn as this many `─`) stays cheap.
#[cfg(feature = "html-render")]
const WIDTH: usize = 4096;

/// How deep elements may be opened before the rest of the document is dropped. html5ever looks
/// through the stack of open elements at each block element, so a document of 100,000 nested
/// `<div>`s (500 KB) takes half a minute; mail that people or their clients write stays under a
/// few dozen levels.
const MAX_DEPTH: usize = 256;

/// The text of `html`: block elements on lines of their own, `> ` before quoted lines
/// (`<blockquote>`), links as `text <url>`, images by their alt text, lines trimmed at the end,
/// no more than one empty line in a row.
#[cfg(feature = "html-render")]
pub(crate) fn html_to_text(html: &str) -> String {
    let html = &html[..depth_capped_len(html)];
    let rendered = html2text::config::with_decorator(AgentText::default())
        .raw_mode(true)
        .allow_width_overflow()
        .no_link_wrapping()
        .string_from_read(html.as_bytes(), WIDTH)
        // Only a renderer bug gets here: no text is safer than the markup.
        .unwrap_or_default();
    tidy(&rendered)
}

/// The length of the prefix of `html` in which no more than [`MAX_DEPTH`] elements are open
/// at once, counted by tag names alone: elements without content (`<br>`) or whose end tag may
/// be left out (`<p>`, `<li>`, `<td>`) are not counted, so the count can only overestimate for
/// documents that close what they open.
fn depth_capped_len(html: &str) -> usize {
    const UNCOUNTED: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "tbody", "thead",
        "tfoot", "option", "optgroup", "colgroup", "rb", "rt", "rp", "html", "head", "body",
    ];
    let bytes = html.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'<') {
        let start = i + offset;
        i = start + 1;
        let closing = bytes.get(i) == Some(&b'/');
        let name_start = if closing { i + 1 } else { i };
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            continue;
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        if UNCOUNTED.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            if depth > MAX_DEPTH {
                return start;
            }
        }
    }
    html.len()
}

/// Trailing spaces off each line, no-break spaces as spaces, a horizontal rule as `---`, at
/// most one empty line in a row, no empty lines at either end.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.replace('\u{a0}', " ");
        let line = line.trim_end();
        let line = if !line.is_empty() && line.chars().all(|c| c == '─') {
            "---"
        } else {
            line
        };
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}

/// The text of `html` by mail-parser's own converter, without the `html-render` feature.
#[cfg(not(feature = "html-render"))]
pub(crate) fn html_to_text(html: &str) -> String {
    let html = &html[..depth_capped_len(html)];
    tidy(&mail_parser::decoders::html::html_to_text(html))
}

/// How `html2text` writes inline markup for agents: no Markdown (no `*`, `#` or footnotes), the
/// target of a web link after its text, since "click here" alone says nothing, and `> ` before
/// quoted lines, which is how quoted history is recognised in text.
#[cfg(feature = "html-render")]
#[derive(Clone, Debug, Default)]
struct AgentText {
    links: Vec<Option<String>>,
}

#[cfg(feature = "html-render")]
impl TextDecorator for AgentText {
    type Annotation = ();

    fn decorate_link_start(&mut self, url: &str) -> (String, ()) {
        let shown = url.starts_with("http://") || url.starts_with("https://");
        self.links.push(shown.then(|| url.to_string()));
        (String::new(), ())
    }
    fn decorate_link_end(&mut self) -> String {
        match self.links.pop().flatten() {
            Some(url) => format!(" <{url}>"),
            None => String::new(),
        }
    }
    fn decorate_em_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_em_end(&self) -> String {
        String::new()
    }
    fn decorate_strong_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_strong_end(&self) -> String {
        String::new()
    }
    fn decorate_strikeout_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_strikeout_end(&self) -> String {
        String::new()
    }
    fn decorate_code_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_code_end(&self) -> String {
        String::new()
    }
    fn decorate_preformat_first(&self) {}
    fn decorate_preformat_cont(&self) {}
    fn decorate_image(&mut self, _src: &str, title: &str) -> (String, ()) {
        let title = title.trim();
        if title.is_empty() {
            (String::new(), ())
        } else {
            (format!("[image: {title}]"), ())
        }
    }
    fn header_prefix(&self, _level: usize) -> String {
        String::new()
    }
    fn quote_prefix(&self) -> String {
        "> ".to_string()
    }
    fn unordered_item_prefix(&self) -> String {
        "- ".to_string()
    }
    fn ordered_item_prefix(&self, i: i64) -> String {
        format!("{i}. ")
    }
    fn make_subblock_decorator(&self) -> Self {
        AgentText::default()
    }
}

/// The HTML of a plain-text reply, for the HTML part of the mail: the text escaped, paragraphs
/// (separated by empty lines) as `<p>`, the line breaks inside them as `<br>`. A fragment, not a
/// document; [`compose`](crate::compose) puts it in one.
pub fn text_to_html(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len() + text.len() / 8 + 16);
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, out: &mut String| {
        if paragraph.is_empty() {
            return;
        }
        out.push_str("<p>");
        for (i, line) in paragraph.iter().enumerate() {
            if i > 0 {
                out.push_str("<br>\n");
            }
            escape_into(line, out);
        }
        out.push_str("</p>\n");
        paragraph.clear();
    };
    for line in text.split('\n') {
        if line.trim().is_empty() {
            flush(&mut paragraph, &mut out);
        } else {
            paragraph.push(line.trim_end());
        }
    }
    flush(&mut paragraph, &mut out);
    out
}

fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // A run of spaces would collapse to one in HTML; alternate with no-break spaces so
            // indentation a person typed survives.
            ' ' if out.ends_with(' ') => out.push_str("&nbsp;"),
            c => {
                let _ = out.write_char(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "html-render")]
    fn script_and_style_content_never_reaches_the_text() {
        let html = r#"<html><head><title>t</title><style type="text/css">.a{color:red}</style>
            <script>var headScript = 1;</script></head><body>
            <p onclick="steal()">Hello &amp; welcome</p>
            <SCRIPT type="text/javascript">alert("x")</SCRIPT>
            <style media="all">p{display:none}</style>
            <script>if (a<b) { document.write("</p>") }</script>
            <template><p>template text</p></template>
            <div>Bye</div></body></html>"#;
        let text = html_to_text(html);
        assert_eq!(text, "Hello & welcome\n\nBye");
    }

    #[test]
    #[cfg(feature = "html-render")]
    fn entities_are_decoded_and_block_elements_end_lines() {
        let text = html_to_text(
            "<div>caf&eacute; &lt;tag&gt; &#x4E2D;&#25991;&nbsp;ok</div><div>second</div>\
             line<br>break",
        );
        assert_eq!(text, "café <tag> 中文 ok\nsecond\nline\nbreak");
    }

    #[test]
    #[cfg(feature = "html-render")]
    fn blockquotes_become_quoted_lines_and_links_show_their_target() {
        let text = html_to_text(
            "<p>See <a href=\"https://acme.example/help\">the guide</a> or \
             <a href=\"mailto:x@acme.example\">write</a>.</p>\
             <blockquote><p>old</p><p>older</p></blockquote><img src=\"cid:1\" alt=\"logo\">",
        );
        assert_eq!(
            text,
            "See the guide <https://acme.example/help> or write.\n\n> old\n>\n> older\n\n[image: logo]"
        );
    }

    #[test]
    fn a_horizontal_rule_draws_no_line_of_box_characters() {
        let text = html_to_text("<p>a</p><hr><p>b</p>");
        assert!(!text.contains('─'), "{text:?}");
        assert!(text.starts_with('a') && text.ends_with('b'), "{text:?}");
    }

    #[test]
    fn absurdly_deep_nesting_is_cut_off_and_stays_fast() {
        let html = "<div>".repeat(100_000) + "deep";
        assert_eq!(depth_capped_len(&html), MAX_DEPTH * 5);
        assert_eq!(html_to_text(&html), "");
        let fine = "<div>".repeat(50) + "deep" + &"</div>".repeat(50);
        assert_eq!(html_to_text(&fine), "deep");
        // Elements that close themselves are not counted.
        let paragraphs = "<p>x".repeat(10_000);
        assert_eq!(depth_capped_len(&paragraphs), paragraphs.len());
    }

    #[test]
    fn text_becomes_escaped_paragraphs_with_line_breaks() {
        assert_eq!(
            text_to_html("Hi <Ann> & co,\r\nthanks.\n\n\nBye  now\n"),
            "<p>Hi &lt;Ann&gt; &amp; co,<br>\nthanks.</p>\n<p>Bye &nbsp;now</p>\n"
        );
        assert_eq!(text_to_html(""), "");
    }
}
