//! The HTTP API end to end, against the real host running the real component.

use std::collections::BTreeSet;

use edgedesk_e2e::{error_code, sign, unix_now, Api, Host};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

fn ticket(api: &Api, subject: &str) -> Value {
    let (s, t) = api.post("/v1/tickets", &json!({"subject": subject}));
    assert_eq!(s, 201, "{t}");
    t
}

fn contact(api: &Api, name: &str) -> Value {
    let (s, c) = api.post(
        "/v1/contacts",
        &json!({"name": name, "email": format!("{}@example.com", name.to_lowercase())}),
    );
    assert_eq!(s, 201, "{c}");
    c
}

fn conversation(api: &Api, contact_id: &str) -> Value {
    let (s, c) = api.post("/v1/conversations", &json!({"contact_id": contact_id, "message": {"body": "hello", "sender": {"kind": "contact", "id": contact_id}}}));
    assert_eq!(s, 201, "{c}");
    c
}

#[test]
fn health_and_a_generated_openapi_document_are_served() {
    let host = Host::start();
    let (s, b) = host.anon().get("/health");
    assert_eq!((s, b["status"].as_str()), (200, Some("ok")));
    let (s, doc) = host.anon().get("/v1/openapi.json");
    assert_eq!(s, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/v1/tickets",
        "/v1/tickets/{id}",
        "/v1/conversations/{id}/messages",
        "/v1/channels/api/{id}/inbound",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["Ticket"].is_object());
}

#[test]
fn a_tenant_gets_an_admin_key_once_and_listings_show_only_prefixes() {
    let host = Host::start();
    let api = host.tenant("Acme");
    let key = api.key.clone().unwrap();
    let (s, page) = api.get("/v1/api-keys");
    assert_eq!(s, 200);
    let listed = page["data"][0].clone();
    assert_eq!(listed["scope"], "admin");
    let prefix = listed["prefix"].as_str().unwrap();
    assert!(key.starts_with(prefix) && key.len() > prefix.len() + 40);
    assert!(
        !page.to_string().contains(&key[prefix.len() + 1..]),
        "the secret never appears in listings"
    );
    let (s, t) = api.get("/v1/tenant");
    assert_eq!((s, t["name"].as_str()), (200, Some("Acme")));
}

