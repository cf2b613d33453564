//! WebSockets on the local host end to end: the realtime bridge in front of the component's
//! feeds. A visitor socket and an agent socket on one conversation, messages posted over HTTP,
//! typing frames both ways, reconnects with a cursor, refusals before the upgrade.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use edgedesk_e2e::{Api, Host};
use serde_json::{json, Value};
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

/// How long a test waits for an event that should come at once.
const PROMPT: Duration = Duration::from_secs(5);

/// A visitor with a token and a conversation holding their first message (seq 1).
struct Visitor {
    tenant: String,
    token: String,
    conversation: String,
}

fn visitor_with_conversation(host: &Host, api: &Api) -> Visitor {
    let tenant = api.tenant_id();
    let (s, sess) = host
        .anon()
        .post(&format!("/v1/widget/{tenant}/session"), &json!({}));
    assert_eq!(s, 200, "{sess}");
    let token = sess["token"].as_str().expect("a visitor token").to_owned();
    let auth = format!("Visitor {token}");
    let sent = host.anon().call(
        "POST",
        &format!("/v1/widget/{tenant}/messages"),
        Some(&json!({"body": "hello"})),
        &[("authorization", &auth)],
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["seq"], 1);
    let (_, list) = api.get("/v1/conversations");
    let conversation = list["data"][0]["id"]
        .as_str()
        .expect("the visitor's conversation")
        .to_owned();
    Visitor {
        tenant,
        token,
        conversation,
    }
}

/// A WebSocket client that reads with a deadline.
struct Socket {
    ws: WebSocket<TcpStream>,
}

/// A refused handshake: the HTTP status and body.
#[derive(Debug)]
struct Refused {
    status: u16,
    body: Value,
}

impl Socket {
    fn connect(host: &Host, path: &str, headers: &[(&str, &str)]) -> Result<Socket, Refused> {
        let authority = host.base.trim_start_matches("http://");
        let mut request = format!("ws://{authority}{path}")
            .into_client_request()
            .expect("a valid WebSocket URL");
        for (k, v) in headers {
            request.headers_mut().insert(
                tungstenite::http::HeaderName::from_bytes(k.as_bytes()).expect("a header name"),
                v.parse().expect("a header value"),
            );
        }
        let stream = TcpStream::connect(authority).expect("the host accepts connections");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("a read timeout");
        match tungstenite::client(request, stream) {
            Ok((ws, response)) => {
                assert_eq!(response.status(), 101);
                Ok(Socket { ws })
            }
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                let body = response
                    .body()
                    .as_deref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null);
                Err(Refused {
                    status: response.status().as_u16(),
                    body,
                })
            }
            Err(e) => panic!("handshake failed: {e}"),
        }
    }

    fn visitor(host: &Host, v: &Visitor, after: u64) -> Socket {
        Socket::connect(
            host,
            &format!(
                "/v1/widget/{}/realtime?token={}&after={after}",
                v.tenant, v.token
            ),
            &[],
        )
        .expect("the visitor's socket opens")
    }

    fn agent(host: &Host, api: &Api, path: &str) -> Socket {
        let auth = format!("Bearer {}", api.key.as_deref().expect("an API key"));
        Socket::connect(host, path, &[("authorization", &auth)]).expect("the agent's socket opens")
    }

    /// The next JSON text frame, or `None` when nothing came within `within`.
    fn frame(&mut self, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.ws
                .get_ref()
                .set_read_timeout(Some(left))
                .expect("a read timeout");
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    return Some(serde_json::from_str(t.as_str()).expect("frames are JSON"))
                }
                Ok(Message::Close(c)) => panic!("the server closed the socket: {c:?}"),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(e) => panic!("reading the socket: {e}"),
            }
        }
    }

    /// Events of the frames that arrive until one event satisfies `until` (included).
    fn events_until(&mut self, until: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + PROMPT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(frame) = self.frame(left) else {
                panic!("no matching event within {PROMPT:?}; got {seen:?}");
            };
            for e in events(&frame) {
                let done = until(&e);
                seen.push(e);
                if done {
                    return seen;
                }
            }
        }
    }

    fn send(&mut self, v: Value) {
        self.ws
            .send(Message::text(v.to_string()))
            .expect("the frame is sent");
    }

    fn close(mut self) {
        let _ = self.ws.close(None);
        // Read until the server's close reply ends the connection.
        while self.ws.read().is_ok() {}
    }
}

