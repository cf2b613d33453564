//! Automation rules wired to storage: CRUD, the `POST /v1/rules/test` dry run, and the runner
//! that evaluates rules when something happens to a conversation and applies their actions.
//!
//! The engine (`shared::routing::automation`) decides; this module gathers the facts (the
//! conversation, its contact and assignee, the tenant, the message or rating that triggered it)
//! and applies each planned action in its own transaction. An action that changes the status
//! produces a `status_changed` event carrying the action's causation, which is evaluated in
//! turn: the engine's loop guard stops a rule from reacting to its own change, and the depth
//! limit bounds chains of distinct rules. Every rule that fires leaves an `automation.fired`
//! event on the conversation naming the rule, the trigger and what it did.
//!
//! Webhooks are signed with the tenant's automation webhook secret and written to the tenant's
//! webhook outbox (`webhook_outbox:` records, listed at `GET /v1/automation/webhooks`) in the
//! transaction that plans them; functions have no outbound HTTP port, so a delivery worker on
//! the runtime sends them from there.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::ctx::{id_parts, record_event, Ctx};
use crate::error::ApiError;
use crate::handlers::conversations::{append, Appended, Draft};
use crate::handlers::routing::{self, unprocessable};
use crate::http::{body, json, Request, Response};
use crate::ports::{Platform, Scan};
use crate::records::Versioned;
use crate::store::{get_json, scan_json, transact, Tx};
use edgedesk_shared::api::limits::MAX_LABELS;
use edgedesk_shared::ids::ConversationId;
use edgedesk_shared::model::{
    Actor, ActorKind, Agent, Contact, Conversation, ConversationStatus, Sender, SenderKind, Tenant,
};
use edgedesk_shared::routing::{
    test_rule, AssignmentSource, AutomationEngine, AutomationEvent, AutomationRule, CannedResponse,
    Effect, EventKind, FactSnapshot, PlannedAction, RoutingFacts, RoutingRule, RuleTestRequest,
    Subject, Team,
};

pub const RULES_KEY: &str = "automation:rules";
const SECRET_KEY: &str = "automation:webhook_secret";
/// Events handled for one trigger at most, besides the engine's own depth limit.
const MAX_EVENTS_PER_TRIGGER: usize = 64;

fn rule_actor(rule_id: &str) -> Actor {
    Actor {
        kind: ActorKind::System,
        id: Some(format!("rule:{rule_id}")),
    }
}

/// All canned responses of the tenant (at most a thousand).
pub async fn all_canned<P: Platform>(p: &P, tactor: &str) -> Result<Vec<CannedResponse>, ApiError> {
    let rows = scan_json::<_, CannedResponse>(
        p,
        tactor,
        &Scan {
            prefix: crate::handlers::canned::PREFIX.into(),
            after: None,
            limit: edgedesk_shared::routing::canned::MAX_CANNED_RESPONSES + 1,
            reverse: false,
        },
    )
    .await?;
    Ok(rows.into_iter().map(|(_, c)| c).collect())
}

