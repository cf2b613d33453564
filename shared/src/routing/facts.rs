//! The fact snapshot automation rules and templates read: a JSON document addressed by dotted
//! paths such as `conversation.priority` or `contact.attributes.plan`.
//!
//! The caller builds it from the records an event concerns, serialized as they are stored, e.g.
//! `{"conversation": …, "contact": …, "message": …, "agent": …}`, plus whatever else a rule may
//! test: `changes` for an update (`{"priority": {"from": "normal", "to": "high"}}`), `csat` for
//! a rating, `sla` for a warning or breach, `business_hours` (a bool) from the SLA calendar.
//! Keeping facts as plain JSON means a new field on a record is testable by rules without
//! touching this module.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A JSON object of facts about one event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FactSnapshot(Map<String, Value>);

impl FactSnapshot {
    pub fn new() -> Self {
        FactSnapshot(Map::new())
    }

    /// Facts from a JSON object; any other JSON value gives an empty snapshot.
    pub fn from_value(value: Value) -> Self {
        match value {
            Value::Object(map) => FactSnapshot(map),
            _ => FactSnapshot::new(),
        }
    }

    /// Adds (or replaces) a top-level fact, e.g. `with("contact", &contact)`.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Result<Self, serde_json::Error> {
        self.0.insert(key.to_owned(), serde_json::to_value(value)?);
        Ok(self)
    }

    /// Sets a top-level fact to a JSON value.
    pub fn insert(&mut self, key: &str, value: Value) {
        self.0.insert(key.to_owned(), value);
    }

    /// The value at a dotted path; array elements are addressed by index (`labels.0`). `null`
    /// counts as absent, so a cleared field and a missing one test the same.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut segments = path.split('.');
        let mut current = self.0.get(segments.next()?)?;
        for segment in segments {
            current = match current {
                Value::Object(map) => map.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        (!current.is_null()).then_some(current)
    }

    /// The value at a path as display text: strings as they are, numbers and booleans in
    /// their JSON spelling; objects, arrays and absent values give `None`.
    pub fn text(&self, path: &str) -> Option<String> {
        match self.get(path)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn as_value(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_paths_reach_into_objects_and_arrays() {
        let facts = FactSnapshot::from_value(json!({
            "contact": {"name": "Ada", "attributes": {"plan": "pro", "seats": 12}},
            "conversation": {"labels": ["vip", "refund"], "assignee_id": null}
        }));
        assert_eq!(facts.get("contact.name"), Some(&json!("Ada")));
        assert_eq!(facts.get("contact.attributes.plan"), Some(&json!("pro")));
        assert_eq!(
            facts.text("contact.attributes.seats").as_deref(),
            Some("12")
        );
        assert_eq!(facts.get("conversation.labels.1"), Some(&json!("refund")));
        assert_eq!(facts.get("conversation.labels.x"), None);
        assert_eq!(facts.get("conversation.assignee_id"), None);
        assert_eq!(facts.get("contact.name.first"), None);
        assert_eq!(facts.text("conversation.labels"), None);
    }

    #[test]
    fn facts_are_built_from_serializable_records() {
        let facts = FactSnapshot::new()
            .with("business_hours", true)
            .and_then(|f| f.with("csat", json!({"rating": 2})))
            .expect("facts");
        assert_eq!(facts.get("business_hours"), Some(&json!(true)));
        assert_eq!(facts.get("csat.rating"), Some(&json!(2)));
        assert_eq!(FactSnapshot::from_value(json!([1, 2])), FactSnapshot::new());
    }
}
