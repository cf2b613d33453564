//! One conversation: its live message thread (with the headers and delivery state of mail),
//! the reply and private-note composer (with the typing signal the visitor sees, and Cc and
//! Bcc on email conversations), quick actions (assign to me, snooze, resolve, convert to a
//! ticket) and the side panel with the conversation's fields and the contact.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use edgedesk_shared::email::{Delivery, EmailMeta};
use edgedesk_shared::ids::{AgentId, ConversationId};
use edgedesk_shared::model::{
    ChannelKind, Contact, Conversation, ConversationStatus, Message, Priority, Role, SenderKind,
    Ticket,
};
use edgedesk_shared::rbac::Permission;
use edgedesk_shared::routing::CannedResponse;
use leptos::html;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use serde_json::Value;

use crate::api::{self, ApiError, Feed, LiveEvent, MessagePage, Page};
use crate::assist::{self, sentiment_band, Detected, SentimentBand};
use crate::changes::{split_tags, ConversationChange};
use crate::email::{self, delivery_badge, mailbox, mailboxes, safe_link};
use crate::i18n::Msg;
use crate::inbox;
use crate::route::Route;
use crate::shortcuts::Action;
use crate::thread;
use crate::time;
use crate::ui::app::{mark_seen, tick_every_minute};
use crate::ui::bot::note;
use crate::ui::common::{
    conversation_status_msg, failed, loading, pill, priority_msg, ticket_status_msg, Icon, Modal,
};
use crate::ui::state::{contact_label, initials, now, sleep_ms, utc_offset_minutes, App, Preview};

/// Whether the composer writes to the visitor or a note for the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Reply,
    Note,
}

/// Everything the parts of the view share.
#[derive(Clone, Copy)]
struct Conv {
    id: ConversationId,
    record: RwSignal<Option<Conversation>>,
    messages: RwSignal<Vec<Message>>,
    /// What the bot and sentiment analysis detected, by message seq.
    detected: RwSignal<Vec<(u64, Detected)>>,
    /// The visitor's rating (`{"rating", "comment"}`), once given.
    csat: RwSignal<Option<Value>>,
    visitor_typing: RwSignal<bool>,
    visitor_seen: RwSignal<u64>,
    can_work: bool,
}

fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| !d.hidden())
}

/// Applies one change to the conversation, keeping the view and the inbox list in step.
///
/// The record may have moved on since the view read it (a message bumps its version); then
/// the change is rebuilt on the fresh record and sent once more, as the agent's intent
/// ("assign to me", "add label") does not depend on what else changed.
fn apply_change(app: App, conv: Conv, change: ConversationChange) {
    let Some(current) = conv.record.get_untracked() else {
        return;
    };
    let id = conv.id;
    leptos::task::spawn_local(async move {
        let path = format!("/v1/conversations/{id}");
        let first =
            api::patch::<Conversation>(&path, Some(current.version), &change.body(&current)).await;
        let result = match first {
            Err(ApiError::Stale(_)) => match api::get::<Conversation>(&path).await {
                Ok(fresh) => {
                    let retried = api::patch::<Conversation>(
                        &path,
                        Some(fresh.version),
                        &change.body(&fresh),
                    )
                    .await;
                    if retried.is_err() {
                        accept_record(app, conv, fresh);
                    }
                    retried
                }
                Err(e) => Err(e),
            },
            other => other,
        };
        match result {
            Ok(updated) => accept_record(app, conv, updated),
            Err(e) => app.report(e),
        }
    });
}

fn accept_record(app: App, conv: Conv, c: Conversation) {
    conv.record.set(Some(c.clone()));
    if let Some(me) = app.me_id() {
        let filter = app.filter.get_untracked();
        app.conversations.update(|l| {
            inbox::apply(l, c, &filter, &me);
        });
    }
}

/// Follows the conversation's live feed until the view closes (`signal` aborts the request in
/// flight, `alive` stops the loop).
async fn follow(
    app: App,
    conv: Conv,
    mut after: u64,
    signal: Option<SendWrapper<web_sys::AbortSignal>>,
    alive: Arc<AtomicBool>,
) {
    let id = conv.id;
    let mut rev = 0;
    let mut failures: u32 = 0;
    while alive.load(Ordering::Relaxed) {
        let path = format!("/v1/conversations/{id}/poll?after={after}&rev={rev}&wait=25");
        let options = api::Options {
            signal: signal.as_deref(),
            ..api::Options::default()
        };
        let result = api::call_text(api::Method::Get, &path, None, options)
            .await
            .and_then(|text| {
                if let Ok(v) = api::decode::<Value>(&text) {
                    keep_detected(conv, assist::metas(&v));
                }
                api::decode::<Feed>(&text)
            });
        if !alive.load(Ordering::Relaxed) {
            return;
        }
        match result {
            Ok(feed) => {
                failures = 0;
                after = feed.last_seq.max(after);
                rev = feed.rev;
                let mut newest = None;
                for event in feed.events {
                    match event {
                        LiveEvent::Message { message } => {
                            newest = Some(message.seq);
                            app.previews.update(|p| {
                                p.insert(id, Preview::of(&message));
                            });
                            if message.sender.kind == SenderKind::Contact {
                                conv.visitor_typing.set(false);
                            }
                            conv.messages.update(|t| thread::merge(t, message));
                        }
                        LiveEvent::Typing {
                            from: SenderKind::Contact,
                            typing,
                        } => conv.visitor_typing.set(typing),
                        LiveEvent::Seen {
                            by: SenderKind::Contact,
                            seq,
                        } => conv.visitor_seen.set(seq),
                        _ => {}
                    }
                }
                if let (Some(seq), true) = (newest, page_visible()) {
                    mark_seen(app, id, seq);
                }
            }
            Err(ApiError::Aborted) => return,
            Err(ApiError::Unauthorized(_)) => {
                app.session_ended();
                return;
            }
            Err(ApiError::NotFound(_)) => return,
            Err(_) => {
                failures += 1;
                sleep_ms(500u32.saturating_mul(1 << failures.min(5)).min(15_000)).await;
            }
        }
    }
}

/// Keeps what was detected in messages, by seq, for the thread to show under them.
fn keep_detected(conv: Conv, found: Vec<(u64, Detected)>) {
    if !found.is_empty() {
        conv.detected.update(|all| {
            for (seq, d) in found {
                match all.iter_mut().find(|(s, _)| *s == seq) {
                    Some(slot) => slot.1 = d,
                    None => all.push((seq, d)),
                }
            }
        });
    }
}

