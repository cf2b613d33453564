//! The email channel in process: channel settings, mail delivered by a host or the signed
//! webhook, threading, parking, bounces, the outbox and its transports.

mod common;
use base64::Engine;
use common::*;
use edgedesk_functions::ports::OutboundRequest;
use edgedesk_shared::signature::sign_webhook;

fn smtp_channel(api: &Client, address: &str, tickets: bool) -> Value {
    expect(
        api.post(
            "/v1/channels/email",
            json!({"name": "Support", "addresses": [address], "from_name": "Acme Support",
                   "transport": {"kind": "smtp", "host": "127.0.0.1", "port": 2525, "security": "none",
                                 "username": "relay", "password": "hunter2"},
                   "create_tickets": tickets}),
        ),
        201,
    )
}

/// A plain mail as a mail client sends it.
fn mail(from: &str, to: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Ada Lovelace <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn deliver(app: &TestApp, to: &str, raw: &[u8]) -> TestResponse {
    app.request("POST", "/v1/system/mail")
        .header("x-platform-token", PLATFORM_TOKEN)
        .header("x-mail-to", to)
        .header("x-mail-from", "ada@example.com")
        .header("content-type", "message/rfc822")
        .body(raw.to_vec())
        .send()
}

/// The stored result of a host delivery.
fn stored(r: TestResponse) -> Value {
    let v = expect(r, 200);
    v["results"][0].clone()
}

fn messages(api: &Client, conversation: &str) -> Vec<Value> {
    data(&expect(
        api.get(&format!("/v1/conversations/{conversation}/messages")),
        200,
    ))
}

/// Answers relay requests with `status` and records them.
fn relay_answers(app: &TestApp, status: u16, body: &'static str) {
    app.platform.set_var("mail_relay", "smtp");
    app.platform
        .respond_with(move |_| Ok((status, body.as_bytes().to_vec())));
}

/// The raw mails the component asked its host to relay.
fn relayed(reqs: &[OutboundRequest]) -> Vec<(Value, String)> {
    reqs.iter()
        .filter(|r| r.url == "http://mail-relay.invalid/v1/send")
        .map(|r| {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            let raw = base64::engine::general_purpose::STANDARD
                .decode(v["raw"].as_str().unwrap())
                .unwrap();
            (v, String::from_utf8(raw).unwrap())
        })
        .collect()
}

#[test]
fn a_channel_shows_its_transport_and_dns_hints_but_never_a_secret() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let ch = smtp_channel(&api, "Support@Acme.example", false);
    assert_eq!(ch["addresses"], json!(["support@acme.example"]));
    assert_eq!(ch["from_address"], "support@acme.example");
    assert_eq!(ch["transport"]["password_set"], true);
    assert!(ch["inbound_secret"].as_str().is_some());
    let shown = expect(api.get(&format!("/v1/channels/email/{}", id(&ch))), 200);
    assert!(!shown.to_string().contains("hunter2"));
    assert!(shown.get("inbound_secret").is_none());
    assert!(shown["dns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["name"] == "_dmarc.acme.example"));
    // A port change keeps the password.
    let changed = expect(
        api.patch(
            &format!("/v1/channels/email/{}", id(&ch)),
            json!({"transport": {"kind": "smtp", "host": "127.0.0.1", "port": 587}}),
        ),
        200,
    );
    assert_eq!(changed["transport"]["port"], 587);
    assert_eq!(changed["transport"]["password_set"], true);
    assert_eq!(
        api.key_client("read_only")
            .post("/v1/channels/email", json!({}))
            .status,
        403
    );
}

#[test]
fn an_address_belongs_to_one_channel_of_one_tenant() {
    let app = TestApp::new();
    let a = app.create_tenant("A");
    let b = app.create_tenant("B");
    smtp_channel(&a, "support@acme.example", false);
    let r = b.post(
        "/v1/channels/email",
        json!({"name": "x", "addresses": ["SUPPORT@acme.example"], "transport": {"kind": "cloudflare"}}),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.error_code(), "address_taken");
    let plus = b.post(
        "/v1/channels/email",
        json!({"name": "x", "addresses": ["help+x@b.example"], "transport": {"kind": "cloudflare"}}),
    );
    assert_eq!(plus.status, 422);
}

#[test]
fn a_delivered_mail_opens_an_email_conversation_with_its_contact_and_original() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    let body = "My printer is on fire.\r\n\r\nOn Sun, 6 Dec 2026 at 10:00, Support <support@acme.example> wrote:\r\n> old text";
    let got = stored(deliver(
        &app,
        "support@acme.example",
        &mail(
            "ada@example.com",
            "support@acme.example",
            "Printer",
            "m1@example.com",
            "",
            body,
        ),
    ));
    assert_eq!(got["outcome"], "stored");
    assert_eq!(got["new_conversation"], true);
    let cid = got["conversation_id"].as_str().unwrap();
    let conv = expect(api.get(&format!("/v1/conversations/{cid}")), 200);
    assert_eq!(conv["channel"], "email");
    assert_eq!(conv["subject"], "Printer");
    let msgs = messages(&api, cid);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["body"], "My printer is on fire.");
    assert_eq!(msgs[0]["email"]["subject"], "Printer");
    assert_eq!(msgs[0]["email"]["from"]["address"], "ada@example.com");
    assert_eq!(msgs[0]["external_id"], "m1@example.com");
    let contact = expect(
        api.get(&format!(
            "/v1/contacts/{}",
            got["contact_id"].as_str().unwrap()
        )),
        200,
    );
    assert_eq!(contact["email"], "ada@example.com");
    assert_eq!(contact["name"], "Ada Lovelace");
    // The whole original, with the quoted text, is downloadable.
    let original = msgs[0]["email"]["original_url"].as_str().unwrap();
    let raw = app.anon().get(original);
    assert_eq!(raw.status, 200);
    assert!(raw.text().contains("> old text"));
}

