//! The HTTP handlers, one module per resource.

pub mod agents;
pub mod auth;
pub mod channels;
pub mod contacts;
pub mod conversations;
pub mod kb;
pub mod keys;
pub mod sla;
pub mod tenants;
pub mod ticket_merge;
pub mod tickets;
pub mod widget;