#[test]
fn tickets_have_sequential_numbers_and_full_crud_with_an_event_history() {
    let host = Host::start();
    let api = host.tenant("Acme");
    let c = contact(&api, "Ada");
    let numbers: Vec<u64> = (0..3)
        .map(|i| ticket(&api, &format!("t{i}"))["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3]);
    let (s, t) = api.post(
        "/v1/tickets",
        &json!({"subject": "Refund", "description": "order 42", "priority": "high",
        "requester_id": id(&c), "tags": ["billing"], "custom_fields": {"order": 42}}),
    );
    assert_eq!(s, 201, "{t}");
    assert_eq!(
        (
            t["status"].as_str(),
            t["priority"].as_str(),
            t["number"].as_u64()
        ),
        (Some("new"), Some("high"), Some(4))
    );
    let tid = id(&t);
    let (s, u) = api.patch(
        &format!("/v1/tickets/{tid}"),
        &json!({"status": "open", "tags": ["billing", "vip"]}),
    );
    assert_eq!(
        (s, u["status"].as_str(), u["version"].as_u64()),
        (200, Some("open"), Some(2))
    );
    let (s, got) = api.get(&format!("/v1/tickets/{tid}"));
    assert_eq!((s, got["tags"].clone()), (200, json!(["billing", "vip"])));
    let (s, events) = api.get(&format!("/v1/tickets/{tid}/events"));
    assert_eq!(s, 200);
    let kinds: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["ticket.created", "ticket.updated"]);
    let update = &events["data"][1];
    assert_eq!(update["actor"]["kind"], "api_key");
    assert_eq!(
        update["data"]["status"],
        json!({"from": "new", "to": "open"})
    );
    let (s, list) = api.get("/v1/tickets?status=open&tag=vip");
    assert_eq!((s, list["data"].as_array().unwrap().len()), (200, 1));
    let (s, _) = api.delete(&format!("/v1/tickets/{tid}"));
    assert_eq!(s, 204);
    let (s, b) = api.get(&format!("/v1/tickets/{tid}"));
    assert_eq!((s, error_code(&b)), (404, "not_found"));
}

#[test]
fn another_tenants_key_gets_404_for_every_object_and_changes_nothing() {
    let host = Host::start();
    let a = host.tenant("A");
    let b = host.tenant("B");
    let c = contact(&a, "Ada");
    let t = ticket(&a, "secret");
    let conv = conversation(&a, &id(&c));
    let (_, agent) = a.post(
        "/v1/agents",
        &json!({"email": "x@a.test", "name": "X", "role": "agent"}),
    );
    let paths = [
        format!("/v1/tickets/{}", id(&t)),
        format!("/v1/tickets/{}/events", id(&t)),
        format!("/v1/contacts/{}", id(&c)),
        format!("/v1/contacts/{}/events", id(&c)),
        format!("/v1/conversations/{}", id(&conv)),
        format!("/v1/conversations/{}/messages", id(&conv)),
        format!("/v1/conversations/{}/events", id(&conv)),
        format!("/v1/agents/{}", id(&agent)),
    ];
    for p in &paths {
        let (s, body) = b.get(p);
        assert_eq!((s, error_code(&body)), (404, "not_found"), "GET {p}");
    }
    for p in &paths[..1] {
        let (s, _) = b.patch(p, &json!({"subject": "pwned"}));
        assert_eq!(s, 404);
        let (s, _) = b.delete(p);
        assert_eq!(s, 404);
    }
    let (s, _) = b.post(
        &format!("/v1/conversations/{}/messages", id(&conv)),
        &json!({"body": "hi"}),
    );
    assert_eq!(s, 404);
    let (s, body) = b.post(
        "/v1/tickets",
        &json!({"subject": "x", "requester_id": id(&c)}),
    );
    assert_eq!(
        (s, error_code(&body)),
        (422, "validation_failed"),
        "a foreign contact id is unknown"
    );
    let (_, still) = a.get(&format!("/v1/tickets/{}", id(&t)));
    assert_eq!(
        (still["subject"].as_str(), still["version"].as_u64()),
        (Some("secret"), Some(1))
    );
}

#[test]
fn list_filters_and_cursors_never_cross_tenants() {
    let host = Host::start();
    let a = host.tenant("A");
    let b = host.tenant("B");
    let c = contact(&a, "Ada");
    for i in 0..5 {
        let (s, _) = a.post(
            "/v1/tickets",
            &json!({"subject": format!("a{i}"), "requester_id": id(&c), "tags": ["shared"]}),
        );
        assert_eq!(s, 201);
    }
    ticket(&b, "b0");
    for q in [
        format!("requester_id={}", id(&c)),
        "tag=shared".to_owned(),
        "status=new".to_owned(),
    ] {
        let (s, page) = b.get(&format!("/v1/tickets?{q}"));
        assert_eq!(s, 200);
        assert!(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["subject"].as_str().unwrap().starts_with('b')),
            "{q}: {page}"
        );
    }
    let (_, page) = a.get("/v1/tickets?limit=2");
    let cursor = page["next_cursor"].as_str().expect("more pages").to_owned();
    let (s, body) = b.get(&format!("/v1/tickets?limit=2&cursor={cursor}"));
    assert_eq!((s, error_code(&body)), (400, "invalid_cursor"));
    let (s, body) = a.get(&format!("/v1/tickets?limit=2&status=open&cursor={cursor}"));
    assert_eq!(
        (s, error_code(&body)),
        (400, "invalid_cursor"),
        "a cursor is bound to its filters"
    );
}

#[test]
fn cursor_pagination_walks_every_record_once_newest_first() {
    let host = Host::start();
    let api = host.tenant("A");
    let created: Vec<String> = (0..23)
        .map(|i| id(&ticket(&api, &format!("t{i}"))))
        .collect();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/tickets?limit=5&cursor={c}"),
            None => "/v1/tickets?limit=5".to_owned(),
        };
        let (s, page) = api.get(&path);
        assert_eq!(s, 200, "{page}");
        seen.extend(page["data"].as_array().unwrap().iter().map(id));
        // A record created mid-walk must not shift the pages already handed out.
        if seen.len() == 5 {
            ticket(&api, "late");
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut expected = created.clone();
    expected.reverse();
    assert_eq!(seen, expected);
}

