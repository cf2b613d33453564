//! Agents' presence as the console reports it (`presence:<agent>` in the tenant's actor):
//! routing reads it for capacity, the widget for "someone is online".

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::keys;
use crate::ports::{Platform, Scan};
use crate::store::scan_json;

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

/// Until when someone counts as online from the reports stored in the tenant actor `tactor`:
/// the latest expiry of a live `Online` report; `None` when nobody is online now.
pub async fn online_until<P: Platform>(
    p: &P,
    tactor: &str,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let now = p.now();
    let rows = scan_json::<_, Presence>(
        p,
        tactor,
        &Scan {
            prefix: keys::tenant::PRESENCES.into(),
            after: None,
            limit: 200,
            reverse: false,
        },
    )
    .await?;
    Ok(rows
        .iter()
        .filter(|(_, pr)| pr.status == PresenceStatus::Online)
        .map(|(_, pr)| pr.at + Duration::minutes(PRESENCE_TTL_MINUTES))
        .filter(|until| *until > now)
        .max())
}