/// Reads the visitor's rating; a conversation without one answers 404.
fn load_csat(conv: Conv) {
    let id = conv.id;
    leptos::task::spawn_local(async move {
        if let Ok(c) = api::get::<Value>(&format!("/v1/conversations/{id}/csat")).await {
            conv.csat.try_set(Some(c));
        }
    });
}

#[component]
pub fn ConversationView(id: ConversationId) -> impl IntoView {
    let app = expect_context::<App>();
    let conv = Conv {
        id,
        record: RwSignal::new(None),
        messages: RwSignal::new(Vec::new()),
        detected: RwSignal::new(Vec::new()),
        csat: RwSignal::new(None),
        visitor_typing: RwSignal::new(false),
        visitor_seen: RwSignal::new(0),
        can_work: app
            .me
            .with_untracked(|m| m.as_ref().is_some_and(|m| m.can(Permission::Work))),
    };
    let load_error = RwSignal::new(None::<String>);
    let loaded = RwSignal::new(false);
    let wide = web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|v| v.as_f64())
        .is_some_and(|w| w >= 1280.0);
    let details_open = RwSignal::new(wide);
    let alive = Arc::new(AtomicBool::new(true));
    let controller = web_sys::AbortController::new().ok();
    let signal = controller.as_ref().map(|c| SendWrapper::new(c.signal()));
    let controller = SendWrapper::new(controller);
    {
        let alive = alive.clone();
        on_cleanup(move || {
            alive.store(false, Ordering::Relaxed);
            if let Some(c) = controller.as_ref() {
                c.abort();
            }
        });
    }

    let load = {
        let alive = alive.clone();
        move || {
            let alive = alive.clone();
            let signal = signal.clone();
            load_error.set(None);
            leptos::task::spawn_local(async move {
                let path = format!("/v1/conversations/{id}");
                let record = api::get::<Conversation>(&path).await;
                if !alive.load(Ordering::Relaxed) {
                    return;
                }
                match record {
                    Ok(c) => {
                        app.want_contacts(vec![c.contact_id]);
                        conv.record.set(Some(c));
                    }
                    Err(ApiError::Unauthorized(_)) => return app.session_ended(),
                    Err(e) => return load_error.set(Some(app.error_text(&e))),
                }
                let mut after = 0;
                let mut all = Vec::new();
                // History in pages of 100; a very long conversation shows its first 5 000.
                for _ in 0..50 {
                    let page = api::call_text(
                        api::Method::Get,
                        &format!("/v1/conversations/{id}/messages?after={after}&limit=100"),
                        None,
                        api::Options::default(),
                    )
                    .await
                    .and_then(|text| {
                        if let Ok(v) = api::decode::<Value>(&text) {
                            keep_detected(conv, assist::metas(&v));
                        }
                        api::decode::<MessagePage>(&text)
                    });
                    if !alive.load(Ordering::Relaxed) {
                        return;
                    }
                    match page {
                        Ok(p) => {
                            all.extend(p.data);
                            after = p.last_seq;
                            if !p.has_more {
                                break;
                            }
                        }
                        Err(e) => return load_error.set(Some(app.error_text(&e))),
                    }
                }
                if let Some(last) = all.last() {
                    app.previews.update(|p| {
                        p.insert(id, Preview::of(last));
                    });
                }
                conv.messages.set(all);
                loaded.set(true);
                load_csat(conv);
                if page_visible() {
                    mark_seen(app, id, after);
                }
                follow(app, conv, after, signal, alive).await;
            });
        }
    };
    load();

    // Changes others make (assignment, status) arrive through the inbox feed.
    Effect::new(move |_| {
        if let Some(c) = app.conversation_update.get().filter(|c| c.id == id) {
            // `try_`: an update queued as the view closes finds its signals disposed.
            let newer = conv
                .record
                .try_with_untracked(|r| r.as_ref().is_none_or(|r| r.version < c.version));
            if newer == Some(true) {
                // A rating arrives after the conversation is resolved.
                let rated_later = c.status == ConversationStatus::Resolved
                    && conv.csat.try_with_untracked(Option::is_none) == Some(true);
                conv.record.set(Some(c));
                if rated_later {
                    load_csat(conv);
                }
            }
        }
    });

    app.on_action(move |a| {
        let me = app.me_id();
        match a {
            Action::Resolve if conv.can_work => apply_change(
                app,
                conv,
                ConversationChange::Status(ConversationStatus::Resolved),
            ),
            Action::AssignToMe if conv.can_work => {
                apply_change(app, conv, ConversationChange::Assign(me))
            }
            _ => {}
        }
    });

    let retry = load.clone();
    // The body is built once the record is there; later changes update its parts in place
    // (rebuilding it would throw away the draft in the composer).
    let ready = Memo::new(move |_| conv.record.with(Option::is_some));
    view! {
        <div class="conv-view" class:details-open=move || details_open.get() data-testid="conversation-view">
            {move || {
                if let Some(text) = load_error.get() {
                    let retry = retry.clone();
                    return failed(app, app.tf(Msg::ConvError, &[("message", &text)]), retry).into_any();
                }
                if !ready.get() {
                    return loading(app.t(Msg::ConvLoading)).into_any();
                }
                view! {
                    <Header conv=conv details_open=details_open />
                    <div class="conv-body">
                        <div class="conv-main">
                            <Thread conv=conv loaded=loaded />
                            {if conv.can_work {
                                view! { <Composer conv=conv /> }.into_any()
                            } else {
                                let role = app
                                    .me
                                    .with_untracked(|m| m.as_ref().map(|m| m.agent.role))
                                    .unwrap_or(Role::Viewer);
                                view! {
                                    <div class="composer-locked" data-testid="viewer-notice">
                                        {Icon::Lock.view()}
                                        <span>{app.tf(Msg::ViewerNotice, &[("role", app.role_name(role))])}</span>
                                    </div>
                                }
                                    .into_any()
                            }}
                        </div>
                        <SidePanel conv=conv details_open=details_open />
                    </div>
                }
                    .into_any()
            }}
        </div>
    }
}

/// Local times for the snooze menu, from the browser's calendar (DST-correct).
fn snooze_time(preset: u8) -> Option<DateTime<Utc>> {
    let d = js_sys::Date::new_0();
    match preset {
        0 => {
            d.set_time(d.get_time() + 3_600_000.0);
        }
        1 => {
            d.set_date(d.get_date() + 1);
            d.set_hours(9);
            d.set_minutes(0);
            d.set_seconds(0);
            d.set_milliseconds(0);
        }
        _ => {
            let days = match (8 - d.get_day()) % 7 {
                0 => 7,
                n => n,
            };
            d.set_date(d.get_date() + days);
            d.set_hours(9);
            d.set_minutes(0);
            d.set_seconds(0);
            d.set_milliseconds(0);
        }
    }
    DateTime::from_timestamp_millis(d.get_time() as i64)
}