#[test]
fn malformed_unknown_and_oversize_input_gets_clear_errors_and_writes_nothing() {
    let host = Host::start();
    let api = host.tenant("A");
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "POST",
            "/v1/tickets",
            b"{not json".to_vec(),
            400,
            "invalid_json",
        ),
        ("POST", "/v1/tickets", b"".to_vec(), 400, "invalid_json"),
        (
            "POST",
            "/v1/tickets",
            br#"{"subject":"x","priorty":"high"}"#.to_vec(),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/v1/tickets",
            br#"{"subject":5}"#.to_vec(),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/v1/tickets",
            br#"{"subject":"x","priority":"whenever"}"#.to_vec(),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/v1/tickets",
            br#"{"subject":""}"#.to_vec(),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/v1/tickets",
            br#"{"subject":"x","tags":["a","a"]}"#.to_vec(),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/v1/tickets",
            br#"{"subject":"x","custom_fields":{"k":{"nested":1}}}"#.to_vec(),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/v1/tickets",
            format!(r#"{{"subject":"{}"}}"#, "x".repeat(501)).into_bytes(),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/v1/contacts",
            br#"{"email":"nope"}"#.to_vec(),
            422,
            "validation_failed",
        ),
        ("GET", "/v1/tickets/not-an-id", Vec::new(), 404, "not_found"),
        (
            "GET",
            "/v1/tickets/tkt_01JD3QXV6ZK8M5N2P4R7S9T0WX",
            Vec::new(),
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/tickets/cnv_01JD3QXV6ZK8M5N2P4R7S9T0WX",
            Vec::new(),
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/tickets?limit=0",
            Vec::new(),
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/v1/tickets?limit=1000",
            Vec::new(),
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/v1/tickets?bogus=1",
            Vec::new(),
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/v1/tickets?assignee=someone",
            Vec::new(),
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/v1/tickets?cursor=%%%",
            Vec::new(),
            400,
            "invalid_cursor",
        ),
        (
            "GET",
            "/v1/tickets?cursor=abc",
            Vec::new(),
            400,
            "invalid_cursor",
        ),
        ("PUT", "/v1/tickets", Vec::new(), 405, "method_not_allowed"),
        ("GET", "/v1/nothing-here", Vec::new(), 404, "not_found"),
    ];
    for (method, path, body, status, code) in &cases {
        let body = if body.is_empty() && *method == "GET" {
            None
        } else {
            Some(body.as_slice())
        };
        let r = api.send(method, path, body, &[]);
        assert_eq!(
            (r.status, error_code(&r.body)),
            (*status, *code),
            "{method} {path}"
        );
    }
    // A record is an object: an array of its fields in order is refused, not read positionally.
    let r = api.send("POST", "/v1/tickets", Some(br#"["x","y"]"#), &[]);
    assert_eq!((r.status, error_code(&r.body)), (400, "invalid_body"));
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("invalid type: sequence, expected struct"),
        "{message}"
    );
    let big = format!(
        r#"{{"subject":"x","description":"{}"}}"#,
        "y".repeat(300 * 1024)
    );
    let r = api.send("POST", "/v1/tickets", Some(big.as_bytes()), &[]);
    assert_eq!((r.status, error_code(&r.body)), (413, "payload_too_large"));
    let huge = vec![b'x'; 2 * 1024 * 1024];
    let r = api.send("POST", "/v1/tickets", Some(&huge), &[]);
    assert_eq!(
        r.status, 413,
        "the host refuses bodies over its limit before the function runs"
    );
    let r = api.send(
        "POST",
        "/v1/tickets",
        Some(br#"{"subject":"x"}"#),
        &[("content-type", "text/plain")],
    );
    assert_eq!(
        (r.status, error_code(&r.body)),
        (415, "unsupported_media_type")
    );
    let (_, page) = api.get("/v1/tickets");
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        0,
        "no refused request wrote anything"
    );
}

