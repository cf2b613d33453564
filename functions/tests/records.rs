//! Agents, contacts, conversations with their messages, and tickets: CRUD, event histories,
//! pagination, idempotency keys and If-Match, in process.

mod common;
use common::*;

fn kinds(events: &Value) -> Vec<String> {
    data(events)
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn agents_have_unique_emails_and_an_admin_key_cannot_create_owners() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let a = agent(&api, "Ann@Example.com", "agent");
    let r = api.post(
        "/v1/agents",
        json!({"email": "ann@example.com", "name": "Ann 2", "role": "viewer"}),
    );
    assert_eq!((r.status, r.error_code().as_str()), (409, "email_taken"));
    let r = api.post(
        "/v1/agents",
        json!({"email": "boss@example.com", "name": "Boss", "role": "owner"}),
    );
    assert_eq!((r.status, r.error_code().as_str()), (403, "forbidden"));
    let u = expect(
        api.patch(&format!("/v1/agents/{}", id(&a)), json!({"role": "admin"})),
        200,
    );
    assert_eq!(u["role"], "admin");
    let page = expect(api.get("/v1/agents?role=admin"), 200);
    assert_eq!(data(&page).len(), 1);
    let got = expect(api.get(&format!("/v1/agents/{}", id(&a))), 200);
    assert_eq!(got["name"], "Ann");
    assert_eq!(api.delete(&format!("/v1/agents/{}", id(&a))).status, 204);
    assert_eq!(api.get(&format!("/v1/agents/{}", id(&a))).status, 404);
}

