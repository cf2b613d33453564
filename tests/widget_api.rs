//! The widget's public API end to end: sessions, identity, visitor messages, live feed, CORS.

use edgedesk_e2e::{error_code, Api, Host};
use serde_json::{json, Value};

fn visitor(host: &Host, token: &str) -> VisitorApi {
    Api {
        base: host.base.clone(),
        key: None,
    }
    .with_visitor(token)
}

trait VisitorExt {
    fn with_visitor(self, token: &str) -> VisitorApi;
}

/// A client sending `Authorization: Visitor <token>`.
struct VisitorApi {
    api: Api,
    token: String,
}

impl VisitorExt for Api {
    fn with_visitor(self, token: &str) -> VisitorApi {
        VisitorApi {
            api: self,
            token: token.to_owned(),
        }
    }
}

impl VisitorApi {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> edgedesk_e2e::Resp {
        let auth = format!("Visitor {}", self.token);
        self.api
            .call(method, path, body, &[("authorization", &auth)])
    }
}

fn session(host: &Host, tenant: &str, body: Value) -> (u16, Value) {
    host.anon()
        .post(&format!("/v1/widget/{tenant}/session"), &body)
}

#[test]
fn a_visitor_chats_and_the_agent_sees_it_and_replies() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let (s, cfg) = host.anon().get(&format!("/v1/widget/{t}/config"));
    assert_eq!(
        (s, cfg["tenant"]["name"].as_str(), cfg["online"].as_bool()),
        (200, Some("Shop"), Some(false))
    );
    let (s, sess) = session(
        &host,
        &t,
        json!({"name": "Ada", "email": "ada@example.com"}),
    );
    assert_eq!(s, 200, "{sess}");
    assert!(sess["conversation_id"].is_null());
    let v = visitor(&host, sess["token"].as_str().unwrap());
    let sent = v.call(
        "POST",
        &format!("/v1/widget/{t}/messages"),
        Some(&json!({"body": "Is my order shipped?"})),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let (_, convs) = api.get("/v1/conversations?channel=web");
    let conv = convs["data"][0].clone();
    assert_eq!(conv["contact_id"], sess["contact_id"]);
    let cid = conv["id"].as_str().unwrap();
    let (s, _) = api.post(
        &format!("/v1/conversations/{cid}/messages"),
        &json!({"body": "It ships today"}),
    );
    assert_eq!(s, 201);
    let (s, _) = api.post(
        &format!("/v1/conversations/{cid}/messages"),
        &json!({"body": "internal: check stock", "private": true}),
    );
    assert_eq!(s, 201);
    let r = v.call("GET", &format!("/v1/widget/{t}/messages"), None);
    let bodies: Vec<&str> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec!["Is my order shipped?", "It ships today"],
        "private notes never reach visitors"
    );
    // The session resumes with the same token.
    let (_, again) = session(&host, &t, json!({"token": sess["token"]}));
    assert_eq!(
        (
            again["contact_id"].clone(),
            again["conversation_id"].as_str()
        ),
        (sess["contact_id"].clone(), Some(cid))
    );
}

