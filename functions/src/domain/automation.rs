//! Automation rules wired to storage: the runner that evaluates rules when something happens
//! to a conversation or a ticket and applies their actions, and the checks that keep rules'
//! references valid.
//!
//! The engine (`shared::routing::automation`) decides; this module gathers the facts (the
//! conversation or ticket, its contact and assignee, the tenant, the message, rating or SLA
//! crossing that triggered it) and applies each planned action in its own transaction. An action that changes the status
//! produces a `status_changed` event carrying the action's causation, which is evaluated in
//! turn: the engine's loop guard stops a rule from reacting to its own change, and the depth
//! limit bounds chains of distinct rules. Every rule that fires leaves an `automation.fired`
//! event on the conversation naming the rule, the trigger and what it did.
//!
//! Webhooks go to the outbox (`crate::domain::webhooks`) in the transaction that plans them;
//! a timer sends them signed with the tenant's automation webhook secret, retries them and
//! logs each attempt (`GET /v1/automation/webhooks`, `GET /v1/webhook-deliveries`).

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::ctx::record_event;
use crate::domain::conversations::{append, Draft};
use crate::domain::{routing, webhooks};
use crate::error::ApiError;
use crate::keys;
use crate::ports::Platform;
use crate::records::{self, Versioned};
use crate::store::{get_json, transact, Tx};
use edgedesk_shared::api::limits::MAX_LABELS;
use edgedesk_shared::ids::{AgentId, ContactId, ConversationId, TicketId};
use edgedesk_shared::model::{
    Actor, ActorKind, Agent, Contact, Conversation, ConversationStatus, Message, Sender,
    SenderKind, Tenant, Ticket,
};
use edgedesk_shared::routing::{
    AssignmentSource, AutomationEngine, AutomationEvent, AutomationRule, CannedResponse, Effect,
    EventKind, FactSnapshot, PlannedAction, Subject, Team,
};

/// Events handled for one trigger at most, besides the engine's own depth limit.
const MAX_EVENTS_PER_TRIGGER: usize = 64;

fn rule_actor(rule_id: &str) -> Actor {
    Actor {
        kind: ActorKind::System,
        id: Some(format!("rule:{rule_id}")),
    }
}

/// Refuses a team list that automation rules still assign to.
pub async fn check_team_references<P: Platform>(
    tx: &mut Tx<'_, P>,
    teams: &[Team],
) -> Result<(), ApiError> {
    let rules: Vec<AutomationRule> = tx
        .get_json(keys::tenant::AUTOMATION_RULES)
        .await?
        .unwrap_or_default();
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
    let rules: Vec<AutomationRule> = tx
        .get_json(keys::tenant::AUTOMATION_RULES)
        .await?
        .unwrap_or_default();
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
    people_and_place(
        p,
        tactor,
        &mut facts,
        Some(&c.contact_id),
        c.assignee_id.as_ref(),
        extra,
    )
    .await?;
    Ok(facts)
}

