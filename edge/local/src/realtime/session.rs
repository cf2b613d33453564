//! One socket: the first frame, then the frames its room hands it, client frames turned into
//! actions, pings, and the close. A session holds no feed state of its own beyond its
//! credentials and its action path; what to send comes from the room ([`super::rooms`]).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value};
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::feed::call;
use super::rooms::{Mailbox, Membership, Outgoing};
use super::{CLOSE_WAIT, IDLE_LIMIT, MAX_CLIENT_MESSAGE, PING_EVERY, SEND_TIMEOUT};
use crate::guest::Guest;
use crate::log;
use edgedesk_functions::http::take_log_labels;
use edgedesk_functions::realtime::{client_action, error_frame, refused_action_frame};

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// Bytes tungstenite reads from the socket at a time, and keeps for the socket's life. Client
/// frames are small JSON actions (a 64 KiB one takes 128 reads); its default, 128 KiB, would
/// dwarf everything else an idle socket holds.
const READ_BUFFER: usize = 512;
/// Bytes of outgoing frames buffered before they are written out: none, each frame is written
/// at once. (The limit on what may wait to be written stays tungstenite's: a feed page of large
/// messages makes a frame of several MB.)
const WRITE_BUFFER: usize = 0;

/// The socket's buffers: small, since frames are small and a socket mostly waits.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE))
}

/// Why a session ended (for the log line and the close frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
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
            End::ClientClosed | End::ClientGone | End::Idle => return None,
            End::SlowClient => (
                CloseCode::Again,
                "too slow to keep up; reconnect from your cursor",
            ),
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

/// A socket's session.
pub struct Session {
    pub guest: Arc<Guest>,
    pub closing: watch::Receiver<bool>,
    /// The client's credentials, sent with every action.
    pub headers: Arc<HeaderMap>,
    pub route: String,
    pub actions: Option<String>,
    /// The first answer (it goes out even without events: it carries the cursor).
    pub first: Map<String, Value>,
    pub frames: Arc<Mailbox>,
    pub membership: Membership,
    pub frames_out: u64,
    pub frames_in: u64,
}

impl Session {
    pub async fn run(mut self, on_upgrade: OnUpgrade, permit: OwnedSemaphorePermit) {
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
        let mut ws = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(socket_config()),
        )
        .await;
        let end = Box::pin(self.serve(&mut ws)).await;
        // Out of the room before the goodbye: nothing more is queued for this socket.
        drop(std::mem::replace(&mut self.membership, Membership::none()));
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

    async fn serve(&mut self, ws: &mut Socket) -> End {
        if *self.closing.borrow_and_update() {
            return End::ShuttingDown;
        }
        let first = std::mem::take(&mut self.first);
        let text = Value::Object(first).to_string();
        if let Err(end) = self.send(ws, Message::text(text)).await {
            return end;
        }
        let mut last_heard = Instant::now();
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                out = self.frames.next() => match out {
                    Some(Outgoing::Frame(text)) => {
                        if let Err(end) = self.send(ws, Message::Text(text)).await {
                            return end;
                        }
                    }
                    Some(Outgoing::End(end)) => return end,
                    // The room dropped this socket: its queue was full.
                    None => return End::SlowClient,
                },
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
                            if let Some(reply) = Box::pin(self.action(text.as_str())).await {
                                let text = Value::Object(reply).to_string();
                                if let Err(end) = self.send(ws, Message::text(text)).await {
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
                _ = self.closing.changed() => return End::ShuttingDown,
            }
        }
    }

    /// Sends one frame, waiting at most [`SEND_TIMEOUT`] for the client to take it.
    async fn send(&mut self, ws: &mut Socket, message: Message) -> Result<(), End> {
        match tokio::time::timeout(SEND_TIMEOUT, ws.send(message)).await {
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
        let mut headers = (*self.headers).clone();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let body = Bytes::from(action.body);
        match call(&self.guest, Method::POST, &action.path, &headers, body).await {
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

    /// Logs the cause the component gave for a refused action, if it gave one (a socket's
    /// actions have no request line of their own).
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
}
