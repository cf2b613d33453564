//! Intent classification, entity extraction and sentiment, all pure and small enough for WASM.
//!
//! Nothing here performs I/O, spawns threads or reads a clock: callers pass the text, the
//! training examples, the current instant and the tenant's timezone. That keeps every result
//! reproducible and lets the same code run natively, in a WASI component and in a browser.
//!
//! - [`intent`]: a linear classifier over hashed word and character n-grams, trained inside the
//!   crate, with an out-of-scope class, per-intent thresholds and a compact binary model format.
//! - [`entities`]: order numbers (tenant patterns), emails, phone numbers, amounts, and dates and
//!   times (absolute and relative, English and Chinese) resolved in an IANA timezone.
//! - [`sentiment`]: a lexicon scorer for English and Chinese with negation and intensifiers, and
//!   learned Chinese bigram cues for text the lexicon has no opinion word for.
//! - [`dialogue`]: a finite-state machine per intent (slots, confirmation, webhook, reply).
//! - [`eval`]: CSV reading and the metrics the evaluation command prints.

pub mod dialogue;
pub mod entities;
pub mod eval;
pub mod features;
pub mod intent;
pub mod sentiment;
pub mod text;

pub use dialogue::{Action, DialogueSpec, DialogueState, Event, SlotSpec};
pub use entities::{Entity, EntityKind, EntityValue, Extractor, ExtractorConfig, OrderPattern};
pub use intent::{Example, IntentModel, Prediction, TrainConfig};
pub use sentiment::sentiment;

/// Errors of the crate's fallible operations.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NlpError {
    #[error("no training examples")]
    NoExamples,
    #[error("at least two distinct labels are needed to train, got {0}")]
    TooFewLabels(usize),
    #[error("invalid training configuration: {0}")]
    InvalidConfig(String),
    #[error("model bytes are not a valid model: {0}")]
    BadModel(String),
    #[error("invalid order-number pattern {name:?}: {message}")]
    BadPattern { name: String, message: String },
    #[error("unknown intent {0:?}")]
    UnknownIntent(String),
    #[error("CSV error on line {line}: {message}")]
    Csv { line: usize, message: String },
}
