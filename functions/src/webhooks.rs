//! Outbound webhooks: a durable outbox of deliveries, sent signed through the
//! [`OutboundHttp`](crate::ports::OutboundHttp) port.
//!
//! A delivery is stored (`webhook:<id>` in the tenant actor) in the same transaction as the
//! change that causes it, then a `Job::Webhook` sends it. Each attempt signs the body with the
//! tenant's webhook secret (`X-EdgeDesk-Signature: t=<unix>,v1=<hex>`, see
//! `edgedesk_shared::signature`) and is recorded on the delivery; failures are retried with a
//! growing pause, up to [`MAX_ATTEMPTS`]. Receivers deduplicate on `X-EdgeDesk-Delivery`: a
//! host that stops between sending and recording may send an attempt again.

use chrono::{DateTime, TimeDelta, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::alarms::{schedule, Job};
use crate::ctx::{id_parts, record_event, Ctx};
use crate::error::ApiError;
use crate::handlers::sla::{settings_in, SlaSettings, WebhookTarget, CONFIG_KEY};
use crate::http::{body, json, query, Request, Response};
use crate::ports::{OutboundRequest, Platform, Scan};
use crate::store::{get_json, scan_json, tenant_actor, transact, Tx};
use edgedesk_shared::ids::{EventId, TenantId};
use edgedesk_shared::signature::sign_webhook;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: usize = 5;
/// Pause before the second attempt; it doubles for each further one.
const FIRST_RETRY_SECONDS: i64 = 5;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// One try to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// A webhook in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub tenant_id: TenantId,
    /// e.g. `sla.breached`.
    pub event: String,
    /// The ticket or conversation it is about.
    pub subject_id: String,
    pub url: String,
    pub payload: serde_json::Value,
    pub status: DeliveryStatus,
    pub attempts: Vec<Attempt>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

fn delivery_key(id: &str) -> String {
    format!("webhook:{id}")
}

/// Stores a delivery inside the caller's transaction; schedule `Job::Webhook` after commit.
pub fn enqueue<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    tenant_id: &TenantId,
    target: &WebhookTarget,
    event: &str,
    subject_id: &str,
    payload: serde_json::Value,
) -> Result<String, ApiError> {
    let (ms, r) = id_parts(p);
    // Time-ordered ids: the outbox lists oldest first by key.
    let id = format!(
        "whd_{}",
        EventId::from_parts(ms, r)
            .to_string()
            .trim_start_matches(EventId::PREFIX)
            .trim_start_matches('_')
    );
    let now = p.now();
    let delivery = Delivery {
        id: id.clone(),
        tenant_id: *tenant_id,
        event: event.to_owned(),
        subject_id: subject_id.to_owned(),
        url: target.url.clone(),
        payload: serde_json::json!({"id": id, "event": event, "created_at": now, "data": payload}),
        status: DeliveryStatus::Pending,
        attempts: Vec::new(),
        created_at: now,
        delivered_at: None,
    };
    tx.put_json(delivery_key(&id), &delivery)?;
    Ok(id)
}

/// The `Job::Webhook` work: one attempt to send a pending delivery.
pub async fn deliver<P: Platform>(p: &P, tenant_id: &TenantId, id: &str) -> Result<(), ApiError> {
    let actor = tenant_actor(tenant_id);
    let Some(delivery) = get_json::<_, Delivery>(p, &actor, &delivery_key(id)).await? else {
        return Ok(());
    };
    if delivery.status != DeliveryStatus::Pending {
        return Ok(());
    }
    let settings: SlaSettings = get_json(p, &actor, CONFIG_KEY).await?.unwrap_or_default();
    let now = p.now();
    let outcome = match settings.webhook.as_ref() {
        None => Attempt {
            at: now,
            status: None,
            error: Some("no webhook is configured any more".into()),
        },
        Some(target) => {
            let body = serde_json::to_vec(&delivery.payload)?;
            let signature = sign_webhook(target.secret.as_bytes(), now.timestamp(), &body);
            let request = OutboundRequest {
                method: http::Method::POST,
                url: target.url.clone(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("x-edgedesk-signature".into(), signature),
                    ("x-edgedesk-delivery".into(), delivery.id.clone()),
                    ("x-edgedesk-event".into(), delivery.event.clone()),
                ],
                body,
            };
            match p.send(request).await {
                Ok(status) => Attempt {
                    at: now,
                    status: Some(status),
                    error: (!(200..300).contains(&status))
                        .then(|| format!("the receiver answered {status}")),
                },
                Err(e) => Attempt {
                    at: now,
                    status: None,
                    error: Some(e.to_string()),
                },
            }
        }
    };
    let retry_at = transact(p, &actor, async |tx| {
        let Some(mut d) = tx.get_json::<Delivery>(&delivery_key(id)).await? else {
            return Ok(None);
        };
        if d.status != DeliveryStatus::Pending {
            return Ok(None);
        }
        d.attempts.push(outcome.clone());
        let mut retry_at = None;
        if outcome.error.is_none() {
            d.status = DeliveryStatus::Delivered;
            d.delivered_at = Some(outcome.at);
        } else if d.attempts.len() >= MAX_ATTEMPTS || settings.webhook.is_none() {
            d.status = DeliveryStatus::Failed;
        } else {
            let pause = FIRST_RETRY_SECONDS << (d.attempts.len() - 1).min(10);
            retry_at = Some(now + TimeDelta::seconds(pause));
        }
        tx.put_json(delivery_key(id), &d)?;
        Ok(retry_at)
    })
    .await?;
    if let Some(at) = retry_at {
        let job = Job::Webhook {
            tenant_id: *tenant_id,
            delivery: id.to_owned(),
        };
        schedule(p, at, &job).await?;
    }
    Ok(())
}

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
            prefix: "webhook:".into(),
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
    let s: SlaSettings = get_json(ctx.p, &ctx.actor, CONFIG_KEY)
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
        let url = input.url.trim().to_owned();
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || url.len() > 2048 || url.parse::<http::Uri>().is_err() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "url: must be an absolute http(s) URL of at most 2048 characters",
            ));
        }
        let mut secret = [0u8; 32];
        ctx.p.fill(&mut secret);
        Some(WebhookTarget {
            url,
            secret: format!("whsec_{}", hex::encode(secret)),
            updated_at: ctx.now(),
        })
    };
    let saved = transact(ctx.p, &ctx.actor, async |tx| {
        let mut s = settings_in(tx).await?;
        s.webhook = target.clone();
        s.version += 1;
        tx.put_json(CONFIG_KEY, &s)?;
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
