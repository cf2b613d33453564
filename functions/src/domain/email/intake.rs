//! Received mail that does not become a message: parking (auto-replies, bulk mail, bounces,
//! floods, kept for an admin to look at and never answered), the addresses that bounce, and
//! the per-sender rate limit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ctx::id_parts;
use crate::error::ApiError;
use crate::keys;
use crate::ports::Platform;
use crate::store::{get_json, transact};
use edgedesk_shared::email::{BouncingAddress, ParkedMail};
use edgedesk_shared::ids::EventId;

/// Mails one sender may send to a tenant per window before further ones are refused for a
/// while (`429`, which an SMTP listener turns into a temporary failure: the sender's server
/// tries again later).
pub const MAX_PER_WINDOW: u32 = 30;
/// The rate limit's window.
pub const WINDOW_SECS: i64 = 600;

/// Stores `parked` (its id is minted here, time-ordered) and answers its id.
pub async fn park<P: Platform>(
    p: &P,
    tactor: &str,
    mut parked: ParkedMail,
) -> Result<ParkedMail, ApiError> {
    let (ms, r) = id_parts(p);
    parked.id = format!(
        "mpk_{}",
        EventId::from_parts(ms, r)
            .to_string()
            .trim_start_matches(EventId::PREFIX)
            .trim_start_matches('_')
    );
    transact(p, tactor, async |tx| {
        tx.put_json(keys::tenant::mail_parked(&parked.id), &parked)
    })
    .await?;
    Ok(parked)
}

/// Records that mail to each of `addresses` bounced.
pub async fn mark_bouncing<P: Platform>(
    p: &P,
    tactor: &str,
    addresses: &[String],
    status: Option<&str>,
    permanent: bool,
) -> Result<(), ApiError> {
    let now = p.now();
    transact(p, tactor, async |tx| {
        for a in addresses {
            let Some(address) = edgedesk_mail::normalize_address(a) else {
                continue;
            };
            let record = BouncingAddress {
                address: address.clone(),
                status: status.map(str::to_owned),
                permanent,
                at: now,
            };
            tx.put_json(keys::tenant::mail_bounce(&address), &record)?;
        }
        Ok(())
    })
    .await
}

/// The bounce recorded for `address`, if mail to it bounced permanently: the outbox does not
/// send there again until an admin clears it.
pub async fn bouncing<P: Platform>(
    p: &P,
    tactor: &str,
    address: &str,
) -> Result<Option<BouncingAddress>, ApiError> {
    let b: Option<BouncingAddress> =
        get_json(p, tactor, &keys::tenant::mail_bounce(address)).await?;
    Ok(b.filter(|b| b.permanent))
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Window {
    start: DateTime<Utc>,
    count: u32,
}

/// Counts a mail from `address`; `false` when the sender is over the limit.
pub async fn within_rate<P: Platform>(
    p: &P,
    tactor: &str,
    address: &str,
) -> Result<bool, ApiError> {
    let now = p.now();
    let key = keys::tenant::mail_rate(address);
    transact(p, tactor, async |tx| {
        let w = match tx.get_json::<Window>(&key).await? {
            Some(w) if (now - w.start).num_seconds() < WINDOW_SECS => w,
            _ => Window {
                start: now,
                count: 0,
            },
        };
        if w.count >= MAX_PER_WINDOW {
            return Ok(false);
        }
        tx.put_json(
            key.clone(),
            &Window {
                start: w.start,
                count: w.count + 1,
            },
        )?;
        Ok(true)
    })
    .await
}
