//! The bot and sentiment end to end, through the real host: sentiment on every contact message
//! feeding routing and automation rules; intents defined through the API and trained inside
//! the functions; a widget visitor answered from the knowledge base, walked through an order
//! dialogue that calls the tenant's signed webhook, and handed to a person on request; and the
//! containment report.

use std::time::Duration;

use edgedesk_e2e::{error_code, signed_by, unix_now, Api, Host, Visitor, WebhookReceiver};
use serde_json::{json, Value};

fn online_agent(api: &Api, name: &str) -> String {
    let (s, a) = api.post(
        "/v1/agents",
        &json!({"email": format!("{}@shop.test", name.to_lowercase()), "name": name, "role": "agent"}),
    );
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().expect("agent id").to_owned();
    let (s, body) = api.put(
        &format!("/v1/agents/{id}/presence"),
        &json!({"status": "online"}),
    );
    assert_eq!(s, 200, "{body}");
    id
}

fn team(api: &Api, id: &str, members: &[&String]) {
    let (s, body) = api.post(
        "/v1/teams",
        &json!({"id": id, "name": id.to_uppercase(), "members": members}),
    );
    assert_eq!(s, 201, "{body}");
}

/// The text of the visitor's last message, which must be the bot's.
fn last_bot_reply(v: &Visitor) -> String {
    let all = v.messages();
    let last = all.last().expect("a message");
    assert_eq!(last["sender"]["kind"], "bot", "{all:?}");
    last["body"].as_str().expect("body").to_owned()
}

fn conversation(api: &Api, id: &str) -> Value {
    let (s, c) = api.get(&format!("/v1/conversations/{id}"));
    assert_eq!(s, 200, "{c}");
    c
}

/// Messages as agents read them, with sentiment and bot metadata.
fn agent_messages(api: &Api, id: &str) -> Vec<Value> {
    let (s, page) = api.get(&format!("/v1/conversations/{id}/messages?limit=100"));
    assert_eq!(s, 200, "{page}");
    page["data"].as_array().expect("messages").clone()
}

