//! Tickets: per-tenant numbered support cases.

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::ctx::{filter_fingerprint, paginate, record_event, Ctx, Idempotency};
use crate::domain::tickets::{self, assignee_matches, check_refs};
use crate::domain::{sla, sla_lists};
use crate::error::ApiError;
use crate::flows::{self, Event};
use crate::http::{body, if_match, json, json_versioned, path_id, query, Request, Response};
use crate::keys;
use crate::ports::Platform;
use crate::records::{self, Versioned};
use crate::store::transact_hot;
use edgedesk_shared::api::{CreateTicket, UpdateTicket};
use edgedesk_shared::ids::{ContactId, TicketId};
use edgedesk_shared::model::{Priority, Ticket, TicketStatus};

/// Create a ticket. Numbers are sequential per tenant.
#[utoipa::path(post, path = "/v1/tickets", tag = "tickets",
    request_body(content = CreateTicket, example = json!({"subject": "Refund for order 1042", "description": "The parcel arrived damaged.", "status": "open", "priority": "urgent", "requester_id": "ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2D4", "tags": ["refund"]})),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retried create with the same key returns the first result")),
    responses((status = 201, body = Ticket, description = "The ticket created, with the tenant's next number.", example = json!({"id": "tkt_01J8Z3Q4W5E6R7T8Y9V0A1B2F6", "tenant_id": "ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3", "number": 1, "subject": "Refund for order 1042", "description": "The parcel arrived damaged.", "status": "open", "priority": "urgent", "requester_id": "ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2D4", "assignee_id": null, "tags": ["refund"], "custom_fields": {}, "conversation_id": null, "created_at": "2026-03-02T09:20:00Z", "updated_at": "2026-03-02T09:20:00Z", "version": 1})),
        (status = 422)))]
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let input: CreateTicket = body(req)?;
    input.validate()?;
    let idem = Idempotency::from_request(req, &ctx.principal)?;
    let id = ctx.mint(TicketId::from_parts);
    let now = ctx.now();
    // Every create writes the tenant's ticket counter.
    let created = transact_hot(ctx.p, &ctx.actor, async |tx| {
        if let Some(idem) = &idem {
            if let Some(replayed) = idem.replay(tx, now).await? {
                return Ok(Err(replayed));
            }
        }
        check_refs(
            tx,
            input.requester_id.as_ref(),
            input.assignee_id.as_ref(),
            input.conversation_id.as_ref(),
        )
        .await?;
        let number = crate::domain::tickets::number(tx, &id).await?;
        let ticket = Ticket {
            id,
            tenant_id: ctx.tenant_id,
            number,
            subject: input.subject.trim().to_owned(),
            description: input.description.clone(),
            status: input.status.unwrap_or(TicketStatus::New),
            priority: input.priority.unwrap_or_default(),
            requester_id: input.requester_id,
            assignee_id: input.assignee_id,
            tags: input.tags.clone(),
            custom_fields: input.custom_fields.clone(),
            conversation_id: input.conversation_id,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        tx.put_json(Ticket::storage_key(&id.to_string()), &ticket)?;
        record_event(
            ctx.p,
            tx,
            &id.to_string(),
            "ticket.created",
            ctx.actor_ref(),
            crate::http::to_value(&ticket)?,
        )?;
        // Look-alike open tickets of the same requester, for the agent to merge. Part of the
        // stored answer, so a retried create returns exactly the first result.
        let candidates = tickets::suggestions(ctx.p, &ctx.actor, &ticket).await?;
        let mut out = crate::http::to_value(&ticket)?;
        if let Some(o) = out.as_object_mut() {
            o.insert("duplicate_candidates".into(), candidates.into());
        }
        if let Some(idem) = &idem {
            idem.store(tx, now, StatusCode::CREATED, &out, Some(ticket.version))?;
        }
        let snapshot = sla::ticket_snapshot(tx, &ticket).await?;
        let wake = sla::track(ctx.p, tx, &id.to_string(), now, snapshot, None).await?;
        Ok(Ok((out, ticket, wake)))
    })
    .await?;
    let (out, ticket, wake) = match created {
        Ok(created) => created,
        Err(replayed) => return Ok(replayed),
    };
    sla::schedule_wake(ctx.p, ctx.tenant_id, wake).await?;
    let version = ticket.version;
    let event = Event::TicketCreated {
        ticket: Box::new(ticket),
    };
    flows::dispatch(ctx.p, &ctx.actor, event).await?;
    json_versioned(StatusCode::CREATED, &out, version)
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(skip_serializing)]
    limit: Option<usize>,
    #[serde(skip_serializing)]
    cursor: Option<String>,
    status: Option<TicketStatus>,
    priority: Option<Priority>,
    /// An agent id, or `none` for unassigned.
    assignee: Option<String>,
    requester_id: Option<ContactId>,
    tag: Option<String>,
    updated_since: Option<DateTime<Utc>>,
    /// `breached` or `warning`: tickets whose SLA is in that state now.
    sla_state: Option<sla_lists::SlaStateFilter>,
    /// `created` (newest first, the default) or `sla_due` (earliest SLA deadline first).
    sort: Option<sla_lists::ListSort>,
}