/// The events a frame carries: a feed answer's `events`, or the frame itself.
fn events(frame: &Value) -> Vec<Value> {
    match frame.get("events") {
        Some(Value::Array(list)) => list.clone(),
        _ => vec![frame.clone()],
    }
}

fn message_seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| e["message"]["seq"].as_u64().expect("a seq"))
        .collect()
}

fn is_message(body: &'static str) -> impl Fn(&Value) -> bool {
    move |e| e["type"] == "message" && e["message"]["body"] == body
}

#[test]
fn an_agent_message_posted_over_http_arrives_on_the_visitors_socket_with_its_sequence_number() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let v = visitor_with_conversation(&host, &api);
    let mut socket = Socket::visitor(&host, &v, 0);
    // The first frame replays what follows the cursor and says where the feed stands.
    let first = socket.frame(PROMPT).expect("a first frame");
    assert_eq!(message_seqs(&events(&first)), vec![1], "{first}");
    assert_eq!(first["last_seq"], 1);
    for internal in ["next", "watch", "actions"] {
        assert!(
            first.get(internal).is_none(),
            "{internal} stays in the host: {first}"
        );
    }

    let cid = &v.conversation;
    let (s, _) = api.post(
        &format!("/v1/conversations/{cid}/messages"),
        &json!({"body": "internal: refund approved", "private": true}),
    );
    assert_eq!(s, 201);
    let posted_at = Instant::now();
    let (s, reply) = api.post(
        &format!("/v1/conversations/{cid}/messages"),
        &json!({"body": "Your refund is on its way"}),
    );
    assert_eq!(s, 201, "{reply}");
    let got = socket.events_until(is_message("Your refund is on its way"));
    let arrived = posted_at.elapsed();
    let pushed = got.last().expect("the reply");
    assert_eq!(pushed["message"]["seq"], reply["seq"]);
    assert_eq!(pushed["message"]["seq"], 3, "the private note took seq 2");
    assert!(
        got.iter()
            .all(|e| e["message"]["body"] != "internal: refund approved"),
        "private notes never reach the visitor: {got:?}"
    );
    assert!(arrived < Duration::from_secs(1), "pushed after {arrived:?}");
    socket.close();
}

#[test]
fn typing_goes_both_ways_between_the_visitors_and_the_agents_sockets() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let v = visitor_with_conversation(&host, &api);
    let cid = v.conversation.clone();
    let mut visitor = Socket::visitor(&host, &v, 1);
    let mut agent = Socket::agent(
        &host,
        &api,
        &format!("/v1/conversations/{cid}/realtime?after=1"),
    );
    visitor.frame(PROMPT).expect("the visitor's first frame");
    agent.frame(PROMPT).expect("the agent's first frame");

    visitor.send(json!({"type": "typing", "typing": true}));
    let got = agent.events_until(|e| e["type"] == "typing" && e["typing"] == true);
    assert_eq!(got.last().unwrap()["from"], "contact");

    agent.send(json!({"type": "typing", "typing": true}));
    let got = visitor.events_until(|e| e["type"] == "typing" && e["typing"] == true);
    assert_eq!(got.last().unwrap()["from"], "agent");

    // A read receipt from the agent's socket reaches the visitor as "seen".
    agent.send(json!({"type": "seen", "seq": 1}));
    let got = visitor.events_until(|e| e["type"] == "seen" && e["seq"] == 1);
    assert_eq!(got.last().unwrap()["by"], "agent");

    // A frame the component refuses comes back as an error frame; the socket stays open.
    agent.send(json!({"type": "typing", "typing": "yes"}));
    let error = agent.events_until(|e| e["type"] == "error");
    let error = error.last().unwrap();
    assert_eq!(
        (error["action"].as_str(), error["status"].as_u64()),
        (Some("typing"), Some(400)),
        "{error}"
    );
    agent.send(json!({"type": "../messages", "body": "sneaky"}));
    let error = agent.events_until(|e| e["type"] == "error");
    assert_eq!(error.last().unwrap()["error"]["code"], "bad_frame");
    let (_, msgs) = api.get(&format!("/v1/conversations/{cid}/messages"));
    assert_eq!(
        msgs["data"].as_array().map(Vec::len),
        Some(1),
        "nothing was posted: {msgs}"
    );

    visitor.send(json!({"type": "typing", "typing": false}));
    let got = agent.events_until(|e| e["type"] == "typing" && e["typing"] == false);
    assert_eq!(got.last().unwrap()["from"], "contact");
    visitor.close();
    agent.close();
}

