//! Automation rules: when an event happens and conditions hold, do something — assign, set
//! priority, status, labels or tags, send a canned reply, add a private note, send a signed
//! webhook, snooze.
//!
//! An [`AutomationEngine`] is built once from a tenant's rules (validating them and compiling
//! regexes and templates). [`AutomationEngine::evaluate`] takes an [`AutomationEvent`] and a
//! [`FactSnapshot`] of the records it concerns and returns the [`PlannedAction`]s to apply, in
//! rule order; [`AutomationEngine::explain`] returns the same decision with every rule's
//! condition trace and skipped actions, for the `POST /v1/rules/test` dry run.
//!
//! Every rule sees the same snapshot: rules do not see each other's changes within one event.
//! Applying an action that changes the subject produces a new event (`ticket_updated`,
//! `status_changed` …), which the caller evaluates in turn.
//!
//! # Loop guard
//!
//! Each event carries its [`Causation`]: how many automation steps led to it and which rules
//! took them. Events caused by people or channels start at depth 0 with no rules. An action's
//! [`PlannedAction::cause`] is the event's causation plus the rule, one step deeper; the caller
//! attaches it to the events the action produces. Then:
//!
//! - a rule never fires on an event its own action caused, directly or through other rules, so
//!   two rules that undo each other stop after one round;
//! - no rule fires at depth [`DEFAULT_MAX_DEPTH`] or deeper, which bounds chains of distinct rules;
//! - actions that would change nothing (set a status the subject already has, add a label it
//!   already carries) are dropped, so they produce no events at all.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::agents::Team;
use super::assign::{RouteTarget, RuleRef};
use super::canned::CannedResponse;
use super::condition::{CompiledCondition, Condition, ConditionError, ConditionTrace, EvalScope};
use super::facts::FactSnapshot;
use super::names::is_slug;
use super::template::{Template, TemplateError};
use crate::api::limits::{MAX_LABELS, MAX_LABEL_CHARS};
use crate::ids::{ConversationId, TicketId};
use crate::model::{ConversationStatus, Priority, TicketStatus};
use crate::sla::SubjectKind;

/// Most automation rules per tenant.
pub const MAX_AUTOMATION_RULES: usize = 200;
/// Most actions in one rule.
pub const MAX_ACTIONS: usize = 20;
/// Automation steps allowed before rules stop firing.
pub const DEFAULT_MAX_DEPTH: u32 = 5;
/// Longest webhook URL.
pub const MAX_WEBHOOK_URL_CHARS: usize = 2048;
/// Longest snooze: a year.
pub const MAX_SNOOZE_MINUTES: u32 = 366 * 24 * 60;
/// Longest rule name.
pub const MAX_AUTOMATION_NAME_CHARS: usize = 200;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ConversationCreated,
    MessageReceived,
    TicketCreated,
    TicketUpdated,
    StatusChanged,
    SlaWarning,
    SlaBreach,
    CsatReceived,
    /// The scheduler's hourly look at every open conversation and ticket: rules on it test
    /// how long something has lasted (`elapsed.hours_since_update`,
    /// `elapsed.hours_since_last_message` …), e.g. "pending for 48 hours".
    TimeElapsed,
}

impl EventKind {
    pub const ALL: [EventKind; 9] = [
        EventKind::ConversationCreated,
        EventKind::MessageReceived,
        EventKind::TicketCreated,
        EventKind::TicketUpdated,
        EventKind::StatusChanged,
        EventKind::SlaWarning,
        EventKind::SlaBreach,
        EventKind::CsatReceived,
        EventKind::TimeElapsed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ConversationCreated => "conversation_created",
            EventKind::MessageReceived => "message_received",
            EventKind::TicketCreated => "ticket_created",
            EventKind::TicketUpdated => "ticket_updated",
            EventKind::StatusChanged => "status_changed",
            EventKind::SlaWarning => "sla_warning",
            EventKind::SlaBreach => "sla_breach",
            EventKind::CsatReceived => "csat_received",
            EventKind::TimeElapsed => "time_elapsed",
        }
    }

    /// The kinds of subject this event can concern.
    pub fn subjects(self) -> &'static [SubjectKind] {
        match self {
            EventKind::ConversationCreated
            | EventKind::MessageReceived
            | EventKind::CsatReceived => &[SubjectKind::Conversation],
            EventKind::TicketCreated | EventKind::TicketUpdated => &[SubjectKind::Ticket],
            EventKind::StatusChanged
            | EventKind::SlaWarning
            | EventKind::SlaBreach
            | EventKind::TimeElapsed => &[SubjectKind::Conversation, SubjectKind::Ticket],
        }
    }
}

/// The record an event concerns: `{"conversation": "cnv_…"}` or `{"ticket": "tkt_…"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Conversation(ConversationId),
    Ticket(TicketId),
}

impl Subject {
    pub fn kind(&self) -> SubjectKind {
        match self {
            Subject::Conversation(_) => SubjectKind::Conversation,
            Subject::Ticket(_) => SubjectKind::Ticket,
        }
    }

    /// The top-level fact holding the subject's record.
    pub fn fact_key(&self) -> &'static str {
        match self {
            Subject::Conversation(_) => "conversation",
            Subject::Ticket(_) => "ticket",
        }
    }

    fn id(&self) -> String {
        match self {
            Subject::Conversation(id) => id.to_string(),
            Subject::Ticket(id) => id.to_string(),
        }
    }
}

/// How an event came about: the automation steps that led to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Causation {
    /// 0 for events caused by people, channels or timers.
    #[serde(default)]
    pub depth: u32,
    /// Ids of the rules whose actions led here, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

impl Causation {
    /// The causation of events produced by `rule_id` acting on an event with this causation.
    pub fn followed_by(&self, rule_id: &str) -> Causation {
        let mut rules = self.rules.clone();
        if !rules.iter().any(|r| r == rule_id) {
            rules.push(rule_id.to_owned());
        }
        Causation {
            depth: self.depth.saturating_add(1),
            rules,
        }
    }

    pub fn involves(&self, rule_id: &str) -> bool {
        self.rules.iter().any(|r| r == rule_id)
    }
}

/// Something that happened, as automation sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationEvent {
    pub kind: EventKind,
    pub subject: Subject,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub cause: Causation,
}

impl AutomationEvent {
    /// An event caused by a person, a channel or a timer.
    pub fn new(kind: EventKind, subject: Subject, at: DateTime<Utc>) -> Self {
        AutomationEvent {
            kind,
            subject,
            at,
            cause: Causation::default(),
        }
    }

    /// An event produced by applying `action`.
    pub fn caused_by(
        kind: EventKind,
        subject: Subject,
        at: DateTime<Utc>,
        action: &PlannedAction,
    ) -> Self {
        AutomationEvent {
            kind,
            subject,
            at,
            cause: action.cause.clone(),
        }
    }

    /// The facts rules read under `event.`: `kind`, `subject_kind`, `subject_id`, `depth`.
    fn facts(&self) -> FactSnapshot {
        FactSnapshot::from_value(json!({
            "kind": self.kind.as_str(),
            "subject_kind": self.subject.fact_key(),
            "subject_id": self.subject.id(),
            "depth": self.cause.depth,
            "at": self.at,
        }))
    }
}

