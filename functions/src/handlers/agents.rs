//! Agents of a tenant and their roles.

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::ctx::{filter_fingerprint, paginate, record_event, Ctx, Page};
use crate::error::ApiError;
use crate::http::{body, if_match, json, json_versioned, path_id, query, Request, Response};
use crate::keys;
use crate::ports::Platform;
use crate::records::{self, Versioned};
use crate::store::transact;
use edgedesk_shared::api::{CreateAgent, UpdateAgent};
use edgedesk_shared::ids::AgentId;
use edgedesk_shared::model::{Agent, Role};
use edgedesk_shared::rbac::may_grant;

/// Create an agent.
#[utoipa::path(post, path = "/v1/agents", tag = "agents",
    request_body(content = CreateAgent, example = json!({"email": "grace@example.com", "name": "Grace Hopper", "role": "agent"})),
    responses((status = 201, body = Agent, description = "The agent created; invite them to set a password with `POST /v1/agents/{id}/invite`."),
        (status = 409, description = "email taken")))]
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let input: CreateAgent = body(req)?;
    input.validate()?;
    if !may_grant(ctx.principal.role, input.role) {
        return Err(ApiError::forbidden(format!(
            "role `{}` may not grant `{}`",
            ctx.principal.role, input.role
        )));
    }
    let id = ctx.mint(AgentId::from_parts);
    let now = ctx.now();
    let agent = Agent {
        id,
        tenant_id: ctx.tenant_id,
        email: input.email.trim().to_owned(),
        name: input.name.trim().to_owned(),
        role: input.role,
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    transact(ctx.p, &ctx.actor, async |tx| {
        if tx
            .get(&keys::tenant::agent_email(&agent.email))
            .await?
            .is_some()
        {
            return Err(ApiError::conflict(
                "email_taken",
                "an agent with this email exists",
            ));
        }
        tx.put(
            keys::tenant::agent_email(&agent.email),
            id.to_string().into_bytes(),
        );
        tx.put_json(Agent::storage_key(&id.to_string()), &agent)?;
        record_event(
            ctx.p,
            tx,
            &id.to_string(),
            "agent.created",
            ctx.actor_ref(),
            crate::http::to_value(&agent)?,
        )
    })
    .await?;
    json_versioned(StatusCode::CREATED, &agent, agent.version)
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(skip_serializing)]
    limit: Option<usize>,
    #[serde(skip_serializing)]
    cursor: Option<String>,
    role: Option<Role>,
}

/// List agents.
#[utoipa::path(get, path = "/v1/agents", tag = "agents",
    params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query), ("role" = Option<Role>, Query)),
    responses((status = 200, body = Page<Agent>)))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: ListQuery = query(req)?;
    let page = paginate::<_, Agent>(
        ctx,
        &ctx.actor,
        keys::tenant::AGENTS,
        true,
        q.limit,
        q.cursor.as_deref(),
        &filter_fingerprint(&q),
        |a| q.role.is_none_or(|r| a.role == r),
    )
    .await?;
    json(StatusCode::OK, &page)
}

/// Get an agent.
#[utoipa::path(get, path = "/v1/agents/{id}", tag = "agents", params(("id" = String, Path)),
    responses((status = 200, body = Agent), (status = 404)))]
pub async fn get<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: AgentId = path_id(raw_id, "agent")?;
    records::get::<_, Agent>(ctx, &id.to_string()).await
}

/// Update an agent (name, role, active).
#[utoipa::path(patch, path = "/v1/agents/{id}", tag = "agents", params(("id" = String, Path)), request_body = UpdateAgent,
    responses((status = 200, body = Agent), (status = 412)))]
pub async fn update<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: AgentId = path_id(raw_id, "agent")?;
    let input: UpdateAgent = body(req)?;
    input.validate()?;
    let caller = ctx.principal.role;
    let agent = records::update::<_, Agent, _>(
        ctx,
        &id.to_string(),
        if_match(req.headers())?,
        async |_tx, a| {
            // Touching an owner, or making one, needs owner rights.
            if (a.role == Role::Owner || input.role == Some(Role::Owner))
                && !may_grant(caller, Role::Owner)
            {
                return Err(ApiError::forbidden("only owners may change owners"));
            }
            if let Some(role) = input.role {
                if !may_grant(caller, role) {
                    return Err(ApiError::forbidden(format!(
                        "role `{caller}` may not grant `{role}`"
                    )));
                }
                a.role = role;
            }
            if let Some(name) = &input.name {
                a.name = name.trim().to_owned();
            }
            if let Some(active) = input.active {
                a.active = active;
            }
            Ok(())
        },
    )
    .await?;
    json_versioned(StatusCode::OK, &agent, agent.version)
}

/// Delete an agent.
#[utoipa::path(delete, path = "/v1/agents/{id}", tag = "agents", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn delete<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: AgentId = path_id(raw_id, "agent")?;
    let caller = ctx.principal.role;
    records::delete::<_, Agent, _>(
        ctx,
        &id.to_string(),
        if_match(req.headers())?,
        async |tx, a| {
            if a.role == Role::Owner && !may_grant(caller, Role::Owner) {
                return Err(ApiError::forbidden("only owners may remove owners"));
            }
            tx.delete(keys::tenant::agent_email(&a.email));
            Ok(())
        },
    )
    .await?;
    Ok(crate::http::no_content())
}