/// List tickets, newest first, with filters.
#[utoipa::path(get, path = "/v1/tickets", tag = "tickets",
    params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query), ("status" = Option<TicketStatus>, Query),
        ("priority" = Option<Priority>, Query), ("assignee" = Option<String>, Query, description = "agent id or `none`"),
        ("requester_id" = Option<String>, Query), ("tag" = Option<String>, Query), ("updated_since" = Option<DateTime<Utc>>, Query),
        ("sla_state" = Option<String>, Query, description = "`breached` or `warning`: the SLA state now"),
        ("sort" = Option<String>, Query, description = "`created` (newest first) or `sla_due` (earliest SLA deadline first; only tickets with one)")),
    responses((status = 200, body = crate::ctx::Page<Ticket>, description = "Each item also carries `sla`: the most urgent SLA target now, `{state: breached|warning|running|paused|met, target: first_response|next_response|resolution, due_at, warning_at, breached_at, policy: {id, name}}`, or `null` when no policy applies")))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: ListQuery = query(req)?;
    assignee_matches(q.assignee.as_deref(), None)?;
    let needs_sla = q.sla_state.is_some() || q.sort == Some(sla_lists::ListSort::SlaDue);
    let summaries = if needs_sla {
        sla_lists::summaries(ctx, TicketId::PREFIX).await?
    } else {
        Default::default()
    };
    let now = ctx.now();
    let keep = |t: &Ticket| {
        q.sla_state.is_none_or(|f| {
            f.matches(
                summaries
                    .get(&t.id.to_string())
                    .and_then(|s| s.state_at(now)),
            )
        }) && q.status.is_none_or(|s| t.status == s)
            && q.priority.is_none_or(|p| t.priority == p)
            && assignee_matches(q.assignee.as_deref(), t.assignee_id.as_ref()).unwrap_or(false)
            && q.requester_id.is_none_or(|r| t.requester_id == Some(r))
            && q.tag.as_ref().is_none_or(|tag| t.tags.contains(tag))
            && q.updated_since.is_none_or(|since| t.updated_at >= since)
    };
    if q.sort == Some(sla_lists::ListSort::SlaDue) {
        let page = sla_lists::page_by_due(
            ctx,
            Ticket::storage_key,
            &summaries,
            q.limit,
            q.cursor.as_deref(),
            keep,
        )
        .await?;
        let page = sla_lists::page_with_sla(ctx, page, |t: &Ticket| t.id.to_string()).await?;
        return json(StatusCode::OK, &page);
    }
    let page = paginate::<_, Ticket>(
        ctx,
        &ctx.actor,
        keys::tenant::TICKETS,
        true,
        q.limit,
        q.cursor.as_deref(),
        &filter_fingerprint(&q),
        keep,
    )
    .await?;
    let page = sla_lists::page_with_sla(ctx, page, |t: &Ticket| t.id.to_string()).await?;
    json(StatusCode::OK, &page)
}