#[test]
fn a_redelivered_mail_is_stored_once() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    let raw = mail(
        "ada@example.com",
        "support@acme.example",
        "Hi",
        "same@x",
        "",
        "hello",
    );
    let first = stored(deliver(&app, "support@acme.example", &raw));
    let again = stored(deliver(&app, "support@acme.example", &raw));
    assert_eq!(again["duplicate"], true);
    assert_eq!(first["conversation_id"], again["conversation_id"]);
    assert_eq!(
        messages(&api, first["conversation_id"].as_str().unwrap()).len(),
        1
    );
}

#[test]
fn an_agent_reply_is_sent_with_threading_headers_and_the_customer_reply_threads_back() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    relay_answers(&app, 200, r#"{"id":"250 2.0.0 Ok: queued as ABC"}"#);
    let first = stored(deliver(
        &app,
        "support@acme.example",
        &mail(
            "ada@example.com",
            "support@acme.example",
            "Printer",
            "m1@example.com",
            "",
            "It burns.",
        ),
    ));
    let cid = first["conversation_id"].as_str().unwrap().to_owned();
    let reply = expect(
        api.post(
            &format!("/v1/conversations/{cid}/messages"),
            json!({"body": "Unplug it, please.", "cc": ["boss@example.com"]}),
        ),
        201,
    );
    assert_eq!(reply["delivery"]["state"], "queued");
    app.sweep();
    let sent = relayed(&app.platform.take_outbound());
    assert_eq!(sent.len(), 1, "one mail relayed");
    let (req, raw) = &sent[0];
    assert_eq!(req["transport"]["kind"], "smtp");
    assert_eq!(req["transport"]["password"], "hunter2");
    assert_eq!(req["from"], "support@acme.example");
    let to: Vec<&str> = req["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(to, ["ada@example.com", "boss@example.com"]);
    assert!(raw.contains("In-Reply-To: <m1@example.com>"), "{raw}");
    assert!(raw.contains("References: <m1@example.com>"), "{raw}");
    assert!(raw.contains("Subject: Re: Printer"), "{raw}");
    assert!(raw.contains("Acme Support"), "{raw}");
    assert!(
        raw.contains("support+"),
        "the reply address carries the token: {raw}"
    );
    let msgs = messages(&api, &cid);
    assert_eq!(msgs[1]["delivery"]["state"], "sent");
    assert_eq!(msgs[1]["delivery"]["attempts"], 1);

    // The customer answers the reply: it threads by In-Reply-To.
    let our_id = msgs[1]["email"]["message_id"].as_str().unwrap();
    let answer = stored(deliver(
        &app,
        "support@acme.example",
        &mail(
            "ada@example.com",
            "support@acme.example",
            "Re: Printer",
            "m2@example.com",
            &format!("In-Reply-To: <{our_id}>\r\nReferences: <m1@example.com> <{our_id}>\r\n"),
            "Done, thanks.",
        ),
    ));
    assert_eq!(answer["conversation_id"], cid.as_str());
    assert_eq!(answer["new_conversation"], false);

    // A reply with neither header finds the thread by the token of its address.
    let token_address = raw
        .lines()
        .find(|l| l.starts_with("Reply-To:"))
        .and_then(|l| l.split('<').nth(1))
        .and_then(|l| l.split('>').next())
        .unwrap()
        .to_owned();
    let by_token = stored(deliver(
        &app,
        &token_address,
        &mail(
            "ada@example.com",
            &token_address,
            "something else",
            "m3@example.com",
            "",
            "One more thing.",
        ),
    ));
    assert_eq!(by_token["conversation_id"], cid.as_str());
}

#[test]
fn a_ticket_channel_opens_a_ticket_and_its_number_in_a_subject_threads() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", true);
    let first = stored(deliver(
        &app,
        "support@acme.example",
        &mail(
            "ada@example.com",
            "support@acme.example",
            "Broken",
            "t1@example.com",
            "",
            "It broke.",
        ),
    ));
    let tickets = data(&expect(api.get("/v1/tickets"), 200));
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["subject"], "Broken");
    assert_eq!(tickets[0]["conversation_id"], first["conversation_id"]);
    let n = tickets[0]["number"].as_u64().unwrap();
    let later = stored(deliver(
        &app,
        "support@acme.example",
        &mail(
            "ada@example.com",
            "support@acme.example",
            &format!("About [#{n}]"),
            "t2@example.com",
            "",
            "Still broken.",
        ),
    ));
    assert_eq!(later["conversation_id"], first["conversation_id"]);
}

