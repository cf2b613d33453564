//! Routing, queueing, automation rules, canned responses and CSAT end to end, through the real
//! host: widget visitors write, rules route, capacity queues, and freeing capacity assigns.

use edgedesk_e2e::{error_code, Api, Host, Visitor};
use serde_json::{json, Value};

fn agent(api: &Api, name: &str) -> String {
    let (s, a) = api.post(
        "/v1/agents",
        &json!({"email": format!("{}@shop.test", name.to_lowercase()), "name": name, "role": "agent"}),
    );
    assert_eq!(s, 201, "{a}");
    a["id"].as_str().expect("agent id").to_owned()
}

fn presence(api: &Api, agent: &str, status: &str) {
    let (s, body) = api.put(
        &format!("/v1/agents/{agent}/presence"),
        &json!({ "status": status }),
    );
    assert_eq!(s, 200, "{body}");
}

fn capacity(api: &Api, agent: &str, web: u32) {
    let (s, body) = api.put(
        &format!("/v1/agents/{agent}/routing"),
        &json!({"capacity": {"default": web}, "languages": ["en"]}),
    );
    assert_eq!(s, 200, "{body}");
}

fn events(api: &Api, conversation: &str) -> Vec<Value> {
    let (s, page) = api.get(&format!(
        "/v1/conversations/{conversation}/events?limit=100"
    ));
    assert_eq!(s, 200, "{page}");
    page["data"].as_array().expect("events").clone()
}

fn events_of<'a>(all: &'a [Value], kind: &str) -> Vec<&'a Value> {
    all.iter().filter(|e| e["kind"] == kind).collect()
}

fn conversation(api: &Api, id: &str) -> Value {
    let (s, c) = api.get(&format!("/v1/conversations/{id}"));
    assert_eq!(s, 200, "{c}");
    c
}

#[test]
fn a_widget_message_about_a_refund_goes_to_the_finance_teams_online_agent_naming_the_rule() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let fiona = agent(&api, "Fiona");
    let frank = agent(&api, "Frank");
    let sam = agent(&api, "Sam");
    for (id, members) in [("finance", vec![&fiona, &frank]), ("support", vec![&sam])] {
        let (s, team) = api.post(
            "/v1/teams",
            &json!({"id": id, "name": id.to_uppercase(), "members": members}),
        );
        assert_eq!(s, 201, "{team}");
    }
    let (s, body) = api.post(
        "/v1/routing/rules",
        &json!({"id": "refunds", "name": "Refunds to finance",
                "conditions": {"keywords": ["refund"]},
                "target": {"team": "finance"}, "priority": "high"}),
    );
    assert_eq!(s, 201, "{body}");
    let (s, body) = api.post(
        "/v1/routing/rules",
        &json!({"id": "everything-else", "name": "Everything else", "target": {"team": "support"}}),
    );
    assert_eq!(s, 201, "{body}");
    // A rule naming a team that does not exist is refused.
    let (s, body) = api.post(
        "/v1/routing/rules",
        &json!({"id": "nowhere", "target": {"team": "ghosts"}}),
    );
    assert_eq!((s, error_code(&body)), (422, "validation_failed"));
    // Frank is offline; Fiona and Sam are online.
    presence(&api, &fiona, "online");
    presence(&api, &sam, "online");

    let ada = Visitor::new(&host, &t, "Ada Lovelace");
    let cid = ada.say("Hello, I would like a REFUND for order 42");
    let c = conversation(&api, &cid);
    assert_eq!(c["assignee_id"], json!(fiona), "{c}");
    assert_eq!(c["team"], "finance");
    assert_eq!(c["priority"], "high");
    let all = events(&api, &cid);
    let assigned = events_of(&all, "conversation.assigned");
    assert_eq!(assigned.len(), 1, "{all:?}");
    assert_eq!(assigned[0]["data"]["rule"]["id"], "refunds");
    assert_eq!(assigned[0]["data"]["rule"]["name"], "Refunds to finance");
    assert_eq!(assigned[0]["data"]["source"], "routing");
    assert_eq!(assigned[0]["data"]["agent_id"], json!(fiona));

    // Anything else goes to support; a second message does not re-route.
    let bob = Visitor::new(&host, &t, "Bob");
    let other = bob.say("Where is my parcel?");
    assert_eq!(conversation(&api, &other)["assignee_id"], json!(sam));
    bob.say("refund then");
    assert_eq!(conversation(&api, &other)["assignee_id"], json!(sam));

    // A manual transfer is still possible, and is an event too.
    let (s, body) = api.post(
        &format!("/v1/conversations/{other}/assign"),
        &json!({ "agent_id": frank }),
    );
    assert_eq!(s, 200, "{body}");
    let all = events(&api, &other);
    let manual: Vec<_> = events_of(&all, "conversation.assigned")
        .into_iter()
        .filter(|e| e["data"]["source"] == "manual")
        .collect();
    assert_eq!(manual.len(), 1, "{all:?}");
    assert_eq!(manual[0]["data"]["previous_agent_id"], json!(sam));
}