#[test]
fn a_reconnect_with_a_cursor_gets_exactly_the_missed_messages() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let v = visitor_with_conversation(&host, &api);
    let cid = v.conversation.clone();
    let post = |body: &str| {
        let (s, m) = api.post(
            &format!("/v1/conversations/{cid}/messages"),
            &json!({ "body": body }),
        );
        assert_eq!(s, 201, "{m}");
        m["seq"].as_u64().expect("a seq")
    };

    let mut socket = Socket::visitor(&host, &v, 0);
    let mut shown = message_seqs(&events(&socket.frame(PROMPT).expect("a first frame")));
    post("one");
    shown.extend(message_seqs(&socket.events_until(is_message("one"))));
    socket.close();

    // Missed while disconnected.
    let missed: Vec<u64> = ["two", "three", "four"].iter().map(|b| post(b)).collect();
    let cursor = *shown.last().expect("something was shown");
    let mut socket = Socket::visitor(&host, &v, cursor);
    let first = socket.frame(PROMPT).expect("a first frame");
    let caught_up = message_seqs(&events(&first));
    assert_eq!(
        caught_up, missed,
        "exactly the missed messages, in order: {first}"
    );
    shown.extend(caught_up);
    post("five");
    shown.extend(message_seqs(&socket.events_until(is_message("five"))));
    assert_eq!(
        shown,
        (1..=6).collect::<Vec<u64>>(),
        "every message once, no gaps"
    );
    // Nothing more arrives: no duplicate of anything already shown.
    if let Some(extra) = socket.frame(Duration::from_millis(500)) {
        assert!(
            message_seqs(&events(&extra)).is_empty(),
            "unexpected {extra}"
        );
    }
    socket.close();
}

#[test]
fn the_inbox_socket_streams_conversation_changes_to_agents() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let mut inbox = Socket::agent(&host, &api, "/v1/realtime");
    let first = inbox.frame(PROMPT).expect("a first frame");
    assert!(
        first["cursor"].is_string(),
        "the first frame gives the cursor: {first}"
    );
    let v = visitor_with_conversation(&host, &api);
    let got = inbox.events_until(|e| {
        e["type"] == "conversation" && e["conversation"]["id"] == v.conversation.as_str()
    });
    assert!(!got.is_empty());
    inbox.close();
}

