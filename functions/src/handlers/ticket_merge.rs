//! A ticket's thread and its merging: replies (`/v1/tickets/{id}/messages`), watchers,
//! merging ticket B into ticket A, and duplicate suggestions.
//!
//! Merging B into A moves B's messages, event history, tags and watchers to A, closes B and
//! leaves the pointer `merged:<B>` → A. From then on `GET /v1/tickets/B` answers `200` with
//! the closed ticket B plus `"merged_into": "tkt_A"` (and `Link: </v1/tickets/A>;
//! rel="canonical"`); a redirect was not chosen because common HTTP clients drop the
//! `Authorization` header when following one. Changes to B, and its messages, watchers and
//! duplicates, answer `409` with `{"error": {"code": "ticket_merged", …}, "merged_into": "tkt_A"}`. The rules (no merge into itself, none of a merged
//! ticket, no loops) are `edgedesk_shared::sla::merge`; tickets of another tenant are unknown
//! ids here, so a cross-tenant merge is a 404 and changes nothing.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use crate::ctx::{record_event, Ctx};
use crate::error::ApiError;
use crate::handlers::sla::{self, MessageKind, Wake};
use crate::http::{body, json, json_versioned, path_id, Request, Response};
use crate::ports::{Platform, Scan, Storage};
use crate::records::Versioned;
use crate::store::{get_json, scan_json, transact, Tx};
use edgedesk_shared::api::limits;
use edgedesk_shared::ids::{AgentId, MessageId, TicketId};
use edgedesk_shared::model::{Agent, Event, Sender, SenderKind, Ticket, TicketStatus};
use edgedesk_shared::sla::merge::merge_chain;
use edgedesk_shared::sla::{
    suggest_duplicates, validate_merge, DuplicateCandidate, DuplicateSettings, MergeError,
    MergePointers, MergeSide,
};
use edgedesk_shared::sort::{sort, sort_by_key};

/// Tickets looked at for duplicate suggestions, newest first.
const DUPLICATE_SCAN: usize = 2_000;
/// Most watchers on one ticket.
const MAX_WATCHERS: usize = 100;

/// A reply or note on a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketMessage {
    pub id: MessageId,
    pub ticket_id: TicketId,
    pub sender: Sender,
    pub body: String,
    /// Visible to agents only; does not count as a reply for SLA.
    pub private: bool,
    pub created_at: DateTime<Utc>,
    /// The ticket it was written on, when it came with a merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<TicketId>,
}

/// Where a merged ticket points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergePointer {
    pub into: TicketId,
    pub at: DateTime<Utc>,
}

fn message_prefix(ticket: &str) -> String {
    format!("tmsg:{ticket}:")
}

fn pointer_key(ticket: &str) -> String {
    format!("merged:{ticket}")
}

fn watchers_key(ticket: &str) -> String {
    format!("watchers:{ticket}")
}

/// The ticket a merged ticket's requests lead to, or `None` if `id` was not merged.
pub async fn merged_into<S: Storage>(
    store: &S,
    actor: &str,
    id: &TicketId,
) -> Result<Option<TicketId>, ApiError> {
    let mut pointers = MergePointers::new();
    let mut current = *id;
    for _ in 0..=edgedesk_shared::sla::merge::MAX_CHAIN {
        match get_json::<_, MergePointer>(store, actor, &pointer_key(&current.to_string())).await? {
            Some(p) => {
                pointers.insert(current, p.into);
                current = p.into;
            }
            None => break,
        }
    }
    if pointers.is_empty() {
        return Ok(None);
    }
    let chain = merge_chain(*id, &pointers).map_err(|_| ApiError::internal())?;
    Ok(chain.last().copied())
}

/// The answer for a change to (or a sub-resource of) a merged ticket: `409 ticket_merged`
/// with a pointer to where it went.
pub fn merged_response(id: &TicketId, into: &TicketId, status: StatusCode) -> Response {
    let body = serde_json::json!({
        "error": {"code": "ticket_merged", "message": format!("ticket {id} was merged into {into}")},
        "merged_into": into,
    });
    json(status, &body).unwrap_or_else(|e| crate::http::error_response(&e))
}