#[test]
fn at_capacity_visitors_wait_with_a_position_and_freed_capacity_takes_the_oldest_first() {
    let host = Host::start();
    let api = host.tenant("Busy");
    let t = api.tenant_id();
    let fiona = agent(&api, "Fiona");
    capacity(&api, &fiona, 1);
    let (s, _) = api.post(
        "/v1/teams",
        &json!({"id": "support", "name": "Support", "members": [fiona]}),
    );
    assert_eq!(s, 201);
    let (s, _) = api.post(
        "/v1/routing/rules",
        &json!({"id": "all", "name": "All chats", "target": {"team": "support"}}),
    );
    assert_eq!(s, 201);
    presence(&api, &fiona, "online");

    let one = Visitor::new(&host, &t, "One");
    let first = one.say("hi");
    assert_eq!(conversation(&api, &first)["assignee_id"], json!(fiona));
    let one_state = one.states_after("");
    assert_eq!(one_state.len(), 1, "{one_state:?}");
    assert!(one_state[0].get("queue").is_none(), "{one_state:?}");
    let second_visitor = Visitor::new(&host, &t, "Two");
    let second = second_visitor.say("hello?");
    let third_visitor = Visitor::new(&host, &t, "Three");
    let third = third_visitor.say("anyone there");
    assert!(conversation(&api, &second)["assignee_id"].is_null());
    assert!(conversation(&api, &third)["assignee_id"].is_null());

    // The visitors see where they stand, in the poll and in their session.
    let feed = second_visitor.poll();
    assert_eq!(feed["queue"]["position"], 1, "{feed}");
    assert_eq!(feed["queue"]["waiting"], 2, "{feed}");
    assert!(
        feed["queue"]["estimated_wait_seconds"].as_u64().is_some(),
        "{feed}"
    );
    assert_eq!(third_visitor.poll()["queue"]["position"], 2);
    // A client following its state hears of its place once, and again only when it moves.
    let states = third_visitor.states_after("");
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0]["status"], "open");
    assert_eq!(states[0]["queue"]["position"], 2, "{states:?}");
    let third_state = states[0]["state"].as_str().expect("a state").to_owned();
    assert!(third_visitor.states_after(&third_state).is_empty());
    let (_, queue) = api.get("/v1/routing/queue");
    assert_eq!(queue["data"].as_array().map(Vec::len), Some(2), "{queue}");
    let queued = events(&api, &second);
    assert_eq!(
        events_of(&queued, "conversation.queued")[0]["data"]["reason"],
        "all_at_capacity"
    );

    // Resolving the first frees Fiona's place: the one waiting longest gets it.
    let (s, body) = api.patch(
        &format!("/v1/conversations/{first}"),
        &json!({"status": "resolved"}),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(conversation(&api, &second)["assignee_id"], json!(fiona));
    assert!(conversation(&api, &third)["assignee_id"].is_null());
    let all = events(&api, &second);
    let assigned = events_of(&all, "conversation.assigned");
    assert_eq!(assigned.len(), 1, "{all:?}");
    assert_eq!(assigned[0]["data"]["source"], "queue");
    assert_eq!(assigned[0]["data"]["rule"]["id"], "all");
    let feed = third_visitor.poll();
    assert_eq!(feed["queue"]["position"], 1, "{feed}");
    assert!(second_visitor.poll().get("queue").is_none());
    let moved = third_visitor.states_after(&third_state);
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0]["queue"]["position"], 1, "{moved:?}");
    // The resolved conversation's visitor hears of it (the widget then asks for a rating).
    let resolved = one.states_after(one_state[0]["state"].as_str().expect("a state"));
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["status"], "resolved");

    // An offline agent takes nothing, even with room; coming online takes the next one.
    presence(&api, &fiona, "offline");
    let (s, _) = api.patch(
        &format!("/v1/conversations/{second}"),
        &json!({"status": "resolved"}),
    );
    assert_eq!(s, 200);
    assert!(conversation(&api, &third)["assignee_id"].is_null());
    let feed = third_visitor.poll();
    assert_eq!(feed["queue"]["position"], 1);
    assert!(
        feed["queue"].get("estimated_wait_seconds").is_none(),
        "{feed}"
    );
    presence(&api, &fiona, "online");
    assert_eq!(conversation(&api, &third)["assignee_id"], json!(fiona));
    let (_, queue) = api.get("/v1/routing/queue");
    assert_eq!(queue["data"].as_array().map(Vec::len), Some(0), "{queue}");
}