/// The facts every subject shares: its contact, its assignee as `agent`, the tenant, whether
/// business hours are open, and the trigger's own facts.
async fn people_and_place<P: Platform>(
    p: &P,
    tactor: &str,
    facts: &mut FactSnapshot,
    contact: Option<&ContactId>,
    assignee: Option<&AgentId>,
    extra: &[(&str, serde_json::Value)],
) -> Result<(), ApiError> {
    if let Some(id) = contact {
        let key = Contact::storage_key(&id.to_string());
        if let Some(contact) = get_json::<_, Contact>(p, tactor, &key).await? {
            facts.insert("contact", crate::http::to_value(&contact)?);
        }
    }
    if let Some(id) = assignee {
        let key = Agent::storage_key(&id.to_string());
        if let Some(agent) = get_json::<_, Agent>(p, tactor, &key).await? {
            facts.insert(
                "agent",
                serde_json::json!({"id": agent.id, "name": agent.name, "email": agent.email}),
            );
        }
    }
    if let Some(tenant) = get_json::<_, Tenant>(p, tactor, keys::tenant::TENANT).await? {
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
    Ok(())
}

fn settings_open(s: &routing::RoutingSettings, now: DateTime<Utc>) -> bool {
    s.business_hours
        .as_ref()
        .and_then(|c| c.compile().ok())
        .is_none_or(|c| c.is_open(now))
}

/// What an applied action leaves for the flows to follow up: a message it appended (a reply, a
/// note) or a conversation it changed (whose SLA clocks and subscribers must hear of it).
#[derive(Debug, Clone)]
pub enum Outcome {
    Appended(Message),
    Changed(Box<Conversation>, Box<Conversation>),
}

/// Evaluates the tenant's automation rules on `event` (and on the status changes their actions
/// cause, under the engine's loop guard) and applies what they plan. `extra` adds trigger facts
/// (`message`, `csat`, `changes`). Answers what the actions did that the flows follow up.
pub async fn run<P: Platform>(
    p: &P,
    tactor: &str,
    event: AutomationEvent,
    extra: Vec<(&str, serde_json::Value)>,
) -> Result<Vec<Outcome>, ApiError> {
    Ok(run_counted(p, tactor, event, extra).await?.0)
}

/// [`run`], also answering how many rules fired.
pub async fn run_counted<P: Platform>(
    p: &P,
    tactor: &str,
    event: AutomationEvent,
    extra: Vec<(&str, serde_json::Value)>,
) -> Result<(Vec<Outcome>, usize), ApiError> {
    let rules: Vec<AutomationRule> = get_json(p, tactor, keys::tenant::AUTOMATION_RULES)
        .await?
        .unwrap_or_default();
    if rules
        .iter()
        .all(|r| !r.enabled || !r.on.contains(&event.kind))
        && event.cause.depth == 0
    {
        // Nothing listens to this kind of event; follow-ups only come from fired rules.
        return Ok((Vec::new(), 0));
    }
    let engine = AutomationEngine::new(&rules).map_err(ApiError::unprocessable)?;
    let mut pending = VecDeque::from([event]);
    let mut appended = Vec::new();
    let mut fired = 0;
    let mut first = true;
    let mut handled = 0;
    while let Some(ev) = pending.pop_front() {
        handled += 1;
        if handled > MAX_EVENTS_PER_TRIGGER {
            break;
        }
        let extra = if first { &extra[..] } else { &[] };
        first = false;
        match ev.subject {
            Subject::Conversation(cid) => {
                let key = Conversation::storage_key(&cid.to_string());
                let Some(c) = get_json::<_, Conversation>(p, tactor, &key).await? else {
                    continue;
                };
                let facts = conversation_facts(p, tactor, &c, extra).await?;
                let planned = engine.evaluate(&ev, &facts);
                if planned.is_empty() {
                    continue;
                }
                fired += planned.len();
                // What the rules fired and every change they make to the record commit in
                // one batch; actions that write elsewhere follow, in order.
                let changes = change_record(p, tactor, &cid, &ev, &planned).await?;
                for (action, change) in planned.iter().zip(changes) {
                    let (follow, outcome) = match change {
                        Some(changed) => {
                            after_change(p, tactor, &cid, &ev, action, changed).await?
                        }
                        None => apply(p, tactor, &cid, action, &facts).await?,
                    };
                    pending.extend(follow);
                    appended.extend(outcome);
                }
            }
            Subject::Ticket(tid) => {
                let key = Ticket::storage_key(&tid.to_string());
                let Some(t) = get_json::<_, Ticket>(p, tactor, &key).await? else {
                    continue;
                };
                let facts = ticket_facts(p, tactor, &t, extra).await?;
                let planned = engine.evaluate(&ev, &facts);
                if planned.is_empty() {
                    continue;
                }
                let id = tid.to_string();
                transact(p, tactor, async |tx| {
                    record_fired_in(p, tx, &id, &ev, &planned)
                })
                .await?;
                fired += planned.len();
                for action in &planned {
                    pending.extend(apply_to_ticket(p, tactor, &tid, &ev, action).await?);
                }
            }
        }
    }
    Ok((appended, fired))
}

/// One `automation.fired` event per rule that fired, naming the trigger and the effects.
fn record_fired_in<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    subject: &str,
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
    for (rule, effects) in &by_rule {
        record_event(
            p,
            tx,
            subject,
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
}

/// A before/after pair of the conversation record.
type Changed = (Conversation, Conversation);

/// The change an action makes to the conversation record, if it is one (priority, status,
/// labels, snooze); other actions write elsewhere.
fn record_change(effect: &Effect) -> Option<Box<dyn Fn(&mut Conversation) + '_>> {
    Some(match effect {
        Effect::SetPriority { to, .. } => Box::new(move |c| c.priority = *to),
        Effect::SetConversationStatus { to } => Box::new(move |c| {
            c.status = *to;
            if *to != ConversationStatus::Snoozed {
                c.snoozed_until = None;
            }
        }),
        Effect::AddLabels { labels } => Box::new(move |c| {
            for l in labels {
                if c.labels.len() < MAX_LABELS && !c.labels.contains(l) {
                    c.labels.push(l.clone());
                }
            }
        }),
        Effect::RemoveLabels { labels } => {
            Box::new(move |c| c.labels.retain(|l| !labels.contains(l)))
        }
        Effect::Snooze { until } => Box::new(move |c| {
            c.status = ConversationStatus::Snoozed;
            c.snoozed_until = Some(*until);
        }),
        _ => return None,
    })
}

/// Records what the rules fired and applies, in one transaction, each planned action that
/// changes the conversation record (each with its own `conversation.updated` event and routing
/// bookkeeping). Answers, per action, `Some` with the change for those (`None` inside when it
/// changed nothing) and `None` for actions that write elsewhere.
async fn change_record<P: Platform>(
    p: &P,
    tactor: &str,
    cid: &ConversationId,
    ev: &AutomationEvent,
    planned: &[PlannedAction],
) -> Result<Vec<Option<Option<Changed>>>, ApiError> {
    let id = cid.to_string();
    let (out, wake) = transact(p, tactor, async |tx| {
        record_fired_in(p, tx, &id, ev, planned)?;
        let mut out = Vec::with_capacity(planned.len());
        let mut last = None;
        for action in planned {
            let Some(change) = record_change(&action.effect) else {
                out.push(None);
                continue;
            };
            let actor = rule_actor(&action.rule.id);
            let changed =
                records::change_in(p, tx, &id, actor.clone(), |c: &mut Conversation| change(c))
                    .await?;
            if let Some((before, after)) = &changed {
                routing::on_change(p, tx, Some(before), after, actor).await?;
                last = Some(after.clone());
            }
            out.push(Some(changed));
        }
        // The SLA clocks follow the changed record in the same batch.
        let wake = match &last {
            Some(after) => Some((
                after.tenant_id,
                crate::domain::sla::track_conversation_in(p, tx, after, None).await?,
            )),
            None => None,
        };
        Ok((out, wake))
    })
    .await?;
    if let Some((tenant_id, wake)) = wake {
        crate::domain::sla::schedule_wake(p, tenant_id, wake).await?;
    }
    Ok(out)
}

/// What follows a rule's change of the record once it is committed: a snooze's wake-up,
/// freed capacity for the queue, `status_changed` for the rules, and the change for the flows.
async fn after_change<P: Platform>(
    p: &P,
    tactor: &str,
    cid: &ConversationId,
    ev: &AutomationEvent,
    action: &PlannedAction,
    changed: Option<Changed>,
) -> Result<(Vec<AutomationEvent>, Option<Outcome>), ApiError> {
    let Some((before, after)) = changed else {
        return Ok((Vec::new(), None));
    };
    if let (Effect::Snooze { until }, ConversationStatus::Snoozed) = (&action.effect, after.status)
    {
        let job = crate::alarms::Job::Unsnooze {
            tenant_id: tenant_of(tactor)?,
            conversation_id: *cid,
            until: *until,
        };
        crate::alarms::schedule(p, *until, &job).await?;
    }
    if routing::frees_capacity(&before, &after) {
        routing::drain(p, tactor).await?;
    }
    let mut follow = Vec::new();
    if before.status != after.status {
        follow.push(AutomationEvent::caused_by(
            EventKind::StatusChanged,
            ev.subject,
            p.now(),
            action,
        ));
    }
    Ok((
        follow,
        Some(Outcome::Changed(Box::new(before), Box::new(after))),
    ))
}

/// Applies one planned action that writes outside the conversation record (an assignment, a
/// reply or a note, a webhook); returns the message it appended.
async fn apply<P: Platform>(
    p: &P,
    tactor: &str,
    cid: &ConversationId,
    action: &PlannedAction,
    facts: &FactSnapshot,
) -> Result<(Vec<AutomationEvent>, Option<Outcome>), ApiError> {
    let actor = rule_actor(&action.rule.id);
    let draft = match &action.effect {
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
            return Ok((Vec::new(), None));
        }
        Effect::SendCannedReply { canned_response_id } => {
            let canned: Option<CannedResponse> = get_json(
                p,
                tactor,
                &keys::tenant::canned_response(canned_response_id),
            )
            .await?;
            // A canned response deleted after the rule was saved leaves nothing to send.
            let Some(canned) = canned else {
                return Ok((Vec::new(), None));
            };
            let text = canned.render(facts).map_err(ApiError::unprocessable)?.text;
            rule_draft(action, text, false)
        }
        Effect::AddPrivateNote { body } => rule_draft(action, body.clone(), true),
        Effect::SendWebhook(delivery) => {
            enqueue_webhook(p, tactor, &cid.to_string(), &action.rule, delivery).await?;
            return Ok((Vec::new(), None));
        }
        // Record changes are `change_record`'s; ticket effects never reach a conversation
        // subject (the engine skips them).
        _ => return Ok((Vec::new(), None)),
    };
    let mut draft = draft;
    if !draft.private {
        // On an email conversation the rule's reply goes out as a mail too.
        let random = crate::ctx::random_hex(p, 12);
        draft.email =
            crate::domain::email::threads::reply_to_thread(p, tactor, cid, &random).await?;
    }
    let appended = append(p, cid, draft, None).await?;
    Ok((Vec::new(), Some(Outcome::Appended(appended.message))))
}

