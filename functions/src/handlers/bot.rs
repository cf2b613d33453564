//! The bot over HTTP: intents with example phrases, settings, the test box and the containment
//! report. The bot itself (training, understanding, answering visitors) is `crate::domain::bot`.

use std::collections::BTreeMap;

use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ctx::Ctx;
use crate::domain::bot::*;
use crate::error::ApiError;
use crate::http::{body, json, no_content, Request, Response};
use crate::keys;
use crate::ports::{Platform, Scan};
use crate::records::Versioned;
use crate::store::{get_json, scan_json, transact};
use edgedesk_shared::model::{Conversation, ConversationStatus};
// ---------------------------------------------------------------------------------------------
// HTTP: intents, settings, test, report.
// ---------------------------------------------------------------------------------------------

/// `GET /v1/bot/intents`
#[utoipa::path(get, path = "/v1/bot/intents", tag = "bot",
    responses((status = 200, description = "`{\"data\": [BotIntent]}`")))]
pub async fn list_intents<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let all = intents(ctx.p, &ctx.actor).await?;
    json(StatusCode::OK, &serde_json::json!({ "data": all }))
}

/// `GET /v1/bot/intents/{id}`
#[utoipa::path(get, path = "/v1/bot/intents/{id}", tag = "bot", params(("id" = String, Path)),
    responses((status = 200, body = BotIntent), (status = 404)))]
pub async fn get_intent<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    let all = intents(ctx.p, &ctx.actor).await?;
    let found = all
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| ApiError::not_found("intent"))?;
    json(StatusCode::OK, &found)
}

/// Applies a change to the intents and retrains, in one transaction.
async fn change_intents<P: Platform>(
    ctx: &Ctx<'_, P>,
    change: impl Fn(&mut Vec<BotIntent>) -> Result<(), ApiError>,
) -> Result<Vec<BotIntent>, ApiError> {
    transact(ctx.p, &ctx.actor, async |tx| {
        let mut all: Vec<BotIntent> = tx
            .get_json(keys::tenant::BOT_INTENTS)
            .await?
            .unwrap_or_default();
        change(&mut all)?;
        if all.len() > MAX_INTENTS {
            return Err(ApiError::unprocessable(format!(
                "at most {MAX_INTENTS} intents"
            )));
        }
        match train(&all)? {
            Some(model) => tx.put(keys::tenant::BOT_MODEL, model),
            None => tx.delete(keys::tenant::BOT_MODEL),
        }
        tx.put_json(keys::tenant::BOT_INTENTS, &all)?;
        Ok(all)
    })
    .await
}

/// `POST /v1/bot/intents`: adds an intent and retrains the model.
#[utoipa::path(post, path = "/v1/bot/intents", tag = "bot", request_body = BotIntent,
    responses((status = 201, body = BotIntent), (status = 409), (status = 422)))]
pub async fn create_intent<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let mut input: BotIntent = body(req)?;
    input.validate()?;
    input.updated_at = Some(ctx.now());
    change_intents(ctx, |all| {
        if all.iter().any(|i| i.id == input.id) {
            return Err(ApiError::conflict(
                "already_exists",
                format!("intent `{}` exists", input.id),
            ));
        }
        all.push(input.clone());
        Ok(())
    })
    .await?;
    json(StatusCode::CREATED, &input)
}

/// `PUT /v1/bot/intents/{id}`: replaces (or creates) an intent and retrains the model.
#[utoipa::path(put, path = "/v1/bot/intents/{id}", tag = "bot", params(("id" = String, Path)), request_body = BotIntent,
    responses((status = 200, body = BotIntent), (status = 422)))]
pub async fn put_intent<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let mut input: BotIntent = body(req)?;
    if input.id != id {
        return Err(ApiError::unprocessable("id: must match the path"));
    }
    input.validate()?;
    input.updated_at = Some(ctx.now());
    change_intents(ctx, |all| {
        match all.iter_mut().find(|i| i.id == input.id) {
            Some(existing) => *existing = input.clone(),
            None => all.push(input.clone()),
        }
        Ok(())
    })
    .await?;
    json(StatusCode::OK, &input)
}