#[test]
fn an_auto_reply_is_parked_and_never_answered() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    let r = stored(deliver(
        &app,
        "support@acme.example",
        &mail(
            "ada@example.com",
            "support@acme.example",
            "Out of office",
            "oof@example.com",
            "Auto-Submitted: auto-replied\r\n",
            "I am away.",
        ),
    ));
    assert_eq!(r["outcome"], "parked");
    assert_eq!(r["parked"]["reason"], "auto_reply");
    assert!(data(&expect(api.get("/v1/conversations"), 200)).is_empty());
    let parked = data(&expect(api.get("/v1/channels/email/parked"), 200));
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0]["from"], "ada@example.com");
}

#[test]
fn a_bounce_marks_the_address_and_the_next_reply_to_it_fails_with_the_reason() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    relay_answers(&app, 200, r#"{"id":"ok"}"#);
    let first = stored(deliver(
        &app,
        "support@acme.example",
        &mail(
            "gone@example.com",
            "support@acme.example",
            "Hello",
            "b1@example.com",
            "",
            "hi",
        ),
    ));
    let cid = first["conversation_id"].as_str().unwrap().to_owned();
    let dsn = "From: MAILER-DAEMON@mx.example.com\r\nTo: support@acme.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n";
    let r = stored(deliver(&app, "support@acme.example", dsn.as_bytes()));
    assert_eq!(r["outcome"], "parked");
    assert_eq!(r["parked"]["reason"], "bounce");
    let bounces = data(&expect(api.get("/v1/channels/email/bounces"), 200));
    assert_eq!(bounces[0]["address"], "gone@example.com");
    expect(
        api.post(
            &format!("/v1/conversations/{cid}/messages"),
            json!({"body": "Hello?"}),
        ),
        201,
    );
    app.sweep();
    assert!(
        relayed(&app.platform.take_outbound()).is_empty(),
        "nothing sent to a bouncing address"
    );
    let msgs = messages(&api, &cid);
    assert_eq!(msgs[1]["delivery"]["state"], "failed");
    assert!(msgs[1]["delivery"]["reason"]
        .as_str()
        .unwrap()
        .contains("bounces"));
}

