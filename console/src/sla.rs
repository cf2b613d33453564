//! SLA clocks as the console shows them: the report of `GET /v1/tickets/{id}/sla` (and the
//! same for conversations), the state a clock is in at a later instant, the most urgent clock
//! of a subject for list rows, and the list controls (sort by deadline, breached / warning).
//!
//! Clocks keep running between fetches, so a clock fetched as `running` turns `warning` and
//! then `breached` once its instants pass, as the server's own list summaries do; the views
//! re-evaluate with the minute clock instead of asking the server again.

use chrono::{DateTime, Utc};
use edgedesk_shared::sla::{
    row_target, urgency, PolicySpan, TargetKind, TargetReport, TargetState,
};
use serde::{Deserialize, Serialize};

/// `GET /v1/{tickets|conversations}/{id}/sla`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SlaView {
    pub at: DateTime<Utc>,
    pub policy_id: Option<String>,
    #[serde(default)]
    pub policy_spans: Vec<PolicySpan>,
    #[serde(default)]
    pub targets: Vec<TargetReport>,
}

/// The policy a row's clock runs under.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PolicyRef {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// The `sla` field of each item of `GET /v1/tickets` and `GET /v1/conversations`: the most
/// urgent target when the list was read (`null` when no policy applies).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RowSla {
    pub state: TargetState,
    pub target: TargetKind,
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub warning_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub breached_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub policy: Option<PolicyRef>,
}

impl RowSla {
    /// The row's clock at `now`: a clock read as running or warning moves on by itself.
    pub fn clock(&self, now: DateTime<Utc>) -> Clock {
        let state = match self.state {
            TargetState::Running | TargetState::Warning
                if self.due_at.is_some_and(|d| d <= now) =>
            {
                TargetState::Breached
            }
            TargetState::Running if self.warning_at.is_some_and(|w| w <= now) => {
                TargetState::Warning
            }
            s => s,
        };
        Clock {
            state,
            due_at: self.due_at,
        }
    }
}

/// One clock at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub state: TargetState,
    /// The deadline, when the clock is still open and counting.
    pub due_at: Option<DateTime<Utc>>,
}

impl SlaView {
    /// The latest instance of each kind of target (the current next response, for instance),
    /// in the order first response, next response, resolution.
    pub fn current(&self) -> Vec<&TargetReport> {
        TargetKind::ALL
            .iter()
            .filter_map(|k| self.targets.iter().rev().find(|t| t.target == *k))
            .collect()
    }

    /// The row summary of this report, as the lists carry it (for a record the live feed
    /// changed, whose report was fetched on its own).
    pub fn row(&self) -> Option<RowSla> {
        let pick = row_target(&self.targets)?;
        let open = pick.completed_at.is_none();
        Some(RowSla {
            state: pick.state,
            target: pick.target,
            due_at: if open { pick.due_at } else { None },
            warning_at: if open { pick.warning_at } else { None },
            breached_at: pick.breached_at,
            policy: pick
                .policy_id
                .clone()
                .or_else(|| self.policy_id.clone())
                .map(|id| PolicyRef {
                    id,
                    name: String::new(),
                }),
        })
    }

    /// The clock a list row shows: among open targets the most severe at `now`, the
    /// earliest deadline breaking ties; once nothing is open, `breached` if any target was,
    /// else `met`. `None` when no target ever applied.
    pub fn clock(&self, now: DateTime<Utc>) -> Option<Clock> {
        let open = self
            .targets
            .iter()
            .filter(|t| t.completed_at.is_none())
            .map(|t| Clock {
                state: t.state_at(now),
                due_at: t.due_at,
            })
            .max_by(|a, b| urgency((a.state, a.due_at), (b.state, b.due_at)));
        if open.is_some() {
            return open;
        }
        if self.targets.is_empty() {
            return None;
        }
        let breached = self
            .targets
            .iter()
            .any(|t| t.state == TargetState::Breached);
        Some(Clock {
            state: if breached {
                TargetState::Breached
            } else {
                TargetState::Met
            },
            due_at: None,
        })
    }
}

/// Order of the ticket and conversation lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListSort {
    /// The list's own order (newest or last activity first).
    #[default]
    Default,
    /// Earliest SLA deadline first; only subjects with a running deadline.
    SlaDue,
}

