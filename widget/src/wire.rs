//! The widget API's JSON (docs/widget-api.md), read and written through the browser's own
//! `JSON` object.
//!
//! Why not serde: the server's DTOs live in `edgedesk-shared`, but decoding even one message
//! with serde costs more than half of the widget's whole size budget. Measured with
//! wasm-bindgen 0.2.130 and `wasm-opt -Oz`, decoding one message on top of an empty
//! wasm-bindgen module (4.1 KB gzip):
//!
//! | decoder                                            | wasm gzip | glue gzip |
//! |----------------------------------------------------|-----------|-----------|
//! | `JSON.parse` + `Reflect.get` (this module)         | +1.7 KB   | +0.9 KB   |
//! | local serde structs + `serde_json`                 | +21.8 KB  | +0 KB     |
//! | local serde structs + `serde-wasm-bindgen`         | +22.2 KB  | +2.3 KB   |
//! | `edgedesk_shared::model::Message` + `serde_json`   | +33.1 KB  | +0 KB     |
//!
//! So the widget keeps small local views of the DTOs with the same field names as the
//! shared crate's `Message`, `Attachment` and `WidgetConfig`, and every accessor tolerates a
//! missing or mistyped field (it yields `None` or a default) instead of failing.

use alloc::string::String;
use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

/// A field of a JSON object; `undefined` when absent or when `obj` is not an object.
pub fn field(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn string(obj: &JsValue, key: &str) -> Option<String> {
    field(obj, key).as_string()
}

/// A non-negative integer field that fits a JavaScript number exactly.
pub fn uint(obj: &JsValue, key: &str) -> Option<u64> {
    field(obj, key)
        .as_f64()
        .filter(|n| (0.0..=9_007_199_254_740_991.0).contains(n) && *n == (*n as u64) as f64)
        .map(|n| n as u64)
}

pub fn boolean(obj: &JsValue, key: &str) -> bool {
    field(obj, key).as_bool().unwrap_or(false)
}

/// An array field (empty when it is not an array).
pub fn list(obj: &JsValue, key: &str) -> Array {
    let v = field(obj, key);
    if Array::is_array(&v) {
        v.unchecked_into()
    } else {
        Array::new()
    }
}

/// Parses JSON text; `undefined` when it is not JSON.
pub fn parse(text: &str) -> JsValue {
    JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
}

/// Builds a JSON object from key/value pairs, skipping `undefined` values.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        if !v.is_undefined() {
            // Setting a property on a fresh plain object cannot fail.
            let _ = Reflect::set(&o, &JsValue::from_str(k), v);
        }
    }
    o.into()
}

/// JSON text of a value built with [`object`].
pub fn stringify(v: &JsValue) -> String {
    JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// `Some(s)` as a JS string, `None` as `undefined` (omitted by [`object`]).
pub fn opt_str(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::UNDEFINED, JsValue::from_str)
}

/// Metadata of a file attached to a message.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub url: Option<String>,
}

impl Attachment {
    pub fn read(v: &JsValue) -> Option<Attachment> {
        Some(Attachment {
            name: string(v, "name")?,
            content_type: string(v, "content_type").unwrap_or_default(),
            size: uint(v, "size").unwrap_or(0),
            url: string(v, "url"),
        })
    }
}

/// One message of the visitor's conversation.
#[derive(Debug, Clone)]
pub struct Message {
    pub seq: u64,
    /// Written by the visitor (sender kind `contact`), as opposed to an agent, bot or system.
    pub from_visitor: bool,
    pub body: String,
    /// RFC 3339.
    pub created_at: Option<String>,
    /// The object as received, handed to the host page's `on('message')` listeners; its
    /// `attachments` are read by the view with [`Attachment::read`].
    pub raw: JsValue,
}

impl Message {
    /// Reads a message; `None` without a usable `seq` (it could not be ordered).
    pub fn read(v: &JsValue) -> Option<Message> {
        let seq = uint(v, "seq").filter(|s| *s > 0)?;
        Some(Message {
            seq,
            from_visitor: string(&field(v, "sender"), "kind").as_deref() == Some("contact"),
            body: string(v, "body").unwrap_or_default(),
            created_at: string(v, "created_at"),
            raw: v.clone(),
        })
    }
}

/// `GET /v1/widget/{tenant}/config`, read field by field where it is used.
#[derive(Debug, Clone)]
pub struct Config(pub JsValue);

impl Config {
    pub fn tenant_name(&self) -> String {
        string(&field(&self.0, "tenant"), "name").unwrap_or_default()
    }

    /// An agent is available (else the header says away).
    pub fn online(&self) -> bool {
        boolean(&self.0, "online")
    }

