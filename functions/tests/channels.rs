//! The API channel: its signed inbound webhook (HMAC `x-edgedesk-signature: t=..,v1=..`),
//! in process.

mod common;
use common::*;
use edgedesk_shared::signature::sign_webhook;

fn api_channel(api: &Client) -> (String, String) {
    let ch = expect(api.post("/v1/channels/api", json!({"name": "CRM"})), 201);
    (id(&ch), ch["secret"].as_str().unwrap().to_owned())
}

fn inbound(app: &TestApp, channel: &str, body: &[u8], signature: Option<&str>) -> TestResponse {
    let mut r = app
        .request("POST", &format!("/v1/channels/api/{channel}/inbound"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        r = r.header("x-edgedesk-signature", s);
    }
    r.send()
}

#[test]
fn channels_are_listed_without_their_secret() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let (ch, secret) = api_channel(&api);
    let page = expect(api.get("/v1/channels/api"), 200);
    assert_eq!(data(&page).len(), 1);
    assert_eq!(id(&data(&page)[0]), ch);
    assert!(!page.to_string().contains(&secret));
    let viewer = api.key_client("read_only");
    assert_eq!(
        viewer.post("/v1/channels/api", json!({"name": "x"})).status,
        403
    );
}

#[test]
fn a_signed_inbound_message_opens_a_conversation_and_redeliveries_are_dropped() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let (ch, secret) = api_channel(&api);
    let post = |msg_id: &str, text: &str| {
        let body = serde_json::to_vec(&json!({
            "contact": {"external_id": "crm-7", "name": "Ada", "email": "ada@example.com"},
            "message": {"id": msg_id, "body": text}}))
        .unwrap();
        let sig = sign_webhook(secret.as_bytes(), app.platform.now().timestamp(), &body);
        inbound(&app, &ch, &body, Some(&sig))
    };
    let r1 = expect(post("m1", "my order is late"), 201);
    let r2 = expect(post("m2", "any news?"), 201);
    let again = expect(post("m1", "my order is late"), 200);
    assert_eq!(again["duplicate"], true);
    assert_eq!(r1["conversation_id"], r2["conversation_id"]);
    assert_eq!(r1["contact_id"], r2["contact_id"]);
    let conv = r1["conversation_id"].as_str().unwrap();
    let msgs = expect(api.get(&format!("/v1/conversations/{conv}/messages")), 200);
    let bodies: Vec<Value> = data(&msgs).iter().map(|m| m["body"].clone()).collect();
    assert_eq!(bodies, [json!("my order is late"), json!("any news?")]);
    let c = expect(api.get(&format!("/v1/conversations/{conv}")), 200);
    assert_eq!(
        (c["last_message_seq"].as_u64(), c["channel"].as_str()),
        (Some(2), Some("api"))
    );
    expect(
        api.patch(
            &format!("/v1/conversations/{conv}"),
            json!({"status": "resolved"}),
        ),
        200,
    );
    let r3 = expect(post("m3", "new problem"), 201);
    assert_ne!(
        r3["conversation_id"], r1["conversation_id"],
        "a resolved conversation is not reused"
    );
    assert_eq!(data(&expect(api.get("/v1/contacts"), 200)).len(), 1);
}

#[test]
fn a_wrong_stale_or_missing_signature_is_refused_and_writes_nothing() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let (ch, secret) = api_channel(&api);
    let body = serde_json::to_vec(
        &json!({"contact": {"external_id": "u1", "name": "Ada"}, "message": {"body": "help"}}),
    )
    .unwrap();
    let now = app.platform.now().timestamp();
    let wrong_secret = sign_webhook(b"not-the-secret", now, &body);
    let replayed = sign_webhook(secret.as_bytes(), now - 3600, &body);
    let from_the_future = sign_webhook(secret.as_bytes(), now + 3600, &body);
    let other_body = sign_webhook(secret.as_bytes(), now, b"{}");
    let mark = app.platform.commit_mark();
    for (header, why) in [
        (None, "missing"),
        (Some(wrong_secret.as_str()), "wrong secret"),
        (Some(replayed.as_str()), "outside the replay window"),
        (Some(from_the_future.as_str()), "from the future"),
        (Some(other_body.as_str()), "other body"),
        (Some("t=1,v1=zz"), "malformed"),
    ] {
        let r = inbound(&app, &ch, &body, header);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (401, "unauthorized"),
            "{why}"
        );
    }
    assert!(
        app.platform.commits_since(mark).is_empty(),
        "a refused webhook stores nothing"
    );
    let r = inbound(
        &app,
        "chn_01JD3QXV6ZK8M5N2P4R7S9T0WX",
        &body,
        Some(&sign_webhook(secret.as_bytes(), now, &body)),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn a_signature_a_few_minutes_old_is_still_accepted() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let (ch, secret) = api_channel(&api);
    let body = serde_json::to_vec(
        &json!({"contact": {"external_id": "u1", "name": "Ada"}, "message": {"body": "help"}}),
    )
    .unwrap();
    let sig = sign_webhook(secret.as_bytes(), app.platform.now().timestamp(), &body);
    app.platform.advance(std::time::Duration::from_secs(240));
    assert_eq!(inbound(&app, &ch, &body, Some(&sig)).status, 201);
    app.platform.advance(std::time::Duration::from_secs(120));
    let r = inbound(&app, &ch, &body, Some(&sig));
    assert_eq!(r.status, 401, "past the five-minute window: {}", r.text());
}