/// `GET /v1/tickets/{B}` for a merged ticket: the closed ticket B with `merged_into` naming
/// the ticket that holds its content now (the end of the chain, if that was merged too).
pub async fn get_merged<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &TicketId,
    into: &TicketId,
) -> Result<Response, ApiError> {
    let ticket: Ticket = get_json(ctx.p, &ctx.actor, &Ticket::storage_key(&id.to_string()))
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    let mut body = crate::http::to_value(&ticket)?;
    if let Some(o) = body.as_object_mut() {
        o.insert("merged_into".into(), crate::http::to_value(into)?);
    }
    let mut resp = json_versioned(StatusCode::OK, &body, ticket.version)?;
    if let Ok(v) = HeaderValue::from_str(&format!("</v1/tickets/{into}>; rel=\"canonical\"")) {
        resp.headers_mut().insert(http::header::LINK, v);
    }
    Ok(resp)
}

/// Refuses changes to a merged ticket with `409 ticket_merged`.
async fn refuse_if_merged<P: Platform>(ctx: &Ctx<'_, P>, id: &TicketId) -> Result<(), Response> {
    match merged_into(ctx.p, &ctx.actor, id).await {
        Ok(Some(into)) => Err(merged_response(id, &into, StatusCode::CONFLICT)),
        Ok(None) => Ok(()),
        Err(e) => Err(crate::http::error_response(&e)),
    }
}

async fn load_ticket<P: Platform>(tx: &mut Tx<'_, P>, id: &TicketId) -> Result<Ticket, ApiError> {
    tx.get_json(&Ticket::storage_key(&id.to_string()))
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))
}

// ---- messages ---------------------------------------------------------------------------

/// Who a ticket message is from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The caller, answering (an agent, or an API key acting for the tenant's agents).
    #[default]
    Agent,
    /// The ticket's requester (a system relaying a customer's email, for instance).
    Requester,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    body: String,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    from: Author,
}

/// `POST /v1/tickets/{id}/messages`: a reply, a customer message or a private note. Public
/// agent replies meet the first and next response targets; requester messages start the next
/// response clock.
#[utoipa::path(post, path = "/v1/tickets/{id}/messages", tag = "tickets", params(("id" = String, Path)),
    description = "Body `{\"body\", \"private\": false, \"from\": \"agent\" | \"requester\"}`.",
    responses((status = 201, description = "the message"), (status = 409, description = "`ticket_merged`, with `merged_into`"), (status = 422)))]
pub async fn post_message<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    let input: NewMessage = body(req)?;
    if input.body.trim().is_empty() || input.body.len() > limits::MAX_MESSAGE_BYTES {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!(
                "body: must be 1 to {} bytes of text",
                limits::MAX_MESSAGE_BYTES
            ),
        ));
    }
    if input.from == Author::Requester && input.private {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "private: only agents write private notes",
        ));
    }
    if let Err(resp) = refuse_if_merged(ctx, &id).await {
        return Ok(resp);
    }
    let mid = ctx.mint(MessageId::from_parts);
    let now = ctx.now();
    let (message, wake) = transact(ctx.p, &ctx.actor, async |tx| {
        let ticket = load_ticket(tx, &id).await?;
        let sender = match input.from {
            Author::Agent => Sender {
                kind: SenderKind::Agent,
                id: Some(ctx.principal.id.clone()),
            },
            Author::Requester => Sender {
                kind: SenderKind::Contact,
                id: Some(
                    ticket
                        .requester_id
                        .ok_or_else(|| {
                            ApiError::new(
                                StatusCode::UNPROCESSABLE_ENTITY,
                                "validation_failed",
                                "from: the ticket has no requester",
                            )
                        })?
                        .to_string(),
                ),
            },
        };
        let message = TicketMessage {
            id: mid,
            ticket_id: id,
            sender,
            body: input.body.clone(),
            private: input.private,
            created_at: now,
            merged_from: None,
        };
        tx.put_json(
            format!("{}{}", message_prefix(&id.to_string()), mid),
            &message,
        )?;
        record_event(
            ctx.p,
            tx,
            &id.to_string(),
            "ticket.message_added",
            ctx.actor_ref(),
            serde_json::json!({"message_id": mid, "private": input.private, "from": message.sender.kind}),
        )?;
        let kind = match (input.from, input.private) {
            (_, true) => None,
            (Author::Agent, false) => Some(MessageKind::AgentReply),
            (Author::Requester, false) => Some(MessageKind::Customer),
        };
        let snapshot = sla::ticket_snapshot(tx, &ticket).await?;
        let wake = sla::track(
            ctx.p,
            tx,
            &id.to_string(),
            ticket.created_at,
            snapshot,
            kind,
        )
        .await?;
        Ok((message, wake))
    })
    .await?;
    sla::schedule_wake(ctx.p, ctx.tenant_id, wake).await?;
    json(StatusCode::CREATED, &message)
}

