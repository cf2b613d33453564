//! Outbound webhooks: a durable outbox of deliveries, sent signed through the
//! [`OutboundHttp`](crate::ports::OutboundHttp) port.
//!
//! Every webhook EdgeDesk sends goes through here, whoever it is for ([`Receiver`]): the SLA
//! webhook target, an automation rule's `send_webhook` action, or an event subscription.
//! A delivery is stored (`webhook:<id>` in the tenant actor) in the same transaction as the
//! change that causes it, then a `Job::Webhook` sends it. Each attempt signs the body with the
//! receiver's secret and the time of sending (`X-EdgeDesk-Signature: t=<unix>,v1=<hex>`, see
//! `edgedesk_shared::signature`, so a captured request cannot be replayed later) and is
//! recorded on the delivery; failures are retried with a growing pause, up to
//! [`MAX_ATTEMPTS`]. Receivers deduplicate on `X-EdgeDesk-Delivery`: a host that stops between
//! sending and recording may send an attempt again.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::alarms::{schedule, Job};
use crate::ctx::id_parts;
use crate::error::ApiError;
use crate::keys::{self, tenant_actor};
use crate::ports::{OutboundRequest, Platform, Scan};
use crate::settings::{SlaSettings, WebhookTarget};
use crate::store::{get_json, scan_json, transact, Tx};
use edgedesk_shared::ids::{EventId, TenantId};
use edgedesk_shared::routing::RuleRef;
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

/// Who a delivery is for: decides where it goes and which secret signs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Receiver {
    /// The tenant's SLA webhook target, as configured when the attempt is made.
    #[default]
    SlaTarget,
    /// An automation rule's `send_webhook` action: the rule's URL, signed with the tenant's
    /// automation webhook secret (`GET /v1/automation/webhook-secret`).
    Automation { rule: RuleRef },
    /// An event subscription: its URL and secret, as they are when the attempt is made.
    Subscription { id: String },
}

/// A webhook in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub tenant_id: TenantId,
    /// Deliveries stored before receivers existed went to the SLA target.
    #[serde(default)]
    pub receiver: Receiver,
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

/// Stores a delivery to the SLA webhook target inside the caller's transaction; schedule
/// `Job::Webhook` after commit.
pub fn enqueue<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    tenant_id: &TenantId,
    target: &WebhookTarget,
    event: &str,
    subject_id: &str,
    payload: serde_json::Value,
) -> Result<String, ApiError> {
    let to = (Receiver::SlaTarget, target.url.as_str());
    enqueue_to(p, tx, tenant_id, to, event, subject_id, payload)
}

/// Stores a delivery of `event` about `subject_id` to `receiver` at `url` inside the caller's
/// transaction, and answers its id; schedule [`job`] after commit. The body is
/// `{"id", "event", "created_at", "data": payload}`.
pub fn enqueue_to<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    tenant_id: &TenantId,
    (receiver, url): (Receiver, &str),
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
        receiver,
        url: url.to_owned(),
        payload: serde_json::json!({"id": id, "event": event, "created_at": now, "data": payload}),
        status: DeliveryStatus::Pending,
        attempts: Vec::new(),
        created_at: now,
        delivered_at: None,
    };
    tx.put_json(keys::tenant::webhook_delivery(&id), &delivery)?;
    Ok(id)
}

/// The job that sends delivery `id` of `tenant_id`.
pub fn job(tenant_id: &TenantId, id: &str) -> Job {
    Job::Webhook {
        tenant_id: *tenant_id,
        delivery: id.to_owned(),
    }
}

/// Where a delivery goes now and the secret that signs it, or why it cannot go.
async fn destination<P: Platform>(
    p: &P,
    actor: &str,
    delivery: &Delivery,
) -> Result<Result<(String, String), String>, ApiError> {
    Ok(match &delivery.receiver {
        Receiver::SlaTarget => {
            let settings: SlaSettings = get_json(p, actor, keys::tenant::SLA_SETTINGS)
                .await?
                .unwrap_or_default();
            match settings.webhook {
                Some(t) => Ok((t.url, t.secret)),
                None => Err("no webhook is configured any more".into()),
            }
        }
        Receiver::Automation { .. } => {
            let secret = crate::settings::automation_webhook_secret(p, actor).await?;
            Ok((delivery.url.clone(), secret))
        }
        Receiver::Subscription { id } => {
            match get_json::<_, Subscription>(p, actor, &keys::tenant::webhook_subscription(id))
                .await?
            {
                Some(s) if s.active => Ok((s.url, s.secret)),
                Some(_) => Err("the subscription is paused".into()),
                None => Err("the subscription was deleted".into()),
            }
        }
    })
}