/// A configured action: `{"type": "set_priority", "priority": "high"}`. Decoded by hand (see
/// the `Deserialize` impl below); the attributes here shape its encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AutomationAction {
    /// Assign to an agent, or to a team (whose strategy picks the member).
    Assign {
        target: RouteTarget,
    },
    SetPriority {
        priority: Priority,
    },
    /// A conversation status (`open`, `pending`, `snoozed`, `resolved`) or a ticket status
    /// (`new`, `open`, `pending`, `on_hold`, `solved`, `closed`), for the subject's kind.
    SetStatus {
        status: String,
    },
    /// Conversation labels.
    AddLabels {
        labels: Vec<String>,
    },
    RemoveLabels {
        labels: Vec<String>,
    },
    /// Ticket tags.
    AddTags {
        tags: Vec<String>,
    },
    RemoveTags {
        tags: Vec<String>,
    },
    /// Reply to the contact with a canned response.
    SendCannedReply {
        canned_response_id: String,
    },
    /// A note only agents see; the body is a template.
    AddPrivateNote {
        body: String,
    },
    /// POST the event and facts to a URL, signed with the tenant's webhook secret.
    SendWebhook {
        url: String,
    },
    Snooze {
        minutes: u32,
    },
}

crate::tag_set! {
    /// The action types, as `type` names them.
    enum ActionType {
        Assign = "assign",
        SetPriority = "set_priority",
        SetStatus = "set_status",
        AddLabels = "add_labels",
        RemoveLabels = "remove_labels",
        AddTags = "add_tags",
        RemoveTags = "remove_tags",
        SendCannedReply = "send_canned_reply",
        AddPrivateNote = "add_private_note",
        SendWebhook = "send_webhook",
        Snooze = "snooze",
    }
}

/// The tag and every field any action type has, as `{"type": …, <fields>}` spells them.
const ACTION_FIELDS: &[&str] = &[
    "type",
    "target",
    "priority",
    "status",
    "labels",
    "tags",
    "canned_response_id",
    "body",
    "url",
    "minutes",
];

/// An action object's fields before its `type` picks which of them it may have.
#[derive(Default)]
struct ActionFields {
    kind: Option<ActionType>,
    target: Option<RouteTarget>,
    priority: Option<Priority>,
    texts: Vec<(&'static str, String)>,
    lists: Vec<(&'static str, Vec<String>)>,
    minutes: Option<u32>,
}

/// serde's derive for an internally tagged enum buffers the whole object and then runs one
/// decoder per variant over the buffer, about 20 KB of WebAssembly for this enum; one pass over
/// the fields into [`ActionFields`] accepts and refuses the same objects with the same messages.
impl<'de> Deserialize<'de> for AutomationAction {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ActionVisitor)
    }
}

struct ActionVisitor;

impl<'de> serde::de::Visitor<'de> for ActionVisitor {
    type Value = AutomationAction;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        // As the derived decoder said it.
        f.write_str("internally tagged enum AutomationAction")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut f = ActionFields::default();
        let mut fields = crate::tagged::Strict::new("type");
        while let Some(name) = fields.next(&mut map, ACTION_FIELDS)? {
            let again = match name {
                "type" => f.kind.replace(map.next_value()?).is_some(),
                "target" => f.target.replace(map.next_value()?).is_some(),
                "priority" => f.priority.replace(map.next_value()?).is_some(),
                "minutes" => f.minutes.replace(map.next_value()?).is_some(),
                "labels" | "tags" => {
                    f.lists.push((name, map.next_value()?));
                    f.lists.iter().filter(|(m, _)| *m == name).count() > 1
                }
                _ => {
                    f.texts.push((name, map.next_value()?));
                    f.texts.iter().filter(|(m, _)| *m == name).count() > 1
                }
            };
            fields.saw(name, again);
        }
        fields.no_duplicate()?;
        let kind = f
            .kind
            .take()
            .ok_or_else(|| A::Error::missing_field("type"))?;
        let wants: &'static [&'static str] = match kind {
            ActionType::Assign => &["target"],
            ActionType::SetPriority => &["priority"],
            ActionType::SetStatus => &["status"],
            ActionType::AddLabels | ActionType::RemoveLabels => &["labels"],
            ActionType::AddTags | ActionType::RemoveTags => &["tags"],
            ActionType::SendCannedReply => &["canned_response_id"],
            ActionType::AddPrivateNote => &["body"],
            ActionType::SendWebhook => &["url"],
            ActionType::Snooze => &["minutes"],
        };
        fields.only(wants)?;
        let text = f.texts.pop().map(|(_, t)| t);
        let list = f.lists.pop().map(|(_, l)| l);
        let missing = || A::Error::missing_field(wants[0]);
        Ok(match kind {
            ActionType::Assign => AutomationAction::Assign {
                target: f.target.ok_or_else(missing)?,
            },
            ActionType::SetPriority => AutomationAction::SetPriority {
                priority: f.priority.ok_or_else(missing)?,
            },
            ActionType::SetStatus => AutomationAction::SetStatus {
                status: text.ok_or_else(missing)?,
            },
            ActionType::AddLabels => AutomationAction::AddLabels {
                labels: list.ok_or_else(missing)?,
            },
            ActionType::RemoveLabels => AutomationAction::RemoveLabels {
                labels: list.ok_or_else(missing)?,
            },
            ActionType::AddTags => AutomationAction::AddTags {
                tags: list.ok_or_else(missing)?,
            },
            ActionType::RemoveTags => AutomationAction::RemoveTags {
                tags: list.ok_or_else(missing)?,
            },
            ActionType::SendCannedReply => AutomationAction::SendCannedReply {
                canned_response_id: text.ok_or_else(missing)?,
            },
            ActionType::AddPrivateNote => AutomationAction::AddPrivateNote {
                body: text.ok_or_else(missing)?,
            },
            ActionType::SendWebhook => AutomationAction::SendWebhook {
                url: text.ok_or_else(missing)?,
            },
            ActionType::Snooze => AutomationAction::Snooze {
                minutes: f.minutes.ok_or_else(missing)?,
            },
        })
    }
}

impl AutomationAction {
    pub fn type_name(&self) -> &'static str {
        match self {
            AutomationAction::Assign { .. } => "assign",
            AutomationAction::SetPriority { .. } => "set_priority",
            AutomationAction::SetStatus { .. } => "set_status",
            AutomationAction::AddLabels { .. } => "add_labels",
            AutomationAction::RemoveLabels { .. } => "remove_labels",
            AutomationAction::AddTags { .. } => "add_tags",
            AutomationAction::RemoveTags { .. } => "remove_tags",
            AutomationAction::SendCannedReply { .. } => "send_canned_reply",
            AutomationAction::AddPrivateNote { .. } => "add_private_note",
            AutomationAction::SendWebhook { .. } => "send_webhook",
            AutomationAction::Snooze { .. } => "snooze",
        }
    }

    /// Whether the action makes sense for a subject of `kind`.
    pub fn applies_to(&self, kind: SubjectKind) -> bool {
        match self {
            AutomationAction::Assign { .. }
            | AutomationAction::SetPriority { .. }
            | AutomationAction::SendWebhook { .. } => true,
            AutomationAction::SetStatus { status } => match kind {
                SubjectKind::Conversation => ConversationStatus::parse(status).is_some(),
                SubjectKind::Ticket => TicketStatus::parse(status).is_some(),
            },
            AutomationAction::AddTags { .. } | AutomationAction::RemoveTags { .. } => {
                kind == SubjectKind::Ticket
            }
            AutomationAction::AddLabels { .. }
            | AutomationAction::RemoveLabels { .. }
            | AutomationAction::SendCannedReply { .. }
            | AutomationAction::AddPrivateNote { .. }
            | AutomationAction::Snooze { .. } => kind == SubjectKind::Conversation,
        }
    }
}

/// A webhook to deliver: the URL and the JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub url: String,
    pub body: Value,
}

impl WebhookDelivery {
    /// The body bytes and the signature header value (`t=…,v1=…`, see
    /// [`crate::signature::sign_webhook`]) for sending at `timestamp` (Unix seconds).
    pub fn signed(&self, secret: &[u8], timestamp: i64) -> (Vec<u8>, String) {
        let bytes = self.body.to_string().into_bytes();
        let header = crate::signature::sign_webhook(secret, timestamp, &bytes);
        (bytes, header)
    }
}

