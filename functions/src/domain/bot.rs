//! The tenant's bot: intents with example phrases, trained inside the functions, its settings,
//! and understanding a text (intent, entities, sentiment). Answering visitors while it holds a
//! conversation is `crate::domain::bot_turn`.
//!
//! Storage, in the tenant actor: `bot:settings`, `bot:intents` (every intent in one record, so
//! a change and the model trained from it commit together), `bot:model` (the serialised
//! [`IntentModel`]) and `bot:conv:<conversation>` (what the bot did there, for the containment
//! report). In the conversation actor: `bot` (the dialogue state and the last contact message
//! answered). A bot turn writes its replies, the detected intent and entities on the visitor's
//! message, and the new state in one batch of the conversation actor, so a turn is either
//! entirely there or not at all, and a retried request finds the message already answered.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::keys;
use crate::ports::Platform;
use crate::store::get_json;
use edgedesk_nlp::dialogue::{DialogueSpec, DialogueState, SlotSpec};
use edgedesk_nlp::{Entity, Example, Extractor, ExtractorConfig, IntentModel, OrderPattern};
use edgedesk_shared::ids::ConversationId;
use edgedesk_shared::model::ChannelKind;
use edgedesk_tz::Zone;

pub(crate) const MAX_INTENTS: usize = 100;
pub(crate) const MAX_EXAMPLES: usize = 200;
pub(crate) const MAX_TEXT_CHARS: usize = 2000;
/// The label of the built-in off-topic phrases the model learns as "none of the intents".
pub(crate) const OUT_OF_SCOPE: &str = "out_of_scope";

/// Off-topic phrases trained as the out-of-scope class, so a tenant with one intent still has
/// two classes and small talk does not land on an intent.
pub(crate) const OUT_OF_SCOPE_EXAMPLES: &[&str] = &[
    "hello",
    "hi there",
    "good morning",
    "thanks",
    "thank you very much",
    "what is the weather like today",
    "tell me a joke",
    "who are you",
    "how are you",
    "what time is it",
    "I like pizza",
    "can you sing a song",
    "what is the meaning of life",
    "ok",
    "bye",
    "你好",
    "谢谢",
    "今天天气怎么样",
    "讲个笑话",
    "再见",
];

/// Phrases that ask for a person, in English and Chinese.
pub(crate) const HUMAN_WORDS: &[&str] = &[
    "human",
    "real person",
    "a person",
    "an agent",
    "live agent",
    "representative",
    "operator",
    "someone real",
    "talk to someone",
    "speak to someone",
    "人工",
    "真人",
    "客服",
    "转人工",
];

// ---------------------------------------------------------------------------------------------
// Records.
// ---------------------------------------------------------------------------------------------

/// The tenant's bot settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotSettings {
    /// The bot answers only when enabled.
    #[serde(default)]
    pub enabled: bool,
    /// Channels whose conversations the bot answers (`web`, `api`).
    #[serde(default = "default_channels")]
    pub channels: Vec<ChannelKind>,
    /// Sent when the bot hands a conversation to a person.
    #[serde(default = "default_handoff_message")]
    pub handoff_message: String,
    /// Sent when the bot did not understand (the second time it hands off).
    #[serde(default = "default_fallback_message")]
    pub fallback_message: String,
    /// A knowledge-base hit must score at least this (BM25) to be offered as the answer.
    #[serde(default = "default_kb_min_score")]
    pub kb_min_score: f32,
    /// A visitor message scoring below this sentiment hands off at once.
    #[serde(default = "default_negative_sentiment")]
    pub negative_sentiment: f32,
    /// IANA timezone relative dates ("tomorrow", "明天") are resolved in.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Order-number patterns for entity extraction, e.g. `ORD-\d{5}`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub order_patterns: Vec<OrderPattern>,
}

pub(crate) fn default_channels() -> Vec<ChannelKind> {
    vec![ChannelKind::Web, ChannelKind::Api]
}
pub(crate) fn default_handoff_message() -> String {
    "Let me connect you with a member of our team.".into()
}
pub(crate) fn default_fallback_message() -> String {
    "Sorry, I did not understand that. Could you say it another way?".into()
}
// BM25 scores grow with the corpus (rare terms weigh more): in a small help center a
// question matching an article's whole title scores about 1, so the bar starts low.
pub(crate) fn default_kb_min_score() -> f32 {
    0.5
}
pub(crate) fn default_negative_sentiment() -> f32 {
    -0.5
}
pub(crate) fn default_timezone() -> String {
    "UTC".into()
}

