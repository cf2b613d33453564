//! The tenant's widget settings as admins change them (appearance, allowed origins, pre-chat,
//! the identity secret) and the agents' presence the widget shows.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ctx::random_hex;
use crate::ctx::Ctx;
use crate::domain::presence::{Presence, PresenceStatus};
use crate::error::ApiError;
use crate::flows::{self, Event};
use crate::http::{body, json, path_id, Request, Response};
use crate::keys;
use crate::ports::Platform;
use crate::store::transact;
use crate::visitor::settings;
use edgedesk_shared::widget::{UpdateWidgetSettings, WidgetConfig, WidgetSettings};

/// `PATCH /v1/tenant/widget` (admin): appearance, origins, pre-chat, away message.
#[utoipa::path(patch, path = "/v1/tenant/widget", tag = "widget", request_body = UpdateWidgetSettings,
    responses((status = 200, body = WidgetConfig)))]
pub async fn update_settings<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: UpdateWidgetSettings = body(req)?;
    input.validate()?;
    settings(ctx.p, &ctx.actor).await?;
    let updated = transact(ctx.p, &ctx.actor, async |tx| {
        let mut s: WidgetSettings = tx
            .get_json(keys::tenant::WIDGET_SETTINGS)
            .await?
            .ok_or_else(ApiError::internal)?;
        if let Some(v) = &input.allowed_origins {
            s.allowed_origins = v.clone();
        }
        if let Some(v) = &input.away_message {
            s.away_message = v.clone();
        }
        if let Some(v) = input.expected_reply_minutes {
            s.expected_reply_minutes = v;
        }
        if let Some(v) = &input.prechat {
            s.prechat = v.clone();
        }
        if let Some(v) = &input.locale {
            s.locale = v.clone();
        }
        if let Some(v) = &input.color {
            s.color = v.clone();
        }
        if let Some(v) = &input.attachments {
            s.attachments = v.clone();
        }
        if let Some(v) = input.identity_required {
            s.identity_required = v;
        }
        s.version += 1;
        tx.put_json(keys::tenant::WIDGET_SETTINGS, &s)?;
        crate::ctx::record_event(
            ctx.p,
            tx,
            &ctx.tenant_id.to_string(),
            "widget.updated",
            ctx.actor_ref(),
            crate::http::to_value(&input)?,
        )?;
        Ok(s)
    })
    .await?;
    flows::dispatch(ctx.p, &ctx.actor, Event::WidgetChanged).await?;
    json(StatusCode::OK, &admin_view(&updated))
}

/// What admins see of the settings (no secrets).
fn admin_view(s: &WidgetSettings) -> serde_json::Value {
    serde_json::json!({
        "channel_id": s.channel_id, "allowed_origins": s.allowed_origins, "away_message": s.away_message,
        "expected_reply_minutes": s.expected_reply_minutes, "prechat": s.prechat, "locale": s.locale,
        "color": s.color, "attachments": s.attachments, "identity_required": s.identity_required,
    })
}

/// `GET /v1/tenant/widget` (admin)
#[utoipa::path(get, path = "/v1/tenant/widget", tag = "widget",
    responses((status = 200, body = WidgetConfig, description = "The widget's settings.")))]
pub async fn get_settings<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    json(
        StatusCode::OK,
        &admin_view(&settings(ctx.p, &ctx.actor).await?),
    )
}

/// `POST /v1/tenant/widget/identity-secret` (admin): rotates and shows the identity secret once.
/// Nothing visitors see changes, so open widgets are not told (they would all read their
/// config again for nothing).
#[utoipa::path(post, path = "/v1/tenant/widget/identity-secret", tag = "widget",
    responses((status = 200, body = Object, description = "`{\"identity_secret\"}`: the new secret for signing visitor identities; the old one stops working.")))]
pub async fn rotate_identity_secret<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    settings(ctx.p, &ctx.actor).await?;
    let secret = random_hex(ctx.p, 32);
    transact(ctx.p, &ctx.actor, async |tx| {
        let mut s: WidgetSettings = tx
            .get_json(keys::tenant::WIDGET_SETTINGS)
            .await?
            .ok_or_else(ApiError::internal)?;
        s.identity_secret = secret.clone();
        s.version += 1;
        tx.put_json(keys::tenant::WIDGET_SETTINGS, &s)?;
        crate::ctx::record_event(
            ctx.p,
            tx,
            &ctx.tenant_id.to_string(),
            "widget.identity_secret_rotated",
            ctx.actor_ref(),
            serde_json::Value::Null,
        )
    })
    .await?;
    json(
        StatusCode::OK,
        &serde_json::json!({ "identity_secret": secret }),
    )
}

/// `PUT /v1/agents/{id}/presence`
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPresence {
    pub status: PresenceStatus,
}

#[utoipa::path(put, path = "/v1/agents/{id}/presence", tag = "widget",
    params(("id" = String, Path, description = "agent id")),
    request_body = Presence,
    responses((status = 200, body = Presence, description = "The agent's presence as stored."), (status = 404), (status = 422)))]
pub async fn set_presence<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: edgedesk_shared::ids::AgentId = path_id(raw_id, "agent")?;
    let input: SetPresence = body(req)?;
    let _: edgedesk_shared::model::Agent = crate::records::load(ctx, &id.to_string()).await?;
    let presence = Presence {
        status: input.status,
        at: ctx.now(),
    };
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.put_json(keys::tenant::presence(&id), &presence)
    })
    .await?;
    let event = Event::PresenceReported {
        agent: id,
        presence: presence.clone(),
    };
    flows::dispatch(ctx.p, &ctx.actor, event).await?;
    json(StatusCode::OK, &presence)
}
