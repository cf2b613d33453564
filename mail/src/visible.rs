//! What an agent is shown of a message: the new text, without the quoted history a reply
//! carries below (or between) its lines and without the signature.
//!
//! Clients mark history in many ways; these are the ones customers' mail arrives with:
//! - lines starting with `>` (and the HTML `<blockquote>`, which becomes such lines);
//! - an attribution line: Gmail's and Apple Mail's `On <date>, <name> wrote:` (Gmail wraps it
//!   over two lines), its German, French and Spanish forms, Chinese clients' `在 …，xxx 写道：`,
//!   Japanese `…さんは書きました:`, and Gmail's localised `<date> <name> <address>:`;
//! - Outlook's `-----Original Message-----`, QQ Mail's `------------------ 原始邮件
//!   ------------------`, and the `________________________________` line above a header block;
//! - a header block of the quoted message: `From:` followed by `Sent:`/`Date:` and
//!   `Subject:`/`To:` (Outlook), `发件人:` with `发送时间:`/`主题:` (Outlook, Foxmail, QQ, 163), and
//!   their German and Japanese forms.
//!
//! Everything from the first such mark on is history, except when the reply is written between
//! `>` lines (then only the quoted lines go) and except a forwarded message, whose forwarded part
//! is the point of it and is kept whole. The signature is what follows a `-- ` line, or a
//! client's "Sent from my iPhone" line. Stripping never leaves nothing: a message that is only
//! history or only a signature is shown whole.

/// The text of `full` an agent is shown, for a message with `subject`.
pub(crate) fn visible_text(full: &str, subject: &str) -> String {
    let lines: Vec<&str> = full.lines().collect();
    let (body, forwarded) = split_forward(&lines, subject);
    let history = history_start(body);
    let own: Vec<&str> = match history {
        Some((at, Mark::Quote)) if is_interleaved(&body[at..]) => body[..at]
            .iter()
            .copied()
            .chain(answers_between_quotes(&body[at..]))
            .collect(),
        Some((at, _)) => body[..at].to_vec(),
        None => body.to_vec(),
    };
    let forwarded = if history.is_some() {
        &[][..]
    } else {
        forwarded
    };

    let without_signature = &own[..signature_start(&own).unwrap_or(own.len())];
    for candidate in [without_signature, &own[..]] {
        let text = join(candidate, forwarded);
        if !text.is_empty() {
            return text;
        }
    }
    full.trim().to_string()
}

fn join(own: &[&str], forwarded: &[&str]) -> String {
    let own = own.join("\n");
    let own = own.trim();
    let forwarded = forwarded.join("\n");
    let forwarded = forwarded.trim();
    match (own.is_empty(), forwarded.is_empty()) {
        (_, true) => own.to_string(),
        (true, false) => forwarded.to_string(),
        (false, false) => format!("{own}\n\n{forwarded}"),
    }
}

/// How history starts: with quoted lines (or the attribution above them), which a reply may be
/// written between; or with a separator or header block, below which everything is history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Quote,
    Block,
}

/// The lines of a forwarded message's own text, and of what it forwards (from the forward
/// marker on). A message is a forward when it has a forward marker (Gmail's `---------- Forwarded
/// message ---------`, Apple Mail's `Begin forwarded message:`…) before any history, or when its
/// subject says so (`Fwd:`, `FW:`, `转发:`) and it has a header block, Outlook's way of
/// forwarding.
fn split_forward<'a, 'l>(lines: &'l [&'a str], subject: &str) -> (&'l [&'a str], &'l [&'a str]) {
    let marker = lines.iter().position(|l| is_forward_marker(l));
    let at = match marker {
        Some(at) => Some(at),
        None if is_forward_subject(subject) => {
            history_start(lines).and_then(|(at, mark)| (mark == Mark::Block).then_some(at))
        }
        None => None,
    };
    match at {
        // A forward marker below the start of history is part of the quoted thread.
        Some(at) if history_start(&lines[..at]).is_none() => (&lines[..at], &lines[at..]),
        _ => (lines, &[]),
    }
}

fn is_forward_marker(line: &str) -> bool {
    let line = line.trim();
    let inner = line.trim_matches(|c: char| c == '-' || c.is_whitespace());
    let dashed = line.starts_with("---") && line.ends_with("---");
    (dashed
        && [
            "forwarded message",
            "转发的邮件",
            "转发邮件",
            "weitergeleitete nachricht",
            "message transféré",
            "転送メッセージ",
        ]
        .iter()
        .any(|m| inner.eq_ignore_ascii_case(m)))
        || [
            "begin forwarded message:",
            "anfang der weitergeleiteten nachricht:",
            "début du message réexpédié :",
            "下面是被转发的邮件：",
        ]
        .iter()
        .any(|m| line.eq_ignore_ascii_case(m))
}

fn is_forward_subject(subject: &str) -> bool {
    let s = subject.trim_start();
    ["fwd:", "fw:", "转发:", "转发：", "wg:", "tr:"]
        .iter()
        .any(|p| {
            s.get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p))
        })
}