#[test]
fn handshakes_without_valid_credentials_are_refused_before_the_upgrade() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let v = visitor_with_conversation(&host, &api);
    let t = &v.tenant;

    let wrong = Socket::connect(
        &host,
        &format!("/v1/widget/{t}/realtime?token=vt1.x.y"),
        &[],
    )
    .err()
    .expect("a forged token is refused");
    assert_eq!(wrong.status, 401, "{:?}", wrong.body);
    assert!(wrong.body["error"]["code"].is_string(), "{:?}", wrong.body);

    // Another tenant's visitor token does not open this tenant's stream.
    let other = host.tenant("Other");
    let other_visitor = visitor_with_conversation(&host, &other);
    let crossed = Socket::connect(
        &host,
        &format!("/v1/widget/{t}/realtime?token={}", other_visitor.token),
        &[],
    )
    .err()
    .expect("a token of another tenant is refused");
    assert_eq!(crossed.status, 401);

    let cid = &v.conversation;
    let anonymous = Socket::connect(&host, &format!("/v1/conversations/{cid}/realtime"), &[])
        .err()
        .expect("an agent stream needs a key");
    assert_eq!(anonymous.status, 401);
    let foreign = Socket::connect(
        &host,
        &format!("/v1/conversations/{cid}/realtime"),
        &[(
            "authorization",
            &format!("Bearer {}", other.key.as_deref().unwrap()),
        )],
    )
    .err()
    .expect("another tenant's conversation is not found");
    assert_eq!(foreign.status, 404);
    let cross_site = Socket::connect(
        &host,
        "/v1/realtime",
        &[
            (
                "authorization",
                &format!("Bearer {}", api.key.as_deref().unwrap()),
            ),
            ("origin", "https://evil.example"),
        ],
    )
    .err()
    .expect("a page of another origin cannot open an agent stream");
    assert_eq!(cross_site.status, 403);

    // The tenant's allowed origins decide for the widget's stream too.
    let (s, _) = api.patch(
        "/v1/tenant/widget",
        &json!({"allowed_origins": ["https://shop.example"]}),
    );
    assert_eq!(s, 200);
    let path = format!("/v1/widget/{t}/realtime?token={}", v.token);
    let refused = Socket::connect(&host, &path, &[("origin", "https://evil.example")])
        .err()
        .expect("an origin the tenant did not allow is refused");
    assert_eq!(refused.status, 403);
    let allowed = Socket::connect(&host, &path, &[("origin", "https://shop.example")]);
    assert!(
        allowed.is_ok(),
        "an allowed origin connects: {:?}",
        allowed.err()
    );
}

#[test]
fn a_visitor_socket_opened_before_any_message_follows_the_conversation_their_first_message_opens() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let tenant = api.tenant_id();
    let visitor = edgedesk_e2e::Visitor::new(&host, &tenant, "Ada");
    let mut socket = Socket::connect(
        &host,
        &format!(
            "/v1/widget/{tenant}/realtime?token={}&after=0",
            visitor.token
        ),
        &[],
    )
    .expect("the visitor's socket opens");
    let first = socket.frame(PROMPT).expect("a first frame");
    assert!(events(&first).is_empty(), "nothing yet: {first}");

    let cid = visitor.say("Where is my parcel?");
    let (s, _) = api.post(
        &format!("/v1/conversations/{cid}/messages"),
        &json!({"body": "It left the depot this morning"}),
    );
    assert_eq!(s, 201);
    let got = socket.events_until(is_message("It left the depot this morning"));
    assert_eq!(
        message_seqs(&got),
        vec![1, 2],
        "the visitor's own first message, then the reply: {got:?}"
    );
    socket.close();
}

#[test]
fn many_sockets_on_one_conversation_each_get_every_message_once_and_in_order() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let v = visitor_with_conversation(&host, &api);
    let path = format!("/v1/conversations/{}/realtime?after=1", v.conversation);
    let mut sockets: Vec<Socket> = (0..12).map(|_| Socket::agent(&host, &api, &path)).collect();
    for s in &mut sockets {
        s.frame(PROMPT).expect("a first frame");
    }
    for n in 0..5 {
        let (s, _) = api.post(
            &format!("/v1/conversations/{}/messages", v.conversation),
            &json!({"body": format!("update {n}")}),
        );
        assert_eq!(s, 201);
    }
    // A late joiner from an old cursor gets what it missed, then rides along.
    let mut late = Socket::agent(
        &host,
        &api,
        &format!("/v1/conversations/{}/realtime?after=0", v.conversation),
    );
    let first = late.frame(PROMPT).expect("a first frame");
    assert_eq!(
        message_seqs(&events(&first)),
        vec![1, 2, 3, 4, 5, 6],
        "{first}"
    );
    let (s, _) = api.post(
        &format!("/v1/conversations/{}/messages", v.conversation),
        &json!({"body": "last"}),
    );
    assert_eq!(s, 201);
    for s in &mut sockets {
        let got = s.events_until(is_message("last"));
        assert_eq!(message_seqs(&got), vec![2, 3, 4, 5, 6, 7], "{got:?}");
    }
    let got = late.events_until(is_message("last"));
    assert_eq!(message_seqs(&got), vec![7], "{got:?}");
}

