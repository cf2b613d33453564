//! The inbox page: filters and order (last activity or SLA due), the live conversation list
//! with unread counts and SLA clocks, and the open conversation beside it (on narrow screens,
//! one or the other).

use edgedesk_shared::model::{Conversation, ConversationStatus, SenderKind};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::i18n::Msg;
use crate::inbox::{self, Filter, View};
use crate::route::Route;
use crate::shortcuts::Action;
use crate::sla::{ListSort, StateFilter};
use crate::time;
use crate::ui::app::{load_inbox, tick_every_minute};
use crate::ui::common::{conversation_status_msg, empty, failed, loading, pill, Icon};
use crate::ui::conversation::ConversationView;
use crate::ui::sla::SlaBadge;
use crate::ui::state::{initials, utc_offset_minutes, App, ListStatus, LiveStatus};

const STATUSES: [ConversationStatus; 4] = [
    ConversationStatus::Open,
    ConversationStatus::Pending,
    ConversationStatus::Snoozed,
    ConversationStatus::Resolved,
];

#[component]
pub fn InboxPage() -> impl IntoView {
    let app = expect_context::<App>();
    let selected = Memo::new(move |_| match app.route.get() {
        Route::Inbox(id) => id,
        _ => None,
    });
    let cursor = RwSignal::new(None::<usize>);
    app.on_action(move |a| {
        let len = app.conversations.with_untracked(Vec::len);
        if len == 0 {
            return;
        }
        let current = cursor.get_untracked().or_else(|| {
            let sel = selected.get_untracked()?;
            app.conversations
                .with_untracked(|l| l.iter().position(|c| c.id == sel))
        });
        match a {
            Action::Next => cursor.set(Some(current.map_or(0, |i| (i + 1).min(len - 1)))),
            Action::Prev => cursor.set(Some(current.map_or(0, |i| i.saturating_sub(1)))),
            Action::Open => {
                let id = app
                    .conversations
                    .with_untracked(|l| current.and_then(|i| l.get(i)).map(|c| c.id));
                if let Some(id) = id {
                    app.navigate(Route::Inbox(Some(id)));
                }
            }
            _ => return,
        }
        scroll_cursor_into_view();
    });
    view! {
        <div class="inbox" class:has-selection=move || selected.get().is_some()>
            <section class="list-pane" aria-label=app.t(Msg::ConversationsHeading)>
                <header class="pane-head">
                    <h1>{app.t(Msg::ConversationsHeading)}</h1>
                    <span
                        class="live-dot"
                        class:on=move || app.live.get() == LiveStatus::Live
                        title=move || {
                            app.t(
                                if app.live.get() == LiveStatus::Live {
                                    Msg::Live
                                } else {
                                    Msg::Reconnecting
                                },
                            )
                        }
                    >
                        {move || {
                            app.t(
                                if app.live.get() == LiveStatus::Live {
                                    Msg::Live
                                } else {
                                    Msg::Reconnecting
                                },
                            )
                        }}
                    </span>
                </header>
                <Filters />
                <ConversationList selected=selected cursor=cursor />
            </section>
            <section class="conv-pane">
                {move || match selected.get() {
                    Some(id) => view! { <ConversationView id=id /> }.into_any(),
                    None => {
                        view! {
                            <div class="conv-placeholder">
                                {empty(Icon::Inbox, app.t(Msg::SelectConversation).to_owned())}
                            </div>
                        }
                            .into_any()
                    }
                }}
            </section>
        </div>
    }
}

fn scroll_cursor_into_view() {
    // After the re-render that moves the highlight.
    leptos::prelude::request_animation_frame(|| {
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(".list .row.cursor").ok().flatten())
        {
            el.scroll_into_view_with_bool(false);
            if let Ok(h) = el.dyn_into::<web_sys::HtmlElement>() {
                let _ = h.focus();
            }
        }
    });
}

