//! Canned responses: saved replies with `{{variables}}`, found in the console by shortcode and
//! sent by agents or automation rules.
//!
//! Each response is a `canned:<id>` record; `canned_shortcode:<shortcode>` reserves its
//! shortcode, so two responses never share one even when saved concurrently.

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::ctx::{id_parts, record_event, Ctx};
use crate::domain::automation::{check_canned_reference, conversation_facts};
use crate::domain::canned::all_canned;
use crate::error::ApiError;
use crate::http::{body, json, path_id, query, Request, Response};
use crate::keys;
use crate::ports::Platform;
use crate::store::{get_json, transact};
use edgedesk_shared::ids::ConversationId;
use edgedesk_shared::model::Conversation;
use edgedesk_shared::routing::canned::MAX_CANNED_RESPONSES;
use edgedesk_shared::routing::{search_canned, CannedResponse};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// What the agent typed: a shortcode prefix (a leading `/` is ignored) or a title word.
    q: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/canned-responses?q=`: shortcode matches first, then title matches.
#[utoipa::path(get, path = "/v1/canned-responses", tag = "canned",
    params(("q" = Option<String>, Query, description = "a shortcode prefix (a leading `/` is ignored) or a title word"), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = Object, description = "The canned responses: `{\"data\": [canned response]}`.")))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: SearchQuery = query(req)?;
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_CANNED_RESPONSES {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {MAX_CANNED_RESPONSES}"),
        ));
    }
    let all = all_canned(ctx.p, &ctx.actor).await?;
    let found: Vec<&CannedResponse> = search_canned(&all, q.q.as_deref().unwrap_or(""), limit);
    json(StatusCode::OK, &serde_json::json!({ "data": found }))
}

/// The body of a create or replace; the id is minted on create unless given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedInput {
    id: Option<String>,
    shortcode: String,
    title: String,
    body: String,
}

async fn save<P: Platform>(
    ctx: &Ctx<'_, P>,
    response: &CannedResponse,
    creating: bool,
) -> Result<(), ApiError> {
    response.validate().map_err(ApiError::unprocessable)?;
    transact(ctx.p, &ctx.actor, async |tx| {
        let key = keys::tenant::canned_response(&response.id);
        let existing: Option<CannedResponse> = tx.get_json(&key).await?;
        match (&existing, creating) {
            (Some(_), true) => {
                return Err(ApiError::conflict(
                    "canned_response_exists",
                    format!("a canned response `{}` exists", response.id),
                ))
            }
            (None, false) => return Err(ApiError::not_found("canned response")),
            _ => {}
        }
        let sc = keys::tenant::canned_shortcode(&response.shortcode);
        if let Some(owner) = tx.get(&sc).await? {
            if owner != response.id.as_bytes() {
                return Err(ApiError::conflict(
                    "shortcode_taken",
                    format!("the shortcode `{}` is in use", response.shortcode),
                ));
            }
        }
        if let Some(old) = &existing {
            if old.shortcode != response.shortcode {
                tx.delete(keys::tenant::canned_shortcode(&old.shortcode));
            }
        }
        if creating {
            let count: u64 = tx.get_json(keys::tenant::CANNED_COUNT).await?.unwrap_or(0);
            if count as usize >= MAX_CANNED_RESPONSES {
                return Err(ApiError::unprocessable(format!(
                    "a tenant may have at most {MAX_CANNED_RESPONSES} canned responses"
                )));
            }
            tx.put_json(keys::tenant::CANNED_COUNT, &(count + 1))?;
        }
        tx.put(sc, response.id.clone().into_bytes());
        tx.put_json(key, response)?;
        record_event(
            ctx.p,
            tx,
            &format!("canned:{}", response.id),
            if creating {
                "canned_response.created"
            } else {
                "canned_response.updated"
            },
            ctx.actor_ref(),
            crate::http::to_value(response)?,
        )
    })
    .await
}

