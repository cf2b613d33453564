//! The relay against a capture server over real SMTP (no mocks).

use super::*;
use crate::smtp::capture::{CaptureOptions, CaptureServer, Captured, Refusal};
use crate::smtp::testing::self_signed;

const MESSAGE: &str = concat!(
    "From: \"Acme Support\" <support@acme.test>\r\n",
    "To: ann@customer.test\r\n",
    "Subject: Re: my order\r\n",
    "Message-ID: <r1@acme.test>\r\n",
    "\r\n",
    "Hello Ann,\r\n",
    ".a line that starts with a dot\r\n",
    ".\r\n",
    "Regards\r\n",
);

fn relay() -> MailRelay {
    MailRelay::new("relay.test".into(), None).unwrap()
}

fn body(transport: Value, from: &str, to: &[&str], raw: &[u8]) -> Vec<u8> {
    json!({
        "transport": transport,
        "from": from,
        "to": to,
        "raw": base64::engine::general_purpose::STANDARD.encode(raw),
    })
    .to_string()
    .into_bytes()
}

fn smtp(host: &str, port: u16, security: &str) -> Value {
    json!({ "kind": "smtp", "host": host, "port": port, "security": security,
            "username": null, "password": null })
}

async fn post(relay: &MailRelay, body: &[u8]) -> Answer {
    relay.answer(&Method::POST, "/v1/send", body).await
}

fn one(capture: &CaptureServer) -> Captured {
    let mut got = capture.wait_for(1, Duration::from_secs(5));
    assert_eq!(got.len(), 1, "one message captured");
    got.remove(0)
}

