//! Tenants: creating a workspace (which mints its first admin key) and reading it.

use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ctx::{id_parts, record_event, Ctx, Principal};
use crate::domain::api_keys::{mint_key, NewKey};
use crate::error::ApiError;
use crate::http::{body, json, json_versioned, Request, Response};
use crate::keys::{self, tenant_actor};
use crate::ports::Platform;
use crate::store::{get_json, transact};
use edgedesk_shared::api::CreateTenant;
use edgedesk_shared::auth::constant_time_eq;
use edgedesk_shared::ids::TenantId;
use edgedesk_shared::model::{Actor, ActorKind, KeyScope, Role, Tenant};

/// The answer to creating a tenant: the only time the admin key is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub api_key: NewKey,
}

/// Who may create tenants: anyone (`open`, the local default) or holders of the platform
/// token (`token`, for hosted deployments).
fn check_signup<P: Platform>(p: &P, req: &Request) -> Result<(), ApiError> {
    let mode = p.var("signup_mode").unwrap_or_else(|| "open".to_owned());
    match mode.as_str() {
        "open" => Ok(()),
        "token" => {
            let expected = p
                .var("platform_token")
                .filter(|t| !t.is_empty())
                .ok_or_else(|| ApiError::forbidden("tenant signup is closed on this deployment"))?;
            let presented = req
                .headers()
                .get("x-platform-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
                Ok(())
            } else {
                Err(ApiError::unauthorized(
                    "a valid X-Platform-Token is required to create tenants",
                ))
            }
        }
        _ => Err(ApiError::forbidden(
            "tenant signup is closed on this deployment",
        )),
    }
}

/// Create a tenant and its first admin API key.
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants",
    request_body(content = CreateTenant, example = json!({"name": "Acme Support"})),
    responses((status = 201, body = CreatedTenant, description = "The tenant and its first admin API key (the key's secret is shown only here)."),
        (status = 401, description = "Signup needs the platform token on this deployment."),
        (status = 403, description = "Signup is closed on this deployment."),
        (status = 422, description = "invalid body")))]
pub async fn create<P: Platform>(p: &P, req: &Request) -> Result<(TenantId, Response), ApiError> {
    check_signup(p, req)?;
    let input: CreateTenant = body(req)?;
    input.validate()?;
    let (ms, r) = id_parts(p);
    let tenant_id = TenantId::from_parts(ms, r);
    let now = p.now();
    let tenant = Tenant {
        id: tenant_id,
        name: input.name.trim().to_owned(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let actor = tenant_actor(&tenant_id);
    let system = Principal {
        kind: ActorKind::System,
        id: "signup".into(),
        role: Role::Owner,
    };
    let ctx = Ctx::new(p, tenant_id, system);
    let created = transact(p, &actor, async |tx| {
        if tx.get(keys::tenant::TENANT).await?.is_some() {
            return Err(ApiError::conflict("already_exists", "tenant exists"));
        }
        tx.put_json(keys::tenant::TENANT, &tenant)?;
        let key = mint_key(&ctx, tx, "Initial admin key", KeyScope::Admin)?;
        record_event(
            p,
            tx,
            &tenant_id.to_string(),
            "tenant.created",
            Actor {
                kind: ActorKind::System,
                id: None,
            },
            serde_json::json!({"name": tenant.name}),
        )?;
        Ok(CreatedTenant {
            tenant: tenant.clone(),
            api_key: key,
        })
    })
    .await?;
    Ok((tenant_id, json(StatusCode::CREATED, &created)?))
}

/// The caller's tenant.
#[utoipa::path(get, path = "/v1/tenant", tag = "tenants", responses((status = 200, body = Tenant)))]
pub async fn get<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let tenant: Tenant = get_json(ctx.p, &ctx.actor, keys::tenant::TENANT)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    json_versioned(StatusCode::OK, &tenant, tenant.version)
}
