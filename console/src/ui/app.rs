//! The console's root: the sign-in gate, the workspace shell (navigation rail, the page of the
//! current route, shortcut help, notifications), and the services a signed-in session runs in
//! the background: the live inbox feed, read positions, previews and the agent's presence.

use std::collections::HashSet;

use edgedesk_shared::ids::ConversationId;
use edgedesk_shared::model::Conversation;
use edgedesk_shared::rbac::Permission;
use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{self, ApiError, InboxEvent, InboxFeed, Me, MessagePage};
use crate::i18n::{Locale, Msg};
use crate::inbox::{self, SeenPositions};
use crate::route::Route;
use crate::shortcuts::{Action, Decoder, Press, HELP};
use crate::ui::auth::{AcceptInvite, SetupWorkspace, SignIn};
use crate::ui::common::{Icon, Toasts};
use crate::ui::inbox::InboxPage;
use crate::ui::settings::SettingsPage;
use crate::ui::state::{
    current_hash, load_pref, now, save_pref, set_html_lang, sleep_ms, App, Gate, ListStatus,
    LiveStatus, Preview,
};
use crate::ui::tickets::TicketsPage;

/// Mounts the console into `<body>`.
pub fn mount() {
    leptos::mount::mount_to_body(Root);
}

fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(name).filter(|v| !v.is_empty())
}

/// Drops `?setup=` / `?invite=` from the address bar once used: a one-time token should not
/// stay in the history or be bookmarked.
fn clear_query() {
    if let Some(w) = web_sys::window() {
        let path = w
            .location()
            .pathname()
            .unwrap_or_else(|_| "/console/".into());
        let hash = current_hash();
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&format!("{path}{hash}")),
            );
        }
    }
}

fn seen_key(me: &Me) -> String {
    format!("edgedesk.console.seen.{}", me.agent.id)
}

/// Starts a signed-in session: state, background services, then the workspace.
pub fn begin_session(app: App, me: Me) {
    clear_query();
    app.seen
        .set(load_pref::<SeenPositions>(&seen_key(&me)).unwrap_or_default());
    let can_work = me.can(Permission::Work);
    app.me.set(Some(me));
    app.session_epoch.update(|e| *e += 1);
    app.gate.set(Gate::Ready);
    leptos::task::spawn_local(async move { app.load_agents().await });
    run_inbox_feed(app);
    if can_work {
        run_presence(app);
    }
}

/// Records that the agent has seen a conversation up to `seq`: in the browser (unread
/// counts) and on the server (the visitor's read receipt).
pub fn mark_seen(app: App, id: ConversationId, seq: u64) {
    let mut moved = false;
    app.seen.update(|s| moved = s.mark(id, seq));
    if !moved {
        return;
    }
    if let Some(key) = app.me.with_untracked(|m| m.as_ref().map(seen_key)) {
        app.seen.with_untracked(|s| save_pref(&key, s));
    }
    leptos::task::spawn_local(async move {
        let body = serde_json::json!({ "seq": seq });
        if let Err(e) = api::post::<()>(&format!("/v1/conversations/{id}/seen"), &body).await {
            app.report(e);
        }
    });
}

/// Follows `GET /v1/realtime` for as long as the session lasts, applying each change to the
/// inbox list and publishing it to the open views. Failures back off and retry.
fn run_inbox_feed(app: App) {
    let epoch = app.session_epoch.get_untracked();
    leptos::task::spawn_local(async move {
        let mut cursor: Option<String> = None;
        let mut failures: u32 = 0;
        app.live.set(LiveStatus::Connecting);
        while app.session_epoch.get_untracked() == epoch {
            let path = match &cursor {
                Some(c) => api::with_query(
                    "/v1/realtime",
                    &[("cursor", c.clone()), ("wait", "25".to_owned())],
                ),
                None => "/v1/realtime?wait=0".to_owned(),
            };
            match api::get::<InboxFeed>(&path).await {
                Ok(feed) => {
                    if app.session_epoch.get_untracked() != epoch {
                        return;
                    }
                    failures = 0;
                    app.live.set(LiveStatus::Live);
                    cursor = Some(feed.cursor);
                    for (i, event) in feed.events.into_iter().enumerate() {
                        if i > 0 {
                            // Views take a change when the current task yields, and the
                            // update signals hold one record each: let them see every one.
                            sleep_ms(0).await;
                        }
                        apply_inbox_event(app, event);
                    }
                }
                Err(ApiError::Unauthorized(_)) => {
                    app.session_ended();
                    return;
                }
                Err(_) => {
                    failures += 1;
                    app.live.set(LiveStatus::Reconnecting);
                    sleep_ms(500u32.saturating_mul(1 << failures.min(5)).min(15_000)).await;
                }
            }
        }
    });
}

