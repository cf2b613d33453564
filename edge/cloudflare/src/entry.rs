//! The Worker's fetch handler.

use worker::{event, Context, Env, Headers, Request, Response, Result};

use crate::datasets;
use crate::long_poll;
use crate::platform::{binding_for, CfPlatform, ACTOR_HEADER};
use crate::request_url::UrlParts;
use crate::rooms::{self, Room, ROOM_HEADER};
use crate::BODY_LIMIT;

pub(crate) fn error(status: u16, code: &str, message: &str) -> Result<Response> {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    Ok(Response::from_json(&body)?.with_status(status))
}

/// The answer when the isolate could not install its data sets: nothing ran, the client may retry.
pub fn unavailable(e: worker::Error) -> Result<Response> {
    worker::console_error!("{e}");
    error(
        503,
        "unavailable",
        "the service is starting and could not load its data; retry shortly",
    )
}

/// The functions' view of a request: path and query, headers, body.
pub async fn to_fn_request(
    req: &mut Request,
    with_body: bool,
) -> Result<Option<edgedesk_functions::http::Request>> {
    let path = UrlParts::of(&req.inner().url()).path_and_query();
    let method = http::Method::from_bytes(req.method().as_ref().as_bytes())
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut b = http::Request::builder().method(method.clone()).uri(&path);
    for (k, v) in req.headers().entries() {
        // The runtime joins repeated headers with ", ". A media type has no bare comma, so a
        // joined Content-Type was sent twice; the last one counts, as on the local host.
        let v = if k == "content-type" {
            v.rsplit(", ").next().unwrap_or_default().to_owned()
        } else {
            v
        };
        b = b.header(k, v);
    }
    let body = if with_body && method != http::Method::GET && method != http::Method::HEAD {
        req.bytes().await.unwrap_or_default()
    } else {
        Vec::new()
    };
    if body.len() > BODY_LIMIT {
        return Ok(None);
    }
    Ok(b.body(body).ok())
}

/// Takes the functions' internal headers (route, tenant, an error's cause) out of a response
/// and, when it carries a cause, logs it with `console_error` as one JSON line (route, status,
/// tenant, detail), which Workers Logs keeps. Every response of the functions passes through
/// here, whether it goes to a client or becomes a socket's frame.
pub fn take_labels(resp: &mut edgedesk_functions::http::Response) {
    let labels = edgedesk_functions::http::take_log_labels(resp.headers_mut());
    if let Some(detail) = &labels.detail {
        let line = serde_json::json!({
            "event": "request",
            "route": labels.route,
            "status": resp.status().as_u16(),
            "tenant": labels.tenant,
            "detail": detail,
        });
        worker::console_error!("{line}");
    }
}

/// The Worker's response for the functions' one, without the internal headers ([`take_labels`]).
pub fn from_fn_response(mut resp: edgedesk_functions::http::Response) -> Result<Response> {
    take_labels(&mut resp);
    let (parts, body) = resp.into_parts();
    let headers = Headers::new();
    for (k, v) in parts.headers.iter() {
        if let Ok(v) = v.to_str() {
            headers.append(k.as_str(), v)?;
        }
    }
    let status = parts.status.as_u16();
    let resp = if body.is_empty() && matches!(status, 101 | 204 | 205 | 304) {
        Response::empty()?
    } else {
        Response::from_bytes(body)?
    };
    Ok(resp.with_status(status).with_headers(headers))
}

#[event(fetch)]
pub async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let declared = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return error(
            413,
            "payload_too_large",
            &format!("the request body exceeds {BODY_LIMIT} bytes"),
        );
    }
    if let Err(e) = datasets::ensure(&env).await {
        return unavailable(e);
    }
    let p = CfPlatform::new(env.clone());
    if rooms::is_upgrade(&req) {
        if let Some(stream) = rooms::realtime_route(&req.path()) {
            return upgrade(&p, &env, &mut req, stream).await;
        }
    }
    if req.method() == worker::Method::Get {
        let raw_url = req.inner().url();
        let url = UrlParts::of(&raw_url);
        if rooms::feed_route(url.path) {
            if let Some(wait) = rooms::wait_seconds(url.query) {
                return long_poll::start(&p, &env, &mut req, wait).await;
            }
        }
    }
    let authorization = req.headers().get("authorization")?;
    if let Some(actor) = edgedesk_functions::home_actor(&req.path(), authorization.as_deref()) {
        return run_in(&env, &actor, req).await;
    }
    let Some(fn_req) = to_fn_request(&mut req, true).await? else {
        return error(
            413,
            "payload_too_large",
            &format!("the request body exceeds {BODY_LIMIT} bytes"),
        );
    };
    from_fn_response(edgedesk_functions::handle(&p, fn_req).await)
}

