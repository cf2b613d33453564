//! Subjects: the ticket number a reply carries (`[#1234]`) and the subject of a reply.

/// The ticket number in `subject`: `Some(1234)` for `"Re: Printer [#1234] broken"`. The first
/// `[#digits]` wins; spaces inside the brackets are allowed, since some clients' "smart"
/// editing adds them.
pub fn ticket_number(subject: &str) -> Option<u64> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        if let Some(end) = after.find(']') {
            if let Ok(n) = after[..end].trim().parse::<u64>() {
                return Some(n);
            }
        }
        rest = after;
    }
    None
}

/// The prefixes clients put before the subject of a reply, in the languages our tenants'
/// customers write: English, German (`Aw:`, `Antw:`), the Nordic `SV:`, Dutch, French, Polish,
/// Italian (`R:`), Chinese (`回复`, `答复`) and Japanese clients that keep `Re:`.
const REPLY_PREFIXES: &[&str] = &[
    "re", "aw", "antw", "antwort", "sv", "vs", "odp", "r", "ref", "rif", "回复", "回覆", "答复",
    "答覆",
];

/// The subject of a reply to a message with `subject`: `"Re: x"`, never `"Re: Re: x"`; the
/// reply prefixes of other clients (`RE:`, `Aw:`, `回复:`, `答复：`, `Re[2]:`) are replaced too.
pub fn reply_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    while let Some(stripped) = strip_reply_prefix(rest) {
        rest = stripped;
    }
    if rest.is_empty() {
        "Re:".to_string()
    } else {
        format!("Re: {rest}")
    }
}

/// `s` without one leading reply prefix, or `None` if it has none.
fn strip_reply_prefix(s: &str) -> Option<&str> {
    // The prefix ends at the first colon, ASCII or full-width.
    let colon = s.find([':', '：'])?;
    let head = s[..colon].trim();
    // Counters some clients add: `Re[2]:`, `Re(2):`, `RE^2:`.
    let word = head
        .split(['[', '(', '^'])
        .next()
        .unwrap_or_default()
        .trim_end();
    let is_reply = REPLY_PREFIXES.iter().any(|p| word.eq_ignore_ascii_case(p));
    if !is_reply {
        return None;
    }
    let colon_len = s[colon..].chars().next().map_or(1, char::len_utf8);
    Some(s[colon + colon_len..].trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticket_number_is_read_from_brackets_anywhere_in_the_subject() {
        assert_eq!(ticket_number("Re: Printer [#1234] broken"), Some(1234));
        assert_eq!(ticket_number("[#7] Refund"), Some(7));
        assert_eq!(ticket_number("Refund [# 42 ]"), Some(42));
        assert_eq!(ticket_number("回复: 打印机坏了 [#99]"), Some(99));
    }

    #[test]
    fn a_subject_without_a_bracketed_number_has_no_ticket_number() {
        assert_eq!(ticket_number("Order #1234 is late"), None);
        assert_eq!(ticket_number("[#abc] then [#12]"), Some(12));
        assert_eq!(ticket_number("[#"), None);
        assert_eq!(ticket_number("[#99999999999999999999999]"), None);
        assert_eq!(ticket_number(""), None);
    }

    #[test]
    fn a_reply_subject_has_one_re_prefix() {
        assert_eq!(reply_subject("Printer broken"), "Re: Printer broken");
        assert_eq!(reply_subject("Re: Printer broken"), "Re: Printer broken");
        assert_eq!(
            reply_subject("RE: re: Printer broken"),
            "Re: Printer broken"
        );
        assert_eq!(reply_subject("Re[2]: Printer broken"), "Re: Printer broken");
        assert_eq!(reply_subject("  "), "Re:");
    }

    #[test]
    fn other_clients_reply_prefixes_are_recognised() {
        assert_eq!(reply_subject("Aw: Drucker"), "Re: Drucker");
        assert_eq!(reply_subject("AW: RE: Drucker"), "Re: Drucker");
        assert_eq!(reply_subject("SV: Skrivare"), "Re: Skrivare");
        assert_eq!(reply_subject("回复: 打印机坏了"), "Re: 打印机坏了");
        assert_eq!(reply_subject("答复：打印机坏了"), "Re: 打印机坏了");
        assert_eq!(reply_subject("回复：Re: 打印机坏了"), "Re: 打印机坏了");
    }

    #[test]
    fn a_colon_that_is_not_a_reply_prefix_stays() {
        assert_eq!(reply_subject("Fwd: invoice"), "Re: Fwd: invoice");
        assert_eq!(reply_subject("Order: 12 items"), "Re: Order: 12 items");
        assert_eq!(reply_subject("Reply: later"), "Re: Reply: later");
        assert_eq!(reply_subject("[#12] Re: x"), "Re: [#12] Re: x");
    }
}
