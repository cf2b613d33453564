//! SLA in process: calendars, policies, escalations, timers fired by `POST /v1/system/sweep`
//! after the test moves the clock, ticket and conversation SLA views, and the signed webhook
//! deliveries they cause (sent through the recording outbound port).

mod common;
use common::*;
use edgedesk_functions::ports::OutboundError;
use edgedesk_shared::signature::verify_webhook;
use std::time::Duration;

fn ticket_events(api: &Client, ticket: &str) -> Vec<Value> {
    data(&expect(
        api.get(&format!("/v1/tickets/{ticket}/events?limit=100")),
        200,
    ))
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"] == kind).count()
}

/// A policy for high and urgent tickets: first response within `minutes` of calendar time.
fn fast_policy(api: &Client, minutes: u32, warning_percent: u8) {
    expect(
        api.post("/v1/sla/policies", json!({
            "id": "fast", "name": "High answered fast", "position": 1,
            "conditions": {"priorities": ["high", "urgent"]},
            "targets": {"first_response": {"minutes": minutes, "basis": "calendar", "warning_percent": warning_percent}}})),
        201,
    );
}

fn target<'v>(sla: &'v Value, name: &str) -> &'v Value {
    sla["targets"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["target"] == name))
        .unwrap_or_else(|| panic!("no {name} target: {sla}"))
}

