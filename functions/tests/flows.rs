//! The flows in process: what follows from a domain event reaches every listener — automation
//! rules on ticket and SLA events, the tenant's event subscriptions — and a visitor message
//! commits few batches.

mod common;
use common::*;
use edgedesk_shared::signature::verify_webhook;
use std::time::Duration;

fn header<'r>(request: &'r edgedesk_functions::ports::OutboundRequest, name: &str) -> &'r str {
    request
        .headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[test]
fn rules_run_on_ticket_created_and_ticket_updated() {
    let app = TestApp::new();
    let api = app.create_tenant("Desk");
    expect(
        api.post("/v1/rules", json!({"id": "vip", "on": ["ticket_created"],
            "conditions": {"field": {"path": "ticket.subject", "op": "contains", "value": "refund"}},
            "actions": [{"type": "add_tags", "tags": ["billing"]}, {"type": "set_priority", "priority": "high"}]})),
        201,
    );
    expect(
        api.post(
            "/v1/rules",
            json!({"id": "solved", "on": ["ticket_updated"],
            "conditions": {"field": {"path": "ticket.status", "op": "equals", "value": "solved"}},
            "actions": [{"type": "add_tags", "tags": ["done"]}]}),
        ),
        201,
    );
    let t = ticket(&api, "Please refund my order");
    let tid = id(&t);
    let now = expect(api.get(&format!("/v1/tickets/{tid}")), 200);
    assert_eq!(now["priority"], "high", "{now}");
    assert_eq!(now["tags"], json!(["billing"]), "{now}");
    let other = ticket(&api, "Printer on fire");
    assert_eq!(
        expect(api.get(&format!("/v1/tickets/{}", id(&other))), 200)["tags"],
        json!([]),
        "the condition holds only for the first ticket"
    );
    expect(
        api.patch(&format!("/v1/tickets/{tid}"), json!({"status": "solved"})),
        200,
    );
    let after = expect(api.get(&format!("/v1/tickets/{tid}")), 200);
    assert_eq!(after["tags"], json!(["billing", "done"]), "{after}");
    let events = data(&expect(
        api.get(&format!("/v1/tickets/{tid}/events?limit=100")),
        200,
    ));
    let fired: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "automation.fired")
        .collect();
    assert_eq!(fired.len(), 2, "{events:?}");
}

#[test]
fn a_rule_on_sla_breach_runs_when_the_timer_fires() {
    let app = TestApp::new();
    let api = app.create_tenant("Late");
    expect(
        api.post(
            "/v1/sla/policies",
            json!({
            "id": "fast", "name": "Urgent answered fast", "position": 1,
            "conditions": {"priorities": ["urgent"]},
            "targets": {"first_response": {"minutes": 10, "basis": "calendar"}}}),
        ),
        201,
    );
    expect(
        api.post("/v1/rules", json!({"id": "escalate", "on": ["sla_breach"],
            "actions": [{"type": "add_tags", "tags": ["late"]}, {"type": "set_status", "status": "open"}]})),
        201,
    );
    let t = expect(
        api.post(
            "/v1/tickets",
            json!({"subject": "Down", "priority": "urgent", "status": "new"}),
        ),
        201,
    );
    let tid = id(&t);
    app.platform.advance(Duration::from_secs(9 * 60));
    app.sweep();
    let before = expect(api.get(&format!("/v1/tickets/{tid}")), 200);
    assert_eq!(before["tags"], json!([]), "not breached yet: {before}");
    app.platform.advance(Duration::from_secs(2 * 60));
    assert!(app.sweep() >= 1);
    let after = expect(api.get(&format!("/v1/tickets/{tid}")), 200);
    assert_eq!(after["tags"], json!(["late"]), "{after}");
    assert_eq!(after["status"], "open", "{after}");
}

