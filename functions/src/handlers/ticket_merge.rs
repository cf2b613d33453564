//! Merging ticket B into ticket A, and duplicate suggestions, over HTTP.
//!
//! Merging moves B's messages, event history, tags and watchers to A, closes B and leaves the
//! pointer `merged:<B>` → A (see `crate::domain::tickets`). The rules (no merge into itself,
//! none of a merged ticket, no loops) are `edgedesk_shared::sla::merge`; tickets of another
//! tenant are unknown ids here, so a cross-tenant merge is a 404 and changes nothing.

use std::collections::BTreeSet;

use http::StatusCode;
use serde::Deserialize;

use crate::ctx::{record_event, Ctx};
use crate::domain::sla::{self, Wake};
use crate::domain::tickets::*;
use crate::error::ApiError;
use crate::flows::{self, Event as FlowEvent};
use crate::http::{body, json, json_versioned, path_id, Request, Response};
use crate::keys;
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::{get_json, transact};
use edgedesk_shared::ids::TicketId;
use edgedesk_shared::model::{Event, Ticket, TicketStatus};
use edgedesk_shared::sla::{validate_merge, MergeError, MergePointers, MergeSide};
use edgedesk_shared::sort::sort;

// ---- merge -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeInput {
    /// The ticket B is merged into.
    into: String,
}

fn merge_refused(e: MergeError) -> ApiError {
    let code = match e {
        MergeError::IntoItself => "merge_into_itself",
        MergeError::AlreadyMerged { .. } => "ticket_merged",
        MergeError::Loop { .. } => "merge_loop",
        MergeError::CrossTenant => return ApiError::not_found("ticket"),
        MergeError::CyclicChain(_) | MergeError::ChainTooLong(_) => "merge_chain_broken",
    };
    ApiError::conflict(code, e.to_string())
}

/// `POST /v1/tickets/{id}/merge` `{"into": "tkt_…"}`: merges this ticket (B) into `into` (A).
/// Answers with A after the merge, plus what moved.
#[utoipa::path(post, path = "/v1/tickets/{id}/merge", tag = "tickets", params(("id" = String, Path, description = "the ticket B that is merged")),
    description = "Body `{\"into\": \"tkt_…\"}`. Moves B's messages, events, tags and watchers to the target, closes B and makes `GET /v1/tickets/B` answer with `merged_into`.",
    responses((status = 200, description = "the target ticket, with `merged`"), (status = 404, description = "unknown ticket, including any of another tenant"),
        (status = 409, description = "`merge_into_itself`, `merge_loop` or `ticket_merged`")))]
