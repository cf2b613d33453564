//! EdgeDesk's domain model and pure logic.
//!
//! Everything here is deterministic and free of I/O: no clocks, no storage, no network.
//! Time and ids come in as arguments, so the same code runs in every runtime adapter,
//! in the browser (widget, console) and in unit tests.

pub mod api;
pub mod auth;
pub mod email;
pub mod feed;
pub mod ids;
pub mod model;
pub mod rbac;
pub mod routing;
pub mod session;
pub mod signature;
pub mod sla;
pub mod tagged;
pub use edgedesk_sort as sort;
pub mod widget;
