//! Routing over HTTP: teams, agent routing profiles, routing rules and settings, the waiting
//! queue and manual assignment. The decisions and their storage are `crate::domain::routing`.

use std::collections::BTreeMap;

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::ctx::{record_event, Ctx};
use crate::domain::routing::*;
use crate::error::ApiError;
use crate::http::{body, json, path_id, Request, Response};
use crate::keys;
use crate::keys::tenant::{ROUTING_QUEUE, ROUTING_RULES, ROUTING_SETTINGS, ROUTING_TEAMS};
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::{get_json, transact, Tx};
use edgedesk_shared::ids::{AgentId, ConversationId};
use edgedesk_shared::model::{Agent, ChannelKind, Conversation};
use edgedesk_shared::routing::{
    validate_routing_rules, validate_teams, AgentProfile, AssignmentSource, PresenceStatus,
    QueuePosition, RouteTarget, RoutingRule, RuleRef, Strategy, Team, WaitingConversation,
};

// ---------------------------------------------------------------------------------------------
// HTTP: teams, agent routing profiles, routing rules, settings, queue, assign.
// ---------------------------------------------------------------------------------------------

fn validation_conflict(e: impl std::fmt::Display) -> ApiError {
    ApiError::conflict("in_use", e.to_string())
}

/// `GET /v1/teams`
#[utoipa::path(get, path = "/v1/teams", tag = "routing",
    responses((status = 200, body = Object, description = "The tenant's teams: `{\"data\": [team]}`.")))]
pub async fn list_teams<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let teams: Vec<Team> = get_json(ctx.p, &ctx.actor, ROUTING_TEAMS)
        .await?
        .unwrap_or_default();
    json(StatusCode::OK, &serde_json::json!({ "data": teams }))
}

/// Checks that every member is an agent of this tenant.
async fn check_members<P: Platform>(
    tx: &mut Tx<'_, P>,
    members: &[AgentId],
) -> Result<(), ApiError> {
    for m in members {
        if tx.get(&Agent::storage_key(&m.to_string())).await?.is_none() {
            return Err(ApiError::unprocessable(format!("members: no agent {m}")));
        }
    }
    Ok(())
}

/// `POST /v1/teams`
#[utoipa::path(post, path = "/v1/teams", tag = "routing",
    request_body(content = Object, description = "A team: `{\"id\": slug, \"name\", \"members\": [agent id], \"strategy\"?}`."),
    responses((status = 201, body = Object, description = "The team created."), (status = 409), (status = 422)))]
pub async fn create_team<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let team: Team = body(req)?;
    team.validate().map_err(ApiError::unprocessable)?;
    let team = transact(ctx.p, &ctx.actor, async |tx| {
        let mut teams: Vec<Team> = tx.get_json(ROUTING_TEAMS).await?.unwrap_or_default();
        if teams.iter().any(|t| t.id == team.id) {
            return Err(ApiError::conflict(
                "team_exists",
                format!("a team `{}` exists", team.id),
            ));
        }
        check_members(tx, &team.members).await?;
        teams.push(team.clone());
        validate_teams(&teams).map_err(ApiError::unprocessable)?;
        tx.put_json(ROUTING_TEAMS, &teams)?;
        record_event(
            ctx.p,
            tx,
            &format!("team:{}", team.id),
            "team.created",
            ctx.actor_ref(),
            crate::http::to_value(&team)?,
        )?;
        Ok(team.clone())
    })
    .await?;
    json(StatusCode::CREATED, &team)
}

/// `GET /v1/teams/{id}`
#[utoipa::path(get, path = "/v1/teams/{id}", tag = "routing",
    params(("id" = String, Path, description = "team id")),
    responses((status = 200, body = Object, description = "The team."), (status = 404)))]
pub async fn get_team<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    let teams: Vec<Team> = get_json(ctx.p, &ctx.actor, ROUTING_TEAMS)
        .await?
        .unwrap_or_default();
    let team = teams
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::not_found("team"))?;
    json(StatusCode::OK, &team)
}

