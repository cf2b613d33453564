//! Text normalisation and tokenisation shared by the classifier, the entity extractor and the
//! sentiment scorer.
//!
//! Latin-script text is split into lower-cased words; Chinese, Japanese and Korean text has no
//! spaces, so every CJK character is its own token and callers build character n-grams from runs
//! of them.

/// Whether `c` is a CJK ideograph, kana or hangul syllable (written without spaces).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0x20000..=0x2FA1F) // extensions B..F, compatibility supplement
}

/// Folds full-width ASCII forms (common in Chinese input) to ASCII and the ideographic space to a
/// space, then lower-cases.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        };
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
    out
}

/// One token of normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    /// A single CJK character.
    pub cjk: bool,
    /// Byte offset in the normalised text.
    pub start: usize,
}

/// Splits normalised text into word tokens and single-character CJK tokens. Apostrophes inside
/// words are dropped ("hasn't" → "hasnt") so contractions stay one token.
pub fn tokenize(normalized: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut word_start = 0;
    let flush = |word: &mut String, start: usize, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token {
                text: std::mem::take(word),
                cjk: false,
                start,
            });
        }
    };
    let mut chars = normalized.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_cjk(c) {
            flush(&mut word, word_start, &mut tokens);
            tokens.push(Token {
                text: c.to_string(),
                cjk: true,
                start: i,
            });
        } else if c.is_alphanumeric() {
            if word.is_empty() {
                word_start = i;
            }
            word.push(c);
        } else if (c == '\'' || c == '’') && !word.is_empty() {
            // Keep contractions together: only skip the apostrophe when a letter follows.
            if !matches!(chars.peek(), Some((_, n)) if n.is_alphabetic() && !is_cjk(*n)) {
                flush(&mut word, word_start, &mut tokens);
            }
        } else {
            flush(&mut word, word_start, &mut tokens);
        }
    }
    flush(&mut word, word_start, &mut tokens);
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        tokenize(&normalize(s))
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn latin_text_splits_on_punctuation_and_keeps_contractions() {
        assert_eq!(
            words("My card hasn't arrived, why?"),
            ["my", "card", "hasnt", "arrived", "why"]
        );
    }

    #[test]
    fn chinese_text_becomes_one_token_per_character() {
        assert_eq!(
            words("我的卡没到 ATM"),
            ["我", "的", "卡", "没", "到", "atm"]
        );
    }

    #[test]
    fn full_width_forms_fold_to_ascii() {
        assert_eq!(normalize("ＡＢＣ１２３！"), "abc123!");
    }
}
