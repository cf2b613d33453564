//! Health, the API document, tenants, API keys, permissions, error shapes and tenant
//! isolation, in process.

mod common;
use common::*;

#[test]
fn health_answers_ok_without_a_key() {
    let app = TestApp::new();
    let r = app.anon().get("/health");
    assert_eq!(r.json(), json!({"status": "ok"}));
    assert_eq!(r.header("x-edgedesk-route"), Some("/health"));
}

#[test]
fn the_openapi_document_describes_the_routes() {
    let app = TestApp::new();
    let doc = expect(app.anon().get("/v1/openapi.json"), 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/v1/tickets",
        "/v1/tickets/{id}",
        "/v1/conversations/{id}/messages",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["Ticket"].is_object());
}

#[test]
fn a_new_tenant_gets_an_admin_key_shown_once() {
    let app = TestApp::new();
    let r = app
        .request("POST", "/v1/tenants")
        .json(&json!({"name": "Acme"}))
        .send();
    let created = expect(r, 201);
    assert_eq!(created["tenant"]["name"], "Acme");
    let key = created["api_key"]["key"].as_str().unwrap().to_owned();
    assert_eq!(created["api_key"]["scope"], "admin");
    let api = app.with_key(&key);
    let tenant = expect(api.get("/v1/tenant"), 200);
    assert_eq!(tenant["name"], "Acme");
    assert_eq!(tenant["id"], created["tenant"]["id"]);
    let page = expect(api.get("/v1/api-keys"), 200);
    let listed = &data(&page)[0];
    let prefix = listed["prefix"].as_str().unwrap();
    assert!(key.starts_with(prefix));
    assert!(
        !page.to_string().contains(&key[prefix.len() + 1..]),
        "the secret never appears in listings"
    );
}

