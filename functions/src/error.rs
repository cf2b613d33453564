//! The API's error type: every failure becomes a status code and `{"error":{"code","message"}}`.
//!
//! An error may also keep its [`Cause`]: what failed inside (a storage error, a record that did
//! not decode, with its key and the decoder's line and column). The cause is for the operator,
//! never for the client: the body stays `{"error":{"code","message"}}`, and the cause travels to
//! the host in the internal [`crate::http::DETAIL_HEADER`] response header, which the host writes
//! into its log line and strips (see [`crate::http::take_log_labels`]).

use std::sync::Arc;

use http::StatusCode;
use serde::Serialize;

use crate::ports::StorageError;
use edgedesk_shared::api::ValidationError;

/// An error answered to the client, with the cause the host logs.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// What failed inside, for the host's log only; never part of the answer.
    #[source]
    pub detail: Option<Cause>,
}

/// Two errors are equal when they give the same answer and the same cause.
impl PartialEq for ApiError {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status
            && self.code == other.code
            && self.message == other.message
            && self.detail == other.detail
    }
}

impl Eq for ApiError {}

/// Why a request failed inside: logged by the host, never sent to the client.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Cause {
    /// The storage port failed.
    #[error("storage: {0}")]
    Storage(#[source] StorageError),
    /// A value did not (de)serialize; the message has the decoder's line and column.
    #[error("json: {0}")]
    Json(#[source] Arc<serde_json::Error>),
    /// Where the inner cause happened (e.g. the storage key of a record that did not decode).
    #[error("{context}: {cause}")]
    Context {
        context: String,
        #[source]
        cause: Box<Cause>,
    },
    /// Anything else, said in words.
    #[error("{0}")]
    Message(String),
}

/// Causes are compared by what the log would say.
impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Cause {}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: None,
        }
    }

    /// The same answer, keeping `cause` for the log.
    pub fn with_detail(mut self, cause: impl Into<Cause>) -> Self {
        self.detail = Some(cause.into());
        self
    }

    /// The same answer; the cause, if any, now says where it happened (`context: cause`).
    pub fn context(mut self, context: impl Into<String>) -> Self {
        if let Some(cause) = self.detail.take() {
            self.detail = Some(Cause::Context {
                context: context.into(),
                cause: Box::new(cause),
            });
        }
        self
    }

    /// The cause as the log shows it, if any.
    pub fn detail_text(&self) -> Option<String> {
        self.detail.as_ref().map(ToString::to_string)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// The one answer to input that parses but breaks a rule: `422 validation_failed`.
    pub fn unprocessable(message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message.to_string(),
        )
    }

    /// An internal error whose cause (any error with a message) goes to the host's log.
    pub fn internal_from(cause: impl std::fmt::Display) -> Self {
        Self::internal().with_detail(Cause::Message(cause.to_string()))
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&Body {
            error: Inner {
                code: self.code,
                message: &self.message,
            },
        })
        .unwrap_or_else(|_| br#"{"error":{"code":"internal","message":"internal error"}}"#.to_vec())
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            e.to_string(),
        )
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        let answer = match e {
            StorageError::Conflict => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too much contention; retry",
            ),
            StorageError::Unavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "storage unavailable; retry",
            ),
        };
        answer.with_detail(e)
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        // Stored records are written by this code; failing to read one back is a bug or
        // corruption, never the client's fault. The client learns nothing more; the log does.
        Self::internal().with_detail(e)
    }
}

impl From<StorageError> for Cause {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

impl From<serde_json::Error> for Cause {
    fn from(e: serde_json::Error) -> Self {
        Self::Json(Arc::new(e))
    }
}

impl From<String> for Cause {
    fn from(text: String) -> Self {
        Self::Message(text)
    }
}

impl From<&str> for Cause {
    fn from(text: &str) -> Self {
        Self::Message(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_internal_error_from_any_cause_logs_the_cause_and_answers_only_internal_error() {
        let bad = String::from_utf8(vec![0xff]).unwrap_err();
        let e = ApiError::internal_from(&bad);
        assert_eq!(e.detail_text().as_deref(), Some(bad.to_string().as_str()));
        let body = String::from_utf8(e.to_json()).unwrap();
        assert!(!body.contains("utf-8"), "{body}");
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    fn stored_record_error() -> serde_json::Error {
        serde_json::from_str::<Vec<u32>>("[1,\n 2,\n \"three\"]").unwrap_err()
    }

    #[test]
    fn a_storage_failure_keeps_its_cause_but_answers_as_before() {
        let e = ApiError::from(StorageError::Unavailable("disk I/O error".into()));
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.code, "storage_unavailable");
        assert_eq!(
            e.detail_text().as_deref(),
            Some("storage: storage unavailable: disk I/O error")
        );
        assert!(e.source().is_some());
        assert_eq!(
            e.to_json(),
            br#"{"error":{"code":"storage_unavailable","message":"storage unavailable; retry"}}"#
        );
    }

    #[test]
    fn a_record_that_does_not_decode_keeps_the_decoders_line_and_column() {
        let e = ApiError::from(stored_record_error()).context("t:ten_1/ticket:tkt_1");
        let detail = e.detail_text().unwrap();
        assert!(
            detail.starts_with("t:ten_1/ticket:tkt_1: json: invalid type: string"),
            "{detail}"
        );
        assert!(detail.ends_with("at line 3 column 8"), "{detail}");
        assert_eq!(e.to_json(), ApiError::internal().to_json());
        // The source chain reaches serde's own error.
        let json = e.source().and_then(|c| c.source()).and_then(|c| c.source());
        assert_eq!(
            json.map(ToString::to_string),
            Some(stored_record_error().to_string())
        );
    }

    #[test]
    fn context_without_a_cause_adds_nothing() {
        assert_eq!(ApiError::internal().context("somewhere").detail, None);
    }

    #[test]
    fn errors_with_different_causes_are_different() {
        let a = ApiError::internal().with_detail("a");
        assert_eq!(a, ApiError::internal().with_detail("a"));
        assert_ne!(a, ApiError::internal().with_detail("b"));
        assert_ne!(a, ApiError::internal());
    }
}
