//! Text templates with variables, for canned responses and automation notes:
//! `Hi {{contact.first_name | there}}, this is {{agent.name}}.`
//!
//! # Unknown and missing variables
//!
//! Variable names come from a fixed vocabulary ([`VARIABLES`], plus `contact.attributes.<key>`).
//! A name outside it is a typo, so [`Template::parse`] refuses it with
//! [`TemplateError::UnknownVariable`] when the template is saved: a misspelt variable never
//! reaches a customer as raw `{{…}}` text. A known variable whose value is absent at render time
//! renders as its fallback (the text after `|`), or as nothing; [`Rendered::missing`] lists such
//! variables so the console can warn the agent before sending.
//!
//! `{{` always opens a variable; templates have no escape for a literal `{{`.

use serde::{Deserialize, Serialize};

use super::facts::FactSnapshot;

/// Longest template.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;
/// Most variables in one template.
pub const MAX_TEMPLATE_VARIABLES: usize = 50;
/// Longest fallback text.
pub const MAX_FALLBACK_CHARS: usize = 200;

/// The variables templates may use. `first_name` is the first word of `name`.
pub const VARIABLES: &[&str] = &[
    "contact.name",
    "contact.first_name",
    "contact.email",
    "contact.phone",
    "agent.name",
    "agent.first_name",
    "agent.email",
    "conversation.id",
    "conversation.subject",
    "conversation.channel",
    "conversation.priority",
    "conversation.status",
    "ticket.id",
    "ticket.number",
    "ticket.subject",
    "ticket.status",
    "ticket.priority",
    "tenant.name",
];

/// Prefix of the open-ended variables: any contact attribute.
pub const ATTRIBUTE_PREFIX: &str = "contact.attributes.";

/// Whether `name` is a variable templates may use.
pub fn is_known_variable(name: &str) -> bool {
    VARIABLES.contains(&name)
        || name.strip_prefix(ATTRIBUTE_PREFIX).is_some_and(|key| {
            !key.is_empty()
                && key.chars().count() <= crate::api::limits::MAX_ATTRIBUTE_KEY_CHARS
                && !key.contains(['.', '{', '}', '|'])
                && !key.chars().any(char::is_whitespace)
        })
}

/// Why a template is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template is longer than {MAX_TEMPLATE_BYTES} bytes")]
    TooLong,
    #[error("`{{{{` at byte {0} is never closed with `}}}}`")]
    Unclosed(usize),
    #[error("empty variable at byte {0}")]
    EmptyVariable(usize),
    #[error("unknown variable `{name}` at byte {at}")]
    UnknownVariable { name: String, at: usize },
    #[error("fallback of `{0}` is longer than {MAX_FALLBACK_CHARS} characters")]
    FallbackTooLong(String),
    #[error("more than {MAX_TEMPLATE_VARIABLES} variables")]
    TooManyVariables,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Variable { name: String, fallback: String },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// A rendered template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    pub text: String,
    /// Variables that had no value and rendered as their fallback (or nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// Where variable values come from.
pub trait Variables {
    /// The text for a variable, or `None` when absent.
    fn value(&self, name: &str) -> Option<String>;
}