#[test]
fn contacts_are_created_updated_listed_and_keep_an_event_history() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let c = contact(&api, "Ada");
    assert_eq!(c["email"], "ada@example.com");
    let path = format!("/v1/contacts/{}", id(&c));
    let u = expect(api.patch(&path, json!({"name": "Ada L."})), 200);
    assert_eq!(
        (u["name"].as_str(), u["version"].as_u64()),
        (Some("Ada L."), Some(2))
    );
    let events = expect(api.get(&format!("{path}/events")), 200);
    assert_eq!(kinds(&events), ["contact.created", "contact.updated"]);
    contact(&api, "Bob");
    assert_eq!(data(&expect(api.get("/v1/contacts"), 200)).len(), 2);
    let r = api.post("/v1/contacts", json!({"email": "nope"}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    assert_eq!(api.delete(&path).status, 204);
    assert_eq!(api.get(&path).status, 404);
}

#[test]
fn tickets_have_sequential_numbers_full_crud_and_an_event_history() {
    let app = TestApp::new();
    let api = app.create_tenant("Acme");
    let c = contact(&api, "Ada");
    let numbers: Vec<u64> = (0..3)
        .map(|i| ticket(&api, &format!("t{i}"))["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    let t = expect(
        api.post(
            "/v1/tickets",
            json!({"subject": "Refund", "description": "order 42", "priority": "high",
                   "requester_id": id(&c), "tags": ["billing"], "custom_fields": {"order": 42}}),
        ),
        201,
    );
    assert_eq!(
        (
            t["status"].as_str(),
            t["priority"].as_str(),
            t["number"].as_u64()
        ),
        (Some("new"), Some("high"), Some(4))
    );
    let tid = id(&t);
    let u = expect(
        api.patch(
            &format!("/v1/tickets/{tid}"),
            json!({"status": "open", "tags": ["billing", "vip"]}),
        ),
        200,
    );
    assert_eq!(
        (u["status"].as_str(), u["version"].as_u64()),
        (Some("open"), Some(2))
    );
    let events = expect(api.get(&format!("/v1/tickets/{tid}/events")), 200);
    assert_eq!(kinds(&events), ["ticket.created", "ticket.updated"]);
    let update = &data(&events)[1];
    assert_eq!(update["actor"]["kind"], "api_key");
    assert_eq!(
        update["data"]["status"],
        json!({"from": "new", "to": "open"})
    );
    let list = expect(api.get("/v1/tickets?status=open&tag=vip"), 200);
    assert_eq!(data(&list).len(), 1);
    assert_eq!(api.delete(&format!("/v1/tickets/{tid}")).status, 204);
    let r = api.get(&format!("/v1/tickets/{tid}"));
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
}

#[test]
fn ticket_input_errors_name_the_problem_and_write_nothing() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let mark = app.platform.commit_mark();
    for (body, status, code) in [
        (r#"{"subject":"x","priorty":"high"}"#, 400, "invalid_body"),
        (r#"{"subject":5}"#, 400, "invalid_body"),
        (
            r#"{"subject":"x","priority":"whenever"}"#,
            400,
            "invalid_body",
        ),
        (
            r#"{"subject":"x","tags":["a","a"]}"#,
            422,
            "validation_failed",
        ),
        (
            r#"{"subject":"x","custom_fields":{"k":{"nested":1}}}"#,
            422,
            "validation_failed",
        ),
        (r#"["x","y"]"#, 400, "invalid_body"),
    ] {
        let r = api
            .request("POST", "/v1/tickets")
            .header("content-type", "application/json")
            .body(body)
            .send();
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (status, code),
            "{body}"
        );
    }
    for (query, code) in [
        ("limit=0", "invalid_query"),
        ("limit=1000", "invalid_query"),
        ("bogus=1", "invalid_query"),
        ("cursor=abc", "invalid_cursor"),
    ] {
        let r = api.get(&format!("/v1/tickets?{query}"));
        assert_eq!((r.status, r.error_code().as_str()), (400, code), "{query}");
    }
    assert!(app.platform.commits_since(mark).is_empty());
}

#[test]
fn cursor_pagination_walks_every_ticket_once_newest_first() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let created: Vec<String> = (0..12)
        .map(|i| id(&ticket(&api, &format!("t{i}"))))
        .collect();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/tickets?limit=5&cursor={c}"),
            None => "/v1/tickets?limit=5".to_owned(),
        };
        let page = expect(api.get(&path), 200);
        seen.extend(data(&page).iter().map(id));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut expected = created;
    expected.reverse();
    assert_eq!(seen, expected);
}

#[test]
fn a_retried_ticket_create_with_the_same_idempotency_key_is_replayed() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let send = |body: Value| {
        api.request("POST", "/v1/tickets")
            .header("idempotency-key", "retry-1")
            .json(&body)
            .send()
    };
    let first = send(json!({"subject": "Printer on fire"}));
    let second = send(json!({"subject": "Printer on fire"}));
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.json()["id"], second.json()["id"]);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.header("idempotent-replayed"), None);
    let other = send(json!({"subject": "different"}));
    assert_eq!(
        (other.status, other.error_code().as_str()),
        (422, "idempotency_key_reused")
    );
    assert_eq!(data(&expect(api.get("/v1/tickets"), 200)).len(), 1);
}

#[test]
fn a_stale_if_match_gets_412_and_changes_nothing() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let created = api.post("/v1/tickets", json!({"subject": "v1"}));
    let etag = created.header("etag").expect("an ETag").to_owned();
    assert_eq!(etag, "\"v1\"");
    let path = format!("/v1/tickets/{}", id(&created.json()));
    let patch = |subject: &str, if_match: &str| {
        api.request("PATCH", &path)
            .header("if-match", if_match)
            .json(&json!({"subject": subject}))
            .send()
    };
    let ok = patch("v2", &etag);
    assert_eq!((ok.status, ok.header("etag")), (200, Some("\"v2\"")));
    let stale = patch("lost update", &etag);
    assert_eq!(
        (stale.status, stale.error_code().as_str()),
        (412, "precondition_failed")
    );
    let bad = patch("x", "nonsense");
    assert_eq!(
        (bad.status, bad.error_code().as_str()),
        (400, "invalid_if_match")
    );
    let t = expect(api.get(&path), 200);
    assert_eq!(
        (t["subject"].as_str(), t["version"].as_u64()),
        (Some("v2"), Some(2))
    );
}