#[test]
fn missing_wrong_and_revoked_keys_get_401_and_roles_are_enforced() {
    let host = Host::start();
    let admin = host.tenant("A");
    let (s, b) = host.anon().get("/v1/tickets");
    assert_eq!((s, error_code(&b)), (401, "unauthorized"));
    let key = admin.key.clone().unwrap();
    // The last character carries four bits of the secret; swap it for another valid one.
    let last = if key.ends_with('A') { 'E' } else { 'A' };
    let tampered = format!("{}{last}", &key[..key.len() - 1]);
    for bad in ["garbage", tampered.as_str(), "edk.ten_01JD3QXV6ZK8M5N2P4R7S9T0WX.key_01JD3QXV6ZK8M5N2P4R7S9T0WX.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let (s, b) = admin.with_key(bad).get("/v1/tickets");
        assert_eq!((s, error_code(&b)), (401, "unauthorized"), "{bad}");
    }
    let (s, ro) = admin.post(
        "/v1/api-keys",
        &json!({"name": "reports", "scope": "read_only"}),
    );
    assert_eq!(s, 201);
    let reader = admin.with_key(ro["key"].as_str().unwrap());
    let (s, _) = reader.get("/v1/tickets");
    assert_eq!(s, 200);
    let (s, b) = reader.post("/v1/tickets", &json!({"subject": "x"}));
    assert_eq!((s, error_code(&b)), (403, "forbidden"));
    let (s, ag) = admin.post("/v1/api-keys", &json!({"name": "bot", "scope": "agent"}));
    assert_eq!(s, 201);
    let agent = admin.with_key(ag["key"].as_str().unwrap());
    let (s, _) = agent.post("/v1/tickets", &json!({"subject": "x"}));
    assert_eq!(s, 201);
    let (s, b) = agent.post(
        "/v1/api-keys",
        &json!({"name": "escalate", "scope": "admin"}),
    );
    assert_eq!((s, error_code(&b)), (403, "forbidden"));
    let (s, _) = admin.delete(&format!("/v1/api-keys/{}", ro["id"].as_str().unwrap()));
    assert_eq!(s, 200);
    let (s, b) = reader.get("/v1/tickets");
    assert_eq!(
        (s, error_code(&b)),
        (401, "unauthorized"),
        "a revoked key stops working at once"
    );
}

#[test]
fn a_retried_create_with_the_same_idempotency_key_never_duplicates() {
    let host = Host::start();
    let api = host.tenant("A");
    let body = json!({"subject": "Printer on fire"});
    let first = api.call(
        "POST",
        "/v1/tickets",
        Some(&body),
        &[("idempotency-key", "retry-1")],
    );
    let second = api.call(
        "POST",
        "/v1/tickets",
        Some(&body),
        &[("idempotency-key", "retry-1")],
    );
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.body["id"], second.body["id"]);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    let other = api.call(
        "POST",
        "/v1/tickets",
        Some(&json!({"subject": "different"})),
        &[("idempotency-key", "retry-1")],
    );
    assert_eq!(
        (other.status, error_code(&other.body)),
        (422, "idempotency_key_reused")
    );
    let (_, page) = api.get("/v1/tickets");
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    // Concurrent retries of one create also yield one ticket.
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let api = api.clone();
            std::thread::spawn(move || {
                api.call(
                    "POST",
                    "/v1/tickets",
                    Some(&json!({"subject": "race"})),
                    &[("idempotency-key", "race-1")],
                )
                .body["id"]
                    .clone()
            })
        })
        .collect();
    let ids: BTreeSet<String> = threads
        .into_iter()
        .map(|t| t.join().unwrap().as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    let c = contact(&api, "Ada");
    let conv = conversation(&api, &id(&c));
    let path = format!("/v1/conversations/{}/messages", id(&conv));
    let m1 = api.call(
        "POST",
        &path,
        Some(&json!({"body": "once"})),
        &[("idempotency-key", "m-1")],
    );
    let m2 = api.call(
        "POST",
        &path,
        Some(&json!({"body": "once"})),
        &[("idempotency-key", "m-1")],
    );
    assert_eq!(
        (m1.status, m2.status, m1.body["seq"].clone()),
        (201, 201, m2.body["seq"].clone())
    );
    let (_, msgs) = api.get(&path);
    assert_eq!(
        msgs["data"].as_array().unwrap().len(),
        2,
        "the first message plus one reply"
    );
}

