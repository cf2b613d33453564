//! The SLA engine: target timers as a pure function of a subject's event history.
//!
//! [`SlaEngine::evaluate`] replays the history up to an instant `T` and reports, for every
//! target instance, its due time, remaining time, state and breach time, plus which policy
//! applied over which period. The timer side uses [`SlaEngine::next_wakeup`] to schedule its
//! alarm and [`SlaEngine::firings_between`] / [`SlaEngine::unrecorded_firings`] to act on each
//! warning and breach exactly once.
//!
//! # How the clocks run
//!
//! Between two events nothing changes, so the replay walks the history segment by segment.
//! In each segment the policy in force is the one pinned by a `policy_changed` event, or else the
//! first policy matching the subject's facts at that moment. Each running target instance adds
//! the segment's counted time (business or calendar time of that policy's target) to its
//! elapsed time, unless the status pauses the policy or means resolved. A target warns or
//! breaches at the first instant its elapsed time reaches the threshold of the policy then in
//! force. When a policy change lowers a threshold below the time already elapsed, the crossing
//! happens at the change: crossings never land before the event that caused them, so a timer
//! that has already processed a window never misses one.
//!
//! Crossings are facts of the past: a later switch to a laxer policy does not undo a breach.
//! Editing a policy in the configuration applies to the whole history on the next evaluation
//! (recomputation); the report's `policy_spans` shows which policy applied when.

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::calendar::{BusinessCalendar, Clock};
use super::event::{SlaEvent, SlaEventKind};
use super::policy::{
    select_policy, ConfigError, SlaConfig, SlaFacts, SlaPolicy, Target, TargetKind, TimeBasis,
};
use super::Instant;

/// Which threshold was crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FiringLevel {
    Warning,
    Breach,
}

/// A warning or breach crossing of one target instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firing {
    pub target: TargetKind,
    /// 0 for first response and resolution; n for the n-th next response.
    pub cycle: u32,
    pub level: FiringLevel,
    pub at: Instant,
    /// The policy in force when the threshold was crossed.
    pub policy_id: String,
}

impl Firing {
    /// Identifies the crossing independently of when it was computed: one target instance
    /// crosses each level at most once.
    pub fn key(&self) -> (TargetKind, u32, FiringLevel) {
        (self.target, self.cycle, self.level)
    }
}

/// Where a target instance stands at the evaluation instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// Counting, below the warning threshold.
    Running,
    /// Not counting: the status pauses the policy or the subject is resolved.
    Paused,
    /// Counting, past the warning threshold.
    Warning,
    /// Completed in time.
    Met,
    /// The target was not met in time (whether or not it has been completed since).
    Breached,
}

impl TargetState {
    /// Severity for list views: breached first, then warning, running, paused, met.
    pub fn severity(self) -> u8 {
        match self {
            TargetState::Breached => 4,
            TargetState::Warning => 3,
            TargetState::Running => 2,
            TargetState::Paused => 1,
            TargetState::Met => 0,
        }
    }
}

/// One target instance at the evaluation instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetReport {
    pub target: TargetKind,
    /// 0 for first response and resolution; n for the n-th next response.
    pub cycle: u32,
    pub state: TargetState,
    /// The policy whose target governs this instance (at completion, for completed ones).
    pub policy_id: Option<String>,
    pub basis: Option<TimeBasis>,
    pub started_at: Instant,
    /// When it was met or, for a breached target, fulfilled late.
    pub completed_at: Option<Instant>,
    /// The deadline: when it breached, or when it will if nothing changes. `None` while paused.
    pub due_at: Option<Instant>,
    /// When it crossed the warning threshold, or will if nothing changes.
    pub warning_at: Option<Instant>,
    pub breached_at: Option<Instant>,
    /// Counted (business or calendar) time so far.
    pub elapsed_seconds: i64,
    /// Counted time left before the deadline; negative when overdue.
    pub remaining_seconds: Option<i64>,
    /// `remaining_seconds` in whole minutes, rounded down (so -1 while overdue by seconds).
    pub remaining_minutes: Option<i64>,
}

impl TargetReport {
    pub fn is_open(&self) -> bool {
        self.completed_at.is_none()
    }

    /// The state at `now` of this report, made earlier (see [`state_at`]).
    pub fn state_at(&self, now: Instant) -> TargetState {
        state_at(self.state, self.due_at, self.warning_at, now)
    }
}

/// The state at `now` of a clock evaluated earlier as `state` with these instants: clocks keep
/// running between evaluations, so `running` becomes `warning`, then `breached`, once those
/// instants pass.
pub fn state_at(
    state: TargetState,
    due_at: Option<Instant>,
    warning_at: Option<Instant>,
    now: Instant,
) -> TargetState {
    match state {
        TargetState::Running | TargetState::Warning if due_at.is_some_and(|d| d <= now) => {
            TargetState::Breached
        }
        TargetState::Running if warning_at.is_some_and(|w| w <= now) => TargetState::Warning,
        s => s,
    }
}

/// How two clocks compare in urgency: the more severe state first, then the earlier deadline,
/// a clock without one (paused) last. `Greater` means `a` is the more urgent.
pub fn urgency(
    a: (TargetState, Option<Instant>),
    b: (TargetState, Option<Instant>),
) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    a.0.severity()
        .cmp(&b.0.severity())
        .then_with(|| match (a.1, b.1) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        })
}

/// The target a list row shows for a subject: the most urgent open one; once none is open,
/// the last that breached, else the last. `None` when no target ever applied.
pub fn row_target(targets: &[TargetReport]) -> Option<&TargetReport> {
    targets
        .iter()
        .filter(|t| t.is_open())
        .max_by(|a, b| urgency((a.state, a.due_at), (b.state, b.due_at)))
        .or_else(|| {
            targets
                .iter()
                .rev()
                .find(|t| t.state == TargetState::Breached)
        })
        .or(targets.last())
}

/// A period during which one policy (or none) applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySpan {
    pub policy_id: Option<String>,
    pub from: Instant,
    /// `None`: still in force at the evaluation instant.
    pub until: Option<Instant>,
}

/// The SLA picture of one subject at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaReport {
    pub at: Instant,
    /// The policy in force at `at`.
    pub policy_id: Option<String>,
    pub policy_spans: Vec<PolicySpan>,
    /// Every target instance, in the order they started.
    pub targets: Vec<TargetReport>,
}

impl SlaReport {
    /// The latest instance of a target (the current next response, for instance).
    pub fn current(&self, kind: TargetKind) -> Option<&TargetReport> {
        self.targets.iter().rev().find(|t| t.target == kind)
    }

    /// The state a list view shows: the most severe state among open instances; once
    /// nothing is open, `Breached` if any target was breached, else `Met`. `None` when no
    /// target ever applied.
    pub fn state(&self) -> Option<TargetState> {
        let open = self.targets.iter().filter(|t| t.is_open()).map(|t| t.state);
        if let Some(state) = open.max_by_key(|s| s.severity()) {
            return Some(state);
        }
        let worst = self
            .targets
            .iter()
            .map(|t| t.state)
            .max_by_key(|s| s.severity());
        worst.map(|s| {
            if s == TargetState::Breached {
                s
            } else {
                TargetState::Met
            }
        })
    }

    /// The earliest deadline among open instances (breached ones included), for sorting
    /// lists by due time.
    pub fn next_due_at(&self) -> Option<Instant> {
        self.targets
            .iter()
            .filter(|t| t.is_open())
            .filter_map(|t| t.due_at)
            .min()
    }
}

/// Why a history cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("the history has no `created` event at or before the evaluation instant")]
    MissingCreated,
    #[error("a second `created` event at {at}")]
    DuplicateCreated { at: Instant },
    #[error("an event at {at} precedes the `created` event")]
    EventBeforeCreated { at: Instant },
}

/// A validated SLA configuration with compiled calendars, ready to evaluate histories.
#[derive(Debug, Clone)]
pub struct SlaEngine {
    config: SlaConfig,
    calendars: BTreeMap<String, BusinessCalendar>,
}

impl SlaEngine {
    pub fn new(config: SlaConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut calendars = BTreeMap::new();
        for calendar in &config.calendars {
            let compiled = calendar.compile().map_err(|source| ConfigError::Calendar {
                id: calendar.id.clone(),
                source,
            })?;
            calendars.insert(calendar.id.clone(), compiled);
        }
        Ok(SlaEngine { config, calendars })
    }

    pub fn config(&self) -> &SlaConfig {
        &self.config
    }

    pub fn calendar(&self, id: &str) -> Option<&BusinessCalendar> {
        self.calendars.get(id)
    }

    /// The policy that automatic selection picks for these facts.
    pub fn select_policy(&self, facts: &SlaFacts) -> Option<&SlaPolicy> {
        select_policy(&self.config.policies, facts)
    }

    /// The SLA state of the subject at `at`, from the events up to `at`.
    pub fn evaluate(&self, history: &[SlaEvent], at: Instant) -> Result<SlaReport, HistoryError> {
        let replay = Replay::run(self, history, at)?;
        Ok(replay.report())
    }

    /// The next instant after `at` at which a warning or deadline falls if nothing else
    /// happens: when the alarm should go off. Call again after every new event.
    pub fn next_wakeup(
        &self,
        history: &[SlaEvent],
        at: Instant,
    ) -> Result<Option<Instant>, HistoryError> {
        Ok(next_wakeup_of(&self.evaluate(history, at)?, at))
    }

