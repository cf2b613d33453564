//! Multi-turn dialogue as a finite-state machine per intent: collect missing slots by asking,
//! confirm, call the tenant's webhook for the answer, reply.
//!
//! Pure data plus a transition function: the bot keeps a [`DialogueState`] per conversation (it
//! serialises to JSON), feeds each visitor message or webhook result as an [`Event`] into
//! [`DialogueSpec::step`], and performs the returned [`Action`]s (send a message, call the webhook,
//! hand off to a human). Nothing here does I/O, so every transition is unit-testable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::entities::{Entity, EntityKind, EntityValue};

/// One piece of information the intent needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotSpec {
    pub name: String,
    /// The entity that fills the slot; `None` takes the visitor's whole answer as the value.
    pub entity: Option<EntityKind>,
    /// Asked when the slot is missing.
    pub question: String,
}

/// The dialogue of one intent. Templates may use `{slot}` and, in `reply`, `{field}` of the
/// webhook's JSON object answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogueSpec {
    pub intent: String,
    pub slots: Vec<SlotSpec>,
    /// Asked once all slots are filled, e.g. "Check order {order}?"; `None` skips confirmation.
    pub confirm: Option<String>,
    /// Called with the slots as a JSON object; `None` replies straight away.
    pub webhook: Option<String>,
    pub reply: String,
    /// Sent when the visitor cancels.
    pub cancelled_reply: String,
    /// Unusable answers to one question before handing off.
    pub max_attempts: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", content = "slot", rename_all = "snake_case")]
pub enum Step {
    /// Waiting for the answer to the question for slot `n`.
    Collect(usize),
    Confirm,
    AwaitWebhook,
    Done,
    Cancelled,
    HandedOff,
}

/// Where one conversation is in its intent's dialogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogueState {
    pub intent: String,
    pub step: Step,
    pub slots: BTreeMap<String, String>,
    pub attempts: u8,
}

impl DialogueState {
    /// No further events change the state.
    pub fn is_finished(&self) -> bool {
        matches!(self.step, Step::Done | Step::Cancelled | Step::HandedOff)
    }
}

/// Input to the machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// A visitor message with the entities extracted from it.
    Message {
        text: &'a str,
        entities: &'a [Entity],
    },
    /// The webhook's answer: a JSON object, or why the call failed.
    Webhook(Result<serde_json::Map<String, serde_json::Value>, String>),
}

/// What the bot must do after a transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Ask {
        slot: String,
        text: String,
    },
    Confirm {
        text: String,
    },
    CallWebhook {
        url: String,
        payload: serde_json::Value,
    },
    Reply {
        text: String,
    },
    Handoff {
        reason: String,
    },
}

/// The text form of an entity as a slot value.
pub fn slot_value(e: &Entity) -> String {
    match &e.value {
        EntityValue::Order { value, .. }
        | EntityValue::Email { value }
        | EntityValue::Phone { value } => value.clone(),
        EntityValue::Amount { amount, currency } => format!("{amount} {currency}"),
        EntityValue::DateTime {
            date, time: None, ..
        } => date.to_string(),
        EntityValue::DateTime { instant, .. } => instant.to_rfc3339(),
    }
}