/// Get a ticket.
#[utoipa::path(get, path = "/v1/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "ticket id", example = "tkt_01J8Z3Q4W5E6R7T8Y9V0A1B2F6")),
    responses((status = 200, body = Ticket, description = "The ticket; its `ETag` is its version.", example = json!({"id": "tkt_01J8Z3Q4W5E6R7T8Y9V0A1B2F6", "tenant_id": "ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3", "number": 1, "subject": "Refund for order 1042", "description": "The parcel arrived damaged.", "status": "open", "priority": "urgent", "requester_id": "ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2D4", "assignee_id": null, "tags": ["refund"], "custom_fields": {}, "conversation_id": null, "created_at": "2026-03-02T09:20:00Z", "updated_at": "2026-03-02T09:20:00Z", "version": 1})),
        (status = 404)))]
pub async fn get<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    if let Some(into) = tickets::merged_into(ctx.p, &ctx.actor, &id).await? {
        return tickets::get_merged(ctx, &id, &into).await;
    }
    records::get::<_, Ticket>(ctx, &id.to_string()).await
}

/// Update a ticket. Send `If-Match` with the ETag you read to avoid overwriting others.
#[utoipa::path(patch, path = "/v1/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "ticket id", example = "tkt_01J8Z3Q4W5E6R7T8Y9V0A1B2F6"),
        ("If-Match" = Option<String>, Header, description = "the `ETag` last read; the change is refused if the ticket changed since")),
    request_body(content = UpdateTicket, description = "The fields to change.", example = json!({"status": "on_hold", "priority": "high", "tags": ["refund", "courier"]})),
    responses((status = 200, body = Ticket, description = "The ticket as changed."), (status = 404),
        (status = 412, description = "`If-Match` does not name the current version.")))]
pub async fn update<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    let input: UpdateTicket = body(req)?;
    input.validate()?;
    if let Some(into) = tickets::merged_into(ctx.p, &ctx.actor, &id).await? {
        return Ok(tickets::merged_response(&id, &into, StatusCode::CONFLICT));
    }
    let mut wake = sla::Wake::default();
    let mut before = None;
    let ticket = records::update::<_, Ticket, _>(
        ctx,
        &id.to_string(),
        if_match(req.headers())?,
        async |tx, t| {
            before = Some(t.clone());
            let requester = input.requester_id.flatten();
            let assignee = input.assignee_id.flatten();
            let conversation = input.conversation_id.flatten();
            check_refs(
                tx,
                requester.as_ref(),
                assignee.as_ref(),
                conversation.as_ref(),
            )
            .await?;
            if let Some(v) = &input.subject {
                t.subject = v.trim().to_owned();
            }
            if let Some(v) = &input.description {
                t.description = v.clone();
            }
            if let Some(v) = input.status {
                t.status = v;
            }
            if let Some(v) = input.priority {
                t.priority = v;
            }
            if let Some(v) = input.requester_id {
                t.requester_id = v;
            }
            if let Some(v) = input.assignee_id {
                t.assignee_id = v;
            }
            if let Some(v) = &input.tags {
                t.tags = v.clone();
            }
            if let Some(v) = &input.custom_fields {
                t.custom_fields = v.clone();
            }
            if let Some(v) = input.conversation_id {
                t.conversation_id = v;
            }
            let snapshot = sla::ticket_snapshot(tx, t).await?;
            wake = sla::track(ctx.p, tx, &t.id.to_string(), t.created_at, snapshot, None).await?;
            Ok(())
        },
    )
    .await?;
    sla::schedule_wake(ctx.p, ctx.tenant_id, wake).await?;
    if let Some(before) = before.filter(|b| b != &ticket) {
        let event = Event::TicketUpdated {
            before: Box::new(before),
            after: Box::new(ticket.clone()),
        };
        flows::dispatch(ctx.p, &ctx.actor, event).await?;
    }
    json_versioned(StatusCode::OK, &ticket, ticket.version)
}

/// Delete a ticket.
#[utoipa::path(delete, path = "/v1/tickets/{id}", tag = "tickets", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn delete<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: TicketId = path_id(raw_id, "ticket")?;
    records::delete::<_, Ticket, _>(
        ctx,
        &id.to_string(),
        if_match(req.headers())?,
        async |_, _| Ok(()),
    )
    .await?;
    Ok(crate::http::no_content())
}
