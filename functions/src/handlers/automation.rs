//! Automation rules over HTTP: CRUD, the `POST /v1/rules/test` dry run, the webhook outbox and
//! its signing secret. The runner is `crate::domain::automation`; when it runs is the flows'.

use http::StatusCode;
use serde::Deserialize;

use crate::ctx::{record_event, Ctx};
use crate::domain::canned::all_canned;
use crate::domain::webhooks::{Delivery, Receiver};
use crate::error::ApiError;
use crate::http::{body, json, Request, Response};
use crate::keys;
use crate::ports::{Platform, Scan};
use crate::store::{get_json, scan_json, transact};
use edgedesk_shared::routing::{
    test_rule, AutomationEngine, AutomationRule, RoutingFacts, RoutingRule, RuleTestRequest, Team,
};
// ---------------------------------------------------------------------------------------------
// HTTP.
// ---------------------------------------------------------------------------------------------

/// `GET /v1/rules`: automation rules in evaluation order.
#[utoipa::path(get, path = "/v1/rules", tag = "automation",
    responses((status = 200, body = Object, description = "The automation rules: `{\"data\": [rule]}`.")))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let rules: Vec<AutomationRule> = get_json(ctx.p, &ctx.actor, keys::tenant::AUTOMATION_RULES)
        .await?
        .unwrap_or_default();
    json(StatusCode::OK, &serde_json::json!({ "data": rules }))
}

/// Saves the rule list after `change`, validated (regexes, templates, limits) and checked
/// against the tenant's teams and canned responses.
async fn change_rules<P: Platform, T>(
    ctx: &Ctx<'_, P>,
    kind: &str,
    mut change: impl FnMut(&mut Vec<AutomationRule>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let canned = all_canned(ctx.p, &ctx.actor).await?;
    let out = transact(ctx.p, &ctx.actor, async |tx| {
        let mut rules: Vec<AutomationRule> = tx
            .get_json(keys::tenant::AUTOMATION_RULES)
            .await?
            .unwrap_or_default();
        let out = change(&mut rules)?;
        let teams: Vec<Team> = tx
            .get_json(keys::tenant::ROUTING_TEAMS)
            .await?
            .unwrap_or_default();
        let engine = AutomationEngine::new(&rules).map_err(ApiError::unprocessable)?;
        engine
            .check_references(&teams, &canned)
            .map_err(ApiError::unprocessable)?;
        tx.put_json(keys::tenant::AUTOMATION_RULES, &rules)?;
        record_event(
            ctx.p,
            tx,
            "automation_rules",
            kind,
            ctx.actor_ref(),
            serde_json::json!({ "rules": rules.iter().map(|r| &r.id).collect::<Vec<_>>() }),
        )?;
        Ok(out)
    })
    .await?;
    // Rules on `time_elapsed` need the hourly tick.
    crate::domain::automation_timer::schedule_tick(ctx.p, &ctx.tenant_id).await?;
    Ok(out)
}

/// `POST /v1/rules`
#[utoipa::path(post, path = "/v1/rules", tag = "automation",
    request_body(content = Object, description = "An automation rule: `{\"name\", \"enabled\", \"on\": [event], \"conditions\"?, \"actions\"}`."),
    responses((status = 201, body = Object, description = "The rule created."), (status = 422)))]
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let rule: AutomationRule = body(req)?;
    let rule = change_rules(ctx, "automation_rule.created", |rules| {
        if rules.iter().any(|r| r.id == rule.id) {
            return Err(ApiError::conflict(
                "rule_exists",
                format!("an automation rule `{}` exists", rule.id),
            ));
        }
        rules.push(rule.clone());
        Ok(rule.clone())
    })
    .await?;
    json(StatusCode::CREATED, &rule)
}

/// `GET /v1/rules/{id}`
#[utoipa::path(get, path = "/v1/rules/{id}", tag = "automation",
    params(("id" = String, Path, description = "rule id")),
    responses((status = 200, body = Object, description = "The rule."), (status = 404)))]
pub async fn get<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    let rules: Vec<AutomationRule> = get_json(ctx.p, &ctx.actor, keys::tenant::AUTOMATION_RULES)
        .await?
        .unwrap_or_default();
    let rule = rules
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found("automation rule"))?;
    json(StatusCode::OK, &rule)
}

/// `PUT /v1/rules/{id}`
#[utoipa::path(put, path = "/v1/rules/{id}", tag = "automation",
    params(("id" = String, Path, description = "rule id")),
    request_body(content = Object, description = "The whole rule."),
    responses((status = 200, body = Object, description = "The rule as stored."), (status = 404), (status = 422)))]