/// Where quoted history starts, and how.
fn history_start(lines: &[&str]) -> Option<(usize, Mark)> {
    (0..lines.len()).find_map(|i| {
        if is_quote(lines[i]) || is_attribution(lines, i) {
            Some((i, Mark::Quote))
        } else if is_separator(lines, i) || is_header_block(lines, i) {
            Some((i, Mark::Block))
        } else {
            None
        }
    })
}

fn is_quote(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// An attribution on line `i`, alone or wrapped over two lines.
fn is_attribution(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    if line.is_empty() || line.chars().count() > 300 {
        return false;
    }
    let next = lines.get(i + 1).map_or("", |l| l.trim());
    let joined = format!("{line} {next}");
    let starts_quote = next_content(lines, i + 1).is_some_and(is_quote);
    attribution_line(line)
        // Gmail wraps its English attribution at 78 columns, often inside the address.
        || (!next.is_empty() && next.chars().count() < 80 && attribution_line(&joined)
            && !attribution_line(next))
        || (starts_quote && ends_with_colon(line) && line.contains('@'))
}

fn attribution_line(line: &str) -> bool {
    let lower = line.to_lowercase();
    let starts = |p: &str| lower.starts_with(p);
    let ends = |p: &str| lower.ends_with(p);
    (starts("on ") && ends("wrote:"))
        || (starts("am ") && lower.contains(" schrieb") && ends_with_colon(line))
        || (starts("le ") && (ends("a écrit :") || ends("a écrit:")))
        || (starts("el ") && ends("escribió:"))
        || ends("写道：")
        || ends("写道:")
        || ends("書きました:")
        || ends("書きました：")
}

fn ends_with_colon(line: &str) -> bool {
    line.ends_with(':') || line.ends_with('：')
}

/// The first line after `from` that is not blank.
fn next_content<'a>(lines: &[&'a str], from: usize) -> Option<&'a str> {
    lines
        .iter()
        .skip(from)
        .find(|l| !l.trim().is_empty())
        .copied()
}

/// `-----Original Message-----` and its relatives, or a line of underscores (Outlook) right
/// above a header block.
fn is_separator(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    // qmail's bounce, above the returned message.
    if line.starts_with("--- Below this line is a copy of the message") {
        return true;
    }
    if line.starts_with("---") && line.ends_with("---") {
        let inner = line.trim_matches(|c: char| c == '-' || c.is_whitespace());
        return [
            "original message",
            "原始邮件",
            "原始郵件",
            "ursprüngliche nachricht",
            "message d'origine",
            "mensaje original",
            "元のメッセージ",
        ]
        .iter()
        .any(|m| inner.eq_ignore_ascii_case(m));
    }
    let underscores = line.len() >= 10 && line.bytes().all(|b| b == b'_');
    // Outlook draws `<hr>` above the block in HTML, which the conversion writes as `---`.
    let rule = line == "---";
    (underscores || rule)
        && (i + 1..lines.len().min(i + 4))
            .any(|j| !lines[j].trim().is_empty() && is_header_block(lines, j))
}

/// The header block of a quoted message on line `i`: a From line followed, within six lines, by a
/// date line and a subject or recipient line.
fn is_header_block(lines: &[&str], i: usize) -> bool {
    const FROM: &[&str] = &["From", "发件人", "發件人", "寄件者", "Von", "De", "差出人"];
    const DATE: &[&str] = &[
        "Sent",
        "Date",
        "发送时间",
        "時間",
        "时间",
        "日期",
        "寄件日期",
        "Gesendet",
        "Datum",
        "Envoyé",
        "送信日時",
    ];
    const OTHER: &[&str] = &[
        "Subject",
        "To",
        "主题",
        "主題",
        "收件人",
        "主旨",
        "Betreff",
        "An",
        "Objet",
        "À",
        "件名",
        "宛先",
    ];
    if !is_field(lines[i], FROM) {
        return false;
    }
    let window = &lines[i + 1..lines.len().min(i + 7)];
    window.iter().any(|l| is_field(l, DATE)) && window.iter().any(|l| is_field(l, OTHER))
}

/// `line` starts with one of `names` and a colon (ASCII or full-width, spaces allowed before it
/// as French writes it). Bold markers of converted HTML (`*From:*`) are ignored.
fn is_field(line: &str, names: &[&str]) -> bool {
    let line = line.trim_start().trim_start_matches('*');
    names.iter().any(|name| {
        line.get(..name.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(name))
            && line[name.len()..]
                .trim_start_matches([' ', '*', '\u{a0}'])
                .starts_with([':', '：'])
    })
}

/// A reply written between quoted lines: after the first quoted line, a line of the reply's own
/// before any signature or history block.
fn is_interleaved(from_history: &[&str]) -> bool {
    let mut seen_quote = false;
    for (i, line) in from_history.iter().enumerate() {
        if is_quote(line) {
            seen_quote = true;
        } else if line.trim().is_empty() || is_attribution(from_history, i) {
            continue;
        } else if is_signature(line)
            || is_separator(from_history, i)
            || is_header_block(from_history, i)
        {
            return false;
        } else if seen_quote {
            return true;
        }
    }
    false
}

