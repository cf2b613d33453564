//! Generic get / update / delete of versioned tenant records, so every resource gets the
//! same `ETag` / `If-Match` behaviour and the same event history without repeating it.

use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ctx::{diff, filter_fingerprint, paginate, record_event, Ctx, Page};
use crate::error::ApiError;
use crate::http::{check_version, json, json_versioned, query, Request, Response};
use crate::keys;
use crate::ports::Platform;
use crate::store::{get_json, transact, Tx};
use chrono::{DateTime, Utc};
use edgedesk_shared::model::{Actor, Agent, Contact, Conversation, Ticket};
use edgedesk_shared::rbac::Permission;

/// A record with a version, an update time and a storage key.
pub trait Versioned: Serialize + DeserializeOwned + Clone {
    /// Name used in errors and event kinds (`ticket`, `contact` ...).
    const KIND: &'static str;
    /// The record's key in the tenant actor (see [`crate::keys::tenant`]).
    fn storage_key(id: &str) -> String;
    fn id_string(&self) -> String;
    fn version(&self) -> u64;
    fn touch(&mut self, now: DateTime<Utc>);
}

macro_rules! versioned {
    ($t:ty, $kind:literal, $key:path) => {
        impl Versioned for $t {
            const KIND: &'static str = $kind;
            fn storage_key(id: &str) -> String {
                $key(id)
            }
            fn id_string(&self) -> String {
                self.id.to_string()
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn touch(&mut self, now: DateTime<Utc>) {
                self.version += 1;
                self.updated_at = now;
            }
        }
    };
}

versioned!(Agent, "agent", keys::tenant::agent);
versioned!(Contact, "contact", keys::tenant::contact);
versioned!(Conversation, "conversation", keys::tenant::conversation);
versioned!(Ticket, "ticket", keys::tenant::ticket);

/// Reads one record of the caller's tenant, or 404.
pub async fn load<P: Platform, T: Versioned>(ctx: &Ctx<'_, P>, id: &str) -> Result<T, ApiError> {
    get_json(ctx.p, &ctx.actor, &T::storage_key(id))
        .await?
        .ok_or_else(|| ApiError::not_found(T::KIND))
}

pub async fn get<P: Platform, T: Versioned>(
    ctx: &Ctx<'_, P>,
    id: &str,
) -> Result<Response, ApiError> {
    let record: T = load(ctx, id).await?;
    json_versioned(StatusCode::OK, &record, record.version())
}

/// Applies `change` to a record under `If-Match`, bumps its version and records the diff.
/// `change` may read and write other keys of the same transaction (indexes).
pub async fn update<P, T, F>(
    ctx: &Ctx<'_, P>,
    id: &str,
    if_match: Option<u64>,
    mut change: F,
) -> Result<T, ApiError>
where
    P: Platform,
    T: Versioned,
    F: AsyncFnMut(&mut Tx<'_, P>, &mut T) -> Result<(), ApiError>,
{
    let key = T::storage_key(id);
    transact(ctx.p, &ctx.actor, async |tx| {
        let before: T = tx
            .get_json(&key)
            .await?
            .ok_or_else(|| ApiError::not_found(T::KIND))?;
        check_version(if_match, before.version())?;
        let mut after = before.clone();
        change(tx, &mut after).await?;
        let changes = diff(&before, &after);
        if changes.as_object().is_some_and(|m| m.is_empty()) {
            return Ok(before);
        }
        after.touch(ctx.now());
        tx.put_json(key.clone(), &after)?;
        record_event(
            ctx.p,
            tx,
            id,
            &format!("{}.updated", T::KIND),
            ctx.actor_ref(),
            changes,
        )?;
        Ok(after)
    })
    .await
}

/// Changes record `id` inside the caller's transaction, as a system actor (a rule, a timer)
/// does: when `change` changes anything, the record is touched, stored and its `<kind>.updated`
/// event recorded. Answers the record before and after, or `None` when it is gone or unchanged.
pub async fn change_in<P: Platform, T: Versioned + PartialEq>(
    p: &P,
    tx: &mut Tx<'_, P>,
    id: &str,
    actor: Actor,
    change: impl FnOnce(&mut T),
) -> Result<Option<(T, T)>, ApiError> {
    let key = T::storage_key(id);
    let Some(before) = tx.get_json::<T>(&key).await? else {
        return Ok(None);
    };
    let mut after = before.clone();
    change(&mut after);
    if after == before {
        return Ok(None);
    }
    after.touch(p.now());
    tx.put_json(key, &after)?;
    let kind = format!("{}.updated", T::KIND);
    record_event(p, tx, id, &kind, actor, diff(&before, &after))?;
    Ok(Some((before, after)))
}

/// Deletes a record under `If-Match`; `cleanup` removes its index entries. The event
/// history stays, so the deletion itself is on record.
pub async fn delete<P, T, F>(
    ctx: &Ctx<'_, P>,
    id: &str,
    if_match: Option<u64>,
    mut cleanup: F,
) -> Result<T, ApiError>
where
    P: Platform,
    T: Versioned,
    F: AsyncFnMut(&mut Tx<'_, P>, &T) -> Result<(), ApiError>,
{
    let key = T::storage_key(id);
    transact(ctx.p, &ctx.actor, async |tx| {
        let record: T = tx
            .get_json(&key)
            .await?
            .ok_or_else(|| ApiError::not_found(T::KIND))?;
        check_version(if_match, record.version())?;
        cleanup(tx, &record).await?;
        tx.delete(key.clone());
        record_event(
            ctx.p,
            tx,
            id,
            &format!("{}.deleted", T::KIND),
            ctx.actor_ref(),
            serde_json::Value::Null,
        )?;
        Ok(record)
    })
    .await
}

/// Shared by every resource's `/events` route.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    #[serde(skip_serializing)]
    limit: Option<usize>,
    #[serde(skip_serializing)]
    cursor: Option<String>,
}

/// The event history of a record, oldest first. The record must exist in the caller's tenant.
pub async fn events<P: Platform, T: Versioned>(
    ctx: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    ctx.require(Permission::Read)?;
    let _: T = load(ctx, id).await?;
    let q: EventsQuery = query(req)?;
    let prefix = keys::tenant::events(id);
    let page: Page<edgedesk_shared::model::Event> = paginate(
        ctx,
        &ctx.actor,
        &prefix,
        false,
        q.limit,
        q.cursor.as_deref(),
        &filter_fingerprint(&q),
        |_| true,
    )
    .await?;
    json(StatusCode::OK, &page)
}