impl Default for BotSettings {
    fn default() -> Self {
        BotSettings {
            enabled: false,
            channels: default_channels(),
            handoff_message: default_handoff_message(),
            fallback_message: default_fallback_message(),
            kb_min_score: default_kb_min_score(),
            negative_sentiment: default_negative_sentiment(),
            timezone: default_timezone(),
            order_patterns: Vec::new(),
        }
    }
}

impl BotSettings {
    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        for (name, text) in [
            ("handoff_message", &self.handoff_message),
            ("fallback_message", &self.fallback_message),
        ] {
            if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
                return Err(ApiError::unprocessable(format!(
                    "{name}: 1 to {MAX_TEXT_CHARS} characters"
                )));
            }
        }
        if !(-1.0..=1.0).contains(&self.negative_sentiment) {
            return Err(ApiError::unprocessable(
                "negative_sentiment: between -1 and 1",
            ));
        }
        if !self.kb_min_score.is_finite() || self.kb_min_score < 0.0 {
            return Err(ApiError::unprocessable("kb_min_score: a number >= 0"));
        }
        self.tz()?;
        if self.order_patterns.len() > 20 {
            return Err(ApiError::unprocessable("order_patterns: at most 20"));
        }
        if self.order_patterns.iter().any(|p| p.regex.len() > 200) {
            return Err(ApiError::unprocessable(
                "order_patterns: a pattern is longer than 200 characters",
            ));
        }
        self.extractor()?;
        Ok(())
    }

    fn tz(&self) -> Result<Zone, ApiError> {
        Zone::from_name(&self.timezone)
            .map_err(|_| ApiError::unprocessable(format!("timezone: unknown `{}`", self.timezone)))
    }

    fn extractor(&self) -> Result<Extractor, ApiError> {
        Extractor::new(&ExtractorConfig {
            order_patterns: self.order_patterns.clone(),
        })
        .map_err(|e| ApiError::unprocessable(format!("order_patterns: {e}")))
    }
}

/// One intent: example phrases, a confidence threshold, and the dialogue that answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotIntent {
    /// Lower-case letters, digits, `_` and `-`; the label the classifier reports.
    pub id: String,
    /// Phrases a visitor might write for this intent.
    pub examples: Vec<String>,
    /// The probability the intent needs to be recognised (default 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
    /// Information to collect before answering, asked for in order.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub slots: Vec<SlotSpec>,
    /// Asked once the slots are filled, e.g. "Look up order {order}?".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<String>,
    /// Called (POST, signed) with `{"intent","slots"}`; its JSON object answer fills `{field}`s
    /// of the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The answer; `{slot}` and webhook `{field}` placeholders are filled in.
    pub reply: String,
    /// Recognising this intent hands the conversation to a person (after the reply, if any).
    #[serde(default)]
    pub handoff: bool,
    /// Set by the server on every write; a value sent by the client is ignored.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl BotIntent {
    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self.id != OUT_OF_SCOPE
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !id_ok {
            return Err(ApiError::unprocessable(
                "id: 1 to 64 of a-z, 0-9, `_`, `-` (and not `out_of_scope`)",
            ));
        }
        let examples: Vec<&String> = self
            .examples
            .iter()
            .filter(|e| !e.trim().is_empty())
            .collect();
        if examples.is_empty() || self.examples.len() > MAX_EXAMPLES {
            return Err(ApiError::unprocessable(format!(
                "examples: 1 to {MAX_EXAMPLES} non-blank phrases"
            )));
        }
        if self.examples.iter().any(|e| e.chars().count() > 500) {
            return Err(ApiError::unprocessable(
                "examples: at most 500 characters each",
            ));
        }
        if self.threshold.is_some_and(|t| !(0.0..=1.0).contains(&t)) {
            return Err(ApiError::unprocessable("threshold: between 0 and 1"));
        }
        if self.slots.len() > 10 {
            return Err(ApiError::unprocessable("slots: at most 10"));
        }
        let mut names = std::collections::BTreeSet::new();
        for s in &self.slots {
            if s.name.trim().is_empty() || s.name.len() > 64 || !names.insert(s.name.as_str()) {
                return Err(ApiError::unprocessable(
                    "slots: names must be 1 to 64 characters and unique",
                ));
            }
            if s.question.trim().is_empty() || s.question.chars().count() > MAX_TEXT_CHARS {
                return Err(ApiError::unprocessable(format!(
                    "slots.{}: a question is needed",
                    s.name
                )));
            }
        }
        for (name, text) in [
            ("reply", Some(&self.reply)),
            ("confirm", self.confirm.as_ref()),
        ] {
            if let Some(t) = text {
                if t.trim().is_empty() || t.chars().count() > MAX_TEXT_CHARS {
                    return Err(ApiError::unprocessable(format!(
                        "{name}: 1 to {MAX_TEXT_CHARS} characters"
                    )));
                }
            }
        }
        if let Some(url) = &self.webhook_url {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && url.len() <= 2000
                && url.parse::<http::Uri>().is_ok();
            if !ok {
                return Err(ApiError::unprocessable("webhook_url: an http(s) URL"));
            }
        }
        Ok(())
    }

    pub(crate) fn spec(&self) -> DialogueSpec {
        DialogueSpec {
            intent: self.id.clone(),
            slots: self.slots.clone(),
            confirm: self.confirm.clone(),
            webhook: self.webhook_url.clone(),
            reply: self.reply.clone(),
            cancelled_reply: "Okay, I have cancelled that.".into(),
            max_attempts: 2,
        }
    }
}

