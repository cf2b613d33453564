//! The console's shared state (signed-in agent, language, route, caches, notifications) and
//! the small browser services every view uses: preferences in `localStorage`, the clock,
//! the clipboard, and turning API errors into words.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use edgedesk_shared::ids::{AgentId, ContactId, ConversationId};
use edgedesk_shared::model::{Agent, Contact, Conversation, Message, Role, SenderKind, Ticket};
use edgedesk_shared::rbac::Permission;
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{self, ApiError, Me, Page};
use crate::i18n::{fill, text, Locale, Msg};
use crate::inbox::{Filter, SeenPositions};
use crate::route::Route;
use crate::shortcuts::Action;

/// What the console shows before (or instead of) the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Asking the server who is signed in.
    Checking,
    /// The sign-in form; the text says why (a session that ended).
    SignIn(Option<Msg>),
    /// First run: create the workspace with this setup token.
    Setup(String),
    /// Set a password from an invitation token.
    Invite(String),
    /// Signed in.
    Ready,
}

/// A notification in the corner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub id: u64,
    pub error: bool,
    pub text: String,
}

/// The newest line of a conversation, for the inbox list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub seq: u64,
    pub from: SenderKind,
    pub private: bool,
    pub body: String,
}

impl Preview {
    pub fn of(m: &Message) -> Preview {
        let body = if m.body.trim().is_empty() {
            m.attachments
                .first()
                .map(|a| a.name.clone())
                .unwrap_or_default()
        } else {
            m.body.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        Preview {
            seq: m.seq,
            from: m.sender.kind,
            private: m.private,
            body,
        }
    }
}

/// How the inbox list is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListStatus {
    Loading,
    Loaded { next_cursor: Option<String> },
    Failed(String),
}

/// State of the live connection to the inbox feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveStatus {
    Connecting,
    Live,
    Reconnecting,
}

/// Everything views share. Signals are cheap handles, so `App` is `Copy`.
#[derive(Clone, Copy)]
pub struct App {
    pub gate: RwSignal<Gate>,
    pub me: RwSignal<Option<Me>>,
    pub locale: RwSignal<Locale>,
    pub route: RwSignal<Route>,
    pub agents: RwSignal<Vec<Agent>>,
    pub contacts: RwSignal<HashMap<ContactId, Contact>>,
    pub previews: RwSignal<HashMap<ConversationId, Preview>>,
    /// The inbox list under the current filter, sorted by last activity.
    pub conversations: RwSignal<Vec<Conversation>>,
    pub filter: RwSignal<Filter>,
    pub inbox_status: RwSignal<ListStatus>,
    pub seen: RwSignal<SeenPositions>,
    /// The newest record of any conversation the live feed reported.
    pub conversation_update: RwSignal<Option<Conversation>>,
    /// The newest record of any ticket the live feed reported.
    pub ticket_update: RwSignal<Option<Ticket>>,
    pub live: RwSignal<LiveStatus>,
    pub toasts: RwSignal<Vec<Toast>>,
    pub help_open: RwSignal<bool>,
    /// The last shortcut pressed, numbered so each press is seen once.
    pub action: RwSignal<(u64, Option<Action>)>,
    /// Bumped on sign-out so background loops of the old session stop.
    pub session_epoch: RwSignal<u64>,
}

