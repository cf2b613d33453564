//! Conditions: comparisons of facts with values, text and regex tests, weekly time windows, and
//! their and/or/not nesting.
//!
//! A [`Condition`] is the stored form (serde). [`Condition::compile`] checks it — sizes, paths,
//! operator/value pairs, regex patterns, time zones — and yields a [`CompiledCondition`] that is
//! evaluated against an [`EvalScope`] (a fact snapshot plus the event instant). Evaluation
//! never fails: a missing fact simply does not satisfy a comparison.
//!
//! Patterns come from tenants, so regexes use `regex-lite`, whose matching time is linear in the
//! input whatever the pattern; on top of that the pattern length, the compiled program size and
//! the matched input length are capped. The syntax is the `regex` crate's with ASCII-only
//! classes: `\d`, `\s`, `\w`, `\b` and `(?i)` cover ASCII, other characters match literally
//! (`[а-я]`, `订单`), and Unicode classes such as `\p{L}` are refused when the rule is saved.
//!
//! JSON shape (externally tagged):
//!
//! ```json
//! {"all": [
//!   {"field": {"path": "conversation.priority", "op": "one_of", "value": ["high", "urgent"]}},
//!   {"any": [
//!     {"text": {"path": "message.body", "contains": ["refund", "chargeback"]}},
//!     {"regex": {"path": "message.body", "pattern": "(?i)order\\s*#?\\d{6}"}}
//!   ]},
//!   {"not": {"time_window": {"timezone": "Europe/Berlin",
//!                            "hours": {"saturday": [{"start": "00:00", "end": "24:00"}]}}}}
//! ]}
//! ```

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset, Utc};
use regex_lite::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::facts::FactSnapshot;
use super::queue::urgency;
use crate::model::{Attributes, Priority};
use crate::sla::calendar::{BusinessCalendar, Calendar, CalendarError, Holiday, WeeklyHours};

/// Most nodes (groups and tests) in one condition tree.
pub const MAX_CONDITION_NODES: usize = 100;
/// Deepest nesting of groups.
pub const MAX_CONDITION_DEPTH: usize = 8;
/// Longest fact path.
pub const MAX_PATH_CHARS: usize = 128;
/// Longest regex pattern.
pub const MAX_PATTERN_CHARS: usize = 500;
/// Largest compiled regex program; well above what a 500-character pattern needs unless it
/// multiplies itself with counted repetitions (`(a{100}){100}`), which is refused.
pub const MAX_REGEX_PROGRAM_BYTES: usize = 256 * 1024;
/// Regexes and text tests look at no more than this many leading bytes of a fact.
pub const MAX_MATCH_INPUT_BYTES: usize = 64 * 1024;
/// Most alternatives in one text test.
pub const MAX_NEEDLES: usize = 50;
/// Longest alternative in a text test.
pub const MAX_NEEDLE_CHARS: usize = 200;
/// Fact values shown in a dry-run explanation are cut to this many characters.
const MAX_SHOWN_CHARS: usize = 200;

