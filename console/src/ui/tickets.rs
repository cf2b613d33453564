//! The tickets page: a filtered, searchable list that follows live changes, and a ticket's
//! detail with editable fields, its SLA clocks, merging into another ticket, duplicate
//! suggestions and its timeline of events.

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
use crate::sla::{ListSort, StateFilter};
use crate::time;
use crate::ui::app::tick_every_minute;
use crate::ui::common::{
    empty, failed, loading, pill, priority_msg, ticket_status_msg, Icon, Modal,
};
use crate::ui::sla::{SlaBadge, SlaPanel};
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
    /// Earliest SLA deadline first instead of newest first.
    sort: ListSort,
    sla: Option<StateFilter>,
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
        if let Some(f) = self.sla {
            q.push(("sla_state", f.as_str().to_owned()));
        }
        q.extend(self.sort.query());
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
            let result =
                crate::ui::sla::get_list::<Ticket>(&api::with_query("/v1/tickets", &q)).await;
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
        // An update queued as the list closes finds its signals disposed.
        let Some(f) = filter.try_get_untracked() else {
            return;
        };
        if f.sort != ListSort::Default || f.sla.is_some() {
            // Where (and whether) a changed ticket belongs in SLA order is the server's
            // knowledge: ask again.
            load(false);
            return;
        }
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
                            aria-label=app.t(Msg::SortBy)
                            data-testid="ticket-sort"
                            on:change=move |e| {
                                let s = ListSort::parse(&event_target_value(&e));
                                filter.update(|f| f.sort = s);
                            }
                        >
                            <option value="">{app.t(Msg::SortNewest)}</option>
                            <option value="sla_due">{app.t(Msg::SortSlaDue)}</option>
                        </select>
                        <select
                            aria-label=app.t(Msg::SlaHeading)
                            data-testid="ticket-sla-filter"
                            on:change=move |e| {
                                let s = StateFilter::parse(&event_target_value(&e));
                                filter.update(|f| f.sla = s);
                            }
                        >
                            <option value="">{app.t(Msg::SlaAny)}</option>
                            <option value="breached">{app.t(Msg::SlaOnlyBreached)}</option>
                            <option value="warning">{app.t(Msg::SlaOnlyWarning)}</option>
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
                                let msg = if filter.with(|f| f.sort == ListSort::SlaDue) {
                                    Msg::SlaSortedEmpty
                                } else if narrowed {
                                    Msg::TicketsEmpty
                                } else {
                                    Msg::TicketsEmptyAll
                                };
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
                                            let sla_path = format!("/v1/tickets/{id}/sla");
                                            let version = t.version;
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
                                                            <SlaBadge path=sla_path version=version clock=clock />
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
    // The ticket this one was merged into, once it was.
    let merged = RwSignal::new(None::<Ticket>);
    let duplicates = RwSignal::new(None::<Vec<Duplicate>>);
    let merge_open = RwSignal::new(false);
    let merging = RwSignal::new(false);

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
            match api::get::<serde_json::Value>(&format!("/v1/tickets/{id}")).await {
                Ok(raw) => {
                    // A merged ticket answers with itself plus `merged_into`.
                    let into = raw
                        .get("merged_into")
                        .and_then(|v| v.as_str())
                        .and_then(|v| v.parse::<TicketId>().ok());
                    let t = match serde_json::from_value::<Ticket>(raw) {
                        Ok(t) => t,
                        Err(e) => {
                            error.try_set(Some(e.to_string()));
                            return;
                        }
                    };
                    let requester = t.requester_id.is_some();
                    if ticket.try_get_untracked().is_none() {
                        return;
                    }
                    accept(t);
                    match into {
                        Some(into) => {
                            duplicates.try_set(Some(Vec::new()));
                            match api::get::<Ticket>(&format!("/v1/tickets/{into}")).await {
                                Ok(target) => {
                                    merged.try_set(Some(target));
                                }
                                Err(e) => app.report(e),
                            }
                        }
                        None => {
                            merged.try_set(None);
                            if !requester {
                                duplicates.try_set(Some(Vec::new()));
                                return;
                            }
                            match api::get::<DuplicatePage>(&format!("/v1/tickets/{id}/duplicates"))
                                .await
                            {
                                Ok(p) => {
                                    duplicates.try_set(Some(p.data));
                                }
                                Err(e) => app.report(e),
                            }
                        }
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
            // `try_`: an update queued as the view closes finds its signals disposed.
            let newer =
                ticket.try_with_untracked(|c| c.as_ref().is_none_or(|c| c.version < t.version));
            if newer == Some(true) && dirty.try_get_untracked() == Some(false) {
                accept(t);
                // Also what the live record does not carry: a merge pointer, duplicates.
                load();
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
    // Merges this ticket into `into`; the view then shows where it went.
    let merge_into = move |into: TicketId| {
        merging.set(true);
        leptos::task::spawn_local(async move {
            let result = api::post::<Ticket>(
                &format!("/v1/tickets/{id}/merge"),
                &serde_json::json!({ "into": into }),
            )
            .await;
            merging.try_set(false);
            match result {
                Ok(target) => {
                    merge_open.try_set(false);
                    app.toast(
                        false,
                        app.tf(Msg::MergeDone, &[("number", &target.number.to_string())]),
                    );
                    app.ticket_update.set(Some(target));
                    load();
                }
                Err(e) => app.report(e),
            }
        });
    };
    let version = Signal::derive(move || ticket.with(|t| t.as_ref().map_or(0, |t| t.version)));
    let is_merged = Memo::new(move |_| merged.with(Option::is_some));
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
                            <Show when=move || can_work && !is_merged.get()>
                                <button
                                    class="button ghost"
                                    data-testid="merge-open"
                                    on:click=move |_| merge_open.set(true)
                                >
                                    {app.t(Msg::MergeInto)}
                                </button>
                            </Show>
                        </div>
                    </header>
                    {move || merged.get().map(|m| view! {
                        <p class="merged-banner" role="status" data-testid="merged-into">
                            {app.t(Msg::MergedInto)} " "
                            <a href=Route::Tickets(Some(m.id)).href()>"#" {m.number} " " {m.subject}</a>
                        </p>
                    })}
                    <MergeDialog id=id number=t.number open=merge_open busy=merging on_merge=merge_into />
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
                        <Show when=move || !is_merged.get()>
                            <SlaPanel path=format!("/v1/tickets/{id}/sla") version=version />
                        </Show>
                        {move || {
                            let list = duplicates.get().unwrap_or_default();
                            (!list.is_empty() && !is_merged.get()).then(|| view! {
                                <section class="card duplicates" data-testid="duplicates">
                                    <h3>{app.t(Msg::Duplicates)}</h3>
                                    <ul class="duplicate-list">
                                        {list
                                            .into_iter()
                                            .map(|d| {
                                                let score = format!("{:.0}", (d.score * 100.0).clamp(0.0, 100.0));
                                                let into = d.ticket_id;
                                                view! {
                                                    <li class="duplicate" data-testid="duplicate">
                                                        <a href=Route::Tickets(Some(d.ticket_id)).href()>
                                                            <span class="muted">"#" {d.number} " "</span>
                                                            {d.subject}
                                                        </a>
                                                        <span class="muted">{app.tf(Msg::DuplicateScore, &[("score", &score)])}</span>
                                                        <Show when=move || can_work>
                                                            <button
                                                                class="button ghost"
                                                                data-testid="duplicate-merge"
                                                                disabled=move || merging.get()
                                                                on:click=move |_| merge_into(into)
                                                            >
                                                                {app.tf(Msg::MergeIntoNumber, &[("number", &d.number.to_string())])}
                                                            </button>
                                                        </Show>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                </section>
                            })
                        }}
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
    } else if e.kind == "ticket.merged" {
        let from = e
            .data
            .get("merged")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        let href = from
            .parse::<TicketId>()
            .map(|t| Route::Tickets(Some(t)).href())
            .unwrap_or_default();
        view! {
            <span data-testid="event-merged">
                {app.t(Msg::EventMerged)}
                " "
                <a href=href>{from}</a>
            </span>
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

/// A duplicate candidate, as `GET /v1/tickets/{id}/duplicates` lists them.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
struct Duplicate {
    ticket_id: TicketId,
    number: u64,
    subject: String,
    /// Similarity damped by age, 0..=1.
    score: f64,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct DuplicatePage {
    data: Vec<Duplicate>,
}

/// "Merge into…": find the target by number or subject, confirm, merge.
#[component]
fn MergeDialog(
    id: TicketId,
    number: u64,
    open: RwSignal<bool>,
    busy: RwSignal<bool>,
    on_merge: impl Fn(TicketId) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let app = expect_context::<App>();
    let query = RwSignal::new(String::new());
    let pool = RwSignal::new(None::<Result<Vec<Ticket>, String>>);
    let pick = RwSignal::new(None::<Ticket>);
    Effect::new(move |_| {
        if !open.get() {
            return;
        }
        pick.set(None);
        query.set(String::new());
        leptos::task::spawn_local(async move {
            let r = api::get::<Page<Ticket>>("/v1/tickets?limit=100")
                .await
                .map(|p| p.data)
                .map_err(|e| app.error_text(&e));
            pool.try_set(Some(r));
        });
    });
    let matches = move || {
        let q = query.get();
        pool.with(|p| match p {
            Some(Ok(list)) => Some(Ok(list
                .iter()
                .filter(|t| t.id != id && !matches!(t.status, TicketStatus::Closed))
                .filter(|t| ticket_matches(t, &q))
                .take(8)
                .cloned()
                .collect::<Vec<_>>())),
            Some(Err(e)) => Some(Err(e.clone())),
            None => None,
        })
    };
    view! {
        <Modal title=app.t(Msg::MergeInto) open=open>
            <div class="form merge-dialog">
                <label>
                    <span>{app.t(Msg::MergeSearch)}</span>
                    <input
                        type="search"
                        data-testid="merge-search"
                        autofocus=true
                        bind:value=query
                    />
                </label>
                {move || match matches() {
                    None => loading(app.t(Msg::Loading)).into_any(),
                    Some(Err(text)) => view! { <p role="alert">{app.tf(Msg::TicketsError, &[("message", &text)])}</p> }.into_any(),
                    Some(Ok(list)) if list.is_empty() => view! { <p class="muted">{app.t(Msg::MergeNoMatch)}</p> }.into_any(),
                    Some(Ok(list)) => view! {
                        <ul class="merge-options" role="listbox" aria-label=app.t(Msg::MergeSearch)>
                            {list
                                .into_iter()
                                .map(|t| {
                                    let tid = t.id;
                                    let chosen = t.clone();
                                    view! {
                                        <li>
                                            <button
                                                type="button"
                                                role="option"
                                                class="button ghost merge-option"
                                                class:active=move || pick.with(|p| p.as_ref().map(|p| p.id) == Some(tid))
                                                aria-selected=move || pick.with(|p| p.as_ref().map(|p| p.id) == Some(tid)).to_string()
                                                data-testid="merge-candidate"
                                                on:click=move |_| pick.set(Some(chosen.clone()))
                                            >
                                                <span class="muted">"#" {t.number} " "</span>
                                                {t.subject.clone()}
                                            </button>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any(),
                }}
                {move || pick.get().map(|t| {
                    view! {
                        <p class="merge-confirm-text">
                            {app.tf(Msg::MergeConfirm, &[("from", &number.to_string()), ("into", &t.number.to_string())])}
                        </p>
                    }
                })}
                <div class="form-actions">
                    <button type="button" class="button ghost" on:click=move |_| open.set(false)>
                        {app.t(Msg::Cancel)}
                    </button>
                    <button
                        type="button"
                        class="button primary"
                        data-testid="merge-confirm"
                        disabled=move || pick.with(Option::is_none) || busy.get()
                        on:click=move |_| {
                            if let Some(t) = pick.get_untracked() {
                                on_merge(t.id);
                            }
                        }
                    >
                        {app.t(Msg::Merge)}
                    </button>
                </div>
            </div>
        </Modal>
    }
}
