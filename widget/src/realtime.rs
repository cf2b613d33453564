//! Realtime events: a WebSocket per conversation, with reconnects and a long-poll fallback.
//!
//! Ordering guarantee: every (re)connection asks for events `after` the timeline's cursor,
//! which only ordered sources move, and the timeline drops any `seq` it already shows. So a
//! drop at any moment, a server restart, or a switch from WebSocket to long-poll shows every
//! message once, in order.
//!
//! Fallback: a WebSocket that fails to open [`WS_FAILURES_BEFORE_FALLBACK`] times in a row
//! is put to the test with one immediate long-poll. If plain HTTP answers, the runtime or a
//! proxy in between does not carry WebSockets, and the widget long-polls from then on; if
//! HTTP fails too, the server is simply down, and the widget keeps retrying the socket.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use core::cell::Cell;

use js_sys::Promise;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{AbortController, MessageEvent, WebSocket};

use crate::api::{self, ApiError};
use crate::app::App;
use crate::backoff::{Backoff, WS_FAILURES_BEFORE_FALLBACK};
use crate::wire;

/// Longest a long-poll is held by the server, in seconds (the API's maximum).
const POLL_WAIT_SECONDS: u64 = 25;

/// How one connection attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// It worked (a socket that opened, or a poll that answered).
    Worked,
    /// No connection.
    Failed,
    /// The server no longer accepts the visitor token.
    Unauthorized,
}

/// Starts the event stream for the current visitor generation.
pub fn start(app: &'static App, gen: u32) {
    spawn_local(run(app, gen));
}

/// Closes the socket and aborts the poll of the current generation (the loop then sees the
/// generation changed and ends).
pub fn stop(app: &App) {
    let socket = app.socket.take();
    let abort = app.abort.take();
    if let Some(s) = socket {
        let _ = s.close();
    }
    if let Some(a) = abort {
        a.abort();
    }
}

fn websockets_exist() -> bool {
    web_sys::window()
        .is_some_and(|w| js_sys::Reflect::has(&w, &JsValue::from_str("WebSocket")).unwrap_or(false))
}

async fn run(app: &'static App, gen: u32) {
    let mut backoff = Backoff::default();
    let mut polling = !websockets_exist();
    loop {
        let outcome = if polling {
            poll(&app, gen, POLL_WAIT_SECONDS).await
        } else {
            let outcome = socket(&app, gen).await;
            if outcome == Outcome::Worked {
                backoff.reset();
            } else if backoff.failures() + 1 >= WS_FAILURES_BEFORE_FALLBACK
                && app.gen() == gen
                && poll(&app, gen, 0).await == Outcome::Worked
            {
                // HTTP answers. One more socket attempt tells a server that was restarting
                // from a runtime or proxy that does not carry WebSockets.
                if socket(&app, gen).await != Outcome::Worked {
                    polling = true;
                }
                backoff.reset();
                app.ui.show_alert(None);
                continue;
            }
            outcome
        };
        if app.gen() != gen {
            return;
        }
        match outcome {
            Outcome::Worked if polling => {
                backoff.reset();
                app.ui.show_alert(None);
                continue;
            }
            Outcome::Unauthorized => {
                app.token_rejected();
                return;
            }
            Outcome::Worked | Outcome::Failed => {}
        }
        // A connection that worked dropped, or several attempts failed: tell the visitor.
        // (The first failures of a runtime without WebSockets end in the fallback instead.)
        if outcome == Outcome::Worked || backoff.failures() + 1 >= WS_FAILURES_BEFORE_FALLBACK {
            app.ui.show_alert(Some(app.text().reconnecting));
        }
        api::sleep(backoff.next_delay_ms(js_sys::Math::random())).await;
        if app.gen() != gen {
            return;
        }
    }
}

/// Applies a frame or poll answer to the widget.
fn apply(app: &'static App, v: &JsValue) {
    let (last_seq, rev) = wire::batch(v, &mut |e| app.event(e, true));
    app.finish_batch(last_seq, rev);
}

/// One WebSocket connection, from opening until it closes: `Worked` if it opened.
async fn socket(app: &'static App, gen: u32) -> Outcome {
    let token = app.token.borrow().clone().unwrap_or_default();
    let after = app.timeline.borrow().cursor();
    let mut url = app.api.url("realtime?token=");
    url.push_str(&String::from(js_sys::encode_uri_component(&token)));
    url.push_str("&after=");
    url.push_str(&api::num(after));
    url.push_str("&state=");
    url.push_str(&app.state.borrow());
    // http → ws, https → wss.
    let url = match url.strip_prefix("http") {
        Some(rest) => {
            let mut ws = String::from("ws");
            ws.push_str(rest);
            ws
        }
        None => url,
    };
    let Ok(ws) = WebSocket::new(&url) else {
        return Outcome::Failed;
    };
    let opened = Rc::new(Cell::new(false));
    let mut resolve = None;
    let closed = Promise::new(&mut |res, _| resolve = Some(res));
    let on_close = Closure::<dyn Fn()>::new(move || {
        if let Some(r) = &resolve {
            let _ = r.call0(&JsValue::NULL);
        }
    });
    let on_open = {
        let opened = opened.clone();
        Closure::<dyn Fn()>::new(move || {
            opened.set(true);
            app.ui.show_alert(None);
        })
    };
    let on_message = {
        Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| {
            if app.gen() != gen {
                return;
            }
            if let Some(text) = e.data().as_string() {
                apply(&app, &wire::parse(&text));
            }
        })
    };
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    app.socket.replace(Some(ws.clone()));
    let _ = JsFuture::from(closed).await;
    // Detach before the closures are dropped at the end of this function.
    ws.set_onclose(None);
    ws.set_onopen(None);
    ws.set_onmessage(None);
    if app.socket.borrow().as_ref() == Some(&ws) {
        app.socket.replace(None);
    }
    if opened.get() {
        Outcome::Worked
    } else {
        Outcome::Failed
    }
}

/// One long-poll: events after the cursor, held up to `wait` seconds by the server.
async fn poll(app: &'static App, gen: u32, wait: u64) -> Outcome {
    let token = app.token.borrow().clone();
    let after = app.timeline.borrow().cursor();
    let rev = app.rev.get();
    let mut path = String::from("poll?after=");
    path.push_str(&api::num(after));
    path.push_str("&rev=");
    path.push_str(&api::num(rev));
    path.push_str("&wait=");
    path.push_str(&api::num(wait));
    path.push_str("&state=");
    path.push_str(&app.state.borrow());
    let abort = AbortController::new().ok();
    app.abort.replace(abort.clone());
    if let Some(a) = abort.clone() {
        // A poll the network swallowed must not hang the loop: give up a little after the
        // server's own deadline (aborting a finished request does nothing).
        api::after((wait as u32 + 10) * 1000, Box::new(move || a.abort()));
    }
    let signal = abort.as_ref().map(AbortController::signal);
    let result = app
        .api
        .call("GET", &path, None, token.as_deref(), signal.as_ref())
        .await;
    if app.gen() != gen {
        return Outcome::Failed;
    }
    match result {
        Ok(v) => {
            apply(app, &v);
            Outcome::Worked
        }
        Err(e) if e.is_bad_token() => Outcome::Unauthorized,
        Err(ApiError::Network | ApiError::Status { .. }) => Outcome::Failed,
    }
}
