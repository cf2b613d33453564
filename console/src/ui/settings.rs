//! Settings: the agent's own profile for everyone; agents and roles, API keys, channels and
//! the chat widget for the roles allowed to manage them. Tabs a role may not use are not shown
//! (and the API refuses them regardless).

use edgedesk_shared::api::{CreateAgent, CreateApiChannel, CreateApiKey};
use edgedesk_shared::email::NotificationPreferences;
use edgedesk_shared::ids::AgentId;
use edgedesk_shared::model::{Agent, ApiChannelView, ApiKeyView, KeyScope, Role};
use edgedesk_shared::rbac::{may_grant, scope_role, Permission};
use leptos::prelude::*;

use crate::api::{self, ApiError, Link, NewApiChannel, NewKey, Page, WidgetAdmin};
use crate::i18n::{Locale, Msg};
use crate::route::{Route, SettingsTab};
use crate::ui::auth::ChangePassword;
use crate::ui::bot::{BotTab, CannedTab, ReportsTab};
use crate::ui::common::{copy_field, empty, failed, loading, Icon};
use crate::ui::email::EmailTab;
use crate::ui::state::{now, utc_offset_minutes, App};

fn tab_permission(tab: SettingsTab) -> Option<Permission> {
    match tab {
        SettingsTab::Profile => None,
        SettingsTab::Agents => Some(Permission::ManageAgents),
        SettingsTab::ApiKeys => Some(Permission::ManageKeys),
        SettingsTab::Channels | SettingsTab::Email | SettingsTab::Widget | SettingsTab::Canned => {
            Some(Permission::ManageSettings)
        }
        SettingsTab::Bot => Some(Permission::ManageBot),
        SettingsTab::Reports => None,
    }
}

fn tab_label(tab: SettingsTab) -> Msg {
    match tab {
        SettingsTab::Profile => Msg::TabProfile,
        SettingsTab::Agents => Msg::TabAgents,
        SettingsTab::ApiKeys => Msg::TabKeys,
        SettingsTab::Channels => Msg::TabChannels,
        SettingsTab::Email => Msg::TabEmail,
        SettingsTab::Widget => Msg::TabWidget,
        SettingsTab::Bot => Msg::TabBot,
        SettingsTab::Canned => Msg::TabCanned,
        SettingsTab::Reports => Msg::TabReports,
    }
}

pub(crate) fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

fn role_msg(r: Role) -> Msg {
    match r {
        Role::Owner => Msg::RoleOwner,
        Role::Admin => Msg::RoleAdmin,
        Role::Agent => Msg::RoleAgent,
        Role::Viewer => Msg::RoleViewer,
    }
}

fn scope_msg(s: KeyScope) -> Msg {
    match s {
        KeyScope::Admin => Msg::ScopeAdmin,
        KeyScope::Agent => Msg::ScopeAgent,
        KeyScope::ReadOnly => Msg::ScopeReadOnly,
    }
}

pub(crate) fn date(t: chrono::DateTime<chrono::Utc>) -> String {
    crate::time::stamp(now(), t, utc_offset_minutes())
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let app = expect_context::<App>();
    let allowed = move |tab: SettingsTab| tab_permission(tab).is_none_or(|p| app.can(p));
    let current = Memo::new(move |_| match app.route.get() {
        Route::Settings(tab) if allowed(tab) => tab,
        _ => SettingsTab::Profile,
    });
    view! {
        <div class="settings">
            <nav class="settings-nav" aria-label=app.t(Msg::SettingsHeading)>
                <h1>{app.t(Msg::SettingsHeading)}</h1>
                {SettingsTab::ALL
                    .into_iter()
                    .filter(|t| allowed(*t))
                    .map(|t| {
                        view! {
                            <a
                                href=Route::Settings(t).href()
                                class="settings-link"
                                class:active=move || current.get() == t
                                data-testid=format!("settings-{}", Route::Settings(t).href().rsplit('/').next().unwrap_or_default())
                            >
                                {app.t(tab_label(t))}
                            </a>
                        }
                    })
                    .collect_view()}
            </nav>
            <div class="settings-body">
                {move || match current.get() {
                    SettingsTab::Profile => view! { <ProfileTab /> }.into_any(),
                    SettingsTab::Agents => view! { <AgentsTab /> }.into_any(),
                    SettingsTab::ApiKeys => view! { <KeysTab /> }.into_any(),
                    SettingsTab::Channels => view! { <ChannelsTab /> }.into_any(),
                    SettingsTab::Email => view! { <EmailTab /> }.into_any(),
                    SettingsTab::Widget => view! { <WidgetTab /> }.into_any(),
                    SettingsTab::Bot => view! { <BotTab /> }.into_any(),
                    SettingsTab::Canned => view! { <CannedTab /> }.into_any(),
                    SettingsTab::Reports => view! { <ReportsTab /> }.into_any(),
                }}
            </div>
        </div>
    }
}