    /// Every warning and breach crossed in `(from, to]`, in time order. A timer that calls this
    /// with consecutive windows sees each crossing exactly once, provided events are appended
    /// before their instant has been processed.
    pub fn firings_between(
        &self,
        history: &[SlaEvent],
        from: Instant,
        to: Instant,
    ) -> Result<Vec<Firing>, HistoryError> {
        let mut firings = Replay::run(self, history, to)?.firings();
        firings.retain(|f| from < f.at && f.at <= to);
        Ok(firings)
    }

    /// Every crossing at or before `now` that no `fired` event in the history records yet, in
    /// time order. Robust against missed windows (a host that was down) and against policy
    /// edits that move a crossing into the past: record each returned firing as a `fired`
    /// event and it is never returned again.
    pub fn unrecorded_firings(
        &self,
        history: &[SlaEvent],
        now: Instant,
    ) -> Result<Vec<Firing>, HistoryError> {
        let recorded: BTreeSet<_> = history
            .iter()
            .filter_map(|e| match &e.kind {
                SlaEventKind::Fired { firing } => Some(firing.key()),
                _ => None,
            })
            .collect();
        let mut firings = Replay::run(self, history, now)?.firings();
        firings.retain(|f| !recorded.contains(&f.key()));
        Ok(firings)
    }

    fn clock(&self, policy: &SlaPolicy, basis: TimeBasis) -> Clock<'_> {
        let calendar = policy
            .calendar_id
            .as_deref()
            .and_then(|id| self.calendars.get(id));
        match (basis, calendar) {
            (TimeBasis::Business, Some(calendar)) => Clock::Business(calendar),
            // Validation guarantees a calendar for business targets.
            _ => Clock::Continuous,
        }
    }
}

/// The next warning or deadline after `at` among a report's open targets.
fn next_wakeup_of(report: &SlaReport, at: Instant) -> Option<Instant> {
    let upcoming = report
        .targets
        .iter()
        .filter(|t| t.is_open())
        .flat_map(|t| match t.state {
            TargetState::Running => [t.warning_at, t.due_at],
            TargetState::Warning => [None, t.due_at],
            TargetState::Paused | TargetState::Met | TargetState::Breached => [None, None],
        });
    upcoming.flatten().filter(|&w| w > at).min()
}

/// A threshold crossing inside the replay.
#[derive(Debug, Clone)]
struct Crossing {
    at: Instant,
    policy_id: String,
}

/// The target that governs an instance: the policy in force and its target.
#[derive(Debug, Clone, Copy)]
struct Governing<'e> {
    policy: &'e SlaPolicy,
    target: Target,
}

/// One running or finished target clock.
#[derive(Debug)]
struct Instance<'e> {
    kind: TargetKind,
    cycle: u32,
    started_at: Instant,
    completed_at: Option<Instant>,
    elapsed: TimeDelta,
    warned: Option<Crossing>,
    breached: Option<Crossing>,
    /// The target in force during the last replayed segment (frozen once completed); `None`
    /// while no policy in force has this target.
    governing: Option<Governing<'e>>,
}

impl<'e> Instance<'e> {
    fn new(kind: TargetKind, cycle: u32, started_at: Instant) -> Self {
        Instance {
            kind,
            cycle,
            started_at,
            completed_at: None,
            elapsed: TimeDelta::zero(),
            warned: None,
            breached: None,
            governing: None,
        }
    }

    fn complete(&mut self, at: Instant) {
        self.completed_at = Some(at);
        // Answering exactly at the deadline is in time.
        if self.breached.as_ref().is_some_and(|b| b.at >= at) {
            self.breached = None;
        }
        if self.warned.as_ref().is_some_and(|w| w.at >= at) {
            self.warned = None;
        }
    }

    /// Runs the clock over the segment `[a, b)`, recording crossings.
    fn advance(
        &mut self,
        clock: Clock<'_>,
        governing: Governing<'e>,
        counting: bool,
        a: Instant,
        b: Instant,
    ) {
        self.governing = Some(governing);
        let counted = if counting && b > a {
            clock.between(a, b)
        } else {
            TimeDelta::zero()
        };
        if self.breached.is_none() {
            let target = governing.target;
            let crossing =
                |threshold: TimeDelta| crossing(clock, self.elapsed, counted, threshold, a, b);
            let breach = crossing(target.duration());
            let warning = crossing(target.warning_after());
            let policy_id = || governing.policy.id.clone();
            if self.warned.is_none() {
                // A warning at the very instant of the breach adds nothing.
                if let Some(at) = warning.filter(|w| breach.is_none_or(|b| *w < b)) {
                    self.warned = Some(Crossing {
                        at,
                        policy_id: policy_id(),
                    });
                }
            }
            if let Some(at) = breach {
                self.breached = Some(Crossing {
                    at,
                    policy_id: policy_id(),
                });
            }
        }
        self.elapsed += counted;
    }

    fn firings(&self) -> impl Iterator<Item = Firing> + '_ {
        let firing = |level, c: &Crossing| Firing {
            target: self.kind,
            cycle: self.cycle,
            level,
            at: c.at,
            policy_id: c.policy_id.clone(),
        };
        let warned = self
            .warned
            .as_ref()
            .map(|c| firing(FiringLevel::Warning, c));
        let breached = self
            .breached
            .as_ref()
            .map(|c| firing(FiringLevel::Breach, c));
        warned.into_iter().chain(breached)
    }
}

/// The instant within `[a, b]` at which elapsed time reaches `threshold`, if it does.
fn crossing(
    clock: Clock<'_>,
    elapsed: TimeDelta,
    counted: TimeDelta,
    threshold: TimeDelta,
    a: Instant,
    b: Instant,
) -> Option<Instant> {
    if elapsed >= threshold {
        // Already past it at the start of the segment: the threshold was lowered right here.
        return Some(a);
    }
    if elapsed + counted < threshold {
        return None;
    }
    Some(clock.add(a, threshold - elapsed).map_or(b, |t| t.min(b)))
}

/// The state of a subject while its history is replayed.
struct Replay<'e> {
    engine: &'e SlaEngine,
    at: Instant,
    facts: SlaFacts,
    status: String,
    pinned: Option<String>,
    instances: Vec<Instance<'e>>,
    next_response_cycles: u32,
    /// Instant up to which the clocks have run.
    cursor: Instant,
    policy_changes: Vec<(Instant, Option<String>)>,
}

impl<'e> Replay<'e> {
    fn run(engine: &'e SlaEngine, history: &[SlaEvent], at: Instant) -> Result<Self, HistoryError> {
        let mut replay = Replay::through(engine, history.iter().filter(|e| e.at <= at))?;
        replay.at = at;
        replay.advance_to(at);
        Ok(replay)
    }

