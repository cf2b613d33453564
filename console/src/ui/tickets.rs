//! The tickets page: a filtered, searchable list that follows live changes, and a ticket's
//! detail with editable fields and its timeline of events.

use edgedesk_shared::ids::{AgentId, TicketId};
use edgedesk_shared::model::{ActorKind, Event, Priority, Role, Ticket, TicketStatus};
use edgedesk_shared::rbac::Permission;
use leptos::html;
use leptos::prelude::*;

use crate::api::{self, ApiError, Page};
use crate::changes::{field_changes, split_tags, ticket_matches, TicketForm};
use crate::i18n::Msg;
use crate::route::Route;
use crate::shortcuts::Action;
use crate::time;
use crate::ui::app::tick_every_minute;
use crate::ui::common::{empty, failed, loading, pill, priority_msg, ticket_status_msg, Icon};
use crate::ui::state::{utc_offset_minutes, App, ListStatus};

const STATUSES: [TicketStatus; 6] = [
    TicketStatus::New,
    TicketStatus::Open,
    TicketStatus::Pending,
    TicketStatus::OnHold,
    TicketStatus::Solved,
    TicketStatus::Closed,
];

/// The server-side filters of the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TicketFilter {
    status: Option<TicketStatus>,
    priority: Option<Priority>,
    /// `none` or an agent id.
    assignee: Option<String>,
}

impl TicketFilter {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(s) = self.status {
            q.push(("status", s.as_str().to_owned()));
        }
        if let Some(p) = self.priority {
            q.push(("priority", p.as_str().to_owned()));
        }
        if let Some(a) = &self.assignee {
            q.push(("assignee", a.clone()));
        }
        q
    }

    fn matches(&self, t: &Ticket) -> bool {
        self.status.is_none_or(|s| t.status == s)
            && self.priority.is_none_or(|p| t.priority == p)
            && match self.assignee.as_deref() {
                None => true,
                Some("none") => t.assignee_id.is_none(),
                Some(a) => t.assignee_id.map(|x| x.to_string()).as_deref() == Some(a),
            }
    }
}