#[test]
fn concurrent_arrivals_never_push_an_agent_over_capacity() {
    let host = Host::start();
    let api = host.tenant("Rush");
    let t = api.tenant_id();
    let agents: Vec<String> = ["Ann", "Ben"].iter().map(|n| agent(&api, n)).collect();
    for a in &agents {
        capacity(&api, a, 2);
        presence(&api, a, "online");
    }
    let (s, _) = api.post(
        "/v1/teams",
        &json!({"id": "support", "name": "Support", "members": agents}),
    );
    assert_eq!(s, 201);
    let (s, _) = api.post(
        "/v1/routing/rules",
        &json!({"id": "all", "target": {"team": "support"}}),
    );
    assert_eq!(s, 201);
    let visitors: Vec<Visitor> = (0..10)
        .map(|i| Visitor::new(&host, &t, &format!("V{i}")))
        .collect();
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = visitors
            .iter()
            .map(|v| s.spawn(move || v.say("help")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut per_agent = std::collections::BTreeMap::new();
    for id in &ids {
        if let Some(a) = conversation(&api, id)["assignee_id"].as_str() {
            *per_agent.entry(a.to_owned()).or_insert(0) += 1;
        }
    }
    assert_eq!(
        per_agent.values().copied().collect::<Vec<_>>(),
        [2, 2],
        "{per_agent:?}"
    );
    let (_, queue) = api.get("/v1/routing/queue");
    assert_eq!(queue["data"].as_array().map(Vec::len), Some(6), "{queue}");
}

#[test]
fn a_rule_dry_run_shows_what_it_would_do_and_changes_nothing() {
    let host = Host::start();
    let api = host.tenant("Dry");
    let rule = json!({"id": "vip", "name": "VIP", "on": ["message_received"],
        "conditions": {"all": [
            {"field": {"path": "contact.attributes.plan", "op": "equals", "value": "pro"}},
            {"text": {"path": "message.body", "contains": ["urgent"]}}
        ]},
        "actions": [{"type": "set_priority", "priority": "urgent"},
                    {"type": "add_labels", "labels": ["vip"]}]});
    let sample = |plan: &str| {
        json!({"rule": rule, "event": {"kind": "message_received",
            "subject": {"conversation": "cnv_01HZ0000000000000000000000"}, "at": "2026-01-05T10:00:00Z"},
            "facts": {"contact": {"attributes": {"plan": plan}}, "message": {"body": "This is URGENT"},
                      "conversation": {"priority": "normal", "labels": []}}})
    };
    let (s, out) = api.post("/v1/rules/test", &sample("pro"));
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["result"]["outcome"], "fired", "{out}");
    let actions = out["result"]["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 2, "{out}");
    assert_eq!(actions[0]["effect"]["type"], "set_priority");
    let (s, out) = api.post("/v1/rules/test", &sample("free"));
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["result"]["outcome"], "conditions_failed", "{out}");
    // A routing rule on a sample conversation.
    let (s, out) = api.post(
        "/v1/rules/test",
        &json!({"routing_rule": {"id": "refunds", "conditions": {"keywords": ["refund"]},
                 "target": {"team": "finance"}, "priority": "high"},
                "facts": {"channel": "web", "text": "refund please", "within_business_hours": true}}),
    );
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["matched"], true, "{out}");
    assert_eq!(out["would_route_to"], json!({"team": "finance"}));
    assert_eq!(out["priority"], "high");
    // An invalid rule is refused with the reason; nothing was saved.
    let mut bad = sample("pro");
    bad["rule"]["actions"] = json!([]);
    let (s, out) = api.post("/v1/rules/test", &bad);
    assert_eq!((s, error_code(&out)), (422, "validation_failed"), "{out}");
    let (_, rules) = api.get("/v1/rules");
    assert_eq!(rules["data"], json!([]));
}

