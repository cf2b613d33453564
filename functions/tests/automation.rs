//! Automation rules, canned responses and CSAT in process: rule CRUD, dry runs, rules firing
//! on messages and status changes, canned replies with rendering, ratings and their report.

mod common;
use common::*;
use edgedesk_shared::signature::verify_webhook;

fn conversation_of(api: &Client, id: &str) -> Value {
    expect(api.get(&format!("/v1/conversations/{id}")), 200)
}

#[test]
fn automation_rules_are_created_listed_replaced_and_deleted() {
    let app = TestApp::new();
    let api = app.create_tenant("Rules");
    let rule = json!({"id": "tag-vip", "name": "Tag VIPs", "on": ["message_received"],
        "actions": [{"type": "add_labels", "labels": ["vip"]}]});
    let created = expect(api.post("/v1/rules", rule.clone()), 201);
    assert_eq!(created["id"], "tag-vip");
    let r = api.post("/v1/rules", rule);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(data(&expect(api.get("/v1/rules"), 200)).len(), 1);
    let put = expect(
        api.put(
            "/v1/rules/tag-vip",
            json!({"id": "tag-vip", "name": "Renamed", "on": ["message_received"],
            "actions": [{"type": "add_labels", "labels": ["gold"]}]}),
        ),
        200,
    );
    assert_eq!(put["name"], "Renamed");
    assert_eq!(
        expect(api.get("/v1/rules/tag-vip"), 200)["actions"][0]["labels"],
        json!(["gold"])
    );
    let r = api.post(
        "/v1/rules",
        json!({"id": "bad", "on": ["message_received"], "actions": [{"type": "explode"}]}),
    );
    assert_eq!(r.status, 400, "an unknown action type: {}", r.text());
    assert_eq!(api.delete("/v1/rules/tag-vip").status, 204);
    assert_eq!(api.get("/v1/rules/tag-vip").status, 404);
}

