//! Building blocks shared by the pages: icons, notifications, dialogs, status pills and the
//! loading, empty and error states.

use edgedesk_shared::model::{ConversationStatus, Priority, TicketStatus};
use leptos::prelude::*;

use crate::i18n::Msg;
use crate::ui::state::App;

/// The console's icons (24×24 outline strokes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    Inbox,
    Ticket,
    Settings,
    Keyboard,
    SignOut,
    Close,
    Send,
    Check,
    Clock,
    Back,
    Panel,
    Plus,
    Copy,
    Search,
    Lock,
}

impl Icon {
    fn paths(self) -> &'static [&'static str] {
        match self {
            Icon::Inbox => &[
                "M22 12h-6l-2 3h-4l-2-3H2",
                "M5.45 5.11 2 12v6a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2v-6l-3.45-6.89A2 2 0 0 0 16.76 4H7.24a2 2 0 0 0-1.79 1.11z",
            ],
            Icon::Ticket => &[
                "M3 7a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2v3a2 2 0 0 0 0 4v3a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-3a2 2 0 0 0 0-4z",
                "M13 5v2",
                "M13 11v2",
                "M13 17v2",
            ],
            Icon::Settings => &[
                "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z",
                "M19.4 15a1.65 1.65 0 0 0 .33 1.82l.06.06a2 2 0 1 1-2.83 2.83l-.06-.06a1.65 1.65 0 0 0-1.82-.33 1.65 1.65 0 0 0-1 1.51V21a2 2 0 1 1-4 0v-.09A1.65 1.65 0 0 0 9 19.4a1.65 1.65 0 0 0-1.82.33l-.06.06a2 2 0 1 1-2.83-2.83l.06-.06A1.65 1.65 0 0 0 4.68 15a1.65 1.65 0 0 0-1.51-1H3a2 2 0 1 1 0-4h.09A1.65 1.65 0 0 0 4.6 9a1.65 1.65 0 0 0-.33-1.82l-.06-.06a2 2 0 1 1 2.83-2.83l.06.06A1.65 1.65 0 0 0 9 4.68a1.65 1.65 0 0 0 1-1.51V3a2 2 0 1 1 4 0v.09a1.65 1.65 0 0 0 1 1.51 1.65 1.65 0 0 0 1.82-.33l.06-.06a2 2 0 1 1 2.83 2.83l-.06.06A1.65 1.65 0 0 0 19.4 9a1.65 1.65 0 0 0 1.51 1H21a2 2 0 1 1 0 4h-.09a1.65 1.65 0 0 0-1.51 1z",
            ],
            Icon::Keyboard => &[
                "M4 6h16a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2z",
                "M6 10h.01M10 10h.01M14 10h.01M18 10h.01M7 14h10",
            ],
            Icon::SignOut => &[
                "M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4",
                "M16 17l5-5-5-5",
                "M21 12H9",
            ],
            Icon::Close => &["M18 6 6 18", "M6 6l12 12"],
            Icon::Send => &["M22 2 11 13", "M22 2 15 22l-4-9-9-4z"],
            Icon::Check => &["M20 6 9 17l-5-5"],
            Icon::Clock => &["M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z", "M12 6v6l4 2"],
            Icon::Back => &["M15 18l-6-6 6-6"],
            Icon::Panel => &[
                "M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z",
                "M15 3v18",
            ],
            Icon::Plus => &["M12 5v14", "M5 12h14"],
            Icon::Copy => &[
                "M9 9h11a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-9a2 2 0 0 1-2-2z",
                "M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1",
            ],
            Icon::Search => &["M11 19a8 8 0 1 0 0-16 8 8 0 0 0 0 16z", "M21 21l-4.35-4.35"],
            Icon::Lock => &[
                "M5 11h14a2 2 0 0 1 2 2v7a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2z",
                "M7 11V7a5 5 0 0 1 10 0v4",
            ],
        }
    }

    pub fn view(self) -> impl IntoView {
        view! {
            <svg
                class="icon"
                viewBox="0 0 24 24"
                fill="none"
                stroke="currentColor"
                stroke-width="2"
                stroke-linecap="round"
                stroke-linejoin="round"
                aria-hidden="true"
            >
                {self.paths().iter().map(|d| view! { <path d=*d></path> }).collect_view()}
            </svg>
        }
    }
}

