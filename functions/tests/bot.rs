//! The bot in process: intents, settings, the test endpoint, a visitor answered from the
//! knowledge base and through an order webhook (answered by the programmable outbound port),
//! hand-off, sentiment-based routing and the containment report.

mod common;
use common::*;
use edgedesk_shared::signature::verify_webhook;

fn online_agent(api: &Client, name: &str) -> String {
    let a = id(&agent(
        api,
        &format!("{}@shop.test", name.to_lowercase()),
        "agent",
    ));
    expect(
        api.put(
            &format!("/v1/agents/{a}/presence"),
            json!({"status": "online"}),
        ),
        200,
    );
    a
}

fn support_team(api: &Client, members: &[&String]) {
    expect(
        api.post(
            "/v1/teams",
            json!({"id": "support", "name": "Support", "members": members}),
        ),
        201,
    );
    expect(
        api.post(
            "/v1/routing/rules",
            json!({"id": "everyone", "name": "Everyone", "target": {"team": "support"}}),
        ),
        201,
    );
}

/// Messages as agents read them.
fn agent_messages(api: &Client, id: &str) -> Vec<Value> {
    data(&expect(
        api.get(&format!("/v1/conversations/{id}/messages?limit=100")),
        200,
    ))
}

fn last_bot_reply(v: &Visitor) -> String {
    let page = expect(v.call("GET", "/messages?limit=100", None), 200);
    let all = data(&page);
    let last = all.last().expect("a message").clone();
    assert_eq!(last["sender"]["kind"], "bot", "{all:?}");
    last["body"].as_str().unwrap().to_owned()
}

fn order_status_intent(url: &str) -> Value {
    json!({
        "id": "order_status",
        "examples": ["where is my order", "where is my package", "track my order",
                     "has my order shipped yet", "I want to know my order status",
                     "when will my order arrive", "my order has not arrived", "order status please"],
        "slots": [{"name": "order", "entity": "order_number", "question": "What is your order number?"}],
        "webhook_url": url,
        "reply": "Order {order} is {status} and arrives {eta}."
    })
}