/// A `datetime-local` value (local wall time) as an instant.
fn parse_local(value: &str) -> Option<DateTime<Utc>> {
    let ms = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(value)).get_time();
    if ms.is_nan() {
        return None;
    }
    DateTime::from_timestamp_millis(ms as i64)
}

fn format_local(t: DateTime<Utc>, app: App) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t.timestamp_millis() as f64));
    let locale = app.locale.get_untracked().tag();
    String::from(d.to_locale_string(locale, &wasm_bindgen::JsValue::UNDEFINED))
}

#[component]
fn Header(conv: Conv, details_open: RwSignal<bool>) -> impl IntoView {
    let app = expect_context::<App>();
    let snooze_open = RwSignal::new(false);
    let custom = RwSignal::new(String::new());
    let ticket_open = RwSignal::new(false);
    let snooze = move |t: Option<DateTime<Utc>>| match t.filter(|t| *t > now()) {
        Some(t) => {
            snooze_open.set(false);
            apply_change(app, conv, ConversationChange::SnoozeUntil(t));
        }
        None => app.toast(true, app.t(Msg::SnoozeInPast)),
    };
    let contact_id = conv
        .record
        .with_untracked(|r| r.as_ref().map(|c| c.contact_id));
    let name = move || contact_id.map(|c| app.contact_name(&c)).unwrap_or_default();
    view! {
        <header class="conv-head">
            <a class="icon-button back" href=Route::Inbox(None).href() aria-label=app.t(Msg::Back)>
                {Icon::Back.view()}
            </a>
            <span class="avatar">{move || initials(&name())}</span>
            <div class="conv-title">
                <h2 data-testid="conversation-title">{name}</h2>
                <div class="conv-sub">
                    {move || {
                        conv.record
                            .get()
                            .map(|c| {
                                let snoozed = c
                                    .snoozed_until
                                    .filter(|_| c.status == ConversationStatus::Snoozed)
                                    .map(|t| app.tf(Msg::SnoozeUntil, &[("time", &format_local(t, app))]));
                                view! {
                                    <span data-testid="conversation-status">
                                        {pill(app, "cs", c.status.as_str(), conversation_status_msg(c.status))}
                                    </span>
                                    {snoozed.map(|s| view! { <span class="muted">{s}</span> })}
                                    <span class="muted">
                                        {c.assignee_id.map(|a| app.agent_name(&a)).unwrap_or_else(|| app.t(Msg::Unassigned).to_owned())}
                                    </span>
                                }
                            })
                    }}
                </div>
            </div>
            <div class="conv-actions">
                <Show when=move || conv.can_work>
                    <Show when=move || {
                        conv.record.with(|r| r.as_ref().and_then(|c| c.assignee_id)) != app.me_id()
                    }>
                        <button
                            class="button ghost"
                            data-testid="assign-me"
                            title="a"
                            on:click=move |_| apply_change(app, conv, ConversationChange::Assign(app.me_id()))
                        >
                            {app.t(Msg::AssignToMe)}
                        </button>
                    </Show>
                    <div class="menu-wrap">
                        <button
                            class="button ghost"
                            aria-expanded=move || snooze_open.get().to_string()
                            data-testid="snooze"
                            on:click=move |_| snooze_open.update(|o| *o = !*o)
                        >
                            {Icon::Clock.view()}
                            <span>{app.t(Msg::Snooze)}</span>
                        </button>
                        <Show when=move || snooze_open.get()>
                            <div class="menu" role="menu">
                                <button role="menuitem" on:click=move |_| snooze(snooze_time(0))>
                                    {app.t(Msg::SnoozeOneHour)}
                                </button>
                                <button role="menuitem" on:click=move |_| snooze(snooze_time(1))>
                                    {app.t(Msg::SnoozeTomorrow)}
                                </button>
                                <button role="menuitem" on:click=move |_| snooze(snooze_time(2))>
                                    {app.t(Msg::SnoozeNextWeek)}
                                </button>
                                <div class="menu-custom">
                                    <label>
                                        <span>{app.t(Msg::SnoozeCustom)}</span>
                                        <input type="datetime-local" bind:value=custom />
                                    </label>
                                    <button
                                        class="button"
                                        on:click=move |_| snooze(parse_local(&custom.get_untracked()))
                                    >
                                        {app.t(Msg::Snooze)}
                                    </button>
                                </div>
                            </div>
                        </Show>
                    </div>
                    {move || {
                        let resolved = conv
                            .record
                            .with(|r| r.as_ref().map(|c| c.status == ConversationStatus::Resolved))
                            .unwrap_or(false);
                        if resolved {
                            view! {
                                <button
                                    class="button"
                                    data-testid="reopen"
                                    on:click=move |_| apply_change(app, conv, ConversationChange::Status(ConversationStatus::Open))
                                >
                                    {app.t(Msg::Reopen)}
                                </button>
                            }
                                .into_any()
                        } else {
                            view! {
                                <button
                                    class="button success"
                                    data-testid="resolve"
                                    title="e"
                                    on:click=move |_| apply_change(app, conv, ConversationChange::Status(ConversationStatus::Resolved))
                                >
                                    {Icon::Check.view()}
                                    <span>{app.t(Msg::Resolve)}</span>
                                </button>
                            }
                                .into_any()
                        }
                    }}
                    <button class="button ghost" data-testid="convert-ticket" on:click=move |_| ticket_open.set(true)>
                        {Icon::Ticket.view()}
                        <span class="wide-only">{app.t(Msg::ConvertToTicket)}</span>
                    </button>
                </Show>
                <button
                    class="icon-button"
                    class:active=move || details_open.get()
                    aria-label=move || app.t(if details_open.get() { Msg::HideDetails } else { Msg::Details })
                    title=move || app.t(if details_open.get() { Msg::HideDetails } else { Msg::Details })
                    data-testid="toggle-details"
                    on:click=move |_| details_open.update(|o| *o = !*o)
                >
                    {Icon::Panel.view()}
                </button>
            </div>
            <ConvertToTicket conv=conv open=ticket_open />
        </header>
    }
}

fn sender_name(app: App, m: &Message) -> String {
    match m.sender.kind {
        SenderKind::Agent => m
            .sender
            .id
            .as_deref()
            .and_then(|i| i.parse::<AgentId>().ok())
            .map(|a| {
                if Some(a) == app.me_id() {
                    app.t(Msg::You).to_owned()
                } else {
                    app.agent_name(&a)
                }
            })
            .unwrap_or_else(|| app.t(Msg::RoleAgent).to_owned()),
        SenderKind::Contact => m
            .sender
            .id
            .as_deref()
            .and_then(|i| i.parse().ok())
            .map(|c| app.contact_name(&c))
            .unwrap_or_else(|| app.t(Msg::Visitor).to_owned()),
        SenderKind::Bot => app.t(Msg::Bot).to_owned(),
        SenderKind::System => app.t(Msg::System).to_owned(),
    }
}

