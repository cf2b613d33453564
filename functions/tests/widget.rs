//! The widget's public API in process: config, sessions, messages, the poll feed, typing and
//! seen receipts, attachments, CORS.

mod common;
use common::*;

#[test]
fn a_visitor_chats_and_the_agent_sees_it_and_replies() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let cfg = expect(app.anon().get(&format!("/v1/widget/{t}/config")), 200);
    assert_eq!(
        (cfg["tenant"]["name"].as_str(), cfg["online"].as_bool()),
        (Some("Shop"), Some(false))
    );
    let v = Visitor::new(&app, &t, json!({"name": "Ada", "email": "ada@example.com"}));
    assert!(v.session["conversation_id"].is_null());
    let cid = v.say("Is my order shipped?");
    let convs = expect(api.get("/v1/conversations?channel=web"), 200);
    let conv = &data(&convs)[0];
    assert_eq!(
        (id(conv), conv["contact_id"].clone()),
        (cid.clone(), v.session["contact_id"].clone())
    );
    expect(
        api.post(
            &format!("/v1/conversations/{cid}/messages"),
            json!({"body": "It ships today"}),
        ),
        201,
    );
    expect(
        api.post(
            &format!("/v1/conversations/{cid}/messages"),
            json!({"body": "internal: check stock", "private": true}),
        ),
        201,
    );
    assert_eq!(
        v.bodies(),
        ["Is my order shipped?", "It ships today"],
        "private notes never reach visitors"
    );
    let again = expect(
        app.anon().post(
            &format!("/v1/widget/{t}/session"),
            json!({"token": v.token}),
        ),
        200,
    );
    assert_eq!(
        (
            again["contact_id"].clone(),
            again["conversation_id"].as_str()
        ),
        (v.session["contact_id"].clone(), Some(cid.as_str()))
    );
}

#[test]
fn a_visitor_message_writes_one_batch_to_its_conversation_and_touches_only_its_tenant_besides() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let tenant_actor = api.tenant_actor();
    let t = api.tenant_id();
    let v = Visitor::new(&app, &t, json!({"name": "Ada"}));
    let cid = v.say("first");
    let r = v.call("POST", "/messages", Some(json!({"body": "second"})));
    assert_eq!(r.status, 201, "{}", r.text());
    let conversation = format!("c:{cid}");
    assert_eq!(r.commits_to(&conversation), 1, "{:?}", r.commits);
    assert!(
        r.commits
            .iter()
            .all(|c| c.actor == conversation || c.actor == tenant_actor),
        "{:?}",
        r.commits
    );
    let message = r.commits.iter().find(|c| c.actor == conversation).unwrap();
    assert!(
        message
            .batch
            .puts
            .iter()
            .any(|(k, _)| k.starts_with("msg:")),
        "the message itself is in the conversation's batch: {message:?}"
    );
    assert!(app.platform.held_locks().is_empty());
}

