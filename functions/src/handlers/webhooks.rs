//! Outbound webhooks over HTTP: the delivery log and the SLA webhook target. The outbox itself
//! is `crate::domain::webhooks`.

use http::StatusCode;
use serde::Deserialize;

use crate::ctx::{record_event, Ctx};
use crate::domain::webhooks::*;
use crate::error::ApiError;
use crate::http::{body, json, query, Request, Response};
use crate::ports::{Platform, Scan};
use crate::settings::{settings_in, SlaSettings, WebhookTarget, CONFIG_KEY};
use crate::store::{get_json, scan_json, transact};
use edgedesk_shared::rbac::Permission;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryQuery {
    subject_id: Option<String>,
    status: Option<DeliveryStatus>,
    limit: Option<usize>,
}

/// `GET /v1/webhook-deliveries`: the outbox, newest first, with every attempt.
#[utoipa::path(get, path = "/v1/webhook-deliveries", tag = "sla", params(("subject_id" = Option<String>, Query), ("status" = Option<String>, Query, description = "`pending`, `delivered` or `failed`"), ("limit" = Option<usize>, Query)),
    responses((status = 200, description = "`{\"data\": [delivery]}` newest first, with every attempt")), security(("api_key" = [])))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    ctx.require(Permission::ManageSettings)?;
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
#[utoipa::path(get, path = "/v1/sla/webhook", tag = "sla", responses((status = 200, description = "`{\"url\"}`")), security(("api_key" = [])))]
pub async fn get_target<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let s: SlaSettings = get_json(ctx.p, &ctx.actor, CONFIG_KEY)
        .await?
        .unwrap_or_default();
    json(StatusCode::OK, &view(s.webhook.as_ref(), false))
}

/// `PUT /v1/sla/webhook` `{"url"}`: sets where SLA notifications go and makes a new signing
/// secret, shown in this answer only. `DELETE` stops webhooks.
#[utoipa::path(put, path = "/v1/sla/webhook", tag = "sla", description = "Body `{\"url\"}`; answers with a new signing secret, shown once. `DELETE` stops webhooks.",
    responses((status = 200, description = "`{\"url\", \"secret\", \"updated_at\"}`"), (status = 422)), security(("api_key" = [])))]
pub async fn set_target<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    ctx.require(Permission::ManageSettings)?;
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
