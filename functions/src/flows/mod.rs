//! The flows: what follows from each domain event, in one place.
//!
//! Handlers parse, authorise, make their authoritative write through the domain layer
//! (`crate::domain`) and then hand the event to [`dispatch`]. Each event has one ordered list
//! of reactions in [`dispatch`], the way a dispatcher lists its listeners; to add a side effect to "a
//! message was added", add a line to its list. A reaction may raise further events (a rule's
//! reply is a message too, a bot handoff asks routing for a person); they are handled in turn,
//! after the reactions of the event that raised them, up to [`MAX_EVENTS`] per request.
//!
//! Reactions live in small modules named for what they keep up to date (`record`, `routing`,
//! `automation`, `bot`, `sla`, `notify` for the tenant's event subscriptions, `agent_mail`
//! for notification mails to agents, `live` for the realtime feeds); they call the
//! domain layer and never each other.

mod agent_mail;
mod automation;
mod bot;
mod dispatch;
pub mod event;
mod live;
mod mail;
mod message;
mod notify;
mod record;
mod routing;
mod sla;
mod timer;

pub use dispatch::{dispatch, MAX_EVENTS};
pub use event::{BotTake, Event, Via};
pub use mail::{receive as receive_mail, Received};
pub use message::add_message;
pub use timer::sweep;