#[component]
fn ProfileTab() -> impl IntoView {
    let app = expect_context::<App>();
    let me = app.me.get_untracked();
    let text = me
        .map(|m| {
            app.tf(
                Msg::SignedInAs,
                &[
                    ("name", &m.agent.name),
                    ("email", &m.agent.email),
                    ("role", app.role_name(m.agent.role)),
                    ("tenant", &m.tenant.name),
                ],
            )
        })
        .unwrap_or_default();
    view! {
        <h2>{app.t(Msg::TabProfile)}</h2>
        <div class="card">
            <p data-testid="profile-summary">{text}</p>
            <label class="inline">
                <span>{app.t(Msg::Language)}</span>
                <select on:change=move |e| app.set_locale(Locale::from_tag(&event_target_value(&e)))>
                    {Locale::ALL
                        .into_iter()
                        .map(|l| view! { <option value=l.tag() selected=app.locale.get_untracked() == l>{l.native_name()}</option> })
                        .collect_view()}
                </select>
            </label>
        </div>
        <Notifications />
        <ChangePassword />
    }
}

/// The mails an agent may choose, by their field in [`NotificationPreferences`].
const NOTICES: [(&str, Msg); 4] = [
    ("assigned", Msg::NotifyAssigned),
    ("mention", Msg::NotifyMention),
    ("sla_warning", Msg::NotifySlaWarning),
    ("digest", Msg::NotifyDigest),
];

/// The choice named `field` (one of [`NOTICES`]).
fn notice<'a>(p: &'a mut NotificationPreferences, field: &str) -> &'a mut bool {
    match field {
        "assigned" => &mut p.assigned,
        "mention" => &mut p.mention,
        "sla_warning" => &mut p.sla_warning,
        _ => &mut p.digest,
    }
}

/// Which notification mails the signed-in agent gets, each saved when ticked or unticked.
#[component]
fn Notifications() -> impl IntoView {
    let app = expect_context::<App>();
    let me = app.me_id();
    let path = move || {
        let id = me.map(|m| m.to_string()).unwrap_or_default();
        format!("/v1/agents/{id}/notifications")
    };
    let prefs = RwSignal::new(None::<Result<NotificationPreferences, String>>);
    let load = move || {
        leptos::task::spawn_local(async move {
            match api::get::<NotificationPreferences>(&path()).await {
                Ok(p) => {
                    prefs.try_set(Some(Ok(p)));
                }
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => {
                    prefs.try_set(Some(Err(app.error_text(&e))));
                }
            }
        });
    };
    load();
    let toggle = move |field: &str, on: bool| {
        let Some(Ok(mut p)) = prefs.get_untracked() else {
            return;
        };
        *notice(&mut p, field) = on;
        leptos::task::spawn_local(async move {
            match api::put::<NotificationPreferences>(&path(), &serde_json::json!(p)).await {
                Ok(saved) => {
                    prefs.try_set(Some(Ok(saved)));
                }
                Err(e) => {
                    app.report(e);
                    load();
                }
            }
        });
    };
    view! {
        <div class="card" data-testid="notifications">
            <h3>{app.t(Msg::EmailNotifications)}</h3>
            {move || match prefs.get() {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => failed(app, text, load).into_any(),
                Some(Ok(mut p)) => NOTICES
                    .into_iter()
                    .map(|(field, msg)| {
                        view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    data-testid=format!("notify-{field}")
                                    prop:checked=*notice(&mut p, field)
                                    on:change=move |e| toggle(field, event_target_checked(&e))
                                />
                                <span>{app.t(msg)}</span>
                            </label>
                        }
                    })
                    .collect_view()
                    .into_any(),
            }}
            <small>{app.t(Msg::NotificationsHint)}</small>
        </div>
    }
}