#[test]
fn a_temporary_relay_failure_is_retried_and_a_refusal_fails_with_the_server_reply() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    relay_answers(
        &app,
        503,
        r#"{"error":{"code":"unavailable","message":"421 4.3.0 try later"}}"#,
    );
    let first = stored(deliver(
        &app,
        "support@acme.example",
        &mail(
            "ada@example.com",
            "support@acme.example",
            "Hi",
            "r1@example.com",
            "",
            "hi",
        ),
    ));
    let cid = first["conversation_id"].as_str().unwrap().to_owned();
    expect(
        api.post(
            &format!("/v1/conversations/{cid}/messages"),
            json!({"body": "Hello"}),
        ),
        201,
    );
    app.sweep();
    let msgs = messages(&api, &cid);
    assert_eq!(msgs[1]["delivery"]["state"], "queued");
    assert_eq!(msgs[1]["delivery"]["attempts"], 1);
    assert!(msgs[1]["delivery"]["reason"]
        .as_str()
        .unwrap()
        .contains("4.3.0"));
    relay_answers(
        &app,
        422,
        r#"{"error":{"code":"rejected","message":"550 5.1.1 no such user"}}"#,
    );
    app.platform.advance(std::time::Duration::from_secs(31));
    app.sweep();
    let msgs = messages(&api, &cid);
    assert_eq!(msgs[1]["delivery"]["state"], "failed");
    assert_eq!(msgs[1]["delivery"]["attempts"], 2);
    assert!(msgs[1]["delivery"]["reason"]
        .as_str()
        .unwrap()
        .contains("550 5.1.1"));
}

#[test]
fn smtp_on_a_runtime_without_a_relay_fails_with_a_reason_the_admin_can_act_on() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    let first = stored(deliver(
        &app,
        "support@acme.example",
        &mail(
            "ada@example.com",
            "support@acme.example",
            "Hi",
            "n1@example.com",
            "",
            "hi",
        ),
    ));
    let cid = first["conversation_id"].as_str().unwrap().to_owned();
    expect(
        api.post(
            &format!("/v1/conversations/{cid}/messages"),
            json!({"body": "Hello"}),
        ),
        201,
    );
    app.sweep();
    let msgs = messages(&api, &cid);
    assert_eq!(msgs[1]["delivery"]["state"], "failed");
    assert!(msgs[1]["delivery"]["reason"]
        .as_str()
        .unwrap()
        .contains("cannot send by SMTP"));
}

#[test]
fn the_mailgun_transport_posts_the_raw_mail_with_basic_auth() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let ch = expect(
        api.post(
            "/v1/channels/email",
            json!({"name": "Support", "addresses": ["support@acme.example"],
                   "transport": {"kind": "mailgun", "domain": "mg.acme.example", "api_key": "key-1"}}),
        ),
        201,
    );
    app.platform.respond_with(|_| {
        Ok((
            200,
            br#"{"id":"<x@mg>","message":"Queued. Thank you."}"#.to_vec(),
        ))
    });
    let r = expect(
        api.post(
            &format!("/v1/channels/email/{}/test", id(&ch)),
            json!({"to": "ada@example.com"}),
        ),
        200,
    );
    assert_eq!(r["sent"], true, "{r}");
    let reqs = app.platform.take_outbound();
    assert_eq!(
        reqs[0].url,
        "https://api.mailgun.net/v3/mg.acme.example/messages.mime"
    );
    let auth = reqs[0]
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .unwrap();
    assert_eq!(
        auth.1,
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("api:key-1")
        )
    );
    let body = String::from_utf8_lossy(&reqs[0].body);
    assert!(body.contains("name=\"to\"\r\n\r\nada@example.com"));
    assert!(body.contains("Auto-Submitted: auto-generated"));
    // Mailgun refusing the key is reported, not retried.
    app.platform
        .respond_with(|_| Ok((401, b"Forbidden".to_vec())));
    let r = expect(
        api.post(
            &format!("/v1/channels/email/{}/test", id(&ch)),
            json!({"to": "ada@example.com"}),
        ),
        200,
    );
    assert_eq!(r["sent"], false);
    assert!(r["error"].as_str().unwrap().contains("401"));
}