#[test]
fn if_match_with_a_stale_etag_gets_412_and_changes_nothing() {
    let host = Host::start();
    let api = host.tenant("A");
    let created = api.call("POST", "/v1/tickets", Some(&json!({"subject": "v1"})), &[]);
    let tid = id(&created.body);
    let etag = created.etag.clone().expect("an ETag");
    assert_eq!(etag, "\"v1\"");
    let ok = api.call(
        "PATCH",
        &format!("/v1/tickets/{tid}"),
        Some(&json!({"subject": "v2"})),
        &[("if-match", &etag)],
    );
    assert_eq!((ok.status, ok.etag.as_deref()), (200, Some("\"v2\"")));
    let stale = api.call(
        "PATCH",
        &format!("/v1/tickets/{tid}"),
        Some(&json!({"subject": "lost update"})),
        &[("if-match", &etag)],
    );
    assert_eq!(
        (stale.status, error_code(&stale.body)),
        (412, "precondition_failed")
    );
    let bad = api.call(
        "PATCH",
        &format!("/v1/tickets/{tid}"),
        Some(&json!({"subject": "x"})),
        &[("if-match", "nonsense")],
    );
    assert_eq!(
        (bad.status, error_code(&bad.body)),
        (400, "invalid_if_match")
    );
    let (_, t) = api.get(&format!("/v1/tickets/{tid}"));
    assert_eq!(
        (t["subject"].as_str(), t["version"].as_u64()),
        (Some("v2"), Some(2))
    );
}

fn api_channel(api: &Api) -> (String, String) {
    let (s, ch) = api.post("/v1/channels/api", &json!({"name": "CRM"}));
    assert_eq!(s, 201, "{ch}");
    (id(&ch), ch["secret"].as_str().unwrap().to_owned())
}

#[test]
fn an_inbound_webhook_with_a_bad_signature_is_refused_and_writes_nothing() {
    let host = Host::start();
    let api = host.tenant("A");
    let (ch, secret) = api_channel(&api);
    let body = serde_json::to_vec(
        &json!({"contact": {"external_id": "u1", "name": "Ada"}, "message": {"body": "help"}}),
    )
    .unwrap();
    let path = format!("/v1/channels/api/{ch}/inbound");
    let anon = host.anon();
    let now = unix_now();
    let wrong_secret = sign("not-the-secret", now, &body);
    let stale = sign(&secret, now - 3600, &body);
    let other_body = sign(&secret, now, b"{}");
    for (header, why) in [
        (None, "missing"),
        (Some(wrong_secret.as_str()), "wrong secret"),
        (Some(stale.as_str()), "replayed"),
        (Some(other_body.as_str()), "other body"),
        (Some("t=1,v1=zz"), "malformed"),
    ] {
        let headers: Vec<(&str, &str)> = header
            .map(|h| vec![("x-edgedesk-signature", h)])
            .unwrap_or_default();
        let r = anon.send("POST", &path, Some(&body), &headers);
        assert_eq!(
            (r.status, error_code(&r.body)),
            (401, "unauthorized"),
            "{why}"
        );
    }
    let (_, contacts) = api.get("/v1/contacts");
    let (_, convs) = api.get("/v1/conversations");
    assert_eq!(
        (
            contacts["data"].as_array().unwrap().len(),
            convs["data"].as_array().unwrap().len()
        ),
        (0, 0)
    );
    let r = anon.send(
        "POST",
        "/v1/channels/api/chn_01JD3QXV6ZK8M5N2P4R7S9T0WX/inbound",
        Some(&body),
        &[("x-edgedesk-signature", &sign(&secret, now, &body))],
    );
    assert_eq!(r.status, 404);
}

#[test]
fn an_inbound_webhook_finds_or_creates_the_contact_and_open_conversation_and_drops_redeliveries() {
    let host = Host::start();
    let api = host.tenant("A");
    let (ch, secret) = api_channel(&api);
    let path = format!("/v1/channels/api/{ch}/inbound");
    let post = |msg_id: &str, text: &str| {
        let body = serde_json::to_vec(&json!({"contact": {"external_id": "crm-7", "name": "Ada", "email": "ada@example.com"}, "message": {"id": msg_id, "body": text}})).unwrap();
        host.anon().send(
            "POST",
            &path,
            Some(&body),
            &[("x-edgedesk-signature", &sign(&secret, unix_now(), &body))],
        )
    };
    let r1 = post("m1", "my order is late");
    assert_eq!(r1.status, 201, "{}", r1.body);
    let r2 = post("m2", "any news?");
    let again = post("m1", "my order is late");
    assert_eq!(
        (r2.status, again.status, again.body["duplicate"].as_bool()),
        (201, 200, Some(true))
    );
    assert_eq!(r1.body["conversation_id"], r2.body["conversation_id"]);
    assert_eq!(r1.body["contact_id"], r2.body["contact_id"]);
    let conv = r1.body["conversation_id"].as_str().unwrap();
    let (_, msgs) = api.get(&format!("/v1/conversations/{conv}/messages"));
    let bodies: Vec<&str> = msgs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec!["my order is late", "any news?"]);
    let (_, c) = api.get(&format!("/v1/conversations/{conv}"));
    assert_eq!(
        (c["last_message_seq"].as_u64(), c["channel"].as_str()),
        (Some(2), Some("api"))
    );
    let (s, _) = api.patch(
        &format!("/v1/conversations/{conv}"),
        &json!({"status": "resolved"}),
    );
    assert_eq!(s, 200);
    let r3 = post("m3", "new problem");
    assert_ne!(
        r3.body["conversation_id"], r1.body["conversation_id"],
        "a resolved conversation is not reused"
    );
    let (_, contacts) = api.get("/v1/contacts");
    assert_eq!(contacts["data"].as_array().unwrap().len(), 1);
}

