//! The email channel end to end on the real host: a customer's mail arrives over the host's SMTP
//! listener and becomes a message of an email conversation; an agent's reply leaves through the
//! host's mail relay to a capture server standing in for the customer's provider, threaded to
//! the customer's mail; the customer's answers thread back. The host is started with `--smtp`;
//! against a deployment without an SMTP listener here (`EDGEDESK_BASE_URL`) every test returns
//! at once.

use std::time::{Duration, Instant};

use edgedesk_e2e::mail::{address_in, CaptureServer, Captured, CustomerMail, Refusal};
use edgedesk_e2e::{Api, Host};
use serde_json::{json, Value};

const SUPPORT: &str = "support@acme.example";
const ANN: &str = "ann@customer.example";

/// A tenant with an email channel on a host that takes mail, and the capture server its
/// replies go to.
struct Desk {
    host: Host,
    api: Api,
    capture: CaptureServer,
    smtp: u16,
}

fn desk() -> Option<Desk> {
    desk_with(&[])
}

fn desk_with(args: &[&str]) -> Option<Desk> {
    let host = Host::start_with_smtp(args);
    let smtp = host.smtp_port()?;
    let capture = CaptureServer::start();
    let api = host.tenant("Acme");
    let (s, channel) = api.post(
        "/v1/channels/email",
        &json!({
            "name": "Support",
            "addresses": [SUPPORT],
            "from_name": "Acme Support",
            "transport": {"kind": "smtp", "host": "127.0.0.1", "port": capture.port(), "security": "none"},
            "create_tickets": false
        }),
    );
    assert_eq!(s, 201, "{channel}");
    assert!(
        channel["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{channel}"
    );
    assert_eq!(channel["addresses"], json!([SUPPORT]), "{channel}");
    assert!(
        channel["inbound_secret"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{channel}"
    );
    Some(Desk {
        host,
        api,
        capture,
        smtp,
    })
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Line ends as a person sees them: LF, no trailing blank lines.
fn text(body: &Value) -> String {
    body.as_str()
        .unwrap_or_default()
        .replace("\r\n", "\n")
        .trim_end()
        .to_owned()
}

impl Desk {
    fn conversations(&self) -> Vec<Value> {
        let (s, page) = self.api.get("/v1/conversations");
        assert_eq!(s, 200, "{page}");
        page["data"].as_array().cloned().unwrap_or_default()
    }

    fn messages(&self, conversation: &str) -> Vec<Value> {
        let (s, page) = self.api.get(&format!(
            "/v1/conversations/{conversation}/messages?limit=100"
        ));
        assert_eq!(s, 200, "{page}");
        page["data"].as_array().cloned().unwrap_or_default()
    }

    /// The contact's messages of a conversation, as text.
    fn contact_texts(&self, conversation: &str) -> Vec<String> {
        self.messages(conversation)
            .iter()
            .filter(|m| m["sender"]["kind"] == "contact")
            .map(|m| text(&m["body"]))
            .collect()
    }

    /// The one conversation there is, once there is one.
    fn the_conversation(&self) -> Value {
        let conversations = wait_for("a conversation", Duration::from_secs(10), || {
            let all = self.conversations();
            (!all.is_empty()).then_some(all)
        });
        assert_eq!(conversations.len(), 1, "{conversations:?}");
        conversations[0].clone()
    }

    /// A customer writes a new mail; returns the conversation it landed in.
    fn customer_writes(&self, mail: &CustomerMail) -> String {
        let reply = mail.send(self.smtp).expect("the host takes the mail");
        assert!(reply.starts_with("250 "), "{reply}");
        id(&self.the_conversation())
    }

    /// An agent answers in the conversation; returns the stored message and the mail the
    /// capture server got for it (the host sweeps every second; the test sweeps too, so the
    /// outbox job runs at once).
    fn agent_replies(&self, conversation: &str, body: &str) -> (Value, Captured) {
        let (s, message) = self.api.post(
            &format!("/v1/conversations/{conversation}/messages"),
            &json!({ "body": body }),
        );
        assert_eq!(s, 201, "{message}");
        let mail = wait_for("the reply by mail", Duration::from_secs(30), || {
            self.host.sweep();
            self.capture
                .wait_until(Duration::from_millis(500), |m| m.text().contains(body))
        });
        (message, mail)
    }

    /// The state of a message's delivery, once it is not `pending` any more.
    fn delivery(&self, conversation: &str, message: &str) -> Value {
        wait_for("the delivery's outcome", Duration::from_secs(60), || {
            self.host.sweep();
            let found = self
                .messages(conversation)
                .into_iter()
                .find(|m| m["id"] == message)?;
            let delivery = found["delivery"].clone();
            (delivery["state"] == "sent" || delivery["state"] == "failed").then_some(delivery)
        })
    }
}

fn first_mail() -> CustomerMail {
    CustomerMail::new(
        ANN,
        SUPPORT,
        "My order",
        "m1@customer.example",
        "Where is my order?\nIt was due on Friday.",
    )
}

#[test]
fn a_customers_mail_becomes_a_contact_message_in_an_email_conversation() {
    let Some(d) = desk() else { return };
    let conversation = d.customer_writes(&first_mail());
    let record = d.the_conversation();
    assert_eq!(record["channel"], "email", "{record}");
    assert_eq!(
        d.contact_texts(&conversation),
        ["Where is my order?\nIt was due on Friday."]
    );
}

#[test]
fn an_agents_reply_is_mailed_threaded_to_the_customers_mail_and_shows_it_was_sent() {
    let Some(d) = desk() else { return };
    let conversation = d.customer_writes(&first_mail());
    let (message, mail) = d.agent_replies(&conversation, "Your order ships today.");

    assert_eq!(mail.to, [ANN]);
    assert_eq!(
        mail.header("In-Reply-To").as_deref(),
        Some("<m1@customer.example>")
    );
    let references = mail.header("References").unwrap_or_default();
    assert!(references.contains("<m1@customer.example>"), "{references}");
    let from = mail.header("From").unwrap_or_default();
    assert_eq!(address_in(&from), SUPPORT, "{from}");
    assert!(from.contains("Acme Support"), "{from}");
    let reply_to = mail.header("Reply-To").unwrap_or_default();
    let (local, domain) = address_in(&reply_to)
        .split_once('@')
        .unwrap_or_else(|| panic!("Reply-To is an address: {reply_to}"));
    let token = local
        .strip_prefix("support+")
        .unwrap_or_else(|| panic!("Reply-To is a plus-address of the channel: {reply_to}"));
    assert!(!token.is_empty() && domain == "acme.example", "{reply_to}");
    assert_eq!(mail.header("Subject").as_deref(), Some("Re: My order"));
    assert!(
        mail.body().contains("Your order ships today."),
        "{}",
        mail.text()
    );
    assert!(mail.header("Message-ID").is_some(), "{}", mail.text());

    let delivery = d.delivery(&conversation, &id(&message));
    assert_eq!(delivery["state"], "sent", "{delivery}");
}

#[test]
fn the_customers_answer_to_the_agents_mail_threads_back_into_the_same_conversation() {
    let Some(d) = desk() else { return };
    let conversation = d.customer_writes(&first_mail());
    let (_, mail) = d.agent_replies(&conversation, "Which order number?");
    let agent_id = mail
        .header("Message-ID")
        .expect("the reply has a Message-ID");

    let answer = CustomerMail::new(
        ANN,
        SUPPORT,
        "Re: My order",
        "m2@customer.example",
        "It is order 1042.",
    )
    .header("In-Reply-To", &agent_id)
    .header("References", &format!("<m1@customer.example> {agent_id}"));
    let reply = answer.send(d.smtp).expect("the host takes the answer");
    assert!(reply.starts_with("250 "), "{reply}");

    let texts = wait_for(
        "the answer in the conversation",
        Duration::from_secs(10),
        || {
            let texts = d.contact_texts(&conversation);
            (texts.len() == 2).then_some(texts)
        },
    );
    assert_eq!(texts[1], "It is order 1042.");
    assert_eq!(d.conversations().len(), 1);
}

#[test]
fn an_answer_with_only_the_plus_address_token_threads_back() {
    let Some(d) = desk() else { return };
    let conversation = d.customer_writes(&first_mail());
    let (_, mail) = d.agent_replies(&conversation, "Could you send a photo?");
    let reply_to = mail.header("Reply-To").expect("a Reply-To");
    let plus_address = address_in(&reply_to).to_owned();

    // No In-Reply-To, no References, another subject: only the address ties it to the
    // conversation.
    let answer = CustomerMail::new(
        ANN,
        &plus_address,
        "photo",
        "m3@customer.example",
        "Here it is.",
    );
    let reply = answer.send(d.smtp).expect("the plus-address takes mail");
    assert!(reply.starts_with("250 "), "{reply}");
    let texts = wait_for(
        "the answer in the conversation",
        Duration::from_secs(10),
        || {
            let texts = d.contact_texts(&conversation);
            (texts.len() == 2).then_some(texts)
        },
    );
    assert_eq!(texts[1], "Here it is.");
    assert_eq!(d.conversations().len(), 1);
}

#[test]
fn mail_for_an_address_no_channel_has_is_refused_with_550() {
    let Some(d) = desk() else { return };
    for nobody in ["nobody@acme.example", "support@elsewhere.example"] {
        let refused = CustomerMail::new(ANN, nobody, "Hello", "x1@customer.example", "Hi")
            .send(d.smtp)
            .expect_err("no mailbox here");
        assert!(refused.starts_with("550 5.1.1 "), "{refused}");
    }
    assert!(d.conversations().is_empty());
}

#[test]
fn an_auto_reply_is_taken_but_creates_no_message() {
    let Some(d) = desk() else { return };
    let away = CustomerMail::new(
        "bob@customer.example",
        SUPPORT,
        "Out of office",
        "ooo1@customer.example",
        "I am away until Monday.",
    )
    .header("Auto-Submitted", "auto-replied");
    let reply = away.send(d.smtp).expect("an auto-reply is accepted");
    assert!(reply.starts_with("250 "), "{reply}");
    std::thread::sleep(Duration::from_secs(1));
    d.host.sweep();
    assert!(
        d.conversations().is_empty(),
        "an auto-reply is parked, not a message"
    );
    // The same sender's own mail is a message as usual.
    let conversation = d.customer_writes(&CustomerMail::new(
        "bob@customer.example",
        SUPPORT,
        "Question",
        "q1@customer.example",
        "Do you ship to Norway?",
    ));
    assert_eq!(d.contact_texts(&conversation), ["Do you ship to Norway?"]);
}

#[test]
fn the_same_message_id_twice_makes_one_message() {
    let Some(d) = desk() else { return };
    let mail = first_mail();
    let conversation = d.customer_writes(&mail);
    let again = mail.send(d.smtp).expect("a redelivery is accepted");
    assert!(again.starts_with("250 "), "{again}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(d.contact_texts(&conversation).len(), 1);
    assert_eq!(d.conversations().len(), 1);
}

#[test]
fn a_reply_the_customers_server_refuses_ends_failed_with_the_reason() {
    let Some(d) = desk() else { return };
    let gone = "gone@customer.example";
    d.capture.refuse(gone, Refusal::Permanent);
    let conversation = d.customer_writes(&CustomerMail::new(
        gone,
        SUPPORT,
        "Last words",
        "g1@customer.example",
        "Please close my account.",
    ));
    let (s, message) = d.api.post(
        &format!("/v1/conversations/{conversation}/messages"),
        &json!({ "body": "Done, goodbye." }),
    );
    assert_eq!(s, 201, "{message}");
    let delivery = d.delivery(&conversation, &id(&message));
    assert_eq!(delivery["state"], "failed", "{delivery}");
    assert!(
        delivery.to_string().contains("550"),
        "the reason names the server's refusal: {delivery}"
    );
    assert!(d.capture.messages().is_empty());
}

#[test]
fn a_message_over_the_listeners_size_limit_is_refused_with_552() {
    let Some(d) = desk_with(&["--smtp-max-bytes", "4096"]) else {
        return;
    };
    let big = CustomerMail::new(
        ANN,
        SUPPORT,
        "Logs",
        "big1@customer.example",
        &"log line that goes on and on\n".repeat(300),
    );
    let refused = big.send(d.smtp).expect_err("too big");
    assert!(refused.starts_with("552 "), "{refused}");
    assert!(d.conversations().is_empty());
}

#[test]
fn a_channel_on_mailgun_sends_the_reply_as_raw_mime_to_the_api_and_a_wrong_key_fails_the_delivery()
{
    use edgedesk_e2e::mail::MailgunStandIn;
    let mailgun = MailgunStandIn::start("mg.acme.example", "key-right");
    // The host may reach the stand-in (its outbound allow-list is read at start).
    let mut hosts: Vec<String> = std::env::var("EDGEDESK_OUTBOUND_HOSTS")
        .unwrap_or_default()
        .split(',')
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    hosts.push(format!("127.0.0.1:{}", mailgun.port));
    std::env::set_var("EDGEDESK_OUTBOUND_HOSTS", hosts.join(","));
    let Some(d) = desk() else { return };
    let (s, channels) = d.api.get("/v1/channels/email");
    assert_eq!(s, 200, "{channels}");
    let channel = id(&channels["data"][0]);
    let use_key = |key: &str| {
        let r = d.api.call(
            "PATCH",
            &format!("/v1/channels/email/{channel}"),
            Some(&json!({"transport": {"kind": "mailgun", "base_url": format!("http://127.0.0.1:{}", mailgun.port),
                                       "domain": "mg.acme.example", "api_key": key}})),
            &[],
        );
        assert_eq!(r.status, 200, "{}", r.body);
    };
    use_key("key-right");
    let conversation = d.customer_writes(&first_mail());
    let (s, message) = d.api.post(
        &format!("/v1/conversations/{conversation}/messages"),
        &json!({"body": "Shipped by Mailgun."}),
    );
    assert_eq!(s, 201, "{message}");
    let sent = wait_for("the Mailgun send", Duration::from_secs(30), || {
        d.host.sweep();
        mailgun.sent.try_recv().ok()
    });
    assert_eq!(sent.to, [ANN]);
    assert!(
        sent.raw.contains("In-Reply-To: <m1@customer.example>"),
        "{}",
        sent.raw
    );
    assert!(sent.raw.contains("Shipped by Mailgun."));
    assert_eq!(d.delivery(&conversation, &id(&message))["state"], "sent");

    use_key("key-wrong");
    let (s, message) = d.api.post(
        &format!("/v1/conversations/{conversation}/messages"),
        &json!({"body": "This one is refused."}),
    );
    assert_eq!(s, 201, "{message}");
    let delivery = d.delivery(&conversation, &id(&message));
    assert_eq!(delivery["state"], "failed", "{delivery}");
    assert!(
        delivery["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("401"),
        "{delivery}"
    );
}
