//! The tenant's public channel ([`keys::public_actor`]): the little every visitor's widget shows
//! from the tenant rather than from its own conversation — whether an agent is online, whether
//! the team answers by email meanwhile, the widget settings' version — as one small record
//! that changes rarely. A visitor's feed watches it instead of the tenant, so an open widget
//! hears when the team comes online without waking for every write of a busy tenant.
//!
//! The record is written only when what it says changes: a presence report that leaves
//! someone online (the console refreshes it every few minutes) writes nothing here. Reports
//! expire without a write, so while someone is online one timer per tenant
//! ([`Job::PublicRecheck`]) looks again when the last live report runs out.

use chrono::{DateTime, Utc};

use crate::alarms::{schedule, Job};
use crate::domain::email::channels;
use crate::domain::presence::online_until;
use crate::error::ApiError;
use crate::keys::{self, public_actor, tenant_actor};
use crate::ports::Platform;
use crate::store::{get_json, transact};
use crate::visitor::settings;
pub use edgedesk_shared::feed::PublicInfo;
use edgedesk_shared::ids::TenantId;

/// The channel as last written; `None` before anything was (the widget's config says the same
/// until then).
pub async fn read<P: Platform>(p: &P, tenant: &TenantId) -> Result<Option<PublicInfo>, ApiError> {
    get_json(p, &public_actor(tenant), keys::public::STATE).await
}

/// Brings the channel up to date with the tenant's records: writes a new revision if what it
/// says changed, and makes sure a recheck is due while someone is online.
pub async fn refresh<P: Platform>(p: &P, tenant: &TenantId) -> Result<(), ApiError> {
    let tactor = tenant_actor(tenant);
    let until = transact(p, &public_actor(tenant), async |tx| {
        // Computed inside the transaction: a retry after a conflict (two reports at once)
        // reads the reports again, so the later commit never writes what the earlier saw.
        let until = online_until(p, &tactor).await?;
        let now = PublicInfo {
            rev: 0,
            online: until.is_some(),
            offline_email: channels::first(p, &tactor).await?.is_some(),
            settings: settings(p, &tactor).await?.version,
        };
        let stored: Option<PublicInfo> = tx.get_json(keys::public::STATE).await?;
        let rev = stored.as_ref().map_or(0, |s| s.rev);
        if stored.is_none_or(|s| PublicInfo { rev: 0, ..s } != now) {
            tx.put_json(
                keys::public::STATE.to_owned(),
                &PublicInfo {
                    rev: rev + 1,
                    ..now
                },
            )?;
        }
        Ok(until)
    })
    .await?;
    match until {
        Some(until) => recheck_at(p, tenant, until).await,
        None => Ok(()),
    }
}

/// Arms the recheck at `until` unless one is already due (it re-arms itself if someone is
/// still online then).
async fn recheck_at<P: Platform>(
    p: &P,
    tenant: &TenantId,
    until: DateTime<Utc>,
) -> Result<(), ApiError> {
    let now = p.now();
    let armed = transact(p, &tenant_actor(tenant), async |tx| {
        let pending: Option<DateTime<Utc>> = tx.get_json(keys::tenant::PUBLIC_RECHECK).await?;
        if pending.is_some_and(|at| at > now) {
            return Ok(false);
        }
        tx.put_json(keys::tenant::PUBLIC_RECHECK.to_owned(), &until)?;
        Ok(true)
    })
    .await?;
    if armed {
        let job = Job::PublicRecheck {
            tenant_id: *tenant,
            until,
        };
        schedule(p, until, &job).await?;
    }
    Ok(())
}

/// The recheck armed for `until` is due: it is no longer pending, and the channel is brought up
/// to date (which arms the next one if someone is still online). A stale job (another was armed
/// since) only refreshes.
pub async fn recheck<P: Platform>(
    p: &P,
    tenant: &TenantId,
    until: DateTime<Utc>,
) -> Result<(), ApiError> {
    transact(p, &tenant_actor(tenant), async |tx| {
        let pending: Option<DateTime<Utc>> = tx.get_json(keys::tenant::PUBLIC_RECHECK).await?;
        if pending == Some(until) {
            tx.delete(keys::tenant::PUBLIC_RECHECK.to_owned());
        }
        Ok(())
    })
    .await?;
    refresh(p, tenant).await
}