#[test]
fn a_breach_fired_by_the_sweep_escalates_and_sends_one_signed_webhook() {
    let app = TestApp::new();
    let api = app.create_tenant("Acme SLA");
    fast_policy(&api, 10, 50);
    expect(
        api.post("/v1/sla/escalations", json!({"id": "late", "on": "breach", "targets": ["first_response"],
            "actions": [{"type": "raise_priority"}, {"type": "add_tag", "tag": "sla-breached"},
                        {"type": "notify", "audience": "team", "message": "first response is late"}]})),
        201,
    );
    let hook = expect(
        api.put(
            "/v1/sla/webhook",
            json!({"url": "https://hooks.example/sla"}),
        ),
        200,
    );
    let secret = hook["secret"].as_str().expect("a secret").to_owned();
    assert_eq!(
        expect(api.get("/v1/sla/webhook"), 200)["url"],
        "https://hooks.example/sla"
    );

    let t = expect(
        api.post(
            "/v1/tickets",
            json!({"subject": "Checkout is down", "priority": "high"}),
        ),
        201,
    );
    let ticket = id(&t);
    let sla = expect(api.get(&format!("/v1/tickets/{ticket}/sla")), 200);
    assert_eq!(sla["policy_id"], "fast", "{sla}");
    let fr = target(&sla, "first_response");
    assert_eq!(fr["state"], "running", "{fr}");
    assert!(fr["due_at"].is_string(), "{fr}");
    assert!(!app.platform.alarms().is_empty(), "a wake-up was asked for");

    // Nothing is due yet.
    app.sweep();
    assert_eq!(count(&ticket_events(&api, &ticket), "sla.breached"), 0);
    // Past the warning (50%), then past the deadline.
    app.platform.advance(Duration::from_secs(6 * 60));
    app.sweep();
    let history = ticket_events(&api, &ticket);
    assert_eq!(
        (
            count(&history, "sla.warning"),
            count(&history, "sla.breached")
        ),
        (1, 0)
    );
    app.platform.advance(Duration::from_secs(5 * 60));
    assert!(app.sweep() >= 1);
    let escalated = expect(api.get(&format!("/v1/tickets/{ticket}")), 200);
    assert_eq!(escalated["priority"], "urgent", "{escalated}");
    assert!(escalated["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("sla-breached")));
    let sla = expect(api.get(&format!("/v1/tickets/{ticket}/sla")), 200);
    assert_eq!(sla["state"], "breached", "{sla}");
    assert!(target(&sla, "first_response")["breached_at"].is_string());
    let history = ticket_events(&api, &ticket);
    assert_eq!(count(&history, "sla.breached"), 1);
    let breach = history
        .iter()
        .find(|e| e["kind"] == "sla.breached")
        .unwrap();
    assert_eq!(
        (
            breach["data"]["policy_id"].as_str(),
            breach["data"]["target"].as_str()
        ),
        (Some("fast"), Some("first_response"))
    );

    // The webhook went out once, signed with the secret.
    app.sweep();
    let sent: Vec<_> = app
        .platform
        .outbound()
        .into_iter()
        .filter(|r| r.url == "https://hooks.example/sla")
        .collect();
    let breaches: Vec<_> = sent
        .iter()
        .filter(|r| {
            r.headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("x-edgedesk-event") && v == "sla.breached")
        })
        .collect();
    assert_eq!(breaches.len(), 1, "{sent:?}");
    let header = |name: &str| {
        breaches[0]
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        verify_webhook(
            secret.as_bytes(),
            header("x-edgedesk-signature").as_deref(),
            &breaches[0].body,
            app.platform.now().timestamp()
        ),
        Ok(())
    );
    let payload: Value = serde_json::from_slice(&breaches[0].body).unwrap();
    assert_eq!(payload["data"]["subject_id"], ticket.as_str());
    let log = expect(
        api.get(&format!(
            "/v1/webhook-deliveries?subject_id={ticket}&status=delivered"
        )),
        200,
    );
    let delivered: Vec<Value> = data(&log)
        .into_iter()
        .filter(|d| d["id"].as_str() == header("x-edgedesk-delivery").as_deref())
        .collect();
    assert_eq!(delivered.len(), 1, "{log}");
    assert_eq!(delivered[0]["attempts"][0]["status"], 200);

    let breached = expect(api.get("/v1/tickets?sla_state=breached"), 200);
    assert_eq!(
        data(&breached).iter().map(id).collect::<Vec<_>>(),
        std::slice::from_ref(&ticket)
    );
    let r = api.get("/v1/tickets?sla_state=sideways");
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_query"));
}

#[test]
fn a_failing_receiver_is_retried_with_a_growing_pause_until_it_answers() {
    let app = TestApp::new();
    let api = app.create_tenant("Retry");
    fast_policy(&api, 1, 90);
    expect(
        api.post(
            "/v1/sla/escalations",
            json!({"id": "late", "on": "breach",
            "actions": [{"type": "notify", "audience": "team", "message": "late"}]}),
        ),
        201,
    );
    expect(
        api.put(
            "/v1/sla/webhook",
            json!({"url": "https://hooks.example/flaky"}),
        ),
        200,
    );
    app.platform
        .respond_with(|_| Err(OutboundError::Failed("connection refused".into())));
    let ticket = id(&expect(
        api.post("/v1/tickets", json!({"subject": "x", "priority": "high"})),
        201,
    ));
    app.platform.advance(Duration::from_secs(120));
    app.sweep();
    let attempts = app.platform.outbound().len();
    assert!(attempts >= 1, "the first attempt was made");
    let pending = expect(
        api.get(&format!(
            "/v1/webhook-deliveries?subject_id={ticket}&status=pending"
        )),
        200,
    );
    assert!(
        !data(&pending).is_empty(),
        "a failed attempt leaves the delivery pending: {pending}"
    );
    assert!(
        data(&pending)[0]["attempts"][0]["error"].is_string(),
        "{pending}"
    );
    app.sweep();
    assert_eq!(
        app.platform.outbound().len(),
        attempts,
        "no retry before its pause"
    );
    app.platform.respond_with(|_| Ok((204, Vec::new())));
    app.platform.advance(Duration::from_secs(6));
    app.sweep();
    assert!(
        app.platform.outbound().len() > attempts,
        "the retry went out"
    );
    let delivered = expect(
        api.get(&format!(
            "/v1/webhook-deliveries?subject_id={ticket}&status=delivered"
        )),
        200,
    );
    assert!(!data(&delivered).is_empty(), "{delivered}");
}

#[test]
fn pending_stops_the_clock_and_reopening_resumes_it() {
    let app = TestApp::new();
    let api = app.create_tenant("Paused SLA");
    fast_policy(&api, 10, 90);
    let ticket = id(&expect(
        api.post(
            "/v1/tickets",
            json!({"subject": "Waiting on the customer", "priority": "high"}),
        ),
        201,
    ));
    expect(
        api.patch(
            &format!("/v1/tickets/{ticket}"),
            json!({"status": "pending"}),
        ),
        200,
    );
    app.platform.advance(Duration::from_secs(60 * 60));
    app.sweep();
    let sla = expect(api.get(&format!("/v1/tickets/{ticket}/sla")), 200);
    assert_eq!(sla["state"], "paused", "{sla}");
    let fr = &sla["targets"][0];
    assert!(fr["due_at"].is_null(), "no deadline while paused: {fr}");
    assert!(
        fr["remaining_seconds"].as_i64().is_some_and(|r| r > 500),
        "time in pending does not count: {fr}"
    );
    assert_eq!(count(&ticket_events(&api, &ticket), "sla.breached"), 0);
    expect(
        api.patch(&format!("/v1/tickets/{ticket}"), json!({"status": "open"})),
        200,
    );
    let sla = expect(api.get(&format!("/v1/tickets/{ticket}/sla")), 200);
    assert_eq!(sla["state"], "running", "{sla}");
    app.platform.advance(Duration::from_secs(11 * 60));
    app.sweep();
    assert_eq!(
        expect(api.get(&format!("/v1/tickets/{ticket}/sla")), 200)["state"],
        "breached"
    );
    assert_eq!(count(&ticket_events(&api, &ticket), "sla.breached"), 1);
    let low = id(&expect(
        api.post(
            "/v1/tickets",
            json!({"subject": "No hurry", "priority": "low"}),
        ),
        201,
    ));
    let list = expect(api.get("/v1/tickets"), 200);
    let row = |tid: &str| data(&list).into_iter().find(|t| t["id"] == tid).unwrap();
    assert_eq!(row(&ticket)["sla"]["state"], "breached");
    assert_eq!(row(&ticket)["sla"]["policy"]["id"], "fast");
    assert!(
        row(&low)["sla"].is_null(),
        "a ticket no policy covers carries null"
    );
}

#[test]
fn a_business_hours_calendar_stops_the_clock_outside_its_hours() {
    let app = TestApp::new();
    let api = app.create_tenant("Office");
    expect(
        api.post("/v1/sla/calendars", json!({"id": "office", "name": "London office", "timezone": "Europe/London",
            "hours": {"monday": [{"start": "09:00", "end": "17:00"}], "tuesday": [{"start": "09:00", "end": "17:00"}]}})),
        201,
    );
    expect(
        api.post(
            "/v1/sla/policies",
            json!({"id": "normal", "calendar_id": "office",
            "targets": {"resolution": {"minutes": 600}}}),
        ),
        201,
    );
    // Monday 09:00 London: 480 business minutes on Monday, the other 120 on Tuesday.
    let ticket = id(&ticket(&api, "Invoice copy"));
    let sla = expect(api.get(&format!("/v1/tickets/{ticket}/sla")), 200);
    assert_eq!(sla["policy_id"], "normal");
    let due = target(&sla, "resolution")["due_at"]
        .as_str()
        .expect("a due time")
        .to_owned();
    assert!(
        due.starts_with("2026-01-06T11:00"),
        "due Tuesday 11:00: {due}"
    );
}

#[test]
fn a_conversation_gets_a_first_response_clock_that_an_agent_reply_meets() {
    let app = TestApp::new();
    let api = app.create_tenant("Chat SLA");
    expect(
        api.post("/v1/sla/policies", json!({"id": "chat", "conditions": {"subjects": ["conversation"], "priorities": ["normal"]},
            "targets": {"first_response": {"minutes": 30, "basis": "calendar"}}})),
        201,
    );
    expect(
        api.post("/v1/sla/policies", json!({"id": "chat-urgent", "conditions": {"subjects": ["conversation"], "priorities": ["urgent"]},
            "targets": {"first_response": {"minutes": 2, "basis": "calendar"}}})),
        201,
    );
    let who = id(&contact(&api, "Robin"));
    let conv = id(&conversation(&api, &who));
    let sla = expect(api.get(&format!("/v1/conversations/{conv}/sla")), 200);
    assert_eq!(
        (sla["policy_id"].as_str(), sla["state"].as_str()),
        (Some("chat"), Some("running")),
        "{sla}"
    );
    expect(
        api.post(
            &format!("/v1/conversations/{conv}/messages"),
            json!({"body": "Yes, how can I help?"}),
        ),
        201,
    );
    let sla = expect(api.get(&format!("/v1/conversations/{conv}/sla")), 200);
    assert_eq!(sla["targets"][0]["state"], "met", "{sla}");
    let hurry = id(&expect(
        api.post(
            "/v1/conversations",
            json!({"contact_id": who, "priority": "urgent"}),
        ),
        201,
    ));
    app.platform.advance(Duration::from_secs(3 * 60));
    app.sweep();
    let page = expect(api.get("/v1/conversations?sla_state=breached"), 200);
    assert_eq!(
        data(&page).iter().map(id).collect::<Vec<_>>(),
        std::slice::from_ref(&hurry)
    );
    assert_eq!(
        events_of(&conversation_events(&api, &hurry), "sla.breached").len(),
        1
    );
}

#[test]
fn calendars_policies_and_escalations_have_crud_validated_as_a_whole_with_if_match() {
    let app = TestApp::new();
    let api = app.create_tenant("Config CRUD");
    let calendar = json!({"id": "nights", "timezone": "Asia/Shanghai",
        "hours": {"monday": [{"start": "22:00", "end": "06:00", "overnight": true}]},
        "holidays": [{"kind": "yearly", "from": "10-01", "to": "10-07", "name": "Golden week"}]});
    expect(api.post("/v1/sla/calendars", calendar.clone()), 201);
    let r = api.post("/v1/sla/calendars", calendar);
    assert_eq!((r.status, r.error_code().as_str()), (409, "already_exists"));
    let r = api.post(
        "/v1/sla/calendars",
        json!({"id": "mars", "timezone": "Mars/Olympus", "hours": {}}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    expect(api.post("/v1/sla/policies", json!({"id": "night-shift", "calendar_id": "nights", "targets": {"first_response": {"minutes": 60}}})), 201);
    let r = api.post(
        "/v1/sla/policies",
        json!({"id": "bad", "calendar_id": "nowhere", "targets": {"resolution": {"minutes": 5}}}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    let r = api.delete("/v1/sla/calendars/nights");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed"),
        "the calendar is in use"
    );
    let got = api.get("/v1/sla/policies/night-shift");
    let etag = got.header("etag").expect("an ETag").to_owned();
    let changed = json!({"calendar_id": "nights", "targets": {"first_response": {"minutes": 90}}});
    let r = api
        .request("PUT", "/v1/sla/policies/night-shift")
        .header("if-match", "\"v9\"")
        .json(&changed)
        .send();
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (412, "precondition_failed")
    );
    let r = api
        .request("PUT", "/v1/sla/policies/night-shift")
        .header("if-match", &etag)
        .json(&changed)
        .send();
    assert_eq!(expect(r, 200)["targets"]["first_response"]["minutes"], 90);
    expect(
        api.post("/v1/sla/escalations", json!({"id": "r1", "on": "warning", "policies": ["night-shift"], "actions": [{"type": "assign_team", "team": "leads"}]})),
        201,
    );
    let r = api.post("/v1/sla/escalations", json!({"id": "r2", "on": "breach", "policies": ["ghost"], "actions": [{"type": "add_tag", "tag": "x"}]}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    assert_eq!(data(&expect(api.get("/v1/sla/escalations"), 200)).len(), 1);
    assert_eq!(
        expect(api.get("/v1/sla/escalations/r1"), 200)["on"],
        "warning"
    );
    assert_eq!(api.delete("/v1/sla/escalations/r1").status, 204);
    assert_eq!(api.delete("/v1/sla/policies/night-shift").status, 204);
    assert_eq!(api.delete("/v1/sla/calendars/nights").status, 204);
    let r = api.get("/v1/sla/calendars/nights");
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
    assert_eq!(expect(api.get("/v1/sla/calendars"), 200)["data"], json!([]));
    let viewer = api.key_client("read_only");
    let r = viewer.post(
        "/v1/sla/policies",
        json!({"id": "x", "targets": {"resolution": {"minutes": 5, "basis": "calendar"}}}),
    );
    assert_eq!((r.status, r.error_code().as_str()), (403, "forbidden"));
}

#[test]
fn a_new_policy_recomputes_open_tickets_on_record() {
    let app = TestApp::new();
    let api = app.create_tenant("Recompute");
    let base = expect(api.post("/v1/sla/policies", json!({"id": "base", "position": 10, "targets": {"resolution": {"minutes": 600, "basis": "calendar"}}})), 201);
    assert_eq!(base["recomputed"], 0);
    let ticket = id(&ticket(&api, "Slow printer"));
    assert_eq!(
        expect(api.get(&format!("/v1/tickets/{ticket}/sla")), 200)["policy_id"],
        "base"
    );
    let strict = expect(
        api.post(
            "/v1/sla/policies",
            json!({"id": "strict", "position": 1, "conditions": {"priorities": ["normal"]},
            "targets": {"resolution": {"minutes": 60, "basis": "calendar"}}}),
        ),
        201,
    );
    assert_eq!(strict["recomputed"], 1);
    assert_eq!(
        expect(api.get(&format!("/v1/tickets/{ticket}/sla")), 200)["policy_id"],
        "strict"
    );
    let history = ticket_events(&api, &ticket);
    let recomputed = history
        .iter()
        .find(|e| e["kind"] == "sla.recomputed")
        .expect("on record");
    assert_eq!(
        recomputed["data"]["policy_id"],
        json!({"from": "base", "to": "strict"})
    );
    app.platform.advance(Duration::from_secs(5));
    expect(
        api.patch(&format!("/v1/tickets/{ticket}"), json!({"priority": "low"})),
        200,
    );
    let sla = expect(api.get(&format!("/v1/tickets/{ticket}/sla")), 200);
    let ids: Vec<&str> = sla["policy_spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["policy_id"].as_str())
        .collect();
    assert_eq!(ids, ["strict", "base"], "{sla}");
}

#[test]
fn another_tenant_cannot_read_a_tickets_sla() {
    let app = TestApp::new();
    let ours = app.create_tenant("Ours");
    let theirs = app.create_tenant("Theirs");
    let mine = id(&ticket(&ours, "Mine"));
    assert_eq!(ours.get(&format!("/v1/tickets/{mine}/sla")).status, 200);
    assert_eq!(theirs.get(&format!("/v1/tickets/{mine}/sla")).status, 404);
    assert!(data(&expect(theirs.get("/v1/webhook-deliveries"), 200)).is_empty());
}

#[test]
fn the_sweep_needs_the_platform_token() {
    let app = TestApp::new();
    let r = app.anon().post("/v1/system/sweep", json!({}));
    assert_eq!((r.status, r.error_code().as_str()), (401, "unauthorized"));
    assert_eq!(app.sweep(), 0);
}