/// A change to a team; `add_members` / `remove_members` edit the list in place.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    name: Option<String>,
    members: Option<Vec<AgentId>>,
    #[serde(default)]
    add_members: Vec<AgentId>,
    #[serde(default)]
    remove_members: Vec<AgentId>,
    strategy: Option<Strategy>,
}

/// `PATCH /v1/teams/{id}`
#[utoipa::path(patch, path = "/v1/teams/{id}", tag = "routing",
    params(("id" = String, Path, description = "team id")),
    request_body(content = Object, description = "The fields to change: `name`, `members` (or `add_members` / `remove_members`), `strategy`."),
    responses((status = 200, body = Object, description = "The team as changed."), (status = 404), (status = 422)))]
pub async fn update_team<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: UpdateTeam = body(req)?;
    let team = transact(ctx.p, &ctx.actor, async |tx| {
        let mut teams: Vec<Team> = tx.get_json(ROUTING_TEAMS).await?.unwrap_or_default();
        let team = teams
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or_else(|| ApiError::not_found("team"))?;
        let before = team.clone();
        if let Some(name) = &input.name {
            team.name = name.trim().to_owned();
        }
        if let Some(members) = &input.members {
            team.members = members.clone();
        }
        for m in &input.add_members {
            if !team.members.contains(m) {
                team.members.push(*m);
            }
        }
        team.members.retain(|m| !input.remove_members.contains(m));
        if let Some(s) = &input.strategy {
            team.strategy = s.clone();
        }
        let after = team.clone();
        after.validate().map_err(ApiError::unprocessable)?;
        let added: Vec<AgentId> = after
            .members
            .iter()
            .filter(|m| !before.members.contains(m))
            .copied()
            .collect();
        check_members(tx, &added).await?;
        if after != before {
            tx.put_json(ROUTING_TEAMS, &teams)?;
            record_event(
                ctx.p,
                tx,
                &format!("team:{id}"),
                "team.updated",
                ctx.actor_ref(),
                crate::ctx::diff(&before, &after),
            )?;
        }
        Ok(after)
    })
    .await?;
    drain(ctx.p, &ctx.actor).await?;
    json(StatusCode::OK, &team)
}

/// `DELETE /v1/teams/{id}`: refused while a routing rule routes to the team.
#[utoipa::path(delete, path = "/v1/teams/{id}", tag = "routing",
    params(("id" = String, Path, description = "team id")),
    responses((status = 204, description = "Deleted."), (status = 404), (status = 409, description = "A routing rule still sends work to the team.")))]
pub async fn delete_team<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    transact(ctx.p, &ctx.actor, async |tx| {
        let mut teams: Vec<Team> = tx.get_json(ROUTING_TEAMS).await?.unwrap_or_default();
        let len = teams.len();
        teams.retain(|t| t.id != id);
        if teams.len() == len {
            return Err(ApiError::not_found("team"));
        }
        let rules: Vec<RoutingRule> = tx.get_json(ROUTING_RULES).await?.unwrap_or_default();
        validate_routing_rules(&rules, &teams).map_err(validation_conflict)?;
        crate::domain::automation::check_team_references(tx, &teams).await?;
        tx.put_json(ROUTING_TEAMS, &teams)?;
        record_event(
            ctx.p,
            tx,
            &format!("team:{id}"),
            "team.deleted",
            ctx.actor_ref(),
            serde_json::Value::Null,
        )
    })
    .await?;
    Ok(crate::http::no_content())
}

/// An agent's routing profile: skills, languages, capacity, and their presence now.
#[derive(Debug, Serialize)]
struct ProfileView {
    #[serde(flatten)]
    profile: AgentProfile,
    presence: PresenceStatus,
    open: BTreeMap<ChannelKind, u32>,
}

/// `GET /v1/agents/{id}/routing`
#[utoipa::path(get, path = "/v1/agents/{id}/routing", tag = "routing",
    params(("id" = String, Path, description = "agent id")),
    responses((status = 200, body = Object, description = "The agent's routing profile, presence and open conversations."), (status = 404)))]
