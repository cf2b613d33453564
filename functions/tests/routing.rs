//! Routing in process: teams, agent routing profiles, rules, settings, the queue and manual
//! assignment.

mod common;
use common::*;

fn agent_id(api: &Client, name: &str) -> String {
    id(&agent(
        api,
        &format!("{}@shop.test", name.to_lowercase()),
        "agent",
    ))
}

fn presence(api: &Client, agent: &str, status: &str) {
    expect(
        api.put(
            &format!("/v1/agents/{agent}/presence"),
            json!({ "status": status }),
        ),
        200,
    );
}

fn capacity(api: &Client, agent: &str, web: u32) {
    expect(
        api.put(
            &format!("/v1/agents/{agent}/routing"),
            json!({"capacity": {"default": web}, "languages": ["en"]}),
        ),
        200,
    );
}

fn conversation_of(api: &Client, id: &str) -> Value {
    expect(api.get(&format!("/v1/conversations/{id}")), 200)
}

#[test]
fn teams_are_created_read_updated_and_deleted() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let ann = agent_id(&api, "Ann");
    let team = expect(
        api.post(
            "/v1/teams",
            json!({"id": "support", "name": "Support", "members": [ann]}),
        ),
        201,
    );
    assert_eq!(team["members"], json!([ann]));
    let r = api.post(
        "/v1/teams",
        json!({"id": "support", "name": "Again", "members": []}),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    let listed = expect(api.get("/v1/teams"), 200);
    assert_eq!(data(&listed).len(), 1);
    let u = expect(
        api.patch("/v1/teams/support", json!({"name": "Customer support"})),
        200,
    );
    assert_eq!(u["name"], "Customer support");
    assert_eq!(
        expect(api.get("/v1/teams/support"), 200)["name"],
        "Customer support"
    );
    assert_eq!(api.delete("/v1/teams/support").status, 204);
    assert_eq!(api.get("/v1/teams/support").status, 404);
}

#[test]
fn an_agents_routing_profile_is_stored() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let ann = agent_id(&api, "Ann");
    capacity(&api, &ann, 3);
    let profile = expect(api.get(&format!("/v1/agents/{ann}/routing")), 200);
    assert_eq!(profile["capacity"]["default"], 3, "{profile}");
    assert_eq!(profile["languages"], json!(["en"]));
    let r = api.get("/v1/agents/agt_01JD3QXV6ZK8M5N2P4R7S9T0WX/routing");
    assert_eq!(r.status, 404, "{}", r.text());
}

