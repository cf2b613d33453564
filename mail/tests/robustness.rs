//! Whatever arrives, `parse` answers: mutated corpus messages, truncations, absurd sizes and
//! nesting never panic, and the size limits are checked before any parsing.

use std::path::Path;
use std::time::{Duration, Instant};

use edgedesk_mail::{parse, Limits, MailError};

fn corpus() -> Vec<Vec<u8>> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus"));
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments that steer mutations into the parser's interesting corners.
const SPLICES: &[&[u8]] = &[
    b"\r\n--",
    b"\r\n\r\n",
    b"Content-Type: multipart/mixed; boundary=\"x\"\r\n",
    b"Content-Type: message/rfc822\r\n\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"=?utf-8?B?",
    b"=?gbk?Q?=B2=E2?=",
    b"filename*0*=UTF-8''%E5%8F",
    b"=\r\n",
    b"=XX",
    b"<blockquote><div><script>",
    b"\xff\xfe\x00",
    b"Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@b\r\nStatus: 5.1.1\r\n",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 => out.truncate(at),
            1 => {
                for _ in 0..1 + rng.below(16) {
                    if !out.is_empty() {
                        let i = rng.below(out.len());
                        out[i] = rng.next() as u8;
                    }
                }
            }
            2 => {
                let end = (at + rng.below(256)).min(out.len());
                out.drain(at..end);
            }
            3 => {
                let splice = SPLICES[rng.below(SPLICES.len())];
                out.splice(at..at, splice.iter().copied());
            }
            4 => {
                let end = (at + rng.below(512)).min(out.len());
                let copy = out[at..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, copy);
            }
            _ => {
                let tail = out.split_off(at);
                out.extend_from_slice(b"\r\n");
                out.extend(tail.iter().rev());
            }
        }
    }
    out
}

/// `MAIL_FUZZ_ITERATIONS` runs more than the 2,000 of every test run, `MAIL_FUZZ_SEED` others.
#[test]
fn two_thousand_mutated_corpus_messages_never_panic() {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let iterations = env("MAIL_FUZZ_ITERATIONS").unwrap_or(2_000);
    let corpus = corpus();
    let mut rng = Rng(env("MAIL_FUZZ_SEED").unwrap_or(0x5eed_ed6e_de5c_0001) | 1);
    let limits = Limits::default();
    let started = Instant::now();
    let mut parsed = 0;
    for _ in 0..iterations {
        let base = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, base);
        if let Ok(mail) = parse(&input, &limits) {
            parsed += 1;
            // What the agent is shown is never empty unless the message has no text at all.
            assert!(!mail.visible_text.is_empty() || mail.full_text.trim().is_empty());
        }
    }
    assert!(
        parsed > iterations / 2,
        "only {parsed} of {iterations} parsed"
    );
    assert!(started.elapsed() < Duration::from_secs(20 + iterations / 100));
}

#[test]
fn every_prefix_of_a_multipart_message_parses_without_panicking() {
    let corpus = corpus();
    // The Apple Mail message: nested multiparts, quoted-printable, base64, an inline image.
    let raw = corpus
        .iter()
        .find(|m| m.windows(10).any(|w| w == b"Apple-Mail"))
        .unwrap();
    for len in (0..raw.len()).step_by(7) {
        let _ = parse(&raw[..len], &Limits::default());
    }
}

#[test]
fn empty_and_blank_input_is_malformed() {
    for raw in [&b""[..], b"\r\n\r\n", b"   "] {
        assert!(matches!(
            parse(raw, &Limits::default()),
            Err(MailError::Malformed(_))
        ));
    }
}

#[test]
fn a_message_over_the_size_limit_is_refused_before_it_is_parsed() {
    let limits = Limits::default();
    // Not even a message: were it parsed, it would be Malformed.
    let huge = vec![0u8; limits.max_bytes + 1];
    assert_eq!(
        parse(&huge, &limits),
        Err(MailError::TooLarge {
            limit: limits.max_bytes
        })
    );
    let at_limit = vec![0u8; 1000];
    let small = Limits {
        max_bytes: 999,
        ..Limits::default()
    };
    assert_eq!(
        parse(&at_limit, &small),
        Err(MailError::TooLarge { limit: 999 })
    );
}