#[test]
fn data_survives_an_abrupt_host_restart() {
    let mut host = Host::start();
    if !host.is_local() {
        return;
    }
    let api = host.tenant("Durable");
    let t = ticket(&api, "keep me");
    let c = contact(&api, "Ada");
    let conv = conversation(&api, &id(&c));
    let (s, _) = api.post(
        &format!("/v1/conversations/{}/messages", id(&conv)),
        &json!({"body": "acknowledged"}),
    );
    assert_eq!(s, 201);
    host.kill_and_restart();
    let api = Api {
        base: host.base.clone(),
        key: api.key.clone(),
    };
    let (s, got) = api.get(&format!("/v1/tickets/{}", id(&t)));
    assert_eq!((s, got["subject"].as_str()), (200, Some("keep me")));
    let (_, msgs) = api.get(&format!("/v1/conversations/{}/messages", id(&conv)));
    assert_eq!(msgs["data"].as_array().unwrap().len(), 2);
    assert_eq!(ticket(&api, "after restart")["number"].as_u64(), Some(2));
}

#[test]
fn two_hundred_concurrent_posts_to_one_conversation_lose_none_and_keep_one_total_order() {
    let host = Host::start();
    let api = host.tenant("Busy");
    let c = contact(&api, "Ada");
    let conv = conversation(&api, &id(&c));
    let path = format!("/v1/conversations/{}/messages", id(&conv));
    let threads: Vec<_> = (0..40)
        .map(|t| {
            let api = api.clone();
            let path = path.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|i| {
                        let (s, m) = api.post(&path, &json!({"body": format!("m-{t}-{i}")}));
                        assert_eq!(s, 201, "{m}");
                        m["seq"].as_u64().unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (2..=201).collect::<Vec<_>>(),
        "every post got its own sequence number"
    );
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let (_, page) = api.get(&format!("{path}?after={after}&limit=100"));
        let data = page["data"].as_array().unwrap().clone();
        if data.is_empty() {
            break;
        }
        after = page["last_seq"].as_u64().unwrap();
        all.extend(data);
    }
    assert_eq!(all.len(), 201);
    let order: Vec<u64> = all.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(order, (1..=201).collect::<Vec<_>>());
    let bodies: BTreeSet<&str> = all
        .iter()
        .skip(1)
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 200, "no message lost or duplicated");
    let (_, c) = api.get(&format!("/v1/conversations/{}", id(&conv)));
    assert_eq!(c["last_message_seq"].as_u64(), Some(201));
}

#[test]
fn an_inbox_follower_resuming_from_its_cursor_misses_no_change_made_by_concurrent_writers() {
    let host = Host::start();
    let api = host.tenant("Inbox");
    let conversations: Vec<String> = (0..8)
        .map(|i| id(&conversation(&api, &id(&contact(&api, &format!("Ada{i}"))))))
        .collect();
    let (s, first) = api.get("/v1/realtime");
    assert_eq!(s, 200, "{first}");
    let mut cursor = first["cursor"].as_str().expect("a cursor").to_owned();
    let writers: Vec<_> = conversations
        .iter()
        .map(|c| {
            let api = api.clone();
            let path = format!("/v1/conversations/{c}/messages");
            std::thread::spawn(move || {
                for i in 0..10 {
                    let (s, m) = api.post(&path, &json!({"body": format!("m-{i}")}));
                    assert_eq!(s, 201, "{m}");
                }
            })
        })
        .collect();
    // The newest state each conversation was seen in, by its last message's number.
    let mut seen = std::collections::BTreeMap::<String, u64>::new();
    let mut follow = |cursor: &mut String| {
        let (s, feed) = api.get(&format!("/v1/realtime?cursor={cursor}"));
        assert_eq!(s, 200, "{feed}");
        let next = feed["cursor"].as_str().expect("a cursor").to_owned();
        assert!(
            next >= *cursor,
            "the cursor never moves back: {cursor} then {next}"
        );
        *cursor = next;
        for e in feed["events"].as_array().expect("events") {
            if e["type"] == "conversation" {
                let c = &e["conversation"];
                let n = c["last_message_seq"].as_u64().expect("a last message");
                let newest = seen.entry(id(c)).or_default();
                *newest = (*newest).max(n);
            }
        }
    };
    while writers.iter().any(|w| !w.is_finished()) {
        follow(&mut cursor);
    }
    for w in writers {
        w.join().unwrap();
    }
    follow(&mut cursor);
    for c in &conversations {
        assert_eq!(
            seen.get(c),
            Some(&11),
            "the follower saw {c}'s last message (seen: {seen:?})"
        );
    }
    let (_, idle) = api.get(&format!("/v1/realtime?cursor={cursor}"));
    assert_eq!(
        idle["events"],
        json!([]),
        "nothing is delivered twice: {idle}"
    );
}