#[test]
fn the_poll_feed_delivers_messages_typing_and_seen_receipts() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let v = Visitor::new(&app, &t, json!({}));
    let cid = v.say("hello");
    assert_eq!(
        api.post(
            &format!("/v1/conversations/{cid}/typing"),
            json!({"typing": true})
        )
        .status,
        204
    );
    let feed = expect(v.call("GET", "/poll?after=1&wait=0", None), 200);
    let typing = data_events(&feed)
        .into_iter()
        .find(|e| e["type"] == "typing")
        .expect("a typing event");
    assert_eq!(
        (typing["from"].as_str(), typing["typing"].as_bool()),
        (Some("agent"), Some(true))
    );
    expect(
        api.post(
            &format!("/v1/conversations/{cid}/messages"),
            json!({"body": "hi there"}),
        ),
        201,
    );
    let next = feed["next"].as_str().expect("a next link").to_owned();
    let r2 = expect(
        app.request("GET", &next)
            .header("authorization", &format!("Visitor {}", v.token))
            .send(),
        200,
    );
    let msgs: Vec<(u64, String)> = data_events(&r2)
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| {
            (
                e["message"]["seq"].as_u64().unwrap(),
                e["message"]["body"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(msgs, [(2, "hi there".to_owned())]);
    assert_eq!(v.call("POST", "/seen", Some(json!({"seq": 2}))).status, 204);
    let feed = expect(
        api.get(&format!("/v1/conversations/{cid}/poll?after=2&rev=0")),
        200,
    );
    let seen = data_events(&feed)
        .into_iter()
        .find(|e| e["type"] == "seen")
        .expect("a seen event");
    assert_eq!(
        (seen["by"].as_str(), seen["seq"].as_u64()),
        (Some("contact"), Some(2))
    );
    assert_eq!(
        v.call("POST", "/typing", Some(json!({"typing": true})))
            .status,
        204
    );
    let feed = expect(
        api.get(&format!("/v1/conversations/{cid}/poll?after=2&wait=0")),
        200,
    );
    assert!(
        data_events(&feed)
            .iter()
            .any(|e| e["type"] == "typing" && e["from"] == "contact"),
        "{feed}"
    );
}

#[test]
fn a_long_poll_with_nothing_new_returns_after_its_wait_on_the_test_clock() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let v = Visitor::new(&app, &t, json!({}));
    v.say("hello");
    let before = app.platform.now();
    let feed = expect(v.call("GET", "/poll?after=1&wait=5", None), 200);
    assert!(
        data_events(&feed).iter().all(|e| e["type"] != "message"),
        "{feed}"
    );
    assert!(
        app.platform.now() - before >= chrono::Duration::seconds(4),
        "the wait ran on the clock"
    );
}

#[test]
fn visitor_tokens_and_data_never_cross_tenants() {
    let app = TestApp::new();
    let a = app.create_tenant("A");
    let b = app.create_tenant("B");
    let (ta, tb) = (a.tenant_id(), b.tenant_id());
    let va = Visitor::new(&app, &ta, json!({}));
    va.say("secret of A");
    let r = app
        .request("GET", &format!("/v1/widget/{tb}/messages"))
        .header("authorization", &format!("Visitor {}", va.token))
        .send();
    assert_eq!((r.status, r.error_code().as_str()), (401, "unauthorized"));
    let vb = Visitor::new(&app, &tb, json!({"token": va.token}));
    assert_ne!(
        vb.session["contact_id"], va.session["contact_id"],
        "a foreign token starts a fresh visitor"
    );
    assert!(vb.bodies().is_empty());
}

#[test]
fn cors_allows_only_the_tenants_origins_and_config_is_cacheable() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    expect(
        api.patch(
            "/v1/tenant/widget",
            json!({"allowed_origins": ["https://shop.example"], "color": "#112233"}),
        ),
        200,
    );
    let config = |origin: &str| {
        app.request("GET", &format!("/v1/widget/{t}/config"))
            .header("origin", origin)
    };
    let ok = config("https://shop.example").send();
    assert_eq!(
        (ok.status, ok.header("access-control-allow-origin")),
        (200, Some("https://shop.example"))
    );
    assert_eq!(ok.json()["color"], "#112233");
    assert!(ok
        .header("cache-control")
        .is_some_and(|c| c.contains("max-age")));
    let etag = ok.header("etag").expect("an ETag").to_owned();
    let cached = config("https://shop.example")
        .header("if-none-match", &etag)
        .send();
    assert_eq!(cached.status, 304);
    let evil = config("https://evil.example").send();
    assert_eq!(
        (evil.status, evil.header("access-control-allow-origin")),
        (403, Some("https://evil.example"))
    );
    let pre = app
        .request("OPTIONS", &format!("/v1/widget/{t}/messages"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send();
    assert_eq!(
        (pre.status, pre.header("access-control-allow-origin")),
        (204, Some("https://shop.example"))
    );
    let pre = app
        .request("OPTIONS", &format!("/v1/widget/{t}/messages"))
        .header("origin", "https://evil.example")
        .send();
    assert_ne!(pre.header("access-control-allow-origin"), Some("*"));
    assert_ne!(pre.status, 204);
}

#[test]
fn attachments_are_checked_stored_and_served_by_a_signed_link() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    expect(
        api.patch(
            "/v1/tenant/widget",
            json!({"attachments": {"max_bytes": 1024, "types": ["image/png"]}}),
        ),
        200,
    );
    let v = Visitor::new(&app, &t, json!({}));
    let png = vec![137u8, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3];
    let upload = |name: &str, ct: &str, bytes: Vec<u8>| {
        v.request("POST", &format!("/attachments?name={name}"))
            .header("content-type", ct)
            .body(bytes)
            .send()
    };
    let up = expect(upload("shot.png", "image/png", png.clone()), 201);
    let url = up["url"].as_str().unwrap().to_owned();
    let got = app.request("GET", &url).send();
    assert_eq!(
        (got.status, got.header("content-type")),
        (200, Some("image/png"))
    );
    assert_eq!(got.body, png);
    let forged = app.request("GET", &url.replace("sig=", "sig=0")).send();
    assert_eq!(forged.status, 404);
    let r = upload("big.png", "image/png", vec![0u8; 2048]);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (413, "payload_too_large")
    );
    let r = upload("x.exe", "application/x-msdownload", png.clone());
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (415, "unsupported_media_type")
    );
    let m = expect(
        v.call("POST", "/messages", Some(json!({"attachments": [up]}))),
        201,
    );
    assert_eq!(m["attachments"][0]["name"], "shot.png");
}

