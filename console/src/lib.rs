//! EdgeDesk's agent console: the web app agents answer customers in.
//!
//! It compiles to WebAssembly and runs in the browser, served by the EdgeDesk host as static
//! files under `/console/` on the same origin as the API. Records are the `edgedesk-shared`
//! types the server stores, so one definition serves server, widget and console.
//!
//! The browser-free rules (filters, ordering, unread counts, change bodies, shortcuts, routes,
//! translations, times, the email channel form and address lists) live in their own modules
//! with unit tests; `ui` holds the views.

pub mod api;
pub mod assist;
pub mod changes;
pub mod email;
pub mod i18n;
pub mod inbox;
pub mod route;
pub mod shortcuts;
pub mod sla;
pub mod thread;
pub mod time;
pub mod ui;

use wasm_bindgen::prelude::wasm_bindgen;

/// Entry point: called by the loader once the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    // Without it a panic reaches the page only as "unreachable".
    console_error_panic_hook::set_once();
    ui::app::mount();
}
