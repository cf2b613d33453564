//! WebSockets and long-polls on the realtime routes: a thin bridge between clients and the
//! component's feeds.
//!
//! The realtime logic lives in the component. Its feed routes (`/v1/widget/{tenant}/realtime`,
//! `/v1/conversations/{id}/realtime`, `/v1/realtime`, and the `…/poll` routes) answer a plain
//! `GET` with the events after the client's cursor and:
//! - `next`: the path and query that continue from there;
//! - `watch`: the storage actors whose changes may produce new events;
//! - `actions` (optional): where client frames go;
//! - `room` (optional): what the events are made of, so readers at the same `next` may share
//!   one read.
//!
//! This module only moves bytes between the two; the bridge's rules (the routes, the origin
//! check, how a feed answer splits, how a client frame becomes a request, the error frames) are
//! `edgedesk_functions::realtime`'s, shared with the Worker. For a WebSocket handshake on one of
//! those routes it:
//! 1. reads the feed once with the client's own credentials (query token, `Authorization`,
//!    cookie, `Origin`). Any answer but `200` is returned as is, so authentication, tenant
//!    isolation and CORS stay the component's decisions; a `200` turns into `101`;
//! 2. sends that first answer as the first frame (without `next`, `watch`, `actions` and
//!    `room`), so a client learns its cursor even when nothing is new;
//! 3. puts the socket in the answer's room ([`rooms`]): the room watches the `watch` actors on
//!    the database's change feed ([`ChangeFeed::watch`]) and, after each durable change, reads
//!    `next` once and hands the frame to every socket standing there;
//! 4. turns each client text frame `{"type":"typing", …}` into `POST <actions>/typing` with the
//!    rest of the object as the body, and the client's credentials. A refused action comes back
//!    as `{"type":"error","status":…,"error":{…}}`.
//!
//! A feed read with `wait=N` (the widget's fallback, any long-poll client) is parked here
//! ([`long_poll`]) instead of waiting inside the component: a waiting poll holds a small entry
//! and watches, never a component instance.
//!
//! Every event comes from storage, so a message is durable before any socket hears of it, and a
//! client that reconnects with its cursor gets exactly what it missed.
//!
//! Limits: at most `max_sockets` sockets at once (a handshake beyond that gets `503` before the
//! component is asked); client messages up to 64 KiB; small socket buffers
//! ([`session::socket_config`]); a socket whose room queue is full, or that does not take a
//! frame within [`SEND_TIMEOUT`], is ended with `1013`, so nothing queues up on the host. A ping
//! goes out every [`PING_EVERY`]; a client silent for [`IDLE_LIMIT`] (no frame, no pong) is
//! dropped. Host shutdown closes every socket with `1001 going away`; a feed that can no longer
//! be read closes it with `1008` (credentials or the conversation gone) or `1013` (try again),
//! and the client reconnects from its cursor.

mod feed;
pub mod long_poll;
pub mod rooms;
mod session;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::changes::ChangeFeed;
use crate::guest::Guest;
use crate::log;
use crate::server::{answer, error_response, full, guest_failure, Body};
use edgedesk_functions::http::{take_log_labels, LogLabels};
use edgedesk_functions::realtime as rules;
use feed::{read_feed, without_wait, FeedError};
use long_poll::LongPolls;
use rooms::Rooms;
use session::Session;

/// Open sockets allowed by default (`--max-sockets`).
pub const DEFAULT_MAX_SOCKETS: usize = 10_000;
/// Interval between pings to the client.
pub const PING_EVERY: Duration = Duration::from_secs(25);
/// A client that sends nothing (not even a pong) for this long is gone.
pub const IDLE_LIMIT: Duration = Duration::from_secs(70);
/// Longest a frame may wait for the client to take it.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest message a client may send (frames are small JSON actions).
pub(crate) const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// How long shutdown waits for sockets to say goodbye.
pub(crate) const CLOSE_WAIT: Duration = Duration::from_secs(2);

pub use edgedesk_functions::realtime::{realtime_route, Stream};