#[test]
fn widget_errors_carry_cors_headers_and_the_error_shape() {
    let app = TestApp::new();
    let r = app
        .request("GET", "/v1/widget/ten_01JD3QXV6ZK8M5N2P4R7S9T0WX/messages")
        .header("origin", "https://shop.example")
        .send();
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (404, "not_found"),
        "an unknown tenant"
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let r = app
        .request("DELETE", "/v1/widget/ten_01JD3QXV6ZK8M5N2P4R7S9T0WX/config")
        .send();
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (405, "method_not_allowed")
    );
}

fn data_events(feed: &Value) -> Vec<Value> {
    feed["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {feed}"))
        .clone()
}

#[test]
fn a_wrong_identity_hash_is_refused_and_a_right_one_reaches_the_same_contact() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let secret = expect(
        api.request("POST", "/v1/tenant/widget/identity-secret")
            .send(),
        200,
    );
    let secret = secret["identity_secret"]
        .as_str()
        .expect("a secret")
        .to_owned();
    let hash =
        |user: &str| edgedesk_shared::signature::hmac_hex(secret.as_bytes(), user.as_bytes());
    let session = |body: Value| app.anon().post(&format!("/v1/widget/{t}/session"), body);
    let r = session(json!({"user": {"id": "u-1", "name": "Ada", "hash": hash("u-2")}}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "identity_mismatch")
    );
    let first = expect(
        session(json!({"user": {"id": "u-1", "name": "Ada", "hash": hash("u-1")}})),
        200,
    );
    let second = expect(
        session(json!({"user": {"id": "u-1", "hash": hash("u-1")}})),
        200,
    );
    assert_eq!(first["contact_id"], second["contact_id"]);
    let other = expect(
        session(json!({"user": {"id": "u-2", "hash": hash("u-2")}})),
        200,
    );
    assert_ne!(other["contact_id"], first["contact_id"]);
}

#[test]
fn widget_settings_are_read_and_changed_by_admins_only() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let before = expect(api.get("/v1/tenant/widget"), 200);
    assert!(before.is_object(), "{before}");
    let after = expect(
        api.patch("/v1/tenant/widget", json!({"color": "#abcdef"})),
        200,
    );
    assert_eq!(after["color"], "#abcdef");
    assert_eq!(
        expect(api.get("/v1/tenant/widget"), 200)["color"],
        "#abcdef"
    );
    let r = api.patch("/v1/tenant/widget", json!({"color": "red"}));
    assert_eq!(r.status, 422, "{}", r.text());
    let agent = api.key_client("agent");
    assert_eq!(
        agent
            .patch("/v1/tenant/widget", json!({"color": "#000000"}))
            .status,
        403
    );
}