fn events_of(api: &Api, conversation: &str, kind: &str) -> Vec<Value> {
    let (s, page) = api.get(&format!(
        "/v1/conversations/{conversation}/events?limit=100"
    ));
    assert_eq!(s, 200, "{page}");
    page["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

#[test]
fn an_angry_message_is_scored_and_a_sentiment_rule_makes_it_urgent_for_the_seniors_team() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let sue = online_agent(&api, "Sue");
    let sam = online_agent(&api, "Sam");
    team(&api, "seniors", &[&sue]);
    team(&api, "support", &[&sam]);
    let (s, body) = api.post(
        "/v1/routing/rules",
        &json!({"id": "angry-customers", "name": "Angry customers to seniors",
                "conditions": {"sentiment": {"max": -0.5}},
                "target": {"team": "seniors"}, "priority": "urgent"}),
    );
    assert_eq!(s, 201, "{body}");
    let (s, body) = api.post(
        "/v1/routing/rules",
        &json!({"id": "everyone", "name": "Everyone else", "target": {"team": "support"}}),
    );
    assert_eq!(s, 201, "{body}");
    let (s, body) = api.post(
        "/v1/rules",
        &json!({"id": "label-angry", "on": ["message_received"],
                "conditions": {"field": {"path": "message.sentiment", "op": "less_than", "value": -0.5}},
                "actions": [{"type": "add_labels", "labels": ["angry"]}]}),
    );
    assert_eq!(s, 201, "{body}");

    let angry = Visitor::new(&host, &t, "Angry Andy");
    let cid = angry.say("This is the worst service ever, I am furious, refund me now!");
    let c = conversation(&api, &cid);
    assert_eq!(c["priority"], "urgent", "{c}");
    assert_eq!(c["team"], "seniors", "{c}");
    assert_eq!(c["assignee_id"], json!(sue), "{c}");
    assert!(
        c["labels"]
            .as_array()
            .is_some_and(|l| l.contains(&json!("angry"))),
        "{c}"
    );
    let assigned = events_of(&api, &cid, "conversation.assigned");
    assert_eq!(assigned.len(), 1, "{assigned:?}");
    assert_eq!(assigned[0]["data"]["rule"]["id"], "angry-customers");
    // Agents see the score with the message; the visitor's own view does not carry it.
    let msgs = agent_messages(&api, &cid);
    let score = msgs[0]["sentiment"].as_f64().expect("a sentiment score");
    assert!(score < -0.5, "{score}");
    assert!(angry.messages()[0].get("sentiment").is_none());

    // A calm visitor is scored too, and goes the ordinary way.
    let calm = Visitor::new(&host, &t, "Calm Carla");
    let other = calm.say("Thanks, the new app is great and works well");
    let c = conversation(&api, &other);
    assert_eq!(
        (c["team"].as_str(), c["priority"].as_str()),
        (Some("support"), Some("normal")),
        "{c}"
    );
    assert!(
        agent_messages(&api, &other)[0]["sentiment"]
            .as_f64()
            .expect("score")
            > 0.0
    );
}

#[test]
fn the_bot_answers_from_the_kb_runs_an_order_dialogue_through_a_signed_webhook_and_hands_off_on_request(
) {
    let orders = WebhookReceiver::start(r#"{"status":"shipped","eta":"Friday"}"#);
    let port = orders.port;
    let host = orders.host();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let sam = online_agent(&api, "Sam");
    team(&api, "support", &[&sam]);
    let (s, body) = api.post(
        "/v1/routing/rules",
        &json!({"id": "everyone", "name": "Everyone", "target": {"team": "support"}}),
    );
    assert_eq!(s, 201, "{body}");

    // A published article the bot can answer with.
    let (s, a) = api.post(
        "/v1/kb/articles",
        &json!({"title": "Shipping costs", "locale": "en",
                "body": "Shipping is free for orders over 50 dollars. Standard shipping costs 5 dollars and takes three days.\n"}),
    );
    assert_eq!(s, 201, "{a}");
    let (s, p) = api.post(
        &format!("/v1/kb/articles/{}/publish", a["id"].as_str().expect("id")),
        &json!({}),
    );
    assert_eq!(s, 200, "{p}");

    // Settings and intents through the API; agents may try the bot but not change it.
    let (s, body) = api.put(
        "/v1/bot/settings",
        &json!({"enabled": true, "order_patterns": [{"name": "order", "regex": "ORD-\\d{5}"}]}),
    );
    assert_eq!(s, 200, "{body}");
    let (s, body) = api.put("/v1/bot/settings", &json!({"timezone": "Mars/Olympus"}));
    assert_eq!((s, error_code(&body)), (422, "validation_failed"), "{body}");
    let order_status = json!({
        "id": "order_status",
        "examples": ["where is my order", "where is my package", "track my order",
                     "has my order shipped yet", "I want to know my order status",
                     "when will my order arrive", "my order has not arrived", "order status please"],
        "slots": [{"name": "order", "entity": "order_number", "question": "What is your order number?"}],
        "webhook_url": format!("http://127.0.0.1:{port}/orders"),
        "reply": "Order {order} is {status} and arrives {eta}."
    });
    let (s, body) = api.post("/v1/bot/intents", &order_status);
    assert_eq!(s, 201, "{body}");
    let (s, body) = api.post("/v1/bot/intents", &order_status);
    assert_eq!((s, error_code(&body)), (409, "already_exists"), "{body}");
    let (s, body) = api.post(
        "/v1/bot/intents",
        &json!({"id": "opening_hours",
                "examples": ["when are you open", "what are your opening hours", "are you open on sunday",
                             "what time do you close", "business hours", "opening times"],
                "reply": "We are open 9:00 to 17:00, Monday to Friday."}),
    );
    assert_eq!(s, 201, "{body}");
    let (s, list) = api.get("/v1/bot/intents");
    assert_eq!(
        (s, list["data"].as_array().map(Vec::len)),
        (200, Some(2)),
        "{list}"
    );

    let (s, k) = api.post("/v1/api-keys", &json!({"name": "desk", "scope": "agent"}));
    assert_eq!(s, 201, "{k}");
    let agent = api.with_key(k["key"].as_str().expect("key"));
    let (s, body) = agent.post(
        "/v1/bot/intents",
        &json!({"id": "x", "examples": ["x"], "reply": "x"}),
    );
    assert_eq!((s, error_code(&body)), (403, "forbidden"), "{body}");
    let (s, tested) = agent.post(
        "/v1/bot/test",
        &json!({"text": "Where is my order ORD-12345?"}),
    );
    assert_eq!(s, 200, "{tested}");
    assert_eq!(tested["intent"], "order_status", "{tested}");
    assert!(
        tested["confidence"].as_f64().expect("confidence") > 0.3,
        "{tested}"
    );
    assert_eq!(tested["entities"][0]["kind"], "order_number", "{tested}");
    assert_eq!(
        tested["entities"][0]["value"]["value"], "ORD-12345",
        "{tested}"
    );

    // A knowledge-base question: the bot answers with the article's help-center link.
    let ada = Visitor::new(&host, &t, "Ada");
    let cid = ada.say("How much does shipping cost?");
    let reply = last_bot_reply(&ada);
    assert!(
        reply.contains(&format!("/help/{t}/en/articles/shipping-costs")),
        "{reply}"
    );
    // The bot holds the conversation: routing waits.
    assert_eq!(conversation(&api, &cid)["assignee_id"], Value::Null);

    // An order question: the bot asks for the number, then asks the tenant's service.
    ada.say("where is my order");
    assert_eq!(last_bot_reply(&ada), "What is your order number?");
    ada.say("It is ORD-12345");
    let call = orders
        .got
        .recv_timeout(Duration::from_secs(10))
        .expect("the webhook is called");
    let (s, secret) = api.get("/v1/automation/webhook-secret");
    assert_eq!(s, 200, "{secret}");
    assert!(
        signed_by(
            secret["secret"].as_str().expect("secret"),
            call.header("x-edgedesk-signature"),
            &call.body
        ),
        "the call is signed"
    );
    let sent: Value = serde_json::from_slice(&call.body).expect("JSON");
    assert_eq!(
        sent,
        json!({"intent": "order_status", "slots": {"order": "ORD-12345"}})
    );
    assert_eq!(
        last_bot_reply(&ada),
        "Order ORD-12345 is shipped and arrives Friday."
    );
    assert_eq!(conversation(&api, &cid)["assignee_id"], Value::Null);

    // The agent sees what the bot detected on the visitor's messages.
    let msgs = agent_messages(&api, &cid);
    let asked = msgs
        .iter()
        .find(|m| m["body"] == "where is my order")
        .expect("the question");
    assert_eq!(asked["bot"]["intent"], "order_status", "{asked}");
    let answered = msgs
        .iter()
        .find(|m| m["body"] == "It is ORD-12345")
        .expect("the answer");
    assert_eq!(
        answered["bot"]["entities"][0]["text"], "ORD-12345",
        "{answered}"
    );

    // The agents' live feed carries the same metadata; the visitor's feed does not.
    let (s, feed) = api.get(&format!("/v1/conversations/{cid}/poll"));
    assert_eq!(s, 200, "{feed}");
    let live = feed["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["type"] == "message" && e["message"]["body"] == "where is my order")
        .cloned()
        .expect("the question in the feed");
    assert_eq!(live["message"]["bot"]["intent"], "order_status", "{live}");
    let (s, vfeed) = ada.call("GET", "/poll", None);
    assert_eq!(s, 200, "{vfeed}");
    assert!(vfeed["events"]
        .as_array()
        .expect("events")
        .iter()
        .all(|e| e["message"].get("bot").is_none() && e["message"].get("sentiment").is_none()));

    // Asking for a person hands off: a system message says why and routing assigns Sam.
    ada.say("I want to talk to a human");
    let msgs = agent_messages(&api, &cid);
    let system = msgs.last().expect("a message");
    assert_eq!(system["sender"]["kind"], "system", "{msgs:?}");
    assert!(
        system["body"]
            .as_str()
            .expect("body")
            .contains("visitor asked for a person"),
        "{system}"
    );
    let c = conversation(&api, &cid);
    assert_eq!(c["assignee_id"], json!(sam), "{c}");
    let handoffs = events_of(&api, &cid, "conversation.bot_handoff");
    assert_eq!(handoffs.len(), 1, "{handoffs:?}");
    // Once handed off, the bot stays quiet.
    let before = agent_messages(&api, &cid).len();
    ada.say("hello?");
    let after = agent_messages(&api, &cid);
    assert_eq!(after.len(), before + 1);
    assert_eq!(after.last().expect("message")["sender"]["kind"], "contact");

    // A second visitor gets a KB answer and is resolved: contained.
    let bob = Visitor::new(&host, &t, "Bob");
    let other = bob.say("How much does shipping cost?");
    assert!(last_bot_reply(&bob).contains("/help/"));
    let (s, body) = api.patch(
        &format!("/v1/conversations/{other}"),
        &json!({"status": "resolved"}),
    );
    assert_eq!(s, 200, "{body}");

    let (s, report) = api.get("/v1/reports/bot");
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["conversations"], 2, "{report}");
    assert_eq!(report["handed_off"], 1, "{report}");
    assert_eq!(report["contained"], 1, "{report}");
    assert_eq!(report["resolved_by_bot"], 1, "{report}");
    assert_eq!(report["containment_rate"], 0.5, "{report}");
    assert_eq!(
        report["handoff_reasons"]["visitor asked for a person"], 1,
        "{report}"
    );
}

#[test]
fn two_misunderstood_messages_in_a_row_hand_off_to_a_person() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let (s, body) = api.put("/v1/bot/settings", &json!({"enabled": true}));
    assert_eq!(s, 200, "{body}");
    let (s, body) = api.post(
        "/v1/bot/intents",
        &json!({"id": "opening_hours",
                "examples": ["when are you open", "what are your opening hours", "opening times"],
                "reply": "We are open 9:00 to 17:00."}),
    );
    assert_eq!(s, 201, "{body}");
    let v = Visitor::new(&host, &t, "Vera");
    let cid = v.say("tell me a joke");
    let (_, settings) = api.get("/v1/bot/settings");
    assert_eq!(last_bot_reply(&v), settings["fallback_message"]);
    v.say("what is the weather like today");
    let msgs = agent_messages(&api, &cid);
    assert!(
        msgs.last().expect("message")["body"]
            .as_str()
            .expect("body")
            .contains("low confidence twice"),
        "{msgs:?}"
    );
    let (_, doc) = host.anon().get("/v1/openapi.json");
    for path in [
        "/v1/bot/intents",
        "/v1/bot/intents/{id}",
        "/v1/bot/settings",
        "/v1/bot/test",
        "/v1/reports/bot",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let (_, report) = api.get("/v1/reports/bot");
    assert_eq!(
        report["handoff_reasons"]["low confidence twice"], 1,
        "{report}"
    );
}

/// The date a relative day names in Shanghai, now and a moment later (the test may straddle
/// midnight there).
fn shanghai_day(days: i64) -> [String; 2] {
    let shanghai = edgedesk_tz::Zone::from_name("Asia/Shanghai").expect("known zone");
    let day = || {
        (chrono::Utc::now().with_timezone(&shanghai).date_naive() + chrono::Duration::days(days))
            .to_string()
    };
    [day(), day()]
}

/// `reply` is `expected` for one of `days`.
fn assert_names_day(reply: &str, days: &[String; 2], expected: impl Fn(&str) -> String) {
    assert!(
        days.iter().any(|d| reply == expected(d)),
        "{reply:?} is not {:?}",
        expected(&days[0])
    );
}

#[test]
fn a_chinese_pickup_dialogue_resolves_dates_in_the_tenant_timezone_starts_over_on_no_and_answers_on_yes(
) {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let (s, body) = api.put(
        "/v1/bot/settings",
        &json!({"enabled": true, "timezone": "Asia/Shanghai",
                "order_patterns": [{"name": "order", "regex": "ORD-\\d{5}"}]}),
    );
    assert_eq!(s, 200, "{body}");
    let (s, body) = api.post(
        "/v1/bot/intents",
        &json!({"id": "return_pickup",
                "examples": ["我要退货", "预约退货取件", "怎么退货", "我想把商品退回去", "安排快递上门取件",
                             "退货取件", "帮我预约取件", "我要申请退货"],
                "slots": [
                    {"name": "order", "entity": "order_number", "question": "请告诉我订单号。"},
                    {"name": "day", "entity": "date_time", "question": "哪天上门取件？"}
                ],
                "confirm": "确认为订单 {order} 在 {day} 上门取件吗？",
                "reply": "好的，已为订单 {order} 预约 {day} 上门取件。"}),
    );
    assert_eq!(s, 201, "{body}");
    let (s, body) = api.post(
        "/v1/bot/intents",
        &json!({"id": "opening_hours",
                "examples": ["你们几点开门", "营业时间是什么", "周末营业吗", "几点下班", "客服工作时间"],
                "reply": "我们周一至周五 9:00–17:00 营业。"}),
    );
    assert_eq!(s, 201, "{body}");

    let v = Visitor::new(&host, &t, "李雷");
    let cid = v.say("我要退货，帮我预约取件");
    assert_eq!(last_bot_reply(&v), "请告诉我订单号。");
    v.say("订单号是 ORD-24680");
    assert_eq!(last_bot_reply(&v), "哪天上门取件？");
    v.say("明天");
    assert_names_day(&last_bot_reply(&v), &shanghai_day(1), |d| {
        format!("确认为订单 ORD-24680 在 {d} 上门取件吗？")
    });

    // "No" starts over, keeping what the correction itself says.
    v.say("不对");
    assert_eq!(last_bot_reply(&v), "请告诉我订单号。");
    v.say("ORD-13579，后天");
    assert_names_day(&last_bot_reply(&v), &shanghai_day(2), |d| {
        format!("确认为订单 ORD-13579 在 {d} 上门取件吗？")
    });
    v.say("是的");
    assert_names_day(&last_bot_reply(&v), &shanghai_day(2), |d| {
        format!("好的，已为订单 ORD-13579 预约 {d} 上门取件。")
    });
    // Answered without a person: the bot still holds the conversation.
    assert_eq!(conversation(&api, &cid)["assignee_id"], Value::Null);
    let msgs = agent_messages(&api, &cid);
    let confirmed = msgs
        .iter()
        .filter(|m| m["sender"]["kind"] == "bot")
        .filter(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.starts_with("确认为订单"))
        })
        .count();
    assert_eq!(confirmed, 2, "{msgs:?}");
}

