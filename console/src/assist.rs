//! What the console shows of the bot's work and offers the agent while writing: a compact
//! summary of what the language models detected in a message (intent, confidence, entities,
//! sentiment, a handoff), and the `/shortcode` a reply draft ends with, which opens the canned
//! response picker.

use edgedesk_shared::routing::CannedResponse;
use serde_json::Value;

/// What was detected in one message, reduced to what fits on one line under it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detected {
    /// The recognised intent, or the best guess when none passed its threshold.
    pub intent: Option<String>,
    /// Whether `intent` passed its threshold (a guess below it is shown as such).
    pub recognised: bool,
    pub confidence: Option<f64>,
    /// `kind: text` of each entity, e.g. `order_number: ORD-12345`.
    pub entities: Vec<String>,
    pub sentiment: Option<f64>,
    /// Why the bot handed the conversation to a person.
    pub handoff: Option<String>,
}

impl Detected {
    /// Reads a message's `sentiment` and `bot` fields as the agents' message list and live feed
    /// return them. `None` when there is nothing to show.
    pub fn of(sentiment: Option<f64>, bot: Option<&Value>) -> Option<Detected> {
        let mut d = Detected {
            sentiment,
            ..Detected::default()
        };
        if let Some(bot) = bot {
            let handoff = bot.get("handoff");
            d.handoff = handoff
                .and_then(|h| h.get("reason"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            // A handoff reply carries what was detected in the message that caused it.
            let detected = handoff.and_then(|h| h.get("detected")).unwrap_or(bot);
            let intent = detected.get("intent").and_then(Value::as_str);
            let best = detected.get("best").and_then(Value::as_str);
            d.recognised = intent.is_some();
            d.intent = intent.or(best).map(str::to_owned);
            d.confidence = detected.get("confidence").and_then(Value::as_f64);
            if d.sentiment.is_none() {
                d.sentiment = detected.get("sentiment").and_then(Value::as_f64);
            }
            d.entities = detected
                .get("entities")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|e| {
                            let kind = e.get("kind")?.as_str()?;
                            let text = e.get("text")?.as_str()?;
                            Some(format!("{kind}: {text}"))
                        })
                        .collect()
                })
                .unwrap_or_default();
        }
        let nothing = d.intent.is_none()
            && d.confidence.is_none()
            && d.entities.is_empty()
            // Every contact message is scored; a neutral score alone is not worth a line.
            && d.sentiment
                .is_none_or(|s| sentiment_band(s) == SentimentBand::Neutral)
            && d.handoff.is_none();
        (!nothing).then_some(d)
    }
}