/// The actors a feed answer says to watch.
fn watched(feed: &Value) -> Vec<String> {
    feed["watch"]
        .as_array()
        .expect("a watch list")
        .iter()
        .map(|a| a.as_str().expect("an actor").to_owned())
        .collect()
}

#[test]
fn an_idle_visitors_feed_watches_only_their_doorbell_and_their_first_message_rings_it() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let v = Visitor::new(&app, &t, json!({}));
    let contact = v.session["contact_id"].as_str().unwrap().to_owned();
    let bell = format!("v:{contact}");
    let feed = expect(v.call("GET", "/poll?after=0", None), 200);
    assert_eq!(watched(&feed), [bell.clone()], "never the tenant: {feed}");

    let first = v.call("POST", "/messages", Some(json!({"body": "hello"})));
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(first.commits_to(&bell), 1, "{:?}", first.commits);
    let cid = first.json()["conversation_id"].as_str().unwrap().to_owned();
    let second = v.call("POST", "/messages", Some(json!({"body": "again"})));
    assert_eq!(second.commits_to(&bell), 0, "only an opening rings");

    let feed = expect(v.call("GET", "/poll?after=0", None), 200);
    let mut expected = vec![format!("c:{cid}"), bell];
    if !feed["queue"].is_null() {
        // Waiting in the queue: every queue move changes the tenant's actor.
        expected.push(api.tenant_actor());
    }
    assert_eq!(watched(&feed), expected, "{feed}");
}

#[test]
fn a_visitor_out_of_the_queue_does_not_watch_the_tenant() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let v = Visitor::new(&app, &t, json!({}));
    let cid = v.say("hello");
    let agent = id(&agent(&api, "sam@shop.example", "agent"));
    expect(
        api.patch(
            &format!("/v1/conversations/{cid}"),
            json!({"assignee_id": agent}),
        ),
        200,
    );
    let feed = expect(v.call("GET", "/poll?after=0&state=", None), 200);
    assert!(feed["queue"].is_null(), "{feed}");
    assert!(
        !watched(&feed).contains(&api.tenant_actor()),
        "an assigned visitor wakes only for their own actors: {feed}"
    );
}

