//! WebSockets on the realtime routes: a thin bridge between a socket and the component's feeds.
//!
//! The realtime logic lives in the component. Its feed routes (`/v1/widget/{tenant}/realtime`,
//! `/v1/conversations/{id}/realtime`, `/v1/realtime`) answer a plain `GET` with the events
//! after the client's cursor and:
//! - `next`: the path and query that continue from there;
//! - `watch`: the storage actors whose changes may produce new events;
//! - `actions` (optional): where client frames go.
//!
//! This module only moves bytes between the two; the bridge's rules (the routes, the origin
//! check, how a feed answer splits, how a client frame becomes a request, the error frames) are
//! `edgedesk_functions::realtime`'s, shared with the Worker. For a WebSocket handshake on one of
//! those routes it:
//! 1. reads the feed once with the client's own credentials (query token, `Authorization`,
//!    cookie, `Origin`). Any answer but `200` is returned as is, so authentication, tenant
//!    isolation and CORS stay the component's decisions; a `200` turns into `101`;
//! 2. sends that first answer as the first frame (without `next`, `watch` and `actions`), so a
//!    client learns its cursor even when nothing is new;
//! 3. watches the `watch` actors on the database's change feed ([`ChangeFeed::watch`]), and
//!    whenever one of them has a durable change, reads `next` again and sends the events, if
//!    any. The watches are taken before each re-read, so no change can fall in between;
//! 4. turns each client text frame `{"type":"typing", …}` into `POST <actions>/typing` with the
//!    rest of the object as the body, and the client's credentials. A refused action comes back
//!    as `{"type":"error","status":…,"error":{…}}`.
//!
//! Every event comes from storage, so a message is durable before any socket hears of it, and a
//! client that reconnects with its cursor gets exactly what it missed.
//!
//! Limits: at most `max_sockets` sockets at once (a handshake beyond that gets `503` before the
//! component is asked); client messages up to 64 KiB; a frame the client does not take within
//! [`SEND_TIMEOUT`] (a client that stopped reading) ends the socket, so nothing queues up on the
//! host: a session holds at most one frame in flight and the change feed coalesces wake-ups.
//! A ping goes out every [`PING_EVERY`]; a client silent for [`IDLE_LIMIT`] (no frame, no pong)
//! is dropped. Host shutdown closes every socket with `1001 going away`; a feed that can no
//! longer be read closes it with `1008` (credentials or the conversation gone) or `1013` (try
//! again), and the client reconnects from its cursor.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::{select_all, BoxFuture};
use futures_util::{FutureExt, SinkExt, StreamExt};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::changes::ChangeFeed;
use crate::guest::{Guest, GuestError};
use crate::log;
use crate::server::{error_response, full, guest_failure, Body};
use edgedesk_functions::http::{take_log_labels, LogLabels};
use edgedesk_functions::realtime::{
    self as rules, client_action, error_frame, feed_answer, refused_action_frame,
};

/// Open sockets allowed by default (`--max-sockets`).
pub const DEFAULT_MAX_SOCKETS: usize = 10_000;
/// The storage table whose first column names the actor.
const TABLE: &str = "kv";
/// Interval between pings to the client.
pub const PING_EVERY: Duration = Duration::from_secs(25);
/// A client that sends nothing (not even a pong) for this long is gone.
pub const IDLE_LIMIT: Duration = Duration::from_secs(70);
/// Longest a frame may wait for the client to take it.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest message a client may send (frames are small JSON actions).
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// How long shutdown waits for sockets to say goodbye.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Request headers that belong to the handshake, not to the feed read.
const HANDSHAKE_HEADERS: &[&str] = &[
    "connection",
    "upgrade",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "te",
];

pub use edgedesk_functions::realtime::{realtime_route, Stream};

/// Whether the request asks to become a WebSocket (RFC 6455 §4.2.1; the version is checked
/// when answering, so an old client gets `426` rather than a plain feed read).
pub fn is_handshake(method: &Method, headers: &HeaderMap) -> bool {
    let has_token = |name: HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    method == Method::GET
        && has_token(header::CONNECTION, "upgrade")
        && has_token(header::UPGRADE, "websocket")
}

/// What the server logs for a handshake.
pub struct Handshake {
    pub response: Response<Body>,
    /// The component's labels for the log line (none when the host answered alone).
    pub labels: LogLabels,
}

/// The sockets of one host.
#[derive(Clone)]
pub struct Realtime {
    shared: Arc<Shared>,
}

