//! Spelling rules shared by the routing configuration: slugs (team ids, skill tags, shortcodes),
//! language tags, and keyword matching in free text.

/// Longest slug (team id, skill tag, rule id, shortcode).
pub const MAX_SLUG_CHARS: usize = 64;

/// Longest language tag we accept (`zh-Hant-TW` style tags are far shorter; BCP 47 allows 35
/// characters for the tags people actually use).
pub const MAX_LANGUAGE_CHARS: usize = 35;

/// Whether `s` is a slug: 1..=64 characters of `a-z`, `0-9`, `-` and `_`. Slugs are ids that
/// people type into the console and that appear in URLs, so they stay ASCII and lowercase.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SLUG_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The canonical form of a language tag (`en`, `pt-BR` → `pt-br`), or `None` when it is not
/// shaped like a BCP 47 tag: a 2–3 letter primary language and optional alphanumeric subtags.
pub fn normalize_language(tag: &str) -> Option<String> {
    let tag = tag.trim();
    if tag.is_empty() || tag.len() > MAX_LANGUAGE_CHARS {
        return None;
    }
    let mut parts = tag.split(['-', '_']);
    let primary = parts.next()?;
    if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let mut out = primary.to_ascii_lowercase();
    for part in parts {
        if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        out.push('-');
        out.push_str(&part.to_ascii_lowercase());
    }
    Some(out)
}

/// The primary language of a tag: `pt-BR` → `pt`. Routing compares primary languages, because
/// an agent who speaks Portuguese serves a visitor whose browser says `pt-BR`.
pub fn primary_language(tag: &str) -> Option<String> {
    normalize_language(tag).map(|t| match t.split_once('-') {
        Some((primary, _)) => primary.to_owned(),
        None => t,
    })
}

/// Whether `text` mentions `keyword` at the start of a word, ignoring case: `refund` matches
/// "Refunds please" and "non-refundable" but not "prerefund". Matching word starts rather than
/// whole words lets one keyword cover its inflections without firing inside unrelated words.
/// Both arguments must already be lowercased (see [`fold`]).
pub fn mentions(folded_text: &str, folded_keyword: &str) -> bool {
    if folded_keyword.is_empty() {
        return false;
    }
    folded_text.match_indices(folded_keyword).any(|(at, _)| {
        folded_text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// Case folding for text matching.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_ascii_words() {
        assert!(is_slug("finance"));
        assert!(is_slug("tier-2_support"));
        assert!(!is_slug(""));
        assert!(!is_slug("Finance"));
        assert!(!is_slug("team one"));
        assert!(!is_slug(&"a".repeat(MAX_SLUG_CHARS + 1)));
    }

    #[test]
    fn language_tags_are_normalized_and_reduced_to_their_primary_language() {
        assert_eq!(normalize_language("pt-BR").as_deref(), Some("pt-br"));
        assert_eq!(
            normalize_language("zh_Hant_TW").as_deref(),
            Some("zh-hant-tw")
        );
        assert_eq!(primary_language("EN-us").as_deref(), Some("en"));
        assert_eq!(normalize_language("english"), None);
        assert_eq!(normalize_language("e"), None);
        assert_eq!(normalize_language("en--us"), None);
        assert_eq!(normalize_language("en-ü"), None);
    }

    #[test]
    fn a_keyword_matches_at_word_starts_only() {
        let text = fold("I want a REFUND, it was non-refundable?");
        assert!(mentions(&text, "refund"));
        assert!(mentions(&fold("Refunds please"), "refund"));
        assert!(!mentions(&fold("prerefund"), "refund"));
        assert!(mentions(&fold("money back now"), "money back"));
        assert!(!mentions(&text, ""));
    }

    #[test]
    fn keyword_matching_handles_non_ascii_text() {
        assert!(mentions(
            &fold("Ich möchte eine Rückerstattung"),
            "rückerstattung"
        ));
        assert!(!mentions(&fold("ärger"), "rger"));
    }
}