    /// The clocks right after the last of `events`, in time order; not advanced any further.
    fn through<'h>(
        engine: &'e SlaEngine,
        events: impl Iterator<Item = &'h SlaEvent>,
    ) -> Result<Self, HistoryError> {
        let mut events: Vec<&SlaEvent> = events.collect();
        // Stable: equal instants keep their recorded order, except that creation comes first.
        crate::sort::sort_by_key(&mut events, |e| {
            (e.at, !matches!(e.kind, SlaEventKind::Created { .. }))
        });
        let (first, rest) = events.split_first().ok_or(HistoryError::MissingCreated)?;
        let SlaEventKind::Created { facts, status } = &first.kind else {
            let created = events
                .iter()
                .any(|e| matches!(e.kind, SlaEventKind::Created { .. }));
            return Err(if created {
                HistoryError::EventBeforeCreated { at: first.at }
            } else {
                HistoryError::MissingCreated
            });
        };

        let mut replay = Replay {
            engine,
            at: first.at,
            facts: facts.clone(),
            status: status.clone(),
            pinned: None,
            instances: vec![
                Instance::new(TargetKind::FirstResponse, 0, first.at),
                Instance::new(TargetKind::Resolution, 0, first.at),
            ],
            next_response_cycles: 0,
            cursor: first.at,
            policy_changes: Vec::new(),
        };
        if engine.config.is_resolved(status) {
            if let Some(resolution) = replay.instance_mut(TargetKind::Resolution) {
                resolution.complete(first.at);
            }
        }
        replay.note_policy(first.at);
        for event in rest {
            replay.step(event)?;
        }
        replay.at = replay.cursor;
        Ok(replay)
    }

    /// Runs the clocks up to `event` and applies it: one step of the replay.
    fn step(&mut self, event: &SlaEvent) -> Result<(), HistoryError> {
        self.advance_to(event.at);
        self.apply(event)?;
        self.note_policy(event.at);
        Ok(())
    }

    fn active_policy(&self) -> Option<&'e SlaPolicy> {
        let engine = self.engine;
        let pinned = self
            .pinned
            .as_deref()
            .and_then(|id| engine.config.policy(id))
            .filter(|p| p.enabled);
        pinned.or_else(|| engine.select_policy(&self.facts))
    }

    /// Whether clocks run in the current status under `policy`.
    fn counting(&self, policy: &SlaPolicy) -> bool {
        !self.engine.config.is_resolved(&self.status) && !policy.pause.pauses(&self.status)
    }

    fn advance_to(&mut self, b: Instant) {
        let a = self.cursor;
        let policy = self.active_policy();
        let counting = policy.is_some_and(|p| self.counting(p));
        for instance in self
            .instances
            .iter_mut()
            .filter(|i| i.completed_at.is_none())
        {
            let target = policy.and_then(|p| p.targets.get(instance.kind).map(|t| (p, *t)));
            let Some((policy, target)) = target else {
                instance.governing = None;
                continue;
            };
            let clock = self.engine.clock(policy, target.basis);
            instance.advance(clock, Governing { policy, target }, counting, a, b);
        }
        self.cursor = b;
    }

    fn apply(&mut self, event: &SlaEvent) -> Result<(), HistoryError> {
        let at = event.at;
        match &event.kind {
            SlaEventKind::Created { .. } => return Err(HistoryError::DuplicateCreated { at }),
            SlaEventKind::StatusChanged { status } => {
                let config = &self.engine.config;
                let (was, is) = (config.is_resolved(&self.status), config.is_resolved(status));
                self.status = status.clone();
                if let Some(resolution) = self.instance_mut(TargetKind::Resolution) {
                    match (was, is) {
                        (false, true) => resolution.complete(at),
                        // Reopened: the resolution clock continues where it stopped.
                        (true, false) => resolution.completed_at = None,
                        _ => {}
                    }
                }
            }
            SlaEventKind::CustomerMessage => {
                let first_answered = self
                    .instance(TargetKind::FirstResponse)
                    .is_some_and(|i| i.completed_at.is_some());
                let waiting = self.open_next_response().is_some();
                if first_answered && !waiting {
                    self.next_response_cycles += 1;
                    self.instances.push(Instance::new(
                        TargetKind::NextResponse,
                        self.next_response_cycles,
                        at,
                    ));
                }
            }
            SlaEventKind::AgentReply => {
                for instance in self.instances.iter_mut() {
                    let answers = matches!(
                        instance.kind,
                        TargetKind::FirstResponse | TargetKind::NextResponse
                    );
                    if answers && instance.completed_at.is_none() {
                        instance.complete(at);
                    }
                }
            }
            SlaEventKind::PriorityChanged { priority } => self.facts.priority = *priority,
            SlaEventKind::TeamChanged { team } => self.facts.team = team.clone(),
            SlaEventKind::TagsChanged { tags } => self.facts.tags = tags.clone(),
            SlaEventKind::ContactChanged { attributes } => self.facts.contact = attributes.clone(),
            SlaEventKind::PolicyChanged { policy_id } => self.pinned = policy_id.clone(),
            SlaEventKind::Fired { .. } => {}
        }
        Ok(())
    }

    fn instance(&self, kind: TargetKind) -> Option<&Instance<'e>> {
        self.instances.iter().find(|i| i.kind == kind)
    }

    fn instance_mut(&mut self, kind: TargetKind) -> Option<&mut Instance<'e>> {
        self.instances.iter_mut().find(|i| i.kind == kind)
    }

    fn open_next_response(&self) -> Option<&Instance<'e>> {
        self.instances
            .iter()
            .find(|i| i.kind == TargetKind::NextResponse && i.completed_at.is_none())
    }

    /// Records the policy in force after the events at `at` have been applied.
    fn note_policy(&mut self, at: Instant) {
        let id = self.active_policy().map(|p| p.id.clone());
        if self
            .policy_changes
            .last()
            .is_some_and(|(_, last)| *last == id)
        {
            return;
        }
        // Several events at one instant: only the outcome counts.
        if self
            .policy_changes
            .last()
            .is_some_and(|(when, _)| *when == at)
        {
            self.policy_changes.pop();
            if self
                .policy_changes
                .last()
                .is_some_and(|(_, last)| *last == id)
            {
                return;
            }
        }
        self.policy_changes.push((at, id));
    }

    fn firings(&self) -> Vec<Firing> {
        let mut firings: Vec<Firing> = self.instances.iter().flat_map(Instance::firings).collect();
        crate::sort::sort_by(&mut firings, |a, b| {
            (a.at, a.target, a.cycle, a.level).cmp(&(b.at, b.target, b.cycle, b.level))
        });
        firings
    }

    fn report(&self) -> SlaReport {
        let now = self.at;
        let policy = self.active_policy();
        let counting_now = policy.is_some_and(|p| self.counting(p));
        let targets = self
            .instances
            .iter()
            .filter_map(|i| self.target_report(i, counting_now))
            .collect();
        let spans = self
            .policy_changes
            .iter()
            .enumerate()
            .map(|(n, (from, id))| PolicySpan {
                policy_id: id.clone(),
                from: *from,
                until: self.policy_changes.get(n + 1).map(|(until, _)| *until),
            });
        SlaReport {
            at: now,
            policy_id: policy.map(|p| p.id.clone()),
            policy_spans: spans.collect(),
            targets,
        }
    }

    fn target_report(&self, i: &Instance<'e>, counting_now: bool) -> Option<TargetReport> {
        let breached_at = i.breached.as_ref().map(|c| c.at);
        let warned_at = i.warned.as_ref().map(|c| c.at);
        let governing = i.governing;
        if governing.is_none() && breached_at.is_none() {
            // No policy in force measures this target, and it never breached: nothing to show.
            return None;
        }
        let clock = governing.map(|g| self.engine.clock(g.policy, g.target.basis));
        let remaining = governing.map(|g| g.target.duration() - i.elapsed);
        let project = |from: Instant, left: Option<TimeDelta>| {
            clock
                .zip(left)
                .and_then(|(clock, left)| clock.add(from, left))
        };
        let (state, due_at, warning_at) = match i.completed_at {
            Some(done) => {
                let state = if breached_at.is_some() {
                    TargetState::Breached
                } else {
                    TargetState::Met
                };
                (
                    state,
                    breached_at.or_else(|| project(done, remaining)),
                    warned_at,
                )
            }
            None => {
                let state = match (breached_at, counting_now, warned_at) {
                    (Some(_), _, _) => TargetState::Breached,
                    (None, false, _) => TargetState::Paused,
                    (None, true, Some(_)) => TargetState::Warning,
                    (None, true, None) => TargetState::Running,
                };
                let running = counting_now && governing.is_some();
                let due = breached_at.or_else(|| {
                    if running {
                        project(self.at, remaining)
                    } else {
                        None
                    }
                });
                let warning = warned_at.or_else(|| {
                    let left = governing.map(|g| g.target.warning_after() - i.elapsed);
                    if running && breached_at.is_none() {
                        project(self.at, left)
                    } else {
                        None
                    }
                });
                (state, due, warning)
            }
        };
        let remaining_seconds = remaining.map(|r| r.num_seconds());
        Some(TargetReport {
            target: i.kind,
            cycle: i.cycle,
            state,
            policy_id: governing
                .map(|g| g.policy.id.clone())
                .or_else(|| i.breached.as_ref().map(|c| c.policy_id.clone())),
            basis: governing.map(|g| g.target.basis),
            started_at: i.started_at,
            completed_at: i.completed_at,
            due_at,
            warning_at,
            breached_at,
            elapsed_seconds: i.elapsed.num_seconds(),
            remaining_seconds,
            remaining_minutes: remaining.map(floor_minutes),
        })
    }
}

/// Whole minutes, rounded towards negative infinity.
fn floor_minutes(d: TimeDelta) -> i64 {
    d.num_milliseconds().div_euclid(60_000)
}

// ---- incremental state -----------------------------------------------------------------

/// The clocks of one subject after its last event, kept so a new event costs one replay step
/// instead of a replay of the whole history.
///
/// [`SlaEngine::state`] builds it from a history; [`SlaEngine::apply`] feeds it one more event;
/// [`SlaEngine::evaluate_state`], [`SlaEngine::next_wakeup_state`] and
/// [`SlaEngine::unrecorded_firings_state`] answer exactly what the history-based methods answer
/// for the same events. A state belongs to the configuration it was computed with: the caller
/// rebuilds it from the history when the configuration changes (a state naming a policy the
/// engine does not know is refused with [`StateError::UnknownPolicy`]). Events must arrive in
/// time order; one older than the state's last event is refused ([`StateError::OutOfOrder`])
/// and the caller replays the history instead, which sorts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaState {
    facts: SlaFacts,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pinned: Option<String>,
    instances: Vec<InstanceState>,
    next_response_cycles: u32,
    /// The instant of the last event: the clocks have run up to here.
    cursor: Instant,
    policy_changes: Vec<(Instant, Option<String>)>,
    /// Crossings that `fired` events record, each once, in key order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    recorded: Vec<(TargetKind, u32, FiringLevel)>,
}

impl SlaState {
    /// The instant of the last event applied.
    pub fn cursor(&self) -> Instant {
        self.cursor
    }
}

/// One target clock of an [`SlaState`]; the governing policy is kept by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct InstanceState {
    target: TargetKind,
    cycle: u32,
    started_at: Instant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    completed_at: Option<Instant>,
    /// Counted time as whole seconds and the nanoseconds on top (exact, unlike a float).
    elapsed: (i64, i32),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warned: Option<(Instant, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    breached: Option<(Instant, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    governing: Option<String>,
}

/// Why a state cannot be used or advanced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("an event at {at} is older than the state's last event at {cursor}")]
    OutOfOrder { at: Instant, cursor: Instant },
    #[error("evaluation at {at} precedes the state's last event at {cursor}")]
    Behind { at: Instant, cursor: Instant },
    #[error("the state names policy `{0}`, which the configuration does not have")]
    UnknownPolicy(String),
    #[error("the state holds a counted time out of range")]
    Elapsed,
}

impl<'e> Replay<'e> {
    fn save(&self, recorded: Vec<(TargetKind, u32, FiringLevel)>) -> SlaState {
        let crossing = |c: &Option<Crossing>| c.as_ref().map(|c| (c.at, c.policy_id.clone()));
        SlaState {
            facts: self.facts.clone(),
            status: self.status.clone(),
            pinned: self.pinned.clone(),
            instances: self
                .instances
                .iter()
                .map(|i| InstanceState {
                    target: i.kind,
                    cycle: i.cycle,
                    started_at: i.started_at,
                    completed_at: i.completed_at,
                    elapsed: (i.elapsed.num_seconds(), i.elapsed.subsec_nanos()),
                    warned: crossing(&i.warned),
                    breached: crossing(&i.breached),
                    governing: i.governing.map(|g| g.policy.id.clone()),
                })
                .collect(),
            next_response_cycles: self.next_response_cycles,
            cursor: self.cursor,
            policy_changes: self.policy_changes.clone(),
            recorded,
        }
    }

