//! The domain layer: records in storage and the rules that change them, one module per kind
//! of record. Handlers and flows call it; it calls neither. A module here writes the records it
//! owns and answers what changed, so the flows (`crate::flows`) can list what follows.

pub mod api_keys;
pub mod automation;
pub mod automation_timer;
pub mod blobs;
pub mod bot;
pub mod bot_turn;
pub mod canned;
pub mod contacts;
pub mod conversations;
pub mod email;
pub mod intents;
pub mod live;
pub mod messages;
pub mod presence;
pub mod public;
pub mod routing;
pub mod sla;
pub mod sla_escalations;
pub mod sla_lists;
pub mod tickets;
pub mod webhooks;
