//! Console sign-in: first-run setup, login, logout, sessions, invites, password change.
//!
//! Sessions ride in an HTTP-only, SameSite=Strict cookie. Requests that change state with a
//! cookie must also send `X-EdgeDesk-CSRF: 1`: a cross-site form cannot set that header, and a
//! cross-site script cannot send it without a CORS preflight the API never grants.

use chrono::Duration;
use http::header::{HeaderValue, SET_COOKIE};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::ctx::{id_parts, record_event, Ctx, Principal};
use crate::error::ApiError;
use crate::http::{body, json, path_id, Request, Response};
use crate::keys::{self, tenant_actor, GLOBAL};
use crate::ports::Platform;
use crate::records::{self, Versioned};
use crate::store::{get_json, transact};
use edgedesk_shared::api::ValidationError;
use edgedesk_shared::auth::constant_time_eq;
use edgedesk_shared::ids::{AgentId, TenantId};
use edgedesk_shared::model::{ActorKind, Agent, Role, Tenant};
use edgedesk_shared::rbac::{role_allows, Permission};
use edgedesk_shared::session::{
    hash_password, session_token, token_tenant, validate_password, verify_password,
    verify_session_token, SESSION_HOURS,
};

pub const COOKIE: &str = "edgedesk_session";
const INVITE_DAYS: i64 = 7;
const SETUP_HOURS: i64 = 24;
/// Failed logins per email before a pause.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW_MINUTES: i64 = 15;

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

use crate::ctx::random_hex;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Credential {
    phc: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LoginEntry {
    tenant_id: TenantId,
    agent_id: AgentId,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Failures {
    count: u32,
    since: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRecord {
    expires: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Invite {
    agent_id: AgentId,
    expires: chrono::DateTime<chrono::Utc>,
}

/// The tenant's signing secret for sessions, created on first use.
async fn tenant_secret<P: Platform>(p: &P, tactor: &str) -> Result<String, ApiError> {
    if let Some(s) = p.get(tactor, keys::tenant::AUTH_SECRET).await? {
        return String::from_utf8(s).map_err(ApiError::internal_from);
    }
    let fresh = random_hex(p, 32);
    transact(p, tactor, async |tx| {
        match tx.get(keys::tenant::AUTH_SECRET).await? {
            Some(s) => String::from_utf8(s).map_err(ApiError::internal_from),
            None => {
                tx.put(keys::tenant::AUTH_SECRET, fresh.clone().into_bytes());
                Ok(fresh.clone())
            }
        }
    })
    .await
}

fn salt<P: Platform>(p: &P) -> [u8; 16] {
    let mut s = [0u8; 16];
    p.fill(&mut s);
    s
}

fn is_https(req: &Request) -> bool {
    req.uri().scheme_str() == Some("https")
        || req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            == Some("https")
}

fn cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are ASCII")
}

/// Creates a session for an agent and returns the `Set-Cookie` value.
async fn start_session<P: Platform>(
    p: &P,
    req: &Request,
    tenant_id: &TenantId,
    agent: &AgentId,
) -> Result<HeaderValue, ApiError> {
    let tactor = tenant_actor(tenant_id);
    let secret = tenant_secret(p, &tactor).await?;
    let sid = random_hex(p, 16);
    let expires = p.now() + Duration::hours(SESSION_HOURS);
    transact(p, &tactor, async |tx| {
        tx.put_json(
            keys::tenant::session(agent, &sid),
            &SessionRecord { expires },
        )
    })
    .await?;
    let token = session_token(&secret, tenant_id, agent, &sid, expires.timestamp());
    Ok(cookie(&token, SESSION_HOURS * 3600, is_https(req)))
}

/// Who the console session in this request belongs to, if any.
pub async fn session_principal<'a, P: Platform>(
    p: &'a P,
    req: &Request,
) -> Result<Option<Ctx<'a, P>>, ApiError> {
    let Some(token) = session_cookie(req) else {
        return Ok(None);
    };
    let invalid = || ApiError::unauthorized("your session has ended; sign in again");
    let tenant_id = token_tenant(&token).ok_or_else(invalid)?;
    let tactor = tenant_actor(&tenant_id);
    let Some(secret) = p.get(&tactor, keys::tenant::AUTH_SECRET).await? else {
        return Err(invalid());
    };
    let secret = String::from_utf8(secret).map_err(ApiError::internal_from)?;
    let claims = verify_session_token(&secret, &tenant_id, &token, p.now().timestamp())
        .ok_or_else(invalid)?;
    let record: Option<SessionRecord> = get_json(
        p,
        &tactor,
        &keys::tenant::session(&claims.agent_id, &claims.session_id),
    )
    .await?;
    if record.is_none() {
        return Err(invalid());
    }
    let agent: Agent = get_json(
        p,
        &tactor,
        &Agent::storage_key(&claims.agent_id.to_string()),
    )
    .await?
    .ok_or_else(invalid)?;
    if !agent.active {
        return Err(invalid());
    }
    let unsafe_method = !matches!(
        *req.method(),
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
    );
    if unsafe_method
        && req
            .headers()
            .get("x-edgedesk-csrf")
            .and_then(|v| v.to_str().ok())
            != Some("1")
    {
        return Err(ApiError::forbidden(
            "send X-EdgeDesk-CSRF: 1 with changes made from a session",
        ));
    }
    let principal = Principal {
        kind: ActorKind::Agent,
        id: agent.id.to_string(),
        role: agent.role,
    };
    Ok(Some(Ctx::new(p, tenant_id, principal)))
}

fn session_cookie(req: &Request) -> Option<String> {
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == COOKIE && !v.is_empty()).then(|| v.to_owned())
        })
}