/// A message a rule posts, as the system on the rule's behalf.
fn rule_draft(action: &PlannedAction, body: String, private: bool) -> Draft {
    Draft {
        sender: Sender {
            kind: SenderKind::System,
            id: Some(format!("rule:{}", action.rule.id)),
        },
        body,
        private,
        attachments: Vec::new(),
        external_id: None,
        email: None,
    }
}

/// The facts rules and templates read for an event on a ticket: the ticket (with its `team`),
/// its requester as `contact`, its assignee as `agent`, the tenant and business hours.
async fn ticket_facts<P: Platform>(
    p: &P,
    tactor: &str,
    t: &Ticket,
    extra: &[(&str, serde_json::Value)],
) -> Result<FactSnapshot, ApiError> {
    let mut facts = FactSnapshot::new();
    let mut ticket = crate::http::to_value(t)?;
    if let (Some(o), Some(team)) = (ticket.as_object_mut(), crate::domain::sla::ticket_team(t)) {
        o.insert("team".into(), serde_json::Value::String(team));
    }
    facts.insert("ticket", ticket);
    let (requester, assignee) = (t.requester_id.as_ref(), t.assignee_id.as_ref());
    people_and_place(p, tactor, &mut facts, requester, assignee, extra).await?;
    Ok(facts)
}