/// The notifications in the corner.
#[component]
pub fn Toasts() -> impl IntoView {
    let app = expect_context::<App>();
    view! {
        <div class="toasts" aria-live="polite">
            <For each=move || app.toasts.get() key=|t| t.id let:toast>
                <div class="toast" class:error=toast.error role=if toast.error { "alert" } else { "status" }>
                    <span>{toast.text.clone()}</span>
                    <button
                        class="icon-button"
                        aria-label=app.t(Msg::Close)
                        on:click=move |_| app.toasts.update(|t| t.retain(|x| x.id != toast.id))
                    >
                        {Icon::Close.view()}
                    </button>
                </div>
            </For>
        </div>
    }
}

/// A centred message with a spinner.
pub fn loading(text: &'static str) -> impl IntoView {
    view! {
        <div class="state loading" role="status">
            <div class="spinner"></div>
            <p>{text}</p>
        </div>
    }
}

/// An empty state: what is (not) here and what to do about it.
pub fn empty(icon: Icon, text: String) -> impl IntoView {
    view! {
        <div class="state empty">
            <div class="state-icon">{icon.view()}</div>
            <p>{text}</p>
        </div>
    }
}

/// An error state with a retry button.
pub fn failed(app: App, text: String, retry: impl Fn() + 'static) -> impl IntoView {
    view! {
        <div class="state error" role="alert">
            <p>{text}</p>
            <button class="button" on:click=move |_| retry()>
                {app.t(Msg::Retry)}
            </button>
        </div>
    }
}

pub fn conversation_status_msg(s: ConversationStatus) -> Msg {
    match s {
        ConversationStatus::Open => Msg::StatusOpen,
        ConversationStatus::Pending => Msg::StatusPending,
        ConversationStatus::Snoozed => Msg::StatusSnoozed,
        ConversationStatus::Resolved => Msg::StatusResolved,
    }
}

pub fn ticket_status_msg(s: TicketStatus) -> Msg {
    match s {
        TicketStatus::New => Msg::TicketStatusNew,
        TicketStatus::Open => Msg::TicketStatusOpen,
        TicketStatus::Pending => Msg::TicketStatusPending,
        TicketStatus::OnHold => Msg::TicketStatusOnHold,
        TicketStatus::Solved => Msg::TicketStatusSolved,
        TicketStatus::Closed => Msg::TicketStatusClosed,
    }
}

pub fn priority_msg(p: Priority) -> Msg {
    match p {
        Priority::Urgent => Msg::PriorityUrgent,
        Priority::High => Msg::PriorityHigh,
        Priority::Normal => Msg::PriorityNormal,
        Priority::Low => Msg::PriorityLow,
    }
}

/// A coloured pill naming a status (the class carries the wire name for styling).
pub fn pill(app: App, kind: &'static str, wire: &'static str, msg: Msg) -> impl IntoView {
    view! { <span class=format!("pill {kind}-{wire}")>{app.t(msg)}</span> }
}

/// A dialog over the page; clicking outside or pressing Escape closes it.
#[component]
pub fn Modal(
    #[prop(into)] title: String,
    open: RwSignal<bool>,
    children: ChildrenFn,
) -> impl IntoView {
    let app = expect_context::<App>();
    app.on_action(move |a| {
        if a == crate::shortcuts::Action::Escape {
            open.set(false);
        }
    });
    let title = StoredValue::new(title);
    let children = StoredValue::new(children);
    view! {
        <Show when=move || open.get()>
            <div class="overlay" on:click=move |_| open.set(false)>
                <div
                    class="dialog"
                    role="dialog"
                    aria-modal="true"
                    aria-label=title.get_value()
                    on:click=|e| e.stop_propagation()
                >
                    <header class="dialog-head">
                        <h2>{title.get_value()}</h2>
                        <button class="icon-button" aria-label=app.t(Msg::Close) on:click=move |_| open.set(false)>
                            {Icon::Close.view()}
                        </button>
                    </header>
                    {children.with_value(|c| c())}
                </div>
            </div>
        </Show>
    }
}

/// A read-only text with a copy button (keys, secrets, links, snippets).
pub fn copy_field(app: App, value: String, testid: &'static str) -> impl IntoView {
    let v = value.clone();
    view! {
        <div class="copy-field">
            <code data-testid=testid>{value}</code>
            <button
                class="button ghost"
                on:click=move |_| crate::ui::state::copy_to_clipboard(app, v.clone())
            >
                {Icon::Copy.view()}
                <span>{app.t(Msg::Copy)}</span>
            </button>
        </div>
    }
}