/// One line under a message: the intent the bot detected (with its confidence), entities,
/// sentiment and a handoff reason.
fn detected_view(app: App, d: Detected) -> impl IntoView {
    let intent = d.intent.map(|i| {
        let confidence = d
            .confidence
            .map(|c| format!(" {:.0}%", c * 100.0))
            .unwrap_or_default();
        let label = if d.recognised {
            Msg::DetectedIntent
        } else {
            Msg::DetectedGuess
        };
        view! {
            <span class="tag" data-testid="detected-intent" title=app.t(label)>
                {app.t(label)} ": " {i} {confidence}
            </span>
        }
    });
    let entities = d
        .entities
        .into_iter()
        .map(|e| view! { <span class="tag" data-testid="detected-entity">{e}</span> })
        .collect_view();
    let sentiment = d.sentiment.map(|s| {
        let (class, msg) = match sentiment_band(s) {
            SentimentBand::Negative => ("tag negative", Msg::SentimentNegative),
            SentimentBand::Neutral => ("tag", Msg::SentimentNeutral),
            SentimentBand::Positive => ("tag positive", Msg::SentimentPositive),
        };
        view! {
            <span class=class data-testid="detected-sentiment">
                {app.t(msg)} " " {format!("{s:+.2}")}
            </span>
        }
    });
    let handoff = d.handoff.map(|r| {
        view! {
            <span class="tag negative" data-testid="detected-handoff">
                {app.t(Msg::HandoffReason)} ": " {r}
            </span>
        }
    });
    view! {
        <div class="msg-detected" data-testid="detected">
            {intent}
            {entities}
            {sentiment}
            {handoff}
        </div>
    }
}

/// The visitor's rating under the thread.
fn csat_view(app: App, c: Value) -> impl IntoView {
    let rating = c.get("rating").and_then(Value::as_u64).unwrap_or(0);
    let comment = c.get("comment").and_then(Value::as_str).map(str::to_owned);
    let stars: String = (1..=5)
        .map(|i| if i <= rating { '★' } else { '☆' })
        .collect();
    view! {
        <div class="csat-card" data-testid="csat" aria-label=app.t(Msg::CsatHeading)>
            <strong>{app.t(Msg::CsatHeading)}</strong>
            <span class="stars" aria-hidden="true">{stars}</span>
            <span data-testid="csat-rating">{format!("{rating}/5")}</span>
            {comment.map(|t| view! { <q data-testid="csat-comment">{t}</q> })}
        </div>
    }
}

/// The headers of a message that travelled by email: its subject, sender and recipients, and
/// a link to the mail as it was received. Every part is text, never markup.
fn mail_head(app: App, e: EmailMeta) -> impl IntoView {
    let line = |label: Msg, value: String, testid: &'static str| {
        (!value.is_empty()).then(|| {
            view! {
                <div class="mail-line">
                    <span class="mail-label">{app.t(label)}</span>
                    <span data-testid=testid>{value}</span>
                </div>
            }
        })
    };
    let original = e.original_url.as_deref().and_then(safe_link).map(|u| {
        view! {
            <a class="mail-original" data-testid="mail-original" href=u.to_owned() target="_blank" rel="noopener noreferrer">
                {app.t(Msg::ShowOriginal)}
            </a>
        }
    });
    view! {
        <div class="mail-head" data-testid="mail-head">
            <div class="mail-subject" data-testid="mail-subject">{e.subject}</div>
            {line(Msg::From, mailbox(&e.from), "mail-from")}
            {line(Msg::To, mailboxes(&e.to), "mail-to")}
            {line(Msg::Cc, mailboxes(&e.cc), "mail-cc")}
            {line(Msg::Bcc, mailboxes(&e.bcc), "mail-bcc")}
            {original}
        </div>
    }
}

/// Where a reply sent by email stands; a failure says why in the text and the tooltip.
fn delivery_view(app: App, d: &Delivery) -> impl IntoView {
    let b = delivery_badge(app.locale.get(), d);
    view! {
        <span class=format!("delivery delivery-{}", b.state) title=b.title data-testid="delivery" data-state=b.state>
            {b.text}
        </span>
    }
}

#[component]
fn Thread(conv: Conv, loaded: RwSignal<bool>) -> impl IntoView {
    let app = expect_context::<App>();
    let container = NodeRef::<html::Div>::new();
    let clock = tick_every_minute();
    // Follow new messages to the bottom unless the agent scrolled up to read history.
    Effect::new(move |prev: Option<usize>| {
        let n = conv.messages.with(Vec::len);
        conv.visitor_typing.track();
        if let Some(el) = container.get() {
            // Measured after the new message rendered, hence the generous margin.
            let near_bottom = el.scroll_height() - el.scroll_top() - el.client_height() < 400;
            if prev.is_none_or(|p| p == 0) || near_bottom {
                request_animation_frame(move || {
                    if let Some(el) = container.get_untracked() {
                        el.set_scroll_top(el.scroll_height());
                    }
                });
            }
        }
        n
    });
    let offset = utc_offset_minutes();
    view! {
        <div class="thread" node_ref=container data-testid="thread" aria-live="polite">
            {move || {
                if !loaded.get() {
                    return loading(app.t(Msg::ConvLoading)).into_any();
                }
                let now = clock.get();
                let seen_at = conv.messages.with(|t| thread::seen_marker(t, conv.visitor_seen.get()));
                conv.messages
                    .get()
                    .into_iter()
                    .map(|m| {
                        let who = sender_name(app, &m);
                        let when = time::stamp(now, m.created_at, offset);
                        let side = match m.sender.kind {
                            SenderKind::Contact => "in",
                            SenderKind::System => "system",
                            _ => "out",
                        };
                        let seen = seen_at == Some(m.seq);
                        let detected = conv
                            .detected
                            .with(|d| d.iter().find(|(s, _)| *s == m.seq).map(|(_, d)| d.clone()))
                            .map(|d| detected_view(app, d));
                        let attachments = m
                            .attachments
                            .iter()
                            .map(|a| {
                                let label = format!("{} · {} KB", a.name, a.size.div_ceil(1024));
                                match &a.url {
                                    Some(u) => view! {
                                        <a class="attachment" href=u.clone() target="_blank" rel="noopener noreferrer">
                                            {label}
                                        </a>
                                    }
                                        .into_any(),
                                    None => view! { <span class="attachment">{label}</span> }.into_any(),
                                }
                            })
                            .collect_view();
                        let mail = m.email.clone().map(|e| mail_head(app, e));
                        let delivery = m.delivery.as_ref().map(|d| delivery_view(app, d));
                        view! {
                            <div
                                class=format!("msg {side}")
                                class:note=m.private
                                data-testid=if m.private { "note" } else { "message" }
                                data-seq=m.seq
                            >
                                <div class="bubble">
                                    {m.private.then(|| view! { <span class="note-badge">{app.t(Msg::NoteBadge)}</span> })}
                                    {mail}
                                    <span class="body">{m.body.clone()}</span>
                                    {attachments}
                                </div>
                                <div class="msg-meta">
                                    <span>{who}</span>
                                    <span>" · "</span>
                                    <time>{when}</time>
                                    {seen.then(|| view! { <span class="seen">" · " {app.t(Msg::SeenByVisitor)}</span> })}
                                    {delivery}
                                </div>
                                {detected}
                            </div>
                        }
                    })
                    .collect_view()
                    .into_any()
            }}
            {move || conv.csat.get().map(|c| csat_view(app, c))}
            <Show when=move || conv.visitor_typing.get()>
                <div class="typing" data-testid="visitor-typing">
                    <span class="dots"><i></i><i></i><i></i></span>
                    {move || {
                        let name = conv
                            .record
                            .with(|r| r.as_ref().map(|c| app.contact_name(&c.contact_id)))
                            .unwrap_or_default();
                        app.tf(Msg::VisitorTyping, &[("name", &name)])
                    }}
                </div>
            </Show>
        </div>
    }
}

