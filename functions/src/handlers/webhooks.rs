//! Outbound webhooks over HTTP: the delivery log and the SLA webhook target. The outbox itself
//! is `crate::domain::webhooks`.

use http::StatusCode;
use serde::Deserialize;

use crate::ctx::{record_event, Ctx};
use crate::domain::webhooks::*;
use crate::error::ApiError;
use crate::http::{body, json, query, Request, Response};
use crate::keys;
use crate::ports::{Platform, Scan};
use crate::settings::{settings_in, SlaSettings, WebhookTarget};
use crate::store::{get_json, scan_json, transact};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryQuery {
    subject_id: Option<String>,
    status: Option<DeliveryStatus>,
    limit: Option<usize>,
}

/// `GET /v1/webhook-deliveries`: the outbox, newest first, with every attempt.
#[utoipa::path(get, path = "/v1/webhook-deliveries", tag = "sla", params(("subject_id" = Option<String>, Query), ("status" = Option<String>, Query, description = "`pending`, `delivered` or `failed`"), ("limit" = Option<usize>, Query)),
    responses((status = 200, description = "`{\"data\": [delivery]}` newest first, with every attempt")))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: DeliveryQuery = query(req)?;
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > 200 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be 1 to 200",
        ));
    }
    let mut data = Vec::new();
    let mut after = None;
    'scan: loop {
        let scan = Scan {
            prefix: keys::tenant::WEBHOOK_DELIVERIES.into(),
            after: after.clone(),
            limit: 200,
            reverse: true,
        };
        let rows = scan_json::<_, Delivery>(ctx.p, &ctx.actor, &scan).await?;
        let n = rows.len();
        for (k, d) in rows {
            after = Some(k);
            let keep = q.subject_id.as_ref().is_none_or(|s| &d.subject_id == s)
                && q.status.is_none_or(|s| d.status == s);
            if keep {
                data.push(d);
                if data.len() == limit {
                    break 'scan;
                }
            }
        }
        if n < 200 {
            break;
        }
    }
    json(StatusCode::OK, &serde_json::json!({ "data": data }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetWebhook {
    url: String,
}

/// The one URL rule for every webhook receiver.
fn checked_url(raw: &str) -> Result<String, ApiError> {
    let url = raw.trim().to_owned();
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.len() > 2048 || url.parse::<http::Uri>().is_err() {
        return Err(ApiError::unprocessable(
            "url: must be an absolute http(s) URL of at most 2048 characters",
        ));
    }
    Ok(url)
}

fn new_secret<P: Platform>(ctx: &Ctx<'_, P>) -> String {
    let mut secret = [0u8; 32];
    ctx.p.fill(&mut secret);
    format!("whsec_{}", hex::encode(secret))
}

/// What the API shows of the webhook target; the secret only when it was just made.
fn view(target: Option<&WebhookTarget>, with_secret: bool) -> serde_json::Value {
    match target {
        None => serde_json::json!({"url": null}),
        Some(t) if with_secret => {
            serde_json::json!({"url": t.url, "secret": t.secret, "updated_at": t.updated_at})
        }
        Some(t) => serde_json::json!({"url": t.url, "updated_at": t.updated_at}),
    }
}

/// `GET /v1/sla/webhook`.
#[utoipa::path(get, path = "/v1/sla/webhook", tag = "sla", responses((status = 200, description = "`{\"url\"}`")))]
pub async fn get_target<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let s: SlaSettings = get_json(ctx.p, &ctx.actor, keys::tenant::SLA_SETTINGS)
        .await?
        .unwrap_or_default();
    json(StatusCode::OK, &view(s.webhook.as_ref(), false))
}

/// `PUT /v1/sla/webhook` `{"url"}`: sets where SLA notifications go and makes a new signing
/// secret, shown in this answer only. `DELETE` stops webhooks.
#[utoipa::path(put, path = "/v1/sla/webhook", tag = "sla", description = "Body `{\"url\"}`; answers with a new signing secret, shown once. `DELETE` stops webhooks.",
    responses((status = 200, description = "`{\"url\", \"secret\", \"updated_at\"}`"), (status = 422)))]
pub async fn set_target<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let target = if req.method() == http::Method::DELETE {
        None
    } else {
        let input: SetWebhook = body(req)?;
        Some(WebhookTarget {
            url: checked_url(&input.url)?,
            secret: new_secret(ctx),
            updated_at: ctx.now(),
        })
    };
    let saved = transact(ctx.p, &ctx.actor, async |tx| {
        let mut s = settings_in(tx).await?;
        s.webhook = target.clone();
        s.version += 1;
        tx.put_json(keys::tenant::SLA_SETTINGS, &s)?;
        record_event(
            ctx.p,
            tx,
            "sla_config",
            "sla.webhook_changed",
            ctx.actor_ref(),
            serde_json::json!({"url": target.as_ref().map(|t| t.url.clone())}),
        )?;
        Ok(s)
    })
    .await?;
    json(StatusCode::OK, &view(saved.webhook.as_ref(), true))
}