/// The signed-in agent, their tenant and what their role allows (the console hides the rest).
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub agent: Agent,
    pub tenant: Tenant,
    pub permissions: Vec<Permission>,
}

const ALL_PERMISSIONS: [Permission; 8] = [
    Permission::Read,
    Permission::Work,
    Permission::Delete,
    Permission::ManageAgents,
    Permission::ManageKeys,
    Permission::ManageSettings,
    Permission::ManageOwners,
    Permission::ManageBot,
];

async fn me_for<P: Platform>(
    p: &P,
    tenant_id: &TenantId,
    agent_id: &AgentId,
) -> Result<Me, ApiError> {
    let tactor = tenant_actor(tenant_id);
    let agent: Agent = get_json(p, &tactor, &Agent::storage_key(&agent_id.to_string()))
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))?;
    let tenant: Tenant = get_json(p, &tactor, keys::tenant::TENANT)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    let permissions = ALL_PERMISSIONS
        .into_iter()
        .filter(|perm| role_allows(agent.role, *perm))
        .collect();
    Ok(Me {
        agent,
        tenant,
        permissions,
    })
}

fn with_cookie(mut resp: Response, cookie: HeaderValue) -> Response {
    resp.headers_mut().insert(SET_COOKIE, cookie);
    resp
}

/// `GET /v1/auth/me`
#[utoipa::path(get, path = "/v1/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401)))]
pub async fn me<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    if ctx.principal.kind != ActorKind::Agent {
        return Err(ApiError::bad_request(
            "not_a_session",
            "this endpoint describes a console session",
        ));
    }
    let agent: AgentId = path_id(&ctx.principal.id, "agent")?;
    json(
        StatusCode::OK,
        &me_for(ctx.p, &ctx.tenant_id, &agent).await?,
    )
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// `POST /v1/auth/login`
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = Me), (status = 401), (status = 429)))]
pub async fn login<P: Platform>(p: &P, req: &Request) -> Result<Response, ApiError> {
    let input: Login = body(req)?;
    let denied = || ApiError::unauthorized("wrong email or password");
    let fail_key = keys::global::login_failures(&sha256_hex(&input.email.trim().to_lowercase()));
    let now = p.now();
    let failures: Failures = get_json(p, GLOBAL, &fail_key).await?.unwrap_or_default();
    let window_open = failures
        .since
        .is_some_and(|s| now - s < Duration::minutes(FAILURE_WINDOW_MINUTES));
    if window_open && failures.count >= MAX_FAILURES {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed sign-ins; wait 15 minutes",
        ));
    }
    let entry: Option<LoginEntry> = get_json(p, GLOBAL, &keys::global::login(&input.email)).await?;
    let verified = match &entry {
        Some(e) => {
            let tactor = tenant_actor(&e.tenant_id);
            let cred: Option<Credential> =
                get_json(p, &tactor, &keys::tenant::credential(&e.agent_id)).await?;
            let agent: Option<Agent> =
                get_json(p, &tactor, &Agent::storage_key(&e.agent_id.to_string())).await?;
            cred.is_some_and(|c| verify_password(&input.password, &c.phc))
                && agent.is_some_and(|a| a.active)
        }
        None => false,
    };
    let Some(entry) = entry.filter(|_| verified) else {
        transact(p, GLOBAL, async |tx| {
            let mut f: Failures = tx.get_json(&fail_key).await?.unwrap_or_default();
            if !f
                .since
                .is_some_and(|s| now - s < Duration::minutes(FAILURE_WINDOW_MINUTES))
            {
                f = Failures {
                    count: 0,
                    since: Some(now),
                };
            }
            f.count += 1;
            tx.put_json(fail_key.clone(), &f)
        })
        .await?;
        return Err(denied());
    };
    if failures.count > 0 {
        transact(p, GLOBAL, async |tx| {
            tx.delete(fail_key.clone());
            Ok(())
        })
        .await?;
    }
    let cookie = start_session(p, req, &entry.tenant_id, &entry.agent_id).await?;
    Ok(with_cookie(
        json(
            StatusCode::OK,
            &me_for(p, &entry.tenant_id, &entry.agent_id).await?,
        )?,
        cookie,
    ))
}