#[component]
fn Composer(conv: Conv) -> impl IntoView {
    let app = expect_context::<App>();
    let id = conv.id;
    let mode = RwSignal::new(Mode::Reply);
    let draft = RwSignal::new(String::new());
    let sending = RwSignal::new(false);
    let textarea = NodeRef::<html::Textarea>::new();
    // The typing signal: sent when the agent starts, refreshed every 3 s while they type, and
    // withdrawn 5 s after the last key or when the reply goes out.
    let typing_on = StoredValue::new(false);
    let typing_sent = StoredValue::new(0.0f64);
    let idle_timer = StoredValue::new(None::<TimeoutHandle>);
    let send_typing = move |typing: bool| {
        typing_on.set_value(typing);
        typing_sent.set_value(js_sys::Date::now());
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({ "typing": typing });
            let _ = api::post::<()>(&format!("/v1/conversations/{id}/typing"), &body).await;
        });
    };
    let stop_typing = move || {
        if let Some(h) = idle_timer.get_value() {
            h.clear();
        }
        if typing_on.get_value() {
            send_typing(false);
        }
    };
    on_cleanup(move || {
        if let Some(Some(h)) = idle_timer.try_get_value() {
            h.clear();
        }
        if typing_on.try_get_value() == Some(true) {
            leptos::task::spawn_local(async move {
                let body = serde_json::json!({ "typing": false });
                let _ = api::post::<()>(&format!("/v1/conversations/{id}/typing"), &body).await;
            });
        }
    });
    let on_input = move |_| {
        if mode.get_untracked() != Mode::Reply {
            return;
        }
        if !typing_on.get_value() || js_sys::Date::now() - typing_sent.get_value() > 3000.0 {
            send_typing(true);
        }
        if let Some(h) = idle_timer.get_value() {
            h.clear();
        }
        let handle = set_timeout_with_handle(
            move || {
                if typing_on.try_get_value() == Some(true) {
                    send_typing(false);
                }
            },
            std::time::Duration::from_secs(5),
        )
        .ok();
        idle_timer.set_value(handle);
    };
    // On an email conversation a reply may go to more people: Cc and Bcc, typed as
    // comma-separated addresses behind a toggle. A private note copies nobody.
    let by_email = conv
        .record
        .with_untracked(|r| r.as_ref().is_some_and(|c| c.channel == ChannelKind::Email));
    let copies_open = RwSignal::new(false);
    let cc = RwSignal::new(String::new());
    let bcc = RwSignal::new(String::new());
    let copies_error = RwSignal::new(None::<String>);
    let send = move || {
        let body = draft.get_untracked();
        if body.trim().is_empty() || sending.get_untracked() {
            return;
        }
        let private = mode.get_untracked() == Mode::Note;
        let mut payload = serde_json::json!({ "body": body, "private": private });
        let (cc_list, bcc_list) =
            match email::copies(by_email, private, &cc.get_untracked(), &bcc.get_untracked()) {
                Ok(lists) => lists,
                Err(v) => {
                    copies_open.set(true);
                    copies_error.set(Some(v.to_string()));
                    return;
                }
            };
        copies_error.set(None);
        if !cc_list.is_empty() {
            payload["cc"] = serde_json::json!(cc_list);
        }
        if !bcc_list.is_empty() {
            payload["bcc"] = serde_json::json!(bcc_list);
        }
        sending.set(true);
        stop_typing();
        leptos::task::spawn_local(async move {
            let result =
                api::post::<Message>(&format!("/v1/conversations/{id}/messages"), &payload).await;
            sending.try_set(false);
            match result {
                Ok(m) => {
                    let seq = m.seq;
                    app.previews.update(|p| {
                        p.insert(id, Preview::of(&m));
                    });
                    conv.messages.try_update(|t| thread::merge(t, m));
                    draft.try_set(String::new());
                    if !private {
                        cc.try_set(String::new());
                        bcc.try_set(String::new());
                    }
                    mark_seen(app, id, seq);
                }
                Err(e) => app.report(e),
            }
        });
    };
    let focus = move || {
        if let Some(t) = textarea.get_untracked() {
            let _ = t.focus();
        }
    };
    // Canned responses: `/` + letters at the end of the draft opens a list filtered by
    // shortcode and title; arrows pick, Enter or Tab inserts the text rendered for this
    // conversation, Escape closes the list.
    let canned = RwSignal::new(None::<Result<Vec<Value>, String>>);
    let canned_requested = StoredValue::new(false);
    let picked = RwSignal::new(0usize);
    let dismissed = RwSignal::new(None::<String>);
    let inserting = RwSignal::new(false);
    let shortcode = Memo::new(move |_| {
        draft.with(|d| {
            if dismissed.with(|x| x.as_deref() == Some(d.as_str())) {
                return None;
            }
            assist::shortcode_at_end(d).map(|(start, q)| (start, q.to_owned()))
        })
    });
    let matches = Memo::new(move |_| {
        let (_, q) = shortcode.get()?;
        canned.with(|c| match c {
            Some(Ok(list)) => {
                let all: Vec<CannedResponse> =
                    list.iter().filter_map(assist::canned_from).collect();
                Some(Ok(edgedesk_shared::routing::search_canned(&all, &q, 8)
                    .into_iter()
                    .cloned()
                    .collect::<Vec<_>>()))
            }
            Some(Err(e)) => Some(Err(e.clone())),
            None => None,
        })
    });
    Effect::new(move |_| {
        if shortcode.with(Option::is_some) && !canned_requested.get_value() {
            canned_requested.set_value(true);
            leptos::task::spawn_local(async move {
                let result = api::get::<Value>("/v1/canned-responses?limit=1000").await;
                let list = result.map(|v| match v {
                    Value::Object(mut o) => match o.remove("data") {
                        Some(Value::Array(a)) => a,
                        _ => Vec::new(),
                    },
                    _ => Vec::new(),
                });
                canned.try_set(Some(list.map_err(|e| app.error_text(&e))));
            });
        }
    });
    Effect::new(move |_| {
        shortcode.track();
        picked.set(0);
    });
    let choose = move |r: CannedResponse| {
        let Some((start, _)) = shortcode.get_untracked() else {
            return;
        };
        inserting.set(true);
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({ "conversation_id": id.to_string() });
            let result =
                api::post::<Value>(&format!("/v1/canned-responses/{}/render", r.id), &body).await;
            inserting.try_set(false);
            match result {
                Ok(rendered) => {
                    let text = rendered
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    draft.try_update(|d| *d = assist::insert_canned(d, start, text));
                    focus();
                }
                Err(e) => app.report(e),
            }
        });
    };
    let picker_key = move |e: &web_sys::KeyboardEvent| -> bool {
        let Some(Ok(list)) = matches.get_untracked() else {
            return false;
        };
        if list.is_empty() {
            return false;
        }
        match e.key().as_str() {
            "ArrowDown" => picked.update(|i| *i = (*i + 1) % list.len()),
            "ArrowUp" => picked.update(|i| *i = (*i + list.len() - 1) % list.len()),
            "Enter" | "Tab" => {
                let i = picked.get_untracked().min(list.len() - 1);
                choose(list[i].clone());
            }
            "Escape" => dismissed.set(Some(draft.get_untracked())),
            _ => return false,
        }
        e.prevent_default();
        e.stop_propagation();
        true
    };
    app.on_action(move |a| match a {
        Action::Reply => {
            mode.set(Mode::Reply);
            focus();
        }
        Action::Note => {
            mode.set(Mode::Note);
            focus();
        }
        Action::Send => {
            let focused = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
                .zip(textarea.get_untracked())
                .is_some_and(|(a, t)| {
                    let t: &web_sys::Element = &t;
                    a == *t
                });
            if focused {
                send();
            }
        }
        _ => {}
    });
    let tab = move |m: Mode, label: Msg, testid: &'static str| {
        view! {
            <button
                type="button"
                class="composer-tab"
                class:active=move || mode.get() == m
                aria-pressed=move || (mode.get() == m).to_string()
                data-testid=testid
                on:click=move |_| {
                    mode.set(m);
                    focus();
                }
            >
                {app.t(label)}
            </button>
        }
    };
    view! {
        <form
            class="composer"
            class:note=move || mode.get() == Mode::Note
            on:submit=move |e| {
                e.prevent_default();
                send();
            }
        >
            <div class="composer-tabs" role="group">
                {tab(Mode::Reply, Msg::Reply, "mode-reply")}
                {tab(Mode::Note, Msg::Note, "mode-note")}
                <Show when=move || by_email && mode.get() == Mode::Reply>
                    <button
                        type="button"
                        class="composer-tab copies-toggle"
                        class:active=move || copies_open.get()
                        aria-expanded=move || copies_open.get().to_string()
                        aria-controls="composer-copies"
                        data-testid="cc-toggle"
                        on:click=move |_| copies_open.update(|o| *o = !*o)
                    >
                        {app.t(Msg::CcBcc)}
                    </button>
                </Show>
            </div>
            <Show when=move || by_email && mode.get() == Mode::Reply && copies_open.get()>
                <div class="composer-copies" id="composer-copies" data-testid="composer-copies">
                    <label>
                        <span>{app.t(Msg::Cc)}</span>
                        <input type="text" data-testid="composer-cc" placeholder=app.t(Msg::CcHint) bind:value=cc />
                    </label>
                    <label>
                        <span>{app.t(Msg::Bcc)}</span>
                        <input type="text" data-testid="composer-bcc" placeholder=app.t(Msg::CcHint) bind:value=bcc />
                    </label>
                    {move || copies_error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                </div>
            </Show>
            <textarea
                node_ref=textarea
                rows="3"
                data-testid="composer-input"
                aria-label=move || app.t(if mode.get() == Mode::Note { Msg::Note } else { Msg::Reply })
                placeholder=move || {
                    app.t(if mode.get() == Mode::Note { Msg::NotePlaceholder } else { Msg::ReplyPlaceholder })
                }
                bind:value=draft
                on:input=on_input
                aria-autocomplete="list"
                aria-controls="canned-picker"
                aria-expanded=move || matches.with(|m| m.is_some()).to_string()
                on:keydown=move |e: web_sys::KeyboardEvent| {
                    if e.is_composing() || picker_key(&e) {
                        return;
                    }
                    if e.key() == "Enter" && !e.shift_key() && !e.ctrl_key() && !e.meta_key() && !e.is_composing() {
                        e.prevent_default();
                        send();
                    }
                }
            ></textarea>
            {move || {
                if shortcode.with(Option::is_some) && canned.with(Option::is_none) {
                    return Some(note("canned-empty muted", "status", app.t(Msg::Loading).to_owned()));
                }
                matches
                    .get()
                    .map(|m| match m {
                        Err(text) => note("form-error", "alert", text),
                        Ok(list) if list.is_empty() => {
                            note("canned-empty muted", "status", app.t(Msg::CannedNoMatch).to_owned())
                        }
                        Ok(list) => {
                            view! {
                                <ul
                                    class="canned-picker"
                                    id="canned-picker"
                                    role="listbox"
                                    data-testid="canned-picker"
                                    aria-label=app.t(Msg::CannedHeading)
                                    aria-busy=move || inserting.get().to_string()
                                >
                                    {list
                                        .into_iter()
                                        .enumerate()
                                        .map(|(i, r)| {
                                            let chosen = r.clone();
                                            view! {
                                                <li
                                                    role="option"
                                                    class="canned-option"
                                                    class:active=move || picked.get() == i
                                                    aria-selected=move || (picked.get() == i).to_string()
                                                    data-testid="canned-option"
                                                    on:mousedown=move |e| {
                                                        e.prevent_default();
                                                        choose(chosen.clone());
                                                    }
                                                >
                                                    <code>"/" {r.shortcode.clone()}</code>
                                                    <span>{r.title.clone()}</span>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                    })
            }}
            <div class="composer-foot">
                <span class="hint">"r · n · ⌘/Ctrl+Enter"</span>
                <button
                    type="submit"
                    class="button primary"
                    data-testid="send"
                    disabled=move || sending.get() || draft.with(|d| d.trim().is_empty())
                >
                    {Icon::Send.view()}
                    <span>
                        {move || {
                            app.t(
                                match (sending.get(), mode.get()) {
                                    (true, _) => Msg::Sending,
                                    (false, Mode::Reply) => Msg::Send,
                                    (false, Mode::Note) => Msg::AddNote,
                                },
                            )
                        }}
                    </span>
                </button>
            </div>
        </form>
    }
}

#[component]
fn SidePanel(conv: Conv, details_open: RwSignal<bool>) -> impl IntoView {
    let app = expect_context::<App>();
    let contact_id = conv
        .record
        .with_untracked(|r| r.as_ref().map(|c| c.contact_id));
    let contact =
        Memo::new(move |_| contact_id.and_then(|id| app.contacts.with(|c| c.get(&id).cloned())));
    let tickets = RwSignal::new(None::<Vec<Ticket>>);
    let load_tickets = move || {
        let Some(cid) = contact_id else { return };
        leptos::task::spawn_local(async move {
            let path = format!("/v1/tickets?requester_id={cid}&limit=10");
            match api::get::<Page<Ticket>>(&path).await {
                Ok(p) => {
                    tickets.try_set(Some(p.data));
                }
                Err(e) => app.report(e),
            }
        });
    };
    load_tickets();
    // A ticket made from this conversation (or changed elsewhere) shows up here.
    Effect::new(move |_| {
        if let Some(t) = app.ticket_update.get() {
            if t.requester_id == contact_id {
                tickets.update(|list| {
                    let list = list.get_or_insert_with(Vec::new);
                    match list.iter_mut().find(|x| x.id == t.id) {
                        Some(x) => *x = t,
                        None => list.insert(0, t),
                    }
                });
            }
        }
    });
    view! {
        <aside class="side-panel" aria-label=app.t(Msg::Details)>
            <button class="icon-button side-close" aria-label=app.t(Msg::Close) on:click=move |_| details_open.set(false)>
                {Icon::Close.view()}
            </button>
            <section class="side-section">
                <h3>{app.t(Msg::Details)}</h3>
                <ConversationFields conv=conv />
            </section>
            <section class="side-section" data-testid="contact-panel">
                <h3>{app.t(Msg::Contact)}</h3>
                {move || match contact.get() {
                    None => loading(app.t(Msg::ContactLoading)).into_any(),
                    Some(c) => contact_card(app, &c).into_any(),
                }}
            </section>
            <section class="side-section">
                <h3>{app.t(Msg::ContactTickets)}</h3>
                {move || match tickets.get() {
                    None => loading(app.t(Msg::Loading)).into_any(),
                    Some(list) if list.is_empty() => view! { <p class="muted">{app.t(Msg::NoTickets)}</p> }.into_any(),
                    Some(list) => {
                        view! {
                            <ul class="mini-list">
                                {list
                                    .into_iter()
                                    .map(|t| {
                                        view! {
                                            <li>
                                                <a href=Route::Tickets(Some(t.id)).href()>
                                                    <span class="muted">"#" {t.number}</span>
                                                    " "
                                                    {t.subject.clone()}
                                                </a>
                                                {pill(app, "ts", t.status.as_str(), ticket_status_msg(t.status))}
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                }}
            </section>
        </aside>
    }
}

fn contact_card(app: App, c: &Contact) -> impl IntoView {
    let name = contact_label(c).unwrap_or_else(|| app.contact_name(&c.id));
    let row = |label: Msg, value: Option<String>| {
        value.map(|v| {
            view! {
                <dt>{app.t(label)}</dt>
                <dd>{v}</dd>
            }
        })
    };
    let attributes = c
        .attributes
        .iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            view! {
                <dt>{k.clone()}</dt>
                <dd>{text}</dd>
            }
        })
        .collect_view();
    view! {
        <div class="contact-card">
            <div class="contact-name">
                <span class="avatar">{initials(&name)}</span>
                <strong>{name.clone()}</strong>
            </div>
            <dl class="facts">
                {row(Msg::Email, c.email.clone())}
                {row(Msg::Phone, c.phone.clone())}
                {row(Msg::ExternalId, c.external_id.clone())}
                {attributes}
            </dl>
        </div>
    }
}

#[component]
fn ConversationFields(conv: Conv) -> impl IntoView {
    let app = expect_context::<App>();
    let label_draft = RwSignal::new(String::new());
    let team_draft = RwSignal::new(
        conv.record
            .with_untracked(|r| r.as_ref().and_then(|c| c.team.clone()))
            .unwrap_or_default(),
    );
    Effect::new(move |_| {
        let team = conv
            .record
            .with(|r| r.as_ref().and_then(|c| c.team.clone()));
        team_draft.set(team.unwrap_or_default());
    });
    let disabled = !conv.can_work;
    let add_labels = move || {
        let add = split_tags(&label_draft.get_untracked());
        if add.is_empty() {
            return;
        }
        label_draft.set(String::new());
        apply_change(app, conv, ConversationChange::AddLabels(add));
    };
    let agents = move || {
        app.agents.with(|a| {
            a.iter()
                .filter(|a| a.active && a.role != Role::Viewer)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        {move || {
            let Some(c) = conv.record.get() else { return ().into_any() };
            let assignee = c.assignee_id;
            let status = c.status;
            let priority = c.priority;
            let labels = c.labels.clone();
            view! {
                <dl class="fields">
                    <dt>
                        <label for="f-assignee">{app.t(Msg::AssignTo)}</label>
                    </dt>
                    <dd>
                        <select
                            id="f-assignee"
                            data-testid="assignee-select"
                            disabled=disabled
                            on:change=move |e| {
                                let v = event_target_value(&e);
                                apply_change(app, conv, ConversationChange::Assign(v.parse().ok()));
                            }
                        >
                            <option value="" selected=assignee.is_none()>
                                {app.t(Msg::Unassigned)}
                            </option>
                            {agents()
                                .into_iter()
                                .map(|a| {
                                    view! {
                                        <option value=a.id.to_string() selected=assignee == Some(a.id)>
                                            {a.name.clone()}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                    </dd>
                    <dt>
                        <label for="f-team">{app.t(Msg::Team)}</label>
                    </dt>
                    <dd>
                        <input
                            id="f-team"
                            data-testid="team-input"
                            placeholder=app.t(Msg::NoTeam)
                            disabled=disabled
                            list="known-teams-side"
                            bind:value=team_draft
                            on:change=move |_| {
                                let t = team_draft.get_untracked();
                                apply_change(app, conv, ConversationChange::Team(Some(t)));
                            }
                        />
                        <datalist id="known-teams-side">
                            {app
                                .conversations
                                .with_untracked(|l| {
                                    let mut t: Vec<String> = l.iter().filter_map(|c| c.team.clone()).collect();
                                    t.sort();
                                    t.dedup();
                                    t
                                })
                                .into_iter()
                                .map(|t| view! { <option value=t></option> })
                                .collect_view()}
                        </datalist>
                    </dd>
                    <dt>
                        <label for="f-status">{app.t(Msg::Status)}</label>
                    </dt>
                    <dd>
                        <select
                            id="f-status"
                            data-testid="status-select"
                            disabled=disabled
                            on:change=move |e| {
                                if let Some(s) = ConversationStatus::parse(&event_target_value(&e)) {
                                    apply_change(app, conv, ConversationChange::Status(s));
                                }
                            }
                        >
                            {[ConversationStatus::Open, ConversationStatus::Pending, ConversationStatus::Resolved]
                                .into_iter()
                                .map(|s| {
                                    view! {
                                        <option value=s.as_str() selected=status == s>
                                            {app.t(conversation_status_msg(s))}
                                        </option>
                                    }
                                })
                                .collect_view()}
                            {(status == ConversationStatus::Snoozed)
                                .then(|| {
                                    view! {
                                        <option value="snoozed" selected=true disabled=true>
                                            {app.t(Msg::StatusSnoozed)}
                                        </option>
                                    }
                                })}
                        </select>
                    </dd>
                    <dt>
                        <label for="f-priority">{app.t(Msg::Priority)}</label>
                    </dt>
                    <dd>
                        <select
                            id="f-priority"
                            disabled=disabled
                            on:change=move |e| {
                                if let Some(p) = Priority::parse(&event_target_value(&e)) {
                                    apply_change(app, conv, ConversationChange::Priority(p));
                                }
                            }
                        >
                            {Priority::ALL
                                .iter()
                                .map(|p| {
                                    view! {
                                        <option value=p.as_str() selected=priority == *p>
                                            {app.t(priority_msg(*p))}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                    </dd>
                    <dt>{app.t(Msg::Labels)}</dt>
                    <dd>
                        <div class="chips" data-testid="labels">
                            {labels
                                .iter()
                                .map(|l| {
                                    let gone = l.clone();
                                    view! {
                                        <span class="chip">
                                            {l.clone()}
                                            {(!disabled)
                                                .then(|| {
                                                    view! {
                                                        <button
                                                            class="chip-x"
                                                            aria-label=app.tf(Msg::RemoveLabel, &[("label", l)])
                                                            on:click=move |_| {
                                                                apply_change(app, conv, ConversationChange::RemoveLabel(gone.clone()))
                                                            }
                                                        >
                                                            "×"
                                                        </button>
                                                    }
                                                })}
                                        </span>
                                    }
                                })
                                .collect_view()}
                        </div>
                        {(!disabled)
                            .then(|| {
                                view! {
                                    <form
                                        class="inline-form"
                                        on:submit=move |e| {
                                            e.prevent_default();
                                            add_labels();
                                        }
                                    >
                                        <input
                                            data-testid="label-input"
                                            placeholder=app.t(Msg::AddLabel)
                                            title=app.t(Msg::LabelHint)
                                            bind:value=label_draft
                                        />
                                        <button type="submit" class="icon-button" aria-label=app.t(Msg::AddLabel)>
                                            {Icon::Plus.view()}
                                        </button>
                                    </form>
                                }
                            })}
                    </dd>
                    <dt>{app.t(Msg::Channel)}</dt>
                    <dd>{c.channel.as_str().to_owned()}</dd>
                    <dt>{app.t(Msg::Started)}</dt>
                    <dd>{format_local(c.created_at, app)}</dd>
                </dl>
            }
                .into_any()
        }}
    }
}

#[component]
fn ConvertToTicket(conv: Conv, open: RwSignal<bool>) -> impl IntoView {
    let app = expect_context::<App>();
    let subject = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // Fill the form from the conversation each time it opens.
    Effect::new(move |_| {
        if open.get() {
            let subj = conv
                .record
                .with_untracked(|r| r.as_ref().and_then(|c| c.subject.clone()));
            let (s, d) = conv.messages.with_untracked(|t| {
                thread::ticket_draft(subj.as_deref(), t, |m| sender_name(app, m))
            });
            subject.set(s);
            description.set(d);
            error.set(None);
        }
    });
    let create = move || {
        let Some(c) = conv.record.get_untracked() else {
            return;
        };
        let body = serde_json::json!({
            "subject": subject.get_untracked().trim(),
            "description": description.get_untracked(),
            "requester_id": c.contact_id,
            "conversation_id": c.id,
        });
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::post::<Ticket>("/v1/tickets", &body).await;
            busy.try_set(false);
            match result {
                Ok(t) => {
                    open.try_set(false);
                    app.toast(
                        false,
                        app.tf(Msg::TicketCreated, &[("n", &t.number.to_string())]),
                    );
                    app.ticket_update.set(Some(t));
                }
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => {
                    error.try_set(Some(app.error_text(&e)));
                }
            }
        });
    };
    view! {
        <Modal title=app.t(Msg::ConvertToTicket) open=open>
            <form
                class="form"
                on:submit=move |e| {
                    e.prevent_default();
                    create();
                }
            >
                <label>
                    <span>{app.t(Msg::Subject)}</span>
                    <input required data-testid="ticket-subject" bind:value=subject />
                </label>
                <label>
                    <span>{app.t(Msg::Description)}</span>
                    <textarea rows="8" bind:value=description></textarea>
                </label>
                {move || error.get().map(|e| view! { <p class="form-error">{e}</p> })}
                <div class="form-actions">
                    <button type="button" class="button ghost" on:click=move |_| open.set(false)>
                        {app.t(Msg::Cancel)}
                    </button>
                    <button type="submit" class="button primary" data-testid="create-ticket" disabled=move || busy.get()>
                        {app.t(Msg::CreateTicket)}
                    </button>
                </div>
            </form>
        </Modal>
    }
}