/// Puts a delivered or failed delivery back in the queue (keeping its attempts), and answers
/// it; `None` for an unknown id. Schedule [`job`] after commit.
pub async fn replay<P: Platform>(
    p: &P,
    actor: &str,
    id: &str,
) -> Result<Option<Delivery>, ApiError> {
    transact(p, actor, async |tx| {
        let Some(mut d) = tx
            .get_json::<Delivery>(&keys::tenant::webhook_delivery(id))
            .await?
        else {
            return Ok(None);
        };
        d.status = DeliveryStatus::Pending;
        d.delivered_at = None;
        tx.put_json(keys::tenant::webhook_delivery(id), &d)?;
        Ok(Some(d))
    })
    .await
}

// ---- event subscriptions ----------------------------------------------------------------

/// The events a subscription may ask for.
pub const SUBSCRIBABLE_EVENTS: &[&str] = &[
    "conversation.created",
    "conversation.status_changed",
    "message.created",
    "ticket.created",
    "ticket.updated",
    "ticket.merged",
    "sla.warning",
    "sla.breached",
    "csat.submitted",
    "contact.created",
];

/// Most subscriptions per tenant.
pub const MAX_SUBSCRIPTIONS: usize = 50;

/// A tenant's subscription of a URL to event types (`webhook_sub:<id>` in the tenant actor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    /// Event types from [`SUBSCRIBABLE_EVENTS`].
    pub events: Vec<String>,
    /// The HMAC secret deliveries are signed with.
    pub secret: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Subscription {
    /// Whether this subscription is active and asked for `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.active && self.events.iter().any(|e| e == event)
    }
}

/// Every subscription of the tenant.
pub async fn subscriptions<P: Platform>(p: &P, actor: &str) -> Result<Vec<Subscription>, ApiError> {
    let scan = Scan {
        prefix: keys::tenant::WEBHOOK_SUBSCRIPTIONS.into(),
        after: None,
        limit: MAX_SUBSCRIPTIONS,
        reverse: false,
    };
    Ok(scan_json(p, actor, &scan)
        .await?
        .into_iter()
        .map(|(_, s)| s)
        .collect())
}

/// Queues `event` about `subject_id` for every subscription in `all` (the tenant's, as
/// [`subscriptions`] reads them) that wants it, in one batch of the tenant actor, and
/// schedules the sends. Answers how many were queued.
pub async fn publish<P: Platform>(
    p: &P,
    tenant_id: &TenantId,
    all: &[Subscription],
    event: &str,
    subject_id: &str,
    data: serde_json::Value,
) -> Result<usize, ApiError> {
    let actor = tenant_actor(tenant_id);
    let subs: Vec<&Subscription> = all.iter().filter(|s| s.wants(event)).collect();
    if subs.is_empty() {
        return Ok(0);
    }
    let ids = transact(p, &actor, async |tx| {
        let mut ids = Vec::with_capacity(subs.len());
        for s in &subs {
            let to = (Receiver::Subscription { id: s.id.clone() }, s.url.as_str());
            ids.push(enqueue_to(
                p,
                tx,
                tenant_id,
                to,
                event,
                subject_id,
                data.clone(),
            )?);
        }
        Ok(ids)
    })
    .await?;
    let now = p.now();
    for id in &ids {
        schedule(p, now, &job(tenant_id, id)).await?;
    }
    Ok(ids.len())
}

/// The `Job::Webhook` work: one attempt to send a pending delivery.
pub async fn deliver<P: Platform>(p: &P, tenant_id: &TenantId, id: &str) -> Result<(), ApiError> {
    let actor = tenant_actor(tenant_id);
    let Some(delivery) =
        get_json::<_, Delivery>(p, &actor, &keys::tenant::webhook_delivery(id)).await?
    else {
        return Ok(());
    };
    if delivery.status != DeliveryStatus::Pending {
        return Ok(());
    }
    let now = p.now();
    let destination = destination(p, &actor, &delivery).await?;
    let outcome = match &destination {
        Err(why) => Attempt {
            at: now,
            status: None,
            error: Some(why.clone()),
        },
        Ok((url, secret)) => {
            let body = serde_json::to_vec(&delivery.payload)?;
            let signature = sign_webhook(secret.as_bytes(), now.timestamp(), &body);
            let request = OutboundRequest {
                method: http::Method::POST,
                url: url.clone(),
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
        let Some(mut d) = tx
            .get_json::<Delivery>(&keys::tenant::webhook_delivery(id))
            .await?
        else {
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
        } else if d.attempts.len() >= MAX_ATTEMPTS || destination.is_err() {
            d.status = DeliveryStatus::Failed;
        } else {
            let pause = FIRST_RETRY_SECONDS << (d.attempts.len() - 1).min(10);
            retry_at = Some(now + TimeDelta::seconds(pause));
        }
        tx.put_json(keys::tenant::webhook_delivery(id), &d)?;
        Ok(retry_at)
    })
    .await?;
    if let Some(at) = retry_at {
        schedule(p, at, &job(tenant_id, id)).await?;
    }
    Ok(())
}