#[test]
fn resolving_a_conversation_writes_its_status_where_the_visitors_feed_looks() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let v = Visitor::new(&app, &t, json!({}));
    let cid = v.say("hello");
    let feed = expect(v.call("GET", "/poll?after=1&state=", None), 200);
    let next = feed["next"].as_str().unwrap().to_owned();
    let r = api.patch(
        &format!("/v1/conversations/{cid}"),
        json!({"status": "resolved"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.commits_to(&format!("c:{cid}")),
        1,
        "the status change reaches the conversation's actor: {:?}",
        r.commits
    );
    let after = expect(
        app.request("GET", &next)
            .header("authorization", &format!("Visitor {}", v.token))
            .send(),
        200,
    );
    let state = data_events(&after)
        .into_iter()
        .find(|e| e["type"] == "state")
        .expect("a state event");
    assert_eq!(state["status"], "resolved", "{after}");
}

/// The `public` events of a feed answer.
fn public_events(feed: &Value) -> Vec<Value> {
    data_events(feed)
        .into_iter()
        .filter(|e| e["type"] == "public")
        .collect()
}

/// Reads the feed at `next` with the visitor's token.
fn read_next(app: &TestApp, v: &Visitor, next: &str) -> Value {
    expect(
        app.request("GET", next)
            .header("authorization", &format!("Visitor {}", v.token))
            .send(),
        200,
    )
}

#[test]
fn an_open_widget_hears_when_the_team_comes_online_and_goes_quiet_through_the_public_channel() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let public = format!("p:{t}");
    let v = Visitor::new(&app, &t, json!({}));
    let feed = expect(v.call("GET", "/poll?after=0&public=0", None), 200);
    assert_eq!(
        watched(&feed),
        [
            format!("v:{}", v.session["contact_id"].as_str().unwrap()),
            public.clone()
        ],
        "a client that follows the public channel watches it, and still not the tenant: {feed}"
    );
    assert!(public_events(&feed).is_empty(), "nothing said yet: {feed}");
    let next = feed["next"].as_str().unwrap().to_owned();

    let sam = id(&agent(&api, "sam@shop.example", "agent"));
    let online = api.put(
        &format!("/v1/agents/{sam}/presence"),
        json!({"status": "online"}),
    );
    assert_eq!(online.status, 200, "{}", online.text());
    assert_eq!(online.commits_to(&public), 1, "{:?}", online.commits);
    let feed = read_next(&app, &v, &next);
    let [event] = public_events(&feed).try_into().expect("one public event");
    assert_eq!(event["online"], true, "{feed}");
    assert_eq!(
        event["settings"],
        expect(v.call("GET", "/config", None), 200)["version"]
    );
    let next = feed["next"].as_str().unwrap().to_owned();
    assert!(next.contains(&format!("public={}", event["rev"])), "{next}");

    // The console's refresh while still online changes nothing a visitor sees: no write.
    app.platform.advance(std::time::Duration::from_secs(120));
    let refresh = api.put(
        &format!("/v1/agents/{sam}/presence"),
        json!({"status": "online"}),
    );
    assert_eq!(refresh.commits_to(&public), 0, "{:?}", refresh.commits);
    assert!(public_events(&read_next(&app, &v, &next)).is_empty());

    // The console went quiet: once the last report expires, the recheck says so.
    app.platform.advance(std::time::Duration::from_secs(240));
    app.sweep();
    assert!(
        public_events(&read_next(&app, &v, &next)).is_empty(),
        "the first recheck found the refreshed report still live"
    );
    app.platform.advance(std::time::Duration::from_secs(120));
    app.sweep();
    let feed = read_next(&app, &v, &next);
    let [event] = public_events(&feed).try_into().expect("one public event");
    assert_eq!(event["online"], false, "{feed}");
    assert_eq!(expect(v.call("GET", "/config", None), 200)["online"], false);
}

#[test]
fn a_widget_settings_change_and_an_email_channel_reach_open_widgets_without_waking_them_for_chat() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let public = format!("p:{t}");
    let v = Visitor::new(&app, &t, json!({}));
    let feed = expect(v.call("GET", "/poll?after=0&public=0", None), 200);
    let next = feed["next"].as_str().unwrap().to_owned();

    let changed = api.patch("/v1/tenant/widget", json!({"color": "#112233"}));
    assert_eq!(changed.status, 200, "{}", changed.text());
    let feed = read_next(&app, &v, &next);
    let [event] = public_events(&feed).try_into().expect("one public event");
    let config = expect(v.call("GET", "/config", None), 200);
    assert_eq!(event["settings"], config["version"], "{feed}");
    assert_eq!(event["offline_email"], false);
    let next = feed["next"].as_str().unwrap().to_owned();

    let channel = api.post(
        "/v1/channels/email",
        json!({"name": "Support", "addresses": ["help@shop.example"],
               "transport": {"kind": "smtp", "host": "127.0.0.1", "port": 2525, "security": "none"}}),
    );
    assert_eq!(channel.status, 201, "{}", channel.text());
    let feed = read_next(&app, &v, &next);
    let [event] = public_events(&feed).try_into().expect("one public event");
    assert_eq!(event["offline_email"], true, "{feed}");

    // Another visitor's chat writes the tenant and its own actors, never the public channel.
    let other = Visitor::new(&app, &t, json!({}));
    let said = other.call("POST", "/messages", Some(json!({"body": "hello"})));
    assert_eq!(said.status, 201, "{}", said.text());
    assert_eq!(said.commits_to(&public), 0, "{:?}", said.commits);
}