/// Applies one planned action to a ticket: the change, its `ticket.updated` event and the SLA
/// clocks commit together. Returns the events the change causes (`status_changed` for a
/// status, `ticket_updated` for anything else), carrying the action's causation.
async fn apply_to_ticket<P: Platform>(
    p: &P,
    tactor: &str,
    tid: &TicketId,
    ev: &AutomationEvent,
    action: &PlannedAction,
) -> Result<Vec<AutomationEvent>, ApiError> {
    let actor = rule_actor(&action.rule.id);
    let now = p.now();
    if let Effect::SendWebhook(delivery) = &action.effect {
        enqueue_webhook(p, tactor, &tid.to_string(), &action.rule, delivery).await?;
        return Ok(Vec::new());
    }
    let change = |t: &mut Ticket| match &action.effect {
        Effect::Assign {
            target: edgedesk_shared::routing::RouteTarget::Agent(a),
        } => t.assignee_id = Some(*a),
        Effect::Assign {
            target: edgedesk_shared::routing::RouteTarget::Team(team),
        } => {
            t.custom_fields
                .insert("team".into(), serde_json::Value::String(team.clone()));
        }
        Effect::SetPriority { to, .. } => t.priority = *to,
        Effect::SetTicketStatus { to } => t.status = *to,
        Effect::AddTags { tags } => {
            for tag in tags {
                if !t.tags.contains(tag) {
                    t.tags.push(tag.clone());
                }
            }
        }
        Effect::RemoveTags { tags } => t.tags.retain(|x| !tags.contains(x)),
        // Conversation effects never reach a ticket subject (the engine skips them).
        _ => {}
    };
    let changed = transact(p, tactor, async |tx| {
        let id = tid.to_string();
        let Some((before, after)) = records::change_in(p, tx, &id, actor.clone(), &change).await?
        else {
            return Ok(None);
        };
        let snapshot = crate::domain::sla::ticket_snapshot(tx, &after).await?;
        let wake = crate::domain::sla::track(p, tx, &id, after.created_at, snapshot, None).await?;
        Ok(Some((before.status != after.status, after.tenant_id, wake)))
    })
    .await?;
    let Some((status_changed, tenant_id, wake)) = changed else {
        return Ok(Vec::new());
    };
    crate::domain::sla::schedule_wake(p, tenant_id, wake).await?;
    let kind = if status_changed {
        EventKind::StatusChanged
    } else {
        EventKind::TicketUpdated
    };
    Ok(vec![AutomationEvent::caused_by(
        kind, ev.subject, now, action,
    )])
}