/// `POST /v1/auth/logout`: ends this session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out; the session cookie is cleared.")))]
pub async fn logout<P: Platform>(p: &P, req: &Request) -> Result<Response, ApiError> {
    if let Some(token) = session_cookie(req) {
        if let Some(tenant_id) = token_tenant(&token) {
            let tactor = tenant_actor(&tenant_id);
            if let Some(secret) = p.get(&tactor, keys::tenant::AUTH_SECRET).await? {
                let secret = String::from_utf8_lossy(&secret).into_owned();
                if let Some(c) =
                    verify_session_token(&secret, &tenant_id, &token, p.now().timestamp())
                {
                    let key = keys::tenant::session(&c.agent_id, &c.session_id);
                    transact(p, &tactor, async |tx| {
                        tx.delete(key.clone());
                        Ok(())
                    })
                    .await?;
                }
            }
        }
    }
    Ok(with_cookie(
        crate::http::no_content(),
        cookie("", 0, is_https(req)),
    ))
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// `POST /v1/auth/password`: changes the signed-in agent's password and ends their other sessions.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth", request_body = ChangePassword,
    responses((status = 204), (status = 401), (status = 422)))]
pub async fn change_password<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    if ctx.principal.kind != ActorKind::Agent {
        return Err(ApiError::bad_request(
            "not_a_session",
            "sign in to the console to change a password",
        ));
    }
    let input: ChangePassword = body(req)?;
    validate_password("new_password", &input.new_password)?;
    let agent: AgentId = path_id(&ctx.principal.id, "agent")?;
    let cred: Credential = get_json(ctx.p, &ctx.actor, &keys::tenant::credential(&agent))
        .await?
        .ok_or_else(|| ApiError::unauthorized("no password is set"))?;
    if !verify_password(&input.current_password, &cred.phc) {
        return Err(ApiError::unauthorized("the current password is wrong"));
    }
    let phc = hash_password(&input.new_password, &salt(ctx.p)).map_err(ApiError::internal_from)?;
    let current_sid = session_cookie(req)
        .and_then(|t| t.split('.').nth(3).map(str::to_owned))
        .unwrap_or_default();
    let sessions = ctx
        .p
        .scan(
            &ctx.actor,
            &crate::ports::Scan {
                prefix: keys::tenant::sessions_of(&agent),
                after: None,
                limit: 1000,
                reverse: false,
            },
        )
        .await?;
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.put_json(
            keys::tenant::credential(&agent),
            &Credential { phc: phc.clone() },
        )?;
        for (k, _) in &sessions {
            if *k != keys::tenant::session(&agent, &current_sid) {
                tx.delete(k.clone());
            }
        }
        record_event(
            ctx.p,
            tx,
            &agent.to_string(),
            "agent.password_changed",
            ctx.actor_ref(),
            serde_json::Value::Null,
        )
    })
    .await?;
    Ok(crate::http::no_content())
}