#[test]
fn an_automation_rule_that_assigns_the_conversation_takes_it_from_the_bot() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let sam = online_agent(&api, "Sam");
    team(&api, "support", &[&sam]);
    let (s, body) = api.put("/v1/bot/settings", &json!({"enabled": true}));
    assert_eq!(s, 200, "{body}");
    let (s, body) = api.post(
        "/v1/bot/intents",
        &json!({"id": "opening_hours",
                "examples": ["when are you open", "what are your opening hours", "opening times"],
                "reply": "We are open 9:00 to 17:00."}),
    );
    assert_eq!(s, 201, "{body}");
    let (s, body) = api.post(
        "/v1/rules",
        &json!({"id": "legal", "on": ["message_received"],
                "conditions": {"text": {"path": "message.body", "contains": ["lawyer"]}},
                "actions": [{"type": "assign", "target": {"team": "support"}}]}),
    );
    assert_eq!(s, 201, "{body}");
    let v = Visitor::new(&host, &t, "Lena");
    let cid = v.say("what are your opening hours");
    assert_eq!(last_bot_reply(&v), "We are open 9:00 to 17:00.");
    assert_eq!(conversation(&api, &cid)["assignee_id"], Value::Null);
    v.say("I will call my lawyer about the last delivery");
    assert_eq!(conversation(&api, &cid)["assignee_id"], json!(sam));
    let msgs = agent_messages(&api, &cid);
    let last = msgs.last().expect("message");
    assert_eq!(last["sender"]["kind"], "system", "{msgs:?}");
    assert!(
        last["body"]
            .as_str()
            .expect("body")
            .contains("assigned by a rule or an agent"),
        "{last}"
    );
    let (_, report) = api.get("/v1/reports/bot");
    assert_eq!(
        report["handoff_reasons"]["assigned by a rule or an agent"], 1,
        "{report}"
    );
}

