//! SLA engine (pure): business-hours calendars, SLA policies, target timers computed from a
//! ticket's or conversation's event history, escalation rules, ticket merging and duplicate
//! suggestions.
//!
//! Nothing here reads a clock or storage: the functions layer passes in the configuration, the
//! stored history and the current instant, persists what comes out, and schedules its alarm
//! for the instant [`SlaEngine::next_wakeup`] names.
//!
//! - [`calendar`]: opening hours, holidays and DST-correct business-time arithmetic.
//! - [`policy`]: policies, their conditions and targets, and the tenant's [`SlaConfig`].
//! - [`event`]: the history entries ([`SlaEvent`]) stored per ticket or conversation.
//! - [`engine`]: [`SlaEngine`]: reports, alarm instants and firings from a history, or from an
//!   [`SlaState`] that is kept up to date one event at a time.
//! - [`escalation`]: rules that turn firings into actions.
//! - [`merge`], [`duplicates`]: ticket merge rules and duplicate suggestions.
//!
//! # Flow
//!
//! ```
//! use edgedesk_shared::model::Priority;
//! use edgedesk_shared::sla::*;
//!
//! let config: SlaConfig = serde_json::from_value(serde_json::json!({
//!     "calendars": [{
//!         "id": "office", "timezone": "Europe/Berlin",
//!         "hours": {"monday": [{"start": "09:00", "end": "17:00"}]}
//!     }],
//!     "policies": [{
//!         "id": "p0", "name": "P0 answered within 15 minutes", "calendar_id": "office",
//!         "conditions": {"priorities": ["urgent"]},
//!         "targets": {"first_response": {"minutes": 15}}
//!     }]
//! }))?;
//! let engine = SlaEngine::new(config)?;
//!
//! // Monday 2024-05-13, 09:00 in Berlin.
//! let created = "2024-05-13T07:00:00Z".parse()?;
//! let facts = SlaFacts { priority: Priority::Urgent, ..SlaFacts::new(SubjectKind::Ticket) };
//! let mut history = vec![SlaEvent::created(created, facts.clone(), "new")];
//!
//! // The alarm goes off at the 80% warning, then at the deadline.
//! assert_eq!(engine.next_wakeup(&history, created)?, Some("2024-05-13T07:12:00Z".parse()?));
//!
//! let now = "2024-05-13T07:20:00Z".parse()?;
//! let report = engine.evaluate(&history, now)?;
//! let first_response = report.current(TargetKind::FirstResponse).expect("measured");
//! assert_eq!(first_response.state, TargetState::Breached);
//!
//! // The timer acts on each crossing once and records it in the history.
//! let rules: Vec<EscalationRule> = serde_json::from_value(serde_json::json!([
//!     {"id": "r", "on": "breach", "actions": [{"type": "raise_priority"}, {"type": "add_tag", "tag": "late"}]}
//! ]))?;
//! let firings = engine.unrecorded_firings(&history, now)?;
//! let actions = plan_escalations(&rules, &firings, &EscalationSubject::from(&facts));
//! assert_eq!(actions.len(), 1); // urgent cannot go higher; the tag is added
//! history.extend(firings.into_iter().map(SlaEvent::fired));
//! assert!(engine.unrecorded_firings(&history, now)?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use chrono::{DateTime, Utc};

pub mod calendar;
pub mod duplicates;
pub mod engine;
pub mod escalation;
pub mod event;
pub mod merge;
pub mod policy;

pub use calendar::{
    BusinessCalendar, Calendar, CalendarError, Clock, Holiday, OpeningInterval, WeeklyHours,
};
pub use duplicates::{
    suggest_duplicates, DuplicateCandidate, DuplicateSettings, DuplicateSuggestion,
};
pub use engine::{
    row_target, state_at, urgency, Assessment, Firing, FiringLevel, HistoryError, PolicySpan,
    SlaEngine, SlaReport, SlaState, StateError, TargetReport, TargetState,
};
pub use escalation::{
    plan_escalations, validate_rules, Action, EscalationAction, EscalationError, EscalationRule,
    EscalationSubject, PlannedAction,
};
pub use event::{SlaEvent, SlaEventKind};
pub use merge::{resolve_merged, validate_merge, MergeError, MergePlan, MergePointers, MergeSide};
pub use policy::{
    ConfigError, PolicyError, SlaConfig, SlaFacts, SlaPolicy, SubjectKind, Target, TargetKind,
    TimeBasis,
};

/// An instant in time. All SLA arithmetic happens on UTC instants; local time only matters
/// inside calendars.
pub type Instant = DateTime<Utc>;