#[test]
fn agents_have_unique_emails_and_owners_are_protected() {
    let host = Host::start();
    let api = host.tenant("A");
    let (s, a) = api.post(
        "/v1/agents",
        &json!({"email": "Ann@Example.com", "name": "Ann", "role": "agent"}),
    );
    assert_eq!(s, 201, "{a}");
    let (s, b) = api.post(
        "/v1/agents",
        &json!({"email": "ann@example.com", "name": "Ann 2", "role": "viewer"}),
    );
    assert_eq!((s, error_code(&b)), (409, "email_taken"));
    let (s, b) = api.post(
        "/v1/agents",
        &json!({"email": "boss@example.com", "name": "Boss", "role": "owner"}),
    );
    assert_eq!(
        (s, error_code(&b)),
        (403, "forbidden"),
        "an admin key cannot create owners"
    );
    let (s, u) = api.patch(&format!("/v1/agents/{}", id(&a)), &json!({"role": "admin"}));
    assert_eq!((s, u["role"].as_str()), (200, Some("admin")));
    let (s, page) = api.get("/v1/agents?role=admin");
    assert_eq!((s, page["data"].as_array().unwrap().len()), (200, 1));
}

/// What one sender posted: acknowledged messages, and the request the kill cut off.
struct Sent {
    conversation: usize,
    acknowledged: Vec<u64>,
    cut_off: Option<(String, Value)>,
}