#[test]
fn a_conversation_keeps_its_messages_in_order_and_pages_by_sequence() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let c = contact(&api, "Ada");
    let conv = conversation(&api, &id(&c));
    assert_eq!(conv["last_message_seq"], 1);
    let path = format!("/v1/conversations/{}/messages", id(&conv));
    for i in 2..=6 {
        let m = expect(api.post(&path, json!({"body": format!("reply {i}")})), 201);
        assert_eq!(m["seq"], i);
    }
    let first = expect(api.get(&format!("{path}?limit=4")), 200);
    let seqs: Vec<u64> = data(&first)
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        (seqs, first["has_more"].as_bool()),
        (vec![1, 2, 3, 4], Some(true))
    );
    let rest = expect(api.get(&format!("{path}?after={}", first["last_seq"])), 200);
    let bodies: Vec<Value> = data(&rest).iter().map(|m| m["body"].clone()).collect();
    assert_eq!(
        (bodies, rest["has_more"].as_bool()),
        (vec![json!("reply 5"), json!("reply 6")], Some(false))
    );
    let got = expect(api.get(&format!("/v1/conversations/{}", id(&conv))), 200);
    assert_eq!(got["last_message_seq"], 6);
    let events = expect(
        api.get(&format!("/v1/conversations/{}/events", id(&conv))),
        200,
    );
    assert_eq!(kinds(&events)[0], "conversation.created");
}

#[test]
fn a_retried_message_post_with_an_idempotency_key_is_stored_once() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let c = contact(&api, "Ada");
    let conv = conversation(&api, &id(&c));
    let path = format!("/v1/conversations/{}/messages", id(&conv));
    let post = || {
        api.request("POST", &path)
            .header("idempotency-key", "m-1")
            .json(&json!({"body": "once"}))
            .send()
    };
    let (m1, m2) = (post(), post());
    assert_eq!((m1.status, m2.status), (201, 201));
    assert_eq!(m1.json()["seq"], m2.json()["seq"]);
    let msgs = expect(api.get(&path), 200);
    assert_eq!(data(&msgs).len(), 2, "the first message plus one reply");
}

#[test]
fn conversation_updates_honour_if_match_and_are_recorded() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let c = contact(&api, "Ada");
    let conv = conversation(&api, &id(&c));
    let path = format!("/v1/conversations/{}", id(&conv));
    let stale = api
        .request("PATCH", &path)
        .header("if-match", "\"v9\"")
        .json(&json!({"status": "resolved"}))
        .send();
    assert_eq!(stale.status, 412);
    let ok = expect(
        api.patch(&path, json!({"status": "resolved", "labels": ["vip"]})),
        200,
    );
    assert_eq!(
        (ok["status"].as_str(), ok["labels"].clone()),
        (Some("resolved"), json!(["vip"]))
    );
    let open = expect(api.get("/v1/conversations?status=open"), 200);
    assert!(data(&open).is_empty());
    let resolved = expect(api.get("/v1/conversations?status=resolved"), 200);
    assert_eq!(data(&resolved).len(), 1);
    let events = expect(api.get(&format!("{path}/events")), 200);
    assert!(
        kinds(&events).contains(&"conversation.updated".to_owned()),
        "{events}"
    );
}

#[test]
fn posting_a_message_commits_to_the_conversation_and_its_tenant_only() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let c = contact(&api, "Ada");
    let conv = conversation(&api, &id(&c));
    let mark = app.platform.commit_mark();
    expect(
        api.post(
            &format!("/v1/conversations/{}/messages", id(&conv)),
            json!({"body": "hi"}),
        ),
        201,
    );
    let counts = app.platform.commit_counts_since(mark);
    let conv_actor = format!("c:{}", id(&conv));
    assert!(
        counts.get(&conv_actor).is_some_and(|n| *n >= 1),
        "{counts:?}"
    );
    assert!(
        counts
            .keys()
            .all(|a| *a == conv_actor || *a == api.tenant_actor()),
        "{counts:?}"
    );
    assert!(app.platform.held_locks().is_empty());
}