/// What was detected in each message of an answer, by seq: a page of messages (`data`) or a
/// live feed (`events[].message`). Read from the JSON itself, so the console carries no
/// second decoder for messages.
pub fn metas(answer: &Value) -> Vec<(u64, Detected)> {
    let list = |field: &str| {
        answer
            .get(field)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    list("data")
        .iter()
        .chain(list("events").iter().filter_map(|e| e.get("message")))
        .filter_map(|m| {
            let seq = m.get("seq")?.as_u64()?;
            let sentiment = m.get("sentiment").and_then(Value::as_f64);
            Some((seq, Detected::of(sentiment, m.get("bot"))?))
        })
        .collect()
}

/// A canned response from its JSON.
pub fn canned_from(v: &Value) -> Option<CannedResponse> {
    let text = |f: &str| v.get(f).and_then(Value::as_str).map(str::to_owned);
    Some(CannedResponse {
        id: text("id")?,
        shortcode: text("shortcode")?,
        title: text("title")?,
        body: text("body")?,
    })
}

/// A sentiment score from -1 to 1 as the agent reads it: negative, neutral or positive, with
/// the score.
pub fn sentiment_band(score: f64) -> SentimentBand {
    if score <= -0.25 {
        SentimentBand::Negative
    } else if score >= 0.25 {
        SentimentBand::Positive
    } else {
        SentimentBand::Neutral
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentimentBand {
    Negative,
    Neutral,
    Positive,
}

/// The `/shortcode` a draft ends with: the byte offset of its `/` and what follows it. Only a
/// `/` at the start of the draft or after whitespace counts, so URLs and fractions do not open
/// the picker.
pub fn shortcode_at_end(draft: &str) -> Option<(usize, &str)> {
    let start = draft.rfind('/')?;
    let query = &draft[start + 1..];
    let valid = query
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let boundary = draft[..start]
        .chars()
        .next_back()
        .is_none_or(char::is_whitespace);
    (valid && boundary).then_some((start, query))
}

/// The draft with its trailing `/shortcode` (starting at `start`) replaced by `text`.
pub fn insert_canned(draft: &str, start: usize, text: &str) -> String {
    let mut out = String::with_capacity(start + text.len());
    out.push_str(&draft[..start.min(draft.len())]);
    out.push_str(text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_contact_message_shows_intent_confidence_entities_and_sentiment() {
        let bot = json!({
            "intent": "order_status", "best": "order_status", "confidence": 0.912,
            "entities": [{"kind": "order_number", "start": 10, "end": 19, "text": "ORD-12345",
                          "value": {"type": "order", "pattern": "default", "value": "ORD-12345"}}],
            "sentiment": -0.4
        });
        let d = Detected::of(Some(-0.5), Some(&bot)).expect("something detected");
        assert_eq!(d.intent.as_deref(), Some("order_status"));
        assert!(d.recognised);
        assert_eq!(d.confidence, Some(0.912));
        assert_eq!(d.entities, vec!["order_number: ORD-12345".to_owned()]);
        assert_eq!(d.sentiment, Some(-0.5), "the stored sentiment wins");
        assert_eq!(d.handoff, None);
    }

    #[test]
    fn a_guess_below_threshold_is_shown_but_not_as_recognised() {
        let bot = json!({"intent": null, "best": "refund", "confidence": 0.2, "entities": []});
        let d = Detected::of(None, Some(&bot)).expect("a guess");
        assert_eq!(d.intent.as_deref(), Some("refund"));
        assert!(!d.recognised);
    }

    #[test]
    fn a_handoff_reply_shows_its_reason_and_what_led_to_it() {
        let bot = json!({"handoff": {"reason": "negative sentiment",
            "detected": {"intent": "complaint", "confidence": 0.7, "entities": [], "sentiment": -0.8}}});
        let d = Detected::of(None, Some(&bot)).expect("handoff");
        assert_eq!(d.handoff.as_deref(), Some("negative sentiment"));
        assert_eq!(d.intent.as_deref(), Some("complaint"));
        assert_eq!(d.sentiment, Some(-0.8));
    }

    #[test]
    fn messages_without_metadata_show_nothing() {
        assert_eq!(Detected::of(None, None), None);
        assert_eq!(
            Detected::of(None, Some(&json!({"answer": "fallback"}))),
            None
        );
        assert_eq!(
            Detected::of(Some(0.05), None),
            None,
            "neutral sentiment alone"
        );
        assert!(
            Detected::of(Some(-0.7), None).is_some(),
            "an angry message is flagged"
        );
    }

    #[test]
    fn metadata_is_read_from_pages_and_feeds_by_seq() {
        let page = json!({"data": [
            {"seq": 1, "body": "hi", "sentiment": 0.0},
            {"seq": 2, "body": "where is my order", "sentiment": -0.6,
             "bot": {"intent": "order_status", "confidence": 0.8, "entities": []}}
        ], "last_seq": 2, "has_more": false});
        let found = metas(&page);
        assert_eq!(found.len(), 1, "the neutral greeting has nothing to show");
        assert_eq!(found[0].0, 2);
        assert_eq!(found[0].1.intent.as_deref(), Some("order_status"));
        let feed = json!({"events": [
            {"type": "typing", "from": "contact", "typing": true},
            {"type": "message", "message": {"seq": 7, "bot": {"handoff": {"reason": "asked"}}}}
        ]});
        let found = metas(&feed);
        assert_eq!(
            (found[0].0, found[0].1.handoff.as_deref()),
            (7, Some("asked"))
        );
    }

    #[test]
    fn canned_responses_are_read_from_json() {
        let v = json!({"id": "c1", "shortcode": "greet", "title": "Greeting", "body": "Hi {{contact.name}}"});
        let r = canned_from(&v).expect("complete");
        assert_eq!(
            (r.shortcode.as_str(), r.body.as_str()),
            ("greet", "Hi {{contact.name}}")
        );
        assert_eq!(canned_from(&json!({"id": "c1"})), None);
    }

    #[test]
    fn sentiment_scores_fall_into_three_bands() {
        assert_eq!(sentiment_band(-0.9), SentimentBand::Negative);
        assert_eq!(sentiment_band(0.0), SentimentBand::Neutral);
        assert_eq!(sentiment_band(0.6), SentimentBand::Positive);
    }

    #[test]
    fn a_slash_at_a_word_start_opens_the_picker() {
        assert_eq!(shortcode_at_end("/"), Some((0, "")));
        assert_eq!(shortcode_at_end("/gre"), Some((0, "gre")));
        assert_eq!(shortcode_at_end("Hi there /ref-po"), Some((9, "ref-po")));
        assert_eq!(shortcode_at_end("line\n/x"), Some((5, "x")));
    }

    #[test]
    fn slashes_inside_words_and_finished_shortcodes_do_not() {
        assert_eq!(shortcode_at_end("see https://x.example/a"), None);
        assert_eq!(shortcode_at_end("1/2"), None);
        assert_eq!(shortcode_at_end("/greet "), None);
        assert_eq!(shortcode_at_end("no slash"), None);
    }

    #[test]
    fn inserting_replaces_the_shortcode_and_keeps_what_came_before() {
        let draft = "Thanks! /gre";
        let (start, _) = shortcode_at_end(draft).expect("shortcode");
        assert_eq!(
            insert_canned(draft, start, "Hello Ann"),
            "Thanks! Hello Ann"
        );
        assert_eq!(insert_canned("/g", 0, "你好，Ann"), "你好，Ann");
    }
}