/// Automation for a ticket event made by a person, a channel or the SLA timer:
/// `ticket_created`, `ticket_updated` (and `status_changed` when the status changed),
/// `sla_warning`, `sla_breach`.
pub async fn ticket_event<P: Platform>(
    p: &P,
    tactor: &str,
    kind: EventKind,
    ticket: &TicketId,
    extra: Vec<(&str, serde_json::Value)>,
) -> Result<(), ApiError> {
    let event = AutomationEvent::new(kind, Subject::Ticket(*ticket), p.now());
    // Ticket actions append no messages.
    run(p, tactor, event, extra).await.map(|_| ())
}

fn tenant_of(tactor: &str) -> Result<edgedesk_shared::ids::TenantId, ApiError> {
    crate::keys::tenant_of_actor(tactor).ok_or_else(ApiError::internal)
}

/// Queues a rule's webhook in the outbox (`crate::domain::webhooks`), which signs it with the
/// tenant's automation webhook secret when it sends it, retries it and logs every attempt.
async fn enqueue_webhook<P: Platform>(
    p: &P,
    tactor: &str,
    subject: &str,
    rule: &edgedesk_shared::routing::RuleRef,
    delivery: &edgedesk_shared::routing::WebhookDelivery,
) -> Result<(), ApiError> {
    let tenant_id = tenant_of(tactor)?;
    let event = delivery.body["type"]
        .as_str()
        .unwrap_or("automation")
        .to_owned();
    let receiver = webhooks::Receiver::Automation { rule: rule.clone() };
    let id = transact(p, tactor, async |tx| {
        let to = (receiver.clone(), delivery.url.as_str());
        let body = delivery.body.clone();
        let id = webhooks::enqueue_to(p, tx, &tenant_id, to, &event, subject, body)?;
        record_event(
            p,
            tx,
            subject,
            "automation.webhook_enqueued",
            rule_actor(&rule.id),
            serde_json::json!({"rule": rule, "url": delivery.url, "delivery_id": id}),
        )?;
        Ok(id)
    })
    .await?;
    crate::alarms::schedule(p, p.now(), &webhooks::job(&tenant_id, &id)).await
}