// ---- event subscriptions ------------------------------------------------------------------

/// `POST /v1/webhooks/subscriptions` and `PATCH /v1/webhooks/subscriptions/{id}`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    /// Where deliveries are POSTed: an absolute http(s) URL.
    #[schema(example = "https://crm.example/edgedesk")]
    pub url: Option<String>,
    /// Event types, from `conversation.created`, `conversation.status_changed`,
    /// `message.created`, `ticket.created`, `ticket.updated`, `ticket.merged`, `sla.warning`,
    /// `sla.breached`, `csat.submitted`, `contact.created`.
    #[schema(example = json!(["message.created", "ticket.created"]))]
    pub events: Option<Vec<String>>,
    /// Paused subscriptions receive nothing (default: active).
    pub active: Option<bool>,
}

fn checked_events(events: &[String]) -> Result<Vec<String>, ApiError> {
    if events.is_empty() {
        return Err(ApiError::unprocessable(
            "events: subscribe to at least one event",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for e in events {
        if !SUBSCRIBABLE_EVENTS.contains(&e.as_str()) {
            return Err(ApiError::unprocessable(format!(
                "events: `{e}` is not one of {}",
                SUBSCRIBABLE_EVENTS.join(", ")
            )));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

/// A subscription as listed: its secret is shown only when it is made.
fn public(s: &Subscription) -> serde_json::Value {
    serde_json::json!({"id": s.id, "url": s.url, "events": s.events, "active": s.active,
        "created_at": s.created_at, "updated_at": s.updated_at})
}

/// `GET /v1/webhooks/subscriptions`: the tenant's event subscriptions.
#[utoipa::path(get, path = "/v1/webhooks/subscriptions", tag = "webhooks",
    responses((status = 200, body = Object, description = "`{\"data\": [{id, url, events, active, created_at, updated_at}]}`; secrets are not listed.")))]
pub async fn list_subscriptions<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let subs = subscriptions(ctx.p, &ctx.actor).await?;
    let data: Vec<serde_json::Value> = subs.iter().map(public).collect();
    json(StatusCode::OK, &serde_json::json!({ "data": data }))
}

/// `POST /v1/webhooks/subscriptions`: subscribes a URL to event types. The answer holds the
/// signing secret, shown this once.
#[utoipa::path(post, path = "/v1/webhooks/subscriptions", tag = "webhooks", request_body(content = SubscriptionInput,
        example = json!({"url": "https://crm.example/edgedesk", "events": ["message.created", "ticket.created"]})),
    description = "Deliveries look like this (`message.created`):\n\n```json\n{\"id\": \"whd_01JD3QXV6ZK8M5N2P4R7S9T0WX\", \"event\": \"message.created\", \"created_at\": \"2026-12-07T10:00:00Z\", \"data\": {\"id\": \"msg_01JD3QXV6ZK8M5N2P4R7S9T0WX\", \"conversation_id\": \"cnv_01JD3QXV6ZK8M5N2P4R7S9T0WX\", \"seq\": 1, \"sender\": {\"kind\": \"contact\", \"id\": \"ctc_01JD3QXV6ZK8M5N2P4R7S9T0WX\"}, \"body\": \"Where is my order?\", \"private\": false, \"attachments\": [], \"created_at\": \"2026-12-07T10:00:00Z\"}}\n```\n\n`conversation.status_changed` carries `{conversation, status: {from, to}}`, `ticket.updated` `{ticket, changes}`, `ticket.merged` `{source, target}`, `sla.warning`/`sla.breached` `{subject_id, sla}`, `csat.submitted` `{conversation_id, csat}`; the others carry the record.",
    responses((status = 201, body = Object, description = "`{id, url, events, active, secret, created_at, updated_at}`; `secret` (`whsec_…`) is shown only here."),
        (status = 422, description = "A URL that is not absolute http(s), no events, an unknown event, or more than 50 subscriptions.")))]
pub async fn create_subscription<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: SubscriptionInput = body(req)?;
    let url = checked_url(input.url.as_deref().unwrap_or_default())?;
    let events = checked_events(input.events.as_deref().unwrap_or_default())?;
    let now = ctx.now();
    let (ms, r) = crate::ctx::id_parts(ctx.p);
    let sub = Subscription {
        id: crate::kb::mint_id("whs", ms, r),
        url,
        events,
        secret: new_secret(ctx),
        active: input.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    if subscriptions(ctx.p, &ctx.actor).await?.len() >= MAX_SUBSCRIPTIONS {
        return Err(ApiError::unprocessable(format!(
            "at most {MAX_SUBSCRIPTIONS} subscriptions"
        )));
    }
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.put_json(keys::tenant::webhook_subscription(&sub.id), &sub)?;
        record_event(
            ctx.p,
            tx,
            &sub.id,
            "webhook.subscribed",
            ctx.actor_ref(),
            public(&sub),
        )
    })
    .await?;
    let mut out = public(&sub);
    out["secret"] = serde_json::Value::String(sub.secret.clone());
    json(StatusCode::CREATED, &out)
}

