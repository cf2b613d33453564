//! Errors of the search crate.

/// Why an article cannot be indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ArticleProblem {
    #[error("the id is empty, longer than 200 bytes or contains control characters")]
    BadId,
    #[error("the locale is not a language tag such as `en` or `zh-CN`")]
    BadLocale,
    #[error("the title is longer than 1,000 bytes")]
    TitleTooLong,
    #[error("the body is longer than 512 KiB")]
    BodyTooLong,
    #[error("more than 64 tags, or a tag longer than 100 bytes")]
    TooManyTags,
}

/// Failures of the index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// An article was refused; nothing of the change was applied.
    #[error("article {id:?} cannot be indexed: {problem}")]
    InvalidArticle { id: String, problem: ArticleProblem },
    /// A stored record could not be read back.
    #[error("index record {key:?} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    /// The stored index was written by an incompatible version; rebuild it from the articles.
    #[error(
        "index format {found} is not supported (this build reads {expected}); rebuild the index"
    )]
    UnsupportedFormat { found: u32, expected: u32 },
    /// Internal document numbers are exhausted; rebuild the index to compact them.
    #[error("the index has used up its document numbers; rebuild it")]
    Exhausted,
}
