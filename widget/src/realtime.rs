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
use alloc::string::String;

use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, MessageEvent, WebSocket};

use crate::api::{self, ApiError};
use crate::app::App;
use crate::backoff::{Backoff, WS_FAILURES_BEFORE_FALLBACK};
use crate::i18n::W;
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
    app.backoff.set(Backoff::default());
    app.polling.set(!websockets_exist());
    step(app, gen);
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
    !wire::field(&api::window(), "WebSocket").is_undefined()
}

// The loop, as callbacks (an `async` loop costs a state machine and an executor in the
// wasm): `step` makes one attempt; its end goes to `socket_closed` or straight to
// `attempted`, which goes on at once, stops, or waits and calls `step` again. Each stage
// checks the generation, so a loop of a previous visitor ends at its next stage.

/// One attempt: a long-poll once the widget polls, a socket before.
fn step(app: &'static App, gen: u32) {
    if app.polling.get() {
        poll(
            app,
            gen,
            POLL_WAIT_SECONDS,
            Box::new(move |o| attempted(app, gen, o)),
        );
    } else {
        socket(app, gen, Box::new(move |o| socket_closed(app, gen, o)));
    }
}

/// A socket closed, or never opened.
fn socket_closed(app: &'static App, gen: u32, outcome: Outcome) {
    if app.gen() != gen {
        return;
    }
    let mut backoff = app.backoff.get();
    if outcome == Outcome::Worked {
        backoff.reset();
        app.backoff.set(backoff);
    } else if backoff.failures() + 1 >= WS_FAILURES_BEFORE_FALLBACK && app.gen() == gen {
        poll(
            app,
            gen,
            0,
            Box::new(move |probe| {
                if probe != Outcome::Worked {
                    return attempted(app, gen, outcome);
                }
                // HTTP answers. One more socket attempt tells a server that was restarting
                // from a runtime or proxy that does not carry WebSockets.
                socket(
                    app,
                    gen,
                    Box::new(move |again| {
                        if again != Outcome::Worked {
                            app.polling.set(true);
                        }
                        app.backoff.set(Backoff::default());
                        app.ui.show_alert(None);
                        if app.gen() == gen {
                            step(app, gen);
                        }
                    }),
                );
            }),
        );
        return;
    }
    attempted(app, gen, outcome);
}

/// After an attempt: go on at once (a poll that answered), stop (token refused), or tell
/// the visitor when it matters and try again after the backoff delay.
fn attempted(app: &'static App, gen: u32, outcome: Outcome) {
    if app.gen() != gen {
        return;
    }
    let mut backoff = app.backoff.get();
    match outcome {
        Outcome::Worked if app.polling.get() => {
            app.backoff.set(Backoff::default());
            app.ui.show_alert(None);
            return step(app, gen);
        }
        Outcome::Unauthorized => return app.token_rejected(),
        Outcome::Worked | Outcome::Failed => {}
    }
    // A connection that worked dropped, or several attempts failed: tell the visitor.
    // (The first failures of a runtime without WebSockets end in the fallback instead.)
    if outcome == Outcome::Worked || backoff.failures() + 1 >= WS_FAILURES_BEFORE_FALLBACK {
        app.ui.show_alert(Some(app.text()[W::Reconnecting]));
    }
    let delay = backoff.next_delay_ms(js_sys::Math::random());
    app.backoff.set(backoff);
    api::after(
        delay,
        Box::new(move || {
            if app.gen() == gen {
                step(app, gen);
            }
        }),
    );
}

/// Applies a frame or poll answer to the widget.
fn apply(app: &'static App, v: &JsValue) {
    let (last_seq, rev) = wire::batch(v, &mut |e| app.event(e, true));
    app.finish_batch(last_seq, rev);
}

/// One WebSocket connection, from opening until it closes; `then` learns whether it opened.
fn socket(app: &'static App, gen: u32, then: Box<dyn FnOnce(Outcome)>) {
    let token = app.token.borrow().clone().unwrap_or_default();
    let after = app.timeline.borrow().cursor();
    let mut url = app.api.url("realtime?token=");
    url.push_str(&String::from(js_sys::encode_uri_component(&token)));
    url.push_str("&after=");
    url.push_str(&api::num(after));
    url.push_str("&state=");
    url.push_str(&app.state.borrow());
    url.push_str("&public=");
    url.push_str(&api::num(app.public.get()));
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
        return then(Outcome::Failed);
    };
    app.opened.set(false);
    let on_open = Closure::<dyn Fn()>::new(move || {
        if app.gen() == gen {
            app.opened.set(true);
            app.ui.show_alert(None);
        }
    });
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| {
        if app.gen() != gen {
            return;
        }
        if let Some(text) = e.data().as_string() {
            apply(app, &wire::parse(&text));
        }
    });
    // `addEventListener`, which the widget binds anyway, rather than three `on…` setters.
    let listen = |kind, f: &JsValue| {
        let _ = ws.add_event_listener_with_callback(kind, f.unchecked_ref());
    };
    listen("open", on_open.as_ref());
    listen("message", on_message.as_ref());
    let socket = ws.clone();
    // A socket fires `close` once, also when it never opened, and nothing after it: the
    // other listeners go with this one.
    listen(
        "close",
        &api::once(Box::new(move |_| {
            drop((on_open, on_message));
            if app.socket.borrow().as_ref() == Some(&socket) {
                app.socket.replace(None);
            }
            then(if app.opened.get() {
                Outcome::Worked
            } else {
                Outcome::Failed
            });
        })),
    );
    app.socket.replace(Some(ws));
}

/// One long-poll: events after the cursor, held up to `wait` seconds by the server.
fn poll(app: &'static App, gen: u32, wait: u64, then: Box<dyn FnOnce(Outcome)>) {
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
    path.push_str("&public=");
    path.push_str(&api::num(app.public.get()));
    let abort = AbortController::new().ok();
    app.abort.replace(abort.clone());
    if let Some(a) = abort.clone() {
        // A poll the network swallowed must not hang the loop: give up a little after the
        // server's own deadline (aborting a finished request does nothing).
        api::after((wait as u32 + 10) * 1000, Box::new(move || a.abort()));
    }
    let signal = abort.as_ref().map(AbortController::signal);
    app.api.call(
        "GET",
        &path,
        None,
        token.as_deref(),
        signal.as_ref(),
        Box::new(move |result| {
            then(match result {
                _ if app.gen() != gen => Outcome::Failed,
                Ok(v) => {
                    apply(app, &v);
                    Outcome::Worked
                }
                Err(e) if e.is_bad_token() => Outcome::Unauthorized,
                Err(ApiError::Network | ApiError::Status { .. }) => Outcome::Failed,
            })
        }),
    );
}