/// How a fact is compared with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Equals,
    /// The fact is absent or differs.
    NotEquals,
    /// `value` is an array; the fact equals one of its elements.
    OneOf,
    /// `value` is an array; the fact is absent or equals none of its elements.
    NoneOf,
    /// A string fact contains `value` as a substring (case-sensitive), or an array fact has
    /// `value` as an element.
    Contains,
    Exists,
    Missing,
    /// Ordered comparisons: numbers numerically, priorities by urgency (`urgent` is greatest),
    /// RFC 3339 timestamps by instant, other strings lexicographically.
    GreaterThan,
    GreaterOrEqual,
    LessThan,
    LessOrEqual,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Equals => "equals",
            CompareOp::NotEquals => "not_equals",
            CompareOp::OneOf => "one_of",
            CompareOp::NoneOf => "none_of",
            CompareOp::Contains => "contains",
            CompareOp::Exists => "exists",
            CompareOp::Missing => "missing",
            CompareOp::GreaterThan => "greater_than",
            CompareOp::GreaterOrEqual => "greater_or_equal",
            CompareOp::LessThan => "less_than",
            CompareOp::LessOrEqual => "less_or_equal",
        }
    }

    /// Whether `value` suits the operator; the problem in words otherwise.
    pub fn check_value(self, value: Option<&Value>) -> Result<(), &'static str> {
        match (self, value) {
            (CompareOp::Exists | CompareOp::Missing, Some(_)) => Err("takes no value"),
            (CompareOp::Exists | CompareOp::Missing, None) => Ok(()),
            (_, None) | (_, Some(Value::Null)) => Err("needs a value"),
            (CompareOp::OneOf | CompareOp::NoneOf, Some(v)) if !v.is_array() => {
                Err("needs an array value")
            }
            (
                CompareOp::GreaterThan
                | CompareOp::GreaterOrEqual
                | CompareOp::LessThan
                | CompareOp::LessOrEqual,
                Some(v),
            ) if !(v.is_number() || v.is_string()) => Err("needs a number or string value"),
            _ => Ok(()),
        }
    }

    /// Applies the operator; `actual` is `None` when the fact is absent (or `null`).
    pub fn apply(self, actual: Option<&Value>, expected: Option<&Value>) -> bool {
        let one_of = |a: &Value| match expected {
            Some(Value::Array(options)) => options.iter().any(|e| values_equal(a, e)),
            _ => false,
        };
        let ordered = |accept: fn(Ordering) -> bool| match (actual, expected) {
            (Some(a), Some(e)) => order(a, e).is_some_and(accept),
            _ => false,
        };
        match self {
            CompareOp::Exists => actual.is_some(),
            CompareOp::Missing => actual.is_none(),
            CompareOp::Equals => {
                matches!((actual, expected), (Some(a), Some(e)) if values_equal(a, e))
            }
            CompareOp::NotEquals => !CompareOp::Equals.apply(actual, expected),
            CompareOp::OneOf => actual.is_some_and(one_of),
            CompareOp::NoneOf => !actual.is_some_and(one_of),
            CompareOp::Contains => match (actual, expected) {
                (Some(Value::String(a)), Some(Value::String(e))) => a.contains(e.as_str()),
                (Some(Value::Array(items)), Some(e)) => items.iter().any(|a| values_equal(a, e)),
                _ => false,
            },
            CompareOp::GreaterThan => ordered(|o| o == Ordering::Greater),
            CompareOp::GreaterOrEqual => ordered(|o| o != Ordering::Less),
            CompareOp::LessThan => ordered(|o| o == Ordering::Less),
            CompareOp::LessOrEqual => ordered(|o| o != Ordering::Greater),
        }
    }
}

impl std::fmt::Display for CompareOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// JSON equality where `1` and `1.0` are the same number.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => {
            if let (Some(px), Some(py)) = (Priority::parse(x), Priority::parse(y)) {
                return Some(urgency(px).cmp(&urgency(py)));
            }
            let instant = |s: &str| DateTime::<FixedOffset>::parse_from_rfc3339(s).ok();
            if let (Some(tx), Some(ty)) = (instant(x), instant(y)) {
                return Some(tx.cmp(&ty));
            }
            Some(x.cmp(y))
        }
        _ => None,
    }
}

/// Why a condition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("a condition may have at most {MAX_CONDITION_NODES} parts")]
    TooManyNodes,
    #[error("conditions may nest at most {MAX_CONDITION_DEPTH} levels deep")]
    TooDeep,
    #[error("an `all` or `any` group needs at least one condition")]
    EmptyGroup,
    #[error("`{0}` is not a fact path such as `conversation.priority`")]
    InvalidPath(String),
    #[error("attribute names must be 1-64 characters")]
    InvalidAttribute,
    #[error("`{path}` {op}: {problem}")]
    BadComparison {
        path: String,
        op: CompareOp,
        problem: &'static str,
    },
    #[error("text test on `{0}` needs 1-{MAX_NEEDLES} non-blank strings of at most {MAX_NEEDLE_CHARS} characters")]
    BadNeedles(String),
    #[error("regex on `{0}` is longer than {MAX_PATTERN_CHARS} characters")]
    PatternTooLong(String),
    #[error("regex on `{path}` is invalid or too large: {message}")]
    InvalidPattern { path: String, message: String },
    #[error("time window: {0}")]
    TimeWindow(#[from] CalendarError),
}