fn with_attachments(count: usize, size: usize) -> Vec<u8> {
    let mut raw = b"From: ann@example.com\r\nTo: support@acme.example\r\nSubject: files\r\n\
        Message-ID: <files@example.com>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
        Content-Type: text/plain\r\n\r\nFiles attached.\r\n"
        .to_vec();
    let line = "QUJD".repeat(19);
    let lines = size.div_ceil(57);
    for i in 0..count {
        raw.extend_from_slice(
            format!(
                "--b\r\nContent-Type: application/octet-stream\r\n\
                 Content-Disposition: attachment; filename=\"f{i}.bin\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n"
            )
            .as_bytes(),
        );
        for _ in 0..lines {
            raw.extend_from_slice(line.as_bytes());
            raw.extend_from_slice(b"\r\n");
        }
    }
    raw.extend_from_slice(b"--b--\r\n");
    raw
}

#[test]
fn a_large_attachment_within_the_limit_is_decoded_whole() {
    // 5 MB of attachment, 6.8 MB of base64: generated here, not kept in the corpus.
    let raw = with_attachments(1, 5_000_000);
    let mail = parse(&raw, &Limits::default()).unwrap();
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(mail.attachments[0].filename, "f0.bin");
    assert_eq!(
        mail.attachments[0].bytes.len(),
        5_000_000_usize.div_ceil(57) * 57
    );
    assert!(mail.attachments[0].bytes.starts_with(b"ABCABC"));
    assert_eq!(mail.visible_text, "Files attached.");
}

#[test]
fn a_message_with_too_many_attachments_is_refused() {
    let limits = Limits::default();
    let raw = with_attachments(limits.max_attachments, 10);
    assert_eq!(parse(&raw, &limits).unwrap().attachments.len(), 50);
    let raw = with_attachments(limits.max_attachments + 1, 10);
    assert_eq!(
        parse(&raw, &limits),
        Err(MailError::TooManyAttachments { limit: 50 })
    );
}

#[test]
fn absurd_lines_and_nesting_are_read() {
    let head = "From: ann@example.com\r\nSubject: x\r\nMessage-ID: <x@example.com>\r\n";
    // A 2 MB line, in the body and in a header.
    let long = "y".repeat(2_000_000);
    let raw = format!("{head}X-Long: {long}\r\n\r\nshort {long}\r\n");
    let mail = parse(raw.as_bytes(), &Limits::default()).unwrap();
    assert!(mail.full_text.starts_with("short yyy"));

    // 5,000 nested multiparts, never closed.
    let mut raw = format!("{head}Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
    for i in 0..5_000 {
        raw.push_str(&format!(
            "--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n",
            i + 1
        ));
    }
    raw.push_str("--b5000\r\nContent-Type: text/plain\r\n\r\ndeep\r\n");
    let mail = parse(raw.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(mail.visible_text, "deep");

    // Message/rfc822 inside message/rfc822, 200 deep.
    let mut raw = String::new();
    for i in 0..200 {
        raw.push_str(&format!(
            "From: n{i}@example.com\r\nContent-Type: message/rfc822\r\n\r\n"
        ));
    }
    raw.push_str("From: last@example.com\r\n\r\nbottom\r\n");
    assert!(parse(raw.as_bytes(), &Limits::default()).is_ok());

    // 100,000 nested <div>s in an HTML-only message.
    let raw = format!(
        "{head}Content-Type: text/html\r\n\r\n<p>hello</p>{}",
        "<div>".repeat(100_000)
    );
    let started = Instant::now();
    let mail = parse(raw.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(mail.visible_text, "hello");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn eight_bit_headers_and_a_missing_from_still_parse() {
    let raw = b"Subject: \xb2\xe2\xca\xd4 \xff\r\nTo: support@acme.example\r\n\r\nbody\r\n";
    let mail = parse(raw, &Limits::default()).unwrap();
    assert_eq!(mail.from, None);
    assert_eq!(mail.visible_text, "body");
}