pub async fn get_profile<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let id: AgentId = path_id(raw_id, "agent")?;
    let _: Agent = crate::records::load(ctx, &id.to_string()).await?;
    let settings = settings(ctx.p, &ctx.actor).await?;
    let now = ctx.now();
    let mut agents = snapshots(
        ctx.p,
        &ctx.actor,
        None,
        &[],
        &[RouteTarget::Agent(id)],
        &settings,
        now,
    )
    .await?;
    let s = agents.pop().ok_or_else(|| ApiError::not_found("agent"))?;
    json(
        StatusCode::OK,
        &ProfileView {
            profile: s.profile,
            presence: s.presence,
            open: s.open,
        },
    )
}

/// The body of `PUT /v1/agents/{id}/routing`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    #[serde(default)]
    skills: Vec<edgedesk_shared::routing::Skill>,
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default)]
    capacity: edgedesk_shared::routing::Capacity,
}

/// `PUT /v1/agents/{id}/routing`
#[utoipa::path(put, path = "/v1/agents/{id}/routing", tag = "routing",
    params(("id" = String, Path, description = "agent id")),
    request_body(content = Object, description = "`{\"skills\", \"languages\", \"capacity\"}`"),
    responses((status = 200, body = Object, description = "The profile as stored."), (status = 404), (status = 422)))]
pub async fn put_profile<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: AgentId = path_id(raw_id, "agent")?;
    let input: ProfileInput = body(req)?;
    let profile = AgentProfile {
        agent_id: id,
        skills: input.skills,
        languages: input.languages,
        capacity: input.capacity,
    }
    .normalized()
    .map_err(ApiError::unprocessable)?;
    transact(ctx.p, &ctx.actor, async |tx| {
        if tx
            .get(&Agent::storage_key(&id.to_string()))
            .await?
            .is_none()
        {
            return Err(ApiError::not_found("agent"));
        }
        tx.put_json(keys::tenant::routing_profile(&id), &profile)?;
        record_event(
            ctx.p,
            tx,
            &id.to_string(),
            "agent.routing_updated",
            ctx.actor_ref(),
            crate::http::to_value(&profile)?,
        )
    })
    .await?;
    // A raised capacity may let someone waiting in.
    drain(ctx.p, &ctx.actor).await?;
    json(StatusCode::OK, &profile)
}

/// `GET /v1/routing/rules`: the rules in evaluation order.
#[utoipa::path(get, path = "/v1/routing/rules", tag = "routing",
    responses((status = 200, body = Object, description = "The routing rules in evaluation order: `{\"data\": [rule]}`.")))]
pub async fn list_rules<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let rules: Vec<RoutingRule> = get_json(ctx.p, &ctx.actor, ROUTING_RULES)
        .await?
        .unwrap_or_default();
    json(StatusCode::OK, &serde_json::json!({ "data": rules }))
}

/// Replaces the rule list after `change`, validating it against the teams.
async fn change_rules<P: Platform, T>(
    ctx: &Ctx<'_, P>,
    kind: &str,
    mut change: impl FnMut(&mut Vec<RoutingRule>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    transact(ctx.p, &ctx.actor, async |tx| {
        let before: Vec<RoutingRule> = tx.get_json(ROUTING_RULES).await?.unwrap_or_default();
        let mut rules = before.clone();
        let out = change(&mut rules)?;
        let teams: Vec<Team> = tx.get_json(ROUTING_TEAMS).await?.unwrap_or_default();
        validate_routing_rules(&rules, &teams).map_err(ApiError::unprocessable)?;
        tx.put_json(ROUTING_RULES, &rules)?;
        record_event(
            ctx.p,
            tx,
            "routing_rules",
            kind,
            ctx.actor_ref(),
            serde_json::json!({ "rules": rules.iter().map(|r| &r.id).collect::<Vec<_>>() }),
        )?;
        Ok(out)
    })
    .await
}

/// `POST /v1/routing/rules`: appends a rule (or inserts it at `?position=N`, 0 first).
#[utoipa::path(post, path = "/v1/routing/rules", tag = "routing",
    request_body(content = Object, description = "A routing rule: conditions and where matching conversations go."),
    responses((status = 201, body = Object, description = "The rule created, appended to the order."), (status = 422)))]