#[test]
fn the_long_poll_feed_delivers_messages_typing_and_receipts_in_order() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let (_, sess) = session(&host, &t, json!({}));
    let v = visitor(&host, sess["token"].as_str().unwrap());
    v.call(
        "POST",
        &format!("/v1/widget/{t}/messages"),
        Some(&json!({"body": "hello"})),
    );
    let (_, convs) = api.get("/v1/conversations");
    let cid = convs["data"][0]["id"].as_str().unwrap().to_owned();
    let waiter = {
        let base = host.base.clone();
        let token = sess["token"].as_str().unwrap().to_owned();
        let t = t.clone();
        std::thread::spawn(move || {
            let v = Api { base, key: None }.with_visitor(&token);
            let started = std::time::Instant::now();
            let r = v.call("GET", &format!("/v1/widget/{t}/poll?after=1&wait=10"), None);
            (r, started.elapsed())
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    api.post(
        &format!("/v1/conversations/{cid}/typing"),
        &json!({"typing": true}),
    );
    let (r, waited) = waiter.join().unwrap();
    assert_eq!(r.status, 200);
    assert!(
        waited.as_secs_f64() < 5.0,
        "the poll answers as soon as something happens ({waited:?})"
    );
    let kinds: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"typing"), "{}", r.body);
    let typing = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "typing")
        .unwrap()
        .clone();
    assert_eq!(
        (typing["from"].as_str(), typing["typing"].as_bool()),
        (Some("agent"), Some(true))
    );
    let (s, _) = api.post(
        &format!("/v1/conversations/{cid}/messages"),
        &json!({"body": "hi there"}),
    );
    assert_eq!(s, 201);
    let next = r.body["next"].as_str().unwrap().to_owned();
    let r2 = v.call("GET", &next, None);
    let msgs: Vec<(u64, &str)> = r2.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| {
            (
                e["message"]["seq"].as_u64().unwrap(),
                e["message"]["body"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(msgs, vec![(2, "hi there")]);
    let s = v.call(
        "POST",
        &format!("/v1/widget/{t}/seen"),
        Some(&json!({"seq": 2})),
    );
    assert_eq!(s.status, 204);
    let (_, feed) = api.get(&format!("/v1/conversations/{cid}/poll?after=2&rev=0"));
    let seen = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "seen")
        .cloned()
        .unwrap();
    assert_eq!(
        (seen["by"].as_str(), seen["seq"].as_u64()),
        (Some("contact"), Some(2))
    );
}

#[test]
fn a_wrong_identity_hash_is_refused_and_a_right_one_reaches_the_same_contact() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let (s, secret) = api.post("/v1/tenant/widget/identity-secret", &json!(null));
    assert_eq!(s, 200, "{secret}");
    let secret = secret["identity_secret"].as_str().unwrap().to_owned();
    let hash = |id: &str| {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(id.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    let (s, b) = session(
        &host,
        &t,
        json!({"user": {"id": "u-1", "name": "Ada", "hash": hash("u-2")}}),
    );
    assert_eq!((s, error_code(&b)), (401, "identity_mismatch"));
    let (s, first) = session(
        &host,
        &t,
        json!({"user": {"id": "u-1", "name": "Ada", "hash": hash("u-1")}}),
    );
    assert_eq!(s, 200, "{first}");
    let (_, second) = session(
        &host,
        &t,
        json!({"user": {"id": "u-1", "hash": hash("u-1")}}),
    );
    assert_eq!(first["contact_id"], second["contact_id"]);
    let (s, other) = session(
        &host,
        &t,
        json!({"user": {"id": "u-2", "hash": hash("u-2")}}),
    );
    assert_eq!(s, 200);
    assert_ne!(other["contact_id"], first["contact_id"]);
}

#[test]
fn visitor_tokens_and_data_never_cross_tenants() {
    let host = Host::start();
    let a = host.tenant("A");
    let b = host.tenant("B");
    let (ta, tb) = (a.tenant_id(), b.tenant_id());
    let (_, sa) = session(&host, &ta, json!({}));
    let va = visitor(&host, sa["token"].as_str().unwrap());
    va.call(
        "POST",
        &format!("/v1/widget/{ta}/messages"),
        Some(&json!({"body": "secret of A"})),
    );
    let r = va.call("GET", &format!("/v1/widget/{tb}/messages"), None);
    assert_eq!(
        (r.status, error_code(&r.body)),
        (401, "unauthorized"),
        "A's token is not valid at B"
    );
    let r = va.call(
        "POST",
        &format!("/v1/widget/{tb}/messages"),
        Some(&json!({"body": "x"})),
    );
    assert_eq!(r.status, 401);
    let (_, sb) = session(&host, &tb, json!({"token": sa["token"]}));
    assert_ne!(
        sb["contact_id"], sa["contact_id"],
        "a foreign token starts a fresh visitor"
    );
    let vb = visitor(&host, sb["token"].as_str().unwrap());
    let r = vb.call("GET", &format!("/v1/widget/{tb}/messages"), None);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 0);
}

#[test]
fn cors_allows_only_the_tenants_origins_and_config_is_cacheable() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let (s, _) = api.patch(
        "/v1/tenant/widget",
        &json!({"allowed_origins": ["https://shop.example"], "color": "#112233"}),
    );
    assert_eq!(s, 200);
    let anon = host.anon();
    let ok = anon.call(
        "GET",
        &format!("/v1/widget/{t}/config"),
        None,
        &[("origin", "https://shop.example")],
    );
    assert_eq!(
        (ok.status, ok.header("access-control-allow-origin")),
        (200, Some("https://shop.example"))
    );
    assert_eq!(ok.body["color"], "#112233");
    assert!(ok
        .header("cache-control")
        .is_some_and(|c| c.contains("max-age")));
    let etag = ok.etag.clone().unwrap();
    let cached = anon.call(
        "GET",
        &format!("/v1/widget/{t}/config"),
        None,
        &[("origin", "https://shop.example"), ("if-none-match", &etag)],
    );
    assert_eq!(cached.status, 304);
    let evil = anon.call(
        "GET",
        &format!("/v1/widget/{t}/config"),
        None,
        &[("origin", "https://evil.example")],
    );
    assert_eq!(
        (evil.status, evil.header("access-control-allow-origin")),
        (403, Some("https://evil.example"))
    );
    let pre = anon.call(
        "OPTIONS",
        &format!("/v1/widget/{t}/messages"),
        None,
        &[("origin", "https://shop.example")],
    );
    assert_eq!(
        (pre.status, pre.header("access-control-allow-origin")),
        (204, Some("https://shop.example"))
    );
}