#[test]
fn a_subscription_receives_signed_deliveries_of_the_events_it_asked_for() {
    let app = TestApp::new();
    let api = app.create_tenant("Subscribed");
    let sub = expect(
        api.post(
            "/v1/webhooks/subscriptions",
            json!({"url": "https://crm.example/in", "events": ["ticket.created", "message.created"]}),
        ),
        201,
    );
    let secret = sub["secret"]
        .as_str()
        .expect("the secret, shown once")
        .to_owned();
    let listed = expect(api.get("/v1/webhooks/subscriptions"), 200);
    assert!(listed["data"][0].get("secret").is_none(), "{listed}");
    let t = ticket(&api, "Hello");
    let c = contact(&api, "Ada");
    conversation(&api, &id(&c));
    app.sweep();
    let sent = app.platform.take_outbound();
    let events: Vec<&str> = sent.iter().map(|r| header(r, "x-edgedesk-event")).collect();
    assert!(events.contains(&"ticket.created"), "{events:?}");
    assert!(
        !events.contains(&"contact.created"),
        "not subscribed: {events:?}"
    );
    let created = sent
        .iter()
        .find(|r| header(r, "x-edgedesk-event") == "ticket.created")
        .unwrap();
    assert_eq!(created.url, "https://crm.example/in");
    let now = app.platform.now().timestamp();
    assert_eq!(
        verify_webhook(
            secret.as_bytes(),
            Some(header(created, "x-edgedesk-signature")),
            &created.body,
            now
        ),
        Ok(())
    );
    let body: Value = serde_json::from_slice(&created.body).unwrap();
    assert_eq!(body["event"], "ticket.created");
    assert_eq!(body["data"]["id"], id(&t), "{body}");
    // Replaying sends the same delivery again, signed anew.
    let delivery = header(created, "x-edgedesk-delivery").to_owned();
    let replayed = expect(
        api.post(
            &format!("/v1/webhook-deliveries/{delivery}/replay"),
            json!({}),
        ),
        202,
    );
    assert_eq!(replayed["status"], "pending", "{replayed}");
    app.sweep();
    let again = app.platform.take_outbound();
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(header(&again[0], "x-edgedesk-delivery"), delivery);
    // A paused subscription receives nothing.
    let sid = id(&sub);
    expect(
        api.patch(
            &format!("/v1/webhooks/subscriptions/{sid}"),
            json!({"active": false}),
        ),
        200,
    );
    ticket(&api, "Quiet");
    app.sweep();
    assert!(app.platform.take_outbound().is_empty());
}

#[test]
fn subscriptions_refuse_unknown_events_and_bad_urls_and_need_the_settings_permission() {
    let app = TestApp::new();
    let api = app.create_tenant("Strict");
    let bad_event = api.post(
        "/v1/webhooks/subscriptions",
        json!({"url": "https://x.example", "events": ["ticket.exploded"]}),
    );
    assert_eq!(
        (bad_event.status, bad_event.error_code()),
        (422, "validation_failed".into())
    );
    let bad_url = api.post(
        "/v1/webhooks/subscriptions",
        json!({"url": "ftp://x.example", "events": ["ticket.created"]}),
    );
    assert_eq!(bad_url.status, 422);
    let agent = api.key_client("agent");
    assert_eq!(agent.get("/v1/webhooks/subscriptions").status, 403);
    assert_eq!(
        api.get("/v1/webhooks/subscriptions/whs_01JD3QXV6ZK8M5N2P4R7S9T0WX")
            .status,
        404
    );
}

/// A tenant where one visitor message reaches every listener: an SLA policy for conversations,
/// a routing rule, an automation rule on `message_received` that labels a message asking
/// when the team is open, and the bot with an intent that answers it.
fn busy_tenant(app: &TestApp) -> Client<'_> {
    let api = app.create_tenant("Busy");
    let ann = id(&agent(&api, "ann@busy.example", "agent"));
    expect(
        api.post(
            "/v1/teams",
            json!({"id": "support", "name": "Support", "members": [ann]}),
        ),
        201,
    );
    expect(
        api.post(
            "/v1/routing/rules",
            json!({"id": "all", "name": "All", "target": {"team": "support"}}),
        ),
        201,
    );
    expect(
        api.post(
            "/v1/sla/policies",
            json!({
            "id": "chat", "name": "Chats", "position": 1, "conditions": {},
            "targets": {"first_response": {"minutes": 5, "basis": "calendar"}}}),
        ),
        201,
    );
    expect(
        api.post(
            "/v1/rules",
            json!({"id": "tag", "on": ["message_received"],
            "conditions": {"text": {"path": "message.body", "contains": ["open"]}},
            "actions": [{"type": "add_labels", "labels": ["hours"]}]}),
        ),
        201,
    );
    expect(api.put("/v1/bot/settings", json!({"enabled": true})), 200);
    expect(
        api.post("/v1/bot/intents", json!({"id": "opening_hours",
            "examples": ["when are you open", "what are your opening hours", "are you open on sunday",
                         "what time do you close", "business hours", "opening times"],
            "reply": "We are open 9:00 to 17:00, Monday to Friday."})),
        201,
    );
    api
}

/// The batches a request committed, per actor.
fn batches(r: &TestResponse) -> std::collections::BTreeMap<String, usize> {
    let mut by_actor = std::collections::BTreeMap::new();
    for c in &r.commits {
        *by_actor.entry(c.actor.clone()).or_default() += 1;
    }
    by_actor
}