const LOCALE_KEY: &str = "edgedesk.console.locale";
const FILTER_KEY: &str = "edgedesk.console.filter";

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl App {
    pub fn new() -> App {
        let locale = load_pref::<String>(LOCALE_KEY)
            .map(|t| Locale::from_tag(&t))
            .unwrap_or_else(|| {
                let nav = web_sys::window()
                    .and_then(|w| w.navigator().language())
                    .unwrap_or_default();
                Locale::from_tag(&nav)
            });
        App {
            gate: RwSignal::new(Gate::Checking),
            me: RwSignal::new(None),
            locale: RwSignal::new(locale),
            route: RwSignal::new(Route::parse(&current_hash())),
            agents: RwSignal::new(Vec::new()),
            contacts: RwSignal::new(HashMap::new()),
            previews: RwSignal::new(HashMap::new()),
            conversations: RwSignal::new(Vec::new()),
            filter: RwSignal::new(load_pref(FILTER_KEY).unwrap_or_default()),
            inbox_status: RwSignal::new(ListStatus::Loading),
            seen: RwSignal::new(SeenPositions::default()),
            conversation_update: RwSignal::new(None),
            ticket_update: RwSignal::new(None),
            live: RwSignal::new(LiveStatus::Connecting),
            toasts: RwSignal::new(Vec::new()),
            help_open: RwSignal::new(false),
            action: RwSignal::new((0, None)),
            session_epoch: RwSignal::new(0),
        }
    }

    /// Interface text in the current language (reactive: re-renders on a language switch).
    pub fn t(&self, msg: Msg) -> &'static str {
        text(self.locale.get(), msg)
    }

    /// Interface text with its blanks filled.
    pub fn tf(&self, msg: Msg, values: &[(&str, &str)]) -> String {
        fill(self.t(msg), values)
    }

    pub fn set_locale(&self, locale: Locale) {
        self.locale.set(locale);
        save_pref(LOCALE_KEY, &locale.tag());
        set_html_lang(locale);
    }

    pub fn set_filter(&self, filter: Filter) {
        save_pref(FILTER_KEY, &filter);
        self.filter.set(filter);
    }

    /// The signed-in agent's id (untracked: for use in handlers and tasks).
    pub fn me_id(&self) -> Option<AgentId> {
        self.me.with_untracked(|m| m.as_ref().map(|m| m.agent.id))
    }

    /// Whether the signed-in role allows `permission` (reactive).
    pub fn can(&self, permission: Permission) -> bool {
        self.me
            .with(|m| m.as_ref().is_some_and(|m| m.can(permission)))
    }

    pub fn role_name(&self, role: Role) -> &'static str {
        self.t(match role {
            Role::Owner => Msg::RoleOwner,
            Role::Admin => Msg::RoleAdmin,
            Role::Agent => Msg::RoleAgent,
            Role::Viewer => Msg::RoleViewer,
        })
    }

    /// Goes to a view by setting the location fragment (the `hashchange` listener updates
    /// `route`, so the browser's back button works too).
    pub fn navigate(&self, route: Route) {
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_hash(&route.href());
        }
        self.route.set(route);
    }

    /// Words for an API error, in the current language.
    pub fn error_text(&self, e: &ApiError) -> String {
        match e {
            ApiError::Forbidden(_) => {
                let role = self
                    .me
                    .with_untracked(|m| m.as_ref().map(|m| m.agent.role))
                    .map(|r| self.role_name(r))
                    .unwrap_or("?");
                self.tf(Msg::ErrForbidden, &[("role", role)])
            }
            ApiError::NotFound(_) => self.t(Msg::ErrNotFound).to_owned(),
            ApiError::Stale(_) => self.t(Msg::ErrStale).to_owned(),
            ApiError::Network(_) => self.t(Msg::ErrNetwork).to_owned(),
            ApiError::Unauthorized(_) => self.t(Msg::ErrSessionEnded).to_owned(),
            ApiError::Unavailable { message, .. } | ApiError::Decode(message) => {
                self.tf(Msg::ErrServer, &[("message", message)])
            }
            ApiError::Rejected { message, .. } => message.clone(),
            ApiError::Aborted => String::new(),
        }
    }

    /// Deals with an error nobody handled in place: a lost session goes back to sign-in,
    /// a cancelled request is silent, anything else becomes a notification.
    pub fn report(&self, e: ApiError) {
        match e {
            ApiError::Aborted => {}
            ApiError::Unauthorized(_) => self.session_ended(),
            other => {
                let text = self.error_text(&other);
                self.toast(true, text);
            }
        }
    }

    /// Clears the session state and shows the sign-in form with a reason.
    pub fn session_ended(&self) {
        if self.gate.get_untracked() == Gate::Ready {
            self.sign_out_locally(Some(Msg::ErrSessionEnded));
        }
    }

    pub fn sign_out_locally(&self, reason: Option<Msg>) {
        self.session_epoch.update(|e| *e += 1);
        self.me.set(None);
        self.agents.set(Vec::new());
        self.contacts.set(HashMap::new());
        self.previews.set(HashMap::new());
        self.conversations.set(Vec::new());
        self.gate.set(Gate::SignIn(reason));
    }

    pub fn toast(&self, error: bool, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        let id = (js_sys::Math::random() * 1e15) as u64;
        self.toasts.update(|t| {
            t.push(Toast { id, error, text });
            // Keep the corner readable.
            if t.len() > 4 {
                t.remove(0);
            }
        });
        let toasts = self.toasts;
        set_timeout(
            move || toasts.update(|t| t.retain(|x| x.id != id)),
            std::time::Duration::from_secs(if error { 8 } else { 4 }),
        );
    }

    /// Publishes a shortcut to the views.
    pub fn dispatch(&self, action: Action) {
        self.action.update(|(n, a)| {
            *n += 1;
            *a = Some(action);
        });
    }

    /// Runs `f` for every shortcut pressed from now on, while the calling view lives.
    pub fn on_action(&self, f: impl Fn(Action) + 'static) {
        let action = self.action;
        let start = action.get_untracked().0;
        let last = StoredValue::new(start);
        Effect::new(move |_| {
            let (n, a) = action.get();
            // An effect already queued when its view closes still runs once; the view's own
            // values are gone by then (reading them would panic), and so is the view.
            let Some(seen) = last.try_get_value() else {
                return;
            };
            if n > seen {
                last.set_value(n);
                if let Some(a) = a {
                    f(a);
                }
            }
        });
    }

    /// Loads the agents of the workspace (names for assignees and message authors).
    pub async fn load_agents(&self) {
        match api::get::<Page<Agent>>("/v1/agents?limit=100").await {
            Ok(page) => self.agents.set(page.data),
            Err(e) => self.report(e),
        }
    }

    pub fn agent_name(&self, id: &AgentId) -> String {
        self.agents.with(|a| {
            a.iter()
                .find(|a| &a.id == id)
                .map(|a| a.name.clone())
                .unwrap_or_else(|| short_id(&id.to_string()))
        })
    }

    /// What to call a contact: name, email, phone, or "Visitor" and a short id.
    pub fn contact_name(&self, id: &ContactId) -> String {
        let known = self.contacts.with(|c| c.get(id).and_then(contact_label));
        known.unwrap_or_else(|| format!("{} {}", self.t(Msg::Visitor), short_id(&id.to_string())))
    }

    /// Fetches contacts not in the cache yet, one after another.
    pub fn want_contacts(&self, ids: Vec<ContactId>) {
        let app = *self;
        let missing: Vec<ContactId> = app.contacts.with_untracked(|c| {
            let mut m: Vec<ContactId> = ids.into_iter().filter(|i| !c.contains_key(i)).collect();
            m.sort();
            m.dedup();
            m
        });
        if missing.is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            for id in missing {
                if app.contacts.with_untracked(|c| c.contains_key(&id)) {
                    continue;
                }
                match api::get::<Contact>(&format!("/v1/contacts/{id}")).await {
                    Ok(c) => app.contacts.update(|m| {
                        m.insert(id, c);
                    }),
                    Err(ApiError::NotFound(_)) => {}
                    Err(e) => {
                        app.report(e);
                        return;
                    }
                }
            }
        });
    }
}