#[test]
fn a_rule_dry_run_shows_what_it_would_do_and_changes_nothing() {
    let app = TestApp::new();
    let api = app.create_tenant("Dry");
    let rule = json!({"id": "vip", "name": "VIP", "on": ["message_received"],
        "conditions": {"all": [
            {"field": {"path": "contact.attributes.plan", "op": "equals", "value": "pro"}},
            {"text": {"path": "message.body", "contains": ["urgent"]}}]},
        "actions": [{"type": "set_priority", "priority": "urgent"}, {"type": "add_labels", "labels": ["vip"]}]});
    let sample = |plan: &str| {
        json!({"rule": rule, "event": {"kind": "message_received",
            "subject": {"conversation": "cnv_01HZ0000000000000000000000"}, "at": "2026-01-05T10:00:00Z"},
            "facts": {"contact": {"attributes": {"plan": plan}}, "message": {"body": "This is URGENT"},
                      "conversation": {"priority": "normal", "labels": []}}})
    };
    let mark = app.platform.commit_mark();
    let out = expect(api.post("/v1/rules/test", sample("pro")), 200);
    assert_eq!(out["result"]["outcome"], "fired", "{out}");
    let actions = out["result"]["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0]["effect"]["type"], "set_priority");
    let out = expect(api.post("/v1/rules/test", sample("free")), 200);
    assert_eq!(out["result"]["outcome"], "conditions_failed", "{out}");
    let out = expect(
        api.post(
            "/v1/rules/test",
            json!({"routing_rule": {"id": "refunds", "conditions": {"keywords": ["refund"]},
            "target": {"team": "finance"}, "priority": "high"},
            "facts": {"channel": "web", "text": "refund please", "within_business_hours": true}}),
        ),
        200,
    );
    assert_eq!(
        (out["matched"].clone(), out["would_route_to"].clone()),
        (json!(true), json!({"team": "finance"}))
    );
    let mut bad = sample("pro");
    bad["rule"]["actions"] = json!([]);
    let r = api.post("/v1/rules/test", bad);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    assert!(
        app.platform.commits_since(mark).is_empty(),
        "a dry run stores nothing"
    );
}

#[test]
fn a_rule_fires_on_a_matching_message() {
    let app = TestApp::new();
    let api = app.create_tenant("Fire");
    expect(
        api.post("/v1/rules", json!({"id": "urgent", "name": "Urgent", "on": ["message_received"],
            "conditions": {"text": {"path": "message.body", "contains": ["urgent"]}},
            "actions": [{"type": "set_priority", "priority": "urgent"}, {"type": "add_labels", "labels": ["hot"]}]})),
        201,
    );
    let t = api.tenant_id();
    let calm = Visitor::new(&app, &t, json!({"name": "Calm"}));
    let calm_conv = calm.say("just a question");
    let ada = Visitor::new(&app, &t, json!({"name": "Ada"}));
    let cid = ada.say("this is URGENT please");
    let c = conversation_of(&api, &cid);
    assert_eq!(
        (c["priority"].clone(), c["labels"].clone()),
        (json!("urgent"), json!(["hot"])),
        "{c}"
    );
    let fired = events_of(&conversation_events(&api, &cid), "automation.fired").len();
    assert_eq!(fired, 1);
    let other = conversation_of(&api, &calm_conv);
    assert_ne!(other["priority"], "urgent");
    assert!(events_of(&conversation_events(&api, &calm_conv), "automation.fired").is_empty());
}

#[test]
fn rules_that_undo_each_other_fire_once_each_thanks_to_the_loop_guard() {
    let app = TestApp::new();
    let api = app.create_tenant("Loops");
    for (id, status) in [("reopen", "open"), ("park", "pending")] {
        expect(api.post("/v1/rules", json!({"id": id, "on": ["status_changed"], "actions": [{"type": "set_status", "status": status}]})), 201);
    }
    let c = contact(&api, "Ada");
    let conv = expect(
        api.post(
            "/v1/conversations",
            json!({"contact_id": id(&c), "subject": "loop"}),
        ),
        201,
    );
    let cid = id(&conv);
    expect(
        api.patch(
            &format!("/v1/conversations/{cid}"),
            json!({"status": "pending"}),
        ),
        200,
    );
    let all = conversation_events(&api, &cid);
    let fired = events_of(&all, "automation.fired");
    let count = |rule: &str| {
        fired
            .iter()
            .filter(|e| e["data"]["rule"]["id"] == rule)
            .count()
    };
    assert_eq!((count("reopen"), count("park")), (1, 1), "{fired:?}");
    assert_eq!(conversation_of(&api, &cid)["status"], "pending");
}

#[test]
fn a_webhook_action_is_sent_signed_through_the_outbox_and_retried_until_it_lands() {
    let app = TestApp::new();
    let api = app.create_tenant("Hooks");
    expect(
        api.post(
            "/v1/rules",
            json!({"id": "notify", "on": ["message_received"],
            "actions": [{"type": "send_webhook", "url": "https://crm.example/hook"}]}),
        ),
        201,
    );
    let secret = expect(api.get("/v1/automation/webhook-secret"), 200)["secret"]
        .as_str()
        .expect("a secret")
        .to_owned();
    // The receiver is down for the first attempt.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    app.platform.respond_with(move |_| {
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok((if n == 0 { 503 } else { 200 }, Vec::new()))
    });
    let t = api.tenant_id();
    let cid = Visitor::new(&app, &t, json!({"name": "Ada"})).say("hello");
    assert_eq!(app.sweep(), 1, "the delivery job runs");
    let first = app.platform.take_outbound();
    assert_eq!(first.len(), 1, "one attempt so far");
    let page = expect(api.get("/v1/automation/webhooks"), 200);
    let entries = data(&page);
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["status"], "pending", "{page}");
    assert_eq!(entries[0]["attempts"][0]["status"], 503, "{page}");
    // The retry comes after the back-off, and lands.
    app.platform.advance(std::time::Duration::from_secs(6));
    assert_eq!(app.sweep(), 1);
    let sent = app.platform.take_outbound();
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.url, "https://crm.example/hook");
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} header"))
    };
    assert_eq!(header("x-edgedesk-event"), "automation.message_received");
    let now = app.platform.now().timestamp();
    assert_eq!(
        verify_webhook(
            secret.as_bytes(),
            Some(&header("x-edgedesk-signature")),
            &request.body,
            now
        ),
        Ok(()),
        "signed with the automation secret at sending time"
    );
    let body: Value = serde_json::from_slice(&request.body).expect("json body");
    assert_eq!(body["data"]["rule"]["id"], "notify", "{body}");
    assert_eq!(
        body["data"]["event"]["subject"]["conversation"], cid,
        "{body}"
    );
    let log = expect(api.get("/v1/webhook-deliveries?status=delivered"), 200);
    let delivered = data(&log);
    assert_eq!(delivered.len(), 1, "{log}");
    assert_eq!(delivered[0]["attempts"].as_array().map(Vec::len), Some(2));
}