fn apply_inbox_event(app: App, event: InboxEvent) {
    match event {
        InboxEvent::Conversation { conversation, .. } => {
            let Some(me) = app.me_id() else { return };
            let filter = app.filter.get_untracked();
            app.want_contacts(vec![conversation.contact_id]);
            app.conversation_update.set(Some(conversation.clone()));
            app.conversations.update(|list| {
                inbox::apply(list, conversation, &filter, &me);
            });
        }
        InboxEvent::Ticket { ticket, .. } => app.ticket_update.set(Some(ticket)),
        InboxEvent::Unknown => {}
    }
}

/// Tells visitors someone is online while the console is open: at once, every two minutes
/// (the server forgets presence after five), and "offline" when the page goes away.
fn run_presence(app: App) {
    let Some(me) = app.me_id() else { return };
    let epoch = app.session_epoch.get_untracked();
    let path = api::presence_path(&me);
    leptos::task::spawn_local(async move {
        while app.session_epoch.get_untracked() == epoch {
            let body = serde_json::json!({ "status": "online" });
            if let Err(ApiError::Unauthorized(_)) =
                api::put::<serde_json::Value>(&path, &body).await
            {
                app.session_ended();
                return;
            }
            sleep_ms(120_000).await;
        }
    });
}

/// Loads the first page of the inbox under the current filter, or the next page.
pub async fn load_inbox(app: App, more: bool) {
    let Some(me) = app.me_id() else { return };
    let filter = app.filter.get_untracked();
    let mut q = filter.query(&me);
    q.push(("limit", "50".to_owned()));
    if more {
        match app.inbox_status.get_untracked() {
            ListStatus::Loaded {
                next_cursor: Some(c),
            } => q.push(("cursor", c)),
            _ => return,
        }
    } else {
        // Until the server answers, show what of the current list fits the new filter
        // rather than rows the filter excludes.
        app.conversations
            .update(|list| list.retain(|c| filter.matches(c, &me)));
        app.inbox_status.set(ListStatus::Loading);
    }
    let result =
        crate::ui::sla::get_list::<Conversation>(&api::with_query("/v1/conversations", &q)).await;
    if app.filter.get_untracked() != filter {
        return;
    }
    match result {
        Ok(page) => {
            app.want_contacts(page.data.iter().map(|c| c.contact_id).collect());
            app.conversations.update(|list| {
                if !more {
                    list.clear();
                }
                for c in page.data {
                    if !list.iter().any(|x| x.id == c.id) {
                        list.push(c);
                    }
                }
                filter.order(list);
            });
            app.inbox_status.set(ListStatus::Loaded {
                next_cursor: page.next_cursor,
            });
        }
        Err(ApiError::Unauthorized(_)) => app.session_ended(),
        Err(e) => app.inbox_status.set(ListStatus::Failed(app.error_text(&e))),
    }
}