#[test]
fn a_routing_rule_on_an_intent_sends_order_questions_to_the_orders_team() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let olga = online_agent(&api, "Olga");
    let sam = online_agent(&api, "Sam");
    team(&api, "orders", &[&olga]);
    team(&api, "support", &[&sam]);
    // The bot stays off: its model still tells routing what a message is about.
    let (s, body) = api.post(
        "/v1/bot/intents",
        &json!({"id": "order_status",
                "examples": ["where is my order", "track my order", "has my order shipped yet",
                             "when will my order arrive", "my order has not arrived"],
                "reply": "Let me check."}),
    );
    assert_eq!(s, 201, "{body}");
    for rule in [
        json!({"id": "orders-intent", "name": "Order questions",
               "conditions": {"intents": ["order_status"]}, "target": {"team": "orders"}}),
        json!({"id": "everyone", "name": "Everyone else", "target": {"team": "support"}}),
    ] {
        let (s, body) = api.post("/v1/routing/rules", &rule);
        assert_eq!(s, 201, "{body}");
    }
    let v = Visitor::new(&host, &t, "Otto");
    let cid = v.say("Hi, where is my order? It has not arrived");
    assert_eq!(conversation(&api, &cid)["assignee_id"], json!(olga));
    let assigned = events_of(&api, &cid, "conversation.assigned");
    assert_eq!(assigned[0]["data"]["rule"]["id"], "orders-intent");
    let w = Visitor::new(&host, &t, "Wanda");
    let other = w.say("Do you sell gift cards?");
    assert_eq!(conversation(&api, &other)["assignee_id"], json!(sam));
}