#[test]
fn canned_responses_are_found_by_shortcode_rendered_for_a_conversation_and_protected_while_in_use()
{
    let app = TestApp::new();
    let api = app.create_tenant("Greeter");
    let canned = expect(
        api.post(
            "/v1/canned-responses",
            json!({"shortcode": "welcome", "title": "Welcome",
            "body": "Hi {{contact.first_name}}, thanks for writing to {{tenant.name}}!"}),
        ),
        201,
    );
    let cr = id(&canned);
    let found = expect(api.get("/v1/canned-responses?q=/wel"), 200);
    assert_eq!(found["data"][0]["shortcode"], "welcome");
    assert!(data(&expect(api.get("/v1/canned-responses?q=/zzz"), 200)).is_empty());
    let c = contact(&api, "Ada");
    let conv = conversation(&api, &id(&c));
    let rendered = expect(
        api.post(
            &format!("/v1/canned-responses/{cr}/render"),
            json!({"conversation_id": id(&conv)}),
        ),
        200,
    );
    assert_eq!(rendered["text"], "Hi Ada, thanks for writing to Greeter!");
    let put = expect(
        api.put(&format!("/v1/canned-responses/{cr}"), json!({"shortcode": "welcome", "title": "Welcome", "body": "Hello {{contact.first_name}}"})),
        200,
    );
    assert_eq!(put["body"], "Hello {{contact.first_name}}");
    expect(
        api.post(
            "/v1/rules",
            json!({"id": "greet", "on": ["conversation_created"],
            "actions": [{"type": "send_canned_reply", "canned_response_id": cr},
                        {"type": "add_private_note", "body": "New chat from {{contact.name}}"}]}),
        ),
        201,
    );
    let r = api.delete(&format!("/v1/canned-responses/{cr}"));
    assert_eq!((r.status, r.error_code().as_str()), (409, "in_use"));

    let t = api.tenant_id();
    let ada = Visitor::new(&app, &t, json!({"name": "Ada Lovelace"}));
    let cid = ada.say("hello");
    let msgs = expect(api.get(&format!("/v1/conversations/{cid}/messages")), 200);
    let bodies: Vec<(String, bool)> = data(&msgs)
        .iter()
        .map(|m| {
            (
                m["body"].as_str().unwrap_or("").to_owned(),
                m["private"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        bodies,
        [
            ("hello".to_owned(), false),
            ("Hello Ada".to_owned(), false),
            ("New chat from Ada Lovelace".to_owned(), true)
        ]
    );
    assert_eq!(
        ada.bodies(),
        ["hello", "Hello Ada"],
        "the visitor does not see the note"
    );
    expect(api.delete("/v1/rules/greet"), 204);
    assert_eq!(
        api.delete(&format!("/v1/canned-responses/{cr}")).status,
        204
    );
    assert_eq!(api.get(&format!("/v1/canned-responses/{cr}")).status, 404);
}

#[test]
fn after_resolve_the_visitor_rates_once_and_the_rating_is_reported() {
    let app = TestApp::new();
    let api = app.create_tenant("Rated");
    let t = api.tenant_id();
    let ada = Visitor::new(&app, &t, json!({"name": "Ada"}));
    let cid = ada.say("my order is late");
    let rate = |body: Value| ada.call("POST", "/csat", Some(body));
    let r = rate(json!({"rating": 5}));
    assert_eq!((r.status, r.error_code().as_str()), (403, "csat_disabled"));
    expect(
        api.put(
            "/v1/routing/settings",
            json!({"csat": {"enabled": true, "allow_comment": true, "window_hours": 24}}),
        ),
        200,
    );
    let r = rate(json!({"rating": 5}));
    assert_eq!((r.status, r.error_code().as_str()), (409, "not_resolved"));
    expect(
        api.patch(
            &format!("/v1/conversations/{cid}"),
            json!({"status": "resolved"}),
        ),
        200,
    );
    let state = expect(ada.call("GET", "/csat", None), 200);
    assert_eq!(
        (
            state["can_rate"].as_bool(),
            state["conversation_id"].as_str()
        ),
        (Some(true), Some(cid.as_str()))
    );
    let r = rate(json!({"rating": 6}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    expect(
        rate(json!({"rating": 4, "comment": "  quick and kind  "})),
        201,
    );
    let r = rate(json!({"rating": 1}));
    assert_eq!((r.status, r.error_code().as_str()), (409, "already_rated"));
    let stored = expect(api.get(&format!("/v1/conversations/{cid}/csat")), 200);
    assert_eq!(
        (stored["rating"].as_u64(), stored["comment"].as_str()),
        (Some(4), Some("quick and kind"))
    );
    assert_eq!(
        events_of(
            &conversation_events(&api, &cid),
            "conversation.csat_received"
        )
        .len(),
        1
    );
    let report = expect(api.get("/v1/reports/csat"), 200);
    assert_eq!(report["csat"]["count"], 1);
    assert_eq!(report["csat"]["distribution"], json!([0, 0, 0, 1, 0]));
    assert_eq!(report["csat"]["average"], 4.0);
}

#[test]
fn the_rating_window_closes() {
    let app = TestApp::new();
    let api = app.create_tenant("Late");
    let t = api.tenant_id();
    expect(
        api.put(
            "/v1/routing/settings",
            json!({"csat": {"enabled": true, "allow_comment": true, "window_hours": 1}}),
        ),
        200,
    );
    let ada = Visitor::new(&app, &t, json!({"name": "Ada"}));
    let cid = ada.say("hello");
    expect(
        api.patch(
            &format!("/v1/conversations/{cid}"),
            json!({"status": "resolved"}),
        ),
        200,
    );
    app.platform
        .advance(std::time::Duration::from_secs(2 * 3600));
    let state = expect(ada.call("GET", "/csat", None), 200);
    assert_eq!(state["can_rate"], false, "{state}");
    let r = ada.call("POST", "/csat", Some(json!({"rating": 5})));
    assert!(r.status >= 400, "{}", r.text());
}
