//! Tickets in storage beyond the generic record: the references a ticket or conversation may
//! hold, the assignee filter, the merge pointers that redirect a merged ticket, and duplicate
//! suggestions.
//!
//! Merging B into A leaves the pointer `merged:<B>` → A. From then on `GET /v1/tickets/B`
//! answers `200` with the closed ticket B plus `"merged_into": "tkt_A"` (and `Link:
//! </v1/tickets/A>; rel="canonical"`); a redirect was not chosen because common HTTP clients
//! drop the `Authorization` header when following one. Changes to B answer `409` with
//! `{"error": {"code": "ticket_merged", …}, "merged_into": "tkt_A"}`.

use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::http::{json, json_versioned, Response};
use crate::keys;
use crate::ports::{Platform, Scan, Storage};
use crate::records::Versioned;
use crate::store::{get_json, scan_json, Tx};
use edgedesk_shared::ids::{AgentId, ContactId, ConversationId, MessageId, TicketId};
use edgedesk_shared::model::{Agent, Contact, Conversation, Sender, Ticket};
use edgedesk_shared::sla::merge::merge_chain;
use edgedesk_shared::sla::{
    suggest_duplicates, DuplicateCandidate, DuplicateSettings, MergePointers,
};

/// Tickets looked at for duplicate suggestions, newest first.
pub(crate) const DUPLICATE_SCAN: usize = 2_000;
/// Most watchers on one ticket.
pub(crate) const MAX_WATCHERS: usize = 100;

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

/// The ticket a merged ticket's requests lead to, or `None` if `id` was not merged.
pub async fn merged_into<S: Storage>(
    store: &S,
    actor: &str,
    id: &TicketId,
) -> Result<Option<TicketId>, ApiError> {
    let mut pointers = MergePointers::new();
    let mut current = *id;
    for _ in 0..=edgedesk_shared::sla::merge::MAX_CHAIN {
        match get_json::<_, MergePointer>(
            store,
            actor,
            &keys::tenant::merge_pointer(&current.to_string()),
        )
        .await?
        {
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
    let chain = merge_chain(*id, &pointers).map_err(ApiError::internal_from)?;
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
pub(crate) async fn refuse_if_merged<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &TicketId,
) -> Result<(), Response> {
    match merged_into(ctx.p, &ctx.actor, id).await {
        Ok(Some(into)) => Err(merged_response(id, &into, StatusCode::CONFLICT)),
        Ok(None) => Ok(()),
        Err(e) => Err(crate::http::error_response(&e)),
    }
}

pub(crate) async fn load_ticket<P: Platform>(
    tx: &mut Tx<'_, P>,
    id: &TicketId,
) -> Result<Ticket, ApiError> {
    tx.get_json(&Ticket::storage_key(&id.to_string()))
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))
}

pub(crate) async fn scan_all<S: Storage, T: serde::de::DeserializeOwned>(
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
            prefix: keys::tenant::TICKETS.into(),
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
/// Checks, inside the transaction, that referenced records exist in this tenant. A reference
/// to another tenant's record is as unknown as a made-up one.
pub async fn check_refs<P: Platform>(
    tx: &mut Tx<'_, P>,
    requester: Option<&ContactId>,
    assignee: Option<&AgentId>,
    conversation: Option<&ConversationId>,
) -> Result<(), ApiError> {
    if let Some(id) = requester {
        if tx
            .get(&Contact::storage_key(&id.to_string()))
            .await?
            .is_none()
        {
            return Err(unknown_ref("requester_id", "contact"));
        }
    }
    if let Some(id) = assignee {
        match tx
            .get_json::<Agent>(&Agent::storage_key(&id.to_string()))
            .await?
        {
            Some(a) if a.active => {}
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "assignee_id: agent is deactivated",
                ))
            }
            None => return Err(unknown_ref("assignee_id", "agent")),
        }
    }
    if let Some(id) = conversation {
        if tx
            .get(&Conversation::storage_key(&id.to_string()))
            .await?
            .is_none()
        {
            return Err(unknown_ref("conversation_id", "conversation"));
        }
    }
    Ok(())
}

pub(crate) fn unknown_ref(field: &str, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        format!("{field}: no such {what}"),
    )
}

/// Matches an `assignee` filter (`none` or an agent id) against an assignee.
pub fn assignee_matches(
    filter: Option<&str>,
    assignee: Option<&AgentId>,
) -> Result<bool, ApiError> {
    Ok(match filter {
        None => true,
        Some("none") => assignee.is_none(),
        Some(raw) => {
            let id: AgentId = raw.parse().map_err(|_| {
                ApiError::bad_request("invalid_query", "assignee must be an agent id or `none`")
            })?;
            assignee == Some(&id)
        }
    })
}

/// Who is notified of a ticket's changes.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watchers {
    pub agent_ids: Vec<AgentId>,
}

/// The next number of the tenant's ticket counter, claimed for ticket `id` inside a tenant
/// transaction (with the pointer from the number to the ticket, which a mail's `[#n]` finds).
pub async fn number<P: Platform>(
    tx: &mut crate::store::Tx<'_, P>,
    id: &TicketId,
) -> Result<u64, ApiError> {
    let number = match tx.get(keys::tenant::TICKET_COUNTER).await? {
        Some(b) => {
            std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(ApiError::internal)?
                + 1
        }
        None => 1,
    };
    tx.put(
        keys::tenant::TICKET_COUNTER,
        number.to_string().into_bytes(),
    );
    tx.put_json(keys::tenant::ticket_number(number), &id.to_string())?;
    Ok(number)
}
