//! Canned responses: saved replies with variables, found in the console by typing their
//! shortcode (`/refund` …) and sent by agents or by automation rules.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::names::{fold, is_slug, mentions};
use super::template::{Rendered, Template, TemplateError, Variables};
use crate::sort::sort_by;

/// Longest canned-response title.
pub const MAX_CANNED_TITLE_CHARS: usize = 200;
/// Longest canned-response id.
pub const MAX_CANNED_ID_CHARS: usize = 64;
/// Most canned responses per tenant.
pub const MAX_CANNED_RESPONSES: usize = 1000;

/// A saved reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedResponse {
    /// Stable id, referenced by automation rules (the shortcode may be renamed).
    pub id: String,
    /// What agents type after `/`, e.g. `refund-policy`.
    pub shortcode: String,
    pub title: String,
    /// A template; see [`super::template`] for variables.
    pub body: String,
}

/// Why a canned response is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CannedError {
    #[error("a canned response id must be 1-{MAX_CANNED_ID_CHARS} printable characters")]
    InvalidId,
    #[error("shortcode `{0}` must be 1-64 characters of a-z, 0-9, `-` and `_`")]
    InvalidShortcode(String),
    #[error("the title must be 1-{MAX_CANNED_TITLE_CHARS} characters")]
    InvalidTitle,
    #[error("the body must not be blank")]
    EmptyBody,
    #[error("body: {0}")]
    Body(#[from] TemplateError),
    #[error("two canned responses use the shortcode `{0}`")]
    DuplicateShortcode(String),
    #[error("two canned responses have the id `{0}`")]
    DuplicateId(String),
    #[error("a tenant may have at most {MAX_CANNED_RESPONSES} canned responses")]
    TooMany,
}

impl CannedResponse {
    pub fn validate(&self) -> Result<(), CannedError> {
        let id_ok = !self.id.trim().is_empty()
            && self.id.chars().count() <= MAX_CANNED_ID_CHARS
            && !self.id.chars().any(|c| c.is_control() || c.is_whitespace());
        if !id_ok {
            return Err(CannedError::InvalidId);
        }
        if !is_slug(&self.shortcode) {
            return Err(CannedError::InvalidShortcode(self.shortcode.clone()));
        }
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > MAX_CANNED_TITLE_CHARS {
            return Err(CannedError::InvalidTitle);
        }
        if self.body.trim().is_empty() {
            return Err(CannedError::EmptyBody);
        }
        Template::parse(&self.body)?;
        Ok(())
    }

    /// The body with variables filled in.
    pub fn render(&self, vars: &impl Variables) -> Result<Rendered, CannedError> {
        Ok(Template::parse(&self.body)?.render(vars))
    }
}

/// Validates a tenant's canned responses together: each one, unique ids and shortcodes.
pub fn validate_canned(responses: &[CannedResponse]) -> Result<(), CannedError> {
    if responses.len() > MAX_CANNED_RESPONSES {
        return Err(CannedError::TooMany);
    }
    let mut ids = BTreeSet::new();
    let mut shortcodes = BTreeSet::new();
    for response in responses {
        response.validate()?;
        if !ids.insert(response.id.as_str()) {
            return Err(CannedError::DuplicateId(response.id.clone()));
        }
        if !shortcodes.insert(response.shortcode.as_str()) {
            return Err(CannedError::DuplicateShortcode(response.shortcode.clone()));
        }
    }
    Ok(())
}

