//! Settings → Email: the email channels (support addresses, sender, how mail is sent, whether
//! new threads open tickets), the inbound webhook's secret shown once, the DNS records to
//! publish, a test send, the mail that was parked instead of becoming a conversation, and the
//! addresses that bounce.

use edgedesk_shared::email::{BouncingAddress, EmailChannelView, ParkedMail, SmtpSecurity};
use leptos::prelude::*;

use crate::api::{self, ApiError, TestSendResult};
use crate::email::{
    bounce_path, park_reason_msg, port_for, safe_link, secret_stored, support_addresses,
    transport_summary, ChannelForm, TransportKind, MAILGUN_REGIONS, SECURITIES,
};
use crate::i18n::Msg;
use crate::route::Route;
use crate::ui::bot::{confirm, note};
use crate::ui::common::{copy_field, failed, loading, Icon};
use crate::ui::settings::{date, list_loader, origin};
use crate::ui::state::{copy_to_clipboard, App};

/// The channel form's fields, one signal each for the inputs to bind to.
#[derive(Clone, Copy)]
struct Fields {
    name: RwSignal<String>,
    addresses: RwSignal<String>,
    from_name: RwSignal<String>,
    from_address: RwSignal<String>,
    kind: RwSignal<TransportKind>,
    host: RwSignal<String>,
    port: RwSignal<String>,
    security: RwSignal<SmtpSecurity>,
    username: RwSignal<String>,
    password: RwSignal<String>,
    base_url: RwSignal<String>,
    domain: RwSignal<String>,
    api_key: RwSignal<String>,
    binding: RwSignal<String>,
    create_tickets: RwSignal<bool>,
}

impl Fields {
    fn new() -> Fields {
        let f = ChannelForm::default();
        Fields {
            name: RwSignal::new(f.name),
            addresses: RwSignal::new(f.addresses),
            from_name: RwSignal::new(f.from_name),
            from_address: RwSignal::new(f.from_address),
            kind: RwSignal::new(f.kind),
            host: RwSignal::new(f.host),
            port: RwSignal::new(f.port),
            security: RwSignal::new(f.security),
            username: RwSignal::new(f.username),
            password: RwSignal::new(f.password),
            base_url: RwSignal::new(f.base_url),
            domain: RwSignal::new(f.domain),
            api_key: RwSignal::new(f.api_key),
            binding: RwSignal::new(f.binding),
            create_tickets: RwSignal::new(f.create_tickets),
        }
    }

    fn set(&self, f: ChannelForm) {
        self.name.set(f.name);
        self.addresses.set(f.addresses);
        self.from_name.set(f.from_name);
        self.from_address.set(f.from_address);
        self.kind.set(f.kind);
        self.host.set(f.host);
        self.port.set(f.port);
        self.security.set(f.security);
        self.username.set(f.username);
        self.password.set(f.password);
        self.base_url.set(f.base_url);
        self.domain.set(f.domain);
        self.api_key.set(f.api_key);
        self.binding.set(f.binding);
        self.create_tickets.set(f.create_tickets);
    }

    fn get(&self) -> ChannelForm {
        ChannelForm {
            name: self.name.get_untracked(),
            addresses: self.addresses.get_untracked(),
            from_name: self.from_name.get_untracked(),
            from_address: self.from_address.get_untracked(),
            kind: self.kind.get_untracked(),
            host: self.host.get_untracked(),
            port: self.port.get_untracked(),
            security: self.security.get_untracked(),
            username: self.username.get_untracked(),
            password: self.password.get_untracked(),
            base_url: self.base_url.get_untracked(),
            domain: self.domain.get_untracked(),
            api_key: self.api_key.get_untracked(),
            binding: self.binding.get_untracked(),
            create_tickets: self.create_tickets.get_untracked(),
        }
    }
}