/// How often the host looks whether many sockets closed ([`Realtime::give_back_memory`]).
const TRIM_EVERY: Duration = Duration::from_secs(5);
/// Sockets closed since the last look that make it give memory back.
const TRIM_AFTER_CLOSED: usize = 1_000;

/// Returns the free pages of every heap to the system (glibc's `malloc_trim`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_heap() {
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}

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
    slots: Arc<Semaphore>,
    max_sockets: usize,
    closing: watch::Sender<bool>,
    rooms: Rooms,
    long_polls: LongPolls,
}

impl Realtime {
    pub fn new(
        guest: Arc<Guest>,
        changes: ChangeFeed,
        max_sockets: usize,
        waiting: long_poll::Limits,
    ) -> Realtime {
        let closing = watch::channel(false).0;
        Realtime {
            shared: Arc::new(Shared {
                rooms: Rooms::new(guest.clone(), changes.clone()),
                long_polls: LongPolls::new(guest.clone(), changes, closing.subscribe(), waiting),
                guest,
                slots: Arc::new(Semaphore::new(max_sockets)),
                max_sockets,
                closing,
            }),
        }
    }

    /// Answers a feed read that asks to wait (see [`long_poll`]); `None` if `req` is not one.
    pub async fn long_poll(
        &self,
        req: &Request<Incoming>,
        peer: std::net::IpAddr,
    ) -> Option<long_poll::Answered> {
        let wait = LongPolls::wait_of(req.method(), req.uri())?;
        let mut headers = req.headers().clone();
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::TRANSFER_ENCODING);
        Some(
            self.shared
                .long_polls
                .serve(req.uri(), headers, peer, wait)
                .await,
        )
    }

    /// Long-polls waiting now.
    pub fn waiting_polls(&self) -> usize {
        self.shared.long_polls.waiting()
    }

    /// Rooms open now (one per feed position that sockets share).
    pub fn open_rooms(&self) -> usize {
        self.shared.rooms.open_rooms()
    }

    /// Sockets open now.
    pub fn open_sockets(&self) -> usize {
        self.shared.max_sockets - self.shared.slots.available_permits()
    }

    /// Gives freed memory back to the system after many sockets closed: the allocator keeps what
    /// thousands of sockets used, scattered between what is still in use, and would otherwise
    /// hold it until they come back. Runs until the host stops.
    pub async fn give_back_memory(&self) {
        let mut tick = tokio::time::interval(TRIM_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut high = self.open_sockets();
        loop {
            tick.tick().await;
            let open = self.open_sockets();
            if open + TRIM_AFTER_CLOSED <= high {
                tokio::task::spawn_blocking(trim_heap);
                high = open;
            }
            high = high.max(open);
        }
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
                        let mut r = answer(status, headers, body);
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
        let headers = Arc::new(forward);
        let (membership, frames) = self.shared.rooms.join(&feed, headers.clone());
        let session = Session {
            guest: self.shared.guest.clone(),
            closing: self.shared.closing.subscribe(),
            headers,
            route: labels.route.clone().unwrap_or(first_path),
            actions: feed.actions,
            first: feed.frame,
            frames,
            membership,
            frames_out: 0,
            frames_in: 0,
        };
        tokio::spawn(session.run(on_upgrade, permit));
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

/// The client's headers a socket keeps ([`rules::kept_header`]), with a `Host`. The values are
/// copied: a parsed header value is a view into the connection's 8 KiB read buffer, and a
/// socket holding one would hold that whole buffer for its life.
fn forwarded_headers(headers: &HeaderMap, authority: &str) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        if rules::kept_header(name.as_str()) {
            if let Ok(mut copied) = HeaderValue::from_bytes(value.as_bytes()) {
                copied.set_sensitive(value.is_sensitive());
                out.append(name.clone(), copied);
            }
        }
    }
    if !out.contains_key(header::HOST) {
        if let Ok(v) = HeaderValue::from_str(authority) {
            out.insert(header::HOST, v);
        }
    }
    out
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
}
