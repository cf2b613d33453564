//! The agents' inbox stream (`GET /v1/realtime`, long-poll or WebSocket through the host): the
//! conversations and tickets of the tenant that changed since a cursor, read from the tenant's
//! commit-ordered activity log.

use chrono::Duration;
use http::StatusCode;
use serde::Deserialize;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::http::{json, query, Request, Response};
use crate::keys;
use crate::ports::{Platform, Scan};
use crate::realtime::{room, Audience, MAX_WAIT_SECONDS};
use crate::records::Versioned;
use crate::store::{get_json, scan_json};
use edgedesk_shared::feed::{InboxEvent, InboxFeed};
use edgedesk_shared::model::Conversation;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InboxQuery {
    /// The `cursor` of the previous answer; absent: start from now.
    cursor: Option<String>,
    wait: Option<u64>,
}

/// `GET /v1/realtime` (WebSocket or long-poll): the tenant-wide inbox stream for agents.
#[utoipa::path(get, path = "/v1/realtime", tag = "realtime",
    params(("cursor" = Option<String>, Query, description = "the `cursor` of the previous answer; absent: from now"), ("wait" = Option<u64>, Query, description = "seconds to wait for news")),
    responses((status = 200, body = Object, description = "The conversations and tickets that changed since `cursor` (the inbox's live feed).")))]
pub async fn inbox<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: InboxQuery = query(req)?;
    let wait = q.wait.unwrap_or(0).min(MAX_WAIT_SECONDS);
    let deadline = ctx.now() + Duration::seconds(wait as i64);
    let mut cursor = match q.cursor {
        Some(c) if c.starts_with(keys::tenant::ACTIVITY) && c.len() < 64 => c,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_cursor",
                "cursor must come from a previous answer",
            ))
        }
        None => {
            // Start at the newest entry: a fresh subscriber loads the inbox by listing.
            let last = ctx
                .p
                .scan(
                    &ctx.actor,
                    &Scan {
                        prefix: keys::tenant::ACTIVITY.into(),
                        after: None,
                        limit: 1,
                        reverse: true,
                    },
                )
                .await?;
            last.into_iter()
                .next()
                .map(|(k, _)| k)
                .unwrap_or_else(|| keys::tenant::ACTIVITY.to_owned())
        }
    };
    loop {
        let scan = Scan {
            prefix: keys::tenant::ACTIVITY.into(),
            after: Some(cursor.clone()),
            limit: 100,
            reverse: false,
        };
        let rows = scan_json::<_, crate::ctx::Activity>(ctx.p, &ctx.actor, &scan).await?;
        let mut events = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (key, a) in rows.iter().rev() {
            if cursor < *key {
                cursor = key.clone();
            }
            if !seen.insert(a.subject.clone()) {
                continue;
            }
            if a.subject.starts_with("cnv_") {
                if let Some(c) = get_json::<_, Conversation>(
                    ctx.p,
                    &ctx.actor,
                    &Conversation::storage_key(&a.subject),
                )
                .await?
                {
                    events.push(InboxEvent::Conversation {
                        kind: a.kind.clone(),
                        conversation: c,
                    });
                }
            } else if let Some(t) = get_json::<_, edgedesk_shared::model::Ticket>(
                ctx.p,
                &ctx.actor,
                &edgedesk_shared::model::Ticket::storage_key(&a.subject),
            )
            .await?
            {
                events.push(InboxEvent::Ticket {
                    kind: a.kind.clone(),
                    ticket: t,
                });
            }
        }
        events.reverse();
        if !events.is_empty() || ctx.now() >= deadline {
            let next = format!("/v1/realtime?cursor={cursor}");
            return json(
                StatusCode::OK,
                &InboxFeed {
                    events,
                    cursor,
                    watch: vec![ctx.actor.clone()],
                    next,
                    // Every agent who may read the stream sees the whole tenant's.
                    room: Some(room(&ctx.actor, Audience::Inbox)),
                },
            );
        }
        ctx.p.sleep_ms(250).await;
    }
}