struct Shared {
    guest: Arc<Guest>,
    changes: ChangeFeed,
    slots: Arc<Semaphore>,
    max_sockets: usize,
    closing: watch::Sender<bool>,
}

impl Realtime {
    pub fn new(guest: Arc<Guest>, changes: ChangeFeed, max_sockets: usize) -> Realtime {
        Realtime {
            shared: Arc::new(Shared {
                guest,
                changes,
                slots: Arc::new(Semaphore::new(max_sockets)),
                max_sockets,
                closing: watch::channel(false).0,
            }),
        }
    }

    /// Sockets open now.
    pub fn open_sockets(&self) -> usize {
        self.shared.max_sockets - self.shared.slots.available_permits()
    }

    /// Closes every socket (`1001 going away`) and waits a moment for them to finish.
    pub async fn close_all(&self) {
        let _ = self.shared.closing.send(true);
        let deadline = Instant::now() + CLOSE_WAIT;
        while self.open_sockets() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Answers a WebSocket handshake on a realtime route: `101` and a session, or the
    /// component's refusal.
    pub async fn accept(
        &self,
        mut req: Request<Incoming>,
        stream: Stream,
        authority: &str,
    ) -> Handshake {
        let plain = |response| Handshake {
            response,
            labels: LogLabels::default(),
        };
        if *self.shared.closing.borrow() {
            return plain(error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the host is shutting down",
            ));
        }
        let version_ok = req
            .headers()
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v.as_bytes() == b"13");
        let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned() else {
            return plain(error_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "a WebSocket handshake needs Sec-WebSocket-Key",
            ));
        };
        if !version_ok {
            let mut r = error_response(
                StatusCode::UPGRADE_REQUIRED,
                "upgrade_required",
                "only WebSocket version 13 is supported",
            );
            r.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
            return plain(r);
        }
        let same_origin = same_origin(req.headers(), authority);
        if rules::origin_refused(stream, same_origin) {
            return plain(error_response(
                StatusCode::FORBIDDEN,
                "forbidden",
                rules::AGENT_ORIGIN_REFUSED,
            ));
        }
        let Ok(permit) = self.shared.slots.clone().try_acquire_owned() else {
            let mut r = error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "too many realtime connections; retry later",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return plain(r);
        };

        let mut forward = forwarded_headers(req.headers(), authority);
        let first_path = without_wait(req.uri());
        let feed = match read_feed(&self.shared.guest, &first_path, &forward).await {
            Ok(feed) => feed,
            Err(refusal) => {
                return match refusal {
                    FeedError::Refused {
                        status,
                        headers,
                        body,
                    } => {
                        let mut r = Response::new(full(body));
                        *r.status_mut() = status;
                        *r.headers_mut() = headers;
                        let labels = take_log_labels(r.headers_mut());
                        Handshake {
                            response: r,
                            labels,
                        }
                    }
                    FeedError::Guest(e) => {
                        log::event(
                            "guest_error",
                            &[
                                ("route", first_path.as_str().into()),
                                ("error", e.to_string().into()),
                            ],
                        );
                        plain(guest_failure(&e))
                    }
                    FeedError::Malformed => plain(error_response(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "the realtime feed answer is malformed",
                    )),
                };
            }
        };
        if same_origin == Some(true) {
            // The origin is the console's own, which is what the session cookie's CSRF header
            // proves for fetch requests; a WebSocket cannot send that header itself.
            forward.insert("x-edgedesk-csrf", HeaderValue::from_static("1"));
        }

        let mut response = Response::new(full(Bytes::new()));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = response.headers_mut();
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
            h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        let labels = feed.labels.clone();
        let on_upgrade = hyper::upgrade::on(&mut req);
        let session = Session {
            shared: self.shared.clone(),
            headers: forward,
            route: labels.route.clone().unwrap_or(first_path),
            next: feed.next.clone(),
            actions: feed.actions.clone(),
            watches: Vec::new(),
            watched: BTreeSet::new(),
            frames_out: 0,
            frames_in: 0,
        };
        tokio::spawn(session.run(on_upgrade, feed, permit));
        Handshake { response, labels }
    }
}

/// Whether the handshake's `Origin` is the host itself (`None` without an `Origin`), the host
/// being the request's `Host` or, without one, the host's own authority.
fn same_origin(headers: &HeaderMap, authority: &str) -> Option<bool> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or(authority);
    rules::same_origin(Some(origin), host)
}