#[tokio::test]
async fn a_message_goes_out_exactly_as_given_with_its_envelope() {
    let capture = CaptureServer::start();
    let (status, answer) = post(
        &relay(),
        &body(
            smtp("127.0.0.1", capture.port(), "none"),
            "support@acme.test",
            &["ann@customer.test", "bob@customer.test"],
            MESSAGE.as_bytes(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({ "id": "2.0.0 Ok: queued as cap1" }));
    let got = one(&capture);
    assert_eq!(got.from, "support@acme.test");
    assert_eq!(got.to, ["ann@customer.test", "bob@customer.test"]);
    assert_eq!(
        got.text(),
        MESSAGE,
        "dot-stuffed on the wire, unstuffed again"
    );
    assert_eq!(got.helo, "relay.test");
    assert!(!got.tls);
}

#[tokio::test]
async fn the_null_sender_goes_out_as_an_empty_reverse_path() {
    let capture = CaptureServer::start();
    let (status, _) = post(
        &relay(),
        &body(
            smtp("127.0.0.1", capture.port(), "none"),
            "",
            &["ann@customer.test"],
            MESSAGE.as_bytes(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one(&capture).from, "");
}

#[tokio::test]
async fn a_permanent_refusal_answers_422_with_the_servers_reply() {
    let capture = CaptureServer::start();
    capture.refuse("gone@customer.test", Refusal::Permanent);
    let (status, answer) = post(
        &relay(),
        &body(
            smtp("127.0.0.1", capture.port(), "none"),
            "support@acme.test",
            &["gone@customer.test"],
            MESSAGE.as_bytes(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["code"], "rejected");
    assert_eq!(
        answer["error"]["message"],
        "550 5.1.1 <gone@customer.test>: mailbox unavailable"
    );
    assert!(capture.messages().is_empty());
}

#[tokio::test]
async fn a_transient_refusal_answers_503() {
    let capture = CaptureServer::start();
    capture.refuse("busy@customer.test", Refusal::Transient);
    let (status, answer) = post(
        &relay(),
        &body(
            smtp("127.0.0.1", capture.port(), "none"),
            "support@acme.test",
            &["busy@customer.test"],
            MESSAGE.as_bytes(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer["error"]["code"], "unavailable");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("451 4.2.1 "),
        "{answer}"
    );
}

#[tokio::test]
async fn a_server_that_is_not_there_answers_503() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (status, answer) = post(
        &relay(),
        &body(
            smtp("127.0.0.1", port, "none"),
            "support@acme.test",
            &["ann@customer.test"],
            MESSAGE.as_bytes(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer["error"]["code"], "unavailable");
}

#[tokio::test]
async fn a_server_that_never_answers_is_given_up_after_the_timeout() {
    // Accepts the connection and never greets.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            kept.push(stream);
        }
    });
    let started = Instant::now();
    let (status, answer) = post(
        &relay().with_timeout(Duration::from_millis(300)),
        &body(
            smtp("127.0.0.1", port, "none"),
            "support@acme.test",
            &["ann@customer.test"],
            MESSAGE.as_bytes(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    held.abort();
}

fn tls_capture(implicit: bool) -> (CaptureServer, Vec<u8>) {
    let (cert, key, _) = self_signed();
    let capture = CaptureServer::start_with(CaptureOptions {
        tls: Some(crate::smtp::tls_from_pem(&cert, &key).unwrap()),
        implicit_tls: implicit,
        ..CaptureOptions::default()
    });
    (capture, cert)
}

#[tokio::test]
async fn starttls_encrypts_the_send_and_checks_the_certificate() {
    let (capture, cert) = tls_capture(false);
    let request = body(
        smtp("localhost", capture.port(), "starttls"),
        "support@acme.test",
        &["ann@customer.test"],
        MESSAGE.as_bytes(),
    );
    // A certificate nobody vouches for: nothing is sent.
    let (status, answer) = post(&relay(), &request).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert!(capture.messages().is_empty());

    let (status, answer) = post(&relay().trusting(cert), &request).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(one(&capture).tls);
}

#[tokio::test]
async fn starttls_is_required_not_hoped_for() {
    let capture = CaptureServer::start();
    let (status, answer) = post(
        &relay(),
        &body(
            smtp("127.0.0.1", capture.port(), "starttls"),
            "support@acme.test",
            &["ann@customer.test"],
            MESSAGE.as_bytes(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert!(
        capture.messages().is_empty(),
        "nothing goes out in plain text"
    );
}

#[tokio::test]
async fn tls_security_speaks_tls_from_the_first_byte() {
    let (capture, cert) = tls_capture(true);
    let (status, answer) = post(
        &relay().trusting(cert),
        &body(
            smtp("localhost", capture.port(), "tls"),
            "support@acme.test",
            &["ann@customer.test"],
            MESSAGE.as_bytes(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(one(&capture).tls);
}

#[tokio::test]
async fn a_username_makes_the_relay_authenticate() {
    let (cert, key, _) = self_signed();
    let capture = CaptureServer::start_with(CaptureOptions {
        tls: Some(crate::smtp::tls_from_pem(&cert, &key).unwrap()),
        credentials: Some(("mailer".into(), "pa55".into())),
        ..CaptureOptions::default()
    });
    let with = |password: &str| {
        body(
            json!({ "kind": "smtp", "host": "localhost", "port": capture.port(),
                    "security": "starttls", "username": "mailer", "password": password }),
            "support@acme.test",
            &["ann@customer.test"],
            MESSAGE.as_bytes(),
        )
    };
    let relay = relay().trusting(cert);
    let (status, answer) = post(&relay, &with("wrong")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("535 "));
    let (status, answer) = post(&relay, &with("pa55")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(one(&capture).auth.as_deref(), Some("mailer"));
}

#[tokio::test]
async fn a_body_that_does_not_decode_answers_400() {
    let relay = relay();
    let transport = smtp("127.0.0.1", 25, "none");
    let cases: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        br#"{"transport":{"host":"x"}}"#.to_vec(),
        json!({ "transport": { "kind": "smtp" }, "from": "a@b.test", "to": ["c@d.test"], "raw": "eA==" })
            .to_string()
            .into_bytes(),
        json!({ "transport": transport, "from": "a@b.test", "to": ["c@d.test"], "raw": "not base64!" })
            .to_string()
            .into_bytes(),
        body(transport.clone(), "not an address", &["c@d.test"], b"x"),
        body(transport.clone(), "a@b.test", &[], b"x"),
        body(transport.clone(), "a@b.test", &["c@d.test"], b""),
        body(
            json!({ "kind": "smtp", "host": "127.0.0.1", "port": 25, "security": "ssl" }),
            "a@b.test",
            &["c@d.test"],
            b"x",
        ),
    ];
    for case in cases {
        let (status, answer) = post(&relay, &case).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{}: {answer}",
            String::from_utf8_lossy(&case)
        );
        assert_eq!(answer["error"]["code"], "bad_request");
    }
}

#[tokio::test]
async fn another_transport_kind_answers_501() {
    let (status, answer) = post(
        &relay(),
        &body(
            json!({ "kind": "ses", "region": "eu-west-1" }),
            "a@b.test",
            &["c@d.test"],
            b"x",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(answer["error"]["code"], "unsupported_transport");
}

#[tokio::test]
async fn only_post_to_the_send_path_is_answered() {
    let relay = relay();
    assert_eq!(
        relay.answer(&Method::POST, "/v1/other", b"{}").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        relay.answer(&Method::GET, "/v1/send", b"").await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[test]
fn the_relay_is_recognised_by_its_authority_alone() {
    for uri in [
        "http://mail-relay.invalid/v1/send",
        "https://MAIL-RELAY.invalid:8443/v1/send",
    ] {
        assert!(is_relay(&uri.parse().unwrap()), "{uri}");
    }
    for uri in [
        "http://mail-relay.invalid.example/v1/send",
        "http://127.0.0.1:9000/v1/send",
        "/v1/send",
    ] {
        assert!(!is_relay(&uri.parse().unwrap()), "{uri}");
    }
}
