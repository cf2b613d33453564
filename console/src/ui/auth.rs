//! Getting in: the sign-in form, first-run workspace creation from the host's setup link,
//! accepting an invitation, and changing one's password.
//!
//! Inputs are checked with the same rules the server applies (`edgedesk-shared`), so most
//! mistakes are explained before a request is sent; the server's answer stays authoritative.

use edgedesk_shared::api::{CreateAgent, CreateTenant};
use edgedesk_shared::model::Role;
use edgedesk_shared::session::validate_password;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::api::{self, ApiError, Me};
use crate::i18n::{Locale, Msg};
use crate::ui::app::begin_session;
use crate::ui::state::App;

fn language_switch(app: App) -> impl IntoView {
    view! {
        <div class="auth-lang">
            {Locale::ALL
                .into_iter()
                .map(|l| {
                    view! {
                        <button
                            type="button"
                            class="link"
                            class:active=move || app.locale.get() == l
                            on:click=move |_| app.set_locale(l)
                        >
                            {l.native_name()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}

fn brand() -> impl IntoView {
    view! {
        <div class="auth-brand">
            <span class="logo">"E"</span>
            <span>"EdgeDesk"</span>
        </div>
    }
}

fn field_error(error: RwSignal<Option<String>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <p class="form-error" role="alert">
                    {e}
                </p>
            }
        })
    }
}

#[component]
pub fn SignIn(reason: Option<Msg>) -> impl IntoView {
    let app = expect_context::<App>();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |e: SubmitEvent| {
        e.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let body = serde_json::json!({
            "email": email.get_untracked().trim(),
            "password": password.get_untracked(),
        });
        leptos::task::spawn_local(async move {
            match api::post::<Me>("/v1/auth/login", &body).await {
                Ok(me) => begin_session(app, me),
                Err(e) => {
                    busy.set(false);
                    let text = match &e {
                        ApiError::Unauthorized(_) => app.t(Msg::WrongCredentials).to_owned(),
                        ApiError::Rejected { status: 429, .. } => {
                            app.t(Msg::TooManyAttempts).to_owned()
                        }
                        other => app.error_text(other),
                    };
                    error.set(Some(text));
                }
            }
        });
    };
    view! {
        <main class="auth">
            <form class="auth-card" on:submit=submit>
                {brand()}
                <h1>{app.t(Msg::SignInTitle)}</h1>
                <p class="lead">{app.t(Msg::SignInLead)}</p>
                {reason.map(|r| view! { <p class="notice">{app.t(r)}</p> })}
                <label>
                    <span>{app.t(Msg::Email)}</span>
                    <input type="email" name="email" autocomplete="username" required bind:value=email />
                </label>
                <label>
                    <span>{app.t(Msg::Password)}</span>
                    <input
                        type="password"
                        name="password"
                        autocomplete="current-password"
                        required
                        bind:value=password
                    />
                </label>
                {field_error(error)}
                <button type="submit" class="button primary wide" disabled=move || busy.get()>
                    {move || app.t(if busy.get() { Msg::SigningIn } else { Msg::SignIn })}
                </button>
                {language_switch(app)}
            </form>
        </main>
    }
}

#[component]
pub fn SetupWorkspace(token: String) -> impl IntoView {
    let app = expect_context::<App>();
    let workspace = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let token = StoredValue::new(token);
    let submit = move |e: SubmitEvent| {
        e.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (workspace, name, email, password) = (
            workspace.get_untracked().trim().to_owned(),
            name.get_untracked().trim().to_owned(),
            email.get_untracked().trim().to_owned(),
            password.get_untracked(),
        );
        let check = CreateTenant {
            name: workspace.clone(),
        }
        .validate()
        .map_err(|e| format!("{}: {}", app.t(Msg::WorkspaceName), e.message))
        .and_then(|_| {
            CreateAgent {
                email: email.clone(),
                name: name.clone(),
                role: Role::Owner,
            }
            .validate()
            .map_err(|e| e.to_string())
        })
        .and_then(|_| {
            validate_password("password", &password)
                .map_err(|e| format!("{}: {}", app.t(Msg::Password), e.message))
        });
        if let Err(text) = check {
            error.set(Some(text));
            return;
        }
        busy.set(true);
        error.set(None);
        let body = serde_json::json!({
            "token": token.get_value(),
            "tenant_name": workspace,
            "name": name,
            "email": email,
            "password": password,
        });
        leptos::task::spawn_local(async move {
            match api::post::<Me>("/v1/setup", &body).await {
                Ok(me) => begin_session(app, me),
                Err(e) => {
                    busy.set(false);
                    let text = match &e {
                        ApiError::NotFound(_) => app.t(Msg::SetupLinkUsed).to_owned(),
                        other => app.error_text(other),
                    };
                    error.set(Some(text));
                }
            }
        });
    };
    view! {
        <main class="auth">
            <form class="auth-card" on:submit=submit data-testid="setup-form">
                {brand()}
                <h1>{app.t(Msg::SetupTitle)}</h1>
                <p class="lead">{app.t(Msg::SetupLead)}</p>
                <label>
                    <span>{app.t(Msg::WorkspaceName)}</span>
                    <input name="tenant_name" required autocomplete="organization" bind:value=workspace />
                </label>
                <label>
                    <span>{app.t(Msg::YourName)}</span>
                    <input name="name" required autocomplete="name" bind:value=name />
                </label>
                <label>
                    <span>{app.t(Msg::Email)}</span>
                    <input type="email" name="email" required autocomplete="username" bind:value=email />
                </label>
                <label>
                    <span>{app.t(Msg::Password)}</span>
                    <input
                        type="password"
                        name="password"
                        required
                        autocomplete="new-password"
                        bind:value=password
                    />
                    <small>{app.t(Msg::PasswordHint)}</small>
                </label>
                {field_error(error)}
                <button type="submit" class="button primary wide" disabled=move || busy.get()>
                    {app.t(Msg::CreateWorkspace)}
                </button>
                <button type="button" class="link" on:click=move |_| app.gate.set(crate::ui::state::Gate::SignIn(None))>
                    {app.t(Msg::SignIn)}
                </button>
                {language_switch(app)}
            </form>
        </main>
    }
}

#[component]
pub fn AcceptInvite(token: String) -> impl IntoView {
    let app = expect_context::<App>();
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let token = StoredValue::new(token);
    let submit = move |e: SubmitEvent| {
        e.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let pw = password.get_untracked();
        if let Err(v) = validate_password("password", &pw) {
            error.set(Some(format!("{}: {}", app.t(Msg::Password), v.message)));
            return;
        }
        busy.set(true);
        error.set(None);
        let body = serde_json::json!({ "token": token.get_value(), "password": pw });
        leptos::task::spawn_local(async move {
            match api::post::<Me>("/v1/auth/accept-invite", &body).await {
                Ok(me) => begin_session(app, me),
                Err(e) => {
                    busy.set(false);
                    let text = match &e {
                        ApiError::NotFound(_) => app.t(Msg::InviteUsed).to_owned(),
                        other => app.error_text(other),
                    };
                    error.set(Some(text));
                }
            }
        });
    };
    view! {
        <main class="auth">
            <form class="auth-card" on:submit=submit>
                {brand()}
                <h1>{app.t(Msg::InviteTitle)}</h1>
                <p class="lead">{app.t(Msg::InviteLead)}</p>
                <label>
                    <span>{app.t(Msg::ChoosePassword)}</span>
                    <input
                        type="password"
                        name="password"
                        required
                        autocomplete="new-password"
                        bind:value=password
                    />
                    <small>{app.t(Msg::PasswordHint)}</small>
                </label>
                {field_error(error)}
                <button type="submit" class="button primary wide" disabled=move || busy.get()>
                    {app.t(Msg::AcceptInvite)}
                </button>
                {language_switch(app)}
            </form>
        </main>
    }
}

/// The password change form of the profile page.
#[component]
pub fn ChangePassword() -> impl IntoView {
    let app = expect_context::<App>();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |e: SubmitEvent| {
        e.prevent_default();
        let (cur, pw) = (current.get_untracked(), new.get_untracked());
        if let Err(v) = validate_password("new_password", &pw) {
            error.set(Some(format!("{}: {}", app.t(Msg::NewPassword), v.message)));
            return;
        }
        busy.set(true);
        error.set(None);
        let body = serde_json::json!({ "current_password": cur, "new_password": pw });
        leptos::task::spawn_local(async move {
            let result = api::post::<()>("/v1/auth/password", &body).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    current.set(String::new());
                    new.set(String::new());
                    app.toast(false, app.t(Msg::PasswordChanged));
                }
                // A wrong current password is a 401 here, not a lost session.
                Err(ApiError::Unauthorized(m)) if m.contains("current password") => {
                    error.set(Some(app.t(Msg::WrongCurrentPassword).to_owned()))
                }
                Err(e @ ApiError::Unauthorized(_)) => app.report(e),
                Err(e) => error.set(Some(app.error_text(&e))),
            }
        });
    };
    view! {
        <form class="card form" on:submit=submit>
            <h3>{app.t(Msg::ChangePassword)}</h3>
            <label>
                <span>{app.t(Msg::CurrentPassword)}</span>
                <input type="password" autocomplete="current-password" required bind:value=current />
            </label>
            <label>
                <span>{app.t(Msg::NewPassword)}</span>
                <input type="password" autocomplete="new-password" required bind:value=new />
                <small>{app.t(Msg::PasswordHint)}</small>
            </label>
            {field_error(error)}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || busy.get()>
                    {app.t(Msg::ChangePassword)}
                </button>
            </div>
        </form>
    }
}