fn check_path(path: &str) -> Result<(), ConditionError> {
    let ok = !path.is_empty()
        && path.chars().count() <= MAX_PATH_CHARS
        && path
            .split('.')
            .all(|s| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control()));
    if ok {
        Ok(())
    } else {
        Err(ConditionError::InvalidPath(path.to_owned()))
    }
}

/// A test on one contact attribute, as routing rules write it:
/// `{"attribute": "plan", "op": "equals", "value": "enterprise"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeTest {
    pub attribute: String,
    pub op: CompareOp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl AttributeTest {
    pub fn validate(&self) -> Result<(), ConditionError> {
        let name = self.attribute.trim();
        if name.is_empty() || name.chars().count() > crate::api::limits::MAX_ATTRIBUTE_KEY_CHARS {
            return Err(ConditionError::InvalidAttribute);
        }
        self.op
            .check_value(self.value.as_ref())
            .map_err(|problem| ConditionError::BadComparison {
                path: self.attribute.clone(),
                op: self.op,
                problem,
            })
    }

    pub fn matches(&self, attributes: &Attributes) -> bool {
        let actual = attributes.get(&self.attribute).filter(|v| !v.is_null());
        self.op.apply(actual, self.value.as_ref())
    }
}

/// A comparison of the fact at `path` with `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldTest {
    pub path: String,
    pub op: CompareOp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// Whether the text at `path` (or any string in an array there) contains one of `contains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextTest {
    pub path: String,
    pub contains: Vec<String>,
    #[serde(default)]
    pub case_sensitive: bool,
}

/// Whether the text at `path` (or any string in an array there) matches `pattern`. Use `(?i)`
/// for case-insensitive matching of ASCII letters; `\d`, `\s`, `\w` and `\b` are ASCII too, other
/// characters match as written, and Unicode classes (`\p{L}`) are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexTest {
    pub path: String,
    pub pattern: String,
}

/// Whether the event happened inside weekly local hours, e.g. weekends or nights, with the
/// SLA calendars' semantics (overnight intervals, DST, holidays closing whole days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
    pub hours: WeeklyHours,
    /// Days that fall outside the window whatever the weekly hours say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<Holiday>,
}

/// A condition tree as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Field(FieldTest),
    Text(TextTest),
    Regex(RegexTest),
    TimeWindow(TimeWindow),
}

impl Condition {
    /// Checks the condition and prepares it for evaluation.
    pub fn compile(&self) -> Result<CompiledCondition, ConditionError> {
        let mut nodes = 0;
        compile(self, 0, &mut nodes).map(CompiledCondition)
    }

    pub fn validate(&self) -> Result<(), ConditionError> {
        self.compile().map(drop)
    }
}

