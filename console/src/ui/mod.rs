//! The console's views, written with Leptos in client-side rendering mode.

pub mod app;
pub mod auth;
pub mod bot;
pub mod common;
pub mod conversation;
pub mod email;
pub mod inbox;
pub mod settings;
pub mod sla;
pub mod state;
pub mod tickets;