#[test]
fn the_signed_webhook_takes_raw_mail_and_refuses_a_bad_signature() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let ch = smtp_channel(&api, "support@acme.example", false);
    let secret = ch["inbound_secret"].as_str().unwrap();
    let raw = mail(
        "ada@example.com",
        "support@acme.example",
        "Hi",
        "w1@example.com",
        "",
        "via webhook",
    );
    let path = format!("/v1/channels/email/{}/inbound", id(&ch));
    let unsigned = app.request("POST", &path).body(raw.clone()).send();
    assert_eq!(unsigned.status, 401);
    let sig = sign_webhook(secret.as_bytes(), app.platform.now().timestamp(), &raw);
    let r = app
        .request("POST", &path)
        .header("x-edgedesk-signature", &sig)
        .body(raw)
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["outcome"], "stored");
}

#[test]
fn mail_for_an_unknown_mailbox_is_refused_and_the_listener_can_ask_first() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    let raw = mail(
        "ada@example.com",
        "nobody@acme.example",
        "Hi",
        "u1@x",
        "",
        "hi",
    );
    assert_eq!(deliver(&app, "nobody@acme.example", &raw).status, 404);
    let ask = |a: &str| {
        app.request("GET", &format!("/v1/system/mailboxes/{a}"))
            .header("x-platform-token", PLATFORM_TOKEN)
            .send()
    };
    assert_eq!(ask("support%40acme.example").status, 200);
    assert_eq!(ask("support+tok@acme.example").status, 200);
    assert_eq!(ask("nobody@acme.example").status, 404);
    let no_token = app
        .request("GET", "/v1/system/mailboxes/support@acme.example")
        .send();
    assert_eq!(no_token.status, 401);
}

#[test]
fn a_flood_from_one_sender_is_refused_for_a_while() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    for i in 0..30 {
        let raw = mail(
            "ada@example.com",
            "support@acme.example",
            "Hi",
            &format!("f{i}@x"),
            "",
            "hi",
        );
        assert_eq!(deliver(&app, "support@acme.example", &raw).status, 200);
    }
    let raw = mail(
        "ada@example.com",
        "support@acme.example",
        "Hi",
        "f31@x",
        "",
        "hi",
    );
    let r = deliver(&app, "support@acme.example", &raw);
    assert_eq!(r.status, 429);
    assert_eq!(r.error_code(), "rate_limited");
    app.platform
        .advance(std::time::Duration::from_secs(11 * 60));
    assert_eq!(deliver(&app, "support@acme.example", &raw).status, 200);
}

#[test]
fn copies_are_refused_on_a_conversation_that_is_not_email() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    let c = contact(&api, "Bo");
    let conv = conversation(&api, &id(&c));
    let r = api.post(
        &format!("/v1/conversations/{}/messages", id(&conv)),
        json!({"body": "x", "cc": ["a@b.example"]}),
    );
    assert_eq!(r.status, 422);
}

#[test]
fn garbage_is_refused_with_a_clear_error_and_nothing_is_stored() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    let r = deliver(&app, "support@acme.example", b"\x00\xff not a mail at all");
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(data(&expect(api.get("/v1/conversations"), 200)).is_empty());
}

/// Relayed mails addressed to `to`.
fn mails_to(reqs: &[OutboundRequest], to: &str) -> Vec<String> {
    relayed(reqs)
        .into_iter()
        .filter(|(v, _)| v["to"].as_array().unwrap().iter().any(|a| a == to))
        .map(|(_, raw)| raw)
        .collect()
}