fn compile(c: &Condition, depth: usize, nodes: &mut usize) -> Result<Node, ConditionError> {
    *nodes += 1;
    if *nodes > MAX_CONDITION_NODES {
        return Err(ConditionError::TooManyNodes);
    }
    if depth > MAX_CONDITION_DEPTH {
        return Err(ConditionError::TooDeep);
    }
    let group = |items: &[Condition], nodes: &mut usize| {
        if items.is_empty() {
            return Err(ConditionError::EmptyGroup);
        }
        items.iter().map(|c| compile(c, depth + 1, nodes)).collect()
    };
    Ok(match c {
        Condition::All(items) => Node::All(group(items, nodes)?),
        Condition::Any(items) => Node::Any(group(items, nodes)?),
        Condition::Not(inner) => Node::Not(Box::new(compile(inner, depth + 1, nodes)?)),
        Condition::Field(test) => {
            check_path(&test.path)?;
            test.op
                .check_value(test.value.as_ref())
                .map_err(|problem| ConditionError::BadComparison {
                    path: test.path.clone(),
                    op: test.op,
                    problem,
                })?;
            Node::Field(test.clone())
        }
        Condition::Text(test) => {
            check_path(&test.path)?;
            let bad = test.contains.is_empty()
                || test.contains.len() > MAX_NEEDLES
                || test
                    .contains
                    .iter()
                    .any(|n| n.trim().is_empty() || n.chars().count() > MAX_NEEDLE_CHARS);
            if bad {
                return Err(ConditionError::BadNeedles(test.path.clone()));
            }
            let needles = test
                .contains
                .iter()
                .map(|n| {
                    if test.case_sensitive {
                        n.clone()
                    } else {
                        n.to_lowercase()
                    }
                })
                .collect();
            Node::Text {
                path: test.path.clone(),
                needles,
                case_sensitive: test.case_sensitive,
            }
        }
        Condition::Regex(test) => {
            check_path(&test.path)?;
            if test.pattern.chars().count() > MAX_PATTERN_CHARS {
                return Err(ConditionError::PatternTooLong(test.path.clone()));
            }
            let regex = RegexBuilder::new(&test.pattern)
                .size_limit(MAX_REGEX_PROGRAM_BYTES)
                .nest_limit(32)
                .build()
                .map_err(|e| ConditionError::InvalidPattern {
                    path: test.path.clone(),
                    message: e.to_string(),
                })?;
            Node::Regex {
                path: test.path.clone(),
                regex,
            }
        }
        Condition::TimeWindow(window) => {
            let calendar = Calendar {
                id: "time_window".into(),
                name: String::new(),
                timezone: window.timezone.clone(),
                hours: window.hours.clone(),
                holidays: window.holidays.clone(),
            }
            .compile()?;
            Node::TimeWindow {
                timezone: window.timezone.clone(),
                calendar,
            }
        }
    })
}

#[derive(Debug, Clone)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Field(FieldTest),
    Text {
        path: String,
        /// Lowercased unless the test is case-sensitive.
        needles: Vec<String>,
        case_sensitive: bool,
    },
    Regex {
        path: String,
        regex: Regex,
    },
    TimeWindow {
        timezone: String,
        calendar: BusinessCalendar,
    },
}

/// What a condition is evaluated against: the facts and the instant the event happened.
/// Paths starting with `event.` read the event's own facts (kind, subject, depth) when given.
#[derive(Debug, Clone, Copy)]
pub struct EvalScope<'a> {
    pub facts: &'a FactSnapshot,
    pub event: Option<&'a FactSnapshot>,
    pub at: DateTime<Utc>,
}

impl<'a> EvalScope<'a> {
    pub fn new(facts: &'a FactSnapshot, at: DateTime<Utc>) -> Self {
        EvalScope {
            facts,
            event: None,
            at,
        }
    }

    pub fn get(&self, path: &str) -> Option<&'a Value> {
        match (path.strip_prefix("event."), self.event) {
            (Some(rest), Some(event)) => event.get(rest),
            _ => self.facts.get(path),
        }
    }
}

/// One node of a dry-run explanation: what was tested, whether it held, and the fact seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionTrace {
    pub condition: String,
    pub matched: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ConditionTrace>,
}

/// A validated condition, ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledCondition(Node);

impl CompiledCondition {
    pub fn matches(&self, scope: &EvalScope<'_>) -> bool {
        eval(&self.0, scope)
    }

    /// Evaluates every part (no short-circuit) and reports each outcome.
    pub fn explain(&self, scope: &EvalScope<'_>) -> ConditionTrace {
        trace(&self.0, scope)
    }
}

/// The leading part of `s` no longer than `max` bytes, cut at a character boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The strings a text or regex test looks at: a string fact, or the strings in an array fact.
fn texts(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![clip(s, MAX_MATCH_INPUT_BYTES)],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| clip(s, MAX_MATCH_INPUT_BYTES))
            .collect(),
        _ => Vec::new(),
    }
}