/// `DELETE /v1/bot/intents/{id}`: removes an intent and retrains the model.
#[utoipa::path(delete, path = "/v1/bot/intents/{id}", tag = "bot", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn delete_intent<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    change_intents(ctx, |all| {
        let before = all.len();
        all.retain(|i| i.id != id);
        if all.len() == before {
            return Err(ApiError::not_found("intent"));
        }
        Ok(())
    })
    .await?;
    Ok(no_content())
}

/// `GET /v1/bot/settings`
#[utoipa::path(get, path = "/v1/bot/settings", tag = "bot",
    responses((status = 200, body = BotSettings)))]
pub async fn get_settings<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    json(StatusCode::OK, &settings(ctx.p, &ctx.actor).await?)
}

/// `PUT /v1/bot/settings`
#[utoipa::path(put, path = "/v1/bot/settings", tag = "bot", request_body = BotSettings,
    responses((status = 200, body = BotSettings), (status = 422)))]
pub async fn put_settings<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: BotSettings = body(req)?;
    input.validate()?;
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.put_json(keys::tenant::BOT_SETTINGS, &input)
    })
    .await?;
    json(StatusCode::OK, &input)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestInput {
    pub text: String,
}

/// `POST /v1/bot/test {"text"}`: what the bot recognises in a text.
#[utoipa::path(post, path = "/v1/bot/test", tag = "bot", request_body = TestInput,
    responses((status = 200, body = Understanding), (status = 422)))]
pub async fn test<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let input: TestInput = body(req)?;
    if input.text.trim().is_empty() || input.text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::unprocessable(format!(
            "text: 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    let s = settings(ctx.p, &ctx.actor).await?;
    json(
        StatusCode::OK,
        &understand(ctx.p, &ctx.actor, &s, &input.text).await?,
    )
}

/// The containment report.
#[derive(Debug, Serialize, ToSchema)]
pub struct BotReport {
    /// Conversations the bot answered at least once.
    pub conversations: u64,
    /// Of those, handed to a person.
    pub handed_off: u64,
    /// Of those, never handed off.
    pub contained: u64,
    /// Contained and resolved.
    pub resolved_by_bot: u64,
    /// `contained / conversations` (0 when there are none).
    pub containment_rate: f64,
    /// Handoffs by reason.
    pub handoff_reasons: BTreeMap<String, u64>,
}

/// `GET /v1/reports/bot`: conversations the bot kept versus handed to a person.
#[utoipa::path(get, path = "/v1/reports/bot", tag = "bot",
    responses((status = 200, body = BotReport)))]
pub async fn report<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let mut report = BotReport {
        conversations: 0,
        handed_off: 0,
        contained: 0,
        resolved_by_bot: 0,
        containment_rate: 0.0,
        handoff_reasons: BTreeMap::new(),
    };
    let mut after = None;
    loop {
        let scan = Scan {
            prefix: keys::tenant::BOT_CONVERSATIONS.into(),
            after: after.clone(),
            limit: 500,
            reverse: false,
        };
        let page: Vec<(String, BotConversation)> = scan_json(ctx.p, &ctx.actor, &scan).await?;
        for (_, b) in &page {
            report.conversations += 1;
            match &b.handoff_reason {
                Some(reason) => {
                    report.handed_off += 1;
                    *report.handoff_reasons.entry(reason.clone()).or_default() += 1;
                }
                None => {
                    report.contained += 1;
                    let c: Option<Conversation> = get_json(
                        ctx.p,
                        &ctx.actor,
                        &Conversation::storage_key(&b.conversation_id.to_string()),
                    )
                    .await?;
                    if c.is_some_and(|c| c.status == ConversationStatus::Resolved) {
                        report.resolved_by_bot += 1;
                    }
                }
            }
        }
        if page.len() < scan.limit {
            break;
        }
        after = page.last().map(|(k, _)| k.clone());
    }
    if report.conversations > 0 {
        report.containment_rate = report.contained as f64 / report.conversations as f64;
    }
    json(StatusCode::OK, &report)
}