#[test]
fn a_snoozed_conversation_reopens_when_the_sweep_runs_after_its_time() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let c = contact(&api, "Ada");
    let conv = conversation(&api, &id(&c));
    let path = format!("/v1/conversations/{}", id(&conv));
    let until = app.platform.now() + chrono::Duration::hours(2);
    let r = api.patch(&path, json!({"snoozed_until": until}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed"),
        "only a snoozed conversation takes a snooze time"
    );
    let snoozed = expect(
        api.patch(&path, json!({"status": "snoozed", "snoozed_until": until})),
        200,
    );
    assert_eq!(snoozed["status"], "snoozed");
    assert!(
        app.platform.alarms().contains(&until),
        "{:?}",
        app.platform.alarms()
    );
    app.platform.advance(std::time::Duration::from_secs(3600));
    assert_eq!(app.sweep(), 0, "not yet");
    assert_eq!(expect(api.get(&path), 200)["status"], "snoozed");
    app.platform.advance(std::time::Duration::from_secs(3601));
    assert_eq!(app.sweep(), 1);
    let woken = expect(api.get(&path), 200);
    assert_eq!(
        (woken["status"].as_str(), woken["snoozed_until"].as_str()),
        (Some("open"), None)
    );
    let events = expect(api.get(&format!("{path}/events")), 200);
    let last = data(&events).pop().unwrap();
    assert_eq!(
        (
            last["actor"]["kind"].as_str(),
            last["data"]["reason"].as_str()
        ),
        (Some("system"), Some("snooze ended"))
    );
}

#[test]
fn the_inbox_feed_resumes_from_its_cursor_and_delivers_each_change_once() {
    let app = TestApp::new();
    let api = app.create_tenant("Inbox");
    let first = expect(api.get("/v1/realtime?wait=0"), 200);
    let cursor = first["cursor"].as_str().expect("a cursor").to_owned();
    let c = contact(&api, "Ada");
    let conv = conversation(&api, &id(&c));
    expect(
        api.post(
            &format!("/v1/conversations/{}/messages", id(&conv)),
            json!({"body": "two"}),
        ),
        201,
    );
    let feed = expect(
        api.get(&format!("/v1/realtime?cursor={cursor}&wait=0")),
        200,
    );
    let seen: Vec<Value> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "conversation")
        .map(|e| e["conversation"]["last_message_seq"].clone())
        .collect();
    assert_eq!(seen.last(), Some(&json!(2)), "{feed}");
    let next = feed["cursor"].as_str().unwrap().to_owned();
    assert!(next > cursor);
    let idle = expect(api.get(&format!("/v1/realtime?cursor={next}&wait=0")), 200);
    assert_eq!(idle["events"], json!([]), "nothing is delivered twice");
    let other = app.create_tenant("Other");
    let theirs = expect(other.get("/v1/realtime?wait=0"), 200);
    let theirs = expect(
        other.get(&format!(
            "/v1/realtime?cursor={}&wait=0",
            theirs["cursor"].as_str().unwrap()
        )),
        200,
    );
    assert_eq!(
        theirs["events"],
        json!([]),
        "another tenant's inbox stays quiet"
    );
}

#[test]
fn agent_presence_is_set_and_read_back() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let a = agent(&api, "ann@a.test", "agent");
    let r = expect(
        api.put(
            &format!("/v1/agents/{}/presence", id(&a)),
            json!({"status": "online"}),
        ),
        200,
    );
    assert_eq!(r["status"], "online", "{r}");
    let r = api.put(
        &format!("/v1/agents/{}/presence", id(&a)),
        json!({"status": "dancing"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let t = api.tenant_id();
    let cfg = expect(app.anon().get(&format!("/v1/widget/{t}/config")), 200);
    assert_eq!(
        cfg["online"], true,
        "an online agent shows the widget as online: {cfg}"
    );
}

#[test]
fn a_ticket_number_is_taken_under_the_tenants_lock_where_no_conflict_can_reach_it() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    ticket(&api, "first");
    let mark = app.platform.commit_mark();
    app.platform.inject_conflicts(3);
    let t = ticket(&api, "second");
    assert_eq!(t["number"], 2);
    assert_eq!(
        app.platform.conflicts(),
        0,
        "the counter's transaction holds the lock from the start"
    );
    assert_eq!(
        app.platform.commit_count_since(mark, &api.tenant_actor()),
        1
    );
    app.platform.inject_conflicts(0);
}

#[test]
fn a_contact_create_that_conflicts_is_retried_and_stored_once() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let mark = app.platform.commit_mark();
    app.platform.inject_conflicts(1);
    let c = contact(&api, "Ada");
    assert_eq!(app.platform.conflicts(), 1, "the first commit was refused");
    assert_eq!(
        app.platform.commit_count_since(mark, &api.tenant_actor()),
        1,
        "a refused batch is not recorded; the retry commits once"
    );
    let page = expect(api.get("/v1/contacts"), 200);
    assert_eq!(data(&page).iter().map(id).collect::<Vec<_>>(), [id(&c)]);
}