#[test]
fn a_widget_message_about_a_refund_goes_to_the_finance_teams_online_agent_naming_the_rule() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let fiona = agent_id(&api, "Fiona");
    let frank = agent_id(&api, "Frank");
    let sam = agent_id(&api, "Sam");
    for (id, members) in [("finance", vec![&fiona, &frank]), ("support", vec![&sam])] {
        expect(
            api.post(
                "/v1/teams",
                json!({"id": id, "name": id.to_uppercase(), "members": members}),
            ),
            201,
        );
    }
    expect(
        api.post("/v1/routing/rules", json!({"id": "refunds", "name": "Refunds to finance",
            "conditions": {"keywords": ["refund"]}, "target": {"team": "finance"}, "priority": "high"})),
        201,
    );
    expect(api.post("/v1/routing/rules", json!({"id": "everything-else", "name": "Everything else", "target": {"team": "support"}})), 201);
    let r = api.post(
        "/v1/routing/rules",
        json!({"id": "nowhere", "target": {"team": "ghosts"}}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    let rules = expect(api.get("/v1/routing/rules"), 200);
    assert_eq!(
        data(&rules).iter().map(id).collect::<Vec<_>>(),
        ["refunds", "everything-else"]
    );
    assert_eq!(
        expect(api.get("/v1/routing/rules/refunds"), 200)["name"],
        "Refunds to finance"
    );
    presence(&api, &fiona, "online");
    presence(&api, &sam, "online");

    let ada = Visitor::new(&app, &t, json!({"name": "Ada Lovelace"}));
    let cid = ada.say("Hello, I would like a REFUND for order 42");
    let c = conversation_of(&api, &cid);
    assert_eq!(
        (
            c["assignee_id"].clone(),
            c["team"].clone(),
            c["priority"].clone()
        ),
        (json!(fiona), json!("finance"), json!("high"))
    );
    let all = conversation_events(&api, &cid);
    let assigned = events_of(&all, "conversation.assigned");
    assert_eq!(assigned.len(), 1, "{all:?}");
    assert_eq!(assigned[0]["data"]["rule"]["id"], "refunds");
    assert_eq!(assigned[0]["data"]["source"], "routing");

    let bob = Visitor::new(&app, &t, json!({"name": "Bob"}));
    let other = bob.say("Where is my parcel?");
    assert_eq!(conversation_of(&api, &other)["assignee_id"], json!(sam));
    bob.say("refund then");
    assert_eq!(
        conversation_of(&api, &other)["assignee_id"],
        json!(sam),
        "a second message does not re-route"
    );

    expect(
        api.post(
            &format!("/v1/conversations/{other}/assign"),
            json!({ "agent_id": frank }),
        ),
        200,
    );
    let all = conversation_events(&api, &other);
    let manual: Vec<_> = events_of(&all, "conversation.assigned")
        .into_iter()
        .filter(|e| e["data"]["source"] == "manual")
        .collect();
    assert_eq!(manual.len(), 1, "{all:?}");
    assert_eq!(manual[0]["data"]["previous_agent_id"], json!(sam));
}

#[test]
fn at_capacity_visitors_queue_with_a_position_and_freed_capacity_takes_the_oldest_first() {
    let app = TestApp::new();
    let api = app.create_tenant("Busy");
    let t = api.tenant_id();
    let fiona = agent_id(&api, "Fiona");
    capacity(&api, &fiona, 1);
    expect(
        api.post(
            "/v1/teams",
            json!({"id": "support", "name": "Support", "members": [fiona]}),
        ),
        201,
    );
    expect(
        api.post(
            "/v1/routing/rules",
            json!({"id": "all", "name": "All chats", "target": {"team": "support"}}),
        ),
        201,
    );
    presence(&api, &fiona, "online");

    let one = Visitor::new(&app, &t, json!({"name": "One"}));
    let first = one.say("hi");
    assert_eq!(conversation_of(&api, &first)["assignee_id"], json!(fiona));
    let two = Visitor::new(&app, &t, json!({"name": "Two"}));
    let second = two.say("hello?");
    let three = Visitor::new(&app, &t, json!({"name": "Three"}));
    let third = three.say("anyone there");
    assert!(conversation_of(&api, &second)["assignee_id"].is_null());
    assert!(conversation_of(&api, &third)["assignee_id"].is_null());
    let feed = two.poll();
    assert_eq!(
        (
            feed["queue"]["position"].clone(),
            feed["queue"]["waiting"].clone()
        ),
        (json!(1), json!(2)),
        "{feed}"
    );
    assert_eq!(three.poll()["queue"]["position"], 2);
    let states = three.states_after("");
    assert_eq!(states.len(), 1, "{states:?}");
    let third_state = states[0]["state"].as_str().expect("a state").to_owned();
    assert!(three.states_after(&third_state).is_empty());
    let queue = expect(api.get("/v1/routing/queue"), 200);
    assert_eq!(data(&queue).len(), 2, "{queue}");
    assert_eq!(
        events_of(&conversation_events(&api, &second), "conversation.queued")[0]["data"]["reason"],
        "all_at_capacity"
    );

    expect(
        api.patch(
            &format!("/v1/conversations/{first}"),
            json!({"status": "resolved"}),
        ),
        200,
    );
    assert_eq!(conversation_of(&api, &second)["assignee_id"], json!(fiona));
    assert!(conversation_of(&api, &third)["assignee_id"].is_null());
    let moved = three.states_after(&third_state);
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0]["queue"]["position"], 1);

    presence(&api, &fiona, "offline");
    expect(
        api.patch(
            &format!("/v1/conversations/{second}"),
            json!({"status": "resolved"}),
        ),
        200,
    );
    assert!(
        conversation_of(&api, &third)["assignee_id"].is_null(),
        "an offline agent takes nothing"
    );
    presence(&api, &fiona, "online");
    assert_eq!(conversation_of(&api, &third)["assignee_id"], json!(fiona));
    assert!(data(&expect(api.get("/v1/routing/queue"), 200)).is_empty());
}