#[test]
fn an_agent_is_mailed_when_a_conversation_is_assigned_to_them_unless_they_turned_it_off() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    relay_answers(&app, 200, r#"{"id":"ok"}"#);
    let grace = agent(&api, "grace@acme.example", "agent");
    let alan = agent(&api, "alan@acme.example", "agent");
    let c = contact(&api, "Bo");
    let conv = conversation(&api, &id(&c));
    let path = format!("/v1/conversations/{}", id(&conv));
    expect(api.patch(&path, json!({"assignee_id": id(&grace)})), 200);
    app.sweep();
    let mails = mails_to(&app.platform.take_outbound(), "grace@acme.example");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("Assigned to you"), "{}", mails[0]);
    assert!(mails[0].contains("Auto-Submitted: auto-generated"));
    // Alan does not want these.
    let prefs = expect(
        api.put(
            &format!("/v1/agents/{}/notifications", id(&alan)),
            json!({"assigned": false}),
        ),
        200,
    );
    assert_eq!(prefs["mention"], true);
    expect(api.patch(&path, json!({"assignee_id": id(&alan)})), 200);
    app.sweep();
    assert!(mails_to(&app.platform.take_outbound(), "alan@acme.example").is_empty());
    assert_eq!(
        api.key_client("read_only")
            .put(
                &format!("/v1/agents/{}/notifications", id(&alan)),
                json!({})
            )
            .status,
        403
    );
}

#[test]
fn a_mention_in_a_private_note_mails_the_agent_it_names() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    relay_answers(&app, 200, r#"{"id":"ok"}"#);
    agent(&api, "grace@acme.example", "agent");
    let c = contact(&api, "Bo");
    let conv = conversation(&api, &id(&c));
    expect(
        api.post(
            &format!("/v1/conversations/{}/messages", id(&conv)),
            json!({"body": "@grace can you check the invoice?", "private": true}),
        ),
        201,
    );
    app.sweep();
    let mails = mails_to(&app.platform.take_outbound(), "grace@acme.example");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("mentioned you"), "{}", mails[0]);
    assert!(mails[0].contains("check the invoice"));
}

#[test]
fn a_tenant_without_an_email_channel_sends_no_notification() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    relay_answers(&app, 200, r#"{"id":"ok"}"#);
    let grace = agent(&api, "grace@acme.example", "agent");
    let c = contact(&api, "Bo");
    let conv = conversation(&api, &id(&c));
    expect(
        api.patch(
            &format!("/v1/conversations/{}", id(&conv)),
            json!({"assignee_id": id(&grace)}),
        ),
        200,
    );
    app.sweep();
    assert!(relayed(&app.platform.take_outbound()).is_empty());
}