/// Fetches the newest message of conversations whose preview is missing or out of date.
fn refresh_previews(
    app: App,
    list: &[Conversation],
    inflight: StoredValue<HashSet<(ConversationId, u64)>>,
) {
    let wanted: Vec<(ConversationId, u64)> = app.previews.with_untracked(|p| {
        list.iter()
            .filter(|c| c.last_message_seq > 0)
            .filter(|c| p.get(&c.id).is_none_or(|pr| pr.seq != c.last_message_seq))
            .map(|c| (c.id, c.last_message_seq))
            .filter(|k| !inflight.with_value(|s| s.contains(k)))
            .take(60)
            .collect()
    });
    if wanted.is_empty() {
        return;
    }
    inflight.update_value(|s| s.extend(wanted.iter().copied()));
    leptos::task::spawn_local(async move {
        for (id, seq) in wanted {
            let path = format!("/v1/conversations/{id}/messages?after={}&limit=1", seq - 1);
            let result = api::get::<MessagePage>(&path).await;
            inflight.update_value(|s| {
                s.remove(&(id, seq));
            });
            match result {
                Ok(page) => {
                    if let Some(m) = page.data.first() {
                        let preview = Preview::of(m);
                        app.previews.update(|p| {
                            let newer = p.get(&id).is_none_or(|old| old.seq <= preview.seq);
                            if newer {
                                p.insert(id, preview);
                            }
                        });
                    }
                }
                Err(ApiError::Unauthorized(_)) => {
                    app.session_ended();
                    return;
                }
                Err(_) => {}
            }
        }
    });
}

fn in_text_field() -> bool {
    let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
    else {
        return false;
    };
    let tag = el.tag_name().to_ascii_uppercase();
    matches!(tag.as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || el
            .dyn_ref::<web_sys::HtmlElement>()
            .is_some_and(|h| h.is_content_editable())
}

fn blur_active() {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.blur();
    }
}

#[component]
fn Root() -> impl IntoView {
    let app = App::new();
    provide_context(app);
    set_html_lang(app.locale.get_untracked());

    // Which screen to open with: a setup or invitation link, or whoever is signed in.
    if let Some(token) = query_param("setup") {
        app.gate.set(Gate::Setup(token));
    } else if let Some(token) = query_param("invite") {
        app.gate.set(Gate::Invite(token));
    } else {
        leptos::task::spawn_local(async move {
            match api::get::<Me>("/v1/auth/me").await {
                Ok(me) => begin_session(app, me),
                Err(ApiError::Unauthorized(_)) => app.gate.set(Gate::SignIn(None)),
                Err(e) => {
                    app.gate.set(Gate::SignIn(None));
                    app.report(e);
                }
            }
        });
    }

    let hash = window_event_listener_untyped("hashchange", move |_| {
        let r = Route::parse(&current_hash());
        if app.route.get_untracked() != r {
            app.route.set(r);
        }
    });
    on_cleanup(move || hash.remove());

    // Closing the console takes the agent offline at once instead of after the presence
    // report expires; `keepalive` lets the request outlive the page.
    let pagehide = window_event_listener_untyped("pagehide", move |_| {
        let can_work = app
            .me
            .with_untracked(|m| m.as_ref().is_some_and(|m| m.can(Permission::Work)));
        let Some(me) = app.me_id().filter(|_| can_work) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({ "status": "offline" });
            let options = api::Options {
                keepalive: true,
                ..api::Options::default()
            };
            let _ = api::call::<serde_json::Value>(
                api::Method::Put,
                &api::presence_path(&me),
                Some(&body),
                options,
            )
            .await;
        });
    });
    on_cleanup(move || pagehide.remove());

    let decoder = StoredValue::new(Decoder::default());
    let keys = window_event_listener(ev::keydown, move |e: web_sys::KeyboardEvent| {
        if app.gate.get_untracked() != Gate::Ready || e.is_composing() {
            return;
        }
        let key = e.key();
        let press = Press {
            key: &key,
            ctrl_or_meta: e.ctrl_key() || e.meta_key(),
            alt: e.alt_key(),
            in_text_field: in_text_field(),
        };
        let mut d = decoder.get_value();
        let action = d.decode(press);
        decoder.set_value(d);
        let Some(action) = action else { return };
        match action {
            Action::Help => {
                e.prevent_default();
                app.help_open.update(|h| *h = !*h);
            }
            Action::GoInbox => app.navigate(Route::Inbox(None)),
            Action::GoTickets => app.navigate(Route::Tickets(None)),
            Action::GoSettings => app.navigate(Route::Settings(crate::route::SettingsTab::Profile)),
            Action::Escape => {
                if app.help_open.get_untracked() {
                    app.help_open.set(false);
                } else {
                    blur_active();
                }
                app.dispatch(action);
            }
            _ => {
                if !matches!(action, Action::Next | Action::Prev) || !press.in_text_field {
                    e.prevent_default();
                }
                app.dispatch(action);
            }
        }
    });
    on_cleanup(move || keys.remove());

    // The inbox list follows the filter for as long as someone is signed in.
    Effect::new(move |_| {
        let ready = app.gate.get() == Gate::Ready;
        let _ = app.filter.get();
        if ready {
            leptos::task::spawn_local(async move { load_inbox(app, false).await });
        }
    });
    let inflight = StoredValue::new(HashSet::new());
    Effect::new(move |_| {
        app.conversations
            .with(|list| refresh_previews(app, list, inflight));
    });

    let gate = Memo::new(move |_| app.gate.get());
    view! {
        {move || {
            // A language switch rebuilds the screen in the new language.
            let _ = app.locale.get();
            match gate.get() {
                Gate::Checking => view! {
                    <div class="boot" role="status">
                        <div class="spinner"></div>
                        <p>{app.t(Msg::Loading)}</p>
                    </div>
                }
                    .into_any(),
                Gate::SignIn(reason) => view! { <SignIn reason=reason /> }.into_any(),
                Gate::Setup(token) => view! { <SetupWorkspace token=token /> }.into_any(),
                Gate::Invite(token) => view! { <AcceptInvite token=token /> }.into_any(),
                Gate::Ready => view! { <Shell /> }.into_any(),
            }
        }}
        <Toasts />
    }
}