/// Runs automation for a status change made by a person or a channel.
pub async fn status_changed<P: Platform>(
    p: &P,
    tactor: &str,
    before: &Conversation,
    after: &Conversation,
) -> Result<Vec<Outcome>, ApiError> {
    if before.status == after.status {
        return Ok(Vec::new());
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

/// Automation for an arriving conversation or contact message: `conversation_created` (once)
/// and `message_received`. Runs also while the bot holds a conversation, so a rule can take it
/// from the bot (by assigning it). Answers the messages the rules appended.
pub async fn arrival<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    message: Option<&Message>,
    created: bool,
) -> Result<Vec<Outcome>, ApiError> {
    // `conversation_created` fires once, however the conversation came about (created with
    // its first message, or opened by a channel and then written to).
    let marker = keys::tenant::conversation_arrived(id);
    let created = created
        && transact(p, tactor, async |tx| {
            if tx
                .get(&Conversation::storage_key(&id.to_string()))
                .await?
                .is_none()
                || tx.get(&marker).await?.is_some()
            {
                return Ok(false);
            }
            tx.put(marker.clone(), b"1".to_vec());
            Ok(true)
        })
        .await?;
    let now = p.now();
    let subject = Subject::Conversation(*id);
    let mut appended = Vec::new();
    if created {
        let event = AutomationEvent::new(EventKind::ConversationCreated, subject, now);
        let extra = match message {
            Some(m) => vec![("message", crate::http::to_value(m)?)],
            None => Vec::new(),
        };
        appended.extend(run(p, tactor, event, extra).await?);
    }
    if let Some(m) = message.filter(|m| m.sender.kind == SenderKind::Contact) {
        let event = AutomationEvent::new(EventKind::MessageReceived, subject, now);
        appended.extend(run(p, tactor, event, vec![("message", message_fact(m)?)]).await?);
    }
    Ok(appended)
}

/// A contact's message as rules see it: with `message.sentiment`, the score stored with it.
fn message_fact(m: &Message) -> Result<serde_json::Value, ApiError> {
    let mut fact = crate::http::to_value(m)?;
    if let (Some(obj), Some(score)) = (
        fact.as_object_mut(),
        crate::domain::messages::message_sentiment(m.sender.kind, &m.body),
    ) {
        obj.insert("sentiment".into(), serde_json::json!(score));
    }
    Ok(fact)
}

/// Whether the tenant's `message_received` rules would assign conversation `id` to a person
/// when the contact's `message` arrives: the bot then leaves that message to them instead of
/// answering it first. One read when no rule assigns on arrival.
pub async fn assigns_on_arrival<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    message: &Message,
) -> Result<bool, ApiError> {
    let rules: Vec<AutomationRule> = get_json(p, tactor, keys::tenant::AUTOMATION_RULES)
        .await?
        .unwrap_or_default();
    let assigning = |r: &AutomationRule| {
        r.enabled
            && r.on.contains(&EventKind::MessageReceived)
            && r.actions
                .iter()
                .any(|a| matches!(a, edgedesk_shared::routing::AutomationAction::Assign { .. }))
    };
    if !rules.iter().any(assigning) {
        return Ok(false);
    }
    let Some(c) =
        get_json::<_, Conversation>(p, tactor, &Conversation::storage_key(&id.to_string())).await?
    else {
        return Ok(false);
    };
    let engine = AutomationEngine::new(&rules).map_err(ApiError::unprocessable)?;
    let event = AutomationEvent::new(
        EventKind::MessageReceived,
        Subject::Conversation(*id),
        p.now(),
    );
    let facts = conversation_facts(p, tactor, &c, &[("message", message_fact(message)?)]).await?;
    Ok(engine
        .evaluate(&event, &facts)
        .iter()
        .any(|a| matches!(a.effect, Effect::Assign { .. })))
}
