//! The HTTP handlers, one module per resource.

pub mod agent_feed;
pub mod agents;
pub mod attachments;
pub mod auth;
pub mod automation;
pub mod bot;
pub mod canned;
pub mod channels;
pub mod contacts;
pub mod conversations;
pub mod csat;
pub mod inbox;
pub mod kb;
pub mod kb_articles;
pub mod kb_versions;
pub mod kb_widget;
pub mod keys;
pub mod routing;
pub mod sla;
pub mod tenants;
pub mod ticket_merge;
pub mod ticket_thread;
pub mod tickets;
pub mod webhooks;
pub mod widget;
pub mod widget_settings;