    fn resume(engine: &'e SlaEngine, state: &SlaState) -> Result<Self, StateError> {
        let crossing = |c: &Option<(Instant, String)>| {
            c.as_ref().map(|(at, policy_id)| Crossing {
                at: *at,
                policy_id: policy_id.clone(),
            })
        };
        let mut instances = Vec::with_capacity(state.instances.len());
        for i in &state.instances {
            let governing = match &i.governing {
                None => None,
                Some(id) => {
                    let unknown = || StateError::UnknownPolicy(id.clone());
                    let policy = engine.config.policy(id).ok_or_else(unknown)?;
                    let target = *policy.targets.get(i.target).ok_or_else(unknown)?;
                    Some(Governing { policy, target })
                }
            };
            let elapsed = TimeDelta::try_seconds(i.elapsed.0)
                .and_then(|s| s.checked_add(&TimeDelta::nanoseconds(i.elapsed.1.into())))
                .ok_or(StateError::Elapsed)?;
            instances.push(Instance {
                kind: i.target,
                cycle: i.cycle,
                started_at: i.started_at,
                completed_at: i.completed_at,
                elapsed,
                warned: crossing(&i.warned),
                breached: crossing(&i.breached),
                governing,
            });
        }
        Ok(Replay {
            engine,
            at: state.cursor,
            facts: state.facts.clone(),
            status: state.status.clone(),
            pinned: state.pinned.clone(),
            instances,
            next_response_cycles: state.next_response_cycles,
            cursor: state.cursor,
            policy_changes: state.policy_changes.clone(),
        })
    }

    /// The clocks of `state` run on to `at`, as a replay evaluated at `at` would leave them.
    fn resume_at(engine: &'e SlaEngine, state: &SlaState, at: Instant) -> Result<Self, StateError> {
        if at < state.cursor {
            return Err(StateError::Behind {
                at,
                cursor: state.cursor,
            });
        }
        let mut replay = Replay::resume(engine, state)?;
        replay.at = at;
        replay.advance_to(at);
        Ok(replay)
    }
}

fn recorded_key(event: &SlaEvent) -> Option<(TargetKind, u32, FiringLevel)> {
    match &event.kind {
        SlaEventKind::Fired { firing } => Some(firing.key()),
        _ => None,
    }
}

impl SlaEngine {
    /// The clocks after every event of `history`, for [`SlaEngine::apply`] to continue from.
    pub fn state(&self, history: &[SlaEvent]) -> Result<SlaState, HistoryError> {
        let recorded: BTreeSet<_> = history.iter().filter_map(recorded_key).collect();
        let replay = Replay::through(self, history.iter())?;
        Ok(replay.save(recorded.into_iter().collect()))
    }

    /// Feeds one more event to `state`: the same step a replay of the history with `event`
    /// appended takes. On an error `state` is unchanged.
    pub fn apply(&self, state: &mut SlaState, event: &SlaEvent) -> Result<(), StateError> {
        if event.at < state.cursor {
            return Err(StateError::OutOfOrder {
                at: event.at,
                cursor: state.cursor,
            });
        }
        let mut replay = Replay::resume(self, state)?;
        replay.step(event)?;
        let mut recorded = std::mem::take(&mut state.recorded);
        if let Some(key) = recorded_key(event) {
            if let Err(at) = recorded.binary_search(&key) {
                recorded.insert(at, key);
            }
        }
        *state = replay.save(recorded);
        Ok(())
    }

    /// [`SlaEngine::evaluate`] from a state, at or after its last event.
    pub fn evaluate_state(&self, state: &SlaState, at: Instant) -> Result<SlaReport, StateError> {
        Ok(Replay::resume_at(self, state, at)?.report())
    }

    /// [`SlaEngine::next_wakeup`] from a state, at or after its last event.
    pub fn next_wakeup_state(
        &self,
        state: &SlaState,
        at: Instant,
    ) -> Result<Option<Instant>, StateError> {
        Ok(next_wakeup_of(&self.evaluate_state(state, at)?, at))
    }

    /// [`SlaEngine::unrecorded_firings`] from a state, at or after its last event.
    pub fn unrecorded_firings_state(
        &self,
        state: &SlaState,
        now: Instant,
    ) -> Result<Vec<Firing>, StateError> {
        let mut firings = Replay::resume_at(self, state, now)?.firings();
        firings.retain(|f| state.recorded.binary_search(&f.key()).is_err());
        Ok(firings)
    }

    /// The report, unrecorded firings and next wake-up at `now`, from one run of the clocks.
    pub fn assess_state(&self, state: &SlaState, now: Instant) -> Result<Assessment, StateError> {
        let replay = Replay::resume_at(self, state, now)?;
        let report = replay.report();
        let mut unrecorded = replay.firings();
        unrecorded.retain(|f| state.recorded.binary_search(&f.key()).is_err());
        let next_wakeup = next_wakeup_of(&report, now);
        Ok(Assessment {
            report,
            unrecorded,
            next_wakeup,
        })
    }
}