#[test]
fn waiting_long_polls_hold_no_instance_so_another_tenant_is_answered_at_once() {
    let host = Host::start_with(&["--max-instances", "2"]);
    if !host.is_local() {
        return;
    }
    let api = host.tenant("Shop");
    let v = visitor_with_conversation(&host, &api);
    let poll = format!(
        "/v1/widget/{}/poll?after=1&wait=20&token={}",
        v.tenant, v.token
    );
    let waiting: Vec<_> = (0..16)
        .map(|_| {
            let (anon, poll) = (host.anon(), poll.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let r = anon.call("GET", &poll, None, &[]);
                (r, started.elapsed())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    let other = host.tenant("Other");
    let started = Instant::now();
    let (s, _) = other.get("/v1/tenant");
    let took = started.elapsed();
    assert_eq!(s, 200);
    assert!(
        took < Duration::from_secs(3),
        "another tenant waited {took:?} behind the parked polls"
    );
    // A message wakes every waiting poll with it.
    let (s, _) = api.post(
        &format!("/v1/conversations/{}/messages", v.conversation),
        &json!({"body": "Back in a moment"}),
    );
    assert_eq!(s, 201);
    for w in waiting {
        let (r, took) = w.join().expect("a poller");
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            events(&r.body).iter().any(is_message("Back in a moment")),
            "{}",
            r.body
        );
        assert!(
            took < Duration::from_secs(15),
            "woken, not timed out: {took:?}"
        );
    }
}

#[test]
fn waiting_polls_over_the_per_address_cap_are_refused_with_429() {
    let host = Host::start_with(&["--max-waiting-per-ip", "2"]);
    if !host.is_local() {
        return;
    }
    let api = host.tenant("Shop");
    let v = visitor_with_conversation(&host, &api);
    let poll = format!(
        "/v1/widget/{}/poll?after=1&wait=3&token={}",
        v.tenant, v.token
    );
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let (anon, poll) = (host.anon(), poll.clone());
            std::thread::spawn(move || anon.call("GET", &poll, None, &[]).status)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    let refused = host.anon().call("GET", &poll, None, &[]);
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(edgedesk_e2e::error_code(&refused.body), "too_many_waiting");
    assert!(refused.header("retry-after").is_some());
    for w in waiting {
        assert_eq!(
            w.join().expect("a poller"),
            200,
            "the waiting ones are answered"
        );
    }
    // Places are given back: a poll that does not wait is never counted.
    let (s, _) = host.anon().get(&poll.replace("wait=3", "wait=0"));
    assert_eq!(s, 200);
}

#[test]
fn behind_a_trusted_proxy_waiting_polls_are_counted_per_forwarded_client() {
    let host = Host::start_with(&["--max-waiting-per-ip", "1", "--trusted-proxy", "127.0.0.1"]);
    if !host.is_local() {
        return;
    }
    let api = host.tenant("Shop");
    let v = visitor_with_conversation(&host, &api);
    let poll = format!(
        "/v1/widget/{}/poll?after=1&wait=3&token={}",
        v.tenant, v.token
    );
    // Two clients behind the proxy each wait; a client that names another address itself
    // is counted by the address the proxy saw.
    let waiting: Vec<_> = ["203.0.113.7", "203.0.113.8"]
        .into_iter()
        .map(|client| {
            let (anon, poll) = (host.anon(), poll.clone());
            std::thread::spawn(move || {
                anon.call("GET", &poll, None, &[("x-forwarded-for", client)])
                    .status
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    let again = host.anon().call(
        "GET",
        &poll,
        None,
        &[("x-forwarded-for", "198.51.100.9, 203.0.113.7")],
    );
    assert_eq!(again.status, 429, "{}", again.body);
    for w in waiting {
        assert_eq!(w.join().expect("a poller"), 200, "one each is allowed");
    }
}