pub async fn put<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let rule: AutomationRule = body(req)?;
    if rule.id != id {
        return Err(ApiError::unprocessable("id: must match the path"));
    }
    let rule = change_rules(ctx, "automation_rule.updated", |rules| {
        let slot = rules
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| ApiError::not_found("automation rule"))?;
        *slot = rule.clone();
        Ok(rule.clone())
    })
    .await?;
    json(StatusCode::OK, &rule)
}

/// `DELETE /v1/rules/{id}`
#[utoipa::path(delete, path = "/v1/rules/{id}", tag = "automation",
    params(("id" = String, Path, description = "rule id")),
    responses((status = 204, description = "Deleted."), (status = 404)))]
pub async fn delete<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    change_rules(ctx, "automation_rule.deleted", |rules| {
        let len = rules.len();
        rules.retain(|r| r.id != id);
        if rules.len() == len {
            return Err(ApiError::not_found("automation rule"));
        }
        Ok(())
    })
    .await?;
    Ok(crate::http::no_content())
}

/// The body of `POST /v1/rules/test` for a routing rule: the rule and the facts of a sample
/// conversation. Shows every condition's outcome and where the conversation would go now.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutingRuleTest {
    routing_rule: RoutingRule,
    facts: RoutingFacts,
}

/// `POST /v1/rules/test`: dry-runs an automation rule on a sample event (`{"rule", "event",
/// "facts"}`), or a routing rule on a sample conversation (`{"routing_rule", "facts"}`).
/// Nothing is changed.
#[utoipa::path(post, path = "/v1/rules/test", tag = "automation",
    request_body(content = Object, description = "`{\"rule\", \"event\", \"facts\"}` for an automation rule or `{\"routing_rule\", \"facts\"}` for a routing rule."),
    responses((status = 200, body = Object, description = "Whether the rule matches, why, and what it would do; nothing is changed."), (status = 400), (status = 422)))]
pub async fn test<P: Platform>(_ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let raw: serde_json::Value = body(req)?;
    if raw.get("routing_rule").is_some() {
        let t: RoutingRuleTest = crate::http::from_value(&raw)
            .map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
        t.routing_rule.validate().map_err(ApiError::unprocessable)?;
        let rules = vec![t.routing_rule];
        let trace = edgedesk_shared::routing::explain_routing(&rules, &t.facts);
        let matched = edgedesk_shared::routing::first_match(&rules, &t.facts).is_some();
        let placement = matched.then(|| rules[0].placement(&t.facts));
        return json(
            StatusCode::OK,
            &serde_json::json!({
                "kind": "routing",
                "matched": matched,
                "trace": trace,
                "would_route_to": placement.as_ref().map(|pl| &pl.target),
                "priority": matched.then(|| rules[0].priority.unwrap_or(t.facts.priority)),
                "placement": placement,
            }),
        );
    }
    let t: RuleTestRequest = crate::http::from_value(&raw)
        .map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
    let explanation = test_rule(&t).map_err(ApiError::unprocessable)?;
    json(
        StatusCode::OK,
        &serde_json::json!({"kind": "automation", "result": explanation}),
    )
}

/// `GET /v1/automation/webhooks`: the deliveries automation rules queued, newest first, with
/// every attempt (the whole outbox is `GET /v1/webhook-deliveries`).
#[utoipa::path(get, path = "/v1/automation/webhooks", tag = "automation",
    responses((status = 200, body = Object, description = "`{\"data\": [delivery]}`: the deliveries automation rules queued, newest first, with every attempt.")))]
pub async fn list_webhooks<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let rows = scan_json::<_, Delivery>(
        ctx.p,
        &ctx.actor,
        &Scan {
            prefix: keys::tenant::WEBHOOK_DELIVERIES.into(),
            after: None,
            limit: 200,
            reverse: true,
        },
    )
    .await?;
    let data: Vec<Delivery> = rows
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| matches!(d.receiver, Receiver::Automation { .. }))
        .collect();
    json(StatusCode::OK, &serde_json::json!({ "data": data }))
}

/// `GET /v1/automation/webhook-secret`: the secret receivers verify signatures with.
#[utoipa::path(get, path = "/v1/automation/webhook-secret", tag = "automation",
    responses((status = 200, body = Object, description = "`{\"secret\"}`: the key automation webhooks are signed with.")))]
pub async fn get_webhook_secret<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let secret = crate::settings::automation_webhook_secret(ctx.p, &ctx.actor).await?;
    json(StatusCode::OK, &serde_json::json!({ "secret": secret }))
}