/// The page kind of the current route; views below key on it so moving between items of
/// one page keeps the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageKind {
    Inbox,
    Tickets,
    Settings,
}

#[component]
fn Shell() -> impl IntoView {
    let app = expect_context::<App>();
    let page = Memo::new(move |_| match app.route.get() {
        Route::Inbox(_) => PageKind::Inbox,
        Route::Tickets(_) => PageKind::Tickets,
        Route::Settings(_) => PageKind::Settings,
    });
    let unread_total = Memo::new(move |_| {
        app.seen.with(|seen| {
            app.conversations.with(|list| {
                list.iter()
                    .filter(|c| inbox::unread(c, seen.get(&c.id)) > 0)
                    .count()
            })
        })
    });
    let me = app.me.get_untracked();
    let (my_name, my_role) = me
        .as_ref()
        .map(|m| (m.agent.name.clone(), app.role_name(m.agent.role)))
        .unwrap_or_default();
    let tenant = me.map(|m| m.tenant.name).unwrap_or_default();
    let sign_out = move |_| {
        let me = app.me_id().filter(|_| {
            app.me
                .with_untracked(|m| m.as_ref().is_some_and(|m| m.can(Permission::Work)))
        });
        // The sign-in form appears only once the server ended the session: signing in again
        // before the logout landed would have the late logout end the new session.
        leptos::task::spawn_local(async move {
            if let Some(me) = me {
                let body = serde_json::json!({ "status": "offline" });
                let _ = api::put::<serde_json::Value>(&api::presence_path(&me), &body).await;
            }
            let _ = api::post_empty::<()>("/v1/auth/logout").await;
            app.sign_out_locally(None);
        });
    };
    let nav = move |r: Route, icon: Icon, label: Msg, kind: PageKind| {
        view! {
            <a
                href=r.href()
                class="rail-link"
                class:active=move || page.get() == kind
                aria-label=app.t(label)
                title=app.t(label)
            >
                {icon.view()}
                <span class="rail-label">{app.t(label)}</span>
                {(kind == PageKind::Inbox)
                    .then(|| {
                        view! {
                            <span class="rail-badge" class:hidden=move || unread_total.get() == 0>
                                {move || unread_total.get()}
                            </span>
                        }
                    })}
            </a>
        }
    };
    view! {
        <div class="shell">
            <nav class="rail" aria-label="EdgeDesk">
                <div class="rail-brand" title=tenant.clone()>
                    <span class="logo">"E"</span>
                </div>
                {nav(Route::Inbox(None), Icon::Inbox, Msg::NavInbox, PageKind::Inbox)}
                {nav(Route::Tickets(None), Icon::Ticket, Msg::NavTickets, PageKind::Tickets)}
                {nav(
                    Route::Settings(crate::route::SettingsTab::Profile),
                    Icon::Settings,
                    Msg::NavSettings,
                    PageKind::Settings,
                )}
                <div class="rail-spacer"></div>
                <button
                    class="rail-link"
                    title=app.t(Msg::NavShortcuts)
                    aria-label=app.t(Msg::NavShortcuts)
                    on:click=move |_| app.help_open.set(true)
                >
                    {Icon::Keyboard.view()}
                </button>
                <select
                    class="rail-lang"
                    aria-label=app.t(Msg::Language)
                    title=app.t(Msg::Language)
                    on:change=move |e| app.set_locale(Locale::from_tag(&event_target_value(&e)))
                >
                    {Locale::ALL
                        .into_iter()
                        .map(|l| {
                            view! {
                                <option value=l.tag() selected=app.locale.get_untracked() == l>
                                    {if l == Locale::En { "EN" } else { "中" }}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <div class="rail-me" title=format!("{my_name} · {my_role} · {tenant}")>
                    <span class="avatar small">{crate::ui::state::initials(&my_name)}</span>
                </div>
                <button
                    class="rail-link"
                    title=app.t(Msg::SignOut)
                    aria-label=app.t(Msg::SignOut)
                    data-testid="sign-out"
                    on:click=sign_out
                >
                    {Icon::SignOut.view()}
                </button>
            </nav>
            <div class="page">
                <LiveBanner />
                {move || match page.get() {
                    PageKind::Inbox => view! { <InboxPage /> }.into_any(),
                    PageKind::Tickets => view! { <TicketsPage /> }.into_any(),
                    PageKind::Settings => view! { <SettingsPage /> }.into_any(),
                }}
            </div>
            <HelpOverlay />
        </div>
    }
}

/// A thin line across the top when the live connection is lost.
#[component]
fn LiveBanner() -> impl IntoView {
    let app = expect_context::<App>();
    view! {
        <div class="live-banner" role="status" class:hidden=move || app.live.get() != LiveStatus::Reconnecting>
            {app.t(Msg::Reconnecting)}
        </div>
    }
}

#[component]
fn HelpOverlay() -> impl IntoView {
    let app = expect_context::<App>();
    view! {
        <Show when=move || app.help_open.get()>
            <div class="overlay" on:click=move |_| app.help_open.set(false)>
                <div
                    class="dialog help"
                    role="dialog"
                    aria-modal="true"
                    aria-label=app.t(Msg::ShortcutsTitle)
                    on:click=|e| e.stop_propagation()
                >
                    <header class="dialog-head">
                        <h2>{app.t(Msg::ShortcutsTitle)}</h2>
                        <button class="icon-button" aria-label=app.t(Msg::Close) on:click=move |_| app.help_open.set(false)>
                            {Icon::Close.view()}
                        </button>
                    </header>
                    <dl class="keys">
                        {HELP
                            .iter()
                            .map(|(keys, msg)| {
                                view! {
                                    <dt>
                                        {keys
                                            .split(' ')
                                            .map(|k| {
                                                if k == "/" && keys.len() > 1 {
                                                    view! { <span class="key-sep">"/"</span> }.into_any()
                                                } else if k == "+" {
                                                    view! { <span class="key-sep">"+"</span> }.into_any()
                                                } else {
                                                    view! { <kbd>{k.to_owned()}</kbd> }.into_any()
                                                }
                                            })
                                            .collect_view()}
                                    </dt>
                                    <dd>{app.t(*msg)}</dd>
                                }
                            })
                            .collect_view()}
                    </dl>
                </div>
            </div>
        </Show>
    }
}

/// A clock that ticks every 30 seconds while the calling view lives, so relative times
/// ("4m") stay current.
pub fn tick_every_minute() -> RwSignal<chrono::DateTime<chrono::Utc>> {
    let clock = RwSignal::new(now());
    if let Ok(handle) =
        set_interval_with_handle(move || clock.set(now()), std::time::Duration::from_secs(30))
    {
        on_cleanup(move || handle.clear());
    }
    clock
}
