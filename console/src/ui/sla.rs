//! SLA clocks in the views: the badge of a ticket or conversation row (its most urgent
//! target, with the due time) and the ticket detail's panel (every target with due time,
//! remaining minutes and state, and the policy that applies).
//!
//! Rows take their clock from the list response (`sla` of each item of `GET /v1/tickets` and
//! `GET /v1/conversations`, see [`get_list`]), kept by record version for the page's life: a
//! list costs no request per row. Only a record the live feed changed since (a version the list
//! did not carry) asks `GET /v1/{tickets|conversations}/{id}/sla` on its own. Between reads the
//! minute clock moves running clocks to warning and breached (see [`crate::sla`]).

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use edgedesk_shared::sla::{TargetKind, TargetState};
use leptos::prelude::*;

use edgedesk_shared::model::{Conversation, Ticket};
use serde::de::DeserializeOwned;

use crate::api::{self, ApiError, Page};
use crate::i18n::Msg;
use crate::sla::{minutes_until, state_str, RowSla, SlaView};
use crate::time;
use crate::ui::common::loading;
use crate::ui::state::{utc_offset_minutes, App};

thread_local! {
    /// Reports by path, with the record version they were fetched for.
    static CACHE: RefCell<HashMap<String, (u64, SlaView)>> = RefCell::new(HashMap::new());
    /// Row summaries by `/sla` path, with the record version the list carried them for.
    static ROWS: RefCell<HashMap<String, (u64, Option<RowSla>)>> = RefCell::new(HashMap::new());
}

/// A listed record: where its own SLA report lives, and which version the list carried.
pub trait Subject {
    fn sla_path(&self) -> String;
    fn version(&self) -> u64;
}

impl Subject for Ticket {
    fn sla_path(&self) -> String {
        format!("/v1/tickets/{}/sla", self.id)
    }
    fn version(&self) -> u64 {
        self.version
    }
}

impl Subject for Conversation {
    fn sla_path(&self) -> String {
        format!("/v1/conversations/{}/sla", self.id)
    }
    fn version(&self) -> u64 {
        self.version
    }
}

/// A page of a ticket or conversation list; each item's `sla` summary is kept for its row
/// badge.
pub async fn get_list<T: DeserializeOwned + Subject>(path: &str) -> Result<Page<T>, ApiError> {
    let page = api::get::<Page<serde_json::Value>>(path).await?;
    let mut data = Vec::with_capacity(page.data.len());
    for mut raw in page.data {
        let sla = raw
            .as_object_mut()
            .and_then(|o| o.remove("sla"))
            .and_then(|v| serde_json::from_value::<Option<RowSla>>(v).ok())
            .flatten();
        let item: T = serde_json::from_value(raw).map_err(|e| ApiError::Decode(e.to_string()))?;
        ROWS.with(|r| {
            r.borrow_mut()
                .insert(item.sla_path(), (item.version(), sla))
        });
        data.push(item);
    }
    Ok(Page {
        data,
        next_cursor: page.next_cursor,
    })
}

pub fn state_msg(s: TargetState) -> Msg {
    match s {
        TargetState::Running => Msg::SlaRunning,
        TargetState::Warning => Msg::SlaWarning,
        TargetState::Breached => Msg::SlaBreached,
        TargetState::Paused => Msg::SlaPaused,
        TargetState::Met => Msg::SlaMet,
    }
}

pub fn target_msg(k: TargetKind) -> Msg {
    match k {
        TargetKind::FirstResponse => Msg::TargetFirstResponse,
        TargetKind::NextResponse => Msg::TargetNextResponse,
        TargetKind::Resolution => Msg::TargetResolution,
    }
}

/// The report for `path` at `version`, from the cache or the API.
pub async fn fetch(path: &str, version: u64) -> Result<SlaView, ApiError> {
    if let Some(v) = CACHE.with(|c| {
        c.borrow()
            .get(path)
            .filter(|(at, _)| *at == version)
            .map(|(_, v)| v.clone())
    }) {
        return Ok(v);
    }
    let view = api::get::<SlaView>(path).await?;
    CACHE.with(|c| {
        c.borrow_mut()
            .insert(path.to_owned(), (version, view.clone()))
    });
    Ok(view)
}