impl Variables for FactSnapshot {
    /// Variables read the fact at the same path; `*.first_name` falls back to the first word
    /// of `*.name`.
    fn value(&self, name: &str) -> Option<String> {
        if let Some(v) = self.text(name).filter(|v| !v.trim().is_empty()) {
            return Some(v);
        }
        let owner = name.strip_suffix(".first_name")?;
        self.text(&format!("{owner}.name"))?
            .split_whitespace()
            .next()
            .map(str::to_owned)
    }
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::TooLong);
        }
        let mut parts = Vec::new();
        let mut rest = source;
        let mut offset = 0;
        let mut variables = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let at = offset + open;
            let inner_start = open + 2;
            let close = rest[inner_start..]
                .find("}}")
                .ok_or(TemplateError::Unclosed(at))?;
            let inner = &rest[inner_start..inner_start + close];
            let (name, fallback) = match inner.split_once('|') {
                Some((name, fallback)) => (name.trim(), fallback.trim()),
                None => (inner.trim(), ""),
            };
            if name.is_empty() {
                return Err(TemplateError::EmptyVariable(at));
            }
            if !is_known_variable(name) {
                return Err(TemplateError::UnknownVariable {
                    name: name.to_owned(),
                    at,
                });
            }
            if fallback.chars().count() > MAX_FALLBACK_CHARS {
                return Err(TemplateError::FallbackTooLong(name.to_owned()));
            }
            variables += 1;
            if variables > MAX_TEMPLATE_VARIABLES {
                return Err(TemplateError::TooManyVariables);
            }
            parts.push(Part::Variable {
                name: name.to_owned(),
                fallback: fallback.to_owned(),
            });
            let consumed = inner_start + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// The variables the template uses, in order of first use.
    pub fn variables(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for part in &self.parts {
            if let Part::Variable { name, .. } = part {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Fills in the variables. Never fails: absent values use the fallback.
    pub fn render(&self, vars: &impl Variables) -> Rendered {
        let mut text = String::new();
        let mut missing: Vec<String> = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => text.push_str(t),
                Part::Variable { name, fallback } => match vars.value(name) {
                    Some(value) => text.push_str(&value),
                    None => {
                        text.push_str(fallback);
                        if !missing.contains(name) {
                            missing.push(name.clone());
                        }
                    }
                },
            }
        }
        Rendered { text, missing }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> FactSnapshot {
        FactSnapshot::from_value(json!({
            "contact": {"name": "Ada Lovelace", "attributes": {"plan": "pro"}},
            "agent": {"name": "Grace Hopper"},
            "conversation": {"id": "cnv_01JD3QXV6ZK8M5N2P4R7S9T0WX"},
            "ticket": {"number": 42}
        }))
    }

    #[test]
    fn variables_are_filled_from_the_facts() {
        let t = Template::parse(
            "Hi {{contact.first_name}}, {{ agent.name }} here about {{conversation.id}} \
             (ticket #{{ticket.number}}, plan {{contact.attributes.plan}}).",
        )
        .expect("valid");
        let rendered = t.render(&facts());
        assert_eq!(
            rendered.text,
            "Hi Ada, Grace Hopper here about cnv_01JD3QXV6ZK8M5N2P4R7S9T0WX (ticket #42, plan pro)."
        );
        assert!(rendered.missing.is_empty());
    }

    #[test]
    fn a_missing_value_uses_the_fallback_and_is_reported() {
        let t = Template::parse("Hi {{contact.email | there}}{{contact.phone}}!").expect("valid");
        let rendered = t.render(&facts());
        assert_eq!(rendered.text, "Hi there!");
        assert_eq!(rendered.missing, ["contact.email", "contact.phone"]);
    }

    #[test]
    fn an_unknown_variable_is_refused_when_the_template_is_saved() {
        assert_eq!(
            Template::parse("Hi {{contact.nmae}}"),
            Err(TemplateError::UnknownVariable {
                name: "contact.nmae".into(),
                at: 3
            })
        );
        assert_eq!(
            Template::parse("Hi {{ }}"),
            Err(TemplateError::EmptyVariable(3))
        );
        assert_eq!(
            Template::parse("Hi {{contact.name"),
            Err(TemplateError::Unclosed(3))
        );
        assert!(Template::parse("{{contact.attributes.}}").is_err());
        assert!(Template::parse("{{contact.attributes.a b}}").is_err());
    }

    #[test]
    fn text_without_variables_renders_as_is() {
        let t = Template::parse("Plain text with } and { braces").expect("valid");
        assert_eq!(t.render(&facts()).text, "Plain text with } and { braces");
        assert!(t.variables().is_empty());
    }

    #[test]
    fn size_limits_are_enforced() {
        assert_eq!(
            Template::parse(&"x".repeat(MAX_TEMPLATE_BYTES + 1)),
            Err(TemplateError::TooLong)
        );
        let many = "{{agent.name}}".repeat(MAX_TEMPLATE_VARIABLES + 1);
        assert_eq!(Template::parse(&many), Err(TemplateError::TooManyVariables));
        let long_fallback = format!("{{{{agent.name|{}}}}}", "x".repeat(MAX_FALLBACK_CHARS + 1));
        assert_eq!(
            Template::parse(&long_fallback),
            Err(TemplateError::FallbackTooLong("agent.name".into()))
        );
    }

    #[test]
    fn non_ascii_text_around_variables_is_kept() {
        let t = Template::parse("Grüße, {{agent.first_name}} 👋").expect("valid");
        assert_eq!(t.render(&facts()).text, "Grüße, Grace 👋");
        assert_eq!(t.variables(), ["agent.first_name"]);
    }
}