/// The client's headers minus the handshake's, with a `Host`.
fn forwarded_headers(headers: &HeaderMap, authority: &str) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        if !HANDSHAKE_HEADERS.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    if !out.contains_key(header::HOST) {
        if let Ok(v) = HeaderValue::from_str(authority) {
            out.insert(header::HOST, v);
        }
    }
    out
}

/// The handshake's path and query without `wait`: the bridge waits on the change feed, never in
/// the component.
fn without_wait(uri: &http::Uri) -> String {
    rules::without_wait(uri.path(), uri.query())
}

/// One feed read: the frame for the client and where to go on.
struct Feed {
    /// The answer without `next`, `watch` and `actions`.
    frame: Map<String, Value>,
    has_events: bool,
    next: String,
    watch: BTreeSet<String>,
    actions: Option<String>,
    labels: LogLabels,
}

enum FeedError {
    /// The component answered, but not `200`.
    Refused {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    Guest(GuestError),
    /// A `200` without the fields a feed has.
    Malformed,
}

/// Calls the component; returns status, headers and the whole body.
async fn call(
    guest: &Arc<Guest>,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Bytes), GuestError> {
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = path
        .parse()
        .map_err(|e| GuestError::Host(wasmtime::format_err!("bad path {path:?}: {e}")))?;
    *request.headers_mut() = headers.clone();
    let response = guest.handle(request).await?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| GuestError::Host(wasmtime::format_err!("reading the answer: {e}")))?
        .to_bytes();
    Ok((parts.status, parts.headers, body))
}

async fn read_feed(guest: &Arc<Guest>, path: &str, headers: &HeaderMap) -> Result<Feed, FeedError> {
    let (status, mut answer_headers, body) = call(guest, Method::GET, path, headers, Bytes::new())
        .await
        .map_err(FeedError::Guest)?;
    if status != StatusCode::OK {
        return Err(FeedError::Refused {
            status,
            headers: answer_headers,
            body,
        });
    }
    let answer = feed_answer(&body).ok_or(FeedError::Malformed)?;
    Ok(Feed {
        frame: answer.frame,
        has_events: answer.has_events,
        next: answer.next,
        watch: answer.watch.into_iter().collect(),
        actions: answer.actions,
        labels: take_log_labels(&mut answer_headers),
    })
}

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// Why a session ended (for the log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    ClientClosed,
    ClientGone,
    SlowClient,
    Idle,
    ShuttingDown,
    FeedRefused,
    FeedFailed,
    Unsupported,
}

impl End {
    fn as_str(self) -> &'static str {
        match self {
            End::ClientClosed => "client_closed",
            End::ClientGone => "client_gone",
            End::SlowClient => "slow_client",
            End::Idle => "idle",
            End::ShuttingDown => "shutting_down",
            End::FeedRefused => "feed_refused",
            End::FeedFailed => "feed_failed",
            End::Unsupported => "unsupported_frame",
        }
    }

    /// The close frame the client gets, if it is still there to get one.
    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::ClientClosed | End::ClientGone | End::SlowClient | End::Idle => return None,
            End::ShuttingDown => (CloseCode::Away, "the host is shutting down"),
            End::FeedRefused => (CloseCode::Policy, "the stream is no longer authorized"),
            End::FeedFailed => (CloseCode::Again, "the stream failed; reconnect"),
            End::Unsupported => (CloseCode::Unsupported, "send JSON text frames"),
        };
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }
}

struct Session {
    shared: Arc<Shared>,
    /// The client's credentials, sent with every read and action.
    headers: HeaderMap,
    route: String,
    next: String,
    actions: Option<String>,
    watches: Vec<watch::Receiver<u64>>,
    watched: BTreeSet<String>,
    frames_out: u64,
    frames_in: u64,
}