/// A contact's best name, if it has any.
pub fn contact_label(c: &Contact) -> Option<String> {
    c.name
        .clone()
        .or_else(|| c.email.clone())
        .or_else(|| c.phone.clone())
        .filter(|s| !s.trim().is_empty())
}

/// The last four characters of an id: enough to tell visitors apart at a glance.
pub fn short_id(id: &str) -> String {
    let tail: String = id.chars().rev().take(4).collect();
    format!("#{}", tail.chars().rev().collect::<String>().to_lowercase())
}

/// One or two initials for an avatar.
pub fn initials(name: &str) -> String {
    let mut words = name
        .split(|c: char| c.is_whitespace() || c == '@' || c == '.')
        .filter(|w| !w.is_empty() && !w.starts_with('#'));
    let first = words.next().and_then(|w| w.chars().next());
    let second = words.next().and_then(|w| w.chars().next());
    match (first, second) {
        (Some(a), Some(b)) if a.is_ascii() => format!("{a}{b}").to_uppercase(),
        (Some(a), _) => a.to_uppercase().to_string(),
        _ => "?".to_owned(),
    }
}

/// The browser's clock.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
}

/// The browser's UTC offset in minutes east of UTC.
pub fn utc_offset_minutes() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

pub fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

pub fn set_html_lang(locale: Locale) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = el.set_attribute("lang", locale.tag());
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Reads a preference; anything missing or unreadable is `None`.
pub fn load_pref<T: DeserializeOwned>(key: &str) -> Option<T> {
    let raw = storage()?.get_item(key).ok().flatten()?;
    serde_json::from_str(&raw).ok()
}

/// Stores a preference; storage being full or disabled only loses the preference.
pub fn save_pref<T: Serialize + ?Sized>(key: &str, value: &T) {
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(value)) {
        let _ = s.set_item(key, &text);
    }
}

/// Copies text to the clipboard and says whether it worked.
pub fn copy_to_clipboard(app: App, text: String) {
    let Some(w) = web_sys::window() else { return };
    let promise = w.navigator().clipboard().write_text(&text);
    leptos::task::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => app.toast(false, app.t(Msg::Copied)),
            Err(_) => app.toast(true, app.t(Msg::CopyFailed)),
        }
    });
}

/// Waits without blocking the page.
pub async fn sleep_ms(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_letters_of_two_words() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("ada@example.com"), "AE");
        assert_eq!(initials("Visitor #a1b2"), "V");
        assert_eq!(initials("张三"), "张");
        assert_eq!(initials(""), "?");
    }

    #[test]
    fn a_short_id_is_the_ids_tail() {
        assert_eq!(short_id("ctc_01JD3QXV6ZK8M5N2P4R7S9T0WX"), "#t0wx");
        assert_eq!(short_id("ab"), "#ab");
    }
}