#[test]
fn a_visitor_message_the_bot_answers_commits_one_batch_per_actor_it_touches() {
    let app = TestApp::new();
    let api = busy_tenant(&app);
    let v = Visitor::new(&app, &api.tenant_id(), json!({"name": "Ada"}));
    let cid = v.say("hello");
    let r = v.call(
        "POST",
        "/messages",
        Some(json!({"body": "when are you open?"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let answered = expect(api.get(&format!("/v1/conversations/{cid}/messages")), 200);
    assert_eq!(
        data(&answered).last().map(|m| m["sender"]["kind"].clone()),
        Some(json!("bot")),
        "the bot answered: {answered}"
    );
    let by_actor = batches(&r);
    // The message and the bot's turn are one batch of the conversation; the record, its SLA
    // clocks, the activity log and the bot's bookkeeping one of the tenant; the rule that
    // fired and its label a second one.
    assert_eq!(by_actor.get(&format!("c:{cid}")), Some(&1), "{by_actor:?}");
    assert_eq!(by_actor.get(&api.tenant_actor()), Some(&2), "{by_actor:?}");
    assert!(
        by_actor
            .keys()
            .all(|a| a.starts_with("c:") || a.starts_with("t:") || a == "s"),
        "{by_actor:?}"
    );
}

#[test]
fn a_visitor_message_that_reaches_every_listener_commits_at_most_three_batches() {
    let app = TestApp::new();
    let api = busy_tenant(&app);
    let v = Visitor::new(&app, &api.tenant_id(), json!({"name": "Ada"}));
    let cid = v.say("hello");
    let r = v.call(
        "POST",
        "/messages",
        Some(json!({"body": "when are you open?"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.commits.len() <= 3, "{:?}", batches(&r));
    // Every listener did its part: the rule labelled it, the bot answered and the SLA clock
    // for a first response runs.
    let c = expect(api.get(&format!("/v1/conversations/{cid}")), 200);
    assert_eq!(c["labels"], json!(["hours"]), "{c}");
    let messages = expect(api.get(&format!("/v1/conversations/{cid}/messages")), 200);
    let bodies: Vec<String> = data(&messages)
        .iter()
        .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b == "We are open 9:00 to 17:00, Monday to Friday."),
        "{bodies:?}"
    );
    assert_eq!(c["last_message_seq"], json!(bodies.len()), "{c}");
    let sla = expect(api.get(&format!("/v1/conversations/{cid}/sla")), 200);
    assert!(sla.to_string().contains("first_response"), "{sla}");
}

#[test]
fn a_time_rule_fires_once_when_a_conversation_has_been_pending_for_48_hours() {
    let app = TestApp::new();
    let api = app.create_tenant("Patient");
    expect(
        api.post("/v1/rules", json!({"id": "stale", "on": ["time_elapsed"],
            "conditions": {"all": [
                {"field": {"path": "conversation.status", "op": "equals", "value": "pending"}},
                {"field": {"path": "elapsed.hours_since_update", "op": "greater_or_equal", "value": 48}}]},
            "actions": [{"type": "add_labels", "labels": ["stale"]},
                        {"type": "add_private_note", "body": "No reply for two days."}]})),
        201,
    );
    let c = contact(&api, "Ada");
    let cid = id(&conversation(&api, &id(&c)));
    expect(
        api.patch(
            &format!("/v1/conversations/{cid}"),
            json!({"status": "pending"}),
        ),
        200,
    );
    let labels =
        |api: &Client| expect(api.get(&format!("/v1/conversations/{cid}")), 200)["labels"].clone();
    for _ in 0..47 {
        app.platform.advance(Duration::from_secs(3600));
        app.sweep();
    }
    assert_eq!(labels(&api), json!([]), "47 hours is not 48");
    app.platform.advance(Duration::from_secs(3600 + 60));
    app.sweep();
    assert_eq!(labels(&api), json!(["stale"]));
    for _ in 0..5 {
        app.platform.advance(Duration::from_secs(3600));
        app.sweep();
    }
    let fired = events_of(&conversation_events(&api, &cid), "automation.fired").len();
    assert_eq!(
        fired, 1,
        "the rule fires once for this state of the conversation"
    );
    let messages = expect(api.get(&format!("/v1/conversations/{cid}/messages")), 200);
    let notes: Vec<Value> = data(&messages)
        .into_iter()
        .filter(|m| m["private"] == true)
        .collect();
    assert_eq!(notes.len(), 1, "{messages}");
}

#[test]
fn a_status_a_rule_changes_reaches_subscribers_like_one_a_person_changes() {
    let app = TestApp::new();
    let api = app.create_tenant("Ruled");
    expect(
        api.post(
            "/v1/rules",
            json!({"id": "park", "on": ["message_received"],
            "actions": [{"type": "set_status", "status": "pending"}]}),
        ),
        201,
    );
    expect(
        api.post(
            "/v1/webhooks/subscriptions",
            json!({"url": "https://crm.example/in", "events": ["conversation.status_changed"]}),
        ),
        201,
    );
    let cid = Visitor::new(&app, &api.tenant_id(), json!({"name": "Ada"})).say("hello");
    assert_eq!(
        expect(api.get(&format!("/v1/conversations/{cid}")), 200)["status"],
        "pending"
    );
    app.sweep();
    let sent = app.platform.take_outbound();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["event"], "conversation.status_changed");
    assert_eq!(
        body["data"]["status"],
        json!({"from": "open", "to": "pending"}),
        "{body}"
    );
}