    /// The team answers by email: while nobody is online the visitor may leave an address.
    pub fn offline_email(&self) -> bool {
        boolean(&self.0, "offline_email")
    }

    /// The settings' version this config shows.
    pub fn version(&self) -> u64 {
        uint(&self.0, "version").unwrap_or(0)
    }

    pub fn away_message(&self) -> Option<String> {
        string(&self.0, "away_message").filter(|m| !m.is_empty())
    }

    pub fn expected_reply_minutes(&self) -> Option<u64> {
        uint(&self.0, "expected_reply_minutes")
    }

    /// The pre-chat form is on.
    pub fn prechat(&self) -> bool {
        boolean(&field(&self.0, "prechat"), "enabled")
    }

    pub fn require_email(&self) -> bool {
        boolean(&field(&self.0, "prechat"), "require_email")
    }

    /// `auto`, `en` or `zh-CN`.
    pub fn locale(&self) -> Option<String> {
        string(&self.0, "locale")
    }

    /// The theme colour, only if it is `#rrggbb` (it goes into a CSS custom property).
    pub fn color(&self) -> Option<String> {
        string(&self.0, "color").filter(|c| is_hex_colour(c))
    }

    /// Largest attachment in bytes.
    pub fn max_bytes(&self) -> u64 {
        uint(&field(&self.0, "attachments"), "max_bytes").unwrap_or(0)
    }

    /// Allowed attachment MIME types.
    pub fn types(&self) -> Array {
        list(&field(&self.0, "attachments"), "types")
    }
}

/// `#rrggbb` only: the colour goes into a CSS custom property.
fn is_hex_colour(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c.bytes().skip(1).all(|b| b.is_ascii_hexdigit())
}

/// Who a typing or seen event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Agent,
    Visitor,
}

impl Party {
    fn read(s: Option<String>) -> Party {
        if s.as_deref() == Some("contact") {
            Party::Visitor
        } else {
            Party::Agent
        }
    }
}

/// One realtime event.
#[derive(Debug, Clone)]
pub enum Event {
    Message(Message),
    Typing {
        from: Party,
        typing: bool,
    },
    Seen {
        by: Party,
        seq: u64,
    },
    /// The conversation's status or queue place changed (the event as sent).
    State(JsValue),
    /// What the widget shows from the tenant changed: someone came online, the settings.
    Public(JsValue),
}

impl Event {
    pub fn read(v: &JsValue) -> Option<Event> {
        match string(v, "type")?.as_str() {
            "message" => Message::read(&field(v, "message")).map(Event::Message),
            "typing" => Some(Event::Typing {
                from: Party::read(string(v, "from")),
                typing: boolean(v, "typing"),
            }),
            "state" => Some(Event::State(v.clone())),
            "public" => Some(Event::Public(v.clone())),
            "seen" => Some(Event::Seen {
                by: Party::read(string(v, "by")),
                seq: uint(v, "seq")?,
            }),
            _ => None,
        }
    }
}

/// Reads one WebSocket frame or long-poll answer — a single event, an array of events, or a
/// feed `{"events": [...], "last_seq", "rev"}` — handing each event to `each` in order.
/// Returns the feed's `last_seq` (how far the server's ordered stream got, counting messages
/// the visitor may not see) and `rev` (the long-poll's revision of typing and receipt state).
pub fn batch(v: &JsValue, each: &mut dyn FnMut(Event)) -> (Option<u64>, Option<u64>) {
    if field(v, "type").is_string() {
        if let Some(e) = Event::read(v) {
            each(e);
        }
        return (None, None);
    }
    let (events, last_seq, rev) = if Array::is_array(v) {
        (v.clone().unchecked_into(), None, None)
    } else {
        (list(v, "events"), uint(v, "last_seq"), uint(v, "rev"))
    };
    for e in events.iter() {
        if let Some(e) = Event::read(&e) {
            each(e);
        }
    }
    (last_seq, rev)
}

/// A field of an error answer's `error`: its `code` or its `message`.
pub fn error(v: &JsValue, key: &str) -> String {
    string(&field(v, "error"), key).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hex_colours_reach_the_stylesheet() {
        assert!(is_hex_colour("#2563eb"));
        assert!(!is_hex_colour("red"));
        assert!(!is_hex_colour("#2563e;"));
        assert!(!is_hex_colour("#2563eb;x"));
        assert!(!is_hex_colour("#ééé"));
    }

    #[test]
    fn visitors_are_contacts_and_everyone_else_is_an_agent() {
        assert_eq!(Party::read(Some("contact".into())), Party::Visitor);
        assert_eq!(Party::read(Some("agent".into())), Party::Agent);
        assert_eq!(Party::read(None), Party::Agent);
    }
}