impl ListSort {
    pub fn query(self) -> Option<(&'static str, String)> {
        match self {
            ListSort::Default => None,
            ListSort::SlaDue => Some(("sort", "sla_due".to_owned())),
        }
    }

    pub fn parse(s: &str) -> ListSort {
        if s == "sla_due" {
            ListSort::SlaDue
        } else {
            ListSort::Default
        }
    }
}

/// The `sla_state` filter of the lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateFilter {
    Breached,
    Warning,
}

impl StateFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::Breached => "breached",
            StateFilter::Warning => "warning",
        }
    }

    pub fn parse(s: &str) -> Option<StateFilter> {
        match s {
            "breached" => Some(StateFilter::Breached),
            "warning" => Some(StateFilter::Warning),
            _ => None,
        }
    }

    /// Whether a subject whose row clock is `clock` belongs in the filtered list.
    pub fn matches(self, clock: Option<Clock>) -> bool {
        let want = match self {
            StateFilter::Breached => TargetState::Breached,
            StateFilter::Warning => TargetState::Warning,
        };
        clock.is_some_and(|c| c.state == want)
    }
}

/// The CSS class suffix of a state (`sla-breached`, …).
pub fn state_str(s: TargetState) -> &'static str {
    match s {
        TargetState::Running => "running",
        TargetState::Paused => "paused",
        TargetState::Warning => "warning",
        TargetState::Met => "met",
        TargetState::Breached => "breached",
    }
}