#[test]
fn rules_that_undo_each_other_fire_once_each_thanks_to_the_loop_guard() {
    let host = Host::start();
    let api = host.tenant("Loops");
    for (id, status) in [("reopen", "open"), ("park", "pending")] {
        let (s, body) = api.post(
            "/v1/rules",
            &json!({"id": id, "on": ["status_changed"],
                    "actions": [{"type": "set_status", "status": status}]}),
        );
        assert_eq!(s, 201, "{body}");
    }
    let (_, contact) = api.post("/v1/contacts", &json!({"name": "Ada"}));
    let (s, c) = api.post(
        "/v1/conversations",
        &json!({"contact_id": contact["id"], "subject": "loop"}),
    );
    assert_eq!(s, 201, "{c}");
    let cid = c["id"].as_str().expect("id");
    let (s, body) = api.patch(
        &format!("/v1/conversations/{cid}"),
        &json!({"status": "pending"}),
    );
    assert_eq!(s, 200, "{body}");
    let all = events(&api, cid);
    let fired = events_of(&all, "automation.fired");
    let count = |rule: &str| {
        fired
            .iter()
            .filter(|e| e["data"]["rule"]["id"] == rule)
            .count()
    };
    assert_eq!((count("reopen"), count("park")), (1, 1), "{fired:?}");
    // The last word is the second rule's, reacting to the first one's change.
    assert_eq!(conversation(&api, cid)["status"], "pending");
    let park = fired
        .iter()
        .find(|e| e["data"]["rule"]["id"] == "park")
        .expect("park fired");
    assert_eq!(park["data"]["caused_by"], json!(["reopen"]));
}