#[component]
pub fn TicketsPage() -> impl IntoView {
    let app = expect_context::<App>();
    let selected = Memo::new(move |_| match app.route.get() {
        Route::Tickets(id) => id,
        _ => None,
    });
    let filter = RwSignal::new(TicketFilter::default());
    let search = RwSignal::new(String::new());
    let tickets = RwSignal::new(Vec::<Ticket>::new());
    let status = RwSignal::new(ListStatus::Loading);
    let cursor = RwSignal::new(None::<usize>);
    let search_box = NodeRef::<html::Input>::new();

    let load = move |more: bool| {
        let f = filter.get_untracked();
        let mut q = f.query();
        q.push(("limit", "100".to_owned()));
        if more {
            match status.get_untracked() {
                ListStatus::Loaded {
                    next_cursor: Some(c),
                } => q.push(("cursor", c)),
                _ => return,
            }
        } else {
            status.set(ListStatus::Loading);
            tickets.set(Vec::new());
        }
        leptos::task::spawn_local(async move {
            let result = api::get::<Page<Ticket>>(&api::with_query("/v1/tickets", &q)).await;
            if filter.try_get_untracked() != Some(f) {
                return;
            }
            match result {
                Ok(page) => {
                    // A live update may have put a ticket of this page in the list already.
                    tickets.update(|list| {
                        for t in page.data {
                            match list.iter().position(|x| x.id == t.id) {
                                Some(i) if list[i].version < t.version => list[i] = t,
                                Some(_) => {}
                                None => list.push(t),
                            }
                        }
                    });
                    status.set(ListStatus::Loaded {
                        next_cursor: page.next_cursor,
                    });
                }
                Err(ApiError::Unauthorized(_)) => app.session_ended(),
                Err(e) => status.set(ListStatus::Failed(app.error_text(&e))),
            }
        });
    };
    Effect::new(move |_| {
        filter.track();
        load(false);
    });
    // Live changes from now on (the list loads the current state): update or add what
    // matches, drop what no longer does.
    let seen_update = app.ticket_update.get_untracked();
    Effect::new(move |_| {
        let Some(t) = app.ticket_update.get() else {
            return;
        };
        if seen_update.as_ref() == Some(&t) {
            return;
        }
        let f = filter.get_untracked();
        tickets.update(|list| {
            let pos = list.iter().position(|x| x.id == t.id);
            match (pos, f.matches(&t)) {
                (Some(i), true) if list[i].version <= t.version => list[i] = t,
                (Some(i), false) => {
                    list.remove(i);
                }
                (None, true) => list.insert(0, t),
                _ => {}
            }
        });
    });
    let visible = Memo::new(move |_| {
        let q = search.get();
        tickets.with(|l| {
            l.iter()
                .filter(|t| ticket_matches(t, &q))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    app.on_action(move |a| {
        let len = visible.with_untracked(Vec::len);
        match a {
            Action::Search => {
                if let Some(i) = search_box.get_untracked() {
                    let _ = i.focus();
                }
            }
            Action::Next if len > 0 => {
                cursor.update(|c| *c = Some(c.map_or(0, |i| (i + 1).min(len - 1))))
            }
            Action::Prev if len > 0 => {
                cursor.update(|c| *c = Some(c.map_or(0, |i| i.saturating_sub(1))))
            }
            Action::Open => {
                let id = cursor
                    .get_untracked()
                    .and_then(|i| visible.with_untracked(|v| v.get(i).map(|t| t.id)));
                if let Some(id) = id {
                    app.navigate(Route::Tickets(Some(id)));
                }
            }
            _ => {}
        }
    });
    let clock = tick_every_minute();
    let agents = move || {
        app.agents.with(|a| {
            a.iter()
                .filter(|a| a.role != Role::Viewer)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let me = app.me_id().map(|m| m.to_string()).unwrap_or_default();
    view! {
        <div class="tickets" class:has-selection=move || selected.get().is_some()>
            <section class="list-pane" aria-label=app.t(Msg::TicketsHeading)>
                <header class="pane-head">
                    <h1>{app.t(Msg::TicketsHeading)}</h1>
                </header>
                <div class="filters">
                    <label class="search">
                        {Icon::Search.view()}
                        <input
                            type="search"
                            node_ref=search_box
                            placeholder=app.t(Msg::SearchTickets)
                            aria-label=app.t(Msg::SearchTickets)
                            data-testid="ticket-search"
                            bind:value=search
                        />
                    </label>
                    <div class="filter-row">
                        <select
                            aria-label=app.t(Msg::Status)
                            on:change=move |e| {
                                let s = TicketStatus::parse(&event_target_value(&e));
                                filter.update(|f| f.status = s);
                            }
                        >
                            <option value="">{app.t(Msg::StatusAny)}</option>
                            {STATUSES
                                .into_iter()
                                .map(|s| view! { <option value=s.as_str()>{app.t(ticket_status_msg(s))}</option> })
                                .collect_view()}
                        </select>
                        <select
                            aria-label=app.t(Msg::Priority)
                            on:change=move |e| {
                                let p = Priority::parse(&event_target_value(&e));
                                filter.update(|f| f.priority = p);
                            }
                        >
                            <option value="">{app.t(Msg::AnyPriority)}</option>
                            {Priority::ALL
                                .iter()
                                .map(|p| view! { <option value=p.as_str()>{app.t(priority_msg(*p))}</option> })
                                .collect_view()}
                        </select>
                        <select
                            aria-label=app.t(Msg::AssignTo)
                            on:change=move |e| {
                                let v = event_target_value(&e);
                                filter.update(|f| f.assignee = (!v.is_empty()).then_some(v));
                            }
                        >
                            <option value="">{app.t(Msg::AnyAssignee)}</option>
                            <option value=me.clone()>{app.t(Msg::InboxMine)}</option>
                            <option value="none">{app.t(Msg::Unassigned)}</option>
                            {move || {
                                agents()
                                    .into_iter()
                                    .map(|a| view! { <option value=a.id.to_string()>{a.name}</option> })
                                    .collect_view()
                            }}
                        </select>
                    </div>
                </div>
                <div class="list" role="list" data-testid="ticket-list">
                    {move || {
                        let st = status.get();
                        let rows = visible.get();
                        match st {
                            ListStatus::Loading if rows.is_empty() => loading(app.t(Msg::TicketsLoading)).into_any(),
                            ListStatus::Failed(text) => {
                                failed(app, app.tf(Msg::TicketsError, &[("message", &text)]), move || load(false))
                                    .into_any()
                            }
                            _ if rows.is_empty() => {
                                let narrowed = filter.with(|f| *f != TicketFilter::default())
                                    || !search.with(|s| s.trim().is_empty());
                                let msg = if narrowed { Msg::TicketsEmpty } else { Msg::TicketsEmptyAll };
                                empty(Icon::Ticket, app.t(msg).to_owned()).into_any()
                            }
                            st => {
                                let now = clock.get();
                                let offset = utc_offset_minutes();
                                let has_more = matches!(st, ListStatus::Loaded { next_cursor: Some(_) });
                                view! {
                                    {rows
                                        .into_iter()
                                        .enumerate()
                                        .map(|(i, t)| {
                                            let id = t.id;
                                            let assignee = t.assignee_id.map(|a| app.agent_name(&a));
                                            view! {
                                                <a
                                                    class="row ticket-row"
                                                    class:active=move || selected.get() == Some(id)
                                                    class:cursor=move || cursor.get() == Some(i)
                                                    href=Route::Tickets(Some(id)).href()
                                                    data-testid="ticket-row"
                                                >
                                                    <div class="row-main">
                                                        <div class="row-top">
                                                            <span class="row-name">
                                                                <span class="muted">"#" {t.number} " "</span>
                                                                {t.subject.clone()}
                                                            </span>
                                                            <span class="row-time">
                                                                {time::ago(now, t.updated_at, app.locale.get_untracked(), offset)}
                                                            </span>
                                                        </div>
                                                        <div class="row-meta">
                                                            {pill(app, "ts", t.status.as_str(), ticket_status_msg(t.status))}
                                                            {pill(app, "pr", t.priority.as_str(), priority_msg(t.priority))}
                                                            {assignee.map(|a| view! { <span class="meta-assignee">{a}</span> })}
                                                            {t.tags.iter().take(3).map(|g| view! { <span class="chip">{g.clone()}</span> }).collect_view()}
                                                        </div>
                                                    </div>
                                                </a>
                                            }
                                        })
                                        .collect_view()}
                                    {has_more
                                        .then(|| {
                                            view! {
                                                <button class="button ghost load-more" on:click=move |_| load(true)>
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
            </section>
            <section class="conv-pane">
                {move || match selected.get() {
                    Some(id) => view! { <TicketDetail id=id /> }.into_any(),
                    None => {
                        view! { <div class="conv-placeholder">{empty(Icon::Ticket, app.t(Msg::SelectTicket).to_owned())}</div> }
                            .into_any()
                    }
                }}
            </section>
        </div>
    }
}

#[component]
fn TicketDetail(id: TicketId) -> impl IntoView {
    let app = expect_context::<App>();
    let ticket = RwSignal::new(None::<Ticket>);
    let events = RwSignal::new(None::<Vec<Event>>);
    let error = RwSignal::new(None::<String>);
    let form = RwSignal::new(None::<TicketForm>);
    let tags_text = RwSignal::new(String::new());
    let saving = RwSignal::new(false);
    let can_work = app.can(Permission::Work);

    let accept = move |t: Ticket| {
        tags_text.set(t.tags.join(" "));
        form.set(Some(TicketForm::from_ticket(&t)));
        ticket.set(Some(t));
    };
    let load_events = move || {
        leptos::task::spawn_local(async move {
            match api::get::<Page<Event>>(&format!("/v1/tickets/{id}/events?limit=100")).await {
                Ok(p) => {
                    events.try_set(Some(p.data));
                }
                Err(e) => app.report(e),
            }
        });
    };
    let load = move || {
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::get::<Ticket>(&format!("/v1/tickets/{id}")).await {
                Ok(t) => {
                    if ticket.try_get_untracked().is_some() {
                        accept(t);
                    }
                }
                Err(ApiError::Unauthorized(_)) => app.session_ended(),
                Err(e) => {
                    error.try_set(Some(app.error_text(&e)));
                }
            }
        });
        load_events();
    };
    load();
    let dirty = Memo::new(move |_| {
        let tags = split_tags(&tags_text.get());
        ticket.with(|t| {
            form.with(|f| match (t, f) {
                (Some(t), Some(f)) => TicketForm { tags, ..f.clone() }.diff(t).is_some(),
                _ => false,
            })
        })
    });
    // Someone else's change: take it unless the agent is in the middle of an edit.
    Effect::new(move |_| {
        if let Some(t) = app.ticket_update.get().filter(|t| t.id == id) {
            let newer = ticket.with_untracked(|c| c.as_ref().is_none_or(|c| c.version < t.version));
            if newer && !dirty.get_untracked() {
                accept(t);
                load_events();
            }
        }
    });
    let save = move || {
        let (Some(original), Some(f)) = (ticket.get_untracked(), form.get_untracked()) else {
            return;
        };
        let f = TicketForm {
            tags: split_tags(&tags_text.get_untracked()),
            ..f
        };
        let Some(body) = f.diff(&original) else {
            return;
        };
        saving.set(true);
        leptos::task::spawn_local(async move {
            let result =
                api::patch::<Ticket>(&format!("/v1/tickets/{id}"), Some(original.version), &body)
                    .await;
            saving.try_set(false);
            match result {
                Ok(t) => {
                    if ticket.try_get_untracked().is_some() {
                        accept(t.clone());
                        app.ticket_update.set(Some(t));
                        app.toast(false, app.t(Msg::Saved));
                        load_events();
                    }
                }
                Err(ApiError::Stale(_)) => {
                    app.toast(true, app.t(Msg::ErrStale));
                    if let Ok(t) = api::get::<Ticket>(&format!("/v1/tickets/{id}")).await {
                        if ticket.try_get_untracked().is_some() {
                            accept(t);
                        }
                    }
                }
                Err(e) => app.report(e),
            }
        });
    };
    let edit = move |f: Box<dyn FnOnce(&mut TicketForm)>| {
        form.update(|x| {
            if let Some(x) = x {
                f(x)
            }
        })
    };
    let agents = move || {
        app.agents.with(|a| {
            a.iter()
                .filter(|a| a.active && a.role != Role::Viewer)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let loaded = Memo::new(move |_| ticket.with(Option::is_some));
    view! {
        <div class="ticket-view" data-testid="ticket-view">
            {move || {
                if let Some(text) = error.get() {
                    return failed(app, app.tf(Msg::TicketError, &[("message", &text)]), load).into_any();
                }
                if !loaded.get() {
                    return loading(app.t(Msg::TicketLoading)).into_any();
                }
                let Some(t) = ticket.get_untracked() else { return ().into_any() };
                let Some(f) = form.get_untracked() else { return ().into_any() };
                view! {
                    <header class="conv-head">
                        <a class="icon-button back" href=Route::Tickets(None).href() aria-label=app.t(Msg::Back)>
                            {Icon::Back.view()}
                        </a>
                        <div class="conv-title">
                            <h2>
                                <span class="muted">"#" {t.number} " "</span>
                                {move || ticket.with(|t| t.as_ref().map(|t| t.subject.clone()))}
                            </h2>
                            <div class="conv-sub">
                                {move || {
                                    ticket
                                        .get()
                                        .map(|t| {
                                            view! {
                                                {pill(app, "ts", t.status.as_str(), ticket_status_msg(t.status))}
                                                {pill(app, "pr", t.priority.as_str(), priority_msg(t.priority))}
                                            }
                                        })
                                }}
                            </div>
                        </div>
                        <div class="conv-actions">
                            {t.conversation_id.map(|c| view! {
                                <a class="button ghost" href=Route::Inbox(Some(c)).href()>{app.t(Msg::OpenConversation)}</a>
                            })}
                        </div>
                    </header>
                    <div class="ticket-body">
                        <form
                            class="card form ticket-form"
                            on:submit=move |e| {
                                e.prevent_default();
                                save();
                            }
                        >
                            <label>
                                <span>{app.t(Msg::Subject)}</span>
                                <input
                                    data-testid="ticket-subject-input"
                                    disabled=!can_work
                                    prop:value=f.subject.clone()
                                    on:input=move |e| {
                                        let v = event_target_value(&e);
                                        edit(Box::new(move |f| f.subject = v));
                                    }
                                />
                            </label>
                            <div class="form-grid">
                                <label>
                                    <span>{app.t(Msg::Status)}</span>
                                    <select
                                        data-testid="ticket-status"
                                        disabled=!can_work
                                        on:change=move |e| {
                                            if let Some(s) = TicketStatus::parse(&event_target_value(&e)) {
                                                edit(Box::new(move |f| f.status = s));
                                            }
                                        }
                                    >
                                        {STATUSES
                                            .into_iter()
                                            .map(|s| view! { <option value=s.as_str() selected=f.status == s>{app.t(ticket_status_msg(s))}</option> })
                                            .collect_view()}
                                    </select>
                                </label>
                                <label>
                                    <span>{app.t(Msg::Priority)}</span>
                                    <select
                                        disabled=!can_work
                                        on:change=move |e| {
                                            if let Some(p) = Priority::parse(&event_target_value(&e)) {
                                                edit(Box::new(move |f| f.priority = p));
                                            }
                                        }
                                    >
                                        {Priority::ALL
                                            .iter()
                                            .map(|p| view! { <option value=p.as_str() selected=f.priority == *p>{app.t(priority_msg(*p))}</option> })
                                            .collect_view()}
                                    </select>
                                </label>
                                <label>
                                    <span>{app.t(Msg::AssignTo)}</span>
                                    <select
                                        disabled=!can_work
                                        on:change=move |e| {
                                            let a = event_target_value(&e).parse::<AgentId>().ok();
                                            edit(Box::new(move |f| f.assignee_id = a));
                                        }
                                    >
                                        <option value="" selected=f.assignee_id.is_none()>{app.t(Msg::Unassigned)}</option>
                                        {agents()
                                            .into_iter()
                                            .map(|a| view! { <option value=a.id.to_string() selected=f.assignee_id == Some(a.id)>{a.name}</option> })
                                            .collect_view()}
                                    </select>
                                </label>
                                <label>
                                    <span>{app.t(Msg::Tags)}</span>
                                    <input
                                        disabled=!can_work
                                        placeholder=app.t(Msg::TagsHint)
                                        bind:value=tags_text
                                    />
                                </label>
                            </div>
                            <label>
                                <span>{app.t(Msg::Description)}</span>
                                <textarea
                                    rows="6"
                                    disabled=!can_work
                                    prop:value=f.description.clone()
                                    on:input=move |e| {
                                        let v = event_target_value(&e);
                                        edit(Box::new(move |f| f.description = v));
                                    }
                                ></textarea>
                            </label>
                            {t.requester_id.map(|r| view! {
                                <p class="muted">{app.t(Msg::Requester)} ": " {app.contact_name(&r)}</p>
                            })}
                            <Show when=move || can_work>
                                <div class="form-actions">
                                    <button
                                        type="submit"
                                        class="button primary"
                                        data-testid="ticket-save"
                                        disabled=move || !dirty.get() || saving.get()
                                    >
                                        {app.t(Msg::Save)}
                                    </button>
                                </div>
                            </Show>
                        </form>
                        <section class="card timeline" data-testid="ticket-timeline">
                            <h3>{app.t(Msg::Timeline)}</h3>
                            {move || match events.get() {
                                None => loading(app.t(Msg::Loading)).into_any(),
                                Some(list) if list.is_empty() => view! { <p class="muted">{app.t(Msg::TimelineEmpty)}</p> }.into_any(),
                                Some(list) => view! {
                                    <ol class="events">
                                        {list.into_iter().rev().map(|e| event_item(app, e)).collect_view()}
                                    </ol>
                                }
                                    .into_any(),
                            }}
                        </section>
                    </div>
                }
                    .into_any()
            }}
        </div>
    }
}

fn actor_name(app: App, e: &Event) -> String {
    match e.actor.kind {
        ActorKind::Agent => e
            .actor
            .id
            .as_deref()
            .and_then(|i| i.parse::<AgentId>().ok())
            .map(|a| app.agent_name(&a))
            .unwrap_or_else(|| app.t(Msg::RoleAgent).to_owned()),
        ActorKind::ApiKey => app.t(Msg::ApiKeys).to_owned(),
        ActorKind::Contact => app.t(Msg::Contact).to_owned(),
        ActorKind::Channel => app.t(Msg::Channel).to_owned(),
        ActorKind::System => app.t(Msg::System).to_owned(),
    }
}

fn event_item(app: App, e: Event) -> impl IntoView {
    let who = actor_name(app, &e);
    let when = time::stamp(crate::ui::state::now(), e.at, utc_offset_minutes());
    let what = if e.kind.ends_with(".created") {
        view! { <span>{app.t(Msg::EventCreated)}</span> }.into_any()
    } else if e.kind.ends_with(".updated") {
        let changes = field_changes(&e.data);
        view! {
            <span>{app.t(Msg::EventUpdated)}</span>
            <ul class="changes">
                {changes
                    .into_iter()
                    .map(|c| {
                        view! {
                            <li>
                                <code>{c.field}</code>
                                ": "
                                <span class="from">{c.from}</span>
                                " → "
                                <span class="to">{c.to}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    } else {
        view! { <span>{app.tf(Msg::EventOther, &[("kind", &e.kind)])}</span> }.into_any()
    };
    view! {
        <li class="event">
            <div class="event-head">
                <strong>{who}</strong>
                " "
                <time class="muted">{when}</time>
            </div>
            <div class="event-body">{what}</div>
        </li>
    }
}
