//! The widget's behaviour: visitor session, history, sending, typing, receipts, identity,
//! help-centre article suggestions and votes, leaving an email while nobody is online, and the
//! JS API's commands.
//!
//! Everything runs on the page's single thread, and nothing is `async`: a request hands its
//! answer to a callback (see `api`). Scalar state sits in `Cell`s; the rest in `Slot`s
//! (`RefCell`s that trap on conflict) borrowed only for short, non-reentrant stretches (never
//! while calling back, or across a DOM call that can fire events synchronously).
//! Asynchronous flows carry the *generation* they started in; `reset()` and identity changes
//! bump it, and a flow that wakes up in an older generation stops, so a previous visitor's
//! answers can never land in the current visitor's panel.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::string::String;
use core::cell::Cell;

use js_sys::{Function, Object};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlElement, Storage};

use crate::api::{self, Api, ApiError, Body};
use crate::backoff::Backoff;
use crate::i18n::{Locale, Text, W};
use crate::realtime;
use crate::slot::Slot;
use crate::timeline::{receipt, Insert, Timeline};
use crate::ui::{self, Ui};
use crate::wire::{self, Config, Event, Message, Party};

/// Resending "typing" this often keeps the server's 8-second indicator alive.
const TYPING_REFRESH_MS: f64 = 4_000.0;
/// An agent's typing indicator disappears after this long without a refresh.
const AGENT_TYPING_MS: u32 = 8_000;
/// How long a send waits for the visitor's session before giving up.
const SESSION_WAIT_MS: u32 = 15_000;
/// Article suggestions are asked for once the visitor pauses typing this long.
const SUGGEST_PAUSE_MS: u32 = 250;

/// Where the visitor's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No session yet (anonymous visitor who has not written).
    Idle,
    /// Asking the server for one.
    Starting,
    /// Token valid, history loaded, realtime running.
    Ready,
    /// The site's identity hash was refused: nothing is shown.
    Refused,
    /// The server is unreachable or refused the session for another reason.
    Failed,
}

/// The running widget.
pub struct App {
    pub api: Api,
    pub ui: Ui,
    /// Calls the loader's listeners: `emit(type, detail)`.
    emit: Function,
    /// `data-locale` of the embedding tag.
    locale_attr: Option<String>,
    pub locale: Cell<Locale>,
    phase: Cell<Phase>,
    /// Bumped whenever the visitor changes; see the module docs.
    pub gen: Cell<u32>,
    open: Cell<bool>,
    unread: Cell<u32>,
    last_agent_seq: Cell<u64>,
    agent_seen_seq: Cell<u64>,
    seen_sent: Cell<u64>,
    typing_sent_at: Cell<f64>,
    typing_on: Cell<bool>,
    agent_typing_gen: Cell<u32>,
    /// Long-poll revision of typing and receipt state.
    pub rev: Cell<u64>,
    /// The last conversation `state` the server reported (status and queue place).
    pub state: Slot<String>,
    /// The revision of the tenant's public channel shown (0: what the config said); the
    /// tenant's, so it outlives a change of visitor.
    pub public: Cell<u64>,
    /// The rating picked in the rating form (0: none yet).
    rating: Cell<u32>,
    /// Bumped per keystroke and send: only the newest pause shows suggestions.
    suggest_gen: Cell<u32>,
    /// The id of the article open in the panel.
    article: Slot<Option<String>>,
    config: Slot<Option<Config>>,
    pub token: Slot<Option<String>>,
    /// `setUser({id, name, email, hash})` as given.
    user: Slot<Option<JsValue>>,
    /// Merged `setAttributes` calls.
    attributes: Slot<Object>,
    /// Pre-chat form answers.
    prechat: Slot<Option<(String, String)>>,
    /// The conversation of the visitor's newest stored message.
    conversation: Slot<Option<String>>,
    /// Where replies are mailed, once the visitor left their email: `<conversation id>
    /// <address>`, kept like the token.
    emailed: Slot<Option<String>>,
    pub timeline: Slot<Timeline<HtmlElement>>,
    /// The visitor's newest stored message and its status line.
    last_own: Slot<Option<(u64, HtmlElement)>>,
    /// The open realtime socket, closed by `reset()` and identity changes.
    pub socket: Slot<Option<web_sys::WebSocket>>,
    /// Aborts the long-poll in flight.
    pub abort: Slot<Option<web_sys::AbortController>>,
    /// Reconnect pacing of the realtime loop.
    pub backoff: Cell<Backoff>,
    /// Whether the realtime loop long-polls instead of using a WebSocket.
    pub polling: Cell<bool>,
    /// Whether the current socket opened.
    pub opened: Cell<bool>,
}

/// A message on its way: the row that shows it meanwhile, and what to send.
struct Outgoing {
    gen: u32,
    body: String,
    file: Option<web_sys::File>,
    pending: HtmlElement,
    status: web_sys::Element,
}

fn storage() -> Option<Storage> {
    // Throws in sandboxed frames and with storage disabled: the token then lives in memory.
    api::window().local_storage().ok().flatten()
}

fn navigator_language() -> Option<String> {
    api::window().navigator().language()
}

