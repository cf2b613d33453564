//! The rules of the realtime bridge, shared by every host that turns the feeds into WebSockets
//! (the local host's `realtime` module, the Worker's rooms).
//!
//! A feed route (`/v1/realtime`, `/v1/conversations/{id}/realtime`,
//! `/v1/widget/{tenant}/realtime`) answers a plain `GET` with the events after the client's
//! cursor plus `next` (where to read on), `watch` (the storage actors whose changes may produce
//! events) and optionally `actions` (where client frames go). A host holding a socket reads the
//! feed, sends each answer without those three fields, and turns a client frame
//! `{"type":"typing",…}` into `POST <actions>/typing`. What a route is, who it serves, which
//! origins an agent stream takes, how a frame becomes a request and what a refusal looks like
//! on the socket are decided here; the hosts only move bytes. Pure code: no runtime crate.

use serde_json::{Map, Value};

/// Who a realtime route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The chat widget: a visitor token, any origin the tenant allows (the functions check).
    Visitor,
    /// The console or an API client: an API key or a session cookie.
    Agent,
}

/// Whether `path` is one of the realtime routes, and whose.
pub fn realtime_route(path: &str) -> Option<Stream> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["", "v1", "realtime"] => Some(Stream::Agent),
        ["", "v1", "conversations", id, "realtime"] if !id.is_empty() => Some(Stream::Agent),
        ["", "v1", "widget", tenant, "realtime"] if !tenant.is_empty() => Some(Stream::Visitor),
        _ => None,
    }
}

/// Whether `path` is a feed route a long-poll may wait on (`wait=`): the realtime routes and
/// the `…/poll` routes.
pub fn feed_route(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    matches!(
        parts.as_slice(),
        ["", "v1", "realtime"]
            | ["", "v1", "conversations" | "widget", _, "poll" | "realtime"]
            if parts.get(3).is_none_or(|id| !id.is_empty())
    )
}

/// The seconds a feed read asks to wait (`wait=N`, at most [`MAX_WAIT_SECONDS`]); `None`
/// when it does not ask, or asks in a form the feed itself must refuse.
pub fn wait_seconds(query: Option<&str>) -> Option<u64> {
    let value = query?.split('&').find_map(|p| p.strip_prefix("wait="))?;
    match value.parse::<u64>() {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n.min(MAX_WAIT_SECONDS)),
    }
}

/// Whether a handshake's `Origin` is the host itself (`None` without an `Origin`): an agent
/// stream authenticates with an API key or the console's session cookie, so a page of another
/// origin must not open one ([`origin_refused`]); the same origin stands in for the CSRF
/// header a WebSocket cannot send.
pub fn same_origin(origin: Option<&str>, host: &str) -> Option<bool> {
    let origin = origin?;
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    Some(origin_host.is_some_and(|o| o.eq_ignore_ascii_case(host)))
}

/// Whether a handshake must be refused (`403`, [`AGENT_ORIGIN_REFUSED`]) for its origin: an
/// agent stream from another origin. Visitor streams are checked by the functions against the
/// tenant's allowed origins.
pub fn origin_refused(stream: Stream, same_origin: Option<bool>) -> bool {
    stream == Stream::Agent && same_origin == Some(false)
}

/// The request headers a socket keeps for its feed reads and actions: what the functions read
/// on those routes (credentials, the session cookie, origin checks, links, language), none of
/// the handshake's. A browser's handshake carries far more, and a host holding thousands of
/// sockets keeps these for each.
pub const KEPT_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "origin",
    "host",
    "x-forwarded-proto",
    "accept-language",
    "user-agent",
];

/// Whether a socket keeps the request header `name` (lower case).
pub fn kept_header(name: &str) -> bool {
    KEPT_HEADERS.contains(&name)
}

/// The message of the `403` for [`origin_refused`].
pub const AGENT_ORIGIN_REFUSED: &str =
    "agent streams accept sockets from the console's own origin only";

/// The handshake's path and query without `wait`: the bridge waits for changes, never the feed.
pub fn without_wait(path: &str, query: Option<&str>) -> String {
    let kept: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && *p != "wait" && !p.starts_with("wait="))
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// Whether a feed read refused with `status` ends the socket for good (`1008`, the credentials
/// or the conversation are gone) rather than for now (`1013`, reconnect).
pub fn refused_for_good(status: u16) -> bool {
    matches!(status, 401 | 403 | 404)
}