#[test]
fn attachments_are_checked_stored_apart_and_served_by_signed_link() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    api.patch(
        "/v1/tenant/widget",
        &json!({"attachments": {"max_bytes": 1024, "types": ["image/png"]}}),
    );
    let (_, sess) = session(&host, &t, json!({}));
    let auth = format!("Visitor {}", sess["token"].as_str().unwrap());
    let anon = host.anon();
    let png = [137u8, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3];
    let up = anon.send(
        "POST",
        &format!("/v1/widget/{t}/attachments?name=shot.png"),
        Some(&png),
        &[("authorization", &auth), ("content-type", "image/png")],
    );
    assert_eq!(up.status, 201, "{}", up.body);
    let url = up.body["url"].as_str().unwrap().to_owned();
    let got = anon.send("GET", &url, None, &[]);
    assert_eq!(
        (got.status, got.header("content-type")),
        (200, Some("image/png"))
    );
    let forged = anon.send("GET", &url.replace("sig=", "sig=0"), None, &[]);
    assert_eq!(forged.status, 404);
    let big = vec![0u8; 2048];
    let r = anon.send(
        "POST",
        &format!("/v1/widget/{t}/attachments?name=big.png"),
        Some(&big),
        &[("authorization", &auth), ("content-type", "image/png")],
    );
    assert_eq!((r.status, error_code(&r.body)), (413, "payload_too_large"));
    let r = anon.send(
        "POST",
        &format!("/v1/widget/{t}/attachments?name=x.exe"),
        Some(&png),
        &[
            ("authorization", &auth),
            ("content-type", "application/x-msdownload"),
        ],
    );
    assert_eq!(
        (r.status, error_code(&r.body)),
        (415, "unsupported_media_type")
    );
    let v = visitor(&host, sess["token"].as_str().unwrap());
    let m = v.call(
        "POST",
        &format!("/v1/widget/{t}/messages"),
        Some(&json!({"attachments": [up.body]})),
    );
    assert_eq!(m.status, 201, "{}", m.body);
}