#[test]
fn intents_and_settings_are_managed_by_admins_and_tried_by_agents() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    expect(
        api.put(
            "/v1/bot/settings",
            json!({"enabled": true, "order_patterns": [{"name": "order", "regex": "ORD-\\d{5}"}]}),
        ),
        200,
    );
    let settings = expect(api.get("/v1/bot/settings"), 200);
    assert_eq!(settings["enabled"], true);
    let r = api.put("/v1/bot/settings", json!({"timezone": "Mars/Olympus"}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    let intent = order_status_intent("https://orders.example/status");
    expect(api.post("/v1/bot/intents", intent.clone()), 201);
    let r = api.post("/v1/bot/intents", intent);
    assert_eq!((r.status, r.error_code().as_str()), (409, "already_exists"));
    expect(
        api.post("/v1/bot/intents", json!({"id": "opening_hours",
            "examples": ["when are you open", "what are your opening hours", "are you open on sunday",
                         "what time do you close", "business hours", "opening times"],
            "reply": "We are open 9:00 to 17:00, Monday to Friday."})),
        201,
    );
    assert_eq!(data(&expect(api.get("/v1/bot/intents"), 200)).len(), 2);
    assert_eq!(
        expect(api.get("/v1/bot/intents/opening_hours"), 200)["reply"],
        "We are open 9:00 to 17:00, Monday to Friday."
    );
    let agent = api.key_client("agent");
    let r = agent.post(
        "/v1/bot/intents",
        json!({"id": "x", "examples": ["x"], "reply": "x"}),
    );
    assert_eq!((r.status, r.error_code().as_str()), (403, "forbidden"));
    let tested = expect(
        agent.post(
            "/v1/bot/test",
            json!({"text": "Where is my order ORD-12345?"}),
        ),
        200,
    );
    assert_eq!(tested["intent"], "order_status", "{tested}");
    assert!(tested["confidence"].as_f64().unwrap() > 0.3, "{tested}");
    assert_eq!(tested["entities"][0]["kind"], "order_number");
    assert_eq!(tested["entities"][0]["value"]["value"], "ORD-12345");
    let hours = expect(
        agent.post(
            "/v1/bot/test",
            json!({"text": "what are your opening hours"}),
        ),
        200,
    );
    assert_eq!(hours["intent"], "opening_hours", "{hours}");
    assert_eq!(api.delete("/v1/bot/intents/opening_hours").status, 204);
    assert_eq!(api.get("/v1/bot/intents/opening_hours").status, 404);
}

#[test]
fn the_bot_answers_from_the_kb_runs_an_order_dialogue_through_a_signed_webhook_and_hands_off() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let sam = online_agent(&api, "Sam");
    support_team(&api, &[&sam]);
    let a = expect(
        api.post("/v1/kb/articles", json!({"title": "Shipping costs", "locale": "en", "publish": true,
            "body": "Shipping is free for orders over 50 dollars. Standard shipping costs 5 dollars and takes three days.\n"})),
        201,
    );
    assert_eq!(a["status"], "published");
    expect(
        api.put(
            "/v1/bot/settings",
            json!({"enabled": true, "order_patterns": [{"name": "order", "regex": "ORD-\\d{5}"}]}),
        ),
        200,
    );
    expect(
        api.post(
            "/v1/bot/intents",
            order_status_intent("https://orders.example/status"),
        ),
        201,
    );
    app.platform
        .respond_with(|_| Ok((200, br#"{"status":"shipped","eta":"Friday"}"#.to_vec())));

    let ada = Visitor::new(&app, &t, json!({"name": "Ada"}));
    let cid = ada.say("How much does shipping cost?");
    assert!(last_bot_reply(&ada).contains(&format!("/help/{t}/en/articles/shipping-costs")));
    assert_eq!(
        expect(api.get(&format!("/v1/conversations/{cid}")), 200)["assignee_id"],
        Value::Null,
        "the bot holds the conversation"
    );
    ada.say("where is my order");
    assert_eq!(last_bot_reply(&ada), "What is your order number?");
    ada.say("It is ORD-12345");
    let calls = app.platform.outbound();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].url, "https://orders.example/status");
    let secret = expect(api.get("/v1/automation/webhook-secret"), 200)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let signature = calls[0]
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-edgedesk-signature"))
        .map(|(_, v)| v.as_str());
    assert_eq!(
        verify_webhook(
            secret.as_bytes(),
            signature,
            &calls[0].body,
            app.platform.now().timestamp()
        ),
        Ok(())
    );
    let sent: Value = serde_json::from_slice(&calls[0].body).unwrap();
    assert_eq!(
        sent,
        json!({"intent": "order_status", "slots": {"order": "ORD-12345"}})
    );
    assert_eq!(
        last_bot_reply(&ada),
        "Order ORD-12345 is shipped and arrives Friday."
    );
    let msgs = agent_messages(&api, &cid);
    let asked = msgs
        .iter()
        .find(|m| m["body"] == "where is my order")
        .unwrap();
    assert_eq!(asked["bot"]["intent"], "order_status", "{asked}");

    ada.say("I want to talk to a human");
    let msgs = agent_messages(&api, &cid);
    let system = msgs.last().unwrap();
    assert_eq!(system["sender"]["kind"], "system", "{msgs:?}");
    assert!(
        system["body"]
            .as_str()
            .unwrap()
            .contains("visitor asked for a person"),
        "{system}"
    );
    assert_eq!(
        expect(api.get(&format!("/v1/conversations/{cid}")), 200)["assignee_id"],
        json!(sam)
    );
    assert_eq!(
        events_of(&conversation_events(&api, &cid), "conversation.bot_handoff").len(),
        1
    );
    let before = agent_messages(&api, &cid).len();
    ada.say("hello?");
    let after = agent_messages(&api, &cid);
    assert_eq!(
        (after.len(), after.last().unwrap()["sender"]["kind"].clone()),
        (before + 1, json!("contact")),
        "the bot stays quiet"
    );

    let bob = Visitor::new(&app, &t, json!({"name": "Bob"}));
    let other = bob.say("How much does shipping cost?");
    assert!(last_bot_reply(&bob).contains("/help/"));
    expect(
        api.patch(
            &format!("/v1/conversations/{other}"),
            json!({"status": "resolved"}),
        ),
        200,
    );
    let report = expect(api.get("/v1/reports/bot"), 200);
    assert_eq!(
        (
            report["conversations"].clone(),
            report["handed_off"].clone(),
            report["contained"].clone(),
            report["containment_rate"].clone()
        ),
        (json!(2), json!(1), json!(1), json!(0.5)),
        "{report}"
    );
    assert_eq!(report["handoff_reasons"]["visitor asked for a person"], 1);
}

#[test]
fn a_failing_order_service_hands_the_visitor_to_a_person() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    expect(
        api.put(
            "/v1/bot/settings",
            json!({"enabled": true, "order_patterns": [{"name": "order", "regex": "ORD-\\d{5}"}]}),
        ),
        200,
    );
    expect(
        api.post(
            "/v1/bot/intents",
            order_status_intent("https://orders.example/status"),
        ),
        201,
    );
    app.platform.respond_with(|_| Ok((500, b"oops".to_vec())));
    let v = Visitor::new(&app, &t, json!({"name": "Ada"}));
    let cid = v.say("where is my order ORD-12345");
    assert_eq!(app.platform.outbound().len(), 1);
    let msgs = agent_messages(&api, &cid);
    assert!(
        msgs.iter()
            .all(|m| !m["body"].as_str().unwrap_or("").contains("shipped")),
        "no made-up answer: {msgs:?}"
    );
    assert_eq!(
        events_of(&conversation_events(&api, &cid), "conversation.bot_handoff").len(),
        1
    );
    let report = expect(api.get("/v1/reports/bot"), 200);
    assert_eq!(
        report["handoff_reasons"]["webhook failed: the webhook answered 500"], 1,
        "{report}"
    );
}