/// One feed answer, split into what the client gets and what the bridge keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedAnswer {
    /// The answer without `next`, `watch` and `actions`: the frame for the client.
    pub frame: Map<String, Value>,
    /// Whether the answer has events (the first answer goes out even without).
    pub has_events: bool,
    /// Path and query of the next read.
    pub next: String,
    /// The actors whose changes may produce events, at most [`MAX_WATCHES`].
    pub watch: Vec<String>,
    /// Where client frames go, if the stream takes any.
    pub actions: Option<String>,
    /// What the events are made of ([`room`]); `None`: this reader's alone.
    pub room: Option<String>,
}

/// Most actors one socket watches (the feeds name one or two).
pub const MAX_WATCHES: usize = 16;

/// Longest a long-poll (a feed read with `wait`) waits for news, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 25;

/// Splits a feed's `200` body; `None` if it is not a feed answer (no `next` path, no `watch`
/// list).
pub fn feed_answer(body: &[u8]) -> Option<FeedAnswer> {
    let Ok(Value::Object(mut frame)) = edgedesk_json::from_slice::<Value>(body) else {
        return None;
    };
    let next = match frame.remove("next") {
        Some(Value::String(n)) if n.starts_with('/') => n,
        _ => return None,
    };
    let watch = match frame.remove("watch") {
        Some(Value::Array(list)) => list
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .take(MAX_WATCHES)
            .collect(),
        _ => return None,
    };
    let actions = match frame.remove("actions") {
        Some(Value::String(a)) if a.starts_with('/') => Some(a),
        _ => None,
    };
    let room = match frame.remove("room") {
        Some(Value::String(r)) if !r.is_empty() => Some(r),
        _ => None,
    };
    let has_events = frame
        .get("events")
        .and_then(Value::as_array)
        .is_some_and(|e| !e.is_empty());
    Some(FeedAnswer {
        frame,
        has_events,
        next,
        watch,
        actions,
        room,
    })
}

/// Who a feed's events are for, as far as they differ: the agents' view of a conversation has
/// private notes, the visitor's has their queue place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Agents,
    Visitor,
    Inbox,
}

/// The room of a feed whose events depend only on `actor`'s data and the audience: readers
/// allowed to read the feed who stand at the same `next` get the same answer, so a bridge reads
/// once for all of them. (A visitor's `next` carries their token, so only the tabs of one
/// visitor ever share a read.)
pub fn room(actor: &str, audience: Audience) -> String {
    let audience = match audience {
        Audience::Agents => "agents",
        Audience::Visitor => "visitor",
        Audience::Inbox => "inbox",
    };
    format!("{actor}/{audience}")
}

/// A client frame as the request it stands for: `POST <path>` with `body`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The action's name, the frame's `type`.
    pub name: String,
    /// `<actions>/<name>`, with the actions path's query kept.
    pub path: String,
    /// The frame without `type`, as JSON.
    pub body: Vec<u8>,
}

/// Turns a client text frame `{"type":"<name>", …}` into `POST <actions>/<name>` with the rest
/// of the object as the body, or the error frame to send back. `actions` is where the stream's
/// frames go (`None`: it takes none).
pub fn client_action(text: &str, actions: Option<&str>) -> Result<Action, Map<String, Value>> {
    let mut object = match edgedesk_json::from_slice::<Value>(text.as_bytes()) {
        Ok(Value::Object(o)) => o,
        _ => return Err(not_an_object()),
    };
    let name = match object.remove("type") {
        Some(Value::String(k)) if is_action_name(&k) => k,
        _ => {
            return Err(error_frame(
                400,
                "bad_frame",
                "a frame needs a \"type\" of lowercase letters and underscores",
            ))
        }
    };
    let Some(actions) = actions.filter(|a| !a.is_empty()) else {
        return Err(error_frame(
            400,
            "no_actions",
            "this stream takes no client frames",
        ));
    };
    let path = match actions.split_once('?') {
        Some((p, q)) => format!("{p}/{name}?{q}"),
        None => format!("{actions}/{name}"),
    };
    Ok(Action {
        name,
        path,
        body: Value::Object(object).to_string().into_bytes(),
    })
}

/// The error frame for a frame that is not a JSON object (a binary frame included).
pub fn not_an_object() -> Map<String, Value> {
    error_frame(400, "bad_frame", "a frame is a JSON object")
}