/// The reply's own lines of an interleaved reply: quoted lines and attributions left out, up to
/// a signature or history block.
fn answers_between_quotes<'a>(from_history: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (i, line) in from_history.iter().enumerate() {
        if is_separator(from_history, i) || is_header_block(from_history, i) {
            break;
        }
        if !is_quote(line) && !is_attribution(from_history, i) {
            out.push(*line);
        }
    }
    out
}

/// Where the signature starts: the `-- ` separator (which some clients trim to `--`) or a
/// client's one-line signature.
fn signature_start(lines: &[&str]) -> Option<usize> {
    lines.iter().position(|l| is_signature(l))
}

fn is_signature(line: &str) -> bool {
    const CLIENT_SIGNATURES: &[&str] = &[
        "sent from my ",
        "sent from mail for windows",
        "sent from outlook",
        "sent from yahoo mail",
        "sent with proton mail",
        "get outlook for ",
        "从我的iphone发送",
        "从我的 iphone 发送",
        "发自我的iphone",
        "发自我的 iphone",
        "发自我的ipad",
        "来自我的华为手机",
        "iphoneから送信",
        "von meinem iphone gesendet",
        "envoyé de mon iphone",
        "enviado desde mi iphone",
    ];
    if line == "-- " || line.trim_end() == "--" {
        return true;
    }
    let lower = line.trim().to_lowercase();
    lower.chars().count() < 80 && CLIENT_SIGNATURES.iter().any(|s| lower.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> String {
        visible_text(text, "")
    }

    #[test]
    fn quoted_lines_below_a_reply_are_history() {
        assert_eq!(
            shown("Yes, thanks.\n\n> Did it work?\n> Bob"),
            "Yes, thanks."
        );
    }

    #[test]
    fn an_attribution_wrapped_over_two_lines_is_history() {
        let text = "Works now.\n\nOn Mon, Jun 3, 2024 at 10:00 AM Bob Support <support@acme.example>\nwrote:\n\n> Try again";
        assert_eq!(shown(text), "Works now.");
    }

    #[test]
    fn an_attribution_without_quoted_lines_below_is_still_history() {
        let text = "Fine.\n\n在 2024年6月3日 10:00，张三 <zhang@example.cn> 写道：\n原来的内容";
        assert_eq!(shown(text), "Fine.");
    }

    #[test]
    fn answers_written_between_quoted_lines_are_kept() {
        let text = "On Mon, Bob wrote:\n> Which model?\nThe X200.\n\n> Since when?\nYesterday.\n\n-- \nAnn";
        assert_eq!(shown(text), "The X200.\n\nYesterday.");
    }

    #[test]
    fn an_outlook_header_block_is_history() {
        let text = "See attached.\n\nFrom: Bob <bob@acme.example>\nSent: Monday, June 3, 2024 10:00 AM\nTo: Ann\nSubject: RE: Printer\n\nOld text";
        assert_eq!(shown(text), "See attached.");
    }

    #[test]
    fn a_from_line_alone_is_not_a_header_block() {
        let text = "From: my old account\nTo be honest I forgot the password.";
        assert_eq!(shown(text), text);
    }

    #[test]
    fn signatures_are_removed() {
        assert_eq!(shown("Thanks\n-- \nAnn Smith\nACME"), "Thanks");
        assert_eq!(shown("Thanks\n\nSent from my iPhone"), "Thanks");
        assert_eq!(shown("谢谢\n\n从我的iPhone发送"), "谢谢");
        assert_eq!(shown("Thanks\n\nGet Outlook for iOS"), "Thanks");
    }

    #[test]
    fn stripping_never_leaves_nothing() {
        assert_eq!(shown("> only a quote"), "> only a quote");
        assert_eq!(shown("-- \nonly a signature"), "-- \nonly a signature");
        assert_eq!(shown("   "), "");
    }

    #[test]
    fn a_forwarded_message_keeps_what_it_forwards() {
        let text = "Please help.\n\nSent from my iPhone\n\n---------- Forwarded message ---------\nFrom: Shop <shop@example.com>\nDate: Mon, Jun 3, 2024\nSubject: Order\nTo: Ann\n\nYour order shipped.\n\n> older";
        assert_eq!(
            shown(text),
            "Please help.\n\n---------- Forwarded message ---------\nFrom: Shop <shop@example.com>\nDate: Mon, Jun 3, 2024\nSubject: Order\nTo: Ann\n\nYour order shipped.\n\n> older"
        );
    }

    #[test]
    fn an_outlook_forward_is_known_by_its_subject() {
        let text = "FYI\n\nFrom: Shop\nSent: Monday\nTo: Ann\nSubject: Order\n\nShipped.";
        assert_eq!(visible_text(text, "FW: Order"), text);
        assert_eq!(visible_text(text, "RE: Order"), "FYI");
    }

    #[test]
    fn a_forward_inside_quoted_history_is_history() {
        let text = "Thanks!\n\nFrom: Bob\nSent: Monday\nTo: Ann\nSubject: FW: x\n\n---------- Forwarded message ---------\nold";
        assert_eq!(shown(text), "Thanks!");
    }
}