pub async fn create_rule<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Q {
        position: Option<usize>,
    }
    let q: Q = crate::http::query(req)?;
    let rule: RoutingRule = body(req)?;
    let created = change_rules(ctx, "routing_rule.created", |rules| {
        if rules.iter().any(|r| r.id == rule.id) {
            return Err(ApiError::conflict(
                "rule_exists",
                format!("a routing rule `{}` exists", rule.id),
            ));
        }
        let at = q.position.unwrap_or(rules.len()).min(rules.len());
        rules.insert(at, rule.clone());
        Ok(rule.clone())
    })
    .await?;
    json(StatusCode::CREATED, &created)
}

/// `PUT /v1/routing/rules`: replaces the whole ordered list (reordering).
#[utoipa::path(put, path = "/v1/routing/rules", tag = "routing",
    request_body(content = Object, description = "`{\"data\": [rule]}`: every rule, in evaluation order."),
    responses((status = 200, body = Object, description = "The rules as stored."), (status = 422)))]
pub async fn replace_rules<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let new: Vec<RoutingRule> = body(req)?;
    let rules = change_rules(ctx, "routing_rules.replaced", |rules| {
        *rules = new.clone();
        Ok(new.clone())
    })
    .await?;
    json(StatusCode::OK, &serde_json::json!({ "data": rules }))
}

/// `GET /v1/routing/rules/{id}`
#[utoipa::path(get, path = "/v1/routing/rules/{id}", tag = "routing",
    params(("id" = String, Path, description = "routing rule id")),
    responses((status = 200, body = Object, description = "The rule."), (status = 404)))]
pub async fn get_rule<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    let rules: Vec<RoutingRule> = get_json(ctx.p, &ctx.actor, ROUTING_RULES)
        .await?
        .unwrap_or_default();
    let rule = rules
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found("routing rule"))?;
    json(StatusCode::OK, &rule)
}

/// `PUT /v1/routing/rules/{id}`: replaces a rule in place.
#[utoipa::path(put, path = "/v1/routing/rules/{id}", tag = "routing",
    params(("id" = String, Path, description = "routing rule id")),
    request_body(content = Object, description = "The whole rule."),
    responses((status = 200, body = Object, description = "The rule as stored."), (status = 404), (status = 422)))]
pub async fn put_rule<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let rule: RoutingRule = body(req)?;
    if rule.id != id {
        return Err(ApiError::unprocessable("id: must match the path"));
    }
    let rule = change_rules(ctx, "routing_rule.updated", |rules| {
        let slot = rules
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| ApiError::not_found("routing rule"))?;
        *slot = rule.clone();
        Ok(rule.clone())
    })
    .await?;
    json(StatusCode::OK, &rule)
}

/// `DELETE /v1/routing/rules/{id}`
#[utoipa::path(delete, path = "/v1/routing/rules/{id}", tag = "routing",
    params(("id" = String, Path, description = "routing rule id")),
    responses((status = 204, description = "Deleted."), (status = 404)))]
pub async fn delete_rule<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    change_rules(ctx, "routing_rule.deleted", |rules| {
        let len = rules.len();
        rules.retain(|r| r.id != id);
        if rules.len() == len {
            return Err(ApiError::not_found("routing rule"));
        }
        Ok(())
    })
    .await?;
    Ok(crate::http::no_content())
}

/// `GET /v1/routing/settings`
#[utoipa::path(get, path = "/v1/routing/settings", tag = "routing",
    responses((status = 200, body = Object, description = "How conversations are offered to agents (mode, timeouts).")))]
pub async fn get_settings<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    json(StatusCode::OK, &settings(ctx.p, &ctx.actor).await?)
}

/// `PUT /v1/routing/settings`
#[utoipa::path(put, path = "/v1/routing/settings", tag = "routing",
    request_body(content = Object, description = "The routing settings."),
    responses((status = 200, body = Object, description = "The settings as stored."), (status = 422)))]
