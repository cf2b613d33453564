//! Ticket replies, watchers, duplicate suggestions and merging, in process.

mod common;
use common::*;

fn ticket_events(api: &Client, ticket: &str) -> Vec<Value> {
    data(&expect(
        api.get(&format!("/v1/tickets/{ticket}/events?limit=100")),
        200,
    ))
}

#[test]
fn ticket_messages_are_posted_and_listed_in_order() {
    let app = TestApp::new();
    let api = app.create_tenant("Desk");
    let requester = id(&contact(&api, "Lee"));
    let t = id(&expect(
        api.post(
            "/v1/tickets",
            json!({"subject": "Broken", "requester_id": requester}),
        ),
        201,
    ));
    let path = format!("/v1/tickets/{t}/messages");
    expect(
        api.post(
            &path,
            json!({"body": "It broke again", "from": "requester"}),
        ),
        201,
    );
    expect(api.post(&path, json!({"body": "Looking into it"})), 201);
    let page = expect(api.get(&path), 200);
    let bodies: Vec<Value> = data(&page).iter().map(|m| m["body"].clone()).collect();
    assert_eq!(bodies, [json!("It broke again"), json!("Looking into it")]);
    let r = api.post(&path, json!({"body": ""}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    let other = app.create_tenant("Other");
    assert_eq!(other.get(&path).status, 404);
}

#[test]
fn watchers_are_replaced_and_must_be_agents_of_the_tenant() {
    let app = TestApp::new();
    let api = app.create_tenant("Desk");
    let sam = id(&agent(&api, "sam@desk.test", "agent"));
    let t = id(&ticket(&api, "Watch me"));
    let path = format!("/v1/tickets/{t}/watchers");
    assert_eq!(expect(api.get(&path), 200)["agent_ids"], json!([]));
    expect(api.put(&path, json!({"agent_ids": [sam]})), 200);
    assert_eq!(expect(api.get(&path), 200)["agent_ids"], json!([sam]));
    let r = api.put(
        &path,
        json!({"agent_ids": ["agt_01JD3QXV6ZK8M5N2P4R7S9T0WX"]}),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(expect(api.get(&path), 200)["agent_ids"], json!([sam]));
}

#[test]
fn merging_moves_messages_tags_watchers_and_events_and_the_merged_ticket_points_to_its_target() {
    let app = TestApp::new();
    let api = app.create_tenant("Merge Co");
    let requester = id(&contact(&api, "Lee"));
    let sam = id(&agent(&api, "sam@merge.example", "agent"));
    let a = expect(
        api.post(
            "/v1/tickets",
            json!({"subject": "Refund for order 1234 not received",
            "description": "I was charged twice for order 1234 and the refund has not arrived.",
            "requester_id": requester, "tags": ["billing"]}),
        ),
        201,
    );
    let b_input = json!({"subject": "Refund not received for order 1234",
        "description": "Charged twice on order 1234, still waiting for the refund.",
        "requester_id": requester, "tags": ["refund"]});
    let create_b = || {
        api.request("POST", "/v1/tickets")
            .header("idempotency-key", "b-1")
            .json(&b_input)
            .send()
    };
    let first = create_b();
    let retry = create_b();
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let b = expect(first, 201);
    assert_eq!(
        retry.json(),
        b,
        "a retried create answers exactly as the first"
    );
    let (a_id, b_id) = (id(&a), id(&b));
    let suggested: Vec<&str> = b["duplicate_candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .filter_map(|c| c["ticket_id"].as_str())
        .collect();
    assert_eq!(suggested, [a_id.as_str()], "{b}");
    let dups = expect(api.get(&format!("/v1/tickets/{a_id}/duplicates")), 200);
    assert_eq!(dups["data"][0]["ticket_id"], b_id.as_str(), "{dups}");
    let m = expect(
        api.post(
            &format!("/v1/tickets/{b_id}/messages"),
            json!({"body": "Any news on my refund?", "from": "requester"}),
        ),
        201,
    );
    expect(
        api.put(
            &format!("/v1/tickets/{b_id}/watchers"),
            json!({"agent_ids": [sam]}),
        ),
        200,
    );

    let merged = expect(
        api.post(&format!("/v1/tickets/{b_id}/merge"), json!({"into": a_id})),
        200,
    );
    assert_eq!(merged["id"], a_id.as_str());
    assert_eq!(merged["tags"], json!(["billing", "refund"]));
    let messages = expect(api.get(&format!("/v1/tickets/{a_id}/messages")), 200);
    let moved = &messages["data"][0];
    assert_eq!(
        (moved["id"].clone(), moved["merged_from"].clone()),
        (m["id"].clone(), json!(b_id)),
        "{messages}"
    );
    assert_eq!(
        expect(api.get(&format!("/v1/tickets/{a_id}/watchers")), 200)["agent_ids"],
        json!([sam])
    );
    let a_history = ticket_events(&api, &a_id);
    assert!(a_history
        .iter()
        .any(|e| e["kind"] == "ticket.merged" && e["data"]["merged"] == b_id.as_str()));
    assert!(
        a_history
            .iter()
            .any(|e| e["kind"] == "ticket.created" && e["data"]["id"] == b_id.as_str()),
        "B's history moved to A"
    );
    let b_now = expect(api.get(&format!("/v1/tickets/{b_id}")), 200);
    assert_eq!(
        (b_now["status"].as_str(), b_now["merged_into"].as_str()),
        (Some("closed"), Some(a_id.as_str()))
    );
    let refused = api.patch(&format!("/v1/tickets/{b_id}"), json!({"status": "open"}));
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (409, "ticket_merged")
    );
    assert_eq!(refused.json()["merged_into"], a_id.as_str());
    for (from, into, code) in [
        (&a_id, &b_id, "merge_loop"),
        (&a_id, &a_id, "merge_into_itself"),
        (&b_id, &a_id, "ticket_merged"),
    ] {
        let r = api.post(&format!("/v1/tickets/{from}/merge"), json!({"into": into}));
        assert_eq!((r.status, r.error_code().as_str()), (409, code));
    }
}

#[test]
fn a_merge_across_tenants_is_refused_and_changes_nothing() {
    let app = TestApp::new();
    let ours = app.create_tenant("Ours");
    let theirs = app.create_tenant("Theirs");
    let mine = ticket(&ours, "Mine");
    let other = expect(
        theirs.post(
            "/v1/tickets",
            json!({"subject": "Theirs", "tags": ["secret"]}),
        ),
        201,
    );
    let mark = app.platform.commit_mark();
    let r = ours.post(
        &format!("/v1/tickets/{}/merge", id(&mine)),
        json!({"into": id(&other)}),
    );
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
    let r = theirs.post(
        &format!("/v1/tickets/{}/merge", id(&other)),
        json!({"into": id(&mine)}),
    );
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
    assert!(
        app.platform.commits_since(mark).is_empty(),
        "nothing was written"
    );
    let r = theirs.get(&format!("/v1/tickets/{}/duplicates", id(&mine)));
    assert_eq!(r.status, 404);
}