#[test]
fn a_new_conversation_gets_a_canned_greeting_with_the_contacts_name_and_a_private_note() {
    let host = Host::start();
    let api = host.tenant("Greeter");
    let t = api.tenant_id();
    let (s, canned) = api.post(
        "/v1/canned-responses",
        &json!({"shortcode": "welcome", "title": "Welcome",
                "body": "Hi {{contact.first_name}}, thanks for writing to {{tenant.name}}!"}),
    );
    assert_eq!(s, 201, "{canned}");
    let (s, found) = api.get("/v1/canned-responses?q=/wel");
    assert_eq!(s, 200);
    assert_eq!(found["data"][0]["shortcode"], "welcome");
    let (s, body) = api.post(
        "/v1/rules",
        &json!({"id": "greet", "on": ["conversation_created"],
                "actions": [{"type": "send_canned_reply", "canned_response_id": canned["id"]},
                            {"type": "add_private_note", "body": "New chat from {{contact.name}}"}]}),
    );
    assert_eq!(s, 201, "{body}");
    // The canned response is in use now.
    let (s, body) = api.delete(&format!(
        "/v1/canned-responses/{}",
        canned["id"].as_str().unwrap()
    ));
    assert_eq!((s, error_code(&body)), (409, "in_use"));

    let ada = Visitor::new(&host, &t, "Ada Lovelace");
    let cid = ada.say("hello");
    ada.say("still there?");
    let (_, msgs) = api.get(&format!("/v1/conversations/{cid}/messages"));
    let bodies: Vec<(&str, bool)> = msgs["data"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["body"].as_str().unwrap_or(""),
                m["private"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        bodies,
        [
            ("hello", false),
            ("Hi Ada, thanks for writing to Greeter!", false),
            ("New chat from Ada Lovelace", true),
            ("still there?", false),
        ]
    );
    // The visitor sees the greeting but not the note.
    let (_, seen) = ada.call("GET", "/messages", None);
    assert_eq!(seen["data"].as_array().map(Vec::len), Some(3), "{seen}");
}

#[test]
fn after_resolve_the_visitor_rates_once_and_the_rating_is_stored_and_reported() {
    let host = Host::start();
    let api = host.tenant("Rated");
    let t = api.tenant_id();
    let ada = Visitor::new(&host, &t, "Ada");
    let cid = ada.say("my order is late");
    // Ratings are off until the tenant turns them on.
    let (s, body) = ada.call("POST", "/csat", Some(&json!({"rating": 5})));
    assert_eq!((s, error_code(&body)), (403, "csat_disabled"));
    let (s, body) = api.put(
        "/v1/routing/settings",
        &json!({"csat": {"enabled": true, "allow_comment": true, "window_hours": 24}}),
    );
    assert_eq!(s, 200, "{body}");
    let (s, body) = ada.call("POST", "/csat", Some(&json!({"rating": 5})));
    assert_eq!((s, error_code(&body)), (409, "not_resolved"));
    let (s, _) = api.patch(
        &format!("/v1/conversations/{cid}"),
        &json!({"status": "resolved"}),
    );
    assert_eq!(s, 200);
    let (s, state) = ada.call("GET", "/csat", None);
    assert_eq!(s, 200);
    assert_eq!(
        (
            state["can_rate"].as_bool(),
            state["conversation_id"].as_str()
        ),
        (Some(true), Some(cid.as_str()))
    );
    let (s, body) = ada.call("POST", "/csat", Some(&json!({"rating": 6})));
    assert_eq!((s, error_code(&body)), (422, "validation_failed"));
    let (s, body) = ada.call(
        "POST",
        "/csat",
        Some(&json!({"rating": 4, "comment": "  quick and kind  "})),
    );
    assert_eq!(s, 201, "{body}");
    let (s, body) = ada.call("POST", "/csat", Some(&json!({"rating": 1})));
    assert_eq!((s, error_code(&body)), (409, "already_rated"));
    let (s, stored) = api.get(&format!("/v1/conversations/{cid}/csat"));
    assert_eq!(s, 200, "{stored}");
    assert_eq!(
        (stored["rating"].as_u64(), stored["comment"].as_str()),
        (Some(4), Some("quick and kind"))
    );
    let all = events(&api, &cid);
    assert_eq!(events_of(&all, "conversation.csat_received").len(), 1);
    let (s, report) = api.get("/v1/reports/csat");
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["csat"]["count"], 1);
    assert_eq!(report["csat"]["distribution"], json!([0, 0, 0, 1, 0]));
    assert_eq!(report["csat"]["average"], 4.0);
}