impl Session {
    async fn run(mut self, on_upgrade: OnUpgrade, first: Feed, permit: OwnedSemaphorePermit) {
        let started = Instant::now();
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                log::event(
                    "socket_upgrade_failed",
                    &[
                        ("route", self.route.clone().into()),
                        ("error", e.to_string().into()),
                    ],
                );
                return;
            }
        };
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_CLIENT_MESSAGE))
            .max_frame_size(Some(MAX_CLIENT_MESSAGE));
        let mut ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        let end = self.serve(&mut ws, first).await;
        if let Some(frame) = end.close_frame() {
            let _ = tokio::time::timeout(SEND_TIMEOUT, ws.close(Some(frame))).await;
            // Let the client's close reply arrive, so the TCP connection ends cleanly.
            let _ = tokio::time::timeout(CLOSE_WAIT, async {
                while let Some(Ok(_)) = ws.next().await {}
            })
            .await;
        }
        drop(ws);
        drop(permit);
        log::event(
            "socket_closed",
            &[
                ("route", self.route.clone().into()),
                ("reason", end.as_str().into()),
                ("seconds", started.elapsed().as_secs().into()),
                ("frames_out", self.frames_out.into()),
                ("frames_in", self.frames_in.into()),
            ],
        );
    }

    async fn serve(&mut self, ws: &mut Socket, first: Feed) -> End {
        let mut closing = self.shared.closing.subscribe();
        if *closing.borrow_and_update() {
            return End::ShuttingDown;
        }
        // The first answer always goes out: it tells the client its cursor.
        if let Err(end) = self.send(ws, first.frame).await {
            return end;
        }
        // Changes between the first read and these watches are caught by the re-read below.
        self.rewatch(first.watch);
        let mut stale = true;
        let mut last_heard = Instant::now();
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if stale {
                stale = false;
                // Everything seen so far is covered by the read that follows.
                for w in &mut self.watches {
                    w.borrow_and_update();
                }
                let feed = match read_feed(&self.shared.guest, &self.next, &self.headers).await {
                    Ok(feed) => feed,
                    Err(FeedError::Refused {
                        status,
                        mut headers,
                        ..
                    }) => {
                        self.log_detail("feed_refused", status, &mut headers);
                        return if rules::refused_for_good(status.as_u16()) {
                            End::FeedRefused
                        } else {
                            End::FeedFailed
                        };
                    }
                    Err(_) => return End::FeedFailed,
                };
                self.next = feed.next;
                if feed.actions.is_some() {
                    self.actions = feed.actions;
                }
                if feed.has_events {
                    if let Err(end) = self.send(ws, feed.frame).await {
                        return end;
                    }
                }
                if feed.watch != self.watched {
                    self.rewatch(feed.watch);
                    stale = true;
                }
                continue;
            }
            tokio::select! {
                () = changed_any(&mut self.watches) => stale = true,
                incoming = ws.next() => {
                    last_heard = Instant::now();
                    match incoming {
                        None | Some(Err(_)) => return End::ClientGone,
                        Some(Ok(Message::Close(_))) => {
                            // tungstenite answers the close; reading on sends that answer.
                            let _ = tokio::time::timeout(CLOSE_WAIT, async {
                                while let Some(Ok(_)) = ws.next().await {}
                            })
                            .await;
                            return End::ClientClosed;
                        }
                        Some(Ok(Message::Text(text))) => {
                            self.frames_in += 1;
                            if let Some(reply) = self.action(text.as_str()).await {
                                if let Err(end) = self.send(ws, reply).await {
                                    return end;
                                }
                            }
                        }
                        Some(Ok(Message::Binary(_))) => return End::Unsupported,
                        // Pings are answered by tungstenite; pongs only prove the client lives.
                        Some(Ok(_)) => {}
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() >= IDLE_LIMIT {
                        return End::Idle;
                    }
                    match tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::Ping(Bytes::new()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return End::ClientGone,
                        Err(_) => return End::SlowClient,
                    }
                }
                _ = closing.changed() => return End::ShuttingDown,
            }
        }
    }

    /// Logs the cause the component gave for a refused feed read or action, if it gave one (a
    /// socket's later reads have no request line of their own).
    fn log_detail(&self, event: &str, status: StatusCode, headers: &mut HeaderMap) {
        if let Some(detail) = take_log_labels(headers).detail {
            log::event(
                event,
                &[
                    ("route", self.route.clone().into()),
                    ("status", status.as_u16().into()),
                    ("detail", detail.into()),
                ],
            );
        }
    }

    /// Watches exactly `actors` from now on.
    fn rewatch(&mut self, actors: BTreeSet<String>) {
        self.watches = actors
            .iter()
            .map(|a| self.shared.changes.watch(TABLE, a))
            .collect();
        self.watched = actors;
    }

    /// Sends one JSON frame, waiting at most [`SEND_TIMEOUT`] for the client to take it.
    async fn send(&mut self, ws: &mut Socket, frame: Map<String, Value>) -> Result<(), End> {
        let text = Value::Object(frame).to_string();
        match tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::text(text))).await {
            Ok(Ok(())) => {
                self.frames_out += 1;
                Ok(())
            }
            Ok(Err(_)) => Err(End::ClientGone),
            Err(_) => Err(End::SlowClient),
        }
    }

    /// Runs one client frame as `POST <actions>/<type>`; returns an error frame to send back
    /// when it was refused.
    async fn action(&self, text: &str) -> Option<Map<String, Value>> {
        let action = match client_action(text, self.actions.as_deref()) {
            Ok(action) => action,
            Err(frame) => return Some(frame),
        };
        let mut headers = self.headers.clone();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let body = Bytes::from(action.body);
        match call(
            &self.shared.guest,
            Method::POST,
            &action.path,
            &headers,
            body,
        )
        .await
        {
            Ok((status, _, _)) if status.is_success() => None,
            Ok((status, mut answer_headers, body)) => {
                self.log_detail("action_refused", status, &mut answer_headers);
                Some(refused_action_frame(&action.name, status.as_u16(), &body))
            }
            Err(e) => {
                log::event(
                    "guest_error",
                    &[
                        ("route", action.path.into()),
                        ("error", e.to_string().into()),
                    ],
                );
                Some(error_frame(
                    500,
                    "internal",
                    "the action failed inside the service",
                ))
            }
        }
    }
}