/// Replaces `{name}` with values from `vars`; unknown names stay as written.
pub fn render(template: &str, vars: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if !after[..close].contains('{') => {
                let name = after[..close].trim();
                match vars(name) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[derive(Debug, PartialEq)]
enum Answer {
    Yes,
    No,
    Unclear,
}

fn yes_no(text: &str) -> Answer {
    let t = crate::text::normalize(text);
    let t = t.trim().trim_end_matches(['.', '!', '。', '！', ',', '，']);
    const NO: &[&str] = &[
        "no",
        "nope",
        "nah",
        "n",
        "wrong",
        "incorrect",
        "not really",
        "不",
        "不是",
        "不对",
        "错了",
        "否",
        "不要",
        "不用",
    ];
    const YES: &[&str] = &[
        "yes",
        "y",
        "yeah",
        "yep",
        "yup",
        "sure",
        "ok",
        "okay",
        "correct",
        "right",
        "confirm",
        "yes please",
        "that's right",
        "是",
        "是的",
        "对",
        "对的",
        "好",
        "好的",
        "确认",
        "没错",
        "可以",
        "嗯",
    ];
    if NO.contains(&t)
        || t.starts_with("no ")
        || t.starts_with("no,")
        || t.starts_with("不是")
        || t.starts_with("不对")
    {
        Answer::No
    } else if YES.contains(&t)
        || t.starts_with("yes ")
        || t.starts_with("是的")
        || t.starts_with("对")
    {
        Answer::Yes
    } else {
        Answer::Unclear
    }
}

fn is_cancel(text: &str) -> bool {
    let t = crate::text::normalize(text);
    let t = t.trim().trim_end_matches(['.', '!', '。', '！']);
    [
        "cancel",
        "stop",
        "never mind",
        "nevermind",
        "forget it",
        "取消",
        "算了",
        "不用了",
    ]
    .contains(&t)
}

impl DialogueSpec {
    /// Starts the dialogue from the message that triggered the intent; its entities fill slots.
    pub fn start(&self, text: &str, entities: &[Entity]) -> (DialogueState, Vec<Action>) {
        let mut state = DialogueState {
            intent: self.intent.clone(),
            step: Step::Collect(0),
            slots: BTreeMap::new(),
            attempts: 0,
        };
        let _ = text;
        self.fill_from_entities(&mut state, entities);
        let actions = self.advance(&mut state);
        (state, actions)
    }

    /// The transition function: the next state and the actions to perform.
    pub fn step(&self, state: &DialogueState, event: Event<'_>) -> (DialogueState, Vec<Action>) {
        let mut s = state.clone();
        if s.is_finished() {
            return (s, Vec::new());
        }
        match (s.step, event) {
            (Step::AwaitWebhook, Event::Webhook(Ok(result))) => {
                let text = render(&self.reply, &|name| {
                    s.slots.get(name).cloned().or_else(|| {
                        result.get(name).map(|v| match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                    })
                });
                s.step = Step::Done;
                (s, vec![Action::Reply { text }])
            }
            (Step::AwaitWebhook, Event::Webhook(Err(e))) => {
                s.step = Step::HandedOff;
                (
                    s,
                    vec![Action::Handoff {
                        reason: format!("webhook failed: {e}"),
                    }],
                )
            }
            // A message while the webhook runs, or a stray webhook result: nothing to do.
            (Step::AwaitWebhook, Event::Message { .. }) | (_, Event::Webhook(_)) => (s, Vec::new()),
            (_, Event::Message { text, .. }) if is_cancel(text) => {
                s.step = Step::Cancelled;
                (
                    s,
                    vec![Action::Reply {
                        text: self.cancelled_reply.clone(),
                    }],
                )
            }
            (Step::Collect(i), Event::Message { text, entities }) => {
                let before = s.slots.len();
                self.fill_from_entities(&mut s, entities);
                if let Some(slot) = self.slots.get(i) {
                    if slot.entity.is_none()
                        && !s.slots.contains_key(&slot.name)
                        && !text.trim().is_empty()
                    {
                        s.slots.insert(slot.name.clone(), text.trim().to_string());
                    }
                }
                if s.slots.len() == before {
                    return self.retry(s, i);
                }
                s.attempts = 0;
                let actions = self.advance(&mut s);
                (s, actions)
            }
            (Step::Confirm, Event::Message { text, entities }) => match yes_no(text) {
                Answer::Yes => {
                    s.attempts = 0;
                    let actions = self.after_confirm(&mut s);
                    (s, actions)
                }
                Answer::No => {
                    // Start over, keeping whatever the correction itself supplies.
                    s.slots.clear();
                    s.attempts = 0;
                    self.fill_from_entities(&mut s, entities);
                    let actions = self.advance(&mut s);
                    (s, actions)
                }
                Answer::Unclear => {
                    s.attempts += 1;
                    if s.attempts >= self.max_attempts.max(1) {
                        s.step = Step::HandedOff;
                        return (
                            s,
                            vec![Action::Handoff {
                                reason: "confirmation not understood".into(),
                            }],
                        );
                    }
                    let text = self.render_slots(self.confirm.as_deref().unwrap_or_default(), &s);
                    (s, vec![Action::Confirm { text }])
                }
            },
            (Step::Done | Step::Cancelled | Step::HandedOff, _) => (s, Vec::new()),
        }
    }

    fn retry(&self, mut s: DialogueState, i: usize) -> (DialogueState, Vec<Action>) {
        s.attempts += 1;
        if s.attempts >= self.max_attempts.max(1) {
            s.step = Step::HandedOff;
            let slot = self
                .slots
                .get(i)
                .map(|x| x.name.as_str())
                .unwrap_or_default();
            return (
                s,
                vec![Action::Handoff {
                    reason: format!("could not get {slot}"),
                }],
            );
        }
        let actions = self.advance(&mut s);
        (s, actions)
    }

    fn fill_from_entities(&self, s: &mut DialogueState, entities: &[Entity]) {
        for slot in &self.slots {
            if s.slots.contains_key(&slot.name) {
                continue;
            }
            if let Some(kind) = slot.entity {
                if let Some(e) = entities.iter().find(|e| e.kind == kind) {
                    s.slots.insert(slot.name.clone(), slot_value(e));
                }
            }
        }
    }

    fn render_slots(&self, template: &str, s: &DialogueState) -> String {
        render(template, &|name| s.slots.get(name).cloned())
    }

    /// Asks for the first missing slot, or moves on to confirmation.
    fn advance(&self, s: &mut DialogueState) -> Vec<Action> {
        if let Some((i, slot)) = self
            .slots
            .iter()
            .enumerate()
            .find(|(_, x)| !s.slots.contains_key(&x.name))
        {
            s.step = Step::Collect(i);
            return vec![Action::Ask {
                slot: slot.name.clone(),
                text: self.render_slots(&slot.question, s),
            }];
        }
        match &self.confirm {
            Some(c) => {
                s.step = Step::Confirm;
                vec![Action::Confirm {
                    text: self.render_slots(c, s),
                }]
            }
            None => self.after_confirm(s),
        }
    }

    fn after_confirm(&self, s: &mut DialogueState) -> Vec<Action> {
        match &self.webhook {
            Some(url) => {
                s.step = Step::AwaitWebhook;
                let payload = serde_json::json!({ "intent": self.intent, "slots": s.slots });
                vec![Action::CallWebhook {
                    url: url.clone(),
                    payload,
                }]
            }
            None => {
                s.step = Step::Done;
                vec![Action::Reply {
                    text: self.render_slots(&self.reply, s),
                }]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::{Extractor, ExtractorConfig, OrderPattern};
    use chrono::{TimeZone, Utc};

    fn spec() -> DialogueSpec {
        DialogueSpec {
            intent: "order_status".into(),
            slots: vec![
                SlotSpec {
                    name: "order".into(),
                    entity: Some(EntityKind::OrderNumber),
                    question: "What is your order number?".into(),
                },
                SlotSpec {
                    name: "email".into(),
                    entity: Some(EntityKind::Email),
                    question: "Which email did you order with?".into(),
                },
            ],
            confirm: Some("Check order {order} for {email}?".into()),
            webhook: Some("https://shop.example/status".into()),
            reply: "Order {order} is {status}.".into(),
            cancelled_reply: "OK, cancelled.".into(),
            max_attempts: 2,
        }
    }

    fn ents(text: &str) -> Vec<Entity> {
        let x = Extractor::new(&ExtractorConfig {
            order_patterns: vec![OrderPattern {
                name: "order".into(),
                regex: r"ORD-\d{6}".into(),
            }],
        })
        .unwrap();
        x.extract(
            text,
            Utc.with_ymd_and_hms(2024, 3, 6, 2, 0, 0).unwrap(),
            &edgedesk_tz::Zone::UTC,
        )
    }

    fn say(spec: &DialogueSpec, s: &DialogueState, text: &str) -> (DialogueState, Vec<Action>) {
        let e = ents(text);
        spec.step(s, Event::Message { text, entities: &e })
    }

    #[test]
    fn missing_slots_are_asked_then_confirmed_then_the_webhook_answers() {
        let spec = spec();
        let first = "where is my order?";
        let (s, a) = spec.start(first, &ents(first));
        assert_eq!(
            a,
            vec![Action::Ask {
                slot: "order".into(),
                text: "What is your order number?".into()
            }]
        );
        let (s, a) = say(&spec, &s, "it's ORD-123456");
        assert!(matches!(&a[..], [Action::Ask { slot, .. }] if slot == "email"));
        let (s, a) = say(&spec, &s, "me@example.com");
        assert_eq!(
            a,
            vec![Action::Confirm {
                text: "Check order ORD-123456 for me@example.com?".into()
            }]
        );
        let (s, a) = say(&spec, &s, "yes");
        assert_eq!(s.step, Step::AwaitWebhook);
        let [Action::CallWebhook { url, payload }] = &a[..] else {
            panic!("{a:?}")
        };
        assert_eq!(url, "https://shop.example/status");
        assert_eq!(payload["slots"]["order"], "ORD-123456");
        let result = serde_json::json!({"status": "shipped"})
            .as_object()
            .unwrap()
            .clone();
        let (s, a) = spec.step(&s, Event::Webhook(Ok(result)));
        assert_eq!(
            a,
            vec![Action::Reply {
                text: "Order ORD-123456 is shipped.".into()
            }]
        );
        assert!(s.is_finished());
    }

    #[test]
    fn slots_in_the_first_message_are_not_asked_again() {
        let spec = spec();
        let first = "订单ORD-654321到哪了，邮箱a@b.cn";
        let (s, a) = spec.start(first, &ents(first));
        assert_eq!(s.step, Step::Confirm);
        assert!(matches!(&a[..], [Action::Confirm { .. }]));
        let (_, a) = say(&spec, &s, "是的");
        assert!(matches!(&a[..], [Action::CallWebhook { .. }]));
    }

    #[test]
    fn repeated_unusable_answers_hand_off_to_a_human() {
        let spec = spec();
        let (s, _) = spec.start("status", &[]);
        let (s, a) = say(&spec, &s, "I don't know");
        assert!(matches!(&a[..], [Action::Ask { slot, .. }] if slot == "order"));
        let (s, a) = say(&spec, &s, "no idea");
        assert_eq!(s.step, Step::HandedOff);
        assert!(matches!(&a[..], [Action::Handoff { .. }]));
        assert_eq!(
            say(&spec, &s, "ORD-123456").1,
            vec![],
            "finished dialogues ignore events"
        );
    }

    #[test]
    fn saying_no_at_confirmation_starts_over_and_cancel_ends() {
        let spec = spec();
        let first = "ORD-111111 a@b.io";
        let (s, _) = spec.start(first, &ents(first));
        let (s, a) = say(&spec, &s, "no, it's ORD-222222");
        assert_eq!(s.slots.get("order").map(String::as_str), Some("ORD-222222"));
        assert!(matches!(&a[..], [Action::Ask { slot, .. }] if slot == "email"));
        let (s, a) = say(&spec, &s, "取消");
        assert_eq!(s.step, Step::Cancelled);
        assert_eq!(
            a,
            vec![Action::Reply {
                text: "OK, cancelled.".into()
            }]
        );
    }

    #[test]
    fn a_failed_webhook_hands_off() {
        let spec = DialogueSpec {
            confirm: None,
            ..spec()
        };
        let first = "ORD-111111 a@b.io";
        let (s, a) = spec.start(first, &ents(first));
        assert!(matches!(&a[..], [Action::CallWebhook { .. }]));
        let (s, a) = spec.step(&s, Event::Webhook(Err("timeout".into())));
        assert_eq!(s.step, Step::HandedOff);
        assert_eq!(
            a,
            vec![Action::Handoff {
                reason: "webhook failed: timeout".into()
            }]
        );
    }

    #[test]
    fn free_text_slots_take_the_answer_and_no_webhook_replies_directly() {
        let spec = DialogueSpec {
            intent: "feedback".into(),
            slots: vec![SlotSpec {
                name: "what".into(),
                entity: None,
                question: "What happened?".into(),
            }],
            confirm: None,
            webhook: None,
            reply: "Thanks, noted: {what}".into(),
            cancelled_reply: "OK.".into(),
            max_attempts: 3,
        };
        let (s, _) = spec.start("I want to give feedback", &[]);
        let (s, a) = say(&spec, &s, "  the app crashed  ");
        assert_eq!(
            a,
            vec![Action::Reply {
                text: "Thanks, noted: the app crashed".into()
            }]
        );
        assert_eq!(s.step, Step::Done);
    }

    #[test]
    fn state_round_trips_through_json() {
        let spec = spec();
        let (s, _) = spec.start("ORD-123456", &ents("ORD-123456"));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<DialogueState>(&json).unwrap(), s);
    }

    #[test]
    fn templates_keep_unknown_placeholders() {
        assert_eq!(
            render("{a} {b} {", &|n| (n == "a").then(|| "1".into())),
            "1 {b} {"
        );
    }
}