/// A loaded list: not yet (`None`), the items, or why not.
pub(crate) type Loaded<T> = RwSignal<Option<Result<Vec<T>, String>>>;

/// Loads a list once and on demand.
pub(crate) fn list_loader<T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static>(
    app: App,
    path: &'static str,
) -> (Loaded<T>, impl Fn() + Copy + 'static) {
    let data: Loaded<T> = RwSignal::new(None);
    let load = move || {
        leptos::task::spawn_local(async move {
            match api::get::<Page<T>>(path).await {
                Ok(p) => {
                    data.try_set(Some(Ok(p.data)));
                }
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => {
                    data.try_set(Some(Err(app.error_text(&e))));
                }
            }
        });
    };
    load();
    (data, load)
}

#[component]
fn AgentsTab() -> impl IntoView {
    let app = expect_context::<App>();
    let (agents, reload) = list_loader::<Agent>(app, "/v1/agents?limit=100");
    let my_role = app
        .me
        .with_untracked(|m| m.as_ref().map(|m| m.agent.role))
        .unwrap_or(Role::Viewer);
    let grantable: Vec<Role> = Role::ALL
        .iter()
        .copied()
        .filter(|r| may_grant(my_role, *r))
        .collect();
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Agent);
    let error = RwSignal::new(None::<String>);
    let invite = RwSignal::new(None::<(String, String)>);

    let make_invite = move |agent: Agent| {
        leptos::task::spawn_local(async move {
            match api::post_empty::<Link>(&format!("/v1/agents/{}/invite", agent.id)).await {
                Ok(link) => {
                    invite.try_set(Some((agent.name, format!("{}{}", origin(), link.url))));
                }
                Err(e) => app.report(e),
            }
        });
    };
    let after_change = move |updated: Agent| {
        agents.update(|a| {
            if let Some(Ok(list)) = a {
                match list.iter_mut().find(|x| x.id == updated.id) {
                    Some(x) => *x = updated.clone(),
                    None => list.push(updated.clone()),
                }
            }
        });
        leptos::task::spawn_local(async move { app.load_agents().await });
    };
    let create = move || {
        let input = CreateAgent {
            email: email.get_untracked().trim().to_owned(),
            name: name.get_untracked().trim().to_owned(),
            role: role.get_untracked(),
        };
        if let Err(v) = input.validate() {
            error.set(Some(v.to_string()));
            return;
        }
        error.set(None);
        let body = serde_json::to_value(&input).unwrap_or_default();
        leptos::task::spawn_local(async move {
            match api::post::<Agent>("/v1/agents", &body).await {
                Ok(agent) => {
                    name.try_set(String::new());
                    email.try_set(String::new());
                    after_change(agent.clone());
                    make_invite(agent);
                }
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => {
                    error.try_set(Some(app.error_text(&e)));
                }
            }
        });
    };
    let update = move |id: AgentId, version: u64, body: serde_json::Value| {
        leptos::task::spawn_local(async move {
            match api::patch::<Agent>(&format!("/v1/agents/{id}"), Some(version), &body).await {
                Ok(a) => after_change(a),
                Err(e) => {
                    app.report(e);
                    reload();
                }
            }
        });
    };
    let grantable_rows = grantable.clone();
    let me = app.me_id();
    view! {
        <h2>{app.t(Msg::TabAgents)}</h2>
        {move || {
            invite
                .get()
                .map(|(who, url)| {
                    view! {
                        <div class="card highlight" data-testid="invite-link">
                            <p>{app.tf(Msg::InviteLinkFor, &[("name", &who)])}</p>
                            {copy_field(app, url, "invite-url")}
                        </div>
                    }
                })
        }}
        <div class="card">
            {move || match agents.get() {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => failed(app, text, reload).into_any(),
                Some(Ok(list)) if list.len() <= 1 => {
                    view! {
                        {table(app, list, grantable_rows.clone(), me, update, make_invite)}
                        {empty(Icon::Plus, app.t(Msg::AgentsEmpty).to_owned())}
                    }
                        .into_any()
                }
                Some(Ok(list)) => table(app, list, grantable_rows.clone(), me, update, make_invite).into_any(),
            }}
        </div>
        <form
            class="card form"
            data-testid="add-agent"
            on:submit=move |e| {
                e.prevent_default();
                create();
            }
        >
            <h3>{app.t(Msg::AddAgent)}</h3>
            <div class="form-grid">
                <label>
                    <span>{app.t(Msg::Name)}</span>
                    <input required name="name" bind:value=name />
                </label>
                <label>
                    <span>{app.t(Msg::Email)}</span>
                    <input required type="email" name="email" bind:value=email />
                </label>
                <label>
                    <span>{app.t(Msg::Role)}</span>
                    <select
                        name="role"
                        on:change=move |e| {
                            if let Some(r) = Role::parse(&event_target_value(&e)) {
                                role.set(r);
                            }
                        }
                    >
                        {grantable
                            .iter()
                            .map(|r| view! { <option value=r.as_str() selected=*r == Role::Agent>{app.t(role_msg(*r))}</option> })
                            .collect_view()}
                    </select>
                </label>
            </div>
            {move || error.get().map(|e| view! { <p class="form-error">{e}</p> })}
            <div class="form-actions">
                <button type="submit" class="button primary">{app.t(Msg::AddAgent)}</button>
            </div>
        </form>
    }
}

