//! Derived work is durable: a host that dies after storing a message and before its flow ran
//! (the record, SLA clocks, routing, rules) leaves the message marked as not yet flowed, and
//! the client's retry or the conversation's next message completes it. The in-memory platform
//! refuses the tenant's commits as a dead host would.

mod common;
use common::*;
use edgedesk_functions::ports::Clock;
use std::time::Duration;

/// Long enough for a stored message to count as left behind.
const LATER: Duration = Duration::from_secs(6);

fn labelling_tenant(app: &TestApp) -> Client<'_> {
    let api = app.create_tenant("Crashy");
    expect(
        api.post(
            "/v1/rules",
            json!({"id": "refunds", "on": ["message_received"],
            "conditions": {"text": {"path": "message.body", "contains": ["refund"]}},
            "actions": [{"type": "add_labels", "labels": ["refund"]}]}),
        ),
        201,
    );
    api
}

fn record(api: &Client, cid: &str) -> Value {
    expect(api.get(&format!("/v1/conversations/{cid}")), 200)
}

#[test]
fn the_next_message_completes_the_flow_of_one_a_dead_host_left_behind() {
    let app = TestApp::new();
    let api = labelling_tenant(&app);
    let v = Visitor::new(&app, &api.tenant_id(), json!({"name": "Ada"}));
    let cid = v.say("hello");
    app.platform.fail_commits(&api.tenant_actor(), 1);
    let died = v.call(
        "POST",
        "/messages",
        Some(json!({"body": "I want a refund"})),
    );
    assert!(died.status >= 500, "{}", died.text());
    let before = record(&api, &cid);
    assert_eq!(
        before["last_message_seq"], 1,
        "the record missed it: {before}"
    );
    assert_eq!(before["labels"], json!([]), "{before}");

    app.platform.advance(LATER);
    v.say("are you there?");
    let after = record(&api, &cid);
    assert_eq!(after["last_message_seq"], 3, "{after}");
    assert_eq!(
        after["labels"],
        json!(["refund"]),
        "the rule ran for the message left behind: {after}"
    );
}

#[test]
fn a_retry_with_the_same_idempotency_key_completes_the_flow_and_runs_it_once() {
    let app = TestApp::new();
    let api = labelling_tenant(&app);
    let c = contact(&api, "Ada");
    let cid = id(&conversation(&api, &id(&c)));
    let post = |key: &str| {
        api.request("POST", &format!("/v1/conversations/{cid}/messages"))
            .header("idempotency-key", key)
            .json(&json!({"body": "refund issued", "sender": {"kind": "contact", "id": id(&c)}}))
            .send()
    };
    app.platform.fail_commits(&api.tenant_actor(), 1);
    assert!(post("k-1").status >= 500);
    assert_eq!(record(&api, &cid)["labels"], json!([]));

    app.platform.advance(LATER);
    let retried = post("k-1");
    assert_eq!(retried.status, 201, "{}", retried.text());
    let seq = retried.json()["seq"].as_u64().expect("a number");
    let after = record(&api, &cid);
    assert_eq!(after["last_message_seq"], seq, "{after}");
    assert_eq!(after["labels"], json!(["refund"]), "{after}");

    // Once done, a further retry changes nothing and runs no rule again.
    let events_before = conversation_events(&api, &cid).len();
    assert_eq!(post("k-1").status, 201);
    assert_eq!(conversation_events(&api, &cid).len(), events_before);
}

#[test]
fn a_message_still_young_is_left_to_the_request_that_stored_it() {
    let app = TestApp::new();
    let api = labelling_tenant(&app);
    let v = Visitor::new(&app, &api.tenant_id(), json!({"name": "Ada"}));
    let cid = v.say("hello");
    app.platform.fail_commits(&api.tenant_actor(), 1);
    assert!(
        v.call("POST", "/messages", Some(json!({"body": "refund please"})))
            .status
            >= 500
    );
    // At once, the first request may still be running its flow: nobody takes it over.
    v.say("still there?");
    let now = record(&api, &cid);
    assert_eq!(now["last_message_seq"], 3, "{now}");
    assert_eq!(now["labels"], json!([]), "{now}");
    // Later it counts as left behind, and the next message completes it.
    app.platform.advance(LATER);
    v.say("hello?");
    assert_eq!(record(&api, &cid)["labels"], json!(["refund"]));
}

#[test]
fn a_channel_redelivering_a_message_completes_its_flow() {
    let app = TestApp::new();
    let api = labelling_tenant(&app);
    let ch = expect(api.post("/v1/channels/api", json!({"name": "Shop"})), 201);
    let (chid, secret) = (id(&ch), ch["secret"].as_str().unwrap().to_owned());
    let deliver = |message: &str, body: &str| {
        let body = json!({"contact": {"external_id": "u-1", "name": "Ada"},
                          "message": {"id": message, "body": body}});
        let raw = serde_json::to_vec(&body).unwrap();
        let now = app.platform.now().timestamp();
        let sig = edgedesk_shared::signature::sign_webhook(secret.as_bytes(), now, &raw);
        app.request("POST", &format!("/v1/channels/api/{chid}/inbound"))
            .header("content-type", "application/json")
            .header("x-edgedesk-signature", &sig)
            .body(raw)
            .send()
    };
    // The contact and their conversation exist; the host dies after storing the next message.
    assert_eq!(deliver("m-0", "hello").status, 201);
    app.platform.fail_commits(&api.tenant_actor(), 1);
    assert!(deliver("m-1", "refund for order 7").status >= 500);
    app.platform.advance(LATER);
    let again = deliver("m-1", "refund for order 7");
    assert!(again.status < 300, "{}", again.text());
    let list = expect(api.get("/v1/conversations"), 200);
    let c = &data(&list)[0];
    assert_eq!(c["labels"], json!(["refund"]), "{c}");
    assert_eq!(c["last_message_seq"], 2, "{c}");
}