#[test]
fn a_tenant_without_a_name_is_refused_as_invalid() {
    let app = TestApp::new();
    let r = app.anon().post("/v1/tenants", json!({"name": "  "}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    assert!(app.platform.commits().is_empty(), "nothing was stored");
}

#[test]
fn api_keys_can_be_created_listed_and_revoked() {
    let app = TestApp::new();
    let admin = app.create_tenant("Acme");
    let created = expect(
        admin.post("/v1/api-keys", json!({"name": "CI", "scope": "agent"})),
        201,
    );
    assert_eq!(created["scope"], "agent");
    assert_eq!(created["name"], "CI");
    let page = expect(admin.get("/v1/api-keys"), 200);
    assert_eq!(data(&page).len(), 2);
    let revoked = expect(admin.delete(&format!("/v1/api-keys/{}", id(&created))), 200);
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
}

#[test]
fn a_revoked_key_is_refused() {
    let app = TestApp::new();
    let admin = app.create_tenant("Acme");
    let agent = admin.key_client("agent");
    assert_eq!(agent.get("/v1/tickets").status, 200);
    let keys = expect(admin.get("/v1/api-keys"), 200);
    let agent_key = data(&keys)
        .into_iter()
        .find(|k| k["scope"] == "agent")
        .unwrap();
    expect(
        admin.delete(&format!("/v1/api-keys/{}", id(&agent_key))),
        200,
    );
    let r = agent.get("/v1/tickets");
    assert_eq!((r.status, r.error_code().as_str()), (401, "unauthorized"));
}

#[test]
fn requests_without_or_with_a_forged_key_are_unauthorised() {
    let app = TestApp::new();
    let admin = app.create_tenant("Acme");
    let r = app.anon().get("/v1/tickets");
    assert_eq!((r.status, r.error_code().as_str()), (401, "unauthorized"));
    let key = admin.key().unwrap();
    let forged = format!("{}{}", &key[..key.len() - 4], "AAAA");
    let forged = if forged == key {
        format!("{}BBBB", &key[..key.len() - 4])
    } else {
        forged
    };
    let r = app.with_key(&forged).get("/v1/tickets");
    assert_eq!(r.status, 401);
    let r = app.with_key("edk.nonsense").get("/v1/tickets");
    assert_eq!(r.status, 401);
}

#[test]
fn a_read_only_key_reads_but_gets_403_on_writes() {
    let app = TestApp::new();
    let admin = app.create_tenant("Acme");
    ticket(&admin, "existing");
    let viewer = admin.key_client("read_only");
    let page = expect(viewer.get("/v1/tickets"), 200);
    assert_eq!(data(&page).len(), 1);
    let mark = app.platform.commit_mark();
    for (method, path, body) in [
        ("POST", "/v1/tickets", json!({"subject": "x"})),
        ("POST", "/v1/contacts", json!({"name": "x"})),
        (
            "POST",
            "/v1/api-keys",
            json!({"name": "x", "scope": "admin"}),
        ),
        (
            "POST",
            "/v1/agents",
            json!({"email": "x@a.test", "name": "X", "role": "agent"}),
        ),
        (
            "POST",
            "/v1/canned-responses",
            json!({"shortcut": "x", "title": "x", "body": "x"}),
        ),
    ] {
        let r = viewer.request(method, path).json(&body).send();
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (403, "forbidden"),
            "{method} {path}"
        );
    }
    assert!(
        app.platform.commits_since(mark).is_empty(),
        "a refused write stores nothing"
    );
}

#[test]
fn an_agent_key_cannot_mint_admin_keys() {
    let app = TestApp::new();
    let admin = app.create_tenant("Acme");
    let agent = admin.key_client("agent");
    let r = agent.post("/v1/api-keys", json!({"name": "x", "scope": "admin"}));
    assert_eq!(r.status, 403, "{}", r.text());
}

#[test]
fn errors_have_a_code_a_message_and_the_right_status() {
    let app = TestApp::new();
    let admin = app.create_tenant("Acme");
    // Unknown route.
    let r = admin.get("/v1/nowhere");
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
    // Known route, wrong method.
    let r = admin.request("PUT", "/v1/tickets").json(&json!({})).send();
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (405, "method_not_allowed")
    );
    let r = app.anon().get("/v1/tenants");
    assert_eq!(r.status, 405);
    // Malformed JSON.
    let r = admin
        .request("POST", "/v1/tickets")
        .header("content-type", "application/json")
        .body("{not json")
        .send();
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_json"));
    // No body at all.
    let r = admin.request("POST", "/v1/tickets").send();
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_json"));
    // Wrong content type.
    let r = admin
        .request("POST", "/v1/tickets")
        .header("content-type", "text/plain")
        .body("{}")
        .send();
    assert_eq!(r.status, 415);
    // Well-formed but invalid.
    let r = admin.post("/v1/tickets", json!({"subject": ""}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );
    // A malformed id.
    let r = admin.get("/v1/tickets/not-an-id");
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
}

#[test]
fn tenant_b_cannot_read_or_change_tenant_a_records() {
    let app = TestApp::new();
    let a = app.create_tenant("A");
    let b = app.create_tenant("B");
    let c = contact(&a, "Ada");
    let t = ticket(&a, "secret");
    let conv = conversation(&a, &id(&c));
    let agent = agent(&a, "x@a.test", "agent");
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
        let r = b.get(p);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (404, "not_found"),
            "GET {p}"
        );
    }
    assert_eq!(b.patch(&paths[0], json!({"subject": "pwned"})).status, 404);
    assert_eq!(b.delete(&paths[0]).status, 404);
    let r = b.post(
        &format!("/v1/conversations/{}/messages", id(&conv)),
        json!({"body": "hi"}),
    );
    assert_eq!(r.status, 404);
    assert!(data(&expect(b.get("/v1/tickets"), 200)).is_empty());
    let still = expect(a.get(&paths[0]), 200);
    assert_eq!(
        (still["subject"].as_str(), still["version"].as_u64()),
        (Some("secret"), Some(1))
    );
}

#[test]
fn a_cursor_from_one_tenant_is_refused_by_another() {
    let app = TestApp::new();
    let a = app.create_tenant("A");
    let b = app.create_tenant("B");
    for i in 0..3 {
        ticket(&a, &format!("a{i}"));
    }
    let page = expect(a.get("/v1/tickets?limit=2"), 200);
    let cursor = page["next_cursor"].as_str().expect("more pages").to_owned();
    let r = b.get(&format!("/v1/tickets?limit=2&cursor={cursor}"));
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_cursor"));
}