#[test]
fn on_the_api_channel_the_bot_answers_once_per_message_and_an_angry_customer_goes_to_the_seniors() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let sue = online_agent(&api, "Sue");
    team(&api, "seniors", &[&sue]);
    let (s, body) = api.post(
        "/v1/routing/rules",
        &json!({"id": "angry-customers", "name": "Angry customers to seniors",
                "conditions": {"sentiment": {"max": -0.5}},
                "target": {"team": "seniors"}, "priority": "urgent"}),
    );
    assert_eq!(s, 201, "{body}");
    let (s, body) = api.put("/v1/bot/settings", &json!({"enabled": true}));
    assert_eq!(s, 200, "{body}");
    let (s, body) = api.post(
        "/v1/bot/intents",
        &json!({"id": "opening_hours",
                "examples": ["when are you open", "what are your opening hours", "opening times"],
                "reply": "We are open 9:00 to 17:00."}),
    );
    assert_eq!(s, 201, "{body}");
    let (s, ch) = api.post("/v1/channels/api", &json!({"name": "CRM"}));
    assert_eq!(s, 201, "{ch}");
    let path = format!(
        "/v1/channels/api/{}/inbound",
        ch["id"].as_str().expect("id")
    );
    let secret = ch["secret"].as_str().expect("secret").to_owned();
    let post = |msg_id: &str, text: &str| {
        let body = serde_json::to_vec(&json!({"contact": {"external_id": "crm-7", "name": "Ada"},
                                               "message": {"id": msg_id, "body": text}}))
        .expect("JSON");
        let r = host.anon().send(
            "POST",
            &path,
            Some(&body),
            &[(
                "x-edgedesk-signature",
                &edgedesk_e2e::sign(&secret, unix_now(), &body),
            )],
        );
        assert!(r.status == 201 || r.status == 200, "{}", r.body);
        r.body["conversation_id"]
            .as_str()
            .expect("conversation")
            .to_owned()
    };
    let cid = post("m1", "what are your opening hours?");
    // A redelivery neither duplicates the message nor the answer.
    post("m1", "what are your opening hours?");
    let bodies: Vec<String> = agent_messages(&api, &cid)
        .iter()
        .map(|m| m["body"].as_str().expect("body").to_owned())
        .collect();
    assert_eq!(
        bodies,
        vec!["what are your opening hours?", "We are open 9:00 to 17:00."]
    );
    post(
        "m2",
        "This is the worst service ever, I am furious, refund me now!",
    );
    let c = conversation(&api, &cid);
    assert_eq!(
        (c["assignee_id"].clone(), c["priority"].as_str()),
        (json!(sue), Some("urgent")),
        "{c}"
    );
    let msgs = agent_messages(&api, &cid);
    assert!(
        msgs.last().expect("message")["body"]
            .as_str()
            .expect("body")
            .contains("negative sentiment"),
        "{msgs:?}"
    );
    let (_, report) = api.get("/v1/reports/bot");
    assert_eq!(
        (
            report["conversations"].as_u64(),
            report["handed_off"].as_u64()
        ),
        (Some(1), Some(1)),
        "{report}"
    );
}
