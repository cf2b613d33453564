//! The HTTP front: accepts connections (HTTP/1.1, keep-alive), serves static assets itself,
//! enforces the request body limit, hands everything else to the component, logs one line per
//! request, and shuts down gracefully.
//!
//! Host-made errors use the API's shape, `{"error":{"code","message"}}`: 404 for a missing
//! static file, 413 for a body over the limit (the component is not called), 500 when the
//! component traps or sends no response, 503 when it cannot be instantiated, 504 on timeout.
//! The component's internal response headers (`x-edgedesk-tenant`, `x-edgedesk-route` and, on a
//! failure inside, `x-edgedesk-detail` with its cause) feed the log line and are removed from the
//! response ([`take_labels`]), so a client never sees them.
//!
//! A WebSocket handshake on a realtime route goes to [`crate::realtime`] instead; the connection
//! then leaves hyper and belongs to that socket.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::client_addr::client_ip;
use crate::guest::{Guest, GuestError};
use crate::log::{self, RequestLine};
use crate::realtime::{self, Realtime};
use crate::static_files::StaticFiles;
use edgedesk_functions::http::LogLabels;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every response body the host sends: a buffer, or the component's stream.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// Removes the component's internal headers from its response and returns what they said, for
/// the log line. Every response of the component passes through here before it leaves.
pub fn take_labels<B>(response: &mut Response<B>) -> LogLabels {
    edgedesk_functions::http::take_log_labels(response.headers_mut())
}

/// An oversized body up to this size is read and discarded so the client gets its 413;
/// beyond it the connection is closed instead.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// Longest time to receive a request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long shutdown waits for in-flight requests before closing anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

pub fn full(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A response with the component's status, headers and whole body, as it answered.
pub fn answer(status: StatusCode, headers: http::HeaderMap, body: Bytes) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

/// `{"error":{"code","message"}}` with `status`.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    let mut r = Response::new(full(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Everything a request needs.
pub struct App {
    pub guest: Arc<Guest>,
    pub statics: StaticFiles,
    /// Largest request body passed to the component.
    pub body_limit: usize,
    /// Used as the request authority when a client sends no `Host`.
    pub authority: String,
    /// WebSockets on the realtime routes.
    pub realtime: Realtime,
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

struct Outcome {
    response: Response<Body>,
    route: String,
    tenant: Option<String>,
    detail: Option<String>,
}

impl App {
    /// Answers one request and logs it.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<Body> {
        let start = Instant::now();
        let method = req.method().clone();
        let outcome = self.dispatch(req, peer).await;
        log::request(&RequestLine {
            method: method.as_str(),
            route: &outcome.route,
            status: outcome.response.status().as_u16(),
            duration_us: u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
            tenant: outcome.tenant.as_deref(),
            detail: outcome.detail.as_deref(),
        });
        outcome.response
    }

    async fn dispatch(&self, req: Request<Incoming>, peer: SocketAddr) -> Outcome {
        let path = req.uri().path().to_owned();
        if let Some(target) = self.statics.resolve(&path) {
            let response = self
                .statics
                .serve(
                    &target,
                    req.method(),
                    req.headers().get(header::IF_NONE_MATCH),
                )
                .await;
            return Outcome {
                response,
                route: target.route.to_owned(),
                tenant: None,
                detail: None,
            };
        }
        if let Some(stream) = realtime::realtime_route(&path) {
            if realtime::is_handshake(req.method(), req.headers()) {
                let shake = self.realtime.accept(req, stream, &self.authority).await;
                return Outcome {
                    response: shake.response,
                    route: shake.labels.route.unwrap_or(path),
                    tenant: shake.labels.tenant,
                    detail: shake.labels.detail,
                };
            }
        }
        // A feed read that asks to wait is parked without holding an instance.
        let client = client_ip(peer.ip(), req.headers(), &self.trusted_proxies);
        if let Some(answered) = self.realtime.long_poll(&req, client).await {
            return Outcome {
                response: answered.response,
                route: answered.labels.route.unwrap_or(path),
                tenant: answered.labels.tenant,
                detail: answered.labels.detail,
            };
        }
        let plain = |response| Outcome {
            response,
            route: path.clone(),
            tenant: None,
            detail: None,
        };

        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let (mut parts, body) = req.into_parts();
        let body = match read_body(body, self.body_limit, declared).await {
            Ok(bytes) => bytes,
            Err(BodyError::TooLarge { drained }) => {
                let mut response = too_large(self.body_limit);
                if !drained {
                    // The rest of the body is still on the wire: the connection cannot carry
                    // another request.
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                return plain(response);
            }
            Err(BodyError::Read) => {
                return plain(error_response(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "the request body could not be read",
                ))
            }
        };
        if !parts.headers.contains_key(header::HOST) {
            if let Ok(v) = HeaderValue::from_str(&self.authority) {
                parts.headers.insert(header::HOST, v);
            }
        }

        match self.guest.handle(Request::from_parts(parts, body)).await {
            Ok(mut response) => {
                let labels = take_labels(&mut response);
                Outcome {
                    response: response.map(|b| b.map_err(BoxError::from).boxed_unsync()),
                    route: labels.route.unwrap_or(path),
                    tenant: labels.tenant,
                    detail: labels.detail,
                }
            }
            Err(e) => {
                log::event(
                    "guest_error",
                    &[
                        ("route", path.as_str().into()),
                        ("error", e.to_string().into()),
                    ],
                );
                plain(guest_failure(&e))
            }
        }
    }
}

enum BodyError {
    /// Over the limit; `drained` tells whether the rest was read (and discarded).
    TooLarge {
        drained: bool,
    },
    Read,
}

/// Reads a request body of at most `limit` bytes. A larger one is read on and discarded up to
/// [`DRAIN_LIMIT`] before answering `413`, because most clients send the whole body before
/// they read the answer, and would see a reset connection instead of the 413.
async fn read_body(
    mut body: Incoming,
    limit: usize,
    declared: Option<u64>,
) -> Result<Bytes, BodyError> {
    let over = |n: u64| n > limit as u64;
    let drainable = |n: u64| n <= DRAIN_LIMIT;
    if declared.is_some_and(|n| over(n) && !drainable(n)) {
        return Err(BodyError::TooLarge { drained: false });
    }
    let mut buf = bytes::BytesMut::new();
    let mut seen: u64 = 0;
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| BodyError::Read)?;
            if let Ok(data) = frame.into_data() {
                seen += data.len() as u64;
                if !drainable(seen) {
                    return Err(BodyError::TooLarge { drained: false });
                }
                if !over(seen) {
                    buf.extend_from_slice(&data);
                }
            }
        }
        if over(seen) {
            Err(BodyError::TooLarge { drained: true })
        } else {
            Ok(())
        }
    };
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(Ok(())) => Ok(buf.freeze()),
        Ok(Err(e)) => Err(e),
        Err(_) if over(seen) => Err(BodyError::TooLarge { drained: false }),
        Err(_) => Err(BodyError::Read),
    }
}