#[test]
fn a_visitor_who_left_their_email_gets_unread_replies_by_mail_and_answers_into_the_same_conversation(
) {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    smtp_channel(&api, "support@acme.example", false);
    relay_answers(&app, 200, r#"{"id":"ok"}"#);
    let t = api.tenant_id();
    let cfg = expect(app.anon().get(&format!("/v1/widget/{t}/config")), 200);
    assert_eq!(
        (cfg["online"].as_bool(), cfg["offline_email"].as_bool()),
        (Some(false), Some(true))
    );
    let v = Visitor::new(&app, &t, json!({"name": "Ada"}));
    assert_eq!(
        v.call("POST", "/email", Some(json!({"email": "ada@example.com"})))
            .error_code(),
        "no_conversation"
    );
    let cid = v.say("Do you ship to Iceland?");
    expect(
        v.call("POST", "/email", Some(json!({"email": "Ada@Example.com"}))),
        200,
    );
    let reply = expect(
        api.post(
            &format!("/v1/conversations/{cid}/messages"),
            json!({"body": "We do."}),
        ),
        201,
    );
    assert_eq!(reply["delivery"]["state"], "queued");
    app.sweep();
    assert!(
        relayed(&app.platform.take_outbound()).is_empty(),
        "not before the visitor had a chance to read it"
    );
    app.platform.advance(std::time::Duration::from_secs(121));
    app.sweep();
    let sent = relayed(&app.platform.take_outbound());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0["to"], json!(["ada@example.com"]));
    assert!(sent[0].1.contains("We do."));
    assert!(
        sent[0]
            .1
            .contains("Subject: Re: Your conversation with Shop"),
        "{}",
        sent[0].1
    );
    let our_id = messages(&api, &cid)[1]["email"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Ada answers by mail: the web conversation goes on.
    let answer = stored(deliver(
        &app,
        "support@acme.example",
        &mail(
            "ada@example.com",
            "support@acme.example",
            "Re: Your conversation with Shop",
            "ada-1@example.com",
            &format!("In-Reply-To: <{our_id}>\r\n"),
            "Great, thanks!",
        ),
    ));
    assert_eq!(answer["conversation_id"], cid.as_str());
    assert_eq!(v.bodies().last().unwrap(), "Great, thanks!");

    // A reply she reads in the widget is not mailed.
    let read = expect(
        api.post(
            &format!("/v1/conversations/{cid}/messages"),
            json!({"body": "Anything else?"}),
        ),
        201,
    );
    let seq = read["seq"].as_u64().unwrap();
    assert_eq!(
        v.call("POST", "/seen", Some(json!({"seq": seq}))).status,
        204
    );
    app.platform.advance(std::time::Duration::from_secs(121));
    app.sweep();
    assert!(relayed(&app.platform.take_outbound()).is_empty());
    let last = messages(&api, &cid).last().unwrap().clone();
    assert!(last.get("delivery").is_none(), "{last}");
}

#[test]
fn an_agents_public_reply_on_an_email_ticket_is_mailed_in_its_thread_and_a_note_is_not() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", true);
    relay_answers(&app, 200, r#"{"id":"ok"}"#);
    stored(deliver(
        &app,
        "support@acme.example",
        &mail(
            "ada@example.com",
            "support@acme.example",
            "Broken",
            "tk1@example.com",
            "",
            "It broke.",
        ),
    ));
    let ticket = data(&expect(api.get("/v1/tickets"), 200))[0].clone();
    let path = format!("/v1/tickets/{}/messages", id(&ticket));
    expect(
        api.post(
            &path,
            json!({"body": "Internal: check logs", "private": true}),
        ),
        201,
    );
    expect(api.post(&path, json!({"body": "We are on it."})), 201);
    app.sweep();
    let sent = relayed(&app.platform.take_outbound());
    assert_eq!(sent.len(), 1, "the public reply only");
    assert!(sent[0].1.contains("We are on it."));
    assert!(
        sent[0].1.contains("In-Reply-To: <tk1@example.com>"),
        "{}",
        sent[0].1
    );
    let cid = ticket["conversation_id"].as_str().unwrap();
    assert_eq!(
        messages(&api, cid).last().unwrap()["delivery"]["state"],
        "sent"
    );
}

#[test]
fn an_agent_who_asked_for_the_digest_gets_their_open_work_once_a_day() {
    let app = TestApp::new();
    let api = app.create_tenant("A");
    smtp_channel(&api, "support@acme.example", false);
    relay_answers(&app, 200, r#"{"id":"ok"}"#);
    let grace = agent(&api, "grace@acme.example", "agent");
    agent(&api, "alan@acme.example", "agent");
    let c = contact(&api, "Bo");
    let conv = conversation(&api, &id(&c));
    expect(
        api.patch(
            &format!("/v1/conversations/{}", id(&conv)),
            json!({"assignee_id": id(&grace)}),
        ),
        200,
    );
    expect(
        api.put(
            &format!("/v1/agents/{}/notifications", id(&grace)),
            json!({"digest": true}),
        ),
        200,
    );
    app.sweep();
    app.platform.take_outbound();
    for day in 0..2 {
        app.platform
            .advance(std::time::Duration::from_secs(24 * 3600));
        app.sweep();
        let reqs = app.platform.take_outbound();
        let digests = mails_to(&reqs, "grace@acme.example");
        assert_eq!(digests.len(), 1, "day {day}");
        assert!(
            digests[0].contains("1 open conversations"),
            "{}",
            digests[0]
        );
        assert!(
            mails_to(&reqs, "alan@acme.example").is_empty(),
            "Alan did not ask"
        );
    }
}
