//! Customer satisfaction (CSAT): after a conversation is resolved the widget asks for a rating
//! from 1 to 5 and, if the tenant allows it, a comment. The rating is stored on the conversation,
//! triggers the `csat_received` automation event, and is summarized in reports.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::model::ConversationStatus;

/// Longest CSAT comment.
pub const MAX_CSAT_COMMENT_CHARS: usize = 2000;

/// A rating from 1 (very unhappy) to 5 (very happy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct CsatRating(u8);

impl CsatRating {
    pub const MIN: u8 = 1;
    pub const MAX: u8 = 5;

    pub fn new(value: u8) -> Result<Self, CsatError> {
        if (Self::MIN..=Self::MAX).contains(&value) {
            Ok(CsatRating(value))
        } else {
            Err(CsatError::RatingOutOfRange(value))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Ratings of 4 and 5 count as satisfied, the usual CSAT definition.
    pub fn is_satisfied(self) -> bool {
        self.0 >= 4
    }
}

impl TryFrom<u8> for CsatRating {
    type Error = CsatError;

    fn try_from(value: u8) -> Result<Self, CsatError> {
        CsatRating::new(value)
    }
}

impl From<CsatRating> for u8 {
    fn from(r: CsatRating) -> u8 {
        r.0
    }
}

/// Why a rating is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsatError {
    #[error("rating {0} is outside 1..=5")]
    RatingOutOfRange(u8),
    #[error("the comment is longer than {MAX_CSAT_COMMENT_CHARS} characters")]
    CommentTooLong,
    #[error("the comment contains control characters")]
    CommentControlCharacters,
    #[error("this workspace does not collect comments")]
    CommentNotAllowed,
    #[error("this workspace does not collect ratings")]
    Disabled,
    #[error("only resolved conversations can be rated")]
    NotResolved,
    #[error("this conversation has already been rated")]
    AlreadyRated,
    #[error("the time to rate this conversation has passed")]
    WindowClosed,
}

/// The tenant's CSAT options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsatSettings {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "CsatSettings::default_allow_comment")]
    pub allow_comment: bool,
    /// How long after resolving the visitor may still rate.
    #[serde(default = "CsatSettings::default_window_hours")]
    pub window_hours: u32,
}

impl CsatSettings {
    fn default_allow_comment() -> bool {
        true
    }

    fn default_window_hours() -> u32 {
        72
    }
}

impl Default for CsatSettings {
    fn default() -> Self {
        CsatSettings {
            enabled: false,
            allow_comment: true,
            window_hours: Self::default_window_hours(),
        }
    }
}

/// What the widget posts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsatSubmission {
    pub rating: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A stored rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Csat {
    pub rating: CsatRating,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub submitted_at: DateTime<Utc>,
}

impl CsatSubmission {
    /// Checks the submission on its own and returns the rating to store, with the comment
    /// trimmed (a blank comment is no comment).
    pub fn validate(&self, submitted_at: DateTime<Utc>) -> Result<Csat, CsatError> {
        let rating = CsatRating::new(self.rating)?;
        let comment = match self.comment.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) if c.chars().count() > MAX_CSAT_COMMENT_CHARS => {
                return Err(CsatError::CommentTooLong)
            }
            Some(c)
                if c.chars()
                    .any(|ch| ch.is_control() && ch != '\n' && ch != '\t') =>
            {
                return Err(CsatError::CommentControlCharacters)
            }
            Some(c) => Some(c.to_owned()),
        };
        Ok(Csat {
            rating,
            comment,
            submitted_at,
        })
    }

    /// Checks the submission against the tenant's settings and the conversation: rating is on,
    /// the conversation is resolved, not yet rated, and still inside the rating window.
    pub fn accept(
        &self,
        settings: &CsatSettings,
        status: ConversationStatus,
        resolved_at: Option<DateTime<Utc>>,
        existing: Option<&Csat>,
        now: DateTime<Utc>,
    ) -> Result<Csat, CsatError> {
        if !settings.enabled {
            return Err(CsatError::Disabled);
        }
        let csat = self.validate(now)?;
        if csat.comment.is_some() && !settings.allow_comment {
            return Err(CsatError::CommentNotAllowed);
        }
        let resolved_at = match (status, resolved_at) {
            (ConversationStatus::Resolved, Some(at)) => at,
            _ => return Err(CsatError::NotResolved),
        };
        if existing.is_some() {
            return Err(CsatError::AlreadyRated);
        }
        if now - resolved_at > TimeDelta::hours(i64::from(settings.window_hours)) {
            return Err(CsatError::WindowClosed);
        }
        Ok(csat)
    }
}

/// Ratings summed up for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CsatSummary {
    pub count: u64,
    /// How many ratings of 1, 2, 3, 4 and 5.
    pub distribution: [u64; 5],
    /// Mean rating; `None` without ratings.
    pub average: Option<f64>,
    /// Share of ratings of 4 or 5, in percent; `None` without ratings.
    pub satisfied_percent: Option<f64>,
}

