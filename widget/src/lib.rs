//! EdgeDesk's embeddable chat widget.
//!
//! A site adds one tag, `<script src="https://HOST/widget.js" data-tenant="ten_…" async>`.
//! That loader (`js/loader.js`) waits for the page's load event and an idle moment, then
//! imports this crate's wasm-bindgen glue and calls [`boot`], which builds the widget in a
//! shadow root and returns the command function behind `window.EdgeDesk`.
//!
//! Modules: [`ui`] builds the DOM, [`app`] holds the behaviour, [`realtime`] keeps the event
//! stream, [`api`] and [`wire`] talk to the server (docs/widget-api.md), and the pure parts —
//! [`timeline`] ordering, [`backoff`] pacing, [`i18n`] wording — are unit-tested natively.

// In the browser the crate is `no_std`: std's panic handler formats its message, which
// links `core::fmt` and costs about 10 KB of gzipped wasm; the handler below just traps.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod api;
pub mod app;
pub mod backoff;
pub mod i18n;
pub mod realtime;
pub mod slot;
pub mod timeline;
pub mod ui;
pub mod wire;

use alloc::borrow::ToOwned;
use alloc::string::String;

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::{Event, EventTarget, KeyboardEvent};

use crate::app::App;

/// Runs one JS API command, numbered as the loader lists them: `open`, `close`, `toggle`,
/// `setUser(user)`, `setAttributes(attributes)`, `reset`. (Listeners, `on(...)`, live in the
/// loader.)
fn command(app: &'static App, index: u32, arg: JsValue) {
    match index {
        0 => app.open(),
        1 => app.close(),
        2 => app.toggle(),
        3 => app.set_user(arg),
        4 => app.set_attributes(arg),
        5 => app.reset(),
        _ => {}
    }
}

/// Whether a tenant id can go into a URL path as is (`ten_` + ULID characters).
fn valid_tenant(t: &str) -> bool {
    t.starts_with("ten_")
        && t.len() <= 64
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Builds the widget and returns its command function, `(index, argument) => void`, which the
/// loader calls for `EdgeDesk.open()` and the rest (a function rather than an exported class
/// keeps the glue small). `base` is the API origin (the loader's own origin unless the tag
/// says `data-api`), `locale` the tag's `data-locale` (may be empty), and `emit(type,
/// detail)` reaches the page's `EdgeDesk.on(type, fn)` listeners.
#[wasm_bindgen]
pub fn boot(
    tenant: String,
    base: String,
    locale: String,
    emit: Function,
) -> Result<JsValue, JsValue> {
    if !valid_tenant(&tenant) {
        return Err(JsValue::from_str(
            "EdgeDesk: data-tenant must be a tenant id (ten_…)",
        ));
    }
    let doc = api::window()
        .document()
        .ok_or_else(|| JsValue::from_str("EdgeDesk: no document"))?;
    let ui = ui::Ui::build(&doc)?;
    let api = api::Api {
        base: base.trim_end_matches('/').to_owned(),
        tenant,
    };
    let locale = Some(locale).filter(|l| !l.is_empty());
    let app = App::new(ui, api, emit, locale);
    listen(app, &doc)?;
    app.start();
    app.emit("ready", &JsValue::NULL);
    Ok(
        Closure::<dyn Fn(u32, JsValue)>::new(move |index: u32, arg: JsValue| {
            command(app, index, arg)
        })
        .into_js_value(),
    )
}

/// Adds a listener that lives as long as the page.
fn on(
    target: &EventTarget,
    kind: &str,
    app: &'static App,
    f: fn(&'static App, Event),
) -> Result<(), JsValue> {
    let cb = Closure::<dyn Fn(Event)>::new(move |e: Event| f(app, e));
    target.add_event_listener_with_callback(kind, cb.as_ref().unchecked_ref())?;
    cb.forget();
    Ok(())
}

fn listen(app: &'static App, doc: &web_sys::Document) -> Result<(), JsValue> {
    let ui = &app.ui;
    on(ui.launcher(), "click", app, |app, _| app.toggle())?;
    on(ui.close(), "click", app, |app, _| app.close())?;
    on(ui.panel(), "keydown", app, |app, e| {
        if e.unchecked_ref::<KeyboardEvent>().key() == "Escape" {
            app.close();
        }
    })?;
    on(ui.composer(), "submit", app, |app, e| {
        e.prevent_default();
        app.submit();
    })?;
    on(ui.input(), "keydown", app, |app, e| {
        // Enter sends, Shift+Enter breaks the line; Enter that confirms an IME composition
        // (Chinese, Japanese…) does neither.
        let k = e.unchecked_ref::<KeyboardEvent>();
        if k.key() == "Enter" && !k.shift_key() && !k.is_composing() {
            e.prevent_default();
            app.submit();
        }
    })?;
    on(ui.input(), "input", app, |app, _| {
        app.visitor_typing();
        app.suggest();
    })?;
    on(ui.suggestion_links(), "click", app, |app, e| {
        app.suggestion_clicked(e.target())
    })?;
    on(ui.back(), "click", app, |app, _| app.close_article())?;
    on(ui.vote_yes(), "click", app, |app, _| app.vote(true))?;
    on(ui.vote_no(), "click", app, |app, _| app.vote(false))?;
    on(ui.stars(), "click", app, |app, e| {
        app.star_clicked(e.target())
    })?;
    on(ui.rating(), "submit", app, |app, e| {
        e.prevent_default();
        app.rate();
    })?;
    on(ui.attach(), "click", app, |app, _| app.ui.file().click())?;
    on(ui.file(), "change", app, |app, _| {
        let file = app.ui.file().files().and_then(|f| f.get(0));
        app.ui.file().set_value("");
        if let Some(f) = file {
            app.attach(f);
        }
    })?;
    on(ui.prechat(), "submit", app, |app, e| {
        e.prevent_default();
        app.prechat_submitted();
    })?;
    on(ui.email(), "submit", app, |app, e| {
        e.prevent_default();
        app.leave_email();
    })?;
    on(doc, "visibilitychange", app, |app, _| app.mark_seen())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tenant_ids_are_accepted_as_tenants() {
        assert!(valid_tenant("ten_01HZY3K5W9QF6V7B8N2M4P0R1S"));
        assert!(!valid_tenant("ten_../../v1/tenants"));
        assert!(!valid_tenant("acme"));
        assert!(!valid_tenant("ten_a?b"));
    }
}

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

// SAFETY: wasm32-unknown-unknown as built here has no threads (no atomics target feature),
// so the allocator is never entered concurrently.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
