//! SLA timers, escalation, webhooks and ticket merging end to end, on the real host with its
//! one-second sweep and the real clock. Targets are seconds long (policies may add `seconds`
//! to `minutes`), so a breach happens within the test.

use std::time::{Duration, Instant};

use edgedesk_e2e::{error_code, signed_by, Api, Host, WebhookReceiver};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> Option<Value>) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn contact(api: &Api, name: &str) -> String {
    let (s, c) = api.post(
        "/v1/contacts",
        &json!({"name": name, "email": format!("{}@example.com", name.to_lowercase())}),
    );
    assert_eq!(s, 201, "{c}");
    id(&c)
}

/// A policy for high and urgent tickets: first response within `seconds` of calendar time.
fn fast_policy(api: &Api, seconds: u32, warning_percent: u8) {
    let (s, p) = api.post(
        "/v1/sla/policies",
        &json!({
            "id": "fast", "name": "High answered within seconds", "position": 1,
            "conditions": {"priorities": ["high", "urgent"]},
            "targets": {"first_response": {"minutes": 0, "seconds": seconds, "basis": "calendar", "warning_percent": warning_percent}}
        }),
    );
    assert_eq!(s, 201, "{p}");
}

fn events(api: &Api, ticket: &str) -> Vec<Value> {
    let (s, e) = api.get(&format!("/v1/tickets/{ticket}/events?limit=100"));
    assert_eq!(s, 200, "{e}");
    e["data"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_ticket_breaches_a_short_target_and_the_sweep_escalates_and_signs_one_webhook() {
    let hook = WebhookReceiver::start("{}");
    let host = hook.host();
    let api = host.tenant("Acme SLA");

    // A business-hours calendar, and a policy on it for normal tickets: they get due times too.
    let (s, cal) = api.post(
        "/v1/sla/calendars",
        &json!({"id": "office", "name": "Berlin office", "timezone": "Europe/Berlin",
            "hours": {"monday": [{"start": "09:00", "end": "17:00"}], "tuesday": [{"start": "09:00", "end": "17:00"}],
                      "wednesday": [{"start": "09:00", "end": "17:00"}], "thursday": [{"start": "09:00", "end": "17:00"}],
                      "friday": [{"start": "09:00", "end": "17:00"}]},
            "holidays": [{"kind": "date", "date": "2026-12-25", "name": "Christmas"}]}),
    );
    assert_eq!(s, 201, "{cal}");
    let (s, normal) = api.post(
        "/v1/sla/policies",
        &json!({"id": "normal", "name": "Normal within a business day", "position": 5, "calendar_id": "office",
            "targets": {"resolution": {"minutes": 480}}}),
    );
    assert_eq!(s, 201, "{normal}");
    fast_policy(&api, 3, 50);
    let (s, rule) = api.post(
        "/v1/sla/escalations",
        &json!({"id": "late", "on": "breach", "targets": ["first_response"],
            "actions": [{"type": "raise_priority"}, {"type": "add_tag", "tag": "sla-breached"},
                        {"type": "notify", "audience": "team", "message": "first response is late"}]}),
    );
    assert_eq!(s, 201, "{rule}");
    let r = api.call(
        "PUT",
        "/v1/sla/webhook",
        Some(&json!({"url": format!("http://127.0.0.1:{}/hooks/sla", hook.port)})),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let secret = r.body["secret"].as_str().expect("a secret").to_owned();

    // A policy that refers to a missing calendar is refused and changes nothing.
    let (s, bad) = api.post(
        "/v1/sla/policies",
        &json!({"id": "bad", "calendar_id": "nowhere", "targets": {"resolution": {"minutes": 5}}}),
    );
    assert_eq!((s, error_code(&bad)), (422, "validation_failed"), "{bad}");
    let (_, policies) = api.get("/v1/sla/policies");
    assert_eq!(policies["data"].as_array().map(Vec::len), Some(2));

    let requester = contact(&api, "Dana");
    let (s, calm) = api.post(
        "/v1/tickets",
        &json!({"subject": "Invoice copy", "requester_id": requester}),
    );
    assert_eq!(s, 201, "{calm}");
    let (_, calm_sla) = api.get(&format!("/v1/tickets/{}/sla", id(&calm)));
    assert_eq!(calm_sla["policy_id"], "normal", "{calm_sla}");
    assert!(
        calm_sla["targets"][0]["due_at"].is_string() || calm_sla["targets"][0]["state"] == "paused"
    );

    let (s, t) = api.post(
        "/v1/tickets",
        &json!({"subject": "Checkout is down", "priority": "high", "requester_id": requester}),
    );
    assert_eq!(s, 201, "{t}");
    let ticket = id(&t);
    let (s, sla) = api.get(&format!("/v1/tickets/{ticket}/sla"));
    assert_eq!(s, 200, "{sla}");
    assert_eq!(sla["policy_id"], "fast", "{sla}");
    let fr = sla["targets"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["target"] == "first_response"))
        .cloned()
        .expect("a first response target");
    assert!(
        matches!(fr["state"].as_str(), Some("running" | "warning")),
        "{fr}"
    );
    assert!(fr["due_at"].is_string(), "{fr}");

    // The deadline passes; the host's sweep fires the escalation.
    let escalated = wait_for("the escalation", Duration::from_secs(20), || {
        let (_, t) = api.get(&format!("/v1/tickets/{ticket}"));
        (t["priority"] == "urgent").then_some(t)
    });
    assert!(
        escalated["tags"]
            .as_array()
            .expect("tags")
            .contains(&json!("sla-breached")),
        "{escalated}"
    );
    let (_, sla) = api.get(&format!("/v1/tickets/{ticket}/sla"));
    assert_eq!(sla["state"], "breached", "{sla}");
    let fr = sla["targets"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["target"] == "first_response"))
        .cloned()
        .expect("a first response target");
    assert!(fr["breached_at"].is_string(), "{fr}");
    assert_eq!(fr["policy_id"], "fast");

    // Every firing is in the ticket's history with the policy and target behind it.
    let history = events(&api, &ticket);
    let breaches: Vec<&Value> = history
        .iter()
        .filter(|e| e["kind"] == "sla.breached")
        .collect();
    assert_eq!(breaches.len(), 1, "{history:?}");
    assert_eq!(breaches[0]["data"]["policy_id"], "fast");
    assert_eq!(breaches[0]["data"]["target"], "first_response");
    assert_eq!(
        history
            .iter()
            .filter(|e| e["kind"] == "sla.warning")
            .count(),
        1,
        "the 50% warning is on record too"
    );
    assert!(history.iter().any(|e| e["kind"] == "ticket.updated"
        && e["actor"]["kind"] == "system"
        && e["data"]["reason"] == "sla escalation"));

    // Exactly one signed webhook arrives.
    let delivery = hook
        .got
        .recv_timeout(Duration::from_secs(20))
        .expect("the breach webhook arrives");
    assert!(
        signed_by(
            &secret,
            delivery.header("x-edgedesk-signature"),
            &delivery.body
        ),
        "signature verifies"
    );
    assert_eq!(delivery.header("x-edgedesk-event"), "sla.breached");
    let payload: Value = serde_json::from_slice(&delivery.body).expect("JSON payload");
    assert_eq!(payload["data"]["subject_id"], ticket.as_str());
    assert_eq!(payload["data"]["firing"]["policy_id"], "fast");
    std::thread::sleep(Duration::from_secs(3));
    assert!(hook.got.try_recv().is_err(), "the webhook is sent once");
    let (s, outbox) = api.get(&format!("/v1/webhook-deliveries?subject_id={ticket}"));
    assert_eq!(s, 200, "{outbox}");
    let deliveries = outbox["data"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 1, "{outbox}");
    assert_eq!(deliveries[0]["status"], "delivered");
    assert_eq!(deliveries[0]["attempts"][0]["status"], 200);
    assert_eq!(
        deliveries[0]["id"].as_str(),
        Some(delivery.header("x-edgedesk-delivery"))
    );

    // Lists filter by SLA state.
    let (_, breached) = api.get("/v1/tickets?sla_state=breached");
    let ids: Vec<&str> = breached["data"]
        .as_array()
        .expect("page")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, vec![ticket.as_str()], "{breached}");
    let (s, bad) = api.get("/v1/tickets?sla_state=sideways");
    assert_eq!((s, error_code(&bad)), (400, "invalid_query"));

    // A reply after the deadline completes the target, late: it stays breached.
    let (s, reply) = api.post(
        &format!("/v1/tickets/{ticket}/messages"),
        &json!({"body": "We are on it."}),
    );
    assert_eq!(s, 201, "{reply}");
    let (_, sla) = api.get(&format!("/v1/tickets/{ticket}/sla"));
    let fr = sla["targets"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["target"] == "first_response"))
        .cloned()
        .expect("a first response target");
    assert_eq!(fr["state"], "breached");
    assert!(fr["completed_at"].is_string(), "{fr}");
}