#[test]
fn two_misunderstood_messages_in_a_row_hand_off_to_a_person() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    expect(api.put("/v1/bot/settings", json!({"enabled": true})), 200);
    expect(
        api.post(
            "/v1/bot/intents",
            json!({"id": "opening_hours",
            "examples": ["when are you open", "what are your opening hours", "opening times"],
            "reply": "We are open 9:00 to 17:00."}),
        ),
        201,
    );
    let v = Visitor::new(&app, &t, json!({"name": "Vera"}));
    let cid = v.say("tell me a joke");
    let settings = expect(api.get("/v1/bot/settings"), 200);
    assert_eq!(json!(last_bot_reply(&v)), settings["fallback_message"]);
    v.say("what is the weather like today");
    let msgs = agent_messages(&api, &cid);
    assert!(
        msgs.last().unwrap()["body"]
            .as_str()
            .unwrap()
            .contains("low confidence twice"),
        "{msgs:?}"
    );
    let report = expect(api.get("/v1/reports/bot"), 200);
    assert_eq!(
        report["handoff_reasons"]["low confidence twice"], 1,
        "{report}"
    );
}

#[test]
fn an_angry_message_is_scored_and_a_sentiment_rule_routes_it_to_the_seniors() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let sue = online_agent(&api, "Sue");
    let sam = online_agent(&api, "Sam");
    expect(
        api.post(
            "/v1/teams",
            json!({"id": "seniors", "name": "Seniors", "members": [sue]}),
        ),
        201,
    );
    expect(
        api.post(
            "/v1/routing/rules",
            json!({"id": "angry-customers", "conditions": {"sentiment": {"max": -0.5}},
            "target": {"team": "seniors"}, "priority": "urgent"}),
        ),
        201,
    );
    support_team(&api, &[&sam]);
    let angry = Visitor::new(&app, &t, json!({"name": "Angry Andy"}));
    let cid = angry.say("This is the worst service ever, I am furious, refund me now!");
    let c = expect(api.get(&format!("/v1/conversations/{cid}")), 200);
    assert_eq!(
        (
            c["priority"].clone(),
            c["team"].clone(),
            c["assignee_id"].clone()
        ),
        (json!("urgent"), json!("seniors"), json!(sue)),
        "{c}"
    );
    let score = agent_messages(&api, &cid)[0]["sentiment"]
        .as_f64()
        .expect("a score");
    assert!(score < -0.5, "{score}");
    let visitor_view = expect(angry.call("GET", "/messages", None), 200);
    assert!(
        data(&visitor_view)[0].get("sentiment").is_none(),
        "visitors do not see scores"
    );
    let calm = Visitor::new(&app, &t, json!({"name": "Calm Carla"}));
    let other = calm.say("Thanks, the new app is great and works well");
    let c = expect(api.get(&format!("/v1/conversations/{other}")), 200);
    assert_eq!(
        (c["team"].as_str(), c["priority"].as_str()),
        (Some("support"), Some("normal"))
    );
}

#[test]
fn a_rule_that_assigns_on_a_message_takes_it_from_the_bot_before_the_bot_answers_it() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let sam = online_agent(&api, "Sam");
    expect(
        api.post(
            "/v1/teams",
            json!({"id": "support", "name": "Support", "members": [sam]}),
        ),
        201,
    );
    expect(api.put("/v1/bot/settings", json!({"enabled": true})), 200);
    expect(
        api.post(
            "/v1/bot/intents",
            json!({"id": "opening_hours",
            "examples": ["when are you open", "what are your opening hours", "opening times"],
            "reply": "We are open 9:00 to 17:00."}),
        ),
        201,
    );
    expect(
        api.post(
            "/v1/rules",
            json!({"id": "legal", "on": ["message_received"],
            "conditions": {"text": {"path": "message.body", "contains": ["lawyer"]}},
            "actions": [{"type": "assign", "target": {"team": "support"}}]}),
        ),
        201,
    );
    let v = Visitor::new(&app, &api.tenant_id(), json!({"name": "Lena"}));
    let cid = v.say("what are your opening hours");
    assert_eq!(last_bot_reply(&v), "We are open 9:00 to 17:00.");
    v.say("I will call my lawyer about the last delivery");
    let c = expect(api.get(&format!("/v1/conversations/{cid}")), 200);
    assert_eq!(c["assignee_id"], json!(sam), "{c}");
    let msgs = agent_messages(&api, &cid);
    let kinds: Vec<&str> = msgs
        .iter()
        .map(|m| m["sender"]["kind"].as_str().unwrap_or_default())
        .collect();
    // The bot's answer to the first message, then only the handoff note for the second.
    assert_eq!(kinds, ["contact", "bot", "contact", "system"], "{msgs:?}");
    assert!(
        msgs[3]["body"]
            .as_str()
            .unwrap_or_default()
            .contains("assigned by a rule or an agent"),
        "{msgs:?}"
    );
}