/// Forwards a request to run in the object of `actor` ([`edgedesk_functions::home_actor`]):
/// its storage is local there, so the optimistic transactions on that actor do not cross the
/// network between read and commit, and writers to a busy actor take turns instead of
/// colliding.
async fn run_in(env: &Env, actor: &str, mut req: Request) -> Result<Response> {
    let path = UrlParts::of(&req.inner().url()).path_and_query();
    let headers = req.headers().clone();
    headers.set(ACTOR_HEADER, actor)?;
    headers.set(crate::objects::PATH_HEADER, &path)?;
    let mut init = worker::RequestInit::new();
    init.with_method(req.method()).with_headers(headers);
    if !matches!(req.method(), worker::Method::Get | worker::Method::Head) {
        let body = req.bytes().await.unwrap_or_default();
        if body.len() > BODY_LIMIT {
            return error(
                413,
                "payload_too_large",
                &format!("the request body exceeds {BODY_LIMIT} bytes"),
            );
        }
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let fwd = Request::new_with_init("https://actor/run", &init)?;
    env.durable_object(binding_for(actor))?
        .get_by_name(actor)?
        .fetch_with_request(fwd)
        .await
}

/// A WebSocket handshake on a realtime route: read the feed once with the client's own
/// credentials (any answer but `200` is returned as is, so authentication, tenant isolation and
/// CORS stay the functions' decisions), then hand the socket to the room of the feed's first
/// watched actor. The same checks as the local host's bridge come first.
async fn upgrade(
    p: &CfPlatform,
    env: &Env,
    req: &mut Request,
    stream: rooms::Stream,
) -> Result<Response> {
    let version = req.headers().get("sec-websocket-version")?;
    if version.as_deref().map(str::trim) != Some("13") {
        let resp = error(
            426,
            "upgrade_required",
            "only WebSocket version 13 is supported",
        )?;
        resp.headers().set("sec-websocket-version", "13")?;
        return Ok(resp);
    }
    let raw_url = req.inner().url();
    let url = UrlParts::of(&raw_url);
    let host = req
        .headers()
        .get("host")?
        .unwrap_or_else(|| url.authority.to_owned());
    let same_origin = rooms::same_origin(req.headers().get("origin")?.as_deref(), &host);
    if edgedesk_functions::realtime::origin_refused(stream, same_origin) {
        return error(
            403,
            "forbidden",
            edgedesk_functions::realtime::AGENT_ORIGIN_REFUSED,
        );
    }
    let Some(FirstRead {
        next,
        mut headers,
        mut resp,
    }) = read_without_wait(p, req).await?
    else {
        return error(413, "payload_too_large", "a handshake has no body");
    };
    take_labels(&mut resp);
    if resp.status() != http::StatusCode::OK {
        return from_fn_response(resp);
    }
    let Some(feed) = edgedesk_functions::realtime::feed_answer(resp.body()) else {
        return error(500, "internal", "the realtime feed answer is malformed");
    };
    let Some(home) = feed.watch.first().cloned() else {
        return error(500, "internal", "the realtime feed watches nothing");
    };
    if same_origin == Some(true) {
        // The origin is the console's own, which is what the session cookie's CSRF header proves
        // for fetch requests; a WebSocket cannot send that header itself.
        headers.push(("x-edgedesk-csrf".into(), "1".into()));
    }
    let room = Room {
        next,
        actions: feed.actions.unwrap_or_default(),
        watch: feed.watch,
        headers,
        greeted: false,
        room: feed.room,
        checked_ms: js_sys::Date::now(),
        borrowed: false,
    };
    let room = serde_json::to_string(&room)?;
    to_object(
        env,
        &home,
        "room",
        &[("upgrade", "websocket"), (ROOM_HEADER, &room)],
    )
    .await
}

/// A feed route read once without `wait`, as a socket or a parked long-poll begins.
pub(crate) struct FirstRead {
    /// Path and query of the read: the client's, without `wait`.
    pub next: String,
    /// What the socket or the parked poll keeps of the client's headers for later reads.
    pub headers: Vec<(String, String)>,
    pub resp: edgedesk_functions::http::Response,
}

/// Reads the feed `req` names once, never waiting (the caller waits for changes instead);
/// `None` if the request has a body over the limit.
pub(crate) async fn read_without_wait(
    p: &CfPlatform,
    req: &mut Request,
) -> Result<Option<FirstRead>> {
    let raw_url = req.inner().url();
    let url = UrlParts::of(&raw_url);
    let Some(mut fn_req) = to_fn_request(req, false).await? else {
        return Ok(None);
    };
    let next = rooms::without_wait(url.path, url.query);
    *fn_req.uri_mut() = next
        .parse()
        .map_err(|_| worker::Error::RustError("bad feed path".into()))?;
    let headers = rooms::kept_headers(&fn_req);
    let resp = edgedesk_functions::handle(p, fn_req).await;
    Ok(Some(FirstRead {
        next,
        headers,
        resp,
    }))
}

/// Hands a request to the object of `actor`: `https://actor/<op>` with `headers`.
pub(crate) async fn to_object(
    env: &Env,
    actor: &str,
    op: &str,
    headers: &[(&str, &str)],
) -> Result<Response> {
    let fwd_headers = Headers::new();
    fwd_headers.set(ACTOR_HEADER, actor)?;
    for (name, value) in headers {
        fwd_headers.set(name, value)?;
    }
    let mut init = worker::RequestInit::new();
    init.with_headers(fwd_headers);
    let fwd = Request::new_with_init(&format!("https://actor/{op}"), &init)?;
    let stub = env.durable_object(binding_for(actor))?.get_by_name(actor)?;
    stub.fetch_with_request(fwd).await
}