/// `GET /v1/tickets/{id}/messages`: oldest first.
#[utoipa::path(get, path = "/v1/tickets/{id}/messages", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, description = "`{\"data\": [message]}`, oldest first"), (status = 404)))]
pub async fn list_messages<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    _req: &Request,
) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    if let Some(into) = merged_into(ctx.p, &ctx.actor, &id).await? {
        return Ok(merged_response(&id, &into, StatusCode::CONFLICT));
    }
    if ctx
        .p
        .get(&ctx.actor, &Ticket::storage_key(&id.to_string()))
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("ticket"));
    }
    let mut messages: Vec<TicketMessage> =
        scan_all(ctx.p, &ctx.actor, &message_prefix(&id.to_string()))
            .await?
            .into_iter()
            .map(|(_, m)| m)
            .collect();
    sort_by_key(&mut messages, |m| (m.created_at, m.id));
    json(StatusCode::OK, &serde_json::json!({ "data": messages }))
}

async fn scan_all<S: Storage, T: serde::de::DeserializeOwned>(
    store: &S,
    actor: &str,
    prefix: &str,
) -> Result<Vec<(String, T)>, ApiError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let scan = Scan {
            prefix: prefix.to_owned(),
            after: after.clone(),
            limit: 500,
            reverse: false,
        };
        let rows = scan_json::<_, T>(store, actor, &scan).await?;
        let n = rows.len();
        after = rows.last().map(|(k, _)| k.clone());
        out.extend(rows);
        if n < 500 {
            return Ok(out);
        }
    }
}

// ---- watchers ----------------------------------------------------------------------------

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watchers {
    pub agent_ids: Vec<AgentId>,
}

/// `GET /v1/tickets/{id}/watchers`.
#[utoipa::path(get, path = "/v1/tickets/{id}/watchers", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, description = "`{\"agent_ids\": [...]}`")))]
pub async fn watchers<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    if let Some(into) = merged_into(ctx.p, &ctx.actor, &id).await? {
        return Ok(merged_response(&id, &into, StatusCode::CONFLICT));
    }
    if ctx
        .p
        .get(&ctx.actor, &Ticket::storage_key(&id.to_string()))
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("ticket"));
    }
    let w: Watchers = get_json(ctx.p, &ctx.actor, &watchers_key(&id.to_string()))
        .await?
        .unwrap_or_default();
    json(StatusCode::OK, &w)
}

/// `PUT /v1/tickets/{id}/watchers` `{"agent_ids": [...]}`: replaces the watchers.
#[utoipa::path(put, path = "/v1/tickets/{id}/watchers", tag = "tickets", params(("id" = String, Path)),
    description = "Body `{\"agent_ids\": [...]}` replaces the watchers.",
    responses((status = 200, description = "the watchers"), (status = 422)))]