async fn load_subscription<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
) -> Result<Subscription, ApiError> {
    get_json(ctx.p, &ctx.actor, &keys::tenant::webhook_subscription(id))
        .await?
        .ok_or_else(|| ApiError::not_found("subscription"))
}

/// `GET /v1/webhooks/subscriptions/{id}`.
#[utoipa::path(get, path = "/v1/webhooks/subscriptions/{id}", tag = "webhooks", params(("id" = String, Path, example = "whs_01JD3QXV6ZK8M5N2P4R7S9T0WX")),
    responses((status = 200, body = Object, description = "`{id, url, events, active, created_at, updated_at}`."), (status = 404, description = "No such subscription.")))]
pub async fn get_subscription<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
) -> Result<Response, ApiError> {
    json(StatusCode::OK, &public(&load_subscription(ctx, id).await?))
}

/// `PATCH /v1/webhooks/subscriptions/{id}`: changes the URL, the events or pauses it.
#[utoipa::path(patch, path = "/v1/webhooks/subscriptions/{id}", tag = "webhooks", params(("id" = String, Path, example = "whs_01JD3QXV6ZK8M5N2P4R7S9T0WX")),
    request_body(content = SubscriptionInput, example = json!({"active": false})),
    responses((status = 200, body = Object, description = "The subscription as changed."), (status = 404, description = "No such subscription."), (status = 422, description = "A bad URL or event.")))]
pub async fn update_subscription<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: SubscriptionInput = body(req)?;
    let url = input.url.as_deref().map(checked_url).transpose()?;
    let events = input.events.as_deref().map(checked_events).transpose()?;
    let now = ctx.now();
    let saved = transact(ctx.p, &ctx.actor, async |tx| {
        let mut sub: Subscription = tx
            .get_json(&keys::tenant::webhook_subscription(id))
            .await?
            .ok_or_else(|| ApiError::not_found("subscription"))?;
        if let Some(u) = &url {
            sub.url = u.clone();
        }
        if let Some(e) = &events {
            sub.events = e.clone();
        }
        if let Some(a) = input.active {
            sub.active = a;
        }
        sub.updated_at = now;
        tx.put_json(keys::tenant::webhook_subscription(id), &sub)?;
        record_event(
            ctx.p,
            tx,
            id,
            "webhook.subscription_changed",
            ctx.actor_ref(),
            public(&sub),
        )?;
        Ok(sub)
    })
    .await?;
    json(StatusCode::OK, &public(&saved))
}

/// `DELETE /v1/webhooks/subscriptions/{id}`: pending deliveries to it fail at their next try.
#[utoipa::path(delete, path = "/v1/webhooks/subscriptions/{id}", tag = "webhooks", params(("id" = String, Path, example = "whs_01JD3QXV6ZK8M5N2P4R7S9T0WX")),
    responses((status = 204, description = "Deleted."), (status = 404, description = "No such subscription.")))]
pub async fn delete_subscription<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
) -> Result<Response, ApiError> {
    transact(ctx.p, &ctx.actor, async |tx| {
        if tx
            .get(&keys::tenant::webhook_subscription(id))
            .await?
            .is_none()
        {
            return Err(ApiError::not_found("subscription"));
        }
        tx.delete(keys::tenant::webhook_subscription(id));
        record_event(
            ctx.p,
            tx,
            id,
            "webhook.unsubscribed",
            ctx.actor_ref(),
            serde_json::json!({}),
        )
    })
    .await?;
    Ok(crate::http::no_content())
}

/// `POST /v1/webhook-deliveries/{id}/replay`: sends a delivery again (a failed one, or one the
/// receiver lost), signed anew at sending time.
#[utoipa::path(post, path = "/v1/webhook-deliveries/{id}/replay", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 202, body = Object, description = "The delivery, pending again with its earlier attempts; it is sent shortly."), (status = 404, description = "No such delivery.")))]
pub async fn replay_delivery<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
) -> Result<Response, ApiError> {
    let delivery = replay(ctx.p, &ctx.actor, id)
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    crate::alarms::schedule(ctx.p, ctx.now(), &job(&ctx.tenant_id, id)).await?;
    json(StatusCode::ACCEPTED, &delivery)
}