#[test]
fn pending_stops_the_clock_and_reopening_resumes_it() {
    let host = Host::start();
    let api = host.tenant("Paused SLA");
    fast_policy(&api, 6, 90);
    let (s, t) = api.post(
        "/v1/tickets",
        &json!({"subject": "Waiting on the customer", "priority": "high"}),
    );
    assert_eq!(s, 201, "{t}");
    let ticket = id(&t);
    let (s, p) = api.patch(
        &format!("/v1/tickets/{ticket}"),
        &json!({"status": "pending"}),
    );
    assert_eq!(s, 200, "{p}");

    std::thread::sleep(Duration::from_secs(8));
    let (_, sla) = api.get(&format!("/v1/tickets/{ticket}/sla"));
    assert_eq!(sla["state"], "paused", "{sla}");
    let fr = &sla["targets"][0];
    assert!(fr["due_at"].is_null(), "no deadline while paused: {fr}");
    assert!(
        fr["remaining_seconds"].as_i64().is_some_and(|r| r > 3),
        "time in pending does not count: {fr}"
    );
    assert!(events(&api, &ticket)
        .iter()
        .all(|e| e["kind"] != "sla.breached"));
    let (_, list) = api.get("/v1/tickets?status=pending");
    assert_eq!(list["data"][0]["sla"]["state"], "paused", "{list}");
    assert!(list["data"][0]["sla"]["due_at"].is_null(), "{list}");

    let (s, _) = api.patch(&format!("/v1/tickets/{ticket}"), &json!({"status": "open"}));
    assert_eq!(s, 200);
    let (_, sla) = api.get(&format!("/v1/tickets/{ticket}/sla"));
    assert_eq!(sla["state"], "running", "{sla}");
    assert!(sla["targets"][0]["due_at"].is_string(), "{sla}");

    // The clock continues and breaches a few seconds later.
    wait_for(
        "the breach after reopening",
        Duration::from_secs(20),
        || {
            let (_, sla) = api.get(&format!("/v1/tickets/{ticket}/sla"));
            (sla["state"] == "breached").then_some(sla)
        },
    );
    wait_for("the breach event", Duration::from_secs(10), || {
        events(&api, &ticket)
            .into_iter()
            .find(|e| e["kind"] == "sla.breached")
    });

    // The list carries each row's most urgent clock, so no one asks `/sla` once per row; a
    // ticket no policy covers carries `null`.
    let (s, low) = api.post(
        "/v1/tickets",
        &json!({"subject": "A question, no hurry", "priority": "low"}),
    );
    assert_eq!(s, 201, "{low}");
    let (s, list) = api.get("/v1/tickets");
    assert_eq!(s, 200, "{list}");
    let row = |id: &str| {
        list["data"]
            .as_array()
            .and_then(|rows| rows.iter().find(|t| t["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} is listed: {list}"))
    };
    let breached = row(&ticket)["sla"].clone();
    assert_eq!(breached["state"], "breached", "{breached}");
    assert_eq!(breached["target"], "first_response", "{breached}");
    assert_eq!(breached["policy"]["id"], "fast", "{breached}");
    assert_eq!(
        breached["policy"]["name"], "High answered within seconds",
        "{breached}"
    );
    assert!(breached["breached_at"].is_string(), "{breached}");
    assert!(breached["due_at"].is_string(), "{breached}");
    let (_, detail) = api.get(&format!("/v1/tickets/{ticket}/sla"));
    assert_eq!(
        breached["breached_at"], detail["targets"][0]["breached_at"],
        "the list and the detail agree: {detail}"
    );
    let uncovered = row(&id(&low));
    assert!(
        uncovered.get("sla").is_some_and(Value::is_null),
        "{uncovered}"
    );
    let (_, filtered) = api.get("/v1/tickets?sla_state=breached");
    assert_eq!(
        filtered["data"][0]["sla"]["state"], "breached",
        "{filtered}"
    );
}

#[test]
fn a_host_that_was_down_fires_the_missed_breach_once_after_restart() {
    let mut host = Host::start();
    if !host.is_local() {
        return;
    }
    let api = host.tenant("Restart SLA");
    fast_policy(&api, 2, 50);
    let (s, t) = api.post(
        "/v1/tickets",
        &json!({"subject": "Down during the deadline", "priority": "high"}),
    );
    assert_eq!(s, 201, "{t}");
    let ticket = id(&t);
    host.kill();
    std::thread::sleep(Duration::from_secs(4));
    host.kill_and_restart();
    let api = Api {
        base: host.base.clone(),
        key: api.key.clone(),
    };
    wait_for("the missed breach", Duration::from_secs(20), || {
        events(&api, &ticket)
            .into_iter()
            .find(|e| e["kind"] == "sla.breached")
    });
    std::thread::sleep(Duration::from_secs(3));
    let history = events(&api, &ticket);
    assert_eq!(
        history
            .iter()
            .filter(|e| e["kind"] == "sla.breached")
            .count(),
        1
    );
    assert_eq!(
        history
            .iter()
            .filter(|e| e["kind"] == "sla.warning")
            .count(),
        1
    );
}

#[test]
fn merging_moves_messages_tags_watchers_and_events_and_the_merged_ticket_points_to_its_target() {
    let host = Host::start();
    let api = host.tenant("Merge Co");
    let requester = contact(&api, "Lee");
    let (s, agent) = api.post(
        "/v1/agents",
        &json!({"email": "sam@merge.example", "name": "Sam", "role": "agent"}),
    );
    assert_eq!(s, 201, "{agent}");

    let (s, a) = api.post(
        "/v1/tickets",
        &json!({"subject": "Refund for order 1234 not received", "description": "I was charged twice for order 1234 and the refund has not arrived.",
            "requester_id": requester, "tags": ["billing"]}),
    );
    assert_eq!(s, 201, "{a}");
    let b_input = json!({"subject": "Refund not received for order 1234", "description": "Charged twice on order 1234, still waiting for the refund.",
        "requester_id": requester, "tags": ["refund"]});
    let first = api.call(
        "POST",
        "/v1/tickets",
        Some(&b_input),
        &[("idempotency-key", "b-1")],
    );
    assert_eq!(first.status, 201, "{}", first.body);
    let retry = api.call(
        "POST",
        "/v1/tickets",
        Some(&b_input),
        &[("idempotency-key", "b-1")],
    );
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        retry.body, first.body,
        "a retried create answers exactly as the first"
    );
    let b = first.body;
    let (a_id, b_id) = (id(&a), id(&b));
    let suggested: Vec<&str> = b["duplicate_candidates"]
        .as_array()
        .expect("candidates in the create response")
        .iter()
        .filter_map(|c| c["ticket_id"].as_str())
        .collect();
    assert_eq!(suggested, vec![a_id.as_str()], "{b}");
    let (s, dups) = api.get(&format!("/v1/tickets/{a_id}/duplicates"));
    assert_eq!(s, 200);
    assert_eq!(dups["data"][0]["ticket_id"], b_id.as_str(), "{dups}");

    let (s, m) = api.post(
        &format!("/v1/tickets/{b_id}/messages"),
        &json!({"body": "Any news on my refund?", "from": "requester"}),
    );
    assert_eq!(s, 201, "{m}");
    let r = api.call(
        "PUT",
        &format!("/v1/tickets/{b_id}/watchers"),
        Some(&json!({"agent_ids": [id(&agent)]})),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);

    let (s, merged) = api.post(&format!("/v1/tickets/{b_id}/merge"), &json!({"into": a_id}));
    assert_eq!(s, 200, "{merged}");
    assert_eq!(merged["id"], a_id.as_str());
    let tags: Vec<&str> = merged["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(tags, vec!["billing", "refund"]);

    let (_, messages) = api.get(&format!("/v1/tickets/{a_id}/messages"));
    let moved = &messages["data"][0];
    assert_eq!(moved["id"], m["id"], "{messages}");
    assert_eq!(moved["merged_from"], b_id.as_str());
    let (_, watchers) = api.get(&format!("/v1/tickets/{a_id}/watchers"));
    assert_eq!(watchers["agent_ids"], json!([id(&agent)]));
    let a_history = events(&api, &a_id);
    assert!(a_history.iter().any(|e| e["kind"] == "ticket.merged"
        && e["data"]["merged"] == b_id.as_str()
        && e["actor"]["kind"] == "api_key"));
    assert!(
        a_history
            .iter()
            .any(|e| e["kind"] == "ticket.created" && e["data"]["id"] == b_id.as_str()),
        "B's history moved to A"
    );

    // B is closed and points to A; changes to B are refused with the same pointer.
    let (s, b_now) = api.get(&format!("/v1/tickets/{b_id}"));
    assert_eq!(s, 200, "{b_now}");
    assert_eq!(b_now["status"], "closed");
    assert_eq!(b_now["merged_into"], a_id.as_str());
    let (s, refused) = api.patch(&format!("/v1/tickets/{b_id}"), &json!({"status": "open"}));
    assert_eq!((s, error_code(&refused)), (409, "ticket_merged"));
    assert_eq!(refused["merged_into"], a_id.as_str());
    assert!(events(&api, &b_id)
        .iter()
        .any(|e| e["kind"] == "ticket.merged_into" && e["data"]["into"] == a_id.as_str()));

    // No loops, no merging into itself, no second merge of B.
    let (s, e) = api.post(&format!("/v1/tickets/{a_id}/merge"), &json!({"into": b_id}));
    assert_eq!((s, error_code(&e)), (409, "merge_loop"), "{e}");
    let (s, e) = api.post(&format!("/v1/tickets/{a_id}/merge"), &json!({"into": a_id}));
    assert_eq!((s, error_code(&e)), (409, "merge_into_itself"), "{e}");
    let (s, e) = api.post(&format!("/v1/tickets/{b_id}/merge"), &json!({"into": a_id}));
    assert_eq!((s, error_code(&e)), (409, "ticket_merged"), "{e}");
}

#[test]
fn a_merge_across_tenants_is_refused_and_changes_nothing() {
    let host = Host::start();
    let ours = host.tenant("Ours");
    let theirs = host.tenant("Theirs");
    let (_, mine) = ours.post("/v1/tickets", &json!({"subject": "Mine"}));
    let (_, other) = theirs.post(
        "/v1/tickets",
        &json!({"subject": "Theirs", "tags": ["secret"]}),
    );
    let (s, e) = ours.post(
        &format!("/v1/tickets/{}/merge", id(&mine)),
        &json!({"into": id(&other)}),
    );
    assert_eq!((s, error_code(&e)), (404, "not_found"), "{e}");
    let (s, e) = theirs.post(
        &format!("/v1/tickets/{}/merge", id(&other)),
        &json!({"into": id(&mine)}),
    );
    assert_eq!((s, error_code(&e)), (404, "not_found"), "{e}");
    let (_, mine_now) = ours.get(&format!("/v1/tickets/{}", id(&mine)));
    assert_eq!(mine_now["status"], mine["status"]);
    assert!(mine_now.get("merged_into").is_none());
    let (_, other_now) = theirs.get(&format!("/v1/tickets/{}", id(&other)));
    assert_eq!(other_now["version"], other["version"]);
    // A viewer key may read SLA figures but not change policies.
    let (s, key) = ours.post("/v1/api-keys", &json!({"name": "ro", "scope": "read_only"}));
    assert_eq!(s, 201, "{key}");
    let viewer = ours.with_key(key["key"].as_str().expect("key"));
    let (s, _) = viewer.get(&format!("/v1/tickets/{}/sla", id(&mine)));
    assert_eq!(s, 200);
    let (s, e) = viewer.post(
        "/v1/sla/policies",
        &json!({"id": "x", "targets": {"resolution": {"minutes": 5, "basis": "calendar"}}}),
    );
    assert_eq!((s, error_code(&e)), (403, "forbidden"));
    let (s, _) = theirs.get(&format!("/v1/tickets/{}/sla", id(&mine)));
    assert_eq!(s, 404);
}

#[test]
fn editing_policies_recomputes_open_tickets_and_the_history_shows_which_policy_applied_when() {
    let host = Host::start();
    let api = host.tenant("Recompute");
    let (s, base) = api.post(
        "/v1/sla/policies",
        &json!({"id": "base", "position": 10,
            "targets": {"resolution": {"minutes": 600, "basis": "calendar"}}}),
    );
    assert_eq!((s, base["recomputed"].as_u64()), (201, Some(0)), "{base}");
    let (_, t) = api.post("/v1/tickets", &json!({"subject": "Slow printer"}));
    let ticket = id(&t);
    let (_, sla) = api.get(&format!("/v1/tickets/{ticket}/sla"));
    assert_eq!(sla["policy_id"], "base", "{sla}");

    // A new policy that matches takes over the open ticket at once, on record.
    let (s, strict) = api.post(
        "/v1/sla/policies",
        &json!({"id": "strict", "position": 1, "conditions": {"priorities": ["normal"]},
            "targets": {"resolution": {"minutes": 60, "basis": "calendar"}}}),
    );
    assert_eq!(
        (s, strict["recomputed"].as_u64()),
        (201, Some(1)),
        "{strict}"
    );
    let (_, sla) = api.get(&format!("/v1/tickets/{ticket}/sla"));
    assert_eq!(sla["policy_id"], "strict", "{sla}");
    let recomputed = events(&api, &ticket)
        .into_iter()
        .find(|e| e["kind"] == "sla.recomputed")
        .expect("the recomputation is on record");
    assert_eq!(recomputed["data"]["policy_id"]["from"], "base");
    assert_eq!(recomputed["data"]["policy_id"]["to"], "strict");

    // A change of the ticket moves it to another policy; the spans show both periods.
    std::thread::sleep(Duration::from_millis(1100));
    let (s, _) = api.patch(
        &format!("/v1/tickets/{ticket}"),
        &json!({"priority": "low"}),
    );
    assert_eq!(s, 200);
    let (_, sla) = api.get(&format!("/v1/tickets/{ticket}/sla"));
    let spans = sla["policy_spans"].as_array().expect("spans");
    let ids: Vec<&str> = spans
        .iter()
        .filter_map(|s| s["policy_id"].as_str())
        .collect();
    assert_eq!(ids, vec!["strict", "base"], "{sla}");
    assert!(
        spans[0]["until"].is_string() && spans[1]["until"].is_null(),
        "{sla}"
    );

    // Sorting by deadline lists tickets with a running clock, earliest first.
    let (_, urgent) = api.post(
        "/v1/tickets",
        &json!({"subject": "Fire", "priority": "normal"}),
    );
    let (s, page) = api.get("/v1/tickets?sort=sla_due");
    assert_eq!(s, 200, "{page}");
    let order: Vec<&str> = page["data"]
        .as_array()
        .expect("page")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(order, vec![id(&urgent).as_str(), ticket.as_str()], "{page}");
}

#[test]
fn a_conversation_gets_a_first_response_clock_that_an_agent_reply_meets_and_a_short_one_breaches() {
    let host = Host::start();
    let api = host.tenant("Chat SLA");
    let (s, p) = api.post(
        "/v1/sla/policies",
        &json!({"id": "chat", "conditions": {"subjects": ["conversation"], "priorities": ["normal"]},
            "targets": {"first_response": {"minutes": 30, "basis": "calendar"}}}),
    );
    assert_eq!(s, 201, "{p}");
    let (s, p) = api.post(
        "/v1/sla/policies",
        &json!({"id": "chat-urgent", "conditions": {"subjects": ["conversation"], "priorities": ["urgent"]},
            "targets": {"first_response": {"minutes": 0, "seconds": 2, "basis": "calendar"}}}),
    );
    assert_eq!(s, 201, "{p}");
    let who = contact(&api, "Robin");
    let (s, c) = api.post(
        "/v1/conversations",
        &json!({"contact_id": who, "message": {"body": "Hello, is anyone there?", "sender": {"kind": "contact", "id": who}}}),
    );
    assert_eq!(s, 201, "{c}");
    let conversation = id(&c);
    let (s, sla) = api.get(&format!("/v1/conversations/{conversation}/sla"));
    assert_eq!(s, 200, "{sla}");
    assert_eq!(sla["policy_id"], "chat", "{sla}");
    assert_eq!(sla["state"], "running", "{sla}");

    let (s, m) = api.post(
        &format!("/v1/conversations/{conversation}/messages"),
        &json!({"body": "Yes, how can I help?"}),
    );
    assert_eq!(s, 201, "{m}");
    let (_, sla) = api.get(&format!("/v1/conversations/{conversation}/sla"));
    assert_eq!(sla["targets"][0]["state"], "met", "{sla}");

    let (_, hurry) = api.post(
        "/v1/conversations",
        &json!({"contact_id": who, "priority": "urgent"}),
    );
    let hurry = id(&hurry);
    wait_for("the conversation breach", Duration::from_secs(20), || {
        let (_, page) = api.get("/v1/conversations?sla_state=breached");
        let ids: Vec<String> = page["data"]
            .as_array()?
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect();
        (ids == vec![hurry.clone()]).then_some(page)
    });
    wait_for("the breach event", Duration::from_secs(10), || {
        let (_, e) = api.get(&format!("/v1/conversations/{hurry}/events"));
        e["data"]
            .as_array()?
            .iter()
            .find(|e| e["kind"] == "sla.breached")
            .cloned()
    });
}

#[test]
fn calendars_policies_and_rules_have_crud_validated_as_a_whole_with_if_match() {
    let host = Host::start();
    let api = host.tenant("Config CRUD");
    let calendar = json!({"id": "nights", "timezone": "Asia/Shanghai",
        "hours": {"monday": [{"start": "22:00", "end": "06:00", "overnight": true}]},
        "holidays": [{"kind": "yearly", "from": "10-01", "to": "10-07", "name": "Golden week"}]});
    let (s, c) = api.post("/v1/sla/calendars", &calendar);
    assert_eq!(s, 201, "{c}");
    let (s, dup) = api.post("/v1/sla/calendars", &calendar);
    assert_eq!((s, error_code(&dup)), (409, "already_exists"));
    let (s, bad) = api.post(
        "/v1/sla/calendars",
        &json!({"id": "mars", "timezone": "Mars/Olympus", "hours": {}}),
    );
    assert_eq!((s, error_code(&bad)), (422, "validation_failed"), "{bad}");
    let (s, p) = api.post(
        "/v1/sla/policies",
        &json!({"id": "night-shift", "calendar_id": "nights", "targets": {"first_response": {"minutes": 60}}}),
    );
    assert_eq!(s, 201, "{p}");

    // The calendar is in use: deleting it would leave the policy dangling.
    let (s, e) = api.delete("/v1/sla/calendars/nights");
    assert_eq!((s, error_code(&e)), (422, "validation_failed"), "{e}");

    let r = api.call("GET", "/v1/sla/policies/night-shift", None, &[]);
    assert_eq!(r.status, 200);
    let etag = r.etag.clone().expect("an ETag");
    let changed = json!({"calendar_id": "nights", "targets": {"first_response": {"minutes": 90}}});
    let r = api.call(
        "PUT",
        "/v1/sla/policies/night-shift",
        Some(&changed),
        &[("if-match", "\"v1\"")],
    );
    assert_eq!(
        (r.status, error_code(&r.body)),
        (412, "precondition_failed"),
        "{}",
        r.body
    );
    let r = api.call(
        "PUT",
        "/v1/sla/policies/night-shift",
        Some(&changed),
        &[("if-match", etag.as_str())],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["targets"]["first_response"]["minutes"], 90);
    let r = api.call(
        "PUT",
        "/v1/sla/policies/night-shift",
        Some(
            &json!({"id": "other", "targets": {"resolution": {"minutes": 5, "basis": "calendar"}}}),
        ),
        &[],
    );
    assert_eq!((r.status, error_code(&r.body)), (422, "validation_failed"));

    let (s, rule) = api.post(
        "/v1/sla/escalations",
        &json!({"id": "r1", "on": "warning", "policies": ["night-shift"], "actions": [{"type": "assign_team", "team": "leads"}]}),
    );
    assert_eq!(s, 201, "{rule}");
    let (s, e) = api.post(
        "/v1/sla/escalations",
        &json!({"id": "r2", "on": "breach", "policies": ["ghost"], "actions": [{"type": "add_tag", "tag": "x"}]}),
    );
    assert_eq!((s, error_code(&e)), (422, "validation_failed"), "{e}");

    let (s, _) = api.delete("/v1/sla/escalations/r1");
    assert_eq!(s, 204);
    let (s, _) = api.delete("/v1/sla/policies/night-shift");
    assert_eq!(s, 204);
    let (s, _) = api.delete("/v1/sla/calendars/nights");
    assert_eq!(s, 204);
    let (s, e) = api.get("/v1/sla/calendars/nights");
    assert_eq!((s, error_code(&e)), (404, "not_found"));
    let (_, all) = api.get("/v1/sla/calendars");
    assert_eq!(all["data"], json!([]));
}

/// The SLA history of a long conversation: every message's event, in order, across more
/// events than one storage page holds; the clocks kept per event agree with a replay of it,
/// also after a policy change makes the host replay the whole history.
#[test]
fn a_long_conversation_keeps_every_sla_event_in_order_and_a_policy_change_replays_them_all() {
    let host = Host::start();
    let api = host.tenant("Long chat");
    let (s, p) = api.post(
        "/v1/sla/policies",
        &json!({"id": "chat", "position": 5, "conditions": {"subjects": ["conversation"]},
            "targets": {"first_response": {"minutes": 30, "basis": "calendar"},
                "next_response": {"minutes": 60, "basis": "calendar"}}}),
    );
    assert_eq!(s, 201, "{p}");
    let who = contact(&api, "Kim");
    let (s, c) = api.post(
        "/v1/conversations",
        &json!({"contact_id": who, "message": {"body": "Hi", "sender": {"kind": "contact", "id": who}}}),
    );
    assert_eq!(s, 201, "{c}");
    let conversation = id(&c);
    let messages = format!("/v1/conversations/{conversation}/messages");
    let rounds = 260;
    for n in 0..rounds {
        let (s, m) = api.post(&messages, &json!({"body": format!("Answer {n}")}));
        assert_eq!(s, 201, "{m}");
        let (s, m) = api.post(
            &messages,
            &json!({"body": format!("Question {n}"), "sender": {"kind": "contact", "id": who}}),
        );
        assert_eq!(s, 201, "{m}");
        if n % 2 == 0 {
            // A run of customer messages needs one entry: this one adds none.
            let (s, m) = api.post(
                &messages,
                &json!({"body": "Still there?", "sender": {"kind": "contact", "id": who}}),
            );
            assert_eq!(s, 201, "{m}");
        }
    }
    let check = |api: &Api, policy: &str| -> Value {
        let (s, sla) = api.get(&format!("/v1/conversations/{conversation}/sla"));
        assert_eq!(s, 200, "{sla}");
        assert_eq!(sla["policy_id"], policy, "{sla}");
        let history = sla["history"].as_array().expect("history");
        let kinds: Vec<&str> = history.iter().filter_map(|e| e["type"].as_str()).collect();
        assert_eq!(kinds.first(), Some(&"created"));
        let count = |kind: &str| kinds.iter().filter(|k| **k == kind).count();
        assert_eq!(count("agent_reply"), rounds, "one entry per reply");
        assert_eq!(
            count("customer_message"),
            rounds,
            "one per run of questions"
        );
        let times: Vec<chrono::DateTime<chrono::Utc>> = history
            .iter()
            .filter_map(|e| e["at"].as_str()?.parse().ok())
            .collect();
        assert_eq!(times.len(), history.len());
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "the history is in the order it happened"
        );
        let targets = sla["targets"].as_array().expect("targets");
        let next: Vec<&Value> = targets
            .iter()
            .filter(|t| t["target"] == "next_response")
            .collect();
        assert_eq!(
            next.len(),
            rounds,
            "a next-response clock per question after a reply"
        );
        assert!(
            next[..rounds - 1].iter().all(|t| t["state"] == "met"),
            "{sla}"
        );
        assert_eq!(next[rounds - 1]["state"], "running", "{sla}");
        assert_eq!(sla["state"], "running", "{sla}");
        sla
    };
    check(&api, "chat");

    // A stricter policy takes over: the host replays the whole history under it.
    let (s, p) = api.post(
        "/v1/sla/policies",
        &json!({"id": "strict", "position": 1, "conditions": {"subjects": ["conversation"]},
            "targets": {"first_response": {"minutes": 20, "basis": "calendar"},
                "next_response": {"minutes": 45, "basis": "calendar"}}}),
    );
    assert_eq!((s, p["recomputed"].as_u64()), (201, Some(1)), "{p}");
    let sla = check(&api, "strict");
    let spans: Vec<&str> = sla["policy_spans"]
        .as_array()
        .expect("spans")
        .iter()
        .filter_map(|s| s["policy_id"].as_str())
        .collect();
    assert_eq!(
        spans,
        vec!["strict"],
        "a configuration edit applies to the whole history"
    );

    // And the clocks go on from there.
    let (s, m) = api.post(&messages, &json!({"body": "Done"}));
    assert_eq!(s, 201, "{m}");
    let (_, sla) = api.get(&format!("/v1/conversations/{conversation}/sla"));
    let targets = sla["targets"].as_array().expect("targets");
    assert!(targets.iter().all(|t| t["state"] == "met"), "{sla}");
    let (s, page) = api.get("/v1/conversations");
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["data"][0]["sla"]["state"], "met", "{page}");
}