/// Where the bot is in one conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct BotState {
    /// The last contact message the bot dealt with (a retry finds it answered).
    pub(crate) last_seq: u64,
    pub(crate) handed_off: bool,
    /// Messages in a row the bot did not understand.
    pub(crate) misses: u8,
    pub(crate) dialogue: Option<DialogueState>,
}

/// What the bot did in one conversation, for the containment report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BotConversation {
    pub(crate) conversation_id: ConversationId,
    pub(crate) turns: u32,
    pub(crate) handoff_reason: Option<String>,
    pub(crate) updated_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Training and classification.
// ---------------------------------------------------------------------------------------------

/// Trains the model for a set of intents; `None` when there are none.
pub(crate) fn train(intents: &[BotIntent]) -> Result<Option<Vec<u8>>, ApiError> {
    if intents.is_empty() {
        return Ok(None);
    }
    let mut examples: Vec<Example> = OUT_OF_SCOPE_EXAMPLES
        .iter()
        .map(|t| Example::new(*t, OUT_OF_SCOPE))
        .collect();
    for i in intents {
        examples.extend(
            i.examples
                .iter()
                .filter(|e| !e.trim().is_empty())
                .map(|e| Example::new(e.as_str(), i.id.as_str())),
        );
    }
    let mut model = IntentModel::train(&examples, &edgedesk_nlp::TrainConfig::default())
        .map_err(|e| ApiError::unprocessable(format!("training failed: {e}")))?;
    for i in intents {
        if let Some(t) = i.threshold {
            model
                .set_threshold(&i.id, t)
                .map_err(|e| ApiError::unprocessable(e.to_string()))?;
        }
    }
    Ok(Some(model.to_bytes()))
}

/// What the bot makes of one text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Understanding {
    /// The recognised intent, or `null` when out of scope or below its threshold.
    pub intent: Option<String>,
    /// The best-scoring label, recognised or not.
    pub best: Option<String>,
    pub confidence: f32,
    #[schema(value_type = Vec<Object>)]
    pub entities: Vec<Entity>,
    pub sentiment: f32,
}

