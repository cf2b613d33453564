//! Realtime at site scale, end to end: thousands of sockets reconnecting at once with their
//! cursors, many visitors of one tenant each hearing only of their own conversation, and a
//! socket that stops reading being dropped and resuming from its cursor. Figures (memory per
//! socket, deliveries per second) are the benchmark's (`cargo xtask bench-realtime`), not
//! asserted here.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use edgedesk_e2e::{Api, Host};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;

/// How long a test waits for deliveries that should come promptly.
const PROMPT: Duration = Duration::from_secs(60);

/// Opens a socket on `path` of the deployment at `base` with an optional `Authorization`, over
/// `stream`.
async fn open_on(base: &str, stream: TcpStream, path: &str, auth: Option<&str>) -> Ws {
    let authority = base.trim_start_matches("http://");
    let mut request = format!("ws://{authority}{path}")
        .into_client_request()
        .expect("a WebSocket URL");
    if let Some(auth) = auth {
        request
            .headers_mut()
            .insert("authorization", auth.parse().expect("a header value"));
    }
    let (ws, response) = tokio_tungstenite::client_async(request, stream)
        .await
        .expect("the handshake succeeds");
    assert_eq!(response.status(), 101);
    ws
}

async fn open(base: &str, path: &str, auth: Option<&str>) -> Ws {
    let authority = base.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(authority)
        .await
        .expect("the host accepts connections");
    open_on(base, stream, path, auth).await
}

