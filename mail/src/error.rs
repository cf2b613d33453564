//! Why a message was refused. The messages are written for a tenant's admin, who sees them in
//! the channel's log of refused mail.

use serde::{Deserialize, Serialize};

/// A message [`parse`](crate::parse) refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum MailError {
    /// The raw message is larger than [`Limits::max_bytes`](crate::Limits::max_bytes).
    #[error("the message is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// The bytes are not an email message at all (empty, or no header could be read).
    #[error("the message could not be read as email: {0}")]
    Malformed(String),
    /// The message carries more attachments than
    /// [`Limits::max_attachments`](crate::Limits::max_attachments).
    #[error("the message has more than {limit} attachments")]
    TooManyAttachments { limit: usize },
}