#[component]
fn Filters() -> impl IntoView {
    let app = expect_context::<App>();
    let filter = app.filter;
    let team_draft = RwSignal::new(match filter.get_untracked().view {
        View::Team(t) => t,
        _ => String::new(),
    });
    let set_view = move |view: View| {
        let f = filter.get_untracked();
        app.set_filter(Filter { view, ..f });
    };
    let tab = move |label: Msg, view: View, testid: &'static str| {
        let v2 = view.clone();
        let is = move || {
            let current = filter.get().view;
            std::mem::discriminant(&current) == std::mem::discriminant(&v2)
        };
        view! {
            <button
                class="seg"
                class:active=is.clone()
                aria-pressed=move || is().to_string()
                data-testid=testid
                on:click=move |_| set_view(view.clone())
            >
                {app.t(label)}
            </button>
        }
    };
    let teams = Memo::new(move |_| {
        app.conversations.with(|l| {
            let mut t: Vec<String> = l.iter().filter_map(|c| c.team.clone()).collect();
            t.sort();
            t.dedup();
            t
        })
    });
    view! {
        <div class="filters">
            <div class="segmented" role="group">
                {tab(Msg::InboxMine, View::Mine, "filter-mine")}
                {tab(Msg::InboxUnassigned, View::Unassigned, "filter-unassigned")}
                {tab(Msg::InboxTeam, View::Team(team_draft.get_untracked()), "filter-team")}
                {tab(Msg::InboxAll, View::All, "filter-all")}
            </div>
            <div class="filter-row">
                <Show when=move || matches!(filter.get().view, View::Team(_))>
                    <input
                        class="team-input"
                        list="known-teams"
                        placeholder=app.t(Msg::TeamName)
                        aria-label=app.t(Msg::TeamName)
                        bind:value=team_draft
                        on:change=move |_| set_view(View::Team(team_draft.get_untracked().trim().to_owned()))
                    />
                    <datalist id="known-teams">
                        {move || {
                            teams.get().into_iter().map(|t| view! { <option value=t></option> }).collect_view()
                        }}
                    </datalist>
                </Show>
                <select
                    aria-label=app.t(Msg::Status)
                    data-testid="filter-status"
                    on:change=move |e| {
                        let status = ConversationStatus::parse(&event_target_value(&e));
                        let f = filter.get_untracked();
                        app.set_filter(Filter { status, ..f });
                    }
                >
                    <option value="" selected=filter.get_untracked().status.is_none()>
                        {app.t(Msg::StatusAny)}
                    </option>
                    {STATUSES
                        .into_iter()
                        .map(|s| {
                            view! {
                                <option value=s.as_str() selected=filter.get_untracked().status == Some(s)>
                                    {app.t(conversation_status_msg(s))}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <select
                    aria-label=app.t(Msg::SortBy)
                    data-testid="filter-sort"
                    on:change=move |e| {
                        let sort = ListSort::parse(&event_target_value(&e));
                        let f = filter.get_untracked();
                        app.set_filter(Filter { sort, ..f });
                    }
                >
                    <option value="" selected=filter.get_untracked().sort == ListSort::Default>
                        {app.t(Msg::SortActivity)}
                    </option>
                    <option value="sla_due" selected=filter.get_untracked().sort == ListSort::SlaDue>
                        {app.t(Msg::SortSlaDue)}
                    </option>
                </select>
                <select
                    aria-label=app.t(Msg::SlaHeading)
                    data-testid="filter-sla"
                    on:change=move |e| {
                        let sla = StateFilter::parse(&event_target_value(&e));
                        let f = filter.get_untracked();
                        app.set_filter(Filter { sla, ..f });
                    }
                >
                    <option value="" selected=filter.get_untracked().sla.is_none()>{app.t(Msg::SlaAny)}</option>
                    {[(StateFilter::Breached, Msg::SlaOnlyBreached), (StateFilter::Warning, Msg::SlaOnlyWarning)]
                        .into_iter()
                        .map(|(f, msg)| {
                            view! {
                                <option value=f.as_str() selected=filter.get_untracked().sla == Some(f)>
                                    {app.t(msg)}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
        </div>
    }
}

fn empty_text(app: App, f: &Filter) -> String {
    let msg = match (&f.view, f.status) {
        _ if f.server_ordered() => Msg::SlaSortedEmpty,
        (View::Mine, _) => Msg::InboxEmptyMine,
        (View::Unassigned, _) => Msg::InboxEmptyUnassigned,
        (View::Team(_), _) => Msg::InboxEmptyTeam,
        (View::All, None | Some(ConversationStatus::Open)) => Msg::InboxEmptyAll,
        (View::All, Some(_)) => Msg::InboxEmptyStatus,
    };
    app.t(msg).to_owned()
}

#[component]
fn ConversationList(
    selected: Memo<Option<edgedesk_shared::ids::ConversationId>>,
    cursor: RwSignal<Option<usize>>,
) -> impl IntoView {
    let app = expect_context::<App>();
    let clock = tick_every_minute();
    let retry = move || leptos::task::spawn_local(async move { load_inbox(app, false).await });
    // In SLA order the server places changed and new conversations: ask it again on each
    // live change.
    let seen_update = app.conversation_update.get_untracked();
    Effect::new(move |_| {
        let Some(c) = app.conversation_update.get() else {
            return;
        };
        if seen_update.as_ref() != Some(&c) && app.filter.with_untracked(Filter::server_ordered) {
            retry();
        }
    });
    let more = move |_| leptos::task::spawn_local(async move { load_inbox(app, true).await });
    view! {
        <div class="list" role="list" data-testid="conversation-list">
            {move || {
                let status = app.inbox_status.get();
                let empty_list = app.conversations.with(Vec::is_empty);
                match status {
                    ListStatus::Loading if empty_list => loading(app.t(Msg::InboxLoading)).into_any(),
                    ListStatus::Failed(text) => {
                        failed(app, app.tf(Msg::InboxError, &[("message", &text)]), retry).into_any()
                    }
                    _ if empty_list => {
                        empty(Icon::Inbox, app.filter.with(|f| empty_text(app, f))).into_any()
                    }
                    status => {
                        let now = clock.get();
                        let rows = app
                            .conversations
                            .get()
                            .into_iter()
                            .enumerate()
                            .map(|(i, c)| row(app, c, now, clock, i, selected, cursor))
                            .collect_view();
                        let has_more = matches!(status, ListStatus::Loaded { next_cursor: Some(_) });
                        view! {
                            {rows}
                            {has_more
                                .then(|| {
                                    view! {
                                        <button class="button ghost load-more" on:click=more>
                                            {app.t(Msg::LoadMore)}
                                        </button>
                                    }
                                })}
                        }
                            .into_any()
                    }
                }
            }}
        </div>
    }
}

fn row(
    app: App,
    c: Conversation,
    now: chrono::DateTime<chrono::Utc>,
    clock: RwSignal<chrono::DateTime<chrono::Utc>>,
    index: usize,
    selected: Memo<Option<edgedesk_shared::ids::ConversationId>>,
    cursor: RwSignal<Option<usize>>,
) -> impl IntoView {
    let name = app.contact_name(&c.contact_id);
    let seen = app.seen.with(|s| s.get(&c.id));
    let unread = inbox::unread(&c, seen);
    let preview = app.previews.with(|p| p.get(&c.id).cloned());
    let (prefix, line) = match (&preview, &c.subject) {
        (Some(p), _) => {
            let prefix = if p.private {
                format!("{}: ", app.t(Msg::NoteBadge))
            } else if p.from == SenderKind::Agent {
                format!("{}: ", app.t(Msg::You))
            } else {
                String::new()
            };
            (prefix, p.body.clone())
        }
        (None, Some(s)) => (String::new(), s.clone()),
        (None, None) if c.last_message_seq == 0 => {
            (String::new(), app.t(Msg::NoMessagesYet).to_owned())
        }
        (None, None) => (String::new(), String::new()),
    };
    let when = time::ago(
        now,
        inbox::activity(&c),
        app.locale.get_untracked(),
        utc_offset_minutes(),
    );
    let show_status = app.filter.with(|f| f.status.is_none());
    let assignee = c.assignee_id.map(|a| app.agent_name(&a));
    let id = c.id;
    let sla_path = format!("/v1/conversations/{id}/sla");
    let version = c.version;
    let is_active = move || selected.get() == Some(id);
    let is_cursor = move || cursor.get() == Some(index);
    view! {
        <a
            class="row"
            class:active=is_active
            class:cursor=is_cursor
            class:unread={unread > 0}
            href=Route::Inbox(Some(id)).href()
            data-testid="conversation-row"
            data-id=id.to_string()
            on:click=move |_| cursor.set(Some(index))
        >
            <span class="avatar">{initials(&name)}</span>
            <div class="row-main">
                <div class="row-top">
                    <span class="row-name">{name.clone()}</span>
                    <span class="row-time">{when}</span>
                </div>
                <div class="row-preview">
                    <span class="row-prefix">{prefix}</span>
                    {line}
                </div>
                <div class="row-meta">
                    {show_status.then(|| pill(app, "cs", c.status.as_str(), conversation_status_msg(c.status)))}
                    <SlaBadge path=sla_path version=version clock=clock />
                    {assignee.map(|a| view! { <span class="meta-assignee">{a}</span> })}
                    {c.team.clone().map(|t| view! { <span class="chip team">{t}</span> })}
                    {c.labels.iter().take(3).map(|l| view! { <span class="chip">{l.clone()}</span> }).collect_view()}
                    <span class="spacer"></span>
                    {(unread > 0)
                        .then(|| {
                            view! {
                                <span
                                    class="unread-badge"
                                    data-testid="unread-badge"
                                    title=app.tf(Msg::UnreadCount, &[("n", &unread.to_string())])
                                >
                                    {unread}
                                </span>
                            }
                        })}
                </div>
            </div>
        </a>
    }
}