/// A conversation whose record or SLA history missed one of its messages: the record's last
/// message is older than the newest, or the history counts another number of replies than
/// there are agent messages (each reply's flow appends exactly one).
fn behind(api: &Api, conv: &str) -> Option<String> {
    let mut seqs = Vec::new();
    let mut agents = 0;
    loop {
        let after = seqs.last().copied().unwrap_or(0);
        let (s, page) = api.get(&format!(
            "/v1/conversations/{conv}/messages?limit=100&after={after}"
        ));
        assert_eq!(s, 200, "{page}");
        let data = page["data"].as_array().unwrap();
        seqs.extend(data.iter().map(|m| m["seq"].as_u64().unwrap()));
        agents += data
            .iter()
            .filter(|m| m["sender"]["kind"] == "agent")
            .count();
        if data.len() < 100 {
            break;
        }
    }
    let (_, rec) = api.get(&format!("/v1/conversations/{conv}"));
    let (_, sla) = api.get(&format!("/v1/conversations/{conv}/sla"));
    let replies = sla["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "agent_reply")
        .count();
    let last = rec["last_message_seq"].as_u64().unwrap();
    let newest = seqs.last().copied().unwrap_or(0);
    (last != newest || replies != agents).then(|| {
        format!("{conv}: record at {last}, newest {newest}; {replies} replies in the SLA history for {agents} agent messages")
    })
}

#[test]
fn a_host_killed_under_two_hundred_concurrent_senders_leaves_no_message_without_its_flow() {
    let mut host = Host::start();
    if !host.is_local() {
        return; // the kill needs a host process this suite controls
    }
    let api = host.tenant("Crashy");
    let convs: Vec<String> = (0..50)
        .map(|i| {
            id(&conversation(
                &api,
                &id(&contact(&api, &format!("Customer{i}"))),
            ))
        })
        .collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let senders: Vec<_> = (0..200)
        .map(|t| {
            let api = api.clone();
            let conversation = t % convs.len();
            let path = format!("/v1/conversations/{}/messages", convs[conversation]);
            let stop = stop.clone();
            let acks = acks.clone();
            std::thread::spawn(move || {
                let mut sent = Sent {
                    conversation,
                    acknowledged: Vec::new(),
                    cut_off: None,
                };
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let key = format!("k-{t}-{i}");
                    let body = json!({ "body": format!("reply {t}-{i}") });
                    let bytes = serde_json::to_vec(&body).unwrap();
                    match api.try_send("POST", &path, Some(&bytes), &[("idempotency-key", &key)]) {
                        Ok(r) if r.status == 201 => {
                            sent.acknowledged.push(r.body["seq"].as_u64().unwrap());
                            acks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        _ => {
                            sent.cut_off = Some((key, body));
                            break;
                        }
                    }
                }
                sent
            })
        })
        .collect();
    // Killed in full flight: once the senders have had at least 200 messages acknowledged (at
    // least 1.5 s in), however busy the machine is.
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_millis(1500)
        || (acks.load(std::sync::atomic::Ordering::Relaxed) < 200
            && started.elapsed() < std::time::Duration::from_secs(60))
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    host.kill();
    let killed_at = std::time::Instant::now();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent: Vec<Sent> = senders.into_iter().map(|h| h.join().unwrap()).collect();
    let acknowledged: usize = sent.iter().map(|s| s.acknowledged.len()).sum();
    let cut_off = sent.iter().filter(|s| s.cut_off.is_some()).count();
    assert!(acknowledged >= 200, "the senders were busy: {acknowledged}");
    host.kill_and_restart();
    let api = Api {
        base: host.base.clone(),
        key: api.key.clone(),
    };
    // Nothing acknowledged was lost.
    for s in &sent {
        let (_, page) = api.get(&format!(
            "/v1/conversations/{}/messages?limit=100&after={}",
            convs[s.conversation],
            s.acknowledged.last().copied().unwrap_or(1) - 1
        ));
        assert!(
            s.acknowledged.is_empty() || !page["data"].as_array().unwrap().is_empty(),
            "an acknowledged message of {} is missing",
            convs[s.conversation]
        );
    }
    // A message the kill cut off counts as left behind once no live request can be running
    // its flow.
    std::thread::sleep(std::time::Duration::from_secs(6).saturating_sub(killed_at.elapsed()));
    // The senders of the even conversations retry what the kill cut off, with the same key.
    for s in sent.iter().filter(|s| s.conversation % 2 == 0) {
        if let Some((key, body)) = &s.cut_off {
            let r = api.call(
                "POST",
                &format!("/v1/conversations/{}/messages", convs[s.conversation]),
                Some(body),
                &[("idempotency-key", key)],
            );
            assert_eq!(r.status, 201, "{}", r.body);
        }
    }
    let left: Vec<String> = convs
        .iter()
        .step_by(2)
        .filter_map(|c| behind(&api, c))
        .collect();
    assert!(
        left.is_empty(),
        "after the retries ({cut_off} requests cut off, {acknowledged} acknowledged): {left:?}"
    );
    // In the odd ones, the next message completes what was left behind.
    for conv in convs.iter().skip(1).step_by(2) {
        let (s, m) = api.post(
            &format!("/v1/conversations/{conv}/messages"),
            &json!({"body": "anyone there?"}),
        );
        assert_eq!(s, 201, "{m}");
    }
    let left: Vec<String> = convs
        .iter()
        .skip(1)
        .step_by(2)
        .filter_map(|c| behind(&api, c))
        .collect();
    assert!(left.is_empty(), "after the next message: {left:?}");
}

#[test]
fn requests_queued_for_one_instance_are_all_answered_as_each_frees_its_slot() {
    // One instance slot: each request waits for the previous one's. An instance must be gone
    // from the pool before its slot is handed on, or the next request finds the pool full.
    let host = Host::start_with(&["--max-instances", "1"]);
    if !host.is_local() {
        return;
    }
    let api = host.tenant("Shop");
    let askers: Vec<_> = (0..8)
        .map(|_| {
            let api = api.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| api.get("/v1/tenant").0)
                    .filter(|s| *s != 200)
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    for a in askers {
        assert_eq!(a.join().expect("an asker"), Vec::<u16>::new());
    }
}
