//! Agents' presence as the console reports it (`presence:<agent>` in the tenant's actor):
//! routing reads it for capacity, the widget for "someone is online".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An agent's presence as last reported by the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    Offline,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Presence {
    pub status: PresenceStatus,
    pub at: DateTime<Utc>,
}

/// A presence report older than this counts as offline (the console refreshes it).
pub const PRESENCE_TTL_MINUTES: i64 = 5;