/// The row badge: state of the most urgent target and its due time.
#[component]
pub fn SlaBadge(
    /// `/v1/tickets/{id}/sla` or `/v1/conversations/{id}/sla`.
    path: String,
    version: u64,
    clock: RwSignal<DateTime<Utc>>,
) -> impl IntoView {
    let app = expect_context::<App>();
    let listed = ROWS.with(|r| {
        r.borrow()
            .get(&path)
            .filter(|(at, _)| *at == version)
            .map(|(_, s)| s.clone())
    });
    let report = RwSignal::new(listed.clone().flatten());
    if listed.is_none() {
        // A version the list did not carry (changed on the live feed): ask for this one.
        leptos::task::spawn_local(async move {
            if let Ok(v) = fetch(&path, version).await {
                let row = v.row();
                ROWS.with(|r| r.borrow_mut().insert(path, (version, row.clone())));
                report.try_set(row);
            }
        });
    }
    move || {
        let now = clock.get();
        let c = report.with(|r| r.as_ref().map(|r| r.clock(now)))?;
        let due = c.due_at.map(|d| {
            app.tf(
                Msg::SlaDue,
                &[("time", &time::stamp(now, d, utc_offset_minutes()))],
            )
        });
        Some(view! {
            <span class=format!("sla-badge sla-{}", state_str(c.state)) data-testid="sla-badge" data-sla=state_str(c.state)>
                {app.t(state_msg(c.state))}
                {due.map(|d| view! { <span class="sla-due">{d}</span> })}
            </span>
        })
    }
}

/// The ticket detail's SLA panel; `version` changes re-fetch it.
#[component]
pub fn SlaPanel(path: String, version: Signal<u64>) -> impl IntoView {
    let app = expect_context::<App>();
    let report = RwSignal::new(None::<Result<SlaView, String>>);
    let clock = crate::ui::app::tick_every_minute();
    // Policy names, to say which policy applies in words rather than by id.
    let names = RwSignal::new(HashMap::<String, String>::new());
    leptos::task::spawn_local(async move {
        if let Ok(list) = api::get::<PolicyList>("/v1/sla/policies").await {
            let map = list
                .data
                .into_iter()
                .filter_map(|p| Some((p.id, p.name.filter(|n| !n.trim().is_empty())?)))
                .collect();
            names.try_set(map);
        }
    });
    Effect::new(move |_| {
        let v = version.get();
        let path = path.clone();
        leptos::task::spawn_local(async move {
            let r = fetch(&path, v).await.map_err(|e| app.error_text(&e));
            report.try_set(Some(r));
        });
    });
    view! {
        <section class="card sla-panel" data-testid="sla-panel">
            <h3>{app.t(Msg::SlaHeading)}</h3>
            {move || match report.get() {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => view! { <p class="muted" role="alert">{app.tf(Msg::SlaError, &[("message", &text)])}</p> }.into_any(),
                Some(Ok(r)) if r.targets.is_empty() => view! { <p class="muted">{app.t(Msg::SlaNone)}</p> }.into_any(),
                Some(Ok(r)) => {
                    let now = clock.get();
                    let offset = utc_offset_minutes();
                    let policy = r
                        .policy_id
                        .clone()
                        .or_else(|| r.current().iter().find_map(|t| t.policy_id.clone()))
                        .map(|id| names.with(|n| n.get(&id).cloned()).unwrap_or(id));
                    view! {
                        {policy.map(|p| view! { <p class="muted sla-policy">{app.tf(Msg::SlaPolicy, &[("policy", &p)])}</p> })}
                        <ul class="sla-targets">
                            {r.current()
                                .into_iter()
                                .map(|t| {
                                    let state = t.state_at(now);
                                    let detail = match (t.completed_at, t.due_at) {
                                        (Some(done), _) => app.tf(Msg::SlaCompleted, &[("time", &time::stamp(now, done, offset))]),
                                        (None, Some(due)) => {
                                            // The report's business minutes as of its fetch, moved on by
                                            // the wall clock while it counts (exact for calendar time).
                                            let left = match (t.remaining_minutes, state) {
                                                (Some(m), TargetState::Paused) => m,
                                                (Some(m), _) if matches!(t.basis, Some(edgedesk_shared::sla::TimeBasis::Business)) => m,
                                                _ => minutes_until(now, due),
                                            };
                                            let remaining = if left >= 0 {
                                                app.tf(Msg::SlaLeft, &[("n", &left.to_string())])
                                            } else {
                                                app.tf(Msg::SlaOverdue, &[("n", &(-left).to_string())])
                                            };
                                            format!(
                                                "{} · {}",
                                                app.tf(Msg::SlaDue, &[("time", &time::stamp(now, due, offset))]),
                                                remaining
                                            )
                                        }
                                        (None, None) => String::new(),
                                    };
                                    view! {
                                        <li class="sla-target" data-testid="sla-target" data-target=t.target.as_str()>
                                            <span class="sla-target-name">{app.t(target_msg(t.target))}</span>
                                            <span class=format!("sla-badge sla-{}", state_str(state)) data-sla=state_str(state)>
                                                {app.t(state_msg(state))}
                                            </span>
                                            <span class="muted">{detail}</span>
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
    }
}

/// `GET /v1/sla/policies`, as far as the panel reads it.
#[derive(Debug, Clone, serde::Deserialize)]
struct PolicyList {
    data: Vec<PolicyName>,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct PolicyName {
    id: String,
    #[serde(default)]
    name: Option<String>,
}