impl CsatSummary {
    pub fn from_ratings(ratings: impl IntoIterator<Item = CsatRating>) -> Self {
        let mut distribution = [0u64; 5];
        for r in ratings {
            distribution[usize::from(r.get() - CsatRating::MIN)] += 1;
        }
        let count: u64 = distribution.iter().sum();
        if count == 0 {
            return CsatSummary::default();
        }
        let total: u64 = distribution
            .iter()
            .zip(1u64..)
            .map(|(n, value)| n * value)
            .sum();
        let satisfied = distribution[3] + distribution[4];
        CsatSummary {
            count,
            distribution,
            average: Some(total as f64 / count as f64),
            satisfied_percent: Some(satisfied as f64 * 100.0 / count as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("test timestamp")
    }

    fn on() -> CsatSettings {
        CsatSettings {
            enabled: true,
            ..CsatSettings::default()
        }
    }

    #[test]
    fn ratings_outside_one_to_five_are_refused() {
        for bad in [0u8, 6, 255] {
            assert_eq!(CsatRating::new(bad), Err(CsatError::RatingOutOfRange(bad)));
        }
        assert!(serde_json::from_str::<CsatRating>("0").is_err());
        assert_eq!(
            serde_json::from_str::<CsatRating>("5")
                .expect("rating")
                .get(),
            5
        );
    }

    #[test]
    fn comments_are_trimmed_and_checked() {
        let now = at("2024-05-13T10:00:00Z");
        let submit = |comment: &str| {
            CsatSubmission {
                rating: 4,
                comment: Some(comment.into()),
            }
            .validate(now)
        };
        assert_eq!(
            submit("  great  ").expect("ok").comment.as_deref(),
            Some("great")
        );
        assert_eq!(submit("   ").expect("ok").comment, None);
        assert_eq!(
            submit("line one\nline two").expect("ok").comment.as_deref(),
            Some("line one\nline two")
        );
        assert_eq!(
            submit("bell\u{7}"),
            Err(CsatError::CommentControlCharacters)
        );
        assert_eq!(
            submit(&"x".repeat(MAX_CSAT_COMMENT_CHARS + 1)),
            Err(CsatError::CommentTooLong)
        );
    }

    #[test]
    fn only_resolved_unrated_conversations_inside_the_window_can_be_rated() {
        let resolved = at("2024-05-13T10:00:00Z");
        let sub = CsatSubmission {
            rating: 5,
            comment: None,
        };
        let accept = |settings: &CsatSettings, status, existing: Option<&Csat>, now: &str| {
            sub.accept(settings, status, Some(resolved), existing, at(now))
        };
        let ok = accept(
            &on(),
            ConversationStatus::Resolved,
            None,
            "2024-05-14T10:00:00Z",
        )
        .expect("accepted");
        assert_eq!(ok.rating.get(), 5);
        assert_eq!(
            accept(
                &CsatSettings::default(),
                ConversationStatus::Resolved,
                None,
                "2024-05-14T10:00:00Z"
            ),
            Err(CsatError::Disabled)
        );
        assert_eq!(
            accept(
                &on(),
                ConversationStatus::Open,
                None,
                "2024-05-14T10:00:00Z"
            ),
            Err(CsatError::NotResolved)
        );
        assert_eq!(
            accept(
                &on(),
                ConversationStatus::Resolved,
                Some(&ok),
                "2024-05-14T10:00:00Z"
            ),
            Err(CsatError::AlreadyRated)
        );
        assert_eq!(
            accept(
                &on(),
                ConversationStatus::Resolved,
                None,
                "2024-05-16T10:00:01Z"
            ),
            Err(CsatError::WindowClosed)
        );
        let no_comments = CsatSettings {
            allow_comment: false,
            ..on()
        };
        let with_comment = CsatSubmission {
            rating: 2,
            comment: Some("slow".into()),
        };
        assert_eq!(
            with_comment.accept(
                &no_comments,
                ConversationStatus::Resolved,
                Some(resolved),
                None,
                resolved
            ),
            Err(CsatError::CommentNotAllowed)
        );
    }

    #[test]
    fn the_summary_counts_averages_and_satisfaction() {
        let ratings = [5u8, 4, 4, 2, 1].map(|r| CsatRating::new(r).expect("rating"));
        let summary = CsatSummary::from_ratings(ratings);
        assert_eq!(summary.count, 5);
        assert_eq!(summary.distribution, [1, 1, 0, 2, 1]);
        assert_eq!(summary.average, Some(3.2));
        assert_eq!(summary.satisfied_percent, Some(60.0));
        assert_eq!(CsatSummary::from_ratings([]), CsatSummary::default());
    }
}
