//! The searchable view of a knowledge-base article, and the limits it must respect.

use serde::{Deserialize, Serialize};

use crate::error::{ArticleProblem, IndexError};

const MAX_ID_BYTES: usize = 200;
const MAX_LOCALE_BYTES: usize = 35;
const MAX_TITLE_BYTES: usize = 1_000;
const MAX_BODY_BYTES: usize = 512 * 1024;
const MAX_TAGS: usize = 64;
const MAX_TAG_BYTES: usize = 100;

/// What the index knows of an article: the caller passes the published version, with the body
/// as plain text (markup stripped), since snippets quote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// The article's id (stable across versions).
    pub id: String,
    /// Language tag, e.g. `en` or `zh-CN`.
    pub locale: String,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
}

impl Article {
    /// Checks the limits that keep records and analysis bounded.
    pub fn validate(&self) -> Result<(), IndexError> {
        let fail = |problem| {
            Err(IndexError::InvalidArticle {
                id: self.id.clone(),
                problem,
            })
        };
        if self.id.is_empty()
            || self.id.len() > MAX_ID_BYTES
            || self.id.chars().any(char::is_control)
        {
            return fail(ArticleProblem::BadId);
        }
        if !is_language_tag(&self.locale) {
            return fail(ArticleProblem::BadLocale);
        }
        if self.title.len() > MAX_TITLE_BYTES {
            return fail(ArticleProblem::TitleTooLong);
        }
        if self.body.len() > MAX_BODY_BYTES {
            return fail(ArticleProblem::BodyTooLong);
        }
        if self.tags.len() > MAX_TAGS || self.tags.iter().any(|t| t.len() > MAX_TAG_BYTES) {
            return fail(ArticleProblem::TooManyTags);
        }
        Ok(())
    }
}

/// A loose BCP 47 shape check: alphanumeric subtags of 1–8 characters joined by `-`.
fn is_language_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_LOCALE_BYTES
        && tag
            .split('-')
            .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Whether an article in `locale` passes a filter for `wanted`: equal ignoring case, or
/// `wanted` is its language (`zh` admits `zh-CN` and `zh-TW`).
pub(crate) fn locale_matches(locale: &str, wanted: &str) -> bool {
    if locale.eq_ignore_ascii_case(wanted) {
        return true;
    }
    locale.len() > wanted.len()
        && locale.as_bytes()[wanted.len()] == b'-'
        && locale[..wanted.len()].eq_ignore_ascii_case(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article() -> Article {
        Article {
            id: "art_1".into(),
            locale: "zh-CN".into(),
            title: "t".into(),
            body: "b".into(),
            tags: vec![],
        }
    }

    #[test]
    fn a_plain_article_is_valid() {
        assert_eq!(article().validate(), Ok(()));
    }

    #[test]
    fn malformed_locales_are_refused() {
        for bad in ["", "zh_CN", "zh--CN", "en-", "toolongsubtag"] {
            let a = Article {
                locale: bad.into(),
                ..article()
            };
            assert!(matches!(
                a.validate(),
                Err(IndexError::InvalidArticle {
                    problem: ArticleProblem::BadLocale,
                    ..
                })
            ));
        }
    }

    #[test]
    fn ids_with_control_characters_are_refused() {
        let a = Article {
            id: "a\nb".into(),
            ..article()
        };
        assert!(a.validate().is_err());
    }

    #[test]
    fn a_language_filter_admits_its_regional_variants_only() {
        assert!(locale_matches("zh-CN", "zh"));
        assert!(locale_matches("zh-CN", "ZH-cn"));
        assert!(!locale_matches("zh-CN", "z"));
        assert!(!locale_matches("en", "zh"));
        assert!(!locale_matches("en", "en-US"));
    }
}
