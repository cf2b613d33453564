//! The session over an in-memory connection, with a backend that records what it is given: the
//! protocol, not the product.

use std::sync::Mutex;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;

use super::*;
use crate::smtp::testing::self_signed;

/// Takes every recipient except those starting with `unknown` (550) or `later` (451); keeps
/// what it is given.
#[derive(Default)]
struct Recorder {
    delivered: Mutex<Vec<Mail>>,
    asked: Mutex<Vec<String>>,
}

impl Backend for Recorder {
    async fn recipient(&self, address: &str) -> Result<(), Reply> {
        self.asked.lock().unwrap().push(address.to_owned());
        if address.starts_with("unknown") {
            Err(Reply::no_such_mailbox(address))
        } else if address.starts_with("later") {
            Err(Reply::try_later())
        } else {
            Ok(())
        }
    }

    async fn deliver(&self, mail: Mail) -> Reply {
        self.delivered.lock().unwrap().push(mail);
        Reply::queued(Some("m1"))
    }

    async fn authenticate(&self, username: &str, password: &str) -> bool {
        username == "agent" && password == "s3cret"
    }
}

impl Recorder {
    fn delivered(&self) -> Vec<Mail> {
        self.delivered.lock().unwrap().clone()
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The client's end: writes raw bytes, reads whole replies.
struct Client {
    io: Box<dyn Io>,
    buf: Vec<u8>,
}

impl Client {
    async fn send(&mut self, bytes: &str) {
        self.io.write_all(bytes.as_bytes()).await.unwrap();
    }

    async fn send_bytes(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    /// One reply (all lines of a multi-line one, joined with `\n`); `None` once closed.
    async fn try_reply(&mut self) -> Option<String> {
        let mut lines = Vec::new();
        loop {
            while let Some(at) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=at).collect();
                let line = String::from_utf8(line).unwrap();
                let line = line.trim_end().to_owned();
                let last = line.as_bytes().get(3) != Some(&b'-');
                lines.push(line);
                if last {
                    return Some(lines.join("\n"));
                }
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(10), self.io.read(&mut chunk))
                .await
                .expect("a reply within 10 s")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn reply(&mut self) -> String {
        self.try_reply()
            .await
            .expect("a reply, not a closed connection")
    }

    /// Sends a command and returns its reply.
    async fn say(&mut self, line: &str) -> String {
        self.send(&format!("{line}\r\n")).await;
        self.reply().await
    }

    /// The TLS handshake after `220` to STARTTLS (or at once, for implicit TLS).
    async fn start_tls(self, root: rustls::pki_types::CertificateDer<'static>) -> Client {
        assert!(self.buf.is_empty(), "nothing may follow the 220");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(root).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(crate::smtp::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = connector
            .connect(name, self.io)
            .await
            .expect("the handshake");
        Client {
            io: Box::new(tls),
            buf: Vec::new(),
        }
    }
}

fn config() -> SessionConfig {
    SessionConfig::new("mx.test")
}

fn peer() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

/// A session on an in-memory connection; the stop sender ends it when it turns true.
struct Running {
    client: Client,
    backend: Arc<Recorder>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn start(config: SessionConfig) -> Running {
    let (client, server): (DuplexStream, DuplexStream) = tokio::io::duplex(1 << 20);
    let backend = Arc::new(Recorder::default());
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(
        server,
        peer(),
        Arc::new(config),
        backend.clone(),
        stopped,
    ));
    Running {
        client: Client {
            io: Box::new(client),
            buf: Vec::new(),
        },
        backend,
        stop,
        task,
    }
}

/// Greeted and past `EHLO`.
async fn ready(config: SessionConfig) -> Running {
    let mut s = start(config);
    assert!(s.client.reply().await.starts_with("220 mx.test "));
    assert!(s
        .client
        .say("EHLO client.test")
        .await
        .starts_with("250-mx.test"));
    s
}

fn code(reply: &str) -> &str {
    &reply[..3]
}

#[tokio::test]
async fn a_message_is_delivered_with_its_envelope_and_a_received_field() {
    let mut s = ready(config()).await;
    let c = &mut s.client;
    assert_eq!(c.say("MAIL FROM:<ann@customer.test>").await, "250 2.1.0 Ok");
    assert_eq!(c.say("RCPT TO:<support@acme.test>").await, "250 2.1.5 Ok");
    assert_eq!(c.say("RCPT TO:<sales@acme.test>").await, "250 2.1.5 Ok");
    assert_eq!(code(&c.say("DATA").await), "354");
    let message = "From: Ann <ann@customer.test>\r\nSubject: Hi\r\n\r\nHello there.\r\n";
    c.send(message).await;
    assert_eq!(c.say(".").await, "250 2.0.0 Ok: queued as m1");
    assert_eq!(c.say("QUIT").await, "221 2.0.0 Bye");
    assert!(c.try_reply().await.is_none(), "closed after QUIT");

    let mail = s.backend.delivered().pop().unwrap();
    assert_eq!(mail.from, "ann@customer.test");
    assert_eq!(mail.to, ["support@acme.test", "sales@acme.test"]);
    assert_eq!(mail.data, message.as_bytes());
    assert_eq!(mail.helo, "client.test");
    assert!(!mail.tls);
    assert!(
        mail.received
            .starts_with("Received: from client.test ([127.0.0.1])\r\n\tby mx.test with ESMTP; "),
        "{}",
        mail.received
    );
    assert!(mail.received.ends_with(" +0000\r\n"), "{}", mail.received);
    let whole = mail.with_received();
    assert!(whole.starts_with(mail.received.as_bytes()));
    assert!(whole.ends_with(message.as_bytes()));
}

#[test]
fn the_received_field_names_client_address_server_protocol_and_time() {
    let at = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let hello = Hello {
        name: "mail.example".into(),
        extended: true,
    };
    let v6: SocketAddr = "[::1]:25".parse().unwrap();
    assert_eq!(
        received_field(&hello, v6, "mx.test", true, at),
        "Received: from mail.example ([IPv6:::1])\r\n\tby mx.test with ESMTPS; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    );
    let helo = Hello {
        name: "bad\u{7f}name".into(),
        extended: false,
    };
    assert_eq!(
        received_field(&helo, peer(), "mx.test", false, at),
        "Received: from bad?name ([127.0.0.1])\r\n\tby mx.test with SMTP; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    );
}

#[tokio::test]
async fn ehlo_advertises_pipelining_size_8bitmime_and_smtputf8_and_starttls_only_with_tls() {
    let mut s = start(config());
    s.client.reply().await;
    let ehlo = s.client.say("EHLO client.test").await;
    let lines: Vec<&str> = ehlo.lines().collect();
    assert_eq!(
        lines,
        [
            "250-mx.test greets client.test",
            "250-PIPELINING",
            "250-SIZE 26214400",
            "250-8BITMIME",
            "250-SMTPUTF8",
            "250 ENHANCEDSTATUSCODES",
        ]
    );
    assert_eq!(s.client.say("HELO old.test").await, "250 mx.test");

    let (cert, key, _) = self_signed();
    let mut with_tls = config();
    with_tls.tls = Some(crate::smtp::tls_from_pem(&cert, &key).unwrap());
    let mut s = start(with_tls);
    s.client.reply().await;
    assert!(s
        .client
        .say("EHLO client.test")
        .await
        .ends_with("\n250 STARTTLS"));
}

#[tokio::test]
async fn pipelined_commands_get_their_replies_in_order() {
    let mut s = ready(config()).await;
    let c = &mut s.client;
    c.send(concat!(
        "MAIL FROM:<ann@customer.test> BODY=8BITMIME\r\n",
        "RCPT TO:<support@acme.test>\r\n",
        "RCPT TO:<unknown@acme.test>\r\n",
        "RCPT TO:<later@acme.test>\r\n",
        "RCPT TO:<sales@acme.test>\r\n",
        "DATA\r\n",
    ))
    .await;
    let mut replies = Vec::new();
    for _ in 0..6 {
        replies.push(c.reply().await);
    }
    assert_eq!(
        replies,
        [
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "550 5.1.1 <unknown@acme.test>: no such mailbox here",
            "451 4.3.0 try again later",
            "250 2.1.5 Ok",
            "354 end data with <CR><LF>.<CR><LF>",
        ]
    );
    // The end of the message and the next transaction in one write.
    c.send(concat!(
        "Subject: one\r\n\r\nbody\r\n.\r\n",
        "MAIL FROM:<>\r\n",
        "RCPT TO:<support@acme.test>\r\n",
        "DATA\r\n",
    ))
    .await;
    assert_eq!(c.reply().await, "250 2.0.0 Ok: queued as m1");
    assert_eq!(c.reply().await, "250 2.1.0 Ok");
    assert_eq!(c.reply().await, "250 2.1.5 Ok");
    assert_eq!(code(&c.reply().await), "354");
    c.send("Subject: two\r\n\r\n.\r\nQUIT\r\n").await;
    assert_eq!(code(&c.reply().await), "250");
    assert_eq!(c.reply().await, "221 2.0.0 Bye");

    let delivered = s.backend.delivered();
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[0].to, ["support@acme.test", "sales@acme.test"]);
    assert_eq!(delivered[1].from, "", "the null sender");
}

/// One transaction whose DATA goes out three bytes at a time, so the end marker straddles reads.
async fn send_in_pieces(c: &mut Client, wire: &[u8]) {
    c.say("MAIL FROM:<ann@customer.test>").await;
    c.say("RCPT TO:<support@acme.test>").await;
    assert_eq!(code(&c.say("DATA").await), "354");
    for piece in wire.chunks(3) {
        c.send_bytes(piece).await;
    }
    assert_eq!(code(&c.reply().await), "250");
}

#[tokio::test]
async fn dot_stuffed_lines_are_unstuffed_and_only_crlf_dot_crlf_ends_the_message() {
    let mut s = ready(config()).await;
    let c = &mut s.client;
    send_in_pieces(c, b"..first\r\nline\r\n...\r\n.\r\n").await;
    send_in_pieces(c, b".\r\n").await;
    send_in_pieces(c, b"a\n.\nb\r.\rc\r\n.\r\n").await;
    send_in_pieces(c, b"caf\xc3\xa9 8-bit\r\n\r\n.\r\n").await;
    let data: Vec<Vec<u8>> = s.backend.delivered().into_iter().map(|m| m.data).collect();
    assert_eq!(
        data,
        [
            b".first\r\nline\r\n..\r\n".to_vec(),
            b"".to_vec(),
            b"a\n.\nb\r.\rc\r\n".to_vec(),
            b"caf\xc3\xa9 8-bit\r\n\r\n".to_vec(),
        ]
    );
}

#[tokio::test]
async fn a_declared_size_over_the_limit_is_refused_at_mail_from() {
    let mut small = config();
    small.max_message_bytes = 1000;
    let mut s = ready(small).await;
    let c = &mut s.client;
    assert!(c.say("EHLO again.test").await.contains("250-SIZE 1000"));
    assert_eq!(
        code(&c.say("MAIL FROM:<ann@customer.test> SIZE=1001").await),
        "552"
    );
    assert_eq!(
        c.say("MAIL FROM:<ann@customer.test> SIZE=1000").await,
        "250 2.1.0 Ok"
    );
}

#[tokio::test]
async fn a_message_over_the_limit_is_read_to_its_end_refused_and_the_session_goes_on() {
    let mut small = config();
    small.max_message_bytes = 1000;
    let mut s = ready(small).await;
    let c = &mut s.client;
    c.say("MAIL FROM:<ann@customer.test>").await;
    c.say("RCPT TO:<support@acme.test>").await;
    c.say("DATA").await;
    let line = format!("{}\r\n", "x".repeat(98));
    for _ in 0..50 {
        c.send(&line).await;
    }
    assert_eq!(
        c.say(".").await,
        "552 5.3.4 message exceeds the fixed maximum size of 1000 bytes"
    );
    // The transaction is over; a message within the limit goes through.
    assert_eq!(code(&c.say("RCPT TO:<support@acme.test>").await), "503");
    c.say("MAIL FROM:<ann@customer.test>").await;
    c.say("RCPT TO:<support@acme.test>").await;
    c.say("DATA").await;
    c.send(&line.repeat(10)).await;
    assert_eq!(code(&c.say(".").await), "250");
    let delivered = s.backend.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].data.len(), 1000);
}

#[tokio::test]
async fn the_hundred_and_first_recipient_gets_452_and_a_repeated_one_is_not_asked_again() {
    let mut s = ready(config()).await;
    let c = &mut s.client;
    c.say("MAIL FROM:<ann@customer.test>").await;
    for i in 0..100 {
        assert_eq!(
            c.say(&format!("RCPT TO:<r{i}@acme.test>")).await,
            "250 2.1.5 Ok"
        );
    }
    assert_eq!(
        c.say("RCPT TO:<r100@acme.test>").await,
        "452 4.5.3 too many recipients"
    );
    assert_eq!(c.say("RCPT TO:<R7@acme.test>").await, "250 2.1.5 Ok");
    assert_eq!(s.backend.asked.lock().unwrap().len(), 100);
    c.say("DATA").await;
    assert_eq!(code(&c.say("Subject: x\r\n\r\n.").await), "250");
    assert_eq!(s.backend.delivered()[0].to.len(), 100);
}

#[tokio::test]
async fn commands_out_of_order_get_503_and_data_without_recipients_554() {
    let mut s = start(config());
    let c = &mut s.client;
    c.reply().await;
    assert_eq!(
        c.say("MAIL FROM:<ann@customer.test>").await,
        "503 5.5.1 EHLO or HELO first"
    );
    c.say("HELO client.test").await;
    assert_eq!(code(&c.say("RCPT TO:<support@acme.test>").await), "503");
    assert_eq!(code(&c.say("DATA").await), "503");
    c.say("MAIL FROM:<ann@customer.test>").await;
    assert_eq!(
        c.say("MAIL FROM:<ann@customer.test>").await,
        "503 5.5.1 sender already given"
    );
    assert_eq!(code(&c.say("RCPT TO:<unknown@acme.test>").await), "550");
    assert_eq!(c.say("DATA").await, "554 5.5.1 no valid recipients");
    assert!(s.backend.delivered().is_empty());
}

#[tokio::test]
async fn malformed_and_unknown_commands_are_answered_and_the_session_goes_on() {
    let mut s = ready(config()).await;
    let c = &mut s.client;
    assert_eq!(c.say("FROB").await, "500 5.5.2 command not recognised");
    assert_eq!(c.say("").await, "500 5.5.2 command not recognised");
    assert_eq!(code(&c.say("EHLO").await), "501");
    assert_eq!(code(&c.say("MAIL FROM:ann@customer.test").await), "501");
    assert_eq!(
        code(&c.say("MAIL FROM:<ann@customer.test> SIZE=lots").await),
        "501"
    );
    assert_eq!(
        code(&c.say("MAIL FROM:<ann@customer.test> X-FOO=1").await),
        "555"
    );
    assert_eq!(
        code(&c.say("MAIL FROM:<a@b.test> BODY=BINARYMIME").await),
        "555"
    );
    assert_eq!(code(&c.say("BDAT 10 LAST").await), "502");
    assert_eq!(code(&c.say("AUTH PLAIN AGEAYg==").await), "502");
    assert_eq!(code(&c.say("EXPN staff").await), "502");
    c.say("MAIL FROM:<ann@customer.test>").await;
    assert_eq!(code(&c.say("RCPT TO:<>").await), "501");
    assert_eq!(code(&c.say("RCPT TO:<\"a,b\"@acme.test>").await), "553");
    assert_eq!(c.say("NOOP").await, "250 2.0.0 Ok");
}

#[tokio::test]
async fn an_overlong_command_line_gets_500_in_its_place_among_pipelined_commands() {
    let mut s = ready(config()).await;
    let c = &mut s.client;
    let long = format!(
        "NOOP\r\nMAIL FROM:<{}@x.test>\r\nNOOP\r\n",
        "a".repeat(3000)
    );
    c.send(&long).await;
    assert_eq!(c.reply().await, "250 2.0.0 Ok");
    assert_eq!(c.reply().await, "500 5.5.0 line too long");
    assert_eq!(c.reply().await, "250 2.0.0 Ok");
    // A line of exactly the limit is still a command.
    let pad = MAX_LINE - "NOOP \r\n".len();
    assert_eq!(
        c.say(&format!("NOOP {}", "p".repeat(pad))).await,
        "250 2.0.0 Ok"
    );
}

#[tokio::test]
async fn a_line_without_end_ends_the_session() {
    let mut s = ready(config()).await;
    let c = &mut s.client;
    c.send(&"z".repeat(MAX_DISCARD + 2 * MAX_LINE)).await;
    assert_eq!(c.reply().await, "500 5.5.0 line too long, closing");
    assert!(c.try_reply().await.is_none());
}

#[tokio::test]
async fn twenty_bad_commands_end_the_session_with_421() {
    let mut s = ready(config()).await;
    let c = &mut s.client;
    for _ in 0..19 {
        assert_eq!(code(&c.say("FROB").await), "500");
    }
    c.send("FROB\r\n").await;
    assert_eq!(code(&c.reply().await), "500");
    assert_eq!(c.reply().await, "421 4.7.0 too many errors, closing");
    assert!(c.try_reply().await.is_none());
}

#[tokio::test]
async fn vrfy_gets_252_and_rset_forgets_the_transaction() {
    let mut s = ready(config()).await;
    let c = &mut s.client;
    assert_eq!(code(&c.say("VRFY support").await), "252");
    c.say("MAIL FROM:<ann@customer.test>").await;
    c.say("RCPT TO:<support@acme.test>").await;
    assert_eq!(c.say("RSET").await, "250 2.0.0 Ok");
    assert_eq!(code(&c.say("DATA").await), "503");
    assert_eq!(c.say("MAIL FROM:<bob@customer.test>").await, "250 2.1.0 Ok");
}

#[tokio::test]
async fn utf8_addresses_are_taken_with_smtputf8() {
    let mut s = ready(config()).await;
    let c = &mut s.client;
    c.say("MAIL FROM:<jürgen@bücher.test> SMTPUTF8 BODY=8BITMIME")
        .await;
    assert_eq!(c.say("RCPT TO:<støtte@acme.test>").await, "250 2.1.5 Ok");
    c.say("DATA").await;
    c.say("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\nHej\r\n.")
        .await;
    let mail = s.backend.delivered().pop().unwrap();
    assert_eq!(mail.from, "jürgen@bücher.test");
    assert_eq!(mail.to, ["støtte@acme.test"]);
}

#[tokio::test]
async fn starttls_encrypts_the_session_and_starts_it_over() {
    let (cert, key, der) = self_signed();
    let mut with_tls = config();
    with_tls.tls = Some(crate::smtp::tls_from_pem(&cert, &key).unwrap());
    let mut s = ready(with_tls).await;
    assert_eq!(
        s.client.say("STARTTLS").await,
        "220 2.0.0 ready to start TLS"
    );
    let mut c = s.client.start_tls(der).await;
    // The session starts over: EHLO again, and STARTTLS is no longer offered.
    assert_eq!(code(&c.say("MAIL FROM:<ann@customer.test>").await), "503");
    let ehlo = c.say("EHLO client.test").await;
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert_eq!(c.say("STARTTLS").await, "503 5.5.1 TLS is already active");
    c.say("MAIL FROM:<ann@customer.test>").await;
    c.say("RCPT TO:<support@acme.test>").await;
    c.say("DATA").await;
    assert_eq!(code(&c.say("Subject: secret\r\n\r\nhi\r\n.").await), "250");
    assert_eq!(c.say("QUIT").await, "221 2.0.0 Bye");
    let mail = s.backend.delivered().pop().unwrap();
    assert!(mail.tls);
    assert!(
        mail.received.contains(" with ESMTPS; "),
        "{}",
        mail.received
    );
}

#[tokio::test]
async fn commands_sent_in_plain_text_after_starttls_are_dropped() {
    let (cert, key, der) = self_signed();
    let mut with_tls = config();
    with_tls.tls = Some(crate::smtp::tls_from_pem(&cert, &key).unwrap());
    let mut s = ready(with_tls).await;
    // An attacker in the middle appends a command to the client's STARTTLS.
    s.client
        .send("STARTTLS\r\nMAIL FROM:<mallory@evil.test>\r\n")
        .await;
    assert_eq!(code(&s.client.reply().await), "220");
    let mut c = s.client.start_tls(der).await;
    c.say("EHLO client.test").await;
    assert_eq!(
        code(&c.say("RCPT TO:<support@acme.test>").await),
        "503",
        "the injected MAIL FROM was not taken"
    );
}

#[tokio::test]
async fn starttls_is_refused_when_no_certificate_is_configured() {
    let mut s = ready(config()).await;
    assert_eq!(
        s.client.say("STARTTLS").await,
        "502 5.5.1 STARTTLS is not offered here"
    );
    assert_eq!(s.client.say("NOOP").await, "250 2.0.0 Ok");
}

#[tokio::test]
async fn implicit_tls_starts_with_the_handshake() {
    let (cert, key, der) = self_signed();
    let mut tls = config();
    tls.tls = Some(crate::smtp::tls_from_pem(&cert, &key).unwrap());
    tls.implicit_tls = true;
    let s = start(tls);
    let mut c = s.client.start_tls(der).await;
    assert!(c.reply().await.starts_with("220 "));
    let ehlo = c.say("EHLO client.test").await;
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
}

#[tokio::test]
async fn auth_plain_checks_the_credentials_when_offered() {
    let mut with_auth = config();
    with_auth.auth = true;
    let mut s = start(with_auth);
    let c = &mut s.client;
    c.reply().await;
    assert!(c
        .say("EHLO client.test")
        .await
        .ends_with("\n250 AUTH PLAIN"));
    let plain = |user: &str, pass: &str| {
        base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"))
    };
    assert_eq!(
        c.say(&format!("AUTH PLAIN {}", plain("agent", "wrong")))
            .await,
        "535 5.7.8 authentication credentials invalid"
    );
    assert_eq!(code(&c.say("AUTH LOGIN").await), "504");
    assert_eq!(c.say("AUTH PLAIN").await, "334", "an empty challenge");
    assert_eq!(
        c.say(&plain("agent", "s3cret")).await,
        "235 2.7.0 authentication succeeded"
    );
    c.say("MAIL FROM:<agent@acme.test>").await;
    c.say("RCPT TO:<ann@customer.test>").await;
    c.say("DATA").await;
    c.say("Subject: x\r\n\r\n.").await;
    assert_eq!(
        s.backend.delivered().pop().unwrap().auth.as_deref(),
        Some("agent")
    );
}

#[tokio::test]
async fn an_idle_client_is_told_and_disconnected() {
    let mut idle = config();
    idle.idle_timeout = Duration::from_millis(100);
    let mut s = start(idle);
    s.client.reply().await;
    assert_eq!(
        s.client.reply().await,
        "421 4.4.2 mx.test idle for too long, closing"
    );
    assert!(s.client.try_reply().await.is_none());
    s.task.await.unwrap();
}

#[tokio::test]
async fn stopping_the_host_ends_a_waiting_session_with_421() {
    let mut s = ready(config()).await;
    s.stop.send(true).unwrap();
    assert_eq!(
        s.client.reply().await,
        "421 4.3.2 mx.test shutting down, try again later"
    );
    s.task.await.unwrap();
}

#[tokio::test]
async fn a_client_over_the_session_limit_gets_421() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = crate::smtp::Listener::spawn(
        listener,
        Arc::new(config()),
        Arc::new(Recorder::default()),
        1,
    )
    .unwrap();
    let addr = running.local_addr();
    let mut first = Client {
        io: Box::new(tokio::net::TcpStream::connect(addr).await.unwrap()),
        buf: Vec::new(),
    };
    assert_eq!(code(&first.reply().await), "220");
    let mut second = Client {
        io: Box::new(tokio::net::TcpStream::connect(addr).await.unwrap()),
        buf: Vec::new(),
    };
    assert_eq!(
        second.reply().await,
        "421 4.3.2 mx.test too many connections, try again later"
    );
    assert!(second.try_reply().await.is_none());
    // Stopping ends the open session too.
    running.stop(Duration::from_secs(5)).await;
    assert_eq!(code(&first.reply().await), "421");
}