/// Finds canned responses for what an agent typed: first those whose shortcode starts with the
/// query (a leading `/` is ignored, case too), shortest shortcode first so an exact match leads;
/// then those with a title word starting with it. At most `limit` results; an empty query lists
/// everything in shortcode order.
pub fn search_canned<'a>(
    responses: &'a [CannedResponse],
    query: &str,
    limit: usize,
) -> Vec<&'a CannedResponse> {
    let query = fold(query.trim().trim_start_matches('/'));
    let mut by_shortcode: Vec<&CannedResponse> = responses
        .iter()
        .filter(|r| r.shortcode.starts_with(&query))
        .collect();
    sort_by(&mut by_shortcode, |a, b| {
        a.shortcode
            .len()
            .cmp(&b.shortcode.len())
            .then_with(|| a.shortcode.cmp(&b.shortcode))
    });
    if query.is_empty() {
        sort_by(&mut by_shortcode, |a, b| a.shortcode.cmp(&b.shortcode));
        by_shortcode.truncate(limit);
        return by_shortcode;
    }
    let mut by_title: Vec<&CannedResponse> = responses
        .iter()
        .filter(|r| !r.shortcode.starts_with(&query) && mentions(&fold(&r.title), &query))
        .collect();
    sort_by(&mut by_title, |a, b| a.shortcode.cmp(&b.shortcode));
    by_shortcode.extend(by_title);
    by_shortcode.truncate(limit);
    by_shortcode
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::facts::FactSnapshot;
    use serde_json::json;

    fn canned(id: &str, shortcode: &str, title: &str) -> CannedResponse {
        CannedResponse {
            id: id.into(),
            shortcode: shortcode.into(),
            title: title.into(),
            body: "Hi {{contact.first_name|there}}, {{agent.name}} here.".into(),
        }
    }

    fn library() -> Vec<CannedResponse> {
        vec![
            canned("c1", "refund-policy", "Our refund policy"),
            canned("c2", "refund", "Refund started"),
            canned("c3", "shipping", "Shipping times"),
            canned("c4", "greeting", "Hello and welcome"),
            canned("c5", "ref-code", "Referral code"),
        ]
    }

    fn shortcodes(found: &[&CannedResponse]) -> Vec<String> {
        found.iter().map(|r| r.shortcode.clone()).collect()
    }

    #[test]
    fn search_matches_shortcode_prefixes_shortest_first() {
        let lib = library();
        assert_eq!(
            shortcodes(&search_canned(&lib, "/REF", 10)),
            ["refund", "ref-code", "refund-policy"]
        );
        assert_eq!(
            shortcodes(&search_canned(&lib, "refund", 10)),
            ["refund", "refund-policy"]
        );
        assert_eq!(
            shortcodes(&search_canned(&lib, "/ref", 2)),
            ["refund", "ref-code"]
        );
    }

    #[test]
    fn search_falls_back_to_title_words_after_shortcodes() {
        let lib = library();
        assert_eq!(shortcodes(&search_canned(&lib, "welc", 10)), ["greeting"]);
        assert_eq!(shortcodes(&search_canned(&lib, "times", 10)), ["shipping"]);
        assert!(search_canned(&lib, "zzz", 10).is_empty());
    }

    #[test]
    fn an_empty_query_lists_everything_alphabetically() {
        let lib = library();
        assert_eq!(
            shortcodes(&search_canned(&lib, "/", 3)),
            ["greeting", "ref-code", "refund"]
        );
    }

    #[test]
    fn a_canned_response_renders_with_the_conversation_facts() {
        let facts = FactSnapshot::from_value(json!({
            "contact": {"name": "Ada Lovelace"}, "agent": {"name": "Grace"}
        }));
        let rendered = library()[0].render(&facts).expect("valid body");
        assert_eq!(rendered.text, "Hi Ada, Grace here.");
    }

    #[test]
    fn validation_refuses_bad_or_clashing_responses() {
        assert_eq!(validate_canned(&library()), Ok(()));
        let mut clash = library();
        clash.push(canned("c9", "refund", "Again"));
        assert_eq!(
            validate_canned(&clash),
            Err(CannedError::DuplicateShortcode("refund".into()))
        );
        let mut same_id = library();
        same_id.push(canned("c1", "other", "Other"));
        assert_eq!(
            validate_canned(&same_id),
            Err(CannedError::DuplicateId("c1".into()))
        );
        let mut bad = canned("c1", "Refund Policy", "t");
        assert!(matches!(
            bad.validate(),
            Err(CannedError::InvalidShortcode(_))
        ));
        bad.shortcode = "ok".into();
        bad.body = "Hi {{contact.nam}}".into();
        assert!(matches!(
            bad.validate(),
            Err(CannedError::Body(TemplateError::UnknownVariable { .. }))
        ));
        bad.body = "   ".into();
        assert_eq!(bad.validate(), Err(CannedError::EmptyBody));
        bad.body = "x".into();
        bad.title = " ".into();
        assert_eq!(bad.validate(), Err(CannedError::InvalidTitle));
    }
}
