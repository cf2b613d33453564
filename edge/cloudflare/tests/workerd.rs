//! The Worker under the real Cloudflare runtime: `wrangler dev` (workerd) serving the built
//! Worker from the repo root (`cargo xtask build` writes `edge/cloudflare/build/`). These cover
//! what only this runtime has: Durable Object storage persisting across a restart, realtime
//! rooms with hibernatable WebSockets, a Durable Object alarm firing a timer, and the read-only
//! data sets installed from the static assets. The shared HTTP suites (`tests/`) run against it
//! as well, through `EDGEDESK_BASE_URL`.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A `wrangler dev` process on a free port, its state in a directory that outlives restarts.
struct Dev {
    child: Option<Child>,
    state: tempfile::TempDir,
    port: u16,
}

impl Dev {
    fn start() -> Dev {
        let built = root().join("edge/cloudflare/build/shim.mjs");
        assert!(
            built.exists(),
            "the Worker is not built: run `cargo xtask build` first"
        );
        let mut dev = Dev {
            child: None,
            state: tempfile::tempdir().expect("a state directory"),
            port: 0,
        };
        dev.spawn();
        dev
    }

    fn spawn(&mut self) {
        self.port = free_port();
        let child = Command::new(root().join("edge/cloudflare/node_modules/.bin/wrangler"))
            .current_dir(root())
            .args(["dev", "--ip", "127.0.0.1", "--port", &self.port.to_string()])
            // Each instance its own inspector port (the default, 9229, would clash).
            .args(["--inspector-port", &free_port().to_string()])
            .arg("--persist-to")
            .arg(self.state.path())
            .args([
                "--log-level",
                "error",
                "--show-interactive-dev-session=false",
            ])
            .env("WRANGLER_SEND_METRICS", "false")
            // Offline: no fetch of the `request.cf` placeholder data from Cloudflare.
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("CI", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Its own process group: wrangler runs node, which runs workerd, and stopping must
            // end all of them (a leftover workerd would keep the state directory).
            .process_group(0)
            .spawn()
            .expect("wrangler is installed (npm ci in edge/cloudflare)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(120);
        while get(&self.base(), "/health", None).0 != 200 {
            assert!(
                Instant::now() < deadline,
                "wrangler dev did not serve within 120 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_group(&c);
            let _ = c.wait();
        }
    }
}

/// Ends the process group led by `child` at once (SIGKILL: an abrupt stop, as a crash would).
fn kill_group(child: &Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
}

impl Drop for Dev {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn call(
    base: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let Ok(mut resp) = agent().run(req.body(bytes).expect("a request")) else {
        return (0, Value::Null);
    };
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn get(base: &str, path: &str, auth: Option<&str>) -> (u16, Value) {
    call(base, "GET", path, auth, None)
}

/// A tenant's admin `Authorization` value.
fn tenant(base: &str) -> String {
    let (s, t) = call(
        base,
        "POST",
        "/v1/tenants",
        None,
        Some(&json!({"name": "Acme"})),
    );
    assert_eq!(s, 201, "{t}");
    format!(
        "Bearer {}",
        t["api_key"]["key"].as_str().expect("an admin key")
    )
}

/// A new widget visitor of the tenant `auth` administers: the tenant's id and the visitor's
/// token.
fn visitor(base: &str, auth: &str) -> (String, String) {
    let (_, t) = get(base, "/v1/tenant", Some(auth));
    let tid = t["id"].as_str().expect("a tenant id").to_owned();
    let (s, sess) = call(
        base,
        "POST",
        &format!("/v1/widget/{tid}/session"),
        None,
        Some(&json!({})),
    );
    assert_eq!(s, 200, "{sess}");
    let token = sess["token"].as_str().expect("a visitor token").to_owned();
    (tid, token)
}

/// A widget visitor who wrote `body`: the tenant id, the visitor's token, their conversation.
fn chatting_visitor(base: &str, auth: &str, body: &str) -> (String, String, String) {
    let (tid, token) = visitor(base, auth);
    let (s, m) = call(
        base,
        "POST",
        &format!("/v1/widget/{tid}/messages"),
        Some(&format!("Visitor {token}")),
        Some(&json!({ "body": body })),
    );
    assert_eq!(s, 201, "{m}");
    let conv = m["conversation_id"]
        .as_str()
        .expect("a conversation")
        .to_owned();
    (tid, token, conv)
}

/// A conversation opened by a new contact; its id.
fn conversation(base: &str, auth: &str) -> String {
    let (s, c) = call(
        base,
        "POST",
        "/v1/contacts",
        Some(auth),
        Some(&json!({"name": "Ann", "email": "ann@example.com"})),
    );
    assert_eq!(s, 201, "{c}");
    let contact = c["id"].as_str().expect("a contact id");
    let body = json!({"contact_id": contact, "message": {"body": "hello", "sender": {"kind": "contact", "id": contact}}});
    let (s, c) = call(base, "POST", "/v1/conversations", Some(auth), Some(&body));
    assert_eq!(s, 201, "{c}");
    c["id"].as_str().expect("a conversation id").to_owned()
}

#[test]
fn the_worker_serves_the_openapi_document_generated_from_the_current_code() {
    // The Worker serves a document written at build time from its static assets instead of
    // carrying the generator: it must be byte for byte what this checkout's annotations generate.
    let dev = Dev::start();
    let req = ureq::http::Request::builder()
        .uri(format!("{}/v1/openapi.json", dev.base()))
        .body(Vec::new())
        .expect("a request");
    let mut resp = agent().run(req).expect("a response");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let served = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .expect("a text body");
    let generated = edgedesk_functions::routes::document();
    assert!(
        served == generated,
        "the served OpenAPI document ({} B) differs from the generated one ({} B): rebuild the Worker",
        served.len(),
        generated.len()
    );
    let doc: Value = serde_json::from_str(&served).expect("JSON");
    assert!(
        doc["paths"]["/v1/tickets"].is_object(),
        "{}",
        &served[..200.min(served.len())]
    );
}

#[test]
fn the_worker_evaluates_time_zones_and_sentiment_from_the_data_sets_it_installs_at_start() {
    // The Worker carries neither the tz database nor the sentiment weights: it reads them from its
    // static assets on the first request. Both must then answer exactly as the compiled-in copies.
    let dev = Dev::start();
    let base = dev.base();
    let auth = tenant(&base);
    for (zone, status) in [
        ("Pacific/Kiritimati", 200),
        ("pacific/kiritimati", 422),
        ("Mars/Olympus", 422),
    ] {
        let (s, body) = call(
            &base,
            "PUT",
            "/v1/bot/settings",
            Some(&auth),
            Some(&json!({"timezone": zone})),
        );
        assert_eq!(s, status, "{zone}: {body}");
    }
    let kiritimati = edgedesk_tz::Zone::from_name("Pacific/Kiritimati").expect("known zone");
    let tomorrow = || {
        (chrono::Utc::now().with_timezone(&kiritimati).date_naive() + chrono::Duration::days(1))
            .to_string()
    };
    let before = tomorrow();
    let text = "This is terrible, I am very angry. Can you call me tomorrow?";
    let (s, understood) = call(
        &base,
        "POST",
        "/v1/bot/test",
        Some(&auth),
        Some(&json!({"text": text})),
    );
    assert_eq!(s, 200, "{understood}");
    let after = tomorrow();
    let instants: Vec<&str> = understood["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .filter_map(|e| e["value"]["instant"].as_str())
        .collect();
    assert!(
        [before, after]
            .iter()
            .any(|day| instants == [format!("{day}T00:00:00+14:00")]),
        "{understood}"
    );
    let sentiment = understood["sentiment"].as_f64().expect("a score") as f32;
    assert_eq!(sentiment, edgedesk_nlp::sentiment(text), "{understood}");
    assert!(sentiment < -0.2, "{understood}");
}

#[test]
fn the_worker_folds_knowledge_base_text_with_the_tables_it_installs_at_start() {
    // The search analyser's folding tables also come from the static assets: accents, full-width
    // forms, ligatures and half-width katakana must match their plain forms as on the local host.
    let dev = Dev::start();
    let base = dev.base();
    let auth = tenant(&base);
    let (s, article) = call(
        &base,
        "POST",
        "/v1/kb/articles",
        Some(&auth),
        Some(&json!({
            "title": "Café ﬁnance: ＲＥＦＵＮＤ policy",
            "body": "Ask about ｶﾞｲﾄﾞ pricing at the counter.",
            "locale": "en",
            "publish": true
        })),
    );
    assert_eq!(s, 201, "{article}");
    let id = article["id"].as_str().expect("an id");
    for q in ["cafe", "finance", "refund", "ガイド"] {
        let query: String = q
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let (s, found) = get(&base, &format!("/v1/kb/search?q={query}"), Some(&auth));
        assert_eq!(s, 200, "{q}: {found}");
        let hits: Vec<&str> = found["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .filter_map(|h| h["id"].as_str())
            .collect();
        assert_eq!(hits, [id], "{q}: {found}");
    }
}

#[test]
fn records_written_before_a_wrangler_dev_restart_are_read_after_it() {
    let mut dev = Dev::start();
    let auth = tenant(&dev.base());
    let (s, t) = call(
        &dev.base(),
        "POST",
        "/v1/tickets",
        Some(&auth),
        Some(&json!({"subject": "Printer on fire"})),
    );
    assert_eq!(s, 201, "{t}");
    let id = t["id"].as_str().expect("a ticket id").to_owned();
    let conv = conversation(&dev.base(), &auth);

    dev.stop();
    dev.spawn();

    let (s, again) = get(&dev.base(), &format!("/v1/tickets/{id}"), Some(&auth));
    assert_eq!(
        (s, again["subject"].as_str()),
        (200, Some("Printer on fire"))
    );
    let (s, msgs) = get(
        &dev.base(),
        &format!("/v1/conversations/{conv}/messages"),
        Some(&auth),
    );
    assert_eq!(s, 200, "{msgs}");
    assert_eq!(msgs["data"][0]["body"], "hello");
    // The sequence continues where it stopped: no message number is reused.
    let (s, m) = call(
        &dev.base(),
        "POST",
        &format!("/v1/conversations/{conv}/messages"),
        Some(&auth),
        Some(&json!({"body": "after restart"})),
    );
    assert_eq!((s, m["seq"].as_u64()), (201, Some(2)), "{m}");
}

#[test]
fn a_snoozed_conversation_is_reopened_by_the_durable_object_alarm_without_any_sweep_call() {
    let dev = Dev::start();
    let auth = tenant(&dev.base());
    let conv = conversation(&dev.base(), &auth);
    let until = chrono_like_in(Duration::from_secs(2));
    let (s, c) = call(
        &dev.base(),
        "PATCH",
        &format!("/v1/conversations/{conv}"),
        Some(&auth),
        Some(&json!({"status": "snoozed", "snoozed_until": until})),
    );
    assert_eq!((s, c["status"].as_str()), (200, Some("snoozed")), "{c}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, c) = get(
            &dev.base(),
            &format!("/v1/conversations/{conv}"),
            Some(&auth),
        );
        if c["status"] == "open" {
            assert!(c["snoozed_until"].is_null(), "{c}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {c} 30 s after the snooze ended"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// An RFC 3339 UTC timestamp `d` from now (whole seconds, rounded up).
fn chrono_like_in(d: Duration) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + d.as_secs()
        + 1;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

struct Socket(tungstenite::WebSocket<TcpStream>);

impl Socket {
    fn open(base: &str, path: &str, auth: Option<&str>) -> Socket {
        let authority = base.trim_start_matches("http://");
        let mut req = format!("ws://{authority}{path}")
            .into_client_request()
            .expect("a URL");
        if let Some(a) = auth {
            req.headers_mut()
                .insert("authorization", a.parse().expect("a header"));
        }
        let stream = TcpStream::connect(authority).expect("wrangler accepts connections");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("a timeout");
        let (ws, resp) = tungstenite::client(req, stream).expect("the handshake succeeds");
        assert_eq!(resp.status(), 101);
        Socket(ws)
    }

    /// Events of the frames that arrive until one satisfies `until`.
    fn wait_for(&mut self, what: &str, until: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no {what} within 10 s");
            self.0
                .get_ref()
                .set_read_timeout(Some(left))
                .expect("a timeout");
            match self.0.read() {
                Ok(Message::Text(t)) => {
                    let frame: Value = serde_json::from_str(t.as_str()).expect("JSON frames");
                    if let Some(e) = frame["events"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|e| until(e))
                    {
                        return e.clone();
                    }
                }
                Ok(Message::Close(c)) => panic!("closed: {c:?}"),
                Ok(_) => {}
                Err(e) => panic!("no {what}: {e}"),
            }
        }
    }
}

#[test]
fn sockets_in_a_hibernatable_room_get_stored_messages_and_carry_typing_between_visitor_and_agent() {
    let dev = Dev::start();
    let base = dev.base();
    let auth = tenant(&base);
    let (tid, token, conv) = chatting_visitor(&base, &auth, "hi");

    let mut visitor = Socket::open(
        &base,
        &format!("/v1/widget/{tid}/realtime?token={token}&after=1"),
        None,
    );
    let mut agent = Socket::open(
        &base,
        &format!("/v1/conversations/{conv}/realtime?after=1"),
        Some(&auth),
    );

    let (s, _) = call(
        &base,
        "POST",
        &format!("/v1/conversations/{conv}/messages"),
        Some(&auth),
        Some(&json!({"body": "how can I help?"})),
    );
    assert_eq!(s, 201);
    let e = visitor.wait_for("the agent's message", |e| {
        e["type"] == "message" && e["message"]["body"] == "how can I help?"
    });
    assert_eq!(e["message"]["seq"], 2);

    visitor
        .0
        .send(Message::text(
            json!({"type": "typing", "typing": true}).to_string(),
        ))
        .expect("sent");
    agent.wait_for("the visitor's typing", |e| {
        e["type"] == "typing" && e["from"] == "contact" && e["typing"] == true
    });
}

#[test]
fn a_visitor_socket_opened_before_any_message_is_held_by_its_doorbell_and_follows_the_conversation_it_opens(
) {
    let dev = Dev::start();
    let base = dev.base();
    let auth = tenant(&base);
    let (tid, token) = visitor(&base, &auth);
    // Nothing said yet: the feed watches only the visitor's doorbell, whose object holds it.
    let mut visitor = Socket::open(
        &base,
        &format!("/v1/widget/{tid}/realtime?token={token}&after=0"),
        None,
    );
    let (s, m) = call(
        &base,
        "POST",
        &format!("/v1/widget/{tid}/messages"),
        Some(&format!("Visitor {token}")),
        Some(&json!({"body": "hello?"})),
    );
    assert_eq!(s, 201, "{m}");
    visitor.wait_for("the visitor's own first message", |e| {
        e["type"] == "message" && e["message"]["body"] == "hello?"
    });
    let conv = m["conversation_id"]
        .as_str()
        .expect("a conversation")
        .to_owned();
    // Two agents on the conversation share the room's reads; both hear every message.
    let mut agents = [0, 1].map(|_| {
        Socket::open(
            &base,
            &format!("/v1/conversations/{conv}/realtime?after=1"),
            Some(&auth),
        )
    });
    let (s, _) = call(
        &base,
        "POST",
        &format!("/v1/conversations/{conv}/messages"),
        Some(&auth),
        Some(&json!({"body": "hi, how can I help?"})),
    );
    assert_eq!(s, 201);
    let reply = |e: &Value| e["type"] == "message" && e["message"]["body"] == "hi, how can I help?";
    let e = visitor.wait_for(
        "the agent's reply, through the conversation's notice",
        reply,
    );
    assert_eq!(e["message"]["seq"], 2);
    for agent in &mut agents {
        agent.wait_for("the reply on each agent socket", reply);
    }
}

#[test]
fn open_widgets_hear_the_team_come_online_through_the_tenants_public_object() {
    let dev = Dev::start();
    let base = dev.base();
    let auth = tenant(&base);
    // Two visitors, one before and one after their first message: held by their doorbell's
    // object and by their conversation's, both watching the tenant's public channel.
    let (tid, quiet) = visitor(&base, &auth);
    let (_, talker) = visitor(&base, &auth);
    let (s, m) = call(
        &base,
        "POST",
        &format!("/v1/widget/{tid}/messages"),
        Some(&format!("Visitor {talker}")),
        Some(&json!({"body": "anyone?"})),
    );
    assert_eq!(s, 201, "{m}");
    let mut sockets = [(quiet, 0), (talker, 1)].map(|(token, after)| {
        Socket::open(
            &base,
            &format!("/v1/widget/{tid}/realtime?token={token}&after={after}&public=0"),
            None,
        )
    });
    let (s, agent) = call(
        &base,
        "POST",
        "/v1/agents",
        Some(&auth),
        Some(&json!({"email": "sam@shop.example", "name": "Sam", "role": "agent"})),
    );
    assert_eq!(s, 201, "{agent}");
    let (s, _) = call(
        &base,
        "PUT",
        &format!(
            "/v1/agents/{}/presence",
            agent["id"].as_str().expect("an id")
        ),
        Some(&auth),
        Some(&json!({"status": "online"})),
    );
    assert_eq!(s, 200);
    for socket in &mut sockets {
        socket.wait_for("the team online", |e| {
            e["type"] == "public" && e["online"] == true
        });
    }
}

#[test]
fn a_long_poll_waits_in_the_conversations_object_and_answers_when_the_reply_is_stored() {
    let dev = Dev::start();
    let base = dev.base();
    let auth = tenant(&base);
    let (tid, token, conv) = chatting_visitor(&base, &auth, "hello");
    let visitor_auth = format!("Visitor {token}");

    // Nothing new: the poll waits out its time and answers without events.
    let started = std::time::Instant::now();
    let (s, quiet) = call(
        &base,
        "GET",
        &format!("/v1/widget/{tid}/poll?after=1&wait=2"),
        Some(&visitor_auth),
        None,
    );
    assert_eq!(s, 200, "{quiet}");
    assert_eq!(quiet["events"], json!([]), "{quiet}");
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );

    // A reply while it waits: the parked poll answers once the reply is stored.
    let waiter = {
        let (base, tid, visitor_auth) = (base.clone(), tid.clone(), visitor_auth.clone());
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let answer = call(
                &base,
                "GET",
                &format!("/v1/widget/{tid}/poll?after=1&wait=20"),
                Some(&visitor_auth),
                None,
            );
            (answer, started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    let (s, _) = call(
        &base,
        "POST",
        &format!("/v1/conversations/{conv}/messages"),
        Some(&auth),
        Some(&json!({"body": "hi, how can I help?"})),
    );
    assert_eq!(s, 201);
    let ((s, feed), took) = waiter.join().expect("the poll returns");
    assert_eq!(s, 200, "{feed}");
    assert!(
        feed["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["message"]["body"] == "hi, how can I help?"),
        "{feed}"
    );
    assert!(
        took < Duration::from_secs(10),
        "answered when the reply came, not at the deadline: {took:?}"
    );
}

/// Posts raw bytes; answers the status and the body as text.
fn post_raw(url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut req = ureq::http::Request::builder().method("POST").uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let Ok(mut resp) = agent().run(req.body(body.to_vec()).expect("a request")) else {
        return (0, String::new());
    };
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

fn raw_mail(id: &str, extra: &str, body: &str) -> String {
    format!(
        "From: Ada <ada@example.com>\r\nTo: support@acme.example\r\nSubject: Printer\r\nMessage-ID: <{id}>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

#[test]
fn mail_routed_to_the_worker_and_mail_posted_to_the_webhook_reach_one_conversation_and_replies_leave_by_the_binding(
) {
    let dev = Dev::start();
    let base = dev.base();
    let auth = tenant(&base);
    let (s, ch) = call(
        &base,
        "POST",
        "/v1/channels/email",
        Some(&auth),
        Some(
            &json!({"name": "Support", "addresses": ["support@acme.example"],
                     "transport": {"kind": "cloudflare"}}),
        ),
    );
    assert_eq!(s, 201, "{ch}");
    // Email Routing's path: wrangler dev hands the mail to the Worker's email handler.
    let routed = |to: &str, mail: &str| {
        post_raw(
            &format!("{base}/cdn-cgi/handler/email?from=ada@example.com&to={to}"),
            &[("content-type", "message/rfc822")],
            mail.as_bytes(),
        )
    };
    let (s, said) = routed(
        "support@acme.example",
        &raw_mail("w1@example.com", "", "It burns."),
    );
    assert_eq!(s, 200, "{said}");
    // A mailbox nobody has makes no conversation. (The handler refuses it with `setReject`;
    // wrangler dev hands the handler a stub of another isolate and does not report that
    // refusal back, so only its effect is checked here.)
    let (s, said) = routed("nobody@acme.example", &raw_mail("w0@example.com", "", "x"));
    assert!(s == 200 || s == 400, "{s}: {said}");
    let (_, page) = get(&base, "/v1/conversations", Some(&auth));
    let convs = page["data"].as_array().expect("a page").clone();
    assert_eq!(convs.len(), 1, "{page}");
    assert_eq!(convs[0]["channel"], "email");
    let cid = convs[0]["id"].as_str().expect("an id").to_owned();

    // The signed webhook's path, replying to the first mail: the same conversation.
    let secret = ch["inbound_secret"].as_str().expect("a secret");
    let mail = raw_mail(
        "w2@example.com",
        "In-Reply-To: <w1@example.com>\r\n",
        "Still burning.",
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let sig = edgedesk_shared::signature::sign_webhook(secret.as_bytes(), now, mail.as_bytes());
    let (s, said) = post_raw(
        &format!(
            "{base}/v1/channels/email/{}/inbound",
            ch["id"].as_str().expect("an id")
        ),
        &[("x-edgedesk-signature", &sig)],
        mail.as_bytes(),
    );
    assert_eq!(s, 201, "{said}");
    let landed: Value = serde_json::from_str(&said).expect("JSON");
    assert_eq!(landed["conversation_id"], cid.as_str());

    // An agent's reply leaves through the send_email binding, sent by the alarm's job.
    let (s, m) = call(
        &base,
        "POST",
        &format!("/v1/conversations/{cid}/messages"),
        Some(&auth),
        Some(&json!({"body": "Unplug it."})),
    );
    assert_eq!(s, 201, "{m}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, page) = get(
            &base,
            &format!("/v1/conversations/{cid}/messages"),
            Some(&auth),
        );
        let last = page["data"]
            .as_array()
            .and_then(|d| d.last().cloned())
            .unwrap_or_default();
        match last["delivery"]["state"].as_str() {
            Some("sent") => break,
            Some("failed") => panic!("the binding refused the reply: {last}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "not sent 30 s later: {last}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