/// A link that lets a person set a password.
#[derive(Debug, Serialize, ToSchema)]
pub struct Link {
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /v1/agents/{id}/invite`: a one-time link for the agent to set a password.
#[utoipa::path(post, path = "/v1/agents/{id}/invite", tag = "agents", params(("id" = String, Path)),
    responses((status = 200, body = Link)))]
pub async fn invite<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: AgentId = path_id(raw_id, "agent")?;
    let agent: Agent = records::load(ctx, &id.to_string()).await?;
    if agent.role == Role::Owner && !role_allows(ctx.principal.role, Permission::ManageOwners) {
        return Err(ApiError::forbidden("only owners may invite owners"));
    }
    let token = format!("inv1.{}.{}", ctx.tenant_id, random_hex(ctx.p, 24));
    let expires = ctx.now() + Duration::days(INVITE_DAYS);
    let key = keys::tenant::invitation(&sha256_hex(&token));
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.put_json(
            key.clone(),
            &Invite {
                agent_id: id,
                expires,
            },
        )?;
        record_event(
            ctx.p,
            tx,
            &id.to_string(),
            "agent.invited",
            ctx.actor_ref(),
            serde_json::Value::Null,
        )
    })
    .await?;
    json(
        StatusCode::OK,
        &Link {
            url: format!("/console/?invite={token}"),
            expires_at: expires,
        },
    )
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    pub token: String,
    pub password: String,
}

/// Claims the email for sign-in; refuses an email another agent signs in with.
async fn claim_login<P: Platform>(p: &P, email: &str, entry: &LoginEntry) -> Result<(), ApiError> {
    let key = keys::global::login(email);
    transact(p, GLOBAL, async |tx| {
        if let Some(existing) = tx.get_json::<LoginEntry>(&key).await? {
            if existing.agent_id != entry.agent_id {
                return Err(ApiError::conflict(
                    "email_taken",
                    "this email already signs in to another workspace",
                ));
            }
        }
        tx.put_json(key.clone(), entry)
    })
    .await
}

/// `POST /v1/auth/accept-invite`: sets the password and signs in.
#[utoipa::path(post, path = "/v1/auth/accept-invite", tag = "auth", request_body = AcceptInvite,
    responses((status = 200, body = Me), (status = 404), (status = 422)))]
pub async fn accept_invite<P: Platform>(p: &P, req: &Request) -> Result<Response, ApiError> {
    let input: AcceptInvite = body(req)?;
    validate_password("password", &input.password)?;
    let gone = || ApiError::not_found("invitation");
    let tenant_id: TenantId = input
        .token
        .split('.')
        .nth(1)
        .and_then(|t| t.parse().ok())
        .ok_or_else(gone)?;
    let tactor = tenant_actor(&tenant_id);
    let key = keys::tenant::invitation(&sha256_hex(&input.token));
    let invite: Invite = get_json(p, &tactor, &key).await?.ok_or_else(gone)?;
    if invite.expires <= p.now() {
        return Err(gone());
    }
    let agent: Agent = get_json(
        p,
        &tactor,
        &Agent::storage_key(&invite.agent_id.to_string()),
    )
    .await?
    .ok_or_else(gone)?;
    claim_login(
        p,
        &agent.email,
        &LoginEntry {
            tenant_id,
            agent_id: agent.id,
        },
    )
    .await?;
    let phc = hash_password(&input.password, &salt(p)).map_err(ApiError::internal_from)?;
    transact(p, &tactor, async |tx| {
        if tx.get(&key).await?.is_none() {
            return Err(gone());
        }
        tx.delete(key.clone());
        tx.put_json(
            keys::tenant::credential(&agent.id),
            &Credential { phc: phc.clone() },
        )?;
        record_event(
            p,
            tx,
            &agent.id.to_string(),
            "agent.password_set",
            crate::ctx::system_actor(ActorKind::Agent, agent.id.to_string()),
            serde_json::Value::Null,
        )
    })
    .await?;
    let cookie = start_session(p, req, &tenant_id, &agent.id).await?;
    Ok(with_cookie(
        json(StatusCode::OK, &me_for(p, &tenant_id, &agent.id).await?)?,
        cookie,
    ))
}

/// `POST /v1/system/setup-link` (platform token): a one-time link to create the first tenant
/// and its owner; refused once setup is done.
#[utoipa::path(post, path = "/v1/system/setup-link", tag = "system",
    responses((status = 200, body = Link, description = "A one-time link to set up the first tenant and owner."), (status = 401, description = "No valid `X-Platform-Token`."), (status = 403, description = "No platform token is configured.")))]
pub async fn setup_link<P: Platform>(p: &P) -> Result<Response, ApiError> {
    if p.get(GLOBAL, keys::global::SETUP_DONE).await?.is_some() {
        return Err(ApiError::conflict(
            "setup_done",
            "the first owner exists; sign in instead",
        ));
    }
    let token = format!("set1.{}", random_hex(p, 24));
    let expires = p.now() + Duration::hours(SETUP_HOURS);
    let key = keys::global::setup_token(&sha256_hex(&token));
    transact(p, GLOBAL, async |tx| tx.put_json(key.clone(), &expires)).await?;
    json(
        StatusCode::OK,
        &Link {
            url: format!("/console/?setup={token}"),
            expires_at: expires,
        },
    )
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    pub token: String,
    pub tenant_name: String,
    pub name: String,
    pub email: String,
    pub password: String,
}

/// `POST /v1/setup`: creates the first tenant and its owner from a setup link, and signs in.
#[utoipa::path(post, path = "/v1/setup", tag = "auth", request_body = Setup,
    responses((status = 200, body = Me), (status = 404), (status = 422)))]
pub async fn setup<P: Platform>(p: &P, req: &Request) -> Result<Response, ApiError> {
    let input: Setup = body(req)?;
    edgedesk_shared::api::CreateTenant {
        name: input.tenant_name.clone(),
    }
    .validate()
    .map_err(|e| rename(e, "tenant_name"))?;
    edgedesk_shared::api::CreateAgent {
        email: input.email.clone(),
        name: input.name.clone(),
        role: Role::Owner,
    }
    .validate()?;
    validate_password("password", &input.password)?;
    let key = keys::global::setup_token(&sha256_hex(&input.token));
    let now = p.now();
    // Claim the link first: it works once.
    transact(p, GLOBAL, async |tx| {
        let expires: chrono::DateTime<chrono::Utc> = tx
            .get_json(&key)
            .await?
            .ok_or_else(|| ApiError::not_found("setup link"))?;
        if expires <= now || tx.get(keys::global::SETUP_DONE).await?.is_some() {
            return Err(ApiError::not_found("setup link"));
        }
        tx.delete(key.clone());
        Ok(())
    })
    .await?;
    let (ms, r) = id_parts(p);
    let tenant_id = TenantId::from_parts(ms, r);
    let (ms, r) = id_parts(p);
    let agent_id = AgentId::from_parts(ms, r);
    let tenant = Tenant {
        id: tenant_id,
        name: input.tenant_name.trim().to_owned(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let agent = Agent {
        id: agent_id,
        tenant_id,
        email: input.email.trim().to_owned(),
        name: input.name.trim().to_owned(),
        role: Role::Owner,
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    claim_login(
        p,
        &agent.email,
        &LoginEntry {
            tenant_id,
            agent_id,
        },
    )
    .await?;
    let phc = hash_password(&input.password, &salt(p)).map_err(ApiError::internal_from)?;
    let tactor = tenant_actor(&tenant_id);
    let system = edgedesk_shared::model::Actor {
        kind: ActorKind::System,
        id: Some("setup".into()),
    };
    transact(p, &tactor, async |tx| {
        tx.put_json(keys::tenant::TENANT, &tenant)?;
        tx.put(
            keys::tenant::agent_email(&agent.email),
            agent_id.to_string().into_bytes(),
        );
        tx.put_json(Agent::storage_key(&agent_id.to_string()), &agent)?;
        tx.put_json(
            keys::tenant::credential(&agent_id),
            &Credential { phc: phc.clone() },
        )?;
        record_event(
            p,
            tx,
            &tenant_id.to_string(),
            "tenant.created",
            system.clone(),
            serde_json::json!({"name": tenant.name}),
        )?;
        record_event(
            p,
            tx,
            &agent_id.to_string(),
            "agent.created",
            system.clone(),
            crate::http::to_value(&agent)?,
        )
    })
    .await?;
    transact(p, GLOBAL, async |tx| {
        tx.put(keys::global::SETUP_DONE, tenant_id.to_string().into_bytes());
        Ok(())
    })
    .await?;
    let cookie = start_session(p, req, &tenant_id, &agent_id).await?;
    Ok(with_cookie(
        json(StatusCode::OK, &me_for(p, &tenant_id, &agent_id).await?)?,
        cookie,
    ))
}

fn rename(mut e: ValidationError, field: &str) -> ValidationError {
    e.field = field.to_owned();
    e
}

/// Compares a presented platform token with the configured one.
pub fn platform_token_ok<P: Platform>(p: &P, req: &Request) -> Result<(), ApiError> {
    let expected = p
        .var("platform_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::forbidden("no platform token is configured"))?;
    let presented = req
        .headers()
        .get("x-platform-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            "a valid X-Platform-Token is required",
        ))
    }
}
