//! Email addresses as the channel keys them: one spelling per mailbox (trimmed, lowercased), and
//! the plus-address tokens (`support+ab12@acme.example`) that tie a reply to its conversation
//! even when the sender's client drops the threading headers.

use serde::{Deserialize, Serialize};

/// A mailbox: the address, normalised by [`normalize_address`], and the display name if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub address: String,
    pub name: Option<String>,
}

impl Address {
    /// The address normalised, with `name` trimmed (an empty name, or one that only repeats the
    /// address, is none). `None` when `address` is not an address.
    pub fn new(address: &str, name: Option<&str>) -> Option<Address> {
        let address = normalize_address(address)?;
        let name = name
            .map(|n| n.trim().trim_matches('"').trim())
            .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&address))
            .map(str::to_string);
        Some(Address { address, name })
    }
}

/// `s` as one spelling of the mailbox: trimmed, without surrounding `<>` or `mailto:`, lowercased.
/// `None` unless it has the shape `local@domain`: a non-empty local part and a domain of
/// non-empty dot-separated labels, with nothing in either that cannot be in an address outside
/// quotes (spaces, brackets, commas…). Quoted local parts are refused: no customer has one, and
/// they are a favourite of spoofing.
pub fn normalize_address(s: &str) -> Option<String> {
    let mut s = s.trim();
    if let Some(inner) = s.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        s = inner.trim();
    }
    if s.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("mailto:"))
    {
        s = s[7..].trim();
    }
    let (local, domain) = s.rsplit_once('@')?;
    let forbidden = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '<' | '>' | '(' | ')' | '[' | ']' | ',' | ';' | ':' | '"' | '\\' | '@'
            )
    };
    if local.is_empty() || local.len() > 64 || local.chars().any(forbidden) {
        return None;
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return None;
    }
    if domain.is_empty() || domain.len() > 255 {
        return None;
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    };
    if !domain.split('.').all(label_ok) {
        return None;
    }
    Some(s.to_lowercase())
}

/// The token of a plus-address: `Some("ab12")` for `support+ab12@acme.example` received by the
/// mailbox `support@acme.example`. `None` when `recipient` is the mailbox itself, another
/// mailbox, or carries a token that [`plus_address`] could not have made (empty, or with
/// characters other than letters, digits, `-`, `_` and `.`).
pub fn reply_token(recipient: &str, mailbox: &str) -> Option<String> {
    let recipient = normalize_address(recipient)?;
    let mailbox = normalize_address(mailbox)?;
    let (r_local, r_domain) = recipient.rsplit_once('@')?;
    let (m_local, m_domain) = mailbox.rsplit_once('@')?;
    if r_domain != m_domain {
        return None;
    }
    let token = r_local.strip_prefix(m_local)?.strip_prefix('+')?;
    let token_ok = !token.is_empty()
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    token_ok.then(|| token.to_string())
}

/// The mailbox with `token` after a `+` in its local part: `support+ab12@acme.example`. The
/// inverse of [`reply_token`]. A mailbox without `@` gets the token at its end.
pub fn plus_address(mailbox: &str, token: &str) -> String {
    let mailbox = normalize_address(mailbox).unwrap_or_else(|| mailbox.trim().to_string());
    match mailbox.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+{token}@{domain}"),
        None => format!("{mailbox}+{token}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_trimmed_unbracketed_and_lowercased() {
        assert_eq!(
            normalize_address("  <Ann.Smith@Example.COM> ").as_deref(),
            Some("ann.smith@example.com")
        );
        assert_eq!(
            normalize_address("mailto:ann@example.com").as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(
            normalize_address("张三@例子.中国").as_deref(),
            Some("张三@例子.中国")
        );
    }

    #[test]
    fn strings_without_the_shape_of_an_address_are_refused() {
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@@example.com",
            "ann smith@example.com",
            "ann@example..com",
            "ann@.example.com",
            ".ann@example.com",
            "ann@exa mple.com",
            "\"ann\"@example.com",
            "ann@example.com, bob@example.com",
            "MAILER-DAEMON",
        ] {
            assert_eq!(normalize_address(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_name_that_only_repeats_the_address_is_no_name() {
        let a = Address::new("Ann@Example.com", Some("ann@example.com")).unwrap();
        assert_eq!(a.name, None);
        let a = Address::new("ann@example.com", Some(" \"Ann Smith\" ")).unwrap();
        assert_eq!(a.name.as_deref(), Some("Ann Smith"));
    }

    #[test]
    fn the_reply_token_is_what_follows_the_plus_of_the_mailbox() {
        assert_eq!(
            reply_token("support+ab12@acme.example", "support@acme.example").as_deref(),
            Some("ab12")
        );
        assert_eq!(
            reply_token("<Support+AB12@ACME.example>", "support@acme.example").as_deref(),
            Some("ab12")
        );
    }

    #[test]
    fn there_is_no_reply_token_for_the_bare_mailbox_or_another_one() {
        assert_eq!(
            reply_token("support@acme.example", "support@acme.example"),
            None
        );
        assert_eq!(
            reply_token("support+@acme.example", "support@acme.example"),
            None
        );
        assert_eq!(
            reply_token("support+ab12@other.example", "support@acme.example"),
            None
        );
        assert_eq!(
            reply_token("sales+ab12@acme.example", "support@acme.example"),
            None
        );
        assert_eq!(
            reply_token("supportx+ab12@acme.example", "support@acme.example"),
            None
        );
        assert_eq!(
            reply_token("support+a/b@acme.example", "support@acme.example"),
            None
        );
        assert_eq!(reply_token("not an address", "support@acme.example"), None);
    }

    #[test]
    fn plus_address_is_the_inverse_of_reply_token() {
        let to = plus_address("Support@Acme.example", "ab12");
        assert_eq!(to, "support+ab12@acme.example");
        assert_eq!(
            reply_token(&to, "support@acme.example").as_deref(),
            Some("ab12")
        );
        let tagged = plus_address("support+eu@acme.example", "x9");
        assert_eq!(
            reply_token(&tagged, "support+eu@acme.example").as_deref(),
            Some("x9")
        );
    }
}