fn text_matches(value: Option<&Value>, needles: &[String], case_sensitive: bool) -> bool {
    texts(value).into_iter().any(|text| {
        if case_sensitive {
            needles.iter().any(|n| text.contains(n.as_str()))
        } else {
            let folded = text.to_lowercase();
            needles.iter().any(|n| folded.contains(n.as_str()))
        }
    })
}

fn eval(node: &Node, scope: &EvalScope<'_>) -> bool {
    match node {
        Node::All(items) => items.iter().all(|n| eval(n, scope)),
        Node::Any(items) => items.iter().any(|n| eval(n, scope)),
        Node::Not(inner) => !eval(inner, scope),
        Node::Field(test) => test.op.apply(scope.get(&test.path), test.value.as_ref()),
        Node::Text {
            path,
            needles,
            case_sensitive,
        } => text_matches(scope.get(path), needles, *case_sensitive),
        Node::Regex { path, regex } => texts(scope.get(path))
            .into_iter()
            .any(|t| regex.is_match(t)),
        Node::TimeWindow { calendar, .. } => calendar.is_open(scope.at),
    }
}

fn shown(value: Option<&Value>) -> Option<Value> {
    value.map(|v| match v {
        Value::String(s) if s.chars().count() > MAX_SHOWN_CHARS => {
            let cut: String = s.chars().take(MAX_SHOWN_CHARS).collect();
            Value::String(cut + "…")
        }
        other => other.clone(),
    })
}

