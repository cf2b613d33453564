//! The Worker's fetch handler.

use worker::{event, Context, Env, Headers, Request, Response, Result};

use crate::platform::{binding_for, CfPlatform, ACTOR_HEADER};
use crate::rooms::{self, Room, ROOM_HEADER};
use crate::BODY_LIMIT;

/// Response headers the functions set for the host's log line; not for clients.
const INTERNAL_HEADERS: &[&str] = &["x-edgedesk-tenant", "x-edgedesk-route"];

fn error(status: u16, code: &str, message: &str) -> Result<Response> {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    Ok(Response::from_json(&body)?.with_status(status))
}

/// The functions' view of a request: path and query, headers, body.
pub async fn to_fn_request(req: &mut Request, with_body: bool) -> Result<Option<edgedesk_functions::http::Request>> {
    let url = req.url()?;
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let method = http::Method::from_bytes(req.method().as_ref().as_bytes())
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut b = http::Request::builder().method(method.clone()).uri(&path);
    for (k, v) in req.headers().entries() {
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

pub fn from_fn_response(resp: edgedesk_functions::http::Response) -> Result<Response> {
    let (parts, body) = resp.into_parts();
    let headers = Headers::new();
    for (k, v) in parts.headers.iter() {
        if INTERNAL_HEADERS.contains(&k.as_str()) {
            continue;
        }
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
        return error(413, "payload_too_large", &format!("the request body exceeds {BODY_LIMIT} bytes"));
    }
    let p = CfPlatform::new(env.clone());
    if rooms::is_upgrade(&req) {
        return upgrade(&p, &env, &mut req).await;
    }
    if let Some(actor) = conversation_of(&req.path()) {
        return run_in(&env, &actor, req).await;
    }
    let Some(fn_req) = to_fn_request(&mut req, true).await? else {
        return error(413, "payload_too_large", &format!("the request body exceeds {BODY_LIMIT} bytes"));
    };
    from_fn_response(edgedesk_functions::handle(&p, fn_req).await)
}

/// The conversation actor a `/v1/conversations/{id}/…` request works on. Such requests run
/// inside that conversation's object: its storage is local there, so the optimistic
/// transactions on the message sequence do not cross the network between read and commit, and
/// writers to a busy conversation take turns instead of colliding.
fn conversation_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/v1/conversations/")?;
    let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
    (!tail.is_empty() && id.starts_with("cnv_") && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| format!("c:{id}"))
}

/// Forwards a request to run in the object of `actor` (see [`conversation_of`]).
async fn run_in(env: &Env, actor: &str, mut req: Request) -> Result<Response> {
    let url = req.url()?;
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let headers = req.headers().clone();
    headers.set(ACTOR_HEADER, actor)?;
    headers.set(crate::objects::PATH_HEADER, &path)?;
    let mut init = worker::RequestInit::new();
    init.with_method(req.method()).with_headers(headers);
    if !matches!(req.method(), worker::Method::Get | worker::Method::Head) {
        let body = req.bytes().await.unwrap_or_default();
        if body.len() > BODY_LIMIT {
            return error(413, "payload_too_large", &format!("the request body exceeds {BODY_LIMIT} bytes"));
        }
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let fwd = Request::new_with_init("https://actor/run", &init)?;
    env.durable_object(binding_for(actor))?.get_by_name(actor)?.fetch_with_request(fwd).await
}

/// A WebSocket handshake: read the feed once (authentication and refusals exactly as for a
/// long-poll), then hand the socket to the room of the feed's first watched actor.
async fn upgrade(p: &CfPlatform, env: &Env, req: &mut Request) -> Result<Response> {
    let Some(fn_req) = to_fn_request(req, false).await? else {
        return error(413, "payload_too_large", "a handshake has no body");
    };
    let next = fn_req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_default();
    let headers = rooms::kept_headers(&fn_req);
    let resp = edgedesk_functions::handle(p, fn_req).await;
    if resp.status() != http::StatusCode::OK {
        return from_fn_response(resp);
    }
    #[derive(serde::Deserialize)]
    struct FeedHead {
        watch: Vec<String>,
        #[serde(default)]
        actions: String,
    }
    let Ok(feed) = serde_json::from_slice::<FeedHead>(resp.body()) else {
        return error(426, "not_a_feed", "only feed routes accept WebSockets");
    };
    let Some(home) = feed.watch.first().cloned() else {
        return error(426, "not_a_feed", "this feed has nothing to watch");
    };
    let room = Room {
        next,
        actions: feed.actions,
        watch: feed.watch,
        headers,
        greeted: false,
    };
    let fwd_headers = Headers::new();
    fwd_headers.set("upgrade", "websocket")?;
    fwd_headers.set(ACTOR_HEADER, &home)?;
    fwd_headers.set(ROOM_HEADER, &serde_json::to_string(&room)?)?;
    let mut init = worker::RequestInit::new();
    init.with_headers(fwd_headers);
    let fwd = Request::new_with_init("https://actor/room", &init)?;
    let stub = env.durable_object(binding_for(&home))?.get_by_name(&home)?;
    stub.fetch_with_request(fwd).await
}