pub(crate) async fn understand<P: Platform>(
    p: &P,
    tactor: &str,
    settings: &BotSettings,
    text: &str,
) -> Result<Understanding, ApiError> {
    let model = match p.get(tactor, keys::tenant::BOT_MODEL).await? {
        Some(bytes) => Some(IntentModel::from_bytes(&bytes).map_err(ApiError::internal_from)?),
        None => None,
    };
    let (intent, best, confidence) = match &model {
        Some(m) => {
            let pr = m.predict(text);
            (pr.intent, Some(pr.best), pr.confidence)
        }
        None => (None, None, 0.0),
    };
    let tz = settings.tz().unwrap_or(Zone::UTC);
    let entities = settings
        .extractor()
        .map(|x| x.extract(text, p.now(), &tz))
        .unwrap_or_default();
    Ok(Understanding {
        intent,
        best,
        confidence: (confidence * 1000.0).round() / 1000.0,
        entities,
        sentiment: edgedesk_nlp::sentiment(text),
    })
}

pub async fn settings<P: Platform>(p: &P, tactor: &str) -> Result<BotSettings, ApiError> {
    Ok(get_json(p, tactor, keys::tenant::BOT_SETTINGS)
        .await?
        .unwrap_or_default())
}

pub(crate) async fn intents<P: Platform>(p: &P, tactor: &str) -> Result<Vec<BotIntent>, ApiError> {
    Ok(get_json(p, tactor, keys::tenant::BOT_INTENTS)
        .await?
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bot_turn::asks_for_human;

    fn intent(id: &str, examples: &[&str]) -> BotIntent {
        BotIntent {
            id: id.into(),
            examples: examples.iter().map(|e| (*e).to_owned()).collect(),
            threshold: None,
            slots: Vec::new(),
            confirm: None,
            webhook_url: None,
            reply: "ok".into(),
            handoff: false,
            updated_at: None,
        }
    }

    #[test]
    fn one_intent_trains_against_the_built_in_out_of_scope_phrases() {
        let bytes = train(&[intent(
            "order_status",
            &[
                "where is my order",
                "track my order",
                "has my order shipped",
                "order status",
            ],
        )])
        .expect("trains")
        .expect("a model");
        let model = IntentModel::from_bytes(&bytes).expect("loads");
        assert_eq!(
            model.predict("where is my order?").intent.as_deref(),
            Some("order_status")
        );
        assert_eq!(model.predict("tell me a joke").intent, None);
        assert_eq!(train(&[]).expect("no intents"), None);
    }

    #[test]
    fn intents_with_bad_ids_urls_or_no_examples_are_refused() {
        assert!(intent("order_status", &["where is it"]).validate().is_ok());
        assert!(intent("Order Status", &["where is it"]).validate().is_err());
        assert!(intent(OUT_OF_SCOPE, &["where is it"]).validate().is_err());
        assert!(intent("x", &["  "]).validate().is_err());
        let mut i = intent("x", &["a"]);
        i.webhook_url = Some("ftp://example.com".into());
        assert!(i.validate().is_err());
        i.webhook_url = Some("https://shop.example/orders".into());
        assert!(i.validate().is_ok());
        i.threshold = Some(1.5);
        assert!(i.validate().is_err());
    }

    #[test]
    fn a_stored_intent_reads_back() {
        let mut i = intent("order_status", &["where is my order"]);
        i.updated_at = Some("2025-01-01T00:00:00Z".parse().expect("time"));
        let bytes = serde_json::to_vec(&vec![i.clone()]).expect("JSON");
        let back: Vec<BotIntent> = serde_json::from_slice(&bytes).expect("reads back");
        assert_eq!(back, vec![i]);
    }

    #[test]
    fn requests_for_a_person_are_recognised_in_english_and_chinese() {
        assert!(asks_for_human("I want to talk to a human"));
        assert!(asks_for_human("转人工"));
        assert!(!asks_for_human("where is my order"));
    }

    #[test]
    fn settings_refuse_unknown_timezones_and_bad_patterns() {
        assert!(BotSettings::default().validate().is_ok());
        let bad_tz = BotSettings {
            timezone: "Mars/Olympus".into(),
            ..BotSettings::default()
        };
        assert!(bad_tz.validate().is_err());
        let bad_pattern = BotSettings {
            order_patterns: vec![OrderPattern {
                name: "order".into(),
                regex: "ORD-(".into(),
            }],
            ..BotSettings::default()
        };
        assert!(bad_pattern.validate().is_err());
    }
}