/// Whole minutes from `now` until `due`, negative when overdue (rounded towards the past, so
/// an overdue deadline never reads as "0 minutes left").
pub fn minutes_until(now: DateTime<Utc>, due: DateTime<Utc>) -> i64 {
    (due - now).num_seconds().div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgedesk_shared::sla::TimeBasis;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    fn target(kind: TargetKind, state: TargetState, due: Option<&str>) -> TargetReport {
        TargetReport {
            target: kind,
            cycle: 0,
            state,
            policy_id: Some("p".into()),
            basis: Some(TimeBasis::Calendar),
            started_at: t("2026-01-05T09:00:00Z"),
            completed_at: None,
            due_at: due.map(t),
            warning_at: due.map(|d| t(d) - chrono::Duration::minutes(10)),
            breached_at: None,
            elapsed_seconds: 0,
            remaining_seconds: None,
            remaining_minutes: None,
        }
    }

    fn view(targets: Vec<TargetReport>) -> SlaView {
        SlaView {
            at: t("2026-01-05T09:00:00Z"),
            policy_id: Some("p".into()),
            policy_spans: Vec::new(),
            targets,
        }
    }

    #[test]
    fn a_running_clock_turns_warning_then_breached_as_time_passes() {
        let r = target(
            TargetKind::FirstResponse,
            TargetState::Running,
            Some("2026-01-05T10:00:00Z"),
        );
        assert_eq!(r.state_at(t("2026-01-05T09:30:00Z")), TargetState::Running);
        assert_eq!(r.state_at(t("2026-01-05T09:55:00Z")), TargetState::Warning);
        assert_eq!(r.state_at(t("2026-01-05T10:00:00Z")), TargetState::Breached);
        let paused = target(TargetKind::Resolution, TargetState::Paused, None);
        assert_eq!(
            paused.state_at(t("2030-01-01T00:00:00Z")),
            TargetState::Paused
        );
    }

    #[test]
    fn the_row_clock_is_the_most_severe_open_target_then_the_earliest_deadline() {
        let v = view(vec![
            target(
                TargetKind::Resolution,
                TargetState::Running,
                Some("2026-01-05T17:00:00Z"),
            ),
            target(
                TargetKind::FirstResponse,
                TargetState::Running,
                Some("2026-01-05T09:15:00Z"),
            ),
        ]);
        let early = v.clock(t("2026-01-05T09:01:00Z")).expect("clock");
        assert_eq!(early.state, TargetState::Running);
        assert_eq!(early.due_at, Some(t("2026-01-05T09:15:00Z")));
        let late = v.clock(t("2026-01-05T09:20:00Z")).expect("clock");
        assert_eq!(late.state, TargetState::Breached);
        assert_eq!(late.due_at, Some(t("2026-01-05T09:15:00Z")));
    }

    #[test]
    fn a_subject_with_every_target_done_shows_met_or_breached_and_none_without_targets() {
        let mut met = target(TargetKind::FirstResponse, TargetState::Met, None);
        met.completed_at = Some(t("2026-01-05T09:05:00Z"));
        let mut late = target(TargetKind::Resolution, TargetState::Breached, None);
        late.completed_at = Some(t("2026-01-06T09:05:00Z"));
        let now = t("2026-01-07T00:00:00Z");
        assert_eq!(
            view(vec![met.clone()]).clock(now).map(|c| c.state),
            Some(TargetState::Met)
        );
        assert_eq!(
            view(vec![met, late]).clock(now).map(|c| c.state),
            Some(TargetState::Breached)
        );
        assert_eq!(view(Vec::new()).clock(now), None);
    }

    #[test]
    fn current_targets_are_the_latest_instance_of_each_kind_in_a_fixed_order() {
        let mut second = target(TargetKind::NextResponse, TargetState::Running, None);
        second.cycle = 2;
        let v = view(vec![
            target(TargetKind::Resolution, TargetState::Running, None),
            target(TargetKind::NextResponse, TargetState::Met, None),
            second,
            target(TargetKind::FirstResponse, TargetState::Met, None),
        ]);
        let kinds: Vec<(TargetKind, u32)> =
            v.current().iter().map(|t| (t.target, t.cycle)).collect();
        assert_eq!(
            kinds,
            [
                (TargetKind::FirstResponse, 0),
                (TargetKind::NextResponse, 2),
                (TargetKind::Resolution, 0)
            ]
        );
    }

    #[test]
    fn list_controls_round_trip_through_their_query_values() {
        assert_eq!(ListSort::parse("sla_due"), ListSort::SlaDue);
        assert_eq!(ListSort::parse(""), ListSort::Default);
        assert_eq!(
            ListSort::SlaDue.query(),
            Some(("sort", "sla_due".to_owned()))
        );
        assert_eq!(ListSort::Default.query(), None);
        for f in [StateFilter::Breached, StateFilter::Warning] {
            assert_eq!(StateFilter::parse(f.as_str()), Some(f));
        }
        assert_eq!(StateFilter::parse("met"), None);
        let breached = Clock {
            state: TargetState::Breached,
            due_at: None,
        };
        assert!(StateFilter::Breached.matches(Some(breached)));
        assert!(!StateFilter::Warning.matches(Some(breached)));
        assert!(!StateFilter::Breached.matches(None));
    }

    #[test]
    fn a_listed_row_summary_moves_on_with_the_clock_like_a_fetched_report() {
        let listed: RowSla = serde_json::from_value(serde_json::json!({
            "state": "running", "target": "first_response",
            "due_at": "2026-01-05T10:00:00Z", "warning_at": "2026-01-05T09:50:00Z",
            "breached_at": null, "policy": {"id": "p", "name": "Fast"}
        }))
        .expect("a row summary");
        let report = view(vec![
            target(
                TargetKind::Resolution,
                TargetState::Running,
                Some("2026-01-05T17:00:00Z"),
            ),
            target(
                TargetKind::FirstResponse,
                TargetState::Running,
                Some("2026-01-05T10:00:00Z"),
            ),
        ]);
        let fetched = report.row().expect("a row summary");
        assert_eq!(fetched.target, TargetKind::FirstResponse);
        for now in [
            "2026-01-05T09:30:00Z",
            "2026-01-05T09:55:00Z",
            "2026-01-05T10:00:00Z",
        ] {
            let now = t(now);
            assert_eq!(listed.clock(now), fetched.clock(now));
            assert_eq!(Some(listed.clock(now)), report.clock(now));
        }
        assert_eq!(
            listed.clock(t("2026-01-05T10:00:00Z")).state,
            TargetState::Breached
        );
        assert_eq!(view(Vec::new()).row(), None);
    }

    #[test]
    fn minutes_until_rounds_towards_the_past() {
        let now = t("2026-01-05T09:00:00Z");
        assert_eq!(minutes_until(now, t("2026-01-05T09:10:30Z")), 10);
        assert_eq!(minutes_until(now, t("2026-01-05T08:59:30Z")), -1);
    }
}