/// A value in a table with a small copy button beside it.
fn copyable(app: App, value: String) -> impl IntoView {
    let v = value.clone();
    view! {
        <span class="copy-inline">
            <code>{value}</code>
            <button
                type="button"
                class="icon-button"
                aria-label=app.t(Msg::Copy)
                title=app.t(Msg::Copy)
                on:click=move |_| copy_to_clipboard(app, v.clone())
            >
                {Icon::Copy.view()}
            </button>
        </span>
    }
}

/// A labelled text input bound to a signal.
fn field(
    app: App,
    label: Msg,
    value: RwSignal<String>,
    testid: &'static str,
    kind: &'static str,
) -> impl IntoView {
    view! {
        <label>
            <span>{app.t(label)}</span>
            <input type=kind data-testid=testid bind:value=value />
        </label>
    }
}

#[component]
pub fn EmailTab() -> impl IntoView {
    let app = expect_context::<App>();
    let (channels, reload) = list_loader::<EmailChannelView>(app, "/v1/channels/email?limit=100");
    let fields = Fields::new();
    // The channel the form changes; `None`: the form creates one.
    let editing = RwSignal::new(None::<EmailChannelView>);
    // The inbound secret of the channel just created: in the create answer only.
    let secret = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);

    let open = move |v: Option<EmailChannelView>| {
        fields.set(v.as_ref().map(ChannelForm::of).unwrap_or_default());
        error.set(None);
        editing.set(v);
    };
    let keep = move |v: EmailChannelView| {
        channels.update(|l| {
            if let Some(Ok(list)) = l {
                match list.iter_mut().find(|x| x.id == v.id) {
                    Some(x) => *x = v,
                    None => list.push(v),
                }
            }
        });
    };
    let save = move || {
        let form = fields.get();
        let current = editing.get_untracked();
        let body = match &current {
            Some(_) => form
                .update()
                .map(|u| serde_json::to_value(u).unwrap_or_default()),
            None => form
                .create()
                .map(|c| serde_json::to_value(c).unwrap_or_default()),
        };
        let body = match body {
            Ok(b) => b,
            Err(e) => return error.set(Some(app.t(e.msg()).to_owned())),
        };
        error.set(None);
        saving.set(true);
        leptos::task::spawn_local(async move {
            let result = match current {
                Some(c) => {
                    let path = format!("/v1/channels/email/{}", c.id);
                    api::patch::<EmailChannelView>(&path, Some(c.version), &body)
                        .await
                        .map(|v| (v, None))
                }
                None => api::create_email_channel(&body)
                    .await
                    .map(|(v, s)| (v, Some(s))),
            };
            saving.try_set(false);
            match result {
                Ok((v, new_secret)) => {
                    keep(v.clone());
                    secret.try_set(new_secret);
                    open(Some(v));
                    app.toast(false, app.t(Msg::Saved));
                }
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => {
                    error.try_set(Some(app.error_text(&e)));
                }
            }
        });
    };
    let remove = move |v: EmailChannelView| {
        if !confirm(&app.tf(Msg::DeleteConfirm, &[("name", &v.name)])) {
            return;
        }
        leptos::task::spawn_local(async move {
            match api::delete::<()>(&format!("/v1/channels/email/{}", v.id)).await {
                Ok(()) => {
                    channels.update(|l| {
                        if let Some(Ok(list)) = l {
                            list.retain(|x| x.id != v.id);
                        }
                    });
                    if editing.with_untracked(|e| e.as_ref().is_some_and(|e| e.id == v.id)) {
                        secret.set(None);
                        open(None);
                    }
                }
                Err(e) => app.report(e),
            }
        });
    };

    view! {
        <h2>{app.t(Msg::TabEmail)}</h2>
        <p class="lead">{app.t(Msg::EmailLead)}</p>
        <div class="card">
            <h3>{app.t(Msg::EmailChannels)}</h3>
            {move || match channels.get() {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => failed(app, text, reload).into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    note("muted", "status", app.t(Msg::EmailChannelsEmpty).to_owned())
                }
                Some(Ok(list)) => {
                    view! {
                        <div class="table-scroll">
                            <table class="table" data-testid="email-channels">
                                <thead>
                                    <tr>
                                        <th>{app.t(Msg::Name)}</th>
                                        <th>{app.t(Msg::SupportAddresses)}</th>
                                        <th>{app.t(Msg::Transport)}</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list
                                        .into_iter()
                                        .map(|c| {
                                            let (to_edit, to_remove) = (c.clone(), c.clone());
                                            view! {
                                                <tr data-testid="email-channel-row">
                                                    <td>{c.name.clone()}</td>
                                                    <td>{c.addresses.join(", ")}</td>
                                                    <td>{transport_summary(app.locale.get(), &c.transport)}</td>
                                                    <td class="actions">
                                                        <button
                                                            class="button ghost small"
                                                            on:click=move |_| {
                                                                secret.set(None);
                                                                open(Some(to_edit.clone()));
                                                            }
                                                        >
                                                            {app.t(Msg::Edit)}
                                                        </button>
                                                        <button
                                                            class="button ghost small danger"
                                                            on:click=move |_| remove(to_remove.clone())
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
                        </div>
                    }
                        .into_any()
                }
            }}
        </div>
        {move || {
            secret
                .get()
                .map(|s| {
                    view! {
                        <div class="card highlight" data-testid="email-new-secret">
                            <p>
                                <strong>{app.t(Msg::EmailSecretOnce)}</strong>
                            </p>
                            {copy_field(app, s, "email-secret")}
                        </div>
                    }
                })
        }}
        <form
            class="card form"
            data-testid="email-form"
            on:submit=move |e| {
                e.prevent_default();
                save();
            }
        >
            <h3>
                {move || match editing.get() {
                    Some(c) => app.tf(Msg::EditEmailChannel, &[("name", &c.name)]),
                    None => app.t(Msg::NewEmailChannel).to_owned(),
                }}
            </h3>
            <div class="form-grid">
                {field(app, Msg::Name, fields.name, "email-name", "text")}
                <label>
                    <span>{app.t(Msg::SenderName)}</span>
                    <input data-testid="email-from-name" bind:value=fields.from_name />
                    <small>{app.t(Msg::SenderNameHint)}</small>
                </label>
            </div>
            <div class="form-grid">
                <label>
                    <span>{app.t(Msg::SupportAddresses)}</span>
                    <textarea rows="3" data-testid="email-addresses" bind:value=fields.addresses></textarea>
                    <small>{app.t(Msg::SupportAddressesHint)}</small>
                </label>
                <label>
                    <span>{app.t(Msg::SenderAddress)}</span>
                    <select
                        data-testid="email-from-address"
                        on:change=move |e| fields.from_address.set(event_target_value(&e))
                    >
                        {move || {
                            let chosen = fields.from_address.get().trim().to_lowercase();
                            let list = support_addresses(&fields.addresses.get());
                            let first = list.first().cloned();
                            let selected = if list.contains(&chosen) { Some(chosen) } else { first };
                            list.into_iter()
                                .map(|a| {
                                    let on = selected.as_deref() == Some(a.as_str());
                                    let label = a.clone();
                                    view! { <option value=a selected=on>{label}</option> }
                                })
                                .collect_view()
                        }}
                    </select>
                </label>
            </div>
            <fieldset class="choices">
                <legend>{app.t(Msg::Transport)}</legend>
                {TransportKind::ALL
                    .into_iter()
                    .map(|k| {
                        view! {
                            <label class="check">
                                <input
                                    type="radio"
                                    name="email-transport"
                                    value=k.as_str()
                                    data-testid=format!("transport-{}", k.as_str())
                                    prop:checked=move || fields.kind.get() == k
                                    on:change=move |_| fields.kind.set(k)
                                />
                                <span>{app.t(k.msg())}</span>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            {move || {
                let kind = fields.kind.get();
                let keep_hint = secret_stored(editing.get().as_ref(), kind)
                    .then(|| view! { <small data-testid="secret-keep">{app.t(Msg::SecretKeep)}</small> });
                match kind {
                    TransportKind::Smtp => {
                        view! {
                            <div class="form-grid">
                                {field(app, Msg::SmtpHost, fields.host, "smtp-host", "text")}
                                {field(app, Msg::SmtpPort, fields.port, "smtp-port", "text")}
                                <label>
                                    <span>{app.t(Msg::SmtpSecurity)}</span>
                                    <select
                                        data-testid="smtp-security"
                                        on:change=move |e| {
                                            let v = event_target_value(&e);
                                            if let Some((s, _, _)) = SECURITIES.iter().find(|(_, w, _)| *w == v) {
                                                let before = fields.security.get_untracked();
                                                fields.port.update(|p| *p = port_for(p, before, *s));
                                                fields.security.set(*s);
                                            }
                                        }
                                    >
                                        {SECURITIES
                                            .iter()
                                            .map(|(s, wire, label)| {
                                                view! {
                                                    <option value=*wire selected=fields.security.get_untracked() == *s>
                                                        {app.t(*label)}
                                                    </option>
                                                }
                                            })
                                            .collect_view()}
                                    </select>
                                </label>
                                {field(app, Msg::Username, fields.username, "smtp-username", "text")}
                                <label>
                                    <span>{app.t(Msg::Password)}</span>
                                    <input
                                        type="password"
                                        autocomplete="new-password"
                                        data-testid="smtp-password"
                                        bind:value=fields.password
                                    />
                                    {keep_hint}
                                </label>
                            </div>
                        }
                            .into_any()
                    }
                    TransportKind::Mailgun => {
                        view! {
                            <div class="form-grid">
                                <label>
                                    <span>{app.t(Msg::MailgunRegion)}</span>
                                    <select
                                        data-testid="mailgun-region"
                                        on:change=move |e| fields.base_url.set(event_target_value(&e))
                                    >
                                        {MAILGUN_REGIONS
                                            .iter()
                                            .map(|(url, label)| {
                                                view! {
                                                    <option value=*url selected=fields.base_url.get_untracked() == *url>
                                                        {app.t(*label)}
                                                    </option>
                                                }
                                            })
                                            .collect_view()}
                                    </select>
                                </label>
                                {field(app, Msg::MailgunDomain, fields.domain, "mailgun-domain", "text")}
                                <label>
                                    <span>{app.t(Msg::ApiKey)}</span>
                                    <input
                                        type="password"
                                        autocomplete="new-password"
                                        data-testid="mailgun-api-key"
                                        bind:value=fields.api_key
                                    />
                                    {keep_hint}
                                </label>
                            </div>
                        }
                            .into_any()
                    }
                    TransportKind::Cloudflare => {
                        view! {
                            <label>
                                <span>{app.t(Msg::Binding)}</span>
                                <input data-testid="cloudflare-binding" bind:value=fields.binding />
                                <small>{app.t(Msg::BindingHint)}</small>
                            </label>
                        }
                            .into_any()
                    }
                }
            }}
            <label class="check">
                <input type="checkbox" data-testid="email-create-tickets" bind:checked=fields.create_tickets />
                <span>{app.t(Msg::CreateTicketsOption)}</span>
            </label>
            {move || {
                error.get().map(|e| view! { <p class="form-error" role="alert" data-testid="email-form-error">{e}</p> })
            }}
            <div class="form-actions">
                <Show when=move || editing.with(Option::is_some)>
                    <button
                        type="button"
                        class="button ghost"
                        on:click=move |_| {
                            secret.set(None);
                            open(None);
                        }
                    >
                        {app.t(Msg::Cancel)}
                    </button>
                </Show>
                <button type="submit" class="button primary" data-testid="email-save" disabled=move || saving.get()>
                    {move || {
                        app.t(
                            match (saving.get(), editing.with(Option::is_some)) {
                                (true, _) => Msg::Saving,
                                (false, true) => Msg::Save,
                                (false, false) => Msg::CreateChannel,
                            },
                        )
                    }}
                </button>
            </div>
        </form>
        {move || editing.get().map(|c| view! { <ChannelDetails channel=c /> })}
        <ParkedList />
        <BounceList />
    }
}

/// What belongs to a saved channel: where providers post mail, the DNS records to publish
/// and a test send.
#[component]
fn ChannelDetails(channel: EmailChannelView) -> impl IntoView {
    let app = expect_context::<App>();
    let id = channel.id;
    let to = RwSignal::new(String::new());
    let sending = RwSignal::new(false);
    let result = RwSignal::new(None::<(bool, String)>);
    let test = move || {
        let body = serde_json::json!({ "to": to.get_untracked().trim() });
        sending.set(true);
        result.set(None);
        leptos::task::spawn_local(async move {
            let answer =
                api::post::<TestSendResult>(&format!("/v1/channels/email/{id}/test"), &body).await;
            sending.try_set(false);
            let line = match answer {
                Ok(r) if r.sent => (
                    true,
                    match r.response {
                        Some(resp) => app.tf(Msg::TestSent, &[("response", &resp)]),
                        None => app.t(Msg::TestSentPlain).to_owned(),
                    },
                ),
                Ok(r) => (
                    false,
                    app.tf(Msg::TestFailed, &[("error", &r.error.unwrap_or_default())]),
                ),
                Err(e @ ApiError::Unauthorized(_)) => return app.report(e),
                Err(e) => (
                    false,
                    app.tf(Msg::TestFailed, &[("error", &app.error_text(&e))]),
                ),
            };
            result.try_set(Some(line));
        });
    };
    view! {
        <div class="card" data-testid="email-inbound">
            <h3>{app.t(Msg::InboundWebhook)}</h3>
            <p class="lead">{app.t(Msg::InboundWebhookLead)}</p>
            {copy_field(app, format!("{}{}", origin(), channel.inbound_url), "email-inbound-url")}
        </div>
        <div class="card" data-testid="email-dns">
            <h3>{app.t(Msg::DnsHeading)}</h3>
            <p class="lead">{app.t(Msg::DnsLead)}</p>
            <div class="table-scroll">
                <table class="table dns-table">
                    <thead>
                        <tr>
                            <th>{app.t(Msg::DnsPurpose)}</th>
                            <th>{app.t(Msg::Name)}</th>
                            <th>{app.t(Msg::DnsType)}</th>
                            <th>{app.t(Msg::DnsValue)}</th>
                            <th>{app.t(Msg::DnsNote)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {channel
                            .dns
                            .into_iter()
                            .map(|h| {
                                view! {
                                    <tr data-testid="dns-hint" data-kind=h.kind.clone()>
                                        <td>
                                            <span class="pill">{h.kind.to_uppercase()}</span>
                                        </td>
                                        <td>{copyable(app, h.name)}</td>
                                        <td>{h.record_type}</td>
                                        <td>{copyable(app, h.value)}</td>
                                        <td class="muted">{h.note}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </div>
        <form
            class="card form"
            data-testid="email-test"
            on:submit=move |e| {
                e.prevent_default();
                test();
            }
        >
            <h3>{app.t(Msg::TestSend)}</h3>
            <div class="inline-create form">
                <label>
                    <span>{app.t(Msg::TestRecipient)}</span>
                    <input type="email" required data-testid="email-test-to" bind:value=to />
                </label>
                <button type="submit" class="button" data-testid="email-test-send" disabled=move || sending.get()>
                    {Icon::Send.view()}
                    <span>{app.t(Msg::TestSendButton)}</span>
                </button>
            </div>
            {move || {
                result
                    .get()
                    .map(|(sent, line)| {
                        view! {
                            <p class=if sent { "test-result sent" } else { "form-error" } role="status" data-testid="email-test-result">
                                {line}
                            </p>
                        }
                    })
            }}
        </form>
    }
}

/// Mail the channels kept aside, newest first, with a link to the original.
#[component]
fn ParkedList() -> impl IntoView {
    let app = expect_context::<App>();
    let (parked, reload) = list_loader::<ParkedMail>(app, "/v1/channels/email/parked?limit=50");
    view! {
        <div class="card" data-testid="email-parked">
            <h3>{app.t(Msg::ParkedHeading)}</h3>
            <p class="lead">{app.t(Msg::ParkedLead)}</p>
            {move || match parked.get() {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => failed(app, text, reload).into_any(),
                Some(Ok(list)) if list.is_empty() => note("muted", "status", app.t(Msg::ParkedEmpty).to_owned()),
                Some(Ok(list)) => {
                    view! {
                        <div class="table-scroll">
                            <table class="table">
                                <thead>
                                    <tr>
                                        <th>{app.t(Msg::Reason)}</th>
                                        <th>{app.t(Msg::From)}</th>
                                        <th>{app.t(Msg::Subject)}</th>
                                        <th>{app.t(Msg::Received)}</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list
                                        .into_iter()
                                        .map(|p| {
                                            let original = p.original_url.as_deref().and_then(safe_link).map(str::to_owned);
                                            view! {
                                                <tr data-testid="parked-row">
                                                    <td>
                                                        <span class="pill" title=p.detail.clone()>{app.t(park_reason_msg(p.reason))}</span>
                                                    </td>
                                                    <td>{p.from.clone().unwrap_or_default()}</td>
                                                    <td>{p.subject.clone()}</td>
                                                    <td>{date(p.received_at)}</td>
                                                    <td class="actions">
                                                        {original
                                                            .map(|u| {
                                                                view! {
                                                                    <a class="button ghost small" href=u target="_blank" rel="noopener noreferrer">
                                                                        {app.t(Msg::ShowOriginal)}
                                                                    </a>
                                                                }
                                                            })}
                                                        {p
                                                            .conversation_id
                                                            .map(|c| {
                                                                view! {
                                                                    <a class="button ghost small" href=Route::Inbox(Some(c)).href()>
                                                                        {app.t(Msg::OpenConversation)}
                                                                    </a>
                                                                }
                                                            })}
                                                    </td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}

/// Addresses mail could not be delivered to, each with a button that lets replies go to it
/// again.
#[component]
fn BounceList() -> impl IntoView {
    let app = expect_context::<App>();
    let (bounces, reload) =
        list_loader::<BouncingAddress>(app, "/v1/channels/email/bounces?limit=100");
    let clear = move |address: String| {
        leptos::task::spawn_local(async move {
            match api::delete::<()>(&bounce_path(&address)).await {
                Ok(()) => bounces.update(|l| {
                    if let Some(Ok(list)) = l {
                        list.retain(|b| b.address != address);
                    }
                }),
                Err(e) => app.report(e),
            }
        });
    };
    view! {
        <div class="card" data-testid="email-bounces">
            <h3>{app.t(Msg::BouncesHeading)}</h3>
            <p class="lead">{app.t(Msg::BouncesLead)}</p>
            {move || match bounces.get() {
                None => loading(app.t(Msg::Loading)).into_any(),
                Some(Err(text)) => failed(app, text, reload).into_any(),
                Some(Ok(list)) if list.is_empty() => note("muted", "status", app.t(Msg::BouncesEmpty).to_owned()),
                Some(Ok(list)) => {
                    view! {
                        <table class="table">
                            <thead>
                                <tr>
                                    <th>{app.t(Msg::Address)}</th>
                                    <th>{app.t(Msg::Status)}</th>
                                    <th>{app.t(Msg::Since)}</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|b| {
                                        let address = b.address.clone();
                                        let kind = app.t(if b.permanent { Msg::Permanent } else { Msg::Temporary });
                                        let status = match &b.status {
                                            Some(s) => format!("{kind} · {s}"),
                                            None => kind.to_owned(),
                                        };
                                        view! {
                                            <tr data-testid="bounce-row">
                                                <td>{b.address.clone()}</td>
                                                <td>{status}</td>
                                                <td>{date(b.at)}</td>
                                                <td class="actions">
                                                    <button
                                                        class="button ghost small"
                                                        data-testid="bounce-clear"
                                                        on:click=move |_| clear(address.clone())
                                                    >
                                                        {app.t(Msg::ClearBounce)}
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
        </div>
    }
}