impl App {
    pub fn new(ui: Ui, api: Api, emit: Function, locale_attr: Option<String>) -> &'static App {
        let locale = Locale::pick(
            locale_attr.as_deref(),
            None,
            navigator_language().as_deref(),
        );
        // The widget lives as long as the page: one leaked allocation spares every closure
        // and callback a reference count.
        let app: &'static App = alloc::boxed::Box::leak(alloc::boxed::Box::new(App {
            api,
            ui,
            emit,
            locale_attr,
            locale: Cell::new(locale),
            phase: Cell::new(Phase::Idle),
            gen: Cell::new(0),
            open: Cell::new(false),
            unread: Cell::new(0),
            last_agent_seq: Cell::new(0),
            agent_seen_seq: Cell::new(0),
            seen_sent: Cell::new(0),
            typing_sent_at: Cell::new(0.0),
            typing_on: Cell::new(false),
            agent_typing_gen: Cell::new(0),
            rev: Cell::new(0),
            state: Slot::new(String::new()),
            public: Cell::new(0),
            rating: Cell::new(0),
            suggest_gen: Cell::new(0),
            article: Slot::new(None),
            config: Slot::new(None),
            token: Slot::new(None),
            user: Slot::new(None),
            attributes: Slot::new(Object::new()),
            prechat: Slot::new(None),
            conversation: Slot::new(None),
            emailed: Slot::new(None),
            timeline: Slot::new(Timeline::default()),
            last_own: Slot::new(None),
            socket: Slot::new(None),
            abort: Slot::new(None),
            backoff: Cell::new(Backoff::default()),
            polling: Cell::new(false),
            opened: Cell::new(false),
        }));
        app.load_stored();
        app
    }

    /// `edgedesk:<tenant>` holds the token, `edgedesk:<tenant>:email` where replies are
    /// mailed.
    fn storage_key(&self, email: bool) -> String {
        let mut k = String::from("edgedesk:");
        k.push_str(&self.api.tenant);
        if email {
            k.push_str(":email");
        }
        k
    }

    /// Only anonymous visitors' tokens (and where their replies are mailed) are kept across
    /// page loads: a signed-in user proves who they are with the site's hash on every load, so
    /// a later visitor on the same browser cannot resume their conversation without it.
    fn stored(&self, email: bool) -> Option<String> {
        storage()?
            .get_item(&self.storage_key(email))
            .ok()
            .flatten()
            .filter(|t| !t.is_empty())
    }

    /// Takes up the anonymous visitor kept in this browser, if any.
    fn load_stored(&self) {
        self.token.replace(self.stored(false));
        self.emailed.replace(self.stored(true));
    }

    fn store(&self, email: bool, value: Option<&str>) {
        if let Some(s) = storage() {
            let _ = match value {
                Some(t) => s.set_item(&self.storage_key(email), t),
                None => s.remove_item(&self.storage_key(email)),
            };
        }
    }

    pub fn emit(&self, kind: &str, detail: &JsValue) {
        let _ = self
            .emit
            .call2(&JsValue::NULL, &JsValue::from_str(kind), detail);
    }

    pub fn gen(&self) -> u32 {
        self.gen.get()
    }

    pub fn text(&self) -> &'static Text {
        self.locale.get().text()
    }

    /// First steps after the loader handed over: labels, config, and a returning visitor's
    /// session. The launcher works from here on; the config only refines it.
    pub fn start(&'static self) {
        let _ = self.ui.label(self.locale.get(), "");
        let _ = self.ui.unread(self.text(), 0);
        self.request("GET", "config", None, false, Box::new(App::config_loaded));
        if self.token.borrow().is_some() {
            self.connect();
        }
    }

    fn config_loaded(&'static self, answer: Result<JsValue, ApiError>) {
        let Ok(v) = answer else {
            self.ui.show_alert(Some(self.text()[W::Unavailable]));
            return;
        };
        let cfg = Config(v);
        let locale = Locale::pick(
            self.locale_attr.as_deref(),
            cfg.locale().as_deref(),
            navigator_language().as_deref(),
        );
        self.locale.set(locale);
        let _ = self.ui.label(locale, &cfg.tenant_name());
        if let Some(c) = cfg.color() {
            let _ = self.ui.root().style().set_property("--c", &c);
        }
        let types = cfg.types();
        // No types allowed: no attach button.
        ui::hide(self.ui.attach(), types.length() == 0);
        let accept: String = types.join(",").into();
        let _ = self.ui.file().set_attribute("accept", &accept);
        let _ = if cfg.require_email() {
            self.ui.pre_email().set_attribute("required", "")
        } else {
            self.ui.pre_email().remove_attribute("required")
        };
        self.config.replace(Some(cfg));
        let _ = self.ui.unread(locale.text(), self.unread.get());
        self.layout();
        self.show_presence();
    }

    /// The header's presence line, the away message while nobody is online, and the offer to
    /// leave an email, as the config says.
    fn show_presence(&self) {
        let Some(cfg) = self.config.borrow().clone() else {
            return;
        };
        let locale = self.locale.get();
        self.ui.presence(locale.text(), cfg.online());
        let mut line = String::new();
        if !cfg.online() {
            line = cfg.away_message().unwrap_or_default();
            if let Some(m) = cfg.expected_reply_minutes() {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&locale.reply_time(m.min(u64::from(u32::MAX)) as u32));
            }
        }
        self.ui.away().set_text_content(Some(&line));
        ui::hide(self.ui.away(), line.is_empty());
        self.offer_email();
    }

    /// What the widget shows from the tenant changed: someone came online or went away, the
    /// team started or stopped answering by email, or the settings changed (then the config
    /// is read again: its URL names the version, so no cached copy answers).
    fn public_changed(&'static self, v: &JsValue) {
        self.public.set(wire::uint(v, "rev").unwrap_or(0));
        let Some(cfg) = self.config.borrow().clone() else {
            return;
        };
        let settings = wire::uint(v, "settings").unwrap_or(0);
        if settings > cfg.version() {
            let mut path = String::from("config?v=");
            path.push_str(&api::num(settings));
            // A failed read keeps what shows: the next change tries again.
            let then = |app: &'static App, answer: Result<JsValue, ApiError>| {
                if answer.is_ok() {
                    app.config_loaded(answer);
                }
            };
            return self.request("GET", &path, None, false, Box::new(then));
        }
        for name in ["online", "offline_email"] {
            let _ = js_sys::Reflect::set(&cfg.0, &name.into(), &wire::field(v, name));
        }
        self.show_presence();
    }

    /// Shows the pre-chat form, the composer, or neither, as the state requires; whether the
    /// form shows.
    fn layout(&self) -> bool {
        let prechat = self.config.borrow().as_ref().is_some_and(Config::prechat);
        let known = self.token.borrow().is_some()
            || self.user.borrow().is_some()
            || self.prechat.borrow().is_some();
        let refused = self.phase.get() == Phase::Refused;
        let needs_form = prechat && !known;
        let form = !refused && needs_form;
        ui::hide(self.ui.prechat(), !form);
        ui::hide(self.ui.composer(), refused || needs_form);
        form
    }

    // ---- JS API -------------------------------------------------------------------------

    pub fn open(&'static self) {
        if self.open.replace(true) {
            return;
        }
        self.unread.set(0);
        ui::hide(self.ui.panel(), false);
        let _ = self.ui.launcher().set_attribute("aria-expanded", "true");
        ui::set_class(self.ui.root(), "w o");
        let _ = self.ui.unread(self.text(), 0);
        let form = self.layout();
        self.ui.scroll_to_end();
        let _ = if form {
            self.ui.pre_name().focus()
        } else {
            self.ui.input().focus()
        };
        self.mark_seen();
        self.emit("open", &JsValue::NULL);
    }

    pub fn close(&'static self) {
        if !self.open.replace(false) {
            return;
        }
        ui::hide(self.ui.panel(), true);
        let _ = self.ui.launcher().set_attribute("aria-expanded", "false");
        ui::set_class(self.ui.root(), "w");
        let _ = self.ui.launcher().focus();
        self.emit("close", &JsValue::NULL);
    }

    pub fn toggle(&'static self) {
        if self.open.get() {
            self.close();
        } else {
            self.open();
        }
    }

    /// `setUser({id, name, email, hash})`: switches to that verified user (or back to an
    /// anonymous visitor with `null`).
    pub fn set_user(&'static self, user: JsValue) {
        let user = Some(user).filter(|u| wire::string(u, "id").is_some());
        let key = |u: &Option<JsValue>| {
            u.as_ref()
                .map(|u| (wire::string(u, "id"), wire::string(u, "hash")))
        };
        if key(&self.user.borrow()) == key(&user) && self.phase.get() != Phase::Failed {
            return;
        }
        self.forget(false);
        let anonymous = user.is_none();
        self.user.replace(user);
        if anonymous {
            self.load_stored();
        }
        self.layout();
        if !anonymous || self.token.borrow().is_some() {
            self.connect();
        }
    }

    /// `setAttributes({...})`: merged and sent with the session.
    pub fn set_attributes(&'static self, attrs: JsValue) {
        if !attrs.is_object() {
            return;
        }
        Object::assign(&self.attributes.borrow(), attrs.unchecked_ref());
        if self.phase.get() == Phase::Ready {
            // The session call is how attributes reach the server; the token stays the same.
            self.session_call(Box::new(|_, _| {}));
        }
    }

    /// `reset()`: forgets the visitor entirely (e.g. on the site's logout).
    pub fn reset(&'static self) {
        self.forget(true);
        self.user.replace(None);
        self.attributes.replace(Object::new());
        self.layout();
    }

    /// Drops the current visitor's state and view; with `drop_stored`, also the kept token.
    fn forget(&self, drop_stored: bool) {
        self.gen.set(self.gen.get().wrapping_add(1));
        self.phase.set(Phase::Idle);
        self.token.replace(None);
        self.prechat.replace(None);
        self.conversation.replace(None);
        self.emailed.replace(None);
        self.timeline.borrow_mut().clear();
        self.last_own.replace(None);
        for c in [
            &self.last_agent_seq,
            &self.agent_seen_seq,
            &self.seen_sent,
            &self.rev,
        ] {
            c.set(0);
        }
        self.unread.set(0);
        self.typing_on.set(false);
        if drop_stored {
            self.store(false, None);
            self.store(true, None);
        }
        realtime::stop(self);
        self.ui.list().set_text_content(None);
        self.state.replace(String::new());
        for e in [
            self.ui.typing(),
            self.ui.queue(),
            self.ui.rating(),
            self.ui.email(),
            self.ui.email_error(),
        ] {
            ui::hide(e, true);
        }
        self.ui.email_input().set_value("");
        self.show_suggestions(&js_sys::Array::new());
        self.close_article();
        self.ui.show_alert(None);
        let _ = self.ui.unread(self.text(), 0);
    }

    // ---- session ------------------------------------------------------------------------

    /// Starts the visitor's session, history and realtime, unless already under way.
    pub fn connect(&'static self) {
        if matches!(
            self.phase.get(),
            Phase::Starting | Phase::Ready | Phase::Refused
        ) {
            return;
        }
        self.phase.set(Phase::Starting);
        let gen = self.gen();
        self.session_call(Box::new(move |app, result| {
            if app.gen() != gen {
                return;
            }
            match result {
                Ok(()) => {
                    app.ui.show_alert(None);
                    app.load_history(gen);
                }
                Err(e) if e.is_identity_refusal() => app.refuse(),
                Err(_) => {
                    app.phase.set(Phase::Failed);
                    app.ui.show_alert(Some(app.text()[W::Unavailable]));
                }
            }
        }));
    }

    /// `POST session` with what the widget knows; stores the token it gets, then `then`.
    fn session_call(&'static self, then: Box<dyn FnOnce(&'static App, Result<(), ApiError>)>) {
        let body = {
            let prechat = self.prechat.borrow();
            let (name, email) = match &*prechat {
                Some((n, e)) => (Some(n.as_str()), Some(e.as_str())),
                None => (None, None),
            };
            wire::object(&[
                ("token", wire::opt_str(self.token.borrow().as_deref())),
                (
                    "user",
                    self.user.borrow().clone().unwrap_or(JsValue::UNDEFINED),
                ),
                ("name", wire::opt_str(name.filter(|n| !n.is_empty()))),
                ("email", wire::opt_str(email.filter(|e| !e.is_empty()))),
                ("attributes", self.attributes.borrow().clone().into()),
            ])
        };
        let gen = self.gen();
        self.request(
            "POST",
            "session",
            Some(body),
            false,
            Box::new(move |app, answer| {
                let token = answer.and_then(|v| {
                    wire::string(&v, "token")
                        .filter(|t| !t.is_empty())
                        .ok_or(ApiError::Status {
                            status: 200,
                            code: String::new(),
                            message: String::new(),
                        })
                });
                then(
                    app,
                    token.map(|token| {
                        if app.gen() == gen {
                            if app.user.borrow().is_none() {
                                app.store(false, Some(&token));
                            }
                            app.token.replace(Some(token));
                        }
                    }),
                );
            }),
        );
    }

    /// The site's identity hash was refused: show why, and nothing of any conversation.
    fn refuse(&'static self) {
        self.forget(false);
        self.phase.set(Phase::Refused);
        self.ui.show_alert(Some(self.text()[W::IdentityRefused]));
        self.layout();
        self.emit("error", &JsValue::from_str("identity_mismatch"));
    }

    /// The server no longer accepts the token: start over with a new session.
    pub fn token_rejected(&'static self) {
        let identified = self.user.borrow().is_some();
        self.forget(!identified);
        if identified {
            self.connect();
        }
        self.layout();
    }

    /// Loads every message after the cursor, page by page, then starts the realtime stream.
    /// A failed page is not fatal: the stream replays everything after the cursor anyway.
    fn load_history(&'static self, gen: u32) {
        let after = self.timeline.borrow().cursor();
        let mut path = String::from("messages?limit=100&after=");
        path.push_str(&api::num(after));
        self.request(
            "GET",
            &path,
            None,
            true,
            Box::new(move |app, answer| {
                if app.gen() != gen {
                    return;
                }
                if let Ok(v) = answer {
                    for m in wire::list(&v, "data").iter() {
                        if let Some(m) = Message::read(&m) {
                            app.event(Event::Message(m), false);
                        }
                    }
                    if let Some(seen) = wire::uint(&v, "agent_seen_seq") {
                        app.event(
                            Event::Seen {
                                by: Party::Agent,
                                seq: seen,
                            },
                            false,
                        );
                    }
                    let last = wire::uint(&v, "last_seq");
                    app.finish_batch(last, None);
                    if wire::boolean(&v, "has_more") && last.is_some_and(|l| l > after) {
                        app.load_history(gen);
                        return;
                    }
                }
                app.phase.set(Phase::Ready);
                app.layout();
                realtime::start(app, gen);
            }),
        );
    }

    // ---- events -------------------------------------------------------------------------

    /// Applies one event from history, the stream or a long-poll.
    pub fn event(&'static self, event: Event, live: bool) {
        match event {
            Event::Message(m) => {
                let seq = m.seq;
                if live && m.from_visitor && !self.timeline.borrow().contains(seq) {
                    self.drop_pending();
                }
                self.show(m, live);
                self.timeline.borrow_mut().advance(seq);
            }
            Event::Typing {
                from: Party::Agent,
                typing,
            } => self.agent_typing(typing),
            Event::Seen {
                by: Party::Agent,
                seq,
            } => {
                if seq > self.agent_seen_seq.get() {
                    self.agent_seen_seq.set(seq);
                    self.update_receipt();
                }
            }
            Event::State(v) => self.state_changed(&v),
            Event::Public(v) => self.public_changed(&v),
            // The visitor's own typing and reads (e.g. from another tab) change nothing here.
            Event::Typing { .. } | Event::Seen { .. } => {}
        }
    }

    /// After a batch: how far the ordered stream got, the poll revision, and receipts.
    pub fn finish_batch(&'static self, last_seq: Option<u64>, rev: Option<u64>) {
        if let Some(l) = last_seq {
            self.timeline.borrow_mut().advance(l);
        }
        if let Some(r) = rev {
            self.rev.set(self.rev.get().max(r));
        }
        self.mark_seen();
    }

    /// Puts a stored message in the list, once, in `seq` order.
    fn show(&'static self, m: Message, live: bool) {
        if self.timeline.borrow().contains(m.seq) {
            return;
        }
        let api = &self.api;
        let Ok((li, status)) = self.ui.message(self.locale.get(), &m, &|p| api.absolute(p)) else {
            return;
        };
        let before = match self.timeline.borrow_mut().insert(m.seq, li.clone()) {
            Insert::Duplicate => return,
            Insert::Before(next) => Some(next.clone()),
            Insert::End => None,
        };
        // Messages still being sent stay below every stored message.
        let anchor: Option<web_sys::Node> = match before {
            Some(next) => Some(next.into()),
            None => self
                .ui
                .list()
                .query_selector(".pe")
                .ok()
                .flatten()
                .map(Into::into),
        };
        let _ = self.ui.list().insert_before(&li, anchor.as_ref());
        if m.from_visitor {
            let newer = self
                .last_own
                .borrow()
                .as_ref()
                .is_none_or(|(s, _)| m.seq > *s);
            if newer {
                if let Some((_, old)) = self.last_own.replace(Some((m.seq, status))) {
                    old.set_text_content(None);
                }
                self.update_receipt();
                self.conversation
                    .replace(wire::string(&m.raw, "conversation_id"));
                self.offer_email();
            }
        } else {
            self.last_agent_seq
                .set(self.last_agent_seq.get().max(m.seq));
            if live {
                self.agent_typing(false);
                if !self.open.get() {
                    self.unread.set(self.unread.get() + 1);
                    let _ = self.ui.unread(self.text(), self.unread.get());
                }
            }
        }
        self.ui.scroll_to_end();
        if live {
            self.emit("message", &m.raw);
        }
    }

    /// Removes the oldest "Sending…" row when the stream delivers one of the visitor's own
    /// messages before its POST answered (over a WebSocket that is the usual order), so it
    /// never shows twice. Sends go out in order, so the oldest row is that message's; its POST
    /// answer then finds the message shown already.
    fn drop_pending(&self) {
        if let Ok(Some(row)) = self.ui.list().query_selector(".pe") {
            row.remove();
        }
    }

    fn update_receipt(&self) {
        if let Some((seq, status)) = &*self.last_own.borrow() {
            let r = receipt(*seq, self.agent_seen_seq.get());
            status.set_text_content(Some(ui::receipt_text(self.text(), r)));
        }
    }

    /// Tells the server the visitor has read the agents' messages, when the panel is open
    /// and the page visible.
    pub fn mark_seen(&'static self) {
        // Read as a plain property: the typed getter brings an enum table into the glue.
        let visible = wire::string(&self.ui.doc, "visibilityState").as_deref() == Some("visible");
        let seq = self.last_agent_seq.get();
        if !self.open.get()
            || !visible
            || self.phase.get() != Phase::Ready
            || seq <= self.seen_sent.get()
        {
            return;
        }
        self.seen_sent.set(seq);
        self.post(
            "seen",
            wire::object(&[("seq", JsValue::from_f64(seq as f64))]),
        );
    }

    /// A fire-and-forget signal (typing, read receipt, article vote): losing one is
    /// harmless, the next one or the server's timeout corrects the picture.
    fn post(&'static self, path: &str, body: JsValue) {
        self.request("POST", path, Some(body), true, Box::new(|_, _| {}));
    }

    /// Sends a request, with the visitor's token (if any) when `auth`, and hands the answer
    /// to `then`. Answers about one visitor must check the generation.
    fn request(
        &'static self,
        method: &'static str,
        path: &str,
        body: Option<JsValue>,
        auth: bool,
        then: Box<dyn FnOnce(&'static App, Result<JsValue, ApiError>)>,
    ) {
        let token = self.token.borrow().clone().filter(|_| auth);
        self.api.call(
            method,
            path,
            body.as_ref().map(Body::Json),
            token.as_deref(),
            None,
            Box::new(move |answer| then(self, answer)),
        );
    }

    fn agent_typing(&'static self, typing: bool) {
        let gen = self.agent_typing_gen.get().wrapping_add(1);
        self.agent_typing_gen.set(gen);
        ui::hide(self.ui.typing(), !typing);
        if typing {
            let app = self;
            api::after(
                AGENT_TYPING_MS,
                Box::new(move || {
                    if app.agent_typing_gen.get() == gen {
                        ui::hide(app.ui.typing(), true);
                    }
                }),
            );
        }
    }

    /// The visitor typed (or cleared the box): keep the agents' indicator in step.
    pub fn visitor_typing(&'static self) {
        if self.phase.get() != Phase::Ready {
            return;
        }
        let has_text = !api::trim(&self.ui.input().value()).is_empty();
        let now = js_sys::Date::now();
        let on = self.typing_on.get();
        let send = if has_text {
            !on || now - self.typing_sent_at.get() > TYPING_REFRESH_MS
        } else {
            on
        };
        if send {
            self.typing_on.set(has_text);
            self.typing_sent_at.set(now);
            self.post(
                "typing",
                wire::object(&[("typing", JsValue::from_bool(has_text))]),
            );
        }
    }

    // ---- sending ------------------------------------------------------------------------

    /// Sends what is in the composer.
    pub fn submit(&'static self) {
        let text = self.ui.input().value();
        let body = api::trim(&text);
        if body.is_empty() || self.phase.get() == Phase::Refused {
            return;
        }
        let body = body.to_owned();
        self.ui.input().set_value("");
        self.typing_on.set(false);
        self.show_suggestions(&js_sys::Array::new());
        self.send(body, None);
    }

    /// A file picked in the composer: checked here first (type and size), then uploaded
    /// and sent as a message of its own.
    pub fn attach(&'static self, file: web_sys::File) {
        let t = self.text();
        let (allowed, max) = match &*self.config.borrow() {
            Some(c) => (
                c.types().includes(&JsValue::from_str(&file.type_()), 0),
                c.max_bytes(),
            ),
            None => (false, 0),
        };
        let problem = if !allowed {
            Some(t[W::BadType])
        } else if file.size() > max as f64 || file.size() == 0.0 {
            Some(t[W::TooLarge])
        } else {
            None
        };
        self.ui.show_alert(problem);
        if problem.is_none() {
            self.send(String::new(), Some(file));
        }
    }

    fn send(&'static self, body: String, file: Option<web_sys::File>) {
        let t = self.text();
        let mut label = String::new();
        if let Some(f) = &file {
            label.push_str("📎 ");
            label.push_str(&f.name());
        }
        label.push_str(&body);
        let Ok(pending) = self.ui.item("me pe", t[W::You], &label) else {
            return;
        };
        let Ok(status) = self.ui.doc.create_element("div") else {
            return;
        };
        ui::set_class(&status, "mt");
        status.set_text_content(Some(t[W::Sending]));
        let _ = pending.append_child(&status);
        let _ = self.ui.list().append_child(&pending);
        self.ui.scroll_to_end();
        self.deliver(
            Outgoing {
                gen: self.gen(),
                body,
                file,
                pending,
                status,
            },
            0,
        );
    }

    /// Waits up to [`SESSION_WAIT_MS`] for the visitor's session (starting it if needed),
    /// then uploads the file (if any) and posts the message.
    fn deliver(&'static self, mut out: Outgoing, waited: u32) {
        let ready = match self.phase.get() {
            _ if self.gen() != out.gen => return self.sent(out, Err(None)),
            Phase::Ready => true,
            Phase::Refused => false,
            Phase::Failed if waited > 0 => false,
            Phase::Idle | Phase::Failed => {
                self.connect();
                waited < SESSION_WAIT_MS
            }
            Phase::Starting => waited < SESSION_WAIT_MS,
        };
        if self.phase.get() != Phase::Ready {
            if ready {
                api::after(50, Box::new(move || self.deliver(out, waited + 50)));
            } else {
                self.sent(out, Err(None));
            }
            return;
        }
        let Some(f) = out.file.take() else {
            return self.post_message(out, JsValue::UNDEFINED);
        };
        let mut path = String::from("attachments?name=");
        path.push_str(&String::from(js_sys::encode_uri_component(&f.name())));
        let kind = f.type_();
        let token = self.token.borrow().clone();
        self.api.call(
            "POST",
            &path,
            Some(Body::Blob(&f, &kind)),
            token.as_deref(),
            None,
            Box::new(move |answer| match answer {
                Ok(a) => {
                    // The upload answers with a link relative to the API, but a message's
                    // attachment must carry an absolute http(s) URL (agents open it from
                    // elsewhere).
                    if let Some(url) = wire::string(&a, "url") {
                        let _ = js_sys::Reflect::set(
                            &a,
                            &JsValue::from_str("url"),
                            &JsValue::from_str(&self.api.absolute(&url)),
                        );
                    }
                    self.post_message(out, a);
                }
                Err(e) => self.sent(out, Err(Some(e))),
            }),
        );
    }

    /// Posts the message, with the uploaded attachment if there is one.
    fn post_message(&'static self, out: Outgoing, attachment: JsValue) {
        let attachments = js_sys::Array::new();
        if !attachment.is_undefined() {
            attachments.push(&attachment);
        }
        let msg = wire::object(&[
            ("body", JsValue::from_str(&out.body)),
            ("attachments", attachments.into()),
        ]);
        self.request(
            "POST",
            "messages",
            Some(msg),
            true,
            Box::new(move |app, answer| app.sent(out, answer.map_err(Some))),
        );
    }

    /// How a send ended (`Err(None)`: no session to send it with).
    fn sent(&'static self, out: Outgoing, result: Result<JsValue, Option<ApiError>>) {
        let Outgoing {
            gen,
            pending,
            status,
            ..
        } = out;
        if self.gen() != gen {
            pending.remove();
            return;
        }
        match result {
            Ok(v) => {
                pending.remove();
                if let Some(m) = Message::read(&v) {
                    // Not `advance`: see the timeline module on why a POST answer must not
                    // move the cursor.
                    self.show(m, true);
                }
            }
            Err(e) => {
                ui::set_class(&pending, "me fa");
                status.set_text_content(Some(self.text()[W::NotSent]));
                if matches!(
                    e,
                    Some(ApiError::Status {
                        status: 413 | 415,
                        ..
                    })
                ) {
                    self.ui.show_alert(Some(self.text()[W::UploadFailed]));
                }
                if e.as_ref().is_some_and(ApiError::is_bad_token) {
                    self.token_rejected();
                }
            }
        }
    }

    /// The pre-chat form was submitted (the browser already checked required fields).
    pub fn prechat_submitted(&'static self) {
        let name = api::trim(&self.ui.pre_name().value()).to_owned();
        let email = api::trim(&self.ui.pre_email().value()).to_owned();
        self.prechat.replace(Some((name, email)));
        self.layout();
        let _ = self.ui.input().focus();
        self.connect();
    }

    // ---- queue and conversation state ---------------------------------------------------

    /// The conversation's status or place in the queue changed.
    fn state_changed(&'static self, v: &JsValue) {
        if let Some(s) = wire::string(v, "state") {
            self.state.replace(s);
        }
        let q = wire::field(v, "queue");
        let line = wire::uint(&q, "position").map(|p| {
            let wait = wire::uint(&q, "estimated_wait_seconds").map(|s| s.div_ceil(60));
            self.locale.get().queue(p, wait)
        });
        self.ui.queue().set_text_content(line.as_deref());
        ui::hide(self.ui.queue(), line.is_none());
        if wire::string(v, "status").as_deref() == Some("resolved") {
            let gen = self.gen();
            self.request(
                "GET",
                "csat",
                None,
                true,
                Box::new(move |app, answer| {
                    if app.gen() == gen {
                        app.offer_rating(&answer.unwrap_or(JsValue::NULL));
                    }
                }),
            );
        } else {
            ui::hide(self.ui.rating(), true);
        }
    }

    // ---- rating -------------------------------------------------------------------------

    /// Shows the rating form if the tenant asks for ratings and this conversation has none
    /// (`GET csat` answered `v`).
    fn offer_rating(&self, v: &JsValue) {
        let ui = &self.ui;
        if !wire::boolean(v, "can_rate") {
            return;
        }
        self.pick_rating(0);
        ui.rate_intro().set_text_content(Some(self.text()[W::Rate]));
        ui.rate_comment().set_value("");
        ui::hide(ui.rate_comment(), !wire::boolean(v, "allow_comment"));
        for e in [ui.stars(), ui.rate_submit(), ui.rating()] {
            ui::hide(e, false);
        }
        ui.scroll_to_end();
    }

    /// Marks the first `n` stars as chosen.
    fn pick_rating(&self, n: u32) {
        self.rating.set(n);
        for (i, b) in (1..).zip(&self.ui.star_buttons) {
            let _ = b.set_attribute("aria-pressed", if i <= n { "true" } else { "false" });
        }
    }

    /// A click in the stars: the rating is the clicked star's position.
    pub fn star_clicked(&self, target: Option<web_sys::EventTarget>) {
        let target: Option<JsValue> = target.map(Into::into);
        if let Some(i) = self
            .ui
            .star_buttons
            .iter()
            .position(|b| Some(AsRef::<JsValue>::as_ref(b)) == target.as_ref())
        {
            self.pick_rating(i as u32 + 1);
        }
    }

    /// Sends the rating form.
    pub fn rate(&'static self) {
        let ui = &self.ui;
        let rating = self.rating.get();
        if rating == 0 {
            if let Some(b) = ui.star_buttons.first() {
                let _ = b.focus();
            }
            return;
        }
        let comment = api::trim(&ui.rate_comment().value()).to_owned();
        let body = wire::object(&[
            ("rating", JsValue::from_f64(f64::from(rating))),
            (
                "comment",
                wire::opt_str(Some(comment.as_str()).filter(|c| !c.is_empty())),
            ),
        ]);
        let gen = self.gen();
        self.request(
            "POST",
            "csat",
            Some(body),
            true,
            Box::new(move |app, sent| {
                if app.gen() != gen {
                    return;
                }
                let (ui, t) = (&app.ui, app.text());
                if sent.is_ok() {
                    ui.rate_intro().set_text_content(Some(t[W::Rated]));
                    for e in [
                        ui.stars(),
                        ui.rate_submit(),
                        ui.rate_comment().unchecked_ref(),
                    ] {
                        ui::hide(e, true);
                    }
                }
                ui.show_alert(sent.is_err().then_some(t[W::NotSent]));
            }),
        );
    }

    // ---- leaving an email while nobody is online -----------------------------------------

    /// Once the visitor has written (the server wants a conversation to attach the address
    /// to), offers to leave their email when nobody is online and the team answers by email;
    /// once they have, says where replies go, for as long as this conversation lasts.
    fn offer_email(&self) {
        let ui = &self.ui;
        let offer = self
            .config
            .borrow()
            .as_ref()
            .is_some_and(|c| !c.online() && c.offline_email());
        // The record is `<conversation id> <address>`: an address left in this conversation.
        let done = match (&*self.conversation.borrow(), &*self.emailed.borrow()) {
            (Some(c), Some(e))
                if e.as_bytes().get(c.len()) == Some(&b' ') && e.starts_with(c.as_str()) =>
            {
                e.get(c.len() + 1..).map(|a| self.locale.get().emailed(a))
            }
            (Some(_), _) if offer => None,
            _ => return ui::hide(ui.email(), true),
        };
        ui.email_line()
            .set_text_content(Some(done.as_deref().unwrap_or(self.text()[W::EmailOffer])));
        for e in [ui.email_label(), ui.email_submit()] {
            ui::hide(e, done.is_some());
        }
        if done.is_some() {
            ui::hide(ui.email_error(), true);
        } else if ui.email_input().value().is_empty() {
            // What the visitor told already: the pre-chat form, or the site's signed-in user.
            let known = match &*self.prechat.borrow() {
                Some((_, e)) if !e.is_empty() => Some(e.clone()),
                _ => self
                    .user
                    .borrow()
                    .as_ref()
                    .and_then(|u| wire::string(u, "email")),
            };
            if let Some(e) = known {
                ui.email_input().set_value(&e);
            }
        }
        ui::hide(ui.email(), false);
    }

    /// The email form was submitted (the browser already checked the address's form).
    pub fn leave_email(&'static self) {
        let ui = &self.ui;
        let address = ui.email_input().value();
        let address = api::trim(&address);
        if address.is_empty() {
            return;
        }
        // No second request while one is under way (a disabled submit button also stops
        // Enter in the field).
        let _ = ui.email_submit().set_attribute("disabled", "");
        let gen = self.gen();
        self.request(
            "POST",
            "email",
            Some(wire::object(&[("email", JsValue::from_str(address))])),
            true,
            Box::new(move |app, answer| {
                let ui = &app.ui;
                let _ = ui.email_submit().remove_attribute("disabled");
                if app.gen() != gen {
                    return;
                }
                let problem = match answer {
                    Ok(v) => {
                        // Kept with the conversation it was left in, in the server's form
                        // (lowercased).
                        let mut record = app.conversation.borrow().clone().unwrap_or_default();
                        record.push(' ');
                        record.push_str(&wire::string(&v, "email").unwrap_or_default());
                        if app.user.borrow().is_none() {
                            app.store(true, Some(&record));
                        }
                        app.emailed.replace(Some(record));
                        app.offer_email();
                        // The field and its button are gone: back to the conversation.
                        let _ = ui.input().focus();
                        return;
                    }
                    Err(e) if e.is_bad_token() => return app.token_rejected(),
                    // Refused (no conversation, no email channel, not an address): the
                    // server says why.
                    Err(ApiError::Status {
                        status: 409 | 422,
                        message,
                        ..
                    }) if !message.is_empty() => message,
                    Err(_) => String::from(app.text()[W::NotSent]),
                };
                ui.email_error().set_text_content(Some(&problem));
                ui::hide(ui.email_error(), false);
                let _ = ui.email_input().focus();
            }),
        );
    }

    // ---- help-centre articles -----------------------------------------------------------

    /// The visitor typed: once they pause, suggest help-centre articles on what they wrote.
    pub fn suggest(&'static self) {
        let gen = self.suggest_gen.get().wrapping_add(1);
        self.suggest_gen.set(gen);
        api::after(
            SUGGEST_PAUSE_MS,
            Box::new(move || {
                if self.suggest_gen.get() != gen {
                    return;
                }
                let text = self.ui.input().value();
                let q = api::trim(&text);
                // Characters, not bytes: three Chinese characters already say something.
                if q.chars().count() < 3 {
                    self.show_suggestions(&js_sys::Array::new());
                    return;
                }
                let mut path = String::from("kb/suggest?limit=3&locale=");
                path.push_str(self.locale.get().tag());
                path.push_str("&q=");
                path.push_str(&String::from(js_sys::encode_uri_component(q)));
                self.request(
                    "GET",
                    &path,
                    None,
                    false,
                    Box::new(move |app, answer| {
                        // A newer keystroke or a send since: this answer is stale.
                        if app.suggest_gen.get() == gen {
                            app.show_suggestions(&wire::list(
                                &answer.unwrap_or(JsValue::NULL),
                                "hits",
                            ));
                        }
                    }),
                );
            }),
        );
    }

    /// Lists suggested articles as buttons (title as text, id as value); none hides the box.
    fn show_suggestions(&self, hits: &js_sys::Array) {
        let ui = &self.ui;
        self.suggest_gen.set(self.suggest_gen.get().wrapping_add(1));
        ui.suggestion_links().set_text_content(None);
        for h in hits.iter() {
            if let (Some(id), Some(title)) = (wire::string(&h, "id"), wire::string(&h, "title")) {
                if let Ok(b) = ui::el(&ui.doc, ui.suggestion_links(), "button", "") {
                    b.set_text_content(Some(&title));
                    let _ = ui::attrs(&b, &[("type", "button"), ("value", &id)]);
                }
            }
        }
        ui::hide(ui.suggestions(), hits.length() == 0);
    }

    /// A click among the suggestions: opens the article whose button it was.
    pub fn suggestion_clicked(&'static self, target: Option<web_sys::EventTarget>) {
        let Some(id) = target.and_then(|t| wire::string(&t, "value")) else {
            return;
        };
        self.open_article(id);
    }

    /// `GET kb/articles/{id}` with the visitor's token (if any), so the answer carries the
    /// vote they gave this article before, then shows it.
    fn open_article(&'static self, id: String) {
        let mut path = String::from("kb/articles/");
        path.push_str(&String::from(js_sys::encode_uri_component(&id)));
        let gen = self.gen();
        self.request(
            "GET",
            &path,
            None,
            true,
            Box::new(move |app, answer| {
                if app.gen() != gen {
                    return;
                }
                match answer {
                    Ok(v) => app.show_article(id, &v),
                    // The token is no longer accepted: start over (which drops it), then the
                    // article still opens, without a vote on record.
                    Err(e) if e.is_bad_token() => {
                        app.token_rejected();
                        app.open_article(id);
                    }
                    Err(_) => {}
                }
            }),
        );
    }

    /// Shows an article (`GET kb/articles/{id}` answered `v`) in place of the conversation.
    fn show_article(&self, id: String, v: &JsValue) {
        let ui = &self.ui;
        let title = wire::string(v, "title").unwrap_or_default();
        ui.article_title().set_text_content(Some(&title));
        let body = ui::html_text(&wire::string(v, "html").unwrap_or_default());
        ui.article_body().set_text_content(Some(&body));
        let url = wire::string(v, "url").map(|u| self.api.absolute(&u));
        let _ = ui::attrs(ui.article_link(), &[("href", url.as_deref().unwrap_or(""))]);
        ui::hide(ui.article_link(), url.is_none());
        self.show_vote(wire::field(v, "my_vote").as_bool());
        self.article.replace(Some(id));
        ui::set_class(ui.panel(), "p a");
        ui::hide(ui.article(), false);
        ui.article().set_scroll_top(0);
        let _ = ui.back().focus();
    }

    /// Back from an article to the conversation.
    pub fn close_article(&self) {
        if self.article.take().is_some() {
            ui::set_class(self.ui.panel(), "p");
            ui::hide(self.ui.article(), true);
            let _ = self.ui.input().focus();
        }
    }

    /// The vote on record for the open article (`None`: not voted yet): the pressed button,
    /// and the thanks once there is one.
    fn show_vote(&self, vote: Option<bool>) {
        let ui = &self.ui;
        for (b, mine) in [(ui.vote_yes(), true), (ui.vote_no(), false)] {
            let pressed = if vote == Some(mine) { "true" } else { "false" };
            let _ = b.set_attribute("aria-pressed", pressed);
        }
        ui.vote_thanks()
            .set_text_content(vote.map(|_| self.text()[W::Voted]));
    }

    /// "Was this helpful?" answered. Sent with the visitor's token (a session is started for
    /// a visitor without one), so the server counts one vote per visitor and article, which
    /// they may change.
    pub fn vote(&'static self, helpful: bool) {
        let Some(id) = self.article.borrow().clone() else {
            return;
        };
        if self.token.borrow().is_none() {
            self.session_call(Box::new(move |app, started| {
                if started.is_ok() {
                    app.vote(helpful);
                }
            }));
            return;
        }
        let mut path = String::from("kb/articles/");
        path.push_str(&String::from(js_sys::encode_uri_component(&id)));
        path.push_str("/vote");
        self.request(
            "POST",
            &path,
            Some(wire::object(&[("helpful", JsValue::from_bool(helpful))])),
            true,
            Box::new(move |app, answer| {
                let still_open = app.article.borrow().as_deref() == Some(id.as_str());
                match answer {
                    Ok(v) if still_open => app.show_vote(wire::field(&v, "vote").as_bool()),
                    Ok(_) => {}
                    Err(e) => {
                        if e.is_bad_token() {
                            app.token_rejected();
                        }
                        app.ui.show_alert(Some(app.text()[W::NotSent]));
                    }
                }
            }),
        );
    }
}