fn table(
    app: App,
    list: Vec<Agent>,
    grantable: Vec<Role>,
    me: Option<AgentId>,
    update: impl Fn(AgentId, u64, serde_json::Value) + Copy + 'static,
    invite: impl Fn(Agent) + Copy + 'static,
) -> impl IntoView {
    view! {
        <table class="table" data-testid="agents-table">
            <thead>
                <tr>
                    <th>{app.t(Msg::Name)}</th>
                    <th>{app.t(Msg::Email)}</th>
                    <th>{app.t(Msg::Role)}</th>
                    <th>{app.t(Msg::Status)}</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|a| {
                        let editable = Some(a.id) != me && grantable.contains(&a.role);
                        let (id, version, active) = (a.id, a.version, a.active);
                        let agent = a.clone();
                        view! {
                            <tr class:inactive=!a.active>
                                <td>{a.name.clone()}</td>
                                <td>{a.email.clone()}</td>
                                <td>
                                    {if editable {
                                        view! {
                                            <select
                                                aria-label=app.t(Msg::Role)
                                                on:change=move |e| {
                                                    if let Some(r) = Role::parse(&event_target_value(&e)) {
                                                        update(id, version, serde_json::json!({ "role": r }));
                                                    }
                                                }
                                            >
                                                {grantable
                                                    .iter()
                                                    .map(|r| view! { <option value=r.as_str() selected=*r == a.role>{app.t(role_msg(*r))}</option> })
                                                    .collect_view()}
                                            </select>
                                        }
                                            .into_any()
                                    } else {
                                        view! { <span>{app.t(role_msg(a.role))}</span> }.into_any()
                                    }}
                                </td>
                                <td>
                                    {app.t(if a.active { Msg::Active } else { Msg::Deactivated })}
                                </td>
                                <td class="actions">
                                    {editable
                                        .then(|| {
                                            view! {
                                                <button class="button ghost small" on:click=move |_| invite(agent.clone())>
                                                    {app.t(Msg::Invite)}
                                                </button>
                                                <button
                                                    class="button ghost small"
                                                    on:click=move |_| update(id, version, serde_json::json!({ "active": !active }))
                                                >
                                                    {app.t(if active { Msg::Deactivate } else { Msg::Activate })}
                                                </button>
                                            }
                                        })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn KeysTab() -> impl IntoView {
    let app = expect_context::<App>();
    let (keys, reload) = list_loader::<ApiKeyView>(app, "/v1/api-keys?limit=100");
    let name = RwSignal::new(String::new());
    let scope = RwSignal::new(KeyScope::Agent);
    let error = RwSignal::new(None::<String>);
    let fresh = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(None::<edgedesk_shared::ids::ApiKeyId>);
    let my_role = app
        .me
        .with_untracked(|m| m.as_ref().map(|m| m.agent.role))
        .unwrap_or(Role::Viewer);
    let scopes: Vec<KeyScope> = KeyScope::ALL
        .iter()
        .copied()
        .filter(|s| may_grant(my_role, scope_role(*s)))
        .collect();
    let create = move || {
        let input = CreateApiKey {
            name: name.get_untracked().trim().to_owned(),
            scope: scope.get_untracked(),
        };
        if let Err(v) = input.validate() {
            error.set(Some(v.to_string()));
            return;
        }
        error.set(None);
        let body = serde_json::to_value(&input).unwrap_or_default();
        leptos::task::spawn_local(async move {
            match api::post::<NewKey>("/v1/api-keys", &body).await {
                Ok(k) => {
                    fresh.try_set(Some(k.key));
                    name.try_set(String::new());
                    keys.update(|l| {
                        if let Some(Ok(list)) = l {
                            list.insert(0, k.view);
                        }
                    });
                }
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => {
                    error.try_set(Some(app.error_text(&e)));
                }
            }
        });
    };
    let revoke = move |id: edgedesk_shared::ids::ApiKeyId| {
        confirming.set(None);
        leptos::task::spawn_local(async move {
            match api::delete::<ApiKeyView>(&format!("/v1/api-keys/{id}")).await {
                Ok(v) => keys.update(|l| {
                    if let Some(Ok(list)) = l {
                        if let Some(x) = list.iter_mut().find(|x| x.id == v.id) {
                            *x = v;
                        }
                    }
                }),
                Err(e) => app.report(e),
            }
        });
    };
    view! {
        <h2>{app.t(Msg::ApiKeys)}</h2>
        <p class="lead">{app.t(Msg::KeysLead)}</p>
        {move || {
            fresh
                .get()
                .map(|k| {
                    view! {
                        <div class="card highlight" data-testid="new-key">
                            <p>
                                <strong>{app.t(Msg::KeyShownOnce)}</strong>
                            </p>
                            {copy_field(app, k, "new-key-value")}
                        </div>
                    }
                })
        }}
        <form
            class="card form inline-create"
            on:submit=move |e| {
                e.prevent_default();
                create();
            }
        >
            <label>
                <span>{app.t(Msg::Name)}</span>
                <input required data-testid="key-name" bind:value=name />
            </label>
            <label>
                <span>{app.t(Msg::Scope)}</span>
                <select
                    data-testid="key-scope"
                    on:change=move |e| {
                        if let Some(s) = KeyScope::parse(&event_target_value(&e)) {
                            scope.set(s);
                        }
                    }
                >
                    {scopes
                        .iter()
                        .map(|s| view! { <option value=s.as_str() selected=*s == KeyScope::Agent>{app.t(scope_msg(*s))}</option> })
                        .collect_view()}
                </select>
            </label>
            <button type="submit" class="button primary" data-testid="create-key">
                {app.t(Msg::CreateKey)}
            </button>
            {move || error.get().map(|e| view! { <p class="form-error">{e}</p> })}
        </form>
        <div class="card">
            {move || match keys.get() {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => failed(app, text, reload).into_any(),
                Some(Ok(list)) if list.is_empty() => empty(Icon::Lock, app.t(Msg::KeysEmpty).to_owned()).into_any(),
                Some(Ok(list)) => {
                    view! {
                        <table class="table" data-testid="keys-table">
                            <thead>
                                <tr>
                                    <th>{app.t(Msg::Name)}</th>
                                    <th>{app.t(Msg::Scope)}</th>
                                    <th>{app.t(Msg::Prefix)}</th>
                                    <th>{app.t(Msg::Created)}</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|k| {
                                        let id = k.id;
                                        let label = k.name.clone();
                                        view! {
                                            <tr class:inactive=k.revoked_at.is_some() data-testid="key-row">
                                                <td>{k.name.clone()}</td>
                                                <td>{app.t(scope_msg(k.scope))}</td>
                                                <td>
                                                    <code class="truncate">{k.prefix.clone()}</code>
                                                </td>
                                                <td>{date(k.created_at)}</td>
                                                <td class="actions">
                                                    {if k.revoked_at.is_some() {
                                                        view! { <span class="pill revoked">{app.t(Msg::Revoked)}</span> }.into_any()
                                                    } else {
                                                        view! {
                                                            <Show
                                                                when=move || confirming.get() == Some(id)
                                                                fallback=move || {
                                                                    view! {
                                                                        <button
                                                                            class="button ghost small danger"
                                                                            data-testid="revoke-key"
                                                                            on:click=move |_| confirming.set(Some(id))
                                                                        >
                                                                            {app.t(Msg::Revoke)}
                                                                        </button>
                                                                    }
                                                                }
                                                            >
                                                                <span class="confirm">
                                                                    {app.tf(Msg::RevokeConfirm, &[("name", &label)])}
                                                                </span>
                                                                <button
                                                                    class="button small danger"
                                                                    data-testid="confirm-revoke"
                                                                    on:click=move |_| revoke(id)
                                                                >
                                                                    {app.t(Msg::Revoke)}
                                                                </button>
                                                                <button class="button ghost small" on:click=move |_| confirming.set(None)>
                                                                    {app.t(Msg::Cancel)}
                                                                </button>
                                                            </Show>
                                                        }
                                                            .into_any()
                                                    }}
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
        </div>
    }
}

#[component]
fn ChannelsTab() -> impl IntoView {
    let app = expect_context::<App>();
    let (channels, reload) = list_loader::<ApiChannelView>(app, "/v1/channels/api?limit=100");
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let fresh = RwSignal::new(None::<NewApiChannel>);
    let tenant = app.me.with_untracked(|m| m.as_ref().map(|m| m.tenant.id));
    let snippet = tenant
        .map(|t| api::widget_snippet(&origin(), &t))
        .unwrap_or_default();
    let create = move || {
        let input = CreateApiChannel {
            name: name.get_untracked().trim().to_owned(),
        };
        if let Err(v) = input.validate() {
            error.set(Some(v.to_string()));
            return;
        }
        error.set(None);
        let body = serde_json::to_value(&input).unwrap_or_default();
        leptos::task::spawn_local(async move {
            match api::post::<NewApiChannel>("/v1/channels/api", &body).await {
                Ok(c) => {
                    name.try_set(String::new());
                    channels.update(|l| {
                        if let Some(Ok(list)) = l {
                            list.insert(0, c.channel.clone());
                        }
                    });
                    fresh.try_set(Some(c));
                }
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => {
                    error.try_set(Some(app.error_text(&e)));
                }
            }
        });
    };
    view! {
        <h2>{app.t(Msg::TabChannels)}</h2>
        <div class="card">
            <h3>{app.t(Msg::WidgetSnippet)}</h3>
            <p class="lead">{app.t(Msg::WidgetSnippetLead)}</p>
            {copy_field(app, snippet, "widget-snippet")}
        </div>
        <div class="card">
            <h3>{app.t(Msg::ApiChannels)}</h3>
            <p class="lead">{app.t(Msg::ApiChannelsLead)}</p>
            {move || {
                fresh
                    .get()
                    .map(|c| {
                        view! {
                            <div class="highlight inner" data-testid="new-channel">
                                <p>
                                    <strong>{app.t(Msg::ChannelSecretOnce)}</strong>
                                </p>
                                {copy_field(app, c.secret.clone(), "channel-secret")}
                                <p class="muted">{app.t(Msg::InboundUrl)} ": "</p>
                                {copy_field(app, format!("{}{}", origin(), c.channel.inbound_url), "channel-url")}
                            </div>
                        }
                    })
            }}
            <form
                class="form inline-create"
                on:submit=move |e| {
                    e.prevent_default();
                    create();
                }
            >
                <label>
                    <span>{app.t(Msg::Name)}</span>
                    <input required bind:value=name />
                </label>
                <button type="submit" class="button primary">{app.t(Msg::CreateChannel)}</button>
                {move || error.get().map(|e| view! { <p class="form-error">{e}</p> })}
            </form>
            {move || match channels.get() {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => failed(app, text, reload).into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="muted">{app.t(Msg::ChannelsEmpty)}</p> }.into_any(),
                Some(Ok(list)) => {
                    view! {
                        <table class="table">
                            <thead>
                                <tr>
                                    <th>{app.t(Msg::Name)}</th>
                                    <th>{app.t(Msg::InboundUrl)}</th>
                                    <th>{app.t(Msg::Created)}</th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|c| {
                                        view! {
                                            <tr>
                                                <td>{c.name.clone()}</td>
                                                <td>
                                                    <code class="truncate">{c.inbound_url.clone()}</code>
                                                </td>
                                                <td>{date(c.created_at)}</td>
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
        </div>
    }
}

/// Splits the allowed-origins text box into origins, one per line.
fn origins(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim().trim_end_matches('/').to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[component]
fn WidgetTab() -> impl IntoView {
    let app = expect_context::<App>();
    let settings = RwSignal::new(None::<Result<WidgetAdmin, String>>);
    let color = RwSignal::new(String::new());
    let locale = RwSignal::new(String::new());
    let allowed = RwSignal::new(String::new());
    let away = RwSignal::new(String::new());
    let prechat = RwSignal::new(false);
    let require_email = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let fill = move |w: &WidgetAdmin| {
        color.set(w.color.clone());
        locale.set(w.locale.clone());
        allowed.set(w.allowed_origins.join("\n"));
        away.set(w.away_message.clone().unwrap_or_default());
        prechat.set(w.prechat.enabled);
        require_email.set(w.prechat.require_email);
    };
    let load = move || {
        leptos::task::spawn_local(async move {
            match api::get::<WidgetAdmin>("/v1/tenant/widget").await {
                Ok(w) => {
                    if settings.try_get_untracked().is_some() {
                        fill(&w);
                        settings.set(Some(Ok(w)));
                    }
                }
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => {
                    settings.try_set(Some(Err(app.error_text(&e))));
                }
            }
        });
    };
    load();
    let save = move || {
        let away_text = away.get_untracked();
        let body = serde_json::json!({
            "color": color.get_untracked().trim(),
            "locale": locale.get_untracked(),
            "allowed_origins": origins(&allowed.get_untracked()),
            "away_message": (!away_text.trim().is_empty()).then(|| away_text.trim().to_owned()),
            "prechat": { "enabled": prechat.get_untracked(), "require_email": require_email.get_untracked() },
        });
        let check: Result<edgedesk_shared::widget::UpdateWidgetSettings, _> =
            serde_json::from_value(body.clone());
        if let Err(v) = check
            .map_err(|e| e.to_string())
            .and_then(|u| u.validate().map_err(|e| e.to_string()))
        {
            error.set(Some(v));
            return;
        }
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::patch::<serde_json::Value>("/v1/tenant/widget", None, &body).await;
            busy.try_set(false);
            match result {
                Ok(_) => app.toast(false, app.t(Msg::Saved)),
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => {
                    error.try_set(Some(app.error_text(&e)));
                }
            }
        });
    };
    view! {
        <h2>{app.t(Msg::TabWidget)}</h2>
        <p class="lead">{app.t(Msg::WidgetLead)}</p>
        {move || match settings.get() {
            None => loading(app.t(Msg::Loading)).into_any(),
            Some(Err(text)) => failed(app, text, load).into_any(),
            Some(Ok(_)) => {
                view! {
                    <form
                        class="card form"
                        data-testid="widget-form"
                        on:submit=move |e| {
                            e.prevent_default();
                            save();
                        }
                    >
                        <div class="form-grid">
                            <label>
                                <span>{app.t(Msg::Color)}</span>
                                <span class="color-field">
                                    <input type="color" bind:value=color aria-label=app.t(Msg::Color) />
                                    <input bind:value=color maxlength="7" />
                                </span>
                            </label>
                            <label>
                                <span>{app.t(Msg::WidgetLocale)}</span>
                                <select on:change=move |e| locale.set(event_target_value(&e))>
                                    {[("auto", app.t(Msg::LocaleAuto)), ("en", "English"), ("zh-CN", "简体中文")]
                                        .into_iter()
                                        .map(|(v, label)| {
                                            view! { <option value=v selected=locale.get_untracked() == v>{label}</option> }
                                        })
                                        .collect_view()}
                                </select>
                            </label>
                        </div>
                        <label>
                            <span>{app.t(Msg::AllowedOrigins)}</span>
                            <textarea rows="3" data-testid="allowed-origins" bind:value=allowed></textarea>
                            <small>{app.t(Msg::AllowedOriginsHint)}</small>
                        </label>
                        <label class="check">
                            <input type="checkbox" bind:checked=prechat />
                            <span>{app.t(Msg::PrechatEnabled)}</span>
                        </label>
                        <label class="check">
                            <input type="checkbox" bind:checked=require_email disabled=move || !prechat.get() />
                            <span>{app.t(Msg::PrechatRequireEmail)}</span>
                        </label>
                        <label>
                            <span>{app.t(Msg::AwayMessage)}</span>
                            <textarea rows="2" bind:value=away></textarea>
                            <small>{app.t(Msg::AwayMessageHint)}</small>
                        </label>
                        {move || error.get().map(|e| view! { <p class="form-error">{e}</p> })}
                        <div class="form-actions">
                            <button type="submit" class="button primary" disabled=move || busy.get()>
                                {app.t(Msg::Save)}
                            </button>
                        </div>
                    </form>
                }
                    .into_any()
            }
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_are_read_one_per_line_without_trailing_slashes() {
        assert_eq!(
            origins("https://shop.example/\n\n  http://localhost:3000 \n"),
            vec!["https://shop.example", "http://localhost:3000"]
        );
        assert!(origins("   \n").is_empty());
    }

    #[test]
    fn each_notification_choice_is_its_own_field_named_as_in_the_api() {
        for (i, (field, _)) in NOTICES.into_iter().enumerate() {
            let mut p = NotificationPreferences {
                assigned: false,
                mention: false,
                sla_warning: false,
                digest: false,
            };
            *notice(&mut p, field) = true;
            let body = serde_json::to_value(p).unwrap();
            for (j, (other, _)) in NOTICES.into_iter().enumerate() {
                assert_eq!(body[other], i == j, "{field} sets {other}");
            }
            assert_eq!(body.as_object().unwrap().len(), NOTICES.len());
        }
    }

    #[test]
    fn settings_tabs_need_the_matching_permission() {
        assert_eq!(tab_permission(SettingsTab::Profile), None);
        assert_eq!(
            tab_permission(SettingsTab::ApiKeys),
            Some(Permission::ManageKeys)
        );
        assert_eq!(
            tab_permission(SettingsTab::Widget),
            Some(Permission::ManageSettings)
        );
        assert_eq!(
            tab_permission(SettingsTab::Email),
            Some(Permission::ManageSettings)
        );
    }
}