/// What a subject's SLA looks like at one instant: see [`SlaEngine::assess_state`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub report: SlaReport,
    /// As [`SlaEngine::unrecorded_firings`].
    pub unrecorded: Vec<Firing>,
    /// As [`SlaEngine::next_wakeup`].
    pub next_wakeup: Option<Instant>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Priority;
    use crate::sla::policy::{SubjectKind, Targets};
    use proptest::prelude::*;
    use serde_json::json;

    fn t(s: &str) -> Instant {
        s.parse().expect("test instant")
    }

    fn config() -> SlaConfig {
        let weekdays = json!([{"start": "09:00", "end": "17:00"}]);
        let nights = json!([{"start": "22:00", "end": "06:00", "overnight": true}]);
        let every_day = |i: &serde_json::Value| json!({"monday": i, "tuesday": i, "wednesday": i, "thursday": i, "friday": i, "saturday": i, "sunday": i});
        serde_json::from_value(json!({
            "calendars": [
                {
                    "id": "ny", "timezone": "America/New_York",
                    "hours": {"monday": weekdays, "tuesday": weekdays, "wednesday": weekdays, "thursday": weekdays, "friday": weekdays},
                    "holidays": [{"kind": "date", "date": "2024-05-27", "name": "Memorial Day"}]
                },
                {
                    "id": "berlin", "timezone": "Europe/Berlin",
                    "hours": {"monday": weekdays, "tuesday": weekdays, "wednesday": weekdays, "thursday": weekdays, "friday": weekdays}
                },
                {"id": "ny-nights", "timezone": "America/New_York", "hours": every_day(&nights)},
                {"id": "berlin-nights", "timezone": "Europe/Berlin", "hours": every_day(&nights)}
            ],
            "policies": [
                {
                    "id": "normal", "position": 10, "calendar_id": "ny",
                    "targets": {"first_response": {"minutes": 240}, "next_response": {"minutes": 120}, "resolution": {"minutes": 960}}
                },
                {
                    "id": "urgent", "position": 0, "calendar_id": "ny",
                    "conditions": {"priorities": ["urgent"]},
                    "targets": {"first_response": {"minutes": 60}, "next_response": {"minutes": 30}, "resolution": {"minutes": 240}}
                },
                {
                    "id": "vip", "position": 1,
                    "conditions": {"tags_any": ["vip"]},
                    "targets": {
                        "first_response": {"minutes": 15, "basis": "calendar"},
                        "resolution": {"minutes": 120, "basis": "calendar"}
                    }
                },
                {
                    "id": "berlin", "position": 2, "calendar_id": "berlin",
                    "conditions": {"teams": ["berlin"]},
                    "targets": {"first_response": {"minutes": 120}}
                },
                {
                    "id": "nights-ny", "position": 3, "calendar_id": "ny-nights",
                    "conditions": {"teams": ["nights-ny"]},
                    "targets": {"first_response": {"minutes": 60}, "resolution": {"minutes": 480}}
                },
                {
                    "id": "nights-berlin", "position": 3, "calendar_id": "berlin-nights",
                    "conditions": {"teams": ["nights-berlin"]},
                    "targets": {"resolution": {"minutes": 480}}
                }
            ]
        }))
        .expect("valid config JSON")
    }

    fn engine() -> SlaEngine {
        SlaEngine::new(config()).expect("valid config")
    }

    fn ticket(at: &str, priority: Priority) -> SlaEvent {
        SlaEvent::created(
            t(at),
            SlaFacts {
                priority,
                ..SlaFacts::new(SubjectKind::Ticket)
            },
            "new",
        )
    }

    fn team_ticket(at: &str, team: &str) -> SlaEvent {
        let facts = SlaFacts {
            team: Some(team.into()),
            ..SlaFacts::new(SubjectKind::Ticket)
        };
        SlaEvent::created(t(at), facts, "new")
    }

    fn reply(at: &str) -> SlaEvent {
        SlaEvent::agent_reply(t(at))
    }

    fn message(at: &str) -> SlaEvent {
        SlaEvent::customer_message(t(at))
    }

    fn status(at: &str, status: &str) -> SlaEvent {
        SlaEvent::status(t(at), status)
    }

    fn priority(at: &str, p: Priority) -> SlaEvent {
        SlaEvent::priority(t(at), p)
    }

    fn tags(at: &str, tags: &[&str]) -> SlaEvent {
        SlaEvent::new(
            t(at),
            SlaEventKind::TagsChanged {
                tags: tags.iter().map(|s| s.to_string()).collect(),
            },
        )
    }

    use Priority::{Normal, Urgent};
    use TargetKind::{FirstResponse as Fr, NextResponse as Nr, Resolution as Res};
    use TargetState::{Breached, Met, Paused, Running, Warning};

    /// One expectation about one target instance (the latest of its kind) at `at`.
    struct Case {
        name: &'static str,
        history: Vec<SlaEvent>,
        at: &'static str,
        target: TargetKind,
        state: TargetState,
        due: Option<&'static str>,
        breached: Option<&'static str>,
        remaining_minutes: Option<i64>,
    }

    #[rustfmt::skip]
    fn cases() -> Vec<Case> {
        // Monday 2024-05-13 09:00 EDT is 13:00Z. The "ny" office is open 09-17 EDT (13-21Z).
        let urgent_monday = || ticket("2024-05-13T13:00:00Z", Urgent);
        vec![
            Case { name: "a fresh urgent ticket runs towards its first response", history: vec![urgent_monday()], at: "2024-05-13T13:30:00Z", target: Fr, state: Running, due: Some("2024-05-13T14:00:00Z"), breached: None, remaining_minutes: Some(30) },
            Case { name: "past 80% the first response is in warning", history: vec![urgent_monday()], at: "2024-05-13T13:50:00Z", target: Fr, state: Warning, due: Some("2024-05-13T14:00:00Z"), breached: None, remaining_minutes: Some(10) },
            Case { name: "exactly at the warning threshold it warns", history: vec![urgent_monday()], at: "2024-05-13T13:48:00Z", target: Fr, state: Warning, due: Some("2024-05-13T14:00:00Z"), breached: None, remaining_minutes: Some(12) },
            Case { name: "just before the warning threshold it runs", history: vec![urgent_monday()], at: "2024-05-13T13:47:59Z", target: Fr, state: Running, due: Some("2024-05-13T14:00:00Z"), breached: None, remaining_minutes: Some(12) },
            Case { name: "past the deadline the first response is breached", history: vec![urgent_monday()], at: "2024-05-13T14:10:00Z", target: Fr, state: Breached, due: Some("2024-05-13T14:00:00Z"), breached: Some("2024-05-13T14:00:00Z"), remaining_minutes: Some(-10) },
            Case { name: "at the deadline an unanswered ticket is breached", history: vec![urgent_monday()], at: "2024-05-13T14:00:00Z", target: Fr, state: Breached, due: Some("2024-05-13T14:00:00Z"), breached: Some("2024-05-13T14:00:00Z"), remaining_minutes: Some(0) },
            Case { name: "a reply in time meets the first response", history: vec![urgent_monday(), reply("2024-05-13T13:40:00Z")], at: "2024-05-13T15:00:00Z", target: Fr, state: Met, due: Some("2024-05-13T14:00:00Z"), breached: None, remaining_minutes: Some(20) },
            Case { name: "a reply exactly at the deadline is in time", history: vec![urgent_monday(), reply("2024-05-13T14:00:00Z")], at: "2024-05-13T15:00:00Z", target: Fr, state: Met, due: Some("2024-05-13T14:00:00Z"), breached: None, remaining_minutes: Some(0) },
            Case { name: "a reply one second late stays breached", history: vec![urgent_monday(), reply("2024-05-13T14:00:01Z")], at: "2024-05-13T15:00:00Z", target: Fr, state: Breached, due: Some("2024-05-13T14:00:00Z"), breached: Some("2024-05-13T14:00:00Z"), remaining_minutes: Some(-1) },
            Case { name: "a ticket from friday afternoon is due monday morning", history: vec![ticket("2024-05-17T20:30:00Z", Urgent)], at: "2024-05-18T12:00:00Z", target: Fr, state: Running, due: Some("2024-05-20T13:30:00Z"), breached: None, remaining_minutes: Some(30) },
            Case { name: "a holiday monday pushes the deadline to tuesday", history: vec![ticket("2024-05-24T20:30:00Z", Urgent)], at: "2024-05-27T15:00:00Z", target: Fr, state: Running, due: Some("2024-05-28T13:30:00Z"), breached: None, remaining_minutes: Some(30) },
            Case { name: "a ticket created on sunday starts counting at opening", history: vec![ticket("2024-05-19T16:00:00Z", Urgent)], at: "2024-05-19T18:00:00Z", target: Fr, state: Running, due: Some("2024-05-20T14:00:00Z"), breached: None, remaining_minutes: Some(60) },
            Case { name: "pending pauses the clock and hides the deadline", history: vec![urgent_monday(), status("2024-05-13T13:20:00Z", "pending")], at: "2024-05-13T15:00:00Z", target: Fr, state: Paused, due: None, breached: None, remaining_minutes: Some(40) },
            Case { name: "reopening resumes the clock where it stopped", history: vec![urgent_monday(), status("2024-05-13T13:20:00Z", "on_hold"), status("2024-05-13T15:00:00Z", "open")], at: "2024-05-13T15:10:00Z", target: Fr, state: Running, due: Some("2024-05-13T15:40:00Z"), breached: None, remaining_minutes: Some(30) },
            Case { name: "a pause across a holiday weekend resumes with the time left", history: vec![ticket("2024-05-24T13:00:00Z", Normal), status("2024-05-24T15:00:00Z", "pending"), status("2024-05-28T15:00:00Z", "open")], at: "2024-05-28T15:00:00Z", target: Res, state: Running, due: Some("2024-05-29T21:00:00Z"), breached: None, remaining_minutes: Some(840) },
            Case { name: "a pause ending on the holiday counts nothing until tuesday", history: vec![ticket("2024-05-24T20:00:00Z", Urgent), status("2024-05-24T20:10:00Z", "pending"), status("2024-05-27T14:00:00Z", "open")], at: "2024-05-27T18:00:00Z", target: Fr, state: Running, due: Some("2024-05-28T13:50:00Z"), breached: None, remaining_minutes: Some(50) },
            Case { name: "solving meets the resolution target", history: vec![urgent_monday(), reply("2024-05-13T13:30:00Z"), status("2024-05-13T15:00:00Z", "solved")], at: "2024-05-14T15:00:00Z", target: Res, state: Met, due: Some("2024-05-13T17:00:00Z"), breached: None, remaining_minutes: Some(120) },
            Case { name: "a solved ticket without a reply has its first response paused", history: vec![urgent_monday(), status("2024-05-13T13:30:00Z", "solved")], at: "2024-05-13T15:00:00Z", target: Fr, state: Paused, due: None, breached: None, remaining_minutes: Some(30) },
            Case { name: "reopening a solved ticket continues the resolution clock", history: vec![urgent_monday(), reply("2024-05-13T13:30:00Z"), status("2024-05-13T15:00:00Z", "solved"), status("2024-05-14T13:00:00Z", "open")], at: "2024-05-14T14:00:00Z", target: Res, state: Running, due: Some("2024-05-14T15:00:00Z"), breached: None, remaining_minutes: Some(60) },
            Case { name: "a customer message after a reply starts the next response", history: vec![urgent_monday(), reply("2024-05-13T13:10:00Z"), message("2024-05-13T14:00:00Z")], at: "2024-05-13T14:05:00Z", target: Nr, state: Running, due: Some("2024-05-13T14:30:00Z"), breached: None, remaining_minutes: Some(25) },
            Case { name: "a second customer message does not restart the next response", history: vec![urgent_monday(), reply("2024-05-13T13:10:00Z"), message("2024-05-13T14:00:00Z"), message("2024-05-13T14:20:00Z")], at: "2024-05-13T14:25:00Z", target: Nr, state: Warning, due: Some("2024-05-13T14:30:00Z"), breached: None, remaining_minutes: Some(5) },
            Case { name: "an unanswered customer message breaches the next response", history: vec![urgent_monday(), reply("2024-05-13T13:10:00Z"), message("2024-05-13T14:00:00Z")], at: "2024-05-13T14:45:00Z", target: Nr, state: Breached, due: Some("2024-05-13T14:30:00Z"), breached: Some("2024-05-13T14:30:00Z"), remaining_minutes: Some(-15) },
            Case { name: "each answered message opens a new next-response cycle", history: vec![urgent_monday(), reply("2024-05-13T13:10:00Z"), message("2024-05-13T14:00:00Z"), reply("2024-05-13T14:25:00Z"), message("2024-05-13T15:00:00Z")], at: "2024-05-13T15:01:00Z", target: Nr, state: Running, due: Some("2024-05-13T15:30:00Z"), breached: None, remaining_minutes: Some(29) },
            Case { name: "raising the priority mid-flight tightens the deadline from the start", history: vec![ticket("2024-05-13T13:00:00Z", Normal), priority("2024-05-13T13:30:00Z", Urgent)], at: "2024-05-13T13:35:00Z", target: Fr, state: Running, due: Some("2024-05-13T14:00:00Z"), breached: None, remaining_minutes: Some(25) },
            Case { name: "raising the priority past the new deadline breaches at the change", history: vec![ticket("2024-05-13T13:00:00Z", Normal), priority("2024-05-13T14:30:00Z", Urgent)], at: "2024-05-13T14:31:00Z", target: Fr, state: Breached, due: Some("2024-05-13T14:30:00Z"), breached: Some("2024-05-13T14:30:00Z"), remaining_minutes: Some(-31) },
            Case { name: "lowering the priority after a breach keeps the breach", history: vec![urgent_monday(), priority("2024-05-13T14:30:00Z", Normal)], at: "2024-05-13T15:00:00Z", target: Fr, state: Breached, due: Some("2024-05-13T14:00:00Z"), breached: Some("2024-05-13T14:00:00Z"), remaining_minutes: Some(120) },
            Case { name: "a vip tag on saturday switches to calendar time", history: vec![ticket("2024-05-18T12:00:00Z", Normal), tags("2024-05-18T12:05:00Z", &["VIP"])], at: "2024-05-18T12:10:00Z", target: Fr, state: Running, due: Some("2024-05-18T12:20:00Z"), breached: None, remaining_minutes: Some(10) },
            Case { name: "calendar-time targets breach on weekends", history: vec![ticket("2024-05-18T12:00:00Z", Normal), tags("2024-05-18T12:00:00Z", &["vip"])], at: "2024-05-18T12:15:00Z", target: Fr, state: Breached, due: Some("2024-05-18T12:15:00Z"), breached: Some("2024-05-18T12:15:00Z"), remaining_minutes: Some(0) },
            Case { name: "pinning a policy by hand overrides selection", history: vec![urgent_monday(), SlaEvent::policy(t("2024-05-13T13:00:00Z"), Some("vip"))], at: "2024-05-13T13:05:00Z", target: Fr, state: Running, due: Some("2024-05-13T13:15:00Z"), breached: None, remaining_minutes: Some(10) },
            Case { name: "unpinning returns to automatic selection", history: vec![urgent_monday(), SlaEvent::policy(t("2024-05-13T13:00:00Z"), Some("vip")), SlaEvent::policy(t("2024-05-13T13:05:00Z"), None)], at: "2024-05-13T13:10:00Z", target: Fr, state: Running, due: Some("2024-05-13T14:00:00Z"), breached: None, remaining_minutes: Some(50) },
            Case { name: "NY spring-forward night shift: the resolution spills into the next night", history: vec![team_ticket("2024-03-10T03:00:00Z", "nights-ny")], at: "2024-03-10T12:00:00Z", target: Res, state: Warning, due: Some("2024-03-11T03:00:00Z"), breached: None, remaining_minutes: Some(60) },
            Case { name: "NY spring-forward night shift: first response an hour after 22:00", history: vec![team_ticket("2024-03-10T03:00:00Z", "nights-ny")], at: "2024-03-10T03:30:00Z", target: Fr, state: Running, due: Some("2024-03-10T04:00:00Z"), breached: None, remaining_minutes: Some(30) },
            Case { name: "NY fall-back night shift: nine hours of business time", history: vec![team_ticket("2024-11-03T02:00:00Z", "nights-ny")], at: "2024-11-03T09:00:00Z", target: Res, state: Warning, due: Some("2024-11-03T10:00:00Z"), breached: None, remaining_minutes: Some(60) },
            Case { name: "Berlin fall-back night shift: eight hours end before 06:00", history: vec![team_ticket("2024-10-26T20:00:00Z", "nights-berlin")], at: "2024-10-26T21:00:00Z", target: Res, state: Running, due: Some("2024-10-27T04:00:00Z"), breached: None, remaining_minutes: Some(420) },
            Case { name: "Berlin spring-forward night shift: seven hours, then the next night", history: vec![team_ticket("2024-03-30T21:00:00Z", "nights-berlin")], at: "2024-03-31T05:00:00Z", target: Res, state: Warning, due: Some("2024-03-31T21:00:00Z"), breached: None, remaining_minutes: Some(60) },
            Case { name: "Berlin office over the spring-forward weekend", history: vec![team_ticket("2024-03-29T15:00:00Z", "berlin")], at: "2024-03-30T12:00:00Z", target: Fr, state: Running, due: Some("2024-04-01T08:00:00Z"), breached: None, remaining_minutes: Some(60) },
            Case { name: "NY office over the fall-back weekend", history: vec![ticket("2024-11-01T20:30:00Z", Urgent)], at: "2024-11-02T12:00:00Z", target: Fr, state: Running, due: Some("2024-11-04T14:30:00Z"), breached: None, remaining_minutes: Some(30) },
        ]
    }

    #[test]
    fn target_states_match_the_table() {
        let engine = engine();
        let cases = cases();
        assert!(cases.len() >= 30);
        for case in &cases {
            let report = engine
                .evaluate(&case.history, t(case.at))
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let target = report
                .current(case.target)
                .unwrap_or_else(|| panic!("{}: no {} instance", case.name, case.target));
            assert_eq!(target.state, case.state, "{}: state", case.name);
            assert_eq!(target.due_at, case.due.map(t), "{}: due", case.name);
            assert_eq!(
                target.breached_at,
                case.breached.map(t),
                "{}: breach",
                case.name
            );
            assert_eq!(
                target.remaining_minutes, case.remaining_minutes,
                "{}: remaining",
                case.name
            );
        }
    }

    #[test]
    fn policy_spans_show_which_policy_applied_when() {
        let history = [
            ticket("2024-05-13T13:00:00Z", Normal),
            priority("2024-05-13T13:30:00Z", Urgent),
            // Two changes at one instant that cancel out leave no trace.
            tags("2024-05-13T13:40:00Z", &["vip"]),
            tags("2024-05-13T13:40:00Z", &[]),
            priority("2024-05-13T14:00:00Z", Normal),
        ];
        let report = engine()
            .evaluate(&history, t("2024-05-13T15:00:00Z"))
            .expect("evaluates");
        let span = |id: &str, from: &str, until: Option<&str>| PolicySpan {
            policy_id: Some(id.into()),
            from: t(from),
            until: until.map(t),
        };
        assert_eq!(
            report.policy_spans,
            vec![
                span(
                    "normal",
                    "2024-05-13T13:00:00Z",
                    Some("2024-05-13T13:30:00Z")
                ),
                span(
                    "urgent",
                    "2024-05-13T13:30:00Z",
                    Some("2024-05-13T14:00:00Z")
                ),
                span("normal", "2024-05-13T14:00:00Z", None),
            ]
        );
        assert_eq!(report.policy_id.as_deref(), Some("normal"));
        let breach = &engine()
            .firings_between(
                &history,
                t("2024-05-13T13:00:00Z"),
                t("2024-05-13T15:00:00Z"),
            )
            .expect("ok");
        assert_eq!(
            breach
                .iter()
                .map(|f| (f.level, f.policy_id.as_str()))
                .collect::<Vec<_>>(),
            vec![
                (FiringLevel::Warning, "urgent"),
                (FiringLevel::Breach, "urgent"),
            ]
        );
    }

    #[test]
    fn editing_a_policy_recomputes_open_tickets() {
        let history = [ticket("2024-05-13T13:00:00Z", Urgent)];
        let mut tighter = config();
        let urgent = tighter
            .policies
            .iter_mut()
            .find(|p| p.id == "urgent")
            .expect("urgent policy");
        urgent.targets.first_response = Some(Target::minutes(30, TimeBasis::Business));
        let engine = SlaEngine::new(tighter).expect("valid");
        let report = engine
            .evaluate(&history, t("2024-05-13T13:10:00Z"))
            .expect("evaluates");
        assert_eq!(
            report.current(Fr).and_then(|r| r.due_at),
            Some(t("2024-05-13T13:30:00Z"))
        );
    }

    #[test]
    fn without_a_matching_policy_nothing_is_measured() {
        let mut config = config();
        config.policies.retain(|p| p.id == "berlin");
        let engine = SlaEngine::new(config).expect("valid");
        let history = [
            ticket("2024-05-13T13:00:00Z", Urgent),
            reply("2024-05-13T13:05:00Z"),
        ];
        let report = engine
            .evaluate(&history, t("2024-05-13T15:00:00Z"))
            .expect("evaluates");
        assert!(report.targets.is_empty());
        assert_eq!(report.state(), None);
        assert_eq!(report.policy_id, None);
        assert_eq!(
            engine.next_wakeup(&history, t("2024-05-13T15:00:00Z")),
            Ok(None)
        );
    }

    #[test]
    fn a_customer_message_before_the_first_reply_starts_no_next_response() {
        let history = [
            ticket("2024-05-13T13:00:00Z", Urgent),
            message("2024-05-13T13:10:00Z"),
        ];
        let report = engine()
            .evaluate(&history, t("2024-05-13T13:20:00Z"))
            .expect("evaluates");
        assert!(report.current(Nr).is_none());
        assert_eq!(report.targets.len(), 2);
    }

    #[test]
    fn the_report_summarises_the_worst_open_state_and_earliest_deadline() {
        let history = [ticket("2024-05-13T13:00:00Z", Urgent)];
        let report = engine()
            .evaluate(&history, t("2024-05-13T13:50:00Z"))
            .expect("evaluates");
        assert_eq!(report.state(), Some(Warning));
        assert_eq!(report.next_due_at(), Some(t("2024-05-13T14:00:00Z")));

        let done = [
            ticket("2024-05-13T13:00:00Z", Urgent),
            reply("2024-05-13T13:10:00Z"),
            status("2024-05-13T13:20:00Z", "closed"),
        ];
        let report = engine()
            .evaluate(&done, t("2024-05-13T15:00:00Z"))
            .expect("evaluates");
        assert_eq!(report.state(), Some(Met));
        assert_eq!(report.next_due_at(), None);

        let late = [
            ticket("2024-05-13T13:00:00Z", Urgent),
            reply("2024-05-13T14:10:00Z"),
            status("2024-05-13T14:20:00Z", "closed"),
        ];
        let report = engine()
            .evaluate(&late, t("2024-05-13T15:00:00Z"))
            .expect("evaluates");
        assert_eq!(report.state(), Some(Breached));
    }

    #[test]
    fn next_wakeup_walks_from_warning_to_deadline_to_the_next_target() {
        let engine = engine();
        let history = [ticket("2024-05-13T13:00:00Z", Urgent)];
        let wake = |at: &str| engine.next_wakeup(&history, t(at)).expect("evaluates");
        assert_eq!(
            wake("2024-05-13T13:00:00Z"),
            Some(t("2024-05-13T13:48:00Z"))
        );
        assert_eq!(
            wake("2024-05-13T13:48:00Z"),
            Some(t("2024-05-13T14:00:00Z"))
        );
        // Then the resolution target (240 business minutes): warning at 80% = 16:12 EDT.
        assert_eq!(
            wake("2024-05-13T14:00:00Z"),
            Some(t("2024-05-13T16:12:00Z"))
        );
        assert_eq!(
            wake("2024-05-13T16:12:00Z"),
            Some(t("2024-05-13T17:00:00Z"))
        );
        assert_eq!(wake("2024-05-13T17:00:00Z"), None);

        let paused = [
            ticket("2024-05-13T13:00:00Z", Urgent),
            status("2024-05-13T13:10:00Z", "pending"),
        ];
        assert_eq!(
            engine.next_wakeup(&paused, t("2024-05-13T13:20:00Z")),
            Ok(None)
        );
    }

    #[test]
    fn consecutive_windows_see_every_firing_exactly_once() {
        let engine = engine();
        let history = [
            ticket("2024-05-13T13:00:00Z", Urgent),
            reply("2024-05-13T13:55:00Z"),
            message("2024-05-13T14:00:00Z"),
            status("2024-05-13T14:10:00Z", "pending"),
            status("2024-05-13T16:00:00Z", "open"),
        ];
        let start = t("2024-05-13T13:00:00Z");
        let end = t("2024-05-14T21:00:00Z");
        let all = engine
            .firings_between(&history, start, end)
            .expect("evaluates");
        assert_eq!(
            all.iter()
                .map(|f| (f.target, f.cycle, f.level))
                .collect::<Vec<_>>(),
            vec![
                (Fr, 0, FiringLevel::Warning),
                (Nr, 1, FiringLevel::Warning),
                (Nr, 1, FiringLevel::Breach),
                (Res, 0, FiringLevel::Warning),
                (Res, 0, FiringLevel::Breach),
            ]
        );
        let mut seen = Vec::new();
        let mut from = start;
        while from < end {
            let to = from + TimeDelta::minutes(7);
            seen.extend(
                engine
                    .firings_between(&history, from, to)
                    .expect("evaluates"),
            );
            from = to;
        }
        assert_eq!(seen, all);
    }

    #[test]
    fn recorded_firings_are_not_returned_again() {
        let engine = engine();
        let mut history = vec![ticket("2024-05-13T13:00:00Z", Urgent)];
        let now = t("2024-05-13T14:05:00Z");
        let due = engine.unrecorded_firings(&history, now).expect("evaluates");
        assert_eq!(due.len(), 2, "warning and breach of the first response");
        history.extend(due.into_iter().map(SlaEvent::fired));
        assert_eq!(engine.unrecorded_firings(&history, now), Ok(vec![]));
        // Recorded firings do not disturb the clocks.
        let report = engine.evaluate(&history, now).expect("evaluates");
        assert_eq!(report.current(Fr).map(|r| r.state), Some(Breached));
    }

    #[test]
    fn a_policy_edit_that_moves_a_breach_into_the_past_still_fires_once() {
        let history = [ticket("2024-05-13T13:00:00Z", Normal)];
        let now = t("2024-05-13T15:00:00Z");
        let before = engine();
        assert_eq!(before.unrecorded_firings(&history, now), Ok(vec![]));

        let mut edited = config();
        let normal = edited
            .policies
            .iter_mut()
            .find(|p| p.id == "normal")
            .expect("normal policy");
        normal.targets.first_response = Some(Target::minutes(60, TimeBasis::Business));
        let after = SlaEngine::new(edited).expect("valid");
        // The breach at 14:00 lies before the window the timer processes next ...
        assert_eq!(
            after.firings_between(&history, now, t("2024-05-13T15:05:00Z")),
            Ok(vec![])
        );
        // ... but unrecorded firings catch it.
        let late = after.unrecorded_firings(&history, now).expect("evaluates");
        assert_eq!(
            late.iter().map(|f| (f.level, f.at)).collect::<Vec<_>>(),
            vec![
                (FiringLevel::Warning, t("2024-05-13T13:48:00Z")),
                (FiringLevel::Breach, t("2024-05-13T14:00:00Z")),
            ]
        );
    }

    #[test]
    fn malformed_histories_are_refused() {
        let engine = engine();
        let now = t("2024-05-13T15:00:00Z");
        assert_eq!(engine.evaluate(&[], now), Err(HistoryError::MissingCreated));
        assert_eq!(
            engine.evaluate(&[reply("2024-05-13T13:00:00Z")], now),
            Err(HistoryError::MissingCreated)
        );
        assert_eq!(
            engine.evaluate(
                &[
                    reply("2024-05-13T12:00:00Z"),
                    ticket("2024-05-13T13:00:00Z", Urgent)
                ],
                now
            ),
            Err(HistoryError::EventBeforeCreated {
                at: t("2024-05-13T12:00:00Z")
            })
        );
        assert_eq!(
            engine.evaluate(
                &[
                    ticket("2024-05-13T13:00:00Z", Urgent),
                    ticket("2024-05-13T13:05:00Z", Urgent)
                ],
                now
            ),
            Err(HistoryError::DuplicateCreated {
                at: t("2024-05-13T13:05:00Z")
            })
        );
        // A creation later than the evaluation instant has not happened yet.
        assert_eq!(
            engine.evaluate(&[ticket("2024-05-13T16:00:00Z", Urgent)], now),
            Err(HistoryError::MissingCreated)
        );
    }

    #[test]
    fn events_recorded_out_of_order_are_replayed_in_time_order() {
        let ordered = [
            ticket("2024-05-13T13:00:00Z", Urgent),
            reply("2024-05-13T13:30:00Z"),
            message("2024-05-13T14:00:00Z"),
        ];
        let shuffled = [ordered[2].clone(), ordered[0].clone(), ordered[1].clone()];
        let now = t("2024-05-13T14:10:00Z");
        assert_eq!(
            engine().evaluate(&shuffled, now),
            engine().evaluate(&ordered, now)
        );
    }

    #[test]
    fn a_conversation_report_serializes_in_snake_case() {
        let facts = SlaFacts {
            priority: Urgent,
            ..SlaFacts::new(SubjectKind::Conversation)
        };
        let history = [SlaEvent::created(t("2024-05-13T13:00:00Z"), facts, "open")];
        let report = engine()
            .evaluate(&history, t("2024-05-13T13:30:00Z"))
            .expect("evaluates");
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["targets"][0]["target"], "first_response");
        assert_eq!(json["targets"][0]["state"], "running");
        assert_eq!(json["targets"][0]["due_at"], "2024-05-13T14:00:00Z");
        assert_eq!(json["policy_spans"][0]["policy_id"], "urgent");
    }

    fn arbitrary_kind() -> impl Strategy<Value = SlaEventKind> {
        let statuses = ["new", "open", "pending", "on_hold", "solved", "closed"];
        let teams = [
            None,
            Some("berlin"),
            Some("nights-ny"),
            Some("nights-berlin"),
        ];
        let pins = [None, Some("vip"), Some("urgent"), Some("deleted")];
        prop_oneof![
            3 => Just(SlaEventKind::CustomerMessage),
            3 => Just(SlaEventKind::AgentReply),
            2 => prop::sample::select(statuses.to_vec()).prop_map(|s| SlaEventKind::StatusChanged { status: s.into() }),
            1 => prop::sample::select(Priority::ALL).prop_map(|priority| SlaEventKind::PriorityChanged { priority }),
            1 => any::<bool>().prop_map(|vip| SlaEventKind::TagsChanged { tags: if vip { vec!["vip".into()] } else { vec![] } }),
            1 => prop::sample::select(teams.to_vec()).prop_map(|t| SlaEventKind::TeamChanged { team: t.map(str::to_owned) }),
            1 => prop::sample::select(pins.to_vec()).prop_map(|p| SlaEventKind::PolicyChanged { policy_id: p.map(str::to_owned) }),
        ]
    }

    /// A ticket created on the Friday before the 2024 US spring-forward, then up to 16 events
    /// within four days.
    fn arbitrary_history() -> impl Strategy<Value = Vec<SlaEvent>> {
        let start = t("2024-03-08T19:00:00Z");
        let events = prop::collection::vec((0i64..4 * 24 * 60, arbitrary_kind()), 0..16);
        (prop::sample::select(Priority::ALL), events).prop_map(move |(p, events)| {
            let mut history = vec![SlaEvent::created(
                start,
                SlaFacts {
                    priority: p,
                    ..SlaFacts::new(SubjectKind::Ticket)
                },
                "new",
            )];
            history.extend(
                events
                    .into_iter()
                    .map(|(m, kind)| SlaEvent::new(start + TimeDelta::minutes(m), kind)),
            );
            history
        })
    }

    proptest! {
        #[test]
        fn any_history_evaluates_and_wakes_up_in_the_future(history in arbitrary_history(), minutes in 0i64..6 * 24 * 60) {
            let engine = engine();
            let at = t("2024-03-08T19:00:00Z") + TimeDelta::minutes(minutes);
            let report = engine.evaluate(&history, at).expect("evaluates");
            for target in &report.targets {
                prop_assert!(target.breached_at.is_none_or(|b| b <= at));
                prop_assert_eq!(target.breached_at.is_some(), target.state == Breached);
            }
            if let Some(wake) = engine.next_wakeup(&history, at).expect("evaluates") {
                prop_assert!(wake > at);
            }
        }

        #[test]
        fn crossings_up_to_t_never_change_when_later_events_arrive(
            history in arbitrary_history(), cut in 0i64..4 * 24 * 60, later in 0i64..2 * 24 * 60
        ) {
            let engine = engine();
            let start = t("2024-03-08T19:00:00Z");
            let cut = start + TimeDelta::minutes(cut);
            let end = cut + TimeDelta::minutes(later);
            let known_then: Vec<SlaEvent> = history.iter().filter(|e| e.at <= cut).cloned().collect();
            let then = engine.firings_between(&known_then, start - TimeDelta::seconds(1), cut).expect("evaluates");
            let mut now = engine.firings_between(&history, start - TimeDelta::seconds(1), end).expect("evaluates");
            now.retain(|f| f.at <= cut);
            prop_assert_eq!(then, now);
        }
    }

    #[test]
    fn an_invalid_config_is_refused_by_the_engine() {
        let mut config = config();
        config.policies[0].targets = Targets::default();
        assert!(matches!(
            SlaEngine::new(config),
            Err(ConfigError::Policy { .. })
        ));
    }

    fn clock(
        target: TargetKind,
        state: TargetState,
        due: Option<&str>,
        done: bool,
    ) -> TargetReport {
        TargetReport {
            target,
            cycle: 0,
            state,
            policy_id: None,
            basis: None,
            started_at: t("2026-01-05T09:00:00Z"),
            completed_at: done.then(|| t("2026-01-05T09:10:00Z")),
            due_at: due.map(t),
            warning_at: None,
            breached_at: None,
            elapsed_seconds: 0,
            remaining_seconds: None,
            remaining_minutes: None,
        }
    }

    #[test]
    fn a_row_shows_the_most_severe_open_clock_and_the_earlier_deadline_among_equals() {
        use TargetKind::{FirstResponse, NextResponse, Resolution};
        use TargetState::{Breached, Met, Paused, Running, Warning};
        let targets = [
            clock(FirstResponse, Breached, Some("2026-01-05T09:30:00Z"), true),
            clock(Resolution, Running, Some("2026-01-06T09:00:00Z"), false),
            clock(NextResponse, Running, Some("2026-01-05T11:00:00Z"), false),
            clock(NextResponse, Paused, None, false),
        ];
        // A completed breach no longer leads while clocks are open.
        let row = row_target(&targets).expect("a row clock");
        assert_eq!((row.target, row.state), (NextResponse, Running));
        let mut warned = targets.clone();
        warned[1].state = Warning;
        assert_eq!(row_target(&warned).map(|r| r.target), Some(Resolution));
        // Nothing open: the breach is what the row remembers, else the last target.
        let closed = [
            clock(FirstResponse, Breached, Some("2026-01-05T09:30:00Z"), true),
            clock(Resolution, Met, Some("2026-01-06T09:00:00Z"), true),
        ];
        assert_eq!(row_target(&closed).map(|r| r.state), Some(Breached));
        assert_eq!(row_target(&closed[1..]).map(|r| r.state), Some(Met));
        assert!(row_target(&[]).is_none());
        // A paused clock, without a deadline, ranks after a running one with a deadline.
        assert_eq!(
            urgency((Running, None), (Running, Some(t("2026-01-05T11:00:00Z")))),
            std::cmp::Ordering::Less
        );
    }

    #[test]
    fn a_clock_read_later_turns_warning_then_breached_as_its_instants_pass() {
        let mut c = clock(
            TargetKind::FirstResponse,
            TargetState::Running,
            Some("2026-01-05T10:00:00Z"),
            false,
        );
        c.warning_at = Some(t("2026-01-05T09:48:00Z"));
        assert_eq!(c.state_at(t("2026-01-05T09:30:00Z")), TargetState::Running);
        assert_eq!(c.state_at(t("2026-01-05T09:50:00Z")), TargetState::Warning);
        assert_eq!(c.state_at(t("2026-01-05T10:00:00Z")), TargetState::Breached);
        c.state = TargetState::Paused;
        assert_eq!(c.state_at(t("2030-01-01T00:00:00Z")), TargetState::Paused);
    }

    /// A step of a generated history: an event, or the timer acting on what has crossed.
    #[derive(Debug, Clone)]
    enum Step {
        Event(SlaEventKind),
        Timer,
    }

    /// Up to 24 steps at non-decreasing minutes (ties included) over four days.
    fn arbitrary_steps() -> impl Strategy<Value = (Priority, Vec<(i64, Step)>)> {
        let step = prop_oneof![
            6 => arbitrary_kind().prop_map(Step::Event),
            1 => Just(Step::Timer),
        ];
        let steps = prop::collection::vec((0i64..4 * 24 * 60, step), 0..24).prop_map(|mut v| {
            v.sort_by_key(|(m, _)| *m);
            v
        });
        (prop::sample::select(Priority::ALL), steps)
    }

    proptest! {
        #[test]
        fn a_state_fed_one_event_at_a_time_answers_exactly_as_a_replay_of_the_history(
            (priority, steps) in arbitrary_steps(), later in 0i64..2 * 24 * 60
        ) {
            let engine = engine();
            let start = t("2024-03-08T19:00:00Z");
            let mut history = vec![SlaEvent::created(
                start,
                SlaFacts { priority, ..SlaFacts::new(SubjectKind::Ticket) },
                "new",
            )];
            let mut state = engine.state(&history).expect("a created event");
            let check = |history: &[SlaEvent], state: &SlaState, at: Instant| -> Result<(), TestCaseError> {
                prop_assert_eq!(engine.evaluate_state(state, at), Ok(engine.evaluate(history, at).expect("evaluates")));
                prop_assert_eq!(engine.next_wakeup_state(state, at), Ok(engine.next_wakeup(history, at).expect("evaluates")));
                let unrecorded = engine.unrecorded_firings(history, at).expect("evaluates");
                prop_assert_eq!(engine.unrecorded_firings_state(state, at), Ok(unrecorded.clone()));
                let assessed = engine.assess_state(state, at).expect("assesses");
                prop_assert_eq!(&assessed.unrecorded, &unrecorded);
                prop_assert_eq!(assessed.report, engine.evaluate(history, at).expect("evaluates"));
                Ok(())
            };
            for (minute, step) in steps {
                let at = start + TimeDelta::minutes(minute);
                let events = match step {
                    Step::Event(kind) => vec![SlaEvent::new(at, kind)],
                    // As the timer does: record every crossing not yet recorded.
                    Step::Timer => engine
                        .unrecorded_firings(&history, at)
                        .expect("evaluates")
                        .into_iter()
                        .map(SlaEvent::fired)
                        .collect(),
                };
                for event in events {
                    // The state is stored between requests: it must survive its JSON form.
                    let text = serde_json::to_string(&state).expect("json");
                    state = serde_json::from_str(&text).expect("parses");
                    let in_order = event.at >= state.cursor();
                    let fired = matches!(event.kind, SlaEventKind::Fired { .. });
                    history.push(event.clone());
                    match engine.apply(&mut state, &event) {
                        Ok(()) => prop_assert!(in_order),
                        // A crossing recorded after later events: as the functions layer does,
                        // rebuild the state from the history, whose replay sorts.
                        Err(StateError::OutOfOrder { .. }) if fired && !in_order => {
                            state = engine.state(&history).expect("replays");
                        }
                        Err(e) => prop_assert!(false, "refused: {e}"),
                    }
                    prop_assert_eq!(&state, &engine.state(&history).expect("replays"));
                }
                check(&history, &state, at)?;
            }
            let last = history.iter().map(|e| e.at).max().expect("created");
            check(&history, &state, last)?;
            check(&history, &state, last + TimeDelta::minutes(later))?;
            check(&history, &state, last + TimeDelta::seconds(later * 61 + 7))?;
        }
    }

    #[test]
    fn a_state_refuses_events_out_of_order_evaluations_before_its_last_event_and_foreign_policies()
    {
        let engine = engine();
        let history = [
            ticket("2024-05-13T13:00:00Z", Priority::Urgent),
            reply("2024-05-13T13:30:00Z"),
        ];
        let mut state = engine.state(&history).expect("replays");
        assert_eq!(state.cursor(), t("2024-05-13T13:30:00Z"));
        let before = state.clone();
        assert_eq!(
            engine.apply(&mut state, &message("2024-05-13T13:10:00Z")),
            Err(StateError::OutOfOrder {
                at: t("2024-05-13T13:10:00Z"),
                cursor: t("2024-05-13T13:30:00Z")
            })
        );
        assert_eq!(
            engine.apply(
                &mut state,
                &ticket("2024-05-13T14:00:00Z", Priority::Urgent)
            ),
            Err(StateError::History(HistoryError::DuplicateCreated {
                at: t("2024-05-13T14:00:00Z")
            }))
        );
        assert_eq!(state, before, "a refused event changes nothing");
        assert!(matches!(
            engine.evaluate_state(&state, t("2024-05-13T13:20:00Z")),
            Err(StateError::Behind { .. })
        ));
        // A configuration without the urgent policy cannot continue this state.
        let mut other = config();
        other.policies.retain(|p| p.id != "urgent");
        let other = SlaEngine::new(other).expect("valid");
        assert_eq!(
            other.evaluate_state(&state, t("2024-05-13T14:00:00Z")),
            Err(StateError::UnknownPolicy("urgent".into()))
        );
    }
}