pub async fn put_settings<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let s: RoutingSettings = body(req)?;
    s.validate()?;
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.put_json(ROUTING_SETTINGS, &s)?;
        record_event(
            ctx.p,
            tx,
            "routing_settings",
            "routing_settings.updated",
            ctx.actor_ref(),
            crate::http::to_value(&s)?,
        )
    })
    .await?;
    // Longer idle timeouts can bring agents back.
    drain(ctx.p, &ctx.actor).await?;
    json(StatusCode::OK, &s)
}

/// One waiting conversation as agents see the queue.
#[derive(Debug, Serialize)]
struct QueueEntryView {
    #[serde(flatten)]
    waiting: WaitingConversation,
    position: Option<QueuePosition>,
}

/// `GET /v1/routing/queue`: waiting conversations in queue order with positions.
#[utoipa::path(get, path = "/v1/routing/queue", tag = "routing",
    responses((status = 200, body = Object, description = "Conversations waiting for an agent, oldest first, with queue figures.")))]
pub async fn get_queue<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let mut queue: Vec<WaitingConversation> = get_json(ctx.p, &ctx.actor, ROUTING_QUEUE)
        .await?
        .unwrap_or_default();
    edgedesk_shared::routing::sort_queue(&mut queue);
    let mut data = Vec::with_capacity(queue.len());
    for w in queue {
        let position = position(ctx.p, &ctx.actor, &w.conversation_id).await?;
        data.push(QueueEntryView {
            waiting: w,
            position,
        });
    }
    json(StatusCode::OK, &serde_json::json!({ "data": data }))
}

/// The body of `POST /v1/conversations/{id}/assign`: an agent (a manual assignment or
/// transfer; capacity does not apply) or a team (its strategy picks a member who has room).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    agent_id: Option<AgentId>,
    team: Option<String>,
}

/// `POST /v1/conversations/{id}/assign`
#[utoipa::path(post, path = "/v1/conversations/{id}/assign", tag = "routing",
    params(("id" = String, Path, description = "conversation id")),
    request_body(content = Object, description = "`{\"agent_id\"}` to hand the conversation to an agent, or `{\"team\"}` to a team (by its id)."),
    responses((status = 200, body = Object, description = "Where the conversation went."), (status = 404), (status = 409), (status = 422)))]
pub async fn assign_conversation<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let input: AssignInput = body(req)?;
    let now = ctx.now();
    let before: Conversation = crate::records::load(ctx, &id.to_string()).await?;
    let outcome = match (input.agent_id, input.team) {
        (Some(agent), None) => {
            let after = transact(ctx.p, &ctx.actor, async |tx| {
                let mut c: Conversation = tx
                    .get_json(&conversation_key(&id))
                    .await?
                    .ok_or_else(|| ApiError::not_found("conversation"))?;
                let agent_record: Agent = tx
                    .get_json(&Agent::storage_key(&agent.to_string()))
                    .await?
                    .filter(|a: &Agent| a.active)
                    .ok_or_else(|| ApiError::unprocessable("agent_id: no such active agent"))?;
                let before = c.clone();
                if c.assignee_id == Some(agent_record.id) {
                    return Ok(c);
                }
                c.assignee_id = Some(agent_record.id);
                c.touch(now);
                tx.put_json(conversation_key(&id), &c)?;
                on_change(ctx.p, tx, Some(&before), &c, ctx.actor_ref()).await?;
                Ok(c)
            })
            .await?;
            serde_json::json!({ "outcome": "assigned", "conversation": after })
        }
        (None, Some(team)) => {
            let rule = RuleRef {
                id: "manual".into(),
                name: format!("Assigned to team {team} by hand"),
            };
            let decision = assign_to(
                ctx.p,
                &ctx.actor,
                &id,
                &RouteTarget::Team(team),
                rule,
                AssignmentSource::Manual,
                ctx.actor_ref(),
            )
            .await?
            .ok_or_else(|| ApiError::not_found("conversation"))?;
            crate::http::to_value(&decision)?
        }
        _ => {
            return Err(ApiError::unprocessable(
                "send exactly one of `agent_id` and `team`",
            ))
        }
    };
    let after: Conversation = crate::records::load(ctx, &id.to_string()).await?;
    if frees_capacity(&before, &after) {
        drain(ctx.p, &ctx.actor).await?;
    }
    json(StatusCode::OK, &outcome)
}