#[test]
fn routing_settings_are_read_and_replaced() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let before = expect(api.get("/v1/routing/settings"), 200);
    assert!(before.is_object(), "{before}");
    let put = expect(
        api.put(
            "/v1/routing/settings",
            json!({"csat": {"enabled": true, "allow_comment": false, "window_hours": 12}}),
        ),
        200,
    );
    assert_eq!(put["csat"]["window_hours"], 12, "{put}");
    let after = expect(api.get("/v1/routing/settings"), 200);
    assert_eq!(after["csat"]["enabled"], true);
    let agent = api.key_client("agent");
    assert_eq!(agent.put("/v1/routing/settings", json!({})).status, 403);
}

#[test]
fn a_rule_can_be_replaced_and_deleted() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    expect(
        api.post(
            "/v1/teams",
            json!({"id": "support", "name": "Support", "members": []}),
        ),
        201,
    );
    expect(
        api.post(
            "/v1/routing/rules",
            json!({"id": "all", "target": {"team": "support"}}),
        ),
        201,
    );
    let put = expect(
        api.put(
            "/v1/routing/rules/all",
            json!({"id": "all", "name": "Renamed", "target": {"team": "support"}}),
        ),
        200,
    );
    assert_eq!(put["name"], "Renamed");
    assert_eq!(api.delete("/v1/routing/rules/all").status, 204);
    assert_eq!(api.get("/v1/routing/rules/all").status, 404);
    assert!(data(&expect(api.get("/v1/routing/rules"), 200)).is_empty());
}

#[test]
fn the_rule_list_is_replaced_as_a_whole_and_validated_as_a_whole() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    expect(
        api.post(
            "/v1/teams",
            json!({"id": "support", "name": "Support", "members": []}),
        ),
        201,
    );
    expect(
        api.post(
            "/v1/routing/rules",
            json!({"id": "old", "target": {"team": "support"}}),
        ),
        201,
    );
    let r = api.put(
        "/v1/routing/rules",
        json!([{"id": "a", "target": {"team": "support"}}, {"id": "b", "target": {"team": "ghosts"}}]),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    let ids = |page: Value| data(&page).iter().map(id).collect::<Vec<_>>();
    assert_eq!(
        ids(expect(api.get("/v1/routing/rules"), 200)),
        ["old"],
        "a refused list changes nothing"
    );
    let put = expect(
        api.put("/v1/routing/rules", json!([{"id": "a", "target": {"team": "support"}}, {"id": "b", "target": {"team": "support"}}])),
        200,
    );
    assert_eq!(ids(put), ["a", "b"]);
    assert_eq!(ids(expect(api.get("/v1/routing/rules"), 200)), ["a", "b"]);
    let r = api.delete("/v1/teams/support");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (409, "in_use"),
        "rules still route to the team"
    );
}

#[test]
fn an_agent_key_may_assign_but_not_change_routing() {
    let app = TestApp::new();
    let admin = app.create_tenant("Shop");
    let agent_key = admin.key_client("agent");
    let ann = id(&agent(&admin, "ann@shop.test", "agent"));
    let c = contact(&admin, "Ada");
    let conv = conversation(&admin, &id(&c));
    let assigned = expect(
        agent_key.post(
            &format!("/v1/conversations/{}/assign", id(&conv)),
            json!({"agent_id": ann}),
        ),
        200,
    );
    assert_eq!(
        (
            assigned["outcome"].as_str(),
            assigned["conversation"]["assignee_id"].clone()
        ),
        (Some("assigned"), json!(ann)),
        "{assigned}"
    );
    for (method, path, body) in [
        (
            "POST",
            "/v1/teams",
            json!({"id": "x", "name": "X", "members": []}),
        ),
        (
            "POST",
            "/v1/routing/rules",
            json!({"id": "x", "target": {"agent": ann}}),
        ),
        (
            "PUT",
            &*format!("/v1/agents/{ann}/routing"),
            json!({"capacity": {"default": 1}}),
        ),
    ] {
        let r = agent_key.request(method, path).json(&body).send();
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (403, "forbidden"),
            "{method} {path}"
        );
    }
}
