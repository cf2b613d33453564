//! API keys: create (shown once), list (prefix only), revoke.

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::ctx::{filter_fingerprint, paginate, record_event, Ctx, Page};
use crate::domain::api_keys::{mint_key, NewKey};
use crate::error::ApiError;
use crate::http::{body, json, path_id, query, Request, Response};
use crate::keys;
use crate::ports::Platform;
use crate::store::transact;
use edgedesk_shared::api::CreateApiKey;
use edgedesk_shared::ids::ApiKeyId;
use edgedesk_shared::model::{ApiKeyRecord, ApiKeyView};
use edgedesk_shared::rbac::{may_grant, scope_role};

/// Create an API key.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys",
    request_body(content = CreateApiKey, example = json!({"name": "CRM sync", "scope": "agent"})),
    responses((status = 201, body = NewKey, description = "The key; its secret (`key`) is shown only in this answer.")))]
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let input: CreateApiKey = body(req)?;
    input.validate()?;
    if !may_grant(ctx.principal.role, scope_role(input.scope)) {
        return Err(ApiError::forbidden(
            "a key cannot grant more than its creator holds",
        ));
    }
    let key = transact(ctx.p, &ctx.actor, async |tx| {
        let key = mint_key(ctx, tx, &input.name, input.scope)?;
        record_event(
            ctx.p,
            tx,
            &ctx.tenant_id.to_string(),
            "api_key.created",
            ctx.actor_ref(),
            serde_json::json!({"key_id": key.view.id, "scope": input.scope}),
        )?;
        Ok(key)
    })
    .await?;
    json(StatusCode::CREATED, &key)
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(skip_serializing)]
    limit: Option<usize>,
    #[serde(skip_serializing)]
    cursor: Option<String>,
}

/// List API keys (prefixes only).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys",
    params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<ApiKeyView>)))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: ListQuery = query(req)?;
    let page = paginate::<_, ApiKeyRecord>(
        ctx,
        &ctx.actor,
        keys::tenant::API_KEYS,
        true,
        q.limit,
        q.cursor.as_deref(),
        &filter_fingerprint(&q),
        |_| true,
    )
    .await?;
    let page = Page {
        data: page.data.iter().map(ApiKeyRecord::view).collect(),
        next_cursor: page.next_cursor,
    };
    json(StatusCode::OK, &page)
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path)), responses((status = 200, body = ApiKeyView)))]
pub async fn revoke<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: ApiKeyId = path_id(raw_id, "API key")?;
    let view = transact(ctx.p, &ctx.actor, async |tx| {
        let mut record: ApiKeyRecord = tx
            .get_json(&keys::tenant::api_key(&id))
            .await?
            .ok_or_else(|| ApiError::not_found("API key"))?;
        if record.revoked_at.is_none() {
            record.revoked_at = Some(ctx.now());
            tx.put_json(keys::tenant::api_key(&id), &record)?;
            record_event(
                ctx.p,
                tx,
                &ctx.tenant_id.to_string(),
                "api_key.revoked",
                ctx.actor_ref(),
                serde_json::json!({"key_id": id}),
            )?;
        }
        Ok(record.view())
    })
    .await?;
    json(StatusCode::OK, &view)
}