/// Refuses a team list that automation rules still assign to.
pub async fn check_team_references<P: Platform>(
    tx: &mut Tx<'_, P>,
    teams: &[Team],
) -> Result<(), ApiError> {
    let rules: Vec<AutomationRule> = tx.get_json(RULES_KEY).await?.unwrap_or_default();
    for rule in &rules {
        for action in &rule.actions {
            if let edgedesk_shared::routing::AutomationAction::Assign {
                target: edgedesk_shared::routing::RouteTarget::Team(t),
            } = action
            {
                if !teams.iter().any(|x| &x.id == t) {
                    return Err(ApiError::conflict(
                        "in_use",
                        format!("automation rule `{}` assigns to team `{t}`", rule.id),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Refuses a canned response id that automation rules still send.
pub async fn check_canned_reference<P: Platform>(
    tx: &mut Tx<'_, P>,
    canned_id: &str,
) -> Result<(), ApiError> {
    let rules: Vec<AutomationRule> = tx.get_json(RULES_KEY).await?.unwrap_or_default();
    for rule in &rules {
        for action in &rule.actions {
            if let edgedesk_shared::routing::AutomationAction::SendCannedReply {
                canned_response_id,
            } = action
            {
                if canned_response_id == canned_id {
                    return Err(ApiError::conflict(
                        "in_use",
                        format!("automation rule `{}` sends this canned response", rule.id),
                    ));
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The runner.
// ---------------------------------------------------------------------------------------------

/// The facts rules and templates read for an event on a conversation.
pub(crate) async fn conversation_facts<P: Platform>(
    p: &P,
    tactor: &str,
    c: &Conversation,
    extra: &[(&str, serde_json::Value)],
) -> Result<FactSnapshot, ApiError> {
    // Through the byte serializer (`http::to_value`), which these types already have.
    let mut facts = FactSnapshot::new();
    facts.insert("conversation", crate::http::to_value(c)?);
    if let Some(contact) =
        get_json::<_, Contact>(p, tactor, &Contact::storage_key(&c.contact_id.to_string())).await?
    {
        facts.insert("contact", crate::http::to_value(&contact)?);
    }
    if let Some(agent_id) = c.assignee_id {
        if let Some(agent) =
            get_json::<_, Agent>(p, tactor, &Agent::storage_key(&agent_id.to_string())).await?
        {
            facts.insert(
                "agent",
                serde_json::json!({"id": agent.id, "name": agent.name, "email": agent.email}),
            );
        }
    }
    if let Some(tenant) = get_json::<_, Tenant>(p, tactor, "tenant").await? {
        facts.insert(
            "tenant",
            serde_json::json!({"id": tenant.id, "name": tenant.name}),
        );
    }
    let settings = routing::settings(p, tactor).await?;
    facts.insert(
        "business_hours",
        serde_json::Value::Bool(settings_open(&settings, p.now())),
    );
    for (k, v) in extra {
        facts.insert(k, v.clone());
    }
    Ok(facts)
}

fn settings_open(s: &routing::RoutingSettings, now: DateTime<Utc>) -> bool {
    s.business_hours
        .as_ref()
        .and_then(|c| c.compile().ok())
        .is_none_or(|c| c.is_open(now))
}

/// Evaluates the tenant's automation rules on `event` (and on the events their actions cause)
/// and applies what they plan. `extra` adds trigger facts (`message`, `csat`, `changes`).
pub async fn run<P: Platform>(
    p: &P,
    tactor: &str,
    event: AutomationEvent,
    extra: Vec<(&str, serde_json::Value)>,
) -> Result<(), ApiError> {
    let rules: Vec<AutomationRule> = get_json(p, tactor, RULES_KEY).await?.unwrap_or_default();
    if rules
        .iter()
        .all(|r| !r.enabled || !r.on.contains(&event.kind))
        && event.cause.depth == 0
    {
        // Nothing listens to this kind of event; follow-ups only come from fired rules.
        return Ok(());
    }
    let engine = AutomationEngine::new(&rules).map_err(unprocessable)?;
    let mut pending = VecDeque::from([event]);
    let mut first = true;
    let mut handled = 0;
    while let Some(ev) = pending.pop_front() {
        handled += 1;
        if handled > MAX_EVENTS_PER_TRIGGER {
            break;
        }
        let Subject::Conversation(cid) = ev.subject else {
            continue;
        };
        let Some(c) =
            get_json::<_, Conversation>(p, tactor, &Conversation::storage_key(&cid.to_string()))
                .await?
        else {
            continue;
        };
        let facts = conversation_facts(p, tactor, &c, if first { &extra } else { &[] }).await?;
        first = false;
        let planned = engine.evaluate(&ev, &facts);
        if planned.is_empty() {
            continue;
        }
        record_fired(p, tactor, &cid, &ev, &planned).await?;
        for action in &planned {
            let follow = apply(p, tactor, &cid, &ev, action, &facts).await?;
            pending.extend(follow);
        }
    }
    Ok(())
}

/// One `automation.fired` event per rule that fired, naming the trigger and the effects.
async fn record_fired<P: Platform>(
    p: &P,
    tactor: &str,
    cid: &ConversationId,
    ev: &AutomationEvent,
    planned: &[PlannedAction],
) -> Result<(), ApiError> {
    let mut by_rule: Vec<(&edgedesk_shared::routing::RuleRef, Vec<&Effect>)> = Vec::new();
    for a in planned {
        match by_rule.iter_mut().find(|(r, _)| r.id == a.rule.id) {
            Some((_, effects)) => effects.push(&a.effect),
            None => by_rule.push((&a.rule, vec![&a.effect])),
        }
    }
    transact(p, tactor, async |tx| {
        for (rule, effects) in &by_rule {
            record_event(
                p,
                tx,
                &cid.to_string(),
                "automation.fired",
                rule_actor(&rule.id),
                serde_json::json!({
                    "rule": rule,
                    "trigger": ev.kind,
                    "depth": ev.cause.depth,
                    "caused_by": ev.cause.rules,
                    "effects": effects,
                }),
            )?;
        }
        Ok(())
    })
    .await
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + 'a>>;

/// Appending runs the arrival hooks, which run automation: boxing breaks the type cycle.
fn append_boxed<'a, P: Platform>(
    p: &'a P,
    tactor: &'a str,
    cid: &'a ConversationId,
    draft: Draft,
    actor: Actor,
) -> Boxed<'a, Appended> {
    Box::pin(append(p, Some(tactor), cid, draft, None, actor))
}

/// Changes the conversation (if `change` changes anything), with routing bookkeeping and the
/// event history. Returns the record before and after.
async fn change_conversation<P: Platform>(
    p: &P,
    tactor: &str,
    cid: &ConversationId,
    actor: Actor,
    change: impl Fn(&mut Conversation),
) -> Result<Option<(Conversation, Conversation)>, ApiError> {
    let key = Conversation::storage_key(&cid.to_string());
    let now = p.now();
    transact(p, tactor, async |tx| {
        let Some(before) = tx.get_json::<Conversation>(&key).await? else {
            return Ok(None);
        };
        let mut after = before.clone();
        change(&mut after);
        if after == before {
            return Ok(None);
        }
        after.touch(now);
        tx.put_json(key.clone(), &after)?;
        record_event(
            p,
            tx,
            &cid.to_string(),
            "conversation.updated",
            actor.clone(),
            crate::ctx::diff(&before, &after),
        )?;
        routing::on_change(p, tx, Some(&before), &after, actor.clone()).await?;
        Ok(Some((before, after)))
    })
    .await
}

/// Applies one planned action; returns the events it caused.
async fn apply<P: Platform>(
    p: &P,
    tactor: &str,
    cid: &ConversationId,
    ev: &AutomationEvent,
    action: &PlannedAction,
    facts: &FactSnapshot,
) -> Result<Vec<AutomationEvent>, ApiError> {
    let actor = rule_actor(&action.rule.id);
    let now = p.now();
    let changed = match &action.effect {
        Effect::Assign { target } => {
            routing::assign_to(
                p,
                tactor,
                cid,
                target,
                action.rule.clone(),
                AssignmentSource::Automation,
                actor,
            )
            .await?;
            return Ok(Vec::new());
        }
        Effect::SetPriority { to, .. } => {
            change_conversation(p, tactor, cid, actor, |c| c.priority = *to).await?
        }
        Effect::SetConversationStatus { to } => {
            change_conversation(p, tactor, cid, actor, |c| {
                c.status = *to;
                if *to != ConversationStatus::Snoozed {
                    c.snoozed_until = None;
                }
            })
            .await?
        }
        Effect::AddLabels { labels } => {
            change_conversation(p, tactor, cid, actor, |c| {
                for l in labels {
                    if c.labels.len() < MAX_LABELS && !c.labels.contains(l) {
                        c.labels.push(l.clone());
                    }
                }
            })
            .await?
        }
        Effect::RemoveLabels { labels } => {
            change_conversation(p, tactor, cid, actor, |c| {
                c.labels.retain(|l| !labels.contains(l))
            })
            .await?
        }
        Effect::Snooze { until } => {
            let until = *until;
            let changed = change_conversation(p, tactor, cid, actor, |c| {
                c.status = ConversationStatus::Snoozed;
                c.snoozed_until = Some(until);
            })
            .await?;
            if changed.is_some() {
                let job = crate::alarms::Job::Unsnooze {
                    tenant_id: tenant_of(tactor)?,
                    conversation_id: *cid,
                    until,
                };
                crate::alarms::schedule(p, until, &job).await?;
            }
            changed
        }
        Effect::SendCannedReply { canned_response_id } => {
            let canned: Option<CannedResponse> = get_json(
                p,
                tactor,
                &crate::handlers::canned::record_key(canned_response_id),
            )
            .await?;
            // A canned response deleted after the rule was saved leaves nothing to send.
            if let Some(canned) = canned {
                let text = canned.render(facts).map_err(unprocessable)?.text;
                let draft = Draft {
                    sender: Sender {
                        kind: SenderKind::System,
                        id: Some(format!("rule:{}", action.rule.id)),
                    },
                    body: text,
                    private: false,
                    attachments: Vec::new(),
                    external_id: None,
                };
                append_boxed(p, tactor, cid, draft, actor).await?;
            }
            return Ok(Vec::new());
        }
        Effect::AddPrivateNote { body } => {
            let draft = Draft {
                sender: Sender {
                    kind: SenderKind::System,
                    id: Some(format!("rule:{}", action.rule.id)),
                },
                body: body.clone(),
                private: true,
                attachments: Vec::new(),
                external_id: None,
            };
            append_boxed(p, tactor, cid, draft, actor).await?;
            return Ok(Vec::new());
        }
        Effect::SendWebhook(delivery) => {
            enqueue_webhook(p, tactor, cid, &action.rule, delivery, now).await?;
            return Ok(Vec::new());
        }
        // Ticket effects never reach a conversation subject (the engine skips them).
        Effect::SetTicketStatus { .. } | Effect::AddTags { .. } | Effect::RemoveTags { .. } => {
            return Ok(Vec::new())
        }
    };
    let Some((before, after)) = changed else {
        return Ok(Vec::new());
    };
    if routing::frees_capacity(&before, &after) {
        routing::drain(p, tactor).await?;
    }
    let mut follow = Vec::new();
    if before.status != after.status {
        follow.push(AutomationEvent::caused_by(
            EventKind::StatusChanged,
            ev.subject,
            now,
            action,
        ));
    }
    Ok(follow)
}

fn tenant_of(tactor: &str) -> Result<edgedesk_shared::ids::TenantId, ApiError> {
    tactor
        .strip_prefix("t:")
        .and_then(|t| t.parse().ok())
        .ok_or_else(ApiError::internal)
}

/// A signed webhook waiting for delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: String,
    pub url: String,
    /// The exact bytes to POST (JSON).
    pub body: String,
    /// The `X-EdgeDesk-Signature` header value: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
    pub signature: String,
    pub rule: edgedesk_shared::routing::RuleRef,
    pub conversation_id: ConversationId,
    pub created_at: DateTime<Utc>,
    pub status: String,
}

/// The tenant's automation webhook secret, made on first use.
pub(crate) async fn webhook_secret<P: Platform>(p: &P, tactor: &str) -> Result<String, ApiError> {
    if let Some(s) = get_json::<_, String>(p, tactor, SECRET_KEY).await? {
        return Ok(s);
    }
    let mut b = [0u8; 32];
    p.fill(&mut b);
    let fresh = hex::encode(b);
    transact(p, tactor, async |tx| {
        if let Some(s) = tx.get_json::<String>(SECRET_KEY).await? {
            return Ok(s);
        }
        tx.put_json(SECRET_KEY, &fresh)?;
        Ok(fresh.clone())
    })
    .await
}

async fn enqueue_webhook<P: Platform>(
    p: &P,
    tactor: &str,
    cid: &ConversationId,
    rule: &edgedesk_shared::routing::RuleRef,
    delivery: &edgedesk_shared::routing::WebhookDelivery,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let secret = webhook_secret(p, tactor).await?;
    let (bytes, signature) = delivery.signed(secret.as_bytes(), now.timestamp());
    let (ms, r) = id_parts(p);
    let id = format!("{ms:015}{r:032x}");
    let entry = OutboxEntry {
        id: id.clone(),
        url: delivery.url.clone(),
        body: String::from_utf8(bytes).map_err(|_| ApiError::internal())?,
        signature,
        rule: rule.clone(),
        conversation_id: *cid,
        created_at: now,
        status: "pending".into(),
    };
    transact(p, tactor, async |tx| {
        tx.put_json(format!("webhook_outbox:{id}"), &entry)?;
        record_event(
            p,
            tx,
            &cid.to_string(),
            "automation.webhook_enqueued",
            rule_actor(&rule.id),
            serde_json::json!({"rule": rule, "url": entry.url, "outbox_id": id}),
        )
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// HTTP.
// ---------------------------------------------------------------------------------------------

/// `GET /v1/rules`: automation rules in evaluation order.
#[utoipa::path(get, path = "/v1/rules", tag = "automation",
    responses((status = 200, body = Object, description = "The automation rules: `{\"data\": [rule]}`.")))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let rules: Vec<AutomationRule> = get_json(ctx.p, &ctx.actor, RULES_KEY)
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
    transact(ctx.p, &ctx.actor, async |tx| {
        let mut rules: Vec<AutomationRule> = tx.get_json(RULES_KEY).await?.unwrap_or_default();
        let out = change(&mut rules)?;
        let teams: Vec<Team> = tx.get_json(routing::TEAMS_KEY).await?.unwrap_or_default();
        let engine = AutomationEngine::new(&rules).map_err(unprocessable)?;
        engine
            .check_references(&teams, &canned)
            .map_err(unprocessable)?;
        tx.put_json(RULES_KEY, &rules)?;
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
    .await
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
    let rules: Vec<AutomationRule> = get_json(ctx.p, &ctx.actor, RULES_KEY)
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
        return Err(unprocessable("id: must match the path"));
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
        t.routing_rule.validate().map_err(unprocessable)?;
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
    let explanation = test_rule(&t).map_err(unprocessable)?;
    json(
        StatusCode::OK,
        &serde_json::json!({"kind": "automation", "result": explanation}),
    )
}

/// `GET /v1/automation/webhooks`: signed webhooks in the outbox, newest first.
#[utoipa::path(get, path = "/v1/automation/webhooks", tag = "automation",
    responses((status = 200, body = Object, description = "Recent webhook calls made by automation rules, newest first.")))]
pub async fn list_webhooks<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let rows = scan_json::<_, OutboxEntry>(
        ctx.p,
        &ctx.actor,
        &Scan {
            prefix: "webhook_outbox:".into(),
            after: None,
            limit: 200,
            reverse: true,
        },
    )
    .await?;
    let data: Vec<OutboxEntry> = rows.into_iter().map(|(_, e)| e).collect();
    json(StatusCode::OK, &serde_json::json!({ "data": data }))
}

/// `GET /v1/automation/webhook-secret`: the secret receivers verify signatures with.
#[utoipa::path(get, path = "/v1/automation/webhook-secret", tag = "automation",
    responses((status = 200, body = Object, description = "`{\"secret\"}`: the key automation webhooks are signed with.")))]
pub async fn get_webhook_secret<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let secret = webhook_secret(ctx.p, &ctx.actor).await?;
    json(StatusCode::OK, &serde_json::json!({ "secret": secret }))
}

/// Runs automation for a status change made by a person or a channel.
pub async fn status_changed<P: Platform>(
    p: &P,
    tactor: &str,
    before: &Conversation,
    after: &Conversation,
) -> Result<(), ApiError> {
    if before.status == after.status {
        return Ok(());
    }
    let event = AutomationEvent::new(
        EventKind::StatusChanged,
        Subject::Conversation(after.id),
        p.now(),
    );
    run(
        p,
        tactor,
        event,
        vec![(
            "changes",
            serde_json::json!({"status": {"from": before.status, "to": after.status}}),
        )],
    )
    .await
}
