//! Settings pages for the bot (its on/off switch, intents with example phrases and a
//! confidence threshold, and a box to try a phrase), canned responses, and the report on
//! customer satisfaction.
//!
//! Intents are edited as the JSON the server stores, so fields this page does not show (slot
//! questions, confirmation, webhook) survive an edit unchanged.

use edgedesk_shared::routing::CannedResponse;
use leptos::prelude::*;
use serde_json::{json, Value};

use crate::api::{self, ApiError};
use crate::assist::{canned_from, sentiment_band, SentimentBand};
use crate::i18n::Msg;
use crate::ui::common::{empty, failed, loading, Icon};
use crate::ui::settings::{list_loader, Loaded};
use crate::ui::state::App;

/// One line of state (an error, nothing found, loading): one view type for all of them keeps
/// the module small.
pub(crate) fn note(class: &'static str, role: &'static str, text: String) -> AnyView {
    view! { <p class=class role=role>{text}</p> }.into_any()
}

/// Asks before something is deleted (the browser's own dialog: keyboard-usable, and no
/// extra state in the page).
pub(crate) fn confirm(question: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(question).ok())
        .unwrap_or(false)
}

fn text_of(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The examples of an intent, one per line, blank lines dropped.
fn example_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[component]
pub fn BotTab() -> impl IntoView {
    let app = expect_context::<App>();
    let (intents, reload) = list_loader::<Value>(app, "/v1/bot/intents");
    let settings = RwSignal::new(None::<Result<Value, String>>);
    let load_settings = move || {
        leptos::task::spawn_local(async move {
            let r = api::get::<Value>("/v1/bot/settings").await;
            settings.try_set(Some(r.map_err(|e| app.error_text(&e))));
        });
    };
    load_settings();
    let toggle = move |on: bool| {
        let Some(Ok(mut s)) = settings.get_untracked() else {
            return;
        };
        s["enabled"] = json!(on);
        leptos::task::spawn_local(async move {
            match api::put::<Value>("/v1/bot/settings", &s).await {
                Ok(saved) => {
                    settings.try_set(Some(Ok(saved)));
                }
                Err(e) => {
                    app.report(e);
                    load_settings();
                }
            }
        });
    };

    // The form: a new intent (`editing` is `None`) or one being changed.
    let editing = RwSignal::new(None::<Value>);
    let id = RwSignal::new(String::new());
    let examples = RwSignal::new(String::new());
    let threshold = RwSignal::new(String::new());
    let reply = RwSignal::new(String::new());
    let handoff = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let reset = move || {
        editing.set(None);
        id.set(String::new());
        examples.set(String::new());
        threshold.set(String::new());
        reply.set(String::new());
        handoff.set(false);
        error.set(None);
    };
    let edit = move |v: Value| {
        id.set(text_of(&v, "id"));
        examples.set(
            v.get("examples")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default(),
        );
        threshold.set(
            v.get("threshold")
                .and_then(Value::as_f64)
                .map(|t| format!("{t:.2}"))
                .unwrap_or_default(),
        );
        reply.set(text_of(&v, "reply"));
        handoff.set(v.get("handoff").and_then(Value::as_bool).unwrap_or(false));
        error.set(None);
        editing.set(Some(v));
    };
    let save = move || {
        let threshold_text = threshold.get_untracked();
        let threshold_value = match threshold_text.trim() {
            "" => None,
            t => match t.parse::<f64>() {
                Ok(x) if (0.0..=1.0).contains(&x) => Some(x),
                _ => {
                    error.set(Some(app.t(Msg::ThresholdInvalid).to_owned()));
                    return;
                }
            },
        };
        let lines = example_lines(&examples.get_untracked());
        if lines.is_empty() {
            error.set(Some(app.t(Msg::ExamplesRequired).to_owned()));
            return;
        }
        let existing = editing.get_untracked();
        let mut body = existing.clone().unwrap_or_else(|| json!({}));
        let intent_id = id.get_untracked().trim().to_owned();
        body["id"] = json!(intent_id);
        body["examples"] = json!(lines);
        body["reply"] = json!(reply.get_untracked().trim());
        body["handoff"] = json!(handoff.get_untracked());
        match threshold_value {
            Some(t) => body["threshold"] = json!(t),
            None => {
                if let Some(o) = body.as_object_mut() {
                    o.remove("threshold");
                }
            }
        }
        error.set(None);
        saving.set(true);
        leptos::task::spawn_local(async move {
            let result = if existing.is_some() {
                api::put::<Value>(&format!("/v1/bot/intents/{intent_id}"), &body).await
            } else {
                api::post::<Value>("/v1/bot/intents", &body).await
            };
            saving.try_set(false);
            match result {
                Ok(saved) => {
                    intents.update(|l| {
                        if let Some(Ok(list)) = l {
                            match list.iter_mut().find(|x| x["id"] == saved["id"]) {
                                Some(x) => *x = saved.clone(),
                                None => list.push(saved.clone()),
                            }
                        }
                    });
                    reset();
                }
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => {
                    error.try_set(Some(app.error_text(&e)));
                }
            }
        });
    };
    let remove = move |intent_id: String| {
        leptos::task::spawn_local(async move {
            match api::delete::<()>(&format!("/v1/bot/intents/{intent_id}")).await {
                Ok(()) => intents.update(|l| {
                    if let Some(Ok(list)) = l {
                        list.retain(|x| x["id"] != json!(intent_id));
                    }
                }),
                Err(e) => app.report(e),
            }
        });
    };

    view! {
        <h2>{app.t(Msg::TabBot)}</h2>
        <div class="card">
            {move || match settings.get() {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => failed(app, text, load_settings).into_any(),
                Some(Ok(s)) => {
                    let on = s.get("enabled").and_then(Value::as_bool).unwrap_or(false);
                    view! {
                        <label class="check">
                            <input
                                type="checkbox"
                                data-testid="bot-enabled"
                                prop:checked=on
                                on:change=move |e| toggle(event_target_checked(&e))
                            />
                            <span>{app.t(Msg::BotEnabled)}</span>
                        </label>
                    }
                        .into_any()
                }
            }}
        </div>
        <div class="card">
            <h3>{app.t(Msg::Intents)}</h3>
            {move || match intents.get() {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => failed(app, text, reload).into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    empty(Icon::Plus, app.t(Msg::IntentsEmpty).to_owned()).into_any()
                }
                Some(Ok(list)) => {
                    view! {
                        <table class="table" data-testid="intents">
                            <thead>
                                <tr>
                                    <th>{app.t(Msg::DetectedIntent)}</th>
                                    <th>{app.t(Msg::Examples)}</th>
                                    <th>{app.t(Msg::Threshold)}</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|v| {
                                        let intent_id = text_of(&v, "id");
                                        let n = v.get("examples").and_then(Value::as_array).map_or(0, Vec::len);
                                        let first = v
                                            .get("examples")
                                            .and_then(|e| e.get(0))
                                            .and_then(Value::as_str)
                                            .unwrap_or_default()
                                            .to_owned();
                                        let t = v
                                            .get("threshold")
                                            .and_then(Value::as_f64)
                                            .map(|t| format!("{t:.2}"))
                                            .unwrap_or_else(|| "0.30".to_owned());
                                        let del_id = intent_id.clone();
                                        view! {
                                            <tr data-testid="intent-row">
                                                <td><code>{intent_id.clone()}</code></td>
                                                <td>
                                                    {app.tf(Msg::ExampleCount, &[("count", &n.to_string())])}
                                                    <span class="muted">" · " {first}</span>
                                                </td>
                                                <td>{t}</td>
                                                <td class="actions">
                                                    <button class="button ghost small" on:click=move |_| edit(v.clone())>
                                                        {app.t(Msg::Edit)}
                                                    </button>
                                                    <button
                                                        class="button ghost small"
                                                        on:click=move |_| {
                                                            if confirm(&app.tf(Msg::DeleteConfirm, &[("name", &del_id)])) {
                                                                remove(del_id.clone());
                                                            }
                                                        }
                                                    >
                                                        {app.t(Msg::Delete)}
                                                    </button>
                                                </td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                        .into_any()
                }
            }}
            <form
                class="form"
                data-testid="intent-form"
                on:submit=move |e| {
                    e.prevent_default();
                    save();
                }
            >
                <h3>
                    {move || {
                        if editing.with(Option::is_some) { app.t(Msg::EditIntent) } else { app.t(Msg::NewIntent) }
                    }}
                </h3>
                <label>
                    <span>{app.t(Msg::IntentId)}</span>
                    <input
                        required
                        pattern="[a-z0-9_\\-]{1,64}"
                        data-testid="intent-id"
                        bind:value=id
                        disabled=move || editing.with(Option::is_some)
                    />
                </label>
                <label>
                    <span>{app.t(Msg::Examples)}</span>
                    <textarea rows="5" data-testid="intent-examples" bind:value=examples></textarea>
                </label>
                <label>
                    <span>{app.t(Msg::Threshold)}</span>
                    <input
                        type="number"
                        min="0"
                        max="1"
                        step="0.05"
                        placeholder="0.30"
                        data-testid="intent-threshold"
                        bind:value=threshold
                    />
                    <small>{app.t(Msg::ThresholdHint)}</small>
                </label>
                <label>
                    <span>{app.t(Msg::IntentReply)}</span>
                    <textarea rows="2" required data-testid="intent-reply" bind:value=reply></textarea>
                </label>
                <label class="check">
                    <input type="checkbox" bind:checked=handoff />
                    <span>{app.t(Msg::IntentHandoff)}</span>
                </label>
                {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                <div class="form-actions">
                    <button type="submit" class="button primary" data-testid="intent-save" disabled=move || saving.get()>
                        {move || app.t(if saving.get() { Msg::Saving } else { Msg::Save })}
                    </button>
                    <button type="reset" class="button ghost" on:click=move |e| {
                        e.prevent_default();
                        reset();
                    }>
                        {app.t(Msg::Cancel)}
                    </button>
                </div>
            </form>
        </div>
        <TryBot />
    }
}

/// The "try it" box: what the bot makes of a phrase.
#[component]
fn TryBot() -> impl IntoView {
    let app = expect_context::<App>();
    let text = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Result<Value, String>>);
    let busy = RwSignal::new(false);
    let run = move || {
        let t = text.get_untracked();
        if t.trim().is_empty() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::post::<Value>("/v1/bot/test", &json!({ "text": t })).await;
            busy.try_set(false);
            if let Err(e @ ApiError::Unauthorized(_)) = &r {
                app.report(e.clone());
            }
            result.try_set(Some(r.map_err(|e| app.error_text(&e))));
        });
    };
    view! {
        <div class="card">
            <h3>{app.t(Msg::TryBot)}</h3>
            <form
                class="form inline-create"
                on:submit=move |e| {
                    e.prevent_default();
                    run();
                }
            >
                <label>
                    <span>{app.t(Msg::TryBotPhrase)}</span>
                    <input data-testid="bot-test-input" bind:value=text />
                </label>
                <button type="submit" class="button primary" data-testid="bot-test-run" disabled=move || busy.get()>
                    {app.t(Msg::TryBotRun)}
                </button>
            </form>
            {move || {
                if busy.get() {
                    return Some(loading(app.t(Msg::Loading)).into_any());
                }
                result
                    .get()
                    .map(|r| match r {
                        Err(e) => note("form-error", "alert", e),
                        Ok(u) => {
                            let field = |f: &str| u.get(f).and_then(Value::as_str).map(str::to_owned);
                            let number = |f: &str| u.get(f).and_then(Value::as_f64).unwrap_or(0.0);
                            let (confidence, sentiment) = (number("confidence"), number("sentiment"));
                            let found: &[Value] = u.get("entities").and_then(Value::as_array).map_or(&[], Vec::as_slice);
                            let intent = match (field("intent"), field("best")) {
                                (Some(i), _) => i,
                                (None, Some(b)) => app.tf(Msg::BelowThreshold, &[("best", &b)]),
                                (None, None) => app.t(Msg::NoIntent).to_owned(),
                            };
                            let entities = if found.is_empty() {
                                "—".to_owned()
                            } else {
                                found
                                    .iter()
                                    .filter_map(|e| {
                                        Some(format!("{}: {}", e.get("kind")?.as_str()?, e.get("text")?.as_str()?))
                                    })
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            };
                            let mood = app.t(match sentiment_band(sentiment) {
                                SentimentBand::Negative => Msg::SentimentNegative,
                                SentimentBand::Neutral => Msg::SentimentNeutral,
                                SentimentBand::Positive => Msg::SentimentPositive,
                            });
                            view! {
                                <dl class="facts" data-testid="bot-test-result" role="status">
                                    <dt>{app.t(Msg::DetectedIntent)}</dt>
                                    <dd data-testid="bot-test-intent">{intent}</dd>
                                    <dt>{app.t(Msg::Confidence)}</dt>
                                    <dd data-testid="bot-test-confidence">{format!("{:.0}%", confidence * 100.0)}</dd>
                                    <dt>{app.t(Msg::Entities)}</dt>
                                    <dd data-testid="bot-test-entities">{entities}</dd>
                                    <dt>{app.t(Msg::Sentiment)}</dt>
                                    <dd>{format!("{mood} {sentiment:+.2}")}</dd>
                                </dl>
                            }
                                .into_any()
                        }
                    })
            }}
        </div>
    }
}

#[component]
pub fn CannedTab() -> impl IntoView {
    let app = expect_context::<App>();
    let (list, reload): (Loaded<Value>, _) =
        list_loader::<Value>(app, "/v1/canned-responses?limit=1000");
    let editing = RwSignal::new(None::<String>);
    let shortcode = RwSignal::new(String::new());
    let title = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let reset = move || {
        editing.set(None);
        shortcode.set(String::new());
        title.set(String::new());
        body.set(String::new());
        error.set(None);
    };
    let edit = move |r: CannedResponse| {
        shortcode.set(r.shortcode);
        title.set(r.title);
        body.set(r.body);
        error.set(None);
        editing.set(Some(r.id));
    };
    let save = move || {
        let input = json!({
            "shortcode": shortcode.get_untracked().trim().trim_start_matches('/'),
            "title": title.get_untracked().trim(),
            "body": body.get_untracked(),
        });
        let target = editing.get_untracked();
        error.set(None);
        leptos::task::spawn_local(async move {
            let result = match &target {
                Some(id) => api::put::<Value>(&format!("/v1/canned-responses/{id}"), &input).await,
                None => api::post::<Value>("/v1/canned-responses", &input).await,
            };
            match result {
                Ok(saved) => {
                    list.update(|l| {
                        if let Some(Ok(all)) = l {
                            match all.iter_mut().find(|x| x["id"] == saved["id"]) {
                                Some(x) => *x = saved.clone(),
                                None => all.push(saved.clone()),
                            }
                            all.sort_by(|a, b| {
                                a["shortcode"].as_str().cmp(&b["shortcode"].as_str())
                            });
                        }
                    });
                    reset();
                }
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => {
                    error.try_set(Some(app.error_text(&e)));
                }
            }
        });
    };
    let remove = move |id: String| {
        leptos::task::spawn_local(async move {
            match api::delete::<()>(&format!("/v1/canned-responses/{id}")).await {
                Ok(()) => list.update(|l| {
                    if let Some(Ok(all)) = l {
                        all.retain(|x| x["id"].as_str() != Some(id.as_str()));
                    }
                }),
                Err(e) => app.report(e),
            }
        });
    };
    view! {
        <h2>{app.t(Msg::TabCanned)}</h2>
        <p class="lead">{app.t(Msg::CannedLead)}</p>
        <div class="card">
            {move || match list.get() {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => failed(app, text, reload).into_any(),
                Some(Ok(all)) if all.is_empty() => {
                    empty(Icon::Plus, app.t(Msg::CannedEmpty).to_owned()).into_any()
                }
                Some(Ok(all)) => {
                    let all: Vec<CannedResponse> = all.iter().filter_map(canned_from).collect();
                    view! {
                        <table class="table" data-testid="canned-list">
                            <thead>
                                <tr>
                                    <th>{app.t(Msg::Shortcode)}</th>
                                    <th>{app.t(Msg::Title)}</th>
                                    <th>{app.t(Msg::CannedBody)}</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>
                                {all
                                    .into_iter()
                                    .map(|r| {
                                        let del = r.id.clone();
                                        let keep = r.clone();
                                        view! {
                                            <tr data-testid="canned-row">
                                                <td><code>"/" {r.shortcode.clone()}</code></td>
                                                <td>{r.title.clone()}</td>
                                                <td class="muted truncate">{r.body.clone()}</td>
                                                <td class="actions">
                                                    <button class="button ghost small" on:click=move |_| edit(keep.clone())>
                                                        {app.t(Msg::Edit)}
                                                    </button>
                                                    <button
                                                        class="button ghost small"
                                                        on:click=move |_| {
                                                            if confirm(&app.tf(Msg::DeleteConfirm, &[("name", &del)])) {
                                                                remove(del.clone());
                                                            }
                                                        }
                                                    >
                                                        {app.t(Msg::Delete)}
                                                    </button>
                                                </td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                        .into_any()
                }
            }}
            <form
                class="form"
                data-testid="canned-form"
                on:submit=move |e| {
                    e.prevent_default();
                    save();
                }
            >
                <h3>{move || app.t(if editing.with(Option::is_some) { Msg::EditCanned } else { Msg::NewCanned })}</h3>
                <label>
                    <span>{app.t(Msg::Shortcode)}</span>
                    <input required data-testid="canned-shortcode" bind:value=shortcode />
                </label>
                <label>
                    <span>{app.t(Msg::Title)}</span>
                    <input required data-testid="canned-title" bind:value=title />
                </label>
                <label>
                    <span>{app.t(Msg::CannedBody)}</span>
                    <textarea rows="4" required data-testid="canned-body" bind:value=body></textarea>
                    <small>{app.t(Msg::CannedBodyHint)}</small>
                </label>
                {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                <div class="form-actions">
                    <button type="submit" class="button primary" data-testid="canned-save">{app.t(Msg::Save)}</button>
                    <button type="reset" class="button ghost" on:click=move |e| {
                        e.prevent_default();
                        reset();
                    }>
                        {app.t(Msg::Cancel)}
                    </button>
                </div>
            </form>
        </div>
    }
}

/// `GET /v1/reports/csat`: `{"csat": {count, distribution, average, satisfied_percent}, "truncated"}`.
#[derive(Debug, Clone, PartialEq)]
struct CsatReport {
    count: u64,
    /// Ratings of 1 to 5 stars.
    distribution: [u64; 5],
    average: Option<f64>,
    satisfied_percent: Option<f64>,
    truncated: bool,
}

impl CsatReport {
    fn from_json(v: &Value) -> CsatReport {
        let c = &v["csat"];
        let mut distribution = [0u64; 5];
        if let Some(d) = c["distribution"].as_array() {
            for (slot, n) in distribution.iter_mut().zip(d) {
                *slot = n.as_u64().unwrap_or(0);
            }
        }
        CsatReport {
            count: c["count"].as_u64().unwrap_or(0),
            distribution,
            average: c["average"].as_f64(),
            satisfied_percent: c["satisfied_percent"].as_f64(),
            truncated: v["truncated"].as_bool().unwrap_or(false),
        }
    }
}

#[component]
pub fn ReportsTab() -> impl IntoView {
    let app = expect_context::<App>();
    let csat = RwSignal::new(None::<Result<Value, String>>);
    let load = move || {
        csat.set(None);
        leptos::task::spawn_local(async move {
            let r = api::get::<Value>("/v1/reports/csat").await;
            csat.try_set(Some(r.map_err(|e| app.error_text(&e))));
        });
    };
    load();
    view! {
        <h2>{app.t(Msg::TabReports)}</h2>
        <div class="card" data-testid="csat-report">
            <h3>{app.t(Msg::CsatHeading)}</h3>
            {move || match csat.get().map(|r| r.map(|v| CsatReport::from_json(&v))) {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => failed(app, text, load).into_any(),
                Some(Ok(r)) if r.count == 0 => {
                    note("muted", "status", app.t(Msg::CsatNone).to_owned())
                }
                Some(Ok(r)) => {
                    let s = r.clone();
                    let most = s.distribution.iter().copied().max().unwrap_or(1).max(1);
                    view! {
                        <dl class="facts">
                            <dt>{app.t(Msg::CsatAverage)}</dt>
                            <dd data-testid="csat-average">{s.average.map(|a| format!("{a:.2}")).unwrap_or_default()}</dd>
                            <dt>{app.t(Msg::CsatCount)}</dt>
                            <dd data-testid="csat-count">{s.count}</dd>
                            <dt>{app.t(Msg::CsatSatisfied)}</dt>
                            <dd>{s.satisfied_percent.map(|p| format!("{p:.0}%")).unwrap_or_default()}</dd>
                        </dl>
                        <ul class="bars" aria-label=app.t(Msg::CsatDistribution)>
                            {(1..=5)
                                .rev()
                                .map(|star| {
                                    let n = s.distribution[star - 1];
                                    view! {
                                        <li data-testid=format!("csat-bar-{star}")>
                                            <span>{format!("{star}★")}</span>
                                            <progress max=most value=n></progress>
                                            <span>{n}</span>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                        {r.truncated.then(|| view! { <p class="muted">{app.t(Msg::ReportTruncated)}</p> })}
                    }
                        .into_any()
                }
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_are_one_per_line_without_blanks() {
        assert_eq!(
            example_lines("where is my order\n\n  track my parcel  \n"),
            vec!["where is my order".to_owned(), "track my parcel".to_owned()]
        );
        assert!(example_lines(" \n").is_empty());
    }

    #[test]
    fn reports_decode_the_server_answers() {
        let r = CsatReport::from_json(
            &json!({"csat": {"count": 2, "distribution": [0, 0, 0, 1, 1],
            "average": 4.5, "satisfied_percent": 100.0}, "truncated": false}),
        );
        assert_eq!(
            (r.count, r.distribution, r.average),
            (2, [0, 0, 0, 1, 1], Some(4.5))
        );
        assert!(!r.truncated);
    }
}