/// `POST /v1/canned-responses`
#[utoipa::path(post, path = "/v1/canned-responses", tag = "canned",
    request_body(content = Object, description = "`{\"id\"?, \"shortcode\", \"title\", \"body\"}`"),
    responses((status = 201, body = Object, description = "The canned response created."), (status = 409), (status = 422)))]
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let input: CannedInput = body(req)?;
    let id = input.id.unwrap_or_else(|| {
        let (ms, r) = id_parts(ctx.p);
        ulid::Ulid::from_parts(ms, r).to_string().to_lowercase()
    });
    let response = CannedResponse {
        id,
        shortcode: input.shortcode.trim().trim_start_matches('/').to_owned(),
        title: input.title.trim().to_owned(),
        body: input.body,
    };
    save(ctx, &response, true).await?;
    json(StatusCode::CREATED, &response)
}

/// `GET /v1/canned-responses/{id}`
#[utoipa::path(get, path = "/v1/canned-responses/{id}", tag = "canned",
    params(("id" = String, Path, description = "canned response id")),
    responses((status = 200, body = Object, description = "The canned response."), (status = 404)))]
pub async fn get<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    let r: CannedResponse = get_json(ctx.p, &ctx.actor, &keys::tenant::canned_response(id))
        .await?
        .ok_or_else(|| ApiError::not_found("canned response"))?;
    json(StatusCode::OK, &r)
}

/// `PUT /v1/canned-responses/{id}`
#[utoipa::path(put, path = "/v1/canned-responses/{id}", tag = "canned",
    params(("id" = String, Path, description = "canned response id")),
    request_body(content = Object, description = "`{\"shortcode\", \"title\", \"body\"}`"),
    responses((status = 200, body = Object, description = "The canned response as stored."), (status = 404), (status = 409), (status = 422)))]
pub async fn put<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: CannedInput = body(req)?;
    if input.id.as_deref().is_some_and(|i| i != id) {
        return Err(ApiError::unprocessable("id: must match the path"));
    }
    let response = CannedResponse {
        id: id.to_owned(),
        shortcode: input.shortcode.trim().trim_start_matches('/').to_owned(),
        title: input.title.trim().to_owned(),
        body: input.body,
    };
    save(ctx, &response, false).await?;
    json(StatusCode::OK, &response)
}

/// `DELETE /v1/canned-responses/{id}`: refused while an automation rule sends it.
#[utoipa::path(delete, path = "/v1/canned-responses/{id}", tag = "canned",
    params(("id" = String, Path, description = "canned response id")),
    responses((status = 204, description = "Deleted."), (status = 404)))]
pub async fn delete<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    transact(ctx.p, &ctx.actor, async |tx| {
        let key = keys::tenant::canned_response(id);
        let existing: CannedResponse = tx
            .get_json(&key)
            .await?
            .ok_or_else(|| ApiError::not_found("canned response"))?;
        check_canned_reference(tx, id).await?;
        tx.delete(key);
        tx.delete(keys::tenant::canned_shortcode(&existing.shortcode));
        let count: u64 = tx.get_json(keys::tenant::CANNED_COUNT).await?.unwrap_or(1);
        tx.put_json(keys::tenant::CANNED_COUNT, &count.saturating_sub(1))?;
        record_event(
            ctx.p,
            tx,
            &format!("canned:{id}"),
            "canned_response.deleted",
            ctx.actor_ref(),
            serde_json::Value::Null,
        )
    })
    .await?;
    Ok(crate::http::no_content())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderInput {
    conversation_id: String,
}

/// `POST /v1/canned-responses/{id}/render`: the text for one conversation, with the variables
/// that had no value.
#[utoipa::path(post, path = "/v1/canned-responses/{id}/render", tag = "canned",
    params(("id" = String, Path, description = "canned response id")),
    request_body(content = Object, description = "`{\"conversation_id\"}`: the conversation whose details fill the variables."),
    responses((status = 200, body = Object, description = "The text for that conversation, and the variables that had no value."), (status = 404)))]
pub async fn render<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: RenderInput = body(req)?;
    let r: CannedResponse = get_json(ctx.p, &ctx.actor, &keys::tenant::canned_response(id))
        .await?
        .ok_or_else(|| ApiError::not_found("canned response"))?;
    let cid: ConversationId = path_id(&input.conversation_id, "conversation")?;
    let c: Conversation = crate::records::load(ctx, &cid.to_string()).await?;
    let facts = conversation_facts(ctx.p, &ctx.actor, &c, &[]).await?;
    let rendered = r.render(&facts).map_err(ApiError::unprocessable)?;
    json(StatusCode::OK, &rendered)
}