/// Action names become a path segment: keep them to `[a-z_]{1,32}`.
pub fn is_action_name(k: &str) -> bool {
    (1..=32).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// `{"type":"error","status":…,"error":{"code","message"}}`: a frame the bridge refuses.
pub fn error_frame(status: u16, code: &str, message: &str) -> Map<String, Value> {
    let mut error = Map::new();
    error.insert("code".into(), code.into());
    error.insert("message".into(), message.into());
    let mut frame = Map::new();
    frame.insert("type".into(), "error".into());
    frame.insert("status".into(), status.into());
    frame.insert("error".into(), Value::Object(error));
    frame
}

/// `{"type":"error","action","status","error"}`: an action the functions refused with `status`
/// and `body` (their `{"error":{…}}`, passed on as it is).
pub fn refused_action_frame(action: &str, status: u16, body: &[u8]) -> Map<String, Value> {
    let error = edgedesk_json::from_slice::<Value>(body)
        .ok()
        .and_then(|mut v| v.get_mut("error").map(Value::take))
        .unwrap_or_else(|| {
            let mut e = Map::new();
            e.insert("code".into(), "refused".into());
            e.insert("message".into(), "the action was refused".into());
            Value::Object(e)
        });
    let mut frame = Map::new();
    frame.insert("type".into(), "error".into());
    frame.insert("action".into(), action.into());
    frame.insert("status".into(), status.into());
    frame.insert("error".into(), error);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_polls_wait_on_feed_routes_only_and_for_at_most_the_cap() {
        for path in [
            "/v1/realtime",
            "/v1/conversations/cnv_1/poll",
            "/v1/conversations/cnv_1/realtime",
            "/v1/widget/ten_1/poll",
            "/v1/widget/ten_1/realtime",
        ] {
            assert!(feed_route(path), "{path}");
        }
        for path in [
            "/v1/conversations/cnv_1",
            "/v1/widget/ten_1/messages",
            "/v1/poll",
        ] {
            assert!(!feed_route(path), "{path}");
        }
        assert_eq!(wait_seconds(Some("after=1&wait=10")), Some(10));
        assert_eq!(wait_seconds(Some("wait=900")), Some(MAX_WAIT_SECONDS));
        assert_eq!(wait_seconds(Some("wait=0")), None);
        assert_eq!(wait_seconds(Some("wait=soon")), None, "the feed refuses it");
        assert_eq!(wait_seconds(Some("after=1")), None);
        assert_eq!(wait_seconds(None), None);
    }

    #[test]
    fn the_three_feed_routes_are_realtime_routes_and_nothing_else() {
        assert_eq!(realtime_route("/v1/realtime"), Some(Stream::Agent));
        assert_eq!(realtime_route("/v1/realtime/"), Some(Stream::Agent));
        assert_eq!(
            realtime_route("/v1/conversations/cnv_1/realtime"),
            Some(Stream::Agent)
        );
        assert_eq!(
            realtime_route("/v1/widget/ten_1/realtime"),
            Some(Stream::Visitor)
        );
        for path in [
            "/v1/conversations//realtime",
            "/v1/conversations/realtime",
            "/v1/widget//realtime",
            "/v1/widget/ten_1/realtime/x",
            "/v1/conversations/cnv_1/poll",
            "/v1/realtime/x",
            "/v2/realtime",
            "v1/realtime",
            "/",
            "",
        ] {
            assert_eq!(realtime_route(path), None, "{path}");
        }
    }

    #[test]
    fn an_agent_stream_from_another_origin_is_refused() {
        let same = same_origin(Some("https://desk.example"), "desk.example");
        assert_eq!(same, Some(true));
        assert_eq!(
            same_origin(Some("http://DESK.example"), "desk.example"),
            Some(true)
        );
        let other = same_origin(Some("https://evil.example"), "desk.example");
        assert_eq!(other, Some(false));
        assert_eq!(same_origin(Some("null"), "desk.example"), Some(false));
        assert_eq!(same_origin(None, "desk.example"), None);
        assert!(origin_refused(Stream::Agent, other));
        assert!(!origin_refused(Stream::Agent, same));
        assert!(!origin_refused(Stream::Agent, None));
        assert!(!origin_refused(Stream::Visitor, other));
    }

    #[test]
    fn the_bridge_reads_without_wait() {
        assert_eq!(without_wait("/v1/realtime", None), "/v1/realtime");
        assert_eq!(
            without_wait("/v1/realtime", Some("wait=25&after=7&wait&x=1")),
            "/v1/realtime?after=7&x=1"
        );
        assert_eq!(without_wait("/v1/realtime", Some("wait=1")), "/v1/realtime");
    }

    #[test]
    fn only_missing_credentials_or_subject_end_a_socket_for_good() {
        assert!(refused_for_good(401) && refused_for_good(403) && refused_for_good(404));
        assert!(!refused_for_good(500) && !refused_for_good(503) && !refused_for_good(429));
    }

    #[test]
    fn a_feed_answer_splits_into_the_clients_frame_and_the_bridges_fields() {
        let body = json!({
            "events": [{"seq": 1}],
            "after": 1,
            "next": "/v1/realtime?after=1",
            "watch": ["t:ten_1", 7, "c:cnv_1"],
            "actions": "/v1/conversations/cnv_1",
        });
        let answer = feed_answer(body.to_string().as_bytes()).unwrap();
        assert_eq!(
            Value::Object(answer.frame),
            json!({"events": [{"seq": 1}], "after": 1})
        );
        assert!(answer.has_events);
        assert_eq!(answer.next, "/v1/realtime?after=1");
        assert_eq!(answer.watch, ["t:ten_1", "c:cnv_1"]);
        assert_eq!(answer.actions.as_deref(), Some("/v1/conversations/cnv_1"));

        let quiet =
            feed_answer(br#"{"events":[],"next":"/n","watch":[],"actions":"relative"}"#).unwrap();
        assert!(!quiet.has_events);
        assert_eq!(quiet.actions, None);

        for malformed in [
            &br#"{"events":[],"watch":[]}"#[..],
            br#"{"next":"relative","watch":[]}"#,
            br#"{"next":"/n"}"#,
            br#"[]"#,
            b"not json",
        ] {
            assert_eq!(feed_answer(malformed), None);
        }
    }

    #[test]
    fn a_client_frame_becomes_a_post_to_its_action() {
        let action = client_action(
            r#"{"type":"typing","active":true}"#,
            Some("/v1/widget/ten_1?token=abc"),
        )
        .unwrap();
        assert_eq!(action.name, "typing");
        assert_eq!(action.path, "/v1/widget/ten_1/typing?token=abc");
        assert_eq!(action.body, br#"{"active":true}"#);
        let plain = client_action(r#"{"type":"seen"}"#, Some("/v1/conversations/cnv_1")).unwrap();
        assert_eq!(plain.path, "/v1/conversations/cnv_1/seen");
    }

    #[test]
    fn a_frame_that_is_no_action_gets_an_error_frame() {
        let refused = |text: &str, actions: Option<&str>| {
            let frame = client_action(text, actions).unwrap_err();
            assert_eq!(frame["type"], "error");
            assert_eq!(frame["status"], 400);
            frame["error"]["code"].as_str().unwrap().to_owned()
        };
        assert_eq!(refused("[1]", Some("/a")), "bad_frame");
        assert_eq!(refused("nope", Some("/a")), "bad_frame");
        assert_eq!(refused(r#"{"type":"../admin"}"#, Some("/a")), "bad_frame");
        assert_eq!(refused(r#"{"type":"Typing"}"#, Some("/a")), "bad_frame");
        assert_eq!(
            refused(&format!(r#"{{"type":"{}"}}"#, "a".repeat(33)), Some("/a")),
            "bad_frame"
        );
        assert_eq!(refused(r#"{"type":"typing"}"#, None), "no_actions");
        assert_eq!(refused(r#"{"type":"typing"}"#, Some("")), "no_actions");
        assert!(is_action_name(&"a".repeat(32)));
        assert!(!is_action_name(""));
    }

    #[test]
    fn a_refused_action_comes_back_with_the_functions_error() {
        let frame = refused_action_frame(
            "typing",
            422,
            br#"{"error":{"code":"validation_failed","message":"no"}}"#,
        );
        assert_eq!(
            Value::Object(frame),
            json!({"type": "error", "action": "typing", "status": 422,
                   "error": {"code": "validation_failed", "message": "no"}})
        );
        let frame = refused_action_frame("typing", 502, b"<html>");
        assert_eq!(frame["error"]["code"], "refused");
        assert_eq!(
            Value::Object(error_frame(400, "bad_frame", "a frame is a JSON object")),
            json!({"type": "error", "status": 400,
                   "error": {"code": "bad_frame", "message": "a frame is a JSON object"}})
        );
    }
}