fn too_large(limit: usize) -> Response<Body> {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!("the request body exceeds {limit} bytes"),
    )
}

pub(crate) fn guest_failure(e: &GuestError) -> Response<Body> {
    match e {
        GuestError::Timeout(_) => error_response(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "the request took too long",
        ),
        GuestError::Instantiate(_) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service cannot take this request now",
        ),
        GuestError::Trap(_)
        | GuestError::NoResponse
        | GuestError::ErrorCode(_)
        | GuestError::Host(_) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request failed inside the service",
        ),
    }
}

/// Serves `listener` until `shutdown` resolves, then stops accepting, closes the WebSockets,
/// lets in-flight requests finish (closing idle keep-alive connections at once) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    // Each connection holds a receiver; shutdown sends, then waits for all of them to be dropped.
    // (hyper-util's `GracefulShutdown` does not take connections with upgrades.)
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: keep serving the connections we have.
                    log::event("accept_failed", &[("error", e.to_string().into())]);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small JSON answers on keep-alive connections: do not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |req| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.handle(req, peer).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(30))
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            drop(stop);
            if let Err(e) = result {
                connection_error(peer, &e);
            }
        });
    }
    drop(listener);
    drop(stop_rx);
    app.realtime.close_all().await;
    let _ = stop_tx.send(());
    tokio::select! {
        () = stop_tx.closed() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            log::event("drain_timeout", &[("seconds", DRAIN_TIMEOUT.as_secs().into())]);
        }
    }
    Ok(())
}

fn connection_error(peer: SocketAddr, e: &hyper::Error) {
    // A client going away mid-request is routine; only log what is not.
    if !(e.is_incomplete_message() || e.is_canceled() || e.is_closed()) {
        log::event(
            "connection_error",
            &[
                ("peer", peer.ip().to_string().into()),
                ("error", e.to_string().into()),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgedesk_functions::error::ApiError;
    use edgedesk_functions::ports::StorageError;

    /// The component's answer to a request whose storage failed, as `functions` makes it.
    fn storage_failure() -> Response<Vec<u8>> {
        let err = ApiError::from(StorageError::Unavailable("disk I/O error".into()))
            .context("t:ten_1/ticket:tkt_1");
        let mut response = edgedesk_functions::http::error_response(&err);
        for (name, value) in [
            (edgedesk_functions::http::ROUTE_HEADER, "/v1/tickets/{id}"),
            (edgedesk_functions::http::TENANT_HEADER, "ten_1"),
        ] {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }

    #[test]
    fn the_client_gets_no_internal_header_and_no_cause() {
        let mut response = storage_failure();
        let body_before = response.body().clone();
        take_labels(&mut response);
        let names: Vec<&str> = response.headers().keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["content-type"]);
        assert_eq!(response.body(), &body_before);
        let body = String::from_utf8(response.into_body()).unwrap();
        assert!(!body.contains("disk"), "{body}");
        assert!(!body.contains("tkt_1"), "{body}");
    }

    #[test]
    fn a_storage_failures_cause_is_in_the_log_line() {
        let mut response = storage_failure();
        let labels = take_labels(&mut response);
        let line = log::request_json(&RequestLine {
            method: "GET",
            route: labels.route.as_deref().unwrap_or("/"),
            status: response.status().as_u16(),
            duration_us: 1,
            tenant: labels.tenant.as_deref(),
            detail: labels.detail.as_deref(),
        });
        assert_eq!(line["route"], "/v1/tickets/{id}");
        assert_eq!(line["tenant"], "ten_1");
        assert_eq!(line["status"], 503);
        assert_eq!(
            line["detail"],
            "t:ten_1/ticket:tkt_1: storage: storage unavailable: disk I/O error"
        );
    }
}