/// A concrete change to make, resolved against the facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    /// Hand the subject to the target: for a conversation, through
    /// [`super::assign::Placement::for_target`] and [`super::assign::assign`] with this rule, so
    /// capacity and presence still apply, recorded as [`super::assign::AssignmentSource::Automation`].
    Assign {
        target: RouteTarget,
    },
    SetPriority {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Priority>,
        to: Priority,
    },
    SetConversationStatus {
        to: ConversationStatus,
    },
    SetTicketStatus {
        to: TicketStatus,
    },
    /// Only the labels not already present.
    AddLabels {
        labels: Vec<String>,
    },
    /// Only the labels present (as spelt on the subject).
    RemoveLabels {
        labels: Vec<String>,
    },
    AddTags {
        tags: Vec<String>,
    },
    RemoveTags {
        tags: Vec<String>,
    },
    SendCannedReply {
        canned_response_id: String,
    },
    AddPrivateNote {
        body: String,
    },
    SendWebhook(WebhookDelivery),
    Snooze {
        until: DateTime<Utc>,
    },
}

/// An action to apply, with the rule that chose it and the causation for the events it makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    pub rule: RuleRef,
    pub effect: Effect,
    pub cause: Causation,
}

/// Why a configured action was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The subject already is as the action would make it.
    NoChange,
    /// The action does not apply to this kind of subject (labels on a ticket, a ticket status
    /// on a conversation).
    NotApplicable,
}

/// A configured action that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedAction {
    pub action: AutomationAction,
    pub reason: SkipReason,
}

/// How one rule fared against an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    /// Conditions held and at least one action is planned.
    Fired,
    /// Conditions held but every action would have changed nothing or did not apply.
    NothingToDo,
    ConditionsFailed,
    Disabled,
    /// The rule does not listen to this kind of event.
    OtherEvent,
    /// The event was caused by this rule's own action (directly or through other rules).
    LoopGuard,
    /// The event is too many automation steps deep.
    DepthLimit,
}

/// The dry-run report for one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleExplanation {
    pub rule: RuleRef,
    pub outcome: RuleOutcome,
    /// The condition trace; absent when the rule has no conditions or was not evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<ConditionTrace>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<PlannedAction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedAction>,
}

/// The dry-run report for an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub event: EventKind,
    pub depth: u32,
    pub rules: Vec<RuleExplanation>,
}

impl Explanation {
    /// The actions that would be applied, in order.
    pub fn actions(&self) -> Vec<&PlannedAction> {
        self.rules.iter().flat_map(|r| r.actions.iter()).collect()
    }
}

fn yes() -> bool {
    true
}

/// One automation rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationRule {
    /// A slug, unique per tenant.
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The events the rule listens to.
    pub on: Vec<EventKind>,
    /// Absent: the rule fires on every event it listens to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Condition>,
    pub actions: Vec<AutomationAction>,
}

impl AutomationRule {
    pub fn reference(&self) -> RuleRef {
        RuleRef {
            id: self.id.clone(),
            name: self.name.clone(),
        }
    }
}