pub async fn set_watchers<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    let mut input: Watchers = body(req)?;
    sort(&mut input.agent_ids);
    input.agent_ids.dedup();
    if input.agent_ids.len() > MAX_WATCHERS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("agent_ids: at most {MAX_WATCHERS}"),
        ));
    }
    if let Err(resp) = refuse_if_merged(ctx, &id).await {
        return Ok(resp);
    }
    let saved = transact(ctx.p, &ctx.actor, async |tx| {
        load_ticket(tx, &id).await?;
        for agent in &input.agent_ids {
            if tx
                .get(&Agent::storage_key(&agent.to_string()))
                .await?
                .is_none()
            {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    format!("agent_ids: no such agent {agent}"),
                ));
            }
        }
        let key = watchers_key(&id.to_string());
        let before: Watchers = tx.get_json(&key).await?.unwrap_or_default();
        if before != input {
            tx.put_json(key, &input)?;
            record_event(
                ctx.p,
                tx,
                &id.to_string(),
                "ticket.watchers_changed",
                ctx.actor_ref(),
                serde_json::json!({"agent_ids": {"from": before.agent_ids, "to": input.agent_ids}}),
            )?;
        }
        Ok(input.clone())
    })
    .await?;
    json(StatusCode::OK, &saved)
}

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
        scan_all(ctx.p, &ctx.actor, &message_prefix(&source_s)).await?;
    let events: Vec<(String, Event)> =
        scan_all(ctx.p, &ctx.actor, &format!("event:{source_s}:")).await?;
    let pointers: Vec<(String, MergePointer)> = scan_all(ctx.p, &ctx.actor, "merged:").await?;
    let (target, moved, wake) = transact(ctx.p, &ctx.actor, async |tx| {
        let mut b = load_ticket(tx, &source).await?;
        let requested_ticket = load_ticket(tx, &requested).await?;
        let mut map = MergePointers::new();
        for (key, _) in &pointers {
            if let Some(p) = tx.get_json::<MergePointer>(key).await? {
                let from = key
                    .trim_start_matches("merged:")
                    .parse()
                    .map_err(|_| ApiError::internal())?;
                map.insert(from, p.into);
            }
        }
        if let Some(p) = tx.get_json::<MergePointer>(&pointer_key(&source_s)).await? {
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
            tx.put_json(format!("{}{}", message_prefix(&target_s), m.id), &m)?;
            tx.delete(key.clone());
            moved_messages += 1;
        }
        let mut moved_events = 0;
        for (key, _) in &events {
            let Some(mut e) = tx.get_json::<Event>(key).await? else { continue };
            e.subject = target_s.clone();
            tx.put_json(crate::ctx::event_key(&target_s, &e.id), &e)?;
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
        let a_watchers_key = watchers_key(&target_s);
        let mut watchers: Watchers = tx.get_json(&a_watchers_key).await?.unwrap_or_default();
        let b_watchers_key = watchers_key(&source_s);
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
            pointer_key(&source_s),
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
        Ok((a, moved, [wake, wake_a]))
    })
    .await?;
    for w in wake {
        sla::schedule_wake(ctx.p, ctx.tenant_id, w).await?;
    }
    let mut body = crate::http::to_value(&target)?;
    if let Some(o) = body.as_object_mut() {
        o.insert(
            "merged".into(),
            serde_json::json!({"ticket_id": source, "moved": moved}),
        );
    }
    json_versioned(StatusCode::OK, &body, target.version)
}

// ---- duplicates --------------------------------------------------------------------------

/// Open tickets of the same requester that look like `ticket`, best first.
pub async fn suggestions<P: Platform>(
    p: &P,
    actor: &str,
    ticket: &Ticket,
) -> Result<Vec<serde_json::Value>, ApiError> {
    if ticket.requester_id.is_none() {
        return Ok(Vec::new());
    }
    let mut candidates = Vec::new();
    let mut after = None;
    let mut seen = 0;
    while seen < DUPLICATE_SCAN {
        let scan = Scan {
            prefix: "ticket:".into(),
            after: after.clone(),
            limit: 500,
            reverse: true,
        };
        let rows = scan_json::<_, Ticket>(p, actor, &scan).await?;
        let n = rows.len();
        for (k, t) in rows {
            after = Some(k);
            seen += 1;
            if t.requester_id == ticket.requester_id {
                candidates.push(t);
            }
        }
        if n < 500 {
            break;
        }
    }
    let pool: Vec<DuplicateCandidate> = candidates.iter().map(DuplicateCandidate::from).collect();
    let found = suggest_duplicates(
        &DuplicateCandidate::from(ticket),
        &pool,
        &DuplicateSettings::default(),
    );
    Ok(found
        .into_iter()
        .filter_map(|s| {
            let t = candidates.iter().find(|t| t.id == s.ticket_id)?;
            Some(serde_json::json!({
                "ticket_id": t.id,
                "number": t.number,
                "subject": t.subject,
                "status": t.status,
                "created_at": t.created_at,
                "score": s.score,
                "similarity": s.similarity,
            }))
        })
        .collect())
}

/// `GET /v1/tickets/{id}/duplicates`: open tickets of the same requester that look alike.
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