pub async fn merge<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let source: TicketId = path_id(raw_id, "ticket")?;
    let input: MergeInput = body(req)?;
    let requested: TicketId = input
        .into
        .parse()
        .map_err(|_| ApiError::not_found("ticket"))?;
    let now = ctx.now();
    let source_s = source.to_string();
    // Read outside the transaction what may be large; every key is read again inside it, so
    // a concurrent change makes the commit conflict and the merge re-runs.
    let messages: Vec<(String, TicketMessage)> =
        scan_all(ctx.p, &ctx.actor, &keys::tenant::ticket_messages(&source_s)).await?;
    let events: Vec<(String, Event)> =
        scan_all(ctx.p, &ctx.actor, &keys::tenant::events(&source_s)).await?;
    let pointers: Vec<(String, MergePointer)> =
        scan_all(ctx.p, &ctx.actor, keys::tenant::MERGE_POINTERS).await?;
    let (target, merged, moved, wake) = transact(ctx.p, &ctx.actor, async |tx| {
        let mut b = load_ticket(tx, &source).await?;
        let requested_ticket = load_ticket(tx, &requested).await?;
        let mut map = MergePointers::new();
        for (key, _) in &pointers {
            if let Some(p) = tx.get_json::<MergePointer>(key).await? {
                let from = key
                    .trim_start_matches(keys::tenant::MERGE_POINTERS)
                    .parse()
                    .map_err(ApiError::internal_from)?;
                map.insert(from, p.into);
            }
        }
        if let Some(p) = tx.get_json::<MergePointer>(&keys::tenant::merge_pointer(&source_s)).await? {
            map.insert(source, p.into);
        }
        let plan = validate_merge(
            &MergeSide {
                id: b.id,
                tenant_id: b.tenant_id,
            },
            &MergeSide {
                id: requested_ticket.id,
                tenant_id: requested_ticket.tenant_id,
            },
            &map,
        )
        .map_err(merge_refused)?;
        let target_s = plan.target.to_string();
        let mut a = load_ticket(tx, &plan.target).await?;
        let a_before = a.clone();

        let mut moved_messages = 0;
        for (key, _) in &messages {
            let Some(mut m) = tx.get_json::<TicketMessage>(key).await? else { continue };
            m.ticket_id = plan.target;
            m.merged_from.get_or_insert(source);
            tx.put_json(keys::tenant::ticket_message(&target_s, &m.id), &m)?;
            tx.delete(key.clone());
            moved_messages += 1;
        }
        let mut moved_events = 0;
        for (key, _) in &events {
            let Some(mut e) = tx.get_json::<Event>(key).await? else { continue };
            e.subject = target_s.clone();
            tx.put_json(keys::tenant::event(&target_s, &e.id), &e)?;
            tx.delete(key.clone());
            moved_events += 1;
        }
        let mut tags: Vec<String> = a.tags.clone();
        let known: BTreeSet<String> = tags.iter().map(|t| t.to_lowercase()).collect();
        tags.extend(
            b.tags
                .iter()
                .filter(|t| !known.contains(&t.to_lowercase()))
                .cloned(),
        );
        a.tags = tags;
        let a_watchers_key = keys::tenant::ticket_watchers(&target_s);
        let mut watchers: Watchers = tx.get_json(&a_watchers_key).await?.unwrap_or_default();
        let b_watchers_key = keys::tenant::ticket_watchers(&source_s);
        let b_watchers: Watchers = tx.get_json(&b_watchers_key).await?.unwrap_or_default();
        watchers.agent_ids.extend(b_watchers.agent_ids.iter().copied());
        sort(&mut watchers.agent_ids);
        watchers.agent_ids.dedup();
        if !b_watchers.agent_ids.is_empty() {
            tx.put_json(a_watchers_key, &watchers)?;
            tx.delete(b_watchers_key);
        }

        let b_before = b.clone();
        b.status = TicketStatus::Closed;
        b.touch(now);
        tx.put_json(Ticket::storage_key(&source_s), &b)?;
        tx.put_json(
            keys::tenant::merge_pointer(&source_s),
            &MergePointer {
                into: plan.target,
                at: now,
            },
        )?;
        if a != a_before {
            a.touch(now);
        }
        tx.put_json(Ticket::storage_key(&target_s), &a)?;
        let moved = serde_json::json!({
            "messages": moved_messages,
            "events": moved_events,
            "tags": b.tags,
            "watchers": b_watchers.agent_ids,
        });
        record_event(
            ctx.p,
            tx,
            &target_s,
            "ticket.merged",
            ctx.actor_ref(),
            serde_json::json!({"merged": source, "requested_into": plan.requested_target, "moved": moved}),
        )?;
        record_event(
            ctx.p,
            tx,
            &source_s,
            "ticket.merged_into",
            ctx.actor_ref(),
            serde_json::json!({"into": plan.target, "status": {"from": b_before.status, "to": b.status}}),
        )?;
        let mut wake = Wake::default();
        let snapshot = sla::ticket_snapshot(tx, &b).await?;
        wake.merge(sla::track(ctx.p, tx, &source_s, b.created_at, snapshot, None).await?);
        let snapshot = sla::ticket_snapshot(tx, &a).await?;
        let wake_a = sla::track(ctx.p, tx, &target_s, a.created_at, snapshot, None).await?;
        Ok((a, b, moved, [wake, wake_a]))
    })
    .await?;
    for w in wake {
        sla::schedule_wake(ctx.p, ctx.tenant_id, w).await?;
    }
    let event = FlowEvent::TicketMerged {
        source: Box::new(merged),
        target: Box::new(target.clone()),
    };
    flows::dispatch(ctx.p, &ctx.actor, event).await?;
    let mut body = crate::http::to_value(&target)?;
    if let Some(o) = body.as_object_mut() {
        o.insert(
            "merged".into(),
            serde_json::json!({"ticket_id": source, "moved": moved}),
        );
    }
    json_versioned(StatusCode::OK, &body, target.version)
}

#[utoipa::path(get, path = "/v1/tickets/{id}/duplicates", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, description = "`{\"data\": [{ticket_id, number, subject, status, created_at, score, similarity}]}`, best first")))]
pub async fn duplicates<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    if let Some(into) = merged_into(ctx.p, &ctx.actor, &id).await? {
        return Ok(merged_response(&id, &into, StatusCode::CONFLICT));
    }
    let ticket: Ticket = get_json(ctx.p, &ctx.actor, &Ticket::storage_key(&id.to_string()))
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    let data = suggestions(ctx.p, &ctx.actor, &ticket).await?;
    json(StatusCode::OK, &serde_json::json!({ "data": data }))
}
