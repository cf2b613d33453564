//! EdgeDesk on Cloudflare Workers.
//!
//! A thin adapter: the Worker's fetch handler turns each request into the functions' request
//! type and calls the same `edgedesk_functions::handle` router the local host and Spin run; the
//! ports are implemented on Durable Objects ([`platform`]). Static assets (widget, console,
//! demo) are served by Workers static assets before the Worker runs. No business rule lives here.
//!
//! - [`platform`]: the ports (storage in Durable Objects, vars and secrets, clock, randomness,
//!   alarms, outgoing fetch).
//! - [`objects`]: the Durable Object classes, one per actor kind.
//! - [`kv`]: an actor's storage on its object's SQLite.
//! - [`rooms`]: hibernatable WebSocket rooms for the realtime feeds.
//! - [`long_poll`]: long-polls parked in the object that holds the feed's sockets.
//! - [`wire`]: the byte format of the storage calls.
//! - [`datasets`]: the time zone database, sentiment weights and search folding tables,
//!   installed from the static assets on an isolate's first request.
//! - [`mail`]: Email Routing's `email` handler and the `send_email` relay.
//! - [`request_url`]: the parts of a request's URL, without parsing it again.

pub mod request_url;
pub mod wire;

#[cfg(target_arch = "wasm32")]
pub mod datasets;
#[cfg(target_arch = "wasm32")]
pub mod entry;
#[cfg(target_arch = "wasm32")]
pub mod kv;
#[cfg(target_arch = "wasm32")]
pub mod long_poll;
#[cfg(target_arch = "wasm32")]
pub mod mail;
#[cfg(target_arch = "wasm32")]
pub mod objects;
#[cfg(target_arch = "wasm32")]
pub mod platform;
#[cfg(target_arch = "wasm32")]
pub mod rooms;

/// The largest request body the Worker passes on, as on the local host: the largest attachment a
/// tenant may allow (the functions apply each route's own, smaller limit).
pub const BODY_LIMIT: usize = 10 * 1024 * 1024;