#[test]
fn a_message_post_that_conflicts_is_retried_without_a_gap_in_sequence_numbers() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let c = contact(&api, "Ada");
    let conv = conversation(&api, &id(&c));
    let path = format!("/v1/conversations/{}/messages", id(&conv));
    app.platform.inject_conflicts(2);
    let m = expect(api.post(&path, json!({"body": "despite a conflict"})), 201);
    assert_eq!(m["seq"], 2);
    assert_eq!(app.platform.conflicts(), 2);
    let m = expect(api.post(&path, json!({"body": "next"})), 201);
    assert_eq!(m["seq"], 3);
    assert_eq!(
        expect(api.get(&format!("/v1/conversations/{}", id(&conv))), 200)["last_message_seq"],
        3
    );
}

#[test]
#[ignore = "handler bug: POST /v1/conversations with an unknown contact_id answers \"requester_id: no such contact\", naming a field the request does not have (tickets::check_refs is reused)"]
fn an_unknown_contact_id_is_named_in_the_validation_error() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let r = api.post(
        "/v1/conversations",
        json!({"contact_id": "ctc_01JD3QXV6ZK8M5N2P4R7S9T0WX"}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("contact_id:"), "{message}");
}

#[test]
fn records_of_another_tenant_cannot_be_referenced() {
    let app = TestApp::new();
    let a = app.create_tenant("A");
    let b = app.create_tenant("B");
    let ada = contact(&a, "Ada");
    let conv = conversation(&a, &id(&ada));
    let ann = agent(&a, "ann@a.test", "agent");
    let mark = app.platform.commit_mark();
    for (path, body) in [
        (
            "/v1/tickets",
            json!({"subject": "x", "assignee_id": id(&ann)}),
        ),
        (
            "/v1/tickets",
            json!({"subject": "x", "requester_id": id(&ada)}),
        ),
        (
            "/v1/tickets",
            json!({"subject": "x", "conversation_id": id(&conv)}),
        ),
        ("/v1/conversations", json!({"contact_id": id(&ada)})),
        (
            "/v1/teams",
            json!({"id": "t", "name": "T", "members": [id(&ann)]}),
        ),
    ] {
        let r = b.post(path, body.clone());
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (422, "validation_failed"),
            "{path} {body}"
        );
    }
    assert!(
        app.platform.commits_since(mark).is_empty(),
        "nothing was written: {:?}",
        app.platform.commit_counts_since(mark)
    );
}

#[test]
fn contacts_page_with_a_cursor_bound_to_their_filters() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let made: Vec<String> = (0..5)
        .map(|i| id(&contact(&api, &format!("C{i}"))))
        .collect();
    let first = expect(api.get("/v1/contacts?limit=3"), 200);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let second = expect(
        api.get(&format!("/v1/contacts?limit=3&cursor={cursor}")),
        200,
    );
    assert!(second["next_cursor"].is_null());
    let mut seen: Vec<String> = data(&first)
        .iter()
        .chain(data(&second).iter())
        .map(id)
        .collect();
    seen.reverse();
    assert_eq!(seen, made, "newest first, each once");
    let r = api.get(&format!(
        "/v1/contacts?limit=3&email=c1@example.com&cursor={cursor}"
    ));
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_cursor"));
    let found = expect(api.get("/v1/contacts?email=c1@example.com"), 200);
    assert_eq!(
        data(&found).iter().map(id).collect::<Vec<_>>(),
        [made[1].clone()]
    );
}