/// Resolves when any watched actor has a change not yet seen; never when nothing is watched.
fn changed_any(watches: &mut [watch::Receiver<u64>]) -> BoxFuture<'_, ()> {
    if watches.is_empty() {
        return futures_util::future::pending().boxed();
    }
    let waits = watches.iter_mut().map(|w| {
        async move {
            if w.changed().await.is_err() {
                // The feed is gone (the host is stopping): never wake for it.
                futures_util::future::pending::<()>().await;
            }
        }
        .boxed()
    });
    select_all(waits).map(|_| ()).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handshake_needs_get_with_connection_upgrade_and_upgrade_websocket() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("WebSocket"));
        assert!(is_handshake(&Method::GET, &h));
        assert!(!is_handshake(&Method::POST, &h));
        h.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        assert!(!is_handshake(&Method::GET, &h));
        h.remove(header::UPGRADE);
        assert!(!is_handshake(&Method::GET, &h));
    }

    #[test]
    fn the_bridge_never_asks_the_component_to_wait() {
        let uri: http::Uri = "/v1/widget/t/realtime?token=a&wait=25&after=3"
            .parse()
            .unwrap();
        assert_eq!(without_wait(&uri), "/v1/widget/t/realtime?token=a&after=3");
        let uri: http::Uri = "/v1/realtime?wait".parse().unwrap();
        assert_eq!(without_wait(&uri), "/v1/realtime");
    }

    #[test]
    fn handshake_headers_are_not_forwarded_and_credentials_are() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(header::SEC_WEBSOCKET_KEY, HeaderValue::from_static("k"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("edgedesk_session=s"),
        );
        let out = forwarded_headers(&h, "127.0.0.1:1");
        assert!(out.get(header::CONNECTION).is_none());
        assert!(out.get(header::SEC_WEBSOCKET_KEY).is_none());
        assert_eq!(out.get(header::AUTHORIZATION).unwrap(), "Bearer x");
        assert_eq!(out.get(header::COOKIE).unwrap(), "edgedesk_session=s");
        assert_eq!(out.get(header::HOST).unwrap(), "127.0.0.1:1");
    }

    #[test]
    fn an_origin_is_the_hosts_own_only_when_scheme_less_it_equals_host() {
        let mut h = HeaderMap::new();
        assert_eq!(same_origin(&h, "a:1"), None);
        h.insert(header::HOST, HeaderValue::from_static("desk.example:8787"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://desk.example:8787"),
        );
        assert_eq!(same_origin(&h, "a:1"), Some(true));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert_eq!(same_origin(&h, "a:1"), Some(false));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert_eq!(same_origin(&h, "a:1"), Some(false));
    }

    #[tokio::test]
    async fn a_change_to_any_watched_actor_wakes_the_session() {
        let feed = ChangeFeed::default();
        let mut watches = vec![feed.watch(TABLE, "c:1"), feed.watch(TABLE, "t:1")];
        let mut keys = BTreeSet::new();
        keys.insert(crate::changes::ChangeKey::new(TABLE, "t:1"));
        feed.publish(keys);
        tokio::time::timeout(Duration::from_secs(1), changed_any(&mut watches))
            .await
            .expect("woken by t:1");
        let nothing =
            tokio::time::timeout(Duration::from_millis(50), changed_any(&mut watches)).await;
        assert!(nothing.is_err(), "a seen change does not wake again");
        assert!(
            tokio::time::timeout(Duration::from_millis(20), changed_any(&mut []))
                .await
                .is_err(),
            "no watches never wake"
        );
    }
}