/// The message events of a frame: `(seq, conversation id, body)`.
fn messages(frame: &str) -> Vec<(u64, String, String)> {
    let v: Value = serde_json::from_str(frame).expect("frames are JSON");
    v["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "message")
        .map(|e| {
            let m = &e["message"];
            (
                m["seq"].as_u64().expect("a seq"),
                m["conversation_id"].as_str().unwrap_or_default().to_owned(),
                m["body"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Reads `ws` until it has seen message `until` (or the socket ends, or `stop` says so),
/// appending every message's seq to `seen`.
async fn read_until(
    ws: &mut Ws,
    until: u64,
    seen: &mut Vec<u64>,
    stop: &mut watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) => {
                    seen.extend(messages(t.as_str()).into_iter().map(|(seq, _, _)| seq));
                    if seen.last().is_some_and(|s| *s >= until) {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            _ = stop.changed() => return,
        }
    }
}

/// A visitor with a conversation whose first message is seq 1.
fn visitor_with_conversation(
    host: &Host,
    api: &Api,
    text: &str,
) -> (edgedesk_e2e::Visitor, String) {
    let v = edgedesk_e2e::Visitor::new(host, &api.tenant_id(), "Visitor");
    let cid = v.say(text);
    (v, cid)
}

fn post(api: &Api, conversation: &str, body: &str) -> u64 {
    let (s, m) = api.post(
        &format!("/v1/conversations/{conversation}/messages"),
        &json!({ "body": body }),
    );
    assert_eq!(s, 201, "{m}");
    m["seq"].as_u64().expect("a seq")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_sockets_reconnecting_at_once_lose_and_repeat_nothing() {
    let host = Host::start();
    // Under `wrangler dev` (one workerd process on this machine) the same shape, scaled down.
    let sockets = if host.is_local() { 2_000 } else { 50 };
    let api = host.tenant("Shop");
    let (_visitor, cid) = visitor_with_conversation(&host, &api, "hello");
    let auth = format!("Bearer {}", api.key.as_deref().expect("a key"));
    let path = |after: u64| format!("/v1/conversations/{cid}/realtime?after={after}");

    // Everyone connects (a few hundred handshakes at a time), then hears seqs 2..=11.
    let gate = Arc::new(Semaphore::new(200));
    let mut conns = Vec::new();
    for _ in 0..sockets {
        let permit = gate.clone().acquire_owned().await.expect("the gate");
        conns.push(tokio::spawn({
            let (base, p, a) = (host.base.clone(), path(1), auth.clone());
            async move {
                let ws = open(&base, &p, Some(&a)).await;
                drop(permit);
                ws
            }
        }));
    }
    let mut opened = Vec::new();
    for c in conns {
        opened.push(c.await.expect("a socket task"));
    }
    let api2 = api.clone();
    let cid2 = cid.clone();
    tokio::task::spawn_blocking(move || {
        for n in 2..=11 {
            assert_eq!(post(&api2, &cid2, &format!("before {n}")), n);
        }
    })
    .await
    .expect("the posts");
    let (_stop_tx, stop) = watch::channel(false);
    let first_half = futures_util::future::join_all(opened.into_iter().map(|mut ws| {
        let mut stop = stop.clone();
        async move {
            let mut seen = Vec::new();
            tokio::time::timeout(PROMPT, read_until(&mut ws, 11, &mut seen, &mut stop))
                .await
                .expect("every socket hears seq 11");
            // Gone at once, without a goodbye: a network drop.
            drop(ws);
            seen
        }
    }))
    .await;

    // While everyone is away, more is said.
    let (api2, cid2) = (api.clone(), cid.clone());
    tokio::task::spawn_blocking(move || {
        for n in 12..=21 {
            assert_eq!(post(&api2, &cid2, &format!("away {n}")), n);
        }
    })
    .await
    .expect("the posts");

    // Everyone comes back at the same moment, each from the last seq it saw.
    let storm = futures_util::future::join_all(first_half.iter().map(|seen| {
        let last = *seen.last().expect("something seen");
        let (base, p, a) = (host.base.clone(), path(last), auth.clone());
        async move { open(&base, &p, Some(&a)).await }
    }))
    .await;
    let (api2, cid2) = (api.clone(), cid.clone());
    let posting = tokio::task::spawn_blocking(move || {
        for n in 22..=31 {
            assert_eq!(post(&api2, &cid2, &format!("after {n}")), n);
        }
    });
    let second_half = futures_util::future::join_all(storm.into_iter().map(|mut ws| {
        let mut stop = stop.clone();
        async move {
            let mut seen = Vec::new();
            tokio::time::timeout(PROMPT, read_until(&mut ws, 31, &mut seen, &mut stop))
                .await
                .expect("every socket hears seq 31");
            let _ = ws.close(None).await;
            seen
        }
    }))
    .await;
    posting.await.expect("the posts");

    let expected: Vec<u64> = (2..=31).collect();
    for (before, after) in first_half.iter().zip(&second_half) {
        let all: Vec<u64> = before.iter().chain(after).copied().collect();
        assert_eq!(all, expected, "each message exactly once, in order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_never_hears_of_another_visitors_or_another_tenants_messages() {
    let host = Host::start();
    let visitors = if host.is_local() { 40 } else { 10 };
    let api = host.tenant("Shop");
    let other = host.tenant("Other shop");
    let tenant = api.tenant_id();

    // Half open their socket before saying anything (they follow their doorbell), half after.
    let mut people = Vec::new();
    for i in 0..visitors {
        let v = edgedesk_e2e::Visitor::new(&host, &tenant, &format!("Visitor {i}"));
        let early = if i % 2 == 0 {
            let path = format!("/v1/widget/{tenant}/realtime?token={}&after=0", v.token);
            Some(open(&host.base, &path, None).await)
        } else {
            None
        };
        people.push((v, early));
    }
    let mut conversations = Vec::new();
    let mut sockets = Vec::new();
    for (i, (v, early)) in people.into_iter().enumerate() {
        let cid = v.say(&format!("question {i}"));
        let ws = match early {
            Some(ws) => ws,
            None => {
                let path = format!("/v1/widget/{tenant}/realtime?token={}&after=0", v.token);
                open(&host.base, &path, None).await
            }
        };
        conversations.push(cid);
        sockets.push(ws);
    }
    // Another tenant's visitors chat at the same time.
    let (_, foreign) = visitor_with_conversation(&host, &other, "elsewhere");
    let (api2, other2, convs) = (api.clone(), other.clone(), conversations.clone());
    tokio::task::spawn_blocking(move || {
        for (i, cid) in convs.iter().enumerate() {
            post(&api2, cid, &format!("answer {i}"));
            post(&other2, &foreign, &format!("foreign {i}"));
        }
    })
    .await
    .expect("the posts");

    let heard =
        futures_util::future::join_all(sockets.into_iter().enumerate().map(|(i, mut ws)| {
            async move {
                let mut got = Vec::new();
                let want = format!("answer {i}");
                let done = tokio::time::timeout(PROMPT, async {
                    while let Some(Ok(frame)) = ws.next().await {
                        if let Message::Text(t) = frame {
                            got.extend(messages(t.as_str()));
                            if got.iter().any(|(_, _, body)| *body == want) {
                                return;
                            }
                        }
                    }
                })
                .await;
                assert!(done.is_ok(), "visitor {i} hears the answer: {got:?}");
                // Anything else that was going to arrive by mistake has time to.
                let _ = tokio::time::timeout(Duration::from_millis(500), async {
                    while let Some(Ok(Message::Text(t))) = ws.next().await {
                        got.extend(messages(t.as_str()));
                    }
                })
                .await;
                got
            }
        }))
        .await;
    for (i, got) in heard.iter().enumerate() {
        let bodies: BTreeMap<u64, &str> = got.iter().map(|(s, _, b)| (*s, b.as_str())).collect();
        assert!(
            got.iter().all(|(_, c, _)| *c == conversations[i]),
            "visitor {i} heard only of their own conversation: {got:?}"
        );
        assert_eq!(
            bodies.into_values().collect::<Vec<_>>(),
            [format!("question {i}"), format!("answer {i}")],
            "visitor {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_stops_reading_is_dropped_and_resumes_from_its_cursor_losing_nothing() {
    let host = Host::start();
    if !host.is_local() {
        return;
    }
    let api = host.tenant("Shop");
    let (_visitor, cid) = visitor_with_conversation(&host, &api, "hello");
    let auth = format!("Bearer {}", api.key.as_deref().expect("a key"));
    // A client with a tiny receive window that reads nothing for a while.
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small window");
    let addr = host
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("a socket address");
    let stream = socket.connect(addr).await.expect("connected");
    let path = format!("/v1/conversations/{cid}/realtime?after=1");
    let mut ws = open_on(&host.base, stream, &path, Some(&auth)).await;

    // Far more than the host's socket buffers and the room's queue hold.
    let big = "x".repeat(30 * 1024);
    let (api2, cid2) = (api.clone(), cid.clone());
    let last = tokio::task::spawn_blocking(move || {
        let mut last = 0;
        for n in 0..400 {
            last = post(&api2, &cid2, &format!("{n} {big}"));
        }
        last
    })
    .await
    .expect("the posts");

    // Now read: what was queued arrives, then the host's goodbye (or the end of the stream).
    let mut seen = Vec::new();
    let mut close_code = None;
    let ended = tokio::time::timeout(PROMPT, async {
        while let Some(frame) = ws.next().await {
            match frame {
                Ok(Message::Text(t)) => {
                    seen.extend(messages(t.as_str()).into_iter().map(|(s, _, _)| s));
                }
                Ok(Message::Close(c)) => close_code = c.map(|c| u16::from(c.code)),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the host ends a socket that does not keep up"
    );
    assert!(
        seen.last().is_none_or(|s| *s < last),
        "dropped before the end: saw up to {:?} of {last}",
        seen.last()
    );
    if let Some(code) = close_code {
        assert_eq!(code, 1013, "try again later, from the cursor");
    }
    // Resume from the cursor of the last frame taken: the rest, once each.
    let resume_from = seen.last().copied().unwrap_or(1);
    let mut again = open(
        &host.base,
        &format!("/v1/conversations/{cid}/realtime?after={resume_from}"),
        Some(&auth),
    )
    .await;
    let (_stop_tx, mut stop) = watch::channel(false);
    let mut rest = Vec::new();
    tokio::time::timeout(PROMPT, read_until(&mut again, last, &mut rest, &mut stop))
        .await
        .expect("the rest arrives");
    let all: Vec<u64> = seen.into_iter().chain(rest).collect();
    assert_eq!(
        all,
        (2..=last).collect::<Vec<_>>(),
        "nothing lost, nothing twice"
    );
}
