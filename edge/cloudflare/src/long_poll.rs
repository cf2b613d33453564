//! Long-polls (`wait=N` on a feed route, the widget's fallback) parked in the object that holds
//! the feed's sockets, instead of a wait loop that reads storage four times a second.
//!
//! The Worker reads the feed once without `wait`. With news, or a refusal, that answer goes
//! back at once. Otherwise the poll is handed to the object of the feed's first watched actor
//! (where its sockets would live), which records itself with the other watched actors as a
//! room does and parks the request on its [`Bell`]: rung by the object's own commits and by
//! the other actors' change notices, it costs no read while nothing changes. On a ring the
//! object reads the feed at the poll's position with the client's credentials and answers if
//! there is news; at the deadline it answers with a last read. An object parks at most
//! [`MAX_PARKED`] polls; past that a poll gets `429 too_many_waiting` with `Retry-After`, as on
//! the local host.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_util::future::select;
use serde::{Deserialize, Serialize};
use worker::{Env, Request, Response, Result};

use crate::entry::{error, from_fn_response, read_without_wait, take_labels, to_object, FirstRead};
use crate::objects::ActorObject;
use crate::platform::CfPlatform;
use crate::rooms;
use edgedesk_functions::realtime::{feed_answer, FeedAnswer, MAX_WATCHES};

/// Header carrying the [`Parked`] poll from the Worker to the object.
pub const PARK_HEADER: &str = "x-edgedesk-park";

/// Polls one object holds at once.
pub const MAX_PARKED: usize = 1000;

/// Seconds a poll refused for [`MAX_PARKED`] is told to wait.
const RETRY_AFTER_SECONDS: &str = "5";

/// A poll handed to an object: where to read, with which credentials, until when.
#[derive(Debug, Serialize, Deserialize)]
pub struct Parked {
    /// Path and query of the feed read, without `wait`.
    pub next: String,
    pub watch: Vec<String>,
    pub headers: Vec<(String, String)>,
    /// When to answer anyway (ms since the epoch).
    pub deadline_ms: f64,
}

/// Rung after each change an object hears of; parked polls wait for the next ring.
#[derive(Default)]
pub struct Bell {
    rings: Cell<u64>,
    waiting: RefCell<Vec<Waker>>,
}

impl Bell {
    pub fn ring(&self) {
        self.rings.set(self.rings.get() + 1);
        for w in self.waiting.borrow_mut().drain(..) {
            w.wake();
        }
    }

    /// Resolves at the first ring after now.
    fn next_ring(self: &Rc<Self>) -> Ring {
        Ring {
            bell: self.clone(),
            seen: self.rings.get(),
        }
    }
}

struct Ring {
    bell: Rc<Bell>,
    seen: u64,
}

impl Future for Ring {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.bell.rings.get() != self.seen {
            return Poll::Ready(());
        }
        self.bell.waiting.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

/// In the Worker: a feed read that asked to wait `wait` seconds.
pub async fn start(p: &CfPlatform, env: &Env, req: &mut Request, wait: u64) -> Result<Response> {
    let Some(FirstRead {
        next,
        headers,
        mut resp,
    }) = read_without_wait(p, req).await?
    else {
        return error(413, "payload_too_large", "a feed read has no body");
    };
    let feed = ok_feed(&resp);
    let Some(home) = feed
        .as_ref()
        .filter(|f| !f.has_events && f.watch.len() <= MAX_WATCHES)
        .and_then(|f| f.watch.first().cloned())
    else {
        // News, a refusal, or nothing to wait on: the answer goes out now.
        return from_fn_response(resp);
    };
    take_labels(&mut resp);
    let parked = Parked {
        next,
        watch: feed.map(|f| f.watch).unwrap_or_default(),
        headers,
        deadline_ms: js_sys::Date::now() + wait as f64 * 1000.0,
    };
    let parked = serde_json::to_string(&parked)?;
    to_object(env, &home, "park", &[(PARK_HEADER, &parked)]).await
}

/// The feed answer of a `200`; `None` for a refusal (or what is not a feed answer).
fn ok_feed(resp: &edgedesk_functions::http::Response) -> Option<FeedAnswer> {
    (resp.status() == http::StatusCode::OK)
        .then(|| feed_answer(resp.body()))
        .flatten()
}

/// Counts a parked poll for as long as it lives.
struct Place(Rc<Cell<usize>>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// In the object of the feed's first watched actor: wait for a change, then read.
pub async fn park(obj: &ActorObject, actor: &str, req: &Request) -> Result<Response> {
    let parked: Parked = req
        .headers()
        .get(PARK_HEADER)?
        .and_then(|h| edgedesk_json::from_slice(h.as_bytes()).ok())
        .ok_or_else(|| worker::Error::RustError("a parked poll without its feed".into()))?;
    if obj.parked.get() >= MAX_PARKED {
        let body = serde_json::json!({"error": {"code": "too_many_waiting",
            "message": "too many polls are waiting here; retry later or use the WebSocket"}});
        let resp = Response::from_json(&body)?.with_status(429);
        resp.headers().set("retry-after", RETRY_AFTER_SECONDS)?;
        return Ok(resp);
    }
    obj.parked.set(obj.parked.get() + 1);
    let _place = Place(obj.parked.clone());
    rooms::record_with(obj, actor, parked.watch.iter()).await;
    let mut next = parked.next;
    loop {
        // Taken before the read, so a change during it rings for the next turn. The first
        // read comes at once: a change between the Worker's read and the watches above would
        // otherwise wait for the next one.
        let rung = obj.bell.next_ring();
        let inside = obj
            .platform(actor)
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        let Some(fn_req) = rooms::fn_request(http::Method::GET, &next, &parked.headers, Vec::new())
        else {
            return error(500, "internal", "the parked poll's path is malformed");
        };
        let resp = edgedesk_functions::handle(&inside, fn_req).await;
        let feed = ok_feed(&resp);
        let left = parked.deadline_ms - js_sys::Date::now();
        match feed {
            Some(f) if !f.has_events && left > 0.0 => next = f.next,
            _ => return from_fn_response(resp),
        }
        let timeout = worker::Delay::from(std::time::Duration::from_millis(left as u64));
        // Rung or out of time: either way the next turn reads (and the last one answers).
        let _ = select(std::pin::pin!(rung), timeout).await;
    }
}