/// Why an automation rule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutomationError {
    #[error("rule id `{0}` must be 1-64 characters of a-z, 0-9, `-` and `_`")]
    InvalidId(String),
    #[error("rule `{0}`: the name is longer than {MAX_AUTOMATION_NAME_CHARS} characters")]
    NameTooLong(String),
    #[error("rule `{0}` listens to no events")]
    NoEvents(String),
    #[error("rule `{0}` needs 1-{MAX_ACTIONS} actions")]
    BadActionCount(String),
    #[error("rule `{rule}`: {source}")]
    Condition {
        rule: String,
        source: ConditionError,
    },
    #[error("rule `{rule}`: {action} needs 1-{MAX_LABELS} non-blank names of at most {MAX_LABEL_CHARS} characters")]
    BadLabels { rule: String, action: &'static str },
    #[error("rule `{rule}`: `{status}` is not a conversation or ticket status")]
    InvalidStatus { rule: String, status: String },
    #[error("rule `{rule}`: note: {source}")]
    Note { rule: String, source: TemplateError },
    #[error("rule `{0}`: the note is blank")]
    BlankNote(String),
    #[error("rule `{0}`: the canned response id is blank")]
    BlankCannedId(String),
    #[error("rule `{0}`: webhook URLs must be https:// URLs of at most {MAX_WEBHOOK_URL_CHARS} characters")]
    InvalidWebhookUrl(String),
    #[error("rule `{0}`: snooze for 1 to {MAX_SNOOZE_MINUTES} minutes")]
    SnoozeOutOfRange(String),
    #[error("rule `{rule}`: team id `{team}` must be 1-64 characters of a-z, 0-9, `-` and `_`")]
    InvalidTeam { rule: String, team: String },
    #[error("rule `{rule}`: {action} never applies to the events the rule listens to")]
    ActionNeverApplies { rule: String, action: &'static str },
    #[error("two automation rules have the id `{0}`")]
    DuplicateRule(String),
    #[error("a tenant may have at most {MAX_AUTOMATION_RULES} automation rules")]
    TooManyRules,
    #[error("rule `{rule}` assigns to the unknown team `{team}`")]
    UnknownTeam { rule: String, team: String },
    #[error("rule `{rule}` sends the unknown canned response `{canned_response_id}`")]
    UnknownCannedResponse {
        rule: String,
        canned_response_id: String,
    },
}

fn labels_ok(labels: &[String]) -> bool {
    !labels.is_empty()
        && labels.len() <= MAX_LABELS
        && labels.iter().all(|l| {
            let l = l.trim();
            !l.is_empty()
                && l.chars().count() <= MAX_LABEL_CHARS
                && !l.chars().any(char::is_control)
        })
}

fn webhook_url_ok(url: &str) -> bool {
    url.len() <= MAX_WEBHOOK_URL_CHARS
        && url
            .strip_prefix("https://")
            .and_then(|rest| rest.split(['/', '?', '#']).next())
            .is_some_and(|host| !host.is_empty())
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
struct CompiledRule {
    rule: AutomationRule,
    condition: Option<CompiledCondition>,
    /// Parsed note templates, by action index.
    notes: Vec<Option<Template>>,
}

fn compile_rule(rule: &AutomationRule) -> Result<CompiledRule, AutomationError> {
    let id = || rule.id.clone();
    if !is_slug(&rule.id) {
        return Err(AutomationError::InvalidId(id()));
    }
    if rule.name.chars().count() > MAX_AUTOMATION_NAME_CHARS {
        return Err(AutomationError::NameTooLong(id()));
    }
    if rule.on.is_empty() {
        return Err(AutomationError::NoEvents(id()));
    }
    if rule.actions.is_empty() || rule.actions.len() > MAX_ACTIONS {
        return Err(AutomationError::BadActionCount(id()));
    }
    let condition = rule
        .conditions
        .as_ref()
        .map(Condition::compile)
        .transpose()
        .map_err(|source| AutomationError::Condition { rule: id(), source })?;
    let subjects: BTreeSet<SubjectKind> = rule
        .on
        .iter()
        .flat_map(|e| e.subjects().iter().copied())
        .collect();
    let mut notes = Vec::with_capacity(rule.actions.len());
    for action in &rule.actions {
        let mut note = None;
        match action {
            AutomationAction::Assign {
                target: RouteTarget::Team(team),
            } if !is_slug(team) => {
                return Err(AutomationError::InvalidTeam {
                    rule: id(),
                    team: team.clone(),
                })
            }
            AutomationAction::SetStatus { status }
                if ConversationStatus::parse(status).is_none()
                    && TicketStatus::parse(status).is_none() =>
            {
                return Err(AutomationError::InvalidStatus {
                    rule: id(),
                    status: status.clone(),
                })
            }
            AutomationAction::AddLabels { labels }
            | AutomationAction::RemoveLabels { labels }
            | AutomationAction::AddTags { tags: labels }
            | AutomationAction::RemoveTags { tags: labels }
                if !labels_ok(labels) =>
            {
                return Err(AutomationError::BadLabels {
                    rule: id(),
                    action: action.type_name(),
                })
            }
            AutomationAction::SendCannedReply { canned_response_id }
                if canned_response_id.trim().is_empty() =>
            {
                return Err(AutomationError::BlankCannedId(id()))
            }
            AutomationAction::AddPrivateNote { body } => {
                if body.trim().is_empty() {
                    return Err(AutomationError::BlankNote(id()));
                }
                note = Some(
                    Template::parse(body)
                        .map_err(|source| AutomationError::Note { rule: id(), source })?,
                );
            }
            AutomationAction::SendWebhook { url } if !webhook_url_ok(url) => {
                return Err(AutomationError::InvalidWebhookUrl(id()))
            }
            AutomationAction::Snooze { minutes } if !(1..=MAX_SNOOZE_MINUTES).contains(minutes) => {
                return Err(AutomationError::SnoozeOutOfRange(id()))
            }
            _ => {}
        }
        if !subjects.iter().any(|&s| action.applies_to(s)) {
            return Err(AutomationError::ActionNeverApplies {
                rule: id(),
                action: action.type_name(),
            });
        }
        notes.push(note);
    }
    Ok(CompiledRule {
        rule: rule.clone(),
        condition,
        notes,
    })
}

/// Case-insensitive label comparison: agents type labels by hand.
fn same_label(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Resolves one action against the facts, or says why it is left out.
fn resolve(
    action: &AutomationAction,
    note: Option<&Template>,
    rule: &RuleRef,
    event: &AutomationEvent,
    facts: &FactSnapshot,
) -> Result<Effect, SkipReason> {
    let kind = event.subject.kind();
    if !action.applies_to(kind) {
        return Err(SkipReason::NotApplicable);
    }
    let key = event.subject.fact_key();
    let current = |field: &str| facts.text(&format!("{key}.{field}"));
    let changed = |effect: Effect, unchanged: bool| {
        if unchanged {
            Err(SkipReason::NoChange)
        } else {
            Ok(effect)
        }
    };
    match action {
        AutomationAction::Assign { target } => {
            let unchanged = match target {
                RouteTarget::Agent(agent) => current("assignee_id") == Some(agent.to_string()),
                // Re-assigning within the team the subject already has only makes sense while
                // nobody holds it.
                RouteTarget::Team(team) => {
                    current("team").as_deref() == Some(team.as_str())
                        && current("assignee_id").is_some()
                }
            };
            changed(
                Effect::Assign {
                    target: target.clone(),
                },
                unchanged,
            )
        }
        AutomationAction::SetPriority { priority } => {
            let from = current("priority").as_deref().and_then(Priority::parse);
            changed(
                Effect::SetPriority {
                    from,
                    to: *priority,
                },
                from == Some(*priority),
            )
        }
        AutomationAction::SetStatus { status } => {
            let now = current("status");
            let unchanged = now.as_deref() == Some(status.as_str());
            let effect = match kind {
                SubjectKind::Conversation => Effect::SetConversationStatus {
                    to: ConversationStatus::parse(status).ok_or(SkipReason::NotApplicable)?,
                },
                SubjectKind::Ticket => Effect::SetTicketStatus {
                    to: TicketStatus::parse(status).ok_or(SkipReason::NotApplicable)?,
                },
            };
            changed(effect, unchanged)
        }
        AutomationAction::AddLabels { labels } | AutomationAction::AddTags { tags: labels } => {
            let field = if kind == SubjectKind::Ticket {
                "tags"
            } else {
                "labels"
            };
            let have = string_list(facts.get(&format!("{key}.{field}")));
            let mut add: Vec<String> = Vec::new();
            for label in labels {
                let label = label.trim();
                if !have.iter().chain(add.iter()).any(|h| same_label(h, label)) {
                    add.push(label.to_owned());
                }
            }
            let unchanged = add.is_empty();
            let effect = match action {
                AutomationAction::AddTags { .. } => Effect::AddTags { tags: add },
                _ => Effect::AddLabels { labels: add },
            };
            changed(effect, unchanged)
        }
        AutomationAction::RemoveLabels { labels }
        | AutomationAction::RemoveTags { tags: labels } => {
            let field = if kind == SubjectKind::Ticket {
                "tags"
            } else {
                "labels"
            };
            let have = string_list(facts.get(&format!("{key}.{field}")));
            let remove: Vec<String> = have
                .into_iter()
                .filter(|h| labels.iter().any(|l| same_label(h, l)))
                .collect();
            let unchanged = remove.is_empty();
            let effect = match action {
                AutomationAction::RemoveTags { .. } => Effect::RemoveTags { tags: remove },
                _ => Effect::RemoveLabels { labels: remove },
            };
            changed(effect, unchanged)
        }
        AutomationAction::SendCannedReply { canned_response_id } => Ok(Effect::SendCannedReply {
            canned_response_id: canned_response_id.clone(),
        }),
        AutomationAction::AddPrivateNote { body } => Ok(Effect::AddPrivateNote {
            body: match note {
                Some(template) => template.render(facts).text,
                None => body.clone(),
            },
        }),
        AutomationAction::SendWebhook { url } => Ok(Effect::SendWebhook(WebhookDelivery {
            url: url.clone(),
            body: json!({
                "type": format!("automation.{}", event.kind.as_str()),
                "rule": rule,
                "event": event,
                "facts": facts.as_value(),
            }),
        })),
        AutomationAction::Snooze { minutes } => Ok(Effect::Snooze {
            until: event.at + TimeDelta::minutes(i64::from(*minutes)),
        }),
    }
}

/// A tenant's automation rules, validated and ready to evaluate.
#[derive(Debug, Clone)]
pub struct AutomationEngine {
    rules: Vec<CompiledRule>,
    max_depth: u32,
}

impl AutomationEngine {
    /// Validates and compiles the rules (regexes, time windows, note templates).
    pub fn new(rules: &[AutomationRule]) -> Result<Self, AutomationError> {
        if rules.len() > MAX_AUTOMATION_RULES {
            return Err(AutomationError::TooManyRules);
        }
        let mut ids = BTreeSet::new();
        let mut compiled = Vec::with_capacity(rules.len());
        for rule in rules {
            if !ids.insert(rule.id.as_str()) {
                return Err(AutomationError::DuplicateRule(rule.id.clone()));
            }
            compiled.push(compile_rule(rule)?);
        }
        Ok(AutomationEngine {
            rules: compiled,
            max_depth: DEFAULT_MAX_DEPTH,
        })
    }

    /// Changes the depth limit (at least 1, so events caused by people are always handled).
    pub fn with_max_depth(mut self, max_depth: u32) -> Self {
        self.max_depth = max_depth.max(1);
        self
    }

    pub fn max_depth(&self) -> u32 {
        self.max_depth
    }

    /// Checks that the rules name existing teams and canned responses.
    pub fn check_references(
        &self,
        teams: &[Team],
        canned: &[CannedResponse],
    ) -> Result<(), AutomationError> {
        for compiled in &self.rules {
            let rule = &compiled.rule;
            for action in &rule.actions {
                match action {
                    AutomationAction::Assign {
                        target: RouteTarget::Team(team),
                    } if !teams.iter().any(|t| &t.id == team) => {
                        return Err(AutomationError::UnknownTeam {
                            rule: rule.id.clone(),
                            team: team.clone(),
                        })
                    }
                    AutomationAction::SendCannedReply { canned_response_id }
                        if !canned.iter().any(|c| &c.id == canned_response_id) =>
                    {
                        return Err(AutomationError::UnknownCannedResponse {
                            rule: rule.id.clone(),
                            canned_response_id: canned_response_id.clone(),
                        })
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Why a rule would not even be considered for `event`, if so.
    fn gate(&self, rule: &AutomationRule, event: &AutomationEvent) -> Option<RuleOutcome> {
        if event.cause.depth >= self.max_depth {
            Some(RuleOutcome::DepthLimit)
        } else if !rule.enabled {
            Some(RuleOutcome::Disabled)
        } else if !rule.on.contains(&event.kind) {
            Some(RuleOutcome::OtherEvent)
        } else if event.cause.involves(&rule.id) {
            Some(RuleOutcome::LoopGuard)
        } else {
            None
        }
    }

    fn plan(
        compiled: &CompiledRule,
        event: &AutomationEvent,
        facts: &FactSnapshot,
    ) -> (Vec<PlannedAction>, Vec<SkippedAction>) {
        let rule = compiled.rule.reference();
        let cause = event.cause.followed_by(&compiled.rule.id);
        let mut planned = Vec::new();
        let mut skipped = Vec::new();
        for (action, note) in compiled.rule.actions.iter().zip(&compiled.notes) {
            match resolve(action, note.as_ref(), &rule, event, facts) {
                Ok(effect) => planned.push(PlannedAction {
                    rule: rule.clone(),
                    effect,
                    cause: cause.clone(),
                }),
                Err(reason) => skipped.push(SkippedAction {
                    action: action.clone(),
                    reason,
                }),
            }
        }
        (planned, skipped)
    }

    /// The actions to apply for `event`, in rule order.
    pub fn evaluate(&self, event: &AutomationEvent, facts: &FactSnapshot) -> Vec<PlannedAction> {
        let event_facts = event.facts();
        let scope = EvalScope {
            facts,
            event: Some(&event_facts),
            at: event.at,
        };
        self.rules
            .iter()
            .filter(|c| self.gate(&c.rule, event).is_none())
            .filter(|c| c.condition.as_ref().is_none_or(|cond| cond.matches(&scope)))
            .flat_map(|c| Self::plan(c, event, facts).0)
            .collect()
    }

    /// The dry run: every rule's outcome, condition trace, planned and skipped actions.
    pub fn explain(&self, event: &AutomationEvent, facts: &FactSnapshot) -> Explanation {
        let event_facts = event.facts();
        let scope = EvalScope {
            facts,
            event: Some(&event_facts),
            at: event.at,
        };
        let rules = self
            .rules
            .iter()
            .map(|compiled| {
                let rule = compiled.rule.reference();
                if let Some(outcome) = self.gate(&compiled.rule, event) {
                    return RuleExplanation {
                        rule,
                        outcome,
                        conditions: None,
                        actions: Vec::new(),
                        skipped: Vec::new(),
                    };
                }
                let trace = compiled.condition.as_ref().map(|c| c.explain(&scope));
                if trace.as_ref().is_some_and(|t| !t.matched) {
                    return RuleExplanation {
                        rule,
                        outcome: RuleOutcome::ConditionsFailed,
                        conditions: trace,
                        actions: Vec::new(),
                        skipped: Vec::new(),
                    };
                }
                let (actions, skipped) = Self::plan(compiled, event, facts);
                RuleExplanation {
                    rule,
                    outcome: if actions.is_empty() {
                        RuleOutcome::NothingToDo
                    } else {
                        RuleOutcome::Fired
                    },
                    conditions: trace,
                    actions,
                    skipped,
                }
            })
            .collect();
        Explanation {
            event: event.kind,
            depth: event.cause.depth,
            rules,
        }
    }
}

/// Body of `POST /v1/rules/test`: a rule (saved or not) and a sample event with its facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTestRequest {
    pub rule: AutomationRule,
    pub event: AutomationEvent,
    #[serde(default)]
    pub facts: FactSnapshot,
}

/// Dry-runs one rule on a sample event: validates it, then explains what it would do.
pub fn test_rule(request: &RuleTestRequest) -> Result<RuleExplanation, AutomationError> {
    let engine = AutomationEngine::new(std::slice::from_ref(&request.rule))?;
    let mut explanation = engine.explain(&request.event, &request.facts);
    // One rule in, one report out.
    Ok(explanation.rules.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AgentId;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("test timestamp")
    }

    fn a_ticket() -> Subject {
        Subject::Ticket(TicketId::from_parts(1_700_000_000_000, 7))
    }

    fn a_conversation() -> Subject {
        Subject::Conversation(ConversationId::from_parts(1_700_000_000_000, 9))
    }

    fn rules(v: Value) -> Vec<AutomationRule> {
        serde_json::from_value(v).expect("rules json")
    }

    fn engine(v: Value) -> AutomationEngine {
        AutomationEngine::new(&rules(v)).expect("valid rules")
    }

    fn conversation_facts() -> FactSnapshot {
        FactSnapshot::from_value(json!({
            "conversation": {"status": "open", "priority": "normal", "labels": ["VIP"],
                             "team": null, "assignee_id": null, "channel": "web"},
            "contact": {"name": "Ada Lovelace", "attributes": {"plan": "enterprise"}},
            "message": {"body": "Where is my refund? Order #123456"}
        }))
    }

    #[test]
    fn rule_evaluation_table() {
        let engine = engine(json!([
            {"id": "refund-label", "name": "Label refunds", "on": ["message_received"],
             "conditions": {"text": {"path": "message.body", "contains": ["refund"]}},
             "actions": [{"type": "add_labels", "labels": ["refund", "vip"]}]},
            {"id": "enterprise-high", "name": "Enterprise is high priority",
             "on": ["conversation_created", "message_received"],
             "conditions": {"field": {"path": "contact.attributes.plan", "op": "equals", "value": "enterprise"}},
             "actions": [{"type": "set_priority", "priority": "high"}]},
            {"id": "order-note", "name": "Note order numbers", "on": ["message_received"],
             "conditions": {"regex": {"path": "message.body", "pattern": "#\\d{6}"}},
             "actions": [{"type": "add_private_note", "body": "{{contact.first_name}} quoted an order number"}]},
            {"id": "breach-hook", "name": "Breach webhook", "on": ["sla_breach"],
             "actions": [{"type": "send_webhook", "url": "https://hooks.example.com/sla"},
                         {"type": "set_priority", "priority": "urgent"}]},
            {"id": "low-csat", "name": "Low CSAT follow-up", "on": ["csat_received"],
             "conditions": {"field": {"path": "csat.rating", "op": "less_or_equal", "value": 2}},
             "actions": [{"type": "set_status", "status": "open"},
                         {"type": "assign", "target": {"team": "retention"}}]},
            {"id": "off", "name": "Disabled", "enabled": false, "on": ["message_received"],
             "actions": [{"type": "snooze", "minutes": 60}]}
        ]));
        let now = at("2024-05-13T10:00:00Z");
        let names = |actions: &[PlannedAction]| -> Vec<String> {
            actions
                .iter()
                .map(|a| {
                    format!(
                        "{}:{}",
                        a.rule.id,
                        serde_json::to_value(&a.effect).expect("json")["type"]
                            .as_str()
                            .unwrap_or("?")
                    )
                })
                .collect()
        };
        let mut csat_low = conversation_facts();
        csat_low.insert("csat", json!({"rating": 1}));
        csat_low.insert(
            "conversation",
            json!({"status": "resolved", "priority": "normal"}),
        );
        let mut csat_high = csat_low.clone();
        csat_high.insert("csat", json!({"rating": 5}));
        let cases: Vec<(&str, EventKind, Subject, FactSnapshot, Vec<&str>)> = vec![
            (
                "a refund message",
                EventKind::MessageReceived,
                a_conversation(),
                conversation_facts(),
                vec![
                    "refund-label:add_labels",
                    "enterprise-high:set_priority",
                    "order-note:add_private_note",
                ],
            ),
            (
                "a new conversation",
                EventKind::ConversationCreated,
                a_conversation(),
                conversation_facts(),
                vec!["enterprise-high:set_priority"],
            ),
            (
                "a ticket breach",
                EventKind::SlaBreach,
                a_ticket(),
                FactSnapshot::from_value(json!({"ticket": {"priority": "high", "tags": []}})),
                vec!["breach-hook:send_webhook", "breach-hook:set_priority"],
            ),
            (
                "a bad rating",
                EventKind::CsatReceived,
                a_conversation(),
                csat_low,
                vec!["low-csat:set_conversation_status", "low-csat:assign"],
            ),
            (
                "a good rating",
                EventKind::CsatReceived,
                a_conversation(),
                csat_high,
                vec![],
            ),
            (
                "an event nobody listens to",
                EventKind::TicketCreated,
                a_ticket(),
                FactSnapshot::new(),
                vec![],
            ),
        ];
        for (name, kind, subject, facts, expected) in cases {
            let event = AutomationEvent::new(kind, subject, now);
            let actions = engine.evaluate(&event, &facts);
            assert_eq!(names(&actions), expected, "{name}");
            let explained = engine.explain(&event, &facts);
            assert_eq!(
                names(&explained.actions().into_iter().cloned().collect::<Vec<_>>()),
                expected,
                "{name} (explained)"
            );
        }
    }

    #[test]
    fn resolved_actions_carry_only_real_changes() {
        let engine = engine(json!([
            {"id": "r", "name": "R", "on": ["message_received"],
             "actions": [{"type": "add_labels", "labels": ["vip", "refund", "Refund"]},
                         {"type": "remove_labels", "labels": ["vip", "spam"]},
                         {"type": "add_private_note", "body": "Hi {{contact.first_name}}"},
                         {"type": "snooze", "minutes": 90}]}
        ]));
        let now = at("2024-05-13T10:00:00Z");
        let actions = engine.evaluate(
            &AutomationEvent::new(EventKind::MessageReceived, a_conversation(), now),
            &conversation_facts(),
        );
        let effects: Vec<Effect> = actions.into_iter().map(|a| a.effect).collect();
        assert_eq!(
            effects,
            [
                Effect::AddLabels {
                    labels: vec!["refund".into()]
                },
                Effect::RemoveLabels {
                    labels: vec!["VIP".into()]
                },
                Effect::AddPrivateNote {
                    body: "Hi Ada".into()
                },
                Effect::Snooze {
                    until: at("2024-05-13T11:30:00Z")
                },
            ]
        );
    }

    #[test]
    fn no_op_and_inapplicable_actions_are_skipped_with_a_reason() {
        let rule = rules(json!([
            {"id": "r", "name": "R", "on": ["status_changed"],
             "actions": [{"type": "set_status", "status": "open"},
                         {"type": "set_status", "status": "solved"},
                         {"type": "add_labels", "labels": ["vip"]},
                         {"type": "set_priority", "priority": "normal"}]}
        ]))
        .remove(0);
        let request = RuleTestRequest {
            rule,
            event: AutomationEvent::new(
                EventKind::StatusChanged,
                a_conversation(),
                at("2024-05-13T10:00:00Z"),
            ),
            facts: conversation_facts(),
        };
        let report = test_rule(&request).expect("valid rule");
        assert_eq!(report.outcome, RuleOutcome::NothingToDo);
        let reasons: Vec<SkipReason> = report.skipped.iter().map(|s| s.reason).collect();
        assert_eq!(
            reasons,
            [
                SkipReason::NoChange,
                SkipReason::NotApplicable,
                SkipReason::NoChange,
                SkipReason::NoChange
            ]
        );
    }

    /// Applies planned actions to an in-memory ticket and returns the events they cause, the
    /// way the functions layer does.
    fn apply(
        ticket: &mut Value,
        actions: &[PlannedAction],
        subject: Subject,
        now: DateTime<Utc>,
    ) -> Vec<AutomationEvent> {
        let mut events = Vec::new();
        for action in actions {
            match &action.effect {
                Effect::SetTicketStatus { to } => {
                    ticket["status"] = json!(to.as_str());
                    events.push(AutomationEvent::caused_by(
                        EventKind::StatusChanged,
                        subject,
                        now,
                        action,
                    ));
                }
                Effect::AddTags { tags } => {
                    if let Some(list) = ticket["tags"].as_array_mut() {
                        list.extend(tags.iter().map(|t| json!(t)));
                    }
                    events.push(AutomationEvent::caused_by(
                        EventKind::TicketUpdated,
                        subject,
                        now,
                        action,
                    ));
                }
                Effect::SetPriority { to, .. } => {
                    ticket["priority"] = json!(to.as_str());
                    events.push(AutomationEvent::caused_by(
                        EventKind::TicketUpdated,
                        subject,
                        now,
                        action,
                    ));
                }
                other => panic!("unexpected effect {other:?}"),
            }
        }
        events
    }

    /// Runs events to quiescence (or a safety cap) and returns how many actions were applied.
    fn run_to_quiescence(
        engine: &AutomationEngine,
        ticket: &mut Value,
        first: AutomationEvent,
    ) -> usize {
        let mut pending = vec![first];
        let mut applied = 0;
        while let Some(event) = pending.pop() {
            assert!(applied < 1000, "automation did not terminate");
            let facts = FactSnapshot::from_value(json!({"ticket": ticket.clone()}));
            let actions = engine.evaluate(&event, &facts);
            applied += actions.len();
            pending.extend(apply(ticket, &actions, event.subject, event.at));
        }
        applied
    }

    #[test]
    fn two_rules_that_undo_each_other_stop_after_one_round() {
        let engine = engine(json!([
            {"id": "reopen", "name": "Reopen pending tickets", "on": ["status_changed"],
             "conditions": {"field": {"path": "ticket.status", "op": "equals", "value": "pending"}},
             "actions": [{"type": "set_status", "status": "open"}]},
            {"id": "park", "name": "Park open tickets", "on": ["status_changed"],
             "conditions": {"field": {"path": "ticket.status", "op": "equals", "value": "open"}},
             "actions": [{"type": "set_status", "status": "pending"}]}
        ]));
        let mut ticket = json!({"status": "open", "priority": "normal", "tags": []});
        let start = AutomationEvent::new(
            EventKind::StatusChanged,
            a_ticket(),
            at("2024-05-13T10:00:00Z"),
        );
        let applied = run_to_quiescence(&engine, &mut ticket, start);
        // park (open → pending), then reopen (pending → open); park may not fire again on a
        // change it caused.
        assert_eq!(applied, 2);
        assert_eq!(ticket["status"], "open");
    }

    #[test]
    fn a_rule_does_not_retrigger_on_its_own_change() {
        let engine = engine(json!([
            {"id": "bump", "name": "Bump priority on update", "on": ["ticket_updated"],
             "actions": [{"type": "set_priority", "priority": "high"}, {"type": "add_tags", "tags": ["bumped"]}]}
        ]));
        let mut ticket = json!({"status": "open", "priority": "low", "tags": []});
        let start = AutomationEvent::new(
            EventKind::TicketUpdated,
            a_ticket(),
            at("2024-05-13T10:00:00Z"),
        );
        assert_eq!(run_to_quiescence(&engine, &mut ticket, start), 2);
        assert_eq!(ticket["priority"], "high");
        // The two resulting events carry the rule in their causation and are ignored.
        let caused = AutomationEvent {
            cause: Causation::default().followed_by("bump"),
            ..AutomationEvent::new(
                EventKind::TicketUpdated,
                a_ticket(),
                at("2024-05-13T10:00:00Z"),
            )
        };
        let report = engine.explain(
            &caused,
            &FactSnapshot::from_value(json!({"ticket": ticket})),
        );
        assert_eq!(report.rules[0].outcome, RuleOutcome::LoopGuard);
    }

    #[test]
    fn a_chain_of_distinct_rules_stops_at_the_depth_limit() {
        // step-i adds tag t{i} when t{i-1} is present: a chain of 10 distinct rules.
        let chain: Vec<Value> = (1..=10)
            .map(|i| {
                json!({"id": format!("step-{i}"), "name": format!("Step {i}"), "on": ["ticket_updated"],
                       "conditions": {"field": {"path": "ticket.tags", "op": "contains", "value": format!("t{}", i - 1)}},
                       "actions": [{"type": "add_tags", "tags": [format!("t{i}")]}]})
            })
            .collect();
        let engine = engine(Value::Array(chain));
        let mut ticket = json!({"status": "open", "priority": "low", "tags": ["t0"]});
        let start = AutomationEvent::new(
            EventKind::TicketUpdated,
            a_ticket(),
            at("2024-05-13T10:00:00Z"),
        );
        let applied = run_to_quiescence(&engine, &mut ticket, start);
        assert_eq!(applied as u32, DEFAULT_MAX_DEPTH);
        let tags = string_list(Some(&ticket["tags"]));
        assert_eq!(tags, ["t0", "t1", "t2", "t3", "t4", "t5"]);

        let deep = AutomationEvent {
            cause: Causation {
                depth: DEFAULT_MAX_DEPTH,
                rules: vec![],
            },
            ..AutomationEvent::new(
                EventKind::TicketUpdated,
                a_ticket(),
                at("2024-05-13T10:00:00Z"),
            )
        };
        let report = engine.explain(&deep, &FactSnapshot::from_value(json!({"ticket": ticket})));
        assert!(report
            .rules
            .iter()
            .all(|r| r.outcome == RuleOutcome::DepthLimit));
        assert_eq!(engine.clone().with_max_depth(0).max_depth(), 1);
    }

    #[test]
    fn planned_actions_extend_the_causation() {
        let engine = engine(json!([
            {"id": "a", "name": "A", "on": ["ticket_updated"], "actions": [{"type": "add_tags", "tags": ["x"]}]}
        ]));
        let event = AutomationEvent {
            cause: Causation {
                depth: 2,
                rules: vec!["z".into()],
            },
            ..AutomationEvent::new(
                EventKind::TicketUpdated,
                a_ticket(),
                at("2024-05-13T10:00:00Z"),
            )
        };
        let actions = engine.evaluate(
            &event,
            &FactSnapshot::from_value(json!({"ticket": {"tags": []}})),
        );
        assert_eq!(
            actions[0].cause,
            Causation {
                depth: 3,
                rules: vec!["z".into(), "a".into()]
            }
        );
    }

    #[test]
    fn the_dry_run_shows_which_conditions_matched_and_failed() {
        let rule = rules(json!([
            {"id": "vip-refund", "name": "VIP refunds", "on": ["message_received"],
             "conditions": {"all": [
                 {"text": {"path": "message.body", "contains": ["refund"]}},
                 {"field": {"path": "conversation.priority", "op": "equals", "value": "urgent"}}
             ]},
             "actions": [{"type": "assign", "target": {"team": "finance"}}]}
        ]))
        .remove(0);
        let request: RuleTestRequest = serde_json::from_value(json!({
            "rule": rule,
            "event": {"kind": "message_received", "subject": {"conversation": conversation_id_text()},
                      "at": "2024-05-13T10:00:00Z"},
            "facts": conversation_facts()
        }))
        .expect("request json");
        let report = test_rule(&request).expect("valid");
        assert_eq!(report.outcome, RuleOutcome::ConditionsFailed);
        let trace = report.conditions.expect("trace");
        assert!(!trace.matched);
        assert!(trace.children[0].matched);
        assert!(!trace.children[1].matched);
        assert_eq!(trace.children[1].actual, Some(json!("normal")));
        let json = serde_json::to_value(report.outcome).expect("json");
        assert_eq!(json, "conditions_failed");
    }

    fn conversation_id_text() -> String {
        match a_conversation() {
            Subject::Conversation(id) => id.to_string(),
            Subject::Ticket(id) => id.to_string(),
        }
    }

    #[test]
    fn conditions_can_test_the_event_itself() {
        let engine = engine(json!([
            {"id": "first-only", "name": "Human events only", "on": ["ticket_updated"],
             "conditions": {"field": {"path": "event.depth", "op": "equals", "value": 0}},
             "actions": [{"type": "add_tags", "tags": ["touched"]}]}
        ]));
        let facts = FactSnapshot::from_value(json!({"ticket": {"tags": []}}));
        let human = AutomationEvent::new(
            EventKind::TicketUpdated,
            a_ticket(),
            at("2024-05-13T10:00:00Z"),
        );
        assert_eq!(engine.evaluate(&human, &facts).len(), 1);
        let automated = AutomationEvent {
            cause: Causation::default().followed_by("other"),
            ..human
        };
        assert!(engine.evaluate(&automated, &facts).is_empty());
    }

    #[test]
    fn webhooks_carry_the_event_and_facts_and_are_signed() {
        let engine = engine(json!([
            {"id": "hook", "name": "Hook", "on": ["ticket_created"],
             "actions": [{"type": "send_webhook", "url": "https://example.com/hook"}]}
        ]));
        let facts = FactSnapshot::from_value(json!({"ticket": {"subject": "Help"}}));
        let actions = engine.evaluate(
            &AutomationEvent::new(
                EventKind::TicketCreated,
                a_ticket(),
                at("2024-05-13T10:00:00Z"),
            ),
            &facts,
        );
        let Effect::SendWebhook(delivery) = &actions[0].effect else {
            panic!("expected a webhook, got {:?}", actions[0].effect);
        };
        assert_eq!(delivery.body["type"], "automation.ticket_created");
        assert_eq!(delivery.body["rule"]["id"], "hook");
        assert_eq!(delivery.body["facts"]["ticket"]["subject"], "Help");
        let (bytes, header) = delivery.signed(b"secret", 1_715_594_400);
        assert_eq!(
            crate::signature::verify_webhook(b"secret", Some(&header), &bytes, 1_715_594_400),
            Ok(())
        );
    }

    #[test]
    fn assigning_skips_when_the_subject_already_has_that_owner() {
        let agent = AgentId::from_parts(1_700_000_000_000, 1);
        let engine = engine(json!([
            {"id": "to-agent", "name": "To agent", "on": ["message_received"],
             "actions": [{"type": "assign", "target": {"agent": agent.to_string()}}]},
            {"id": "to-team", "name": "To team", "on": ["message_received"],
             "actions": [{"type": "assign", "target": {"team": "finance"}}]}
        ]));
        let event = AutomationEvent::new(
            EventKind::MessageReceived,
            a_conversation(),
            at("2024-05-13T10:00:00Z"),
        );
        let held = FactSnapshot::from_value(
            json!({"conversation": {"assignee_id": agent.to_string(), "team": "finance"}}),
        );
        assert!(engine.evaluate(&event, &held).is_empty());
        let unassigned = FactSnapshot::from_value(json!({"conversation": {"team": "finance"}}));
        assert_eq!(engine.evaluate(&event, &unassigned).len(), 2);
    }

    #[test]
    fn invalid_rules_are_refused_with_the_reason() {
        let refuse =
            |v: Value| AutomationEngine::new(&rules(json!([v]))).expect_err("must be refused");
        let base = |actions: Value| json!({"id": "r", "name": "R", "on": ["message_received"], "actions": actions});
        assert_eq!(
            refuse(
                json!({"id": "R!", "on": ["message_received"], "actions": [{"type": "snooze", "minutes": 5}]})
            ),
            AutomationError::InvalidId("R!".into())
        );
        assert_eq!(
            refuse(json!({"id": "r", "on": [], "actions": [{"type": "snooze", "minutes": 5}]})),
            AutomationError::NoEvents("r".into())
        );
        assert_eq!(
            refuse(base(json!([]))),
            AutomationError::BadActionCount("r".into())
        );
        assert!(matches!(
            refuse(base(json!([{"type": "set_status", "status": "done"}]))),
            AutomationError::InvalidStatus { .. }
        ));
        assert!(matches!(
            refuse(base(json!([{"type": "add_labels", "labels": [" "]}]))),
            AutomationError::BadLabels { .. }
        ));
        assert_eq!(
            refuse(base(
                json!([{"type": "send_webhook", "url": "http://example.com"}])
            )),
            AutomationError::InvalidWebhookUrl("r".into())
        );
        assert_eq!(
            refuse(base(
                json!([{"type": "send_webhook", "url": "https:///path"}])
            )),
            AutomationError::InvalidWebhookUrl("r".into())
        );
        assert_eq!(
            refuse(base(json!([{"type": "snooze", "minutes": 0}]))),
            AutomationError::SnoozeOutOfRange("r".into())
        );
        assert!(matches!(
            refuse(base(
                json!([{"type": "add_private_note", "body": "{{contact.nmae}}"}])
            )),
            AutomationError::Note { .. }
        ));
        assert_eq!(
            refuse(base(json!([{"type": "add_tags", "tags": ["x"]}]))),
            AutomationError::ActionNeverApplies {
                rule: "r".into(),
                action: "add_tags"
            }
        );
        assert!(matches!(
            refuse(json!({"id": "r", "on": ["message_received"],
                          "conditions": {"regex": {"path": "message.body", "pattern": "(unclosed"}},
                          "actions": [{"type": "snooze", "minutes": 5}]})),
            AutomationError::Condition { .. }
        ));
        let twice = rules(json!([
            base(json!([{"type": "snooze", "minutes": 5}])),
            base(json!([{"type": "snooze", "minutes": 5}]))
        ]));
        assert_eq!(
            AutomationEngine::new(&twice).err(),
            Some(AutomationError::DuplicateRule("r".into()))
        );
        let typo: Result<Vec<AutomationRule>, _> = serde_json::from_value(json!([
            {"id": "r", "on": ["message_received"], "actions": [{"type": "snooze", "minutes": 5, "hours": 1}]}
        ]));
        assert!(typo.is_err(), "unknown action fields are refused");
    }

    #[test]
    fn references_to_teams_and_canned_responses_are_checked() {
        let engine = engine(json!([
            {"id": "r", "name": "R", "on": ["conversation_created"],
             "actions": [{"type": "assign", "target": {"team": "finance"}},
                         {"type": "send_canned_reply", "canned_response_id": "welcome"}]}
        ]));
        let finance = Team {
            id: "finance".into(),
            name: "Finance".into(),
            members: vec![],
            strategy: Default::default(),
        };
        let welcome = CannedResponse {
            id: "welcome".into(),
            shortcode: "welcome".into(),
            title: "Welcome".into(),
            body: "Hi!".into(),
        };
        assert_eq!(
            engine.check_references(
                std::slice::from_ref(&finance),
                std::slice::from_ref(&welcome)
            ),
            Ok(())
        );
        assert!(matches!(
            engine.check_references(&[], &[welcome]),
            Err(AutomationError::UnknownTeam { .. })
        ));
        assert!(matches!(
            engine.check_references(&[finance], &[]),
            Err(AutomationError::UnknownCannedResponse { .. })
        ));
    }
}

#[cfg(test)]
mod decode_tests {
    //! The hand-written decoder against the decoder serde derives for the same enum.

    use super::*;

    /// What `AutomationAction` was before its decoder was written by hand.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
    enum Derived {
        Assign { target: RouteTarget },
        SetPriority { priority: Priority },
        SetStatus { status: String },
        AddLabels { labels: Vec<String> },
        RemoveLabels { labels: Vec<String> },
        AddTags { tags: Vec<String> },
        RemoveTags { tags: Vec<String> },
        SendCannedReply { canned_response_id: String },
        AddPrivateNote { body: String },
        SendWebhook { url: String },
        Snooze { minutes: u32 },
    }

    #[test]
    fn the_hand_written_decoder_accepts_and_refuses_what_the_derived_one_does() {
        let cases = [
            r#"{"type":"assign","target":{"team":"billing"}}"#,
            r#"{"target":{"agent":"agt_1"},"type":"assign"}"#,
            r#"{"type":"set_priority","priority":"urgent"}"#,
            r#"{"type":"set_status","status":"resolved"}"#,
            r#"{"type":"add_labels","labels":["vip","refund"]}"#,
            r#"{"type":"remove_labels","labels":[]}"#,
            r#"{"type":"add_tags","tags":["x"]}"#,
            r#"{"type":"remove_tags","tags":["x"]}"#,
            r#"{"type":"send_canned_reply","canned_response_id":"can_1"}"#,
            r#"{"type":"add_private_note","body":"Hi {{contact.name}}"}"#,
            r#"{"type":"send_webhook","url":"https://example.com/hook"}"#,
            r#"{"type":"snooze","minutes":30}"#,
            // Refused: no type, an unknown type, a type that is not a string.
            r#"{"minutes":30}"#,
            r#"{"type":"explode"}"#,
            r#"{"type":7,"minutes":30}"#,
            // Refused: an unknown type with the fields of a known one, or spelt differently.
            r#"{"type":"explode","minutes":30}"#,
            r#"{"minutes":30,"type":"Snooze"}"#,
            r#"{"type":"","url":"https://example.com"}"#,
            // Refused: a missing field, another type's field, a field no type has.
            r#"{"type":"snooze"}"#,
            r#"{"type":"snooze","minutes":30,"url":"https://example.com"}"#,
            r#"{"type":"set_status","status":"open","body":"x"}"#,
            r#"{"type":"add_tags","tags":["x"],"labels":["y"]}"#,
            r#"{"type":"snooze","body":"x","priority":"high"}"#,
            r#"{"type":"snooze","minutes":30,"colour":"red"}"#,
            // Refused: a field twice, a value of the wrong type or range.
            r#"{"type":"snooze","minutes":30,"minutes":40}"#,
            r#"{"type":"snooze","minutes":"ten"}"#,
            r#"{"type":"snooze","minutes":-1}"#,
            r#"{"type":"set_priority","priority":"whenever"}"#,
            r#"{"type":"assign","target":{"planet":"mars"}}"#,
            r#"{"type":"add_labels","labels":"vip"}"#,
            // Refused: not an object.
            r#""snooze""#,
            r#"null"#,
        ];
        crate::tagged::testing::assert_decodes_as_derived::<AutomationAction, Derived>(
            "AutomationAction",
            &cases,
        );
        // The one difference: the derived decoder also took an array, the type first and then
        // the fields in declaration order. Nothing writes that form, and the API documents
        // objects only.
        let array = r#"["snooze",30]"#;
        assert!(serde_json::from_str::<Derived>(array).is_ok());
        let refused = serde_json::from_str::<AutomationAction>(array).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "invalid type: sequence, expected internally tagged enum AutomationAction at line 1 column 0"
        );
    }
}
