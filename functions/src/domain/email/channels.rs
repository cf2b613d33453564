//! Email channels in storage and the mailbox directory: each support address names one
//! channel of one tenant (`mailbox:<address>` in the directory actor), so mail arriving from
//! a host's SMTP listener or Email Routing finds where it belongs before any tenant is known.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::keys::{self, tenant_actor, GLOBAL};
use crate::ports::Platform;
use crate::store::{get_json, transact};
use edgedesk_shared::email::EmailChannelRecord;
use edgedesk_shared::ids::{ChannelId, TenantId};

/// Where mail for a support address goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mailbox {
    pub address: String,
    pub tenant_id: TenantId,
    pub channel_id: ChannelId,
}

/// The mailbox a support address belongs to, if any.
pub async fn mailbox<P: Platform>(p: &P, address: &str) -> Result<Option<Mailbox>, ApiError> {
    get_json(p, GLOBAL, &keys::global::mailbox(address)).await
}

/// Claims `addresses` for channel `id` in the directory and frees `released`. Refuses an
/// address another channel holds (`409 address_taken`), changing nothing.
pub async fn claim_addresses<P: Platform>(
    p: &P,
    tenant_id: &TenantId,
    id: &ChannelId,
    addresses: &[String],
    released: &[String],
) -> Result<(), ApiError> {
    transact(p, GLOBAL, async |tx| {
        for a in addresses {
            let key = keys::global::mailbox(a);
            if let Some(owner) = tx.get_json::<Mailbox>(&key).await? {
                if owner.channel_id != *id {
                    return Err(ApiError::conflict(
                        "address_taken",
                        format!("{a} already belongs to another email channel"),
                    ));
                }
            }
            tx.put_json(
                key,
                &Mailbox {
                    address: a.clone(),
                    tenant_id: *tenant_id,
                    channel_id: *id,
                },
            )?;
        }
        for a in released {
            let key = keys::global::mailbox(a);
            if let Some(owner) = tx.get_json::<Mailbox>(&key).await? {
                if owner.channel_id == *id {
                    tx.delete(key);
                }
            }
        }
        // The raw-MIME webhook finds the tenant the way the API channel's does.
        tx.put(
            keys::global::channel_tenant(id),
            tenant_id.to_string().into_bytes(),
        );
        Ok(())
    })
    .await
}

/// The tenant's first email channel: the one notifications and replies to web visitors
/// leave by.
pub async fn first<P: Platform>(
    p: &P,
    tactor: &str,
) -> Result<Option<EmailChannelRecord>, ApiError> {
    let scan = crate::ports::Scan {
        prefix: keys::tenant::EMAIL_CHANNELS.into(),
        after: None,
        limit: 1,
        reverse: false,
    };
    Ok(crate::store::scan_json(p, tactor, &scan)
        .await?
        .into_iter()
        .next()
        .map(|(_, c)| c))
}

/// An email channel of a tenant.
pub async fn load<P: Platform>(
    p: &P,
    tenant_id: &TenantId,
    id: &ChannelId,
) -> Result<EmailChannelRecord, ApiError> {
    get_json(
        p,
        &tenant_actor(tenant_id),
        &keys::tenant::email_channel(id),
    )
    .await?
    .ok_or_else(|| ApiError::not_found("email channel"))
}

/// The channel's support address among `recipients` (exactly or as a plus-address), with the
/// token a plus-address carries.
pub fn own_recipient(
    channel: &EmailChannelRecord,
    recipients: &[String],
) -> Option<(String, Option<String>)> {
    for r in recipients {
        for mailbox in &channel.addresses {
            if r == mailbox {
                return Some((mailbox.clone(), None));
            }
            if let Some(token) = edgedesk_mail::reply_token(r, mailbox) {
                return Some((mailbox.clone(), Some(token)));
            }
        }
    }
    None
}