fn trace(node: &Node, scope: &EvalScope<'_>) -> ConditionTrace {
    let leaf = |condition: String, matched: bool, actual: Option<Value>| ConditionTrace {
        condition,
        matched,
        actual,
        children: Vec::new(),
    };
    match node {
        Node::All(items) | Node::Any(items) => {
            let children: Vec<ConditionTrace> = items.iter().map(|n| trace(n, scope)).collect();
            let (condition, matched) = match node {
                Node::All(_) => ("all of", children.iter().all(|c| c.matched)),
                _ => ("any of", children.iter().any(|c| c.matched)),
            };
            ConditionTrace {
                condition: condition.into(),
                matched,
                actual: None,
                children,
            }
        }
        Node::Not(inner) => {
            let child = trace(inner, scope);
            ConditionTrace {
                condition: "not".into(),
                matched: !child.matched,
                actual: None,
                children: vec![child],
            }
        }
        Node::Field(test) => {
            let description = match &test.value {
                Some(v) => format!("{} {} {}", test.path, test.op, v),
                None => format!("{} {}", test.path, test.op),
            };
            let actual = scope.get(&test.path);
            leaf(
                description,
                test.op.apply(actual, test.value.as_ref()),
                shown(actual),
            )
        }
        Node::Text {
            path,
            needles,
            case_sensitive,
        } => {
            let quoted: Vec<String> = needles.iter().map(|n| format!("{n:?}")).collect();
            let case = if *case_sensitive {
                " (case-sensitive)"
            } else {
                ""
            };
            let actual = scope.get(path);
            leaf(
                format!("{path} contains {}{case}", quoted.join(" or ")),
                text_matches(actual, needles, *case_sensitive),
                shown(actual),
            )
        }
        Node::Regex { path, regex } => {
            let actual = scope.get(path);
            leaf(
                format!("{path} matches /{}/", regex.as_str()),
                texts(actual).into_iter().any(|t| regex.is_match(t)),
                shown(actual),
            )
        }
        Node::TimeWindow { timezone, calendar } => leaf(
            format!("event time inside the {timezone} time window"),
            calendar.is_open(scope.at),
            Some(Value::String(
                scope.at.with_timezone(&calendar.timezone()).to_rfc3339(),
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> FactSnapshot {
        FactSnapshot::from_value(json!({
            "conversation": {"priority": "high", "labels": ["vip"], "channel": "web",
                             "created_at": "2024-05-13T07:00:00Z"},
            "contact": {"attributes": {"plan": "enterprise", "seats": 40}},
            "message": {"body": "Hello, I need a REFUND for order #123456"},
            "business_hours": false
        }))
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("test timestamp")
    }

    fn cond(v: Value) -> CompiledCondition {
        serde_json::from_value::<Condition>(v)
            .expect("condition json")
            .compile()
            .expect("valid condition")
    }

    #[test]
    fn a_sentiment_threshold_matches_angry_messages_only() {
        let angry =
            cond(json!({"field": {"path": "message.sentiment", "op": "less_than", "value": -0.5}}));
        let at_time = at("2024-05-13T07:30:00Z");
        for (score, expected) in [
            (json!(-0.8), true),
            (json!(-0.5), false),
            (json!(0.3), false),
        ] {
            let f = FactSnapshot::from_value(json!({"message": {"sentiment": score}}));
            assert_eq!(
                angry.matches(&EvalScope::new(&f, at_time)),
                expected,
                "{score}"
            );
        }
        // A message with no score (an agent's, say) never counts as angry.
        assert!(!angry.matches(&EvalScope::new(&facts(), at_time)));
    }

    #[test]
    fn condition_table() {
        let facts = facts();
        // Monday 2024-05-13 09:30 in Berlin.
        let scope = EvalScope::new(&facts, at("2024-05-13T07:30:00Z"));
        let field = |path: &str, op: &str, value: Value| json!({"field": {"path": path, "op": op, "value": value}});
        let cases: Vec<(&str, Value, bool)> = vec![
            (
                "equals",
                field("conversation.priority", "equals", json!("high")),
                true,
            ),
            (
                "equals is exact",
                field("conversation.priority", "equals", json!("High")),
                false,
            ),
            (
                "numbers compare by value",
                field("contact.attributes.seats", "equals", json!(40.0)),
                true,
            ),
            (
                "not_equals on a missing fact holds",
                field("contact.attributes.tier", "not_equals", json!("gold")),
                true,
            ),
            (
                "one_of",
                field("conversation.channel", "one_of", json!(["email", "web"])),
                true,
            ),
            (
                "none_of",
                field("conversation.channel", "none_of", json!(["email"])),
                true,
            ),
            (
                "none_of on a missing fact holds",
                field("contact.attributes.tier", "none_of", json!(["gold"])),
                true,
            ),
            (
                "contains an array element",
                field("conversation.labels", "contains", json!("vip")),
                true,
            ),
            (
                "contains is case-sensitive",
                field("message.body", "contains", json!("refund")),
                false,
            ),
            (
                "greater_than numbers",
                field("contact.attributes.seats", "greater_than", json!(10)),
                true,
            ),
            (
                "priorities order by urgency",
                field("conversation.priority", "greater_or_equal", json!("normal")),
                true,
            ),
            (
                "high is below urgent",
                field("conversation.priority", "greater_or_equal", json!("urgent")),
                false,
            ),
            (
                "timestamps order by instant",
                field(
                    "conversation.created_at",
                    "less_than",
                    json!("2024-05-13T07:00:00.5Z"),
                ),
                true,
            ),
            (
                "ordered op on a missing fact fails",
                field("contact.attributes.tier", "less_than", json!(3)),
                false,
            ),
            (
                "exists",
                json!({"field": {"path": "contact.attributes.plan", "op": "exists"}}),
                true,
            ),
            (
                "missing",
                json!({"field": {"path": "contact.attributes.tier", "op": "missing"}}),
                true,
            ),
            (
                "booleans",
                field("business_hours", "equals", json!(false)),
                true,
            ),
            (
                "text contains ignores case",
                json!({"text": {"path": "message.body", "contains": ["refund", "chargeback"]}}),
                true,
            ),
            (
                "text contains can be case-sensitive",
                json!({"text": {"path": "message.body", "contains": ["refund"], "case_sensitive": true}}),
                false,
            ),
            (
                "text on an array fact",
                json!({"text": {"path": "conversation.labels", "contains": ["VI"]}}),
                true,
            ),
            (
                "regex",
                json!({"regex": {"path": "message.body", "pattern": "order\\s*#?\\d{6}"}}),
                true,
            ),
            (
                "regex on a missing fact",
                json!({"regex": {"path": "message.subject", "pattern": "."}}),
                false,
            ),
            (
                "all",
                json!({"all": [field("conversation.priority", "equals", json!("high")),
                                   {"text": {"path": "message.body", "contains": ["refund"]}}]}),
                true,
            ),
            (
                "all fails on one",
                json!({"all": [field("conversation.priority", "equals", json!("high")),
                                                field("business_hours", "equals", json!(true))]}),
                false,
            ),
            (
                "any",
                json!({"any": [field("conversation.priority", "equals", json!("low")),
                                   field("business_hours", "equals", json!(false))]}),
                true,
            ),
            (
                "not",
                json!({"not": field("conversation.priority", "equals", json!("low"))}),
                true,
            ),
            (
                "time window open",
                json!({"time_window": {"timezone": "Europe/Berlin",
                "hours": {"monday": [{"start": "09:00", "end": "17:00"}]}}}),
                true,
            ),
            (
                "time window closed",
                json!({"time_window": {"timezone": "America/New_York",
                "hours": {"monday": [{"start": "09:00", "end": "17:00"}]}}}),
                false,
            ),
            (
                "a holiday closes the window",
                json!({"time_window": {"timezone": "Europe/Berlin",
                "hours": {"monday": [{"start": "09:00", "end": "17:00"}]},
                "holidays": [{"kind": "date", "date": "2024-05-13"}]}}),
                false,
            ),
        ];
        for (name, json, expected) in cases {
            let compiled = cond(json);
            assert_eq!(compiled.matches(&scope), expected, "{name}");
            assert_eq!(
                compiled.explain(&scope).matched,
                expected,
                "{name} (explained)"
            );
        }
    }

    #[test]
    fn event_paths_read_the_event_facts_when_given() {
        let facts = facts();
        let event = FactSnapshot::from_value(json!({"kind": "message_received"}));
        let mut scope = EvalScope::new(&facts, at("2024-05-13T07:30:00Z"));
        let c = cond(
            json!({"field": {"path": "event.kind", "op": "equals", "value": "message_received"}}),
        );
        assert!(!c.matches(&scope));
        scope.event = Some(&event);
        assert!(c.matches(&scope));
    }

    #[test]
    fn invalid_conditions_are_refused_with_the_reason() {
        let refuse = |v: Value| {
            serde_json::from_value::<Condition>(v)
                .expect("condition json")
                .compile()
                .expect_err("must be refused")
        };
        assert_eq!(refuse(json!({"all": []})), ConditionError::EmptyGroup);
        assert!(matches!(
            refuse(json!({"field": {"path": "a", "op": "one_of", "value": "x"}})),
            ConditionError::BadComparison {
                problem: "needs an array value",
                ..
            }
        ));
        assert!(matches!(
            refuse(json!({"field": {"path": "a", "op": "exists", "value": 1}})),
            ConditionError::BadComparison {
                problem: "takes no value",
                ..
            }
        ));
        assert!(matches!(
            refuse(json!({"field": {"path": "a", "op": "equals"}})),
            ConditionError::BadComparison {
                problem: "needs a value",
                ..
            }
        ));
        assert_eq!(
            refuse(json!({"field": {"path": "a..b", "op": "exists"}})),
            ConditionError::InvalidPath("a..b".into())
        );
        assert!(matches!(
            refuse(json!({"text": {"path": "a", "contains": [" "]}})),
            ConditionError::BadNeedles(_)
        ));
        assert!(matches!(
            refuse(json!({"regex": {"path": "a", "pattern": "("}})),
            ConditionError::InvalidPattern { .. }
        ));
        assert!(matches!(
            refuse(json!({"time_window": {"timezone": "Mars/Olympus", "hours": {}}})),
            ConditionError::TimeWindow(CalendarError::UnknownTimezone(_))
        ));
    }

    #[test]
    fn unicode_classes_in_a_regex_are_refused_with_a_message_saying_so() {
        let c = Condition::Regex(RegexTest {
            path: "message.body".into(),
            pattern: r"\p{L}+".into(),
        });
        match c.compile() {
            Err(e @ ConditionError::InvalidPattern { .. }) => assert!(
                e.to_string()
                    .contains("Unicode character classes are not supported"),
                "{e}"
            ),
            other => panic!("expected InvalidPattern, got {other:?}"),
        }
    }

    #[test]
    fn regex_classes_are_ascii_and_other_characters_match_literally() {
        let matches = |pattern: &str, body: &str| {
            let facts = FactSnapshot::from_value(json!({"message": {"body": body}}));
            let scope = EvalScope::new(&facts, at("2024-05-13T07:30:00Z"));
            cond(json!({"regex": {"path": "message.body", "pattern": pattern}})).matches(&scope)
        };
        assert!(matches(r"订单\s*\d{6}", "订单 123456"));
        assert!(!matches(r"\d{6}", "１２３４５６"));
        assert!(matches(r"[а-я]+", "заказ"));
        assert!(matches(r"(?i)order", "ORDER 1"));
    }

    #[test]
    fn oversized_regexes_are_refused() {
        let long = "a".repeat(MAX_PATTERN_CHARS + 1);
        let c = Condition::Regex(RegexTest {
            path: "message.body".into(),
            pattern: long,
        });
        assert_eq!(
            c.compile().err(),
            Some(ConditionError::PatternTooLong("message.body".into()))
        );
        // Short to write, huge once compiled: the program size limit catches it.
        let c = Condition::Regex(RegexTest {
            path: "message.body".into(),
            pattern: r"(\w{100}){100}".into(),
        });
        assert!(matches!(
            c.compile(),
            Err(ConditionError::InvalidPattern { .. })
        ));
    }

    #[test]
    fn deep_or_wide_trees_are_refused() {
        let leaf = json!({"field": {"path": "a", "op": "exists"}});
        let mut deep = leaf.clone();
        for _ in 0..=MAX_CONDITION_DEPTH {
            deep = json!({"not": deep});
        }
        let deep: Condition = serde_json::from_value(deep).expect("json");
        assert_eq!(deep.compile().err(), Some(ConditionError::TooDeep));
        let wide: Condition =
            serde_json::from_value(json!({"any": vec![leaf; MAX_CONDITION_NODES]})).expect("json");
        assert_eq!(wide.compile().err(), Some(ConditionError::TooManyNodes));
    }

    #[test]
    fn long_inputs_are_matched_on_their_leading_part_only() {
        let mut body = "x".repeat(MAX_MATCH_INPUT_BYTES);
        body.push_str("needle");
        let facts = FactSnapshot::from_value(json!({"message": {"body": body}}));
        let scope = EvalScope::new(&facts, at("2024-05-13T07:30:00Z"));
        assert!(
            !cond(json!({"regex": {"path": "message.body", "pattern": "needle"}})).matches(&scope)
        );
        assert!(
            !cond(json!({"text": {"path": "message.body", "contains": ["needle"]}}))
                .matches(&scope)
        );
        // Cutting never splits a character.
        assert_eq!(clip("aé", 2), "a");
    }

    #[test]
    fn an_explanation_shows_each_part_and_the_fact_seen() {
        let facts = facts();
        let scope = EvalScope::new(&facts, at("2024-05-13T07:30:00Z"));
        let c = cond(json!({"all": [
            {"field": {"path": "conversation.priority", "op": "equals", "value": "urgent"}},
            {"text": {"path": "message.body", "contains": ["refund"]}}
        ]}));
        let trace = c.explain(&scope);
        assert!(!trace.matched);
        assert_eq!(trace.children.len(), 2);
        assert_eq!(
            trace.children[0].condition,
            r#"conversation.priority equals "urgent""#
        );
        assert_eq!(trace.children[0].actual, Some(json!("high")));
        assert!(!trace.children[0].matched);
        assert!(trace.children[1].matched);
        assert_eq!(
            trace.children[1].condition,
            r#"message.body contains "refund""#
        );
    }
}
